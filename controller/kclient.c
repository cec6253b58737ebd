#define _DEFAULT_SOURCE
#include "kclient.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <dlfcn.h>

#include "buf.h"
#include "gunzip.h"
#include "log.h"
#include "pemfile.h"

#define KCLIENT_IDLE_HANDLES 8

struct kclient {
    struct ev_loop *loop;
    CURLM *multi;
    ev_timer timer;
    int running;
    const struct kube_endpoint *ep;
    struct pemfile ca_file, cert_file, key_file; /* the endpoint's PEMs, as libcurl takes them */
    char *token;          /* current token (from the endpoint, its file or its exec plugin) */
    struct timespec token_mtime;
    /* exec plugin: the token is kept until EXEC_REFRESH_EARLY_S before its expiry or a 401 */
    double token_expires; /* wall time; 0: none given */
    bool token_rejected;  /* the server answered 401 to it */
    double exec_retry_at; /* after a failed run: not again before this (monotonic ev time) */
    char exec_error[700]; /* the last failure, logged once */
    /* the plugin's run in progress: read and reaped by the loop, which goes on meanwhile; requests
     * that have no usable token wait for it (kreq.parked) */
    bool exec_running, exec_eof, exec_exited, exec_timed_out;
    int exec_status;
    struct execcred_job exec_job;
    ev_io exec_io;
    ev_child exec_child;
    ev_timer exec_deadline;
    struct kreq *active;  /* doubly linked, for cleanup */
    struct kclient_stats stats;
    size_t max_body;
    double retry_until;   /* ev_now until which the server asked us to wait (Retry-After) */
    char user_agent[320];
    /* libcurl forbids adding transfers from inside its callbacks: requests started there wait
     * here until the event loop adds them */
    int in_curl;
    struct kreq *deferred[256];
    int n_deferred;
    ev_timer add_later;
    /* finished transfers' easy handles, reset and kept for the next requests: a request then costs
     * no handle setup (the connections themselves are pooled by the multi handle either way) */
    CURL *idle[KCLIENT_IDLE_HANDLES];
    int n_idle;
};

struct ksock {
    ev_io io;
    struct kclient *c;
};

struct kreq {
    struct kclient *c;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    struct buf resp;
    bool stream;
    kreq_data_fn on_data;
    kreq_done_fn on_done;
    void *ctx;
    double retry_after;
    double started;
    bool too_large;       /* the body passed its cap: the transfer was aborted */
    struct gunzip *gz;    /* the answer says Content-Encoding: gzip: inflated here (NULL otherwise) */
    char coding_error[240]; /* why the body could not be decoded (the transfer was aborted) */
    bool parked;            /* waiting for the exec plugin's token: not handed to libcurl yet */
    long body_status;       /* the status of the answer whose body is arriving (0: not read yet) */
    enum kclient_verb verb; /* for the request metrics */
    char resource[48];
    char content_type[128];
    char errbuf[CURL_ERROR_SIZE];
    struct kreq *prev, *next;
};

const struct kclient_stats *kclient_stats(const struct kclient *c) { return &c->stats; }

static const char *const verb_names[KV_N] = {"get", "list", "watch", "create", "update", "patch", "delete"};

const char *kclient_verb_name(enum kclient_verb v) { return v < KV_N ? verb_names[v] : "other"; }

static const char *path_of(const struct kreq_opts *o) { return o->path ? o->path : ""; }

/* The verb and resource of a request, as RBAC names them: /api/v1/nodes?watch=1 is watch nodes,
 * /apis/apps/v1/namespaces/N/deployments/coredns/scale is get (or update) deployments/scale. */
