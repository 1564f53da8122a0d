/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vsnd/log.h"
#include "vsnd/vhost-backend.h"

VSND_LOG_TOPIC(log_topic, "vhost.backend");

#define MAX_QUEUES 256u
/*
 * A frontend that stops in the middle of a message must not hang the
 * backend's loop forever: reads and writes of one message give up after
 * this long and the connection is dropped.
 */
#define IO_TIMEOUT_SEC 5

#define BASE_FEATURES                                   \
	((1ull << VIRTIO_F_VERSION_1) |                  \
	 (1ull << VIRTIO_RING_F_INDIRECT_DESC) |         \
	 (1ull << VIRTIO_RING_F_EVENT_IDX) |             \
	 (1ull << VHOST_USER_F_PROTOCOL_FEATURES))

struct bqueue {
	struct vhost_vq *vq;
	int kick_fd;
	bool kick_set;  /* SET_VRING_KICK received since the last stop */
	bool started;
	bool enabled;   /* SET_VRING_ENABLE value */
};

struct vhost_backend {
	struct vhost_dev_ops ops;
	void *data;
	unsigned int nq;
	unsigned int max_qsize;
	int listen_fd;
	int conn_fd;
	struct vhost_mem *mem;
	uint64_t features;
	bool features_set;
	uint64_t protocol_features;
	uint8_t status;
	bool owner;
	struct vhost_msg msg;
	struct vhost_msg reply;
	struct bqueue q[];
};

static void watch(struct vhost_backend *be, enum vhost_backend_fd_kind kind, int queue, int fd, bool add)
{
	if (fd >= 0 && be->ops.watch)
		be->ops.watch(be->data, kind, queue, fd, add);
}

struct vhost_backend *vhost_backend_new(const struct vhost_backend_config *cfg)
{
	struct vhost_backend *be;

	if (!cfg || !cfg->ops || !cfg->ops->get_features || cfg->num_queues == 0 ||
	    cfg->num_queues > MAX_QUEUES || cfg->max_queue_size > VHOST_VQ_MAX_SIZE) {
		errno = EINVAL;
		return NULL;
	}
	be = calloc(1, sizeof(*be) + cfg->num_queues * sizeof(struct bqueue));
	if (!be)
		return NULL;
	be->ops = *cfg->ops;
	be->data = cfg->data;
	be->nq = cfg->num_queues;
	be->max_qsize = cfg->max_queue_size ? cfg->max_queue_size : VHOST_VQ_MAX_SIZE;
	be->listen_fd = -1;
	be->conn_fd = -1;
	be->mem = vhost_mem_new();
	if (!be->mem)
		goto err_free;
	for (unsigned int i = 0; i < be->nq; i++) {
		be->q[i].kick_fd = -1;
		be->q[i].vq = vhost_vq_new(i);
		if (!be->q[i].vq)
			goto err_vqs;
	}
	return be;

err_vqs:
	for (unsigned int i = 0; i < be->nq; i++)
		vhost_vq_destroy(be->q[i].vq);
	vhost_mem_destroy(be->mem);
err_free:
	free(be);
	errno = ENOMEM;
	return NULL;
}

static bool enabled(const struct vhost_backend *be, const struct bqueue *q)
{
	/* Without F_PROTOCOL_FEATURES there is no SET_VRING_ENABLE: rings are enabled. */
	if (be->features_set && !(be->features & (1ull << VHOST_USER_F_PROTOCOL_FEATURES)))
		return true;
	return q->enabled;
}

/* Bring the device's view (active or not) in line with the ring state. */
static void update_active(struct vhost_backend *be, unsigned int i)
{
	struct bqueue *q = &be->q[i];
	bool want = q->started && enabled(be, q) && vhost_vq_has_addr(q->vq);

	if (want == vhost_vq_active(q->vq))
		return;
	vhost_vq_set_active(q->vq, want);
	vsnd_debug(&log_topic, "queue %u %s", i, want ? "started" : "stopped");
	if (want) {
		if (be->ops.queue_started)
			be->ops.queue_started(be->data, q->vq);
		/* Buffers may have been queued (and kicked) while the ring was disabled. */
		if (be->ops.queue_kicked)
			be->ops.queue_kicked(be->data, q->vq);
	} else if (be->ops.queue_stopped) {
		be->ops.queue_stopped(be->data, q->vq);
	}
}

static void close_kick(struct vhost_backend *be, unsigned int i)
{
	struct bqueue *q = &be->q[i];

	if (q->kick_fd >= 0) {
		watch(be, VHOST_BACKEND_FD_KICK, (int)i, q->kick_fd, false);
		close(q->kick_fd);
	}
	q->kick_fd = -1;
	q->kick_set = false;
}

