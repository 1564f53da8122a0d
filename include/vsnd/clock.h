/* SPDX-License-Identifier: MIT */
/*
 * Monotonic clock helpers. All times are CLOCK_MONOTONIC nanoseconds in a
 * uint64_t; frame/time conversions use 128-bit intermediates so they neither
 * overflow nor accumulate rounding drift over long runs.
 */
#ifndef VSND_CLOCK_H
#define VSND_CLOCK_H

#include <stdint.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VSND_NSEC_PER_SEC 1000000000ull
#define VSND_NSEC_PER_MSEC 1000000ull
#define VSND_NSEC_PER_USEC 1000ull

/* CLOCK_MONOTONIC now, in nanoseconds. Async-signal-safe. */
static inline uint64_t vsnd_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * VSND_NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static inline struct timespec vsnd_ns_to_timespec(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / VSND_NSEC_PER_SEC),
		.tv_nsec = (long)(ns % VSND_NSEC_PER_SEC),
	};
	return ts;
}

static inline uint64_t vsnd_timespec_to_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * VSND_NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
}

/* Duration of @frames at @rate Hz, rounded down. @rate must be > 0. */
static inline uint64_t vsnd_frames_to_ns(uint64_t frames, uint32_t rate)
{
	return (uint64_t)((unsigned __int128)frames * VSND_NSEC_PER_SEC / rate);
}

/* Whole frames at @rate Hz that fit in @ns, rounded down. */
static inline uint64_t vsnd_ns_to_frames(uint64_t ns, uint32_t rate)
{
	return (uint64_t)((unsigned __int128)ns * rate / VSND_NSEC_PER_SEC);
}

/* Sleep until the absolute CLOCK_MONOTONIC time @deadline_ns (restarts on EINTR). */
void vsnd_sleep_until(uint64_t deadline_ns);

/* Sleep for @ns nanoseconds (restarts on EINTR). */
void vsnd_sleep_ns(uint64_t ns);

#ifdef __cplusplus
}
#endif

#endif /* VSND_CLOCK_H */
