/*
 * replicas — desired replicas from params and cluster numbers, with the reasoning kept.
 *
 * replicas_compute() dispatches to the linear or ladder rule and fills a struct replica_calc
 * that says which numbers were used and what each rule gave, so dry-run output, logs and the
 * simulator can show *why* (not just *what*). Pure: no allocation, no I/O.
 *
 * Compatibility: with a zeroed struct policy_opts every answer is CPA's. Each option is an
 * opt-in divergence, documented in docs/DIVERGENCES.md. The one unconditional divergence:
 * results saturate at INT32_MAX where CPA's int32 conversion would wrap.
 */
#ifndef PROPSCALER_REPLICAS_H
#define PROPSCALER_REPLICAS_H

#include <stdbool.h>
#include <stdint.h>

#include "params.h"
#include "summary.h"

struct policy_opts {
    /* Linear: preventSinglePointFailure never raises replicas above a non-zero max. */
    bool spof_respects_max;
    /* Ladder: a ladder with no entries at all is an error instead of scaling to zero. */
    bool refuse_empty_ladder;
};

enum replica_flags {
    RC_SPOF_APPLIED = 1 << 0,      /* preventSinglePointFailure raised the nodes answer to 2 */
    RC_CLAMPED_MAX = 1 << 1,       /* a rule's answer was capped by max */
    RC_RAISED_MIN = 1 << 2,        /* a rule's answer was raised to min */
    RC_SATURATED = 1 << 3,         /* the answer exceeded INT32_MAX and was capped */
    RC_EMPTY_LADDER = 1 << 4,      /* both ladders empty: CPA scales to zero */
    RC_SPOF_LIMITED_BY_MAX = 1 << 5 /* spof_respects_max kept the answer at max */
};

struct replica_calc {
    int32_t replicas;
    enum params_mode mode;
    bool used_total;       /* includeUnschedulableNodes: total instead of schedulable counts */
    int64_t nodes;         /* the node count the rule used */
    int64_t cores;         /* the core count the rule used */
    int64_t from_cores;    /* the cores rule's answer (linear: after min/max) */
    int64_t from_nodes;    /* the nodes rule's answer (after min/max and spof) */
    unsigned flags;        /* enum replica_flags */
};

/* 0 on success; -1 (with err) only when an opt-in refuses the params (refuse_empty_ladder). */
int replicas_compute(const struct params *p, const struct cluster_summary *s,
                     const struct policy_opts *opts, struct replica_calc *out, char *err, size_t errlen);

/* One line in plain words: "max(cores 1, nodes 2) = 2 (schedulable: 3 nodes, 12 cores; ...)". */
void replicas_explain(const struct params *p, const struct replica_calc *c, char *out, size_t outlen);

#endif
