/* SPDX-License-Identifier: MIT */
/*
 * Guest memory map of a vhost-user backend: the regions of SET_MEM_TABLE
 * mapped into this process, and address translation with bounds checks.
 *
 * Two address spaces are translated: guest physical addresses (what the
 * guest writes into descriptors) and frontend user addresses (where the
 * frontend process maps guest RAM; SET_VRING_ADDR uses these). A range is
 * translated only if it lies entirely inside one region; a range that
 * crosses a region boundary, lies outside every region or wraps around
 * 2^64 is refused (NULL), never turned into a wild pointer.
 *
 * Thread safety: none inside. Translation may run on several threads at
 * once, but not concurrently with vhost_mem_set_table()/vhost_mem_clear().
 */
#ifndef VSND_VHOST_MEM_H
#define VSND_VHOST_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vsnd/vhost-msg.h"

#ifdef __cplusplus
extern "C" {
#endif

struct vhost_mem;

/* New empty map (no regions). Returns NULL with errno set on failure. */
struct vhost_mem *vhost_mem_new(void);

/* Unmap every region and free @mem. NULL is accepted. */
void vhost_mem_destroy(struct vhost_mem *mem);

/*
 * Replace the map with @n regions (n <= VHOST_USER_MAX_REGIONS), region i
 * backed by @fds[i] at offset regions[i].mmap_offset.
 *
 * The table is rejected (-EINVAL) if a region is empty, wraps (in guest
 * physical, user or file offset space), or overlaps another region in guest
 * physical or user address space; -EINVAL/-ENXIO if an fd is not mappable
 * or (for regular files and memfds) shorter than offset + size; or the
 * -errno of mmap. On failure the previous map is kept unchanged.
 *
 * A table identical to the current one (same regions, same backing files)
 * keeps the existing mappings: pointers translated before stay valid and the
 * generation does not change.
 *
 * Ownership: every fd in @fds[0..n) is consumed (closed) whatever the
 * result; the mappings outlive them.
 * Returns 0 or -errno.
 */
int vhost_mem_set_table(struct vhost_mem *mem, const struct vhost_user_mem_region *regions,
			unsigned int n, const int *fds);

/*
 * True if vhost_mem_set_table() with these arguments would keep the current
 * mappings (same regions, same backing files; n > 0). Does not take the fds.
 */
bool vhost_mem_same_table(const struct vhost_mem *mem, const struct vhost_user_mem_region *regions,
			  unsigned int n, const int *fds);

/* Unmap everything; the map is empty afterwards. */
void vhost_mem_clear(struct vhost_mem *mem);

/* Number of regions currently mapped. */
unsigned int vhost_mem_num_regions(const struct vhost_mem *mem);

/*
 * Pointer to guest physical range [@gpa, @gpa + @len) or NULL if it is not
 * entirely inside one region. @len == 0 is treated as 1 byte.
 */
void *vhost_mem_gpa_to_va(const struct vhost_mem *mem, uint64_t gpa, uint64_t len);

/* Same for a frontend user address range (vring addresses). */
void *vhost_mem_uva_to_va(const struct vhost_mem *mem, uint64_t uva, uint64_t len);

/*
 * Bumped on every successful set_table/clear, so holders of translated
 * pointers (virtqueues) can tell that they must translate again.
 */
uint64_t vhost_mem_generation(const struct vhost_mem *mem);

#ifdef __cplusplus
}
#endif

#endif /* VSND_VHOST_MEM_H */
