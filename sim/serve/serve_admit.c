/* serve_admit — see serve_admit.h. */
#define _DEFAULT_SOURCE
#include "serve_admit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "pemfile.h"
#include "selector.h"
#include "selfcert.h"
#include "serve_http_internal.h"

#define MAX_WARNINGS 8
#define MAX_ANSWER (4u << 20)

static __thread char warnings[MAX_WARNINGS][600];
static __thread int n_warnings, next_warning;

const char *serve_admit_take_warning(void)
{
    if (next_warning >= n_warnings) {
        n_warnings = next_warning = 0;
        return NULL;
    }
    return warnings[next_warning++];
}

static void add_warning(const char *text)
{
    if (n_warnings == MAX_WARNINGS)
        return;
    /* RFC 7234's warn-text: a quoted string; kubectl prints what is inside */
    char *w = warnings[n_warnings++];
    size_t o = (size_t)snprintf(w, sizeof warnings[0], "299 - \"");
    for (const char *p = text; *p && o + 3 < sizeof warnings[0]; p++) {
        if (*p == '"' || *p == '\\')
            w[o++] = '\\';
        w[o++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
    }
    snprintf(w + o, sizeof warnings[0] - o, "\"");
}

static bool list_has(const cJSON *list, const char *want)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, list) if (cJSON_IsString(e) && (strcmp(e->valuestring, "*") == 0 || strcmp(e->valuestring, want) == 0)) return true;
    return false;
}

/* resources: "nodes", "nodes/status", "*" (every resource, no subresource), "* / *", "nodes / *" and
 * "* / status" (written here with spaces) */
static bool resource_matches(const cJSON *list, const char *resource, const char *sub)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        if (!cJSON_IsString(e))
            continue;
        const char *v = e->valuestring, *slash = strchr(v, '/');
        size_t rl = slash ? (size_t)(slash - v) : strlen(v);
        bool res_ok = (rl == 1 && v[0] == '*') || (rl == strlen(resource) && strncmp(v, resource, rl) == 0);
        bool sub_ok = slash ? (sub && (strcmp(slash + 1, "*") == 0 || strcmp(slash + 1, sub) == 0)) : !sub;
        if (res_ok && sub_ok)
            return true;
    }
    return false;
}

static bool rules_match(const cJSON *hook, const struct kresource_def *d, const char *sub, const char *op)
{
    const cJSON *rule;
    cJSON_ArrayForEach(rule, cJSON_GetObjectItemCaseSensitive(hook, "rules"))
    {
        const cJSON *scope = cJSON_GetObjectItemCaseSensitive(rule, "scope");
        bool scope_ok = !cJSON_IsString(scope) || strcmp(scope->valuestring, "*") == 0 ||
                        strcmp(scope->valuestring, d->namespaced ? "Namespaced" : "Cluster") == 0;
        if (scope_ok && list_has(cJSON_GetObjectItemCaseSensitive(rule, "operations"), op) &&
            list_has(cJSON_GetObjectItemCaseSensitive(rule, "apiGroups"), d->group) &&
            list_has(cJSON_GetObjectItemCaseSensitive(rule, "apiVersions"), d->version) &&
            resource_matches(cJSON_GetObjectItemCaseSensitive(rule, "resources"), d->resource, sub))
            return true;
    }
    return false;
}

static const cJSON *labels_of(const cJSON *obj)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "labels");
}

/* A LabelSelector, absent or {} matching everything. */
static bool selector_ok(const cJSON *sel, const cJSON *labels)
{
    return !cJSON_IsObject(sel) || selector_object_matches(sel, labels);
}

static bool namespace_ok(struct serve_ctx *ctx, const cJSON *hook, const struct kresource_def *d, const char *ns)
{
    const cJSON *sel = cJSON_GetObjectItemCaseSensitive(hook, "namespaceSelector");
    if (!d->namespaced || !ns || !cJSON_IsObject(sel))
        return true; /* cluster-scoped objects: the namespaceSelector does not apply */
    struct kresource *nsr = kstore_find(ctx->store, "", "namespaces");
    struct kobj *o = NULL;
    if (!nsr || kstore_get(ctx->store, nsr, "", ns, &o) != KS_OK)
        return selector_ok(sel, NULL);
    cJSON *nsobj = cJSON_Parse(o->text);
    kobj_unref(o);
    bool ok = selector_ok(sel, labels_of(nsobj));
    cJSON_Delete(nsobj);
    return ok;
}

