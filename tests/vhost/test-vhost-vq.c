/* SPDX-License-Identifier: MIT */
/* Split virtqueue, device side: chains, indirect tables, hostile rings, notifications. */
#include <sys/eventfd.h>

#include <linux/virtio_config.h>

#include "vsnd/vhost-vq.h"

#include "tvhost.h"

#define GPA0 0x10000ull
#define RAM (1024 * 1024)
/* Data buffers live from here on; rings below. */
#define DATA (GPA0 + 0x80000)

static struct vhost_vq_elem elem;

struct fixture {
	struct tguest g, g2; /* g2: a second region right after g in guest physical space */
	struct vhost_mem *mem;
	struct tring r;
	struct vhost_vq *vq;
};

static void fx_init(struct fixture *f, unsigned int num, uint64_t features)
{
	struct vhost_user_mem_region regs[2];
	int fds[2];

	tguest_init(&f->g, GPA0, RAM);
	tguest_init(&f->g2, GPA0 + RAM, RAM);
	regs[0] = (struct vhost_user_mem_region){ GPA0, RAM, tguest_uva(&f->g, GPA0), 0 };
	regs[1] = (struct vhost_user_mem_region){ GPA0 + RAM, RAM, tguest_uva(&f->g2, GPA0 + RAM), 0 };
	fds[0] = dup(f->g.fd);
	fds[1] = dup(f->g2.fd);
	f->mem = vhost_mem_new();
	CHECK_EQ(vhost_mem_set_table(f->mem, regs, 2, fds), 0);
	tring_init(&f->r, &f->g, GPA0, num);
	f->vq = vhost_vq_new(0);
	CHECK_EQ(vhost_vq_set_num(f->vq, num), 0);
	CHECK_EQ(vhost_vq_set_addr(f->vq, f->mem, tguest_uva(&f->g, f->r.desc_gpa),
				   tguest_uva(&f->g, f->r.avail_gpa), tguest_uva(&f->g, f->r.used_gpa)), 0);
	vhost_vq_set_features(f->vq, features);
	vhost_vq_set_active(f->vq, true);
}

static void fx_finish(struct fixture *f)
{
	vhost_vq_destroy(f->vq);
	vhost_mem_destroy(f->mem);
	tguest_finish(&f->g);
	tguest_finish(&f->g2);
}

static const uint64_t ALL = (1ull << VIRTIO_RING_F_INDIRECT_DESC) | (1ull << VIRTIO_RING_F_EVENT_IDX);

static void test_simple_chain(void)
{
	struct fixture f;
	uint32_t len;

	fx_init(&f, 8, ALL);
	memcpy(tguest_ptr(&f.g, DATA), "hello", 5);
	tdesc_set(&f.r.desc[2], DATA, 5, VRING_DESC_F_NEXT, 5);
	tdesc_set(&f.r.desc[5], DATA + 100, 3, VRING_DESC_F_NEXT, 7);
	tdesc_set(&f.r.desc[7], DATA + 200, 64, VRING_DESC_F_WRITE, 0);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 0);
	tring_publish(&f.r, 2);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	CHECK_EQ(elem.head, 2);
	CHECK_EQ(elem.out_num, 2);
	CHECK_EQ(elem.in_num, 1);
	CHECK_EQ(elem.out_bytes, 8);
	CHECK_EQ(elem.in_bytes, 64);
	CHECK(elem.iov[0].iov_base == vhost_mem_gpa_to_va(f.mem, DATA, 1));
	CHECK(memcmp(elem.iov[0].iov_base, "hello", 5) == 0);
	CHECK_EQ(elem.iov[1].iov_len, 3);
	CHECK(elem.iov[2].iov_base == vhost_mem_gpa_to_va(f.mem, DATA + 200, 1));
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 0);
	CHECK_EQ(vhost_vq_get_base(f.vq), 1);
	CHECK_EQ(vhost_vq_push(f.vq, 2, 10), 0);
	CHECK_EQ(tring_get_used(&f.r, &len), 2);
	CHECK_EQ(len, 10);
	CHECK_EQ(tring_get_used(&f.r, &len), -1);
	CHECK_EQ(vhost_vq_push(f.vq, 8, 0), -EINVAL);
	/* Zero-length descriptors produce no iovec; a buffer in the second region is fine. */
	tdesc_set(&f.r.desc[0], DATA, 0, VRING_DESC_F_NEXT, 1);
	tdesc_set(&f.r.desc[1], GPA0 + RAM + 16, 32, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 3);
	tdesc_set(&f.r.desc[3], DATA, 0, VRING_DESC_F_WRITE, 0);
	tring_publish(&f.r, 0);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	CHECK_EQ(elem.out_num, 0);
	CHECK_EQ(elem.in_num, 1);
	CHECK(elem.iov[0].iov_base == vhost_mem_gpa_to_va(f.mem, GPA0 + RAM + 16, 1));
	/* Stopped queues pop nothing. */
	tring_publish(&f.r, 2);
	vhost_vq_set_active(f.vq, false);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 0);
	vhost_vq_set_active(f.vq, true);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	CHECK_EQ(elem.head, 2);
	fx_finish(&f);
}

