/*
 * krand — per-process randomness for identities and jitter.
 *
 * Two processes started alike (same image, same HOSTNAME, same second) must not draw the same
 * numbers: an unseeded rand() gave every propscaler the Lease identity suffix 6b8b4567, so two
 * replicas with one hostname both led. Everything here comes from the kernel (getrandom) once,
 * then from a xorshift generator seeded with it. Not for secrets. Loop thread only.
 */
#ifndef PROPSCALER_KRAND_H
#define PROPSCALER_KRAND_H

#include <stddef.h>
#include <stdint.h>

/* A uniform draw in [0, 1). Seeds itself from the kernel on first use. */
double krand_unit(void);
/* `lo` times a factor uniform in [1 - spread, 1 + spread]: backoff and period jitter. */
double krand_jitter(double lo, double spread);
/* Fill out with 2*bytes lowercase hex digits straight from the kernel (identities); out must
 * hold 2*bytes+1. Returns 0, or -1 when the kernel gave nothing (then out holds a time-based value). */
int krand_hex(char *out, size_t bytes);

#endif