static size_t collect(char *data, size_t size, size_t n, void *userdata)
{
    struct buf *b = userdata;
    return buf_append(b, data, size * n) == 0 ? size * n : 0;
}

/* POST the review to one webhook. 0 with *answer (the parsed AdmissionReview), or -1 with err
 * saying why the call failed, in Go's words where they are known. */
static int call_webhook(const cJSON *hook, const char *review, cJSON **answer, char *err, size_t errlen)
{
    *answer = NULL;
    const cJSON *cc = cJSON_GetObjectItemCaseSensitive(hook, "clientConfig");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(cc, "url");
    if (!cJSON_IsString(url)) {
        snprintf(err, errlen, "propsim serve cannot reach clientConfig.service (there is no cluster network here): "
                 "give the webhook a clientConfig.url such as https://127.0.0.1:8443/validate-node-removal");
        return -1;
    }
    const cJSON *versions = cJSON_GetObjectItemCaseSensitive(hook, "admissionReviewVersions");
    if (!list_has(versions, "v1")) {
        snprintf(err, errlen, "webhook does not accept v1 AdmissionReview (admissionReviewVersions has no v1)");
        return -1;
    }
    const cJSON *to = cJSON_GetObjectItemCaseSensitive(hook, "timeoutSeconds");
    long timeout = cJSON_IsNumber(to) && to->valuedouble >= 1 && to->valuedouble <= 30 ? (long)to->valuedouble : 10;
    char full[2200];
    snprintf(full, sizeof full, "%s%stimeout=%lds", url->valuestring, strchr(url->valuestring, '?') ? "&" : "?", timeout);
    const cJSON *ca = cJSON_GetObjectItemCaseSensitive(cc, "caBundle");
    char *pem = NULL;
    size_t pem_len = 0;
    if (cJSON_IsString(ca) && ca->valuestring[0] && !(pem = kube_base64_decode(ca->valuestring, &pem_len))) {
        snprintf(err, errlen, "clientConfig.caBundle is not valid base64");
        return -1;
    }
    CURL *h = curl_easy_init();
    struct buf body;
    buf_init(&body, MAX_ANSWER);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    char curl_err[CURL_ERROR_SIZE] = "";
    struct pemfile ca_file = {0};
    int rc = -1;
    if (!h || !hdrs) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, review);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    if (pem) { /* the caBundle alone (kube-apiserver uses the system's roots only without one) */
        if (pemfile_open(&ca_file, "clientConfig.caBundle", pem, pem_len, err, errlen) != 0)
            goto done;
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(h, CURLOPT_CAINFO, ca_file.path);
    }
    CURLcode cr = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (cr != CURLE_OK) {
        snprintf(err, errlen, "failed to call webhook: Post \"%.600s\": %s", full, curl_err[0] ? curl_err : curl_easy_strerror(cr));
        goto done;
    }
    if (code != 200) {
        snprintf(err, errlen, "received invalid webhook response: the server answered HTTP %ld: %.200s", code,
                 body.data ? body.data : "");
        goto done;
    }
    *answer = cJSON_ParseWithLength(body.data ? body.data : "", body.len);
    if (!*answer) {
        snprintf(err, errlen, "received invalid webhook response: not JSON");
        goto done;
    }
    rc = 0;
done:
    curl_slist_free_all(hdrs);
    if (h)
        curl_easy_cleanup(h);
    buf_release(&body);
    pemfile_close(&ca_file);
    free(pem);
    return rc;
}

