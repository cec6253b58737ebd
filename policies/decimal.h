/*
 * decimal — exact, fast conversions between doubles and plain decimal text, for the hot loops of
 * trace reading and timeline writing (strtod and printf's float path cost more there than the
 * decisions do). Each function either gives exactly what the C library would, or declines and
 * leaves the job to it:
 *
 * - decimal_parse: "digits[.digits]" (at least one digit on each side of a dot) whose digits, read
 *   as one integer N, are at most 2^53 — then N and 10^f are exact doubles and one IEEE division
 *   is the correctly rounded value, i.e. strtod's result, bit for bit. Anything else (a sign, an
 *   exponent, more precision) is declined.
 * - decimal_format6: printf("%.6f") for finite 0 <= v < 2^53, computed exactly in integers
 *   (round half to even on the exact binary value, as glibc does); snprintf otherwise.
 * - decimal_format_i64: printf("%lld").
 *
 * Pure; no allocation. tests/unit/test_decimal.c holds them to strtod and snprintf.
 */
#ifndef PROPSCALER_DECIMAL_H
#define PROPSCALER_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

#define DECIMAL_BUF 320 /* room for any output, with the NUL: "-DBL_MAX" in %.6f is 317 bytes */

/* Bytes consumed (the number ends at the first byte that cannot continue it), or 0: declined. */
size_t decimal_parse(const char *s, size_t len, double *out);
/* Writes a NUL-terminated text into buf (DECIMAL_BUF bytes) and returns its length. */
size_t decimal_format6(double v, char *buf);
size_t decimal_format_i64(int64_t v, char *buf);

#endif
