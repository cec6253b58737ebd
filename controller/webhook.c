/* webhook — see webhook.h. */
#define _DEFAULT_SOURCE
#include "webhook.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "admission.h"
#include "kubeconfig.h"
#include "log.h"
#include "selfcert.h"

#define WEBHOOK_PATH "/validate-node-removal"
#define MAX_CHAIN 8

int listen_tcp(const char *flag, const char *addr, char *bound, size_t boundlen, char *err, size_t errlen)
{
    const char *colon = strrchr(addr, ':');
    if (!colon) {
        snprintf(err, errlen, "--%s: expected [HOST]:PORT such as :8080, got \"%s\"", flag, addr);
        return -1;
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || colon[1] == '\0' || port < 0 || port > 65535) {
        snprintf(err, errlen, "--%s: bad port in \"%s\"", flag, addr);
        return -1;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    char host[64] = "0.0.0.0";
    if (colon > addr)
        snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "--%s: \"%s\" is not an IPv4 address", flag, host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 64) != 0) {
        snprintf(err, errlen, "--%s: cannot listen on %s: %s", flag, addr, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    socklen_t sl = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    snprintf(bound, boundlen, "%s:%u", host, (unsigned)ntohs(sa.sin_port));
    return fd;
}

/* ------------------------------------------------------------------------------------------ */
/* Certificates                                                                                 */

/* One loaded certificate chain and key. Generations are kept until the webhook stops: a TLS
 * session may still use the one it started with, and rotations are rare. */
struct creds {
    gnutls_pcert_st chain[MAX_CHAIN];
    unsigned n;
    gnutls_privkey_t key;
    struct creds *older;
};

static struct {
    pthread_mutex_t mu;
    struct creds *current;
    const char *cert_path, *key_path;
    struct stat cert_st, key_st;
    double last_check;
    bool reload_failed; /* said once per change */
} tls = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void creds_free(struct creds *c)
{
    while (c) {
        struct creds *older = c->older;
        for (unsigned i = 0; i < c->n; i++)
            gnutls_pcert_deinit(&c->chain[i]);
        gnutls_privkey_deinit(c->key);
        free(c);
        c = older;
    }
}

static struct creds *creds_from_pem(const char *cert, size_t cert_len, const char *key, size_t key_len, char *err,
                                    size_t errlen)
{
    struct creds *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    gnutls_datum_t cd = {(unsigned char *)(uintptr_t)cert, (unsigned)cert_len};
    gnutls_datum_t kd = {(unsigned char *)(uintptr_t)key, (unsigned)key_len};
    c->n = MAX_CHAIN;
    int r = gnutls_pcert_list_import_x509_raw(c->chain, &c->n, &cd, GNUTLS_X509_FMT_PEM, 0);
    if (r < 0 || c->n == 0) {
        snprintf(err, errlen, "the certificate is not a PEM certificate chain (of at most %d): %s", MAX_CHAIN,
                 r < 0 ? gnutls_strerror(r) : "empty");
        c->n = 0;
        creds_free(c);
        return NULL;
    }
    if ((r = gnutls_privkey_init(&c->key)) < 0 ||
        (r = gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
        snprintf(err, errlen, "the key is not a PEM private key: %s", gnutls_strerror(r));
        creds_free(c);
        return NULL;
    }
    /* the key must be the certificate's: a mismatch would fail every handshake, silently */
    gnutls_pubkey_t pub = NULL;
    gnutls_datum_t a = {NULL, 0}, b = {NULL, 0};
    bool same = gnutls_pubkey_init(&pub) >= 0 && gnutls_pubkey_import_privkey(pub, c->key, 0, 0) >= 0 &&
                gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &a) >= 0 &&
                gnutls_pubkey_export2(c->chain[0].pubkey, GNUTLS_X509_FMT_DER, &b) >= 0 && a.size == b.size &&
                memcmp(a.data, b.data, a.size) == 0;
    gnutls_free(a.data);
    gnutls_free(b.data);
    gnutls_pubkey_deinit(pub);
    if (!same) {
        snprintf(err, errlen, "the key does not belong to the certificate");
        creds_free(c);
        return NULL;
    }
    return c;
}

static struct creds *creds_from_files(const char *cert_path, const char *key_path, char *err, size_t errlen)
{
    char *cert = NULL, *key = NULL, e2[600];
    size_t cl = 0, kl = 0;
    struct creds *c = NULL;
    if (kubeconfig_read_file(cert_path, &cert, &cl, e2, sizeof e2) != 0 ||
        kubeconfig_read_file(key_path, &key, &kl, e2, sizeof e2) != 0) {
        snprintf(err, errlen, "%s", e2);
    } else if (!(c = creds_from_pem(cert, cl, key, kl, e2, sizeof e2))) {
        snprintf(err, errlen, "--webhook-cert %s / --webhook-key %s: %s", cert_path, key_path, e2);
    }
    free(cert);
    if (key) {
        memset(key, 0, kl);
        free(key);
    }
    return c;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Under tls.mu: reload the files when they changed (checked at most once a second). */
static void maybe_reload(void)
{
    if (!tls.cert_path)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    if (now - tls.last_check < 1.0)
        return;
    tls.last_check = now;
    struct stat cs, ks;
    if (stat(tls.cert_path, &cs) != 0 || stat(tls.key_path, &ks) != 0)
        return; /* mid-rotation (a Secret's symlinks swap): next time */
    if (same_file(&cs, &tls.cert_st) && same_file(&ks, &tls.key_st))
        return;
    char err[800];
    struct creds *c = creds_from_files(tls.cert_path, tls.key_path, err, sizeof err);
    if (!c) {
        if (!tls.reload_failed)
            LOG_ERROR("node-guard: the changed certificate does not load, the previous one stays in use: %s", err);
        tls.reload_failed = true; /* a half-written pair: tried again at the next change */
        tls.cert_st = cs;
        tls.key_st = ks;
        return;
    }
    tls.reload_failed = false;
    tls.cert_st = cs;
    tls.key_st = ks;
    c->older = tls.current;
    tls.current = c;
    LOG_INFO("node-guard: reloaded the serving certificate from %s", tls.cert_path);
}

static int cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
                         const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
                         unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
    (void)session;
    (void)req_ca_dn;
    (void)nreqs;
    (void)pk_algos;
    (void)pk_algos_length;
    pthread_mutex_lock(&tls.mu);
    maybe_reload();
    struct creds *c = tls.current;
    pthread_mutex_unlock(&tls.mu);
    if (!c)
        return -1;
    *pcert = c->chain;
    *pcert_length = c->n;
    *pkey = c->key;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* HTTP                                                                                         */

struct webhook {
    struct MHD_Daemon *daemon;
    webhook_review_fn review;
    void *ctx;
    char *ca_pem, *key_pem; /* self-signed mode: the pair served */
};

struct upload {
    char *data;
    size_t len, cap;
    bool too_big;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned code, const char *ctype, const char *text)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result res = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return res;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                               const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
    (void)version;
    struct webhook *w = cls;
    struct upload *up = *con_cls;
    if (!up) {
        if (strcmp(url, "/healthz") == 0 && strcmp(method, "GET") == 0)
            return respond(conn, 200, "text/plain", "ok");
        if (strcmp(url, WEBHOOK_PATH) != 0)
            return respond(conn, 404, "text/plain", "not found: the webhook is POST " WEBHOOK_PATH);
        if (strcmp(method, "POST") != 0)
            return respond(conn, 405, "text/plain", "method not allowed: POST an AdmissionReview");
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > ADMISSION_MAX_BODY)
            return respond(conn, 413, "text/plain", "AdmissionReview too large");
        up = calloc(1, sizeof *up);
        if (!up)
            return MHD_NO;
        *con_cls = up;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (up->too_big || up->len + n > ADMISSION_MAX_BODY) {
            up->too_big = true;
            return MHD_YES;
        }
        if (up->len + n + 1 > up->cap) {
            size_t cap = up->cap ? up->cap : 16384;
            while (cap < up->len + n + 1)
                cap *= 2;
            char *d = realloc(up->data, cap);
            if (!d) {
                up->too_big = true;
                return MHD_YES;
            }
            up->data = d;
            up->cap = cap;
        }
        memcpy(up->data + up->len, upload_data, n);
        up->len += n;
        up->data[up->len] = '\0';
        return MHD_YES;
    }
    if (up->too_big)
        return respond(conn, 413, "text/plain", "AdmissionReview too large (or out of memory)");
    int status = 200;
    char *answer = w->review(w->ctx, up->data ? up->data : "", up->len, &status);
    if (!answer)
        return respond(conn, 500, "text/plain", "out of memory");
    enum MHD_Result res = respond(conn, (unsigned)status, status == 200 ? "application/json" : "text/plain", answer);
    free(answer);
    return res;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct upload *up = *con_cls;
    if (up) {
        free(up->data);
        free(up);
        *con_cls = NULL;
    }
}

