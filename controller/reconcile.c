/* The reconcile loop: the coalesce, retry and poll timers, the per-poll consistency checks, and
 * for each target the read of its pod template and Scale, the planner's plan (policies/planner)
 * carried out: logs, Events, metrics and the write (409: read and decide again). No decision
 * logic lives here. See controller_internal.h. */
#define _DEFAULT_SOURCE
#include "controller_internal.h"

/* ------------------------------------------------------------------------------------------ */
/* Reconcile                                                                                    */


/* A failed sync (a reconcile, or a poll period without a usable cache): /last-poll says why, and
 * --max-sync-failures in a row end the process as CPA does. False when it is exiting. */
static bool sync_failed(struct controller *c, const char *error)
{
    pthread_mutex_lock(&c->mu);
    c->reconcile_errors++;
    snprintf(c->last_poll_error, sizeof c->last_poll_error, "%.*s", (int)sizeof c->last_poll_error - 1, error);
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

void reconcile_finish_target(struct controller *c, struct target_state *ts, const char *error)
{
    if (ts) { /* /last-poll's line for it (--targets-file) */
        pthread_mutex_lock(&c->mu);
        snprintf(ts->last_error, sizeof ts->last_error, "%s", error ? error : "");
        pthread_mutex_unlock(&c->mu);
    }
    if (error && !c->cycle_error[0])
        snprintf(c->cycle_error, sizeof c->cycle_error, "%s", error);
    if (--c->pending > 0)
        return;
    /* the whole reconcile is done */
    c->reconcile_running = false;
    for (int i = 0; i < c->n_sources; i++)
        c->sources[i].override_pending = false; /* consumed by every target's decision */
    bool settled = !c->cycle_error[0];
    for (size_t i = 0; i < c->n_targets; i++)
        settled = settled && c->targets[i].settled;
    c->decided_valid = settled;
    if (settled)
        memcpy(&c->decided, &c->deciding, sizeof c->decided);
    pthread_mutex_lock(&c->mu);
    c->reconciles++;
    promhist_observe(&c->reconcile_seconds, ev_time() - c->reconcile_started);
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
        /* (CPA's ConfigMap invalid: no retry until it changes; a targets file's targets fail alone) */
        if (!c->stopping && (c->cfg->targets_file || !c->sources[0].error[0])) {
            ev_timer_stop(c->loop, &c->retry);
            ev_timer_set(&c->retry, delay, 0.);
            ev_timer_start(c->loop, &c->retry);
        }
    } else {
        c->consecutive_failures = 0;
        c->retry_backoff = 0;
    }
    if (c->stopping) {
        controller_finish_stop(c);
        return;
    }
    if (c->reconcile_again) {
        bool forced = c->again_forced;
        c->reconcile_again = c->again_forced = false;
        if (forced)
            reconcile_schedule(c, 0);
        else
            reconcile_coalesce_event(c); /* node events that came meanwhile: decided if they changed an input */
    }
}

