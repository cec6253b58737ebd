/* HTTP for `propsim serve`: routing, verbs, watch streams, faults and counters. */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "apipath.h"
#include "buf.h"
#include "selector.h"
#include "serve.h"
#include "serve_hostile.h"
#include "kfilter.h"
#include "kpatch.h"

enum verb { V_GET, V_LIST, V_WATCH, V_CREATE, V_UPDATE, V_PATCH, V_DELETE, V_OTHER };
static const char *verb_names[] = {"get", "list", "watch", "create", "update", "patch", "delete"};

struct request_state {
    struct buf body;
    bool too_large;
};

/* ------------------------------------------------------------------------------------------ */
/* Responses                                                                                    */

static void count_response(struct serve_ctx *ctx, size_t bytes, unsigned code, const char *method, const char *url)
{
    pthread_mutex_lock(&ctx->counters.mu);
    ctx->counters.bytes_sent += bytes;
    if (code >= 400)
        ctx->counters.errors++;
    snprintf(ctx->counters.log[ctx->counters.log_next % 256], sizeof ctx->counters.log[0], "%s %.600s -> %u", method, url, code);
    ctx->counters.log_next++;
    pthread_mutex_unlock(&ctx->counters.mu);
}

static enum MHD_Result send_body(struct MHD_Connection *c, struct serve_ctx *ctx, unsigned code, char *body,
                                 size_t len, const char *hname, const char *hvalue, const char *method, const char *url)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    bool typed = hname && strcasecmp(hname, "Content-Type") == 0;
    MHD_add_response_header(resp, "Content-Type", typed ? hvalue : "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
    if (hname && !typed)
        MHD_add_response_header(resp, hname, hvalue);
    count_response(ctx, len, code, method, url);
    enum MHD_Result r = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result send_json(struct MHD_Connection *c, struct serve_ctx *ctx, unsigned code, cJSON *j,
                                 const char *method, const char *url)
{
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!text)
        return MHD_NO;
    return send_body(c, ctx, code, text, strlen(text), NULL, NULL, method, url);
}

static const char *reason_for(unsigned code)
{
    switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 409: return "Conflict";
    case 410: return "Expired";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 503: return "ServiceUnavailable";
    default: return "InternalError";
    }
}

static cJSON *status_object(unsigned code, const char *reason, const char *message, const char *name,
                            const struct kresource_def *d)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "Status");
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddObjectToObject(s, "metadata");
    cJSON_AddStringToObject(s, "status", code < 400 ? "Success" : "Failure");
    cJSON_AddStringToObject(s, "message", message);
    cJSON_AddStringToObject(s, "reason", reason ? reason : reason_for(code));
    if (name || d) {
        cJSON *det = cJSON_AddObjectToObject(s, "details");
        if (name)
            cJSON_AddStringToObject(det, "name", name);
        if (d) {
            cJSON_AddStringToObject(det, "group", d->group);
            cJSON_AddStringToObject(det, "kind", d->resource);
        }
    }
    cJSON_AddNumberToObject(s, "code", code);
    return s;
}

static enum MHD_Result send_status(struct MHD_Connection *c, struct serve_ctx *ctx, unsigned code, const char *reason,
                                   const char *message, const char *name, const struct kresource_def *d,
                                   const char *method, const char *url)
{
    return send_json(c, ctx, code, status_object(code, reason, message, name, d), method, url);
}

static enum MHD_Result send_kobj(struct MHD_Connection *c, struct serve_ctx *ctx, unsigned code, struct kobj *o,
                                 const char *method, const char *url)
{
    char *copy = malloc(o->len + 1);
    if (!copy) {
        kobj_unref(o);
        return MHD_NO;
    }
    memcpy(copy, o->text, o->len + 1);
    size_t len = o->len;
    kobj_unref(o);
    return send_body(c, ctx, code, copy, len, NULL, NULL, method, url);
}

