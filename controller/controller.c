#define _DEFAULT_SOURCE
#include "controller.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "kclient.h"
#include "guard.h"
#include "kanswer.h"
#include "krand.h"
#include "kubeconfig.h"
#include "leader.h"
#include "log.h"
#include "nodes.h"
#include "params.h"
#include "placement.h"
#include "planner.h"
#include "podwatch.h"
#include "reflector.h"
#include "replicas.h"
#include "selector.h"

struct target_state {
    struct controller *c;
    const struct scale_target *t;
    char path[768];       /* the scale subresource */
    struct planner_target plan; /* the decision's state (policies/planner) */
    char why[512];        /* the last plan's rule in words, for the scaling Event */
    int32_t current;      /* last observed spec.replicas */
    bool observed;
    int attempts;         /* 409 retries within one reconcile */
    struct kreq *req;     /* the read or write of this target in flight */
    bool writing;         /* req is a write (a stop lets it finish) */
    unsigned long writes;
    /* placement: the pod template's rules, refreshed at most once a poll period */
    char object_path[768];
    struct placement_rules rules;
    bool rules_known;
    double rules_at;
    int64_t eligible;
    char tagged[64];      /* the rules' fingerprint the node tags were computed with */
    /* where its pods run */
    struct podwatch *pods;
    char piled[512];      /* the last reported over-limit nodes (report on change) */
    ev_timer hot_timer;   /* pod changes are evaluated together, half a second after a burst */
    int busiest, over_limit, over_qps;
};

struct controller {
    struct ev_loop *loop;
    struct propscaler_config *cfg;
    struct kube_endpoint ep;
    struct kclient *client;
    struct reflector *nodes_ref, *cm_ref;
    struct node_set *nodes, *staging;
    /* --record: the observed node history as a trace */
    FILE *record;
    double record_t0;
    struct buf record_pending; /* trimmed objects of the LIST in progress, one per line */
    /* params */
    bool cm_present;
    struct cm_data cm;         /* the ConfigMap's data as last seen */
    struct planner_opts plan_opts;
    struct params params;      /* last good params */
    char guard_override[256];  /* the ConfigMap's propscaler.io/guard-override annotation */
    bool override_pending;     /* it changed: release any hold at the next decision */
    bool params_loaded;
    char params_error[1024];   /* non-empty: the current ConfigMap does not parse */
    struct kreq *create_req;
    /* reconcile */
    ev_timer coalesce, poll;
    ev_timer retry;            /* after a failed reconcile; separate, so node events never wait for it */
    bool checks_pending;       /* the poll tick's consistency checks are out: they reconcile when done */
    char sync_error[1200];     /* the last reflector error since the previous poll tick */
    ev_timer stop_deadline;    /* a stop ends the loop by this time, whatever is in flight */
    bool coalescing_burst;     /* the coalesce timer waits for node events to go quiet */
    double burst_start;        /* ev_time of the burst's first event */
    bool reconcile_running, reconcile_again;
    int pending;               /* targets in flight in this reconcile */
    char cycle_error[1200];
    int consecutive_failures;
    double retry_backoff;      /* after a failed reconcile: try again sooner than the poll */
    int exit_code;
    bool stopping;
    struct target_state targets[FLAGS_MAX_TARGETS];
    struct leader *leader;     /* NULL without --leader-elect */
    char identity[256];
    /* health and metrics, shared with the HTTP thread */
    pthread_mutex_t mu;
    char last_poll_error[1200];
    bool synced;
    double heartbeat;          /* ev_now of the last loop activity */
    double last_success;       /* wall time of the last successful reconcile */
    unsigned long reconciles, reconcile_errors, scale_writes, conflicts;
    struct cluster_summary summary;
};

int controller_exit_code(const struct controller *c) { return c->exit_code; }

static void schedule_reconcile(struct controller *c, double delay);
static void coalesce_event(struct controller *c);

/* Node events are decided together once they have been quiet this long... */
#define COALESCE_QUIET_S 0.025
/* ... or this long after the first of them, whichever comes first. */
#define COALESCE_MAX_S 1.0
static void stop_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* The longest a stop (SIGTERM) takes: an in-flight write and the Lease release fit inside it. */
#define CONTROLLER_STOP_BOUND_S 5.0

/* ------------------------------------------------------------------------------------------ */
/* --record                                                                                     */

/* A Node trimmed to what counting reads: still a valid Node (DESIGN.md's trace format). */
static char *trim_node(const cJSON *obj)
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

static void record_line(struct controller *c, const char *type, const char *object_json)
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
static void record_list(struct controller *c)
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

/* ------------------------------------------------------------------------------------------ */
/* Nodes                                                                                        */

static void nodes_list_begin(void *ctx)
{
    struct controller *c = ctx;
    node_set_free(c->staging);
    c->staging = node_set_new();
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
    if (node_decode(obj, &c->cfg->count_opts, n, err, sizeof err) != 0) {
        LOG_WARN("ignoring %s: %s", what, err);
        return false;
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
        char *t = trim_node(obj);
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
    schedule_reconcile(c, 0);
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
        char *t = trim_node(obj);
        if (t)
            record_line(c, watch_event_type_name(type), t);
        free(t);
    }
    if (type == WEV_DELETED)
        node_set_remove(c->nodes, n.name);
    else if (node_set_upsert(c->nodes, &n) != 0)
        LOG_ERROR("out of memory updating node %s", n.name);
    coalesce_event(c); /* a burst of node events is one decision */
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
    return c->nodes ? node_set_size(c->nodes) : 0;
}

static size_t cm_count(void *ctx)
{
    struct controller *c = ctx;
    return c->cm_present ? 1 : 0;
}

static bool caches_trusted(const struct controller *c)
{
    return c->nodes && reflector_trusted(c->nodes_ref) && reflector_trusted(c->cm_ref);
}

/* A consistency check ended (the poll tick's, or one after a failed watch): decide now if the
 * caches may be decided from; the reconcile itself reports an unreachable API. */
static void reflector_checked(void *ctx, bool trusted)
{
    struct controller *c = ctx;
    (void)trusted;
    c->checks_pending = false;
    if (caches_trusted(c) && !(ev_is_active(&c->coalesce) && c->coalescing_burst))
        schedule_reconcile(c, 0);
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
        if (strcmp(err, c->params_error) != 0)
            LOG_ERROR("Error ensuring controller: %s%s", err,
                      c->params_loaded ? " (keeping the last good params)" : "");
        snprintf(c->params_error, sizeof c->params_error, "%s", err);
        params_release(&p);
        return;
    }
    if (!c->params_loaded || c->params.mode != p.mode)
        LOG_INFO("Set control mode to %s", params_mode_name(p.mode));
    params_release(&c->params);
    c->params = p;
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
            LOG_INFO("guard override requested on ConfigMap %s/%s (%s): any hold is released", c->cfg->namespace_,
                     c->cfg->configmap, v);
        }
        snprintf(c->guard_override, sizeof c->guard_override, "%s", v);
    }
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
    schedule_reconcile(ctx, 0);
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
    schedule_reconcile(c, 0);
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

static void create_configmap(struct controller *c)
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

