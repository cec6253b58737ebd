/* `propsim replay --targets-file`: every target of a targets file replayed through the planner —
 * horizontal targets as params sets (replay.c decides them), vertical targets here — with one node
 * set per distinct node filter. See replay_internal.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmfile.h"
#include "fileio.h"
#include "replay_internal.h"

static int group_for(struct replay *r, struct target_config *t)
{
    for (int g = 0; g < r->n_groups; g++)
        if (strcmp(r->groups[g].key, t->filter_key) == 0)
            return g;
    if (r->n_groups == MAX_GROUPS)
        return -1;
    r->groups[r->n_groups].opts = &t->nodes;
    r->groups[r->n_groups].key = t->filter_key;
    return r->n_groups++;
}

int replay_targets_load(struct replay *r, const char *path, const char *const *configmaps, size_t n_configmaps,
                        const char *default_ns)
{
    char *data = NULL, err[2048];
    size_t len;
    if (fileio_read_all(path, 16u << 20, &data, &len, err, sizeof err) != 0) {
        fprintf(stderr, "propsim replay: --targets-file: %s\n", err);
        return -1;
    }
    struct targets_defaults d = {.ns = default_ns, .guard = &r->gopts};
    targets_config_init(&r->targets);
    int rc = targets_parse(data, len, &d, &r->targets, err, sizeof err);
    free(data);
    if (rc != 0) {
        fprintf(stderr, "propsim replay: %s: %s\n", path, err);
        return -1;
    }
    r->has_targets = true;
    r->n_groups = 0;
    for (size_t i = 0; i < r->targets.n; i++) {
        struct target_config *t = &r->targets.targets[i];
        t->nodes.legacy_schedulable = r->nopts.legacy_schedulable; /* the command line's counting rule */
        int g = group_for(r, t);
        if (g < 0) {
            fprintf(stderr, "propsim replay: %s: %s: more than %d different node filters\n", path, t->label, MAX_GROUPS);
            return -1;
        }
        int hset = -1;
        if (t->replicas != REPLICAS_NONE) {
            if (r->n_sets == MAX_SETS) {
                fprintf(stderr, "propsim replay: %s: at most %d targets with replicas\n", path, MAX_SETS);
                return -1;
            }
            struct param_set *p = &r->sets[r->n_sets];
            params_init(&p->params);
            int prc = t->replicas == REPLICAS_INLINE ? params_copy(&p->params, &t->params)
                                                     : cmfile_params(configmaps, n_configmaps, t->configmap, &p->params,
                                                                     err, sizeof err);
            if (prc != 0) {
                fprintf(stderr, "propsim replay: %s: %s: %s%s\n", path, t->label,
                        t->replicas == REPLICAS_INLINE ? "out of memory" : err,
                        t->replicas == REPLICAS_CONFIGMAP && !n_configmaps ? " (--config FILE)" : "");
                return -1;
            }
            snprintf(p->label, sizeof p->label, "%.255s", t->label);
            snprintf(p->name, sizeof p->name, "%.63s", t->name);
            p->with = -1;
            p->group = g;
            struct planner_opts *o = &r->target_opts[r->n_sets];
            *o = (struct planner_opts){.policy = r->popts, .guard = t->guard, .foreign_writer_backoff_s = 600,
                                       .placement_warn_only = t->placement_warn_only};
            p->opts = o;
            hset = r->n_sets++;
        }
        if (t->vertical) {
            if (r->n_vsets == MAX_VSETS) {
                fprintf(stderr, "propsim replay: %s: at most %d targets with vertical sizing\n", path, MAX_VSETS);
                return -1;
            }
            struct vertical_set *v = &r->vsets[r->n_vsets++];
            memset(v, 0, sizeof *v);
            v->cfg = t;
            v->group = g;
            v->hset = hset;
            v->opts = (struct planner_opts){.policy = r->popts, .guard = t->guard};
        }
    }
    return 0;
}

/* What the chart draws of a vertical target: its first container's first managed request (else
 * limit), in millicores or MiB. */
