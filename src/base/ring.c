/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vsnd/ring.h"

static uint32_t round_up_pow2(uint32_t v)
{
	uint32_t p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

int vsnd_ring_init(struct vsnd_ring *r, uint32_t frame_bytes, uint32_t min_frames)
{
	memset(r, 0, sizeof(*r));
	if (frame_bytes == 0 || min_frames == 0 || min_frames > VSND_RING_MAX_FRAMES)
		return -EINVAL;
	uint32_t cap = round_up_pow2(min_frames);
	if ((uint64_t)cap * frame_bytes > VSND_RING_MAX_BYTES)
		return -EINVAL;
	size_t bytes = (size_t)cap * frame_bytes;
	/* aligned_alloc wants a size that is a multiple of the alignment. */
	void *buf = aligned_alloc(64, (bytes + 63) & ~(size_t)63);
	if (!buf)
		return -ENOMEM;
	/* Zeroed so a consumer bug shows silence, never stale heap contents. */
	memset(buf, 0, bytes);
	r->buf = buf;
	r->frame_bytes = frame_bytes;
	r->capacity = cap;
	r->mask = cap - 1;
	atomic_init(&r->write_idx, 0);
	atomic_init(&r->read_idx, 0);
	return 0;
}

void vsnd_ring_finish(struct vsnd_ring *r)
{
	free(r->buf);
	r->buf = NULL;
	r->capacity = 0;
	r->mask = 0;
}

void vsnd_ring_reset(struct vsnd_ring *r)
{
	atomic_store(&r->write_idx, 0);
	atomic_store(&r->read_idx, 0);
}

uint32_t vsnd_ring_readable(struct vsnd_ring *r)
{
	uint32_t w = atomic_load_explicit(&r->write_idx, memory_order_acquire);
	uint32_t rd = atomic_load_explicit(&r->read_idx, memory_order_relaxed);
	return w - rd;
}

uint32_t vsnd_ring_writable(struct vsnd_ring *r)
{
	uint32_t rd = atomic_load_explicit(&r->read_idx, memory_order_acquire);
	uint32_t w = atomic_load_explicit(&r->write_idx, memory_order_relaxed);
	return r->capacity - (w - rd);
}

static uint32_t make_areas(struct vsnd_ring *r, uint32_t start, uint32_t n,
			   struct vsnd_ring_area areas[2])
{
	uint32_t off = start & r->mask;
	uint32_t first = r->capacity - off;
	if (first > n)
		first = n;
	areas[0].data = r->buf + (size_t)off * r->frame_bytes;
	areas[0].frames = first;
	areas[1].data = r->buf;
	areas[1].frames = n - first;
	return n;
}

uint32_t vsnd_ring_write_begin(struct vsnd_ring *r, struct vsnd_ring_area areas[2], uint32_t max)
{
	uint32_t w = atomic_load_explicit(&r->write_idx, memory_order_relaxed);
	uint32_t n = vsnd_ring_writable(r);
	if (n > max)
		n = max;
	return make_areas(r, w, n, areas);
}

void vsnd_ring_write_commit(struct vsnd_ring *r, uint32_t frames)
{
	uint32_t w = atomic_load_explicit(&r->write_idx, memory_order_relaxed);
	atomic_store_explicit(&r->write_idx, w + frames, memory_order_release);
}

uint32_t vsnd_ring_read_begin(struct vsnd_ring *r, struct vsnd_ring_area areas[2], uint32_t max)
{
	uint32_t rd = atomic_load_explicit(&r->read_idx, memory_order_relaxed);
	uint32_t n = vsnd_ring_readable(r);
	if (n > max)
		n = max;
	return make_areas(r, rd, n, areas);
}

void vsnd_ring_read_commit(struct vsnd_ring *r, uint32_t frames)
{
	uint32_t rd = atomic_load_explicit(&r->read_idx, memory_order_relaxed);
	atomic_store_explicit(&r->read_idx, rd + frames, memory_order_release);
}

uint32_t vsnd_ring_write(struct vsnd_ring *r, const void *data, uint32_t frames)
{
	struct vsnd_ring_area a[2];
	uint32_t n = vsnd_ring_write_begin(r, a, frames);
	if (n == 0)
		return 0;
	size_t b0 = (size_t)a[0].frames * r->frame_bytes;
	memcpy(a[0].data, data, b0);
	if (a[1].frames)
		memcpy(a[1].data, (const uint8_t *)data + b0, (size_t)a[1].frames * r->frame_bytes);
	vsnd_ring_write_commit(r, n);
	return n;
}

uint32_t vsnd_ring_read(struct vsnd_ring *r, void *data, uint32_t frames)
{
	struct vsnd_ring_area a[2];
	uint32_t n = vsnd_ring_read_begin(r, a, frames);
	if (n == 0)
		return 0;
	size_t b0 = (size_t)a[0].frames * r->frame_bytes;
	memcpy(data, a[0].data, b0);
	if (a[1].frames)
		memcpy((uint8_t *)data + b0, a[1].data, (size_t)a[1].frames * r->frame_bytes);
	vsnd_ring_read_commit(r, n);
	return n;
}

uint32_t vsnd_ring_skip(struct vsnd_ring *r, uint32_t frames)
{
	uint32_t n = vsnd_ring_readable(r);
	if (n > frames)
		n = frames;
	vsnd_ring_read_commit(r, n);
	return n;
}
