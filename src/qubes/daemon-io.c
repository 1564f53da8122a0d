/* SPDX-License-Identifier: MIT */
/*
 * The daemon's two data paths: VM playback (vchan 4713 -> ring -> host
 * stream) and the microphone (host stream -> ring -> vchan 4714), plus the
 * control words the VM sends on 4714. Whole frames only, never blocking on
 * the VM.
 */
#include <errno.h>
#include <string.h>

#include "daemon-private.h"
#include "vsnd/clock.h"

#define READ_CHUNK QUBES_DAEMON_READ_CHUNK
#define MAX_ROUNDS 64    /* bound the work per event, so one VM cannot starve the loop */

static void set_paused(struct qubes_daemon *d, struct vchan_end *e, bool paused)
{
	if (e->paused == paused || !e->src)
		return;
	e->paused = paused;
	vsnd_loop_update_fd(e->src, paused ? 0 : EPOLLIN);
}

/* ---- playback: VM -> host ---- */

/* Read and throw away what a corked VM sends, keeping the frame alignment. */
static void discard_locked(struct qubes_daemon *d)
{
	uint8_t *buf = d->read_buf;
	for (int round = 0; round < MAX_ROUNDS; round++) {
		int ready = libvchan_data_ready(d->play.vc);
		if (ready <= 0)
			return;
		int n = libvchan_read(d->play.vc, buf, (size_t)ready < READ_CHUNK ? (size_t)ready : READ_CHUNK);
		if (n <= 0)
			return;
		uint32_t total = d->carry.len + (uint32_t)n;
		d->stats.frames_discarded += total / QUBES_AUDIO_FRAME_BYTES;
		d->carry.len = total % QUBES_AUDIO_FRAME_BYTES;
		uint64_t suppressed;
		if (vsnd_ratelimit_pass(&d->rl_discard, vsnd_now_ns(), &suppressed))
			vsnd_debug(&qubes_daemon_log, "%s: discarded %u frames sent while corked",
				   d->vm_name, total / QUBES_AUDIO_FRAME_BYTES);
		qubes_daemon_publish_soon(d);
	}
}

static void discard_playback(struct qubes_daemon *d)
{
	pthread_mutex_lock(&d->play_lock);
	discard_locked(d);
	pthread_mutex_unlock(&d->play_lock);
}

/* Frames we take from the VM now: up to the fill limit, not the whole ring (see fill_frames). */
static uint32_t play_room(struct qubes_daemon *d, struct vsnd_ring *ring)
{
	uint32_t room = vsnd_ring_writable(ring);
	/* A cork is pending: what the VM sent before it is the tail, to be played, not left behind. */
	if (d->cfg.fill_frames && !d->cork_pending) {
		uint32_t have = vsnd_ring_readable(ring);
		uint32_t limit = d->cfg.fill_frames > have ? d->cfg.fill_frames - have : 0;
		if (limit < room)
			room = limit;
	}
	return room;
}

/*
 * Up to @limit whole frames from @vc into @ring, counted in (frames played,
 * the latency tracker); play_lock held. The one read path of VM audio, for
 * the main loop's pump and the realtime thread's refill alike.
 */
static uint32_t read_into_ring(struct qubes_daemon *d, libvchan_t *vc, struct vsnd_ring *ring,
			       uint32_t limit, uint64_t now)
{
	uint32_t moved = 0;
	for (int round = 0; vc && moved < limit && round < MAX_ROUNDS; round++) {
		/*
		 * limit - moved >= 1 frame > the carried bytes: this completes at
		 * most that many frames. No data_ready first: a non-blocking read
		 * says as much, and on the realtime thread each system call counts.
		 */
		size_t max = (size_t)(limit - moved) * QUBES_AUDIO_FRAME_BYTES - d->carry.len;
		if (max > READ_CHUNK)
			max = READ_CHUNK;
		int frames = qubes_read_frames(vc, &d->carry, d->read_buf, max);
		if (frames < 0)
			break;
		moved += vsnd_ring_write(ring, d->read_buf, (uint32_t)frames);
	}
	if (moved) {
		atomic_fetch_add(&d->frames_played, moved);
		d->play_in += moved;
		vsnd_latency_enter(&d->play_lat, d->play_in, now);
	}
	return moved;
}