static void test_indirect(void)
{
	struct fixture f;
	struct vring_desc *t;

	fx_init(&f, 4, ALL);
	t = tguest_ptr(&f.g, DATA + 0x1000);
	tdesc_set(&t[0], DATA, 16, VRING_DESC_F_NEXT, 2);
	tdesc_set(&t[2], DATA + 16, 16, VRING_DESC_F_NEXT, 1);
	tdesc_set(&t[1], DATA + 32, 100, VRING_DESC_F_WRITE, 0);
	/* WRITE on the indirect descriptor itself must be ignored. */
	tdesc_set(&f.r.desc[3], DATA + 0x1000, 3 * 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE, 0);
	tring_publish(&f.r, 3);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	CHECK_EQ(elem.head, 3);
	CHECK_EQ(elem.out_num, 2);
	CHECK_EQ(elem.in_num, 1);
	CHECK_EQ(elem.in_bytes, 100);
	CHECK(elem.iov[1].iov_base == vhost_mem_gpa_to_va(f.mem, DATA + 16, 1));
	/* An indirect table of the maximum size (1024 entries) in one chain. */
	t = tguest_ptr(&f.g, DATA + 0x2000);
	for (unsigned int i = 0; i < VHOST_VQ_MAX_IOV; i++)
		tdesc_set(&t[i], DATA, 4, i + 1 < VHOST_VQ_MAX_IOV ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	tdesc_set(&f.r.desc[0], DATA + 0x2000, VHOST_VQ_MAX_IOV * 16, VRING_DESC_F_INDIRECT, 0);
	tring_publish(&f.r, 0);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	CHECK_EQ(elem.out_num, VHOST_VQ_MAX_IOV);
	CHECK_EQ(elem.out_bytes, 4 * VHOST_VQ_MAX_IOV);
	fx_finish(&f);
}

/* Build a bad chain at head 0 and expect pop to fail with @err and break the queue. */
typedef void (*setup_fn)(struct fixture *f);

static void expect_broken(setup_fn setup, uint64_t features, int err)
{
	struct fixture f;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t cnt = 0;

	fx_init(&f, 8, features);
	vhost_vq_set_err_fd(f.vq, efd);
	setup(&f);
	int r = vhost_vq_pop(f.vq, &elem);
	if (r != err)
		fprintf(stderr, "pop returned %d, want %d\n", r, err);
	CHECK_EQ(r, err);
	CHECK(vhost_vq_broken(f.vq));
	CHECK_EQ(read(efd, &cnt, sizeof(cnt)), 8);
	CHECK_EQ(cnt, 1);
	/* Broken stays broken, and pushing into it is refused too. */
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), -EIO);
	CHECK_EQ(vhost_vq_push(f.vq, 0, 0), -EIO);
	CHECK(!vhost_vq_should_notify(f.vq));
	/* A new base (the frontend restarting the ring) clears it. */
	CHECK_EQ(vhost_vq_set_base(f.vq, 0), 0);
	CHECK(!vhost_vq_broken(f.vq));
	fx_finish(&f);
}

