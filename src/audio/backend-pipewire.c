/* SPDX-License-Identifier: MIT */
/*
 * pipewire: every vsnd stream is a pw_stream of its own, named after the VM,
 * so the host mixer shows (and remembers) a volume per VM.
 *
 * One pw_thread_loop + pw_context + pw_core per struct vsnd_audio, shared by
 * its streams. Everything except the process callback runs on that loop's
 * thread or under its lock. The process callback runs on PipeWire's realtime
 * data thread (PW_STREAM_FLAG_RT_PROCESS) and touches only the ring, the
 * stream's atomics and RT-safe pw_stream calls.
 *
 * Server loss: the core reports EPIPE; the streams turn DISCONNECTED and a
 * timer on the loop retries the connection every 250 ms. Once connected,
 * the core and the pw_streams are recreated with the started/volume state
 * the control side last asked for (or the host last set). A stream counts a
 * reconnect, and leaves DISCONNECTED, only when audio flows again (or, if it
 * was not started, when the server has its node).
 *
 * Capture from a sink's monitor: --device NAME.monitor (the PulseAudio
 * spelling), or --device NAME where NAME is an Audio/Sink node, records what
 * that sink plays (stream.capture.sink=true with target.object=NAME). Any
 * other NAME is a source node. The sink lookup asks the server once, when
 * the stream is opened (a stream opened while the server is away needs the
 * .monitor spelling).
 *
 * Delay (status.delay_frames) is what pw_stream_get_time_n() reports: the
 * graph's delay to the device plus what the stream's converter and queue
 * hold. A null sink has no device delay, so it is ~0 there.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pipewire/pipewire.h>
#include <spa/debug/types.h>
#include <spa/param/audio/format-utils.h>
#include <spa/param/audio/type-info.h>
#include <spa/param/props.h>
#include <spa/pod/builder.h>
#include <spa/pod/iter.h>
#include <spa/utils/result.h>

#include "audio-private.h"
#include "vsnd/clock.h"

VSND_LOG_TOPIC(log_pw, "audio.pipewire");

#define RETRY_NS (250 * SPA_NSEC_PER_MSEC)
#define PROBE_TIMEOUT_NS (1 * SPA_NSEC_PER_SEC)
/* A server that accepted the socket answers a sync at once; allow for a loaded machine. */
#define SYNC_TIMEOUT_NS (3 * SPA_NSEC_PER_SEC)
#define MONITOR_SUFFIX ".monitor"

struct backend_ctx {
	struct vsnd_audio *a;
	struct pw_thread_loop *loop;
	struct pw_context *context;
	struct pw_core *core; /* NULL while the server is gone */
	struct spa_hook core_listener;
	struct spa_source *retry; /* reconnect timer */
	struct spa_list streams;  /* struct backend_stream.link */
	int sync_seq;
	bool synced;
	bool core_up;   /* this core got an answer from the server */
	bool lost;      /* connection lost; core not torn down yet */
	uint32_t attempts;
	uint64_t lost_ns;
	char server[128];
};

struct backend_stream {
	struct spa_list link;
	struct backend_ctx *ctx;
	struct vsnd_audio_stream *s;
	struct pw_stream *stream; /* NULL while disconnected */
	struct spa_hook listener;
	enum pw_stream_state pw_state;
	char *target;      /* target.object, or NULL for the default */
	bool capture_sink; /* record target's monitor */
	bool started;      /* what the control side asked for */
	bool reconnecting; /* recreated after a server loss, not flowing yet */
	bool had_stream;   /* was connected once: coming back counts as a reconnect */
	/* Volume to (re)apply on each new node; vol_known/mute_known: we have a value. */
	float volume;
	bool muted, vol_known, mute_known, vol_applied;
	/* The node announced its volume controls: set_control before that is lost. */
	bool have_controls;
	/* The realtime side may touch the ring (cleared, and synced, on stop). */
	_Atomic bool active;
};

/* ---- formats ---- */

static uint32_t spa_format_for(enum vsnd_audio_format f)
{
	switch (f) {
	case VSND_AUDIO_FORMAT_U8: return SPA_AUDIO_FORMAT_U8;
	case VSND_AUDIO_FORMAT_S16: return SPA_AUDIO_FORMAT_S16_LE;
	case VSND_AUDIO_FORMAT_S24: return SPA_AUDIO_FORMAT_S24_32_LE;
	case VSND_AUDIO_FORMAT_S24_3: return SPA_AUDIO_FORMAT_S24_LE;
	case VSND_AUDIO_FORMAT_S32: return SPA_AUDIO_FORMAT_S32_LE;
	case VSND_AUDIO_FORMAT_FLOAT: return SPA_AUDIO_FORMAT_F32_LE;
	default: return SPA_AUDIO_FORMAT_UNKNOWN;
	}
}

