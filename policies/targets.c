/* A targets file. See targets.h. */
#include "targets.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantity.h"
#include "yamljson.h"

static const char *const kind_titles[] = {"Deployment", "StatefulSet", "ReplicaSet", "ReplicationController"};
static const char *const kind_resources[] = {"deployments", "statefulsets", "replicasets", "replicationcontrollers"};

const char *workload_kind_title(enum workload_kind k) { return kind_titles[k]; }
const char *workload_kind_resource(enum workload_kind k) { return kind_resources[k]; }
const char *workload_kind_group_version(enum workload_kind k)
{
    return k == WORKLOAD_REPLICATIONCONTROLLER ? "v1" : "apps/v1";
}

void targets_config_init(struct targets_config *c) { memset(c, 0, sizeof *c); }

static void target_release(struct target_config *t)
{
    params_release(&t->params);
    node_count_opts_release(&t->nodes);
    selector_free(t->selector);
    t->selector = NULL;
}

void targets_config_release(struct targets_config *c)
{
    for (size_t i = 0; i < c->n; i++)
        target_release(&c->targets[i]);
    free(c->targets);
    memset(c, 0, sizeof *c);
}

/* Errors name the target ("targets[1] (Deployment kube-system/x)") and the field. */
struct where {
    char prefix[700];
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(const struct where *w, const char *field, const char *fmt, ...)
{
    if (!w->err || !w->errlen)
        return -1;
    int n = snprintf(w->err, w->errlen, "%s: %s%s", w->prefix, field ? field : "", field && field[0] ? ": " : "");
    if (n < 0 || (size_t)n >= w->errlen)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->err + n, w->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* A scalar given as a number or a string (YAML's `64`, `"64"` and `10m` alike), as text; false
 * for anything else, or a string too long for out. */
static bool scalar_text(const cJSON *v, char *out, size_t len)
{
    if (cJSON_IsNumber(v))
        snprintf(out, len, "%.17g", v->valuedouble);
    else if (cJSON_IsString(v) && strlen(v->valuestring) < len)
        snprintf(out, len, "%s", v->valuestring);
    else
        return false;
    return true;
}

static int string_field(const struct where *w, const cJSON *v, const char *field, char *out, size_t len)
{
    if (!cJSON_IsString(v) || !v->valuestring[0])
        return fail(w, field, "expected a non-empty string");
    if (strlen(v->valuestring) >= len)
        return fail(w, field, "longer than %zu characters", len - 1);
    snprintf(out, len, "%s", v->valuestring);
    return 0;
}

/* A DNS-1123 subdomain (object names) or label (namespaces): lowercase alphanumerics, '-', '.'. */
static bool dns_name(const char *s, bool label)
{
    size_t n = strlen(s);
    if (!n || n > (label ? 63u : 253u))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && c != '-' && !(c == '.' && !label))
            return false;
        if (!alnum && (i == 0 || i == n - 1))
            return false;
    }
    return true;
}

static int parse_replicas(const struct where *w, const cJSON *o, struct target_config *t)
{
    if (!cJSON_IsObject(o))
        return fail(w, "replicas", "expected an object with one of configMap, linear, ladder");
    int n = 0;
    for (const cJSON *it = o->child; it; it = it->next)
        n++;
    if (n != 1)
        return fail(w, "replicas", "expected exactly one of configMap (a CPA params ConfigMap's name), linear or "
                                   "ladder (CPA's params inline), found %d keys", n);
    const cJSON *it = o->child;
    char field[300];
    snprintf(field, sizeof field, "replicas.%.200s", it->string);
    if (strcmp(it->string, "configMap") == 0) {
        if (string_field(w, it, field, t->configmap, sizeof t->configmap) != 0)
            return -1;
        if (!dns_name(t->configmap, false))
            return fail(w, field, "\"%s\" is not a valid ConfigMap name", t->configmap);
        t->replicas = REPLICAS_CONFIGMAP;
        return 0;
    }
    if (strcmp(it->string, "linear") != 0 && strcmp(it->string, "ladder") != 0)
        return fail(w, field, "unknown key (known: configMap, linear, ladder)");
    /* CPA's params, through CPA's parser: a ConfigMap of that one key */
    char *text = cJSON_IsString(it) ? NULL : cJSON_PrintUnformatted(it);
    if (!cJSON_IsString(it) && !cJSON_IsObject(it)) {
        free(text);
        return fail(w, field, "expected CPA's params: an object (or its JSON text)");
    }
    const char *json = cJSON_IsString(it) ? it->valuestring : text;
    if (!json)
        return fail(w, field, "out of memory");
    struct cm_data cm;
    cm_data_init(&cm);
    char why[1024];
    int rc = cm_data_set(&cm, it->string, json, strlen(json));
    free(text);
    if (rc == 0)
        rc = params_from_configmap(&cm, &t->params, why, sizeof why);
    else
        snprintf(why, sizeof why, "out of memory");
    cm_data_release(&cm);
    if (rc != 0)
        return fail(w, field, "%s", why);
    t->replicas = REPLICAS_INLINE;
    return 0;
}

static int parse_nodes(const struct where *w, const cJSON *o, struct target_config *t)
{
    if (!cJSON_IsObject(o))
        return fail(w, "nodes", "expected an object with labelSelector, ignoreTaints, maxCoresPerNode");
    for (const cJSON *it = o->child; it; it = it->next) {
        char field[300], why[600];
        snprintf(field, sizeof field, "nodes.%.200s", it->string);
        if (strcmp(it->string, "labelSelector") == 0) {
            if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof t->selector_text)
                return fail(w, field, "expected a label selector string such as \"role=worker,zone!=b\"");
            if (selector_parse(it->valuestring, &t->selector, why, sizeof why) != 0)
                return fail(w, field, "%s", why);
            snprintf(t->selector_text, sizeof t->selector_text, "%s", it->valuestring);
            t->nodes.selector = t->selector;
        } else if (strcmp(it->string, "ignoreTaints") == 0) {
            if (!cJSON_IsArray(it))
                return fail(w, field, "expected a list of taints (key[=value][:effect])");
            int i = 0;
            for (const cJSON *e = it->child; e; e = e->next, i++) {
                if (!cJSON_IsString(e))
                    return fail(w, field, "[%d]: expected a taint string such as \"dedicated=gpu:NoSchedule\"", i);
                if (node_count_opts_add_taint(&t->nodes, e->valuestring, why, sizeof why) != 0)
                    return fail(w, field, "[%d]: %s", i, why);
            }
        } else if (strcmp(it->string, "maxCoresPerNode") == 0) {
            char q[64];
            if (!scalar_text(it, q, sizeof q))
                return fail(w, field, "expected a quantity of cores such as 64 or \"64000m\"");
            if (quantity_parse_nano(q, strlen(q), &t->nodes.max_nano_per_node, why, sizeof why) != 0 ||
                t->nodes.max_nano_per_node <= 0)
                return fail(w, field, "expected a positive quantity of cores, got \"%s\"", q);
        } else {
            return fail(w, field, "unknown key (known: labelSelector, ignoreTaints, maxCoresPerNode)");
        }
    }
    return 0;
}