static char *build_review(const struct kresource_def *d, const char *sub, const char *op, const char *ns,
                          const char *name, const cJSON *obj, const cJSON *old, bool dry_run, char *uid)
{
    static unsigned long long reviews;
    unsigned long long u = __atomic_add_fetch(&reviews, 1, __ATOMIC_RELAXED);
    snprintf(uid, 40, "%08llx-0000-4000-9000-%012llx", (u * 2654435761u) & 0xffffffffu, u);
    cJSON *rv = cJSON_CreateObject();
    cJSON_AddStringToObject(rv, "apiVersion", "admission.k8s.io/v1");
    cJSON_AddStringToObject(rv, "kind", "AdmissionReview");
    cJSON *req = cJSON_AddObjectToObject(rv, "request");
    cJSON_AddStringToObject(req, "uid", uid);
    for (int i = 0; i < 2; i++) {
        cJSON *k = cJSON_AddObjectToObject(req, i ? "requestKind" : "kind");
        cJSON_AddStringToObject(k, "group", d->group);
        cJSON_AddStringToObject(k, "version", d->version);
        cJSON_AddStringToObject(k, "kind", d->kind);
        cJSON *r = cJSON_AddObjectToObject(req, i ? "requestResource" : "resource");
        cJSON_AddStringToObject(r, "group", d->group);
        cJSON_AddStringToObject(r, "version", d->version);
        cJSON_AddStringToObject(r, "resource", d->resource);
    }
    if (sub)
        cJSON_AddStringToObject(req, "subResource", sub);
    cJSON_AddStringToObject(req, "name", name ? name : "");
    if (d->namespaced && ns)
        cJSON_AddStringToObject(req, "namespace", ns);
    cJSON_AddStringToObject(req, "operation", op);
    cJSON *ui = cJSON_AddObjectToObject(req, "userInfo");
    cJSON_AddStringToObject(ui, "username", "propsim:admin");
    cJSON *groups = cJSON_AddArrayToObject(ui, "groups");
    cJSON_AddItemToArray(groups, cJSON_CreateString("system:masters"));
    cJSON_AddItemToArray(groups, cJSON_CreateString("system:authenticated"));
    cJSON_AddItemToObject(req, "object", obj ? cJSON_Duplicate(obj, 1) : cJSON_CreateNull());
    cJSON_AddItemToObject(req, "oldObject", old ? cJSON_Duplicate(old, 1) : cJSON_CreateNull());
    cJSON_AddBoolToObject(req, "dryRun", dry_run);
    char *text = cJSON_PrintUnformatted(rv);
    cJSON_Delete(rv);
    return text;
}

/* One webhook's answer: NULL (admitted) or the Status to fail the request with. */
static cJSON *judge(const char *hook_name, const cJSON *answer, const char *uid, unsigned *code, char *err, size_t errlen)
{
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(answer, "response");
    const cJSON *ruid = cJSON_GetObjectItemCaseSensitive(resp, "uid");
    const cJSON *allowed = cJSON_GetObjectItemCaseSensitive(resp, "allowed");
    if (!cJSON_IsObject(resp) || !cJSON_IsString(ruid) || strcmp(ruid->valuestring, uid) != 0 || !cJSON_IsBool(allowed)) {
        snprintf(err, errlen, "received invalid webhook response: expected response.uid=\"%s\" and response.allowed", uid);
        return NULL; /* a call failure, for the failurePolicy */
    }
    err[0] = '\0';
    const cJSON *w;
    cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(resp, "warnings")) if (cJSON_IsString(w)) add_warning(w->valuestring);
    if (cJSON_IsTrue(allowed))
        return NULL;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(resp, "status");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(st, "code"), *m = cJSON_GetObjectItemCaseSensitive(st, "message");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(st, "reason");
    unsigned sc = cJSON_IsNumber(c) && c->valuedouble >= 400 && c->valuedouble < 600 ? (unsigned)c->valuedouble : 400;
    struct buf msg;
    buf_init(&msg, 64 << 10);
    if (cJSON_IsString(m) && m->valuestring[0])
        buf_printf(&msg, "admission webhook \"%s\" denied the request: %s", hook_name, m->valuestring);
    else if (cJSON_IsString(r) && r->valuestring[0])
        buf_printf(&msg, "admission webhook \"%s\" denied the request: %s", hook_name, r->valuestring);
    else
        buf_printf(&msg, "admission webhook \"%s\" denied the request without explanation", hook_name);
    cJSON *out = status_object_details(sc, cJSON_IsString(r) && r->valuestring[0] ? r->valuestring : NULL,
                                       msg.data ? msg.data : "", NULL, NULL, NULL);
    buf_release(&msg);
    *code = sc;
    return out;
}

/* Does this webhook take the request: its rules, its object selector (the new or the old
 * object's labels) and, for a namespaced object, its namespace selector. */
static bool hook_takes(struct serve_ctx *ctx, const cJSON *hook, const struct kresource_def *d, const char *subresource,
                       const char *operation, const char *ns, const cJSON *obj, const cJSON *old)
{
    const cJSON *osel = cJSON_GetObjectItemCaseSensitive(hook, "objectSelector");
    return rules_match(hook, d, subresource, operation) &&
           (selector_ok(osel, labels_of(obj)) || (old && selector_ok(osel, labels_of(old)))) &&
           namespace_ok(ctx, hook, d, ns);
}

