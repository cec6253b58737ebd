#include "watchevent.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL; }

const char *watch_event_type_name(enum watch_event_type t)
{
    static const char *names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
    return names[t];
}

void watch_event_release(struct watch_event *ev)
{
    cJSON_Delete(ev->root);
    memset(ev, 0, sizeof *ev);
}

int watch_event_parse(const char *line, size_t len, struct watch_event *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    if (!root) {
        size_t at = end ? (size_t)(end - line) : 0;
        snprintf(err, errlen, "not valid JSON (near byte %zu)", at + 1);
        return -1;
    }
    for (size_t i = (size_t)(end - line); i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n') {
            snprintf(err, errlen, "unexpected data after the event (byte %zu)", i + 1);
            cJSON_Delete(root);
            return -1;
        }
    const cJSON *type = get(root, "type"), *obj = get(root, "object"), *t = get(root, "t");
    if (!cJSON_IsString(type) || !cJSON_IsObject(obj)) {
        snprintf(err, errlen, "an event needs a string \"type\" and an object \"object\"");
        cJSON_Delete(root);
        return -1;
    }
    static const char *names[] = {"ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"};
    int k = 0;
    while (k < 5 && strcmp(names[k], type->valuestring) != 0)
        k++;
    if (k == 5) {
        char shown[140];
        bool whole = text_for_message(type->valuestring, strlen(type->valuestring), 32, shown, sizeof shown);
        snprintf(err, errlen, "unknown event type \"%s\"%s (expected ADDED, MODIFIED, DELETED, BOOKMARK or ERROR)",
                 shown, whole ? "" : "...");
        cJSON_Delete(root);
        return -1;
    }
    if (t) {
        if (!cJSON_IsNumber(t) || !(t->valuedouble >= 0) || !isfinite(t->valuedouble)) {
            snprintf(err, errlen, "\"t\" must be a finite non-negative number of seconds");
            cJSON_Delete(root);
            return -1;
        }
        out->has_t = true;
        out->t = t->valuedouble;
    }
    out->type = (enum watch_event_type)k;
    out->root = root;
    out->object = obj;
    const cJSON *kind = get(obj, "kind");
    out->kind = cJSON_IsString(kind) ? kind->valuestring : NULL;
    const cJSON *rv = get(get(obj, "metadata"), "resourceVersion");
    out->resource_version = cJSON_IsString(rv) ? rv->valuestring : NULL;
    if (out->type == WEV_ERROR) {
        const cJSON *code = get(obj, "code"), *reason = get(obj, "reason"), *msg = get(obj, "message");
        out->error_code = cJSON_IsNumber(code) ? (int)code->valuedouble : 0;
        out->error_reason = cJSON_IsString(reason) ? reason->valuestring : "";
        out->error_message = cJSON_IsString(msg) ? msg->valuestring : "";
    }
    return 0;
}
