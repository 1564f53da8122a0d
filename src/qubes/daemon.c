/* SPDX-License-Identifier: MIT */
/*
 * The daemon's lifecycle: connecting the VM's vchans (and again after the VM
 * restarts), opening the sound server once they exist, the microphone
 * control surfaces, and the status it publishes.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon-private.h"
#include "vsnd/audio-opts.h"
#include "vsnd/clock.h"

struct vsnd_log_topic qubes_daemon_log = VSND_LOG_TOPIC_INIT("qubes");

#define RETRY_NS (500 * VSND_NSEC_PER_MSEC)
#define STATUS_NS VSND_NSEC_PER_SEC
#define STORE_RETRY_NS VSND_NSEC_PER_SEC /* while QubesDB is away: one wake-up a second */
#define PLAY_RING_MIN 1024 /* vchan ring sizes the client asks for */

void qubes_daemon_config_init(struct qubes_daemon_config *c)
{
	memset(c, 0, sizeof(*c));
	vsnd_audio_opts_init(&c->audio);
	c->period_frames = 220;
	c->ring_periods = 8;
	c->volume = -1.0f;
}

/* ---- status ---- */

static void key(char *buf, size_t len, const char *dir, const char *vm)
{
	snprintf(buf, len, "/%s/%s", dir, vm);
}

static void update_status_timer(struct qubes_daemon *d)
{
	/* Periodic counters only while audio moves: a corked, silent VM costs no wake-ups. */
	bool active = d->play.connected && ((!d->corked && !d->auto_start) || d->mic.st.flowing);
	if (d->status_timer)
		vsnd_loop_timer_set(d->status_timer, active ? STATUS_NS : 0, active ? STATUS_NS : 0);
}

/* The keys vsnd-ctl reads go to the status directory too; the status line only there. */
static void put_key(struct qubes_daemon *d, const char *k, const char *v, bool protocol)
{
	if (protocol || !d->status_store)
		qubes_store_write(d->store, k, v);
	if (d->status_store)
		qubes_store_write(d->status_store, k, v);
}

static void remove_keys(struct qubes_daemon *d, struct qubes_store *st)
{
	static const char *const dirs[] = { "audio-input", "audio-input-request", "vsnd-status" };
	char k[256];
	if (!st)
		return;
	/* An absent key means "daemon not running". */
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		key(k, sizeof(k), dirs[i], d->vm_name);
		qubes_store_remove(st, k);
	}
}

void qubes_daemon_publish(struct qubes_daemon *d)
{
	char k[256], line[512];
	update_status_timer(d);
	qubes_dbus_set_allowed(d->dbus, d->mic.st.allowed);
	if (d->dbus) {
		qubes_dbus_dispatch(d->dbus); /* flush the signals now */
		vsnd_loop_update_fd(d->dbus_src, qubes_dbus_events(d->dbus));
	}
	if (!d->store)
		return;
	key(k, sizeof(k), "audio-input", d->vm_name);
	put_key(d, k, d->mic.st.allowed ? "1" : "0", true);
	key(k, sizeof(k), "audio-input-request", d->vm_name);
	put_key(d, k, d->mic.st.requested ? "1" : "0", true);

	struct qubes_daemon_stats st;
	qubes_daemon_get_stats(d, &st);
	snprintf(line, sizeof(line),
		 "vm=%s domid=%d vm_connected=%d audio=%s corked=%d mic_requested=%d mic_allowed=%d "
		 "mic_flowing=%d frames_played=%llu frames_discarded=%llu silence_skipped=%llu "
		 "mic_frames_sent=%llu mic_frames_dropped=%llu ctl_words=%llu ctl_unknown=%llu latency_ms=%.1f server_ms=%.1f underruns=%u rt_busy=%u "
		 "play_lat_p50_ms=%.2f play_lat_p99_ms=%.2f mic_lat_p50_ms=%.2f mic_lat_p99_ms=%.2f\n",
		 d->vm_name, d->cfg.domid, st.vm_connected, d->audio ? vsnd_audio_backend_name(d->audio) : "none",
		 st.corked, st.mic_requested, st.mic_allowed, st.mic_flowing,
		 (unsigned long long)st.frames_played, (unsigned long long)st.frames_discarded,
		 (unsigned long long)st.silence_skipped,
		 (unsigned long long)st.mic_frames_sent, (unsigned long long)st.mic_frames_dropped,
		 (unsigned long long)st.ctl_words, (unsigned long long)st.ctl_unknown,
		 st.latency_frames * 1000.0 / QUBES_AUDIO_RATE, st.server_delay_frames * 1000.0 / QUBES_AUDIO_RATE,
		 st.underruns, st.rt_busy,
		 st.play_lat_p50_us / 1000.0, st.play_lat_p99_us / 1000.0, st.mic_lat_p50_us / 1000.0,
		 st.mic_lat_p99_us / 1000.0);
	key(k, sizeof(k), "vsnd-status", d->vm_name);
	put_key(d, k, line, false);
}

