/* SPDX-License-Identifier: MIT */
/*
 * The D-Bus control surface against a REAL dbus-daemon that the test starts
 * (private config, private socket) and stops: busctl sets and reads
 * RecAllowed, a second connection sees RecAllowedChanged(b, s), and a change
 * from another surface is visible over D-Bus.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "../unit/check.h"
#include "dbus.h"

static char dir[] = "/tmp/vsnd-test-dbus.XXXXXX";
static char address[512];
static pid_t daemon_pid;
static struct qubes_dbus *qd;
static int stop_fd;
static atomic_int cmd_allow = -1, cmd_count;
static atomic_int want_set = -1; /* main -> service thread: call qubes_dbus_set_allowed */

static void on_allow(void *data, bool allow)
{
	atomic_store(&cmd_allow, allow);
	atomic_fetch_add(&cmd_count, 1);
	qubes_dbus_set_allowed(qd, allow); /* as the mic policy does */
}

static void *service(void *arg)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = qubes_dbus_fd(qd), .events = (short)qubes_dbus_events(qd) },
			{ .fd = stop_fd, .events = POLLIN },
		};
		poll(pfd, 2, 20);
		if (pfd[1].revents)
			return NULL;
		int w = atomic_exchange(&want_set, -1);
		if (w >= 0)
			qubes_dbus_set_allowed(qd, w);
		CHECK(qubes_dbus_dispatch(qd) >= 0);
	}
}

static void start_bus(void)
{
	char conf[600], sock[300];
	snprintf(sock, sizeof(sock), "%s/system_bus_socket", dir);
	snprintf(conf, sizeof(conf), "%s/bus.conf", dir);
	FILE *f = fopen(conf, "w");
	fprintf(f, "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
		   " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
		   "<busconfig><listen>unix:path=%s</listen><auth>EXTERNAL</auth>\n"
		   "<policy context=\"default\"><allow user=\"*\"/><allow own=\"*\"/>\n"
		   "<allow send_destination=\"*\"/><allow receive_sender=\"*\"/></policy></busconfig>\n",
		sock);
	fclose(f);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	daemon_pid = fork();
	if (daemon_pid == 0) {
		char fdarg[32];
		snprintf(fdarg, sizeof(fdarg), "--print-address=%d", p[1]);
		close(p[0]);
		execlp("dbus-daemon", "dbus-daemon", "--nofork", "--nopidfile", fdarg,
		       "--config-file", conf, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	ssize_t n = read(p[0], address, sizeof(address) - 1);
	close(p[0]);
	CHECK(n > 0);
	address[n] = '\0';
	if (address[n - 1] == '\n')
		address[n - 1] = '\0';
	setenv("DBUS_SYSTEM_BUS_ADDRESS", address, 1);
}

static int busctl(const char *args, char *out, size_t len)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "busctl --address='%s' %s 2>&1", address, args);
	FILE *p = popen(cmd, "r");
	size_t n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	return pclose(p);
}

static int signals_seen, last_signal_value = -1;
static char last_signal_vm[64];

static int on_signal(sd_bus_message *m, void *data, sd_bus_error *err)
{
	int b;
	const char *vm;
	if (sd_bus_message_read(m, "bs", &b, &vm) >= 0) {
		signals_seen++;
		last_signal_value = b;
		snprintf(last_signal_vm, sizeof(last_signal_vm), "%s", vm);
	}
	return 0;
}

static void wait_signals(sd_bus *watcher, int want)
{
	for (int i = 0; i < 200 && signals_seen < want; i++) {
		while (sd_bus_process(watcher, NULL) > 0)
			;
		sd_bus_wait(watcher, 10000);
	}
	CHECK_EQ(signals_seen, want);
}

int main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	start_bus();

	/* An invalid VM name for D-Bus is refused cleanly. */
	CHECK(qubes_dbus_new("9bad", on_allow, NULL) == NULL);
	CHECK_EQ(errno, EINVAL);

	qd = qubes_dbus_new("work-vm", on_allow, NULL);
	CHECK(qd != NULL);
	/* A second daemon for the same VM cannot take the name. */
	struct qubes_dbus *dup = qubes_dbus_new("work-vm", on_allow, NULL);
	CHECK(dup == NULL);

	sd_bus *watcher;
	CHECK(sd_bus_open_system(&watcher) >= 0);
	CHECK(sd_bus_match_signal(watcher, NULL, "org.qubesos.Audio.work-vm", "/org/qubesos/audio",
				  "org.qubesos.Audio", "RecAllowedChanged", on_signal, NULL) >= 0);
	stop_fd = eventfd(0, 0);
	pthread_t th;
	CHECK_EQ(pthread_create(&th, NULL, service, NULL), 0);

	char out[512];
	CHECK_EQ(busctl("get-property org.qubesos.Audio.work-vm /org/qubesos/audio org.qubesos.Audio RecAllowed", out, sizeof(out)), 0);
	CHECK(strstr(out, "b false") != NULL);

	CHECK_EQ(busctl("set-property org.qubesos.Audio.work-vm /org/qubesos/audio org.qubesos.Audio RecAllowed b true", out, sizeof(out)), 0);
	CHECK_EQ(atomic_load(&cmd_count), 1);
	CHECK_EQ(atomic_load(&cmd_allow), 1);
	wait_signals(watcher, 1);
	CHECK_EQ(last_signal_value, 1);
	CHECK_STR(last_signal_vm, "work-vm");
	CHECK_EQ(busctl("get-property org.qubesos.Audio.work-vm /org/qubesos/audio org.qubesos.Audio RecAllowed", out, sizeof(out)), 0);
	CHECK(strstr(out, "b true") != NULL);

	/* A wrong type is refused by the bus library, the state is unchanged. */
	CHECK(busctl("set-property org.qubesos.Audio.work-vm /org/qubesos/audio org.qubesos.Audio RecAllowed s yes", out, sizeof(out)) != 0);
	CHECK_EQ(atomic_load(&cmd_count), 1);

	/* Denied from another surface (socket, QubesDB): D-Bus shows it and signals it. */
	atomic_store(&want_set, 0);
	wait_signals(watcher, 2);
	CHECK_EQ(last_signal_value, 0);
	CHECK_EQ(busctl("get-property org.qubesos.Audio.work-vm /org/qubesos/audio org.qubesos.Audio RecAllowed", out, sizeof(out)), 0);
	CHECK(strstr(out, "b false") != NULL);

	uint64_t one = 1;
	CHECK_EQ(write(stop_fd, &one, 8), 8);
	pthread_join(th, NULL);
	qubes_dbus_destroy(qd);
	sd_bus_flush_close_unref(watcher);
	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, NULL, 0);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK_EQ(system(cmd), 0);
	return 0;
}
