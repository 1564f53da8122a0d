/* SPDX-License-Identifier: MIT */
/*
 * vsnd-qubes-agent: the Qubes audio agent as a PipeWire client, for VMs whose
 * PipeWire config should stay untouched and for tests. It runs the same core
 * as libpipewire-module-vsnd-qubes: a sink and a source node in the VM's
 * PipeWire, carried to the host daemon (vsnd-qubes / pacat-simple-vchan)
 * over vchan 4713/4714.
 *
 * Exit status: 0 on SIGINT/SIGTERM, 1 when PipeWire is gone or on errors,
 * 2 on bad usage.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pipewire/pipewire.h>

#include "agent.h"
#include "vsnd/log.h"

struct app {
	struct pw_main_loop *loop;
	struct pw_context *context;
	struct pw_core *core;
	struct spa_hook core_listener;
	struct qubes_agent *agent;
	int exit_code;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vsnd-qubes-agent [OPTIONS]\n"
		"A Qubes audio sink and source in this VM's PipeWire, connected to the host's vsnd-qubes.\n"
		"  --domid N                 host (audio VM) domain (default: QubesDB\n"
		"                            /qubes-audio-domain-xid, else 0)\n"
		"  --domid-store DIR         read and watch /qubes-audio-domain-xid in a directory store\n"
		"  --target-ms MS            audio queued toward/from the host that the rate control\n"
		"                            holds (default 10)\n"
		"  --record-target-ms MS     the same for the microphone (default 10)\n"
		"  --prefill-ms MS           silence queued when playback starts (default 10: the target)\n"
		"  --quantum FRAMES          graph quantum asked for, at 44.1 kHz (default 128)\n"
		"  --playback-vchan-bytes N  vchan ring sizes (default 8192)\n"
		"  --record-vchan-bytes N\n"
		"  --sink-name S, --sink-description S, --source-name S, --source-description S\n"
		"  --remote NAME             PipeWire daemon to connect to (default: the user's)\n"
		"  --status-file FILE        keep the counters in FILE (one line, rewritten 5x/s)\n"
		"  -v                        more log (repeatable); VSND_LOG=debug for all\n"
		"Environment: VSND_VCHAN, VCHAN_SOCKET_DIR, VCHAN_DOMAIN (socket transport).\n");
}

static void on_quit(void *data, int signo)
{
	struct app *app = data;
	(void)signo;
	pw_main_loop_quit(app->loop);
}

static void on_core_error(void *data, uint32_t id, int seq, int res, const char *message)
{
	struct app *app = data;
	(void)seq;
	if (id == PW_ID_CORE && res == -EPIPE) {
		fprintf(stderr, "vsnd-qubes-agent: PipeWire went away\n");
		app->exit_code = 1;
		pw_main_loop_quit(app->loop);
	} else {
		fprintf(stderr, "vsnd-qubes-agent: PipeWire error on %u: %s\n", id, message);
	}
}

static const struct pw_core_events core_events = {
	PW_VERSION_CORE_EVENTS,
	.error = on_core_error,
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domid", required_argument, NULL, 0 },
		{ "domid-store", required_argument, NULL, 0 },
		{ "target-ms", required_argument, NULL, 0 },
		{ "prefill-ms", required_argument, NULL, 0 },
		{ "record-target-ms", required_argument, NULL, 0 },
		{ "quantum", required_argument, NULL, 0 },
		{ "playback-vchan-bytes", required_argument, NULL, 0 },
		{ "record-vchan-bytes", required_argument, NULL, 0 },
		{ "sink-name", required_argument, NULL, 0 },
		{ "sink-description", required_argument, NULL, 0 },
		{ "source-name", required_argument, NULL, 0 },
		{ "source-description", required_argument, NULL, 0 },
		{ "remote", required_argument, NULL, 'r' },
		{ "status-file", required_argument, NULL, 0 },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct app app = { .exit_code = 0 };
	struct qubes_agent_config cfg;
	const char *remote = NULL;
	int verbose = 0, c, idx;

	qubes_agent_config_defaults(&cfg);
	while ((c = getopt_long(argc, argv, "vh", opts, &idx)) != -1) {
		switch (c) {
		case 0:
			if (qubes_agent_config_set(&cfg, opts[idx].name, optarg) < 0) {
				fprintf(stderr, "vsnd-qubes-agent: invalid --%s '%s'\n", opts[idx].name, optarg);
				return 2;
			}
			break;
		case 'r':
			remote = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "vsnd-qubes-agent: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	vsnd_log_more_verbose(verbose + 1); /* info by default: connections are worth a line */

	pw_init(&argc, &argv);
	app.loop = pw_main_loop_new(NULL);
	if (!app.loop)
		goto err;
	struct pw_loop *loop = pw_main_loop_get_loop(app.loop);
	pw_loop_add_signal(loop, SIGINT, on_quit, &app);
	pw_loop_add_signal(loop, SIGTERM, on_quit, &app);
	app.context = pw_context_new(loop, NULL, 0);
	if (!app.context)
		goto err;
	app.core = pw_context_connect(app.context,
				      remote ? pw_properties_new(PW_KEY_REMOTE_NAME, remote, NULL) : NULL, 0);
	if (!app.core) {
		fprintf(stderr, "vsnd-qubes-agent: cannot connect to PipeWire: %s\n", strerror(errno));
		goto err;
	}
	pw_core_add_listener(app.core, &app.core_listener, &core_events, &app);
	app.agent = qubes_agent_new(app.context, app.core, &cfg);
	if (!app.agent) {
		fprintf(stderr, "vsnd-qubes-agent: cannot start: %s\n", strerror(errno));
		goto err;
	}
	pw_main_loop_run(app.loop);
	qubes_agent_destroy(app.agent);
	spa_hook_remove(&app.core_listener);
	pw_core_disconnect(app.core);
	pw_context_destroy(app.context);
	pw_main_loop_destroy(app.loop);
	pw_deinit();
	return app.exit_code;
err:
	if (app.context)
		pw_context_destroy(app.context);
	if (app.loop)
		pw_main_loop_destroy(app.loop);
	pw_deinit();
	return 1;
}
