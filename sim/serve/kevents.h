/*
 * kevents — Events as kube-apiserver 1.20 serves them in two shapes from one storage: core v1
 * Events (what propscaler and `kubectl describe` use) and events.k8s.io/v1 Events (what client-go's
 * newer recorder writes: the scheduler, the node lifecycle controller). Both are the same stored
 * object; events.k8s.io/v1 renames fields (involvedObject -> regarding, message -> note, source ->
 * deprecatedSource, firstTimestamp/lastTimestamp/count -> deprecated*, reportingComponent ->
 * reportingController) and drops nothing. propsim serve stores the core form and converts at the
 * store's edge (kstore's view resources).
 *
 * The conversions write the fields in the order, and with the empty values, that the real server
 * prints (Go's encoding of the typed structs: a struct field without omitempty prints {} or null).
 * Fields that neither shape knows are dropped, as decoding into the typed struct drops them.
 *
 * Validation is pkg/apis/core/validation/events.go of 1.20, checked side by side with a real
 * kube-apiserver (tests/kube/differential.py): every write passes the "legacy" checks (namespace
 * agreement; for an Event with an eventTime, the reporting fields and lengths); a create through
 * events.k8s.io/v1 also the strict ones (eventTime required, type Normal or Warning, a series of at
 * least 2 with a lastObservedTime, the deprecated fields unset). Paths in the messages are the core
 * field names, as the real server words them.
 *
 * Pure (no I/O); bodies come from outside and are fuzzed (fuzz_serve_body).
 * Ownership: the conversions return new trees (cJSON_Delete them) or NULL when out of memory.
 */
#ifndef PROPSIM_KEVENTS_H
#define PROPSIM_KEVENTS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#define KEVENTS_GROUP "events.k8s.io"

/* A stored core v1 Event as events.k8s.io/v1 shows it. */
cJSON *kevents_core_to_v1(const cJSON *core);
/* An events.k8s.io/v1 Event (a client's body) as the core v1 Event stored for it. */
cJSON *kevents_v1_to_core(const cJSON *v1);

/* Validate the core form of an Event written into namespace `ns`; strict: a create through
 * events.k8s.io/v1. Returns the number of errors (0: valid) and, when there are any, writes the
 * real server's message ("Event \"NAME\" is invalid: ...") into msg. */
int kevents_validate(const cJSON *core, const char *ns, const char *name, bool strict, char *msg, size_t msglen);

#endif
