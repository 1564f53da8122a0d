/* SPDX-License-Identifier: MIT */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "snd-io.h"
#include "snd-private.h"
#include "vsnd/clock.h"

#define MAX_PENDING 64     /* buffers in flight per stream (Linux: 2..16 periods) */
#define STATUS_IOV 4       /* iovecs the 8-byte status may be spread over */
#define RX_IOV 256         /* iovecs of one capture buffer (page-sized pieces) */
#define CTL_REQ_MAX 1024   /* largest control request we read (CTL_WRITE is 520 bytes) */
#define CTL_RESP_MAX 65536 /* largest control answer (INFO arrays) */

struct pending {
	uint16_t head;
	uint32_t data_bytes;  /* RX: bytes to fill */
	uint32_t filled;      /* RX: bytes filled so far */
	uint64_t end_frame;   /* TX: completes when the host consumed up to here */
	uint32_t n_status;    /* the status' iovecs */
	struct iovec status[STATUS_IOV];
	uint32_t n_data;      /* RX: the data iovecs (in the stream's pool) */
};

struct stream_io {
	struct snd_io *io;
	struct snd_stream *s;
	struct vsnd_loop_source *src;
	struct pending q[MAX_PENDING]; /* FIFO: [tail, head) */
	uint32_t head, tail;
	uint64_t frames_in;           /* TX: frames written into the host ring */
	struct iovec *rx_iov;         /* MAX_PENDING x RX_IOV */
};

struct snd_io {
	struct snd_device *dev;
	struct vsnd_loop *loop;
	struct vhost_vq *vq[VIRTIO_SND_VQ_MAX];
	bool broken_logged[VIRTIO_SND_VQ_MAX];
	struct stream_io streams[SND_MAX_STREAMS];
	struct vhost_vq_elem elem; /* large: one, reused by the queue handlers */
	/*
	 * The event queue's own: an event is sent from inside a handler (a
	 * control request that completes I/O, which reports a period), and
	 * popping it into @elem would clobber the element being answered --
	 * the guest then got its event buffer's head on the control queue
	 * ("virtsnd-ctl: id N is not a head", seen once after a killed player).
	 */
	struct vhost_vq_elem ev_elem;
	uint8_t req[CTL_REQ_MAX];
	uint8_t resp[CTL_RESP_MAX];
	struct snd_io_stats stats;
	struct vsnd_ratelimit rl;
};

/* ---- iovec helpers (guest memory, bounded by the iov lengths) ---- */

/* Copy up to @len bytes starting @off bytes into @iov[0..n) to @dst. Returns bytes copied. */
static size_t iov_to_buf(const struct iovec *iov, uint32_t n, size_t off, void *dst, size_t len)
{
	size_t done = 0;
	for (uint32_t i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)dst + done, (uint8_t *)iov[i].iov_base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

static size_t buf_to_iov(const struct iovec *iov, uint32_t n, size_t off, const void *src, size_t len)
{
	size_t done = 0;
	for (uint32_t i = 0; i < n && done < len; i++) {
		if (off >= iov[i].iov_len) {
			off -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - off;
		if (k > len - done)
			k = len - done;
		memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)src + done, k);
		done += k;
		off = 0;
	}
	return done;
}

/* The last @len bytes of the writable part, as at most @max iovecs. */
static uint32_t tail_iovs(const struct vhost_vq_elem *e, size_t len, struct iovec *out, uint32_t max)
{
	const struct iovec *in = e->iov + e->out_num;
	if (e->in_bytes < len)
		return 0;
	size_t skip = e->in_bytes - len;
	uint32_t n = 0;
	for (uint32_t i = 0; i < e->in_num; i++) {
		if (skip >= in[i].iov_len) {
			skip -= in[i].iov_len;
			continue;
		}
		if (n == max)
			return 0;
		out[n].iov_base = (uint8_t *)in[i].iov_base + skip;
		out[n].iov_len = in[i].iov_len - skip;
		skip = 0;
		n++;
	}
	return n;
}

