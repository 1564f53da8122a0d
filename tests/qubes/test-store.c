/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "../unit/check.h"
#include "store-check.h"

static char root[] = "/tmp/vsnd-test-store.XXXXXX";
static char seen_key[256], seen_value[256];
static int seen, seen_removed;

static void on_watch(void *data, const char *key, const char *value)
{
	snprintf(seen_key, sizeof(seen_key), "%s", key);
	snprintf(seen_value, sizeof(seen_value), "%s", value ? value : "");
	seen++;
	if (!value)
		seen_removed++;
}

static void wait_events(struct qubes_store *st, int want)
{
	for (int i = 0; i < 100 && seen < want; i++) {
		struct pollfd pfd = { .fd = qubes_store_fd(st), .events = POLLIN };
		poll(&pfd, 1, 20);
		CHECK(qubes_store_dispatch(st) >= 0);
	}
	CHECK_EQ(seen, want);
}

static void test_keys(void)
{
	CHECK(qubes_store_key_valid("/audio-input/work"));
	CHECK(qubes_store_key_valid("/audio-input-config/sys-usb.1_x"));
	CHECK(!qubes_store_key_valid("audio-input/work"));
	CHECK(!qubes_store_key_valid("/audio-input/../etc/passwd"));
	CHECK(!qubes_store_key_valid("/audio-input/."));
	CHECK(!qubes_store_key_valid("/a//b"));
	CHECK(!qubes_store_key_valid("/a/"));
	CHECK(!qubes_store_key_valid("/a/b c"));
	CHECK(!qubes_store_key_valid("/"));
	CHECK(!qubes_store_key_valid(NULL));
}

static void test_write_read_remove_watch(void)
{
	struct qubes_store *st = qubes_store_dir_new(root, on_watch, NULL);
	CHECK(st != NULL);
	store_check_round_trip(st);

	/* Watch a key whose directory does not exist yet. */
	CHECK_EQ(qubes_store_watch(st, "/audio-input-config/work"), 0);
	CHECK_EQ(qubes_store_write(st, "/audio-input-config/other", "1"), 0); /* not watched */
	CHECK_EQ(qubes_store_write(st, "/audio-input-config/work", "1"), 0);
	wait_events(st, 1);
	CHECK_STR(seen_key, "/audio-input-config/work");
	CHECK_STR(seen_value, "1");

	/* A plain `echo 0 > file` (no rename) is seen too, with its newline. */
	char path[512];
	snprintf(path, sizeof(path), "%s/audio-input-config/work", root);
	FILE *f = fopen(path, "w");
	fputs("0\n", f);
	fclose(f);
	wait_events(st, 2);
	CHECK_STR(seen_value, "0\n");

	CHECK_EQ(qubes_store_remove(st, "/audio-input-config/work"), 0);
	wait_events(st, 3);
	CHECK_EQ(seen_removed, 1);
	qubes_store_destroy(st);
}

int main(void)
{
	CHECK(mkdtemp(root) != NULL);
	RUN(test_keys);
	RUN(test_write_read_remove_watch);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK_EQ(system(cmd), 0);
	return 0;
}
