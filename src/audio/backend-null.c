/* SPDX-License-Identifier: MIT */
/*
 * null: playback is discarded, capture is silence, both at the pace of a
 * sound card (or unpaced with --no-pacing).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "clocked.h"

static int null_process(void *data, void *buf, uint32_t frames)
{
	struct vsnd_audio_stream *s = data;
	if (s->params.direction == VSND_AUDIO_CAPTURE)
		vsnd_audio_fill_silence(s->params.format, s->params.channels, buf, frames);
	return (int)frames;
}

static int null_init(struct vsnd_audio *a)
{
	snprintf(a->describe, sizeof(a->describe), "null device (discard/silence%s)",
		 a->opts.no_pacing ? ", unpaced" : "");
	return 0;
}

static void null_finish(struct vsnd_audio *a)
{
}

static int null_get_caps(struct vsnd_audio *a, enum vsnd_audio_direction dir,
			 struct vsnd_audio_caps *caps)
{
	vsnd_audio_caps_all(caps);
	return 0;
}

static int null_stream_open(struct vsnd_audio_stream *s)
{
	struct vsnd_clocked *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	int ret = vsnd_clocked_init(c, s, !s->audio->opts.no_pacing, null_process, s);
	if (ret < 0) {
		free(c);
		return ret;
	}
	s->priv = c;
	return 0;
}

static void null_stream_close(struct vsnd_audio_stream *s)
{
	vsnd_clocked_finish(s->priv);
	free(s->priv);
}

static int null_stream_start(struct vsnd_audio_stream *s)
{
	return vsnd_clocked_start(s->priv);
}

static int null_stream_stop(struct vsnd_audio_stream *s)
{
	return vsnd_clocked_stop(s->priv);
}

const struct vsnd_audio_ops vsnd_audio_null_ops = {
	.name = "null",
	.init = null_init,
	.finish = null_finish,
	.get_caps = null_get_caps,
	.stream_open = null_stream_open,
	.stream_close = null_stream_close,
	.stream_start = null_stream_start,
	.stream_stop = null_stream_stop,
};
