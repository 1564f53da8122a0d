/* SPDX-License-Identifier: MIT */
/*
 * The agent's PipeWire side: one pw_stream per direction, shown as an
 * Audio/Sink and an Audio/Source node (the stream's adapter converts whatever
 * the graph runs at to the protocol's fixed S16LE 44.1 kHz stereo).
 *
 * The process callbacks run on the data thread. Each measures the frames
 * queued on its path (ring + vchan), feeds the error against the target to a
 * DLL, and sets the resampler's rate from it (adaptive resampling through
 * spa_io_rate_match): the sink then consumes exactly as fast as the host
 * drains the vchan, the source produces as fast as the host's microphone
 * data arrives, and the queue neither grows nor runs dry.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spa/param/audio/format-utils.h>
#include <spa/param/latency-utils.h>
#include <spa/pod/builder.h>

#include "agent-private.h"
#include "vsnd/parse.h"

struct vsnd_log_topic qubes_agent_log = VSND_LOG_TOPIC_INIT("qubes.agent");


void qubes_agent_config_defaults(struct qubes_agent_config *c)
{
	memset(c, 0, sizeof(*c));
	c->domid = -1;
	/*
	 * vsnd-qubes reads the vchan just in time, a 5 ms period at once: the
	 * queue must hold what the host reads before our next cycle (one
	 * period within a 2.9 ms quantum) and a margin for a late cycle; 10 ms
	 * leaves 5 ms to spare right after each read. A host that reads more at
	 * once raises it (sink_target). The microphone arrives a host period
	 * at a time; 10 ms is two of them.
	 */
	c->target_frames = 441;
	c->rec_target_frames = 441;
	/*
	 * The target, no more: vsnd-qubes takes a period of it before its
	 * stream runs and the rest is there for its first just-in-time reads;
	 * more would stay as latency until the rate control drains it.
	 */
	c->prefill_frames = 441;
	/* Shorter than a host period (2.9 vs 5 ms): at most one host read falls between two cycles. */
	c->quantum_frames = 128;
	c->play_vchan_bytes = 8192;
	c->rec_vchan_bytes = 8192;
	c->sink_name = "vsnd-qubes-sink";
	c->sink_desc = "Qubes speakers (vsnd)";
	c->source_name = "vsnd-qubes-source";
	c->source_desc = "Qubes microphone (vsnd)";
}

/* A duration option in ms (@min..500), kept as frames at the protocol's rate. */
static int set_ms(const char *value, double min, uint32_t *frames)
{
	double ms;
	if (!vsnd_parse_double(value, min, 500.0, &ms))
		return -EINVAL;
	*frames = (uint32_t)lround(ms * QUBES_AUDIO_RATE / 1000.0);
	return 0;
}

int qubes_agent_config_set(struct qubes_agent_config *c, const char *key, const char *value)
{
	long v;
	if (!key || !value)
		return -EINVAL;
	if (!strcmp(key, "domid")) {
		int domid = qubes_domid_parse(value);
		if (domid < 0)
			return -EINVAL;
		c->domid = domid;
	} else if (!strcmp(key, "domid-store")) {
		c->domid_store = value;
	} else if (!strcmp(key, "target-ms")) {
		return set_ms(value, 1.0, &c->target_frames);
	} else if (!strcmp(key, "record-target-ms")) {
		return set_ms(value, 1.0, &c->rec_target_frames);
	} else if (!strcmp(key, "prefill-ms")) {
		return set_ms(value, 0.0, &c->prefill_frames);
	} else if (!strcmp(key, "quantum")) {
		if (!vsnd_parse_long(value, 16, 8192, &v))
			return -EINVAL;
		c->quantum_frames = (uint32_t)v;
	} else if (!strcmp(key, "playback-vchan-bytes") || !strcmp(key, "record-vchan-bytes")) {
		if (!vsnd_parse_long(value, 1024, 1 << 20, &v))
			return -EINVAL;
		*(key[0] == 'p' ? &c->play_vchan_bytes : &c->rec_vchan_bytes) = (uint32_t)v;
	} else if (!strcmp(key, "sink-name")) {
		c->sink_name = value;
	} else if (!strcmp(key, "sink-description")) {
		c->sink_desc = value;
	} else if (!strcmp(key, "status-file")) {
		if (!*value)
			return -EINVAL;
		c->status_file = value;
	} else if (!strcmp(key, "source-name")) {
		c->source_name = value;
	} else if (!strcmp(key, "source-description")) {
		c->source_desc = value;
	} else {
		return -ENOENT;
	}
	return 0;
}

