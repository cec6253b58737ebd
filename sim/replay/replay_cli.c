/*
 * `propsim replay TRACE --params JSON|--config FILE --out DIR ...`: the command's half of the
 * replay (replay_internal.h): flags, params sets, --workload, and the report printed at the end.
 * Exit codes: 0 ok, 1 unreadable trace or unwritable outputs, 2 usage.
 */
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

#include "fileio.h"
#include "badlines.h"
#include "gojson.h"
#include "quantity.h"
#include "replay_internal.h"
#include "selector.h"
#include "yamljson.h"

/* The trace reader's reports: the first few of each kind said, with the bad line quoted. */
struct trace_reports {
    struct badlines bad, out_of_order;
};

static void report_line(void *ctx, const struct trace_report *rep)
{
    struct trace_reports *tr = ctx;
    if (rep->kind == TRACE_OUT_OF_ORDER)
        badlines_add(&tr->out_of_order, rep->line, NULL, 0, "%s", rep->message);
    else
        badlines_add(&tr->bad, rep->line, rep->text, rep->len, "%s", rep->message);
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

static void usage(FILE *out)
{
    fputs("usage: propsim replay TRACE ((--params JSON | --config FILE)... | --targets-file FILE) --out DIR\n"
          "                      [--poll-period S] [--from T] [--to T] [--until T] [--initial-replicas N]\n"
          "                      [--qps-per-replica Q --qps-per-node Q] [--nodelabels SEL] [counting options]\n"
          "\n"
          "Replays a trace (JSON lines, .gz read directly) through the decision core with a virtual clock:\n"
          "a decision after each group of same-time events and every poll period (default 10 s).\n"
          "  --params [NAME=]JSON params as CPA's --default-params; repeat to compare (up to 8); NAME names the\n"
          "                       set in the chart and summary (else \"params N\"; a --config set: its file name)\n"
          "  --compare-guard      each set also without the guard, drawn in its panel (grey)\n"
          "  --config FILE        a params ConfigMap (YAML/JSON); repeatable\n"
          "  --targets-file FILE  every target of a propscaler targets file instead of --params/--config: replicas\n"
          "                       and container resources (rollouts and pod restarts in summary.json); --config\n"
          "                       FILE then gives the ConfigMaps targets name; --namespace NS the default (default)\n"
          "  --out DIR            writes timeline.csv, timeline.jsonl, summary.json, chart.svg\n"
          "  --from T, --to T     only record decisions in this window (seconds of the trace)\n"
          "  --until T            the history was observed until T (seconds): decisions go on to T, so that\n"
          "                       the summary covers the whole window; later events are skipped. A trace can\n"
          "                       say it itself with a last line {\"t\":T,\"type\":\"END\"}\n"
          "  --initial-replicas N the target's replicas before the trace (default 1)\n"
          "  --qps-per-replica Q, --qps-per-node Q   capacity model: time under-provisioned in summary.json\n"
          "  --no-chart           skip chart.svg\n"
          "  --png                chart.png too: the same chart as an image (terminals, CI artefacts)\n"
          "  --no-timeline        no timeline files (summary.json and chart.svg only): for very long traces\n"
          "  --workload FILE      the target's Deployment/StatefulSet manifest: under its required hostname\n"
          "                       anti-affinity, replicas are capped at the eligible nodes as live\n"
          "  --placement-warn-only  with --workload: report the cap, do not apply it\n"
          "  --json-decode        decode every line as JSON (no fast path for canonical Node lines); the\n"
          "                       results are the same, only slower: for checking and benchmarks\n"
          "The safety guard (on by default; --guard=false replays CPA's exact timing):\n"
          "  --guard[=true|false]           hold scale-downs after outage-like node losses\n"
          "  --guard-max-node-loss 50%      --guard-window S (600)  --guard-settle S (600)\n"
          "  --scale-down-delay S           scale down only to the highest answer of S seconds (60)\n"
          "  --max-scale-down-step N|P%      at most N replicas (or P% of them) removed per step\n"
          "  --node-guard                   report the node removals (DELETED nodes) the node-removal webhook\n"
          "                                 (propscaler --node-guard) would have refused: a node_guard timeline\n"
          "                                 column, summary.json's nodeGuard, red bands on the chart\n"
          "Counting options as propsim eval: --legacy-schedulable --ignore-taint --max-cores-per-node\n"
          "  --spof-respects-max --refuse-empty-ladder\n",
          out);
}

static int add_set(struct replay *r, const char *label, const char *name, struct cm_data *cm)
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
    if (name && *name)
        snprintf(p->name, sizeof p->name, "%s", name);
    else
        snprintf(p->name, sizeof p->name, "params %d", r->n_sets + 1);
    p->with = -1;
    r->n_sets++;
    return 0;
}

