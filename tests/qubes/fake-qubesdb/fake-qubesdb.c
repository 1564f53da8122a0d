/* SPDX-License-Identifier: MIT */
/*
 * fake-qubesdb SOCKET: a test double of the QubesDB daemon's local side for
 * the tests of vsnd's QubesDB paths (Debian has no qubesdb). It keeps
 * (path, value) pairs and watches in memory and answers the local socket
 * protocol of fake-qdb-proto.h: read, write, rm (a path ending in '/' removes
 * the directory), watch / unwatch (ending in '/': the directory). A write or
 * rm sends each matching watcher its event before the writer gets its
 * answer, so a client that is itself waiting for an answer sees the event
 * first. The socket appears only once it accepts (bound under a temporary
 * name, then renamed). SIGTERM/SIGINT: remove it and exit 0.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fake-qdb-proto.h"

#define MAX_CLIENTS 64
#define MAX_ENTRIES 1024
#define MAX_WATCHES 256

struct entry {
	char path[QDB_MAX_PATH];
	char *value;
	uint32_t len;
};

struct watch {
	int client; /* index into clients[], -1 if free */
	char path[QDB_MAX_PATH];
};

static int clients[MAX_CLIENTS];
static struct entry entries[MAX_ENTRIES];
static struct watch watches[MAX_WATCHES];
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void reply(int c, uint8_t type, const char *path, const void *data, uint32_t len)
{
	struct qdb_hdr hdr;
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	snprintf(hdr.path, sizeof(hdr.path), "%s", path);
	hdr.data_len = len;
	/* A client that does not read its socket blocks us: a test double may. */
	if (send(clients[c], &hdr, sizeof(hdr), MSG_NOSIGNAL) != (ssize_t)sizeof(hdr) ||
	    (len && send(clients[c], data, len, MSG_NOSIGNAL) != (ssize_t)len))
		fprintf(stderr, "fake-qubesdb: client %d: send failed\n", c);
}

static bool is_dir(const char *path)
{
	return path[strlen(path) - 1] == '/';
}

/* A watch on "/a/" covers "/a/b"; on "/a/b" only "/a/b". */
static bool covers(const char *watch, const char *path)
{
	return is_dir(watch) ? strncmp(watch, path, strlen(watch)) == 0 : strcmp(watch, path) == 0;
}

static void fire(const char *path)
{
	for (int i = 0; i < MAX_WATCHES; i++)
		if (watches[i].client >= 0 && covers(watches[i].path, path))
			reply(watches[i].client, QDB_RESP_WATCH, path, NULL, 0);
}

static struct entry *find(const char *path)
{
	for (int i = 0; i < MAX_ENTRIES; i++)
		if (entries[i].value && strcmp(entries[i].path, path) == 0)
			return &entries[i];
	return NULL;
}

static uint8_t do_write(const char *path, const char *data, uint32_t len)
{
	struct entry *e = find(path);
	for (int i = 0; !e && i < MAX_ENTRIES; i++)
		if (!entries[i].value)
			e = &entries[i];
	if (!e)
		return QDB_RESP_ERROR;
	char *v = malloc(len + 1);
	if (!v)
		return QDB_RESP_ERROR;
	memcpy(v, data, len);
	v[len] = '\0';
	free(e->value);
	snprintf(e->path, sizeof(e->path), "%s", path);
	e->value = v;
	e->len = len;
	fire(path);
	return QDB_RESP_OK;
}

static uint8_t do_rm(const char *path)
{
	int removed = 0;
	for (int i = 0; i < MAX_ENTRIES; i++) {
		if (!entries[i].value || !covers(path, entries[i].path))
			continue;
		free(entries[i].value);
		entries[i].value = NULL;
		removed++;
		fire(entries[i].path);
	}
	return removed ? QDB_RESP_OK : QDB_RESP_ERROR_NOENT;
}