static void choose_shown(struct vertical_set *v)
{
    const struct vertical_container *c = &v->cfg->vpolicy.containers[0];
    v->show_c = 0;
    v->show_k = -1;
    for (int k = 0; k < VKIND_COUNT && v->show_k < 0; k++)
        for (int res = 0; res < VRES_COUNT && v->show_k < 0; res++)
            if (c->rules[k][res].set) {
                v->show_k = k;
                v->show_r = res;
            }
    if (v->show_k < 0) /* (a container always sizes something) */
        v->show_k = 0;
    snprintf(v->unit, sizeof v->unit, "%s %s %s of container %.63s", v->show_r == VRES_CPU ? "m" : "Mi",
             vertical_resource_name((enum vertical_resource)v->show_r), vertical_kind_name((enum vertical_kind)v->show_k),
             c->name);
}

static int32_t shown_value(const struct vertical_set *v)
{
    if (!v->have[v->show_c].have[v->show_k][v->show_r])
        return 0;
    int64_t milli = v->have[v->show_c].milli[v->show_k][v->show_r];
    int64_t shown = v->show_r == VRES_CPU ? milli : (milli / 1000 + 1048575) / 1048576;
    return shown > INT32_MAX ? INT32_MAX : (int32_t)shown;
}

void replay_targets_begin(struct replay *r, FILE *csv)
{
    for (int i = 0; i < r->n_vsets; i++) {
        planner_vtarget_init(&r->vsets[i].plan);
        choose_shown(&r->vsets[i]);
        fprintf(csv, ",resources_%d,rollout_%d", i + 1, i + 1);
    }
}

void replay_targets_chart_sets(const struct replay *r, struct replay_chart_set *out)
{
    for (int i = 0; i < r->n_vsets; i++) {
        const struct vertical_set *v = &r->vsets[i];
        out[i] = (struct replay_chart_set){v->row, v->cfg->name, -1, v->rollouts, v->ups, v->downs, v->holds, 0,
                                           v->shown_min, v->shown_max, v->unit};
    }
}

/* "name: requests cpu=90m memory=440Mi, limits memory=500Mi; name2: ..." */
static void describe(const struct vertical_set *v, char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    const struct vertical_policy *p = &v->cfg->vpolicy;
    for (size_t c = 0; c < p->n_containers && used + 2 < len; c++) {
        if (c) {
            memcpy(out + used, "; ", 3);
            used += 2;
        }
        vertical_describe(p->containers[c].name, &v->have[c], out + used, len - used);
        used += strlen(out + used);
    }
}

void replay_targets_decide(struct replay *r, double t, bool record)
{
    for (int i = 0; i < r->n_vsets; i++) {
        struct vertical_set *v = &r->vsets[i];
        struct planner_vinput in = {.policy = &v->cfg->vpolicy, .summary = &r->groups[v->group].summary,
                                    .observed = v->have, .may_write = true, .now = t};
        bool first = !v->plan.sized;
        struct vplan plan;
        planner_decide_vertical(&v->plan, &v->opts, &in, &plan);
        v->rolled = false;
        v->held = plan.guard.verdict == GUARD_HOLD || plan.guard.verdict == GUARD_DELAY;
        if (v->held) {
            planner_vertical_guard_reason(&plan, v->guard_note, sizeof v->guard_note);
            if (plan.hold_started && record)
                v->holds++;
        }
        if (first) {
            /* the workload starts sized as the policy says (as if propscaler had been running):
             * the first decision is not counted as a rollout */
            for (size_t c = 0; c < v->cfg->vpolicy.n_containers; c++)
                v->have[c] = plan.answer.values[c];
            v->sized_min = v->sized_max = plan.answer.nodes;
        } else if (plan.action == PLAN_SCALE) {
            for (size_t c = 0; c < v->cfg->vpolicy.n_containers; c++)
                v->have[c] = plan.answer.values[c];
            if (record) {
                v->rolled = true;
                v->rollouts++;
                if (plan.down)
                    v->downs++;
                else
                    v->ups++;
                int32_t replicas = v->hset >= 0 ? r->sets[v->hset].current : (int32_t)r->initial;
                v->pod_restarts += (unsigned long)(replicas > 0 ? replicas : 0);
                if (v->rollouts == 1)
                    v->first_rollout_t = t;
                v->last_rollout_t = t;
            }
        }
        if (record) {
            if (plan.answer.nodes < v->sized_min)
                v->sized_min = plan.answer.nodes;
            if (plan.answer.nodes > v->sized_max)
                v->sized_max = plan.answer.nodes;
        }
        describe(v, v->row, sizeof v->row);
        v->shown = shown_value(v);
        if (first || v->shown < v->shown_min)
            v->shown_min = v->shown;
        if (first || v->shown > v->shown_max)
            v->shown_max = v->shown;
    }
}

