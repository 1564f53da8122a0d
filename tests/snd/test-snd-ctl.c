/* SPDX-License-Identifier: MIT */
/*
 * The virtio-snd device model through its control queue: every request code,
 * every state transition (valid and invalid), INFO range edge cases, config
 * sub-ranges, controls, on the null backend.
 */
#include <endian.h>
#include <errno.h>

#include <sound/tlv.h>

#include "../unit/check.h"
#include "snd.h"

static struct vsnd_audio *audio;
static int closing_calls, opened_calls, notify_calls;
static uint32_t last_notify_id;

static void on_opened(void *data, struct snd_stream *s) { opened_calls++; }
static void on_closing(void *data, struct snd_stream *s) { CHECK(s->host != NULL); closing_calls++; }
static void on_notify(void *data, uint32_t id, uint16_t mask) { notify_calls++; last_notify_id = id; }
static const struct snd_device_ops ops = {
	.ctl_notify = on_notify, .stream_opened = on_opened, .stream_closing = on_closing,
};

static uint8_t resp[65536];

static uint32_t request(struct snd_device *d, const void *req, size_t len, size_t cap, size_t *out_len)
{
	memset(resp, 0xee, sizeof(resp));
	size_t n = snd_ctl_handle(d, req, len, resp, cap);
	CHECK(n >= 4);
	if (out_len)
		*out_len = n;
	uint32_t st;
	memcpy(&st, resp, 4);
	return le32toh(st);
}

static uint32_t simple(struct snd_device *d, uint32_t code, uint32_t id)
{
	struct virtio_snd_pcm_hdr h = { .hdr.code = htole32(code), .stream_id = htole32(id) };
	return request(d, &h, sizeof(h), sizeof(resp), NULL);
}

static uint32_t set_params(struct snd_device *d, uint32_t id, uint32_t buf, uint32_t per, uint8_t ch,
			   uint8_t fmt, uint8_t rate, uint32_t features)
{
	struct virtio_snd_pcm_set_params p = {
		.hdr.hdr.code = htole32(VIRTIO_SND_R_PCM_SET_PARAMS), .hdr.stream_id = htole32(id),
		.buffer_bytes = htole32(buf), .period_bytes = htole32(per), .features = htole32(features),
		.channels = ch, .format = fmt, .rate = rate,
	};
	return request(d, &p, sizeof(p), sizeof(resp), NULL);
}

static uint32_t query(struct snd_device *d, uint32_t code, uint32_t start, uint32_t count,
		      uint32_t size, size_t cap, size_t *len)
{
	struct virtio_snd_query_info q = { .hdr.code = htole32(code), .start_id = htole32(start),
					   .count = htole32(count), .size = htole32(size) };
	return request(d, &q, sizeof(q), cap, len);
}

static struct snd_device *make(const char *spec)
{
	struct snd_stream_spec specs[SND_MAX_STREAMS];
	int n = snd_parse_streams(spec, specs, SND_MAX_STREAMS);
	CHECK(n > 0);
	struct snd_device *d = snd_device_new(audio, specs, n, &ops, NULL);
	CHECK(d != NULL);
	return d;
}

static void test_streams_spec(void)
{
	struct snd_stream_spec s[SND_MAX_STREAMS];
	CHECK_EQ(snd_parse_streams("out,in", s, 16), 2);
	CHECK_EQ(s[0].direction, VIRTIO_SND_D_OUTPUT);
	CHECK_EQ(s[1].direction, VIRTIO_SND_D_INPUT);
	CHECK_EQ(s[1].channels_max, 2);
	CHECK_EQ(snd_parse_streams("out:6,out,in:1", s, 16), 3);
	CHECK_EQ(s[0].channels_max, 6);
	CHECK_EQ(s[2].channels_max, 1);
	CHECK_EQ(snd_parse_streams("out:9", s, 16), -EINVAL);
	CHECK_EQ(snd_parse_streams("out:0", s, 16), -EINVAL);
	CHECK_EQ(snd_parse_streams("sideways", s, 16), -EINVAL);
	CHECK_EQ(snd_parse_streams("", s, 16), -EINVAL);
	CHECK_EQ(snd_parse_streams(",", s, 16), -EINVAL);
	CHECK_EQ(snd_parse_streams("out,out,out,out,out,out,out,out,out,out,out,out,out,out,out,out,out", s, 16), -EINVAL);
}

