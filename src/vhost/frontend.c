/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vsnd/clock.h"
#include "vsnd/log.h"
#include "vsnd/vhost-frontend.h"
#include "vsnd/vhost-msg.h"

VSND_LOG_TOPIC(log_topic, "vhost.frontend");

#define IO_TIMEOUT_SEC 5
#define FE_MAX_QUEUE_SIZE 32768u
#define WANTED_PROTOCOL                                  \
	((1ull << VHOST_USER_PROTOCOL_F_MQ) |             \
	 (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |      \
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIG))

struct fqueue {
	unsigned int num;
	struct vring vr;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	int kick_fd, call_fd;
	uint16_t avail_idx;
	uint16_t used_seen;
	uint16_t free_head;
	unsigned int num_free;
	uint16_t *next;       /* driver-private chain links (the shared table is not trusted) */
	uint16_t *chain_len;  /* per head, 0 = not in flight */
	void **token;
};

struct vhost_frontend {
	int sock;
	uint64_t features;
	bool features_set;
	uint64_t protocol_features;
	struct vhost_frontend_config cfg; /* socket_path points to path below */
	char *path;
	int memfd;
	uint8_t *ram;
	size_t ram_size;
	size_t ram_used;
	uint8_t *config;
	size_t config_len;
	unsigned int nq;
	struct vhost_msg msg;
	struct vhost_msg rep;
	struct fqueue q[VHOST_FRONTEND_MAX_QUEUES];
};

static int connect_retry(const char *path, int timeout_ms)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	uint64_t deadline = vsnd_now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * VSND_NSEC_PER_MSEC;

	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			return fd;
		int err = errno;
		close(fd);
		/* The backend may not have created its socket yet: retry only for that. */
		if ((err != ENOENT && err != ECONNREFUSED) || vsnd_now_ns() >= deadline)
			return -err;
		vsnd_sleep_ns(10 * VSND_NSEC_PER_MSEC);
	}
}

static int fail(struct vhost_frontend *fe, int r)
{
	if (r == -EPIPE || r == -ECONNRESET || r == -EIO || r == -EAGAIN) {
		if (fe->sock >= 0)
			close(fe->sock);
		fe->sock = -1;
		vsnd_warn(&log_topic, "backend connection lost (%s)", strerror(-r));
	}
	return r;
}

/*
 * Send fe->msg; if @want_reply, receive the reply into fe->rep. With
 * REPLY_ACK negotiated, requests without a reply of their own ask for an
 * ack so that failures are reported (and ordering is guaranteed).
 */
static int request(struct vhost_frontend *fe, bool want_reply)
{
	int r;
	bool ack = !want_reply && (fe->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK));

	if (fe->sock < 0)
		return -ENOTCONN;
	if (ack)
		fe->msg.flags |= VHOST_USER_NEED_REPLY_MASK;
	r = vhost_msg_send(fe->sock, &fe->msg);
	if (r < 0)
		return fail(fe, r);
	if (!want_reply && !ack)
		return 0;
	r = vhost_msg_recv(fe->sock, &fe->rep, true);
	if (r < 0)
		return fail(fe, r == -ECONNRESET ? -ECONNRESET : -EIO);
	if (fe->rep.request != fe->msg.request)
		return fail(fe, -EIO);
	if (ack)
		return fe->rep.payload.u64 ? -EIO : 0;
	return 0;
}

static int get_u64(struct vhost_frontend *fe, uint32_t req, uint64_t *v)
{
	vhost_msg_init(&fe->msg, req, 0, false);
	int r = request(fe, true);
	if (r < 0)
		return r;
	if (fe->rep.size != sizeof(uint64_t))
		return -EPROTO;
	*v = fe->rep.payload.u64;
	return 0;
}

static int set_u64(struct vhost_frontend *fe, uint32_t req, uint64_t v)
{
	vhost_msg_init(&fe->msg, req, sizeof(uint64_t), false);
	fe->msg.payload.u64 = v;
	return request(fe, false);
}

static int set_state(struct vhost_frontend *fe, uint32_t req, uint32_t index, uint32_t num)
{
	vhost_msg_init(&fe->msg, req, sizeof(struct vhost_user_vring_state), false);
	fe->msg.payload.state.index = index;
	fe->msg.payload.state.num = num;
	return request(fe, false);
}

static int set_vring_fd(struct vhost_frontend *fe, uint32_t req, uint32_t index, int fd)
{
	vhost_msg_init(&fe->msg, req, sizeof(uint64_t), false);
	fe->msg.payload.u64 = index;
	fe->msg.fds[0] = fd;
	fe->msg.nfds = 1;
	return request(fe, false);
}