struct webhook *webhook_start(const struct webhook_opts *cfg, webhook_review_fn review, void *ctx, char *err,
                              size_t errlen)
{
    char bound[96];
    int fd = listen_tcp("webhook-addr", cfg->addr, bound, sizeof bound, err, errlen);
    if (fd < 0)
        return NULL;
    struct webhook *w = calloc(1, sizeof *w);
    if (!w) {
        close(fd);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->review = review;
    w->ctx = ctx;
    struct creds *c = NULL;
    char e2[800];
    if (cfg->self_signed) {
        char svc[300], svc_long[320], host[96];
        snprintf(svc, sizeof svc, "%s.%s.svc", cfg->service, cfg->namespace_);
        snprintf(svc_long, sizeof svc_long, "%s.cluster.local", svc);
        snprintf(host, sizeof host, "%.*s", (int)(strrchr(bound, ':') - bound), bound);
        const char *names[] = {svc, svc_long, host};
        if (selfcert_generate(names, 3, 365, &w->ca_pem, &w->key_pem, e2, sizeof e2) != 0) {
            snprintf(err, errlen, "--webhook-self-signed: %s", e2);
        } else if (!(c = creds_from_pem(w->ca_pem, strlen(w->ca_pem), w->key_pem, strlen(w->key_pem), e2, sizeof e2))) {
            snprintf(err, errlen, "--webhook-self-signed: %s", e2);
        }
    } else if ((c = creds_from_files(cfg->cert, cfg->key, e2, sizeof e2)) != NULL) {
        pthread_mutex_lock(&tls.mu);
        tls.cert_path = cfg->cert;
        tls.key_path = cfg->key;
        stat(tls.cert_path, &tls.cert_st);
        stat(tls.key_path, &tls.key_st);
        pthread_mutex_unlock(&tls.mu);
    } else {
        snprintf(err, errlen, "%s", e2);
    }
    if (!c) {
        close(fd);
        free(w->ca_pem);
        free(w->key_pem);
        free(w);
        return NULL;
    }
    pthread_mutex_lock(&tls.mu);
    tls.current = c;
    pthread_mutex_unlock(&tls.mu);
    w->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                 handler, w, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_HTTPS_CERT_CALLBACK, cert_callback,
                                 MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_CONNECTION_LIMIT, 256u,
                                 MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
    if (!w->daemon) {
        snprintf(err, errlen, "--webhook-addr: cannot serve HTTPS on %s", bound);
        close(fd);
        webhook_stop(w);
        return NULL;
    }
    LOG_INFO("node-guard: serving the node-removal webhook on https://%s%s (%s mode)", bound, WEBHOOK_PATH,
             cfg->warn ? "warn" : "enforce");
    return w;
}

const char *webhook_ca_pem(const struct webhook *w) { return w->ca_pem; }
const char *webhook_key_pem(const struct webhook *w) { return w->key_pem; }

static void free_secret(char *s)
{
    if (s) {
        memset(s, 0, strlen(s));
        free(s);
    }
}

int webhook_use_pem(struct webhook *w, const char *cert, const char *key, char *err, size_t errlen)
{
    struct creds *c = creds_from_pem(cert, strlen(cert), key, strlen(key), err, errlen);
    char *cert_copy = strdup(cert), *key_copy = strdup(key);
    if (!c || !cert_copy || !key_copy) {
        creds_free(c);
        free(cert_copy);
        free_secret(key_copy);
        if (c)
            snprintf(err, errlen, "out of memory");
        return -1;
    }
    pthread_mutex_lock(&tls.mu);
    c->older = tls.current;
    tls.current = c;
    pthread_mutex_unlock(&tls.mu);
    free(w->ca_pem);
    free_secret(w->key_pem);
    w->ca_pem = cert_copy;
    w->key_pem = key_copy;
    return 0;
}

void webhook_stop(struct webhook *w)
{
    if (!w)
        return;
    if (w->daemon)
        MHD_stop_daemon(w->daemon);
    pthread_mutex_lock(&tls.mu);
    creds_free(tls.current);
    tls.current = NULL;
    tls.cert_path = tls.key_path = NULL;
    pthread_mutex_unlock(&tls.mu);
    free(w->ca_pem);
    free_secret(w->key_pem);
    free(w);
}
