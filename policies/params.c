#include "params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gojson.h"

/* ------------------------------------------------------------------------------------------ */
/* ConfigMap data                                                                              */

void cm_data_init(struct cm_data *d)
{
    d->entries = NULL;
    d->n = 0;
}

void cm_data_release(struct cm_data *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->entries[i].key);
        free(d->entries[i].value);
    }
    free(d->entries);
    d->entries = NULL;
    d->n = 0;
}

const struct cm_entry *cm_data_get(const struct cm_data *d, const char *key)
{
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->entries[i].key, key) == 0)
            return &d->entries[i];
    return NULL;
}

int cm_data_set(struct cm_data *d, const char *key, const char *value, size_t value_len)
{
    char *v = malloc(value_len + 1);
    if (!v)
        return -1;
    memcpy(v, value, value_len);
    v[value_len] = '\0';
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->entries[i].key, key) == 0) {
            free(d->entries[i].value);
            d->entries[i].value = v;
            d->entries[i].value_len = value_len;
            return 0;
        }
    char *k = strdup(key);
    struct cm_entry *e = realloc(d->entries, (d->n + 1) * sizeof *e);
    if (!k || !e) {
        free(k);
        free(v);
        if (e)
            d->entries = e;
        return -1;
    }
    d->entries = e;
    size_t pos = d->n;
    while (pos > 0 && strcmp(e[pos - 1].key, key) > 0)
        pos--;
    memmove(e + pos + 1, e + pos, (d->n - pos) * sizeof *e);
    e[pos] = (struct cm_entry){.key = k, .value = v, .value_len = value_len};
    d->n++;
    return 0;
}

