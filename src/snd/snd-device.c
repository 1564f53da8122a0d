/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snd-private.h"

struct vsnd_log_topic snd_log = VSND_LOG_TOPIC_INIT("snd");

/* ---- mappings between virtio-snd and the host audio layer ---- */

int snd_format_to_audio(uint8_t f)
{
	switch (f) {
	case VIRTIO_SND_PCM_FMT_U8: return VSND_AUDIO_FORMAT_U8;
	case VIRTIO_SND_PCM_FMT_S16: return VSND_AUDIO_FORMAT_S16;
	case VIRTIO_SND_PCM_FMT_S24: return VSND_AUDIO_FORMAT_S24;
	case VIRTIO_SND_PCM_FMT_S24_3: return VSND_AUDIO_FORMAT_S24_3;
	case VIRTIO_SND_PCM_FMT_S32: return VSND_AUDIO_FORMAT_S32;
	case VIRTIO_SND_PCM_FMT_FLOAT: return VSND_AUDIO_FORMAT_FLOAT;
	default: return -ENOTSUP;
	}
}

int snd_format_from_audio(enum vsnd_audio_format f)
{
	for (uint8_t v = 0; v <= VIRTIO_SND_PCM_FMT_IEC958_SUBFRAME; v++)
		if (snd_format_to_audio(v) == (int)f)
			return v;
	return -ENOTSUP;
}

static const uint32_t rate_hz[] = {
	[VIRTIO_SND_PCM_RATE_5512] = 5512,     [VIRTIO_SND_PCM_RATE_8000] = 8000,
	[VIRTIO_SND_PCM_RATE_11025] = 11025,   [VIRTIO_SND_PCM_RATE_16000] = 16000,
	[VIRTIO_SND_PCM_RATE_22050] = 22050,   [VIRTIO_SND_PCM_RATE_32000] = 32000,
	[VIRTIO_SND_PCM_RATE_44100] = 44100,   [VIRTIO_SND_PCM_RATE_48000] = 48000,
	[VIRTIO_SND_PCM_RATE_64000] = 64000,   [VIRTIO_SND_PCM_RATE_88200] = 88200,
	[VIRTIO_SND_PCM_RATE_96000] = 96000,   [VIRTIO_SND_PCM_RATE_176400] = 176400,
	[VIRTIO_SND_PCM_RATE_192000] = 192000, [VIRTIO_SND_PCM_RATE_384000] = 384000,
};

uint32_t snd_rate_to_hz(uint8_t r)
{
	return r < sizeof(rate_hz) / sizeof(rate_hz[0]) ? rate_hz[r] : 0;
}

int snd_rate_from_hz(uint32_t hz)
{
	for (unsigned r = 0; r < sizeof(rate_hz) / sizeof(rate_hz[0]); r++)
		if (rate_hz[r] == hz)
			return (int)r;
	return -ENOTSUP;
}

uint8_t snd_chmap_position(enum vsnd_audio_channel ch)
{
	switch (ch) {
	case VSND_AUDIO_CH_MONO: return VIRTIO_SND_CHMAP_MONO;
	case VSND_AUDIO_CH_FL: return VIRTIO_SND_CHMAP_FL;
	case VSND_AUDIO_CH_FR: return VIRTIO_SND_CHMAP_FR;
	case VSND_AUDIO_CH_FC: return VIRTIO_SND_CHMAP_FC;
	case VSND_AUDIO_CH_LFE: return VIRTIO_SND_CHMAP_LFE;
	case VSND_AUDIO_CH_RL: return VIRTIO_SND_CHMAP_RL;
	case VSND_AUDIO_CH_RR: return VIRTIO_SND_CHMAP_RR;
	case VSND_AUDIO_CH_SL: return VIRTIO_SND_CHMAP_SL;
	case VSND_AUDIO_CH_SR: return VIRTIO_SND_CHMAP_SR;
	case VSND_AUDIO_CH_RC: return VIRTIO_SND_CHMAP_RC;
	case VSND_AUDIO_CH_FLC: return VIRTIO_SND_CHMAP_FLC;
	case VSND_AUDIO_CH_FRC: return VIRTIO_SND_CHMAP_FRC;
	default: return VIRTIO_SND_CHMAP_NONE;
	}
}

const char *snd_state_name(enum snd_pcm_state st)
{
	static const char *const names[] = { "none", "set-params", "prepare", "start", "stop", "release" };
	return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "invalid";
}