/* ---- data thread ---- */

static void update_rate(struct agent_dir *d, uint32_t queued, uint32_t target)
{
	struct spa_io_rate_match *rm = d->rate_match;
	atomic_store_explicit(&d->fill, queued, memory_order_relaxed);
	if (!rm)
		return;
	if (!atomic_load_explicit(&d->linked, memory_order_acquire)) {
		/* No host to follow: run at the nominal rate and start afresh next time. */
		SPA_FLAG_CLEAR(rm->flags, SPA_IO_RATE_MATCH_FLAG_ACTIVE);
		rm->rate = 1.0;
		qubes_rate_reset(&d->rc);
		atomic_store_explicit(&d->rate, 1.0, memory_order_relaxed);
		return;
	}
	/*
	 * c > 1: too little queued. The resampler's rate is output frames per
	 * input frame, for both directions: the sink then gets more of the
	 * graph's frames per cycle, the source is asked fewer of ours. (1 / c
	 * for the source, as it once was, steered its queue the wrong way.)
	 */
	atomic_store_explicit(&d->target_now, target, memory_order_relaxed);
	double c = qubes_rate_update(&d->rc, queued, target, d->agent->cfg.quantum_frames,
				     QUBES_AUDIO_RATE);
	SPA_FLAG_SET(rm->flags, SPA_IO_RATE_MATCH_FLAG_ACTIVE);
	rm->rate = c;
	atomic_store_explicit(&d->rate, c, memory_order_relaxed);
}

/*
 * Start of playback: queue the path's expected depth as silence at once.
 * Built up by the rate control instead, it would stretch the first seconds
 * of the audio (by up to 1 %) until the queue is there.
 */
static uint32_t prefill(struct agent_dir *d, uint32_t frames)
{
	struct vsnd_ring_area ar[2];
	uint32_t n = vsnd_ring_write_begin(&d->ring, ar, frames);
	for (int i = 0; i < 2; i++)
		if (ar[i].frames)
			memset(ar[i].data, 0, (size_t)ar[i].frames * QUBES_AUDIO_FRAME_BYTES);
	vsnd_ring_write_commit(&d->ring, n);
	return n;
}

/*
 * The playback target: the configured one, or a read and a half of the
 * host's if that is more. vsnd-qubes reads the vchan just in time, a host
 * period at once, so the queue saw-tooths by a period around its average:
 * a host with 20 ms periods (or pacat-simple-vchan's larger requests) needs
 * more than the 10 ms default holds. The read size is what left the queue
 * between two of our cycles, averaged over ~16 reads: a large first take at
 * a start (a host's initial request, the leading silence vsnd-qubes skips)
 * raises it for a moment only.
 */
static uint32_t sink_target(struct agent_dir *d, uint32_t queued, bool linked)
{
	if (!linked) {
		d->host_read = 0; /* the next host may read otherwise */
		d->last_after = 0;
		return d->target;
	}
	if (d->last_after > queued) {
		double took = d->last_after - queued;
		d->host_read = d->host_read > 0 ? d->host_read + (took - d->host_read) / 16.0 : took;
	}
	uint32_t want = (uint32_t)(1.5 * d->host_read);
	return want > d->target ? want : d->target;
}

