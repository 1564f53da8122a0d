/* SPDX-License-Identifier: MIT */
/* Semantics of every libvchan call on the socket transport. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vchan-test.h"

static char path_buf[256];

static const char *sock_path(int server, int client, int port)
{
	snprintf(path_buf, sizeof(path_buf), "%s/vchan.%d.%d.%d.sock", vt_tmpdir(), server,
		 client, port);
	return path_buf;
}

static void send_all(libvchan_t *v, const void *p, size_t n)
{
	CHECK_EQ(libvchan_send(v, p, n), (int)n);
}

/* Read exactly @n bytes with blocking recv and check them against the stream. */
static void expect_stream(libvchan_t *v, size_t n, uint64_t seed, uint64_t pos)
{
	uint8_t *b = malloc(n);
	CHECK(b);
	CHECK_EQ(libvchan_recv(v, b, n), (int)n);
	CHECK_EQ(vt_verify(b, n, seed, pos), -1);
	free(b);
}

struct ready_arg {
	libvchan_t *v;
	int want;
};

static bool data_at_least(void *arg)
{
	struct ready_arg *a = arg;
	return libvchan_data_ready(a->v) >= a->want;
}

static bool is_disconnected(void *arg)
{
	return libvchan_is_open(arg) == VCHAN_DISCONNECTED;
}

/* ---- path scheme, roles, mode ---- */
static void test_path_and_roles(void)
{
	libvchan_t *s = vt_server(3, 5, 4713, 1024, 1024);
	CHECK_EQ(libvchan_is_open(s), VCHAN_WAITING);
	struct stat st;
	CHECK(stat(sock_path(3, 5, 4713), &st) == 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 07777, 0660);

	libvchan_t *c = vt_client(5, 3, 4713);
	vt_connect_pair(s, c);
	/* One client per vchan: the name is released once it is taken. */
	CHECK(stat(sock_path(3, 5, 4713), &st) < 0 && errno == ENOENT);
	uint8_t b[16];
	send_all(c, "hello", 5);
	CHECK_EQ(libvchan_recv(s, b, 5), 5);
	CHECK(memcmp(b, "hello", 5) == 0);
	send_all(s, "world!", 6);
	CHECK_EQ(libvchan_recv(c, b, 6), 6);
	CHECK(memcmp(b, "world!", 6) == 0);
	libvchan_close(c);
	libvchan_close(s);
	CHECK(stat(sock_path(3, 5, 4713), &st) < 0);

	/* A server closed while waiting removes its socket file. */
	s = vt_server(3, 5, 4713, 1024, 1024);
	CHECK(stat(sock_path(3, 5, 4713), &st) == 0);
	libvchan_close(s);
	CHECK(stat(sock_path(3, 5, 4713), &st) < 0 && errno == ENOENT);
}

