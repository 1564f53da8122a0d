/* SPDX-License-Identifier: MIT */
/*
 * libvchan: the Qubes vchan API (QubesOS/qubes-core-vchan-xen vchan/libvchan.h)
 * over two transports:
 *
 *   socket  UNIX stream socket, wire-compatible with qubes-core-vchan-socket:
 *           $VCHAN_SOCKET_DIR/vchan.SERVERDOM.CLIENTDOM.PORT.sock (default dir
 *           /var/run/vchan, which must exist), local domain id from
 *           $VCHAN_DOMAIN (default 0; a decimal id below 0x7FF0, anything
 *           else is EINVAL rather than the original's silent 0), the server
 *           listens, no handshake, a raw byte stream. The server takes one
 *           client, then removes its socket file (so it can be
 *           re-initialised); the file is created mode 0660. A peer that
 *           shuts its sending side down counts as gone, as in the original.
 *   xen     libxenvchan, Qubes' xenstore path data/vchan/PEERDOM/PORT.
 *
 * Which one: the only one built, or $VSND_VCHAN=socket|xen when both are;
 * with both built and VSND_VCHAN unset, xen if /dev/xen/evtchn exists.
 *
 * Model (both transports): a vchan is one bidirectional byte stream between
 * a server and one client. Nothing happens behind the caller's back: no
 * thread, no signal handler, no event loop. libvchan_fd_for_select() gives
 * one fd that stays the same for the vchan's life; when it polls readable
 * the caller calls libvchan_wait() once (it acknowledges the event and does
 * the pending socket I/O), then looks at is_open / data_ready /
 * buffer_space. Blocking calls wait on that same fd internally.
 *
 * Errors: like the Qubes library, calls return -1 and set errno (never any
 * other negative value), so Qubes code that tests "< 0" or "== -1" works.
 *
 * Thread safety: a vchan is used by one thread at a time (the caller
 * serialises); different vchans are independent. No global state.
 *
 * Signals: the socket transport never raises SIGPIPE (MSG_NOSIGNAL).
 */
#ifndef VSND_LIBVCHAN_H
#define VSND_LIBVCHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int EVTCHN;

/* return values from libvchan_is_open */
/* remote disconnected or remote domain dead */
#define VCHAN_DISCONNECTED 0
/* connected */
#define VCHAN_CONNECTED 1
/* vchan initialized, waiting for client to connect, or server to appear */
#define VCHAN_WAITING 2

struct libvchan;
typedef struct libvchan libvchan_t;

/*
 * Listen for one client from domain @domain on @port.
 * @read_min / @write_min: the least ring sizes the caller needs; rounded up
 * (socket: power of two, at least 1 KiB; xen: power of two, 1 KiB..1 MiB).
 * The socket transport replaces a stale socket file left by a dead server
 * but fails with EADDRINUSE if a live server owns the path.
 * Returns the vchan in VCHAN_WAITING state, or NULL with errno set
 * (EINVAL for a negative domain/port or sizes above 1 GiB).
 * Blocking mode is on (libvchan_set_blocking).
 */
libvchan_t *libvchan_server_init(int domain, int port, size_t read_min, size_t write_min);

/*
 * Connect to the server that domain @domain offers on @port. Blocks until
 * the server exists and the connection is made (like Qubes' Xen library,
 * which waits for the server to appear). The socket transport gives the
 * client 64 KiB of write ring. Returns the vchan, or NULL with errno set.
 */
libvchan_t *libvchan_client_init(int domain, int port);

/*
 * Non-blocking client connection:
 * 1. Call libvchan_client_init_async(); *@watch_fd receives a pollable fd
 *    (socket: the same fd libvchan_fd_for_select() returns later; xen: a
 *    xenstore watch fd, valid until finish() returns 0).
 * 2. Wait for *@watch_fd to become readable.
 * 3. Call libvchan_client_init_async_finish(): 0 connected, 1 not yet
 *    (go back to 2), -1 error (errno set; libvchan_close() it).
 * The server need not exist yet: the socket transport retries when the
 * socket file appears, and at least every 50 ms. finish() never blocks;
 * @blocking sets the vchan's I/O mode as libvchan_set_blocking() does.
 */
