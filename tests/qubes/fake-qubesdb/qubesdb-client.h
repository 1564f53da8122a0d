/* SPDX-License-Identifier: MIT */
/*
 * The QubesDB client interface (qubes-core-qubesdb's qubesdb-client.h), as
 * far as vsnd uses it, declared here for the test double in this folder:
 * Debian has no qubesdb, so without it store-qdb.c and the QubesDB paths of
 * vsnd-qubes and vsnd-qubes-agent would never be compiled or run here.
 * Signatures and semantics follow the published interface: paths begin with
 * '/', at most QDB_MAX_PATH bytes with the NUL; values at most QDB_MAX_DATA;
 * a watch event that arrives while a command waits for its answer is kept
 * and returned by the next qdb_read_watch() -- without making the watch fd
 * readable again.
 */
#ifndef VSND_FAKE_QUBESDB_CLIENT_H
#define VSND_FAKE_QUBESDB_CLIENT_H

#define QDB_MAX_DATA 3072
#define QDB_MAX_PATH 64

struct qdb_handle;
typedef struct qdb_handle *qdb_handle_t;

/* @vmname NULL: the local daemon (the fake: $VSND_FAKE_QUBESDB, else the real socket path). */
qdb_handle_t qdb_open(char *vmname);
void qdb_close(qdb_handle_t h);
/* The value, NUL-terminated, to free(); NULL if absent (errno ENOENT) or on failure. */
char *qdb_read(qdb_handle_t h, char *path, unsigned int *value_len);
/* 1 on success, 0 on failure. */
int qdb_write(qdb_handle_t h, char *path, char *value, unsigned int value_len);
int qdb_rm(qdb_handle_t h, char *path);
int qdb_watch(qdb_handle_t h, char *path);
int qdb_unwatch(qdb_handle_t h, char *path);
/* The path of the next watch event, to free(); blocks until one comes. */
char *qdb_read_watch(qdb_handle_t h);
int qdb_watch_fd(qdb_handle_t h);

#endif /* VSND_FAKE_QUBESDB_CLIENT_H */
