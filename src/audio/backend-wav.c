/* SPDX-License-Identifier: MIT */
/*
 * wav: playback is written to a WAV file, capture is read from one (looped,
 * or ending with --wav-in-once), through libsndfile, paced like a sound card
 * (or unpaced with --no-pacing).
 *
 * Samples are stored bit-exact: the WAV subtype is the stream's format
 * (U8, PCM_16, PCM_24, PCM_32, FLOAT); S24 in a 32-bit container is packed
 * to 3 bytes, which is a change of container, not of value. A file has no
 * mixer, so the stream's volume and mute are applied to what is written
 * (volume 1 = untouched).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "clocked.h"
#include "vsnd/clock.h"

VSND_LOG_TOPIC(log_wav, "audio.wav");

/*
 * Playback files outlive their streams: a stream that is closed and opened
 * again with the same name and format (a guest's PREPARE after RELEASE, a
 * VM that corks and comes back) appends to the same file, so one stream's
 * whole life is one WAV. Another name or format gets the next file name.
 */
#define MAX_OUT_FILES 32

struct out_file {
	SNDFILE *file;
	char stream[64];
	enum vsnd_audio_format format;
	uint32_t rate, channels;
	bool in_use;
	char path[4096];
};

struct wav_ctx {
	struct out_file out[MAX_OUT_FILES];
	int n_out;
};

struct wav_stream {
	struct vsnd_clocked clock;
	struct vsnd_audio_stream *s;
	SNDFILE *file;
	SF_INFO info;
	char path[4096];
	int32_t *scratch; /* one period of int samples for S24/U8 conversion */
	uint64_t last_header_ns;
	bool clock_ready;
	bool silence_only;
	struct out_file *out; /* playback: the file, owned by the context */ /* capture without --wav-in */
};

static int subtype_for(enum vsnd_audio_format f)
{
	switch (f) {
	case VSND_AUDIO_FORMAT_U8: return SF_FORMAT_PCM_U8;
	case VSND_AUDIO_FORMAT_S16: return SF_FORMAT_PCM_16;
	case VSND_AUDIO_FORMAT_S24:
	case VSND_AUDIO_FORMAT_S24_3: return SF_FORMAT_PCM_24;
	case VSND_AUDIO_FORMAT_S32: return SF_FORMAT_PCM_32;
	case VSND_AUDIO_FORMAT_FLOAT: return SF_FORMAT_FLOAT;
	default: return 0;
	}
}

static int sf_channel_for(uint8_t pos)
{
	switch (pos) {
	case VSND_AUDIO_CH_MONO: return SF_CHANNEL_MAP_MONO;
	case VSND_AUDIO_CH_FL: return SF_CHANNEL_MAP_LEFT;
	case VSND_AUDIO_CH_FR: return SF_CHANNEL_MAP_RIGHT;
	case VSND_AUDIO_CH_FC: return SF_CHANNEL_MAP_CENTER;
	case VSND_AUDIO_CH_LFE: return SF_CHANNEL_MAP_LFE;
	case VSND_AUDIO_CH_RL: return SF_CHANNEL_MAP_REAR_LEFT;
	case VSND_AUDIO_CH_RR: return SF_CHANNEL_MAP_REAR_RIGHT;
	case VSND_AUDIO_CH_SL: return SF_CHANNEL_MAP_SIDE_LEFT;
	case VSND_AUDIO_CH_SR: return SF_CHANNEL_MAP_SIDE_RIGHT;
	case VSND_AUDIO_CH_RC: return SF_CHANNEL_MAP_REAR_CENTER;
	case VSND_AUDIO_CH_FLC: return SF_CHANNEL_MAP_FRONT_LEFT_OF_CENTER;
	case VSND_AUDIO_CH_FRC: return SF_CHANNEL_MAP_FRONT_RIGHT_OF_CENTER;
	default: return SF_CHANNEL_MAP_INVALID;
	}
}

/* ---- playback ---- */

