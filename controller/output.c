/* What an operator sees of a decision: Kubernetes Events on the target (best effort, never
 * from a standby or a dry run) and the --dry-run lines (text or JSON). See controller_internal.h. */
#define _DEFAULT_SOURCE
#include "controller_internal.h"

/* --output json: one object per planned action, the fields every action has first */
static cJSON *dry_run_line(struct target_state *ts, const char *action, int32_t current)
{
    cJSON *o = cJSON_CreateObject();
    char tname[320];
    snprintf(tname, sizeof tname, "%s/%s", target_kind_name(ts->t->kind), ts->t->name);
    cJSON_AddStringToObject(o, "action", action);
    cJSON_AddStringToObject(o, "target", tname);
    cJSON_AddStringToObject(o, "namespace", ts->ns);
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
    replicas_explain(inputs_target_params(ts), &shown, why, sizeof why);
    int32_t current = plan->current;
    const struct replica_calc *calc = &shown;
    const struct cluster_summary *s = &c->groups[ts->group].summary;
    if (c->cfg->output_json) {
        cJSON *o = dry_run_line(ts, "scale", current);
        cJSON_AddNumberToObject(o, "desired", calc->replicas);
        cJSON_AddNumberToObject(o, "totalNodes", (double)s->total_nodes);
        cJSON_AddNumberToObject(o, "schedulableNodes", (double)s->schedulable_nodes);
        cJSON_AddNumberToObject(o, "totalCores", (double)s->total_cores);
        cJSON_AddNumberToObject(o, "schedulableCores", (double)s->schedulable_cores);
        cJSON_AddStringToObject(o, "rule", why);
        print_dry_run_line(o);
    } else {
        printf("dry-run: would scale %s/%s %s/%s from %d to %d (nodes %lld/%lld schedulable, cores %lld/%lld; %s)\n",
               ts->ns, ts->t->name, target_kind_name(ts->t->kind), ts->t->name, current, calc->replicas,
               (long long)s->schedulable_nodes, (long long)s->total_nodes, (long long)s->schedulable_cores,
               (long long)s->total_cores, why);
    }
    fflush(stdout);
}

static void event_done(void *ctx, const struct kresp *resp)
{
    (void)ctx;
    if (resp->status < 200 || resp->status > 299) {
        char what[400];
        kresp_describe(resp, what, sizeof what);
        LOG_V(1, "posting an Event failed: %s%s%s", what, resp->err ? ": " : "", resp->err ? resp->err : "");
    }
}

static bool may_post_events(const struct controller *c)
{
    return !c->cfg->dry_run && (!c->leader || leader_is_leading(c->leader));
}

/* A Kubernetes Event on the target, in plain words. Fire and forget: Events are best effort. */
void output_event(struct controller *c, struct target_state *ts, const char *type, const char *reason, const char *msg)
{
    if (!may_post_events(c))
        return;
    output_object_event(c, ts->ns, ts->t->kind == TARGET_REPLICATIONCONTROLLER ? "v1" : "apps/v1",
                        target_kind_title(ts->t->kind), ts->t->name, ts->uid, ts->rv, type, reason, msg);
}

void output_configmap_event(struct controller *c, const struct params_source *src, const char *reason, const char *msg)
{
    if (!may_post_events(c))
        return;
    output_object_event(c, src->ns, "v1", "ConfigMap", src->name, src->uid, NULL, "Warning", reason, msg);
}

void output_vertical_plan(struct controller *c, struct target_state *ts, const struct vplan *plan)
{
    const struct vertical_policy *vp = &ts->tc->vpolicy;
    if (c->cfg->output_json) {
        cJSON *o = dry_run_line(ts, "resize", 0);
        cJSON_DeleteItemFromObjectCaseSensitive(o, "current");
        cJSON *want = vertical_answer_json(vp, &plan->answer);
        if (want)
            cJSON_AddItemToObject(o, "desired", want);
        cJSON_AddStringToObject(o, "reason", plan->why);
        print_dry_run_line(o);
    } else {
        char res[1200] = "";
        for (size_t i = 0; i < vp->n_containers; i++) {
            char one[400];
            vertical_describe(vp->containers[i].name, &plan->answer.values[i], one, sizeof one);
            size_t used = strlen(res);
            snprintf(res + used, sizeof res - used, "%s%s", i ? "; " : "", one);
        }
        printf("dry-run: would resize %s for %lld nodes, %lld cores: %s (%s)\n", ts->tc->label,
               (long long)plan->answer.nodes, (long long)plan->answer.cores, res, plan->why);
    }
    fflush(stdout);
}

static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull; /* a separator, so "ab"+"c" differs from "a"+"bc" */
}

