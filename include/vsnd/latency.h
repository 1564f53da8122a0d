/* SPDX-License-Identifier: MIT */
/*
 * Added-latency tracker (BENCH.md "added latency"): the producer side marks
 * "frames up to index N entered our code at time T"; the consumer side says
 * "frames up to index M left our code at time T2"; every mark with N <= M
 * yields one sample T2 - T (the wait of the last frame of that chunk, so a
 * conservative figure). Samples go into a histogram of 100 us buckets up to
 * 500 ms, from which p50/p99/max are read. Single-threaded (the control loop).
 */
#ifndef VSND_LATENCY_H
#define VSND_LATENCY_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VSND_LAT_MARKS 256
#define VSND_LAT_BUCKET_NS 100000ull
#define VSND_LAT_BUCKETS 5000

struct vsnd_latency {
	struct { uint64_t frame, t; } marks[VSND_LAT_MARKS];
	uint32_t head, tail; /* marks in [tail, head) */
	uint64_t samples;
	uint64_t max_ns;
	uint32_t hist[VSND_LAT_BUCKETS + 1]; /* last bucket: >= 500 ms */
};

void vsnd_latency_reset(struct vsnd_latency *l);

/*
 * Frames up to (not including) @frame_end entered at @t_ns. Oldest marks are
 * dropped when full; a @frame_end not past the newest pending mark adds none.
 */
void vsnd_latency_enter(struct vsnd_latency *l, uint64_t frame_end, uint64_t t_ns);

/* Frames up to @frame_end left at @t_ns: resolves the marks they cover. */
void vsnd_latency_leave(struct vsnd_latency *l, uint64_t frame_end, uint64_t t_ns);

/* The @permille-th per-mille sample (500 = median, 990 = p99) in ns; 0 without samples. */
uint64_t vsnd_latency_quantile(const struct vsnd_latency *l, unsigned permille);

#ifdef __cplusplus
}
#endif

#endif /* VSND_LATENCY_H */
