/*
 * reflector — keep a local copy of a collection in step with the API server: paged LIST, then
 * WATCH from the list's resourceVersion (with bookmarks), re-WATCH from the last
 * resourceVersion when the server ends the stream, re-LIST when it answers 410 (expired),
 * exponential backoff with jitter after errors (honouring 429 Retry-After), and an idle timer
 * that restarts a watch that has been silent for too long (a dead peer).
 *
 * The sink sees a LIST as list_begin, item..., list_end: a consumer builds its new state aside
 * and swaps it in at list_end, so nothing is ever decided from a partial list. Pages are never held
 * whole: each is cut into its items as it arrives (liststream.h), so items reach the sink while the
 * page is still coming, and a page found bad at its end starts the LIST over (list_begin again).
 * After that, each watch event arrives through `event`.
 *
 * State loss (an etcd restore, another cluster behind the same endpoint) is not announced by the
 * API server: a watch from a resourceVersion it has not reached is held open without events. So
 * the reflector checks itself: reflector_check() sends a cheap consistent LIST (limit=1, no
 * resourceVersion) and compares it with the cache. A resourceVersion below the last one seen
 * (compared as integers when both are, as etcd's revisions are; otherwise skipped) relists at
 * once; an item count (items + remainingItemCount) that disagrees with the sink's count is
 * probed again a second later and relists when it persists while no event arrived, or after ten
 * probes in a row. After a watch fails (transport error or an error status) the cache is not
 * trusted until such a check passes or a LIST completes: reflector_trusted() says so.
 *
 * Ownership: reflector_new() borrows the loop, client, options strings and sink context (all
 * must outlive it); reflector_free() cancels any transfer in flight.
 */
#ifndef PROPSCALER_REFLECTOR_H
#define PROPSCALER_REFLECTOR_H

#include <stdbool.h>

#include <cjson/cJSON.h>
#include <ev.h>

#include "kclient.h"
#include "nodejson.h"
#include "watchevent.h"

struct reflector_sink {
    void (*list_begin)(void *ctx);
    void (*item)(void *ctx, const cJSON *obj);
    void (*list_end)(void *ctx, const char *resource_version);
    void (*event)(void *ctx, enum watch_event_type type, const cJSON *obj);
    void (*error)(void *ctx, const char *message); /* a failed request, for logs/health */
    /* Optional: how many items the consumer holds (for the consistency check; NULL skips the count). */
    size_t (*count)(void *ctx);
    /* Optional: a check ended; trusted is reflector_trusted() at that moment. */
    void (*checked)(void *ctx, bool trusted);
    /* Optional fast paths that read an object's JSON bytes without a tree (nodejson.h). Each
     * returns 1 when it decoded and applied the object, 0 to decline: the reflector then parses it
     * with cJSON and calls item/event. event_raw also sets *rv to the object's
     * metadata.resourceVersion (rv->p NULL when it has none). event_raw may be given bytes no one
     * has checked (nodejson_event_shape): it returns 1 only for one strict JSON object. */
    int (*item_raw)(void *ctx, const char *json, size_t len);
    /* Optional: item_raw for an item that starts at json[0] and may be followed by more bytes
     * (avail in all): 1 with *len, the item's length (liststream_item_at_fn). */
    int (*item_raw_at)(void *ctx, const char *json, size_t avail, size_t *len);
    int (*event_raw)(void *ctx, enum watch_event_type type, const char *json, size_t len, struct json_span *rv);
};

struct reflector_opts {
    const char *name;            /* for messages: "nodes", "configmap" */
    const char *path;            /* collection path: /api/v1/nodes */
    const char *label_selector;  /* NULL or "" for none */
    const char *field_selector;
    const char *list_kind;       /* the kind a LIST answers with: NodeList, ConfigMapList, PodList */
    long page_size;              /* LIST limit (default 500) */
    long watch_timeout_s;        /* timeoutSeconds asked of the server (default 300..600, jittered) */
    double backoff_initial_s;    /* default 0.8 */
    double backoff_max_s;        /* default 30 */
    size_t max_items;            /* a LIST (all its pages) holding more is refused (default 500,000) */
};

struct reflector_stats {
    unsigned long lists, relists, list_pages, watches, watch_restarts, events, errors, expired;
    unsigned long list_pages_ahead; /* pages asked for while the page before them still arrived */
    unsigned long checks, state_losses; /* consistency checks sent; relists they triggered */
};

struct reflector;

struct reflector *reflector_new(struct ev_loop *loop, struct kclient *client, const struct reflector_opts *o,
                                const struct reflector_sink *sink, void *ctx);
void reflector_start(struct reflector *r);
void reflector_free(struct reflector *r);
/* Start over with a fresh LIST now (e.g. when what the sink derives from each object changed). */
void reflector_relist(struct reflector *r);
bool reflector_synced(const struct reflector *r);
/* Synced, and no check pending after a failed watch: the cache may be decided from. */
bool reflector_trusted(const struct reflector *r);
/* Compare the cache with the server now (see above). Returns true when a check was sent (then
 * `checked` reports its end), false while a LIST or a check is already under way, before the
 * first LIST and after reflector_stop(). */
bool reflector_check(struct reflector *r);
/* A check is under way (sent, not yet answered). */
bool reflector_checking(const struct reflector *r);
/* Stop every transfer and timer (shutdown); nothing more is reported. */
void reflector_stop(struct reflector *r);
const struct reflector_stats *reflector_stats(const struct reflector *r);
const char *reflector_resource_version(const struct reflector *r);

#endif
