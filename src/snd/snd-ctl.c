/* SPDX-License-Identifier: MIT */
/*
 * The control queue: every request gets a status. Unknown codes and CTL_*
 * without VIRTIO_SND_F_CTLS answer NOT_SUPP, malformed ones BAD_MSG; INFO
 * queries check start_id + count against the item count in 64 bits and the
 * answer against the writable size, `size` bytes per item as the driver asked.
 */
#include <endian.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sound/tlv.h>

#include "snd-private.h"
#include "vsnd/clock.h"

#define MAX_ITEM_SIZE 4096

/* HDA pin defaults: rear 1/8" jacks, line out green (assoc 1), mic in pink (assoc 2). */
#define JACK_OUT_DEFCONF 0x01014010u
#define JACK_IN_DEFCONF 0x01A19020u
#define JACK_OUT_CAPS 0x00000014u /* output capable, presence detect */
#define JACK_IN_CAPS 0x00000024u  /* input capable, presence detect */

uint32_t snd_bad(struct snd_device *d, const char *fmt, ...)
{
	uint64_t suppressed;
	if (vsnd_ratelimit_pass(&d->rl, vsnd_now_ns(), &suppressed)) {
		char msg[200];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		vsnd_warn(&snd_log, "bad request from the guest: %s%s", msg,
			  suppressed ? " (more suppressed)" : "");
	}
	return VIRTIO_SND_S_BAD_MSG;
}

static void fill_jack(const struct snd_device *d, uint32_t id, struct virtio_snd_jack_info *ji)
{
	bool out = d->jack_dir[id] == VIRTIO_SND_D_OUTPUT;
	memset(ji, 0, sizeof(*ji));
	ji->hda_reg_defconf = htole32(out ? JACK_OUT_DEFCONF : JACK_IN_DEFCONF);
	ji->hda_reg_caps = htole32(out ? JACK_OUT_CAPS : JACK_IN_CAPS);
	ji->connected = 1;
}

static void fill_pcm(const struct snd_stream *s, struct virtio_snd_pcm_info *pi)
{
	memset(pi, 0, sizeof(*pi));
	pi->hdr.hda_fn_nid = htole32(s->nid);
	pi->features = htole32(1u << VIRTIO_SND_PCM_F_EVT_XRUNS);
	pi->formats = htole64(s->formats);
	pi->rates = htole64(s->rates);
	pi->direction = s->direction;
	pi->channels_min = s->channels_min;
	pi->channels_max = s->channels_max;
}

static void fill_chmap(const struct snd_stream *s, struct virtio_snd_chmap_info *ci)
{
	uint8_t pos[VSND_AUDIO_MAX_CHANNELS];
	memset(ci, 0, sizeof(*ci));
	ci->hdr.hda_fn_nid = htole32(s->nid);
	ci->direction = s->direction;
	ci->channels = s->channels_max;
	vsnd_audio_default_positions(s->channels_max, pos);
	for (uint32_t c = 0; c < s->channels_max; c++)
		ci->positions[c] = snd_chmap_position((enum vsnd_audio_channel)pos[c]);
}

static void fill_ctl(const struct snd_device *d, uint32_t id, struct virtio_snd_ctl_info *ci)
{
	const struct snd_stream *s = &d->streams[id / SND_CTLS_PER_STREAM];
	bool volume = id % SND_CTLS_PER_STREAM == 0, out = s->direction == VIRTIO_SND_D_OUTPUT;
	memset(ci, 0, sizeof(*ci));
	ci->hdr.hda_fn_nid = htole32(s->nid);
	ci->count = htole32(1);
	ci->index = htole32(s->nid);
	if (volume) {
		ci->role = htole32(VIRTIO_SND_CTL_ROLE_VOLUME);
		ci->type = htole32(VIRTIO_SND_CTL_TYPE_INTEGER);
		ci->access = htole32((1u << VIRTIO_SND_CTL_ACCESS_READ) | (1u << VIRTIO_SND_CTL_ACCESS_WRITE) |
				     (1u << VIRTIO_SND_CTL_ACCESS_TLV_READ));
		ci->value.integer.min = htole32(0);
		ci->value.integer.max = htole32(SND_VOLUME_MAX);
		ci->value.integer.step = htole32(1);
	} else {
		/* ALSA's "Switch": 1 = sound on. */
		ci->role = htole32(VIRTIO_SND_CTL_ROLE_MUTE);
		ci->type = htole32(VIRTIO_SND_CTL_TYPE_BOOLEAN);
		ci->access = htole32((1u << VIRTIO_SND_CTL_ACCESS_READ) | (1u << VIRTIO_SND_CTL_ACCESS_WRITE));
	}
	snprintf((char *)ci->name, sizeof(ci->name), "%s %s", out ? "PCM Playback" : "Capture",
		 volume ? "Volume" : "Switch");
}

