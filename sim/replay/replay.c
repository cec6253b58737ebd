/*
 * replay — the engine of `propsim replay` (replay_internal.h): node events from the trace update
 * the node set; at each decision point every params set asks the planner (the controller's own
 * decision function) and the simulated target takes its answer; the decision point becomes a
 * timeline row, a chart point and summary counts. The flags are replay_cli.c's.
 */
#define _DEFAULT_SOURCE
#include "replay_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "decimal.h"

/* A per-event arena for cJSON during the replay loop: a parsed event lives until the next one is
 * read, so its nodes can come from a bump allocator reset per event instead of thousands of
 * malloc/free pairs (the largest cost of a replay). Oversized events fall back to the heap. */
static struct {
    char *base;
    size_t used, cap;
} arena;

static void *arena_malloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (arena.base && arena.used + n <= arena.cap) {
        void *p = arena.base + arena.used;
        arena.used += n;
        return p;
    }
    return malloc(n);
}

static void arena_free(void *p)
{
    if (p && (!arena.base || (char *)p < arena.base || (char *)p >= arena.base + arena.cap))
        free(p);
}

static void add_level_time(struct param_set *p, int32_t replicas, double dt)
{
    /* the level of the previous row first: replicas change at few of millions of rows */
    int hint = p->last_level;
    if (hint < p->n_levels && p->levels[hint].replicas == replicas) {
        p->levels[hint].seconds += dt;
        return;
    }
    for (int i = 0; i < p->n_levels; i++)
        if (p->levels[i].replicas == replicas) {
            p->levels[i].seconds += dt;
            p->last_level = i;
            return;
        }
    if (p->n_levels < MAX_LEVELS) {
        p->last_level = p->n_levels;
        p->levels[p->n_levels++] = (struct level_time){replicas, dt};
    }
}

/* Timeline rows are formatted by hand, straight into the output buffers: at millions of rows,
 * printf's float and integer paths cost more than the decisions (decimal_format6 is exactly
 * "%.6f"). Each writer returns the position after what it wrote; the caller reserved room. */
static char *put_i64(char *p, int64_t v) { return p + decimal_format_i64(v, p); }

static char *put_bytes(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}
#define PUT_LIT(p, s) put_bytes((p), (s), sizeof(s) - 1)

/* at most 2 bytes per byte of s, plus the quotes */
static char *csv_quoted(char *p, const char *s)
{
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"')
            *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    return p;
}

/* at most 6 bytes per byte of s, plus the quotes */
static char *json_quoted(char *p, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    *p++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20) {
            p = PUT_LIT(p, "\\u00");
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    return p;
}

/* Write out the buffered rows; they are kept in memory up to ROWS_FLUSH bytes per file. */
#define ROWS_FLUSH (512u << 10)
static void flush_rows(struct replay *r)
{
    struct buf *c = &r->csv_rows, *j = &r->jsonl_rows;
    if (c->failed || j->failed || (c->len && fwrite(c->data, 1, c->len, r->csv) != c->len) ||
        (j->len && fwrite(j->data, 1, j->len, r->jsonl) != j->len))
        r->row_failed = true; /* reported as a write error at the end */
    buf_reset(c);
    buf_reset(j);
}

/* The planner's answer for set p (the rule, through the guard when it is on), applied to the
 * simulated target as the controller writes it. *held: the guard did not pass it (p->last_guard
 * says why, in numbers: words cost more than the decision and are only made for the outputs). */