libvchan_t *libvchan_client_init_async(int domain, int port, EVTCHN *watch_fd);
int libvchan_client_init_async_finish(libvchan_t *ctrl, bool blocking);

/*
 * Write up to @size bytes; partial writes happen. Returns the bytes taken
 * (> 0), 0 when non-blocking and no space (or @size is 0), -1 on error
 * (EPIPE: peer gone). Blocking mode waits until at least one byte fits.
 * Writing min(size, libvchan_buffer_space()) bytes never blocks.
 */
int libvchan_write(libvchan_t *ctrl, const void *data, size_t size);

/*
 * Write exactly @size bytes or nothing. Returns @size, 0 when non-blocking
 * and libvchan_buffer_space() < @size, -1 on error (EPIPE: peer gone;
 * EMSGSIZE: @size larger than the write ring, so it could never fit).
 */
int libvchan_send(libvchan_t *ctrl, const void *data, size_t size);

/*
 * Read up to @size bytes. Returns the bytes read (> 0), 0 when non-blocking
 * and nothing is ready, -1 on error (EPIPE: peer gone and nothing left).
 * Data the peer sent before it went away is still delivered.
 */
int libvchan_read(libvchan_t *ctrl, void *data, size_t size);

/*
 * Read exactly @size bytes or nothing. Returns @size, 0 when non-blocking
 * and fewer bytes are ready, -1 on error (EPIPE: peer gone before @size
 * bytes arrived; the bytes stay readable with libvchan_read).
 */
int libvchan_recv(libvchan_t *ctrl, void *data, size_t size);

/*
 * Acknowledge the event that made libvchan_fd_for_select() readable and do
 * the pending I/O (accept, connect, flush, notice the peer's death); then
 * look at is_open / data_ready / buffer_space. If no event is pending it
 * blocks until one arrives in blocking mode; in non-blocking mode (socket)
 * it returns at once, so an event loop never stalls on an event its own
 * I/O already consumed. Returns 0, or -1 with errno (EPIPE when the vchan
 * is disconnected and nothing more can happen).
 */
int libvchan_wait(libvchan_t *ctrl);

/* Close and free. NULL is accepted. Data not yet taken by the kernel is lost. */
void libvchan_close(libvchan_t *ctrl);

/*
 * A pollable fd, readable when the vchan has an event (data, space, peer
 * connected or gone). Owned by the vchan; do not read it or close it.
 * Socket transport: the same fd for the vchan's whole life; while a writer
 * waits for space and bytes are in flight it also turns readable every
 * 2-16 ms, because the kernel does not report every read of the peer.
 */
EVTCHN libvchan_fd_for_select(libvchan_t *ctrl);

/* VCHAN_WAITING, VCHAN_CONNECTED or VCHAN_DISCONNECTED, checked now. */
int libvchan_is_open(libvchan_t *ctrl);

/*
 * Bytes that libvchan_read/recv can return now without blocking (socket:
 * capped at the read size the vchan was created with). Never negative.
 */
int libvchan_data_ready(libvchan_t *ctrl);

/*
 * Bytes that libvchan_write/send accept now without blocking. The socket
 * transport counts everything the peer has not read yet: write ring
 * capacity - its own ring - the bytes queued in the kernel that the peer has
 * not read. That last figure is exact where sock_diag works (same network
 * namespace; no privileges needed) and otherwise a safe upper bound
 * (SIOCOUTQ), so this is also the latency truth. Never negative.
 */
int libvchan_buffer_space(libvchan_t *ctrl);

/* Blocking (default) or non-blocking read/write/send/recv. */
void libvchan_set_blocking(libvchan_t *ctrl, bool blocking);

#ifdef __cplusplus
}
#endif

#endif /* VSND_LIBVCHAN_H */
