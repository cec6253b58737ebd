#define _DEFAULT_SOURCE
#include "kubeconfig.h"
#include "selfcert.h"

#include <sys/stat.h>
#include <stdint.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "yamljson.h"

#define KUBECONFIG_MAX (16u << 20)

void kube_endpoint_release(struct kube_endpoint *ep)
{
    free(ep->server);
    free(ep->ca_pem);
    free(ep->cert_pem);
    free(ep->key_pem);
    if (ep->token) /* do not leave the secret in freed memory */
        memset(ep->token, 0, strlen(ep->token));
    free(ep->token);
    free(ep->token_file);
    free(ep->namespace_);
    free(ep->context);
    if (ep->exec) {
        execcred_config_release(ep->exec);
        free(ep->exec);
    }
    memset(ep, 0, sizeof *ep);
}

int kubeconfig_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file%s", path, S_ISDIR(st.st_mode) ? " (it is a directory)" : "");
        return -1;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    while (b) {
        if (n + 1 >= cap) {
            if (cap >= KUBECONFIG_MAX) {
                free(b);
                fclose(f);
                snprintf(err, errlen, "%s is too large", path);
                return -1;
            }
            char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (!b) {
        snprintf(err, errlen, "out of memory reading %s", path);
        return -1;
    }
    b[n] = '\0';
    *data = b;
    *len = n;
    return 0;
}

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL; }

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = get(o, k);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : NULL;
}

/* The entry named `name` in a kubeconfig list (clusters/users/contexts), as its inner object. */
static const cJSON *named(const cJSON *root, const char *list, const char *inner, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, get(root, list))
    {
        const char *n = str(e, "name");
        if (n && strcmp(n, name) == 0) {
            const cJSON *in = get(e, inner);
            return in ? in : e;
        }
    }
    return NULL;
}

static char *resolve(const char *dir, const char *path)
{
    if (path[0] == '/' || !dir)
        return strdup(path);
    size_t n = strlen(dir) + strlen(path) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, path);
    return p;
}

/* Load "<field>-data" (base64) or "<field>" (a file path) into *out. */
static int load_blob(const cJSON *o, const char *field, const char *dir, const char *what, char **out, size_t *len,
                     char *err, size_t errlen)
{
    char key[64];
    snprintf(key, sizeof key, "%s-data", field);
    const char *data = str(o, key), *file = str(o, field);
    if (data) {
        *out = kube_base64_decode(data, len);
        if (!*out) {
            snprintf(err, errlen, "%s: %s is not valid base64", what, key);
            return -1;
        }
        return 0;
    }
    if (file) {
        char *p = resolve(dir, file);
        char ferr[512];
        int rc = p ? kubeconfig_read_file(p, out, len, ferr, sizeof ferr) : -1;
        if (rc != 0)
            snprintf(err, errlen, "%s: %s: %s", what, field, p ? ferr : "out of memory");
        free(p);
        return rc;
    }
    return 0;
}

/* A cluster's boolean field (absent or null: false); anything else is an error naming it. */
static int cluster_bool(const cJSON *cluster, const char *key, bool *out, const char *path, const char *cluster_name,
                        char *err, size_t errlen)
{
    const cJSON *v = get(cluster, key);
    if (v && !cJSON_IsBool(v) && !cJSON_IsNull(v)) {
        snprintf(err, errlen, "kubeconfig %s: cluster \"%s\": %s must be true or false, got %s%s%s", path, cluster_name,
                 key, cJSON_IsString(v) ? "\"" : "", cJSON_IsString(v) ? v->valuestring : "a non-boolean",
                 cJSON_IsString(v) ? "\"" : "");
        return -1;
    }
    *out = cJSON_IsTrue(v);
    return 0;
}

