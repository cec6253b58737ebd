#include "kstore.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kevents.h"
#include "strtab.h"

/* A resource with its own storage (not a view). */
#define OWN_STORAGE NULL, NULL, NULL, NULL
static const struct kresource_def defs[] = {
    {"", "v1", "nodes", "Node", "node", "no", false, false, OWN_STORAGE},
    {"", "v1", "pods", "Pod", "pod", "po", true, false, OWN_STORAGE},
    {"", "v1", "configmaps", "ConfigMap", "configmap", "cm", true, false, OWN_STORAGE},
    {"", "v1", "events", "Event", "event", "ev", true, false, OWN_STORAGE},
    {"", "v1", "namespaces", "Namespace", "namespace", "ns", false, false, OWN_STORAGE},
    {"", "v1", "secrets", "Secret", "secret", "", true, false, OWN_STORAGE},
    {"", "v1", "serviceaccounts", "ServiceAccount", "serviceaccount", "sa", true, false, OWN_STORAGE},
    {"", "v1", "replicationcontrollers", "ReplicationController", "replicationcontroller", "rc", true, true, OWN_STORAGE},
    {"apps", "v1", "deployments", "Deployment", "deployment", "deploy", true, true, OWN_STORAGE},
    {"apps", "v1", "statefulsets", "StatefulSet", "statefulset", "sts", true, true, OWN_STORAGE},
    {"apps", "v1", "replicasets", "ReplicaSet", "replicaset", "rs", true, true, OWN_STORAGE},
    {"coordination.k8s.io", "v1", "leases", "Lease", "lease", "", true, false, OWN_STORAGE},
    {"admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations", "ValidatingWebhookConfiguration",
     "validatingwebhookconfiguration", "", false, false, OWN_STORAGE},
    {KEVENTS_GROUP, "v1", "events", "Event", "event", "ev", true, false, "", "events", kevents_core_to_v1, kevents_v1_to_core},
};
#define N_DEFS (sizeof defs / sizeof defs[0])

size_t kstore_resource_count(void) { return N_DEFS; }
const struct kresource_def *kstore_resource_def(size_t i) { return i < N_DEFS ? &defs[i] : NULL; }

/* key "ns/name" -> current version */
struct slot {
    struct strtab_key k;
    struct kobj *obj;
};

struct kresource {
    const struct kresource_def *def;
    struct strtab tab;
    struct kresource *stored; /* a view's storage (def->stored_resource); NULL otherwise */
    struct kevent *ring; /* history, oldest at head */
    size_t ring_cap, head, count;
    uint64_t floor;      /* every event after this rv is in the ring */
    /* The slots in (namespace, name) order, as the last LIST sorted them, kept while no slot
     * moves: an insert or a remove bumps tab_gen (slots may move); an update replaces a slot's
     * object in place and keeps the order. A LIST of 15,000 nodes then copies the order instead of
     * sorting (the sort was ~12% of the emulator's CPU serving a node LIST, and its first page's wait). */
    uint64_t tab_gen;
    const struct slot **order;
    size_t order_n;
    uint64_t order_gen; /* the tab_gen the order was taken at; valid when equal */
};

struct kstore {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    uint64_t rv;
    uint64_t visible_rv; /* watches see events up to here: rv, except during a hold */
    int holds;           /* kstore_hold() depth */
    uint64_t wakes;      /* kstore_wake_all() calls: a waiter's wake-up is never lost */
    uint64_t uid_counter;
    struct kresource res[N_DEFS];
};

const struct kresource_def *kresource_def(const struct kresource *r) { return r->def; }

void kobj_ref(struct kobj *o)
{
    if (o)
        __atomic_add_fetch(&o->refs, 1, __ATOMIC_RELAXED);
}

