/* SPDX-License-Identifier: MIT */
/*
 * A user-space virtio-snd *driver* over the libvsnd-vhost frontend: it talks
 * to any vhost-user sound backend (vsnd-vhost-snd, vhost-device-sound) as the
 * Linux driver would, by the spec: config space, PCM_INFO, SET_PARAMS,
 * PREPARE, START, period-sized TX/RX buffers kept in flight, STOP, RELEASE,
 * and the event queue (PCM_XRUN). Used by vsnd-play and vsnd-rec.
 */
#ifndef VSND_SND_DRV_H
#define VSND_SND_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/virtio_snd.h>

struct snd_drv;

struct snd_drv_stream_info {
	uint32_t id;
	struct virtio_snd_pcm_info info;
};

/* Connect (retrying up to @timeout_ms) and read the device's config. NULL with errno. */
struct snd_drv *snd_drv_new(const char *socket_path, int timeout_ms);
void snd_drv_destroy(struct snd_drv *d);

/* Number of PCM streams and the info of stream @i (PCM_INFO). */
uint32_t snd_drv_n_streams(const struct snd_drv *d);
const struct virtio_snd_pcm_info *snd_drv_stream(const struct snd_drv *d, uint32_t i);

/* The first stream of @direction (VIRTIO_SND_D_*) or -ENOENT. */
int snd_drv_find_stream(const struct snd_drv *d, uint8_t direction);

/*
 * Set up stream @id: SET_PARAMS (virtio format/rate codes, channels,
 * period/buffer in bytes) and PREPARE, and allocate the period buffers.
 * Returns 0, -EIO (a status other than OK; the status is logged) or -errno.
 */
int snd_drv_prepare(struct snd_drv *d, uint32_t id, uint8_t format, uint8_t rate, uint8_t channels,
		    uint32_t period_bytes, uint32_t buffer_bytes);

/*
 * Playback: hand over one period (exactly period_bytes). Blocks while all
 * periods are in flight. Returns 0 or -errno. @start: send START once the
 * buffer is full (pre-buffering, as the Linux driver does).
 */
int snd_drv_write(struct snd_drv *d, const void *data);

/* Capture: START (first call), then block for the next full period and copy it out. */
int snd_drv_read(struct snd_drv *d, void *data);

/* Playback: wait until every buffer completed. Then STOP + RELEASE. */
int snd_drv_finish(struct snd_drv *d);

struct snd_drv_stats {
	uint64_t periods;          /* completed */
	uint32_t latency_bytes;    /* last reported by the device */
	uint32_t latency_max;
	uint64_t xruns;            /* PCM_XRUN events */
	uint64_t period_events;    /* PCM_PERIOD_ELAPSED events */
	uint64_t bad_status;       /* buffers completed with a status other than OK */
};
void snd_drv_get_stats(const struct snd_drv *d, struct snd_drv_stats *st);

/* CLOCK_MONOTONIC time of every completion so far (for jitter figures); *n receives the count. */
const uint64_t *snd_drv_completion_times(const struct snd_drv *d, size_t *n);

#endif /* VSND_SND_DRV_H */
