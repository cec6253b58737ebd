/*
 * planner — the whole per-target decision, one pure function that the controller and the
 * simulator both call, so that what is simulated is what runs.
 *
 * Stages, in this order (each has a verdict in the plan, with its reason in plain words):
 *   1. rule: the params' answer for the cluster summary (linear or ladder, CPA's numbers);
 *   2. foreign writer: the observed replicas differ from what this planner last had written
 *      while its answer stood: someone else writes the field (an HPA?); three times in ten
 *      minutes starts a back-off during which nothing is written (0 turns the back-off off);
 *   3. guard (when enabled): hold, delay or limit scale-downs that look like an outage;
 *   4. placement: under required hostname anti-affinity, wait while the eligible nodes are being
 *      recounted, and cap at the eligible count (or only report, with warn_only);
 *   5. action: nothing when the replicas are already right, when a fight back-off runs or when
 *      this instance may not write (not the leader); otherwise scale to the plan's replicas.
 * Episodes (a hold, a cap, a fight) are reported once when they start: *_started in the plan.
 *
 * Pure: time is an input; the state is the caller-owned struct planner_target (fixed size), and
 * the caller performs the plan's action and tells the planner when a write succeeded
 * (planner_written) and when leadership changed (planner_leadership_changed).
 */
#ifndef PROPSCALER_PLANNER_H
#define PROPSCALER_PLANNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guard.h"
#include "params.h"
#include "replicas.h"
#include "summary.h"
#include "vertical.h"

struct planner_opts {
    struct policy_opts policy;
    struct guard_opts guard;        /* guard.enabled off: stage 3 passes everything */
    bool placement_warn_only;       /* report replicas beyond the eligible nodes, do not cap */
    double foreign_writer_backoff_s; /* 0: never stop writing because of another writer */
};

/* Per-target state, caller-owned; planner_target_init() before the first decision. */
struct planner_target {
    struct guard_state guard;
    int32_t desired;        /* the last decision's replicas (after every stage) */
    bool decided;           /* a decision was made */
    int32_t last_written;   /* what this instance last wrote; -1: nothing in this term */
    double overrides[3];    /* when our value was last replaced while our answer stood */
    int n_overrides;
    double fighting_until;  /* no writes before this time */
    unsigned long override_total, guard_holds, guard_limits;
    bool held;              /* a hold episode is in progress */
    bool capped;            /* a placement cap episode is in progress */
};

struct planner_input {
    const struct params *params;
    const struct cluster_summary *summary;
    int32_t current;        /* the target's spec.replicas as just read */
    int64_t eligible;       /* schedulable nodes its pods may use under REQUIRED hostname
                             * anti-affinity; -1 when it has none (or it is unknown) */
    bool eligible_stale;    /* the eligible count is being recomputed for new rules: wait */
    bool may_write;         /* leading (or no leader election), or a dry run */
    bool override;          /* an operator asked to release any guard hold */
    double now;             /* seconds, any fixed origin (the guard's windows) */
};

enum plan_action {
    PLAN_NOTHING,       /* the replicas are right (or the decision waits: see `waiting`) */
    PLAN_SCALE,         /* write `replicas` */
    PLAN_FIGHT_BACKOFF, /* would scale, but another writer's back-off runs */
    PLAN_NOT_LEADER,    /* would scale, but this instance may not write */
};

struct plan {
    enum plan_action action;
    int32_t current;            /* the input's replicas */
    int32_t replicas;           /* what the target should have after every stage */
    struct replica_calc calc;   /* stage 1 */
    /* stage 2 */
    bool foreign_write;         /* our value was replaced by another writer */
    int32_t overwritten;        /* what we had written (with foreign_write) */
    bool fight_started;         /* ... and the back-off starts now */
    /* stage 3 */
    struct guard_result guard;  /* verdict GUARD_PASS when the guard is off */
    bool hold_started;
    /* stage 4 */
    bool waiting;               /* eligible nodes being recounted: no decision this time */
    bool capped, cap_started;
    int64_t eligible;
    char fight_note[400];       /* with fight_started: the fight in words */
    char cap_note[400];         /* with cap_started: the cap in words */
};

void planner_target_init(struct planner_target *t);
/* Leadership changed: whatever was written meanwhile was written by the replica that led, never
 * a foreign writer; a fight back-off was the old term's. */
void planner_leadership_changed(struct planner_target *t);
/* The plan's write succeeded. */
void planner_written(struct planner_target *t, int32_t replicas);

/* 0 with *out filled, or -1 (err says why: the params refuse this cluster) with the state
 * unchanged. */
int planner_decide(struct planner_target *t, const struct planner_opts *o, const struct planner_input *in,
                   struct plan *out, char *err, size_t errlen);

const char *plan_action_name(enum plan_action a);

/* ------------------------------------------------------------------------------------------ */
/* Vertical: a target's container resources (policies/vertical), decided by the same planner.
 *   1. counts: every counted node and core (as addon-resizer and CPVA count);
 *   2. guard (when enabled): the node count is what the guard holds — a drop that looks like an
 *      outage keeps the counts the previous decision sized for, so no request or limit shrinks
 *      (growth passes); the replica step limit does not apply to resources;
 *   3. rule: the policy's values for those counts;
 *   4. threshold: rewrite only when a managed value of a container is missing or outside the
 *      acceptance threshold (a rewrite rolls every pod);
 *   5. action: PLAN_NOTHING, PLAN_SCALE (patch the pod template) or PLAN_NOT_LEADER; nothing
 *      (with `invalid`) when a request would exceed a limit the workload sets and the policy
 *      does not size — the API would refuse the patch.
 * State: struct planner_vtarget, caller-owned, fixed size (planner_vtarget_init). */

struct planner_vtarget {
    struct guard_state guard;
    bool sized;                  /* a decision was made */
    int64_t sized_nodes, sized_cores; /* the counts the last decision sized for (after the guard) */
    bool held;                   /* a hold episode is in progress */
    unsigned long rewrites, holds;
};

struct planner_vinput {
    const struct vertical_policy *policy;
    const struct cluster_summary *summary;
    const struct vertical_values *observed; /* the containers' resources now, in the policy's order */
    bool may_write;
    bool override;               /* release a guard hold */
    double now;
};

struct vplan {
    enum plan_action action;     /* PLAN_NOTHING, PLAN_SCALE or PLAN_NOT_LEADER */
    struct vertical_answer answer; /* what the containers should have (after the guard) */
    int64_t nodes, cores;        /* the counts sized for (after the guard, before the estimator) */
    bool outside;                /* some value must be rewritten */
    bool invalid;                /* ... but a request would exceed a limit the policy does not size
                                  * (the API refuses it): nothing is written, `why` says which */
    bool down;                   /* ... the first of them is above what it should be */
    int container;               /* ... in this container (index in the policy) */
    char why[400];               /* ... in words */
    struct guard_result guard;   /* verdict GUARD_PASS when the guard is off */
    bool hold_started;
};

void planner_vtarget_init(struct planner_vtarget *t);
/* A vertical plan's guard verdict in words (the guard's own words speak of replicas). */
void planner_vertical_guard_reason(const struct vplan *p, char *buf, size_t len);
void planner_decide_vertical(struct planner_vtarget *t, const struct planner_opts *o, const struct planner_vinput *in,
                             struct vplan *out);

#endif