static void mic_changed(void *data, const struct qubes_mic_state *st, const char *why)
{
	struct qubes_daemon *d = data;
	vsnd_info(&qubes_daemon_log, "%s: microphone requested=%d allowed=%d flowing=%d (%s)",
		  d->vm_name, st->requested, st->allowed, st->flowing, why);
	qubes_daemon_publish(d);
}

static const struct qubes_mic_ops mic_ops = {
	.set_flow = qubes_daemon_set_mic_flow,
	.changed = mic_changed,
};

/* ---- sound server ---- */

static int open_audio(struct qubes_daemon *d)
{
	if (d->audio)
		return 0;
	d->audio = vsnd_audio_new(&d->cfg.audio);
	if (!d->audio)
		return -errno;
	int ret = qubes_daemon_open_playback(d);
	if (ret < 0) {
		vsnd_audio_destroy(d->audio);
		d->audio = NULL;
		return ret;
	}
	vsnd_info(&qubes_daemon_log, "%s: audio through %s", d->vm_name, vsnd_audio_describe(d->audio));
	qubes_mic_update(&d->mic, "audio-open");
	return 0;
}

/* ---- vchans ---- */

static void play_event(void *data, int fd, uint32_t events);
static void rec_event(void *data, int fd, uint32_t events);

static int start_connect(struct qubes_daemon *d, struct vchan_end *e, int port)
{
	int watch_fd = -1;
	e->connected = false;
	e->paused = false;
	e->vc = libvchan_client_init_async(d->cfg.domid, port, &watch_fd);
	if (!e->vc)
		return -errno;
	e->fd = watch_fd;
	e->src = vsnd_loop_add_fd(d->loop, watch_fd, EPOLLIN, e == &d->play ? play_event : rec_event, d);
	if (!e->src) {
		int err = errno;
		libvchan_close(e->vc);
		e->vc = NULL;
		return -err;
	}
	return 0;
}

static void close_end(struct qubes_daemon *d, struct vchan_end *e)
{
	vsnd_loop_remove(e->src);
	e->src = NULL;
	e->connected = false;
	e->paused = false;
	/* Off the realtime threads before it goes. */
	pthread_mutex_t *lock = e == &d->play ? &d->play_lock : &d->mic_lock;
	if (e == &d->play)
		qubes_daemon_rt_update(d);
	pthread_mutex_lock(lock);
	if (e == &d->rec)
		d->rt_mic = NULL;
	libvchan_close(e->vc);
	e->vc = NULL;
	pthread_mutex_unlock(lock);
}

static void connect_vm(struct qubes_daemon *d)
{
	if ((!d->play.vc && start_connect(d, &d->play, QUBES_AUDIO_PLAYBACK_PORT) < 0) ||
	    (!d->rec.vc && start_connect(d, &d->rec, QUBES_AUDIO_RECORD_PORT) < 0)) {
		vsnd_warn(&qubes_daemon_log, "%s: cannot start connecting to domain %d: %s; retrying",
			  d->vm_name, d->cfg.domid, strerror(errno));
		vsnd_loop_timer_set(d->retry_timer, RETRY_NS, 0);
	}
}

