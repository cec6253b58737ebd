/* HTTP for `propsim serve`: responses, the audit log, /propsim control endpoints, routing and
 * the daemon. Reads, watches and writes live in serve_read.c, serve_watch.c, serve_write.c. */
#define _DEFAULT_SOURCE
#include "serve_admit.h"
#include "serve_tokens.h"
#include "serve_http_internal.h"
#include "serve_park.h"

#include <isa-l/igzip_lib.h>

struct request_state {
    struct buf body;
    bool too_large;
    /* the handler runs again after a connection was suspended (a delay, a webhook call): what
     * it did once it does not do again */
    bool audited;          /* its REQ line is written */
    bool delayed;          /* the latency fault has held it */
    bool counted;          /* counted in the request table */
    bool faults_passed;    /* not chosen for an injected failure */
    struct admit_result admission; /* a webhook's verdict, made off this thread */
};

/* The request this pool thread is handling (serve_current_admission). */
static __thread struct request_state *current_request;

struct admit_result *serve_current_admission(void) { return current_request ? &current_request->admission : NULL; }

/* ------------------------------------------------------------------------------------------ */
/* Responses                                                                                    */

void count_response(struct serve_ctx *ctx, size_t bytes, unsigned code, const char *method, const char *url)
{
    pthread_mutex_lock(&ctx->counters.mu);
    ctx->counters.bytes_sent += bytes;
    if (code >= 400)
        ctx->counters.errors++;
    snprintf(ctx->counters.log[ctx->counters.log_next % 256], sizeof ctx->counters.log[0], "%s %.600s -> %u", method, url, code);
    ctx->counters.log_next++;
    pthread_mutex_unlock(&ctx->counters.mu);
}

/* A body past Go's 4 KiB response buffer goes out chunked, without Content-Length, as
 * kube-apiserver's do (its handlers write the encoded object without declaring a length). */
#define CHUNKED_ABOVE 4096

struct chunked_body {
    char *data;
    size_t len;
    double ready_at;             /* > 0: the answer-delay fault holds the body until then */
    struct MHD_Connection *conn; /* ...parked meanwhile (serve_park) */
    struct serve_park *park;
};

static ssize_t chunked_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct chunked_body *b = cls;
    if (b->ready_at > 0) {
        if (serve_park_now() < b->ready_at) {
            MHD_suspend_connection(b->conn);
            serve_park(b->park, b->conn, SERVE_PARK_ANY_RV, b->ready_at);
            return 0;
        }
        b->ready_at = 0;
    }
    if (pos >= b->len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = b->len - (size_t)pos < max ? b->len - (size_t)pos : max;
    memcpy(out, b->data + pos, n);
    return (ssize_t)n;
}

static void chunked_free(void *cls)
{
    struct chunked_body *b = cls;
    free(b->data);
    free(b);
}

/* kube-apiserver's response compression (APIResponseCompression, on by default since 1.16):
 * gzip at level 1 for a body over 128 KiB when the client accepts gzip; watches are never
 * compressed. *body is replaced by the gzip bytes; false (body untouched) when it does not apply
 * or zlib fails. */
#define GZIP_ABOVE (128 * 1024)
/* the hostile gzip-corrupt mode, for the read this thread answers (set around it in the request
 * handler): the answer gzip'd whatever its size, its CRC made wrong */
static __thread bool corrupt_gzip;

static bool gzip_body(struct MHD_Connection *c, char **body, size_t *len)
{
    const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");
    if ((*len <= GZIP_ABOVE && !corrupt_gzip) || !accept || !strstr(accept, "gzip") || *len > UINT32_MAX / 2)
        return false;
    /* ISA-L's igzip at its level 1: the same gzip bytes any client inflates, made ~5x faster
     * than zlib's level 1 (the emulator's LIST must not be what a client's sync time measures) */
    struct isal_zstream z;
    isal_deflate_init(&z);
    size_t cap = *len + *len / 8 + 1024; /* incompressible input grows a little (stored blocks) */
    uint8_t *level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
    char *out = malloc(cap);
    bool ok = false;
    if (out && level_buf) {
        z.level = 1;
        z.level_buf = level_buf;
        z.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
        z.gzip_flag = IGZIP_GZIP;
        z.end_of_stream = 1;
        z.flush = NO_FLUSH;
        z.next_in = (uint8_t *)*body;
        z.avail_in = (uint32_t)*len;
        z.next_out = (uint8_t *)out;
        z.avail_out = (uint32_t)cap;
        ok = isal_deflate(&z) == COMP_OK && z.internal_state.state == ZSTATE_END;
    }
    free(level_buf);
    if (!ok) {
        free(out);
        return false;
    }
    free(*body);
    *body = out;
    *len = (size_t)z.total_out;
    if (corrupt_gzip && *len >= 8)
        out[*len - 8] ^= 0x5a; /* the trailer's CRC32 */
    return true;
}

