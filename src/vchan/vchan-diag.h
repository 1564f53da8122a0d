/* SPDX-License-Identifier: MIT */
/* Exact unread-byte count of a connected AF_UNIX peer via sock_diag. */
#ifndef VSND_VCHAN_DIAG_H
#define VSND_VCHAN_DIAG_H

#include <stdbool.h>
#include <stdint.h>

/* A NETLINK_SOCK_DIAG socket (caller closes it), or -errno. */
int vchan_diag_open(void);

/* Inode of the socket connected to @fd into *@peer_ino. 0 or -errno. */
int vchan_diag_peer(int nl, int fd, uint32_t *peer_ino);

/* Bytes waiting in the receive queue of socket @peer_ino, or -errno
 * (e.g. -ENOENT: gone, or in another network namespace). */
int64_t vchan_diag_unread(int nl, uint32_t peer_ino);

#endif