/* Drop the leading all-zero frames of @ring, up to @max; *sound: a frame that is not silent follows. */
static uint32_t skip_silent(struct vsnd_ring *ring, uint32_t max, bool *sound)
{
	struct vsnd_ring_area ar[2];
	uint32_t z = 0;
	vsnd_ring_read_begin(ring, ar, max);
	*sound = false;
	for (int i = 0; i < 2 && !*sound; i++) {
		const uint8_t *p = ar[i].data;
		for (uint32_t k = 0; k < ar[i].frames; k++, z++, p += QUBES_AUDIO_FRAME_BYTES) {
			uint32_t f;
			memcpy(&f, p, sizeof(f));
			if (f) {
				*sound = true;
				break;
			}
		}
	}
	vsnd_ring_read_commit(ring, z);
	return z;
}

/*
 * The host's first pull after a start (play_lock held, realtime thread).
 * While the sound server started the stream (~17 ms with PipeWire here),
 * the VM kept queueing: that much more latency than the queue it meant to
 * hold, for seconds (its rate control takes back 5 ms a second, by playing
 * 0.5 % fast). What a queue starts with is mostly silence, the agent's
 * prefill (or the application's own): drop up to the start's length of
 * leading silence, what our ring holds and then what the vchan does, read
 * as always. No sound is lost, it only comes that much sooner; the first
 * non-silent frame stops it.
 */
static void skip_start_silence(struct qubes_daemon *d, struct vsnd_ring *ring, uint64_t now)
{
	uint64_t budget = vsnd_ns_to_frames(now - d->start_ns, QUBES_AUDIO_RATE);
	if (budget > QUBES_AUDIO_RATE)
		budget = QUBES_AUDIO_RATE; /* a second at most, whatever the server took */
	uint32_t left = (uint32_t)budget, skipped = 0;
	for (int round = 0; left && round < MAX_ROUNDS; round++) {
		bool sound;
		uint32_t z = skip_silent(ring, left, &sound);
		skipped += z;
		left -= z;
		if (sound || !left)
			break;
		uint32_t room = vsnd_ring_writable(ring);
		if (!read_into_ring(d, d->rt_vc, ring, left < room ? left : room, now))
			break;
	}
	/* Counted in as they entered the ring, never played. */
	atomic_fetch_sub(&d->frames_played, skipped);
	atomic_fetch_add(&d->silence_skipped, skipped);
}

void qubes_daemon_pump_playback(struct qubes_daemon *d)
{
	if (!d->play.connected)
		return;
	if (d->corked && !d->cork_pending) {
		/* The UNCORK may be waiting on the other vchan: look before discarding. */
		qubes_daemon_read_control(d);
		if (d->corked && !d->cork_pending) {
			discard_playback(d);
			return;
		}
	}
	if (!d->out) {
		/* No sound server yet: leave the data in the vchan (the VM waits). */
		set_paused(d, &d->play, true);
		return;
	}
	/* The host clock's thread reads the vchan itself while that works: no need to wake for VM writes. */
	if (d->rt_vc && atomic_load(&d->rt_fed)) {
		set_paused(d, &d->play, true);
		return;
	}
	struct vsnd_ring *ring = vsnd_audio_stream_ring(d->out);
	pthread_mutex_lock(&d->play_lock);
	uint32_t room = play_room(d, ring);
	uint32_t moved = read_into_ring(d, d->play.vc, ring, room, vsnd_now_ns());
	pthread_mutex_unlock(&d->play_lock);
	if (!room)
		set_paused(d, &d->play, true); /* the host has not consumed yet: the VM is paced by us */
	if (moved) {
		if (d->auto_start) {
			/* A VM that never sends cork words still plays; one that does costs nothing until it plays. */
			d->auto_start = false;
			qubes_daemon_apply_cork(d);
		}
		vsnd_audio_stream_kick(d->out);
	}
	/*
	 * Watch the vchan whenever the ring has room, moved or not: paused at
	 * the fill limit, a pump that found the vchan empty left it paused, and
	 * once the ring ran dry no DATA event came to pump again (a stream
	 * waiting for its start threshold never started: seen in bench/qubes).
	 */
	if (play_room(d, ring) > 0)
		set_paused(d, &d->play, false);
}

/*
 * vsnd_audio_params.refill of the playback stream, on the host stream's
 * realtime thread: top the ring up from the vchan to the @want frames this
 * pull takes, no more. Frames read here are handed on at once, so they add
 * no latency of ours. If the control loop holds the lock, this pull is short
 * (an underrun) rather than waiting; it holds it only for a few reads.
 */