static uint32_t spa_channel_for(uint8_t pos)
{
	switch (pos) {
	case VSND_AUDIO_CH_MONO: return SPA_AUDIO_CHANNEL_MONO;
	case VSND_AUDIO_CH_FL: return SPA_AUDIO_CHANNEL_FL;
	case VSND_AUDIO_CH_FR: return SPA_AUDIO_CHANNEL_FR;
	case VSND_AUDIO_CH_FC: return SPA_AUDIO_CHANNEL_FC;
	case VSND_AUDIO_CH_LFE: return SPA_AUDIO_CHANNEL_LFE;
	case VSND_AUDIO_CH_RL: return SPA_AUDIO_CHANNEL_RL;
	case VSND_AUDIO_CH_RR: return SPA_AUDIO_CHANNEL_RR;
	case VSND_AUDIO_CH_SL: return SPA_AUDIO_CHANNEL_SL;
	case VSND_AUDIO_CH_SR: return SPA_AUDIO_CHANNEL_SR;
	case VSND_AUDIO_CH_RC: return SPA_AUDIO_CHANNEL_RC;
	case VSND_AUDIO_CH_FLC: return SPA_AUDIO_CHANNEL_FLC;
	case VSND_AUDIO_CH_FRC: return SPA_AUDIO_CHANNEL_FRC;
	default: return SPA_AUDIO_CHANNEL_UNKNOWN;
	}
}

static int build_format(const struct vsnd_audio_params *p, struct spa_pod_builder *b,
			const struct spa_pod **out)
{
	struct spa_audio_info_raw info = {
		.format = spa_format_for(p->format),
		.rate = p->rate,
		.channels = p->channels,
	};
	if (info.format == SPA_AUDIO_FORMAT_UNKNOWN) {
		vsnd_error(&log_pw, "format %d has no PipeWire equivalent", (int)p->format);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < p->channels; i++) {
		info.position[i] = spa_channel_for(p->positions[i]);
		/* One unknown position makes the layout meaningless: let PipeWire map by index. */
		if (info.position[i] == SPA_AUDIO_CHANNEL_UNKNOWN)
			info.flags |= SPA_AUDIO_FLAG_UNPOSITIONED;
	}
	*out = spa_format_audio_raw_build(b, SPA_PARAM_EnumFormat, &info);
	if (!*out) {
		vsnd_error(&log_pw, "cannot build the format parameter");
		return -ENOSPC;
	}
	return 0;
}

/* ---- realtime side ---- */

static void update_delay(struct backend_stream *st)
{
	struct vsnd_audio_stream *s = st->s;
	struct pw_time t;
	if (pw_stream_get_time_n(st->stream, &t, sizeof(t)) < 0 || t.rate.denom == 0)
		return;
	/* delay is in graph ticks (t.rate); buffered and queued are stream frames. */
	uint64_t frames = t.delay > 0 ?
		(uint64_t)t.delay * t.rate.num * s->params.rate / t.rate.denom : 0;
	frames += t.buffered + t.queued;
	atomic_store(&s->delay_frames, frames > UINT32_MAX ? UINT32_MAX : (uint32_t)frames);
}

static void on_process(void *data)
{
	struct backend_stream *st = data;
	struct vsnd_audio_stream *s = st->s;
	struct pw_buffer *b = pw_stream_dequeue_buffer(st->stream);
	if (!b)
		return;
	struct spa_buffer *buf = b->buffer;
	struct spa_data *d = &buf->datas[0];
	uint32_t fb = s->frame_bytes;
	bool active = atomic_load(&st->active);

	if (buf->n_datas < 1 || !d->data || !d->chunk)
		goto out;
	if (s->params.direction == VSND_AUDIO_PLAYBACK) {
		uint64_t want = b->requested ? b->requested : s->params.period_frames;
		uint32_t max = d->maxsize / fb;
		uint32_t n = want < max ? (uint32_t)want : max;
		if (active)
			vsnd_audio_stream_pull(s, d->data, n, true);
		else
			vsnd_audio_fill_silence(s->params.format, s->params.channels, d->data, n);
		d->chunk->offset = 0;
		d->chunk->stride = (int32_t)fb;
		d->chunk->size = n * fb;
		b->size = n;
	} else {
		/* The chunk comes from the server: never trust it past maxsize. */
		uint32_t off = SPA_MIN(d->chunk->offset, d->maxsize);
		uint32_t size = SPA_MIN(d->chunk->size, d->maxsize - off);
		if (active && !(d->chunk->flags & SPA_CHUNK_FLAG_CORRUPTED) && size >= fb)
			vsnd_audio_stream_push(s, SPA_PTROFF(d->data, off, void), size / fb);
	}
	update_delay(st);
out:
	pw_stream_queue_buffer(st->stream, b);
}

static int do_sync(struct spa_loop *loop, bool async, uint32_t seq, const void *data,
		   size_t size, void *user_data)
{
	return 0;
}

/*
 * Wait until the data thread is not inside on_process() any more, so that
 * after clearing `active` the ring has one consumer/producer again. Loop lock
 * held; the data thread never takes it.
 */