/* ------------------------------------------------------------------------------------------ */
/* Reconcile                                                                                    */

static void finish_stop(struct controller *c);
static void print_hold(struct controller *c, struct target_state *ts, int32_t current, int32_t would, const char *reason);
static void post_event(struct controller *c, struct target_state *ts, const char *type, const char *reason, const char *msg);

/* A failed sync (a reconcile, or a poll period without a usable cache): /last-poll says why, and
 * --max-sync-failures in a row end the process as CPA does. False when it is exiting. */
static bool sync_failed(struct controller *c, const char *error)
{
    pthread_mutex_lock(&c->mu);
    c->reconcile_errors++;
    snprintf(c->last_poll_error, sizeof c->last_poll_error, "%s", error);
    pthread_mutex_unlock(&c->mu);
    c->consecutive_failures++;
    if (c->cfg->max_sync_failures > 0 && c->consecutive_failures >= c->cfg->max_sync_failures) {
        LOG_ERROR("Too many consecutive sync failures (%d); exiting", c->consecutive_failures);
        c->exit_code = 1;
        ev_break(c->loop, EVBREAK_ALL);
        return false;
    }
    return true;
}

static void finish_target(struct controller *c, const char *error)
{
    if (error && !c->cycle_error[0])
        snprintf(c->cycle_error, sizeof c->cycle_error, "%s", error);
    if (--c->pending > 0)
        return;
    /* the whole reconcile is done */
    c->reconcile_running = false;
    c->override_pending = false; /* consumed by every target's decision */
    pthread_mutex_lock(&c->mu);
    c->reconciles++;
    if (!c->cycle_error[0]) {
        c->last_poll_error[0] = '\0';
        c->last_success = ev_time();
    }
    pthread_mutex_unlock(&c->mu);
    if (c->cycle_error[0]) {
        if (!sync_failed(c, c->cycle_error))
            return;
        /* a transient failure should not wait a whole poll period: back off from 0.5 s (jittered,
         * never sooner than a Retry-After); node events do not wait for this timer */
        c->retry_backoff = c->retry_backoff > 0 ? c->retry_backoff * 2 : 0.5;
        if (c->retry_backoff > c->cfg->poll_period_seconds)
            c->retry_backoff = c->cfg->poll_period_seconds;
        double delay = krand_jitter(c->retry_backoff, 0.2);
        if (kclient_retry_wait(c->client) > delay)
            delay = kclient_retry_wait(c->client);
        if (!c->stopping && !c->params_error[0]) {
            ev_timer_stop(c->loop, &c->retry);
            ev_timer_set(&c->retry, delay, 0.);
            ev_timer_start(c->loop, &c->retry);
        }
    } else {
        c->consecutive_failures = 0;
        c->retry_backoff = 0;
    }
    if (c->stopping) {
        finish_stop(c);
        return;
    }
    if (c->reconcile_again) {
        c->reconcile_again = false;
        schedule_reconcile(c, 0);
    }
}

static void scale_get(struct controller *c, struct target_state *ts);

static void print_plan(struct controller *c, struct target_state *ts, const struct plan *plan)
{
    char why[512];
    struct replica_calc shown = plan->calc;
    shown.replicas = plan->replicas; /* the rule's numbers, the plan's answer */
    replicas_explain(&c->params, &shown, why, sizeof why);
    int32_t current = plan->current;
    const struct replica_calc *calc = &shown;
    const struct cluster_summary *s = &c->summary;
    if (c->cfg->output_json) {
        cJSON *o = cJSON_CreateObject();
        char tname[320];
        snprintf(tname, sizeof tname, "%s/%s", target_kind_name(ts->t->kind), ts->t->name);
        cJSON_AddStringToObject(o, "action", "scale");
        cJSON_AddStringToObject(o, "target", tname);
        cJSON_AddStringToObject(o, "namespace", c->cfg->namespace_);
        cJSON_AddNumberToObject(o, "current", current);
        cJSON_AddNumberToObject(o, "desired", calc->replicas);
        cJSON_AddNumberToObject(o, "totalNodes", (double)s->total_nodes);
        cJSON_AddNumberToObject(o, "schedulableNodes", (double)s->schedulable_nodes);
        cJSON_AddNumberToObject(o, "totalCores", (double)s->total_cores);
        cJSON_AddNumberToObject(o, "schedulableCores", (double)s->schedulable_cores);
        cJSON_AddStringToObject(o, "rule", why);
        cJSON_AddBoolToObject(o, "dryRun", true);
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        printf("%s\n", text ? text : "{}");
        cJSON_free(text);
    } else {
        printf("dry-run: would scale %s/%s %s/%s from %d to %d (nodes %lld/%lld schedulable, cores %lld/%lld; %s)\n",
               c->cfg->namespace_, ts->t->name, target_kind_name(ts->t->kind), ts->t->name, current, calc->replicas,
               (long long)s->schedulable_nodes, (long long)s->total_nodes, (long long)s->schedulable_cores,
               (long long)s->total_cores, why);
    }
    fflush(stdout);
}

static void event_done(void *ctx, const struct kresp *resp)
{
    (void)ctx;
    if (resp->status != 201) {
        char what[400];
        kresp_describe(resp, what, sizeof what);
        LOG_V(1, "posting an Event failed: %s%s%s", what, resp->err ? ": " : "", resp->err ? resp->err : "");
    }
}

/* A Kubernetes Event on the target, in plain words. Fire and forget: Events are best effort. */
static void post_event(struct controller *c, struct target_state *ts, const char *type, const char *reason, const char *msg)
{
    if (c->cfg->dry_run || (c->leader && !leader_is_leading(c->leader)))
        return;
    char ts_now[40], name[400];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts_now, sizeof ts_now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(name, sizeof name, "%s.%llx", ts->t->name, (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "apiVersion", "v1");
    cJSON_AddStringToObject(e, "kind", "Event");
    cJSON *m = cJSON_AddObjectToObject(e, "metadata");
    cJSON_AddStringToObject(m, "name", name);
    cJSON_AddStringToObject(m, "namespace", c->cfg->namespace_);
    cJSON *io = cJSON_AddObjectToObject(e, "involvedObject");
    cJSON_AddStringToObject(io, "apiVersion", ts->t->kind == TARGET_REPLICATIONCONTROLLER ? "v1" : "apps/v1");
    cJSON_AddStringToObject(io, "kind", target_kind_title(ts->t->kind));
    cJSON_AddStringToObject(io, "name", ts->t->name);
    cJSON_AddStringToObject(io, "namespace", c->cfg->namespace_);
    cJSON_AddStringToObject(e, "reason", reason);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(e, "source"), "component", "propscaler");
    cJSON_AddStringToObject(e, "firstTimestamp", ts_now);
    cJSON_AddStringToObject(e, "lastTimestamp", ts_now);
    cJSON_AddNumberToObject(e, "count", 1);
    cJSON_AddStringToObject(e, "reportingComponent", "propscaler");
    cJSON_AddStringToObject(e, "reportingInstance", c->identity);
    char *text = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", c->cfg->namespace_);
    struct kreq_opts o = {.method = "POST", .path = path, .body = text};
    if (text)
        kclient_request(c->client, &o, NULL, event_done, c);
    free(text);
}

