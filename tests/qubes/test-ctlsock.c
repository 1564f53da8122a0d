/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../unit/check.h"
#include "ctlsock.h"
#include "vsnd/clock.h"

static char dir[] = "/tmp/vsnd-test-ctl.XXXXXX";
static char path[256];
static int allows, denies;

static void on_cmd(void *data, bool allow)
{
	if (allow)
		allows++;
	else
		denies++;
}

static int client(const void *msg, size_t len, bool close_write)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK(fd >= 0);
	CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (len)
		CHECK_EQ(send(fd, msg, len, MSG_NOSIGNAL), (long long)len);
	if (close_write) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Run the socket's dispatch until the command counters reach a total or @ms pass. */
static void pump(struct qubes_ctlsock *s, int total, int ms)
{
	uint64_t end = vsnd_now_ns() + (uint64_t)ms * VSND_NSEC_PER_MSEC;
	while (allows + denies < total && vsnd_now_ns() < end) {
		struct pollfd pfd = { .fd = qubes_ctlsock_fd(s), .events = POLLIN };
		poll(&pfd, 1, 10);
		CHECK_EQ(qubes_ctlsock_dispatch(s), 0);
	}
}

static void test_parse(void)
{
	CHECK_EQ(qubes_ctlsock_parse("audio-input 1\n", 14), 1);
	CHECK_EQ(qubes_ctlsock_parse("audio-input 0\n", 14), 0);
	CHECK_EQ(qubes_ctlsock_parse("audio-input 1", 13), -EINVAL);
	CHECK_EQ(qubes_ctlsock_parse("audio-input 10\n", 15), -EINVAL);
	CHECK_EQ(qubes_ctlsock_parse("audio-input 2\n", 14), -EINVAL);
	CHECK_EQ(qubes_ctlsock_parse("audio-input 1\r", 14), -EINVAL);
	CHECK_EQ(qubes_ctlsock_parse("Audio-input 1\n", 14), -EINVAL);
	CHECK_EQ(qubes_ctlsock_parse("", 0), -EINVAL);
}

static void test_commands(void)
{
	struct qubes_ctlsock *s = qubes_ctlsock_new(path, on_cmd, NULL);
	CHECK(s != NULL);
	struct stat st;
	CHECK_EQ(stat(path, &st), 0);
	CHECK(S_ISSOCK(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0660);

	client("audio-input 1\n", 14, true);
	pump(s, 1, 2000);
	CHECK_EQ(allows, 1);
	client("audio-input 0\n", 14, true);
	pump(s, 2, 2000);
	CHECK_EQ(denies, 1);

	/* Split across two sends: still one valid command. */
	int fd = client("audio-in", 8, false);
	pump(s, 3, 50);
	CHECK_EQ(send(fd, "put 1\n", 6, MSG_NOSIGNAL), 6);
	pump(s, 3, 2000);
	CHECK_EQ(allows, 2);
	close(fd);

	/* Rejected: prefix matches, trailing bytes, no newline, junk, too long. */
	static const char *const bad[] = {
		"audio-input 1\nextra", "audio-input 1x\n", "audio-input 1", "audio-input\n",
		"audio-input 11111111111\n", "\x00\x01\x02\n", "audio-input 0 \n",
	};
	static const size_t bad_len[] = { 19, 15, 13, 12, 24, 4, 15 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		client(bad[i], bad_len[i], true);
	pump(s, 100, 300);
	CHECK_EQ(allows, 2);
	CHECK_EQ(denies, 1);

	/* A client that connects and says nothing is dropped after 2 s, and meanwhile others are served. */
	int idle = client(NULL, 0, false);
	client("audio-input 0\n", 14, true);
	pump(s, 4, 2000);
	CHECK_EQ(denies, 2);
	pump(s, 100, 2500);
	char c;
	CHECK_EQ(recv(idle, &c, 1, 0), 0); /* the daemon closed it */
	close(idle);

	/* A live socket is not stolen by a second daemon. */
	errno = 0;
	CHECK(qubes_ctlsock_new(path, on_cmd, NULL) == NULL);
	CHECK_EQ(errno, EADDRINUSE);
	qubes_ctlsock_destroy(s);
	CHECK_EQ(access(path, F_OK), -1);
}

static void test_stale_socket_replaced(void)
{
	/* A socket file left by a dead daemon: bound, never listened on, closed. */
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	memcpy(a.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	close(fd);
	struct qubes_ctlsock *s = qubes_ctlsock_new(path, on_cmd, NULL);
	CHECK(s != NULL);
	client("audio-input 1\n", 14, true);
	int before = allows;
	pump(s, allows + denies + 1, 2000);
	CHECK_EQ(allows, before + 1);
	qubes_ctlsock_destroy(s);

	/* A regular file is never replaced. */
	FILE *f = fopen(path, "w");
	fclose(f);
	CHECK(qubes_ctlsock_new(path, on_cmd, NULL) == NULL);
	CHECK_EQ(errno, EEXIST);
	unlink(path);
}

int main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/audio-control.work", dir);
	RUN(test_parse);
	RUN(test_commands);
	RUN(test_stale_socket_replaced);
	rmdir(dir);
	return 0;
}
