/*
 * targets — a targets file: several workloads sized by one propscaler, each with its own rule.
 *
 *   targets:
 *   - kind: Deployment              # Deployment | StatefulSet | ReplicaSet | ReplicationController
 *     name: coredns
 *     namespace: kube-system        # default: the process's namespace (--namespace)
 *     replicas:                     # horizontal: one of
 *       configMap: dns-autoscaler   #   a CPA params ConfigMap (watched, CPA's format)
 *       linear: {coresPerReplica: 256, nodesPerReplica: 16, min: 2}   # or CPA's params inline
 *       ladder: {nodesToReplicas: [[1, 1], [64, 3]]}
 *     nodes:                        # which nodes count for this target (default: all, as CPA)
 *       labelSelector: "kubernetes.io/os=linux"
 *       ignoreTaints: ["dedicated=gpu:NoSchedule"]
 *       maxCoresPerNode: "64"
 *     guard: {enabled: true, maxNodeLoss: "50%", window: 10m, settle: 10m, scaleDownDelay: 60s,
 *             maxScaleDownStep: "50%"}
 *     placement: {warnOnly: false}
 *   - kind: Deployment
 *     name: metrics-server
 *     vertical:                     # container resources: one of
 *       threshold: 10               #   propscaler's form (vertical.h), or
 *       containers: [{name: metrics-server, requests: {memory: {base: 40Mi, perNode: 4Mi}}}]
 *       # cpva: [...]               #   CPVA's config (a list, or its JSON text), or
 *       # addonResizer: ["--cpu=40m", "--extra-cpu=0.5m", "--container=metrics-server"]
 *
 * A target may have replicas, vertical, or both. Every key is checked: an unknown key or a value of
 * the wrong type is an error naming the target and the field ("targets[1] (Deployment
 * kube-system/metrics-server): vertical.containers[0].requests.cpu.base: ..."), and the caller keeps
 * its last good config. Inline params go through CPA's own parser (params.h): the same checks and
 * messages as a ConfigMap's.
 *
 * Ownership: struct targets_config is caller-owned: targets_config_init() before, and
 * targets_config_release() after use; it owns every target and what they hold. targets_parse()
 * fills a fresh config and leaves *out untouched on failure.
 */
#ifndef PROPSCALER_TARGETS_H
#define PROPSCALER_TARGETS_H

#include <stdbool.h>
#include <stddef.h>

#include "guard.h"
#include "nodes.h"
#include "params.h"
#include "selector.h"
#include "vertical.h"

#define TARGETS_MAX 64
#define TARGETS_NAME_MAX 253

enum workload_kind { WORKLOAD_DEPLOYMENT, WORKLOAD_STATEFULSET, WORKLOAD_REPLICASET, WORKLOAD_REPLICATIONCONTROLLER };

enum replicas_source { REPLICAS_NONE, REPLICAS_CONFIGMAP, REPLICAS_INLINE };

struct target_config {
    char label[600];                    /* "Deployment kube-system/coredns": logs, metrics, errors */
    enum workload_kind kind;
    char name[TARGETS_NAME_MAX + 1];
    char ns[TARGETS_NAME_MAX + 1];
    /* horizontal */
    enum replicas_source replicas;
    char configmap[TARGETS_NAME_MAX + 1]; /* REPLICAS_CONFIGMAP */
    struct params params;               /* REPLICAS_INLINE */
    /* which nodes count */
    struct node_count_opts nodes;       /* its selector points at `selector` */
    struct selector *selector;          /* NULL: every node */
    char selector_text[1024];
    char filter_key[1700];              /* equal keys: the same nodes count (one node set serves both) */
    struct guard_opts guard;
    bool placement_warn_only;
    /* vertical */
    bool vertical;
    struct vertical_policy vpolicy;
};

struct targets_config {
    struct target_config *targets;
    size_t n;
};

/* Defaults a target starts from: the process's flags (namespace, guard settings). */
struct targets_defaults {
    const char *ns;                     /* NULL or "": a target must name its namespace */
    const struct guard_opts *guard;     /* NULL: guard_opts_default() */
};

void targets_config_init(struct targets_config *c);
void targets_config_release(struct targets_config *c);

/* Parse a targets file (YAML or JSON text). */
int targets_parse(const char *text, size_t len, const struct targets_defaults *d, struct targets_config *out,
                  char *err, size_t errlen);

const char *workload_kind_title(enum workload_kind k); /* "Deployment" ... */
const char *workload_kind_resource(enum workload_kind k); /* "deployments" ... */
const char *workload_kind_group_version(enum workload_kind k); /* "apps/v1" or "v1" */

#endif
