/*
 * import — `propsim import FORMAT FILE -o TRACE`: convert real cluster histories into the trace
 * format (DESIGN.md). Formats: google2011 (the Google cluster-data 2011 machine_events table) and
 * kubectl-watch (a recorded `kubectl get nodes --watch --output-watch-events -o json` stream) and
 * kwok (a `kwokctl snapshot record` recording).
 * Bad rows are reported with their line numbers, counted, and skipped; never silently dropped.
 * Exit codes: 0 ok (even with bad rows: they are reported), 1 unwritable output, 2 usage or
 * unusable input (unreadable, or nothing valid in it). The machine-event formats (alibaba2017,
 * alibaba2018, csv) are in import_machines.h.
 */
#ifndef PROPSIM_IMPORT_H
#define PROPSIM_IMPORT_H

#include <stdbool.h>

int import_main(int argc, char **argv);

/* Convert the Google 2011 machine_events table at `in` (CSV, plain or gzip) into the trace `out`,
 * one CPU unit counted as `cores_per_unit` cores. Bad rows are named on stderr. Returns 0, or 1
 * when in/out cannot be used. */
int import_google2011(const char *in, double cores_per_unit, const char *out);

/* Convert the kubectl watch recording at `in` into the trace `out`; events without a timestamp
 * column are `interval` seconds apart. Bad lines are named on stderr and the summary goes to
 * stdout, unless `quiet` (the fuzz target). Returns 0, or 1 when in/out cannot be used. */
int import_kubectl_watch(const char *in, double interval, const char *out, bool quiet);

/* Convert a KWOK recording (`kwokctl snapshot record`: snapshot objects, then ResourcePatch
 * documents) at `in` into the trace `out`; node events only. Same reporting and returns. */
int import_kwok(const char *in, const char *out, bool quiet);

#endif
