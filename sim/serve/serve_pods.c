/*
 * Pods for `propsim serve`: a minimal workload controller and scheduler.
 *
 * When a workload's replicas change, its pods are created or deleted to match (newest first
 * on scale-down), as the ReplicaSet/StatefulSet controllers would, and each new pod is placed at
 * once by a scheduler that honours: cordons and NotReady nodes, NoSchedule/NoExecute taints
 * (with the pod's tolerations), the template's nodeSelector, and podAntiAffinity on
 * kubernetes.io/hostname (required: never two matching pods on one node; preferred: a weighted
 * penalty). Scoring is `spread` (fewest pods, then least requested CPU, like the default
 * scheduler's balance) or `most-requested` (bin-packing: fullest node that fits — the policy that
 * piled DNS pods onto a few nodes in the field). A pod that fits nowhere stays Pending with
 * PodScheduled=False/Unschedulable, as in a real cluster. Pods of a deleted node are deleted and
 * replaced (the node lifecycle controller's eviction, without its delay).
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "placement.h"
#include "quantity.h"
#include "selector.h"
#include "serve.h"
#include "serve_rs.h"

struct node_view {
    const char *name;
    cJSON *obj;
    bool schedulable;
    int64_t alloc_milli;
    int64_t requested_milli;
    int same_owner;     /* pods of this workload on the node */
    int anti_required;  /* pods matching a required anti-affinity term */
    int anti_preferred; /* weighted matches of preferred terms */
};

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static const char *label_of(const void *ctx, const char *key)
{
    const cJSON *v = get((const cJSON *)ctx, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int64_t pod_cpu_request(const cJSON *podspec)
{
    int64_t total = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, get(podspec, "containers"))
    {
        const cJSON *q = get(get(get(c, "resources"), "requests"), "cpu");
        int64_t m;
        char err[64];
        if (cJSON_IsString(q) && quantity_parse_milli(q->valuestring, strlen(q->valuestring), &m, err, sizeof err) == 0)
            total += m;
    }
    return total;
}

static const char *pod_node(const cJSON *pod)
{
    const cJSON *n = get(get(pod, "spec"), "nodeName");
    return cJSON_IsString(n) ? n->valuestring : NULL;
}

static const char *owner_label(const cJSON *pod)
{
    const cJSON *o = get(get(get(pod, "metadata"), "labels"), "propsim.io/owner");
    return cJSON_IsString(o) ? o->valuestring : NULL;
}

/* Score a candidate for a new pod; higher is better. INT64_MIN = infeasible. */
static int64_t score(const struct node_view *n, int64_t request, bool most_requested)
{
    if (n->alloc_milli > 0 && n->requested_milli + request > n->alloc_milli)
        return INT64_MIN;
    int64_t s = most_requested ? n->requested_milli * 1000 : -(int64_t)n->same_owner * 1000000 - n->requested_milli;
    return s - (int64_t)n->anti_preferred * 100000000;
}

struct workload {
    const struct kresource_def *def;
    char owner[320];
    const cJSON *template_meta, *podspec;
    long replicas;
    struct pod_owner ref; /* the pods' ownerReferences: the workload, or a Deployment's ReplicaSet */
};

static void scheduling_terms(const cJSON *podspec, const cJSON **required, const cJSON **preferred)
{
    const cJSON *anti = get(get(podspec, "affinity"), "podAntiAffinity");
    *required = get(anti, "requiredDuringSchedulingIgnoredDuringExecution");
    *preferred = get(anti, "preferredDuringSchedulingIgnoredDuringExecution");
}

/* Place one pod; returns the node index or -1. Updates the chosen node's view. */
static int place(struct node_view *nodes, size_t n, const struct workload *w, const cJSON *pod_labels, bool most_requested)
{
    (void)pod_labels;
    int64_t request = pod_cpu_request(w->podspec);
    const cJSON *node_selector = get(w->podspec, "nodeSelector"), *tolerations = get(w->podspec, "tolerations");
    int best = -1;
    int64_t best_score = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        struct node_view *v = &nodes[i];
        if (!v->schedulable || v->anti_required > 0)
            continue;
        const cJSON *labels = get(get(v->obj, "metadata"), "labels");
        bool ok = true;
        const cJSON *kv;
        cJSON_ArrayForEach(kv, node_selector) ok = ok && cJSON_IsString(kv) && label_of(labels, kv->string) &&
                                                   strcmp(label_of(labels, kv->string), kv->valuestring) == 0;
        ok = ok && placement_tolerates(get(get(v->obj, "spec"), "taints"), tolerations);
        if (!ok)
            continue;
        int64_t s = score(v, request, most_requested);
        if (s > best_score) {
            best_score = s;
            best = (int)i;
        }
    }
    if (best >= 0) {
        nodes[best].requested_milli += request;
        nodes[best].same_owner++;
    }
    return best;
}