/* ---- partial write, all-or-nothing send, exact recv, non-blocking ---- */
static void test_write_send_recv(void)
{
	libvchan_t *s = vt_server(0, 1, 10, 1024, 1024);
	libvchan_t *c = vt_client(1, 0, 10);
	vt_connect_pair(s, c);
	libvchan_set_blocking(s, false);
	libvchan_set_blocking(c, false);
	uint8_t buf[4096], in[4096];
	vt_fill(buf, sizeof(buf), 1, 0);

	CHECK_EQ(libvchan_buffer_space(s), 1024);
	CHECK_EQ(libvchan_write(s, buf, 0), 0);
	/* partial write: takes what fits */
	CHECK_EQ(libvchan_write(s, buf, 3000), 1024);
	CHECK_EQ(libvchan_buffer_space(s), 0);
	CHECK_EQ(libvchan_write(s, buf + 1024, 10), 0);
	CHECK_EQ(libvchan_send(s, buf + 1024, 1), 0);
	/* bigger than the ring can ever hold */
	CHECK_ERR(libvchan_send(s, buf, 1025), EMSGSIZE);

	struct ready_arg ra = { c, 1024 };
	libvchan_t *both[2] = { s, c };
	vt_until(both, 2, data_at_least, &ra, 5000);
	CHECK_EQ(libvchan_data_ready(c), 1024);
	/* exact recv: nothing moves unless all of it is there */
	CHECK_EQ(libvchan_recv(c, in, 1025), 0);
	CHECK_EQ(libvchan_data_ready(c), 1024);
	CHECK_EQ(libvchan_recv(c, in, 1000), 1000);
	CHECK_EQ(vt_verify(in, 1000, 1, 0), -1);
	CHECK_EQ(libvchan_data_ready(c), 24);
	/* read: up to size */
	CHECK_EQ(libvchan_read(c, in, 100), 24);
	CHECK_EQ(vt_verify(in, 24, 1, 1000), -1);
	CHECK_EQ(libvchan_read(c, in, 100), 0);
	CHECK_EQ(libvchan_recv(c, in, 4), 0);
	/* non-blocking wait never stalls, even with no event pending */
	struct pollfd pf = { .fd = libvchan_fd_for_select(c), .events = POLLIN };
	while (poll(&pf, 1, 0) == 1)
		CHECK_EQ(libvchan_wait(c), 0);
	CHECK_EQ(libvchan_wait(c), 0);
	CHECK_EQ(libvchan_buffer_space(s), 1024);

	/* all-or-nothing send around the edge */
	CHECK_EQ(libvchan_send(s, buf, 1000), 1000);
	CHECK_EQ(libvchan_buffer_space(s), 24);
	CHECK_EQ(libvchan_send(s, buf + 1000, 25), 0);
	CHECK_EQ(libvchan_send(s, buf + 1000, 24), 24);
	CHECK_EQ(libvchan_buffer_space(s), 0);
	ra.want = 1024;
	vt_until(both, 2, data_at_least, &ra, 5000);
	CHECK_EQ(libvchan_recv(c, in, 1024), 1024);
	CHECK_EQ(vt_verify(in, 1024, 1, 0), -1);

	/* the client's default ring: 64 KiB */
	CHECK_EQ(libvchan_buffer_space(c), 65536);
	CHECK_ERR(libvchan_send(c, buf, 65537), EMSGSIZE);
	libvchan_close(c);
	libvchan_close(s);
}

/* ---- data_ready / buffer_space truth under load ---- */
static void test_truth_under_load(void)
{
	const int cap = 16384;
	libvchan_t *s = vt_server(0, 1, 11, 8192, cap);
	libvchan_t *c = vt_client(1, 0, 11);
	vt_connect_pair(s, c);
	libvchan_set_blocking(s, false);
	libvchan_set_blocking(c, false);
	uint8_t *buf = malloc(1 << 16);
	CHECK(buf);
	uint64_t written = 0, readb = 0;
	unsigned rnd = 12345;
	for (int step = 0; step < 20000; step++) {
		rnd = rnd * 1103515245 + 12345;
		int space = libvchan_buffer_space(s);
		uint64_t unread = written - readb;
		/* never promise more than the ring minus what the peer has not read */
		CHECK(space >= 0 && (uint64_t)space + unread <= (uint64_t)cap);
		if (unread == 0)
			CHECK_EQ(space, cap);
		/* what the reader sees now: all of it (the writer just flushed;
		 * the client's 64 KiB read cap is above the writer's ring) */
		int ready = libvchan_data_ready(c);
		CHECK_EQ(ready, unread);
		if ((rnd >> 16) & 1) {
			size_t n = 1 + (rnd >> 8) % (size_t)(space + 1);
			if (n > (size_t)space)
				n = (size_t)space;
			if (n) {
				vt_fill(buf, n, 2, written);
				/* writing up to buffer_space never blocks and takes it all,
				 * even in blocking mode */
				libvchan_set_blocking(s, step & 2);
				CHECK_EQ(libvchan_write(s, buf, n), (int)n);
				libvchan_set_blocking(s, false);
				written += n;
			}
		} else if (ready) {
			size_t n = 1 + (rnd >> 8) % (size_t)ready;
			CHECK_EQ(libvchan_recv(c, buf, n), (int)n);
			CHECK_EQ(vt_verify(buf, n, 2, readb), -1);
			readb += n;
		}
	}
	CHECK(written > 1000000);
	free(buf);
	libvchan_close(c);
	libvchan_close(s);
}

