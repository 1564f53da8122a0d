/* SPDX-License-Identifier: MIT */
#include "vsnd/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

bool vsnd_parse_long(const char *s, long min, long max, long *out)
{
	/* strtol skips leading blanks; a number on the command line has none. */
	if (!s || !*s || isspace((unsigned char)*s))
		return false;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool vsnd_parse_double(const char *s, double min, double max, double *out)
{
	if (!s || !*s || isspace((unsigned char)*s))
		return false;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || !(v >= min && v <= max))
		return false;
	*out = v;
	return true;
}
