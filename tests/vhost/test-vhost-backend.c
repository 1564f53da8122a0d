/* SPDX-License-Identifier: MIT */
/*
 * Backend dispatcher over a real socket path, driven by a minimal frontend
 * written here (QEMU's message sequence), with the echo test device.
 *
 * Everything runs on one thread: the frontend writes a request, the test
 * runs the backend's poll/dispatch loop until no fd is readable (poll with
 * a zero timeout), then reads the reply. No sleeps, no races.
 */
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <linux/virtio_config.h>

#include "vsnd/log.h"
#include "vsnd/vhost-backend.h"

#include "echo-dev.h"
#include "tvhost.h"

#define RAM_LO (1024 * 1024)
#define RAM_HI (1024 * 1024)
#define GPA_HI 0x100000000ull
#define NQ ECHO_QUEUES
#define QSIZE 16

static const uint64_t PROTO = VHOST_BACKEND_PROTOCOL_FEATURES;
static const uint64_t F_PROTO = 1ull << VHOST_USER_F_PROTOCOL_FEATURES;

struct fe {
	int sock;
	struct vhost_backend *be;
	struct tguest lo, hi; /* guest RAM split around a hole, as QEMU does at 4G */
	struct tring ring[NQ];
	int kick[NQ], call[NQ], err[NQ];
};

static struct vhost_msg msg, rep;
static struct vhost_vq_elem elem;

static void pump(struct vhost_backend *be)
{
	struct pollfd pfd[2 + NQ];

	for (int iter = 0; iter < 1000; iter++) {
		int n = vhost_backend_fill_pollfds(be, pfd, 2 + NQ);
		CHECK(n >= 0);
		if (poll(pfd, (nfds_t)n, 0) <= 0)
			return;
		vhost_backend_dispatch_pollfds(be, pfd, (unsigned int)n);
	}
	CHECK(!"backend loop did not settle");
}