static void s_loop(struct fixture *f)
{
	tdesc_set(&f->r.desc[0], DATA, 1, VRING_DESC_F_NEXT, 1);
	tdesc_set(&f->r.desc[1], DATA, 1, VRING_DESC_F_NEXT, 0);
	tring_publish(&f->r, 0);
}
static void s_self_loop(struct fixture *f)
{
	tdesc_set(&f->r.desc[0], DATA, 0, VRING_DESC_F_NEXT, 0);
	tring_publish(&f->r, 0);
}
static void s_indirect_loop(struct fixture *f)
{
	struct vring_desc *t = tguest_ptr(&f->g, DATA + 0x1000);
	tdesc_set(&t[0], DATA, 1, VRING_DESC_F_NEXT, 1);
	tdesc_set(&t[1], DATA, 1, VRING_DESC_F_NEXT, 0);
	tdesc_set(&f->r.desc[0], DATA + 0x1000, 32, VRING_DESC_F_INDIRECT, 0);
	tring_publish(&f->r, 0);
}
static void s_read_after_write(struct fixture *f)
{
	tdesc_set(&f->r.desc[0], DATA, 1, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 1);
	tdesc_set(&f->r.desc[1], DATA, 1, 0, 0);
	tring_publish(&f->r, 0);
}
static void s_head_range(struct fixture *f)
{
	tring_publish(&f->r, 8);
}
static void s_next_range(struct fixture *f)
{
	tdesc_set(&f->r.desc[0], DATA, 1, VRING_DESC_F_NEXT, 8);
	tring_publish(&f->r, 0);
}
static void s_outside(struct fixture *f)
{
	tdesc_set(&f->r.desc[0], 0x1000, 16, 0, 0);
	tring_publish(&f->r, 0);
}
static void s_cross_region(struct fixture *f)
{
	tdesc_set(&f->r.desc[0], GPA0 + RAM - 8, 16, 0, 0);
	tring_publish(&f->r, 0);
}
static void s_huge_len(struct fixture *f)
{
	tdesc_set(&f->r.desc[0], DATA, UINT32_MAX, 0, 0);
	tring_publish(&f->r, 0);
}
static void s_wrap_addr(struct fixture *f)
{
	tdesc_set(&f->r.desc[0], UINT64_MAX - 3, 16, 0, 0);
	tring_publish(&f->r, 0);
}
static void indirect_len(struct fixture *f, uint32_t len)
{
	tdesc_set(&f->r.desc[0], DATA + 0x1000, len, VRING_DESC_F_INDIRECT, 0);
	tring_publish(&f->r, 0);
}
static void s_ind_len0(struct fixture *f) { indirect_len(f, 0); }
static void s_ind_len15(struct fixture *f) { indirect_len(f, 15); }
static void s_ind_len17(struct fixture *f) { indirect_len(f, 17); }
static void s_ind_too_big(struct fixture *f) { indirect_len(f, (VHOST_VQ_MAX_IOV + 1) * 16); }
static void s_ind_outside(struct fixture *f)
{
	tdesc_set(&f->r.desc[0], GPA0 + 2 * RAM - 16, 32, VRING_DESC_F_INDIRECT, 0);
	tring_publish(&f->r, 0);
}
static void s_ind_nested(struct fixture *f)
{
	struct vring_desc *t = tguest_ptr(&f->g, DATA + 0x1000);
	tdesc_set(&t[0], DATA + 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	indirect_len(f, 16);
}
static void s_ind_with_next(struct fixture *f)
{
	tdesc_set(&f->r.desc[0], DATA + 0x1000, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	tring_publish(&f->r, 0);
}
static void s_ind_not_head(struct fixture *f)
{
	tdesc_set(&f->r.desc[0], DATA, 4, VRING_DESC_F_NEXT, 1);
	tdesc_set(&f->r.desc[1], DATA + 0x1000, 16, VRING_DESC_F_INDIRECT, 0);
	tring_publish(&f->r, 0);
}
static void s_ind_next_range(struct fixture *f)
{
	struct vring_desc *t = tguest_ptr(&f->g, DATA + 0x1000);
	tdesc_set(&t[0], DATA, 1, VRING_DESC_F_NEXT, 2);
	indirect_len(f, 32);
}
static void s_avail_jump(struct fixture *f)
{
	f->r.avail->idx = htole16(9); /* 9 > queue size 8 */
}
static void s_avail_back(struct fixture *f)
{
	f->r.avail->idx = htole16(0xffff); /* "moved" by 65535 */
}

static void test_hostile(void)
{
	int before = count_fds();

	expect_broken(s_loop, ALL, -ELOOP);
	expect_broken(s_self_loop, ALL, -ELOOP);
	expect_broken(s_indirect_loop, ALL, -ELOOP);
	expect_broken(s_read_after_write, ALL, -EINVAL);
	expect_broken(s_head_range, ALL, -EINVAL);
	expect_broken(s_next_range, ALL, -EINVAL);
	expect_broken(s_outside, ALL, -EFAULT);
	expect_broken(s_cross_region, ALL, -EFAULT);
	expect_broken(s_huge_len, ALL, -EFAULT);
	expect_broken(s_wrap_addr, ALL, -EFAULT);
	expect_broken(s_ind_len0, ALL, -EINVAL);
	expect_broken(s_ind_len15, ALL, -EINVAL);
	expect_broken(s_ind_len17, ALL, -EINVAL);
	expect_broken(s_ind_too_big, ALL, -EINVAL);
	expect_broken(s_ind_outside, ALL, -EFAULT);
	expect_broken(s_ind_nested, ALL, -EINVAL);
	expect_broken(s_ind_with_next, ALL, -EINVAL);
	expect_broken(s_ind_not_head, ALL, -EINVAL);
	expect_broken(s_ind_next_range, ALL, -EINVAL);
	/* Indirect descriptors without the feature. */
	expect_broken(s_ind_nested, 0, -EINVAL);
	expect_broken(s_avail_jump, ALL, -ERANGE);
	expect_broken(s_avail_back, ALL, -ERANGE);
	expect_broken(s_avail_jump, 0, -ERANGE);
	CHECK_EQ(count_fds(), before);
}

static void test_long_chain(void)
{
	struct fixture f;

	/* A direct chain of 1025 buffers in a 2048 queue: more than VHOST_VQ_MAX_IOV. */
	fx_init(&f, 2048, ALL);
	for (unsigned int i = 0; i <= VHOST_VQ_MAX_IOV; i++)
		tdesc_set(&f.r.desc[i], DATA, 1, i < VHOST_VQ_MAX_IOV ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	tring_publish(&f.r, 0);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), -E2BIG);
	CHECK(vhost_vq_broken(f.vq));
	fx_finish(&f);
	/* Exactly the queue size is fine; a full ring (avail moved by num) too. */
	fx_init(&f, 4, ALL);
	for (unsigned int i = 0; i < 4; i++)
		tdesc_set(&f.r.desc[i], DATA, 1, i < 3 ? VRING_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	for (unsigned int i = 0; i < 4; i++)
		tring_publish(&f.r, 0);
	for (unsigned int i = 0; i < 4; i++) {
		CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
		CHECK_EQ(elem.out_num, 4);
	}
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 0);
	fx_finish(&f);
}

static void test_other_queue_survives(void)
{
	struct fixture f;
	struct tring r2;
	struct vhost_vq *vq2 = vhost_vq_new(1);

	fx_init(&f, 8, ALL);
	tring_init(&r2, &f.g, GPA0 + 0x10000, 8);
	CHECK_EQ(vhost_vq_set_num(vq2, 8), 0);
	CHECK_EQ(vhost_vq_set_addr(vq2, f.mem, tguest_uva(&f.g, r2.desc_gpa), tguest_uva(&f.g, r2.avail_gpa),
				   tguest_uva(&f.g, r2.used_gpa)), 0);
	vhost_vq_set_active(vq2, true);
	s_loop(&f);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), -ELOOP);
	tdesc_set(&r2.desc[0], DATA, 4, 0, 0);
	tring_publish(&r2, 0);
	CHECK_EQ(vhost_vq_pop(vq2, &elem), 1);
	CHECK_EQ(vhost_vq_push(vq2, 0, 0), 0);
	CHECK_EQ(tring_get_used(&r2, NULL), 0);
	vhost_vq_destroy(vq2);
	fx_finish(&f);
}

