/* SPDX-License-Identifier: MIT */
/*
 * vsnd-wavcheck: assertions on a recorded audio file, for the integration
 * tests. Exit 0 when every requested check holds, 1 otherwise (with the
 * reason on stderr), 2 on usage errors.
 *
 *   --rate HZ / --channels N     the file's header must say so
 *   --tones                      the non-silent span carries the TONES signal
 *                                of vsnd-tone: channel c at 440*(c+2)/2 Hz
 *                                (measured by rising crossings of +-half
 *                                the peak, within 1 %),
 *                                with no silent gap inside the span
 *   --expect-frames N            the non-silent span is N frames long ...
 *   --tolerance F                ... within F frames (default 0)
 *   --max-gap F                  longest run of all-channel silence allowed
 *                                inside the span (default 2 frames)
 *   --same-as REF                samples equal REF's exactly (after trimming
 *                                leading/trailing silence with --trim)
 *   --counter                    every sample of frame n holds n (vsnd-tone
 *                                --signal counter, s16/s32): counts lost and
 *                                repeated frames, which must be 0
 *   --count-nonsilent N          exactly N frames are not silent (anywhere in the file)
 *   --threshold X                silence threshold (default 0.01 of full scale)
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sndfile.h>

#include "vsnd/audio-signal.h"

struct audio {
	SF_INFO info;
	double *d;  /* normalised samples */
	int32_t *i; /* left-justified integer samples (sf_readf_int) */
	sf_count_t frames;
};