static void request_labels(const char *method, const char *path, bool stream, enum kclient_verb *verb, char *resource,
                           size_t len)
{
    char segs[8][48];
    int n = 0;
    const char *p = path;
    while (*p == '/')
        p++;
    while (*p && *p != '?' && n < 8) {
        size_t k = strcspn(p, "/?");
        snprintf(segs[n++], sizeof segs[0], "%.*s", (int)(k < 47 ? k : 47), p);
        p += k;
        while (*p == '/')
            p++;
    }
    int at = n > 0 && strcmp(segs[0], "api") == 0 ? 2 : 3; /* /api/v1 or /apis/GROUP/VERSION */
    if (at < n && strcmp(segs[at], "namespaces") == 0 && at + 2 < n)
        at += 2;
    bool named = at + 1 < n;
    if (at >= n)
        snprintf(resource, len, "%s", n ? segs[n - 1] : "");
    else if (at + 2 < n)
        snprintf(resource, len, "%s/%s", segs[at], segs[at + 2]);
    else
        snprintf(resource, len, "%s", segs[at]);
    if (strcmp(method, "GET") == 0)
        *verb = stream && strstr(path, "watch=1") ? KV_WATCH : named ? KV_GET : KV_LIST; /* a LIST may stream too */
    else if (strcmp(method, "POST") == 0)
        *verb = KV_CREATE;
    else if (strcmp(method, "PUT") == 0)
        *verb = KV_UPDATE;
    else if (strcmp(method, "PATCH") == 0)
        *verb = KV_PATCH;
    else
        *verb = KV_DELETE;
}

static void count_request(struct kclient *c, const struct kreq *r, int code)
{
    struct kclient_stats *st = &c->stats;
    int n = st->n_counts;
    for (int i = 0; i < n && i < KCLIENT_COUNT_ROWS - 1; i++) {
        struct kclient_count *row = &st->counts[i];
        if (row->verb == r->verb && row->code == code && strcmp(row->resource, r->resource) == 0) {
            row->n++;
            return;
        }
    }
    if (n == KCLIENT_COUNT_ROWS) { /* full: the last row takes the rest */
        st->counts[n - 1].n++;
        return;
    }
    /* the last row is the overflow: every verb, resource and code (labelled "other" throughout,
     * not after whichever request came first) */
    bool last = n == KCLIENT_COUNT_ROWS - 1;
    struct kclient_count *row = &st->counts[n];
    row->verb = last ? KV_N : r->verb;
    row->code = last ? -1 : code;
    snprintf(row->resource, sizeof row->resource, "%s", last ? "other" : r->resource);
    row->n = 1;
    __atomic_store_n(&st->n_counts, n + 1, __ATOMIC_RELEASE); /* the HTTP thread reads the row after this */
}


double kclient_retry_wait(const struct kclient *c)
{
    double left = c->retry_until - ev_now(c->loop);
    return left > 0 ? left : 0;
}

void kclient_set_user_agent(struct kclient *c, const char *user_agent)
{
    snprintf(c->user_agent, sizeof c->user_agent, "%s", user_agent);
}

void kclient_set_max_body(struct kclient *c, size_t max_body) { c->max_body = max_body ? max_body : KCLIENT_DEFAULT_MAX_BODY; }
size_t kclient_max_body(const struct kclient *c) { return c->max_body; }

void kresp_describe(const struct kresp *r, char *out, size_t outlen)
{
    char head[200];
    size_t show = r->len < 64 ? r->len : 64;
    text_for_message(r->body, r->len, show, head, sizeof head);
    snprintf(out, outlen, "HTTP %ld, Content-Type %s, body \"%s\"%s (%zu bytes)", r->status,
             r->content_type && r->content_type[0] ? r->content_type : "(none)", head, r->len > show ? "..." : "", r->len);
}

char *kclient_escape(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t w = 0;
    for (; *in && w + 4 < outlen; in++) {
        unsigned char ch = (unsigned char)*in;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || strchr("-._~", ch)) {
            out[w++] = (char)ch;
        } else {
            out[w++] = '%';
            out[w++] = hex[ch >> 4];
            out[w++] = hex[ch & 15];
        }
    }
    out[w] = '\0';
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* libcurl <-> libev glue                                                                       */

static void check_multi_info(struct kclient *c);

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop;
    struct ksock *ks = (struct ksock *)w;
    struct kclient *c = ks->c;
    int fd = w->fd; /* read before socket_action: it may free the watcher */
    int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) | (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
    c->in_curl++;
    curl_multi_socket_action(c->multi, fd, action, &c->running);
    c->in_curl--;
    check_multi_info(c);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct kclient *c = (struct kclient *)((char *)w - offsetof(struct kclient, timer));
    c->in_curl++;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &c->running);
    c->in_curl--;
    check_multi_info(c);
}

