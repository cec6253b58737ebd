/*
 * kfilter — which stored objects a LIST or WATCH of propsim serve returns: the labelSelector
 * and the fieldSelector (metadata.name and metadata.namespace, "=" or "=="), and the continue
 * tokens it hands out ("propsim-<snapshot>-<offset>-<resourceVersion>").
 *
 * Pure (no I/O); the request's strings come from outside and are fuzzed (fuzz_serve_body).
 * Ownership: struct kfilter is caller-owned: kfilter_init() fills it, kfilter_release() frees it
 * (also after a failed init).
 */
#ifndef PROPSIM_KFILTER_H
#define PROPSIM_KFILTER_H

#include <stdbool.h>

#include "apipath.h"
#include "kstore.h"
#include "selector.h"

struct kfilter {
    struct selector *labels;
    char *field_name; /* metadata.name=X */
    char *field_ns;   /* metadata.namespace=X */
};

/* 0, or -1 with err naming the selector at fault (the server answers 400 with it). */
int kfilter_init(struct kfilter *f, const struct api_request *r, char *err, size_t errlen);
void kfilter_release(struct kfilter *f);
bool kfilter_match(const struct kfilter *f, const struct kobj *o);

/* Read a continue token; 0, or -1 when it is not one of ours. */
int kfilter_parse_continue(const char *token, unsigned long *snapshot, unsigned long *offset, unsigned long long *rv);

#endif