static enum MHD_Result send_store_error(struct MHD_Connection *c, struct serve_ctx *ctx, enum kstore_status st,
                                        const char *msg, const char *name, const struct kresource_def *d,
                                        const char *method, const char *url)
{
    switch (st) {
    case KS_NOT_FOUND: return send_status(c, ctx, 404, "NotFound", msg, name, d, method, url);
    case KS_EXISTS: return send_status(c, ctx, 409, "AlreadyExists", msg, name, d, method, url);
    case KS_CONFLICT: return send_status(c, ctx, 409, "Conflict", msg, name, d, method, url);
    case KS_INVALID: return send_status(c, ctx, 422, "Invalid", msg, name, d, method, url);
    case KS_GONE: return send_status(c, ctx, 410, "Expired", msg, name, d, method, url);
    default: return send_status(c, ctx, 500, "InternalError", msg, name, d, method, url);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Discovery                                                                                    */

static cJSON *resource_list(const char *group, const char *version)
{
    cJSON *l = cJSON_CreateObject();
    cJSON_AddStringToObject(l, "kind", "APIResourceList");
    cJSON_AddStringToObject(l, "apiVersion", "v1");
    char gv[96];
    snprintf(gv, sizeof gv, "%s%s%s", group, group[0] ? "/" : "", version);
    cJSON_AddStringToObject(l, "groupVersion", gv);
    cJSON *arr = cJSON_AddArrayToObject(l, "resources");
    for (size_t i = 0; i < kstore_resource_count(); i++) {
        const struct kresource_def *d = kstore_resource_def(i);
        if (strcmp(d->group, group) != 0 || strcmp(d->version, version) != 0)
            continue;
        for (int sub = 0; sub < (d->has_scale ? 2 : 1); sub++) {
            cJSON *r = cJSON_CreateObject();
            char name[96];
            snprintf(name, sizeof name, "%s%s", d->resource, sub ? "/scale" : "");
            cJSON_AddStringToObject(r, "name", name);
            cJSON_AddStringToObject(r, "singularName", sub ? "" : d->singular);
            cJSON_AddBoolToObject(r, "namespaced", d->namespaced);
            if (sub) {
                cJSON_AddStringToObject(r, "group", "autoscaling");
                cJSON_AddStringToObject(r, "version", "v1");
            }
            cJSON_AddStringToObject(r, "kind", sub ? "Scale" : d->kind);
            cJSON *verbs = cJSON_AddArrayToObject(r, "verbs");
            static const char *all[] = {"create", "delete", "get", "list", "patch", "update", "watch"};
            static const char *scale[] = {"get", "patch", "update"};
            for (size_t k = 0; k < (sub ? 3u : 7u); k++)
                cJSON_AddItemToArray(verbs, cJSON_CreateString(sub ? scale[k] : all[k]));
            if (!sub && d->short_names[0]) {
                cJSON *sn = cJSON_AddArrayToObject(r, "shortNames");
                cJSON_AddItemToArray(sn, cJSON_CreateString(d->short_names));
            }
            cJSON_AddItemToArray(arr, r);
        }
    }
    return l;
}

static cJSON *group_entry(const char *group)
{
    cJSON *g = cJSON_CreateObject();
    cJSON_AddStringToObject(g, "name", group);
    cJSON *versions = cJSON_AddArrayToObject(g, "versions");
    cJSON *v = cJSON_CreateObject();
    char gv[96];
    snprintf(gv, sizeof gv, "%s/v1", group);
    cJSON_AddStringToObject(v, "groupVersion", gv);
    cJSON_AddStringToObject(v, "version", "v1");
    cJSON_AddItemToArray(versions, v);
    cJSON_AddItemToObject(g, "preferredVersion", cJSON_Duplicate(v, 1));
    return g;
}

static bool known_group(const char *group)
{
    return strcmp(group, "apps") == 0 || strcmp(group, "coordination.k8s.io") == 0;
}

static enum MHD_Result discovery(struct MHD_Connection *c, struct serve_ctx *ctx, const struct api_request *r,
                                 const char *method, const char *url)
{
    cJSON *j = NULL;
    switch (r->kind) {
    case AP_VERSION:
        j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "major", "1");
        cJSON_AddStringToObject(j, "minor", "32");
        cJSON_AddStringToObject(j, "gitVersion", "v1.32.0-propsim");
        cJSON_AddStringToObject(j, "gitCommit", "propsim");
        cJSON_AddStringToObject(j, "gitTreeState", "clean");
        cJSON_AddStringToObject(j, "buildDate", "2026-11-24T00:00:00Z");
        cJSON_AddStringToObject(j, "goVersion", "none");
        cJSON_AddStringToObject(j, "compiler", "gc");
        cJSON_AddStringToObject(j, "platform", "linux/amd64");
        break;
    case AP_DISCOVERY_API: {
        j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "kind", "APIVersions");
        cJSON *v = cJSON_AddArrayToObject(j, "versions");
        cJSON_AddItemToArray(v, cJSON_CreateString("v1"));
        cJSON *a = cJSON_AddArrayToObject(j, "serverAddressByClientCIDRs");
        cJSON *e = cJSON_CreateObject();
        char addr[96];
        snprintf(addr, sizeof addr, "%s:%d", ctx->listen_host, ctx->port);
        cJSON_AddStringToObject(e, "clientCIDR", "0.0.0.0/0");
        cJSON_AddStringToObject(e, "serverAddress", addr);
        cJSON_AddItemToArray(a, e);
        break;
    }
    case AP_DISCOVERY_APIS: {
        j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "kind", "APIGroupList");
        cJSON_AddStringToObject(j, "apiVersion", "v1");
        cJSON *groups = cJSON_AddArrayToObject(j, "groups");
        cJSON_AddItemToArray(groups, group_entry("apps"));
        cJSON_AddItemToArray(groups, group_entry("coordination.k8s.io"));
        break;
    }
    case AP_DISCOVERY_GROUP:
        if (!known_group(r->group))
            return send_status(c, ctx, 404, "NotFound", "the server could not find the requested resource", NULL,
                               NULL, method, url);
        j = group_entry(r->group);
        cJSON_AddStringToObject(j, "kind", "APIGroup");
        cJSON_AddStringToObject(j, "apiVersion", "v1");
        break;
    default:
        if (strcmp(r->version, "v1") != 0 || (r->group[0] && !known_group(r->group)))
            return send_status(c, ctx, 404, "NotFound", "the server could not find the requested resource", NULL,
                               NULL, method, url);
        j = resource_list(r->group, r->version);
        break;
    }
    return send_json(c, ctx, 200, j, method, url);
}

/* OpenAPI v3, just enough for kubectl: the root lists one document per group-version; each
 * document declares the PATCH operation of every resource with its GVK and the fieldValidation
 * query parameter, so kubectl leaves validation to the server instead of needing schemas. */
static enum MHD_Result openapi_v3(struct MHD_Connection *c, struct serve_ctx *ctx, const char *url, const char *method)
{
    const char *rest = url + strlen("/openapi/v3");
    cJSON *j = cJSON_CreateObject();
    if (!*rest || strcmp(rest, "/") == 0) {
        cJSON *paths = cJSON_AddObjectToObject(j, "paths");
        static const char *gvs[] = {"api/v1", "apis/apps/v1", "apis/coordination.k8s.io/v1"};
        for (size_t i = 0; i < 3; i++) {
            char u[128];
            snprintf(u, sizeof u, "/openapi/v3/%s?hash=propsim1", gvs[i]);
            cJSON_AddStringToObject(cJSON_AddObjectToObject(paths, gvs[i]), "serverRelativeURL", u);
        }
        return send_json(c, ctx, 200, j, method, url);
    }
    const char *group = NULL;
    if (strcmp(rest, "/api/v1") == 0)
        group = "";
    else if (strcmp(rest, "/apis/apps/v1") == 0)
        group = "apps";
    else if (strcmp(rest, "/apis/coordination.k8s.io/v1") == 0)
        group = "coordination.k8s.io";
    if (!group) {
        cJSON_Delete(j);
        return send_status(c, ctx, 404, "NotFound", "the server could not find the requested resource", NULL, NULL, method, url);
    }
    cJSON_AddStringToObject(j, "openapi", "3.0.0");
    cJSON *info = cJSON_AddObjectToObject(j, "info");
    cJSON_AddStringToObject(info, "title", "Kubernetes (propsim)");
    cJSON_AddStringToObject(info, "version", "v1.32.0");
    cJSON *paths = cJSON_AddObjectToObject(j, "paths");
    for (size_t i = 0; i < kstore_resource_count(); i++) {
        const struct kresource_def *d = kstore_resource_def(i);
        if (strcmp(d->group, group) != 0)
            continue;
        char path[256];
        snprintf(path, sizeof path, "/%s%s%s/%s%s/{name}", d->group[0] ? "apis/" : "api", d->group, d->group[0] ? "/v1" : "/v1",
                 d->namespaced ? "namespaces/{namespace}/" : "", d->resource);
        cJSON *op = cJSON_AddObjectToObject(cJSON_AddObjectToObject(paths, path), "patch");
        cJSON *gvk = cJSON_AddObjectToObject(op, "x-kubernetes-group-version-kind");
        cJSON_AddStringToObject(gvk, "group", d->group);
        cJSON_AddStringToObject(gvk, "version", d->version);
        cJSON_AddStringToObject(gvk, "kind", d->kind);
        cJSON *params = cJSON_AddArrayToObject(op, "parameters");
        static const char *names[] = {"fieldValidation", "dryRun", "fieldManager", "force"};
        for (size_t k = 0; k < 4; k++) {
            cJSON *p = cJSON_CreateObject();
            cJSON_AddStringToObject(p, "name", names[k]);
            cJSON_AddStringToObject(p, "in", "query");
            cJSON_AddStringToObject(cJSON_AddObjectToObject(p, "schema"), "type", k == 3 ? "boolean" : "string");
            cJSON_AddItemToArray(params, p);
        }
    }
    return send_json(c, ctx, 200, j, method, url);
}

/* ------------------------------------------------------------------------------------------ */
/* Selectors                                                                                    */

/* ------------------------------------------------------------------------------------------ */
/* LIST with consistent paging: a continue token names a kept snapshot and an offset.          */

