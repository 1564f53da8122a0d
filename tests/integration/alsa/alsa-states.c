/* SPDX-License-Identifier: MIT */
/*
 * The alsa backend's stream life cycle through the public API, on the
 * paced vsndtest device (states.sh writes the ALSA configuration):
 * caps as the device declares them, start/stop/start, nothing read from the
 * ring while stopped, flush, underruns while the producer is idle, capture
 * start/stop. vsnd-tone only ever starts once, so this covers the rest.
 *
 *   alsa-states PLAYBACK-DEVICE CAPTURE-DEVICE
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vsnd/audio.h"
#include "vsnd/clock.h"

static int failures;

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
			failures++;                                           \
		}                                                             \
	} while (0)

static struct vsnd_audio_status status(struct vsnd_audio_stream *s)
{
	struct vsnd_audio_status st;
	vsnd_audio_stream_get_status(s, &st);
	return st;
}

/* Run the control loop for @ms: dispatch events, keep the ring full if @feed. */
static uint32_t run_for(struct vsnd_audio_stream *s, int ms, bool feed)
{
	uint64_t end = vsnd_now_ns() + (uint64_t)ms * VSND_NSEC_PER_MSEC;
	uint32_t events = 0;
	struct vsnd_ring *ring = vsnd_audio_stream_ring(s);
	static uint8_t zeros[65536];
	for (uint64_t now; (now = vsnd_now_ns()) < end;) {
		if (feed) {
			uint32_t n = vsnd_ring_writable(ring);
			uint32_t max = (uint32_t)(sizeof(zeros) / vsnd_audio_stream_frame_bytes(s));
			vsnd_ring_write(ring, zeros, n < max ? n : max);
			vsnd_audio_stream_kick(s);
		} else if (vsnd_audio_stream_params(s)->direction == VSND_AUDIO_CAPTURE) {
			vsnd_ring_skip(ring, vsnd_ring_readable(ring));
			vsnd_audio_stream_kick(s);
		}
		struct pollfd pfd = { .fd = vsnd_audio_stream_fd(s), .events = POLLIN };
		poll(&pfd, 1, (int)((end - now) / VSND_NSEC_PER_MSEC) + 1);
		events |= vsnd_audio_stream_dispatch(s);
	}
	return events;
}

