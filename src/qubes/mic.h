/* SPDX-License-Identifier: MIT */
/*
 * Microphone authorization: samples flow to the VM only while the VM asked
 * for them (SOURCE_START) AND the user allowed it (socket, D-Bus or QubesDB).
 * Input is off by default. Every change of either input re-evaluates the one
 * output, the flow, and the status is published only after the flow change
 * completed, so a status reader never sees "allowed" before it is true
 * (and never "denied" while samples still flow).
 */
#ifndef VSND_QUBES_MIC_H
#define VSND_QUBES_MIC_H

#include <stdbool.h>

struct qubes_mic_state {
	bool requested; /* by the VM */
	bool allowed;   /* by the user */
	bool flowing;   /* the host record stream exists and feeds the VM */
};

struct qubes_mic_ops {
	/*
	 * Start (on = true) or stop the microphone flow. Return 0 when done, or
	 * -errno (on: flowing stays false and the next event retries; off must
	 * not fail: the daemon drops the record stream unconditionally).
	 */
	int (*set_flow)(void *data, bool on);
	/* The state changed (after set_flow completed); publish it. */
	void (*changed)(void *data, const struct qubes_mic_state *st, const char *why);
};

struct qubes_mic {
	struct qubes_mic_state st;
	const struct qubes_mic_ops *ops;
	void *data;
};

void qubes_mic_init(struct qubes_mic *m, const struct qubes_mic_ops *ops, void *data);

/* The VM's request changed (SOURCE_START / SOURCE_STOP, or the VM went away). */
int qubes_mic_set_requested(struct qubes_mic *m, bool requested);

/* The user's decision changed; @source names the surface ("socket", "dbus", "qubesdb"). */
int qubes_mic_set_allowed(struct qubes_mic *m, bool allowed, const char *source);

/* Re-evaluate, e.g. after the sound server came back (retries a failed start). */
int qubes_mic_update(struct qubes_mic *m, const char *why);

#endif /* VSND_QUBES_MIC_H */
