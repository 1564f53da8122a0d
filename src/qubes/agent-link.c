/* SPDX-License-Identifier: MIT */
/*
 * The agent's link to the host daemon: the two vchan servers (the VM is the
 * server, the daemon the client), moving whole frames between the rings and
 * the vchans, the control words, and the host's domain id (QubesDB
 * /qubes-audio-domain-xid, watched, where it exists). The main loop owns it;
 * while a node runs, its data thread moves the audio itself (agent_play_rt_*,
 * agent_rec_rt_pull) and the main loop is not woken per period.
 *
 * A host that goes away leaves the nodes in place: the vchan is closed and a
 * new server waits for the daemon to come back, the sink's audio is dropped
 * (counted) meanwhile and the source plays silence.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent-private.h"
#include "vsnd/clock.h"

#define DOMAIN_KEY "/qubes-audio-domain-xid"
#define MAX_ROUNDS 16 /* bound the work per event */

static void on_vchan(void *data, int fd, uint32_t mask);
static void pump_play(struct qubes_agent *a);

static void dir_close(struct qubes_agent *a, struct agent_dir *d)
{
	atomic_store_explicit(&d->linked, false, memory_order_release);
	atomic_store(&d->vchan_frames, 0);
	if (d->io) {
		pw_loop_destroy_source(a->loop, d->io);
		d->io = NULL;
	}
	pthread_mutex_lock(&d->lock);
	libvchan_close(d->vc);
	d->vc = NULL;
	d->connected = false;
	d->rt_reads = false;
	d->carry.len = 0;
	d->vchan_cap = 0;
	pthread_mutex_unlock(&d->lock);
}

static int dir_listen(struct qubes_agent *a, struct agent_dir *d)
{
	if (d->vc)
		return 0;
	/* The control words we send on the record vchan need only a small ring. */
	size_t rd = d->playback ? 1024 : a->cfg.rec_vchan_bytes;
	size_t wr = d->playback ? a->cfg.play_vchan_bytes : 1024;
	libvchan_t *vc = libvchan_server_init(a->domid, d->playback ? QUBES_AUDIO_PLAYBACK_PORT
								   : QUBES_AUDIO_RECORD_PORT,
					      rd, wr);
	pthread_mutex_lock(&d->lock);
	d->vc = vc;
	pthread_mutex_unlock(&d->lock);
	if (!d->vc) {
		int err = errno;
		vsnd_error(&qubes_agent_log, "%s vchan for domain %d: %s (retrying)", d->what, a->domid,
			   strerror(err));
		return -err;
	}
	libvchan_set_blocking(d->vc, false);
	d->io = pw_loop_add_io(a->loop, libvchan_fd_for_select(d->vc), SPA_IO_IN, false, on_vchan, d);
	d->watching = true;
	if (!d->io) {
		int err = errno;
		dir_close(a, d);
		return -err;
	}
	vsnd_debug(&qubes_agent_log, "%s vchan waiting for domain %d", d->what, a->domid);
	return 0;
}

static void set_watch(struct qubes_agent *a, struct agent_dir *d, bool on)
{
	if (d->io && d->watching != on) {
		pw_loop_update_io(a->loop, d->io, on ? SPA_IO_IN : 0);
		d->watching = on;
	}
}

/* Nothing may come from the host on the playback vchan: drop it, or its fd would stay readable. */
static void drain_unused(struct agent_dir *d)
{
	uint8_t buf[4096];
	for (int round = 0; round < MAX_ROUNDS && libvchan_data_ready(d->vc) > 0; round++)
		if (libvchan_read(d->vc, buf, sizeof(buf)) <= 0)
			break;
}

static int send_words(struct qubes_agent *a, const uint32_t *words, size_t n)
{
	/* libvchan_send: all words or none, so the host never sees a torn one. */
	pthread_mutex_lock(&a->rec.lock); /* the source's data thread may be reading this vchan */
	int r = libvchan_send(a->rec.vc, words, n * sizeof(*words));
	pthread_mutex_unlock(&a->rec.lock);
	if (r == (int)(n * sizeof(*words))) {
		a->ctl_words += n;
		return 0;
	}
	return r < 0 ? -errno : -EAGAIN;
}