static int duration_field(const struct where *w, const cJSON *v, const char *field, bool positive, double *out)
{
    char text[64];
    double s;
    if (!scalar_text(v, text, sizeof text) || guard_parse_duration(text, &s) != 0 || (positive && s <= 0) || s > 30 * 86400)
        return fail(w, field, "expected a duration such as 10m, 600s or 600 (seconds, at most 30 days)");
    *out = s;
    return 0;
}

static int parse_guard(const struct where *w, const cJSON *o, struct guard_opts *g)
{
    if (!cJSON_IsObject(o))
        return fail(w, "guard", "expected an object (enabled, maxNodeLoss, window, settle, scaleDownDelay, "
                                "maxScaleDownStep)");
    for (const cJSON *it = o->child; it; it = it->next) {
        char field[300], why[400];
        snprintf(field, sizeof field, "guard.%.200s", it->string);
        char num[64];
        const char *text = scalar_text(it, num, sizeof num) ? num : NULL;
        if (strcmp(it->string, "enabled") == 0) {
            if (!cJSON_IsBool(it))
                return fail(w, field, "expected true or false");
            g->enabled = cJSON_IsTrue(it);
        } else if (strcmp(it->string, "maxNodeLoss") == 0) {
            if (!text || guard_parse_share(text, &g->max_node_loss, why, sizeof why) != 0)
                return fail(w, field, "%s", text ? why : "expected a share such as \"50%\" or 0.5");
        } else if (strcmp(it->string, "maxScaleDownStep") == 0) {
            if (!text || guard_parse_step(text, &g->max_step, &g->max_step_percent, why, sizeof why) != 0)
                return fail(w, field, "%s", text ? why : "expected a count (3) or a share (\"50%\")");
        } else if (strcmp(it->string, "window") == 0) {
            if (duration_field(w, it, field, true, &g->window_s) != 0)
                return -1;
        } else if (strcmp(it->string, "settle") == 0) {
            if (duration_field(w, it, field, true, &g->settle_s) != 0)
                return -1;
        } else if (strcmp(it->string, "scaleDownDelay") == 0) {
            if (duration_field(w, it, field, false, &g->stabilize_s) != 0)
                return -1;
        } else {
            return fail(w, field, "unknown key (known: enabled, maxNodeLoss, window, settle, scaleDownDelay, "
                                  "maxScaleDownStep)");
        }
    }
    return 0;
}