static int32_t guarded(struct replay *r, struct param_set *p, double t, const struct cluster_summary *s, bool *held)
{
    s = &r->groups[p->group].summary; /* the set's own nodes (a targets file's filter), else r->nodes' */
    struct planner_input in = {.params = &p->params, .summary = s, .current = p->current,
                               .eligible = r->placement ? node_set_tag_count(r->nodes, 0) : -1, .may_write = true,
                               .now = t};
    struct plan plan;
    char err[512];
    *held = false;
    const struct planner_opts *opts = p->opts ? p->opts : p->no_guard ? &r->plan_opts_noguard : &r->plan_opts;
    if (planner_decide(&p->plan, opts, &in, &plan, err, sizeof err) != 0) {
        if (!p->error[0])
            snprintf(p->error, sizeof p->error, "%s", err);
        return p->current;
    }
    if (plan.guard.verdict != GUARD_PASS) {
        p->last_guard = plan.guard;
        *held = true;
    }
    if (plan.capped)
        p->capped++;
    if (plan.cap_started)
        snprintf(p->cap_note, sizeof p->cap_note, "%s", plan.cap_note);
    if (plan.action == PLAN_SCALE)
        planner_written(&p->plan, plan.replicas);
    return plan.replicas;
}

/* Account the time since the previous row at the previous state, then decide at t. */

/* One decision for one params set: apply it, count the action, track min/max. Returns the
 * replicas before the decision (the caller formats the action from it). */