/* ---- --streams ---- */

int snd_parse_streams(const char *spec, struct snd_stream_spec *out, int max)
{
	char buf[256];
	int n = 0;
	if (!spec || !*spec || strlen(spec) >= sizeof(buf)) {
		fprintf(stderr, "invalid --streams spec\n");
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (n == max || n == SND_MAX_STREAMS) {
			fprintf(stderr, "--streams: at most %d streams\n", SND_MAX_STREAMS);
			return -EINVAL;
		}
		char *colon = strchr(tok, ':');
		long ch = 2;
		if (colon) {
			char *end;
			*colon = '\0';
			ch = strtol(colon + 1, &end, 10);
			if (*end || ch < 1 || ch > VSND_AUDIO_MAX_CHANNELS) {
				fprintf(stderr, "--streams: invalid channel count '%s' (1..8)\n", colon + 1);
				return -EINVAL;
			}
		}
		if (strcmp(tok, "out") == 0 || strcmp(tok, "output") == 0)
			out[n].direction = VIRTIO_SND_D_OUTPUT;
		else if (strcmp(tok, "in") == 0 || strcmp(tok, "input") == 0)
			out[n].direction = VIRTIO_SND_D_INPUT;
		else {
			fprintf(stderr, "--streams: '%s' is neither 'out' nor 'in'\n", tok);
			return -EINVAL;
		}
		out[n].channels_max = (uint8_t)ch;
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "--streams: no stream\n");
		return -EINVAL;
	}
	return n;
}

/* ---- device ---- */

/* What the host backend really supports, as virtio-snd bit maps. */
static int stream_caps(struct snd_device *d, struct snd_stream *s, uint8_t channels_max)
{
	struct vsnd_audio_caps caps;
	enum vsnd_audio_direction dir = s->direction == VIRTIO_SND_D_OUTPUT ? VSND_AUDIO_PLAYBACK
									     : VSND_AUDIO_CAPTURE;
	int ret = vsnd_audio_get_caps(d->audio, dir, &caps);
	if (ret < 0)
		return ret;
	for (int f = 0; f < VSND_AUDIO_FORMAT_COUNT; f++)
		if (caps.formats & VSND_AUDIO_FORMAT_BIT(f))
			s->formats |= 1ull << snd_format_from_audio((enum vsnd_audio_format)f);
	for (unsigned r = 0; r < sizeof(rate_hz) / sizeof(rate_hz[0]); r++)
		if (rate_hz[r] >= VSND_AUDIO_RATE_MIN && rate_hz[r] <= VSND_AUDIO_RATE_MAX &&
		    rate_hz[r] >= caps.rate_min && rate_hz[r] <= caps.rate_max)
			s->rates |= 1ull << r;
	s->channels_min = (uint8_t)(caps.channels_min < 1 ? 1 : caps.channels_min);
	s->channels_max = (uint8_t)(caps.channels_max < channels_max ? caps.channels_max : channels_max);
	if (!s->formats || !s->rates || s->channels_min > s->channels_max) {
		vsnd_error(&snd_log, "stream %u: the %s backend supports nothing virtio-snd can offer",
			   s->id, vsnd_audio_backend_name(d->audio));
		return -ENOTSUP;
	}
	return 0;
}

struct snd_device *snd_device_new(struct vsnd_audio *audio, const struct snd_stream_spec *specs,
				  int n, const struct snd_device_ops *ops, void *data)
{
	if (n < 1 || n > SND_MAX_STREAMS) {
		errno = EINVAL;
		return NULL;
	}
	struct snd_device *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->audio = audio;
	d->ops = ops;
	d->data = data;
	d->n_streams = (uint32_t)n;
	uint32_t per_dir[2] = { 0, 0 };
	for (int i = 0; i < n; i++) {
		struct snd_stream *s = &d->streams[i];
		s->id = (uint32_t)i;
		s->direction = specs[i].direction;
		s->nid = per_dir[s->direction & 1]++;
		s->volume = SND_VOLUME_MAX;
		s->on = true;
		snprintf(s->name, sizeof(s->name), "%s%u",
			 s->direction == VIRTIO_SND_D_OUTPUT ? "playback" : "capture", s->nid);
		int ret = stream_caps(d, s, specs[i].channels_max);
		if (ret < 0) {
			free(d);
			errno = -ret;
			return NULL;
		}
		d->has_dir[s->direction & 1] = true;
	}
	/* One jack per direction that has streams. */
	for (int dir = 0; dir < 2; dir++)
		if (d->has_dir[dir])
			d->jack_dir[d->n_jacks++] = (uint8_t)dir;
	return d;
}

