/*
 * propscaler — the in-cluster controller. main() wires the pieces: flags (CPA's and ours),
 * logging, the controller (client, reflectors, reconcile) on a libev loop, and the HTTP
 * endpoints on --metrics-addr (libmicrohttpd, its own thread). SIGTERM/SIGINT stop it
 * gracefully: an in-flight write finishes first.
 */
#define _DEFAULT_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>
#include <microhttpd.h>

#include "controller.h"
#include "flags.h"
#include "log.h"
#include "webhook.h"

static enum MHD_Result http_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)con_cls;
    struct controller *c = cls;
    char body[2048];
    char *dyn = NULL;
    int code;
    const char *ctype = "text/plain; charset=utf-8";
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        code = 405;
        snprintf(body, sizeof body, "method not allowed");
    } else if (strcmp(url, "/healthz") == 0) {
        code = controller_healthz(c, body, sizeof body);
    } else if (strcmp(url, "/readyz") == 0) {
        code = controller_readyz(c, body, sizeof body);
    } else if (strcmp(url, "/last-poll") == 0) {
        code = controller_last_poll(c, body, sizeof body);
    } else if (strcmp(url, "/metrics") == 0) {
        dyn = controller_metrics(c);
        code = 200;
        ctype = "text/plain; version=0.0.4; charset=utf-8";
    } else {
        code = 404;
        snprintf(body, sizeof body, "not found: try /healthz, /readyz, /last-poll or /metrics");
    }
    const char *text = dyn ? dyn : body;
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
    free(dyn);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result res = MHD_queue_response(conn, (unsigned)code, r);
    MHD_destroy_response(r);
    return res;
}

static struct MHD_Daemon *start_http(const char *addr, struct controller *c, char *err, size_t errlen)
{
    char bound[96];
    int fd = listen_tcp("metrics-addr", addr, bound, sizeof bound, err, errlen);
    if (fd < 0)
        return NULL;
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
                                            http_handler, c, MHD_OPTION_LISTEN_SOCKET, fd,
                                            MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
                                            MHD_OPTION_END);
    if (!d) {
        snprintf(err, errlen, "--metrics-addr: cannot serve HTTP on %s", addr);
        close(fd);
        return NULL;
    }
    LOG_INFO("serving /healthz, /readyz, /last-poll and /metrics on %s", bound);
    return d;
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    (void)loop;
    (void)revents;
    LOG_INFO("received signal %d: stopping (an in-flight write finishes first)", w->signum);
    controller_stop(w->data);
}

int main(int argc, char **argv)
{
    struct propscaler_config cfg;
    flags_init(&cfg);
    char err[1024];
    enum flags_result r = flags_parse(&cfg, argc, (const char *const *)argv, err, sizeof err);
    if (r != FLAGS_OK) {
        if (r == FLAGS_ERROR)
            fprintf(stderr, "propscaler: %s\n", err);
        flags_release(&cfg);
        return r == FLAGS_EXIT_OK ? 0 : 2;
    }
    struct log_opts lo = {.json = cfg.log_json, .verbosity = cfg.verbosity, .to_stderr = cfg.log_to_stderr,
                          .also_to_stderr = cfg.also_log_to_stderr, .stderr_threshold = cfg.stderr_threshold,
                          .file = cfg.log_file, .dir = cfg.log_dir};
    if (log_init(&lo, err, sizeof err) != 0) {
        fprintf(stderr, "propscaler: %s\n", err);
        flags_release(&cfg);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct ev_loop *loop = EV_DEFAULT;
    struct controller *c = controller_new(loop, &cfg, err, sizeof err);
    if (!c) {
        fprintf(stderr, "propscaler: %s\n", err);
        flags_release(&cfg);
        return 2;
    }
    struct MHD_Daemon *http = start_http(cfg.metrics_addr, c, err, sizeof err);
    if (!http) {
        fprintf(stderr, "propscaler: %s\n", err);
        controller_free(c);
        flags_release(&cfg);
        return 2;
    }
    struct webhook *hook = NULL;
    if (cfg.node_guard) {
        struct webhook_opts wo = {.addr = cfg.webhook_addr, .cert = cfg.webhook_cert, .key = cfg.webhook_key,
                                  .self_signed = cfg.webhook_self_signed, .service = cfg.webhook_service,
                                  .namespace_ = cfg.webhook_service_ns, .warn = cfg.node_guard_warn};
        hook = webhook_start(&wo, controller_review_node_removal, c, err, sizeof err);
        if (!hook) {
            fprintf(stderr, "propscaler: %s\n", err);
            MHD_stop_daemon(http);
            controller_free(c);
            flags_release(&cfg);
            return 2;
        }
        if (webhook_ca_pem(hook)) {
            LOG_INFO("node-guard: generated a self-signed serving certificate for %s.%s.svc; its caBundle:\n%s",
                     cfg.webhook_service, cfg.webhook_service_ns, webhook_ca_pem(hook));
            controller_manage_webhook_cert(c, hook); /* one pair for every replica, and the caBundle */
        }
    }
    ev_signal term, intr;
    ev_signal_init(&term, on_signal, SIGTERM);
    ev_signal_init(&intr, on_signal, SIGINT);
    term.data = intr.data = c;
    ev_signal_start(loop, &term);
    ev_signal_start(loop, &intr);
    controller_start(c);
    ev_run(loop, 0);
    int rc = controller_exit_code(c);
    webhook_stop(hook); /* no review may run on a freed controller */
    MHD_stop_daemon(http);
    ev_signal_stop(loop, &term);
    ev_signal_stop(loop, &intr);
    controller_free(c);
    flags_release(&cfg);
    LOG_INFO("stopped");
    return rc;
}
