/* SPDX-License-Identifier: MIT */
/*
 * Inside the agent: agent.c owns the PipeWire nodes (realtime side),
 * agent-link.c the vchans, control words and domain lookup (main loop).
 */
#ifndef VSND_QUBES_AGENT_PRIVATE_H
#define VSND_QUBES_AGENT_PRIVATE_H

#include <pthread.h>
#include <stdatomic.h>

#include <pipewire/pipewire.h>

#include "agent.h"
#include "frames.h"
#include "proto.h"
#include "rate.h"
#include "store.h"
#include "vsnd/libvchan.h"
#include "vsnd/log.h"
#include "vsnd/ring.h"

extern struct vsnd_log_topic qubes_agent_log;

/* One direction: the sink (playback, vchan 4713) or the source (record, vchan 4714). */
struct agent_dir {
	struct qubes_agent *agent;
	bool playback;
	const char *what; /* "playback" / "record" for logs */

	/* PipeWire side */
	struct pw_stream *stream;
	struct spa_hook listener;
	struct spa_io_rate_match *rate_match; /* RT */
	struct qubes_rate rc;                 /* RT */
	bool primed;                          /* RT, record: the target was reached, audio flows */
	uint32_t target;                      /* frames of queue the DLL holds (configured) */
	uint32_t last_after;                  /* RT, playback: the queue right after our last cycle */
	double host_read;                     /* RT, playback: the host's read size, averaged */
	bool running;                         /* main: the stream is STREAMING */
	struct vsnd_ring ring;                /* SPSC: RT <-> main loop */

	/*
	 * vchan side. The main loop owns it; the sink's data thread also writes
	 * the playback vchan and the source's reads the record vchan, under
	 * @lock, which they only trylock (a miss leaves that cycle's frames in
	 * the ring, or in the vchan, for the next cycle or the main loop). The
	 * main loop takes @lock around its vchan calls and around every change
	 * of vc / connected / rt_reads. The record ring then has two writers,
	 * the main loop and the data thread, never at once: both hold @lock.
	 */
	pthread_mutex_t lock;
	libvchan_t *vc;
	struct spa_source *io;
	struct spa_source *wake; /* playback: signalled by the data thread */
	bool watching; /* io is armed (paused while the data thread moves the audio itself) */
	bool connected;
	bool rt_reads; /* record, under lock: the source's data thread reads the vchan (it runs) */
	struct qubes_frame_carry carry; /* record: a frame still arriving */
	uint32_t vchan_cap; /* playback: the vchan's ring size, as seen empty */

	/* main -> RT */
	atomic_bool linked;          /* the vchan is connected */
	atomic_uint vchan_frames;    /* frames in the vchan (not yet read by the reader) */
	atomic_bool flush;           /* record: RT drops what the ring holds;
					playback: RT queues the prefill */

	/* RT -> main (counters) */
	atomic_ullong frames;        /* moved between graph and ring */
	atomic_ullong dropped;       /* whole frames lost to an overrun / no host */
	atomic_ullong silence;       /* frames of silence for an underrun */
	atomic_uint fill;            /* queued frames seen at the last cycle */
	atomic_uint reprimes;        /* playback: the host read the queue dry, silence refilled it;
					record: the source ran dry, silence until the target is back */
	atomic_uint target_now;      /* the target held now (playback: raised for long host reads) */
	_Atomic double rate;         /* the resampler correction of the last cycle */
};

struct qubes_agent {
	struct pw_context *context;
	struct pw_core *core;
	struct pw_loop *loop;
	struct qubes_agent_config cfg;
	int domid;

	struct agent_dir play, rec;
	struct spa_source *timer; /* reconnects, stats, latency reports */
	char *status_file;        /* cfg.status_file, our copy */
	unsigned int ticks;

	/* control words: what the host was last told (-1: nothing yet) */
	int told_sink, told_source;
	uint64_t ctl_words;
	uint32_t connects;
	int64_t reported_latency_ns[2]; /* ProcessLatency last set: play, rec */

	struct qubes_store *store; /* where the host's domain id is published */
	struct spa_source *store_io;
	bool store_lost;       /* its watch went away: agent_link_tick retries */
	unsigned int store_ticks;
};

/* agent-link.c (main loop) */
int agent_link_start(struct qubes_agent *a);
void agent_link_stop(struct qubes_agent *a);
void agent_link_wake(struct agent_dir *d);            /* the sink's data thread asked for the main loop */
void agent_link_running(struct qubes_agent *a);       /* the sink started or stopped */
void agent_link_send_state(struct qubes_agent *a);    /* tell the host about changes */
void agent_link_tick(struct qubes_agent *a);          /* periodic: reconnect, etc. */

/*
 * agent-link.c, on the sink's data thread: the playback vchan. begin: take
 * it if the main loop is not using it and the host is there; @in_vchan gets
 * the frames the host has not read yet (exact), @space the room left. end:
 * send the ring into that room, release the vchan; false if the main loop
 * should look (the host went away, or frames are left over).
 */
bool agent_play_rt_begin(struct agent_dir *d, uint32_t *in_vchan, uint32_t *space);
bool agent_play_rt_end(struct agent_dir *d, uint32_t space);

/*
 * agent-link.c, on the source's data thread: read what the host sent into the
 * ring, if this thread is the vchan's reader now (the source runs) and the
 * main loop does not hold it (else the data waits for the next cycle).
 */
void agent_rec_rt_pull(struct agent_dir *d);

#endif /* VSND_QUBES_AGENT_PRIVATE_H */
