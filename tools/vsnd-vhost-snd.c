/* SPDX-License-Identifier: MIT */
/*
 * vsnd-vhost-snd: a virtio-snd device backend over vhost-user for QEMU's
 * vhost-user-snd-pci, libkrun and other VMMs (replaces vhost-device-sound,
 * whose options it also accepts).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "snd-vhost.h"
#include "vsnd/audio-opts.h"
#include "vsnd/log.h"
#include "vsnd/loop.h"
#include "vsnd/parse.h"

VSND_LOG_TOPIC(log_main, "vsnd-vhost-snd");

enum {
	OPT_SOCKET = 0x2000,
	OPT_FD,
	OPT_STREAMS,
	OPT_CAPS,
	OPT_CONTROLS,
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vsnd-vhost-snd (--socket-path PATH | --fd FD) [--streams SPEC] [OPTIONS]\n"
		"A virtio-snd device over vhost-user (QEMU: -device vhost-user-snd-pci).\n\n"
		"  --socket-path PATH, --socket PATH   listen on this UNIX socket\n"
		"  --fd FD, --socket-fd FD             use an inherited socket (listening or connected)\n"
		"  --streams SPEC                      e.g. out,in (default) or out:6,out,in:1 (max channels)\n"
		"  --controls                          offer volume/mute controls (VIRTIO_SND_F_CTLS); with\n"
		"                                      QEMU add controls=on to -device vhost-user-snd-pci\n"
		"  --print-capabilities                print the vhost-user capabilities (JSON) and exit\n"
		"  -h, --help\n\n");
	vsnd_audio_opts_usage(f);
}

static void on_signal(void *data, int signo)
{
	vsnd_info(&log_main, "signal %d: exiting", signo);
	vsnd_loop_quit(data, 0);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		VSND_AUDIO_LONG_OPTIONS,
		{ "socket-path", required_argument, NULL, OPT_SOCKET },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "fd", required_argument, NULL, OPT_FD },
		{ "socket-fd", required_argument, NULL, OPT_FD },
		{ "streams", required_argument, NULL, OPT_STREAMS },
		{ "print-capabilities", no_argument, NULL, OPT_CAPS },
		{ "controls", no_argument, NULL, OPT_CONTROLS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vsnd_audio_opts audio_opts;
	const char *socket_path = NULL, *streams = "out,in";
	long fd = -1;
	bool controls = false;
	int c;

	vsnd_audio_opts_init(&audio_opts);
	while ((c = getopt_long(argc, argv, "vh", longopts, NULL)) != -1) {
		int r = vsnd_audio_opts_handle(&audio_opts, c, optarg);
		if (r < 0)
			return 2;
		if (r > 0)
			continue;
		switch (c) {
		case OPT_SOCKET:
			socket_path = optarg;
			break;
		case OPT_FD:
			if (!vsnd_parse_long(optarg, 0, 65535, &fd)) {
				fprintf(stderr, "vsnd-vhost-snd: invalid fd '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_STREAMS:
			streams = optarg;
			break;
		case OPT_CONTROLS:
			controls = true;
			break;
		case OPT_CAPS:
			printf("{\n  \"type\": \"sound\",\n  \"features\": []\n}\n");
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (!socket_path) == (fd < 0)) {
		fprintf(stderr, "vsnd-vhost-snd: give exactly one of --socket-path and --fd\n");
		usage(stderr);
		return 2;
	}
	struct snd_stream_spec specs[SND_MAX_STREAMS];
	int n = snd_parse_streams(streams, specs, SND_MAX_STREAMS);
	if (n < 0)
		return 2;

	int ret = 1;
	struct vsnd_loop *loop = vsnd_loop_new();
	struct vsnd_audio *audio = NULL;
	struct snd_vhost *dev = NULL;
	if (!loop || !vsnd_loop_add_signal(loop, SIGTERM, on_signal, loop) ||
	    !vsnd_loop_add_signal(loop, SIGINT, on_signal, loop)) {
		fprintf(stderr, "vsnd-vhost-snd: event loop: %s\n", strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	audio = vsnd_audio_new(&audio_opts);
	if (!audio) {
		fprintf(stderr, "vsnd-vhost-snd: cannot open the %s audio backend: %s\n", audio_opts.backend,
			strerror(errno));
		goto out;
	}
	dev = snd_vhost_new(audio, specs, n, loop);
	if (!dev) {
		fprintf(stderr, "vsnd-vhost-snd: cannot create the device: %s\n", strerror(errno));
		goto out;
	}
	snd_vhost_enable_controls(dev, controls);
	int r = socket_path ? snd_vhost_listen(dev, socket_path) : snd_vhost_set_fd(dev, (int)fd);
	if (r < 0) {
		fprintf(stderr, "vsnd-vhost-snd: %s: %s\n", socket_path ? socket_path : "--fd", strerror(-r));
		goto out;
	}
	vsnd_info(&log_main, "serving %d stream%s on %s through %s", n, n == 1 ? "" : "s",
		  socket_path ? socket_path : "an inherited fd", vsnd_audio_describe(audio));
	ret = vsnd_loop_run(loop) < 0 ? 1 : 0;
out:
	snd_vhost_destroy(dev);
	vsnd_audio_destroy(audio);
	vsnd_loop_destroy(loop);
	return ret;
}
