/*
 * replay_internal — what the replay's two halves share: replay.c (the engine: the virtual clock,
 * the planner's decisions, the timeline rows, summary.json and the chart) and replay_cli.c (the
 * command: flags, params sets, --workload, the printed report).
 *
 * Ownership: struct replay is caller-owned (replay_cli.c keeps one, static: it is large); the
 * engine allocates its node set, chart and row buffers in replay_begin and frees them in
 * replay_release, which also releases the params sets and the counting options.
 * Engine functions return 0, or 1 after saying on stderr what failed.
 */
#ifndef PROPSIM_REPLAY_INTERNAL_H
#define PROPSIM_REPLAY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "guard.h"
#include "nodeguard.h"
#include "nodes.h"
#include "params.h"
#include "placement.h"
#include "planner.h"
#include "progress.h"
#include "replaychart.h"
#include "replicas.h"
#include "targets.h"
#include "trace.h"
#include "vertical.h"

#define MAX_SETS 8 /* params sets (the chart draws these and the vertical sets) */
#define MAX_POLLS_PER_GAP 1e7 /* over 3 years at the default 10 s: longer gaps are refused as unit mix-ups */
#define MAX_LEVELS 512

struct level_time {
    int32_t replicas;
    double seconds;
};

struct param_set {
    char label[256];
    char name[64];          /* NAME=JSON's name, the --config file's name, or "params N" */
    int with;               /* --compare-guard's twin: the set it is drawn with; -1: none */
    bool no_guard;          /* the twin: the same params without the guard */
    struct params params;
    int32_t current;        /* the simulated target's replicas */
    unsigned long actions, ups, downs;
    int32_t min, max;
    double weighted;        /* integral of replicas over time */
    double under_s;         /* time with capacity below demand */
    struct level_time levels[MAX_LEVELS];
    int n_levels;
    int last_level;     /* where the last row's level was found (a hint) */
    int32_t first_action_from;
    char error[512];        /* refuse-empty-ladder and such */
    struct planner_target plan; /* the decision's state: the same planner as the controller's */
    struct guard_result last_guard; /* the last decision the guard did not pass (why: NONE if none) */
    char last_reason[GUARD_REASON_MAX]; /* last_guard in words, filled by replay_end */
    unsigned long capped;   /* decisions the placement stage capped (or, warn-only, reported) */
    char cap_note[400];     /* the last cap episode, in words */
    char json_keys[3][32];  /* ,"replicas[_i]": ,"action[_i]": ,"guard[_i]": for timeline.jsonl */
    size_t json_key_len[3];
    /* --targets-file: the target this set is (its own nodes and planner options) */
    int group;              /* its node group (0 without a targets file) */
    const struct planner_opts *opts; /* NULL: the command line's */
};

/* --targets-file: one node set per distinct node filter of the targets. */
#define MAX_GROUPS 8
struct node_group {
    struct node_set *nodes;             /* group 0's is r->nodes */
    const struct node_count_opts *opts; /* borrowed (r->nopts or a target's) */
    const char *key;                    /* the targets' filter_key ("" without a targets file) */
    struct cluster_summary summary;     /* at the decision point being made */
};

/* A vertical target: its container resources decided by the planner at every decision point, and
 * what they would have cost (a rewrite rolls every pod of the workload). */
#define MAX_VSETS 8
struct vertical_set {
    const struct target_config *cfg;    /* in r->targets */
    int group;
    int hset;                           /* the params set of the same workload (its replicas), or -1 */
    struct planner_opts opts;
    struct planner_vtarget plan;
    struct vertical_values have[VERTICAL_MAX_CONTAINERS]; /* what the workload has (as last written) */
    unsigned long rollouts, ups, downs, pod_restarts, holds;
    double first_rollout_t, last_rollout_t;
    int64_t sized_min, sized_max;       /* node counts sized for */
    char row[600];                      /* this decision point's resources in words (timeline) */
    bool rolled;                        /* ... and whether they were rewritten at it */
    char guard_note[GUARD_REASON_MAX];  /* the last guard verdict that held resources */
    bool held;                          /* ... at this decision point */
    /* the chart draws one value: the first container's first managed request (else limit) */
    int show_c, show_k, show_r;
    char unit[300];                     /* "Mi memory requests of container metrics-server" */
    int32_t shown, shown_min, shown_max;
};

