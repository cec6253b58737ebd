/*
 * ktable — server-side printing: a list or an object as the meta.k8s.io/v1 Table that
 * kube-apiserver answers when a client asks for one (kubectl get sends
 * `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...`), with the columns of the real
 * server's printers for nodes, pods, deployments, statefulsets, replicasets, events, configmaps,
 * namespaces and leases (priority 1 columns are what `-o wide` adds), Name and Age otherwise.
 * Ages are formatted as the real server's (Go's duration.HumanDuration).
 *
 * Pure (no I/O; `now` comes in). Ownership: ktable_build() borrows the input and returns a new
 * tree the caller deletes.
 */
#ifndef PROPSIM_KTABLE_H
#define PROPSIM_KTABLE_H

#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

/* Does this Accept header ask for a meta.k8s.io Table? */
int ktable_wanted(const char *accept);

/* `doc` is a list (its "items" become rows) or one object (one row), of the resource named by
 * `resource` (plural). NULL when out of memory. */
cJSON *ktable_build(const char *resource, const cJSON *doc, time_t now);

/* Go's duration.HumanDuration of `seconds` ("45s", "5m30s", "3h", "12d"...) into out. */
void ktable_human_duration(long long seconds, char *out, size_t outlen);

#endif
