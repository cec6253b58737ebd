/*
 * quantity — Kubernetes resource quantities ("4", "3920m", "1.5", "2k", "500u", "1e3", "1Ki").
 *
 * Grammar (as the API server accepts it):
 *   quantity := sign? (digits ("." digits?)? | "." digits) suffix
 *   suffix   := "" | n | u | m | k | M | G | T | P | E          (decimal SI)
 *             | Ki | Mi | Gi | Ti | Pi | Ei                    (binary SI)
 *             | (e|E) sign? digits                             (decimal exponent)
 *
 * Values are converted exactly (decimal big-number arithmetic, no floating point) to an integer
 * count of nano-units (for CPU: nanocores). Precision below a nano-unit is rounded up, away from
 * zero, as Kubernetes does; milli-units are derived with the same rounding. Values whose
 * magnitude exceeds INT64_MAX nano-units (about 9.2e9 cores) are rejected, not capped.
 *
 * Pure functions; no allocation. Errors return -1 and write a message naming the input to err.
 */
#ifndef PROPSCALER_QUANTITY_H
#define PROPSCALER_QUANTITY_H

#include <stddef.h>
#include <stdint.h>

/* Longest accepted quantity text; longer inputs are rejected (real ones are a few bytes). */
#define QUANTITY_MAX_LEN 256

#define NANO_PER_UNIT INT64_C(1000000000)

int quantity_parse_nano(const char *s, size_t len, int64_t *nano_out, char *err, size_t errlen);

/* The same value rounded up (away from zero) to milli-units; its range is 1e6 times wider
 * (about 9.2e15 units: memory in bytes). */
int quantity_parse_milli(const char *s, size_t len, int64_t *milli_out, char *err, size_t errlen);

/* ceil(nano / 1e9) for nano >= 0; away from zero for negatives. */
int64_t quantity_nano_to_units_ceil(int64_t nano);
int64_t quantity_nano_to_milli_ceil(int64_t nano);

#endif