static void sync_data_thread(struct backend_stream *st)
{
	struct pw_loop *dl = st->stream ? pw_stream_get_data_loop(st->stream) : NULL;
	if (dl)
		pw_loop_invoke(dl, do_sync, 0, NULL, 0, true, NULL);
}

/* ---- stream events (loop thread) ---- */

static void apply_volume(struct backend_stream *st)
{
	float vols[VSND_AUDIO_MAX_CHANNELS], mute = st->muted ? 1.0f : 0.0f;
	uint32_t n = st->s->params.channels;
	int ret = 0;

	if (!st->stream || !st->have_controls)
		return;
	st->vol_applied = true;
	if (!st->vol_known && !st->mute_known)
		return; /* the server's default (or what the session manager restores) */
	/* vsnd volumes are the mixer's scale; PipeWire's channelVolumes are amplitudes. */
	for (uint32_t i = 0; i < n; i++)
		vols[i] = st->volume * st->volume * st->volume;
	if (st->vol_known && st->mute_known)
		ret = pw_stream_set_control(st->stream, SPA_PROP_channelVolumes, n, vols,
					    SPA_PROP_mute, 1, &mute, 0);
	else if (st->vol_known)
		ret = pw_stream_set_control(st->stream, SPA_PROP_channelVolumes, n, vols, 0);
	else if (st->mute_known)
		ret = pw_stream_set_control(st->stream, SPA_PROP_mute, 1, &mute, 0);
	if (ret < 0)
		vsnd_warn(&log_pw, "%s: cannot set the volume: %s", st->s->name, spa_strerror(ret));
	else
		vsnd_debug(&log_pw, "%s: volume %.3f%s applied", st->s->name, (double)st->volume,
			   st->muted ? " (muted)" : "");
}

static void on_state_changed(void *data, enum pw_stream_state old, enum pw_stream_state state,
			     const char *error)
{
	struct backend_stream *st = data;
	struct vsnd_audio_stream *s = st->s;
	struct backend_ctx *ctx = st->ctx;

	vsnd_debug(&log_pw, "%s: %s -> %s%s%s", s->name, pw_stream_state_as_string(old),
		   pw_stream_state_as_string(state), error ? ": " : "", error ? error : "");
	st->pw_state = state;
	switch (state) {
	case PW_STREAM_STATE_ERROR:
	case PW_STREAM_STATE_UNCONNECTED:
		if (ctx->lost || !ctx->core) {
			vsnd_audio_stream_set_state(s, VSND_AUDIO_STATE_DISCONNECTED);
		} else {
			/* We remove our listener before disconnecting: this came from the
			 * server (e.g. the node was destroyed from the host). */
			vsnd_error(&log_pw, "%s: stream %s: %s", s->name,
				   state == PW_STREAM_STATE_ERROR ? "error" : "disconnected by the server",
				   error ? error : "no reason given");
			vsnd_audio_stream_set_state(s, VSND_AUDIO_STATE_ERROR);
		}
		break;
	case PW_STREAM_STATE_CONNECTING:
		break;
	case PW_STREAM_STATE_PAUSED:
		if (st->reconnecting && st->started)
			break; /* not back until audio flows */
		if (st->reconnecting) {
			st->reconnecting = false;
			if (st->had_stream)
				atomic_fetch_add(&s->reconnects, 1);
		}
		st->had_stream = true;
		vsnd_audio_stream_set_state(s, VSND_AUDIO_STATE_PAUSED);
		break;
	case PW_STREAM_STATE_STREAMING:
		if (st->reconnecting && st->had_stream) {
			atomic_fetch_add(&s->reconnects, 1);
			vsnd_info(&log_pw, "%s: streaming again, %.0f ms after the connection was lost",
				  s->name, (double)(vsnd_now_ns() - ctx->lost_ns) / 1e6);
		}
		st->reconnecting = false;
		st->had_stream = true;
		vsnd_audio_stream_set_state(s, VSND_AUDIO_STATE_RUNNING);
		break;
	}
	pw_thread_loop_signal(ctx->loop, false);
}

static void on_control_info(void *data, uint32_t id, const struct pw_stream_control *control)
{
	struct backend_stream *st = data;
	if (id != SPA_PROP_channelVolumes || st->have_controls)
		return;
	/* The adapter is configured now: our initial (or pre-reconnect) volume can go in. */
	st->have_controls = true;
	apply_volume(st);
}

