#define _DEFAULT_SOURCE
#include "reflector.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kanswer.h"
#include "krand.h"
#include "liststream.h"
#include "watchsplit.h"

enum phase { PH_IDLE, PH_LISTING, PH_WATCHING, PH_BACKOFF };

struct reflector {
    struct ev_loop *loop;
    struct kclient *client;
    struct reflector_opts o;
    struct reflector_sink sink;
    void *ctx;
    enum phase phase;
    struct kreq *req;  /* the WATCH (a LIST's requests are its pages' below) */
    ev_timer retry;    /* backoff before the next attempt */
    ev_timer idle;     /* no bytes on the watch for too long */
    ev_timer recheck;  /* a count disagreement is probed again a second later */
    double backoff;
    bool synced;
    bool stopped;
    bool untrusted;    /* a watch failed: no decision from the cache until a check passes */
    bool watch_after_check; /* the check is the retry: the watch follows when it answers */
    struct kreq *check_req;
    int disagreements; /* consecutive checks whose count disagreed */
    unsigned long events_at_check; /* stats.events at the previous disagreeing check */
    bool need_relist;  /* set by an ERROR 410 event inside the stream */
    char rv[64];
    char check_rv[64]; /* the cache's resourceVersion when the check was sent */
    /* The sink's count after each of the last events (integer resourceVersions only), to compare
     * a check's answer with the cache as it was at the answer's resourceVersion. */
    struct rv_count {
        unsigned long long rv;
        size_t n;
    } counts[64];
    int counts_len, counts_head;
    /* A LIST's pages: pages[cur] is the one whose end is awaited; pages[cur ^ 1] the next one,
     * asked for as soon as the current one's head told its continue token (kube-apiserver writes
     * metadata before items), so the server prepares it while this one is read: a LIST costs
     * about max(server, client) instead of their sum. Items apply as they arrive, from either page
     * (a LIST's items are distinct objects; the set is judged only at the last page's end), and a
     * page's end is judged only after the page before it ended. */
    struct list_page {
        struct reflector *r;
        struct kreq *req;
        bool active;              /* asked for, its end not yet handled */
        bool answered;            /* ended before the page ahead of it: outcome below */
        bool failed;              /* the outcome: refused, with `error` said, or expired (410) */
        bool expired;
        double retry_after;
        char token[1024];         /* the continue token it was asked with ("" for the first) */
        char head_token[1024];    /* the continue token its head told, "" if none (yet) */
        char next_token[1024];    /* ...and its whole skeleton, once ended well */
        char rv[64];
        struct liststream stream;
        char error[768];          /* why it was refused, "" while it is fine */
    } pages[2];
    int cur;
    size_t list_items;       /* items of this LIST so far, every page */
    struct watch_splitter split;
    struct reflector_stats stats;
};

bool reflector_synced(const struct reflector *r) { return r->synced; }
bool reflector_trusted(const struct reflector *r) { return r->synced && !r->untrusted; }
const struct reflector_stats *reflector_stats(const struct reflector *r) { return &r->stats; }
const char *reflector_resource_version(const struct reflector *r) { return r->rv; }

static void start_list(struct reflector *r);
static void start_watch(struct reflector *r);
static bool parse_rv(const char *s, unsigned long long *v);

/* r->rv = the resourceVersion's text, cut to the buffer as snprintf would (once per event: no
 * format string parsed on the hot path) */
static void remember_rv(struct reflector *r, const char *p, size_t len)
{
    if (len > sizeof r->rv - 1)
        len = sizeof r->rv - 1;
    memcpy(r->rv, p, len);
    r->rv[len] = '\0';
}

/* After the cache reached r->rv (a LIST's end, an event, a bookmark): remember its count there. */
static void remember_count(struct reflector *r)
{
    unsigned long long v;
    if (!r->sink.count || !parse_rv(r->rv, &v))
        return;
    if (r->counts_len && r->counts[(r->counts_head + 63) % 64].rv > v)
        r->counts_len = 0; /* a resourceVersion that went back: the history no longer applies */
    r->counts[r->counts_head] = (struct rv_count){v, r->sink.count(r->ctx)};
    r->counts_head = (r->counts_head + 1) % 64;
    if (r->counts_len < 64)
        r->counts_len++;
}

