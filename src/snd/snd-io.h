/* SPDX-License-Identifier: MIT */
/*
 * The virtio-snd data and event paths over vhost-user split virtqueues:
 * control queue requests go to the device model (snd_ctl_handle); TX buffers
 * are gathered into the stream's host ring and completed when the host clock
 * has consumed them (latency_bytes = what the host still holds); RX buffers
 * complete when full; the event queue carries PCM_XRUN, PCM_PERIOD_ELAPSED and
 * CTL_NOTIFY when the driver supplied event buffers.
 *
 * Hostile guests: a buffer that is malformed (no room for the status, a size
 * that is not whole frames, an unknown stream, a stream in the wrong state,
 * more data than the stream's buffer) completes at once with BAD_MSG or
 * IO_ERR; a broken queue is logged once and left alone, the others go on.
 */
#ifndef VSND_SND_IO_H
#define VSND_SND_IO_H

#include "snd.h"
#include "vsnd/loop.h"
#include "vsnd/vhost-vq.h"

struct snd_io;

struct snd_io *snd_io_new(struct snd_device *dev, struct vsnd_loop *loop);
void snd_io_destroy(struct snd_io *io);

/* The queue @index (VIRTIO_SND_VQ_*) became active (@vq) or inactive (NULL). */
void snd_io_set_queue(struct snd_io *io, unsigned int index, struct vhost_vq *vq);

/* The driver kicked queue @index. */
void snd_io_kick(struct snd_io *io, unsigned int index);

/* snd_device_ops glue: a stream's host stream was opened / is about to close. */
void snd_io_stream_opened(struct snd_io *io, struct snd_stream *s);
void snd_io_stream_closing(struct snd_io *io, struct snd_stream *s);
/* A control changed on the host side. */
void snd_io_ctl_notify(struct snd_io *io, uint32_t control_id, uint16_t mask);

/*
 * The frontend is gone or reset the device: forget pending buffers without
 * touching the (unmapped) rings.
 */
void snd_io_reset(struct snd_io *io);

struct snd_io_stats {
	uint64_t tx_completed, rx_completed, bad, events_sent, events_dropped;
};
void snd_io_get_stats(const struct snd_io *io, struct snd_io_stats *st);

#endif /* VSND_SND_IO_H */
