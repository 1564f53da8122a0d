/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the split virtqueue chain walker over a fake guest memory.
 *
 * Guest memory: region A = gpa [0x1000, 0x11000) (64 KiB), region B = gpa
 * [0x11000, 0x12000) right after it (buffers crossing A->B must be refused).
 * Ring layout (fixed): descriptors at 0x1000, avail at 0x2000, used at
 * 0x3000; the queue size is at most 256 so all three fit.
 *
 * Input: byte 0 = features (bit 0 INDIRECT_DESC, bit 1 EVENT_IDX, bit 2
 * NOTIFY_ON_EMPTY), byte 1 = log2 of the queue size (mod 9), bytes 2-3 =
 * initial avail base (LE); the rest is copied to gpa 0x1000 onwards (so the
 * descriptor table, avail ring and data all come from the input).
 *
 * The device pops until empty or broken, checks that every iovec lies inside
 * guest memory, reads the readable part, writes the writable part, pushes,
 * and evaluates notifications.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vsnd/log.h"
#include "vsnd/vhost-vq.h"

#define GPA_A 0x1000ull
#define SIZE_A 0x10000ull
#define GPA_B (GPA_A + SIZE_A)
#define SIZE_B 0x1000ull
#define UVA_OFF 0x7f0000000000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vhost_mem *mem;
static uint8_t *host_a, *host_b;   /* the backend's view (through vhost_mem) */
static struct vhost_vq_elem elem;

static void setup(void)
{
	struct vhost_user_mem_region r[2] = {
		{ GPA_A, SIZE_A, GPA_A + UVA_OFF, 0 },
		{ GPA_B, SIZE_B, GPA_B + UVA_OFF, 0 },
	};
	int fds[2];

	vsnd_log_configure(getenv("VSND_LOG") ? NULL : "error");
	for (int i = 0; i < 2; i++) {
		fds[i] = memfd_create("fuzz-vq", MFD_CLOEXEC);
		if (fds[i] < 0 || ftruncate(fds[i], (off_t)SIZE_A) < 0)
			abort();
	}
	mem = vhost_mem_new();
	if (!mem || vhost_mem_set_table(mem, r, 2, fds) < 0)
		abort();
	host_a = vhost_mem_gpa_to_va(mem, GPA_A, SIZE_A);
	host_b = vhost_mem_gpa_to_va(mem, GPA_B, SIZE_B);
	if (!host_a || !host_b)
		abort();
}

static int inside(const void *p, size_t len, const uint8_t *base, size_t size)
{
	const uint8_t *b = p;
	return b >= base && b <= base + size && len <= (size_t)(base + size - b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vhost_vq *vq;
	unsigned int num;
	uint64_t features = 0;
	volatile uint8_t sink = 0;

	if (!mem)
		setup();
	if (size < 4)
		return 0;
	if (data[0] & 1)
		features |= 1ull << VIRTIO_RING_F_INDIRECT_DESC;
	if (data[0] & 2)
		features |= 1ull << VIRTIO_RING_F_EVENT_IDX;
	if (data[0] & 4)
		features |= 1ull << VIRTIO_F_NOTIFY_ON_EMPTY;
	num = 1u << (data[1] % 9);
	uint16_t base = (uint16_t)(data[2] | (data[3] << 8));
	data += 4;
	size -= 4;
	memset(host_a, 0, SIZE_A);
	memset(host_b, 0, SIZE_B);
	memcpy(host_a, data, size < SIZE_A ? size : SIZE_A);
	if (size > SIZE_A)
		memcpy(host_b, data + SIZE_A, size - SIZE_A < SIZE_B ? size - SIZE_A : SIZE_B);

	vq = vhost_vq_new(0);
	if (!vq || vhost_vq_set_num(vq, num) < 0)
		abort();
	if (vhost_vq_set_addr(vq, mem, 0x1000 + UVA_OFF, 0x2000 + UVA_OFF, 0x3000 + UVA_OFF) < 0)
		abort();
	vhost_vq_set_features(vq, features);
	vhost_vq_set_base(vq, base);
	vhost_vq_set_active(vq, true);

	for (unsigned int n = 0; n < 2 * num + 2; n++) {
		int r = vhost_vq_pop(vq, &elem);
		if (r <= 0) {
			if (r < 0 && !vhost_vq_broken(vq))
				abort();
			break;
		}
		if (elem.head >= num || elem.out_num + elem.in_num > VHOST_VQ_MAX_IOV)
			abort();
		for (unsigned int i = 0; i < elem.out_num + elem.in_num; i++) {
			const struct iovec *v = &elem.iov[i];
			if (!inside(v->iov_base, v->iov_len, host_a, SIZE_A) &&
			    !inside(v->iov_base, v->iov_len, host_b, SIZE_B))
				abort();
			if (i < elem.out_num)
				sink ^= ((const uint8_t *)v->iov_base)[v->iov_len - 1];
			else
				memset(v->iov_base, 0xa5, v->iov_len < 64 ? v->iov_len : 64);
		}
		vhost_vq_push(vq, elem.head, (uint32_t)elem.in_bytes);
		if (n & 1)
			vhost_vq_should_notify(vq);
	}
	vhost_vq_should_notify(vq);
	vhost_vq_destroy(vq);
	(void)sink;
	return 0;
}
