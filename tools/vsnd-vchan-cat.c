/* SPDX-License-Identifier: MIT */
/*
 * vsnd-vchan-cat: copy stdin to a vchan and the vchan to stdout (socat-like).
 *
 *   vsnd-vchan-cat [-t SECONDS] [-s BYTES] --server PEERDOM PORT
 *   vsnd-vchan-cat [-t SECONDS] --client PEERDOM PORT
 *
 * A vchan has no half-close, so the ends are handled like socat does: when
 * the peer goes away, what it sent is written out and we exit; when stdin
 * ends, we wait until the peer has read everything we sent, keep copying the
 * peer's data for -t seconds of silence (default 0.5), then close and exit.
 * Exit status 0 on a clean end, 1 on errors, 2 on bad usage.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vsnd/clock.h"
#include "vsnd/libvchan.h"
#include "vsnd/parse.h"

#define BUF_SIZE 65536

static void usage(FILE *f)
{
	fprintf(f, "usage: vsnd-vchan-cat [-t SECONDS] [-s BYTES] --server PEERDOM PORT\n"
		   "       vsnd-vchan-cat [-t SECONDS] --client PEERDOM PORT\n"
		   "Copies stdin to the vchan and the vchan to stdout.\n"
		   "  -t SECONDS  after stdin ends, exit after this much vchan silence (0.5)\n"
		   "  -s BYTES    server ring sizes (65536)\n"
		   "Environment: VSND_VCHAN, VCHAN_SOCKET_DIR, VCHAN_DOMAIN.\n");
}

struct cat {
	libvchan_t *vc;
	uint8_t in[BUF_SIZE];
	size_t in_off, in_len; /* stdin bytes not yet taken by the vchan */
	uint8_t out[BUF_SIZE];
	size_t out_off, out_len; /* vchan bytes not yet written to stdout */
	bool stdin_eof;
	int full_space; /* buffer_space with nothing in flight */
};

static int flush_stdout(struct cat *c)
{
	while (c->out_len) {
		/* After POLLOUT a pipe takes PIPE_BUF bytes without blocking. */
		size_t n = c->out_len < 4096 ? c->out_len : 4096;
		ssize_t w = write(STDOUT_FILENO, c->out + c->out_off, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->out_off += (size_t)w;
		c->out_len -= (size_t)w;
		if ((size_t)w < n)
			break;
	}
	if (!c->out_len)
		c->out_off = 0;
	return 0;
}

static int pull_vchan(struct cat *c)
{
	if (c->out_len || libvchan_data_ready(c->vc) <= 0)
		return 0;
	int n = libvchan_read(c->vc, c->out, sizeof(c->out));
	if (n < 0)
		return errno == EPIPE ? 0 : -1;
	c->out_len = (size_t)n;
	return 0;
}

static int push_vchan(struct cat *c)
{
	while (c->in_len) {
		int w = libvchan_write(c->vc, c->in + c->in_off, c->in_len);
		if (w < 0)
			return -1;
		if (w == 0)
			break;
		c->in_off += (size_t)w;
		c->in_len -= (size_t)w;
	}
	if (!c->in_len)
		c->in_off = 0;
	return 0;
}

static int run(struct cat *c, uint64_t linger_ns)
{
	uint64_t quiet_since = 0;
	for (;;) {
		int state = libvchan_is_open(c->vc);
		if (state == VCHAN_DISCONNECTED) {
			/* Deliver everything the peer sent before it left. */
			for (;;) {
				if (flush_stdout(c) < 0)
					return -1;
				if (c->out_len) {
					struct pollfd p = { .fd = STDOUT_FILENO, .events = POLLOUT };
					poll(&p, 1, -1);
					continue;
				}
				if (libvchan_data_ready(c->vc) <= 0)
					return 0;
				if (pull_vchan(c) < 0)
					return -1;
			}
		}
		/* Make all progress possible before sleeping: the vchan fd only
		 * reports new events, not data that was already there. */
		if (push_vchan(c) < 0 && errno != EPIPE)
			return -1;
		if (pull_vchan(c) < 0)
			return -1;
		int space = state == VCHAN_CONNECTED ? libvchan_buffer_space(c->vc) : 0;
		if (space > c->full_space)
			c->full_space = space;
		bool drained = c->stdin_eof && !c->in_len && space == c->full_space;
		uint64_t now = vsnd_now_ns();
		if (drained && !c->out_len && libvchan_data_ready(c->vc) <= 0) {
			if (!quiet_since)
				quiet_since = now;
			if (now - quiet_since >= linger_ns)
				return 0;
		} else {
			quiet_since = 0;
		}

		struct pollfd p[3] = {
			{ .fd = libvchan_fd_for_select(c->vc), .events = POLLIN },
			{ .fd = -1, .events = POLLIN },
			{ .fd = -1, .events = POLLOUT },
		};
		if (!c->stdin_eof && !c->in_len && space > 0)
			p[1].fd = STDIN_FILENO;
		if (c->out_len)
			p[2].fd = STDOUT_FILENO;
		int timeout = -1;
		if (quiet_since)
			timeout = (int)((linger_ns - (now - quiet_since)) / VSND_NSEC_PER_MSEC) + 1;
		else if (c->stdin_eof && !drained)
			timeout = 10; /* no event says "peer read it all": look again soon */
		if (poll(p, 3, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if ((p[0].revents & POLLIN) && libvchan_wait(c->vc) < 0 && errno != EPIPE)
			return -1;
		if (p[1].revents) {
			size_t want = (size_t)space < sizeof(c->in) ? (size_t)space : sizeof(c->in);
			ssize_t n = read(STDIN_FILENO, c->in, want);
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				return -1;
			if (n == 0)
				c->stdin_eof = true;
			if (n > 0)
				c->in_len = (size_t)n;
		}
		if (p[2].revents && flush_stdout(c) < 0)
			return -1;
	}
}

int main(int argc, char **argv)
{
	double linger = 0.5;
	long size = 65536;
	int role = 0; /* 1 server, 2 client */
	int i = 1;
	for (; i < argc; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			char *end;
			linger = strtod(argv[++i], &end);
			if (*end || linger < 0 || linger > 3600) {
				usage(stderr);
				return 2;
			}
		} else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc) {
			if (!vsnd_parse_long(argv[++i], 1, 1 << 30, &size)) {
				usage(stderr);
				return 2;
			}
		} else if (strcmp(argv[i], "--server") == 0) {
			role = 1;
		} else if (strcmp(argv[i], "--client") == 0) {
			role = 2;
		} else {
			break;
		}
		if (role)
			break;
	}
	long dom, port;
	if (!role || argc - i != 3 || !vsnd_parse_long(argv[i + 1], 0, 0x7FEF, &dom) ||
	    !vsnd_parse_long(argv[i + 2], 0, 0x7FFFFFFF, &port)) {
		usage(stderr);
		return 2;
	}

	static struct cat c;
	c.vc = role == 1 ? libvchan_server_init((int)dom, (int)port, (size_t)size, (size_t)size)
			 : libvchan_client_init((int)dom, (int)port);
	if (!c.vc) {
		fprintf(stderr, "vsnd-vchan-cat: vchan to domain %ld port %ld: %s\n", dom, port,
			strerror(errno));
		return 1;
	}
	libvchan_set_blocking(c.vc, false);
	int r = run(&c, (uint64_t)(linger * 1e9));
	if (r < 0)
		fprintf(stderr, "vsnd-vchan-cat: %s\n", strerror(errno));
	libvchan_close(c.vc);
	return r < 0 ? 1 : 0;
}
