/* SPDX-License-Identifier: MIT */
/*
 * A virtio-snd device served over vhost-user: the device model (snd.h), its
 * I/O paths (snd-io.h) and the vhost-user backend dispatcher, wired to a
 * vsnd_loop. One frontend at a time; when it goes away every stream is
 * released and the next connection is accepted on the same socket.
 */
#ifndef VSND_SND_VHOST_H
#define VSND_SND_VHOST_H

#include "snd.h"
#include "vsnd/loop.h"

struct snd_vhost;

/* NULL with errno. @audio is not owned. */
struct snd_vhost *snd_vhost_new(struct vsnd_audio *audio, const struct snd_stream_spec *specs, int n,
				struct vsnd_loop *loop);
void snd_vhost_destroy(struct snd_vhost *v);

/* Listen on a UNIX socket path (created; a stale file is replaced). 0 or -errno. */
int snd_vhost_listen(struct snd_vhost *v, const char *path);
/* Serve an inherited fd: a listening socket, or an already connected one. 0 or -errno. */
int snd_vhost_set_fd(struct snd_vhost *v, int fd);

bool snd_vhost_connected(const struct snd_vhost *v);
/* Offer VIRTIO_SND_F_CTLS (QEMU needs -device vhost-user-snd-pci,controls=on then). */
void snd_vhost_enable_controls(struct snd_vhost *v, bool on);
struct snd_device *snd_vhost_device(struct snd_vhost *v);

#endif /* VSND_SND_VHOST_H */
