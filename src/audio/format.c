/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "audio-private.h"

static const struct {
	const char *name;
	const char *alsa_name;
	uint32_t bytes;
} formats[VSND_AUDIO_FORMAT_COUNT] = {
	[VSND_AUDIO_FORMAT_U8] = { "u8", "U8", 1 },
	[VSND_AUDIO_FORMAT_S16] = { "s16", "S16_LE", 2 },
	[VSND_AUDIO_FORMAT_S24] = { "s24", "S24_LE", 4 },
	[VSND_AUDIO_FORMAT_S24_3] = { "s24_3", "S24_3LE", 3 },
	[VSND_AUDIO_FORMAT_S32] = { "s32", "S32_LE", 4 },
	[VSND_AUDIO_FORMAT_FLOAT] = { "float", "FLOAT_LE", 4 },
};

static const char *const channel_names[VSND_AUDIO_CH_COUNT] = {
	"UNK", "MONO", "FL", "FR", "FC", "LFE", "RL", "RR", "SL", "SR", "RC", "FLC", "FRC",
};

const char *vsnd_audio_format_name(enum vsnd_audio_format f)
{
	if ((unsigned)f >= VSND_AUDIO_FORMAT_COUNT)
		return NULL;
	return formats[f].name;
}

int vsnd_audio_format_from_name(const char *name)
{
	if (!name)
		return -EINVAL;
	for (int i = 0; i < VSND_AUDIO_FORMAT_COUNT; i++)
		if (strcasecmp(name, formats[i].name) == 0 ||
		    strcasecmp(name, formats[i].alsa_name) == 0)
			return i;
	if (strcasecmp(name, "f32") == 0 || strcasecmp(name, "float32") == 0)
		return VSND_AUDIO_FORMAT_FLOAT;
	return -EINVAL;
}

uint32_t vsnd_audio_format_sample_bytes(enum vsnd_audio_format f)
{
	if ((unsigned)f >= VSND_AUDIO_FORMAT_COUNT)
		return 0;
	return formats[f].bytes;
}

uint32_t vsnd_audio_frame_bytes(enum vsnd_audio_format f, uint32_t channels)
{
	if (channels < 1 || channels > VSND_AUDIO_MAX_CHANNELS)
		return 0;
	return vsnd_audio_format_sample_bytes(f) * channels;
}

uint8_t vsnd_audio_silence_byte(enum vsnd_audio_format f)
{
	return f == VSND_AUDIO_FORMAT_U8 ? 0x80 : 0;
}

void vsnd_audio_fill_silence(enum vsnd_audio_format f, uint32_t channels, void *dst, uint32_t frames)
{
	memset(dst, vsnd_audio_silence_byte(f), (size_t)frames * vsnd_audio_frame_bytes(f, channels));
}

const char *vsnd_audio_channel_name(enum vsnd_audio_channel ch)
{
	if ((unsigned)ch >= VSND_AUDIO_CH_COUNT)
		return "UNK";
	return channel_names[ch];
}

int vsnd_audio_default_positions(uint32_t channels, uint8_t pos[VSND_AUDIO_MAX_CHANNELS])
{
	enum { M = VSND_AUDIO_CH_MONO, FL = VSND_AUDIO_CH_FL, FR = VSND_AUDIO_CH_FR,
	       FC = VSND_AUDIO_CH_FC, LFE = VSND_AUDIO_CH_LFE, RL = VSND_AUDIO_CH_RL,
	       RR = VSND_AUDIO_CH_RR, SL = VSND_AUDIO_CH_SL, SR = VSND_AUDIO_CH_SR,
	       RC = VSND_AUDIO_CH_RC };
	/* The layouts ALSA, PulseAudio and PipeWire agree on for 1..8 channels. */
	static const uint8_t layouts[VSND_AUDIO_MAX_CHANNELS][VSND_AUDIO_MAX_CHANNELS] = {
		{ M },
		{ FL, FR },
		{ FL, FR, LFE },
		{ FL, FR, RL, RR },
		{ FL, FR, FC, RL, RR },
		{ FL, FR, FC, LFE, RL, RR },
		{ FL, FR, FC, LFE, RL, RR, RC },
		{ FL, FR, FC, LFE, RL, RR, SL, SR },
	};
	memset(pos, VSND_AUDIO_CH_UNKNOWN, VSND_AUDIO_MAX_CHANNELS);
	if (channels < 1 || channels > VSND_AUDIO_MAX_CHANNELS)
		return -EINVAL;
	memcpy(pos, layouts[channels - 1], channels);
	return 0;
}

