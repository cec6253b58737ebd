/* propsim serve: writes: create, update (Scale PUT with its resourceVersion precondition),
 * merge and strategic-merge patch (read-modify-write with conflict retries), delete; the Scale
 * view of workloads. See serve_http_internal.h. */
#define _DEFAULT_SOURCE
#include "serve_admit.h"
#include "serve_tokens.h"
#include "serve_http_internal.h"

#include "kvalidate.h"

/* A Node's status is written through its status subresource only, and its spec only through
 * the Node itself: what the other one sends is replaced by the stored value, as kube-apiserver's
 * node strategy does (a kubelet's status PATCH cannot cordon, a PUT of the Node cannot mark it
 * Ready). `obj` is the object to store, `old` the stored one (parsed). */
static void keep_other_half(const struct kresource_def *d, const char *subresource, cJSON *obj, const cJSON *old)
{
    if (strcmp(d->resource, "nodes") != 0 || !old)
        return;
    const char *keep = subresource && strcmp(subresource, "status") == 0 ? "spec" : "status";
    cJSON_DeleteItemFromObjectCaseSensitive(obj, keep);
    const cJSON *was = cJSON_GetObjectItemCaseSensitive(old, keep);
    if (was)
        cJSON_AddItemToObject(obj, keep, cJSON_Duplicate(was, 1));
}

/* kube-apiserver's answer to a body it refuses before storing (kvalidate). */
/* A 422's one field error as the real server lists it in details.causes (kubectl prints the
 * causes: without them it says only "The Deployment "x" is invalid"). "K "n" is invalid: FIELD:
 * Invalid value: ...": reason FieldValueInvalid (Required value, Forbidden, Unsupported value
 * likewise); an aggregate of several ("[...]") is left without causes. */
static void add_cause(cJSON *status, const char *message)
{
    static const struct {
        const char *phrase, *reason;
    } kinds[] = {{"Invalid value", "FieldValueInvalid"}, {"Required value", "FieldValueRequired"},
                 {"Forbidden", "FieldValueForbidden"}, {"Unsupported value", "FieldValueNotSupported"}};
    const char *p = strstr(message, " is invalid: ");
    if (!p || p[13] == '[')
        return;
    p += 13;
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        char sep[64];
        snprintf(sep, sizeof sep, ": %s", kinds[i].phrase);
        const char *at = strstr(p, sep);
        if (!at)
            continue;
        char field[512];
        snprintf(field, sizeof field, "%.*s", (int)(at - p < 511 ? at - p : 511), p);
        cJSON *det = cJSON_GetObjectItemCaseSensitive(status, "details");
        cJSON *cause = cJSON_CreateObject();
        cJSON_AddStringToObject(cause, "reason", kinds[i].reason);
        cJSON_AddStringToObject(cause, "message", at + 2);
        cJSON_AddStringToObject(cause, "field", field);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(det, "causes"), cause);
        return;
    }
}

static enum MHD_Result send_verdict(struct MHD_Connection *c, struct serve_ctx *ctx, const struct kvalid_verdict *v,
                                    const char *method, const char *url)
{
    cJSON *st = status_object_details(v->code, v->reason, v->message, v->name, v->group, v->kind);
    if (st && v->code == 422 && cJSON_GetObjectItemCaseSensitive(st, "details"))
        add_cause(st, v->message);
    return send_json(c, ctx, v->code, st, method, url);
}

/* A namespaced object's namespace must exist (404 naming the namespace, as the real server's
 * NamespaceLifecycle admission answers). */
