/*
 * nodeline — the fast path for trace lines in the one canonical Node form that propsim's trace
 * writer produces (every importer and generator writes it):
 *
 *   {"t":T,"type":"ADDED"|"MODIFIED","object":{"kind":"Node","apiVersion":"v1",
 *     "metadata":{"name":"N","labels":{"kubernetes.io/hostname":"H"}},
 *     "spec":{} | {"unschedulable":true|false},
 *     "status":{["allocatable":{"cpu":"Q"},]"conditions":[{"type":"Ready","status":"S"}]}}}
 *   {"t":T,"type":"DELETED","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"N"}}}
 *
 * byte for byte: no whitespace, keys in this order, strings without escapes or control bytes,
 * T plain decimal digits with an optional fraction (all its digits, read as one integer, <= 2^53). Such a line is
 * decoded straight into a node record, without building a JSON tree (the tree costs most of a
 * replay). Anything else — another layout, an escape, an exponent, a quantity or name that the
 * general decoder would reject — is declined, and the caller decodes the line with
 * watch_event_parse + node_decode, which also produce the error message.
 *
 * The contract, checked by tests/unit/test_nodeline.c on real traces and by the differential fuzz
 * target tests/fuzz/fuzz_nodeline.c: whenever nodeline_decode accepts a line, the general decoder
 * accepts it too and yields the same type, the same t (bit for bit) and the same node record
 * (node_obs_build is shared). So replay decides identically whichever path a line took.
 *
 * Pure; no allocation. Output is caller-owned storage.
 */
#ifndef PROPSCALER_NODELINE_H
#define PROPSCALER_NODELINE_H

#include <stdbool.h>
#include <stddef.h>

#include "nodes.h"
#include "watchevent.h"

struct nodeline {
    double t;
    enum watch_event_type type; /* WEV_ADDED, WEV_MODIFIED or WEV_DELETED */
    struct node_obs node;       /* DELETED: only node.name is set */
};

/* 1: decoded into *out; 0: not in the canonical form (decode it the general way). `opts` may be
 * NULL (CPA's default counting). `line` need not be NUL-terminated. */
int nodeline_decode(const char *line, size_t len, const struct node_count_opts *opts, struct nodeline *out);

#endif