static bool nothing_pending(int sock)
{
	char c;
	return recv(sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && errno == EAGAIN;
}

static void fe_connect(struct fe *f, struct vhost_backend *be, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	memset(f, 0, sizeof(*f));
	f->be = be;
	strcpy(addr.sun_path, path);
	f->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(f->sock >= 0);
	CHECK(connect(f->sock, (struct sockaddr *)&addr, sizeof(addr)) == 0);
	tguest_init(&f->lo, 0, RAM_LO);
	tguest_init(&f->hi, GPA_HI, RAM_HI);
	for (int i = 0; i < NQ; i++) {
		f->kick[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		f->call[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		f->err[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		/* Rings in low RAM, 64 KiB apart. */
		tring_init(&f->ring[i], &f->lo, 0x10000ull * (i + 1), QSIZE);
	}
	pump(be);
	CHECK(vhost_backend_connected(be));
}

static void fe_close(struct fe *f)
{
	close(f->sock);
	for (int i = 0; i < NQ; i++) {
		close(f->kick[i]);
		close(f->call[i]);
		close(f->err[i]);
	}
	tguest_finish(&f->lo);
	tguest_finish(&f->hi);
}

/* Send @msg, run the backend, and (if @want_reply) receive and check the reply header. */
static void fe_xfer(struct fe *f, bool want_reply)
{
	CHECK_EQ(vhost_msg_send(f->sock, &msg), 0);
	pump(f->be);
	if (!want_reply) {
		CHECK(nothing_pending(f->sock));
		return;
	}
	CHECK_EQ(vhost_msg_recv(f->sock, &rep, true), 0);
	CHECK_EQ(rep.request, msg.request);
	CHECK(nothing_pending(f->sock));
}

static uint64_t fe_get(struct fe *f, uint32_t req)
{
	vhost_msg_init(&msg, req, 0, false);
	fe_xfer(f, true);
	CHECK_EQ(rep.size, 8);
	return rep.payload.u64;
}

/* Request with NEED_REPLY; returns the REPLY_ACK value (0 = success). */
static uint64_t fe_ack(struct fe *f)
{
	msg.flags |= VHOST_USER_NEED_REPLY_MASK;
	fe_xfer(f, true);
	CHECK_EQ(rep.size, 8);
	return rep.payload.u64;
}

static uint64_t fe_set_u64(struct fe *f, uint32_t req, uint64_t v)
{
	vhost_msg_init(&msg, req, 8, false);
	msg.payload.u64 = v;
	return fe_ack(f);
}

static uint64_t fe_set_state(struct fe *f, uint32_t req, uint32_t index, uint32_t num)
{
	vhost_msg_init(&msg, req, 8, false);
	msg.payload.state.index = index;
	msg.payload.state.num = num;
	return fe_ack(f);
}

/* @fd < 0 sends the "no fd" flag. */
static uint64_t fe_set_vring_fd(struct fe *f, uint32_t req, uint32_t index, int fd)
{
	vhost_msg_init(&msg, req, 8, false);
	msg.payload.u64 = index | (fd < 0 ? VHOST_USER_VRING_NOFD_MASK : 0);
	if (fd >= 0) {
		msg.fds[0] = fd;
		msg.nfds = 1;
	}
	return fe_ack(f);
}

static uint64_t fe_set_mem(struct fe *f)
{
	vhost_msg_init(&msg, VHOST_USER_SET_MEM_TABLE, 8 + 2 * 32, false);
	msg.payload.mem.nregions = 2;
	msg.payload.mem.regions[0] = (struct vhost_user_mem_region){ 0, RAM_LO, tguest_uva(&f->lo, 0), 0 };
	msg.payload.mem.regions[1] =
		(struct vhost_user_mem_region){ GPA_HI, RAM_HI, tguest_uva(&f->hi, GPA_HI), 0 };
	msg.fds[0] = f->lo.fd;
	msg.fds[1] = f->hi.fd;
	msg.nfds = 2;
	return fe_ack(f);
}

static uint64_t fe_set_addr(struct fe *f, uint32_t q, uint64_t desc, uint64_t avail, uint64_t used)
{
	vhost_msg_init(&msg, VHOST_USER_SET_VRING_ADDR, sizeof(struct vhost_user_vring_addr), false);
	msg.payload.addr.index = q;
	msg.payload.addr.desc_user_addr = desc;
	msg.payload.addr.avail_user_addr = avail;
	msg.payload.addr.used_user_addr = used;
	return fe_ack(f);
}

static uint64_t fe_ring_addr(struct fe *f, uint32_t q)
{
	struct tring *r = &f->ring[q];
	return fe_set_addr(f, q, tguest_uva(&f->lo, r->desc_gpa), tguest_uva(&f->lo, r->avail_gpa),
			   tguest_uva(&f->lo, r->used_gpa));
}

/* GET_CONFIG; returns the reply payload size (0 = refused) and copies the bytes to @out. */
static uint32_t fe_get_config(struct fe *f, uint32_t offset, uint32_t size, uint8_t *out)
{
	vhost_msg_init(&msg, VHOST_USER_GET_CONFIG, 12 + size, false);
	msg.payload.config.offset = offset;
	msg.payload.config.size = size;
	fe_xfer(f, true);
	if (rep.size) {
		CHECK_EQ(rep.size, 12 + size);
		CHECK_EQ(rep.payload.config.offset, offset);
		CHECK_EQ(rep.payload.config.size, size);
		memcpy(out, rep.payload.config.region, size);
	}
	return rep.size;
}

static void kick(struct fe *f, unsigned int q)
{
	uint64_t one = 1;
	CHECK_EQ(write(f->kick[q], &one, 8), 8);
	pump(f->be);
}

static uint64_t read_evt(int fd)
{
	uint64_t v = 0;
	if (read(fd, &v, 8) != 8)
		return 0;
	return v;
}

/* Queue an echo request on @q at descriptor slots [base, base+2]: "text" -> 64-byte buffer. */
static void queue_echo(struct fe *f, unsigned int q, uint16_t base, const char *text, bool indirect)
{
	struct tring *r = &f->ring[q];
	uint64_t data = 0x80000ull + q * 0x4000 + base * 0x100;

	memcpy(tguest_ptr(&f->lo, data), text, strlen(text));
	memset(tguest_ptr(&f->lo, data + 0x80), 0, 64);
	if (!indirect) {
		tdesc_set(&r->desc[base], data, (uint32_t)strlen(text), VRING_DESC_F_NEXT, base + 1);
		tdesc_set(&r->desc[base + 1], data + 0x80, 64, VRING_DESC_F_WRITE, 0);
	} else {
		/* Indirect table in high RAM (the region above the hole). */
		uint64_t tgpa = GPA_HI + q * 0x1000 + base * 0x40;
		struct vring_desc *t = tguest_ptr(&f->hi, tgpa);
		size_t half = strlen(text) / 2;
		tdesc_set(&t[0], data, (uint32_t)half, VRING_DESC_F_NEXT, 1);
		tdesc_set(&t[1], data + half, (uint32_t)(strlen(text) - half), VRING_DESC_F_NEXT, 2);
		tdesc_set(&t[2], data + 0x80, 64, VRING_DESC_F_WRITE, 0);
		tdesc_set(&r->desc[base], tgpa, 3 * 16, VRING_DESC_F_INDIRECT, 0);
	}
	tring_publish(r, base);
}

static void check_echo(struct fe *f, unsigned int q, uint16_t base, const char *text)
{
	uint32_t len = 0;
	uint64_t data = 0x80000ull + q * 0x4000 + base * 0x100;

	CHECK_EQ(tring_get_used(&f->ring[q], &len), base);
	CHECK_EQ(len, strlen(text));
	CHECK(memcmp(tguest_ptr(&f->lo, data + 0x80), text, strlen(text)) == 0);
}

/* QEMU 10's vhost-user sequence up to a running device with @nq queues. */
static void fe_start(struct fe *f, unsigned int nq, uint64_t features)
{
	uint64_t offered = fe_get(f, VHOST_USER_GET_FEATURES);
	CHECK(offered & F_PROTO);
	CHECK(offered & (1ull << VIRTIO_F_VERSION_1));
	CHECK(offered & (1ull << VIRTIO_RING_F_EVENT_IDX));
	CHECK(offered & (1ull << VIRTIO_RING_F_INDIRECT_DESC));
	CHECK(offered & (1ull << ECHO_F_TEST));
	CHECK_EQ(fe_get(f, VHOST_USER_GET_PROTOCOL_FEATURES), PROTO);
	CHECK_EQ(fe_set_u64(f, VHOST_USER_SET_PROTOCOL_FEATURES, PROTO), 0);
	CHECK_EQ(fe_get(f, VHOST_USER_GET_QUEUE_NUM), NQ);
	vhost_msg_init(&msg, VHOST_USER_SET_OWNER, 0, false);
	fe_xfer(f, false);
	CHECK_EQ(fe_get(f, VHOST_USER_GET_FEATURES), offered);
	uint8_t cfg[16];
	CHECK_EQ(fe_get_config(f, 0, 16, cfg), 12 + 16);
	CHECK_EQ(cfg[0], 0x10);
	CHECK_EQ(cfg[15], 0x1f);
	/* vhost_dev_start */
	CHECK_EQ(fe_set_u64(f, VHOST_USER_SET_FEATURES, features), 0);
	CHECK_EQ(vhost_backend_acked_features(f->be), features);
	CHECK_EQ(fe_set_mem(f), 0);
	for (unsigned int q = 0; q < nq; q++) {
		CHECK_EQ(fe_set_state(f, VHOST_USER_SET_VRING_NUM, q, QSIZE), 0);
		CHECK_EQ(fe_set_state(f, VHOST_USER_SET_VRING_BASE, q, 0), 0);
		CHECK_EQ(fe_ring_addr(f, q), 0);
		CHECK_EQ(fe_set_vring_fd(f, VHOST_USER_SET_VRING_KICK, q, f->kick[q]), 0);
		CHECK_EQ(fe_set_vring_fd(f, VHOST_USER_SET_VRING_CALL, q, f->call[q]), 0);
		CHECK_EQ(fe_set_vring_fd(f, VHOST_USER_SET_VRING_ERR, q, f->err[q]), 0);
	}
	for (unsigned int q = 0; q < nq; q++)
		CHECK_EQ(fe_set_state(f, VHOST_USER_SET_VRING_ENABLE, q, 1), 0);
	uint64_t st = fe_get(f, VHOST_USER_GET_STATUS);
	CHECK_EQ(fe_set_u64(f, VHOST_USER_SET_STATUS, st | VIRTIO_CONFIG_S_ACKNOWLEDGE |
						VIRTIO_CONFIG_S_DRIVER | VIRTIO_CONFIG_S_DRIVER_OK), 0);
	CHECK_EQ(fe_get(f, VHOST_USER_GET_STATUS), 7);
}

static const uint64_t FEATS = (1ull << VIRTIO_F_VERSION_1) | (1ull << VHOST_USER_F_PROTOCOL_FEATURES) |
			      (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_RING_F_INDIRECT_DESC) |
			      (1ull << ECHO_F_TEST);

struct env {
	char dir[64];
	char path[128];
	struct echo_dev dev;
	struct vhost_backend *be;
	int base_fds;
};

static void env_init(struct env *e)
{
	struct vhost_backend_config cfg = {
		.ops = &echo_dev_ops, .data = &e->dev, .num_queues = NQ, .max_queue_size = 256,
	};
	strcpy(e->dir, "/tmp/vsnd-vhost-test-XXXXXX");
	CHECK(mkdtemp(e->dir) != NULL);
	snprintf(e->path, sizeof(e->path), "%s/sock", e->dir);
	echo_dev_init(&e->dev);
	e->be = vhost_backend_new(&cfg);
	CHECK(e->be != NULL);
	CHECK_EQ(vhost_backend_listen(e->be, e->path), 0);
	e->base_fds = count_fds();
}

static void env_finish(struct env *e)
{
	vhost_backend_destroy(e->be);
	unlink(e->path);
	rmdir(e->dir);
}

/* Mappings of guest memfds in this process (the test's own plus the backend's). */
static int count_guest_maps(void)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;

	CHECK(fp);
	while (fgets(line, sizeof(line), fp))
		if (strstr(line, "memfd:tvhost-guest"))
			n++;
	fclose(fp);
	return n;
}

static void test_qemu_sequence_and_echo(void)
{
	struct env e;
	struct fe f;

	env_init(&e);
	fe_connect(&f, e.be, e.path);
	fe_start(&f, NQ, FEATS);
	CHECK_EQ(vhost_backend_acked_protocol_features(e.be), PROTO);
	CHECK_EQ(e.dev.features, FEATS);
	/* Kick fds set and rings enabled, but no kick yet: not started. */
	for (int q = 0; q < NQ; q++)
		CHECK_EQ(e.dev.started[q], 0);
	/* Several queues, direct and indirect chains, one kick each. */
	for (unsigned int q = 0; q < NQ; q++) {
		queue_echo(&f, q, 0, "hello queue", false);
		queue_echo(&f, q, 4, "indirect chain!", true);
	}
	for (unsigned int q = 0; q < NQ; q++) {
		kick(&f, q);
		CHECK_EQ(e.dev.started[q], 1);
		CHECK_EQ(e.dev.echoed[q], 2);
		check_echo(&f, q, 0, "hello queue");
		check_echo(&f, q, 4, "indirect chain!");
		/* EVENT_IDX: first batch always interrupts. */
		CHECK_EQ(read_evt(f.call[q]), 1);
		CHECK_EQ(tring_avail_event(&f.ring[q]), 2);
	}
	/* EVENT_IDX: the driver asks for an interrupt only after 2 more completions. */
	tring_used_event_set(&f.ring[0], 3);
	queue_echo(&f, 0, 8, "a", false);
	kick(&f, 0);
	check_echo(&f, 0, 8, "a");
	CHECK_EQ(read_evt(f.call[0]), 0);
	queue_echo(&f, 0, 10, "b", false);
	kick(&f, 0);
	check_echo(&f, 0, 10, "b");
	CHECK_EQ(read_evt(f.call[0]), 1);
	CHECK_EQ(e.dev.errors[0], 0);

	/* GET_VRING_BASE stops the ring and reports the next avail index. */
	vhost_msg_init(&msg, VHOST_USER_GET_VRING_BASE, 8, false);
	msg.payload.state.index = 1;
	fe_xfer(&f, true);
	CHECK_EQ(rep.payload.state.index, 1);
	CHECK_EQ(rep.payload.state.num, 2);
	CHECK_EQ(e.dev.stopped[1], 1);
	CHECK_EQ(vhost_backend_kick_fd(e.be, 1), -1);
	queue_echo(&f, 1, 8, "after stop", false);
	kick(&f, 1); /* nobody listens any more */
	CHECK_EQ(e.dev.echoed[1], 2);
	/* Restart it (as QEMU does after a stop) from the reported base. */
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_BASE, 1, 2), 0);
	CHECK_EQ(fe_set_vring_fd(&f, VHOST_USER_SET_VRING_CALL, 1, f.call[1]), 0);
	CHECK_EQ(e.dev.started[1], 1);
	/* The kick sent while stopped is still in the eventfd: it starts the ring. */
	CHECK_EQ(fe_set_vring_fd(&f, VHOST_USER_SET_VRING_KICK, 1, f.kick[1]), 0);
	CHECK_EQ(e.dev.started[1], 2);
	check_echo(&f, 1, 8, "after stop");

	/* Other queues kept working throughout. */
	queue_echo(&f, 2, 8, "still here", false);
	kick(&f, 2);
	check_echo(&f, 2, 8, "still here");

	fe_close(&f);
	pump(e.be);
	CHECK(!vhost_backend_connected(e.be));
	env_finish(&e);
}

static void test_enable_semantics(void)
{
	struct env e;
	struct fe f;

	env_init(&e);
	fe_connect(&f, e.be, e.path);
	/* With F_PROTOCOL_FEATURES: a kicked ring stays disabled until SET_VRING_ENABLE(1). */
	CHECK_EQ(fe_set_u64(&f, VHOST_USER_SET_PROTOCOL_FEATURES, PROTO), 0);
	CHECK_EQ(fe_set_u64(&f, VHOST_USER_SET_FEATURES, FEATS), 0);
	CHECK_EQ(fe_set_mem(&f), 0);
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_NUM, 0, QSIZE), 0);
	CHECK_EQ(fe_ring_addr(&f, 0), 0);
	CHECK_EQ(fe_set_vring_fd(&f, VHOST_USER_SET_VRING_KICK, 0, f.kick[0]), 0);
	CHECK_EQ(fe_set_vring_fd(&f, VHOST_USER_SET_VRING_CALL, 0, f.call[0]), 0);
	queue_echo(&f, 0, 0, "early", false);
	kick(&f, 0);
	CHECK_EQ(e.dev.started[0], 0);
	CHECK_EQ(e.dev.echoed[0], 0);
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	/* Enabling processes what was queued while disabled. */
	CHECK_EQ(e.dev.started[0], 1);
	check_echo(&f, 0, 0, "early");
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_ENABLE, 0, 0), 0);
	CHECK_EQ(e.dev.stopped[0], 1);
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_ENABLE, 0, 2), 1);

	/* Without F_PROTOCOL_FEATURES rings are enabled and start on the first kick. */
	CHECK_EQ(fe_set_u64(&f, VHOST_USER_SET_FEATURES, FEATS & ~F_PROTO), 0);
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_NUM, 1, QSIZE), 0);
	CHECK_EQ(fe_ring_addr(&f, 1), 0);
	CHECK_EQ(fe_set_vring_fd(&f, VHOST_USER_SET_VRING_KICK, 1, f.kick[1]), 0);
	CHECK_EQ(e.dev.started[1], 0);
	queue_echo(&f, 1, 0, "no proto", false);
	kick(&f, 1);
	CHECK_EQ(e.dev.started[1], 1);
	check_echo(&f, 1, 0, "no proto");
	/* Queue 0 is enabled again too, since SET_VRING_ENABLE no longer applies. */
	CHECK_EQ(e.dev.started[0], 2);

	/* "No fd" kick: the ring starts at once (the device polls). */
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_NUM, 2, QSIZE), 0);
	CHECK_EQ(fe_ring_addr(&f, 2), 0);
	queue_echo(&f, 2, 0, "polled", false);
	CHECK_EQ(fe_set_vring_fd(&f, VHOST_USER_SET_VRING_KICK, 2, -1), 0);
	CHECK_EQ(e.dev.started[2], 1);
	check_echo(&f, 2, 0, "polled");
	/* No call fd ("no fd" flag): completions are not signalled, nothing breaks. */
	CHECK_EQ(fe_set_vring_fd(&f, VHOST_USER_SET_VRING_CALL, 2, -1), 0);

	fe_close(&f);
	pump(e.be);
	env_finish(&e);
}