/* ---- completions ---- */

static void push(struct snd_io *io, unsigned int q, uint16_t head, uint32_t len)
{
	if (io->vq[q])
		vhost_vq_push(io->vq[q], head, len);
}

static void notify(struct snd_io *io, unsigned int q)
{
	if (io->vq[q])
		vhost_vq_notify(io->vq[q]);
}

static void write_status(struct pending *p, uint32_t status, uint32_t latency_bytes)
{
	struct virtio_snd_pcm_status st = { .status = htole32(status), .latency_bytes = htole32(latency_bytes) };
	buf_to_iov(p->status, p->n_status, 0, &st, sizeof(st));
}

static bool send_event(struct snd_io *io, uint32_t code, uint32_t data)
{
	struct vhost_vq *vq = io->vq[VIRTIO_SND_VQ_EVENT];
	if (!vq || vhost_vq_pop(vq, &io->ev_elem) != 1) {
		io->stats.events_dropped++;
		return false;
	}
	struct virtio_snd_event ev = { .hdr.code = htole32(code), .data = htole32(data) };
	if (io->ev_elem.out_num || io->ev_elem.in_bytes < sizeof(ev)) {
		vhost_vq_push(vq, io->ev_elem.head, 0); /* not an event buffer: give it back empty */
		io->stats.bad++;
		return false;
	}
	buf_to_iov(io->ev_elem.iov, io->ev_elem.in_num, 0, &ev, sizeof(ev));
	vhost_vq_push(vq, io->ev_elem.head, sizeof(ev));
	vhost_vq_notify(vq);
	io->stats.events_sent++;
	return true;
}

/* An immediate answer to a buffer we will not queue. */
static void complete_now(struct snd_io *io, unsigned int q, const struct vhost_vq_elem *e, uint32_t status)
{
	struct pending p = { .head = e->head };
	p.n_status = tail_iovs(e, sizeof(struct virtio_snd_pcm_status), p.status, STATUS_IOV);
	if (p.n_status) {
		write_status(&p, status, 0);
		push(io, q, e->head, sizeof(struct virtio_snd_pcm_status));
	} else {
		push(io, q, e->head, 0);
	}
	if (status != VIRTIO_SND_S_OK)
		io->stats.bad++;
}

/* TX: complete every buffer the host clock has consumed, in order. */
static void tx_complete(struct snd_io *io, struct stream_io *si)
{
	struct vsnd_audio_status st;
	if (!si->s->host)
		return;
	vsnd_audio_stream_get_status(si->s->host, &st);
	bool any = false;
	while (si->tail != si->head) {
		struct pending *p = &si->q[si->tail % MAX_PENDING];
		if (p->end_frame > st.frames)
			break;
		write_status(p, VIRTIO_SND_S_OK, st.delay_frames * si->s->frame_bytes);
		push(io, VIRTIO_SND_VQ_TX, p->head, sizeof(struct virtio_snd_pcm_status));
		si->tail++;
		io->stats.tx_completed++;
		any = true;
	}
	if (any) {
		notify(io, VIRTIO_SND_VQ_TX);
		send_event(io, VIRTIO_SND_EVT_PCM_PERIOD_ELAPSED, si->s->id);
	}
}

