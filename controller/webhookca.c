/* --node-guard --webhook-self-signed: one certificate for every replica, and a caBundle that
 * follows it. On the loop thread, at start and every --webhook-sync-period:
 *   1. the Secret (--webhook-secret, type kubernetes.io/tls) is read. Absent: this replica's
 *      generated pair is stored there (a create: when two replicas race, one create answers 409
 *      and that replica reads the winner's). Present: its pair is served from the next handshake
 *      on, unless it expires within 30 days or does not load — then a fresh pair replaces it (an
 *      update with its resourceVersion, so one replica rotates it).
 *   2. the ValidatingWebhookConfiguration (--webhook-config) is read, and every webhook in it
 *      whose clientConfig.caBundle is not the Secret's certificate gets it (an update with its
 *      resourceVersion). Absent: said once, checked again at the next period.
 * RBAC: get/create/update on that Secret, get/update on that one ValidatingWebhookConfiguration.
 * See controller_internal.h. */
#define _DEFAULT_SOURCE
#include "controller_internal.h"

#include "selfcert.h"
#include "webhook.h"

#define RENEW_BEFORE_S (30.0 * 24 * 3600)

static void sync_config(struct controller *c);

static char *secret_field(const cJSON *secret, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(secret, "data"), key);
    size_t n;
    return cJSON_IsString(v) ? kube_base64_decode(v->valuestring, &n) : NULL;
}

static char *secret_object(struct controller *c, const char *rv, const char *cert, const char *key)
{
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "apiVersion", "v1");
    cJSON_AddStringToObject(s, "kind", "Secret");
    cJSON *md = cJSON_AddObjectToObject(s, "metadata");
    cJSON_AddStringToObject(md, "name", c->cfg->webhook_secret);
    cJSON_AddStringToObject(md, "namespace", c->cfg->namespace_);
    if (rv)
        cJSON_AddStringToObject(md, "resourceVersion", rv);
    cJSON_AddStringToObject(s, "type", "kubernetes.io/tls");
    cJSON *data = cJSON_AddObjectToObject(s, "data");
    char *bc = kube_base64_encode(cert, strlen(cert)), *bk = kube_base64_encode(key, strlen(key));
    cJSON_AddStringToObject(data, "tls.crt", bc ? bc : "");
    cJSON_AddStringToObject(data, "tls.key", bk ? bk : "");
    cJSON_AddStringToObject(data, "ca.crt", bc ? bc : "");
    free(bc);
    if (bk) {
        memset(bk, 0, strlen(bk));
        free(bk);
    }
    char *text = cJSON_PrintUnformatted(s);
    cJSON_Delete(s);
    return text;
}

static void secret_path(struct controller *c, char *path, size_t len, bool collection)
{
    if (collection)
        snprintf(path, len, "/api/v1/namespaces/%s/secrets", c->cfg->namespace_);
    else
        snprintf(path, len, "/api/v1/namespaces/%s/secrets/%s", c->cfg->namespace_, c->cfg->webhook_secret);
}

static void secret_written(void *ctx, const struct kresp *resp)
{
    struct controller *c = ctx;
    if (resp->status == 409) { /* another replica created or rotated it first: take theirs */
        ev_timer_stop(c->loop, &c->ca_timer);
        ev_timer_set(&c->ca_timer, 0.2, c->cfg->webhook_sync_s);
        ev_timer_start(c->loop, &c->ca_timer);
        return;
    }
    if (resp->status < 200 || resp->status > 299) {
        char what[400];
        kresp_describe(resp, what, sizeof what);
        LOG_WARN("node-guard: cannot store the webhook certificate in Secret %s/%s: %s%s", c->cfg->namespace_,
                 c->cfg->webhook_secret, resp->err && resp->err[0] ? resp->err : "", what);
        return;
    }
    LOG_INFO("node-guard: stored the webhook certificate in Secret %s/%s for every replica", c->cfg->namespace_,
             c->cfg->webhook_secret);
    sync_config(c);
}

static void write_secret(struct controller *c, const char *rv)
{
    char path[512];
    secret_path(c, path, sizeof path, rv == NULL);
    char *body = secret_object(c, rv, webhook_ca_pem(c->hook), webhook_key_pem(c->hook));
    struct kreq_opts o = {.method = rv ? "PUT" : "POST", .path = path, .body = body, .timeout_s = 10};
    if (body)
        kclient_request(c->client, &o, NULL, secret_written, c);
    if (body) {
        memset(body, 0, strlen(body));
        free(body);
    }
}

