/* SPDX-License-Identifier: MIT */
/*
 * vsnd-tone: play a test signal through any vsnd audio backend, or record
 * from one into a WAV file. The demo, the integration tests and the
 * benchmarks drive the backends with it.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <sndfile.h>

#include "vsnd/audio-opts.h"
#include "vsnd/audio-signal.h"
#include "vsnd/audio.h"
#include "vsnd/clock.h"
#include "vsnd/log.h"
#include "vsnd/parse.h"

VSND_LOG_TOPIC(log_tone, "vsnd-tone");

struct options {
	struct vsnd_audio_opts audio;
	enum vsnd_audio_format format;
	uint32_t rate;
	uint32_t channels;
	double period_ms;
	uint32_t ring_periods;
	double seconds;
	enum vsnd_audio_signal_kind signal;
	const char *record;
	float volume;
	bool mute;
	bool quiet;
};

struct stats {
	uint64_t lat_sum_frames;
	uint64_t lat_max_frames;
	uint64_t lat_samples;
	uint32_t delay_max;
	enum vsnd_audio_state last_state;
	uint64_t disconnected_at;
	uint64_t longest_outage_ns;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vsnd-tone [OPTIONS]\n"
		"Play a test signal through a vsnd audio backend, or record into a WAV file.\n\n"
		"  -f, --format FMT     u8, s16, s24, s24_3, s32, float (default s16)\n"
		"  -r, --rate HZ        sample rate (default 48000)\n"
		"  -c, --channels N     1..8 (default 2)\n"
		"  -p, --period-ms MS   period (default 10)\n"
		"      --ring-periods N ring size in periods (default 4)\n"
		"  -d, --duration SEC   seconds of audio (default 3)\n"
		"  -s, --signal KIND    tones (440 Hz * (ch+2)/2 per channel), counter, silence\n"
		"      --record FILE    record from the capture stream into FILE instead of playing\n"
		"      --volume V       stream volume 0..1.5 (default: server default)\n"
		"      --mute           start muted\n"
		"  -q, --quiet          print only the result line\n"
		"  -h, --help\n\n");
	vsnd_audio_opts_usage(f);
}

static int parse_args(struct options *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		VSND_AUDIO_LONG_OPTIONS,
		{ "format", required_argument, NULL, 'f' },
		{ "rate", required_argument, NULL, 'r' },
		{ "channels", required_argument, NULL, 'c' },
		{ "period-ms", required_argument, NULL, 'p' },
		{ "ring-periods", required_argument, NULL, 'R' },
		{ "duration", required_argument, NULL, 'd' },
		{ "signal", required_argument, NULL, 's' },
		{ "record", required_argument, NULL, 'o' },
		{ "volume", required_argument, NULL, 'V' },
		{ "mute", no_argument, NULL, 'm' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c, ret;
	long n;
	char *end;

	vsnd_audio_opts_init(&o->audio);
	o->format = VSND_AUDIO_FORMAT_S16;
	o->rate = 48000;
	o->channels = 2;
	o->period_ms = 10;
	o->ring_periods = 4;
	o->seconds = 3;
	o->signal = VSND_AUDIO_SIGNAL_TONES;
	o->volume = -1;

	while ((c = getopt_long(argc, argv, "f:r:c:p:d:s:qvh", longopts, NULL)) != -1) {
		ret = vsnd_audio_opts_handle(&o->audio, c, optarg);
		if (ret < 0)
			return -EINVAL;
		if (ret > 0)
			continue;
		errno = 0;
		switch (c) {
		case 'f':
			ret = vsnd_audio_format_from_name(optarg);
			if (ret < 0) {
				fprintf(stderr, "unknown format '%s'\n", optarg);
				return -EINVAL;
			}
			o->format = (enum vsnd_audio_format)ret;
			break;
		case 'r':
			if (!vsnd_parse_long(optarg, 0, UINT32_MAX, &n))
				goto bad;
			o->rate = (uint32_t)n;
			break;
		case 'c':
			if (!vsnd_parse_long(optarg, 0, UINT32_MAX, &n))
				goto bad;
			o->channels = (uint32_t)n;
			break;
		case 'p':
			o->period_ms = strtod(optarg, &end);
			if (*end || !(o->period_ms > 0 && o->period_ms <= 1000))
				goto bad;
			break;
		case 'R':
			if (!vsnd_parse_long(optarg, 0, UINT32_MAX, &n))
				goto bad;
			o->ring_periods = (uint32_t)n;
			break;
		case 'd':
			o->seconds = strtod(optarg, &end);
			if (*end || !(o->seconds > 0 && o->seconds < 86400))
				goto bad;
			break;
		case 's':
			ret = vsnd_audio_signal_kind_from_name(optarg);
			if (ret < 0)
				goto bad;
			o->signal = (enum vsnd_audio_signal_kind)ret;
			break;
		case 'o':
			o->record = optarg;
			break;
		case 'V':
			o->volume = strtof(optarg, &end);
			if (*end || !(o->volume >= 0 && o->volume <= 1.5f))
				goto bad;
			break;
		case 'm':
			o->mute = true;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
bad:
	fprintf(stderr, "invalid value '%s' for -%c\n", optarg, c);
	return -EINVAL;
}

static void track(struct vsnd_audio_stream *s, struct stats *st, uint64_t now)
{
	struct vsnd_audio_status status;
	vsnd_audio_stream_get_status(s, &status);
	if (status.state != st->last_state) {
		vsnd_info(&log_tone, "stream state: %s", vsnd_audio_state_name(status.state));
		if (status.state == VSND_AUDIO_STATE_DISCONNECTED) {
			st->disconnected_at = now;
		} else if (st->last_state == VSND_AUDIO_STATE_DISCONNECTED && st->disconnected_at) {
			uint64_t outage = now - st->disconnected_at;
			if (outage > st->longest_outage_ns)
				st->longest_outage_ns = outage;
			vsnd_info(&log_tone, "reconnected after %.0f ms", outage / 1e6);
		}
		st->last_state = status.state;
	}
	if (status.state == VSND_AUDIO_STATE_RUNNING) {
		uint64_t lat = (uint64_t)status.ring_frames + status.delay_frames;
		st->lat_sum_frames += lat;
		st->lat_samples++;
		if (lat > st->lat_max_frames)
			st->lat_max_frames = lat;
		if (status.delay_frames > st->delay_max)
			st->delay_max = status.delay_frames;
	}
}

static int make_signalfd(void)
{
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	return signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* Wait for the stream fd or a signal; returns false when a signal asks to stop. */
static bool wait_event(struct vsnd_audio_stream *s, int sfd, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = vsnd_audio_stream_fd(s), .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};
	if (poll(pfd, 2, timeout_ms) < 0 && errno != EINTR)
		return false;
	if (pfd[1].revents & POLLIN) {
		vsnd_info(&log_tone, "interrupted");
		return false;
	}
	vsnd_audio_stream_dispatch(s);
	return true;
}

