/* SPDX-License-Identifier: MIT */
/*
 * pulse-volume: drives vsnd_audio_stream_set_volume() and the VOLUME events
 * of the pulse backend for pulse-mixer (vsnd-tone sets a volume only at
 * open and does not report host-side changes).
 *
 *   pulse-volume VM_NAME
 *
 * Plays silence into vsnd_null as VM_NAME, sets the volume to 0.25 through
 * the API, prints "set: ...", then prints one "event: volume=V muted=M" line
 * (from vsnd_audio_stream_get_status()) per VSND_AUDIO_EVENT_VOLUME, until
 * SIGTERM or 60 s. Exit 0, or 1 on an unexpected error.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "vsnd/audio.h"
#include "vsnd/clock.h"

static void feed(struct vsnd_audio_stream *s)
{
	struct vsnd_ring *r = vsnd_audio_stream_ring(s);
	struct vsnd_ring_area a[2];
	uint32_t n = vsnd_ring_write_begin(r, a, UINT32_MAX);
	for (int i = 0; i < 2; i++)
		if (a[i].frames)
			vsnd_audio_fill_silence(VSND_AUDIO_FORMAT_S16, 2, a[i].data, a[i].frames);
	vsnd_ring_write_commit(r, n);
	vsnd_audio_stream_kick(s);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: pulse-volume VM_NAME\n");
		return 2;
	}
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	struct vsnd_audio_opts opts = { .backend = "pulse", .device = "vsnd_null", .vm_name = argv[1] };
	struct vsnd_audio *audio = vsnd_audio_new(&opts);
	if (!audio) {
		fprintf(stderr, "pulse-volume: no pulse backend: %s\n", strerror(errno));
		return 1;
	}
	struct vsnd_audio_params p;
	vsnd_audio_params_init(&p, VSND_AUDIO_PLAYBACK, VSND_AUDIO_FORMAT_S16, 48000, 2, 480);
	struct vsnd_audio_stream *s = vsnd_audio_stream_new(audio, &p);
	int ret = s ? 0 : -errno;
	if (ret == 0) {
		feed(s);
		ret = vsnd_audio_stream_start(s);
	}
	if (ret == 0) {
		/* Out of range: refused, nothing changes. */
		int bad = vsnd_audio_stream_set_volume(s, 2.0f, false);
		ret = vsnd_audio_stream_set_volume(s, 0.25f, false);
		struct vsnd_audio_status st;
		vsnd_audio_stream_get_status(s, &st);
		printf("set: ret=%d bad=%d volume=%.3f muted=%d\n", ret, bad, (double)st.volume, st.muted);
		fflush(stdout);
	}
	uint64_t end = vsnd_now_ns() + 60 * VSND_NSEC_PER_SEC;
	while (ret == 0 && vsnd_now_ns() < end) {
		struct pollfd pfd[2] = {
			{ .fd = vsnd_audio_stream_fd(s), .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};
		if (poll(pfd, 2, 200) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN)
			break;
		uint32_t ev = vsnd_audio_stream_dispatch(s);
		feed(s);
		if (ev & VSND_AUDIO_EVENT_VOLUME) {
			struct vsnd_audio_status st;
			vsnd_audio_stream_get_status(s, &st);
			printf("event: volume=%.3f muted=%d\n", (double)st.volume, st.muted);
			fflush(stdout);
		}
	}
	vsnd_audio_stream_destroy(s);
	vsnd_audio_destroy(audio);
	close(sfd);
	return ret == 0 ? 0 : 1;
}
