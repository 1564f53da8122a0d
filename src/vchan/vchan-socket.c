/* SPDX-License-Identifier: MIT */
/*
 * vchan over a UNIX stream socket, wire-compatible with
 * qubes-core-vchan-socket (path scheme, server listens, raw byte stream).
 *
 * Unlike that library there is no I/O thread: the socket is non-blocking and
 * every call does the I/O it needs. The caller's event loop polls one epoll
 * fd that holds whatever the vchan currently waits on (listening socket,
 * connected socket, retry timer, directory watch), all edge-triggered so an
 * event is consumed by libvchan_wait() the way a Xen event channel is. Like
 * a Xen vchan, it tells a writer about freed space only while the writer
 * waits for it (a short write, or a low buffer_space(): out_watch).
 *
 * Buffering is kept honest: buffer_space = write ring capacity - our ring -
 * bytes the peer has not read yet, so latency cannot hide in the kernel.
 * The unread count is bounded cheaply (SIOCOUTQ, bytes sent since the queue
 * was last empty) and made exact with sock_diag when the bound is not good
 * enough (vchan-diag.c). The write ring only holds what the kernel refused
 * for now; SO_SNDBUF is sized from it, so the kernel never holds more than
 * the ring allows in flight. There is deliberately no read-ahead ring:
 * reading ahead would take bytes out of the kernel queue, the sender would
 * count them as consumed, and the hidden buffering that made the original
 * drift to 500 ms would be back. The socket's receive queue is the read
 * ring, and read_min only caps what data_ready reports.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/sockios.h>

#include "vsnd/log.h"
#include "vsnd/ring.h"
#include "vchan-diag.h"
#include "vchan-private.h"

VSND_LOG_TOPIC(log_topic, "vchan.socket");

#define CLIENT_RING_SIZE (64u * 1024u)
#define RING_MIN 1024u
#define RETRY_NS (50 * 1000 * 1000)

/* epoll tags */
enum { TAG_LISTEN = 1, TAG_CONN, TAG_TIMER, TAG_DIR, TAG_STARVE };

/* Re-check interval while a writer waits for space, doubling to the max. */
#define STARVE_MIN_NS (2 * 1000 * 1000)
#define STARVE_MAX_NS (16 * 1000 * 1000)

struct vchan_sock {
	int epfd;
	int fd;  /* connected stream, -1 before connect */
	int lfd; /* server: listening socket while waiting */
	int tfd; /* client: retry timer while waiting */
	int ifd; /* client: inotify on the socket directory while waiting */
	int nl;  /* sock_diag socket for exact accounting, -1 if unavailable */
	int sfd; /* timer re-checking space while a writer is starved, -1 until needed */
	uint64_t starve_ns; /* its current interval, 0 = disarmed */
	bool starved;       /* a write came up short since the timer last fired */
	bool out_armed;     /* the connection's EPOLLOUT is in the epoll set (see out_watch) */
	bool recheck;       /* the timer fired: the next write counts exactly */
	uint32_t peer_ino; /* peer socket inode for sock_diag, 0 until known */
	int state;
	bool server;
	bool blocking;
	bool peer_gone;
	dev_t dev; /* server: identity of the socket file we bound */
	ino_t ino;
	uint32_t rcap;    /* data_ready cap (read_min rounded) */
	uint64_t unacked; /* bytes handed to the kernel since its queue was last seen empty */
	uint64_t rx_known; /* bytes known to be queued for us (only we take them) */
	struct vsnd_ring wring;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

static uint32_t round_size(size_t v)
{
	uint32_t p = RING_MIN;
	while (p < v)
		p <<= 1;
	return p;
}

static int ep_add(struct vchan_sock *s, int fd, uint32_t tag, uint32_t events)
{
	struct epoll_event ev = { .events = events | EPOLLET, .data.u32 = tag };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

static int make_addr(struct sockaddr_un *addr, const char *path)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path))
		return -ENAMETOOLONG;
	strcpy(addr->sun_path, path);
	return 0;
}

