/* Container resources sized by the cluster. See vertical.h. */
#include "vertical.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "quantity.h"

static const char *const resource_names[VRES_COUNT] = {"cpu", "memory", "ephemeral-storage"};
static const char *const kind_names[VKIND_COUNT] = {"requests", "limits"};

const char *vertical_resource_name(enum vertical_resource r) { return resource_names[r]; }
const char *vertical_kind_name(enum vertical_kind k) { return kind_names[k]; }

void vertical_policy_init(struct vertical_policy *p)
{
    memset(p, 0, sizeof *p);
    p->estimator = VEST_LINEAR;
    p->min_cluster_size = 16; /* addon-resizer's --minClusterSize default */
    p->scale_factor = 1.5;    /* addon-resizer's fixed factor */
}

/* ------------------------------------------------------------------------------------------ */
/* The rule                                                                                     */

int64_t vertical_estimate_nodes(const struct vertical_policy *p, int64_t nodes)
{
    if (p->estimator != VEST_EXPONENTIAL)
        return nodes;
    /* addon-resizer: n = minClusterSize, then n = floor(n * factor + 0.01) until n >= nodes */
    int64_t n = p->min_cluster_size;
    while (n < nodes) {
        double next = floor((double)n * p->scale_factor + 0.01);
        if (next >= 9.2e18 || next <= (double)n)
            return nodes; /* cannot grow further (or would not): size for the count itself */
        n = (int64_t)next;
    }
    return n;
}

typedef __int128 wide;

static wide ceil_div(wide a, wide b) { return a >= 0 ? (a + b - 1) / b : a / b; }

static int64_t rule_value(const struct vertical_rule *r, enum vertical_resource res, int64_t nodes, int64_t cores)
{
    wide v = r->base_milli;
    v += ceil_div((wide)r->per_node_nano * nodes + (wide)r->per_core_nano * cores, 1000000);
    wide by_nodes = r->nodes_per_step > 0 ? (wide)r->step_milli * ceil_div(nodes, r->nodes_per_step) : 0;
    wide by_cores = r->cores_per_step > 0 ? (wide)r->step_milli * ceil_div(cores, r->cores_per_step) : 0;
    v += by_nodes > by_cores ? by_nodes : by_cores;
    if (r->max_milli > 0 && v > r->max_milli)
        v = r->max_milli;
    if (res != VRES_CPU) /* bytes: a whole byte */
        v = ceil_div(v, 1000) * 1000;
    if (v > INT64_MAX)
        return INT64_MAX;
    return v < 0 ? 0 : (int64_t)v;
}

void vertical_compute(const struct vertical_policy *p, int64_t nodes, int64_t cores, struct vertical_answer *out)
{
    memset(out, 0, sizeof *out);
    out->nodes = vertical_estimate_nodes(p, nodes);
    out->cores = cores;
    for (size_t c = 0; c < p->n_containers; c++)
        for (int k = 0; k < VKIND_COUNT; k++)
            for (int r = 0; r < VRES_COUNT; r++) {
                const struct vertical_rule *rule = &p->containers[c].rules[k][r];
                if (!rule->set)
                    continue;
                out->values[c].have[k][r] = true;
                out->values[c].milli[k][r] = rule_value(rule, (enum vertical_resource)r, out->nodes, cores);
            }
}

/* addon-resizer's checkResource: q = floor(actual / expected, 2 decimals) against
 * [(100 - t) / 100, (100 + t) / 100]. 1: below (scale up), 2: above (scale down), 0: accepted. */
static int outside_threshold(int64_t actual, int64_t expected, int threshold)
{
    if (expected == 0) /* (the nanny would divide by zero) */
        return actual == 0 ? 0 : 2;
    wide q100 = (wide)actual * 100 / expected; /* both >= 0: truncation is the floor */
    if (q100 < 100 - threshold)
        return 1;
    if (q100 > 100 + threshold)
        return 2;
    return 0;
}

