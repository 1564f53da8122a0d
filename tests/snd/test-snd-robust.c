/* SPDX-License-Identifier: MIT */
/*
 * A hostile frontend against the real vsnd-vhost-snd program (started here,
 * null backend, paced like a card): garbage control requests, out-of-range
 * stream ids, wrong sizes, I/O on streams that are not prepared, I/O racing
 * STOP and RELEASE, a disconnect with buffers in flight. Every request gets a
 * status, the daemon never dies, and a fresh connection is served normally.
 *
 * Usage: test-snd-robust PATH-TO-vsnd-vhost-snd
 */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/virtio_snd.h>

#include "../unit/check.h"
#include "vsnd/vhost-frontend.h"

static char dir[] = "/tmp/vsnd-test-robust.XXXXXX";
static char sock[128];
static pid_t daemon_pid;
static uint64_t req_gpa, resp_gpa, io_gpa[16], ev_gpa;

static struct vhost_frontend *connect_fe(void)
{
	struct vhost_frontend_config c = { .device_type = 25, .socket_path = sock,
					   .num_queues = VIRTIO_SND_VQ_MAX, .connect_timeout_ms = 3000 };
	struct vhost_frontend *fe = vhost_frontend_new(&c);
	CHECK(fe != NULL);
	CHECK_EQ(vhost_frontend_alloc(fe, 4096, 64, &req_gpa), 0);
	CHECK_EQ(vhost_frontend_alloc(fe, 65536, 64, &resp_gpa), 0);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(vhost_frontend_alloc(fe, 8192, 64, &io_gpa[i]), 0);
	CHECK_EQ(vhost_frontend_alloc(fe, 8 * 64, 64, &ev_gpa), 0);
	return fe;
}

/* Give the device @n event buffers, as the guest driver does. */
static void post_events(struct vhost_frontend *fe, int n)
{
	for (int i = 0; i < n; i++) {
		struct vhost_frontend_buf b = { ev_gpa + (uint64_t)i * 64, 64 };
		CHECK(vhost_frontend_add(fe, VIRTIO_SND_VQ_EVENT, &b, 0, 1, fe) >= 0);
	}
	CHECK_EQ(vhost_frontend_kick(fe, VIRTIO_SND_VQ_EVENT), 0);
}

/* Wait for one used element of @q; returns the length written, -1 on timeout. */
static long wait_used(struct vhost_frontend *fe, unsigned q, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 10) {
		uint32_t len;
		void *token;
		if (vhost_frontend_get_used(fe, q, &len, &token) == 1)
			return len;
		struct pollfd pfd = { .fd = vhost_frontend_call_fd(fe, q), .events = POLLIN };
		if (poll(&pfd, 1, 10) > 0) {
			uint64_t v;
			CHECK_EQ(read(pfd.fd, &v, 8), 8);
		}
	}
	return -1;
}

/* One control request of @len bytes (may be garbage); returns the status, or -1 if none. */
static long ctl(struct vhost_frontend *fe, const void *req, uint32_t len, uint32_t resp_len)
{
	memcpy(vhost_frontend_ptr(fe, req_gpa, len ? len : 1), req, len);
	/* A response written anywhere else (another queue's buffer) leaves this, not a status. */
	memset(vhost_frontend_ptr(fe, resp_gpa, resp_len), 0xff, resp_len);
	struct vhost_frontend_buf b[2] = { { req_gpa, len }, { resp_gpa, resp_len } };
	CHECK(vhost_frontend_add(fe, VIRTIO_SND_VQ_CONTROL, b, len ? 1 : 0, 1, fe) >= 0);
	CHECK_EQ(vhost_frontend_kick(fe, VIRTIO_SND_VQ_CONTROL), 0);
	long n = wait_used(fe, VIRTIO_SND_VQ_CONTROL, 2000);
	if (n < 4)
		return -1;
	uint32_t st;
	memcpy(&st, vhost_frontend_ptr(fe, resp_gpa, 4), 4);
	return le32toh(st);
}

static long pcm(struct vhost_frontend *fe, uint32_t code, uint32_t id)
{
	struct virtio_snd_pcm_hdr h = { .hdr.code = htole32(code), .stream_id = htole32(id) };
	return ctl(fe, &h, sizeof(h), 64);
}

