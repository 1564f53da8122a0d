/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "audio-private.h"

struct vsnd_log_topic vsnd_audio_log = VSND_LOG_TOPIC_INIT("audio");

/* Auto order: a running sound server first, then the file fallback. */
static const struct vsnd_audio_ops *const backends[] = {
#ifdef VSND_HAVE_PIPEWIRE
	&vsnd_audio_pipewire_ops,
#endif
#ifdef VSND_HAVE_PULSE
	&vsnd_audio_pulse_ops,
#endif
#ifdef VSND_HAVE_ALSA
	&vsnd_audio_alsa_ops,
#endif
	&vsnd_audio_wav_ops,
	&vsnd_audio_null_ops,
};
#define N_BACKENDS (sizeof(backends) / sizeof(backends[0]))

const char *const *vsnd_audio_backend_names(void)
{
	static const char *names[N_BACKENDS + 1];
	for (size_t i = 0; i < N_BACKENDS; i++)
		names[i] = backends[i]->name;
	names[N_BACKENDS] = NULL;
	return names;
}

static const struct vsnd_audio_ops *find_backend(const char *name)
{
	for (size_t i = 0; i < N_BACKENDS; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

/* auto: a sound server that answers, else the wav file of the embedded default. */
static const struct vsnd_audio_ops *pick_auto(const struct vsnd_audio_opts *opts)
{
	static const char *const order[] = { "pipewire", "pulse" };
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const struct vsnd_audio_ops *ops = find_backend(order[i]);
		if (!ops)
			continue;
		int ret = ops->probe ? ops->probe(opts) : 0;
		if (ret == 0)
			return ops;
		vsnd_debug(&vsnd_audio_log, "auto: %s not usable: %s", ops->name, strerror(-ret));
	}
	return find_backend("wav");
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void free_opts(struct vsnd_audio_opts *o)
{
	free((char *)o->backend);
	free((char *)o->device);
	free((char *)o->wav_out);
	free((char *)o->wav_in);
	free((char *)o->vm_name);
}

struct vsnd_audio *vsnd_audio_new(const struct vsnd_audio_opts *opts)
{
	struct vsnd_audio_opts defaults = { 0 };
	if (!opts)
		opts = &defaults;
	const char *name = opts->backend ? opts->backend : "auto";
	const struct vsnd_audio_ops *ops;
	if (strcmp(name, "auto") == 0) {
		ops = pick_auto(opts);
	} else {
		ops = find_backend(name);
		if (!ops) {
			vsnd_error(&vsnd_audio_log, "unknown audio backend '%s'", name);
			errno = ENOENT;
			return NULL;
		}
	}

	struct vsnd_audio *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->ops = ops;
	a->opts = *opts;
	a->opts.backend = strdup(ops->name);
	a->opts.device = dup_or_null(opts->device);
	a->opts.wav_out = dup_or_null(opts->wav_out);
	a->opts.wav_in = dup_or_null(opts->wav_in);
	a->opts.vm_name = strdup(opts->vm_name ? opts->vm_name : "vsnd");
	if (!a->opts.backend || !a->opts.vm_name ||
	    (opts->device && !a->opts.device) || (opts->wav_out && !a->opts.wav_out) ||
	    (opts->wav_in && !a->opts.wav_in)) {
		errno = ENOMEM;
		goto err_free;
	}
	snprintf(a->describe, sizeof(a->describe), "%s", ops->name);

	int ret = ops->init(a);
	if (ret < 0) {
		vsnd_error(&vsnd_audio_log, "cannot start the %s backend: %s", ops->name, strerror(-ret));
		errno = -ret;
		goto err_free;
	}
	vsnd_debug(&vsnd_audio_log, "backend %s: %s", ops->name, a->describe);
	return a;

err_free:;
	int saved = errno;
	free_opts(&a->opts);
	free(a);
	errno = saved;
	return NULL;
}

void vsnd_audio_destroy(struct vsnd_audio *a)
{
	if (!a)
		return;
	if (a->n_streams)
		vsnd_error(&vsnd_audio_log, "destroying the audio context with %d open streams", a->n_streams);
	a->ops->finish(a);
	free_opts(&a->opts);
	free(a);
}

const char *vsnd_audio_backend_name(const struct vsnd_audio *a)
{
	return a->ops->name;
}

const char *vsnd_audio_describe(const struct vsnd_audio *a)
{
	return a->describe;
}

int vsnd_audio_get_caps(struct vsnd_audio *a, enum vsnd_audio_direction dir,
			struct vsnd_audio_caps *caps)
{
	if ((unsigned)dir > VSND_AUDIO_CAPTURE)
		return -EINVAL;
	return a->ops->get_caps(a, dir, caps);
}

void vsnd_audio_params_init(struct vsnd_audio_params *p, enum vsnd_audio_direction dir,
			    enum vsnd_audio_format format, uint32_t rate, uint32_t channels,
			    uint32_t period_frames)
{
	memset(p, 0, sizeof(*p));
	p->direction = dir;
	p->format = format;
	p->rate = rate;
	p->channels = channels;
	vsnd_audio_default_positions(channels, p->positions);
	p->period_frames = period_frames;
	p->ring_periods = 4;
	p->stream_name = dir == VSND_AUDIO_PLAYBACK ? "playback" : "record";
	p->volume = -1.0f;
}

struct vsnd_audio_stream *vsnd_audio_stream_new(struct vsnd_audio *a,
						const struct vsnd_audio_params *p)
{
	struct vsnd_audio_caps caps;
	int ret = vsnd_audio_params_check(p, NULL);
	if (ret < 0)
		goto err;
	ret = a->ops->get_caps(a, p->direction, &caps);
	if (ret < 0)
		goto err;
	ret = vsnd_audio_params_check(p, &caps);
	if (ret < 0)
		goto err;

	struct vsnd_audio_stream *s = calloc(1, sizeof(*s));
	if (!s) {
		ret = -ENOMEM;
		goto err;
	}
	s->audio = a;
	s->event_fd = s->kick_fd = -1;
	s->params = *p;
	snprintf(s->name, sizeof(s->name), "%s",
		 p->stream_name ? p->stream_name :
		 p->direction == VSND_AUDIO_PLAYBACK ? "playback" : "record");
	s->params.stream_name = s->name;
	if (s->params.ring_periods == 0)
		s->params.ring_periods = 4;
	if (s->params.positions[0] == VSND_AUDIO_CH_UNKNOWN)
		vsnd_audio_default_positions(p->channels, s->params.positions);
	s->frame_bytes = vsnd_audio_frame_bytes(p->format, p->channels);
	atomic_init(&s->state, VSND_AUDIO_STATE_PAUSED);
	atomic_init(&s->volume_milli, p->volume < 0 ? 1000u : (uint32_t)(p->volume * 1000.0f + 0.5f));
	atomic_init(&s->muted, p->muted);

	ret = vsnd_ring_init(&s->ring, s->frame_bytes, p->period_frames * s->params.ring_periods);
	if (ret < 0)
		goto err_free;
	s->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	s->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->event_fd < 0 || s->kick_fd < 0) {
		ret = -errno;
		goto err_fds;
	}
	ret = a->ops->stream_open(s);
	if (ret < 0) {
		vsnd_error(&vsnd_audio_log, "%s: cannot open %s stream '%s': %s", a->ops->name,
			   p->direction == VSND_AUDIO_PLAYBACK ? "playback" : "capture",
			   s->name, strerror(-ret));
		goto err_fds;
	}
	a->n_streams++;
	vsnd_debug(&vsnd_audio_log, "%s: opened %s '%s' %s %u Hz %u ch, period %u frames",
		   a->ops->name, p->direction == VSND_AUDIO_PLAYBACK ? "playback" : "capture",
		   s->name, vsnd_audio_format_name(p->format), p->rate, p->channels,
		   p->period_frames);
	return s;

err_fds:
	if (s->event_fd >= 0)
		close(s->event_fd);
	if (s->kick_fd >= 0)
		close(s->kick_fd);
	vsnd_ring_finish(&s->ring);
err_free:
	free(s);
err:
	errno = -ret;
	return NULL;
}

void vsnd_audio_stream_destroy(struct vsnd_audio_stream *s)
{
	if (!s)
		return;
	s->audio->ops->stream_close(s);
	s->audio->n_streams--;
	close(s->event_fd);
	close(s->kick_fd);
	vsnd_ring_finish(&s->ring);
	free(s);
}

const struct vsnd_audio_params *vsnd_audio_stream_params(const struct vsnd_audio_stream *s)
{
	return &s->params;
}

uint32_t vsnd_audio_stream_frame_bytes(const struct vsnd_audio_stream *s)
{
	return s->frame_bytes;
}

int vsnd_audio_stream_start(struct vsnd_audio_stream *s)
{
	atomic_store(&s->in_xrun, false);
	return s->audio->ops->stream_start(s);
}

int vsnd_audio_stream_stop(struct vsnd_audio_stream *s)
{
	return s->audio->ops->stream_stop(s);
}

int vsnd_audio_stream_flush(struct vsnd_audio_stream *s)
{
	if (s->params.direction != VSND_AUDIO_PLAYBACK)
		return -EINVAL;
	if (atomic_load(&s->state) == VSND_AUDIO_STATE_RUNNING)
		return -EBUSY;
	/* Paused: the realtime side does not read, so the producer may drop. */
	vsnd_ring_skip(&s->ring, vsnd_ring_readable(&s->ring));
	return 0;
}

struct vsnd_ring *vsnd_audio_stream_ring(struct vsnd_audio_stream *s)
{
	return &s->ring;
}

void vsnd_audio_stream_kick(struct vsnd_audio_stream *s)
{
	/* Pairs with the seq_cst store of `waiting` in wait_kick(): either the
	 * sleeper sees the new ring index or we see it waiting. */
	if (atomic_load(&s->waiting))
		vsnd_audio_stream_wake(s);
}

void vsnd_audio_stream_wake(struct vsnd_audio_stream *s)
{
	uint64_t one = 1;
	ssize_t r = write(s->kick_fd, &one, sizeof(one));
	(void)r; /* EAGAIN: the counter is already non-zero, the sleeper wakes anyway */
}

int vsnd_audio_stream_fd(const struct vsnd_audio_stream *s)
{
	return s->event_fd;
}

uint32_t vsnd_audio_stream_dispatch(struct vsnd_audio_stream *s)
{
	uint64_t v;
	ssize_t r = read(s->event_fd, &v, sizeof(v));
	(void)r;
	return atomic_exchange(&s->events, 0);
}

void vsnd_audio_stream_get_status(struct vsnd_audio_stream *s, struct vsnd_audio_status *st)
{
	st->state = atomic_load(&s->state);
	st->frames = atomic_load(&s->frames);
	st->underrun_frames = atomic_load(&s->underrun_frames);
	st->overrun_frames = atomic_load(&s->overrun_frames);
	st->ring_frames = vsnd_ring_readable(&s->ring);
	st->delay_frames = atomic_load(&s->delay_frames);
	st->reconnects = atomic_load(&s->reconnects);
	st->volume = (float)atomic_load(&s->volume_milli) / 1000.0f;
	st->muted = atomic_load(&s->muted);
}

int vsnd_audio_stream_set_volume(struct vsnd_audio_stream *s, float volume, bool muted)
{
	if (!(volume >= 0.0f && volume <= 1.5f)) {
		vsnd_error(&vsnd_audio_log, "invalid volume %g (valid: 0..1.5)", (double)volume);
		return -EINVAL;
	}
	/* Record first: a host report that races the backend call must win, not be overwritten. */
	uint32_t old_milli = atomic_exchange(&s->volume_milli, (uint32_t)(volume * 1000.0f + 0.5f));
	bool old_muted = atomic_exchange(&s->muted, muted);
	if (s->audio->ops->stream_set_volume) {
		int ret = s->audio->ops->stream_set_volume(s, volume, muted);
		if (ret < 0) {
			atomic_store(&s->volume_milli, old_milli);
			atomic_store(&s->muted, old_muted);
			return ret;
		}
	}
	return 0;
}

const char *vsnd_audio_state_name(enum vsnd_audio_state st)
{
	static const char *const names[] = { "paused", "running", "disconnected", "ended", "error" };
	if ((unsigned)st >= sizeof(names) / sizeof(names[0]))
		return "invalid";
	return names[st];
}

/* ---- realtime helpers ---- */

void vsnd_audio_stream_notify(struct vsnd_audio_stream *s, uint32_t events)
{
	uint32_t old = atomic_fetch_or(&s->events, events);
	if (old == 0) {
		uint64_t one = 1;
		ssize_t r = write(s->event_fd, &one, sizeof(one));
		(void)r;
	}
}

void vsnd_audio_stream_set_state(struct vsnd_audio_stream *s, enum vsnd_audio_state st)
{
	if (atomic_exchange(&s->state, st) != (uint32_t)st)
		vsnd_audio_stream_notify(s, VSND_AUDIO_EVENT_STATE);
}

uint32_t vsnd_audio_stream_pull(struct vsnd_audio_stream *s, void *dst, uint32_t frames,
				bool count_underrun)
{
	/* A pull that counts underruns is the host clock's: the moment to refill just in time. */
	bool fed = count_underrun && s->params.refill &&
		   s->params.refill(s->params.refill_data, &s->ring, frames);
	uint32_t got = vsnd_ring_read(&s->ring, dst, frames);
	uint32_t events = got && !(fed && got == frames) ? VSND_AUDIO_EVENT_DATA : 0;
	if (got < frames) {
		vsnd_audio_fill_silence(s->params.format, s->params.channels,
					(uint8_t *)dst + (size_t)got * s->frame_bytes, frames - got);
		if (count_underrun) {
			atomic_fetch_add(&s->underrun_frames, frames - got);
			if (!atomic_exchange(&s->in_xrun, true))
				events |= VSND_AUDIO_EVENT_XRUN;
		}
	} else {
		atomic_store(&s->in_xrun, false);
	}
	if (got)
		atomic_fetch_add(&s->frames, got);
	if (events)
		vsnd_audio_stream_notify(s, events);
	return got;
}

uint32_t vsnd_audio_stream_push(struct vsnd_audio_stream *s, const void *src, uint32_t frames)
{
	uint32_t put = vsnd_ring_write(&s->ring, src, frames);
	uint32_t events = put ? VSND_AUDIO_EVENT_DATA : 0;
	if (put < frames) {
		atomic_fetch_add(&s->overrun_frames, frames - put);
		if (!atomic_exchange(&s->in_xrun, true))
			events |= VSND_AUDIO_EVENT_XRUN;
	} else {
		atomic_store(&s->in_xrun, false);
	}
	if (put)
		atomic_fetch_add(&s->frames, put);
	/* Sent on by the hook: nothing waits for the control loop. */
	if (put && s->params.drain && s->params.drain(s->params.drain_data, &s->ring))
		events &= ~(uint32_t)VSND_AUDIO_EVENT_DATA;
	if (events)
		vsnd_audio_stream_notify(s, events);
	return put;
}

int vsnd_audio_stream_wait_kick(struct vsnd_audio_stream *s, uint32_t seen_readable,
				int extra_fd, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = s->kick_fd, .events = POLLIN },
		{ .fd = extra_fd, .events = POLLIN },
	};
	atomic_store(&s->waiting, true);
	/* The other side may have moved data before it could see `waiting`. */
	if (vsnd_ring_readable(&s->ring) != seen_readable) {
		atomic_store(&s->waiting, false);
		return 1;
	}
	int r = poll(pfd, extra_fd >= 0 ? 2 : 1, timeout_ms);
	int err = errno;
	atomic_store(&s->waiting, false);
	if (r < 0)
		return err == EINTR ? 0 : -err;
	if (pfd[0].revents & POLLIN) {
		uint64_t v;
		ssize_t n = read(s->kick_fd, &v, sizeof(v));
		(void)n;
		return 1;
	}
	if (extra_fd >= 0 && (pfd[1].revents & POLLIN))
		return 2;
	return 0;
}

void vsnd_audio_stream_report_volume(struct vsnd_audio_stream *s, float volume, bool muted)
{
	uint32_t milli = volume < 0 ? 0 : (uint32_t)(volume * 1000.0f + 0.5f);
	bool changed = atomic_exchange(&s->volume_milli, milli) != milli;
	changed |= atomic_exchange(&s->muted, muted) != muted;
	if (changed)
		vsnd_audio_stream_notify(s, VSND_AUDIO_EVENT_VOLUME);
}