static int wav_write(void *data, void *buf, uint32_t frames)
{
	struct wav_stream *w = data;
	struct vsnd_audio_stream *s = w->s;
	uint32_t samples = frames * s->params.channels;
	sf_count_t want, done;

	if (atomic_load(&s->muted))
		vsnd_audio_fill_silence(s->params.format, s->params.channels, buf, frames);
	else
		vsnd_audio_apply_gain(s->params.format, s->params.channels, buf, frames,
				      powf((float)atomic_load(&s->volume_milli) / 1000.0f, 3.0f));

	if (s->params.format == VSND_AUDIO_FORMAT_S24) {
		/* Repack S24-in-32 to the file's packed 3-byte samples. */
		const int32_t *in = buf;
		uint8_t *out = (uint8_t *)w->scratch;
		for (uint32_t i = 0; i < samples; i++) {
			uint32_t v = (uint32_t)in[i];
			out[3 * i] = (uint8_t)v;
			out[3 * i + 1] = (uint8_t)(v >> 8);
			out[3 * i + 2] = (uint8_t)(v >> 16);
		}
		want = (sf_count_t)samples * 3;
		done = sf_write_raw(w->file, out, want);
	} else {
		want = (sf_count_t)frames * s->frame_bytes;
		done = sf_write_raw(w->file, buf, want);
	}
	if (done != want)
		return -EIO;

	/* Keep the header current once a second so a killed process leaves a valid file. */
	uint64_t now = vsnd_now_ns();
	if (now - w->last_header_ns >= VSND_NSEC_PER_SEC) {
		sf_command(w->file, SFC_UPDATE_HEADER_NOW, NULL, 0);
		w->last_header_ns = now;
	}
	return (int)frames;
}

static int open_out(struct wav_stream *w, struct wav_ctx *ctx)
{
	struct vsnd_audio_stream *s = w->s;
	const char *base = s->audio->opts.wav_out ? s->audio->opts.wav_out : VSND_AUDIO_DEFAULT_WAV_OUT;

	for (int i = 0; i < ctx->n_out; i++) {
		struct out_file *o = &ctx->out[i];
		if (!o->in_use && strcmp(o->stream, s->name) == 0 && o->format == s->params.format &&
		    o->rate == s->params.rate && o->channels == s->params.channels) {
			o->in_use = true;
			w->out = o;
			w->file = o->file;
			snprintf(w->path, sizeof(w->path), "%s", o->path);
			vsnd_debug(&log_wav, "appending to %s", o->path);
			return 0;
		}
	}
	if (ctx->n_out == MAX_OUT_FILES) {
		vsnd_error(&log_wav, "more than %d playback files", MAX_OUT_FILES);
		return -ENOSPC;
	}
	/* A second playback stream gets NAME.1.wav, and so on. */
	if (ctx->n_out == 0) {
		snprintf(w->path, sizeof(w->path), "%s", base);
	} else {
		const char *dot = strrchr(base, '.');
		int stem = dot ? (int)(dot - base) : (int)strlen(base);
		snprintf(w->path, sizeof(w->path), "%.*s.%d%s", stem, base, ctx->n_out,
			 dot ? dot : ".wav");
	}

	w->info.samplerate = (int)s->params.rate;
	w->info.channels = (int)s->params.channels;
	w->info.format = SF_FORMAT_WAV | subtype_for(s->params.format);
	w->file = sf_open(w->path, SFM_WRITE, &w->info);
	if (!w->file) {
		vsnd_error(&log_wav, "cannot write %s: %s", w->path, sf_strerror(NULL));
		return -EIO;
	}
	int map[VSND_AUDIO_MAX_CHANNELS];
	for (uint32_t i = 0; i < s->params.channels; i++)
		map[i] = sf_channel_for(s->params.positions[i]);
	sf_command(w->file, SFC_SET_CHANNEL_MAP_INFO, map,
		   (int)(sizeof(int) * s->params.channels));
	struct out_file *o = &ctx->out[ctx->n_out++];
	o->file = w->file;
	snprintf(o->stream, sizeof(o->stream), "%s", s->name);
	o->format = s->params.format;
	o->rate = s->params.rate;
	o->channels = s->params.channels;
	o->in_use = true;
	snprintf(o->path, sizeof(o->path), "%s", w->path);
	w->out = o;
	vsnd_info(&log_wav, "writing %s (%s, %u Hz, %u ch)", w->path,
		  vsnd_audio_format_name(s->params.format), s->params.rate, s->params.channels);
	return 0;
}