bool qubes_daemon_refill(void *data, struct vsnd_ring *ring, uint32_t want)
{
	struct qubes_daemon *d = data;
	if (pthread_mutex_trylock(&d->play_lock) != 0) {
		atomic_fetch_add(&d->rt_busy, 1);
		atomic_store(&d->rt_fed, false);
		return false;
	}
	uint64_t now = vsnd_now_ns();
	if (d->start_ns) {
		skip_start_silence(d, ring, now);
		d->start_ns = 0;
	}
	uint32_t have = vsnd_ring_readable(ring), room = vsnd_ring_writable(ring);
	uint32_t need = have < want ? want - have : 0;
	uint32_t moved = read_into_ring(d, d->rt_vc, ring, need < room ? need : room, now);
	/* This pull hands on the first @want frames of the ring, whoever put them there. */
	uint32_t queued = have + moved, taken = queued < want ? queued : want;
	vsnd_latency_leave(&d->play_lat, d->play_in - (queued - taken), now);
	bool fed = d->rt_vc && have + moved >= want;
	atomic_store(&d->rt_fed, fed);
	pthread_mutex_unlock(&d->play_lock);
	/* Fed: the main loop has nothing to do for this period (its latency count included). */
	return fed;
}

static void rt_set(struct qubes_daemon *d, libvchan_t *vc)
{
	if (vc == d->rt_vc)
		return;
	pthread_mutex_lock(&d->play_lock);
	d->rt_vc = vc;
	atomic_store(&d->rt_fed, false);
	pthread_mutex_unlock(&d->play_lock);
}

void qubes_daemon_rt_update(struct qubes_daemon *d)
{
	rt_set(d, d->out && d->play.connected && !d->corked && !d->auto_start ? d->play.vc : NULL);
}

/* Start the host stream; its first pull skips the silence queued meanwhile (skip_start_silence). */
static int start_playback(struct qubes_daemon *d)
{
	pthread_mutex_lock(&d->play_lock);
	d->start_ns = vsnd_now_ns();
	pthread_mutex_unlock(&d->play_lock);
	return vsnd_audio_stream_start(d->out);
}

void qubes_daemon_apply_cork(struct qubes_daemon *d)
{
	qubes_daemon_rt_update(d);
	if (!d->out)
		return;
	if (!d->corked) {
		struct vsnd_audio_status st;
		vsnd_audio_stream_get_status(d->out, &st);
		if (st.state == VSND_AUDIO_STATE_PAUSED && start_playback(d) == 0)
			vsnd_debug(&qubes_daemon_log, "%s: playback uncorked", d->vm_name);
		return;
	}
	/*
	 * Cork only once what the VM sent before it has left our ring, and the
	 * sound server has played what it holds: corked with it, that tail would
	 * be the stale audio heard at the next uncork.
	 */
	if (d->cork_pending && vsnd_ring_readable(vsnd_audio_stream_ring(d->out)) == 0) {
		struct vsnd_audio_status st;
		vsnd_audio_stream_get_status(d->out, &st);
		uint64_t now = vsnd_now_ns();
		if (!d->cork_at) {
			d->cork_at = now + vsnd_frames_to_ns(st.delay_frames, QUBES_AUDIO_RATE);
			if (d->cork_at > now) {
				vsnd_loop_timer_set(d->cork_timer, d->cork_at - now, 0);
				return;
			}
		} else if (now < d->cork_at) {
			return;
		}
		d->cork_at = 0;
		d->cork_pending = false;
		vsnd_audio_stream_stop(d->out);
		vsnd_debug(&qubes_daemon_log, "%s: playback drained and corked", d->vm_name);
		qubes_daemon_publish(d);
	}
}

static void out_event(void *data, int fd, uint32_t events)
{
	struct qubes_daemon *d = data;
	uint32_t ev = vsnd_audio_stream_dispatch(d->out);
	if (ev & VSND_AUDIO_EVENT_STATE) {
		struct vsnd_audio_status st;
		vsnd_audio_stream_get_status(d->out, &st);
		vsnd_info(&qubes_daemon_log, "%s: playback stream %s", d->vm_name,
			  vsnd_audio_state_name(st.state));
	}
	if (ev & VSND_AUDIO_EVENT_DATA) {
		/* Frames the realtime thread read itself it also counted out; only ours wait here. */
		if (!(d->rt_vc && atomic_load(&d->rt_fed))) {
			struct vsnd_audio_status st;
			vsnd_audio_stream_get_status(d->out, &st);
			pthread_mutex_lock(&d->play_lock);
			vsnd_latency_leave(&d->play_lat, st.frames, vsnd_now_ns());
			pthread_mutex_unlock(&d->play_lock);
		}
		qubes_daemon_pump_playback(d);
	}
	if (d->cork_pending)
		qubes_daemon_apply_cork(d);
}