static int32_t step_set(struct replay *r, struct param_set *p, double t, const struct cluster_summary *s, bool *held)
{
    int32_t before = p->current, desired = guarded(r, p, t, s, held);
    if (desired != before) {
        p->actions++;
        if (desired > before)
            p->ups++;
        else
            p->downs++;
        p->current = desired;
    }
    if (r->rows == 1 || p->current < p->min)
        p->min = p->current;
    if (r->rows == 1 || p->current > p->max)
        p->max = p->current;
    return before;
}
static void decide(struct replay *r, double t)
{
    for (int g = 0; g < r->n_groups; g++)
        node_set_summary(r->groups[g].nodes, &r->groups[g].summary);
    struct cluster_summary s = r->groups[0].summary;
    bool in_window = (!r->has_from || t >= r->from) && (!r->has_to || t <= r->to);
    if (r->started && in_window) {
        double dt = t - r->t_prev_row;
        for (int i = 0; i < r->n_sets; i++) {
            struct param_set *p = &r->sets[i];
            p->weighted += dt * p->current;
            add_level_time(p, p->current, dt);
            if (r->qps_replica > 0 && (double)p->current * r->qps_replica < (double)r->prev.total_nodes * r->qps_node)
                p->under_s += dt;
        }
    }
    if (!in_window) {
        /* outside the window the target still follows the decisions, silently */
        for (int i = 0; i < r->n_sets; i++) {
            bool held;
            r->sets[i].current = guarded(r, &r->sets[i], t, &s, &held);
        }
        replay_targets_decide(r, t, false);
        r->prev = s;
        return;
    }
    if (!r->started) {
        r->started = true;
        r->t_first = t;
        r->min_nodes = r->max_nodes = s.total_nodes;
    }
    r->t_prev_row = t;
    r->t_last = t;
    if (s.total_nodes < r->min_nodes)
        r->min_nodes = s.total_nodes;
    if (s.total_nodes > r->max_nodes)
        r->max_nodes = s.total_nodes;
    r->rows++;
    /* decide every set first, then record the decision point */
    int32_t before[MAX_SETS], after[MAX_SETS + MAX_VSETS];
    bool acted[MAX_SETS + MAX_VSETS], guarded_now[MAX_SETS + MAX_VSETS];
    for (int i = 0; i < r->n_sets; i++) {
        before[i] = step_set(r, &r->sets[i], t, &s, &guarded_now[i]);
        after[i] = r->sets[i].current;
        acted[i] = before[i] != after[i];
    }
    replay_targets_decide(r, t, true); /* after the sets: their replicas count the pod restarts */
    for (int i = 0; i < r->n_vsets; i++) { /* drawn after the sets */
        after[r->n_sets + i] = r->vsets[i].shown;
        acted[r->n_sets + i] = r->vsets[i].rolled;
        guarded_now[r->n_sets + i] = r->vsets[i].held;
    }
    if (r->node_guard)
        nodeguard_observe(&r->ng, &r->ng_opts, t, s.total_nodes, s.ready_nodes);
    const int64_t counts[4] = {s.total_nodes, s.schedulable_nodes, s.total_cores, s.schedulable_cores};
    if (r->chart)
        replay_chart_point(r->chart, t, counts, after, acted, guarded_now);
    char ng_cell[1300]; /* (not zero-filled: 1,300 bytes per row were a quarter of this function) */
    ng_cell[0] = '\0';
    if (r->ng_row_refused) {
        snprintf(ng_cell, sizeof ng_cell, "would refuse %lu removal%s: %s", r->ng_row_refused,
                 r->ng_row_refused == 1 ? "" : "s", r->ng_row_reason);
        r->ng_row_refused = 0;
    }
    if (r->no_timeline) {
        r->prev = s;
        return;
    }
    char why_text[MAX_SETS][GUARD_REASON_MAX];
    const char *why[MAX_SETS];
    for (int i = 0; i < r->n_sets; i++)
        why[i] = guarded_now[i] ? guard_reason(&r->sets[i].last_guard, why_text[i], sizeof why_text[i]) : "";
    size_t room = 5 * DECIMAL_BUF + 128 + 6 * strlen(ng_cell) + 32; /* t, four counts, keys and punctuation */
    for (int i = 0; i < r->n_sets; i++)
        room += 3 * DECIMAL_BUF + 3 * 32 + 6 * strlen(why[i]) + 16;
    room += replay_targets_row_room(r);
    struct buf *cb = &r->csv_rows, *jb = &r->jsonl_rows;
    char *c0 = buf_space(cb, room), *j0 = buf_space(jb, room);
    if (!c0 || !j0) {
        r->row_failed = true; /* reported as a write error at the end */
        r->prev = s;
        return;
    }
    char *c = c0, *j = j0;
    char tt[DECIMAL_BUF];
    size_t tn = decimal_format6(t, tt);
    c = put_bytes(c, tt, tn);
    j = PUT_LIT(j, "{\"t\":");
    j = put_bytes(j, tt, tn);
    for (int k = 0; k < 4; k++) {
        *c++ = ',';
        c = put_i64(c, counts[k]);
    }
    j = PUT_LIT(j, ",\"total_nodes\":");
    j = put_i64(j, counts[0]);
    j = PUT_LIT(j, ",\"schedulable_nodes\":");
    j = put_i64(j, counts[1]);
    j = PUT_LIT(j, ",\"total_cores\":");
    j = put_i64(j, counts[2]);
    j = PUT_LIT(j, ",\"schedulable_cores\":");
    j = put_i64(j, counts[3]);
    for (int i = 0; i < r->n_sets; i++) {
        const struct param_set *p = &r->sets[i];
        char action[2 * DECIMAL_BUF];
        size_t an = 0;
        if (before[i] != p->current) {
            an = decimal_format_i64(before[i], action);
            action[an++] = '-';
            action[an++] = '>';
            an += decimal_format_i64(p->current, action + an);
        }
        *c++ = ',';
        c = put_i64(c, p->current);
        *c++ = ',';
        c = put_bytes(c, action, an);
        *c++ = ',';
        c = csv_quoted(c, why[i]);
        j = put_bytes(j, p->json_keys[0], p->json_key_len[0]);
        j = put_i64(j, p->current);
        j = put_bytes(j, p->json_keys[1], p->json_key_len[1]);
        *j++ = '"';
        j = put_bytes(j, action, an); /* digits and "->" only */
        *j++ = '"';
        j = put_bytes(j, p->json_keys[2], p->json_key_len[2]);
        j = json_quoted(j, why[i]);
    }
    c = replay_targets_csv(r, c);
    j = replay_targets_json(r, j);
    if (r->node_guard) {
        *c++ = ',';
        c = csv_quoted(c, ng_cell);
        j = PUT_LIT(j, ",\"node_guard\":");
        j = json_quoted(j, ng_cell);
    }
    *c++ = '\n';
    j = PUT_LIT(j, "}\n");
    buf_advance(cb, (size_t)(c - c0));
    buf_advance(jb, (size_t)(j - j0));
    if (cb->len >= ROWS_FLUSH || jb->len >= ROWS_FLUSH)
        flush_rows(r);
    r->prev = s;
}