void agent_link_send_state(struct qubes_agent *a)
{
	if (!a->rec.connected)
		return;
	int sink = a->play.running, source = a->rec.running;
	if (a->told_sink < 0 || a->told_source < 0) {
		/* First words on a new connection: the whole state at once. */
		uint32_t w[3] = { QUBES_INITIAL_STATE, source ? QUBES_SOURCE_START : QUBES_SOURCE_STOP,
				  sink ? QUBES_SINK_UNCORK : QUBES_SINK_CORK };
		if (send_words(a, w, 3) == 0) {
			a->told_sink = sink;
			a->told_source = source;
			vsnd_info(&qubes_agent_log, "told the host: microphone %s, speakers %s",
				  source ? "wanted" : "not wanted", sink ? "playing" : "idle");
		}
		return;
	}
	if (a->told_sink != sink) {
		/*
		 * What was played goes out before the cork: the host plays what it
		 * has when the word arrives, and discards what comes after. Until
		 * the ring is in the vchan the word waits (the vchan's space
		 * events and the tick try again).
		 */
		if (!sink) {
			pump_play(a);
			if (a->play.connected && vsnd_ring_readable(&a->play.ring) > 0)
				goto source;
		}
		uint32_t w = sink ? QUBES_SINK_UNCORK : QUBES_SINK_CORK;
		if (send_words(a, &w, 1) == 0) {
			a->told_sink = sink;
			vsnd_info(&qubes_agent_log, "told the host: speakers %s", sink ? "playing" : "idle");
		}
	}
source:
	if (a->told_source != source) {
		uint32_t w = source ? QUBES_SOURCE_START : QUBES_SOURCE_STOP;
		if (send_words(a, &w, 1) == 0) {
			a->told_source = source;
			vsnd_info(&qubes_agent_log, "told the host: microphone %s",
				  source ? "wanted" : "not wanted");
		}
	}
}

/*
 * Under d->lock: the frames the host has not read yet, and the room left in
 * @space. One look per cycle: on the socket transport it is an exact
 * (sock_diag) query, the costliest call of the cycle; what we send is then
 * subtracted from it.
 */
static uint32_t play_in_vchan(struct agent_dir *d, uint32_t *space)
{
	*space = (uint32_t)libvchan_buffer_space(d->vc);
	/* The API has no ring size; an empty vchan shows it as space. */
	if (*space > d->vchan_cap)
		d->vchan_cap = *space;
	return (d->vchan_cap - *space) / QUBES_AUDIO_FRAME_BYTES;
}

/* Under d->lock: send what the ring holds into @space; false if the vchan failed. */
static bool play_push(struct agent_dir *d, uint32_t space)
{
	bool ok = true;
	for (int round = 0; round < 2; round++) {
		struct vsnd_ring_area ar[2];
		uint32_t n = vsnd_ring_read_begin(&d->ring, ar, space / QUBES_AUDIO_FRAME_BYTES);
		if (n == 0)
			break;
		/* One area per send: each is whole frames or nothing. */
		uint32_t bytes = ar[0].frames * QUBES_AUDIO_FRAME_BYTES;
		int r = libvchan_send(d->vc, ar[0].data, bytes);
		if (r != (int)bytes) {
			ok = r >= 0;
			break;
		}
		vsnd_ring_read_commit(&d->ring, ar[0].frames);
		space -= bytes;
	}
	/* What the host has not read yet: the vchan's share of the queue the DLL holds. */
	atomic_store_explicit(&d->vchan_frames, (d->vchan_cap - space) / QUBES_AUDIO_FRAME_BYTES,
			      memory_order_relaxed);
	return ok;
}

