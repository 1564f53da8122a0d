/* SPDX-License-Identifier: MIT */
/*
 * vsnd-ctl: microphone allow/deny and status of the running vsnd-qubes
 * daemons. Allow/deny goes through each daemon's control socket (what the
 * qrexec services qubes.AudioInputEnable/Disable do); status reads what the
 * daemons publish in the status store.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"
#include "vsnd/clock.h"

#define DEFAULT_CONTROL_PREFIX "/var/run/qubes/audio-control."
#define DEFAULT_STATUS_DIR "/run/vsnd"

static const char *status_dir = DEFAULT_STATUS_DIR;
static const char *control_prefix = DEFAULT_CONTROL_PREFIX;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vsnd-ctl [--status-dir DIR] [--control-prefix PREFIX] COMMAND\n"
		"  mic allow VMNAME    let VMNAME's microphone requests through\n"
		"  mic deny VMNAME     stop VMNAME's microphone at once\n"
		"  status [VMNAME]     what each running daemon does\n");
}

static int read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return (int)n;
}

static int mic(const char *vm, bool allow)
{
	if (!qubes_vm_name_valid(vm)) {
		fprintf(stderr, "vsnd-ctl: invalid VM name '%s'\n", vm);
		return 2;
	}
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	if ((size_t)snprintf(a.sun_path, sizeof(a.sun_path), "%s%s", control_prefix, vm) >= sizeof(a.sun_path)) {
		fprintf(stderr, "vsnd-ctl: VM name too long\n");
		return 1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "vsnd-ctl: no daemon for '%s' (%s: %s)\n", vm, a.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	const char *cmd = allow ? "audio-input 1\n" : "audio-input 0\n";
	ssize_t n = send(fd, cmd, strlen(cmd), MSG_NOSIGNAL);
	close(fd);
	if (n != (ssize_t)strlen(cmd)) {
		fprintf(stderr, "vsnd-ctl: sending to %s failed\n", a.sun_path);
		return 1;
	}
	/* The daemon publishes the decision once the stream change is done: wait for it. */
	char path[PATH_MAX], v[16];
	snprintf(path, sizeof(path), "%s/audio-input/%s", status_dir, vm);
	uint64_t end = vsnd_now_ns() + 2 * VSND_NSEC_PER_SEC;
	while (vsnd_now_ns() < end) {
		if (read_small(path, v, sizeof(v)) > 0 && v[0] == (allow ? '1' : '0')) {
			printf("%s: microphone %s\n", vm, allow ? "allowed" : "denied");
			return 0;
		}
		vsnd_sleep_ns(10 * VSND_NSEC_PER_MSEC);
	}
	printf("%s: microphone %s (sent; the daemon has not published it)\n", vm,
	       allow ? "allowed" : "denied");
	return 0;
}

/* Pick "key=value" out of a status line. */
static const char *field(const char *line, const char *key, char *out, size_t len)
{
	size_t k = strlen(key);
	for (const char *p = line; (p = strstr(p, key)); p += k) {
		if ((p == line || p[-1] == ' ') && p[k] == '=') {
			size_t n = strcspn(p + k + 1, " \n");
			snprintf(out, len, "%.*s", (int)n, p + k + 1);
			return out;
		}
	}
	snprintf(out, len, "?");
	return out;
}

static void print_one(const char *vm, const char *line)
{
	char a[32], b[32], c[32], d[32], e[32], f[32], g[32], h[32], i[32];
	printf("%-20s %-9s %-9s %-9s %-6s %-6s %12s %10s %10s %8s\n", vm,
	       field(line, "mic_requested", a, sizeof(a))[0] == '1' ? "requested" : "-",
	       field(line, "mic_allowed", b, sizeof(b))[0] == '1' ? "allowed" : "denied",
	       field(line, "mic_flowing", c, sizeof(c))[0] == '1' ? "streaming" : "-",
	       field(line, "corked", d, sizeof(d))[0] == '1' ? "corked" : "-",
	       field(line, "vm_connected", e, sizeof(e))[0] == '1' ? "up" : "down",
	       field(line, "frames_played", f, sizeof(f)), field(line, "mic_frames_dropped", g, sizeof(g)),
	       field(line, "frames_discarded", h, sizeof(h)), field(line, "latency_ms", i, sizeof(i)));
}

static int status(const char *only)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/vsnd-status", status_dir);
	DIR *dh = opendir(dir);
	if (!dh) {
		fprintf(stderr, "vsnd-ctl: no daemon has published status in %s\n", dir);
		return only ? 1 : 0;
	}
	printf("%-20s %-9s %-9s %-9s %-6s %-6s %12s %10s %10s %8s\n", "VM", "mic-req", "mic", "mic-flow",
	       "play", "vm", "played", "mic-drop", "discarded", "lat-ms");
	int found = 0;
	struct dirent *de;
	while ((de = readdir(dh))) {
		if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp"))
			continue;
		if (only && strcmp(only, de->d_name) != 0)
			continue;
		char path[PATH_MAX * 2], line[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (read_small(path, line, sizeof(line)) > 0) {
			print_one(de->d_name, line);
			found++;
		}
	}
	closedir(dh);
	if (only && !found) {
		fprintf(stderr, "vsnd-ctl: no running daemon for '%s'\n", only);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "status-dir", required_argument, NULL, 's' },
		{ "control-prefix", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 's': status_dir = optarg; break;
		case 'c': control_prefix = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	int n = argc - optind;
	char **a = argv + optind;
	if (n == 3 && strcmp(a[0], "mic") == 0 && (strcmp(a[1], "allow") == 0 || strcmp(a[1], "deny") == 0))
		return mic(a[2], strcmp(a[1], "allow") == 0);
	if ((n == 1 || n == 2) && strcmp(a[0], "status") == 0)
		return status(n == 2 ? a[1] : NULL);
	usage(stderr);
	return 2;
}