/* --node-guard: would the webhook have let this node go? Asked with the cluster as it was just
 * before the removal; the departure is then counted as the history says it happened. */
static void node_removal(struct replay *r, double t, const char *name)
{
    struct cluster_summary s;
    node_set_summary(r->nodes, &s);
    nodeguard_observe(&r->ng, &r->ng_opts, t, s.total_nodes, s.ready_nodes);
    struct nodeguard_numbers nums;
    char reason[1200];
    r->ng_removals++;
    if (nodeguard_decide(&r->ng, &r->ng_opts, t, name, false, true, &nums, reason, sizeof reason) == NODEGUARD_REFUSE) {
        if (r->ng_refused++ == 0)
            r->ng_first_refused_t = t;
        r->ng_row_refused++;
        snprintf(r->ng_last_reason, sizeof r->ng_last_reason, "%s", reason);
        snprintf(r->ng_row_reason, sizeof r->ng_row_reason, "%s", reason);
        nodeguard_node_gone(&r->ng, &r->ng_opts, t, name);
        if (r->chart)
            replay_chart_refusal(r->chart);
    }
}

static int apply_event(struct replay *r, const struct trace_event *te, long line)
{
    if (te->node) { /* the fast path already decoded a canonical Node line */
        if (r->node_guard && te->type == WEV_DELETED && node_set_contains(r->nodes, te->node->name))
            node_removal(r, te->t, te->node->name);
        else if (r->node_guard && te->type == WEV_ADDED)
            nodeguard_node_back(&r->ng, te->node->name);
        if (te->type == WEV_DELETED)
            node_set_remove(r->nodes, te->node->name);
        else if (node_set_upsert(r->nodes, te->node) != 0) /* (the fast path runs with one group only) */
            return -1;
        r->node_events++;
        return 1;
    }
    const struct watch_event *ev = te->ev;
    if (!ev->kind || strcmp(ev->kind, "Node") != 0)
        return 0; /* other kinds are skipped, as DESIGN.md says readers do */
    if (ev->type == WEV_BOOKMARK || ev->type == WEV_ERROR)
        return 0;
    struct node_obs n;
    char err[512];
    if (ev->type == WEV_DELETED) {
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev->object, "metadata"), "name");
        if (!cJSON_IsString(name)) {
            fprintf(stderr, "propsim replay: line %ld: DELETED node without metadata.name, skipped\n", line);
            return 0;
        }
        if (r->node_guard && node_set_contains(r->nodes, name->valuestring))
            node_removal(r, te->t, name->valuestring);
        for (int g = 0; g < r->n_groups; g++)
            node_set_remove(r->groups[g].nodes, name->valuestring);
    } else {
        if (r->node_guard && ev->type == WEV_ADDED) {
            const cJSON *nm = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev->object, "metadata"), "name");
            if (cJSON_IsString(nm))
                nodeguard_node_back(&r->ng, nm->valuestring);
        }
        for (int g = 0; g < r->n_groups; g++) { /* each node filter counts it its own way */
            if (node_decode(ev->object, r->groups[g].opts, &n, err, sizeof err) != 0) {
                fprintf(stderr, "propsim replay: line %ld: %s, skipped\n", line, err);
                return 0;
            }
            /* tag bit 0: the --workload's pods may run there (as the controller tags live nodes) */
            n.tags = g == 0 && r->placement && placement_node_eligible(&r->rules, ev->object) ? 1 : 0;
            if (node_set_upsert(r->groups[g].nodes, &n) != 0)
                return -1;
        }
    }
    r->node_events++;
    return 1;
}

