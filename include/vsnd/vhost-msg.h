/* SPDX-License-Identifier: MIT */
/*
 * vhost-user message codec (QEMU docs/interop/vhost-user.rst).
 *
 * A message is a 12-byte host-endian header {request, flags, size} followed
 * by @size payload bytes; file descriptors travel as SCM_RIGHTS ancillary
 * data with the header. The codec checks everything a peer controls before
 * anyone uses it: the header (version 1, only known flag bits, REPLY set on
 * replies and clear on requests), the payload size allowed for the request
 * type, and the number of fds that request type carries. A message that
 * fails any check is rejected and every fd that came with it is closed.
 *
 * The wire structs below are the vhost-user layouts (the kernel's
 * <linux/vhost_types.h> ones differ: its memory region has no mmap_offset).
 *
 * Thread safety: the functions keep no state; one socket must not be read
 * (or written) by two threads at once.
 */
#ifndef VSND_VHOST_MSG_H
#define VSND_VHOST_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum vhost_user_request {
	VHOST_USER_NONE = 0,
	VHOST_USER_GET_FEATURES = 1,
	VHOST_USER_SET_FEATURES = 2,
	VHOST_USER_SET_OWNER = 3,
	VHOST_USER_RESET_OWNER = 4,
	VHOST_USER_SET_MEM_TABLE = 5,
	VHOST_USER_SET_LOG_BASE = 6,
	VHOST_USER_SET_LOG_FD = 7,
	VHOST_USER_SET_VRING_NUM = 8,
	VHOST_USER_SET_VRING_ADDR = 9,
	VHOST_USER_SET_VRING_BASE = 10,
	VHOST_USER_GET_VRING_BASE = 11,
	VHOST_USER_SET_VRING_KICK = 12,
	VHOST_USER_SET_VRING_CALL = 13,
	VHOST_USER_SET_VRING_ERR = 14,
	VHOST_USER_GET_PROTOCOL_FEATURES = 15,
	VHOST_USER_SET_PROTOCOL_FEATURES = 16,
	VHOST_USER_GET_QUEUE_NUM = 17,
	VHOST_USER_SET_VRING_ENABLE = 18,
	VHOST_USER_SEND_RARP = 19,
	VHOST_USER_NET_SET_MTU = 20,
	VHOST_USER_SET_BACKEND_REQ_FD = 21,
	VHOST_USER_IOTLB_MSG = 22,
	VHOST_USER_SET_VRING_ENDIAN = 23,
	VHOST_USER_GET_CONFIG = 24,
	VHOST_USER_SET_CONFIG = 25,
	VHOST_USER_CREATE_CRYPTO_SESSION = 26,
	VHOST_USER_CLOSE_CRYPTO_SESSION = 27,
	VHOST_USER_POSTCOPY_ADVISE = 28,
	VHOST_USER_POSTCOPY_LISTEN = 29,
	VHOST_USER_POSTCOPY_END = 30,
	VHOST_USER_GET_INFLIGHT_FD = 31,
	VHOST_USER_SET_INFLIGHT_FD = 32,
	VHOST_USER_GPU_SET_SOCKET = 33,
	VHOST_USER_RESET_DEVICE = 34,
	VHOST_USER_VRING_KICK = 35,
	VHOST_USER_GET_MAX_MEM_SLOTS = 36,
	VHOST_USER_ADD_MEM_REG = 37,
	VHOST_USER_REM_MEM_REG = 38,
	VHOST_USER_SET_STATUS = 39,
	VHOST_USER_GET_STATUS = 40,
	VHOST_USER_GET_SHARED_OBJECT = 41,
	VHOST_USER_SET_DEVICE_STATE_FD = 42,
	VHOST_USER_CHECK_DEVICE_STATE = 43,
};

/* Header flags. */
#define VHOST_USER_VERSION_MASK 0x3u
#define VHOST_USER_VERSION 0x1u
#define VHOST_USER_REPLY_MASK 0x4u
#define VHOST_USER_NEED_REPLY_MASK 0x8u

/* Virtio feature bit that announces GET/SET_PROTOCOL_FEATURES. */
#define VHOST_USER_F_PROTOCOL_FEATURES 30

/* Protocol feature bits (GET/SET_PROTOCOL_FEATURES). */
enum vhost_user_protocol_feature {
	VHOST_USER_PROTOCOL_F_MQ = 0,
	VHOST_USER_PROTOCOL_F_LOG_SHMFD = 1,
	VHOST_USER_PROTOCOL_F_RARP = 2,
	VHOST_USER_PROTOCOL_F_REPLY_ACK = 3,
	VHOST_USER_PROTOCOL_F_MTU = 4,
	VHOST_USER_PROTOCOL_F_BACKEND_REQ = 5,
	VHOST_USER_PROTOCOL_F_CROSS_ENDIAN = 6,
	VHOST_USER_PROTOCOL_F_CRYPTO_SESSION = 7,
	VHOST_USER_PROTOCOL_F_PAGEFAULT = 8,
	VHOST_USER_PROTOCOL_F_CONFIG = 9,
	VHOST_USER_PROTOCOL_F_BACKEND_SEND_FD = 10,
	VHOST_USER_PROTOCOL_F_HOST_NOTIFIER = 11,
	VHOST_USER_PROTOCOL_F_INFLIGHT_SHMFD = 12,
	VHOST_USER_PROTOCOL_F_RESET_DEVICE = 13,
	VHOST_USER_PROTOCOL_F_INBAND_NOTIFICATIONS = 14,
	VHOST_USER_PROTOCOL_F_CONFIGURE_MEM_SLOTS = 15,
	VHOST_USER_PROTOCOL_F_STATUS = 16,
};

