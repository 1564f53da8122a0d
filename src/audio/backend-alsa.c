/* SPDX-License-Identifier: MIT */
/*
 * alsa: one snd_pcm_t per stream on any ALSA device string (hw:, plug:,
 * dmix, a PipeWire/Pulse ALSA plugin, file/null plugins...).
 *
 * Each stream has a thread that owns the snd_pcm_t from open to close. The
 * pcm is opened non-blocking and the thread sleeps in poll() on the pcm's
 * descriptors plus an eventfd for start/stop/quit requests, so it never
 * blocks inside alsa-lib and always answers the control loop. Start and stop
 * are synchronous: the control side posts a request and waits on a second
 * eventfd until the thread has applied it, so after stop returns the thread
 * no longer touches the ring (vsnd_audio_stream_flush() relies on that).
 *
 * The device paces: playback pulls a period from the ring whenever the
 * device has room for one (silence, counted as underrun, when the ring is
 * short), capture reads what the device has and pushes it. Some devices do
 * not pace at all (the null plugin, and the file plugin on top of it, accept
 * or produce any amount at once): left alone they would fill a file with
 * invented silence or drop captured frames as overrun. Such a device is
 * recognised at start (it consumed prefilled frames before it was started,
 * or had captured frames the instant it started) or later by moving more
 * frames than the wall clock allows, and from then on the stream runs
 * "unpaced" like the wav backend with --no-pacing: it moves only what the
 * ring holds (or has room for) and waits for the other side otherwise.
 * --no-pacing forces that mode.
 *
 * ALSA has no per-stream volume: mute is applied here, the volume is only
 * recorded by the common code.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <alsa/asoundlib.h>

#include "audio-private.h"
#include "vsnd/clock.h"

VSND_LOG_TOPIC(log_alsa, "audio.alsa");

/* Device buffer in periods: room for a late wake-up without making the latency worse than the ring's. */
#define BUFFER_PERIODS 4
/* How long start/stop wait for the stream thread; it never blocks, so this only catches bugs. */
#define REQUEST_TIMEOUT_MS 2000
/* Longest poll() of the stream thread: a device that stops waking us is noticed. */
#define POLL_TIMEOUT_MS 1000
/* A device that reports nothing new for this long while running is considered dead. */
#define STALL_TIMEOUT_NS (5 * VSND_NSEC_PER_SEC)
#define MAX_PFDS 16

struct alsa_ctx {
	const char *device;
	struct vsnd_audio_caps caps[2];
	bool caps_valid[2];
};

enum request { REQ_STOP = 0, REQ_RUN = 1 };

struct alsa_stream {
	struct vsnd_audio_stream *s;
	const char *device;
	snd_pcm_t *pcm;
	snd_pcm_uframes_t period; /* the device's period, also avail_min */
	snd_pcm_uframes_t buffer;
	uint32_t chunk; /* frames per transfer = params.period_frames */
	uint8_t *buf;   /* one chunk */
	uint32_t pend_off, pend;   /* playback: pulled frames not yet accepted by the device */

	int ctl_fd; /* control -> thread: a request is posted */
	int ack_fd; /* thread -> control: a request is applied */
	pthread_t thread;
	bool thread_started;
	_Atomic uint32_t req_seq;
	_Atomic uint32_t ack_seq;
	_Atomic int want; /* enum request */
	_Atomic int ack_err;
	_Atomic bool quit;
	_Atomic bool unpaced; /* read by the control side only to log it */
	bool unpaced_logged;

	/* Thread-only from here. */
	uint32_t applied_seq;
	bool running;
	bool suspended; /* -ESTRPIPE and resume said "not yet" */
	bool dev_blocked; /* the last transfer stopped because the device had no room / no data */
	uint64_t start_ns;       /* when the pcm was (re)started */
	uint64_t moved_since_start;
	uint64_t last_io_ns;     /* last transfer that moved frames */
	snd_pcm_sframes_t last_io_level; /* delay (playback) / avail (capture) right after it */
	uint64_t stall_since_ns;
	uint64_t xrun_lost;      /* frames lost by the xrun being recovered */
};

static snd_pcm_format_t alsa_format(enum vsnd_audio_format f)
{
	switch (f) {
	case VSND_AUDIO_FORMAT_U8: return SND_PCM_FORMAT_U8;
	case VSND_AUDIO_FORMAT_S16: return SND_PCM_FORMAT_S16_LE;
	case VSND_AUDIO_FORMAT_S24: return SND_PCM_FORMAT_S24_LE;
	case VSND_AUDIO_FORMAT_S24_3: return SND_PCM_FORMAT_S24_3LE;
	case VSND_AUDIO_FORMAT_S32: return SND_PCM_FORMAT_S32_LE;
	case VSND_AUDIO_FORMAT_FLOAT: return SND_PCM_FORMAT_FLOAT_LE;
	default: return SND_PCM_FORMAT_UNKNOWN;
	}
}

