/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "check.h"
#include "vsnd/ring.h"

static void test_init_limits(void)
{
	struct vsnd_ring r;
	CHECK_EQ(vsnd_ring_init(&r, 0, 16), -EINVAL);
	CHECK_EQ(vsnd_ring_init(&r, 4, 0), -EINVAL);
	CHECK_EQ(vsnd_ring_init(&r, 4, VSND_RING_MAX_FRAMES + 1), -EINVAL);
	CHECK_EQ(vsnd_ring_init(&r, 64, VSND_RING_MAX_FRAMES), -EINVAL); /* 64 GiB */
	CHECK_EQ(vsnd_ring_init(&r, 4, 100), 0);
	CHECK_EQ(vsnd_ring_capacity(&r), 128);
	CHECK_EQ(vsnd_ring_readable(&r), 0);
	CHECK_EQ(vsnd_ring_writable(&r), 128);
	vsnd_ring_finish(&r);
	vsnd_ring_finish(&r); /* idempotent */
}

static void test_whole_frames_and_wrap(void)
{
	struct vsnd_ring r;
	uint8_t in[6 * 12], out[6 * 12];
	CHECK_EQ(vsnd_ring_init(&r, 6, 8), 0);
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)i;

	CHECK_EQ(vsnd_ring_write(&r, in, 5), 5);
	CHECK_EQ(vsnd_ring_read(&r, out, 3), 3);
	CHECK(memcmp(out, in, 18) == 0);
	/* 2 queued, 6 free: a write of 12 takes exactly 6 whole frames, wrapping. */
	CHECK_EQ(vsnd_ring_write(&r, in + 30, 12), 6);
	CHECK_EQ(vsnd_ring_readable(&r), 8);
	CHECK_EQ(vsnd_ring_writable(&r), 0);
	CHECK_EQ(vsnd_ring_write(&r, in, 1), 0);

	struct vsnd_ring_area a[2];
	CHECK_EQ(vsnd_ring_read_begin(&r, a, 100), 8);
	CHECK_EQ(a[0].frames, 5); /* buffer slots 3..7, then the wrap to 0..2 */
	CHECK_EQ(a[1].frames, 3);
	CHECK(memcmp(a[0].data, in + 18, 12) == 0);      /* frames 3,4 of the first write */
	CHECK(memcmp((uint8_t *)a[0].data + 12, in + 30, 18) == 0);
	CHECK(memcmp(a[1].data, in + 48, 18) == 0);
	vsnd_ring_read_commit(&r, 8);
	CHECK_EQ(vsnd_ring_readable(&r), 0);
	CHECK_EQ(vsnd_ring_read(&r, out, 4), 0);
	vsnd_ring_finish(&r);
}

static void test_zero_copy_partial_commit(void)
{
	struct vsnd_ring r;
	struct vsnd_ring_area a[2];
	CHECK_EQ(vsnd_ring_init(&r, 4, 4), 0);
	CHECK_EQ(vsnd_ring_write_begin(&r, a, 3), 3);
	memset(a[0].data, 0xab, 12);
	vsnd_ring_write_commit(&r, 2); /* only two of the three reserved */
	CHECK_EQ(vsnd_ring_readable(&r), 2);
	CHECK_EQ(vsnd_ring_skip(&r, 10), 2);
	CHECK_EQ(vsnd_ring_readable(&r), 0);
	CHECK_EQ(vsnd_ring_writable(&r), 4);
	vsnd_ring_finish(&r);
}

static void test_index_wraparound(void)
{
	/* Start the free-running counters near 2^32 to prove modular arithmetic. */
	struct vsnd_ring r;
	uint32_t v = 0, w;
	CHECK_EQ(vsnd_ring_init(&r, 4, 16), 0);
	atomic_store(&r.write_idx, UINT32_MAX - 5);
	atomic_store(&r.read_idx, UINT32_MAX - 5);
	for (uint32_t i = 0; i < 64; i++) {
		CHECK_EQ(vsnd_ring_write(&r, &i, 1), 1);
		CHECK_EQ(vsnd_ring_readable(&r), 1);
		CHECK_EQ(vsnd_ring_read(&r, &w, 1), 1);
		CHECK_EQ(w, v++);
	}
	vsnd_ring_finish(&r);
}

/* ---- two threads, >= 100 MB, random chunk sizes ---- */

#define STRESS_FRAME 12
#define STRESS_BYTES (128ull << 20)
#define STRESS_FRAMES (STRESS_BYTES / STRESS_FRAME)

struct stress {
	struct vsnd_ring ring;
	uint64_t mismatches;
};

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Each frame carries its 64-bit index and a checksum word: loss, duplication and reordering all show. */
static void make_frame(uint8_t *p, uint64_t n)
{
	uint32_t check = (uint32_t)(n * 2654435761u) ^ 0x5a5a5a5au;
	memcpy(p, &n, 8);
	memcpy(p + 8, &check, 4);
}

static void *producer(void *arg)
{
	struct stress *st = arg;
	uint32_t seed = 0x12345678;
	uint64_t n = 0;
	while (n < STRESS_FRAMES) {
		struct vsnd_ring_area a[2];
		uint32_t want = 1 + xorshift(&seed) % 700;
		if (want > STRESS_FRAMES - n)
			want = (uint32_t)(STRESS_FRAMES - n);
		uint32_t got = vsnd_ring_write_begin(&st->ring, a, want);
		if (!got) {
			sched_yield();
			continue;
		}
		for (int k = 0; k < 2; k++)
			for (uint32_t i = 0; i < a[k].frames; i++)
				make_frame((uint8_t *)a[k].data + (size_t)i * STRESS_FRAME, n++);
		vsnd_ring_write_commit(&st->ring, got);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct stress *st = arg;
	uint32_t seed = 0x9abcdef0;
	uint64_t n = 0;
	uint8_t buf[1024 * STRESS_FRAME], expect[STRESS_FRAME];
	while (n < STRESS_FRAMES) {
		uint32_t want = 1 + xorshift(&seed) % 1024;
		uint32_t got = vsnd_ring_read(&st->ring, buf, want);
		if (!got) {
			sched_yield();
			continue;
		}
		for (uint32_t i = 0; i < got; i++, n++) {
			make_frame(expect, n);
			if (memcmp(buf + (size_t)i * STRESS_FRAME, expect, STRESS_FRAME) != 0)
				st->mismatches++;
		}
	}
	return NULL;
}

static void test_two_thread_stress(void)
{
	struct stress st = { 0 };
	pthread_t p, c;
	/* A small ring so both sides wrap and block on each other constantly. */
	CHECK_EQ(vsnd_ring_init(&st.ring, STRESS_FRAME, 1000), 0);
	CHECK_EQ(pthread_create(&c, NULL, consumer, &st), 0);
	CHECK_EQ(pthread_create(&p, NULL, producer, &st), 0);
	pthread_join(p, NULL);
	pthread_join(c, NULL);
	CHECK_EQ(st.mismatches, 0);
	CHECK_EQ(vsnd_ring_readable(&st.ring), 0);
	fprintf(stderr, "moved %llu MB through a %u-frame ring\n",
		(unsigned long long)(STRESS_BYTES >> 20), vsnd_ring_capacity(&st.ring));
	vsnd_ring_finish(&st.ring);
}

int main(void)
{
	RUN(test_init_limits);
	RUN(test_whole_frames_and_wrap);
	RUN(test_zero_copy_partial_commit);
	RUN(test_index_wraparound);
	RUN(test_two_thread_stress);
	return 0;
}