/* RX: fill the oldest buffers from the host ring; complete the full ones. */
static void rx_fill(struct snd_io *io, struct stream_io *si)
{
	struct snd_stream *s = si->s;
	if (!s->host)
		return;
	struct vsnd_ring *ring = vsnd_audio_stream_ring(s->host);
	bool any = false, moved = false;
	while (si->tail != si->head) {
		uint32_t slot = si->tail % MAX_PENDING;
		struct pending *p = &si->q[slot];
		struct iovec *iov = si->rx_iov + (size_t)slot * RX_IOV;
		struct vsnd_ring_area a[2];
		uint32_t want = (p->data_bytes - p->filled) / s->frame_bytes;
		uint32_t n = vsnd_ring_read_begin(ring, a, want);
		for (int k = 0; k < 2; k++) {
			size_t bytes = (size_t)a[k].frames * s->frame_bytes;
			if (bytes)
				p->filled += (uint32_t)buf_to_iov(iov, p->n_data, p->filled, a[k].data, bytes);
		}
		vsnd_ring_read_commit(ring, n);
		moved |= n > 0;
		if (p->filled < p->data_bytes)
			break;
		write_status(p, VIRTIO_SND_S_OK, vsnd_ring_readable(ring) * s->frame_bytes);
		push(io, VIRTIO_SND_VQ_RX, p->head, p->data_bytes + sizeof(struct virtio_snd_pcm_status));
		si->tail++;
		io->stats.rx_completed++;
		any = true;
	}
	if (moved)
		vsnd_audio_stream_kick(s->host);
	if (any) {
		notify(io, VIRTIO_SND_VQ_RX);
		send_event(io, VIRTIO_SND_EVT_PCM_PERIOD_ELAPSED, s->id);
	}
}

static void host_event(void *data, int fd, uint32_t events)
{
	struct stream_io *si = data;
	struct snd_io *io = si->io;
	if (!si->s->host)
		return;
	uint32_t ev = vsnd_audio_stream_dispatch(si->s->host);
	struct snd_stream *s = si->s;
	if (s->state == SND_PCM_STOP && s->drain_until_ns) {
		/* The end of a drain: once the server has played out, cork the host stream. */
		if (vsnd_now_ns() >= s->drain_until_ns) {
			vsnd_audio_stream_stop(s->host);
			s->drain_until_ns = 0;
		}
		ev &= ~VSND_AUDIO_EVENT_XRUN; /* the guest stopped: running dry is not its xrun */
	}
	if (ev & VSND_AUDIO_EVENT_XRUN)
		send_event(io, VIRTIO_SND_EVT_PCM_XRUN, si->s->id);
	if (ev & VSND_AUDIO_EVENT_VOLUME)
		snd_device_host_volume_changed(io->dev, si->s);
	if (si->s->direction == VIRTIO_SND_D_OUTPUT)
		tx_complete(io, si);
	else
		rx_fill(io, si);
}

/* ---- queues ---- */

static void log_bad(struct snd_io *io, const char *what, uint32_t a)
{
	uint64_t suppressed;
	if (vsnd_ratelimit_pass(&io->rl, vsnd_now_ns(), &suppressed))
		vsnd_warn(&snd_log, "guest I/O: %s (%u)%s", what, a, suppressed ? " (more suppressed)" : "");
}

/* A queue the guest broke stays broken (vhost-vq): say so once, the others go on. */
static void log_broken(struct snd_io *io, unsigned int q, int ret)
{
	static const char *const names[] = { "control", "event", "TX", "RX" };
	if (ret >= 0 || io->broken_logged[q])
		return;
	io->broken_logged[q] = true;
	vsnd_error(&snd_log, "the guest broke the %s queue (%s); the other queues go on", names[q],
		   strerror(-ret));
}

static void handle_control(struct snd_io *io)
{
	struct vhost_vq *vq = io->vq[VIRTIO_SND_VQ_CONTROL];
	struct vhost_vq_elem *e = &io->elem;
	int ret;
	while ((ret = vhost_vq_pop(vq, e)) == 1) {
		size_t cap = e->in_bytes < CTL_RESP_MAX ? e->in_bytes : CTL_RESP_MAX;
		size_t len = 0;
		/* Larger than any valid request: malformed, answered as an empty one (BAD_MSG). */
		if (e->out_bytes <= CTL_REQ_MAX)
			len = iov_to_buf(e->iov, e->out_num, 0, io->req, e->out_bytes);
		size_t n = snd_ctl_handle(io->dev, io->req, len, io->resp, cap);
		buf_to_iov(e->iov + e->out_num, e->in_num, 0, io->resp, n);
		vhost_vq_push(vq, e->head, (uint32_t)n);
	}
	log_broken(io, VIRTIO_SND_VQ_CONTROL, ret);
	vhost_vq_notify(vq);
}