static void test_config_space(void)
{
	struct env e;
	struct fe f;
	uint8_t buf[256];

	env_init(&e);
	fe_connect(&f, e.be, e.path);
	CHECK_EQ(fe_set_u64(&f, VHOST_USER_SET_PROTOCOL_FEATURES, PROTO), 0);
	/* Every (offset, size) inside the 16-byte space reads back exactly. */
	for (uint32_t off = 0; off <= ECHO_CONFIG_SIZE; off++) {
		for (uint32_t size = 0; off + size <= ECHO_CONFIG_SIZE; size++) {
			memset(buf, 0xee, sizeof(buf));
			CHECK_EQ(fe_get_config(&f, off, size, buf), 12 + size);
			for (uint32_t i = 0; i < size; i++)
				CHECK_EQ(buf[i], 0x10 + off + i);
		}
		/* Anything past the end is refused with an empty reply. */
		CHECK_EQ(fe_get_config(&f, off, ECHO_CONFIG_SIZE - off + 1, buf), 0);
	}
	CHECK_EQ(fe_get_config(&f, 0, 256, buf), 0);
	CHECK_EQ(fe_get_config(&f, UINT32_MAX, 8, buf), 0);
	CHECK_EQ(fe_get_config(&f, 1000, 0, buf), 0);
	/* SET_CONFIG: writable part accepted and visible, read-only part refused. */
	vhost_msg_init(&msg, VHOST_USER_SET_CONFIG, 12 + 4, false);
	msg.payload.config.offset = 10;
	msg.payload.config.size = 4;
	memcpy(msg.payload.config.region, "\xaa\xbb\xcc\xdd", 4);
	CHECK_EQ(fe_ack(&f), 0);
	CHECK_EQ(fe_get_config(&f, 8, 8, buf), 12 + 8);
	CHECK_EQ(buf[1], 0x19);
	CHECK_EQ(buf[2], 0xaa);
	CHECK_EQ(buf[5], 0xdd);
	vhost_msg_init(&msg, VHOST_USER_SET_CONFIG, 12 + 4, false);
	msg.payload.config.offset = 0;
	msg.payload.config.size = 4;
	CHECK_EQ(fe_ack(&f), 1);
	CHECK_EQ(fe_get_config(&f, 0, 1, buf), 12 + 1);
	CHECK_EQ(buf[0], 0x10);
	/* Without NEED_REPLY a refused SET_CONFIG produces no message. */
	vhost_msg_init(&msg, VHOST_USER_SET_CONFIG, 12 + 4, false);
	msg.payload.config.size = 4;
	fe_xfer(&f, false);
	fe_close(&f);
	pump(e.be);
	env_finish(&e);
}

