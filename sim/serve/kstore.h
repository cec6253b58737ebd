/*
 * kstore — the emulated API server's object store: what etcd plus the watch cache are to a
 * real API server.
 *
 * Every write gets the next value of one global resourceVersion counter (monotonic across all
 * resources, like etcd revisions). Each resource keeps its current objects and a bounded history
 * of events (the "retained window"); a watch from resourceVersion N replays the events after N
 * from that history, or is told 410 Expired when N is older than what is kept. A LIST takes a
 * consistent snapshot at one resourceVersion; pages of it are served from the snapshot.
 *
 * Object versions (struct kobj) are immutable and reference-counted: readers take references
 * under the store lock and serialize without it. Thread-safe: one mutex, one condition variable
 * that wakes watchers on every write.
 *
 * Ownership: kstore_new()/kstore_free(). kobj_ref()/kobj_unref(). Functions that return objects
 * return new references.
 */
#ifndef PROPSIM_KSTORE_H
#define PROPSIM_KSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

struct kobj {
    int refs;          /* atomic */
    uint64_t rv;
    char *text;        /* the object as JSON, metadata.resourceVersion included */
    size_t len;
    char *ns;          /* "" for cluster-scoped */
    char *name;
    cJSON *labels;     /* metadata.labels (a detached copy), for selectors; may be NULL */
};

enum kevent_type { KE_ADDED, KE_MODIFIED, KE_DELETED };

struct kevent {
    enum kevent_type type;
    uint64_t rv;
    struct kobj *obj;  /* the new version (for DELETED: the last version, at the delete's rv) */
    struct kobj *old;  /* the previous version, NULL for ADDED */
};

struct kresource_def {
    const char *group;    /* "" = core */
    const char *version;
    const char *resource; /* plural */
    const char *kind;
    const char *singular;
    const char *short_names; /* comma list or "" */
    bool namespaced;
    bool has_scale;
    /* A view: this resource is another resource's storage shown in another shape (events.k8s.io/v1
     * Events are core Events). NULL for a resource with its own storage. Every kstore call on a
     * view works on the stored resource and converts at the edge: bodies in with to_stored,
     * objects out with to_view (new versions with the same resourceVersion, name and labels). */
    const char *stored_group, *stored_resource;
    cJSON *(*to_view)(const cJSON *stored);
    cJSON *(*to_stored)(const cJSON *view);
};

struct kstore;
struct kresource;

struct kstore *kstore_new(size_t history_window);
void kstore_free(struct kstore *s);

size_t kstore_resource_count(void);
const struct kresource_def *kstore_resource_def(size_t i);
struct kresource *kstore_find(struct kstore *s, const char *group, const char *resource);
const struct kresource_def *kresource_def(const struct kresource *r);

void kobj_ref(struct kobj *o);
void kobj_unref(struct kobj *o);

enum kstore_status { KS_OK = 0, KS_NOT_FOUND, KS_EXISTS, KS_CONFLICT, KS_INVALID, KS_GONE, KS_NOMEM };

/* Write operations. `obj` is consumed in every case. expected_rv: NULL or "" means no
 * precondition; otherwise it must equal the current resourceVersion (optimistic concurrency).
 * On success *out (if given) is a new reference to the stored version. */
enum kstore_status kstore_create(struct kstore *s, struct kresource *r, const char *ns, cJSON *obj,
                                 struct kobj **out, char *err, size_t errlen);
enum kstore_status kstore_update(struct kstore *s, struct kresource *r, const char *ns, const char *name,
                                 cJSON *obj, bool create_if_missing, struct kobj **out, char *err, size_t errlen);
enum kstore_status kstore_delete(struct kstore *s, struct kresource *r, const char *ns, const char *name,
                                 struct kobj **out);
enum kstore_status kstore_get(struct kstore *s, struct kresource *r, const char *ns, const char *name, struct kobj **out);

/* A consistent snapshot of the collection (ns NULL = all namespaces), sorted by ns/name. */
struct ksnapshot {
    struct kobj **items;
    size_t n;
    uint64_t rv;
};
int kstore_snapshot(struct kstore *s, struct kresource *r, const char *ns, struct ksnapshot *out);
void ksnapshot_release(struct ksnapshot *snap);
/* Objects of a resource in every namespace, O(1). */
size_t kstore_count(struct kstore *s, struct kresource *r);

/* Events of resource r with rv > since, at most max; KS_GONE when `since` is older than the
 * retained window. Each returned event holds references (release with kevent_release). */
enum kstore_status kstore_events_since(struct kstore *s, struct kresource *r, uint64_t since, struct kevent *out,
                                       size_t max, size_t *n_out, uint64_t *oldest_out);
void kevent_release(struct kevent *e);

/* The latest resourceVersion watches may see (the store's, except during a hold). */
uint64_t kstore_current_rv(struct kstore *s);
/* Writes made between kstore_hold() and kstore_release() reach watches together, at the
 * release: the trace player applies the events of one trace instant as one step, so watchers
 * receive a same-time group as one burst, as the simulator sees it. Holds nest. */
void kstore_hold(struct kstore *s);
void kstore_release(struct kstore *s);
/* Block until the store changes past `seen_rv`, or the timeout passes, or kstore_wake_all(). */
void kstore_wait(struct kstore *s, uint64_t seen_rv, double timeout_seconds);
/* The same, also returning when kstore_wake_all() was called after kstore_wake_count() said
 * seen_wakes: read the count before deciding to wait, and no wake-up is lost in between. */
uint64_t kstore_wake_count(struct kstore *s);
void kstore_wait_wakes(struct kstore *s, uint64_t seen_rv, uint64_t seen_wakes, double timeout_seconds);
void kstore_wake_all(struct kstore *s);
/* Fault injection: forget all history up to now, so any older resourceVersion is 410. */
void kstore_compact(struct kstore *s);
uint64_t kstore_oldest_rv(struct kstore *s, struct kresource *r);
size_t kstore_memory(struct kstore *s);

#endif
