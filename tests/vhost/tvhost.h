/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the vhost tests: assertions, fd counting, memfd "guest
 * RAM" and a minimal driver-side split ring for building (good and bad)
 * descriptor chains by hand.
 */
#ifndef VSND_TEST_TVHOST_H
#define VSND_TEST_TVHOST_H

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/virtio_ring.h>

/* CHECK, CHECK_EQ, RUN: the unit tests' assertions. */
#include "../unit/check.h"

/* Number of open fds of this process (entries of /proc/self/fd minus the dir's own). */
static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	CHECK(d != NULL);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

static inline int make_memfd(size_t size)
{
	int fd = memfd_create("tvhost-guest", MFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(ftruncate(fd, (off_t)size) == 0);
	return fd;
}

/* Guest RAM: one memfd mapped here; gpa = base_gpa + offset, uva = our mapping. */
struct tguest {
	int fd;
	uint8_t *host;
	uint64_t size;
	uint64_t gpa;
};

static inline void tguest_init(struct tguest *g, uint64_t gpa, size_t size)
{
	g->fd = make_memfd(size);
	g->host = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, g->fd, 0);
	CHECK(g->host != MAP_FAILED);
	g->size = size;
	g->gpa = gpa;
	memset(g->host, 0, size);
}

static inline void tguest_finish(struct tguest *g)
{
	munmap(g->host, g->size);
	close(g->fd);
}

static inline uint64_t tguest_uva(const struct tguest *g, uint64_t gpa)
{
	return (uint64_t)(uintptr_t)g->host + (gpa - g->gpa);
}

static inline void *tguest_ptr(const struct tguest *g, uint64_t gpa)
{
	return g->host + (gpa - g->gpa);
}

/* Driver side of one split ring laid out at @gpa (desc, avail, used; 4 KiB aligned parts). */
struct tring {
	struct tguest *g;
	unsigned int num;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx;
	uint16_t used_seen;
};

static inline void tring_init(struct tring *r, struct tguest *g, uint64_t gpa, unsigned int num)
{
	r->g = g;
	r->num = num;
	r->desc_gpa = gpa;
	r->avail_gpa = gpa + ((16ull * num + 4095) & ~4095ull);
	r->used_gpa = r->avail_gpa + ((6ull + 2 * num + 4095) & ~4095ull);
	r->desc = tguest_ptr(g, r->desc_gpa);
	r->avail = tguest_ptr(g, r->avail_gpa);
	r->used = tguest_ptr(g, r->used_gpa);
	r->avail_idx = 0;
	r->used_seen = 0;
	memset(r->desc, 0, 16ull * num);
	memset(r->avail, 0, 6ull + 2 * num);
	memset(r->used, 0, 6ull + 8 * num);
}

static inline uint64_t tring_end_gpa(const struct tring *r)
{
	return r->used_gpa + 6ull + 8ull * r->num;
}

static inline void tdesc_set(struct vring_desc *d, uint64_t addr, uint32_t len, uint16_t flags,
			     uint16_t next)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

/* Publish @head in the avail ring. */
static inline void tring_publish(struct tring *r, uint16_t head)
{
	r->avail->ring[r->avail_idx % r->num] = htole16(head);
	r->avail_idx++;
	__atomic_store_n(&r->avail->idx, htole16(r->avail_idx), __ATOMIC_RELEASE);
}

/* Next used element, or -1 if none. */
static inline int tring_get_used(struct tring *r, uint32_t *len)
{
	uint16_t idx = le16toh(__atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE));
	if (idx == r->used_seen)
		return -1;
	struct vring_used_elem *e = &r->used->ring[r->used_seen % r->num];
	r->used_seen++;
	if (len)
		*len = le32toh(e->len);
	return (int)le32toh(e->id);
}

static inline uint16_t tring_used_event_set(struct tring *r, uint16_t v)
{
	r->avail->ring[r->num] = htole16(v);
	return v;
}

static inline uint16_t tring_avail_event(const struct tring *r)
{
	return le16toh(*(volatile uint16_t *)&r->used->ring[r->num]);
}

#endif
