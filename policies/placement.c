#include "placement.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL; }

void placement_rules_init(struct placement_rules *r) { memset(r, 0, sizeof *r); }

void placement_rules_release(struct placement_rules *r)
{
    cJSON_Delete(r->node_selector);
    cJSON_Delete(r->node_affinity);
    cJSON_Delete(r->tolerations);
    memset(r, 0, sizeof *r);
}

static uint64_t fnv(uint64_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211u;
    }
    return h;
}

static bool own_hostname_term(const cJSON *term, const cJSON *labels)
{
    const cJSON *tk = get(term, "topologyKey");
    return cJSON_IsString(tk) && strcmp(tk->valuestring, "kubernetes.io/hostname") == 0 &&
           selector_object_matches(get(term, "labelSelector"), labels);
}

void placement_rules_from_workload(struct placement_rules *r, const cJSON *w)
{
    placement_rules_release(r);
    const cJSON *tmpl = get(get(w, "spec"), "template");
    const cJSON *labels = get(get(tmpl, "metadata"), "labels"), *ps = get(tmpl, "spec");
    const cJSON *anti = get(get(ps, "affinity"), "podAntiAffinity"), *t;
    cJSON_ArrayForEach(t, get(anti, "requiredDuringSchedulingIgnoredDuringExecution")) if (own_hostname_term(t, labels))
        r->required_anti = true;
    r->any_anti = r->required_anti;
    cJSON_ArrayForEach(t, get(anti, "preferredDuringSchedulingIgnoredDuringExecution")) if (own_hostname_term(get(t, "podAffinityTerm"), labels))
        r->any_anti = true;
    cJSON_ArrayForEach(t, get(ps, "topologySpreadConstraints")) if (own_hostname_term(t, labels)) r->any_anti = true;
    const cJSON *ns = get(ps, "nodeSelector");
    const cJSON *na = get(get(get(get(ps, "affinity"), "nodeAffinity"), "requiredDuringSchedulingIgnoredDuringExecution"),
                          "nodeSelectorTerms");
    const cJSON *tol = get(ps, "tolerations");
    r->node_selector = ns ? cJSON_Duplicate(ns, 1) : NULL;
    r->node_affinity = na ? cJSON_Duplicate(na, 1) : NULL;
    r->tolerations = tol ? cJSON_Duplicate(tol, 1) : NULL;
    uint64_t h = 1469598103934665603u;
    h = fnv(h, r->required_anti ? "R" : "r");
    h = fnv(h, r->any_anti ? "A" : "a");
    char *parts[3] = {r->node_selector ? cJSON_PrintUnformatted(r->node_selector) : NULL,
                      r->node_affinity ? cJSON_PrintUnformatted(r->node_affinity) : NULL,
                      r->tolerations ? cJSON_PrintUnformatted(r->tolerations) : NULL};
    for (int i = 0; i < 3; i++) {
        h = fnv(h, parts[i] ? parts[i] : "-");
        free(parts[i]);
    }
    snprintf(r->fingerprint, sizeof r->fingerprint, "%016llx", (unsigned long long)h);
}

bool placement_tolerates(const cJSON *taints, const cJSON *tolerations)
{
    const cJSON *taint;
    cJSON_ArrayForEach(taint, taints)
    {
        const cJSON *effect = get(taint, "effect"), *key = get(taint, "key"), *value = get(taint, "value");
        if (!cJSON_IsString(effect) || strcmp(effect->valuestring, "PreferNoSchedule") == 0)
            continue;
        bool ok = false;
        const cJSON *t;
        cJSON_ArrayForEach(t, tolerations)
        {
            const cJSON *tk = get(t, "key"), *op = get(t, "operator"), *tv = get(t, "value"), *te = get(t, "effect");
            if (cJSON_IsString(te) && te->valuestring[0] && strcmp(te->valuestring, effect->valuestring) != 0)
                continue;
            bool exists = cJSON_IsString(op) && strcmp(op->valuestring, "Exists") == 0;
            if (!cJSON_IsString(tk) || !tk->valuestring[0]) {
                if (exists)
                    ok = true;
                continue;
            }
            if (!cJSON_IsString(key) || strcmp(tk->valuestring, key->valuestring) != 0)
                continue;
            if (exists || strcmp(cJSON_IsString(tv) ? tv->valuestring : "", cJSON_IsString(value) ? value->valuestring : "") == 0)
                ok = true;
        }
        if (!ok)
            return false;
    }
    return true;
}

