/* The node-removal webhook's decisions (--node-guard). A review arrives on the webhook's HTTP
 * thread; it is decided on the loop thread, which owns the API client: the shared ledger (the
 * ConfigMap propscaler-node-removals in the controller's namespace: every removal any replica
 * admitted within the window) is read, merged into the local counts, the rule decides, and an
 * admitted removal is written back with the ledger's resourceVersion as a precondition before
 * the answer goes out. Two replicas admitting at once: one write conflicts (409), re-reads and
 * decides again, so together they never admit past the budget. The HTTP thread waits for the
 * verdict (bounded: an API server too slow to answer means a refusal in enforce mode). The node
 * counts, departures and overrides come from the loop thread too (inputs.c); all shared state is
 * under c->ng_mu. Events are posted from the loop. See controller_internal.h. */
#define _DEFAULT_SOURCE
#include "controller_internal.h"

#include "admission.h"

static void next_review(struct controller *c);

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
        output_object_event(c, "default", "v1", "Node", batch[i].node, batch[i].uid, NULL, batch[i].refused ? "Warning" : "Normal",
                            batch[i].refused ? "NodeRemovalRefused" : "NodeRemovalAdmitted", batch[i].message);
    next_review(c);
}

void removals_init(struct controller *c)
{
    pthread_mutex_init(&c->ng_mu, NULL);
    pthread_cond_init(&c->ng_cv, NULL);
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
    /* the webhook stopped first (propscaler.c): no HTTP thread waits any more */
    while (c->ng_queue) {
        struct removal_review *next = c->ng_queue->next;
        free(c->ng_queue);
        c->ng_queue = next;
    }
    if (c->ng_active && c->ng_active->abandoned)
        free(c->ng_active);
    nodeguard_release(&c->ng);
    pthread_cond_destroy(&c->ng_cv);
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

void removals_stopping(struct controller *c)
{
    pthread_mutex_lock(&c->ng_mu);
    c->ng_stopping = true;
    pthread_cond_broadcast(&c->ng_cv);
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

/* ------------------------------------------------------------------------------------------ */
/* The shared ledger, on the loop thread                                                        */

#define LEDGER_NAME "propscaler-node-removals"
#define LEDGER_ATTEMPTS 5
#define REVIEW_WAIT_S 8.0 /* under the shipped timeoutSeconds (10) */

static void ledger_read(struct controller *c);

/* Under ng_mu: the review's verdict is in; wake its HTTP thread (or free it, if it gave up). */
static void finish_locked(struct controller *c, struct removal_review *rv, bool refused, const char *reason)
{
    rv->refused = refused;
    snprintf(rv->reason, sizeof rv->reason, "%s", reason);
    rv->done = true;
    c->ng_active = NULL;
    if (rv->abandoned)
        free(rv);
    else
        pthread_cond_broadcast(&c->ng_cv);
}

static void finish(struct controller *c, struct removal_review *rv, bool refused, const char *reason)
{
    pthread_mutex_lock(&c->ng_mu);
    finish_locked(c, rv, refused, reason);
    pthread_mutex_unlock(&c->ng_mu);
    ev_async_send(c->loop, &c->ng_async); /* the next review, and the Events */
}

static void ledger_written(void *ctx, const struct kresp *resp)
{
    struct controller *c = ctx;
    struct removal_review *rv = c->ng_active;
    if (resp->status == 409 && ++rv->attempts < LEDGER_ATTEMPTS) {
        ledger_read(c); /* another replica wrote first: read, decide again */
        return;
    }
    if (resp->status < 200 || resp->status > 299) {
        char what[400], reason[900];
        kresp_describe(resp, what, sizeof what);
        snprintf(reason, sizeof reason, "refusing to remove node %s: the removal could not be recorded in the shared "
                 "ledger ConfigMap %s/%s (%s%s%s); every replica must see it before it may go", rv->req.node,
                 c->cfg->namespace_, LEDGER_NAME, resp->status == 409 ? "too many concurrent removals; " : "",
                 resp->err && resp->err[0] ? resp->err : "", what);
        finish(c, rv, true, reason);
        return;
    }
    pthread_mutex_lock(&c->ng_mu);
    nodeguard_note_removal(&c->ng, &c->ng_opts, ev_time(), rv->req.node, rv->at);
    finish_locked(c, rv, rv->decided_refused, rv->decided_reason);
    pthread_mutex_unlock(&c->ng_mu);
    ev_async_send(c->loop, &c->ng_async);
}

/* The ledger as a ConfigMap: data.removals = {"node": unix time, ...}, the window's removals. */
static char *ledger_object(struct controller *c, const char *rv_text, const char *add, double at)
{
    cJSON *cm = cJSON_CreateObject();
    cJSON_AddStringToObject(cm, "apiVersion", "v1");
    cJSON_AddStringToObject(cm, "kind", "ConfigMap");
    cJSON *md = cJSON_AddObjectToObject(cm, "metadata");
    cJSON_AddStringToObject(md, "name", LEDGER_NAME);
    cJSON_AddStringToObject(md, "namespace", c->cfg->namespace_);
    if (rv_text)
        cJSON_AddStringToObject(md, "resourceVersion", rv_text);
    cJSON *removals = cJSON_CreateObject();
    pthread_mutex_lock(&c->ng_mu);
    const struct nodeguard_removal *list;
    size_t n = nodeguard_removals(&c->ng, &c->ng_opts, ev_time(), &list);
    for (size_t i = 0; i < n; i++)
        cJSON_AddNumberToObject(removals, list[i].name, list[i].t);
    pthread_mutex_unlock(&c->ng_mu);
    if (!cJSON_GetObjectItemCaseSensitive(removals, add))
        cJSON_AddNumberToObject(removals, add, at);
    char *text = cJSON_PrintUnformatted(removals);
    cJSON_Delete(removals);
    cJSON_AddStringToObject(cJSON_AddObjectToObject(cm, "data"), "removals", text ? text : "{}");
    free(text);
    char *out = cJSON_PrintUnformatted(cm);
    cJSON_Delete(cm);
    return out;
}

static void ledger_got(void *ctx, const struct kresp *resp)
{
    struct controller *c = ctx;
    struct removal_review *rv = c->ng_active;
    cJSON *cm = NULL;
    if (resp->status == 200)
        cm = cJSON_ParseWithLength(resp->body, resp->len);
    if ((resp->status != 200 && resp->status != 404) || (resp->status == 200 && !cm)) {
        char what[400], reason[900];
        kresp_describe(resp, what, sizeof what);
        snprintf(reason, sizeof reason, "refusing to remove node %s: the shared ledger ConfigMap %s/%s cannot be read "
                 "(%s%s), so the removals of the other replicas are unknown", rv->req.node, c->cfg->namespace_,
                 LEDGER_NAME, resp->err && resp->err[0] ? resp->err : "", what);
        finish(c, rv, true, reason);
        return;
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(cm, "metadata");
    const cJSON *rvj = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(cm, "data"), "removals");
    cJSON *removals = cJSON_IsString(data) ? cJSON_Parse(data->valuestring) : NULL;
    double now = ev_time();
    rv->at = now;
    pthread_mutex_lock(&c->ng_mu);
    const cJSON *e;
    cJSON_ArrayForEach(e, removals) if (cJSON_IsNumber(e) && e->string) nodeguard_note_removal(&c->ng, &c->ng_opts, now, e->string, e->valuedouble);
    cJSON_Delete(removals);
    struct nodeguard_numbers nums;
    enum nodeguard_verdict v = nodeguard_decide(&c->ng, &c->ng_opts, now, rv->req.node, rv->req.node_override, false,
                                                &nums, rv->decided_reason, sizeof rv->decided_reason);
    rv->decided_refused = v == NODEGUARD_REFUSE;
    rv->repeat = nums.repeat;
    bool record = !rv->req.dry_run && !nums.repeat && (!rv->decided_refused || c->cfg->node_guard_warn);
    if (!record) {
        finish_locked(c, rv, rv->decided_refused, rv->decided_reason);
        pthread_mutex_unlock(&c->ng_mu);
        cJSON_Delete(cm);
        ev_async_send(c->loop, &c->ng_async);
        return;
    }
    pthread_mutex_unlock(&c->ng_mu);
    char *body = ledger_object(c, cJSON_IsString(rvj) ? rvj->valuestring : NULL, rv->req.node, now);
    cJSON_Delete(cm);
    char path[512];
    bool create = resp->status == 404;
    if (create)
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", c->cfg->namespace_);
    else
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/%s", c->cfg->namespace_, LEDGER_NAME);
    struct kreq_opts o = {.method = create ? "POST" : "PUT", .path = path, .body = body, .timeout_s = 4};
    /* a create that finds it already made answers 409 too: read again */
    if (body)
        kclient_request(c->client, &o, NULL, ledger_written, c);
    else
        finish(c, rv, true, "refusing: out of memory writing the ledger");
    free(body);
}

static void ledger_read(struct controller *c)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/%s", c->cfg->namespace_, LEDGER_NAME);
    struct kreq_opts o = {.method = "GET", .path = path, .timeout_s = 4};
    kclient_request(c->client, &o, NULL, ledger_got, c);
}

/* The async callback's other half: start the next queued review when none is in flight. */
static void next_review(struct controller *c)
{
    pthread_mutex_lock(&c->ng_mu);
    struct removal_review *rv = NULL;
    if (!c->ng_active && c->ng_queue) {
        rv = c->ng_queue;
        c->ng_queue = rv->next;
        if (rv->abandoned) { /* its HTTP thread gave up before it was started */
            free(rv);
            rv = NULL;
        } else {
            c->ng_active = rv;
        }
    }
    bool more = !c->ng_active && c->ng_queue;
    pthread_mutex_unlock(&c->ng_mu);
    if (rv)
        ledger_read(c);
    else if (more)
        ev_async_send(c->loop, &c->ng_async);
}

/* ------------------------------------------------------------------------------------------ */
/* The review, on the webhook's HTTP thread                                                     */

char *controller_review_node_removal(void *ctx, const char *body, size_t len, int *status)
{
    struct controller *c = ctx;
    struct admission_request req;
    char err[600];
    if (admission_request_parse(body, len, &req, err, sizeof err) != 0) {
        LOG_WARN("node-guard: a bad AdmissionReview (400): %s", err);
        *status = 400;
        char *text = malloc(strlen(err) + 64);
        if (text)
            sprintf(text, "bad AdmissionReview: %s", err);
        return text;
    }
    *status = 200;
    if (!req.removal) {
        LOG_V(2, "node-guard: admitted %s of %s%s%s%s/%s: not a node removal", req.operation,
              admission_subject_name(req.subject), req.sub_resource[0] ? " (" : "", req.sub_resource,
              req.sub_resource[0] ? ")" : "", req.name);
        LOG_V(4, "node-guard: the review: %.*s", (int)(len > 4000 ? 4000 : len), body);
        return admission_response(req.uid, true, NULL, NULL);
    }
    const char *what = req.mark[0] ? "marking" : "deleting";
    char subject[600], reason[1200], message[1400];
    if (req.subject == ADMISSION_NODE)
        snprintf(subject, sizeof subject, "node %s", req.node);
    else
        snprintf(subject, sizeof subject, "%s %s (node %s)", admission_subject_name(req.subject), req.name, req.node);
    bool refused = true, repeat = false;
    struct removal_review *rv = calloc(1, sizeof *rv);
    pthread_mutex_lock(&c->ng_mu);
    if (c->ng_stopping) {
        snprintf(reason, sizeof reason, "refusing to remove node %s: this propscaler replica is stopping; retry (another "
                 "replica answers)", req.node);
        free(rv);
    } else if (!c->ng_synced) {
        snprintf(reason, sizeof reason, "refusing to remove node %s: propscaler has not listed the nodes yet, so it "
                 "cannot tell an outage from a shrink; retry in a few seconds", req.node);
        free(rv);
    } else if (!rv) {
        snprintf(reason, sizeof reason, "refusing to remove node %s: out of memory", req.node);
    } else {
        rv->req = req;
        struct removal_review **tail = &c->ng_queue;
        while (*tail)
            tail = &(*tail)->next;
        *tail = rv; /* decided on the loop thread, which owns the API client (the ledger) */
        ev_async_send(c->loop, &c->ng_async);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)REVIEW_WAIT_S;
        while (!rv->done && !c->ng_stopping && pthread_cond_timedwait(&c->ng_cv, &c->ng_mu, &until) == 0)
            ;
        if (rv->done) {
            refused = rv->refused;
            repeat = rv->repeat;
            snprintf(reason, sizeof reason, "%s", rv->reason);
            free(rv);
        } else {
            if (c->ng_stopping)
                snprintf(reason, sizeof reason, "refusing to remove node %s: this propscaler replica is stopping; retry "
                         "(another replica answers)", req.node);
            else
                snprintf(reason, sizeof reason, "refusing to remove node %s: the decision took longer than %.0f s (the "
                         "API server is slow to answer, or many removals are queued); retry", req.node, REVIEW_WAIT_S);
            rv->abandoned = true; /* the loop frees it */
        }
    }
    bool warned = refused && c->cfg->node_guard_warn; /* warn mode never refuses: it says what enforce would */
    if (warned)
        c->ng.warned++;
    else if (refused)
        c->ng.refused++;
    else if (!repeat)
        c->ng.admitted++; /* nodes: a mark and then its delete are one removal */
    snprintf(message, sizeof message, "%s%s", warned ? "would refuse (warn mode, admitted): " : "", reason);
    if (refused || req.mark[0] || req.subject == ADMISSION_NODE)
        queue_event(c, &req, refused, message);
    pthread_mutex_unlock(&c->ng_mu);
    const char *by = req.username[0] ? " by " : "";
    if (refused)
        LOG_WARN("node-guard: %s %s%s%s%s: %s", what, subject, req.dry_run ? " (dry run)" : "", by, req.username, message);
    else
        LOG_INFO("node-guard: %s %s%s%s%s: %s", what, subject, req.dry_run ? " (dry run)" : "", by, req.username, reason);
    ev_async_send(c->loop, &c->ng_async);
    if (refused && !warned)
        return admission_response(req.uid, false, reason, NULL);
    return admission_response(req.uid, true, NULL, warned ? message : NULL);
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