/* A repeat's PATCH: if the first Event is gone (Events live an hour), the repeat is created anew. */
struct event_patch {
    struct controller *c;
    char ns[64];
    char *create_body;
};

static void post_event(struct controller *c, const char *ns, const char *body);

static void patch_done(void *ctx, const struct kresp *resp)
{
    struct event_patch *p = ctx;
    if (resp->status == 404 && p->create_body)
        post_event(p->c, p->ns, p->create_body);
    else
        event_done(p->c, resp);
    free(p->create_body);
    free(p);
}

static void post_event(struct controller *c, const char *ns, const char *body)
{
    char path[512];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", ns);
    struct kreq_opts o = {.method = "POST", .path = path, .body = body};
    kclient_request(c->client, &o, NULL, event_done, c);
}

/* An Event about any object: `ns` is the object's namespace, or the Event's ("default") for a
 * cluster-scoped object such as a Node. The uid lets `kubectl describe` find it. */
void output_object_event(struct controller *c, const char *ns, const char *api_version, const char *kind,
                         const char *name, const char *uid, const char *rv, const char *type, const char *reason,
                         const char *msg)
{
    bool cluster_scoped = strcmp(kind, "Node") == 0;
    char ts_now[40], ev_name[sizeof ((struct event_seen *)0)->name];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts_now, sizeof ts_now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    double t = ev_now(c->loop);
    uint64_t key = 14695981039346656037ull;
    const char *parts[] = {ns, kind, name, uid ? uid : "", type, reason, msg};
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        key = fnv1a(key, parts[i]);
    struct event_seen *seen = NULL, *oldest = &c->events_seen[0];
    for (int i = 0; i < EVENT_CACHE; i++) {
        struct event_seen *e = &c->events_seen[i];
        if (e->last > 0 && e->key == key && t - e->last < EVENT_AGGREGATE_S)
            seen = e;
        if (e->last < oldest->last)
            oldest = e;
    }
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
    if (rv && rv[0])
        cJSON_AddStringToObject(io, "resourceVersion", rv);
    cJSON_AddStringToObject(e, "reason", reason);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "type", type);
    cJSON *src = cJSON_AddObjectToObject(e, "source");
    cJSON_AddStringToObject(src, "component", "propscaler");
    if (c->event_host[0])
        cJSON_AddStringToObject(src, "host", c->event_host);
    cJSON_AddStringToObject(e, "firstTimestamp", ts_now);
    cJSON_AddStringToObject(e, "lastTimestamp", ts_now);
    cJSON_AddNumberToObject(e, "count", 1);
    cJSON_AddStringToObject(e, "reportingComponent", "propscaler");
    cJSON_AddStringToObject(e, "reportingInstance", c->identity);
    char *text = cJSON_PrintUnformatted(e);
    cJSON_Delete(e);
    if (!text)
        return;
    if (seen) { /* a repeat: the first Event counts it */
        seen->count++;
        seen->last = t;
        char patch[160], path[800];
        snprintf(patch, sizeof patch, "{\"count\":%d,\"lastTimestamp\":\"%s\"}", seen->count, ts_now);
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/events/%s", seen->ns, seen->name);
        struct event_patch *p = calloc(1, sizeof *p);
        if (p) {
            p->c = c;
            snprintf(p->ns, sizeof p->ns, "%s", ns);
            p->create_body = text;
            struct kreq_opts o = {.method = "PATCH", .path = path, .body = patch,
                                  .content_type = "application/merge-patch+json"};
            if (kclient_request(c->client, &o, NULL, patch_done, p))
                return;
            free(p);
        }
        free(text);
        return;
    }
    if (strlen(ns) < sizeof oldest->ns && strlen(ev_name) < sizeof oldest->name) {
        *oldest = (struct event_seen){.key = key, .last = t, .count = 1};
        snprintf(oldest->ns, sizeof oldest->ns, "%s", ns);
        snprintf(oldest->name, sizeof oldest->name, "%s", ev_name);
    }
    post_event(c, ns, text);
    free(text);
}

void output_hold(struct controller *c, struct target_state *ts, int32_t current, int32_t would, const char *reason)
{
    if (c->cfg->output_json) {
        cJSON *o = dry_run_line(ts, "hold", current);
        cJSON_AddNumberToObject(o, "wouldBe", would);
        cJSON_AddStringToObject(o, "reason", reason);
        print_dry_run_line(o);
    } else {
        printf("dry-run: guard holds %s/%s %s/%s at %d: %s\n", ts->ns, ts->t->name, target_kind_name(ts->t->kind),
               ts->t->name, current, reason);
    }
    fflush(stdout);
}
