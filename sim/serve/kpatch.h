/*
 * kpatch — the patches propsim serve applies: RFC 7386 JSON merge patch, and with `strategic` a
 * practical subset of Kubernetes' strategic merge patch (lists of objects keyed by "name" merge
 * per element, "$patch": "delete" removes one, other "$" directives are dropped), as kubectl
 * apply and patch send them; and RFC 6902 JSON patch (kubectl patch --type json).
 *
 * Pure (no I/O); request bodies come from outside and are fuzzed (fuzz_serve_body).
 * Ownership: kpatch_merge() takes `target` (it is consumed) and returns the merged document,
 * which the caller owns; `patch` is borrowed.
 */
#ifndef PROPSIM_KPATCH_H
#define PROPSIM_KPATCH_H

#include <stdbool.h>

#include <cjson/cJSON.h>

cJSON *kpatch_merge(cJSON *target, const cJSON *patch, bool strategic);

/* Apply the RFC 6902 operations `ops` (an array: add, remove, replace, move, copy, test) to
 * `target` (consumed). Returns the result, or NULL with err naming the operation at fault (its
 * index, op and path): the whole patch then applies nothing. */
cJSON *kpatch_json(cJSON *target, const cJSON *ops, char *err, size_t errlen);

#endif