static void test_event_idx(void)
{
	struct fixture f;
	int call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t cnt;

	fx_init(&f, 8, ALL);
	vhost_vq_set_call_fd(f.vq, call);
	for (int i = 0; i < 4; i++)
		tdesc_set(&f.r.desc[i], DATA, 1, 0, 0);
	/* Empty queue: the device publishes where it stopped (avail_event). */
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 0);
	CHECK_EQ(tring_avail_event(&f.r), 0);
	tring_publish(&f.r, 0);
	tring_publish(&f.r, 1);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	CHECK_EQ(tring_avail_event(&f.r), 1);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	CHECK_EQ(tring_avail_event(&f.r), 2);
	/* First completion always signals (no previous signal to compare with). */
	tring_used_event_set(&f.r, 0);
	CHECK_EQ(vhost_vq_push(f.vq, 0, 0), 0);
	CHECK_EQ(vhost_vq_notify(f.vq), 1);
	CHECK_EQ(read(call, &cnt, 8), 8);
	CHECK_EQ(cnt, 1);
	/* Driver wants an interrupt only after used index 5. */
	tring_used_event_set(&f.r, 5);
	CHECK_EQ(vhost_vq_push(f.vq, 1, 0), 0);
	CHECK_EQ(vhost_vq_notify(f.vq), 0);
	CHECK_EQ(read(call, &cnt, 8), -1);
	/* used_event = 2 means: signal when used idx passes 2 (2 -> 3). */
	tring_used_event_set(&f.r, 2);
	tring_publish(&f.r, 2);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	CHECK_EQ(vhost_vq_push(f.vq, 2, 0), 0);
	CHECK_EQ(vhost_vq_notify(f.vq), 1);
	/* Nothing new pushed: no further signal. */
	CHECK(!vhost_vq_should_notify(f.vq));
	/* Flags are ignored with EVENT_IDX. */
	f.r.avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	tring_used_event_set(&f.r, 3);
	tring_publish(&f.r, 3);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	CHECK_EQ(vhost_vq_push(f.vq, 3, 0), 0);
	CHECK(vhost_vq_should_notify(f.vq));
	fx_finish(&f);
}

