/*
 * serve_rs — a Deployment's ReplicaSet, as the deployment controller keeps it and clients see it:
 * named DEPLOYMENT-HASH (the pod template's hash, as kube-controller-manager encodes it), its
 * labels and selector with pod-template-hash, owned by the Deployment (ownerReferences,
 * controller: true), at the Deployment's replicas, its status settled. The pods of the
 * Deployment are then the ReplicaSet's (named after it, owned by it). No rollouts: a changed
 * template gets a new ReplicaSet and the old one is deleted with its pods replaced at once.
 * Called from the pod reconcile (serve_pods.c) on the request's thread.
 */
#ifndef PROPSIM_SERVE_RS_H
#define PROPSIM_SERVE_RS_H

#include <cjson/cJSON.h>

#include "serve.h"

/* Who owns a workload's pods. */
struct pod_owner {
    char api_version[32], kind[32], name[300], uid[64];
    char hash[16]; /* pod-template-hash ("" when not a Deployment's) */
};

/* For Deployment ns/name (its JSON; NULL when it is gone): keep its ReplicaSet and fill *owner
 * with it (gone: delete its ReplicaSets). 0, or -1 when the store refused a write. */
int serve_rs_sync(struct serve_ctx *ctx, const char *ns, const char *name, const cJSON *deployment, long replicas,
                  struct pod_owner *owner);

#endif
