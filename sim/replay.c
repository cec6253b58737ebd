#define _DEFAULT_SOURCE /* getopt_long */
#include "replay.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "decimal.h"
#include "fileio.h"
#include "guard.h"
#include "nodes.h"
#include "params.h"
#include "planner.h"
#include "placement.h"
#include "quantity.h"
#include "replaychart.h"
#include "replicas.h"
#include "selector.h"
#include "trace.h"
#include "yamljson.h"

#define MAX_SETS REPLAY_CHART_MAX_SETS
#define MAX_POLLS_PER_GAP 1e7 /* over 3 years at the default 10 s */
#define MAX_LEVELS 512

struct level_time {
    int32_t replicas;
    double seconds;
};

struct param_set {
    char label[256];
    struct params params;
    int32_t current;        /* the simulated target's replicas */
    unsigned long actions, ups, downs;
    int32_t min, max;
    double weighted;        /* integral of replicas over time */
    double under_s;         /* time with capacity below demand */
    struct level_time levels[MAX_LEVELS];
    int n_levels;
    int32_t first_action_from;
    char error[512];        /* refuse-empty-ladder and such */
    struct planner_target plan; /* the decision's state: the same planner as the controller's */
    char last_reason[400];
    unsigned long capped;   /* decisions the placement stage capped (or, warn-only, reported) */
    char cap_note[400];     /* the last cap episode, in words */
    char json_keys[3][32];  /* ,"replicas[_i]": ,"action[_i]": ,"guard[_i]": for timeline.jsonl */
    size_t json_key_len[3];
};

struct replay {
    struct param_set sets[MAX_SETS];
    int n_sets;
    struct node_count_opts nopts;
    struct policy_opts popts;
    struct guard_opts gopts;
    struct planner_opts plan_opts;
    struct placement_rules rules; /* --workload: its pod template's placement rules */
    bool placement;               /* they hold required hostname anti-affinity: cap at the eligible nodes */
    struct node_set *nodes;
    double poll, from, to;
    bool has_from, has_to;
    double qps_replica, qps_node;
    FILE *csv, *jsonl;
    struct buf csv_rows, jsonl_rows; /* formatted rows not yet written (flushed in large writes) */
    bool no_timeline;
    bool row_failed;
    unsigned long rows, events, node_events;
    double t_first, t_last, t_prev_row;
    bool started;
    int64_t min_nodes, max_nodes;
    struct cluster_summary prev;
    struct replay_chart *chart; /* NULL: --no-chart */
};

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

static void report_line(void *ctx, const char *path, long line, const char *message)
{
    (void)ctx;
    fprintf(stderr, "propsim replay: %s:%ld: %s\n", path, line, message);
}

