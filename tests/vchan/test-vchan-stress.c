/* SPDX-License-Identifier: MIT */
/*
 * Stress: two processes move VSND_VCHAN_STRESS_MB (default 1024) MiB each way
 * at once through one vchan, with random chunk sizes, a random mix of
 * write/send/read/recv and random sleeps, driven by poll + libvchan_wait in
 * non-blocking mode. Every byte is checked against the sender's generator
 * (a lost, duplicated or reordered byte shows as a mismatch at its offset)
 * and a checksum of the whole stream is compared at the end.
 */
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vchan-test.h"

#define CHUNK_MAX 65536
/* Both rings are 64 KiB. An all-or-nothing send of N and recv of M can wait
 * for each other forever when N + M exceeds the ring (on Xen too), so the
 * all-or-nothing calls stay within half of it. */
#define ATOMIC_MAX 32768

struct side {
	const char *name;
	uint64_t total, sent, recvd;
	uint64_t seed_tx, seed_rx;
	uint64_t sum; /* FNV-1a over the received stream, 64-bit words */
	uint64_t rng;
};

static uint64_t rnd(struct side *s)
{
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return s->rng;
}

static size_t chunk(struct side *s)
{
	/* mostly small and medium, sometimes the largest */
	uint64_t r = rnd(s);
	switch (r & 3) {
	case 0: return 1 + (r >> 8) % 64;
	case 1: return 1 + (r >> 8) % 4096;
	default: return 1 + (r >> 8) % CHUNK_MAX;
	}
}

static void checksum(struct side *s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s->sum = (s->sum ^ p[i]) * 0x100000001B3ull;
}

static void run(struct side *s, libvchan_t *v)
{
	uint8_t *tx = malloc(CHUNK_MAX), *rx = malloc(CHUNK_MAX), *exp = malloc(CHUNK_MAX);
	CHECK(tx && rx && exp);
	size_t txlen = 0; /* prepared bytes not yet accepted */
	bool txall = false;
	int cap = -1;
	libvchan_set_blocking(v, false);
	for (;;) {
		bool progress = false;
		if (s->sent < s->total) {
			if (!txlen) {
				txlen = chunk(s);
				if (txlen > s->total - s->sent)
					txlen = (size_t)(s->total - s->sent);
				vt_fill(tx, txlen, s->seed_tx, s->sent);
				txall = (rnd(s) & 1) && txlen <= ATOMIC_MAX;
			}
			int w = txall ? libvchan_send(v, tx, txlen) : libvchan_write(v, tx, txlen);
			CHECK(w >= 0);
			CHECK(!txall || w == 0 || (size_t)w == txlen);
			if (w > 0) {
				s->sent += (uint64_t)w;
				memmove(tx, tx + w, txlen - (size_t)w);
				txlen -= (size_t)w;
				progress = true;
			}
		}
		if (s->recvd < s->total) {
			size_t want = chunk(s);
			if (want > s->total - s->recvd)
				want = (size_t)(s->total - s->recvd);
			bool all = (rnd(s) & 1) && want <= ATOMIC_MAX;
			int r = all ? libvchan_recv(v, rx, want) : libvchan_read(v, rx, want);
			CHECK(!all || r == 0 || (size_t)r == want);
			CHECK(r >= 0);
			if (r > 0) {
				vt_fill(exp, (size_t)r, s->seed_rx, s->recvd);
				if (memcmp(exp, rx, (size_t)r) != 0) {
					fprintf(stderr, "%s: mismatch at offset %llu+%ld\n", s->name,
						(unsigned long long)s->recvd,
						vt_verify(rx, (size_t)r, s->seed_rx, s->recvd));
					abort();
				}
				checksum(s, rx, (size_t)r);
				s->recvd += (uint64_t)r;
				progress = true;
			}
		}
		int space = libvchan_buffer_space(v);
		if (cap < space)
			cap = space;
		if (s->sent == s->total && s->recvd == s->total &&
		    (space == cap || libvchan_is_open(v) == VCHAN_DISCONNECTED))
			break;
		CHECK(libvchan_is_open(v) == VCHAN_CONNECTED || s->recvd == s->total);
		if ((rnd(s) & 4095) == 0) {
			struct timespec ts = { 0, (long)(rnd(s) % 2000000) };
			nanosleep(&ts, NULL);
		}
		if (!progress) {
			struct pollfd p = { .fd = libvchan_fd_for_select(v), .events = POLLIN };
			/* every state change must wake us: a timeout is a lost wakeup */
			int n = poll(&p, 1, 10000);
			CHECK(n != 0);
			CHECK(n > 0 || errno == EINTR);
			if (n > 0)
				CHECK(libvchan_wait(v) == 0 || errno == EPIPE);
		}
	}
	free(tx);
	free(rx);
	free(exp);
}

static bool connected(void *arg)
{
	return libvchan_is_open(arg) == VCHAN_CONNECTED;
}

static uint64_t expected_sum(uint64_t seed, uint64_t total)
{
	struct side s = { .sum = 0xCBF29CE484222325ull };
	uint8_t *b = malloc(1 << 20);
	CHECK(b);
	for (uint64_t pos = 0; pos < total; pos += 1 << 20) {
		size_t n = total - pos < (1 << 20) ? (size_t)(total - pos) : (1 << 20);
		vt_fill(b, n, seed, pos);
		checksum(&s, b, n);
	}
	free(b);
	return s.sum;
}

int main(void)
{
	const char *mb = getenv("VSND_VCHAN_STRESS_MB");
	uint64_t total = (uint64_t)(mb ? atol(mb) : 1024) << 20;
	CHECK(total > 0);
	vt_tmpdir();
	uint64_t t0 = vt_now_ms();
	pid_t pid = fork();
	CHECK(pid >= 0);
	struct side s = {
		.name = pid ? "server" : "client",
		.total = total,
		.seed_tx = pid ? 1001 : 2002,
		.seed_rx = pid ? 2002 : 1001,
		.sum = 0xCBF29CE484222325ull,
		.rng = pid ? 0x1234567 : 0x7654321,
	};
	libvchan_t *v = pid ? vt_server(0, 5, 4713, 65536, 65536) : vt_client(5, 0, 4713);
	vt_until(&v, 1, connected, v, 10000);
	run(&s, v);
	libvchan_close(v);
	CHECK_EQ(s.recvd, total);
	if (!pid)
		_exit(s.sum == expected_sum(1001, total) ? 0 : 3);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st));
	CHECK_EQ(WEXITSTATUS(st), 0);
	CHECK(s.sum == expected_sum(2002, total));
	double secs = (double)(vt_now_ms() - t0) / 1000.0;
	printf("ok: %llu MiB each way in %.1f s (%.0f MB/s per direction, verified byte by byte)\n",
	       (unsigned long long)(total >> 20), secs, (double)total / 1e6 / secs);
	return 0;
}
