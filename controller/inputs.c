/* What the controller decides from: the nodes and ConfigMap reflectors' sinks (a LIST is built
 * aside and swapped in whole; watch events update the cache and arm a coalesced decision), the
 * params (an invalid edit keeps the last good ones), --default-params. See controller_internal.h. */
#define _DEFAULT_SOURCE
#include "controller_internal.h"

#include <malloc.h>

/* ------------------------------------------------------------------------------------------ */
/* Nodes                                                                                        */

static void nodes_list_begin(void *ctx)
{
    struct controller *c = ctx;
    node_set_free(c->staging);
    c->staging = node_set_new();
    buf_reset(&c->record_pending); /* a LIST started over: what an abandoned one listed is not recorded */
}

/* Tag bit i: the node is eligible for target i's pods (placement rules). */
static void tag_node(struct controller *c, const cJSON *obj, struct node_obs *n)
{
    n->tags = 0;
    for (size_t i = 0; i < c->cfg->n_targets && i < 16; i++)
        if (c->targets[i].rules_known && placement_node_eligible(&c->targets[i].rules, obj))
            n->tags = (uint16_t)(n->tags | (1u << i));
}

/* Decode a node for the count and tag it for placement; false (logged) when it cannot be read. */
static bool decode_node(struct controller *c, const cJSON *obj, struct node_obs *n, const char *what)
{
    char err[512];
    c->nodes_decoded_tree++;
    if (node_decode(obj, &c->cfg->count_opts, n, err, sizeof err) != 0) {
        LOG_WARN("ignoring %s: %s", what, err);
        /* still known by name, uncounted: the state-loss check compares the cache's node count
         * with the server's, which holds this node too */
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "name");
        if (!cJSON_IsString(name) || !name->valuestring[0] || strlen(name->valuestring) > NODE_NAME_MAX)
            return false;
        memset(n, 0, sizeof *n);
        memcpy(n->name, name->valuestring, strlen(name->valuestring) + 1);
        return true;
    }
    tag_node(c, obj, n);
    return true;
}

static void nodes_item(void *ctx, const cJSON *obj)
{
    struct controller *c = ctx;
    struct node_obs n;
    if (!decode_node(c, obj, &n, "a node"))
        return;
    if (c->staging && node_set_upsert(c->staging, &n) != 0)
        LOG_ERROR("out of memory adding node %s", n.name);
    if (c->record) {
        char *t = record_trim_node(obj);
        if (t && (buf_printf(&c->record_pending, "%s\t%s\n", n.name, t) != 0))
            LOG_ERROR("--record: the listed nodes do not fit in memory; the trace misses some");
        free(t);
    }
}

static void nodes_list_end(void *ctx, const char *rv)
{
    struct controller *c = ctx;
    for (size_t i = 0; i < c->cfg->n_targets; i++)
        if (c->targets[i].rules_known)
            memcpy(c->targets[i].tagged, c->targets[i].rules.fingerprint, sizeof c->targets[i].tagged); /* same size */
    record_list(c);
    node_set_free(c->nodes);
    c->nodes = c->staging; /* the complete list replaces the old state at once */
    c->staging = NULL;
    LOG_V(2, "listed %zu nodes at resourceVersion %s", node_set_size(c->nodes), rv);
    removals_observe(c, WEV_ADDED, NULL);
    reconcile_schedule(c, 0);
    /* the pages are freed once this callback returns: give their memory back to the system just
     * after (glibc keeps a freed peak otherwise: RSS stayed at the LIST's high-water mark) */
    ev_timer_stop(c->loop, &c->trim);
    ev_timer_set(&c->trim, 0.05, 0.);
    ev_timer_start(c->loop, &c->trim);
}

void inputs_trim_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    malloc_trim(0);
}

static void apply_node_event(struct controller *c, enum watch_event_type type, const struct node_obs *n)
{
    if (type == WEV_DELETED)
        node_set_remove(c->nodes, n->name);
    else if (node_set_upsert(c->nodes, n) != 0)
        LOG_ERROR("out of memory updating node %s", n->name);
    removals_observe(c, type, n->name);
    reconcile_coalesce_event(c); /* a burst of node events is one decision */
}

static void nodes_event(void *ctx, enum watch_event_type type, const cJSON *obj)
{
    struct controller *c = ctx;
    struct node_obs n;
    if (!decode_node(c, obj, &n, "a node event"))
        return;
    if (!c->nodes)
        return;
    if (c->record) {
        char *t = record_trim_node(obj);
        if (t)
            record_line(c, watch_event_type_name(type), t);
        free(t);
    }
    apply_node_event(c, type, &n);
}

/* The tree-free paths (nodejson.h): a node's bytes decoded in place; what they decline (and every
 * node while --record writes the trimmed objects) takes the cJSON path above, with its messages. */

