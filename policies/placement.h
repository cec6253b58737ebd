/*
 * placement — can N replicas of a pod template be spread one per node, and where may they go?
 *
 * From a pod template: whether it has REQUIRED podAntiAffinity on kubernetes.io/hostname that
 * applies to its own pods (then replicas beyond the eligible nodes stay Pending), its
 * nodeSelector, required node affinity and tolerations. A node is eligible when it is
 * schedulable (the caller decides) and matches the nodeSelector and node affinity, and all its
 * NoSchedule/NoExecute taints are tolerated.
 *
 * Ownership: struct placement_rules is caller-owned (placement_rules_init/_release) and owns a
 * copy of the template parts it needs. Pure: no I/O.
 */
#ifndef PROPSCALER_PLACEMENT_H
#define PROPSCALER_PLACEMENT_H

#include <stdbool.h>

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
/* Whether the taints of a node are all tolerated (NoSchedule/NoExecute; PreferNoSchedule passes). */
bool placement_tolerates(const cJSON *taints, const cJSON *tolerations);

#endif