static void stop_queue(struct vhost_backend *be, unsigned int i)
{
	be->q[i].started = false;
	update_active(be, i);
	close_kick(be, i);
}

/* RESET_DEVICE: rings and device state go back to the initial state; memory stays. */
static void reset_device(struct vhost_backend *be)
{
	for (unsigned int i = 0; i < be->nq; i++) {
		stop_queue(be, i);
		be->q[i].enabled = false;
		vhost_vq_reset(be->q[i].vq);
	}
	be->features = 0;
	be->features_set = false;
	be->status = 0;
	if (be->ops.reset)
		be->ops.reset(be->data);
}

static void drop_connection(struct vhost_backend *be)
{
	if (be->conn_fd < 0)
		return;
	reset_device(be);
	vhost_mem_clear(be->mem);
	be->protocol_features = 0;
	be->owner = false;
	watch(be, VHOST_BACKEND_FD_CONN, -1, be->conn_fd, false);
	close(be->conn_fd);
	be->conn_fd = -1;
	watch(be, VHOST_BACKEND_FD_LISTEN, -1, be->listen_fd, true);
}

void vhost_backend_destroy(struct vhost_backend *be)
{
	if (!be)
		return;
	drop_connection(be);
	for (unsigned int i = 0; i < be->nq; i++) {
		close_kick(be, i);
		vhost_vq_destroy(be->q[i].vq);
	}
	if (be->listen_fd >= 0) {
		watch(be, VHOST_BACKEND_FD_LISTEN, -1, be->listen_fd, false);
		close(be->listen_fd);
	}
	vhost_mem_destroy(be->mem);
	free(be);
}