static void on_param_changed(void *data, uint32_t id, const struct spa_pod *param)
{
	struct backend_stream *st = data;
	const struct spa_pod_prop *prop;
	float master = 1.0f, mean = -1.0f;
	bool muted = st->muted, seen = false;

	if (id == SPA_PARAM_Format && param) {
		struct spa_audio_info_raw raw = { 0 };
		if (spa_format_audio_raw_parse(param, &raw) >= 0)
			vsnd_debug(&log_pw, "%s: negotiated %s %u Hz %u ch", st->s->name,
				   spa_debug_type_find_short_name(spa_type_audio_format, raw.format),
				   raw.rate, raw.channels);
		return;
	}
	if (id != SPA_PARAM_Props || !param || !spa_pod_is_object_type(param, SPA_TYPE_OBJECT_Props))
		return;
	SPA_POD_OBJECT_FOREACH((const struct spa_pod_object *)param, prop) {
		switch (prop->key) {
		case SPA_PROP_channelVolumes: {
			float v[SPA_AUDIO_MAX_CHANNELS];
			uint32_t n = spa_pod_copy_array(&prop->value, SPA_TYPE_Float, v, SPA_N_ELEMENTS(v));
			if (n == 0)
				break;
			double sum = 0;
			for (uint32_t i = 0; i < n; i++)
				sum += v[i];
			mean = (float)(sum / n);
			seen = true;
			break;
		}
		case SPA_PROP_volume:
			spa_pod_get_float(&prop->value, &master);
			break;
		case SPA_PROP_mute:
			if (spa_pod_get_bool(&prop->value, &muted) >= 0)
				seen = true;
			break;
		}
	}
	vsnd_trace(&log_pw, "%s: Props: volume %.3f x %.3f%s", st->s->name, (double)mean,
		   (double)master, muted ? " (muted)" : "");
	/* Before our own values are applied this is the node's default: not news. */
	if (!seen || ((st->vol_known || st->mute_known) && !st->vol_applied))
		return;
	float vol = mean >= 0 ? cbrtf(mean * master) : st->volume;
	if (vol < 0)
		vol = 1.0f;
	vsnd_debug(&log_pw, "%s: host volume %.3f%s", st->s->name, (double)vol, muted ? " (muted)" : "");
	/* Remember the host's choice so that a reconnect restores it, not ours. */
	if (mean >= 0) {
		st->volume = vol;
		st->vol_known = true;
	}
	st->muted = muted;
	st->mute_known = true;
	vsnd_audio_stream_report_volume(st->s, vol, muted);
}

static const struct pw_stream_events stream_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = on_state_changed,
	.control_info = on_control_info,
	.param_changed = on_param_changed,
	.process = on_process,
};

/* ---- streams (loop lock held) ---- */

static void destroy_stream(struct backend_stream *st)
{
	if (!st->stream)
		return;
	atomic_store(&st->active, false);
	sync_data_thread(st);
	spa_hook_remove(&st->listener);
	pw_stream_destroy(st->stream);
	st->stream = NULL;
	st->pw_state = PW_STREAM_STATE_UNCONNECTED;
	st->vol_applied = false;
	st->have_controls = false;
}

static int create_stream(struct backend_stream *st)
{
	struct vsnd_audio_stream *s = st->s;
	const struct vsnd_audio_params *p = &s->params;
	const char *vm = s->audio->opts.vm_name;
	bool play = p->direction == VSND_AUDIO_PLAYBACK;
	uint8_t buffer[1024];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buffer, sizeof(buffer));
	const struct spa_pod *params[1];
	int ret = build_format(p, &b, &params[0]);
	if (ret < 0)
		return ret;

	struct pw_properties *props = pw_properties_new(
		PW_KEY_MEDIA_TYPE, "Audio",
		PW_KEY_MEDIA_CATEGORY, play ? "Playback" : "Capture",
		PW_KEY_APP_NAME, vm,
		PW_KEY_MEDIA_NAME, vm,
		NULL);
	if (!props)
		return -errno;
	pw_properties_setf(props, PW_KEY_NODE_NAME, "vsnd.%s.%s", vm, s->name);
	pw_properties_setf(props, PW_KEY_NODE_DESCRIPTION, "%s %s", vm, s->name);
	/* The server's quantum follows the guest's period: one period of latency. */
	pw_properties_setf(props, PW_KEY_NODE_LATENCY, "%u/%u", p->period_frames, p->rate);
	if (st->target)
		pw_properties_set(props, PW_KEY_TARGET_OBJECT, st->target);
	if (st->capture_sink)
		pw_properties_set(props, PW_KEY_STREAM_CAPTURE_SINK, "true");

	/* pw_stream_new takes props, also on failure. */
	st->stream = pw_stream_new(st->ctx->core, s->name, props);
	if (!st->stream) {
		ret = -errno;
		vsnd_error(&log_pw, "%s: cannot create the stream: %s", s->name, strerror(-ret));
		return ret;
	}
	st->pw_state = PW_STREAM_STATE_UNCONNECTED;
	st->vol_applied = false;
	st->have_controls = false;
	pw_stream_add_listener(st->stream, &st->listener, &stream_events, st);

	/* Inactive until started, so a playback ring can be pre-filled. */
	enum pw_stream_flags flags = PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS |
				     PW_STREAM_FLAG_RT_PROCESS;
	if (!st->started)
		flags |= PW_STREAM_FLAG_INACTIVE;
	ret = pw_stream_connect(st->stream, play ? PW_DIRECTION_OUTPUT : PW_DIRECTION_INPUT,
				PW_ID_ANY, flags, params, 1);
	if (ret < 0) {
		vsnd_error(&log_pw, "%s: cannot connect the stream: %s", s->name, spa_strerror(ret));
		spa_hook_remove(&st->listener);
		pw_stream_destroy(st->stream);
		st->stream = NULL;
		return ret;
	}
	return 0;
}