static unsigned int alsa_position(uint8_t pos)
{
	switch (pos) {
	case VSND_AUDIO_CH_MONO: return SND_CHMAP_MONO;
	case VSND_AUDIO_CH_FL: return SND_CHMAP_FL;
	case VSND_AUDIO_CH_FR: return SND_CHMAP_FR;
	case VSND_AUDIO_CH_FC: return SND_CHMAP_FC;
	case VSND_AUDIO_CH_LFE: return SND_CHMAP_LFE;
	case VSND_AUDIO_CH_RL: return SND_CHMAP_RL;
	case VSND_AUDIO_CH_RR: return SND_CHMAP_RR;
	case VSND_AUDIO_CH_SL: return SND_CHMAP_SL;
	case VSND_AUDIO_CH_SR: return SND_CHMAP_SR;
	case VSND_AUDIO_CH_RC: return SND_CHMAP_RC;
	case VSND_AUDIO_CH_FLC: return SND_CHMAP_FLC;
	case VSND_AUDIO_CH_FRC: return SND_CHMAP_FRC;
	default: return SND_CHMAP_UNKNOWN;
	}
}

static const char *dir_name(enum vsnd_audio_direction dir)
{
	return dir == VSND_AUDIO_PLAYBACK ? "playback" : "capture";
}

static snd_pcm_stream_t alsa_dir(enum vsnd_audio_direction dir)
{
	return dir == VSND_AUDIO_PLAYBACK ? SND_PCM_STREAM_PLAYBACK : SND_PCM_STREAM_CAPTURE;
}

static void signal_fd(int fd)
{
	uint64_t one = 1;
	ssize_t r = write(fd, &one, sizeof(one));
	(void)r; /* EAGAIN: the counter is already non-zero, the reader wakes anyway */
}

static void drain_fd(int fd)
{
	uint64_t v;
	ssize_t r = read(fd, &v, sizeof(v));
	(void)r;
}

/* ---- caps ---- */

static int alsa_get_caps(struct vsnd_audio *a, enum vsnd_audio_direction dir,
			 struct vsnd_audio_caps *caps)
{
	struct alsa_ctx *ctx = a->priv;
	snd_pcm_hw_params_t *hw;
	snd_pcm_t *pcm;
	unsigned int rmin, rmax, cmin, cmax;
	int sub = 0, ret;

	if (ctx->caps_valid[dir]) {
		*caps = ctx->caps[dir];
		return 0;
	}
	/* Non-blocking: a busy device must fail now, not hang the control loop. */
	ret = snd_pcm_open(&pcm, ctx->device, alsa_dir(dir), SND_PCM_NONBLOCK);
	if (ret < 0) {
		vsnd_error(&log_alsa, "cannot open ALSA device '%s' for %s: %s", ctx->device,
			   dir_name(dir), snd_strerror(ret));
		return ret;
	}
	ret = snd_pcm_hw_params_malloc(&hw);
	if (ret < 0)
		goto err_close;
	ret = snd_pcm_hw_params_any(pcm, hw);
	if (ret < 0) {
		vsnd_error(&log_alsa, "'%s': no usable %s configuration: %s", ctx->device,
			   dir_name(dir), snd_strerror(ret));
		goto err_free;
	}
	struct vsnd_audio_caps c = { 0 };
	for (int f = 0; f < VSND_AUDIO_FORMAT_COUNT; f++)
		if (snd_pcm_hw_params_test_format(pcm, hw, alsa_format((enum vsnd_audio_format)f)) == 0)
			c.formats |= VSND_AUDIO_FORMAT_BIT(f);
	if ((ret = snd_pcm_hw_params_get_rate_min(hw, &rmin, &sub)) < 0 ||
	    (ret = snd_pcm_hw_params_get_rate_max(hw, &rmax, &sub)) < 0 ||
	    (ret = snd_pcm_hw_params_get_channels_min(hw, &cmin)) < 0 ||
	    (ret = snd_pcm_hw_params_get_channels_max(hw, &cmax)) < 0)
		goto err_free;
	/* Plugins answer 1..UINT_MAX: clamp to what vsnd can express. */
	c.rate_min = rmin < VSND_AUDIO_RATE_MIN ? VSND_AUDIO_RATE_MIN : rmin;
	c.rate_max = rmax > VSND_AUDIO_RATE_MAX ? VSND_AUDIO_RATE_MAX : rmax;
	c.channels_min = cmin < 1 ? 1 : cmin;
	c.channels_max = cmax > VSND_AUDIO_MAX_CHANNELS ? VSND_AUDIO_MAX_CHANNELS : cmax;
	if (!c.formats || c.rate_min > c.rate_max || c.channels_min > c.channels_max) {
		vsnd_error(&log_alsa, "'%s' (%s) supports no format vsnd can use (rates %u..%u, channels %u..%u)",
			   ctx->device, dir_name(dir), rmin, rmax, cmin, cmax);
		ret = -ENOTSUP;
		goto err_free;
	}
	vsnd_debug(&log_alsa, "'%s' %s caps: formats 0x%x, %u..%u Hz, %u..%u channels", ctx->device,
		   dir_name(dir), c.formats, c.rate_min, c.rate_max, c.channels_min, c.channels_max);
	ctx->caps[dir] = c;
	ctx->caps_valid[dir] = true;
	*caps = c;
	ret = 0;
err_free:
	snd_pcm_hw_params_free(hw);
err_close:
	snd_pcm_close(pcm);
	return ret;
}

