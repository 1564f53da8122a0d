/* SPDX-License-Identifier: MIT */
/*
 * The host / audio-VM side of the Qubes audio protocol for one VM (what
 * pacat-simple-vchan does, without its defects; PROTOCOLS.md section 1):
 *
 *  - vchan client to the VM on 4713 (VM playback PCM -> host stream
 *    "playback") and 4714 (host microphone PCM -> VM, VM control words ->
 *    host); both vchans are connected before the sound server is touched;
 *  - whole frames only; playback is never dropped (the VM is paced by how
 *    fast the host drains the vchan), the microphone drops whole oldest frames
 *    when the VM does not read it (counted), so the daemon never blocks on a VM;
 *  - cork drains what the VM already sent, then corks; audio arriving while
 *    corked is discarded (counted) so nothing stale plays at uncork;
 *  - microphone samples flow only while the VM asked AND the user allowed,
 *    through the control socket, D-Bus or the status store (QubesDB keys);
 *    the host record stream exists only while both hold;
 *  - the VM going away: drain, close, wait for it again; the sound server
 *    going away: the audio backend reconnects and the state is restored.
 *
 * Runs on the caller's vsnd_loop; owns no thread of its own.
 */
#ifndef VSND_QUBES_DAEMON_H
#define VSND_QUBES_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "vsnd/audio.h"
#include "vsnd/loop.h"

struct qubes_daemon;

struct qubes_daemon_config {
	int domid;                     /* the VM's domain id (vchan peer) */
	const char *vm_name;           /* stream names, D-Bus name, status keys */
	struct vsnd_audio_opts audio;  /* backend options (vm_name is set from vm_name) */
	uint32_t period_frames;        /* host clock period (default 220 = 5 ms) */
	uint32_t ring_periods;         /* ring of each direction, in periods (default 8) */
	uint32_t fill_frames;          /* playback, main loop (before the host stream runs, or
					  with unclocked backends; else the realtime thread reads
					  just in time): read from the VM only while our ring holds
					  fewer frames (0 = the whole ring) */
	float volume;                  /* initial volume 0..1.5, < 0 = server default */
	bool mute;                     /* initial mute */
	const char *control_path;      /* audio-control socket, NULL = none */
	const char *status_dir;        /* directory status store, NULL = none */
	bool qubesdb;                  /* QubesDB instead (builds with VSND_HAVE_QUBESDB) */
	bool dbus;                     /* offer org.qubesos.Audio.VMNAME on the system bus */
};

struct qubes_daemon_stats {
	bool vm_connected;
	bool audio_open;
	bool corked;
	bool mic_requested, mic_allowed, mic_flowing;
	uint64_t frames_played;        /* VM frames handed to the host stream's ring (and played) */
	uint64_t frames_discarded;     /* VM frames that arrived while corked */
	uint64_t silence_skipped;      /* silent VM frames dropped at starts (not sound: see
					  skip_start_silence in daemon-io.c) */
	uint64_t mic_frames_sent;      /* microphone frames written to the VM */
	uint64_t mic_frames_dropped;   /* microphone frames the VM did not take in time */
	uint64_t ctl_words, ctl_unknown;
	uint64_t vm_connects;
	uint32_t latency_frames;       /* playback: ring + server delay now */
	uint32_t server_delay_frames;  /* of which the server's delay */
	uint32_t underruns;            /* host stream underrun frames (from the backend) */
	uint32_t rt_busy;              /* just-in-time reads skipped: the main loop held the lock */
	/* added latency (frame enters our code -> handed on), microseconds */
	uint32_t play_lat_p50_us, play_lat_p99_us, mic_lat_p50_us, mic_lat_p99_us;
};

/* Fill defaults: period 220, 8 ring periods, volume -1, no surfaces. */
void qubes_daemon_config_init(struct qubes_daemon_config *c);

/*
 * Start serving: begins connecting the vchans (the VM may not exist yet) and
 * sets up the control surfaces. NULL with errno (EINVAL: bad config; the
 * control socket or store could not be created).
 */
struct qubes_daemon *qubes_daemon_new(const struct qubes_daemon_config *c, struct vsnd_loop *loop);

/* Stop: close streams and vchans, remove the status keys. Accepts NULL. */
void qubes_daemon_destroy(struct qubes_daemon *d);

void qubes_daemon_get_stats(struct qubes_daemon *d, struct qubes_daemon_stats *st);

/* True once both vchans have connected at least once (for dropping privileges). */
bool qubes_daemon_vchans_ready(struct qubes_daemon *d);

#endif /* VSND_QUBES_DAEMON_H */
