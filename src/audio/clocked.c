/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clocked.h"
#include "vsnd/clock.h"

static void ctl_signal(struct vsnd_clocked *c)
{
	uint64_t one = 1;
	ssize_t r = write(c->ctl_fd, &one, sizeof(one));
	(void)r;
}

static void ctl_drain(struct vsnd_clocked *c)
{
	uint64_t v;
	ssize_t r = read(c->ctl_fd, &v, sizeof(v));
	(void)r;
}

/* Move one chunk of up to @frames; returns false when the stream must stop. */
static bool move(struct vsnd_clocked *c, uint32_t frames, bool count_xrun)
{
	struct vsnd_audio_stream *s = c->stream;
	int ret;

	if (s->params.direction == VSND_AUDIO_PLAYBACK) {
		vsnd_audio_stream_pull(s, c->buf, frames, count_xrun);
		ret = c->process(c->data, c->buf, frames);
	} else {
		ret = c->process(c->data, c->buf, frames);
		if (ret > 0)
			vsnd_audio_stream_push(s, c->buf, (uint32_t)ret);
		else if (ret == 0)
			vsnd_audio_stream_set_state(s, VSND_AUDIO_STATE_ENDED);
	}
	if (ret < 0)
		vsnd_audio_stream_set_state(s, VSND_AUDIO_STATE_ERROR);
	return ret > 0 || (ret == 0 && s->params.direction == VSND_AUDIO_PLAYBACK);
}

static void run_paced(struct vsnd_clocked *c)
{
	struct vsnd_audio_stream *s = c->stream;
	uint32_t period = s->params.period_frames;
	struct pollfd pfd[2] = {
		{ .fd = c->ctl_fd, .events = POLLIN },
		{ .fd = vsnd_pacer_fd(&c->pacer), .events = POLLIN },
	};
	if (poll(pfd, 2, -1) < 0)
		return;
	if (pfd[0].revents & POLLIN)
		ctl_drain(c);
	if (!(pfd[1].revents & POLLIN) || !atomic_load(&c->running))
		return;
	pthread_mutex_lock(&c->lock);
	if (!atomic_load(&c->running)) {
		pthread_mutex_unlock(&c->lock);
		return;
	}
	int64_t n = vsnd_pacer_ack(&c->pacer);
	/* After a long stall (suspend, debugger) a card would have xrun: play
	 * at most one ring's worth and count the rest as lost time. */
	if (n > (int64_t)s->params.ring_periods) {
		if (s->params.direction == VSND_AUDIO_PLAYBACK)
			atomic_fetch_add(&s->underrun_frames,
					 (uint64_t)(n - s->params.ring_periods) * period);
		else
			atomic_fetch_add(&s->overrun_frames,
					 (uint64_t)(n - s->params.ring_periods) * period);
		vsnd_audio_stream_notify(s, VSND_AUDIO_EVENT_XRUN);
		n = s->params.ring_periods;
	}
	for (int64_t i = 0; i < n; i++)
		if (!move(c, period, true)) {
			atomic_store(&c->running, false);
			vsnd_pacer_stop(&c->pacer);
			break;
		}
	pthread_mutex_unlock(&c->lock);
}

static void run_unpaced(struct vsnd_clocked *c)
{
	struct vsnd_audio_stream *s = c->stream;
	uint32_t period = s->params.period_frames;
	uint32_t readable = vsnd_ring_readable(&s->ring);
	uint32_t n = s->params.direction == VSND_AUDIO_PLAYBACK ?
		readable : vsnd_ring_capacity(&s->ring) - readable;
	if (n == 0) {
		if (vsnd_audio_stream_wait_kick(s, readable, c->ctl_fd, -1) == 2)
			ctl_drain(c);
		return;
	}
	pthread_mutex_lock(&c->lock);
	if (atomic_load(&c->running) && !move(c, n < period ? n : period, false))
		atomic_store(&c->running, false);
	pthread_mutex_unlock(&c->lock);
}

static void *thread_main(void *arg)
{
	struct vsnd_clocked *c = arg;
	while (!atomic_load(&c->quit)) {
		if (!atomic_load(&c->running)) {
			struct pollfd pfd = { .fd = c->ctl_fd, .events = POLLIN };
			if (poll(&pfd, 1, -1) > 0)
				ctl_drain(c);
			continue;
		}
		if (c->paced)
			run_paced(c);
		else
			run_unpaced(c);
	}
	return NULL;
}

int vsnd_clocked_init(struct vsnd_clocked *c, struct vsnd_audio_stream *s, bool paced,
		      vsnd_clocked_process_fn process, void *data)
{
	int ret;
	memset(c, 0, sizeof(*c));
	c->ctl_fd = -1;
	c->pacer.fd = -1;
	c->stream = s;
	c->process = process;
	c->data = data;
	c->paced = paced;
	pthread_mutex_init(&c->lock, NULL);
	c->buf = malloc((size_t)s->params.period_frames * s->frame_bytes);
	if (!c->buf)
		return -ENOMEM;
	c->ctl_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (c->ctl_fd < 0) {
		ret = -errno;
		goto err;
	}
	ret = vsnd_pacer_init(&c->pacer, s->params.rate, s->params.period_frames);
	if (ret < 0)
		goto err;
	ret = -pthread_create(&c->thread, NULL, thread_main, c);
	if (ret < 0)
		goto err;
	c->thread_started = true;
	return 0;
err:
	vsnd_clocked_finish(c);
	return ret;
}

void vsnd_clocked_finish(struct vsnd_clocked *c)
{
	if (c->thread_started) {
		atomic_store(&c->quit, true);
		ctl_signal(c);
		vsnd_audio_stream_wake(c->stream);
		pthread_join(c->thread, NULL);
		c->thread_started = false;
	}
	vsnd_pacer_finish(&c->pacer);
	if (c->ctl_fd >= 0)
		close(c->ctl_fd);
	c->ctl_fd = -1;
	free(c->buf);
	c->buf = NULL;
	pthread_mutex_destroy(&c->lock);
}

int vsnd_clocked_start(struct vsnd_clocked *c)
{
	enum vsnd_audio_state st = atomic_load(&c->stream->state);
	if (st == VSND_AUDIO_STATE_ERROR || st == VSND_AUDIO_STATE_ENDED)
		return -EIO;
	if (atomic_load(&c->running))
		return 0;
	if (c->paced) {
		int ret = vsnd_pacer_start(&c->pacer, 0);
		if (ret < 0)
			return ret;
	}
	atomic_store(&c->running, true);
	vsnd_audio_stream_set_state(c->stream, VSND_AUDIO_STATE_RUNNING);
	ctl_signal(c);
	return 0;
}

int vsnd_clocked_stop(struct vsnd_clocked *c)
{
	if (!atomic_exchange(&c->running, false))
		return 0;
	pthread_mutex_lock(&c->lock); /* wait for a move in progress */
	if (c->paced)
		vsnd_pacer_stop(&c->pacer);
	pthread_mutex_unlock(&c->lock);
	enum vsnd_audio_state st = atomic_load(&c->stream->state);
	if (st == VSND_AUDIO_STATE_RUNNING)
		vsnd_audio_stream_set_state(c->stream, VSND_AUDIO_STATE_PAUSED);
	ctl_signal(c);
	vsnd_audio_stream_wake(c->stream);
	return 0;
}