static void test_flags_and_notify_on_empty(void)
{
	struct fixture f;

	fx_init(&f, 8, 0);
	tdesc_set(&f.r.desc[0], DATA, 1, 0, 0);
	tdesc_set(&f.r.desc[1], DATA, 1, 0, 0);
	tring_publish(&f.r, 0);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	CHECK_EQ(vhost_vq_push(f.vq, 0, 0), 0);
	CHECK(vhost_vq_should_notify(f.vq));
	f.r.avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	CHECK(!vhost_vq_should_notify(f.vq));
	/* No call fd: notify does nothing but reports 0. */
	CHECK_EQ(vhost_vq_notify(f.vq), 0);
	/* Without EVENT_IDX the device never writes avail_event. */
	CHECK_EQ(tring_avail_event(&f.r), 0);
	fx_finish(&f);

	/* NOTIFY_ON_EMPTY overrides NO_INTERRUPT once the queue ran empty. */
	fx_init(&f, 8, 1ull << VIRTIO_F_NOTIFY_ON_EMPTY);
	f.r.avail->flags = htole16(VRING_AVAIL_F_NO_INTERRUPT);
	tdesc_set(&f.r.desc[0], DATA, 1, 0, 0);
	tdesc_set(&f.r.desc[1], DATA, 1, 0, 0);
	tring_publish(&f.r, 0);
	tring_publish(&f.r, 1);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	CHECK_EQ(vhost_vq_push(f.vq, 0, 0), 0);
	CHECK(!vhost_vq_should_notify(f.vq)); /* one still available */
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	CHECK(!vhost_vq_should_notify(f.vq)); /* one still in flight */
	CHECK_EQ(vhost_vq_push(f.vq, 1, 0), 0);
	CHECK(vhost_vq_should_notify(f.vq));
	fx_finish(&f);
}