/* ---- blocking mode ---- */
struct blk {
	libvchan_t *v;
	int mode;
	size_t n;
};

static void *blk_thread(void *arg)
{
	struct blk *b = arg;
	uint8_t buf[8192];
	if (b->mode == 0) {
		/* trickle n bytes in 10 pieces */
		size_t piece = b->n / 10, pos = 0;
		for (int i = 0; i < 10; i++) {
			vt_fill(buf, piece, 3, pos);
			send_all(b->v, buf, piece);
			pos += piece;
			usleep(2000);
		}
	} else {
		/* slow reader of n bytes */
		size_t pos = 0;
		while (pos < b->n) {
			usleep(2000);
			int r = libvchan_read(b->v, buf, 100);
			CHECK(r > 0);
			CHECK_EQ(vt_verify(buf, (size_t)r, 4, pos), -1);
			pos += (size_t)r;
		}
	}
	return NULL;
}

static void test_blocking(void)
{
	libvchan_t *s = vt_server(0, 1, 12, 1024, 1024);
	libvchan_t *c = vt_client(1, 0, 12);
	vt_connect_pair(s, c);
	/* blocking recv waits for all 1000 bytes, arriving in pieces */
	struct blk b = { c, 0, 1000 };
	pthread_t t;
	CHECK(pthread_create(&t, NULL, blk_thread, &b) == 0);
	expect_stream(s, 1000, 3, 0);
	CHECK(pthread_join(t, NULL) == 0);

	/* blocking send waits for space the slow reader frees */
	uint8_t buf[2048];
	vt_fill(buf, 2048, 4, 0);
	struct blk r = { c, 1, 2048 };
	send_all(s, buf, 1024);
	CHECK_EQ(libvchan_buffer_space(s), 0);
	CHECK(pthread_create(&t, NULL, blk_thread, &r) == 0);
	send_all(s, buf + 1024, 512); /* blocks until 512 were read */
	/* blocking write takes what fits once anything fits */
	size_t off = 1536;
	while (off < 2048) {
		int w = libvchan_write(s, buf + off, 2048 - off);
		CHECK(w > 0);
		off += (size_t)w;
	}
	CHECK(pthread_join(t, NULL) == 0);
	CHECK_EQ(libvchan_buffer_space(s), 1024);
	libvchan_close(c);
	libvchan_close(s);
}

/* ---- a writer waiting for space a partial read freed ----
 * The kernel does not wake a writer when the reader takes part of an skb;
 * a reader waiting for more with recv() would then wait forever for a
 * writer that is waiting for it. */
struct starve {
	libvchan_t *v;
	_Atomic pid_t tid;
};

static void *starve_writer(void *arg)
{
	struct starve *st = arg;
	static uint8_t b[8000];
	vt_fill(b, sizeof(b), 6, 60000);
	st->tid = gettid();
	send_all(st->v, b, 8000); /* needs 2464 bytes more than are free */
	return NULL;
}

static bool thread_sleeping(void *arg)
{
	struct starve *st = arg;
	char p[64], buf[256];
	if (!st->tid)
		return false;
	snprintf(p, sizeof(p), "/proc/self/task/%d/stat", (int)st->tid);
	FILE *f = fopen(p, "r");
	if (!f)
		return false;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *c = strrchr(buf, ')');
	return c && c[1] == ' ' && c[2] == 'S';
}

