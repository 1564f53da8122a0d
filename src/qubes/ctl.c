/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "proto.h"
#include "vsnd/parse.h"

void qubes_ctl_decoder_reset(struct qubes_ctl_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

enum qubes_ctl_event qubes_ctl_classify(uint32_t word)
{
	switch (word) {
	case QUBES_SOURCE_START: return QUBES_CTL_SOURCE_START;
	case QUBES_SOURCE_STOP: return QUBES_CTL_SOURCE_STOP;
	case QUBES_SINK_CORK: return QUBES_CTL_SINK_CORK;
	case QUBES_SINK_UNCORK: return QUBES_CTL_SINK_UNCORK;
	case QUBES_INITIAL_STATE: return QUBES_CTL_INITIAL_STATE;
	default: return QUBES_CTL_UNKNOWN;
	}
}

const char *qubes_ctl_event_name(enum qubes_ctl_event ev)
{
	static const char *const names[] = {
		"source-start", "source-stop", "sink-cork", "sink-uncork", "initial-state", "unknown",
	};
	return (unsigned)ev < sizeof(names) / sizeof(names[0]) ? names[ev] : "invalid";
}

static void emit(struct qubes_ctl_decoder *d, uint32_t word, qubes_ctl_fn fn, void *data)
{
	enum qubes_ctl_event ev = qubes_ctl_classify(word);
	d->words++;
	if (ev == QUBES_CTL_UNKNOWN)
		d->unknown++;
	fn(data, ev, word);
}

size_t qubes_ctl_decode(struct qubes_ctl_decoder *d, const void *buf, size_t len,
			qubes_ctl_fn fn, void *data)
{
	const uint8_t *p = buf;
	size_t n = 0;
	uint32_t word;

	/* Complete a word left over from the previous read first. */
	while (d->have > 0 && len > 0) {
		d->partial[d->have++] = *p++;
		len--;
		if (d->have == 4) {
			memcpy(&word, d->partial, 4);
			d->have = 0;
			emit(d, word, fn, data);
			n++;
		}
	}
	for (; len >= 4; p += 4, len -= 4, n++) {
		memcpy(&word, p, 4); /* host-endian, as the VM wrote it */
		emit(d, word, fn, data);
	}
	memcpy(d->partial + d->have, p, len);
	d->have += (uint32_t)len;
	return n;
}

int qubes_domid_parse(const char *s)
{
	long v;
	return s && vsnd_parse_long(s, 0, 0x7FEF, &v) ? (int)v : -1;
}

bool qubes_vm_name_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > 31 || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}