/* JACK/PCM/CHMAP/CTL_INFO: an array of @count items of @size bytes each. */
static size_t query(struct snd_device *d, uint32_t code, const uint8_t *req, size_t len,
		    uint8_t *resp, size_t cap, uint32_t *status)
{
	struct virtio_snd_query_info q;
	if (len < sizeof(q)) {
		*status = snd_bad(d, "INFO query of %zu bytes", len);
		return 0;
	}
	memcpy(&q, req, sizeof(q));
	uint32_t start = le32toh(q.start_id), count = le32toh(q.count), size = le32toh(q.size);
	uint32_t n = code == VIRTIO_SND_R_JACK_INFO ? d->n_jacks :
		     code == VIRTIO_SND_R_CTL_INFO ? d->n_streams * SND_CTLS_PER_STREAM : d->n_streams;
	if ((uint64_t)start + count > n) {
		*status = snd_bad(d, "INFO 0x%x: items %u..+%u of %u", code, start, count, n);
		return 0;
	}
	if (size == 0 || size > MAX_ITEM_SIZE || (uint64_t)count * size > cap - sizeof(struct virtio_snd_hdr)) {
		*status = snd_bad(d, "INFO 0x%x: %u items of %u bytes do not fit %zu bytes", code, count,
				  size, cap);
		return 0;
	}
	uint8_t *out = resp + sizeof(struct virtio_snd_hdr);
	for (uint32_t i = 0; i < count; i++, out += size) {
		union {
			struct virtio_snd_jack_info j;
			struct virtio_snd_pcm_info p;
			struct virtio_snd_chmap_info c;
			struct virtio_snd_ctl_info k;
		} item;
		size_t item_len;
		switch (code) {
		case VIRTIO_SND_R_JACK_INFO: fill_jack(d, start + i, &item.j); item_len = sizeof(item.j); break;
		case VIRTIO_SND_R_PCM_INFO: fill_pcm(&d->streams[start + i], &item.p); item_len = sizeof(item.p); break;
		case VIRTIO_SND_R_CHMAP_INFO: fill_chmap(&d->streams[start + i], &item.c); item_len = sizeof(item.c); break;
		default: fill_ctl(d, start + i, &item.k); item_len = sizeof(item.k); break;
		}
		/* The driver's item size rules: shorter copies a prefix, longer is zero-padded. */
		memset(out, 0, size);
		memcpy(out, &item, size < item_len ? size : item_len);
	}
	*status = VIRTIO_SND_S_OK;
	return (size_t)count * size;
}

static uint32_t jack_remap(struct snd_device *d, const uint8_t *req, size_t len)
{
	struct virtio_snd_jack_remap r;
	if (len < sizeof(r))
		return snd_bad(d, "JACK_REMAP of %zu bytes", len);
	memcpy(&r, req, sizeof(r));
	if (le32toh(r.hdr.jack_id) >= d->n_jacks)
		return snd_bad(d, "JACK_REMAP of jack %u (%u jacks)", le32toh(r.hdr.jack_id), d->n_jacks);
	return VIRTIO_SND_S_NOT_SUPP; /* our jacks do not offer VIRTIO_SND_JACK_F_REMAP */
}