/* ---- device setup (control thread, before the stream thread exists) ---- */

static int set_hw_params(struct alsa_stream *as)
{
	const struct vsnd_audio_params *p = &as->s->params;
	snd_pcm_t *pcm = as->pcm;
	snd_pcm_hw_params_t *hw;
	int sub = 0, ret;

	ret = snd_pcm_hw_params_malloc(&hw);
	if (ret < 0)
		return ret;
	ret = snd_pcm_hw_params_any(pcm, hw);
	if (ret < 0) {
		vsnd_error(&log_alsa, "'%s': no configuration: %s", as->device, snd_strerror(ret));
		goto out;
	}
	ret = snd_pcm_hw_params_set_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED);
	if (ret < 0) {
		vsnd_error(&log_alsa, "'%s' cannot do interleaved read/write access: %s", as->device,
			   snd_strerror(ret));
		ret = -ENOTSUP;
		goto out;
	}
	ret = snd_pcm_hw_params_set_format(pcm, hw, alsa_format(p->format));
	if (ret < 0) {
		vsnd_error(&log_alsa, "'%s' cannot do format %s (%s)", as->device,
			   vsnd_audio_format_name(p->format), snd_pcm_format_name(alsa_format(p->format)));
		ret = -ENOTSUP;
		goto out;
	}
	ret = snd_pcm_hw_params_set_channels(pcm, hw, p->channels);
	if (ret < 0) {
		vsnd_error(&log_alsa, "'%s' cannot do %u channels", as->device, p->channels);
		ret = -ENOTSUP;
		goto out;
	}
	/* Exactly this rate: vsnd does not resample, a plug device may. */
	ret = snd_pcm_hw_params_set_rate(pcm, hw, p->rate, 0);
	if (ret < 0) {
		unsigned int near = p->rate;
		snd_pcm_hw_params_set_rate_near(pcm, hw, &near, &sub);
		vsnd_error(&log_alsa, "'%s' cannot do rate %u Hz (nearest it offers: %u Hz; "
			   "use a plug device to convert)", as->device, p->rate, near);
		ret = -ENOTSUP;
		goto out;
	}
	as->period = p->period_frames;
	sub = 0;
	ret = snd_pcm_hw_params_set_period_size_near(pcm, hw, &as->period, &sub);
	if (ret < 0) {
		vsnd_error(&log_alsa, "'%s' cannot do a period near %u frames: %s", as->device,
			   p->period_frames, snd_strerror(ret));
		goto out;
	}
	as->buffer = as->period * BUFFER_PERIODS;
	ret = snd_pcm_hw_params_set_buffer_size_near(pcm, hw, &as->buffer);
	if (ret < 0) {
		vsnd_error(&log_alsa, "'%s' cannot do a buffer near %lu frames: %s", as->device,
			   (unsigned long)(as->period * BUFFER_PERIODS), snd_strerror(ret));
		goto out;
	}
	ret = snd_pcm_hw_params(pcm, hw);
	if (ret < 0) {
		vsnd_error(&log_alsa, "'%s' refused %s %u Hz %u ch, period %lu, buffer %lu: %s",
			   as->device, vsnd_audio_format_name(p->format), p->rate, p->channels,
			   (unsigned long)as->period, (unsigned long)as->buffer, snd_strerror(ret));
		goto out;
	}
	snd_pcm_hw_params_get_period_size(hw, &as->period, &sub);
	snd_pcm_hw_params_get_buffer_size(hw, &as->buffer);
	if (as->period == 0 || as->period > as->buffer) {
		vsnd_error(&log_alsa, "'%s' chose period %lu with buffer %lu", as->device,
			   (unsigned long)as->period, (unsigned long)as->buffer);
		ret = -EINVAL;
	}
out:
	snd_pcm_hw_params_free(hw);
	return ret;
}