bool agent_play_rt_begin(struct agent_dir *d, uint32_t *in_vchan, uint32_t *space)
{
	if (pthread_mutex_trylock(&d->lock) != 0)
		return false;
	if (!d->connected) {
		pthread_mutex_unlock(&d->lock);
		return false;
	}
	*in_vchan = play_in_vchan(d, space);
	return true;
}

bool agent_play_rt_end(struct agent_dir *d, uint32_t space)
{
	bool ok = play_push(d, space) && space > 0 && vsnd_ring_readable(&d->ring) == 0;
	pthread_mutex_unlock(&d->lock);
	return ok;
}

/*
 * Playback wants the main loop's vchan watch only while the data thread does
 * not write it each cycle: waiting for the host, and while the sink is idle
 * (a cork waits for the ring to drain first). Otherwise each host read would
 * wake the main loop for nothing; the data thread's failed send notices a
 * host that went away, and wakes us.
 */
static void play_watch_update(struct qubes_agent *a)
{
	set_watch(a, &a->play, !(a->play.connected && a->play.running));
}

static void pump_play(struct qubes_agent *a)
{
	struct agent_dir *d = &a->play;
	pthread_mutex_lock(&d->lock);
	if (!d->connected) {
		vsnd_ring_skip(&d->ring, vsnd_ring_readable(&d->ring));
	} else {
		uint32_t space;
		play_in_vchan(d, &space);
		play_push(d, space);
	}
	pthread_mutex_unlock(&d->lock);
}

/*
 * Under d->lock: move what the host sent into the ring as whole frames, as
 * far as it has room (the rest waits in the vchan), or throw it away unless
 * @keep. One look at the vchan and one read per cycle when data is there:
 * the data thread calls this every graph cycle.
 */
static void rec_read(struct agent_dir *d, bool keep)
{
	uint8_t buf[8192 + QUBES_AUDIO_FRAME_BYTES];
	int ready = libvchan_data_ready(d->vc);
	for (int round = 0; round < MAX_ROUNDS && ready > 0; round++) {
		uint64_t room = keep ? (uint64_t)vsnd_ring_writable(&d->ring) * QUBES_AUDIO_FRAME_BYTES
				     : sizeof(buf) - QUBES_AUDIO_FRAME_BYTES;
		if (room <= d->carry.len)
			break;
		size_t want = (size_t)ready;
		want = SPA_MIN(want, sizeof(buf) - QUBES_AUDIO_FRAME_BYTES);
		want = SPA_MIN(want, (size_t)(room - d->carry.len));
		uint32_t carried = d->carry.len;
		int frames = qubes_read_frames(d->vc, &d->carry, buf, want);
		if (frames < 0) {
			ready = 0;
			break;
		}
		if (keep)
			vsnd_ring_write(&d->ring, buf, (uint32_t)frames);
		/* What is left of what was ready; more may have come since: the next look sees it. */
		ready -= (int)((uint32_t)frames * QUBES_AUDIO_FRAME_BYTES + d->carry.len - carried);
	}
	atomic_store_explicit(&d->vchan_frames, ready > 0 ? (uint32_t)ready / QUBES_AUDIO_FRAME_BYTES : 0,
			      memory_order_relaxed);
}

void agent_rec_rt_pull(struct agent_dir *d)
{
	if (pthread_mutex_trylock(&d->lock) != 0)
		return;
	if (d->rt_reads)
		rec_read(d, true);
	pthread_mutex_unlock(&d->lock);
}

/* Has the host gone? */
static bool dir_lost(struct agent_dir *d)
{
	pthread_mutex_lock(&d->lock);
	bool lost = d->connected && libvchan_is_open(d->vc) == VCHAN_DISCONNECTED;
	pthread_mutex_unlock(&d->lock);
	return lost;
}

static void host_gone(struct qubes_agent *a, struct agent_dir *d);

/*
 * The record vchan, from the main loop. While the source runs its data
 * thread reads the vchan each cycle (the main loop is not woken by each host
 * period, ~200 a second): here we only look whether the host went away
 * (the reads cannot tell an empty vchan from a closed one). Otherwise
 * nobody records: what the host still sends is thrown away, not kept for
 * later.
 */
