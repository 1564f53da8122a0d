/* SPDX-License-Identifier: MIT */
#ifndef VSND_SND_PRIVATE_H
#define VSND_SND_PRIVATE_H

#include "snd.h"
#include "vsnd/log.h"

extern struct vsnd_log_topic snd_log;

struct snd_device {
	struct vsnd_audio *audio;
	const struct snd_device_ops *ops;
	void *data;
	bool offer_ctls; /* offer VIRTIO_SND_F_CTLS */
	bool ctls;       /* VIRTIO_SND_F_CTLS negotiated */
	uint32_t n_streams;
	struct snd_stream streams[SND_MAX_STREAMS];
	bool has_dir[2];
	uint32_t n_jacks;
	uint8_t jack_dir[2];
	struct vsnd_ratelimit rl;
};

/* Log a guest's bad request (rate-limited) and return VIRTIO_SND_S_BAD_MSG. */
uint32_t snd_bad(struct snd_device *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* snd-pcm.c */
void snd_pcm_close_host(struct snd_device *d, struct snd_stream *s);
uint32_t snd_pcm_request(struct snd_device *d, uint32_t code, const uint8_t *req, size_t len);

/* snd-device.c: controls */
float snd_volume_host(uint32_t v); /* the control's value as a host (mixer-scale) volume */
int snd_apply_volume(struct snd_device *d, struct snd_stream *s);

#endif /* VSND_SND_PRIVATE_H */
