/* SPDX-License-Identifier: MIT */
/*
 * The wav and null backends in-process: bit-exact round trips for every
 * format through the ring and the stream thread, end of input, pacing,
 * states, and refusals of bad parameters.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <sndfile.h>

#include "check.h"
#include "vsnd/audio-signal.h"
#include "vsnd/audio.h"
#include "vsnd/clock.h"

static char dir[] = "/tmp/vsnd-test-wav.XXXXXX";

static struct vsnd_audio *open_wav(const char *out, const char *in, bool once, bool unpaced)
{
	struct vsnd_audio_opts o = { .backend = "wav", .wav_out = out, .wav_in = in,
				     .wav_in_once = once, .no_pacing = unpaced, .vm_name = "test" };
	struct vsnd_audio *a = vsnd_audio_new(&o);
	CHECK(a != NULL);
	CHECK_STR(vsnd_audio_backend_name(a), "wav");
	return a;
}

static void wait_state(struct vsnd_audio_stream *s, enum vsnd_audio_state want)
{
	struct vsnd_audio_status st;
	for (int i = 0; i < 500; i++) {
		vsnd_audio_stream_get_status(s, &st);
		if (st.state == want)
			return;
		struct pollfd pfd = { .fd = vsnd_audio_stream_fd(s), .events = POLLIN };
		poll(&pfd, 1, 10);
		vsnd_audio_stream_dispatch(s);
	}
	fprintf(stderr, "state is %s, expected %s\n", vsnd_audio_state_name(st.state),
		vsnd_audio_state_name(want));
	exit(1);
}

/* Dispatch for up to @tries x 20 ms until @min frames were played (@played) or underrun; @st: the last status. */
/* Wait until @min frames moved (or underran); returns the events seen meanwhile. */
static uint32_t wait_frames(struct vsnd_audio_stream *s, struct vsnd_audio_status *st, bool played,
			    uint64_t min, int tries)
{
	uint32_t events = 0;
	for (int i = 0; i < tries; i++) {
		vsnd_audio_stream_get_status(s, st);
		if ((played ? st->frames : st->underrun_frames) >= min)
			break;
		struct pollfd pfd = { .fd = vsnd_audio_stream_fd(s), .events = POLLIN };
		poll(&pfd, 1, 20);
		events |= vsnd_audio_stream_dispatch(s);
	}
	return events;
}

/* Play @frames of the counter signal, unpaced, in odd-sized chunks. */
static void play(struct vsnd_audio *a, enum vsnd_audio_format f, uint32_t rate, uint32_t ch,
		 uint32_t frames)
{
	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, VSND_AUDIO_PLAYBACK, f, rate, ch, 256);
	struct vsnd_audio_stream *s = vsnd_audio_stream_new(a, &p);
	CHECK(s != NULL);
	struct vsnd_audio_signal g;
	CHECK_EQ(vsnd_audio_signal_init(&g, VSND_AUDIO_SIGNAL_TONES, f, rate, ch), 0);
	uint32_t fb = vsnd_audio_stream_frame_bytes(s);
	uint8_t *buf = malloc((size_t)333 * fb);
	struct vsnd_ring *ring = vsnd_audio_stream_ring(s);
	CHECK_EQ(vsnd_audio_stream_start(s), 0);
	uint32_t done = 0;
	while (done < frames) {
		uint32_t n = frames - done < 333 ? frames - done : 333;
		vsnd_audio_signal_fill(&g, buf, n);
		uint32_t put = 0;
		while (put < n) {
			put += vsnd_ring_write(ring, buf + (size_t)put * fb, n - put);
			vsnd_audio_stream_kick(s);
			if (put < n) {
				struct pollfd pfd = { .fd = vsnd_audio_stream_fd(s), .events = POLLIN };
				poll(&pfd, 1, 100);
				vsnd_audio_stream_dispatch(s);
			}
		}
		done += n;
	}
	struct vsnd_audio_status st;
	for (int i = 0; i < 1000; i++) {
		vsnd_audio_stream_get_status(s, &st);
		if (st.frames == frames)
			break;
		struct pollfd pfd = { .fd = vsnd_audio_stream_fd(s), .events = POLLIN };
		poll(&pfd, 1, 10);
		vsnd_audio_stream_dispatch(s);
	}
	CHECK_EQ(st.frames, frames);
	CHECK_EQ(st.underrun_frames, 0); /* unpaced: a short ring is not an underrun */
	vsnd_audio_stream_destroy(s);
	free(buf);
}