static int set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static int setup_conn(struct vhost_backend *be, int fd)
{
	struct timeval tv = { .tv_sec = IO_TIMEOUT_SEC };

	/* Best effort: without the timeouts a stuck frontend only stalls us longer. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	be->conn_fd = fd;
	watch(be, VHOST_BACKEND_FD_LISTEN, -1, be->listen_fd, false);
	watch(be, VHOST_BACKEND_FD_CONN, -1, fd, true);
	vsnd_info(&log_topic, "frontend connected");
	return 0;
}

int vhost_backend_listen(struct vhost_backend *be, const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, r;

	if (be->listen_fd >= 0 || be->conn_fd >= 0)
		return -EBUSY;
	if (strlen(path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 4) < 0) {
		r = -errno;
		goto err_close;
	}
	be->listen_fd = fd;
	watch(be, VHOST_BACKEND_FD_LISTEN, -1, fd, true);
	return 0;

err_close:
	close(fd);
	return r;
}

int vhost_backend_set_fd(struct vhost_backend *be, int fd, bool connected)
{
	if (be->listen_fd >= 0 || be->conn_fd >= 0)
		return -EBUSY;
	if (fd < 0)
		return -EINVAL;
	if (connected)
		return setup_conn(be, fd);
	set_nonblock(fd);
	be->listen_fd = fd;
	watch(be, VHOST_BACKEND_FD_LISTEN, -1, fd, true);
	return 0;
}

int vhost_backend_listen_fd(const struct vhost_backend *be) { return be->listen_fd; }
int vhost_backend_conn_fd(const struct vhost_backend *be) { return be->conn_fd; }
bool vhost_backend_connected(const struct vhost_backend *be) { return be->conn_fd >= 0; }
uint64_t vhost_backend_acked_features(const struct vhost_backend *be) { return be->features; }
uint64_t vhost_backend_acked_protocol_features(const struct vhost_backend *be)
{
	return be->protocol_features;
}

int vhost_backend_kick_fd(const struct vhost_backend *be, unsigned int queue)
{
	return queue < be->nq ? be->q[queue].kick_fd : -1;
}

struct vhost_vq *vhost_backend_vq(struct vhost_backend *be, unsigned int index)
{
	return index < be->nq ? be->q[index].vq : NULL;
}

int vhost_backend_accept(struct vhost_backend *be)
{
	int fd;

	if (be->conn_fd >= 0 || be->listen_fd < 0)
		return 0;
	fd = accept4(be->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return 0;
		return -errno;
	}
	setup_conn(be, fd);
	return 1;
}

/* ---- message handlers: return 0 or -errno (sent as a NACK if asked) ---- */

static uint64_t offered_features(struct vhost_backend *be)
{
	return be->ops.get_features(be->data) | BASE_FEATURES;
}

static int get_queue(struct vhost_backend *be, uint64_t index, unsigned int *out)
{
	if (index >= be->nq)
		return -EINVAL;
	*out = (unsigned int)index;
	return 0;
}

static void reply_u64(struct vhost_backend *be, uint64_t v)
{
	vhost_msg_init(&be->reply, be->msg.request, sizeof(uint64_t), true);
	be->reply.payload.u64 = v;
}

static int handle_set_features(struct vhost_backend *be, uint64_t v)
{
	int r;

	if (v & ~offered_features(be))
		return -EINVAL;
	if (be->ops.set_features) {
		r = be->ops.set_features(be->data, v);
		if (r < 0)
			return r;
	}
	be->features = v;
	be->features_set = true;
	for (unsigned int i = 0; i < be->nq; i++) {
		vhost_vq_set_features(be->q[i].vq, v);
		update_active(be, i);
	}
	return 0;
}

static int handle_mem_table(struct vhost_backend *be)
{
	struct vhost_msg *m = &be->msg;
	int r;

	/*
	 * Devices may hold iovecs into the old mapping: stop active queues so
	 * they let go of them before it disappears; update_active() restarts
	 * them (queue_started + queue_kicked) once their rings translate again.
	 * An identical table (QEMU re-sends it on every start) keeps the mapping.
	 */
	bool same = vhost_mem_same_table(be->mem, m->payload.mem.regions, m->payload.mem.nregions, m->fds);

	for (unsigned int i = 0; i < be->nq && !same; i++) {
		if (vhost_vq_active(be->q[i].vq)) {
			vhost_vq_set_active(be->q[i].vq, false);
			if (be->ops.queue_stopped)
				be->ops.queue_stopped(be->data, be->q[i].vq);
		}
	}
	r = vhost_mem_set_table(be->mem, m->payload.mem.regions, m->payload.mem.nregions, m->fds);
	/* set_table consumed the fds whatever happened. */
	m->nfds = 0;
	for (unsigned int i = 0; i < be->nq; i++) {
		if (vhost_vq_remap(be->q[i].vq) < 0)
			vsnd_warn(&log_topic, "queue %u: ring not inside the new memory table", i);
		update_active(be, i);
	}
	return r;
}

static int handle_vring_fd(struct vhost_backend *be)
{
	struct vhost_msg *m = &be->msg;
	uint64_t v = m->payload.u64;
	unsigned int i;
	int fd = -1;

	if (v & ~(VHOST_USER_VRING_IDX_MASK | VHOST_USER_VRING_NOFD_MASK))
		return -EINVAL;
	if (get_queue(be, v & VHOST_USER_VRING_IDX_MASK, &i) < 0)
		return -EINVAL;
	if (!(v & VHOST_USER_VRING_NOFD_MASK)) {
		fd = m->fds[0];
		m->fds[0] = -1;
		m->nfds = 0;
	}
	switch (m->request) {
	case VHOST_USER_SET_VRING_KICK:
		close_kick(be, i);
		be->q[i].kick_set = true;
		if (fd < 0) {
			/* No kick fd: the device must poll, so the ring starts now. */
			be->q[i].started = true;
		} else {
			set_nonblock(fd);
			be->q[i].kick_fd = fd;
			watch(be, VHOST_BACKEND_FD_KICK, (int)i, fd, true);
		}
		update_active(be, i);
		break;
	case VHOST_USER_SET_VRING_CALL:
		vhost_vq_set_call_fd(be->q[i].vq, fd);
		break;
	default:
		vhost_vq_set_err_fd(be->q[i].vq, fd);
		break;
	}
	return 0;
}

static int handle_get_config(struct vhost_backend *be)
{
	const struct vhost_user_config *in = &be->msg.payload.config;
	struct vhost_user_config *out = &be->reply.payload.config;
	int r = -ENOTSUP;

	vhost_msg_init(&be->reply, VHOST_USER_GET_CONFIG, VHOST_USER_CONFIG_HDR_SIZE + in->size, true);
	out->offset = in->offset;
	out->size = in->size;
	out->flags = in->flags;
	if ((uint64_t)in->offset + in->size > UINT32_MAX)
		r = -EINVAL;
	else if (be->ops.get_config)
		r = be->ops.get_config(be->data, in->offset, out->region, in->size);
	if (r < 0) {
		/* vhost-user.rst: a failed GET_CONFIG is answered with an empty payload. */
		vhost_msg_init(&be->reply, VHOST_USER_GET_CONFIG, 0, true);
		vsnd_debug(&log_topic, "GET_CONFIG(%" PRIu32 ", %" PRIu32 ") refused", in->offset, in->size);
	}
	return 0;
}

static uint8_t current_status(const struct vhost_backend *be)
{
	uint8_t s = be->status;
	for (unsigned int i = 0; i < be->nq; i++)
		if (vhost_vq_broken(be->q[i].vq))
			s |= VIRTIO_CONFIG_S_NEEDS_RESET;
	return s;
}

/* Returns 0/-errno for the ack; sets *has_reply when be->reply is the answer. */
static int handle(struct vhost_backend *be, bool *has_reply)
{
	struct vhost_msg *m = &be->msg;
	uint64_t v = m->payload.u64;
	unsigned int i;
	int r;

	*has_reply = false;
	switch (m->request) {
	case VHOST_USER_GET_FEATURES:
		reply_u64(be, offered_features(be));
		*has_reply = true;
		return 0;
	case VHOST_USER_SET_FEATURES:
		return handle_set_features(be, v);
	case VHOST_USER_GET_PROTOCOL_FEATURES:
		reply_u64(be, VHOST_BACKEND_PROTOCOL_FEATURES);
		*has_reply = true;
		return 0;
	case VHOST_USER_SET_PROTOCOL_FEATURES:
		if (v & ~VHOST_BACKEND_PROTOCOL_FEATURES)
			return -EINVAL;
		be->protocol_features = v;
		return 0;
	case VHOST_USER_SET_OWNER:
		be->owner = true;
		return 0;
	case VHOST_USER_RESET_OWNER:
		reset_device(be);
		be->owner = false;
		return 0;
	case VHOST_USER_RESET_DEVICE:
		reset_device(be);
		return 0;
	case VHOST_USER_SET_MEM_TABLE:
		return handle_mem_table(be);
	case VHOST_USER_GET_QUEUE_NUM:
		reply_u64(be, be->nq);
		*has_reply = true;
		return 0;
	case VHOST_USER_SET_VRING_NUM:
		if (get_queue(be, m->payload.state.index, &i) < 0 || m->payload.state.num > be->max_qsize)
			return -EINVAL;
		if (be->q[i].started)
			return -EBUSY;
		r = vhost_vq_set_num(be->q[i].vq, m->payload.state.num);
		update_active(be, i);
		return r;
	case VHOST_USER_SET_VRING_ADDR:
		if (get_queue(be, m->payload.addr.index, &i) < 0)
			return -EINVAL;
		r = vhost_vq_set_addr(be->q[i].vq, be->mem, m->payload.addr.desc_user_addr,
				      m->payload.addr.avail_user_addr, m->payload.addr.used_user_addr);
		if (r < 0)
			vsnd_warn(&log_topic, "queue %u: ring addresses outside guest memory", i);
		update_active(be, i);
		return r;
	case VHOST_USER_SET_VRING_BASE:
		if (get_queue(be, m->payload.state.index, &i) < 0)
			return -EINVAL;
		if (be->q[i].started)
			return -EBUSY;
		return vhost_vq_set_base(be->q[i].vq, m->payload.state.num);
	case VHOST_USER_GET_VRING_BASE:
		if (get_queue(be, m->payload.state.index, &i) < 0) {
			/* This request has its own reply; a bad index still gets one. */
			vhost_msg_init(&be->reply, m->request, sizeof(struct vhost_user_vring_state), true);
			be->reply.payload.state.index = m->payload.state.index;
			be->reply.payload.state.num = 0;
			*has_reply = true;
			return -EINVAL;
		}
		stop_queue(be, i);
		vhost_vq_set_call_fd(be->q[i].vq, -1);
		vhost_msg_init(&be->reply, m->request, sizeof(struct vhost_user_vring_state), true);
		be->reply.payload.state.index = i;
		be->reply.payload.state.num = vhost_vq_get_base(be->q[i].vq);
		*has_reply = true;
		return 0;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		return handle_vring_fd(be);
	case VHOST_USER_SET_VRING_ENABLE:
		if (get_queue(be, m->payload.state.index, &i) < 0 || m->payload.state.num > 1)
			return -EINVAL;
		be->q[i].enabled = m->payload.state.num;
		update_active(be, i);
		return 0;
	case VHOST_USER_GET_CONFIG:
		*has_reply = true;
		return handle_get_config(be);
	case VHOST_USER_SET_CONFIG:
		if (!be->ops.set_config)
			return -ENOTSUP;
		if ((uint64_t)m->payload.config.offset + m->payload.config.size > UINT32_MAX)
			return -EINVAL;
		return be->ops.set_config(be->data, m->payload.config.offset, m->payload.config.region,
					  m->payload.config.size, m->payload.config.flags);
	case VHOST_USER_GET_STATUS:
		reply_u64(be, current_status(be));
		*has_reply = true;
		return 0;
	case VHOST_USER_SET_STATUS:
		if (v > 0xff)
			return -EINVAL;
		be->status = (uint8_t)v;
		return 0;
	default:
		vsnd_warn(&log_topic, "unsupported request %s (%" PRIu32 ")",
			  vhost_msg_request_name(m->request), m->request);
		return -ENOTSUP;
	}
}

int vhost_backend_dispatch(struct vhost_backend *be)
{
	struct vhost_msg *m = &be->msg;
	bool has_reply;
	int r;

	if (be->conn_fd < 0)
		return -ENOTCONN;
	r = vhost_msg_recv(be->conn_fd, m, false);
	if (r < 0) {
		if (r == -ECONNRESET)
			vsnd_info(&log_topic, "frontend disconnected");
		else
			vsnd_warn(&log_topic, "bad message from frontend (%s): dropping it", strerror(-r));
		goto drop;
	}
	vsnd_debug(&log_topic, "<- %s size %" PRIu32 " fds %u", vhost_msg_request_name(m->request),
		   m->size, m->nfds);
	r = handle(be, &has_reply);
	vhost_msg_close_fds(m);
	if (r < 0)
		vsnd_debug(&log_topic, "%s refused: %s", vhost_msg_request_name(m->request), strerror(-r));
	if (!has_reply && (m->flags & VHOST_USER_NEED_REPLY_MASK)) {
		/* REPLY_ACK: zero for success, non-zero for failure. */
		reply_u64(be, r < 0 ? 1 : 0);
		has_reply = true;
	}
	if (has_reply) {
		r = vhost_msg_send(be->conn_fd, &be->reply);
		if (r < 0) {
			vsnd_warn(&log_topic, "cannot reply to frontend: %s", strerror(-r));
			goto drop;
		}
	}
	return 0;
drop:
	drop_connection(be);
	return -ECONNRESET;
}

int vhost_backend_dispatch_kick(struct vhost_backend *be, unsigned int queue)
{
	struct bqueue *q;
	uint64_t cnt;

	if (queue >= be->nq || be->q[queue].kick_fd < 0)
		return -EINVAL;
	q = &be->q[queue];
	/* Only a real kick counts: a stale poll result finds the counter empty. */
	if (read(q->kick_fd, &cnt, sizeof(cnt)) != sizeof(cnt))
		return 0;
	if (!q->started && q->kick_set) {
		q->started = true;
		update_active(be, queue); /* calls queue_kicked once active */
		return 0;
	}
	if (vhost_vq_active(q->vq) && be->ops.queue_kicked)
		be->ops.queue_kicked(be->data, q->vq);
	return 0;
}

int vhost_backend_fill_pollfds(const struct vhost_backend *be, struct pollfd *pfd, unsigned int max)
{
	unsigned int n = 0;

#define ADD(fd_)                                              \
	do {                                                  \
		if (n >= max)                                 \
			return -ENOSPC;                       \
		pfd[n++] = (struct pollfd){ .fd = (fd_), .events = POLLIN }; \
	} while (0)
	if (be->conn_fd >= 0)
		ADD(be->conn_fd);
	else if (be->listen_fd >= 0)
		ADD(be->listen_fd);
	for (unsigned int i = 0; i < be->nq; i++)
		if (be->q[i].kick_fd >= 0)
			ADD(be->q[i].kick_fd);
#undef ADD
	return (int)n;
}

int vhost_backend_dispatch_pollfds(struct vhost_backend *be, const struct pollfd *pfd, unsigned int n)
{
	int r;

	for (unsigned int k = 0; k < n; k++) {
		if (!pfd[k].revents || pfd[k].fd < 0)
			continue;
		if (pfd[k].fd == be->conn_fd) {
			r = vhost_backend_dispatch(be);
			if (r == -ECONNRESET && be->listen_fd < 0)
				return r;
			continue;
		}
		if (be->conn_fd < 0 && pfd[k].fd == be->listen_fd) {
			r = vhost_backend_accept(be);
			if (r < 0)
				return r;
			continue;
		}
		for (unsigned int i = 0; i < be->nq; i++) {
			if (be->q[i].kick_fd == pfd[k].fd) {
				vhost_backend_dispatch_kick(be, i);
				break;
			}
		}
	}
	return 0;
}
