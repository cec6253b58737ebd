/*
 * kvalidate — the checks kube-apiserver makes on a request body before it stores anything, for
 * the answers clients act on: 400 when the body is not the object the URL names (another kind,
 * another apiVersion, another name or namespace, a Lease or Event time without microseconds), 422
 * Invalid for a value the type's validation refuses (a negative Scale, a Lease duration <= 0, an
 * Event the real server's event validation refuses (kevents), a ConfigMap key that is not a valid
 * key). Held to the real server by tests/kube/differential.py.
 *
 * Pure (no I/O); bodies come from outside and are fuzzed (fuzz_serve_body).
 * Ownership: everything is borrowed; the verdict is written into caller-owned storage.
 */
#ifndef PROPSIM_KVALIDATE_H
#define PROPSIM_KVALIDATE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "kstore.h"

struct kvalid_verdict {
    unsigned code;      /* 0: valid; 400 or 422 */
    const char *reason; /* "BadRequest", "Invalid" */
    char message[600];
    /* Status details, as the real server fills them for this refusal */
    const char *group;  /* NULL or "": none */
    const char *kind;   /* NULL: none */
    char name[254];     /* "": none */
};

/* The real server checks a body in two stages with admission between them (a body sent into a
 * namespace that does not exist is answered 404 even when its own namespace or values are wrong):
 *
 * kvalidate_decode: is `body` the object the URL names? (400: not an object, another kind or
 * apiVersion, another name than url_name, a MicroTime without microseconds). For a create
 * (url_name NULL) or an update of d's object url_name, or of its subresource ("scale", "status"
 * or NULL).
 * kvalidate_object: the type's validation of the object written into namespace `ns` (NULL for
 * cluster-scoped): 400 when the body names another namespace, 422 Invalid for refused values.
 * `create`: a create (events.k8s.io/v1 validates creates more strictly).
 * Each returns 0 (valid) or the verdict's code. */
unsigned kvalidate_decode(const struct kresource_def *d, const char *subresource, const char *url_name,
                          const cJSON *body, struct kvalid_verdict *v);
unsigned kvalidate_object(const struct kresource_def *d, const char *subresource, const char *url_name, const char *ns,
                          const cJSON *body, bool create, struct kvalid_verdict *v);

#endif