void snd_device_destroy(struct snd_device *d)
{
	if (!d)
		return;
	snd_device_reset(d);
	free(d);
}

uint64_t snd_device_features(const struct snd_device *d)
{
	return d->offer_ctls ? 1ull << VIRTIO_SND_F_CTLS : 0;
}

void snd_device_enable_controls(struct snd_device *d, bool on)
{
	d->offer_ctls = on;
}

void snd_device_set_features(struct snd_device *d, uint64_t features)
{
	d->ctls = d->offer_ctls && ((features >> VIRTIO_SND_F_CTLS) & 1);
}

uint32_t snd_device_config_size(const struct snd_device *d)
{
	return d->ctls ? sizeof(struct virtio_snd_config)
		       : offsetof(struct virtio_snd_config, controls);
}

int snd_device_get_config(const struct snd_device *d, uint32_t offset, void *buf, uint32_t size)
{
	struct virtio_snd_config cfg = {
		.jacks = htole32(d->n_jacks),
		.streams = htole32(d->n_streams),
		.chmaps = htole32(d->n_streams),
		.controls = htole32(d->ctls ? d->n_streams * SND_CTLS_PER_STREAM : 0),
	};
	uint32_t total = snd_device_config_size(d);
	/* Any sub-range, checked without overflow: libkrun reads pieces. */
	if (offset > total || size > total - offset)
		return -EINVAL;
	memcpy(buf, (const uint8_t *)&cfg + offset, size);
	return 0;
}

struct snd_stream *snd_device_stream(struct snd_device *d, uint32_t id)
{
	return id < d->n_streams ? &d->streams[id] : NULL;
}

uint32_t snd_device_n_streams(const struct snd_device *d)
{
	return d->n_streams;
}

void snd_device_reset(struct snd_device *d)
{
	for (uint32_t i = 0; i < d->n_streams; i++) {
		struct snd_stream *s = &d->streams[i];
		snd_pcm_close_host(d, s);
		s->state = SND_PCM_NONE;
		s->params_set = false;
	}
}

/* ---- controls: volume 0..100 on a -60..0 dB scale (0 = mute), and a switch ---- */

float snd_volume_gain(uint32_t v)
{
	if (v == 0)
		return 0.0f;
	double db = (SND_VOLUME_MIN_CDB + (double)v * -SND_VOLUME_MIN_CDB / SND_VOLUME_MAX) / 100.0;
	return (float)pow(10.0, db / 20.0);
}

uint32_t snd_volume_from_gain(float gain)
{
	if (!(gain > 0.0f))
		return 0;
	double db = 20.0 * log10(gain);
	long v = lround((db * 100.0 - SND_VOLUME_MIN_CDB) * SND_VOLUME_MAX / -SND_VOLUME_MIN_CDB);
	return v < 0 ? 0 : v > SND_VOLUME_MAX ? SND_VOLUME_MAX : (uint32_t)v;
}

/* The host's volumes are on the mixer scale: amplitude = volume^3. */
float snd_volume_host(uint32_t v)
{
	return cbrtf(snd_volume_gain(v));
}

int snd_apply_volume(struct snd_device *d, struct snd_stream *s)
{
	if (!s->host)
		return 0; /* applied when PREPARE opens the host stream */
	return vsnd_audio_stream_set_volume(s->host, snd_volume_host(s->volume), !s->on);
}

void snd_device_host_volume_changed(struct snd_device *d, struct snd_stream *s)
{
	struct vsnd_audio_status st;
	if (!s->host)
		return;
	vsnd_audio_stream_get_status(s->host, &st);
	uint32_t v = snd_volume_from_gain(st.volume * st.volume * st.volume);
	bool on = !st.muted;
	uint32_t base = s->id * SND_CTLS_PER_STREAM;
	if (v != s->volume) {
		s->volume = v;
		if (d->ctls && d->ops && d->ops->ctl_notify)
			d->ops->ctl_notify(d->data, base, 1u << VIRTIO_SND_CTL_EVT_MASK_VALUE);
	}
	if (on != s->on) {
		s->on = on;
		if (d->ctls && d->ops && d->ops->ctl_notify)
			d->ops->ctl_notify(d->data, base + 1, 1u << VIRTIO_SND_CTL_EVT_MASK_VALUE);
	}
}
