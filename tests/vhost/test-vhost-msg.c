/* SPDX-License-Identifier: MIT */
/* vhost-user message codec: round trips of every message type, and rejection of malformed input. */
#include <sys/eventfd.h>
#include <sys/stat.h>

#include "vsnd/vhost-msg.h"

#include "tvhost.h"

static void pair(int sv[2])
{
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
}

static void close_pair(int sv[2])
{
	close(sv[0]);
	close(sv[1]);
}

/* Send raw bytes with @n fds in one sendmsg. */
static void raw_send(int sock, const void *buf, size_t len, const int *fds, unsigned int n)
{
	char control[CMSG_SPACE(sizeof(int) * 32)];
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	memset(control, 0, sizeof(control));
	if (n) {
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * n);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
	}
	CHECK(sendmsg(sock, &mh, MSG_NOSIGNAL) == (ssize_t)len);
}

static void raw_msg(int sock, uint32_t req, uint32_t flags, uint32_t size, const void *payload,
		    size_t plen, const int *fds, unsigned int n)
{
	uint8_t buf[8192];
	uint32_t hdr[3] = { req, flags, size };

	CHECK(plen + 12 <= sizeof(buf));
	memcpy(buf, hdr, 12);
	if (plen)
		memcpy(buf + 12, payload, plen);
	raw_send(sock, buf, 12 + plen, fds, n);
}