static void sink_process(void *data)
{
	struct agent_dir *d = data;
	struct pw_buffer *b = pw_stream_dequeue_buffer(d->stream);
	if (!b)
		return;
	struct spa_data *sd = &b->buffer->datas[0];
	uint32_t off = SPA_MIN(sd->chunk->offset, sd->maxsize);
	uint32_t size = SPA_MIN(sd->chunk->size, sd->maxsize - off);
	uint32_t frames = size / QUBES_AUDIO_FRAME_BYTES;
	/*
	 * This thread writes the vchan itself when it can: no hand-over to the
	 * main loop (a wake-up and a context switch per cycle), and the queue
	 * it measures is the one the host reads from now, not as of our last
	 * send.
	 */
	uint32_t in_vchan, space = 0;
	bool own = agent_play_rt_begin(d, &in_vchan, &space);
	if (!own)
		in_vchan = atomic_load_explicit(&d->vchan_frames, memory_order_relaxed);
	uint32_t queued = vsnd_ring_readable(&d->ring) + in_vchan;

	bool linked = atomic_load_explicit(&d->linked, memory_order_acquire);
	uint32_t target = sink_target(d, queued, linked);
	const struct qubes_agent_config *c = &d->agent->cfg;
	uint32_t start = SPA_MAX(c->prefill_frames, target), prefilled = 0;
	if (linked && atomic_exchange_explicit(&d->flush, false, memory_order_acq_rel) && queued < start) {
		prefilled = prefill(d, start - queued);
	} else if (linked && d->host_read > 0 && queued == 0) {
		/*
		 * The host read the queue dry (it reads a period at once, so an
		 * empty queue means a read found less than it wanted): this graph
		 * stalled for longer than the margin, and there is a gap already.
		 * A low queue alone is no sign: right after a host read it is
		 * normally down to ~6 ms. Restore the margin with silence at once:
		 * rebuilt by the rate control, the queue would stay near empty for
		 * seconds, and each host read that finds less than its period
		 * would be another gap (a crackle, not one gap). Refilled to
		 * where it stands right after a read, not to its average.
		 */
		prefilled = prefill(d, qubes_rate_reprime(target, d->host_read, frames));
		qubes_rate_resume(&d->rc, target);
		atomic_fetch_add_explicit(&d->reprimes, 1, memory_order_relaxed);
	}
	/*
	 * A host that stopped taking audio (its sound server starting slowly,
	 * a stall): past this much, a cycle is dropped rather than queued, so
	 * the latency stays bounded. The rate control handles drift and the
	 * slack up to the limit (twice the expected depth: hosts with longer
	 * periods than the prefill assumes stay well inside it).
	 */
	bool backlog = queued > 2 * (c->prefill_frames + target) + 4 * c->quantum_frames;
	uint32_t put = 0;
	if (sd->data && linked && !backlog)
		put = vsnd_ring_write(&d->ring, SPA_PTROFF(sd->data, off, void), frames);
	atomic_fetch_add_explicit(&d->frames, put, memory_order_relaxed);
	if (put < frames)
		atomic_fetch_add_explicit(&d->dropped, frames - put, memory_order_relaxed);
	/*
	 * The rate control sees the queue as it stands after this cycle's
	 * frames went in: the host takes a period at once, and right before
	 * its read this is what it will find.
	 */
	d->last_after = queued + prefilled + put;
	update_rate(d, d->last_after, target);
	bool sent = own && agent_play_rt_end(d, space);
	pw_stream_queue_buffer(d->stream, b);
	if (!sent && (put || prefilled))
		pw_loop_signal_event(d->agent->loop, d->wake);
}