/* Count, per node, the existing pods that anti-affinity terms of this workload match. */
static void count_matches(struct node_view *nodes, size_t n, const struct ksnapshot *pods, const struct workload *w)
{
    const cJSON *required, *preferred;
    scheduling_terms(w->podspec, &required, &preferred);
    for (size_t p = 0; p < pods->n; p++) {
        cJSON *pod = cJSON_Parse(pods->items[p]->text);
        const char *node = pod_node(pod);
        const cJSON *labels = get(get(pod, "metadata"), "labels");
        const char *owner = owner_label(pod);
        for (size_t i = 0; node && i < n; i++) {
            if (strcmp(nodes[i].name, node) != 0)
                continue;
            nodes[i].requested_milli += pod_cpu_request(get(pod, "spec"));
            if (owner && strcmp(owner, w->owner) == 0)
                nodes[i].same_owner++;
            const cJSON *term;
            cJSON_ArrayForEach(term, required)
            {
                const cJSON *tk = get(term, "topologyKey");
                if (cJSON_IsString(tk) && strcmp(tk->valuestring, "kubernetes.io/hostname") == 0 &&
                    selector_object_matches(get(term, "labelSelector"), labels))
                    nodes[i].anti_required++;
            }
            cJSON_ArrayForEach(term, preferred)
            {
                const cJSON *pt = get(term, "podAffinityTerm"), *wt = get(term, "weight");
                const cJSON *tk = get(pt, "topologyKey");
                if (cJSON_IsString(tk) && strcmp(tk->valuestring, "kubernetes.io/hostname") == 0 &&
                    selector_object_matches(get(pt, "labelSelector"), labels))
                    nodes[i].anti_preferred += cJSON_IsNumber(wt) ? (int)wt->valuedouble : 1;
            }
            break;
        }
        cJSON_Delete(pod);
    }
}