int kubeconfig_load(const char *path, const char *context, struct kube_endpoint *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len;
    char e2[512];
    if (kubeconfig_read_file(path, &text, &len, e2, sizeof e2) != 0) {
        snprintf(err, errlen, "kubeconfig: %s", e2);
        return -1;
    }
    cJSON *docs = yamljson_parse(text, len, e2, sizeof e2);
    free(text);
    if (!docs) {
        snprintf(err, errlen, "kubeconfig %s: %s", path, e2);
        return -1;
    }
    const cJSON *root = cJSON_GetArrayItem(docs, 0);
    char *dir = strdup(path);
    char *slash = dir ? strrchr(dir, '/') : NULL;
    if (slash)
        *slash = '\0';
    else if (dir) {
        free(dir);
        dir = NULL;
    }
    int rc = -1;
    const char *ctxname = context && context[0] ? context : str(root, "current-context");
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "kubeconfig %s: not a kubeconfig (expected a YAML mapping with clusters, users, contexts)", path);
        goto done;
    }
    if (!ctxname) {
        snprintf(err, errlen, "kubeconfig %s: no current-context; pass --context", path);
        goto done;
    }
    const cJSON *ctx = named(root, "contexts", "context", ctxname);
    if (!ctx) {
        snprintf(err, errlen, "kubeconfig %s: context \"%s\" not found in contexts", path, ctxname);
        goto done;
    }
    const char *cluster_name = str(ctx, "cluster"), *user_name = str(ctx, "user");
    const cJSON *cluster = cluster_name ? named(root, "clusters", "cluster", cluster_name) : NULL;
    if (!cluster) {
        snprintf(err, errlen, "kubeconfig %s: context \"%s\": cluster \"%s\" not found in clusters", path, ctxname,
                 cluster_name ? cluster_name : "(none)");
        goto done;
    }
    const char *server = str(cluster, "server");
    if (!server || (strncmp(server, "https://", 8) != 0 && strncmp(server, "http://", 7) != 0)) {
        snprintf(err, errlen, "kubeconfig %s: cluster \"%s\": server must be an http(s):// URL, got \"%s\"", path,
                 cluster_name, server ? server : "");
        goto done;
    }
    const char *host = server + (server[4] == 's' ? 8 : 7);
    if (!*host || *host == '/' || *host == ':' || *host == '?' || *host == '#') {
        snprintf(err, errlen, "kubeconfig %s: cluster \"%s\": server \"%s\" has no host", path, cluster_name, server);
        goto done;
    }
    if (cluster_bool(cluster, "insecure-skip-tls-verify", &out->insecure, path, cluster_name, err, errlen) != 0 ||
        cluster_bool(cluster, "disable-compression", &out->disable_compression, path, cluster_name, err, errlen) != 0)
        goto done;
    out->server = strdup(server);
    size_t sl = strlen(out->server);
    while (sl > 0 && out->server[sl - 1] == '/')
        out->server[--sl] = '\0';
    out->context = strdup(ctxname);
    if (str(ctx, "namespace"))
        out->namespace_ = strdup(str(ctx, "namespace"));
    char what[320];
    snprintf(what, sizeof what, "kubeconfig %s: cluster \"%s\"", path, cluster_name);
    if (load_blob(cluster, "certificate-authority", dir, what, &out->ca_pem, &out->ca_len, err, errlen) != 0)
        goto done;
    const cJSON *user = user_name ? named(root, "users", "user", user_name) : NULL;
    if (user_name && !user) {
        snprintf(err, errlen, "kubeconfig %s: context \"%s\": user \"%s\" not found in users", path, ctxname, user_name);
        goto done;
    }
    if (user) {
        if (get(user, "auth-provider")) {
            snprintf(err, errlen, "kubeconfig %s: user \"%s\" uses an auth-provider plugin (removed from kubectl in "
                     "Kubernetes 1.26); use its exec plugin (e.g. gke-gcloud-auth-plugin, kubelogin), a token, "
                     "tokenFile or client certificate", path, user_name);
            goto done;
        }
        snprintf(what, sizeof what, "kubeconfig %s: user \"%s\"", path, user_name);
        const cJSON *exec = get(user, "exec");
        if (exec && !cJSON_IsNull(exec)) {
            out->exec = calloc(1, sizeof *out->exec);
            if (!out->exec) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            if (execcred_config_parse(exec, what, dir, out->exec, err, errlen) != 0) {
                free(out->exec);
                out->exec = NULL;
                goto done;
            }
        }
        if (load_blob(user, "client-certificate", dir, what, &out->cert_pem, &out->cert_len, err, errlen) != 0 ||
            load_blob(user, "client-key", dir, what, &out->key_pem, &out->key_len, err, errlen) != 0)
            goto done;
        if (!!out->cert_pem != !!out->key_pem) {
            snprintf(err, errlen, "%s: client-certificate and client-key go together", what);
            goto done;
        }
        if (str(user, "token"))
            out->token = strdup(str(user, "token"));
        if (str(user, "tokenFile")) {
            out->token_file = resolve(dir, str(user, "tokenFile"));
            struct stat st;
            if (!out->token_file || stat(out->token_file, &st) != 0 || !S_ISREG(st.st_mode)) {
                snprintf(err, errlen, "%s: tokenFile %s: %s", what, out->token_file ? out->token_file : "?",
                         out->token_file && stat(out->token_file, &st) != 0 ? strerror(errno) : "not a regular file");
                goto done;
            }
        }
    }
    snprintf(what, sizeof what, "kubeconfig %s: context \"%s\"", path, ctxname);
    if (kube_endpoint_check(out, what, err, errlen) != 0)
        goto done;
    rc = 0;
