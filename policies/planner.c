#include "planner.h"

#include <stdio.h>
#include <string.h>

/* Three replacements of our value within this window start a fight back-off. */
#define FIGHT_WINDOW_S 600.0

void planner_target_init(struct planner_target *t)
{
    memset(t, 0, sizeof *t);
    guard_init(&t->guard);
    t->last_written = -1;
}

void planner_leadership_changed(struct planner_target *t)
{
    t->last_written = -1;
    t->n_overrides = 0;
    t->fighting_until = 0;
}

void planner_written(struct planner_target *t, int32_t replicas) { t->last_written = replicas; }

const char *plan_action_name(enum plan_action a)
{
    switch (a) {
    case PLAN_NOTHING: return "nothing";
    case PLAN_SCALE: return "scale";
    case PLAN_FIGHT_BACKOFF: return "fight-backoff";
    case PLAN_NOT_LEADER: return "not-leader";
    }
    return "?";
}

/* Stage 2: our value was replaced while our answer stood. */
static void foreign_writer(struct planner_target *t, const struct planner_opts *o, const struct planner_input *in,
                           int32_t rule, struct plan *p)
{
    if (t->last_written < 0 || in->current == t->last_written || rule != t->desired)
        return;
    p->foreign_write = true;
    p->overwritten = t->last_written;
    t->override_total++;
    memmove(t->overrides, t->overrides + 1, 2 * sizeof t->overrides[0]);
    t->overrides[2] = in->now;
    if (t->n_overrides < 3)
        t->n_overrides++;
    double backoff = o->foreign_writer_backoff_s;
    if (backoff > 0 && t->n_overrides == 3 && in->now - t->overrides[0] < FIGHT_WINDOW_S && in->now >= t->fighting_until) {
        t->fighting_until = in->now + backoff;
        p->fight_started = true;
        snprintf(p->fight_note, sizeof p->fight_note, "Another writer (an HPA?) changed spec.replicas 3 times in %.0f s, undoing "
                 "propscaler's %d; propscaler stops writing this target for %.0f s instead of fighting "
                 "(--foreign-writer-backoff)", in->now - t->overrides[0], rule, backoff);
    }
    t->last_written = -1;
}

/* Stage 3: the guard. */
static void guard_stage(struct planner_target *t, const struct planner_opts *o, const struct planner_input *in,
                        struct plan *p)
{
    if (!o->guard.enabled) {
        p->guard.verdict = GUARD_PASS;
        p->guard.replicas = p->replicas;
        return;
    }
    int64_t counted = p->calc.used_total ? in->summary->total_nodes : in->summary->schedulable_nodes;
    guard_decide(&t->guard, &o->guard, in->now, in->summary, counted, in->current, p->replicas, in->override, &p->guard);
    if (p->guard.verdict == GUARD_HOLD) {
        t->guard_holds++;
        p->hold_started = !t->held;
        t->held = true;
    } else {
        t->held = false;
        if (p->guard.verdict != GUARD_PASS)
            t->guard_limits++;
    }
    p->replicas = p->guard.replicas;
}

/* Stage 4: placement. */
static void placement_stage(struct planner_target *t, const struct planner_opts *o, const struct planner_input *in,
                            struct plan *p)
{
    p->eligible = in->eligible;
    if (in->eligible < 0)
        return;
    if (p->replicas > in->eligible && in->eligible >= 1) {
        p->capped = true;
        p->cap_started = !t->capped;
        t->capped = true;
        if (p->cap_started)
            snprintf(p->cap_note, sizeof p->cap_note, "%d replicas with required hostname anti-affinity need %d nodes, but only "
                     "%lld schedulable nodes are eligible (nodeSelector, node affinity, taints): %s",
                     p->replicas, p->replicas, (long long)in->eligible,
                     o->placement_warn_only ? "the extra replicas will stay Pending (--placement-warn-only)"
                                            : "capping at the eligible count instead of leaving Pending pods");
        if (!o->placement_warn_only)
            p->replicas = (int32_t)in->eligible;
    } else {
        t->capped = false;
    }
}

