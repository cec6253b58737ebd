/*
 * guard — refuse scale-downs that follow what looks like a control-plane outage, not a real
 * shrink; and never drop too many replicas at once.
 *
 * Hold (no scale-down; scale-ups always pass) when either:
 *   - the counted nodes fell by more than max_node_loss (share) of their high-water mark over
 *     the last `window` seconds, and by more than min_absolute nodes; or
 *   - more than max_node_loss of all nodes are NotReady at once (and more than min_absolute).
 * Release when the count recovers, when the lower count has been stable for `settle` seconds
 * (the shrink was real: the high-water mark restarts from there), or on an operator override.
 * A scale-down only goes as low as the highest answer of the last stabilize_s seconds (as the
 * HPA's stabilization window): a fast ramp of NotReady nodes cannot walk the replicas down before
 * the hold engages, and a real shrink is followed a little later. Independently, every
 * scale-down is limited to at most max_step replicas (or max_step_percent of the current count)
 * per decision.
 *
 * Pure: time is an argument; state lives in caller-owned struct guard_state (fixed size: a ring
 * of samples for the sliding high-water mark). Every hold or limit comes with a reason in plain
 * words, with the numbers.
 */
#ifndef PROPSCALER_GUARD_H
#define PROPSCALER_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "summary.h"

#define GUARD_SAMPLES 512

struct guard_opts {
    bool enabled;
    double max_node_loss;    /* share, default 0.5 */
    double window_s;         /* default 600 */
    double settle_s;         /* default 600 */
    int64_t min_absolute;    /* default 3 */
    double stabilize_s;      /* scale down only to the highest answer of this many seconds (default 60) */
    int32_t max_step;        /* > 0: at most this many replicas removed per step */
    double max_step_percent; /* > 0: at most this share of the current replicas removed per step */
};

void guard_opts_default(struct guard_opts *o);
/* Parse "50%" or "0.5" (share) into *share; "3" (absolute) into *count. */
int guard_parse_step(const char *text, int32_t *count, double *share, char *err, size_t errlen);
int guard_parse_share(const char *text, double *share, char *err, size_t errlen);
/* A duration: seconds as a number, or with a unit: "600", "600s", "500ms", "10m", "1h" (>= 0). */
int guard_parse_duration(const char *text, double *seconds);

struct guard_state {
    double t[GUARD_SAMPLES];
    int64_t n[GUARD_SAMPLES];
    int head, count;
    int64_t hwm;         /* the samples' maximum and its earliest time, when hwm_valid */
    double hwm_t;
    bool hwm_valid;
    int64_t last_nodes;
    double stable_since; /* when the counted nodes last changed */
    double floor_t;      /* samples before this are forgotten (a settled shrink) */
    bool holding;
    unsigned long holds, limits; /* decisions held / limited, for metrics */
    /* recent answers, for the scale-down stabilization window */
    double dt[64];
    int32_t dv[64];
    int dhead, dcount;
};

enum guard_verdict { GUARD_PASS, GUARD_HOLD, GUARD_LIMIT, GUARD_DELAY };

/* Why a decision was not passed through: the numbers, put in words only by guard_reason() when
 * someone reads them (a replay decides millions of times and formats almost none of them). */
enum guard_why { GUARD_WHY_NONE, GUARD_WHY_DROP, GUARD_WHY_NOTREADY, GUARD_WHY_DELAY, GUARD_WHY_LIMIT };

struct guard_result {
    enum guard_verdict verdict;
    int32_t replicas;  /* what may be written */
    bool released;     /* a hold ended at this decision */
    enum guard_why why;
    int32_t current, desired; /* the decision's input: the target's replicas and the rule's answer */
    int32_t recent, max_remove;
    int64_t hwm, counted, notready, total;
    double window_s, settle_s, max_node_loss, stabilize_s;
};

#define GUARD_REASON_MAX 400
/* The reason in plain words with the numbers ("" for GUARD_PASS); returns buf. */
const char *guard_reason(const struct guard_result *r, char *buf, size_t len);

void guard_init(struct guard_state *g);
/* override: the operator asked to release any hold now (e.g. an annotation): the current count
 * becomes the high-water mark and the scale-down delay's memory is cleared. */
void guard_decide(struct guard_state *g, const struct guard_opts *o, double now, const struct cluster_summary *s,
                  int64_t counted_nodes, int32_t current, int32_t desired, bool override, struct guard_result *out);

/* The stand-alone rule for runbooks: may K of N nodes (`ready` of them Ready) be removed at once?
 * The node-removal webhook's rule (nodeguard_check_batch). 1 = allow, 0 = refuse. */
int guard_allow_removal(const struct guard_opts *o, int64_t nodes, int64_t ready, int64_t remove, char *reason,
                        size_t len);

#endif
