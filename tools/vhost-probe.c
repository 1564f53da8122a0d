/* SPDX-License-Identifier: MIT */
/*
 * vhost-probe: connect to any vhost-user backend socket with libvsnd-vhost
 * and print what it offers: virtio features, protocol features, queue count
 * and config space bytes. An example of the frontend API, and a debugging aid.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vsnd/vhost-frontend.h"

int main(int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "Usage: vhost-probe SOCKET\n");
		return 2;
	}
	struct vhost_frontend_config cfg = {
		.socket_path = argv[1], .name = "vhost-probe", .num_queues = 0,
		.features = ~0ull, /* ack whatever is offered: the ack then is the offer */
		.connect_timeout_ms = 2000,
	};
	struct vhost_frontend *fe = vhost_frontend_new(&cfg);
	if (!fe) {
		fprintf(stderr, "vhost-probe: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("socket:            %s\n", argv[1]);
	printf("virtio features:   0x%016llx\n", (unsigned long long)vhost_frontend_features(fe));
	printf("protocol features: 0x%016llx\n", (unsigned long long)vhost_frontend_protocol_features(fe));
	printf("queues:            %u\n", vhost_frontend_num_queues(fe));
	/* The config size is not announced: the largest 4-byte multiple that reads is it. */
	uint8_t buf[256];
	uint32_t size = 0;
	for (uint32_t n = 4; n <= sizeof(buf); n += 4) {
		vhost_frontend_invalidate_config(fe);
		if (vhost_frontend_read_config(fe, 0, buf, n) < 0)
			break;
		size = n;
	}
	vhost_frontend_invalidate_config(fe);
	if (size && vhost_frontend_read_config(fe, 0, buf, size) == 0) {
		printf("config (%u bytes):", size);
		for (uint32_t i = 0; i < size; i++)
			printf("%s%02x", i % 4 ? "" : " ", buf[i]);
		printf("\n");
	} else {
		printf("config:            none readable\n");
	}
	vhost_frontend_destroy(fe);
	return 0;
}
