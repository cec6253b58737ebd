/*
 * controller — propscaler's reconcile loop: watched nodes and params in, scale writes out.
 *
 * State: the node set (from the nodes reflector, swapped in whole after each complete LIST),
 * the params ConfigMap (watched, parsed on change; an invalid edit keeps the last good params in
 * force and is reported), and per-target bookkeeping. A reconcile runs on every relevant change
 * (node events once quiet for 25 ms, at most 1 s after a burst began) and every
 * --poll-period-seconds as a safety net, never
 * before both LISTs have completed. For each target it reads the scale subresource, and writes
 * only when the replica count differs (409: fresh read and retry). With --dry-run it prints the
 * planned action instead. CPA's log lines, /healthz, /last-poll, --default-params creation and
 * --max-sync-failures behave as in CPA (see CPA-COMPAT.md); /readyz and /metrics are additions.
 *
 * Against a failing or hostile server: no decision while either cache is untrusted (after a
 * failed watch, until the reflector's consistency check passes or a LIST completes); each poll
 * tick first checks both caches against the server (state loss), then reconciles. A failed
 * reconcile is retried on its own timer (jittered backoff, never sooner than a Retry-After),
 * so a node event is decided at once whatever retry is pending. A poll period without a usable
 * cache counts as a failed sync, before the first LIST too. Leadership changes clear the
 * foreign-writer bookkeeping. controller_stop() ends the loop within CONTROLLER_STOP_BOUND_S.
 *
 * Ownership: controller_new() borrows the loop and config (both outlive it).
 */
#ifndef PROPSCALER_CONTROLLER_H
#define PROPSCALER_CONTROLLER_H

#include <ev.h>

#include "flags.h"

struct controller;

struct controller *controller_new(struct ev_loop *loop, struct propscaler_config *cfg, char *err, size_t errlen);
void controller_start(struct controller *c);
/* Begin a graceful stop: no new work; the loop ends once an in-flight write has finished. */
void controller_stop(struct controller *c);
void controller_free(struct controller *c);
/* 0 normally, 1 when --max-sync-failures was reached. */
int controller_exit_code(const struct controller *c);

/* For the HTTP endpoints (called from another thread). */
int controller_healthz(struct controller *c, char *body, size_t len);
int controller_readyz(struct controller *c, char *body, size_t len);
int controller_last_poll(struct controller *c, char *body, size_t len);
char *controller_metrics(struct controller *c);
/* --node-guard: review an AdmissionReview body (the webhook's review function; ctx is the
 * controller). The answer is a heap string; *status 200 with an AdmissionReview, 400 with the
 * reason a body was refused. */
char *controller_review_node_removal(void *ctx, const char *body, size_t len, int *status);
/* --webhook-self-signed: share the webhook's certificate through a Secret and keep the
 * ValidatingWebhookConfiguration's caBundle current (webhookca.c). `hook` outlives the loop. */
struct webhook;
void controller_manage_webhook_cert(struct controller *c, struct webhook *hook);

#endif