done:
    free(dir);
    cJSON_Delete(docs);
    if (rc != 0)
        kube_endpoint_release(out);
    return rc;
}

int kubeconfig_in_cluster(const char *dir, struct kube_endpoint *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port) {
        snprintf(err, errlen, "not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset) and no --kubeconfig or "
                 "$KUBECONFIG given");
        return -1;
    }
    char url[512];
    bool v6 = strchr(host, ':') != NULL;
    snprintf(url, sizeof url, "https://%s%s%s:%s", v6 ? "[" : "", host, v6 ? "]" : "", port);
    out->server = strdup(url);
    char path[512];
    snprintf(path, sizeof path, "%s/token", dir);
    out->token_file = strdup(path);
    snprintf(path, sizeof path, "%s/ca.crt", dir);
    char e2[512];
    if (kubeconfig_read_file(path, &out->ca_pem, &out->ca_len, e2, sizeof e2) != 0) {
        snprintf(err, errlen, "in-cluster config: %s", e2);
        kube_endpoint_release(out);
        return -1;
    }
    snprintf(path, sizeof path, "%s/namespace", dir);
    char *ns = NULL;
    size_t nslen;
    if (kubeconfig_read_file(path, &ns, &nslen, e2, sizeof e2) == 0) {
        while (nslen && (ns[nslen - 1] == '\n' || ns[nslen - 1] == ' '))
            ns[--nslen] = '\0';
        out->namespace_ = ns;
    }
    out->context = strdup("in-cluster");
    if (kube_endpoint_check(out, "in-cluster config", err, errlen) != 0) {
        kube_endpoint_release(out);
        return -1;
    }
    return 0;
}

/* Credentials that cannot work are a startup error naming the field, not a failure of every
 * request: the CA must hold certificates, the client certificate and key must parse and match. */
int kube_endpoint_check(const struct kube_endpoint *ep, const char *what, char *err, size_t errlen)
{
    int rc = -1;
    gnutls_x509_crt_t *crts = NULL;
    unsigned n = 0;
    gnutls_certificate_credentials_t cred = NULL;
    if (ep->ca_pem) {
        gnutls_datum_t d = {.data = (unsigned char *)ep->ca_pem, .size = (unsigned)ep->ca_len};
        int g = ep->ca_len > 0 && ep->ca_len < UINT32_MAX
                    ? gnutls_x509_crt_list_import2(&crts, &n, &d, GNUTLS_X509_FMT_PEM, 0)
                    : GNUTLS_E_BASE64_DECODING_ERROR;
        if (g < 0 || n == 0) {
            snprintf(err, errlen, "%s: certificate-authority holds no PEM certificate (%s)", what,
                     g < 0 ? gnutls_strerror(g) : "empty");
            goto done;
        }
    }
    if (ep->cert_pem && ep->key_pem) {
        if (gnutls_certificate_allocate_credentials(&cred) < 0) {
            snprintf(err, errlen, "%s: out of memory checking the client certificate", what);
            goto done;
        }
        gnutls_datum_t c = {.data = (unsigned char *)ep->cert_pem, .size = (unsigned)ep->cert_len};
        gnutls_datum_t k = {.data = (unsigned char *)ep->key_pem, .size = (unsigned)ep->key_len};
        int g = gnutls_certificate_set_x509_key_mem2(cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
        if (g < 0) {
            snprintf(err, errlen, "%s: client-certificate and client-key %s (%s)", what,
                     g == GNUTLS_E_CERTIFICATE_KEY_MISMATCH ? "do not match" : "do not parse as a PEM certificate and key",
                     gnutls_strerror(g));
            goto done;
        }
    }
    rc = 0;
done:
    for (unsigned i = 0; i < n; i++)
        gnutls_x509_crt_deinit(crts[i]);
    gnutls_free(crts);
    if (cred)
        gnutls_certificate_free_credentials(cred);
    return rc;
}