/* The cache's count as it was at resourceVersion v: true when the history says it exactly (it
 * holds the last change at or before v, and either a later one or v itself: events come in
 * resourceVersion order, so none at or before v can still be on its way). */
static bool count_at(const struct reflector *r, unsigned long long v, size_t *n)
{
    for (int i = 0; i < r->counts_len; i++) {
        const struct rv_count *e = &r->counts[(r->counts_head + 63 - i) % 64];
        if (e->rv > v)
            continue;
        if (i == 0 && e->rv != v)
            return false; /* the server is past everything the cache has seen: events may be coming */
        *n = e->n;
        return true;
    }
    return false; /* older than the history */
}

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

/* Retry after a failure: relist or rewatch after a jittered, doubling backoff, never sooner than
 * the server's Retry-After. */
static void schedule_retry(struct reflector *r, double retry_after)
{
    double delay = krand_jitter(r->backoff, 0.2);
    if (retry_after > delay)
        delay = retry_after;
    if (kclient_retry_wait(r->client) > delay)
        delay = kclient_retry_wait(r->client); /* another answer's Retry-After holds this path too */
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
    if (r->rv[0] && !r->need_relist && r->synced) {
        if (r->untrusted) {
            /* the watch failed: whatever is behind the endpoint must prove it is the same server
             * first (one request per retry: the watch follows the check) */
            r->phase = PH_IDLE;
            r->watch_after_check = true;
            if (reflector_check(r))
                return;
            r->watch_after_check = false;
        }
        start_watch(r);
    } else {
        start_list(r);
    }
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

/* One item of a page arriving, complete (called from the transfer's data callback). */
static int list_item(void *ctx, const char *json, size_t len)
{
    struct list_page *pg = ctx;
    struct reflector *r = pg->r;
    if (++r->list_items > r->o.max_items) {
        /* the sink builds the collection aside: an answer that never ends must not fill memory */
        snprintf(pg->error, sizeof pg->error,
                 "the list holds more than %zu items (is this an API server? the LIST is refused)", r->o.max_items);
        return 1;
    }
    if (r->sink.item_raw && r->sink.item_raw(r->ctx, json, len) == 1)
        return 0;
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!obj || end != json + len) {
        snprintf(pg->error, sizeof pg->error, "item %zu of the page is not JSON (near its byte %zu)",
                 pg->stream.items, end ? (size_t)(end - json) + 1 : (size_t)1);
        cJSON_Delete(obj);
        return 1;
    }
    r->sink.item(r->ctx, obj);
    cJSON_Delete(obj);
    return 0;
}

/* An item read where it arrived (liststream's item_at); over the cap on items it is left to
 * list_item, which refuses the LIST. */
static int list_item_at(void *ctx, const char *p, size_t avail, size_t *len)
{
    struct list_page *pg = ctx;
    struct reflector *r = pg->r;
    if (r->list_items + 1 > r->o.max_items || r->sink.item_raw_at(r->ctx, p, avail, len) != 1)
        return 0;
    r->list_items++;
    return 1;
}

static int list_data(void *ctx, const char *data, size_t len)
{
    struct list_page *pg = ctx;
    int rc = liststream_feed(&pg->stream, data, len);
    if (rc < 0)
        snprintf(pg->error, sizeof pg->error, "%s", pg->stream.error);
    return rc != 0; /* non-zero aborts the transfer: list_done reports the page's error */
}

static void page_release(struct list_page *pg)
{
    if (pg->req)
        kreq_cancel(pg->req);
    liststream_release(&pg->stream);
    struct reflector *r = pg->r;
    memset(pg, 0, sizeof *pg);
    pg->r = r;
}

static void list_pages_release(struct reflector *r)
{
    page_release(&r->pages[0]);
    page_release(&r->pages[1]);
    r->cur = 0;
}

static void page_head(void *ctx, const char *head, size_t len);
static void list_done(void *ctx, const struct kresp *resp);

