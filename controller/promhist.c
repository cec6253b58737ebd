#include "promhist.h"

static const double bounds[PROMHIST_BUCKETS] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

void promhist_observe(struct promhist *h, double seconds)
{
    for (int i = 0; i < PROMHIST_BUCKETS; i++)
        if (seconds <= bounds[i]) {
            h->bucket[i]++;
            break;
        }
    h->count++;
    h->sum += seconds;
}

void promhist_print(struct buf *b, const char *name, const char *labels, const struct promhist *h)
{
    unsigned long cumulative = 0;
    const char *sep = labels[0] ? "," : "";
    for (int i = 0; i < PROMHIST_BUCKETS; i++) {
        cumulative += h->bucket[i];
        buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %lu\n", name, labels, sep, bounds[i], cumulative);
    }
    buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %lu\n", name, labels, sep, h->count);
    if (labels[0]) {
        buf_printf(b, "%s_sum{%s} %.6f\n%s_count{%s} %lu\n", name, labels, h->sum, name, labels, h->count);
    } else {
        buf_printf(b, "%s_sum %.6f\n%s_count %lu\n", name, h->sum, name, h->count);
    }
}
