/* SPDX-License-Identifier: MIT */
/*
 * vsnd-play / vsnd-rec: a user-space virtio-snd driver. Plays any file
 * libsndfile reads through a vhost-user sound backend, or records from one
 * into a WAV file -- no VM needed. The program's name decides the direction
 * (vsnd-rec is a link to vsnd-play).
 */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "snd-drv.h"
#include "snd.h"
#include "vsnd/audio.h"
#include "vsnd/clock.h"
#include "vsnd/log.h"
#include "vsnd/parse.h"

struct opts {
	const char *socket;
	double period_ms, buffer_ms, seconds;
	int format, rate, channels; /* vsnd-rec; -1 = default */
	const char *file;
	const char *jitter_out; /* write each completion's deviation (ms) here */
	bool record;
};

static void usage(FILE *f, bool record)
{
	if (record)
		fprintf(f, "Usage: vsnd-rec --socket PATH [-d SECONDS] [-f FMT] [-r RATE] [-c CH]\n"
			   "                [--period-ms N] [--buffer-ms N] FILE.wav\n"
			   "Record from a vhost-user sound backend's capture stream into a WAV file.\n");
	else
		fprintf(f, "Usage: vsnd-play --socket PATH [--period-ms N] [--buffer-ms N] FILE\n"
			   "Play any file libsndfile reads through a vhost-user sound backend.\n");
}

/* The file's own sample format as virtio-snd names it. */
static int native_format(const SF_INFO *info)
{
	switch (info->format & SF_FORMAT_SUBMASK) {
	case SF_FORMAT_PCM_U8: return VIRTIO_SND_PCM_FMT_U8;
	case SF_FORMAT_PCM_16: return VIRTIO_SND_PCM_FMT_S16;
	case SF_FORMAT_PCM_24: return VIRTIO_SND_PCM_FMT_S24_3;
	case SF_FORMAT_PCM_32: return VIRTIO_SND_PCM_FMT_S32;
	case SF_FORMAT_FLOAT: return VIRTIO_SND_PCM_FMT_FLOAT;
	default: return -1;
	}
}

/* Read @frames frames in virtio format @fmt; libsndfile converts when the file differs. */
static sf_count_t read_frames(SNDFILE *f, int fmt, int ch, void *buf, uint32_t frames, int32_t *tmp)
{
	sf_count_t n;
	uint8_t *o = buf;
	switch (fmt) {
	case VIRTIO_SND_PCM_FMT_S16: return sf_readf_short(f, buf, frames);
	case VIRTIO_SND_PCM_FMT_S32: return sf_readf_int(f, buf, frames);
	case VIRTIO_SND_PCM_FMT_FLOAT: return sf_readf_float(f, buf, frames);
	case VIRTIO_SND_PCM_FMT_S24: {
		n = sf_readf_int(f, buf, frames);
		int32_t *p = buf;
		for (sf_count_t i = 0; i < n * ch; i++)
			p[i] /= 256;
		return n;
	}
	case VIRTIO_SND_PCM_FMT_S24_3:
		n = sf_readf_int(f, tmp, frames);
		for (sf_count_t i = 0; i < n * ch; i++) {
			uint32_t v = (uint32_t)tmp[i] >> 8;
			o[3 * i] = (uint8_t)v;
			o[3 * i + 1] = (uint8_t)(v >> 8);
			o[3 * i + 2] = (uint8_t)(v >> 16);
		}
		return n;
	case VIRTIO_SND_PCM_FMT_U8:
		n = sf_readf_int(f, tmp, frames);
		for (sf_count_t i = 0; i < n * ch; i++)
			o[i] = (uint8_t)(((uint32_t)tmp[i] >> 24) ^ 0x80);
		return n;
	}
	return -1;
}