static bool namespace_missing(struct serve_ctx *ctx, const struct kresource_def *d, const char *ns)
{
    if (!d->namespaced || !ns || !ns[0])
        return false;
    struct kobj *o = NULL;
    if (kstore_get(ctx->store, kstore_find(ctx->store, "", "namespaces"), "", ns, &o) != KS_OK)
        return true;
    kobj_unref(o);
    return false;
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
cJSON *scale_of(const struct kobj *o)
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

/* The status a workload's controller reaches when all is well (kubectl rollout status then
 * completes): every replica updated, ready and available, the generation observed. */
void serve_settle_status(cJSON *obj)
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

/* After a successful write: counted, audited, the workload's pods reconciled (a deleted one's
 * garbage-collected), and for a node the scheduler's pending pods retried (or, deleted, its pods
 * evicted). */
static void after_write(struct serve_ctx *ctx, struct MHD_Connection *c, struct kresource *res, const struct kobj *out,
                        bool deleted)
{
    const struct kresource_def *d = kresource_def(res);
    pthread_mutex_lock(&ctx->counters.mu);
    ctx->counters.writes++;
    pthread_mutex_unlock(&ctx->counters.mu);
    audit_write(ctx, c, res, out, deleted);
    serve_reconcile_pods(ctx, d, out->ns, out->name);
    if (strcmp(d->resource, "nodes") == 0) {
        if (deleted) {
            serve_evict_node(ctx, out->name);
        } else {
            serve_node_lifecycle(ctx, out->name);
            serve_retry_pending(ctx);
        }
    }
}

/* Validating admission webhooks (serve_admit): true when one refused, its answer sent. */
static bool refused_by_webhook(struct MHD_Connection *c, struct serve_ctx *ctx, const struct kresource_def *d,
                               const struct api_request *r, const char *op, const char *name, const cJSON *obj,
                               const cJSON *old, const char *method, const char *url, enum MHD_Result *result)
{
    unsigned code = 0;
    cJSON *st = NULL;
    struct admit_result *ar = serve_current_admission();
    if (ar && ar->state == ADMIT_DONE) {
        st = serve_admit_finish(ar, &code); /* the call made while this request was suspended */
    } else if (!serve_admit_needed(ctx, d, r->subresource, op, r->namespace_, obj, old)) {
        return false;
    } else if (ar && serve_admit_start(ctx, c, ar, d, r->subresource, op, r->namespace_, name, obj, old, r->dry_run) == 0) {
        *result = MHD_YES; /* suspended: this handler runs again when the webhook has answered */
        return true;
    } else {
        st = serve_admit(ctx, d, r->subresource, op, r->namespace_, name, obj, old, r->dry_run, &code);
    }
    if (!st)
        return false;
    *result = send_json(c, ctx, code, st, method, url);
    return true;
}

/* The real server's 409 message for a stale resourceVersion. */
static void conflict_text(char *err, size_t len, const struct kresource_def *d, const char *name)
{
    snprintf(err, len, "Operation cannot be fulfilled on %s%s%s \"%s\": the object has been modified; please apply "
             "your changes to the latest version and try again", d->resource, d->group[0] ? "." : "", d->group, name);
}

/* Read-modify-write with retries on conflict, like the API server's GuaranteedUpdate. */
enum MHD_Result do_patch_like(struct MHD_Connection *c, struct serve_ctx *ctx, struct kresource *res,
                                     const struct api_request *r, const cJSON *patch, enum patch_type type, bool scale,
                                     const char *method, const char *url)
{
    const struct kresource_def *d = kresource_def(res);
    char err[512];
    for (int attempt = 0; attempt < 5; attempt++) {
        struct kobj *cur = NULL;
        if (kstore_get(ctx->store, res, r->namespace_, r->name, &cur) != KS_OK) {
            return send_not_found(c, ctx, d, r, method, url);
        }
        cJSON *obj = cJSON_Parse(cur->text);
        char rv[32];
        snprintf(rv, sizeof rv, "%llu", (unsigned long long)cur->rv);
        if (scale) {
            cJSON *sc = type == PATCH_JSON ? kpatch_json(scale_of(cur), patch, err, sizeof err) : kpatch_merge(scale_of(cur), patch, false);
            if (!sc) {
                cJSON_Delete(obj);
                kobj_unref(cur);
                return send_status(c, ctx, 422, "Invalid", err, NULL, NULL, method, url); /* as the real server: no details */
            }
            const cJSON *rep = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(sc, "spec"), "replicas");
            if (!cJSON_IsNumber(rep) || rep->valuedouble < 0 || rep->valuedouble > 2147483647.0) {
                cJSON_Delete(sc);
                cJSON_Delete(obj);
                kobj_unref(cur);
                return send_json(c, ctx, 422,
                                 status_object_details(422, "Invalid",
                                                       "Scale.spec.replicas: Invalid value: must be greater than or equal to 0",
                                                       r->name, "autoscaling", "Scale"),
                                 method, url);
            }
            set_replicas(obj, rep->valuedouble);
            serve_settle_status(obj);
            cJSON_Delete(sc);
        } else {
            cJSON *old = cJSON_Duplicate(obj, 1);
            obj = type == PATCH_JSON ? kpatch_json(obj, patch, err, sizeof err) : kpatch_merge(obj, patch, type == PATCH_STRATEGIC);
            if (!obj) {
                cJSON_Delete(old);
                kobj_unref(cur);
                return send_status(c, ctx, 422, "Invalid", err, NULL, NULL, method, url); /* as the real server: no details */
            }
            /* a resourceVersion the patch sets is a precondition, as on the real server (the
             * patched object carries it into the update, which conflicts if it moved) */
            const cJSON *prv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"),
                                                                "resourceVersion");
            if (cJSON_IsString(prv) && prv->valuestring[0] && strcmp(prv->valuestring, rv) != 0) {
                cJSON_Delete(old);
                cJSON_Delete(obj);
                kobj_unref(cur);
                conflict_text(err, sizeof err, d, r->name);
                return send_status(c, ctx, 409, "Conflict", err, r->name, d, method, url);
            }
            keep_other_half(d, r->subresource, obj, old);
            struct kvalid_verdict verdict; /* the patched object is validated as an update's */
            if (kvalidate_object(d, r->subresource, r->name, r->namespace_, obj, false, &verdict)) {
                cJSON_Delete(old);
                cJSON_Delete(obj);
                kobj_unref(cur);
                return send_verdict(c, ctx, &verdict, method, url);
            }
            enum MHD_Result refused;
            if (refused_by_webhook(c, ctx, d, r, "UPDATE", r->name, obj, old, method, url, &refused)) {
                cJSON_Delete(old);
                cJSON_Delete(obj);
                kobj_unref(cur);
                return refused;
            }
            cJSON_Delete(old);
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
        after_write(ctx, c, res, out, false);
        if (scale) {
            cJSON *sc = scale_of(out);
            kobj_unref(out);
            return send_json(c, ctx, 200, sc, method, url);
        }
        return send_kobj(c, ctx, 200, out, method, url);
    }
    return send_status(c, ctx, 409, "Conflict", "too many concurrent updates", r->name, d, method, url);
}

