/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "vchan-private.h"

/* Qubes domain ids stop below DOMID_FIRST_RESERVED (0x7FF0). */
#define DOMID_LIMIT 0x7FF0

int vchan_transport_choose(const char *env, bool have_xen_built, bool xen_present)
{
	if (env && *env) {
		if (strcmp(env, "socket") == 0)
			return VCHAN_TRANSPORT_SOCKET;
		if (strcmp(env, "xen") == 0)
			return have_xen_built ? VCHAN_TRANSPORT_XEN : -ENOTSUP;
		return -EINVAL;
	}
	if (have_xen_built && xen_present)
		return VCHAN_TRANSPORT_XEN;
	return VCHAN_TRANSPORT_SOCKET;
}

int vchan_check_args(int domain, int port)
{
	if (domain < 0 || domain >= DOMID_LIMIT || port < 0)
		return -EINVAL;
	return 0;
}

int vchan_parse_domain(const char *s)
{
	if (!s)
		return 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v >= DOMID_LIMIT)
		return -EINVAL;
	return (int)v;
}

int vchan_socket_path(char *buf, size_t len, const char *dir,
		      int server_dom, int client_dom, int port)
{
	if (!buf || !dir || !*dir || vchan_check_args(server_dom, port) < 0 ||
	    vchan_check_args(client_dom, 0) < 0)
		return -EINVAL;
	int n = snprintf(buf, len, "%s/vchan.%d.%d.%d.sock", dir, server_dom, client_dom, port);
	if (n < 0)
		return -EINVAL;
	/* A path the kernel would truncate would name a different socket. */
	if ((size_t)n >= len || (size_t)n >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return -ENAMETOOLONG;
	return n;
}

size_t vchan_xen_ring_size(size_t min)
{
	if (min > VCHAN_XEN_RING_MAX)
		return 0;
	size_t sz = VCHAN_XEN_RING_MIN;
	while (sz < min)
		sz <<= 1;
	return sz;
}

static int fmt_result(int n, size_t len)
{
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	return n;
}

int vchan_xen_server_path(char *buf, size_t len, int peer_dom, int port)
{
	if (!buf || vchan_check_args(peer_dom, port) < 0)
		return -EINVAL;
	return fmt_result(snprintf(buf, len, "data/vchan/%d/%d", peer_dom, port), len);
}

int vchan_xen_client_path(char *buf, size_t len, int server_dom, int self_dom, int port)
{
	if (!buf || vchan_check_args(server_dom, port) < 0 || vchan_check_args(self_dom, 0) < 0)
		return -EINVAL;
	/* libxenvchan cannot map its own grants: Qubes refuses loopback too. */
	if (server_dom == self_dom)
		return -EINVAL;
	return fmt_result(snprintf(buf, len, "/local/domain/%d/data/vchan/%d/%d",
				   server_dom, self_dom, port), len);
}
