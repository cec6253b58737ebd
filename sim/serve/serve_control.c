/* The control endpoints for tests and benchmarks, /propsim/...: counters and the request log;
 * trace playback (pause, resume, step); faults (compact, stop/start, drain, fail rates, latency,
 * cut watches, hostile answers, token rotation). See serve_http_internal.h. */
#define _DEFAULT_SOURCE
#include "serve_http_internal.h"
#include "serve_park.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "serve_hostile.h"

/* in enum verb order (serve_http_internal.h), for the request counters */
static const char *const verb_names[] = {"get", "list", "watch", "create", "update", "patch", "delete"};

/* ------------------------------------------------------------------------------------------ */
/* Control endpoints for tests and benchmarks: /propsim/...                                     */

enum MHD_Result serve_control(struct MHD_Connection *c, struct serve_ctx *ctx, const char *url, const char *method)
{
    const char *what = url + strlen("/propsim/");
    if (strcmp(what, "stats") == 0) {
        cJSON *j = cJSON_CreateObject();
        cJSON *req = cJSON_AddObjectToObject(j, "requests");
        pthread_mutex_lock(&ctx->counters.mu);
        for (int v = 0; v < 7; v++) {
            cJSON *per = cJSON_AddObjectToObject(req, verb_names[v]);
            for (size_t k = 0; k < kstore_resource_count(); k++) {
                const struct kresource_def *d = kstore_resource_def(k);
                char key[128]; /* a view's counts under resource.group: core Events keep "events" */
                snprintf(key, sizeof key, "%s%s%s", d->resource, d->stored_resource ? "." : "", d->stored_resource ? d->group : "");
                if (ctx->counters.requests[v][k])
                    cJSON_AddNumberToObject(per, key, (double)ctx->counters.requests[v][k]);
            }
        }
        cJSON_AddNumberToObject(j, "writes", (double)ctx->counters.writes);
        cJSON_AddNumberToObject(j, "bytesSent", (double)ctx->counters.bytes_sent);
        cJSON_AddNumberToObject(j, "watchStreams", (double)ctx->counters.watch_streams);
        cJSON_AddNumberToObject(j, "parkedConnections", (double)serve_park_count(ctx->park));
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
    } else if (strcmp(what, "drain") == 0) {
        /* kube-apiserver's graceful termination: no new requests, the open watches keep streaming
         * for a while, then end */
        const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "seconds");
        double secs = v ? atof(v) : 5;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ctx->drain_end = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 + (secs > 0 ? secs : 0);
        ctx->draining = 1;
        pthread_mutex_unlock(&ctx->play_mu);
        serve_park_wake_all(ctx->park); /* parked watches learn their new end */
        char msg[160];
        snprintf(msg, sizeof msg, "draining: new requests get 503; open watches end in %g s", secs);
        return send_status(c, ctx, 200, "", msg, NULL, NULL, method, url);
    } else if (strcmp(what, "stop") == 0 || strcmp(what, "start") == 0) {
        ctx->api_down = strcmp(what, "stop") == 0;
        ctx->draining = 0;
        pthread_mutex_unlock(&ctx->play_mu);
        serve_park_wake_all(ctx->park); /* open watches notice and end */
        return send_status(c, ctx, 200, "", ctx->api_down ? "API stopped: requests get 503 until POST /propsim/start"
                                                          : "API serving again", NULL, NULL, method, url);
    } else if (strcmp(what, "faults") == 0) {
        /* change fault injection at run time: fail_rate, fail_code, retry_after, latency_ms, answer_delay_ms,
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
        if ((v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "answer_delay_ms")))
            ctx->faults.answer_delay_ms = atoi(v);
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
        serve_park_wake_all(ctx->park); /* what parked connections wait for may have changed */
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

