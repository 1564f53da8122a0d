/* SPDX-License-Identifier: MIT */
/*
 * vchan benchmark (socket transport), two processes like a VM agent and its
 * daemon:
 *   - throughput (MB/s, 1e6 bytes) of 4 KiB and 64 KiB messages, blocking
 *     send/recv, server -> client, timed at the receiver;
 *   - one-way notify latency of a 4-byte message: the receiver sleeps in
 *     poll() on libvchan_fd_for_select(), then libvchan_wait() + recv; the
 *     time from just before libvchan_send() to recv() returning, on
 *     CLOCK_MONOTONIC (shared memory carries the send stamps). One message
 *     at a time (the receiver acks), so there is no queueing.
 * The same latency measured on a bare socketpair (blocking read/write, no
 * libvchan) in the same run gives the machine's floor, so the figure can be
 * read as "our overhead" on a noisy shared machine.
 * Prints a table and writes JSON as /work/shared/BENCH.md describes.
 *
 *   vchan [--runs N] [--quick] [--json PATH]
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vsnd/clock.h"
#include "vsnd/libvchan.h"

#define RING (1u << 20)
#define LAT_N 20000

struct shared {
	uint64_t t_send[LAT_N];
	uint64_t t_recv[LAT_N];
	double tput[2];
};

/* Sorted latency samples of the last run (ns), for the plot. */
static uint64_t last_lat[2][LAT_N];
static int last_n;

struct run {
	double tput_4k, tput_64k;
	double p50, p99, max;
	double raw_p50, raw_p99;
};

#define NCOL 7

static void die(const char *what)
{
	fprintf(stderr, "vchan bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void set_domain(int d)
{
	char s[16];
	snprintf(s, sizeof(s), "%d", d);
	setenv("VCHAN_DOMAIN", s, 1);
}

/* Child: the client side (receiver of bulk data and of notifies). */
static void client(struct shared *sh, int port, uint64_t bytes[2], int lat_n)
{
	set_domain(1);
	libvchan_t *v = libvchan_client_init(0, port);
	if (!v)
		die("client_init");
	static uint8_t buf[65536];
	const size_t sizes[2] = { 4096, 65536 };
	for (int k = 0; k < 2; k++) {
		uint64_t got = 0, t0 = 0;
		while (got < bytes[k]) {
			if (libvchan_recv(v, buf, sizes[k]) != (int)sizes[k])
				die("recv");
			if (!t0)
				t0 = vsnd_now_ns();
			got += sizes[k];
		}
		uint64_t t1 = vsnd_now_ns();
		/* the first message started the clock: do not count it */
		sh->tput[k] = (double)(got - sizes[k]) / 1e6 / ((double)(t1 - t0) / 1e9);
		if (libvchan_send(v, "done", 4) != 4)
			die("send done");
	}
	/* latency: sleep in poll like an event loop would */
	libvchan_set_blocking(v, false);
	struct pollfd p = { .fd = libvchan_fd_for_select(v), .events = POLLIN };
	for (int i = 0; i < lat_n;) {
		uint32_t idx;
		int r = libvchan_recv(v, &idx, 4);
		if (r < 0)
			die("recv idx");
		if (r == 0) {
			if (poll(&p, 1, -1) < 0)
				die("poll");
			libvchan_wait(v);
			continue;
		}
		sh->t_recv[idx % LAT_N] = vsnd_now_ns();
		if (libvchan_send(v, &idx, 4) != 4)
			die("ack");
		i++;
	}
	libvchan_close(v);
	_exit(0);
}

/* The floor: the same ping-pong over a bare socketpair. */
static void raw_latency(struct shared *sh, int n, double *p50, double *p99)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		die("socketpair");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid) {
		close(sv[0]);
		struct pollfd p = { .fd = sv[1], .events = POLLIN };
		for (int i = 0; i < n; i++) {
			uint32_t idx;
			if (poll(&p, 1, -1) < 0 || read(sv[1], &idx, 4) != 4)
				_exit(1);
			sh->t_recv[idx % LAT_N] = vsnd_now_ns();
			if (write(sv[1], &idx, 4) != 4)
				_exit(1);
		}
		_exit(0);
	}
	close(sv[1]);
	for (int i = 0; i < n; i++) {
		uint32_t idx = (uint32_t)i, back;
		sh->t_send[i] = vsnd_now_ns();
		if (write(sv[0], &idx, 4) != 4 || read(sv[0], &back, 4) != 4)
			die("raw ping");
	}
	close(sv[0]);
	waitpid(pid, NULL, 0);
	uint64_t *lat = malloc(sizeof(uint64_t) * (size_t)n);
	if (!lat)
		die("malloc");
	for (int i = 0; i < n; i++)
		lat[i] = sh->t_recv[i] - sh->t_send[i];
	qsort(lat, (size_t)n, sizeof(*lat), cmp_u64);
	*p50 = (double)lat[n / 2] / 1e3;
	*p99 = (double)lat[(size_t)n * 99 / 100] / 1e3;
	memcpy(last_lat[1], lat, sizeof(uint64_t) * (size_t)n);
	free(lat);
}

