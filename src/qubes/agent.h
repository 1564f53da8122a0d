/* SPDX-License-Identifier: MIT */
/*
 * The VM side of the Qubes audio protocol (../shared/PROTOCOLS.md section 1)
 * as two PipeWire nodes: an Audio/Sink whose audio goes to the host daemon
 * over vchan 4713, and an Audio/Source fed by the host's microphone data on
 * vchan 4714, which also carries our control words to the host.
 *
 * The same core serves the PipeWire module (libpipewire-module-vsnd-qubes,
 * inside the VM's PipeWire daemon) and the standalone client
 * (vsnd-qubes-agent): both hand it a context, a core and the context's main
 * loop.
 *
 * Threads: the process callbacks run on PipeWire's realtime data thread and
 * touch the rings, atomics, RT-safe pw_stream calls and, while their node
 * runs, their vchan's data (non-blocking, under a lock they only trylock):
 * the sink sends, the source reads, so no period needs a wake-up of the main
 * loop. The vchans' lifetime, the control words and everything else live on
 * the main loop, which also moves the audio while a node does not run (or its
 * thread missed the lock) and which the data thread wakes through an event
 * source. The rate control looks at ring + vchan together: the whole path
 * the agent can see.
 *
 * Pacing: each node follows the graph's driver; a delay-locked loop
 * (spa_dll) steers the adapter's resampler so that the frames queued
 * toward the host (sink) or from it (source) stay at the target, whatever the
 * drift between the VM's clock and the host's sound card.
 */
#ifndef VSND_QUBES_AGENT_H
#define VSND_QUBES_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pw_context;
struct pw_core;

struct qubes_agent_config {
	int domid;               /* host (audio VM) domain; < 0: QubesDB, else 0 */
	const char *domid_store; /* directory store holding /qubes-audio-domain-xid (tests,
				    non-Qubes); NULL: QubesDB where built in */
	uint32_t target_frames;  /* playback: queued frames the loop holds (default 441 = 10 ms) */
	uint32_t rec_target_frames; /* record: the same (default 441 = 10 ms: the host delivers a
				       5 ms period at a time, the graph takes quanta between) */
	uint32_t prefill_frames; /* silence queued when playback starts (default 441 = 10 ms,
				    the target: vsnd-qubes keeps no queue of its own) */
	uint32_t quantum_frames; /* node.latency asked of the graph (default 128 = 2.9 ms) */
	uint32_t play_vchan_bytes; /* vchan ring sizes (default 8192 each) */
	uint32_t rec_vchan_bytes;
	const char *sink_name, *sink_desc;     /* node.name / node.description */
	const char *source_name, *source_desc;
	const char *status_file; /* keep the counters (qubes_agent_format_stats) in this file,
				    rewritten 5 times a second; NULL: none */
};

/* Fill @c with the defaults above (names "vsnd-qubes-sink" / "vsnd-qubes-source"). */
void qubes_agent_config_defaults(struct qubes_agent_config *c);

/*
 * Set one option by name, the spelling shared by the module's arguments and
 * the program's --options: domid, domid-store, target-ms, record-target-ms, prefill-ms, quantum,
 * playback-vchan-bytes, record-vchan-bytes, sink-name, sink-description,
 * source-name, source-description, status-file. @value is kept by pointer: it must live
 * until qubes_agent_new() returned. 0, -ENOENT (unknown key) or -EINVAL.
 */
int qubes_agent_config_set(struct qubes_agent_config *c, const char *key, const char *value);

struct qubes_agent_stats {
	bool play_connected, rec_connected; /* vchans to the host */
	bool sink_running, source_running;  /* what we last told the host */
	uint64_t frames_sent;       /* sink -> vchan */
	uint64_t frames_dropped;    /* sink: overrun or no host (whole frames) */
	uint64_t frames_received;   /* vchan -> source */
	uint64_t silence_frames;    /* source: underrun filled with silence */
	uint64_t ctl_words;         /* control words sent */
	uint32_t play_fill_frames;  /* queued toward the host now (ring + vchan) */
	uint32_t play_target_frames; /* what the rate control holds it at (>= --target-ms) */
	uint32_t play_reprimes;     /* times the host read the queue dry and silence restored it */
	uint32_t rec_underruns;     /* times the source ran dry (then silence until re-primed) */
	uint64_t rec_dropped;       /* source: a stall's backlog past its limit (whole frames) */
	uint32_t rec_fill_frames;   /* queued from the host now */
	double play_rate, rec_rate; /* resampler correction now */
	uint32_t connects;          /* host connections on 4714 */
	int domid;
};

struct qubes_agent;

/*
 * Create the two nodes on @core and the vchan servers for the host domain.
 * @context's main loop must be the loop that runs @core. The agent keeps
 * pointers to all three (not owned). NULL with errno on failure.
 * Thread: the main loop's.
 */
struct qubes_agent *qubes_agent_new(struct pw_context *context, struct pw_core *core,
				    const struct qubes_agent_config *cfg);

/* Remove the nodes and close the vchans. NULL is accepted. Thread: main loop. */
void qubes_agent_destroy(struct qubes_agent *a);

/* A snapshot of the counters. Thread: main loop. */
void qubes_agent_get_stats(struct qubes_agent *a, struct qubes_agent_stats *st);

/* "key=value ..." of the stats, one line without newline, for status files and logs. */
int qubes_agent_format_stats(const struct qubes_agent_stats *st, char *buf, size_t len);

#endif /* VSND_QUBES_AGENT_H */