/*
 * The stream an I/O buffer is for: a prepared stream of @dir with room for
 * one more buffer in flight. Otherwise the buffer is answered BAD_MSG at
 * once and NULL is returned.
 */
static struct stream_io *io_stream(struct snd_io *io, unsigned int q, const struct vhost_vq_elem *e,
				   uint8_t dir)
{
	struct virtio_snd_pcm_xfer x;
	struct snd_stream *s = NULL;
	if (iov_to_buf(e->iov, e->out_num, 0, &x, sizeof(x)) == sizeof(x))
		s = snd_device_stream(io->dev, le32toh(x.stream_id));
	if (!s || s->direction != dir || !s->host ||
	    (s->state != SND_PCM_PREPARE && s->state != SND_PCM_START && s->state != SND_PCM_STOP) ||
	    io->streams[s->id].head - io->streams[s->id].tail == MAX_PENDING) {
		log_bad(io, dir == VIRTIO_SND_D_OUTPUT ? "TX not for a prepared output stream with room"
						       : "RX not for a prepared input stream with room",
			s ? s->id : UINT32_MAX);
		complete_now(io, q, e, VIRTIO_SND_S_BAD_MSG);
		return NULL;
	}
	return &io->streams[s->id];
}

static void handle_tx(struct snd_io *io)
{
	struct vhost_vq *vq = io->vq[VIRTIO_SND_VQ_TX];
	struct vhost_vq_elem *e = &io->elem;
	int ret;
	while ((ret = vhost_vq_pop(vq, e)) == 1) {
		struct stream_io *si = io_stream(io, VIRTIO_SND_VQ_TX, e, VIRTIO_SND_D_OUTPUT);
		if (!si)
			continue;
		struct snd_stream *s = si->s;
		uint64_t bytes = e->out_bytes - sizeof(struct virtio_snd_pcm_xfer);
		if (bytes % s->frame_bytes) {
			log_bad(io, "TX buffer of torn frames", (uint32_t)bytes);
			complete_now(io, VIRTIO_SND_VQ_TX, e, VIRTIO_SND_S_BAD_MSG);
			continue;
		}
		struct vsnd_ring *ring = vsnd_audio_stream_ring(s->host);
		uint32_t frames = (uint32_t)(bytes / s->frame_bytes);
		if (bytes > UINT32_MAX || vsnd_ring_writable(ring) < frames) {
			/* More than the buffer the driver itself declared: its bug, not our stall. */
			log_bad(io, "TX beyond the stream's buffer", (uint32_t)frames);
			complete_now(io, VIRTIO_SND_VQ_TX, e, VIRTIO_SND_S_IO_ERR);
			continue;
		}
		struct pending *p = &si->q[si->head % MAX_PENDING];
		p->head = e->head;
		p->n_status = tail_iovs(e, sizeof(struct virtio_snd_pcm_status), p->status, STATUS_IOV);
		if (!p->n_status) {
			log_bad(io, "TX buffer without room for its status", (uint32_t)e->in_bytes);
			push(io, VIRTIO_SND_VQ_TX, e->head, 0);
			io->stats.bad++;
			continue;
		}
		/* Gather straight into the host ring: no per-period allocation. */
		struct vsnd_ring_area a[2];
		vsnd_ring_write_begin(ring, a, frames);
		size_t off = sizeof(struct virtio_snd_pcm_xfer);
		for (int k = 0; k < 2; k++) {
			size_t n = (size_t)a[k].frames * s->frame_bytes;
			iov_to_buf(e->iov, e->out_num, off, a[k].data, n);
			off += n;
		}
		vsnd_ring_write_commit(ring, frames);
		vsnd_audio_stream_kick(s->host);
		si->frames_in += frames;
		p->end_frame = si->frames_in;
		si->head++;
	}
	log_broken(io, VIRTIO_SND_VQ_TX, ret);
	vhost_vq_notify(vq);
}

