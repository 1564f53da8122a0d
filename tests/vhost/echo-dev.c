/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include <linux/virtio_config.h>

#include "echo-dev.h"

static struct vhost_vq_elem elem;

void echo_dev_init(struct echo_dev *d)
{
	memset(d, 0, sizeof(*d));
	for (int i = 0; i < ECHO_CONFIG_SIZE; i++)
		d->config[i] = (uint8_t)(0x10 + i);
}

static uint64_t echo_get_features(void *data)
{
	(void)data;
	return (1ull << ECHO_F_TEST) | (1ull << VIRTIO_F_NOTIFY_ON_EMPTY);
}

static int echo_set_features(void *data, uint64_t features)
{
	struct echo_dev *d = data;
	d->features = features;
	d->set_features_calls++;
	return 0;
}

static int echo_get_config(void *data, uint32_t offset, void *buf, uint32_t size)
{
	struct echo_dev *d = data;
	if (offset > ECHO_CONFIG_SIZE || size > ECHO_CONFIG_SIZE - offset)
		return -EINVAL;
	memcpy(buf, d->config + offset, size);
	return 0;
}

static int echo_set_config(void *data, uint32_t offset, const void *buf, uint32_t size, uint32_t flags)
{
	struct echo_dev *d = data;
	(void)flags;
	if (offset < 8 || offset > ECHO_CONFIG_SIZE || size > ECHO_CONFIG_SIZE - offset)
		return -EPERM;
	memcpy(d->config + offset, buf, size);
	return 0;
}

static void echo_started(void *data, struct vhost_vq *vq)
{
	struct echo_dev *d = data;
	d->started[vhost_vq_index(vq)]++;
}

static void echo_stopped(void *data, struct vhost_vq *vq)
{
	struct echo_dev *d = data;
	d->stopped[vhost_vq_index(vq)]++;
}

static void echo_kicked(void *data, struct vhost_vq *vq)
{
	struct echo_dev *d = data;
	unsigned int q = vhost_vq_index(vq);
	int r;

	d->kicked[q]++;
	while ((r = vhost_vq_pop(vq, &elem)) > 0) {
		/* Gather the readable bytes, scatter them into the writable buffers. */
		uint32_t written = 0;
		unsigned int wi = elem.out_num;
		size_t woff = 0;
		for (unsigned int i = 0; i < elem.out_num; i++) {
			const uint8_t *src = elem.iov[i].iov_base;
			size_t left = elem.iov[i].iov_len;
			while (left > 0 && wi < elem.out_num + elem.in_num) {
				size_t room = elem.iov[wi].iov_len - woff;
				size_t n = left < room ? left : room;
				memcpy((uint8_t *)elem.iov[wi].iov_base + woff, src, n);
				src += n;
				left -= n;
				woff += n;
				written += (uint32_t)n;
				if (woff == elem.iov[wi].iov_len) {
					wi++;
					woff = 0;
				}
			}
		}
		vhost_vq_push(vq, elem.head, written);
		d->echoed[q]++;
	}
	if (r < 0)
		d->errors[q]++;
	vhost_vq_notify(vq);
}

static void echo_reset(void *data)
{
	struct echo_dev *d = data;
	d->resets++;
}

const struct vhost_dev_ops echo_dev_ops = {
	.get_features = echo_get_features,
	.set_features = echo_set_features,
	.get_config = echo_get_config,
	.set_config = echo_set_config,
	.queue_started = echo_started,
	.queue_stopped = echo_stopped,
	.queue_kicked = echo_kicked,
	.reset = echo_reset,
};
