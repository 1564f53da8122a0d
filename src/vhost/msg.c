/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "vsnd/vhost-msg.h"

#define KNOWN_FLAGS (VHOST_USER_VERSION_MASK | VHOST_USER_REPLY_MASK | VHOST_USER_NEED_REPLY_MASK)
/*
 * Room for more fds than any message may carry, so that a peer sending too
 * many is detected (and all of them closed) instead of the kernel silently
 * truncating the list.
 */
#define RECV_FD_ROOM (VHOST_USER_MAX_FDS * 2)

static const char *const request_names[] = {
	[VHOST_USER_NONE] = "NONE",
	[VHOST_USER_GET_FEATURES] = "GET_FEATURES",
	[VHOST_USER_SET_FEATURES] = "SET_FEATURES",
	[VHOST_USER_SET_OWNER] = "SET_OWNER",
	[VHOST_USER_RESET_OWNER] = "RESET_OWNER",
	[VHOST_USER_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VHOST_USER_SET_LOG_BASE] = "SET_LOG_BASE",
	[VHOST_USER_SET_LOG_FD] = "SET_LOG_FD",
	[VHOST_USER_SET_VRING_NUM] = "SET_VRING_NUM",
	[VHOST_USER_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VHOST_USER_SET_VRING_BASE] = "SET_VRING_BASE",
	[VHOST_USER_GET_VRING_BASE] = "GET_VRING_BASE",
	[VHOST_USER_SET_VRING_KICK] = "SET_VRING_KICK",
	[VHOST_USER_SET_VRING_CALL] = "SET_VRING_CALL",
	[VHOST_USER_SET_VRING_ERR] = "SET_VRING_ERR",
	[VHOST_USER_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VHOST_USER_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VHOST_USER_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VHOST_USER_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VHOST_USER_SEND_RARP] = "SEND_RARP",
	[VHOST_USER_NET_SET_MTU] = "NET_SET_MTU",
	[VHOST_USER_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	[VHOST_USER_IOTLB_MSG] = "IOTLB_MSG",
	[VHOST_USER_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[VHOST_USER_GET_CONFIG] = "GET_CONFIG",
	[VHOST_USER_SET_CONFIG] = "SET_CONFIG",
	[VHOST_USER_CREATE_CRYPTO_SESSION] = "CREATE_CRYPTO_SESSION",
	[VHOST_USER_CLOSE_CRYPTO_SESSION] = "CLOSE_CRYPTO_SESSION",
	[VHOST_USER_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
	[VHOST_USER_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
	[VHOST_USER_POSTCOPY_END] = "POSTCOPY_END",
	[VHOST_USER_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[VHOST_USER_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[VHOST_USER_GPU_SET_SOCKET] = "GPU_SET_SOCKET",
	[VHOST_USER_RESET_DEVICE] = "RESET_DEVICE",
	[VHOST_USER_VRING_KICK] = "VRING_KICK",
	[VHOST_USER_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[VHOST_USER_ADD_MEM_REG] = "ADD_MEM_REG",
	[VHOST_USER_REM_MEM_REG] = "REM_MEM_REG",
	[VHOST_USER_SET_STATUS] = "SET_STATUS",
	[VHOST_USER_GET_STATUS] = "GET_STATUS",
	[VHOST_USER_GET_SHARED_OBJECT] = "GET_SHARED_OBJECT",
	[VHOST_USER_SET_DEVICE_STATE_FD] = "SET_DEVICE_STATE_FD",
	[VHOST_USER_CHECK_DEVICE_STATE] = "CHECK_DEVICE_STATE",
};

const char *vhost_msg_request_name(uint32_t request)
{
	if (request < sizeof(request_names) / sizeof(request_names[0]) && request_names[request])
		return request_names[request];
	return "UNKNOWN";
}

int vhost_msg_init(struct vhost_msg *msg, uint32_t request, uint32_t size, bool reply)
{
	if (size > VHOST_USER_MAX_PAYLOAD)
		return -EINVAL;
	msg->request = request;
	msg->flags = VHOST_USER_VERSION | (reply ? VHOST_USER_REPLY_MASK : 0);
	msg->size = size;
	memset(&msg->payload, 0, size);
	msg->nfds = 0;
	for (unsigned int i = 0; i < VHOST_USER_MAX_FDS; i++)
		msg->fds[i] = -1;
	return 0;
}

void vhost_msg_close_fds(struct vhost_msg *msg)
{
	if (!msg)
		return;
	for (unsigned int i = 0; i < msg->nfds && i < VHOST_USER_MAX_FDS; i++) {
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
		msg->fds[i] = -1;
	}
	msg->nfds = 0;
}

int vhost_msg_check_header(uint32_t request, uint32_t flags, uint32_t size, bool reply)
{
	(void)request;
	if ((flags & VHOST_USER_VERSION_MASK) != VHOST_USER_VERSION)
		return -EPROTO;
	if (flags & ~KNOWN_FLAGS)
		return -EPROTO;
	if (!!(flags & VHOST_USER_REPLY_MASK) != reply)
		return -EPROTO;
	/* NEED_REPLY is a request to the peer; a reply asking for one is nonsense. */
	if (reply && (flags & VHOST_USER_NEED_REPLY_MASK))
		return -EPROTO;
	if (size > VHOST_USER_MAX_PAYLOAD)
		return -EPROTO;
	return 0;
}

static int check_config(const struct vhost_msg *msg)
{
	if (msg->size < VHOST_USER_CONFIG_HDR_SIZE)
		return -EPROTO;
	if (msg->payload.config.size > VHOST_USER_MAX_CONFIG_SIZE)
		return -EPROTO;
	if (msg->size != VHOST_USER_CONFIG_HDR_SIZE + msg->payload.config.size)
		return -EPROTO;
	return 0;
}

static int check_request(const struct vhost_msg *msg)
{
	unsigned int want_fds = 0;
	uint32_t n;

	switch (msg->request) {
	case VHOST_USER_GET_FEATURES:
	case VHOST_USER_SET_OWNER:
	case VHOST_USER_RESET_OWNER:
	case VHOST_USER_GET_PROTOCOL_FEATURES:
	case VHOST_USER_GET_QUEUE_NUM:
	case VHOST_USER_RESET_DEVICE:
	case VHOST_USER_GET_STATUS:
	case VHOST_USER_GET_MAX_MEM_SLOTS:
		if (msg->size != 0)
			return -EPROTO;
		break;
	case VHOST_USER_SET_FEATURES:
	case VHOST_USER_SET_PROTOCOL_FEATURES:
	case VHOST_USER_SET_STATUS:
	case VHOST_USER_SET_VRING_NUM:
	case VHOST_USER_SET_VRING_BASE:
	case VHOST_USER_GET_VRING_BASE:
	case VHOST_USER_SET_VRING_ENABLE:
	case VHOST_USER_SET_VRING_ENDIAN:
	case VHOST_USER_VRING_KICK:
		if (msg->size != sizeof(uint64_t))
			return -EPROTO;
		break;
	case VHOST_USER_SET_VRING_KICK:
	case VHOST_USER_SET_VRING_CALL:
	case VHOST_USER_SET_VRING_ERR:
		if (msg->size != sizeof(uint64_t))
			return -EPROTO;
		want_fds = (msg->payload.u64 & VHOST_USER_VRING_NOFD_MASK) ? 0 : 1;
		break;
	case VHOST_USER_SET_VRING_ADDR:
		if (msg->size != sizeof(struct vhost_user_vring_addr))
			return -EPROTO;
		break;
	case VHOST_USER_SET_MEM_TABLE:
		if (msg->size < 8)
			return -EPROTO;
		n = msg->payload.mem.nregions;
		if (n > VHOST_USER_MAX_REGIONS)
			return -EPROTO;
		/*
		 * QEMU and rust-vmm send exactly the regions in use; some
		 * frontends send the whole 8-slot struct. Both are fine.
		 */
		if (msg->size != 8 + n * sizeof(struct vhost_user_mem_region) &&
		    msg->size != sizeof(struct vhost_user_mem_table))
			return -EPROTO;
		want_fds = n;
		break;
	case VHOST_USER_SET_LOG_BASE:
		if (msg->size != 16)
			return -EPROTO;
		want_fds = 1;
		break;
	case VHOST_USER_SET_LOG_FD:
	case VHOST_USER_SET_BACKEND_REQ_FD:
		if (msg->size != 0)
			return -EPROTO;
		want_fds = 1;
		break;
	case VHOST_USER_GET_CONFIG:
	case VHOST_USER_SET_CONFIG:
		if (check_config(msg) < 0)
			return -EPROTO;
		break;
	default:
		/* Unknown or unsupported: framing was already bounded; no fds allowed. */
		break;
	}
	return msg->nfds == want_fds ? 0 : -EBADMSG;
}

static int check_reply(const struct vhost_msg *msg)
{
	if (msg->nfds != 0)
		return -EBADMSG;
	switch (msg->request) {
	case VHOST_USER_GET_CONFIG:
		/* A backend that fails GET_CONFIG answers with an empty payload. */
		if (msg->size == 0)
			return 0;
		return check_config(msg);
	default:
		/* Every other reply (GET_* values and REPLY_ACK) is one u64. */
		return msg->size == sizeof(uint64_t) ? 0 : -EPROTO;
	}
}

int vhost_msg_check(const struct vhost_msg *msg, bool reply)
{
	int r = vhost_msg_check_header(msg->request, msg->flags, msg->size, reply);
	if (r < 0)
		return r;
	if (msg->nfds > VHOST_USER_MAX_FDS)
		return -EBADMSG;
	return reply ? check_reply(msg) : check_request(msg);
}

static void close_fd_array(const int *fds, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The message takes the fds; a message that fails its checks closes them. */
static int adopt_and_check(struct vhost_msg *msg, const int *fds, unsigned int nfds, bool reply)
{
	for (unsigned int i = 0; i < nfds; i++)
		msg->fds[i] = fds[i];
	msg->nfds = nfds;
	int r = vhost_msg_check(msg, reply);
	if (r < 0)
		vhost_msg_close_fds(msg);
	return r;
}

int vhost_msg_decode(struct vhost_msg *msg, const void *buf, size_t len,
		     const int *fds, unsigned int nfds, bool reply)
{
	const uint8_t *p = buf;
	uint32_t hdr[3];
	int r;

	msg->nfds = 0;
	if (nfds > VHOST_USER_MAX_FDS || len < VHOST_USER_HDR_SIZE) {
		r = -EMSGSIZE;
		goto err;
	}
	memcpy(hdr, p, sizeof(hdr));
	r = vhost_msg_check_header(hdr[0], hdr[1], hdr[2], reply);
	if (r < 0)
		goto err;
	if (len - VHOST_USER_HDR_SIZE != hdr[2]) {
		r = -EMSGSIZE;
		goto err;
	}
	msg->request = hdr[0];
	msg->flags = hdr[1];
	msg->size = hdr[2];
	memcpy(&msg->payload, p + VHOST_USER_HDR_SIZE, msg->size);
	return adopt_and_check(msg, fds, nfds, reply);
err:
	close_fd_array(fds, nfds);
	return r;
}

/*
 * Read exactly @len bytes into @buf, collecting any SCM_RIGHTS fds into
 * @fds (up to RECV_FD_ROOM; *@nfds counts them, *@overflow notes more).
 * Returns 0, -ECONNRESET on EOF before the first byte when @eof_ok, -EIO on
 * EOF otherwise, or -errno.
 */
static int recv_full(int sock, void *buf, size_t len, int *fds, unsigned int *nfds,
		     bool *overflow, bool eof_ok)
{
	size_t got = 0;

	while (got < len) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * RECV_FD_ROOM)];
			struct cmsghdr align;
		} control;
		struct iovec iov = { .iov_base = (char *)buf + got, .iov_len = len - got };
		struct msghdr mh = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control.buf,
			.msg_controllen = sizeof(control.buf),
		};
		ssize_t n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			const unsigned char *data = CMSG_DATA(c);
			for (size_t i = 0; i < cnt; i++) {
				int fd;
				memcpy(&fd, data + i * sizeof(int), sizeof(int));
				if (*nfds < RECV_FD_ROOM) {
					fds[(*nfds)++] = fd;
				} else {
					close(fd);
					*overflow = true;
				}
			}
		}
		if (mh.msg_flags & MSG_CTRUNC)
			*overflow = true;
		if (n == 0)
			return (got == 0 && eof_ok) ? -ECONNRESET : -EIO;
		got += (size_t)n;
	}
	return 0;
}

int vhost_msg_recv(int sock, struct vhost_msg *msg, bool reply)
{
	int fds[RECV_FD_ROOM];
	unsigned int nfds = 0;
	bool overflow = false;
	uint32_t hdr[3];
	int r;

	msg->nfds = 0;
	r = recv_full(sock, hdr, sizeof(hdr), fds, &nfds, &overflow, true);
	if (r < 0)
		goto err;
	r = vhost_msg_check_header(hdr[0], hdr[1], hdr[2], reply);
	if (r < 0)
		goto err;
	msg->request = hdr[0];
	msg->flags = hdr[1];
	msg->size = hdr[2];
	r = recv_full(sock, &msg->payload, msg->size, fds, &nfds, &overflow, false);
	if (r < 0)
		goto err;
	if (overflow || nfds > VHOST_USER_MAX_FDS) {
		r = -EBADMSG;
		goto err;
	}
	return adopt_and_check(msg, fds, nfds, reply);
err:
	close_fd_array(fds, nfds);
	return r;
}

int vhost_msg_send(int sock, const struct vhost_msg *msg)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_FDS)];
		struct cmsghdr align;
	} control;
	uint32_t hdr[3] = { msg->request, msg->flags, msg->size };
	struct iovec iov[2] = {
		{ .iov_base = hdr, .iov_len = sizeof(hdr) },
		{ .iov_base = (void *)&msg->payload, .iov_len = msg->size },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	size_t total = sizeof(hdr) + msg->size, sent = 0;

	if (msg->size > VHOST_USER_MAX_PAYLOAD || msg->nfds > VHOST_USER_MAX_FDS)
		return -EINVAL;
	if (msg->nfds > 0) {
		memset(&control, 0, sizeof(control));
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * msg->nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * msg->nfds);
		memcpy(CMSG_DATA(c), msg->fds, sizeof(int) * msg->nfds);
	}
	while (sent < total) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		sent += (size_t)n;
		/* The fds went with the first byte; continue with the rest only. */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (n > 0 && mh.msg_iovlen > 0) {
			if ((size_t)n >= mh.msg_iov->iov_len) {
				n -= (ssize_t)mh.msg_iov->iov_len;
				mh.msg_iov++;
				mh.msg_iovlen--;
			} else {
				mh.msg_iov->iov_base = (char *)mh.msg_iov->iov_base + n;
				mh.msg_iov->iov_len -= (size_t)n;
				n = 0;
			}
		}
	}
	return 0;
}
