/* SPDX-License-Identifier: MIT */
/*
 * A test ALSA device: an ioplug plugin that paces like a sound card, for the
 * integration tests of the alsa backend (the null and file plugins accept
 * any amount at once, so they can neither xrun nor refuse a rate).
 *
 *   pcm_type.vsndtest { lib "/path/to/libasound_module_pcm_vsndtest.so" }
 *   pcm.card {
 *       type vsndtest
 *       file "out.raw"        # playback: every frame written, raw, in order
 *       infile "in.raw"       # capture: frames to deliver (looped; else zeros)
 *       stats "stats.txt"     # written at close: xruns=N gap_frames=N ...
 *       rates [ 44100 48000 ] # supported rates (default 8000..192000)
 *       channels_max 2        # (default 8)
 *       formats [ S16_LE ]    # (default: every format vsnd uses)
 *   }
 *
 * The clock is CLOCK_MONOTONIC from start: the hardware pointer is the time
 * since start in frames; the poll descriptor is a timerfd armed for the
 * moment a period of room or data is there. Playback underruns when the clock passes what the application
 * wrote, capture overruns when the application is a whole buffer behind;
 * both report -EPIPE like a real card. The silence a listener would have
 * heard (from the moment playback ran dry until the restart), or the frames
 * the clock captured that the application never got (capture), is counted
 * as gap_frames, so a test can compare it with what the backend reported.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <alsa/asoundlib.h>
#include <alsa/pcm_external.h>

struct vt {
	snd_pcm_ioplug_t io;
	FILE *out;
	FILE *in;
	char *stats_path;
	int timer_fd;
	uint64_t start_ns;
	bool running;
	bool xrun;
	uint64_t dry_ns; /* playback: when the data ran out (0 = not dry) */
	uint64_t xrun_start_ns; /* capture: start of the run that overran (0 = none) */
	uint64_t xrun_appl;     /* capture: frames the application had read in it */
	unsigned long xruns;
	unsigned long long gap_frames;
	unsigned long long frames;
	unsigned long starts;
	char chmap[128];
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Frames the clock has moved since start. */
static uint64_t clock_frames(struct vt *v)
{
	if (!v->running)
		return 0;
	return (now_ns() - v->start_ns) * v->io.rate / 1000000000ull;
}

static snd_pcm_sframes_t vt_pointer(snd_pcm_ioplug_t *io)
{
	struct vt *v = io->private_data;
	uint64_t hw = clock_frames(v), appl = io->appl_ptr;
	if (v->xrun)
		return -EPIPE;
	if (io->stream == SND_PCM_STREAM_PLAYBACK && hw > appl) {
		v->xrun = true;
		v->xruns++;
		v->dry_ns = v->start_ns + appl * 1000000000ull / io->rate;
		return -EPIPE;
	}
	if (io->stream == SND_PCM_STREAM_CAPTURE && hw > appl + io->buffer_size) {
		v->xrun = true;
		v->xruns++;
		v->xrun_start_ns = v->start_ns;
		v->xrun_appl = appl;
		return -EPIPE;
	}
	return (snd_pcm_sframes_t)(hw % io->buffer_size);
}

/*
 * Like a card's interrupt with avail_min = one period: the poll descriptor
 * becomes readable the moment a period of room (playback) or data
 * (capture) is there, at once if it already is.
 */