static void test_nacks_and_leaks(void)
{
	struct env e;
	struct fe f;

	env_init(&e);
	fe_connect(&f, e.be, e.path);
	int fds_connected = count_fds();
	CHECK_EQ(fe_set_u64(&f, VHOST_USER_SET_PROTOCOL_FEATURES, PROTO | (1ull << 20)), 1);
	CHECK_EQ(fe_set_u64(&f, VHOST_USER_SET_PROTOCOL_FEATURES, PROTO), 0);
	CHECK_EQ(fe_set_u64(&f, VHOST_USER_SET_FEATURES, FEATS | (1ull << 40)), 1);
	CHECK_EQ(fe_set_u64(&f, VHOST_USER_SET_FEATURES, FEATS), 0);
	CHECK_EQ(fe_set_mem(&f), 0);
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_NUM, 0, 3), 1);
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_NUM, 0, 512), 1); /* > max_queue_size */
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_NUM, NQ, QSIZE), 1);
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_BASE, 0, 0x10000), 1);
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_NUM, 0, QSIZE), 0);
	/* Vring addresses outside guest memory, across the hole, unaligned. */
	CHECK_EQ(fe_set_addr(&f, 0, 0x1000, 0x2000, 0x3000), 1);
	CHECK_EQ(fe_set_addr(&f, 0, tguest_uva(&f.lo, RAM_LO - 16), tguest_uva(&f.lo, 0x2000),
			     tguest_uva(&f.lo, 0x3000)), 1);
	CHECK_EQ(fe_set_addr(&f, 0, tguest_uva(&f.lo, 0x1008), tguest_uva(&f.lo, 0x2000),
			     tguest_uva(&f.lo, 0x3000)), 1);
	CHECK_EQ(fe_set_addr(&f, NQ, tguest_uva(&f.lo, 0x1000), tguest_uva(&f.lo, 0x2000),
			     tguest_uva(&f.lo, 0x3000)), 1);
	/* Ring fd for a queue that does not exist, or with junk bits: NACK, fd closed. */
	CHECK_EQ(fe_set_vring_fd(&f, VHOST_USER_SET_VRING_KICK, 200, f.kick[0]), 1);
	CHECK_EQ(fe_set_vring_fd(&f, VHOST_USER_SET_VRING_CALL, NQ, f.call[0]), 1);
	CHECK_EQ(fe_set_vring_fd(&f, VHOST_USER_SET_VRING_ERR, 0x1000, f.err[0]), 1);
	CHECK_EQ(fe_set_u64(&f, VHOST_USER_SET_STATUS, 0x100), 1);
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_ENABLE, NQ, 1), 1);
	/* Unsupported requests: NACK when asked, silence otherwise; their fds are closed. */
	vhost_msg_init(&msg, VHOST_USER_SET_LOG_FD, 0, false);
	msg.fds[0] = f.kick[0];
	msg.nfds = 1;
	CHECK_EQ(fe_ack(&f), 1);
	vhost_msg_init(&msg, 1000, 16, false);
	CHECK_EQ(fe_ack(&f), 1);
	vhost_msg_init(&msg, 1000, 16, false);
	fe_xfer(&f, false);
	/* GET_VRING_BASE of a bad index still gets its own reply. */
	vhost_msg_init(&msg, VHOST_USER_GET_VRING_BASE, 8, false);
	msg.payload.state.index = NQ;
	fe_xfer(&f, true);
	CHECK_EQ(rep.size, 8);
	/* A bad memory table is refused, the old one stays (a ring still translates). */
	vhost_msg_init(&msg, VHOST_USER_SET_MEM_TABLE, 8 + 2 * 32, false);
	msg.payload.mem.nregions = 2;
	msg.payload.mem.regions[0] = (struct vhost_user_mem_region){ 0, RAM_LO, 0x10000000, 0 };
	msg.payload.mem.regions[1] = (struct vhost_user_mem_region){ 4096, RAM_LO, 0x20000000, 0 };
	msg.fds[0] = f.lo.fd;
	msg.fds[1] = f.hi.fd;
	msg.nfds = 2;
	CHECK_EQ(fe_ack(&f), 1);
	CHECK_EQ(fe_ring_addr(&f, 0), 0);
	/* Replacing the memory table with a valid one while running keeps rings working. */
	CHECK_EQ(fe_set_vring_fd(&f, VHOST_USER_SET_VRING_KICK, 0, f.kick[0]), 0);
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_ENABLE, 0, 1), 0);
	queue_echo(&f, 0, 0, "one", false);
	kick(&f, 0);
	check_echo(&f, 0, 0, "one");
	/* An identical table (as QEMU re-sends on every start) changes nothing. */
	CHECK_EQ(fe_set_mem(&f), 0);
	CHECK_EQ(e.dev.stopped[0], 0);
	CHECK_EQ(e.dev.started[0], 1);
	/* A different one (a third region hot-plugged) stops and restarts the queue. */
	int extra = make_memfd(65536);
	vhost_msg_init(&msg, VHOST_USER_SET_MEM_TABLE, 8 + 3 * 32, false);
	msg.payload.mem.nregions = 3;
	msg.payload.mem.regions[0] = (struct vhost_user_mem_region){ 0, RAM_LO, tguest_uva(&f.lo, 0), 0 };
	msg.payload.mem.regions[1] = (struct vhost_user_mem_region){ GPA_HI, RAM_HI, tguest_uva(&f.hi, GPA_HI), 0 };
	msg.payload.mem.regions[2] = (struct vhost_user_mem_region){ 2 * GPA_HI, 65536, 0x1000, 0 };
	msg.fds[0] = f.lo.fd;
	msg.fds[1] = f.hi.fd;
	msg.fds[2] = extra;
	msg.nfds = 3;
	CHECK_EQ(fe_ack(&f), 0);
	close(extra);
	CHECK_EQ(e.dev.stopped[0], 1);
	CHECK_EQ(e.dev.started[0], 2);
	queue_echo(&f, 0, 2, "two", false);
	kick(&f, 0);
	check_echo(&f, 0, 2, "two");
	/* SET_VRING_NUM / BASE on a running ring are refused. */
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_NUM, 0, QSIZE), 1);
	CHECK_EQ(fe_set_state(&f, VHOST_USER_SET_VRING_BASE, 0, 0), 1);
	/* The backend now holds exactly one kick fd; nothing leaked on the NACK paths. */
	CHECK_EQ(count_fds(), fds_connected + 1);
	fe_close(&f);
	pump(e.be);
	CHECK_EQ(count_fds(), e.base_fds);
	env_finish(&e);
}

