/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "snd-io.h"
#include "snd-private.h"
#include "snd-vhost.h"
#include "vsnd/vhost-backend.h"

#define N_FDS (2 + VIRTIO_SND_VQ_MAX)

struct snd_vhost {
	struct vsnd_loop *loop;
	struct snd_device *dev;
	struct snd_io *io;
	struct vhost_backend *be;
	/* loop sources of the backend's fds: listen, conn, then one kick per queue */
	struct vsnd_loop_source *src[N_FDS];
	int fd[N_FDS];
};

static int slot_of(enum vhost_backend_fd_kind kind, int queue)
{
	switch (kind) {
	case VHOST_BACKEND_FD_LISTEN: return 0;
	case VHOST_BACKEND_FD_CONN: return 1;
	case VHOST_BACKEND_FD_KICK: return queue >= 0 && queue < VIRTIO_SND_VQ_MAX ? 2 + queue : -1;
	}
	return -1;
}

static void fd_event(void *data, int fd, uint32_t events);

/* ---- vhost device ops ---- */

static uint64_t get_features(void *data)
{
	struct snd_vhost *v = data;
	return snd_device_features(v->dev);
}

static int set_features(void *data, uint64_t features)
{
	struct snd_vhost *v = data;
	snd_device_set_features(v->dev, features);
	return 0;
}

static int get_config(void *data, uint32_t offset, void *buf, uint32_t size)
{
	struct snd_vhost *v = data;
	return snd_device_get_config(v->dev, offset, buf, size);
}

static void queue_started(void *data, struct vhost_vq *vq)
{
	struct snd_vhost *v = data;
	snd_io_set_queue(v->io, vhost_vq_index(vq), vq);
	snd_io_kick(v->io, vhost_vq_index(vq));
}

static void queue_stopped(void *data, struct vhost_vq *vq)
{
	struct snd_vhost *v = data;
	snd_io_set_queue(v->io, vhost_vq_index(vq), NULL);
}

static void queue_kicked(void *data, struct vhost_vq *vq)
{
	struct snd_vhost *v = data;
	snd_io_kick(v->io, vhost_vq_index(vq));
}

static void reset(void *data)
{
	struct snd_vhost *v = data;
	/* The rings are gone: pending buffers are forgotten, not pushed. */
	snd_io_reset(v->io);
	snd_device_reset(v->dev);
}

static void watch(void *data, enum vhost_backend_fd_kind kind, int queue, int fd, bool add)
{
	struct snd_vhost *v = data;
	int slot = slot_of(kind, queue);
	if (slot < 0)
		return;
	vsnd_loop_remove(v->src[slot]);
	v->src[slot] = NULL;
	v->fd[slot] = -1;
	if (add) {
		v->fd[slot] = fd;
		v->src[slot] = vsnd_loop_add_fd(v->loop, fd, EPOLLIN, fd_event, v);
		if (!v->src[slot])
			vsnd_error(&snd_log, "cannot watch fd %d: %s", fd, strerror(errno));
	}
}

static const struct vhost_dev_ops dev_ops = {
	.get_features = get_features,
	.set_features = set_features,
	.get_config = get_config,
	.queue_started = queue_started,
	.queue_stopped = queue_stopped,
	.queue_kicked = queue_kicked,
	.reset = reset,
	.watch = watch,
};

static void fd_event(void *data, int fd, uint32_t events)
{
	struct snd_vhost *v = data;
	if (fd == v->fd[0])
		vhost_backend_accept(v->be);
	else if (fd == v->fd[1])
		vhost_backend_dispatch(v->be);
	else
		for (int q = 0; q < VIRTIO_SND_VQ_MAX; q++)
			if (fd == v->fd[2 + q]) {
				vhost_backend_dispatch_kick(v->be, (unsigned)q);
				break;
			}
}

/* ---- device model glue ---- */

static void on_ctl_notify(void *data, uint32_t id, uint16_t mask)
{
	struct snd_vhost *v = data;
	snd_io_ctl_notify(v->io, id, mask);
}

static void on_stream_opened(void *data, struct snd_stream *s)
{
	struct snd_vhost *v = data;
	snd_io_stream_opened(v->io, s);
}

static void on_stream_closing(void *data, struct snd_stream *s)
{
	struct snd_vhost *v = data;
	snd_io_stream_closing(v->io, s);
}

static const struct snd_device_ops snd_ops = {
	.ctl_notify = on_ctl_notify,
	.stream_opened = on_stream_opened,
	.stream_closing = on_stream_closing,
};

struct snd_vhost *snd_vhost_new(struct vsnd_audio *audio, const struct snd_stream_spec *specs, int n,
				struct vsnd_loop *loop)
{
	struct snd_vhost *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	v->loop = loop;
	for (int i = 0; i < N_FDS; i++)
		v->fd[i] = -1;
	v->dev = snd_device_new(audio, specs, n, &snd_ops, v);
	if (!v->dev)
		goto err;
	v->io = snd_io_new(v->dev, loop);
	if (!v->io)
		goto err;
	struct vhost_backend_config cfg = { .ops = &dev_ops, .data = v, .num_queues = VIRTIO_SND_VQ_MAX };
	v->be = vhost_backend_new(&cfg);
	if (!v->be)
		goto err;
	return v;
err:;
	int err = errno;
	snd_vhost_destroy(v);
	errno = err;
	return NULL;
}

void snd_vhost_destroy(struct snd_vhost *v)
{
	if (!v)
		return;
	vhost_backend_destroy(v->be); /* resets the device through the ops first */
	for (int i = 0; i < N_FDS; i++)
		vsnd_loop_remove(v->src[i]);
	snd_io_destroy(v->io);
	snd_device_destroy(v->dev);
	free(v);
}

int snd_vhost_listen(struct snd_vhost *v, const char *path)
{
	return vhost_backend_listen(v->be, path);
}

int snd_vhost_set_fd(struct snd_vhost *v, int fd)
{
	int listening = 0;
	socklen_t len = sizeof(listening);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0)
		return -errno;
	return vhost_backend_set_fd(v->be, fd, !listening);
}

bool snd_vhost_connected(const struct snd_vhost *v)
{
	return vhost_backend_connected(v->be);
}

struct snd_device *snd_vhost_device(struct snd_vhost *v)
{
	return v->dev;
}

void snd_vhost_enable_controls(struct snd_vhost *v, bool on)
{
	snd_device_enable_controls(v->dev, on);
}
