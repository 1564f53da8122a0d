/* SPDX-License-Identifier: MIT */
/* What every status store (store.h) must do with keys, shared by the tests of each. */
#ifndef VSND_TEST_STORE_CHECK_H
#define VSND_TEST_STORE_CHECK_H

#include <errno.h>

#include "../unit/check.h"
#include "store.h"

/* Absent, written, rewritten, cut to the reader's buffer, refused, removed (twice). */
static inline void store_check_round_trip(struct qubes_store *st)
{
	char buf[64];
	CHECK_EQ(qubes_store_read(st, "/audio-input/work", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(qubes_store_write(st, "/audio-input/work", "1"), 0);
	CHECK_EQ(qubes_store_read(st, "/audio-input/work", buf, sizeof(buf)), 1);
	CHECK_STR(buf, "1");
	CHECK_EQ(qubes_store_write(st, "/audio-input/work", "0"), 0);
	CHECK_EQ(qubes_store_read(st, "/audio-input/work", buf, sizeof(buf)), 1);
	CHECK_STR(buf, "0");
	/* A value longer than the buffer is cut, NUL-terminated. */
	CHECK_EQ(qubes_store_write(st, "/vsnd-status/work", "frames=123456789"), 0);
	CHECK_EQ(qubes_store_read(st, "/vsnd-status/work", buf, 7), 6);
	CHECK_STR(buf, "frames");
	CHECK_EQ(qubes_store_write(st, "/../escape", "1"), -EINVAL);
	CHECK_EQ(qubes_store_remove(st, "/audio-input/work"), 0);
	CHECK_EQ(qubes_store_read(st, "/audio-input/work", buf, sizeof(buf)), -ENOENT);
	CHECK_EQ(qubes_store_remove(st, "/audio-input/work"), 0); /* absent is fine */
}

#endif