/* Ask for the page `token` names ("" the first) into slot `slot`. */
static bool page_start(struct reflector *r, int slot, const char *token)
{
    struct list_page *pg = &r->pages[slot];
    page_release(pg);
    char path[4096], esc[2048];
    snprintf(path, sizeof path, "%s?limit=%ld", r->o.path, r->o.page_size);
    if (token[0]) {
        size_t n = strlen(path);
        snprintf(path + n, sizeof path - n, "&continue=%s", kclient_escape(token, esc, sizeof esc));
    }
    append_selectors(r, path, sizeof path);
    snprintf(pg->token, sizeof pg->token, "%s", token);
    liststream_init(&pg->stream, kclient_max_body(r->client), list_item, pg);
    if (r->sink.item_raw_at)
        pg->stream.item_at = list_item_at;
    pg->stream.head = page_head;
    pg->active = true;
    struct kreq_opts o = {.method = "GET", .path = path, .stream = true, .timeout_s = 120};
    pg->req = kclient_request(r->client, &o, list_data, list_done, pg);
    if (!pg->req) {
        page_release(pg);
        return false;
    }
    return true;
}

/* The next page, asked for now if the current page's token is known and no page is ahead. */
static void page_ahead(struct reflector *r)
{
    struct list_page *cur = &r->pages[r->cur], *next = &r->pages[r->cur ^ 1];
    if (!cur->active || cur->answered || !cur->head_token[0] || next->active)
        return;
    if (page_start(r, r->cur ^ 1, cur->head_token))
        r->stats.list_pages_ahead++;
}

/* A page's head told its continue token (if kanswer_list_head_token reads one): the next page can
 * be asked for now. The page's end re-reads the token from its whole skeleton. */
static void page_head(void *ctx, const char *head, size_t len)
{
    struct list_page *pg = ctx;
    if (kanswer_list_head_token(head, len, pg->head_token, sizeof pg->head_token) &&
        pg == &pg->r->pages[pg->r->cur])
        page_ahead(pg->r);
}

/* A LIST that cannot go on: start over after a backoff (or at once when a token expired). */
static void list_failed(struct reflector *r, const struct list_page *pg)
{
    bool expired = pg->expired;
    double retry_after = pg->retry_after;
    if (!expired)
        report(r, "%s", pg->error);
    list_pages_release(r);
    if (expired) {
        /* the continue token expired between pages: start the list again */
        r->stats.expired++;
        start_list(r);
        return;
    }
    schedule_retry(r, retry_after);
}

/* Handle the pages' ends in order: the current page's, then (if it ended first) the next one's. */
static void list_advance(struct reflector *r)
{
    for (;;) {
        struct list_page *cur = &r->pages[r->cur], *next = &r->pages[r->cur ^ 1];
        if (!cur->answered) {
            if (next->answered && next->failed) /* the LIST cannot complete: do not wait for cur */
                list_failed(r, next);
            return;
        }
        if (cur->failed) {
            list_failed(r, cur);
            return;
        }
        r->stats.list_pages++;
        if (next->active && strcmp(next->token, cur->next_token) != 0) {
            /* the page ahead was asked with a token the page's whole skeleton does not confirm
             * (a head read differently from the whole): its items cannot be trusted, start over */
            snprintf(cur->error, sizeof cur->error,
                     "list refused: the page's continue token read from its head differs from its whole answer");
            list_failed(r, cur);
            return;
        }
        if (cur->next_token[0]) {
            char token[1024];
            snprintf(token, sizeof token, "%s", cur->next_token);
            page_release(cur);
            r->cur ^= 1;
            if (!next->active && !page_start(r, r->cur, token)) {
                schedule_retry(r, 0);
                return;
            }
            page_ahead(r); /* the new current page may have told its token already */
            continue;
        }
        snprintf(r->rv, sizeof r->rv, "%s", cur->rv);
        list_pages_release(r);
        r->need_relist = false;
        r->synced = true;
        r->untrusted = false;
        r->disagreements = 0;
        r->backoff = r->o.backoff_initial_s;
        r->sink.list_end(r->ctx, r->rv);
        r->counts_len = 0;
        remember_count(r);
        start_watch(r);
        return;
    }
}