bool vertical_needs_rewrite(const struct vertical_policy *p, const struct vertical_values *expected,
                            const struct vertical_values *observed, bool *down, char *why, size_t whylen)
{
    *down = false;
    if (why && whylen)
        why[0] = '\0';
    /* the nanny's order: each resource, its limit then its request */
    for (int r = 0; r < VRES_COUNT; r++)
        for (int k = VKIND_COUNT - 1; k >= 0; k--) {
            if (!expected->have[k][r])
                continue;
            char want[32], have[32];
            vertical_format((enum vertical_resource)r, expected->milli[k][r], want, sizeof want);
            if (!observed->have[k][r]) {
                if (why)
                    snprintf(why, whylen, "%s %s is not set (want %s)", kind_names[k], resource_names[r], want);
                return true;
            }
            int o = outside_threshold(observed->milli[k][r], expected->milli[k][r], p->threshold_percent);
            if (o) {
                *down = o == 2;
                vertical_format((enum vertical_resource)r, observed->milli[k][r], have, sizeof have);
                if (why)
                    snprintf(why, whylen, "%s %s is %s, want %s (outside the %d%% threshold)", kind_names[k],
                             resource_names[r], have, want, p->threshold_percent);
                return true;
            }
        }
    return false;
}

void vertical_format(enum vertical_resource r, int64_t milli, char *out, size_t len)
{
    if (r == VRES_CPU) {
        if (milli % 1000 == 0)
            snprintf(out, len, "%" PRId64, milli / 1000);
        else
            snprintf(out, len, "%" PRId64 "m", milli);
        return;
    }
    int64_t bytes = milli / 1000 + (milli % 1000 > 0);
    static const char *const suffix[] = {"Ei", "Pi", "Ti", "Gi", "Mi", "Ki"};
    for (int i = 0; i < 6 && bytes; i++) {
        int64_t unit = INT64_C(1) << (10 * (6 - i));
        if (bytes % unit == 0) {
            snprintf(out, len, "%" PRId64 "%s", bytes / unit, suffix[i]);
            return;
        }
    }
    snprintf(out, len, "%" PRId64, bytes);
}

void vertical_describe(const char *container, const struct vertical_values *v, char *out, size_t len)
{
    int n = snprintf(out, len, "%s:", container);
    size_t used = n > 0 ? (size_t)n : 0;
    bool any_kind = false;
    for (int k = 0; k < VKIND_COUNT && used < len; k++) {
        bool first = true;
        for (int r = 0; r < VRES_COUNT && used < len; r++) {
            if (!v->have[k][r])
                continue;
            char q[32];
            vertical_format((enum vertical_resource)r, v->milli[k][r], q, sizeof q);
            n = first ? snprintf(out + used, len - used, "%s %s %s=%s", any_kind ? "," : "", kind_names[k],
                                 resource_names[r], q)
                      : snprintf(out + used, len - used, " %s=%s", resource_names[r], q);
            if (n < 0)
                return;
            used += (size_t)n;
            first = false;
            any_kind = true;
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Reading values and configs                                                                   */

static int resource_index(const char *name)
{
    for (int r = 0; r < VRES_COUNT; r++)
        if (strcmp(name, resource_names[r]) == 0)
            return r;
    return -1;
}

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A quantity given as a JSON string (or number, as the API accepts too), in milli- or nano-units. */
static int quantity_item(const cJSON *v, bool nano, int64_t *out, const char *field, char *err, size_t errlen)
{
    char text[64], why[300];
    const char *s;
    if (cJSON_IsString(v)) {
        s = v->valuestring;
    } else if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        snprintf(text, sizeof text, "%.17g", v->valuedouble);
        s = text;
    } else {
        return fail(err, errlen, "%s: expected a quantity such as \"100m\" or \"64Mi\"", field);
    }
    int rc = nano ? quantity_parse_nano(s, strlen(s), out, why, sizeof why)
                  : quantity_parse_milli(s, strlen(s), out, why, sizeof why);
    if (rc != 0)
        return fail(err, errlen, "%s: %s", field, why);
    if (*out < 0)
        return fail(err, errlen, "%s: must not be negative (\"%s\")", field, s);
    return 0;
}

int vertical_values_from_json(const cJSON *resources, struct vertical_values *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!resources || cJSON_IsNull(resources))
        return 0;
    if (!cJSON_IsObject(resources))
        return fail(err, errlen, "resources: expected an object");
    for (int k = 0; k < VKIND_COUNT; k++) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(resources, kind_names[k]);
        if (!list || cJSON_IsNull(list))
            continue;
        if (!cJSON_IsObject(list))
            return fail(err, errlen, "resources.%s: expected an object", kind_names[k]);
        for (int r = 0; r < VRES_COUNT; r++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(list, resource_names[r]);
            if (!v)
                continue;
            char field[80];
            snprintf(field, sizeof field, "resources.%s.%s", kind_names[k], resource_names[r]);
            if (quantity_item(v, false, &out->milli[k][r], field, err, errlen) != 0)
                return -1;
            if (r != VRES_CPU) /* compare whole bytes, as computed */
                out->milli[k][r] = (out->milli[k][r] + 999) / 1000 * 1000;
            out->have[k][r] = true;
        }
    }
    return 0;
}