/* POST .../serviceaccounts/NAME/token: a TokenRequest, answered as kube-apiserver answers it
 * (serve_tokens issues the token). Consumes `in`. */
static enum MHD_Result token_request(struct MHD_Connection *c, struct serve_ctx *ctx, struct kresource *res,
                                     const struct api_request *r, cJSON *in, const char *method, const char *url)
{
    struct kobj *sa = NULL;
    if (kstore_get(ctx->store, res, r->namespace_, r->name, &sa) != KS_OK) {
        cJSON_Delete(in);
        return send_not_found(c, ctx, kresource_def(res), r, method, url);
    }
    kobj_unref(sa);
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(in, "spec");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(spec, "expirationSeconds");
    double seconds = cJSON_IsNumber(exp) ? exp->valuedouble : 3600;
    if (seconds < 600) {
        char msg[300];
        snprintf(msg, sizeof msg, "TokenRequest.authentication.k8s.io \"%s\" is invalid: spec.expirationSeconds: Invalid "
                 "value: %.0f: may not specify a duration less than 10 minutes", r->name, seconds);
        cJSON_Delete(in);
        return send_json(c, ctx, 422, status_object_details(422, "Invalid", msg, r->name, "authentication.k8s.io", "TokenRequest"),
                         method, url);
    }
    char token[64];
    double expires;
    if (serve_token_issue(r->namespace_, r->name, seconds, token, sizeof token, &expires) != 0) {
        cJSON_Delete(in);
        return send_status(c, ctx, 500, "InternalError", "no randomness for a token", NULL, NULL, method, url);
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "kind", "TokenRequest");
    cJSON_AddStringToObject(out, "apiVersion", "authentication.k8s.io/v1");
    cJSON *md = cJSON_AddObjectToObject(out, "metadata");
    cJSON_AddStringToObject(md, "name", r->name);
    cJSON_AddStringToObject(md, "namespace", r->namespace_);
    cJSON_AddNullToObject(md, "creationTimestamp");
    cJSON *sp = cJSON_AddObjectToObject(out, "spec");
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(spec, "audiences");
    if (cJSON_IsArray(aud) && cJSON_GetArraySize(aud) > 0) {
        cJSON_AddItemToObject(sp, "audiences", cJSON_Duplicate(aud, 1));
    } else {
        cJSON *a = cJSON_AddArrayToObject(sp, "audiences");
        cJSON_AddItemToArray(a, cJSON_CreateString("https://kubernetes.default.svc"));
    }
    cJSON_AddNumberToObject(sp, "expirationSeconds", seconds);
    cJSON_AddNullToObject(sp, "boundObjectRef");
    cJSON *st = cJSON_AddObjectToObject(out, "status");
    cJSON_AddStringToObject(st, "token", token);
    char when[40];
    time_t t = (time_t)expires;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(st, "expirationTimestamp", when);
    cJSON_Delete(in);
    return send_json(c, ctx, 201, out, method, url);
}

