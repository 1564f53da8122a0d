/* SPDX-License-Identifier: MIT */
/*
 * vchan over Xen's libxenvchan, with Qubes' xenstore layout: the server
 * publishes data/vchan/PEER/PORT under its own home, the client looks for it
 * at /local/domain/SERVER/data/vchan/SELF/PORT.
 *
 * The asynchronous client watches that path's event-channel key through
 * xenstore and retries libxenvchan_client_init() when it changes, so it
 * never blocks and never polls.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxenvchan.h>
#include <xenstore.h>

#include "vsnd/log.h"
#include "vchan-private.h"

VSND_LOG_TOPIC(log_topic, "vchan.xen");

struct vchan_xen {
	struct libxenvchan *x;
	struct xs_handle *xs; /* client, until connected */
	int domain;
	bool blocking;
	char path[256];
	char watch[280];
};

static int fail(int neg_errno)
{
	errno = -neg_errno;
	return -1;
}

static void xen_close(void *impl)
{
	struct vchan_xen *v = impl;
	if (!v)
		return;
	if (v->x)
		libxenvchan_close(v->x);
	if (v->xs)
		xs_close(v->xs);
	free(v);
}

static void *xen_server_init(int domain, int port, size_t read_min, size_t write_min)
{
	size_t rs = vchan_xen_ring_size(read_min), ws = vchan_xen_ring_size(write_min);
	if (vchan_check_args(domain, port) < 0 || !rs || !ws) {
		errno = EINVAL;
		return NULL;
	}
	struct vchan_xen *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	int r = vchan_xen_server_path(v->path, sizeof(v->path), domain, port);
	if (r < 0)
		goto err;
	v->domain = domain;
	errno = 0; /* libxenvchan does not always set it */
	v->x = libxenvchan_server_init(NULL, domain, v->path, rs, ws);
	if (!v->x) {
		r = errno ? -errno : -EIO;
		vsnd_debug(&log_topic, "libxenvchan_server_init %s: %s", v->path, strerror(-r));
		goto err;
	}
	v->x->blocking = 1;
	v->blocking = true;
	return v;
err:
	free(v);
	errno = -r;
	return NULL;
}

static int read_self_domid(struct xs_handle *xs)
{
	unsigned int len = 0;
	errno = 0;
	char *s = xs_read(xs, XBT_NULL, "domid", &len);
	if (!s)
		return errno ? -errno : -EIO;
	int d = vchan_parse_domain(s);
	free(s);
	return d;
}

static void *xen_client_init_async(int domain, int port, int *watch_fd)
{
	if (vchan_check_args(domain, port) < 0) {
		errno = EINVAL;
		return NULL;
	}
	struct vchan_xen *v = calloc(1, sizeof(*v));
	if (!v)
		return NULL;
	int r;
	v->domain = domain;
	v->blocking = true;
	errno = 0;
	v->xs = xs_open(0);
	if (!v->xs) {
		r = errno ? -errno : -EIO;
		goto err;
	}
	int self = read_self_domid(v->xs);
	if (self < 0) {
		r = self;
		goto err;
	}
	r = vchan_xen_client_path(v->path, sizeof(v->path), domain, self, port);
	if (r < 0)
		goto err;
	snprintf(v->watch, sizeof(v->watch), "%s/event-channel", v->path);
	/* Watch the key, not the directory: we may not read the directory. */
	if (!xs_watch(v->xs, v->watch, "vchan")) {
		r = errno ? -errno : -EIO;
		goto err;
	}
	*watch_fd = xs_fileno(v->xs);
	return v;
err:
	xen_close(v);
	errno = -r;
	return NULL;
}

static int xen_finish(void *impl, bool blocking)
{
	struct vchan_xen *v = impl;
	v->blocking = blocking;
	if (v->x) {
		v->x->blocking = blocking;
		return 0;
	}
	char **w;
	while ((w = xs_check_watch(v->xs)))
		free(w);
	if (errno != EAGAIN)
		return fail(-errno);
	v->x = libxenvchan_client_init(NULL, v->domain, v->path);
	if (!v->x)
		return 1; /* not published yet: the watch fires when it is */
	v->x->blocking = blocking;
	xs_close(v->xs);
	v->xs = NULL;
	return 0;
}

static int xen_wait(void *impl)
{
	struct vchan_xen *v = impl;
	if (v->x) {
		/* Same contract as the socket transport: in non-blocking mode an
		 * event loop must not stall on an event that is already gone. */
		if (!v->blocking) {
			struct pollfd p = { .fd = libxenvchan_fd_for_select(v->x), .events = POLLIN };
			if (poll(&p, 1, 0) == 0)
				return 0;
		}
		return libxenvchan_wait(v->x);
	}
	/* Client still waiting for its server: block on the xenstore watch. */
	struct pollfd p = { .fd = xs_fileno(v->xs), .events = POLLIN };
	int n;
	do
		n = poll(&p, 1, -1);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

#define NEED_X(v)                            \
	do {                                 \
		if (!(v)->x)                 \
			return fail(-ENOTCONN); \
	} while (0)

static int xen_write(void *impl, const void *data, size_t size)
{
	struct vchan_xen *v = impl;
	NEED_X(v);
	return libxenvchan_write(v->x, data, size);
}

static int xen_send(void *impl, const void *data, size_t size)
{
	struct vchan_xen *v = impl;
	NEED_X(v);
	return libxenvchan_send(v->x, data, size);
}

static int xen_read(void *impl, void *data, size_t size)
{
	struct vchan_xen *v = impl;
	NEED_X(v);
	return libxenvchan_read(v->x, data, size);
}

static int xen_recv(void *impl, void *data, size_t size)
{
	struct vchan_xen *v = impl;
	NEED_X(v);
	return libxenvchan_recv(v->x, data, size);
}

static int xen_fd(void *impl)
{
	struct vchan_xen *v = impl;
	return v->x ? libxenvchan_fd_for_select(v->x) : xs_fileno(v->xs);
}

static int xen_is_open(void *impl)
{
	struct vchan_xen *v = impl;
	return v->x ? libxenvchan_is_open(v->x) : VCHAN_WAITING;
}

static int xen_data_ready(void *impl)
{
	struct vchan_xen *v = impl;
	return v->x ? libxenvchan_data_ready(v->x) : 0;
}

static int xen_buffer_space(void *impl)
{
	struct vchan_xen *v = impl;
	return v->x ? libxenvchan_buffer_space(v->x) : 0;
}

static void xen_set_blocking(void *impl, bool blocking)
{
	struct vchan_xen *v = impl;
	v->blocking = blocking;
	if (v->x)
		v->x->blocking = blocking;
}

const struct vchan_ops vchan_xen_ops = {
	.name = "xen",
	.server_init = xen_server_init,
	.client_init_async = xen_client_init_async,
	.client_init_async_finish = xen_finish,
	.write = xen_write,
	.send = xen_send,
	.read = xen_read,
	.recv = xen_recv,
	.wait = xen_wait,
	.close = xen_close,
	.fd_for_select = xen_fd,
	.is_open = xen_is_open,
	.data_ready = xen_data_ready,
	.buffer_space = xen_buffer_space,
	.set_blocking = xen_set_blocking,
};
