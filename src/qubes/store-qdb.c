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
 *
 * QubesDB may restart under us: the library reconnects a command handle but
 * never restores watches, so qubes_store_restore() watches again on a new
 * handle and reports what changed meanwhile (the last value seen of each
 * watched key is kept for that).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qubesdb-client.h>

#include "store.h"
#include "vsnd/log.h"

VSND_LOG_TOPIC(log_qdb, "qubes.qubesdb");

/* QubesDB's limits (qubesdb.h): a path with its NUL; our values are short. */
#define PATH_MAX_QDB 64
#define VALUE_MAX 256
#define MAX_WATCHED 4

/* A watched key and its value as last seen, to tell what changed while the watch was lost. */
struct watched {
	char path[PATH_MAX_QDB];
	char value[VALUE_MAX];
	bool present;
};

struct qdb_store {
	struct qubes_store base;
	qdb_handle_t h;     /* read, write, rm; NULL while QubesDB is away */
	qdb_handle_t watch; /* watch and read_watch only, opened with the first watch */
	bool watch_lost;    /* QubesDB closed it: closed and opened again by restore */
	struct watched watched[MAX_WATCHED];
	unsigned int n_watched;
};

/*
 * The library sends with write(): to a QubesDB that went away that raises
 * SIGPIPE, which kills a process that does not ignore it -- PipeWire, which
 * loads the agent as a module, does not. Hold SIGPIPE in this thread around
 * each call and drop the one the call raised (not one that was pending before).
 */
struct pipe_guard {
	sigset_t old;
	bool was_pending;
};

