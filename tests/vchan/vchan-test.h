/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the vchan tests: checks, private socket dirs,
 * condition waits with deadlines (never sleep-and-hope). */
#ifndef VSND_VCHAN_TEST_H
#define VSND_VCHAN_TEST_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vsnd/libvchan.h"

#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: %s: CHECK(%s) failed (errno %d %s)\n", \
				__FILE__, __LINE__, __func__, #cond, errno,          \
				strerror(errno));                                    \
			abort();                                                     \
		}                                                                    \
	} while (0)

#define CHECK_EQ(a, b)                                                                  \
	do {                                                                            \
		long long a_ = (long long)(a), b_ = (long long)(b);                     \
		if (a_ != b_) {                                                         \
			fprintf(stderr, "%s:%d: %s: %s == %lld, expected %s == %lld (errno %d %s)\n", \
				__FILE__, __LINE__, __func__, #a, a_, #b, b_, errno,    \
				strerror(errno));                                       \
			abort();                                                        \
		}                                                                       \
	} while (0)

/* Expect -1 with errno @e. */
#define CHECK_ERR(call, e)                \
	do {                              \
		errno = 0;                \
		int r_ = (call);          \
		CHECK_EQ(r_, -1);         \
		CHECK_EQ(errno, (e));     \
	} while (0)

/* Make a private VCHAN_SOCKET_DIR (removed with its files at exit). */
const char *vt_tmpdir(void);

/* setenv("VCHAN_DOMAIN", d) */
void vt_set_domain(int d);

/* Deterministic test bytes: byte at stream offset @pos of stream @seed. */
void vt_fill(uint8_t *buf, size_t len, uint64_t seed, uint64_t pos);
/* Compare @buf with the stream; returns -1 if equal, else first bad index. */
long vt_verify(const uint8_t *buf, size_t len, uint64_t seed, uint64_t pos);

/*
 * Drive vchans until @pred(@arg) holds: poll all their fds, libvchan_wait()
 * the readable ones. Fails the test after @timeout_ms.
 */
typedef bool (*vt_pred)(void *arg);
void vt_until(libvchan_t **v, int n, vt_pred pred, void *arg, int timeout_ms);

/* vt_until for "both ends report CONNECTED". */
void vt_connect_pair(libvchan_t *a, libvchan_t *b);

/* Server on @port for peer @peer with ring sizes, owned by domain @self. */
libvchan_t *vt_server(int self, int peer, int port, size_t rd, size_t wr);
/* Async client from domain @self to server domain @peer; connected on return. */
libvchan_t *vt_client(int self, int peer, int port);

uint64_t vt_now_ms(void);

#endif
