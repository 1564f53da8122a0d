/* SPDX-License-Identifier: MIT */
/*
 * How many of our bytes has the peer not read yet, exactly?
 *
 * SIOCOUTQ on an AF_UNIX socket counts kernel memory (skb truesize), not
 * bytes: a 1 KiB write costs about 2.3 KiB of it. Used as the in-flight
 * figure it makes buffer_space lie low, and a reader waiting for a whole
 * buffer with recv() would wait forever. The exact figure is the peer
 * socket's receive queue in bytes, which sock_diag (NETLINK_SOCK_DIAG,
 * UNIX_DIAG_RQLEN) reports without privileges for sockets in our network
 * namespace. Only asked when the cheap bound is not good enough.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "vchan-diag.h"

struct diag_reply {
	uint32_t peer;
	uint32_t rqueue;
	bool have_peer, have_rq;
};

static int query(int nl, uint32_t ino, uint32_t show, struct diag_reply *out)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} msg = {
		.nlh = {
			.nlmsg_len = sizeof(msg),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST,
		},
		.req = {
			.sdiag_family = AF_UNIX,
			.udiag_states = ~0u,
			.udiag_ino = ino,
			.udiag_show = show,
			.udiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE },
		},
	};
	if (send(nl, &msg, sizeof(msg), MSG_DONTWAIT) < 0)
		return -errno;
	/* The kernel answers within sendmsg(): the reply is already queued. */
	_Alignas(struct nlmsghdr) char buf[512];
	ssize_t n = recv(nl, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (!NLMSG_OK(h, (size_t)n))
		return -EIO;
	if (h->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(h);
		return h->nlmsg_len >= NLMSG_LENGTH(sizeof(*e)) && e->error ? e->error : -EIO;
	}
	if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    h->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
		return -EIO;
	const struct unix_diag_msg *d = NLMSG_DATA(h);
	if (d->udiag_ino != ino)
		return -EIO;
	const char *p = (const char *)(d + 1);
	size_t left = h->nlmsg_len - NLMSG_LENGTH(sizeof(*d));
	memset(out, 0, sizeof(*out));
	while (left >= sizeof(struct nlattr)) {
		struct nlattr a;
		memcpy(&a, p, sizeof(a));
		if (a.nla_len < sizeof(a) || a.nla_len > left)
			break;
		size_t plen = a.nla_len - sizeof(a);
		if (a.nla_type == UNIX_DIAG_PEER && plen >= sizeof(uint32_t)) {
			memcpy(&out->peer, p + sizeof(a), sizeof(uint32_t));
			out->have_peer = true;
		} else if (a.nla_type == UNIX_DIAG_RQLEN && plen >= sizeof(struct unix_diag_rqlen)) {
			struct unix_diag_rqlen rq;
			memcpy(&rq, p + sizeof(a), sizeof(rq));
			out->rqueue = rq.udiag_rqueue;
			out->have_rq = true;
		}
		size_t step = NLA_ALIGN(a.nla_len);
		if (step > left)
			break;
		p += step;
		left -= step;
	}
	return 0;
}

int vchan_diag_open(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	return fd < 0 ? -errno : fd;
}

int vchan_diag_peer(int nl, int fd, uint32_t *peer_ino)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	struct diag_reply r;
	int ret = query(nl, (uint32_t)st.st_ino, UDIAG_SHOW_PEER, &r);
	if (ret < 0)
		return ret;
	if (!r.have_peer || !r.peer)
		return -ENOENT;
	*peer_ino = r.peer;
	return 0;
}

int64_t vchan_diag_unread(int nl, uint32_t peer_ino)
{
	struct diag_reply r;
	int ret = query(nl, peer_ino, UDIAG_SHOW_RQLEN, &r);
	if (ret < 0)
		return ret;
	return r.have_rq ? (int64_t)r.rqueue : -EIO;
}
