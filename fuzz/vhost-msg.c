/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the vhost-user message parser and the backend dispatcher.
 *
 * Input: byte 0 = number of fds (low 4 bits, 0..15: more than any message
 * may carry) attached to the first bytes of the stream; the rest is the byte
 * stream a frontend sends. The stream is fed twice through a socketpair:
 * once to vhost_msg_recv() in a loop (codec only), once to a backend
 * dispatching until it drops the connection. The fds are small memfds, so a
 * SET_MEM_TABLE can really be mapped. Checks: every accepted message passes
 * vhost_msg_check again, no fd leaks (the lowest free fd number is the same
 * before and after).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vsnd/log.h"
#include "vsnd/vhost-backend.h"
#include "vsnd/vhost-msg.h"

#define MAX_STREAM (32 * 1024) /* well below the socket buffer: writes never block */
#define MEMFD_SIZE (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vhost_msg msg;
static struct vhost_vq_elem elem;

static int lowest_free_fd(void)
{
	int fd = dup(0);
	if (fd >= 0)
		close(fd);
	return fd;
}

/* Write the stream into sv[0] with @nfds memfds on the first chunk, then close it. */
static int feed(int sv[2], const uint8_t *data, size_t size, unsigned int nfds)
{
	char control[CMSG_SPACE(sizeof(int) * 16)];
	int fds[16];
	uint8_t dummy = 0;
	struct iovec iov = { .iov_base = size ? (void *)data : &dummy, .iov_len = size ? size : 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	for (unsigned int i = 0; i < nfds; i++) {
		fds[i] = memfd_create("fuzz-vhost", MFD_CLOEXEC);
		if (fds[i] < 0 || ftruncate(fds[i], MEMFD_SIZE) < 0)
			abort();
	}
	memset(control, 0, sizeof(control));
	if (nfds) {
		mh.msg_control = control;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	if (size || nfds) {
		if (sendmsg(sv[0], &mh, MSG_NOSIGNAL) != (ssize_t)iov.iov_len)
			abort();
	}
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]);
	shutdown(sv[0], SHUT_WR);
	return 0;
}

static uint64_t null_features(void *data)
{
	(void)data;
	return 1ull << 0;
}

static int null_get_config(void *data, uint32_t offset, void *buf, uint32_t size)
{
	(void)data;
	if (offset > 16 || size > 16 - offset)
		return -EINVAL;
	memset(buf, 0x5a, size);
	return 0;
}

static void null_kicked(void *data, struct vhost_vq *vq)
{
	(void)data;
	for (int i = 0; i < 64 && vhost_vq_pop(vq, &elem) > 0; i++)
		vhost_vq_push(vq, elem.head, 0);
	vhost_vq_notify(vq);
}

static const struct vhost_dev_ops null_ops = {
	.get_features = null_features,
	.get_config = null_get_config,
	.queue_kicked = null_kicked,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool log_set;
	int sv[2];
	unsigned int nfds;
	int probe;

	if (!log_set) {
		vsnd_log_configure(getenv("VSND_LOG") ? NULL : "error");
		log_set = true;
	}
	if (size < 1)
		return 0;
	nfds = data[0] & 0x0f;
	data++;
	size--;
	if (size > MAX_STREAM)
		size = MAX_STREAM;
	probe = lowest_free_fd();

	/* 1. Codec alone, both directions' rules. */
	for (int reply = 0; reply < 2; reply++) {
		feed(sv, data, size, nfds);
		for (int i = 0; i < 4096; i++) {
			int r = vhost_msg_recv(sv[1], &msg, reply);
			if (r < 0) {
				if (msg.nfds != 0)
					abort();
				if (r != -EBADMSG && r != -EPROTO)
					break;
				/* Size/fd-count errors leave the stream in sync: keep reading. */
				continue;
			}
			if (vhost_msg_check(&msg, reply) != 0 || msg.size > VHOST_USER_MAX_PAYLOAD)
				abort();
			vhost_msg_close_fds(&msg);
		}
		close(sv[0]);
		close(sv[1]);
	}

	/* 2. Decode of the raw bytes as one message. */
	if (vhost_msg_decode(&msg, data, size, NULL, 0, false) == 0)
		vhost_msg_close_fds(&msg);

	/* 3. The backend dispatcher until it drops the connection. */
	struct vhost_backend_config cfg = { .ops = &null_ops, .num_queues = 4, .max_queue_size = 256 };
	struct vhost_backend *be = vhost_backend_new(&cfg);
	if (!be)
		abort();
	feed(sv, data, size, nfds);
	if (vhost_backend_set_fd(be, sv[1], true) < 0)
		abort();
	for (int i = 0; i < 4096 && vhost_backend_dispatch(be) == 0; i++)
		;
	vhost_backend_destroy(be);
	close(sv[0]);

	if (lowest_free_fd() != probe)
		abort(); /* an fd leaked */
	return 0;
}
