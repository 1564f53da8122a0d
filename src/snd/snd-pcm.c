/* SPDX-License-Identifier: MIT */
/*
 * PCM control requests and the stream state machine of the virtio spec:
 *   SET_PARAMS -> SET_PARAMS | PREPARE
 *   PREPARE    -> SET_PARAMS | PREPARE | START | RELEASE
 *   START      -> STOP
 *   STOP       -> START | RELEASE
 *   RELEASE    -> SET_PARAMS | PREPARE
 * (and a fresh stream takes SET_PARAMS only). An invalid transition answers
 * BAD_MSG and changes nothing.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "snd-private.h"
#include "vsnd/clock.h"

/* Bigger than any sane ALSA buffer (8 ch x 8 B x 192 kHz x 1 s ~ 12 MB is absurd already). */
#define MAX_BUFFER_BYTES (16u << 20)

static bool allowed(enum snd_pcm_state from, uint32_t code)
{
	switch (code) {
	case VIRTIO_SND_R_PCM_SET_PARAMS:
		return from == SND_PCM_NONE || from == SND_PCM_SET_PARAMS || from == SND_PCM_PREPARE ||
		       from == SND_PCM_RELEASE;
	case VIRTIO_SND_R_PCM_PREPARE:
		return from == SND_PCM_SET_PARAMS || from == SND_PCM_PREPARE || from == SND_PCM_RELEASE;
	case VIRTIO_SND_R_PCM_START:
		return from == SND_PCM_PREPARE || from == SND_PCM_STOP;
	case VIRTIO_SND_R_PCM_STOP:
		return from == SND_PCM_START;
	case VIRTIO_SND_R_PCM_RELEASE:
		return from == SND_PCM_PREPARE || from == SND_PCM_STOP;
	default:
		return false;
	}
}


void snd_pcm_close_host(struct snd_device *d, struct snd_stream *s)
{
	if (!s->host)
		return;
	/* RELEASE completes only after every pending I/O of the stream is returned. */
	if (d->ops && d->ops->stream_closing)
		d->ops->stream_closing(d->data, s);
	vsnd_audio_stream_destroy(s->host);
	s->host = NULL;
}

static uint32_t set_params(struct snd_device *d, struct snd_stream *s,
			   const struct virtio_snd_pcm_set_params *p)
{
	uint32_t buffer = le32toh(p->buffer_bytes), period = le32toh(p->period_bytes);
	uint32_t features = le32toh(p->features);
	int fmt = snd_format_to_audio(p->format);
	uint32_t rate = snd_rate_to_hz(p->rate);

	if (p->channels < s->channels_min || p->channels > s->channels_max)
		return snd_bad(d, "stream %u: %u channels not offered", s->id, p->channels);
	if (p->format > 63 || !(s->formats & (1ull << p->format)) || fmt < 0)
		return snd_bad(d, "stream %u: format %u not offered", s->id, p->format);
	if (p->rate > 63 || !(s->rates & (1ull << p->rate)) || !rate)
		return snd_bad(d, "stream %u: rate %u not offered", s->id, p->rate);
	if (features & ~(1u << VIRTIO_SND_PCM_F_EVT_XRUNS))
		return snd_bad(d, "stream %u: features 0x%x not offered", s->id, features);
	uint32_t fb = vsnd_audio_frame_bytes((enum vsnd_audio_format)fmt, p->channels);
	if (!period || !buffer || buffer % period || period % fb || buffer > MAX_BUFFER_BYTES)
		return snd_bad(d, "buffer %u / period %u bytes invalid", buffer, period);
	uint32_t period_frames = period / fb, periods = buffer / period;
	/* What the host audio layer can clock: 16 frames .. 1 s periods, <= 64 of them. */
	if (period_frames < 16 || period_frames > rate || periods > 64)
		return snd_bad(d, "period of %u frames x %u periods unsupported", period_frames, periods);

	/* New parameters invalidate a prepared host stream. */
	snd_pcm_close_host(d, s);
	s->buffer_bytes = buffer;
	s->period_bytes = period;
	s->channels = p->channels;
	s->format = p->format;
	s->rate = p->rate;
	s->frame_bytes = fb;
	s->params_set = true;
	return VIRTIO_SND_S_OK;
}

