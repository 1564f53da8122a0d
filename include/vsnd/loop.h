/* SPDX-License-Identifier: MIT */
/*
 * A small epoll event loop for the vsnd programs (the libraries own no loop:
 * they expose fds and dispatch calls, and the programs wire them in here).
 *
 * Sources are fds, timers (timerfd) and signals (signalfd). A source may be
 * removed from any callback, including its own and those of other sources
 * that are ready in the same iteration: it is only freed after the
 * iteration. Single-threaded: call everything from the loop's thread.
 */
#ifndef VSND_LOOP_H
#define VSND_LOOP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vsnd_loop;
struct vsnd_loop_source;

/* @events are EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP bits as epoll reported them. */
typedef void (*vsnd_loop_fd_fn)(void *data, int fd, uint32_t events);
/* @expirations: timer periods elapsed since the last call (>= 1). */
typedef void (*vsnd_loop_timer_fn)(void *data, uint64_t expirations);
typedef void (*vsnd_loop_signal_fn)(void *data, int signo);

/* NULL with errno on failure. */
struct vsnd_loop *vsnd_loop_new(void);

/* Frees every remaining source (without closing their fds). Accepts NULL. */
void vsnd_loop_destroy(struct vsnd_loop *l);

/* Watch @fd (not owned: the caller closes it after removing the source). */
struct vsnd_loop_source *vsnd_loop_add_fd(struct vsnd_loop *l, int fd, uint32_t events,
					  vsnd_loop_fd_fn fn, void *data);
int vsnd_loop_update_fd(struct vsnd_loop_source *s, uint32_t events);

/* A disarmed timer; arm it with vsnd_loop_timer_set(). */
struct vsnd_loop_source *vsnd_loop_add_timer(struct vsnd_loop *l, vsnd_loop_timer_fn fn, void *data);
/* First expiry @first_ns from now (0 disarms), then every @interval_ns (0 = once). */
int vsnd_loop_timer_set(struct vsnd_loop_source *s, uint64_t first_ns, uint64_t interval_ns);

/* Handle @signo through a signalfd (the signal is blocked in the calling thread). */
struct vsnd_loop_source *vsnd_loop_add_signal(struct vsnd_loop *l, int signo,
					      vsnd_loop_signal_fn fn, void *data);

/* Remove and free a source (deferred to the end of the iteration). Accepts NULL. */
void vsnd_loop_remove(struct vsnd_loop_source *s);

/* Wait up to @timeout_ms (-1 forever) and dispatch. Returns sources dispatched or -errno. */
int vsnd_loop_iterate(struct vsnd_loop *l, int timeout_ms);

/* Iterate until vsnd_loop_quit(); returns the code given to it. */
int vsnd_loop_run(struct vsnd_loop *l);
void vsnd_loop_quit(struct vsnd_loop *l, int code);
/* True once vsnd_loop_quit() was called (for callers that iterate themselves). */
bool vsnd_loop_quitting(const struct vsnd_loop *l);

#ifdef __cplusplus
}
#endif

#endif /* VSND_LOOP_H */
