/* SPDX-License-Identifier: MIT */
/*
 * vsnd-vmsim: a simulated Qubes VM for the tests, on our vchan library: it is
 * the vchan server on 4713 (playback) and 4714 (microphone + control words),
 * as the VM's audio module is. Driven by commands on standard input, one per
 * line, answering on standard output:
 *
 *   play SECONDS [tones|counter [SILENCE]]  play at real time (44.1 kHz S16 stereo),
 *                                  after SILENCE frames of silence sent at once (as an
 *                                  agent's prefill; not counted in "played")
 *   flood SECONDS [CHUNK]          write SECONDS of audio as fast as possible, in
 *                                  writes of CHUNK bytes (any size: torn frames)
 *   word start|stop|cork|uncork|HEX  send one control word (whole, libvchan_send)
 *   initial START UNCORK           send the 12-byte initial-state message (0/1 each)
 *   garbage N                      send N random bytes on the control vchan
 *   half-word                      send 2 bytes of a control word (a torn word)
 *   mic on|off                     read the microphone vchan or not
 *   mic-reset                      forget the microphone bytes received so far
 *   wait-mic BYTES MS              answer "mic BYTES_RECEIVED" once >= BYTES or after MS
 *   stats                          answer "stats played=N mic=M mic_nonzero=Z"
 *   wait-played                    answer "played N" when the last play/flood finished
 *   quit
 * Every received microphone byte is appended to --mic-out FILE if given.
 * Options: --peer DOMID (the daemon's domain, default 0), --period FRAMES
 * (pacing quantum, default 441), --lead FRAMES (queued ahead when play
 * starts, default 882; the playback vchan holds at least that); the local domain
 * comes from VCHAN_DOMAIN as in qubes-core-vchan-socket.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto.h"
#include "vsnd/audio-signal.h"
#include "vsnd/clock.h"
#include "vsnd/libvchan.h"
#include "vsnd/loop.h"
#include "vsnd/pacer.h"

struct sim {
	struct vsnd_loop *loop;
	libvchan_t *play, *rec;
	struct vsnd_loop_source *play_src, *rec_src, *stdin_src, *pace_src, *wait_timer;
	struct vsnd_pacer pacer;
	struct vsnd_audio_signal gen;
	uint64_t to_play, played;
	bool flood, waiting_played;
	uint32_t chunk; /* bytes per vchan write, 0 = as much as fits */
	uint32_t period, lead;
	uint8_t pending[4096 * 4];
	uint32_t pending_len, pending_off;
	bool mic_on;
	uint64_t mic_bytes, mic_nonzero;
	uint64_t wait_mic, wait_mic_deadline;
	FILE *mic_out;
	char line[256];
	size_t line_len;
};

