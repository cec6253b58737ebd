/* --record: the node history propscaler observes, written as a trace (DESIGN.md format, trimmed
 * Nodes that are still valid Nodes, one line flushed per event; a LIST is recorded as the
 * difference from what was recorded before). See controller_internal.h. */
#define _DEFAULT_SOURCE
#include "controller_internal.h"

/* ------------------------------------------------------------------------------------------ */
/* --record                                                                                     */

/* A Node trimmed to what counting reads: still a valid Node (DESIGN.md's trace format). */
char *record_trim_node(const cJSON *obj)
{
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    const cJSON *spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(obj, "status");
    cJSON *n = cJSON_CreateObject();
    cJSON_AddStringToObject(n, "kind", "Node");
    cJSON_AddStringToObject(n, "apiVersion", "v1");
    cJSON *m = cJSON_AddObjectToObject(n, "metadata");
    static const char *mkeys[] = {"name", "labels", "resourceVersion"};
    for (size_t i = 0; i < 3; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, mkeys[i]);
        if (v)
            cJSON_AddItemToObject(m, mkeys[i], cJSON_Duplicate(v, 1));
    }
    cJSON *sp = cJSON_AddObjectToObject(n, "spec");
    static const char *skeys[] = {"unschedulable", "taints"};
    for (size_t i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, skeys[i]);
        if (v)
            cJSON_AddItemToObject(sp, skeys[i], cJSON_Duplicate(v, 1));
    }
    cJSON *st = cJSON_AddObjectToObject(n, "status");
    const cJSON *cpu = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(status, "allocatable"), "cpu");
    if (cpu)
        cJSON_AddItemToObject(cJSON_AddObjectToObject(st, "allocatable"), "cpu", cJSON_Duplicate(cpu, 1));
    cJSON *conds = cJSON_AddArrayToObject(st, "conditions");
    const cJSON *cnd;
    cJSON_ArrayForEach(cnd, cJSON_GetObjectItemCaseSensitive(status, "conditions"))
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(cnd, "type");
        if (cJSON_IsString(t) && strcmp(t->valuestring, "Ready") == 0)
            cJSON_AddItemToArray(conds, cJSON_Duplicate(cnd, 1));
    }
    char *text = cJSON_PrintUnformatted(n);
    cJSON_Delete(n);
    return text;
}

void record_line(struct controller *c, const char *type, const char *object_json)
{
    if (!c->record)
        return;
    fprintf(c->record, "{\"t\":%.3f,\"type\":\"%s\",\"object\":%s}\n", ev_now(c->loop) - c->record_t0, type, object_json);
    fflush(c->record); /* a crash loses at most the line being written */
}

static void record_deleted_if_gone(void *ctx, const char *name)
{
    struct controller *c = ctx;
    if (c->staging && !node_set_contains(c->staging, name)) {
        char obj[512];
        snprintf(obj, sizeof obj, "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\"}}", name);
        record_line(c, "DELETED", obj);
    }
}

/* After a complete LIST: record the difference from what was recorded before. */
void record_list(struct controller *c)
{
    if (!c->record)
        return;
    if (c->nodes)
        node_set_foreach(c->nodes, record_deleted_if_gone, c);
    char *line = c->record_pending.data, *nl;
    while (line && (nl = strchr(line, '\n')) != NULL) {
        *nl = '\0';
        const char *tab = strchr(line, '\t'); /* "name\tjson" */
        if (tab) {
            char name[NODE_NAME_MAX + 1];
            snprintf(name, sizeof name, "%.*s", (int)(tab - line), line);
            record_line(c, c->nodes && node_set_contains(c->nodes, name) ? "MODIFIED" : "ADDED", tab + 1);
        }
        line = nl + 1;
    }
    buf_reset(&c->record_pending);
}
