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
    for (int g = 0; g < c->n_groups; g++) {
        node_set_free(c->groups[g].staging);
        c->groups[g].staging = node_set_new();
    }
    c->staging = c->groups[0].staging;
    buf_reset(&c->record_pending); /* a LIST started over: what an abandoned one listed is not recorded */
}

/* Tag bit i: the node is eligible for target i's pods (placement rules). */
static void tag_node(struct controller *c, const cJSON *obj, struct node_obs *n)
{
    n->tags = 0;
    for (size_t i = 0; i < c->n_targets && i < 16; i++)
        if (c->targets[i].rules_known && placement_node_eligible(&c->targets[i].rules, obj))
            n->tags = (uint16_t)(n->tags | (1u << i));
}

/* Decode a node as group g counts it, tagged with `tags`; false (logged once, for group 0) when it
 * cannot be read at all. */
static bool decode_node(struct controller *c, int g, const cJSON *obj, struct node_obs *n, const char *what)
{
    char err[512];
    if (g == 0)
        c->nodes_decoded_tree++;
    if (node_decode(obj, c->groups[g].opts, n, err, sizeof err) != 0) {
        if (g == 0)
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
    return true;
}

static void nodes_item(void *ctx, const cJSON *obj)
{
    struct controller *c = ctx;
    struct node_obs n;
    uint16_t tags = 0;
    for (int g = 0; g < c->n_groups; g++) {
        if (!decode_node(c, g, obj, &n, "a node"))
            return;
        if (g == 0) {
            tag_node(c, obj, &n);
            tags = n.tags;
        }
        n.tags = tags;
        if (c->groups[g].staging && node_set_upsert(c->groups[g].staging, &n) != 0)
            LOG_ERROR("out of memory adding node %s", n.name);
    }
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
    for (size_t i = 0; i < c->n_targets; i++)
        if (c->targets[i].rules_known)
            memcpy(c->targets[i].tagged, c->targets[i].rules.fingerprint, sizeof c->targets[i].tagged); /* same size */
    record_list(c);
    for (int g = 0; g < c->n_groups; g++) { /* the complete list replaces the old state at once */
        node_set_free(c->groups[g].nodes);
        c->groups[g].nodes = c->groups[g].staging;
        c->groups[g].staging = NULL;
    }
    c->nodes = c->groups[0].nodes;
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

/* One node as every group counts it (n[g]), into every group's cache. */
static void apply_node_event(struct controller *c, enum watch_event_type type, const struct node_obs *n)
{
    for (int g = 0; g < c->n_groups; g++) {
        if (type == WEV_DELETED)
            node_set_remove(c->groups[g].nodes, n[g].name);
        else if (node_set_upsert(c->groups[g].nodes, &n[g]) != 0)
            LOG_ERROR("out of memory updating node %s", n[g].name);
    }
    removals_observe(c, type, n[0].name);
    reconcile_coalesce_event(c); /* a burst of node events is one decision */
}

static void nodes_event(void *ctx, enum watch_event_type type, const cJSON *obj)
{
    struct controller *c = ctx;
    struct node_obs n[MAX_GROUPS];
    for (int g = 0; g < c->n_groups; g++) {
        if (!decode_node(c, g, obj, &n[g], "a node event"))
            return;
        if (g == 0)
            tag_node(c, obj, &n[0]);
        n[g].tags = n[0].tags;
    }
    if (!c->nodes)
        return;
    if (c->record) {
        char *t = record_trim_node(obj);
        if (t)
            record_line(c, watch_event_type_name(type), t);
        free(t);
    }
    apply_node_event(c, type, n);
}

/* The tree-free paths (nodejson.h): a node's bytes decoded in place; what they decline (and every
 * node while --record writes the trimmed objects) takes the cJSON path above, with its messages. */

/* Tag bits from the parts of the node placement reads: the labels parsed only when a target's
 * rules read them, the taints only when the node has some. False: out of memory (decline). */
static bool tag_node_parts(struct controller *c, const struct nodejson_extra *x, struct node_obs *n)
{
    n->tags = 0;
    bool any = false, need_labels = false;
    for (size_t i = 0; i < c->n_targets && i < 16; i++)
        if (c->targets[i].rules_known) {
            any = true;
            need_labels = need_labels || placement_reads_labels(&c->targets[i].rules);
        }
    if (!any)
        return true;
    cJSON *labels = need_labels && x->labels.len ? cJSON_ParseWithLength(x->labels.p, x->labels.len) : NULL;
    cJSON *taints = x->taints.len ? cJSON_ParseWithLength(x->taints.p, x->taints.len) : NULL;
    bool ok = !(need_labels && x->labels.len && !labels) && !(x->taints.len && !taints);
    for (size_t i = 0; ok && i < c->n_targets && i < 16; i++)
        if (c->targets[i].rules_known && placement_node_eligible_parts(&c->targets[i].rules, labels, taints))
            n->tags = (uint16_t)(n->tags | (1u << i));
    cJSON_Delete(labels);
    cJSON_Delete(taints);
    return ok;
}

/* Every group's record of a node from its bytes (each group counts with its own filter); false:
 * declined, the tree path takes it. */
static bool decode_node_raw(struct controller *c, const char *json, size_t len, struct node_obs *n,
                            struct nodejson_extra *x, size_t *used)
{
    if (c->record)
        return false;
    /* used: the node starts at json[0] and its length is found as it is read (a page's item) */
    if (used && nodejson_decode_prefix(json, len, c->groups[0].opts, &n[0], x, used) != 1)
        return false;
    for (int g = used ? 1 : 0; g < c->n_groups; g++) {
        struct nodejson_extra xg;
        if (nodejson_decode(json, used ? *used : len, c->groups[g].opts, &n[g], g == 0 ? x : &xg) != 1)
            return false;
    }
    if (!tag_node_parts(c, x, &n[0]))
        return false;
    for (int g = 1; g < c->n_groups; g++)
        n[g].tags = n[0].tags;
    c->nodes_decoded_direct++;
    return true;
}

/* A page's node into every group's staging set; used: its length is found as it is read (it
 * starts at json[0], len bytes are available), else it is the len bytes. */
static int nodes_item_apply(struct controller *c, const char *json, size_t len, size_t *used)
{
    struct node_obs n[MAX_GROUPS];
    struct nodejson_extra x;
    if (!decode_node_raw(c, json, len, n, &x, used))
        return 0;
    for (int g = 0; g < c->n_groups; g++)
        if (c->groups[g].staging && node_set_upsert(c->groups[g].staging, &n[g]) != 0)
            LOG_ERROR("out of memory adding node %s", n[g].name);
    return 1;
}

static int nodes_item_raw(void *ctx, const char *json, size_t len) { return nodes_item_apply(ctx, json, len, NULL); }

static int nodes_item_raw_at(void *ctx, const char *json, size_t avail, size_t *used)
{
    return nodes_item_apply(ctx, json, avail, used);
}

static int nodes_event_raw(void *ctx, enum watch_event_type type, const char *json, size_t len, struct json_span *rv)
{
    struct controller *c = ctx;
    struct node_obs n[MAX_GROUPS];
    struct nodejson_extra x;
    if (!decode_node_raw(c, json, len, n, &x, NULL))
        return 0;
    *rv = x.resource_version;
    if (c->nodes)
        apply_node_event(c, type, n);
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
    struct params_source *src = ctx;
    return src->present ? 1 : 0;
}

bool inputs_caches_trusted(const struct controller *c)
{
    if (!c->nodes || !reflector_trusted(c->nodes_ref))
        return false;
    for (int i = 0; i < c->n_sources; i++)
        if (!reflector_trusted(c->sources[i].ref))
            return false;
    return true;
}

/* A consistency check ended (the poll tick's, or one after a failed watch): decide now if the
 * caches may be decided from — once, when the last check under way is back (a tick checks every
 * watched resource: one decision for all of them); the reconcile itself reports an unreachable
 * API. */
static void reflector_checked(void *ctx, bool trusted)
{
    struct controller *c = ctx;
    (void)trusted;
    if (reflector_checking(c->nodes_ref))
        return;
    for (int i = 0; i < c->n_sources; i++)
        if (reflector_checking(c->sources[i].ref))
            return;
    if (inputs_caches_trusted(c) && !(ev_is_active(&c->coalesce) && c->coalescing_burst))
        reconcile_schedule(c, 0);
}

static void source_checked(void *ctx, bool trusted)
{
    struct params_source *src = ctx;
    reflector_checked(src->c, trusted);
}

static void source_error(void *ctx, const char *msg)
{
    struct params_source *src = ctx;
    reflector_error(src->c, msg);
}

const struct params *inputs_target_params(const struct target_state *ts)
{
    if (!ts->horizontal)
        return NULL;
    if (ts->source < 0)
        return &ts->tc->params; /* inline in the targets file */
    const struct params_source *src = &ts->c->sources[ts->source];
    return src->loaded ? &src->params : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* The params ConfigMaps                                                                        */

static void load_params(struct params_source *src)
{
    struct controller *c = src->c;
    char err[1024];
    struct params p;
    params_init(&p);
    if (params_from_configmap(&src->cm, &p, err, sizeof err) != 0) {
        /* keep the last good params in force, and say why */
        if (strcmp(err, src->error) != 0) {
            if (c->cfg->targets_file)
                LOG_ERROR("Error ensuring controller: ConfigMap %s/%s: %s%s", src->ns, src->name, err,
                          src->loaded ? " (keeping the last good params)" : "");
            else
                LOG_ERROR("Error ensuring controller: %s%s", err, src->loaded ? " (keeping the last good params)" : "");
            char msg[1200];
            snprintf(msg, sizeof msg, "The params do not parse: %s; %s", err,
                     src->loaded ? "the last good params stay in force" : "nothing is scaled until they are fixed");
            output_configmap_event(c, src, "InvalidParams", msg);
        }
        snprintf(src->error, sizeof src->error, "%s", err);
        params_release(&p);
        return;
    }
    if (!src->loaded || src->params.mode != p.mode)
        LOG_INFO("Set control mode to %s%s%s%s%s%s", params_mode_name(p.mode), c->cfg->targets_file ? " (ConfigMap " : "",
                 c->cfg->targets_file ? src->ns : "", c->cfg->targets_file ? "/" : "",
                 c->cfg->targets_file ? src->name : "", c->cfg->targets_file ? ")" : "");
    params_release(&src->params);
    src->params = p;
    src->gen++;
    src->loaded = true;
    src->error[0] = '\0';
}

static void cm_store(struct params_source *src, const cJSON *obj)
{
    struct controller *c = src->c;
    /* an operator releases a guard hold by setting (or changing) this annotation */
    const cJSON *ov = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "annotations"),
        "propscaler.io/guard-override");
    const char *v = cJSON_IsString(ov) ? ov->valuestring : "";
    if (strcmp(v, src->guard_override) != 0) {
        if (v[0]) {
            src->override_pending = true;
            removals_override(c);
            LOG_INFO("guard override requested on ConfigMap %s/%s (%s): any hold is released", src->ns, src->name, v);
        }
        snprintf(src->guard_override, sizeof src->guard_override, "%s", v);
    }
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(obj, "metadata"), "uid");
    snprintf(src->uid, sizeof src->uid, "%s", cJSON_IsString(uid) && strlen(uid->valuestring) < sizeof src->uid ? uid->valuestring : "");
    cm_data_release(&src->cm);
    cm_data_init(&src->cm);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(obj, "data"), *e;
    cJSON_ArrayForEach(e, data) if (cJSON_IsString(e)) cm_data_set(&src->cm, e->string, e->valuestring, strlen(e->valuestring));
    src->present = true;
    load_params(src);
}

