/*
 * kclient — asynchronous HTTP to the Kubernetes API: libcurl multi driven by libev.
 *
 * One client = one ev_loop + one CURLM + one ev_timer for libcurl's timeouts; one ev_io per
 * socket (attached with curl_multi_assign); one struct kreq per transfer (CURLOPT_PRIVATE).
 * HTTP/1.1 keep-alive (connections are reused), TLS verification on unless the endpoint says
 * insecure, TCP keepalive on every connection (dead peers are noticed on idle watches).
 * The bearer token is read from the endpoint, or from its token file, re-read whenever the
 * file changes (rotated service-account tokens), or from its exec credential plugin, which runs
 * beside the loop (libev's default loop: its exit is an ev_child); a request goes out with the
 * current token while it is valid, or waits for the plugin's answer. Tokens never appear in
 * messages.
 *
 * A request either collects its whole body (capped) and reports it to `done`, or, with
 * `stream`, hands each received chunk to `data` as it arrives and reports the end to `done`.
 * Callbacks run from the event loop, never inside libcurl; they may start new requests.
 *
 * Ownership: kclient_new() borrows the endpoint (it must outlive the client). kclient_request()
 * returns a handle valid until `done` runs or kreq_cancel() is called (no callback after cancel).
 */
#ifndef PROPSCALER_KCLIENT_H
#define PROPSCALER_KCLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "kubeconfig.h"
#include "promhist.h"

/* The default cap on one response body. It sits well below the shipped 128Mi memory limit: the
 * body and the JSON tree built from it (about 4x) must fit together. --max-response-size sets it. */
#define KCLIENT_DEFAULT_MAX_BODY ((size_t)16 << 20)
/* What of a stream's non-2xx answer is kept (an error Status is small). */
#define KCLIENT_MAX_ERROR_BODY ((size_t)64 << 10)

struct kclient;
struct kreq;

/* One finished request, borrowed for the duration of the `done` callback.
 * status: the HTTP status, or 0 when the transfer failed (err says why). retry_after: seconds
 * from a Retry-After header, 0 when absent. body is NUL-terminated; for a stream it is empty
 * on success and holds the (capped) answer when the status is not 2xx: an error body is never
 * handed to the stream's data callback. content_type: the Content-Type header, "" when absent. */
struct kresp {
    long status;
    const char *body;
    size_t len;
    const char *err;
    double retry_after;
    const char *content_type;
    bool too_large; /* the body passed the cap: err names the cap and the flag that sets it */
};

typedef void (*kreq_done_fn)(void *ctx, const struct kresp *resp);
/* Return 0 to continue, non-zero to abort the transfer (done then reports the failure). Only the
 * bytes of a 2xx answer arrive here. */
typedef int (*kreq_data_fn)(void *ctx, const char *data, size_t len);

/* A one-line description of an answer for error messages: status, content type and the first
 * bytes of the body, escaped ("HTTP 200, Content-Type text/html, body \"<html><head>...\" (3 KB)"). */
void kresp_describe(const struct kresp *r, char *out, size_t outlen);

struct kreq_opts {
    const char *method;        /* GET, POST, PUT, PATCH, DELETE */
    const char *path;          /* /api/v1/nodes?limit=500 (already URL-encoded) */
    const char *body;          /* NULL for none */
    const char *content_type;  /* default application/json */
    bool stream;               /* data callback (a watch; a LIST cut into items as it arrives) */
    double timeout_s;          /* overall timeout: default 30, none for a stream unless set */
};

/* Requests by verb (get list watch create update patch delete), resource (nodes, configmaps,
 * deployments/scale, ...) and status code (0: no answer). Once the table is full its last row
 * counts every other request: verb KV_N ("other"), resource "other", code -1 ("other"). */
#define KCLIENT_COUNT_ROWS 64
enum kclient_verb { KV_GET, KV_LIST, KV_WATCH, KV_CREATE, KV_UPDATE, KV_PATCH, KV_DELETE, KV_N };
struct kclient_count {
    enum kclient_verb verb;
    char resource[48];
    int code;
    unsigned long n;
};

struct kclient_stats {
    unsigned long requests, failures;
    unsigned long status_2xx, status_4xx, status_5xx;
    unsigned long bytes_received;
    unsigned long exec_runs; /* tokens got from the exec credential plugin */
    unsigned long handles_reused; /* requests that took a finished request's reset easy handle */
    struct kclient_count counts[KCLIENT_COUNT_ROWS];
    int n_counts;            /* rows in use: stored (release) after the row is filled */
    struct promhist latency[KV_N]; /* completed non-watch requests, by verb */
};

const char *kclient_verb_name(enum kclient_verb v);

struct kclient *kclient_new(struct ev_loop *loop, const struct kube_endpoint *ep, char *err, size_t errlen);
/* The cap on one response body (default KCLIENT_DEFAULT_MAX_BODY); 0 keeps the default. */
void kclient_set_max_body(struct kclient *c, size_t max_body);
size_t kclient_max_body(const struct kclient *c);
/* Seconds left of the longest Retry-After the server has sent (0 when none is running): every
 * caller that retries waits at least this long, so one answer holds every path. */
double kclient_retry_wait(const struct kclient *c);
/* The User-Agent sent (default propscaler/VERSION); copied. Audit logs then tell replicas apart. */
void kclient_set_user_agent(struct kclient *c, const char *user_agent);
void kclient_free(struct kclient *c);
struct kreq *kclient_request(struct kclient *c, const struct kreq_opts *o, kreq_data_fn data, kreq_done_fn done, void *ctx);
void kreq_cancel(struct kreq *r);
const struct kclient_stats *kclient_stats(const struct kclient *c);
/* URL-encode a query value into out (returns out). */
char *kclient_escape(const char *in, char *out, size_t outlen);

#endif
