/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "frames.h"

int qubes_read_frames(libvchan_t *vc, struct qubes_frame_carry *c, uint8_t *buf, size_t max)
{
	memcpy(buf, c->bytes, c->len);
	int n = libvchan_read(vc, buf + c->len, max);
	if (n <= 0)
		return -1;
	uint32_t total = c->len + (uint32_t)n;
	uint32_t frames = total / QUBES_AUDIO_FRAME_BYTES;
	c->len = total % QUBES_AUDIO_FRAME_BYTES;
	memcpy(c->bytes, buf + (size_t)frames * QUBES_AUDIO_FRAME_BYTES, c->len);
	return (int)frames;
}