void kobj_unref(struct kobj *o)
{
    if (!o || __atomic_sub_fetch(&o->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free(o->text);
    free(o->ns);
    free(o->name);
    cJSON_Delete(o->labels);
    free(o);
}

void kevent_release(struct kevent *e)
{
    kobj_unref(e->obj);
    kobj_unref(e->old);
    e->obj = e->old = NULL;
}

struct kstore *kstore_new(size_t history_window)
{
    struct kstore *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->changed, NULL);
    s->rv = 1000; /* real clusters never start at 0; clients must not assume small numbers */
    s->visible_rv = s->rv;
    if (history_window < 16)
        history_window = 16;
    for (size_t i = 0; i < N_DEFS; i++) {
        struct kresource *r = &s->res[i];
        r->def = &defs[i];
        if (r->def->stored_resource) { /* a view keeps nothing of its own */
            r->stored = kstore_find(s, r->def->stored_group, r->def->stored_resource);
            continue;
        }
        int tab_failed = strtab_init(&r->tab, sizeof(struct slot));
        r->ring_cap = history_window;
        r->ring = calloc(history_window, sizeof *r->ring);
        r->floor = s->rv;
        if (tab_failed || !r->ring) {
            kstore_free(s);
            return NULL;
        }
    }
    return s;
}

void kstore_free(struct kstore *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < N_DEFS; i++) {
        struct kresource *r = &s->res[i];
        if (r->stored || !r->def)
            continue;
        size_t pos = 0;
        for (struct slot *sl; (sl = strtab_next(&r->tab, &pos));)
            kobj_unref(sl->obj);
        for (size_t k = 0; r->ring && k < r->count; k++)
            kevent_release(&r->ring[(r->head + k) % r->ring_cap]);
        strtab_release(&r->tab);
        free(r->ring);
        free(r->order);
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->changed);
    free(s);
}

struct kresource *kstore_find(struct kstore *s, const char *group, const char *resource)
{
    for (size_t i = 0; i < N_DEFS; i++)
        if (strcmp(defs[i].group, group) == 0 && strcmp(defs[i].resource, resource) == 0)
            return &s->res[i];
    return NULL;
}

static void make_key(char *key, size_t keylen, const char *ns, const char *name)
{
    snprintf(key, keylen, "%s/%s", ns ? ns : "", name);
}

/* Append an event; the ring owns its references. Evicting raises the floor. */
static void record_event(struct kresource *r, enum kevent_type type, uint64_t rv, struct kobj *obj, struct kobj *old)
{
    if (r->count == r->ring_cap) {
        struct kevent *e = &r->ring[r->head];
        r->floor = e->rv;
        kevent_release(e);
        r->head = (r->head + 1) % r->ring_cap;
        r->count--;
    }
    struct kevent *e = &r->ring[(r->head + r->count) % r->ring_cap];
    kobj_ref(obj);
    kobj_ref(old);
    *e = (struct kevent){.type = type, .rv = rv, .obj = obj, .old = old};
    r->count++;
}

static bool valid_name(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 253)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
    }
    return n[0] != '-' && n[0] != '.' && n[len - 1] != '-' && n[len - 1] != '.';
}

static void now_rfc3339(char *out, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static cJSON *ensure_object(cJSON *parent, const char *key)
{
    cJSON *o = cJSON_GetObjectItemCaseSensitive(parent, key);
    if (cJSON_IsObject(o))
        return o;
    if (o)
        cJSON_DeleteItemFromObjectCaseSensitive(parent, key);
    return cJSON_AddObjectToObject(parent, key);
}

static void set_string(cJSON *obj, const char *key, const char *value)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, key))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, key, cJSON_CreateString(value));
    else
        cJSON_AddStringToObject(obj, key, value);
}

/* Stamp what the server sets on every version: resourceVersion, kind/apiVersion. */
static void stamp_version(const struct kresource_def *d, cJSON *obj, uint64_t rv)
{
    cJSON *meta = ensure_object(obj, "metadata");
    char rvs[32];
    snprintf(rvs, sizeof rvs, "%llu", (unsigned long long)rv);
    set_string(meta, "resourceVersion", rvs);
    set_string(obj, "kind", d->kind);
    char av[64];
    snprintf(av, sizeof av, "%s%s%s", d->group, d->group[0] ? "/" : "", d->version);
    set_string(obj, "apiVersion", av);
}