#define MAX_SNAPSHOTS 32
static struct {
    pthread_mutex_t mu;
    struct ksnapshot snap[MAX_SNAPSHOTS];
    unsigned long id[MAX_SNAPSHOTS];
    const struct kresource *res[MAX_SNAPSHOTS];
    unsigned long next_id;
} snapshots = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void list_kind(char *out, size_t len, const struct kresource_def *d) { snprintf(out, len, "%sList", d->kind); }

static enum MHD_Result do_list(struct MHD_Connection *c, struct serve_ctx *ctx, struct kresource *res,
                               const struct api_request *r, const char *method, const char *url)
{
    const struct kresource_def *d = kresource_def(res);
    char err[512];
    struct kfilter f;
    if (kfilter_init(&f, r, err, sizeof err) != 0) {
        kfilter_release(&f);
        return send_status(c, ctx, 400, "BadRequest", err, NULL, NULL, method, url);
    }
    struct ksnapshot local = {0};
    struct ksnapshot *snap = NULL;
    size_t offset = 0;
    int slot = -1;
    if (r->continue_token && r->continue_token[0]) {
        unsigned long id = 0, off = 0;
        unsigned long long rv = 0;
        if (kfilter_parse_continue(r->continue_token, &id, &off, &rv) != 0) {
            kfilter_release(&f);
            return send_status(c, ctx, 400, "BadRequest", "continue key is not valid: malformed token", NULL, NULL,
                               method, url);
        }
        pthread_mutex_lock(&snapshots.mu);
        for (int i = 0; i < MAX_SNAPSHOTS; i++)
            if (snapshots.id[i] == id && snapshots.res[i] == res)
                slot = i;
        if (slot < 0 || rv < kstore_oldest_rv(ctx->store, res)) {
            pthread_mutex_unlock(&snapshots.mu);
            kfilter_release(&f);
            return send_status(c, ctx, 410, "Expired",
                               "The provided continue parameter is too old to display a consistent list result. You "
                               "can start a new list without the continue parameter, or use the continue token in "
                               "this response to retrieve the remainder of the results. Continuing with the provided "
                               "token results in an inconsistent list - objects that were created, modified, or "
                               "deleted between the time the first chunk was returned and now may show up in the list.",
                               NULL, NULL, method, url);
        }
        snap = &snapshots.snap[slot];
        offset = off;
        /* the lock is held while this page is written from the kept snapshot */
    } else {
        if (kstore_snapshot(ctx->store, res, r->namespace_, &local) != 0) {
            kfilter_release(&f);
            return send_status(c, ctx, 500, "InternalError", "out of memory", NULL, NULL, method, url);
        }
        snap = &local;
    }
    /* resourceVersion=0 ("any"): served whole from the cache, as the API server's watch cache does */
    long limit = (r->resource_version && strcmp(r->resource_version, "0") == 0) ? 0 : r->limit;
    struct buf b;
    buf_init(&b, (size_t)1 << 31);
    char kind[96];
    list_kind(kind, sizeof kind, d);
    buf_printf(&b, "{\"kind\":\"%s\",\"apiVersion\":\"%s%s%s\",\"metadata\":{\"resourceVersion\":\"%llu\"", kind,
               d->group, d->group[0] ? "/" : "", d->version, (unsigned long long)snap->rv);
    size_t body_start_mark = b.len;
    (void)body_start_mark;
    struct buf items;
    buf_init(&items, (size_t)1 << 31);
    size_t i = offset, emitted = 0;
    for (; i < snap->n && (limit <= 0 || emitted < (size_t)limit); i++) {
        if (!kfilter_match(&f, snap->items[i]))
            continue;
        if (emitted++)
            buf_putc(&items, ',');
        buf_append(&items, snap->items[i]->text, snap->items[i]->len);
    }
    size_t remaining = 0;
    for (size_t k = i; k < snap->n; k++)
        remaining += kfilter_match(&f, snap->items[k]);
    if (remaining > 0) {
        /* keep the snapshot for the next page */
        if (slot < 0) {
            pthread_mutex_lock(&snapshots.mu);
            slot = (int)(snapshots.next_id % MAX_SNAPSHOTS);
            ksnapshot_release(&snapshots.snap[slot]);
            snapshots.snap[slot] = local;
            local = (struct ksnapshot){0};
            snapshots.id[slot] = ++snapshots.next_id;
            snapshots.res[slot] = res;
            snap = &snapshots.snap[slot];
        }
        buf_printf(&b, ",\"continue\":\"propsim-%lu-%zu-%llu\",\"remainingItemCount\":%zu", snapshots.id[slot], i,
                   (unsigned long long)snap->rv, remaining);
    }
    if (slot >= 0)
        pthread_mutex_unlock(&snapshots.mu);
    ksnapshot_release(&local);
    kfilter_release(&f);
    buf_puts(&b, "},\"items\":[");
    buf_append(&b, buf_str(&items), items.len);
    buf_puts(&b, "]}");
    buf_release(&items);
    if (b.failed) {
        buf_release(&b);
        return send_status(c, ctx, 500, "InternalError", "list too large", NULL, NULL, method, url);
    }
    size_t len = b.len;
    return send_body(c, ctx, 200, buf_take(&b), len, NULL, NULL, method, url);
}

/* ------------------------------------------------------------------------------------------ */
/* WATCH                                                                                        */