static void source_process(void *data)
{
	struct agent_dir *d = data;
	struct pw_buffer *b = pw_stream_dequeue_buffer(d->stream);
	if (!b)
		return;
	struct spa_data *sd = &b->buffer->datas[0];
	if (!sd->data) {
		pw_stream_queue_buffer(d->stream, b);
		return;
	}
	uint32_t max = sd->maxsize / QUBES_AUDIO_FRAME_BYTES;
	uint32_t want = b->requested ? (uint32_t)SPA_MIN(b->requested, (uint64_t)max) : max;
	if (atomic_exchange_explicit(&d->flush, false, memory_order_acq_rel))
		vsnd_ring_skip(&d->ring, vsnd_ring_readable(&d->ring));
	/* What the host sent since the last cycle, read here: no hand-over through the main loop. */
	agent_rec_rt_pull(d);
	uint32_t queued = vsnd_ring_readable(&d->ring) +
			  atomic_load_explicit(&d->vchan_frames, memory_order_relaxed);
	/*
	 * A stall of this graph leaves what the host recorded meanwhile queued
	 * (65 ms once here). The rate control drains a backlog losslessly, but
	 * at 5 ms a second: past the limit (as for the sink: twice the target
	 * and four cycles) that would be seconds of a call running late, so the
	 * excess is dropped at once down to the target, whole frames, counted
	 * (rec_dropped): one jump in the recording instead. The rate control
	 * then averages from there, as after a re-prime of the sink.
	 */
	if (queued > 2 * d->target + 4 * d->agent->cfg.quantum_frames) {
		uint32_t cut = vsnd_ring_skip(&d->ring, queued - d->target);
		queued -= cut;
		atomic_fetch_add_explicit(&d->dropped, cut, memory_order_relaxed);
		qubes_rate_resume(&d->rc, queued);
	}

	update_rate(d, queued, d->target);
	/*
	 * Start (and restart after an underrun) only once the target is
	 * queued: the host delivers a period at a time, so starting on the
	 * first bytes would run dry before its next period.
	 */
	if (!d->primed && queued >= d->target)
		d->primed = true;
	uint32_t got = d->primed ? vsnd_ring_read(&d->ring, sd->data, want) : 0;
	if (got < want) {
		/* Underrun (or no host, or not allowed): silence, never stale or uninitialised bytes. */
		memset((uint8_t *)sd->data + (size_t)got * QUBES_AUDIO_FRAME_BYTES, 0,
		       (size_t)(want - got) * QUBES_AUDIO_FRAME_BYTES);
		if (d->primed) {
			atomic_fetch_add_explicit(&d->silence, want - got, memory_order_relaxed);
			atomic_fetch_add_explicit(&d->reprimes, 1, memory_order_relaxed);
			d->primed = false;
		}
	}
	atomic_fetch_add_explicit(&d->frames, got, memory_order_relaxed);
	sd->chunk->offset = 0;
	sd->chunk->stride = QUBES_AUDIO_FRAME_BYTES;
	sd->chunk->size = want * QUBES_AUDIO_FRAME_BYTES;
	pw_stream_queue_buffer(d->stream, b);
}

/* ---- main loop ---- */

static void on_io_changed(void *data, uint32_t id, void *area, uint32_t size)
{
	struct agent_dir *d = data;
	if (id == SPA_IO_RateMatch)
		d->rate_match = size >= sizeof(struct spa_io_rate_match) ? area : NULL;
}

static void on_state_changed(void *data, enum pw_stream_state old, enum pw_stream_state state,
			     const char *error)
{
	struct agent_dir *d = data;
	(void)old;
	if (state == PW_STREAM_STATE_ERROR)
		vsnd_error(&qubes_agent_log, "%s node: %s", d->what, error ? error : "error");
	bool running = state == PW_STREAM_STATE_STREAMING;
	if (running == d->running)
		return;
	d->running = running;
	vsnd_info(&qubes_agent_log, "%s node %s", d->what, running ? "running" : "idle");
	/* Record: the next consumer must not hear old audio. Playback: prefill on the next cycle. */
	if (d->playback == running)
		atomic_store(&d->flush, true);
	agent_link_running(d->agent);
}

static const struct pw_stream_events sink_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = on_state_changed,
	.io_changed = on_io_changed,
	.process = sink_process,
};

static const struct pw_stream_events source_events = {
	PW_VERSION_STREAM_EVENTS,
	.state_changed = on_state_changed,
	.io_changed = on_io_changed,
	.process = source_process,
};

static void on_wake(void *data, uint64_t count)
{
	(void)count;
	agent_link_wake(data);
}