/* Build the stored version from a JSON object (stamped: stamp_version). */
static struct kobj *make_version(const struct kresource_def *d, cJSON *obj, const char *ns, const char *name, uint64_t rv)
{
    stamp_version(d, obj, rv);
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    struct kobj *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->refs = 1;
    o->rv = rv;
    o->text = cJSON_PrintUnformatted(obj);
    o->len = o->text ? strlen(o->text) : 0;
    o->ns = strdup(ns ? ns : "");
    o->name = strdup(name);
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(meta, "labels");
    o->labels = cJSON_IsObject(labels) ? cJSON_Duplicate(labels, 1) : NULL;
    if (!o->text || !o->ns || !o->name) {
        kobj_unref(o);
        return NULL;
    }
    return o;
}

/* Fill name/namespace from the object or the request; generateName gets a random suffix. */
static enum kstore_status resolve_name(struct kstore *s, const struct kresource_def *d, const char *ns, cJSON *obj,
                                       const char *path_name, char *name, size_t namelen, char *err, size_t errlen)
{
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (!cJSON_IsObject(obj) || (meta && !cJSON_IsObject(meta))) {
        snprintf(err, errlen, "the body must be a %s object", d->kind);
        return KS_INVALID;
    }
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(meta, "name");
    const cJSON *gn = cJSON_GetObjectItemCaseSensitive(meta, "generateName");
    if (cJSON_IsString(n) && n->valuestring[0]) {
        if (path_name && strcmp(path_name, n->valuestring) != 0) {
            snprintf(err, errlen, "the name of the object (%s) does not match the name on the URL (%s)",
                     n->valuestring, path_name);
            return KS_INVALID;
        }
        snprintf(name, namelen, "%s", n->valuestring);
    } else if (path_name) {
        snprintf(name, namelen, "%s", path_name);
    } else if (cJSON_IsString(gn) && gn->valuestring[0]) {
        snprintf(name, namelen, "%.240s%05llx", gn->valuestring, (unsigned long long)(++s->uid_counter * 2654435761u % 0xfffff));
    } else {
        snprintf(err, errlen, "%s.metadata.name: Required value: name or generateName is required", d->kind);
        return KS_INVALID;
    }
    if (!valid_name(name)) {
        snprintf(err, errlen, "%s \"%s\" is invalid: metadata.name: Invalid value: \"%s\": a lowercase RFC 1123 "
                 "subdomain must consist of lower case alphanumeric characters, '-' or '.'", d->kind, name, name);
        return KS_INVALID;
    }
    meta = ensure_object(obj, "metadata");
    set_string(meta, "name", name);
    if (d->namespaced) {
        const cJSON *ons = cJSON_GetObjectItemCaseSensitive(meta, "namespace");
        if (cJSON_IsString(ons) && ns && strcmp(ons->valuestring, ns) != 0) {
            snprintf(err, errlen, "the namespace of the provided object does not match the namespace sent on the request");
            return KS_INVALID;
        }
        set_string(meta, "namespace", ns);
    } else {
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "namespace");
    }
    return KS_OK;
}

