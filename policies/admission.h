/*
 * admission — AdmissionReview v1 (admission.k8s.io/v1) for the node-removal webhook: what a
 * request asks, read strictly; the answer, written as kube-apiserver expects it.
 *
 * A request is a node removal when it is
 *   - a DELETE of a Node (core "nodes"), a Karpenter NodeClaim (karpenter.sh "nodeclaims") or a
 *     Cluster API Machine (cluster.x-k8s.io "machines") — the last two name their node in
 *     status.nodeName / status.nodeRef.name; one with no node behind it removes no node;
 *   - an UPDATE of a Node (not a subresource) whose new object carries a removal mark:
 *     cluster-autoscaler's ToBeDeletedByClusterAutoscaler taint, Karpenter's
 *     karpenter.sh/disrupted (v1) or karpenter.sh/disruption (before v1) taint. Whether the old
 *     object had it too is not asked: the rule counts a node once per window, so an update of a
 *     node already marked and counted passes; one marked before the window is counted then (the
 *     safe side), and an oldObject that is a copy of the new object (seen from a real
 *     kube-apiserver 1.20.2 build) cannot hide a new mark.
 * `node_override`: the removed object (the new one for an UPDATE, the old one for a DELETE)
 * carries the annotation propscaler.io/allow-removal with a non-empty value.
 *
 * Bodies are bounded (ADMISSION_MAX_BODY); a body that is not an AdmissionReview v1 with a
 * request, a uid and an operation is an error naming the field. Strings the answer echoes (the
 * uid) are length-checked. Ownership: the parsed request holds copies; nothing to free.
 */
#ifndef PROPSCALER_ADMISSION_H
#define PROPSCALER_ADMISSION_H

#include <stdbool.h>
#include <stddef.h>

/* kube-apiserver's request limit is 3 MiB; an AdmissionReview of an UPDATE carries two objects */
#define ADMISSION_MAX_BODY (7u << 20)

enum admission_subject { ADMISSION_OTHER, ADMISSION_NODE, ADMISSION_NODECLAIM, ADMISSION_MACHINE };

struct admission_request {
    char uid[128];
    char operation[16];     /* CREATE UPDATE DELETE CONNECT */
    char name[256];         /* request.name */
    char sub_resource[64];
    char username[256];     /* request.userInfo.username, for the log */
    enum admission_subject subject;
    bool dry_run;
    bool removal;           /* a node removal, as above */
    char node[256];         /* the node it removes (when removal) */
    char mark[64];          /* UPDATE: the removal mark added */
    bool node_override;
    char node_uid[128];     /* metadata.uid of the Node (removal of a Node), for its Event */
};

const char *admission_subject_name(enum admission_subject s);

/* 0, or -1 with err naming what is wrong (and r->uid set when the uid was readable, so the
 * answer can still name the request). */
int admission_request_parse(const char *body, size_t len, struct admission_request *r, char *err, size_t errlen);

/* The AdmissionReview v1 answer (a heap string the caller frees; NULL when out of memory).
 * Refusals carry status {code 403, reason Forbidden, message}; `warning` (may be NULL) is one
 * entry of response.warnings, which kubectl prints as "Warning: ...". */
char *admission_response(const char *uid, bool allowed, const char *message, const char *warning);

#endif
