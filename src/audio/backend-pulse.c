/* SPDX-License-Identifier: MIT */
/*
 * pulse: PulseAudio through libpulse's threaded mainloop.
 *
 * One pa_context per struct vsnd_audio, shared by its streams. The mainloop
 * thread is the backend's realtime side: the write callback pulls from the
 * ring straight into pa_stream_begin_write()'s buffer, the read callback
 * pushes what pa_stream_peek() hands out. Control calls (open, start, stop,
 * volume) take the mainloop lock and wait for their operation; everything
 * the two sides share below is only touched with that lock held (libpulse
 * holds it while it runs our callbacks), except the ring and the atomics of
 * struct vsnd_audio_stream.
 *
 * Volume: vsnd's linear 0..1.5 is the mixer's scale (v * PA_VOLUME_NORM), as
 * pacat-simple-vchan's "-V percent": --volume 0.5 shows as 50 % in pactl.
 *
 * Server restarts: when the context fails, the streams turn DISCONNECTED and
 * a timer tries a new context every RETRY_USEC (never autospawning a
 * daemon); once it is READY the streams are created again with the corked
 * state and volume they had, and their reconnect counters go up.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pulse/pulseaudio.h>

#include "audio-private.h"
#include "vsnd/clock.h"

VSND_LOG_TOPIC(log_pulse, "audio.pulse");

#define RETRY_USEC (250 * PA_USEC_PER_MSEC)
/* Just below PulseAudio's own default (5) for its device threads. */
#define RT_PRIORITY 4
/* A local server answers in milliseconds; a hung one must not hang us. */
#define CONNECT_TIMEOUT_USEC (1 * PA_USEC_PER_SEC)

struct pulse_stream;

struct pulse_ctx {
	struct vsnd_audio *a;
	pa_threaded_mainloop *ml;
	pa_mainloop_api *api;
	pa_context *ctx;
	pa_time_event *retry;  /* reconnect timer, armed while the server is away */
	pa_time_event *timeout; /* first connection's deadline (init only) */
	struct pulse_stream *streams;
	bool ready;       /* ctx is READY */
	bool was_ready;   /* ctx has been READY once: failures mean "reconnect" */
	bool timed_out;
	_Atomic int rt_error; /* pthread_setschedparam() of the mainloop thread; -1 until it ran */
	bool closing;
	uint32_t attempts; /* reconnection attempts since the loss */
};

struct pulse_stream {
	struct pulse_ctx *pc;
	struct vsnd_audio_stream *s;
	struct pulse_stream *next;
	pa_stream *ps;           /* NULL while the server is away */
	pa_sample_spec spec;
	pa_channel_map map;
	pa_buffer_attr attr;
	uint32_t index;          /* sink input / source output; PA_INVALID_INDEX when none */
	/* Wanted state, applied at every (re)connection. */
	bool corked;
	bool have_volume;        /* cv/muted are to be applied (set by the user or the host) */
	pa_cvolume cv;
	bool muted;
	bool lost;               /* was connected when the server went away: count the reconnect */
	bool setting_volume;     /* our own volume/mute operations are in flight */
	bool volume_pending;     /* set while the stream was connecting: apply once it is ready */
	pa_operation *apply_op;  /* that application's last operation, until it completes */
	uint32_t underflows;     /* server-side underflows, reported at close */
	void *silence;           /* one period of silence for capture holes */
};

struct op_result {
	struct pulse_ctx *pc;
	int success;
};

/* ---- helpers ---- */

static int errno_from_pa(int err)
{
	switch (err) {
	case PA_OK: return 0;
	case PA_ERR_ACCESS: return EACCES;
	case PA_ERR_NOENTITY: return ENOENT;
	case PA_ERR_EXIST: return EEXIST;
	case PA_ERR_INVALID: return EINVAL;
	case PA_ERR_NOTSUPPORTED: return ENOTSUP;
	case PA_ERR_TIMEOUT: return ETIMEDOUT;
	case PA_ERR_CONNECTIONREFUSED: return ECONNREFUSED;
	case PA_ERR_CONNECTIONTERMINATED: return ECONNRESET;
	case PA_ERR_KILLED: return ECONNABORTED;
	case PA_ERR_BADSTATE: return EBADFD;
	case PA_ERR_TOOLARGE: return E2BIG;
	case PA_ERR_BUSY: return EBUSY;
	default: return EIO;
	}
}

static int ctx_errno(struct pulse_ctx *pc)
{
	return pc->ctx ? errno_from_pa(pa_context_errno(pc->ctx)) : ECONNREFUSED;
}

static const char *ctx_strerror(struct pulse_ctx *pc)
{
	return pc->ctx ? pa_strerror(pa_context_errno(pc->ctx)) : "not connected";
}

static pa_sample_format_t pa_format_for(enum vsnd_audio_format f)
{
	switch (f) {
	case VSND_AUDIO_FORMAT_U8: return PA_SAMPLE_U8;
	case VSND_AUDIO_FORMAT_S16: return PA_SAMPLE_S16LE;
	case VSND_AUDIO_FORMAT_S24: return PA_SAMPLE_S24_32LE;
	case VSND_AUDIO_FORMAT_S24_3: return PA_SAMPLE_S24LE;
	case VSND_AUDIO_FORMAT_S32: return PA_SAMPLE_S32LE;
	case VSND_AUDIO_FORMAT_FLOAT: return PA_SAMPLE_FLOAT32LE;
	default: return PA_SAMPLE_INVALID;
	}
}

