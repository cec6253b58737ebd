#define _DEFAULT_SOURCE
#include "podwatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "reflector.h"

struct pod_entry {
    char *name;
    char *node; /* NULL: not bound yet (Pending) */
};

struct podwatch {
    struct reflector *ref;
    char *ns, *selector, *path;
    struct pod_entry *pods;
    size_t n;
    void (*changed)(void *);
    void *ctx;
};

const char *podwatch_selector(const struct podwatch *p) { return p->selector; }
size_t podwatch_pods(const struct podwatch *p) { return p->n; }

static void clear(struct podwatch *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->pods[i].name);
        free(p->pods[i].node);
    }
    p->n = 0;
}

static void upsert(struct podwatch *p, const cJSON *pod, bool deleted)
{
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pod, "metadata"), "name");
    const cJSON *node = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pod, "spec"), "nodeName");
    const cJSON *phase = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(pod, "status"), "phase");
    if (!cJSON_IsString(name))
        return;
    /* finished pods hold no traffic */
    bool gone = deleted || (cJSON_IsString(phase) && (strcmp(phase->valuestring, "Succeeded") == 0 ||
                                                       strcmp(phase->valuestring, "Failed") == 0));
    size_t i = 0;
    while (i < p->n && strcmp(p->pods[i].name, name->valuestring) != 0)
        i++;
    if (gone) {
        if (i < p->n) {
            free(p->pods[i].name);
            free(p->pods[i].node);
            p->pods[i] = p->pods[--p->n];
        }
        return;
    }
    if (i == p->n) {
        if (p->n == PODWATCH_MAX)
            return;
        p->pods[p->n].name = strdup(name->valuestring);
        p->pods[p->n].node = NULL;
        if (!p->pods[p->n].name)
            return;
        p->n++;
    }
    free(p->pods[i].node);
    p->pods[i].node = cJSON_IsString(node) && node->valuestring[0] ? strdup(node->valuestring) : NULL;
}

static void list_begin(void *ctx) { clear(ctx); }
static void item(void *ctx, const cJSON *obj) { upsert(ctx, obj, false); }
static void list_end(void *ctx, const char *rv)
{
    (void)rv;
    struct podwatch *p = ctx;
    p->changed(p->ctx);
}
static void event(void *ctx, enum watch_event_type type, const cJSON *obj)
{
    struct podwatch *p = ctx;
    upsert(p, obj, type == WEV_DELETED);
    p->changed(p->ctx);
}
static void error(void *ctx, const char *msg)
{
    (void)ctx;
    LOG_V(1, "%s", msg);
}

void podwatch_apply(struct podwatch *p, const cJSON *pod, bool deleted) { upsert(p, pod, deleted); }

struct podwatch *podwatch_new_offline(const char *ns, const char *selector)
{
    struct podwatch *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->ns = strdup(ns);
    p->selector = strdup(selector);
    size_t len = strlen(ns) + 64;
    p->path = malloc(len);
    p->pods = calloc(PODWATCH_MAX, sizeof *p->pods);
    if (!p->ns || !p->selector || !p->path || !p->pods) {
        podwatch_free(p);
        return NULL;
    }
    snprintf(p->path, len, "/api/v1/namespaces/%s/pods", ns);
    return p;
}

struct podwatch *podwatch_new(struct ev_loop *loop, struct kclient *client, const char *ns, const char *selector,
                              void (*changed)(void *ctx), void *ctx)
{
    struct podwatch *p = podwatch_new_offline(ns, selector);
    if (!p)
        return NULL;
    p->changed = changed;
    p->ctx = ctx;
    static const struct reflector_sink sink = {
        .list_begin = list_begin, .item = item, .list_end = list_end, .event = event, .error = error};
    struct reflector_opts o = {.name = "pods", .path = p->path, .label_selector = p->selector, .list_kind = "PodList"};
    p->ref = reflector_new(loop, client, &o, &sink, p);
    if (!p->ref) {
        podwatch_free(p);
        return NULL;
    }
    reflector_start(p->ref);
    return p;
}

void podwatch_free(struct podwatch *p)
{
    if (!p)
        return;
    reflector_free(p->ref);
    if (p->pods)
        clear(p);
    free(p->pods);
    free(p->ns);
    free(p->selector);
    free(p->path);
    free(p);
}

static int by_node(const void *a, const void *b)
{
    const char *x = ((const struct pod_entry *)a)->node, *y = ((const struct pod_entry *)b)->node;
    return strcmp(x ? x : "", y ? y : "");
}

static int by_load(const void *a, const void *b)
{
    const struct node_load *x = a, *y = b;
    return x->replicas != y->replicas ? y->replicas - x->replicas : strcmp(x->node, y->node);
}

size_t podwatch_load(const struct podwatch *p, struct node_load *out, size_t max)
{
    struct pod_entry *sorted = malloc((p->n ? p->n : 1) * sizeof *sorted);
    if (!sorted)
        return 0;
    memcpy(sorted, p->pods, p->n * sizeof *sorted);
    qsort(sorted, p->n, sizeof *sorted, by_node);
    size_t nodes = 0, k = 0;
    struct node_load *all = malloc((p->n ? p->n : 1) * sizeof *all);
    for (size_t i = 0; all && i < p->n;) {
        if (!sorted[i].node) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < p->n && sorted[j].node && strcmp(sorted[j].node, sorted[i].node) == 0)
            j++;
        snprintf(all[nodes].node, sizeof all[nodes].node, "%s", sorted[i].node);
        all[nodes].replicas = (int)(j - i);
        nodes++;
        i = j;
    }
    if (all) {
        qsort(all, nodes, sizeof *all, by_load);
        for (k = 0; k < nodes && k < max; k++)
            out[k] = all[k];
    }
    free(all);
    free(sorted);
    return nodes;
}