static void scale_get(struct controller *c, struct target_state *ts);

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
        output_event(c, ts, "Normal", desired > ts->current ? "ScaledUp" : "ScaledDown", note);
        ts->current = desired;
        planner_written(&ts->plan, desired);
        ts->writes++;
        pthread_mutex_lock(&c->mu);
        c->scale_writes++;
        pthread_mutex_unlock(&c->mu);
        reconcile_finish_target(c, ts, NULL);
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
    reconcile_finish_target(c, ts, msg);
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
            reconcile_finish_target(c, ts, msg);
        return;
    }
    cJSON *spec = cJSON_GetObjectItemCaseSensitive(scale, "spec");
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(scale, "metadata"), "uid");
    if (cJSON_IsString(uid) && strlen(uid->valuestring) < sizeof ts->uid)
        snprintf(ts->uid, sizeof ts->uid, "%s", uid->valuestring);
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(scale, "metadata"), "resourceVersion");
    if (cJSON_IsString(rv) && strlen(rv->valuestring) < sizeof ts->rv)
        snprintf(ts->rv, sizeof ts->rv, "%s", rv->valuestring);
    ts->current = current;
    ts->observed = true;
    const char *kind = target_kind_name(ts->t->kind), *name = ts->t->name;
    size_t ti = (size_t)(ts - c->targets);
    bool anti = ts->rules_known && ts->rules.required_anti;
    if (anti && ti < 16 && c->nodes)
        ts->eligible = node_set_tag_count(c->nodes, (int)ti);
    const struct params *params = inputs_target_params(ts);
    struct planner_input in = {
        .params = params, .summary = &c->groups[ts->group].summary, .current = current,
        .eligible = anti && ti < 16 && c->nodes ? ts->eligible : -1,
        .eligible_stale = anti && strcmp(ts->tagged, ts->rules.fingerprint) != 0,
        .may_write = !c->leader || leader_is_leading(c->leader) || c->cfg->dry_run,
        .override = ts->source >= 0 && c->sources[ts->source].override_pending, .now = ev_now(c->loop),
    };
    struct plan plan;
    char e2[512];
    pthread_mutex_lock(&c->mu); /* the plan's counters are read by /metrics */
    int prc = planner_decide(&ts->plan, &ts->opts, &in, &plan, e2, sizeof e2);
    pthread_mutex_unlock(&c->mu);
    if (prc != 0) {
        cJSON_Delete(scale);
        LOG_ERROR("%s", e2);
        reconcile_finish_target(c, ts, e2);
        return;
    }
    if (plan.action == PLAN_SCALE) /* stage 1 in words, for the scaling Event and the dry-run line (Go's
                                    * float formatting: not for every decision) */
        replicas_explain(params, &plan.calc, ts->why, sizeof ts->why);
    /* a plan shaped by time (a delay, a step, a hold, a back-off) may change with no new input */
    ts->settled = plan.guard.verdict == GUARD_PASS && plan.action != PLAN_FIGHT_BACKOFF && !plan.waiting;
    /* what the plan's stages found, said where an operator looks */
    if (plan.foreign_write)
        LOG_WARN("%s/%s: replicas changed to %d by another writer (propscaler had written %d)", kind, name, current,
                 plan.overwritten);
    if (plan.fight_started) {
        LOG_WARN("%s/%s: %s", kind, name, plan.fight_note);
        output_event(c, ts, "Warning", "ConflictingWriter", plan.fight_note);
    }
    if (plan.guard.released && plan.guard.verdict != GUARD_HOLD)
        LOG_INFO("%s/%s: the guard released its hold", kind, name);
    char guard_why[GUARD_REASON_MAX];
    guard_reason(&plan.guard, guard_why, sizeof guard_why);
    if (plan.hold_started) {
        LOG_WARN("%s/%s: %s", kind, name, guard_why);
        output_event(c, ts, "Warning", "ScaleDownHeld", guard_why);
        if (c->cfg->dry_run)
            output_hold(c, ts, current, plan.calc.replicas, guard_why);
    } else if (plan.guard.verdict == GUARD_LIMIT || plan.guard.verdict == GUARD_DELAY) {
        if (strcmp(guard_why, ts->guard_logged) != 0) /* once per change, not per node event */
            LOG_INFO("%s/%s: %s", kind, name, guard_why);
        snprintf(ts->guard_logged, sizeof ts->guard_logged, "%s", guard_why);
        if (plan.guard.replicas != current)
            output_event(c, ts, "Normal", "ScaleDownLimited", guard_why);
    }
    if (plan.waiting) {
        LOG_V(1, "%s/%s: waiting for the eligible nodes to be recounted", kind, name);
        cJSON_Delete(scale);
        reconcile_finish_target(c, ts, NULL);
        return;
    }
    if (plan.cap_started) {
        LOG_WARN("%s/%s: %s", kind, name, plan.cap_note);
        output_event(c, ts, "Warning", "ReplicasCappedByPlacement", plan.cap_note);
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
        reconcile_finish_target(c, ts, NULL);
        return;
    }
    char target_kv[300], from_kv[16], to_kv[16];
    snprintf(target_kv, sizeof target_kv, "%s/%s", kind, name);
    snprintf(from_kv, sizeof from_kv, "%d", current);
    snprintf(to_kv, sizeof to_kv, "%d", plan.replicas);
    const char *const kv[] = {"target", target_kv, "from", from_kv, "to", to_kv, NULL};
    if (c->cfg->dry_run) /* CPA's line, but not saying it writes */
        LOG_INFO_KV(kv, "Replicas are not as expected : would update %s/%s from %d to %d (dry run: not written)", kind,
                    name, current, plan.replicas);
    else
        LOG_INFO_KV(kv, "Replicas are not as expected : updating %s/%s from %d to %d", kind, name, current, plan.replicas);
    if (c->cfg->dry_run) {
        cJSON_Delete(scale);
        output_plan(c, ts, &plan);
        reconcile_finish_target(c, ts, NULL);
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
        reconcile_finish_target(c, ts, "out of memory");
        return;
    }
    free(text);
}