int vhost_frontend_alloc(struct vhost_frontend *fe, size_t len, size_t align, uint64_t *gpa)
{
	size_t start;

	if (align == 0 || (align & (align - 1)))
		return -EINVAL;
	start = (fe->ram_used + align - 1) & ~(align - 1);
	if (start > fe->ram_size || len > fe->ram_size - start)
		return -ENOMEM;
	fe->ram_used = start + len;
	*gpa = start;
	return 0;
}

void *vhost_frontend_ptr(struct vhost_frontend *fe, uint64_t gpa, size_t len)
{
	if (gpa > fe->ram_size || len > fe->ram_size - gpa)
		return NULL;
	return fe->ram + gpa;
}

static int alloc_ram(struct vhost_frontend *fe, size_t size)
{
	fe->memfd = memfd_create("vsnd-guest-ram", MFD_CLOEXEC);
	if (fe->memfd < 0)
		return -errno;
	if (ftruncate(fe->memfd, (off_t)size) < 0)
		return -errno;
	fe->ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fe->memfd, 0);
	if (fe->ram == MAP_FAILED) {
		fe->ram = NULL;
		return -errno;
	}
	fe->ram_size = size;
	return 0;
}

static int send_mem_table(struct vhost_frontend *fe)
{
	vhost_msg_init(&fe->msg, VHOST_USER_SET_MEM_TABLE, 8 + sizeof(struct vhost_user_mem_region), false);
	fe->msg.payload.mem.nregions = 1;
	fe->msg.payload.mem.regions[0] = (struct vhost_user_mem_region){
		.guest_phys_addr = 0,
		.memory_size = fe->ram_size,
		.userspace_addr = (uint64_t)(uintptr_t)fe->ram,
		.mmap_offset = 0,
	};
	fe->msg.fds[0] = fe->memfd;
	fe->msg.nfds = 1;
	return request(fe, false);
}

static int alloc_queue(struct vhost_frontend *fe, unsigned int i, unsigned int num)
{
	struct fqueue *q = &fe->q[i];
	int r;

	if (num == 0 || num > FE_MAX_QUEUE_SIZE || (num & (num - 1)))
		return -EINVAL;
	q->num = num;
	q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	q->next = calloc(num, sizeof(*q->next));
	q->chain_len = calloc(num, sizeof(*q->chain_len));
	q->token = calloc(num, sizeof(*q->token));
	if (q->kick_fd < 0 || q->call_fd < 0 || !q->next || !q->chain_len || !q->token)
		return -ENOMEM;
	if ((r = vhost_frontend_alloc(fe, 16ull * num, 4096, &q->desc_gpa)) < 0 ||
	    (r = vhost_frontend_alloc(fe, 6ull + 2ull * num, 4096, &q->avail_gpa)) < 0 ||
	    (r = vhost_frontend_alloc(fe, 6ull + 8ull * num, 4096, &q->used_gpa)) < 0)
		return r;
	q->vr.num = num;
	q->vr.desc = (void *)(fe->ram + q->desc_gpa);
	q->vr.avail = (void *)(fe->ram + q->avail_gpa);
	q->vr.used = (void *)(fe->ram + q->used_gpa);
	for (unsigned int k = 0; k < num; k++)
		q->next[k] = (uint16_t)(k + 1);
	q->free_head = 0;
	q->num_free = num;
	return 0;
}

/* Describe ring @i to the backend, starting at avail index @base. */
static int send_queue(struct vhost_frontend *fe, unsigned int i, uint16_t base)
{
	struct fqueue *q = &fe->q[i];
	int r;

	if ((r = set_state(fe, VHOST_USER_SET_VRING_NUM, i, q->num)) < 0 ||
	    (r = set_state(fe, VHOST_USER_SET_VRING_BASE, i, base)) < 0)
		return r;
	vhost_msg_init(&fe->msg, VHOST_USER_SET_VRING_ADDR, sizeof(struct vhost_user_vring_addr), false);
	fe->msg.payload.addr.index = i;
	fe->msg.payload.addr.desc_user_addr = (uint64_t)(uintptr_t)q->vr.desc;
	fe->msg.payload.addr.avail_user_addr = (uint64_t)(uintptr_t)q->vr.avail;
	fe->msg.payload.addr.used_user_addr = (uint64_t)(uintptr_t)q->vr.used;
	if ((r = request(fe, false)) < 0)
		return r;
	if ((r = set_vring_fd(fe, VHOST_USER_SET_VRING_KICK, i, q->kick_fd)) < 0 ||
	    (r = set_vring_fd(fe, VHOST_USER_SET_VRING_CALL, i, q->call_fd)) < 0)
		return r;
	if (fe->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES))
		return set_state(fe, VHOST_USER_SET_VRING_ENABLE, i, 1);
	return 0;
}