static void print_hold(struct controller *c, struct target_state *ts, int32_t current, int32_t would, const char *reason)
{
    if (c->cfg->output_json) {
        cJSON *o = cJSON_CreateObject();
        char tname[320];
        snprintf(tname, sizeof tname, "%s/%s", target_kind_name(ts->t->kind), ts->t->name);
        cJSON_AddStringToObject(o, "action", "hold");
        cJSON_AddStringToObject(o, "target", tname);
        cJSON_AddStringToObject(o, "namespace", c->cfg->namespace_);
        cJSON_AddNumberToObject(o, "current", current);
        cJSON_AddNumberToObject(o, "wouldBe", would);
        cJSON_AddStringToObject(o, "reason", reason);
        cJSON_AddBoolToObject(o, "dryRun", true);
        char *text = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        printf("%s\n", text ? text : "{}");
        cJSON_free(text);
    } else {
        printf("dry-run: guard holds %s/%s %s/%s at %d: %s\n", c->cfg->namespace_, ts->t->name, target_kind_name(ts->t->kind),
               ts->t->name, current, reason);
    }
    fflush(stdout);
}

static void put_done(void *ctx, const struct kresp *resp)
{
    struct target_state *ts = ctx;
    struct controller *c = ts->c;
    ts->req = NULL;
    ts->writing = false;
    long status = resp->status;
    char msg[1024];
    if (status == 200) {
        char note[700];
        int32_t desired = ts->plan.desired;
        snprintf(note, sizeof note, "Scaled %s from %d to %d replicas: %s", ts->t->name, ts->current, desired, ts->why);
        post_event(c, ts, "Normal", desired > ts->current ? "ScaledUp" : "ScaledDown", note);
        ts->current = desired;
        planner_written(&ts->plan, desired);
        ts->writes++;
        pthread_mutex_lock(&c->mu);
        c->scale_writes++;
        pthread_mutex_unlock(&c->mu);
        finish_target(c, NULL);
        return;
    }
    if (status == 409 && ts->attempts < 3 && !c->stopping) {
        /* someone else changed the object: read it again and decide again */
        pthread_mutex_lock(&c->mu);
        c->conflicts++;
        pthread_mutex_unlock(&c->mu);
        LOG_V(1, "conflict updating %s/%s; retrying with a fresh read", target_kind_name(ts->t->kind), ts->t->name);
        ts->attempts++;
        scale_get(c, ts);
        return;
    }
    snprintf(msg, sizeof msg, "updating replicas of %s/%s: %s (HTTP %ld)", target_kind_name(ts->t->kind), ts->t->name,
             resp->err ? resp->err : "request failed", status);
    LOG_ERROR("Update failure: %s", msg);
    finish_target(c, msg);
}

static void get_done(void *ctx, const struct kresp *resp)
{
    struct target_state *ts = ctx;
    struct controller *c = ts->c;
    ts->req = NULL;
    long status = resp->status;
    char msg[1024], why[800];
    cJSON *scale = NULL;
    int32_t current = 0;
    if (status != 200) {
        snprintf(msg, sizeof msg, "reading the scale of %s/%s: %s (HTTP %ld)", target_kind_name(ts->t->kind),
                 ts->t->name, resp->err ? resp->err : (status == 404 ? "not found" : "request failed"), status);
    } else if (kanswer_object(resp, "Scale", &scale, why, sizeof why) != 0 ||
               kanswer_scale_replicas(scale, &current, why, sizeof why) != 0) {
        /* never decide from, nor write back, a Scale that cannot be read exactly */
        snprintf(msg, sizeof msg, "reading the scale of %s/%s: %s", target_kind_name(ts->t->kind), ts->t->name, why);
        cJSON_Delete(scale);
        scale = NULL;
    }
    if (!scale) {
        LOG_ERROR("Update failure: %s", msg);
            finish_target(c, msg);
        return;
    }
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(scale, "spec");
    ts->current = current;
    ts->observed = true;
    const char *kind = target_kind_name(ts->t->kind), *name = ts->t->name;
    size_t ti = (size_t)(ts - c->targets);
    bool anti = ts->rules_known && ts->rules.required_anti;
    if (anti && ti < 16 && c->nodes)
        ts->eligible = node_set_tag_count(c->nodes, (int)ti);
    struct planner_input in = {
        .params = &c->params, .summary = &c->summary, .current = current,
        .eligible = anti && ti < 16 && c->nodes ? ts->eligible : -1,
        .eligible_stale = anti && strcmp(ts->tagged, ts->rules.fingerprint) != 0,
        .may_write = !c->leader || leader_is_leading(c->leader) || c->cfg->dry_run,
        .override = c->override_pending, .now = ev_now(c->loop),
    };
    struct plan plan;
    char e2[512];
    pthread_mutex_lock(&c->mu); /* the plan's counters are read by /metrics */
    int prc = planner_decide(&ts->plan, &c->plan_opts, &in, &plan, e2, sizeof e2);
    pthread_mutex_unlock(&c->mu);
    if (prc != 0) {
        cJSON_Delete(scale);
        LOG_ERROR("%s", e2);
        finish_target(c, e2);
        return;
    }
    snprintf(ts->why, sizeof ts->why, "%s", plan.why);
    /* what the plan's stages found, said where an operator looks */
    if (plan.foreign_write)
        LOG_WARN("%s/%s: replicas changed to %d by another writer (propscaler had written %d)", kind, name, current,
                 plan.overwritten);
    if (plan.fight_started) {
        LOG_WARN("%s/%s: %s", kind, name, plan.fight_note);
        post_event(c, ts, "Warning", "ConflictingWriter", plan.fight_note);
    }
    if (plan.guard.released && plan.guard.verdict != GUARD_HOLD)
        LOG_INFO("%s/%s: the guard released its hold", kind, name);
    if (plan.hold_started) {
        LOG_WARN("%s/%s: %s", kind, name, plan.guard.reason);
        post_event(c, ts, "Warning", "ScaleDownHeld", plan.guard.reason);
        if (c->cfg->dry_run)
            print_hold(c, ts, current, plan.calc.replicas, plan.guard.reason);
    } else if (plan.guard.verdict == GUARD_LIMIT || plan.guard.verdict == GUARD_DELAY) {
        LOG_INFO("%s/%s: %s", kind, name, plan.guard.reason);
        if (plan.guard.replicas != current)
            post_event(c, ts, "Normal", "ScaleDownLimited", plan.guard.reason);
    }
    if (plan.waiting) {
        LOG_V(1, "%s/%s: waiting for the eligible nodes to be recounted", kind, name);
        cJSON_Delete(scale);
        finish_target(c, NULL);
        return;
    }
    if (plan.cap_started) {
        LOG_WARN("%s/%s: %s", kind, name, plan.cap_note);
        post_event(c, ts, "Warning", "ReplicasCappedByPlacement", plan.cap_note);
    }
    switch (plan.action) {
    case PLAN_SCALE: break;
    case PLAN_FIGHT_BACKOFF:
        LOG_V(1, "%s/%s: not writing %d (another writer holds it, until %.0f s from now)", kind, name, plan.replicas,
              ts->plan.fighting_until - in.now);
        /* fall through */
    case PLAN_NOT_LEADER:
        if (plan.action == PLAN_NOT_LEADER)
            LOG_V(1, "not the leader: leaving %s/%s at %d (would be %d)", kind, name, current, plan.replicas);
        /* fall through */
    case PLAN_NOTHING:
        cJSON_Delete(scale);
        finish_target(c, NULL);
        return;
    }
    LOG_INFO("Replicas are not as expected : updating %s/%s from %d to %d", kind, name, current, plan.replicas);
    if (c->cfg->dry_run) {
        cJSON_Delete(scale);
        print_plan(c, ts, &plan);
        finish_target(c, NULL);
        return;
    }
    struct replica_calc calc = {.replicas = plan.replicas};
    /* PUT the Scale back with the new count; its resourceVersion makes a concurrent change a 409 */
    cJSON_DeleteItemFromObjectCaseSensitive(spec, "replicas");
    if (!spec)
        spec = cJSON_AddObjectToObject(scale, "spec");
    cJSON_AddNumberToObject(spec, "replicas", calc.replicas);
    cJSON_DeleteItemFromObjectCaseSensitive(scale, "status");
    char *text = cJSON_PrintUnformatted(scale);
    cJSON_Delete(scale);
    struct kreq_opts o = {.method = "PUT", .path = ts->path, .body = text};
    ts->req = text ? kclient_request(c->client, &o, NULL, put_done, ts) : NULL;
    ts->writing = ts->req != NULL;
    if (!ts->req) {
        free(text);
        finish_target(c, "out of memory");
        return;
    }
    free(text);
}