static void scale_get_now(struct controller *c, struct target_state *ts)
{
    struct kreq_opts o = {.method = "GET", .path = ts->path};
    ts->req = kclient_request(c->client, &o, NULL, get_done, ts);
    if (!ts->req)
        reconcile_finish_target(c, ts, "out of memory");
}

/* A vertical target's containers as the workload has them: their resources and the object's
 * resourceVersion (the patch's precondition). A container of the policy missing from the pod
 * template is an error the decision reports (nothing is written). */
static void vertical_observe(struct target_state *ts, const cJSON *w)
{
    const struct vertical_policy *vp = &ts->tc->vpolicy;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(w, "metadata");
    const cJSON *rv = cJSON_GetObjectItemCaseSensitive(md, "resourceVersion");
    snprintf(ts->object_rv, sizeof ts->object_rv, "%s",
             cJSON_IsString(rv) && strlen(rv->valuestring) < sizeof ts->object_rv ? rv->valuestring : "");
    /* its Events name it by uid (`kubectl describe` selects them so), also without a Scale read */
    const cJSON *uid = cJSON_GetObjectItemCaseSensitive(md, "uid");
    if (cJSON_IsString(uid) && strlen(uid->valuestring) < sizeof ts->uid)
        snprintf(ts->uid, sizeof ts->uid, "%s", uid->valuestring);
    snprintf(ts->rv, sizeof ts->rv, "%s", ts->object_rv);
    const cJSON *containers = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(w, "spec"), "template"), "spec"),
        "containers");
    ts->vertical_error[0] = '\0';
    for (size_t i = 0; i < vp->n_containers; i++) {
        const cJSON *ct, *found = NULL;
        cJSON_ArrayForEach(ct, containers)
        {
            const cJSON *name = cJSON_GetObjectItemCaseSensitive(ct, "name");
            if (cJSON_IsString(name) && strcmp(name->valuestring, vp->containers[i].name) == 0)
                found = ct;
        }
        char why[300];
        if (!found)
            snprintf(ts->vertical_error, sizeof ts->vertical_error, "container %s is not in the pod template of %.300s",
                     vp->containers[i].name, ts->tc->label);
        else if (vertical_values_from_json(cJSON_GetObjectItemCaseSensitive(found, "resources"), &ts->have[i], why,
                                           sizeof why) != 0)
            snprintf(ts->vertical_error, sizeof ts->vertical_error, "container %s of %.300s: %.200s", vp->containers[i].name,
                     ts->tc->label, why);
        if (ts->vertical_error[0])
            return;
    }
    ts->have_read = true;
}

/* The workload's answer, read for its pod template's placement rules (and its pod selector, for
 * the hot-spot watch), and a vertical target's container resources. True when the rules changed. */