/* Record @frames from the wav input and compare with the generator's output. */
static void record_and_compare(struct vsnd_audio *a, enum vsnd_audio_format f, uint32_t rate,
			       uint32_t ch, uint32_t frames, bool expect_end)
{
	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, VSND_AUDIO_CAPTURE, f, rate, ch, 256);
	struct vsnd_audio_stream *s = vsnd_audio_stream_new(a, &p);
	CHECK(s != NULL);
	uint32_t fb = vsnd_audio_stream_frame_bytes(s);
	uint8_t *got = calloc(frames + 1024, fb), *want = calloc(frames + 1024, fb);
	struct vsnd_audio_signal g;
	CHECK_EQ(vsnd_audio_signal_init(&g, VSND_AUDIO_SIGNAL_TONES, f, rate, ch), 0);
	vsnd_audio_signal_fill(&g, want, frames);
	CHECK_EQ(vsnd_audio_stream_start(s), 0);
	uint32_t n = 0;
	struct vsnd_audio_status st;
	for (int spins = 0; n < frames && spins < 10000; spins++) {
		n += vsnd_ring_read(vsnd_audio_stream_ring(s), got + (size_t)n * fb, frames - n);
		vsnd_audio_stream_kick(s);
		vsnd_audio_stream_get_status(s, &st);
		if (st.state == VSND_AUDIO_STATE_ENDED && vsnd_ring_readable(vsnd_audio_stream_ring(s)) == 0)
			break;
		struct pollfd pfd = { .fd = vsnd_audio_stream_fd(s), .events = POLLIN };
		poll(&pfd, 1, 10);
		vsnd_audio_stream_dispatch(s);
	}
	CHECK_EQ(n, frames);
	CHECK(memcmp(got, want, (size_t)frames * fb) == 0);
	if (expect_end) {
		wait_state(s, VSND_AUDIO_STATE_ENDED);
		CHECK_EQ(vsnd_ring_readable(vsnd_audio_stream_ring(s)), 0);
		vsnd_audio_stream_get_status(s, &st);
		CHECK_EQ(st.frames, frames); /* not a frame more than the file holds */
	}
	vsnd_audio_stream_destroy(s);
	free(got);
	free(want);
}

static void test_roundtrip_all_formats(void)
{
	static const struct { enum vsnd_audio_format f; uint32_t rate, ch; } cases[] = {
		{ VSND_AUDIO_FORMAT_S16, 48000, 2 },   { VSND_AUDIO_FORMAT_U8, 8000, 1 },
		{ VSND_AUDIO_FORMAT_S24, 96000, 6 },   { VSND_AUDIO_FORMAT_S24_3, 44100, 2 },
		{ VSND_AUDIO_FORMAT_S32, 192000, 8 },  { VSND_AUDIO_FORMAT_FLOAT, 48000, 6 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/rt-%zu.wav", dir, i);
		struct vsnd_audio *a = open_wav(path, NULL, false, true);
		play(a, cases[i].f, cases[i].rate, cases[i].ch, 10007);
		vsnd_audio_destroy(a);

		SF_INFO info = { 0 };
		SNDFILE *f = sf_open(path, SFM_READ, &info);
		CHECK(f != NULL);
		CHECK_EQ(info.frames, 10007);
		CHECK_EQ(info.samplerate, cases[i].rate);
		CHECK_EQ(info.channels, cases[i].ch);
		sf_close(f);

		a = open_wav(NULL, path, true, true);
		record_and_compare(a, cases[i].f, cases[i].rate, cases[i].ch, 10007, true);
		vsnd_audio_destroy(a);
		fprintf(stderr, "   %s %u Hz %u ch: bit-exact\n", vsnd_audio_format_name(cases[i].f),
			cases[i].rate, cases[i].ch);
	}
}

static void test_capture_loops(void)
{
	/* 10007 frames in the file; 25000 recorded = the file 2.5 times, seamless. */
	char path[256];
	snprintf(path, sizeof(path), "%s/rt-0.wav", dir);
	struct vsnd_audio *a = open_wav(NULL, path, false, true);
	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, VSND_AUDIO_CAPTURE, VSND_AUDIO_FORMAT_S16, 48000, 2, 480);
	struct vsnd_audio_stream *s = vsnd_audio_stream_new(a, &p);
	CHECK(s != NULL);
	int16_t *got = calloc(25000, 4), *want = calloc(10007, 4);
	struct vsnd_audio_signal g;
	vsnd_audio_signal_init(&g, VSND_AUDIO_SIGNAL_TONES, VSND_AUDIO_FORMAT_S16, 48000, 2);
	vsnd_audio_signal_fill(&g, want, 10007);
	CHECK_EQ(vsnd_audio_stream_start(s), 0);
	uint32_t n = 0;
	for (int spins = 0; n < 25000 && spins < 10000; spins++) {
		n += vsnd_ring_read(vsnd_audio_stream_ring(s), got + 2 * n, 25000 - n);
		vsnd_audio_stream_kick(s);
		struct pollfd pfd = { .fd = vsnd_audio_stream_fd(s), .events = POLLIN };
		poll(&pfd, 1, 10);
		vsnd_audio_stream_dispatch(s);
	}
	CHECK_EQ(n, 25000);
	for (uint32_t i = 0; i < 25000; i++)
		CHECK_EQ(got[2 * i], want[2 * (i % 10007)]);
	vsnd_audio_stream_destroy(s);
	vsnd_audio_destroy(a);
	free(got);
	free(want);
}

