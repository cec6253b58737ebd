/*
 * watchevent — one Kubernetes watch event (a line of a watch stream or of a trace):
 *   {"type":"ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR","object":{...}}  (+ "t" in traces)
 *
 * The controller's watch decoder and the simulator's trace reader both use this, so a recorded
 * trace is decoded exactly as the live stream was. Parsing is strict: the line must be one JSON
 * object with nothing after it but whitespace (cJSON_ParseWithLength alone accepts trailing
 * garbage); keys are matched case-sensitively, as Kubernetes does.
 *
 * Ownership: struct watch_event is caller-owned storage; watch_event_parse() fills it with a
 * cJSON tree it owns (borrowed pointers point into it); watch_event_release() frees it.
 */
#ifndef PROPSCALER_WATCHEVENT_H
#define PROPSCALER_WATCHEVENT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

enum watch_event_type { WEV_ADDED, WEV_MODIFIED, WEV_DELETED, WEV_BOOKMARK, WEV_ERROR };

struct watch_event {
    enum watch_event_type type;
    cJSON *root;
    const cJSON *object;
    const char *resource_version; /* object.metadata.resourceVersion, or NULL */
    const char *kind;             /* object.kind, or NULL */
    bool has_t;
    double t;                     /* trace timestamp (seconds), when present */
    int error_code;               /* ERROR: the Status code (410 = expired resourceVersion) */
    const char *error_reason;     /* ERROR: Status reason, or "" */
    const char *error_message;    /* ERROR: Status message, or "" */
};

int watch_event_parse(const char *line, size_t len, struct watch_event *out, char *err, size_t errlen);
void watch_event_release(struct watch_event *ev);
const char *watch_event_type_name(enum watch_event_type t);

#endif