static void test_partial_read_wakes_writer(void)
{
	libvchan_t *s = vt_server(0, 1, 13, 1024, 65536);
	libvchan_t *c = vt_client(1, 0, 13);
	vt_connect_pair(s, c);
	static uint8_t b[65536];
	vt_fill(b, 60000, 6, 0);
	send_all(s, b, 60000);
	struct starve st = { .v = s };
	pthread_t t;
	CHECK(pthread_create(&t, NULL, starve_writer, &st) == 0);
	/* the writer is asleep in its send before we read anything */
	uint64_t deadline = vt_now_ms() + 5000;
	while (!thread_sleeping(&st)) {
		CHECK(vt_now_ms() < deadline);
		sched_yield();
	}
	expect_stream(c, 30000, 6, 0);     /* part of an skb: no kernel wakeup */
	expect_stream(c, 38000, 6, 30000); /* needs the writer's 8000 */
	CHECK(pthread_join(t, NULL) == 0);
	libvchan_close(c);
	libvchan_close(s);
}

/* ---- who is told about freed space ---- */
static bool fd_readable(libvchan_t *v, int ms)
{
	struct pollfd pf = { .fd = libvchan_fd_for_select(v), .events = POLLIN };
	return poll(&pf, 1, ms) == 1;
}

/* Consume what the vchan fd reports now. */
static void drain_events(libvchan_t *v)
{
	while (fd_readable(v, 0))
		CHECK_EQ(libvchan_wait(v), 0);
}

/*
 * As on Xen, the peer's reads wake a writer only while it waits for space: a
 * writer that sends what fits each cycle of its own clock (vsnd-qubes' mic)
 * is not woken per read. A short write, or a low buffer_space(), asks.
 */
/* The peer (both[1]) reads @n bytes once they are there; the writer's events so far are consumed. */
static void peer_reads(libvchan_t *both[2], uint8_t *in, int n)
{
	struct ready_arg ra = { both[1], n };
	vt_until(both, 2, data_at_least, &ra, 5000);
	drain_events(both[0]);
	CHECK_EQ(libvchan_recv(both[1], in, (size_t)n), n);
}

static void test_space_wakeups(void)
{
	libvchan_t *s = vt_server(0, 1, 17, 1024, 4096);
	/*
	 * 0. A new connection is announced on both fds, even one that was made
	 * at once: a caller waits for that before finishing (vsnd-qubes does).
	 */
	vt_set_domain(1);
	int fd = -1;
	libvchan_t *c = libvchan_client_init_async(0, 17, &fd);
	CHECK(c != NULL);
	CHECK(fd_readable(c, 2000));
	CHECK_EQ(libvchan_client_init_async_finish(c, false), 0);
	CHECK(fd_readable(s, 2000));
	vt_connect_pair(s, c);
	libvchan_set_blocking(s, false);
	libvchan_set_blocking(c, false);
	uint8_t buf[4096], in[4096];
	vt_fill(buf, sizeof(buf), 9, 0);
	libvchan_t *both[2] = { s, c };

	/* 1. Room to spare: sent, read by the peer, and the writer sleeps on. */
	for (int i = 0; i < 5; i++) {
		CHECK(libvchan_buffer_space(s) >= 3072);
		send_all(s, buf, 512);
		peer_reads(both, in, 512);
		CHECK(!fd_readable(s, 50));
	}
	/* 2. A short write: the peer's read wakes the writer. */
	CHECK_EQ(libvchan_buffer_space(s), 4096);
	CHECK_EQ(libvchan_write(s, buf, 4096), 4096);
	CHECK_EQ(libvchan_write(s, buf, 100), 0);
	peer_reads(both, in, 4096);
	CHECK(fd_readable(s, 2000));
	drain_events(s);
	CHECK_EQ(libvchan_buffer_space(s), 4096);
	/* 3. buffer_space() low: the read that frees space wakes the writer too. */
	usleep(40 * 1000); /* the starvation timer of part 2 runs out (16 ms at most) */
	drain_events(s);
	CHECK_EQ(libvchan_buffer_space(s), 4096); /* plenty again: not watched */
	send_all(s, buf, 3000);
	CHECK(libvchan_buffer_space(s) < 2048);
	peer_reads(both, in, 3000);
	CHECK(fd_readable(s, 2000));
	libvchan_close(c);
	libvchan_close(s);
}