/* ---- capture ---- */

static sf_count_t read_frames(struct wav_stream *w, void *buf, uint32_t frames)
{
	struct vsnd_audio_stream *s = w->s;
	uint32_t ch = s->params.channels;

	switch (s->params.format) {
	case VSND_AUDIO_FORMAT_S16:
		return sf_readf_short(w->file, buf, frames);
	case VSND_AUDIO_FORMAT_S32:
		return sf_readf_int(w->file, buf, frames);
	case VSND_AUDIO_FORMAT_FLOAT:
		return sf_readf_float(w->file, buf, frames);
	case VSND_AUDIO_FORMAT_S24: {
		/* libsndfile returns left-justified 32-bit ints: shift to S24-in-32. */
		sf_count_t n = sf_readf_int(w->file, buf, frames);
		int32_t *p = buf;
		for (sf_count_t i = 0; i < n * ch; i++)
			p[i] = p[i] / 256; /* arithmetic, exact: low byte is 0 for <= 24-bit files */
		return n;
	}
	case VSND_AUDIO_FORMAT_S24_3: {
		sf_count_t n = sf_readf_int(w->file, w->scratch, frames);
		uint8_t *out = buf;
		for (sf_count_t i = 0; i < n * ch; i++) {
			uint32_t v = (uint32_t)w->scratch[i] >> 8;
			out[3 * i] = (uint8_t)v;
			out[3 * i + 1] = (uint8_t)(v >> 8);
			out[3 * i + 2] = (uint8_t)(v >> 16);
		}
		return n;
	}
	case VSND_AUDIO_FORMAT_U8: {
		sf_count_t n = sf_readf_int(w->file, w->scratch, frames);
		uint8_t *out = buf;
		for (sf_count_t i = 0; i < n * ch; i++)
			out[i] = (uint8_t)(((uint32_t)w->scratch[i] >> 24) ^ 0x80);
		return n;
	}
	default:
		return -1;
	}
}

static int wav_read(void *data, void *buf, uint32_t frames)
{
	struct wav_stream *w = data;
	struct vsnd_audio_stream *s = w->s;
	uint32_t got = 0;

	if (w->silence_only) {
		vsnd_audio_fill_silence(s->params.format, s->params.channels, buf, frames);
		return (int)frames;
	}
	/* Loop seamlessly: a period that straddles the end continues at frame 0. */
	for (int rewinds = 0; got < frames && rewinds < 2;) {
		sf_count_t n = read_frames(w, (uint8_t *)buf + (size_t)got * s->frame_bytes,
					   frames - got);
		if (n < 0)
			return -EIO;
		got += (uint32_t)n;
		if (got < frames) {
			if (s->audio->opts.wav_in_once)
				break;
			if (sf_seek(w->file, 0, SEEK_SET) < 0)
				return -EIO;
			if (n == 0)
				rewinds++; /* an empty file must not spin */
		}
	}
	if (atomic_load(&s->muted))
		vsnd_audio_fill_silence(s->params.format, s->params.channels, buf, got);
	return (int)got;
}

static int open_in(struct wav_stream *w)
{
	const char *path = w->s->audio->opts.wav_in;
	if (!path) {
		vsnd_info(&log_wav, "no --wav-in: capture stream '%s' records silence", w->s->name);
		w->silence_only = true;
		return 0;
	}
	snprintf(w->path, sizeof(w->path), "%s", path);
	w->file = sf_open(path, SFM_READ, &w->info);
	if (!w->file) {
		vsnd_error(&log_wav, "cannot read %s: %s", path, sf_strerror(NULL));
		return -EIO;
	}
	return 0;
}