static size_t ctl_request(struct snd_device *d, uint32_t code, const uint8_t *req, size_t len,
			  uint8_t *resp, size_t cap, uint32_t *status)
{
	struct virtio_snd_ctl_hdr h;
	*status = VIRTIO_SND_S_OK;
	if (!d->ctls) {
		*status = VIRTIO_SND_S_NOT_SUPP;
		return 0;
	}
	if (code == VIRTIO_SND_R_CTL_TLV_WRITE || code == VIRTIO_SND_R_CTL_TLV_COMMAND) {
		*status = VIRTIO_SND_S_NOT_SUPP;
		return 0;
	}
	if (len < sizeof(h)) {
		*status = snd_bad(d, "CTL request of %zu bytes", len);
		return 0;
	}
	memcpy(&h, req, sizeof(h));
	uint32_t id = le32toh(h.control_id);
	if (id >= d->n_streams * SND_CTLS_PER_STREAM) {
		*status = snd_bad(d, "control %u does not exist", id);
		return 0;
	}
	struct snd_stream *s = &d->streams[id / SND_CTLS_PER_STREAM];
	bool volume = id % SND_CTLS_PER_STREAM == 0;
	uint8_t *out = resp + sizeof(struct virtio_snd_hdr);
	size_t room = cap - sizeof(struct virtio_snd_hdr);

	switch (code) {
	case VIRTIO_SND_R_CTL_ENUM_ITEMS:
		*status = snd_bad(d, "ENUM_ITEMS of control %u, which is not enumerated", id);
		return 0;
	case VIRTIO_SND_R_CTL_READ: {
		struct virtio_snd_ctl_value v;
		memset(&v, 0, sizeof(v));
		v.value.integer[0] = htole32(volume ? s->volume : s->on);
		if (room < sizeof(v.value.integer[0])) {
			*status = snd_bad(d, "CTL_READ answer does not fit %zu bytes", cap);
			return 0;
		}
		size_t n = room < sizeof(v) ? room : sizeof(v);
		memcpy(out, &v, n);
		return n;
	}
	case VIRTIO_SND_R_CTL_WRITE: {
		uint32_t raw;
		if (len < sizeof(h) + sizeof(raw)) {
			*status = snd_bad(d, "CTL_WRITE of %zu bytes", len);
			return 0;
		}
		memcpy(&raw, req + sizeof(h), sizeof(raw));
		uint32_t v = le32toh(raw);
		if (v > (volume ? SND_VOLUME_MAX : 1u)) {
			*status = snd_bad(d, "control %u: value %u out of range", id, v);
			return 0;
		}
		uint32_t old_v = s->volume;
		bool old_on = s->on;
		if (volume)
			s->volume = v;
		else
			s->on = v != 0;
		if (snd_apply_volume(d, s) < 0) {
			s->volume = old_v;
			s->on = old_on;
			*status = VIRTIO_SND_S_IO_ERR;
		}
		return 0;
	}
	case VIRTIO_SND_R_CTL_TLV_READ: {
		/* ALSA dB TLV: -60.00 dB .. 0 dB over 0..100, the lowest step is mute. */
		uint32_t tlv[4] = { htole32(SNDRV_CTL_TLVT_DB_MINMAX_MUTE), htole32(8),
				    htole32((uint32_t)SND_VOLUME_MIN_CDB), htole32(0) };
		if (!volume) {
			*status = snd_bad(d, "TLV_READ of control %u, which has no TLV", id);
			return 0;
		}
		if (room < sizeof(tlv)) {
			*status = snd_bad(d, "TLV answer does not fit %zu bytes", cap);
			return 0;
		}
		memcpy(out, tlv, sizeof(tlv));
		return sizeof(tlv);
	}
	}
	*status = VIRTIO_SND_S_NOT_SUPP;
	return 0;
}

size_t snd_ctl_handle(struct snd_device *d, const void *req_v, size_t len, void *resp_v, size_t cap)
{
	const uint8_t *req = req_v;
	uint8_t *resp = resp_v;
	struct virtio_snd_hdr hdr;
	uint32_t status = VIRTIO_SND_S_OK;
	size_t payload = 0;

	if (cap < sizeof(hdr))
		return 0; /* no room even for a status: the caller drops the request */
	if (len < sizeof(hdr)) {
		status = snd_bad(d, "control request of %zu bytes", len);
		goto out;
	}
	memcpy(&hdr, req, sizeof(hdr));
	uint32_t code = le32toh(hdr.code);
	switch (code) {
	case VIRTIO_SND_R_JACK_INFO:
	case VIRTIO_SND_R_PCM_INFO:
	case VIRTIO_SND_R_CHMAP_INFO:
		payload = query(d, code, req, len, resp, cap, &status);
		break;
	case VIRTIO_SND_R_CTL_INFO:
		if (!d->ctls)
			status = VIRTIO_SND_S_NOT_SUPP;
		else
			payload = query(d, code, req, len, resp, cap, &status);
		break;
	case VIRTIO_SND_R_JACK_REMAP:
		status = jack_remap(d, req, len);
		break;
	case VIRTIO_SND_R_PCM_SET_PARAMS:
	case VIRTIO_SND_R_PCM_PREPARE:
	case VIRTIO_SND_R_PCM_RELEASE:
	case VIRTIO_SND_R_PCM_START:
	case VIRTIO_SND_R_PCM_STOP:
		status = snd_pcm_request(d, code, req, len);
		break;
	case VIRTIO_SND_R_CTL_ENUM_ITEMS:
	case VIRTIO_SND_R_CTL_READ:
	case VIRTIO_SND_R_CTL_WRITE:
	case VIRTIO_SND_R_CTL_TLV_READ:
	case VIRTIO_SND_R_CTL_TLV_WRITE:
	case VIRTIO_SND_R_CTL_TLV_COMMAND:
		payload = ctl_request(d, code, req, len, resp, cap, &status);
		break;
	default:
		vsnd_debug(&snd_log, "unknown control request 0x%x: NOT_SUPP", code);
		status = VIRTIO_SND_S_NOT_SUPP;
		break;
	}
out:
	if (status != VIRTIO_SND_S_OK)
		payload = 0;
	hdr.code = htole32(status);
	memcpy(resp, &hdr, sizeof(hdr));
	return sizeof(hdr) + payload;
}
