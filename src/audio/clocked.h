/* SPDX-License-Identifier: MIT */
/*
 * A stream thread clocked like a sound card: every period (timerfd pacer) it
 * moves one period between the ring and a device callback. Unpaced
 * (--no-pacing), it moves data as soon as the other side allows: playback
 * consumes whatever is queued, capture produces while the ring has room.
 * Used by the null and wav backends.
 */
#ifndef VSND_AUDIO_CLOCKED_H
#define VSND_AUDIO_CLOCKED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "audio-private.h"
#include "vsnd/pacer.h"

/*
 * Device side, called on the stream thread. Playback: consume @frames frames
 * of @buf. Capture: fill @buf with up to @frames frames and return how many
 * (0 = end of input). Return -errno to put the stream in the ERROR state.
 */
typedef int (*vsnd_clocked_process_fn)(void *data, void *buf, uint32_t frames);

struct vsnd_clocked {
	struct vsnd_audio_stream *stream;
	vsnd_clocked_process_fn process;
	void *data;
	bool paced;
	struct vsnd_pacer pacer;
	int ctl_fd; /* eventfd: start/stop/quit requests */
	void *buf;  /* one period */
	pthread_t thread;
	/* Held by the thread while it moves data, so stop() can wait for it:
	 * once stop() returns the thread no longer touches the ring. */
	pthread_mutex_t lock;
	bool thread_started;
	_Atomic bool running;
	_Atomic bool quit;
};

/* Set up and start the (paused) thread. Returns 0 or -errno. */
int vsnd_clocked_init(struct vsnd_clocked *c, struct vsnd_audio_stream *s, bool paced,
		      vsnd_clocked_process_fn process, void *data);

/* Stop and join the thread, free everything. Safe after a failed init. */
void vsnd_clocked_finish(struct vsnd_clocked *c);

int vsnd_clocked_start(struct vsnd_clocked *c);
/* Synchronous: when it returns, the thread has left the ring alone. */
int vsnd_clocked_stop(struct vsnd_clocked *c);

#endif /* VSND_AUDIO_CLOCKED_H */