/* ---- async client before the server exists; server waiting ---- */
static bool finish_ok(void *arg)
{
	int r = libvchan_client_init_async_finish(arg, false);
	CHECK(r == 0 || r == 1);
	return r == 0;
}

static void test_async_and_waiting(void)
{
	vt_tmpdir();
	vt_set_domain(1);
	int wfd = -1;
	libvchan_t *c = libvchan_client_init_async(0, 20, &wfd);
	CHECK(c);
	CHECK(wfd >= 0);
	CHECK_EQ(libvchan_fd_for_select(c), wfd);
	CHECK_EQ(libvchan_client_init_async_finish(c, false), 1);
	CHECK_EQ(libvchan_is_open(c), VCHAN_WAITING);
	CHECK_EQ(libvchan_data_ready(c), 0);
	CHECK_EQ(libvchan_read(c, path_buf, 1), 0);

	/* a stale socket file (nobody listening) does not fool the client */
	int raw = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path(0, 1, 20));
	CHECK(bind(raw, (struct sockaddr *)&a, sizeof(a)) == 0);
	close(raw);
	struct pollfd p = { .fd = wfd, .events = POLLIN };
	CHECK_EQ(poll(&p, 1, 2000), 1); /* the retry timer / inotify */
	CHECK_EQ(libvchan_client_init_async_finish(c, false), 1);

	/* now the server: replaces the stale file; the client gets there */
	libvchan_t *s = vt_server(0, 1, 20, 4096, 4096);
	CHECK_EQ(libvchan_is_open(s), VCHAN_WAITING);
	/* the server may write before anyone connected: it is buffered */
	send_all(s, "early", 5);
	CHECK_EQ(libvchan_buffer_space(s), 4096 - 5);
	uint64_t t0 = vt_now_ms();
	vt_until(&c, 1, finish_ok, c, 5000);
	CHECK(vt_now_ms() - t0 < 1000);
	vt_connect_pair(s, c);
	libvchan_set_blocking(c, true);
	uint8_t b[8];
	CHECK_EQ(libvchan_recv(c, b, 5), 5);
	CHECK(memcmp(b, "early", 5) == 0);
	CHECK_EQ(libvchan_client_init_async_finish(c, true), 0);
	libvchan_close(c);
	libvchan_close(s);

	/* a server waiting for a client: no events, then one when it comes */
	s = vt_server(0, 1, 21, 1024, 1024);
	p.fd = libvchan_fd_for_select(s);
	CHECK_EQ(poll(&p, 1, 0), 0);
	CHECK_EQ(libvchan_is_open(s), VCHAN_WAITING);
	libvchan_set_blocking(s, false);
	CHECK_EQ(libvchan_read(s, b, 1), 0);
	CHECK_EQ(libvchan_recv(s, b, 1), 0);
	vt_set_domain(1);
	c = libvchan_client_init(0, 21); /* synchronous: the server is there */
	CHECK(c);
	CHECK_EQ(libvchan_is_open(c), VCHAN_CONNECTED);
	CHECK_EQ(poll(&p, 1, 2000), 1);
	CHECK_EQ(libvchan_wait(s), 0);
	CHECK_EQ(libvchan_is_open(s), VCHAN_CONNECTED);
	libvchan_close(c);
	libvchan_close(s);
}

/* ---- peer death in every state ---- */
static pid_t spawn_client(int port, int mode)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid)
		return pid;
	libvchan_t *c = vt_client(1, 0, port);
	uint8_t buf[64];
	vt_fill(buf, sizeof(buf), 9, 0);
	if (mode == 1)
		send_all(c, buf, 10); /* then die with data in flight */
	if (mode == 2)
		_exit(0); /* die without close: the kernel closes */
	if (mode == 3)
		pause(); /* wait to be killed */
	libvchan_close(c);
	_exit(0);
}

