/* /healthz, /readyz, /last-poll and /metrics, called from the HTTP thread: everything they read
 * of the loop's state is read under c->mu (reflector and client counters excepted: a torn read of
 * a counter is harmless). See controller_internal.h. */
#define _DEFAULT_SOURCE
#include "controller_internal.h"

#include <dirent.h>
#include <sys/resource.h>

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
    int n;
    if (code == 500)
        n = snprintf(body, len, "Encountered error at last poll cycle: %s", c->last_poll_error);
    else
        n = snprintf(body, len, "ok");
    /* --targets-file: why its current content is not in force, then a line per target */
    if (c->cfg->targets_file && c->targets_error[0] && n > 0 && (size_t)n < len) {
        int m = snprintf(body + n, len - (size_t)n, "\n%s", c->targets_error);
        n = m > 0 ? n + m : n;
    }
    for (size_t i = 0; c->cfg->targets_file && i < c->n_targets && n > 0 && (size_t)n < len; i++) {
        const struct target_state *ts = &c->targets[i];
        int m = snprintf(body + n, len - (size_t)n, "\n%s: %s", ts->tc->label, ts->last_error[0] ? ts->last_error : "ok");
        if (m < 0)
            break;
        n += m;
    }
    pthread_mutex_unlock(&c->mu);
    return code;
}

/* The per-target series of /metrics: one table, one loop (each line labelled namespace and
 * target). A value is left out where it means nothing yet: replicas before the target was
 * observed, eligible nodes without required anti-affinity, pod spread before pods were listed. */
enum target_metric_id {
    TM_DESIRED, TM_CURRENT, TM_WRITES, TM_FIGHTING, TM_GUARD_HOLDS, TM_GUARD_LIMITS, TM_GUARD_HOLDING, TM_ELIGIBLE,
    TM_CAPPED, TM_BUSIEST, TM_OVER_LIMIT, TM_OVER_QPS, TM_RESOURCE_PATCHES, TM_RESOURCE_HOLDING,
};

struct target_metric {
    enum target_metric_id which;
    const char *name, *type, *help;
};

static const struct target_metric target_metrics[] = {
    {TM_DESIRED, "propscaler_desired_replicas", "gauge", "Replicas the params ask for."},
    {TM_CURRENT, "propscaler_current_replicas", "gauge", "Replicas last seen on the target."},
    {TM_WRITES, "propscaler_target_scale_writes_total", "counter", "Replica counts written to the target."},
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
    {TM_RESOURCE_PATCHES, "propscaler_resource_patches_total", "counter",
     "Container resources written to a vertical target (each one rolls every pod)."},
    {TM_RESOURCE_HOLDING, "propscaler_resource_guard_holding", "gauge",
     "1 while the guard holds a vertical target's resources (an outage-like node loss)."},
    {TM_OVER_QPS, "propscaler_nodes_over_dns_qps_limit", "gauge",
     "Nodes whose replicas would exceed --dns-qps-per-node-limit."},
};

static bool target_metric_value(const struct target_state *t, enum target_metric_id which, double now, long long *v)
{
    switch (which) {
    case TM_DESIRED: *v = t->plan.desired; return t->observed && t->horizontal;
    case TM_CURRENT: *v = t->current; return t->observed && t->horizontal;
    case TM_WRITES: *v = (long long)t->writes; return true;
    case TM_FIGHTING: *v = now < t->plan.fighting_until; return true;
    case TM_GUARD_HOLDS: *v = (long long)t->plan.guard_holds; return true;
    case TM_GUARD_LIMITS: *v = (long long)t->plan.guard_limits; return true;
    case TM_GUARD_HOLDING: *v = t->plan.held ? 1 : 0; return true;
    case TM_ELIGIBLE: *v = (long long)t->eligible; return t->rules_known && t->rules.required_anti;
    case TM_CAPPED: *v = t->plan.capped ? 1 : 0; return true;
    case TM_BUSIEST: *v = t->busiest; return t->pods != NULL;
    case TM_OVER_LIMIT: *v = t->over_limit; return t->pods != NULL;
    case TM_OVER_QPS: *v = t->over_qps; return t->pods != NULL;
    case TM_RESOURCE_PATCHES: *v = (long long)t->rollouts; return t->tc && t->tc->vertical;
    case TM_RESOURCE_HOLDING: *v = t->vplan.held ? 1 : 0; return t->tc && t->tc->vertical;
    }
    return false;
}