/* Tag bits from the parts of the node placement reads: the labels parsed only when a target's
 * rules read them, the taints only when the node has some. False: out of memory (decline). */
static bool tag_node_parts(struct controller *c, const struct nodejson_extra *x, struct node_obs *n)
{
    n->tags = 0;
    bool any = false, need_labels = false;
    for (size_t i = 0; i < c->cfg->n_targets && i < 16; i++)
        if (c->targets[i].rules_known) {
            any = true;
            need_labels = need_labels || placement_reads_labels(&c->targets[i].rules);
        }
    if (!any)
        return true;
    cJSON *labels = need_labels && x->labels.len ? cJSON_ParseWithLength(x->labels.p, x->labels.len) : NULL;
    cJSON *taints = x->taints.len ? cJSON_ParseWithLength(x->taints.p, x->taints.len) : NULL;
    bool ok = !(need_labels && x->labels.len && !labels) && !(x->taints.len && !taints);
    for (size_t i = 0; ok && i < c->cfg->n_targets && i < 16; i++)
        if (c->targets[i].rules_known && placement_node_eligible_parts(&c->targets[i].rules, labels, taints))
            n->tags = (uint16_t)(n->tags | (1u << i));
    cJSON_Delete(labels);
    cJSON_Delete(taints);
    return ok;
}

static bool decode_node_raw(struct controller *c, const char *json, size_t len, struct node_obs *n,
                            struct nodejson_extra *x)
{
    if (c->record || nodejson_decode(json, len, &c->cfg->count_opts, n, x) != 1 || !tag_node_parts(c, x, n))
        return false;
    c->nodes_decoded_direct++;
    return true;
}

static int nodes_item_raw(void *ctx, const char *json, size_t len)
{
    struct controller *c = ctx;
    struct node_obs n;
    struct nodejson_extra x;
    if (!decode_node_raw(c, json, len, &n, &x))
        return 0;
    if (c->staging && node_set_upsert(c->staging, &n) != 0)
        LOG_ERROR("out of memory adding node %s", n.name);
    return 1;
}

static int nodes_event_raw(void *ctx, enum watch_event_type type, const char *json, size_t len, struct json_span *rv)
{
    struct controller *c = ctx;
    struct node_obs n;
    struct nodejson_extra x;
    if (!decode_node_raw(c, json, len, &n, &x))
        return 0;
    *rv = x.resource_version;
    if (c->nodes)
        apply_node_event(c, type, &n);
    return 1;
}

static void reflector_error(void *ctx, const char *msg)
{
    struct controller *c = ctx;
    LOG_WARN("%s", msg);
    snprintf(c->sync_error, sizeof c->sync_error, "%s", msg);
}

static size_t nodes_count(void *ctx)
{
    struct controller *c = ctx;
    return c->nodes ? node_set_known(c->nodes) : 0; /* (nodes --ignore-taint leaves out are still the server's) */
}

static size_t cm_count(void *ctx)
{
    struct controller *c = ctx;
    return c->cm_present ? 1 : 0;
}

bool inputs_caches_trusted(const struct controller *c)
{
    return c->nodes && reflector_trusted(c->nodes_ref) && reflector_trusted(c->cm_ref);
}

/* A consistency check ended (the poll tick's, or one after a failed watch): decide now if the
 * caches may be decided from; the reconcile itself reports an unreachable API. */
static void reflector_checked(void *ctx, bool trusted)
{
    struct controller *c = ctx;
    (void)trusted;
    if (inputs_caches_trusted(c) && !(ev_is_active(&c->coalesce) && c->coalescing_burst))
        reconcile_schedule(c, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* The params ConfigMap                                                                         */

static void load_params(struct controller *c)
{
    char err[1024];
    struct params p;
    params_init(&p);
    if (params_from_configmap(&c->cm, &p, err, sizeof err) != 0) {
        /* keep the last good params in force, and say why */
        if (strcmp(err, c->params_error) != 0) {
            LOG_ERROR("Error ensuring controller: %s%s", err,
                      c->params_loaded ? " (keeping the last good params)" : "");
            char msg[1200];
            snprintf(msg, sizeof msg, "The params do not parse: %s; %s", err,
                     c->params_loaded ? "the last good params stay in force" : "nothing is scaled until they are fixed");
            output_configmap_event(c, "InvalidParams", msg);
        }
        snprintf(c->params_error, sizeof c->params_error, "%s", err);
        params_release(&p);
        return;
    }
    if (!c->params_loaded || c->params.mode != p.mode)
        LOG_INFO("Set control mode to %s", params_mode_name(p.mode));
    params_release(&c->params);
    c->params = p;
    c->params_gen++;
    c->params_loaded = true;
    c->params_error[0] = '\0';
}

static void cm_store(struct controller *c, const cJSON *obj)
{
    /* an operator releases a guard hold by setting (or changing) this annotation */
    const cJSON *ov = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "annotations"),
        "propscaler.io/guard-override");
    const char *v = cJSON_IsString(ov) ? ov->valuestring : "";
    if (strcmp(v, c->guard_override) != 0) {
        if (v[0]) {
            c->override_pending = true;
            removals_override(c);
            LOG_INFO("guard override requested on ConfigMap %s/%s (%s): any hold is released", c->cfg->namespace_,
                     c->cfg->configmap, v);
        }
        snprintf(c->guard_override, sizeof c->guard_override, "%s", v);
    }
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "uid");
    snprintf(c->cm_uid, sizeof c->cm_uid, "%s", cJSON_IsString(uid) && strlen(uid->valuestring) < sizeof c->cm_uid ? uid->valuestring : "");
    cm_data_release(&c->cm);
    cm_data_init(&c->cm);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(obj, "data"), *e;
    cJSON_ArrayForEach(e, data) if (cJSON_IsString(e)) cm_data_set(&c->cm, e->string, e->valuestring, strlen(e->valuestring));
    c->cm_present = true;
    load_params(c);
}