static uint64_t fill(struct vsnd_audio_stream *s, struct vsnd_audio_signal *gen, uint64_t left)
{
	struct vsnd_ring_area a[2];
	uint32_t max = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
	uint32_t n = vsnd_ring_write_begin(vsnd_audio_stream_ring(s), a, max);
	vsnd_audio_signal_fill(gen, a[0].data, a[0].frames);
	if (a[1].frames)
		vsnd_audio_signal_fill(gen, a[1].data, a[1].frames);
	vsnd_ring_write_commit(vsnd_audio_stream_ring(s), n);
	if (n)
		vsnd_audio_stream_kick(s);
	return n;
}

static int play(struct options *o, struct vsnd_audio_stream *s, uint64_t total, int sfd,
		struct stats *st)
{
	struct vsnd_audio_signal gen;
	vsnd_audio_signal_init(&gen, o->signal, o->format, o->rate, o->channels);
	struct vsnd_ring *ring = vsnd_audio_stream_ring(s);
	uint64_t written = fill(s, &gen, total);
	int ret = vsnd_audio_stream_start(s);
	if (ret < 0)
		return ret;
	for (;;) {
		if (!wait_event(s, sfd, 200))
			return -EINTR;
		uint64_t now = vsnd_now_ns();
		track(s, st, now);
		if (written < total)
			written += fill(s, &gen, total - written);
		struct vsnd_audio_status status;
		vsnd_audio_stream_get_status(s, &status);
		if (status.state == VSND_AUDIO_STATE_ERROR)
			return -EIO;
		if (written == total && vsnd_ring_readable(ring) == 0 && status.frames >= total) {
			/* Everything left our ring: wait out what the server still holds. */
			vsnd_sleep_ns(vsnd_frames_to_ns(status.delay_frames, o->rate));
			return 0;
		}
	}
}

