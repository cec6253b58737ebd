#define _DEFAULT_SOURCE
#include "reflector.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "watchsplit.h"

enum phase { PH_IDLE, PH_LISTING, PH_WATCHING, PH_BACKOFF };

struct reflector {
    struct ev_loop *loop;
    struct kclient *client;
    struct reflector_opts o;
    struct reflector_sink sink;
    void *ctx;
    enum phase phase;
    struct kreq *req;
    ev_timer retry;    /* backoff before the next attempt */
    ev_timer idle;     /* no bytes on the watch for too long */
    double backoff;
    bool synced;
    bool need_relist;  /* set by an ERROR 410 event inside the stream */
    char rv[64];
    char continue_token[1024];
    struct watch_splitter split;
    struct reflector_stats stats;
};

bool reflector_synced(const struct reflector *r) { return r->synced; }
const struct reflector_stats *reflector_stats(const struct reflector *r) { return &r->stats; }
const char *reflector_resource_version(const struct reflector *r) { return r->rv; }

static void start_list(struct reflector *r);
static void start_watch(struct reflector *r);

static void report(struct reflector *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct reflector *r, const char *fmt, ...)
{
    char msg[768];
    int n = snprintf(msg, sizeof msg, "%s: ", r->o.name);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    r->stats.errors++;
    if (r->sink.error)
        r->sink.error(r->ctx, msg);
}

static double jitter(double v) { return v * (0.8 + 0.4 * ((double)rand() / RAND_MAX)); }

/* Retry after a failure: relist or rewatch after backoff (or the server's Retry-After). */
static void schedule_retry(struct reflector *r, double retry_after)
{
    double delay = retry_after > 0 ? retry_after : jitter(r->backoff);
    r->backoff = r->backoff * 2 > r->o.backoff_max_s ? r->o.backoff_max_s : r->backoff * 2;
    r->phase = PH_BACKOFF;
    ev_timer_stop(r->loop, &r->retry);
    ev_timer_set(&r->retry, delay, 0.);
    ev_timer_start(r->loop, &r->retry);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct reflector *r = w->data;
    if (r->rv[0] && !r->need_relist && r->synced)
        start_watch(r);
    else
        start_list(r);
}

static void idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct reflector *r = w->data;
    if (r->phase != PH_WATCHING || !r->req)
        return;
    /* the stream went silent past its own timeout: assume a dead peer, start over */
    kreq_cancel(r->req);
    r->req = NULL;
    report(r, "watch silent for too long, restarting it");
    r->stats.watch_restarts++;
    start_watch(r);
}

static void append_selectors(const struct reflector *r, char *path, size_t len)
{
    char esc[2048];
    if (r->o.label_selector && r->o.label_selector[0]) {
        size_t n = strlen(path);
        snprintf(path + n, len - n, "&labelSelector=%s", kclient_escape(r->o.label_selector, esc, sizeof esc));
    }
    if (r->o.field_selector && r->o.field_selector[0]) {
        size_t n = strlen(path);
        snprintf(path + n, len - n, "&fieldSelector=%s", kclient_escape(r->o.field_selector, esc, sizeof esc));
    }
}

/* ------------------------------------------------------------------------------------------ */
/* LIST                                                                                         */

static void list_done(void *ctx, long status, const char *body, size_t len, const char *err, double retry_after)
{
    struct reflector *r = ctx;
    r->req = NULL;
    if (status == 410 && r->continue_token[0]) {
        /* the continue token expired between pages: start the list again */
        r->stats.expired++;
        r->continue_token[0] = '\0';
        start_list(r);
        return;
    }
    if (status != 200) {
        if (status == 0)
            report(r, "list failed: %s", err);
        else
            report(r, "list answered HTTP %ld", status);
        r->continue_token[0] = '\0';
        schedule_retry(r, status == 429 || status == 503 ? retry_after : 0);
        return;
    }
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    const cJSON *cont = cJSON_GetObjectItemCaseSensitive(meta, "continue");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(meta, "resourceVersion");
    if (!cJSON_IsArray(items) && !cJSON_IsNull(items) && items) {
        cJSON_Delete(root);
        report(r, "list response is not a list");
        schedule_retry(r, 0);
        return;
    }
    if (!root || !cJSON_IsString(rv)) {
        cJSON_Delete(root);
        report(r, "list response without metadata.resourceVersion");
        schedule_retry(r, 0);
        return;
    }
    r->stats.list_pages++;
    const cJSON *it;
    cJSON_ArrayForEach(it, items) r->sink.item(r->ctx, it);
    if (cJSON_IsString(cont) && cont->valuestring[0]) {
        snprintf(r->continue_token, sizeof r->continue_token, "%s", cont->valuestring);
        cJSON_Delete(root);
        start_list(r);
        return;
    }
    snprintf(r->rv, sizeof r->rv, "%s", rv->valuestring);
    cJSON_Delete(root);
    r->continue_token[0] = '\0';
    r->need_relist = false;
    r->synced = true;
    r->backoff = r->o.backoff_initial_s;
    r->sink.list_end(r->ctx, r->rv);
    start_watch(r);
}