static void pipe_hold(struct pipe_guard *g)
{
	sigset_t set, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void pipe_release(struct pipe_guard *g)
{
	sigset_t set, pending;
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
		sigtimedwait(&set, NULL, &(struct timespec){ 0 });
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

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

/*
 * If a command failed because the connection broke (QubesDB restarted), a
 * new one may carry it. The library reconnects on its own where it notices;
 * this covers a handle it gave up on, and a QubesDB that was away before.
 */
static bool reconnect(struct qdb_store *q)
{
	if (q->h)
		qdb_close(q->h);
	q->h = qdb_open(NULL);
	return q->h != NULL;
}

enum cmd { CMD_WRITE, CMD_RM, CMD_READ };

static bool run(struct qdb_store *q, enum cmd cmd, char *path, char *val, unsigned int *len, char **out)
{
	errno = 0;
	switch (cmd) {
	case CMD_WRITE:
		return qdb_write(q->h, path, val, *len);
	case CMD_RM:
		return qdb_rm(q->h, path);
	case CMD_READ:
		return (*out = qdb_read(q->h, path, len)) != NULL;
	}
	return false;
}

/* One command, SIGPIPE held; once more on a new connection unless the key is just absent. */
static bool command(struct qdb_store *q, enum cmd cmd, char *path, char *val, unsigned int *len, char **out)
{
	struct pipe_guard g;
	pipe_hold(&g);
	errno = 0;
	bool ok = q->h && run(q, cmd, path, val, len, out);
	if (!ok && errno != ENOENT) {
		if (reconnect(q))
			ok = run(q, cmd, path, val, len, out);
		else
			errno = ECONNREFUSED; /* not the socket file's ENOENT: that is no answer about the key */
	}
	int err = errno;
	pipe_release(&g);
	errno = err;
	return ok;
}

static int qdb_store_write(struct qubes_store *st, const char *key, const char *value)
{
	struct qdb_store *q = (struct qdb_store *)st;
	char path[PATH_MAX_QDB], val[VALUE_MAX];
	if (with_path(key, path, sizeof(path)) < 0 || strlen(value) >= sizeof(val))
		return -EINVAL;
	strcpy(val, value);
	unsigned int len = (unsigned int)strlen(val);
	return command(q, CMD_WRITE, path, val, &len, NULL) ? 0 : -EIO;
}

static int qdb_store_remove(struct qubes_store *st, const char *key)
{
	struct qdb_store *q = (struct qdb_store *)st;
	char path[PATH_MAX_QDB];
	if (with_path(key, path, sizeof(path)) < 0)
		return -EINVAL;
	return command(q, CMD_RM, path, NULL, NULL, NULL) ? 0 : -EIO;
}

static int qdb_store_read(struct qubes_store *st, const char *key, char *buf, size_t len)
{
	struct qdb_store *q = (struct qdb_store *)st;
	char path[PATH_MAX_QDB], *v = NULL;
	unsigned int n = 0;
	if (len == 0 || with_path(key, path, sizeof(path)) < 0)
		return -EINVAL;
	if (!command(q, CMD_READ, path, NULL, &n, &v))
		return errno == ENOENT ? -ENOENT : -EIO;
	if (n >= len)
		n = (unsigned int)len - 1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	free(v);
	return (int)n;
}

/* Watch @path on @h, SIGPIPE held. */
static bool watch_on(qdb_handle_t h, char *path)
{
	struct pipe_guard g;
	pipe_hold(&g);
	bool ok = qdb_watch(h, path);
	pipe_release(&g);
	return ok;
}

/* Read @w's value now; true if it differs from the one last seen (which it then becomes). */
static bool refresh(struct qdb_store *q, struct watched *w)
{
	char value[VALUE_MAX];
	int r = qdb_store_read(&q->base, w->path, value, sizeof(value));
	bool present = r >= 0;
	if (present == w->present && (!present || strcmp(value, w->value) == 0))
		return false;
	w->present = present;
	strcpy(w->value, present ? value : "");
	return true;
}

static int qdb_store_watch(struct qubes_store *st, const char *key)
{
	struct qdb_store *q = (struct qdb_store *)st;
	char path[PATH_MAX_QDB];
	if (with_path(key, path, sizeof(path)) < 0)
		return -EINVAL;
	if (q->n_watched == MAX_WATCHED)
		return -ENOSPC;
	if (!q->watch && !(q->watch = qdb_open(NULL)))
		return -EIO;
	/*
	 * An event that fires while a later watch is being set lands in the
	 * handle's queue, not the socket: it is seen with the next event. The
	 * callers read a key's value after watching it, so no state is lost.
	 */
	if (!watch_on(q->watch, path))
		return -EIO;
	struct watched *w = &q->watched[q->n_watched++];
	strcpy(w->path, path);
	refresh(q, w);
	return 0;
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
	if (q->watch_lost)
		return -EPIPE;
	/* One event per readable fd: qdb_read_watch blocks when nothing is pending. */
	char *path = qdb_read_watch(q->watch);
	if (!path) {
		/*
		 * QubesDB went away and the library does not restore watches. The
		 * handle stays open (its fd may still be in the caller's poll set)
		 * until qubes_store_restore() replaces it.
		 */
		q->watch_lost = true;
		return -EPIPE;
	}
	char value[VALUE_MAX];
	int r = qdb_store_read(st, path, value, sizeof(value));
	for (unsigned int i = 0; i < q->n_watched; i++)
		if (strcmp(q->watched[i].path, path) == 0) {
			q->watched[i].present = r >= 0;
			strcpy(q->watched[i].value, r >= 0 ? value : "");
		}
	/* Every event is reported, a value written again too: it is the user's act. */
	if (st->watch_fn)
		st->watch_fn(st->watch_data, path, r < 0 ? NULL : value);
	free(path);
	return 1;
}

static int qdb_store_restore(struct qubes_store *st)
{
	struct qdb_store *q = (struct qdb_store *)st;
	if (q->watch && !q->watch_lost)
		return 0;
	qdb_handle_t w = qdb_open(NULL);
	if (!w)
		return -(errno ? errno : ECONNREFUSED);
	for (unsigned int i = 0; i < q->n_watched; i++)
		if (!watch_on(w, q->watched[i].path)) {
			qdb_close(w);
			return -EIO;
		}
	if (q->watch)
		qdb_close(q->watch);
	q->watch = w;
	q->watch_lost = false;
	/* Watching again before reading: a change in between is seen either way. */
	for (unsigned int i = 0; i < q->n_watched; i++)
		if (refresh(q, &q->watched[i]) && st->watch_fn)
			st->watch_fn(st->watch_data, q->watched[i].path,
				     q->watched[i].present ? q->watched[i].value : NULL);
	return 0;
}

static void qdb_store_destroy(struct qubes_store *st)
{
	struct qdb_store *q = (struct qdb_store *)st;
	if (q->h)
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
	.restore = qdb_store_restore,
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