static bool take_workload(struct target_state *ts, const struct kresp *resp)
{
    struct controller *c = ts->c;
    long status = resp->status;
    char why[800];
    cJSON *w = NULL;
    if (status == 200 && kanswer_object(resp, target_kind_title(ts->t->kind), &w, why, sizeof why) != 0) {
        LOG_WARN("%s/%s: reading the workload for its placement rules: %s", target_kind_name(ts->t->kind), ts->t->name, why);
        status = -1; /* placement rules stay as they were */
    }
    ts->rules_at = ev_now(c->loop);
    if (status != 200) { /* no placement checks without the template (e.g. no RBAC get) */
        LOG_V(1, "%s/%s: reading the workload for its placement rules answered HTTP %ld", target_kind_name(ts->t->kind),
              ts->t->name, status);
        return false;
    }
    if (ts->tc && ts->tc->vertical)
        vertical_observe(ts, w);
    char before[64];
    snprintf(before, sizeof before, "%s", ts->rules_known ? ts->rules.fingerprint : "");
    placement_rules_from_workload(&ts->rules, w);
    char sel[1024];
    hotspots_selector_text(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(w, "spec"), "selector"), sel, sizeof sel);
    if (c->cfg->pod_watch && sel[0] && (!ts->pods || strcmp(podwatch_selector(ts->pods), sel) != 0)) {
        podwatch_free(ts->pods);
        ts->pods = podwatch_new(c->loop, c->client, ts->ns, sel, hotspots_pods_changed, ts);
    }
    cJSON_Delete(w);
    ts->rules_known = true;
    return strcmp(before, ts->rules.fingerprint) != 0;
}

/* The replicas half of a target's decision (after its resources, if it has both: a resources
 * patch changes the object's resourceVersion, the Scale is read after it). */
static void horizontal_step(struct controller *c, struct target_state *ts)
{
    if (!ts->horizontal) {
        reconcile_finish_target(c, ts, NULL);
        return;
    }
    if (!inputs_target_params(ts)) {
        char msg[1400];
        const struct params_source *src = &c->sources[ts->source];
        snprintf(msg, sizeof msg, "%.600s: params ConfigMap %s/%s %s", ts->tc ? ts->tc->label : ts->t->name, src->ns,
                 src->name, src->present ? "does not parse" : "not found");
        LOG_ERROR("%s", msg);
        reconcile_finish_target(c, ts, msg);
        return;
    }
    scale_get_now(c, ts);
}

static void vertical_step(struct controller *c, struct target_state *ts);

/* The workload itself, for its pod template's placement rules (and a vertical target's
 * resources). A change of the rules relists the nodes so each node's eligibility is computed
 * again. */
static void object_done(void *ctx, const struct kresp *resp)
{
    struct target_state *ts = ctx;
    struct controller *c = ts->c;
    ts->req = NULL;
    ts->have_read = false;
    if (take_workload(ts, resp) && ts->rules.required_anti) {
        LOG_V(1, "%s/%s: placement rules changed; recounting eligible nodes", target_kind_name(ts->t->kind), ts->t->name);
        reflector_relist(c->nodes_ref);
    }
    if (ts->tc && ts->tc->vertical) {
        if (!ts->have_read) {
            char msg[1400];
            snprintf(msg, sizeof msg, "sizing the resources of %.600s: %.600s", ts->tc->label,
                     ts->vertical_error[0] ? ts->vertical_error
                     : resp->status == 200 ? "the workload could not be read"
                                           : resp->status == 404 ? "not found" : "reading the workload failed");
            if (resp->status != 200 && resp->status != 404 && resp->status)
                snprintf(msg + strlen(msg), sizeof msg - strlen(msg), " (HTTP %ld)", resp->status);
            LOG_ERROR("Update failure: %s", msg);
            reconcile_finish_target(c, ts, msg);
            return;
        }
        vertical_step(c, ts);
        return;
    }
    horizontal_step(c, ts);
}

