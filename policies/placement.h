/*
 * placement — can N replicas of a pod template be spread one per node, and where may they go?
 *
 * From a pod template: whether it has REQUIRED podAntiAffinity on kubernetes.io/hostname that
 * applies to its own pods (then replicas beyond the eligible nodes stay Pending), its
 * nodeSelector, required node affinity and tolerations. A node is eligible when it is
 * schedulable (the caller decides) and matches the nodeSelector and node affinity, and all its
 * NoSchedule/NoExecute taints are tolerated.
 *
 * Hot spots: given the replicas per node (where the pods run), which nodes hold more replicas than
 * the limit (default 1 under hostname anti-affinity, else 2) or than a per-VM DNS rate allows.
 *
 * Ownership: struct placement_rules is caller-owned (placement_rules_init/_release) and owns a
 * copy of the template parts it needs. Pure: no I/O.
 */
#ifndef PROPSCALER_PLACEMENT_H
#define PROPSCALER_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct placement_rules {
    bool required_anti;   /* required hostname anti-affinity on its own pods */
    bool any_anti;        /* required or preferred, or a hostname topology spread */
    cJSON *node_selector; /* copies; NULL when absent */
    cJSON *node_affinity; /* requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms */
    cJSON *tolerations;
    char fingerprint[64]; /* changes when any of the above changes */
};

void placement_rules_init(struct placement_rules *r);
void placement_rules_release(struct placement_rules *r);
/* From a workload object (Deployment/StatefulSet/...) or NULL. */
void placement_rules_from_workload(struct placement_rules *r, const cJSON *workload);
bool placement_node_eligible(const struct placement_rules *r, const cJSON *node);
/* The same from the two parts of a Node it reads: metadata.labels and spec.taints (each NULL when
 * absent), for decoders that do not hold the whole object. */
bool placement_node_eligible_parts(const struct placement_rules *r, const cJSON *labels, const cJSON *taints);
/* Whether eligibility reads a node's labels at all (a nodeSelector or node affinity). */
bool placement_reads_labels(const struct placement_rules *r);
/* Whether the taints of a node are all tolerated (NoSchedule/NoExecute; PreferNoSchedule passes). */
bool placement_tolerates(const cJSON *taints, const cJSON *tolerations);

/* Replicas of a target on one node. */
struct node_load {
    char node[254];
    int replicas;
};

struct hotspot_opts {
    int max_replicas_per_node;  /* 0: 1 under any hostname anti-affinity or spread, else 2 */
    double dns_qps_node_limit;  /* > 0 with qps_per_replica: a per-VM DNS rate limit */
    double qps_per_replica;
};

struct hotspot_report {
    int limit;                  /* the replicas-per-node limit applied */
    int busiest;                /* replicas on the busiest node (0 without pods) */
    int over_limit, over_qps;   /* nodes past the limit, nodes past the DNS rate */
    char offenders[480];        /* "node N, node M" (cut at the size): changes when the set does */
};

/* load: n nodes, busiest first (podwatch_load). any_anti: the template spreads by hostname. */
void placement_hotspots(const struct node_load *load, size_t n, bool any_anti, const struct hotspot_opts *o,
                        struct hotspot_report *out);

#endif
