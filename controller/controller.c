/* The controller's lifecycle: controller_new (endpoint, client, reflectors, leader election,
 * timers), start, a bounded stop (reads cancelled, one write may finish, the Lease released,
 * CONTROLLER_STOP_BOUND_S at most), free. The rest lives in its siblings: controller_internal.h. */
#define _DEFAULT_SOURCE
#include "controller_internal.h"

int controller_exit_code(const struct controller *c) { return c->exit_code; }

static void stop_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* ------------------------------------------------------------------------------------------ */
/* Targets, their params sources and node groups                                                */

static int add_source(struct controller *c, const char *ns, const char *name)
{
    for (int i = 0; i < c->n_sources; i++)
        if (strcmp(c->sources[i].ns, ns) == 0 && strcmp(c->sources[i].name, name) == 0)
            return i;
    if (c->n_sources == MAX_SOURCES)
        return -1;
    struct params_source *src = &c->sources[c->n_sources];
    src->c = c;
    snprintf(src->ns, sizeof src->ns, "%s", ns);
    snprintf(src->name, sizeof src->name, "%s", name);
    snprintf(src->path, sizeof src->path, "/api/v1/namespaces/%s/configmaps", ns); /* its reflector's */
    snprintf(src->field, sizeof src->field, "metadata.name=%s", name);
    cm_data_init(&src->cm);
    params_init(&src->params);
    return c->n_sources++;
}

static int add_group(struct controller *c, const struct node_count_opts *opts, const char *key)
{
    for (int g = 0; g < c->n_groups; g++)
        if (strcmp(c->groups[g].key, key) == 0)
            return g;
    if (c->n_groups == MAX_GROUPS)
        return -1;
    c->groups[c->n_groups].opts = opts;
    c->groups[c->n_groups].key = key;
    return c->n_groups++;
}

/* Who is scaled, from what params, counting which nodes: --target/--configmap (one source, one
 * group), or every entry of --targets-file. */
