/* SPDX-License-Identifier: MIT */
/* The public libvchan API: pick a transport, then forward every call. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "vchan-private.h"

struct libvchan {
	const struct vchan_ops *ops;
	void *impl;
};

static const struct vchan_ops *choose_ops(void)
{
#ifdef VSND_VCHAN_HAVE_XEN
	bool built = true;
#else
	bool built = false;
#endif
	/* Checked per call, not cached: no global state, and it is cheap. */
	int t = vchan_transport_choose(getenv("VSND_VCHAN"), built,
				       access("/dev/xen/evtchn", F_OK) == 0);
	if (t < 0) {
		errno = -t;
		return NULL;
	}
#ifdef VSND_VCHAN_HAVE_XEN
	if (t == VCHAN_TRANSPORT_XEN)
		return &vchan_xen_ops;
#endif
	return &vchan_socket_ops;
}

static libvchan_t *wrap(const struct vchan_ops *ops, void *impl)
{
	if (!impl)
		return NULL;
	libvchan_t *v = malloc(sizeof(*v));
	if (!v) {
		ops->close(impl);
		errno = ENOMEM;
		return NULL;
	}
	v->ops = ops;
	v->impl = impl;
	return v;
}

libvchan_t *libvchan_server_init(int domain, int port, size_t read_min, size_t write_min)
{
	const struct vchan_ops *ops = choose_ops();
	if (!ops)
		return NULL;
	return wrap(ops, ops->server_init(domain, port, read_min, write_min));
}

libvchan_t *libvchan_client_init_async(int domain, int port, EVTCHN *watch_fd)
{
	const struct vchan_ops *ops = choose_ops();
	if (!ops)
		return NULL;
	int fd = -1;
	libvchan_t *v = wrap(ops, ops->client_init_async(domain, port, &fd));
	if (v && watch_fd)
		*watch_fd = fd;
	return v;
}

int libvchan_client_init_async_finish(libvchan_t *ctrl, bool blocking)
{
	if (!ctrl) {
		errno = EINVAL;
		return -1;
	}
	return ctrl->ops->client_init_async_finish(ctrl->impl, blocking);
}

libvchan_t *libvchan_client_init(int domain, int port)
{
	int fd;
	libvchan_t *v = libvchan_client_init_async(domain, port, &fd);
	if (!v)
		return NULL;
	for (;;) {
		int r = libvchan_client_init_async_finish(v, true);
		if (r == 0)
			return v;
		if (r < 0)
			break;
		/* The watch fd may change under Xen (xenstore), so ask each time
		 * through the transport's own blocking wait. */
		if (v->ops->wait(v->impl) < 0)
			break;
	}
	int saved = errno;
	libvchan_close(v);
	errno = saved;
	return NULL;
}

#define FORWARD(ret_fail, call)          \
	do {                             \
		if (!ctrl) {             \
			errno = EINVAL;  \
			return ret_fail; \
		}                        \
		return call;             \
	} while (0)

int libvchan_write(libvchan_t *ctrl, const void *data, size_t size)
{
	FORWARD(-1, ctrl->ops->write(ctrl->impl, data, size));
}

int libvchan_send(libvchan_t *ctrl, const void *data, size_t size)
{
	FORWARD(-1, ctrl->ops->send(ctrl->impl, data, size));
}

int libvchan_read(libvchan_t *ctrl, void *data, size_t size)
{
	FORWARD(-1, ctrl->ops->read(ctrl->impl, data, size));
}

int libvchan_recv(libvchan_t *ctrl, void *data, size_t size)
{
	FORWARD(-1, ctrl->ops->recv(ctrl->impl, data, size));
}

int libvchan_wait(libvchan_t *ctrl)
{
	FORWARD(-1, ctrl->ops->wait(ctrl->impl));
}

int libvchan_fd_for_select(libvchan_t *ctrl)
{
	FORWARD(-1, ctrl->ops->fd_for_select(ctrl->impl));
}

int libvchan_is_open(libvchan_t *ctrl)
{
	FORWARD(VCHAN_DISCONNECTED, ctrl->ops->is_open(ctrl->impl));
}

int libvchan_data_ready(libvchan_t *ctrl)
{
	FORWARD(0, ctrl->ops->data_ready(ctrl->impl));
}

int libvchan_buffer_space(libvchan_t *ctrl)
{
	FORWARD(0, ctrl->ops->buffer_space(ctrl->impl));
}

void libvchan_set_blocking(libvchan_t *ctrl, bool blocking)
{
	if (ctrl)
		ctrl->ops->set_blocking(ctrl->impl, blocking);
}

void libvchan_close(libvchan_t *ctrl)
{
	if (!ctrl)
		return;
	ctrl->ops->close(ctrl->impl);
	free(ctrl);
}