static void test_broken_queue_and_reset(void)
{
	struct env e;
	struct fe f;

	env_init(&e);
	fe_connect(&f, e.be, e.path);
	fe_start(&f, 2, FEATS);
	/* The guest moves queue 1's avail index by more than the queue size. */
	f.ring[1].avail->idx = htole16(QSIZE + 1);
	kick(&f, 1);
	CHECK_EQ(e.dev.errors[1], 1);
	CHECK(vhost_vq_broken(vhost_backend_vq(e.be, 1)));
	CHECK_EQ(read_evt(f.err[1]), 1);
	CHECK_EQ(fe_get(&f, VHOST_USER_GET_STATUS), 7 | VIRTIO_CONFIG_S_NEEDS_RESET);
	/* Queue 0 keeps serving. */
	queue_echo(&f, 0, 0, "alive", false);
	kick(&f, 0);
	check_echo(&f, 0, 0, "alive");
	/* RESET_DEVICE: everything stopped, state back to initial. */
	vhost_msg_init(&msg, VHOST_USER_RESET_DEVICE, 0, false);
	CHECK_EQ(fe_ack(&f), 0);
	CHECK_EQ(e.dev.stopped[0], 1);
	CHECK_EQ(e.dev.stopped[1], 1);
	CHECK_EQ(e.dev.resets, 1);
	CHECK_EQ(fe_get(&f, VHOST_USER_GET_STATUS), 0);
	CHECK(!vhost_vq_broken(vhost_backend_vq(e.be, 1)));
	CHECK_EQ(vhost_backend_kick_fd(e.be, 0), -1);
	/* And it can be started again on the same connection. */
	for (int q = 0; q < 2; q++)
		tring_init(&f.ring[q], &f.lo, 0x10000ull * (q + 1), QSIZE);
	fe_start(&f, 2, FEATS);
	queue_echo(&f, 1, 0, "reborn", true);
	kick(&f, 1);
	check_echo(&f, 1, 0, "reborn");
	/* RESET_OWNER is tolerated like a reset. */
	vhost_msg_init(&msg, VHOST_USER_RESET_OWNER, 0, false);
	fe_xfer(&f, false);
	CHECK_EQ(e.dev.resets, 2);
	fe_close(&f);
	pump(e.be);
	env_finish(&e);
}