int params_parse_default(const char *json, size_t len, struct cm_data *out, char *err, size_t errlen)
{
    struct gj_value *root = NULL;
    struct buf b;
    buf_init(&b, PARAMS_MAX_VALUE);
    int rc = -1;
    if (gj_parse(json, len, &root, err, errlen) != 0)
        goto done;
    if (root->type != GJ_OBJECT && root->type != GJ_NULL) {
        static const char *names[] = {"", "bool", "bool", "number", "string", "array", ""};
        snprintf(err, errlen, "json: cannot unmarshal %s into Go value of type map[string]interface {}",
                 names[root->type]);
        goto done;
    }
    /* Marshal every value first: Go fails the whole Unmarshal on any bad number. */
    for (const struct gj_value *m = root->first; m; m = m->next) {
        buf_reset(&b);
        if (gj_marshal_go(m, &b, err, errlen) != 0)
            goto done;
    }
    for (const struct gj_value *m = root->first; m; m = m->next) {
        buf_reset(&b);
        if (gj_marshal_go(m, &b, err, errlen) != 0)
            goto done;
        if (memchr(m->key, '\0', m->key_len)) {
            snprintf(err, errlen, "key contains a NUL character");
            goto done;
        }
        if (cm_data_set(out, m->key, b.data ? b.data : "", b.len) != 0) {
            snprintf(err, errlen, "out of memory");
            goto done;
        }
    }
    rc = 0;
done:
    buf_release(&b);
    gj_free(root);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Go's json.Unmarshal into CPA's param structs                                                */

/* Go keeps the first type error, finishes decoding, and returns that error. */
struct decode_ctx {
    const char *struct_name; /* "linearParams" / "ladderParams" */
    const char *go_type;     /* for top-level errors: "linearcontroller.linearParams" */
    bool failed;
    char msg[512];
};

static void type_error(struct decode_ctx *ctx, const struct gj_value *v, bool literal,
                       const char *field, const char *type)
{
    if (ctx->failed)
        return;
    ctx->failed = true;
    static const char *names[] = {"null", "bool", "bool", "number", "string", "array", "object"};
    char what[160];
    if (literal && v->type == GJ_NUMBER)
        snprintf(what, sizeof what, "number %.*s", (int)(v->text_len > 120 ? 120 : v->text_len), v->text);
    else
        snprintf(what, sizeof what, "%s", names[v->type]);
    if (field)
        snprintf(ctx->msg, sizeof ctx->msg, "json: cannot unmarshal %s into Go struct field %s.%s of type %s",
                 what, ctx->struct_name, field, type);
    else
        snprintf(ctx->msg, sizeof ctx->msg, "json: cannot unmarshal %s into Go value of type %s", what, type);
}

static void decode_float(struct decode_ctx *ctx, const struct gj_value *v, const char *field, double *dst)
{
    if (v->type == GJ_NULL)
        return;
    if (v->type != GJ_NUMBER) {
        type_error(ctx, v, false, field, "float64");
        return;
    }
    double d;
    if (gj_parse_float(v->text, v->text_len, &d) != 0)
        type_error(ctx, v, true, field, "float64");
    else
        *dst = d;
}

static void decode_int(struct decode_ctx *ctx, const struct gj_value *v, const char *field, int64_t *dst)
{
    if (v->type == GJ_NULL)
        return;
    if (v->type != GJ_NUMBER) {
        type_error(ctx, v, false, field, "int");
        return;
    }
    int64_t n;
    if (gj_parse_int(v->text, v->text_len, &n) != 0)
        type_error(ctx, v, true, field, "int");
    else
        *dst = n;
}

static void decode_bool(struct decode_ctx *ctx, const struct gj_value *v, const char *field, bool *dst)
{
    if (v->type == GJ_NULL)
        return;
    if (v->type == GJ_TRUE || v->type == GJ_FALSE)
        *dst = v->type == GJ_TRUE;
    else
        type_error(ctx, v, false, field, "bool");
}

/* Top-level value must be an object (or null, which leaves every field zero). */
static bool decode_top(struct decode_ctx *ctx, const struct gj_value *root)
{
    if (root->type == GJ_OBJECT)
        return true;
    if (root->type != GJ_NULL)
        type_error(ctx, root, false, NULL, ctx->go_type);
    return false;
}

static int finish_decode(struct decode_ctx *ctx, char *err, size_t errlen)
{
    if (!ctx->failed)
        return 0;
    snprintf(err, errlen, "could not parse parameters (%s)", ctx->msg);
    return -1;
}

int params_parse_linear(const char *json, size_t len, struct linear_params *out, char *err, size_t errlen)
{
    struct linear_params p = {0};
    struct gj_value *root = NULL;
    char jerr[512];
    if (gj_parse(json, len, &root, jerr, sizeof jerr) != 0) {
        snprintf(err, errlen, "could not parse parameters (%s)", jerr);
        return -1;
    }
    struct decode_ctx ctx = {.struct_name = "linearParams", .go_type = "linearcontroller.linearParams"};
    if (decode_top(&ctx, root)) {
        for (const struct gj_value *m = root->first; m; m = m->next) {
            if (gj_key_matches(m->key, m->key_len, "coresPerReplica"))
                decode_float(&ctx, m, "coresPerReplica", &p.cores_per_replica);
            else if (gj_key_matches(m->key, m->key_len, "nodesPerReplica"))
                decode_float(&ctx, m, "nodesPerReplica", &p.nodes_per_replica);
            else if (gj_key_matches(m->key, m->key_len, "min"))
                decode_int(&ctx, m, "min", &p.min);
            else if (gj_key_matches(m->key, m->key_len, "max"))
                decode_int(&ctx, m, "max", &p.max);
            else if (gj_key_matches(m->key, m->key_len, "preventSinglePointFailure"))
                decode_bool(&ctx, m, "preventSinglePointFailure", &p.prevent_single_point_failure);
            else if (gj_key_matches(m->key, m->key_len, "includeUnschedulableNodes"))
                decode_bool(&ctx, m, "includeUnschedulableNodes", &p.include_unschedulable_nodes);
        }
    }
    gj_free(root);
    if (finish_decode(&ctx, err, errlen) != 0)
        return -1;

    /* CPA's validation, in CPA's order. */
    if (p.min < 0) {
        snprintf(err, errlen, "invalid negative value for min: %lld", (long long)p.min);
        return -1;
    }
    if (p.min == 0)
        p.min = 1;
    if (p.max != 0 && p.max < p.min) {
        snprintf(err, errlen, "max replicas count %lld should be greater than / equal to min replicas count %lld",
                 (long long)p.max, (long long)p.min);
        return -1;
    }
    if (p.cores_per_replica == 0 && p.nodes_per_replica == 0) {
        snprintf(err, errlen, "should at least provide either CoresPerReplica or NodesPerReplica (Greater than 0)");
        return -1;
    }
    char num[64];
    if (p.cores_per_replica < 0) {
        gj_format_float_v(p.cores_per_replica, num, sizeof num);
        snprintf(err, errlen, "invalid negative value for coresPerReplica: %s", num);
        return -1;
    }
    if (p.nodes_per_replica < 0) {
        gj_format_float_v(p.nodes_per_replica, num, sizeof num);
        snprintf(err, errlen, "invalid negative value for nodesPerReplica: %s", num);
        return -1;
    }
    *out = p;
    return 0;
}

/* A Go slice of [2]int, with the length/capacity behaviour json.Unmarshal relies on: decoding
 * into an existing slice reuses its storage, so a null element can keep an earlier value. */
struct go_slice {
    struct ladder_step *data;
    size_t len, cap;
};

/* runtime.nextslicecap + roundupsize for 16-byte elements. */
static size_t go_grow_cap(size_t old_cap, size_t new_len)
{
    size_t newcap = old_cap, dbl = old_cap * 2;
    if (new_len > dbl) {
        newcap = new_len;
    } else if (old_cap < 256) {
        newcap = dbl;
    } else {
        while (newcap < new_len)
            newcap += (newcap + 3 * 256) >> 2;
    }
    static const size_t classes[] = {
        16, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352,
        384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048,
        2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728,
        10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576, 27264, 28672,
        32768};
    size_t bytes = newcap * sizeof(struct ladder_step);
    size_t rounded = 0;
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (classes[i] >= bytes) {
            rounded = classes[i];
            break;
        }
    if (!rounded)
        rounded = (bytes + 8191) & ~(size_t)8191;
    return rounded / sizeof(struct ladder_step);
}

static int decode_entries(struct decode_ctx *ctx, const struct gj_value *v, const char *field, struct go_slice *s)
{
    if (v->type == GJ_NULL) {
        free(s->data);
        *s = (struct go_slice){0};
        return 0;
    }
    if (v->type != GJ_ARRAY) {
        type_error(ctx, v, false, field, "laddercontroller.paramEntries");
        return 0;
    }
    size_t i = 0;
    for (const struct gj_value *el = v->first; el; el = el->next, i++) {
        if (i >= s->cap) {
            size_t cap = go_grow_cap(s->cap, s->cap + 1);
            struct ladder_step *d = realloc(s->data, cap * sizeof *d);
            if (!d)
                return -1;
            memset(d + s->cap, 0, (cap - s->cap) * sizeof *d);
            s->data = d;
            s->cap = cap;
        }
        if (i >= s->len)
            s->len = i + 1;
        struct ladder_step *e = &s->data[i];
        if (el->type == GJ_NULL)
            continue;
        if (el->type != GJ_ARRAY) {
            type_error(ctx, el, false, field, "laddercontroller.paramEntry");
            continue;
        }
        /* [2]int: extra elements are skipped unchecked, missing ones are zeroed. */
        size_t j = 0;
        for (const struct gj_value *x = el->first; x && j < 2; x = x->next, j++)
            decode_int(ctx, x, field, j == 0 ? &e->threshold : &e->replicas);
        if (j < 1)
            e->threshold = 0;
        if (j < 2)
            e->replicas = 0;
    }
    if (i < s->len)
        s->len = i;
    if (i == 0) {
        free(s->data);
        *s = (struct go_slice){0};
    }
    return 0;
}

static int check_entries(const struct go_slice *s, const char *map_name, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->len; i++)
        if (s->data[i].threshold < 0 || s->data[i].replicas < 0) {
            snprintf(err, errlen, "invalid negative values in entry [%lld %lld] in %s",
                     (long long)s->data[i].threshold, (long long)s->data[i].replicas, map_name);
            return -1;
        }
    return 0;
}

