/* SPDX-License-Identifier: MIT */
/*
 * click-probe: end-to-end latency of a path between two PipeWire daemons on
 * one machine (the "VM" and the "host" of bench/qubes-e2e), measured with
 * clicks timestamped at both ends on the shared CLOCK_MONOTONIC.
 *
 *   click-probe [--mic VM_SOURCE_NAME] VM_SOCKET HOST_SOCKET HOST_SINK_NAME SECONDS
 *
 * --mic: the other way, the microphone path: the player is on the host,
 * into HOST_SINK_NAME (whose monitor the host daemon records), the recorder
 * in the VM, on VM_SOURCE_NAME (the agent's source).
 *
 * Both daemons are named by their socket paths: a process has one
 * XDG_RUNTIME_DIR, so the default would reach the same daemon twice.
 * A player on the VM daemon writes a one-sample full-scale click every
 * 250 ms into silence; a click's write time is its process callback's time
 * plus its offset in the buffer (when the app hands it over). A recorder on
 * the host daemon captures HOST_SINK_NAME's monitor; the monitor hands over,
 * at the start of a cycle, what the sink plays during it, so a click's
 * arrival is the recorder's buffer's cycle time plus its offset, matched to the
 * last click written before it (so latencies up to the 250 ms spacing are
 * measured, and a click lost in a dropout costs only itself). Output: one
 * "click N latency_ms X" line per arrival, then "clicks=N sent=M
 * p50_ms=.. p99_ms=.. max_ms=.. min_ms=.." over every click from the first
 * on (a start is part of what a user hears; sent - clicks = clicks lost).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pipewire/pipewire.h>
#include <spa/param/audio/format-utils.h>

#define RATE 48000
#define EVERY (RATE / 4)
#define MAX_CLICKS 100000

struct probe {
	struct pw_thread_loop *vm_loop, *host_loop;
	struct pw_context *vm_ctx, *host_ctx;
	struct pw_core *vm_core, *host_core;
	struct pw_stream *player, *recorder;
	struct spa_hook pl, rl;
	uint64_t frames_out;          /* player position */
	uint64_t sent_ns[MAX_CLICKS]; /* write time of click i */
	unsigned sent, got;           /* clicks written, arrivals matched */
	unsigned next;                /* the first click not matched yet */
	double lat_ms[MAX_CLICKS];
	uint32_t quiet_left;          /* recorder: frames still ignored after a click */
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void play_process(void *data)
{
	struct probe *p = data;
	struct pw_buffer *b = pw_stream_dequeue_buffer(p->player);
	if (!b)
		return;
	struct spa_data *d = &b->buffer->datas[0];
	int16_t *s = d->data;
	uint32_t n = d->maxsize / 4;
	if (b->requested && b->requested < n)
		n = (uint32_t)b->requested;
	uint64_t t = now_ns();
	memset(s, 0, (size_t)n * 4);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t pos = p->frames_out + i;
		if (pos > 0 && pos % EVERY == 0 && p->sent < MAX_CLICKS) {
			s[2 * i] = s[2 * i + 1] = 32000;
			p->sent_ns[p->sent++] = t + (uint64_t)i * 1000000000ull / RATE;
		}
	}
	p->frames_out += n;
	d->chunk->offset = 0;
	d->chunk->stride = 4;
	d->chunk->size = n * 4;
	pw_stream_queue_buffer(p->player, b);
}

static void rec_buffer(struct probe *p, struct pw_buffer *b)
{
	/* The cycle the buffer was captured in (PipeWire >= 1.0.5), not when we look at it. */
	uint64_t t = b->time ? b->time : now_ns();
	struct spa_data *d = &b->buffer->datas[0];
	const int16_t *s = d->data;
	uint32_t n = d->chunk->size / 4;
	for (uint32_t i = 0; s && i < n; i++) {
		if (p->quiet_left) {
			/* A resampled click rings for a few samples: one click, one arrival. */
			p->quiet_left--;
			continue;
		}
		if (abs(s[2 * i]) > 8000 && p->next < p->sent) {
			p->quiet_left = RATE / 10;
			uint64_t at = t + (uint64_t)i * 1000000000ull / RATE;
			/*
			 * The click this is: the last one written before it arrived
			 * (latencies below the 250 ms spacing). Matching by count
			 * instead would shift every later click by 250 ms once one
			 * is lost in a dropout.
			 */
			while (p->next + 1 < p->sent && p->sent_ns[p->next + 1] <= at)
				p->next++;
			p->lat_ms[p->got] = ((double)at - (double)p->sent_ns[p->next]) / 1e6;
			printf("click %u latency_ms %.2f\n", p->next, p->lat_ms[p->got]);
			p->got++;
			p->next++;
		}
	}
}

static void rec_process(void *data)
{
	struct probe *p = data;
	struct pw_buffer *b;
	/*
	 * Every buffer waiting, not one per call: after a stall two are queued,
	 * and taking one per cycle from then on would keep us a cycle behind
	 * for good (and, timed by "now", read as the path's latency).
	 */
	while ((b = pw_stream_dequeue_buffer(p->recorder))) {
		rec_buffer(p, b);
		pw_stream_queue_buffer(p->recorder, b);
	}
}

static const struct pw_stream_events play_events = { PW_VERSION_STREAM_EVENTS, .process = play_process };
static const struct pw_stream_events rec_events = { PW_VERSION_STREAM_EVENTS, .process = rec_process };