static void reap(pid_t pid)
{
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
}

static bool is_connected(void *arg)
{
	return libvchan_is_open(arg) == VCHAN_CONNECTED;
}

static void check_dead(libvchan_t *v)
{
	uint8_t b[4];
	CHECK_EQ(libvchan_is_open(v), VCHAN_DISCONNECTED);
	CHECK_EQ(libvchan_buffer_space(v), 0);
	CHECK_EQ(libvchan_data_ready(v), 0);
	CHECK_ERR(libvchan_write(v, "x", 1), EPIPE);
	CHECK_ERR(libvchan_send(v, "x", 1), EPIPE);
	CHECK_ERR(libvchan_read(v, b, 1), EPIPE);
	CHECK_ERR(libvchan_recv(v, b, 1), EPIPE);
	/* nothing more can happen: wait says so instead of hanging */
	struct pollfd p = { .fd = libvchan_fd_for_select(v), .events = POLLIN };
	while (poll(&p, 1, 0) == 1)
		CHECK_EQ(libvchan_wait(v), 0);
	CHECK_ERR(libvchan_wait(v), EPIPE);
}

static void test_peer_death(void)
{
	uint8_t buf[2048];
	vt_fill(buf, sizeof(buf), 9, 0);

	/* connected and idle, peer killed: noticed through the fd */
	libvchan_t *s = vt_server(0, 1, 30, 1024, 1024);
	pid_t pid = spawn_client(30, 3);
	vt_until(&s, 1, is_connected, s, 5000);
	CHECK(kill(pid, SIGKILL) == 0);
	reap(pid);
	vt_until(&s, 1, is_disconnected, s, 5000);
	check_dead(s);
	libvchan_close(s);

	/* blocked in recv when the peer dies after sending 10 bytes: the
	 * recv fails, the 10 bytes are still delivered */
	s = vt_server(0, 1, 31, 1024, 1024);
	pid = spawn_client(31, 1);
	CHECK_ERR(libvchan_recv(s, buf + 1024, 100), EPIPE);
	reap(pid);
	CHECK_EQ(libvchan_is_open(s), VCHAN_DISCONNECTED);
	CHECK_EQ(libvchan_data_ready(s), 10);
	CHECK_EQ(libvchan_read(s, buf + 1024, 100), 10);
	CHECK_EQ(vt_verify(buf + 1024, 10, 9, 0), -1);
	check_dead(s);
	libvchan_close(s);

	/* blocked in send (ring full) when the peer dies */
	s = vt_server(0, 1, 32, 1024, 1024);
	pid = spawn_client(32, 3);
	vt_until(&s, 1, is_connected, s, 5000);
	send_all(s, buf, 1024);
	pid_t killer = fork();
	CHECK(killer >= 0);
	if (!killer) {
		usleep(20000);
		kill(pid, SIGKILL);
		_exit(0);
	}
	CHECK_ERR(libvchan_send(s, buf, 512), EPIPE);
	reap(killer);
	reap(pid);
	check_dead(s);
	libvchan_close(s);

	/* blocked in a blocking read, peer exits without libvchan_close */
	s = vt_server(0, 1, 33, 1024, 1024);
	pid = spawn_client(33, 2);
	CHECK_ERR(libvchan_read(s, buf, 10), EPIPE);
	reap(pid);
	check_dead(s);
	libvchan_close(s);

	/* client side: the server dies while connected */
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		libvchan_t *srv = vt_server(0, 1, 34, 1024, 1024);
		vt_until(&srv, 1, is_connected, srv, 5000);
		pause();
		_exit(0);
	}
	libvchan_t *c = vt_client(1, 0, 34);
	CHECK_EQ(libvchan_is_open(c), VCHAN_CONNECTED);
	CHECK(kill(pid, SIGKILL) == 0);
	reap(pid);
	vt_until(&c, 1, is_disconnected, c, 5000);
	check_dead(c);
	libvchan_close(c);

	/* client connected before the server accepted, server dies */
	pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		libvchan_t *srv = vt_server(0, 1, 35, 1024, 1024);
		(void)srv;
		pause(); /* never accepts */
		_exit(0);
	}
	c = vt_client(1, 0, 35);
	CHECK_EQ(libvchan_is_open(c), VCHAN_CONNECTED);
	CHECK(kill(pid, SIGKILL) == 0);
	reap(pid);
	vt_until(&c, 1, is_disconnected, c, 5000);
	check_dead(c);
	libvchan_close(c);

	/* the peer closes cleanly while we hold unread data in both ways */
	s = vt_server(0, 1, 36, 1024, 1024);
	c = vt_client(1, 0, 36);
	vt_connect_pair(s, c);
	send_all(c, buf, 100);
	send_all(s, buf, 100);
	libvchan_close(c);
	vt_until(&s, 1, is_disconnected, s, 5000);
	CHECK_EQ(libvchan_data_ready(s), 100);
	CHECK_EQ(libvchan_recv(s, buf + 1024, 100), 100);
	CHECK_EQ(vt_verify(buf + 1024, 100, 9, 0), -1);
	check_dead(s);
	libvchan_close(s);
}

