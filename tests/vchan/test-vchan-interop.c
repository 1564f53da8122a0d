/* SPDX-License-Identifier: MIT */
/*
 * Wire compatibility: a plain UNIX socket peer, written here from the
 * qubes-core-vchan-socket facts alone (path scheme, server listens, raw
 * byte stream, no handshake), talks to libvchan and to vsnd-vchan-cat.
 *
 * argv[1]: path of vsnd-vchan-cat.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vchan-test.h"

static int raw_addr(struct sockaddr_un *a, const char *name)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	return snprintf(a->sun_path, sizeof(a->sun_path), "%s/%s", vt_tmpdir(), name);
}

static int raw_connect(const char *name)
{
	struct sockaddr_un a;
	raw_addr(&a, name);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	/* the file must exist under exactly this name: wait for it */
	uint64_t deadline = vt_now_ms() + 5000;
	while (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		CHECK(errno == ENOENT || errno == ECONNREFUSED);
		CHECK(vt_now_ms() < deadline);
		usleep(1000);
	}
	return fd;
}

static int raw_listen(const char *name)
{
	struct sockaddr_un a;
	raw_addr(&a, name);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(fd >= 0);
	CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	CHECK(listen(fd, 1) == 0);
	return fd;
}

static void raw_write(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
		CHECK(w > 0);
		b += w;
		n -= (size_t)w;
	}
}

static void raw_read(int fd, void *p, size_t n)
{
	uint8_t *b = p;
	while (n) {
		ssize_t r = read(fd, b, n);
		CHECK(r > 0);
		b += r;
		n -= (size_t)r;
	}
}

static bool connected(void *arg)
{
	return libvchan_is_open(arg) == VCHAN_CONNECTED;
}

static bool disconnected(void *arg)
{
	return libvchan_is_open(arg) == VCHAN_DISCONNECTED;
}

/* libvchan server, raw client */
static void test_raw_client(void)
{
	vt_set_domain(7);
	libvchan_t *s = libvchan_server_init(9, 4713, 4096, 4096);
	CHECK(s);
	int fd = raw_connect("vchan.7.9.4713.sock");
	vt_until(&s, 1, connected, s, 5000);
	/* no handshake either way: the first bytes are the application's */
	uint8_t b[8192], in[8192];
	vt_fill(b, sizeof(b), 1, 0);
	CHECK_EQ(libvchan_send(s, b, 4000), 4000);
	raw_read(fd, in, 4000);
	CHECK(memcmp(b, in, 4000) == 0);
	raw_write(fd, b, 3000);
	CHECK_EQ(libvchan_recv(s, in, 3000), 3000);
	CHECK(memcmp(b, in, 3000) == 0);
	/* a 4-byte control word arrives whole and alone */
	uint32_t word = 0x00010001, got = 0;
	raw_write(fd, &word, 4);
	CHECK_EQ(libvchan_recv(s, &got, 4), 4);
	CHECK_EQ(got, word);
	close(fd);
	vt_until(&s, 1, disconnected, s, 5000);
	CHECK_EQ(libvchan_data_ready(s), 0);
	libvchan_close(s);
}

/* raw server, libvchan client */
static void test_raw_server(void)
{
	int lfd = raw_listen("vchan.9.7.4714.sock");
	vt_set_domain(7);
	libvchan_t *c = libvchan_client_init(9, 4714);
	CHECK(c);
	int fd = accept(lfd, NULL, NULL);
	CHECK(fd >= 0);
	uint8_t b[8192], in[8192];
	vt_fill(b, sizeof(b), 2, 0);
	raw_write(fd, b, 5000);
	CHECK_EQ(libvchan_recv(c, in, 5000), 5000);
	CHECK(memcmp(b, in, 5000) == 0);
	CHECK_EQ(libvchan_send(c, b, 6000), 6000);
	raw_read(fd, in, 6000);
	CHECK(memcmp(b, in, 6000) == 0);
	/* the raw server goes away with data we have not read yet */
	raw_write(fd, "bye", 3);
	close(fd);
	close(lfd);
	vt_until(&c, 1, disconnected, c, 5000);
	CHECK_EQ(libvchan_recv(c, in, 3), 3);
	CHECK(memcmp(in, "bye", 3) == 0);
	CHECK_ERR(libvchan_read(c, in, 1), EPIPE);
	libvchan_close(c);
}