static uint8_t do_watch(int c, const char *path, bool add)
{
	for (int i = 0; i < MAX_WATCHES; i++) {
		if (add && watches[i].client < 0) {
			watches[i].client = c;
			snprintf(watches[i].path, sizeof(watches[i].path), "%s", path);
			return QDB_RESP_OK;
		}
		if (!add && watches[i].client == c && strcmp(watches[i].path, path) == 0) {
			watches[i].client = -1;
			return QDB_RESP_OK;
		}
	}
	return add ? QDB_RESP_ERROR : QDB_RESP_ERROR_NOENT;
}

static void drop_client(int c)
{
	close(clients[c]);
	clients[c] = -1;
	for (int i = 0; i < MAX_WATCHES; i++)
		if (watches[i].client == c)
			watches[i].client = -1;
}

/* One command of client @c; false: the client is gone or broke the protocol. */
static bool serve(int c)
{
	struct qdb_hdr hdr;
	char data[QDB_MAX_DATA];
	if (read_full(clients[c], &hdr, sizeof(hdr)) < 0 || hdr.data_len > QDB_MAX_DATA ||
	    read_full(clients[c], data, hdr.data_len) < 0)
		return false;
	if (!memchr(hdr.path, '\0', sizeof(hdr.path)) || hdr.path[0] != '/')
		return false;
	const char *p = hdr.path;
	switch (hdr.type) {
	case QDB_CMD_READ: {
		struct entry *e = is_dir(p) ? NULL : find(p);
		if (e)
			reply(c, QDB_RESP_READ, p, e->value, e->len);
		else
			reply(c, is_dir(p) ? QDB_RESP_ERROR : QDB_RESP_ERROR_NOENT, p, NULL, 0);
		return true;
	}
	case QDB_CMD_WRITE:
		reply(c, is_dir(p) ? QDB_RESP_ERROR : do_write(p, data, hdr.data_len), p, NULL, 0);
		return true;
	case QDB_CMD_RM:
		reply(c, do_rm(p), p, NULL, 0);
		return true;
	case QDB_CMD_WATCH:
	case QDB_CMD_UNWATCH:
		reply(c, do_watch(c, p, hdr.type == QDB_CMD_WATCH), p, NULL, 0);
		return true;
	default:
		reply(c, QDB_RESP_ERROR, p, NULL, 0); /* list/multiread: not needed by vsnd */
		return true;
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fake-qubesdb SOCKET\n");
		return 2;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char tmp[sizeof(sa.sun_path)];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", argv[1]) >= (int)sizeof(tmp)) {
		fprintf(stderr, "fake-qubesdb: socket path too long\n");
		return 1;
	}
	strcpy(sa.sun_path, tmp);
	unlink(tmp);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 16) < 0 ||
	    rename(tmp, argv[1]) < 0) {
		perror("fake-qubesdb");
		return 1;
	}
	struct sigaction act = { .sa_handler = on_signal };
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i] = -1;
	for (int i = 0; i < MAX_WATCHES; i++)
		watches[i].client = -1;
	while (!stop) {
		struct pollfd pfd[MAX_CLIENTS + 1];
		int idx[MAX_CLIENTS + 1], n = 0;
		pfd[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		for (int i = 0; i < MAX_CLIENTS; i++)
			if (clients[i] >= 0) {
				idx[n] = i;
				pfd[n++] = (struct pollfd){ .fd = clients[i], .events = POLLIN };
			}
		if (poll(pfd, (nfds_t)n, -1) < 0)
			continue; /* EINTR: stop is checked */
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			int i = 0;
			while (i < MAX_CLIENTS && clients[i] >= 0)
				i++;
			if (fd >= 0 && i < MAX_CLIENTS)
				clients[i] = fd;
			else if (fd >= 0)
				close(fd);
		}
		for (int k = 1; k < n; k++)
			if (pfd[k].revents && clients[idx[k]] >= 0 && !serve(idx[k]))
				drop_client(idx[k]);
	}
	unlink(argv[1]);
	return 0;
}
