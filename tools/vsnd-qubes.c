/* SPDX-License-Identifier: MIT */
/*
 * vsnd-qubes: the host / audio-VM daemon of the Qubes audio protocol for one
 * VM, a drop-in for pacat-simple-vchan (same options, same argument checks,
 * same pidfile), plus the common vsnd audio options.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "daemon.h"
#include "proto.h"
#include "vsnd/audio-opts.h"
#include "vsnd/log.h"
#include "vsnd/loop.h"
#include "vsnd/parse.h"

VSND_LOG_TOPIC(log_main, "vsnd-qubes");

#define DEFAULT_CONTROL_PREFIX "/var/run/qubes/audio-control."
#define DEFAULT_PIDFILE_DIR "/var/run/qubes"
#define DEFAULT_STATUS_DIR "/run/vsnd"

enum {
	OPT_STATUS_DIR = 0x2000,
	OPT_NO_STATUS,
	OPT_CONTROL_PREFIX,
	OPT_NO_CONTROL,
	OPT_NO_DBUS,
	OPT_PIDFILE_DIR,
	OPT_PERIOD,
	OPT_FILL,
	OPT_QUBESDB,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vsnd-qubes [-l] [-n|-b] [-v]... [-t TLENGTH] [-V VOLUME|mute] [OPTIONS] [--] DOMID DOMNAME\n"
		"Host side of the Qubes audio protocol for one VM (replaces pacat-simple-vchan).\n\n"
		"  -l                 low latency: 2.9 ms periods, 1024-frame (23 ms) ring\n"
		"  -t TLENGTH         ring size in bytes (implies -l)\n"
		"  -n, -b             accepted for compatibility: vsnd never blocks on a VM\n"
		"  -V VOLUME|mute     initial volume 0..150 (percent) or mute\n"
		"  -v                 more log (repeat)\n"
		"  --status-dir DIR   status store directory (default " DEFAULT_STATUS_DIR "); with\n"
		"                     QubesDB, the copy vsnd-ctl reads\n"
		"  --no-status        publish no status keys\n"
		"  --qubesdb          keys in QubesDB (the default in builds with QubesDB unless\n"
		"                     --status-dir is given)\n"
		"  --control-prefix P control socket path prefix (default " DEFAULT_CONTROL_PREFIX ")\n"
		"  --no-control-socket  no control socket\n"
		"  --no-dbus          do not offer org.qubesos.Audio.DOMNAME on the system bus\n"
		"  --pidfile-dir DIR  where pacat.DOMID goes (default " DEFAULT_PIDFILE_DIR ")\n"
		"  --period FRAMES    host period in frames at 44.1 kHz (default 220 = 5 ms, -l: 128)\n"
		"  --fill FRAMES      before the host stream runs (and wherever the host clock does not\n"
		"                     read the vchan itself), take VM audio only while our ring holds\n"
		"                     fewer frames; the rest waits in the vchan (0 = fill the ring;\n"
		"                     default: one period)\n\n");
	vsnd_audio_opts_usage(f);
}

static int take_pidfile(const char *dir, int domid, char *path, size_t len)
{
	snprintf(path, len, "%s/pacat.%d", dir, domid);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "vsnd-qubes: cannot create pidfile %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char pid[32] = "";
		ssize_t n = read(fd, pid, sizeof(pid) - 1);
		if (n > 0) {
			pid[n] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
		}
		fprintf(stderr, "vsnd-qubes: another instance is already running for domain %d%s%s%s\n",
			domid, n > 0 ? " (PID " : "", n > 0 ? pid : "", n > 0 ? ")" : "");
		close(fd);
		return -1;
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, pid, (size_t)n) != n) {
		fprintf(stderr, "vsnd-qubes: cannot write pidfile %s\n", path);
		close(fd);
		return -1;
	}
	return fd;
}

static void on_signal(void *data, int signo)
{
	vsnd_info(&log_main, "signal %d: exiting", signo);
	vsnd_loop_quit(data, 0);
}

/* setuid installs: give up the privileges once the vchans exist, as pacat-simple-vchan does. */
static int drop_privileges(void)
{
	if (getegid() != getgid() && setgid(getgid()) < 0)
		return -errno;
	if (geteuid() != getuid() && setuid(getuid()) < 0)
		return -errno;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		VSND_AUDIO_LONG_OPTIONS,
		{ "status-dir", required_argument, NULL, OPT_STATUS_DIR },
		{ "no-status", no_argument, NULL, OPT_NO_STATUS },
		{ "control-prefix", required_argument, NULL, OPT_CONTROL_PREFIX },
		{ "no-control-socket", no_argument, NULL, OPT_NO_CONTROL },
		{ "no-dbus", no_argument, NULL, OPT_NO_DBUS },
		{ "pidfile-dir", required_argument, NULL, OPT_PIDFILE_DIR },
		{ "period", required_argument, NULL, OPT_PERIOD },
		{ "fill", required_argument, NULL, OPT_FILL },
		{ "qubesdb", no_argument, NULL, OPT_QUBESDB },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct qubes_daemon_config cfg;
	const char *status_dir = DEFAULT_STATUS_DIR, *control_prefix = DEFAULT_CONTROL_PREFIX;
	const char *pidfile_dir = DEFAULT_PIDFILE_DIR;
	bool low_latency = false, control = true, status_dir_given = false;
	long tlength = 0, period = 0, fill = -1;
	int c;

	qubes_daemon_config_init(&cfg);
	cfg.dbus = true;
	while ((c = getopt_long(argc, argv, "lnbvt:V:h", longopts, NULL)) != -1) {
		int r = vsnd_audio_opts_handle(&cfg.audio, c, optarg);
		if (r < 0)
			return 1;
		if (r > 0)
			continue;
		switch (c) {
		case 'l':
			low_latency = true;
			break;
		case 'n':
		case 'b':
			break; /* never blocking is not optional here */
		case 't':
			if (!vsnd_parse_long(optarg, 1024, 4 * 1024 * 1024, &tlength)) {
				fprintf(stderr, "vsnd-qubes: invalid tlength '%s' (1024..4194304 bytes)\n", optarg);
				return 1;
			}
			low_latency = true;
			break;
		case 'V':
			if (strcmp(optarg, "mute") == 0) {
				cfg.mute = true;
				break;
			}
			long v;
			if (!vsnd_parse_long(optarg, 0, 150, &v)) {
				fprintf(stderr, "vsnd-qubes: invalid volume '%s' (0..150 or mute)\n", optarg);
				return 1;
			}
			cfg.volume = (float)v / 100.0f;
			break;
		case OPT_STATUS_DIR:
			status_dir = optarg;
			status_dir_given = true;
			break;
		case OPT_NO_STATUS:
			status_dir = NULL;
			status_dir_given = true;
			break;
		case OPT_QUBESDB:
			cfg.qubesdb = true;
			break;
		case OPT_CONTROL_PREFIX:
			control_prefix = optarg;
			break;
		case OPT_NO_CONTROL:
			control = false;
			break;
		case OPT_NO_DBUS:
			cfg.dbus = false;
			break;
		case OPT_PIDFILE_DIR:
			pidfile_dir = optarg;
			break;
		case OPT_PERIOD:
			if (!vsnd_parse_long(optarg, 32, 4410, &period)) {
				fprintf(stderr, "vsnd-qubes: invalid period '%s' (32..4410 frames)\n", optarg);
				return 1;
			}
			break;
		case OPT_FILL:
			if (!vsnd_parse_long(optarg, 0, 1 << 20, &fill)) {
				fprintf(stderr, "vsnd-qubes: invalid fill '%s' (0..1048576 frames)\n", optarg);
				return 1;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 1;
	}
	cfg.domid = qubes_domid_parse(argv[optind]); /* pacat-simple-vchan's checks */
	if (cfg.domid < 0) {
		fprintf(stderr, "vsnd-qubes: invalid domid '%s'\n", argv[optind]);
		return 1;
	}
	cfg.vm_name = argv[optind + 1];
	if (!qubes_vm_name_valid(cfg.vm_name)) {
		fprintf(stderr, "vsnd-qubes: invalid domain name '%s'\n", cfg.vm_name);
		return 1;
	}

	/*
	 * Latency: the host clock reads the vchan just in time, a period at
	 * once, so the VM must keep a period and a margin queued: the period is
	 * most of the path's latency. 5 ms (not pacat-simple-vchan's larger
	 * requests) brings the whole path near 20 ms (p99 21 ms here) for twice the
	 * wake-ups of 10 ms (bench/qubes, bench/qubes-e2e). The ring is only
	 * room (the fill bounds what it holds): the defaults' 40 ms of it,
	 * whatever the period.
	 */
	uint32_t room = cfg.period_frames * cfg.ring_periods; /* qubes_daemon_config_init() */
	cfg.period_frames = period ? (uint32_t)period : low_latency ? 128 : cfg.period_frames;
	uint32_t ring = tlength ? (uint32_t)(tlength / 4) : low_latency ? 1024 : room;
	cfg.ring_periods = (ring + cfg.period_frames - 1) / cfg.period_frames;
	if (cfg.ring_periods < 2)
		cfg.ring_periods = 2;
	/*
	 * While the host stream runs, its realtime thread reads the vchan just
	 * in time; the fill only bounds what the control loop queues before
	 * that (the start) or instead of it (unclocked backends). More than a
	 * period would stay queued for good, as latency: the queue belongs in
	 * the vchan, where the VM's rate control (vsnd-qubes-agent) sees it.
	 */
	cfg.fill_frames = fill >= 0 ? (uint32_t)fill : cfg.period_frames;

	char control_path[PATH_MAX], pidfile[PATH_MAX];
	if (control) {
		if ((size_t)snprintf(control_path, sizeof(control_path), "%s%s", control_prefix,
				     cfg.vm_name) >= 108) {
			fprintf(stderr, "vsnd-qubes: control socket path too long\n");
			return 1;
		}
		cfg.control_path = control_path;
	}
#ifdef VSND_HAVE_QUBESDB
	/* On Qubes the status keys live in QubesDB, where qvm-device mic reads them. */
	if (!status_dir_given)
		cfg.qubesdb = true;
#else
	(void)status_dir_given;
#endif
#ifndef VSND_HAVE_QUBESDB
	if (cfg.qubesdb) {
		fprintf(stderr, "vsnd-qubes: built without QubesDB (use --status-dir)\n");
		return 1;
	}
#endif
	/* With QubesDB too: the directory is where vsnd-ctl reads the status. */
	cfg.status_dir = status_dir;

	int pidfd = take_pidfile(pidfile_dir, cfg.domid, pidfile, sizeof(pidfile));
	if (pidfd < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);

	int ret = 1;
	struct vsnd_loop *loop = vsnd_loop_new();
	if (!loop ||
	    !vsnd_loop_add_signal(loop, SIGTERM, on_signal, loop) ||
	    !vsnd_loop_add_signal(loop, SIGINT, on_signal, loop)) {
		fprintf(stderr, "vsnd-qubes: cannot set up the event loop: %s\n", strerror(errno));
		goto out;
	}
	struct qubes_daemon *d = qubes_daemon_new(&cfg, loop);
	if (!d) {
		fprintf(stderr, "vsnd-qubes: cannot start: %s\n", strerror(errno));
		goto out;
	}
	vsnd_info(&log_main, "serving %s (domain %d), period %u frames, ring %u periods", cfg.vm_name,
		  cfg.domid, cfg.period_frames, cfg.ring_periods);
	bool dropped = false;
	for (;;) {
		int r = vsnd_loop_iterate(loop, -1);
		if (r < 0 && r != -EINTR)
			break;
		if (!dropped && qubes_daemon_vchans_ready(d)) {
			dropped = true;
			if (drop_privileges() < 0) {
				vsnd_error(&log_main, "cannot drop privileges: %s", strerror(errno));
				break;
			}
		}
		if (vsnd_loop_quitting(loop)) {
			ret = 0;
			break;
		}
	}
	qubes_daemon_destroy(d);
out:
	vsnd_loop_destroy(loop);
	unlink(pidfile);
	close(pidfd);
	return ret;
}
