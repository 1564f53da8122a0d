/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "check.h"
#include "vsnd/clock.h"
#include "vsnd/loop.h"

struct ctx {
	struct vsnd_loop *loop;
	struct vsnd_loop_source *a, *b;
	int a_calls, b_calls, timer_calls, signals;
	uint64_t expirations;
};

static void on_a(void *data, int fd, uint32_t events)
{
	struct ctx *c = data;
	uint64_t v;
	CHECK(events & EPOLLIN);
	CHECK_EQ(read(fd, &v, sizeof(v)), 8);
	c->a_calls++;
	/* Removing another ready source from a callback must be safe. */
	vsnd_loop_remove(c->b);
	c->b = NULL;
}

static void on_b(void *data, int fd, uint32_t events)
{
	struct ctx *c = data;
	uint64_t v;
	CHECK_EQ(read(fd, &v, sizeof(v)), 8);
	c->b_calls++;
	vsnd_loop_remove(c->a); /* and removing one that already ran, too */
	c->a = NULL;
}

static void on_timer(void *data, uint64_t n)
{
	struct ctx *c = data;
	c->timer_calls++;
	c->expirations += n;
	if (c->expirations >= 3)
		vsnd_loop_quit(c->loop, 7);
}

static void on_signal(void *data, int signo)
{
	struct ctx *c = data;
	CHECK_EQ(signo, SIGUSR1);
	c->signals++;
}

int main(void)
{
	struct ctx c = { 0 };
	c.loop = vsnd_loop_new();
	CHECK(c.loop != NULL);
	int fa = eventfd(0, EFD_NONBLOCK), fb = eventfd(0, EFD_NONBLOCK);
	c.a = vsnd_loop_add_fd(c.loop, fa, EPOLLIN, on_a, &c);
	c.b = vsnd_loop_add_fd(c.loop, fb, EPOLLIN, on_b, &c);
	CHECK(c.a && c.b);
	uint64_t one = 1;
	CHECK_EQ(write(fa, &one, 8), 8);
	CHECK_EQ(write(fb, &one, 8), 8);
	CHECK(vsnd_loop_iterate(c.loop, 1000) >= 1);
	/* Exactly one of the two ran: whichever ran first removed the other. */
	CHECK_EQ(c.a_calls + c.b_calls, 1);
	CHECK_EQ(vsnd_loop_iterate(c.loop, 0), 0); /* nothing else is ready */
	vsnd_loop_remove(c.a);
	vsnd_loop_remove(c.b);
	close(fa);
	close(fb);

	struct vsnd_loop_source *sig = vsnd_loop_add_signal(c.loop, SIGUSR1, on_signal, &c);
	CHECK(sig != NULL);
	raise(SIGUSR1);
	CHECK_EQ(vsnd_loop_iterate(c.loop, 1000), 1);
	CHECK_EQ(c.signals, 1);

	struct vsnd_loop_source *t = vsnd_loop_add_timer(c.loop, on_timer, &c);
	CHECK(t != NULL);
	uint64_t t0 = vsnd_now_ns();
	CHECK_EQ(vsnd_loop_timer_set(t, 10 * VSND_NSEC_PER_MSEC, 10 * VSND_NSEC_PER_MSEC), 0);
	CHECK_EQ(vsnd_loop_run(c.loop), 7);
	CHECK_EQ(c.expirations, 3);
	CHECK(vsnd_now_ns() - t0 >= 30 * VSND_NSEC_PER_MSEC);
	CHECK_EQ(vsnd_loop_timer_set(t, 0, 0), 0); /* disarmed: nothing fires */
	CHECK_EQ(vsnd_loop_iterate(c.loop, 50), 0);
	vsnd_loop_destroy(c.loop); /* frees the remaining timer and signal sources */
	return 0;
}