/* Does any webhook take this request? (What serve_admit calls.) */
bool serve_admit_needed(struct serve_ctx *ctx, const struct kresource_def *d, const char *subresource,
                        const char *operation, const char *ns, const cJSON *obj, const cJSON *old)
{
    struct kresource *vwc = kstore_find(ctx->store, "admissionregistration.k8s.io", "validatingwebhookconfigurations");
    if (!vwc || kstore_count(ctx->store, vwc) == 0)
        return false;
    struct ksnapshot snap;
    if (kstore_snapshot(ctx->store, vwc, NULL, &snap) != 0)
        return true; /* (out of memory: serve_admit will say so) */
    bool needed = false;
    for (size_t i = 0; i < snap.n && !needed; i++) {
        cJSON *conf = cJSON_Parse(snap.items[i]->text);
        const cJSON *hook;
        cJSON_ArrayForEach(hook, cJSON_GetObjectItemCaseSensitive(conf, "webhooks"))
        {
            if (hook_takes(ctx, hook, d, subresource, operation, ns, obj, old)) {
                needed = true;
                break;
            }
        }
        cJSON_Delete(conf);
    }
    ksnapshot_release(&snap);
    return needed;
}

cJSON *serve_admit(struct serve_ctx *ctx, const struct kresource_def *d, const char *subresource, const char *operation,
                   const char *ns, const char *name, const cJSON *obj, const cJSON *old, bool dry_run, unsigned *code)
{
    n_warnings = next_warning = 0;
    struct kresource *vwc = kstore_find(ctx->store, "admissionregistration.k8s.io", "validatingwebhookconfigurations");
    struct ksnapshot snap;
    if (!vwc || kstore_snapshot(ctx->store, vwc, NULL, &snap) != 0)
        return NULL;
    cJSON *denied = NULL;
    for (size_t i = 0; i < snap.n && !denied; i++) {
        cJSON *conf = cJSON_Parse(snap.items[i]->text);
        const cJSON *hook;
        cJSON_ArrayForEach(hook, cJSON_GetObjectItemCaseSensitive(conf, "webhooks"))
        {
            const cJSON *hn = cJSON_GetObjectItemCaseSensitive(hook, "name");
            const char *hook_name = cJSON_IsString(hn) ? hn->valuestring : "";
            if (!hook_takes(ctx, hook, d, subresource, operation, ns, obj, old))
                continue;
            const cJSON *se = cJSON_GetObjectItemCaseSensitive(hook, "sideEffects");
            if (dry_run && !(cJSON_IsString(se) && (strcmp(se->valuestring, "None") == 0 || strcmp(se->valuestring, "NoneOnDryRun") == 0))) {
                char m[600];
                snprintf(m, sizeof m, "admission webhook \"%s\" does not support dry run", hook_name);
                denied = status_object_details(400, "BadRequest", m, NULL, NULL, NULL);
                *code = 400;
                break;
            }
            char uid[40], err[1200];
            char *review = build_review(d, subresource, operation, ns, name, obj, old, dry_run, uid);
            cJSON *answer = NULL;
            int called = review ? call_webhook(hook, review, &answer, err, sizeof err) : -1;
            free(review);
            if (called == 0)
                denied = judge(hook_name, answer, uid, code, err, sizeof err);
            cJSON_Delete(answer);
            if (denied)
                break;
            if (called == 0 && !err[0])
                continue; /* admitted */
            const cJSON *fp = cJSON_GetObjectItemCaseSensitive(hook, "failurePolicy");
            bool ignore = cJSON_IsString(fp) && strcmp(fp->valuestring, "Ignore") == 0;
            fprintf(stderr, "propsim serve: webhook %s: %s (failurePolicy %s)\n", hook_name, err, ignore ? "Ignore: admitted" : "Fail: refused");
            if (ignore)
                continue;
            char m[1600];
            snprintf(m, sizeof m, "Internal error occurred: failed calling webhook \"%s\": %s", hook_name, err);
            denied = status_object_details(500, "InternalError", m, NULL, NULL, NULL);
            *code = 500;
            break;
        }
        cJSON_Delete(conf);
    }
    ksnapshot_release(&snap);
    return denied;
}