static void patch_done(void *ctx, const struct kresp *resp)
{
    struct target_state *ts = ctx;
    struct controller *c = ts->c;
    ts->req = NULL;
    ts->writing = false;
    if (resp->status == 200) {
        char note[1400], res[700] = "";
        for (size_t i = 0; i < ts->tc->vpolicy.n_containers; i++) {
            char one[300];
            size_t used = strlen(res);
            vertical_describe(ts->tc->vpolicy.containers[i].name, &ts->vlast.answer.values[i], one, sizeof one);
            snprintf(res + used, sizeof res - used, "%s%s", i ? "; " : "", one);
            ts->have[i] = ts->vlast.answer.values[i];
        }
        snprintf(note, sizeof note, "Resized %.300s for %lld nodes, %lld cores (every pod restarts): %.600s; because %.300s",
                 ts->tc->label, (long long)ts->vlast.answer.nodes, (long long)ts->vlast.answer.cores, res, ts->vwhy);
        output_event(c, ts, "Normal", ts->vlast.down ? "ResourcesDecreased" : "ResourcesIncreased", note);
        LOG_INFO("%s", note);
        pthread_mutex_lock(&c->mu);
        ts->rollouts++;
        c->scale_writes++;
        pthread_mutex_unlock(&c->mu);
        horizontal_step(c, ts);
        return;
    }
    if (resp->status == 409 && ts->attempts < 3 && !c->stopping) {
        pthread_mutex_lock(&c->mu);
        c->conflicts++;
        pthread_mutex_unlock(&c->mu);
        LOG_V(1, "conflict patching the resources of %s; retrying with a fresh read", ts->tc->label);
        ts->attempts++;
        scale_get(c, ts);
        return;
    }
    char msg[1024];
    snprintf(msg, sizeof msg, "updating the resources of %s: %s (HTTP %ld)", ts->tc->label,
             resp->err ? resp->err : "request failed", resp->status);
    LOG_ERROR("Update failure: %s", msg);
    reconcile_finish_target(c, ts, msg);
}

/* The resources half: the planner's vertical plan carried out (a strategic merge patch of the
 * named containers' resources, with the object's resourceVersion as its precondition). */
static void vertical_step(struct controller *c, struct target_state *ts)
{
    bool override = ts->source >= 0 && c->sources[ts->source].override_pending;
    struct planner_vinput in = {.policy = &ts->tc->vpolicy, .summary = &c->groups[ts->group].summary,
                                .observed = ts->have,
                                .may_write = !c->leader || leader_is_leading(c->leader) || c->cfg->dry_run,
                                .override = override, .now = ev_now(c->loop)};
    struct vplan *plan = &ts->vlast;
    pthread_mutex_lock(&c->mu);
    planner_decide_vertical(&ts->vplan, &ts->opts, &in, plan);
    pthread_mutex_unlock(&c->mu);
    const char *label = ts->tc->label;
    if (plan->guard.verdict == GUARD_HOLD || plan->guard.verdict == GUARD_DELAY) {
        char why[GUARD_REASON_MAX + 100];
        planner_vertical_guard_reason(plan, why, sizeof why);
        if (plan->hold_started) {
            LOG_WARN("%s: %s", label, why);
            output_event(c, ts, "Warning", "ResourcesHeld", why);
        }
        ts->settled = false; /* a hold or delay may end with no new input */
    }
    if (plan->invalid) { /* the API would refuse it: say why, write nothing */
        char msg[700];
        snprintf(msg, sizeof msg, "sizing the resources of %.200s: %.400s", label, plan->why);
        if (strcmp(msg, ts->vinvalid) != 0) { /* said once while it stands */
            LOG_ERROR("%s", msg);
            output_event(c, ts, "Warning", "ResourcesInvalid", plan->why);
        }
        snprintf(ts->vinvalid, sizeof ts->vinvalid, "%s", msg);
        reconcile_finish_target(c, ts, msg);
        return;
    }
    ts->vinvalid[0] = '\0';
    if (plan->action == PLAN_NOTHING) {
        horizontal_step(c, ts);
        return;
    }
    snprintf(ts->vwhy, sizeof ts->vwhy, "%s", plan->why);
    if (plan->action == PLAN_NOT_LEADER) {
        LOG_V(1, "not the leader: leaving the resources of %s (%s)", label, plan->why);
        horizontal_step(c, ts);
        return;
    }
    LOG_INFO("Resources are not as expected: %s %s: %s", c->cfg->dry_run ? "would update" : "updating", label, plan->why);
    if (c->cfg->dry_run) {
        output_vertical_plan(c, ts, plan);
        horizontal_step(c, ts);
        return;
    }
    char *text = vertical_patch_json(&ts->tc->vpolicy, &plan->answer, ts->object_rv); /* 409 if it moved */
    struct kreq_opts o = {.method = "PATCH", .path = ts->object_path, .body = text,
                          .content_type = "application/strategic-merge-patch+json"};
    ts->req = text ? kclient_request(c->client, &o, NULL, patch_done, ts) : NULL;
    ts->writing = ts->req != NULL;
    free(text);
    if (!ts->req)
        reconcile_finish_target(c, ts, "out of memory");
}