static void scale_get_now(struct controller *c, struct target_state *ts)
{
    struct kreq_opts o = {.method = "GET", .path = ts->path};
    ts->req = kclient_request(c->client, &o, NULL, get_done, ts);
    if (!ts->req)
        finish_target(c, "out of memory");
}

/* spec.selector as label-selector text for the pods watch. */
static void selector_text(const cJSON *sel, char *out, size_t len)
{
    struct buf b;
    buf_init(&b, len);
    const cJSON *kv, *e;
    cJSON_ArrayForEach(kv, cJSON_GetObjectItemCaseSensitive(sel, "matchLabels")) if (cJSON_IsString(kv))
        buf_printf(&b, "%s%s=%s", b.len ? "," : "", kv->string, kv->valuestring);
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(sel, "matchExpressions"))
    {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, "key"), *op = cJSON_GetObjectItemCaseSensitive(e, "operator"), *x;
        if (!cJSON_IsString(k) || !cJSON_IsString(op))
            continue;
        const char *o = op->valuestring;
        if (strcmp(o, "Exists") == 0 || strcmp(o, "DoesNotExist") == 0) {
            buf_printf(&b, "%s%s%s", b.len ? "," : "", o[0] == 'D' ? "!" : "", k->valuestring);
            continue;
        }
        buf_printf(&b, "%s%s %s (", b.len ? "," : "", k->valuestring, strcmp(o, "In") == 0 ? "in" : "notin");
        int first = 1;
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(e, "values")) if (cJSON_IsString(x))
        {
            buf_printf(&b, "%s%s", first ? "" : ",", x->valuestring);
            first = 0;
        }
        buf_putc(&b, ')');
    }
    snprintf(out, len, "%s", buf_str(&b));
    buf_release(&b);
}

static void pods_changed(void *ctx);

/* Report nodes holding too many replicas (and too much DNS traffic) when that set changes. */
static void evaluate_hotspots(struct controller *c, struct target_state *ts)
{
    size_t n = podwatch_pods(ts->pods);
    struct node_load *load = malloc((n ? n : 1) * sizeof *load);
    if (!load)
        return;
    size_t nodes = podwatch_load(ts->pods, load, n ? n : 1);
    int limit = c->cfg->max_replicas_per_node > 0 ? c->cfg->max_replicas_per_node
                                                  : (ts->rules_known && ts->rules.any_anti ? 1 : 2);
    struct buf sig;
    buf_init(&sig, 480);
    int over = 0, over_qps = 0;
    for (size_t i = 0; i < nodes && i < n; i++) {
        bool too_many = load[i].replicas > limit;
        bool too_hot = c->cfg->dns_qps_node_limit > 0 &&
                       (double)load[i].replicas * c->cfg->qps_per_replica > c->cfg->dns_qps_node_limit;
        over += too_many;
        over_qps += too_hot;
        if (too_many || too_hot)
            buf_printf(&sig, "%s%s %d", sig.len ? ", " : "", load[i].node, load[i].replicas);
    }
    pthread_mutex_lock(&c->mu);
    ts->busiest = nodes ? load[0].replicas : 0;
    ts->over_limit = over;
    ts->over_qps = over_qps;
    pthread_mutex_unlock(&c->mu);
    if (strcmp(buf_str(&sig), ts->piled) != 0) {
        if (over || over_qps) {
            char note[900];
            int k = snprintf(note, sizeof note, "%d node(s) hold more than %d replica%s of %s/%s (node replicas: %s)",
                             over, limit, limit == 1 ? "" : "s", target_kind_name(ts->t->kind), ts->t->name, buf_str(&sig));
            if (over_qps && k > 0 && (size_t)k < sizeof note)
                snprintf(note + k, sizeof note - (size_t)k, "; %d node(s) would serve more than the %.0f QPS per-node DNS "
                         "limit at %.0f QPS per replica", over_qps, c->cfg->dns_qps_node_limit, c->cfg->qps_per_replica);
            LOG_WARN("%s: per-node DNS rate limits make this a bottleneck; spread the replicas with podAntiAffinity on "
                     "kubernetes.io/hostname", note);
            post_event(c, ts, "Warning", "ReplicasPiledUp", note);
        } else if (ts->piled[0]) {
            LOG_INFO("%s/%s: no node holds more than %d replica%s any more", target_kind_name(ts->t->kind), ts->t->name,
                     limit, limit == 1 ? "" : "s");
        }
        snprintf(ts->piled, sizeof ts->piled, "%s", buf_str(&sig));
    }
    buf_release(&sig);
    free(load);
}

/* The workload itself, for its pod template's placement rules. A change of the rules relists the
 * nodes so each node's eligibility is computed again. */