static enum kstore_status put_locked(struct kstore *s, struct kresource *r, const char *ns, cJSON *obj,
                                     const char *path_name, bool is_create, bool create_if_missing,
                                     struct kobj **out, char *err, size_t errlen)
{
    const struct kresource_def *d = r->def;
    if (d->namespaced && (!ns || !*ns)) {
        snprintf(err, errlen, "a namespace is required for %s", d->resource);
        return KS_INVALID;
    }
    if (!d->namespaced)
        ns = "";
    char name[254];
    enum kstore_status st = resolve_name(s, d, ns, obj, is_create ? NULL : path_name, name, sizeof name, err, errlen);
    if (st != KS_OK)
        return st;
    char key[600];
    make_key(key, sizeof key, ns, name);
    struct slot *sl = strtab_find(&r->tab, key);
    bool found = sl != NULL;
    struct kobj *old = found ? sl->obj : NULL;
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    if (is_create && found) {
        snprintf(err, errlen, "%s \"%s\" already exists", d->resource, name);
        return KS_EXISTS;
    }
    if (!is_create && !found && !create_if_missing) {
        snprintf(err, errlen, "%s \"%s\" not found", d->resource, name);
        return KS_NOT_FOUND;
    }
    const cJSON *want_rv = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion");
    if (old && cJSON_IsString(want_rv) && want_rv->valuestring[0]) {
        char cur[32];
        snprintf(cur, sizeof cur, "%llu", (unsigned long long)old->rv);
        if (strcmp(cur, want_rv->valuestring) != 0) {
            snprintf(err, errlen, "Operation cannot be fulfilled on %s%s%s \"%s\": the object has been modified; "
                     "please apply your changes to the latest version and try again",
                     d->resource, d->group[0] ? "." : "", d->group, name);
            return KS_CONFLICT;
        }
    }
    /* server-managed metadata */
    char ts[40];
    cJSON *oldj = NULL;
    if (old) {
        oldj = cJSON_Parse(old->text);
        const cJSON *om = cJSON_GetObjectItemCaseSensitive(oldj, "metadata");
        static const char *keep[] = {"uid", "creationTimestamp"};
        for (size_t k = 0; k < 2; k++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(om, keep[k]);
            if (cJSON_IsString(v))
                set_string(meta, keep[k], v->valuestring);
        }
        const cJSON *gen = cJSON_GetObjectItemCaseSensitive(om, "generation");
        if (cJSON_IsNumber(gen)) {
            double g = gen->valuedouble;
            char *os = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(oldj, "spec"));
            char *ns_ = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(obj, "spec"));
            if (os && ns_ && strcmp(os, ns_) != 0)
                g += 1;
            free(os);
            free(ns_);
            cJSON_DeleteItemFromObjectCaseSensitive(meta, "generation");
            cJSON_AddNumberToObject(meta, "generation", g);
        }
    } else {
        char uid[40];
        unsigned long long u = ++s->uid_counter;
        snprintf(uid, sizeof uid, "%08llx-0000-4000-8000-%012llx", (u * 2654435761u) & 0xffffffffu, u);
        set_string(meta, "uid", uid);
        if (!cJSON_GetObjectItemCaseSensitive(meta, "creationTimestamp") ||
            cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(meta, "creationTimestamp"))) {
            now_rfc3339(ts, sizeof ts);
            cJSON_DeleteItemFromObjectCaseSensitive(meta, "creationTimestamp");
            cJSON_AddStringToObject(meta, "creationTimestamp", ts);
        }
        if (d->has_scale) {
            cJSON_DeleteItemFromObjectCaseSensitive(meta, "generation");
            cJSON_AddNumberToObject(meta, "generation", 1);
        }
    }
    /* OBJ given OLD's resourceVersion is OLD again (key order aside): an update of nothing */
    bool unchanged = false;
    if (old && oldj) {
        stamp_version(d, obj, old->rv);
        unchanged = cJSON_Compare(oldj, obj, true);
    }
    if (unchanged) {
        /* kube-apiserver writes nothing for an update that changes nothing (etcd3's
         * GuaranteedUpdate compares the bytes): the object keeps its resourceVersion and no
         * watcher sees an event -- a kubelet's PATCH of a Node with status outside /status, a
         * repeated label. */
        cJSON_Delete(oldj);
        if (out) {
            kobj_ref(old);
            *out = old;
        }
        return KS_OK;
    }
    cJSON_Delete(oldj);
    uint64_t rv = s->rv + 1;
    struct kobj *o = make_version(d, obj, ns, name, rv);
    if (!o) {
        snprintf(err, errlen, "out of memory");
        return KS_NOMEM;
    }
    if (!found) {
        bool added;
        sl = strtab_insert(&r->tab, key, &added);
        r->tab_gen++;
        if (!sl) {
            kobj_unref(o);
            snprintf(err, errlen, "out of memory");
            return KS_NOMEM;
        }
    }
    s->rv = rv;
    if (!s->holds)
        s->visible_rv = rv;
    sl->obj = o;
    record_event(r, old ? KE_MODIFIED : KE_ADDED, rv, o, old);
    kobj_unref(old); /* the slot's reference; the event holds its own */
    if (out) {
        kobj_ref(o);
        *out = o;
    }
    pthread_cond_broadcast(&s->changed);
    return KS_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Views: a stored object shown in the view's shape, and a view's body stored in the storage's   */