static int set_sw_params(struct alsa_stream *as)
{
	snd_pcm_sw_params_t *sw;
	snd_pcm_uframes_t boundary;
	int ret = snd_pcm_sw_params_malloc(&sw);
	if (ret < 0)
		return ret;
	if ((ret = snd_pcm_sw_params_current(as->pcm, sw)) < 0 ||
	    (ret = snd_pcm_sw_params_set_avail_min(as->pcm, sw, as->period)) < 0 ||
	    (ret = snd_pcm_sw_params_get_boundary(sw, &boundary)) < 0 ||
	    /* Never auto-start: start is an explicit request of the control loop. */
	    (ret = snd_pcm_sw_params_set_start_threshold(as->pcm, sw, boundary)) < 0 ||
	    (ret = snd_pcm_sw_params_set_stop_threshold(as->pcm, sw, as->buffer)) < 0 ||
	    (ret = snd_pcm_sw_params(as->pcm, sw)) < 0)
		vsnd_error(&log_alsa, "'%s': software parameters refused: %s", as->device,
			   snd_strerror(ret));
	snd_pcm_sw_params_free(sw);
	return ret;
}

static void set_chmap(struct alsa_stream *as)
{
	const struct vsnd_audio_params *p = &as->s->params;
	snd_pcm_chmap_t *map = calloc(1, sizeof(*map) + p->channels * sizeof(map->pos[0]));
	if (!map)
		return;
	map->channels = p->channels;
	for (uint32_t i = 0; i < p->channels; i++)
		map->pos[i] = alsa_position(p->positions[i]);
	/* Many devices (and most plugins) have no settable map: that is fine. */
	int ret = snd_pcm_set_chmap(as->pcm, map);
	if (ret < 0)
		vsnd_debug(&log_alsa, "'%s': channel map not set: %s", as->device, snd_strerror(ret));
	free(map);
}

/* ---- stream thread ---- */

static snd_pcm_sframes_t pcm_level(struct alsa_stream *as)
{
	snd_pcm_sframes_t d = 0;
	if (as->s->params.direction == VSND_AUDIO_PLAYBACK) {
		if (snd_pcm_delay(as->pcm, &d) < 0)
			return -1;
		return d;
	}
	d = snd_pcm_avail(as->pcm);
	return d;
}

static void note_io(struct alsa_stream *as, uint64_t frames)
{
	struct vsnd_audio_stream *s = as->s;
	uint64_t now = vsnd_now_ns();
	snd_pcm_sframes_t d = 0;

	as->last_io_ns = now;
	as->stall_since_ns = 0;
	as->moved_since_start += frames;
	if (snd_pcm_delay(as->pcm, &d) < 0 || d < 0)
		d = 0;
	atomic_store(&s->delay_frames, (uint32_t)d);
	as->last_io_level = s->params.direction == VSND_AUDIO_PLAYBACK ? d : snd_pcm_avail(as->pcm);

	/* A device can not move more than the wall clock allows plus what it
	 * buffers; 1/64 on top so that a card whose crystal runs fast is not
	 * taken for unpaced after an hour. */
	if (!atomic_load(&as->unpaced)) {
		uint64_t clock = vsnd_ns_to_frames(now - as->start_ns, s->params.rate);
		uint64_t allowed = clock + clock / 64 + as->buffer + 2 * as->period;
		if (as->moved_since_start > allowed)
			atomic_store(&as->unpaced, true);
	}
}

/* Playback: hand the pending chunk to the device; returns frames written, 0 when full, or -errno. */
static snd_pcm_sframes_t write_pending(struct alsa_stream *as)
{
	uint32_t fb = as->s->frame_bytes;
	snd_pcm_sframes_t done = 0;
	while (as->pend) {
		snd_pcm_sframes_t w = snd_pcm_writei(as->pcm, as->buf + (size_t)as->pend_off * fb, as->pend);
		if (w == -EAGAIN || w == 0)
			break;
		if (w < 0)
			return w;
		as->pend_off += (uint32_t)w;
		as->pend -= (uint32_t)w;
		done += w;
	}
	return done;
}

/* Playback: take up to @frames from the ring into the pending chunk (silence for the rest if @fill_silence). */
static void pull_chunk(struct alsa_stream *as, uint32_t frames, bool fill_silence)
{
	struct vsnd_audio_stream *s = as->s;
	if (frames > as->chunk)
		frames = as->chunk;
	uint32_t got = vsnd_audio_stream_pull(s, as->buf, frames, fill_silence);
	as->pend_off = 0;
	as->pend = fill_silence ? frames : got;
	if (atomic_load(&s->muted))
		vsnd_audio_fill_silence(s->params.format, s->params.channels, as->buf, as->pend);
}