static int negotiate(struct vhost_frontend *fe, const struct vhost_frontend_config *cfg)
{
	uint64_t offer, proto = 0, nq = cfg->num_queues;
	int r;

	if ((r = get_u64(fe, VHOST_USER_GET_FEATURES, &offer)) < 0)
		return r;
	if (offer & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)) {
		if ((r = get_u64(fe, VHOST_USER_GET_PROTOCOL_FEATURES, &proto)) < 0)
			return r;
		proto &= WANTED_PROTOCOL;
		if ((r = set_u64(fe, VHOST_USER_SET_PROTOCOL_FEATURES, proto)) < 0)
			return r;
		/* Only now may requests ask for acks. */
		fe->protocol_features = proto;
	}
	if (nq == 0) {
		if (!(proto & (1ull << VHOST_USER_PROTOCOL_F_MQ)))
			return -ENOTSUP;
		if ((r = get_u64(fe, VHOST_USER_GET_QUEUE_NUM, &nq)) < 0)
			return r;
	}
	if (nq == 0 || nq > VHOST_FRONTEND_MAX_QUEUES || (fe->nq && nq < fe->nq))
		return -ENOTSUP;
	if (!fe->nq)
		fe->nq = (unsigned int)nq;
	vhost_msg_init(&fe->msg, VHOST_USER_SET_OWNER, 0, false);
	if ((r = request(fe, false)) < 0)
		return r;
	uint64_t want = offer & (cfg->features | (1ull << VIRTIO_F_VERSION_1) |
				 (1ull << VIRTIO_RING_F_EVENT_IDX) |
				 (1ull << VHOST_USER_F_PROTOCOL_FEATURES));
	/* A restarted backend must still offer what the driver already uses. */
	if (fe->features_set && want != fe->features)
		return -ENOTSUP;
	fe->features = want;
	fe->features_set = true;
	return set_u64(fe, VHOST_USER_SET_FEATURES, fe->features);
}

static int open_socket(struct vhost_frontend *fe, int timeout_ms)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_SEC };
	int fd = connect_retry(fe->path, timeout_ms);

	if (fd < 0)
		return (timeout_ms > 0 && (fd == -ENOENT || fd == -ECONNREFUSED)) ? -ETIMEDOUT : fd;
	/* Best effort: bounds how long a hung backend can block us. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	fe->sock = fd;
	return 0;
}

int vhost_frontend_reconnect(struct vhost_frontend *fe, int timeout_ms)
{
	int r;

	if (fe->sock >= 0)
		close(fe->sock);
	fe->sock = -1;
	fe->protocol_features = 0;
	vhost_frontend_invalidate_config(fe);
	if ((r = open_socket(fe, timeout_ms)) < 0 || (r = negotiate(fe, &fe->cfg)) < 0 ||
	    (r = send_mem_table(fe)) < 0)
		goto err;
	for (unsigned int i = 0; i < fe->nq; i++) {
		/*
		 * What the old backend completed is in the used ring; what it had
		 * popped but not completed is lost with it, so the new one starts
		 * at the used index (QEMU does the same without inflight tracking)
		 * and processes those chains again.
		 */
		uint16_t base = le16toh(__atomic_load_n(&fe->q[i].vr.used->idx, __ATOMIC_ACQUIRE));
		if ((r = send_queue(fe, i, base)) < 0)
			goto err;
		/* Rings start on a kick: let the backend look at what is pending. */
		vhost_frontend_kick(fe, i);
	}
	vsnd_info(&log_topic, "reconnected to %s", fe->path);
	return 0;
err:
	if (fe->sock >= 0)
		close(fe->sock);
	fe->sock = -1;
	return r;
}

struct vhost_frontend *vhost_frontend_new(const struct vhost_frontend_config *cfg)
{
	struct vhost_frontend *fe;
	int r;