static void test_playback(struct vsnd_audio *a)
{
	struct vsnd_audio_caps caps;
	CHECK(vsnd_audio_get_caps(a, VSND_AUDIO_PLAYBACK, &caps) == 0, "caps");
	CHECK(caps.rate_min == 44100 && caps.rate_max == 48000, "rates %u..%u", caps.rate_min, caps.rate_max);
	CHECK(caps.channels_min == 1 && caps.channels_max == 2, "channels %u..%u", caps.channels_min,
	      caps.channels_max);
	CHECK(caps.formats == (VSND_AUDIO_FORMAT_BIT(VSND_AUDIO_FORMAT_S16) |
			       VSND_AUDIO_FORMAT_BIT(VSND_AUDIO_FORMAT_S32)),
	      "formats 0x%x", caps.formats);

	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, VSND_AUDIO_PLAYBACK, VSND_AUDIO_FORMAT_S16, 48000, 2, 480);
	struct vsnd_audio_stream *s = vsnd_audio_stream_new(a, &p);
	CHECK(s, "open: %s", strerror(errno));
	if (!s)
		return;
	CHECK(status(s).state == VSND_AUDIO_STATE_PAUSED, "opened paused");

	/* Running with a producer that keeps up (and pre-filled the ring, as
	 * it should: a start with nothing queued is an underrun): frames move
	 * at the device's pace, no underrun. */
	run_for(s, 1, true);
	CHECK(vsnd_audio_stream_start(s) == 0, "start");
	CHECK(status(s).state == VSND_AUDIO_STATE_RUNNING, "running after start");
	uint32_t ev = run_for(s, 300, true);
	struct vsnd_audio_status st = status(s);
	CHECK(ev & VSND_AUDIO_EVENT_DATA, "DATA events");
	/* 300 ms is 14400 frames; the prefill and the device buffer add up to 2 x 1920. */
	CHECK(st.frames >= 12000 && st.frames <= 14400 + 2 * 1920 + 2048, "frames %llu after 300 ms",
	      (unsigned long long)st.frames);
	CHECK(st.underrun_frames == 0, "underrun %llu while fed", (unsigned long long)st.underrun_frames);
	CHECK(st.delay_frames > 0 && st.delay_frames <= 1920, "delay %u", st.delay_frames);

	/* Stopped: the thread no longer reads the ring, flush is allowed. */
	CHECK(vsnd_audio_stream_stop(s) == 0, "stop");
	CHECK(status(s).state == VSND_AUDIO_STATE_PAUSED, "paused after stop");
	uint64_t frames = status(s).frames;
	uint32_t queued = vsnd_ring_readable(vsnd_audio_stream_ring(s));
	run_for(s, 100, false);
	CHECK(status(s).frames == frames, "frames moved while stopped");
	CHECK(vsnd_ring_readable(vsnd_audio_stream_ring(s)) == queued, "ring read while stopped");
	CHECK(queued > 0, "the ring kept its frames over stop");
	CHECK(vsnd_audio_stream_flush(s) == 0, "flush while stopped");
	CHECK(vsnd_ring_readable(vsnd_audio_stream_ring(s)) == 0, "flush emptied the ring");

	/* Restart with nothing queued and no producer: the device plays silence, counted as underrun. */
	CHECK(vsnd_audio_stream_start(s) == 0, "restart");
	CHECK(vsnd_audio_stream_flush(s) == -EBUSY, "flush refused while running");
	ev = run_for(s, 200, false);
	st = status(s);
	CHECK(st.state == VSND_AUDIO_STATE_RUNNING, "running after restart");
	CHECK(ev & VSND_AUDIO_EVENT_XRUN, "XRUN event for the underrun");
	/* 200 ms is 9600 frames, all silence. */
	CHECK(st.underrun_frames >= 7000 && st.underrun_frames <= 9600 + 2 * 1920,
	      "underrun %llu after 200 ms idle", (unsigned long long)st.underrun_frames);
	/* And recovers once fed again. */
	run_for(s, 100, true);
	frames = status(s).frames;
	uint64_t under = status(s).underrun_frames;
	run_for(s, 200, true);
	st = status(s);
	CHECK(st.frames - frames >= 7000, "only %llu frames after the producer came back",
	      (unsigned long long)(st.frames - frames));
	CHECK(st.underrun_frames == under, "underruns while fed again");
	CHECK(vsnd_audio_stream_stop(s) == 0 && vsnd_audio_stream_stop(s) == 0, "stop twice");
	vsnd_audio_stream_destroy(s);
	printf("playback: start/stop/flush/restart ok\n");
}

static void test_capture(struct vsnd_audio *a)
{
	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, VSND_AUDIO_CAPTURE, VSND_AUDIO_FORMAT_S16, 48000, 2, 480);
	struct vsnd_audio_stream *s = vsnd_audio_stream_new(a, &p);
	CHECK(s, "capture open: %s", strerror(errno));
	if (!s)
		return;
	for (int round = 0; round < 2; round++) {
		uint64_t before = status(s).frames;
		CHECK(vsnd_audio_stream_start(s) == 0, "capture start %d", round);
		run_for(s, 300, false);
		struct vsnd_audio_status st = status(s);
		CHECK(st.state == VSND_AUDIO_STATE_RUNNING, "capture running");
		CHECK(st.frames - before >= 12000 && st.frames - before <= 14400 + 1920,
		      "captured %llu frames in 300 ms", (unsigned long long)(st.frames - before));
		CHECK(st.overrun_frames == 0, "overrun %llu", (unsigned long long)st.overrun_frames);
		CHECK(vsnd_audio_stream_stop(s) == 0, "capture stop");
		uint64_t frames = status(s).frames;
		run_for(s, 100, false);
		CHECK(status(s).frames == frames, "captured while stopped");
	}
	vsnd_audio_stream_destroy(s);
	printf("capture: start/stop twice ok\n");
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: alsa-states PLAYBACK-DEVICE CAPTURE-DEVICE\n");
		return 2;
	}
	struct vsnd_audio_opts o = { .backend = "alsa", .device = argv[1] };
	struct vsnd_audio *a = vsnd_audio_new(&o);
	if (!a) {
		fprintf(stderr, "cannot open the alsa backend: %s\n", strerror(errno));
		return 1;
	}
	test_playback(a);
	vsnd_audio_destroy(a);

	o.device = argv[2];
	a = vsnd_audio_new(&o);
	if (!a) {
		fprintf(stderr, "cannot open the alsa backend: %s\n", strerror(errno));
		return 1;
	}
	test_capture(a);
	vsnd_audio_destroy(a);
	printf("%s\n", failures ? "FAILED" : "OK");
	return failures ? 1 : 0;
}