int vsnd_audio_params_check(const struct vsnd_audio_params *p, const struct vsnd_audio_caps *caps)
{
	if ((unsigned)p->direction > VSND_AUDIO_CAPTURE) {
		vsnd_error(&vsnd_audio_log, "invalid direction %d", (int)p->direction);
		return -EINVAL;
	}
	if ((unsigned)p->format >= VSND_AUDIO_FORMAT_COUNT) {
		vsnd_error(&vsnd_audio_log, "invalid sample format %d", (int)p->format);
		return -EINVAL;
	}
	if (p->rate < VSND_AUDIO_RATE_MIN || p->rate > VSND_AUDIO_RATE_MAX) {
		vsnd_error(&vsnd_audio_log, "unsupported rate %u Hz (valid: %u..%u)",
			   p->rate, VSND_AUDIO_RATE_MIN, VSND_AUDIO_RATE_MAX);
		return -EINVAL;
	}
	if (p->channels < 1 || p->channels > VSND_AUDIO_MAX_CHANNELS) {
		vsnd_error(&vsnd_audio_log, "unsupported channel count %u (valid: 1..%u)",
			   p->channels, VSND_AUDIO_MAX_CHANNELS);
		return -EINVAL;
	}
	/* A period longer than a second or shorter than 16 frames is a caller bug. */
	if (p->period_frames < 16 || p->period_frames > p->rate) {
		vsnd_error(&vsnd_audio_log, "invalid period of %u frames at %u Hz (valid: 16..%u)",
			   p->period_frames, p->rate, p->rate);
		return -EINVAL;
	}
	if (p->ring_periods > 64) {
		vsnd_error(&vsnd_audio_log, "invalid ring of %u periods (max 64)", p->ring_periods);
		return -EINVAL;
	}
	bool any = false;
	for (uint32_t i = 0; i < VSND_AUDIO_MAX_CHANNELS; i++) {
		if (p->positions[i] >= VSND_AUDIO_CH_COUNT) {
			vsnd_error(&vsnd_audio_log, "invalid channel position %u on channel %u",
				   p->positions[i], i);
			return -EINVAL;
		}
		any |= p->positions[i] != VSND_AUDIO_CH_UNKNOWN;
		if (i >= p->channels && p->positions[i] != VSND_AUDIO_CH_UNKNOWN) {
			vsnd_error(&vsnd_audio_log, "channel position given for channel %u of %u",
				   i, p->channels);
			return -EINVAL;
		}
	}
	if (any)
		for (uint32_t i = 0; i < p->channels; i++)
			if (p->positions[i] == VSND_AUDIO_CH_UNKNOWN) {
				vsnd_error(&vsnd_audio_log, "channel %u has no position", i);
				return -EINVAL;
			}
	if (!(p->volume <= 1.5f)) { /* also catches NaN */
		vsnd_error(&vsnd_audio_log, "invalid volume %g (valid: 0..1.5, < 0 = default)",
			   (double)p->volume);
		return -EINVAL;
	}
	if (!caps)
		return 0;
	if (!(caps->formats & VSND_AUDIO_FORMAT_BIT(p->format))) {
		vsnd_error(&vsnd_audio_log, "sample format %s not supported by this backend",
			   vsnd_audio_format_name(p->format));
		return -ENOTSUP;
	}
	if (p->rate < caps->rate_min || p->rate > caps->rate_max) {
		vsnd_error(&vsnd_audio_log, "rate %u Hz not supported by this backend (%u..%u)",
			   p->rate, caps->rate_min, caps->rate_max);
		return -ENOTSUP;
	}
	if (p->channels < caps->channels_min || p->channels > caps->channels_max) {
		vsnd_error(&vsnd_audio_log, "%u channels not supported by this backend (%u..%u)",
			   p->channels, caps->channels_min, caps->channels_max);
		return -ENOTSUP;
	}
	return 0;
}

void vsnd_audio_caps_all(struct vsnd_audio_caps *caps)
{
	*caps = (struct vsnd_audio_caps){
		.formats = VSND_AUDIO_FORMAT_ALL,
		.rate_min = VSND_AUDIO_RATE_MIN,
		.rate_max = VSND_AUDIO_RATE_MAX,
		.channels_min = 1,
		.channels_max = VSND_AUDIO_MAX_CHANNELS,
	};
}