void qubes_daemon_vm_gone(struct qubes_daemon *d, const char *why)
{
	bool was = d->play.connected && d->rec.connected;
	/*
	 * What the VM sent before it left still plays, as at a cork: taken from
	 * the vchan (the realtime thread stops reading it) up to a ring; the
	 * rest is the VM's loss. Then idle until the next VM session plays.
	 */
	if (!d->corked) {
		d->corked = true;
		d->cork_pending = true;
		d->cork_at = 0;
	}
	qubes_daemon_rt_update(d);
	if (d->cork_pending)
		qubes_daemon_pump_playback(d);
	close_end(d, &d->play);
	close_end(d, &d->rec);
	qubes_ctl_decoder_reset(&d->ctl);
	d->carry.len = 0;
	qubes_mic_set_requested(&d->mic, false);
	if (d->cork_pending)
		qubes_daemon_apply_cork(d);
	if (was)
		vsnd_info(&qubes_daemon_log, "%s: VM disconnected (%s); waiting for it again", d->vm_name, why);
	qubes_daemon_publish(d);
	connect_vm(d);
}

static void both_connected(struct qubes_daemon *d)
{
	d->stats.vm_connects++;
	/* A new VM session: no cork word seen yet (PROTOCOLS.md: the agent reports its state). */
	d->corked = false;
	d->cork_pending = false;
	d->cork_at = 0;
	d->auto_start = true;
	d->vchans_ready_once = true;
	vsnd_info(&qubes_daemon_log, "%s: connected to domain %d", d->vm_name, d->cfg.domid);
	int ret = open_audio(d);
	if (ret < 0) {
		vsnd_warn(&qubes_daemon_log, "%s: no sound server yet (%s); retrying", d->vm_name,
			  strerror(-ret));
		vsnd_loop_timer_set(d->retry_timer, RETRY_NS, 0);
	}
	qubes_daemon_publish(d);
	qubes_daemon_read_control(d);
	qubes_daemon_pump_playback(d);
}

static void vchan_event(struct qubes_daemon *d, struct vchan_end *e)
{
	if (!e->vc)
		return;
	if (!e->connected) {
		int r = libvchan_client_init_async_finish(e->vc, false);
		if (r == 1)
			return;
		if (r < 0) {
			vsnd_debug(&qubes_daemon_log, "%s: connecting: %s", d->vm_name, strerror(errno));
			qubes_daemon_vm_gone(d, "connect failed");
			return;
		}
		/* The Xen transport watches xenstore while connecting, then the event channel. */
		int fd = libvchan_fd_for_select(e->vc);
		if (fd != e->fd) {
			vsnd_loop_remove(e->src);
			e->fd = fd;
			e->src = vsnd_loop_add_fd(d->loop, fd, EPOLLIN, e == &d->play ? play_event : rec_event, d);
			if (!e->src) {
				qubes_daemon_vm_gone(d, "out of memory");
				return;
			}
		}
		e->connected = true;
		if (d->play.connected && d->rec.connected)
			both_connected(d);
		return;
	}
	/* A realtime thread may be using this vchan right now. */
	pthread_mutex_t *lock = e == &d->play ? &d->play_lock : &d->mic_lock;
	pthread_mutex_lock(lock);
	bool gone = libvchan_wait(e->vc) < 0 || libvchan_is_open(e->vc) != VCHAN_CONNECTED;
	pthread_mutex_unlock(lock);
	if (gone) {
		/* Take what it sent before it left, then reconnect. */
		if (e == &d->rec)
			qubes_daemon_read_control(d);
		qubes_daemon_vm_gone(d, "vchan closed");
		return;
	}
	if (!(d->play.connected && d->rec.connected))
		return; /* the other vchan is not there yet: data waits in the vchan */
	if (e == &d->rec) {
		qubes_daemon_read_control(d);
		qubes_daemon_pump_mic(d);
	} else {
		qubes_daemon_pump_playback(d);
	}
}

static void play_event(void *data, int fd, uint32_t events)
{
	struct qubes_daemon *d = data;
	vchan_event(d, &d->play);
}

static void rec_event(void *data, int fd, uint32_t events)
{
	struct qubes_daemon *d = data;
	vchan_event(d, &d->rec);
}

static void retry_timer_fn(void *data, uint64_t n)
{
	struct qubes_daemon *d = data;
	if (!d->play.vc || !d->rec.vc) {
		connect_vm(d);
		return;
	}
	if (d->play.connected && d->rec.connected && !d->audio) {
		int ret = open_audio(d);
		if (ret < 0)
			vsnd_loop_timer_set(d->retry_timer, RETRY_NS, 0);
		else
			qubes_daemon_publish(d);
	}
}

static void cork_timer_fn(void *data, uint64_t n)
{
	qubes_daemon_apply_cork(data);
}