static void unlink_req(struct kreq *r);
static void free_req(struct kreq *r);

/* A request libcurl would not take: freed, and its requester told. */
static void fail_to_start(struct kreq *r)
{
    kreq_done_fn done = r->on_done;
    void *ctx = r->ctx;
    unlink_req(r);
    free_req(r);
    struct kresp kr = {.body = "", .err = "could not start the request", .content_type = ""};
    if (done)
        done(ctx, &kr);
}

/* Add the transfers that were started from inside libcurl callbacks. */
static void add_later_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct kclient *c = w->data;
    int n = c->n_deferred;
    c->n_deferred = 0;
    for (int i = 0; i < n; i++) {
        struct kreq *r = c->deferred[i];
        if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
            fail_to_start(r);
        }
    }
}

static int socket_cb(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
    (void)e;
    struct kclient *c = userp;
    struct ksock *ks = sockp;
    if (what == CURL_POLL_REMOVE) {
        if (ks) {
            ev_io_stop(c->loop, &ks->io);
            free(ks);
            curl_multi_assign(c->multi, s, NULL);
        }
        return 0;
    }
    if (!ks) {
        ks = calloc(1, sizeof *ks);
        if (!ks)
            return -1;
        ks->c = c;
        ev_init(&ks->io, io_cb);
        curl_multi_assign(c->multi, s, ks);
    }
    int kind = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    /* never modify an active watcher; and the fd may be new (libev: disappearing fds) */
    ev_io_stop(c->loop, &ks->io);
    ev_io_set(&ks->io, s, kind);
    ev_io_start(c->loop, &ks->io);
    return 0;
}

static int multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct kclient *c = userp;
    ev_timer_stop(c->loop, &c->timer);
    if (timeout_ms >= 0) {
        /* floating division: integer ms/1000 would fire early and spin */
        ev_timer_set(&c->timer, (double)timeout_ms / 1000.0, 0.);
        ev_timer_start(c->loop, &c->timer);
    }
    return 0;
}

static void unlink_req(struct kreq *r)
{
    struct kclient *c = r->c;
    if (r->prev)
        r->prev->next = r->next;
    else
        c->active = r->next;
    if (r->next)
        r->next->prev = r->prev;
}

static void free_req(struct kreq *r)
{
    struct kclient *c = r->c;
    curl_multi_remove_handle(c->multi, r->easy);
    if (c->n_idle < KCLIENT_IDLE_HANDLES) {
        curl_easy_reset(r->easy); /* every option back to its default: nothing of this request stays */
        c->idle[c->n_idle++] = r->easy;
    } else {
        curl_easy_cleanup(r->easy);
    }
    curl_slist_free_all(r->headers);
    gunzip_free(r->gz);
    free(r->body);
    buf_release(&r->resp);
    free(r);
}

static void check_multi_info(struct kclient *c)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct kreq *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        long status = 0;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
        CURLcode res = msg->data.result;
        if (res == CURLE_OK && r->gz && !r->coding_error[0])
            gunzip_finish(r->gz, r->coding_error, sizeof r->coding_error);
        if (r->coding_error[0]) { /* a body that could not be decoded fails as libcurl's decoder failed it */
            res = CURLE_BAD_CONTENT_ENCODING;
            snprintf(r->errbuf, sizeof r->errbuf, "%s", r->coding_error);
        }
        unlink_req(r);
        count_request(c, r, res == CURLE_OK ? (int)status : 0);
        double now = ev_now(c->loop);
        if (res != CURLE_OK) {
            c->stats.failures++;
            status = 0;
        } else {
            if (status == 401 && c->ep->exec)
                c->token_rejected = true; /* the plugin runs again before the next request */
            if (status >= 200 && status < 300)
                c->stats.status_2xx++;
            else if (status >= 400 && status < 500)
                c->stats.status_4xx++;
            else if (status >= 500)
                c->stats.status_5xx++;
            if (r->verb != KV_WATCH)
                promhist_observe(&c->stats.latency[r->verb], now - r->started);
        }
        char err[CURL_ERROR_SIZE + 160];
        if (r->too_large && r->stream)
            snprintf(err, sizeof err, "the error answer to a streamed request is larger than %zu KiB", KCLIENT_MAX_ERROR_BODY >> 10);
        else if (r->too_large)
            snprintf(err, sizeof err, "the answer is larger than the %zu KiB response cap (--max-response-size)",
                     c->max_body >> 10);
        else if (res != CURLE_OK)
            snprintf(err, sizeof err, "%s", r->errbuf[0] ? r->errbuf : curl_easy_strerror(res));
        kreq_done_fn done = r->on_done;
        void *ctx = r->ctx;
        char ctype[sizeof r->content_type];
        memcpy(ctype, r->content_type, sizeof ctype);
        bool too_large = r->too_large;
        double ra = r->retry_after;
        if (ra > 0 && now + ra > c->retry_until)
            c->retry_until = now + ra;
        /* detach the body, free the transfer, then call back: the callback may start requests */
        size_t len = r->resp.len;
        char *body = buf_take(&r->resp);
        free_req(r);
        struct kresp kr = {.status = status, .body = body ? body : "", .len = body ? len : 0,
                           .err = res != CURLE_OK || too_large ? err : NULL, .retry_after = ra,
                           .content_type = ctype, .too_large = too_large};
        if (done)
            done(ctx, &kr);
        free(body);
    }
}