static void cm_list_begin(void *ctx)
{
    struct controller *c = ctx;
    c->cm_present = false;
}

static void cm_item(void *ctx, const cJSON *obj)
{
    cm_store(ctx, obj);
}

static void cm_list_end(void *ctx, const char *rv)
{
    (void)rv;
    reconcile_schedule(ctx, 0);
}

static void cm_event(void *ctx, enum watch_event_type type, const cJSON *obj)
{
    struct controller *c = ctx;
    if (type == WEV_DELETED) {
        c->cm_present = false;
        LOG_WARN("params ConfigMap %s/%s was deleted", c->cfg->namespace_, c->cfg->configmap);
    } else {
        cm_store(c, obj);
    }
    reconcile_schedule(c, 0);
}

static void create_done(void *ctx, const struct kresp *resp)
{
    struct controller *c = ctx;
    c->create_req = NULL;
    if (resp->status == 201 || resp->status == 409)
        LOG_INFO("ConfigMap %s/%s created from --default-params%s", c->cfg->namespace_, c->cfg->configmap,
                 resp->status == 409 ? " (it already existed)" : "");
    else
        LOG_ERROR("creating ConfigMap %s/%s from --default-params failed: %s (HTTP %ld)", c->cfg->namespace_,
                  c->cfg->configmap, resp->err ? resp->err : "", resp->status);
}

void inputs_create_configmap(struct controller *c)
{
    if (c->create_req || (c->leader && !leader_is_leading(c->leader) && !c->cfg->dry_run))
        return;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "apiVersion", "v1");
    cJSON_AddStringToObject(o, "kind", "ConfigMap");
    cJSON *meta = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(meta, "name", c->cfg->configmap);
    cJSON_AddStringToObject(meta, "namespace", c->cfg->namespace_);
    cJSON *data = cJSON_AddObjectToObject(o, "data");
    for (size_t i = 0; i < c->cfg->default_data.n; i++)
        cJSON_AddStringToObject(data, c->cfg->default_data.entries[i].key, c->cfg->default_data.entries[i].value);
    char *body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", c->cfg->namespace_);
    struct kreq_opts ro = {.method = "POST", .path = path, .body = body};
    if (c->cfg->dry_run) {
        LOG_INFO("dry run: would create ConfigMap %s/%s from --default-params: %s", c->cfg->namespace_, c->cfg->configmap, body);
        /* decide as if it existed */
        cm_data_release(&c->cm);
        cm_data_init(&c->cm);
        for (size_t i = 0; i < c->cfg->default_data.n; i++)
            cm_data_set(&c->cm, c->cfg->default_data.entries[i].key, c->cfg->default_data.entries[i].value,
                        c->cfg->default_data.entries[i].value_len);
        load_params(c);
    } else {
        c->create_req = kclient_request(c->client, &ro, NULL, create_done, c);
    }
    free(body);
}

const struct reflector_sink inputs_node_sink = {.list_begin = nodes_list_begin,
                                                .item = nodes_item,
                                                .list_end = nodes_list_end,
                                                .event = nodes_event,
                                                .error = reflector_error,
                                                .count = nodes_count,
                                                .checked = reflector_checked,
                                                .item_raw = nodes_item_raw,
                                                .event_raw = nodes_event_raw};
const struct reflector_sink inputs_cm_sink = {.list_begin = cm_list_begin,
                                              .item = cm_item,
                                              .list_end = cm_list_end,
                                              .event = cm_event,
                                              .error = reflector_error,
                                              .count = cm_count,
                                              .checked = reflector_checked};
