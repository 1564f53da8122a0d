/* SPDX-License-Identifier: MIT */
/*
 * The privacy matrix: for every sequence of up to 6 events from {VM requests,
 * VM stops, user allows, user denies} the flow is on exactly when the last
 * request and the last decision are both "yes", the status published after
 * each event says so, and a failed start never reports a flow.
 */
#include <errno.h>

#include "../unit/check.h"
#include "mic.h"

struct sim {
	bool flow;       /* what the "daemon" really does */
	int set_calls;
	bool fail_next_start;
	struct qubes_mic_state published;
	int changed_calls;
};

static int set_flow(void *data, bool on)
{
	struct sim *s = data;
	s->set_calls++;
	if (on && s->fail_next_start) {
		s->fail_next_start = false;
		return -EIO;
	}
	s->flow = on;
	return 0;
}

static void changed(void *data, const struct qubes_mic_state *st, const char *why)
{
	struct sim *s = data;
	/* Published state must match reality at the moment of publishing. */
	CHECK_EQ(st->flowing, s->flow);
	s->published = *st;
	s->changed_calls++;
}

static const struct qubes_mic_ops ops = { .set_flow = set_flow, .changed = changed };

enum ev { REQ, STOP, ALLOW, DENY, N_EV };

static void test_all_orders(void)
{
	int sequences = 0;
	for (int len = 1; len <= 6; len++) {
		int total = 1;
		for (int i = 0; i < len; i++)
			total *= N_EV;
		for (int code = 0; code < total; code++) {
			struct sim s = { 0 };
			struct qubes_mic m;
			qubes_mic_init(&m, &ops, &s);
			bool req = false, allow = false;
			for (int i = 0, c = code; i < len; i++, c /= N_EV) {
				switch (c % N_EV) {
				case REQ: req = true; CHECK_EQ(qubes_mic_set_requested(&m, true), 0); break;
				case STOP: req = false; CHECK_EQ(qubes_mic_set_requested(&m, false), 0); break;
				case ALLOW: allow = true; CHECK_EQ(qubes_mic_set_allowed(&m, true, "socket"), 0); break;
				case DENY: allow = false; CHECK_EQ(qubes_mic_set_allowed(&m, false, "dbus"), 0); break;
				}
				CHECK_EQ(s.flow, req && allow);
				CHECK_EQ(m.st.flowing, req && allow);
				if (s.changed_calls) {
					CHECK_EQ(s.published.requested, req);
					CHECK_EQ(s.published.allowed, allow);
				}
			}
			sequences++;
		}
	}
	fprintf(stderr, "%d event sequences checked\n", sequences);
}

static void test_failed_start_is_not_reported(void)
{
	struct sim s = { .fail_next_start = true };
	struct qubes_mic m;
	qubes_mic_init(&m, &ops, &s);
	CHECK_EQ(qubes_mic_set_allowed(&m, true, "socket"), 0);
	CHECK_EQ(qubes_mic_set_requested(&m, true), -EIO);
	CHECK(!s.flow);
	CHECK(!m.st.flowing);
	CHECK(!s.published.flowing);
	/* The sound server is back: re-evaluating starts the flow. */
	CHECK_EQ(qubes_mic_update(&m, "server-back"), 0);
	CHECK(s.flow && m.st.flowing && s.published.flowing);
	/* Repeating the same decision does nothing. */
	int calls = s.set_calls;
	CHECK_EQ(qubes_mic_set_allowed(&m, true, "qubesdb"), 0);
	CHECK_EQ(s.set_calls, calls);
}

int main(void)
{
	RUN(test_all_orders);
	RUN(test_failed_start_is_not_reported);
	return 0;
}
