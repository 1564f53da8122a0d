/* SPDX-License-Identifier: MIT */
#include "rate.h"

#include <math.h>

#include <spa/utils/defs.h>

void qubes_rate_reset(struct qubes_rate *r)
{
	r->on = false;
}

uint32_t qubes_rate_reprime(uint32_t target, double host_read, uint32_t put)
{
	double low = (double)target - (host_read + (double)put) / 2.0;
	return low > 0 ? (uint32_t)low : 0;
}

void qubes_rate_resume(struct qubes_rate *r, double fill)
{
	if (!r->on)
		return; /* the next update starts afresh anyway */
	r->fill_avg = fill;
	r->catching = 0;
}

double qubes_rate_update(struct qubes_rate *r, uint32_t queued, uint32_t target, uint32_t quantum,
			 uint32_t rate)
{
	if (!r->on) {
		spa_dll_init(&r->dll);
		spa_dll_set_bw(&r->dll, QUBES_RATE_BW, quantum, rate);
		r->on = true;
		r->catching = 0;
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
	 * Off the target by more than the DLL's own wander, either way: catch
	 * up at 0.5 % (8.6 cents, for a second or so: 5 ms per second, not 1)
	 * until within a 32nd of it. Under: a stall of the VM's graph ate the
	 * margin (most of it on the host side, where we cannot see it); at the
	 * DLL's limit the queue would stay near the edge for seconds, where
	 * the next stall is an underrun. Over: a stall on the reading side
	 * left a period or more queued, latency for good unless drained (the
	 * microphone's latency saw-toothed so). The DLL waits meanwhile: its
	 * state is the clocks' drift, which neither changes.
	 */
	double off = r->fill_avg - target;
	if (fabs(off) > target / QUBES_RATE_CATCH_UP_FROM)
		r->catching = off < 0 ? 1 : -1;
	else if (fabs(off) <= target / QUBES_RATE_CATCH_UP_UNTIL)
		r->catching = 0;
	if (r->catching)
		return 1.0 + r->catching * QUBES_RATE_CATCH_UP;
	double z3 = r->dll.z3;
	/* spa_dll's output falls as the error grows: 2 - out rises with it. */
	double corr = 2.0 - spa_dll_update(&r->dll, error);
	if ((corr > 1.0 + QUBES_RATE_MAX_CORRECTION && error > 0) ||
	    (corr < 1.0 - QUBES_RATE_MAX_CORRECTION && error < 0))
		r->dll.z3 = z3; /* saturated and pushing further: do not integrate */
	return SPA_CLAMP(corr, 1.0 - QUBES_RATE_MAX_CORRECTION, 1.0 + QUBES_RATE_MAX_CORRECTION);
}