static void test_reconnect(void)
{
	struct env e;
	struct fe f;
	struct stat st1, st2;
	int maps_before = count_guest_maps();

	env_init(&e);
	int listen_fd = vhost_backend_listen_fd(e.be);
	CHECK(stat(e.path, &st1) == 0);
	for (int round = 0; round < 3; round++) {
		fe_connect(&f, e.be, e.path);
		fe_start(&f, NQ, FEATS);
		for (unsigned int q = 0; q < NQ; q++) {
			queue_echo(&f, q, 0, "round", round & 1);
			kick(&f, q);
			check_echo(&f, q, 0, "round");
		}
		CHECK_EQ(count_guest_maps(), maps_before + 4); /* ours and the backend's, 2 regions */
		fe_close(&f);
		pump(e.be);
		/* State dropped: memory unmapped, every fd closed, queues stopped, device reset. */
		CHECK(!vhost_backend_connected(e.be));
		CHECK_EQ(count_guest_maps(), maps_before);
		CHECK_EQ(count_fds(), e.base_fds);
		for (int q = 0; q < NQ; q++)
			CHECK_EQ(e.dev.stopped[q], round + 1);
		CHECK_EQ(e.dev.resets, round + 1);
		CHECK_EQ(vhost_backend_acked_features(e.be), 0);
		CHECK_EQ(vhost_backend_acked_protocol_features(e.be), 0);
	}
	/* The same listening socket and file served every round. */
	CHECK_EQ(vhost_backend_listen_fd(e.be), listen_fd);
	CHECK(stat(e.path, &st2) == 0);
	CHECK_EQ(st1.st_ino, st2.st_ino);

	/* A protocol violation drops the connection the same way; the next one works. */
	fe_connect(&f, e.be, e.path);
	fe_start(&f, 1, FEATS);
	uint32_t bad[3] = { VHOST_USER_GET_FEATURES, 0 /* version 0 */, 0 };
	CHECK_EQ(write(f.sock, bad, sizeof(bad)), (ssize_t)sizeof(bad));
	pump(e.be);
	CHECK(!vhost_backend_connected(e.be));
	char c;
	CHECK_EQ(read(f.sock, &c, 1), 0); /* EOF for the frontend */
	fe_close(&f);
	CHECK_EQ(count_fds(), e.base_fds);
	CHECK_EQ(count_guest_maps(), maps_before);

	/* A second frontend waits in the backlog while the first is connected. */
	struct fe f2;
	fe_connect(&f, e.be, e.path);
	fe_connect(&f2, e.be, e.path);
	CHECK_EQ(fe_get(&f, VHOST_USER_GET_QUEUE_NUM), NQ);
	CHECK(nothing_pending(f2.sock));
	fe_close(&f);
	pump(e.be);
	CHECK(vhost_backend_connected(e.be)); /* f2 accepted */
	CHECK_EQ(fe_get(&f2, VHOST_USER_GET_QUEUE_NUM), NQ);
	fe_close(&f2);
	pump(e.be);
	CHECK(!vhost_backend_connected(e.be));
	env_finish(&e);
}

