/*
 * params — CPA's scaling parameters: ConfigMap data in, validated linear or ladder params out.
 *
 * Reproduces cluster-proportional-autoscaler exactly (see shared CPA-COMPAT.md): the one-key
 * ConfigMap rule, Go encoding/json decoding (case-insensitive keys, last duplicate wins, nulls
 * leave zero values, strict integers, fixed two-element ladder entries), validation order and
 * every error message, word for word, wrapped as CPA wraps them.
 *
 * Ownership: struct cm_data and struct params are caller-owned storage: *_init() before use,
 * *_release() after; they own every string and array they hold. Functions return 0 on success,
 * -1 with CPA's message in err.
 */
#ifndef PROPSCALER_PARAMS_H
#define PROPSCALER_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum params_mode { PARAMS_NONE = 0, PARAMS_LINEAR, PARAMS_LADDER };

struct linear_params {
    double cores_per_replica;
    double nodes_per_replica;
    int64_t min; /* 0 in the input becomes 1 */
    int64_t max; /* 0 = no upper bound */
    bool prevent_single_point_failure;
    bool include_unschedulable_nodes;
};

struct ladder_step {
    int64_t threshold;
    int64_t replicas;
};

struct ladder_params {
    struct ladder_step *cores_to_replicas; /* sorted by threshold, ascending */
    size_t n_cores;
    struct ladder_step *nodes_to_replicas;
    size_t n_nodes;
    bool include_unschedulable_nodes;
};

struct params {
    enum params_mode mode;
    struct linear_params linear;
    struct ladder_params ladder;
};

/* A ConfigMap's `data`: string keys to string values, kept sorted by key (as Go prints maps). */
struct cm_entry {
    char *key;
    char *value;
    size_t value_len;
};
struct cm_data {
    struct cm_entry *entries;
    size_t n;
};

/* Longest ConfigMap value accepted (the API server's limit for a whole ConfigMap). */
#define PARAMS_MAX_VALUE (1u << 20)

void cm_data_init(struct cm_data *d);
void cm_data_release(struct cm_data *d);
/* Insert or replace; copies key and value. */
int cm_data_set(struct cm_data *d, const char *key, const char *value, size_t value_len);
const struct cm_entry *cm_data_get(const struct cm_data *d, const char *key);

/* CPA's --default-params: a JSON object whose members become ConfigMap entries, each value
 * re-encoded as Go's compact JSON. A JSON null gives an empty map. Errors are Go's text. */
int params_parse_default(const char *json, size_t len, struct cm_data *out, char *err, size_t errlen);

void params_init(struct params *p);
void params_release(struct params *p);

/* CPA's EnsureController: exactly one key, `linear` or `ladder`, whose value parses and
 * validates. On failure *out is left unchanged. */
int params_from_configmap(const struct cm_data *data, struct params *out, char *err, size_t errlen);

/* The value of one mode alone (CPA's parseParams), errors without CPA's outer wrapping. */
int params_parse_linear(const char *json, size_t len, struct linear_params *out, char *err, size_t errlen);
int params_parse_ladder(const char *json, size_t len, struct ladder_params *out, char *err, size_t errlen);

/* Deep copy (for keeping the last good params while trying new ones). */
int params_copy(struct params *dst, const struct params *src);

const char *params_mode_name(enum params_mode m);

#endif