static void test_paced_null(void)
{
	/* null, paced: 0.5 s of 10 ms periods moves 50 periods in ~0.5 s. */
	struct vsnd_audio_opts o = { .backend = "null" };
	struct vsnd_audio *a = vsnd_audio_new(&o);
	CHECK(a != NULL);
	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, VSND_AUDIO_PLAYBACK, VSND_AUDIO_FORMAT_S16, 48000, 2, 480);
	struct vsnd_audio_stream *s = vsnd_audio_stream_new(a, &p);
	CHECK(s != NULL);
	struct vsnd_audio_status st;
	vsnd_audio_stream_get_status(s, &st);
	CHECK_EQ(st.state, VSND_AUDIO_STATE_PAUSED);
	CHECK_EQ(vsnd_audio_stream_start(s), 0);
	wait_state(s, VSND_AUDIO_STATE_RUNNING);
	uint64_t t0 = vsnd_now_ns();
	/* Keep the ring fed with silence until 24000 frames were consumed. */
	int16_t zero[2 * 480] = { 0 };
	for (;;) {
		vsnd_ring_write(vsnd_audio_stream_ring(s), zero, 480);
		vsnd_audio_stream_get_status(s, &st);
		if (st.frames >= 24000)
			break;
		struct pollfd pfd = { .fd = vsnd_audio_stream_fd(s), .events = POLLIN };
		poll(&pfd, 1, 100);
		vsnd_audio_stream_dispatch(s);
	}
	uint64_t el = vsnd_now_ns() - t0;
	fprintf(stderr, "   24000 frames at 48 kHz took %.1f ms\n", el / 1e6);
	CHECK(el >= 480 * VSND_NSEC_PER_MSEC); /* the clock paces: never faster than real time */
	CHECK_EQ(vsnd_audio_stream_stop(s), 0);
	wait_state(s, VSND_AUDIO_STATE_PAUSED);
	/* Stopped: nothing more is consumed, what is queued stays (pause). */
	uint32_t queued = vsnd_ring_readable(vsnd_audio_stream_ring(s));
	vsnd_audio_stream_get_status(s, &st);
	uint64_t frames = st.frames;
	vsnd_sleep_ns(50 * VSND_NSEC_PER_MSEC);
	vsnd_audio_stream_get_status(s, &st);
	CHECK_EQ(st.frames, frames);
	CHECK_EQ(vsnd_ring_readable(vsnd_audio_stream_ring(s)), queued);
	CHECK_EQ(vsnd_audio_stream_flush(s), 0);
	CHECK_EQ(vsnd_ring_readable(vsnd_audio_stream_ring(s)), 0);
	/* Running with an empty ring: silence, counted as underrun. */
	CHECK_EQ(vsnd_audio_stream_start(s), 0);
	wait_frames(s, &st, false, 960, 100);
	CHECK(st.underrun_frames >= 960);
	CHECK_EQ(st.frames, frames);
	vsnd_audio_stream_destroy(s);
	vsnd_audio_destroy(a);
}

