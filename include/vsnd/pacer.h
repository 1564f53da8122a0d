/* SPDX-License-Identifier: MIT */
/*
 * A timerfd pacer: ticks once per period of @period_frames at @rate Hz, like
 * a sound card's period interrupt. Deadlines are computed from the start time
 * and the total frame count (start + frames * 1e9 / rate), never by adding a
 * rounded period length, so a long run does not drift; between realignments
 * the kernel's interval timer wakes us (no system call per period to re-arm).
 *
 * The fd is pollable; vsnd_pacer_wait() blocks, vsnd_pacer_ack() reads a
 * ready fd without blocking. When the caller falls behind, the missed
 * periods are reported together (as a sound card would, after an xrun).
 */
#ifndef VSND_PACER_H
#define VSND_PACER_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vsnd_pacer {
	int fd;
	uint32_t rate;
	uint32_t period_frames;
	uint64_t start_ns;
	uint64_t ticks; /* periods elapsed and reported so far */
	uint64_t aligned_at; /* the tick at which the timer was last set on the exact grid */
};

/* The timer runs on the kernel's interval between realignments this many ticks apart. */
#define VSND_PACER_REALIGN_TICKS 1000

/*
 * Create the timerfd (CLOCK_MONOTONIC, non-blocking, close-on-exec).
 * Returns 0, -EINVAL for a zero rate or period, or -errno.
 */
int vsnd_pacer_init(struct vsnd_pacer *p, uint32_t rate, uint32_t period_frames);

/* Close the timerfd. Safe on a pacer whose init failed (fd -1) or was zeroed. */
void vsnd_pacer_finish(struct vsnd_pacer *p);

/* Arm: the first tick comes one period after @start_ns (0 = now). */
int vsnd_pacer_start(struct vsnd_pacer *p, uint64_t start_ns);

/* Disarm. A later start begins a new timeline. */
int vsnd_pacer_stop(struct vsnd_pacer *p);

/* Pollable fd, readable when at least one period has elapsed. */
static inline int vsnd_pacer_fd(const struct vsnd_pacer *p) { return p->fd; }

/*
 * Consume elapsed periods without blocking. Returns how many periods have
 * elapsed since the last call (0 if none yet), or -errno.
 */
int64_t vsnd_pacer_ack(struct vsnd_pacer *p);

/* Block until at least one period has elapsed; returns the count (>= 1) or -errno. */
int64_t vsnd_pacer_wait(struct vsnd_pacer *p);

/* CLOCK_MONOTONIC time of tick number @n (n = 1 is the first). */
uint64_t vsnd_pacer_tick_time(const struct vsnd_pacer *p, uint64_t n);

#ifdef __cplusplus
}
#endif

#endif /* VSND_PACER_H */