/* Unlink the socket file only if it is still the one we bound. */
static void unlink_ours(struct vchan_sock *s)
{
	struct stat st;
	if (s->ino && stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
		unlink(s->path);
	s->ino = 0;
}

static void set_state(struct vchan_sock *s, int state)
{
	if (s->state != state)
		vsnd_debug(&log_topic, "%s: %d -> %d", s->path, s->state, state);
	s->state = state;
}

static void mark_gone(struct vchan_sock *s)
{
	s->peer_gone = true;
	set_state(s, VCHAN_DISCONNECTED);
}

static int setup_conn(struct vchan_sock *s, int fd)
{
	/* The kernel doubles SO_SNDBUF; 2 x ring gives a writable edge
	 * (EPOLLOUT) as soon as the queue is below the ring size, which is
	 * exactly when buffer_space can grow. The ring, not this, bounds what
	 * is in flight. That edge is watched only while a writer waits for
	 * space (out_watch). */
	int sb = (int)(vsnd_ring_capacity(&s->wring) * 2);
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb)) < 0)
		vsnd_debug(&log_topic, "SO_SNDBUF: %s", strerror(errno));
	s->fd = fd;
	s->unacked = 0;
	s->rx_known = 0;
	s->peer_ino = 0;
	if (s->nl < 0) {
		int nl = vchan_diag_open();
		if (nl < 0)
			vsnd_debug(&log_topic, "no sock_diag (%s): buffer_space is a bound", strerror(-nl));
		s->nl = nl;
	}
	/* Armed at first: the connection's first writable edge is what tells
	 * the caller (init_async_finish, a waiting server) that it is up. */
	s->out_armed = true;
	int r = ep_add(s, fd, TAG_CONN, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
	if (r < 0)
		return r;
	set_state(s, VCHAN_CONNECTED);
	return 0;
}

static int try_accept(struct vchan_sock *s)
{
	int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
			return 0;
		return -errno;
	}
	/* One client per vchan: stop listening so nobody else can queue up
	 * behind it, and free the name for a re-initialised server. */
	close_fd(&s->lfd);
	unlink_ours(s);
	int r = setup_conn(s, fd);
	if (r < 0) {
		close(fd);
		s->fd = -1;
		return r;
	}
	return 1;
}

static int try_connect(struct vchan_sock *s)
{
	struct sockaddr_un addr;
	int r = make_addr(&addr, s->path);
	if (r < 0)
		return r;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		close(fd);
		/* No server yet, a stale file, or its backlog is full: retry. */
		if (e == ENOENT || e == ECONNREFUSED || e == EAGAIN || e == EINTR)
			return 0;
		return -e;
	}
	close_fd(&s->tfd);
	close_fd(&s->ifd);
	r = setup_conn(s, fd);
	if (r < 0) {
		close(fd);
		s->fd = -1;
		return r;
	}
	return 1;
}

/* Push the write ring into the socket as far as the kernel takes it. */
static int flush(struct vchan_sock *s)
{
	for (;;) {
		struct vsnd_ring_area a[2];
		uint32_t n = vsnd_ring_read_begin(&s->wring, a, UINT32_MAX);
		if (n == 0)
			return 0;
		ssize_t w = send(s->fd, a[0].data, a[0].frames, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			if (errno == EPIPE || errno == ECONNRESET) {
				mark_gone(s);
				return 0;
			}
			return -errno;
		}
		vsnd_ring_read_commit(&s->wring, (uint32_t)w);
		s->unacked += (uint64_t)w;
		if ((uint32_t)w < a[0].frames)
			return 0;
	}
}

/* Has the peer closed? Cheap, and does not consume data. */
static void check_hup(struct vchan_sock *s)
{
	if (s->fd < 0 || s->peer_gone)
		return;
	struct pollfd p = { .fd = s->fd, .events = POLLRDHUP };
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		mark_gone(s);
}

/* Do whatever I/O is possible now without blocking. The peer's death is
 * noticed by the I/O itself (EOF, EPIPE), by the epoll event, or by
 * is_open(): not here, which keeps the fast path at one syscall. */
static int pump(struct vchan_sock *s)
{
	int r = 0;
	if (s->state == VCHAN_WAITING)
		r = s->server ? try_accept(s) : try_connect(s);
	if (r < 0)
		return r;
	if (s->fd >= 0 && !s->peer_gone && vsnd_ring_readable(&s->wring))
		return flush(s);
	return 0;
}