/* The view's version of a stored one (consumed): the converted text at the same resourceVersion,
 * name and labels. NULL when out of memory. */
static struct kobj *view_version(const struct kresource *view, struct kobj *stored)
{
    if (!stored)
        return NULL;
    cJSON *j = cJSON_ParseWithLength(stored->text, stored->len);
    cJSON *v = j ? view->def->to_view(j) : NULL;
    cJSON_Delete(j);
    struct kobj *o = v ? calloc(1, sizeof *o) : NULL;
    if (o) {
        o->refs = 1;
        o->rv = stored->rv;
        o->text = cJSON_PrintUnformatted(v);
        o->len = o->text ? strlen(o->text) : 0;
        o->ns = strdup(stored->ns);
        o->name = strdup(stored->name);
        o->labels = stored->labels ? cJSON_Duplicate(stored->labels, 1) : NULL;
        if (!o->text || !o->ns || !o->name || (stored->labels && !o->labels)) {
            kobj_unref(o);
            o = NULL;
        }
    }
    cJSON_Delete(v);
    kobj_unref(stored);
    return o;
}

/* A write through a view: the body converted (the caller's `obj` consumed), the answer shown as
 * the view shows it. */
static enum kstore_status view_put(struct kstore *s, struct kresource *view, const char *ns, const char *name,
                                   cJSON *obj, bool create, bool create_if_missing, struct kobj **out, char *err,
                                   size_t errlen)
{
    cJSON *stored_form = cJSON_IsObject(obj) ? view->def->to_stored(obj) : cJSON_Duplicate(obj, 1);
    cJSON_Delete(obj);
    if (!stored_form) {
        snprintf(err, errlen, "out of memory");
        return KS_NOMEM;
    }
    struct kobj *got = NULL;
    enum kstore_status st = create ? kstore_create(s, view->stored, ns, stored_form, out ? &got : NULL, err, errlen)
                                   : kstore_update(s, view->stored, ns, name, stored_form, create_if_missing,
                                                   out ? &got : NULL, err, errlen);
    if (st == KS_OK && out && !(*out = view_version(view, got))) {
        snprintf(err, errlen, "out of memory");
        return KS_NOMEM;
    }
    return st;
}

enum kstore_status kstore_create(struct kstore *s, struct kresource *r, const char *ns, cJSON *obj,
                                 struct kobj **out, char *err, size_t errlen)
{
    if (r->stored)
        return view_put(s, r, ns, NULL, obj, true, false, out, err, errlen);
    pthread_mutex_lock(&s->mu);
    enum kstore_status st = put_locked(s, r, ns, obj, NULL, true, false, out, err, errlen);
    pthread_mutex_unlock(&s->mu);
    cJSON_Delete(obj);
    return st;
}