/* ---- core and reconnection (loop thread or loop lock held) ---- */

static void arm_retry(struct backend_ctx *ctx, uint64_t ns)
{
	struct timespec value = { .tv_sec = (time_t)(ns / SPA_NSEC_PER_SEC),
				  .tv_nsec = (long)(ns % SPA_NSEC_PER_SEC) };
	pw_loop_update_timer(pw_thread_loop_get_loop(ctx->loop), ctx->retry, &value, NULL, false);
}

static void on_core_info(void *data, const struct pw_core_info *info)
{
	struct backend_ctx *ctx = data;
	ctx->core_up = true;
	snprintf(ctx->server, sizeof(ctx->server), "PipeWire %s (%s)",
		 info->version ? info->version : "?", info->name ? info->name : "?");
}

static void on_core_done(void *data, uint32_t id, int seq)
{
	struct backend_ctx *ctx = data;
	if (id != PW_ID_CORE)
		return;
	ctx->core_up = true;
	if (seq == ctx->sync_seq) {
		ctx->synced = true;
		pw_thread_loop_signal(ctx->loop, false);
	}
}

static void on_core_error(void *data, uint32_t id, int seq, int res, const char *message)
{
	struct backend_ctx *ctx = data;
	struct backend_stream *st;

	if (id != PW_ID_CORE || res != -EPIPE) {
		vsnd_debug(&log_pw, "server error on object %u: %s (%s)", id, spa_strerror(res),
			   message ? message : "");
		return;
	}
	if (ctx->lost)
		return;
	ctx->lost = true;
	if (ctx->core_up) {
		ctx->lost_ns = vsnd_now_ns();
		ctx->attempts = 0;
		vsnd_warn(&log_pw, "connection to the PipeWire server lost (%s); reconnecting",
			  message ? message : "broken pipe");
	}
	spa_list_for_each(st, &ctx->streams, link) {
		st->reconnecting = true;
		vsnd_audio_stream_set_state(st->s, VSND_AUDIO_STATE_DISCONNECTED);
	}
	/* Not here: the core is still calling us. Tear down from the timer. */
	arm_retry(ctx, ctx->core_up ? 1 : RETRY_NS);
	pw_thread_loop_signal(ctx->loop, false);
}

static const struct pw_core_events core_events = {
	PW_VERSION_CORE_EVENTS,
	.info = on_core_info,
	.done = on_core_done,
	.error = on_core_error,
};

static void disconnect_core(struct backend_ctx *ctx)
{
	struct backend_stream *st;
	spa_list_for_each(st, &ctx->streams, link)
		destroy_stream(st);
	if (ctx->core) {
		spa_hook_remove(&ctx->core_listener);
		pw_core_disconnect(ctx->core);
		ctx->core = NULL;
	}
	ctx->lost = false;
	ctx->core_up = false;
}

static int connect_core(struct backend_ctx *ctx)
{
	struct pw_properties *props = pw_properties_new(PW_KEY_APP_NAME, ctx->a->opts.vm_name, NULL);
	if (!props)
		return -errno;
	/* pw_context_connect takes props, also on failure. */
	ctx->core = pw_context_connect(ctx->context, props, 0);
	if (!ctx->core)
		return errno ? -errno : -ECONNREFUSED;
	ctx->lost = false;
	ctx->core_up = false;
	ctx->synced = false;
	pw_core_add_listener(ctx->core, &ctx->core_listener, &core_events, ctx);
	return 0;
}

/* Round trip to the server; loop lock held. Returns 0, -ETIMEDOUT or -ECONNREFUSED. */
static int sync_core(struct backend_ctx *ctx, uint64_t timeout_ns)
{
	struct timespec abstime;
	ctx->synced = false;
	ctx->sync_seq = pw_core_sync(ctx->core, PW_ID_CORE, ctx->sync_seq);
	pw_thread_loop_get_time(ctx->loop, &abstime, (int64_t)timeout_ns);
	while (!ctx->synced && !ctx->lost) {
		if (pw_thread_loop_timed_wait_full(ctx->loop, &abstime) == -ETIMEDOUT)
			return -ETIMEDOUT;
	}
	return ctx->lost ? -ECONNREFUSED : 0;
}

static void on_retry(void *data, uint64_t expirations)
{
	struct backend_ctx *ctx = data;
	struct backend_stream *st;

	if (ctx->lost)
		disconnect_core(ctx);
	if (ctx->core)
		return;
	ctx->attempts++;
	int ret = connect_core(ctx);
	if (ret < 0) {
		vsnd_debug(&log_pw, "reconnect attempt %u: %s", ctx->attempts, strerror(-ret));
		arm_retry(ctx, RETRY_NS);
		return;
	}
	vsnd_info(&log_pw, "reconnected to the PipeWire server (attempt %u); recreating %s",
		  ctx->attempts, spa_list_is_empty(&ctx->streams) ? "nothing" : "the streams");
	spa_list_for_each(st, &ctx->streams, link) {
		atomic_store(&st->active, st->started);
		if (create_stream(st) < 0) {
			/* The server is there but refuses this stream: nothing a retry fixes. */
			vsnd_audio_stream_set_state(st->s, VSND_AUDIO_STATE_ERROR);
		}
	}
}