/*
 * The kernel wakes a writer (EPOLLOUT) only when the reader frees a whole
 * skb while the queue is below the writable mark. A reader that took part
 * of an skb and now waits for more (an all-or-nothing recv) would leave a
 * writer waiting for space it already has: the same ring on Xen never
 * stalls there. So while a writer is starved and bytes are in flight, a
 * timer makes the vchan fd readable now and then, backing off from 2 ms to
 * 16 ms, and the next call re-counts exactly.
 */
static void starve_set(struct vchan_sock *s, uint64_t ns)
{
	if (ns && s->sfd < 0) {
		s->sfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (s->sfd < 0)
			return;
		if (ep_add(s, s->sfd, TAG_STARVE, EPOLLIN) < 0) {
			close_fd(&s->sfd);
			return;
		}
	}
	if (s->sfd < 0 || ns == s->starve_ns)
		return;
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(ns / 1000000000u),
						.tv_nsec = (long)(ns % 1000000000u) } };
	if (timerfd_settime(s->sfd, 0, &its, NULL) == 0)
		s->starve_ns = ns;
}

/*
 * Watch the connection's writable edges or not. Every read by the peer makes
 * one, and the caller's loop would wake for each: a writer that never waits
 * for space (one that sends a period each cycle of its own clock) would be
 * woken once per period for nothing. So, as a Xen vchan notifies only a
 * writer that asked, they are watched while a writer waits: after a short
 * write, or while buffer_space() reports less than half the ring (and from
 * the connection on: its first edge announces it); and no longer once
 * buffer_space() reports three quarters free with no write starved. Only
 * the changes cost a syscall. (Arming while the socket is writable gives
 * one event at once: one extra look, not a loop, since arming again needs
 * a disarm, and that needs the space back.)
 */
static void out_watch(struct vchan_sock *s, bool on)
{
	if (s->fd < 0 || s->out_armed == on)
		return;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | EPOLLET | (on ? EPOLLOUT : 0u),
				  .data.u32 = TAG_CONN };
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, s->fd, &ev) == 0)
		s->out_armed = on;
}

/* Arming is one syscall and happens once per starvation episode: the timer
 * then stops by itself at the first expiry with no short write since. */
static void starve_arm(struct vchan_sock *s)
{
	s->starved = true;
	out_watch(s, true);
	if (!s->starve_ns)
		starve_set(s, STARVE_MIN_NS);
}

