/* SPDX-License-Identifier: MIT */
/*
 * A small key-value store interface for the daemon's status keys and the
 * user's microphone decision, as QubesDB offers them on Qubes:
 *   /audio-input/VMNAME          "1"/"0": microphone flowing (absent: daemon not running)
 *   /audio-input-request/VMNAME  "1"/"0": what the VM asked for
 *   /audio-input-config/VMNAME   "1"/"0": the user's decision (watched)
 * Two implementations: QubesDB (on Qubes, when its client library exists) and
 * a directory store (one file per key, inotify for watches), used here and on
 * hosts without Qubes. The store owns no loop: poll qubes_store_fd() and call
 * qubes_store_dispatch().
 */
#ifndef VSND_QUBES_STORE_H
#define VSND_QUBES_STORE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

struct qubes_store;

/* A watched key changed: @value is its new content, NULL if it was removed. */
typedef void (*qubes_store_watch_fn)(void *data, const char *key, const char *value);

struct qubes_store_ops {
	const char *name;
	int (*write)(struct qubes_store *st, const char *key, const char *value);
	int (*remove)(struct qubes_store *st, const char *key);
	/* Copy the value into @buf (NUL-terminated); -ENOENT if absent. */
	int (*read)(struct qubes_store *st, const char *key, char *buf, size_t len);
	int (*watch)(struct qubes_store *st, const char *key);
	int (*fd)(struct qubes_store *st);
	int (*dispatch)(struct qubes_store *st);
	/* Optional: set the watches up again after dispatch failed (see qubes_store_restore). */
	int (*restore)(struct qubes_store *st);
	void (*destroy)(struct qubes_store *st);
};

struct qubes_store {
	const struct qubes_store_ops *ops;
	qubes_store_watch_fn watch_fn;
	void *watch_data;
};

/*
 * Directory store rooted at @dir (created if missing): key "/a/b" is the file
 * DIR/a/b, written atomically (temporary file + rename). NULL with errno.
 */
struct qubes_store *qubes_store_dir_new(const char *dir, qubes_store_watch_fn fn, void *data);

/*
 * QubesDB of the local qube (only in builds that found the qubesdb client
 * library: VSND_HAVE_QUBESDB). NULL with errno if QubesDB is not reachable.
 */
struct qubes_store *qubes_store_qdb_new(qubes_store_watch_fn fn, void *data);

/* A key is '/'-separated components of [A-Za-z0-9._-], no "." or ".." component. */
bool qubes_store_key_valid(const char *key);

static inline int qubes_store_write(struct qubes_store *st, const char *key, const char *value)
{ return st->ops->write(st, key, value); }
static inline int qubes_store_remove(struct qubes_store *st, const char *key)
{ return st->ops->remove(st, key); }
static inline int qubes_store_read(struct qubes_store *st, const char *key, char *buf, size_t len)
{ return st->ops->read(st, key, buf, len); }
static inline int qubes_store_watch(struct qubes_store *st, const char *key)
{ return st->ops->watch(st, key); }
static inline int qubes_store_fd(struct qubes_store *st) { return st->ops->fd(st); }
static inline int qubes_store_dispatch(struct qubes_store *st) { return st->ops->dispatch(st); }
/*
 * After qubes_store_dispatch() failed (the store's server went away and its
 * watches with it): connect again and watch the same keys. A watched key
 * whose value changed while nobody watched is reported to the watch function
 * (an unchanged one is not: replaying an old decision could undo a newer one
 * made elsewhere). 0 when watching again (poll qubes_store_fd() anew), -errno
 * if the server is still away (try again later), -ENOTSUP if this store
 * cannot lose its watches.
 */
static inline int qubes_store_restore(struct qubes_store *st)
{ return st->ops->restore ? st->ops->restore(st) : -ENOTSUP; }
static inline void qubes_store_destroy(struct qubes_store *st) { if (st) st->ops->destroy(st); }

#endif /* VSND_QUBES_STORE_H */