/* chart.svg: what the chart's title and legend say about this replay */
static int write_chart(const struct replay *r, const char *dir, const char *trace_name)
{
    struct replay_chart_set sets[MAX_SETS + MAX_VSETS];
    for (int i = 0; i < r->n_sets; i++) {
        const struct param_set *p = &r->sets[i];
        sets[i] = (struct replay_chart_set){p->label, p->name[0] ? p->name : p->label, p->with, p->actions, p->ups,
                                            p->downs, p->plan.guard_holds, p->plan.guard_limits, p->min, p->max, NULL};
    }
    replay_targets_chart_sets(r, sets + r->n_sets);
    struct replay_chart_info info = {trace_name, r->rows, r->node_events, (long long)r->min_nodes,
                                     (long long)r->max_nodes, r->poll, r->gopts.enabled, sets, r->node_guard,
                                     r->has_end && r->t_last >= r->end_t, r->end_t, r->last_event_t, NULL};
    char path[4096], png[4096];
    if (dir)
        snprintf(path, sizeof path, "%s/chart.svg", dir);
    if (dir && r->png) {
        snprintf(png, sizeof png, "%s/chart.png", dir);
        info.png_path = png;
    }
    return replay_chart_write(r->chart, dir ? path : "/dev/null", &info);
}

/* ------------------------------------------------------------------------------------------ */

static int write_summary(const struct replay *r, const char *dir, const char *trace, long bad_lines)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "trace", trace);
    cJSON_AddNumberToObject(o, "events", (double)r->events);
    cJSON_AddNumberToObject(o, "nodeEvents", (double)r->node_events);
    cJSON_AddNumberToObject(o, "badLines", (double)bad_lines);
    cJSON_AddNumberToObject(o, "outOfOrderLines", (double)r->out_of_order); /* kept at the previous time */
    if (r->has_end) { /* where the observation ended, and who said so */
        cJSON_AddNumberToObject(o, "windowEnd", r->end_t);
        cJSON_AddStringToObject(o, "windowEndFrom", r->end_from_marker ? "END marker" : "--until");
        cJSON_AddNumberToObject(o, "eventsAfterWindowEnd", (double)r->after_end);
    }
    cJSON_AddNumberToObject(o, "decisionPoints", (double)r->rows);
    cJSON_AddNumberToObject(o, "start", r->t_first);
    cJSON_AddNumberToObject(o, "end", r->t_last);
    cJSON_AddNumberToObject(o, "pollPeriodSeconds", r->poll);
    cJSON_AddNumberToObject(o, "minNodes", (double)r->min_nodes);
    cJSON_AddNumberToObject(o, "maxNodes", (double)r->max_nodes);
    if (r->node_guard) { /* what the node-removal webhook would have done */
        cJSON *ng = cJSON_AddObjectToObject(o, "nodeGuard");
        cJSON_AddNumberToObject(ng, "removals", (double)r->ng_removals);
        cJSON_AddNumberToObject(ng, "wouldRefuse", (double)r->ng_refused);
        if (r->ng_refused) {
            cJSON_AddNumberToObject(ng, "firstRefusedAt", r->ng_first_refused_t);
            cJSON_AddStringToObject(ng, "lastReason", r->ng_last_reason);
        }
        cJSON_AddNumberToObject(ng, "maxNodeLoss", r->ng_opts.max_node_loss);
        cJSON_AddNumberToObject(ng, "windowSeconds", r->ng_opts.window_s);
        cJSON_AddNumberToObject(ng, "settleSeconds", r->ng_opts.settle_s);
    }
    cJSON *arr = cJSON_AddArrayToObject(o, "params");
    double span = r->t_last - r->t_first;
    for (int i = 0; i < r->n_sets; i++) {
        const struct param_set *p = &r->sets[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "name", p->name);
        cJSON_AddStringToObject(e, "params", p->label);
        if (p->no_guard)
            cJSON_AddBoolToObject(e, "guard", false); /* --compare-guard's run without it */
        cJSON_AddStringToObject(e, "mode", params_mode_name(p->params.mode));
        cJSON_AddNumberToObject(e, "actions", (double)p->actions);
        cJSON_AddNumberToObject(e, "scaleUps", (double)p->ups);
        cJSON_AddNumberToObject(e, "scaleDowns", (double)p->downs);
        cJSON_AddNumberToObject(e, "minReplicas", p->min);
        cJSON_AddNumberToObject(e, "maxReplicas", p->max);
        cJSON_AddNumberToObject(e, "finalReplicas", p->current);
        cJSON_AddNumberToObject(e, "meanReplicas", span > 0 ? p->weighted / span : p->current);
        cJSON *lv = cJSON_AddObjectToObject(e, "secondsAtReplicas");
        for (int k = 0; k < p->n_levels; k++) {
            char key[16];
            snprintf(key, sizeof key, "%d", p->levels[k].replicas);
            cJSON_AddNumberToObject(lv, key, p->levels[k].seconds);
        }
        if (r->qps_replica > 0) {
            cJSON_AddNumberToObject(e, "underProvisionedSeconds", p->under_s);
            cJSON_AddNumberToObject(e, "qpsPerReplica", r->qps_replica);
            cJSON_AddNumberToObject(e, "qpsPerNode", r->qps_node);
        }
        if (r->gopts.enabled) {
            cJSON_AddNumberToObject(e, "guardHolds", (double)p->plan.guard_holds);
            cJSON_AddNumberToObject(e, "guardLimits", (double)p->plan.guard_limits);
            if (p->last_reason[0])
                cJSON_AddStringToObject(e, "lastGuardReason", p->last_reason);
        }
        if (r->placement) {
            cJSON_AddNumberToObject(e, "placementCapped", (double)p->capped);
            if (p->cap_note[0])
                cJSON_AddStringToObject(e, "lastPlacementCap", p->cap_note);
        }
        if (p->error[0])
            cJSON_AddStringToObject(e, "error", p->error);
        cJSON_AddItemToArray(arr, e);
    }
    replay_targets_summary(r, o);
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!dir) { /* rendered, kept nowhere */
        int rc = text ? 0 : -1;
        free(text);
        return rc;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    FILE *f = fopen(path, "w");
    int rc = f && text && fprintf(f, "%s\n", text) > 0 ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(text);
    return rc;
}

