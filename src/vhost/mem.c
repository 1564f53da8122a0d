/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vsnd/log.h"
#include "vsnd/vhost-mem.h"

VSND_LOG_TOPIC(log_topic, "vhost.mem");

struct region {
	uint64_t gpa;
	uint64_t uva;
	uint64_t size;
	uint64_t offset;
	dev_t dev;  /* backing file, to recognise a re-sent identical table */
	ino_t ino;
	uint8_t *host; /* first byte of the region in this process */
	void *map_base; /* what mmap returned (page aligned, before host) */
	size_t map_len;
};

struct vhost_mem {
	struct region regions[VHOST_USER_MAX_REGIONS];
	unsigned int n;
	uint64_t generation;
};

struct vhost_mem *vhost_mem_new(void)
{
	return calloc(1, sizeof(struct vhost_mem));
}

static void unmap_regions(struct region *r, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (r[i].map_base)
			munmap(r[i].map_base, r[i].map_len);
}

void vhost_mem_clear(struct vhost_mem *mem)
{
	unmap_regions(mem->regions, mem->n);
	memset(mem->regions, 0, sizeof(mem->regions));
	mem->n = 0;
	mem->generation++;
}

void vhost_mem_destroy(struct vhost_mem *mem)
{
	if (!mem)
		return;
	unmap_regions(mem->regions, mem->n);
	free(mem);
}

unsigned int vhost_mem_num_regions(const struct vhost_mem *mem)
{
	return mem->n;
}

uint64_t vhost_mem_generation(const struct vhost_mem *mem)
{
	return mem->generation;
}

/* [a, a+alen) and [b, b+blen) intersect; both are known not to wrap. */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* Last byte of [start, start+size) without overflow; false if it wraps. */
static bool range_ok(uint64_t start, uint64_t size)
{
	return size > 0 && start <= UINT64_MAX - (size - 1);
}

static int check_table(const struct vhost_user_mem_region *r, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		if (!range_ok(r[i].guest_phys_addr, r[i].memory_size) ||
		    !range_ok(r[i].userspace_addr, r[i].memory_size) ||
		    !range_ok(r[i].mmap_offset, r[i].memory_size) ||
		    r[i].memory_size > SIZE_MAX / 2) {
			vsnd_warn(&log_topic, "region %u is empty or wraps", i);
			return -EINVAL;
		}
		/*
		 * The "+ size" in overlaps() cannot overflow only when the range
		 * ends below 2^64; a region ending exactly at 2^64 would, so
		 * refuse those as well (no real guest has RAM there).
		 */
		if (r[i].guest_phys_addr + (r[i].memory_size - 1) == UINT64_MAX ||
		    r[i].userspace_addr + (r[i].memory_size - 1) == UINT64_MAX)
			return -EINVAL;
		for (unsigned int j = 0; j < i; j++) {
			if (overlaps(r[i].guest_phys_addr, r[i].memory_size,
				     r[j].guest_phys_addr, r[j].memory_size) ||
			    overlaps(r[i].userspace_addr, r[i].memory_size,
				     r[j].userspace_addr, r[j].memory_size)) {
				vsnd_warn(&log_topic, "regions %u and %u overlap", j, i);
				return -EINVAL;
			}
		}
	}
	return 0;
}

static int map_region(struct region *out, const struct vhost_user_mem_region *in, int fd)
{
	long page = sysconf(_SC_PAGESIZE);
	uint64_t map_off = in->mmap_offset & ~((uint64_t)page - 1);
	uint64_t delta = in->mmap_offset - map_off;
	struct stat st;
	void *p;

	if (fstat(fd, &st) < 0)
		return -errno;
	/*
	 * Touching a shared mapping past the end of its file raises SIGBUS, so
	 * a frontend handing us a short file could kill the backend through a
	 * guest access. Sizes of regular files (memfd, hugetlbfs) are checked.
	 */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < in->mmap_offset + in->memory_size) {
		vsnd_warn(&log_topic, "region fd is shorter (%lld) than offset+size", (long long)st.st_size);
		return -ENXIO;
	}
	if (in->memory_size + delta > SIZE_MAX)
		return -EINVAL;
	p = mmap(NULL, (size_t)(in->memory_size + delta), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_NORESERVE, fd, (off_t)map_off);
	if (p == MAP_FAILED)
		return -errno;
	out->offset = in->mmap_offset;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	out->gpa = in->guest_phys_addr;
	out->uva = in->userspace_addr;
	out->size = in->memory_size;
	out->map_base = p;
	out->map_len = (size_t)(in->memory_size + delta);
	out->host = (uint8_t *)p + delta;
	return 0;
}