int qubes_daemon_open_playback(struct qubes_daemon *d)
{
	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, VSND_AUDIO_PLAYBACK, VSND_AUDIO_FORMAT_S16, QUBES_AUDIO_RATE,
			       QUBES_AUDIO_CHANNELS, d->cfg.period_frames);
	p.ring_periods = d->cfg.ring_periods;
	p.stream_name = "playback";
	p.volume = d->cfg.volume;
	p.muted = d->cfg.mute;
	p.refill = qubes_daemon_refill;
	p.refill_data = d;
	d->out = vsnd_audio_stream_new(d->audio, &p);
	if (!d->out)
		return -errno;
	d->out_src = vsnd_loop_add_fd(d->loop, vsnd_audio_stream_fd(d->out), EPOLLIN, out_event, d);
	if (!d->out_src) {
		int err = errno;
		vsnd_audio_stream_destroy(d->out);
		d->out = NULL;
		return -err;
	}
	d->carry.len = 0;
	d->play_in = 0;
	vsnd_latency_reset(&d->play_lat);
	if (!d->corked && !d->auto_start)
		start_playback(d);
	qubes_daemon_rt_update(d);
	set_paused(d, &d->play, false);
	qubes_daemon_pump_playback(d);
	return 0;
}

void qubes_daemon_close_playback(struct qubes_daemon *d)
{
	rt_set(d, NULL);
	vsnd_loop_remove(d->out_src);
	d->out_src = NULL;
	vsnd_audio_stream_destroy(d->out);
	d->out = NULL;
}

/* ---- microphone: host -> VM ---- */

/* Finish a frame the vchan took only part of; false while bytes of it remain. */
static bool flush_mic_partial(struct qubes_daemon *d, libvchan_t *vc)
{
	while (d->mic_partial_off < d->mic_partial_len) {
		int n = libvchan_write(vc, d->mic_partial + d->mic_partial_off,
				       d->mic_partial_len - d->mic_partial_off);
		if (n <= 0)
			return false;
		d->mic_partial_off += (uint32_t)n;
	}
	d->mic_partial_len = d->mic_partial_off = 0;
	return true;
}

/*
 * Send what @ring holds into the VM's microphone vchan @vc as far as it
 * takes it, whole frames (a torn one is finished first); mic_lock held. The
 * one write path of the microphone, for the main loop and the realtime
 * thread alike.
 */
static bool mic_send(struct qubes_daemon *d, libvchan_t *vc, struct vsnd_ring *ring, uint64_t now)
{
	bool moved = false;
	for (int round = 0; round < MAX_ROUNDS; round++) {
		if (!flush_mic_partial(d, vc))
			break;
		uint32_t fit = (uint32_t)libvchan_buffer_space(vc) / QUBES_AUDIO_FRAME_BYTES;
		struct vsnd_ring_area a[2];
		uint32_t n = vsnd_ring_read_begin(ring, a, fit);
		if (n == 0)
			break;
		uint32_t done = 0;
		for (int k = 0; k < 2; k++) {
			if (!a[k].frames)
				continue;
			size_t bytes = (size_t)a[k].frames * QUBES_AUDIO_FRAME_BYTES;
			int w = libvchan_write(vc, a[k].data, bytes);
			if (w <= 0)
				break;
			uint32_t whole = (uint32_t)w / QUBES_AUDIO_FRAME_BYTES;
			uint32_t rest = (uint32_t)w % QUBES_AUDIO_FRAME_BYTES;
			done += whole;
			if (rest) {
				/* Keep the rest of the torn frame so the VM's stream stays aligned. */
				memcpy(d->mic_partial,
				       (uint8_t *)a[k].data + (size_t)whole * QUBES_AUDIO_FRAME_BYTES,
				       QUBES_AUDIO_FRAME_BYTES);
				d->mic_partial_len = QUBES_AUDIO_FRAME_BYTES;
				d->mic_partial_off = rest;
				done++;
				break;
			}
			if ((size_t)w < bytes)
				break;
		}
		vsnd_ring_read_commit(ring, done);
		d->stats.mic_frames_sent += done;
		d->mic_out += done;
		if (done)
			vsnd_latency_leave(&d->mic_lat, d->mic_out, now);
		moved |= done > 0;
		if (done < n)
			break;
	}
	return moved;
}