/* ------------------------------------------------------------------------------------------ */
/* Off the request's thread                                                                     */

struct admit_call {
    struct serve_ctx *ctx;
    struct MHD_Connection *conn;
    struct admit_result *out;
    const struct kresource_def *d;
    char *subresource, *operation, *ns, *name;
    cJSON *obj, *old;
    bool dry_run;
};

static pthread_mutex_t in_flight_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t in_flight_cv = PTHREAD_COND_INITIALIZER;
static int in_flight;

static void admit_call_free(struct admit_call *a)
{
    free(a->subresource);
    free(a->operation);
    free(a->ns);
    free(a->name);
    cJSON_Delete(a->obj);
    cJSON_Delete(a->old);
    free(a);
}

static void *admit_thread(void *arg)
{
    struct admit_call *a = arg;
    struct admit_result *r = a->out;
    r->status = serve_admit(a->ctx, a->d, a->subresource, a->operation, a->ns, a->name, a->obj, a->old, a->dry_run, &r->code);
    r->n_warnings = 0;
    for (const char *w; (w = serve_admit_take_warning()) != NULL;)
        if (r->n_warnings < SERVE_ADMIT_MAX_WARNINGS)
            snprintf(r->warnings[r->n_warnings++], sizeof r->warnings[0], "%s", w);
    r->state = ADMIT_DONE;
    struct MHD_Connection *c = a->conn;
    admit_call_free(a);
    MHD_resume_connection(c); /* the last touch: the request may be gone right after */
    pthread_mutex_lock(&in_flight_mu);
    if (--in_flight == 0)
        pthread_cond_broadcast(&in_flight_cv);
    pthread_mutex_unlock(&in_flight_mu);
    return NULL;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

int serve_admit_start(struct serve_ctx *ctx, struct MHD_Connection *c, struct admit_result *out,
                      const struct kresource_def *d, const char *subresource, const char *operation, const char *ns,
                      const char *name, const cJSON *obj, const cJSON *old, bool dry_run)
{
    struct admit_call *a = calloc(1, sizeof *a);
    if (!a)
        return -1;
    *a = (struct admit_call){ctx, c, out, d, dup_or_null(subresource), dup_or_null(operation), dup_or_null(ns),
                             dup_or_null(name), obj ? cJSON_Duplicate(obj, 1) : NULL, old ? cJSON_Duplicate(old, 1) : NULL,
                             dry_run};
    if ((subresource && !a->subresource) || !a->operation || (ns && !a->ns) || (name && !a->name) ||
        (obj && !a->obj) || (old && !a->old)) {
        admit_call_free(a);
        return -1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 512 * 1024);
    out->state = ADMIT_RUNNING;
    pthread_mutex_lock(&in_flight_mu);
    in_flight++;
    pthread_mutex_unlock(&in_flight_mu);
    MHD_suspend_connection(c); /* before the thread can resume it */
    pthread_t t;
    if (pthread_create(&t, &attr, admit_thread, a) != 0) {
        pthread_attr_destroy(&attr);
        pthread_mutex_lock(&in_flight_mu);
        in_flight--;
        pthread_mutex_unlock(&in_flight_mu);
        out->state = ADMIT_NONE;
        MHD_resume_connection(c);
        admit_call_free(a);
        return -1;
    }
    pthread_attr_destroy(&attr);
    return 0;
}

cJSON *serve_admit_finish(const struct admit_result *r, unsigned *code)
{
    for (int i = 0; i < r->n_warnings; i++)
        if (n_warnings < MAX_WARNINGS)
            snprintf(warnings[n_warnings++], sizeof warnings[0], "%s", r->warnings[i]);
    *code = r->code;
    return r->status ? cJSON_Duplicate(r->status, 1) : NULL;
}

void serve_admit_result_release(struct admit_result *r)
{
    cJSON_Delete(r->status);
    r->status = NULL;
    r->state = ADMIT_NONE;
}

void serve_admit_wait_idle(double timeout_seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += (time_t)timeout_seconds;
    pthread_mutex_lock(&in_flight_mu);
    while (in_flight > 0 && pthread_cond_timedwait(&in_flight_cv, &in_flight_mu, &ts) == 0)
        ;
    pthread_mutex_unlock(&in_flight_mu);
}