static struct pw_stream *open_stream(struct pw_core *core, const char *name, enum pw_direction dir,
				     struct pw_properties *props, struct spa_hook *h,
				     const struct pw_stream_events *ev, struct probe *p)
{
	struct pw_stream *st = pw_stream_new(core, name, props);
	if (!st)
		return NULL;
	pw_stream_add_listener(st, h, ev, p);
	uint8_t buf[512];
	struct spa_pod_builder b = SPA_POD_BUILDER_INIT(buf, sizeof(buf));
	struct spa_audio_info_raw info = { .format = SPA_AUDIO_FORMAT_S16_LE, .rate = RATE, .channels = 2,
					   .position = { SPA_AUDIO_CHANNEL_FL, SPA_AUDIO_CHANNEL_FR } };
	const struct spa_pod *params[1] = { spa_format_audio_raw_build(&b, SPA_PARAM_EnumFormat, &info) };
	if (pw_stream_connect(st, dir, PW_ID_ANY,
			      PW_STREAM_FLAG_AUTOCONNECT | PW_STREAM_FLAG_MAP_BUFFERS | PW_STREAM_FLAG_RT_PROCESS,
			      params, 1) < 0)
		return NULL;
	return st;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static struct probe p;

int main(int argc, char **argv)
{
	const char *vm_source = NULL;
	if (argc > 2 && strcmp(argv[1], "--mic") == 0) {
		vm_source = argv[2];
		argv += 2;
		argc -= 2;
	}
	bool mic = vm_source != NULL;
	if (argc != 5) {
		fprintf(stderr, "usage: click-probe [--mic VM_SOURCE_NAME] VM_SOCKET HOST_SOCKET HOST_SINK_NAME SECONDS\n");
		return 2;
	}
	pw_init(&argc, &argv);
	p.vm_loop = pw_thread_loop_new("vm", NULL);
	p.host_loop = pw_thread_loop_new("host", NULL);
	p.vm_ctx = pw_context_new(pw_thread_loop_get_loop(p.vm_loop), NULL, 0);
	p.host_ctx = pw_context_new(pw_thread_loop_get_loop(p.host_loop), NULL, 0);
	pw_thread_loop_start(p.vm_loop);
	pw_thread_loop_start(p.host_loop);

	pw_thread_loop_lock(p.host_loop);
	p.host_core = pw_context_connect(p.host_ctx, pw_properties_new(PW_KEY_REMOTE_NAME, argv[2], NULL), 0);
	pw_thread_loop_unlock(p.host_loop);
	pw_thread_loop_lock(p.vm_loop);
	p.vm_core = pw_context_connect(p.vm_ctx, pw_properties_new(PW_KEY_REMOTE_NAME, argv[1], NULL), 0);
	pw_thread_loop_unlock(p.vm_loop);
	if (!p.host_core || !p.vm_core) {
		fprintf(stderr, "click-probe: cannot connect to both daemons\n");
		return 1;
	}
	/* Playback: VM app -> host sink's monitor. Microphone: host app -> that sink -> VM's default source. */
	struct pw_thread_loop *rec_loop = mic ? p.vm_loop : p.host_loop, *play_loop = mic ? p.host_loop : p.vm_loop;
	struct pw_properties *rec_props = pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY,
							    "Capture", NULL);
	struct pw_properties *play_props = pw_properties_new(PW_KEY_MEDIA_TYPE, "Audio", PW_KEY_MEDIA_CATEGORY,
							     "Playback", NULL);
	if (mic) {
		pw_properties_set(play_props, PW_KEY_TARGET_OBJECT, argv[3]);
		pw_properties_set(rec_props, PW_KEY_TARGET_OBJECT, vm_source);
	} else {
		pw_properties_set(rec_props, PW_KEY_TARGET_OBJECT, argv[3]);
		pw_properties_set(rec_props, PW_KEY_STREAM_CAPTURE_SINK, "true");
	}
	pw_thread_loop_lock(rec_loop);
	p.recorder = open_stream(mic ? p.vm_core : p.host_core, "click-probe-rec", PW_DIRECTION_INPUT, rec_props,
				 &p.rl, &rec_events, &p);
	pw_thread_loop_unlock(rec_loop);
	pw_thread_loop_lock(play_loop);
	p.player = open_stream(mic ? p.host_core : p.vm_core, "click-probe-play", PW_DIRECTION_OUTPUT, play_props,
			       &p.pl, &play_events, &p);
	pw_thread_loop_unlock(play_loop);
	if (!p.recorder || !p.player) {
		fprintf(stderr, "click-probe: cannot connect to both daemons\n");
		return 1;
	}
	struct timespec ts = { .tv_sec = atoi(argv[4]) };
	nanosleep(&ts, NULL);
	pw_thread_loop_stop(p.vm_loop);
	pw_thread_loop_stop(p.host_loop);

	unsigned n = p.got;
	if (n == 0) {
		printf("clicks=0 sent=%u\n", p.sent);
		return 1;
	}
	double *v = p.lat_ms;
	qsort(v, n, sizeof(*v), cmp);
	unsigned i99 = n * 99 / 100 < n ? n * 99 / 100 : n - 1;
	printf("clicks=%u sent=%u p50_ms=%.2f p99_ms=%.2f max_ms=%.2f min_ms=%.2f\n", n, p.sent, v[n / 2],
	       v[i99], v[n - 1], v[0]);
	return 0;
}
