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
 * Threading: called on the request's own thread (propsim serve runs one per connection); the call
 * blocks it for at most the webhook's timeout. Warnings are kept per thread until the response
 * is sent (serve_admit_take_warning).
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

#endif
