/* Where a target's pods run: the pod watch's per-node counts, reported when nodes hold more
 * replicas than --max-replicas-per-node or than a per-VM DNS rate allows. See controller_internal.h. */
#define _DEFAULT_SOURCE
#include "controller_internal.h"

/* spec.selector as label-selector text for the pods watch. */
void hotspots_selector_text(const cJSON *sel, char *out, size_t len)
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


/* Report nodes holding too many replicas (and too much DNS traffic) when that set changes. */
static void evaluate_hotspots(struct controller *c, struct target_state *ts)
{
    size_t n = podwatch_pods(ts->pods);
    struct node_load *load = malloc((n ? n : 1) * sizeof *load);
    if (!load)
        return;
    size_t nodes = podwatch_load(ts->pods, load, n ? n : 1);
    struct hotspot_opts o = {.max_replicas_per_node = c->cfg->max_replicas_per_node,
                             .dns_qps_node_limit = c->cfg->dns_qps_node_limit, .qps_per_replica = c->cfg->qps_per_replica};
    struct hotspot_report h;
    placement_hotspots(load, nodes < n ? nodes : n, ts->rules_known && ts->rules.any_anti, &o, &h);
    int limit = h.limit, over = h.over_limit, over_qps = h.over_qps;
    pthread_mutex_lock(&c->mu);
    ts->busiest = h.busiest;
    ts->over_limit = over;
    ts->over_qps = over_qps;
    pthread_mutex_unlock(&c->mu);
    if (strcmp(h.offenders, ts->piled) != 0) {
        if (over || over_qps) {
            char note[900];
            int k = snprintf(note, sizeof note, "%d node(s) hold more than %d replica%s of %s/%s (node replicas: %s)",
                             over, limit, limit == 1 ? "" : "s", target_kind_name(ts->t->kind), ts->t->name, h.offenders);
            if (over_qps && k > 0 && (size_t)k < sizeof note)
                snprintf(note + k, sizeof note - (size_t)k, "; %d node(s) would serve more than the %.0f QPS per-node DNS "
                         "limit at %.0f QPS per replica", over_qps, c->cfg->dns_qps_node_limit, c->cfg->qps_per_replica);
            LOG_WARN("%s: per-node DNS rate limits make this a bottleneck; spread the replicas with podAntiAffinity on "
                     "kubernetes.io/hostname", note);
            output_event(c, ts, "Warning", "ReplicasPiledUp", note);
        } else if (ts->piled[0]) {
            LOG_INFO("%s/%s: no node holds more than %d replica%s any more", target_kind_name(ts->t->kind), ts->t->name,
                     limit, limit == 1 ? "" : "s");
        }
        snprintf(ts->piled, sizeof ts->piled, "%s", h.offenders);
    }
    free(load);
}

void hotspots_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct target_state *ts = w->data;
    evaluate_hotspots(ts->c, ts);
}

void hotspots_pods_changed(void *ctx)
{
    struct target_state *ts = ctx;
    ev_timer_stop(ts->c->loop, &ts->hot_timer);
    ev_timer_set(&ts->hot_timer, 0.5, 0.);
    ev_timer_start(ts->c->loop, &ts->hot_timer);
}
