/*
 * promhist — a Prometheus histogram with fixed buckets (5 ms .. 10 s, the range of API requests
 * and reconciles), and the text exposition of one.
 *
 * A histogram is plain storage, written by one thread; readers on another thread may see a
 * torn update of a counter, which is harmless for monitoring (callers that need more lock).
 */
#ifndef PROPSCALER_PROMHIST_H
#define PROPSCALER_PROMHIST_H

#include "buf.h"

#define PROMHIST_BUCKETS 11 /* finite upper bounds; +Inf is the count */

struct promhist {
    unsigned long bucket[PROMHIST_BUCKETS]; /* observations <= bound[i], not cumulative */
    unsigned long count;
    double sum;
};

void promhist_observe(struct promhist *h, double seconds);
/* `name`_bucket{labels,le=...}, _sum and _count lines (labels: "" or `a="x",b="y"`); the
 * HELP/TYPE header is the caller's (once per metric name). */
void promhist_print(struct buf *b, const char *name, const char *labels, const struct promhist *h);

#endif
