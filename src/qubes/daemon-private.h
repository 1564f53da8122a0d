/* SPDX-License-Identifier: MIT */
/* State shared by daemon.c (lifecycle, control, status) and daemon-io.c (the two data paths). */
#ifndef VSND_QUBES_DAEMON_PRIVATE_H
#define VSND_QUBES_DAEMON_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>

#include "ctlsock.h"
#include "daemon.h"
#include "dbus.h"
#include "mic.h"
#include "frames.h"
#include "proto.h"
#include "store.h"
#include "vsnd/latency.h"
#include "vsnd/libvchan.h"
#include "vsnd/log.h"

extern struct vsnd_log_topic qubes_daemon_log;

#define QUBES_DAEMON_READ_CHUNK 16384 /* bytes per vchan read: ~93 ms of audio */

struct vchan_end {
	libvchan_t *vc;
	struct vsnd_loop_source *src;
	int fd; /* what src watches */
	bool connected;
	bool paused; /* EPOLLIN off: nowhere to put what it has */
};

struct qubes_daemon {
	struct qubes_daemon_config cfg;
	char vm_name[128];
	struct vsnd_loop *loop;

	/* vchans: play = 4713, rec = 4714 */
	struct vchan_end play, rec;
	struct vsnd_loop_source *retry_timer; /* reconnect to the VM / reopen audio */
	bool vchans_ready_once;

	/* audio */
	struct vsnd_audio *audio;
	struct vsnd_audio_stream *out; /* "playback" */
	struct vsnd_audio_stream *in;  /* "record", only while the mic flows */
	struct vsnd_loop_source *out_src, *in_src;
	struct qubes_frame_carry carry; /* bytes of an incomplete VM frame */
	uint8_t mic_partial[QUBES_AUDIO_FRAME_BYTES]; /* a frame the vchan took only part of */
	uint32_t mic_partial_len, mic_partial_off;
	bool corked;       /* the VM said SINK_CORK */
	bool auto_start;   /* no cork word yet: the first audio starts the host stream */
	bool cork_pending; /* corked, still draining what the VM sent before */
	uint64_t cork_at;  /* when the sound server will have played out (0: not known yet) */
	struct vsnd_loop_source *cork_timer;

	/* control */
	struct qubes_ctl_decoder ctl;
	struct qubes_mic mic;
	struct qubes_ctlsock *ctlsock;
	struct vsnd_loop_source *ctlsock_src;
	struct qubes_dbus *dbus;
	struct vsnd_loop_source *dbus_src;
	struct qubes_store *store;
	/*
	 * With QubesDB as the store: the status directory as well, for what
	 * vsnd-ctl reads (the status line, a mirror of the audio-input keys).
	 * NULL when the store is that directory already.
	 */
	struct qubes_store *status_store;
	struct vsnd_loop_source *store_src;
	struct vsnd_loop_source *store_retry; /* armed while the store's watch is lost */
	struct vsnd_loop_source *status_timer;
	bool publish_soon; /* status_timer armed once for counters that changed */

	/*
	 * While the host stream runs, its realtime thread reads the playback
	 * vchan itself, just in time (qubes_daemon_refill): VM audio waits in
	 * the vchan, where the VM's rate control sees it, not in our ring, and
	 * a control loop that wakes late can no longer starve the host clock.
	 * play_lock guards what both threads touch: reads of play.vc, carry,
	 * the ring's write side, play_in and play_lat. The realtime thread only
	 * ever trylocks it.
	 */
	pthread_mutex_t play_lock;
	libvchan_t *rt_vc;   /* the vchan the realtime thread may read now, or NULL */
	_Atomic bool rt_fed; /* its last pull was met in full: no need to pump or to wake for VM writes */
	_Atomic uint64_t frames_played;
	_Atomic uint64_t silence_skipped; /* leading silence dropped at starts (skip_start_silence) */
	_Atomic uint32_t rt_busy; /* refills that found the lock held */
	uint64_t start_ns; /* play_lock: the host stream was started then, no pull yet (0: none) */
	uint8_t read_buf[QUBES_DAEMON_READ_CHUNK + QUBES_AUDIO_FRAME_BYTES]; /* play_lock */
	/*
	 * The microphone likewise: while it flows, the record stream's
	 * realtime thread writes what it captured straight into rec.vc
	 * (qubes_daemon_drain_mic). mic_lock guards rec.vc (the control words
	 * are read from it too), mic_partial*, mic_out, mic_lat and the
	 * stats.mic_* counters; the realtime thread only trylocks it.
	 */
	pthread_mutex_t mic_lock;
	libvchan_t *rt_mic; /* the vchan the record stream's thread may write now, or NULL */

	struct qubes_daemon_stats stats;
	/* added latency: frame enters our code -> handed on (BENCH.md) */
	struct vsnd_latency play_lat, mic_lat;
	uint64_t play_in;  /* frames written into the current playback ring */
	uint64_t mic_out;  /* frames taken out of the current record ring */
	struct vsnd_ratelimit rl_discard, rl_mic, rl_ctl;
};

/* daemon-io.c */
int qubes_daemon_open_playback(struct qubes_daemon *d);
void qubes_daemon_close_playback(struct qubes_daemon *d);
int qubes_daemon_set_mic_flow(void *data, bool on);
void qubes_daemon_pump_playback(struct qubes_daemon *d);
void qubes_daemon_pump_mic(struct qubes_daemon *d);
void qubes_daemon_apply_cork(struct qubes_daemon *d);
void qubes_daemon_read_control(struct qubes_daemon *d);
/* Let the realtime thread read the playback vchan iff the stream runs uncorked (call after changes). */
void qubes_daemon_rt_update(struct qubes_daemon *d);
bool qubes_daemon_refill(void *data, struct vsnd_ring *ring, uint32_t want);
bool qubes_daemon_drain_mic(void *data, struct vsnd_ring *ring);

/* daemon.c */
void qubes_daemon_vm_gone(struct qubes_daemon *d, const char *why);
void qubes_daemon_publish(struct qubes_daemon *d);
/* Publish within 100 ms, at most once per 100 ms (for counters a flood could change often). */
void qubes_daemon_publish_soon(struct qubes_daemon *d);

#endif /* VSND_QUBES_DAEMON_PRIVATE_H */