static cJSON *new_pod(const struct workload *w, const char *ns, const char *name, const char *node)
{
    cJSON *pod = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(pod, "metadata");
    cJSON_AddStringToObject(meta, "name", name);
    cJSON_AddStringToObject(meta, "namespace", ns);
    cJSON *labels = cJSON_Duplicate(get(w->template_meta, "labels"), 1);
    if (!cJSON_IsObject(labels)) {
        cJSON_Delete(labels);
        labels = cJSON_CreateObject();
    }
    cJSON_AddStringToObject(labels, "propsim.io/owner", w->owner);
    if (w->ref.hash[0])
        cJSON_AddStringToObject(labels, "pod-template-hash", w->ref.hash);
    cJSON_AddItemToObject(meta, "labels", labels);
    cJSON *ref = cJSON_CreateObject();
    cJSON_AddStringToObject(ref, "apiVersion", w->ref.api_version);
    cJSON_AddStringToObject(ref, "kind", w->ref.kind);
    cJSON_AddStringToObject(ref, "name", w->ref.name);
    cJSON_AddStringToObject(ref, "uid", w->ref.uid);
    cJSON_AddBoolToObject(ref, "controller", 1);
    cJSON_AddBoolToObject(ref, "blockOwnerDeletion", 1);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(meta, "ownerReferences"), ref);
    cJSON *spec = cJSON_Duplicate(w->podspec, 1);
    if (!cJSON_IsObject(spec)) {
        cJSON_Delete(spec);
        spec = cJSON_CreateObject();
    }
    cJSON *status = cJSON_CreateObject();
    cJSON *conds = cJSON_AddArrayToObject(status, "conditions");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "type", "PodScheduled");
    if (node) {
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "nodeName");
        cJSON_AddStringToObject(spec, "nodeName", node);
        cJSON_AddStringToObject(status, "phase", "Running");
        cJSON_AddStringToObject(c, "status", "True");
        /* what a kubelet reports of a started pod: an IP, its containers ready (kubectl get pods
         * prints READY 1/1 and the IP; typed clients read the statuses) */
        unsigned long h = 5381;
        for (const char *p = name; *p; p++)
            h = h * 33 + (unsigned char)*p;
        char ip[32];
        snprintf(ip, sizeof ip, "10.244.%lu.%lu", (h >> 8) % 250 + 1, h % 250 + 2);
        cJSON_AddStringToObject(status, "podIP", ip);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(status, "podIPs"), cJSON_CreateObject());
        cJSON_AddStringToObject(cJSON_GetArrayItem(get(status, "podIPs"), 0), "ip", ip);
        static const char *const ready_types[] = {"Initialized", "Ready", "ContainersReady"};
        for (int k = 0; k < 3; k++) {
            cJSON *rc = cJSON_CreateObject();
            cJSON_AddStringToObject(rc, "type", ready_types[k]);
            cJSON_AddStringToObject(rc, "status", "True");
            cJSON_AddItemToArray(conds, rc);
        }
        cJSON *statuses = cJSON_AddArrayToObject(status, "containerStatuses");
        const cJSON *ctr;
        cJSON_ArrayForEach(ctr, get(spec, "containers"))
        {
            cJSON *cs = cJSON_CreateObject();
            const cJSON *cn = get(ctr, "name"), *ci = get(ctr, "image");
            cJSON_AddStringToObject(cs, "name", cJSON_IsString(cn) ? cn->valuestring : "");
            cJSON_AddStringToObject(cs, "image", cJSON_IsString(ci) ? ci->valuestring : "");
            cJSON_AddStringToObject(cs, "imageID", "");
            cJSON_AddBoolToObject(cs, "ready", 1);
            cJSON_AddBoolToObject(cs, "started", 1);
            cJSON_AddNumberToObject(cs, "restartCount", 0);
            cJSON_AddObjectToObject(cJSON_AddObjectToObject(cs, "state"), "running");
            cJSON_AddItemToArray(statuses, cs);
        }
    } else {
        cJSON_AddStringToObject(status, "phase", "Pending");
        cJSON_AddStringToObject(c, "status", "False");
        cJSON_AddStringToObject(c, "reason", "Unschedulable");
        cJSON_AddStringToObject(c, "message", "0 nodes are available: no node satisfies the pod's scheduling "
                                              "constraints (cordons, taints, nodeSelector, anti-affinity, CPU)");
    }
    cJSON_AddItemToArray(conds, c);
    cJSON_AddItemToObject(pod, "spec", spec);
    cJSON_AddItemToObject(pod, "status", status);
    return pod;
}