static pa_channel_position_t pa_position_for(uint8_t pos, uint32_t i)
{
	switch (pos) {
	case VSND_AUDIO_CH_MONO: return PA_CHANNEL_POSITION_MONO;
	case VSND_AUDIO_CH_FL: return PA_CHANNEL_POSITION_FRONT_LEFT;
	case VSND_AUDIO_CH_FR: return PA_CHANNEL_POSITION_FRONT_RIGHT;
	case VSND_AUDIO_CH_FC: return PA_CHANNEL_POSITION_FRONT_CENTER;
	case VSND_AUDIO_CH_LFE: return PA_CHANNEL_POSITION_LFE;
	case VSND_AUDIO_CH_RL: return PA_CHANNEL_POSITION_REAR_LEFT;
	case VSND_AUDIO_CH_RR: return PA_CHANNEL_POSITION_REAR_RIGHT;
	case VSND_AUDIO_CH_SL: return PA_CHANNEL_POSITION_SIDE_LEFT;
	case VSND_AUDIO_CH_SR: return PA_CHANNEL_POSITION_SIDE_RIGHT;
	case VSND_AUDIO_CH_RC: return PA_CHANNEL_POSITION_REAR_CENTER;
	case VSND_AUDIO_CH_FLC: return PA_CHANNEL_POSITION_FRONT_LEFT_OF_CENTER;
	case VSND_AUDIO_CH_FRC: return PA_CHANNEL_POSITION_FRONT_RIGHT_OF_CENTER;
	/* A channel of unknown meaning is still a distinct channel: the server
	 * must not mix it into another one. */
	default: return (pa_channel_position_t)(PA_CHANNEL_POSITION_AUX0 + i);
	}
}

static pa_volume_t pa_volume_for(float v)
{
	double pv = (double)v * PA_VOLUME_NORM + 0.5;
	return pv >= PA_VOLUME_MAX ? PA_VOLUME_MAX : (pa_volume_t)pv;
}

static bool is_playback(const struct pulse_stream *st)
{
	return st->s->params.direction == VSND_AUDIO_PLAYBACK;
}

static bool stream_ready(const struct pulse_stream *st)
{
	return st->ps && pa_stream_get_state(st->ps) == PA_STREAM_READY;
}

static void on_op_state(pa_operation *op, void *data)
{
	struct pulse_ctx *pc = data;
	pa_threaded_mainloop_signal(pc->ml, 0);
}

static void on_success(pa_context *c, int success, void *data)
{
	struct op_result *r = data;
	r->success = success;
	pa_threaded_mainloop_signal(r->pc->ml, 0);
}

static void on_stream_success(pa_stream *p, int success, void *data)
{
	on_success(NULL, success, data);
}

/*
 * Control thread, lock held: wait for @op. A failing context cancels its
 * operations without calling them back, hence the state callback.
 */
static int run_op(struct pulse_ctx *pc, pa_operation *op, struct op_result *r)
{
	if (!op)
		return -ctx_errno(pc);
	pa_operation_set_state_callback(op, on_op_state, pc);
	while (pa_operation_get_state(op) == PA_OPERATION_RUNNING)
		pa_threaded_mainloop_wait(pc->ml);
	bool done = pa_operation_get_state(op) == PA_OPERATION_DONE;
	pa_operation_set_state_callback(op, NULL, NULL);
	pa_operation_unref(op);
	if (!done)
		return -ECONNRESET;
	return r->success ? 0 : -ctx_errno(pc);
}

/* ---- realtime side (mainloop thread) ---- */

static void update_delay(struct pulse_stream *st)
{
	pa_usec_t usec;
	int negative = 0;
	if (pa_stream_get_latency(st->ps, &usec, &negative) < 0)
		return; /* no timing information yet */
	uint64_t frames = negative ? 0 : usec * st->spec.rate / PA_USEC_PER_SEC;
	atomic_store(&st->s->delay_frames, frames > UINT32_MAX ? UINT32_MAX : (uint32_t)frames);
}

/*
 * Fill @nbytes of the server's request from the ring, silence (an underrun)
 * for what the ring lacks: a short write would leave the server starving
 * with nothing to ask for again.
 */
static void write_some(struct pulse_stream *st, size_t nbytes)
{
	struct vsnd_audio_stream *s = st->s;
	size_t fb = s->frame_bytes;

	while (nbytes >= fb) {
		void *buf = NULL;
		size_t len = nbytes;
		if (pa_stream_begin_write(st->ps, &buf, &len) < 0 || !buf)
			break;
		len -= len % fb;
		if (len == 0) {
			pa_stream_cancel_write(st->ps);
			break;
		}
		vsnd_audio_stream_pull(s, buf, (uint32_t)(len / fb), true);
		if (pa_stream_write(st->ps, buf, len, NULL, 0, PA_SEEK_RELATIVE) < 0)
			break;
		nbytes -= len;
	}
	update_delay(st);
}

static void on_write(pa_stream *p, size_t nbytes, void *data)
{
	struct pulse_stream *st = data;
	/* Paused: leave the request pending, start() fills it from the ring. */
	if (st->corked)
		return;
	write_some(st, nbytes);
}

