/*
 * trace — read a trace in DESIGN.md's format: JSON lines {"t":s,"type":..,"object":{..}},
 * plain or gzip (detected by content, so .jsonl and .jsonl.gz both work).
 *
 * Events are decoded with the same watch-event decoder the controller uses on live streams.
 * A bad line is reported (with its line number) through the report callback, counted and
 * skipped; a truncated last line (a recorder that crashed) is reported and ignored. Timestamps
 * must not decrease: an earlier one is reported and clamped to the previous time.
 *
 * Fast path (opt-in, trace_decode_nodes): lines in the trace writer's canonical Node form are
 * decoded straight into node records by policies/nodeline, without a JSON tree; every other line
 * still goes through watch_event_parse. nodeline guarantees both ways give the same result.
 *
 * The end of the observation window is data: a line {"t":T,"type":"END"} says the history was
 * watched until T (a history's last event is usually earlier). trace_next returns it as an event
 * with `end` set; lines after it are reported as bad and skipped.
 *
 * Ownership: trace_open()/trace_close(). Each event returned by trace_next() is valid until the
 * next call (the reader releases it).
 */
#ifndef PROPSIM_TRACE_H
#define PROPSIM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nodes.h"
#include "watchevent.h"

#define TRACE_MAX_LINE (16u << 20)

struct trace;

/* What the reader reports: a bad line (skipped, or a truncated last line ignored; `text` is the
 * line, not NUL-terminated, NULL for an over-long one), or an event whose time went backwards
 * (kept, at the previous time). */
enum trace_report_kind { TRACE_BAD_LINE, TRACE_OUT_OF_ORDER };
struct trace_report {
    const char *path;
    long line;
    enum trace_report_kind kind;
    const char *text;
    size_t len;
    const char *message;
};
typedef void (*trace_report_fn)(void *ctx, const struct trace_report *report);

/* One event: either a decoded JSON event (`ev`) or, on the fast path, a Node record (`node`). */
struct trace_event {
    double t;                     /* seconds since the start, never decreasing */
    bool end;                     /* the END marker: the observation ended at t (no ev, no node) */
    enum watch_event_type type;
    const struct watch_event *ev; /* NULL when `node` is set */
    const struct node_obs *node;  /* a Node from the fast path (DELETED: only the name is set) */
};

struct trace *trace_open(const char *path, trace_report_fn report, void *ctx, char *err, size_t errlen);
/* A trace already in memory (plain JSON lines, not gzip), read in place: `data` must outlive the
 * trace. `name` is what reports call it. For the fuzz targets and for tests. */
struct trace *trace_open_memory(const char *name, const void *data, size_t len, trace_report_fn report, void *ctx,
                                char *err, size_t errlen);
/* For tests: read a file `chunk` bytes at a time, with lines of `max_line` bytes or more skipped
 * (TRACE_MAX_LINE otherwise), so that refills and the cap are reached with small inputs. Before
 * the first trace_next; not for memory traces. 0, or -1. */
int trace_set_window(struct trace *t, size_t chunk, size_t max_line);
/* Turn on the fast path; nodes are counted with `opts` (borrowed; NULL: CPA's defaults). */
void trace_decode_nodes(struct trace *t, const struct node_count_opts *opts);
/* 1: an event; 0: end of trace; -1: a read error (err set). */
int trace_next(struct trace *t, struct trace_event *ev, char *err, size_t errlen);
void trace_close(struct trace *t);
long trace_line(const struct trace *t);
long trace_bad_lines(const struct trace *t);
/* Events whose time went backwards (clamped, kept). */
long trace_out_of_order(const struct trace *t);
/* How far the reading is: bytes of the input read (compressed bytes for gzip) and its size (0:
 * unknown, e.g. stdin), for progress reports. */
void trace_progress(const struct trace *t, uint64_t *done, uint64_t *total);
/* Lines the fast path decoded (for tests and benchmarks). */
long trace_fast_lines(const struct trace *t);

#endif