static void handle_rx(struct snd_io *io)
{
	struct vhost_vq *vq = io->vq[VIRTIO_SND_VQ_RX];
	struct vhost_vq_elem *e = &io->elem;
	int ret;
	while ((ret = vhost_vq_pop(vq, e)) == 1) {
		struct stream_io *si = io_stream(io, VIRTIO_SND_VQ_RX, e, VIRTIO_SND_D_INPUT);
		if (!si)
			continue;
		struct snd_stream *s = si->s;
		if (!si->rx_iov || e->in_bytes < sizeof(struct virtio_snd_pcm_status)) {
			log_bad(io, "RX buffer without room for its status", (uint32_t)e->in_bytes);
			complete_now(io, VIRTIO_SND_VQ_RX, e, VIRTIO_SND_S_BAD_MSG);
			continue;
		}
		uint64_t data = e->in_bytes - sizeof(struct virtio_snd_pcm_status);
		uint32_t slot = si->head % MAX_PENDING;
		struct pending *p = &si->q[slot];
		struct iovec *iov = si->rx_iov + (size_t)slot * RX_IOV;
		p->head = e->head;
		p->n_status = tail_iovs(e, sizeof(struct virtio_snd_pcm_status), p->status, STATUS_IOV);
		/* The data part: the writable iovecs minus the status at the end. */
		p->n_data = 0;
		size_t left = (size_t)data;
		for (uint32_t i = 0; i < e->in_num && left; i++) {
			if (p->n_data == RX_IOV)
				break;
			size_t k = e->iov[e->out_num + i].iov_len < left ? e->iov[e->out_num + i].iov_len : left;
			iov[p->n_data].iov_base = e->iov[e->out_num + i].iov_base;
			iov[p->n_data++].iov_len = k;
			left -= k;
		}
		if (left || !p->n_status || data % s->frame_bytes || data > UINT32_MAX) {
			log_bad(io, "RX buffer malformed (torn frames, scattered status or too many pieces)",
				(uint32_t)data);
			complete_now(io, VIRTIO_SND_VQ_RX, e, VIRTIO_SND_S_BAD_MSG);
			continue;
		}
		p->data_bytes = (uint32_t)data;
		p->filled = 0;
		si->head++;
	}
	log_broken(io, VIRTIO_SND_VQ_RX, ret);
	for (uint32_t i = 0; i < snd_device_n_streams(io->dev); i++)
		if (io->streams[i].s->direction == VIRTIO_SND_D_INPUT)
			rx_fill(io, &io->streams[i]);
	vhost_vq_notify(vq);
}

void snd_io_kick(struct snd_io *io, unsigned int index)
{
	if (index >= VIRTIO_SND_VQ_MAX || !io->vq[index])
		return;
	switch (index) {
	case VIRTIO_SND_VQ_CONTROL: handle_control(io); break;
	case VIRTIO_SND_VQ_TX: handle_tx(io); break;
	case VIRTIO_SND_VQ_RX: handle_rx(io); break;
	default: break; /* event buffers wait until there is an event */
	}
}

static void flush(struct snd_io *io, struct stream_io *si, bool push_them);

void snd_io_set_queue(struct snd_io *io, unsigned int index, struct vhost_vq *vq)
{
	if (index >= VIRTIO_SND_VQ_MAX)
		return;
	io->vq[index] = vq;
	if (vq)
		return;
	io->broken_logged[index] = false;
	/*
	 * A stopped ring must not be touched, and its memory may be remapped
	 * before it starts again: forget the buffers it still owes the driver.
	 */
	uint8_t dir = index == VIRTIO_SND_VQ_TX ? VIRTIO_SND_D_OUTPUT :
		      index == VIRTIO_SND_VQ_RX ? VIRTIO_SND_D_INPUT : 0xff;
	for (uint32_t i = 0; i < snd_device_n_streams(io->dev); i++)
		if (io->streams[i].s->direction == dir)
			flush(io, &io->streams[i], false);
}

