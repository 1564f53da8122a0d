/* SPDX-License-Identifier: MIT */
/*
 * Test double of the QubesDB client library (see qubesdb-client.h): one
 * stream socket to the daemon per handle, commands answered in order, and
 * watch events interleaved with the answers -- the property that matters to
 * its users: an event read while waiting for an answer is queued in the
 * handle, and the socket no longer shows it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake-qdb-proto.h"

struct pending {
	struct pending *next;
	char *path;
};

struct qdb_handle {
	int fd;
	struct pending *head, *tail; /* watch events read while waiting for an answer */
};

qdb_handle_t qdb_open(char *vmname)
{
	const char *path = getenv("VSND_FAKE_QUBESDB");
	if (vmname || !path || !*path)
		path = FAKE_QDB_DEFAULT_SOCKET; /* per-VM daemons (dom0) are not faked */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	strcpy(sa.sun_path, path);
	struct qdb_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (h->fd < 0 || connect(h->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		errno = err;
		return NULL;
	}
	return h;
}

void qdb_close(qdb_handle_t h)
{
	if (!h)
		return;
	while (h->head) {
		struct pending *p = h->head;
		h->head = p->next;
		free(p->path);
		free(p);
	}
	close(h->fd);
	free(h);
}

static int send_cmd(qdb_handle_t h, uint8_t type, const char *path, const void *data, uint32_t len)
{
	if (!h || !path || path[0] != '/' || strlen(path) >= QDB_MAX_PATH || len > QDB_MAX_DATA) {
		errno = EINVAL;
		return -1;
	}
	struct qdb_hdr hdr;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	strcpy(hdr.path, path);
	hdr.data_len = len;
	struct iovec iov[2] = { { &hdr, sizeof(hdr) }, { (void *)data, len } };
	ssize_t want = (ssize_t)(sizeof(hdr) + len);
	return writev(h->fd, iov, len ? 2 : 1) == want ? 0 : -1;
}

/* The answer to the command just sent; watch events before it are queued. */
static int get_answer(qdb_handle_t h, struct qdb_hdr *hdr)
{
	for (;;) {
		if (read_full(h->fd, hdr, sizeof(*hdr)) < 0)
			return -1;
		hdr->path[QDB_MAX_PATH - 1] = '\0';
		if (hdr->type != QDB_RESP_WATCH)
			return 0;
		struct pending *p = calloc(1, sizeof(*p));
		if (!p || !(p->path = strdup(hdr->path))) {
			free(p);
			return -1;
		}
		if (h->tail)
			h->tail->next = p;
		else
			h->head = p;
		h->tail = p;
	}
}

char *qdb_read(qdb_handle_t h, char *path, unsigned int *value_len)
{
	struct qdb_hdr hdr;
	if (send_cmd(h, QDB_CMD_READ, path, NULL, 0) < 0 || get_answer(h, &hdr) < 0)
		return NULL;
	if (hdr.type == QDB_RESP_ERROR_NOENT) {
		errno = ENOENT;
		return NULL;
	}
	if (hdr.type != QDB_RESP_READ || hdr.data_len > QDB_MAX_DATA) {
		errno = EPROTO;
		return NULL;
	}
	char *v = malloc(hdr.data_len + 1);
	if (!v || read_full(h->fd, v, hdr.data_len) < 0) {
		free(v);
		return NULL;
	}
	v[hdr.data_len] = '\0';
	if (value_len)
		*value_len = hdr.data_len;
	return v;
}

/* A command answered by OK (NOENT counts as done, as the library does for rm/unwatch). */
static int simple(qdb_handle_t h, uint8_t type, const char *path, const void *data, uint32_t len)
{
	struct qdb_hdr hdr;
	if (send_cmd(h, type, path, data, len) < 0 || get_answer(h, &hdr) < 0)
		return 0;
	return hdr.type == QDB_RESP_OK || hdr.type == QDB_RESP_ERROR_NOENT;
}

int qdb_write(qdb_handle_t h, char *path, char *value, unsigned int value_len)
{
	return value ? simple(h, QDB_CMD_WRITE, path, value, value_len) : 0;
}

int qdb_rm(qdb_handle_t h, char *path) { return simple(h, QDB_CMD_RM, path, NULL, 0); }
int qdb_watch(qdb_handle_t h, char *path) { return simple(h, QDB_CMD_WATCH, path, NULL, 0); }
int qdb_unwatch(qdb_handle_t h, char *path) { return simple(h, QDB_CMD_UNWATCH, path, NULL, 0); }

char *qdb_read_watch(qdb_handle_t h)
{
	if (!h)
		return NULL;
	if (h->head) {
		struct pending *p = h->head;
		char *path = p->path;
		h->head = p->next;
		if (!h->head)
			h->tail = NULL;
		free(p);
		return path;
	}
	struct qdb_hdr hdr;
	if (read_full(h->fd, &hdr, sizeof(hdr)) < 0)
		return NULL;
	if (hdr.type != QDB_RESP_WATCH) {
		errno = EPROTO;
		return NULL;
	}
	hdr.path[QDB_MAX_PATH - 1] = '\0';
	return strdup(hdr.path);
}

int qdb_watch_fd(qdb_handle_t h)
{
	return h ? h->fd : -1;
}