static int playback_transfer(struct alsa_stream *as)
{
	struct vsnd_audio_stream *s = as->s;
	bool paced = !atomic_load(&as->unpaced);
	uint64_t moved = 0;

	as->dev_blocked = false;
	/* Bounded, so that requests are seen even when the producer keeps up with an unpaced device. */
	for (uint32_t round = 0; round < BUFFER_PERIODS * 2 + 2; round++) {
		if (as->pend == 0) {
			snd_pcm_sframes_t avail = snd_pcm_avail_update(as->pcm);
			if (avail < 0)
				return (int)avail;
			if (paced) {
				if ((snd_pcm_uframes_t)avail < as->period)
					break;
				pull_chunk(as, (uint32_t)avail > as->chunk ? as->chunk : (uint32_t)avail, true);
			} else {
				uint32_t readable = vsnd_ring_readable(&s->ring);
				as->dev_blocked = avail == 0;
				if (avail == 0 || readable == 0)
					break;
				pull_chunk(as, (uint32_t)avail < readable ? (uint32_t)avail : readable, false);
			}
		}
		snd_pcm_sframes_t w = write_pending(as);
		if (w < 0)
			return (int)w;
		moved += (uint64_t)w;
		if (as->pend) {
			as->dev_blocked = true; /* device full */
			break;
		}
	}
	if (moved)
		note_io(as, moved);
	return 0;
}

static int capture_transfer(struct alsa_stream *as)
{
	struct vsnd_audio_stream *s = as->s;
	bool paced = !atomic_load(&as->unpaced);
	uint64_t moved = 0;

	as->dev_blocked = false;
	for (uint32_t round = 0; round < BUFFER_PERIODS * 2 + 2; round++) {
		snd_pcm_sframes_t avail = snd_pcm_avail_update(as->pcm);
		if (avail < 0)
			return (int)avail;
		as->dev_blocked = avail == 0;
		uint32_t n = (uint32_t)avail > as->chunk ? as->chunk : (uint32_t)avail;
		if (paced) {
			if ((snd_pcm_uframes_t)avail < as->period)
				break;
		} else {
			/* Nobody's clock runs: take only what the ring can hold. */
			uint32_t room = vsnd_ring_writable(&s->ring);
			n = n < room ? n : room;
		}
		if (n == 0)
			break;
		snd_pcm_sframes_t r = snd_pcm_readi(as->pcm, as->buf, n);
		if (r == -EAGAIN || r == 0) {
			as->dev_blocked = true;
			break;
		}
		if (r < 0)
			return (int)r;
		if (atomic_load(&s->muted))
			vsnd_audio_fill_silence(s->params.format, s->params.channels, as->buf, (uint32_t)r);
		vsnd_audio_stream_push(s, as->buf, (uint32_t)r);
		moved += (uint64_t)r;
	}
	if (moved)
		note_io(as, moved);
	return 0;
}

/*
 * Prepare if needed, prefill (playback) and start. @first: a start request
 * rather than an xrun restart; only then is the device checked for pacing,
 * as only then is the prefill made of the ring's frames.
 */
static int pcm_start(struct alsa_stream *as, bool first)
{
	struct vsnd_audio_stream *s = as->s;
	bool playback = s->params.direction == VSND_AUDIO_PLAYBACK;
	int ret;

	if (snd_pcm_state(as->pcm) != SND_PCM_STATE_PREPARED) {
		ret = snd_pcm_prepare(as->pcm);
		if (ret < 0)
			return ret;
	}
	if (playback) {
		uint64_t prefilled = 0;
		snd_pcm_sframes_t w = write_pending(as);
		if (w < 0)
			return (int)w;
		prefilled += (uint64_t)w;
		/* Only what the ring has: a short ring must not become silence in an unpaced file. */
		while (as->pend == 0 && prefilled < as->buffer) {
			uint32_t readable = vsnd_ring_readable(&s->ring);
			uint32_t room = (uint32_t)(as->buffer - prefilled);
			if (readable == 0)
				break;
			pull_chunk(as, readable < room ? readable : room, false);
			w = write_pending(as);
			if (w < 0)
				return (int)w;
			prefilled += (uint64_t)w;
		}
		if (first && !atomic_load(&as->unpaced) && prefilled > 0) {
			snd_pcm_sframes_t d = 0;
			/* A device with a clock holds what it got until it is started. */
			if (snd_pcm_delay(as->pcm, &d) == 0 && (uint64_t)(d < 0 ? 0 : d) < prefilled)
				atomic_store(&as->unpaced, true);
		}
		if (as->pend == 0 && prefilled < as->period && !atomic_load(&as->unpaced)) {
			/* Starting a clocked device with (almost) nothing queued is an instant xrun. */
			pull_chunk(as, (uint32_t)(as->period - prefilled), true);
			w = write_pending(as);
			if (w < 0)
				return (int)w;
		}
	}
	uint64_t before = vsnd_now_ns();
	ret = snd_pcm_start(as->pcm);
	if (ret < 0)
		return ret;
	as->start_ns = as->last_io_ns = vsnd_now_ns();
	as->moved_since_start = 0;
	as->stall_since_ns = 0;
	as->last_io_level = playback ? pcm_level(as) : 0;
	if (!playback && first && !atomic_load(&as->unpaced)) {
		/* A clocked device cannot have captured more than the time since
		 * start allows (measured, as this thread may have been preempted). */
		snd_pcm_sframes_t avail = snd_pcm_avail_update(as->pcm);
		uint64_t clock = vsnd_ns_to_frames(vsnd_now_ns() - before, s->params.rate);
		if (avail >= (snd_pcm_sframes_t)as->period && (uint64_t)avail > clock + as->period)
			atomic_store(&as->unpaced, true);
	}
	return 0;
}

