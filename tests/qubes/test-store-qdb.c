/* SPDX-License-Identifier: MIT */
/*
 * The QubesDB status store (store-qdb.c) against the QubesDB test double:
 *   test-qubes-store-qdb PATH_OF_fake-qubesdb
 * Keys round-trip; keys QubesDB cannot hold are refused; a watched key
 * changed by another client is reported -- also when the change arrives
 * while the store is busy writing its own key (the library then queues the
 * event where poll cannot see it); a removed key is reported as NULL; the
 * daemon going away is an error of dispatch, not a hang, and a restarted
 * one is watched again (test_restart).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <qubesdb-client.h>

#include "../unit/check.h"
#include "store-check.h"

static char root[] = "/tmp/vsnd-test-store-qdb.XXXXXX";
static char sock[128];
static char seen_key[256], seen_value[256];
static int seen, seen_removed;

static void on_watch(void *data, const char *key, const char *value)
{
	(void)data;
	snprintf(seen_key, sizeof(seen_key), "%s", key);
	snprintf(seen_value, sizeof(seen_value), "%s", value ? value : "");
	seen++;
	if (!value)
		seen_removed++;
}

static pid_t start_daemon(const char *exe)
{
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* a failed check exits: never leave it behind */
		execl(exe, exe, sock, (char *)NULL);
		_exit(127);
	}
	struct stat stbuf;
	for (int i = 0; i < 500 && stat(sock, &stbuf) < 0; i++)
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	CHECK(S_ISSOCK(stbuf.st_mode));
	return pid;
}

/* Wait (at most 2 s) for the store's fd and dispatch one event. */
static int dispatch_one(struct qubes_store *st)
{
	struct pollfd pfd = { .fd = qubes_store_fd(st), .events = POLLIN };
	CHECK(pfd.fd >= 0);
	CHECK_EQ(poll(&pfd, 1, 2000), 1);
	return qubes_store_dispatch(st);
}

static void test_keys(struct qubes_store *st)
{
	store_check_round_trip(st);
	/* What QubesDB cannot hold is refused as invalid, not as an I/O failure. */
	CHECK_EQ(qubes_store_write(st, "/audio-input-request/a-vm-name-much-longer-than-qubes-ever-allows", "1"),
		 -EINVAL);
	CHECK_EQ(qubes_store_watch(st, "no-slash"), -EINVAL);
}

static void test_watch(struct qubes_store *st)
{
	CHECK_EQ(qubes_store_watch(st, "/audio-input-config/work"), 0);
	qdb_handle_t user = qdb_open(NULL);
	CHECK(user != NULL);
	CHECK(qdb_write(user, "/audio-input-config/other", "1", 1)); /* not watched */
	CHECK(qdb_write(user, "/audio-input-config/work", "1", 1));
	CHECK_EQ(dispatch_one(st), 1);
	CHECK_EQ(seen, 1);
	CHECK_STR(seen_key, "/audio-input-config/work");
	CHECK_STR(seen_value, "1");

	/*
	 * The user's change is in the store's socket when it writes its own
	 * key (the daemon sends events before it answers the writer): it must
	 * still wake the store's poll.
	 */
	CHECK(qdb_write(user, "/audio-input-config/work", "0", 1));
	CHECK_EQ(qubes_store_write(st, "/audio-input/work", "0"), 0);
	char buf[8];
	CHECK_EQ(qubes_store_read(st, "/audio-input/work", buf, sizeof(buf)), 1);
	CHECK_EQ(dispatch_one(st), 1);
	CHECK_EQ(seen, 2);
	CHECK_STR(seen_value, "0");

	CHECK(qdb_rm(user, "/audio-input-config/work"));
	CHECK_EQ(dispatch_one(st), 1);
	CHECK_EQ(seen, 3);
	CHECK_EQ(seen_removed, 1);
	/* Nothing else pending. */
	struct pollfd pfd = { .fd = qubes_store_fd(st), .events = POLLIN };
	CHECK_EQ(poll(&pfd, 1, 50), 0);
	qdb_close(user);
}