enum MHD_Result do_write(struct MHD_Connection *c, struct serve_ctx *ctx, struct kresource *res,
                                const struct api_request *r, enum verb v, const char *body, size_t blen,
                                const char *method, const char *url)
{
    const struct kresource_def *d = kresource_def(res);
    char err[512];
    cJSON *in = NULL;
    const char *ct = header(c, "Content-Type");
    if (v != V_DELETE && ct && strstr(ct, "protobuf")) /* a clear refusal, not "not valid JSON" */
        return send_status(c, ctx, 415, "UnsupportedMediaType",
                           "propsim serve reads JSON bodies only (Content-Type application/json and the patch types); "
                           "this request was sent as application/vnd.kubernetes.protobuf",
                           NULL, NULL, method, url);
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
    if (r->subresource && strcmp(r->subresource, "token") == 0 && strcmp(d->resource, "serviceaccounts") == 0 &&
        v == V_CREATE)
        return token_request(c, ctx, res, r, in, method, url);
    if (r->subresource && !is_scale && strcmp(r->subresource, "status") != 0) {
        cJSON_Delete(in);
        return send_status(c, ctx, 404, "NotFound", "the server could not find the requested resource", NULL, NULL, method, url);
    }
    if (is_scale && !d->has_scale) {
        cJSON_Delete(in);
        return send_status(c, ctx, 404, "NotFound", "the server could not find the requested resource", NULL, NULL, method, url);
    }
    /* the real server's order: decode (400), admission (a namespace that does not exist: 404),
     * then the type's validation (422) */
    struct kvalid_verdict verdict;
    const char *url_name = v == V_UPDATE ? r->name : NULL;
    if ((v == V_CREATE || v == V_UPDATE) && kvalidate_decode(d, r->subresource, url_name, in, &verdict)) {
        cJSON_Delete(in);
        return send_verdict(c, ctx, &verdict, method, url);
    }
    if (v == V_CREATE && namespace_missing(ctx, d, r->namespace_)) {
        cJSON_Delete(in);
        snprintf(err, sizeof err, "namespaces \"%s\" not found", r->namespace_);
        return send_json(c, ctx, 404, status_object_details(404, "NotFound", err, r->namespace_, NULL, "namespaces"), method, url);
    }
    if ((v == V_CREATE || v == V_UPDATE) &&
        kvalidate_object(d, r->subresource, url_name, r->namespace_, in, v == V_CREATE, &verdict)) {
        cJSON_Delete(in);
        return send_verdict(c, ctx, &verdict, method, url);
    }
    enum MHD_Result result;
    struct kobj *out = NULL;
    enum kstore_status st;
    switch (v) {
    case V_CREATE: {
        if (d->has_scale)
            serve_settle_status(in);
        char name[254] = "";
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(in, "metadata"), "name");
        if (cJSON_IsString(n))
            snprintf(name, sizeof name, "%s", n->valuestring);
        if (refused_by_webhook(c, ctx, d, r, "CREATE", name, in, NULL, method, url, &result)) {
            cJSON_Delete(in);
            return result;
        }
        st = kstore_create(ctx->store, res, r->namespace_, in, &out, err, sizeof err);
        if (st != KS_OK)
            return send_store_error(c, ctx, st, err, name, d, method, url);
        after_write(ctx, c, res, out, false);
        return send_kobj(c, ctx, 201, out, method, url);
    }
    case V_UPDATE:
        if (is_scale) {
            /* PUT of a Scale: its resourceVersion is a precondition on the workload */
            const cJSON *rv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(in, "metadata"), "resourceVersion");
            struct kobj *cur = NULL;
            if (kstore_get(ctx->store, res, r->namespace_, r->name, &cur) != KS_OK) {
                cJSON_Delete(in);
                return send_not_found(c, ctx, d, r, method, url);
            }
            char currv[32];
            snprintf(currv, sizeof currv, "%llu", (unsigned long long)cur->rv);
            kobj_unref(cur);
            if (cJSON_IsString(rv) && rv->valuestring[0] && strcmp(rv->valuestring, currv) != 0) {
                cJSON_Delete(in);
                conflict_text(err, sizeof err, d, r->name);
                return send_status(c, ctx, 409, "Conflict", err, r->name, d, method, url);
            }
            cJSON *patch = cJSON_CreateObject();
            const cJSON *spec = cJSON_GetObjectItemCaseSensitive(in, "spec");
            if (spec)
                cJSON_AddItemToObject(patch, "spec", cJSON_Duplicate(spec, 1));
            cJSON_Delete(in);
            result = do_patch_like(c, ctx, res, r, patch, PATCH_MERGE, true, method, url);
            cJSON_Delete(patch);
            return result;
        }
        if (d->has_scale)
            serve_settle_status(in);
        {
            struct kobj *cur = NULL;
            cJSON *old = NULL;
            if (kstore_get(ctx->store, res, r->namespace_, r->name, &cur) == KS_OK) {
                old = cJSON_Parse(cur->text);
                if (strcmp(d->resource, "nodes") == 0)
                    keep_other_half(d, r->subresource, in, old);
                kobj_unref(cur);
            }
            bool refused = refused_by_webhook(c, ctx, d, r, old ? "UPDATE" : "CREATE", r->name, in, old, method, url, &result);
            cJSON_Delete(old);
            if (refused) {
                cJSON_Delete(in);
                return result;
            }
        }
        st = kstore_update(ctx->store, res, r->namespace_, r->name, in, false, &out, err, sizeof err);
        if (st != KS_OK)
            return send_store_error(c, ctx, st, err, r->name, d, method, url);
        after_write(ctx, c, res, out, false);
        return send_kobj(c, ctx, 200, out, method, url);
    case V_PATCH: {
        bool strategic = ct && strncmp(ct, "application/strategic-merge-patch+json", 38) == 0;
        bool merge = ct && strncmp(ct, "application/merge-patch+json", 28) == 0;
        bool json = ct && strncmp(ct, "application/json-patch+json", 27) == 0;
        if (!strategic && !merge && !json) {
            cJSON_Delete(in);
            return send_status(c, ctx, 415, "UnsupportedMediaType",
                               "the body of the request was in an unknown format - accepted media types include: "
                               "application/json-patch+json, application/merge-patch+json, "
                               "application/strategic-merge-patch+json (server-side apply is not emulated)",
                               NULL, NULL, method, url);
        }
        result = do_patch_like(c, ctx, res, r, in, json ? PATCH_JSON : strategic ? PATCH_STRATEGIC : PATCH_MERGE, is_scale,
                               method, url);
        cJSON_Delete(in);
        return result;
    }
    case V_DELETE: {
        struct kobj *cur = NULL;
        if (kstore_get(ctx->store, res, r->namespace_, r->name, &cur) == KS_OK) {
            cJSON *old = cJSON_Parse(cur->text);
            bool refused = refused_by_webhook(c, ctx, d, r, "DELETE", r->name, NULL, old, method, url, &result);
            cJSON_Delete(old);
            if (refused || r->dry_run) { /* a server-side dry run deletes nothing */
                if (!refused)
                    result = send_kobj(c, ctx, 200, cur, method, url);
                else
                    kobj_unref(cur);
                return result;
            }
            kobj_unref(cur);
        }
    }
        st = kstore_delete(ctx->store, res, r->namespace_, r->name, &out);
        if (st != KS_OK) {
            snprintf(err, sizeof err, "%s%s%s \"%s\" not found", d->resource, d->group[0] ? "." : "", d->group, r->name);
            return send_store_error(c, ctx, st, err, r->name, d, method, url);
        }
        after_write(ctx, c, res, out, true);
        if (strcmp(d->resource, "pods") != 0) { /* what the real server answers: a Status (pods: the pod) */
            cJSON *s = status_object_details(200, NULL, NULL, out->name, d->group, d->resource);
            cJSON *o = cJSON_Parse(out->text);
            const cJSON *uid = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "uid");
            if (cJSON_IsString(uid))
                cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(s, "details"), "uid", uid->valuestring);
            cJSON_Delete(o);
            kobj_unref(out);
            return send_json(c, ctx, 200, s, method, url);
        }
        return send_kobj(c, ctx, 200, out, method, url);
    default:
        cJSON_Delete(in);
        return send_status(c, ctx, 405, "MethodNotAllowed", "method not allowed", NULL, NULL, method, url);
    }
}
