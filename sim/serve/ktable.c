/* ktable — see ktable.h. */
#define _DEFAULT_SOURCE /* timegm */
#include "ktable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static const cJSON *get(const cJSON *o, const char *k) { return cJSON_GetObjectItemCaseSensitive(o, k); }

static const cJSON *dig(const cJSON *o, const char *path)
{
    char part[64];
    while (o && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof part)
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        o = get(o, part);
        path += n + (dot ? 1 : 0);
    }
    return o;
}

static const char *str(const cJSON *o, const char *path, const char *dflt)
{
    const cJSON *v = dig(o, path);
    return cJSON_IsString(v) && v->valuestring[0] ? v->valuestring : dflt;
}

static double num(const cJSON *o, const char *path)
{
    const cJSON *v = dig(o, path);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

int ktable_wanted(const char *accept) { return accept && strstr(accept, "as=Table") && strstr(accept, "g=meta.k8s.io"); }

void ktable_human_duration(long long s, char *out, size_t n)
{
    long long m = s / 60, h = s / 3600;
    if (s < -1)
        snprintf(out, n, "<invalid>");
    else if (s < 0)
        snprintf(out, n, "0s");
    else if (s < 120)
        snprintf(out, n, "%llds", s);
    else if (m < 10)
        s % 60 ? snprintf(out, n, "%lldm%llds", m, s % 60) : snprintf(out, n, "%lldm", m);
    else if (m < 180)
        snprintf(out, n, "%lldm", m);
    else if (h < 8)
        m % 60 ? snprintf(out, n, "%lldh%lldm", h, m % 60) : snprintf(out, n, "%lldh", h);
    else if (h < 48)
        snprintf(out, n, "%lldh", h);
    else if (h < 24 * 8)
        h % 24 ? snprintf(out, n, "%lldd%lldh", h / 24, h % 24) : snprintf(out, n, "%lldd", h / 24);
    else if (h < 24 * 365 * 2)
        snprintf(out, n, "%lldd", h / 24);
    else if (h < 24 * 365 * 8)
        (h / 24) % 365 ? snprintf(out, n, "%lldy%lldd", h / 24 / 365, (h / 24) % 365) : snprintf(out, n, "%lldy", h / 24 / 365);
    else
        snprintf(out, n, "%lldy", h / 24 / 365);
}

/* The age of an RFC 3339 timestamp at now, "<unknown>" when absent or unreadable. */
static void age(const char *ts, time_t now, char *out, size_t n)
{
    struct tm tm = {0};
    if (!ts || sscanf(ts, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                      &tm.tm_sec) != 6) {
        snprintf(out, n, "<unknown>");
        return;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    ktable_human_duration((long long)(now - timegm(&tm)), out, n);
}

struct column {
    const char *name, *type, *description;
    int priority;
};

static void add_cell_str(cJSON *cells, const char *s) { cJSON_AddItemToArray(cells, cJSON_CreateString(s)); }

static void add_cell_num(cJSON *cells, double v) { cJSON_AddItemToArray(cells, cJSON_CreateNumber(v)); }

/* "a/b", as READY columns print */
static void add_cell_ratio(cJSON *cells, double a, double b)
{
    char s[64];
    snprintf(s, sizeof s, "%.0f/%.0f", a, b);
    add_cell_str(cells, s);
}

/* comma-joined values of field `key` of each element of an array */
static void add_cell_join(cJSON *cells, const cJSON *arr, const char *key)
{
    struct buf b;
    buf_init(&b, 64 * 1024);
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) buf_printf(&b, "%s%s", b.len ? "," : "", str(e, key, ""));
    add_cell_str(cells, b.len ? buf_str(&b) : "<none>");
    buf_release(&b);
}

static void node_cells(cJSON *cells, const cJSON *o)
{
    const char *ready = "Unknown";
    const cJSON *c;
    cJSON_ArrayForEach(c, dig(o, "status.conditions")) if (strcmp(str(c, "type", ""), "Ready") == 0) ready =
        strcmp(str(c, "status", ""), "True") == 0 ? "Ready" : "NotReady";
    char status[64], roles[512] = "";
    snprintf(status, sizeof status, "%s%s", ready, cJSON_IsTrue(dig(o, "spec.unschedulable")) ? ",SchedulingDisabled" : "");
    add_cell_str(cells, status);
    const cJSON *l;
    cJSON_ArrayForEach(l, dig(o, "metadata.labels"))
    {
        static const char prefix[] = "node-role.kubernetes.io/";
        if (l->string && strncmp(l->string, prefix, sizeof prefix - 1) == 0 && l->string[sizeof prefix - 1]) {
            size_t at = strlen(roles);
            snprintf(roles + at, sizeof roles - at, "%s%s", at ? "," : "", l->string + sizeof prefix - 1);
        }
    }
    add_cell_str(cells, roles[0] ? roles : "<none>");
}

static void node_wide(cJSON *cells, const cJSON *o)
{
    const char *internal = "<none>", *external = "<none>";
    const cJSON *a;
    cJSON_ArrayForEach(a, dig(o, "status.addresses"))
    {
        if (strcmp(str(a, "type", ""), "InternalIP") == 0)
            internal = str(a, "address", "<none>");
        if (strcmp(str(a, "type", ""), "ExternalIP") == 0)
            external = str(a, "address", "<none>");
    }
    add_cell_str(cells, internal);
    add_cell_str(cells, external);
    add_cell_str(cells, str(o, "status.nodeInfo.osImage", "<unknown>"));
    add_cell_str(cells, str(o, "status.nodeInfo.kernelVersion", "<unknown>"));
    add_cell_str(cells, str(o, "status.nodeInfo.containerRuntimeVersion", "<unknown>"));
}

/* One row's cells; the columns are those of `resource` below, in the same order. */
static void row_cells(const char *resource, cJSON *cells, const cJSON *o, time_t now)
{
    char a[32];
    age(str(o, "metadata.creationTimestamp", NULL), now, a, sizeof a);
    if (strcmp(resource, "events") == 0) { /* kube-apiserver's printEvent (wide columns included) */
        char first[32], last[32], obj[600], kind[64], source[600];
        age(str(o, "firstTimestamp", NULL), now, first, sizeof first);
        if (!str(o, "firstTimestamp", NULL))
            age(str(o, "eventTime", NULL), now, first, sizeof first);
        snprintf(last, sizeof last, "%s", first);
        if (str(o, "lastTimestamp", NULL))
            age(str(o, "lastTimestamp", NULL), now, last, sizeof last);
        double count = num(o, "count");
        if (cJSON_IsObject(dig(o, "series"))) { /* a series: its last observation and count */
            age(str(o, "series.lastObservedTime", NULL), now, last, sizeof last);
            count = num(o, "series.count");
        } else if (count == 0) {
            count = 1; /* a singleton event of the new API has no count */
        }
        snprintf(kind, sizeof kind, "%s", str(o, "involvedObject.kind", ""));
        for (char *p = kind; *p; p++)
            *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
        const char *target = str(o, "involvedObject.name", NULL);
        snprintf(obj, sizeof obj, "%s%s%s", kind, target ? "/" : "", target ? target : "");
        const char *component = str(o, "source.component", str(o, "reportingComponent", ""));
        const char *instance = str(o, "source.host", str(o, "reportingInstance", ""));
        snprintf(source, sizeof source, "%.290s%s%.290s", component, instance[0] ? ", " : "", instance);
        struct buf message; /* strings.TrimSpace */
        buf_init(&message, 1 << 20);
        const char *m = str(o, "message", "");
        size_t ml = strlen(m);
        while (ml && (m[ml - 1] == ' ' || m[ml - 1] == '\n' || m[ml - 1] == '\t' || m[ml - 1] == '\r'))
            ml--;
        while (ml && (*m == ' ' || *m == '\n' || *m == '\t' || *m == '\r'))
            m++, ml--;
        buf_append(&message, m, ml);
        add_cell_str(cells, last);
        add_cell_str(cells, str(o, "type", ""));
        add_cell_str(cells, str(o, "reason", ""));
        add_cell_str(cells, obj);
        add_cell_str(cells, str(o, "involvedObject.fieldPath", ""));
        add_cell_str(cells, source);
        add_cell_str(cells, buf_str(&message));
        add_cell_str(cells, first);
        add_cell_num(cells, count);
        add_cell_str(cells, str(o, "metadata.name", ""));
        buf_release(&message);
        return;
    }
    add_cell_str(cells, str(o, "metadata.name", ""));
    if (strcmp(resource, "nodes") == 0) {
        node_cells(cells, o);
        add_cell_str(cells, a);
        add_cell_str(cells, str(o, "status.nodeInfo.kubeletVersion", ""));
        node_wide(cells, o);
    } else if (strcmp(resource, "deployments") == 0 || strcmp(resource, "statefulsets") == 0) {
        add_cell_ratio(cells, num(o, "status.readyReplicas"), num(o, "spec.replicas"));
        if (resource[0] == 'd') {
            add_cell_num(cells, num(o, "status.updatedReplicas"));
            add_cell_num(cells, num(o, "status.availableReplicas"));
        }
        add_cell_str(cells, a);
        add_cell_join(cells, dig(o, "spec.template.spec.containers"), "name");
        add_cell_join(cells, dig(o, "spec.template.spec.containers"), "image");
        if (resource[0] == 'd') {
            struct buf s;
            buf_init(&s, 64 * 1024);
            const cJSON *kv;
            cJSON_ArrayForEach(kv, dig(o, "spec.selector.matchLabels")) if (cJSON_IsString(kv))
                buf_printf(&s, "%s%s=%s", s.len ? "," : "", kv->string, kv->valuestring);
            add_cell_str(cells, s.len ? buf_str(&s) : "<none>");
            buf_release(&s);
        }
    } else if (strcmp(resource, "replicasets") == 0 || strcmp(resource, "replicationcontrollers") == 0) {
        add_cell_num(cells, num(o, "spec.replicas"));
        add_cell_num(cells, num(o, "status.replicas"));
        add_cell_num(cells, num(o, "status.readyReplicas"));
        add_cell_str(cells, a);
    } else if (strcmp(resource, "pods") == 0) {
        const cJSON *cs = dig(o, "status.containerStatuses"), *e;
        double ready = 0, restarts = 0;
        cJSON_ArrayForEach(e, cs)
        {
            ready += cJSON_IsTrue(get(e, "ready"));
            restarts += num(e, "restartCount");
        }
        add_cell_ratio(cells, ready, (double)cJSON_GetArraySize(dig(o, "spec.containers")));
        add_cell_str(cells, str(o, "status.phase", "Unknown"));
        add_cell_num(cells, restarts);
        add_cell_str(cells, a);
        add_cell_str(cells, str(o, "status.podIP", "<none>"));
        add_cell_str(cells, str(o, "spec.nodeName", "<none>"));
        add_cell_str(cells, str(o, "status.nominatedNodeName", "<none>"));
        add_cell_str(cells, "<none>");
    } else if (strcmp(resource, "configmaps") == 0) {
        add_cell_num(cells, (double)(cJSON_GetArraySize(get(o, "data")) + cJSON_GetArraySize(get(o, "binaryData"))));
        add_cell_str(cells, a);
    } else if (strcmp(resource, "namespaces") == 0) {
        add_cell_str(cells, str(o, "status.phase", "Active"));
        add_cell_str(cells, a);
    } else if (strcmp(resource, "leases") == 0) {
        add_cell_str(cells, str(o, "spec.holderIdentity", "<none>"));
        add_cell_str(cells, a);
    } else {
        add_cell_str(cells, a);
    }
}

static const struct column *columns_of(const char *resource, size_t *n)
{
#define COLS(...)                                                                                                      \
    do {                                                                                                               \
        static const struct column c[] = {__VA_ARGS__};                                                                \
        *n = sizeof c / sizeof c[0];                                                                                   \
        return c;                                                                                                      \
    } while (0)
#define NAME {"Name", "string", "Name must be unique within a namespace.", 0}
#define AGE {"Age", "string", "The time since the object was created.", 0}
    if (strcmp(resource, "nodes") == 0)
        COLS(NAME, {"Status", "string", "The status of the node", 0}, {"Roles", "string", "The roles of the node", 0}, AGE,
             {"Version", "string", "Kubelet Version reported by the node.", 0}, {"Internal-IP", "string", "", 1},
             {"External-IP", "string", "", 1}, {"OS-Image", "string", "", 1}, {"Kernel-Version", "string", "", 1},
             {"Container-Runtime", "string", "", 1});
    if (strcmp(resource, "deployments") == 0)
        COLS(NAME, {"Ready", "string", "Number of the pod with ready state", 0},
             {"Up-to-date", "integer", "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", 0},
             {"Available", "integer", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", 0},
             AGE, {"Containers", "string", "Names of each container in the template.", 1},
             {"Images", "string", "Images referenced by each container in the template.", 1},
             {"Selector", "string", "Label selector for pods.", 1});
    if (strcmp(resource, "statefulsets") == 0)
        COLS(NAME, {"Ready", "string", "Number of the pod with ready state", 0}, AGE,
             {"Containers", "string", "Names of each container in the template.", 1},
             {"Images", "string", "Images referenced by each container in the template.", 1});
    if (strcmp(resource, "replicasets") == 0 || strcmp(resource, "replicationcontrollers") == 0)
        COLS(NAME, {"Desired", "integer", "Number of desired pods.", 0}, {"Current", "integer", "Number of actually running pods.", 0},
             {"Ready", "integer", "Number of ready pods.", 0}, AGE);
    if (strcmp(resource, "pods") == 0)
        COLS(NAME, {"Ready", "string", "The aggregate readiness state of this pod for accepting traffic.", 0},
             {"Status", "string", "The aggregate status of the containers in this pod.", 0},
             {"Restarts", "integer", "The number of times the containers in this pod have been restarted.", 0}, AGE,
             {"IP", "string", "IP address allocated to the pod.", 1}, {"Node", "string", "Name of the Node hosting the pod.", 1},
             {"Nominated Node", "string", "Name of the node nominated by the scheduler.", 1},
             {"Readiness Gates", "string", "Pod readiness gates.", 1});
    if (strcmp(resource, "events") == 0)
        COLS({"Last Seen", "string", "Time since the event was last seen.", 0}, {"Type", "string", "Type of this event.", 0},
             {"Reason", "string", "Why the event was generated.", 0}, {"Object", "string", "The object this Event is about.", 0},
             {"Subobject", "string", "The subobject of the involved object.", 1}, {"Source", "string", "The component reporting this event.", 1},
             {"Message", "string", "A human-readable description of the status of this operation.", 0},
             {"First Seen", "string", "Time since the event was first seen.", 1}, {"Count", "string", "How many times it occurred.", 1},
             {"Name", "string", "Name of the event.", 1});
    if (strcmp(resource, "configmaps") == 0)
        COLS(NAME, {"Data", "string", "The number of keys.", 0}, AGE);
    if (strcmp(resource, "namespaces") == 0)
        COLS(NAME, {"Status", "string", "The status of the namespace", 0}, AGE);
    if (strcmp(resource, "leases") == 0)
        COLS(NAME, {"Holder", "string", "The holder of the lease.", 0}, AGE);
    COLS(NAME, AGE);
#undef COLS
#undef NAME
#undef AGE
}

/* The row's object: its metadata as a PartialObjectMetadata (the real server's default). */
static cJSON *partial(const cJSON *o)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "kind", "PartialObjectMetadata");
    cJSON_AddStringToObject(p, "apiVersion", "meta.k8s.io/v1");
    const cJSON *m = get(o, "metadata");
    cJSON_AddItemToObject(p, "metadata", m ? cJSON_Duplicate(m, 1) : cJSON_CreateObject());
    return p;
}