/* ---- streams ---- */

void snd_io_stream_opened(struct snd_io *io, struct snd_stream *s)
{
	struct stream_io *si = &io->streams[s->id];
	si->head = si->tail = 0;
	si->frames_in = 0;
	si->src = vsnd_loop_add_fd(io->loop, vsnd_audio_stream_fd(s->host), EPOLLIN, host_event, si);
	if (s->direction == VIRTIO_SND_D_INPUT && !si->rx_iov)
		si->rx_iov = calloc((size_t)MAX_PENDING * RX_IOV, sizeof(struct iovec));
}

/* Return every pending buffer: played or not, RELEASE completes only after this. */
static void flush(struct snd_io *io, struct stream_io *si, bool push_them)
{
	unsigned int q = si->s->direction == VIRTIO_SND_D_OUTPUT ? VIRTIO_SND_VQ_TX : VIRTIO_SND_VQ_RX;
	while (si->tail != si->head) {
		struct pending *p = &si->q[si->tail % MAX_PENDING];
		if (push_them) {
			write_status(p, VIRTIO_SND_S_OK, 0);
			push(io, q, p->head, (q == VIRTIO_SND_VQ_RX ? p->filled : 0) +
				  (uint32_t)sizeof(struct virtio_snd_pcm_status));
		}
		si->tail++;
	}
	if (push_them)
		notify(io, q);
}

void snd_io_stream_closing(struct snd_io *io, struct snd_stream *s)
{
	struct stream_io *si = &io->streams[s->id];
	if (s->direction == VIRTIO_SND_D_OUTPUT)
		tx_complete(io, si);
	flush(io, si, true);
	vsnd_loop_remove(si->src);
	si->src = NULL;
}

void snd_io_ctl_notify(struct snd_io *io, uint32_t control_id, uint16_t mask)
{
	struct virtio_snd_ctl_event ev = { .hdr.code = htole32(VIRTIO_SND_EVT_CTL_NOTIFY),
					   .control_id = htole16((uint16_t)control_id), .mask = htole16(mask) };
	uint32_t data;
	memcpy(&data, (uint8_t *)&ev + sizeof(ev.hdr), sizeof(data));
	send_event(io, VIRTIO_SND_EVT_CTL_NOTIFY, le32toh(data));
}

void snd_io_reset(struct snd_io *io)
{
	for (unsigned q = 0; q < VIRTIO_SND_VQ_MAX; q++)
		snd_io_set_queue(io, q, NULL);
}

struct snd_io *snd_io_new(struct snd_device *dev, struct vsnd_loop *loop)
{
	struct snd_io *io = calloc(1, sizeof(*io));
	if (!io)
		return NULL;
	io->dev = dev;
	io->loop = loop;
	io->rl = (struct vsnd_ratelimit)VSND_RATELIMIT_INIT(VSND_NSEC_PER_SEC, 3);
	for (uint32_t i = 0; i < snd_device_n_streams(dev); i++) {
		io->streams[i].io = io;
		io->streams[i].s = snd_device_stream(dev, i);
	}
	return io;
}

void snd_io_destroy(struct snd_io *io)
{
	if (!io)
		return;
	for (uint32_t i = 0; i < SND_MAX_STREAMS; i++) {
		vsnd_loop_remove(io->streams[i].src);
		free(io->streams[i].rx_iov);
	}
	free(io);
}

void snd_io_get_stats(const struct snd_io *io, struct snd_io_stats *st)
{
	*st = io->stats;
}
