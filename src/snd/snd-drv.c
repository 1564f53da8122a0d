/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snd-drv.h"
#include "vsnd/clock.h"
#include "vsnd/log.h"
#include "vsnd/vhost-frontend.h"

VSND_LOG_TOPIC(log_drv, "snd.drv");

#define RAM_SIZE (32u << 20)
#define CTL_AREA 65536
#define MAX_SLOTS 64
#define N_EVENTS 8
#define CTL_TIMEOUT_MS 1000
#define IO_TIMEOUT_MS 5000

struct slot {
	uint64_t hdr, data, status; /* guest physical addresses */
	bool busy;
};

struct snd_drv {
	struct vhost_frontend *fe;
	struct virtio_snd_config cfg;
	struct virtio_snd_pcm_info *info;
	uint64_t ctl_req, ctl_resp, events[N_EVENTS];
	/* the prepared stream */
	uint32_t id;
	uint8_t direction;
	uint32_t period_bytes, n_slots, next;
	struct slot slots[MAX_SLOTS];
	bool prepared, started;
	struct snd_drv_stats stats;
	uint64_t *done_ns;
	size_t n_done, cap_done;
};

/* Wait for the call eventfd of any of @qs; drain it. 0, -ETIMEDOUT or -errno. */
static int wait_call(struct snd_drv *d, const unsigned *qs, int n, int timeout_ms)
{
	struct pollfd pfd[4];
	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){ .fd = vhost_frontend_call_fd(d->fe, qs[i]), .events = POLLIN };
	int r = poll(pfd, (nfds_t)n, timeout_ms);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	for (int i = 0; i < n; i++)
		if (pfd[i].revents & POLLIN) {
			uint64_t v;
			ssize_t k = read(pfd[i].fd, &v, sizeof(v));
			(void)k;
		}
	return 0;
}

static void add_event_buffer(struct snd_drv *d, unsigned i)
{
	struct vhost_frontend_buf b = { .gpa = d->events[i], .len = sizeof(struct virtio_snd_event) };
	vhost_frontend_add(d->fe, VIRTIO_SND_VQ_EVENT, &b, 0, 1, (void *)(uintptr_t)(i + 1));
}

static void collect_events(struct snd_drv *d)
{
	uint32_t len;
	void *token;
	bool any = false;
	while (vhost_frontend_get_used(d->fe, VIRTIO_SND_VQ_EVENT, &len, &token) == 1) {
		unsigned i = (unsigned)(uintptr_t)token - 1;
		if (i >= N_EVENTS)
			continue;
		struct virtio_snd_event *ev = vhost_frontend_ptr(d->fe, d->events[i], sizeof(*ev));
		if (ev && len >= sizeof(*ev)) {
			uint32_t code = le32toh(ev->hdr.code);
			if (code == VIRTIO_SND_EVT_PCM_XRUN)
				d->stats.xruns++;
			else if (code == VIRTIO_SND_EVT_PCM_PERIOD_ELAPSED)
				d->stats.period_events++;
		}
		add_event_buffer(d, i);
		any = true;
	}
	if (any)
		vhost_frontend_kick(d->fe, VIRTIO_SND_VQ_EVENT);
}