static void object_done(void *ctx, const struct kresp *resp)
{
    struct target_state *ts = ctx;
    struct controller *c = ts->c;
    ts->req = NULL;
    long status = resp->status;
    char why[800];
    cJSON *w = NULL;
    if (status == 200 && kanswer_object(resp, target_kind_title(ts->t->kind), &w, why, sizeof why) != 0) {
        LOG_WARN("%s/%s: reading the workload for its placement rules: %s", target_kind_name(ts->t->kind), ts->t->name, why);
        status = -1; /* placement rules stay as they were */
    }
    if (status == 200) {
        char before[64];
        snprintf(before, sizeof before, "%s", ts->rules_known ? ts->rules.fingerprint : "");
        placement_rules_from_workload(&ts->rules, w);
        char sel[1024];
        selector_text(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(w, "spec"), "selector"), sel, sizeof sel);
        if (sel[0] && (!ts->pods || strcmp(podwatch_selector(ts->pods), sel) != 0)) {
            podwatch_free(ts->pods);
            ts->pods = podwatch_new(c->loop, c->client, c->cfg->namespace_, sel, pods_changed, ts);
        }
        cJSON_Delete(w);
        w = NULL;
        bool changed = strcmp(before, ts->rules.fingerprint) != 0;
        ts->rules_known = true;
        ts->rules_at = ev_now(c->loop);
        if (changed && ts->rules.required_anti) {
            LOG_V(1, "%s/%s: placement rules changed; recounting eligible nodes", target_kind_name(ts->t->kind), ts->t->name);
            reflector_relist(c->nodes_ref);
        }
    } else {
        ts->rules_at = ev_now(c->loop); /* no placement checks without the template (e.g. no RBAC get) */
        LOG_V(1, "%s/%s: reading the workload for its placement rules answered HTTP %ld", target_kind_name(ts->t->kind),
              ts->t->name, status);
    }
    scale_get_now(c, ts);
}

static void hot_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct target_state *ts = w->data;
    evaluate_hotspots(ts->c, ts);
}

static void pods_changed(void *ctx)
{
    struct target_state *ts = ctx;
    ev_timer_stop(ts->c->loop, &ts->hot_timer);
    ev_timer_set(&ts->hot_timer, 0.5, 0.);
    ev_timer_start(ts->c->loop, &ts->hot_timer);
}

static void scale_get(struct controller *c, struct target_state *ts)
{
    if (ev_now(c->loop) - ts->rules_at >= c->cfg->poll_period_seconds || ts->rules_at == 0) {
        struct kreq_opts o = {.method = "GET", .path = ts->object_path};
        ts->req = kclient_request(c->client, &o, NULL, object_done, ts);
        if (ts->req)
            return;
    }
    scale_get_now(c, ts);
}

static void reconcile(struct controller *c)
{
    pthread_mutex_lock(&c->mu);
    c->heartbeat = ev_now(c->loop);
    pthread_mutex_unlock(&c->mu);
    if (c->stopping)
        return;
    if (c->reconcile_running) {
        c->reconcile_again = true;
        return;
    }
    /* never decide from partial data, nor from a cache that may follow another server's state */
    if (!caches_trusted(c))
        return;
    if (kclient_retry_wait(c->client) > 0) {
        schedule_reconcile(c, kclient_retry_wait(c->client)); /* the server asked us to wait */
        return;
    }
    ev_timer_stop(c->loop, &c->retry);
    pthread_mutex_lock(&c->mu);
    c->synced = true;
    pthread_mutex_unlock(&c->mu);
    if (!c->cm_present) {
        if (c->cfg->has_default_params && !c->params_loaded) {
            create_configmap(c);
            if (!c->params_loaded)
                return;
        } else if (!c->params_loaded) {
            char msg[600];
            snprintf(msg, sizeof msg, "Error syncing configMap with apiserver: configmaps \"%s\" not found", c->cfg->configmap);
            LOG_ERROR("%s", msg);
            pthread_mutex_lock(&c->mu);
            snprintf(c->last_poll_error, sizeof c->last_poll_error, "%s", msg);
            c->reconcile_errors++;
            pthread_mutex_unlock(&c->mu);
            return;
        }
    }
    if (!c->params_loaded) {
        pthread_mutex_lock(&c->mu);
        snprintf(c->last_poll_error, sizeof c->last_poll_error, "Error ensuring controller: %s", c->params_error);
        c->reconcile_errors++;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    struct cluster_summary s;
    node_set_summary(c->nodes, &s);
    pthread_mutex_lock(&c->mu);
    c->summary = s;
    pthread_mutex_unlock(&c->mu);
    LOG_V(1, "Cluster status: SchedulableNodes[%lld], TotalNodes[%lld], SchedulableCores[%lld], TotalCores[%lld]",
          (long long)s.schedulable_nodes, (long long)s.total_nodes, (long long)s.schedulable_cores, (long long)s.total_cores);
    c->reconcile_running = true;
    c->cycle_error[0] = '\0';
    if (c->params_error[0])
        snprintf(c->cycle_error, sizeof c->cycle_error, "Error ensuring controller: %s", c->params_error);
    c->pending = (int)c->cfg->n_targets;
    for (size_t i = 0; i < c->cfg->n_targets; i++) {
        c->targets[i].attempts = 0;
        scale_get(c, &c->targets[i]);
    }
}

static void coalesce_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    reconcile(w->data);
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    reconcile(w->data);
}

/* Every poll period: first ask both reflectors whether the server is still the one their caches
 * follow (a cheap LIST each); the reconcile follows when the checks are back. A period without a
 * usable cache is a failed sync, as CPA counts it (before the first complete LIST too). */
static void poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct controller *c = w->data;
    LOG_V(4, "periodic resync");
    pthread_mutex_lock(&c->mu);
    c->heartbeat = ev_now(c->loop);
    pthread_mutex_unlock(&c->mu);
    if (c->stopping)
        return;
    if (!caches_trusted(c)) {
        char msg[1400];
        bool listed = c->nodes && reflector_synced(c->nodes_ref) && reflector_synced(c->cm_ref);
        snprintf(msg, sizeof msg, "%s: %s", listed ? "the API server's state is not verified since a watch failed"
                                                   : "the first complete list of nodes and params has not arrived",
                 c->sync_error[0] ? c->sync_error : "waiting");
        c->sync_error[0] = '\0';
        if (!sync_failed(c, msg))
            return;
    }
    bool a = reflector_check(c->nodes_ref);
    bool b = reflector_check(c->cm_ref);
    c->checks_pending = a || b;
    if (!c->checks_pending && !(ev_is_active(&c->coalesce) && c->coalescing_burst))
        reconcile(c); /* (a burst being coalesced is decided when it goes quiet) */
}

/* Decide no later than `delay` from now (never sooner than a Retry-After allows): an earlier
 * request brings a pending decision forward, a later one joins it. */
static void schedule_reconcile(struct controller *c, double delay)
{
    double wait = kclient_retry_wait(c->client);
    if (wait > delay)
        delay = wait; /* a Retry-After holds every path */
    if (ev_is_active(&c->coalesce) && ev_timer_remaining(c->loop, &c->coalesce) <= delay)
        return; /* already due as soon: this change joins it */
    ev_timer_stop(c->loop, &c->coalesce);
    ev_timer_set(&c->coalesce, delay, 0.);
    ev_timer_start(c->loop, &c->coalesce);
    c->coalescing_burst = false;
}

/* A node event: decide once the stream has been quiet for COALESCE_QUIET_S, or at the latest
 * COALESCE_MAX_S after the burst's first event (a steady stream still gets decisions). A burst of
 * thousands of ADDED events (a LIST's worth, or a trace's t=0 group) is then one decision on the
 * whole of it, as the simulator makes it, not several on a half-loaded cluster. */
