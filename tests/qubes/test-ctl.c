/* SPDX-License-Identifier: MIT */
#include "../unit/check.h"
#include "proto.h"

struct rec {
	enum qubes_ctl_event ev[64];
	uint32_t word[64];
	int n;
};

static void on_word(void *data, enum qubes_ctl_event ev, uint32_t word)
{
	struct rec *r = data;
	CHECK(r->n < 64);
	r->ev[r->n] = ev;
	r->word[r->n++] = word;
}

static void test_words_in_any_fragmentation(void)
{
	uint32_t words[] = { QUBES_INITIAL_STATE, QUBES_SOURCE_START, QUBES_SINK_UNCORK,
			     0xdeadbeef, QUBES_SINK_CORK, QUBES_SOURCE_STOP };
	const uint8_t *bytes = (const uint8_t *)words;
	/* Every split size from 1 to 24 bytes gives the same six words, in order. */
	for (size_t chunk = 1; chunk <= sizeof(words); chunk++) {
		struct qubes_ctl_decoder d;
		struct rec r = { .n = 0 };
		qubes_ctl_decoder_reset(&d);
		for (size_t off = 0; off < sizeof(words); off += chunk) {
			size_t len = sizeof(words) - off < chunk ? sizeof(words) - off : chunk;
			qubes_ctl_decode(&d, bytes + off, len, on_word, &r);
		}
		CHECK_EQ(r.n, 6);
		CHECK_EQ(r.ev[0], QUBES_CTL_INITIAL_STATE);
		CHECK_EQ(r.ev[1], QUBES_CTL_SOURCE_START);
		CHECK_EQ(r.ev[2], QUBES_CTL_SINK_UNCORK);
		CHECK_EQ(r.ev[3], QUBES_CTL_UNKNOWN);
		CHECK_EQ(r.word[3], 0xdeadbeef);
		CHECK_EQ(r.ev[4], QUBES_CTL_SINK_CORK);
		CHECK_EQ(r.ev[5], QUBES_CTL_SOURCE_STOP);
		CHECK_EQ(d.words, 6);
		CHECK_EQ(d.unknown, 1);
		CHECK_EQ(d.have, 0);
	}
}

static void test_partial_word_kept_and_reset(void)
{
	struct qubes_ctl_decoder d;
	struct rec r = { .n = 0 };
	uint32_t w = QUBES_SOURCE_START;
	qubes_ctl_decoder_reset(&d);
	CHECK_EQ(qubes_ctl_decode(&d, &w, 3, on_word, &r), 0);
	CHECK_EQ(d.have, 3);
	/* The VM disconnected mid-word: the next connection starts aligned. */
	qubes_ctl_decoder_reset(&d);
	CHECK_EQ(qubes_ctl_decode(&d, &w, 4, on_word, &r), 1);
	CHECK_EQ(r.ev[0], QUBES_CTL_SOURCE_START);
	CHECK_EQ(qubes_ctl_decode(&d, &w, 0, on_word, &r), 0);
}

static void test_names(void)
{
	CHECK_STR(qubes_ctl_event_name(QUBES_CTL_SINK_CORK), "sink-cork");
	CHECK_STR(qubes_ctl_event_name((enum qubes_ctl_event)99), "invalid");
	CHECK_EQ(qubes_ctl_classify(0x00010002), QUBES_CTL_UNKNOWN);
}

int main(void)
{
	RUN(test_words_in_any_fragmentation);
	RUN(test_partial_word_kept_and_reset);
	RUN(test_names);
	return 0;
}
