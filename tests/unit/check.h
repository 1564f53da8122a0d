/* SPDX-License-Identifier: MIT */
/* Minimal assertions for the unit tests: a failed check prints where and why and exits 1. */
#ifndef VSND_TEST_CHECK_H
#define VSND_TEST_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                    \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			exit(1);                                                       \
		}                                                                      \
	} while (0)

#define CHECK_EQ(a, b)                                                                 \
	do {                                                                           \
		long long va_ = (long long)(a), vb_ = (long long)(b);                  \
		if (va_ != vb_) {                                                      \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, \
				__LINE__, #a, #b, va_, vb_);                           \
			exit(1);                                                       \
		}                                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                                \
	do {                                                                           \
		const char *sa_ = (a), *sb_ = (b);                                     \
		if (!sa_ || !sb_ || strcmp(sa_, sb_) != 0) {                           \
			fprintf(stderr, "%s:%d: %s == %s failed: '%s' != '%s'\n", __FILE__, \
				__LINE__, #a, #b, sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)"); \
			exit(1);                                                       \
		}                                                                      \
	} while (0)

#define RUN(test)                                   \
	do {                                        \
		fprintf(stderr, "-- %s\n", #test);  \
		test();                             \
	} while (0)

#endif