static void start_list(struct reflector *r)
{
    char path[4096], esc[2048];
    if (!r->continue_token[0]) {
        if (r->stats.lists++)
            r->stats.relists++;
        r->sink.list_begin(r->ctx);
    }
    snprintf(path, sizeof path, "%s?limit=%ld", r->o.path, r->o.page_size);
    if (r->continue_token[0]) {
        size_t n = strlen(path);
        snprintf(path + n, sizeof path - n, "&continue=%s", kclient_escape(r->continue_token, esc, sizeof esc));
    }
    append_selectors(r, path, sizeof path);
    r->phase = PH_LISTING;
    struct kreq_opts o = {.method = "GET", .path = path, .timeout_s = 120};
    r->req = kclient_request(r->client, &o, NULL, list_done, r);
    if (!r->req)
        schedule_retry(r, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* WATCH                                                                                        */

static int on_line(void *ctx, const char *line, size_t len)
{
    struct reflector *r = ctx;
    struct watch_event ev;
    char err[256];
    if (watch_event_parse(line, len, &ev, err, sizeof err) != 0) {
        report(r, "bad watch event: %s", err);
        return 0; /* skip it; the stream itself is fine */
    }
    int rc = 0;
    if (ev.type == WEV_ERROR) {
        if (ev.error_code == 410) {
            r->stats.expired++;
            r->need_relist = true;
        } else {
            report(r, "watch ERROR event: %s (%d)", ev.error_message, ev.error_code);
        }
        rc = 1; /* end this stream */
    } else {
        if (ev.resource_version)
            snprintf(r->rv, sizeof r->rv, "%s", ev.resource_version);
        if (ev.type != WEV_BOOKMARK) {
            r->stats.events++;
            r->sink.event(r->ctx, ev.type, ev.object);
        }
    }
    watch_event_release(&ev);
    return rc;
}

static int watch_data(void *ctx, const char *data, size_t len)
{
    struct reflector *r = ctx;
    ev_timer_again(r->loop, &r->idle);
    r->backoff = r->o.backoff_initial_s;
    char err[256];
    int rc = watch_splitter_feed(&r->split, data, len, on_line, r, err, sizeof err);
    if (rc < 0)
        report(r, "%s", err);
    return rc != 0;
}

static void watch_done(void *ctx, long status, const char *body, size_t len, const char *err, double retry_after)
{
    (void)body;
    (void)len;
    struct reflector *r = ctx;
    r->req = NULL;
    ev_timer_stop(r->loop, &r->idle);
    if (r->need_relist || status == 410) {
        r->need_relist = true;
        start_list(r);
        return;
    }
    if (status == 200 && !err) {
        /* the server ended the watch (timeoutSeconds): continue from the last resourceVersion */
        r->stats.watch_restarts++;
        start_watch(r);
        return;
    }
    if (status == 0)
        report(r, "watch failed: %s", err);
    else
        report(r, "watch answered HTTP %ld", status);
    r->stats.watch_restarts++;
    schedule_retry(r, status == 429 || status == 503 ? retry_after : 0);
}

static void start_watch(struct reflector *r)
{
    char path[4096];
    long timeout = r->o.watch_timeout_s + (long)(rand() % (r->o.watch_timeout_s + 1));
    snprintf(path, sizeof path, "%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%ld", r->o.path,
             r->rv, timeout);
    append_selectors(r, path, sizeof path);
    watch_splitter_release(&r->split);
    watch_splitter_init(&r->split, 16u << 20);
    r->phase = PH_WATCHING;
    r->stats.watches++;
    struct kreq_opts o = {.method = "GET", .path = path, .stream = true};
    r->req = kclient_request(r->client, &o, watch_data, watch_done, r);
    if (!r->req) {
        schedule_retry(r, 0);
        return;
    }
    ev_timer_set(&r->idle, 0., (double)timeout + 60);
    ev_timer_again(r->loop, &r->idle);
}

/* ------------------------------------------------------------------------------------------ */

struct reflector *reflector_new(struct ev_loop *loop, struct kclient *client, const struct reflector_opts *o,
                                const struct reflector_sink *sink, void *ctx)
{
    struct reflector *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->loop = loop;
    r->client = client;
    r->o = *o;
    if (r->o.page_size <= 0)
        r->o.page_size = 500;
    if (r->o.watch_timeout_s <= 0)
        r->o.watch_timeout_s = 300;
    if (r->o.backoff_initial_s <= 0)
        r->o.backoff_initial_s = 0.2;
    if (r->o.backoff_max_s <= 0)
        r->o.backoff_max_s = 30;
    r->backoff = r->o.backoff_initial_s;
    r->sink = *sink;
    r->ctx = ctx;
    ev_init(&r->retry, retry_cb);
    r->retry.data = r;
    ev_init(&r->idle, idle_cb);
    r->idle.data = r;
    watch_splitter_init(&r->split, 16u << 20);
    return r;
}

void reflector_start(struct reflector *r) { start_list(r); }

void reflector_free(struct reflector *r)
{
    if (!r)
        return;
    if (r->req)
        kreq_cancel(r->req);
    ev_timer_stop(r->loop, &r->retry);
    ev_timer_stop(r->loop, &r->idle);
    watch_splitter_release(&r->split);
    free(r);
}

void reflector_relist(struct reflector *r)
{
    if (r->phase == PH_LISTING)
        return; /* a list is already under way */
    if (r->req) {
        kreq_cancel(r->req);
        r->req = NULL;
    }
    ev_timer_stop(r->loop, &r->idle);
    ev_timer_stop(r->loop, &r->retry);
    r->continue_token[0] = '\0';
    start_list(r);
}
