/* SPDX-License-Identifier: MIT */
#include <limits.h>

#include "check.h"
#include "vsnd/parse.h"

static void test_long(void)
{
	long v = -7;
	CHECK(vsnd_parse_long("44100", 1, 192000, &v));
	CHECK_EQ(v, 44100);
	CHECK(vsnd_parse_long("-3", -5, 5, &v));
	CHECK_EQ(v, -3);
	CHECK(vsnd_parse_long("0", 0, 0, &v));
	CHECK_EQ(v, 0);
	/* rejected: *out keeps its last value */
	const char *bad[] = { "", " 5", "5 ", "12abc", "abc", "0x10", "1.5", "-", "99999999999999999999" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 42;
		CHECK(!vsnd_parse_long(bad[i], LONG_MIN, LONG_MAX, &v));
		CHECK_EQ(v, 42);
	}
	CHECK(!vsnd_parse_long(NULL, 0, 1, &v));
	CHECK(!vsnd_parse_long("6", 1, 5, &v));
	CHECK(!vsnd_parse_long("0", 1, 5, &v));
	CHECK_EQ(v, 42);
}

static void test_double(void)
{
	double v = -1;
	CHECK(vsnd_parse_double("2.5", 0, 10, &v));
	CHECK(v == 2.5);
	CHECK(vsnd_parse_double("10", 0, 10, &v));
	CHECK(v == 10);
	const char *bad[] = { "", " 1", "1x", "nan", "inf", "-inf", "1e999", "11", "-0.5" };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 3;
		CHECK(!vsnd_parse_double(bad[i], 0, 10, &v));
		CHECK(v == 3);
	}
}

int main(void)
{
	RUN(test_long);
	RUN(test_double);
	return 0;
}
