/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>

#include "check.h"
#include "vsnd/clock.h"
#include "vsnd/pacer.h"

static void test_invalid(void)
{
	struct vsnd_pacer p;
	CHECK_EQ(vsnd_pacer_init(&p, 0, 480), -EINVAL);
	CHECK_EQ(p.fd, -1);
	vsnd_pacer_finish(&p);
	CHECK_EQ(vsnd_pacer_init(&p, 48000, 0), -EINVAL);
	vsnd_pacer_finish(&p);
}

static void test_tick_times_do_not_drift(void)
{
	/* 44100 Hz with 441-frame periods: 10 ms exactly; 1000 Hz with 3 frames: 3 ms. */
	struct vsnd_pacer p;
	CHECK_EQ(vsnd_pacer_init(&p, 44100, 441), 0);
	p.start_ns = 1000;
	CHECK_EQ(vsnd_pacer_tick_time(&p, 1), 1000 + 10000000);
	CHECK_EQ(vsnd_pacer_tick_time(&p, 360000), 1000 + 3600ull * VSND_NSEC_PER_SEC);
	vsnd_pacer_finish(&p);
	/* 48000 Hz, 7-frame periods: 145833.33 ns each. Adding a rounded period would
	 * be 0.33 ns/tick off; deadlines from the frame count land exactly on 7 s. */
	CHECK_EQ(vsnd_pacer_init(&p, 48000, 7), 0);
	p.start_ns = 0;
	CHECK_EQ(vsnd_pacer_tick_time(&p, 1), 145833);
	CHECK_EQ(vsnd_pacer_tick_time(&p, 48000), 7 * VSND_NSEC_PER_SEC);
	CHECK_EQ(vsnd_pacer_tick_time(&p, 48000ull * 3600), 7 * 3600 * VSND_NSEC_PER_SEC);
	vsnd_pacer_finish(&p);
}

static void test_nonblocking_ack(void)
{
	struct vsnd_pacer p;
	CHECK_EQ(vsnd_pacer_init(&p, 48000, 4800), 0); /* 100 ms */
	CHECK_EQ(vsnd_pacer_start(&p, 0), 0);
	CHECK_EQ(vsnd_pacer_ack(&p), 0); /* nothing elapsed yet */
	CHECK_EQ(vsnd_pacer_wait(&p), 1);
	/* Miss three periods: they are reported together. */
	vsnd_sleep_until(vsnd_pacer_tick_time(&p, 4) + 20 * VSND_NSEC_PER_MSEC);
	CHECK_EQ(vsnd_pacer_wait(&p), 3);
	CHECK_EQ(vsnd_pacer_stop(&p), 0);
	vsnd_pacer_finish(&p);
}

/*
 * 2 s of 10 ms periods: each wait reports exactly the periods due by then,
 * never one early and none held back, so the count follows the clock
 * whatever the load. (How late the wake-ups come is the machine's, measured
 * by bench/timer-floor; a load stall here used to fail "200 periods in 2 s
 * +- 1 %" with 205 ticks in 2058 ms, which was the pacer being right.)
 */
static void test_counts_follow_clock(void)
{
	struct vsnd_pacer p;
	CHECK_EQ(vsnd_pacer_init(&p, 48000, 480), 0);
	uint64_t t0 = vsnd_now_ns();
	CHECK_EQ(vsnd_pacer_start(&p, t0), 0);
	uint64_t ticks = 0, late_max = 0;
	while (ticks < 200) {
		uint64_t before = vsnd_now_ns();
		int64_t n = vsnd_pacer_wait(&p);
		uint64_t after = vsnd_now_ns();
		CHECK(n >= 1);
		ticks += (uint64_t)n;
		uint64_t due = vsnd_pacer_tick_time(&p, ticks);
		CHECK(after >= due);                                /* never early */
		CHECK(vsnd_pacer_tick_time(&p, ticks + 1) > before); /* none held back */
		if (after - due > late_max)
			late_max = after - due;
	}
	uint64_t elapsed = vsnd_now_ns() - t0;
	fprintf(stderr, "%llu periods in %.3f ms, worst lateness %.3f ms\n", (unsigned long long)ticks,
		elapsed / 1e6, late_max / 1e6);
	CHECK(elapsed >= 2000 * VSND_NSEC_PER_MSEC);
	CHECK_EQ(vsnd_pacer_tick_time(&p, 200), t0 + 2000 * VSND_NSEC_PER_MSEC);
	vsnd_pacer_finish(&p);
}

/*
 * Between realignments the kernel's interval timer ticks: no system call per
 * period to re-arm. Periods of 1 ms, each reported no earlier than due, until
 * the timer was set on the exact grid again for having run
 * VSND_PACER_REALIGN_TICKS on its interval (at most 3 times as long: a late
 * wake-up that reported several periods may realign it, as the timer's count
 * and ours may part there); never for an ordinary tick (re-arming at every
 * tick fails that at once).
 */
static void test_realigns_rarely(void)
{
	struct vsnd_pacer p;
	CHECK_EQ(vsnd_pacer_init(&p, 1000, 1), 0);
	CHECK_EQ(vsnd_pacer_start(&p, 0), 0);
	uint64_t ticks = 0, aligned = 0, by_interval = 0;
	bool periodic = false;
	while (!periodic) {
		int64_t n = vsnd_pacer_wait(&p);
		uint64_t after = vsnd_now_ns();
		CHECK(n >= 1);
		ticks += (uint64_t)n;
		CHECK(after >= vsnd_pacer_tick_time(&p, ticks));
		CHECK(ticks < 3 * VSND_PACER_REALIGN_TICKS);
		if (p.aligned_at != aligned) {
			periodic = ticks - aligned >= VSND_PACER_REALIGN_TICKS;
			CHECK(n >= 2 || periodic);
		} else {
			by_interval++;
		}
		aligned = p.aligned_at;
	}
	CHECK_EQ(p.ticks, ticks);
	fprintf(stderr, "%llu periods, %llu wake-ups on the interval alone\n", (unsigned long long)ticks,
		(unsigned long long)by_interval);
	vsnd_pacer_finish(&p);
}

int main(void)
{
	RUN(test_invalid);
	RUN(test_tick_times_do_not_drift);
	RUN(test_nonblocking_ack);
	RUN(test_counts_follow_clock);
	RUN(test_realigns_rarely);
	return 0;
}