struct watch_state {
    struct serve_ctx *ctx;
    struct kresource *res;
    struct kfilter f;
    uint64_t last_rv;
    struct buf pending;
    size_t sent_off;
    double deadline, started, next_bookmark;
    long events_sent;
    bool bookmarks;
    bool ending;
    char kind[64], api_version[64];
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void emit(struct watch_state *w, const char *type, const struct kobj *o)
{
    buf_printf(&w->pending, "{\"type\":\"%s\",\"object\":", type);
    buf_append(&w->pending, o->text, o->len);
    buf_puts(&w->pending, "}\n");
    w->events_sent++;
}

static void emit_bookmark(struct watch_state *w, uint64_t rv, bool initial_end)
{
    buf_printf(&w->pending, "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":"
               "{\"resourceVersion\":\"%llu\"%s}}}\n", w->kind, w->api_version, (unsigned long long)rv,
               initial_end ? ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}" : "");
}

/* Translate store events into what this watcher sees: label transitions become ADDED/DELETED. */
static void emit_event(struct watch_state *w, const struct kevent *e)
{
    bool now = e->type != KE_DELETED && kfilter_match(&w->f, e->obj);
    bool before = e->old && kfilter_match(&w->f, e->old);
    if (e->type == KE_DELETED) {
        if (before)
            emit(w, "DELETED", e->obj);
    } else if (now && before) {
        emit(w, "MODIFIED", e->obj);
    } else if (now) {
        emit(w, "ADDED", e->obj);
    } else if (before) {
        emit(w, "DELETED", e->obj);
    }
}

static ssize_t watch_reader(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    struct watch_state *w = cls;
    struct serve_ctx *ctx = w->ctx;
    for (;;) {
        if (w->sent_off < w->pending.len) {
            size_t n = w->pending.len - w->sent_off;
            if (n > max)
                n = max;
            memcpy(out, w->pending.data + w->sent_off, n);
            w->sent_off += n;
            if (w->sent_off == w->pending.len) {
                buf_reset(&w->pending);
                w->sent_off = 0;
            }
            pthread_mutex_lock(&ctx->counters.mu);
            ctx->counters.bytes_sent += n;
            pthread_mutex_unlock(&ctx->counters.mu);
            return (ssize_t)n;
        }
        if (w->ending || ctx->stopping || ctx->api_down)
            return MHD_CONTENT_READER_END_OF_STREAM;
        double now = mono();
        if (now >= w->deadline ||
            (ctx->faults.cut_watch_after_s > 0 && now - w->started >= ctx->faults.cut_watch_after_s) ||
            (ctx->faults.cut_watch_after_events > 0 && w->events_sent >= ctx->faults.cut_watch_after_events))
            return MHD_CONTENT_READER_END_OF_STREAM;
        uint64_t current = kstore_current_rv(ctx->store);
        struct kevent evs[256];
        size_t n = 0;
        uint64_t oldest = 0;
        if (kstore_events_since(ctx->store, w->res, w->last_rv, evs, 256, &n, &oldest) == KS_GONE) {
            char msg[160];
            snprintf(msg, sizeof msg, "too old resource version: %llu (%llu)", (unsigned long long)w->last_rv,
                     (unsigned long long)oldest + 1);
            cJSON *st = status_object(410, "Expired", msg, NULL, NULL);
            char *text = cJSON_PrintUnformatted(st);
            cJSON_Delete(st);
            buf_printf(&w->pending, "{\"type\":\"ERROR\",\"object\":%s}\n", text ? text : "{}");
            free(text);
            w->ending = true;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (!(ctx->faults.cut_watch_after_events > 0 && w->events_sent >= ctx->faults.cut_watch_after_events)) {
                emit_event(w, &evs[i]);
                w->last_rv = evs[i].rv;
            }
            kevent_release(&evs[i]);
        }
        if (n > 0)
            continue;
        /* a watch from a resourceVersion the server has not reached (asked of a server whose state
         * was lost or restored) is held open without events or bookmarks, as kube-apiserver does */
        if (w->bookmarks && now >= w->next_bookmark && current >= w->last_rv) {
            /* no events up to `current` are pending for us: it is a safe place to resume from */
            if (current > w->last_rv)
                w->last_rv = current;
            emit_bookmark(w, w->last_rv, false);
            w->next_bookmark = now + ctx->bookmark_interval_s;
            continue;
        }
        double wait = w->deadline - now;
        if (wait > 0.25)
            wait = 0.25;
        kstore_wait(ctx->store, current, wait);
    }
}

static void watch_free(void *cls)
{
    struct watch_state *w = cls;
    kfilter_release(&w->f);
    buf_release(&w->pending);
    free(w);
}

static enum MHD_Result do_watch(struct MHD_Connection *c, struct serve_ctx *ctx, struct kresource *res,
                                const struct api_request *r, const char *method, const char *url)
{
    const struct kresource_def *d = kresource_def(res);
    struct watch_state *w = calloc(1, sizeof *w);
    if (!w)
        return MHD_NO;
    char err[512];
    if (kfilter_init(&w->f, r, err, sizeof err) != 0) {
        kfilter_release(&w->f);
        free(w);
        return send_status(c, ctx, 400, "BadRequest", err, NULL, NULL, method, url);
    }
    /* a namespaced watch sees only its namespace */
    if (r->namespace_ && d->namespaced && !w->f.field_ns)
        w->f.field_ns = strdup(r->namespace_);
    w->ctx = ctx;
    w->res = res;
    w->bookmarks = r->allow_bookmarks;
    snprintf(w->kind, sizeof w->kind, "%s", d->kind);
    snprintf(w->api_version, sizeof w->api_version, "%s%s%s", d->group, d->group[0] ? "/" : "", d->version);
    buf_init(&w->pending, 64u << 20);
    w->started = mono();
    /* the API server ends a watch after timeoutSeconds, or a random 30-60 minutes */
    w->deadline = w->started + (r->timeout_seconds > 0 ? (double)r->timeout_seconds : 1800.0 + (double)(rand() % 1800));
    w->next_bookmark = w->started + ctx->bookmark_interval_s;
    bool initial = !r->resource_version || !r->resource_version[0] || strcmp(r->resource_version, "0") == 0 ||
                   r->send_initial_events;
    if (initial) {
        struct ksnapshot snap;
        if (kstore_snapshot(ctx->store, res, r->namespace_, &snap) != 0) {
            watch_free(w);
            return send_status(c, ctx, 500, "InternalError", "out of memory", NULL, NULL, method, url);
        }
        long cut = ctx->faults.cut_watch_after_events;
        for (size_t i = 0; i < snap.n && !(cut > 0 && w->events_sent >= cut); i++)
            if (kfilter_match(&w->f, snap.items[i]))
                emit(w, "ADDED", snap.items[i]);
        w->last_rv = snap.rv;
        if (r->send_initial_events && r->allow_bookmarks)
            emit_bookmark(w, snap.rv, true);
        ksnapshot_release(&snap);
    } else {
        char *end;
        unsigned long long rv = strtoull(r->resource_version, &end, 10);
        if (*end || r->resource_version[0] == '-') {
            watch_free(w);
            snprintf(err, sizeof err, "invalid resource version \"%.64s\"", r->resource_version);
            return send_status(c, ctx, 400, "BadRequest", err, NULL, NULL, method, url);
        }
        w->last_rv = rv;
    }
    pthread_mutex_lock(&ctx->counters.mu);
    ctx->counters.watch_streams++;
    pthread_mutex_unlock(&ctx->counters.mu);
    struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, watch_reader, w, watch_free);
    if (!resp) {
        watch_free(w);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
    count_response(ctx, 0, 200, method, url);
    enum MHD_Result rr = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    return rr;
}

/* ------------------------------------------------------------------------------------------ */
/* Writes                                                                                       */

static int get_replicas(const cJSON *obj, double *out)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "spec"), "replicas");
    *out = cJSON_IsNumber(r) ? r->valuedouble : 1;
    return 0;
}