static int record(struct options *o, struct vsnd_audio_stream *s, uint64_t total, int sfd,
		  struct stats *st, uint64_t *frames_out)
{
	SF_INFO info = { .samplerate = (int)o->rate, .channels = (int)o->channels };
	static const int subtype[] = { SF_FORMAT_PCM_U8, SF_FORMAT_PCM_16, SF_FORMAT_PCM_24,
				       SF_FORMAT_PCM_24, SF_FORMAT_PCM_32, SF_FORMAT_FLOAT };
	info.format = SF_FORMAT_WAV | subtype[o->format];
	SNDFILE *f = sf_open(o->record, SFM_WRITE, &info);
	if (!f) {
		vsnd_error(&log_tone, "cannot write %s: %s", o->record, sf_strerror(NULL));
		return -EIO;
	}
	struct vsnd_ring *ring = vsnd_audio_stream_ring(s);
	uint32_t fb = vsnd_audio_stream_frame_bytes(s);
	uint32_t samples_max = vsnd_ring_capacity(ring) * o->channels;
	int32_t *conv = calloc(samples_max, sizeof(int32_t));
	int ret = conv ? vsnd_audio_stream_start(s) : -ENOMEM;
	uint64_t got = 0;

	while (ret == 0 && got < total) {
		if (!wait_event(s, sfd, 200)) {
			ret = -EINTR;
			break;
		}
		track(s, st, vsnd_now_ns());
		struct vsnd_ring_area a[2];
		uint64_t left = total - got;
		uint32_t n = vsnd_ring_read_begin(ring, a, left > UINT32_MAX ? UINT32_MAX : (uint32_t)left);
		for (int i = 0; i < 2 && ret == 0; i++) {
			if (!a[i].frames)
				continue;
			sf_count_t bytes = (sf_count_t)a[i].frames * fb;
			if (o->format == VSND_AUDIO_FORMAT_S24) {
				/* S24 in 32 to the file's packed 24 bits: sf_write_int takes left-justified ints. */
				const int32_t *in = a[i].data;
				for (uint32_t k = 0; k < a[i].frames * o->channels; k++)
					conv[k] = (int32_t)((uint32_t)in[k] << 8);
				if (sf_writef_int(f, conv, a[i].frames) != a[i].frames)
					ret = -EIO;
			} else if (sf_write_raw(f, a[i].data, bytes) != bytes) {
				ret = -EIO;
			}
		}
		vsnd_ring_read_commit(ring, n);
		vsnd_audio_stream_kick(s);
		got += n;
		struct vsnd_audio_status status;
		vsnd_audio_stream_get_status(s, &status);
		if (status.state == VSND_AUDIO_STATE_ERROR)
			ret = -EIO;
		if (status.state == VSND_AUDIO_STATE_ENDED && vsnd_ring_readable(ring) == 0)
			break;
	}
	*frames_out = got;
	free(conv);
	sf_close(f);
	return ret;
}

