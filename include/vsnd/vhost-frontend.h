/* SPDX-License-Identifier: MIT */
/*
 * libvsnd-vhost: vhost-user frontend (VMM side), shaped after libkrun's
 * krun_add_vhost_user_device(): a device is added by type, socket path,
 * name, queue count (0 = ask the backend) and queue sizes (NULL = default).
 *
 * vhost_frontend_new() connects (retrying while the socket does not exist
 * yet), negotiates features and protocol features (MQ, REPLY_ACK, CONFIG),
 * sends SET_OWNER, allocates guest RAM as one memfd region (shared with the
 * backend by SET_MEM_TABLE), and sets up every vring with kick and call
 * eventfds. A driver-side split ring per queue lets a user-space driver
 * place buffers (in guest RAM, allocated with vhost_frontend_alloc), kick,
 * and collect used elements.
 *
 * If the backend dies, vhost_frontend_reconnect() re-sends all state to a
 * new one on the same path.
 *
 * Config space goes through a cache that knows no fixed size: a read past
 * the cached end fetches the missing bytes with GET_CONFIG and grows the
 * cache; SET_CONFIG and vhost_frontend_invalidate_config() (call it on a
 * backend CONFIG_CHANGE) drop it.
 *
 * Thread safety: none; one thread per frontend. Calls block on the socket
 * (bounded by a 5 s timeout) while waiting for the backend's replies.
 * Errors: functions return -errno; -EPIPE/-ECONNRESET mean the backend is
 * gone (vhost_frontend_connected() becomes false).
 */
#ifndef VSND_VHOST_FRONTEND_H
#define VSND_VHOST_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VHOST_FRONTEND_DEFAULT_QUEUE_SIZE 256u
#define VHOST_FRONTEND_DEFAULT_RAM (8u * 1024 * 1024)
#define VHOST_FRONTEND_MAX_QUEUES 64u

struct vhost_frontend;

struct vhost_frontend_config {
	uint32_t device_type;        /* virtio device id (informational) */
	const char *socket_path;     /* backend's UNIX socket */
	const char *name;            /* for logs; may be NULL */
	uint16_t num_queues;         /* 0: ask the backend (GET_QUEUE_NUM, needs MQ) */
	const uint16_t *queue_sizes; /* num_queues entries (powers of two), or NULL */
	uint64_t features;           /* device feature bits the driver wants */
	size_t ram_size;             /* guest RAM bytes; 0 = VHOST_FRONTEND_DEFAULT_RAM */
	int connect_timeout_ms;      /* how long to retry connecting; 0 = try once */
};

/* A buffer in guest RAM for vhost_frontend_add(). */
struct vhost_frontend_buf {
	uint64_t gpa;
	uint32_t len;
};

/*
 * Connect and set the device up (see the file comment). Returns NULL with
 * errno set: ETIMEDOUT/ENOENT/ECONNREFUSED (no backend), ENOTSUP (backend
 * lacks something required, e.g. MQ for num_queues == 0), EPROTO (bad
 * replies), EINVAL (bad config), ENOMEM.
 */
struct vhost_frontend *vhost_frontend_new(const struct vhost_frontend_config *cfg);

/* Close the connection, eventfds and guest RAM. NULL is accepted. */
void vhost_frontend_destroy(struct vhost_frontend *fe);

bool vhost_frontend_connected(const struct vhost_frontend *fe);
uint64_t vhost_frontend_features(const struct vhost_frontend *fe);          /* acked */
uint64_t vhost_frontend_protocol_features(const struct vhost_frontend *fe); /* acked */
unsigned int vhost_frontend_num_queues(const struct vhost_frontend *fe);

/*
 * Read @len bytes of config space at @offset into @buf through the cache.
 * Returns 0, -EINVAL if the backend refuses the range (outside its config
 * space), -ENOTSUP without the CONFIG protocol feature, or a socket error.
 */
int vhost_frontend_read_config(struct vhost_frontend *fe, uint32_t offset, void *buf, uint32_t len);

/* Write config space (SET_CONFIG) and invalidate the cache. 0 or -errno. */
int vhost_frontend_write_config(struct vhost_frontend *fe, uint32_t offset, const void *buf,
				uint32_t len);

/* Forget the cached config (the device signalled a change). */
void vhost_frontend_invalidate_config(struct vhost_frontend *fe);

/* Bytes currently cached (for tests and diagnostics). */
size_t vhost_frontend_config_cached(const struct vhost_frontend *fe);

/*
 * Allocate @len bytes of guest RAM aligned to @align (power of two) for
 * buffers; *@gpa receives the guest physical address. There is no free:
 * RAM is a bump arena for the frontend's lifetime. 0 or -ENOMEM/-EINVAL.
 */
int vhost_frontend_alloc(struct vhost_frontend *fe, size_t len, size_t align, uint64_t *gpa);

/* Pointer to guest RAM [@gpa, @gpa+@len), or NULL if outside it. */
void *vhost_frontend_ptr(struct vhost_frontend *fe, uint64_t gpa, size_t len);

/*
 * Driver side of queue @q: place a chain of @n_out device-readable buffers
 * followed by @n_in device-writable ones and make it available. @token is
 * returned with the used element. Does not kick.
 * Returns the head index (>= 0), -ENOSPC (not enough free descriptors),
 * -EINVAL.
 */
int vhost_frontend_add(struct vhost_frontend *fe, unsigned int q, const struct vhost_frontend_buf *bufs,
		       unsigned int n_out, unsigned int n_in, void *token);

/* Notify the backend that queue @q has new buffers. 0 or -errno. */
int vhost_frontend_kick(struct vhost_frontend *fe, unsigned int q);

/*
 * Collect one used element of queue @q. Returns 1 (*@len = bytes written by
 * the device, *@token = the add() token), 0 (none), -EIO (the backend
 * returned an id that is not in flight).
 */
int vhost_frontend_get_used(struct vhost_frontend *fe, unsigned int q, uint32_t *len, void **token);

/* Call eventfd of queue @q (readable when the backend signals); -1 if none. Owned by @fe. */
int vhost_frontend_call_fd(const struct vhost_frontend *fe, unsigned int q);

/*
 * Stop queue @q with GET_VRING_BASE; returns the backend's next avail
 * index (>= 0) or -errno.
 */
int vhost_frontend_stop_queue(struct vhost_frontend *fe, unsigned int q);

/*
 * Connect again (e.g. to a restarted backend; retrying for up to
 * @timeout_ms while the socket is missing) and re-send the whole state:
 * features (the backend must still offer the ones in use), memory table,
 * and every ring, each starting at the avail index the used ring has
 * reached. Chains the previous backend had taken but not completed are
 * processed again (in-order devices see no difference). Each queue is kicked
 * once. Returns 0 or -errno (ETIMEDOUT, ENOTSUP, EIO...).
 */
int vhost_frontend_reconnect(struct vhost_frontend *fe, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* VSND_VHOST_FRONTEND_H */