/* ---- backend ---- */

/*
 * Does @name (node.name or object.serial) name an Audio/Sink node? Asked only
 * when a capture stream gets a device, to record that sink's monitor.
 */
struct sink_query {
	const char *name;
	bool found;
};

static void on_registry_global(void *data, uint32_t id, uint32_t permissions, const char *type,
			       uint32_t version, const struct spa_dict *props)
{
	struct sink_query *q = data;
	if (!props || strcmp(type, PW_TYPE_INTERFACE_Node) != 0)
		return;
	const char *cls = spa_dict_lookup(props, PW_KEY_MEDIA_CLASS);
	const char *name = spa_dict_lookup(props, PW_KEY_NODE_NAME);
	const char *serial = spa_dict_lookup(props, PW_KEY_OBJECT_SERIAL);
	if (cls && strcmp(cls, "Audio/Sink") == 0 &&
	    ((name && strcmp(name, q->name) == 0) || (serial && strcmp(serial, q->name) == 0)))
		q->found = true;
}

static const struct pw_registry_events registry_events = {
	PW_VERSION_REGISTRY_EVENTS,
	.global = on_registry_global,
};

static bool device_is_sink(struct backend_ctx *ctx, const char *name)
{
	struct sink_query q = { .name = name };
	struct spa_hook listener;
	struct pw_registry *reg = pw_core_get_registry(ctx->core, PW_VERSION_REGISTRY, 0);
	if (!reg)
		return false;
	spa_zero(listener);
	pw_registry_add_listener(reg, &listener, &registry_events, &q);
	int ret = sync_core(ctx, SYNC_TIMEOUT_NS);
	if (ret < 0)
		vsnd_warn(&log_pw, "cannot list the nodes to look for '%s': %s", name, strerror(-ret));
	spa_hook_remove(&listener);
	pw_proxy_destroy((struct pw_proxy *)reg);
	return q.found;
}

/* probe: its own short-lived loop, so "auto" never leaves a thread behind. */
struct probe {
	struct pw_main_loop *ml;
	int seq;
	int result;
};

static void probe_done(void *data, uint32_t id, int seq)
{
	struct probe *pr = data;
	if (id == PW_ID_CORE && seq == pr->seq) {
		pr->result = 0;
		pw_main_loop_quit(pr->ml);
	}
}

static void probe_error(void *data, uint32_t id, int seq, int res, const char *message)
{
	struct probe *pr = data;
	if (id == PW_ID_CORE && res == -EPIPE) {
		pr->result = -ECONNREFUSED;
		pw_main_loop_quit(pr->ml);
	}
}

static const struct pw_core_events probe_events = {
	PW_VERSION_CORE_EVENTS,
	.done = probe_done,
	.error = probe_error,
};

static void probe_timeout(void *data, uint64_t expirations)
{
	struct probe *pr = data;
	pr->result = -ETIMEDOUT;
	pw_main_loop_quit(pr->ml);
}

static int backend_probe(const struct vsnd_audio_opts *opts)
{
	struct probe pr = { .result = -ETIMEDOUT };
	struct pw_context *context;
	struct pw_core *core;
	struct spa_source *timer;
	struct spa_hook listener;
	int ret;

	pw_init(NULL, NULL);
	pr.ml = pw_main_loop_new(NULL);
	if (!pr.ml) {
		ret = -errno;
		goto err_deinit;
	}
	struct pw_loop *loop = pw_main_loop_get_loop(pr.ml);
	context = pw_context_new(loop, NULL, 0);
	if (!context) {
		ret = -errno;
		goto err_loop;
	}
	/* Connecting never starts a server: no socket, no PipeWire. */
	core = pw_context_connect(context, NULL, 0);
	if (!core) {
		ret = -ECONNREFUSED;
		goto err_context;
	}
	timer = pw_loop_add_timer(loop, probe_timeout, &pr);
	if (!timer) {
		ret = -errno;
		goto err_core;
	}
	struct timespec value = { .tv_sec = PROBE_TIMEOUT_NS / SPA_NSEC_PER_SEC,
				  .tv_nsec = PROBE_TIMEOUT_NS % SPA_NSEC_PER_SEC };
	pw_loop_update_timer(loop, timer, &value, NULL, false);
	spa_zero(listener);
	pw_core_add_listener(core, &listener, &probe_events, &pr);
	pr.seq = pw_core_sync(core, PW_ID_CORE, 0);
	pw_main_loop_run(pr.ml);
	ret = pr.result;
	vsnd_debug(&log_pw, "probe: %s", ret == 0 ? "a server answers" : strerror(-ret));
	spa_hook_remove(&listener);
	pw_loop_destroy_source(loop, timer);
err_core:
	pw_core_disconnect(core);
err_context:
	pw_context_destroy(context);
err_loop:
	pw_main_loop_destroy(pr.ml);
err_deinit:
	pw_deinit();
	return ret;
}