static void coalesce_event(struct controller *c)
{
    double now = ev_time();
    bool active = ev_is_active(&c->coalesce);
    if (active && !c->coalescing_burst)
        return; /* a decision is already due (a LIST, the params, a Retry-After): this event joins it */
    if (!active)
        c->burst_start = now;
    double fire = now + COALESCE_QUIET_S, latest = c->burst_start + COALESCE_MAX_S;
    double delay = (fire < latest ? fire : latest) - now;
    if (delay < 0)
        delay = 0;
    double wait = kclient_retry_wait(c->client);
    if (wait > delay)
        delay = wait;
    ev_timer_stop(c->loop, &c->coalesce);
    ev_timer_set(&c->coalesce, delay, 0.);
    ev_timer_start(c->loop, &c->coalesce);
    c->coalescing_burst = true;
}

/* ------------------------------------------------------------------------------------------ */
/* Health and metrics (called from the HTTP thread)                                             */

int controller_healthz(struct controller *c, char *body, size_t len)
{
    if (c->cfg->healthz_always_ok) {
        snprintf(body, len, "ok");
        return 200;
    }
    pthread_mutex_lock(&c->mu);
    double age = ev_time() - c->heartbeat;
    pthread_mutex_unlock(&c->mu);
    double limit = 3.0 * c->cfg->poll_period_seconds + 30;
    if (c->heartbeat > 0 && age > limit) {
        snprintf(body, len, "the reconcile loop has not run for %.0f s (limit %.0f s)", age, limit);
        return 500;
    }
    snprintf(body, len, "ok");
    return 200;
}

int controller_readyz(struct controller *c, char *body, size_t len)
{
    pthread_mutex_lock(&c->mu);
    bool ready = c->synced;
    pthread_mutex_unlock(&c->mu);
    snprintf(body, len, ready ? "ok" : "not synced yet: waiting for the first complete list of nodes and params");
    return ready ? 200 : 503;
}

int controller_last_poll(struct controller *c, char *body, size_t len)
{
    pthread_mutex_lock(&c->mu);
    int code = c->last_poll_error[0] ? 500 : 200;
    if (code == 500)
        snprintf(body, len, "Encountered error at last poll cycle: %s", c->last_poll_error);
    else
        snprintf(body, len, "ok");
    pthread_mutex_unlock(&c->mu);
    return code;
}

/* The per-target series of /metrics: one table, one loop (each line labelled namespace and
 * target). A value is left out where it means nothing yet: replicas before the target was
 * observed, eligible nodes without required anti-affinity, pod spread before pods were listed. */
enum target_metric_id {
    TM_DESIRED, TM_CURRENT, TM_FIGHTING, TM_GUARD_HOLDS, TM_GUARD_LIMITS, TM_GUARD_HOLDING, TM_ELIGIBLE,
    TM_CAPPED, TM_BUSIEST, TM_OVER_LIMIT, TM_OVER_QPS,
};

struct target_metric {
    enum target_metric_id which;
    const char *name, *type, *help;
};

static const struct target_metric target_metrics[] = {
    {TM_DESIRED, "propscaler_desired_replicas", "gauge", "Replicas the params ask for."},
    {TM_CURRENT, "propscaler_current_replicas", "gauge", "Replicas last seen on the target."},
    {TM_FIGHTING, "propscaler_conflicting_writer", "gauge", "1 while another writer is fighting over the target's replicas."},
    {TM_GUARD_HOLDS, "propscaler_guard_holds_total", "counter", "Decisions whose scale-down the guard held."},
    {TM_GUARD_LIMITS, "propscaler_guard_limits_total", "counter", "Scale-downs the guard delayed or limited."},
    {TM_GUARD_HOLDING, "propscaler_guard_holding", "gauge", "1 while the guard holds the target's replicas."},
    {TM_ELIGIBLE, "propscaler_eligible_nodes", "gauge",
     "Schedulable nodes a target's pods may run on (under required hostname anti-affinity)."},
    {TM_CAPPED, "propscaler_placement_capped", "gauge", "1 while desired replicas exceed the eligible nodes."},
    {TM_BUSIEST, "propscaler_replicas_on_busiest_node", "gauge", "Replicas of the target on its busiest node."},
    {TM_OVER_LIMIT, "propscaler_nodes_over_replica_limit", "gauge",
     "Nodes holding more replicas than --max-replicas-per-node."},
    {TM_OVER_QPS, "propscaler_nodes_over_dns_qps_limit", "gauge",
     "Nodes whose replicas would exceed --dns-qps-per-node-limit."},
};

static bool target_metric_value(const struct target_state *t, enum target_metric_id which, double now, long long *v)
{
    switch (which) {
    case TM_DESIRED: *v = t->plan.desired; return t->observed;
    case TM_CURRENT: *v = t->current; return t->observed;
    case TM_FIGHTING: *v = now < t->plan.fighting_until; return true;
    case TM_GUARD_HOLDS: *v = (long long)t->plan.guard_holds; return true;
    case TM_GUARD_LIMITS: *v = (long long)t->plan.guard_limits; return true;
    case TM_GUARD_HOLDING: *v = t->plan.held ? 1 : 0; return true;
    case TM_ELIGIBLE: *v = (long long)t->eligible; return t->rules_known && t->rules.required_anti;
    case TM_CAPPED: *v = t->plan.capped ? 1 : 0; return true;
    case TM_BUSIEST: *v = t->busiest; return t->pods != NULL;
    case TM_OVER_LIMIT: *v = t->over_limit; return t->pods != NULL;
    case TM_OVER_QPS: *v = t->over_qps; return t->pods != NULL;
    }
    return false;
}

