#define _DEFAULT_SOURCE
#include "leader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "kanswer.h"
#include "log.h"

struct leader {
    struct ev_loop *loop;
    struct kclient *client;
    struct leader_opts o;
    char path[1024], collection[512];
    ev_timer tick;
    struct kreq *req;
    bool leading;
    double last_renew;        /* ev_now of our last successful create/renew */
    char seen_record[512];    /* holder + renewTime as last read */
    double seen_changed_at;   /* when seen_record last changed (local clock) */
    char holder[256];
    unsigned long transitions;
    int failures;             /* consecutive failed reads/writes (a standby backs off on them) */
    double not_before;        /* no new attempt before this (backoff, Retry-After) */
    void (*release_done)(void *);
    void *release_ctx;
};

static void micro_time(char *out, size_t len)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    char base[32];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, len, "%s.%06ldZ", base, (long)tv.tv_usec);
}

static void set_leading(struct leader *l, bool leading)
{
    if (l->leading == leading)
        return;
    l->leading = leading;
    LOG_INFO("%s leadership of Lease %s/%s as %s", leading ? "acquired" : "lost", l->o.namespace_, l->o.name, l->o.identity);
    if (l->o.changed)
        l->o.changed(l->o.ctx, leading);
}

bool leader_is_leading(const struct leader *l)
{
    return l->leading && ev_now(l->loop) - l->last_renew < l->o.renew_deadline_s;
}

const char *leader_holder(const struct leader *l) { return l->holder; }
unsigned long leader_transitions(const struct leader *l) { return l->transitions; }

static cJSON *lease_body(const struct leader *l, const cJSON *old, const char *holder, bool acquire)
{
    cJSON *lease = old ? cJSON_Duplicate(old, 1) : cJSON_CreateObject();
    if (!old) {
        cJSON_AddStringToObject(lease, "apiVersion", "coordination.k8s.io/v1");
        cJSON_AddStringToObject(lease, "kind", "Lease");
        cJSON *m = cJSON_AddObjectToObject(lease, "metadata");
        cJSON_AddStringToObject(m, "name", l->o.name);
        cJSON_AddStringToObject(m, "namespace", l->o.namespace_);
    }
    cJSON_DeleteItemFromObjectCaseSensitive(lease, "spec");
    const cJSON *ospec = old ? cJSON_GetObjectItemCaseSensitive(old, "spec") : NULL;
    cJSON *spec = cJSON_AddObjectToObject(lease, "spec");
    char now[40];
    micro_time(now, sizeof now);
    cJSON_AddStringToObject(spec, "holderIdentity", holder);
    cJSON_AddNumberToObject(spec, "leaseDurationSeconds", holder[0] ? (int)l->o.lease_duration_s : 1);
    const cJSON *acq = cJSON_GetObjectItemCaseSensitive(ospec, "acquireTime");
    cJSON_AddStringToObject(spec, "acquireTime", acquire || !cJSON_IsString(acq) ? now : acq->valuestring);
    cJSON_AddStringToObject(spec, "renewTime", now);
    const cJSON *tr = cJSON_GetObjectItemCaseSensitive(ospec, "leaseTransitions");
    double transitions = cJSON_IsNumber(tr) ? tr->valuedouble : 0;
    cJSON_AddNumberToObject(spec, "leaseTransitions", acquire && old ? transitions + 1 : transitions);
    return lease;
}

/* A failed request: a leader keeps trying every retry period (it must renew within its deadline,
 * unless the server asked it to wait); a standby backs off, doubling up to the lease duration, so
 * an API outage does not cost a request every retry period per replica. */
static void note_failure(struct leader *l, const struct kresp *resp)
{
    double now = ev_now(l->loop);
    l->failures++;
    double wait = 0;
    if (!leader_is_leading(l) && l->failures > 1) {
        wait = l->o.retry_period_s;
        for (int i = 1; i < l->failures && wait < l->o.lease_duration_s; i++)
            wait *= 2;
        if (wait > l->o.lease_duration_s)
            wait = l->o.lease_duration_s;
    }
    if (resp->retry_after > wait)
        wait = resp->retry_after;
    l->not_before = now + wait;
}

static void write_done(void *ctx, const struct kresp *resp)
{
    struct leader *l = ctx;
    l->req = NULL;
    if (resp->status == 200 || resp->status == 201) {
        if (!l->leading)
            l->transitions++;
        l->failures = 0;
        l->last_renew = ev_now(l->loop);
        snprintf(l->holder, sizeof l->holder, "%s", l->o.identity);
        set_leading(l, true);
        return;
    }
    /* 409: someone else wrote first; anything else: try again next tick */
    LOG_V(1, "lease %s/%s: write answered HTTP %ld%s%s", l->o.namespace_, l->o.name, resp->status, resp->err ? ": " : "",
          resp->err ? resp->err : "");
    if (resp->status != 409)
        note_failure(l, resp);
    if (!leader_is_leading(l))
        set_leading(l, false);
}

static void put_lease(struct leader *l, cJSON *lease, const char *method)
{
    char *text = cJSON_PrintUnformatted(lease);
    cJSON_Delete(lease);
    if (!text)
        return;
    struct kreq_opts o = {.method = method, .path = strcmp(method, "POST") == 0 ? l->collection : l->path, .body = text,
                          .timeout_s = l->o.renew_deadline_s};
    l->req = kclient_request(l->client, &o, NULL, write_done, l);
    free(text);
}