static void test_connected_fd_and_errors(void)
{
	struct echo_dev dev;
	struct vhost_backend_config cfg = { .ops = &echo_dev_ops, .data = &dev, .num_queues = 1 };
	struct vhost_backend_config bad = cfg;
	int before = count_fds();
	int sv[2];

	echo_dev_init(&dev);
	bad.num_queues = 0;
	CHECK(vhost_backend_new(&bad) == NULL && errno == EINVAL);
	bad.num_queues = 257;
	CHECK(vhost_backend_new(&bad) == NULL && errno == EINVAL);
	CHECK(vhost_backend_new(NULL) == NULL);

	struct vhost_backend *be = vhost_backend_new(&cfg);
	CHECK(be);
	CHECK_EQ(vhost_backend_dispatch(be), -ENOTCONN);
	CHECK_EQ(vhost_backend_accept(be), 0);
	CHECK_EQ(vhost_backend_dispatch_kick(be, 0), -EINVAL);
	CHECK(vhost_backend_vq(be, 1) == NULL);
	/* An existing non-socket file is never replaced. */
	char path[] = "/tmp/vsnd-vhost-file-XXXXXX";
	int tf = mkstemp(path);
	CHECK(tf >= 0);
	close(tf);
	CHECK_EQ(vhost_backend_listen(be, path), -EEXIST);
	unlink(path);
	/* --fd style: an already connected socket; after a disconnect there is nothing left. */
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK_EQ(vhost_backend_set_fd(be, sv[1], true), 0);
	CHECK_EQ(vhost_backend_set_fd(be, sv[1], true), -EBUSY);
	vhost_msg_init(&msg, VHOST_USER_GET_QUEUE_NUM, 0, false);
	CHECK_EQ(vhost_msg_send(sv[0], &msg), 0);
	CHECK_EQ(vhost_backend_dispatch(be), 0);
	CHECK_EQ(vhost_msg_recv(sv[0], &rep, true), 0);
	CHECK_EQ(rep.payload.u64, 1);
	close(sv[0]);
	struct pollfd pfd[4];
	int n = vhost_backend_fill_pollfds(be, pfd, 4);
	CHECK_EQ(n, 1);
	CHECK_EQ(vhost_backend_fill_pollfds(be, pfd, 0), -ENOSPC);
	CHECK_EQ(poll(pfd, 1, 0), 1);
	CHECK_EQ(vhost_backend_dispatch_pollfds(be, pfd, 1), -ECONNRESET);
	CHECK_EQ(vhost_backend_fill_pollfds(be, pfd, 4), 0);
	vhost_backend_destroy(be);
	vhost_backend_destroy(NULL);
	CHECK_EQ(count_fds(), before);
	(void)elem;
}