/* The two object dialects: CPVA's (Go's case-insensitive keys, base/max/step/coresPerStep/
 * nodesPerStep) and propscaler's own (exact keys, also perNode and perCore). */
enum dialect { DIALECT_CPVA, DIALECT_PROPSCALER };

static bool key_is(enum dialect d, const char *key, const char *name)
{
    return d == DIALECT_CPVA ? strcasecmp(key, name) == 0 : strcmp(key, name) == 0;
}

static int count_item(const cJSON *v, int64_t *out, const char *field, char *err, size_t errlen)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < 0 || v->valuedouble > 2147483647.0)
        return fail(err, errlen, "%s: expected a whole number of 0 or more", field);
    *out = (int64_t)v->valuedouble;
    return 0;
}

static int rule_from_json(enum dialect d, const cJSON *o, struct vertical_rule *rule, const char *where, char *err,
                          size_t errlen)
{
    if (!cJSON_IsObject(o))
        return fail(err, errlen, "%s: expected an object such as {\"base\": \"100m\", \"step\": \"10m\", "
                                 "\"nodesPerStep\": 10}", where);
    memset(rule, 0, sizeof *rule);
    rule->set = true;
    const char *known = d == DIALECT_CPVA ? "base, max, step, coresPerStep, nodesPerStep"
                                          : "base, perNode, perCore, step, nodesPerStep, coresPerStep, max";
    bool has_step = false, has_per = false;
    for (const cJSON *it = o->child; it; it = it->next) {
        char field[400];
        snprintf(field, sizeof field, "%.250s.%.120s", where, it->string);
        if (cJSON_IsNull(it)) /* Go leaves the field unset */
            continue;
        int rc;
        if (key_is(d, it->string, "base"))
            rc = quantity_item(it, false, &rule->base_milli, field, err, errlen);
        else if (key_is(d, it->string, "max"))
            rc = quantity_item(it, false, &rule->max_milli, field, err, errlen);
        else if (key_is(d, it->string, "step"))
            rc = quantity_item(it, false, &rule->step_milli, field, err, errlen), has_step = true;
        else if (key_is(d, it->string, "coresPerStep"))
            rc = count_item(it, &rule->cores_per_step, field, err, errlen), has_per = true;
        else if (key_is(d, it->string, "nodesPerStep"))
            rc = count_item(it, &rule->nodes_per_step, field, err, errlen), has_per = true;
        else if (d == DIALECT_PROPSCALER && strcmp(it->string, "perNode") == 0)
            rc = quantity_item(it, true, &rule->per_node_nano, field, err, errlen);
        else if (d == DIALECT_PROPSCALER && strcmp(it->string, "perCore") == 0)
            rc = quantity_item(it, true, &rule->per_core_nano, field, err, errlen);
        else
            return fail(err, errlen, "%s: unknown key (known: %s)", field, known);
        if (rc != 0)
            return -1;
    }
    if (d == DIALECT_PROPSCALER && has_step != has_per) /* CPVA accepts either alone and sizes base only */
        return fail(err, errlen, "%s: %s", where,
                    has_step ? "step needs nodesPerStep or coresPerStep" : "nodesPerStep/coresPerStep need a step");
    return 0;
}