static void status_timer_fn(void *data, uint64_t n)
{
	struct qubes_daemon *d = data;
	d->publish_soon = false;
	qubes_daemon_publish(d);
}

void qubes_daemon_publish_soon(struct qubes_daemon *d)
{
	if (d->publish_soon)
		return;
	d->publish_soon = true;
	vsnd_loop_timer_set(d->status_timer, 100 * VSND_NSEC_PER_MSEC, 0);
}

/* ---- control surfaces ---- */

static void on_user_decision(void *data, bool allow, const char *surface)
{
	struct qubes_daemon *d = data;
	vsnd_info(&qubes_daemon_log, "%s: user %s the microphone (%s)", d->vm_name,
		  allow ? "allowed" : "denied", surface);
	qubes_mic_set_allowed(&d->mic, allow, surface);
}

static void on_socket_cmd(void *data, bool allow)
{
	on_user_decision(data, allow, "socket");
}

static void on_dbus_cmd(void *data, bool allow)
{
	on_user_decision(data, allow, "dbus");
}

static void on_store_key(void *data, const char *k, const char *value)
{
	struct qubes_daemon *d = data;
	if (!value)
		return; /* key removed: keep the current decision */
	/* Exactly "0" or "1"; a file written by `echo` may end in one newline. */
	if (strcmp(value, "1") == 0 || strcmp(value, "1\n") == 0)
		on_user_decision(d, true, "qubesdb");
	else if (strcmp(value, "0") == 0 || strcmp(value, "0\n") == 0)
		on_user_decision(d, false, "qubesdb");
	else
		vsnd_warn(&qubes_daemon_log, "%s: rejected %s value (not 0 or 1)", d->vm_name, k);
}

static void ctlsock_event(void *data, int fd, uint32_t events)
{
	struct qubes_daemon *d = data;
	qubes_ctlsock_dispatch(d->ctlsock);
}

static void dbus_event(void *data, int fd, uint32_t events)
{
	struct qubes_daemon *d = data;
	if (qubes_dbus_dispatch(d->dbus) < 0) {
		vsnd_warn(&qubes_daemon_log, "%s: lost the D-Bus connection; D-Bus control off", d->vm_name);
		vsnd_loop_remove(d->dbus_src);
		d->dbus_src = NULL;
		qubes_dbus_destroy(d->dbus);
		d->dbus = NULL;
		return;
	}
	vsnd_loop_update_fd(d->dbus_src, qubes_dbus_events(d->dbus));
}

static void store_event(void *data, int fd, uint32_t events)
{
	struct qubes_daemon *d = data;
	if (qubes_store_dispatch(d->store) < 0) {
		/* A closed watch fd would wake us forever: stop polling it, keep publishing, retry. */
		vsnd_warn(&qubes_daemon_log, "%s: lost the %s watch; watching again once it is back", d->vm_name,
			  d->store->ops->name);
		vsnd_loop_remove(d->store_src);
		d->store_src = NULL;
		vsnd_loop_timer_set(d->store_retry, STORE_RETRY_NS, STORE_RETRY_NS);
	}
}

/* Once a second while the watch is lost: QubesDB restarted, or is still away. */
static void store_retry_fn(void *data, uint64_t n)
{
	struct qubes_daemon *d = data;
	(void)n;
	int r = qubes_store_restore(d->store);
	if (r == -ENOTSUP)
		vsnd_warn(&qubes_daemon_log, "%s: the %s store cannot watch again; decisions through it are off",
			  d->vm_name, d->store->ops->name);
	if (r < 0 && r != -ENOTSUP)
		return;
	vsnd_loop_timer_set(d->store_retry, 0, 0);
	if (r < 0)
		return;
	d->store_src = vsnd_loop_add_fd(d->loop, qubes_store_fd(d->store), EPOLLIN, store_event, d);
	if (!d->store_src) {
		vsnd_error(&qubes_daemon_log, "%s: cannot poll the %s watch: %s", d->vm_name, d->store->ops->name,
			   strerror(errno));
		return;
	}
	vsnd_info(&qubes_daemon_log, "%s: %s is back: watching again", d->vm_name, d->store->ops->name);
	/* A restarted QubesDB starts empty: publish the status keys again. */
	qubes_daemon_publish(d);
}