/*
 * Frontends re-send the same table on every device start (QEMU does in
 * vhost_dev_start). Keeping the mappings then spares the work and, more
 * importantly, keeps valid the guest buffers a device still holds from
 * before the stop (e.g. paused playback).
 */
bool vhost_mem_same_table(const struct vhost_mem *mem, const struct vhost_user_mem_region *r,
			  unsigned int n, const int *fds)
{
	struct stat st;

	if (n != mem->n || n == 0)
		return false;
	for (unsigned int i = 0; i < n; i++) {
		const struct region *o = &mem->regions[i];
		if (o->gpa != r[i].guest_phys_addr || o->size != r[i].memory_size ||
		    o->uva != r[i].userspace_addr || o->offset != r[i].mmap_offset)
			return false;
		if (fstat(fds[i], &st) < 0 || st.st_dev != o->dev || st.st_ino != o->ino)
			return false;
	}
	return true;
}

int vhost_mem_set_table(struct vhost_mem *mem, const struct vhost_user_mem_region *regions,
			unsigned int n, const int *fds)
{
	struct region fresh[VHOST_USER_MAX_REGIONS];
	unsigned int mapped = 0;
	int r;

	memset(fresh, 0, sizeof(fresh));
	if (n > VHOST_USER_MAX_REGIONS) {
		r = -EINVAL;
		goto err;
	}
	r = check_table(regions, n);
	if (r < 0)
		goto err;
	if (vhost_mem_same_table(mem, regions, n, fds)) {
		for (unsigned int i = 0; i < n; i++)
			close(fds[i]);
		return 0;
	}
	for (; mapped < n; mapped++) {
		r = map_region(&fresh[mapped], &regions[mapped], fds[mapped]);
		if (r < 0) {
			vsnd_warn(&log_topic, "cannot map region %u: %s", mapped, strerror(-r));
			goto err;
		}
	}
	/* Map the new table completely before dropping the old one: failure keeps the old. */
	unmap_regions(mem->regions, mem->n);
	memcpy(mem->regions, fresh, sizeof(fresh));
	mem->n = n;
	mem->generation++;
	for (unsigned int i = 0; i < n; i++)
		close(fds[i]);
	return 0;
err:
	unmap_regions(fresh, mapped);
	for (unsigned int i = 0; i < n && i < VHOST_USER_MAX_REGIONS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return r;
}

static void *translate(const struct vhost_mem *mem, uint64_t addr, uint64_t len, bool user)
{
	if (len == 0)
		len = 1;
	for (unsigned int i = 0; i < mem->n; i++) {
		const struct region *reg = &mem->regions[i];
		uint64_t start = user ? reg->uva : reg->gpa;

		if (addr < start)
			continue;
		uint64_t off = addr - start;
		if (off >= reg->size)
			continue;
		/* Written as a subtraction so that a huge len cannot wrap. */
		if (len > reg->size - off)
			return NULL;
		return reg->host + off;
	}
	return NULL;
}

void *vhost_mem_gpa_to_va(const struct vhost_mem *mem, uint64_t gpa, uint64_t len)
{
	return translate(mem, gpa, len, false);
}

void *vhost_mem_uva_to_va(const struct vhost_mem *mem, uint64_t uva, uint64_t len)
{
	return translate(mem, uva, len, true);
}
