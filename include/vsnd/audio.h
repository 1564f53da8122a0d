/* SPDX-License-Identifier: MIT */
/*
 * vsnd host audio: one interface over PipeWire, PulseAudio, ALSA, WAV files
 * and a null device.
 *
 * A struct vsnd_audio is a connection to one backend (one sound server
 * connection shared by all streams of the process). A struct
 * vsnd_audio_stream is one playback or capture stream on it, shown by the
 * sound server under the VM's name so each VM has its own volume.
 *
 * Threads: the backend runs its own realtime thread (the sound server's
 * callback thread, or a timerfd-paced thread for wav/null). The caller's
 * control loop and that thread meet only through the stream's SPSC ring
 * (vsnd_audio_stream_ring()) and two eventfds:
 *  - playback: the caller produces frames into the ring, then calls
 *    vsnd_audio_stream_kick(); the backend consumes them at the host clock's
 *    pace and plays silence (counted as underrun) when the ring is empty;
 *  - capture: the backend produces frames at the host clock's pace; when the
 *    ring is full the new frames are dropped and counted as overrun; the
 *    caller consumes and calls vsnd_audio_stream_kick().
 * The stream fd (vsnd_audio_stream_fd()) becomes readable when the backend
 * has moved data or something changed; vsnd_audio_stream_dispatch() then says
 * what. All functions here are for the control thread unless noted.
 *
 * Errors: functions return 0/positive or -errno; constructors return NULL
 * and set errno. Every refusal is also logged with the offending value.
 */
#ifndef VSND_AUDIO_H
#define VSND_AUDIO_H

#include <stdbool.h>
#include <stdint.h>

#include "vsnd/ring.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VSND_AUDIO_MAX_CHANNELS 8
#define VSND_AUDIO_RATE_MIN 8000
#define VSND_AUDIO_RATE_MAX 192000

enum vsnd_audio_direction {
	VSND_AUDIO_PLAYBACK = 0,
	VSND_AUDIO_CAPTURE = 1,
};

/* Sample formats, all little-endian, interleaved. */
enum vsnd_audio_format {
	VSND_AUDIO_FORMAT_U8 = 0,
	VSND_AUDIO_FORMAT_S16,   /* S16_LE */
	VSND_AUDIO_FORMAT_S24,   /* S24_LE in the low 3 bytes of 4 (ALSA S24_LE) */
	VSND_AUDIO_FORMAT_S24_3, /* S24_3LE, packed 3 bytes */
	VSND_AUDIO_FORMAT_S32,   /* S32_LE */
	VSND_AUDIO_FORMAT_FLOAT, /* FLOAT_LE, 32-bit IEEE, nominal range -1..1 */
	VSND_AUDIO_FORMAT_COUNT,
};

#define VSND_AUDIO_FORMAT_BIT(f) (1u << (f))
#define VSND_AUDIO_FORMAT_ALL ((1u << VSND_AUDIO_FORMAT_COUNT) - 1)

/* Channel positions (a subset of what PipeWire, PulseAudio, ALSA and virtio-snd share). */
enum vsnd_audio_channel {
	VSND_AUDIO_CH_UNKNOWN = 0,
	VSND_AUDIO_CH_MONO,
	VSND_AUDIO_CH_FL,
	VSND_AUDIO_CH_FR,
	VSND_AUDIO_CH_FC,
	VSND_AUDIO_CH_LFE,
	VSND_AUDIO_CH_RL,
	VSND_AUDIO_CH_RR,
	VSND_AUDIO_CH_SL,
	VSND_AUDIO_CH_SR,
	VSND_AUDIO_CH_RC,
	VSND_AUDIO_CH_FLC,
	VSND_AUDIO_CH_FRC,
	VSND_AUDIO_CH_COUNT,
};

/* What a backend can do in one direction. */
struct vsnd_audio_caps {
	uint32_t formats; /* VSND_AUDIO_FORMAT_BIT() mask */
	uint32_t rate_min, rate_max;
	uint32_t channels_min, channels_max;
};