static void pump_rec(struct qubes_agent *a)
{
	struct agent_dir *d = &a->rec;
	bool lost = false;
	pthread_mutex_lock(&d->lock);
	if (d->connected && d->rt_reads)
		lost = libvchan_is_open(d->vc) == VCHAN_DISCONNECTED;
	else if (d->connected)
		rec_read(d, false);
	pthread_mutex_unlock(&d->lock);
	if (lost)
		host_gone(a, d);
}

/* Who reads the record vchan: the source's data thread while it runs, else the main loop. */
static void rec_mode_update(struct qubes_agent *a)
{
	struct agent_dir *d = &a->rec;
	pthread_mutex_lock(&d->lock);
	d->rt_reads = d->connected && d->running;
	pthread_mutex_unlock(&d->lock);
	set_watch(a, d, !d->rt_reads);
}

static void host_gone(struct qubes_agent *a, struct agent_dir *d)
{
	vsnd_info(&qubes_agent_log, "%s vchan: host gone, waiting for it again", d->what);
	dir_close(a, d);
	dir_listen(a, d);
	if (d->playback)
		play_watch_update(a);
	else
		rec_mode_update(a);
}

void agent_link_wake(struct agent_dir *d)
{
	struct qubes_agent *a = d->agent;
	if (dir_lost(d)) {
		host_gone(a, d);
		return;
	}
	pump_play(a);
}

void agent_link_running(struct qubes_agent *a)
{
	play_watch_update(a);
	rec_mode_update(a);
	agent_link_send_state(a);
}

static void on_vchan(void *data, int fd, uint32_t mask)
{
	struct agent_dir *d = data;
	struct qubes_agent *a = d->agent;
	(void)fd;
	(void)mask;
	pthread_mutex_lock(&d->lock);
	libvchan_wait(d->vc);
	int st = libvchan_is_open(d->vc);
	bool now_connected = st == VCHAN_CONNECTED && !d->connected;
	if (now_connected) {
		d->connected = true;
		d->carry.len = 0;
	}
	if (d->connected && d->playback)
		drain_unused(d);
	pthread_mutex_unlock(&d->lock);
	if (now_connected) {
		atomic_store(&d->vchan_frames, 0);
		if (d->playback && d->running)
			atomic_store(&d->flush, true); /* a new host: prefill its buffer again */
		atomic_store_explicit(&d->linked, true, memory_order_release);
		vsnd_info(&qubes_agent_log, "%s vchan: host (domain %d) connected", d->what, a->domid);
		if (!d->playback) {
			a->connects++;
			a->told_sink = a->told_source = -1;
			agent_link_send_state(a);
		}
		if (d->playback)
			play_watch_update(a);
		else
			rec_mode_update(a);
	} else if (st == VCHAN_DISCONNECTED) {
		host_gone(a, d);
		return;
	}
	if (d->connected && d->playback)
		pump_play(a);
	else if (d->connected)
		pump_rec(a);
	/* A word that did not fit before may fit now, a cork waiting for the ring may go. */
	agent_link_send_state(a);
}

/* ---- the host's domain ---- */

static void set_domain(struct qubes_agent *a, int domid)
{
	if (domid == a->domid)
		return;
	vsnd_info(&qubes_agent_log, "host audio domain: %d", domid);
	a->domid = domid;
	dir_close(a, &a->play);
	dir_close(a, &a->rec);
	dir_listen(a, &a->play);
	dir_listen(a, &a->rec);
}

static void on_domain_key(void *data, const char *key, const char *value)
{
	struct qubes_agent *a = data;
	(void)key;
	int domid = qubes_domid_parse(value);
	if (domid < 0) {
		vsnd_warn(&qubes_agent_log, "%s: '%s' is not a domain id, keeping %d", DOMAIN_KEY,
			  value ? value : "(removed)", a->domid);
		return;
	}
	set_domain(a, domid);
}