int replay_begin(struct replay *r, const char *out_dir, long initial, bool chart)
{
    char path[4096];
    buf_init(&r->csv_rows, 4u << 20); /* ROWS_FLUSH plus the longest row, with room to spare */
    buf_init(&r->jsonl_rows, 4u << 20);
    bool keep = out_dir && !r->no_timeline;
    if (keep)
        snprintf(path, sizeof path, "%s/timeline.csv", out_dir);
    r->csv = fopen(keep ? path : "/dev/null", "w");
    if (keep)
        snprintf(path, sizeof path, "%s/timeline.jsonl", out_dir);
    r->jsonl = fopen(keep ? path : "/dev/null", "w");
    r->initial = initial;
    if (!r->has_targets) { /* one group: the command line's counting */
        r->n_groups = 1;
        r->groups[0].opts = &r->nopts;
        r->groups[0].key = "";
    }
    bool groups_ok = true;
    for (int g = 0; g < r->n_groups; g++)
        groups_ok = groups_ok && (r->groups[g].nodes = node_set_new()) != NULL;
    r->nodes = r->groups[0].nodes;
    r->chart = chart ? replay_chart_new(r->n_sets + r->n_vsets) : NULL;
    if (!r->csv || !r->jsonl || !groups_ok || (chart && !r->chart)) {
        fprintf(stderr, "propsim replay: cannot write to %s: %s\n", out_dir ? out_dir : "/dev/null", strerror(errno));
        return 1;
    }
    static char csvbuf[1 << 16], jsonbuf[1 << 16];
    setvbuf(r->csv, csvbuf, _IOFBF, sizeof csvbuf);
    setvbuf(r->jsonl, jsonbuf, _IOFBF, sizeof jsonbuf);
    fputs("t,total_nodes,schedulable_nodes,total_cores,schedulable_cores", r->csv);
    for (int i = 0; i < r->n_sets; i++) {
        r->sets[i].current = (int32_t)initial;
        planner_target_init(&r->sets[i].plan);
        r->plan_opts = (struct planner_opts){.policy = r->popts, .guard = r->gopts, .foreign_writer_backoff_s = 600,
                                             .placement_warn_only = r->plan_opts.placement_warn_only};
        r->plan_opts_noguard = r->plan_opts;
        r->plan_opts_noguard.guard.enabled = false;
        if (r->n_sets == 1)
            fputs(",replicas,action,guard", r->csv);
        else
            fprintf(r->csv, ",replicas_%d,action_%d,guard_%d", i + 1, i + 1, i + 1);
        static const char *const keys[3] = {"replicas", "action", "guard"};
        for (int k = 0; k < 3; k++) {
            int n = r->n_sets == 1 ? snprintf(r->sets[i].json_keys[k], sizeof r->sets[i].json_keys[k], ",\"%s\":", keys[k])
                                   : snprintf(r->sets[i].json_keys[k], sizeof r->sets[i].json_keys[k], ",\"%s_%d\":", keys[k], i + 1);
            r->sets[i].json_key_len[k] = (size_t)n;
        }
    }
    replay_targets_begin(r, r->csv);
    if (r->node_guard) {
        fputs(",node_guard", r->csv);
        nodeguard_init(&r->ng);
    }
    fputc('\n', r->csv);
    return 0;
}

