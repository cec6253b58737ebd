#include "nodes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantity.h"
#include "strtab.h"

/* ------------------------------------------------------------------------------------------ */
/* Counting options                                                                            */

void node_count_opts_init(struct node_count_opts *o) { memset(o, 0, sizeof *o); }

void node_count_opts_release(struct node_count_opts *o)
{
    for (size_t i = 0; i < o->n_ignore_taints; i++) {
        free(o->ignore_taints[i].key);
        free(o->ignore_taints[i].value);
        free(o->ignore_taints[i].effect);
    }
    free(o->ignore_taints);
    memset(o, 0, sizeof *o);
}

int node_count_opts_add_taint(struct node_count_opts *o, const char *spec, char *err, size_t errlen)
{
    size_t len = strlen(spec);
    const char *colon = memchr(spec, ':', len);
    size_t kv_len = colon ? (size_t)(colon - spec) : len;
    const char *eq = memchr(spec, '=', kv_len);
    size_t key_len = eq ? (size_t)(eq - spec) : kv_len;
    if (key_len == 0 || !selector_valid_key(spec, key_len)) {
        snprintf(err, errlen, "invalid taint \"%s\": expected key[=value][:effect], e.g. "
                 "virtual-kubelet.io/provider:NoSchedule", spec);
        return -1;
    }
    if (colon) {
        const char *eff = colon + 1;
        if (strcmp(eff, "NoSchedule") != 0 && strcmp(eff, "PreferNoSchedule") != 0 && strcmp(eff, "NoExecute") != 0) {
            snprintf(err, errlen, "invalid taint \"%s\": effect must be NoSchedule, PreferNoSchedule or NoExecute", spec);
            return -1;
        }
    }
    struct taint_match t = {0};
    t.key = strndup(spec, key_len);
    if (eq)
        t.value = strndup(eq + 1, kv_len - key_len - 1);
    if (colon)
        t.effect = strdup(colon + 1);
    struct taint_match *arr = realloc(o->ignore_taints, (o->n_ignore_taints + 1) * sizeof *arr);
    if (!t.key || (eq && !t.value) || (colon && !t.effect) || !arr) {
        free(t.key);
        free(t.value);
        free(t.effect);
        if (arr)
            o->ignore_taints = arr;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    o->ignore_taints = arr;
    o->ignore_taints[o->n_ignore_taints++] = t;
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Decoding                                                                                     */

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

const char *node_label_lookup(const void *ctx, const char *key)
{
    const cJSON *v = get((const cJSON *)ctx, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool node_taints_ignored(const struct node_count_opts *o, const cJSON *taints)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, taints)
    {
        const cJSON *k = get(t, "key"), *v = get(t, "value"), *e = get(t, "effect");
        if (!cJSON_IsString(k))
            continue;
        for (size_t i = 0; i < o->n_ignore_taints; i++) {
            const struct taint_match *m = &o->ignore_taints[i];
            if (strcmp(m->key, k->valuestring) != 0)
                continue;
            if (m->value && strcmp(m->value, cJSON_IsString(v) ? v->valuestring : "") != 0)
                continue;
            if (m->effect && (!cJSON_IsString(e) || strcmp(m->effect, e->valuestring) != 0))
                continue;
            return true;
        }
    }
    return false;
}

static int check_name(size_t len, char *err, size_t errlen)
{
    if (len == 0) {
        snprintf(err, errlen, "node: metadata.name is missing or not a string");
        return -1;
    }
    if (len > NODE_NAME_MAX) {
        snprintf(err, errlen, "node: metadata.name is longer than %d characters", NODE_NAME_MAX);
        return -1;
    }
    return 0;
}

int node_obs_build(const struct node_fields *f, const struct node_count_opts *opts, struct node_obs *out,
                   char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (check_name(f->name_len, err, errlen) != 0)
        return -1;
    memcpy(out->name, f->name, f->name_len);
    out->name[f->name_len] = '\0';
    out->unschedulable = f->unschedulable;
    if (f->cpu) {
        /* a cluster's nodes share a handful of CPU quantities: the last one parsed is kept (per
         * thread), which saves the decimal parse on nearly every node and event */
        static _Thread_local char last_text[24];
        static _Thread_local size_t last_len;
        static _Thread_local int64_t last_nano;
        char qerr[160];
        if (f->cpu_len > 0 && f->cpu_len == last_len && memcmp(f->cpu, last_text, last_len) == 0) {
            out->cpu_nano = last_nano;
        } else if (quantity_parse_nano(f->cpu, f->cpu_len, &out->cpu_nano, qerr, sizeof qerr) != 0) {
            snprintf(err, errlen, "node %s: status.allocatable.cpu: %s", out->name, qerr);
            return -1;
        } else if (f->cpu_len < sizeof last_text) {
            memcpy(last_text, f->cpu, f->cpu_len);
            last_len = f->cpu_len;
            last_nano = out->cpu_nano;
        }
        out->has_cpu = true;
        if (opts && opts->max_nano_per_node > 0 && out->cpu_nano > opts->max_nano_per_node)
            out->cpu_nano = opts->max_nano_per_node;
    }
    out->ready = f->ready;
    out->schedulable = !out->unschedulable && (out->ready || (opts && opts->legacy_schedulable));
    out->counted = true;
    if (opts && opts->selector && !selector_matches(opts->selector, f->labels, f->labels_ctx))
        out->counted = false;
    if (f->has_ignored_taint)
        out->counted = false;
    return 0;
}

int node_decode(const cJSON *obj, const struct node_count_opts *opts, struct node_obs *out,
                char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(obj)) {
        snprintf(err, errlen, "node: expected a JSON object");
        return -1;
    }
    const cJSON *kind = get(obj, "kind");
    if (kind && (!cJSON_IsString(kind) || strcmp(kind->valuestring, "Node") != 0)) {
        snprintf(err, errlen, "expected kind Node, got %s", cJSON_IsString(kind) ? kind->valuestring : "a non-string kind");
        return -1;
    }
    const cJSON *meta = get(obj, "metadata");
    const cJSON *name = get(meta, "name");
    struct node_fields f = {.labels = node_label_lookup, .labels_ctx = get(meta, "labels")};
    if (!cJSON_IsString(name)) {
        snprintf(err, errlen, "node: metadata.name is missing or not a string");
        return -1;
    }
    f.name = name->valuestring;
    f.name_len = strlen(f.name);
    if (check_name(f.name_len, err, errlen) != 0)
        return -1;

    const cJSON *spec = get(obj, "spec");
    if (spec && !cJSON_IsObject(spec) && !cJSON_IsNull(spec)) {
        snprintf(err, errlen, "node %s: spec is not an object", f.name);
        return -1;
    }
    const cJSON *unsched = get(spec, "unschedulable");
    if (unsched && !cJSON_IsBool(unsched) && !cJSON_IsNull(unsched)) {
        snprintf(err, errlen, "node %s: spec.unschedulable must be true or false", f.name);
        return -1;
    }
    f.unschedulable = cJSON_IsTrue(unsched);

    const cJSON *status = get(obj, "status");
    const cJSON *cpu = get(get(status, "allocatable"), "cpu");
    char numtext[64];
    if (cpu && !cJSON_IsNull(cpu)) {
        if (cJSON_IsString(cpu)) {
            f.cpu = cpu->valuestring;
        } else if (cJSON_IsNumber(cpu)) { /* Quantity accepts bare JSON numbers too */
            snprintf(numtext, sizeof numtext, "%.17g", cpu->valuedouble);
            f.cpu = numtext;
        } else {
            snprintf(err, errlen, "node %s: status.allocatable.cpu must be a quantity string such as \"3920m\"", f.name);
            return -1;
        }
        f.cpu_len = strlen(f.cpu);
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, get(status, "conditions"))
    {
        const cJSON *type = get(c, "type"), *st = get(c, "status");
        if (cJSON_IsString(type) && strcmp(type->valuestring, "Ready") == 0)
            f.ready = cJSON_IsString(st) && strcmp(st->valuestring, "True") == 0;
    }
    f.has_ignored_taint = opts && opts->n_ignore_taints && node_taints_ignored(opts, get(spec, "taints"));
    return node_obs_build(&f, opts, out, err, errlen);
}

/* ------------------------------------------------------------------------------------------ */
/* The node set: a strtab of counting records by name, and the sums kept up to date.           */

/* SLOT_IGNORED: a node the counting options leave out (selector, ignored taint), kept by name only
 * so that the set knows every node the API holds (node_set_known); it is in no sum. */
enum { SLOT_SCHEDULABLE = 1, SLOT_HAS_CPU = 2, SLOT_READY = 4, SLOT_IGNORED = 8 };

struct slot {
    struct strtab_key k; /* the node name */
    int64_t cpu_nano;
    unsigned char flags;
    uint16_t tags;
};

struct node_set {
    struct strtab tab;
    size_t name_bytes;
    __int128 total_nano, sched_nano;
    int64_t sched_nodes;
    int64_t ready_nodes;
    int64_t tag_sched[16];
    size_t ignored;
};

struct node_set *node_set_new(void)
{
    struct node_set *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (strtab_init(&s->tab, sizeof(struct slot)) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

void node_set_clear(struct node_set *s)
{
    strtab_clear(&s->tab);
    s->name_bytes = 0;
    s->total_nano = s->sched_nano = 0;
    s->sched_nodes = 0;
    s->ready_nodes = 0;
    s->ignored = 0;
    memset(s->tag_sched, 0, sizeof s->tag_sched);
}

void node_set_free(struct node_set *s)
{
    if (!s)
        return;
    strtab_release(&s->tab);
    free(s);
}

size_t node_set_size(const struct node_set *s) { return s->tab.n - s->ignored; }
size_t node_set_known(const struct node_set *s) { return s->tab.n; }

size_t node_set_memory(const struct node_set *s)
{
    /* Names are malloc'd: count the usual 16-byte allocator overhead per name. */
    return sizeof *s + strtab_memory(&s->tab) + s->name_bytes + s->tab.n * 16;
}

static void account(struct node_set *s, const struct slot *sl, int sign)
{
    s->total_nano += sign * (__int128)sl->cpu_nano;
    if (sl->flags & SLOT_SCHEDULABLE) {
        s->sched_nano += sign * (__int128)sl->cpu_nano;
        s->sched_nodes += sign;
    }
    if (sl->flags & SLOT_READY)
        s->ready_nodes += sign;
    if ((sl->flags & SLOT_SCHEDULABLE) && sl->tags)
        for (int b = 0; b < 16; b++)
            if (sl->tags & (1u << b))
                s->tag_sched[b] += sign;
}

int node_set_remove(struct node_set *s, const char *name)
{
    struct slot *sl = strtab_find(&s->tab, name);
    if (!sl)
        return 0;
    bool counted = !(sl->flags & SLOT_IGNORED);
    if (counted)
        account(s, sl, -1);
    else
        s->ignored--;
    s->name_bytes -= strlen(sl->k.key) + 1;
    strtab_remove(&s->tab, sl);
    return counted;
}

int node_set_upsert(struct node_set *s, const struct node_obs *n)
{
    bool added;
    struct slot *sl = strtab_insert(&s->tab, n->name, &added);
    if (!sl)
        return -1;
    if (added)
        s->name_bytes += strlen(n->name) + 1;
    else if (sl->flags & SLOT_IGNORED)
        s->ignored--;
    else
        account(s, sl, -1);
    if (!n->counted) {
        sl->cpu_nano = 0;
        sl->flags = SLOT_IGNORED;
        sl->tags = 0;
        s->ignored++;
        return 0;
    }
    sl->cpu_nano = n->has_cpu ? n->cpu_nano : 0;
    sl->flags = (unsigned char)((n->schedulable ? SLOT_SCHEDULABLE : 0) | (n->has_cpu ? SLOT_HAS_CPU : 0) |
                                (n->ready ? SLOT_READY : 0));
    sl->tags = n->tags;
    account(s, sl, +1);
    return 0;
}

static int64_t ceil_cores(__int128 nano)
{
    __int128 q = nano / NANO_PER_UNIT, r = nano % NANO_PER_UNIT;
    if (r > 0)
        q++;
    if (q > INT64_MAX)
        return INT64_MAX;
    return (int64_t)q;
}

void node_set_summary(const struct node_set *s, struct cluster_summary *out)
{
    out->total_nodes = (int64_t)(s->tab.n - s->ignored);
    out->schedulable_nodes = s->sched_nodes;
    out->total_cores = ceil_cores(s->total_nano);
    out->schedulable_cores = ceil_cores(s->sched_nano);
    out->ready_nodes = s->ready_nodes;
}

void node_set_foreach(const struct node_set *s, void (*fn)(void *ctx, const char *name), void *ctx)
{
    size_t pos = 0;
    for (const struct slot *sl; (sl = strtab_next(&s->tab, &pos));)
        if (!(sl->flags & SLOT_IGNORED))
            fn(ctx, sl->k.key);
}

bool node_set_contains(const struct node_set *s, const char *name)
{
    const struct slot *sl = strtab_find(&s->tab, name);
    return sl && !(sl->flags & SLOT_IGNORED);
}

int64_t node_set_tag_count(const struct node_set *s, int bit)
{
    return bit >= 0 && bit < 16 ? s->tag_sched[bit] : 0;
}
