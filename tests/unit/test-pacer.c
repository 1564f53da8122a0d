/* SPDX-License-Identifier: MIT */
#include <errno.h>

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

/* Pacer accuracy: 2 s of 10 ms periods must take 2 s within 1 %. */
static void test_accuracy_2s(void)
{
	struct vsnd_pacer p;
	CHECK_EQ(vsnd_pacer_init(&p, 48000, 480), 0);
	uint64_t t0 = vsnd_now_ns();
	CHECK_EQ(vsnd_pacer_start(&p, t0), 0);
	uint64_t ticks = 0, late_max = 0;
	while (ticks < 200) {
		int64_t n = vsnd_pacer_wait(&p);
		CHECK(n >= 1);
		ticks += (uint64_t)n;
		uint64_t now = vsnd_now_ns(), due = vsnd_pacer_tick_time(&p, ticks);
		CHECK(now >= due); /* never early */
		if (now - due > late_max)
			late_max = now - due;
	}
	uint64_t elapsed = vsnd_now_ns() - t0;
	fprintf(stderr, "200 periods took %.3f ms, worst lateness %.3f ms\n", elapsed / 1e6,
		late_max / 1e6);
	CHECK_EQ(ticks, 200);
	CHECK(elapsed >= 2000 * VSND_NSEC_PER_MSEC);
	CHECK(elapsed <= 2020 * VSND_NSEC_PER_MSEC);
	vsnd_pacer_finish(&p);
}

int main(void)
{
	RUN(test_invalid);
	RUN(test_tick_times_do_not_drift);
	RUN(test_nonblocking_ack);
	RUN(test_accuracy_2s);
	return 0;
}
