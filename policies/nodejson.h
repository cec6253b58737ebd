/*
 * nodejson — a Node object's JSON bytes -> a node record, without a document tree.
 *
 * The one decoder of Node objects from the API: the controller's LIST pages (each item, cut out of
 * the page as it streams in: see liststream.h) and watch events (the "object" of an event line)
 * both come here, and so do the simulator's trace lines that are not in the one canonical layout
 * nodeline reads faster still (nodejson_trace_line). It reads the fields that counting reads (metadata.name, labels and
 * resourceVersion, spec.unschedulable and taints, status.allocatable.cpu, the Ready condition)
 * and validates every other byte, skipping it.
 *
 * The contract (held by tests/unit/test_nodejson.c on real Nodes and by the differential fuzz
 * target tests/fuzz/fuzz_nodejson.c): when nodejson_decode accepts bytes, cJSON accepts them too
 * (cJSON_ParseWithLengthOpts, nothing but whitespace after the object) and node_decode of that tree
 * yields exactly the same record; the spans it returns parse to the very subtrees cJSON's getters
 * return. To keep that exact it accepts only strict RFC 8259 JSON, keys and read strings without
 * escapes, and nothing node_decode would refuse; anything else — a rare escape, an error, a
 * feature it does not cover — is declined (0), and the caller decodes the bytes the general way,
 * which also writes the error message. Declining is always correct, only slower.
 *
 * Pure; no allocation except for the optional local label selector or ignored taints (their small
 * subtrees are parsed with cJSON). Output is caller-owned; spans point into `json`.
 */
#ifndef PROPSCALER_NODEJSON_H
#define PROPSCALER_NODEJSON_H

#include <stddef.h>

#include "nodeline.h"
#include "nodes.h"
#include "watchevent.h"

/* A JSON value's bytes inside the decoded object (len 0: absent). */
struct json_span {
    const char *p;
    size_t len;
};

struct nodejson_extra {
    bool has_kind;                     /* the object says kind "Node" (it may say nothing) */
    struct json_span labels;           /* metadata.labels (any JSON value) */
    struct json_span taints;           /* spec.taints (any JSON value) */
    struct json_span resource_version; /* metadata.resourceVersion's characters (a string) */
};

/* 1: decoded into *out (and *extra when not NULL); 0: declined (decode it with cJSON +
 * node_decode). `opts` may be NULL (CPA's default counting). */
int nodejson_decode(const char *json, size_t len, const struct node_count_opts *opts, struct node_obs *out,
                    struct nodejson_extra *extra);

/* The same for an object that starts at json[0] and is followed by other bytes (a LIST page's
 * next items): 1 with *used, the object's length, when json[0..*used) is one object that
 * nodejson_decode(json, *used) reads the same; 0: declined, or the object does not end within
 * `avail` bytes (cut it out the general way). Reads each byte once: no scan for the end first. */
int nodejson_decode_prefix(const char *json, size_t avail, const struct node_count_opts *opts, struct node_obs *out,
                           struct nodejson_extra *extra, size_t *used);

/* A watch event line {"type":T,"object":{...}} read the same strict way: 1 with its type and its
 * object's bytes when the line is strict JSON, "type" (its first member of the name) one of the
 * five type names without escapes, "object" (its first) an object, no "t" member (a trace's), and
 * nothing but whitespace after; 0 otherwise (watch_event_parse then reads it, and says what is
 * wrong). On 1, watch_event_parse would accept the line with the same type and object. */
int nodejson_event_envelope(const char *line, size_t len, enum watch_event_type *type, struct json_span *object);

/* The one shape API servers write, {"type":"T","object":OBJ} (no whitespace inside the envelope,
 * "type" first, "object" last; whitespace around the line allowed), found without reading OBJ:
 * 1 with T (one of the five names) and OBJ's bytes, which are NOT checked. The line is the strict
 * envelope nodejson_event_envelope accepts, with this type and object, exactly when OBJ is one
 * strict JSON object — as nodejson_decode() returning 1 on it proves. So an event is read in one
 * pass: the shape, then the decoder (its 0: read the line the general way). 0: another shape. */
int nodejson_event_shape(const char *line, size_t len, enum watch_event_type *type, struct json_span *object);

/* A trace line {"t":T,"type":T,"object":{Node}} read the same strict way (the general form of
 * nodeline's one canonical layout): 1 with its time, type (ADDED, MODIFIED or DELETED) and node
 * record when the object says kind "Node"; 0 otherwise. On 1, the trace reader's general path
 * (watch_event_parse + node_decode) yields the same (nodeline_ref.h). */
int nodejson_trace_line(const char *line, size_t len, const struct node_count_opts *opts, struct nodeline *out);

/* The strict validator the decoder uses, for other callers that cut values out of a stream: the
 * end of the JSON value that starts at p (after leading whitespace), or NULL when it is not strict
 * JSON within [p, end) (cJSON may still accept it). */
const char *json_strict_value_end(const char *p, const char *end);

#endif