/* ------------------------------------------------------------------------------------------ */

/* The body's (decoded) bytes: a stream's to its callback, any other kept for `done`. Non-zero
 * aborts the transfer. */
static int deliver(void *ctx, const char *data, size_t n)
{
    struct kreq *r = ctx;
    r->c->stats.bytes_received += n;
    if (r->stream) {
        /* only a 2xx answer is the stream; an error body (a Status, an HTML page) is kept for
         * `done`, so it is never taken for watch data */
        /* read once: the body is the final answer's (redirects are not followed), and a
         * watch's body is its every event */
        if (!r->body_status)
            curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &r->body_status);
        if (r->body_status >= 200 && r->body_status < 300)
            return r->on_data && r->on_data(r->ctx, data, n) != 0;
    }
    if (buf_append(&r->resp, data, n) != 0) {
        r->too_large = true;
        return 1;
    }
    return 0;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct kreq *r = userp;
    size_t n = size * nmemb;
    if (r->coding_error[0])
        return 0;
    if (!r->gz)
        return deliver(r, data, n) ? 0 : n;
    /* 0 aborts the transfer: corrupt gzip (said in coding_error) or what deliver refused */
    return gunzip_feed(r->gz, data, n, deliver, r, r->coding_error, sizeof r->coding_error) ? 0 : n;
}

/* A header line's value (after "Name:"): without the whitespace around it and the line end. */
static const char *header_value(const char *v, size_t n, size_t *len)
{
    while (n && (*v == ' ' || *v == '\t'))
        v++, n--;
    while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    *len = n;
    return v;
}

static size_t header_cb(char *line, size_t size, size_t nitems, void *userp)
{
    struct kreq *r = userp;
    size_t n = size * nitems;
    if (n > 12 && strncasecmp(line, "Retry-After:", 12) == 0) {
        char tmp[32];
        size_t k = n - 12 < sizeof tmp - 1 ? n - 12 : sizeof tmp - 1;
        memcpy(tmp, line + 12, k);
        tmp[k] = '\0';
        double v = strtod(tmp, NULL);
        if (v > 0 && v < 3600)
            r->retry_after = v;
    } else if (n > 13 && strncasecmp(line, "Content-Type:", 13) == 0) {
        size_t k;
        const char *v = header_value(line + 13, n - 13, &k);
        snprintf(r->content_type, sizeof r->content_type, "%.*s", (int)k, v);
    } else if (n > 17 && strncasecmp(line, "Content-Encoding:", 17) == 0) {
        /* gzip (the only coding asked for) is inflated here; identity is none; any other is
         * refused, named (libcurl decodes nothing itself: CURLOPT_HTTP_CONTENT_DECODING 0) */
        size_t k;
        const char *v = header_value(line + 17, n - 17, &k);
        if (k == 4 && strncasecmp(v, "gzip", 4) == 0) {
            if (!r->gz && !(r->gz = gunzip_new()))
                snprintf(r->coding_error, sizeof r->coding_error, "out of memory for the answer's gzip body");
        } else if (k && !(k == 8 && strncasecmp(v, "identity", 8) == 0)) {
            snprintf(r->coding_error, sizeof r->coding_error,
                     "the answer's Content-Encoding \"%.*s\" was not asked for (only gzip is read)", (int)(k < 40 ? k : 40), v);
        }
    } else if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* a new response (after a redirect or 100-continue): forget the previous one's headers */
        r->content_type[0] = '\0';
        r->retry_after = 0;
        r->body_status = 0;
        gunzip_free(r->gz);
        r->gz = NULL;
        r->coding_error[0] = '\0';
    }
    return n;
}