/* Capture caps are the file's own rate and channels: the wav backend does not resample. */
static int wav_in_caps(const char *path, struct vsnd_audio_caps *caps)
{
	SF_INFO info = { 0 };
	SNDFILE *f = sf_open(path, SFM_READ, &info);
	if (!f) {
		vsnd_error(&log_wav, "cannot read %s: %s", path, sf_strerror(NULL));
		return -EIO;
	}
	sf_close(f);
	if (info.samplerate < VSND_AUDIO_RATE_MIN || info.samplerate > VSND_AUDIO_RATE_MAX ||
	    info.channels < 1 || info.channels > VSND_AUDIO_MAX_CHANNELS) {
		vsnd_error(&log_wav, "%s: %d Hz, %d channels is outside what vsnd supports",
			   path, info.samplerate, info.channels);
		return -ENOTSUP;
	}
	caps->rate_min = caps->rate_max = (uint32_t)info.samplerate;
	caps->channels_min = caps->channels_max = (uint32_t)info.channels;
	return 0;
}

/* ---- backend ---- */

static int wav_init(struct vsnd_audio *a)
{
	struct wav_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	a->priv = ctx;
	snprintf(a->describe, sizeof(a->describe), "WAV file %s%s%s%s",
		 a->opts.wav_out ? a->opts.wav_out : VSND_AUDIO_DEFAULT_WAV_OUT,
		 a->opts.wav_in ? ", capture from " : "", a->opts.wav_in ? a->opts.wav_in : "",
		 a->opts.no_pacing ? " (unpaced)" : "");
	return 0;
}

static void wav_finish(struct vsnd_audio *a)
{
	struct wav_ctx *ctx = a->priv;
	for (int i = 0; i < ctx->n_out; i++)
		sf_close(ctx->out[i].file);
	free(ctx);
}

static int wav_get_caps(struct vsnd_audio *a, enum vsnd_audio_direction dir,
			struct vsnd_audio_caps *caps)
{
	vsnd_audio_caps_all(caps);
	if (dir == VSND_AUDIO_CAPTURE && a->opts.wav_in)
		return wav_in_caps(a->opts.wav_in, caps);
	return 0;
}

static void wav_stream_close(struct vsnd_audio_stream *s)
{
	struct wav_stream *w = s->priv;
	if (!w)
		return;
	if (w->clock_ready)
		vsnd_clocked_finish(&w->clock);
	if (w->out) {
		/* Keep the file for a later stream of the same name; make its header valid now. */
		sf_command(w->file, SFC_UPDATE_HEADER_NOW, NULL, 0);
		w->out->in_use = false;
	} else if (w->file) {
		sf_close(w->file);
	}
	free(w->scratch);
	free(w);
	s->priv = NULL;
}

static int wav_stream_open(struct vsnd_audio_stream *s)
{
	struct wav_stream *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	s->priv = w;
	w->s = s;
	w->last_header_ns = vsnd_now_ns();
	w->scratch = calloc((size_t)s->params.period_frames * s->params.channels, sizeof(int32_t));
	int ret = w->scratch ? 0 : -ENOMEM;
	if (ret == 0)
		ret = s->params.direction == VSND_AUDIO_PLAYBACK ? open_out(w, s->audio->priv) : open_in(w);
	if (ret == 0)
		ret = vsnd_clocked_init(&w->clock, s, !s->audio->opts.no_pacing,
					s->params.direction == VSND_AUDIO_PLAYBACK ? wav_write : wav_read, w);
	w->clock_ready = ret == 0;
	if (ret < 0)
		wav_stream_close(s);
	return ret;
}

static int wav_stream_start(struct vsnd_audio_stream *s)
{
	struct wav_stream *w = s->priv;
	return vsnd_clocked_start(&w->clock);
}

static int wav_stream_stop(struct vsnd_audio_stream *s)
{
	struct wav_stream *w = s->priv;
	return vsnd_clocked_stop(&w->clock);
}

const struct vsnd_audio_ops vsnd_audio_wav_ops = {
	.name = "wav",
	.init = wav_init,
	.finish = wav_finish,
	.get_caps = wav_get_caps,
	.stream_open = wav_stream_open,
	.stream_close = wav_stream_close,
	.stream_start = wav_stream_start,
	.stream_stop = wav_stream_stop,
};
