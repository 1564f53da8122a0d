/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vsnd/clock.h"
#include "vsnd/log.h"
#include "vsnd/vhost-vq.h"

VSND_LOG_TOPIC(log_topic, "vhost.vq");

struct vhost_vq {
	unsigned int index;
	unsigned int num;
	struct vring vr;          /* host pointers into guest memory */
	bool addr_set;            /* set_addr was called: uvas are valid */
	bool has_addr;            /* vr points into the current memory map */
	bool active;
	bool broken;
	const struct vhost_mem *mem;
	uint64_t mem_generation;
	uint64_t desc_uva, avail_uva, used_uva;
	uint64_t features;
	uint16_t last_avail;      /* next avail entry to pop */
	uint16_t shadow_avail;    /* last avail->idx read (validated) */
	uint16_t used_idx;        /* next used entry to fill */
	uint16_t signalled_used;
	bool signalled_valid;
	uint32_t inuse;           /* popped, not yet pushed */
	int call_fd;
	int err_fd;
	void *data;
	struct vsnd_ratelimit rl;
};

struct vhost_vq *vhost_vq_new(unsigned int index)
{
	struct vhost_vq *vq = calloc(1, sizeof(*vq));
	if (!vq)
		return NULL;
	vq->index = index;
	vq->call_fd = -1;
	vq->err_fd = -1;
	vq->rl = (struct vsnd_ratelimit)VSND_RATELIMIT_INIT(VSND_NSEC_PER_SEC, 5);
	return vq;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void vhost_vq_reset(struct vhost_vq *vq)
{
	unsigned int index = vq->index;
	void *data = vq->data;

	close_fd(&vq->call_fd);
	close_fd(&vq->err_fd);
	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->data = data;
	vq->call_fd = -1;
	vq->err_fd = -1;
	vq->rl = (struct vsnd_ratelimit)VSND_RATELIMIT_INIT(VSND_NSEC_PER_SEC, 5);
}

void vhost_vq_destroy(struct vhost_vq *vq)
{
	if (!vq)
		return;
	close_fd(&vq->call_fd);
	close_fd(&vq->err_fd);
	free(vq);
}

unsigned int vhost_vq_index(const struct vhost_vq *vq) { return vq->index; }
unsigned int vhost_vq_num(const struct vhost_vq *vq) { return vq->num; }
bool vhost_vq_has_addr(const struct vhost_vq *vq) { return vq->has_addr; }
bool vhost_vq_broken(const struct vhost_vq *vq) { return vq->broken; }
bool vhost_vq_active(const struct vhost_vq *vq) { return vq->active; }
uint16_t vhost_vq_get_base(const struct vhost_vq *vq) { return vq->last_avail; }
int vhost_vq_call_fd(const struct vhost_vq *vq) { return vq->call_fd; }
void vhost_vq_set_data(struct vhost_vq *vq, void *data) { vq->data = data; }
void *vhost_vq_get_data(const struct vhost_vq *vq) { return vq->data; }

int vhost_vq_set_num(struct vhost_vq *vq, unsigned int num)
{
	if (num == 0 || num > VHOST_VQ_MAX_SIZE || (num & (num - 1)))
		return -EINVAL;
	if (vq->num != num)
		vq->has_addr = false;
	vq->num = num;
	vq->vr.num = num;
	return 0;
}

void vhost_vq_set_features(struct vhost_vq *vq, uint64_t features)
{
	vq->features = features;
}

static bool has_feature(const struct vhost_vq *vq, unsigned int bit)
{
	return vq->features & (1ull << bit);
}

int vhost_vq_set_base(struct vhost_vq *vq, uint32_t base)
{
	if (base > 0xffff)
		return -EINVAL;
	vq->last_avail = (uint16_t)base;
	vq->shadow_avail = (uint16_t)base;
	vq->inuse = 0;
	vq->broken = false;
	return 0;
}

void vhost_vq_set_call_fd(struct vhost_vq *vq, int fd)
{
	close_fd(&vq->call_fd);
	vq->call_fd = fd;
}

void vhost_vq_set_err_fd(struct vhost_vq *vq, int fd)
{
	close_fd(&vq->err_fd);
	vq->err_fd = fd;
}

static int translate_rings(struct vhost_vq *vq)
{
	/* Legacy layout sizes, event fields included (drivers always allocate them). */
	uint64_t desc_len = 16ull * vq->num;
	uint64_t avail_len = 6ull + 2ull * vq->num;
	uint64_t used_len = 6ull + 8ull * vq->num;
	void *desc = vhost_mem_uva_to_va(vq->mem, vq->desc_uva, desc_len);
	void *avail = vhost_mem_uva_to_va(vq->mem, vq->avail_uva, avail_len);
	void *used = vhost_mem_uva_to_va(vq->mem, vq->used_uva, used_len);

	vq->has_addr = false;
	if (!desc || !avail || !used)
		return -EFAULT;
	/* Alignment in *our* mapping is what the atomic accesses below need. */
	if (((uintptr_t)desc & 15) || ((uintptr_t)avail & 1) || ((uintptr_t)used & 3))
		return -EINVAL;
	vq->vr.desc = desc;
	vq->vr.avail = avail;
	vq->vr.used = used;
	vq->mem_generation = vhost_mem_generation(vq->mem);
	vq->has_addr = true;
	return 0;
}

int vhost_vq_set_addr(struct vhost_vq *vq, const struct vhost_mem *mem,
		      uint64_t desc_uva, uint64_t avail_uva, uint64_t used_uva)
{
	vq->has_addr = false;
	if (vq->num == 0 || !mem)
		return -EINVAL;
	vq->mem = mem;
	vq->addr_set = true;
	vq->desc_uva = desc_uva;
	vq->avail_uva = avail_uva;
	vq->used_uva = used_uva;
	return translate_rings(vq);
}

int vhost_vq_remap(struct vhost_vq *vq)
{
	if (!vq->addr_set || vq->num == 0)
		return 0;
	return translate_rings(vq);
}

static uint16_t load_avail_idx(const struct vhost_vq *vq)
{
	return le16toh(__atomic_load_n(&vq->vr.avail->idx, __ATOMIC_ACQUIRE));
}

static uint16_t load_used_idx(const struct vhost_vq *vq)
{
	return le16toh(__atomic_load_n(&vq->vr.used->idx, __ATOMIC_ACQUIRE));
}

void vhost_vq_set_active(struct vhost_vq *vq, bool active)
{
	vq->active = active;
	if (active && vq->has_addr) {
		vq->used_idx = load_used_idx(vq);
		vq->shadow_avail = vq->last_avail;
		vq->signalled_valid = false;
	}
}

static void mark_broken(struct vhost_vq *vq, const char *why)
{
	uint64_t one = 1, suppressed = 0;

	if (!vq->broken && vsnd_ratelimit_pass(&vq->rl, vsnd_now_ns(), &suppressed))
		vsnd_warn(&log_topic, "queue %u broken by the guest: %s (%" PRIu64 " similar suppressed)",
			  vq->index, why, suppressed);
	vq->broken = true;
	if (vq->err_fd >= 0 && write(vq->err_fd, &one, sizeof(one)) < 0)
		vsnd_debug(&log_topic, "queue %u: error eventfd: %s", vq->index, strerror(errno));
}

/* The guest may rewrite a descriptor under us: copy it once, use the copy. */
static void read_desc(const struct vring_desc *table, unsigned int i, struct vring_desc *out)
{
	const volatile struct vring_desc *d = &table[i];
	out->addr = le64toh(d->addr);
	out->len = le32toh(d->len);
	out->flags = le16toh(d->flags);
	out->next = le16toh(d->next);
}

static int walk_chain(struct vhost_vq *vq, uint16_t head, struct vhost_vq_elem *elem, const char **why)
{
	const struct vring_desc *table = vq->vr.desc;
	unsigned int table_len = vq->num;
	unsigned int idx = head, count = 0, niov = 0;
	bool indirect = false, seen_write = false;

	elem->head = head;
	elem->out_num = elem->in_num = 0;
	elem->out_bytes = elem->in_bytes = 0;
	for (;;) {
		struct vring_desc d;

		/* A chain visiting more entries than its table has must contain a loop. */
		if (++count > table_len) {
			*why = "descriptor chain loops or exceeds the table";
			return -ELOOP;
		}
		read_desc(table, idx, &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (!has_feature(vq, VIRTIO_RING_F_INDIRECT_DESC) || indirect ||
			    (d.flags & VRING_DESC_F_NEXT) || count != 1) {
				*why = "misplaced indirect descriptor";
				return -EINVAL;
			}
			if (d.len == 0 || d.len % sizeof(struct vring_desc) ||
			    d.len / sizeof(struct vring_desc) > VHOST_VQ_MAX_IOV) {
				*why = "indirect table of bad length";
				return -EINVAL;
			}
			table = vhost_mem_gpa_to_va(vq->mem, d.addr, d.len);
			if (!table) {
				*why = "indirect table outside guest memory";
				return -EFAULT;
			}
			table_len = d.len / sizeof(struct vring_desc);
			indirect = true;
			idx = 0;
			count = 0;
			continue;
		}
		if (d.flags & VRING_DESC_F_WRITE) {
			seen_write = true;
		} else if (seen_write) {
			*why = "readable descriptor after a writable one";
			return -EINVAL;
		}
		if (d.len > 0) {
			void *p = vhost_mem_gpa_to_va(vq->mem, d.addr, d.len);
			if (!p) {
				*why = "buffer outside guest memory";
				return -EFAULT;
			}
			if (niov >= VHOST_VQ_MAX_IOV) {
				*why = "too many buffers in one chain";
				return -E2BIG;
			}
			elem->iov[niov].iov_base = p;
			elem->iov[niov].iov_len = d.len;
			niov++;
			if (d.flags & VRING_DESC_F_WRITE) {
				elem->in_num++;
				elem->in_bytes += d.len;
			} else {
				elem->out_num++;
				elem->out_bytes += d.len;
			}
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 0;
		idx = d.next;
		if (idx >= table_len) {
			*why = "next index out of range";
			return -EINVAL;
		}
	}
}

static void set_avail_event(struct vhost_vq *vq, uint16_t v)
{
	__atomic_store_n(&vring_avail_event(&vq->vr), htole16(v), __ATOMIC_RELAXED);
}

/* Read avail->idx once and validate it. Returns the number available or -ERANGE. */
static int refresh_avail(struct vhost_vq *vq)
{
	uint16_t idx = load_avail_idx(vq);
	uint16_t pending = (uint16_t)(idx - vq->last_avail);

	if (pending > vq->num)
		return -ERANGE;
	vq->shadow_avail = idx;
	return pending;
}

int vhost_vq_pop(struct vhost_vq *vq, struct vhost_vq_elem *elem)
{
	const char *why = NULL;
	uint16_t head;
	int r;

	if (vq->broken)
		return -EIO;
	if (!vq->active || !vq->mem)
		return 0;
	if (vq->addr_set && vq->mem_generation != vhost_mem_generation(vq->mem) &&
	    translate_rings(vq) < 0) {
		mark_broken(vq, "ring no longer inside guest memory");
		return -EFAULT;
	}
	if (!vq->has_addr)
		return 0;
	if (vq->shadow_avail == vq->last_avail) {
		r = refresh_avail(vq);
		if (r == 0 && has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
			/*
			 * Publish where we stopped, then look again: a buffer added
			 * between the first read and the store would otherwise wait
			 * for a kick the driver decided not to send.
			 */
			set_avail_event(vq, vq->last_avail);
			__atomic_thread_fence(__ATOMIC_SEQ_CST);
			r = refresh_avail(vq);
		}
		if (r < 0) {
			mark_broken(vq, "avail index moved by more than the queue size");
			return r;
		}
		if (r == 0)
			return 0;
	}
	head = le16toh(((volatile uint16_t *)vq->vr.avail->ring)[vq->last_avail & (vq->num - 1)]);
	if (head >= vq->num) {
		mark_broken(vq, "head index out of range");
		return -EINVAL;
	}
	r = walk_chain(vq, head, elem, &why);
	if (r < 0) {
		mark_broken(vq, why);
		return r;
	}
	vq->last_avail++;
	vq->inuse++;
	if (has_feature(vq, VIRTIO_RING_F_EVENT_IDX))
		set_avail_event(vq, vq->last_avail);
	return 1;
}

int vhost_vq_push(struct vhost_vq *vq, uint16_t head, uint32_t len)
{
	volatile struct vring_used_elem *e;

	if (vq->broken)
		return -EIO;
	if (!vq->has_addr || head >= vq->num)
		return -EINVAL;
	e = &vq->vr.used->ring[vq->used_idx & (vq->num - 1)];
	e->id = htole32(head);
	e->len = htole32(len);
	vq->used_idx++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n(&vq->vr.used->idx, htole16(vq->used_idx), __ATOMIC_RELEASE);
	if (vq->inuse > 0)
		vq->inuse--;
	return 0;
}

bool vhost_vq_should_notify(struct vhost_vq *vq)
{
	uint16_t old, new_idx;
	bool valid;

	if (!vq->has_addr || vq->broken)
		return false;
	/* Our used index store must be ordered before reading the driver's flags/event. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (has_feature(vq, VIRTIO_F_NOTIFY_ON_EMPTY) && vq->inuse == 0 &&
	    load_avail_idx(vq) == vq->last_avail)
		return true;
	if (!has_feature(vq, VIRTIO_RING_F_EVENT_IDX))
		return !(le16toh(__atomic_load_n(&vq->vr.avail->flags, __ATOMIC_RELAXED)) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	old = vq->signalled_used;
	valid = vq->signalled_valid;
	new_idx = vq->signalled_used = vq->used_idx;
	vq->signalled_valid = true;
	if (!valid)
		return true;
	uint16_t event = le16toh(__atomic_load_n(&vring_used_event(&vq->vr), __ATOMIC_RELAXED));
	return vring_need_event(event, new_idx, old);
}

int vhost_vq_notify(struct vhost_vq *vq)
{
	uint64_t one = 1;

	if (!vhost_vq_should_notify(vq) || vq->call_fd < 0)
		return 0;
	if (write(vq->call_fd, &one, sizeof(one)) < 0)
		return errno == EAGAIN ? 1 : -errno; /* counter full: an interrupt is pending anyway */
	return 1;
}
