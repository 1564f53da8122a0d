/* SPDX-License-Identifier: MIT */
/*
 * Runs in the test guest: plays SECONDS of a 440 Hz tone (S16, 48 kHz,
 * stereo) on hw:0,0 with a 100 ms buffer and samples snd_pcm_delay() after
 * every write; prints "VSND-DELAY p50_ms=.. p99_ms=.. max_ms=.. n=..".
 * Every 100 ms it also prints "VSND-Q WRITTEN DELAY" (frames written so far,
 * snd_pcm_delay now): bench/vm.sh timestamps these lines as they reach the
 * host's console file and sets them against what the host has played by then.
 */
#include <alsa/asoundlib.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 30;
	snd_pcm_t *pcm;
	int err = snd_pcm_open(&pcm, "hw:0,0", SND_PCM_STREAM_PLAYBACK, 0);
	if (err < 0 || (err = snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED,
						 2, 48000, 0, 100000)) < 0) {
		fprintf(stderr, "open/params: %s\n", snd_strerror(err));
		return 1;
	}
	long total = (long)(seconds * 48000), done = 0, n_samples = 0;
	long *delays = calloc((size_t)(total / 240 + 16), sizeof(long));
	int16_t buf[2 * 480];
	while (done < total) {
		for (int i = 0; i < 480; i++)
			buf[2 * i] = buf[2 * i + 1] = (int16_t)(8000 * sin(2 * M_PI * 440 * (done + i) / 48000.0));
		snd_pcm_sframes_t w = snd_pcm_writei(pcm, buf, 480);
		if (w < 0) {
			w = snd_pcm_recover(pcm, (int)w, 0);
			if (w < 0)
				return 1;
			continue;
		}
		done += w;
		snd_pcm_sframes_t d;
		if (snd_pcm_delay(pcm, &d) == 0) {
			delays[n_samples++] = d;
			if (n_samples % 10 == 0) {
				printf("VSND-Q %ld %ld\n", done, (long)d);
				fflush(stdout);
			}
		}
	}
	snd_pcm_drain(pcm);
	snd_pcm_close(pcm);
	qsort(delays, (size_t)n_samples, sizeof(long), cmp);
	if (!n_samples)
		return 1;
	printf("VSND-DELAY p50_ms=%.2f p99_ms=%.2f max_ms=%.2f n=%ld\n", delays[n_samples / 2] / 48.0,
	       delays[n_samples * 99 / 100] / 48.0, delays[n_samples - 1] / 48.0, n_samples);
	return 0;
}