static void answer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void answer(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void check_waits(struct sim *s)
{
	if (s->wait_mic && (s->mic_bytes >= s->wait_mic || vsnd_now_ns() >= s->wait_mic_deadline)) {
		s->wait_mic = 0;
		answer("mic %llu", (unsigned long long)s->mic_bytes);
	}
	if (s->waiting_played && s->played >= s->to_play && s->pending_len == s->pending_off) {
		s->waiting_played = false;
		answer("played %llu", (unsigned long long)s->played);
	}
}

/* Push what is pending into the playback vchan without blocking. */
static void flush_play(struct sim *s)
{
	while (s->pending_off < s->pending_len) {
		uint32_t len = s->pending_len - s->pending_off;
		if (s->chunk && len > s->chunk)
			len = s->chunk;
		int n = libvchan_write(s->play, s->pending + s->pending_off, len);
		if (n <= 0)
			break;
		s->pending_off += (uint32_t)n;
	}
}

/* Queue up to @frames (as many as fit) of the signal, or of silence, to send next. */
static uint32_t stage(struct sim *s, uint32_t frames, bool silent)
{
	if (frames > sizeof(s->pending) / 4)
		frames = sizeof(s->pending) / 4;
	if (silent)
		memset(s->pending, 0, (size_t)frames * 4);
	else
		vsnd_audio_signal_fill(&s->gen, s->pending, frames);
	s->pending_len = frames * 4;
	s->pending_off = 0;
	return frames;
}

static void produce(struct sim *s, uint32_t frames)
{
	if (s->pending_off < s->pending_len || s->played >= s->to_play)
		return;
	if (frames > s->to_play - s->played)
		frames = (uint32_t)(s->to_play - s->played);
	s->played += stage(s, frames, false);
}

static void pump(struct sim *s)
{
	for (int i = 0; i < 64; i++) {
		flush_play(s);
		if (s->pending_off < s->pending_len || !s->flood || s->played >= s->to_play)
			break;
		produce(s, 4096);
	}
	check_waits(s);
}

static void on_pace(void *data, int fd, uint32_t ev)
{
	struct sim *s = data;
	int64_t n = vsnd_pacer_ack(&s->pacer);
	if (n > 0 && !s->flood) {
		flush_play(s);
		produce(s, (uint32_t)n * s->period);
		flush_play(s);
	}
	if (s->played >= s->to_play && s->pending_off == s->pending_len)
		vsnd_pacer_stop(&s->pacer);
	check_waits(s);
}

static void read_mic(struct sim *s)
{
	uint8_t buf[8192];
	while (s->mic_on && libvchan_data_ready(s->rec) > 0) {
		int n = libvchan_read(s->rec, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++)
			s->mic_nonzero += buf[i] != 0;
		s->mic_bytes += (uint64_t)n;
		if (s->mic_out)
			fwrite(buf, 1, (size_t)n, s->mic_out);
	}
	check_waits(s);
}

static void on_vchan(void *data, int fd, uint32_t ev)
{
	struct sim *s = data;
	libvchan_t *vc = fd == libvchan_fd_for_select(s->play) ? s->play : s->rec;
	libvchan_wait(vc);
	if (libvchan_is_open(vc) == VCHAN_DISCONNECTED) {
		answer("disconnected");
		vsnd_loop_quit(s->loop, 0);
		return;
	}
	if (vc == s->rec)
		read_mic(s);
	pump(s);
}

static int send_word(struct sim *s, uint32_t w)
{
	return libvchan_send(s->rec, &w, 4) == 4 ? 0 : -1;
}

static void on_wait_timer(void *data, uint64_t n)
{
	check_waits(data);
}

static void command(struct sim *s, char *cmd)
{
	char a[64] = "", b[64] = "";
	unsigned silence = 0;
	double secs;
	int n = sscanf(cmd, "%*s %63s %63s %u", a, b, &silence);
	if (strncmp(cmd, "play ", 5) == 0 || strncmp(cmd, "flood ", 6) == 0) {
		secs = atof(a);
		s->flood = cmd[0] == 'f';
		s->chunk = s->flood && n >= 2 ? (uint32_t)atoi(b) : 0;
		vsnd_audio_signal_init(&s->gen, !s->flood && n >= 2 && strcmp(b, "counter") == 0 ? VSND_AUDIO_SIGNAL_COUNTER :
				       VSND_AUDIO_SIGNAL_TONES, VSND_AUDIO_FORMAT_S16, 44100, 2);
		s->to_play = (uint64_t)(secs * 44100 + 0.5);
		s->played = 0;
		if (s->flood) {
			pump(s);
		} else {
			if (silence && s->pending_off == s->pending_len) {
				stage(s, silence, true);
				flush_play(s);
			}
			/* Start a little ahead, as a VM's audio module keeps some queued. */
			produce(s, s->lead);
			flush_play(s);
			vsnd_pacer_start(&s->pacer, 0);
		}
		answer("ok");
	} else if (strncmp(cmd, "word ", 5) == 0) {
		uint32_t w = strcmp(a, "start") == 0 ? QUBES_SOURCE_START :
			     strcmp(a, "stop") == 0 ? QUBES_SOURCE_STOP :
			     strcmp(a, "cork") == 0 ? QUBES_SINK_CORK :
			     strcmp(a, "uncork") == 0 ? QUBES_SINK_UNCORK : (uint32_t)strtoul(a, NULL, 16);
		answer(send_word(s, w) == 0 ? "ok" : "error");
	} else if (strncmp(cmd, "initial ", 8) == 0) {
		uint32_t msg[3] = { QUBES_INITIAL_STATE, atoi(a) ? QUBES_SOURCE_START : QUBES_SOURCE_STOP,
				    atoi(b) ? QUBES_SINK_UNCORK : QUBES_SINK_CORK };
		answer(libvchan_send(s->rec, msg, sizeof(msg)) == (int)sizeof(msg) ? "ok" : "error");
	} else if (strncmp(cmd, "garbage ", 8) == 0) {
		long len = atol(a);
		uint8_t buf[4096];
		for (long off = 0; off < len;) {
			int k = len - off < (long)sizeof(buf) ? (int)(len - off) : (int)sizeof(buf);
			for (int i = 0; i < k; i++)
				buf[i] = (uint8_t)random();
			int w = libvchan_send(s->rec, buf, (size_t)k);
			if (w <= 0) {
				libvchan_wait(s->rec);
				continue;
			}
			off += w;
		}
		answer("ok");
	} else if (strcmp(cmd, "half-word") == 0) {
		uint32_t w = QUBES_SOURCE_START;
		answer(libvchan_send(s->rec, &w, 2) == 2 ? "ok" : "error");
	} else if (strncmp(cmd, "mic ", 4) == 0) {
		s->mic_on = strcmp(a, "on") == 0;
		read_mic(s);
		answer("ok");
	} else if (strcmp(cmd, "mic-reset") == 0) {
		s->mic_bytes = s->mic_nonzero = 0;
		answer("ok");
	} else if (strncmp(cmd, "wait-mic ", 9) == 0) {
		s->wait_mic = strtoull(a, NULL, 10);
		uint64_t ms = strtoull(b, NULL, 10);
		s->wait_mic_deadline = vsnd_now_ns() + ms * VSND_NSEC_PER_MSEC;
		if (!s->wait_mic)
			s->wait_mic = 1;
		vsnd_loop_timer_set(s->wait_timer, ms ? ms * VSND_NSEC_PER_MSEC : 1, 0);
		read_mic(s);
		check_waits(s);
	} else if (strcmp(cmd, "stats") == 0) {
		answer("stats played=%llu mic=%llu mic_nonzero=%llu", (unsigned long long)s->played,
		       (unsigned long long)s->mic_bytes, (unsigned long long)s->mic_nonzero);
	} else if (strcmp(cmd, "wait-played") == 0) {
		s->waiting_played = true;
		check_waits(s);
	} else if (strcmp(cmd, "quit") == 0) {
		vsnd_loop_quit(s->loop, 0);
	} else {
		answer("error unknown command");
	}
}

static void on_stdin(void *data, int fd, uint32_t ev)
{
	struct sim *s = data;
	ssize_t n = read(fd, s->line + s->line_len, sizeof(s->line) - 1 - s->line_len);
	if (n <= 0) {
		vsnd_loop_quit(s->loop, 0);
		return;
	}
	s->line_len += (size_t)n;
	char *nl;
	while ((nl = memchr(s->line, '\n', s->line_len))) {
		*nl = '\0';
		command(s, s->line);
		size_t used = (size_t)(nl - s->line) + 1;
		memmove(s->line, nl + 1, s->line_len - used);
		s->line_len -= used;
	}
	if (s->line_len == sizeof(s->line) - 1)
		s->line_len = 0;
}

static void wait_connected(libvchan_t *vc)
{
	while (libvchan_is_open(vc) == VCHAN_WAITING)
		libvchan_wait(vc);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "peer", required_argument, NULL, 'p' },
		{ "mic-out", required_argument, NULL, 'm' },
		{ "period", required_argument, NULL, 'P' },
		{ "lead", required_argument, NULL, 'L' },
		{ 0 },
	};
	struct sim s = { .mic_on = true, .period = 441, .lead = 882 };
	int peer = 0, c;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'p')
			peer = atoi(optarg);
		else if (c == 'm')
			s.mic_out = fopen(optarg, "wb");
		else if (c == 'P')
			s.period = (uint32_t)atoi(optarg);
		else if (c == 'L')
			s.lead = (uint32_t)atoi(optarg);
		else
			return 2;
	}
	srandom(42);
	/*
	 * Room for the lead in the vchan itself: the daemon reads just in time,
	 * so what it may ask at once (a server's large request) must be there,
	 * not still in our pending buffer.
	 */
	size_t play_ring = (size_t)s.lead * 4 > 16384 ? (size_t)s.lead * 4 : 16384;
	s.play = libvchan_server_init(peer, QUBES_AUDIO_PLAYBACK_PORT, 4096, play_ring);
	s.rec = libvchan_server_init(peer, QUBES_AUDIO_RECORD_PORT, 16384, 4096);
	if (!s.play || !s.rec) {
		fprintf(stderr, "vmsim: vchan server: %s\n", strerror(errno));
		return 1;
	}
	answer("listening");
	wait_connected(s.play);
	wait_connected(s.rec);
	libvchan_set_blocking(s.play, false);
	libvchan_set_blocking(s.rec, false);
	answer("connected");

	s.loop = vsnd_loop_new();
	if (s.period < 16 || s.period > 44100)
		return 2;
	vsnd_pacer_init(&s.pacer, 44100, s.period);
	s.play_src = vsnd_loop_add_fd(s.loop, libvchan_fd_for_select(s.play), EPOLLIN, on_vchan, &s);
	s.rec_src = vsnd_loop_add_fd(s.loop, libvchan_fd_for_select(s.rec), EPOLLIN, on_vchan, &s);
	s.pace_src = vsnd_loop_add_fd(s.loop, vsnd_pacer_fd(&s.pacer), EPOLLIN, on_pace, &s);
	s.stdin_src = vsnd_loop_add_fd(s.loop, 0, EPOLLIN, on_stdin, &s);
	s.wait_timer = vsnd_loop_add_timer(s.loop, on_wait_timer, &s);
	vsnd_loop_run(s.loop);

	vsnd_pacer_finish(&s.pacer);
	vsnd_loop_destroy(s.loop);
	libvchan_close(s.play);
	libvchan_close(s.rec);
	if (s.mic_out)
		fclose(s.mic_out);
	return 0;
}
