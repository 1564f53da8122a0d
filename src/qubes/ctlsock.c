/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlsock.h"
#include "vsnd/clock.h"
#include "vsnd/log.h"

VSND_LOG_TOPIC(log_ctl, "qubes.ctlsock");

#define MAX_CONNS 16
#define CMD_MAX 16 /* "audio-input 1\n" is 14 bytes */
#define CONN_TIMEOUT_NS (2 * VSND_NSEC_PER_SEC)

struct conn {
	int fd;
	unsigned len;
	char buf[CMD_MAX];
	uint64_t deadline;
};

struct qubes_ctlsock {
	int listen_fd;
	int epfd;
	int timer_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	qubes_ctlsock_fn fn;
	void *data;
	struct conn conns[MAX_CONNS];
	struct vsnd_ratelimit rl;
};

int qubes_ctlsock_parse(const char *buf, unsigned len)
{
	static const char on[] = "audio-input 1\n", off[] = "audio-input 0\n";
	if (len == sizeof(on) - 1 && memcmp(buf, on, len) == 0)
		return 1;
	if (len == sizeof(off) - 1 && memcmp(buf, off, len) == 0)
		return 0;
	return -EINVAL;
}

static void reject(struct qubes_ctlsock *s, struct conn *c, const char *why)
{
	uint64_t suppressed;
	if (vsnd_ratelimit_pass(&s->rl, vsnd_now_ns(), &suppressed)) {
		char shown[CMD_MAX * 4 + 1];
		unsigned o = 0;
		for (unsigned i = 0; i < c->len && o + 4 < sizeof(shown); i++)
			o += (unsigned)snprintf(shown + o, sizeof(shown) - o,
						c->buf[i] >= 0x20 && c->buf[i] < 0x7f ? "%c" : "\\x%02x",
						(unsigned char)c->buf[i]);
		shown[o] = '\0';
		vsnd_warn(&log_ctl, "%s: rejected command '%s': %s%s", s->path, shown, why,
			  suppressed ? " (more rejections suppressed)" : "");
	}
}

static void close_conn(struct qubes_ctlsock *s, struct conn *c)
{
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

static void arm_timer(struct qubes_ctlsock *s)
{
	uint64_t next = 0;
	for (int i = 0; i < MAX_CONNS; i++)
		if (s->conns[i].fd >= 0 && (!next || s->conns[i].deadline < next))
			next = s->conns[i].deadline;
	struct itimerspec its = { .it_value = vsnd_ns_to_timespec(next) };
	timerfd_settime(s->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void accept_all(struct qubes_ctlsock *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		struct conn *c = NULL;
		for (int i = 0; i < MAX_CONNS && !c; i++)
			if (s->conns[i].fd < 0)
				c = &s->conns[i];
		if (!c) {
			vsnd_warn(&log_ctl, "%s: too many open control connections, dropping one", s->path);
			close(fd);
			continue;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->len = 0;
		c->deadline = vsnd_now_ns() + CONN_TIMEOUT_NS;
	}
}

static void read_conn(struct qubes_ctlsock *s, struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, CMD_MAX - c->len, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			close_conn(s, c);
			return;
		}
		if (n == 0) {
			if (c->len)
				reject(s, c, "no newline before end of connection");
			close_conn(s, c);
			return;
		}
		c->len += (unsigned)n;
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl && (unsigned)(nl - c->buf) + 1 != c->len) {
			reject(s, c, "bytes after the newline");
			close_conn(s, c);
			return;
		}
		if (nl) {
			int r = qubes_ctlsock_parse(c->buf, c->len);
			if (r < 0)
				reject(s, c, "not 'audio-input 0' or 'audio-input 1'");
			else
				s->fn(s->data, r == 1);
			close_conn(s, c); /* one command per connection */
			return;
		}
		if (c->len == CMD_MAX) {
			reject(s, c, "too long");
			close_conn(s, c);
			return;
		}
	}
}

int qubes_ctlsock_dispatch(struct qubes_ctlsock *s)
{
	struct epoll_event evs[MAX_CONNS + 2];
	int n = epoll_wait(s->epfd, evs, MAX_CONNS + 2, 0);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		void *p = evs[i].data.ptr;
		if (p == &s->listen_fd) {
			accept_all(s);
		} else if (p == &s->timer_fd) {
			uint64_t v;
			ssize_t r = read(s->timer_fd, &v, sizeof(v));
			(void)r;
			uint64_t now = vsnd_now_ns();
			for (int k = 0; k < MAX_CONNS; k++)
				if (s->conns[k].fd >= 0 && s->conns[k].deadline <= now) {
					reject(s, &s->conns[k], "no complete command within 2 s");
					close_conn(s, &s->conns[k]);
				}
		} else {
			struct conn *c = p;
			if (c->fd >= 0)
				read_conn(s, c);
		}
	}
	arm_timer(s);
	return 0;
}

/* A socket file nobody accepts on is stale (its daemon died); a live one belongs to another daemon. */
static int clear_stale(const struct sockaddr_un *addr)
{
	struct stat stt;
	if (lstat(addr->sun_path, &stt) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(stt.st_mode))
		return -EEXIST;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int r = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	int err = errno;
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	if (err != ECONNREFUSED)
		return -err;
	return unlink(addr->sun_path) < 0 ? -errno : 0;
}

struct qubes_ctlsock *qubes_ctlsock_new(const char *path, qubes_ctlsock_fn fn, void *data)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int ret;
	if (!path || strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	struct qubes_ctlsock *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->listen_fd = s->epfd = s->timer_fd = -1;
	for (int i = 0; i < MAX_CONNS; i++)
		s->conns[i].fd = -1;
	s->fn = fn;
	s->data = data;
	s->rl = (struct vsnd_ratelimit)VSND_RATELIMIT_INIT(VSND_NSEC_PER_SEC, 5);
	snprintf(s->path, sizeof(s->path), "%s", path);
	memcpy(addr.sun_path, path, strlen(path));

	if ((ret = clear_stale(&addr)) < 0) {
		vsnd_error(&log_ctl, "%s: %s", path,
			   ret == -EADDRINUSE ? "another daemon is listening on it" : strerror(-ret));
		goto err;
	}
	s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->listen_fd < 0 || s->epfd < 0 || s->timer_fd < 0) {
		ret = -errno;
		goto err;
	}
	if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		ret = -errno;
		vsnd_error(&log_ctl, "cannot bind %s: %s", path, strerror(-ret));
		goto err;
	}
	/* 0660: the qrexec services run in the socket's group, nobody else may switch the mic on. */
	if (chmod(path, 0660) < 0 || listen(s->listen_fd, MAX_CONNS) < 0) {
		ret = -errno;
		unlink(path);
		goto err;
	}
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &s->listen_fd };
	struct epoll_event tev = { .events = EPOLLIN, .data.ptr = &s->timer_fd };
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev) < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timer_fd, &tev) < 0) {
		ret = -errno;
		unlink(path);
		goto err;
	}
	return s;
err:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->epfd >= 0)
		close(s->epfd);
	if (s->timer_fd >= 0)
		close(s->timer_fd);
	free(s);
	errno = -ret;
	return NULL;
}

void qubes_ctlsock_destroy(struct qubes_ctlsock *s)
{
	if (!s)
		return;
	for (int i = 0; i < MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			close(s->conns[i].fd);
	close(s->listen_fd);
	close(s->epfd);
	close(s->timer_fd);
	unlink(s->path);
	free(s);
}

int qubes_ctlsock_fd(const struct qubes_ctlsock *s)
{
	return s->epfd;
}
