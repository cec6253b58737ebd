/*
 * kubeconfig — where the API server is and how to authenticate: a kubeconfig file (current or
 * named context) or the in-cluster service-account configuration.
 *
 * Supported: server; certificate-authority / -data; insecure-skip-tls-verify (the caller warns);
 * disable-compression;
 * client-certificate / -data and client-key / -data; token and tokenFile; the context's
 * namespace; exec credential plugins (execcred). Relative file paths are resolved against the
 * kubeconfig's directory. auth-provider plugins are rejected with a message saying so.
 *
 * Ownership: struct kube_endpoint is caller-owned; the loaders fill it with heap strings that
 * kube_endpoint_release() frees. Errors return -1 with a message naming the file, the context
 * or the field at fault.
 */
#ifndef PROPSCALER_KUBECONFIG_H
#define PROPSCALER_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "execcred.h"
#include "selfcert.h" /* kube_base64_decode */

struct kube_endpoint {
    char *server;        /* scheme://host:port, no trailing slash */
    char *ca_pem;        /* CA bundle in PEM; NULL: the system's CAs */
    size_t ca_len;
    char *cert_pem;      /* client certificate (PEM) or NULL */
    size_t cert_len;
    char *key_pem;       /* client key (PEM) or NULL */
    size_t key_len;
    char *token;         /* bearer token or NULL */
    char *token_file;    /* re-read when it changes (service-account tokens rotate) */
    bool insecure;       /* insecure-skip-tls-verify */
    bool disable_compression; /* the cluster's disable-compression (or --disable-compression): no
                               * Accept-Encoding: gzip (client-go asks for it by default) */
    struct exec_plugin *exec; /* the user's exec credential plugin, or NULL (kclient runs it) */
    char *namespace_;    /* the context's namespace, or NULL */
    char *context;       /* the context used (for messages) */
};

#define IN_CLUSTER_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

int kubeconfig_load(const char *path, const char *context, struct kube_endpoint *out, char *err, size_t errlen);
/* dir: the service-account directory (IN_CLUSTER_DIR; tests pass their own). */
int kubeconfig_in_cluster(const char *dir, struct kube_endpoint *out, char *err, size_t errlen);
void kube_endpoint_release(struct kube_endpoint *ep);
/* 0 when the credentials can work: the CA holds PEM certificates, the client certificate and key
 * parse and match (both loaders call it; `what` names the source in err). */
int kube_endpoint_check(const struct kube_endpoint *ep, const char *what, char *err, size_t errlen);

/* A small file (a kubeconfig, a certificate or key: at most 16 MiB), NUL-terminated
 * in *data (the caller frees); -1 with err naming the file and the reason. */
int kubeconfig_read_file(const char *path, char **data, size_t *len, char *err, size_t errlen);

#endif