/* ---- server re-init after its client left, client reconnect ---- */
static void test_reinit(void)
{
	uint8_t b[8];
	libvchan_t *s = vt_server(0, 1, 40, 1024, 1024);
	libvchan_t *c = vt_client(1, 0, 40);
	vt_connect_pair(s, c);
	libvchan_close(c);
	vt_until(&s, 1, is_disconnected, s, 5000);
	/* re-init while the old, dead vchan is still open */
	libvchan_t *s2 = vt_server(0, 1, 40, 1024, 1024);
	libvchan_close(s);
	c = vt_client(1, 0, 40);
	vt_connect_pair(s2, c);
	send_all(c, "again", 5);
	CHECK_EQ(libvchan_recv(s2, b, 5), 5);
	CHECK(memcmp(b, "again", 5) == 0);
	libvchan_close(s2);
	vt_until(&c, 1, is_disconnected, c, 5000);
	libvchan_close(c);

	/* a client waiting (async) across a server restart */
	vt_set_domain(1);
	int wfd;
	c = libvchan_client_init_async(0, 40, &wfd);
	CHECK(c);
	CHECK_EQ(libvchan_client_init_async_finish(c, true), 1);
	s = vt_server(0, 1, 40, 1024, 1024);
	vt_until(&c, 1, finish_ok, c, 5000);
	vt_connect_pair(s, c);
	libvchan_close(c);
	libvchan_close(s);
}

