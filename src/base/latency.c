/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "vsnd/latency.h"

void vsnd_latency_reset(struct vsnd_latency *l)
{
	memset(l, 0, sizeof(*l));
}

void vsnd_latency_enter(struct vsnd_latency *l, uint64_t frame_end, uint64_t t_ns)
{
	/* Nothing new entered (two threads may both mark the same chunk): the first mark stands. */
	if (l->head != l->tail && frame_end <= l->marks[(l->head - 1) % VSND_LAT_MARKS].frame)
		return;
	if (l->head - l->tail == VSND_LAT_MARKS)
		l->tail++; /* a consumer that stalls must not grow this without bound */
	l->marks[l->head % VSND_LAT_MARKS].frame = frame_end;
	l->marks[l->head % VSND_LAT_MARKS].t = t_ns;
	l->head++;
}

void vsnd_latency_leave(struct vsnd_latency *l, uint64_t frame_end, uint64_t t_ns)
{
	while (l->tail != l->head && l->marks[l->tail % VSND_LAT_MARKS].frame <= frame_end) {
		uint64_t t0 = l->marks[l->tail % VSND_LAT_MARKS].t;
		uint64_t d = t_ns > t0 ? t_ns - t0 : 0;
		uint64_t b = d / VSND_LAT_BUCKET_NS;
		l->hist[b > VSND_LAT_BUCKETS ? VSND_LAT_BUCKETS : b]++;
		l->samples++;
		if (d > l->max_ns)
			l->max_ns = d;
		l->tail++;
	}
}

uint64_t vsnd_latency_quantile(const struct vsnd_latency *l, unsigned permille)
{
	if (!l->samples)
		return 0;
	uint64_t want = (l->samples * permille + 999) / 1000, seen = 0;
	if (want == 0)
		want = 1;
	for (uint32_t b = 0; b <= VSND_LAT_BUCKETS; b++) {
		seen += l->hist[b];
		if (seen >= want)
			return b == VSND_LAT_BUCKETS ? l->max_ns : (b + 1) * VSND_LAT_BUCKET_NS;
	}
	return l->max_ns;
}
