/* SPDX-License-Identifier: MIT */
/*
 * Private to src/vchan: the transport table behind libvchan_t, and the
 * hypervisor-free helpers (argument checks, paths, ring sizes, transport
 * choice) that both transports use and the unit tests call directly.
 */
#ifndef VSND_VCHAN_PRIVATE_H
#define VSND_VCHAN_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

#include "vsnd/libvchan.h"

/* One transport. Every function gets the transport's own object. */
struct vchan_ops {
	const char *name;
	void *(*server_init)(int domain, int port, size_t read_min, size_t write_min);
	void *(*client_init_async)(int domain, int port, int *watch_fd);
	int (*client_init_async_finish)(void *impl, bool blocking);
	int (*write)(void *impl, const void *data, size_t size);
	int (*send)(void *impl, const void *data, size_t size);
	int (*read)(void *impl, void *data, size_t size);
	int (*recv)(void *impl, void *data, size_t size);
	int (*wait)(void *impl);
	void (*close)(void *impl);
	int (*fd_for_select)(void *impl);
	int (*is_open)(void *impl);
	int (*data_ready)(void *impl);
	int (*buffer_space)(void *impl);
	void (*set_blocking)(void *impl, bool blocking);
};

extern const struct vchan_ops vchan_socket_ops;
#ifdef VSND_VCHAN_HAVE_XEN
extern const struct vchan_ops vchan_xen_ops;
#endif

enum vchan_transport {
	VCHAN_TRANSPORT_SOCKET = 1,
	VCHAN_TRANSPORT_XEN = 2,
};

/* Default socket directory of qubes-core-vchan-socket. */
#define VCHAN_SOCKET_DIR_DEFAULT "/var/run/vchan"

/* Ring bounds libxenvchan accepts (in-page 1 KiB rings up to 1 MiB of pages). */
#define VCHAN_XEN_RING_MIN 1024u
#define VCHAN_XEN_RING_MAX (1u << 20)

/*
 * Pick the transport from $VSND_VCHAN (@env, may be NULL), what was built,
 * and whether Xen is present (/dev/xen/evtchn). Returns a vchan_transport,
 * -EINVAL for an unknown name, -ENOTSUP for a transport not built.
 */
int vchan_transport_choose(const char *env, bool have_xen_built, bool xen_present);

/* 0 if @domain and @port are usable (both >= 0), else -EINVAL. */
int vchan_check_args(int domain, int port);

/*
 * Parse a domain id as $VCHAN_DOMAIN holds it: decimal, 0..0x7FEF, no junk.
 * NULL means "unset" and gives 0. Returns the id or -EINVAL.
 */
int vchan_parse_domain(const char *s);

/*
 * "DIR/vchan.SERVER.CLIENT.PORT.sock" into @buf (@len bytes, at most the
 * sun_path size is useful). Returns the length, -EINVAL on bad arguments,
 * -ENAMETOOLONG if it does not fit in @len or in a sockaddr_un.
 */
int vchan_socket_path(char *buf, size_t len, const char *dir,
		      int server_dom, int client_dom, int port);

/*
 * Round a requested ring size as libxenvchan needs: power of two, at least
 * VCHAN_XEN_RING_MIN. Returns 0 (invalid) above VCHAN_XEN_RING_MAX.
 */
size_t vchan_xen_ring_size(size_t min);

/* Server path, relative to the server's xenstore home: "data/vchan/PEER/PORT". */
int vchan_xen_server_path(char *buf, size_t len, int peer_dom, int port);

/* Client's view: "/local/domain/SERVER/data/vchan/SELF/PORT". */
int vchan_xen_client_path(char *buf, size_t len, int server_dom, int self_dom, int port);

#endif /* VSND_VCHAN_PRIVATE_H */