int replay_run(struct replay *r, struct trace *t, const char *trace_path, long *bad_lines)
{
    struct trace_event ev;
    double pending_t = 0, next_poll = 0;
    bool pending = false, first = true;
    int got, rc = 1;
    char err[2048];
    if (!arena.base) { /* kept for the process's life: 8 MiB mapped and unmapped per replay was most
                        * of the fuzz harness's time, which runs thousands of replays */
        arena.cap = 8u << 20;
        arena.base = malloc(arena.cap);
    }
    cJSON_Hooks hooks = {.malloc_fn = arena_malloc, .free_fn = arena_free};
    if (arena.base)
        cJSON_InitHooks(&hooks);
    for (;;) {
        /* the previous event is only read (and released) inside trace_next before the next parse */
        arena.used = 0;
        if ((got = trace_next(t, &ev, err, sizeof err)) != 1)
            break;
        if (ev.end) { /* the observation went on to here: the lines after it are only reported */
            if (!r->has_end || ev.t < r->end_t) {
                r->end_t = ev.t;
                r->end_from_marker = true;
            }
            r->has_end = true;
            continue;
        }
        if (r->has_end && ev.t > r->end_t) { /* --until: the window is over */
            r->after_end++;
            continue;
        }
        r->events++;
        if (r->progress.on) {
            uint64_t done, total;
            trace_progress(t, &done, &total);
            progress_tick(&r->progress, r->events, done, total);
        }
        if (first) {
            next_poll = ev.t + r->poll;
            first = false;
        }
        r->last_event_t = ev.t;
        if (pending && ev.t > pending_t) {
            decide(r, pending_t); /* all events at pending_t are in */
            pending = false;
        }
        /* A gap of more poll periods than 3 years of 10 s polls is a unit mix-up (seconds and
         * epoch seconds, or microseconds), not a history: say so rather than grind through it. */
        double gap_polls = (ev.t - next_poll) / r->poll;
        if (next_poll < ev.t && (gap_polls > r->max_polls_per_gap || gap_polls > r->polls_left || next_poll + r->poll == next_poll)) {
            fprintf(stderr,
                    "propsim replay: %s:%ld: t jumps from %.15g to %.15g s, %.3g poll periods of %g s; is t in another "
                    "unit there (it must be seconds since the start)? Fix the trace, or give a larger --poll-period\n",
                    trace_path, trace_line(t), pending_t, ev.t, gap_polls, r->poll);
            goto done;
        }
        while (next_poll < ev.t) { /* poll ticks between decision points */
            decide(r, next_poll);
            next_poll += r->poll;
            r->polls_left--;
        }
        if (apply_event(r, &ev, trace_line(t)) < 0) {
            fprintf(stderr, "propsim replay: out of memory\n");
            goto done;
        }
        pending = true;
        pending_t = ev.t;
    }
    if (got < 0) {
        fprintf(stderr, "propsim replay: %s\n", err);
        goto done;
    }
    if (pending)
        decide(r, pending_t);
    if (r->has_end && !first && r->end_t > pending_t) {
        /* the window goes on past the last event: the polls until its end, and its end as the
         * last decision point, so that time-weighted figures cover the whole window */
        double gap_polls = (r->end_t - next_poll) / r->poll;
        if (next_poll < r->end_t && (gap_polls > r->max_polls_per_gap || gap_polls > r->polls_left ||
                                     next_poll + r->poll == next_poll)) {
            fprintf(stderr,
                    "propsim replay: %s: the window ends at %.15g s, %.3g poll periods of %g s after the last event at "
                    "%.15g s; is it in another unit (it must be seconds since the start)? Fix the END marker or "
                    "--until, or give a larger --poll-period\n",
                    trace_path, r->end_t, gap_polls, r->poll, pending_t);
            goto done;
        }
        while (next_poll < r->end_t) {
            decide(r, next_poll);
            next_poll += r->poll;
            r->polls_left--;
        }
        decide(r, r->end_t);
    }
    rc = 0;
done:
    progress_end(&r->progress);
    *bad_lines = trace_bad_lines(t);
    r->out_of_order = trace_out_of_order(t);
    trace_close(t); /* releases the last event while the arena hooks are still installed */
    cJSON_InitHooks(NULL);
    return rc;
}

