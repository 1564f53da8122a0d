/* SPDX-License-Identifier: MIT */
/*
 * The virtio-snd device model (virtio 1.3 "Sound Device"; structs from the
 * kernel's <linux/virtio_snd.h>): configuration space, jacks, PCM streams and
 * their state machine, channel maps and controls, and the control-queue
 * request handler. It knows nothing of vhost-user: requests come in as
 * bytes and leave as bytes, so it can be driven and fuzzed without a VM.
 *
 * Everything it parses comes from the guest: every length, id, count and
 * state is checked, every request gets a status (PROTOCOLS.md: the Linux
 * driver times out otherwise), and nothing from the guest is asserted.
 *
 * Host audio: a stream's host stream (src/audio) is opened at PREPARE with
 * the parameters the guest set, started/stopped with START/STOP and closed at
 * RELEASE. Single-threaded: call everything from the device's control loop.
 */
#ifndef VSND_SND_H
#define VSND_SND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_snd.h>

#include "vsnd/audio.h"

#define SND_MAX_STREAMS 16
#define SND_CTLS_PER_STREAM 2 /* volume, switch */
#define SND_MAX_CTLS (SND_MAX_STREAMS * SND_CTLS_PER_STREAM)
#define SND_VOLUME_MAX 100    /* integer volume range 0..100, -60 dB .. 0 dB, 0 = mute */
#define SND_VOLUME_MIN_CDB (-6000)

enum snd_pcm_state {
	SND_PCM_NONE = 0, /* no parameters yet */
	SND_PCM_SET_PARAMS,
	SND_PCM_PREPARE,
	SND_PCM_START,
	SND_PCM_STOP,
	SND_PCM_RELEASE,
};

/* One stream of the --streams spec. */
struct snd_stream_spec {
	uint8_t direction;    /* VIRTIO_SND_D_OUTPUT / _INPUT */
	uint8_t channels_max; /* 1..8 */
};

struct snd_stream {
	uint32_t id;
	uint32_t nid; /* ordinal within its direction: the guest's PCM device number */
	uint8_t direction;
	uint8_t channels_min, channels_max;
	uint64_t formats; /* 1 << VIRTIO_SND_PCM_FMT_* */
	uint64_t rates;   /* 1 << VIRTIO_SND_PCM_RATE_* */
	enum snd_pcm_state state;
	/* SET_PARAMS */
	bool params_set;
	uint32_t buffer_bytes, period_bytes;
	uint8_t channels, format, rate;
	/* host side */
	struct vsnd_audio_stream *host;
	uint64_t drain_until_ns; /* STOP after a drain: the server still plays until then */
	uint32_t frame_bytes;
	/* controls */
	uint32_t volume; /* 0..SND_VOLUME_MAX */
	bool on;         /* the switch: true = sound on (not muted) */
	char name[24];   /* "playback0", "capture1": the host stream's name */
};

struct snd_device;

struct snd_device_ops {
	/* A control changed on the host side (volume set in the mixer): send CTL_NOTIFY. */
	void (*ctl_notify)(void *data, uint32_t control_id, uint16_t mask);
	/* PREPARE opened / RELEASE closed the host stream of @s (I/O paths hook in here). */
	void (*stream_opened)(void *data, struct snd_stream *s);
	/* Called before the host stream closes; the I/O path must return pending buffers. */
	void (*stream_closing)(void *data, struct snd_stream *s);
};

/*
 * Parse a --streams spec: comma-separated "out" / "in", each optionally
 * ":CHANNELS" (max channels, default 2), e.g. "out,in" or "out:6,out,in:1".
 * Returns the number of streams (1..16) or -EINVAL (with a message on stderr).
 */
int snd_parse_streams(const char *spec, struct snd_stream_spec *out, int max);

/*
 * A device with @n streams on @audio (not owned). The streams advertise what
 * the backend really supports (its caps intersected with what virtio-snd can
 * express). NULL with errno.
 */
struct snd_device *snd_device_new(struct vsnd_audio *audio, const struct snd_stream_spec *specs,
				  int n, const struct snd_device_ops *ops, void *data);
void snd_device_destroy(struct snd_device *d);

/*
 * Offered virtio features: VIRTIO_SND_F_CTLS when controls are enabled.
 * Controls are off by default: QEMU's vhost-user-snd offers the guest every
 * feature the backend offers but sizes the config space from its own
 * `controls` property (default off), so a guest that negotiates CTLS behind
 * QEMU's back reads `controls` past the config end and fails to probe.
 */
uint64_t snd_device_features(const struct snd_device *d);
void snd_device_enable_controls(struct snd_device *d, bool on);
/* The frontend acked @features (controls exist only with VIRTIO_SND_F_CTLS). */
void snd_device_set_features(struct snd_device *d, uint64_t features);

/* Config space size: 12 bytes, 16 with controls. Copy a sub-range; -EINVAL outside. */
uint32_t snd_device_config_size(const struct snd_device *d);
int snd_device_get_config(const struct snd_device *d, uint32_t offset, void *buf, uint32_t size);

/*
 * Handle one control request. @req/@req_len: the driver-readable part.
 * @resp/@resp_cap: the driver-writable part. Writes a virtio_snd_hdr status
 * and any payload; returns the bytes written (0 only if @resp_cap is smaller
 * than a status header, in which case nothing can be answered).
 */
size_t snd_ctl_handle(struct snd_device *d, const void *req, size_t req_len, void *resp,
		      size_t resp_cap);

/* Reset: release every stream (the frontend reset the device or went away). */
void snd_device_reset(struct snd_device *d);

/* Access for the I/O paths. */
struct snd_stream *snd_device_stream(struct snd_device *d, uint32_t id);
uint32_t snd_device_n_streams(const struct snd_device *d);

/* A host-side volume change of @s's host stream (VSND_AUDIO_EVENT_VOLUME): update and notify. */
void snd_device_host_volume_changed(struct snd_device *d, struct snd_stream *s);

/* Mapping helpers (exposed for tests and vsnd-play). */
int snd_format_to_audio(uint8_t virtio_fmt);     /* enum vsnd_audio_format or -ENOTSUP */
int snd_format_from_audio(enum vsnd_audio_format f);
uint32_t snd_rate_to_hz(uint8_t virtio_rate);     /* 0 if unknown */
int snd_rate_from_hz(uint32_t hz);                /* VIRTIO_SND_PCM_RATE_* or -ENOTSUP */
uint8_t snd_chmap_position(enum vsnd_audio_channel ch);
const char *snd_state_name(enum snd_pcm_state st);
/* Control volume 0..100 <-> linear gain (-60..0 dB, 0 = silence). */
float snd_volume_gain(uint32_t v);
uint32_t snd_volume_from_gain(float gain);

#endif /* VSND_SND_H */