	if (!cfg || !cfg->socket_path) {
		errno = EINVAL;
		return NULL;
	}
	fe = calloc(1, sizeof(*fe));
	if (!fe)
		return NULL;
	fe->memfd = -1;
	for (unsigned int i = 0; i < VHOST_FRONTEND_MAX_QUEUES; i++)
		fe->q[i].kick_fd = fe->q[i].call_fd = -1;
	fe->sock = -1;
	fe->cfg = *cfg;
	fe->cfg.queue_sizes = NULL; /* only needed here */
	fe->path = strdup(cfg->socket_path);
	if (!fe->path) {
		r = -ENOMEM;
		goto err;
	}
	fe->cfg.socket_path = fe->path;
	fe->cfg.name = NULL;
	if ((r = open_socket(fe, cfg->connect_timeout_ms)) < 0)
		goto err;
	if ((r = negotiate(fe, &fe->cfg)) < 0)
		goto err;
	if ((r = alloc_ram(fe, cfg->ram_size ? cfg->ram_size : VHOST_FRONTEND_DEFAULT_RAM)) < 0 ||
	    (r = send_mem_table(fe)) < 0)
		goto err;
	for (unsigned int i = 0; i < fe->nq; i++) {
		unsigned int num = VHOST_FRONTEND_DEFAULT_QUEUE_SIZE;
		if (cfg->queue_sizes && i < cfg->num_queues)
			num = cfg->queue_sizes[i];
		if ((r = alloc_queue(fe, i, num)) < 0 || (r = send_queue(fe, i, 0)) < 0)
			goto err;
	}
	vsnd_info(&log_topic, "%s: connected to %s, %u queues, features %#llx",
		  cfg->name ? cfg->name : "vhost-user", cfg->socket_path, fe->nq,
		  (unsigned long long)fe->features);
	return fe;
err:
	vhost_frontend_destroy(fe);
	errno = r == -EIO ? EPROTO : -r;
	return NULL;
}

void vhost_frontend_destroy(struct vhost_frontend *fe)
{
	if (!fe)
		return;
	for (unsigned int i = 0; i < VHOST_FRONTEND_MAX_QUEUES; i++) {
		struct fqueue *q = &fe->q[i];
		if (q->kick_fd >= 0)
			close(q->kick_fd);
		if (q->call_fd >= 0)
			close(q->call_fd);
		free(q->next);
		free(q->chain_len);
		free(q->token);
	}
	if (fe->sock >= 0)
		close(fe->sock);
	if (fe->ram)
		munmap(fe->ram, fe->ram_size);
	if (fe->memfd >= 0)
		close(fe->memfd);
	free(fe->config);
	free(fe->path);
	free(fe);
}

bool vhost_frontend_connected(const struct vhost_frontend *fe) { return fe->sock >= 0; }
uint64_t vhost_frontend_features(const struct vhost_frontend *fe) { return fe->features; }
uint64_t vhost_frontend_protocol_features(const struct vhost_frontend *fe) { return fe->protocol_features; }
unsigned int vhost_frontend_num_queues(const struct vhost_frontend *fe) { return fe->nq; }
size_t vhost_frontend_config_cached(const struct vhost_frontend *fe) { return fe->config_len; }

void vhost_frontend_invalidate_config(struct vhost_frontend *fe)
{
	fe->config_len = 0;
}

/* Fetch config bytes [fe->config_len, end) and append them to the cache. */
static int grow_config(struct vhost_frontend *fe, uint64_t end)
{
	uint8_t *nc;

	if (end > UINT32_MAX)
		return -EINVAL;
	nc = realloc(fe->config, (size_t)end);
	if (!nc)
		return -ENOMEM;
	fe->config = nc;
	while (fe->config_len < end) {
		uint32_t chunk = (uint32_t)(end - fe->config_len);
		if (chunk > VHOST_USER_MAX_CONFIG_SIZE)
			chunk = VHOST_USER_MAX_CONFIG_SIZE;
		vhost_msg_init(&fe->msg, VHOST_USER_GET_CONFIG, VHOST_USER_CONFIG_HDR_SIZE + chunk, false);
		fe->msg.payload.config.offset = (uint32_t)fe->config_len;
		fe->msg.payload.config.size = chunk;
		int r = request(fe, true);
		if (r < 0)
			return r;
		/* An empty reply is the backend's refusal (range outside its config space). */
		if (fe->rep.size == 0)
			return -EINVAL;
		if (fe->rep.payload.config.size != chunk || fe->rep.payload.config.offset != fe->config_len)
			return -EPROTO;
		memcpy(fe->config + fe->config_len, fe->rep.payload.config.region, chunk);
		fe->config_len += chunk;
	}
	return 0;
}

int vhost_frontend_read_config(struct vhost_frontend *fe, uint32_t offset, void *buf, uint32_t len)
{
	uint64_t end = (uint64_t)offset + len;

	if (!(fe->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIG)))
		return -ENOTSUP;
	if (end > fe->config_len) {
		int r = grow_config(fe, end);
		if (r < 0)
			return r;
	}
	memcpy(buf, fe->config + offset, len);
	return 0;
}