static void test_config(void)
{
	struct snd_device *d = make("out,in,out");
	uint8_t buf[32];
	CHECK_EQ(snd_device_config_size(d), 12);
	CHECK_EQ(snd_device_get_config(d, 0, buf, 12), 0);
	uint32_t v[3];
	memcpy(v, buf, 12);
	CHECK_EQ(le32toh(v[0]), 2); /* jacks: one per direction */
	CHECK_EQ(le32toh(v[1]), 3); /* streams */
	CHECK_EQ(le32toh(v[2]), 3); /* chmaps */
	CHECK_EQ(snd_device_get_config(d, 0, buf, 16), -EINVAL);
	CHECK_EQ(snd_device_get_config(d, 0xfffffff0u, buf, 0x20), -EINVAL); /* wraps */
	CHECK_EQ(snd_device_features(d), 0); /* controls off by default (QEMU's default too) */
	snd_device_set_features(d, 1ull << VIRTIO_SND_F_CTLS);
	CHECK_EQ(snd_device_config_size(d), 12); /* not offered: not negotiated */
	snd_device_enable_controls(d, true);
	CHECK_EQ(snd_device_features(d), 1ull << VIRTIO_SND_F_CTLS);
	snd_device_set_features(d, snd_device_features(d));
	CHECK_EQ(snd_device_config_size(d), 16);
	/* Every sub-range reads the same bytes as the whole. */
	uint8_t whole[16];
	CHECK_EQ(snd_device_get_config(d, 0, whole, 16), 0);
	CHECK_EQ(le32toh(((uint32_t *)whole)[3]), 6); /* controls: 2 per stream */
	for (uint32_t off = 0; off <= 16; off++)
		for (uint32_t size = 0; off + size <= 16; size++) {
			CHECK_EQ(snd_device_get_config(d, off, buf, size), 0);
			CHECK(memcmp(buf, whole + off, size) == 0);
		}
	CHECK_EQ(snd_device_get_config(d, 17, buf, 0), -EINVAL);
	snd_device_destroy(d);
}