static void cm_list_begin(void *ctx)
{
    struct params_source *src = ctx;
    src->present = false;
}

static void cm_item(void *ctx, const cJSON *obj)
{
    cm_store(ctx, obj);
}

static void cm_list_end(void *ctx, const char *rv)
{
    (void)rv;
    struct params_source *src = ctx;
    reconcile_schedule(src->c, 0);
}

static void cm_event(void *ctx, enum watch_event_type type, const cJSON *obj)
{
    struct params_source *src = ctx;
    if (type == WEV_DELETED) {
        src->present = false;
        LOG_WARN("params ConfigMap %s/%s was deleted", src->ns, src->name);
    } else {
        cm_store(src, obj);
    }
    reconcile_schedule(src->c, 0);
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

/* --default-params (CPA's flags only: source 0) */
void inputs_create_configmap(struct controller *c)
{
    struct params_source *src = &c->sources[0];
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
        cm_data_release(&src->cm);
        cm_data_init(&src->cm);
        for (size_t i = 0; i < c->cfg->default_data.n; i++)
            cm_data_set(&src->cm, c->cfg->default_data.entries[i].key, c->cfg->default_data.entries[i].value,
                        c->cfg->default_data.entries[i].value_len);
        load_params(src);
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
                                                .item_raw_at = nodes_item_raw_at,
                                                .event_raw = nodes_event_raw};
const struct reflector_sink inputs_cm_sink = {.list_begin = cm_list_begin,
                                              .item = cm_item,
                                              .list_end = cm_list_end,
                                              .event = cm_event,
                                              .error = source_error,
                                              .count = cm_count,
                                              .checked = source_checked};
