#include "guard.h"
#include "nodeguard.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void guard_opts_default(struct guard_opts *o)
{
    memset(o, 0, sizeof *o);
    o->enabled = true;
    o->max_node_loss = 0.5;
    o->window_s = 600;
    o->settle_s = 600;
    o->min_absolute = 3;
    o->stabilize_s = 60;
    o->max_step_percent = 0.5;
}

int guard_parse_share(const char *text, double *share, char *err, size_t errlen)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || (*end && strcmp(end, "%") != 0) || !(v >= 0)) {
        snprintf(err, errlen, "expected a share such as 50%% or 0.5, got \"%s\"", text);
        return -1;
    }
    if (*end == '%')
        v /= 100;
    if (v > 1) {
        snprintf(err, errlen, "a share cannot exceed 100%%, got \"%s\"", text);
        return -1;
    }
    *share = v;
    return 0;
}

int guard_parse_step(const char *text, int32_t *count, double *share, char *err, size_t errlen)
{
    *count = 0;
    *share = 0;
    if (strchr(text, '%') || strchr(text, '.'))
        return guard_parse_share(text, share, err, errlen);
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end || v < 1 || v > INT32_MAX) {
        snprintf(err, errlen, "expected a number of replicas (>= 1) or a percentage such as 50%%, got \"%s\"", text);
        return -1;
    }
    *count = (int32_t)v;
    return 0;
}

void guard_init(struct guard_state *g)
{
    memset(g, 0, sizeof *g);
    g->last_nodes = -1;
}

/* Drop the oldest sample; the cached high-water mark is recomputed if it was that one. */
static void drop_oldest(struct guard_state *g)
{
    if (g->hwm_valid && g->n[g->head] == g->hwm)
        g->hwm_valid = false;
    g->head = (g->head + 1) % GUARD_SAMPLES;
    g->count--;
}

static void sample(struct guard_state *g, double now, int64_t nodes)
{
    if (g->count == GUARD_SAMPLES) /* full: drop the oldest */
        drop_oldest(g);
    int idx = (g->head + g->count) % GUARD_SAMPLES;
    g->t[idx] = now;
    g->n[idx] = nodes;
    g->count++;
    if (g->hwm_valid && nodes > g->hwm) { /* strictly: the earliest sample of the maximum keeps its time */
        g->hwm = nodes;
        g->hwm_t = now;
    }
}

/* Highest count seen within the window (and after a settled shrink). */
static int64_t high_water(struct guard_state *g, const struct guard_opts *o, double now, double *at)
{
    while (g->count > 0 && (g->t[g->head] < now - o->window_s || g->t[g->head] < g->floor_t))
        drop_oldest(g);
    if (g->count == 0)
        return -1;
    if (!g->hwm_valid) { /* a scan only when the maximum left the window: a replay decides millions of times */
        g->hwm = -1;
        for (int i = 0; i < g->count; i++) {
            int k = (g->head + i) % GUARD_SAMPLES;
            if (g->n[k] > g->hwm) {
                g->hwm = g->n[k];
                g->hwm_t = g->t[k];
            }
        }
        g->hwm_valid = true;
    }
    *at = g->hwm_t;
    return g->hwm;
}

static void fmt_dur(double s, char *out, size_t len)
{
    if (s >= 120)
        snprintf(out, len, "%.0f min", s / 60);
    else
        snprintf(out, len, "%.0f s", s);
}

/* A percentage beside the threshold it exceeds, with as many decimals (up to 3) as it takes
 * not to print the threshold itself: 1,251 of 2,500 nodes is "50.04%", not "50%", when the
 * rule is "more than 50%". */
static void fmt_pct(double pct, double threshold, char *out, size_t len)
{
    char t[32];
    for (int d = 0; d < 3; d++) {
        snprintf(out, len, "%.*f%%", d, pct);
        snprintf(t, sizeof t, "%.*f%%", d, threshold);
        if (strcmp(out, t) != 0)
            return;
    }
    snprintf(out, len, "%.3f%%", pct);
}

/* Record an answer for the stabilization window. A monotonic deque (values decreasing from the
 * head) gives the window's maximum in O(1): an answer is dropped once a newer one is at least as
 * high, since it can never be the maximum again. */
