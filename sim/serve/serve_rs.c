/* serve_rs — see serve_rs.h. */
#include "serve_rs.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kstore.h"

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }
static cJSON *get_mut(cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

/* kube-controller-manager's pod-template-hash: FNV-1a (32) of the template, its decimal digits
 * mapped through rand.SafeEncodeString's alphabet */
static void template_hash(const cJSON *tmpl, char *out, size_t len)
{
    char *text = cJSON_PrintUnformatted(tmpl);
    uint32_t h = 2166136261u;
    for (const char *p = text ? text : ""; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 16777619u;
    }
    free(text);
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    char digits[16];
    snprintf(digits, sizeof digits, "%u", h);
    size_t i = 0;
    for (; digits[i] && i + 1 < len; i++)
        out[i] = alphabet[(unsigned char)digits[i] % (sizeof alphabet - 1)];
    out[i] = '\0';
}

static const char *owner_of(const cJSON *obj, const char *kind)
{
    const cJSON *ref;
    cJSON_ArrayForEach(ref, get(get(obj, "metadata"), "ownerReferences"))
    {
        const cJSON *k = get(ref, "kind"), *n = get(ref, "name");
        if (cJSON_IsString(k) && strcmp(k->valuestring, kind) == 0 && cJSON_IsString(n))
            return n->valuestring;
    }
    return NULL;
}

/* Delete ns's ReplicaSets owned by Deployment `name`, except `keep`, and their pods. */
static void delete_others(struct serve_ctx *ctx, const char *ns, const char *name, const char *keep)
{
    struct kresource *rs = kstore_find(ctx->store, "apps", "replicasets");
    struct kresource *pods = kstore_find(ctx->store, "", "pods");
    struct ksnapshot snap;
    if (!rs || kstore_snapshot(ctx->store, rs, ns, &snap) != 0)
        return;
    for (size_t i = 0; i < snap.n; i++) {
        cJSON *o = cJSON_Parse(snap.items[i]->text);
        const char *owner = owner_of(o, "Deployment");
        if (owner && strcmp(owner, name) == 0 && (!keep || strcmp(snap.items[i]->name, keep) != 0)) {
            struct ksnapshot ps;
            if (pods && kstore_snapshot(ctx->store, pods, ns, &ps) == 0) {
                for (size_t k = 0; k < ps.n; k++) {
                    cJSON *p = cJSON_Parse(ps.items[k]->text);
                    const char *po = owner_of(p, "ReplicaSet");
                    if (po && strcmp(po, snap.items[i]->name) == 0)
                        kstore_delete(ctx->store, pods, ns, ps.items[k]->name, NULL);
                    cJSON_Delete(p);
                }
                ksnapshot_release(&ps);
            }
            kstore_delete(ctx->store, rs, ns, snap.items[i]->name, NULL);
        }
        cJSON_Delete(o);
    }
    ksnapshot_release(&snap);
}

int serve_rs_sync(struct serve_ctx *ctx, const char *ns, const char *name, const cJSON *deployment, long replicas,
                  struct pod_owner *owner)
{
    if (!deployment) {
        delete_others(ctx, ns, name, NULL);
        return 0;
    }
    const cJSON *dmeta = get(deployment, "metadata"), *dspec = get(deployment, "spec");
    const cJSON *tmpl = get(dspec, "template"), *duid = get(dmeta, "uid");
    char hash[16];
    template_hash(tmpl, hash, sizeof hash);
    char rsname[300];
    snprintf(rsname, sizeof rsname, "%.240s-%s", name, hash);
    delete_others(ctx, ns, name, rsname); /* a new template: the old ReplicaSet goes (no rollout) */
    struct kresource *rs = kstore_find(ctx->store, "apps", "replicasets");
    if (!rs)
        return -1;
    /* the ReplicaSet as the deployment controller writes it */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "apiVersion", "apps/v1");
    cJSON_AddStringToObject(o, "kind", "ReplicaSet");
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "name", rsname);
    cJSON_AddStringToObject(md, "namespace", ns);
    cJSON *labels = cJSON_Duplicate(get(get(tmpl, "metadata"), "labels"), 1);
    if (!cJSON_IsObject(labels)) {
        cJSON_Delete(labels);
        labels = cJSON_CreateObject();
    }
    cJSON_AddStringToObject(labels, "pod-template-hash", hash);
    cJSON_AddItemToObject(md, "labels", labels);
    cJSON *ref = cJSON_CreateObject();
    cJSON_AddStringToObject(ref, "apiVersion", "apps/v1");
    cJSON_AddStringToObject(ref, "kind", "Deployment");
    cJSON_AddStringToObject(ref, "name", name);
    cJSON_AddStringToObject(ref, "uid", cJSON_IsString(duid) ? duid->valuestring : "");
    cJSON_AddBoolToObject(ref, "controller", 1);
    cJSON_AddBoolToObject(ref, "blockOwnerDeletion", 1);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(md, "ownerReferences"), ref);
    char rep[32];
    snprintf(rep, sizeof rep, "%ld", replicas);
    cJSON *ann = cJSON_AddObjectToObject(md, "annotations");
    cJSON_AddStringToObject(ann, "deployment.kubernetes.io/desired-replicas", rep);
    cJSON_AddStringToObject(ann, "deployment.kubernetes.io/revision", "1");
    cJSON *spec = cJSON_AddObjectToObject(o, "spec");
    cJSON_AddNumberToObject(spec, "replicas", (double)replicas);
    cJSON *sel = cJSON_Duplicate(get(dspec, "selector"), 1);
    if (!cJSON_IsObject(sel)) {
        cJSON_Delete(sel);
        sel = cJSON_CreateObject();
    }
    cJSON *ml = get_mut(sel, "matchLabels");
    if (!cJSON_IsObject(ml))
        ml = cJSON_AddObjectToObject(sel, "matchLabels");
    cJSON_AddStringToObject(ml, "pod-template-hash", hash);
    cJSON_AddItemToObject(spec, "selector", sel);
    cJSON *t = cJSON_Duplicate(tmpl, 1);
    if (!cJSON_IsObject(t)) {
        cJSON_Delete(t);
        t = cJSON_CreateObject();
    }
    cJSON *tmd = get_mut(t, "metadata");
    if (!cJSON_IsObject(tmd))
        tmd = cJSON_AddObjectToObject(t, "metadata");
    cJSON *tl = get_mut(tmd, "labels");
    if (!cJSON_IsObject(tl))
        tl = cJSON_AddObjectToObject(tmd, "labels");
    cJSON_DeleteItemFromObjectCaseSensitive(tl, "pod-template-hash");
    cJSON_AddStringToObject(tl, "pod-template-hash", hash);
    cJSON_AddItemToObject(spec, "template", t);
    cJSON *st = cJSON_AddObjectToObject(o, "status");
    cJSON_AddNumberToObject(st, "replicas", (double)replicas);
    cJSON_AddNumberToObject(st, "fullyLabeledReplicas", (double)replicas);
    cJSON_AddNumberToObject(st, "readyReplicas", (double)replicas);
    cJSON_AddNumberToObject(st, "availableReplicas", (double)replicas);
    cJSON_AddNumberToObject(st, "observedGeneration", 1);
    /* written only when it changed: a write is a watch event */
    struct kobj *cur = NULL;
    bool same = false;
    if (kstore_get(ctx->store, rs, ns, rsname, &cur) == KS_OK) {
        cJSON *c = cJSON_Parse(cur->text);
        same = cJSON_Compare(get(c, "spec"), spec, 1) && cJSON_Compare(get(c, "status"), st, 1);
        const cJSON *uid = get(get(c, "metadata"), "uid");
        snprintf(owner->uid, sizeof owner->uid, "%s", cJSON_IsString(uid) ? uid->valuestring : "");
        cJSON_Delete(c);
        kobj_unref(cur);
    }
    char err[256];
    int rc = 0;
    if (same) {
        cJSON_Delete(o);
    } else {
        struct kobj *out = NULL;
        if (kstore_update(ctx->store, rs, ns, rsname, o, true, &out, err, sizeof err) != KS_OK) {
            rc = -1;
        } else {
            cJSON *c = cJSON_Parse(out->text);
            const cJSON *uid = get(get(c, "metadata"), "uid");
            snprintf(owner->uid, sizeof owner->uid, "%s", cJSON_IsString(uid) ? uid->valuestring : "");
            cJSON_Delete(c);
            kobj_unref(out);
        }
    }
    snprintf(owner->api_version, sizeof owner->api_version, "apps/v1");
    snprintf(owner->kind, sizeof owner->kind, "ReplicaSet");
    snprintf(owner->name, sizeof owner->name, "%s", rsname);
    snprintf(owner->hash, sizeof owner->hash, "%s", hash);
    return rc;
}