char *controller_metrics(struct controller *c)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    pthread_mutex_lock(&c->mu);
    const struct cluster_summary *s = &c->summary;
    buf_printf(&b, "# HELP propscaler_nodes Nodes counted, by kind (total or schedulable).\n# TYPE propscaler_nodes gauge\n");
    buf_printf(&b, "propscaler_nodes{kind=\"total\"} %lld\npropscaler_nodes{kind=\"schedulable\"} %lld\n",
               (long long)s->total_nodes, (long long)s->schedulable_nodes);
    buf_printf(&b, "# HELP propscaler_cores Cores counted (ceiling of the summed allocatable CPU).\n# TYPE propscaler_cores gauge\n");
    buf_printf(&b, "propscaler_cores{kind=\"total\"} %lld\npropscaler_cores{kind=\"schedulable\"} %lld\n",
               (long long)s->total_cores, (long long)s->schedulable_cores);
    buf_printf(&b, "# HELP propscaler_reconciles_total Reconciles run.\n# TYPE propscaler_reconciles_total counter\npropscaler_reconciles_total %lu\n", c->reconciles);
    buf_printf(&b, "# HELP propscaler_reconcile_errors_total Reconciles that failed.\n# TYPE propscaler_reconcile_errors_total counter\npropscaler_reconcile_errors_total %lu\n", c->reconcile_errors);
    buf_printf(&b, "# HELP propscaler_scale_writes_total Replica counts written.\n# TYPE propscaler_scale_writes_total counter\npropscaler_scale_writes_total %lu\n", c->scale_writes);
    buf_printf(&b, "# HELP propscaler_conflicts_total 409 conflicts on scale writes.\n# TYPE propscaler_conflicts_total counter\npropscaler_conflicts_total %lu\n", c->conflicts);
    buf_printf(&b, "# HELP propscaler_last_success_timestamp_seconds Time of the last successful reconcile.\n# TYPE propscaler_last_success_timestamp_seconds gauge\npropscaler_last_success_timestamp_seconds %.3f\n", c->last_success);
    buf_printf(&b, "# HELP propscaler_leader 1 when this instance may write (it leads, or runs without --leader-elect).\n# TYPE propscaler_leader gauge\npropscaler_leader %d\n",
               c->leader ? leader_is_leading(c->leader) : 1);
    double now = ev_now(c->loop);
    for (size_t m = 0; m < sizeof target_metrics / sizeof *target_metrics; m++) {
        const struct target_metric *tm = &target_metrics[m];
        buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", tm->name, tm->help, tm->name, tm->type);
        for (size_t i = 0; i < c->cfg->n_targets; i++) {
            long long v;
            if (target_metric_value(&c->targets[i], tm->which, now, &v))
                buf_printf(&b, "%s{namespace=\"%s\",target=\"%s/%s\"} %lld\n", tm->name, c->cfg->namespace_,
                           target_kind_name(c->targets[i].t->kind), c->targets[i].t->name, v);
        }
    }
    buf_printf(&b, "# HELP propscaler_params_valid 1 when the params ConfigMap parses, 0 when the last good params are in force.\n# TYPE propscaler_params_valid gauge\npropscaler_params_valid %d\n", c->params_error[0] ? 0 : 1);
    pthread_mutex_unlock(&c->mu);
    /* reflector and client counters are only written by the loop thread; a torn read of a
     * counter is harmless for monitoring */
    const struct reflector *refs[2] = {c->nodes_ref, c->cm_ref};
    const char *names[2] = {"nodes", "configmap"};
    buf_printf(&b, "# HELP propscaler_relists_total LISTs after the first (410 Expired or errors).\n# TYPE propscaler_relists_total counter\n");
    for (int i = 0; i < 2; i++)
        buf_printf(&b, "propscaler_relists_total{resource=\"%s\"} %lu\n", names[i], reflector_stats(refs[i])->relists);
    buf_printf(&b, "# HELP propscaler_watch_restarts_total Watches started again.\n# TYPE propscaler_watch_restarts_total counter\n");
    for (int i = 0; i < 2; i++)
        buf_printf(&b, "propscaler_watch_restarts_total{resource=\"%s\"} %lu\n", names[i], reflector_stats(refs[i])->watch_restarts);
    buf_printf(&b, "# HELP propscaler_watch_events_total Watch events received.\n# TYPE propscaler_watch_events_total counter\n");
    for (int i = 0; i < 2; i++)
        buf_printf(&b, "propscaler_watch_events_total{resource=\"%s\"} %lu\n", names[i], reflector_stats(refs[i])->events);
    const struct kclient_stats *ks = kclient_stats(c->client);
    buf_printf(&b, "# HELP propscaler_api_requests_total API requests, by outcome.\n# TYPE propscaler_api_requests_total counter\n");
    buf_printf(&b, "propscaler_api_requests_total{code=\"2xx\"} %lu\npropscaler_api_requests_total{code=\"4xx\"} %lu\n"
                   "propscaler_api_requests_total{code=\"5xx\"} %lu\npropscaler_api_requests_total{code=\"error\"} %lu\n",
               ks->status_2xx, ks->status_4xx, ks->status_5xx, ks->failures);
    buf_printf(&b, "# HELP propscaler_api_request_duration_seconds Latency of non-watch API requests.\n# TYPE propscaler_api_request_duration_seconds summary\n");
    buf_printf(&b, "propscaler_api_request_duration_seconds_sum %.6f\npropscaler_api_request_duration_seconds_count %lu\n",
               ks->latency_sum_s, ks->latency_count);
    buf_printf(&b, "# HELP propscaler_api_received_bytes_total Bytes received from the API server.\n# TYPE propscaler_api_received_bytes_total counter\npropscaler_api_received_bytes_total %lu\n", ks->bytes_received);
    return buf_take(&b);
}

/* ------------------------------------------------------------------------------------------ */

static void leadership_changed(void *ctx, bool leading)
{
    struct controller *c = ctx;
    /* whatever was written while another replica led was written by a propscaler holding the
     * Lease: it must never count as a foreign writer, and a back-off from a fight is the old
     * term's */
    for (size_t i = 0; i < c->cfg->n_targets; i++)
        planner_leadership_changed(&c->targets[i].plan);
    if (leading)
        schedule_reconcile(c, 0); /* act at once on what the standby already knows */
}