/* The exec plugin runs when there is no token yet, it expires within EXEC_REFRESH_EARLY_S, or the
 * server rejected it (401). It runs beside the loop: a plugin that takes seconds (a cloud CLI on a
 * slow network; at most EXEC_TIMEOUT_S, then it is killed) stalls neither the watches nor the
 * leader's renewals nor /healthz. Requests go on with the current token while it is still valid
 * (the early refresh); without one they wait for the plugin (client-go blocks them the same way).
 * A failure keeps the last token (the server decides) and is not retried for EXEC_RETRY_S; it is
 * logged once until the message changes. */
#define EXEC_REFRESH_EARLY_S 10.0
#define EXEC_RETRY_S 5.0
#define EXEC_TIMEOUT_S 60.0

static bool token_usable(const struct kclient *c)
{
    return c->token && !c->token_rejected && (c->token_expires <= 0 || (double)time(NULL) < c->token_expires);
}

static bool exec_wanted(const struct kclient *c)
{
    bool expiring = c->token_expires > 0 && (double)time(NULL) >= c->token_expires - EXEC_REFRESH_EARLY_S;
    return (!c->token || c->token_rejected || expiring) && ev_now(c->loop) >= c->exec_retry_at;
}

static void exec_failed(struct kclient *c, const char *err)
{
    c->exec_retry_at = ev_time() + EXEC_RETRY_S;
    if (strcmp(err, c->exec_error) != 0)
        LOG_ERROR("getting credentials: %s", err);
    snprintf(c->exec_error, sizeof c->exec_error, "%s", err);
}

static int launch(struct kclient *c, struct kreq *r);

/* Hand the requests that waited for the plugin to libcurl, with whatever token there now is (none
 * after a failure: the server's 401 then says so to each requester, as before). */
static void launch_parked(struct kclient *c)
{
    for (;;) {
        struct kreq *r = c->active;
        while (r && !r->parked)
            r = r->next;
        if (!r)
            return;
        r->parked = false;
        if (launch(c, r) != 0) {
            fail_to_start(r); /* its callback may start or cancel requests: the scan starts over */
        }
    }
}

/* The run is over once the plugin has exited and its output ended (or was given up on). */
static void exec_settle(struct kclient *c)
{
    if (!c->exec_running || !c->exec_exited || !(c->exec_eof || c->exec_timed_out || c->exec_job.too_big))
        return;
    ev_io_stop(c->loop, &c->exec_io);
    ev_timer_stop(c->loop, &c->exec_deadline);
    c->exec_running = false;
    struct exec_credential cred;
    char err[700];
    if (execcred_job_finish(c->ep->exec, &c->exec_job, c->exec_status, c->exec_timed_out ? EXEC_TIMEOUT_S : 0, &cred,
                            err, sizeof err) != 0) {
        exec_failed(c, err);
        launch_parked(c);
        return;
    }
    if (c->exec_error[0])
        LOG_INFO("getting credentials: the exec plugin %s answered again", c->ep->exec->command);
    c->exec_error[0] = '\0';
    if (c->token) {
        memset(c->token, 0, strlen(c->token));
        free(c->token);
    }
    c->token = cred.token; /* taken over */
    c->token_expires = cred.expires;
    c->token_rejected = false;
    c->stats.exec_runs++;
    double wall = (double)time(NULL);
    if (cred.expires > 0 && cred.expires - EXEC_REFRESH_EARLY_S <= wall)
        LOG_WARN("the exec plugin %s returned a token that expires at once (expirationTimestamp %.0f s from now)",
                 c->ep->exec->command, cred.expires - wall);
    launch_parked(c);
}