/* The process_* series every Prometheus client library exports (from /proc/self). */
static void process_metrics(struct buf *b)
{
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    char stat[1024] = "";
    FILE *f = fopen("/proc/self/stat", "r");
    if (f) {
        if (!fgets(stat, sizeof stat, f))
            stat[0] = '\0';
        fclose(f);
    }
    /* fields after "(comm)": state is field 3; utime 14, stime 15, starttime 22, vsize 23, rss 24 */
    const char *p = strrchr(stat, ')');
    unsigned long long utime = 0, stime = 0, start = 0, vsize = 0, rss = 0;
    if (p && tick > 0 &&
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %llu",
               &utime, &stime, &start, &vsize, &rss) == 5) {
        double boot = 0;
        FILE *s = fopen("/proc/stat", "r");
        char line[256];
        while (s && fgets(line, sizeof line, s))
            if (sscanf(line, "btime %lf", &boot) == 1)
                break;
        if (s)
            fclose(s);
        buf_printf(b, "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total %.2f\n",
                   (double)(utime + stime) / (double)tick);
        buf_printf(b, "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes %llu\n",
                   rss * (unsigned long long)page);
        buf_printf(b, "# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes %llu\n", vsize);
        buf_printf(b, "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.\n# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds %.2f\n",
                   boot + (double)start / (double)tick);
    }
    int fds = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        fds += e->d_name[0] != '.';
    if (d) {
        closedir(d);
        fds--; /* the one opendir used */
        buf_printf(b, "# HELP process_open_fds Number of open file descriptors.\n# TYPE process_open_fds gauge\nprocess_open_fds %d\n", fds);
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
        buf_printf(b, "# HELP process_max_fds Maximum number of open file descriptors.\n# TYPE process_max_fds gauge\nprocess_max_fds %llu\n",
                   (unsigned long long)rl.rlim_cur);
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
    buf_printf(&b, "# HELP propscaler_node_decodes_total Node objects read from LIST pages and watch events, by decoder: direct (from the bytes, no tree) or tree (cJSON: what the direct decoder declines, and every node under --record).\n# TYPE propscaler_node_decodes_total counter\npropscaler_node_decodes_total{decoder=\"direct\"} %lu\npropscaler_node_decodes_total{decoder=\"tree\"} %lu\n",
               c->nodes_decoded_direct, c->nodes_decoded_tree);
    buf_printf(&b, "# HELP propscaler_decisions_skipped_total Node event bursts that changed no input of the decision (counts, params, eligibility, leadership): no request made.\n# TYPE propscaler_decisions_skipped_total counter\npropscaler_decisions_skipped_total %lu\n", c->decisions_skipped);
    buf_printf(&b, "# HELP propscaler_reconcile_errors_total Reconciles that failed.\n# TYPE propscaler_reconcile_errors_total counter\npropscaler_reconcile_errors_total %lu\n", c->reconcile_errors);
    buf_printf(&b, "# HELP propscaler_scale_writes_total Replica counts written.\n# TYPE propscaler_scale_writes_total counter\npropscaler_scale_writes_total %lu\n", c->scale_writes);
    buf_printf(&b, "# HELP propscaler_conflicts_total 409 conflicts on scale writes.\n# TYPE propscaler_conflicts_total counter\npropscaler_conflicts_total %lu\n", c->conflicts);
    buf_printf(&b, "# HELP propscaler_last_success_timestamp_seconds Time of the last successful reconcile.\n# TYPE propscaler_last_success_timestamp_seconds gauge\npropscaler_last_success_timestamp_seconds %.3f\n", c->last_success);
    buf_printf(&b, "# HELP propscaler_leader 1 when this instance may write: it holds the Lease (lease=\"NAMESPACE/NAME\"), or runs without --leader-elect (lease=\"\").\n# TYPE propscaler_leader gauge\npropscaler_leader{lease=\"%s\"} %d\n",
               c->leader ? c->lease_label : "", c->leader ? leader_is_leading(c->leader) : 1);
    buf_printf(&b, "# HELP propscaler_reconcile_duration_seconds Time from a reconcile's start to its last target's answer.\n# TYPE propscaler_reconcile_duration_seconds histogram\n");
    promhist_print(&b, "propscaler_reconcile_duration_seconds", "", &c->reconcile_seconds);
    double now = ev_now(c->loop);
    for (size_t m = 0; m < sizeof target_metrics / sizeof *target_metrics; m++) {
        const struct target_metric *tm = &target_metrics[m];
        buf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", tm->name, tm->help, tm->name, tm->type);
        for (size_t i = 0; i < c->n_targets; i++) {
            long long v;
            if (target_metric_value(&c->targets[i], tm->which, now, &v))
                buf_printf(&b, "%s{namespace=\"%s\",target=\"%s/%s\"} %lld\n", tm->name, c->targets[i].ns,
                           target_kind_name(c->targets[i].t->kind), c->targets[i].t->name, v);
        }
    }
    bool params_valid = true;
    for (int i = 0; i < c->n_sources; i++)
        params_valid = params_valid && !c->sources[i].error[0];
    if (c->cfg->targets_file)
        buf_printf(&b, "# HELP propscaler_targets_file_valid 1 when the targets file's content is in force, 0 when a change of it was refused (the last good config stays).\n# TYPE propscaler_targets_file_valid gauge\npropscaler_targets_file_valid %d\n",
                   c->targets_error[0] ? 0 : 1);
    buf_printf(&b, "# HELP propscaler_params_valid 1 when the params ConfigMap(s) parse, 0 when the last good params are in force.\n# TYPE propscaler_params_valid gauge\npropscaler_params_valid %d\n", params_valid ? 1 : 0);
    pthread_mutex_unlock(&c->mu);
    /* reflector and client counters are only written by the loop thread; a torn read of a
     * counter is harmless for monitoring. The ConfigMaps' reflectors count together. */
    unsigned long relists[2] = {reflector_stats(c->nodes_ref)->relists, 0},
                  restarts[2] = {reflector_stats(c->nodes_ref)->watch_restarts, 0},
                  events[2] = {reflector_stats(c->nodes_ref)->events, 0},
                  pages[2] = {reflector_stats(c->nodes_ref)->list_pages, 0},
                  ahead[2] = {reflector_stats(c->nodes_ref)->list_pages_ahead, 0};
    for (int i = 0; i < c->n_sources; i++) {
        relists[1] += reflector_stats(c->sources[i].ref)->relists;
        restarts[1] += reflector_stats(c->sources[i].ref)->watch_restarts;
        events[1] += reflector_stats(c->sources[i].ref)->events;
        pages[1] += reflector_stats(c->sources[i].ref)->list_pages;
        ahead[1] += reflector_stats(c->sources[i].ref)->list_pages_ahead;
    }
    const char *names[2] = {"nodes", "configmap"};
    buf_printf(&b, "# HELP propscaler_relists_total LISTs after the first (410 Expired or errors).\n# TYPE propscaler_relists_total counter\n");
    for (int i = 0; i < 2; i++)
        buf_printf(&b, "propscaler_relists_total{resource=\"%s\"} %lu\n", names[i], relists[i]);
    buf_printf(&b, "# HELP propscaler_list_pages_total LIST pages read whole.\n# TYPE propscaler_list_pages_total counter\n");
    for (int i = 0; i < 2; i++)
        buf_printf(&b, "propscaler_list_pages_total{resource=\"%s\"} %lu\n", names[i], pages[i]);
    buf_printf(&b, "# HELP propscaler_list_pages_ahead_total LIST pages asked for while the page before them was still arriving (its continue token read from its head).\n# TYPE propscaler_list_pages_ahead_total counter\n");
    for (int i = 0; i < 2; i++)
        buf_printf(&b, "propscaler_list_pages_ahead_total{resource=\"%s\"} %lu\n", names[i], ahead[i]);
    buf_printf(&b, "# HELP propscaler_watch_restarts_total Watches started again.\n# TYPE propscaler_watch_restarts_total counter\n");
    for (int i = 0; i < 2; i++)
        buf_printf(&b, "propscaler_watch_restarts_total{resource=\"%s\"} %lu\n", names[i], restarts[i]);
    buf_printf(&b, "# HELP propscaler_watch_events_total Watch events received.\n# TYPE propscaler_watch_events_total counter\n");
    for (int i = 0; i < 2; i++)
        buf_printf(&b, "propscaler_watch_events_total{resource=\"%s\"} %lu\n", names[i], events[i]);
    const struct kclient_stats *ks = kclient_stats(c->client);
    buf_printf(&b, "# HELP propscaler_api_requests_total API requests, by verb, resource and status code (code=\"<error>\": no answer).\n# TYPE propscaler_api_requests_total counter\n");
    int rows = __atomic_load_n(&ks->n_counts, __ATOMIC_ACQUIRE);
    for (int i = 0; i < rows; i++) {
        const struct kclient_count *row = &ks->counts[i];
        char code[16];
        snprintf(code, sizeof code, row->code > 0 ? "%d" : row->code < 0 ? "other" : "<error>", row->code);
        buf_printf(&b, "propscaler_api_requests_total{verb=\"%s\",resource=\"%s\",code=\"%s\"} %lu\n",
                   kclient_verb_name(row->verb), row->resource, code, row->n);
    }
    buf_printf(&b, "# HELP propscaler_api_request_duration_seconds Latency of non-watch API requests, by verb.\n# TYPE propscaler_api_request_duration_seconds histogram\n");
    for (int v = 0; v < KV_N; v++) {
        if (v == KV_WATCH)
            continue;
        char labels[32];
        snprintf(labels, sizeof labels, "verb=\"%s\"", kclient_verb_name((enum kclient_verb)v));
        promhist_print(&b, "propscaler_api_request_duration_seconds", labels, &ks->latency[v]);
    }
    removals_metrics(c, &b);
    buf_printf(&b, "# HELP propscaler_api_received_bytes_total Bytes received from the API server.\n# TYPE propscaler_api_received_bytes_total counter\npropscaler_api_received_bytes_total %lu\n", ks->bytes_received);
    buf_printf(&b, "# HELP propscaler_exec_plugin_runs_total Tokens got from the kubeconfig's exec credential plugin.\n# TYPE propscaler_exec_plugin_runs_total counter\npropscaler_exec_plugin_runs_total %lu\n", ks->exec_runs);
    buf_printf(&b, "# HELP propscaler_api_handles_reused_total API requests made on a finished request's libcurl handle (reset, not rebuilt).\n# TYPE propscaler_api_handles_reused_total counter\npropscaler_api_handles_reused_total %lu\n", ks->handles_reused);
    process_metrics(&b);
    buf_printf(&b, "# HELP propscaler_build_info The running build.\n# TYPE propscaler_build_info gauge\npropscaler_build_info{version=\"%s\"} 1\n", PROPSCALER_VERSION);
    return buf_take(&b);
}