static void list_done(void *ctx, const struct kresp *resp)
{
    struct list_page *pg = ctx;
    struct reflector *r = pg->r;
    pg->req = NULL;
    pg->answered = true;
    pg->retry_after = resp->retry_after;
    if (resp->status == 410 && pg->token[0]) {
        pg->failed = pg->expired = true;
        list_advance(r);
        return;
    }
    char err[700];
    cJSON *root = NULL;
    struct kanswer_list page;
    const char *skeleton = NULL;
    size_t skeleton_len = 0;
    pg->failed = true;
    if (pg->error[0]) {
        /* refused whole: a malformed page is never counted as (part of) the collection */
        snprintf(err, sizeof err, "%.690s", pg->error);
        snprintf(pg->error, sizeof pg->error, "list refused: %.700s", err);
    } else if (resp->status != 200) {
        if (resp->status == 0)
            snprintf(pg->error, sizeof pg->error, "list failed: %.700s", resp->err);
        else
            snprintf(pg->error, sizeof pg->error, "list answered HTTP %ld", resp->status);
    } else if (liststream_finish(&pg->stream, &skeleton, &skeleton_len) != 0) {
        /* an item read at the end (liststream's carried item) may have been refused by list_item */
        snprintf(err, sizeof err, "%.690s", pg->error[0] ? pg->error : pg->stream.error);
        snprintf(pg->error, sizeof pg->error, "list refused: %.700s", err);
    } else if (kanswer_list_skeleton(resp, skeleton, skeleton_len, r->o.list_kind, pg->stream.items, &root, &page, err,
                                     sizeof err) != 0) {
        snprintf(pg->error, sizeof pg->error, "list refused: %.700s", err);
    } else if (strlen(page.continue_token) >= sizeof pg->next_token) {
        snprintf(pg->error, sizeof pg->error, "list refused: its continue token is longer than %zu bytes",
                 sizeof pg->next_token - 1);
    } else {
        pg->failed = false;
        snprintf(pg->next_token, sizeof pg->next_token, "%s", page.continue_token);
        snprintf(pg->rv, sizeof pg->rv, "%s", page.resource_version);
    }
    cJSON_Delete(root);
    liststream_release(&pg->stream);
    list_advance(r);
}