static int container_from_json(enum dialect d, const cJSON *o, struct vertical_policy *p, const char *where,
                               char *err, size_t errlen)
{
    if (!cJSON_IsObject(o))
        return fail(err, errlen, "%s: expected an object with a name and requests and/or limits", where);
    if (p->n_containers >= VERTICAL_MAX_CONTAINERS)
        return fail(err, errlen, "%s: more than 16 containers", where);
    struct vertical_container *c = &p->containers[p->n_containers];
    memset(c, 0, sizeof *c);
    bool any = false;
    for (const cJSON *it = o->child; it; it = it->next) {
        char field[300];
        snprintf(field, sizeof field, "%.200s.%.90s", where, it->string);
        if (cJSON_IsNull(it))
            continue;
        if (key_is(d, it->string, "name")) {
            if (!cJSON_IsString(it) || !it->valuestring[0] || strlen(it->valuestring) > VERTICAL_NAME_MAX)
                return fail(err, errlen, "%s: expected a container name (1 to 63 characters)", field);
            snprintf(c->name, sizeof c->name, "%s", it->valuestring);
            continue;
        }
        int k = key_is(d, it->string, "requests") ? VKIND_REQUESTS : key_is(d, it->string, "limits") ? VKIND_LIMITS : -1;
        if (k < 0)
            return fail(err, errlen, "%s: unknown key (known: name, requests, limits)", field);
        if (!cJSON_IsObject(it))
            return fail(err, errlen, "%s: expected an object of resources (cpu, memory, ephemeral-storage)", field);
        for (const cJSON *res = it->child; res; res = res->next) {
            char rfield[400];
            snprintf(rfield, sizeof rfield, "%s.%s", field, res->string);
            int r = resource_index(res->string);
            if (r < 0)
                return fail(err, errlen, "%s: unknown resource (propscaler sizes cpu, memory and ephemeral-storage)",
                            rfield);
            if (cJSON_IsNull(res))
                continue;
            if (rule_from_json(d, res, &c->rules[k][r], rfield, err, errlen) != 0)
                return -1;
            any = true;
        }
    }
    if (!c->name[0])
        return fail(err, errlen, "%s.name: missing: which container of the pod template to size", where);
    for (size_t i = 0; i < p->n_containers; i++)
        if (strcmp(p->containers[i].name, c->name) == 0)
            return fail(err, errlen, "%s.name: container \"%s\" is listed twice", where, c->name);
    if (!any)
        return fail(err, errlen, "%s: sizes nothing: give requests and/or limits", where);
    p->n_containers++;
    return 0;
}

static int containers_from_json(enum dialect d, const cJSON *arr, struct vertical_policy *out, const char *where,
                                char *err, size_t errlen)
{
    if (!cJSON_IsArray(arr))
        return fail(err, errlen, "%s: expected a list of containers", where);
    int i = 0;
    for (const cJSON *it = arr->child; it; it = it->next, i++) {
        char field[300];
        snprintf(field, sizeof field, "%.280s[%d]", where, i);
        if (container_from_json(d, it, out, field, err, errlen) != 0)
            return -1;
    }
    if (out->n_containers == 0)
        return fail(err, errlen, "%s: no containers: name at least one", where);
    return 0;
}

int vertical_from_cpva(const cJSON *config, struct vertical_policy *out, char *err, size_t errlen)
{
    vertical_policy_init(out);
    return containers_from_json(DIALECT_CPVA, config, out, "cpva", err, errlen);
}

int vertical_from_cpva_text(const char *json, size_t len, struct vertical_policy *out, char *err, size_t errlen)
{
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(json, len, &end, false);
    if (!doc) {
        char off[32];
        snprintf(off, sizeof off, "%zu", end && end >= json ? (size_t)(end - json) : (size_t)0);
        return fail(err, errlen, "cpva: not valid JSON (at byte %s)", off);
    }
    int rc = vertical_from_cpva(doc, out, err, errlen);
    cJSON_Delete(doc);
    return rc;
}

