/*
 * kfilter — which stored objects a LIST or WATCH of propsim serve returns: the labelSelector
 * and the fieldSelector, and the continue tokens it hands out
 * ("propsim-<snapshot>-<offset>-<resourceVersion>").
 *
 * Field selectors as kube-apiserver reads them: terms "field=value", "field==value" or
 * "field!=value", comma-separated (all must hold); metadata.name and metadata.namespace for
 * every resource, plus each resource's own fields (events: involvedObject.*, reason, source,
 * type, reportingComponent — what `kubectl describe` asks for; pods: spec.nodeName, status.phase
 * and the like; nodes: spec.unschedulable). An absent field reads as "" ("false" for
 * spec.unschedulable). Any other field is refused with the real server's message.
 *
 * Pure (no I/O); the request's strings come from outside and are fuzzed (fuzz_serve_body).
 * Ownership: struct kfilter is caller-owned: kfilter_init() fills it, kfilter_release() frees it
 * (also after a failed init).
 */
#ifndef PROPSIM_KFILTER_H
#define PROPSIM_KFILTER_H

#include <stdbool.h>

#include "apipath.h"
#include "kstore.h"
#include "selector.h"

#define KFILTER_MAX_TERMS 16

struct kfilter_term {
    const char *path; /* the field, a dotted path into the object (static storage) */
    bool negate;      /* != */
    char *value;
};

struct kfilter {
    struct selector *labels;
    struct kfilter_term terms[KFILTER_MAX_TERMS];
    int n_terms;
    bool needs_object; /* a term reads more than the name and namespace: parse the object */
};

/* 0, or -1 with err naming the selector at fault (the server answers 400 with it). */
int kfilter_init(struct kfilter *f, const struct api_request *r, char *err, size_t errlen);
void kfilter_release(struct kfilter *f);
/* Add the term metadata.namespace=ns (a namespaced request); 0 or -1. */
int kfilter_add_namespace(struct kfilter *f, const char *ns);
bool kfilter_match(const struct kfilter *f, const struct kobj *o);
/* True when the filter matches every object (no field term, no label requirement). */
bool kfilter_is_empty(const struct kfilter *f);

/* A LIST continue token. Consistent: the kept snapshot, the offset of the next item, the
 * snapshot's resourceVersion. Both kinds name the last item returned (ns, name: the list is
 * sorted by them), so that when the snapshot is gone the 410 can offer the inconsistent
 * continuation kube-apiserver offers: the rest of the list as it is now, after that item. */
struct kcontinue {
    bool inconsistent;
    unsigned long snapshot, offset;
    unsigned long long rv;
    char ns[254], name[254];
};
/* Read a continue token; 0, or -1 when it is not one of ours. */
int kfilter_parse_continue(const char *token, struct kcontinue *out);
/* Write one (out: at least KFILTER_CONTINUE_MAX bytes). */
#define KFILTER_CONTINUE_MAX 1100
void kfilter_format_continue(const struct kcontinue *k, char *out);

#endif
