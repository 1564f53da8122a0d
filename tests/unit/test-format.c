/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>

#include "check.h"
#include "vsnd/audio-signal.h"
#include "vsnd/audio.h"
#include "vsnd/log.h"

static char logged[512];
static void sink(void *data, enum vsnd_log_level level, const char *topic, const char *msg)
{
	snprintf(logged, sizeof(logged), "%s", msg);
}

static void test_names_and_sizes(void)
{
	static const uint32_t bytes[] = { 1, 2, 4, 3, 4, 4 };
	for (int f = 0; f < VSND_AUDIO_FORMAT_COUNT; f++) {
		const char *n = vsnd_audio_format_name(f);
		CHECK(n != NULL);
		CHECK_EQ(vsnd_audio_format_from_name(n), f);
		CHECK_EQ(vsnd_audio_format_sample_bytes(f), bytes[f]);
		CHECK_EQ(vsnd_audio_frame_bytes(f, 8), 8 * bytes[f]);
		CHECK_EQ(vsnd_audio_frame_bytes(f, 0), 0);
		CHECK_EQ(vsnd_audio_frame_bytes(f, 9), 0);
	}
	CHECK_EQ(vsnd_audio_format_from_name("S16_LE"), VSND_AUDIO_FORMAT_S16);
	CHECK_EQ(vsnd_audio_format_from_name("s24_3le"), VSND_AUDIO_FORMAT_S24_3);
	CHECK_EQ(vsnd_audio_format_from_name("FLOAT_LE"), VSND_AUDIO_FORMAT_FLOAT);
	CHECK_EQ(vsnd_audio_format_from_name("s64"), -EINVAL);
	CHECK_EQ(vsnd_audio_format_from_name(NULL), -EINVAL);
	CHECK(vsnd_audio_format_name(VSND_AUDIO_FORMAT_COUNT) == NULL);
	CHECK_EQ(vsnd_audio_format_sample_bytes(VSND_AUDIO_FORMAT_COUNT), 0);
}

static void test_silence(void)
{
	uint8_t buf[16];
	vsnd_audio_fill_silence(VSND_AUDIO_FORMAT_U8, 2, buf, 8);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(buf[i], 0x80);
	vsnd_audio_fill_silence(VSND_AUDIO_FORMAT_S16, 2, buf, 4);
	for (int i = 0; i < 16; i++)
		CHECK_EQ(buf[i], 0);
}

static void test_positions(void)
{
	uint8_t pos[VSND_AUDIO_MAX_CHANNELS];
	CHECK_EQ(vsnd_audio_default_positions(1, pos), 0);
	CHECK_EQ(pos[0], VSND_AUDIO_CH_MONO);
	CHECK_EQ(vsnd_audio_default_positions(2, pos), 0);
	CHECK_EQ(pos[0], VSND_AUDIO_CH_FL);
	CHECK_EQ(pos[1], VSND_AUDIO_CH_FR);
	CHECK_EQ(pos[2], VSND_AUDIO_CH_UNKNOWN);
	CHECK_EQ(vsnd_audio_default_positions(6, pos), 0);
	CHECK_STR(vsnd_audio_channel_name(pos[3]), "LFE");
	CHECK_EQ(vsnd_audio_default_positions(8, pos), 0);
	CHECK_STR(vsnd_audio_channel_name(pos[7]), "SR");
	CHECK_EQ(vsnd_audio_default_positions(0, pos), -EINVAL);
	CHECK_EQ(vsnd_audio_default_positions(9, pos), -EINVAL);
	CHECK_STR(vsnd_audio_channel_name(200), "UNK");
}