static bool same_file(int a, int b)
{
	struct stat sa, sb;
	CHECK(fstat(a, &sa) == 0 && fstat(b, &sb) == 0);
	return sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

static void roundtrip(struct vhost_msg *out, bool reply)
{
	int sv[2];
	static struct vhost_msg in;

	pair(sv);
	CHECK_EQ(vhost_msg_send(sv[0], out), 0);
	CHECK_EQ(vhost_msg_recv(sv[1], &in, reply), 0);
	CHECK_EQ(in.request, out->request);
	CHECK_EQ(in.flags, out->flags);
	CHECK_EQ(in.size, out->size);
	CHECK(memcmp(&in.payload, &out->payload, out->size) == 0);
	CHECK_EQ(in.nfds, out->nfds);
	for (unsigned int i = 0; i < in.nfds; i++) {
		CHECK(in.fds[i] >= 0 && in.fds[i] != out->fds[i]);
		CHECK(same_file(in.fds[i], out->fds[i]));
	}
	vhost_msg_close_fds(&in);
	CHECK_EQ(in.nfds, 0);
	close_pair(sv);
}

static void test_roundtrip_requests(void)
{
	static struct vhost_msg m;
	int before = count_fds();
	int efd = eventfd(0, EFD_CLOEXEC);
	int mfds[VHOST_USER_MAX_REGIONS];
	struct {
		uint32_t req;
		uint32_t size;
	} simple[] = {
		{ VHOST_USER_GET_FEATURES, 0 },        { VHOST_USER_SET_FEATURES, 8 },
		{ VHOST_USER_SET_OWNER, 0 },           { VHOST_USER_RESET_OWNER, 0 },
		{ VHOST_USER_SET_VRING_NUM, 8 },       { VHOST_USER_SET_VRING_ADDR, 40 },
		{ VHOST_USER_SET_VRING_BASE, 8 },      { VHOST_USER_GET_VRING_BASE, 8 },
		{ VHOST_USER_GET_PROTOCOL_FEATURES, 0 }, { VHOST_USER_SET_PROTOCOL_FEATURES, 8 },
		{ VHOST_USER_GET_QUEUE_NUM, 0 },       { VHOST_USER_SET_VRING_ENABLE, 8 },
		{ VHOST_USER_RESET_DEVICE, 0 },        { VHOST_USER_SET_STATUS, 8 },
		{ VHOST_USER_GET_STATUS, 0 },          { VHOST_USER_SET_VRING_ENDIAN, 8 },
		{ VHOST_USER_GET_MAX_MEM_SLOTS, 0 },   { VHOST_USER_VRING_KICK, 8 },
	};

	CHECK(efd >= 0);
	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		CHECK_EQ(vhost_msg_init(&m, simple[i].req, simple[i].size, false), 0);
		for (uint32_t b = 0; b < simple[i].size; b++)
			m.payload.raw[b] = (uint8_t)(0x11 * (b + 1));
		if (simple[i].req == VHOST_USER_SET_VRING_ADDR)
			m.flags |= VHOST_USER_NEED_REPLY_MASK;
		roundtrip(&m, false);
	}
	/* Ring fds with an fd and with the "no fd" bit. */
	const uint32_t ring_reqs[] = { VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_CALL,
				       VHOST_USER_SET_VRING_ERR };
	for (size_t i = 0; i < 3; i++) {
		vhost_msg_init(&m, ring_reqs[i], 8, false);
		m.payload.u64 = 3;
		m.fds[0] = efd;
		m.nfds = 1;
		roundtrip(&m, false);
		vhost_msg_init(&m, ring_reqs[i], 8, false);
		m.payload.u64 = 5 | VHOST_USER_VRING_NOFD_MASK;
		roundtrip(&m, false);
	}
	/* Memory tables of 0..8 regions, exact size, and the full-struct size. */
	for (unsigned int i = 0; i < VHOST_USER_MAX_REGIONS; i++)
		mfds[i] = make_memfd(4096);
	for (unsigned int n = 0; n <= VHOST_USER_MAX_REGIONS; n++) {
		vhost_msg_init(&m, VHOST_USER_SET_MEM_TABLE, 8 + n * 32, false);
		m.flags |= VHOST_USER_NEED_REPLY_MASK;
		m.payload.mem.nregions = n;
		for (unsigned int i = 0; i < n; i++) {
			m.payload.mem.regions[i].guest_phys_addr = i * 0x100000ull;
			m.payload.mem.regions[i].memory_size = 4096;
			m.payload.mem.regions[i].userspace_addr = 0x7f0000000000ull + i * 0x100000ull;
			m.payload.mem.regions[i].mmap_offset = 0;
			m.fds[i] = mfds[i];
		}
		m.nfds = n;
		roundtrip(&m, false);
		m.size = sizeof(struct vhost_user_mem_table);
		roundtrip(&m, false);
	}
	/* Log fds (validated though unsupported). */
	vhost_msg_init(&m, VHOST_USER_SET_LOG_BASE, 16, false);
	m.fds[0] = efd;
	m.nfds = 1;
	roundtrip(&m, false);
	vhost_msg_init(&m, VHOST_USER_SET_LOG_FD, 0, false);
	m.fds[0] = efd;
	m.nfds = 1;
	roundtrip(&m, false);
	vhost_msg_init(&m, VHOST_USER_SET_BACKEND_REQ_FD, 0, false);
	m.fds[0] = efd;
	m.nfds = 1;
	roundtrip(&m, false);
	/* Config at every size 0..256. */
	for (uint32_t sz = 0; sz <= VHOST_USER_MAX_CONFIG_SIZE; sz += 1) {
		vhost_msg_init(&m, sz & 1 ? VHOST_USER_SET_CONFIG : VHOST_USER_GET_CONFIG, 12 + sz, false);
		m.payload.config.offset = sz;
		m.payload.config.size = sz;
		for (uint32_t b = 0; b < sz; b++)
			m.payload.config.region[b] = (uint8_t)(b ^ sz);
		roundtrip(&m, false);
	}
	/* An unknown request without fds passes the codec (the dispatcher NACKs it). */
	vhost_msg_init(&m, 1000, 100, false);
	roundtrip(&m, false);

	for (unsigned int i = 0; i < VHOST_USER_MAX_REGIONS; i++)
		close(mfds[i]);
	close(efd);
	CHECK_EQ(count_fds(), before);
}

static void test_roundtrip_replies(void)
{
	static struct vhost_msg m;
	const uint32_t u64_replies[] = { VHOST_USER_GET_FEATURES, VHOST_USER_GET_PROTOCOL_FEATURES,
					 VHOST_USER_GET_QUEUE_NUM, VHOST_USER_GET_STATUS,
					 VHOST_USER_GET_VRING_BASE, VHOST_USER_SET_MEM_TABLE,
					 VHOST_USER_SET_VRING_ADDR };
	int before = count_fds();

	for (size_t i = 0; i < sizeof(u64_replies) / sizeof(u64_replies[0]); i++) {
		vhost_msg_init(&m, u64_replies[i], 8, true);
		m.payload.u64 = 0x0123456789abcdefull + i;
		roundtrip(&m, true);
	}
	vhost_msg_init(&m, VHOST_USER_GET_CONFIG, 12 + 16, true);
	m.payload.config.size = 16;
	for (int b = 0; b < 16; b++)
		m.payload.config.region[b] = (uint8_t)b;
	roundtrip(&m, true);
	vhost_msg_init(&m, VHOST_USER_GET_CONFIG, 0, true); /* failed GET_CONFIG */
	roundtrip(&m, true);
	CHECK_EQ(count_fds(), before);
}