struct controller *controller_new(struct ev_loop *loop, struct propscaler_config *cfg, char *err, size_t errlen)
{
    struct controller *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->loop = loop;
    c->cfg = cfg;
    pthread_mutex_init(&c->mu, NULL);
    cm_data_init(&c->cm);
    params_init(&c->params);
    c->plan_opts = (struct planner_opts){.policy = cfg->policy_opts, .guard = cfg->guard,
                                         .placement_warn_only = cfg->placement_warn_only,
                                         .foreign_writer_backoff_s = cfg->foreign_writer_backoff_s};
    /* PROPSCALER_SERVICEACCOUNT_DIR: where the service-account files are (tests; default the
     * standard in-cluster path) */
    const char *sa_dir = getenv("PROPSCALER_SERVICEACCOUNT_DIR");
    int rc = cfg->kubeconfig && cfg->kubeconfig[0]
                 ? kubeconfig_load(cfg->kubeconfig, cfg->context, &c->ep, err, errlen)
                 : kubeconfig_in_cluster(sa_dir && *sa_dir ? sa_dir : IN_CLUSTER_DIR, &c->ep, err, errlen);
    if (rc != 0) {
        free(c);
        return NULL;
    }
    if (c->ep.insecure)
        LOG_WARN("insecure-skip-tls-verify is set for context %s: the API server's certificate is NOT verified",
                 c->ep.context ? c->ep.context : "?");
    if (strncmp(c->ep.server, "http://", 7) == 0 && (c->ep.token || c->ep.token_file))
        LOG_WARN("the API server %s is plain http://: the bearer token is sent unencrypted; use https://", c->ep.server);
    c->client = kclient_new(loop, &c->ep, err, errlen);
    if (!c->client) {
        kube_endpoint_release(&c->ep);
        free(c);
        return NULL;
    }
    kclient_set_max_body(c->client, cfg->max_response_bytes);
    for (size_t i = 0; i < cfg->n_targets; i++) {
        struct target_state *ts = &c->targets[i];
        ts->c = c;
        ts->t = &cfg->targets[i];
        const char *group_path = ts->t->kind == TARGET_REPLICATIONCONTROLLER ? "/api/v1" : "/apis/apps/v1";
        static const char *plural[] = {"deployments", "replicasets", "replicationcontrollers", "statefulsets"};
        snprintf(ts->path, sizeof ts->path, "%s/namespaces/%s/%s/%s/scale", group_path, cfg->namespace_,
                 plural[ts->t->kind], ts->t->name);
        snprintf(ts->object_path, sizeof ts->object_path, "%s/namespaces/%s/%s/%s", group_path, cfg->namespace_,
                 plural[ts->t->kind], ts->t->name);
        placement_rules_init(&ts->rules);
        ev_init(&ts->hot_timer, hot_cb);
        ts->hot_timer.data = ts;
    }
    static const struct reflector_sink node_sink = {nodes_list_begin, nodes_item, nodes_list_end, nodes_event,
                                                    reflector_error, nodes_count, reflector_checked};
    static const struct reflector_sink cm_sink = {cm_list_begin, cm_item, cm_list_end, cm_event, reflector_error,
                                                  cm_count, reflector_checked};
    struct reflector_opts no = {.name = "nodes", .path = "/api/v1/nodes", .label_selector = cfg->nodelabels,
                                .list_kind = "NodeList"};
    c->nodes_ref = reflector_new(loop, c->client, &no, &node_sink, c);
    static char cm_path[512], cm_field[512];
    snprintf(cm_path, sizeof cm_path, "/api/v1/namespaces/%s/configmaps", cfg->namespace_);
    snprintf(cm_field, sizeof cm_field, "metadata.name=%s", cfg->configmap);
    struct reflector_opts co = {.name = "configmap", .path = cm_path, .field_selector = cm_field,
                                .list_kind = "ConfigMapList"};
    c->cm_ref = reflector_new(loop, c->client, &co, &cm_sink, c);
    for (size_t i = 0; i < cfg->n_targets; i++) {
        planner_target_init(&c->targets[i].plan);
    }
    const char *host = getenv("HOSTNAME");
    char hn[128] = "propscaler";
    if (!host || !*host) {
        if (gethostname(hn, sizeof hn) == 0)
            hn[sizeof hn - 1] = '\0';
        host = hn;
    }
    /* a suffix from the kernel: two replicas with one hostname must never share an identity */
    char suffix[17];
    krand_hex(suffix, 8);
    snprintf(c->identity, sizeof c->identity, "%.200s_%s", host, suffix);
    char ua[320];
    snprintf(ua, sizeof ua, "propscaler/%s (%s)", PROPSCALER_VERSION, c->identity);
    kclient_set_user_agent(c->client, ua);
    if (cfg->leader_elect) {
        static char lease_name[300];
        if (cfg->lease_name && cfg->lease_name[0])
            snprintf(lease_name, sizeof lease_name, "%s", cfg->lease_name);
        else
            snprintf(lease_name, sizeof lease_name, "propscaler-%s", cfg->configmap);
        struct leader_opts lo = {.namespace_ = cfg->namespace_, .name = lease_name, .identity = c->identity,
                                 .lease_duration_s = cfg->lease_duration_s, .renew_deadline_s = cfg->renew_deadline_s,
                                 .retry_period_s = cfg->retry_period_s, .changed = leadership_changed, .ctx = c};
        c->leader = leader_new(loop, c->client, &lo);
    }
    ev_init(&c->coalesce, coalesce_cb);
    c->coalesce.data = c;
    ev_init(&c->poll, poll_cb);
    c->poll.data = c;
    ev_init(&c->retry, retry_cb);
    c->retry.data = c;
    ev_init(&c->stop_deadline, stop_deadline_cb);
    c->stop_deadline.data = c;
    c->heartbeat = ev_time();
    buf_init(&c->record_pending, (size_t)1 << 30);
    if (cfg->record_file) {
        c->record = fopen(cfg->record_file, "w");
        if (!c->record) {
            snprintf(err, errlen, "--record: cannot write %s: %s", cfg->record_file, strerror(errno));
            controller_free(c);
            return NULL;
        }
        c->record_t0 = ev_now(loop);
    }
    return c;
}

void controller_start(struct controller *c)
{
    LOG_INFO("propscaler %s: scaling %zu target(s) in %s from ConfigMap %s%s, API server %s", PROPSCALER_VERSION,
             c->cfg->n_targets, c->cfg->namespace_, c->cfg->configmap, c->cfg->dry_run ? " (dry run: nothing is written)" : "",
             c->ep.server);
    reflector_start(c->nodes_ref);
    reflector_start(c->cm_ref);
    if (c->leader)
        leader_start(c->leader);
    ev_timer_set(&c->poll, c->cfg->poll_period_seconds, c->cfg->poll_period_seconds);
    ev_timer_start(c->loop, &c->poll);
}

static void released(void *ctx)
{
    struct controller *c = ctx;
    ev_break(c->loop, EVBREAK_ALL);
}

/* The last step of a graceful stop: give the lease up, then end the loop. */
static void finish_stop(struct controller *c)
{
    if (c->leader)
        leader_release(c->leader, released, c);
    else
        ev_break(c->loop, EVBREAK_ALL);
}

void controller_stop(struct controller *c)
{
    if (c->stopping)
        return;
    c->stopping = true;
    ev_timer_stop(c->loop, &c->poll);
    ev_timer_stop(c->loop, &c->coalesce);
    ev_timer_stop(c->loop, &c->retry);
    /* whatever happens in flight, the loop ends within the bound (Kubernetes' default grace
     * period is 30 s; a slow server must not make the kubelet SIGKILL us mid-write) */
    ev_timer_set(&c->stop_deadline, CONTROLLER_STOP_BOUND_S, 0.);
    ev_timer_start(c->loop, &c->stop_deadline);
    /* reads are cancelled at once; at most the writes already sent are waited for */
    reflector_stop(c->nodes_ref);
    reflector_stop(c->cm_ref);
    if (c->create_req) {
        kreq_cancel(c->create_req);
        c->create_req = NULL;
    }
    bool was_running = c->reconcile_running;
    for (size_t i = 0; i < c->cfg->n_targets; i++) {
        struct target_state *ts = &c->targets[i];
        podwatch_free(ts->pods);
        ts->pods = NULL;
        ev_timer_stop(c->loop, &ts->hot_timer);
        if (ts->req && !ts->writing) {
            kreq_cancel(ts->req);
            ts->req = NULL;
            finish_target(c, "stopping"); /* the last one ends the reconcile, then the stop */
        }
    }
    if (!was_running) /* otherwise this continues when the in-flight write completes */
        finish_stop(c);
}

static void stop_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)revents;
    (void)w;
    LOG_WARN("stopping: the API server did not answer within %.0f s; exiting without waiting longer", CONTROLLER_STOP_BOUND_S);
    ev_break(loop, EVBREAK_ALL);
}

void controller_free(struct controller *c)
{
    if (!c)
        return;
    ev_timer_stop(c->loop, &c->poll);
    ev_timer_stop(c->loop, &c->coalesce);
    ev_timer_stop(c->loop, &c->retry);
    ev_timer_stop(c->loop, &c->stop_deadline);
    for (size_t i = 0; i < c->cfg->n_targets; i++) {
        placement_rules_release(&c->targets[i].rules);
        podwatch_free(c->targets[i].pods);
        ev_timer_stop(c->loop, &c->targets[i].hot_timer);
    }
    leader_free(c->leader);
    reflector_free(c->nodes_ref);
    reflector_free(c->cm_ref);
    kclient_free(c->client);
    node_set_free(c->nodes);
    node_set_free(c->staging);
    cm_data_release(&c->cm);
    params_release(&c->params);
    kube_endpoint_release(&c->ep);
    buf_release(&c->record_pending);
    if (c->record)
        fclose(c->record);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