static void on_read(pa_stream *p, size_t nbytes, void *data)
{
	struct pulse_stream *st = data;
	struct vsnd_audio_stream *s = st->s;
	uint32_t fb = s->frame_bytes;
	const void *buf;
	size_t len;

	while (pa_stream_peek(p, &buf, &len) == 0 && len > 0) {
		uint32_t frames = (uint32_t)(len / fb);
		if (buf) {
			vsnd_audio_stream_push(s, buf, frames);
		} else {
			/* A hole: the source had nothing; the ring keeps time with silence. */
			while (frames) {
				uint32_t n = frames < s->params.period_frames ? frames : s->params.period_frames;
				vsnd_audio_stream_push(s, st->silence, n);
				frames -= n;
			}
		}
		pa_stream_drop(p);
	}
	update_delay(st);
}

static void on_underflow(pa_stream *p, void *data)
{
	struct pulse_stream *st = data;
	st->underflows++;
}

/* ---- stream (re)creation, lock held ---- */

static struct pulse_stream *find_stream(struct pulse_ctx *pc, enum vsnd_audio_direction dir,
					uint32_t index)
{
	for (struct pulse_stream *st = pc->streams; st; st = st->next)
		if (st->index == index && st->s->params.direction == dir)
			return st;
	return NULL;
}

static void detach_stream(struct pulse_stream *st)
{
	if (st->apply_op) {
		/* Cancelled, its callback never runs on a stream that is gone. */
		pa_operation_cancel(st->apply_op);
		pa_operation_unref(st->apply_op);
		st->apply_op = NULL;
		st->setting_volume = false;
	}
	if (!st->ps)
		return;
	pa_stream_set_state_callback(st->ps, NULL, NULL);
	pa_stream_set_write_callback(st->ps, NULL, NULL);
	pa_stream_set_read_callback(st->ps, NULL, NULL);
	pa_stream_set_underflow_callback(st->ps, NULL, NULL);
	pa_stream_state_t state = pa_stream_get_state(st->ps);
	if (state == PA_STREAM_READY || state == PA_STREAM_CREATING)
		pa_stream_disconnect(st->ps);
	pa_stream_unref(st->ps);
	st->ps = NULL;
	st->index = PA_INVALID_INDEX;
}

static void on_apply_done(pa_context *c, int success, void *data)
{
	struct pulse_stream *st = data;
	(void)c;
	(void)success;
	pa_operation_unref(st->apply_op);
	st->apply_op = NULL;
	st->setting_volume = false;
}

/*
 * Mainloop thread, stream just ready: set the wanted volume and mute on its
 * sink input / source output. Needed for capture (its volume cannot be
 * passed at connect) and for a volume set while the stream was connecting
 * (the connect carried the one before). Until the server confirmed, a report
 * of the old volume (a reply it wrote before our change) is not the host's
 * choice: setting_volume stays up, as for vsnd_audio_stream_set_volume().
 */
static void apply_volume(struct pulse_stream *st)
{
	pa_context *c = st->pc->ctx;
	pa_operation *op = is_playback(st) ? pa_context_set_sink_input_volume(c, st->index, &st->cv, NULL, NULL)
					   : pa_context_set_source_output_volume(c, st->index, &st->cv, NULL, NULL);
	if (op)
		pa_operation_unref(op);
	/* Answered in order: once the mute is done, so is the volume. */
	op = is_playback(st) ? pa_context_set_sink_input_mute(c, st->index, st->muted, on_apply_done, st)
			     : pa_context_set_source_output_mute(c, st->index, st->muted, on_apply_done, st);
	if (op) {
		st->apply_op = op;
		st->setting_volume = true;
	}
}

static void on_stream_state(pa_stream *p, void *data)
{
	struct pulse_stream *st = data;
	struct pulse_ctx *pc = st->pc;
	struct vsnd_audio_stream *s = st->s;

	switch (pa_stream_get_state(p)) {
	case PA_STREAM_READY:
		st->index = pa_stream_get_index(p);
		if (st->have_volume && (!is_playback(st) || st->volume_pending) && !st->apply_op)
			apply_volume(st);
		st->volume_pending = false;
		if (st->lost) {
			st->lost = false;
			atomic_fetch_add(&s->reconnects, 1);
		}
		vsnd_audio_stream_set_state(s, st->corked ? VSND_AUDIO_STATE_PAUSED
							  : VSND_AUDIO_STATE_RUNNING);
		break;
	case PA_STREAM_FAILED:
	case PA_STREAM_TERMINATED:
		st->index = PA_INVALID_INDEX;
		/* With the server gone the context callback has already made it
		 * DISCONNECTED; a live server refused or killed this stream alone. */
		if (pa_context_get_state(pa_stream_get_context(p)) == PA_CONTEXT_READY)
			vsnd_audio_stream_set_state(s, VSND_AUDIO_STATE_ERROR);
		break;
	default:
		break;
	}
	pa_threaded_mainloop_signal(pc->ml, 0);
}