/* One control request; returns the device's status (VIRTIO_SND_S_*) or -errno. */
static int ctl(struct snd_drv *d, const void *req, uint32_t req_len, void *resp, uint32_t resp_len)
{
	if (req_len > CTL_AREA || resp_len + 4 > CTL_AREA)
		return -EINVAL;
	memcpy(vhost_frontend_ptr(d->fe, d->ctl_req, req_len), req, req_len);
	struct vhost_frontend_buf b[2] = { { d->ctl_req, req_len }, { d->ctl_resp, 4 + resp_len } };
	int ret = vhost_frontend_add(d->fe, VIRTIO_SND_VQ_CONTROL, b, 1, 1, d);
	if (ret < 0)
		return ret;
	vhost_frontend_kick(d->fe, VIRTIO_SND_VQ_CONTROL);
	uint64_t deadline = vsnd_now_ns() + CTL_TIMEOUT_MS * VSND_NSEC_PER_MSEC;
	for (;;) {
		uint32_t len;
		void *token;
		if (vhost_frontend_get_used(d->fe, VIRTIO_SND_VQ_CONTROL, &len, &token) == 1) {
			uint8_t *r = vhost_frontend_ptr(d->fe, d->ctl_resp, 4 + resp_len);
			uint32_t st;
			if (len < 4)
				return -EPROTO;
			memcpy(&st, r, 4);
			if (resp && resp_len)
				memcpy(resp, r + 4, resp_len);
			return (int)le32toh(st);
		}
		uint64_t now = vsnd_now_ns();
		if (now >= deadline) {
			vsnd_error(&log_drv, "control request timed out (the device never answered)");
			return -ETIMEDOUT;
		}
		unsigned q = VIRTIO_SND_VQ_CONTROL;
		wait_call(d, &q, 1, (int)((deadline - now) / VSND_NSEC_PER_MSEC) + 1);
	}
}

static int pcm_simple(struct snd_drv *d, uint32_t code)
{
	struct virtio_snd_pcm_hdr h = { .hdr.code = htole32(code), .stream_id = htole32(d->id) };
	int st = ctl(d, &h, sizeof(h), NULL, 0);
	if (st != VIRTIO_SND_S_OK) {
		vsnd_error(&log_drv, "request 0x%x on stream %u: status 0x%x", code, d->id, st);
		return st < 0 ? st : -EIO;
	}
	return 0;
}

struct snd_drv *snd_drv_new(const char *socket_path, int timeout_ms)
{
	struct snd_drv *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	struct vhost_frontend_config fc = {
		.device_type = 25, .socket_path = socket_path, .name = "vsnd-drv",
		.num_queues = VIRTIO_SND_VQ_MAX, .ram_size = RAM_SIZE, .connect_timeout_ms = timeout_ms,
	};
	d->fe = vhost_frontend_new(&fc);
	if (!d->fe)
		goto err;
	if (vhost_frontend_alloc(d->fe, CTL_AREA, 64, &d->ctl_req) < 0 ||
	    vhost_frontend_alloc(d->fe, CTL_AREA, 64, &d->ctl_resp) < 0)
		goto err_nomem;
	for (unsigned i = 0; i < N_EVENTS; i++) {
		if (vhost_frontend_alloc(d->fe, sizeof(struct virtio_snd_event), 8, &d->events[i]) < 0)
			goto err_nomem;
		add_event_buffer(d, i);
	}
	vhost_frontend_kick(d->fe, VIRTIO_SND_VQ_EVENT);
	/* Only the 12 bytes every device has: controls are not negotiated. */
	if (vhost_frontend_read_config(d->fe, 0, &d->cfg, offsetof(struct virtio_snd_config, controls)) < 0) {
		errno = EIO;
		goto err;
	}
	uint32_t n = le32toh(d->cfg.streams);
	if (n == 0 || n > 64) {
		vsnd_error(&log_drv, "device reports %u streams", n);
		errno = EPROTO;
		goto err;
	}
	d->info = calloc(n, sizeof(*d->info));
	if (!d->info)
		goto err_nomem;
	struct virtio_snd_query_info q = { .hdr.code = htole32(VIRTIO_SND_R_PCM_INFO), .start_id = 0,
					   .count = htole32(n), .size = htole32(sizeof(*d->info)) };
	int st = ctl(d, &q, sizeof(q), d->info, n * sizeof(*d->info));
	if (st != VIRTIO_SND_S_OK) {
		vsnd_error(&log_drv, "PCM_INFO: status 0x%x", st);
		errno = EIO;
		goto err;
	}
	return d;
err_nomem:
	errno = ENOMEM;
err:;
	int e = errno;
	snd_drv_destroy(d);
	errno = e;
	return NULL;
}

void snd_drv_destroy(struct snd_drv *d)
{
	if (!d)
		return;
	if (d->prepared && d->fe)
		pcm_simple(d, VIRTIO_SND_R_PCM_RELEASE);
	vhost_frontend_destroy(d->fe);
	free(d->info);
	free(d->done_ns);
	free(d);
}