static void exec_output_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)loop, (void)revents;
    struct kclient *c = w->data;
    int r = execcred_job_read(&c->exec_job);
    if (r == 0)
        return;
    ev_io_stop(c->loop, &c->exec_io);
    if (r > 0)
        c->exec_eof = true;
    else
        kill(c->exec_job.pid, SIGKILL); /* its output passed the cap: nothing it says now is used */
    exec_settle(c);
}

static void exec_exit_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    (void)revents;
    struct kclient *c = w->data;
    ev_child_stop(loop, w);
    c->exec_exited = true;
    c->exec_status = w->rstatus;
    exec_settle(c);
}

static void exec_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop, (void)revents;
    struct kclient *c = w->data;
    c->exec_timed_out = true;
    ev_io_stop(c->loop, &c->exec_io);
    kill(c->exec_job.pid, SIGKILL); /* its exit (ev_child) settles the run */
    exec_settle(c);
}

static void start_exec(struct kclient *c)
{
    struct exec_cluster cluster = {.server = c->ep->server, .ca_pem = c->ep->ca_pem, .ca_len = c->ep->ca_len,
                                   .insecure = c->ep->insecure};
    char err[700];
    if (execcred_spawn(c->ep->exec, &cluster, &c->exec_job, err, sizeof err) != 0) {
        exec_failed(c, err);
        return;
    }
    c->exec_running = true;
    c->exec_eof = c->exec_exited = c->exec_timed_out = false;
    /* the child watcher is started before the loop runs again, so libev's SIGCHLD reaping (which
     * takes every child) hands this one's status here */
    ev_child_set(&c->exec_child, c->exec_job.pid, 0);
    ev_child_start(c->loop, &c->exec_child);
    ev_io_set(&c->exec_io, c->exec_job.fd, EV_READ);
    ev_io_start(c->loop, &c->exec_io);
    ev_timer_set(&c->exec_deadline, EXEC_TIMEOUT_S, 0.);
    ev_timer_start(c->loop, &c->exec_deadline);
}

/* Whether a new request must wait for the exec plugin (which this starts when it is due). */
static bool must_wait_for_token(struct kclient *c)
{
    if (!c->ep->exec)
        return false;
    if (!c->exec_running && exec_wanted(c))
        start_exec(c);
    return c->exec_running && !token_usable(c);
}

static void refresh_token(struct kclient *c)
{
    if (!c->ep->token_file)
        return;
    struct stat st;
    if (stat(c->ep->token_file, &st) != 0)
        return; /* keep the last token; the API server will say 401 if it is stale */
    if (c->token && st.st_mtim.tv_sec == c->token_mtime.tv_sec && st.st_mtim.tv_nsec == c->token_mtime.tv_nsec)
        return;
    FILE *f = fopen(c->ep->token_file, "r");
    if (!f)
        return;
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    char *t = strdup(buf);
    memset(buf, 0, sizeof buf);
    if (!t)
        return;
    if (c->token) {
        memset(c->token, 0, strlen(c->token));
        free(c->token);
    }
    c->token = t;
    c->token_mtime = st.st_mtim;
}

/* libcurl's global initialisation initialises libssh2 (for scp:// and sftp://, which propscaler
 * never enables: CURLOPT_PROTOCOLS_STR), and libssh2's first initialisation sets up OpenSSL's
 * algorithm tables and engines: 1.5 MB resident in a process that otherwise never touches
 * OpenSSL. libssh2 counts its initialisations and sets its crypto up on the first one only, so a
 * first one made here without crypto leaves libcurl's a count. */
#define LIBSSH2_INIT_NO_CRYPTO_FLAG 0x0001 /* libssh2.h's LIBSSH2_INIT_NO_CRYPTO (stable since 1.2.5) */
static void libssh2_init_without_crypto(void)
{
    void *lib = dlopen("libssh2.so.1", RTLD_NOW | RTLD_NOLOAD); /* only if libcurl loaded it */
    if (!lib)
        return;
    void *sym = dlsym(lib, "libssh2_init");
    int (*init)(int);
    if (sym) {
        memcpy(&init, &sym, sizeof init); /* (ISO C has no object-to-function pointer cast) */
        init(LIBSSH2_INIT_NO_CRYPTO_FLAG);
    }
    dlclose(lib);
}