/* At start, each workload is read before the first node LIST, so that LIST tags the nodes with
 * their eligibility at once (otherwise the rules, read after it, would take a second full LIST). */
static void first_object_done(void *ctx, const struct kresp *resp)
{
    struct target_state *ts = ctx;
    struct controller *c = ts->c;
    ts->req = NULL;
    take_workload(ts, resp);
    if (--c->rules_pending == 0 && !c->stopping)
        reflector_start(c->nodes_ref);
}

void reconcile_read_rules_then_list(struct controller *c)
{
    c->rules_pending = (int)c->n_targets;
    for (size_t i = 0; i < c->n_targets; i++) {
        struct target_state *ts = &c->targets[i];
        struct kreq_opts o = {.method = "GET", .path = ts->object_path, .timeout_s = 10};
        ts->req = kclient_request(c->client, &o, NULL, first_object_done, ts);
        if (!ts->req)
            c->rules_pending--;
    }
    if (c->rules_pending == 0)
        reflector_start(c->nodes_ref);
}

/* True when a period of `period_s` has passed since `last` (0: never), as a poll tick sees it: a
 * tick within half a poll period of the due time takes it (a 60 s period with a 10 s poll is every
 * sixth tick, not every seventh). */
static bool period_due(const struct controller *c, double last, double period_s)
{
    return last == 0 || ev_now(c->loop) - last >= period_s - c->cfg->poll_period_seconds / 2.;
}

static void scale_get(struct controller *c, struct target_state *ts)
{
    /* a vertical target's decision reads its containers every time; the others refresh their
     * placement rules as often as the caches are checked (--cache-check-period, at least a poll
     * period): a GET of the whole workload is not worth making every tick */
    bool vertical = ts->tc && ts->tc->vertical;
    double rules_period = c->cfg->cache_check_period_s > c->cfg->poll_period_seconds ? c->cfg->cache_check_period_s
                                                                                      : c->cfg->poll_period_seconds;
    if (vertical || period_due(c, ts->rules_at, rules_period)) {
        struct kreq_opts o = {.method = "GET", .path = ts->object_path};
        ts->req = kclient_request(c->client, &o, NULL, object_done, ts);
        if (ts->req)
            return;
        if (vertical) {
            reconcile_finish_target(c, ts, "out of memory");
            return;
        }
    }
    horizontal_step(c, ts);
}

/* What a decision reads, as the caches hold it now (each group's summary taken afresh). */
static void decision_inputs_now(struct controller *c, struct decision_inputs *d)
{
    memset(d, 0, sizeof *d);
    for (int g = 0; g < c->n_groups; g++) {
        node_set_summary(c->groups[g].nodes, &c->groups[g].summary);
        d->summaries[g] = c->groups[g].summary;
    }
    for (int i = 0; i < c->n_sources; i++) {
        d->params_gen[i] = c->sources[i].gen;
        d->override_pending[i] = c->sources[i].override_pending;
    }
    d->targets_gen = c->targets_gen;
    d->may_write = !c->leader || leader_is_leading(c->leader) || c->cfg->dry_run;
    for (size_t i = 0; i < c->n_targets && i < 16; i++) {
        const struct target_state *ts = &c->targets[i];
        if (ts->rules_known && ts->rules.required_anti) {
            d->eligible[i] = node_set_tag_count(c->nodes, (int)i);
            d->eligible_stale[i] = strcmp(ts->tagged, ts->rules.fingerprint) != 0;
        }
    }
}

