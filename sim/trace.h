/*
 * trace — read a trace in DESIGN.md's format: JSON lines {"t":s,"type":..,"object":{..}},
 * plain or gzip (detected by content, so .jsonl and .jsonl.gz both work).
 *
 * Events are decoded with the same watch-event decoder the controller uses on live streams.
 * A bad line is reported (with its line number) through the report callback, counted and
 * skipped; a truncated last line (a recorder that crashed) is reported and ignored. Timestamps
 * must not decrease: an earlier one is reported and clamped to the previous time.
 *
 * Ownership: trace_open()/trace_close(). Each event returned by trace_next() is valid until the
 * next call (the reader releases it).
 */
#ifndef PROPSIM_TRACE_H
#define PROPSIM_TRACE_H

#include <stdbool.h>
#include <stddef.h>

#include "watchevent.h"

#define TRACE_MAX_LINE (16u << 20)

struct trace;

typedef void (*trace_report_fn)(void *ctx, const char *path, long line, const char *message);

struct trace *trace_open(const char *path, trace_report_fn report, void *ctx, char *err, size_t errlen);
/* 1: an event; 0: end of trace; -1: a read error (err set). */
int trace_next(struct trace *t, struct watch_event **ev, char *err, size_t errlen);
void trace_close(struct trace *t);
long trace_line(const struct trace *t);
long trace_bad_lines(const struct trace *t);

#endif