uint32_t snd_drv_n_streams(const struct snd_drv *d)
{
	return le32toh(d->cfg.streams);
}

const struct virtio_snd_pcm_info *snd_drv_stream(const struct snd_drv *d, uint32_t i)
{
	return i < snd_drv_n_streams(d) ? &d->info[i] : NULL;
}

int snd_drv_find_stream(const struct snd_drv *d, uint8_t direction)
{
	for (uint32_t i = 0; i < snd_drv_n_streams(d); i++)
		if (d->info[i].direction == direction)
			return (int)i;
	return -ENOENT;
}

int snd_drv_prepare(struct snd_drv *d, uint32_t id, uint8_t format, uint8_t rate, uint8_t channels,
		    uint32_t period_bytes, uint32_t buffer_bytes)
{
	if (id >= snd_drv_n_streams(d) || !period_bytes || buffer_bytes % period_bytes ||
	    buffer_bytes / period_bytes > MAX_SLOTS || buffer_bytes / period_bytes < 2)
		return -EINVAL;
	d->id = id;
	d->direction = d->info[id].direction;
	struct virtio_snd_pcm_set_params p = {
		.hdr.hdr.code = htole32(VIRTIO_SND_R_PCM_SET_PARAMS), .hdr.stream_id = htole32(id),
		.buffer_bytes = htole32(buffer_bytes), .period_bytes = htole32(period_bytes),
		.channels = channels, .format = format, .rate = rate,
	};
	int st = ctl(d, &p, sizeof(p), NULL, 0);
	if (st != VIRTIO_SND_S_OK) {
		vsnd_error(&log_drv, "SET_PARAMS refused (status 0x%x)", st);
		return st < 0 ? st : -EIO;
	}
	int ret = pcm_simple(d, VIRTIO_SND_R_PCM_PREPARE);
	if (ret < 0)
		return ret;
	d->prepared = true;
	d->period_bytes = period_bytes;
	d->n_slots = buffer_bytes / period_bytes;
	for (uint32_t i = 0; i < d->n_slots; i++) {
		struct slot *s = &d->slots[i];
		if (vhost_frontend_alloc(d->fe, sizeof(struct virtio_snd_pcm_xfer), 8, &s->hdr) < 0 ||
		    vhost_frontend_alloc(d->fe, period_bytes, 64, &s->data) < 0 ||
		    vhost_frontend_alloc(d->fe, sizeof(struct virtio_snd_pcm_status), 8, &s->status) < 0)
			return -ENOMEM;
		struct virtio_snd_pcm_xfer *x = vhost_frontend_ptr(d->fe, s->hdr, sizeof(*x));
		x->stream_id = htole32(id);
	}
	return 0;
}

static int submit(struct snd_drv *d, struct slot *s)
{
	struct vhost_frontend_buf b[3] = {
		{ s->hdr, sizeof(struct virtio_snd_pcm_xfer) },
		{ s->data, d->period_bytes },
		{ s->status, sizeof(struct virtio_snd_pcm_status) },
	};
	bool tx = d->direction == VIRTIO_SND_D_OUTPUT;
	unsigned q = tx ? VIRTIO_SND_VQ_TX : VIRTIO_SND_VQ_RX;
	int ret = vhost_frontend_add(d->fe, q, b, tx ? 2 : 1, tx ? 1 : 2, s);
	if (ret < 0)
		return ret;
	s->busy = true;
	return vhost_frontend_kick(d->fe, q);
}