static int setup_surfaces(struct qubes_daemon *d)
{
	if (d->cfg.control_path) {
		d->ctlsock = qubes_ctlsock_new(d->cfg.control_path, on_socket_cmd, d);
		if (!d->ctlsock)
			return -errno;
		d->ctlsock_src = vsnd_loop_add_fd(d->loop, qubes_ctlsock_fd(d->ctlsock), EPOLLIN,
						  ctlsock_event, d);
		if (!d->ctlsock_src)
			return -errno;
	}
	if (d->cfg.status_dir || d->cfg.qubesdb) {
		char k[256], v[64];
#ifdef VSND_HAVE_QUBESDB
		if (d->cfg.qubesdb)
			d->store = qubes_store_qdb_new(on_store_key, d);
		else
#endif
		d->store = d->cfg.status_dir ? qubes_store_dir_new(d->cfg.status_dir, on_store_key, d) : NULL;
		if (!d->store)
			return d->cfg.qubesdb && !d->cfg.status_dir ? -ENOTSUP : -errno;
		/*
		 * With QubesDB the directory is vsnd-ctl's copy only: if it cannot
		 * be made (a user daemon and a root-owned /run), the protocol keys
		 * still work; only vsnd-ctl status does not see this daemon.
		 */
		if (d->cfg.qubesdb && d->cfg.status_dir &&
		    !(d->status_store = qubes_store_dir_new(d->cfg.status_dir, NULL, NULL)))
			vsnd_warn(&qubes_daemon_log, "%s: status directory %s: %s (vsnd-ctl will not see this daemon)",
				  d->vm_name, d->cfg.status_dir, strerror(errno));
		key(k, sizeof(k), "audio-input-config", d->vm_name);
		if (qubes_store_watch(d->store, k) < 0)
			return -EIO;
		d->store_src = vsnd_loop_add_fd(d->loop, qubes_store_fd(d->store), EPOLLIN, store_event, d);
		if (!d->store_src)
			return -errno;
		/* A decision stored before the daemon started applies from the start. */
		if (qubes_store_read(d->store, k, v, sizeof(v)) >= 0)
			on_store_key(d, k, v);
	}
	if (d->cfg.dbus) {
		/* No bus reachable is not an error: the other surfaces still work. */
		d->dbus = qubes_dbus_new(d->vm_name, on_dbus_cmd, d);
		if (d->dbus) {
			d->dbus_src = vsnd_loop_add_fd(d->loop, qubes_dbus_fd(d->dbus),
						       qubes_dbus_events(d->dbus), dbus_event, d);
			if (!d->dbus_src) {
				qubes_dbus_destroy(d->dbus);
				d->dbus = NULL;
			}
		}
	}
	return 0;
}

/* ---- object ---- */

struct qubes_daemon *qubes_daemon_new(const struct qubes_daemon_config *c, struct vsnd_loop *loop)
{
	if (!c->vm_name || !*c->vm_name || strlen(c->vm_name) >= 100 || c->domid < 0 ||
	    c->period_frames < 16 || c->ring_periods < 2) {
		errno = EINVAL;
		return NULL;
	}
	struct qubes_daemon *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->cfg = *c;
	d->loop = loop;
	snprintf(d->vm_name, sizeof(d->vm_name), "%s", c->vm_name);
	d->cfg.vm_name = d->vm_name;
	d->cfg.audio.vm_name = d->vm_name;
	pthread_mutex_init(&d->play_lock, NULL);
	pthread_mutex_init(&d->mic_lock, NULL);
	d->rl_discard = (struct vsnd_ratelimit)VSND_RATELIMIT_INIT(VSND_NSEC_PER_SEC, 1);
	d->rl_mic = (struct vsnd_ratelimit)VSND_RATELIMIT_INIT(5 * VSND_NSEC_PER_SEC, 1);
	d->rl_ctl = (struct vsnd_ratelimit)VSND_RATELIMIT_INIT(VSND_NSEC_PER_SEC, 5);
	qubes_ctl_decoder_reset(&d->ctl);
	qubes_mic_init(&d->mic, &mic_ops, d);
	d->auto_start = true;

