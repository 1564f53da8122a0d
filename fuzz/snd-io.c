/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the virtio-snd I/O path (TX and RX buffers from the guest) over a
 * fake guest memory, as fuzz/vhost-vq.c builds it: the input is the ring
 * (descriptors, avail ring, buffers) of the TX or the RX queue of a device
 * whose output stream 0 and input stream 1 are prepared (and, by a flag,
 * started) on the null backend. Whatever the chains hold, every popped buffer
 * is either queued or answered, nothing is read or written outside guest
 * memory, and RELEASE returns everything.
 *
 * Input: byte 0 = flags (bit 0 INDIRECT_DESC, bit 1 EVENT_IDX, bit 2 RX queue
 * instead of TX, bit 3 START the streams), byte 1 = log2 queue size (mod 9);
 * the rest is copied to gpa 0x1000 onwards.
 */
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "snd-io.h"
#include "snd.h"
#include "vsnd/log.h"
#include "vsnd/vhost-mem.h"

#define GPA 0x1000ull
#define SIZE 0x10000ull
#define UVA_OFF 0x7f0000000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vhost_mem *mem;
static uint8_t *host;
static struct vsnd_audio *audio;
static struct vsnd_loop *loop;
static struct snd_io *io;

static void opened(void *d, struct snd_stream *s) { snd_io_stream_opened(io, s); }
static void closing(void *d, struct snd_stream *s) { snd_io_stream_closing(io, s); }
static const struct snd_device_ops ops = { .stream_opened = opened, .stream_closing = closing };

static void setup(void)
{
	struct vhost_user_mem_region r = { GPA, SIZE, GPA + UVA_OFF, 0 };
	int fd = memfd_create("fuzz-snd-io", MFD_CLOEXEC);
	vsnd_log_configure(getenv("VSND_LOG") ? NULL : "error");
	if (fd < 0 || ftruncate(fd, (off_t)SIZE) < 0)
		abort();
	mem = vhost_mem_new();
	if (!mem || vhost_mem_set_table(mem, &r, 1, &fd) < 0)
		abort();
	host = vhost_mem_gpa_to_va(mem, GPA, SIZE);
	struct vsnd_audio_opts o = { .backend = "null", .no_pacing = true };
	audio = vsnd_audio_new(&o);
	loop = vsnd_loop_new();
	if (!host || !audio || !loop)
		abort();
}

static void request(struct snd_device *d, uint32_t code, uint32_t id)
{
	uint8_t resp[64];
	struct virtio_snd_pcm_set_params p = {
		.hdr.hdr.code = htole32(code), .hdr.stream_id = htole32(id),
		.buffer_bytes = htole32(4 * 1920), .period_bytes = htole32(1920), .channels = 2,
		.format = VIRTIO_SND_PCM_FMT_S16, .rate = VIRTIO_SND_PCM_RATE_48000,
	};
	size_t len = code == VIRTIO_SND_R_PCM_SET_PARAMS ? sizeof(p) : sizeof(p.hdr);
	if (snd_ctl_handle(d, &p, len, resp, sizeof(resp)) != 4)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!mem)
		setup();
	if (size < 2)
		return 0;
	uint64_t features = 0;
	if (data[0] & 1)
		features |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (data[0] & 2)
		features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	unsigned q = (data[0] & 4) ? VIRTIO_SND_VQ_RX : VIRTIO_SND_VQ_TX;
	bool start = data[0] & 8;
	unsigned num = 1u << (data[1] % 9);
	data += 2;
	size -= 2;
	memset(host, 0, SIZE);
	memcpy(host, data, size < SIZE ? size : SIZE);

	struct snd_stream_spec specs[2] = { { VIRTIO_SND_D_OUTPUT, 2 }, { VIRTIO_SND_D_INPUT, 2 } };
	struct snd_device *d = snd_device_new(audio, specs, 2, &ops, NULL);
	io = snd_io_new(d, loop);
	if (!d || !io)
		abort();
	for (uint32_t id = 0; id < 2; id++) {
		request(d, VIRTIO_SND_R_PCM_SET_PARAMS, id);
		request(d, VIRTIO_SND_R_PCM_PREPARE, id);
		if (start)
			request(d, VIRTIO_SND_R_PCM_START, id);
	}
	struct vhost_vq *vq = vhost_vq_new(q);
	if (!vq || vhost_vq_set_num(vq, num) < 0 ||
	    vhost_vq_set_addr(vq, mem, 0x1000 + UVA_OFF, 0x2000 + UVA_OFF, 0x3000 + UVA_OFF) < 0)
		abort();
	vhost_vq_set_features(vq, features);
	vhost_vq_set_active(vq, true);
	snd_io_set_queue(io, q, vq);
	snd_io_kick(io, q);
	snd_io_kick(io, q);
	/* RELEASE returns what is pending through the still-active queue. */
	for (uint32_t id = 0; id < 2; id++) {
		if (start)
			request(d, VIRTIO_SND_R_PCM_STOP, id);
		request(d, VIRTIO_SND_R_PCM_RELEASE, id);
	}
	snd_io_set_queue(io, q, NULL);
	snd_io_destroy(io);
	snd_device_destroy(d);
	vhost_vq_destroy(vq);
	return 0;
}
