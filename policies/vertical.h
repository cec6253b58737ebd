/*
 * vertical — container resources sized by the cluster: each managed request or limit (cpu, memory,
 * ephemeral-storage) is base + an amount per node + an amount per core + a step per nodesPerStep
 * or coresPerStep nodes (the larger of the two), bounded by max; and an acceptance threshold says
 * when what a container has is close enough to leave alone (a rewrite restarts every pod).
 *
 * The two established tools are special cases, accepted in their own formats:
 *   - addon-resizer (the "pod nanny", its flags): base + extra per node, the same value for the
 *     request and the limit; optionally the exponential estimator (the node count rounded up to
 *     16, 24, 36, 54, 81, ...: n = floor(n * 1.5 + 0.01) from --minClusterSize); resources are
 *     rewritten when floor(actual / expected, 2 decimals) falls outside
 *     [(100 - threshold) / 100, (100 + threshold) / 100] for any managed value, or when a managed
 *     value is missing;
 *   - cluster-proportional-vertical-autoscaler (CPVA, its JSON config): per container, requests and
 *     limits of base + step * ceil(count / perStep) by nodes and by cores, the larger, bounded by
 *     max. (CPVA's code caps only the by-nodes value — a `max < 0` test where `max > 0` was meant;
 *     its documentation bounds both. propscaler bounds both: docs/DIVERGENCES.md.)
 * The counts are the cluster summary's totals (every counted node, cordoned or NotReady too), as
 * both tools count.
 *
 * Units: base, step and max in milli-units (milli-cores, milli-bytes: CPVA's arithmetic); the
 * per-node and per-core amounts in nano-units, so that 0.5m of CPU per node is exact. Results are
 * rounded up: CPU to a millicore (the API refuses finer), memory and storage to a byte.
 *
 * Ownership: struct vertical_policy is plain caller-owned storage (fixed size, no pointers):
 * vertical_policy_init() before filling it. Parsers return 0, or -1 with a message in err that
 * names the field at fault (and leave *out unspecified: parse into scratch storage).
 */
#ifndef PROPSCALER_VERTICAL_H
#define PROPSCALER_VERTICAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum vertical_resource { VRES_CPU, VRES_MEMORY, VRES_EPHEMERAL_STORAGE, VRES_COUNT };
enum vertical_kind { VKIND_REQUESTS, VKIND_LIMITS, VKIND_COUNT };
enum vertical_estimator { VEST_LINEAR, VEST_EXPONENTIAL };

#define VERTICAL_MAX_CONTAINERS 16
#define VERTICAL_NAME_MAX 63 /* a container name is a DNS label */

/* One managed value: set=false leaves that request or limit as the workload has it. */
struct vertical_rule {
    bool set;
    int64_t base_milli;
    int64_t per_node_nano;
    int64_t per_core_nano;
    int64_t step_milli;
    int64_t nodes_per_step, cores_per_step; /* 0: no step by that count */
    int64_t max_milli;                      /* 0: unbounded */
};

struct vertical_container {
    char name[VERTICAL_NAME_MAX + 1];
    struct vertical_rule rules[VKIND_COUNT][VRES_COUNT];
};

struct vertical_policy {
    struct vertical_container containers[VERTICAL_MAX_CONTAINERS];
    size_t n_containers;
    int threshold_percent;          /* 0..100: drift within it is accepted (addon-resizer's) */
    enum vertical_estimator estimator;
    int64_t min_cluster_size;       /* exponential: the smallest node count sized for (>= 2) */
    double scale_factor;            /* exponential: > 1 (addon-resizer: 1.5) */
};

/* A container's values, computed or observed; have=false: not set (or not managed). */
struct vertical_values {
    bool have[VKIND_COUNT][VRES_COUNT];
    int64_t milli[VKIND_COUNT][VRES_COUNT];
};

struct vertical_answer {
    int64_t nodes, cores;   /* the counts the rules used (nodes after the estimator) */
    struct vertical_values values[VERTICAL_MAX_CONTAINERS]; /* in the policy's container order */
};

void vertical_policy_init(struct vertical_policy *p);

const char *vertical_resource_name(enum vertical_resource r); /* "cpu", "memory", "ephemeral-storage" */
const char *vertical_kind_name(enum vertical_kind k);         /* "requests", "limits" */

