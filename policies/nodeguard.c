#include "nodeguard.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nodeguard_opts_default(struct nodeguard_opts *o)
{
    o->max_node_loss = 0.5;
    o->window_s = 600;
    o->settle_s = 600;
    o->min_absolute = 3;
}

void nodeguard_init(struct nodeguard_state *g) { memset(g, 0, sizeof *g); }

void nodeguard_release(struct nodeguard_state *g)
{
    for (size_t i = 0; i < g->n_removed; i++)
        free(g->removed[i].name);
    free(g->removed);
    memset(g, 0, sizeof *g);
}

static void sample(struct nodeguard_state *g, double now, int64_t nodes)
{
    if (g->count == NODEGUARD_SAMPLES) { /* full: drop the oldest */
        g->head = (g->head + 1) % NODEGUARD_SAMPLES;
        g->count--;
    }
    int idx = (g->head + g->count) % NODEGUARD_SAMPLES;
    g->t[idx] = now;
    g->n[idx] = nodes;
    g->count++;
}

static void drop_removals_before(struct nodeguard_state *g, double t)
{
    size_t keep = 0;
    while (keep < g->n_removed && g->removed[keep].t < t) /* appended in time order */
        free(g->removed[keep++].name);
    if (keep) {
        memmove(g->removed, g->removed + keep, (g->n_removed - keep) * sizeof *g->removed);
        g->n_removed -= keep;
    }
}

/* Forget what fell out of the window; restart the window after `settle` without removals. */
static void forget(struct nodeguard_state *g, const struct nodeguard_opts *o, double now)
{
    if (g->n_removed > 0 && now - g->last_removal_t >= o->settle_s)
        nodeguard_override(g, now);
    double from = fmax(now - o->window_s, g->floor_t);
    /* a sample goes when the next one also precedes the window: the count in force when the
     * window starts stays in the high-water mark */
    while (g->count > 1 && g->t[(g->head + 1) % NODEGUARD_SAMPLES] <= from) {
        g->head = (g->head + 1) % NODEGUARD_SAMPLES;
        g->count--;
    }
    drop_removals_before(g, from);
}

void nodeguard_observe(struct nodeguard_state *g, const struct nodeguard_opts *o, double now, int64_t nodes,
                       int64_t ready)
{
    g->nodes = nodes;
    g->ready = ready;
    g->observed = true;
    int last = (g->head + g->count - 1 + NODEGUARD_SAMPLES) % NODEGUARD_SAMPLES;
    /* a sample when the count changes, or often enough that the window always holds one */
    if (g->count == 0 || g->n[last] != nodes || now - g->t[last] >= o->window_s / (NODEGUARD_SAMPLES / 2))
        sample(g, now, nodes);
}

static ptrdiff_t find_removal(const struct nodeguard_state *g, const char *name)
{
    for (size_t i = 0; i < g->n_removed; i++)
        if (strcmp(g->removed[i].name, name) == 0)
            return (ptrdiff_t)i;
    return -1;
}