struct kclient *kclient_new(struct ev_loop *loop, const struct kube_endpoint *ep, char *err, size_t errlen)
{
    static int curl_ready;
    if (!curl_ready) {
        libssh2_init_without_crypto();
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
            snprintf(err, errlen, "libcurl initialisation failed");
            return NULL;
        }
        curl_ready = 1;
    }
    struct kclient *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->loop = loop;
    c->ep = ep;
    if (ep->exec && !ev_is_default_loop(loop)) { /* ev_child, for the plugin's exit, is the default loop's alone */
        free(c);
        snprintf(err, errlen, "an exec credential plugin needs libev's default loop");
        return NULL;
    }
    c->max_body = KCLIENT_DEFAULT_MAX_BODY;
    snprintf(c->user_agent, sizeof c->user_agent, "propscaler/%s", PROPSCALER_VERSION);
    c->multi = curl_multi_init();
    if (!c->multi) {
        free(c);
        snprintf(err, errlen, "libcurl: cannot create a multi handle");
        return NULL;
    }
    if ((ep->ca_pem && pemfile_open(&c->ca_file, "the CA", ep->ca_pem, ep->ca_len, err, errlen) != 0) ||
        (ep->cert_pem && ep->key_pem &&
         (pemfile_open(&c->cert_file, "the client certificate", ep->cert_pem, ep->cert_len, err, errlen) != 0 ||
          pemfile_open(&c->key_file, "the client key", ep->key_pem, ep->key_len, err, errlen) != 0))) {
        pemfile_close(&c->ca_file);
        pemfile_close(&c->cert_file);
        curl_multi_cleanup(c->multi);
        free(c);
        return NULL;
    }
    if (ep->token && !ep->token_file)
        c->token = strdup(ep->token);
    ev_init(&c->exec_io, exec_output_cb);
    c->exec_io.data = c;
    ev_init(&c->exec_child, exec_exit_cb);
    c->exec_child.data = c;
    ev_init(&c->exec_deadline, exec_deadline_cb);
    c->exec_deadline.data = c;
    ev_init(&c->timer, timer_cb);
    ev_init(&c->add_later, add_later_cb);
    c->add_later.data = c;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    /* No cap on connections to the API server: over HTTP/1.1 every watch holds a connection for
     * its whole life (one for the nodes, one per params ConfigMap, one per target's pods), and
     * with a cap below their number the rest (writes included) would wait in libcurl's queue
     * forever. The number of requests in flight is bounded by the controller itself. */
    curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 0L);
    return c;
}

void kclient_free(struct kclient *c)
{
    if (!c)
        return;
    while (c->active) {
        struct kreq *r = c->active;
        unlink_req(r);
        free_req(r);
    }
    while (c->n_idle)
        curl_easy_cleanup(c->idle[--c->n_idle]);
    curl_multi_cleanup(c->multi); /* may still call socket_cb(REMOVE) */
    ev_timer_stop(c->loop, &c->timer);
    ev_timer_stop(c->loop, &c->add_later);
    if (c->exec_running) {
        ev_io_stop(c->loop, &c->exec_io);
        ev_child_stop(c->loop, &c->exec_child);
        ev_timer_stop(c->loop, &c->exec_deadline);
        execcred_job_release(&c->exec_job); /* killed; libev's SIGCHLD handling reaps it */
    }
    if (c->token) {
        memset(c->token, 0, strlen(c->token));
        free(c->token);
    }
    pemfile_close(&c->ca_file);
    pemfile_close(&c->cert_file);
    pemfile_close(&c->key_file);
    free(c);
}

void kreq_cancel(struct kreq *r)
{
    if (!r)
        return;
    struct kclient *c = r->c;
    for (int i = 0; i < c->n_deferred; i++)
        if (c->deferred[i] == r) {
            c->deferred[i] = c->deferred[--c->n_deferred];
            break;
        }
    unlink_req(r);
    free_req(r);
}

