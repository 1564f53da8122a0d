/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the virtio-snd control-queue handler with sequences of requests, as a
 * guest would send them: the input is a series of records
 *   [u16 request length][u16 response room][request bytes]
 * played against one device (streams out:2, in:1, out:8; controls on when the
 * first byte is odd), so state transitions accumulate. Every request must be
 * answered with a status and never more than the room given.
 */
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "snd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vsnd_audio *audio;
static uint8_t resp[70000];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!audio) {
		struct vsnd_audio_opts o = { .backend = "null", .no_pacing = true };
		audio = vsnd_audio_new(&o);
		if (!audio)
			abort();
	}
	if (size < 1)
		return 0;
	struct snd_stream_spec specs[3] = {
		{ VIRTIO_SND_D_OUTPUT, 2 }, { VIRTIO_SND_D_INPUT, 1 }, { VIRTIO_SND_D_OUTPUT, 8 },
	};
	struct snd_device *d = snd_device_new(audio, specs, 3, NULL, NULL);
	if (!d)
		abort();
	snd_device_enable_controls(d, data[0] & 1);
	snd_device_set_features(d, 1ull << VIRTIO_SND_F_CTLS);
	uint8_t cfg[16];
	if (snd_device_get_config(d, data[0] % 17, cfg, (uint32_t)(data[0] >> 4)) == 0 &&
	    data[0] % 17 + (data[0] >> 4) > snd_device_config_size(d))
		abort();
	size_t off = 1;
	while (size - off >= 4) {
		uint16_t len, room;
		memcpy(&len, data + off, 2);
		memcpy(&room, data + off + 2, 2);
		off += 4;
		len = (uint16_t)le16toh(len);
		room = (uint16_t)le16toh(room);
		if (len > size - off)
			len = (uint16_t)(size - off);
		/* The request in a heap copy of its exact size, so ASan sees any over-read. */
		uint8_t *req = malloc(len ? len : 1);
		memcpy(req, data + off, len);
		off += len;
		memset(resp, 0xa5, (size_t)room + 16);
		size_t n = snd_ctl_handle(d, req, len, resp, room);
		free(req);
		if (n > room || (room >= 4 && n < 4) || resp[room] != 0xa5)
			abort();
	}
	snd_device_destroy(d);
	return 0;
}