/*
 * vsnd_audio_params.drain of the record stream, on its realtime thread:
 * what was just captured goes to the VM in the same period. If the control
 * loop holds the lock, or the VM's vchan is full, the frames wait in the
 * ring and the DATA event hands them to the control loop (which also
 * applies the drop policy for a VM that does not read).
 */
bool qubes_daemon_drain_mic(void *data, struct vsnd_ring *ring)
{
	struct qubes_daemon *d = data;
	if (pthread_mutex_trylock(&d->mic_lock) != 0) {
		atomic_fetch_add(&d->rt_busy, 1);
		return false;
	}
	bool all = false;
	if (d->rt_mic) {
		uint64_t now = vsnd_now_ns();
		vsnd_latency_enter(&d->mic_lat, d->mic_out + vsnd_ring_readable(ring), now);
		mic_send(d, d->rt_mic, ring, now);
		all = vsnd_ring_readable(ring) == 0 && d->mic_partial_len == 0;
	}
	pthread_mutex_unlock(&d->mic_lock);
	return all;
}

void qubes_daemon_pump_mic(struct qubes_daemon *d)
{
	if (!d->in || !d->rec.connected)
		return;
	struct vsnd_ring *ring = vsnd_audio_stream_ring(d->in);
	pthread_mutex_lock(&d->mic_lock);
	bool moved = mic_send(d, d->rec.vc, ring, vsnd_now_ns());
	/*
	 * A VM that does not read its microphone must not stall anything: keep
	 * at most half the ring (the newest frames) and drop the oldest.
	 */
	uint32_t keep = vsnd_ring_capacity(ring) / 2, have = vsnd_ring_readable(ring), dropped = 0;
	if (have > keep && libvchan_buffer_space(d->rec.vc) < QUBES_AUDIO_FRAME_BYTES) {
		dropped = vsnd_ring_skip(ring, have - keep);
		d->stats.mic_frames_dropped += dropped;
		d->mic_out += dropped;
	}
	uint64_t all_dropped = d->stats.mic_frames_dropped;
	pthread_mutex_unlock(&d->mic_lock);
	uint64_t suppressed;
	if (dropped) {
		if (vsnd_ratelimit_pass(&d->rl_mic, vsnd_now_ns(), &suppressed))
			vsnd_warn(&qubes_daemon_log,
				  "%s: the VM does not read its microphone: dropped %u frames (%llu in all)",
				  d->vm_name, dropped, (unsigned long long)all_dropped);
		qubes_daemon_publish_soon(d);
		moved = true;
	}
	if (moved)
		vsnd_audio_stream_kick(d->in);
}

static void in_event(void *data, int fd, uint32_t events)
{
	struct qubes_daemon *d = data;
	uint32_t ev = vsnd_audio_stream_dispatch(d->in);
	if (ev & VSND_AUDIO_EVENT_STATE) {
		struct vsnd_audio_status st;
		vsnd_audio_stream_get_status(d->in, &st);
		vsnd_info(&qubes_daemon_log, "%s: record stream %s", d->vm_name,
			  vsnd_audio_state_name(st.state));
	}
	if (ev & VSND_AUDIO_EVENT_DATA) {
		/* Frames the realtime thread marked already keep their mark (see vsnd_latency_enter). */
		struct vsnd_audio_status st;
		vsnd_audio_stream_get_status(d->in, &st);
		pthread_mutex_lock(&d->mic_lock);
		vsnd_latency_enter(&d->mic_lat, st.frames, vsnd_now_ns());
		pthread_mutex_unlock(&d->mic_lock);
	}
	qubes_daemon_pump_mic(d);
}

static void rt_mic_set(struct qubes_daemon *d, libvchan_t *vc)
{
	pthread_mutex_lock(&d->mic_lock);
	d->rt_mic = vc;
	pthread_mutex_unlock(&d->mic_lock);
}

