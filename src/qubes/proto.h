/* SPDX-License-Identifier: MIT */
/*
 * The Qubes audio protocol (../shared/PROTOCOLS.md section 1): fixed PCM
 * format, vchan ports, and the 4-byte control words the VM sends on the
 * record vchan, with a decoder that never trusts the byte stream.
 */
#ifndef VSND_QUBES_PROTO_H
#define VSND_QUBES_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define QUBES_AUDIO_PLAYBACK_PORT 4713 /* VM -> host PCM */
#define QUBES_AUDIO_RECORD_PORT 4714   /* host -> VM PCM, VM -> host control words */

/* Never negotiated: S16LE, 44100 Hz, 2 channels interleaved. */
#define QUBES_AUDIO_RATE 44100
#define QUBES_AUDIO_CHANNELS 2
#define QUBES_AUDIO_FRAME_BYTES 4

/* Control words, host-endian u32 (little-endian on x86), as the VM sends them. */
#define QUBES_SOURCE_STOP 0x00010000u
#define QUBES_SOURCE_START 0x00010001u
#define QUBES_INITIAL_STATE 0x00010004u /* first of [0x00010004, START|STOP, UNCORK|CORK] */
#define QUBES_SINK_CORK 0x00020000u
#define QUBES_SINK_UNCORK 0x00020001u

enum qubes_ctl_event {
	QUBES_CTL_SOURCE_START,
	QUBES_CTL_SOURCE_STOP,
	QUBES_CTL_SINK_CORK,
	QUBES_CTL_SINK_UNCORK,
	QUBES_CTL_INITIAL_STATE, /* marker; the state follows as two ordinary words */
	QUBES_CTL_UNKNOWN,       /* ignored by the daemon (debug log) */
};

/*
 * Turns the control byte stream into whole words: bytes of a partial word are
 * kept until the word is complete, so arbitrary fragmentation never shifts
 * the stream off its 4-byte alignment. One per connection; reset on reconnect.
 */
struct qubes_ctl_decoder {
	uint8_t partial[4];
	uint32_t have;   /* bytes of the partial word */
	uint64_t words;  /* words decoded since reset */
	uint64_t unknown; /* of which unknown */
};

typedef void (*qubes_ctl_fn)(void *data, enum qubes_ctl_event ev, uint32_t word);

void qubes_ctl_decoder_reset(struct qubes_ctl_decoder *d);

/* Feed @len bytes; calls @fn once per complete word, in order. Returns the words decoded. */
size_t qubes_ctl_decode(struct qubes_ctl_decoder *d, const void *buf, size_t len,
			qubes_ctl_fn fn, void *data);

/* Classify one word. */
enum qubes_ctl_event qubes_ctl_classify(uint32_t word);

/*
 * A Qubes VM name: a letter, then letters, digits, '_', '-', '.'; at most 31
 * characters. Names end up in socket paths and status keys, so nothing else passes.
 */
bool qubes_vm_name_valid(const char *name);

/*
 * A Xen domain id as Qubes tools take it: decimal, 0 <= id < 0x7FF0
 * (DOMID_FIRST_RESERVED), nothing after the number. The id, or -1.
 */
int qubes_domid_parse(const char *s);

/* "source-start", ... for logs. */
const char *qubes_ctl_event_name(enum qubes_ctl_event ev);

#endif /* VSND_QUBES_PROTO_H */