/* The node count the rules use: `nodes` itself (linear), or the exponential estimator's. */
int64_t vertical_estimate_nodes(const struct vertical_policy *p, int64_t nodes);

/* Every managed value for a cluster of `nodes` nodes and `cores` cores (values saturate at
 * INT64_MAX milli-units rather than wrap). */
void vertical_compute(const struct vertical_policy *p, int64_t nodes, int64_t cores, struct vertical_answer *out);

/* Whether `observed` (a container's resources as the workload has them) must be rewritten to
 * `expected`: a managed value missing, or outside the threshold (addon-resizer's comparison).
 * Values not managed are not compared. *down is set when the first value found outside the
 * threshold is above the expected one (a scale-down). `why` (may be NULL) gets the first such value
 * in words. */
bool vertical_needs_rewrite(const struct vertical_policy *p, const struct vertical_values *expected,
                            const struct vertical_values *observed, bool *down, char *why, size_t whylen);

/* A quantity in canonical text: CPU "250m" / "2"; bytes "64Mi" / "1Gi" / "1000". */
void vertical_format(enum vertical_resource r, int64_t milli, char *out, size_t len);

/* One container's values in words, as logs, Events and the replay's timeline show them:
 * "metrics-server: requests cpu=90m memory=440Mi, limits memory=500Mi" (cut to len). */
void vertical_describe(const char *container, const struct vertical_values *v, char *out, size_t len);

/* A container's resources object ({"requests": {...}, "limits": {...}}) into observed values:
 * every resource propscaler manages is read; others are ignored. -1 on a malformed quantity. */
int vertical_values_from_json(const cJSON *resources, struct vertical_values *out, char *err, size_t errlen);

/* CPVA's config: a JSON array of {"name", "requests": {RES: {base, max, step, coresPerStep,
 * nodesPerStep}}, "limits": {...}}. Keys are matched case-insensitively (Go's encoding/json);
 * unknown keys are errors (CPVA ignores them silently: a typo would size nothing). */
int vertical_from_cpva(const cJSON *config, struct vertical_policy *out, char *err, size_t errlen);
int vertical_from_cpva_text(const char *json, size_t len, struct vertical_policy *out, char *err, size_t errlen);

/* addon-resizer's command line (argv without the program name; --flag=value or --flag value):
 * --cpu --extra-cpu --memory --extra-memory --storage --extra-storage --threshold --estimator
 * --minClusterSize --container (required) and, checked against the target when given,
 * --deployment and --namespace; flags that only steer the nanny's own loop (--poll-period,
 * --pod, --config-dir, --use-metrics, --scale-up-delay, --scale-down-delay and klog's) are accepted
 * and ignored.
 * --storage sizes ephemeral-storage (addon-resizer writes "storage", which the API refuses for a
 * container; it also adds --extra-memory per node to it, not --extra-storage, a bug not copied).
 * deployment/namespace (may be NULL) receive the flags' values when given. */
int vertical_from_addon_resizer(int argc, const char *const *argv, struct vertical_policy *out, char *deployment,
                                size_t deployment_len, char *ns, size_t ns_len, char *err, size_t errlen);

/* propscaler's own form (a targets file's `vertical`): {"containers": [{"name", "requests":
 * {RES: {base, perNode, perCore, step, nodesPerStep, coresPerStep, max}}, "limits": {...}}],
 * "threshold", "estimator", "minClusterSize", "scaleFactor"}; exact keys. `where` prefixes the
 * field names in errors (e.g. "targets[1].vertical"). */
int vertical_from_json(const cJSON *o, struct vertical_policy *out, const char *where, char *err, size_t errlen);

/* The strategic merge patch that writes `answer` into a workload's pod template: only the managed
 * values of the named containers (containers merge by name, resources by key), and with
 * `resource_version` (NULL: none) as metadata.resourceVersion, which makes the patch conditional
 * on it (409 if the object moved); a heap string (NULL when out of memory). */
char *vertical_patch_json(const struct vertical_policy *p, const struct vertical_answer *answer,
                          const char *resource_version);

/* The answer as JSON: {"nodes":N,"cores":C,"containers":[{"name":..,"resources":{"requests":{..},
 * "limits":{..}}}]} with canonical quantity strings; the caller owns it. NULL when out of memory. */
cJSON *vertical_answer_json(const struct vertical_policy *p, const struct vertical_answer *answer);

#endif