static long set_params(struct vhost_frontend *fe, uint32_t id)
{
	struct virtio_snd_pcm_set_params p = {
		.hdr.hdr.code = htole32(VIRTIO_SND_R_PCM_SET_PARAMS), .hdr.stream_id = htole32(id),
		.buffer_bytes = htole32(4 * 1920), .period_bytes = htole32(1920), .channels = 2,
		.format = VIRTIO_SND_PCM_FMT_S16, .rate = VIRTIO_SND_PCM_RATE_48000,
	};
	return ctl(fe, &p, sizeof(p), 64);
}

/* Queue one I/O buffer on @q: [xfer stream_id][data...] + [status]; returns nothing. */
static void io(struct vhost_frontend *fe, unsigned q, int slot, uint32_t stream, uint32_t data_len)
{
	uint64_t base = io_gpa[slot];
	struct virtio_snd_pcm_xfer *x = vhost_frontend_ptr(fe, base, 4);
	x->stream_id = htole32(stream);
	struct vhost_frontend_buf b[3] = { { base, 4 }, { base + 64, data_len }, { base + 64 + 4096, 8 } };
	if (q == VIRTIO_SND_VQ_TX)
		CHECK(vhost_frontend_add(fe, q, b, 2, 1, NULL) >= 0);
	else
		CHECK(vhost_frontend_add(fe, q, b, 1, 2, NULL) >= 0);
	CHECK_EQ(vhost_frontend_kick(fe, q), 0);
}

static uint32_t io_status(struct vhost_frontend *fe, int slot)
{
	uint32_t st;
	memcpy(&st, vhost_frontend_ptr(fe, io_gpa[slot] + 64 + 4096, 4), 4);
	return le32toh(st);
}

static void alive(void)
{
	CHECK_EQ(waitpid(daemon_pid, NULL, WNOHANG), 0);
}

static void test_garbage_control(void)
{
	struct vhost_frontend *fe = connect_fe();
	uint8_t junk[600];
	srandom(7);
	/* Random requests of every size: each gets a status, never silence. */
	for (int i = 0; i < 300; i++) {
		uint32_t len = (uint32_t)(random() % sizeof(junk));
		for (uint32_t k = 0; k < len; k++)
			junk[k] = (uint8_t)random();
		if (i % 3 == 0 && len >= 4) /* a valid code with a garbage body */
			memcpy(junk, &(uint32_t){ htole32(0x100 + (uint32_t)(random() % 6)) }, 4);
		long st = ctl(fe, junk, len, 4 + (uint32_t)(random() % 512));
		CHECK(st == VIRTIO_SND_S_OK || st == VIRTIO_SND_S_BAD_MSG || st == VIRTIO_SND_S_NOT_SUPP ||
		      st == VIRTIO_SND_S_IO_ERR);
	}
	/* Out-of-range stream ids and sizes. */
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_PREPARE, 1000), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_START, 0xffffffffu), VIRTIO_SND_S_BAD_MSG);
	struct virtio_snd_query_info q = { .hdr.code = htole32(VIRTIO_SND_R_PCM_INFO), .start_id = htole32(1),
					   .count = htole32(0xffffffffu), .size = htole32(32) };
	CHECK_EQ(ctl(fe, &q, sizeof(q), 4096), VIRTIO_SND_S_BAD_MSG);
	alive();
	vhost_frontend_destroy(fe);
}