/* SET_VRING_KICK/CALL/ERR payload: bits 0-7 ring index, bit 8 "no fd". */
#define VHOST_USER_VRING_IDX_MASK 0xffull
#define VHOST_USER_VRING_NOFD_MASK 0x100ull

#define VHOST_USER_HDR_SIZE 12u
/* Regions in SET_MEM_TABLE (and so fds in one message). */
#define VHOST_USER_MAX_REGIONS 8u
#define VHOST_USER_MAX_FDS VHOST_USER_MAX_REGIONS
/* Largest config space one GET/SET_CONFIG carries. */
#define VHOST_USER_MAX_CONFIG_SIZE 256u
#define VHOST_USER_CONFIG_HDR_SIZE 12u
/*
 * Largest payload the codec accepts, for any request type (also unknown
 * ones, whose payload is read and dropped so the stream stays in sync).
 * The largest defined payloads (memory table, config) are under 300 bytes.
 */
#define VHOST_USER_MAX_PAYLOAD 4096u

/* SET_VRING_ADDR flags bit 0: log used ring writes (we never offer logging). */
#define VHOST_USER_VRING_F_LOG 0x1u

struct vhost_user_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vhost_user_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vhost_user_mem_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};

struct vhost_user_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vhost_user_mem_region regions[VHOST_USER_MAX_REGIONS];
};

struct vhost_user_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t region[VHOST_USER_MAX_CONFIG_SIZE];
};

/*
 * One message. request/flags/size are the wire header; the payload union
 * holds @size bytes. fds[0..nfds) are owned by whoever holds the message:
 * vhost_msg_close_fds() closes them, and code that keeps one sets its slot
 * to -1.
 */
struct vhost_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	union {
		uint64_t u64;
		struct vhost_user_vring_state state;
		struct vhost_user_vring_addr addr;
		struct vhost_user_mem_table mem;
		struct vhost_user_config config;
		uint8_t raw[VHOST_USER_MAX_PAYLOAD];
	} payload;
	int fds[VHOST_USER_MAX_FDS];
	unsigned int nfds;
};

/*
 * Initialise @msg as a request (or, if @reply, a reply) of type @request
 * with @size payload bytes (the payload is zeroed) and no fds.
 * Returns 0 or -EINVAL if @size > VHOST_USER_MAX_PAYLOAD.
 */
int vhost_msg_init(struct vhost_msg *msg, uint32_t request, uint32_t size, bool reply);

/*
 * Check the header alone: version, flag bits, REPLY bit equal to @reply,
 * size <= VHOST_USER_MAX_PAYLOAD. Returns 0 or -EPROTO.
 */
int vhost_msg_check_header(uint32_t request, uint32_t flags, uint32_t size, bool reply);

/*
 * Check payload size and fd count of a complete message against its request
 * type (requests when !@reply, replies when @reply). Unknown request types
 * pass if they carry no fds (the receiver decides what to do with them).
 * Returns 0, -EPROTO (size or content such as nregions is wrong) or -EBADMSG
 * (wrong number of fds). Does not close anything.
 */
int vhost_msg_check(const struct vhost_msg *msg, bool reply);

/*
 * Decode one message from @buf (header + payload, exactly @len bytes) with
 * the fds @fds[0..@nfds) that came with it. Ownership of the fds passes to
 * this call: on success they are in @msg, on failure they are closed.
 * Returns 0, -EPROTO/-EBADMSG (see vhost_msg_check) or -EMSGSIZE when @len
 * does not match the header, or too many fds.
 */
int vhost_msg_decode(struct vhost_msg *msg, const void *buf, size_t len,
		     const int *fds, unsigned int nfds, bool reply);

/*
 * Receive one message from the stream socket @sock (blocking; a receive
 * timeout set on @sock applies). @reply selects which direction's rules
 * apply. On success @msg holds the message and owns its fds (O_CLOEXEC).
 * On any error every fd received is closed and @msg->nfds is 0.
 * Returns 0; -ECONNRESET on orderly EOF before a header byte; -EPROTO,
 * -EBADMSG on invalid messages; -EIO on EOF inside a message; or the -errno
 * of recvmsg (e.g. -EAGAIN on timeout). After an error other than -EBADMSG
 * and -EPROTO from vhost_msg_check the stream is out of sync: drop it.
 */
int vhost_msg_recv(int sock, struct vhost_msg *msg, bool reply);

/*
 * Send @msg (header, @msg->size payload bytes and fds[0..nfds)) in one
 * sendmsg() call, retrying on EINTR and on partial writes. The fds stay
 * owned by the caller (the kernel duplicates them into the peer).
 * Returns 0 or -errno (-EINVAL if the message is not well formed).
 */
int vhost_msg_send(int sock, const struct vhost_msg *msg);

/* Close every fd of @msg and set nfds to 0. NULL is accepted. */
void vhost_msg_close_fds(struct vhost_msg *msg);

/* Name of a request type for logs ("GET_FEATURES"; "UNKNOWN" if unknown). */
const char *vhost_msg_request_name(uint32_t request);

#ifdef __cplusplus
}
#endif

#endif /* VSND_VHOST_MSG_H */