static int stream_connect(struct pulse_stream *st)
{
	struct pulse_ctx *pc = st->pc;
	struct vsnd_audio_stream *s = st->s;
	const char *vm = s->audio->opts.vm_name;
	const char *dev = s->audio->opts.device;
	int ret;

	pa_proplist *pl = pa_proplist_new();
	if (!pl)
		return -ENOMEM;
	/*
	 * The mixer lists streams by these: one entry, one volume per VM. A
	 * stream's name is its media.name in PulseAudio, so the VM name takes
	 * that place and our stream name ("playback"...) goes to its own key.
	 */
	pa_proplist_sets(pl, PA_PROP_APPLICATION_NAME, vm);
	pa_proplist_sets(pl, PA_PROP_MEDIA_NAME, vm);
	pa_proplist_sets(pl, "vsnd.stream.name", s->name);
	st->ps = pa_stream_new_with_proplist(pc->ctx, NULL, &st->spec, &st->map, pl);
	pa_proplist_free(pl);
	if (!st->ps) {
		ret = -ctx_errno(pc);
		vsnd_error(&log_pulse, "cannot create stream '%s': %s", s->name, ctx_strerror(pc));
		return ret;
	}
	pa_stream_set_state_callback(st->ps, on_stream_state, st);
	if (is_playback(st)) {
		pa_stream_set_write_callback(st->ps, on_write, st);
		pa_stream_set_underflow_callback(st->ps, on_underflow, st);
	} else {
		pa_stream_set_read_callback(st->ps, on_read, st);
	}

	pa_stream_flags_t flags = PA_STREAM_ADJUST_LATENCY | PA_STREAM_AUTO_TIMING_UPDATE |
				  PA_STREAM_INTERPOLATE_TIMING;
	if (st->corked)
		flags |= PA_STREAM_START_CORKED;
	if (st->muted)
		flags |= PA_STREAM_START_MUTED;
	else if (st->have_volume)
		flags |= PA_STREAM_START_UNMUTED;

	st->volume_pending = false; /* the connect carries the wanted volume */
	if (is_playback(st))
		ret = pa_stream_connect_playback(st->ps, dev, &st->attr, flags,
						 st->have_volume ? &st->cv : NULL, NULL);
	else
		ret = pa_stream_connect_record(st->ps, dev, &st->attr, flags);
	if (ret < 0) {
		ret = -ctx_errno(pc);
		vsnd_error(&log_pulse, "cannot connect stream '%s' to %s: %s", s->name,
			   dev ? dev : "the default device", ctx_strerror(pc));
		detach_stream(st);
		return ret;
	}
	return 0;
}

/* ---- context and reconnection, lock held ---- */

static int context_connect(struct pulse_ctx *pc);
static void arm_retry(struct pulse_ctx *pc);

static void drop_context(struct pulse_ctx *pc)
{
	for (struct pulse_stream *st = pc->streams; st; st = st->next)
		detach_stream(st);
	if (!pc->ctx)
		return;
	pa_context_set_state_callback(pc->ctx, NULL, NULL);
	pa_context_set_subscribe_callback(pc->ctx, NULL, NULL);
	pa_context_disconnect(pc->ctx);
	pa_context_unref(pc->ctx);
	pc->ctx = NULL;
	pc->ready = false;
}

static void on_retry(pa_mainloop_api *api, pa_time_event *e, const struct timeval *tv, void *data)
{
	struct pulse_ctx *pc = data;
	drop_context(pc);
	pc->attempts++;
	vsnd_debug(&log_pulse, "reconnection attempt %u", pc->attempts);
	/* A failure the state callback did not see must not end the retries. */
	if (context_connect(pc) < 0)
		arm_retry(pc);
}

static void arm_retry(struct pulse_ctx *pc)
{
	struct timeval tv;
	pa_gettimeofday(&tv);
	pa_timeval_add(&tv, RETRY_USEC);
	if (pc->retry)
		pc->api->time_restart(pc->retry, &tv);
	else
		pc->retry = pc->api->time_new(pc->api, &tv, on_retry, pc);
}

static void report_host_volume(struct pulse_ctx *pc, enum vsnd_audio_direction dir,
			       uint32_t index, const pa_cvolume *cv, bool muted)
{
	struct pulse_stream *st = find_stream(pc, dir, index);
	if (!st || !pa_cvolume_valid(cv))
		return;
	/*
	 * A reply the server wrote before it applied our change still holds the
	 * old volume: taking it as the host's would undo ours. The state after
	 * our change arrives with the change event that follows it.
	 */
	if (st->setting_volume)
		return;
	/*
	 * Nothing new: our own change coming back (the common code already
	 * recorded it), or a stream's first report of the volume it was created
	 * with -- which may reach us just after the user set another, before
	 * the backend took the lock to apply it; taken as the host's choice, it
	 * would overwrite the user's.
	 */
	if (pa_cvolume_equal(cv, &st->cv) && st->muted == muted)
		return;
	st->cv = *cv;
	st->muted = muted;
	st->have_volume = true; /* the host's choice survives a reconnection */
	float v = (float)pa_cvolume_avg(cv) / (float)PA_VOLUME_NORM;
	if (atomic_load(&st->s->volume_milli) != (uint32_t)(v * 1000.0f + 0.5f) ||
	    atomic_load(&st->s->muted) != muted)
		vsnd_debug(&log_pulse, "host set stream '%s' to volume %.3f%s", st->s->name,
			   (double)v, muted ? ", muted" : "");
	vsnd_audio_stream_report_volume(st->s, v, muted);
}

static void on_sink_input_info(pa_context *c, const pa_sink_input_info *i, int eol, void *data)
{
	if (eol || !i)
		return;
	report_host_volume(data, VSND_AUDIO_PLAYBACK, i->index, &i->volume, i->mute);
}

