/* SPDX-License-Identifier: MIT */
/*
 * Lock-free single-producer / single-consumer ring of whole frames.
 *
 * One thread produces (write_*), one thread consumes (read_*); they meet only
 * through two C11 atomic indices (release on commit, acquire on begin). The
 * capacity is a power of two in frames and every operation moves whole
 * frames, so a reader never sees half a frame and the channels can never
 * swap. The zero-copy API hands out at most two contiguous areas (before and
 * after the wrap) that the caller fills or reads in place, e.g. straight from
 * a realtime callback into the sound server's buffer, then commits.
 *
 * The indices are free-running 32-bit frame counters: readable = write - read
 * in modular arithmetic, so capacity is limited to 2^30 frames.
 *
 * A frame of 1 byte makes it a byte ring (used by the vchan transport).
 */
#ifndef VSND_RING_H
#define VSND_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VSND_RING_MAX_FRAMES (1u << 30)
#define VSND_RING_MAX_BYTES (1ull << 30)

struct vsnd_ring_area {
	void *data;      /* first byte of the area */
	uint32_t frames; /* whole frames in the area */
};

struct vsnd_ring {
	/* Producer-owned index, on its own cache line so the two sides do not
	 * bounce one line between cores on every commit. */
	_Alignas(64) _Atomic uint32_t write_idx;
	_Alignas(64) _Atomic uint32_t read_idx;
	_Alignas(64) uint8_t *buf;
	uint32_t frame_bytes;
	uint32_t capacity; /* frames, power of two */
	uint32_t mask;
};

/*
 * Allocate a ring of at least @min_frames frames of @frame_bytes bytes each
 * (rounded up to a power of two). Returns 0, -EINVAL (zero sizes, or more than
 * VSND_RING_MAX_FRAMES frames / VSND_RING_MAX_BYTES bytes) or -ENOMEM.
 */
int vsnd_ring_init(struct vsnd_ring *r, uint32_t frame_bytes, uint32_t min_frames);

/* Free the buffer. Both sides must have stopped. Safe on a zeroed ring. */
void vsnd_ring_finish(struct vsnd_ring *r);

/* Empty the ring. Only while neither side runs. */
void vsnd_ring_reset(struct vsnd_ring *r);

static inline uint32_t vsnd_ring_capacity(const struct vsnd_ring *r) { return r->capacity; }
static inline uint32_t vsnd_ring_frame_bytes(const struct vsnd_ring *r) { return r->frame_bytes; }

/* Frames ready to read. Exact for the consumer, a lower bound for others. */
uint32_t vsnd_ring_readable(struct vsnd_ring *r);

/* Frames that can be written. Exact for the producer, a lower bound for others. */
uint32_t vsnd_ring_writable(struct vsnd_ring *r);

/*
 * Producer: get up to @max frames of free space as one or two areas
 * (areas[1].frames is 0 when no wrap). Returns the total frames available
 * (<= @max). Nothing changes until vsnd_ring_write_commit().
 */
uint32_t vsnd_ring_write_begin(struct vsnd_ring *r, struct vsnd_ring_area areas[2], uint32_t max);

/* Producer: publish @frames frames (<= what write_begin returned). */
void vsnd_ring_write_commit(struct vsnd_ring *r, uint32_t frames);

/* Consumer: get up to @max readable frames as one or two areas. */
uint32_t vsnd_ring_read_begin(struct vsnd_ring *r, struct vsnd_ring_area areas[2], uint32_t max);

/* Consumer: release @frames frames (<= what read_begin returned). */
void vsnd_ring_read_commit(struct vsnd_ring *r, uint32_t frames);

/* Producer: copy up to @frames frames in; returns frames written. */
uint32_t vsnd_ring_write(struct vsnd_ring *r, const void *data, uint32_t frames);

/* Consumer: copy up to @frames frames out; returns frames read. */
uint32_t vsnd_ring_read(struct vsnd_ring *r, void *data, uint32_t frames);

/* Consumer: drop up to @frames of the oldest frames; returns frames dropped. */
uint32_t vsnd_ring_skip(struct vsnd_ring *r, uint32_t frames);

#ifdef __cplusplus
}
#endif

#endif /* VSND_RING_H */
