/* The node-removal webhook's decisions (--node-guard): the review runs on the webhook's HTTP
 * thread; the node counts, departures and overrides come from the loop thread (inputs.c); both
 * under c->ng_mu. Events cannot be posted from the HTTP thread (the API client belongs to the
 * loop), so decisions are queued and an ev_async wakes the loop to post them. See
 * controller_internal.h. */
#define _DEFAULT_SOURCE
#include "controller_internal.h"

#include "admission.h"

static void post_events(struct ev_loop *loop, ev_async *w, int revents)
{
    (void)loop;
    (void)revents;
    struct controller *c = w->data;
    struct removal_event batch[REMOVAL_EVENTS];
    pthread_mutex_lock(&c->ng_mu);
    int n = c->ng_n_events;
    memcpy(batch, c->ng_events, (size_t)n * sizeof *batch);
    c->ng_n_events = 0;
    pthread_mutex_unlock(&c->ng_mu);
    for (int i = 0; i < n; i++)
        output_object_event(c, "default", "v1", "Node", batch[i].node, batch[i].uid, batch[i].refused ? "Warning" : "Normal",
                            batch[i].refused ? "NodeRemovalRefused" : "NodeRemovalAdmitted", batch[i].message);
}

void removals_init(struct controller *c)
{
    pthread_mutex_init(&c->ng_mu, NULL);
    nodeguard_init(&c->ng);
    nodeguard_opts_default(&c->ng_opts);
    c->ng_opts.max_node_loss = c->cfg->guard.max_node_loss;
    c->ng_opts.window_s = c->cfg->guard.window_s;
    c->ng_opts.settle_s = c->cfg->guard.settle_s;
    c->ng_opts.min_absolute = c->cfg->guard.min_absolute;
    ev_async_init(&c->ng_async, post_events);
    c->ng_async.data = c;
    if (c->cfg->node_guard)
        ev_async_start(c->loop, &c->ng_async);
}

void removals_free(struct controller *c)
{
    ev_async_stop(c->loop, &c->ng_async);
    nodeguard_release(&c->ng);
    pthread_mutex_destroy(&c->ng_mu);
}

void removals_observe(struct controller *c, enum watch_event_type type, const char *name)
{
    if (!c->cfg->node_guard || !c->nodes)
        return;
    struct cluster_summary s;
    node_set_summary(c->nodes, &s);
    double now = ev_time();
    pthread_mutex_lock(&c->ng_mu);
    if (name && type == WEV_DELETED)
        nodeguard_node_gone(&c->ng, &c->ng_opts, now, name);
    else if (name && type == WEV_ADDED)
        nodeguard_node_back(&c->ng, name);
    nodeguard_observe(&c->ng, &c->ng_opts, now, s.total_nodes, s.ready_nodes);
    c->ng_synced = true;
    pthread_mutex_unlock(&c->ng_mu);
}

void removals_override(struct controller *c)
{
    pthread_mutex_lock(&c->ng_mu);
    nodeguard_override(&c->ng, ev_time());
    pthread_mutex_unlock(&c->ng_mu);
}

static void queue_event(struct controller *c, const struct admission_request *r, bool refused, const char *message)
{
    if (c->ng_n_events == REMOVAL_EVENTS) {
        c->ng_events_dropped++; /* the log line and the metrics still say it */
        return;
    }
    struct removal_event *e = &c->ng_events[c->ng_n_events++];
    snprintf(e->node, sizeof e->node, "%s", r->node);
    snprintf(e->uid, sizeof e->uid, "%s", r->node_uid);
    snprintf(e->message, sizeof e->message, "%s", message);
    e->refused = refused;
}