static void test_io_on_wrong_streams(void)
{
	struct vhost_frontend *fe = connect_fe();
	/* TX before any SET_PARAMS, on an input stream, on a missing stream, torn frames. */
	io(fe, VIRTIO_SND_VQ_TX, 0, 0, 1920);
	CHECK(wait_used(fe, VIRTIO_SND_VQ_TX, 2000) == 8);
	CHECK_EQ(io_status(fe, 0), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(set_params(fe, 0), VIRTIO_SND_S_OK);
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	io(fe, VIRTIO_SND_VQ_TX, 1, 1, 1920); /* stream 1 is the input */
	CHECK(wait_used(fe, VIRTIO_SND_VQ_TX, 2000) == 8);
	CHECK_EQ(io_status(fe, 1), VIRTIO_SND_S_BAD_MSG);
	io(fe, VIRTIO_SND_VQ_TX, 2, 77, 1920);
	CHECK(wait_used(fe, VIRTIO_SND_VQ_TX, 2000) == 8);
	CHECK_EQ(io_status(fe, 2), VIRTIO_SND_S_BAD_MSG);
	io(fe, VIRTIO_SND_VQ_TX, 3, 0, 1921);
	CHECK(wait_used(fe, VIRTIO_SND_VQ_TX, 2000) == 8);
	CHECK_EQ(io_status(fe, 3), VIRTIO_SND_S_BAD_MSG);
	/* RX for the output stream. */
	io(fe, VIRTIO_SND_VQ_RX, 4, 0, 1920);
	CHECK(wait_used(fe, VIRTIO_SND_VQ_RX, 2000) >= 8);
	CHECK_EQ(io_status(fe, 4), VIRTIO_SND_S_BAD_MSG);
	/* More than the declared buffer: refused with IO_ERR, not a stall. */
	for (int i = 0; i < 5; i++)
		io(fe, VIRTIO_SND_VQ_TX, 5 + i, 0, 1920);
	long n = wait_used(fe, VIRTIO_SND_VQ_TX, 2000);
	CHECK(n == 8);
	CHECK_EQ(io_status(fe, 9), VIRTIO_SND_S_IO_ERR);
	/* RELEASE returns the four queued (pre-buffered, never started) buffers first. */
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < 4; i++)
		CHECK(wait_used(fe, VIRTIO_SND_VQ_TX, 2000) == 8);
	/* I/O after RELEASE. */
	io(fe, VIRTIO_SND_VQ_TX, 10, 0, 1920);
	CHECK(wait_used(fe, VIRTIO_SND_VQ_TX, 2000) == 8);
	CHECK_EQ(io_status(fe, 10), VIRTIO_SND_S_BAD_MSG);
	alive();
	vhost_frontend_destroy(fe);
}

static void test_races_and_disconnect(void)
{
	struct vhost_frontend *fe = connect_fe();
	/*
	 * With event buffers posted, a RELEASE that completes played buffers
	 * sends PERIOD_ELAPSED from inside the control request: its answer
	 * must still land in its own response buffer, with its own head.
	 */
	post_events(fe, 8);
	CHECK_EQ(set_params(fe, 0), VIRTIO_SND_S_OK);
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < 4; i++)
		io(fe, VIRTIO_SND_VQ_TX, i, 0, 1920);
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	/* STOP while buffers play, START again, RELEASE with buffers in flight. */
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	int returned = 0;
	while (wait_used(fe, VIRTIO_SND_VQ_TX, 500) >= 0)
		returned++;
	CHECK_EQ(returned, 4); /* every buffer came back, played or not */
	/* Prepare and start again, then vanish with buffers in flight. */
	CHECK_EQ(set_params(fe, 0), VIRTIO_SND_S_OK);
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < 4; i++)
		io(fe, VIRTIO_SND_VQ_TX, i, 0, 1920);
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	vhost_frontend_destroy(fe);
	alive();

	/* A fresh connection is served normally: one period plays and completes OK. */
	fe = connect_fe();
	CHECK_EQ(set_params(fe, 0), VIRTIO_SND_S_OK);
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < 4; i++)
		io(fe, VIRTIO_SND_VQ_TX, i, 0, 1920);
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	for (int i = 0; i < 4; i++) {
		CHECK(wait_used(fe, VIRTIO_SND_VQ_TX, 2000) == 8);
	}
	for (int i = 0; i < 4; i++)
		CHECK_EQ(io_status(fe, i), VIRTIO_SND_S_OK);
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	alive();
	vhost_frontend_destroy(fe);
}

/*
 * START, STOP and RELEASE in one kick, against a host that consumes at once
 * (--no-pacing): RELEASE then finds buffers played but not yet completed,
 * completes them and sends PERIOD_ELAPSED from inside the control request.
 * Each request must be answered with its own head, in its own response.
 */
