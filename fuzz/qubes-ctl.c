/* SPDX-License-Identifier: MIT */
/*
 * Fuzz the Qubes parsers of untrusted input: the control-word decoder (fed
 * the input in chunks whose sizes come from the input itself, so every
 * fragmentation is explored), the control-socket command parser, and the
 * key / VM-name validators.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ctlsock.h"
#include "proto.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_word(void *data, enum qubes_ctl_event ev, uint32_t word)
{
	uint64_t *n = data;
	(*n)++;
	if (qubes_ctl_classify(word) != ev || !qubes_ctl_event_name(ev))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qubes_ctl_decoder d;
	uint64_t words = 0;
	qubes_ctl_decoder_reset(&d);
	size_t off = 0;
	while (off < size) {
		size_t chunk = 1 + data[off] % 13;
		if (chunk > size - off)
			chunk = size - off;
		qubes_ctl_decode(&d, data + off, chunk, on_word, &words);
		off += chunk;
	}
	/* Whatever the fragmentation, the decoder saw every whole word exactly once. */
	if (words != size / 4 || d.have != size % 4)
		__builtin_trap();

	int r = qubes_ctlsock_parse((const char *)data, (unsigned)(size < 64 ? size : 64));
	if (r == 1 && (size != 14 || memcmp(data, "audio-input 1\n", 14) != 0))
		__builtin_trap();

	char s[256];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	memcpy(s, data, n);
	s[n] = '\0';
	if (qubes_vm_name_valid(s) && (strchr(s, '/') || strstr(s, "..") == s))
		__builtin_trap();
	if (qubes_store_key_valid(s) && (strstr(s, "/../") || strstr(s, "//")))
		__builtin_trap();
	return 0;
}