/* A nodeSelectorTerm: all matchExpressions hold (In, NotIn, Exists, DoesNotExist, Gt, Lt). */
static bool term_matches(const cJSON *term, const cJSON *labels)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, get(term, "matchExpressions"))
    {
        const cJSON *key = get(e, "key"), *op = get(e, "operator");
        if (!cJSON_IsString(key) || !cJSON_IsString(op))
            return false;
        const cJSON *lv = get(labels, key->valuestring);
        const char *v = cJSON_IsString(lv) ? lv->valuestring : NULL;
        const char *o = op->valuestring;
        bool in = false;
        const cJSON *x;
        cJSON_ArrayForEach(x, get(e, "values")) in = in || (v && cJSON_IsString(x) && strcmp(x->valuestring, v) == 0);
        bool ok;
        if (strcmp(o, "In") == 0)
            ok = in;
        else if (strcmp(o, "NotIn") == 0)
            ok = !in;
        else if (strcmp(o, "Exists") == 0)
            ok = v != NULL;
        else if (strcmp(o, "DoesNotExist") == 0)
            ok = v == NULL;
        else if (strcmp(o, "Gt") == 0 || strcmp(o, "Lt") == 0) {
            const cJSON *first = cJSON_GetArrayItem(get(e, "values"), 0);
            ok = v && cJSON_IsString(first) &&
                 (strcmp(o, "Gt") == 0 ? atoll(v) > atoll(first->valuestring) : atoll(v) < atoll(first->valuestring));
        } else
            ok = false;
        if (!ok)
            return false;
    }
    return true;
}

bool placement_node_eligible(const struct placement_rules *r, const cJSON *node)
{
    return placement_node_eligible_parts(r, get(get(node, "metadata"), "labels"), get(get(node, "spec"), "taints"));
}

bool placement_reads_labels(const struct placement_rules *r)
{
    return (r->node_selector && r->node_selector->child) || (r->node_affinity && cJSON_GetArraySize(r->node_affinity) > 0);
}

bool placement_node_eligible_parts(const struct placement_rules *r, const cJSON *labels, const cJSON *taints)
{
    const cJSON *kv;
    cJSON_ArrayForEach(kv, r->node_selector)
    {
        const cJSON *v = get(labels, kv->string);
        if (!cJSON_IsString(kv) || !cJSON_IsString(v) || strcmp(v->valuestring, kv->valuestring) != 0)
            return false;
    }
    if (r->node_affinity && cJSON_GetArraySize(r->node_affinity) > 0) {
        bool any = false;
        const cJSON *term;
        cJSON_ArrayForEach(term, r->node_affinity) any = any || term_matches(term, labels);
        if (!any)
            return false;
    }
    return placement_tolerates(taints, r->tolerations);
}

void placement_hotspots(const struct node_load *load, size_t n, bool any_anti, const struct hotspot_opts *o,
                        struct hotspot_report *out)
{
    memset(out, 0, sizeof *out);
    out->limit = o->max_replicas_per_node > 0 ? o->max_replicas_per_node : (any_anti ? 1 : 2);
    out->busiest = n ? load[0].replicas : 0;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        bool too_many = load[i].replicas > out->limit;
        bool too_hot = o->dns_qps_node_limit > 0 && (double)load[i].replicas * o->qps_per_replica > o->dns_qps_node_limit;
        out->over_limit += too_many;
        out->over_qps += too_hot;
        if ((too_many || too_hot) && w < sizeof out->offenders) {
            int k = snprintf(out->offenders + w, sizeof out->offenders - w, "%s%s %d", w ? ", " : "", load[i].node,
                             load[i].replicas);
            w = k < 0 || (size_t)k >= sizeof out->offenders - w ? sizeof out->offenders : w + (size_t)k;
        }
    }
}