static void on_source_output_info(pa_context *c, const pa_source_output_info *i, int eol,
				  void *data)
{
	if (eol || !i || !i->has_volume)
		return;
	report_host_volume(data, VSND_AUDIO_CAPTURE, i->index, &i->volume, i->mute);
}

static void on_subscribe(pa_context *c, pa_subscription_event_type_t t, uint32_t index, void *data)
{
	struct pulse_ctx *pc = data;
	pa_operation *op = NULL;

	if ((t & PA_SUBSCRIPTION_EVENT_TYPE_MASK) != PA_SUBSCRIPTION_EVENT_CHANGE)
		return;
	switch (t & PA_SUBSCRIPTION_EVENT_FACILITY_MASK) {
	case PA_SUBSCRIPTION_EVENT_SINK_INPUT:
		if (find_stream(pc, VSND_AUDIO_PLAYBACK, index))
			op = pa_context_get_sink_input_info(c, index, on_sink_input_info, pc);
		break;
	case PA_SUBSCRIPTION_EVENT_SOURCE_OUTPUT:
		if (find_stream(pc, VSND_AUDIO_CAPTURE, index))
			op = pa_context_get_source_output_info(c, index, on_source_output_info, pc);
		break;
	default:
		break;
	}
	if (op)
		pa_operation_unref(op);
}

static void on_context_ready(struct pulse_ctx *pc)
{
	pc->ready = true;
	pa_context_set_subscribe_callback(pc->ctx, on_subscribe, pc);
	pa_operation *op = pa_context_subscribe(pc->ctx,
						PA_SUBSCRIPTION_MASK_SINK_INPUT |
						PA_SUBSCRIPTION_MASK_SOURCE_OUTPUT, NULL, NULL);
	if (op)
		pa_operation_unref(op);
	if (pc->was_ready)
		vsnd_info(&log_pulse, "reconnected to %s after %u attempts",
			  pa_context_get_server(pc->ctx), pc->attempts);
	pc->was_ready = true;
	pc->attempts = 0;
	for (struct pulse_stream *st = pc->streams; st; st = st->next)
		if (!st->ps && stream_connect(st) < 0)
			vsnd_audio_stream_set_state(st->s, VSND_AUDIO_STATE_ERROR);
}

static void on_context_state(pa_context *c, void *data)
{
	struct pulse_ctx *pc = data;

	switch (pa_context_get_state(c)) {
	case PA_CONTEXT_READY:
		on_context_ready(pc);
		break;
	case PA_CONTEXT_FAILED:
	case PA_CONTEXT_TERMINATED:
		/* The first connection's failure is init()'s to report. */
		if (pc->closing || !pc->was_ready)
			break;
		if (pc->ready) {
			vsnd_warn(&log_pulse, "lost the PulseAudio server: %s; retrying every %u ms",
				  pa_strerror(pa_context_errno(c)),
				  (unsigned)(RETRY_USEC / PA_USEC_PER_MSEC));
			for (struct pulse_stream *st = pc->streams; st; st = st->next) {
				if (st->ps)
					st->lost = true;
				atomic_store(&st->s->delay_frames, 0);
				vsnd_audio_stream_set_state(st->s, VSND_AUDIO_STATE_DISCONNECTED);
			}
		}
		pc->ready = false;
		/* Not from within the dying context's callback: the timer drops it. */
		arm_retry(pc);
		break;
	default:
		break;
	}
	pa_threaded_mainloop_signal(pc->ml, 0);
}

static int context_connect(struct pulse_ctx *pc)
{
	pa_proplist *pl = pa_proplist_new();
	if (!pl)
		return -ENOMEM;
	pa_proplist_sets(pl, PA_PROP_APPLICATION_NAME, pc->a->opts.vm_name);
	pa_proplist_sets(pl, PA_PROP_APPLICATION_ID, "org.vsnd");
	pc->ctx = pa_context_new_with_proplist(pc->api, pc->a->opts.vm_name, pl);
	pa_proplist_free(pl);
	if (!pc->ctx)
		return -ENOMEM;
	pa_context_set_state_callback(pc->ctx, on_context_state, pc);
	/* NOAUTOSPAWN: a daemon of ours would outlive us and hide the real server. */
	if (pa_context_connect(pc->ctx, NULL, PA_CONTEXT_NOAUTOSPAWN, NULL) < 0) {
		int ret = -ctx_errno(pc);
		/* The state callback already armed the retry if one is due. */
		return ret;
	}
	return 0;
}

/* ---- backend ---- */

