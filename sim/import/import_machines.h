/*
 * import_machines — machine-event histories into traces: Alibaba's cluster-trace-v2017
 * server_event table, cluster-trace-v2018 machine_meta table, and any machine-event CSV/TSV given
 * a column mapping (an Azure, Borg or in-house history needs no code).
 *
 * One engine for all three: the rows (plain or gzip) are read and mapped to actions (a machine
 * added, removed, NotReady, Ready, cordoned, uncordoned, updated), sorted by time (these histories
 * need not be in order; ties keep the file's order), then applied to a per-machine state that
 * writes a Node event for every change. A machine becomes Node "<prefix><id>" (lowercased; any
 * character a Node name cannot hold becomes '-'), Ready and schedulable when added, with
 * allocatable cpu from the CPU column when there is one. A NotReady (or cordon) with no later
 * event for its machine can be recovered `recover_after` seconds later, for histories that never
 * record a recovery. Bad rows are quoted (the first few) and counted (sim/common/badlines);
 * nothing valid read exits 2 with a hint.
 */
#ifndef PROPSIM_IMPORT_MACHINES_H
#define PROPSIM_IMPORT_MACHINES_H

#include <stdbool.h>
#include <stddef.h>

enum machine_action { MA_ADD, MA_DELETE, MA_UPDATE, MA_READY, MA_NOTREADY, MA_CORDON, MA_UNCORDON, MA_IGNORE, MA_RECOVER };

#define MACHINE_MAP_MAX 32
#define MACHINE_LABELS_MAX 2

struct machine_import_opts {
    const char *format;     /* for messages: "alibaba2017", "csv", ... */
    char sep;               /* ',' or '\t' */
    int time_col, machine_col, event_col, cpu_col; /* 1-based; cpu_col 0: no CPU column */
    double time_scale;      /* seconds per unit of the time column */
    bool origin_min;        /* t = time - the earliest time; else the time as it is (below 0: 0) */
    double cpu_scale;       /* cores per unit of the CPU column */
    const char *name_prefix;
    struct {
        char value[64];
        enum machine_action action;
    } map[MACHINE_MAP_MAX];  /* event column value -> action (case-sensitive) */
    int n_map;
    int label_cols[MACHINE_LABELS_MAX]; /* 0: none */
    const char *label_keys[MACHINE_LABELS_MAX];
    double recover_after;   /* > 0: see above */
    bool header_allowed;    /* a first line whose time does not parse is a header, not a bad row */
    const char *hint;       /* said when nothing valid is read: what this format reads */
};

/* The presets: Alibaba's published schemas (see the .c for the columns). */
void machine_opts_alibaba2017(struct machine_import_opts *o);
void machine_opts_alibaba2018(struct machine_import_opts *o);
/* A generic CSV: no columns yet (the caller sets them). */
void machine_opts_csv(struct machine_import_opts *o);
/* Parse an action name: ADDED, DELETED, MODIFIED, Ready, NotReady, cordon, uncordon, ignore
 * (any case). 0, or -1. */
int machine_action_parse(const char *name, enum machine_action *out);
/* Add (or replace) "value=ACTION,value=ACTION..." to the map. 0, or -1 with a message. */
int machine_map_parse(struct machine_import_opts *o, const char *spec, char *err, size_t errlen);

/* Convert `in` into the trace `out`. 0; 1 when the output cannot be written; 2 when the input
 * cannot be read or holds nothing valid. */
int import_machines(const char *in, const struct machine_import_opts *o, const char *out);

#endif
