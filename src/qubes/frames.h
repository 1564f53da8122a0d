/* SPDX-License-Identifier: MIT */
/*
 * Whole frames from a vchan, for both ends of the Qubes protocol (the host
 * daemon's playback, the VM agent's microphone): a frame split across reads
 * waits in a small carry buffer for its last bytes, so the stream never
 * slips off its 4-byte alignment whatever the peer's write sizes.
 */
#ifndef VSND_QUBES_FRAMES_H
#define VSND_QUBES_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "vsnd/libvchan.h"

struct qubes_frame_carry {
	uint8_t bytes[QUBES_AUDIO_FRAME_BYTES]; /* the start of a frame still arriving */
	uint32_t len;
};

/*
 * Read up to @max bytes from @vc into @buf behind the carried bytes (@buf
 * holds @max + QUBES_AUDIO_FRAME_BYTES). Returns the whole frames now at the
 * start of @buf (0 if the bytes read completed none; the new incomplete
 * frame is carried), or -1 if nothing could be read (none ready, or an error).
 */
int qubes_read_frames(libvchan_t *vc, struct qubes_frame_carry *c, uint8_t *buf, size_t max);

#endif /* VSND_QUBES_FRAMES_H */