static struct run one_run(struct shared *sh, int port, bool quick)
{
	uint64_t bytes[2] = { quick ? 64u << 20 : 1024u << 20, quick ? 256u << 20 : 4096ull << 20 };
	int lat_n = quick ? 2000 : LAT_N;
	set_domain(0);
	libvchan_t *v = libvchan_server_init(1, port, RING, RING);
	if (!v)
		die("server_init");
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (!pid)
		client(sh, port, bytes, lat_n);
	static uint8_t buf[65536];
	memset(buf, 0x5a, sizeof(buf));
	const size_t sizes[2] = { 4096, 65536 };
	char ack[4];
	for (int k = 0; k < 2; k++) {
		for (uint64_t sent = 0; sent < bytes[k]; sent += sizes[k])
			if (libvchan_send(v, buf, sizes[k]) != (int)sizes[k])
				die("send");
		if (libvchan_recv(v, ack, 4) != 4)
			die("recv done");
	}
	for (int i = 0; i < lat_n; i++) {
		uint32_t idx = (uint32_t)i, back;
		sh->t_send[i] = vsnd_now_ns();
		if (libvchan_send(v, &idx, 4) != 4)
			die("send idx");
		if (libvchan_recv(v, &back, 4) != 4 || back != idx)
			die("recv ack");
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st))
		die("client failed");
	libvchan_close(v);

	uint64_t *lat = malloc(sizeof(uint64_t) * (size_t)lat_n);
	if (!lat)
		die("malloc");
	for (int i = 0; i < lat_n; i++)
		lat[i] = sh->t_recv[i] - sh->t_send[i];
	qsort(lat, (size_t)lat_n, sizeof(*lat), cmp_u64);
	struct run r = {
		.tput_4k = sh->tput[0],
		.tput_64k = sh->tput[1],
		.p50 = (double)lat[lat_n / 2] / 1e3,
		.p99 = (double)lat[(size_t)lat_n * 99 / 100] / 1e3,
		.max = (double)lat[lat_n - 1] / 1e3,
	};
	memcpy(last_lat[0], lat, sizeof(uint64_t) * (size_t)lat_n);
	last_n = lat_n;
	free(lat);
	raw_latency(sh, lat_n, &r.raw_p50, &r.raw_p99);
	return r;
}

/* Latency CDF of the last run, libvchan vs bare socket, as a PNG next to
 * the JSON (gnuplot from Debian; skipped if it is missing). */
static void plot(const char *json)
{
	char dat[600], png[620];
	snprintf(dat, sizeof(dat), "%s", json);
	char *dot = strrchr(dat, '.');
	if (dot)
		*dot = 0;
	snprintf(png, sizeof(png), "%s.png", dat);
	strncat(dat, "-latency.dat", sizeof(dat) - strlen(dat) - 1);
	FILE *f = fopen(dat, "w");
	if (!f)
		return;
	for (int i = 0; i < last_n; i++)
		fprintf(f, "%.3f %.3f %.5f\n", (double)last_lat[0][i] / 1e3,
			(double)last_lat[1][i] / 1e3, (double)(i + 1) / last_n);
	fclose(f);
	FILE *g = popen("gnuplot 2>/dev/null", "w");
	if (!g)
		return;
	fprintf(g, "set terminal png size 800,500\nset output '%s'\n"
		   "set title 'vchan socket: one-way 4-byte notify latency (last run)'\n"
		   "set xlabel 'latency (us)'\nset ylabel 'fraction of messages'\n"
		   "set logscale x\nset key bottom right\nset grid\n"
		   "plot '%s' using 1:3 with lines title 'libvchan (poll + wait + recv)', "
		   "'%s' using 2:3 with lines title 'bare socketpair (poll + read)'\n",
		png, dat, dat);
	if (pclose(g) == 0) {
		printf("wrote %s\n", png);
		unlink(dat);
	}
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void cpu_model(char *out, size_t len)
{
	snprintf(out, len, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) == 0) {
			char *c = strchr(line, ':');
			if (c) {
				c += 2;
				c[strcspn(c, "\n")] = 0;
				/* JSON-safe: drop quotes and backslashes */
				for (char *p = c; *p; p++)
					if (*p == '"' || *p == '\\')
						*p = ' ';
				snprintf(out, len, "%s", c);
			}
			break;
		}
	}
	fclose(f);
}

static void mkparent(const char *path)
{
	char d[512];
	snprintf(d, sizeof(d), "%s", path);
	for (char *p = d + 1; *p; p++) {
		if (*p == '/') {
			*p = 0;
			mkdir(d, 0755);
			*p = '/';
		}
	}
}