static void remember(struct guard_state *g, const struct guard_opts *o, double now, int32_t value)
{
    while (g->dcount > 0 && g->dt[g->dhead] < now - o->stabilize_s) {
        g->dhead = (g->dhead + 1) % 64;
        g->dcount--;
    }
    while (g->dcount > 0 && g->dv[(g->dhead + g->dcount - 1) % 64] <= value)
        g->dcount--;
    if (g->dcount == 64) /* 64 strictly decreasing answers in the window: replace the smallest */
        g->dcount--;
    int di = (g->dhead + g->dcount) % 64;
    g->dt[di] = now;
    g->dv[di] = value;
    g->dcount++;
}

void guard_decide(struct guard_state *g, const struct guard_opts *o, double now, const struct cluster_summary *s,
                  int64_t counted, int32_t current, int32_t desired, bool override, struct guard_result *out)
{
    memset(out, 0, sizeof *out);
    out->verdict = GUARD_PASS;
    out->replicas = desired;
    if (counted != g->last_nodes) {
        g->stable_since = now;
        g->last_nodes = counted;
    }
    /* Only record a sample when the count changes or a second has passed (bounded ring). */
    int last = (g->head + g->count - 1 + GUARD_SAMPLES) % GUARD_SAMPLES;
    if (g->count == 0 || g->n[last] != counted || now - g->t[last] >= o->window_s / (GUARD_SAMPLES / 2))
        sample(g, now, counted);
    if (!o->enabled)
        return;
    bool was_holding = g->holding;
    /* 1. outage-like drops hold scale-downs */
    double at = now;
    int64_t hwm = high_water(g, o, now, &at);
    int64_t drop = hwm - counted;
    int64_t notready = s->total_nodes - s->ready_nodes;
    bool big_drop = hwm > 0 && drop > o->min_absolute && (double)drop > o->max_node_loss * (double)hwm;
    bool many_notready = s->total_nodes > 0 && notready > o->min_absolute &&
                         (double)notready > o->max_node_loss * (double)s->total_nodes;
    bool suspicious = big_drop || many_notready;
    if (override) {
        /* the operator says act now: accept the current level and forget the recent answers */
        g->floor_t = now;
        g->dcount = 0;
        suspicious = false;
    } else if (suspicious && big_drop && !many_notready && now - g->stable_since >= o->settle_s) {
        /* a stable lower count for the settle time: the shrink is real */
        g->floor_t = now;
        suspicious = false;
    } else if (suspicious && many_notready && now - g->stable_since >= o->settle_s && !big_drop) {
        suspicious = false; /* NotReady for a long while and stable: act on it */
    }
    g->holding = suspicious;
    out->released = was_holding && !g->holding;
    out->current = current;
    out->desired = desired;
    out->window_s = o->window_s;
    out->settle_s = o->settle_s;
    out->max_node_loss = o->max_node_loss;
    out->stabilize_s = o->stabilize_s;
    if (suspicious && desired < current) {
        out->verdict = GUARD_HOLD;
        out->replicas = current;
        g->holds++;
        remember(g, o, now, current); /* held: the count kept is the answer, also after release */
        out->why = big_drop ? GUARD_WHY_DROP : GUARD_WHY_NOTREADY;
        out->hwm = hwm;
        out->counted = counted;
        out->notready = notready;
        out->total = s->total_nodes;
        return;
    }
    /* 2. stabilization: scale down only to the highest answer of the recent window */
    remember(g, o, now, desired);
    if (desired < current && o->stabilize_s > 0) {
        int32_t recent = g->dv[g->dhead];
        if (recent > desired) {
            int32_t to = recent < current ? recent : current;
            out->verdict = GUARD_DELAY;
            out->replicas = to;
            out->why = GUARD_WHY_DELAY;
            out->recent = recent;
            desired = to;
            if (desired >= current)
                return;
        }
    }
    /* 3. the step limit: never remove too many replicas at once */
    if (desired < current) {
        int32_t max_remove = current; /* no limit */
        if (o->max_step > 0)
            max_remove = o->max_step;
        if (o->max_step_percent > 0) {
            int32_t p = (int32_t)floor((double)current * o->max_step_percent);
            if (p < 1)
                p = 1;
            if (o->max_step <= 0 || p < max_remove)
                max_remove = p;
        }
        if (current - desired > max_remove) {
            out->verdict = GUARD_LIMIT;
            out->replicas = current - max_remove;
            g->limits++;
            out->why = GUARD_WHY_LIMIT;
            out->desired = desired; /* after the delay, as the limit saw it */
            out->max_remove = max_remove;
        }
    }
}

