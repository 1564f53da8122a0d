/* SPDX-License-Identifier: MIT */
/*
 * The microphone control socket of Qubes R4.1+: a UNIX stream socket at
 * /var/run/qubes/audio-control.VMNAME (mode 0660) taking one command per
 * connection, exactly "audio-input 1\n" or "audio-input 0\n". Anything else
 * (a prefix, trailing bytes, no newline, too long, too slow) is rejected with
 * a log line; the original accepted prefixes by mistake.
 *
 * Owns no loop: qubes_ctlsock_fd() is one pollable fd (an internal epoll set
 * of the listener, the open connections and a timeout timer); call
 * qubes_ctlsock_dispatch() when it is readable.
 */
#ifndef VSND_QUBES_CTLSOCK_H
#define VSND_QUBES_CTLSOCK_H

#include <stdbool.h>

struct qubes_ctlsock;

/* A valid command arrived. */
typedef void (*qubes_ctlsock_fn)(void *data, bool allow);

/*
 * Listen at @path. A stale socket file (nobody accepts on it) is replaced;
 * a live one is not (EADDRINUSE). NULL with errno.
 */
struct qubes_ctlsock *qubes_ctlsock_new(const char *path, qubes_ctlsock_fn fn, void *data);

/* Close everything and unlink the socket file. Accepts NULL. */
void qubes_ctlsock_destroy(struct qubes_ctlsock *s);

int qubes_ctlsock_fd(const struct qubes_ctlsock *s);

/* Accept, read and time out connections. Returns 0 or -errno (fatal only). */
int qubes_ctlsock_dispatch(struct qubes_ctlsock *s);

/* Parse one command; returns 1 (allow), 0 (deny) or -EINVAL. Exposed for tests and fuzzing. */
int qubes_ctlsock_parse(const char *buf, unsigned len);

#endif /* VSND_QUBES_CTLSOCK_H */