enum MHD_Result send_body(struct MHD_Connection *c, struct serve_ctx *ctx, unsigned code, char *body,
                                 size_t len, const char *hname, const char *hvalue, const char *method, const char *url)
{
    struct MHD_Response *resp = NULL;
    /* the answer-delay fault: the answer was read from the store already, and its body is held
     * (the connection parked, no thread waits): watch events written meanwhile reach their
     * watchers first, as they can from a real server */
    bool delayed = ctx->faults.answer_delay_ms > 0 && strcmp(method, "GET") == 0;
    bool gzipped = gzip_body(c, &body, &len);
    struct chunked_body *cb = len > CHUNKED_ABOVE || delayed ? malloc(sizeof *cb) : NULL;
    if (cb) {
        *cb = (struct chunked_body){body, len, delayed ? serve_park_now() + ctx->faults.answer_delay_ms / 1000.0 : 0, c,
                                    ctx->park};
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, chunked_read, cb, chunked_free);
        if (!resp) {
            free(cb);
            free(body);
            return MHD_NO;
        }
    } else {
        resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    }
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    bool typed = hname && strcasecmp(hname, "Content-Type") == 0;
    MHD_add_response_header(resp, "Content-Type", typed ? hvalue : "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-cache, private");
    if (gzipped)
        MHD_add_response_header(resp, "Content-Encoding", "gzip");
    if (hname && !typed)
        MHD_add_response_header(resp, hname, hvalue);
    for (const char *w; (w = serve_admit_take_warning()) != NULL;) /* an admission webhook's warnings */
        MHD_add_response_header(resp, "Warning", w);
    count_response(ctx, len, code, method, url);
    enum MHD_Result r = MHD_queue_response(c, code, resp);
    MHD_destroy_response(resp);
    return r;
}

enum MHD_Result send_json(struct MHD_Connection *c, struct serve_ctx *ctx, unsigned code, cJSON *j,
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

/* A Status as kube-apiserver builds it: details.name, .group (absent for the core group) and
 * .kind (the resource, or the Kind for validation errors); a success carries no message or
 * reason. */
cJSON *status_object_details(unsigned code, const char *reason, const char *message, const char *name,
                             const char *group, const char *kind)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "kind", "Status");
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddObjectToObject(s, "metadata");
    cJSON_AddStringToObject(s, "status", code < 400 ? "Success" : "Failure");
    if (code >= 400) {
        cJSON_AddStringToObject(s, "message", message);
        cJSON_AddStringToObject(s, "reason", reason ? reason : reason_for(code));
    }
    if ((name && name[0]) || kind) {
        cJSON *det = cJSON_AddObjectToObject(s, "details");
        if (name && name[0])
            cJSON_AddStringToObject(det, "name", name);
        if (group && group[0])
            cJSON_AddStringToObject(det, "group", group);
        if (kind)
            cJSON_AddStringToObject(det, "kind", kind);
    }
    cJSON_AddNumberToObject(s, "code", code);
    return s;
}

cJSON *status_object(unsigned code, const char *reason, const char *message, const char *name,
                            const struct kresource_def *d)
{
    return status_object_details(code, reason, message, name, d ? d->group : NULL, d ? d->resource : NULL);
}

/* 404 for r's object: "deployments.apps \"x\" not found", details.kind the resource (and its
 * subresource: "deployments/scale") as kube-apiserver names them. */
enum MHD_Result send_not_found(struct MHD_Connection *c, struct serve_ctx *ctx, const struct kresource_def *d,
                               const struct api_request *r, const char *method, const char *url)
{
    char msg[700], kind[160];
    snprintf(msg, sizeof msg, "%s%s%s \"%s\" not found", d->resource, d->group[0] ? "." : "", d->group, r->name ? r->name : "");
    snprintf(kind, sizeof kind, "%s%s%s", d->resource, r->subresource ? "/" : "", r->subresource ? r->subresource : "");
    return send_json(c, ctx, 404, status_object_details(404, "NotFound", msg, r->name, d->group, kind), method, url);
}