/* Stable insertion sort by threshold (Go's sort.Sort is an insertion sort up to 12 entries). */
static void sort_steps(struct ladder_step *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct ladder_step x = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1].threshold > x.threshold) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

int params_parse_ladder(const char *json, size_t len, struct ladder_params *out, char *err, size_t errlen)
{
    struct gj_value *root = NULL;
    char jerr[512];
    if (gj_parse(json, len, &root, jerr, sizeof jerr) != 0) {
        snprintf(err, errlen, "could not parse parameters (%s)", jerr);
        return -1;
    }
    struct go_slice cores = {0}, nodes = {0};
    bool include = false;
    int rc = -1;
    struct decode_ctx ctx = {.struct_name = "ladderParams", .go_type = "laddercontroller.ladderParams"};
    if (decode_top(&ctx, root)) {
        for (const struct gj_value *m = root->first; m; m = m->next) {
            int r = 0;
            if (gj_key_matches(m->key, m->key_len, "coresToReplicas"))
                r = decode_entries(&ctx, m, "coresToReplicas", &cores);
            else if (gj_key_matches(m->key, m->key_len, "nodesToReplicas"))
                r = decode_entries(&ctx, m, "nodesToReplicas", &nodes);
            else if (gj_key_matches(m->key, m->key_len, "includeUnschedulableNodes"))
                decode_bool(&ctx, m, "includeUnschedulableNodes", &include);
            if (r != 0) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
        }
    }
    if (finish_decode(&ctx, err, errlen) != 0)
        goto done;
    if (check_entries(&cores, "cores_to_replicas_map", err, errlen) != 0 ||
        check_entries(&nodes, "nodes_to_replicas_map", err, errlen) != 0)
        goto done;
    sort_steps(cores.data, cores.len);
    sort_steps(nodes.data, nodes.len);
    out->cores_to_replicas = cores.data;
    out->n_cores = cores.len;
    out->nodes_to_replicas = nodes.data;
    out->n_nodes = nodes.len;
    out->include_unschedulable_nodes = include;
    cores.data = nodes.data = NULL;
    rc = 0;
done:
    free(cores.data);
    free(nodes.data);
    gj_free(root);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */

void params_init(struct params *p) { memset(p, 0, sizeof *p); }

void params_release(struct params *p)
{
    free(p->ladder.cores_to_replicas);
    free(p->ladder.nodes_to_replicas);
    memset(p, 0, sizeof *p);
}

const char *params_mode_name(enum params_mode m)
{
    return m == PARAMS_LINEAR ? "linear" : m == PARAMS_LADDER ? "ladder" : "none";
}

int params_copy(struct params *dst, const struct params *src)
{
    struct params p = *src;
    p.ladder.cores_to_replicas = NULL;
    p.ladder.nodes_to_replicas = NULL;
    if (src->ladder.n_cores) {
        p.ladder.cores_to_replicas = malloc(src->ladder.n_cores * sizeof(struct ladder_step));
        if (!p.ladder.cores_to_replicas)
            return -1;
        memcpy(p.ladder.cores_to_replicas, src->ladder.cores_to_replicas, src->ladder.n_cores * sizeof(struct ladder_step));
    }
    if (src->ladder.n_nodes) {
        p.ladder.nodes_to_replicas = malloc(src->ladder.n_nodes * sizeof(struct ladder_step));
        if (!p.ladder.nodes_to_replicas) {
            free(p.ladder.cores_to_replicas);
            return -1;
        }
        memcpy(p.ladder.nodes_to_replicas, src->ladder.nodes_to_replicas, src->ladder.n_nodes * sizeof(struct ladder_step));
    }
    params_release(dst);
    *dst = p;
    return 0;
}

int params_from_configmap(const struct cm_data *data, struct params *out, char *err, size_t errlen)
{
    if (data->n != 1) {
        /* Go's %v of a map[string]string: map[k1:v1 k2:v2], keys sorted. */
        struct buf b;
        buf_init(&b, errlen ? errlen : 1);
        buf_puts(&b, "invalid configMap format, expected only one entry, got: map[");
        for (size_t i = 0; i < data->n; i++)
            buf_printf(&b, "%s%s:%s", i ? " " : "", data->entries[i].key, data->entries[i].value);
        buf_putc(&b, ']');
        snprintf(err, errlen, "%s", b.data ? b.data : "invalid configMap format, expected only one entry");
        buf_release(&b);
        return -1;
    }
    const struct cm_entry *e = &data->entries[0];
    struct params p;
    params_init(&p);
    char inner[640];
    if (strcmp(e->key, "linear") == 0) {
        p.mode = PARAMS_LINEAR;
        if (params_parse_linear(e->value, e->value_len, &p.linear, inner, sizeof inner) != 0) {
            snprintf(err, errlen, "Error syncing configMap with controller: error parsing linear params: %s", inner);
            return -1;
        }
    } else if (strcmp(e->key, "ladder") == 0) {
        p.mode = PARAMS_LADDER;
        if (params_parse_ladder(e->value, e->value_len, &p.ladder, inner, sizeof inner) != 0) {
            snprintf(err, errlen, "Error syncing configMap with controller: error parsing ladder params: %s", inner);
            return -1;
        }
    } else {
        snprintf(err, errlen, "not a supported control mode: %s", e->key);
        return -1;
    }
    params_release(out);
    *out = p;
    return 0;
}