enum kstore_status kstore_update(struct kstore *s, struct kresource *r, const char *ns, const char *name,
                                 cJSON *obj, bool create_if_missing, struct kobj **out, char *err, size_t errlen)
{
    if (r->stored)
        return view_put(s, r, ns, name, obj, false, create_if_missing, out, err, errlen);
    pthread_mutex_lock(&s->mu);
    enum kstore_status st = put_locked(s, r, ns, obj, name, false, create_if_missing, out, err, errlen);
    pthread_mutex_unlock(&s->mu);
    cJSON_Delete(obj);
    return st;
}

enum kstore_status kstore_delete(struct kstore *s, struct kresource *r, const char *ns, const char *name,
                                 struct kobj **out)
{
    if (r->stored) {
        struct kobj *got = NULL;
        enum kstore_status st = kstore_delete(s, r->stored, ns, name, out ? &got : NULL);
        if (st == KS_OK && out && !(*out = view_version(r, got)))
            return KS_NOMEM;
        return st;
    }
    char key[600];
    make_key(key, sizeof key, r->def->namespaced ? ns : "", name);
    pthread_mutex_lock(&s->mu);
    struct slot *sl = strtab_find(&r->tab, key);
    if (!sl) {
        pthread_mutex_unlock(&s->mu);
        return KS_NOT_FOUND;
    }
    struct kobj *old = sl->obj;
    /* The DELETED event carries the last state at the deletion's resourceVersion. */
    cJSON *j = cJSON_Parse(old->text);
    struct kobj *gone = j ? make_version(r->def, j, old->ns, old->name, s->rv + 1) : NULL;
    cJSON_Delete(j);
    if (!gone) {
        pthread_mutex_unlock(&s->mu);
        return KS_NOMEM;
    }
    s->rv++;
    if (!s->holds)
        s->visible_rv = s->rv;
    strtab_remove(&r->tab, sl);
    r->tab_gen++;
    record_event(r, KE_DELETED, s->rv, gone, old);
    kobj_unref(old);
    if (out)
        *out = gone;
    else
        kobj_unref(gone);
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
    return KS_OK;
}

enum kstore_status kstore_get(struct kstore *s, struct kresource *r, const char *ns, const char *name, struct kobj **out)
{
    if (r->stored) {
        struct kobj *got = NULL;
        enum kstore_status st = kstore_get(s, r->stored, ns, name, &got);
        if (st == KS_OK && !(*out = view_version(r, got)))
            return KS_NOMEM;
        return st;
    }
    char key[600];
    make_key(key, sizeof key, r->def->namespaced ? ns : "", name);
    pthread_mutex_lock(&s->mu);
    const struct slot *sl = strtab_find(&r->tab, key);
    if (sl) {
        kobj_ref(sl->obj);
        *out = sl->obj;
    }
    pthread_mutex_unlock(&s->mu);
    return sl ? KS_OK : KS_NOT_FOUND;
}

static int cmp_obj(const void *a, const void *b)
{
    const struct kobj *x = *(struct kobj *const *)a, *y = *(struct kobj *const *)b;
    int c = strcmp(x->ns, y->ns);
    return c ? c : strcmp(x->name, y->name);
}

/* (slot, its object when taken): sorted by the object's (namespace, name) */
struct slot_obj {
    const struct slot *slot;
    struct kobj *obj;
};

static int cmp_slot_obj(const void *a, const void *b)
{
    return cmp_obj(&((const struct slot_obj *)a)->obj, &((const struct slot_obj *)b)->obj);
}