struct vsnd_audio_params {
	enum vsnd_audio_direction direction;
	enum vsnd_audio_format format;
	uint32_t rate;     /* VSND_AUDIO_RATE_MIN..VSND_AUDIO_RATE_MAX */
	uint32_t channels; /* 1..VSND_AUDIO_MAX_CHANNELS */
	/* enum vsnd_audio_channel per channel; all UNKNOWN = standard layout */
	uint8_t positions[VSND_AUDIO_MAX_CHANNELS];
	uint32_t period_frames; /* the host clock's quantum for this stream */
	uint32_t ring_periods;  /* ring capacity in periods; 0 = 4 */
	const char *stream_name; /* e.g. "playback" / "record"; copied */
	float volume;            /* initial volume 0..1.5 (mixer scale, see below); < 0 = server default */
	bool muted;
	/*
	 * Playback, optional: called on the backend's realtime thread each time
	 * the host clock takes @want frames, before they are read from @ring, so
	 * the caller can put frames there just in time (read them from a socket)
	 * instead of keeping a queue in the ring for a control loop that may
	 * wake late. It writes into @ring and must not block, allocate or wait
	 * for a lock (trylock at most). Not called by unclocked backends (wav
	 * without pacing), which play what the ring holds as it arrives.
	 * Returns true when it keeps the stream fed by itself: a pull it filled
	 * whole then raises no VSND_AUDIO_EVENT_DATA, so the control loop is not
	 * woken each period for frames it did not supply (underruns, state
	 * changes and pulls it could not fill still raise their events).
	 */
	bool (*refill)(void *data, struct vsnd_ring *ring, uint32_t want);
	void *refill_data;
	/*
	 * Capture, optional: called on the backend's thread right after each
	 * push put frames into @ring, so the caller can send them on at once
	 * (write them to a socket) instead of waking its control loop for
	 * them. Same rules as refill. Returns true when it took all the ring
	 * held: that push then raises no VSND_AUDIO_EVENT_DATA.
	 */
	bool (*drain)(void *data, struct vsnd_ring *ring);
	void *drain_data;
};

/* Stream states, as vsnd_audio_stream_get_status() reports them. */
enum vsnd_audio_state {
	VSND_AUDIO_STATE_PAUSED = 0,   /* open, not started (or stopped) */
	VSND_AUDIO_STATE_RUNNING,      /* the host clock moves frames */
	VSND_AUDIO_STATE_DISCONNECTED, /* sound server gone; reconnecting */
	VSND_AUDIO_STATE_ENDED,        /* capture source ended (wav input without loop) */
	VSND_AUDIO_STATE_ERROR,        /* unrecoverable; close the stream */
};

/* Event bits returned by vsnd_audio_stream_dispatch(). */
#define VSND_AUDIO_EVENT_DATA   (1u << 0) /* frames were consumed (playback) / produced (capture) */
#define VSND_AUDIO_EVENT_STATE  (1u << 1) /* state changed */
#define VSND_AUDIO_EVENT_VOLUME (1u << 2) /* volume or mute changed on the host side */
#define VSND_AUDIO_EVENT_XRUN   (1u << 3) /* underrun (playback) or overrun (capture) */

struct vsnd_audio_status {
	enum vsnd_audio_state state;
	uint64_t frames;          /* frames moved by the host clock (excluding silence) */
	uint64_t underrun_frames; /* silence played because the ring was empty */
	uint64_t overrun_frames;  /* captured frames dropped because the ring was full */
	uint32_t ring_frames;     /* frames waiting in the ring now */
	uint32_t delay_frames;    /* frames the backend/server holds beyond the ring */
	uint32_t reconnects;      /* successful reconnections to the sound server */
	float volume;             /* current volume, mixer scale (mean of channels) */
	bool muted;
};