int planner_decide(struct planner_target *t, const struct planner_opts *o, const struct planner_input *in,
                   struct plan *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    out->current = in->current;
    out->eligible = -1;
    if (replicas_compute(in->params, in->summary, &o->policy, &out->calc, err, errlen) != 0)
        return -1;
    out->replicas = out->calc.replicas;
    foreign_writer(t, o, in, out->calc.replicas, out);
    guard_stage(t, o, in, out);
    t->desired = out->replicas;
    t->decided = true;
    if (in->eligible_stale) {
        out->waiting = true; /* decide once the eligible nodes are counted for the new rules */
        out->action = PLAN_NOTHING;
        return 0;
    }
    placement_stage(t, o, in, out);
    t->desired = out->replicas;
    if (in->current == out->replicas)
        out->action = PLAN_NOTHING;
    else if (in->now < t->fighting_until)
        out->action = PLAN_FIGHT_BACKOFF;
    else if (!in->may_write)
        out->action = PLAN_NOT_LEADER;
    else
        out->action = PLAN_SCALE;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Vertical                                                                                     */

void planner_vtarget_init(struct planner_vtarget *t)
{
    memset(t, 0, sizeof *t);
    guard_init(&t->guard);
}

static int32_t count32(int64_t n) { return n > INT32_MAX ? INT32_MAX : n < 0 ? 0 : (int32_t)n; }

void planner_decide_vertical(struct planner_vtarget *t, const struct planner_opts *o, const struct planner_vinput *in,
                             struct vplan *out)
{
    memset(out, 0, sizeof *out);
    out->container = -1;
    int64_t nodes = in->summary->total_nodes, cores = in->summary->total_cores;
    out->guard.verdict = GUARD_PASS;
    if (o->guard.enabled) {
        struct guard_opts g = o->guard;
        g.max_step = 0; /* a replica step has no meaning for resources */
        g.max_step_percent = 0;
        int32_t before = t->sized ? count32(t->sized_nodes) : count32(nodes);
        guard_decide(&t->guard, &g, in->now, in->summary, nodes, before, count32(nodes), in->override, &out->guard);
        if (out->guard.verdict == GUARD_HOLD || out->guard.verdict == GUARD_DELAY) {
            /* the counts the previous decision sized for stand (or, delayed, the highest recent) */
            if (out->guard.replicas > nodes)
                nodes = out->guard.replicas;
            if (t->sized && t->sized_cores > cores)
                cores = t->sized_cores;
        }
        if (out->guard.verdict == GUARD_HOLD) {
            t->holds++;
            out->hold_started = !t->held;
            t->held = true;
        } else {
            t->held = false;
        }
    }
    out->nodes = nodes;
    out->cores = cores;
    vertical_compute(in->policy, nodes, cores, &out->answer);
    for (size_t c = 0; c < in->policy->n_containers && !out->outside; c++)
        if (vertical_needs_rewrite(in->policy, &out->answer.values[c], &in->observed[c], &out->down, out->why,
                                   sizeof out->why)) {
            out->outside = true;
            out->container = (int)c;
        }
    t->sized = true;
    t->sized_nodes = nodes;
    t->sized_cores = cores;
    /* what the containers would have after the patch: a request above its limit is refused */
    for (size_t c = 0; c < in->policy->n_containers && out->outside && !out->invalid; c++) {
        const struct vertical_values *want = &out->answer.values[c], *have = &in->observed[c];
        for (int r = 0; r < VRES_COUNT && !out->invalid; r++) {
            bool has_req = want->have[VKIND_REQUESTS][r] || have->have[VKIND_REQUESTS][r];
            bool has_lim = want->have[VKIND_LIMITS][r] || have->have[VKIND_LIMITS][r];
            int64_t req = want->have[VKIND_REQUESTS][r] ? want->milli[VKIND_REQUESTS][r] : have->milli[VKIND_REQUESTS][r];
            int64_t lim = want->have[VKIND_LIMITS][r] ? want->milli[VKIND_LIMITS][r] : have->milli[VKIND_LIMITS][r];
            if (!has_req || !has_lim || req <= lim)
                continue;
            char rq[32], lm[32];
            vertical_format((enum vertical_resource)r, req, rq, sizeof rq);
            vertical_format((enum vertical_resource)r, lim, lm, sizeof lm);
            snprintf(out->why, sizeof out->why, "container %s: requests %s=%s would exceed its limit %s (%s): size the "
                     "limit too, or lower the rule", in->policy->containers[c].name, vertical_resource_name((enum vertical_resource)r),
                     rq, lm, want->have[VKIND_LIMITS][r] ? "from the rule" : "the workload's own");
            out->invalid = true;
            out->container = (int)c;
        }
    }
    if (!out->outside || out->invalid)
        out->action = PLAN_NOTHING;
    else if (!in->may_write)
        out->action = PLAN_NOT_LEADER;
    else {
        out->action = PLAN_SCALE;
        t->rewrites++;
    }
}

void planner_vertical_guard_reason(const struct vplan *p, char *buf, size_t len)
{
    char why[GUARD_REASON_MAX];
    guard_reason(&p->guard, why, sizeof why);
    const char *tail = strstr(why, "): "); /* after "holding N replicas (would scale down to M)" */
    snprintf(buf, len, "resources kept as sized for %lld nodes, not %lld: %s", (long long)p->nodes,
             (long long)p->guard.desired, tail ? tail + 3 : why);
}