/* The Scale view of a workload (autoscaling/v1). */
static cJSON *scale_of(const struct kobj *o)
{
    cJSON *obj = cJSON_Parse(o->text);
    cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "Scale");
    cJSON_AddStringToObject(s, "apiVersion", "autoscaling/v1");
    cJSON *m = cJSON_AddObjectToObject(s, "metadata");
    static const char *keep[] = {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"};
    for (size_t i = 0; i < 5; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, keep[i]);
        if (v)
            cJSON_AddItemToObject(m, keep[i], cJSON_Duplicate(v, 1));
    }
    double replicas;
    get_replicas(obj, &replicas);
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(s, "spec"), "replicas", replicas);
    cJSON *st = cJSON_AddObjectToObject(s, "status");
    const cJSON *sr = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "status"), "replicas");
    cJSON_AddNumberToObject(st, "replicas", cJSON_IsNumber(sr) ? sr->valuedouble : 0);
    /* status.selector: the label selector as a string */
    const cJSON *ml = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "spec"), "selector"), "matchLabels");
    if (!ml)
        ml = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "spec"), "selector");
    struct buf sel;
    buf_init(&sel, 4096);
    const cJSON *kv;
    cJSON_ArrayForEach(kv, ml) if (cJSON_IsString(kv)) buf_printf(&sel, "%s%s=%s", sel.len ? "," : "", kv->string, kv->valuestring);
    if (sel.len)
        cJSON_AddStringToObject(st, "selector", buf_str(&sel));
    buf_release(&sel);
    cJSON_Delete(obj);
    return s;
}

/* Set spec.replicas (and the status a healthy controller would reach) on a workload. */
static void set_replicas(cJSON *obj, double replicas)
{
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    if (!cJSON_IsObject(spec))
        spec = cJSON_AddObjectToObject(obj, "spec");
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "replicas");
    cJSON_AddNumberToObject(spec, "replicas", replicas);
}

static void settle_status(cJSON *obj)
{
    double replicas;
    get_replicas(obj, &replicas);
    cJSON_DeleteItemFromObjectCaseSensitive(obj, "status");
    cJSON *st = cJSON_AddObjectToObject(obj, "status");
    const cJSON *gen = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "generation");
    cJSON_AddNumberToObject(st, "observedGeneration", cJSON_IsNumber(gen) ? gen->valuedouble + 1 : 1);
    static const char *fields[] = {"replicas", "updatedReplicas", "readyReplicas", "availableReplicas"};
    for (size_t i = 0; i < 4; i++)
        cJSON_AddNumberToObject(st, fields[i], replicas);
}

static const char *header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --audit-log: one line per fact the reliability tests check against (see serve.h). */
static void audit(struct serve_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void audit(struct serve_ctx *ctx, const char *fmt, ...)
{
    if (!ctx->audit)
        return;
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&ctx->counters.mu);
    fprintf(ctx->audit, "%.6f ", wall_now());
    vfprintf(ctx->audit, fmt, ap);
    fputc('\n', ctx->audit);
    fflush(ctx->audit);
    pthread_mutex_unlock(&ctx->counters.mu);
    va_end(ap);
}

/* After a successful write: what the audit log records of it. */
static void audit_write(struct serve_ctx *ctx, struct MHD_Connection *c, struct kresource *res, const struct kobj *out,
                        bool deleted)
{
    if (!ctx->audit)
        return;
    const struct kresource_def *d = kresource_def(res);
    const char *ua = header(c, "User-Agent");
    if (strcmp(d->resource, "nodes") == 0) {
        struct ksnapshot snap = {0};
        if (kstore_snapshot(ctx->store, res, NULL, &snap) == 0)
            audit(ctx, "NODES %zu", snap.n);
        ksnapshot_release(&snap);
    } else if (strcmp(d->resource, "leases") == 0 && !deleted) {
        cJSON *o = cJSON_ParseWithLength(out->text, out->len);
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "spec"), "holderIdentity");
        audit(ctx, "LEASE %s %s", out->name, cJSON_IsString(h) && h->valuestring[0] ? h->valuestring : "-");
        cJSON_Delete(o);
    } else if (d->has_scale && !deleted) {
        cJSON *o = cJSON_ParseWithLength(out->text, out->len);
        const cJSON *rep = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "spec"), "replicas");
        audit(ctx, "WRITE %s/%s %.0f %s", out->ns, out->name, cJSON_IsNumber(rep) ? rep->valuedouble : -1.0, ua ? ua : "-");
        cJSON_Delete(o);
    }
}

/* Read-modify-write with retries on conflict, like the API server's GuaranteedUpdate. */
static enum MHD_Result do_patch_like(struct MHD_Connection *c, struct serve_ctx *ctx, struct kresource *res,
                                     const struct api_request *r, const cJSON *patch, bool strategic, bool scale,
                                     const char *method, const char *url)
{
    const struct kresource_def *d = kresource_def(res);
    char err[512];
    for (int attempt = 0; attempt < 5; attempt++) {
        struct kobj *cur = NULL;
        if (kstore_get(ctx->store, res, r->namespace_, r->name, &cur) != KS_OK) {
            snprintf(err, sizeof err, "%s%s%s \"%s\" not found", d->resource, d->group[0] ? "." : "", d->group, r->name);
            return send_status(c, ctx, 404, "NotFound", err, r->name, d, method, url);
        }
        cJSON *obj = cJSON_Parse(cur->text);
        char rv[32];
        snprintf(rv, sizeof rv, "%llu", (unsigned long long)cur->rv);
        if (scale) {
            cJSON *sc = kpatch_merge(scale_of(cur), patch, false);
            const cJSON *rep = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sc, "spec"), "replicas");
            if (!cJSON_IsNumber(rep) || rep->valuedouble < 0 || rep->valuedouble > 2147483647.0) {
                cJSON_Delete(sc);
                cJSON_Delete(obj);
                kobj_unref(cur);
                return send_status(c, ctx, 422, "Invalid", "Scale.spec.replicas: Invalid value: must be greater than or equal to 0",
                                   r->name, d, method, url);
            }
            set_replicas(obj, rep->valuedouble);
            settle_status(obj);
            cJSON_Delete(sc);
        } else {
            obj = kpatch_merge(obj, patch, strategic);
        }
        kobj_unref(cur);
        /* pin the version we read: a concurrent write makes this attempt conflict and retry */
        cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "resourceVersion");
        cJSON_AddStringToObject(meta, "resourceVersion", rv);
        struct kobj *out = NULL;
        enum kstore_status st = kstore_update(ctx->store, res, r->namespace_, r->name, obj, false, &out, err, sizeof err);
        if (st == KS_CONFLICT)
            continue;
        if (st != KS_OK)
            return send_store_error(c, ctx, st, err, r->name, d, method, url);
        pthread_mutex_lock(&ctx->counters.mu);
        ctx->counters.writes++;
        pthread_mutex_unlock(&ctx->counters.mu);
        audit_write(ctx, c, res, out, false);
        serve_reconcile_pods(ctx, d, out->ns, out->name);
        if (strcmp(d->resource, "nodes") == 0)
            serve_retry_pending(ctx);
        if (scale) {
            cJSON *sc = scale_of(out);
            kobj_unref(out);
            return send_json(c, ctx, 200, sc, method, url);
        }
        return send_kobj(c, ctx, 200, out, method, url);
    }
    return send_status(c, ctx, 409, "Conflict", "too many concurrent updates", r->name, d, method, url);
}