/*
 * Frames the xrun cost, from our own clock: the device ran dry (playback) or
 * full (capture) at the last transfer plus what it then held or had room
 * for; everything from then until the restart is lost, and for capture the
 * full buffer that prepare discards too. alsa-lib has no portable xrun
 * timestamp (plugins report none); the tests find it within a few frames of
 * what the device itself measured.
 */
static uint64_t xrun_lost_frames(struct alsa_stream *as, uint64_t now)
{
	const struct vsnd_audio_params *p = &as->s->params;
	snd_pcm_sframes_t level = as->last_io_level < 0 ? 0 : as->last_io_level;
	uint64_t lost = 0, edge;
	if (p->direction == VSND_AUDIO_PLAYBACK) {
		edge = as->last_io_ns + vsnd_frames_to_ns((uint64_t)level, p->rate);
	} else {
		snd_pcm_uframes_t room = (snd_pcm_uframes_t)level < as->buffer ? as->buffer - (snd_pcm_uframes_t)level : 0;
		edge = as->last_io_ns + vsnd_frames_to_ns(room, p->rate);
		lost = as->buffer;
	}
	if (now > edge)
		lost += vsnd_ns_to_frames(now - edge, p->rate);
	return lost ? lost : 1; /* an xrun happened: never report it as free */
}

/* Returns 0 when the stream runs again, -EAGAIN to retry later (suspended), or a fatal -errno. */
static int recover(struct alsa_stream *as, int err)
{
	struct vsnd_audio_stream *s = as->s;
	int ret;

	if (err == -ESTRPIPE || as->suspended) {
		/* snd_pcm_recover() would sleep in a loop here: resume once and poll again instead. */
		ret = snd_pcm_resume(as->pcm);
		if (ret == -EAGAIN) {
			as->suspended = true;
			return -EAGAIN;
		}
		as->suspended = false;
		if (ret == 0)
			return 0; /* resumed where it stopped */
		ret = snd_pcm_prepare(as->pcm);
	} else {
		ret = snd_pcm_recover(as->pcm, err, 1);
	}
	if (ret < 0)
		return ret;
	uint64_t lost = xrun_lost_frames(as, vsnd_now_ns());
	ret = pcm_start(as, false);
	if (ret < 0)
		return ret;
	if (s->params.direction == VSND_AUDIO_PLAYBACK)
		atomic_fetch_add(&s->underrun_frames, lost);
	else
		atomic_fetch_add(&s->overrun_frames, lost);
	vsnd_audio_stream_notify(s, VSND_AUDIO_EVENT_XRUN);
	return 0;
}

static void fail(struct alsa_stream *as)
{
	snd_pcm_drop(as->pcm);
	as->running = false;
	as->pend = 0;
	vsnd_audio_stream_set_state(as->s, VSND_AUDIO_STATE_ERROR);
}

/* Runs a device result through xrun recovery; anything else is fatal. */
static void handle(struct alsa_stream *as, int err)
{
	if (err == 0 || err == -EAGAIN || err == -EINTR)
		return;
	if (err == -EPIPE || err == -ESTRPIPE) {
		int ret = recover(as, err);
		if (ret == 0 || ret == -EAGAIN)
			return;
	}
	fail(as);
}

static int apply_request(struct alsa_stream *as, enum request want)
{
	struct vsnd_audio_stream *s = as->s;
	enum vsnd_audio_state st = atomic_load(&s->state);

	if (want == REQ_RUN) {
		if (as->running)
			return 0;
		if (st == VSND_AUDIO_STATE_ERROR)
			return -EIO;
		int ret = pcm_start(as, true);
		if (ret < 0) {
			fail(as);
			return ret;
		}
		as->running = true;
		vsnd_audio_stream_set_state(s, VSND_AUDIO_STATE_RUNNING);
		return 0;
	}
	if (!as->running)
		return 0;
	/* Drop what the device holds; the ring keeps its frames for the next start. */
	snd_pcm_drop(as->pcm);
	as->running = false;
	as->pend = 0;
	as->suspended = false;
	atomic_store(&s->delay_frames, 0);
	if (st == VSND_AUDIO_STATE_RUNNING)
		vsnd_audio_stream_set_state(s, VSND_AUDIO_STATE_PAUSED);
	return 0;
}