static int dir_init(struct qubes_agent *a, struct agent_dir *d, bool playback)
{
	const struct qubes_agent_config *c = &a->cfg;
	d->agent = a;
	d->playback = playback;
	d->what = playback ? "playback" : "record";
	d->target = playback ? c->target_frames : c->rec_target_frames;
	atomic_store(&d->rate, 1.0);
	/* The sink's data thread hands the main loop what it could not send (the source's needs nothing). */
	if (playback && !(d->wake = pw_loop_add_event(a->loop, on_wake, d)))
		return -errno;
	/* Room for the target, a few quanta of scheduling slack, and the largest cycle. */
	int r = vsnd_ring_init(&d->ring, QUBES_AUDIO_FRAME_BYTES,
			       d->target + 4 * c->quantum_frames + 8192);
	if (r < 0)
		return r;

	char latency[32];
	snprintf(latency, sizeof(latency), "%u/%u", c->quantum_frames, QUBES_AUDIO_RATE);
	struct pw_properties *props = pw_properties_new(
		PW_KEY_MEDIA_CLASS, playback ? "Audio/Sink" : "Audio/Source",
		PW_KEY_NODE_NAME, playback ? c->sink_name : c->source_name,
		PW_KEY_NODE_DESCRIPTION, playback ? c->sink_desc : c->source_desc,
		PW_KEY_NODE_LATENCY, latency,
		/* Without hardware in the VM the graph still needs a driver to run us. */
		"node.want-driver", "true",
		PW_KEY_DEVICE_API, "qubes",
		"audio.position", "[ FL FR ]",
		NULL);
	if (!props)
		return -errno;
	d->stream = pw_stream_new(a->core, playback ? "Qubes speakers" : "Qubes microphone", props);
	if (!d->stream)
		return -errno;
	pw_stream_add_listener(d->stream, &d->listener, playback ? &sink_events : &source_events, d);

	uint8_t buf[1024];
	struct spa_pod_builder pb = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	struct spa_audio_info_raw info = {
		.format = SPA_AUDIO_FORMAT_S16_LE,
		.rate = QUBES_AUDIO_RATE,
		.channels = QUBES_AUDIO_CHANNELS,
		.position = { SPA_AUDIO_CHANNEL_FL, SPA_AUDIO_CHANNEL_FR },
	};
	const struct spa_pod *params[1] = {
		spa_format_audio_raw_build(&pb, SPA_PARAM_EnumFormat, &info),
	};
	r = pw_stream_connect(d->stream, playback ? PW_DIRECTION_INPUT : PW_DIRECTION_OUTPUT, PW_ID_ANY,
			      PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS |
				      PW_STREAM_FLAG_RT_PROCESS,
			      params, 1);
	if (r < 0)
		vsnd_error(&qubes_agent_log, "%s node: cannot connect: %s", d->what, strerror(-r));
	return r;
}

static void dir_finish(struct agent_dir *d)
{
	if (d->stream) {
		spa_hook_remove(&d->listener);
		pw_stream_destroy(d->stream);
		d->stream = NULL;
	}
	vsnd_ring_finish(&d->ring);
}

/* After the link is gone: nothing uses the lock or signals the event any more. */
static void dir_free(struct agent_dir *d)
{
	if (d->wake)
		pw_loop_destroy_source(d->agent->loop, d->wake);
	d->wake = NULL;
	pthread_mutex_destroy(&d->lock);
}

/* Tell the graph how long a frame takes through us, so players can sync audio and video. */
static void report_latency(struct agent_dir *d, int64_t *reported)
{
	uint32_t fill = atomic_load_explicit(&d->fill, memory_order_relaxed);
	int64_t ns = (int64_t)fill * SPA_NSEC_PER_SEC / QUBES_AUDIO_RATE;
	if (!d->stream || llabs(ns - *reported) < SPA_NSEC_PER_MSEC)
		return;
	uint8_t buf[256];
	struct spa_pod_builder pb = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	struct spa_process_latency_info info = { .ns = ns };
	const struct spa_pod *params[1] = {
		spa_process_latency_build(&pb, SPA_PARAM_ProcessLatency, &info),
	};
	if (pw_stream_update_params(d->stream, params, 1) >= 0)
		*reported = ns;
}

/* The counters as one line, replaced whole (a reader never sees half of it). */
static void write_status(struct qubes_agent *a)
{
	if (!a->status_file)
		return;
	struct qubes_agent_stats st;
	char line[512], tmp[PATH_MAX];
	qubes_agent_get_stats(a, &st);
	qubes_agent_format_stats(&st, line, sizeof(line));
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", a->status_file) >= (int)sizeof(tmp))
		return;
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%s\n", line);
	if (fclose(f) == 0)
		rename(tmp, a->status_file);
}

static void on_timer(void *data, uint64_t expirations)
{
	struct qubes_agent *a = data;
	(void)expirations;
	agent_link_tick(a);
	report_latency(&a->play, &a->reported_latency_ns[0]);
	report_latency(&a->rec, &a->reported_latency_ns[1]);
	if (++a->ticks % 2 == 0)
		write_status(a);
}