static void start_list(struct reflector *r)
{
    if (r->stats.lists++)
        r->stats.relists++;
    r->list_items = 0;
    r->sink.list_begin(r->ctx);
    r->phase = PH_LISTING;
    ev_timer_stop(r->loop, &r->recheck);
    if (r->check_req) {
        kreq_cancel(r->check_req); /* the LIST answers whatever the check asked */
        r->check_req = NULL;
    }
    list_pages_release(r);
    if (!page_start(r, 0, ""))
        schedule_retry(r, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* WATCH                                                                                        */

static int on_line(void *ctx, const char *line, size_t len)
{
    struct reflector *r = ctx;
    enum watch_event_type type;
    struct json_span obj, rv = {0};
    /* the shape every server writes, its object checked by the sink's strict decoder as it reads
     * (one pass over the bytes); else the general envelope, checked first */
    bool shaped = r->sink.event_raw && nodejson_event_shape(line, len, &type, &obj) == 1;
    if (r->sink.event_raw && (shaped || nodejson_event_envelope(line, len, &type, &obj) == 1) && type <= WEV_DELETED &&
        r->sink.event_raw(r->ctx, type, obj.p, obj.len, &rv) == 1) {
        /* the same as below, read without a tree */
        r->backoff = r->o.backoff_initial_s;
        if (rv.p)
            remember_rv(r, rv.p, rv.len);
        r->stats.events++;
        remember_count(r);
        return 0;
    }
    struct watch_event ev;
    char err[256];
    if (watch_event_parse(line, len, &ev, err, sizeof err) != 0) {
        report(r, "bad watch event: %s", err);
        return 0; /* skip it; the stream itself is fine */
    }
    int rc = 0;
    r->backoff = r->o.backoff_initial_s; /* a well-formed event: the stream really works */
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
        remember_count(r);
    }
    watch_event_release(&ev);
    return rc;
}

static int watch_data(void *ctx, const char *data, size_t len)
{
    struct reflector *r = ctx;
    ev_timer_again(r->loop, &r->idle);
    char err[256];
    int rc = watch_splitter_feed(&r->split, data, len, on_line, r, err, sizeof err);
    if (rc < 0)
        report(r, "%s", err);
    return rc != 0;
}

static void watch_done(void *ctx, const struct kresp *resp)
{
    struct reflector *r = ctx;
    r->req = NULL;
    ev_timer_stop(r->loop, &r->idle);
    if (r->need_relist || resp->status == 410) {
        /* events were missed (410 Expired): the cache is behind the server by an unknown amount
         * until the LIST completes, so no decision is taken from it meanwhile (under a 500 storm
         * that LIST can take seconds: the reliability suite saw a count written from a cache
         * seconds stale) */
        r->need_relist = true;
        r->untrusted = true;
        start_list(r);
        return;
    }
    if (resp->status == 200 && !resp->err) {
        /* the server ended the watch (timeoutSeconds): continue from the last resourceVersion */
        r->stats.watch_restarts++;
        start_watch(r);
        return;
    }
    if (resp->status == 0) {
        report(r, "watch failed: %s", resp->err);
    } else {
        char what[400];
        kresp_describe(resp, what, sizeof what);
        report(r, "watch answered %s", what);
    }
    /* events may have been missed, or the server behind the endpoint may be another one */
    r->untrusted = true;
    r->stats.watch_restarts++;
    schedule_retry(r, resp->retry_after);
}

static void start_watch(struct reflector *r)
{
    char path[4096];
    long timeout = r->o.watch_timeout_s + (long)(krand_unit() * (double)(r->o.watch_timeout_s + 1));
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
/* Consistency check: is the server behind the endpoint still the one the cache follows?       */

static bool parse_rv(const char *s, unsigned long long *v)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end;
    *v = strtoull(s, &end, 10);
    return *end == '\0';
}

static void check_finished(struct reflector *r)
{
    if (r->sink.checked)
        r->sink.checked(r->ctx, reflector_trusted(r));
}

static void state_lost(struct reflector *r, const char *why)
{
    report(r, "%s: relisting", why);
    r->stats.state_losses++;
    r->disagreements = 0;
    r->untrusted = true; /* until the LIST completes */
    reflector_relist(r);
    check_finished(r);
}

static void check_done(void *ctx, const struct kresp *resp)
{
    struct reflector *r = ctx;
    r->check_req = NULL;
    if (r->stopped || r->phase == PH_LISTING)
        return;
    char err[700];
    cJSON *root = NULL;
    struct kanswer_list page;
    if (resp->status != 200 || kanswer_object(resp, r->o.list_kind, &root, err, sizeof err) != 0 ||
        kanswer_list_page(root, &page, err, sizeof err) != 0) {
        if (resp->status != 200)
            snprintf(err, sizeof err, "HTTP %ld%s%s", resp->status, resp->err ? ": " : "", resp->err ? resp->err : "");
        report(r, "consistency check failed: %s", err);
        cJSON_Delete(root);
        if (r->watch_after_check) {
            r->watch_after_check = false;
            schedule_retry(r, resp->retry_after); /* the API is still failing: back off further */
        }
        check_finished(r); /* nothing learnt: the trust stays as it was */
        return;
    }
    r->backoff = r->o.backoff_initial_s; /* the server answers sanely again */
    if (r->watch_after_check) {
        r->watch_after_check = false;
        r->phase = PH_WATCHING; /* set before the verdict: a state loss below relists instead */
        start_watch(r);
    }
    /* Compared with what the cache held when the check was sent: events the watch delivered
     * while the LIST was answered may be newer than the LIST (a real server answers so too). */
    unsigned long long server_rv = 0, sent_rv = 0;
    bool server_rv_known = parse_rv(page.resource_version, &server_rv);
    if (server_rv_known && parse_rv(r->check_rv, &sent_rv) && server_rv < sent_rv) {
        char why[200];
        snprintf(why, sizeof why, "the API server's resourceVersion went back from %s to %s (its state was lost or restored)",
                 r->check_rv, page.resource_version);
        cJSON_Delete(root);
        state_lost(r, why);
        return;
    }
    bool countable = r->sink.count && (page.remaining >= 0 || !page.continue_token[0]);
    long long server_n = (long long)cJSON_GetArraySize(page.items) + (page.remaining > 0 ? page.remaining : 0);
    cJSON_Delete(root);
    size_t then;
    if (countable && server_rv_known && count_at(r, server_rv, &then)) {
        /* the cache as it was at the answer's very resourceVersion: any difference is a loss */
        if ((long long)then == server_n) {
            r->disagreements = 0;
            r->untrusted = false;
            check_finished(r);
            return;
        }
        char why[200];
        snprintf(why, sizeof why, "at resourceVersion %s the API server holds %lld items where the cache held %zu",
                 page.resource_version, server_n, then);
        state_lost(r, why);
        return;
    }
    long long cache_n = countable ? (long long)r->sink.count(r->ctx) : server_n;
    if (server_n == cache_n) {
        r->disagreements = 0;
        r->untrusted = false;
        check_finished(r);
        return;
    }
    /* a disagreement may be an event still on its way: it counts when it persists while no event
     * arrived, or for ten checks in a row */
    bool quiet = r->disagreements > 0 && r->stats.events == r->events_at_check;
    r->disagreements++;
    if (quiet || r->disagreements >= 10) {
        char why[200];
        snprintf(why, sizeof why, "the API server holds %lld items where the cache holds %lld (%d checks in a row)",
                 server_n, cache_n, r->disagreements);
        state_lost(r, why);
        return;
    }
    r->events_at_check = r->stats.events;
    ev_timer_stop(r->loop, &r->recheck);
    ev_timer_set(&r->recheck, 1.0, 0.);
    ev_timer_start(r->loop, &r->recheck);
    check_finished(r);
}

bool reflector_check(struct reflector *r)
{
    /* in backoff the reflector checks on its own when it retries */
    if (r->stopped || !r->synced || r->phase == PH_LISTING || r->phase == PH_BACKOFF || r->check_req ||
        (kclient_retry_wait(r->client) > 0 && !r->watch_after_check))
        return false;
    char path[4096];
    snprintf(path, sizeof path, "%s?limit=1", r->o.path);
    append_selectors(r, path, sizeof path);
    struct kreq_opts o = {.method = "GET", .path = path, .timeout_s = 10};
    snprintf(r->check_rv, sizeof r->check_rv, "%s", r->rv);
    r->check_req = kclient_request(r->client, &o, NULL, check_done, r);
    if (r->check_req)
        r->stats.checks++;
    return r->check_req != NULL;
}

bool reflector_checking(const struct reflector *r) { return r->check_req != NULL; }

static void recheck_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    reflector_check(w->data);
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
        r->o.backoff_initial_s = 0.8; /* client-go's reflector: 800 ms doubling to 30 s */
    if (r->o.backoff_max_s <= 0)
        r->o.backoff_max_s = 30;
    if (r->o.max_items == 0)
        r->o.max_items = 500000;
    r->backoff = r->o.backoff_initial_s;
    r->sink = *sink;
    r->ctx = ctx;
    ev_init(&r->retry, retry_cb);
    r->retry.data = r;
    ev_init(&r->idle, idle_cb);
    r->idle.data = r;
    ev_init(&r->recheck, recheck_cb);
    r->recheck.data = r;
    r->pages[0].r = r->pages[1].r = r;
    watch_splitter_init(&r->split, 16u << 20);
    return r;
}

void reflector_start(struct reflector *r) { start_list(r); }

void reflector_stop(struct reflector *r)
{
    if (!r)
        return;
    r->stopped = true;
    if (r->req)
        kreq_cancel(r->req);
    list_pages_release(r);
    if (r->check_req)
        kreq_cancel(r->check_req);
    r->req = r->check_req = NULL;
    ev_timer_stop(r->loop, &r->retry);
    ev_timer_stop(r->loop, &r->idle);
    ev_timer_stop(r->loop, &r->recheck);
}

void reflector_free(struct reflector *r)
{
    if (!r)
        return;
    reflector_stop(r);
    watch_splitter_release(&r->split);
    free(r);
}

void reflector_relist(struct reflector *r)
{
    if (r->stopped || r->phase == PH_LISTING)
        return; /* a list is already under way */
    if (r->req) {
        kreq_cancel(r->req);
        r->req = NULL;
    }
    ev_timer_stop(r->loop, &r->idle);
    ev_timer_stop(r->loop, &r->retry);
    start_list(r);
}