	int ret = -ENOMEM;
	d->retry_timer = vsnd_loop_add_timer(loop, retry_timer_fn, d);
	d->status_timer = vsnd_loop_add_timer(loop, status_timer_fn, d);
	d->cork_timer = vsnd_loop_add_timer(loop, cork_timer_fn, d);
	d->store_retry = vsnd_loop_add_timer(loop, store_retry_fn, d);
	if (!d->retry_timer || !d->status_timer || !d->cork_timer || !d->store_retry)
		goto err;
	ret = setup_surfaces(d);
	if (ret < 0)
		goto err;
	qubes_daemon_publish(d);
	connect_vm(d);
	return d;
err:
	qubes_daemon_destroy(d);
	errno = -ret;
	return NULL;
}

/* On exit, play out what the VM already handed us (at most one ring, ~40 ms). */
static void drain_playback(struct qubes_daemon *d)
{
	if (!d->out || d->corked)
		return;
	struct vsnd_ring *ring = vsnd_audio_stream_ring(d->out);
	uint64_t limit = vsnd_now_ns() + vsnd_frames_to_ns(vsnd_ring_capacity(ring), QUBES_AUDIO_RATE) +
			 200 * VSND_NSEC_PER_MSEC;
	while (vsnd_ring_readable(ring) > 0 && vsnd_now_ns() < limit) {
		struct pollfd pfd = { .fd = vsnd_audio_stream_fd(d->out), .events = POLLIN };
		poll(&pfd, 1, 20);
		vsnd_audio_stream_dispatch(d->out);
	}
}

void qubes_daemon_destroy(struct qubes_daemon *d)
{
	if (!d)
		return;
	if (d->in)
		qubes_daemon_set_mic_flow(d, false);
	drain_playback(d);
	qubes_daemon_close_playback(d);
	vsnd_audio_destroy(d->audio);
	close_end(d, &d->play);
	close_end(d, &d->rec);
	remove_keys(d, d->store);
	remove_keys(d, d->status_store);
	qubes_store_destroy(d->status_store);
	d->status_store = NULL;
	vsnd_loop_remove(d->store_src);
	vsnd_loop_remove(d->store_retry);
	qubes_store_destroy(d->store);
	vsnd_loop_remove(d->dbus_src);
	qubes_dbus_destroy(d->dbus);
	vsnd_loop_remove(d->ctlsock_src);
	qubes_ctlsock_destroy(d->ctlsock);
	vsnd_loop_remove(d->retry_timer);
	vsnd_loop_remove(d->status_timer);
	vsnd_loop_remove(d->cork_timer);
	pthread_mutex_destroy(&d->play_lock);
	pthread_mutex_destroy(&d->mic_lock);
	free(d);
}

void qubes_daemon_get_stats(struct qubes_daemon *d, struct qubes_daemon_stats *st)
{
	d->stats.vm_connected = d->play.connected && d->rec.connected;
	d->stats.audio_open = d->audio != NULL;
	d->stats.corked = d->corked;
	d->stats.mic_requested = d->mic.st.requested;
	d->stats.mic_allowed = d->mic.st.allowed;
	d->stats.mic_flowing = d->mic.st.flowing;
	if (d->out) {
		struct vsnd_audio_status s;
		vsnd_audio_stream_get_status(d->out, &s);
		d->stats.latency_frames = s.ring_frames + s.delay_frames;
		d->stats.server_delay_frames = s.delay_frames;
		d->stats.underruns = (uint32_t)s.underrun_frames;
	}
	d->stats.frames_played = atomic_load(&d->frames_played);
	d->stats.silence_skipped = atomic_load(&d->silence_skipped);
	d->stats.rt_busy = atomic_load(&d->rt_busy);
	pthread_mutex_lock(&d->play_lock);
	d->stats.play_lat_p50_us = (uint32_t)(vsnd_latency_quantile(&d->play_lat, 500) / 1000);
	d->stats.play_lat_p99_us = (uint32_t)(vsnd_latency_quantile(&d->play_lat, 990) / 1000);
	pthread_mutex_unlock(&d->play_lock);
	pthread_mutex_lock(&d->mic_lock); /* the microphone's counters move on its realtime thread */
	d->stats.mic_lat_p50_us = (uint32_t)(vsnd_latency_quantile(&d->mic_lat, 500) / 1000);
	d->stats.mic_lat_p99_us = (uint32_t)(vsnd_latency_quantile(&d->mic_lat, 990) / 1000);
	*st = d->stats;
	pthread_mutex_unlock(&d->mic_lock);
}

bool qubes_daemon_vchans_ready(struct qubes_daemon *d)
{
	return d->vchans_ready_once;
}