int main(int argc, char **argv)
{
	int runs = 3;
	bool quick = false;
	const char *json = "bench/results/vchan.json";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
			runs = atoi(argv[++i]);
		else if (strcmp(argv[i], "--quick") == 0)
			quick = true;
		else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc)
			json = argv[++i];
		else {
			fprintf(stderr, "usage: vchan [--runs N] [--quick] [--json PATH]\n");
			return 2;
		}
	}
	if (runs < 1 || runs > 100)
		runs = 3;
	char dir[] = "/tmp/vsnd-vchan-bench.XXXXXX";
	if (!mkdtemp(dir))
		die("mkdtemp");
	setenv("VCHAN_SOCKET_DIR", dir, 1);
	setenv("VSND_VCHAN", "socket", 1);
	signal(SIGPIPE, SIG_IGN);
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");

	struct run r[100];
	printf("%-4s %11s %11s %9s %9s %9s %13s %13s\n", "run", "4KiB MB/s", "64KiB MB/s",
	       "p50 us", "p99 us", "max us", "bare p50 us", "bare p99 us");
	for (int i = 0; i < runs; i++) {
		r[i] = one_run(sh, 4713 + i, quick);
		printf("%-4d %11.0f %11.0f %9.1f %9.1f %9.1f %13.1f %13.1f\n", i + 1, r[i].tput_4k,
		       r[i].tput_64k, r[i].p50, r[i].p99, r[i].max, r[i].raw_p50, r[i].raw_p99);
	}
	rmdir(dir);
	double col[NCOL][100];
	for (int i = 0; i < runs; i++) {
		col[0][i] = r[i].tput_4k;
		col[1][i] = r[i].tput_64k;
		col[2][i] = r[i].p50;
		col[3][i] = r[i].p99;
		col[4][i] = r[i].max;
		col[5][i] = r[i].raw_p50;
		col[6][i] = r[i].raw_p99;
	}
	double lo[NCOL], hi[NCOL], med[NCOL];
	for (int c = 0; c < NCOL; c++) {
		lo[c] = hi[c] = col[c][0];
		for (int i = 1; i < runs; i++) {
			if (col[c][i] < lo[c])
				lo[c] = col[c][i];
			if (col[c][i] > hi[c])
				hi[c] = col[c][i];
		}
		med[c] = median(col[c], runs);
	}
	printf("%-4s %11.0f %11.0f %9.1f %9.1f %9.1f %13.1f %13.1f\n", "med", med[0], med[1],
	       med[2], med[3], med[4], med[5], med[6]);
	printf("targets: p99 <= 20 us: %s; 64 KiB >= 1000 MB/s: %s\n",
	       med[3] <= 20 ? "met" : "MISSED", med[1] >= 1000 ? "met" : "MISSED");

	mkparent(json);
	FILE *f = fopen(json, "w");
	if (!f)
		die(json);
	struct utsname u;
	uname(&u);
	char cpu[200];
	cpu_model(cpu, sizeof(cpu));
	static const char *names[NCOL] = { "tput_4k_MBps", "tput_64k_MBps", "lat4_p50_us",
					   "lat4_p99_us", "lat4_max_us", "bare_socket_lat4_p50_us",
					   "bare_socket_lat4_p99_us" };
	fprintf(f, "{\n  \"bench\": \"vchan\",\n");
	fprintf(f, "  \"machine\": {\"uname\": \"%s %s %s\", \"cpu\": \"%s\", \"cpus\": %ld},\n",
		u.sysname, u.release, u.machine, cpu, sysconf(_SC_NPROCESSORS_ONLN));
	fprintf(f, "  \"config\": {\"transport\": \"socket\", \"ring_bytes\": %u, \"quick\": %s, "
		   "\"latency_samples\": %d},\n", RING, quick ? "true" : "false",
		quick ? 2000 : LAT_N);
	fprintf(f, "  \"runs\": [\n");
	for (int i = 0; i < runs; i++) {
		fprintf(f, "    {");
		/* col[] was sorted by median(): print from r[] */
		const double v[NCOL] = { r[i].tput_4k, r[i].tput_64k, r[i].p50, r[i].p99,
					 r[i].max, r[i].raw_p50, r[i].raw_p99 };
		for (int c = 0; c < NCOL; c++)
			fprintf(f, "%s\"%s\": %.2f", c ? ", " : "", names[c], v[c]);
		fprintf(f, "}%s\n", i + 1 < runs ? "," : "");
	}
	fprintf(f, "  ],\n  \"median\": {");
	for (int c = 0; c < NCOL; c++)
		fprintf(f, "%s\"%s\": %.2f", c ? ", " : "", names[c], med[c]);
	fprintf(f, "},\n  \"range\": {");
	for (int c = 0; c < NCOL; c++)
		fprintf(f, "%s\"%s\": [%.2f, %.2f]", c ? ", " : "", names[c], lo[c], hi[c]);
	fprintf(f, "}\n}\n");
	fclose(f);
	printf("wrote %s\n", json);
	plot(json);
	return 0;
}
