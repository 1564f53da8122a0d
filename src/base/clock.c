/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "vsnd/clock.h"

void vsnd_sleep_until(uint64_t deadline_ns)
{
	struct timespec ts = vsnd_ns_to_timespec(deadline_ns);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

void vsnd_sleep_ns(uint64_t ns)
{
	vsnd_sleep_until(vsnd_now_ns() + ns);
}
