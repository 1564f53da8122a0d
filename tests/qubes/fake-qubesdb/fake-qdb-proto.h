/* SPDX-License-Identifier: MIT */
/*
 * The QubesDB daemon's local socket protocol (qubes-core-qubesdb's
 * qubesdb.h): a fixed header, then data_len bytes. Shared by the test
 * double's client library and daemon.
 */
#ifndef VSND_FAKE_QDB_PROTO_H
#define VSND_FAKE_QDB_PROTO_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "qubesdb-client.h"

enum fake_qdb_msg {
	QDB_CMD_READ,
	QDB_CMD_WRITE,
	QDB_CMD_MULTIREAD,
	QDB_CMD_LIST,
	QDB_CMD_RM,
	QDB_CMD_WATCH,
	QDB_CMD_UNWATCH,
	QDB_RESP_OK,
	QDB_RESP_ERROR_NOENT,
	QDB_RESP_ERROR,
	QDB_RESP_READ,
	QDB_RESP_MULTIREAD,
	QDB_RESP_LIST,
	QDB_RESP_WATCH,
};

struct qdb_hdr {
	uint8_t type;
	char path[QDB_MAX_PATH];
	uint32_t data_len;
};

#define FAKE_QDB_DEFAULT_SOCKET "/var/run/qubes/qubesdb.sock"

/* Exactly @len bytes (messages are read whole); -1 on error, end of file is EPIPE. */
static inline int read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EPIPE;
			return -1;
		}
		got += (size_t)n;
	}
	return 0;
}

#endif /* VSND_FAKE_QDB_PROTO_H */
