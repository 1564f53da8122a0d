/* SPDX-License-Identifier: MIT */
/*
 * The floor under every paced figure of bench/audio-backends: the CPU time and
 * context switches of a process that does nothing but wake on a timerfd every
 * PERIOD_MS for SECONDS (one wake-up per period, like a sound card interrupt).
 * Prints the same `result:` line as vsnd-tone.
 */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vsnd/clock.h"

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 20;
	double period_ms = argc > 2 ? atof(argv[2]) : 10;
	uint64_t period_ns = (uint64_t)(period_ms * 1e6);
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec its = { .it_interval = vsnd_ns_to_timespec(period_ns),
				  .it_value = vsnd_ns_to_timespec(period_ns) };
	if (fd < 0 || seconds <= 0 || period_ns == 0 || timerfd_settime(fd, 0, &its, NULL) < 0)
		return 1;
	uint64_t t0 = vsnd_now_ns(), ticks = 0, want = (uint64_t)(seconds * 1e9 / period_ns);
	while (ticks < want) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint64_t n;
		if (poll(&pfd, 1, -1) == 1 && read(fd, &n, sizeof(n)) == sizeof(n))
			ticks += n;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		     (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
	printf("result: status=ok backend=floor frames=0 underrun=0 latency_ms=0 delay_max_ms=0 "
	       "cpu_s=%.4f wall_s=%.3f ctxsw=%ld\n", cpu, (vsnd_now_ns() - t0) / 1e9,
	       ru.ru_nvcsw + ru.ru_nivcsw);
	return 0;
}