static enum MHD_Result do_write(struct MHD_Connection *c, struct serve_ctx *ctx, struct kresource *res,
                                const struct api_request *r, enum verb v, const char *body, size_t blen,
                                const char *method, const char *url)
{
    const struct kresource_def *d = kresource_def(res);
    char err[512];
    cJSON *in = NULL;
    if (v != V_DELETE) {
        const char *end = NULL;
        in = cJSON_ParseWithLengthOpts(body, blen, &end, 0);
        if (!in)
            return send_status(c, ctx, 400, "BadRequest", "the request body is not valid JSON (propsim accepts JSON only)",
                               NULL, NULL, method, url);
    }
    if (r->dry_run && v != V_DELETE) { /* server-side dry run: validate, echo, store nothing */
        return send_json(c, ctx, v == V_CREATE ? 201 : 200, in, method, url);
    }
    bool is_scale = r->subresource && strcmp(r->subresource, "scale") == 0;
    if (r->subresource && !is_scale && strcmp(r->subresource, "status") != 0) {
        cJSON_Delete(in);
        return send_status(c, ctx, 404, "NotFound", "the server could not find the requested resource", NULL, NULL, method, url);
    }
    if (is_scale && !d->has_scale) {
        cJSON_Delete(in);
        return send_status(c, ctx, 404, "NotFound", "the server could not find the requested resource", NULL, NULL, method, url);
    }
    enum MHD_Result result;
    struct kobj *out = NULL;
    enum kstore_status st;
    switch (v) {
    case V_CREATE:
        st = kstore_create(ctx->store, res, r->namespace_, in, &out, err, sizeof err);
        if (st != KS_OK)
            return send_store_error(c, ctx, st, err, NULL, d, method, url);
        pthread_mutex_lock(&ctx->counters.mu);
        ctx->counters.writes++;
        pthread_mutex_unlock(&ctx->counters.mu);
        audit_write(ctx, c, res, out, false);
        serve_reconcile_pods(ctx, d, out->ns, out->name);
        if (strcmp(d->resource, "nodes") == 0)
            serve_retry_pending(ctx);
        return send_kobj(c, ctx, 201, out, method, url);
    case V_UPDATE:
        if (is_scale) {
            /* PUT of a Scale: its resourceVersion is a precondition on the workload */
            const cJSON *rv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(in, "metadata"), "resourceVersion");
            struct kobj *cur = NULL;
            if (kstore_get(ctx->store, res, r->namespace_, r->name, &cur) != KS_OK) {
                cJSON_Delete(in);
                snprintf(err, sizeof err, "%s%s%s \"%s\" not found", d->resource, d->group[0] ? "." : "", d->group, r->name);
                return send_status(c, ctx, 404, "NotFound", err, r->name, d, method, url);
            }
            char currv[32];
            snprintf(currv, sizeof currv, "%llu", (unsigned long long)cur->rv);
            kobj_unref(cur);
            if (cJSON_IsString(rv) && rv->valuestring[0] && strcmp(rv->valuestring, currv) != 0) {
                cJSON_Delete(in);
                snprintf(err, sizeof err, "Operation cannot be fulfilled on %s%s%s \"%s\": the object has been modified; "
                         "please apply your changes to the latest version and try again",
                         d->resource, d->group[0] ? "." : "", d->group, r->name);
                return send_status(c, ctx, 409, "Conflict", err, r->name, d, method, url);
            }
            cJSON *patch = cJSON_CreateObject();
            const cJSON *spec = cJSON_GetObjectItemCaseSensitive(in, "spec");
            if (spec)
                cJSON_AddItemToObject(patch, "spec", cJSON_Duplicate(spec, 1));
            cJSON_Delete(in);
            result = do_patch_like(c, ctx, res, r, patch, false, true, method, url);
            cJSON_Delete(patch);
            return result;
        }
        if (d->has_scale)
            settle_status(in);
        st = kstore_update(ctx->store, res, r->namespace_, r->name, in, false, &out, err, sizeof err);
        if (st != KS_OK)
            return send_store_error(c, ctx, st, err, r->name, d, method, url);
        pthread_mutex_lock(&ctx->counters.mu);
        ctx->counters.writes++;
        pthread_mutex_unlock(&ctx->counters.mu);
        audit_write(ctx, c, res, out, false);
        serve_reconcile_pods(ctx, d, out->ns, out->name);
        return send_kobj(c, ctx, 200, out, method, url);
    case V_PATCH: {
        const char *ct = header(c, "Content-Type");
        bool strategic = ct && strncmp(ct, "application/strategic-merge-patch+json", 38) == 0;
        bool merge = ct && strncmp(ct, "application/merge-patch+json", 28) == 0;
        if (!strategic && !merge) {
            cJSON_Delete(in);
            return send_status(c, ctx, 415, "UnsupportedMediaType",
                               "propsim supports application/merge-patch+json and application/strategic-merge-patch+json",
                               NULL, NULL, method, url);
        }
        result = do_patch_like(c, ctx, res, r, in, strategic, is_scale, method, url);
        cJSON_Delete(in);
        return result;
    }
    case V_DELETE:
        st = kstore_delete(ctx->store, res, r->namespace_, r->name, &out);
        if (st != KS_OK) {
            snprintf(err, sizeof err, "%s%s%s \"%s\" not found", d->resource, d->group[0] ? "." : "", d->group, r->name);
            return send_store_error(c, ctx, st, err, r->name, d, method, url);
        }
        pthread_mutex_lock(&ctx->counters.mu);
        ctx->counters.writes++;
        pthread_mutex_unlock(&ctx->counters.mu);
        audit_write(ctx, c, res, out, true);
        serve_reconcile_pods(ctx, d, out->ns, out->name); /* garbage-collects its pods */
        if (strcmp(d->resource, "nodes") == 0)
            serve_evict_node(ctx, out->name);
        return send_kobj(c, ctx, 200, out, method, url);
    default:
        cJSON_Delete(in);
        return send_status(c, ctx, 405, "MethodNotAllowed", "method not allowed", NULL, NULL, method, url);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Control endpoints for tests and benchmarks: /propsim/...                                     */

static enum MHD_Result control(struct MHD_Connection *c, struct serve_ctx *ctx, const char *url, const char *method)
{
    const char *what = url + strlen("/propsim/");
    if (strcmp(what, "stats") == 0) {
        cJSON *j = cJSON_CreateObject();
        cJSON *req = cJSON_AddObjectToObject(j, "requests");
        pthread_mutex_lock(&ctx->counters.mu);
        for (int v = 0; v < 7; v++) {
            cJSON *per = cJSON_AddObjectToObject(req, verb_names[v]);
            for (size_t k = 0; k < kstore_resource_count(); k++)
                if (ctx->counters.requests[v][k])
                    cJSON_AddNumberToObject(per, kstore_resource_def(k)->resource, (double)ctx->counters.requests[v][k]);
        }
        cJSON_AddNumberToObject(j, "writes", (double)ctx->counters.writes);
        cJSON_AddNumberToObject(j, "bytesSent", (double)ctx->counters.bytes_sent);
        cJSON_AddNumberToObject(j, "watchStreams", (double)ctx->counters.watch_streams);
        cJSON_AddNumberToObject(j, "errors", (double)ctx->counters.errors);
        pthread_mutex_unlock(&ctx->counters.mu);
        cJSON_AddNumberToObject(j, "resourceVersion", (double)kstore_current_rv(ctx->store));
        cJSON_AddNumberToObject(j, "traceEventsApplied", (double)__atomic_load_n(&ctx->trace_events_applied, __ATOMIC_RELAXED));
        cJSON_AddBoolToObject(j, "traceDone", ctx->trace_done);
        cJSON_AddNumberToObject(j, "storeBytes", (double)kstore_memory(ctx->store));
        return send_json(c, ctx, 200, j, method, url);
    }
    if (strcmp(what, "requests") == 0) {
        struct buf b;
        buf_init(&b, 1 << 20);
        pthread_mutex_lock(&ctx->counters.mu);
        unsigned n = ctx->counters.log_next < 256 ? ctx->counters.log_next : 256;
        for (unsigned i = 0; i < n; i++)
            buf_printf(&b, "%s\n", ctx->counters.log[(ctx->counters.log_next - n + i) % 256]);
        pthread_mutex_unlock(&ctx->counters.mu);
        size_t len = b.len;
        return send_body(c, ctx, 200, buf_take(&b), len, NULL, NULL, method, url);
    }
    if (strcmp(method, "POST") != 0)
        return send_status(c, ctx, 405, "MethodNotAllowed", "use POST", NULL, NULL, method, url);
    pthread_mutex_lock(&ctx->play_mu);
    if (strcmp(what, "pause") == 0) {
        ctx->paused = true;
    } else if (strcmp(what, "resume") == 0) {
        ctx->paused = false;
    } else if (strcmp(what, "step") == 0) {
        const char *n = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "n");
        ctx->paused = true;
        ctx->step_budget += n ? atol(n) : 1;
    } else if (strcmp(what, "stop") == 0 || strcmp(what, "start") == 0) {
        ctx->api_down = strcmp(what, "stop") == 0;
        pthread_mutex_unlock(&ctx->play_mu);
        kstore_wake_all(ctx->store); /* open watches notice and end */
        return send_status(c, ctx, 200, "", ctx->api_down ? "API stopped: requests get 503 until POST /propsim/start"
                                                          : "API serving again", NULL, NULL, method, url);
    } else if (strcmp(what, "faults") == 0) {
        /* change fault injection at run time: fail_rate, fail_code, retry_after, latency_ms,
         * cut_watch_after, cut_watch_events (any subset) */
        const char *v;
        if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fail_rate")))
            ctx->faults.fail_rate = atof(v);
        if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "fail_code")))
            ctx->faults.fail_code = atoi(v) == 429 ? 429 : 500;
        if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "retry_after")))
            ctx->faults.retry_after_s = atoi(v);
        if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "latency_ms")))
            ctx->faults.latency_ms = atoi(v);
        if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cut_watch_after")))
            ctx->faults.cut_watch_after_s = atof(v);
        if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "cut_watch_events")))
            ctx->faults.cut_watch_after_events = atol(v);
        if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "hostile"))) {
            int m = serve_hostile_parse(v);
            if (m < 0) {
                pthread_mutex_unlock(&ctx->play_mu);
                char msg[400];
                snprintf(msg, sizeof msg, "hostile: unknown mode \"%.60s\"; one of %s", v, serve_hostile_names());
                return send_status(c, ctx, 400, "BadRequest", msg, NULL, NULL, method, url);
            }
            ctx->faults.hostile = m;
        }
        if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token"))) {
            /* rotate the accepted bearer token (tests of token rotation); kept for the process' life */
            char *t = strdup(v);
            if (t)
                ctx->token = t;
        }
    } else if (strcmp(what, "compact") == 0) {
        pthread_mutex_unlock(&ctx->play_mu);
        kstore_compact(ctx->store);
        return send_status(c, ctx, 200, "", "history compacted: older resourceVersions now answer 410", NULL, NULL, method, url);
    } else {
        pthread_mutex_unlock(&ctx->play_mu);
        return send_status(c, ctx, 404, "NotFound", "unknown control endpoint", NULL, NULL, method, url);
    }
    pthread_cond_broadcast(&ctx->play_cv);
    pthread_mutex_unlock(&ctx->play_mu);
    return send_status(c, ctx, 200, "", "ok", NULL, NULL, method, url);
}

