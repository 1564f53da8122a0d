/* SPDX-License-Identifier: MIT */
/*
 * libvsnd-vhost (frontend) against the backend library with the echo test
 * device, over a real socket path. The backend runs its own poll loop in a
 * thread, as a separate backend process would; the test waits for results
 * on eventfds (call fds), never by sleeping.
 */
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>

#include <linux/virtio_config.h>

#include "vsnd/log.h"
#include "vsnd/vhost-backend.h"
#include "vsnd/vhost-frontend.h"

#include "echo-dev.h"
#include "tvhost.h"

struct server {
	char dir[64];
	char path[128];
	struct echo_dev dev;
	struct vhost_backend *be;
	int stop_fd;
	pthread_t thread;
};

static void *server_main(void *arg)
{
	struct server *s = arg;
	struct pollfd pfd[2 + ECHO_QUEUES + 1];

	for (;;) {
		int n = vhost_backend_fill_pollfds(s->be, pfd, 2 + ECHO_QUEUES);
		CHECK(n >= 0);
		pfd[n] = (struct pollfd){ .fd = s->stop_fd, .events = POLLIN };
		CHECK(poll(pfd, (nfds_t)n + 1, -1) > 0);
		if (pfd[n].revents)
			return NULL;
		vhost_backend_dispatch_pollfds(s->be, pfd, (unsigned int)n);
	}
}

