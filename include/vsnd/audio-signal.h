/* SPDX-License-Identifier: MIT */
/*
 * Test signals for the demo, the tests and the benchmarks.
 *
 *  TONES:   channel c carries a sine of vsnd_audio_signal_tone_hz(c) at half
 *           scale starting at phase pi/4, phase-continuous across calls, so a lost or repeated
 *           chunk shows as a phase jump and each channel is identifiable.
 *  COUNTER: every sample of frame n holds n (wrapped to the sample width,
 *           U8 as n & 0x7f offset by 0x80, FLOAT as (n mod 2^24) / 2^24),
 *           so a receiver can count lost and repeated frames exactly.
 *  SILENCE: digital silence.
 */
#ifndef VSND_AUDIO_SIGNAL_H
#define VSND_AUDIO_SIGNAL_H

#include <stdint.h>

#include "vsnd/audio.h"

#ifdef __cplusplus
extern "C" {
#endif

enum vsnd_audio_signal_kind {
	VSND_AUDIO_SIGNAL_TONES = 0,
	VSND_AUDIO_SIGNAL_COUNTER,
	VSND_AUDIO_SIGNAL_SILENCE,
};

struct vsnd_audio_signal {
	enum vsnd_audio_signal_kind kind;
	enum vsnd_audio_format format;
	uint32_t rate;
	uint32_t channels;
	uint64_t pos; /* frames generated so far */
};

/* Frequency of channel @c in the TONES signal: 440 Hz * (c + 2) / 2 (440, 660, 880 ...). */
double vsnd_audio_signal_tone_hz(uint32_t c);

/* Parse "tones", "counter", "silence"; -EINVAL otherwise. */
int vsnd_audio_signal_kind_from_name(const char *name);

/* Returns 0 or -EINVAL for a bad format/rate/channel count. */
int vsnd_audio_signal_init(struct vsnd_audio_signal *g, enum vsnd_audio_signal_kind kind,
			   enum vsnd_audio_format format, uint32_t rate, uint32_t channels);

/* Write the next @frames frames to @dst (frame_bytes * frames bytes). */
void vsnd_audio_signal_fill(struct vsnd_audio_signal *g, void *dst, uint32_t frames);

/* Store the normalised sample @v (-1..1) at @dst in @format (clipped). */
void vsnd_audio_sample_store(enum vsnd_audio_format format, void *dst, double v);

/* Read the sample at @src in @format as a normalised double (-1..1). */
double vsnd_audio_sample_load(enum vsnd_audio_format format, const void *src);

#ifdef __cplusplus
}
#endif

#endif /* VSND_AUDIO_SIGNAL_H */
