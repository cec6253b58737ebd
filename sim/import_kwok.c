/*
 * `propsim import kwok`: KWOK recordings (`kwokctl snapshot record`) to a trace.
 *
 * A recording is a multi-document YAML stream: the objects present when recording started
 * (a snapshot), then one ResourcePatch document per change, in order, each stamped with
 * durationNanosecond since the recording started. Two ResourcePatch shapes exist in kwok's
 * history and both are read:
 *   kwok.x-k8s.io/internal:        target{type{resource}, name}, create/delete booleans, patch
 *   action.kwok.x-k8s.io/v1alpha1: resource{resource}, target{name}, method create|patch|delete,
 *                                  template
 * A patch is a two-way strategic merge patch against the object's previous state, so the
 * importer keeps every node's full object and applies each patch to it (see smp_apply: the
 * subset of strategic merge patch that Node objects use). Only nodes become trace events;
 * other resources are counted and skipped. Bad documents are named by number and skipped.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fileio.h"
#include "import.h"
#include "tracewrite.h"
#include "yamljson.h"

/* Lists of Node (and ObjectMeta) that strategic merge patch merges per element, with their
 * merge keys (k8s.io/api core/v1 and meta/v1 patchMergeKey tags). Every other list is
 * replaced whole, as SMP does for lists without a patch strategy (spec.taints among them). */
static const char *merge_key_for(const char *field)
{
    static const char *const table[][2] = {
        {"conditions", "type"}, {"addresses", "type"}, {"volumesAttached", "name"}, {"ownerReferences", "uid"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(field, table[i][0]) == 0)
            return table[i][1];
    return NULL;
}

static const char *str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *smp_apply(cJSON *target, const cJSON *patch);

static bool same_key(const cJSON *a, const cJSON *b, const char *key)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, key), *y = cJSON_GetObjectItemCaseSensitive(b, key);
    return x && y && cJSON_Compare(x, y, 1);
}

/* Merge the list `patch` into the list `target` by `key` (consumes target, returns the result). */
static cJSON *smp_merge_list(cJSON *target, const cJSON *patch, const char *key)
{
    if (!cJSON_IsArray(target)) {
        cJSON_Delete(target);
        target = cJSON_CreateArray();
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, patch)
    {
        const char *directive = str_of(e, "$patch");
        if (directive && strcmp(directive, "replace") == 0) {
            /* the whole list becomes the patch's other elements */
            cJSON *list = cJSON_CreateArray();
            const cJSON *x;
            cJSON_ArrayForEach(x, patch)
            {
                if (x != e)
                    cJSON_AddItemToArray(list, smp_apply(NULL, x));
            }
            cJSON_Delete(target);
            return list;
        }
        if (!cJSON_IsObject(e) || !cJSON_GetObjectItemCaseSensitive(e, key)) {
            /* not keyed: SMP would reject the patch; keep the element as given */
            cJSON_AddItemToArray(target, cJSON_Duplicate(e, 1));
            continue;
        }
        int idx = 0;
        cJSON *t, *match = NULL;
        cJSON_ArrayForEach(t, target)
        {
            if (same_key(t, e, key)) {
                match = t;
                break;
            }
            idx++;
        }
        if (directive && strcmp(directive, "delete") == 0) {
            if (match)
                cJSON_DeleteItemFromArray(target, idx);
            continue;
        }
        if (match)
            cJSON_ReplaceItemInArray(target, idx, smp_apply(cJSON_Duplicate(match, 1), e));
        else
            cJSON_AddItemToArray(target, smp_apply(NULL, e));
    }
    return target;
}

/* Strategic merge patch, the subset Node objects need: maps merge (null deletes a key,
 * $patch: replace/delete, $retainKeys), keyed lists merge per element, other lists are
 * replaced, $deleteFromPrimitiveList/<f> removes values, $setElementOrder/<f> only orders and
 * is ignored (order does not change a decision). Consumes target (may be NULL). */