/* Send a raw message and expect vhost_msg_recv to fail with @err, with no fd left behind. */
static void expect_reject(uint32_t req, uint32_t flags, uint32_t size, const void *payload,
			  size_t plen, unsigned int nfds, bool reply, int err)
{
	static struct vhost_msg m;
	int fds[32];
	int sv[2];
	int before = count_fds();

	pair(sv);
	for (unsigned int i = 0; i < nfds; i++)
		CHECK((fds[i] = eventfd(0, EFD_CLOEXEC)) >= 0);
	raw_msg(sv[0], req, flags, size, payload, plen, fds, nfds);
	shutdown(sv[0], SHUT_WR);
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]);
	m.nfds = 0;
	int r = vhost_msg_recv(sv[1], &m, reply);
	if (r != err)
		fprintf(stderr, "request %u flags %#x size %u nfds %u: got %d want %d\n", req, flags,
			size, nfds, r, err);
	CHECK_EQ(r, err);
	CHECK_EQ(m.nfds, 0);
	close_pair(sv);
	CHECK_EQ(count_fds(), before);
}

static void test_reject(void)
{
	uint8_t p[512];
	uint64_t u;
	struct vhost_user_mem_table mt;
	struct vhost_user_config cfg;
	const uint32_t V = VHOST_USER_VERSION;

	memset(p, 0, sizeof(p));
	/* Header. */
	expect_reject(VHOST_USER_GET_FEATURES, 0, 0, NULL, 0, 0, false, -EPROTO);
	expect_reject(VHOST_USER_GET_FEATURES, 2, 0, NULL, 0, 0, false, -EPROTO);
	expect_reject(VHOST_USER_GET_FEATURES, 3, 0, NULL, 0, 1, false, -EPROTO);
	expect_reject(VHOST_USER_GET_FEATURES, V | 0x10, 0, NULL, 0, 0, false, -EPROTO);
	expect_reject(VHOST_USER_GET_FEATURES, V | 0x80000000u, 0, NULL, 0, 0, false, -EPROTO);
	expect_reject(VHOST_USER_GET_FEATURES, V | VHOST_USER_REPLY_MASK, 0, NULL, 0, 0, false, -EPROTO);
	expect_reject(VHOST_USER_GET_FEATURES, V, 8, p, 8, 0, true, -EPROTO); /* reply expected */
	expect_reject(VHOST_USER_GET_FEATURES, V | VHOST_USER_REPLY_MASK | VHOST_USER_NEED_REPLY_MASK,
		      8, p, 8, 0, true, -EPROTO);
	/* Bounded payload: the size is refused before a byte of payload is read. */
	expect_reject(VHOST_USER_SET_FEATURES, V, VHOST_USER_MAX_PAYLOAD + 1, NULL, 0, 2, false, -EPROTO);
	expect_reject(VHOST_USER_SET_FEATURES, V, UINT32_MAX, NULL, 0, 0, false, -EPROTO);
	/* Wrong payload sizes per type. */
	expect_reject(VHOST_USER_GET_FEATURES, V, 8, p, 8, 0, false, -EPROTO);
	expect_reject(VHOST_USER_SET_FEATURES, V, 4, p, 4, 0, false, -EPROTO);
	expect_reject(VHOST_USER_SET_FEATURES, V, 16, p, 16, 0, false, -EPROTO);
	expect_reject(VHOST_USER_SET_VRING_NUM, V, 4, p, 4, 0, false, -EPROTO);
	expect_reject(VHOST_USER_SET_VRING_ADDR, V, 32, p, 32, 0, false, -EPROTO);
	expect_reject(VHOST_USER_SET_VRING_KICK, V, 4, p, 4, 1, false, -EPROTO);
	expect_reject(VHOST_USER_SET_OWNER, V, 1, p, 1, 0, false, -EPROTO);
	expect_reject(VHOST_USER_GET_STATUS, V, 8, p, 8, 0, false, -EPROTO);
	expect_reject(VHOST_USER_SET_LOG_BASE, V, 8, p, 8, 1, false, -EPROTO);
	expect_reject(VHOST_USER_SET_MEM_TABLE, V, 4, p, 4, 0, false, -EPROTO);
	memset(&mt, 0, sizeof(mt));
	mt.nregions = 2;
	expect_reject(VHOST_USER_SET_MEM_TABLE, V, 8 + 32, &mt, 8 + 32, 2, false, -EPROTO);
	expect_reject(VHOST_USER_SET_MEM_TABLE, V, 8 + 3 * 32, &mt, 8 + 3 * 32, 2, false, -EPROTO);
	mt.nregions = 9;
	memcpy(p, &mt, 8);
	expect_reject(VHOST_USER_SET_MEM_TABLE, V, 8 + 9 * 32, p, 8 + 9 * 32, 8, false, -EPROTO);
	mt.nregions = UINT32_MAX;
	expect_reject(VHOST_USER_SET_MEM_TABLE, V, 8, &mt, 8, 0, false, -EPROTO);
	memset(&cfg, 0, sizeof(cfg));
	cfg.size = 16;
	expect_reject(VHOST_USER_GET_CONFIG, V, 12 + 8, &cfg, 12 + 8, 0, false, -EPROTO);
	expect_reject(VHOST_USER_GET_CONFIG, V, 8, &cfg, 8, 0, false, -EPROTO);
	cfg.size = 300;
	memset(p, 0, sizeof(p));
	memcpy(p, &cfg, 12);
	expect_reject(VHOST_USER_SET_CONFIG, V, 312, p, 312, 0, false, -EPROTO);
	cfg.size = UINT32_MAX - 11; /* 12 + size wraps to 0 in 32 bits */
	expect_reject(VHOST_USER_SET_CONFIG, V, 12, &cfg, 12, 0, false, -EPROTO);
	/* Wrong fd counts. */
	u = 1;
	expect_reject(VHOST_USER_SET_FEATURES, V, 8, &u, 8, 1, false, -EBADMSG);
	expect_reject(VHOST_USER_GET_FEATURES, V, 0, NULL, 0, 3, false, -EBADMSG);
	u = 0;
	expect_reject(VHOST_USER_SET_VRING_KICK, V, 8, &u, 8, 0, false, -EBADMSG);
	expect_reject(VHOST_USER_SET_VRING_CALL, V, 8, &u, 8, 2, false, -EBADMSG);
	u = VHOST_USER_VRING_NOFD_MASK;
	expect_reject(VHOST_USER_SET_VRING_ERR, V, 8, &u, 8, 1, false, -EBADMSG);
	mt.nregions = 2;
	memset(mt.regions, 0, sizeof(mt.regions));
	expect_reject(VHOST_USER_SET_MEM_TABLE, V, 8 + 64, &mt, 8 + 64, 1, false, -EBADMSG);
	expect_reject(VHOST_USER_SET_MEM_TABLE, V, 8 + 64, &mt, 8 + 64, 3, false, -EBADMSG);
	/* More fds than any message may carry, beyond the receive buffer. */
	mt.nregions = 8;
	expect_reject(VHOST_USER_SET_MEM_TABLE, V, sizeof(mt), &mt, sizeof(mt), 9, false, -EBADMSG);
	expect_reject(VHOST_USER_SET_MEM_TABLE, V, sizeof(mt), &mt, sizeof(mt), 30, false, -EBADMSG);
	expect_reject(VHOST_USER_SET_LOG_FD, V, 0, NULL, 0, 0, false, -EBADMSG);
	expect_reject(1000, V, 0, NULL, 0, 1, false, -EBADMSG);
	/* Replies: no fds, u64 size. */
	expect_reject(VHOST_USER_GET_FEATURES, V | VHOST_USER_REPLY_MASK, 8, p, 8, 1, true, -EBADMSG);
	expect_reject(VHOST_USER_GET_FEATURES, V | VHOST_USER_REPLY_MASK, 4, p, 4, 0, true, -EPROTO);
	expect_reject(VHOST_USER_SET_MEM_TABLE, V | VHOST_USER_REPLY_MASK, 0, NULL, 0, 0, true, -EPROTO);
	/* Truncated: EOF inside the payload or the header. */
	expect_reject(VHOST_USER_SET_FEATURES, V, 8, p, 4, 0, false, -EIO);
	expect_reject(VHOST_USER_SET_VRING_KICK, V, 8, p, 2, 1, false, -EIO);
}