static int setup_targets(struct controller *c, char *err, size_t errlen)
{
    const struct propscaler_config *cfg = c->cfg;
    if (!cfg->targets_file) {
        add_source(c, cfg->namespace_, cfg->configmap);
        add_group(c, &cfg->count_opts, "");
        c->n_targets = cfg->n_targets;
        for (size_t i = 0; i < cfg->n_targets; i++) {
            struct target_state *ts = &c->targets[i];
            ts->t = &cfg->targets[i];
            ts->ns = cfg->namespace_;
            ts->source = 0;
            ts->group = 0;
            ts->opts = c->plan_opts;
            ts->horizontal = true;
        }
        return 0;
    }
    if (targetsfile_load(c, &c->targets_file, err, errlen) != 0)
        return -1;
    static const enum target_kind kinds[] = {[WORKLOAD_DEPLOYMENT] = TARGET_DEPLOYMENT,
                                             [WORKLOAD_STATEFULSET] = TARGET_STATEFULSET,
                                             [WORKLOAD_REPLICASET] = TARGET_REPLICASET,
                                             [WORKLOAD_REPLICATIONCONTROLLER] = TARGET_REPLICATIONCONTROLLER};
    c->n_targets = c->targets_file.n;
    for (size_t i = 0; i < c->targets_file.n; i++) {
        struct target_config *tc = &c->targets_file.targets[i];
        struct target_state *ts = &c->targets[i];
        tc->nodes.legacy_schedulable = cfg->count_opts.legacy_schedulable; /* the flags' counting rule */
        c->file_targets[i] = (struct scale_target){.kind = kinds[tc->kind], .name = tc->name, .ns = tc->ns};
        ts->t = &c->file_targets[i];
        ts->tc = tc;
        ts->ns = tc->ns;
        ts->horizontal = tc->replicas != REPLICAS_NONE;
        ts->source = tc->replicas == REPLICAS_CONFIGMAP ? add_source(c, tc->ns, tc->configmap) : -1;
        ts->group = add_group(c, &tc->nodes, tc->filter_key);
        if (tc->replicas == REPLICAS_CONFIGMAP && ts->source < 0) {
            snprintf(err, errlen, "--targets-file: %s: more than %d params ConfigMaps", tc->label, MAX_SOURCES);
            return -1;
        }
        if (ts->group < 0) {
            snprintf(err, errlen, "--targets-file: %s: more than %d different node filters", tc->label, MAX_GROUPS);
            return -1;
        }
        ts->opts = c->plan_opts;
        ts->opts.guard = tc->guard;
        ts->opts.placement_warn_only = tc->placement_warn_only;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */

static void leadership_changed(void *ctx, bool leading)
{
    struct controller *c = ctx;
    /* whatever was written while another replica led was written by a propscaler holding the
     * Lease: it must never count as a foreign writer, and a back-off from a fight is the old
     * term's */
    for (size_t i = 0; i < c->n_targets; i++)
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
    /* gzip: the flag, given either way, decides; otherwise a kubeconfig's disable-compression
     * (client-go's default: gzip), and in-cluster none — on the cluster's own network compression
     * costs CPU on both ends (the API server's most) and saves no time, which is why
     * kube-controller-manager and kube-scheduler turn it off (kubernetes/kubernetes#80919) */
    bool in_cluster = !(cfg->kubeconfig && cfg->kubeconfig[0]);
    if (cfg->disable_compression_set)
        c->ep.disable_compression = cfg->disable_compression;
    else if (in_cluster)
        c->ep.disable_compression = true;
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
    if (setup_targets(c, err, errlen) != 0) {
        controller_free(c);
        return NULL;
    }
    for (size_t i = 0; i < c->n_targets; i++) {
        struct target_state *ts = &c->targets[i];
        ts->c = c;
        const char *group_path = ts->t->kind == TARGET_REPLICATIONCONTROLLER ? "/api/v1" : "/apis/apps/v1";
        static const char *plural[] = {"deployments", "replicasets", "replicationcontrollers", "statefulsets"};
        snprintf(ts->path, sizeof ts->path, "%s/namespaces/%s/%s/%s/scale", group_path, ts->ns,
                 plural[ts->t->kind], ts->t->name);
        snprintf(ts->object_path, sizeof ts->object_path, "%s/namespaces/%s/%s/%s", group_path, ts->ns,
                 plural[ts->t->kind], ts->t->name);
        planner_vtarget_init(&ts->vplan);
        placement_rules_init(&ts->rules);
        ev_init(&ts->hot_timer, hotspots_timer_cb);
        ts->hot_timer.data = ts;
    }
    struct reflector_opts no = {.name = "nodes", .path = "/api/v1/nodes", .label_selector = cfg->nodelabels,
                                .list_kind = "NodeList", .max_items = cfg->max_list_items};
    c->nodes_ref = reflector_new(loop, c->client, &no, &inputs_node_sink, c);
    for (int i = 0; i < c->n_sources; i++) {
        struct params_source *src = &c->sources[i];
        struct reflector_opts co = {.name = "configmap", .path = src->path, .field_selector = src->field,
                                    .list_kind = "ConfigMapList", .max_items = cfg->max_list_items};
        src->ref = reflector_new(loop, c->client, &co, &inputs_cm_sink, src);
    }
    for (size_t i = 0; i < c->n_targets; i++) {
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
            snprintf(lease_name, sizeof lease_name, "propscaler%s%s", cfg->configmap ? "-" : "",
                     cfg->configmap ? cfg->configmap : "");
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
    if (c->cfg->targets_file)
        LOG_INFO("propscaler %s: sizing %zu target(s) from %s (%d params ConfigMap(s), %d node filter(s))%s, API "
                 "server %s", PROPSCALER_VERSION, c->n_targets, c->cfg->targets_file, c->n_sources, c->n_groups,
                 c->cfg->dry_run ? " (dry run: nothing is written)" : "", c->ep.server);
    else
        LOG_INFO("propscaler %s: scaling %zu target(s) in %s from ConfigMap %s%s, API server %s", PROPSCALER_VERSION,
                 c->n_targets, c->cfg->namespace_, c->cfg->configmap,
                 c->cfg->dry_run ? " (dry run: nothing is written)" : "", c->ep.server);
    for (int i = 0; i < c->n_sources; i++)
        reflector_start(c->sources[i].ref);
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
    for (int i = 0; i < c->n_sources; i++)
        reflector_stop(c->sources[i].ref);
    if (c->create_req) {
        kreq_cancel(c->create_req);
        c->create_req = NULL;
    }
    bool was_running = c->reconcile_running;
    for (size_t i = 0; i < c->n_targets; i++) {
        struct target_state *ts = &c->targets[i];
        podwatch_free(ts->pods);
        ts->pods = NULL;
        ev_timer_stop(c->loop, &ts->hot_timer);
        if (ts->req && !ts->writing) {
            kreq_cancel(ts->req);
            ts->req = NULL;
            reconcile_finish_target(c, ts, "stopping"); /* the last one ends the reconcile, then the stop */
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
    for (size_t i = 0; i < c->n_targets; i++) {
        placement_rules_release(&c->targets[i].rules);
        podwatch_free(c->targets[i].pods);
        ev_timer_stop(c->loop, &c->targets[i].hot_timer);
    }
    leader_free(c->leader);
    reflector_free(c->nodes_ref);
    for (int i = 0; i < c->n_sources; i++) {
        reflector_free(c->sources[i].ref);
        cm_data_release(&c->sources[i].cm);
        params_release(&c->sources[i].params);
    }
    kclient_free(c->client);
    for (int g = 0; g < c->n_groups; g++) { /* group 0's are c->nodes and c->staging */
        node_set_free(c->groups[g].nodes);
        node_set_free(c->groups[g].staging);
    }
    targets_config_release(&c->targets_file);
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