static struct vsnd_audio_stream *new_started(struct vsnd_audio *a, const struct vsnd_audio_params *p)
{
	struct vsnd_audio_stream *s = vsnd_audio_stream_new(a, p);
	CHECK(s != NULL);
	CHECK_EQ(vsnd_audio_stream_start(s), 0);
	return s;
}

/* The refill hook: called on the clock's thread for every paced pull, never for unpaced ones. */
struct refill_probe {
	int16_t next;    /* the counter signal's next sample */
	uint32_t budget; /* frames it may still supply */
	uint32_t calls, bad_want, max_have;
};

static bool probe_refill(void *data, struct vsnd_ring *ring, uint32_t want)
{
	struct refill_probe *r = data;
	uint32_t have = vsnd_ring_readable(ring);
	r->calls++;
	if (want != 480)
		r->bad_want++;
	if (have > r->max_have)
		r->max_have = have;
	int16_t buf[480];
	uint32_t n = want - have < r->budget ? want - have : r->budget;
	for (uint32_t i = 0; i < n && i < 480; i++)
		buf[i] = r->next++;
	r->budget -= vsnd_ring_write(ring, buf, n);
	return have + n >= want; /* fed: no DATA event for this pull */
}

static void test_refill(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/refill.wav", dir);
	struct vsnd_audio *a = open_wav(path, NULL, false, false);
	struct refill_probe r = { .budget = 4800 };
	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, VSND_AUDIO_PLAYBACK, VSND_AUDIO_FORMAT_S16, 48000, 1, 480);
	p.refill = probe_refill;
	p.refill_data = &r;
	struct vsnd_audio_stream *s = new_started(a, &p);
	struct vsnd_audio_status st;
	/*
	 * Nothing queued by us: 10 periods come from the hook alone, just in
	 * time, and as it fed them all no DATA event woke us for them. Then
	 * underruns (an XRUN event).
	 */
	uint32_t events = wait_frames(s, &st, false, 960, 300);
	CHECK(events & VSND_AUDIO_EVENT_XRUN);
	CHECK(!(events & VSND_AUDIO_EVENT_DATA));
	CHECK_EQ(vsnd_audio_stream_stop(s), 0);
	wait_state(s, VSND_AUDIO_STATE_PAUSED);
	vsnd_audio_stream_get_status(s, &st);
	CHECK_EQ(st.frames, 4800);
	CHECK(st.underrun_frames >= 960);
	CHECK_EQ(r.budget, 0);
	CHECK_EQ(r.bad_want, 0);
	CHECK_EQ(r.max_have, 0);
	CHECK_EQ(r.calls, (st.frames + st.underrun_frames) / 480);
	vsnd_audio_stream_destroy(s);
	vsnd_audio_destroy(a);
	/* The file holds the hook's counter, whole and in order, then silence. */
	SF_INFO info = { 0 };
	SNDFILE *f = sf_open(path, SFM_READ, &info);
	CHECK(f != NULL);
	int16_t got[4800];
	CHECK_EQ(sf_read_short(f, got, 4800), 4800);
	for (int i = 0; i < 4800; i++)
		CHECK_EQ(got[i], (int16_t)i);
	sf_close(f);

	/* Unpaced: the ring is played as it fills, the hook is never asked. */
	a = open_wav("/dev/null", NULL, false, true);
	r = (struct refill_probe){ .budget = 4800 };
	s = vsnd_audio_stream_new(a, &p);
	CHECK(s != NULL);
	CHECK_EQ(vsnd_audio_stream_start(s), 0);
	int16_t zero[480] = { 0 };
	vsnd_ring_write(vsnd_audio_stream_ring(s), zero, 480);
	wait_frames(s, &st, true, 480, 100);
	CHECK_EQ(st.frames, 480);
	CHECK_EQ(r.calls, 0);
	vsnd_audio_stream_destroy(s);
	vsnd_audio_destroy(a);
}

/* The drain hook: called on the clock's thread after each push, it may send the ring on itself. */
struct drain_probe {
	int16_t got[2 * 9600]; /* stereo */
	uint32_t n, calls;
	bool take; /* take what the ring holds (else leave it to the control loop) */
};

static bool probe_drain(void *data, struct vsnd_ring *ring)
{
	struct drain_probe *r = data;
	r->calls++;
	if (!r->take)
		return false;
	uint32_t room = 9600 - r->n;
	r->n += vsnd_ring_read(ring, r->got + 2 * r->n, room);
	return vsnd_ring_readable(ring) == 0;
}