size_t replay_targets_row_room(const struct replay *r)
{
    size_t room = 0;
    for (int i = 0; i < r->n_vsets; i++)
        room += 6 * strlen(r->vsets[i].row) + 64;
    return room;
}

static char *put(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

/* The resources text holds names (DNS labels), quantities and punctuation: no quote, no
 * backslash, no control character — quoting for CSV and JSON is the quotes alone. */
char *replay_targets_csv(const struct replay *r, char *c)
{
    for (int i = 0; i < r->n_vsets; i++) {
        c = put(c, ",\"");
        c = put(c, r->vsets[i].row);
        c = put(c, r->vsets[i].rolled ? "\",rollout" : "\",");
    }
    return c;
}

char *replay_targets_json(const struct replay *r, char *j)
{
    for (int i = 0; i < r->n_vsets; i++) {
        char key[48];
        snprintf(key, sizeof key, ",\"resources_%d\":\"", i + 1);
        j = put(j, key);
        j = put(j, r->vsets[i].row);
        snprintf(key, sizeof key, "\",\"rollout_%d\":%s", i + 1, r->vsets[i].rolled ? "true" : "false");
        j = put(j, key);
    }
    return j;
}

void replay_targets_summary(const struct replay *r, cJSON *o)
{
    if (!r->has_targets)
        return;
    cJSON *arr = cJSON_AddArrayToObject(o, "vertical");
    for (int i = 0; i < r->n_vsets; i++) {
        const struct vertical_set *v = &r->vsets[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "target", v->cfg->label);
        cJSON_AddNumberToObject(e, "rollouts", (double)v->rollouts);
        cJSON_AddNumberToObject(e, "rolloutsUp", (double)v->ups);
        cJSON_AddNumberToObject(e, "rolloutsDown", (double)v->downs);
        /* every rollout restarts every pod of the workload: its replicas then (a vertical-only
         * target: --initial-replicas) */
        cJSON_AddNumberToObject(e, "podRestarts", (double)v->pod_restarts);
        cJSON_AddStringToObject(e, "replicasFrom", v->hset >= 0 ? "its replicas target" : "--initial-replicas");
        if (v->rollouts) {
            cJSON_AddNumberToObject(e, "firstRolloutAt", v->first_rollout_t);
            cJSON_AddNumberToObject(e, "lastRolloutAt", v->last_rollout_t);
        }
        cJSON_AddNumberToObject(e, "threshold", v->cfg->vpolicy.threshold_percent);
        cJSON_AddStringToObject(e, "estimator", v->cfg->vpolicy.estimator == VEST_EXPONENTIAL ? "exponential" : "linear");
        cJSON_AddNumberToObject(e, "minNodesSizedFor", (double)v->sized_min);
        cJSON_AddNumberToObject(e, "maxNodesSizedFor", (double)v->sized_max);
        cJSON_AddNumberToObject(e, "guardHolds", (double)v->holds);
        if (v->guard_note[0])
            cJSON_AddStringToObject(e, "lastGuardReason", v->guard_note);
        cJSON_AddStringToObject(e, "finalResources", v->row);
        cJSON_AddItemToArray(arr, e);
    }
}

void replay_targets_print(const struct replay *r)
{
    for (int i = 0; i < r->n_vsets; i++) {
        const struct vertical_set *v = &r->vsets[i];
        printf("%s: %lu rollouts (%lu up, %lu down), %lu pod restarts, sized for %lld..%lld nodes; final %s\n",
               v->cfg->label, v->rollouts, v->ups, v->downs, v->pod_restarts, (long long)v->sized_min,
               (long long)v->sized_max, v->row);
    }
}
