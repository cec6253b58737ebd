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
 * other resources are counted and skipped. Bad documents are named by number and line, and skipped.
 *
 * Memory: the recording is streamed (yamljson's file reader: one document's tree at a time, the
 * file is never held whole), plus each live node's current object as compact JSON text, indexed
 * by name in a balanced tree (tsearch) so a patch costs O(log n).
 */
#define _GNU_SOURCE /* tdestroy */
#include <errno.h>
#include <math.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "badlines.h"
#include "import.h"
#include "progress.h"
#include "tracewrite.h"
#include "yamljson.h"

/* The recording is streamed, so this bounds time, not memory (that is bounded per document). */
#define KWOK_MAX_BYTES ((size_t)64 << 30)

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

/* The current object of each live node, by name (stored after the entry), kept as the compact
 * JSON text that was last written to the trace: a third of the memory of a cJSON tree, and a
 * patch parses it back (cJSON prints numbers so that they read back to the same text). */
struct node_entry {
    const char *name;
    char *json;
    char storage[];
};

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct node_entry *)a)->name, ((const struct node_entry *)b)->name);
}

static void entry_free(void *p)
{
    struct node_entry *e = p;
    free(e->json);
    free(e);
}

struct kwok_import {
    struct tracewriter *w;
    void *nodes; /* tsearch tree of struct node_entry */
    bool quiet;
    const char *in;
    double t;
    long events, other;
    struct badlines bad;
    size_t line; /* of the document being read */
};

static struct node_entry *node_find(struct kwok_import *k, const char *name)
{
    struct node_entry key = {.name = name};
    struct node_entry **found = tfind(&key, &k->nodes, entry_cmp);
    return found ? *found : NULL;
}

static const char *node_get(struct kwok_import *k, const char *name)
{
    struct node_entry *e = node_find(k, name);
    return e ? e->json : NULL;
}

/* Write obj as a `type` event at the current time and keep it as the node's state (added or
 * replaced). Returns -1 on a write error or when out of memory. */
static int node_record(struct kwok_import *k, const char *name, const char *type, const cJSON *obj)
{
    char *text = cJSON_PrintUnformatted(obj);
    if (!text || tracewriter_raw(k->w, k->t, type, text) != 0) {
        free(text);
        return -1;
    }
    k->events++;
    struct node_entry *e = node_find(k, name);
    if (e) {
        free(e->json);
        e->json = text;
        return 0;
    }
    size_t len = strlen(name);
    e = malloc(sizeof *e + len + 1);
    if (!e) {
        free(text);
        return -1;
    }
    memcpy(e->storage, name, len + 1);
    e->name = e->storage;
    e->json = text;
    if (!tsearch(e, &k->nodes, entry_cmp)) {
        entry_free(e);
        return -1;
    }
    return 0;
}

/* Write the node's last state as a DELETED event and forget it. */
static int node_delete(struct kwok_import *k, const char *name)
{
    struct node_entry *e = node_find(k, name);
    int rc = tracewriter_raw(k->w, k->t, "DELETED", e->json);
    k->events += rc == 0;
    tdelete(e, &k->nodes, entry_cmp);
    entry_free(e);
    return rc;
}

static void bad_doc(struct kwok_import *k, int doc, const char *why)
{
    badlines_add(&k->bad, 0, NULL, 0, "document %d (line %zu): %s, skipped", doc, k->line, why);
}

/* One ResourcePatch document. Returns -1 on a write error or out of memory (stop), else 0. */
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
    const char *cur = node_get(k, name);
    const char *whole = str_of(body, "$patch");
    if (strcmp(method, "delete") == 0 || (strcmp(method, "patch") == 0 && whole && strcmp(whole, "delete") == 0)) {
        if (!cur) {
            bad_doc(k, n, "delete of a node that does not exist");
            return 0;
        }
        return node_delete(k, name);
    }
    if (!cJSON_IsObject(body)) {
        bad_doc(k, n, "create or patch without an object (template/patch)");
        return 0;
    }
    if (strcmp(method, "create") == 0) {
        cJSON *obj = cJSON_Duplicate(body, 1);
        if (!obj)
            return -1;
        if (!cJSON_GetObjectItemCaseSensitive(obj, "kind"))
            cJSON_AddStringToObject(obj, "kind", "Node");
        cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
        if (!cJSON_IsObject(meta)) {
            cJSON_DeleteItemFromObjectCaseSensitive(obj, "metadata");
            meta = cJSON_AddObjectToObject(obj, "metadata");
        }
        if (!str_of(meta, "name"))
            cJSON_AddStringToObject(meta, "name", name);
        int rc = node_record(k, name, cur ? "MODIFIED" : "ADDED", obj);
        cJSON_Delete(obj);
        return rc;
    }
    if (strcmp(method, "patch") != 0) {
        bad_doc(k, n, "method must be create, patch or delete");
        return 0;
    }
    if (!cur) {
        bad_doc(k, n, "patch of a node that was never created (is the recording's start missing?)");
        return 0;
    }
    /* smp_apply changes the object in place (it returns it, or its replacement; NULL only when
     * out of memory: a whole-object $patch: delete was handled above) */
    cJSON *prev = cJSON_Parse(cur); /* our own output: fails only when out of memory */
    cJSON *obj = prev ? smp_apply(prev, body) : NULL;
    if (!obj)
        return -1;
    if (!cJSON_GetObjectItemCaseSensitive(obj, "kind")) /* a $retainKeys may drop it; it is still a Node */
        cJSON_AddStringToObject(obj, "kind", "Node");
    int rc = node_record(k, name, "MODIFIED", obj);
    cJSON_Delete(obj);
    return rc;
}