char *controller_review_node_removal(void *ctx, const char *body, size_t len, int *status)
{
    struct controller *c = ctx;
    struct admission_request r;
    char err[600];
    if (admission_request_parse(body, len, &r, err, sizeof err) != 0) {
        LOG_WARN("node-guard: a bad AdmissionReview (400): %s", err);
        *status = 400;
        char *text = malloc(strlen(err) + 64);
        if (text)
            sprintf(text, "bad AdmissionReview: %s", err);
        return text;
    }
    *status = 200;
    if (!r.removal)
        return admission_response(r.uid, true, NULL, NULL);
    char reason[1200], message[1400];
    struct nodeguard_numbers nums = {0};
    const char *what = r.mark[0] ? "marking" : "deleting";
    char subject[600];
    if (r.subject == ADMISSION_NODE)
        snprintf(subject, sizeof subject, "node %s", r.node);
    else
        snprintf(subject, sizeof subject, "%s %s (node %s)", admission_subject_name(r.subject), r.name, r.node);
    bool warn = c->cfg->node_guard_warn;
    pthread_mutex_lock(&c->ng_mu);
    enum nodeguard_verdict v;
    if (!c->ng_synced) {
        v = NODEGUARD_REFUSE;
        snprintf(reason, sizeof reason, "refusing to remove node %s: propscaler has not listed the nodes yet, so it "
                 "cannot tell an outage from a shrink; retry in a few seconds", r.node);
    } else {
        v = nodeguard_decide(&c->ng, &c->ng_opts, ev_time(), r.node, r.node_override, !r.dry_run, &nums, reason,
                             sizeof reason);
    }
    bool refused = v == NODEGUARD_REFUSE;
    if (refused && warn) {
        c->ng.warned++;
        if (!r.dry_run && c->ng_synced)
            nodeguard_node_gone(&c->ng, &c->ng_opts, ev_time(), r.node); /* admitted: it counts */
    } else if (refused) {
        c->ng.refused++;
    } else if (!c->ng_synced || !nums.repeat) {
        c->ng.admitted++; /* nodes: a mark and then its delete are one removal */
    }
    snprintf(message, sizeof message, "%s%s", refused && warn ? "would refuse (warn mode, admitted): " : "", reason);
    if (refused || r.mark[0] || r.subject == ADMISSION_NODE)
        queue_event(c, &r, refused, message);
    pthread_mutex_unlock(&c->ng_mu);
    const char *by = r.username[0] ? " by " : "";
    if (refused)
        LOG_WARN("node-guard: %s %s%s%s%s: %s", what, subject, r.dry_run ? " (dry run)" : "", by, r.username, message);
    else
        LOG_INFO("node-guard: %s %s%s%s%s: %s", what, subject, r.dry_run ? " (dry run)" : "", by, r.username, reason);
    ev_async_send(c->loop, &c->ng_async);
    if (refused && !warn)
        return admission_response(r.uid, false, reason, NULL);
    return admission_response(r.uid, true, NULL, refused ? message : NULL);
}

void removals_metrics(struct controller *c, struct buf *b)
{
    if (!c->cfg->node_guard)
        return;
    struct nodeguard_numbers nums;
    pthread_mutex_lock(&c->ng_mu);
    nodeguard_numbers(&c->ng, &c->ng_opts, ev_time(), &nums);
    unsigned long admitted = c->ng.admitted, refused = c->ng.refused, warned = c->ng.warned;
    unsigned long dropped = c->ng_events_dropped;
    pthread_mutex_unlock(&c->ng_mu);
    buf_printf(b, "# HELP propscaler_node_removals_admitted_total Node removals the webhook admitted within the budget.\n"
                  "# TYPE propscaler_node_removals_admitted_total counter\npropscaler_node_removals_admitted_total %lu\n",
               admitted);
    buf_printf(b, "# HELP propscaler_node_removals_refused_total Node removals the webhook refused.\n"
                  "# TYPE propscaler_node_removals_refused_total counter\npropscaler_node_removals_refused_total %lu\n",
               refused);
    buf_printf(b, "# HELP propscaler_node_removals_warned_total Node removals admitted with a warning (warn mode) that enforce mode would refuse.\n"
                  "# TYPE propscaler_node_removals_warned_total counter\npropscaler_node_removals_warned_total %lu\n",
               warned);
    buf_printf(b, "# HELP propscaler_node_removal_budget Node removals allowed within the window (share of the high-water mark).\n"
                  "# TYPE propscaler_node_removal_budget gauge\npropscaler_node_removal_budget %lld\n",
               (long long)nums.budget);
    buf_printf(b, "# HELP propscaler_node_removals_in_window Nodes removed or marked for removal within the window.\n"
                  "# TYPE propscaler_node_removals_in_window gauge\npropscaler_node_removals_in_window %lld\n",
               (long long)nums.removed);
    buf_printf(b, "# HELP propscaler_node_removal_high_water_nodes The window's high-water mark of nodes.\n"
                  "# TYPE propscaler_node_removal_high_water_nodes gauge\npropscaler_node_removal_high_water_nodes %lld\n",
               (long long)nums.high_water);
    buf_printf(b, "# HELP propscaler_node_removal_events_dropped_total Node Events not posted (more than %d decisions between two loop turns).\n"
                  "# TYPE propscaler_node_removal_events_dropped_total counter\npropscaler_node_removal_events_dropped_total %lu\n",
               REMOVAL_EVENTS, dropped);
}