/* Common options of every program that plays or records (see audio-opts.h). */
struct vsnd_audio_opts {
	const char *backend; /* pipewire|pulse|alsa|wav|null|auto; NULL = auto */
	const char *device;  /* ALSA device, PipeWire target, Pulse sink/source */
	const char *wav_out; /* wav backend: playback file; NULL = default name */
	const char *wav_in;  /* wav backend: capture file; NULL = silence */
	bool wav_in_once;    /* capture ends at the end of wav_in instead of looping */
	bool no_pacing;      /* wav/null: as fast as the other side allows */
	const char *vm_name; /* name the host mixer shows; NULL = "vsnd" */
	int verbose;         /* extra -v count */
};

struct vsnd_audio;
struct vsnd_audio_stream;

/* Default file the wav backend writes when no --wav-out is given (and what auto falls back to). */
#define VSND_AUDIO_DEFAULT_WAV_OUT "vsnd-output.wav"

/* ---- formats and layouts ---- */

/* "u8", "s16", "s24", "s24_3", "s32", "float"; NULL for an invalid value. */
const char *vsnd_audio_format_name(enum vsnd_audio_format f);
/* Parse a name above (case-insensitive; also ALSA-style "S16_LE", "FLOAT_LE"...). -EINVAL if unknown. */
int vsnd_audio_format_from_name(const char *name);
/* Bytes per sample (1, 2, 4, 3, 4, 4); 0 for an invalid format. */
uint32_t vsnd_audio_format_sample_bytes(enum vsnd_audio_format f);
/* Bytes per frame, 0 if format or channel count is invalid. */
uint32_t vsnd_audio_frame_bytes(enum vsnd_audio_format f, uint32_t channels);
/* The byte pattern of silence (0x80 for u8, 0 otherwise). */
uint8_t vsnd_audio_silence_byte(enum vsnd_audio_format f);
/* Fill @frames frames of silence. */
void vsnd_audio_fill_silence(enum vsnd_audio_format f, uint32_t channels, void *dst, uint32_t frames);
/*
 * Multiply @frames frames in place by the amplitude @gain (>= 0), with
 * clipping. A gain of exactly 1 leaves the samples untouched (bit-exact). For
 * backends that have no mixer of their own (wav); sound servers apply volume
 * themselves.
 */
void vsnd_audio_apply_gain(enum vsnd_audio_format f, uint32_t channels, void *buf, uint32_t frames,
			   float gain);
/* "FL", "FR", ...; "UNK" for unknown values. */
const char *vsnd_audio_channel_name(enum vsnd_audio_channel ch);
/*
 * Write the standard layout for @channels (MONO; FL FR; FL FR LFE; FL FR RL RR;
 * FL FR FC RL RR; 5.1 = FL FR FC LFE RL RR; 6.1 adds RC; 7.1 = FL FR FC LFE RL RR SL SR)
 * into @pos. Returns 0 or -EINVAL for a channel count outside 1..8.
 */
int vsnd_audio_default_positions(uint32_t channels, uint8_t pos[VSND_AUDIO_MAX_CHANNELS]);

/*
 * Check @p for internal consistency (format, rate range, channels, period,
 * positions) and against @caps when not NULL. Logs the offending value.
 * Returns 0, -EINVAL (malformed) or -ENOTSUP (valid but not supported by caps).
 */
int vsnd_audio_params_check(const struct vsnd_audio_params *p, const struct vsnd_audio_caps *caps);

/*
 * Fill @p with defaults: the given format, standard positions, 4 ring periods,
 * stream name "playback"/"record", volume -1 (server default), not muted.
 * Use it rather than a zeroed struct (volume 0 would be silence).
 */
void vsnd_audio_params_init(struct vsnd_audio_params *p, enum vsnd_audio_direction dir,
			    enum vsnd_audio_format format, uint32_t rate, uint32_t channels,
			    uint32_t period_frames);

/* ---- backends ---- */

/* NULL-terminated list of the backend names compiled in, in auto order. */
const char *const *vsnd_audio_backend_names(void);