/* Start a backend; @same_path reuses the previous socket path (a restarted backend). */
static void server_start_at(struct server *s, bool same_path)
{
	struct vhost_backend_config cfg = { .ops = &echo_dev_ops, .data = &s->dev, .num_queues = ECHO_QUEUES };

	if (!same_path) {
		strcpy(s->dir, "/tmp/vsnd-vhost-fe-XXXXXX");
		CHECK(mkdtemp(s->dir));
		snprintf(s->path, sizeof(s->path), "%s/sock", s->dir);
	}
	echo_dev_init(&s->dev);
	s->be = vhost_backend_new(&cfg);
	CHECK(s->be);
	CHECK_EQ(vhost_backend_listen(s->be, s->path), 0);
	s->stop_fd = eventfd(0, EFD_CLOEXEC);
	CHECK_EQ(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_start(struct server *s)
{
	server_start_at(s, false);
}

/* Stop the backend; the socket path stays (unlinked) for a restart when @keep_dir. */
static void server_stop_at(struct server *s, bool keep_dir)
{
	uint64_t one = 1;
	CHECK_EQ(write(s->stop_fd, &one, 8), 8);
	CHECK_EQ(pthread_join(s->thread, NULL), 0);
	close(s->stop_fd);
	vhost_backend_destroy(s->be);
	unlink(s->path);
	if (!keep_dir)
		rmdir(s->dir);
}

static void server_stop(struct server *s)
{
	server_stop_at(s, false);
}

static void wait_call(struct vhost_frontend *fe, unsigned int q)
{
	struct pollfd p = { .fd = vhost_frontend_call_fd(fe, q), .events = POLLIN };
	uint64_t v;
	/* The 10 s bound only turns a hang into a failure. */
	CHECK_EQ(poll(&p, 1, 10000), 1);
	CHECK_EQ(read(p.fd, &v, 8), 8);
}

static void test_echo_all_queues(void)
{
	struct server s;
	uint16_t sizes[ECHO_QUEUES] = { 16, 64, 256, 8 };
	int before = count_fds();

	server_start(&s);
	struct vhost_frontend_config cfg = {
		.device_type = 0,
		.socket_path = s.path,
		.name = "echo",
		.num_queues = 0, /* ask the backend */
		.queue_sizes = NULL,
		.features = 1ull << ECHO_F_TEST,
		.connect_timeout_ms = 1000,
	};
	struct vhost_frontend *fe = vhost_frontend_new(&cfg);
	CHECK(fe);
	CHECK(vhost_frontend_connected(fe));
	CHECK_EQ(vhost_frontend_num_queues(fe), ECHO_QUEUES);
	uint64_t f = vhost_frontend_features(fe);
	CHECK(f & (1ull << ECHO_F_TEST));
	CHECK(f & (1ull << VIRTIO_F_VERSION_1));
	CHECK(f & (1ull << VIRTIO_RING_F_EVENT_IDX));
	CHECK(!(f & (1ull << VIRTIO_F_NOTIFY_ON_EMPTY))); /* offered, not asked for */
	CHECK_EQ(vhost_frontend_protocol_features(fe), (1ull << VHOST_USER_PROTOCOL_F_MQ) |
							  (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |
							  (1ull << VHOST_USER_PROTOCOL_F_CONFIG));
	vhost_frontend_destroy(fe);

	cfg.num_queues = ECHO_QUEUES;
	cfg.queue_sizes = sizes;
	fe = vhost_frontend_new(&cfg);
	CHECK(fe);
	for (unsigned int q = 0; q < ECHO_QUEUES; q++) {
		/* Several requests in flight per queue, up to the queue's capacity. */
		unsigned int inflight = sizes[q] / 2;
		uint64_t in_gpa[256];
		for (unsigned int k = 0; k < inflight; k++) {
			uint64_t out;
			CHECK_EQ(vhost_frontend_alloc(fe, 16, 8, &out), 0);
			CHECK_EQ(vhost_frontend_alloc(fe, 16, 8, &in_gpa[k]), 0);
			snprintf(vhost_frontend_ptr(fe, out, 16), 16, "q%u-r%03u", q, k);
			struct vhost_frontend_buf b[2] = { { out, 8 }, { in_gpa[k], 16 } };
			CHECK(vhost_frontend_add(fe, q, b, 1, 1, (void *)(uintptr_t)(k + 1)) >= 0);
		}
		struct vhost_frontend_buf extra[2] = { { in_gpa[0], 1 }, { in_gpa[0], 1 } };
		if (inflight * 2 == sizes[q])
			CHECK_EQ(vhost_frontend_add(fe, q, extra, 1, 1, NULL), -ENOSPC);
		CHECK_EQ(vhost_frontend_kick(fe, q), 0);
		unsigned int got = 0;
		while (got < inflight) {
			uint32_t len;
			void *tok;
			int r = vhost_frontend_get_used(fe, q, &len, &tok);
			CHECK(r >= 0);
			if (r == 0) {
				wait_call(fe, q);
				continue;
			}
			unsigned int k = (unsigned int)(uintptr_t)tok - 1;
			char want[16];
			snprintf(want, sizeof(want), "q%u-r%03u", q, k);
			CHECK_EQ(len, 8);
			CHECK(memcmp(vhost_frontend_ptr(fe, in_gpa[k], 8), want, 8) == 0);
			got++;
		}
		CHECK_EQ(vhost_frontend_get_used(fe, q, NULL, NULL), 0);
		/* Descriptors were recycled: the queue takes a full load again. */
		if (inflight * 2 == sizes[q])
			CHECK(vhost_frontend_add(fe, q, extra, 1, 1, NULL) >= 0);
	}
	/* Stopping a queue reports how far the backend got. */
	CHECK_EQ(vhost_frontend_stop_queue(fe, 0), 8); /* the extra chain was never kicked */
	CHECK_EQ(vhost_frontend_stop_queue(fe, 1), 32);
	CHECK_EQ(vhost_frontend_add(fe, 9, NULL, 0, 0, NULL), -EINVAL);
	vhost_frontend_destroy(fe);
	server_stop(&s);
	CHECK_EQ(count_fds(), before);
}

static void test_config_cache(void)
{
	struct server s;
	uint8_t buf[32];

	server_start(&s);
	struct vhost_frontend_config cfg = { .socket_path = s.path, .num_queues = 1, .connect_timeout_ms = 1000 };
	struct vhost_frontend *fe = vhost_frontend_new(&cfg);
	CHECK(fe);
	CHECK_EQ(vhost_frontend_config_cached(fe), 0);
	/* The review's example: 0..4 miss, 7..9 miss (fetches 4..9), 4..8 hit. */
	CHECK_EQ(vhost_frontend_read_config(fe, 0, buf, 4), 0);
	CHECK_EQ(buf[3], 0x13);
	CHECK_EQ(vhost_frontend_config_cached(fe), 4);
	CHECK_EQ(vhost_frontend_read_config(fe, 7, buf, 2), 0);
	CHECK_EQ(buf[0], 0x17);
	CHECK_EQ(vhost_frontend_config_cached(fe), 9);
	CHECK_EQ(vhost_frontend_read_config(fe, 4, buf, 4), 0);
	CHECK_EQ(buf[0], 0x14);
	CHECK_EQ(vhost_frontend_config_cached(fe), 9);
	/* Every offset/size inside the device's 16 bytes; past it is refused. */
	for (uint32_t off = 0; off <= ECHO_CONFIG_SIZE; off++)
		for (uint32_t len = 0; off + len <= ECHO_CONFIG_SIZE; len++) {
			memset(buf, 0, sizeof(buf));
			CHECK_EQ(vhost_frontend_read_config(fe, off, buf, len), 0);
			for (uint32_t i = 0; i < len; i++)
				CHECK_EQ(buf[i], 0x10 + off + i);
		}
	CHECK_EQ(vhost_frontend_config_cached(fe), ECHO_CONFIG_SIZE);
	CHECK_EQ(vhost_frontend_read_config(fe, 12, buf, 8), -EINVAL);
	CHECK_EQ(vhost_frontend_config_cached(fe), ECHO_CONFIG_SIZE);
	/* A write invalidates the cache; the next read sees the new bytes. */
	CHECK_EQ(vhost_frontend_write_config(fe, 12, "\x01\x02", 2), 0);
	CHECK_EQ(vhost_frontend_config_cached(fe), 0);
	CHECK_EQ(vhost_frontend_read_config(fe, 12, buf, 4), 0);
	CHECK_EQ(buf[0], 1);
	CHECK_EQ(buf[1], 2);
	CHECK_EQ(buf[2], 0x1e);
	/* A refused write is reported (REPLY_ACK). */
	CHECK_EQ(vhost_frontend_write_config(fe, 0, "\x01", 1), -EIO);
	CHECK(vhost_frontend_connected(fe));
	vhost_frontend_invalidate_config(fe);
	CHECK_EQ(vhost_frontend_config_cached(fe), 0);
	vhost_frontend_destroy(fe);
	server_stop(&s);
}

static void test_no_backend_and_death(void)
{
	struct server s;
	int before = count_fds();
	struct vhost_frontend_config cfg = { .socket_path = "/tmp/vsnd-no-such-dir/sock", .num_queues = 1 };

	CHECK(vhost_frontend_new(&cfg) == NULL);
	CHECK_EQ(errno, ENOENT);
	cfg.connect_timeout_ms = 30;
	CHECK(vhost_frontend_new(&cfg) == NULL);
	CHECK_EQ(errno, ETIMEDOUT);
	CHECK(vhost_frontend_new(NULL) == NULL);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(count_fds(), before);

	/* Backend dies: the frontend notices on its next request. */
	server_start(&s);
	cfg.socket_path = s.path;
	struct vhost_frontend *fe = vhost_frontend_new(&cfg);
	CHECK(fe);
	server_stop(&s);
	uint8_t b[4];
	int r = vhost_frontend_read_config(fe, 0, b, 4);
	CHECK(r == -ECONNRESET || r == -EPIPE || r == -EIO);
	CHECK(!vhost_frontend_connected(fe));
	CHECK_EQ(vhost_frontend_read_config(fe, 0, b, 4), -ENOTCONN);
	vhost_frontend_destroy(fe);
	CHECK_EQ(count_fds(), before);
}

/* Restarted backend: the frontend reconnects, re-sends its state, and pending buffers complete. */
static void test_reconnect(void)
{
	struct server s;
	int before = count_fds();
	uint64_t out, in;
	uint32_t len;
	void *tok;

	server_start(&s);
	struct vhost_frontend_config cfg = { .socket_path = s.path, .num_queues = 2, .connect_timeout_ms = 1000,
					     .features = 1ull << ECHO_F_TEST };
	struct vhost_frontend *fe = vhost_frontend_new(&cfg);
	CHECK(fe);
	CHECK_EQ(vhost_frontend_alloc(fe, 64, 8, &out), 0);
	CHECK_EQ(vhost_frontend_alloc(fe, 64, 8, &in), 0);
	memcpy(vhost_frontend_ptr(fe, out, 4), "ping", 4);
	struct vhost_frontend_buf b[2] = { { out, 4 }, { in, 64 } };
	for (int k = 0; k < 3; k++) {
		CHECK(vhost_frontend_add(fe, 1, b, 1, 1, NULL) >= 0);
		CHECK_EQ(vhost_frontend_kick(fe, 1), 0);
		wait_call(fe, 1);
		CHECK_EQ(vhost_frontend_get_used(fe, 1, &len, &tok), 1);
		CHECK_EQ(len, 4);
	}
	/* The backend goes away; a buffer queued meanwhile must not be lost. */
	server_stop_at(&s, true);
	memcpy(vhost_frontend_ptr(fe, out, 4), "pong", 4);
	CHECK(vhost_frontend_add(fe, 1, b, 1, 1, (void *)7) >= 0);
	CHECK(vhost_frontend_kick(fe, 1) == 0);
	uint8_t c[4];
	CHECK(vhost_frontend_read_config(fe, 0, c, 4) < 0);
	CHECK(!vhost_frontend_connected(fe));
	/* No backend yet: reconnect times out. */
	CHECK_EQ(vhost_frontend_reconnect(fe, 20), -ETIMEDOUT);
	server_start_at(&s, true);
	CHECK_EQ(vhost_frontend_reconnect(fe, 1000), 0);
	CHECK(vhost_frontend_connected(fe));
	CHECK_EQ(vhost_frontend_features(fe) & (1ull << ECHO_F_TEST), 1ull << ECHO_F_TEST);
	wait_call(fe, 1);
	CHECK_EQ(vhost_frontend_get_used(fe, 1, &len, &tok), 1);
	CHECK(tok == (void *)7);
	CHECK(memcmp(vhost_frontend_ptr(fe, in, 4), "pong", 4) == 0);
	/* The new backend continues where the old one stopped. */
	CHECK_EQ(vhost_frontend_stop_queue(fe, 1), 4);
	CHECK_EQ(vhost_frontend_read_config(fe, 0, c, 4), 0);
	CHECK_EQ(c[0], 0x10);
	vhost_frontend_destroy(fe);
	server_stop(&s);
	CHECK_EQ(count_fds(), before);
}

int main(void)
{
	vsnd_log_configure(getenv("VSND_LOG") ? NULL : "error");
	RUN(test_echo_all_queues);
	RUN(test_config_cache);
	RUN(test_no_backend_and_death);
	RUN(test_reconnect);
	return 0;
}
