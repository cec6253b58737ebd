/*
 * webhook — the HTTPS server of the node-removal admission webhook (libmicrohttpd with GnuTLS,
 * its own thread): POST /validate-node-removal hands the body to a review function and sends its
 * answer; GET /healthz answers "ok" for probes. Anything else is 404/405; bodies past
 * ADMISSION_MAX_BODY get 413.
 *
 * Certificates: from PEM files (--webhook-cert/--webhook-key), checked at most once a second at a
 * TLS handshake and reloaded when either file changes (cert-manager rotating a mounted Secret);
 * a rotation that does not load is logged and the previous certificate stays in use. Or
 * generated at start (--webhook-self-signed): webhook_ca_pem() is then the caBundle to give
 * kube-apiserver. GnuTLS's certificate callback carries no context, so there is at most one
 * webhook per process.
 *
 * Also here: listen_tcp(), the [HOST]:PORT listener shared with the metrics endpoint, which
 * reports a busy or forbidden port with the kernel's reason.
 */
#ifndef PROPSCALER_WEBHOOK_H
#define PROPSCALER_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

/* Listen on "[HOST]:PORT" (IPv4; empty host: all addresses). The socket, or -1 with err naming
 * `flag`. bound gets "HOST:PORT" as bound (port 0: the kernel's pick). */
int listen_tcp(const char *flag, const char *addr, char *bound, size_t boundlen, char *err, size_t errlen);

/* The review: the request body in, the answer (heap string) and its HTTP status out. */
typedef char *(*webhook_review_fn)(void *ctx, const char *body, size_t len, int *status);

struct webhook;

/* From propscaler's flags (flags.h; not included here: GnuTLS's headers and params.h both define
 * a tag named `params`). */
struct webhook_opts {
    const char *addr;           /* --webhook-addr */
    const char *cert, *key;     /* --webhook-cert, --webhook-key */
    bool self_signed;           /* --webhook-self-signed */
    const char *service, *namespace_; /* the names the generated certificate carries */
    bool warn;                  /* --node-guard-mode=warn, for the log line */
};

struct webhook *webhook_start(const struct webhook_opts *o, webhook_review_fn review, void *ctx, char *err,
                              size_t errlen);
/* The generated certificate's PEM (the caBundle), or NULL with certificate files. */
const char *webhook_ca_pem(const struct webhook *w);
/* Serve this certificate and key from the next handshake on (self-managed mode: the pair the
 * replicas share through a Secret). 0, or -1 with err (the previous pair stays in use).
 * Thread-safe; webhook_ca_pem() then returns the new certificate (call it from one thread). */
int webhook_use_pem(struct webhook *w, const char *cert, const char *key, char *err, size_t errlen);
/* The key PEM of the generated pair (self-signed mode; NULL otherwise), for the shared Secret. */
const char *webhook_key_pem(const struct webhook *w);
void webhook_stop(struct webhook *w);

#endif