/*
 * Connect to the backend @opts names ("auto" or NULL: PipeWire if a server
 * answers, else PulseAudio, else wav to VSND_AUDIO_DEFAULT_WAV_OUT in the
 * current directory). @opts is copied. Returns NULL with errno ENOENT
 * (unknown backend), ECONNREFUSED (server not reachable) or another errno.
 */
struct vsnd_audio *vsnd_audio_new(const struct vsnd_audio_opts *opts);

/* Disconnect. All streams must have been destroyed. Accepts NULL. */
void vsnd_audio_destroy(struct vsnd_audio *a);

/* Name of the backend in use ("pipewire", ...). */
const char *vsnd_audio_backend_name(const struct vsnd_audio *a);

/* A one-line description of where the audio goes (server, device or file). */
const char *vsnd_audio_describe(const struct vsnd_audio *a);

/* What the backend supports in @dir. Returns 0 or -errno. */
int vsnd_audio_get_caps(struct vsnd_audio *a, enum vsnd_audio_direction dir,
			struct vsnd_audio_caps *caps);

/* ---- streams ---- */

/*
 * Open a stream (paused: a playback ring may be pre-filled before start).
 * @p is validated against the backend's caps. Returns NULL with errno
 * EINVAL/ENOTSUP (parameters), or the backend's error.
 */
struct vsnd_audio_stream *vsnd_audio_stream_new(struct vsnd_audio *a,
						const struct vsnd_audio_params *p);

/* Stop and close the stream; frames left in the ring are discarded. Accepts NULL. */
void vsnd_audio_stream_destroy(struct vsnd_audio_stream *s);

/* The parameters the stream was opened with (positions filled in). */
const struct vsnd_audio_params *vsnd_audio_stream_params(const struct vsnd_audio_stream *s);

/* Bytes per frame of the stream. */
uint32_t vsnd_audio_stream_frame_bytes(const struct vsnd_audio_stream *s);

/* Start (uncork) / stop (cork, keeping what is in the ring). Return 0 or -errno. */
int vsnd_audio_stream_start(struct vsnd_audio_stream *s);
int vsnd_audio_stream_stop(struct vsnd_audio_stream *s);

/* Drop everything in the ring (playback only, while paused). */
int vsnd_audio_stream_flush(struct vsnd_audio_stream *s);

/*
 * The data ring. Playback: the caller is the producer. Capture: the caller is
 * the consumer. Call vsnd_audio_stream_kick() after committing.
 */
struct vsnd_ring *vsnd_audio_stream_ring(struct vsnd_audio_stream *s);

/* Tell the backend the caller moved data in the ring (cheap when nobody waits). */
void vsnd_audio_stream_kick(struct vsnd_audio_stream *s);

/* Pollable (POLLIN) fd: something happened; call vsnd_audio_stream_dispatch(). */
int vsnd_audio_stream_fd(const struct vsnd_audio_stream *s);

/* Read the fd and return the VSND_AUDIO_EVENT_* bits since the last call. */
uint32_t vsnd_audio_stream_dispatch(struct vsnd_audio_stream *s);

/* A snapshot of the counters; callable from any thread. */
void vsnd_audio_stream_get_status(struct vsnd_audio_stream *s, struct vsnd_audio_status *st);

/*
 * Set the volume (0..1.5) and mute of the host stream. Volumes are on the
 * mixer's scale, the percentage pactl, wpctl and pavucontrol show (1 = 100 %),
 * as pacat-simple-vchan's -V: the amplitude gain is volume^3 (the cubic
 * curve both PulseAudio and PipeWire use). Returns 0 or -errno.
 */
int vsnd_audio_stream_set_volume(struct vsnd_audio_stream *s, float volume, bool muted);

/* Short name of a state ("paused", "running", ...). */
const char *vsnd_audio_state_name(enum vsnd_audio_state st);

#ifdef __cplusplus
}
#endif

#endif /* VSND_AUDIO_H */