static void get_done(void *ctx, const struct kresp *resp)
{
    struct leader *l = ctx;
    l->req = NULL;
    double now = ev_now(l->loop);
    if (resp->status == 404) {
        put_lease(l, lease_body(l, NULL, l->o.identity, true), "POST");
        return;
    }
    char err[600];
    cJSON *lease = NULL;
    struct kanswer_lease rec;
    if (resp->status != 200) {
        snprintf(err, sizeof err, "read answered HTTP %ld%s%s", resp->status, resp->err ? ": " : "", resp->err ? resp->err : "");
    } else if (kanswer_object(resp, "Lease", &lease, err, sizeof err) == 0 &&
               kanswer_lease(lease, &rec, err, sizeof err) == 0) {
        err[0] = '\0';
    }
    if (err[0]) {
        /* an answer that cannot be read says nothing about who holds the Lease */
        LOG_V(1, "lease %s/%s: %s", l->o.namespace_, l->o.name, err);
        cJSON_Delete(lease);
        note_failure(l, resp);
        if (l->leading && !leader_is_leading(l))
            set_leading(l, false);
        return;
    }
    l->failures = 0;
    const char *h = rec.holder;
    char record[512];
    snprintf(record, sizeof record, "%s|%s", h, rec.renew_time);
    if (strcmp(record, l->seen_record) != 0) {
        snprintf(l->seen_record, sizeof l->seen_record, "%s", record);
        l->seen_changed_at = now;
    }
    snprintf(l->holder, sizeof l->holder, "%s", h);
    bool mine = strcmp(h, l->o.identity) == 0;
    bool expired = !h[0] || now - l->seen_changed_at > l->o.lease_duration_s;
    if (mine) {
        put_lease(l, lease_body(l, lease, l->o.identity, false), "PUT"); /* renew */
    } else if (expired) {
        put_lease(l, lease_body(l, lease, l->o.identity, true), "PUT"); /* take over */
    } else if (l->leading) {
        set_leading(l, false); /* someone else holds it now */
    }
    cJSON_Delete(lease);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct leader *l = w->data;
    if (l->leading && !leader_is_leading(l))
        set_leading(l, false); /* the renew deadline passed: stop writing now */
    if (l->req || ev_now(l->loop) < l->not_before)
        return; /* the previous attempt is still in flight, or backing off */
    struct kreq_opts o = {.method = "GET", .path = l->path, .timeout_s = l->o.renew_deadline_s};
    l->req = kclient_request(l->client, &o, NULL, get_done, l);
}

struct leader *leader_new(struct ev_loop *loop, struct kclient *client, const struct leader_opts *o)
{
    struct leader *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->loop = loop;
    l->client = client;
    l->o = *o;
    snprintf(l->collection, sizeof l->collection, "/apis/coordination.k8s.io/v1/namespaces/%s/leases", o->namespace_);
    snprintf(l->path, sizeof l->path, "%s/%s", l->collection, o->name);
    ev_init(&l->tick, tick_cb);
    l->tick.data = l;
    return l;
}

void leader_start(struct leader *l)
{
    ev_timer_set(&l->tick, 0., l->o.retry_period_s);
    ev_timer_start(l->loop, &l->tick);
}

static void release_write_done(void *ctx, const struct kresp *resp)
{
    struct leader *l = ctx;
    l->req = NULL;
    if (resp->status == 200)
        LOG_INFO("released Lease %s/%s", l->o.namespace_, l->o.name);
    else
        LOG_WARN("releasing Lease %s/%s failed (HTTP %ld%s%s); it expires on its own", l->o.namespace_, l->o.name,
                 resp->status, resp->err ? ": " : "", resp->err ? resp->err : "");
    if (l->release_done)
        l->release_done(l->release_ctx);
}

static void release_get_done(void *ctx, const struct kresp *resp)
{
    struct leader *l = ctx;
    l->req = NULL;
    char err[600];
    cJSON *lease = NULL;
    struct kanswer_lease rec;
    if (resp->status != 200 || kanswer_object(resp, "Lease", &lease, err, sizeof err) != 0 ||
        kanswer_lease(lease, &rec, err, sizeof err) != 0 || strcmp(rec.holder, l->o.identity) != 0) {
        cJSON_Delete(lease);
        if (l->release_done)
            l->release_done(l->release_ctx);
        return;
    }
    char *text = NULL;
    cJSON *rel = lease_body(l, lease, "", false);
    cJSON_Delete(lease);
    text = cJSON_PrintUnformatted(rel);
    cJSON_Delete(rel);
    struct kreq_opts o = {.method = "PUT", .path = l->path, .body = text, .timeout_s = 2};
    l->req = text ? kclient_request(l->client, &o, NULL, release_write_done, l) : NULL;
    free(text);
    if (!l->req && l->release_done)
        l->release_done(l->release_ctx);
}

void leader_release(struct leader *l, void (*done)(void *ctx), void *ctx)
{
    ev_timer_stop(l->loop, &l->tick);
    l->release_done = done;
    l->release_ctx = ctx;
    bool was = l->leading;
    set_leading(l, false);
    if (l->req) {
        kreq_cancel(l->req);
        l->req = NULL;
    }
    if (!was) {
        if (done)
            done(ctx);
        return;
    }
    struct kreq_opts o = {.method = "GET", .path = l->path, .timeout_s = 2};
    l->req = kclient_request(l->client, &o, NULL, release_get_done, l);
    if (!l->req && done)
        done(ctx);
}

void leader_free(struct leader *l)
{
    if (!l)
        return;
    if (l->req)
        kreq_cancel(l->req);
    ev_timer_stop(l->loop, &l->tick);
    free(l);
}