cJSON *ktable_build(const char *resource, const cJSON *doc, time_t now)
{
    cJSON *t = cJSON_CreateObject();
    if (!t)
        return NULL;
    cJSON_AddStringToObject(t, "kind", "Table");
    cJSON_AddStringToObject(t, "apiVersion", "meta.k8s.io/v1");
    cJSON *meta = cJSON_AddObjectToObject(t, "metadata");
    const cJSON *items = get(doc, "items");
    if (cJSON_IsArray(items)) {
        static const char *const keep[] = {"resourceVersion", "continue", "remainingItemCount"};
        for (int i = 0; i < 3; i++)
            if (dig(doc, "metadata") && get(get(doc, "metadata"), keep[i]))
                cJSON_AddItemToObject(meta, keep[i], cJSON_Duplicate(get(get(doc, "metadata"), keep[i]), 1));
    } else {
        const cJSON *rv = dig(doc, "metadata.resourceVersion");
        if (cJSON_IsString(rv))
            cJSON_AddStringToObject(meta, "resourceVersion", rv->valuestring);
    }
    size_t n;
    const struct column *cols = columns_of(resource, &n);
    cJSON *defs = cJSON_AddArrayToObject(t, "columnDefinitions");
    for (size_t i = 0; i < n; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "name", cols[i].name);
        cJSON_AddStringToObject(c, "type", cols[i].type);
        cJSON_AddStringToObject(c, "format", strcmp(cols[i].name, "Name") == 0 ? "name" : "");
        cJSON_AddStringToObject(c, "description", cols[i].description);
        cJSON_AddNumberToObject(c, "priority", cols[i].priority);
        cJSON_AddItemToArray(defs, c);
    }
    cJSON *rows = cJSON_AddArrayToObject(t, "rows");
    const cJSON *o;
    if (cJSON_IsArray(items)) {
        cJSON_ArrayForEach(o, items)
        {
            cJSON *row = cJSON_CreateObject();
            row_cells(resource, cJSON_AddArrayToObject(row, "cells"), o, now);
            cJSON_AddItemToObject(row, "object", partial(o));
            cJSON_AddItemToArray(rows, row);
        }
    } else {
        cJSON *row = cJSON_CreateObject();
        row_cells(resource, cJSON_AddArrayToObject(row, "cells"), doc, now);
        cJSON_AddItemToObject(row, "object", partial(doc));
        cJSON_AddItemToArray(rows, row);
    }
    return t;
}