static void test_config_errors(void)
{
	struct fixture f;
	struct vhost_vq *vq = vhost_vq_new(3);

	fx_init(&f, 8, 0);
	CHECK_EQ(vhost_vq_index(vq), 3);
	CHECK_EQ(vhost_vq_set_num(vq, 0), -EINVAL);
	CHECK_EQ(vhost_vq_set_num(vq, 3), -EINVAL);
	CHECK_EQ(vhost_vq_set_num(vq, 65536), -EINVAL);
	CHECK_EQ(vhost_vq_set_addr(vq, f.mem, 0, 0, 0), -EINVAL); /* no size yet */
	CHECK_EQ(vhost_vq_set_num(vq, 256), 0);
	uint64_t d = tguest_uva(&f.g, GPA0), a = tguest_uva(&f.g, GPA0 + 0x1000), u = tguest_uva(&f.g, GPA0 + 0x2000);
	CHECK_EQ(vhost_vq_set_addr(vq, f.mem, d, a, u), 0);
	CHECK(vhost_vq_has_addr(vq));
	CHECK_EQ(vhost_vq_set_addr(vq, f.mem, d + 8, a, u), -EINVAL);
	CHECK_EQ(vhost_vq_set_addr(vq, f.mem, d, a + 1, u), -EINVAL);
	CHECK_EQ(vhost_vq_set_addr(vq, f.mem, d, a, u + 2), -EINVAL);
	CHECK(!vhost_vq_has_addr(vq));
	/* Rings outside memory or running off its end. */
	CHECK_EQ(vhost_vq_set_addr(vq, f.mem, 0x1000, a, u), -EFAULT);
	CHECK_EQ(vhost_vq_set_addr(vq, f.mem, d, a, tguest_uva(&f.g2, GPA0 + 2 * RAM - 16)), -EFAULT);
	CHECK_EQ(vhost_vq_set_addr(vq, f.mem, tguest_uva(&f.g, GPA0 + RAM - 16 * 128), a, u), -EFAULT);
	CHECK_EQ(vhost_vq_set_addr(vq, f.mem, UINT64_MAX - 15, a, u), -EFAULT);
	CHECK(!vhost_vq_has_addr(vq));
	CHECK_EQ(vhost_vq_set_base(vq, 0x10000), -EINVAL);
	CHECK_EQ(vhost_vq_set_base(vq, 0xfffe), 0);
	CHECK_EQ(vhost_vq_get_base(vq), 0xfffe);
	int dummy = 1;
	vhost_vq_set_data(vq, &dummy);
	CHECK(vhost_vq_get_data(vq) == &dummy);
	vhost_vq_reset(vq);
	CHECK(vhost_vq_get_data(vq) == &dummy);
	CHECK_EQ(vhost_vq_num(vq), 0);
	vhost_vq_destroy(vq);
	vhost_vq_destroy(NULL);
	fx_finish(&f);
}

static void test_base_wrap_and_remap(void)
{
	struct fixture f;

	fx_init(&f, 4, ALL);
	/* Start near the 16-bit wrap: indices roll over cleanly. */
	CHECK_EQ(vhost_vq_set_base(f.vq, 0xfffe), 0);
	f.r.avail_idx = 0xfffe;
	vhost_vq_set_active(f.vq, false);
	vhost_vq_set_active(f.vq, true);
	tdesc_set(&f.r.desc[0], DATA, 1, 0, 0);
	for (int i = 0; i < 4; i++)
		tring_publish(&f.r, 0);
	for (int i = 0; i < 4; i++)
		CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	CHECK_EQ(vhost_vq_get_base(f.vq), 2);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 0);

	/* New memory table with the same layout: the ring follows it. */
	struct vhost_user_mem_region reg = { GPA0, RAM, tguest_uva(&f.g, GPA0), 0 };
	int fd = dup(f.g.fd);
	CHECK_EQ(vhost_mem_set_table(f.mem, &reg, 1, &fd), 0);
	tring_publish(&f.r, 0);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), 1);
	/* A table that no longer covers the ring breaks the queue instead of dangling. */
	reg = (struct vhost_user_mem_region){ GPA0 + RAM, RAM, tguest_uva(&f.g2, GPA0 + RAM), 0 };
	fd = dup(f.g2.fd);
	CHECK_EQ(vhost_mem_set_table(f.mem, &reg, 1, &fd), 0);
	tring_publish(&f.r, 0);
	CHECK_EQ(vhost_vq_pop(f.vq, &elem), -EFAULT);
	CHECK(vhost_vq_broken(f.vq));
	CHECK_EQ(vhost_vq_remap(f.vq), -EFAULT);
	fx_finish(&f);
}

int main(void)
{
	RUN(test_simple_chain);
	RUN(test_indirect);
	RUN(test_hostile);
	RUN(test_long_chain);
	RUN(test_other_queue_survives);
	RUN(test_event_idx);
	RUN(test_flags_and_notify_on_empty);
	RUN(test_config_errors);
	RUN(test_base_wrap_and_remap);
	return 0;
}