static int pulse_probe(const struct vsnd_audio_opts *opts)
{
	int ret = -ENOMEM;
	pa_mainloop *m = pa_mainloop_new();
	if (!m)
		return -ENOMEM;
	pa_context *c = pa_context_new(pa_mainloop_get_api(m), "vsnd-probe");
	if (!c)
		goto err_loop;
	ret = -ECONNREFUSED;
	if (pa_context_connect(c, NULL, PA_CONTEXT_NOAUTOSPAWN, NULL) < 0)
		goto err_ctx;
	uint64_t deadline = vsnd_now_ns() + CONNECT_TIMEOUT_USEC * 1000;
	for (;;) {
		pa_context_state_t state = pa_context_get_state(c);
		if (state == PA_CONTEXT_READY) {
			ret = 0;
			break;
		}
		if (!PA_CONTEXT_IS_GOOD(state))
			break;
		uint64_t now = vsnd_now_ns();
		if (now >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		if (pa_mainloop_prepare(m, (int)((deadline - now) / 1000)) < 0 ||
		    pa_mainloop_poll(m) < 0 || pa_mainloop_dispatch(m) < 0)
			break;
	}
	pa_context_disconnect(c);
err_ctx:
	pa_context_unref(c);
err_loop:
	pa_mainloop_free(m);
	return ret;
}

/*
 * In the mainloop thread: it answers the server's requests with a period
 * or two of margin, which SCHED_OTHER next to a busy compiler does not
 * keep. Where the system refuses (no CAP_SYS_NICE, no RLIMIT_RTPRIO) we
 * run as before; rtkit is the desktop's business.
 */
static void make_realtime(pa_threaded_mainloop *m, void *data)
{
	struct pulse_ctx *pc = data;
	struct sched_param sp = { .sched_priority = RT_PRIORITY };
	int ret = pthread_setschedparam(pthread_self(), SCHED_RR | SCHED_RESET_ON_FORK, &sp);
	atomic_store(&pc->rt_error, ret);
}

static void on_connect_timeout(pa_mainloop_api *api, pa_time_event *e, const struct timeval *tv,
			       void *data)
{
	struct pulse_ctx *pc = data;
	pc->timed_out = true;
	pa_threaded_mainloop_signal(pc->ml, 0);
}

static int pulse_init(struct vsnd_audio *a)
{
	int ret = -ENOMEM;
	struct pulse_ctx *pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	pc->a = a;
	pc->ml = pa_threaded_mainloop_new();
	if (!pc->ml)
		goto err_free;
	pc->api = pa_threaded_mainloop_get_api(pc->ml);
	pa_threaded_mainloop_set_name(pc->ml, "vsnd-pulse");

	ret = context_connect(pc);
	if (ret < 0) {
		vsnd_error(&log_pulse, "cannot connect to the PulseAudio server: %s", ctx_strerror(pc));
		goto err_ctx;
	}
	struct timeval tv;
	pa_gettimeofday(&tv);
	pa_timeval_add(&tv, CONNECT_TIMEOUT_USEC);
	pc->timeout = pc->api->time_new(pc->api, &tv, on_connect_timeout, pc);
	if (pa_threaded_mainloop_start(pc->ml) < 0) {
		ret = -EIO;
		vsnd_error(&log_pulse, "cannot start the PulseAudio mainloop thread");
		goto err_ctx;
	}

	/*
	 * With the lock held: once_unlocked() creates a defer event and then
	 * sets its destroy callback, and a running loop thread could run and
	 * free the event in between (libpulse aborts: "Assertion '!e->dead'
	 * failed", seen in CI). The callback itself runs later, unlocked.
	 */
	atomic_store(&pc->rt_error, -1);
	pa_threaded_mainloop_lock(pc->ml);
	pa_threaded_mainloop_once_unlocked(pc->ml, make_realtime, pc);
	pa_context_state_t state;
	while (!pc->timed_out) {
		state = pa_context_get_state(pc->ctx);
		if (state == PA_CONTEXT_READY || !PA_CONTEXT_IS_GOOD(state))
			break;
		pa_threaded_mainloop_wait(pc->ml);
	}
	state = pa_context_get_state(pc->ctx);
	int rt_error = atomic_load(&pc->rt_error);
	if (rt_error > 0)
		vsnd_debug(&log_pulse, "no realtime priority for the mainloop thread: %s", strerror(rt_error));
	if (pc->timeout) {
		pc->api->time_free(pc->timeout);
		pc->timeout = NULL;
	}
	if (state != PA_CONTEXT_READY) {
		ret = pc->timed_out ? -ETIMEDOUT : -ECONNREFUSED;
		vsnd_error(&log_pulse, "cannot connect to the PulseAudio server: %s",
			   pc->timed_out ? "no answer within 1 s" : ctx_strerror(pc));
		pc->closing = true;
		drop_context(pc);
		pa_threaded_mainloop_unlock(pc->ml);
		pa_threaded_mainloop_stop(pc->ml);
		goto err_loop;
	}
	snprintf(a->describe, sizeof(a->describe), "PulseAudio server %s (protocol %u), %s %s",
		 pa_context_get_server(pc->ctx), pa_context_get_server_protocol_version(pc->ctx),
		 a->opts.device ? "device" : "the", a->opts.device ? a->opts.device : "default device");
	a->priv = pc;
	pa_threaded_mainloop_unlock(pc->ml);
	return 0;

err_ctx:
	if (pc->timeout)
		pc->api->time_free(pc->timeout);
	pc->closing = true;
	drop_context(pc);
err_loop:
	pa_threaded_mainloop_free(pc->ml);
err_free:
	free(pc);
	return ret;
}

static void pulse_finish(struct vsnd_audio *a)
{
	struct pulse_ctx *pc = a->priv;
	if (!pc)
		return;
	pa_threaded_mainloop_lock(pc->ml);
	pc->closing = true;
	if (pc->retry) {
		pc->api->time_free(pc->retry);
		pc->retry = NULL;
	}
	drop_context(pc);
	pa_threaded_mainloop_unlock(pc->ml);
	pa_threaded_mainloop_stop(pc->ml);
	pa_threaded_mainloop_free(pc->ml);
	free(pc);
	a->priv = NULL;
}

static int pulse_get_caps(struct vsnd_audio *a, enum vsnd_audio_direction dir,
			  struct vsnd_audio_caps *caps)
{
	vsnd_audio_caps_all(caps);
	if (caps->rate_max > PA_RATE_MAX)
		caps->rate_max = PA_RATE_MAX;
	return 0;
}

/* Sample spec, channel map and buffer sizes from the params. Returns 0 or -EINVAL. */
static int stream_setup(struct pulse_stream *st)
{
	const struct vsnd_audio_params *p = &st->s->params;
	char name[PA_SAMPLE_SPEC_SNPRINT_MAX];

	st->spec.format = pa_format_for(p->format);
	st->spec.rate = p->rate;
	st->spec.channels = (uint8_t)p->channels;
	if (!pa_sample_spec_valid(&st->spec)) {
		vsnd_error(&log_pulse, "stream '%s': no PulseAudio sample spec for %s %u Hz %u ch",
			   st->s->name, vsnd_audio_format_name(p->format), p->rate, p->channels);
		return -EINVAL;
	}
	pa_channel_map_init(&st->map);
	st->map.channels = (uint8_t)p->channels;
	for (uint32_t i = 0; i < p->channels; i++)
		st->map.map[i] = pa_position_for(p->positions[i], i);
	if (!pa_channel_map_valid(&st->map) || !pa_channel_map_compatible(&st->map, &st->spec)) {
		vsnd_error(&log_pulse, "stream '%s': invalid channel map", st->s->name);
		return -EINVAL;
	}

	uint64_t period = (uint64_t)p->period_frames * st->s->frame_bytes;
	/* pa_buffer_attr is 32-bit; the server's own limit (4 MiB) is far below. */
	if (period == 0 || period * 8 > UINT32_MAX) {
		vsnd_error(&log_pulse, "stream '%s': period of %u frames is too large", st->s->name,
			   p->period_frames);
		return -EINVAL;
	}
	uint32_t pb = (uint32_t)period;
	if (p->direction == VSND_AUDIO_PLAYBACK) {
		/* Two periods in flight, asked for one at a time; prebuf of one
		 * period so a server-side underrun resumes without skipping. */
		st->attr = (pa_buffer_attr){
			.maxlength = 4 * pb,
			.tlength = 2 * pb,
			.prebuf = pb,
			.minreq = pb,
			.fragsize = (uint32_t)-1,
		};
	} else {
		st->attr = (pa_buffer_attr){
			.maxlength = 8 * pb,
			.tlength = (uint32_t)-1,
			.prebuf = (uint32_t)-1,
			.minreq = (uint32_t)-1,
			.fragsize = pb,
		};
	}
	vsnd_debug(&log_pulse, "stream '%s': %s, period %u bytes",
		   st->s->name, pa_sample_spec_snprint(name, sizeof(name), &st->spec), pb);
	return 0;
}

static void log_buffer_attr(struct pulse_stream *st)
{
	const pa_buffer_attr *ba = pa_stream_get_buffer_attr(st->ps);
	if (!ba)
		return;
	vsnd_debug(&log_pulse, "stream '%s' #%u on %s: maxlength %u tlength %u prebuf %u minreq %u fragsize %u",
		   st->s->name, st->index, pa_stream_get_device_name(st->ps), ba->maxlength,
		   ba->tlength, ba->prebuf, ba->minreq, ba->fragsize);
}

static void unlink_stream(struct pulse_ctx *pc, struct pulse_stream *st)
{
	for (struct pulse_stream **pp = &pc->streams; *pp; pp = &(*pp)->next) {
		if (*pp == st) {
			*pp = st->next;
			break;
		}
	}
}

static int pulse_stream_open(struct vsnd_audio_stream *s)
{
	struct pulse_ctx *pc = s->audio->priv;
	const struct vsnd_audio_params *p = &s->params;
	int ret;

	struct pulse_stream *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->pc = pc;
	st->s = s;
	st->index = PA_INVALID_INDEX;
	st->corked = true;
	st->muted = p->muted;
	st->have_volume = p->volume >= 0;
	ret = stream_setup(st);
	if (ret < 0)
		goto err_free;
	pa_cvolume_set(&st->cv, st->spec.channels, pa_volume_for(st->have_volume ? p->volume : 1.0f));
	if (p->direction == VSND_AUDIO_CAPTURE) {
		st->silence = malloc((size_t)p->period_frames * s->frame_bytes);
		if (!st->silence) {
			ret = -ENOMEM;
			goto err_free;
		}
		vsnd_audio_fill_silence(p->format, p->channels, st->silence, p->period_frames);
	}

	pa_threaded_mainloop_lock(pc->ml);
	st->next = pc->streams;
	pc->streams = st;
	s->priv = st;
	if (!pc->ready) {
		/* Between a server's death and its return: open now, connect then. */
		vsnd_warn(&log_pulse, "stream '%s' waits for the PulseAudio server to return", s->name);
		vsnd_audio_stream_set_state(s, VSND_AUDIO_STATE_DISCONNECTED);
		pa_threaded_mainloop_unlock(pc->ml);
		return 0;
	}
	ret = stream_connect(st);
	if (ret < 0)
		goto err_unlink;
	while (st->ps && pa_stream_get_state(st->ps) == PA_STREAM_CREATING)
		pa_threaded_mainloop_wait(pc->ml);
	if (stream_ready(st)) {
		log_buffer_attr(st);
	} else if (pc->ready) {
		ret = -ctx_errno(pc);
		vsnd_error(&log_pulse, "%s stream '%s' refused by %s: %s",
			   p->direction == VSND_AUDIO_PLAYBACK ? "playback" : "capture", s->name,
			   s->audio->opts.device ? s->audio->opts.device : "the default device",
			   ctx_strerror(pc));
		goto err_unlink;
	}
	/* else the server went away meanwhile: DISCONNECTED, created on its return */
	pa_threaded_mainloop_unlock(pc->ml);
	return 0;

err_unlink:
	detach_stream(st);
	unlink_stream(pc, st);
	s->priv = NULL;
	pa_threaded_mainloop_unlock(pc->ml);
err_free:
	free(st->silence);
	free(st);
	return ret;
}

static void pulse_stream_close(struct vsnd_audio_stream *s)
{
	struct pulse_stream *st = s->priv;
	if (!st)
		return;
	struct pulse_ctx *pc = st->pc;
	pa_threaded_mainloop_lock(pc->ml);
	detach_stream(st);
	unlink_stream(pc, st);
	pa_threaded_mainloop_unlock(pc->ml);
	if (st->underflows)
		vsnd_info(&log_pulse, "stream '%s': the server ran dry %u times", s->name,
			  st->underflows);
	free(st->silence);
	free(st);
	s->priv = NULL;
}

static int set_corked(struct vsnd_audio_stream *s, bool cork)
{
	struct pulse_stream *st = s->priv;
	struct pulse_ctx *pc = st->pc;
	struct op_result r = { .pc = pc };
	int ret = 0;

	pa_threaded_mainloop_lock(pc->ml);
	if (atomic_load(&s->state) == VSND_AUDIO_STATE_ERROR) {
		vsnd_error(&log_pulse, "stream '%s' failed; close it", s->name);
		ret = -EIO;
		goto out;
	}
	st->corked = cork;
	/* Without a server the wish is kept for the reconnection. */
	if (!stream_ready(st))
		goto out;
	/* The requests seen while corked were left pending: fill them first. */
	if (!cork && is_playback(st))
		write_some(st, pa_stream_writable_size(st->ps));
	ret = run_op(pc, pa_stream_cork(st->ps, cork, on_stream_success, &r), &r);
	if (ret < 0) {
		vsnd_error(&log_pulse, "cannot %s stream '%s': %s", cork ? "stop" : "start", s->name,
			   strerror(-ret));
		goto out;
	}
	vsnd_audio_stream_set_state(s, cork ? VSND_AUDIO_STATE_PAUSED : VSND_AUDIO_STATE_RUNNING);
out:
	pa_threaded_mainloop_unlock(pc->ml);
	return ret;
}

static int pulse_stream_start(struct vsnd_audio_stream *s)
{
	return set_corked(s, false);
}

static int pulse_stream_stop(struct vsnd_audio_stream *s)
{
	return set_corked(s, true);
}

static int pulse_stream_set_volume(struct vsnd_audio_stream *s, float volume, bool muted)
{
	struct pulse_stream *st = s->priv;
	struct pulse_ctx *pc = st->pc;
	struct op_result r = { .pc = pc };
	pa_operation *op;
	int ret = 0;

	pa_threaded_mainloop_lock(pc->ml);
	st->have_volume = true;
	pa_cvolume_set(&st->cv, st->spec.channels, pa_volume_for(volume));
	st->muted = muted;
	if (!stream_ready(st) || !pc->ready) {
		/* Applied when the stream is ready (connecting now) or created again. */
		st->volume_pending = true;
		goto out;
	}
	st->setting_volume = true;
	if (is_playback(st))
		op = pa_context_set_sink_input_volume(pc->ctx, st->index, &st->cv, on_success, &r);
	else
		op = pa_context_set_source_output_volume(pc->ctx, st->index, &st->cv, on_success, &r);
	ret = run_op(pc, op, &r);
	if (ret == 0) {
		if (is_playback(st))
			op = pa_context_set_sink_input_mute(pc->ctx, st->index, muted, on_success, &r);
		else
			op = pa_context_set_source_output_mute(pc->ctx, st->index, muted, on_success, &r);
		ret = run_op(pc, op, &r);
	}
	st->setting_volume = st->apply_op != NULL; /* a ready-time application may still be in flight */
	if (ret < 0)
		vsnd_error(&log_pulse, "cannot set volume %.3f%s on stream '%s': %s", (double)volume,
			   muted ? " (muted)" : "", s->name, strerror(-ret));
out:
	pa_threaded_mainloop_unlock(pc->ml);
	return ret;
}

const struct vsnd_audio_ops vsnd_audio_pulse_ops = {
	.name = "pulse",
	.probe = pulse_probe,
	.init = pulse_init,
	.finish = pulse_finish,
	.get_caps = pulse_get_caps,
	.stream_open = pulse_stream_open,
	.stream_close = pulse_stream_close,
	.stream_start = pulse_stream_start,
	.stream_stop = pulse_stream_stop,
	.stream_set_volume = pulse_stream_set_volume,
};