struct replay {
    struct param_set sets[MAX_SETS];
    int n_sets;
    /* --targets-file (replaytargets.c) */
    bool has_targets;
    struct targets_config targets;
    struct planner_opts target_opts[MAX_SETS]; /* each horizontal target's planner options */
    struct vertical_set vsets[MAX_VSETS];
    int n_vsets;
    struct node_group groups[MAX_GROUPS];
    int n_groups;                 /* 1 without a targets file (r->nodes, r->nopts) */
    long initial;                 /* replicas before the trace (pod restarts of vertical-only targets) */
    struct node_count_opts nopts;
    struct policy_opts popts;
    struct guard_opts gopts;
    struct planner_opts plan_opts;
    struct planner_opts plan_opts_noguard; /* plan_opts with the guard off, for --compare-guard's twins */
    struct placement_rules rules; /* --workload: its pod template's placement rules */
    bool placement;               /* they hold required hostname anti-affinity: cap at the eligible nodes */
    struct node_set *nodes;
    double poll, from, to;
    double max_polls_per_gap; /* MAX_POLLS_PER_GAP, lower in the fuzz target */
    double polls_left;        /* poll decisions this run may still make (the fuzz target's budget) */
    bool has_from, has_to;
    double qps_replica, qps_node;
    FILE *csv, *jsonl;
    struct buf csv_rows, jsonl_rows; /* formatted rows not yet written (flushed in large writes) */
    bool no_timeline;
    bool row_failed;
    unsigned long rows, events, node_events;
    long out_of_order; /* events whose time went backwards (clamped) */
    /* the end of the observation window (--until T, or the trace's END marker, the earlier of the
     * two): decisions go on until it; events after it are counted and skipped */
    struct progress progress; /* on stderr when it is a terminal; zeroed: off */
    bool has_end, end_from_marker;
    double last_event_t;
    double end_t;
    unsigned long after_end;
    double t_first, t_last, t_prev_row;
    bool started;
    int64_t min_nodes, max_nodes;
    struct cluster_summary prev;
    struct replay_chart *chart; /* NULL: --no-chart */
    bool png;                   /* --png: chart.png beside chart.svg */
    /* --node-guard: the node-removal webhook's rule on every DELETED node of the trace */
    bool node_guard;
    struct nodeguard_opts ng_opts;
    struct nodeguard_state ng;
    unsigned long ng_removals, ng_refused;
    double ng_first_refused_t;
    char ng_last_reason[1200];
    unsigned long ng_row_refused;   /* refusals since the last timeline row */
    char ng_row_reason[1200];
};

/* Open timeline.csv/.jsonl in out_dir (or /dev/null with no_timeline), the node set and the
 * chart (when `chart`), and start every params set at `initial` replicas. out_dir NULL (here and
 * in replay_end): every output is rendered and none is kept — the fuzz target's mode. */
int replay_begin(struct replay *r, const char *out_dir, long initial, bool chart);
/* Play the trace through the virtual clock: a decision after each group of same-time events and
 * every poll period. Consumes t (closes it); *bad_lines gets the trace's bad-line count. */
int replay_run(struct replay *r, struct trace *t, const char *trace_path, long *bad_lines);
/* Flush the timeline, close it, and write summary.json and chart.svg in out_dir. */
int replay_end(struct replay *r, const char *out_dir, const char *trace_path, long bad_lines);
void replay_release(struct replay *r);
/* How replay_command runs: replay_main's are {true, MAX_POLLS_PER_GAP, INFINITY}. The fuzz target
 * keeps no outputs (--out is neither needed nor used; everything is rendered in memory and
 * dropped) and refuses gaps (or a run) of more than a few thousand polls, which cost it seconds
 * an input while testing nothing new. */
struct replay_command_opts {
    bool keep_outputs;
    double max_polls_per_gap;
    double max_polls; /* in the whole run */
};
int replay_command(int argc, char **argv, const struct replay_command_opts *o);

/* replaytargets.c: --targets-file. Load: every horizontal target becomes a params set (its own
 * node group and planner options; params inline, or a ConfigMap of that name in configmaps_file),
 * every vertical target a vertical set; targets whose nodes count alike share a node group. 0, or
 * -1 after saying why on stderr. Decide: the vertical sets at a decision point (after the params
 * sets, whose replicas count the pod restarts). */
int replay_targets_load(struct replay *r, const char *path, const char *const *configmaps, size_t n_configmaps,
                        const char *default_ns);
void replay_targets_begin(struct replay *r, FILE *csv_header);
void replay_targets_decide(struct replay *r, double t, bool record);
/* The vertical sets' timeline cells: CSV (",resources,rollout" per set) and JSON keys. */
char *replay_targets_csv(const struct replay *r, char *c);
char *replay_targets_json(const struct replay *r, char *j);
size_t replay_targets_row_room(const struct replay *r);
/* The chart's sets for the vertical targets (after the params sets'). */
void replay_targets_chart_sets(const struct replay *r, struct replay_chart_set *out);
void replay_targets_summary(const struct replay *r, cJSON *summary);
void replay_targets_print(const struct replay *r);

#endif