/* CPU seconds and context switches (wake-ups) of the whole process, all threads. */
static double cpu_seconds(long *ctxsw)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	if (ctxsw)
		*ctxsw = ru.ru_nvcsw + ru.ru_nivcsw;
	return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	struct options o;
	struct stats st = { .last_state = VSND_AUDIO_STATE_PAUSED };
	if (parse_args(&o, argc, argv) < 0)
		return 2;

	int sfd = make_signalfd();
	struct vsnd_audio *audio = vsnd_audio_new(&o.audio);
	if (!audio) {
		fprintf(stderr, "vsnd-tone: cannot open the %s audio backend: %s\n",
			o.audio.backend, strerror(errno));
		return 1;
	}

	uint32_t period = (uint32_t)lround(o.rate * o.period_ms / 1000.0);
	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, o.record ? VSND_AUDIO_CAPTURE : VSND_AUDIO_PLAYBACK,
			       o.format, o.rate, o.channels, period);
	p.ring_periods = o.ring_periods;
	p.volume = o.volume;
	p.muted = o.mute;
	p.stream_name = o.record ? "tone-record" : "tone";
	struct vsnd_audio_stream *s = vsnd_audio_stream_new(audio, &p);
	if (!s) {
		int err = errno;
		fprintf(stderr, "vsnd-tone: cannot open the stream: %s\n", strerror(err));
		vsnd_audio_destroy(audio);
		return err == EINVAL || err == ENOTSUP ? 2 : 1;
	}

	uint64_t total = (uint64_t)llround(o.seconds * o.rate);
	if (!o.quiet)
		printf("backend: %s (%s)\n%s: %s, %u Hz, %u channels, period %u frames (%.1f ms), ring %u periods\n",
		       vsnd_audio_backend_name(audio), vsnd_audio_describe(audio),
		       o.record ? "recording" : "playing", vsnd_audio_format_name(o.format),
		       o.rate, o.channels, period, period * 1000.0 / o.rate, p.ring_periods);
	fflush(stdout);

	long sw0, sw1;
	double cpu0 = cpu_seconds(&sw0);
	uint64_t t0 = vsnd_now_ns(), frames_recorded = 0;
	int ret = o.record ? record(&o, s, total, sfd, &st, &frames_recorded)
			   : play(&o, s, total, sfd, &st);
	double wall = (vsnd_now_ns() - t0) / 1e9, cpu = cpu_seconds(&sw1) - cpu0;

	struct vsnd_audio_status status;
	vsnd_audio_stream_get_status(s, &status);
	vsnd_audio_stream_stop(s);
	double lat_ms = st.lat_samples ? st.lat_sum_frames * 1000.0 / st.lat_samples / o.rate : 0;
	if (!o.quiet)
		printf("latency: %.1f ms mean, %.1f ms max (our ring + %.1f ms held by the backend)\n"
		       "moved %llu frames in %.2f s, %llu underrun frames, %llu overrun frames, "
		       "%u reconnects, CPU %.2f%% of one core\n",
		       lat_ms, st.lat_max_frames * 1000.0 / o.rate, st.delay_max * 1000.0 / o.rate,
		       (unsigned long long)status.frames, wall,
		       (unsigned long long)status.underrun_frames,
		       (unsigned long long)status.overrun_frames, status.reconnects,
		       wall > 0 ? 100.0 * cpu / wall : 0.0);
	printf("result: status=%s backend=%s frames=%llu recorded=%llu underrun=%llu overrun=%llu "
	       "reconnects=%u latency_ms=%.2f delay_max_ms=%.2f outage_ms=%.0f cpu_s=%.4f wall_s=%.3f ctxsw=%ld\n",
	       ret == 0 ? "ok" : strerror(-ret), vsnd_audio_backend_name(audio),
	       (unsigned long long)status.frames, (unsigned long long)frames_recorded,
	       (unsigned long long)status.underrun_frames,
	       (unsigned long long)status.overrun_frames, status.reconnects, lat_ms,
	       st.delay_max * 1000.0 / o.rate, st.longest_outage_ns / 1e6, cpu, wall, sw1 - sw0);
	if (!o.quiet && !o.record && strcmp(vsnd_audio_backend_name(audio), "wav") == 0)
		printf("output written to %s\n", o.audio.wav_out ? o.audio.wav_out : VSND_AUDIO_DEFAULT_WAV_OUT);

	vsnd_audio_stream_destroy(s);
	vsnd_audio_destroy(audio);
	if (sfd >= 0)
		close(sfd);
	return ret == 0 ? 0 : 1;
}