static int parse_vertical(const struct where *w, const cJSON *o, struct target_config *t)
{
    char why[1200];
    const cJSON *ar = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "addonResizer") : NULL;
    if (ar) {
        if (cJSON_GetArraySize(o) != 1)
            return fail(w, "vertical", "addonResizer takes the nanny's flags alone (its --threshold, --estimator...)");
        if (!cJSON_IsArray(ar) || cJSON_GetArraySize(ar) > 64)
            return fail(w, "vertical.addonResizer", "expected a list of addon-resizer flags (\"--cpu=100m\", ...)");
        const char *argv[64];
        int argc = 0;
        for (const cJSON *e = ar->child; e; e = e->next) {
            if (!cJSON_IsString(e))
                return fail(w, "vertical.addonResizer", "[%d]: expected a flag string such as \"--cpu=100m\"", argc);
            argv[argc++] = e->valuestring;
        }
        char deployment[300], ns[300];
        if (vertical_from_addon_resizer(argc, argv, &t->vpolicy, deployment, sizeof deployment, ns, sizeof ns, why,
                                        sizeof why) != 0)
            return fail(w, "vertical.addonResizer", "%s", why);
        if (deployment[0] && (t->kind != WORKLOAD_DEPLOYMENT || strcmp(deployment, t->name) != 0))
            return fail(w, "vertical.addonResizer", "--deployment=%s names another workload than this target", deployment);
        if (ns[0] && strcmp(ns, t->ns) != 0)
            return fail(w, "vertical.addonResizer", "--namespace=%s is not this target's namespace (%s)", ns, t->ns);
        t->vertical = true;
        return 0;
    }
    if (vertical_from_json(o, &t->vpolicy, "vertical", why, sizeof why) != 0)
        return fail(w, NULL, "%s", why);
    t->vertical = true;
    return 0;
}

static int parse_kind(const struct where *w, const cJSON *v, enum workload_kind *out)
{
    if (cJSON_IsString(v))
        for (int k = 0; k < 4; k++)
            if (strcmp(v->valuestring, kind_titles[k]) == 0) {
                *out = (enum workload_kind)k;
                return 0;
            }
    return fail(w, "kind", "expected Deployment, StatefulSet, ReplicaSet or ReplicationController");
}

