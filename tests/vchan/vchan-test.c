/* SPDX-License-Identifier: MIT */
#include "vchan-test.h"

#include <dirent.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

static char tmpdir[256];

static void cleanup(void)
{
	if (!tmpdir[0])
		return;
	DIR *d = opendir(tmpdir);
	if (d) {
		struct dirent *e;
		char p[600];
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
			unlink(p);
		}
		closedir(d);
	}
	rmdir(tmpdir);
}

const char *vt_tmpdir(void)
{
	if (tmpdir[0])
		return tmpdir;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/vsnd-vchan-test.XXXXXX");
	CHECK(mkdtemp(tmpdir));
	CHECK(setenv("VCHAN_SOCKET_DIR", tmpdir, 1) == 0);
	atexit(cleanup);
	return tmpdir;
}

void vt_set_domain(int d)
{
	char s[16];
	snprintf(s, sizeof(s), "%d", d);
	CHECK(setenv("VCHAN_DOMAIN", s, 1) == 0);
}

static inline uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

void vt_fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t pos)
{
	uint64_t key = seed * 0x100000001B3ull;
	size_t i = 0;
	/* unaligned head, whole words, tail: byte k of the stream is byte
	 * (k & 7) of mix(key ^ (k >> 3)), little-endian */
	while (i < len && ((pos + i) & 7)) {
		uint64_t w = mix(key ^ ((pos + i) >> 3));
		buf[i] = (uint8_t)(w >> (((pos + i) & 7) * 8));
		i++;
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t w = mix(key ^ ((pos + i) >> 3));
		memcpy(buf + i, &w, 8);
	}
	for (; i < len; i++) {
		uint64_t w = mix(key ^ ((pos + i) >> 3));
		buf[i] = (uint8_t)(w >> (((pos + i) & 7) * 8));
	}
}

long vt_verify(const uint8_t *buf, size_t len, uint64_t seed, uint64_t pos)
{
	uint8_t tmp[4096];
	for (size_t off = 0; off < len; off += sizeof(tmp)) {
		size_t n = len - off < sizeof(tmp) ? len - off : sizeof(tmp);
		vt_fill(tmp, n, seed, pos + off);
		if (memcmp(tmp, buf + off, n) != 0) {
			for (size_t k = 0; k < n; k++)
				if (tmp[k] != buf[off + k])
					return (long)(off + k);
		}
	}
	return -1;
}

uint64_t vt_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void vt_until(libvchan_t **v, int n, vt_pred pred, void *arg, int timeout_ms)
{
	uint64_t deadline = vt_now_ms() + (uint64_t)timeout_ms;
	struct pollfd p[64];
	CHECK(n <= 64);
	while (!pred(arg)) {
		uint64_t now = vt_now_ms();
		if (now >= deadline) {
			fprintf(stderr, "vt_until: condition not reached in %d ms\n", timeout_ms);
			abort();
		}
		for (int i = 0; i < n; i++) {
			p[i].fd = libvchan_fd_for_select(v[i]);
			p[i].events = POLLIN;
		}
		int r = poll(p, (nfds_t)n, (int)(deadline - now));
		CHECK(r >= 0 || errno == EINTR);
		for (int i = 0; i < n && r > 0; i++)
			if (p[i].revents & POLLIN)
				CHECK(libvchan_wait(v[i]) == 0 || errno == EPIPE);
	}
}

struct pair {
	libvchan_t *a, *b;
};

static bool both_connected(void *arg)
{
	struct pair *p = arg;
	return libvchan_is_open(p->a) == VCHAN_CONNECTED &&
	       libvchan_is_open(p->b) == VCHAN_CONNECTED;
}

void vt_connect_pair(libvchan_t *a, libvchan_t *b)
{
	struct pair p = { a, b };
	libvchan_t *v[2] = { a, b };
	vt_until(v, 2, both_connected, &p, 5000);
}

libvchan_t *vt_server(int self, int peer, int port, size_t rd, size_t wr)
{
	vt_tmpdir();
	vt_set_domain(self);
	libvchan_t *s = libvchan_server_init(peer, port, rd, wr);
	CHECK(s);
	return s;
}

struct finish_arg {
	libvchan_t *c;
	int r;
};

static bool finished(void *arg)
{
	struct finish_arg *f = arg;
	f->r = libvchan_client_init_async_finish(f->c, true);
	CHECK(f->r >= 0);
	return f->r == 0;
}

libvchan_t *vt_client(int self, int peer, int port)
{
	vt_tmpdir();
	vt_set_domain(self);
	int fd = -1;
	libvchan_t *c = libvchan_client_init_async(peer, port, &fd);
	CHECK(c);
	CHECK_EQ(fd, libvchan_fd_for_select(c));
	struct finish_arg f = { c, 1 };
	/* vt_until polls fd_for_select, which is the watch fd here. */
	vt_until(&c, 1, finished, &f, 5000);
	return c;
}
