/* SPDX-License-Identifier: MIT */
/*
 * The agent's rate control: from the frames queued on a path (agent ring +
 * vchan) to the resampler correction that holds them at a target. A DLL
 * (spa_dll) on the queue's average, its output clamped to +-0.1 % (+0.5 %
 * while the queue is nearly empty, -0.5 % while over 1.5 times the target), with
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
/* ... except while the queue is nearly empty or over 1.5 targets: catching up, +-0.5 %. */
#define QUBES_RATE_CATCH_UP 0.005
/* The DLL acts on at most this much error per cycle, so one late cycle cannot swing the rate. */
#define QUBES_RATE_MAX_ERROR 256.0

struct qubes_rate {
	struct spa_dll dll;
	bool on;
	double fill_avg; /* the queue, averaged over ~16 cycles */
};

/* Start afresh at the next update (no host to follow, or a new stream). */
void qubes_rate_reset(struct qubes_rate *r);

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