static void test_eof_and_partial(void)
{
	static struct vhost_msg m;
	int sv[2];
	uint32_t hdr[3] = { VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 0 };
	int before = count_fds();

	pair(sv);
	shutdown(sv[0], SHUT_WR);
	CHECK_EQ(vhost_msg_recv(sv[1], &m, false), -ECONNRESET);
	close_pair(sv);

	pair(sv);
	raw_send(sv[0], hdr, 5, NULL, 0);
	shutdown(sv[0], SHUT_WR);
	CHECK_EQ(vhost_msg_recv(sv[1], &m, false), -EIO);
	close_pair(sv);

	/* A header split over several writes is reassembled. */
	pair(sv);
	raw_send(sv[0], hdr, 5, NULL, 0);
	raw_send(sv[0], (uint8_t *)hdr + 5, 7, NULL, 0);
	CHECK_EQ(vhost_msg_recv(sv[1], &m, false), 0);
	CHECK_EQ(m.request, VHOST_USER_GET_FEATURES);
	close_pair(sv);

	/* Two messages back to back are read one at a time. */
	pair(sv);
	vhost_msg_init(&m, VHOST_USER_SET_FEATURES, 8, false);
	m.payload.u64 = 42;
	CHECK_EQ(vhost_msg_send(sv[0], &m), 0);
	m.payload.u64 = 43;
	CHECK_EQ(vhost_msg_send(sv[0], &m), 0);
	CHECK_EQ(vhost_msg_recv(sv[1], &m, false), 0);
	CHECK_EQ(m.payload.u64, 42);
	CHECK_EQ(vhost_msg_recv(sv[1], &m, false), 0);
	CHECK_EQ(m.payload.u64, 43);
	close_pair(sv);
	CHECK_EQ(count_fds(), before);
}

