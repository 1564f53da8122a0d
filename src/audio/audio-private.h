/* SPDX-License-Identifier: MIT */
/*
 * What a backend implements, and the stream state the common code shares
 * with it. Private to src/audio.
 *
 * A backend is one `static const struct vsnd_audio_ops` table, listed in
 * audio.c. The common code validates parameters, allocates the ring and the
 * eventfds, and calls the table; the backend moves frames between the ring
 * and its device with vsnd_audio_stream_pull()/push() from its own realtime
 * thread, and reports through the atomics below.
 */
#ifndef VSND_AUDIO_PRIVATE_H
#define VSND_AUDIO_PRIVATE_H

#include <stdatomic.h>

#include "vsnd/audio.h"
#include "vsnd/log.h"

struct vsnd_audio_ops {
	const char *name;
	/* 0 if usable now (a server answers), else -errno. Used by "auto". May be NULL (always usable). */
	int (*probe)(const struct vsnd_audio_opts *opts);
	/* Connect; store private state in a->priv; fill a->describe. */
	int (*init)(struct vsnd_audio *a);
	void (*finish)(struct vsnd_audio *a);
	int (*get_caps)(struct vsnd_audio *a, enum vsnd_audio_direction dir,
			struct vsnd_audio_caps *caps);
	/* s->params, s->ring and the fds are ready; state is PAUSED. */
	int (*stream_open)(struct vsnd_audio_stream *s);
	/* Must stop the realtime side before returning. */
	void (*stream_close)(struct vsnd_audio_stream *s);
	int (*stream_start)(struct vsnd_audio_stream *s);
	int (*stream_stop)(struct vsnd_audio_stream *s);
	/* May be NULL: the common code then only records the values. */
	int (*stream_set_volume)(struct vsnd_audio_stream *s, float volume, bool muted);
};

struct vsnd_audio {
	const struct vsnd_audio_ops *ops;
	struct vsnd_audio_opts opts; /* strings owned (strdup) */
	char describe[256];
	void *priv;
	int n_streams;
};

struct vsnd_audio_stream {
	struct vsnd_audio *audio;
	struct vsnd_audio_params params; /* stream_name points at name[] */
	char name[64];
	uint32_t frame_bytes;
	struct vsnd_ring ring;
	int event_fd; /* backend -> control loop */
	int kick_fd;  /* control loop -> backend, written only while `waiting` */

	_Atomic uint32_t events;  /* VSND_AUDIO_EVENT_* not yet dispatched */
	_Atomic uint32_t state;   /* enum vsnd_audio_state */
	_Atomic uint64_t frames;
	_Atomic uint64_t underrun_frames;
	_Atomic uint64_t overrun_frames;
	_Atomic uint32_t delay_frames;
	_Atomic uint32_t reconnects;
	_Atomic uint32_t volume_milli; /* linear volume * 1000 */
	_Atomic bool muted;
	_Atomic bool waiting;    /* the backend thread sleeps on kick_fd */
	_Atomic bool in_xrun;    /* the last pull/push was short: report XRUN once */

	void *priv;
};

/* Shared log topic of the audio layer's common code. */
extern struct vsnd_log_topic vsnd_audio_log;

/*
 * Realtime-safe helpers for backends (no allocation, no locks, no logging).
 */

/* Mark @events pending and wake the control loop if nothing was pending. */
void vsnd_audio_stream_notify(struct vsnd_audio_stream *s, uint32_t events);

/* Set the state; notifies VSND_AUDIO_EVENT_STATE if it changed. */
void vsnd_audio_stream_set_state(struct vsnd_audio_stream *s, enum vsnd_audio_state st);

/*
 * Playback: copy up to @frames frames from the ring into @dst and fill the
 * rest with silence. Counts frames/underruns, notifies DATA (and XRUN when a
 * shortfall starts). @count_underrun false: a short ring is not an xrun
 * (e.g. unpaced backends that only take what is there). Returns frames taken
 * from the ring.
 */
uint32_t vsnd_audio_stream_pull(struct vsnd_audio_stream *s, void *dst, uint32_t frames,
				bool count_underrun);

/*
 * Capture: copy @frames frames from @src into the ring; frames that do not
 * fit are dropped and counted as overrun. Returns frames stored.
 */
uint32_t vsnd_audio_stream_push(struct vsnd_audio_stream *s, const void *src, uint32_t frames);

/*
 * For backends with a thread that must wait for the control side (unpaced
 * wav/null): sleep until vsnd_audio_stream_kick() or @extra_fd (may be -1)
 * becomes readable, at most @timeout_ms (-1 = forever). @seen_readable is
 * the ring's readable count the caller based its decision to wait on: if it
 * changed meanwhile, returns at once (no lost wake-up). Returns 1 if woken by
 * kick (or the ring changed), 2 if @extra_fd is readable, 0 on timeout,
 * -errno on error. The caller re-checks the ring afterwards.
 */
int vsnd_audio_stream_wait_kick(struct vsnd_audio_stream *s, uint32_t seen_readable,
				int extra_fd, int timeout_ms);

/* Wake a thread sleeping in vsnd_audio_stream_wait_kick() (e.g. to stop it). */
void vsnd_audio_stream_wake(struct vsnd_audio_stream *s);

/* Record a volume/mute change seen on the host side and notify VOLUME if it changed. */
void vsnd_audio_stream_report_volume(struct vsnd_audio_stream *s, float volume, bool muted);

/* Everything vsnd knows (for backends whose server or file converts anything). */
void vsnd_audio_caps_all(struct vsnd_audio_caps *caps);

/* The backend tables. */
extern const struct vsnd_audio_ops vsnd_audio_null_ops;
extern const struct vsnd_audio_ops vsnd_audio_wav_ops;
#ifdef VSND_HAVE_PIPEWIRE
extern const struct vsnd_audio_ops vsnd_audio_pipewire_ops;
#endif
#ifdef VSND_HAVE_PULSE
extern const struct vsnd_audio_ops vsnd_audio_pulse_ops;
#endif
#ifdef VSND_HAVE_ALSA
extern const struct vsnd_audio_ops vsnd_audio_alsa_ops;
#endif

#endif /* VSND_AUDIO_PRIVATE_H */