int qubes_daemon_set_mic_flow(void *data, bool on)
{
	struct qubes_daemon *d = data;
	if (!on) {
		rt_mic_set(d, NULL);
		vsnd_loop_remove(d->in_src);
		d->in_src = NULL;
		vsnd_audio_stream_destroy(d->in);
		d->in = NULL;
		d->mic_partial_len = d->mic_partial_off = 0;
		vsnd_info(&qubes_daemon_log, "%s: microphone off", d->vm_name);
		return 0;
	}
	if (!d->audio || !d->rec.connected)
		return -ENOTCONN; /* retried when the VM and the sound server are there */
	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, VSND_AUDIO_CAPTURE, VSND_AUDIO_FORMAT_S16, QUBES_AUDIO_RATE,
			       QUBES_AUDIO_CHANNELS, d->cfg.period_frames);
	p.ring_periods = d->cfg.ring_periods;
	p.stream_name = "record";
	p.drain = qubes_daemon_drain_mic;
	p.drain_data = d;
	d->in = vsnd_audio_stream_new(d->audio, &p);
	if (!d->in)
		return -errno;
	pthread_mutex_lock(&d->mic_lock);
	d->mic_out = 0;
	vsnd_latency_reset(&d->mic_lat);
	d->rt_mic = d->rec.vc;
	pthread_mutex_unlock(&d->mic_lock);
	d->in_src = vsnd_loop_add_fd(d->loop, vsnd_audio_stream_fd(d->in), EPOLLIN, in_event, d);
	int ret = d->in_src ? vsnd_audio_stream_start(d->in) : -errno;
	if (ret < 0) {
		rt_mic_set(d, NULL);
		vsnd_loop_remove(d->in_src);
		d->in_src = NULL;
		vsnd_audio_stream_destroy(d->in);
		d->in = NULL;
		return ret;
	}
	vsnd_info(&qubes_daemon_log, "%s: microphone on", d->vm_name);
	return 0;
}

/* ---- control words: VM -> host on 4714 ---- */

static void on_word(void *data, enum qubes_ctl_event ev, uint32_t word)
{
	struct qubes_daemon *d = data;
	d->stats.ctl_words++;
	switch (ev) {
	case QUBES_CTL_SOURCE_START:
	case QUBES_CTL_SOURCE_STOP:
		qubes_mic_set_requested(&d->mic, ev == QUBES_CTL_SOURCE_START);
		break;
	case QUBES_CTL_SINK_CORK:
		d->auto_start = false;
		if (!d->corked) {
			d->corked = true;
			d->cork_pending = true;
			d->cork_at = 0;
			qubes_daemon_rt_update(d); /* the realtime thread stops reading: the tail is ours */
			qubes_daemon_pump_playback(d); /* take what the VM sent before the cork */
			qubes_daemon_apply_cork(d);
		}
		break;
	case QUBES_CTL_SINK_UNCORK:
		if (d->corked || d->auto_start) {
			d->corked = false;
			d->cork_pending = false;
			d->cork_at = 0;
			d->auto_start = false;
			qubes_daemon_apply_cork(d);
			qubes_daemon_publish(d);
		}
		break;
	case QUBES_CTL_INITIAL_STATE:
		vsnd_debug(&qubes_daemon_log, "%s: initial state report follows", d->vm_name);
		break;
	case QUBES_CTL_UNKNOWN: {
		d->stats.ctl_unknown++;
		uint64_t suppressed;
		if (vsnd_ratelimit_pass(&d->rl_ctl, vsnd_now_ns(), &suppressed))
			vsnd_debug(&qubes_daemon_log, "%s: ignoring unknown control word 0x%08x",
				   d->vm_name, word);
		break;
	}
	}
}

void qubes_daemon_read_control(struct qubes_daemon *d)
{
	uint8_t buf[1024];
	if (!d->rec.connected)
		return;
	for (int round = 0; round < MAX_ROUNDS; round++) {
		/* Not across the decode: its words may turn the microphone on or off. */
		pthread_mutex_lock(&d->mic_lock);
		int n = 0, ready = libvchan_data_ready(d->rec.vc);
		if (ready > 0)
			n = libvchan_read(d->rec.vc, buf, (size_t)ready < sizeof(buf) ? (size_t)ready : sizeof(buf));
		pthread_mutex_unlock(&d->mic_lock);
		if (n <= 0)
			return;
		qubes_ctl_decode(&d->ctl, buf, (size_t)n, on_word, d);
	}
}