static void test_params_check(void)
{
	struct vsnd_audio_params p;
	struct vsnd_audio_caps caps = {
		.formats = VSND_AUDIO_FORMAT_BIT(VSND_AUDIO_FORMAT_S16),
		.rate_min = 44100, .rate_max = 48000, .channels_min = 1, .channels_max = 2,
	};
	vsnd_log_set_sink(sink, NULL);

	vsnd_audio_params_init(&p, VSND_AUDIO_PLAYBACK, VSND_AUDIO_FORMAT_S16, 48000, 2, 480);
	CHECK_EQ(vsnd_audio_params_check(&p, &caps), 0);
	CHECK(p.volume < 0);
	CHECK_STR(p.stream_name, "playback");

	p.rate = 7000;
	CHECK_EQ(vsnd_audio_params_check(&p, NULL), -EINVAL);
	CHECK(strstr(logged, "7000") != NULL);
	p.rate = 192001;
	CHECK_EQ(vsnd_audio_params_check(&p, NULL), -EINVAL);
	CHECK(strstr(logged, "192001") != NULL);
	p.rate = 96000;
	CHECK_EQ(vsnd_audio_params_check(&p, NULL), 0);
	CHECK_EQ(vsnd_audio_params_check(&p, &caps), -ENOTSUP);
	CHECK(strstr(logged, "96000") != NULL);
	p.rate = 48000;

	p.channels = 9;
	CHECK_EQ(vsnd_audio_params_check(&p, NULL), -EINVAL);
	CHECK(strstr(logged, "9") != NULL);
	p.channels = 0;
	CHECK_EQ(vsnd_audio_params_check(&p, NULL), -EINVAL);

	vsnd_audio_params_init(&p, VSND_AUDIO_CAPTURE, VSND_AUDIO_FORMAT_FLOAT, 48000, 4, 480);
	CHECK_EQ(vsnd_audio_params_check(&p, &caps), -ENOTSUP);
	CHECK(strstr(logged, "float") != NULL);
	p.format = VSND_AUDIO_FORMAT_S16;
	CHECK_EQ(vsnd_audio_params_check(&p, &caps), -ENOTSUP); /* 4 channels > 2 */
	CHECK(strstr(logged, "4 channels") != NULL);

	p.format = (enum vsnd_audio_format)42;
	CHECK_EQ(vsnd_audio_params_check(&p, NULL), -EINVAL);
	CHECK(strstr(logged, "42") != NULL);
	p.format = VSND_AUDIO_FORMAT_S16;
	p.period_frames = 8;
	CHECK_EQ(vsnd_audio_params_check(&p, NULL), -EINVAL);
	p.period_frames = 48001;
	CHECK_EQ(vsnd_audio_params_check(&p, NULL), -EINVAL);
	p.period_frames = 480;
	p.positions[2] = VSND_AUDIO_CH_UNKNOWN; /* a hole in the layout */
	CHECK_EQ(vsnd_audio_params_check(&p, NULL), -EINVAL);
	p.positions[2] = VSND_AUDIO_CH_COUNT;
	CHECK_EQ(vsnd_audio_params_check(&p, NULL), -EINVAL);
	p.positions[2] = VSND_AUDIO_CH_RL;
	CHECK_EQ(vsnd_audio_params_check(&p, NULL), 0);
	p.volume = NAN;
	CHECK_EQ(vsnd_audio_params_check(&p, NULL), -EINVAL);
	p.volume = 2.0f;
	CHECK_EQ(vsnd_audio_params_check(&p, NULL), -EINVAL);
	vsnd_log_set_sink(NULL, NULL);
}

static void test_sample_roundtrip(void)
{
	uint8_t buf[8];
	for (int f = 0; f < VSND_AUDIO_FORMAT_COUNT; f++) {
		vsnd_audio_sample_store(f, buf, 0.5);
		double v = vsnd_audio_sample_load(f, buf);
		CHECK(fabs(v - 0.5) < 0.01);
		vsnd_audio_sample_store(f, buf, -0.25);
		CHECK(fabs(vsnd_audio_sample_load(f, buf) + 0.25) < 0.01);
		vsnd_audio_sample_store(f, buf, 3.0); /* clipped */
		CHECK(vsnd_audio_sample_load(f, buf) <= 1.0);
		CHECK(vsnd_audio_sample_load(f, buf) > 0.99);
	}
	/* S24 in 32 is sign-extended like ALSA's S24_LE. */
	vsnd_audio_sample_store(VSND_AUDIO_FORMAT_S24, buf, -1.0);
	CHECK_EQ(buf[3], 0xff);
	CHECK_EQ(buf[2], 0x80);
}

static void test_signals(void)
{
	struct vsnd_audio_signal g;
	int16_t s16[2 * 100];
	CHECK_EQ(vsnd_audio_signal_init(&g, VSND_AUDIO_SIGNAL_COUNTER, VSND_AUDIO_FORMAT_S16, 48000, 2), 0);
	vsnd_audio_signal_fill(&g, s16, 60);
	vsnd_audio_signal_fill(&g, s16 + 120, 40);
	for (int i = 0; i < 100; i++) {
		CHECK_EQ(s16[2 * i], i);
		CHECK_EQ(s16[2 * i + 1], i);
	}
	/* Tones: phase-continuous across calls, so chunked == one call. */
	float a[2 * 1000], b[2 * 1000];
	CHECK_EQ(vsnd_audio_signal_init(&g, VSND_AUDIO_SIGNAL_TONES, VSND_AUDIO_FORMAT_FLOAT, 44100, 2), 0);
	vsnd_audio_signal_fill(&g, a, 1000);
	CHECK_EQ(vsnd_audio_signal_init(&g, VSND_AUDIO_SIGNAL_TONES, VSND_AUDIO_FORMAT_FLOAT, 44100, 2), 0);
	for (int i = 0; i < 1000; i += 7)
		vsnd_audio_signal_fill(&g, b + 2 * i, i + 7 <= 1000 ? 7 : (uint32_t)(1000 - i));
	CHECK(memcmp(a, b, sizeof(a)) == 0);
	CHECK(fabs(a[2 * 25] - 0.5 * sin(2 * M_PI * 440.0 * 25 / 44100 + M_PI / 4)) < 1e-6);
	CHECK(fabs(a[2 * 25 + 1] - 0.5 * sin(2 * M_PI * 660.0 * 25 / 44100 + M_PI / 4)) < 1e-6);
	CHECK_EQ(vsnd_audio_signal_init(&g, VSND_AUDIO_SIGNAL_TONES, VSND_AUDIO_FORMAT_FLOAT, 44100, 9), -EINVAL);
	CHECK_EQ(vsnd_audio_signal_kind_from_name("counter"), VSND_AUDIO_SIGNAL_COUNTER);
	CHECK_EQ(vsnd_audio_signal_kind_from_name("noise"), -EINVAL);
}

int main(void)
{
	RUN(test_names_and_sizes);
	RUN(test_silence);
	RUN(test_positions);
	RUN(test_params_check);
	RUN(test_sample_roundtrip);
	RUN(test_signals);
	return 0;
}