int vhost_frontend_write_config(struct vhost_frontend *fe, uint32_t offset, const void *buf, uint32_t len)
{
	if (!(fe->protocol_features & (1ull << VHOST_USER_PROTOCOL_F_CONFIG)))
		return -ENOTSUP;
	if (len > VHOST_USER_MAX_CONFIG_SIZE)
		return -EINVAL;
	vhost_frontend_invalidate_config(fe);
	vhost_msg_init(&fe->msg, VHOST_USER_SET_CONFIG, VHOST_USER_CONFIG_HDR_SIZE + len, false);
	fe->msg.payload.config.offset = offset;
	fe->msg.payload.config.size = len;
	memcpy(fe->msg.payload.config.region, buf, len);
	return request(fe, false);
}

int vhost_frontend_add(struct vhost_frontend *fe, unsigned int qi, const struct vhost_frontend_buf *bufs,
		       unsigned int n_out, unsigned int n_in, void *token)
{
	struct fqueue *q;
	unsigned int n = n_out + n_in;
	uint16_t head, d;

	if (qi >= fe->nq || n == 0)
		return -EINVAL;
	q = &fe->q[qi];
	if (n > q->num_free)
		return -ENOSPC;
	for (unsigned int i = 0; i < n; i++)
		if (!vhost_frontend_ptr(fe, bufs[i].gpa, bufs[i].len))
			return -EINVAL;
	head = d = q->free_head;
	for (unsigned int i = 0; i < n; i++) {
		uint16_t flags = (i >= n_out ? VRING_DESC_F_WRITE : 0) | (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		q->vr.desc[d].addr = htole64(bufs[i].gpa);
		q->vr.desc[d].len = htole32(bufs[i].len);
		q->vr.desc[d].flags = htole16(flags);
		q->vr.desc[d].next = htole16(i + 1 < n ? q->next[d] : 0);
		if (i + 1 < n)
			d = q->next[d];
	}
	q->free_head = q->next[d];
	q->num_free -= n;
	q->chain_len[head] = (uint16_t)n;
	q->token[head] = token;
	q->vr.avail->ring[q->avail_idx & (q->num - 1)] = htole16(head);
	q->avail_idx++;
	/* Descriptors and ring entry before the index that publishes them. */
	__atomic_store_n(&q->vr.avail->idx, htole16(q->avail_idx), __ATOMIC_RELEASE);
	return head;
}

int vhost_frontend_kick(struct vhost_frontend *fe, unsigned int qi)
{
	uint64_t one = 1;

	if (qi >= fe->nq)
		return -EINVAL;
	if (write(fe->q[qi].kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		return -errno;
	return 0;
}

int vhost_frontend_get_used(struct vhost_frontend *fe, unsigned int qi, uint32_t *len, void **token)
{
	struct fqueue *q;
	uint16_t idx, d;
	uint32_t id;

	if (qi >= fe->nq)
		return -EINVAL;
	q = &fe->q[qi];
	idx = le16toh(__atomic_load_n(&q->vr.used->idx, __ATOMIC_ACQUIRE));
	if (idx == q->used_seen)
		return 0;
	id = le32toh(q->vr.used->ring[q->used_seen & (q->num - 1)].id);
	if (id >= q->num || q->chain_len[id] == 0)
		return -EIO;
	if (len)
		*len = le32toh(q->vr.used->ring[q->used_seen & (q->num - 1)].len);
	if (token)
		*token = q->token[id];
	q->used_seen++;
	/* Return the chain to the free list through our private links. */
	d = (uint16_t)id;
	for (unsigned int i = 1; i < q->chain_len[id]; i++)
		d = q->next[d];
	q->next[d] = q->free_head;
	q->free_head = (uint16_t)id;
	q->num_free += q->chain_len[id];
	q->chain_len[id] = 0;
	if (fe->features & (1ull << VIRTIO_RING_F_EVENT_IDX))
		vring_used_event(&q->vr) = htole16(q->used_seen); /* interrupt on the next completion */
	return 1;
}

int vhost_frontend_call_fd(const struct vhost_frontend *fe, unsigned int qi)
{
	return qi < fe->nq ? fe->q[qi].call_fd : -1;
}

int vhost_frontend_stop_queue(struct vhost_frontend *fe, unsigned int qi)
{
	int r;

	if (qi >= fe->nq)
		return -EINVAL;
	vhost_msg_init(&fe->msg, VHOST_USER_GET_VRING_BASE, sizeof(struct vhost_user_vring_state), false);
	fe->msg.payload.state.index = qi;
	r = request(fe, true);
	if (r < 0)
		return r;
	if (fe->rep.size != sizeof(struct vhost_user_vring_state))
		return -EPROTO;
	return (int)(fe->rep.payload.state.num & 0xffff);
}