static int rearm(struct vt *v)
{
	snd_pcm_ioplug_t *io = &v->io;
	if (!v->running)
		return 0;
	int64_t target = (int64_t)io->appl_ptr + (int64_t)io->period_size;
	if (io->stream == SND_PCM_STREAM_PLAYBACK)
		target -= (int64_t)io->buffer_size;
	uint64_t at = v->start_ns + (target > 0 ? (uint64_t)target * 1000000000ull / io->rate : 0);
	at = at > now_ns() ? at : 1; /* 1 ns since boot: already due */
	struct itimerspec its = {
		.it_value = { .tv_sec = (time_t)(at / 1000000000ull), .tv_nsec = (long)(at % 1000000000ull) },
	};
	return timerfd_settime(v->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? -errno : 0;
}

static int vt_start(snd_pcm_ioplug_t *io)
{
	struct vt *v = io->private_data;
	v->start_ns = now_ns();
	if (v->dry_ns) {
		v->gap_frames += (v->start_ns - v->dry_ns) * io->rate / 1000000000ull;
		v->dry_ns = 0;
	}
	if (v->xrun_start_ns) {
		/* Captured by the clock in the overrun run but never read: dropped by prepare. */
		uint64_t produced = (v->start_ns - v->xrun_start_ns) * io->rate / 1000000000ull;
		v->gap_frames += produced > v->xrun_appl ? produced - v->xrun_appl : 0;
		v->xrun_start_ns = 0;
	}
	v->running = true;
	v->xrun = false;
	v->starts++;
	return rearm(v);
}

static int vt_stop(snd_pcm_ioplug_t *io)
{
	struct vt *v = io->private_data;
	struct itimerspec its = { 0 };
	v->running = false;
	timerfd_settime(v->timer_fd, 0, &its, NULL);
	return 0;
}

static int vt_prepare(snd_pcm_ioplug_t *io)
{
	struct vt *v = io->private_data;
	v->running = false;
	v->xrun = false;
	return 0;
}

static snd_pcm_sframes_t vt_transfer(snd_pcm_ioplug_t *io, const snd_pcm_channel_area_t *areas,
				     snd_pcm_uframes_t offset, snd_pcm_uframes_t size)
{
	struct vt *v = io->private_data;
	size_t fb = (size_t)snd_pcm_format_physical_width(io->format) / 8 * io->channels;
	uint8_t *p = (uint8_t *)areas[0].addr + (areas[0].first / 8) + offset * fb;
	if (io->stream == SND_PCM_STREAM_PLAYBACK) {
		if (v->out && fwrite(p, fb, size, v->out) != size)
			return -EIO;
	} else {
		size_t got = 0;
		bool empty_pass = false;
		/* Loop the input; an empty file gives silence rather than a spin. */
		while (v->in && got < size) {
			size_t n = fread(p + got * fb, fb, size - got, v->in);
			got += n;
			if (got < size) {
				if (n == 0 && empty_pass)
					break;
				empty_pass = n == 0;
				rewind(v->in);
			}
		}
		if (got < size)
			snd_pcm_format_set_silence(io->format, p + got * fb, (unsigned)((size - got) * io->channels));
	}
	v->frames += size;
	/* appl_ptr moves after this returns: wake once to look again. */
	struct itimerspec its = { .it_value = { .tv_nsec = 1 } };
	if (v->running)
		timerfd_settime(v->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
	return (snd_pcm_sframes_t)size;
}

static int vt_poll_revents(snd_pcm_ioplug_t *io, struct pollfd *pfd, unsigned int nfds,
			   unsigned short *revents)
{
	struct vt *v = io->private_data;
	uint64_t ticks;
	(void)nfds;
	if (pfd[0].revents & POLLIN) {
		ssize_t r = read(v->timer_fd, &ticks, sizeof(ticks));
		(void)r;
	}
	/* Computed here: the pcm is locked while this runs, alsa-lib may not be re-entered. */
	uint64_t hw = clock_frames(v), appl = io->appl_ptr;
	if (io->stream == SND_PCM_STREAM_PLAYBACK) {
		if (v->xrun || hw > appl)
			*revents = POLLERR;
		else
			*revents = io->buffer_size - (appl - hw) >= io->period_size ? POLLOUT : 0;
	} else {
		if (v->xrun || hw > appl + io->buffer_size)
			*revents = POLLERR;
		else
			*revents = hw - appl >= io->period_size ? POLLIN : 0;
	}
	/* Level-triggered like a card: readable again at once while the condition holds. */
	rearm(v);
	return 0;
}

static int vt_set_chmap(snd_pcm_ioplug_t *io, const snd_pcm_chmap_t *map)
{
	struct vt *v = io->private_data;
	(void)io;
	if (snd_pcm_chmap_print(map, sizeof(v->chmap), v->chmap) < 0)
		v->chmap[0] = 0;
	for (char *c = v->chmap; *c; c++)
		if (*c == ' ')
			*c = ',';
	return 0;
}

static int vt_close(snd_pcm_ioplug_t *io)
{
	struct vt *v = io->private_data;
	if (v->stats_path) {
		FILE *f = fopen(v->stats_path, "w");
		if (f) {
			fprintf(f, "xruns=%lu gap_frames=%llu frames=%llu starts=%lu rate=%u chmap=%s\n",
				v->xruns, v->gap_frames, v->frames, v->starts, v->io.rate,
				v->chmap[0] ? v->chmap : "none");
			fclose(f);
		}
	}
	if (v->out)
		fclose(v->out);
	if (v->in)
		fclose(v->in);
	close(v->timer_fd);
	free(v->stats_path);
	free(v);
	return 0;
}

static const snd_pcm_ioplug_callback_t vt_callbacks = {
	.start = vt_start,
	.stop = vt_stop,
	.pointer = vt_pointer,
	.transfer = vt_transfer,
	.prepare = vt_prepare,
	.poll_revents = vt_poll_revents,
	.set_chmap = vt_set_chmap,
	.close = vt_close,
};

static int int_list(snd_config_t *n, unsigned int *out, unsigned int max)
{
	long val;
	unsigned int count = 0;
	if (snd_config_get_integer(n, &val) == 0) {
		out[0] = (unsigned int)val;
		return 1;
	}
	snd_config_iterator_t i, next;
	snd_config_for_each(i, next, n) {
		if (count == max || snd_config_get_integer(snd_config_iterator_entry(i), &val) < 0)
			return -EINVAL;
		out[count++] = (unsigned int)val;
	}
	return (int)count;
}

static int format_list(snd_config_t *n, unsigned int *out, unsigned int max)
{
	const char *s;
	unsigned int count = 0;
	snd_config_iterator_t i, next;
	if (snd_config_get_string(n, &s) == 0) {
		out[0] = (unsigned int)snd_pcm_format_value(s);
		return out[0] == (unsigned int)SND_PCM_FORMAT_UNKNOWN ? -EINVAL : 1;
	}
	snd_config_for_each(i, next, n) {
		if (count == max || snd_config_get_string(snd_config_iterator_entry(i), &s) < 0)
			return -EINVAL;
		snd_pcm_format_t f = snd_pcm_format_value(s);
		if (f == SND_PCM_FORMAT_UNKNOWN)
			return -EINVAL;
		out[count++] = (unsigned int)f;
	}
	return (int)count;
}

/* The entry point alsa-lib looks up by name: declared for -Wmissing-prototypes. */
SND_PCM_PLUGIN_DEFINE_FUNC(vsndtest);

SND_PCM_PLUGIN_DEFINE_FUNC(vsndtest)
{
	const char *file = NULL, *infile = NULL, *stats = NULL;
	unsigned int rates[16], formats[16];
	int n_rates = 0, n_formats = 0, err;
	long channels_max = 8;
	snd_config_iterator_t i, next;
	(void)root;

	snd_config_for_each(i, next, conf) {
		snd_config_t *n = snd_config_iterator_entry(i);
		const char *id;
		if (snd_config_get_id(n, &id) < 0)
			continue;
		if (!strcmp(id, "comment") || !strcmp(id, "type") || !strcmp(id, "hint"))
			continue;
		if (!strcmp(id, "file"))
			err = snd_config_get_string(n, &file);
		else if (!strcmp(id, "infile"))
			err = snd_config_get_string(n, &infile);
		else if (!strcmp(id, "stats"))
			err = snd_config_get_string(n, &stats);
		else if (!strcmp(id, "channels_max"))
			err = snd_config_get_integer(n, &channels_max);
		else if (!strcmp(id, "rates"))
			err = n_rates = int_list(n, rates, 16);
		else if (!strcmp(id, "formats"))
			err = n_formats = format_list(n, formats, 16);
		else
			err = -EINVAL;
		if (err < 0) {
			SNDERR("vsndtest: bad field %s", id);
			return -EINVAL;
		}
	}

	struct vt *v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (v->timer_fd < 0) {
		free(v);
		return -errno;
	}
	if (stream == SND_PCM_STREAM_PLAYBACK && file && !(v->out = fopen(file, "wb")))
		err = -errno;
	else if (stream == SND_PCM_STREAM_CAPTURE && infile && !(v->in = fopen(infile, "rb")))
		err = -errno;
	else
		err = 0;
	if (!err && stats && !(v->stats_path = strdup(stats)))
		err = -ENOMEM;
	if (err) {
		if (v->out)
			fclose(v->out);
		close(v->timer_fd);
		free(v);
		return err;
	}

	v->io.version = SND_PCM_IOPLUG_VERSION;
	v->io.name = "vsnd test card";
	v->io.flags = SND_PCM_IOPLUG_FLAG_MONOTONIC;
	v->io.poll_fd = v->timer_fd;
	v->io.poll_events = POLLIN;
	v->io.mmap_rw = 0;
	v->io.callback = &vt_callbacks;
	v->io.private_data = v;
	err = snd_pcm_ioplug_create(&v->io, name, stream, mode);
	if (err < 0) {
		vt_close(&v->io);
		return err;
	}

	/* mmap too: the plug layer's rate converter drives its slave that way. */
	static const unsigned int access[] = { SND_PCM_ACCESS_RW_INTERLEAVED,
					       SND_PCM_ACCESS_MMAP_INTERLEAVED };
	static const unsigned int all_formats[] = {
		SND_PCM_FORMAT_U8, SND_PCM_FORMAT_S16_LE, SND_PCM_FORMAT_S24_LE,
		SND_PCM_FORMAT_S24_3LE, SND_PCM_FORMAT_S32_LE, SND_PCM_FORMAT_FLOAT_LE,
	};
	if ((err = snd_pcm_ioplug_set_param_list(&v->io, SND_PCM_IOPLUG_HW_ACCESS, 2, access)) < 0 ||
	    (err = n_formats ? snd_pcm_ioplug_set_param_list(&v->io, SND_PCM_IOPLUG_HW_FORMAT, (unsigned)n_formats, formats)
			     : snd_pcm_ioplug_set_param_list(&v->io, SND_PCM_IOPLUG_HW_FORMAT, 6, all_formats)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(&v->io, SND_PCM_IOPLUG_HW_CHANNELS, 1, (unsigned)channels_max)) < 0 ||
	    (err = n_rates ? snd_pcm_ioplug_set_param_list(&v->io, SND_PCM_IOPLUG_HW_RATE, (unsigned)n_rates, rates)
			   : snd_pcm_ioplug_set_param_minmax(&v->io, SND_PCM_IOPLUG_HW_RATE, 8000, 192000)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(&v->io, SND_PCM_IOPLUG_HW_PERIOD_BYTES, 64, 1 << 20)) < 0 ||
	    (err = snd_pcm_ioplug_set_param_minmax(&v->io, SND_PCM_IOPLUG_HW_PERIODS, 2, 64)) < 0) {
		snd_pcm_ioplug_delete(&v->io);
		return err;
	}
	*pcmp = v->io.pcm;
	return 0;
}

SND_PCM_PLUGIN_SYMBOL(vsndtest);