static uint32_t prepare(struct snd_device *d, struct snd_stream *s)
{
	if (!s->params_set)
		return snd_bad(d, "stream %u: PREPARE before SET_PARAMS", s->id);
	/* Re-prepare starts from an empty stream: close and open again. */
	snd_pcm_close_host(d, s);
	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, s->direction == VIRTIO_SND_D_OUTPUT ? VSND_AUDIO_PLAYBACK : VSND_AUDIO_CAPTURE,
			       (enum vsnd_audio_format)snd_format_to_audio(s->format),
			       snd_rate_to_hz(s->rate), s->channels, s->period_bytes / s->frame_bytes);
	/* The ring holds the guest's whole buffer, so what the driver sends always fits. */
	p.ring_periods = s->buffer_bytes / s->period_bytes;
	p.stream_name = s->name;
	p.volume = snd_volume_host(s->volume);
	p.muted = !s->on;
	s->host = vsnd_audio_stream_new(d->audio, &p);
	if (!s->host) {
		vsnd_error(&snd_log, "stream %u: cannot open the host stream", s->id);
		return VIRTIO_SND_S_IO_ERR;
	}
	if (d->ops && d->ops->stream_opened)
		d->ops->stream_opened(d->data, s);
	return VIRTIO_SND_S_OK;
}

uint32_t snd_pcm_request(struct snd_device *d, uint32_t code, const uint8_t *req, size_t len)
{
	struct virtio_snd_pcm_hdr hdr;
	if (len < sizeof(hdr))
		return snd_bad(d, "PCM request 0x%x of %u bytes", code, (uint32_t)len);
	memcpy(&hdr, req, sizeof(hdr));
	uint32_t id = le32toh(hdr.stream_id);
	struct snd_stream *s = snd_device_stream(d, id);
	if (!s)
		return snd_bad(d, "stream %u does not exist (%u streams)", id, d->n_streams);
	if (!allowed(s->state, code))
		return snd_bad(d, "stream %u: request not allowed in its state (%u)", id, s->state);

	uint32_t st = VIRTIO_SND_S_OK;
	enum snd_pcm_state next = s->state;
	switch (code) {
	case VIRTIO_SND_R_PCM_SET_PARAMS: {
		struct virtio_snd_pcm_set_params p;
		if (len < sizeof(p))
			return snd_bad(d, "SET_PARAMS of %u bytes (%u needed)", (uint32_t)len, (uint32_t)sizeof(p));
		memcpy(&p, req, sizeof(p));
		st = set_params(d, s, &p);
		next = SND_PCM_SET_PARAMS;
		break;
	}
	case VIRTIO_SND_R_PCM_PREPARE:
		st = prepare(d, s);
		next = SND_PCM_PREPARE;
		break;
	case VIRTIO_SND_R_PCM_START:
		s->drain_until_ns = 0;
		if (!s->host || vsnd_audio_stream_start(s->host) < 0)
			st = VIRTIO_SND_S_IO_ERR;
		next = SND_PCM_START;
		break;
	case VIRTIO_SND_R_PCM_STOP:
		if (s->host && s->direction == VIRTIO_SND_D_OUTPUT &&
		    vsnd_ring_readable(vsnd_audio_stream_ring(s->host)) == 0) {
			/*
			 * Everything the guest sent has left our ring: this is the end
			 * of a drain, not a pause. What the sound server still holds
			 * must be heard, so the host stream runs on for its delay
			 * (RELEASE waits for it) instead of being corked with it.
			 */
			struct vsnd_audio_status hs;
			vsnd_audio_stream_get_status(s->host, &hs);
			s->drain_until_ns = vsnd_now_ns() + vsnd_frames_to_ns(hs.delay_frames, snd_rate_to_hz(s->rate));
		} else if (s->host && vsnd_audio_stream_stop(s->host) < 0) {
			/* A pause: queued buffers stay and play on START. */
			st = VIRTIO_SND_S_IO_ERR;
		}
		next = SND_PCM_STOP;
		break;
	case VIRTIO_SND_R_PCM_RELEASE: {
		/* Bounded: a sound server's buffer is tens of ms; never hang on a wrong report. */
		uint64_t now = vsnd_now_ns(), limit = now + 250 * VSND_NSEC_PER_MSEC;
		if (s->drain_until_ns > now)
			vsnd_sleep_until(s->drain_until_ns < limit ? s->drain_until_ns : limit);
		s->drain_until_ns = 0;
		snd_pcm_close_host(d, s);
		next = SND_PCM_RELEASE;
		break;
	}
	}
	if (st == VIRTIO_SND_S_OK) {
		vsnd_debug(&snd_log, "stream %u: %s -> %s", id, snd_state_name(s->state), snd_state_name(next));
		s->state = next;
	}
	return st;
}