static void secret_got(void *ctx, const struct kresp *resp)
{
    struct controller *c = ctx;
    if (resp->status == 404) {
        write_secret(c, NULL);
        return;
    }
    cJSON *secret = resp->status == 200 ? cJSON_ParseWithLength(resp->body, resp->len) : NULL;
    if (!secret) {
        char what[400];
        kresp_describe(resp, what, sizeof what);
        LOG_WARN("node-guard: cannot read Secret %s/%s (the shared webhook certificate): %s%s", c->cfg->namespace_,
                 c->cfg->webhook_secret, resp->err && resp->err[0] ? resp->err : "", what);
        return;
    }
    char *cert = secret_field(secret, "tls.crt"), *key = secret_field(secret, "tls.key");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(secret, "metadata"), "resourceVersion");
    long long expires = 0;
    bool usable = cert && key && selfcert_expiry(cert, strlen(cert), &expires) == 0 &&
                  (double)expires - ev_time() > RENEW_BEFORE_S;
    char err[800] = "";
    if (usable && strcmp(cert, webhook_ca_pem(c->hook)) != 0) {
        if (webhook_use_pem(c->hook, cert, key, err, sizeof err) == 0)
            LOG_INFO("node-guard: serving the webhook certificate shared in Secret %s/%s", c->cfg->namespace_,
                     c->cfg->webhook_secret);
        else
            usable = false;
    }
    if (!usable) {
        /* expiring, or not a pair that loads: a fresh pair replaces it (ours, if it is fresh) */
        long long ours = 0;
        if (selfcert_expiry(webhook_ca_pem(c->hook), strlen(webhook_ca_pem(c->hook)), &ours) != 0 ||
            (double)ours - ev_time() <= RENEW_BEFORE_S) {
            char *nc = NULL, *nk = NULL, svc[300], svc_long[320];
            snprintf(svc, sizeof svc, "%s.%s.svc", c->cfg->webhook_service, c->cfg->webhook_service_ns);
            snprintf(svc_long, sizeof svc_long, "%s.cluster.local", svc);
            const char *names[] = {svc, svc_long};
            if (selfcert_generate(names, 2, 365, &nc, &nk, err, sizeof err) == 0)
                webhook_use_pem(c->hook, nc, nk, err, sizeof err);
            free(nc);
            if (nk) {
                memset(nk, 0, strlen(nk));
                free(nk);
            }
        }
        LOG_WARN("node-guard: the certificate in Secret %s/%s %s: replacing it%s%s", c->cfg->namespace_,
                 c->cfg->webhook_secret, cert && key && expires ? "expires within 30 days" : "does not load",
                 err[0] ? ": " : "", err);
        write_secret(c, cJSON_IsString(rv) ? rv->valuestring : "");
    } else {
        sync_config(c);
    }
    free(cert);
    if (key) {
        memset(key, 0, strlen(key));
        free(key);
    }
    cJSON_Delete(secret);
}

static void config_written(void *ctx, const struct kresp *resp)
{
    struct controller *c = ctx;
    if (resp->status >= 200 && resp->status <= 299)
        LOG_INFO("node-guard: set the caBundle of ValidatingWebhookConfiguration %s", c->cfg->webhook_config);
    else
        LOG_WARN("node-guard: cannot update the caBundle of ValidatingWebhookConfiguration %s: HTTP %ld%s%s (checked "
                 "again in %.0f s)", c->cfg->webhook_config, resp->status, resp->err && resp->err[0] ? ": " : "",
                 resp->err ? resp->err : "", c->cfg->webhook_sync_s);
}

static void config_got(void *ctx, const struct kresp *resp)
{
    struct controller *c = ctx;
    cJSON *vwc = resp->status == 200 ? cJSON_ParseWithLength(resp->body, resp->len) : NULL;
    if (!vwc) {
        if (!c->ca_config_missing_said)
            LOG_WARN("node-guard: ValidatingWebhookConfiguration %s: HTTP %ld%s%s; its caBundle is set once it can be "
                     "read (apply manifests/components/node-guard)", c->cfg->webhook_config, resp->status,
                     resp->err && resp->err[0] ? ": " : "", resp->err ? resp->err : "");
        c->ca_config_missing_said = true;
        return;
    }
    c->ca_config_missing_said = false;
    char *bundle = kube_base64_encode(webhook_ca_pem(c->hook), strlen(webhook_ca_pem(c->hook)));
    bool changed = false;
    cJSON *hook;
    cJSON_ArrayForEach(hook, cJSON_GetObjectItemCaseSensitive(vwc, "webhooks"))
    {
        cJSON *cc = cJSON_GetObjectItemCaseSensitive(hook, "clientConfig");
        if (!cJSON_IsObject(cc) || !bundle)
            continue;
        const cJSON *cur = cJSON_GetObjectItemCaseSensitive(cc, "caBundle");
        if (cJSON_IsString(cur) && strcmp(cur->valuestring, bundle) == 0)
            continue;
        cJSON_DeleteItemFromObjectCaseSensitive(cc, "caBundle");
        cJSON_AddStringToObject(cc, "caBundle", bundle);
        changed = true;
    }
    free(bundle);
    if (changed) { /* the resourceVersion read is the update's precondition */
        char *body = cJSON_PrintUnformatted(vwc);
        char path[512];
        snprintf(path, sizeof path, "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/%s",
                 c->cfg->webhook_config);
        struct kreq_opts o = {.method = "PUT", .path = path, .body = body, .timeout_s = 10};
        if (body)
            kclient_request(c->client, &o, NULL, config_written, c);
        free(body);
    }
    cJSON_Delete(vwc);
}

static void sync_config(struct controller *c)
{
    char path[512];
    snprintf(path, sizeof path, "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/%s",
             c->cfg->webhook_config);
    struct kreq_opts o = {.method = "GET", .path = path, .timeout_s = 10};
    kclient_request(c->client, &o, NULL, config_got, c);
}

static void ca_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct controller *c = w->data;
    if (c->stopping)
        return;
    char path[512];
    secret_path(c, path, sizeof path, false);
    struct kreq_opts o = {.method = "GET", .path = path, .timeout_s = 10};
    kclient_request(c->client, &o, NULL, secret_got, c);
}

void controller_manage_webhook_cert(struct controller *c, struct webhook *hook)
{
    c->hook = hook;
    ev_timer_init(&c->ca_timer, ca_tick, 0, c->cfg->webhook_sync_s);
    c->ca_timer.data = c;
    ev_timer_start(c->loop, &c->ca_timer);
}

void webhookca_stop(struct controller *c)
{
    if (c->hook)
        ev_timer_stop(c->loop, &c->ca_timer);
}
