/* SPDX-License-Identifier: MIT */
/*
 * The status store on Qubes: QubesDB (qubes-core-qubesdb's client library).
 * Built when meson finds it (-Dqubesdb=auto|enabled); it is not in Debian, so
 * elsewhere the tests build it against the test double in
 * tests/qubes/fake-qubesdb.
 *
 * Two connections: one only for watches, one for everything else. The
 * library reads a watch event that arrives while a command waits for its
 * answer into the handle's own queue, and the socket no longer shows it: on
 * a single handle, a decision written by the user while we publish a status
 * key would sit unseen until the next event. On a handle that sends no
 * commands after its watches are set, every event keeps the fd readable.
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
	qdb_handle_t h;     /* read, write, rm */
	qdb_handle_t watch; /* watch and read_watch only, opened with the first watch */
};

/* QubesDB's limit (qubesdb.h): a path with its NUL. */
#define PATH_MAX_QDB 64

/*
 * The library takes char * where it means const char *: copy, never cast
 * constness away. A key QubesDB cannot hold is refused here with -EINVAL
 * (the library would only say "failed").
 */
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
	char path[PATH_MAX_QDB], val[256];
	if (with_path(key, path, sizeof(path)) < 0 || strlen(value) >= sizeof(val))
		return -EINVAL;
	strcpy(val, value);
	return qdb_write(q->h, path, val, (unsigned int)strlen(val)) ? 0 : -EIO;
}

static int qdb_store_remove(struct qubes_store *st, const char *key)
{
	struct qdb_store *q = (struct qdb_store *)st;
	char path[PATH_MAX_QDB];
	if (with_path(key, path, sizeof(path)) < 0)
		return -EINVAL;
	return qdb_rm(q->h, path) ? 0 : -EIO;
}

static int qdb_store_read(struct qubes_store *st, const char *key, char *buf, size_t len)
{
	struct qdb_store *q = (struct qdb_store *)st;
	char path[PATH_MAX_QDB];
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
	char path[PATH_MAX_QDB];
	if (with_path(key, path, sizeof(path)) < 0)
		return -EINVAL;
	if (!q->watch && !(q->watch = qdb_open(NULL)))
		return -EIO;
	/*
	 * An event that fires while a later watch is being set lands in the
	 * handle's queue, not the socket: it is seen with the next event. The
	 * callers read a key's value after watching it, so no state is lost.
	 */
	return qdb_watch(q->watch, path) ? 0 : -EIO;
}

static int qdb_store_fd(struct qubes_store *st)
{
	struct qdb_store *q = (struct qdb_store *)st;
	return q->watch ? qdb_watch_fd(q->watch) : -1;
}

static int qdb_store_dispatch(struct qubes_store *st)
{
	struct qdb_store *q = (struct qdb_store *)st;
	if (!q->watch)
		return 0;
	/* One event per readable fd: qdb_read_watch blocks when nothing is pending. */
	char *path = qdb_read_watch(q->watch);
	if (!path)
		return -EPIPE; /* QubesDB went away: the library does not restore watches */
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
	if (q->watch)
		qdb_close(q->watch);
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