/* Bring the pods of one workload to its replica count. */
int serve_reconcile_pods(struct serve_ctx *ctx, const struct kresource_def *def, const char *ns, const char *name)
{
    if (!def->has_scale || !ctx->pods_enabled)
        return 0;
    struct kresource *wres = kstore_find(ctx->store, def->group, def->resource);
    struct kresource *pres = kstore_find(ctx->store, "", "pods");
    struct kresource *nres = kstore_find(ctx->store, "", "nodes");
    struct workload w = {.def = def};
    snprintf(w.owner, sizeof w.owner, "%s.%s", def->singular, name);
    struct kobj *wo = NULL;
    cJSON *wj = NULL;
    long replicas = 0;
    if (kstore_get(ctx->store, wres, ns, name, &wo) == KS_OK) {
        wj = cJSON_Parse(wo->text);
        kobj_unref(wo);
        const cJSON *r = get(get(wj, "spec"), "replicas");
        replicas = cJSON_IsNumber(r) ? (long)r->valuedouble : 1;
        const cJSON *tmpl = get(get(wj, "spec"), "template");
        w.template_meta = get(tmpl, "metadata");
        w.podspec = get(tmpl, "spec");
        const cJSON *uid = get(get(wj, "metadata"), "uid");
        snprintf(w.ref.api_version, sizeof w.ref.api_version, "%s%s%s", def->group, def->group[0] ? "/" : "", def->version);
        snprintf(w.ref.kind, sizeof w.ref.kind, "%s", def->kind);
        snprintf(w.ref.uid, sizeof w.ref.uid, "%s", cJSON_IsString(uid) ? uid->valuestring : "");
    }
    snprintf(w.ref.name, sizeof w.ref.name, "%s", name);
    if (strcmp(def->resource, "deployments") == 0) /* its pods are its ReplicaSet's */
        serve_rs_sync(ctx, ns, name, wj, replicas, &w.ref);
    /* the workload's pods, oldest first by name order of creation suffix */
    struct ksnapshot pods;
    if (kstore_snapshot(ctx->store, pres, ns, &pods) != 0) {
        cJSON_Delete(wj);
        return -1;
    }
    size_t mine = 0;
    char err[256];
    long max_index = -1;
    const struct kobj **own = calloc(pods.n ? pods.n : 1, sizeof *own);
    for (size_t i = 0; own && i < pods.n; i++) {
        cJSON *p = cJSON_Parse(pods.items[i]->text);
        const char *o = owner_label(p);
        if (o && strcmp(o, w.owner) == 0) {
            own[mine++] = pods.items[i];
            const char *dash = strrchr(pods.items[i]->name, '-');
            long idx = dash ? strtol(dash + 1, NULL, 10) : 0;
            if (idx > max_index)
                max_index = idx;
        }
        cJSON_Delete(p);
    }
    /* scale down: delete the highest-numbered pods */
    while (own && (long)mine > replicas) {
        size_t hi = 0;
        long hi_idx = -1;
        for (size_t k = 0; k < mine; k++) {
            const char *dash = strrchr(own[k]->name, '-');
            long idx = dash ? strtol(dash + 1, NULL, 10) : 0;
            if (idx > hi_idx) {
                hi_idx = idx;
                hi = k;
            }
        }
        kstore_delete(ctx->store, pres, ns, own[hi]->name, NULL);
        own[hi] = own[--mine];
    }
    free(own);
    if ((long)mine < replicas && w.podspec) {
        struct ksnapshot nodes;
        struct ksnapshot allpods;
        if (kstore_snapshot(ctx->store, nres, NULL, &nodes) == 0 && kstore_snapshot(ctx->store, pres, NULL, &allpods) == 0) {
            struct node_view *views = calloc(nodes.n ? nodes.n : 1, sizeof *views);
            for (size_t i = 0; views && i < nodes.n; i++) {
                views[i].obj = cJSON_Parse(nodes.items[i]->text);
                views[i].name = nodes.items[i]->name;
                const cJSON *spec = get(views[i].obj, "spec"), *status = get(views[i].obj, "status");
                bool ready = false;
                const cJSON *c;
                cJSON_ArrayForEach(c, get(status, "conditions"))
                {
                    const cJSON *t = get(c, "type"), *s = get(c, "status");
                    if (cJSON_IsString(t) && strcmp(t->valuestring, "Ready") == 0)
                        ready = cJSON_IsString(s) && strcmp(s->valuestring, "True") == 0;
                }
                views[i].schedulable = ready && !cJSON_IsTrue(get(spec, "unschedulable"));
                const cJSON *cpu = get(get(status, "allocatable"), "cpu");
                if (cJSON_IsString(cpu))
                    quantity_parse_milli(cpu->valuestring, strlen(cpu->valuestring), &views[i].alloc_milli, err, sizeof err);
            }
            if (views) {
                count_matches(views, nodes.n, &allpods, &w);
                const cJSON *required, *preferred;
                scheduling_terms(w.podspec, &required, &preferred);
                const cJSON *labels = get(w.template_meta, "labels");
                for (long k = (long)mine; k < replicas; k++) {
                    int at = place(views, nodes.n, &w, labels, ctx->most_requested);
                    /* this new pod counts for the anti-affinity of the next ones */
                    if (at >= 0) {
                        const cJSON *term;
                        cJSON_ArrayForEach(term, required) if (selector_object_matches(get(term, "labelSelector"), labels))
                            views[at].anti_required++;
                        cJSON_ArrayForEach(term, preferred)
                        {
                            const cJSON *wt = get(term, "weight");
                            if (selector_object_matches(get(get(term, "podAffinityTerm"), "labelSelector"), labels))
                                views[at].anti_preferred += cJSON_IsNumber(wt) ? (int)wt->valuedouble : 1;
                        }
                    }
                    char pname[360];
                    snprintf(pname, sizeof pname, "%s-%ld", w.ref.name, ++max_index);
                    cJSON *pod = new_pod(&w, ns, pname, at >= 0 ? views[at].name : NULL);
                    kstore_create(ctx->store, pres, ns, pod, NULL, err, sizeof err);
                }
                for (size_t i = 0; i < nodes.n; i++)
                    cJSON_Delete(views[i].obj);
                free(views);
            }
            ksnapshot_release(&allpods);
        }
        ksnapshot_release(&nodes);
    }
    ksnapshot_release(&pods);
    cJSON_Delete(wj);
    return 0;
}

