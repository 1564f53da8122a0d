/* SPDX-License-Identifier: MIT */
/*
 * Strict number parsing for command lines: the whole string must be the
 * number and within [min, max]. atoi() and bare strtol() accept "", "12abc"
 * or overflow silently, which turns a typo into a rate of 0.
 */
#ifndef VSND_PARSE_H
#define VSND_PARSE_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Decimal integer in [min, max]; false (and *out untouched) otherwise. */
bool vsnd_parse_long(const char *s, long min, long max, long *out);

/* Finite decimal number in [min, max]; false (and *out untouched) otherwise. */
bool vsnd_parse_double(const char *s, double min, double max, double *out);

#ifdef __cplusplus
}
#endif

#endif