static void stop_daemon(pid_t pid)
{
	CHECK_EQ(kill(pid, SIGTERM), 0);
	CHECK_EQ(waitpid(pid, NULL, 0), pid);
}

static void user_write(const char *key, const char *value)
{
	qdb_handle_t user = qdb_open(NULL);
	CHECK(user != NULL);
	CHECK(qdb_write(user, (char *)key, (char *)value, (unsigned int)strlen(value)));
	qdb_close(user);
}

/*
 * QubesDB restarts (empty, as a restarted qubesdb-daemon is): the watch is
 * lost, then restored with the values missed meanwhile -- but an unchanged
 * value is not replayed (it could undo a decision made through another
 * surface); commands work again on a new connection.
 */
static void test_restart(struct qubes_store *st, const char *exe, pid_t *pid)
{
	const char *k = "/audio-input-config/work";
	user_write(k, "1");
	CHECK_EQ(dispatch_one(st), 1);
	CHECK_STR(seen_value, "1");

	stop_daemon(*pid);
	CHECK(dispatch_one(st) < 0); /* the watch fd reads end-of-file */
	CHECK(qubes_store_dispatch(st) < 0); /* and stays failed, without blocking */
	CHECK(qubes_store_restore(st) < 0);  /* still away */
	CHECK_EQ(qubes_store_write(st, "/audio-input/work", "1"), -EIO);
	char buf[8];
	CHECK_EQ(qubes_store_read(st, "/audio-input/work", buf, sizeof(buf)), -EIO);

	*pid = start_daemon(exe);
	user_write(k, "1"); /* the value the store last saw */
	int before = seen;
	CHECK_EQ(qubes_store_restore(st), 0);
	CHECK_EQ(seen, before);
	CHECK_EQ(qubes_store_restore(st), 0); /* not lost: nothing to do */
	CHECK_EQ(seen, before);
	user_write(k, "0");
	CHECK_EQ(dispatch_one(st), 1);
	CHECK_EQ(seen, before + 1);
	CHECK_STR(seen_value, "0");
	CHECK_EQ(qubes_store_write(st, "/audio-input/work", "1"), 0);
	CHECK_EQ(qubes_store_read(st, "/audio-input/work", buf, sizeof(buf)), 1);
	CHECK_STR(buf, "1");

	/* Away and back empty: the decision's removal is what changed. */
	stop_daemon(*pid);
	CHECK(dispatch_one(st) < 0);
	*pid = start_daemon(exe);
	int removed = seen_removed;
	CHECK_EQ(qubes_store_restore(st), 0);
	CHECK_EQ(seen_removed, removed + 1);
	CHECK_STR(seen_key, k);
	user_write(k, "1");
	CHECK_EQ(dispatch_one(st), 1);
	CHECK_STR(seen_value, "1");
}

int main(int argc, char **argv)
{
	CHECK_EQ(argc, 2);
	/* SIGPIPE as PipeWire leaves it: a write to a QubesDB that went away must not kill us. */
	signal(SIGPIPE, SIG_DFL);
	CHECK(mkdtemp(root) != NULL);
	snprintf(sock, sizeof(sock), "%s/qubesdb.sock", root);
	setenv("VSND_FAKE_QUBESDB", sock, 1);

	errno = 0;
	CHECK(qubes_store_qdb_new(on_watch, NULL) == NULL); /* no QubesDB yet */
	CHECK(errno != 0);

	pid_t pid = start_daemon(argv[1]);
	struct qubes_store *st = qubes_store_qdb_new(on_watch, NULL);
	CHECK(st != NULL);
	CHECK_STR(st->ops->name, "qubesdb");
	test_keys(st);
	test_watch(st);

	test_restart(st, argv[1], &pid);
	stop_daemon(pid);
	qubes_store_destroy(st);
	CHECK_EQ(rmdir(root), 0);
	printf("ok\n");
	return 0;
}
