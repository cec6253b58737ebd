/* What an operator sees of a decision: Kubernetes Events on the target (best effort, never
 * from a standby or a dry run) and the --dry-run lines (text or JSON). See controller_internal.h. */
#define _DEFAULT_SOURCE
#include "controller_internal.h"

/* --output json: one object per planned action, the fields every action has first */
static cJSON *dry_run_line(struct controller *c, struct target_state *ts, const char *action, int32_t current)
{
    cJSON *o = cJSON_CreateObject();
    char tname[320];
    snprintf(tname, sizeof tname, "%s/%s", target_kind_name(ts->t->kind), ts->t->name);
    cJSON_AddStringToObject(o, "action", action);
    cJSON_AddStringToObject(o, "target", tname);
    cJSON_AddStringToObject(o, "namespace", c->cfg->namespace_);
    cJSON_AddNumberToObject(o, "current", current);
    return o;
}

static void print_dry_run_line(cJSON *o)
{
    cJSON_AddBoolToObject(o, "dryRun", true);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    printf("%s\n", text ? text : "{}");
    cJSON_free(text);
}

void output_plan(struct controller *c, struct target_state *ts, const struct plan *plan)
{
    char why[512];
    struct replica_calc shown = plan->calc;
    shown.replicas = plan->replicas; /* the rule's numbers, the plan's answer */
    replicas_explain(&c->params, &shown, why, sizeof why);
    int32_t current = plan->current;
    const struct replica_calc *calc = &shown;
    const struct cluster_summary *s = &c->summary;
    if (c->cfg->output_json) {
        cJSON *o = dry_run_line(c, ts, "scale", current);
        cJSON_AddNumberToObject(o, "desired", calc->replicas);
        cJSON_AddNumberToObject(o, "totalNodes", (double)s->total_nodes);
        cJSON_AddNumberToObject(o, "schedulableNodes", (double)s->schedulable_nodes);
        cJSON_AddNumberToObject(o, "totalCores", (double)s->total_cores);
        cJSON_AddNumberToObject(o, "schedulableCores", (double)s->schedulable_cores);
        cJSON_AddStringToObject(o, "rule", why);
        print_dry_run_line(o);
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
void output_event(struct controller *c, struct target_state *ts, const char *type, const char *reason, const char *msg)
{
    if (c->cfg->dry_run || (c->leader && !leader_is_leading(c->leader)))
        return;
    output_object_event(c, c->cfg->namespace_, ts->t->kind == TARGET_REPLICATIONCONTROLLER ? "v1" : "apps/v1",
                        target_kind_title(ts->t->kind), ts->t->name, ts->uid, type, reason, msg);
}

/* An Event about any object: `ns` is the object's namespace, or the Event's ("default") for a
 * cluster-scoped object such as a Node. The uid lets `kubectl describe` find it. */
void output_object_event(struct controller *c, const char *ns, const char *api_version, const char *kind,
                         const char *name, const char *uid, const char *type, const char *reason, const char *msg)
{
    bool cluster_scoped = strcmp(kind, "Node") == 0;
    char ts_now[40], ev_name[400];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts_now, sizeof ts_now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(ev_name, sizeof ev_name, "%.250s.%llx", name, (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "apiVersion", "v1");
    cJSON_AddStringToObject(e, "kind", "Event");
    cJSON *m = cJSON_AddObjectToObject(e, "metadata");
    cJSON_AddStringToObject(m, "name", ev_name);
    cJSON_AddStringToObject(m, "namespace", ns);
    cJSON *io = cJSON_AddObjectToObject(e, "involvedObject");
    cJSON_AddStringToObject(io, "apiVersion", api_version);
    cJSON_AddStringToObject(io, "kind", kind);
    cJSON_AddStringToObject(io, "name", name);
    if (!cluster_scoped)
        cJSON_AddStringToObject(io, "namespace", ns);
    if (uid && uid[0])
        cJSON_AddStringToObject(io, "uid", uid);
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
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", ns);
    struct kreq_opts o = {.method = "POST", .path = path, .body = text};
    if (text)
        kclient_request(c->client, &o, NULL, event_done, c);
    free(text);
}

void output_hold(struct controller *c, struct target_state *ts, int32_t current, int32_t would, const char *reason)
{
    if (c->cfg->output_json) {
        cJSON *o = dry_run_line(c, ts, "hold", current);
        cJSON_AddNumberToObject(o, "wouldBe", would);
        cJSON_AddStringToObject(o, "reason", reason);
        print_dry_run_line(o);
    } else {
        printf("dry-run: guard holds %s/%s %s/%s at %d: %s\n", c->cfg->namespace_, ts->t->name, target_kind_name(ts->t->kind),
               ts->t->name, current, reason);
    }
    fflush(stdout);
}