int kstore_snapshot(struct kstore *s, struct kresource *r, const char *ns, struct ksnapshot *out)
{
    if (r->stored) {
        if (kstore_snapshot(s, r->stored, ns, out) != 0)
            return -1;
        size_t kept = 0;
        for (size_t i = 0; i < out->n; i++) /* an object that cannot be converted (out of memory) is left out */
            if ((out->items[kept] = view_version(r, out->items[i])))
                kept++;
        out->n = kept;
        return 0;
    }
    bool filter_ns = ns && r->def->namespaced;
    pthread_mutex_lock(&s->mu);
    out->items = malloc((r->tab.n ? r->tab.n : 1) * sizeof *out->items);
    out->n = 0;
    out->rv = s->rv;
    if (!out->items) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    if (r->order && r->order_gen == r->tab_gen) { /* no slot moved since the order was taken */
        for (size_t i = 0; i < r->order_n; i++) {
            struct kobj *o = r->order[i]->obj;
            if (filter_ns && strcmp(o->ns, ns) != 0)
                continue;
            kobj_ref(o);
            out->items[out->n++] = o;
        }
        pthread_mutex_unlock(&s->mu);
        return 0;
    }
    size_t pos = 0;
    if (filter_ns) { /* (one namespace's objects: sorted each time, no order kept) */
        for (const struct slot *sl; (sl = strtab_next(&r->tab, &pos));) {
            if (strcmp(sl->obj->ns, ns) != 0)
                continue;
            kobj_ref(sl->obj);
            out->items[out->n++] = sl->obj;
        }
        pthread_mutex_unlock(&s->mu);
        qsort(out->items, out->n, sizeof *out->items, cmp_obj);
        return 0;
    }
    /* every object, sorted outside the lock (each one referenced: none goes away meanwhile); the
     * order is kept if no slot moved meanwhile */
    uint64_t gen = r->tab_gen;
    struct slot_obj *pairs = malloc((r->tab.n ? r->tab.n : 1) * sizeof *pairs);
    for (const struct slot *sl; (sl = strtab_next(&r->tab, &pos));) {
        kobj_ref(sl->obj);
        if (pairs)
            pairs[out->n] = (struct slot_obj){sl, sl->obj};
        out->items[out->n++] = sl->obj;
    }
    pthread_mutex_unlock(&s->mu);
    if (!pairs) { /* (out of memory for the order: sorted without keeping it) */
        qsort(out->items, out->n, sizeof *out->items, cmp_obj);
        return 0;
    }
    qsort(pairs, out->n, sizeof *pairs, cmp_slot_obj);
    const struct slot **order = malloc((out->n ? out->n : 1) * sizeof *order);
    for (size_t i = 0; i < out->n; i++) {
        out->items[i] = pairs[i].obj;
        if (order)
            order[i] = pairs[i].slot;
    }
    free(pairs);
    pthread_mutex_lock(&s->mu);
    if (order && r->tab_gen == gen) {
        free(r->order);
        r->order = order;
        r->order_n = out->n;
        r->order_gen = gen;
        order = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    free(order);
    return 0;
}

size_t kstore_count(struct kstore *s, struct kresource *r)
{
    if (r->stored)
        r = r->stored;
    pthread_mutex_lock(&s->mu);
    size_t n = r->tab.n;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void ksnapshot_release(struct ksnapshot *snap)
{
    for (size_t i = 0; i < snap->n; i++)
        kobj_unref(snap->items[i]);
    free(snap->items);
    snap->items = NULL;
    snap->n = 0;
}

enum kstore_status kstore_events_since(struct kstore *s, struct kresource *r, uint64_t since, struct kevent *out,
                                       size_t max, size_t *n_out, uint64_t *oldest_out)
{
    if (r->stored) {
        enum kstore_status st = kstore_events_since(s, r->stored, since, out, max, n_out, oldest_out);
        bool failed = false;
        for (size_t i = 0; st == KS_OK && i < *n_out; i++) {
            bool had_old = out[i].old != NULL;
            out[i].obj = view_version(r, out[i].obj);
            out[i].old = had_old ? view_version(r, out[i].old) : NULL;
            failed |= !out[i].obj || (had_old && !out[i].old);
        }
        if (failed) { /* out of memory: nothing delivered now, the watcher asks again */
            for (size_t i = 0; i < *n_out; i++)
                kevent_release(&out[i]);
            *n_out = 0;
            return KS_NOMEM;
        }
        return st;
    }
    *n_out = 0;
    pthread_mutex_lock(&s->mu);
    if (oldest_out)
        *oldest_out = r->floor;
    if (since < r->floor) {
        pthread_mutex_unlock(&s->mu);
        return KS_GONE;
    }
    /* events are in rv order: binary search the first with rv > since */
    size_t lo = 0, hi = r->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->ring[(r->head + mid) % r->ring_cap].rv <= since)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t n = 0;
    for (size_t k = lo; k < r->count && n < max && r->ring[(r->head + k) % r->ring_cap].rv <= s->visible_rv; k++, n++) {
        out[n] = r->ring[(r->head + k) % r->ring_cap];
        kobj_ref(out[n].obj);
        kobj_ref(out[n].old);
    }
    *n_out = n;
    pthread_mutex_unlock(&s->mu);
    return KS_OK;
}

uint64_t kstore_current_rv(struct kstore *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t rv = s->visible_rv;
    pthread_mutex_unlock(&s->mu);
    return rv;
}

uint64_t kstore_oldest_rv(struct kstore *s, struct kresource *r)
{
    if (r->stored)
        r = r->stored;
    pthread_mutex_lock(&s->mu);
    uint64_t f = r->floor;
    pthread_mutex_unlock(&s->mu);
    return f;
}

void kstore_wait(struct kstore *s, uint64_t seen_rv, double timeout_seconds)
{
    kstore_wait_wakes(s, seen_rv, kstore_wake_count(s), timeout_seconds);
}

uint64_t kstore_wake_count(struct kstore *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t w = s->wakes;
    pthread_mutex_unlock(&s->mu);
    return w;
}

void kstore_wait_wakes(struct kstore *s, uint64_t seen_rv, uint64_t seen_wakes, double timeout_seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    double whole = (double)(long)timeout_seconds;
    ts.tv_sec += (time_t)whole;
    ts.tv_nsec += (long)((timeout_seconds - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&s->mu);
    if (s->visible_rv <= seen_rv && s->wakes == seen_wakes)
        pthread_cond_timedwait(&s->changed, &s->mu, &ts);
    pthread_mutex_unlock(&s->mu);
}

void kstore_hold(struct kstore *s)
{
    pthread_mutex_lock(&s->mu);
    s->holds++;
    pthread_mutex_unlock(&s->mu);
}

void kstore_release(struct kstore *s)
{
    pthread_mutex_lock(&s->mu);
    if (s->holds > 0 && --s->holds == 0) {
        s->visible_rv = s->rv;
        pthread_cond_broadcast(&s->changed);
    }
    pthread_mutex_unlock(&s->mu);
}

void kstore_wake_all(struct kstore *s)
{
    pthread_mutex_lock(&s->mu);
    s->wakes++;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
}

void kstore_compact(struct kstore *s)
{
    pthread_mutex_lock(&s->mu);
    /* Compaction consumes a revision (as in etcd): everything observed so far, including the
     * current resourceVersion, is now too old to resume from. */
    s->rv++;
    s->visible_rv = s->rv;
    for (size_t i = 0; i < N_DEFS; i++) {
        struct kresource *r = &s->res[i];
        if (r->stored)
            continue;
        for (size_t k = 0; k < r->count; k++)
            kevent_release(&r->ring[(r->head + k) % r->ring_cap]);
        r->head = r->count = 0;
        r->floor = s->rv;
    }
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->mu);
}

size_t kstore_memory(struct kstore *s)
{
    size_t total = sizeof *s;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < N_DEFS; i++) {
        struct kresource *r = &s->res[i];
        if (r->stored)
            continue;
        total += strtab_memory(&r->tab) + r->ring_cap * sizeof(struct kevent);
        size_t pos = 0;
        for (const struct slot *sl; (sl = strtab_next(&r->tab, &pos));)
            total += sl->obj->len + sizeof(struct kobj) + strlen(sl->k.key) + 64;
    }
    pthread_mutex_unlock(&s->mu);
    return total;
}