/* ---- stale vs live socket files ---- */
static void test_stale_and_live(void)
{
	vt_tmpdir();
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path(0, 1, 50));
	/* live: a raw listener owns the path. It must not be replaced, and it
	 * must not be probed with a connection (it would take it for its client). */
	int live = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	CHECK(bind(live, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(listen(live, 4) == 0);
	vt_set_domain(0);
	errno = 0;
	CHECK(!libvchan_server_init(1, 50, 1024, 1024));
	CHECK_EQ(errno, EADDRINUSE);
	CHECK(accept(live, NULL, NULL) < 0 && errno == EAGAIN);
	close(live);
	/* now stale: replaced */
	libvchan_t *s = vt_server(0, 1, 50, 1024, 1024);
	libvchan_t *c = vt_client(1, 0, 50);
	vt_connect_pair(s, c);
	libvchan_close(c);
	libvchan_close(s);

	/* a live vsnd server is not replaced either */
	s = vt_server(0, 1, 51, 1024, 1024);
	errno = 0;
	CHECK(!libvchan_server_init(1, 51, 1024, 1024));
	CHECK_EQ(errno, EADDRINUSE);
	CHECK_EQ(libvchan_is_open(s), VCHAN_WAITING);
	c = vt_client(1, 0, 51);
	vt_connect_pair(s, c);
	libvchan_close(c);
	libvchan_close(s);
}

/* ---- two ports between one pair; many pairs at once ---- */
static void test_ports_and_pairs(void)
{
	enum { N = 24 };
	libvchan_t *v[2 * N];
	for (int i = 0; i < N; i++) {
		/* pairs (0,1) on ports 60 and 61, then (0,k) and (k,0) pairs */
		int sd = i % 3 == 2 ? 2 + i : 0, cd = i < 2 ? 1 : (sd ? 0 : 2 + i);
		int port = i < 2 ? 60 + i : 4713 + (i & 1);
		v[2 * i] = vt_server(sd, cd, port, 2048, 2048);
		vt_set_domain(cd);
		int fd;
		v[2 * i + 1] = libvchan_client_init_async(sd, port, &fd);
		CHECK(v[2 * i + 1]);
	}
	for (int i = 0; i < N; i++)
		vt_until(&v[2 * i + 1], 1, finish_ok, v[2 * i + 1], 5000);
	for (int i = 0; i < N; i++)
		vt_connect_pair(v[2 * i], v[2 * i + 1]);
	/* every vchan sends its own stream both ways, interleaved */
	uint8_t buf[1500];
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < 2 * N; i++) {
			vt_fill(buf, sizeof(buf), 100 + (uint64_t)i, (uint64_t)round * sizeof(buf));
			send_all(v[i], buf, sizeof(buf));
		}
		for (int i = 0; i < 2 * N; i++)
			expect_stream(v[i], sizeof(buf), 100 + (uint64_t)(i ^ 1),
				      (uint64_t)round * sizeof(buf));
	}
	for (int i = 0; i < 2 * N; i++)
		CHECK_EQ(libvchan_data_ready(v[i]), 0);
	for (int i = 0; i < 2 * N; i++)
		libvchan_close(v[i]);
}

/* ---- hostile peer: floods, its lengths are never trusted ---- */
static void test_flood(void)
{
	vt_tmpdir();
	vt_set_domain(0);
	libvchan_t *s = libvchan_server_init(1, 70, 1024, 1024);
	CHECK(s);
	int raw = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path(0, 1, 70));
	CHECK(connect(raw, (struct sockaddr *)&a, sizeof(a)) == 0);
	int one = 1 << 20;
	setsockopt(raw, SOL_SOCKET, SO_SNDBUF, &one, sizeof(one));
	fcntl(raw, F_SETFL, O_NONBLOCK);
	uint8_t junk[65536];
	vt_fill(junk, sizeof(junk), 77, 0);
	size_t sent = 0;
	ssize_t w;
	while ((w = send(raw, junk, sizeof(junk), MSG_NOSIGNAL)) > 0)
		sent += (size_t)w;
	CHECK(sent > 1024);
	vt_until(&s, 1, is_connected, s, 5000);
	/* data_ready stays within the read size the server asked for */
	CHECK_EQ(libvchan_data_ready(s), 1024);
	uint8_t in[4096];
	CHECK_EQ(libvchan_read(s, in, sizeof(in)), 4096);
	CHECK_EQ(vt_verify(in, 4096, 77, 0), -1);
	close(raw);
	vt_until(&s, 1, is_disconnected, s, 5000);
	libvchan_close(s);
}

int main(void)
{
	signal(SIGPIPE, SIG_DFL); /* a SIGPIPE would kill the test: prove none comes */
	test_path_and_roles();
	test_write_send_recv();
	test_truth_under_load();
	test_blocking();
	test_partial_read_wakes_writer();
	test_space_wakeups();
	test_async_and_waiting();
	test_peer_death();
	test_reinit();
	test_stale_and_live();
	test_ports_and_pairs();
	test_flood();
	printf("ok\n");
	return 0;
}