int import_kwok(const char *in, const char *out, bool quiet)
{
    char err[512];
    /* streamed: memory follows the live nodes and the largest document, not the recording */
    FILE *f = strcmp(in, "-") == 0 ? stdin : fopen(in, "rb");
    if (!f) {
        if (!quiet)
            fprintf(stderr, "propsim import: cannot open %s: %s\n", in, strerror(errno));
        return BADLINES_EXIT_UNUSABLE;
    }
    struct kwok_import k = {.quiet = quiet, .in = in};
    badlines_init(&k.bad, "propsim import", in, quiet);
    struct yamljson_reader *yr = yamljson_reader_open(f, KWOK_MAX_BYTES, err, sizeof err);
    k.w = yr ? tracewriter_open(out, err, sizeof err) : NULL;
    if (!k.w) {
        if (!quiet)
            fprintf(stderr, "propsim import: %s: %s\n", in, err);
        yamljson_reader_free(yr);
        if (f != stdin)
            fclose(f);
        return 1;
    }
    int n = 0, rc = 0, got;
    cJSON *doc;
    struct progress prog;
    progress_init(&prog, "propsim import", "documents");
    uint64_t size = progress_file_size(in);
    while ((got = yamljson_reader_next(yr, &doc, &k.line, err, sizeof err)) == 1) {
        n++;
        if (prog.on) {
            long at = ftell(f);
            progress_tick(&prog, (uint64_t)n, at > 0 ? (uint64_t)at : 0, size);
        }
        const char *kind = str_of(doc, "kind");
        if (cJSON_IsNull(doc)) {
            /* an empty document (a trailing "---") */
        } else if (!cJSON_IsObject(doc) || !kind) {
            bad_doc(&k, n, "not a Kubernetes object (no kind)");
        } else if (strcmp(kind, "ResourcePatch") == 0) {
            rc = kwok_patch(&k, doc, n) != 0;
        } else if (strcmp(kind, "Node") == 0) {
            /* the snapshot part: nodes present when recording started */
            const char *name = str_of(cJSON_GetObjectItemCaseSensitive(doc, "metadata"), "name");
            if (!name) {
                bad_doc(&k, n, "a Node without metadata.name");
            } else {
                rc = node_record(&k, name, node_get(&k, name) ? "MODIFIED" : "ADDED", doc) != 0;
            }
        } else {
            k.other++;
        }
        cJSON_Delete(doc);
        if (rc)
            break;
    }
    progress_end(&prog);
    if (got < 0) {
        /* a YAML error ends the stream: what came before it is kept */
        if (!quiet)
            fprintf(stderr, "propsim import: %s: %s (after document %d); the events before it are kept\n", in, err, n);
        rc = 1;
    }
    if (tracewriter_close(k.w, err, sizeof err) != 0) {
        if (!quiet)
            fprintf(stderr, "propsim import: %s\n", err);
        rc = 1;
    }
    badlines_finish(&k.bad);
    if (k.events == 0 && rc == 0) {
        unlink(out); /* an empty trace would replay as a cluster of no nodes */
        badlines_nothing_valid(&k.bad, n ? "no Node and no ResourcePatch of nodes" : "no YAML document",
                               "kwok reads a KWOK recording (`kwokctl snapshot record`: Node objects, then "
                               "ResourcePatch documents); for Google's machine_events table use `propsim import "
                               "google2011`, for a recording of `kubectl get nodes --watch -o json` `propsim import "
                               "kubectl-watch`");
        rc = BADLINES_EXIT_UNUSABLE;
    } else if (!quiet) {
        printf("imported %ld node events from %s (%d documents; %ld about other resources; %ld bad skipped); "
               "last t %.3f s -> %s\n",
               k.events, in, n, k.other, k.bad.count, k.t, out);
    }
    yamljson_reader_free(yr);
    if (f != stdin)
        fclose(f);
    tdestroy(k.nodes, entry_free);
    return rc;
}
