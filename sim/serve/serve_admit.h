/*
 * serve_admit — validating admission webhooks, called as kube-apiserver calls them.
 *
 * Before a create, update, patch or delete is stored, every ValidatingWebhookConfiguration
 * (admissionregistration.k8s.io/v1, applied like any object) is read, in name order; each webhook
 * whose rules match (operations, apiGroups, apiVersions, resources with "sub/resources" and
 * wildcards, scope) and whose objectSelector matches the new or the old object's labels (and,
 * for a namespaced object, whose namespaceSelector matches its namespace's labels) is sent an
 * AdmissionReview v1 over HTTPS: clientConfig.url, verified with clientConfig.caBundle, within
 * timeoutSeconds (default 10). A denial fails the request with kube-apiserver's text
 * (`admission webhook "NAME" denied the request: MESSAGE`, the webhook's code, at least 400); a
 * webhook that cannot be called fails the request (500, "failed calling webhook") under
 * failurePolicy Fail (the default) and is skipped under Ignore. Warnings become `Warning: 299 -`
 * response headers, which kubectl prints. A webhook given by clientConfig.service cannot be
 * reached from here (no cluster network): it counts as a failed call, whose message says to use
 * clientConfig.url.
 *
 * Threading: propsim serve's connections share a pool of threads, and a webhook that calls back
 * into propsim serve (propscaler's node guard reads its ledger ConfigMap) on a connection served by
 * the waiting thread would wait for itself. So a request that needs a webhook is suspended and
 * the call made on a thread of its own (serve_admit_start); the request's handler runs again when
 * the answer is in and takes it (serve_admit_finish). serve_admit itself blocks its caller for at
 * most the webhook's timeout. Warnings are kept per thread until the response is sent
 * (serve_admit_take_warning).
 */
#ifndef PROPSIM_SERVE_ADMIT_H
#define PROPSIM_SERVE_ADMIT_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "kstore.h"
#include "serve.h"

/* NULL: admitted (warnings, if any, are pending for the response). Otherwise the Status object to
 * answer with (the caller sends and frees it) and its HTTP code in *code. `obj`/`old`: the new and
 * the stored object (either may be NULL: no new object for a DELETE, no old one for a CREATE). */
cJSON *serve_admit(struct serve_ctx *ctx, const struct kresource_def *d, const char *subresource, const char *operation,
                   const char *ns, const char *name, const cJSON *obj, const cJSON *old, bool dry_run, unsigned *code);

/* The next pending warning of this thread's request as a Warning header value, or NULL. */
const char *serve_admit_take_warning(void);

/* Whether any webhook's rules and selectors take this request (serve_admit would call one). */
bool serve_admit_needed(struct serve_ctx *ctx, const struct kresource_def *d, const char *subresource,
                        const char *operation, const char *ns, const cJSON *obj, const cJSON *old);

/* An admission made off the request's thread: kept with the request until it completes. */
#define SERVE_ADMIT_MAX_WARNINGS 8
enum admit_state { ADMIT_NONE, ADMIT_RUNNING, ADMIT_DONE };
struct admit_result {
    volatile enum admit_state state;
    cJSON *status; /* NULL: admitted */
    unsigned code;
    char warnings[SERVE_ADMIT_MAX_WARNINGS][600];
    int n_warnings;
};
struct MHD_Connection;
/* Suspend `c` and call serve_admit with copies of the inputs on a thread of its own; the thread
 * writes `out` (ADMIT_DONE) and resumes `c`. 0; -1 when it cannot start (nothing suspended:
 * call serve_admit inline). */
int serve_admit_start(struct serve_ctx *ctx, struct MHD_Connection *c, struct admit_result *out,
                      const struct kresource_def *d, const char *subresource, const char *operation, const char *ns,
                      const char *name, const cJSON *obj, const cJSON *old, bool dry_run);
/* A finished admission's verdict, as serve_admit returns it (a new Status, or NULL); its warnings
 * become this thread's pending ones. */
cJSON *serve_admit_finish(const struct admit_result *r, unsigned *code);
void serve_admit_result_release(struct admit_result *r);
/* Wait (at most timeout_seconds) until no admission thread runs: before the daemon stops. */
void serve_admit_wait_idle(double timeout_seconds);

#endif
