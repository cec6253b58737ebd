/*
 * podwatch — where a target's pods run: a reflector on its pods (the workload's own label
 * selector) and, per pod, the node it is bound to. Answers "how many replicas per node", so the
 * controller can report nodes holding too many replicas of a DNS-like add-on (the per-VM DNS
 * rate limit is per node).
 *
 * Ownership: podwatch_new() copies the namespace and selector; podwatch_free() cancels its
 * requests. Bounded: at most PODWATCH_MAX pods are tracked.
 */
#ifndef PROPSCALER_PODWATCH_H
#define PROPSCALER_PODWATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include <ev.h>

#include "kclient.h"
#include "placement.h" /* struct node_load */

#define PODWATCH_MAX 20000

struct podwatch;

struct podwatch *podwatch_new(struct ev_loop *loop, struct kclient *client, const char *ns, const char *selector,
                              void (*changed)(void *ctx), void *ctx);
void podwatch_free(struct podwatch *p);
/* For tests and fuzzing: a podwatch fed by hand through podwatch_apply(), without a reflector. */
struct podwatch *podwatch_new_offline(const char *ns, const char *selector);
void podwatch_apply(struct podwatch *p, const cJSON *pod, bool deleted);
const char *podwatch_selector(const struct podwatch *p);
/* Per-node replica counts, busiest first; returns how many nodes hold pods (fills up to max). */
size_t podwatch_load(const struct podwatch *p, struct node_load *out, size_t max);
size_t podwatch_pods(const struct podwatch *p);

#endif
