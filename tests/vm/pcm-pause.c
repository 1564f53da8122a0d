/* SPDX-License-Identifier: MIT */
/*
 * Runs in the test guest: plays a WAV (16-bit PCM, as vsnd-tone writes it) on
 * hw:0,0, pausing for 500 ms in the middle (PCM_STOP, then PCM_START to the
 * device), then drains. Exit 0 on success.
 */
#include <alsa/asoundlib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	FILE *f = fopen(argv[1], "rb");
	if (!f)
		return 2;
	uint8_t hdr[44];
	if (fread(hdr, 1, 44, f) != 44)
		return 2;
	unsigned ch = hdr[22] | hdr[23] << 8;
	unsigned rate = hdr[24] | hdr[25] << 8 | hdr[26] << 16 | (unsigned)hdr[27] << 24;
	fseek(f, 0, SEEK_END);
	long bytes = ftell(f) - 44;
	fseek(f, 44, SEEK_SET);
	int16_t *buf = malloc((size_t)bytes);
	if (!buf || fread(buf, 1, (size_t)bytes, f) != (size_t)bytes)
		return 2;
	snd_pcm_uframes_t frames = (snd_pcm_uframes_t)bytes / (2 * ch);

	snd_pcm_t *pcm;
	int err = snd_pcm_open(&pcm, "hw:0,0", SND_PCM_STREAM_PLAYBACK, 0);
	if (err < 0 || (err = snd_pcm_set_params(pcm, SND_PCM_FORMAT_S16_LE, SND_PCM_ACCESS_RW_INTERLEAVED,
						 ch, rate, 0, 100000)) < 0) {
		fprintf(stderr, "open/params: %s\n", snd_strerror(err));
		return 1;
	}
	snd_pcm_hw_params_t *hw;
	snd_pcm_hw_params_alloca(&hw);
	snd_pcm_hw_params_current(pcm, hw);
	if (!snd_pcm_hw_params_can_pause(hw)) {
		fprintf(stderr, "the device cannot pause\n");
		return 1;
	}
	snd_pcm_uframes_t half = frames / 2, done = 0;
	while (done < frames) {
		if (done >= half && half) {
			if ((err = snd_pcm_pause(pcm, 1)) < 0) {
				fprintf(stderr, "pause: %s\n", snd_strerror(err));
				return 1;
			}
			usleep(500000);
			if ((err = snd_pcm_pause(pcm, 0)) < 0) {
				fprintf(stderr, "resume: %s\n", snd_strerror(err));
				return 1;
			}
			half = 0;
			printf("VSND-PAUSED-RESUMED\n");
		}
		snd_pcm_uframes_t n = frames - done < 1024 ? frames - done : 1024;
		if (half && done < half && done + n > half)
			n = half - done;
		snd_pcm_sframes_t w = snd_pcm_writei(pcm, buf + done * ch, n);
		if (w < 0) {
			fprintf(stderr, "write: %s\n", snd_strerror((int)w));
			return 1;
		}
		done += (snd_pcm_uframes_t)w;
	}
	snd_pcm_drain(pcm);
	snd_pcm_close(pcm);
	return 0;
}
