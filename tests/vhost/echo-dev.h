/* SPDX-License-Identifier: MIT */
/*
 * A tiny test device for the backend dispatcher: every queue echoes the
 * readable part of each chain into its writable part (and reports the bytes
 * written as the used length). Config space: ECHO_CONFIG_SIZE bytes, bytes
 * 0..7 read-only (pattern 0x10 + i), 8..15 writable by SET_CONFIG.
 * Counts every callback so tests can assert exact behaviour.
 */
#ifndef VSND_TEST_ECHO_DEV_H
#define VSND_TEST_ECHO_DEV_H

#include "vsnd/vhost-backend.h"

#define ECHO_QUEUES 4
#define ECHO_CONFIG_SIZE 16
#define ECHO_F_TEST 0 /* device feature bit offered */

struct echo_dev {
	uint8_t config[ECHO_CONFIG_SIZE];
	uint64_t features;
	int started[ECHO_QUEUES];
	int stopped[ECHO_QUEUES];
	int kicked[ECHO_QUEUES];
	int echoed[ECHO_QUEUES];
	int errors[ECHO_QUEUES];
	int resets;
	int set_features_calls;
};

void echo_dev_init(struct echo_dev *d);
extern const struct vhost_dev_ops echo_dev_ops;

#endif