/* forced: decide even if no input changed (the poll tick, params, a LIST, leadership, a retry);
 * otherwise (a burst of node events) only if one did since the last settled decision. */
static void reconcile(struct controller *c, bool forced)
{
    pthread_mutex_lock(&c->mu);
    c->heartbeat = ev_now(c->loop);
    pthread_mutex_unlock(&c->mu);
    if (c->stopping)
        return;
    if (c->reconcile_running) {
        c->reconcile_again = true;
        c->again_forced = c->again_forced || forced;
        return;
    }
    /* never decide from partial data, nor from a cache that may follow another server's state */
    if (!inputs_caches_trusted(c))
        return;
    if (kclient_retry_wait(c->client) > 0) {
        reconcile_schedule(c, kclient_retry_wait(c->client)); /* the server asked us to wait */
        return;
    }
    ev_timer_stop(c->loop, &c->retry);
    pthread_mutex_lock(&c->mu);
    c->synced = true;
    pthread_mutex_unlock(&c->mu);
    struct params_source *cpa = &c->sources[0]; /* CPA's --configmap (the flags' targets) */
    if (!c->cfg->targets_file && !cpa->present) {
        if (c->cfg->has_default_params && !cpa->loaded) {
            inputs_create_configmap(c);
            if (!cpa->loaded)
                return;
        } else if (!cpa->loaded) {
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
    if (!c->cfg->targets_file && !cpa->loaded) {
        pthread_mutex_lock(&c->mu);
        snprintf(c->last_poll_error, sizeof c->last_poll_error, "Error ensuring controller: %s", cpa->error);
        c->reconcile_errors++;
        pthread_mutex_unlock(&c->mu);
        return;
    }
    struct decision_inputs now;
    decision_inputs_now(c, &now);
    struct cluster_summary s = c->groups[0].summary;
    bool unchanged = c->decided_valid && memcmp(&now, &c->decided, sizeof now) == 0;
    pthread_mutex_lock(&c->mu);
    c->summary = s;
    if (!forced && unchanged)
        c->decisions_skipped++;
    pthread_mutex_unlock(&c->mu);
    if (!forced && unchanged) {
        LOG_V(4, "node events changed nothing the decision reads; not deciding until the next poll");
        return;
    }
    memcpy(&c->deciding, &now, sizeof now);
    LOG_V(1, "Cluster status: SchedulableNodes[%lld], TotalNodes[%lld], SchedulableCores[%lld], TotalCores[%lld]",
          (long long)s.schedulable_nodes, (long long)s.total_nodes, (long long)s.schedulable_cores, (long long)s.total_cores);
    c->reconcile_running = true;
    c->reconcile_started = ev_time();
    c->cycle_error[0] = '\0';
    for (int i = 0; i < c->n_sources && !c->cycle_error[0]; i++)
        if (c->sources[i].error[0]) {
            if (c->cfg->targets_file)
                snprintf(c->cycle_error, sizeof c->cycle_error, "Error ensuring controller: ConfigMap %.253s/%.253s: %.600s",
                         c->sources[i].ns, c->sources[i].name, c->sources[i].error);
            else
                snprintf(c->cycle_error, sizeof c->cycle_error, "Error ensuring controller: %s", c->sources[i].error);
        }
    c->pending = (int)c->n_targets;
    for (size_t i = 0; i < c->n_targets; i++) {
        c->targets[i].attempts = 0;
        c->targets[i].settled = false; /* until its plan says otherwise */
        scale_get(c, &c->targets[i]);
    }
}

void reconcile_coalesce_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct controller *c = w->data;
    bool forced = c->coalesce_forced;
    c->coalesce_forced = false;
    reconcile(c, forced);
}

void reconcile_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    reconcile(w->data, true);
}

/* Every poll period: first ask both reflectors whether the server is still the one their caches
 * follow (a cheap LIST each); the reconcile follows when the checks are back. A period without a
 * usable cache is a failed sync, as CPA counts it (before the first complete LIST too). */