static int load(const char *path, struct audio *a)
{
	memset(a, 0, sizeof(*a));
	SNDFILE *f = sf_open(path, SFM_READ, &a->info);
	if (!f) {
		fprintf(stderr, "cannot read %s: %s\n", path, sf_strerror(NULL));
		return -1;
	}
	size_t n = (size_t)a->info.frames * (size_t)a->info.channels;
	a->d = calloc(n + 1, sizeof(double));
	a->i = calloc(n + 1, sizeof(int32_t));
	if (!a->d || !a->i) {
		sf_close(f);
		return -1;
	}
	a->frames = sf_readf_double(f, a->d, a->info.frames);
	sf_seek(f, 0, SEEK_SET);
	/* Float files: compare the bit patterns of the floats, not a rounded int. */
	if ((a->info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_FLOAT) {
		float *tmp = calloc(n + 1, sizeof(float));
		sf_readf_float(f, tmp, a->info.frames);
		memcpy(a->i, tmp, n * sizeof(float));
		free(tmp);
	} else {
		sf_readf_int(f, a->i, a->info.frames);
	}
	sf_close(f);
	return 0;
}

static bool frame_silent(const struct audio *a, sf_count_t fr, double thr)
{
	for (int c = 0; c < a->info.channels; c++)
		if (fabs(a->d[fr * a->info.channels + c]) > thr)
			return false;
	return true;
}

static void span(const struct audio *a, double thr, sf_count_t *first, sf_count_t *last)
{
	*first = 0;
	while (*first < a->frames && frame_silent(a, *first, thr))
		(*first)++;
	*last = a->frames - 1;
	while (*last >= *first && frame_silent(a, *last, thr))
		(*last)--;
}

static int cmp_count(const void *x, const void *y)
{
	sf_count_t a = *(const sf_count_t *)x, b = *(const sf_count_t *)y;
	return (a > b) - (a < b);
}

static int check_tones(const struct audio *a, sf_count_t first, sf_count_t last, double thr,
		       long max_gap)
{
	int bad = 0;
	sf_count_t len = last - first + 1;
	if (len < a->info.samplerate / 10) {
		fprintf(stderr, "tones: signal span of %lld frames is too short to measure\n",
			(long long)len);
		return 1;
	}
	sf_count_t *periods = malloc((size_t)len * sizeof(*periods));
	if (!periods)
		return 1;
	for (int c = 0; c < a->info.channels; c++) {
		/* The frequency is that of the intact cycles: the median period
		 * between rising crossings, then the mean over every period within
		 * 10 % of it. A crossing counts only with hysteresis (from below
		 * -half the peak to above +half): a resampler rings near zero at each
		 * discontinuity, which bare zero crossings count as cycles. Damage
		 * (an xrun's gap or splice) is left to the gap and length checks;
		 * bare crossings over the whole span read 1-3 % high with 3 xruns. */
		double peak = 0;
		for (sf_count_t k = first; k <= last; k++)
			peak = fmax(peak, fabs(a->d[k * a->info.channels + c]));
		sf_count_t prev = -1;
		size_t np = 0;
		bool low = false;
		for (sf_count_t k = first; k <= last; k++) {
			double q = a->d[k * a->info.channels + c];
			if (q < -peak / 2) {
				low = true;
			} else if (low && q > peak / 2) {
				low = false;
				if (prev >= 0)
					periods[np++] = k - prev;
				prev = k;
			}
		}
		double want = vsnd_audio_signal_tone_hz((uint32_t)c), hz = 0;
		size_t odd = np;
		if (np > 0) {
			sf_count_t *sorted = malloc(np * sizeof(*sorted));
			memcpy(sorted, periods, np * sizeof(*sorted));
			qsort(sorted, np, sizeof(*sorted), cmp_count);
			double median = (double)sorted[np / 2], sum = 0;
			free(sorted);
			size_t kept = 0;
			for (size_t i = 0; i < np; i++)
				if (fabs((double)periods[i] - median) <= median / 10) {
					sum += (double)periods[i];
					kept++;
				}
			hz = kept * (double)a->info.samplerate / sum;
			odd = np - kept;
		}
		printf("channel %d: %.2f Hz (expected %.2f), %zu of %zu cycles irregular\n", c, hz,
		       want, odd, np);
		if (fabs(hz - want) > want * 0.01) {
			fprintf(stderr, "tones: channel %d is at %.2f Hz, expected %.2f Hz\n", c, hz, want);
			bad = 1;
		}
	}
	free(periods);
	long run = 0, worst = 0;
	sf_count_t worst_at = 0;
	for (sf_count_t k = first; k <= last; k++) {
		if (frame_silent(a, k, thr / 10)) {
			if (++run > worst) {
				worst = run;
				worst_at = k - run + 1;
			}
		} else {
			run = 0;
		}
	}
	printf("longest silent run inside the signal: %ld frames\n", worst);
	if (worst > max_gap) {
		fprintf(stderr, "tones: gap of %ld silent frames at frame %lld (allowed %ld)\n", worst,
			(long long)worst_at, max_gap);
		bad = 1;
	}
	return bad;
}

static int check_same(const struct audio *a, const struct audio *ref, bool trim, double thr)
{
	sf_count_t a0 = 0, a1 = a->frames - 1, r0 = 0, r1 = ref->frames - 1;
	if (a->info.channels != ref->info.channels) {
		fprintf(stderr, "same-as: %d channels vs %d in the reference\n", a->info.channels,
			ref->info.channels);
		return 1;
	}
	if (trim) {
		span(a, thr, &a0, &a1);
		span(ref, thr, &r0, &r1);
	}
	sf_count_t na = a1 - a0 + 1, nr = r1 - r0 + 1;
	int ch = a->info.channels;
	sf_count_t n = na < nr ? na : nr;
	for (sf_count_t k = 0; k < n; k++)
		for (int c = 0; c < ch; c++)
			if (a->i[(a0 + k) * ch + c] != ref->i[(r0 + k) * ch + c]) {
				fprintf(stderr, "same-as: frame %lld channel %d differs (0x%08x vs 0x%08x)\n",
					(long long)k, c, (unsigned)a->i[(a0 + k) * ch + c],
					(unsigned)ref->i[(r0 + k) * ch + c]);
				return 1;
			}
	printf("same-as: %lld frames compared, reference has %lld\n", (long long)na, (long long)nr);
	if (na != nr) {
		fprintf(stderr, "same-as: %lld frames vs %lld in the reference\n", (long long)na,
			(long long)nr);
		return 1;
	}
	return 0;
}

/* Counter signal: sample value (as an int of the file's width) == frame index mod 2^bits. */
static int check_counter(const struct audio *a, sf_count_t first)
{
	int sub = a->info.format & SF_FORMAT_SUBMASK;
	int shift = sub == SF_FORMAT_PCM_16 ? 16 : sub == SF_FORMAT_PCM_32 ? 0 : -1;
	if (shift < 0) {
		fprintf(stderr, "counter: only 16- and 32-bit PCM files are supported\n");
		return 1;
	}
	uint32_t mask = shift ? 0xffff : 0x7fffffff;
	long lost = 0, repeated = 0, bad_ch = 0;
	int ch = a->info.channels;
	uint32_t expect = (uint32_t)a->i[first * ch] >> shift & mask;
	for (sf_count_t k = first; k < a->frames; k++) {
		uint32_t v = ((uint32_t)a->i[k * ch] >> shift) & mask;
		for (int c = 1; c < ch; c++)
			if ((((uint32_t)a->i[k * ch + c] >> shift) & mask) != v)
				bad_ch++;
		if (v == expect) {
			expect = (expect + 1) & mask;
		} else if (((v - expect) & mask) < mask / 2) {
			lost += (long)((v - expect) & mask);
			expect = (v + 1) & mask;
		} else {
			repeated += (long)((expect - v) & mask);
			expect = (v + 1) & mask;
		}
	}
	printf("counter: %ld frames lost, %ld repeated, %ld inconsistent samples\n", lost,
	       repeated, bad_ch);
	return lost || repeated || bad_ch;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "rate", required_argument, NULL, 'r' },
		{ "channels", required_argument, NULL, 'c' },
		{ "tones", no_argument, NULL, 't' },
		{ "expect-frames", required_argument, NULL, 'n' },
		{ "tolerance", required_argument, NULL, 'T' },
		{ "max-gap", required_argument, NULL, 'g' },
		{ "same-as", required_argument, NULL, 's' },
		{ "trim", no_argument, NULL, 'm' },
		{ "counter", no_argument, NULL, 'k' },
		{ "threshold", required_argument, NULL, 'x' },
		{ "count-nonsilent", required_argument, NULL, 'N' },
		{ 0 },
	};
	long rate = 0, channels = 0, expect = -1, tolerance = 0, max_gap = 2, nonsilent = -1;
	const char *ref_path = NULL;
	bool tones = false, trim = false, counter = false;
	double thr = 0.01;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'r': rate = atol(optarg); break;
		case 'c': channels = atol(optarg); break;
		case 't': tones = true; break;
		case 'n': expect = atol(optarg); break;
		case 'T': tolerance = atol(optarg); break;
		case 'g': max_gap = atol(optarg); break;
		case 's': ref_path = optarg; break;
		case 'm': trim = true; break;
		case 'k': counter = true; break;
		case 'x': thr = atof(optarg); break;
		case 'N': nonsilent = atol(optarg); break;
		default: return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: vsnd-wavcheck [checks] FILE\n");
		return 2;
	}

	struct audio a;
	if (load(argv[optind], &a) < 0)
		return 1;
	int bad = 0;
	sf_count_t first, last;
	span(&a, thr, &first, &last);
	printf("%s: %d Hz, %d channels, %lld frames, signal from %lld to %lld (%lld frames)\n",
	       argv[optind], a.info.samplerate, a.info.channels, (long long)a.frames,
	       (long long)first, (long long)last, (long long)(last - first + 1));
	if (rate && a.info.samplerate != rate) {
		fprintf(stderr, "rate is %d, expected %ld\n", a.info.samplerate, rate);
		bad = 1;
	}
	if (channels && a.info.channels != channels) {
		fprintf(stderr, "%d channels, expected %ld\n", a.info.channels, channels);
		bad = 1;
	}
	if (first >= a.frames && (tones || expect >= 0 || trim)) {
		fprintf(stderr, "the file holds only silence\n");
		return 1;
	}
	if (expect >= 0 && labs((long)(last - first + 1) - expect) > tolerance) {
		fprintf(stderr, "signal is %lld frames long, expected %ld +- %ld\n",
			(long long)(last - first + 1), expect, tolerance);
		bad = 1;
	}
	if (nonsilent >= 0) {
		long n = 0;
		for (sf_count_t k = 0; k < a.frames; k++)
			n += !frame_silent(&a, k, 1.0 / 32768);
		printf("%ld non-silent frames\n", n);
		if (n != nonsilent) {
			fprintf(stderr, "%ld non-silent frames, expected %ld\n", n, nonsilent);
			bad = 1;
		}
	}
	if (tones)
		bad |= check_tones(&a, first, last, thr, max_gap);
	if (counter) {
		/* The counter starts at 0, which looks like silence: start at the first non-zero frame. */
		sf_count_t k = 0;
		while (k < a.frames && a.i[k * a.info.channels] == 0)
			k++;
		bad |= check_counter(&a, k < a.frames ? k : 0);
	}
	if (ref_path) {
		struct audio ref;
		if (load(ref_path, &ref) < 0)
			return 1;
		bad |= check_same(&a, &ref, trim, thr);
		free(ref.d);
		free(ref.i);
	}
	free(a.d);
	free(a.i);
	printf("%s\n", bad ? "FAILED" : "OK");
	return bad;
}
