/* propsim serve: discovery (/api, /apis, group versions), OpenAPI v3 for kubectl, and LIST with
 * consistent paging from kept snapshots. See serve_http_internal.h. */
#define _DEFAULT_SOURCE
#include "serve_http_internal.h"

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

/* The named API groups served (every one at v1), in discovery order. */
static const char *const api_groups[] = {"apps", "events.k8s.io", "coordination.k8s.io", "admissionregistration.k8s.io"};
#define N_API_GROUPS (sizeof api_groups / sizeof *api_groups)

static bool known_group(const char *group)
{
    for (size_t i = 0; i < N_API_GROUPS; i++)
        if (strcmp(group, api_groups[i]) == 0)
            return true;
    return false;
}

enum MHD_Result discovery(struct MHD_Connection *c, struct serve_ctx *ctx, const struct api_request *r,
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
        for (size_t i = 0; i < N_API_GROUPS; i++)
            cJSON_AddItemToArray(groups, group_entry(api_groups[i]));
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
enum MHD_Result openapi_v3(struct MHD_Connection *c, struct serve_ctx *ctx, const char *url, const char *method)
{
    const char *rest = url + strlen("/openapi/v3");
    cJSON *j = cJSON_CreateObject();
    if (!*rest || strcmp(rest, "/") == 0) {
        cJSON *paths = cJSON_AddObjectToObject(j, "paths");
        for (size_t i = 0; i <= N_API_GROUPS; i++) {
            char gv[128], u[160];
            snprintf(gv, sizeof gv, i ? "apis/%s/v1" : "api/v1", i ? api_groups[i - 1] : "");
            snprintf(u, sizeof u, "/openapi/v3/%s?hash=propsim1", gv);
            cJSON_AddStringToObject(cJSON_AddObjectToObject(paths, gv), "serverRelativeURL", u);
        }
        return send_json(c, ctx, 200, j, method, url);
    }
    const char *group = NULL;
    if (strcmp(rest, "/api/v1") == 0)
        group = "";
    for (size_t i = 0; !group && i < N_API_GROUPS; i++) {
        char gv[128];
        snprintf(gv, sizeof gv, "/apis/%s/v1", api_groups[i]);
        if (strcmp(rest, gv) == 0)
            group = api_groups[i];
    }
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

/* ListOptions as kube-apiserver reads them before listing: resourceVersionMatch's rules (422),
 * and a resourceVersion the server has not reached, which it waits up to 3 s for and then
 * answers 504 "Too large resource version" (what a client of a restored etcd meets). Exact
 * match of an older resourceVersion needs history this emulator does not keep: 410, as if
 * compacted (a known difference: etcd serves it). True when the request was answered. */
static bool list_options_refused(struct MHD_Connection *c, struct serve_ctx *ctx, const struct api_request *r,
                                 const char *method, const char *url, enum MHD_Result *answer)
{
    const char *match = r->resource_version_match && r->resource_version_match[0] ? r->resource_version_match : NULL;
    const char *rvs = r->resource_version && r->resource_version[0] ? r->resource_version : NULL;
    char msg[400];
    msg[0] = '\0';
    if (match && strcmp(match, "Exact") != 0 && strcmp(match, "NotOlderThan") != 0)
        snprintf(msg, sizeof msg, "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Unsupported value: \"%s\": "
                 "supported values: \"Exact\", \"NotOlderThan\", \"\"", match);
    else if (match && !rvs)
        snprintf(msg, sizeof msg, "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: "
                 "resourceVersionMatch is forbidden unless resourceVersion is provided");
    else if (match && strcmp(match, "Exact") == 0 && strcmp(rvs, "0") == 0)
        snprintf(msg, sizeof msg, "ListOptions.meta.k8s.io \"\" is invalid: resourceVersionMatch: Forbidden: "
                 "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"");
    if (msg[0]) {
        *answer = send_json(c, ctx, 422, status_object_details(422, "Invalid", msg, NULL, "meta.k8s.io", "ListOptions"),
                            method, url);
        return true;
    }
    if (!rvs || strcmp(rvs, "0") == 0)
        return false;
    char *end;
    unsigned long long want = strtoull(rvs, &end, 10);
    if (*end)
        return false; /* not one of ours: served as "any", as before */
    uint64_t current = kstore_current_rv(ctx->store);
    for (int i = 0; i < 12 && want > current; i++) { /* the real server waits 3 s for it */
        kstore_wait(ctx->store, current, 0.25);
        current = kstore_current_rv(ctx->store);
    }
    if (want > current) {
        snprintf(msg, sizeof msg, "Timeout: Too large resource version: %llu, current: %llu", want, (unsigned long long)current);
        cJSON *s = status_object_details(504, "Timeout", msg, NULL, NULL, NULL);
        cJSON *det = cJSON_AddObjectToObject(s, "details");
        cJSON *cause = cJSON_CreateObject();
        cJSON_AddStringToObject(cause, "reason", "ResourceVersionTooLarge");
        cJSON_AddStringToObject(cause, "message", "Too large resource version");
        cJSON_AddItemToArray(cJSON_AddArrayToObject(det, "causes"), cause);
        cJSON_AddNumberToObject(det, "retryAfterSeconds", 1);
        *answer = send_json(c, ctx, 504, s, method, url);
        return true;
    }
    if (match && strcmp(match, "Exact") == 0 && want < current) {
        *answer = send_status(c, ctx, 410, "Expired", "The resourceVersion for the provided list is too old.", NULL, NULL,
                              method, url);
        return true;
    }
    return false;
}

enum MHD_Result do_list(struct MHD_Connection *c, struct serve_ctx *ctx, struct kresource *res,
                               const struct api_request *r, const char *method, const char *url)
{
    const struct kresource_def *d = kresource_def(res);
    char err[512];
    struct kfilter f;
    enum MHD_Result refused;
    if (list_options_refused(c, ctx, r, method, url, &refused))
        return refused;
    if (kfilter_init(&f, r, err, sizeof err) != 0) {
        kfilter_release(&f);
        return send_status(c, ctx, 400, "BadRequest", err, NULL, NULL, method, url);
    }
    struct ksnapshot local = {0};
    struct ksnapshot *snap = NULL;
    size_t offset = 0;
    int slot = -1;
    struct kcontinue cont;
    if (r->continue_token && r->continue_token[0]) {
        if (kfilter_parse_continue(r->continue_token, &cont) != 0) {
            kfilter_release(&f);
            return send_status(c, ctx, 400, "BadRequest", "continue key is not valid: malformed token", NULL, NULL,
                               method, url);
        }
        if (!cont.inconsistent) {
            pthread_mutex_lock(&snapshots.mu);
            for (int i = 0; i < MAX_SNAPSHOTS; i++)
                if (snapshots.id[i] == cont.snapshot && snapshots.res[i] == res)
                    slot = i;
        }
        if (!cont.inconsistent && (slot < 0 || cont.rv < kstore_oldest_rv(ctx->store, res))) {
            pthread_mutex_unlock(&snapshots.mu);
            kfilter_release(&f);
            /* as kube-apiserver: the Status carries a continue token for the rest of the list as it
             * is now (after the last item returned), which a client may use knowingly */
            cont.inconsistent = true;
            char token[KFILTER_CONTINUE_MAX];
            kfilter_format_continue(&cont, token);
            cJSON *st = status_object_details(410, "Expired",
                               "The provided continue parameter is too old to display a consistent list result. You "
                               "can start a new list without the continue parameter, or use the continue token in "
                               "this response to retrieve the remainder of the results. Continuing with the provided "
                               "token results in an inconsistent list - objects that were created, modified, or "
                               "deleted between the time the first chunk was returned and now may show up in the list.",
                               NULL, NULL, NULL);
            cJSON *md = cJSON_GetObjectItemCaseSensitive(st, "metadata");
            if (!md)
                md = cJSON_AddObjectToObject(st, "metadata");
            cJSON_AddStringToObject(md, "continue", token);
            return send_json(c, ctx, 410, st, method, url);
        }
        if (cont.inconsistent) { /* the rest of the list as it is now */
            if (kstore_snapshot(ctx->store, res, r->namespace_, &local) != 0) {
                kfilter_release(&f);
                return send_status(c, ctx, 500, "InternalError", "out of memory", NULL, NULL, method, url);
            }
            snap = &local;
            while (offset < snap->n && (strcmp(snap->items[offset]->ns, cont.ns) < 0 ||
                                        (strcmp(snap->items[offset]->ns, cont.ns) == 0 &&
                                         strcmp(snap->items[offset]->name, cont.name) <= 0)))
                offset++;
        } else {
            snap = &snapshots.snap[slot];
            offset = cont.offset;
            /* the lock is held while this page is written from the kept snapshot */
        }
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
    /* where this page ends, then the head (its continue token and remainingItemCount name that
     * end), then the items copied once, straight into the answer */
    bool every = kfilter_is_empty(&f);
    size_t i = offset, emitted = 0;
    for (; i < snap->n && (limit <= 0 || emitted < (size_t)limit); i++)
        if (every || kfilter_match(&f, snap->items[i]))
            emitted++;
    /* what the rest of the list holds: every item when nothing filters (not counted one by one:
     * per page that was a pass over the whole collection, a third of the emulator's CPU serving
     * 65,000 nodes in pages of 500) */
    size_t remaining = 0;
    if (every)
        remaining = snap->n - i;
    else
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
        struct kcontinue next = {.snapshot = snapshots.id[slot], .offset = i, .rv = snap->rv};
        const struct kobj *last = snap->items[i - 1]; /* i > offset: at least one item was looked at */
        snprintf(next.ns, sizeof next.ns, "%s", last->ns);
        snprintf(next.name, sizeof next.name, "%s", last->name);
        char token[KFILTER_CONTINUE_MAX];
        kfilter_format_continue(&next, token);
        buf_printf(&b, ",\"continue\":\"%s\",\"remainingItemCount\":%zu", token, remaining);
    }
    buf_puts(&b, "},\"items\":[");
    emitted = 0;
    for (size_t k = offset; k < i; k++) {
        if (!every && !kfilter_match(&f, snap->items[k]))
            continue;
        if (emitted++)
            buf_putc(&b, ',');
        buf_append(&b, snap->items[k]->text, snap->items[k]->len);
    }
    buf_puts(&b, "]}");
    if (slot >= 0)
        pthread_mutex_unlock(&snapshots.mu);
    ksnapshot_release(&local);
    kfilter_release(&f);
    if (b.failed) {
        buf_release(&b);
        return send_status(c, ctx, 500, "InternalError", "list too large", NULL, NULL, method, url);
    }
    size_t len = b.len;
    return send_readable(c, ctx, d, buf_take(&b), len, method, url);
}