static cJSON *smp_apply(cJSON *target, const cJSON *patch)
{
    if (!cJSON_IsObject(patch)) {
        cJSON_Delete(target);
        return cJSON_Duplicate(patch, 1);
    }
    const char *directive = str_of(patch, "$patch");
    if (directive && strcmp(directive, "delete") == 0) {
        cJSON_Delete(target);
        return NULL;
    }
    if (!cJSON_IsObject(target) || (directive && strcmp(directive, "replace") == 0)) {
        cJSON_Delete(target);
        target = cJSON_CreateObject();
    }
    const cJSON *retain = cJSON_GetObjectItemCaseSensitive(patch, "$retainKeys");
    if (cJSON_IsArray(retain)) {
        cJSON *k = target->child;
        while (k) {
            cJSON *next = k->next;
            bool keep = false;
            const cJSON *r;
            cJSON_ArrayForEach(r, retain) keep = keep || (cJSON_IsString(r) && strcmp(r->valuestring, k->string) == 0);
            if (!keep)
                cJSON_Delete(cJSON_DetachItemViaPointer(target, k));
            k = next;
        }
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, patch)
    {
        static const char del_prefix[] = "$deleteFromPrimitiveList/";
        if (strncmp(m->string, del_prefix, sizeof del_prefix - 1) == 0) {
            cJSON *list = cJSON_GetObjectItemCaseSensitive(target, m->string + sizeof del_prefix - 1);
            const cJSON *v;
            cJSON_ArrayForEach(v, m)
            {
                int idx = 0;
                cJSON *x;
                cJSON_ArrayForEach(x, list)
                {
                    if (cJSON_Compare(x, v, 1)) {
                        cJSON_DeleteItemFromArray(list, idx);
                        break;
                    }
                    idx++;
                }
            }
            continue;
        }
        if (m->string[0] == '$')
            continue;
        if (cJSON_IsNull(m)) {
            cJSON_DeleteItemFromObjectCaseSensitive(target, m->string);
            continue;
        }
        cJSON *cur = cJSON_DetachItemFromObjectCaseSensitive(target, m->string);
        const char *key = cJSON_IsArray(m) ? merge_key_for(m->string) : NULL;
        cJSON *merged = key ? smp_merge_list(cur, m, key) : smp_apply(cur, m);
        if (merged)
            cJSON_AddItemToObject(target, m->string, merged);
    }
    return target;
}

struct kwok_import {
    struct tracewriter *w;
    cJSON *nodes; /* name -> current full object */
    bool quiet;
    const char *in;
    double t;
    long events, bad, other;
};

static void bad_doc(struct kwok_import *k, int doc, const char *why)
{
    k->bad++;
    if (!k->quiet)
        fprintf(stderr, "propsim import: %s: document %d: %s, skipped\n", k->in, doc, why);
}

static int emit(struct kwok_import *k, const char *type, const cJSON *obj)
{
    char *o = cJSON_PrintUnformatted(obj);
    int rc = o ? tracewriter_raw(k->w, k->t, type, o) : -1;
    free(o);
    k->events += rc == 0;
    return rc;
}

/* One ResourcePatch document. Returns -1 on a write error (stop), else 0. */
static int kwok_patch(struct kwok_import *k, const cJSON *doc, int n)
{
    const cJSON *target = cJSON_GetObjectItemCaseSensitive(doc, "target");
    const cJSON *gvr = cJSON_GetObjectItemCaseSensitive(doc, "resource"); /* v1alpha1 */
    if (!gvr)
        gvr = cJSON_GetObjectItemCaseSensitive(target, "type"); /* internal */
    const char *resource = str_of(gvr, "resource"), *name = str_of(target, "name");
    const cJSON *dur = cJSON_GetObjectItemCaseSensitive(doc, "durationNanosecond");
    if (!resource || !name) {
        bad_doc(k, n, "a ResourcePatch needs target.name and resource.resource (or target.type.resource)");
        return 0;
    }
    if (strcmp(resource, "nodes") != 0) {
        k->other++;
        return 0;
    }
    if (dur && (!cJSON_IsNumber(dur) || !isfinite(dur->valuedouble) || dur->valuedouble < 0)) {
        bad_doc(k, n, "durationNanosecond must be a non-negative number of nanoseconds");
        return 0;
    }
    double t = dur ? dur->valuedouble / 1e9 : k->t;
    k->t = t > k->t ? t : k->t; /* never backwards */

    const char *method = str_of(doc, "method");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(doc, method ? "template" : "patch");
    if (!method) {
        method = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "delete"))   ? "delete"
                 : cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(doc, "create")) ? "create"
                                                                                  : "patch";
    }
    cJSON *cur = cJSON_GetObjectItemCaseSensitive(k->nodes, name);
    const char *whole = str_of(body, "$patch");
    if (strcmp(method, "delete") == 0 || (strcmp(method, "patch") == 0 && whole && strcmp(whole, "delete") == 0)) {
        if (!cur) {
            bad_doc(k, n, "delete of a node that does not exist");
            return 0;
        }
        int rc = emit(k, "DELETED", cur);
        cJSON_DeleteItemFromObjectCaseSensitive(k->nodes, name);
        return rc;
    }
    if (!cJSON_IsObject(body)) {
        bad_doc(k, n, "create or patch without an object (template/patch)");
        return 0;
    }
    if (strcmp(method, "create") == 0) {
        cJSON *obj = cJSON_Duplicate(body, 1);
        if (!cJSON_GetObjectItemCaseSensitive(obj, "kind"))
            cJSON_AddStringToObject(obj, "kind", "Node");
        cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
        if (!cJSON_IsObject(meta)) {
            cJSON_DeleteItemFromObjectCaseSensitive(obj, "metadata");
            meta = cJSON_AddObjectToObject(obj, "metadata");
        }
        if (!str_of(meta, "name"))
            cJSON_AddStringToObject(meta, "name", name);
        const char *type = cur ? "MODIFIED" : "ADDED";
        cJSON_DeleteItemFromObjectCaseSensitive(k->nodes, name);
        cJSON_AddItemToObject(k->nodes, name, obj);
        return emit(k, type, obj);
    }
    if (strcmp(method, "patch") != 0) {
        bad_doc(k, n, "method must be create, patch or delete");
        return 0;
    }
    if (!cur) {
        bad_doc(k, n, "patch of a node that was never created (is the recording's start missing?)");
        return 0;
    }
    cJSON *obj = smp_apply(cJSON_DetachItemViaPointer(k->nodes, cur), body);
    if (!cJSON_GetObjectItemCaseSensitive(obj, "kind")) /* a $retainKeys may drop it; it is still a Node */
        cJSON_AddStringToObject(obj, "kind", "Node");
    cJSON_AddItemToObject(k->nodes, name, obj);
    return emit(k, "MODIFIED", obj);
}