static void test_decode(void)
{
	static struct vhost_msg m;
	uint8_t buf[64];
	uint32_t hdr[3] = { VHOST_USER_SET_VRING_CALL, VHOST_USER_VERSION, 8 };
	uint64_t u = 2;
	int before = count_fds();
	int fd;

	memcpy(buf, hdr, 12);
	memcpy(buf + 12, &u, 8);
	fd = eventfd(0, EFD_CLOEXEC);
	CHECK_EQ(vhost_msg_decode(&m, buf, 20, &fd, 1, false), 0);
	CHECK_EQ(m.nfds, 1);
	CHECK_EQ(m.fds[0], fd);
	vhost_msg_close_fds(&m);
	CHECK_EQ(count_fds(), before);

	fd = eventfd(0, EFD_CLOEXEC);
	CHECK_EQ(vhost_msg_decode(&m, buf, 21, &fd, 1, false), -EMSGSIZE);
	CHECK_EQ(count_fds(), before);
	fd = eventfd(0, EFD_CLOEXEC);
	CHECK_EQ(vhost_msg_decode(&m, buf, 11, &fd, 1, false), -EMSGSIZE);
	CHECK_EQ(count_fds(), before);
	CHECK_EQ(vhost_msg_decode(&m, buf, 20, NULL, 0, false), -EBADMSG);
	CHECK_EQ(count_fds(), before);

	/* Sending a malformed message is refused locally. */
	vhost_msg_init(&m, VHOST_USER_GET_FEATURES, 0, false);
	m.size = VHOST_USER_MAX_PAYLOAD + 1;
	CHECK_EQ(vhost_msg_send(-1, &m), -EINVAL);
	CHECK_EQ(vhost_msg_init(&m, 1, VHOST_USER_MAX_PAYLOAD + 1, false), -EINVAL);
	CHECK(strcmp(vhost_msg_request_name(VHOST_USER_GET_CONFIG), "GET_CONFIG") == 0);
	CHECK(strcmp(vhost_msg_request_name(9999), "UNKNOWN") == 0);
}

int main(void)
{
	RUN(test_roundtrip_requests);
	RUN(test_roundtrip_replies);
	RUN(test_reject);
	RUN(test_eof_and_partial);
	RUN(test_decode);
	return 0;
}