static void add_level_time(struct param_set *p, int32_t replicas, double dt)
{
    for (int i = 0; i < p->n_levels; i++)
        if (p->levels[i].replicas == replicas) {
            p->levels[i].seconds += dt;
            return;
        }
    if (p->n_levels < MAX_LEVELS)
        p->levels[p->n_levels++] = (struct level_time){replicas, dt};
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
 * simulated target as the controller writes it. *reason: "" or why it was held or limited. */
static int32_t guarded(struct replay *r, struct param_set *p, double t, const struct cluster_summary *s,
                       const char **reason)
{
    struct planner_input in = {.params = &p->params, .summary = s, .current = p->current,
                               .eligible = r->placement ? node_set_tag_count(r->nodes, 0) : -1, .may_write = true,
                               .now = t};
    struct plan plan;
    char err[512];
    *reason = "";
    if (planner_decide(&p->plan, &r->plan_opts, &in, &plan, err, sizeof err) != 0) {
        if (!p->error[0])
            snprintf(p->error, sizeof p->error, "%s", err);
        return p->current;
    }
    if (plan.guard.verdict != GUARD_PASS) {
        snprintf(p->last_reason, sizeof p->last_reason, "%s", plan.guard.reason);
        *reason = p->last_reason;
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
static int32_t step_set(struct replay *r, struct param_set *p, double t, const struct cluster_summary *s,
                        const char **why)
{
    int32_t before = p->current, desired = guarded(r, p, t, s, why);
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
    struct cluster_summary s;
    node_set_summary(r->nodes, &s);
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
            const char *why;
            r->sets[i].current = guarded(r, &r->sets[i], t, &s, &why);
        }
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
    int32_t before[MAX_SETS], after[MAX_SETS];
    const char *why[MAX_SETS];
    bool acted[MAX_SETS], guarded_now[MAX_SETS];
    for (int i = 0; i < r->n_sets; i++) {
        before[i] = step_set(r, &r->sets[i], t, &s, &why[i]);
        after[i] = r->sets[i].current;
        acted[i] = before[i] != after[i];
        guarded_now[i] = why[i][0] != '\0';
    }
    const int64_t counts[4] = {s.total_nodes, s.schedulable_nodes, s.total_cores, s.schedulable_cores};
    if (r->chart)
        replay_chart_point(r->chart, t, counts, after, acted, guarded_now);
    if (r->no_timeline) {
        r->prev = s;
        return;
    }
    size_t room = 5 * DECIMAL_BUF + 128; /* t, four counts, keys and punctuation */
    for (int i = 0; i < r->n_sets; i++)
        room += 3 * DECIMAL_BUF + 3 * 32 + 6 * strlen(why[i]) + 16;
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
    *c++ = '\n';
    j = PUT_LIT(j, "}\n");
    buf_advance(cb, (size_t)(c - c0));
    buf_advance(jb, (size_t)(j - j0));
    if (cb->len >= ROWS_FLUSH || jb->len >= ROWS_FLUSH)
        flush_rows(r);
    r->prev = s;
}

/* --workload FILE: the first Deployment or StatefulSet in it gives the placement rules. */
static int load_workload(struct replay *r, const char *path)
{
    char *data = NULL, err[512];
    size_t len;
    if (fileio_read_all(path, 16u << 20, &data, &len, err, sizeof err) != 0) {
        fprintf(stderr, "propsim replay: --workload: %s\n", err);
        return -1;
    }
    cJSON *docs = yamljson_parse(data, len, err, sizeof err);
    free(data);
    if (!docs) {
        fprintf(stderr, "propsim replay: --workload %s: %s\n", path, err);
        return -1;
    }
    const cJSON *d, *found = NULL;
    cJSON_ArrayForEach(d, docs)
    {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(d, "kind");
        if (!found && cJSON_IsString(kind) &&
            (strcmp(kind->valuestring, "Deployment") == 0 || strcmp(kind->valuestring, "StatefulSet") == 0))
            found = d;
    }
    if (!found) {
        fprintf(stderr, "propsim replay: --workload %s: no Deployment or StatefulSet in it\n", path);
        cJSON_Delete(docs);
        return -1;
    }
    placement_rules_from_workload(&r->rules, found);
    r->placement = r->rules.required_anti;
    if (!r->placement)
        fprintf(stderr, "propsim replay: --workload %s: no required hostname podAntiAffinity: nothing to cap\n", path);
    cJSON_Delete(docs);
    return 0;
}

static int apply_event(struct replay *r, const struct trace_event *te, long line)
{
    if (te->node) { /* the fast path already decoded a canonical Node line */
        if (te->type == WEV_DELETED)
            node_set_remove(r->nodes, te->node->name);
        else if (node_set_upsert(r->nodes, te->node) != 0)
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
        node_set_remove(r->nodes, name->valuestring);
    } else {
        if (node_decode(ev->object, &r->nopts, &n, err, sizeof err) != 0) {
            fprintf(stderr, "propsim replay: line %ld: %s, skipped\n", line, err);
            return 0;
        }
        /* tag bit 0: the --workload's pods may run there (as the controller tags live nodes) */
        n.tags = r->placement && placement_node_eligible(&r->rules, ev->object) ? 1 : 0;
        if (node_set_upsert(r->nodes, &n) != 0)
            return -1;
    }
    r->node_events++;
    return 1;
}

/* chart.svg: what the chart's title and legend say about this replay */
static int write_chart(const struct replay *r, const char *dir, const char *trace_name)
{
    struct replay_chart_set sets[MAX_SETS];
    for (int i = 0; i < r->n_sets; i++) {
        const struct param_set *p = &r->sets[i];
        sets[i] = (struct replay_chart_set){p->label, p->actions, p->ups, p->downs, p->plan.guard_holds, p->plan.guard_limits, p->min, p->max};
    }
    struct replay_chart_info info = {trace_name, r->rows, r->node_events, (long long)r->min_nodes,
                                     (long long)r->max_nodes, r->poll, r->gopts.enabled, sets};
    char path[4096];
    snprintf(path, sizeof path, "%s/chart.svg", dir);
    return replay_chart_write(r->chart, path, &info);
}

/* ------------------------------------------------------------------------------------------ */

static int write_summary(const struct replay *r, const char *dir, const char *trace, long bad_lines)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "trace", trace);
    cJSON_AddNumberToObject(o, "events", (double)r->events);
    cJSON_AddNumberToObject(o, "nodeEvents", (double)r->node_events);
    cJSON_AddNumberToObject(o, "badLines", (double)bad_lines);
    cJSON_AddNumberToObject(o, "decisionPoints", (double)r->rows);
    cJSON_AddNumberToObject(o, "start", r->t_first);
    cJSON_AddNumberToObject(o, "end", r->t_last);
    cJSON_AddNumberToObject(o, "pollPeriodSeconds", r->poll);
    cJSON_AddNumberToObject(o, "minNodes", (double)r->min_nodes);
    cJSON_AddNumberToObject(o, "maxNodes", (double)r->max_nodes);
    cJSON *arr = cJSON_AddArrayToObject(o, "params");
    double span = r->t_last - r->t_first;
    for (int i = 0; i < r->n_sets; i++) {
        const struct param_set *p = &r->sets[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "params", p->label);
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
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    char path[4096];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    FILE *f = fopen(path, "w");
    int rc = f && text && fprintf(f, "%s\n", text) > 0 ? 0 : -1;
    if (f && fclose(f) != 0)
        rc = -1;
    free(text);
    return rc;
}

static void usage(FILE *out)
{
    fputs("usage: propsim replay TRACE (--params JSON | --config FILE)... --out DIR\n"
          "                      [--poll-period S] [--from T] [--to T] [--initial-replicas N]\n"
          "                      [--qps-per-replica Q --qps-per-node Q] [--nodelabels SEL] [counting options]\n"
          "\n"
          "Replays a trace (JSON lines, .gz read directly) through the decision core with a virtual clock:\n"
          "a decision after each group of same-time events and every poll period (default 10 s).\n"
          "  --params JSON        params as CPA's --default-params; repeat to compare (up to 8)\n"
          "  --config FILE        a params ConfigMap (YAML/JSON); repeatable\n"
          "  --out DIR            writes timeline.csv, timeline.jsonl, summary.json, chart.svg\n"
          "  --from T, --to T     only record decisions in this window (seconds of the trace)\n"
          "  --initial-replicas N the target's replicas before the trace (default 1)\n"
          "  --qps-per-replica Q, --qps-per-node Q   capacity model: time under-provisioned in summary.json\n"
          "  --no-chart           skip chart.svg\n"
          "  --no-timeline        no timeline files (summary.json and chart.svg only): for very long traces\n"
          "  --workload FILE      the target's Deployment/StatefulSet manifest: under its required hostname\n"
          "                       anti-affinity, replicas are capped at the eligible nodes as live\n"
          "  --placement-warn-only  with --workload: report the cap, do not apply it\n"
          "  --json-decode        decode every line as JSON (no fast path for canonical Node lines); the\n"
          "                       results are the same, only slower: for checking and benchmarks\n"
          "The safety guard (off unless asked, like every divergence from CPA):\n"
          "  --guard                        hold scale-downs after outage-like node losses\n"
          "  --guard-max-node-loss 50%      --guard-window S (600)  --guard-settle S (600)\n"
          "  --scale-down-delay S           scale down only to the highest answer of S seconds (60)\n"
          "  --max-scale-down-step N|P%      at most N replicas (or P% of them) removed per step\n"
          "Counting options as propsim eval: --legacy-schedulable --ignore-taint --max-cores-per-node\n"
          "  --spof-respects-max --refuse-empty-ladder\n",
          out);
}

static int add_set(struct replay *r, const char *label, struct cm_data *cm)
{
    char err[2048];
    if (r->n_sets == MAX_SETS) {
        fprintf(stderr, "propsim replay: at most %d params sets\n", MAX_SETS);
        return -1;
    }
    struct param_set *p = &r->sets[r->n_sets];
    params_init(&p->params);
    if (params_from_configmap(cm, &p->params, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    snprintf(p->label, sizeof p->label, "%s", label);
    r->n_sets++;
    return 0;
}

static int load_config(struct replay *r, const char *path)
{
    char *data = NULL, err[512];
    size_t len;
    if (fileio_read_all(path, 16u << 20, &data, &len, err, sizeof err) != 0) {
        fprintf(stderr, "propsim replay: %s\n", err);
        return -1;
    }
    cJSON *docs = yamljson_parse(data, len, err, sizeof err);
    free(data);
    if (!docs) {
        fprintf(stderr, "propsim replay: %s: %s\n", path, err);
        return -1;
    }
    const cJSON *doc, *cm = NULL;
    cJSON_ArrayForEach(doc, docs)
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(doc, "kind");
        if (cJSON_IsString(k) && strcmp(k->valuestring, "ConfigMap") == 0) {
            cm = doc;
            break;
        }
    }
    int rc = -1;
    struct cm_data d;
    cm_data_init(&d);
    if (!cm) {
        fprintf(stderr, "propsim replay: %s: no document with kind: ConfigMap\n", path);
    } else {
        const cJSON *e;
        rc = 0;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(cm, "data"))
        {
            if (!cJSON_IsString(e)) {
                fprintf(stderr, "propsim replay: %s: data.%s must be a string\n", path, e->string);
                rc = -1;
                break;
            }
            cm_data_set(&d, e->string, e->valuestring, strlen(e->valuestring));
        }
        if (rc == 0)
            rc = add_set(r, path, &d);
    }
    cm_data_release(&d);
    cJSON_Delete(docs);
    return rc;
}

/* A flag's number: all of arg, finite, and positive (or, when zero_ok, not negative). Says which
 * flag and what it expects when not. */
static bool number_flag(const char *flag, const char *arg, bool zero_ok, const char *unit, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (end == arg || *end || errno == ERANGE || !isfinite(v) || v < 0 || (!zero_ok && v == 0)) {
        fprintf(stderr, "propsim replay: --%s: \"%s\" is not a %s number of %s\n", flag, arg,
                zero_ok ? "non-negative" : "positive", unit);
        return false;
    }
    *out = v;
    return true;
}

int replay_main(int argc, char **argv)
{
    enum { O_PARAMS = 256, O_CONFIG, O_OUT, O_POLL, O_FROM, O_TO, O_INITIAL, O_QPS_R, O_QPS_N, O_NODELABELS, O_LEGACY,
           O_TAINT, O_MAXCORES, O_SPOF_MAX, O_REFUSE_EMPTY, O_NO_CHART, O_NO_TIMELINE, O_JSON_DECODE, O_WORKLOAD, O_WARN_ONLY, O_GUARD, O_GUARD_LOSS,
           O_GUARD_WINDOW, O_GUARD_SETTLE, O_STEP, O_DELAY, O_HELP };
    static const struct option longopts[] = {
        {"params", required_argument, NULL, O_PARAMS}, {"config", required_argument, NULL, O_CONFIG},
        {"out", required_argument, NULL, O_OUT}, {"poll-period", required_argument, NULL, O_POLL},
        {"from", required_argument, NULL, O_FROM}, {"to", required_argument, NULL, O_TO},
        {"initial-replicas", required_argument, NULL, O_INITIAL}, {"qps-per-replica", required_argument, NULL, O_QPS_R},
        {"qps-per-node", required_argument, NULL, O_QPS_N}, {"nodelabels", required_argument, NULL, O_NODELABELS},
        {"legacy-schedulable", no_argument, NULL, O_LEGACY}, {"ignore-taint", required_argument, NULL, O_TAINT},
        {"max-cores-per-node", required_argument, NULL, O_MAXCORES}, {"spof-respects-max", no_argument, NULL, O_SPOF_MAX},
        {"refuse-empty-ladder", no_argument, NULL, O_REFUSE_EMPTY}, {"no-chart", no_argument, NULL, O_NO_CHART},
        {"no-timeline", no_argument, NULL, O_NO_TIMELINE}, {"json-decode", no_argument, NULL, O_JSON_DECODE},
        {"workload", required_argument, NULL, O_WORKLOAD}, {"placement-warn-only", no_argument, NULL, O_WARN_ONLY},
        {"guard", no_argument, NULL, O_GUARD},
        {"guard-max-node-loss", required_argument, NULL, O_GUARD_LOSS}, {"guard-window", required_argument, NULL, O_GUARD_WINDOW},
        {"guard-settle", required_argument, NULL, O_GUARD_SETTLE}, {"max-scale-down-step", required_argument, NULL, O_STEP},
        {"scale-down-delay", required_argument, NULL, O_DELAY},
        {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0},
    };
    static struct replay r;
    memset(&r, 0, sizeof r);
    r.poll = 10;
    buf_init(&r.csv_rows, 4u << 20); /* ROWS_FLUSH plus the longest row, with room to spare */
    buf_init(&r.jsonl_rows, 4u << 20);
    node_count_opts_init(&r.nopts);
    guard_opts_default(&r.gopts);
    r.gopts.enabled = false;
    const char *out = NULL, *trace_path = NULL;
    struct selector *sel = NULL;
    long initial = 1;
    bool chart = true, json_decode = false;
    const char *workload = NULL;
    char err[2048];
    int rc = 2;
    struct trace *t = NULL;
    optind = 1;
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case O_PARAMS: {
            struct cm_data d;
            cm_data_init(&d);
            if (params_parse_default(optarg, strlen(optarg), &d, err, sizeof err) != 0) {
                fprintf(stderr, "propsim replay: --params: %s\n", err);
                cm_data_release(&d);
                goto done;
            }
            int arc = add_set(&r, optarg, &d);
            cm_data_release(&d);
            if (arc != 0)
                goto done;
            break;
        }
        case O_CONFIG:
            if (load_config(&r, optarg) != 0)
                goto done;
            break;
        case O_OUT: out = optarg; break;
        case O_POLL:
            if (!number_flag("poll-period", optarg, false, "seconds", &r.poll))
                goto done;
            break;
        case O_FROM:
            if (!number_flag("from", optarg, true, "seconds of the trace", &r.from))
                goto done;
            r.has_from = true;
            break;
        case O_TO:
            if (!number_flag("to", optarg, true, "seconds of the trace", &r.to))
                goto done;
            r.has_to = true;
            break;
        case O_INITIAL:
            initial = strtol(optarg, &end, 10);
            if (*end || initial < 0 || initial > INT32_MAX) {
                fprintf(stderr, "propsim replay: --initial-replicas: expected a non-negative integer\n");
                goto done;
            }
            break;
        case O_QPS_R:
            if (!number_flag("qps-per-replica", optarg, false, "queries per second", &r.qps_replica))
                goto done;
            break;
        case O_QPS_N:
            if (!number_flag("qps-per-node", optarg, false, "queries per second", &r.qps_node))
                goto done;
            break;
        case O_NODELABELS:
            if (selector_parse(optarg, &sel, err, sizeof err) != 0) {
                fprintf(stderr, "propsim replay: --nodelabels: %s\n", err);
                goto done;
            }
            r.nopts.selector = sel;
            break;
        case O_LEGACY: r.nopts.legacy_schedulable = true; break;
        case O_TAINT:
            if (node_count_opts_add_taint(&r.nopts, optarg, err, sizeof err) != 0) {
                fprintf(stderr, "propsim replay: --ignore-taint: %s\n", err);
                goto done;
            }
            break;
        case O_MAXCORES:
            if (quantity_parse_nano(optarg, strlen(optarg), &r.nopts.max_nano_per_node, err, sizeof err) != 0) {
                fprintf(stderr, "propsim replay: --max-cores-per-node: %s\n", err);
                goto done;
            }
            break;
        case O_SPOF_MAX: r.popts.spof_respects_max = true; break;
        case O_REFUSE_EMPTY: r.popts.refuse_empty_ladder = true; break;
        case O_NO_CHART: chart = false; break;
        case O_NO_TIMELINE: r.no_timeline = true; break;
        case O_JSON_DECODE: json_decode = true; break;
        case O_WORKLOAD: workload = optarg; break;
        case O_WARN_ONLY: r.plan_opts.placement_warn_only = true; break;
        case O_GUARD: r.gopts.enabled = true; break;
        case O_GUARD_LOSS:
            r.gopts.enabled = true;
            if (guard_parse_share(optarg, &r.gopts.max_node_loss, err, sizeof err) != 0) {
                fprintf(stderr, "propsim replay: --guard-max-node-loss: %s\n", err);
                goto done;
            }
            break;
        case O_GUARD_WINDOW:
        case O_GUARD_SETTLE: {
            r.gopts.enabled = true;
            if (!number_flag(opt == O_GUARD_WINDOW ? "guard-window" : "guard-settle", optarg, false, "seconds",
                             opt == O_GUARD_WINDOW ? &r.gopts.window_s : &r.gopts.settle_s))
                goto done;
            break;
        }
        case O_DELAY:
            r.gopts.enabled = true;
            if (!number_flag("scale-down-delay", optarg, true, "seconds (0 turns it off)", &r.gopts.stabilize_s))
                goto done;
            break;
        case O_STEP:
            r.gopts.enabled = true;
            if (guard_parse_step(optarg, &r.gopts.max_step, &r.gopts.max_step_percent, err, sizeof err) != 0) {
                fprintf(stderr, "propsim replay: --max-scale-down-step: %s\n", err);
                goto done;
            }
            break;
        case O_HELP:
        case 'h':
            usage(stdout);
            rc = 0;
            goto done;
        default:
            usage(stderr);
            goto done;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "propsim replay: give exactly one TRACE file\n");
        usage(stderr);
        goto done;
    }
    trace_path = argv[optind];
    if (!out) {
        fprintf(stderr, "propsim replay: --out DIR is required (timeline.csv, timeline.jsonl, summary.json, chart.svg go there)\n");
        goto done;
    }
    if (r.n_sets == 0) {
        fprintf(stderr, "propsim replay: give the params with --params JSON or --config FILE\n");
        goto done;
    }
    if (r.has_from && r.has_to && r.from > r.to) {
        fprintf(stderr, "propsim replay: --from %g is after --to %g\n", r.from, r.to);
        goto done;
    }
    if ((r.qps_replica > 0) != (r.qps_node > 0)) {
        fprintf(stderr, "propsim replay: --qps-per-replica and --qps-per-node go together\n");
        goto done;
    }
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "propsim replay: cannot create %s: %s\n", out, strerror(errno));
        goto done;
    }
    t = trace_open(trace_path, report_line, NULL, err, sizeof err);
    if (!t) {
        fprintf(stderr, "propsim replay: %s\n", err);
        rc = 1;
        goto done;
    }
    placement_rules_init(&r.rules);
    if (workload && load_workload(&r, workload) != 0) {
        rc = 2;
        goto done;
    }
    if (!json_decode && !r.placement) /* eligibility reads the whole Node: the general path */
        trace_decode_nodes(t, &r.nopts);
    char path[4096];
    snprintf(path, sizeof path, "%s/timeline.csv", out);
    r.csv = fopen(r.no_timeline ? "/dev/null" : path, "w");
    snprintf(path, sizeof path, "%s/timeline.jsonl", out);
    r.jsonl = fopen(r.no_timeline ? "/dev/null" : path, "w");
    r.nodes = node_set_new();
    r.chart = chart ? replay_chart_new(r.n_sets) : NULL;
    if (!r.csv || !r.jsonl || !r.nodes || (chart && !r.chart)) {
        fprintf(stderr, "propsim replay: cannot write to %s: %s\n", out, strerror(errno));
        rc = 1;
        goto done;
    }
    static char csvbuf[1 << 16], jsonbuf[1 << 16];
    setvbuf(r.csv, csvbuf, _IOFBF, sizeof csvbuf);
    setvbuf(r.jsonl, jsonbuf, _IOFBF, sizeof jsonbuf);
    fputs("t,total_nodes,schedulable_nodes,total_cores,schedulable_cores", r.csv);
    for (int i = 0; i < r.n_sets; i++) {
        r.sets[i].current = (int32_t)initial;
        planner_target_init(&r.sets[i].plan);
        r.plan_opts = (struct planner_opts){.policy = r.popts, .guard = r.gopts, .foreign_writer_backoff_s = 600,
                                            .placement_warn_only = r.plan_opts.placement_warn_only};
        if (r.n_sets == 1)
            fputs(",replicas,action,guard", r.csv);
        else
            fprintf(r.csv, ",replicas_%d,action_%d,guard_%d", i + 1, i + 1, i + 1);
        static const char *const keys[3] = {"replicas", "action", "guard"};
        for (int k = 0; k < 3; k++) {
            int n = r.n_sets == 1 ? snprintf(r.sets[i].json_keys[k], sizeof r.sets[i].json_keys[k], ",\"%s\":", keys[k])
                                  : snprintf(r.sets[i].json_keys[k], sizeof r.sets[i].json_keys[k], ",\"%s_%d\":", keys[k], i + 1);
            r.sets[i].json_key_len[k] = (size_t)n;
        }
    }
    fputc('\n', r.csv);

    /* the virtual clock */
    struct trace_event ev;
    double pending_t = 0, next_poll = 0;
    bool pending = false, first = true;
    int got;
    arena.cap = 8u << 20;
    arena.base = malloc(arena.cap);
    cJSON_Hooks hooks = {.malloc_fn = arena_malloc, .free_fn = arena_free};
    if (arena.base)
        cJSON_InitHooks(&hooks);
    for (;;) {
        /* the previous event is only read (and released) inside trace_next before the next parse */
        arena.used = 0;
        if ((got = trace_next(t, &ev, err, sizeof err)) != 1)
            break;
        r.events++;
        if (first) {
            next_poll = ev.t + r.poll;
            first = false;
        }
        if (pending && ev.t > pending_t) {
            decide(&r, pending_t); /* all events at pending_t are in */
            pending = false;
        }
        /* A gap of more poll periods than 3 years of 10 s polls is a unit mix-up (seconds and
         * epoch seconds, or microseconds), not a history: say so rather than grind through it. */
        if (next_poll < ev.t && ((ev.t - next_poll) / r.poll > MAX_POLLS_PER_GAP || next_poll + r.poll == next_poll)) {
            fprintf(stderr,
                    "propsim replay: %s:%ld: t jumps from %.15g to %.15g s, %.3g poll periods of %g s; is t in another "
                    "unit there (it must be seconds since the start)? Fix the trace, or give a larger --poll-period\n",
                    trace_path, trace_line(t), pending_t, ev.t, (ev.t - next_poll) / r.poll, r.poll);
            rc = 1;
            goto done;
        }
        while (next_poll < ev.t) { /* poll ticks between decision points */
            decide(&r, next_poll);
            next_poll += r.poll;
        }
        if (apply_event(&r, &ev, trace_line(t)) < 0) {
            fprintf(stderr, "propsim replay: out of memory\n");
            rc = 1;
            goto done;
        }
        pending = true;
        pending_t = ev.t;
    }
    long bad_lines = trace_bad_lines(t);
    trace_close(t); /* releases the last event while the arena hooks are still installed */
    t = NULL;
    cJSON_InitHooks(NULL);
    free(arena.base);
    arena.base = NULL;
    if (got < 0) {
        fprintf(stderr, "propsim replay: %s\n", err);
        rc = 1;
        goto done;
    }
    if (pending)
        decide(&r, pending_t);
    flush_rows(&r);
    if (r.row_failed || fflush(r.csv) != 0 || fflush(r.jsonl) != 0 || ferror(r.csv) || ferror(r.jsonl)) {
        fprintf(stderr, "propsim replay: writing the timeline failed: %s\n", strerror(errno));
        rc = 1;
        goto done;
    }
    fclose(r.csv);
    fclose(r.jsonl);
    r.csv = r.jsonl = NULL;
    const char *base = strrchr(trace_path, '/');
    base = base ? base + 1 : trace_path;
    if (write_summary(&r, out, trace_path, bad_lines) != 0 || (r.chart && write_chart(&r, out, base) != 0)) {
        fprintf(stderr, "propsim replay: cannot write the summary or chart in %s\n", out);
        rc = 1;
        goto done;
    }
    printf("replayed %lu events (%lu node events, %ld bad lines) over %.0f s: %lu decision points\n", r.events,
           r.node_events, bad_lines, r.t_last - r.t_first, r.rows);
    for (int i = 0; i < r.n_sets; i++) {
        printf("params %d: %lu scaling actions (%lu up, %lu down), replicas %d..%d, final %d%s%s\n", i + 1,
               r.sets[i].actions, r.sets[i].ups, r.sets[i].downs, r.sets[i].min, r.sets[i].max, r.sets[i].current,
               r.sets[i].error[0] ? "; error: " : "", r.sets[i].error);
        if (r.placement)
            printf("params %d: placement capped %lu decisions at the eligible nodes%s%s\n", i + 1, r.sets[i].capped,
                   r.sets[i].cap_note[0] ? "; last: " : "", r.sets[i].cap_note);
        if (r.gopts.enabled)
            printf("params %d: the guard held %lu and limited %lu decisions%s%s\n", i + 1, r.sets[i].plan.guard_holds,
                   r.sets[i].plan.guard_limits, r.sets[i].last_reason[0] ? "; last: " : "", r.sets[i].last_reason);
    }
    if (r.no_timeline)
        printf("outputs: %s/summary.json%s\n", out, chart ? ", chart.svg" : "");
    else
        printf("outputs: %s/timeline.csv, timeline.jsonl, summary.json%s\n", out, chart ? ", chart.svg" : "");
    rc = 0;
done:
    if (arena.base) { /* an error path inside the loop */
        trace_close(t);
        t = NULL;
        cJSON_InitHooks(NULL);
        free(arena.base);
        arena.base = NULL;
    }
    if (r.csv)
        fclose(r.csv);
    if (r.jsonl)
        fclose(r.jsonl);
    trace_close(t);
    node_set_free(r.nodes);
    replay_chart_free(r.chart);
    buf_release(&r.csv_rows);
    buf_release(&r.jsonl_rows);
    for (int i = 0; i < r.n_sets; i++)
        params_release(&r.sets[i].params);
    selector_free(sel);
    node_count_opts_release(&r.nopts);
    placement_rules_release(&r.rules);
    return rc;
}
