/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <string.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vsnd/clock.h"
#include "vsnd/pacer.h"

int vsnd_pacer_init(struct vsnd_pacer *p, uint32_t rate, uint32_t period_frames)
{
	memset(p, 0, sizeof(*p));
	p->fd = -1;
	if (rate == 0 || period_frames == 0)
		return -EINVAL;
	p->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (p->fd < 0)
		return -errno;
	p->rate = rate;
	p->period_frames = period_frames;
	return 0;
}

void vsnd_pacer_finish(struct vsnd_pacer *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

uint64_t vsnd_pacer_tick_time(const struct vsnd_pacer *p, uint64_t n)
{
	return p->start_ns + vsnd_frames_to_ns(n * p->period_frames, p->rate);
}

/*
 * The timer is set on the exact tick grid, then left to the kernel's interval
 * (the period rounded up to a whole ns, so it never fires before a tick and
 * falls behind the grid by under 1 ns a tick) and set again every
 * VSND_PACER_REALIGN_TICKS: re-arming at every tick was a system call per
 * period, as dear as the wake-up itself on a virtual machine.
 */
static int arm(struct vsnd_pacer *p)
{
	uint64_t period_ns = ((uint64_t)p->period_frames * VSND_NSEC_PER_SEC + p->rate - 1) / p->rate;
	struct itimerspec its = {
		.it_value = vsnd_ns_to_timespec(vsnd_pacer_tick_time(p, p->ticks + 1)),
		.it_interval = vsnd_ns_to_timespec(period_ns),
	};
	if (timerfd_settime(p->fd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		return -errno;
	p->aligned_at = p->ticks;
	return 0;
}

int vsnd_pacer_start(struct vsnd_pacer *p, uint64_t start_ns)
{
	p->start_ns = start_ns ? start_ns : vsnd_now_ns();
	p->ticks = 0;
	return arm(p);
}

int vsnd_pacer_stop(struct vsnd_pacer *p)
{
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	if (timerfd_settime(p->fd, 0, &its, NULL) < 0)
		return -errno;
	return 0;
}

/* The periods come from the clock, not from the timer's count: they cannot drift. */
int64_t vsnd_pacer_ack(struct vsnd_pacer *p)
{
	uint64_t exp;
	if (read(p->fd, &exp, sizeof(exp)) != (ssize_t)sizeof(exp))
		return errno == EAGAIN ? 0 : -errno;
	uint64_t now = vsnd_now_ns();
	uint64_t n = now > p->start_ns ?
		vsnd_ns_to_frames(now - p->start_ns, p->rate) / p->period_frames : 0;
	/* Integer rounding can put n one off either way; settle it exactly. */
	while (n > 0 && vsnd_pacer_tick_time(p, n) > now)
		n--;
	while (vsnd_pacer_tick_time(p, n + 1) <= now)
		n++;
	if (n < p->ticks)
		n = p->ticks;
	int64_t elapsed = (int64_t)(n - p->ticks);
	p->ticks = n;
	/*
	 * The timer's count and ours part when the timer read a tick as not yet
	 * due and our clock, read just after, counted it: it would then wake us
	 * again for a tick already reported. Set it on the grid again then too.
	 */
	bool realign = (uint64_t)elapsed != exp || p->ticks - p->aligned_at >= VSND_PACER_REALIGN_TICKS;
	int ret = realign ? arm(p) : 0;
	return ret < 0 ? ret : elapsed;
}

int64_t vsnd_pacer_wait(struct vsnd_pacer *p)
{
	for (;;) {
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		int64_t n = vsnd_pacer_ack(p);
		if (n != 0)
			return n;
	}
}
