/* SPDX-License-Identifier: MIT */
#include "check.h"
#include "vsnd/latency.h"

int main(void)
{
	struct vsnd_latency l;
	vsnd_latency_reset(&l);
	CHECK_EQ(vsnd_latency_quantile(&l, 500), 0);
	/* 100 chunks of 10 frames, each leaving 1.05 ms .. 100.05 ms after entering. */
	for (uint64_t i = 0; i < 100; i++)
		vsnd_latency_enter(&l, (i + 1) * 10, i * 1000000);
	for (uint64_t i = 0; i < 100; i++)
		vsnd_latency_leave(&l, (i + 1) * 10, i * 1000000 + (i + 1) * 1000000 + 50000);
	CHECK_EQ(l.samples, 100);
	CHECK_EQ(vsnd_latency_quantile(&l, 500), 50100000);  /* bucket of 50.05 ms, upper edge */
	CHECK_EQ(vsnd_latency_quantile(&l, 990), 99100000);
	CHECK_EQ(vsnd_latency_quantile(&l, 1000), 100100000);
	CHECK_EQ(l.max_ns, 100050000);
	/* A leave that covers half a chunk resolves nothing; the rest of it does. */
	vsnd_latency_enter(&l, 2000, 0);
	vsnd_latency_leave(&l, 1500, 10);
	CHECK_EQ(l.samples, 100);
	vsnd_latency_leave(&l, 2000, 2000000);
	CHECK_EQ(l.samples, 101);
	/* The same chunk marked twice (by two threads): one sample, timed from the first mark. */
	vsnd_latency_enter(&l, 2500, 1000000);
	vsnd_latency_enter(&l, 2500, 1500000);
	vsnd_latency_enter(&l, 2400, 1600000);
	CHECK_EQ(l.head - l.tail, 1);
	vsnd_latency_leave(&l, 2500, 3000000);
	CHECK_EQ(l.samples, 102);
	CHECK_EQ(l.hist[20], 3); /* 2.0 ms, as the 2.05 ms and 2.0 ms samples before */
	CHECK_EQ(l.hist[15], 0);
	/* A stalled consumer: marks are bounded, the oldest go. */
	for (uint64_t i = 0; i < 10 * VSND_LAT_MARKS; i++)
		vsnd_latency_enter(&l, 3000 + i, 0);
	CHECK_EQ(l.head - l.tail, VSND_LAT_MARKS);
	/* Far beyond the histogram: counted in the last bucket, max kept. */
	vsnd_latency_leave(&l, UINT64_MAX, 3000000000ull);
	CHECK_EQ(vsnd_latency_quantile(&l, 1000), 3000000000ull);
	return 0;
}
