/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include "check.h"
#include "vsnd/audio-opts.h"

static int parse(struct vsnd_audio_opts *o, int argc, char **argv, int *own)
{
	static const struct option longopts[] = {
		VSND_AUDIO_LONG_OPTIONS,
		{ "own", no_argument, NULL, 'x' },
		{ 0 },
	};
	int c;
	optind = 0;
	opterr = 0;
	vsnd_audio_opts_init(o);
	while ((c = getopt_long(argc, argv, "vx", longopts, NULL)) != -1) {
		int r = vsnd_audio_opts_handle(o, c, optarg);
		if (r < 0)
			return r;
		if (r == 0) {
			if (c != 'x')
				return -EINVAL;
			(*own)++;
		}
	}
	return 0;
}

static void test_all_options(void)
{
	struct vsnd_audio_opts o;
	int own = 0;
	char *argv[] = { "prog", "--backend", "wav", "--device", "hw:0", "--wav-out", "o.wav",
			 "--wav-in", "i.wav", "--wav-in-once", "--no-pacing", "--vm-name", "work",
			 "-v", "--own", "-x", NULL };
	CHECK_EQ(parse(&o, 16, argv, &own), 0);
	CHECK_STR(o.backend, "wav");
	CHECK_STR(o.device, "hw:0");
	CHECK_STR(o.wav_out, "o.wav");
	CHECK_STR(o.wav_in, "i.wav");
	CHECK(o.wav_in_once);
	CHECK(o.no_pacing);
	CHECK_STR(o.vm_name, "work");
	CHECK_EQ(o.verbose, 1);
	CHECK_EQ(own, 2); /* the program's own options are left to it */
}

static void test_defaults_and_errors(void)
{
	struct vsnd_audio_opts o;
	int own = 0;
	char *none[] = { "prog", NULL };
	CHECK_EQ(parse(&o, 1, none, &own), 0);
	CHECK_STR(o.backend, "auto");
	CHECK(o.device == NULL && o.wav_out == NULL && o.vm_name == NULL && !o.no_pacing);

	char *bad_backend[] = { "prog", "--backend", "oss", NULL };
	CHECK_EQ(parse(&o, 3, bad_backend, &own), -EINVAL);
	char *empty_name[] = { "prog", "--vm-name", "", NULL };
	CHECK_EQ(parse(&o, 3, empty_name, &own), -EINVAL);
	char *null_ok[] = { "prog", "--backend=null", NULL };
	CHECK_EQ(parse(&o, 2, null_ok, &own), 0);
	CHECK_STR(o.backend, "null");
}

int main(void)
{
	RUN(test_all_options);
	RUN(test_defaults_and_errors);
	return 0;
}