void reconcile_poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    struct controller *c = w->data;
    LOG_V(4, "periodic resync");
    targetsfile_check(c); /* --targets-file: a change of it (a mounted ConfigMap's update) */
    pthread_mutex_lock(&c->mu);
    c->heartbeat = ev_now(c->loop);
    pthread_mutex_unlock(&c->mu);
    if (c->stopping)
        return;
    if (!inputs_caches_trusted(c)) {
        char msg[1400];
        bool listed = c->nodes && reflector_synced(c->nodes_ref);
        for (int i = 0; i < c->n_sources; i++)
            listed = listed && reflector_synced(c->sources[i].ref);
        snprintf(msg, sizeof msg, "%s: %s", listed ? "the API server's state is not verified since a watch failed"
                                                   : "the first complete list of nodes and params has not arrived",
                 c->sync_error[0] ? c->sync_error : "waiting");
        c->sync_error[0] = '\0';
        if (!sync_failed(c, msg))
            return;
    }
    /* the checks cost a request per watched resource: at most every --cache-check-period (a
     * failed watch is checked on its own, at once) */
    bool sent = false;
    if (period_due(c, c->last_cache_check, c->cfg->cache_check_period_s)) {
        sent = reflector_check(c->nodes_ref);
        for (int i = 0; i < c->n_sources; i++)
            sent = reflector_check(c->sources[i].ref) || sent;
        if (sent)
            c->last_cache_check = ev_now(c->loop);
    }
    /* checks sent: the last answer reconciles (reflector_checked) */
    if (!sent && !(ev_is_active(&c->coalesce) && c->coalescing_burst))
        reconcile(c, true); /* (a burst being coalesced is decided when it goes quiet) */
}

/* Decide no later than `delay` from now (never sooner than a Retry-After allows): an earlier
 * request brings a pending decision forward, a later one joins it. */
void reconcile_schedule(struct controller *c, double delay)
{
    double wait = kclient_retry_wait(c->client);
    if (wait > delay)
        delay = wait; /* a Retry-After holds every path */
    c->coalesce_forced = true;
    if (ev_is_active(&c->coalesce) && ev_timer_remaining(c->loop, &c->coalesce) <= delay)
        return; /* already due as soon: this change joins it */
    ev_timer_stop(c->loop, &c->coalesce);
    ev_timer_set(&c->coalesce, delay, 0.);
    ev_timer_start(c->loop, &c->coalesce);
    c->coalescing_burst = false;
}

/* A node event: decide once the stream has been quiet for a moment, or at the latest
 * COALESCE_MAX_S after the burst's first event (a steady stream still gets decisions). A burst of
 * thousands of ADDED events (a LIST's worth, or a trace's t=0 group) is then one decision on the
 * whole of it, as the simulator makes it, not several on a half-loaded cluster. The moment is
 * short while the burst is a few events (a few nodes joining: decided within milliseconds) and
 * longer once it is a stream of many (a pause in its delivery must not split it). */
void reconcile_coalesce_event(struct controller *c)
{
    double now = ev_time();
    bool active = ev_is_active(&c->coalesce);
    if (active && !c->coalescing_burst)
        return; /* a decision is already due (a LIST, the params, a Retry-After): this event joins it */
    if (!active && !c->reconcile_running && c->decided_valid) {
        /* a heartbeat (most events) changes nothing a decision reads: no timer, no wake-up */
        struct decision_inputs inputs;
        decision_inputs_now(c, &inputs);
        if (memcmp(&inputs, &c->decided, sizeof inputs) == 0) {
            pthread_mutex_lock(&c->mu);
            c->decisions_skipped++;
            pthread_mutex_unlock(&c->mu);
            return;
        }
    }
    if (!active) {
        c->burst_start = now;
        c->burst_events = 0;
    }
    c->burst_events++;
    double quiet = c->burst_events > COALESCE_STREAM_EVENTS ? COALESCE_STREAM_QUIET_S : COALESCE_QUIET_S;
    double fire = now + quiet, latest = c->burst_start + COALESCE_MAX_S;
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