/* --compare-guard: each set again, without the guard, drawn in its panel. */
static int add_unguarded_twins(struct replay *r)
{
    int n = r->n_sets;
    if (2 * n > MAX_SETS) {
        fprintf(stderr, "propsim replay: --compare-guard doubles the params sets: at most %d of them\n", MAX_SETS / 2);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        struct param_set *p = &r->sets[n + i], *of = &r->sets[i];
        params_init(&p->params);
        if (params_copy(&p->params, &of->params) != 0) {
            fprintf(stderr, "propsim replay: out of memory\n");
            return -1;
        }
        char name[sizeof p->name];
        snprintf(name, sizeof name, "%.40s without the guard", of->name);
        memcpy(p->label, of->label, sizeof p->label); /* distinct sets of one array */
        memcpy(p->name, name, sizeof p->name);
        p->with = i;
        p->no_guard = true;
        r->n_sets++;
    }
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
        if (rc == 0) {
            const char *base = strrchr(path, '/');
            rc = add_set(r, path, base ? base + 1 : path, &d);
        }
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
    static const struct replay_command_opts o = {.keep_outputs = true, .max_polls_per_gap = MAX_POLLS_PER_GAP, .max_polls = INFINITY};
    return replay_command(argc, argv, &o);
}

int replay_command(int argc, char **argv, const struct replay_command_opts *o)
{
    enum { O_PARAMS = 256, O_CONFIG, O_OUT, O_POLL, O_FROM, O_TO, O_INITIAL, O_QPS_R, O_QPS_N, O_NODELABELS, O_LEGACY,
           O_TAINT, O_MAXCORES, O_SPOF_MAX, O_REFUSE_EMPTY, O_NO_CHART, O_NO_TIMELINE, O_JSON_DECODE, O_WORKLOAD, O_WARN_ONLY, O_GUARD, O_GUARD_LOSS,
           O_GUARD_WINDOW, O_GUARD_SETTLE, O_STEP, O_DELAY, O_NODE_GUARD, O_UNTIL, O_COMPARE_GUARD, O_PNG, O_HELP,
           O_TARGETS, O_NAMESPACE };
    static const struct option longopts[] = {
        {"params", required_argument, NULL, O_PARAMS}, {"config", required_argument, NULL, O_CONFIG},
        {"out", required_argument, NULL, O_OUT}, {"poll-period", required_argument, NULL, O_POLL},
        {"from", required_argument, NULL, O_FROM}, {"to", required_argument, NULL, O_TO},
        {"until", required_argument, NULL, O_UNTIL}, {"compare-guard", no_argument, NULL, O_COMPARE_GUARD},
        {"png", no_argument, NULL, O_PNG},
        {"initial-replicas", required_argument, NULL, O_INITIAL}, {"qps-per-replica", required_argument, NULL, O_QPS_R},
        {"qps-per-node", required_argument, NULL, O_QPS_N}, {"nodelabels", required_argument, NULL, O_NODELABELS},
        {"legacy-schedulable", no_argument, NULL, O_LEGACY}, {"ignore-taint", required_argument, NULL, O_TAINT},
        {"max-cores-per-node", required_argument, NULL, O_MAXCORES}, {"spof-respects-max", no_argument, NULL, O_SPOF_MAX},
        {"refuse-empty-ladder", no_argument, NULL, O_REFUSE_EMPTY}, {"no-chart", no_argument, NULL, O_NO_CHART},
        {"no-timeline", no_argument, NULL, O_NO_TIMELINE}, {"json-decode", no_argument, NULL, O_JSON_DECODE},
        {"workload", required_argument, NULL, O_WORKLOAD}, {"placement-warn-only", no_argument, NULL, O_WARN_ONLY},
        {"guard", optional_argument, NULL, O_GUARD},
        {"guard-max-node-loss", required_argument, NULL, O_GUARD_LOSS}, {"guard-window", required_argument, NULL, O_GUARD_WINDOW},
        {"guard-settle", required_argument, NULL, O_GUARD_SETTLE}, {"max-scale-down-step", required_argument, NULL, O_STEP},
        {"scale-down-delay", required_argument, NULL, O_DELAY}, {"node-guard", no_argument, NULL, O_NODE_GUARD},
        {"targets-file", required_argument, NULL, O_TARGETS}, {"namespace", required_argument, NULL, O_NAMESPACE},
        {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0},
    };
    static struct replay r;
    memset(&r, 0, sizeof r);
    r.poll = 10;
    r.max_polls_per_gap = o->max_polls_per_gap;
    r.polls_left = o->max_polls;
    node_count_opts_init(&r.nopts);
    guard_opts_default(&r.gopts);
    /* the guard is on unless --guard=false (CPA's exact timing) */
    const char *out = NULL, *trace_path = NULL;
    struct selector *sel = NULL;
    long initial = 1;
    bool chart = true, json_decode = false;
    const char *workload = NULL;
    char err[2048];
    int rc = 2;
    struct trace *t = NULL;
    long bad_lines = 0;
    bool compare_guard = false;
    const char *targets_file = NULL, *target_ns = "default";
    const char *configs[MAX_SETS];
    size_t n_configs = 0;
    bool params_given = false;
    optind = 1;
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (opt) {
        case O_PARAMS: {
            /* NAME=JSON names the set (JSON starts with '{': the first '=' before it ends the name) */
            const char *json = optarg, *eq = strchr(optarg, '='), *brace = strchr(optarg, '{');
            char name[64] = "";
            if (eq && brace && eq < brace) {
                snprintf(name, sizeof name, "%.*s", (int)(eq - optarg), optarg);
                json = eq + 1;
            }
            struct cm_data d;
            cm_data_init(&d);
            if (params_parse_default(json, strlen(json), &d, err, sizeof err) != 0) {
                fprintf(stderr, "propsim replay: --params: %s\n", err);
                cm_data_release(&d);
                goto done;
            }
            int arc = add_set(&r, json, name, &d);
            cm_data_release(&d);
            if (arc != 0)
                goto done;
            params_given = true;
            break;
        }
        case O_CONFIG:
            if (n_configs == MAX_SETS) {
                fprintf(stderr, "propsim replay: at most %d --config files\n", MAX_SETS);
                goto done;
            }
            configs[n_configs++] = optarg; /* read once the other flags are known */
            break;
        case O_TARGETS: targets_file = optarg; break;
        case O_NAMESPACE: target_ns = optarg; break;
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
        case O_COMPARE_GUARD: compare_guard = true; break;
        case O_PNG: r.png = true; break;
        case O_UNTIL:
            if (!number_flag("until", optarg, true, "seconds of the trace", &r.end_t))
                goto done;
            r.has_end = true;
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
        case O_GUARD:
            if (optarg && gj_parse_bool(optarg, &r.gopts.enabled) != 0) {
                fprintf(stderr, "propsim replay: --guard=%s: expected true or false\n", optarg);
                goto done;
            }
            if (!optarg)
                r.gopts.enabled = true;
            break;
        case O_GUARD_LOSS:
            if (guard_parse_share(optarg, &r.gopts.max_node_loss, err, sizeof err) != 0) {
                fprintf(stderr, "propsim replay: --guard-max-node-loss: %s\n", err);
                goto done;
            }
            break;
        case O_GUARD_WINDOW:
        case O_GUARD_SETTLE: {
            if (!number_flag(opt == O_GUARD_WINDOW ? "guard-window" : "guard-settle", optarg, false, "seconds",
                             opt == O_GUARD_WINDOW ? &r.gopts.window_s : &r.gopts.settle_s))
                goto done;
            break;
        }
        case O_DELAY:
            if (!number_flag("scale-down-delay", optarg, true, "seconds (0 turns it off)", &r.gopts.stabilize_s))
                goto done;
            break;
        case O_STEP:
            if (guard_parse_step(optarg, &r.gopts.max_step, &r.gopts.max_step_percent, err, sizeof err) != 0) {
                fprintf(stderr, "propsim replay: --max-scale-down-step: %s\n", err);
                goto done;
            }
            break;
        case O_NODE_GUARD: r.node_guard = true; break;
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
    if (!o->keep_outputs)
        out = NULL;
    else if (!out) {
        fprintf(stderr, "propsim replay: --out DIR is required (timeline.csv, timeline.jsonl, summary.json, chart.svg go there)\n");
        goto done;
    }
    if (targets_file) {
        /* every target brings its params, node filter and guard settings; --config files hold the
         * params ConfigMaps the targets name */
        if (params_given || r.nopts.selector || r.nopts.n_ignore_taints || r.nopts.max_nano_per_node || workload ||
            compare_guard) {
            fprintf(stderr, "propsim replay: --targets-file: each target has its params, node filter and guard "
                            "settings in the file (--params, --nodelabels, --ignore-taint, --max-cores-per-node, "
                            "--workload and --compare-guard do not apply; --config FILE gives the ConfigMaps targets "
                            "name)\n");
            goto done;
        }
        if (replay_targets_load(&r, targets_file, configs, n_configs, target_ns) != 0)
            goto done;
    } else {
        for (size_t i = 0; i < n_configs; i++)
            if (load_config(&r, configs[i]) != 0)
                goto done;
    }
    if (r.n_sets == 0 && r.n_vsets == 0) {
        fprintf(stderr, "propsim replay: give the params with --params JSON or --config FILE (or --targets-file FILE)\n");
        goto done;
    }
    if (compare_guard && !r.gopts.enabled) {
        fprintf(stderr, "propsim replay: --compare-guard compares with the guard and without it: not with --guard=false\n");
        goto done;
    }
    if (compare_guard && r.n_sets && add_unguarded_twins(&r) != 0)
        goto done;
    if (r.has_from && r.has_to && r.from > r.to) {
        fprintf(stderr, "propsim replay: --from %g is after --to %g\n", r.from, r.to);
        goto done;
    }
    if ((r.qps_replica > 0) != (r.qps_node > 0)) {
        fprintf(stderr, "propsim replay: --qps-per-replica and --qps-per-node go together\n");
        goto done;
    }
    if (out && mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "propsim replay: cannot create %s: %s\n", out, strerror(errno));
        goto done;
    }
    placement_rules_init(&r.rules);
    if (workload && load_workload(&r, workload) != 0)
        goto done;
    struct trace_reports reports;
    badlines_init(&reports.bad, "propsim replay", trace_path, false);
    badlines_init(&reports.out_of_order, "propsim replay", trace_path, false);
    t = trace_open(trace_path, report_line, &reports, err, sizeof err);
    if (!t) {
        fprintf(stderr, "propsim replay: %s\n", err);
        rc = BADLINES_EXIT_UNUSABLE;
        goto done;
    }
    /* eligibility reads the whole Node, and each node filter decodes it: the general path */
    if (!json_decode && !r.placement && (!r.has_targets || r.n_groups == 1))
        trace_decode_nodes(t, r.has_targets ? r.groups[0].opts : &r.nopts);
    /* the node guard shares the guard's share, window and settle time, as propscaler --node-guard */
    nodeguard_opts_default(&r.ng_opts);
    r.ng_opts.max_node_loss = r.gopts.max_node_loss;
    r.ng_opts.window_s = r.gopts.window_s;
    r.ng_opts.settle_s = r.gopts.settle_s;
    r.ng_opts.min_absolute = r.gopts.min_absolute;
    rc = 1;
    if (replay_begin(&r, out, initial, chart) != 0)
        goto done;
    progress_init(&r.progress, "propsim replay", "events");
    int ran = replay_run(&r, t, trace_path, &bad_lines);
    t = NULL; /* consumed */
    badlines_finish(&reports.bad);
    badlines_finish(&reports.out_of_order);
    if (ran == 0 && r.node_events == 0) {
        badlines_nothing_valid(&reports.bad, r.events ? "no Node event" : bad_lines ? "no valid event" : "no event",
                               "a trace is JSON lines {\"t\":seconds,\"type\":\"ADDED|MODIFIED|DELETED\",\"object\":"
                               "{a Node}}; `propsim import google2011|kubectl-watch|kwok` converts a cluster's history, "
                               "`propsim generate` makes one");
        rc = BADLINES_EXIT_UNUSABLE;
        goto done;
    }
    if (ran != 0 || replay_end(&r, out, trace_path, bad_lines) != 0)
        goto done;
    printf("replayed %lu events (%lu node events, %ld bad lines, %ld out of order) over %.0f s: %lu decision points\n",
           r.events, r.node_events, bad_lines, r.out_of_order, r.t_last - r.t_first, r.rows);
    if (r.has_end)
        printf("observed until t=%.15g s (%s)%s", r.end_t, r.end_from_marker ? "the trace's END marker" : "--until",
               r.after_end ? "" : "\n");
    if (r.has_end && r.after_end)
        printf("; %lu later events skipped\n", r.after_end);
    for (int i = 0; i < r.n_sets; i++) {
        char who[300]; /* a target's name, or "params N" */
        if (r.has_targets)
            snprintf(who, sizeof who, "%s", r.sets[i].label);
        else
            snprintf(who, sizeof who, "params %d", i + 1);
        printf("%s: %lu scaling actions (%lu up, %lu down), replicas %d..%d, final %d%s%s\n", who,
               r.sets[i].actions, r.sets[i].ups, r.sets[i].downs, r.sets[i].min, r.sets[i].max, r.sets[i].current,
               r.sets[i].error[0] ? "; error: " : "", r.sets[i].error);
        if (r.placement)
            printf("%s: placement capped %lu decisions at the eligible nodes%s%s\n", who, r.sets[i].capped,
                   r.sets[i].cap_note[0] ? "; last: " : "", r.sets[i].cap_note);
        if (r.sets[i].opts ? r.sets[i].opts->guard.enabled : r.gopts.enabled)
            printf("%s: the guard held %lu and limited %lu decisions%s%s\n", who, r.sets[i].plan.guard_holds,
                   r.sets[i].plan.guard_limits, r.sets[i].last_reason[0] ? "; last: " : "", r.sets[i].last_reason);
    }
    replay_targets_print(&r);
    if (r.node_guard)
        printf("node guard: %lu node removals, %lu would be refused (more than %.0f%% of the high-water mark within "
               "%.0f s, or during an outage)%s%s\n", r.ng_removals, r.ng_refused, 100 * r.ng_opts.max_node_loss,
               r.ng_opts.window_s, r.ng_refused ? "; last: " : "", r.ng_refused ? r.ng_last_reason : "");
    if (out && r.no_timeline)
        printf("outputs: %s/summary.json%s%s\n", out, chart ? ", chart.svg" : "", chart && r.png ? ", chart.png" : "");
    else if (out)
        printf("outputs: %s/timeline.csv, timeline.jsonl, summary.json%s%s\n", out, chart ? ", chart.svg" : "",
               chart && r.png ? ", chart.png" : "");
    rc = 0;
done:
    trace_close(t);
    replay_release(&r);
    selector_free(sel);
    return rc;
}
