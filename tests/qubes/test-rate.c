/* SPDX-License-Identifier: MIT */
/*
 * The agent's rate control (src/qubes/rate.c) in a simulated playback path:
 * the VM graph runs a 256-frame quantum at 48 kHz, the agent's resampler
 * turns it into 235.2 frames at 44.1 kHz times the correction, and the host
 * takes 441-frame periods on its own clock (which drifts) from vsnd-qubes'
 * ring, which takes from the vchan whatever fits under its fill limit (3
 * periods), unseen by the agent. Checks: the queue
 * settles at the target; after the VM's graph stalls and the queue runs dry,
 * it is rebuilt without overshooting the target (no integrator wind-up);
 * the correction never leaves +-0.1 %.
 */
#include <math.h>
#include <stdio.h>

#include "rate.h"

static int failures;
#define CHECK(c, ...)                                                                  \
	do {                                                                           \
		if (!(c)) {                                                            \
			fprintf(stderr, "%s:%d: %s: ", __FILE__, __LINE__, #c);        \
			fprintf(stderr, __VA_ARGS__);                                  \
			fputc('\n', stderr);                                           \
			failures++;                                                    \
		}                                                                      \
	} while (0)

#define TARGET 441u
#define QUANTUM 256u
#define SECONDS 150
#define HOST_FILL 1323.0 /* vsnd-qubes' default fill: 3 periods of 441 */

struct sim {
	struct qubes_rate rc;
	double queue;          /* frames on the path the agent sees (its ring + the vchan) */
	double host;           /* frames in vsnd-qubes' ring */
	double avg[SECONDS];   /* the queue averaged over each second */
	double tot[SECONDS];   /* queue + vsnd-qubes' ring, averaged over each second */
	double cmin, cmax;     /* corrections seen */
	long underruns;        /* host periods that found less than a period */
};

/* vsnd-qubes reads the vchan as data comes, up to its fill limit. */
static void take(struct sim *s)
{
	double n = fmin(s->queue, HOST_FILL - s->host);
	s->queue -= n;
	s->host += n;
}

/* Host clock faster than ours by DRIFT (e.g. 3e-4); the VM graph stalls (produces nothing) in [stall_at, stall_at + stall_len). */
static void run(struct sim *s, double drift, double stall_at, double stall_len)
{
	const double ta = QUANTUM / 48000.0, th = 441.0 / 44100.0 / (1.0 + drift);
	double t_agent = 0, t_host = th / 3;
	double sum[SECONDS] = { 0 }, sum_tot[SECONDS] = { 0 };
	long n[SECONDS] = { 0 };
	s->queue = TARGET;
	s->host = HOST_FILL;
	s->cmin = s->cmax = 1.0;
	s->underruns = 0;
	qubes_rate_reset(&s->rc);
	while (t_agent < SECONDS) {
		if (t_host <= t_agent) {
			/* A period, or what is there (and an underrun). */
			if (s->host < 441.0)
				s->underruns++;
			s->host = s->host > 441.0 ? s->host - 441.0 : 0;
			take(s);
			t_host += th;
			continue;
		}
		if (t_agent >= stall_at && t_agent < stall_at + stall_len) {
			t_agent += ta;
			continue;
		}
		uint32_t q = (uint32_t)s->queue;
		double c = qubes_rate_update(&s->rc, q, TARGET, QUANTUM, 44100);
		s->cmin = fmin(s->cmin, c);
		s->cmax = fmax(s->cmax, c);
		int sec = (int)t_agent;
		sum[sec] += s->queue;
		sum_tot[sec] += s->queue + s->host;
		n[sec]++;
		s->queue += QUANTUM * 44100.0 / 48000.0 * c;
		take(s);
		t_agent += ta;
	}
	for (int i = 0; i < SECONDS; i++) {
		s->avg[i] = n[i] ? sum[i] / n[i] : 0;
		s->tot[i] = n[i] ? sum_tot[i] / n[i] : 0;
	}
}

static double max_avg(const struct sim *s, int from, int to)
{
	double m = 0;
	for (int i = from; i < to; i++)
		m = fmax(m, s->avg[i]);
	return m;
}

static double min_avg(const struct sim *s, int from, int to)
{
	double m = 1e9;
	for (int i = from; i < to; i++)
		m = fmin(m, s->avg[i]);
	return m;
}

int main(void)
{
	/* The average queue the host's 441-frame bites leave when we hold TARGET at our measuring points. */
	struct sim s;
	const double drifts[] = { 0, 3e-4, -3e-4, 8e-4, -8e-4 };
	for (unsigned i = 0; i < sizeof(drifts) / sizeof(drifts[0]); i++) {
		double d = drifts[i];
		run(&s, d, 1e9, 0);
		/* Settled within 30 s, then held: no underrun, the queue near its target. */
		CHECK(min_avg(&s, 30, SECONDS) > TARGET - 60 && max_avg(&s, 30, SECONDS) < TARGET + 60,
		      "drift %g: queue %.0f..%.0f frames after 30 s (target %u)", d, min_avg(&s, 30, SECONDS),
		      max_avg(&s, 30, SECONDS), TARGET);
		CHECK(s.cmin >= 1.0 - QUBES_RATE_MAX_CORRECTION && s.cmax <= 1.0 + QUBES_RATE_CATCH_UP,
		      "drift %g: correction %f..%f", d, s.cmin, s.cmax);
		printf("drift %+.4f %%: queue %.0f..%.0f after 30 s, correction %.5f..%.5f, %ld underruns\n",
		       d * 100, min_avg(&s, 30, SECONDS), max_avg(&s, 30, SECONDS), s.cmin, s.cmax, s.underruns);
	}

	/*
	 * The VM's graph stalls for 100 ms at 20 s: the queue runs dry and is
	 * rebuilt at the +0.1 % limit (~10 s). A DLL that integrated the error
	 * all along the way would then overshoot by up to tens of ms.
	 */
	for (int k = 0; k < 2; k++) {
		double d = k ? 3e-4 : 0;
		run(&s, d, 20.0, 0.1);
		double over = max_avg(&s, 21, SECONDS) - TARGET;
		CHECK(over < 80, "drift %g: after the stall the queue overshot the target by %.0f frames", d, over);
		CHECK(min_avg(&s, 60, SECONDS) > TARGET - 60 && max_avg(&s, 60, SECONDS) < TARGET + 60,
		      "drift %g: queue %.0f..%.0f frames 40 s after the stall", d, min_avg(&s, 60, SECONDS),
		      max_avg(&s, 60, SECONDS));
		printf("stall, drift %+.4f %%: overshoot %.0f frames, queue %.0f..%.0f from 40 s after\n", d * 100,
		       over, min_avg(&s, 60, SECONDS), max_avg(&s, 60, SECONDS));
	}
	/*
	 * A 25 ms stall the queues absorb (no underrun): most of the loss is in
	 * vsnd-qubes' ring, out of the agent's sight, and comes back at the
	 * catch-up rate, within seconds rather than half a minute.
	 */
	run(&s, 0, 20.0, 0.025);
	double steady = s.tot[19];
	int back = 21;
	while (back < SECONDS && s.tot[back] < steady - 220)
		back++;
	CHECK(s.underruns == 0, "a 25 ms stall made %ld underruns", s.underruns);
	CHECK(back - 20 <= 12, "the path took %d s to get its depth back after a 25 ms stall", back - 20);
	CHECK(max_avg(&s, 21, SECONDS) - TARGET < 80, "overshoot %.0f frames", max_avg(&s, 21, SECONDS) - TARGET);
	printf("25 ms stall: path depth (%.0f frames) back within 5 ms after %d s, overshoot %.0f frames\n", steady,
	       back - 20, max_avg(&s, 21, SECONDS) - TARGET);
	return failures ? 1 : 0;
}