static int backend_init(struct vsnd_audio *a)
{
	struct backend_ctx *ctx = calloc(1, sizeof(*ctx));
	int ret;

	if (!ctx)
		return -ENOMEM;
	ctx->a = a;
	spa_list_init(&ctx->streams);
	pw_init(NULL, NULL);
	ctx->loop = pw_thread_loop_new("vsnd-pipewire", NULL);
	if (!ctx->loop) {
		ret = -errno;
		goto err_deinit;
	}
	ctx->context = pw_context_new(pw_thread_loop_get_loop(ctx->loop), NULL, 0);
	if (!ctx->context) {
		ret = -errno;
		vsnd_error(&log_pw, "cannot create a PipeWire context: %s", strerror(-ret));
		goto err_loop;
	}
	ctx->retry = pw_loop_add_timer(pw_thread_loop_get_loop(ctx->loop), on_retry, ctx);
	if (!ctx->retry) {
		ret = -errno;
		goto err_context;
	}
	ret = pw_thread_loop_start(ctx->loop);
	if (ret < 0) {
		vsnd_error(&log_pw, "cannot start the PipeWire thread: %s", spa_strerror(ret));
		goto err_timer;
	}

	pw_thread_loop_lock(ctx->loop);
	ret = connect_core(ctx);
	if (ret < 0) {
		vsnd_error(&log_pw, "no PipeWire server to connect to: %s", strerror(-ret));
		ret = -ECONNREFUSED;
		goto err_unlock;
	}
	ret = sync_core(ctx, SYNC_TIMEOUT_NS);
	if (ret < 0) {
		vsnd_error(&log_pw, "the PipeWire server does not answer: %s", strerror(-ret));
		ret = -ECONNREFUSED;
		goto err_core;
	}
	snprintf(a->describe, sizeof(a->describe), "%s, %s%s", ctx->server,
		 a->opts.device ? "target " : "default devices",
		 a->opts.device ? a->opts.device : "");
	pw_thread_loop_unlock(ctx->loop);
	a->priv = ctx;
	return 0;

err_core:
	disconnect_core(ctx);
err_unlock:
	/* A lost connection armed the reconnect timer: it must not fire now. */
	arm_retry(ctx, 0);
	pw_thread_loop_unlock(ctx->loop);
	pw_thread_loop_stop(ctx->loop);
err_timer:
	pw_loop_destroy_source(pw_thread_loop_get_loop(ctx->loop), ctx->retry);
err_context:
	pw_context_destroy(ctx->context);
err_loop:
	pw_thread_loop_destroy(ctx->loop);
err_deinit:
	pw_deinit();
	free(ctx);
	return ret;
}

static void backend_finish(struct vsnd_audio *a)
{
	struct backend_ctx *ctx = a->priv;
	if (!ctx)
		return;
	pw_thread_loop_lock(ctx->loop);
	arm_retry(ctx, 0);
	pw_thread_loop_unlock(ctx->loop);
	pw_thread_loop_stop(ctx->loop);
	/* The loop is stopped: nothing runs concurrently any more. */
	disconnect_core(ctx);
	pw_loop_destroy_source(pw_thread_loop_get_loop(ctx->loop), ctx->retry);
	pw_context_destroy(ctx->context);
	pw_thread_loop_destroy(ctx->loop);
	pw_deinit();
	free(ctx);
	a->priv = NULL;
}

