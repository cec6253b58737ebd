/*
 * replaychart — the SVG chart of a replay (nodes, cores and replicas over time; scaling actions
 * as dots; guard holds and limits shaded), accumulated point by point while the replay runs;
 * optionally the same chart as a PNG, drawn with cairo shape for shape beside the SVG.
 *
 * Memory is fixed whatever the trace's length: points fall into 3,600 time buckets that keep
 * each series' min, max and last value; when a point lands past the last bucket, the bucket
 * width doubles and neighbouring buckets merge, so the buckets always cover between half and
 * all of the time seen. Drawing maps them onto 900 pixel columns (at least two per column), so
 * a spike of one decision point still shows. About 100 KiB per series.
 *
 * Ownership: replay_chart_new() returns a chart the caller frees with replay_chart_free().
 * Points must come in time order (earlier times are counted at the first bucket).
 */
#ifndef PROPSCALER_REPLAYCHART_H
#define PROPSCALER_REPLAYCHART_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_CHART_MAX_SETS 16 /* 8 params sets + 8 vertical targets */

struct replay_chart;

struct replay_chart *replay_chart_new(int n_sets);
void replay_chart_free(struct replay_chart *c);

/* One decision point: counts = total nodes, schedulable nodes, total cores, schedulable cores;
 * per params set its replicas after the decision, whether it scaled, and whether the guard held
 * or limited it. */
void replay_chart_point(struct replay_chart *c, double t, const int64_t counts[4], const int32_t *replicas,
                        const bool *acted, const bool *guarded);

/* The node guard would have refused a node removal: the next point's time is shaded red. */
void replay_chart_refusal(struct replay_chart *c);
/* What the chart's title and legend say. */
struct replay_chart_set {
    const char *label; /* the params (JSON or a file name) */
    const char *name;  /* what the set is called: given (NAME=JSON), the file name, or "params N" */
    int with;          /* >= 0: drawn in that (earlier) set's panel, in grey (--compare-guard); -1: own */
    unsigned long actions, ups, downs, holds, limits;
    int32_t min, max;
    const char *unit;  /* NULL: replicas; else a vertical target's resource in this unit ("Mi memory
                        * requests of metrics-server"): its actions are rollouts */
};
struct replay_chart_info {
    const char *trace_name;
    unsigned long decision_points, node_events;
    long long min_nodes, max_nodes;
    double poll;
    bool guard; /* the guard was on: say what it did */
    const struct replay_chart_set *sets;
    bool node_guard; /* replay --node-guard: shade the refusals */
    bool has_window_end; /* the observation's end is known (END marker, --until): drawn */
    double window_end, last_event_t;
    const char *png_path; /* not NULL: the same chart drawn as a PNG there too (cairo) */
};

/* The data as drawn, for one series (0..3: the counts in replay_chart_point's order; 4 + i: set
 * i's replicas): per pixel column of the time axis, whether a point fell there, and the min, max
 * and last value there; lo and hi over all columns (+/-infinity when there is no point). */
#define REPLAY_CHART_COLUMNS 900
struct replay_chart_columns {
    double min[REPLAY_CHART_COLUMNS], max[REPLAY_CHART_COLUMNS], last[REPLAY_CHART_COLUMNS];
    bool seen[REPLAY_CHART_COLUMNS];
    double lo, hi;
};
void replay_chart_columns(const struct replay_chart *c, int series, struct replay_chart_columns *out);

/* Write the chart to path; 0, or -1 when it cannot be written (errno set). */
int replay_chart_write(const struct replay_chart *c, const char *path, const struct replay_chart_info *info);

#endif