int replay_end(struct replay *r, const char *out_dir, const char *trace_path, long bad_lines)
{
    for (int i = 0; i < r->n_sets; i++)
        guard_reason(&r->sets[i].last_guard, r->sets[i].last_reason, sizeof r->sets[i].last_reason);
    flush_rows(r);
    if (r->row_failed || fflush(r->csv) != 0 || fflush(r->jsonl) != 0 || ferror(r->csv) || ferror(r->jsonl)) {
        fprintf(stderr, "propsim replay: writing the timeline failed: %s\n", strerror(errno));
        return 1;
    }
    fclose(r->csv);
    fclose(r->jsonl);
    r->csv = r->jsonl = NULL;
    const char *base = strrchr(trace_path, '/');
    base = base ? base + 1 : trace_path;
    if (write_summary(r, out_dir, trace_path, bad_lines) != 0 || (r->chart && write_chart(r, out_dir, base) != 0)) {
        fprintf(stderr, "propsim replay: cannot write the summary or chart in %s\n", out_dir ? out_dir : "memory");
        return 1;
    }
    return 0;
}

void replay_release(struct replay *r)
{
    if (r->csv)
        fclose(r->csv);
    if (r->jsonl)
        fclose(r->jsonl);
    r->csv = r->jsonl = NULL;
    for (int g = 0; g < r->n_groups; g++)
        node_set_free(r->groups[g].nodes); /* group 0's is r->nodes */
    r->n_groups = 0;
    r->nodes = NULL;
    nodeguard_release(&r->ng);
    replay_chart_free(r->chart);
    r->chart = NULL;
    buf_release(&r->csv_rows);
    buf_release(&r->jsonl_rows);
    for (int i = 0; i < r->n_sets; i++)
        params_release(&r->sets[i].params);
    node_count_opts_release(&r->nopts);
    placement_rules_release(&r->rules);
    targets_config_release(&r->targets);
}