int import_kwok(const char *in, const char *out, bool quiet)
{
    char *data = NULL, err[512];
    size_t len;
    if (fileio_read_all(in, 1u << 30, &data, &len, err, sizeof err) != 0) {
        if (!quiet)
            fprintf(stderr, "propsim import: %s\n", err);
        return 1;
    }
    cJSON *docs = yamljson_parse(data, len, err, sizeof err);
    free(data);
    if (!docs) {
        if (!quiet)
            fprintf(stderr, "propsim import: %s: %s\n", in, err);
        return 1;
    }
    struct kwok_import k = {.nodes = cJSON_CreateObject(), .quiet = quiet, .in = in};
    k.w = tracewriter_open(out, err, sizeof err);
    if (!k.w) {
        if (!quiet)
            fprintf(stderr, "propsim import: %s\n", err);
        cJSON_Delete(docs);
        cJSON_Delete(k.nodes);
        return 1;
    }
    int n = 0, rc = 0;
    const cJSON *doc;
    cJSON_ArrayForEach(doc, docs)
    {
        n++;
        if (cJSON_IsNull(doc))
            continue; /* an empty document (a trailing "---") */
        const char *kind = str_of(doc, "kind");
        if (!cJSON_IsObject(doc) || !kind) {
            bad_doc(&k, n, "not a Kubernetes object (no kind)");
            continue;
        }
        if (strcmp(kind, "ResourcePatch") == 0) {
            if (kwok_patch(&k, doc, n) != 0) {
                rc = 1;
                break;
            }
        } else if (strcmp(kind, "Node") == 0) {
            /* the snapshot part: nodes present when recording started */
            const char *name = str_of(cJSON_GetObjectItemCaseSensitive(doc, "metadata"), "name");
            if (!name) {
                bad_doc(&k, n, "a Node without metadata.name");
                continue;
            }
            const char *type = cJSON_GetObjectItemCaseSensitive(k.nodes, name) ? "MODIFIED" : "ADDED";
            cJSON_DeleteItemFromObjectCaseSensitive(k.nodes, name);
            cJSON *obj = cJSON_Duplicate(doc, 1);
            cJSON_AddItemToObject(k.nodes, name, obj);
            if (emit(&k, type, obj) != 0) {
                rc = 1;
                break;
            }
        } else {
            k.other++;
        }
    }
    if (tracewriter_close(k.w, err, sizeof err) != 0) {
        if (!quiet)
            fprintf(stderr, "propsim import: %s\n", err);
        rc = 1;
    }
    if (!quiet)
        printf("imported %ld node events from %s (%d documents; %ld about other resources; %ld bad skipped); "
               "last t %.3f s -> %s\n",
               k.events, in, n, k.other, k.bad, k.t, out);
    cJSON_Delete(docs);
    cJSON_Delete(k.nodes);
    return rc;
}