int vertical_from_json(const cJSON *o, struct vertical_policy *out, const char *where, char *err, size_t errlen)
{
    vertical_policy_init(out);
    if (!cJSON_IsObject(o))
        return fail(err, errlen, "%s: expected an object with containers", where);
    const cJSON *containers = NULL, *cpva = NULL;
    for (const cJSON *it = o->child; it; it = it->next) {
        char field[300];
        snprintf(field, sizeof field, "%.200s.%.90s", where, it->string);
        if (strcmp(it->string, "containers") == 0) {
            containers = it;
        } else if (strcmp(it->string, "cpva") == 0) {
            cpva = it;
        } else if (strcmp(it->string, "threshold") == 0) {
            int64_t t = 0;
            if (count_item(it, &t, field, err, errlen) != 0 || t > 100)
                return fail(err, errlen, "%s: expected a percentage from 0 to 100", field);
            out->threshold_percent = (int)t;
        } else if (strcmp(it->string, "estimator") == 0) {
            if (cJSON_IsString(it) && strcmp(it->valuestring, "linear") == 0)
                out->estimator = VEST_LINEAR;
            else if (cJSON_IsString(it) && strcmp(it->valuestring, "exponential") == 0)
                out->estimator = VEST_EXPONENTIAL;
            else
                return fail(err, errlen, "%s: expected \"linear\" or \"exponential\"", field);
        } else if (strcmp(it->string, "minClusterSize") == 0) {
            if (count_item(it, &out->min_cluster_size, field, err, errlen) != 0 || out->min_cluster_size < 2)
                return fail(err, errlen, "%s: expected a whole number of 2 or more", field);
        } else if (strcmp(it->string, "scaleFactor") == 0) {
            if (!cJSON_IsNumber(it) || !(it->valuedouble > 1.0 && it->valuedouble <= 100.0))
                return fail(err, errlen, "%s: expected a number above 1 (addon-resizer uses 1.5)", field);
            out->scale_factor = it->valuedouble;
        } else {
            return fail(err, errlen, "%s: unknown key (known: containers or cpva, threshold, estimator, "
                                     "minClusterSize, scaleFactor; or addonResizer alone)", field);
        }
    }
    char field[300];
    if (containers && cpva)
        return fail(err, errlen, "%s: containers and cpva both given: size the containers one way", where);
    if (cpva) { /* CPVA's config, as a list or as the JSON text of its ConfigMap or flag */
        snprintf(field, sizeof field, "%.200s.cpva", where);
        if (!cJSON_IsString(cpva))
            return containers_from_json(DIALECT_CPVA, cpva, out, field, err, errlen);
        cJSON *doc = cJSON_Parse(cpva->valuestring);
        if (!doc)
            return fail(err, errlen, "%s: not valid JSON (CPVA's config is a JSON list of containers)", field);
        int rc = containers_from_json(DIALECT_CPVA, doc, out, field, err, errlen);
        cJSON_Delete(doc);
        return rc;
    }
    snprintf(field, sizeof field, "%.200s.containers", where);
    if (!containers)
        return fail(err, errlen, "%s: missing: the containers to size (or cpva: CPVA's config)", field);
    return containers_from_json(DIALECT_PROPSCALER, containers, out, field, err, errlen);
}

/* ------------------------------------------------------------------------------------------ */
/* addon-resizer's flags                                                                        */

