/* SPDX-License-Identifier: MIT */
/*
 * The agent's rate control: from the frames queued on a path (agent ring +
 * vchan) to the resampler correction that holds them at a target. A DLL
 * (spa_dll) on the queue's average, its output clamped to +-0.1 % (+-0.5 %
 * from an eighth of the target off it until back within a 32nd), with
 * conditional integration: while the output is held at the clamp, the
 * integrator does not keep growing (without that, a long recovery from an
 * empty queue "winds up" and then overshoots the target by tens of ms).
 * Pure arithmetic: runs on the data thread, tested on its own.
 */
#ifndef VSND_QUBES_RATE_H
#define VSND_QUBES_RATE_H

#include <stdbool.h>
#include <stdint.h>

#include <spa/utils/dll.h>

/* The resampler is never asked for more than this (+-0.1 % = 1.7 cents: inaudible). */
#define QUBES_RATE_MAX_CORRECTION 0.001
/* ... except while catching up after a stall, +-0.5 %: */
#define QUBES_RATE_CATCH_UP 0.005
/* from target / 8 off the target (the DLL holds it within a few frames) until within target / 32. */
#define QUBES_RATE_CATCH_UP_FROM 8.0
#define QUBES_RATE_CATCH_UP_UNTIL 32.0
/*
 * The DLL's bandwidth: 0.064 holds the queue within a few frames and follows
 * a drift in seconds; spa_dll's minimum (0.016) wandered by tens of frames
 * and took ten seconds to take back what a stall had left.
 */
#define QUBES_RATE_BW 0.064
/* The DLL acts on at most this much error per cycle, so one late cycle cannot swing the rate. */
#define QUBES_RATE_MAX_ERROR 256.0

struct qubes_rate {
	struct spa_dll dll;
	bool on;
	double fill_avg; /* the queue, averaged over ~16 cycles */
	int catching;    /* +1 / -1: catching up (too little / too much queued) until back; 0: DLL */
};

/* Start afresh at the next update (no host to follow, or a new stream). */
void qubes_rate_reset(struct qubes_rate *r);

/*
 * The host read the queue dry (a gap): the level to refill it to with
 * silence at once, before this cycle's @put frames go in. It is where the
 * queue stands right after a host read when it holds @target on average
 * (as sampled, after our cycles): the target less half a read (@host_read
 * frames, the host takes that much at once) and half a cycle. Refilled to
 * the target itself, the queue held ~4 ms (a read and a cycle, halved) more
 * than before the gap, latency the catch-up then took a second to drain.
 */
uint32_t qubes_rate_reprime(uint32_t target, double host_read, uint32_t put);

/*
 * The queue was just refilled to hold @fill on average (qubes_rate_reprime):
 * average from there, out of any catch-up. The DLL keeps the clocks' drift
 * it has learned: a gap changes neither clock.
 */
void qubes_rate_resume(struct qubes_rate *r, double fill);

/*
 * One cycle: QUEUED frames on the path now, TARGET to hold, QUANTUM the
 * cycle's length in frames at RATE Hz. Returns the correction factor c in
 * [1 - CATCH_UP, 1 + CATCH_UP]: > 1 when too little is queued. Both nodes set
 * their adapter's resampler rate (spa_io_rate_match.rate, output frames per
 * input frame) to c: a sink (consumes from the graph) then hands us more frames
 * per cycle, a source (produces into the graph) asks fewer of ours.
 */
double qubes_rate_update(struct qubes_rate *r, uint32_t queued, uint32_t target, uint32_t quantum,
			 uint32_t rate);

#endif