static int backend_get_caps(struct vsnd_audio *a, enum vsnd_audio_direction dir,
		       struct vsnd_audio_caps *caps)
{
	/* PipeWire converts format, rate and layout: we offer everything vsnd knows. */
	vsnd_audio_caps_all(caps);
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Loop lock held: the server is asked whether a capture device is a sink. */
static int set_target(struct backend_stream *st)
{
	const char *dev = st->s->audio->opts.device;
	if (!dev || !*dev)
		return 0;
	if (st->s->params.direction == VSND_AUDIO_CAPTURE && ends_with(dev, MONITOR_SUFFIX)) {
		st->target = strndup(dev, strlen(dev) - strlen(MONITOR_SUFFIX));
		st->capture_sink = true;
	} else {
		st->target = strdup(dev);
		if (st->target && st->s->params.direction == VSND_AUDIO_CAPTURE && st->ctx->core &&
		    !st->ctx->lost)
			st->capture_sink = device_is_sink(st->ctx, dev);
	}
	if (!st->target)
		return -ENOMEM;
	vsnd_debug(&log_pw, "%s: target %s%s", st->s->name, st->target,
		   st->capture_sink ? " (the sink's monitor)" : "");
	return 0;
}

/* Wait until the server has the node (PAUSED) or refuses it. Loop lock held. */
static int wait_ready(struct backend_stream *st)
{
	struct backend_ctx *ctx = st->ctx;
	struct timespec abstime;
	pw_thread_loop_get_time(ctx->loop, &abstime, (int64_t)SYNC_TIMEOUT_NS);
	while (st->stream && st->pw_state != PW_STREAM_STATE_PAUSED &&
	       st->pw_state != PW_STREAM_STATE_STREAMING && st->pw_state != PW_STREAM_STATE_ERROR &&
	       !ctx->lost) {
		if (pw_thread_loop_timed_wait_full(ctx->loop, &abstime) == -ETIMEDOUT) {
			vsnd_error(&log_pw, "%s: the server did not create the stream in time",
				   st->s->name);
			return -ETIMEDOUT;
		}
	}
	if (st->pw_state == PW_STREAM_STATE_ERROR && !ctx->lost)
		return -EIO; /* logged by on_state_changed */
	return 0;
}

static void backend_stream_close(struct vsnd_audio_stream *s);

static int backend_stream_open(struct vsnd_audio_stream *s)
{
	struct backend_ctx *ctx = s->audio->priv;
	struct backend_stream *st = calloc(1, sizeof(*st));
	int ret;

	if (!st)
		return -ENOMEM;
	st->ctx = ctx;
	st->s = s;
	st->volume = s->params.volume;
	st->vol_known = s->params.volume >= 0;
	st->muted = s->params.muted;
	st->mute_known = s->params.muted;
	atomic_init(&st->active, false);
	s->priv = st;

	pw_thread_loop_lock(ctx->loop);
	spa_list_append(&ctx->streams, &st->link);
	ret = set_target(st);
	if (ret < 0)
		goto err_unlock;
	if (ctx->core && !ctx->lost) {
		ret = create_stream(st);
		if (ret == 0)
			ret = wait_ready(st);
		if (ret < 0)
			goto err_unlock;
	} else {
		/* The server is away: the reconnect timer creates the stream. */
		st->reconnecting = true;
		vsnd_audio_stream_set_state(s, VSND_AUDIO_STATE_DISCONNECTED);
	}
	pw_thread_loop_unlock(ctx->loop);
	return 0;

err_unlock:
	pw_thread_loop_unlock(ctx->loop);
	backend_stream_close(s);
	return ret;
}

static void backend_stream_close(struct vsnd_audio_stream *s)
{
	struct backend_stream *st = s->priv;
	if (!st)
		return;
	struct backend_ctx *ctx = st->ctx;
	pw_thread_loop_lock(ctx->loop);
	destroy_stream(st);
	spa_list_remove(&st->link);
	pw_thread_loop_unlock(ctx->loop);
	free(st->target);
	free(st);
	s->priv = NULL;
}

static int backend_stream_start(struct vsnd_audio_stream *s)
{
	struct backend_stream *st = s->priv;
	int ret = 0;
	pw_thread_loop_lock(st->ctx->loop);
	st->started = true;
	atomic_store(&st->active, true);
	if (st->stream)
		ret = pw_stream_set_active(st->stream, true);
	pw_thread_loop_unlock(st->ctx->loop);
	if (ret < 0)
		vsnd_error(&log_pw, "%s: cannot start: %s", s->name, spa_strerror(ret));
	return ret;
}

static int backend_stream_stop(struct vsnd_audio_stream *s)
{
	struct backend_stream *st = s->priv;
	int ret = 0;
	pw_thread_loop_lock(st->ctx->loop);
	st->started = false;
	atomic_store(&st->active, false);
	if (st->stream) {
		ret = pw_stream_set_active(st->stream, false);
		/* After this the ring is the control side's alone (flush may drop frames). */
		sync_data_thread(st);
	}
	enum vsnd_audio_state cur = atomic_load(&s->state);
	if (cur == VSND_AUDIO_STATE_RUNNING)
		vsnd_audio_stream_set_state(s, VSND_AUDIO_STATE_PAUSED);
	pw_thread_loop_unlock(st->ctx->loop);
	if (ret < 0)
		vsnd_error(&log_pw, "%s: cannot stop: %s", s->name, spa_strerror(ret));
	return ret;
}

static int backend_stream_set_volume(struct vsnd_audio_stream *s, float volume, bool muted)
{
	struct backend_stream *st = s->priv;
	pw_thread_loop_lock(st->ctx->loop);
	st->volume = volume;
	st->muted = muted;
	st->vol_known = st->mute_known = true;
	/* Not connected (yet): applied when the node appears. */
	apply_volume(st);
	pw_thread_loop_unlock(st->ctx->loop);
	return 0;
}

const struct vsnd_audio_ops vsnd_audio_pipewire_ops = {
	.name = "pipewire",
	.probe = backend_probe,
	.init = backend_init,
	.finish = backend_finish,
	.get_caps = backend_get_caps,
	.stream_open = backend_stream_open,
	.stream_close = backend_stream_close,
	.stream_start = backend_stream_start,
	.stream_stop = backend_stream_stop,
	.stream_set_volume = backend_stream_set_volume,
};