/* ------------------------------------------------------------------------------------------ */

struct params_iter {
    struct api_request *r;
    char *err;
    size_t errlen;
    int failed;
};

static enum MHD_Result each_param(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct params_iter *it = cls;
    if (!it->failed &&
        apipath_set_param(it->r, key, strlen(key), value ? value : "", value ? strlen(value) : 0, it->err, it->errlen) != 0)
        it->failed = 1;
    return MHD_YES;
}

static bool authorized(struct serve_ctx *ctx, struct MHD_Connection *c)
{
    if (!ctx->token)
        return true;
    const char *h = header(c, "Authorization");
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return false;
    const char *got = h + 7;
    size_t a = strlen(got), b = strlen(ctx->token);
    unsigned diff = (unsigned)(a ^ b);
    for (size_t i = 0; i < a && i < b; i++)
        diff |= (unsigned)(got[i] ^ ctx->token[i]);
    return diff == 0;
}

/* Rebuild "?k=v&..." from the (raw, not unescaped) query arguments. */
static enum MHD_Result append_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    struct buf *b = cls;
    buf_printf(b, "%c%s%s%s", strchr(buf_str(b), '?') ? '&' : '?', key, value ? "=" : "", value ? value : "");
    return MHD_YES;
}

static enum MHD_Result dispatch(struct serve_ctx *ctx, struct MHD_Connection *c, const char *path, const char *url,
                                const char *method, struct request_state *rs)
{
    if (!authorized(ctx, c))
        return send_status(c, ctx, 401, "Unauthorized", "Unauthorized", NULL, NULL, method, url);
    if (rs->too_large)
        return send_status(c, ctx, 413, "RequestEntityTooLarge", "the request body exceeds 3 MiB", NULL, NULL, method, url);
    if (strncmp(path, "/propsim/", 9) == 0)
        return control(c, ctx, path, method);
    if (strncmp(path, "/openapi/v3", 11) == 0 && strcmp(method, "GET") == 0)
        return openapi_v3(c, ctx, path, method);

    if (ctx->audit) {
        const char *ua = header(c, "User-Agent");
        audit(ctx, "REQ %s %.600s %s", method, url, ua ? ua : "-");
    }
    /* fault injection applies to API requests only */
    if (ctx->api_down)
        return send_status(c, ctx, 503, "ServiceUnavailable", "the API server is stopped (propsim /propsim/stop)",
                           NULL, NULL, method, url);
    if (ctx->faults.latency_ms > 0) {
        struct timespec ts = {.tv_sec = ctx->faults.latency_ms / 1000, .tv_nsec = (ctx->faults.latency_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (ctx->faults.fail_rate > 0 && (double)rand() / RAND_MAX < ctx->faults.fail_rate) {
        if (ctx->faults.fail_code == 429) {
            char ra[16];
            snprintf(ra, sizeof ra, "%d", ctx->faults.retry_after_s);
            cJSON *s = status_object(429, "TooManyRequests", "the server has received too many requests and has asked us to try again later", NULL, NULL);
            cJSON *det = cJSON_AddObjectToObject(s, "details");
            cJSON_AddNumberToObject(det, "retryAfterSeconds", ctx->faults.retry_after_s);
            char *text = cJSON_PrintUnformatted(s);
            cJSON_Delete(s);
            return send_body(c, ctx, 429, text, strlen(text), "Retry-After", ra, method, url);
        }
        return send_status(c, ctx, 500, "InternalError", "Internal error occurred: injected fault (propsim --fail-rate)",
                           NULL, NULL, method, url);
    }

    struct api_request r;
    char err[512];
    if (apipath_parse(path, NULL, &r, err, sizeof err) != 0)
        return send_status(c, ctx, 404, "NotFound", err, NULL, NULL, method, url);
    struct params_iter it = {.r = &r, .err = err, .errlen = sizeof err};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, each_param, &it);
    enum MHD_Result result;
    if (it.failed) {
        result = send_status(c, ctx, 400, "BadRequest", err, NULL, NULL, method, url);
        goto done;
    }
    if (r.kind != AP_RESOURCE) {
        result = discovery(c, ctx, &r, method, url);
        goto done;
    }
    struct kresource *res = kstore_find(ctx->store, r.group, r.resource);
    if (!res || strcmp(r.version, "v1") != 0) {
        result = send_status(c, ctx, 404, "NotFound", "the server could not find the requested resource", NULL, NULL,
                             method, url);
        goto done;
    }
    const struct kresource_def *d = kresource_def(res);
    size_t ri = 0;
    for (; ri < kstore_resource_count() && kstore_resource_def(ri) != d; ri++)
        ;
    enum verb v = V_OTHER;
    if (strcmp(method, "GET") == 0)
        v = r.name ? V_GET : (r.watch ? V_WATCH : V_LIST);
    else if (strcmp(method, "POST") == 0 && !r.name)
        v = V_CREATE;
    else if (strcmp(method, "PUT") == 0 && r.name)
        v = V_UPDATE;
    else if (strcmp(method, "PATCH") == 0 && r.name)
        v = V_PATCH;
    else if (strcmp(method, "DELETE") == 0 && r.name)
        v = V_DELETE;
    if (v == V_OTHER) {
        result = send_status(c, ctx, 405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
                             NULL, NULL, method, url);
        goto done;
    }
    pthread_mutex_lock(&ctx->counters.mu);
    ctx->counters.requests[v][ri]++;
    pthread_mutex_unlock(&ctx->counters.mu);
    if (d->namespaced == false && r.namespace_) {
        result = send_status(c, ctx, 404, "NotFound", "the server could not find the requested resource", NULL, NULL, method, url);
        goto done;
    }
    if (d->namespaced && !r.namespace_ && (v != V_LIST && v != V_WATCH)) {
        result = send_status(c, ctx, 404, "NotFound", "the server could not find the requested resource", NULL, NULL, method, url);
        goto done;
    }
    if (ctx->faults.hostile != HOSTILE_NONE && (v == V_LIST || v == V_GET)) {
        char *hb = NULL;
        size_t hl = 0;
        const char *ht = NULL;
        if (serve_hostile_answer((enum hostile_mode)ctx->faults.hostile, v == V_LIST,
                                 r.subresource && strcmp(r.subresource, "scale") == 0, d->kind,
                                 kstore_current_rv(ctx->store), &hb, &hl, &ht)) {
            result = send_body(c, ctx, 200, hb, hl, "Content-Type", ht, method, url);
            goto done;
        }
    }
    switch (v) {
    case V_LIST: result = do_list(c, ctx, res, &r, method, url); break;
    case V_WATCH: result = do_watch(c, ctx, res, &r, method, url); break;
    case V_GET: {
        struct kobj *o = NULL;
        if (kstore_get(ctx->store, res, r.namespace_, r.name, &o) != KS_OK) {
            snprintf(err, sizeof err, "%s%s%s \"%s\" not found", d->resource, d->group[0] ? "." : "", d->group, r.name);
            result = send_status(c, ctx, 404, "NotFound", err, r.name, d, method, url);
        } else if (r.subresource && strcmp(r.subresource, "scale") == 0 && d->has_scale) {
            cJSON *sc = scale_of(o);
            kobj_unref(o);
            result = send_json(c, ctx, 200, sc, method, url);
        } else if (r.subresource && strcmp(r.subresource, "status") != 0) {
            kobj_unref(o);
            result = send_status(c, ctx, 404, "NotFound", "the server could not find the requested resource", NULL, NULL, method, url);
        } else {
            result = send_kobj(c, ctx, 200, o, method, url);
        }
        break;
    }
    default: result = do_write(c, ctx, res, &r, v, buf_str(&rs->body), rs->body.len, method, url); break;
    }
done:
    apipath_release(&r);
    return result;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct serve_ctx *ctx = cls;
    struct request_state *rs = *con_cls;
    if (!rs) {
        rs = calloc(1, sizeof *rs);
        if (!rs)
            return MHD_NO;
        buf_init(&rs->body, SERVE_MAX_BODY);
        *con_cls = rs;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (buf_append(&rs->body, upload_data, *upload_data_size) != 0)
            rs->too_large = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* the request log shows the path with its query string, as sent */
    struct buf full;
    buf_init(&full, 2 * APIPATH_MAX_URL);
    buf_puts(&full, url);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, append_arg, &full);
    enum MHD_Result result = dispatch(ctx, c, url, buf_str(&full), method, rs);
    buf_release(&full);
    return result;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct request_state *rs = *con_cls;
    if (rs) {
        buf_release(&rs->body);
        free(rs);
        *con_cls = NULL;
    }
}

/* Keep URLs and query values raw: apipath decodes them (once). */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

int serve_http_start(struct serve_ctx *ctx, const char *cert_pem, const char *key_pem, struct MHD_Daemon **out,
                     char *err, size_t errlen)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)ctx->port);
    if (inet_pton(AF_INET, ctx->listen_host, &addr.sin_addr) != 1) {
        snprintf(err, errlen, "--listen: \"%s\" is not an IPv4 address", ctx->listen_host);
        return -1;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (cert_pem)
        flags |= MHD_USE_TLS;
    struct MHD_Daemon *d;
    if (cert_pem)
        d = MHD_start_daemon(flags, 0, NULL, NULL, handle, ctx, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                             MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                             MHD_OPTION_CONNECTION_LIMIT, 2000u, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
                             MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_END);
    else
        d = MHD_start_daemon(flags, 0, NULL, NULL, handle, ctx, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                             MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                             MHD_OPTION_CONNECTION_LIMIT, 2000u, MHD_OPTION_THREAD_STACK_SIZE, (size_t)(512 * 1024),
                             MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "cannot listen on %s:%d (port in use, or bad TLS certificate/key)", ctx->listen_host, ctx->port);
        return -1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (info)
        ctx->port = info->port;
    *out = d;
    return 0;
}