/* epoll-style users follow the watch() callback: every fd is added before use and removed before close. */
static int watched[1024]; /* per fd: 0 = not watched, else kind + 1 */
static int watch_events;

static void track_watch(void *data, enum vhost_backend_fd_kind kind, int queue, int fd, bool add)
{
	(void)data;
	CHECK(fd >= 0 && fd < 1024);
	CHECK((kind == VHOST_BACKEND_FD_KICK) == (queue >= 0));
	if (add) {
		CHECK_EQ(watched[fd], 0);
		watched[fd] = (int)kind + 1;
	} else {
		CHECK_EQ(watched[fd], (int)kind + 1);
		watched[fd] = 0;
	}
	watch_events++;
}

static int count_watched(int kind)
{
	int n = 0;
	for (int i = 0; i < 1024; i++)
		n += watched[i] == kind + 1;
	return n;
}

static void test_watch_callbacks(void)
{
	struct vhost_dev_ops ops = echo_dev_ops;
	struct echo_dev dev;
	char dir[] = "/tmp/vsnd-vhost-watch-XXXXXX";
	char path[128];
	struct fe f;

	ops.watch = track_watch;
	echo_dev_init(&dev);
	struct vhost_backend_config cfg = { .ops = &ops, .data = &dev, .num_queues = NQ };
	struct vhost_backend *be = vhost_backend_new(&cfg);
	CHECK(be && mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sock", dir);
	CHECK_EQ(vhost_backend_listen(be, path), 0);
	CHECK_EQ(count_watched(VHOST_BACKEND_FD_LISTEN), 1);
	for (int round = 0; round < 2; round++) {
		fe_connect(&f, be, path);
		CHECK_EQ(count_watched(VHOST_BACKEND_FD_LISTEN), 0);
		CHECK_EQ(count_watched(VHOST_BACKEND_FD_CONN), 1);
		CHECK(watched[vhost_backend_conn_fd(be)] == VHOST_BACKEND_FD_CONN + 1);
		fe_start(&f, NQ, FEATS);
		CHECK_EQ(count_watched(VHOST_BACKEND_FD_KICK), NQ);
		for (unsigned int q = 0; q < NQ; q++)
			CHECK(watched[vhost_backend_kick_fd(be, q)] == VHOST_BACKEND_FD_KICK + 1);
		/* Replacing a kick fd removes the old one first. */
		CHECK_EQ(fe_set_vring_fd(&f, VHOST_USER_SET_VRING_KICK, 0, f.kick[0]), 0);
		CHECK_EQ(count_watched(VHOST_BACKEND_FD_KICK), NQ);
		vhost_msg_init(&msg, VHOST_USER_GET_VRING_BASE, 8, false);
		msg.payload.state.index = 1;
		fe_xfer(&f, true);
		CHECK_EQ(count_watched(VHOST_BACKEND_FD_KICK), NQ - 1);
		fe_close(&f);
		pump(be);
		CHECK_EQ(count_watched(VHOST_BACKEND_FD_KICK), 0);
		CHECK_EQ(count_watched(VHOST_BACKEND_FD_CONN), 0);
		CHECK_EQ(count_watched(VHOST_BACKEND_FD_LISTEN), 1);
	}
	vhost_backend_destroy(be);
	CHECK_EQ(count_watched(VHOST_BACKEND_FD_LISTEN), 0);
	CHECK(watch_events > 0);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	vsnd_log_configure(getenv("VSND_LOG") ? NULL : "error");
	RUN(test_qemu_sequence_and_echo);
	RUN(test_enable_semantics);
	RUN(test_config_space);
	RUN(test_nacks_and_leaks);
	RUN(test_broken_queue_and_reset);
	RUN(test_reconnect);
	RUN(test_connected_fd_and_errors);
	RUN(test_watch_callbacks);
	return 0;
}