static void test_event_inside_control(void)
{
	struct vhost_frontend *fe = connect_fe();
	post_events(fe, 8);
	for (int round = 0; round < 20; round++) {
		CHECK_EQ(set_params(fe, 0), VIRTIO_SND_S_OK);
		CHECK_EQ(pcm(fe, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
		for (int i = 0; i < 4; i++)
			io(fe, VIRTIO_SND_VQ_TX, i, 0, 1920);
		static const uint32_t codes[3] = { VIRTIO_SND_R_PCM_START, VIRTIO_SND_R_PCM_STOP,
						   VIRTIO_SND_R_PCM_RELEASE };
		void *tokens[3];
		for (int k = 0; k < 3; k++) {
			struct virtio_snd_pcm_hdr h = { .hdr.code = htole32(codes[k]), .stream_id = 0 };
			memcpy(vhost_frontend_ptr(fe, req_gpa + 64 * k, sizeof(h)), &h, sizeof(h));
			memset(vhost_frontend_ptr(fe, resp_gpa + 64 * k, 64), 0xff, 64);
			struct vhost_frontend_buf b[2] = { { req_gpa + 64 * k, sizeof(h) }, { resp_gpa + 64 * k, 64 } };
			tokens[k] = (uint8_t *)fe + k;
			CHECK(vhost_frontend_add(fe, VIRTIO_SND_VQ_CONTROL, b, 1, 1, tokens[k]) >= 0);
		}
		CHECK_EQ(vhost_frontend_kick(fe, VIRTIO_SND_VQ_CONTROL), 0);
		for (int k = 0; k < 3; k++) {
			uint32_t len = 0;
			void *token = NULL;
			int r = 0;
			for (int waited = 0; waited < 2000 && r == 0; waited += 5) {
				r = vhost_frontend_get_used(fe, VIRTIO_SND_VQ_CONTROL, &len, &token);
				if (r == 0)
					usleep(5000);
			}
			CHECK_EQ(r, 1); /* -EIO: the device answered with a head we never gave it */
			CHECK(token == tokens[k]);
			CHECK_EQ(len, sizeof(struct virtio_snd_hdr));
			uint32_t st;
			memcpy(&st, vhost_frontend_ptr(fe, resp_gpa + 64 * k, 4), 4);
			CHECK_EQ(le32toh(st), VIRTIO_SND_S_OK);
		}
		int returned = 0;
		while (wait_used(fe, VIRTIO_SND_VQ_TX, 200) >= 0)
			returned++;
		CHECK_EQ(returned, 4);
		/* Give back the event buffers the device used. */
		uint32_t len;
		void *token;
		int used = 0;
		while (vhost_frontend_get_used(fe, VIRTIO_SND_VQ_EVENT, &len, &token) == 1)
			used++;
		if (used)
			post_events(fe, used);
	}
	alive();
	vhost_frontend_destroy(fe);
}

/* A failed CHECK exits: the daemon must not outlive us holding meson's pipes (a 120 s hang). */
static void kill_daemon_at_exit(void)
{
	if (daemon_pid > 0 && waitpid(daemon_pid, NULL, WNOHANG) == 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
	}
}

static pid_t start_daemon(const char *argv0, bool paced)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl(argv0, argv0, "--socket-path", sock, "--backend", "null", paced ? NULL : "--no-pacing",
		      (char *)NULL);
		_exit(127);
	}
	return pid;
}

static void stop_daemon(void)
{
	/* And it exits 0 promptly on SIGTERM. */
	kill(daemon_pid, SIGTERM);
	int st;
	CHECK_EQ(waitpid(daemon_pid, &st, 0), daemon_pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	daemon_pid = 0;
	unlink(sock);
}

int main(int argc, char **argv)
{
	CHECK(argc == 2);
	CHECK(mkdtemp(dir) != NULL);
	snprintf(sock, sizeof(sock), "%s/snd.sock", dir);
	atexit(kill_daemon_at_exit);
	daemon_pid = start_daemon(argv[1], true);
	RUN(test_garbage_control);
	RUN(test_io_on_wrong_streams);
	RUN(test_races_and_disconnect);
	stop_daemon();
	daemon_pid = start_daemon(argv[1], false);
	RUN(test_event_inside_control);
	stop_daemon();
	rmdir(dir);
	return 0;
}