struct qubes_agent *qubes_agent_new(struct pw_context *context, struct pw_core *core,
				    const struct qubes_agent_config *cfg)
{
	struct qubes_agent *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->context = context;
	a->core = core;
	a->loop = pw_context_get_main_loop(context);
	a->cfg = *cfg;
	a->cfg.status_file = NULL; /* the caller's string need not outlive qubes_agent_new() */
	a->told_sink = a->told_source = -1;
	if (a->cfg.target_frames < 32 || a->cfg.rec_target_frames < 32 || a->cfg.quantum_frames < 16 ||
	    a->cfg.play_vchan_bytes < 1024 || a->cfg.rec_vchan_bytes < 1024) {
		free(a);
		errno = EINVAL;
		return NULL;
	}
	int r = -ENOMEM;
	if (cfg->status_file && !(a->status_file = strdup(cfg->status_file))) {
		free(a);
		errno = ENOMEM;
		return NULL;
	}
	a->play.agent = a->rec.agent = a;
	/* Default attributes: cannot fail on Linux; before anything that may fail, destroy takes them. */
	pthread_mutex_init(&a->play.lock, NULL);
	pthread_mutex_init(&a->rec.lock, NULL);
	a->timer = pw_loop_add_timer(a->loop, on_timer, a);
	if (!a->timer)
		goto err;
	if ((r = dir_init(a, &a->play, true)) < 0 || (r = dir_init(a, &a->rec, false)) < 0)
		goto err;
	if ((r = agent_link_start(a)) < 0)
		goto err;
	struct timespec period = { 0, 100 * SPA_NSEC_PER_MSEC };
	pw_loop_update_timer(a->loop, a->timer, &period, &period, false);
	write_status(a);
	return a;
err:
	qubes_agent_destroy(a);
	errno = -r;
	return NULL;
}

void qubes_agent_destroy(struct qubes_agent *a)
{
	if (!a)
		return;
	write_status(a); /* the last counters stay for whoever reads them after us */
	/* Nodes first: after this no data thread callback can run. */
	dir_finish(&a->play);
	dir_finish(&a->rec);
	agent_link_stop(a);
	dir_free(&a->play);
	dir_free(&a->rec);
	if (a->timer)
		pw_loop_destroy_source(a->loop, a->timer);
	free(a->status_file);
	free(a);
}

void qubes_agent_get_stats(struct qubes_agent *a, struct qubes_agent_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->play_connected = a->play.connected;
	st->rec_connected = a->rec.connected;
	st->sink_running = a->play.running;
	st->source_running = a->rec.running;
	st->frames_sent = atomic_load(&a->play.frames);
	st->frames_dropped = atomic_load(&a->play.dropped);
	st->frames_received = atomic_load(&a->rec.frames);
	st->silence_frames = atomic_load(&a->rec.silence);
	st->ctl_words = a->ctl_words;
	st->play_fill_frames = atomic_load(&a->play.fill);
	st->play_target_frames = atomic_load(&a->play.target_now);
	st->play_reprimes = atomic_load(&a->play.reprimes);
	st->rec_underruns = atomic_load(&a->rec.reprimes);
	st->rec_dropped = atomic_load(&a->rec.dropped);
	st->rec_fill_frames = atomic_load(&a->rec.fill);
	st->play_rate = atomic_load(&a->play.rate);
	st->rec_rate = atomic_load(&a->rec.rate);
	st->connects = a->connects;
	st->domid = a->domid;
}

int qubes_agent_format_stats(const struct qubes_agent_stats *st, char *buf, size_t len)
{
	return snprintf(buf, len,
			"domid=%d play_connected=%d rec_connected=%d sink_running=%d source_running=%d "
			"frames_sent=%llu frames_dropped=%llu frames_received=%llu silence_frames=%llu "
			"ctl_words=%llu connects=%u play_fill=%u play_target=%u play_reprimes=%u rec_fill=%u "
			"rec_underruns=%u rec_dropped=%llu play_rate=%.6f rec_rate=%.6f",
			st->domid, st->play_connected, st->rec_connected, st->sink_running,
			st->source_running, (unsigned long long)st->frames_sent,
			(unsigned long long)st->frames_dropped, (unsigned long long)st->frames_received,
			(unsigned long long)st->silence_frames, (unsigned long long)st->ctl_words,
			st->connects, st->play_fill_frames, st->play_target_frames, st->play_reprimes,
			st->rec_fill_frames, st->rec_underruns, (unsigned long long)st->rec_dropped,
			st->play_rate, st->rec_rate);
}