static void check_requests(struct alsa_stream *as)
{
	/* Drain before looking: a signal that lands after a request was already
	 * seen through req_seq would otherwise keep ctl_fd readable and spin us. */
	drain_fd(as->ctl_fd);
	uint32_t seq = atomic_load(&as->req_seq);
	if (seq == as->applied_seq)
		return;
	int ret = apply_request(as, (enum request)atomic_load(&as->want));
	as->applied_seq = seq;
	atomic_store(&as->ack_err, ret);
	atomic_store(&as->ack_seq, seq);
	signal_fd(as->ack_fd);
}

/* One wait-and-move step while running. */
static void run_once(struct alsa_stream *as)
{
	struct vsnd_audio_stream *s = as->s;
	bool playback = s->params.direction == VSND_AUDIO_PLAYBACK;
	struct pollfd pfd[MAX_PFDS + 1] = { { .fd = as->ctl_fd, .events = POLLIN } };
	int n, timeout = POLL_TIMEOUT_MS;

	if (as->suspended) {
		poll(pfd, 1, 100);
		handle(as, -ESTRPIPE);
		return;
	}
	if (atomic_load(&as->unpaced) && as->pend == 0) {
		/* No clock to wait for: wait for the other side of the ring. */
		uint32_t readable = vsnd_ring_readable(&s->ring);
		bool idle = playback ? readable == 0 : vsnd_ring_writable(&s->ring) == 0;
		if (idle) {
			vsnd_audio_stream_wait_kick(s, readable, as->ctl_fd, -1);
			return;
		}
		/* Work on both sides: look at the device without sleeping, unless
		 * it said it was full (or empty) last time: then it does pace after
		 * all (--no-pacing on a card) and its poll() says when to go on. */
		if (!as->dev_blocked)
			timeout = 0;
	}
	n = snd_pcm_poll_descriptors(as->pcm, pfd + 1, MAX_PFDS);
	if (n < 0) {
		handle(as, n);
		return;
	}
	int r = poll(pfd, (nfds_t)n + 1, timeout);
	if (r < 0)
		return; /* EINTR */
	if (pfd[0].revents & POLLIN)
		return; /* a request first; the device is looked at again next round */
	unsigned short rev = 0;
	if (n > 0 && snd_pcm_poll_descriptors_revents(as->pcm, pfd + 1, (unsigned)n, &rev) < 0)
		rev = POLLERR;
	if (r == 0 && timeout > 0) {
		/* Not a single wake-up in a second: look, and give up on a dead device. */
		uint64_t now = vsnd_now_ns();
		if (!as->stall_since_ns)
			as->stall_since_ns = now;
		else if (now - as->stall_since_ns > STALL_TIMEOUT_NS) {
			handle(as, -EIO);
			return;
		}
	}
	int ret = playback ? playback_transfer(as) : capture_transfer(as);
	if (ret == 0 && (rev & POLLERR)) {
		snd_pcm_state_t st = snd_pcm_state(as->pcm);
		if (st == SND_PCM_STATE_XRUN)
			ret = -EPIPE;
		else if (st == SND_PCM_STATE_SUSPENDED)
			ret = -ESTRPIPE;
		else if (st == SND_PCM_STATE_DISCONNECTED)
			ret = -ENODEV;
	}
	handle(as, ret);
}

static void *stream_thread(void *data)
{
	struct alsa_stream *as = data;
	while (!atomic_load(&as->quit)) {
		check_requests(as);
		if (atomic_load(&as->quit))
			break;
		if (!as->running) {
			struct pollfd pfd = { .fd = as->ctl_fd, .events = POLLIN };
			poll(&pfd, 1, -1);
			continue;
		}
		run_once(as);
	}
	if (as->running)
		snd_pcm_drop(as->pcm);
	return NULL;
}

/* ---- control side ---- */

static int request(struct alsa_stream *as, enum request want)
{
	atomic_store(&as->want, want);
	uint32_t seq = atomic_fetch_add(&as->req_seq, 1) + 1;
	signal_fd(as->ctl_fd);
	uint64_t deadline = vsnd_now_ns() + (uint64_t)REQUEST_TIMEOUT_MS * VSND_NSEC_PER_MSEC;
	while (atomic_load(&as->ack_seq) != seq) {
		uint64_t now = vsnd_now_ns();
		if (now >= deadline) {
			vsnd_error(&log_alsa, "'%s': the stream thread did not answer a %s request",
				   as->device, want == REQ_RUN ? "start" : "stop");
			return -ETIMEDOUT;
		}
		struct pollfd pfd = { .fd = as->ack_fd, .events = POLLIN };
		poll(&pfd, 1, (int)((deadline - now) / VSND_NSEC_PER_MSEC) + 1);
		drain_fd(as->ack_fd);
	}
	return atomic_load(&as->ack_err);
}