static void test_info_queries(void)
{
	struct snd_device *d = make("out,in:1");
	size_t len;
	/* PCM_INFO of both streams. */
	CHECK_EQ(query(d, VIRTIO_SND_R_PCM_INFO, 0, 2, sizeof(struct virtio_snd_pcm_info), sizeof(resp), &len),
		 VIRTIO_SND_S_OK);
	CHECK_EQ(len, 4 + 2 * sizeof(struct virtio_snd_pcm_info));
	struct virtio_snd_pcm_info pi[2];
	memcpy(pi, resp + 4, sizeof(pi));
	CHECK_EQ(pi[0].direction, VIRTIO_SND_D_OUTPUT);
	CHECK_EQ(pi[0].channels_min, 1);
	CHECK_EQ(pi[0].channels_max, 2);
	CHECK_EQ(pi[1].direction, VIRTIO_SND_D_INPUT);
	CHECK_EQ(pi[1].channels_max, 1);
	uint64_t fmts = le64toh(pi[0].formats), rates = le64toh(pi[0].rates);
	CHECK(fmts & (1ull << VIRTIO_SND_PCM_FMT_S16));
	CHECK(fmts & (1ull << VIRTIO_SND_PCM_FMT_FLOAT));
	CHECK(fmts & (1ull << VIRTIO_SND_PCM_FMT_S24_3));
	CHECK(!(fmts & (1ull << VIRTIO_SND_PCM_FMT_MU_LAW)));
	CHECK(rates & (1ull << VIRTIO_SND_PCM_RATE_8000));
	CHECK(rates & (1ull << VIRTIO_SND_PCM_RATE_192000));
	CHECK(!(rates & (1ull << VIRTIO_SND_PCM_RATE_384000)));
	CHECK(!(rates & (1ull << VIRTIO_SND_PCM_RATE_5512)));
	CHECK_EQ(le32toh(pi[0].features), 1u << VIRTIO_SND_PCM_F_EVT_XRUNS);

	/* Edges: an empty range is fine; past the end, overflow, zero size, no room: BAD_MSG. */
	CHECK_EQ(query(d, VIRTIO_SND_R_PCM_INFO, 2, 0, 32, sizeof(resp), &len), VIRTIO_SND_S_OK);
	CHECK_EQ(len, 4);
	CHECK_EQ(query(d, VIRTIO_SND_R_PCM_INFO, 1, 2, 32, sizeof(resp), &len), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(len, 4);
	CHECK_EQ(query(d, VIRTIO_SND_R_PCM_INFO, 0xffffffffu, 2, 32, sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(query(d, VIRTIO_SND_R_PCM_INFO, 1, 0xffffffffu, 32, sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(query(d, VIRTIO_SND_R_PCM_INFO, 0, 1, 0, sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(query(d, VIRTIO_SND_R_PCM_INFO, 0, 2, 32, 4 + 63, NULL), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(query(d, VIRTIO_SND_R_PCM_INFO, 0, 2, 0x80000000u, sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);
	/* The driver's item size: a shorter one gets a prefix, a longer one zero padding. */
	CHECK_EQ(query(d, VIRTIO_SND_R_PCM_INFO, 0, 2, 8, 4 + 16, &len), VIRTIO_SND_S_OK);
	CHECK_EQ(len, 20);
	CHECK_EQ(query(d, VIRTIO_SND_R_PCM_INFO, 0, 1, 64, sizeof(resp), &len), VIRTIO_SND_S_OK);
	CHECK_EQ(len, 68);
	for (int i = 4 + 32; i < 68; i++)
		CHECK_EQ(resp[i], 0);
	/* A truncated query. */
	struct virtio_snd_query_info q = { .hdr.code = htole32(VIRTIO_SND_R_PCM_INFO) };
	CHECK_EQ(request(d, &q, 12, sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);

	/* Jacks: connected, HDA defaults, no remap. */
	CHECK_EQ(query(d, VIRTIO_SND_R_JACK_INFO, 0, 2, sizeof(struct virtio_snd_jack_info), sizeof(resp), NULL),
		 VIRTIO_SND_S_OK);
	struct virtio_snd_jack_info ji[2];
	memcpy(ji, resp + 4, sizeof(ji));
	CHECK_EQ(ji[0].connected, 1);
	CHECK_EQ(le32toh(ji[0].hda_reg_defconf), 0x01014010);
	CHECK_EQ(le32toh(ji[1].hda_reg_defconf), 0x01A19020);
	CHECK_EQ(query(d, VIRTIO_SND_R_JACK_INFO, 2, 1, 24, sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);
	struct virtio_snd_jack_remap rm = { .hdr.hdr.code = htole32(VIRTIO_SND_R_JACK_REMAP), .hdr.jack_id = 0 };
	CHECK_EQ(request(d, &rm, sizeof(rm), sizeof(resp), NULL), VIRTIO_SND_S_NOT_SUPP);
	rm.hdr.jack_id = htole32(7);
	CHECK_EQ(request(d, &rm, sizeof(rm), sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(request(d, &rm, 8, sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);

	/* Channel maps: one per stream, its channel count, standard positions. */
	CHECK_EQ(query(d, VIRTIO_SND_R_CHMAP_INFO, 0, 2, sizeof(struct virtio_snd_chmap_info), sizeof(resp), NULL),
		 VIRTIO_SND_S_OK);
	struct virtio_snd_chmap_info ci[2];
	memcpy(ci, resp + 4, sizeof(ci));
	CHECK_EQ(ci[0].channels, 2);
	CHECK_EQ(ci[0].positions[0], VIRTIO_SND_CHMAP_FL);
	CHECK_EQ(ci[0].positions[1], VIRTIO_SND_CHMAP_FR);
	CHECK_EQ(ci[1].channels, 1);
	CHECK_EQ(ci[1].positions[0], VIRTIO_SND_CHMAP_MONO);
	snd_device_destroy(d);

	/* 7.1 chmap. */
	d = make("out:8");
	CHECK_EQ(query(d, VIRTIO_SND_R_CHMAP_INFO, 0, 1, sizeof(struct virtio_snd_chmap_info), sizeof(resp), NULL),
		 VIRTIO_SND_S_OK);
	memcpy(ci, resp + 4, sizeof(ci[0]));
	CHECK_EQ(ci[0].channels, 8);
	CHECK_EQ(ci[0].positions[3], VIRTIO_SND_CHMAP_LFE);
	CHECK_EQ(ci[0].positions[7], VIRTIO_SND_CHMAP_SR);
	snd_device_destroy(d);
}

static void test_unknown_and_short(void)
{
	struct snd_device *d = make("out");
	uint32_t code = htole32(0x4242);
	CHECK_EQ(request(d, &code, 4, sizeof(resp), NULL), VIRTIO_SND_S_NOT_SUPP);
	CHECK_EQ(request(d, &code, 2, sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(request(d, &code, 0, sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(snd_ctl_handle(d, &code, 4, resp, 3), 0); /* no room for any status */
	/* Controls without VIRTIO_SND_F_CTLS: every CTL code answers NOT_SUPP, never silence. */
	for (uint32_t c = VIRTIO_SND_R_CTL_INFO; c <= VIRTIO_SND_R_CTL_TLV_COMMAND; c++) {
		struct virtio_snd_query_info q = { .hdr.code = htole32(c), .count = htole32(1), .size = htole32(64) };
		CHECK_EQ(request(d, &q, sizeof(q), sizeof(resp), NULL), VIRTIO_SND_S_NOT_SUPP);
	}
	snd_device_destroy(d);
}

static void test_state_machine(void)
{
	/* From each state, which requests are valid (1) or BAD_MSG (0).
	 * Columns: SET_PARAMS PREPARE START STOP RELEASE */
	static const struct { enum snd_pcm_state st; int ok[5]; } table[] = {
		{ SND_PCM_NONE, { 1, 0, 0, 0, 0 } },
		{ SND_PCM_SET_PARAMS, { 1, 1, 0, 0, 0 } },
		{ SND_PCM_PREPARE, { 1, 1, 1, 0, 1 } },
		{ SND_PCM_START, { 0, 0, 0, 1, 0 } },
		{ SND_PCM_STOP, { 0, 0, 1, 0, 1 } },
		{ SND_PCM_RELEASE, { 1, 1, 0, 0, 0 } },
	};
	static const uint32_t codes[5] = { VIRTIO_SND_R_PCM_SET_PARAMS, VIRTIO_SND_R_PCM_PREPARE,
					   VIRTIO_SND_R_PCM_START, VIRTIO_SND_R_PCM_STOP,
					   VIRTIO_SND_R_PCM_RELEASE };
	/* How to reach each state from a fresh stream. */
	static const int path[6][4] = {
		{ -1 }, { 0, -1 }, { 0, 1, -1 }, { 0, 1, 2, -1 }, { 0, 1, 2, 3 }, { 0, 1, 4, -1 },
	};
	for (int t = 0; t < 6; t++) {
		for (int c = 0; c < 5; c++) {
			struct snd_device *d = make("out");
			for (int k = 0; k < 4 && path[t][k] >= 0; k++) {
				uint32_t st = path[t][k] == 0 ? set_params(d, 0, 19200, 1920, 2, VIRTIO_SND_PCM_FMT_S16,
									  VIRTIO_SND_PCM_RATE_48000, 0)
							      : simple(d, codes[path[t][k]], 0);
				CHECK_EQ(st, VIRTIO_SND_S_OK);
			}
			struct snd_stream *s = snd_device_stream(d, 0);
			CHECK_EQ(s->state, table[t].st);
			uint32_t st = c == 0 ? set_params(d, 0, 19200, 1920, 2, VIRTIO_SND_PCM_FMT_S16,
							  VIRTIO_SND_PCM_RATE_48000, 0)
					     : simple(d, codes[c], 0);
			if (table[t].ok[c]) {
				CHECK_EQ(st, VIRTIO_SND_S_OK);
			} else {
				CHECK_EQ(st, VIRTIO_SND_S_BAD_MSG);
				CHECK_EQ(s->state, table[t].st); /* nothing changed */
			}
			snd_device_destroy(d);
		}
	}
}

static void test_set_params_and_host_stream(void)
{
	struct snd_device *d = make("out:6,in");
	opened_calls = closing_calls = 0;
	const uint8_t S16 = VIRTIO_SND_PCM_FMT_S16, R48 = VIRTIO_SND_PCM_RATE_48000;
	/* Invalid parameters: BAD_MSG, state unchanged. */
	CHECK_EQ(set_params(d, 0, 19200, 1920, 7, S16, R48, 0), VIRTIO_SND_S_BAD_MSG);  /* > channels_max */
	CHECK_EQ(set_params(d, 0, 19200, 1920, 0, S16, R48, 0), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(set_params(d, 0, 19200, 1920, 2, VIRTIO_SND_PCM_FMT_MU_LAW, R48, 0), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(set_params(d, 0, 19200, 1920, 2, 200, R48, 0), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(set_params(d, 0, 19200, 1920, 2, S16, VIRTIO_SND_PCM_RATE_384000, 0), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(set_params(d, 0, 19200, 1920, 2, S16, 99, 0), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(set_params(d, 0, 19201, 1920, 2, S16, R48, 0), VIRTIO_SND_S_BAD_MSG); /* buffer % period */
	CHECK_EQ(set_params(d, 0, 19200, 0, 2, S16, R48, 0), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(set_params(d, 0, 1922, 1922, 2, S16, R48, 0), VIRTIO_SND_S_BAD_MSG); /* torn frame */
	CHECK_EQ(set_params(d, 0, 19200, 1920, 2, S16, R48, 1u << VIRTIO_SND_PCM_F_SHMEM_HOST), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(set_params(d, 0, 0xffffff00u, 0x100, 2, S16, R48, 0), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(set_params(d, 5, 19200, 1920, 2, S16, R48, 0), VIRTIO_SND_S_BAD_MSG); /* no such stream */
	CHECK_EQ(snd_device_stream(d, 0)->state, SND_PCM_NONE);
	struct virtio_snd_pcm_set_params p = { .hdr.hdr.code = htole32(VIRTIO_SND_R_PCM_SET_PARAMS) };
	CHECK_EQ(request(d, &p, sizeof(p) - 1, sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);

	/* 6 channels of FLOAT at 96 kHz, 10 ms periods, 4 of them. */
	CHECK_EQ(set_params(d, 0, 4 * 23040, 23040, 6, VIRTIO_SND_PCM_FMT_FLOAT, VIRTIO_SND_PCM_RATE_96000,
			    1u << VIRTIO_SND_PCM_F_EVT_XRUNS), VIRTIO_SND_S_OK);
	struct snd_stream *s = snd_device_stream(d, 0);
	CHECK(s->host == NULL);
	CHECK_EQ(simple(d, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	CHECK(s->host != NULL);
	CHECK_EQ(opened_calls, 1);
	const struct vsnd_audio_params *hp = vsnd_audio_stream_params(s->host);
	CHECK_EQ(hp->format, VSND_AUDIO_FORMAT_FLOAT);
	CHECK_EQ(hp->rate, 96000);
	CHECK_EQ(hp->channels, 6);
	CHECK_EQ(hp->period_frames, 960);
	CHECK_EQ(hp->ring_periods, 4);
	CHECK_STR(hp->stream_name, "playback0");
	CHECK_EQ(simple(d, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	struct vsnd_audio_status st;
	vsnd_audio_stream_get_status(s->host, &st);
	CHECK_EQ(st.state, VSND_AUDIO_STATE_RUNNING);
	/* STOP with audio still queued is a pause: the host stream is corked at once. */
	static float period[960 * 6];
	vsnd_ring_write(vsnd_audio_stream_ring(s->host), period, 960);
	CHECK_EQ(simple(d, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	vsnd_audio_stream_get_status(s->host, &st);
	CHECK_EQ(st.state, VSND_AUDIO_STATE_PAUSED);
	CHECK_EQ(s->drain_until_ns, 0);
	/* STOP with nothing queued ends a drain: the server's delay still plays (null: none). */
	CHECK_EQ(simple(d, VIRTIO_SND_R_PCM_START, 0), VIRTIO_SND_S_OK);
	vsnd_ring_skip(vsnd_audio_stream_ring(s->host), 960);
	CHECK_EQ(simple(d, VIRTIO_SND_R_PCM_STOP, 0), VIRTIO_SND_S_OK);
	CHECK(s->drain_until_ns != 0);
	CHECK_EQ(simple(d, VIRTIO_SND_R_PCM_RELEASE, 0), VIRTIO_SND_S_OK);
	CHECK(s->host == NULL);
	CHECK_EQ(closing_calls, 1); /* pending I/O returned before the stream closed */
	/* Reset closes what is open. */
	CHECK_EQ(set_params(d, 1, 3840, 960, 2, S16, R48, 0), VIRTIO_SND_S_OK);
	CHECK_EQ(simple(d, VIRTIO_SND_R_PCM_PREPARE, 1), VIRTIO_SND_S_OK);
	CHECK_STR(vsnd_audio_stream_params(snd_device_stream(d, 1)->host)->stream_name, "capture0");
	snd_device_reset(d);
	CHECK(snd_device_stream(d, 1)->host == NULL);
	CHECK_EQ(snd_device_stream(d, 1)->state, SND_PCM_NONE);
	snd_device_destroy(d);
}

static void test_controls(void)
{
	struct snd_device *d = make("out,in");
	snd_device_enable_controls(d, true);
	snd_device_set_features(d, 1ull << VIRTIO_SND_F_CTLS);
	size_t len;
	CHECK_EQ(query(d, VIRTIO_SND_R_CTL_INFO, 0, 4, sizeof(struct virtio_snd_ctl_info), sizeof(resp), &len),
		 VIRTIO_SND_S_OK);
	struct virtio_snd_ctl_info ci[4];
	memcpy(ci, resp + 4, sizeof(ci));
	CHECK_STR((char *)ci[0].name, "PCM Playback Volume");
	CHECK_STR((char *)ci[1].name, "PCM Playback Switch");
	CHECK_STR((char *)ci[2].name, "Capture Volume");
	CHECK_EQ(le32toh(ci[0].type), VIRTIO_SND_CTL_TYPE_INTEGER);
	CHECK_EQ(le32toh(ci[0].value.integer.max), 100);
	CHECK_EQ(le32toh(ci[1].type), VIRTIO_SND_CTL_TYPE_BOOLEAN);
	CHECK_EQ(query(d, VIRTIO_SND_R_CTL_INFO, 3, 2, 32, sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);

	struct { struct virtio_snd_ctl_hdr h; uint32_t v[128]; } w = { 0 };
	w.h.hdr.code = htole32(VIRTIO_SND_R_CTL_READ);
	w.h.control_id = htole32(0);
	CHECK_EQ(request(d, &w.h, sizeof(w.h), sizeof(resp), &len), VIRTIO_SND_S_OK);
	CHECK_EQ(len, 4 + sizeof(struct virtio_snd_ctl_value));
	uint32_t val;
	memcpy(&val, resp + 4, 4);
	CHECK_EQ(le32toh(val), 100);

	/* Write the volume before PREPARE: applied when the host stream opens. */
	w.h.hdr.code = htole32(VIRTIO_SND_R_CTL_WRITE);
	w.v[0] = htole32(50);
	CHECK_EQ(request(d, &w, sizeof(w), sizeof(resp), NULL), VIRTIO_SND_S_OK);
	CHECK_EQ(set_params(d, 0, 3840, 960, 2, VIRTIO_SND_PCM_FMT_S16, VIRTIO_SND_PCM_RATE_48000, 0), VIRTIO_SND_S_OK);
	CHECK_EQ(simple(d, VIRTIO_SND_R_PCM_PREPARE, 0), VIRTIO_SND_S_OK);
	struct vsnd_audio_status st;
	vsnd_audio_stream_get_status(snd_device_stream(d, 0)->host, &st);
	/* -30 dB: amplitude 0.0316, on the mixer scale its cube root 0.316 */
	CHECK(st.volume > 0.315f && st.volume < 0.318f);
	CHECK(!st.muted);
	/* The switch off mutes the host stream. */
	w.h.control_id = htole32(1);
	w.v[0] = 0;
	CHECK_EQ(request(d, &w, sizeof(w), sizeof(resp), NULL), VIRTIO_SND_S_OK);
	vsnd_audio_stream_get_status(snd_device_stream(d, 0)->host, &st);
	CHECK(st.muted);
	/* Out of range, too short, no such control. */
	w.v[0] = htole32(2);
	CHECK_EQ(request(d, &w, sizeof(w), sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);
	w.h.control_id = 0;
	w.v[0] = htole32(101);
	CHECK_EQ(request(d, &w, sizeof(w), sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(request(d, &w, sizeof(w.h) + 2, sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);
	w.h.control_id = htole32(4);
	CHECK_EQ(request(d, &w, sizeof(w), sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);
	CHECK_EQ(snd_device_stream(d, 0)->volume, 50);

	/* TLV of the volume: dB min/max with mute. */
	w.h.hdr.code = htole32(VIRTIO_SND_R_CTL_TLV_READ);
	w.h.control_id = 0;
	CHECK_EQ(request(d, &w.h, sizeof(w.h), sizeof(resp), &len), VIRTIO_SND_S_OK);
	CHECK_EQ(len, 20);
	uint32_t tlv[4];
	memcpy(tlv, resp + 4, 16);
	CHECK_EQ(le32toh(tlv[0]), SNDRV_CTL_TLVT_DB_MINMAX_MUTE);
	CHECK_EQ(le32toh(tlv[1]), 8);
	CHECK_EQ((int32_t)le32toh(tlv[2]), -6000);
	CHECK_EQ(request(d, &w.h, sizeof(w.h), 4 + 15, NULL), VIRTIO_SND_S_BAD_MSG);
	w.h.control_id = htole32(1);
	CHECK_EQ(request(d, &w.h, sizeof(w.h), sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);
	w.h.hdr.code = htole32(VIRTIO_SND_R_CTL_TLV_WRITE);
	CHECK_EQ(request(d, &w.h, sizeof(w.h), sizeof(resp), NULL), VIRTIO_SND_S_NOT_SUPP);
	w.h.hdr.code = htole32(VIRTIO_SND_R_CTL_TLV_COMMAND);
	CHECK_EQ(request(d, &w.h, sizeof(w.h), sizeof(resp), NULL), VIRTIO_SND_S_NOT_SUPP);
	w.h.hdr.code = htole32(VIRTIO_SND_R_CTL_ENUM_ITEMS);
	CHECK_EQ(request(d, &w.h, sizeof(w.h), sizeof(resp), NULL), VIRTIO_SND_S_BAD_MSG);

	/* A change in the host mixer comes back as CTL_NOTIFY of the volume control. */
	struct snd_stream *s = snd_device_stream(d, 0);
	CHECK_EQ(vsnd_audio_stream_set_volume(s->host, 1.0f, true), 0);
	snd_device_host_volume_changed(d, s);
	CHECK_EQ(s->volume, 100);
	CHECK_EQ(notify_calls, 1);
	CHECK_EQ(last_notify_id, 0);
	snd_device_destroy(d);
}

static void test_volume_mapping(void)
{
	for (uint32_t v = 0; v <= SND_VOLUME_MAX; v++)
		CHECK_EQ(snd_volume_from_gain(snd_volume_gain(v)), v);
	CHECK(snd_volume_gain(0) == 0.0f);
	CHECK(snd_volume_gain(100) > 0.999f);
	CHECK_EQ(snd_volume_from_gain(1.5f), 100);
	CHECK_EQ(snd_volume_from_gain(0.0001f), 0);
}

int main(void)
{
	struct vsnd_audio_opts o = { .backend = "null", .no_pacing = true };
	audio = vsnd_audio_new(&o);
	CHECK(audio != NULL);
	RUN(test_streams_spec);
	RUN(test_config);
	RUN(test_info_queries);
	RUN(test_unknown_and_short);
	RUN(test_state_machine);
	RUN(test_set_params_and_host_stream);
	RUN(test_controls);
	RUN(test_volume_mapping);
	vsnd_audio_destroy(audio);
	return 0;
}