/* Collect completions; returns how many, or -errno. */
static int collect(struct snd_drv *d, int timeout_ms)
{
	unsigned q = d->direction == VIRTIO_SND_D_OUTPUT ? VIRTIO_SND_VQ_TX : VIRTIO_SND_VQ_RX;
	unsigned qs[2] = { q, VIRTIO_SND_VQ_EVENT };
	int got = 0;
	for (;;) {
		uint32_t len;
		void *token;
		int r;
		while ((r = vhost_frontend_get_used(d->fe, q, &len, &token)) == 1) {
			struct slot *s = token;
			struct virtio_snd_pcm_status *st =
				vhost_frontend_ptr(d->fe, s->status, sizeof(*st));
			if (le32toh(st->status) != VIRTIO_SND_S_OK)
				d->stats.bad_status++;
			d->stats.latency_bytes = le32toh(st->latency_bytes);
			if (d->stats.latency_bytes > d->stats.latency_max)
				d->stats.latency_max = d->stats.latency_bytes;
			d->stats.periods++;
			s->busy = false;
			if (d->n_done == d->cap_done) {
				size_t cap = d->cap_done ? d->cap_done * 2 : 1024;
				uint64_t *nt = realloc(d->done_ns, cap * sizeof(*nt));
				if (nt) {
					d->done_ns = nt;
					d->cap_done = cap;
				}
			}
			if (d->n_done < d->cap_done)
				d->done_ns[d->n_done++] = vsnd_now_ns();
			got++;
		}
		if (r < 0)
			return r;
		collect_events(d);
		if (got || timeout_ms == 0)
			return got;
		int w = wait_call(d, qs, 2, timeout_ms);
		if (w < 0)
			return w;
	}
}

int snd_drv_write(struct snd_drv *d, const void *data)
{
	struct slot *s = &d->slots[d->next];
	while (s->busy) {
		int r = collect(d, IO_TIMEOUT_MS);
		if (r < 0) {
			vsnd_error(&log_drv, "waiting for the device to consume: %s", strerror(-r));
			return r;
		}
	}
	memcpy(vhost_frontend_ptr(d->fe, s->data, d->period_bytes), data, d->period_bytes);
	int ret = submit(d, s);
	if (ret < 0)
		return ret;
	d->next = (d->next + 1) % d->n_slots;
	/* Pre-buffer the whole buffer before START, as ALSA does with its start threshold. */
	if (!d->started && d->next == 0) {
		ret = pcm_simple(d, VIRTIO_SND_R_PCM_START);
		d->started = ret == 0;
	}
	return ret;
}

int snd_drv_read(struct snd_drv *d, void *data)
{
	if (!d->started) {
		for (uint32_t i = 0; i < d->n_slots; i++) {
			int ret = submit(d, &d->slots[i]);
			if (ret < 0)
				return ret;
		}
		int ret = pcm_simple(d, VIRTIO_SND_R_PCM_START);
		if (ret < 0)
			return ret;
		d->started = true;
	}
	struct slot *s = &d->slots[d->next];
	while (s->busy) {
		int r = collect(d, IO_TIMEOUT_MS);
		if (r < 0) {
			vsnd_error(&log_drv, "waiting for captured data: %s", strerror(-r));
			return r;
		}
	}
	memcpy(data, vhost_frontend_ptr(d->fe, s->data, d->period_bytes), d->period_bytes);
	d->next = (d->next + 1) % d->n_slots;
	return submit(d, s);
}

int snd_drv_finish(struct snd_drv *d)
{
	int ret = 0;
	if (!d->prepared)
		return 0;
	if (d->direction == VIRTIO_SND_D_OUTPUT) {
		if (!d->started && (ret = pcm_simple(d, VIRTIO_SND_R_PCM_START)) == 0)
			d->started = true;
		for (uint32_t i = 0; i < d->n_slots && ret == 0; i++)
			while (d->slots[i].busy && ret == 0) {
				int r = collect(d, IO_TIMEOUT_MS);
				ret = r < 0 ? r : 0;
			}
	}
	if (d->started) {
		int r = pcm_simple(d, VIRTIO_SND_R_PCM_STOP);
		ret = ret ? ret : r;
		d->started = false;
	}
	/* RELEASE returns what is still pending (capture buffers). */
	int r = pcm_simple(d, VIRTIO_SND_R_PCM_RELEASE);
	d->prepared = false;
	collect(d, 0);
	return ret ? ret : r;
}

void snd_drv_get_stats(const struct snd_drv *d, struct snd_drv_stats *st)
{
	*st = d->stats;
}

const uint64_t *snd_drv_completion_times(const struct snd_drv *d, size_t *n)
{
	*n = d->n_done;
	return d->done_ns;
}