enum MHD_Result send_status(struct MHD_Connection *c, struct serve_ctx *ctx, unsigned code, const char *reason,
                                   const char *message, const char *name, const struct kresource_def *d,
                                   const char *method, const char *url)
{
    return send_json(c, ctx, code, status_object(code, reason, message, name, d), method, url);
}

enum MHD_Result send_kobj(struct MHD_Connection *c, struct serve_ctx *ctx, unsigned code, struct kobj *o,
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

/* A view's object or list in its storage's shape (doc consumed); NULL when out of memory. */
static cJSON *stored_shape(const struct kresource_def *d, cJSON *doc)
{
    cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
    if (!cJSON_IsArray(items)) {
        cJSON *one = d->to_stored(doc);
        cJSON_Delete(doc);
        return one;
    }
    cJSON *converted = cJSON_CreateArray();
    const cJSON *item;
    cJSON_ArrayForEach(item, items) cJSON_AddItemToArray(converted, d->to_stored(item));
    cJSON_ReplaceItemInObjectCaseSensitive(doc, "items", converted);
    return doc;
}

/* A read's answer (owned body text): as it is, or as a Table when the client asks for one
 * (kubectl get), as kube-apiserver's server-side printing. */
enum MHD_Result send_readable(struct MHD_Connection *c, struct serve_ctx *ctx, const struct kresource_def *d, char *body,
                              size_t len, const char *method, const char *url)
{
    if (!ktable_wanted(header(c, "Accept")))
        return send_body(c, ctx, 200, body, len, NULL, NULL, method, url);
    cJSON *doc = cJSON_ParseWithLength(body, len);
    free(body);
    if (doc && d->to_stored) /* a view prints as its storage does (events.k8s.io Events as Events) */
        doc = stored_shape(d, doc);
    cJSON *table = doc ? ktable_build(d->resource, doc, time(NULL)) : NULL;
    cJSON_Delete(doc);
    if (!table)
        return send_status(c, ctx, 500, "InternalError", "out of memory", NULL, NULL, method, url);
    return send_json(c, ctx, 200, table, method, url);
}

enum MHD_Result send_store_error(struct MHD_Connection *c, struct serve_ctx *ctx, enum kstore_status st,
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
/* Request headers and the audit log                                                         */

const char *header(struct MHD_Connection *c, const char *name)
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
void audit_write(struct serve_ctx *ctx, struct MHD_Connection *c, struct kresource *res, const struct kobj *out,
                        bool deleted)
{
    if (!ctx->audit)
        return;
    const struct kresource_def *d = kresource_def(res);
    const char *ua = header(c, "User-Agent");
    if (strcmp(d->resource, "nodes") == 0) {
        audit(ctx, "NODES %zu", kstore_count(ctx->store, res)); /* (no snapshot: the stamp is the write's) */
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
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) /* the scheme is case-insensitive (RFC 7235) */
        return false;
    const char *got = h + 7;
    if (serve_token_valid(got)) /* a ServiceAccount token from a TokenRequest */
        return true;
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
        return serve_control(c, ctx, path, method);
    if (strncmp(path, "/openapi/v3", 11) == 0 && strcmp(method, "GET") == 0)
        return openapi_v3(c, ctx, path, method);

    if (ctx->audit && !rs->audited) {
        const char *ua = header(c, "User-Agent");
        audit(ctx, "REQ %s %.600s %s", method, url, ua ? ua : "-");
        rs->audited = true;
    }
    /* fault injection applies to API requests only */
    if (ctx->api_down)
        return send_status(c, ctx, 503, "ServiceUnavailable", "the API server is stopped (propsim /propsim/stop)",
                           NULL, NULL, method, url);
    if (ctx->draining)
        return send_status(c, ctx, 503, "ServiceUnavailable", "the API server is shutting down (propsim /propsim/drain)",
                           NULL, NULL, method, url);
    if (ctx->faults.latency_ms > 0 && !rs->delayed) {
        /* held without a thread: parked until the latency has passed, then this handler runs
         * again (from the top: what it did so far it does again, or skips when done) */
        rs->delayed = true;
        MHD_suspend_connection(c);
        serve_park(ctx->park, c, SERVE_PARK_ANY_RV, serve_park_now() + ctx->faults.latency_ms / 1000.0);
        return MHD_YES;
    }
    if (ctx->faults.fail_rate > 0 && !rs->faults_passed && (double)rand() / RAND_MAX < ctx->faults.fail_rate) {
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

    rs->faults_passed = true;
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
    if (ri >= sizeof ctx->counters.requests[0] / sizeof ctx->counters.requests[0][0])
        ri = 0; /* (a resource table outgrowing the counters would count under the first) */
    enum verb v = V_OTHER;
    if (strcmp(method, "GET") == 0)
        v = r.name ? V_GET : (r.watch ? V_WATCH : V_LIST);
    else if (strcmp(method, "POST") == 0 && (!r.name || (r.subresource && strcmp(r.subresource, "token") == 0)))
        v = V_CREATE; /* a collection's create, or a ServiceAccount's TokenRequest */
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
    if (!rs->counted) {
        pthread_mutex_lock(&ctx->counters.mu);
        ctx->counters.requests[v][ri]++;
        pthread_mutex_unlock(&ctx->counters.mu);
        rs->counted = true;
    }
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
    corrupt_gzip = ctx->faults.hostile == HOSTILE_GZIP_CORRUPT && (v == V_LIST || v == V_GET);
    switch (v) {
    case V_LIST: result = do_list(c, ctx, res, &r, method, url); break;
    case V_WATCH: result = do_watch(c, ctx, res, &r, method, url); break;
    case V_GET: {
        struct kobj *o = NULL;
        if (kstore_get(ctx->store, res, r.namespace_, r.name, &o) != KS_OK) {
            result = send_not_found(c, ctx, d, &r, method, url);
        } else if (r.subresource && strcmp(r.subresource, "scale") == 0 && d->has_scale) {
            cJSON *sc = scale_of(o);
            kobj_unref(o);
            result = send_json(c, ctx, 200, sc, method, url);
        } else if (r.subresource && strcmp(r.subresource, "status") != 0) {
            kobj_unref(o);
            result = send_status(c, ctx, 404, "NotFound", "the server could not find the requested resource", NULL, NULL, method, url);
        } else {
            char *copy = malloc(o->len + 1);
            size_t len = o->len;
            if (copy)
                memcpy(copy, o->text, o->len + 1);
            kobj_unref(o);
            result = copy ? send_readable(c, ctx, d, copy, len, method, url) : MHD_NO;
        }
        break;
    }
    default: result = do_write(c, ctx, res, &r, v, buf_str(&rs->body), rs->body.len, method, url); break;
    }
done:
    corrupt_gzip = false;
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
    current_request = rs;
    enum MHD_Result result = dispatch(ctx, c, url, buf_str(&full), method, rs);
    current_request = NULL;
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
        serve_admit_result_release(&rs->admission);
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

/* libmicrohttpd's messages, minus the ones about a client that went away: a client closing its
 * watch (kubectl get -w ended, a controller stopping) is normal, and kube-apiserver logs nothing
 * for it. Anything else is said on stderr, prefixed. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    static const char *const gone[] = {"no longer available for sending", "Connection reset", "Broken pipe",
                                       "Failed to receive data", "closed connection", "Failed to send data",
                                       "forcibly closed"};
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
        if (strstr(msg, gone[i]))
            return;
    size_t n = strlen(msg);
    fprintf(stderr, "propsim serve: %s%s", msg, n && msg[n - 1] == '\n' ? "" : "\n");
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
    /* a pool of threads, each with its own epoll loop, serves every connection; one that waits is
     * suspended and parked (serve_park) instead of holding a thread */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (cert_pem)
        flags |= MHD_USE_TLS;
    struct MHD_Daemon *d;
    if (cert_pem)
        d = MHD_start_daemon(flags, 0, NULL, NULL, handle, ctx, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                             MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                             MHD_OPTION_CONNECTION_LIMIT, SERVE_MAX_CONNECTIONS, MHD_OPTION_THREAD_POOL_SIZE, SERVE_THREADS,
                             MHD_OPTION_HTTPS_MEM_CERT, cert_pem, MHD_OPTION_HTTPS_MEM_KEY, key_pem, MHD_OPTION_END);
    else
        d = MHD_start_daemon(flags, 0, NULL, NULL, handle, ctx, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                             MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
                             MHD_OPTION_CONNECTION_LIMIT, SERVE_MAX_CONNECTIONS, MHD_OPTION_THREAD_POOL_SIZE, SERVE_THREADS,
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
