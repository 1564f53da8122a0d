/* SPDX-License-Identifier: MIT */
/*
 * vhost-user backend (device side) dispatcher.
 *
 * Speaks the vhost-user control protocol with one frontend (QEMU, libkrun,
 * crosvm, libvsnd-vhost) at a time and hands device-specific work to a
 * struct vhost_dev_ops table. Handled: GET/SET_FEATURES,
 * GET/SET_PROTOCOL_FEATURES, SET_OWNER, RESET_OWNER, SET_MEM_TABLE,
 * SET_VRING_NUM/ADDR/BASE, GET_VRING_BASE, SET_VRING_KICK/CALL/ERR (with the
 * "no fd" bit), GET_QUEUE_NUM, SET_VRING_ENABLE, GET/SET_CONFIG,
 * GET/SET_STATUS, RESET_DEVICE; a REPLY_ACK answer for every request that
 * sets NEED_REPLY and has no reply of its own. Protocol features offered:
 * MQ, REPLY_ACK, CONFIG, RESET_DEVICE, STATUS.
 *
 * Ring life cycle (vhost-user.rst "Ring states"): a ring is *started* by the
 * first kick after SET_VRING_KICK (at once when the kick has "no fd", since
 * then the device must poll) and stopped by GET_VRING_BASE. With
 * VHOST_USER_F_PROTOCOL_FEATURES negotiated a ring is also *disabled* until
 * SET_VRING_ENABLE(1). The device sees a queue as active (queue_started)
 * while it is started, enabled and its addresses are valid.
 *
 * Event loop: the backend owns none. The caller polls the fds it exposes
 * (listening socket, connection, one kick eventfd per queue) -- either by
 * asking for them (vhost_backend_fill_pollfds) on every loop iteration or by
 * following the watch() callback -- and calls the matching dispatch function
 * when one is readable. When the frontend disconnects, all connection state
 * is dropped (memory unmapped, eventfds closed, queues stopped) and the
 * next connection is accepted on the same listening socket, which is never
 * unlinked or recreated.
 *
 * Thread safety: none. All calls, and all ops callbacks, happen on the
 * thread that calls the dispatch functions. Devices that process queues on
 * other threads must stop doing so in queue_stopped before returning.
 */
#ifndef VSND_VHOST_BACKEND_H
#define VSND_VHOST_BACKEND_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "vsnd/vhost-vq.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vhost_backend;

/* Protocol features the backend offers (the frontend acks a subset). */
#define VHOST_BACKEND_PROTOCOL_FEATURES                               \
	((1ull << VHOST_USER_PROTOCOL_F_MQ) |                          \
	 (1ull << VHOST_USER_PROTOCOL_F_REPLY_ACK) |                   \
	 (1ull << VHOST_USER_PROTOCOL_F_CONFIG) |                      \
	 (1ull << VHOST_USER_PROTOCOL_F_RESET_DEVICE) |                \
	 (1ull << VHOST_USER_PROTOCOL_F_STATUS))

/* Which fd a watch() callback is about. */
enum vhost_backend_fd_kind {
	VHOST_BACKEND_FD_LISTEN,  /* readable: call vhost_backend_accept() */
	VHOST_BACKEND_FD_CONN,    /* readable: call vhost_backend_dispatch() */
	VHOST_BACKEND_FD_KICK,    /* readable: call vhost_backend_dispatch_kick(queue) */
};

/*
 * Device callbacks. @data is vhost_backend_config.data. Every pointer may be
 * NULL except get_features.
 */
struct vhost_dev_ops {
	/*
	 * Virtio feature bits the device offers. The backend adds
	 * VIRTIO_F_VERSION_1, VIRTIO_RING_F_INDIRECT_DESC,
	 * VIRTIO_RING_F_EVENT_IDX and VHOST_USER_F_PROTOCOL_FEATURES.
	 */
	uint64_t (*get_features)(void *data);
	/* The features the frontend acked (a subset of the offer). 0 or -errno (NACK). */
	int (*set_features)(void *data, uint64_t features);
	/*
	 * Copy @size bytes of config space from @offset into @buf. Return 0, or
	 * -errno if the range is not inside the config space (the frontend gets
	 * an empty, failed reply). NULL means no config space.
	 */
	int (*get_config)(void *data, uint32_t offset, void *buf, uint32_t size);
	/* Write config space (flags: VHOST_SET_CONFIG_TYPE_*). 0 or -errno. NULL refuses. */
	int (*set_config)(void *data, uint32_t offset, const void *buf, uint32_t size,
			  uint32_t flags);
	/*
	 * @vq became active / inactive (see the ring life cycle above).
	 * queue_stopped is also called before a memory table that differs from
	 * the current one replaces it (queue_started follows once the ring
	 * translates again): iovecs popped earlier point into the old mapping
	 * and must not be used after queue_stopped returns. A re-sent identical
	 * table keeps the mapping (see vhost_mem_set_table), so buffers held
	 * across an ordinary stop/start stay valid.
	 */
	void (*queue_started)(void *data, struct vhost_vq *vq);
	void (*queue_stopped)(void *data, struct vhost_vq *vq);
	/* @vq is active and was kicked: pop, process, push, notify. */
	void (*queue_kicked)(void *data, struct vhost_vq *vq);
	/* RESET_DEVICE, RESET_OWNER or disconnect: forget device state. */
	void (*reset)(void *data);
	/*
	 * An fd to poll appeared (@add) or is about to be closed (!@add).
	 * @queue is the queue index for VHOST_BACKEND_FD_KICK, else -1.
	 */
	void (*watch)(void *data, enum vhost_backend_fd_kind kind, int queue, int fd, bool add);
};

