/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <string.h>

#include "vsnd/audio-signal.h"

double vsnd_audio_signal_tone_hz(uint32_t c)
{
	return 440.0 * (c + 2) / 2.0;
}

int vsnd_audio_signal_kind_from_name(const char *name)
{
	if (!name)
		return -EINVAL;
	if (strcmp(name, "tones") == 0)
		return VSND_AUDIO_SIGNAL_TONES;
	if (strcmp(name, "counter") == 0)
		return VSND_AUDIO_SIGNAL_COUNTER;
	if (strcmp(name, "silence") == 0)
		return VSND_AUDIO_SIGNAL_SILENCE;
	return -EINVAL;
}

int vsnd_audio_signal_init(struct vsnd_audio_signal *g, enum vsnd_audio_signal_kind kind,
			   enum vsnd_audio_format format, uint32_t rate, uint32_t channels)
{
	if ((unsigned)kind > VSND_AUDIO_SIGNAL_SILENCE || !vsnd_audio_frame_bytes(format, channels) ||
	    rate == 0)
		return -EINVAL;
	*g = (struct vsnd_audio_signal){ .kind = kind, .format = format, .rate = rate,
					 .channels = channels };
	return 0;
}

static void put_le(uint8_t *p, uint32_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le(const uint8_t *p, int bytes)
{
	uint32_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint32_t)p[i] << (8 * i);
	return v;
}

void vsnd_audio_sample_store(enum vsnd_audio_format format, void *dst, double v)
{
	uint8_t *p = dst;
	if (v > 1.0)
		v = 1.0;
	if (v < -1.0)
		v = -1.0;
	switch (format) {
	case VSND_AUDIO_FORMAT_U8: {
		long x = lrint(v * 127.0);
		p[0] = (uint8_t)(x + 128);
		break;
	}
	case VSND_AUDIO_FORMAT_S16:
		put_le(p, (uint32_t)(int32_t)lrint(v * 32767.0), 2);
		break;
	case VSND_AUDIO_FORMAT_S24:
		/* sign-extended into the 32-bit container, as ALSA's S24_LE */
		put_le(p, (uint32_t)(int32_t)lrint(v * 8388607.0), 4);
		break;
	case VSND_AUDIO_FORMAT_S24_3:
		put_le(p, (uint32_t)(int32_t)lrint(v * 8388607.0), 3);
		break;
	case VSND_AUDIO_FORMAT_S32:
		put_le(p, (uint32_t)(int32_t)llrint(v * 2147483647.0), 4);
		break;
	case VSND_AUDIO_FORMAT_FLOAT: {
		float f = (float)v;
		memcpy(p, &f, 4);
		break;
	}
	default:
		break;
	}
}

double vsnd_audio_sample_load(enum vsnd_audio_format format, const void *src)
{
	const uint8_t *p = src;
	switch (format) {
	case VSND_AUDIO_FORMAT_U8:
		return ((int)p[0] - 128) / 128.0;
	case VSND_AUDIO_FORMAT_S16:
		return (int16_t)get_le(p, 2) / 32768.0;
	case VSND_AUDIO_FORMAT_S24: {
		int32_t v = (int32_t)(get_le(p, 4) << 8) / 256; /* the low 24 bits count */
		return v / 8388608.0;
	}
	case VSND_AUDIO_FORMAT_S24_3: {
		int32_t v = (int32_t)(get_le(p, 3) << 8) / 256;
		return v / 8388608.0;
	}
	case VSND_AUDIO_FORMAT_S32:
		return (int32_t)get_le(p, 4) / 2147483648.0;
	case VSND_AUDIO_FORMAT_FLOAT: {
		float f;
		memcpy(&f, p, 4);
		return f;
	}
	default:
		return 0.0;
	}
}

static void store_counter(enum vsnd_audio_format format, uint8_t *p, uint64_t n)
{
	switch (format) {
	case VSND_AUDIO_FORMAT_U8:
		p[0] = (uint8_t)((n & 0x7f) + 0x80);
		break;
	case VSND_AUDIO_FORMAT_S16:
		put_le(p, (uint32_t)n, 2);
		break;
	case VSND_AUDIO_FORMAT_S24:
		put_le(p, (uint32_t)(n & 0x7fffff), 4);
		break;
	case VSND_AUDIO_FORMAT_S24_3:
		put_le(p, (uint32_t)n, 3);
		break;
	case VSND_AUDIO_FORMAT_S32:
		put_le(p, (uint32_t)(n & 0x7fffffff), 4);
		break;
	case VSND_AUDIO_FORMAT_FLOAT: {
		float f = (float)(n & 0xffffff) / 16777216.0f;
		memcpy(p, &f, 4);
		break;
	}
	default:
		break;
	}
}

void vsnd_audio_signal_fill(struct vsnd_audio_signal *g, void *dst, uint32_t frames)
{
	uint32_t sb = vsnd_audio_format_sample_bytes(g->format);
	uint8_t *p = dst;

	if (g->kind == VSND_AUDIO_SIGNAL_SILENCE) {
		vsnd_audio_fill_silence(g->format, g->channels, dst, frames);
		g->pos += frames;
		return;
	}
	for (uint32_t i = 0; i < frames; i++, g->pos++) {
		for (uint32_t c = 0; c < g->channels; c++, p += sb) {
			if (g->kind == VSND_AUDIO_SIGNAL_COUNTER) {
				store_counter(g->format, p, g->pos);
			} else {
				/* Phase from the absolute position: no accumulated error. */
				double hz = vsnd_audio_signal_tone_hz(c);
				uint64_t period_num = (uint64_t)g->rate * 2;
				uint64_t k = (g->pos * (uint64_t)(hz * 2)) % period_num;
				/* +pi/4 so the first frame is not silent: the signal's
				 * length is then measurable exactly. */
				double phase = 2.0 * M_PI * (double)k / (double)period_num + M_PI / 4;
				vsnd_audio_sample_store(g->format, p, 0.5 * sin(phase));
			}
		}
	}
}

void vsnd_audio_apply_gain(enum vsnd_audio_format f, uint32_t channels, void *buf, uint32_t frames,
			   float gain)
{
	uint32_t sb = vsnd_audio_format_sample_bytes(f);
	uint8_t *p = buf;
	if (gain == 1.0f || !sb)
		return;
	for (size_t i = 0; i < (size_t)frames * channels; i++, p += sb)
		vsnd_audio_sample_store(f, p, vsnd_audio_sample_load(f, p) * gain);
}
