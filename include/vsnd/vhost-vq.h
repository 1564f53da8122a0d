/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueue, device side (virtio 1.x section 2.7), over a vhost_mem
 * guest memory map.
 *
 * The guest owns the ring memory and may change it at any time, so every
 * value read from it is read once, checked, and only the checked copy used:
 * the avail index may move by at most the queue size, heads and next
 * indices must be below the table size, every buffer must lie inside one
 * guest memory region, chains are bounded (a loop is caught by the bound),
 * readable descriptors must come before writable ones, indirect tables must
 * be a non-zero multiple of 16 bytes and at most VHOST_VQ_MAX_IOV entries,
 * and must not nest. A violation marks the queue broken: it stops serving,
 * its error eventfd (if any) is signalled, and other queues are unaffected.
 *
 * Feature bits honoured (vhost_vq_set_features): VIRTIO_RING_F_INDIRECT_DESC,
 * VIRTIO_RING_F_EVENT_IDX, VIRTIO_F_NOTIFY_ON_EMPTY.
 *
 * Thread safety: a queue is not locked. All calls for one queue must be
 * serialised by the caller; different queues are independent.
 */
#ifndef VSND_VHOST_VQ_H
#define VSND_VHOST_VQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vsnd/vhost-mem.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest queue size (virtio split ring limit). */
#define VHOST_VQ_MAX_SIZE 32768u
/* Most buffers in one chain (direct and indirect together), as QEMU. */
#define VHOST_VQ_MAX_IOV 1024u

/*
 * One popped descriptor chain. iov[0..out_num) are driver-readable buffers
 * (the device reads them), iov[out_num..out_num+in_num) are device-writable.
 * The pointers point into guest memory: valid until the element is pushed
 * or the memory table changes. Zero-length descriptors produce no iovec.
 */
struct vhost_vq_elem {
	uint16_t head;       /* chain head index, pass to vhost_vq_push() */
	uint32_t out_num;
	uint32_t in_num;
	uint64_t out_bytes;  /* sum of readable lengths */
	uint64_t in_bytes;   /* sum of writable lengths */
	struct iovec iov[VHOST_VQ_MAX_IOV];
};

struct vhost_vq;

/* New unconfigured queue number @index. NULL + errno on failure. */
struct vhost_vq *vhost_vq_new(unsigned int index);

/* Free @vq and close its call and error fds. NULL is accepted. */
void vhost_vq_destroy(struct vhost_vq *vq);

/*
 * Forget all configuration (size, addresses, base, features, broken state,
 * active state) and close the call and error fds.
 */
void vhost_vq_reset(struct vhost_vq *vq);

unsigned int vhost_vq_index(const struct vhost_vq *vq);

/* Set the queue size: a power of two in 1..VHOST_VQ_MAX_SIZE. 0 or -EINVAL. */
int vhost_vq_set_num(struct vhost_vq *vq, unsigned int num);
unsigned int vhost_vq_num(const struct vhost_vq *vq);

/*
 * Set the ring addresses, in frontend user address space, translated through
 * @mem (kept by reference: it must outlive the queue or the next set_addr).
 * The size must be set first. Returns 0, -EINVAL (no size, misaligned) or
 * -EFAULT (a ring is not entirely inside one region); on error the queue has
 * no addresses.
 */
int vhost_vq_set_addr(struct vhost_vq *vq, const struct vhost_mem *mem,
		      uint64_t desc_uva, uint64_t avail_uva, uint64_t used_uva);

/* True once set_addr succeeded (and later memory tables still cover the ring). */
bool vhost_vq_has_addr(const struct vhost_vq *vq);

/*
 * Translate the ring addresses again after the memory table changed.
 * Returns 0 (also when no addresses are set) or -EFAULT, in which case the
 * queue loses its addresses.
 */
int vhost_vq_remap(struct vhost_vq *vq);

/* Negotiated virtio feature bits (only the ring-related ones matter). */
void vhost_vq_set_features(struct vhost_vq *vq, uint64_t features);

/* Next avail index to process (SET_VRING_BASE). 0 or -EINVAL if > 0xffff. */
int vhost_vq_set_base(struct vhost_vq *vq, uint32_t base);
uint16_t vhost_vq_get_base(const struct vhost_vq *vq);

/*
 * Call (interrupt) and error eventfds. The queue takes ownership of @fd
 * (-1 = none) and closes the previous one.
 */
void vhost_vq_set_call_fd(struct vhost_vq *vq, int fd);
void vhost_vq_set_err_fd(struct vhost_vq *vq, int fd);
int vhost_vq_call_fd(const struct vhost_vq *vq);

/*
 * Start (@active) or stop processing. Starting re-reads the used index from
 * the ring. pop returns 0 while the queue is stopped.
 */
void vhost_vq_set_active(struct vhost_vq *vq, bool active);
bool vhost_vq_active(const struct vhost_vq *vq);

/*
 * Pop the next available chain into @elem.
 * Returns 1 (an element), 0 (nothing available, or the queue is stopped),
 * or -EIO if the queue is broken (now or before); the first failure also
 * returns the specific error: -ELOOP (chain too long / loop), -EFAULT
 * (buffer outside guest memory), -EINVAL (bad index, flags, indirect table
 * or ordering), -E2BIG (more than VHOST_VQ_MAX_IOV buffers), -ERANGE (avail
 * index moved by more than the queue size).
 */
int vhost_vq_pop(struct vhost_vq *vq, struct vhost_vq_elem *elem);

/*
 * Return the chain @head to the driver with @len bytes written into its
 * writable part. Returns 0, -EIO (broken) or -EINVAL (no ring, head >= size).
 */
int vhost_vq_push(struct vhost_vq *vq, uint16_t head, uint32_t len);

/*
 * Whether the driver wants an interrupt now, by EVENT_IDX (used_event),
 * VRING_AVAIL_F_NO_INTERRUPT, or NOTIFY_ON_EMPTY. Updates the EVENT_IDX
 * bookkeeping: call it once per batch of pushes, then signal if true.
 */
bool vhost_vq_should_notify(struct vhost_vq *vq);

/*
 * vhost_vq_should_notify() and, if true, signal the call eventfd.
 * Returns 1 (signalled), 0 (not needed or no call fd) or -errno of write.
 */
int vhost_vq_notify(struct vhost_vq *vq);

/* True if the guest broke the queue; stays so until reset or set_base. */
bool vhost_vq_broken(const struct vhost_vq *vq);

/* Device-private pointer for the queue (not used by the library). */
void vhost_vq_set_data(struct vhost_vq *vq, void *data);
void *vhost_vq_get_data(const struct vhost_vq *vq);

#ifdef __cplusplus
}
#endif

#endif /* VSND_VHOST_VQ_H */