static void on_store(void *data, int fd, uint32_t mask)
{
	struct qubes_agent *a = data;
	(void)fd;
	(void)mask;
	if (qubes_store_dispatch(a->store) < 0) {
		/* A closed watch fd would wake us forever: keep the domain we have, retry. */
		vsnd_warn(&qubes_agent_log, "lost the %s watch of %s; keeping domain %d, watching again once it is back",
			  a->store->ops->name, DOMAIN_KEY, a->domid);
		pw_loop_destroy_source(a->loop, a->store_io);
		a->store_io = NULL;
		a->store_lost = true;
	}
}

/* From the 100 ms tick, once a second while the watch is lost. */
static void store_retry(struct qubes_agent *a)
{
	if (!a->store_lost || ++a->store_ticks % 10)
		return;
	/* A domain changed while away is reported (set_domain) from in here. */
	int r = qubes_store_restore(a->store);
	if (r == -ENOTSUP)
		vsnd_warn(&qubes_agent_log, "the %s store cannot watch again; keeping domain %d", a->store->ops->name,
			  a->domid);
	if (r < 0 && r != -ENOTSUP)
		return;
	a->store_lost = false;
	if (r < 0)
		return;
	a->store_io = pw_loop_add_io(a->loop, qubes_store_fd(a->store), SPA_IO_IN, false, on_store, a);
	if (a->store_io)
		vsnd_info(&qubes_agent_log, "%s is back: watching %s again", a->store->ops->name, DOMAIN_KEY);
	else
		vsnd_error(&qubes_agent_log, "cannot poll the %s watch: %s", a->store->ops->name, strerror(errno));
}

static int domain_lookup(struct qubes_agent *a)
{
	if (a->cfg.domid >= 0)
		return a->cfg.domid;
	if (a->cfg.domid_store)
		a->store = qubes_store_dir_new(a->cfg.domid_store, on_domain_key, a);
#ifdef VSND_HAVE_QUBESDB
	else
		a->store = qubes_store_qdb_new(on_domain_key, a);
#endif
	if (!a->store)
		return 0; /* not on Qubes: the host is dom0 */
	/* Watch first, then read: a change in between is seen either way. */
	if (qubes_store_watch(a->store, DOMAIN_KEY) == 0)
		a->store_io = pw_loop_add_io(a->loop, qubes_store_fd(a->store), SPA_IO_IN, false, on_store, a);
	char buf[32];
	int domid = 0;
	if (qubes_store_read(a->store, DOMAIN_KEY, buf, sizeof(buf)) >= 0) {
		domid = qubes_domid_parse(buf);
		if (domid < 0) {
			vsnd_warn(&qubes_agent_log, "%s: '%s' is not a domain id, using 0", DOMAIN_KEY, buf);
			domid = 0;
		}
	}
	return domid;
}

int agent_link_start(struct qubes_agent *a)
{
	a->domid = domain_lookup(a);
	vsnd_info(&qubes_agent_log, "host audio domain: %d", a->domid);
	/* A failure here is retried by the tick: the nodes exist either way. */
	dir_listen(a, &a->play);
	dir_listen(a, &a->rec);
	return 0;
}

void agent_link_stop(struct qubes_agent *a)
{
	dir_close(a, &a->play);
	dir_close(a, &a->rec);
	if (a->store_io)
		pw_loop_destroy_source(a->loop, a->store_io);
	a->store_io = NULL;
	qubes_store_destroy(a->store);
	a->store = NULL;
}

void agent_link_tick(struct qubes_agent *a)
{
	dir_listen(a, &a->play);
	dir_listen(a, &a->rec);
	/*
	 * While the sink runs its data thread sends playback, and notices a host
	 * that went away by the failed send (and wakes us): taking the lock here
	 * would only risk holding it when that thread wants it (this thread is
	 * not realtime, and may be preempted while holding it).
	 */
	if (a->play.watching)
		pump_play(a);
	pump_rec(a);
	agent_link_send_state(a);
	store_retry(a);
}
