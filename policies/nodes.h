/*
 * nodes — what counts: Node objects -> compact records -> the cluster summary.
 *
 * CPA's rules (shared CPA-COMPAT.md): every node counts toward TotalNodes/TotalCores; a node is
 * schedulable iff spec.unschedulable is not true AND condition Ready=True (CPA >= 1.10.1; the
 * `legacy_schedulable` switch gives the older cordon-only rule); cores are the ceiling of the
 * exact sum of status.allocatable.cpu (nano precision, rounded once at the end).
 *
 * Opt-in filters (divergences, off by default): a label selector applied locally (the simulator
 * emulates the API server's labelSelector), ignored taints (nodes carrying one do not count at
 * all), and a per-node core cap for huge virtual nodes.
 *
 * The node set keeps one small record per node (name + cpu + flags, ~100 bytes with the hash
 * slot) and maintains the four sums incrementally, so a summary is O(1) and an event is O(1)
 * amortised.
 *
 * Ownership: struct node_count_opts is caller-owned (node_count_opts_init/_release; it owns its
 * taint list, and borrows `selector`). node_set_new()/node_set_free(). Decoding borrows the cJSON
 * object. Functions return 0 or -1 with a message naming the field at fault.
 */
#ifndef PROPSCALER_NODES_H
#define PROPSCALER_NODES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "selector.h"
#include "summary.h"

#define NODE_NAME_MAX 253

struct taint_match {
    char *key;
    char *value;  /* NULL: any value */
    char *effect; /* NULL: any effect */
};

struct node_count_opts {
    bool legacy_schedulable;          /* cordon-only rule of CPA < 1.10.1 */
    int64_t max_nano_per_node;        /* > 0: count at most this much CPU per node */
    struct taint_match *ignore_taints;/* nodes with any of these taints are not counted */
    size_t n_ignore_taints;
    const struct selector *selector;  /* borrowed; NULL: every node */
};

void node_count_opts_init(struct node_count_opts *o);
void node_count_opts_release(struct node_count_opts *o);
/* Parse "key[=value][:effect]" (kubectl taint syntax) and add it to the ignore list. */
int node_count_opts_add_taint(struct node_count_opts *o, const char *spec, char *err, size_t errlen);

/* One decoded Node. */
struct node_obs {
    char name[NODE_NAME_MAX + 1];
    int64_t cpu_nano;   /* allocatable cpu (after the per-node cap), 0 when absent */
    bool has_cpu;
    bool unschedulable; /* spec.unschedulable (cordoned) */
    bool ready;         /* condition Ready=True */
    bool counted;       /* false: filtered out by the selector or an ignored taint */
    bool schedulable;   /* per the configured rule */
    uint16_t tags;      /* caller-defined bits (e.g. "eligible for target i"); counted per bit */
};

/* Decode a Node (kind "Node" or absent). Fails on a missing name or malformed fields. */
int node_decode(const cJSON *obj, const struct node_count_opts *opts, struct node_obs *out,
                char *err, size_t errlen);

/* The fields counting reads, already taken out of a Node by a decoder (node_decode from a cJSON
 * tree; nodeline from a canonical trace line). node_obs_build applies the checks and rules
 * (name length, quantity, core cap, schedulable rule, selector, taints) so that every decoder
 * counts a node the same way. Spans need not be NUL-terminated. */
struct node_fields {
    const char *name;
    size_t name_len;
    const char *cpu;            /* allocatable cpu quantity text; NULL: absent */
    size_t cpu_len;
    bool unschedulable;
    bool ready;
    bool has_ignored_taint;     /* carries one of opts->ignore_taints */
    selector_lookup_fn labels;  /* label lookup for opts->selector */
    const void *labels_ctx;
};
int node_obs_build(const struct node_fields *f, const struct node_count_opts *opts, struct node_obs *out,
                   char *err, size_t errlen);
/* For decoders that hold a node's labels or taints as cJSON subtrees: the selector's label lookup
 * (ctx: the labels object, or NULL), and whether taints (an array, or NULL) carry an ignored one. */
const char *node_label_lookup(const void *labels, const char *key);
bool node_taints_ignored(const struct node_count_opts *o, const cJSON *taints);

struct node_set;

struct node_set *node_set_new(void);
void node_set_free(struct node_set *s);
/* ADDED / MODIFIED: insert or replace. A node that is not `counted` is kept by name only: it is
 * in no sum, no count and no iteration, but node_set_known() counts it. */
int node_set_upsert(struct node_set *s, const struct node_obs *n);
/* DELETED: returns 1 when a counted node was present, 0 otherwise. */
int node_set_remove(struct node_set *s, const char *name);
void node_set_clear(struct node_set *s);
/* Counted nodes. */
size_t node_set_size(const struct node_set *s);
/* Every node seen, counted or not: what the API server holds (the state-loss check compares it). */
size_t node_set_known(const struct node_set *s);
void node_set_summary(const struct node_set *s, struct cluster_summary *out);
/* Schedulable nodes carrying tag bit `bit` (0..15). */
int64_t node_set_tag_count(const struct node_set *s, int bit);
/* Call fn for every node name (in no particular order). The set must not change meanwhile. */
void node_set_foreach(const struct node_set *s, void (*fn)(void *ctx, const char *name), void *ctx);
bool node_set_contains(const struct node_set *s, const char *name);
/* Approximate heap bytes held (for metrics and benchmarks). */
size_t node_set_memory(const struct node_set *s);

#endif