/* vsnd-vchan-cat against a raw peer, both roles */
static pid_t spawn_cat(const char *cat, const char *role, const char *dom, const char *port,
		       int *to_stdin, int *from_stdout)
{
	int in[2], out[2];
	CHECK(pipe(in) == 0 && pipe(out) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		execl(cat, cat, "-t", "0.2", role, dom, port, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	*to_stdin = in[1];
	*from_stdout = out[0];
	return pid;
}

static size_t read_all(int fd, uint8_t *buf, size_t max)
{
	size_t n = 0;
	ssize_t r;
	while (n < max && (r = read(fd, buf + n, max - n)) > 0)
		n += (size_t)r;
	return n;
}

static void test_cat(const char *cat)
{
	enum { N = 300000 };
	uint8_t *b = malloc(N), *in = malloc(N + 1);
	CHECK(b && in);
	vt_fill(b, N, 3, 0);

	/* cat as client: VCHAN_DOMAIN=7 reaching server domain 9 */
	vt_set_domain(7);
	int lfd = raw_listen("vchan.9.7.100.sock");
	int to, from;
	pid_t pid = spawn_cat(cat, "--client", "9", "100", &to, &from);
	int fd = accept(lfd, NULL, NULL);
	CHECK(fd >= 0);
	/* stdin -> vchan */
	pid_t feeder = fork();
	CHECK(feeder >= 0);
	if (!feeder) {
		const uint8_t *p = b;
		size_t left = N;
		while (left) {
			ssize_t w = write(to, p, left);
			if (w <= 0)
				_exit(1);
			p += w;
			left -= (size_t)w;
		}
		_exit(0);
	}
	close(to);
	raw_read(fd, in, N);
	CHECK(memcmp(b, in, N) == 0);
	int st;
	CHECK(waitpid(feeder, &st, 0) == feeder && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* vchan -> stdout, then the peer leaves: cat writes everything, exits 0 */
	pid_t writer = fork(); /* cat's stdout pipe is smaller than N */
	CHECK(writer >= 0);
	if (!writer) {
		raw_write(fd, b, N);
		_exit(0);
	}
	close(fd);
	CHECK_EQ(read_all(from, in, N + 1), N);
	CHECK(waitpid(writer, &st, 0) == writer && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(memcmp(b, in, N) == 0);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	close(from);
	close(lfd);

	/* cat as server (VCHAN_DOMAIN=7, peer 9): the raw client finds it at
	 * vchan.7.9.101.sock; stdin ends, cat lingers 0.2 s and exits */
	pid = spawn_cat(cat, "--server", "9", "101", &to, &from);
	fd = raw_connect("vchan.7.9.101.sock");
	raw_write(fd, b, 1000);
	CHECK_EQ(read_all(from, in, 1000), 1000);
	CHECK(memcmp(b, in, 1000) == 0);
	CHECK_EQ(write(to, b + 1000, 2000), 2000);
	close(to);
	raw_read(fd, in, 2000);
	CHECK(memcmp(b + 1000, in, 2000) == 0);
	/* it exits on its own, closing the stream */
	CHECK_EQ(read(fd, in, 1), 0);
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	CHECK_EQ(read_all(from, in, 10), 0);
	close(from);
	close(fd);

	/* bad usage */
	pid = fork();
	if (!pid) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		execl(cat, cat, "--server", "x", "1", (char *)NULL);
		_exit(127);
	}
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 2);
	free(b);
	free(in);
}

/* Feed @n bytes of @b into @fd from a child, then close it. */
static pid_t feed(int fd, const uint8_t *b, size_t n)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (!pid) {
		while (n) {
			ssize_t w = write(fd, b, n);
			if (w <= 0)
				_exit(1);
			b += w;
			n -= (size_t)w;
		}
		_exit(0);
	}
	close(fd);
	return pid;
}

/* Two cats, one each side, both ways at once: like socat, each exits once
 * its stdin is delivered and the other side fell silent. */
static void test_cat_pair(const char *cat)
{
	enum { N = 1 << 20 };
	uint8_t *a = malloc(N), *b = malloc(N), *in = malloc(N + 1);
	CHECK(a && b && in);
	vt_fill(a, N, 11, 0);
	vt_fill(b, N, 12, 0);
	int to_s, from_s, to_c, from_c, st;
	vt_set_domain(0);
	pid_t srv = spawn_cat(cat, "--server", "1", "200", &to_s, &from_s);
	vt_set_domain(1);
	pid_t cli = spawn_cat(cat, "--client", "0", "200", &to_c, &from_c);
	pid_t f1 = feed(to_s, a, N), f2 = feed(to_c, b, N);
	/* read both outputs at once: each is bigger than a pipe */
	size_t got_s = 0, got_c = 0;
	uint8_t *out_s = malloc(N + 1), *out_c = in;
	CHECK(out_s);
	struct pollfd p[2] = { { .fd = from_s, .events = POLLIN }, { .fd = from_c, .events = POLLIN } };
	while (p[0].fd >= 0 || p[1].fd >= 0) {
		CHECK(poll(p, 2, 10000) > 0);
		for (int k = 0; k < 2; k++) {
			if (p[k].fd < 0 || !p[k].revents)
				continue;
			uint8_t *dst = k ? out_c : out_s;
			size_t *got = k ? &got_c : &got_s;
			CHECK(*got <= N);
			ssize_t r = read(p[k].fd, dst + *got, N + 1 - *got);
			CHECK(r >= 0);
			if (r == 0) {
				close(p[k].fd);
				p[k].fd = -1;
			}
			*got += (size_t)r;
		}
	}
	CHECK_EQ(got_s, N);
	CHECK_EQ(got_c, N);
	CHECK(memcmp(out_s, b, N) == 0);
	CHECK(memcmp(out_c, a, N) == 0);
	pid_t all[4] = { srv, cli, f1, f2 };
	for (int i = 0; i < 4; i++) {
		CHECK(waitpid(all[i], &st, 0) == all[i]);
		CHECK(WIFEXITED(st));
		CHECK_EQ(WEXITSTATUS(st), 0);
	}
	free(a);
	free(b);
	free(in);
	free(out_s);
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN); /* the raw side may write to a gone peer */
	vt_tmpdir();
	test_raw_client();
	test_raw_server();
	if (argc > 1) {
		test_cat(argv[1]);
		test_cat_pair(argv[1]);
	}
	printf("ok\n");
	return 0;
}