/* A node went away: delete its pods and let their workloads replace them. */
int serve_evict_node(struct serve_ctx *ctx, const char *node)
{
    if (!ctx->pods_enabled)
        return 0;
    struct kresource *pres = kstore_find(ctx->store, "", "pods");
    struct ksnapshot pods;
    if (kstore_snapshot(ctx->store, pres, NULL, &pods) != 0)
        return -1;
    for (size_t i = 0; i < pods.n; i++) {
        cJSON *p = cJSON_Parse(pods.items[i]->text);
        const char *on = pod_node(p), *owner = owner_label(p);
        if (on && strcmp(on, node) == 0) {
            kstore_delete(ctx->store, pres, pods.items[i]->ns, pods.items[i]->name, NULL);
            const char *dot = owner ? strchr(owner, '.') : NULL;
            for (size_t k = 0; dot && k < kstore_resource_count(); k++) {
                const struct kresource_def *d = kstore_resource_def(k);
                if (d->has_scale && strlen(d->singular) == (size_t)(dot - owner) &&
                    strncmp(d->singular, owner, (size_t)(dot - owner)) == 0)
                    serve_reconcile_pods(ctx, d, pods.items[i]->ns, dot + 1);
            }
        }
        cJSON_Delete(p);
    }
    ksnapshot_release(&pods);
    return 0;
}

/* Nodes changed: try again to place Pending pods, as the scheduler would (their workloads
 * recreate them, placed). */
void serve_retry_pending(struct serve_ctx *ctx)
{
    if (!ctx->pods_enabled)
        return;
    struct kresource *pres = kstore_find(ctx->store, "", "pods");
    struct ksnapshot pods;
    if (kstore_snapshot(ctx->store, pres, NULL, &pods) != 0)
        return;
    char owners[64][320];
    char owner_ns[64][254];
    int n_owners = 0;
    for (size_t i = 0; i < pods.n; i++) {
        if (!strstr(pods.items[i]->text, "\"phase\":\"Pending\""))
            continue;
        cJSON *p = cJSON_Parse(pods.items[i]->text);
        const char *owner = owner_label(p);
        if (owner && n_owners < 64) {
            kstore_delete(ctx->store, pres, pods.items[i]->ns, pods.items[i]->name, NULL);
            bool seen = false;
            for (int k = 0; k < n_owners; k++)
                seen = seen || (strcmp(owners[k], owner) == 0 && strcmp(owner_ns[k], pods.items[i]->ns) == 0);
            if (!seen) {
                snprintf(owners[n_owners], sizeof owners[0], "%s", owner);
                snprintf(owner_ns[n_owners], sizeof owner_ns[0], "%s", pods.items[i]->ns);
                n_owners++;
            }
        }
        cJSON_Delete(p);
    }
    ksnapshot_release(&pods);
    for (int k = 0; k < n_owners; k++) {
        const char *dot = strchr(owners[k], '.');
        for (size_t d = 0; dot && d < kstore_resource_count(); d++) {
            const struct kresource_def *def = kstore_resource_def(d);
            if (def->has_scale && strlen(def->singular) == (size_t)(dot - owners[k]) &&
                strncmp(def->singular, owners[k], (size_t)(dot - owners[k])) == 0)
                serve_reconcile_pods(ctx, def, owner_ns[k], dot + 1);
        }
    }
}
