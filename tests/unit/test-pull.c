/* SPDX-License-Identifier: MIT */
/*
 * The playback side of a stream as a backend's realtime thread sees it
 * (vsnd_audio_stream_pull), driven by hand on a stream that is not started
 * (so no backend thread pulls too): the start threshold (a period at start,
 * the whole threshold after an underrun), underrun counting, a tail played
 * out, and unclocked pulls.
 */
#include "audio-private.h"
#include "check.h"
#include "vsnd/audio.h"

#define PERIOD 100

static int16_t counter;

static void put(struct vsnd_audio_stream *s, uint32_t frames)
{
	int16_t buf[2 * 400];
	for (uint32_t i = 0; i < frames; i++, counter++)
		buf[2 * i] = buf[2 * i + 1] = counter;
	CHECK_EQ(vsnd_ring_write(vsnd_audio_stream_ring(s), buf, frames), frames);
}

/* Pull a period; check how many frames came from the ring (starting at FIRST) and that the rest is silence. */
static void pull(struct vsnd_audio_stream *s, bool clocked, uint32_t want_got, int16_t first)
{
	int16_t buf[2 * PERIOD];
	for (int i = 0; i < 2 * PERIOD; i++)
		buf[i] = -1;
	CHECK_EQ(vsnd_audio_stream_pull(s, buf, PERIOD, clocked), want_got);
	for (uint32_t i = 0; i < PERIOD; i++)
		CHECK_EQ(buf[2 * i], i < want_got ? (int16_t)(first + i) : 0);
}

static uint64_t underruns(struct vsnd_audio_stream *s)
{
	struct vsnd_audio_status st;
	vsnd_audio_stream_get_status(s, &st);
	return st.underrun_frames;
}

static void test_start_threshold(void)
{
	struct vsnd_audio_opts o = { .backend = "null" };
	struct vsnd_audio *a = vsnd_audio_new(&o);
	CHECK(a != NULL);
	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, VSND_AUDIO_PLAYBACK, VSND_AUDIO_FORMAT_S16, 48000, 2, PERIOD);
	p.start_frames = 3 * PERIOD;
	struct vsnd_audio_stream *s = vsnd_audio_stream_new(a, &p);
	CHECK(s != NULL);

	/* Start: silence until a period is there; waiting is not an underrun. */
	put(s, 50);
	pull(s, true, 0, 0);
	CHECK_EQ(underruns(s), 0);
	put(s, 60);
	pull(s, true, PERIOD, 0);
	CHECK_EQ(underruns(s), 0);
	/* Short: what is there plays, the rest is an underrun... */
	pull(s, true, 10, 100);
	CHECK_EQ(underruns(s), 90);
	/* ... and from then on silence (counted) until 300 frames are back. */
	put(s, 150);
	pull(s, true, 0, 0);
	CHECK_EQ(underruns(s), 190);
	put(s, 150);
	pull(s, true, PERIOD, 110);
	pull(s, true, PERIOD, 210);
	pull(s, true, PERIOD, 310);
	CHECK_EQ(underruns(s), 190);
	/* Short again. */
	put(s, 40);
	pull(s, true, 40, 410);
	CHECK_EQ(underruns(s), 250);
	/* A tail that stops growing (the producer is done) plays without reaching the threshold. */
	put(s, 70);
	pull(s, true, 0, 0);
	CHECK_EQ(underruns(s), 350);
	pull(s, true, 70, 450);
	CHECK_EQ(underruns(s), 380);
	/* Unclocked pulls (unpaced backends) take what is there and count nothing. */
	uint64_t u = underruns(s);
	put(s, 30);
	pull(s, false, 30, 520);
	CHECK_EQ(underruns(s), u);
	/* A threshold past the ring, or on a capture stream, is refused. */
	vsnd_audio_stream_destroy(s);
	p.start_frames = 4 * PERIOD + 1;
	CHECK(vsnd_audio_stream_new(a, &p) == NULL);
	vsnd_audio_params_init(&p, VSND_AUDIO_CAPTURE, VSND_AUDIO_FORMAT_S16, 48000, 2, PERIOD);
	p.start_frames = PERIOD;
	CHECK(vsnd_audio_stream_new(a, &p) == NULL);
	vsnd_audio_destroy(a);
}

int main(void)
{
	RUN(test_start_threshold);
	return 0;
}