static int add_removal(struct nodeguard_state *g, double now, const char *name)
{
    if (g->n_removed == g->cap_removed) {
        size_t cap = g->cap_removed ? g->cap_removed * 2 : 64;
        struct nodeguard_removal *r = realloc(g->removed, cap * sizeof *r);
        if (!r)
            return -1;
        g->removed = r;
        g->cap_removed = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return -1;
    g->removed[g->n_removed++] = (struct nodeguard_removal){copy, now};
    g->last_removal_t = now;
    return 0;
}

void nodeguard_note_removal(struct nodeguard_state *g, const struct nodeguard_opts *o, double now, const char *name,
                            double t)
{
    forget(g, o, now);
    if (t < now - o->window_s || t < g->floor_t || find_removal(g, name) >= 0 || g->n_removed >= NODEGUARD_MAX_REMOVALS)
        return;
    double last = g->last_removal_t;
    if (add_removal(g, t, name) != 0)
        return;
    g->last_removal_t = t > last ? t : last;
    /* move it back to its place in time order (the window forgets from the front) */
    size_t i = g->n_removed - 1;
    struct nodeguard_removal r = g->removed[i];
    while (i > 0 && g->removed[i - 1].t > r.t) {
        g->removed[i] = g->removed[i - 1];
        i--;
    }
    g->removed[i] = r;
}

size_t nodeguard_removals(struct nodeguard_state *g, const struct nodeguard_opts *o, double now,
                          const struct nodeguard_removal **out)
{
    forget(g, o, now);
    *out = g->removed;
    return g->n_removed;
}

void nodeguard_node_gone(struct nodeguard_state *g, const struct nodeguard_opts *o, double now, const char *name)
{
    forget(g, o, now);
    if (find_removal(g, name) < 0 && g->n_removed < NODEGUARD_MAX_REMOVALS)
        (void)add_removal(g, now, name); /* out of memory: one removal uncounted, said nowhere else */
}

void nodeguard_node_back(struct nodeguard_state *g, const char *name)
{
    ptrdiff_t i = find_removal(g, name);
    if (i < 0)
        return;
    free(g->removed[i].name);
    memmove(g->removed + i, g->removed + i + 1, (g->n_removed - (size_t)i - 1) * sizeof *g->removed);
    g->n_removed--;
}

void nodeguard_override(struct nodeguard_state *g, double now)
{
    g->floor_t = now;
    drop_removals_before(g, INFINITY);
    g->count = 0;
    if (g->observed)
        sample(g, now, g->nodes);
}

/* How many removals the window allows: the share of the high-water mark (exactly half may go,
 * not one more), never fewer than min_absolute. */
static int64_t budget_of(const struct nodeguard_opts *o, int64_t high_water)
{
    int64_t budget = (int64_t)floor(o->max_node_loss * (double)high_water + 1e-9);
    return budget > o->min_absolute ? budget : o->min_absolute;
}

/* More than the share of the nodes NotReady at once (and more than min_absolute): an outage. */
static bool looks_like_outage(const struct nodeguard_opts *o, int64_t nodes, int64_t notready)
{
    return nodes > 0 && notready > o->min_absolute && (double)notready > o->max_node_loss * (double)nodes;
}

enum nodeguard_verdict nodeguard_check_batch(const struct nodeguard_opts *o, int64_t nodes, int64_t ready, int64_t remove,
                                             struct nodeguard_numbers *out)
{
    memset(out, 0, sizeof *out);
    out->high_water = out->nodes = nodes;
    out->notready = nodes - ready;
    out->budget = budget_of(o, nodes);
    out->removed = remove;
    out->outage = looks_like_outage(o, nodes, out->notready);
    if (remove <= 0)
        return NODEGUARD_ALLOW;
    return out->outage || remove > out->budget ? NODEGUARD_REFUSE : NODEGUARD_ALLOW;
}

void nodeguard_numbers(struct nodeguard_state *g, const struct nodeguard_opts *o, double now,
                       struct nodeguard_numbers *out)
{
    forget(g, o, now);
    int64_t hwm = g->nodes;
    for (int i = 0; i < g->count; i++) {
        int k = (g->head + i) % NODEGUARD_SAMPLES;
        if (g->n[k] > hwm)
            hwm = g->n[k];
    }
    out->high_water = hwm;
    out->removed = (int64_t)g->n_removed;
    out->budget = budget_of(o, hwm);
    out->nodes = g->nodes;
    out->notready = g->nodes - g->ready;
    out->repeat = false;
    out->outage = looks_like_outage(o, out->nodes, out->notready);
}

static void fmt_minutes(double s, char *out, size_t len)
{
    if (s >= 120)
        snprintf(out, len, "%.0f min", s / 60);
    else
        snprintf(out, len, "%.0f s", s);
}

enum nodeguard_verdict nodeguard_decide(struct nodeguard_state *g, const struct nodeguard_opts *o, double now,
                                        const char *name, bool node_override, bool record,
                                        struct nodeguard_numbers *out, char *reason, size_t len)
{
    nodeguard_numbers(g, o, now, out);
    char win[32], settle[32];
    fmt_minutes(o->window_s, win, sizeof win);
    fmt_minutes(o->settle_s, settle, sizeof settle);
    double pct = 100 * o->max_node_loss;
    if (find_removal(g, name) >= 0) {
        out->repeat = true;
        snprintf(reason, len, "node %s: already counted among the %lld removals of the last %s (budget %lld)", name,
                 (long long)out->removed, win, (long long)out->budget);
        return NODEGUARD_ALLOW;
    }
    bool outage = out->outage;
    int64_t after = out->removed + 1;
    bool over = after > out->budget;
    if (g->n_removed >= NODEGUARD_MAX_REMOVALS) {
        over = true;
        node_override = false;
    }
    if ((outage || over) && !node_override) {
        if (outage)
            snprintf(reason, len,
                     "refusing to remove node %s: %lld of %lld nodes (%.0f%%) are NotReady at once, more than %.0f%%; "
                     "this looks like a control-plane outage, not a node to remove. To remove it anyway, annotate the "
                     "node propscaler.io/allow-removal=REASON, or set propscaler.io/guard-override on the params "
                     "ConfigMap",
                     name, (long long)out->notready, (long long)out->nodes,
                     100.0 * (double)out->notready / (double)out->nodes, pct);
        else
            snprintf(reason, len,
                     "refusing to remove node %s: %lld nodes were removed or marked for removal within %s; one more "
                     "makes %lld of a high-water mark of %lld nodes, past the budget of %lld (%.0f%%); removals this "
                     "fast look like a control-plane outage, not a real shrink. Allowed again after %s without "
                     "removals; to remove it now, annotate the node propscaler.io/allow-removal=REASON, or set "
                     "propscaler.io/guard-override on the params ConfigMap (the window restarts)",
                     name, (long long)out->removed, win, (long long)after, (long long)out->high_water,
                     (long long)out->budget, pct, settle);
        return NODEGUARD_REFUSE;
    }
    if (record && add_removal(g, now, name) == 0)
        out->removed = after;
    snprintf(reason, len, "node %s may be removed: %lld of a budget of %lld removals within %s (%.0f%% of a high-water "
             "mark of %lld nodes)%s", name, (long long)after, (long long)out->budget, win, pct,
             (long long)out->high_water,
             node_override && (outage || over) ? "; allowed by the node's propscaler.io/allow-removal annotation" : "");
    return NODEGUARD_ALLOW;
}
