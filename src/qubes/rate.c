/* SPDX-License-Identifier: MIT */
#include "rate.h"

#include <spa/utils/defs.h>

void qubes_rate_reset(struct qubes_rate *r)
{
	r->on = false;
}

double qubes_rate_update(struct qubes_rate *r, uint32_t queued, uint32_t target, uint32_t quantum,
			 uint32_t rate)
{
	if (!r->on) {
		spa_dll_init(&r->dll);
		spa_dll_set_bw(&r->dll, SPA_DLL_BW_MIN, quantum, rate);
		r->on = true;
		r->fill_avg = (double)queued;
	}
	/*
	 * The queue saw-tooths: our cycles add a quantum, the host takes a
	 * period at a time, at unrelated moments. Its average over a few
	 * host periods is the level to hold; one sample is mostly phase noise.
	 */
	r->fill_avg += ((double)queued - r->fill_avg) / 16.0;
	/* Positive error: too little queued. */
	double error = SPA_CLAMP((double)target - r->fill_avg, -QUBES_RATE_MAX_ERROR, QUBES_RATE_MAX_ERROR);
	/*
	 * Nearly empty (a stall of the VM's graph ate the margin, most of it
	 * on the host side where we cannot see it): catch up at +0.5 % (8.6
	 * cents, for a few seconds) rather than for half a minute at the edge,
	 * where the next stall is an underrun. The DLL waits meanwhile.
	 */
	if (r->fill_avg < target / 4.0)
		return 1.0 + QUBES_RATE_CATCH_UP;
	/*
	 * Far over (the host stopped reading for a while and the backlog is
	 * latency now, or a start queued more than the host takes): drain it
	 * as fast, 5 ms per second, not 1, down to one and a half targets.
	 */
	if (r->fill_avg > 1.5 * target)
		return 1.0 - QUBES_RATE_CATCH_UP;
	double z3 = r->dll.z3;
	/* spa_dll's output falls as the error grows: 2 - out rises with it. */
	double corr = 2.0 - spa_dll_update(&r->dll, error);
	if ((corr > 1.0 + QUBES_RATE_MAX_CORRECTION && error > 0) ||
	    (corr < 1.0 - QUBES_RATE_MAX_CORRECTION && error < 0))
		r->dll.z3 = z3; /* saturated and pushing further: do not integrate */
	return SPA_CLAMP(corr, 1.0 - QUBES_RATE_MAX_CORRECTION, 1.0 + QUBES_RATE_MAX_CORRECTION);
}
