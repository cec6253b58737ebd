/* The controller's lifecycle: controller_new (endpoint, client, reflectors, leader election,
 * timers), start, a bounded stop (reads cancelled, one write may finish, the Lease released,
 * CONTROLLER_STOP_BOUND_S at most), free. The rest lives in its siblings: controller_internal.h. */
#define _DEFAULT_SOURCE
#include "controller_internal.h"

int controller_exit_code(const struct controller *c) { return c->exit_code; }

static void stop_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents);

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
        reconcile_schedule(c, 0); /* act at once on what the standby already knows */
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
    removals_init(c);
    ev_init(&c->trim, inputs_trim_cb);
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
    c->ep.disable_compression = c->ep.disable_compression || cfg->disable_compression;
    /* source.host of its Events: the node it runs on (the manifests pass spec.nodeName) */
    const char *node = getenv("NODE_NAME");
    if (node && node[0])
        snprintf(c->event_host, sizeof c->event_host, "%s", node);
    else if (gethostname(c->event_host, sizeof c->event_host) != 0)
        c->event_host[0] = '\0';
    c->event_host[sizeof c->event_host - 1] = '\0';
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
        ev_init(&ts->hot_timer, hotspots_timer_cb);
        ts->hot_timer.data = ts;
    }
    struct reflector_opts no = {.name = "nodes", .path = "/api/v1/nodes", .label_selector = cfg->nodelabels,
                                .list_kind = "NodeList", .max_items = cfg->max_list_items};
    c->nodes_ref = reflector_new(loop, c->client, &no, &inputs_node_sink, c);
    static char cm_path[512], cm_field[512];
    snprintf(cm_path, sizeof cm_path, "/api/v1/namespaces/%s/configmaps", cfg->namespace_);
    snprintf(cm_field, sizeof cm_field, "metadata.name=%s", cfg->configmap);
    struct reflector_opts co = {.name = "configmap", .path = cm_path, .field_selector = cm_field,
                                .list_kind = "ConfigMapList", .max_items = cfg->max_list_items};
    c->cm_ref = reflector_new(loop, c->client, &co, &inputs_cm_sink, c);
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
        snprintf(c->lease_label, sizeof c->lease_label, "%s/%s", cfg->namespace_, lease_name);
        struct leader_opts lo = {.namespace_ = cfg->namespace_, .name = lease_name, .identity = c->identity,
                                 .lease_duration_s = cfg->lease_duration_s, .renew_deadline_s = cfg->renew_deadline_s,
                                 .retry_period_s = cfg->retry_period_s, .changed = leadership_changed, .ctx = c};
        c->leader = leader_new(loop, c->client, &lo);
    }
    ev_init(&c->coalesce, reconcile_coalesce_cb);
    c->coalesce.data = c;
    ev_init(&c->poll, reconcile_poll_cb);
    c->poll.data = c;
    ev_init(&c->retry, reconcile_retry_cb);
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
    reflector_start(c->cm_ref);
    reconcile_read_rules_then_list(c); /* then the nodes: one LIST tags them for placement */
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
void controller_finish_stop(struct controller *c)
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
    removals_stopping(c); /* node removal reviews: refused from now on, waiting ones answered */
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
            reconcile_finish_target(c, "stopping"); /* the last one ends the reconcile, then the stop */
        }
    }
    if (!was_running) /* otherwise this continues when the in-flight write completes */
        controller_finish_stop(c);
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
    ev_timer_stop(c->loop, &c->trim);
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
    if (c->record) {
        /* the observation ended here, not at the last event: a replay covers the whole window */
        ev_now_update(c->loop);
        fprintf(c->record, "{\"t\":%.3f,\"type\":\"END\"}\n", ev_now(c->loop) - c->record_t0);
        fclose(c->record);
    }
    webhookca_stop(c);
    removals_free(c);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