struct kreq *kclient_request(struct kclient *c, const struct kreq_opts *o, kreq_data_fn data, kreq_done_fn done, void *ctx)
{
    struct kreq *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->c = c;
    r->stream = o->stream;
    r->on_data = data;
    r->on_done = done;
    r->ctx = ctx;
    r->started = ev_now(c->loop);
    buf_init(&r->resp, o->stream ? KCLIENT_MAX_ERROR_BODY : c->max_body);
    if (c->n_idle) {
        r->easy = c->idle[--c->n_idle];
        c->stats.handles_reused++;
    } else {
        r->easy = curl_easy_init();
    }
    if (!r->easy) {
        free(r);
        return NULL;
    }
    size_t ulen = strlen(c->ep->server) + strlen(o->path) + 1;
    char *url = malloc(ulen);
    if (!url) {
        curl_easy_cleanup(r->easy);
        free(r);
        return NULL;
    }
    snprintf(url, ulen, "%s%s", c->ep->server, o->path);
    CURL *e = r->easy;
    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url); /* libcurl copies it */
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* HTTP/1.1, not HTTP/2: Debian 12's libcurl 7.88 loses the end of a stream multiplexed with
     * others on one HTTP/2 connection now and then (with kube-apiserver, ~1 in 10 paged node
     * LISTs of real-sized Nodes: all bytes received, the transfer never completed, until its
     * timeout); over HTTP/1.1 no two requests share a connection, so none can hold up another.
     * The cost is a connection per watch, as client-go with HTTP/2 disabled. */
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 30L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 10L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    /* as client-go: gzip accepted (kube-apiserver compresses answers over 128 KiB: a node LIST
     * page shrinks ~10x). Inflated here (gunzip.h: ISA-L, a fraction of zlib's CPU), not by libcurl, which
     * only passes the bytes on; body caps count inflated bytes */
    curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
    if (!o->stream || o->timeout_s > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)((o->timeout_s > 0 ? o->timeout_s : 30) * 1000));
    /* TLS: verification on unless the kubeconfig says insecure-skip-tls-verify */
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->ep->insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->ep->insecure ? 0L : 2L);
    if (c->ca_file.open) {
        /* the kubeconfig's CA alone, as client-go trusts it: libcurl's built-in bundle and CA
         * directory (Debian's: /etc/ssl/certs) are turned off, or any CA of the system's store
         * could vouch for "the API server" */
        curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file.path);
    }
    if (c->cert_file.open && c->key_file.open) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, c->cert_file.path);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(e, CURLOPT_SSLKEY, c->key_file.path);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    if (!c->ep->disable_compression)
        h = curl_slist_append(h, "Accept-Encoding: gzip");
    const char *method = o->method ? o->method : "GET";
    request_labels(method, path_of(o), o->stream, &r->verb, r->resource, sizeof r->resource);
    if (o->body) {
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", o->content_type ? o->content_type : "application/json");
        h = curl_slist_append(h, ct);
        r->body = strdup(o->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(o->body));
    }
    if (strcmp(method, "GET") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip */
    r->headers = h;
    r->next = c->active;
    if (c->active)
        c->active->prev = r;
    c->active = r;
    c->stats.requests++;
    if (must_wait_for_token(c)) {
        r->parked = true; /* launch_parked hands it on when the plugin is done */
        return r;
    }
    if (launch(c, r) != 0) {
        unlink_req(r);
        free_req(r);
        return NULL;
    }
    return r;
}

/* The request's token (the current one, at the moment it goes out), then to libcurl: at once, or
 * from the loop when called inside a libcurl callback. */
static int launch(struct kclient *c, struct kreq *r)
{
    refresh_token(c);
    if (c->token) {
        size_t tl = strlen(c->token) + 32;
        char *auth = malloc(tl);
        if (!auth)
            return -1;
        snprintf(auth, tl, "Authorization: Bearer %s", c->token);
        struct curl_slist *h = curl_slist_append(r->headers, auth);
        memset(auth, 0, tl);
        free(auth);
        if (!h)
            return -1;
        r->headers = h;
    }
    curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->headers);
    if (c->in_curl) {
        if (c->n_deferred == (int)(sizeof c->deferred / sizeof c->deferred[0]))
            return -1;
        c->deferred[c->n_deferred++] = r;
        ev_timer_set(&c->add_later, 0., 0.);
        ev_timer_start(c->loop, &c->add_later);
        return 0;
    }
    return curl_multi_add_handle(c->multi, r->easy) == CURLM_OK ? 0 : -1;
}