static void log_unpaced(struct alsa_stream *as)
{
	if (as->unpaced_logged || !atomic_load(&as->unpaced))
		return;
	as->unpaced_logged = true;
	vsnd_info(&log_alsa, "'%s' does not pace %s (a null or file plugin?): moving only what the "
		  "other side of the ring offers", as->device, dir_name(as->s->params.direction));
}

static int alsa_stream_start(struct vsnd_audio_stream *s)
{
	struct alsa_stream *as = s->priv;
	int ret = request(as, REQ_RUN);
	if (ret < 0)
		vsnd_error(&log_alsa, "'%s': cannot start the %s stream: %s", as->device,
			   dir_name(s->params.direction), snd_strerror(ret));
	return ret;
}

static int alsa_stream_stop(struct vsnd_audio_stream *s)
{
	struct alsa_stream *as = s->priv;
	log_unpaced(as);
	return request(as, REQ_STOP);
}

static void alsa_stream_close(struct vsnd_audio_stream *s)
{
	struct alsa_stream *as = s->priv;
	if (!as)
		return;
	if (as->thread_started) {
		atomic_store(&as->quit, true);
		signal_fd(as->ctl_fd);
		pthread_join(as->thread, NULL);
		log_unpaced(as);
	}
	if (as->pcm)
		snd_pcm_close(as->pcm);
	if (as->ctl_fd >= 0)
		close(as->ctl_fd);
	if (as->ack_fd >= 0)
		close(as->ack_fd);
	free(as->buf);
	free(as);
	s->priv = NULL;
}

static int alsa_stream_open(struct vsnd_audio_stream *s)
{
	struct alsa_ctx *ctx = s->audio->priv;
	const struct vsnd_audio_params *p = &s->params;
	int ret;

	struct alsa_stream *as = calloc(1, sizeof(*as));
	if (!as)
		return -ENOMEM;
	s->priv = as;
	as->s = s;
	as->device = ctx->device;
	as->ctl_fd = as->ack_fd = -1;
	as->chunk = p->period_frames;
	atomic_init(&as->unpaced, s->audio->opts.no_pacing);

	as->buf = malloc((size_t)as->chunk * s->frame_bytes);
	if (!as->buf) {
		ret = -ENOMEM;
		goto err;
	}
	as->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	as->ack_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (as->ctl_fd < 0 || as->ack_fd < 0) {
		ret = -errno;
		goto err;
	}
	ret = snd_pcm_open(&as->pcm, ctx->device, alsa_dir(p->direction), SND_PCM_NONBLOCK);
	if (ret < 0) {
		vsnd_error(&log_alsa, "cannot open ALSA device '%s' for %s: %s", ctx->device,
			   dir_name(p->direction), snd_strerror(ret));
		as->pcm = NULL;
		goto err;
	}
	if ((ret = set_hw_params(as)) < 0 || (ret = set_sw_params(as)) < 0)
		goto err;
	set_chmap(as);
	ret = snd_pcm_prepare(as->pcm);
	if (ret < 0) {
		vsnd_error(&log_alsa, "'%s': prepare failed: %s", ctx->device, snd_strerror(ret));
		goto err;
	}
	ret = -pthread_create(&as->thread, NULL, stream_thread, as);
	if (ret < 0)
		goto err;
	as->thread_started = true;
	vsnd_debug(&log_alsa, "'%s' %s: %s %u Hz %u ch, period %lu, buffer %lu frames%s", ctx->device,
		   dir_name(p->direction), vsnd_audio_format_name(p->format), p->rate, p->channels,
		   (unsigned long)as->period, (unsigned long)as->buffer,
		   s->audio->opts.no_pacing ? " (unpaced)" : "");
	return 0;
err:
	alsa_stream_close(s);
	return ret;
}

/* ---- backend ---- */

static int alsa_init(struct vsnd_audio *a)
{
	struct alsa_ctx *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->device = a->opts.device ? a->opts.device : "default";
	a->priv = ctx;
	snprintf(a->describe, sizeof(a->describe), "ALSA device '%s'%s", ctx->device,
		 a->opts.no_pacing ? " (unpaced)" : "");
	return 0;
}

static void alsa_finish(struct vsnd_audio *a)
{
	free(a->priv);
}

const struct vsnd_audio_ops vsnd_audio_alsa_ops = {
	.name = "alsa",
	.init = alsa_init,
	.finish = alsa_finish,
	.get_caps = alsa_get_caps,
	.stream_open = alsa_stream_open,
	.stream_close = alsa_stream_close,
	.stream_start = alsa_stream_start,
	.stream_stop = alsa_stream_stop,
};