static int parse(struct opts *o, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "socket-path", required_argument, NULL, 's' },
		{ "period-ms", required_argument, NULL, 'p' },
		{ "buffer-ms", required_argument, NULL, 'b' },
		{ "duration", required_argument, NULL, 'd' },
		{ "format", required_argument, NULL, 'f' },
		{ "rate", required_argument, NULL, 'r' },
		{ "channels", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "jitter-out", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;
	long n = 0;
	bool ok = true; /* a number that does not parse is a usage error, not a 0 */
	*o = (struct opts){ .period_ms = 10, .buffer_ms = 40, .seconds = 3, .format = -1, .rate = 48000,
			    .channels = 2 };
	o->record = strcmp(basename(argv[0]), "vsnd-rec") == 0;
	while ((c = getopt_long(argc, argv, "s:p:b:d:f:r:c:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': o->socket = optarg; break;
		case 'p': ok &= vsnd_parse_double(optarg, 0, 1000, &o->period_ms); break;
		case 'b': ok &= vsnd_parse_double(optarg, 0, 60000, &o->buffer_ms); break;
		case 'd': ok &= vsnd_parse_double(optarg, 0, 86400, &o->seconds); break;
		case 'f': {
			int f = vsnd_audio_format_from_name(optarg);
			o->format = f < 0 ? -2 : snd_format_from_audio((enum vsnd_audio_format)f);
			break;
		}
		case 'r': ok &= vsnd_parse_long(optarg, 0, INT_MAX, &n); o->rate = (int)n; break;
		case 'c': ok &= vsnd_parse_long(optarg, 0, INT_MAX, &n); o->channels = (int)n; break;
		case 'v': vsnd_log_more_verbose(1); break;
		case 'J': o->jitter_out = optarg; break;
		case 'h': usage(stdout, o->record); exit(0);
		default: usage(stderr, o->record); return -1;
		}
	}
	if (!ok || !o->socket || optind + 1 != argc || !(o->period_ms > 0) || !(o->buffer_ms >= 2 * o->period_ms) ||
	    !(o->seconds > 0) || o->format == -2) {
		usage(stderr, o->record);
		return -1;
	}
	o->file = argv[optind];
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * Completion jitter: completion n should come at t0 + n * period. The
 * deviations, less their median (a constant offset is latency, not jitter),
 * in absolute value: p50, p99, max.
 */
static void report_jitter(struct snd_drv *d, uint32_t period_frames, uint32_t rate, const char *out)
{
	size_t n;
	const uint64_t *t = snd_drv_completion_times(d, &n);
	if (n < 10)
		return;
	int64_t *dev = calloc(n, sizeof(*dev));
	for (size_t i = 0; i < n; i++)
		dev[i] = (int64_t)(t[i] - t[0]) - (int64_t)vsnd_frames_to_ns((uint64_t)i * period_frames, rate);
	qsort(dev, n, sizeof(*dev), cmp_i64);
	int64_t med = dev[n / 2];
	for (size_t i = 0; i < n; i++)
		dev[i] = dev[i] > med ? dev[i] - med : med - dev[i];
	qsort(dev, n, sizeof(*dev), cmp_i64);
	FILE *f = out ? fopen(out, "w") : NULL;
	for (size_t i = 0; f && i < n; i++)
		fprintf(f, "%.4f\n", dev[i] / 1e6);
	if (f)
		fclose(f);
	printf("completion jitter: p50 %.3f ms, p99 %.3f ms, max %.3f ms over %zu periods\n", dev[n / 2] / 1e6,
	       dev[n * 99 / 100] / 1e6, dev[n - 1] / 1e6, n);
	free(dev);
}

static void report(struct snd_drv *d, uint32_t frame_bytes, uint32_t rate, uint64_t frames, double wall)
{
	struct snd_drv_stats st;
	snd_drv_get_stats(d, &st);
	printf("%llu frames in %.2f s, %llu periods; latency reported by the device: %.1f ms last, %.1f ms max; "
	       "%llu xruns, %llu bad statuses\n",
	       (unsigned long long)frames, wall, (unsigned long long)st.periods,
	       st.latency_bytes * 1000.0 / frame_bytes / rate, st.latency_max * 1000.0 / frame_bytes / rate,
	       (unsigned long long)st.xruns, (unsigned long long)st.bad_status);
}

static int play(struct opts *o, struct snd_drv *d)
{
	SF_INFO info = { 0 };
	SNDFILE *f = sf_open(o->file, SFM_READ, &info);
	if (!f) {
		fprintf(stderr, "vsnd-play: %s: %s\n", o->file, sf_strerror(NULL));
		return 1;
	}
	int id = snd_drv_find_stream(d, VIRTIO_SND_D_OUTPUT);
	if (id < 0) {
		fprintf(stderr, "vsnd-play: the device has no output stream\n");
		return 1;
	}
	const struct virtio_snd_pcm_info *pi = snd_drv_stream(d, (uint32_t)id);
	int rate = snd_rate_from_hz((uint32_t)info.samplerate);
	if (rate < 0 || !(le64toh(pi->rates) & (1ull << rate))) {
		fprintf(stderr, "vsnd-play: the device cannot play %d Hz (vsnd does not resample)\n", info.samplerate);
		return 1;
	}
	if (info.channels < pi->channels_min || info.channels > pi->channels_max) {
		fprintf(stderr, "vsnd-play: the device takes %u..%u channels, the file has %d\n",
			pi->channels_min, pi->channels_max, info.channels);
		return 1;
	}
	uint64_t formats = le64toh(pi->formats);
	int fmt = native_format(&info);
	if (fmt < 0 || !(formats & (1ull << fmt))) {
		static const int prefer[] = { VIRTIO_SND_PCM_FMT_FLOAT, VIRTIO_SND_PCM_FMT_S32,
					      VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_FMT_S24_3,
					      VIRTIO_SND_PCM_FMT_U8 };
		int pick = -1;
		for (unsigned i = 0; i < sizeof(prefer) / sizeof(prefer[0]) && pick < 0; i++)
			if (formats & (1ull << prefer[i]))
				pick = prefer[i];
		if (pick < 0) {
			fprintf(stderr, "vsnd-play: the device offers no sample format vsnd can write\n");
			return 1;
		}
		printf("the device lacks the file's sample format: converting to %s\n",
		       vsnd_audio_format_name((enum vsnd_audio_format)snd_format_to_audio((uint8_t)pick)));
		fmt = pick;
	}
	uint32_t fb = vsnd_audio_frame_bytes((enum vsnd_audio_format)snd_format_to_audio((uint8_t)fmt),
					     (uint32_t)info.channels);
	uint32_t period = (uint32_t)lround(info.samplerate * o->period_ms / 1000.0);
	uint32_t periods = (uint32_t)lround(o->buffer_ms / o->period_ms);
	int ret = snd_drv_prepare(d, (uint32_t)id, (uint8_t)fmt, (uint8_t)rate, (uint8_t)info.channels,
				  period * fb, period * fb * periods);
	if (ret < 0) {
		fprintf(stderr, "vsnd-play: the device refused the stream: %s\n", strerror(-ret));
		return 1;
	}
	printf("playing %s: %s, %d Hz, %d channels, period %u frames, %u periods, stream %d\n", o->file,
	       vsnd_audio_format_name((enum vsnd_audio_format)snd_format_to_audio((uint8_t)fmt)),
	       info.samplerate, info.channels, period, periods, id);
	uint8_t *buf = calloc(period, fb);
	int32_t *tmp = calloc((size_t)period * (size_t)info.channels, sizeof(int32_t));
	uint64_t frames = 0, t0 = vsnd_now_ns();
	for (;;) {
		sf_count_t n = read_frames(f, fmt, info.channels, buf, period, tmp);
		if (n <= 0)
			break;
		/* The last period is padded with silence: the device takes whole periods. */
		if ((uint32_t)n < period)
			memset(buf + (size_t)n * fb, fmt == VIRTIO_SND_PCM_FMT_U8 ? 0x80 : 0,
			       (size_t)(period - (uint32_t)n) * fb);
		if ((ret = snd_drv_write(d, buf)) < 0)
			break;
		frames += (uint64_t)n;
	}
	int fin = snd_drv_finish(d);
	report(d, fb, (uint32_t)info.samplerate, frames, (vsnd_now_ns() - t0) / 1e9);
	report_jitter(d, period, (uint32_t)info.samplerate, o->jitter_out);
	free(buf);
	free(tmp);
	sf_close(f);
	return ret < 0 || fin < 0 ? 1 : 0;
}

static int record(struct opts *o, struct snd_drv *d)
{
	int id = snd_drv_find_stream(d, VIRTIO_SND_D_INPUT);
	if (id < 0) {
		fprintf(stderr, "vsnd-rec: the device has no input stream\n");
		return 1;
	}
	int fmt = o->format >= 0 ? o->format : VIRTIO_SND_PCM_FMT_S16;
	int rate = snd_rate_from_hz((uint32_t)o->rate);
	int afmt = snd_format_to_audio((uint8_t)fmt);
	if (rate < 0 || afmt < 0 || o->channels < 1 || o->channels > 8) {
		fprintf(stderr, "vsnd-rec: unsupported parameters\n");
		return 1;
	}
	uint32_t fb = vsnd_audio_frame_bytes((enum vsnd_audio_format)afmt, (uint32_t)o->channels);
	uint32_t period = (uint32_t)lround(o->rate * o->period_ms / 1000.0);
	uint32_t periods = (uint32_t)lround(o->buffer_ms / o->period_ms);
	int ret = snd_drv_prepare(d, (uint32_t)id, (uint8_t)fmt, (uint8_t)rate, (uint8_t)o->channels,
				  period * fb, period * fb * periods);
	if (ret < 0) {
		fprintf(stderr, "vsnd-rec: the device refused the stream: %s\n", strerror(-ret));
		return 1;
	}
	static const int subtype[] = { SF_FORMAT_PCM_U8, SF_FORMAT_PCM_16, SF_FORMAT_PCM_24,
				       SF_FORMAT_PCM_24, SF_FORMAT_PCM_32, SF_FORMAT_FLOAT };
	SF_INFO info = { .samplerate = o->rate, .channels = o->channels,
			 .format = SF_FORMAT_WAV | subtype[afmt] };
	SNDFILE *f = sf_open(o->file, SFM_WRITE, &info);
	if (!f) {
		fprintf(stderr, "vsnd-rec: %s: %s\n", o->file, sf_strerror(NULL));
		return 1;
	}
	uint8_t *buf = calloc(period, fb);
	int32_t *conv = calloc((size_t)period * (size_t)o->channels, sizeof(int32_t));
	uint64_t want = (uint64_t)llround(o->seconds * o->rate), frames = 0, t0 = vsnd_now_ns();
	while (frames < want) {
		if ((ret = snd_drv_read(d, buf)) < 0)
			break;
		uint32_t n = want - frames < period ? (uint32_t)(want - frames) : period;
		if (afmt == VSND_AUDIO_FORMAT_S24) {
			const int32_t *in = (const int32_t *)buf;
			for (uint32_t k = 0; k < n * (uint32_t)o->channels; k++)
				conv[k] = (int32_t)((uint32_t)in[k] << 8);
			sf_writef_int(f, conv, n);
		} else {
			sf_write_raw(f, buf, (sf_count_t)n * fb);
		}
		frames += n;
	}
	int fin = snd_drv_finish(d);
	report(d, fb, (uint32_t)o->rate, frames, (vsnd_now_ns() - t0) / 1e9);
	sf_close(f);
	free(buf);
	free(conv);
	return ret < 0 || fin < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o;
	if (parse(&o, argc, argv) < 0)
		return 2;
	struct snd_drv *d = snd_drv_new(o.socket, 5000);
	if (!d) {
		fprintf(stderr, "%s: cannot use the device at %s: %s\n", o.record ? "vsnd-rec" : "vsnd-play",
			o.socket, strerror(errno));
		return 1;
	}
	int ret = o.record ? record(&o, d) : play(&o, d);
	snd_drv_destroy(d);
	return ret;
}
