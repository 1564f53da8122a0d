/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "vsnd/audio-opts.h"
#include "vsnd/log.h"

void vsnd_audio_opts_init(struct vsnd_audio_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->backend = "auto";
}

static int check_backend(const char *name)
{
	if (strcmp(name, "auto") == 0)
		return 0;
	for (const char *const *n = vsnd_audio_backend_names(); *n; n++)
		if (strcmp(*n, name) == 0)
			return 0;
	return -EINVAL;
}

static int nonempty(const char *opt, const char *arg)
{
	if (arg && *arg)
		return 0;
	fprintf(stderr, "--%s needs a non-empty value\n", opt);
	return -EINVAL;
}

int vsnd_audio_opts_handle(struct vsnd_audio_opts *o, int c, const char *arg)
{
	switch (c) {
	case VSND_AUDIO_OPT_BACKEND:
		if (!arg || check_backend(arg) < 0) {
			fprintf(stderr, "unknown --backend '%s' (compiled in:", arg ? arg : "");
			for (const char *const *n = vsnd_audio_backend_names(); *n; n++)
				fprintf(stderr, " %s", *n);
			fprintf(stderr, " auto)\n");
			return -EINVAL;
		}
		o->backend = arg;
		return 1;
	case VSND_AUDIO_OPT_DEVICE:
		if (nonempty("device", arg) < 0)
			return -EINVAL;
		o->device = arg;
		return 1;
	case VSND_AUDIO_OPT_WAV_OUT:
		if (nonempty("wav-out", arg) < 0)
			return -EINVAL;
		o->wav_out = arg;
		return 1;
	case VSND_AUDIO_OPT_WAV_IN:
		if (nonempty("wav-in", arg) < 0)
			return -EINVAL;
		o->wav_in = arg;
		return 1;
	case VSND_AUDIO_OPT_WAV_IN_ONCE:
		o->wav_in_once = true;
		return 1;
	case VSND_AUDIO_OPT_NO_PACING:
		o->no_pacing = true;
		return 1;
	case VSND_AUDIO_OPT_VM_NAME:
		if (nonempty("vm-name", arg) < 0)
			return -EINVAL;
		o->vm_name = arg;
		return 1;
	case 'v':
	case VSND_AUDIO_OPT_VERBOSE:
		o->verbose++;
		vsnd_log_more_verbose(1);
		return 1;
	default:
		return 0;
	}
}

void vsnd_audio_opts_usage(FILE *f)
{
	fprintf(f,
		"Audio options:\n"
		"  --backend NAME     pipewire, pulse, alsa, wav, null or auto (default auto:\n"
		"                     PipeWire, else PulseAudio, else wav to " VSND_AUDIO_DEFAULT_WAV_OUT ")\n"
		"  --device NAME      ALSA device, PipeWire target node, PulseAudio sink/source\n"
		"  --wav-out FILE     wav backend: write playback to FILE\n"
		"  --wav-in FILE      wav backend: read capture from FILE (looped)\n"
		"  --wav-in-once      wav backend: capture ends at the end of --wav-in\n"
		"  --no-pacing        wav/null: run as fast as possible instead of real time;\n"
		"                     alsa: never invent silence for a device that does not pace\n"
		"  --vm-name NAME     name the host mixer shows for the streams\n"
		"  -v, --verbose      more log (repeat); VSND_LOG=debug,topic:trace also works\n");
}