struct vhost_backend_config {
	const struct vhost_dev_ops *ops;
	void *data;
	unsigned int num_queues;      /* 1..256, answered to GET_QUEUE_NUM */
	unsigned int max_queue_size;  /* largest SET_VRING_NUM accepted; 0 = 32768 */
};

/*
 * New backend without a socket. Returns NULL with errno set (EINVAL for a
 * bad config, ENOMEM).
 */
struct vhost_backend *vhost_backend_new(const struct vhost_backend_config *cfg);

/* Drop the connection (as a disconnect would), close every fd, free. NULL ok. */
void vhost_backend_destroy(struct vhost_backend *be);

/*
 * Create a listening UNIX stream socket at @path. A stale socket file at
 * @path is replaced; any other existing file is an error (-EEXIST).
 * Returns 0 or -errno. The backend owns and closes the socket; it does not
 * unlink @path on destroy (the caller created the name, the caller removes it).
 */
int vhost_backend_listen(struct vhost_backend *be, const char *path);

/*
 * Use @fd, a listening socket (e.g. from systemd) or, if @connected, an
 * already connected stream socket (--fd / --socket-fd). Ownership of @fd
 * passes to the backend. With a connected fd there is nothing to accept
 * after a disconnect. Returns 0 or -EBUSY if a socket is already set.
 */
int vhost_backend_set_fd(struct vhost_backend *be, int fd, bool connected);

/* Listening socket (-1 if none), connection (-1 if none). */
int vhost_backend_listen_fd(const struct vhost_backend *be);
int vhost_backend_conn_fd(const struct vhost_backend *be);
/* Kick eventfd of @queue (-1 if none or out of range). */
int vhost_backend_kick_fd(const struct vhost_backend *be, unsigned int queue);

/*
 * Fill @pfd (capacity @max) with the fds to poll now, events = POLLIN:
 * the listening socket while no frontend is connected, the connection, and
 * every kick fd. Returns the count (at most 2 + num_queues) or -ENOSPC.
 */
int vhost_backend_fill_pollfds(const struct vhost_backend *be, struct pollfd *pfd, unsigned int max);

/*
 * Dispatch every entry of @pfd[0..n) with revents set, as filled by
 * vhost_backend_fill_pollfds(). Returns 0, or -ECONNRESET if the frontend
 * went away and no listening socket remains, or another fatal -errno.
 */
int vhost_backend_dispatch_pollfds(struct vhost_backend *be, const struct pollfd *pfd, unsigned int n);

/*
 * Accept a pending connection (listening socket readable). Returns 1 if
 * connected, 0 if nothing was pending or a frontend is already connected
 * (the new one waits in the backlog), or -errno.
 */
int vhost_backend_accept(struct vhost_backend *be);

/*
 * Read and handle one message from the connection. Returns 0 (handled,
 * including requests refused with a NACK), or -ECONNRESET when the frontend
 * disconnected or broke the protocol: its state was dropped and, if there is
 * a listening socket, the next connection can be accepted.
 */
int vhost_backend_dispatch(struct vhost_backend *be);

/*
 * Handle a readable kick fd of @queue: clear it, start the ring on its first
 * kick, and call queue_kicked if the queue is active.
 * Returns 0 or -EINVAL (no such queue / no kick fd).
 */
int vhost_backend_dispatch_kick(struct vhost_backend *be, unsigned int queue);

/* Queue @index (NULL if out of range). Owned by the backend. */
struct vhost_vq *vhost_backend_vq(struct vhost_backend *be, unsigned int index);

/* True while a frontend is connected. */
bool vhost_backend_connected(const struct vhost_backend *be);

/* Virtio features acked by the frontend (SET_FEATURES), 0 before. */
uint64_t vhost_backend_acked_features(const struct vhost_backend *be);

/* Protocol features acked by the frontend, 0 before. */
uint64_t vhost_backend_acked_protocol_features(const struct vhost_backend *be);

#ifdef __cplusplus
}
#endif

#endif /* VSND_VHOST_BACKEND_H */
