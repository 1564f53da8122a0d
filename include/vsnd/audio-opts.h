/* SPDX-License-Identifier: MIT */
/*
 * The common command-line options of every vsnd program that plays or
 * records, parsed by one helper so they are spelled the same everywhere:
 *
 *   --backend pipewire|pulse|alsa|wav|null|auto   --device NAME
 *   --wav-out FILE   --wav-in FILE   --wav-in-once   --no-pacing
 *   --vm-name NAME   -v (more log; repeatable)
 *
 * Use with getopt_long(): put VSND_AUDIO_LONG_OPTIONS in the program's
 * `struct option` array and "v" in its short option string, and pass every
 * option getopt_long returns to vsnd_audio_opts_handle() first.
 */
#ifndef VSND_AUDIO_OPTS_H
#define VSND_AUDIO_OPTS_H

#include <getopt.h>
#include <stdio.h>

#include "vsnd/audio.h"

#ifdef __cplusplus
extern "C" {
#endif

enum {
	VSND_AUDIO_OPT_BACKEND = 0x1000,
	VSND_AUDIO_OPT_DEVICE,
	VSND_AUDIO_OPT_WAV_OUT,
	VSND_AUDIO_OPT_WAV_IN,
	VSND_AUDIO_OPT_WAV_IN_ONCE,
	VSND_AUDIO_OPT_NO_PACING,
	VSND_AUDIO_OPT_VM_NAME,
	VSND_AUDIO_OPT_VERBOSE,
};

#define VSND_AUDIO_LONG_OPTIONS                                                   \
	{ "backend", required_argument, NULL, VSND_AUDIO_OPT_BACKEND },            \
	{ "device", required_argument, NULL, VSND_AUDIO_OPT_DEVICE },              \
	{ "wav-out", required_argument, NULL, VSND_AUDIO_OPT_WAV_OUT },            \
	{ "wav-in", required_argument, NULL, VSND_AUDIO_OPT_WAV_IN },              \
	{ "wav-in-once", no_argument, NULL, VSND_AUDIO_OPT_WAV_IN_ONCE },          \
	{ "no-pacing", no_argument, NULL, VSND_AUDIO_OPT_NO_PACING },              \
	{ "vm-name", required_argument, NULL, VSND_AUDIO_OPT_VM_NAME },            \
	{ "verbose", no_argument, NULL, VSND_AUDIO_OPT_VERBOSE }

/* Defaults: backend auto, everything else unset. */
void vsnd_audio_opts_init(struct vsnd_audio_opts *o);

/*
 * Handle option @c with argument @arg (getopt's optarg). The strings are
 * referenced, not copied (argv outlives the options). Returns 1 if the option
 * was a common one, 0 if it is the program's own, or -EINVAL for a bad value
 * (with a message on stderr naming it). 'v' raises the log level.
 */
int vsnd_audio_opts_handle(struct vsnd_audio_opts *o, int c, const char *arg);

/* Print the help text of the common options to @f. */
void vsnd_audio_opts_usage(FILE *f);

#ifdef __cplusplus
}
#endif

#endif /* VSND_AUDIO_OPTS_H */