static void test_drain(void)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/rt-0.wav", dir); /* tones, 10007 frames (roundtrip test) */
	int16_t want[2 * 9600];
	struct vsnd_audio_signal g;
	vsnd_audio_signal_init(&g, VSND_AUDIO_SIGNAL_TONES, VSND_AUDIO_FORMAT_S16, 48000, 2);
	vsnd_audio_signal_fill(&g, want, 9600);
	for (int take = 1; take >= 0; take--) {
		struct vsnd_audio *a = open_wav(NULL, path, false, false);
		static struct drain_probe r;
		memset(&r, 0, sizeof(r));
		r.take = take;
		struct vsnd_audio_params p;
		vsnd_audio_params_init(&p, VSND_AUDIO_CAPTURE, VSND_AUDIO_FORMAT_S16, 48000, 2, 480);
		p.drain = probe_drain;
		p.drain_data = &r;
		struct vsnd_audio_stream *s = new_started(a, &p);
		struct vsnd_audio_status st;
		uint32_t want_frames = take ? 4800 : 1440; /* the ring holds 2048 */
		uint32_t events = wait_frames(s, &st, true, want_frames, 300);
		CHECK_EQ(vsnd_audio_stream_stop(s), 0);
		wait_state(s, VSND_AUDIO_STATE_PAUSED);
		vsnd_audio_stream_get_status(s, &st);
		uint32_t left = vsnd_ring_readable(vsnd_audio_stream_ring(s));
		vsnd_audio_stream_destroy(s);
		vsnd_audio_destroy(a);
		CHECK(st.frames >= want_frames);
		if (take) {
			CHECK_EQ(r.calls, st.frames / 480); /* once per period pushed */
			/* Every frame went through the hook, in order and exact; nothing woke us for them. */
			CHECK_EQ(r.n, st.frames);
			CHECK_EQ(left, 0);
			CHECK(memcmp(r.got, want, (size_t)r.n * 4) == 0);
			CHECK(!(events & VSND_AUDIO_EVENT_DATA));
		} else {
			/* A hook that sends nothing: the frames wait in the ring, and DATA says so. */
			CHECK_EQ(r.n, 0);
			CHECK(r.calls >= 3);
			CHECK_EQ(left, st.frames);
			CHECK(events & VSND_AUDIO_EVENT_DATA);
		}
	}
}

static void test_refusals(void)
{
	struct vsnd_audio_opts o = { .backend = "oss" };
	errno = 0;
	CHECK(vsnd_audio_new(&o) == NULL);
	CHECK_EQ(errno, ENOENT);

	struct vsnd_audio *a = open_wav("/dev/null", NULL, false, true);
	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, VSND_AUDIO_PLAYBACK, VSND_AUDIO_FORMAT_S16, 7000, 2, 480);
	CHECK(vsnd_audio_stream_new(a, &p) == NULL);
	CHECK_EQ(errno, EINVAL);
	p.rate = 48000;
	p.channels = 9;
	CHECK(vsnd_audio_stream_new(a, &p) == NULL);
	CHECK_EQ(errno, EINVAL);
	vsnd_audio_destroy(a);

	/* Capture caps are the input file's: a 44.1 kHz stream from a 48 kHz file is refused. */
	char path[256];
	snprintf(path, sizeof(path), "%s/rt-0.wav", dir);
	a = open_wav(NULL, path, false, true);
	vsnd_audio_params_init(&p, VSND_AUDIO_CAPTURE, VSND_AUDIO_FORMAT_S16, 44100, 2, 441);
	CHECK(vsnd_audio_stream_new(a, &p) == NULL);
	CHECK_EQ(errno, ENOTSUP);
	vsnd_audio_destroy(a);

	snprintf(path, sizeof(path), "%s/missing.wav", dir);
	a = open_wav(NULL, path, false, true);
	vsnd_audio_params_init(&p, VSND_AUDIO_CAPTURE, VSND_AUDIO_FORMAT_S16, 48000, 2, 480);
	CHECK(vsnd_audio_stream_new(a, &p) == NULL);
	CHECK_EQ(errno, EIO);
	vsnd_audio_destroy(a);
}

int main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	RUN(test_roundtrip_all_formats);
	RUN(test_capture_loops);
	RUN(test_paced_null);
	RUN(test_refill);
	RUN(test_drain);
	RUN(test_refusals);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ(system(cmd), 0);
	return 0;
}
