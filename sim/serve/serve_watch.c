/* propsim serve: WATCH streams: resume from a retained resourceVersion, 410 Expired beyond it,
 * bookmarks, label transitions as ADDED/DELETED, a future resourceVersion held without events.
 * See serve_http_internal.h. */
#define _DEFAULT_SOURCE
#include "serve_http_internal.h"

/* ------------------------------------------------------------------------------------------ */
/* WATCH                                                                                        */

/* Events taken from the store at a time (each watcher copies them into its own buffer), the
 * buffer a watcher keeps between bursts, and the most it may hold. */
#define WATCH_BATCH 64
#define WATCH_KEEP_BUFFER (64u << 10)
#define WATCH_MAX_PENDING (64u << 20)

struct watch_state {
    struct serve_ctx *ctx;
    struct MHD_Connection *conn; /* suspended and parked while there is nothing to send */
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

/* When the next BOOKMARK is due, as kube-apiserver's cacher schedules them: every interval (a
 * minute there), and one 2 s before the watch's deadline so that a client resumes from as close to
 * the end as it can; none after that. */
static double next_bookmark_at(const struct watch_state *w, double now)
{
    double at = now + w->ctx->bookmark_interval_s;
    double pre_deadline = w->deadline - 2.0;
    if (pre_deadline < at)
        at = pre_deadline > now ? pre_deadline : w->deadline + 1.0; /* past the end: never */
    return at;
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
                /* sent: a burst's large buffer is given back, so that a thousand idle watchers do
                 * not each keep the memory of their largest burst */
                if (w->pending.alloc > WATCH_KEEP_BUFFER) {
                    buf_release(&w->pending);
                    buf_init(&w->pending, WATCH_MAX_PENDING);
                } else {
                    buf_reset(&w->pending);
                }
                w->sent_off = 0;
            }
            pthread_mutex_lock(&ctx->counters.mu);
            ctx->counters.bytes_sent += n;
            pthread_mutex_unlock(&ctx->counters.mu);
            return (ssize_t)n;
        }
        double now = mono();
        if (w->ending || ctx->stopping || ctx->api_down || (ctx->draining && now >= ctx->drain_end))
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (now >= w->deadline ||
            (ctx->faults.cut_watch_after_s > 0 && now - w->started >= ctx->faults.cut_watch_after_s) ||
            (ctx->faults.cut_watch_after_events > 0 && w->events_sent >= ctx->faults.cut_watch_after_events))
            return MHD_CONTENT_READER_END_OF_STREAM;
        uint64_t current = kstore_current_rv(ctx->store);
        struct kevent evs[WATCH_BATCH];
        size_t n = 0;
        uint64_t oldest = 0;
        if (kstore_events_since(ctx->store, w->res, w->last_rv, evs, WATCH_BATCH, &n, &oldest) == KS_GONE) {
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
            w->next_bookmark = next_bookmark_at(w, now);
            continue;
        }
        /* nothing to send: the connection waits without a thread (serve_park) until the store
         * moves or the next thing this watch must do comes due */
        double until = w->deadline;
        if (w->bookmarks && w->next_bookmark < until)
            until = w->next_bookmark;
        if (ctx->faults.cut_watch_after_s > 0 && w->started + ctx->faults.cut_watch_after_s < until)
            until = w->started + ctx->faults.cut_watch_after_s;
        if (ctx->draining && ctx->drain_end < until)
            until = ctx->drain_end;
        MHD_suspend_connection(w->conn);
        serve_park(ctx->park, w->conn, current, until);
        return 0;
    }
}

static void watch_free(void *cls)
{
    struct watch_state *w = cls;
    kfilter_release(&w->f);
    buf_release(&w->pending);
    free(w);
}

enum MHD_Result do_watch(struct MHD_Connection *c, struct serve_ctx *ctx, struct kresource *res,
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
    if (r->namespace_ && d->namespaced && kfilter_add_namespace(&w->f, r->namespace_) != 0) {
        kfilter_release(&w->f);
        free(w);
        return send_status(c, ctx, 500, "InternalError", "out of memory", NULL, NULL, method, url);
    }
    w->ctx = ctx;
    w->conn = c;
    w->res = res;
    w->bookmarks = r->allow_bookmarks;
    snprintf(w->kind, sizeof w->kind, "%s", d->kind);
    snprintf(w->api_version, sizeof w->api_version, "%s%s%s", d->group, d->group[0] ? "/" : "", d->version);
    buf_init(&w->pending, WATCH_MAX_PENDING);
    w->started = mono();
    /* the API server ends a watch after timeoutSeconds, or a random 30-60 minutes */
    w->deadline = w->started + (r->timeout_seconds > 0 ? (double)r->timeout_seconds : 1800.0 + (double)(rand() % 1800));
    w->next_bookmark = next_bookmark_at(w, w->started);
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