static int parse_target(const cJSON *o, size_t index, const struct targets_defaults *d, struct target_config *t,
                        char *err, size_t errlen)
{
    struct where w = {.err = err, .errlen = errlen};
    snprintf(w.prefix, sizeof w.prefix, "targets[%zu]", index);
    if (!cJSON_IsObject(o))
        return fail(&w, NULL, "expected an object with kind, name and replicas and/or vertical");
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
    const cJSON *ns = cJSON_GetObjectItemCaseSensitive(o, "namespace");
    if (!kind)
        return fail(&w, "kind", "missing: Deployment, StatefulSet, ReplicaSet or ReplicationController");
    if (parse_kind(&w, kind, &t->kind) != 0)
        return -1;
    if (!name)
        return fail(&w, "name", "missing: the workload's name");
    if (string_field(&w, name, "name", t->name, sizeof t->name) != 0)
        return -1;
    if (!dns_name(t->name, false))
        return fail(&w, "name", "\"%s\" is not a valid object name (lowercase letters, digits, '-' and '.')", t->name);
    if (ns) {
        if (string_field(&w, ns, "namespace", t->ns, sizeof t->ns) != 0)
            return -1;
    } else if (d && d->ns && d->ns[0]) {
        snprintf(t->ns, sizeof t->ns, "%s", d->ns);
    } else {
        return fail(&w, "namespace", "missing (and no default namespace: give --namespace)");
    }
    if (!dns_name(t->ns, true))
        return fail(&w, "namespace", "\"%s\" is not a valid namespace name", t->ns);
    snprintf(t->label, sizeof t->label, "%s %s/%s", kind_titles[t->kind], t->ns, t->name);
    snprintf(w.prefix, sizeof w.prefix, "targets[%zu] (%s)", index, t->label);
    if (d && d->guard)
        t->guard = *d->guard;
    else
        guard_opts_default(&t->guard);
    for (const cJSON *it = o->child; it; it = it->next) {
        const char *k = it->string;
        int rc = 0;
        if (strcmp(k, "kind") == 0 || strcmp(k, "name") == 0 || strcmp(k, "namespace") == 0)
            continue;
        if (strcmp(k, "replicas") == 0)
            rc = parse_replicas(&w, it, t);
        else if (strcmp(k, "nodes") == 0)
            rc = parse_nodes(&w, it, t);
        else if (strcmp(k, "guard") == 0)
            rc = parse_guard(&w, it, &t->guard);
        else if (strcmp(k, "placement") == 0) {
            const cJSON *wo = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "warnOnly") : NULL;
            if (!cJSON_IsObject(it) || cJSON_GetArraySize(it) != (wo ? 1 : 0) || (wo && !cJSON_IsBool(wo)))
                rc = fail(&w, "placement", "expected {warnOnly: true|false}");
            else
                t->placement_warn_only = wo && cJSON_IsTrue(wo);
        } else if (strcmp(k, "vertical") == 0)
            rc = parse_vertical(&w, it, t);
        else
            rc = fail(&w, k, "unknown key (known: kind, name, namespace, replicas, vertical, nodes, guard, placement)");
        if (rc != 0)
            return -1;
    }
    if (t->replicas == REPLICAS_NONE && !t->vertical)
        return fail(&w, NULL, "sizes nothing: give replicas (horizontal) and/or vertical");
    /* targets whose nodes count alike share a node set */
    char taints[600] = "";
    size_t used = 0;
    for (size_t i = 0; i < t->nodes.n_ignore_taints && used < sizeof taints; i++) {
        const struct taint_match *m = &t->nodes.ignore_taints[i];
        int n = snprintf(taints + used, sizeof taints - used, "%s=%s:%s;", m->key, m->value ? m->value : "*",
                         m->effect ? m->effect : "*");
        if (n < 0)
            break;
        used += (size_t)n;
    }
    snprintf(t->filter_key, sizeof t->filter_key, "sel=%s|taints=%s|maxnano=%lld", t->selector_text, taints,
             (long long)t->nodes.max_nano_per_node);
    return 0;
}

int targets_parse(const char *text, size_t len, const struct targets_defaults *d, struct targets_config *out,
                  char *err, size_t errlen)
{
    char why[1024];
    cJSON *docs = yamljson_parse(text, len, why, sizeof why);
    if (!docs) {
        snprintf(err, errlen, "targets file: %s", why);
        return -1;
    }
    int rc = -1;
    struct targets_config c;
    targets_config_init(&c);
    const cJSON *doc = cJSON_GetArraySize(docs) == 1 ? cJSON_GetArrayItem(docs, 0) : NULL;
    const cJSON *list = cJSON_IsObject(doc) ? cJSON_GetObjectItemCaseSensitive(doc, "targets") : NULL;
    if (!doc || !cJSON_IsObject(doc)) {
        snprintf(err, errlen, "targets file: expected one document, an object with a `targets` list");
        goto out;
    }
    for (const cJSON *it = doc->child; it; it = it->next)
        if (strcmp(it->string, "targets") != 0) {
            snprintf(err, errlen, "targets file: %.200s: unknown key (known: targets)", it->string);
            goto out;
        }
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) == 0) {
        snprintf(err, errlen, "targets file: targets: expected a non-empty list of targets");
        goto out;
    }
    size_t n = (size_t)cJSON_GetArraySize(list);
    if (n > TARGETS_MAX) {
        snprintf(err, errlen, "targets file: targets: %zu targets, at most %d", n, TARGETS_MAX);
        goto out;
    }
    c.targets = calloc(n, sizeof *c.targets);
    if (!c.targets) {
        snprintf(err, errlen, "targets file: out of memory");
        goto out;
    }
    for (const cJSON *it = list->child; it; it = it->next) {
        struct target_config *t = &c.targets[c.n++];
        params_init(&t->params);
        node_count_opts_init(&t->nodes);
        if (parse_target(it, c.n - 1, d, t, err, errlen) != 0)
            goto out;
        for (size_t j = 0; j + 1 < c.n; j++)
            if (c.targets[j].kind == t->kind && strcmp(c.targets[j].name, t->name) == 0 &&
                strcmp(c.targets[j].ns, t->ns) == 0) {
                snprintf(err, errlen, "targets[%zu] (%s): the same workload as targets[%zu]: give it one entry (with "
                         "replicas and vertical both, if both)", c.n - 1, t->label, j);
                goto out;
            }
    }
    targets_config_release(out);
    *out = c;
    memset(&c, 0, sizeof c);
    rc = 0;
out:
    targets_config_release(&c);
    cJSON_Delete(docs);
    return rc;
}