const char *guard_reason(const struct guard_result *r, char *buf, size_t len)
{
    char pct[32], wn[32], sn[32], sd[32];
    switch (r->why) {
    case GUARD_WHY_NONE:
        snprintf(buf, len, "%s", "");
        break;
    case GUARD_WHY_DROP:
        fmt_dur(r->window_s, wn, sizeof wn);
        fmt_dur(r->settle_s, sn, sizeof sn);
        fmt_pct(100.0 * (double)(r->hwm - r->counted) / (double)r->hwm, 100 * r->max_node_loss, pct, sizeof pct);
        snprintf(buf, len,
                 "holding %d replicas (would scale down to %d): the counted nodes fell from %lld to %lld (-%s) "
                 "within %s, more than the %.0f%% a real shrink would; this looks like a control-plane outage. "
                 "Released when nodes return, after %s stable at the lower count, or by an operator override",
                 r->current, r->desired, (long long)r->hwm, (long long)r->counted, pct, wn, 100 * r->max_node_loss, sn);
        break;
    case GUARD_WHY_NOTREADY:
        fmt_dur(r->settle_s, sn, sizeof sn);
        fmt_pct(100.0 * (double)r->notready / (double)r->total, 100 * r->max_node_loss, pct, sizeof pct);
        snprintf(buf, len,
                 "holding %d replicas (would scale down to %d): %lld of %lld nodes (%s) are NotReady at once, "
                 "more than %.0f%%; this looks like a control-plane outage. Released when they recover or after %s",
                 r->current, r->desired, (long long)r->notready, (long long)r->total, pct, 100 * r->max_node_loss, sn);
        break;
    case GUARD_WHY_DELAY:
        fmt_dur(r->stabilize_s, sd, sizeof sd);
        snprintf(buf, len, "scaling down to %d, not %d: the answer was %d within the last %s (--scale-down-delay)",
                 r->replicas, r->desired, r->recent, sd);
        break;
    case GUARD_WHY_LIMIT:
        snprintf(buf, len,
                 "scaling down from %d to %d instead of %d: at most %d replica%s may be removed in one step "
                 "(--max-scale-down-step); the rest follows at the next decisions",
                 r->current, r->replicas, r->desired, r->max_remove, r->max_remove == 1 ? "" : "s");
        break;
    }
    return buf;
}

int guard_allow_removal(const struct guard_opts *o, int64_t nodes, int64_t ready, int64_t remove, char *reason,
                        size_t len)
{
    if (nodes <= 0 || remove <= 0) {
        snprintf(reason, len, "allow: removing %lld of %lld nodes removes nothing", (long long)remove, (long long)nodes);
        return 1;
    }
    /* the node-removal webhook's rule (nodeguard), for a batch at once */
    struct nodeguard_opts no = {o->max_node_loss, o->window_s, o->settle_s, o->min_absolute};
    struct nodeguard_numbers nums;
    bool allow = nodeguard_check_batch(&no, nodes, ready, remove, &nums) == NODEGUARD_ALLOW;
    double share = (double)remove / (double)nodes;
    if (!allow && nums.outage)
        snprintf(reason, len, "refuse: %lld of %lld nodes (%.0f%%) are NotReady at once, more than %.0f%%; removing "
                 "nodes now would follow a control-plane outage, not a real need",
                 (long long)nums.notready, (long long)nodes, 100.0 * (double)nums.notready / (double)nodes,
                 100 * o->max_node_loss);
    else if (!allow)
        snprintf(reason, len, "refuse: removing %lld of %lld nodes (%.0f%%) exceeds the %.0f%% limit; an action this "
                 "large usually follows a control-plane outage (every node failing health checks), not a real need",
                 (long long)remove, (long long)nodes, 100 * share, 100 * o->max_node_loss);
    else
        snprintf(reason, len, "allow: removing %lld of %lld nodes (%.0f%%) is within the %.0f%% limit%s", (long long)remove,
                 (long long)nodes, 100 * share, 100 * o->max_node_loss,
                 remove <= o->min_absolute && share > o->max_node_loss ? " (small clusters: up to the minimum count)" : "");
    return allow;
}

int guard_parse_duration(const char *text, double *seconds)
{
    char *end;
    errno = 0;
    double d = strtod(text, &end);
    if (end == text || errno || !(d >= 0) || !isfinite(d))
        return -1;
    double scale;
    if (!*end || strcmp(end, "s") == 0)
        scale = 1;
    else if (strcmp(end, "ms") == 0)
        scale = 1e-3;
    else if (strcmp(end, "m") == 0)
        scale = 60;
    else if (strcmp(end, "h") == 0)
        scale = 3600;
    else
        return -1;
    *seconds = d * scale;
    return 0;
}