/* Block until the epoll fd reports something, consume it, then pump. */
static int wait_event(struct vchan_sock *s, int timeout_ms)
{
	struct epoll_event ev[8];
	int n;
	do
		n = epoll_wait(s->epfd, ev, 8, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		char buf[sizeof(struct inotify_event) + NAME_MAX + 1];
		if (ev[i].data.u32 == TAG_CONN && s->fd >= 0 &&
		    (ev[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
			mark_gone(s);
		} else if (ev[i].data.u32 == TAG_TIMER && s->tfd >= 0) {
			uint64_t t;
			if (read(s->tfd, &t, sizeof(t)) < 0 && errno != EAGAIN)
				return -errno;
		} else if (ev[i].data.u32 == TAG_DIR && s->ifd >= 0) {
			while (read(s->ifd, buf, sizeof(buf)) > 0)
				;
		} else if (ev[i].data.u32 == TAG_STARVE && s->sfd >= 0 && s->starve_ns) {
			uint64_t t;
			if (read(s->sfd, &t, sizeof(t)) > 0) {
				uint64_t next = s->starve_ns * 2;
				s->recheck = true;
				s->starve_ns = 0; /* one-shot: expired */
				if (s->starved)
					starve_set(s, next < STARVE_MAX_NS ? next : STARVE_MAX_NS);
				s->starved = false;
			}
		}
	}
	int r = pump(s);
	return r < 0 ? r : n;
}

static int fail(int neg_errno)
{
	errno = -neg_errno;
	return -1;
}

/*
 * Bytes the peer has not read yet. SIOCOUTQ (kernel memory, >= bytes) and
 * the bytes sent since the queue was last empty are both upper bounds, so
 * their minimum is one; @exact asks sock_diag for the true figure.
 */
static uint64_t in_flight(struct vchan_sock *s, bool exact)
{
	int outq = 0;
	if (s->fd < 0 || ioctl(s->fd, SIOCOUTQ, &outq) < 0)
		return 0;
	if (outq <= 0) {
		s->unacked = 0;
		/* Nothing in flight: the kernel signals everything from here. */
		if (s->starve_ns)
			starve_set(s, 0);
		return 0;
	}
	uint64_t bound = (uint64_t)outq < s->unacked ? (uint64_t)outq : s->unacked;
	if (!exact || s->nl < 0)
		return bound;
	/* A client's peer gets its inode only when the server accepts. */
	if (!s->peer_ino && vchan_diag_peer(s->nl, s->fd, &s->peer_ino) < 0)
		return bound;
	int64_t unread = vchan_diag_unread(s->nl, s->peer_ino);
	if (unread < 0)
		return bound;
	if ((uint64_t)unread < bound)
		bound = (uint64_t)unread;
	/* Tighten the cheap bound for the next calls too. */
	s->unacked = bound;
	return bound;
}

static uint32_t space_now(struct vchan_sock *s, bool exact)
{
	if (s->state == VCHAN_DISCONNECTED)
		return 0;
	uint64_t cap = vsnd_ring_capacity(&s->wring);
	uint64_t used = vsnd_ring_readable(&s->wring) + in_flight(s, exact);
	return used >= cap ? 0 : (uint32_t)(cap - used);
}

static uint32_t ready_now(struct vchan_sock *s)
{
	int inq = 0;
	if (s->fd < 0 || ioctl(s->fd, SIOCINQ, &inq) < 0 || inq < 0)
		return 0;
	s->rx_known = (uint64_t)inq;
	return (uint32_t)inq < s->rcap ? (uint32_t)inq : s->rcap;
}

static int sock_buffer_space(void *impl)
{
	struct vchan_sock *s = impl;
	pump(s);
	uint32_t space = space_now(s, true), cap = vsnd_ring_capacity(&s->wring);
	/* The caller may wait for more now: tell it when the peer frees some. */
	if (space < cap / 2)
		out_watch(s, true);
	else if (space >= cap - cap / 4 && !s->starved)
		out_watch(s, false);
	return (int)space;
}

static int sock_data_ready(void *impl)
{
	struct vchan_sock *s = impl;
	if (s->state == VCHAN_WAITING)
		pump(s);
	return (int)ready_now(s);
}

static int sock_is_open(void *impl)
{
	struct vchan_sock *s = impl;
	pump(s);
	check_hup(s);
	return s->state;
}

/* Take @size bytes now: straight to the socket while nothing is queued
 * ahead of them (keeps order, saves a copy), the rest into the ring.
 * Returns 0, or -EPIPE if the peer turned out to be gone. */
static int put(struct vchan_sock *s, const uint8_t *p, size_t size)
{
	if (s->fd >= 0 && vsnd_ring_readable(&s->wring) == 0) {
		ssize_t w = send(s->fd, p, size, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			s->unacked += (uint64_t)w;
			p += w;
			size -= (size_t)w;
		} else if (w < 0 && (errno == EPIPE || errno == ECONNRESET)) {
			mark_gone(s);
			return -EPIPE;
		}
	}
	if (size)
		vsnd_ring_write(&s->wring, p, (uint32_t)size);
	return 0;
}

static int do_write(struct vchan_sock *s, const void *data, size_t size, bool all)
{
	if (!data && size)
		return fail(-EINVAL);
	if (size == 0)
		return 0;
	uint32_t cap = vsnd_ring_capacity(&s->wring);
	if (all && size > cap)
		return fail(-EMSGSIZE);
	size_t need = all ? size : 1;
	for (;;) {
		int r = pump(s);
		if (r < 0)
			return fail(r);
		if (s->state == VCHAN_DISCONNECTED)
			return fail(-EPIPE);
		/* Cheapest first: bytes sent since the queue was last seen empty
		 * bound what is unread, often well enough to need no syscall. */
		uint64_t cap64 = cap, quick = vsnd_ring_readable(&s->wring) + s->unacked;
		uint32_t space = quick < cap64 && s->state != VCHAN_DISCONNECTED
					 ? (uint32_t)(cap64 - quick) : 0;
		if (space < need)
			space = space_now(s, false);
		/* The exact count costs a netlink round trip: a writer running
		 * ahead of its reader would pay it on every call. Kernel wakeups
		 * keep the cheap bound moving; the exact count is for when they
		 * cannot (the starvation timer fired). buffer_space() is always
		 * exact and tightens the bound, so writing what it reported
		 * never comes up short. */
		if (space < need && s->recheck) {
			s->recheck = false;
			space = space_now(s, true);
		}
		if (space >= need) {
			size_t n = size < space ? size : space;
			r = put(s, data, n);
			if (r < 0)
				return fail(r);
			if (n < size)
				starve_arm(s);
			return (int)(n > INT_MAX ? INT_MAX : n);
		}
		starve_arm(s);
		if (!s->blocking)
			return 0;
		r = wait_event(s, -1);
		if (r < 0)
			return fail(r);
	}
}

static int sock_write(void *impl, const void *data, size_t size)
{
	/* An int return cannot count more; the caller writes the rest later. */
	if (size > INT_MAX)
		size = INT_MAX;
	return do_write(impl, data, size, false);
}

static int sock_send(void *impl, const void *data, size_t size)
{
	if (size > INT_MAX)
		return fail(-EMSGSIZE);
	return do_write(impl, data, size, true);
}

/* Read up to @size bytes that are already queued. Returns bytes, 0 if none,
 * -errno. EOF / reset mark the peer gone. */
static ssize_t take(struct vchan_sock *s, uint8_t *p, size_t size, bool all)
{
	size_t got = 0;
	while (got < size) {
		ssize_t r = recv(s->fd, p + got, size - got, MSG_DONTWAIT);
		if (r > 0) {
			got += (size_t)r;
			s->rx_known = s->rx_known > (uint64_t)r ? s->rx_known - (uint64_t)r : 0;
			/* one recv() gathers all queued bytes up to size */
			if (!all)
				break;
			continue;
		}
		if (r == 0 || errno == ECONNRESET) {
			mark_gone(s);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			break;
		return got ? (ssize_t)got : -errno;
	}
	return (ssize_t)got;
}

static int do_read(struct vchan_sock *s, void *data, size_t size, bool all)
{
	if (!data && size)
		return fail(-EINVAL);
	if (size == 0)
		return 0;
	if (size > INT_MAX) {
		if (all)
			return fail(-EMSGSIZE);
		size = INT_MAX;
	}
	for (;;) {
		int r = pump(s);
		if (r < 0)
			return fail(r);
		if (s->fd >= 0 && !all) {
			/* One recv() says it all: data, EOF or nothing yet. */
			ssize_t n = take(s, data, size, false);
			if (n < 0)
				return fail((int)n);
			if (n > 0)
				return (int)n;
		} else if (s->fd >= 0) {
			/* The peer only adds: a count seen earlier, minus what we
			 * took since, still holds, and saves a syscall per message. */
			if (s->rx_known < size) {
				int inq = 0;
				if (ioctl(s->fd, SIOCINQ, &inq) < 0)
					return fail(-errno);
				s->rx_known = inq > 0 ? (uint64_t)inq : 0;
			}
			if (s->rx_known >= size) {
				/* All-or-nothing holds: SIOCINQ said the bytes are
				 * queued, and only this thread reads them. */
				ssize_t n = take(s, data, size, true);
				if (n < 0)
					return fail((int)n);
				if (n > 0)
					return (int)n;
			}
			/* Not enough: is more coming at all? A blocking caller
			 * learns it from the HUP event it is about to wait for. */
			if (!s->blocking)
				check_hup(s);
		}
		if (s->state == VCHAN_DISCONNECTED)
			return fail(-EPIPE);
		if (!s->blocking)
			return 0;
		r = wait_event(s, -1);
		if (r < 0)
			return fail(r);
	}
}

static int sock_read(void *impl, void *data, size_t size)
{
	return do_read(impl, data, size, false);
}

static int sock_recv(void *impl, void *data, size_t size)
{
	return do_read(impl, data, size, true);
}

static int sock_wait(void *impl)
{
	struct vchan_sock *s = impl;
	/* Consume what is pending; block only if nothing is and the caller
	 * asked for blocking I/O. An event loop (non-blocking mode) may find the
	 * event already gone, e.g. when its own I/O consumed the data between
	 * poll() and here: it must not stall. A disconnected vchan has nothing
	 * left to wait for: say so instead of hanging. */
	int r = wait_event(s, 0);
	if (r == 0) {
		if (s->state == VCHAN_DISCONNECTED)
			return fail(-EPIPE);
		if (s->blocking)
			r = wait_event(s, -1);
	}
	return r < 0 ? fail(r) : 0;
}

static int sock_fd(void *impl)
{
	return ((struct vchan_sock *)impl)->epfd;
}

static void sock_set_blocking(void *impl, bool blocking)
{
	((struct vchan_sock *)impl)->blocking = blocking;
}

static void sock_close(void *impl)
{
	struct vchan_sock *s = impl;
	if (!s)
		return;
	if (s->server && s->lfd >= 0)
		unlink_ours(s);
	close_fd(&s->fd);
	close_fd(&s->lfd);
	close_fd(&s->tfd);
	close_fd(&s->ifd);
	close_fd(&s->nl);
	close_fd(&s->sfd);
	close_fd(&s->epfd);
	vsnd_ring_finish(&s->wring);
	free(s);
}

static struct vchan_sock *sock_new(int server_dom, int client_dom, int port,
				   size_t read_min, size_t write_min, int *err)
{
	const char *dir = getenv("VCHAN_SOCKET_DIR");
	if (!dir || !*dir)
		dir = VCHAN_SOCKET_DIR_DEFAULT;
	if (read_min > VSND_RING_MAX_BYTES || write_min > VSND_RING_MAX_BYTES) {
		*err = -EINVAL;
		return NULL;
	}
	struct vchan_sock *s = calloc(1, sizeof(*s));
	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	s->fd = s->lfd = s->tfd = s->ifd = s->nl = s->sfd = -1;
	s->blocking = true;
	s->state = VCHAN_WAITING;
	s->rcap = round_size(read_min);
	int r = vchan_socket_path(s->path, sizeof(s->path), dir, server_dom, client_dom, port);
	if (r < 0)
		goto err_free;
	r = vsnd_ring_init(&s->wring, 1, round_size(write_min));
	if (r < 0)
		goto err_free;
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0) {
		r = -errno;
		goto err_ring;
	}
	return s;

err_ring:
	vsnd_ring_finish(&s->wring);
err_free:
	free(s);
	*err = r;
	return NULL;
}

/*
 * Is a server listening on @path? Read from /proc/net/unix so that a live
 * server (maybe an original one) is not disturbed by a probing connect,
 * which it would take for its one client. Returns 1, 0, or -1 if unknown.
 */
static int has_listener(const char *path)
{
	FILE *f = fopen("/proc/net/unix", "re");
	if (!f)
		return -1;
	char line[512];
	int found = 0;
	if (!fgets(line, sizeof(line), f)) {
		fclose(f);
		return -1;
	}
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned flags, type, st;
		int off = 0;
		if (sscanf(line, "%*s %*x %*x %x %x %x %*u %n", &flags, &type, &st, &off) < 3 || !off)
			continue;
		char *name = line + off;
		name[strcspn(name, "\n")] = 0;
		/* __SO_ACCEPTCON: listening */
		if ((flags & 0x10000) && type == SOCK_STREAM && strcmp(name, path) == 0)
			found = 1;
	}
	fclose(f);
	return found;
}

/* The path is taken: replace it only if no server is alive behind it. */
static int reclaim_stale(const char *path)
{
	int live = has_listener(path);
	if (live == 1)
		return -EADDRINUSE;
	if (live < 0) {
		struct sockaddr_un addr;
		if (make_addr(&addr, path) < 0)
			return -ENAMETOOLONG;
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		int r = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
		int e = errno;
		close(fd);
		if (r == 0 || e != ECONNREFUSED)
			return -EADDRINUSE;
	}
	vsnd_info(&log_topic, "replacing stale socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int do_listen(struct vchan_sock *s)
{
	struct sockaddr_un addr;
	int r = make_addr(&addr, s->path);
	if (r < 0)
		return r;
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		return -errno;
	for (int attempt = 0;; attempt++) {
		if (bind(s->lfd, (struct sockaddr *)&addr, sizeof(addr)) == 0)
			break;
		if (errno != EADDRINUSE || attempt > 0)
			return -errno;
		r = reclaim_stale(s->path);
		if (r < 0)
			return r;
	}
	struct stat st;
	if (stat(s->path, &st) == 0) {
		s->dev = st.st_dev;
		s->ino = st.st_ino;
	}
	/* Backlog 1 as the original: a vchan has one client. */
	if (listen(s->lfd, 1) < 0)
		return -errno;
	/* After listen(): a client woken by this attribute change (inotify)
	 * connects at once instead of meeting ECONNREFUSED. */
	if (chmod(s->path, 0660) < 0)
		return -errno;
	return ep_add(s, s->lfd, TAG_LISTEN, EPOLLIN);
}

static void *sock_server_init(int domain, int port, size_t read_min, size_t write_min)
{
	int self = vchan_parse_domain(getenv("VCHAN_DOMAIN"));
	int r = self < 0 ? self : vchan_check_args(domain, port);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	struct vchan_sock *s = sock_new(self, domain, port, read_min, write_min, &r);
	if (!s) {
		errno = -r;
		return NULL;
	}
	s->server = true;
	r = do_listen(s);
	if (r < 0) {
		vsnd_debug(&log_topic, "listen %s: %s", s->path, strerror(-r));
		sock_close(s);
		errno = -r;
		return NULL;
	}
	return s;
}

static int start_watch(struct vchan_sock *s)
{
	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->tfd < 0)
		return -errno;
	struct itimerspec its = {
		.it_interval = { .tv_nsec = RETRY_NS },
		.it_value = { .tv_nsec = RETRY_NS },
	};
	if (timerfd_settime(s->tfd, 0, &its, NULL) < 0)
		return -errno;
	int r = ep_add(s, s->tfd, TAG_TIMER, EPOLLIN);
	if (r < 0)
		return r;
	/* The directory watch only makes the connect prompt; the timer alone
	 * is enough (the directory may not even exist yet). */
	s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ifd >= 0) {
		char dir[sizeof(s->path)];
		snprintf(dir, sizeof(dir), "%s", s->path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		if (inotify_add_watch(s->ifd, slash ? (*dir ? dir : "/") : ".",
				      IN_CREATE | IN_ATTRIB | IN_MOVED_TO) < 0 ||
		    ep_add(s, s->ifd, TAG_DIR, EPOLLIN) < 0)
			close_fd(&s->ifd);
	}
	return 0;
}

static void *sock_client_init_async(int domain, int port, int *watch_fd)
{
	int self = vchan_parse_domain(getenv("VCHAN_DOMAIN"));
	int r = self < 0 ? self : vchan_check_args(domain, port);
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	struct vchan_sock *s = sock_new(domain, self, port, CLIENT_RING_SIZE, CLIENT_RING_SIZE, &r);
	if (!s) {
		errno = -r;
		return NULL;
	}
	r = try_connect(s);
	if (r == 0)
		r = start_watch(s);
	if (r < 0) {
		sock_close(s);
		errno = -r;
		return NULL;
	}
	*watch_fd = s->epfd;
	return s;
}

static int sock_client_init_async_finish(void *impl, bool blocking)
{
	struct vchan_sock *s = impl;
	s->blocking = blocking;
	if (s->state == VCHAN_WAITING) {
		int r = wait_event(s, 0);
		if (r < 0)
			return fail(r);
	}
	if (s->state == VCHAN_WAITING)
		return 1;
	if (s->state == VCHAN_DISCONNECTED)
		return fail(-EPIPE);
	return 0;
}

const struct vchan_ops vchan_socket_ops = {
	.name = "socket",
	.server_init = sock_server_init,
	.client_init_async = sock_client_init_async,
	.client_init_async_finish = sock_client_init_async_finish,
	.write = sock_write,
	.send = sock_send,
	.read = sock_read,
	.recv = sock_recv,
	.wait = sock_wait,
	.close = sock_close,
	.fd_for_select = sock_fd,
	.is_open = sock_is_open,
	.data_ready = sock_data_ready,
	.buffer_space = sock_buffer_space,
	.set_blocking = sock_set_blocking,
};
