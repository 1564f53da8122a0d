/* SPDX-License-Identifier: MIT */
/* Guest memory map: mapping with offsets, translation bounds, bad tables, remap. */
#include "vsnd/vhost-mem.h"

#include "tvhost.h"

#define MB (1024ull * 1024)

static struct vhost_user_mem_region reg(uint64_t gpa, uint64_t size, uint64_t uva, uint64_t off)
{
	return (struct vhost_user_mem_region){ gpa, size, uva, off };
}

static void test_translate(void)
{
	int before = count_fds();
	struct vhost_mem *mem = vhost_mem_new();
	int fd = make_memfd(3 * MB);
	uint8_t *host = mmap(NULL, 3 * MB, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	struct vhost_user_mem_region r[2];
	int fds[2];

	CHECK(mem && host != MAP_FAILED);
	for (uint64_t i = 0; i < 3 * MB; i += 4096)
		host[i] = (uint8_t)(i >> 12);
	host[MB + 5] = 0xab;
	/* Region 0: gpa [0, 1M) = file [0, 1M); region 1: gpa [4G, 4G+2M) = file [1M, 3M). */
	r[0] = reg(0, MB, 0x7f0000000000ull, 0);
	r[1] = reg(0x100000000ull, 2 * MB, 0x7f0000200000ull, MB);
	fds[0] = dup(fd);
	fds[1] = dup(fd);
	CHECK_EQ(vhost_mem_set_table(mem, r, 2, fds), 0);
	CHECK_EQ(vhost_mem_num_regions(mem), 2);

	uint8_t *p = vhost_mem_gpa_to_va(mem, 0x100000000ull + 5, 1);
	CHECK(p && *p == 0xab);
	p = vhost_mem_uva_to_va(mem, 0x7f0000200000ull + 5, 1);
	CHECK(p && *p == 0xab);
	p = vhost_mem_gpa_to_va(mem, 4096 * 7, 4096);
	CHECK(p && *p == 7);
	/* Writes through the map reach the file. */
	*(uint8_t *)vhost_mem_gpa_to_va(mem, 0x100000000ull + 4096 * 3 + 1, 1) = 0x5a;
	CHECK_EQ(host[MB + 4096 * 3 + 1], 0x5a);
	/* Exact fits at the edges. */
	CHECK(vhost_mem_gpa_to_va(mem, 0, MB) != NULL);
	CHECK(vhost_mem_gpa_to_va(mem, MB - 1, 1) != NULL);
	CHECK(vhost_mem_gpa_to_va(mem, 0x100000000ull + 2 * MB - 8, 8) != NULL);
	CHECK(vhost_mem_gpa_to_va(mem, MB - 1, 0) != NULL);
	/* Past the end, crossing out, in the hole, below, above. */
	CHECK(vhost_mem_gpa_to_va(mem, MB, 1) == NULL);
	CHECK(vhost_mem_gpa_to_va(mem, MB - 1, 2) == NULL);
	CHECK(vhost_mem_gpa_to_va(mem, 0, MB + 1) == NULL);
	CHECK(vhost_mem_gpa_to_va(mem, 0x80000000ull, 1) == NULL);
	CHECK(vhost_mem_gpa_to_va(mem, 0x100000000ull - 1, 2) == NULL);
	CHECK(vhost_mem_gpa_to_va(mem, 0x100000000ull + 2 * MB, 1) == NULL);
	/* Overflowing lengths and addresses never wrap into a region. */
	CHECK(vhost_mem_gpa_to_va(mem, 16, UINT64_MAX) == NULL);
	CHECK(vhost_mem_gpa_to_va(mem, 16, UINT64_MAX - 15) == NULL);
	CHECK(vhost_mem_gpa_to_va(mem, UINT64_MAX, 2) == NULL);
	CHECK(vhost_mem_gpa_to_va(mem, UINT64_MAX - 4095, 4096) == NULL);
	CHECK(vhost_mem_uva_to_va(mem, 0x7f0000000000ull, UINT64_MAX) == NULL);
	/* Guest-physical and user address spaces are not confused. */
	CHECK(vhost_mem_uva_to_va(mem, 0, 1) == NULL);
	CHECK(vhost_mem_gpa_to_va(mem, 0x7f0000000000ull, 1) == NULL);
	/* Adjacent regions: a range spanning both is refused. */
	r[0] = reg(0, MB, 0x10000000ull, 0);
	r[1] = reg(MB, MB, 0x10000000ull + MB, MB);
	fds[0] = dup(fd);
	fds[1] = dup(fd);
	CHECK_EQ(vhost_mem_set_table(mem, r, 2, fds), 0);
	CHECK(vhost_mem_gpa_to_va(mem, MB - 8, 8) != NULL);
	CHECK(vhost_mem_gpa_to_va(mem, MB, 8) != NULL);
	CHECK(vhost_mem_gpa_to_va(mem, MB - 8, 16) == NULL);
	CHECK(vhost_mem_uva_to_va(mem, 0x10000000ull + MB - 8, 16) == NULL);

	vhost_mem_clear(mem);
	CHECK_EQ(vhost_mem_num_regions(mem), 0);
	CHECK(vhost_mem_gpa_to_va(mem, 0, 1) == NULL);
	vhost_mem_destroy(mem);
	vhost_mem_destroy(NULL);
	munmap(host, 3 * MB);
	close(fd);
	CHECK_EQ(count_fds(), before);
}

static void test_unaligned_offset(void)
{
	struct vhost_mem *mem = vhost_mem_new();
	int fd = make_memfd(64 * 1024);
	uint8_t *host = mmap(NULL, 64 * 1024, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	struct vhost_user_mem_region r = reg(0x1000, 0x2000, 0x5000, 0x1234);
	int f = dup(fd);

	host[0x1234] = 0x77;
	host[0x1234 + 0x1fff] = 0x88;
	CHECK_EQ(vhost_mem_set_table(mem, &r, 1, &f), 0);
	CHECK_EQ(*(uint8_t *)vhost_mem_gpa_to_va(mem, 0x1000, 1), 0x77);
	CHECK_EQ(*(uint8_t *)vhost_mem_gpa_to_va(mem, 0x2fff, 1), 0x88);
	CHECK(vhost_mem_gpa_to_va(mem, 0x2fff, 2) == NULL);
	vhost_mem_destroy(mem);
	munmap(host, 64 * 1024);
	close(fd);
}

/* Set a bad table over a good one: refused with @err, the old map stays, fds closed. */
static void expect_bad(struct vhost_mem *mem, const struct vhost_user_mem_region *r, unsigned int n,
		       int backing, int err)
{
	int fds[VHOST_USER_MAX_REGIONS];
	int before = count_fds();
	uint64_t gen = vhost_mem_generation(mem);

	for (unsigned int i = 0; i < n; i++)
		fds[i] = dup(backing);
	CHECK_EQ(vhost_mem_set_table(mem, r, n, fds), err);
	CHECK_EQ(count_fds(), before);
	CHECK_EQ(vhost_mem_generation(mem), gen);
	CHECK_EQ(vhost_mem_num_regions(mem), 1);
	CHECK(vhost_mem_gpa_to_va(mem, 0x40000000ull, 4096) != NULL);
}

static void test_bad_tables(void)
{
	int before = count_fds();
	struct vhost_mem *mem = vhost_mem_new();
	int fd = make_memfd(2 * MB);
	struct vhost_user_mem_region good = reg(0x40000000ull, MB, 0x50000000ull, 0);
	struct vhost_user_mem_region r[3];
	int f = dup(fd);

	CHECK_EQ(vhost_mem_set_table(mem, &good, 1, &f), 0);
	/* Overlap in guest physical space (partial and containment). */
	r[0] = reg(0, MB, 0x1000000, 0);
	r[1] = reg(MB / 2, MB, 0x3000000, 0);
	expect_bad(mem, r, 2, fd, -EINVAL);
	r[1] = reg(4096, 4096, 0x3000000, 0);
	expect_bad(mem, r, 2, fd, -EINVAL);
	/* Overlap in user address space. */
	r[1] = reg(2 * MB, MB, 0x1000000 + MB - 4096, 0);
	expect_bad(mem, r, 2, fd, -EINVAL);
	/* Same region twice. */
	r[1] = r[0];
	expect_bad(mem, r, 2, fd, -EINVAL);
	/* Wrapping: gpa, uva, file offset; and regions ending at 2^64. */
	r[0] = reg(UINT64_MAX - 4095, 8192, 0x1000000, 0);
	expect_bad(mem, r, 1, fd, -EINVAL);
	r[0] = reg(0, 8192, UINT64_MAX - 4095, 0);
	expect_bad(mem, r, 1, fd, -EINVAL);
	r[0] = reg(0, 8192, 0x1000000, UINT64_MAX - 4095);
	expect_bad(mem, r, 1, fd, -EINVAL);
	r[0] = reg(UINT64_MAX - 4095, 4096, 0x1000000, 0);
	expect_bad(mem, r, 1, fd, -EINVAL);
	r[0] = reg(0, UINT64_MAX, 0, 0);
	expect_bad(mem, r, 1, fd, -EINVAL);
	/* Empty region. */
	r[0] = reg(0, 0, 0x1000000, 0);
	expect_bad(mem, r, 1, fd, -EINVAL);
	/* Region larger than its file: refused instead of SIGBUS later. */
	r[0] = reg(0, 4 * MB, 0x1000000, 0);
	expect_bad(mem, r, 1, fd, -ENXIO);
	r[0] = reg(0, MB, 0x1000000, 1536 * 1024);
	expect_bad(mem, r, 1, fd, -ENXIO);
	/* Good first region, unmappable second (a pipe): first one is unmapped again. */
	int pfd[2];
	CHECK(pipe(pfd) == 0);
	r[0] = reg(0, MB, 0x1000000, 0);
	r[1] = reg(2 * MB, MB, 0x3000000, 0);
	int fds2[2] = { dup(fd), pfd[0] };
	CHECK(vhost_mem_set_table(mem, r, 2, fds2) < 0);
	close(pfd[1]);
	CHECK_EQ(vhost_mem_num_regions(mem), 1);
	CHECK(vhost_mem_gpa_to_va(mem, 0, 1) == NULL);
	/* Too many regions. */
	int many[9];
	for (int i = 0; i < 9; i++)
		many[i] = -1;
	CHECK_EQ(vhost_mem_set_table(mem, r, 9, many), -EINVAL);

	/* Remap: a new table replaces the old one completely. */
	uint64_t gen = vhost_mem_generation(mem);
	r[0] = reg(0, MB, 0x1000000, MB);
	f = dup(fd);
	CHECK_EQ(vhost_mem_set_table(mem, r, 1, &f), 0);
	CHECK(vhost_mem_generation(mem) != gen);
	CHECK(vhost_mem_gpa_to_va(mem, 0x40000000ull, 1) == NULL);
	CHECK(vhost_mem_gpa_to_va(mem, 0, 1) != NULL);
	/* Re-sending the identical table keeps the mapping (pointers stay valid). */
	void *p0 = vhost_mem_gpa_to_va(mem, 0, 1);
	gen = vhost_mem_generation(mem);
	f = dup(fd);
	CHECK_EQ(vhost_mem_set_table(mem, r, 1, &f), 0);
	CHECK_EQ(vhost_mem_generation(mem), gen);
	CHECK(vhost_mem_gpa_to_va(mem, 0, 1) == p0);
	/* Same layout, different file: remapped. */
	int other = make_memfd(2 * MB);
	f = dup(other);
	CHECK_EQ(vhost_mem_set_table(mem, r, 1, &f), 0);
	CHECK(vhost_mem_generation(mem) != gen);
	close(other);
	/* Zero regions is an empty map. */
	CHECK_EQ(vhost_mem_set_table(mem, r, 0, NULL), 0);
	CHECK_EQ(vhost_mem_num_regions(mem), 0);

	vhost_mem_destroy(mem);
	close(fd);
	CHECK_EQ(count_fds(), before);
}

int main(void)
{
	RUN(test_translate);
	RUN(test_unaligned_offset);
	RUN(test_bad_tables);
	return 0;
}
