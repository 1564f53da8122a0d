/* SPDX-License-Identifier: MIT */
/*
 * The status store on Qubes: QubesDB (qubes-core-qubesdb's client library).
 * Built when meson finds it (-Dqubesdb=auto|enabled); it is not in Debian, so
 * this file is compiled only on Qubes builds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <qubesdb-client.h>

#include "store.h"
#include "vsnd/log.h"

VSND_LOG_TOPIC(log_qdb, "qubes.qubesdb");

struct qdb_store {
	struct qubes_store base;
	qdb_handle_t h;
};

/* The library takes char * where it means const char *: copy, never cast constness away. */
static int with_path(const char *key, char *buf, size_t len)
{
	if (!qubes_store_key_valid(key) || strlen(key) >= len)
		return -EINVAL;
	strcpy(buf, key);
	return 0;
}

static int qdb_store_write(struct qubes_store *st, const char *key, const char *value)
{
	struct qdb_store *q = (struct qdb_store *)st;
	char path[256], val[256];
	if (with_path(key, path, sizeof(path)) < 0 || strlen(value) >= sizeof(val))
		return -EINVAL;
	strcpy(val, value);
	return qdb_write(q->h, path, val, (unsigned int)strlen(val)) ? 0 : -EIO;
}

static int qdb_store_remove(struct qubes_store *st, const char *key)
{
	struct qdb_store *q = (struct qdb_store *)st;
	char path[256];
	if (with_path(key, path, sizeof(path)) < 0)
		return -EINVAL;
	return qdb_rm(q->h, path) ? 0 : -EIO;
}

static int qdb_store_read(struct qubes_store *st, const char *key, char *buf, size_t len)
{
	struct qdb_store *q = (struct qdb_store *)st;
	char path[256];
	unsigned int n = 0;
	if (len == 0 || with_path(key, path, sizeof(path)) < 0)
		return -EINVAL;
	char *v = qdb_read(q->h, path, &n);
	if (!v)
		return -ENOENT;
	if (n >= len)
		n = (unsigned int)len - 1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	free(v);
	return (int)n;
}

static int qdb_store_watch(struct qubes_store *st, const char *key)
{
	struct qdb_store *q = (struct qdb_store *)st;
	char path[256];
	if (with_path(key, path, sizeof(path)) < 0)
		return -EINVAL;
	return qdb_watch(q->h, path) ? 0 : -EIO;
}

static int qdb_store_fd(struct qubes_store *st)
{
	return qdb_watch_fd(((struct qdb_store *)st)->h);
}

static int qdb_store_dispatch(struct qubes_store *st)
{
	struct qdb_store *q = (struct qdb_store *)st;
	/* One event per readable fd: qdb_read_watch blocks when nothing is pending. */
	char *path = qdb_read_watch(q->h);
	if (!path)
		return -EPIPE;
	char value[256];
	int r = qdb_store_read(st, path, value, sizeof(value));
	if (st->watch_fn)
		st->watch_fn(st->watch_data, path, r < 0 ? NULL : value);
	free(path);
	return 1;
}

static void qdb_store_destroy(struct qubes_store *st)
{
	struct qdb_store *q = (struct qdb_store *)st;
	qdb_close(q->h);
	free(q);
}

static const struct qubes_store_ops qdb_ops = {
	.name = "qubesdb",
	.write = qdb_store_write,
	.remove = qdb_store_remove,
	.read = qdb_store_read,
	.watch = qdb_store_watch,
	.fd = qdb_store_fd,
	.dispatch = qdb_store_dispatch,
	.destroy = qdb_store_destroy,
};

struct qubes_store *qubes_store_qdb_new(qubes_store_watch_fn fn, void *data)
{
	struct qdb_store *q = calloc(1, sizeof(*q));
	if (!q)
		return NULL;
	q->h = qdb_open(NULL);
	if (!q->h) {
		int err = errno ? errno : ECONNREFUSED;
		vsnd_error(&log_qdb, "cannot connect to QubesDB: %s", strerror(err));
		free(q);
		errno = err;
		return NULL;
	}
	q->base.ops = &qdb_ops;
	q->base.watch_fn = fn;
	q->base.watch_data = data;
	return &q->base;
}