int vertical_from_addon_resizer(int argc, const char *const *argv, struct vertical_policy *out, char *deployment,
                                size_t deployment_len, char *ns, size_t ns_len, char *err, size_t errlen)
{
    vertical_policy_init(out);
    const char *base[VRES_COUNT] = {NULL, NULL, NULL};
    const char *extra[VRES_COUNT] = {"0", "0Mi", "0Gi"}; /* the nanny's defaults */
    const char *container = NULL;
    static const char *const ignored[] = {"poll-period", "pod", "config-dir", "scale-down-delay", "scale-up-delay",
                                          "v", "logtostderr", "alsologtostderr", "stderrthreshold", "log-dir",
                                          "log_dir", "vmodule", "log-backtrace-at", "use-metrics", NULL};
    if (deployment && deployment_len)
        deployment[0] = '\0';
    if (ns && ns_len)
        ns[0] = '\0';
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || !a[2])
            return fail(err, errlen, "addon-resizer flag \"%s\": expected --name=value", a);
        char name[64];
        const char *eq = strchr(a + 2, '=');
        size_t nlen = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (nlen >= sizeof name)
            return fail(err, errlen, "addon-resizer flag \"%s\": unknown flag", a);
        memcpy(name, a + 2, nlen);
        name[nlen] = '\0';
        bool is_bool = strcmp(name, "logtostderr") == 0 || strcmp(name, "alsologtostderr") == 0 ||
                       strcmp(name, "use-metrics") == 0;
        const char *value = eq ? eq + 1 : NULL;
        if (!value && !is_bool) {
            if (i + 1 >= argc)
                return fail(err, errlen, "addon-resizer flag --%s: needs a value", name);
            value = argv[++i];
        }
        bool known = false;
        for (int k = 0; ignored[k]; k++)
            known = known || strcmp(name, ignored[k]) == 0;
        if (known)
            continue;
        if (strcmp(name, "cpu") == 0)
            base[VRES_CPU] = value;
        else if (strcmp(name, "extra-cpu") == 0)
            extra[VRES_CPU] = value;
        else if (strcmp(name, "memory") == 0)
            base[VRES_MEMORY] = value;
        else if (strcmp(name, "extra-memory") == 0)
            extra[VRES_MEMORY] = value;
        else if (strcmp(name, "storage") == 0)
            base[VRES_EPHEMERAL_STORAGE] = value;
        else if (strcmp(name, "extra-storage") == 0)
            extra[VRES_EPHEMERAL_STORAGE] = value;
        else if (strcmp(name, "container") == 0)
            container = value;
        else if (strcmp(name, "deployment") == 0) {
            if (deployment && deployment_len)
                snprintf(deployment, deployment_len, "%s", value);
        } else if (strcmp(name, "namespace") == 0) {
            if (ns && ns_len)
                snprintf(ns, ns_len, "%s", value);
        } else if (strcmp(name, "threshold") == 0) {
            char *end;
            errno = 0;
            long t = strtol(value, &end, 10);
            if (!value[0] || *end || errno || t < 0 || t > 100)
                return fail(err, errlen, "addon-resizer flag --threshold=%s: must be between 0 and 100 inclusive",
                            value);
            out->threshold_percent = (int)t;
        } else if (strcmp(name, "estimator") == 0) {
            if (strcmp(value, "linear") == 0)
                out->estimator = VEST_LINEAR;
            else if (strcmp(value, "exponential") == 0)
                out->estimator = VEST_EXPONENTIAL;
            else
                return fail(err, errlen, "addon-resizer flag --estimator=%s: not supported (linear or exponential)",
                            value);
        } else if (strcmp(name, "minClusterSize") == 0) {
            char *end;
            errno = 0;
            long long m = strtoll(value, &end, 10);
            if (!value[0] || *end || errno || m < 2)
                return fail(err, errlen, "addon-resizer flag --minClusterSize=%s: must be greater than 1", value);
            out->min_cluster_size = m;
        } else {
            return fail(err, errlen, "addon-resizer flag --%s: unknown (propscaler reads cpu, extra-cpu, memory, "
                                     "extra-memory, storage, extra-storage, threshold, estimator, minClusterSize, "
                                     "container, deployment, namespace)", name);
        }
    }
    if (!container || !container[0])
        return fail(err, errlen, "addon-resizer flags: --container is required (the container whose resources are "
                                 "sized; the nanny's default, its own container, does not apply)");
    if (strlen(container) > VERTICAL_NAME_MAX)
        return fail(err, errlen, "addon-resizer flag --container=%s: longer than 63 characters", container);
    struct vertical_container *c = &out->containers[0];
    snprintf(c->name, sizeof c->name, "%s", container);
    bool any = false;
    for (int r = 0; r < VRES_COUNT; r++) {
        if (!base[r])
            continue;
        static const char *const flag_base[] = {"--cpu", "--memory", "--storage"};
        static const char *const flag_extra[] = {"--extra-cpu", "--extra-memory", "--extra-storage"};
        struct vertical_rule rule = {.set = true};
        char why[300];
        if (quantity_parse_milli(base[r], strlen(base[r]), &rule.base_milli, why, sizeof why) != 0 || rule.base_milli < 0)
            return fail(err, errlen, "addon-resizer flag %s: %s", flag_base[r], why);
        if (quantity_parse_nano(extra[r], strlen(extra[r]), &rule.per_node_nano, why, sizeof why) != 0 ||
            rule.per_node_nano < 0)
            return fail(err, errlen, "addon-resizer flag %s: %s", flag_extra[r], why);
        c->rules[VKIND_REQUESTS][r] = rule; /* the nanny writes the same value to both */
        c->rules[VKIND_LIMITS][r] = rule;
        any = true;
    }
    if (!any)
        return fail(err, errlen, "addon-resizer flags: none of --cpu, --memory, --storage is given: nothing to size%s",
                    "");
    out->n_containers = 1;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Output                                                                                       */

