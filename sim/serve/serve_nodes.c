/* propsim serve: what the node lifecycle controller does to a Node after a change — the taints
 * that keep new pods off it while it cannot take them: node.kubernetes.io/not-ready:NoSchedule
 * when its Ready condition is False or missing (a kubelet registers its Node with it until it
 * reports Ready), node.kubernetes.io/unreachable:NoSchedule when it is Unknown,
 * node.kubernetes.io/unschedulable:NoSchedule while it is cordoned; removed when the reason goes. Written as a separate update, as the controller does (watchers see a MODIFIED
 * event after the change that caused it). Other taints are kept as they are. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "serve.h"

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

#define TAINT_NOT_READY "node.kubernetes.io/not-ready"
#define TAINT_UNREACHABLE "node.kubernetes.io/unreachable"
#define TAINT_UNSCHEDULABLE "node.kubernetes.io/unschedulable"

static bool is_lifecycle_key(const char *k)
{
    return strcmp(k, TAINT_NOT_READY) == 0 || strcmp(k, TAINT_UNREACHABLE) == 0 || strcmp(k, TAINT_UNSCHEDULABLE) == 0;
}

static bool has_taint(const cJSON *taints, const char *key)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, taints)
    {
        const cJSON *k = get(t, "key"), *e = get(t, "effect");
        if (cJSON_IsString(k) && strcmp(k->valuestring, key) == 0 && cJSON_IsString(e) &&
            strcmp(e->valuestring, "NoSchedule") == 0)
            return true;
    }
    return false;
}

/* The lifecycle taints this node should carry: 0, or a combination of the three. */
static void wanted(const cJSON *node, bool *not_ready, bool *unreachable, bool *unschedulable)
{
    const char *ready = NULL;
    const cJSON *c;
    cJSON_ArrayForEach(c, get(get(node, "status"), "conditions"))
    {
        const cJSON *type = get(c, "type"), *st = get(c, "status");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "Ready") == 0 && cJSON_IsString(st))
            ready = st->valuestring;
    }
    *not_ready = !ready || strcmp(ready, "False") == 0;
    *unreachable = ready && strcmp(ready, "Unknown") == 0;
    *unschedulable = cJSON_IsTrue(get(get(node, "spec"), "unschedulable"));
}

static void add_taint(cJSON *taints, const char *key)
{
    cJSON *t = cJSON_CreateObject();
    cJSON_AddStringToObject(t, "key", key);
    cJSON_AddStringToObject(t, "effect", "NoSchedule");
    cJSON_AddItemToArray(taints, t);
}

/* Do this node's lifecycle taints differ from what its state asks for? */
static bool taints_stale(const cJSON *node)
{
    bool not_ready, unreachable, unschedulable;
    wanted(node, &not_ready, &unreachable, &unschedulable);
    const cJSON *taints = get(get(node, "spec"), "taints");
    return has_taint(taints, TAINT_NOT_READY) != not_ready || has_taint(taints, TAINT_UNREACHABLE) != unreachable ||
           has_taint(taints, TAINT_UNSCHEDULABLE) != unschedulable;
}

int serve_node_lifecycle_for(struct serve_ctx *ctx, const void *node_json)
{
    const cJSON *node = node_json;
    const cJSON *name = get(get(node, "metadata"), "name");
    if (!cJSON_IsString(name) || !taints_stale(node))
        return 0; /* the usual trace event (Ready, not cordoned): no store read */
    return serve_node_lifecycle(ctx, name->valuestring);
}

int serve_node_lifecycle(struct serve_ctx *ctx, const char *name)
{
    struct kresource *res = kstore_find(ctx->store, "", "nodes");
    for (int attempt = 0; attempt < 3; attempt++) {
        struct kobj *cur = NULL;
        if (kstore_get(ctx->store, res, "", name, &cur) != KS_OK)
            return 0; /* deleted meanwhile */
        cJSON *node = cJSON_Parse(cur->text);
        char rv[32];
        snprintf(rv, sizeof rv, "%llu", (unsigned long long)cur->rv);
        kobj_unref(cur);
        if (!node)
            return -1;
        if (!taints_stale(node)) {
            cJSON_Delete(node);
            return 0; /* as it should be */
        }
        bool not_ready, unreachable, unschedulable;
        wanted(node, &not_ready, &unreachable, &unschedulable);
        cJSON *spec = cJSON_GetObjectItemCaseSensitive(node, "spec");
        const cJSON *taints = get(spec, "taints");
        cJSON *next = cJSON_CreateArray();
        const cJSON *t;
        cJSON_ArrayForEach(t, taints)
        {
            const cJSON *k = get(t, "key");
            if (!(cJSON_IsString(k) && is_lifecycle_key(k->valuestring)))
                cJSON_AddItemToArray(next, cJSON_Duplicate(t, 1));
        }
        if (not_ready)
            add_taint(next, TAINT_NOT_READY);
        if (unreachable)
            add_taint(next, TAINT_UNREACHABLE);
        if (unschedulable)
            add_taint(next, TAINT_UNSCHEDULABLE);
        if (!cJSON_IsObject(spec))
            spec = cJSON_AddObjectToObject(node, "spec");
        cJSON_DeleteItemFromObjectCaseSensitive(spec, "taints");
        if (cJSON_GetArraySize(next) > 0)
            cJSON_AddItemToObject(spec, "taints", next);
        else
            cJSON_Delete(next);
        cJSON *meta = cJSON_GetObjectItemCaseSensitive(node, "metadata");
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "resourceVersion");
        cJSON_AddStringToObject(meta, "resourceVersion", rv); /* a concurrent write makes this one retry */
        char err[256];
        enum kstore_status st = kstore_update(ctx->store, res, "", name, node, false, NULL, err, sizeof err);
        if (st == KS_OK)
            return 0;
        if (st != KS_CONFLICT)
            return -1;
    }
    return -1;
}
