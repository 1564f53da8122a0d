/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "vsnd/clock.h"
#include "vsnd/loop.h"

enum kind { SRC_FD, SRC_TIMER, SRC_SIGNAL };

struct vsnd_loop_source {
	struct vsnd_loop *loop;
	enum kind kind;
	int fd;
	bool owns_fd; /* timers and signals: the loop made the fd */
	bool dead;
	int signo;
	union {
		vsnd_loop_fd_fn fd_fn;
		vsnd_loop_timer_fn timer_fn;
		vsnd_loop_signal_fn signal_fn;
	};
	void *data;
	struct vsnd_loop_source *next; /* all sources, for destroy and deferred free */
};

struct vsnd_loop {
	int epfd;
	bool quit;
	int quit_code;
	int dispatching;
	struct vsnd_loop_source *sources;
};

struct vsnd_loop *vsnd_loop_new(void)
{
	struct vsnd_loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int err = errno;
		free(l);
		errno = err;
		return NULL;
	}
	return l;
}

static void free_source(struct vsnd_loop_source *s)
{
	if (s->owns_fd && s->fd >= 0)
		close(s->fd);
	free(s);
}

static void reap(struct vsnd_loop *l)
{
	struct vsnd_loop_source **pp = &l->sources;
	while (*pp) {
		struct vsnd_loop_source *s = *pp;
		if (s->dead) {
			*pp = s->next;
			free_source(s);
		} else {
			pp = &s->next;
		}
	}
}

void vsnd_loop_destroy(struct vsnd_loop *l)
{
	if (!l)
		return;
	while (l->sources) {
		struct vsnd_loop_source *s = l->sources;
		l->sources = s->next;
		free_source(s);
	}
	close(l->epfd);
	free(l);
}

static struct vsnd_loop_source *add(struct vsnd_loop *l, enum kind kind, int fd, bool owns,
				    uint32_t events, void *data)
{
	struct vsnd_loop_source *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->loop = l;
	s->kind = kind;
	s->fd = fd;
	s->owns_fd = owns;
	s->data = data;
	struct epoll_event ev = { .events = events, .data.ptr = s };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = errno;
		free(s);
		errno = err;
		return NULL;
	}
	s->next = l->sources;
	l->sources = s;
	return s;
}

struct vsnd_loop_source *vsnd_loop_add_fd(struct vsnd_loop *l, int fd, uint32_t events,
					  vsnd_loop_fd_fn fn, void *data)
{
	struct vsnd_loop_source *s = add(l, SRC_FD, fd, false, events, data);
	if (s)
		s->fd_fn = fn;
	return s;
}

int vsnd_loop_update_fd(struct vsnd_loop_source *s, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = s };
	return epoll_ctl(s->loop->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0 ? -errno : 0;
}

struct vsnd_loop_source *vsnd_loop_add_timer(struct vsnd_loop *l, vsnd_loop_timer_fn fn, void *data)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct vsnd_loop_source *s = add(l, SRC_TIMER, fd, true, EPOLLIN, data);
	if (!s) {
		int err = errno;
		close(fd);
		errno = err;
		return NULL;
	}
	s->timer_fn = fn;
	return s;
}

int vsnd_loop_timer_set(struct vsnd_loop_source *s, uint64_t first_ns, uint64_t interval_ns)
{
	struct itimerspec its = {
		.it_value = vsnd_ns_to_timespec(first_ns),
		.it_interval = vsnd_ns_to_timespec(interval_ns),
	};
	return timerfd_settime(s->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

struct vsnd_loop_source *vsnd_loop_add_signal(struct vsnd_loop *l, int signo,
					      vsnd_loop_signal_fn fn, void *data)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, signo);
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0)
		return NULL;
	int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct vsnd_loop_source *s = add(l, SRC_SIGNAL, fd, true, EPOLLIN, data);
	if (!s) {
		int err = errno;
		close(fd);
		errno = err;
		return NULL;
	}
	s->signo = signo;
	s->signal_fn = fn;
	return s;
}

void vsnd_loop_remove(struct vsnd_loop_source *s)
{
	if (!s || s->dead)
		return;
	epoll_ctl(s->loop->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	s->dead = true;
	if (!s->loop->dispatching)
		reap(s->loop);
}

static void dispatch(struct vsnd_loop_source *s, uint32_t events)
{
	switch (s->kind) {
	case SRC_FD:
		s->fd_fn(s->data, s->fd, events);
		break;
	case SRC_TIMER: {
		uint64_t n;
		if (read(s->fd, &n, sizeof(n)) == (ssize_t)sizeof(n) && n > 0)
			s->timer_fn(s->data, n);
		break;
	}
	case SRC_SIGNAL: {
		struct signalfd_siginfo si;
		while (read(s->fd, &si, sizeof(si)) == (ssize_t)sizeof(si) && !s->dead)
			s->signal_fn(s->data, (int)si.ssi_signo);
		break;
	}
	}
}

int vsnd_loop_iterate(struct vsnd_loop *l, int timeout_ms)
{
	struct epoll_event evs[32];
	int n = epoll_wait(l->epfd, evs, 32, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	l->dispatching++;
	for (int i = 0; i < n; i++) {
		struct vsnd_loop_source *s = evs[i].data.ptr;
		if (!s->dead)
			dispatch(s, evs[i].events);
	}
	l->dispatching--;
	reap(l);
	return n;
}

int vsnd_loop_run(struct vsnd_loop *l)
{
	l->quit = false;
	while (!l->quit) {
		int ret = vsnd_loop_iterate(l, -1);
		if (ret < 0)
			return ret;
	}
	return l->quit_code;
}

void vsnd_loop_quit(struct vsnd_loop *l, int code)
{
	l->quit = true;
	l->quit_code = code;
}

bool vsnd_loop_quitting(const struct vsnd_loop *l)
{
	return l->quit;
}