static cJSON *values_json(const struct vertical_values *v, enum vertical_kind k)
{
    cJSON *o = cJSON_CreateObject();
    for (int r = 0; o && r < VRES_COUNT; r++) {
        if (!v->have[k][r])
            continue;
        char q[32];
        vertical_format((enum vertical_resource)r, v->milli[k][r], q, sizeof q);
        if (!cJSON_AddStringToObject(o, resource_names[r], q)) {
            cJSON_Delete(o);
            return NULL;
        }
    }
    return o;
}

static cJSON *containers_json(const struct vertical_policy *p, const struct vertical_answer *a)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t c = 0; arr && c < p->n_containers; c++) {
        cJSON *one = cJSON_CreateObject();
        if (!one || !cJSON_AddItemToArray(arr, one) || !cJSON_AddStringToObject(one, "name", p->containers[c].name)) {
            cJSON_Delete(arr);
            return NULL;
        }
        cJSON *res = cJSON_AddObjectToObject(one, "resources");
        for (int k = 0; res && k < VKIND_COUNT; k++) {
            bool any = false;
            for (int r = 0; r < VRES_COUNT; r++)
                any = any || a->values[c].have[k][r];
            if (!any)
                continue;
            cJSON *list = values_json(&a->values[c], (enum vertical_kind)k);
            if (!list || !cJSON_AddItemToObject(res, kind_names[k], list)) {
                cJSON_Delete(list);
                res = NULL;
            }
        }
        if (!res) {
            cJSON_Delete(arr);
            return NULL;
        }
    }
    return arr;
}

char *vertical_patch_json(const struct vertical_policy *p, const struct vertical_answer *answer,
                          const char *resource_version)
{
    cJSON *root = cJSON_CreateObject();
    if (root && resource_version) {
        cJSON *md = cJSON_AddObjectToObject(root, "metadata");
        if (!md || !cJSON_AddStringToObject(md, "resourceVersion", resource_version)) {
            cJSON_Delete(root);
            return NULL;
        }
    }
    cJSON *spec = root ? cJSON_AddObjectToObject(root, "spec") : NULL;
    cJSON *tmpl = spec ? cJSON_AddObjectToObject(spec, "template") : NULL;
    cJSON *pspec = tmpl ? cJSON_AddObjectToObject(tmpl, "spec") : NULL;
    cJSON *containers = pspec ? containers_json(p, answer) : NULL;
    char *text = NULL;
    if (containers && cJSON_AddItemToObject(pspec, "containers", containers))
        text = cJSON_PrintUnformatted(root);
    else
        cJSON_Delete(containers);
    cJSON_Delete(root);
    return text;
}

cJSON *vertical_answer_json(const struct vertical_policy *p, const struct vertical_answer *answer)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *containers = o ? containers_json(p, answer) : NULL;
    if (!containers || !cJSON_AddNumberToObject(o, "nodes", (double)answer->nodes) ||
        !cJSON_AddNumberToObject(o, "cores", (double)answer->cores) ||
        !cJSON_AddItemToObject(o, "containers", containers)) {
        cJSON_Delete(containers);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}
