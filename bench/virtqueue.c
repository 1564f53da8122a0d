/* SPDX-License-Identifier: MIT */
/*
 * bench/virtqueue: the transport floor the sound device is measured against.
 * A trivial echo device (tests/vhost/echo-dev.c) behind the vhost-user backend
 * dispatcher runs in its own thread; the libvsnd-vhost frontend in the main
 * thread keeps DEPTH requests (16 bytes out, 16 in) in flight on one queue:
 * add -> kick -> backend pops, echoes, pushes used -> call -> frontend
 * collects. Round trips per second and ns per request, depth 1 and 64, >= 3
 * runs of >= 1 s; JSON in bench/results/virtqueue.json and a table.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../tests/vhost/echo-dev.h"
#include "vsnd/clock.h"
#include "vsnd/vhost-backend.h"
#include "vsnd/vhost-frontend.h"

#define RUNS 5
#define SECONDS 1.5

static atomic_bool quit;

static void *backend_thread(void *arg)
{
	struct vhost_backend *be = arg;
	while (!atomic_load(&quit)) {
		struct pollfd pfd[16];
		int n = vhost_backend_fill_pollfds(be, pfd, 16);
		if (n < 0 || poll(pfd, (nfds_t)n, 100) < 0)
			continue;
		vhost_backend_dispatch_pollfds(be, pfd, (unsigned)n);
	}
	return NULL;
}

static double run(struct vhost_frontend *fe, uint64_t gpa, unsigned depth)
{
	uint64_t done = 0, t0 = vsnd_now_ns(), end = t0 + (uint64_t)(SECONDS * 1e9);
	unsigned in_flight = 0;
	int call = vhost_frontend_call_fd(fe, 0);
	for (;;) {
		while (in_flight < depth) {
			uint64_t base = gpa + (uint64_t)(in_flight % 64) * 64;
			struct vhost_frontend_buf b[2] = { { base, 16 }, { base + 32, 16 } };
			if (vhost_frontend_add(fe, 0, b, 1, 1, NULL) < 0)
				break;
			in_flight++;
		}
		vhost_frontend_kick(fe, 0);
		struct pollfd pfd = { .fd = call, .events = POLLIN };
		poll(&pfd, 1, 1000);
		uint64_t v;
		ssize_t r = read(call, &v, sizeof(v));
		(void)r;
		uint32_t len;
		void *token;
		while (vhost_frontend_get_used(fe, 0, &len, &token) == 1) {
			in_flight--;
			done++;
		}
		if (vsnd_now_ns() >= end)
			break;
	}
	/* Drain what is still in flight so the next run starts clean. */
	while (in_flight) {
		struct pollfd pfd = { .fd = call, .events = POLLIN };
		poll(&pfd, 1, 1000);
		uint32_t len;
		void *token;
		while (vhost_frontend_get_used(fe, 0, &len, &token) == 1)
			in_flight--;
	}
	double secs = (vsnd_now_ns() - t0) / 1e9;
	return done / secs;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(void)
{
	char path[] = "/tmp/vsnd-bench-vq.XXXXXX";
	if (!mkdtemp(path))
		return 1;
	char sock[64];
	snprintf(sock, sizeof(sock), "%s/s", path);
	struct echo_dev dev;
	echo_dev_init(&dev);
	struct vhost_backend_config bc = { .ops = &echo_dev_ops, .data = &dev, .num_queues = ECHO_QUEUES };
	struct vhost_backend *be = vhost_backend_new(&bc);
	if (!be || vhost_backend_listen(be, sock) < 0)
		return 1;
	pthread_t th;
	pthread_create(&th, NULL, backend_thread, be);
	struct vhost_frontend_config fc = { .socket_path = sock, .num_queues = ECHO_QUEUES, .connect_timeout_ms = 2000 };
	struct vhost_frontend *fe = vhost_frontend_new(&fc);
	uint64_t gpa;
	if (!fe || vhost_frontend_alloc(fe, 64 * 64, 64, &gpa) < 0)
		return 1;

	static const unsigned depths[] = { 1, 64 };
	double rate[2][RUNS], med[2];
	for (int d = 0; d < 2; d++) {
		for (int r = 0; r < RUNS; r++)
			rate[d][r] = run(fe, gpa, depths[d]);
		double s[RUNS];
		memcpy(s, rate[d], sizeof(s));
		qsort(s, RUNS, sizeof(double), cmp);
		med[d] = s[RUNS / 2];
	}
	vhost_frontend_destroy(fe);
	atomic_store(&quit, true);
	pthread_join(th, NULL);
	vhost_backend_destroy(be);
	unlink(sock);
	rmdir(path);

	struct utsname u;
	uname(&u);
	FILE *f = fopen("bench/results/virtqueue.json", "w");
	if (f) {
		fprintf(f, "{\n  \"bench\": \"virtqueue\",\n  \"machine\": {\"uname\": \"%s %s %s\"},\n  \"runs\": [",
			u.sysname, u.release, u.machine);
		for (int d = 0; d < 2; d++)
			for (int r = 0; r < RUNS; r++)
				fprintf(f, "%s{\"depth\": %u, \"run\": %d, \"round_trips_per_s\": %.0f}",
					d || r ? ", " : "", depths[d], r + 1, rate[d][r]);
		fprintf(f, "],\n  \"median\": {\"depth1\": {\"round_trips_per_s\": %.0f, \"ns_per_request\": %.0f}, "
			   "\"depth64\": {\"round_trips_per_s\": %.0f, \"ns_per_request\": %.0f}}\n}\n",
			med[0], 1e9 / med[0], med[1], 1e9 / med[1]);
		fclose(f);
	}
	printf("%-8s %18s %14s\n", "depth", "round trips/s", "ns/request");
	for (int d = 0; d < 2; d++)
		printf("%-8u %18.0f %14.0f\n", depths[d], med[d], 1e9 / med[d]);
	printf("written bench/results/virtqueue.json (median of %d runs of %.1f s)\n", RUNS, SECONDS);
	return 0;
}
