#include "nodejson.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hexdigit.h"
#include "jsonscan.h"

/* Containers nested deeper than this are declined (cJSON's own limit is 1000). */
#define STRICT_MAX_DEPTH 256

/* ------------------------------------------------------------------------------------------ */
/* A strict RFC 8259 scanner. Every function takes the position of a token and returns the      */
/* position after it, or NULL to decline: the bytes are not strict JSON, or not in the subset   */
/* whose cJSON reading is known exactly.                                                        */

static inline const char *ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}


/* p at '"'. *escaped: the string holds an escape (its cJSON value differs from its bytes). Raw
 * control bytes are declined (cJSON takes them; JSON does not), and so are \u escapes of UTF-16
 * surrogates (cJSON's pairing rules differ from other decoders'). */
static const char *str(const char *p, const char *e, bool *escaped)
{
    bool any = false;
    p++;
    for (;;) {
        p = json_string_stop(p, e, true);
        if (p >= e || (unsigned char)*p < 0x20)
            return NULL;
        if (*p == '"') {
            *escaped = any;
            return p + 1;
        }
        any = true;
        if (e - p < 2)
            return NULL;
        char c = p[1];
        if (c == 'u') {
            if (e - p < 6)
                return NULL;
            int v = 0;
            for (int i = 2; i < 6; i++) {
                int h = hex_digit_value(p[i]);
                if (h < 0)
                    return NULL;
                v = v * 16 + h;
            }
            if (v >= 0xD800 && v <= 0xDFFF)
                return NULL;
            p += 6;
        } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't') {
            p += 2;
        } else {
            return NULL;
        }
    }
}

static inline bool digit(const char *p, const char *e) { return p < e && *p >= '0' && *p <= '9'; }

/* cJSON reads a number as the run of [0-9+-eE.] bytes (at most 63) given to strtod: a strict
 * number followed by another such byte, or longer than that, is declined. */
static const char *num(const char *p, const char *e)
{
    const char *s = p;
    if (p < e && *p == '-')
        p++;
    if (!digit(p, e))
        return NULL;
    if (*p == '0')
        p++;
    else
        while (digit(p, e))
            p++;
    if (p < e && *p == '.') {
        p++;
        if (!digit(p, e))
            return NULL;
        while (digit(p, e))
            p++;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < e && (*p == '+' || *p == '-'))
            p++;
        if (!digit(p, e))
            return NULL;
        while (digit(p, e))
            p++;
    }
    if (p - s > 63 || (p < e && (*p == '+' || *p == '-' || *p == '.' || *p == 'e' || *p == 'E')))
        return NULL;
    return p;
}

static const char *lit(const char *p, const char *e, const char *word, size_t n)
{
    return (size_t)(e - p) >= n && memcmp(p, word, n) == 0 ? p + n : NULL;
}

static const char *skip(const char *p, const char *e, int depth)
{
    if (p >= e)
        return NULL;
    bool esc;
    switch (*p) {
    case '"':
        return str(p, e, &esc);
    case '{':
        if (depth >= STRICT_MAX_DEPTH)
            return NULL;
        p = ws(p + 1, e);
        if (p < e && *p == '}')
            return p + 1;
        for (;;) {
            if (p >= e || *p != '"' || !(p = str(p, e, &esc)))
                return NULL;
            p = ws(p, e);
            if (p >= e || *p != ':')
                return NULL;
            if (!(p = skip(ws(p + 1, e), e, depth + 1)))
                return NULL;
            p = ws(p, e);
            if (p < e && *p == ',')
                p = ws(p + 1, e);
            else
                return p < e && *p == '}' ? p + 1 : NULL;
        }
    case '[':
        if (depth >= STRICT_MAX_DEPTH)
            return NULL;
        p = ws(p + 1, e);
        if (p < e && *p == ']')
            return p + 1;
        for (;;) {
            if (!(p = skip(p, e, depth + 1)))
                return NULL;
            p = ws(p, e);
            if (p < e && *p == ',')
                p = ws(p + 1, e);
            else
                return p < e && *p == ']' ? p + 1 : NULL;
        }
    case 't':
        return lit(p, e, "true", 4);
    case 'f':
        return lit(p, e, "false", 5);
    case 'n':
        return lit(p, e, "null", 4);
    default:
        return num(p, e);
    }
}

const char *json_strict_value_end(const char *p, const char *end)
{
    return skip(ws(p, end), end, 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Walking the objects counting reads                                                          */

/* Called for each member of a walked object with the key and the value's position; returns the
 * position after the value (consumed or skipped), or NULL to decline. */
typedef const char *(*member_fn)(void *ctx, const char *key, size_t klen, const char *v, const char *e, int depth);

/* p at '{'. A key with an escape is declined: it might be a key the caller reads in disguise. */
static const char *walk(const char *p, const char *e, int depth, member_fn fn, void *ctx)
{
    if (depth >= STRICT_MAX_DEPTH)
        return NULL;
    p = ws(p + 1, e);
    if (p < e && *p == '}')
        return p + 1;
    for (;;) {
        bool esc;
        const char *k = p;
        if (p >= e || *p != '"' || !(p = str(p, e, &esc)) || esc)
            return NULL;
        size_t klen = (size_t)(p - k) - 2;
        p = ws(p, e);
        if (p >= e || *p != ':')
            return NULL;
        p = ws(p + 1, e);
        if (p >= e || !(p = fn(ctx, k + 1, klen, p, e, depth + 1)))
            return NULL;
        p = ws(p, e);
        if (p < e && *p == ',')
            p = ws(p + 1, e);
        else
            return p < e && *p == '}' ? p + 1 : NULL;
    }
}

static inline bool key_is(const char *k, size_t n, const char *lit_, size_t litn)
{
    return n == litn && memcmp(k, lit_, n) == 0;
}
#define KEY(s) key_is(key, klen, s, sizeof(s) - 1)

/* A string read for its value: only without escapes (then cJSON's value is its bytes). Sets the
 * span of its characters. */
static const char *plain(const char *v, const char *e, struct json_span *out)
{
    bool esc;
    const char *after = str(v, e, &esc);
    if (!after || esc)
        return NULL;
    out->p = v + 1;
    out->len = (size_t)(after - v) - 2;
    return after;
}

/* What a walk has found. Each `seen_*` makes a later duplicate key a skipped one: cJSON's getters
 * return the first member of a name. */
struct found {
    bool seen_kind, seen_meta, seen_spec, seen_status;
    bool seen_name, seen_labels, seen_rv;
    bool seen_unsched, seen_taints;
    bool seen_alloc, seen_cpu, seen_conditions;
    struct json_span name, labels, rv, taints, cpu;
    bool unschedulable, ready;
    /* one condition being read */
    bool seen_ctype, seen_cstatus, c_is_ready, c_true;
};

static const char *span_value(const char *v, const char *e, int depth, struct json_span *out)
{
    const char *after = skip(v, e, depth);
    if (after) {
        out->p = v;
        out->len = (size_t)(after - v);
    }
    return after;
}

static const char *meta_member(void *ctx, const char *key, size_t klen, const char *v, const char *e, int depth)
{
    struct found *f = ctx;
    if (KEY("name") && !f->seen_name) {
        f->seen_name = true;
        return *v == '"' ? plain(v, e, &f->name) : NULL; /* not a string: node_decode's error */
    }
    if (KEY("labels") && !f->seen_labels) {
        f->seen_labels = true;
        return span_value(v, e, depth, &f->labels);
    }
    if (KEY("resourceVersion") && !f->seen_rv) {
        f->seen_rv = true;
        if (*v == '"')
            return plain(v, e, &f->rv);
    }
    return skip(v, e, depth);
}

static const char *spec_member(void *ctx, const char *key, size_t klen, const char *v, const char *e, int depth)
{
    struct found *f = ctx;
    if (KEY("unschedulable") && !f->seen_unsched) {
        f->seen_unsched = true;
        const char *after = lit(v, e, "true", 4);
        if (after) {
            f->unschedulable = true;
            return after;
        }
        if ((after = lit(v, e, "false", 5)) || (after = lit(v, e, "null", 4)))
            return after;
        return NULL; /* node_decode's error */
    }
    if (KEY("taints") && !f->seen_taints) {
        f->seen_taints = true;
        return span_value(v, e, depth, &f->taints);
    }
    return skip(v, e, depth);
}

static const char *alloc_member(void *ctx, const char *key, size_t klen, const char *v, const char *e, int depth)
{
    struct found *f = ctx;
    if (KEY("cpu") && !f->seen_cpu) {
        f->seen_cpu = true;
        if (*v == '"')
            return plain(v, e, &f->cpu);
        return lit(v, e, "null", 4); /* a bare number or an error: the general path */
    }
    return skip(v, e, depth);
}

static const char *cond_member(void *ctx, const char *key, size_t klen, const char *v, const char *e, int depth)
{
    struct found *f = ctx;
    struct json_span s;
    if (KEY("type") && !f->seen_ctype) {
        f->seen_ctype = true;
        if (*v == '"') {
            const char *after = plain(v, e, &s);
            f->c_is_ready = after && s.len == 5 && memcmp(s.p, "Ready", 5) == 0;
            return after;
        }
    } else if (KEY("status") && !f->seen_cstatus) {
        f->seen_cstatus = true;
        if (*v == '"') {
            const char *after = plain(v, e, &s);
            f->c_true = after && s.len == 4 && memcmp(s.p, "True", 4) == 0;
            return after;
        }
    }
    return skip(v, e, depth);
}

/* status.conditions: an array of objects; the last Ready condition decides (node_decode reads
 * them all in order). An object there is declined: cJSON would iterate its members. */
static const char *conditions(struct found *f, const char *p, const char *e, int depth)
{
    if (*p == '{')
        return NULL;
    if (*p != '[')
        return skip(p, e, depth);
    if (depth >= STRICT_MAX_DEPTH)
        return NULL;
    p = ws(p + 1, e);
    if (p < e && *p == ']')
        return p + 1;
    for (;;) {
        if (p >= e)
            return NULL;
        if (*p == '{') {
            f->seen_ctype = f->seen_cstatus = f->c_is_ready = f->c_true = false;
            if (!(p = walk(p, e, depth + 1, cond_member, f)))
                return NULL;
            if (f->c_is_ready)
                f->ready = f->c_true;
        } else if (!(p = skip(p, e, depth + 1))) {
            return NULL;
        }
        p = ws(p, e);
        if (p < e && *p == ',')
            p = ws(p + 1, e);
        else
            return p < e && *p == ']' ? p + 1 : NULL;
    }
}

static const char *status_member(void *ctx, const char *key, size_t klen, const char *v, const char *e, int depth)
{
    struct found *f = ctx;
    if (KEY("allocatable") && !f->seen_alloc) {
        f->seen_alloc = true;
        if (*v == '{')
            return walk(v, e, depth, alloc_member, f);
    } else if (KEY("conditions") && !f->seen_conditions) {
        f->seen_conditions = true;
        return conditions(f, v, e, depth);
    }
    return skip(v, e, depth);
}

static const char *node_member(void *ctx, const char *key, size_t klen, const char *v, const char *e, int depth)
{
    struct found *f = ctx;
    if (KEY("kind") && !f->seen_kind) {
        f->seen_kind = true;
        struct json_span s;
        const char *after = *v == '"' ? plain(v, e, &s) : NULL;
        return after && s.len == 4 && memcmp(s.p, "Node", 4) == 0 ? after : NULL; /* else node_decode's error */
    }
    if (KEY("metadata") && !f->seen_meta) {
        f->seen_meta = true;
        return *v == '{' ? walk(v, e, depth, meta_member, f) : NULL; /* no name: node_decode's error */
    }
    if (KEY("spec") && !f->seen_spec) {
        f->seen_spec = true;
        if (*v == '{')
            return walk(v, e, depth, spec_member, f);
        return lit(v, e, "null", 4); /* any other type: node_decode's error */
    }
    if (KEY("status") && !f->seen_status) {
        f->seen_status = true;
        if (*v == '{')
            return walk(v, e, depth, status_member, f); /* another type is ignored, as cJSON's getters do */
    }
    return skip(v, e, depth);
}

/* ------------------------------------------------------------------------------------------ */

/* prefix: the object starts at json[0] and ends where it ends (*used), within len bytes; else it
 * is the whole of the len bytes (whitespace around it allowed). */
static int decode(const char *json, size_t len, bool prefix, size_t *used, const struct node_count_opts *opts,
                  struct node_obs *out, struct nodejson_extra *extra)
{
    const char *e = json + len;
    const char *p = prefix ? json : ws(json, e);
    struct found f;
    memset(&f, 0, sizeof f);
    if (p >= e || *p != '{' || !(p = walk(p, e, 0, node_member, &f)) || (!prefix && ws(p, e) != e) || !f.seen_name)
        return 0;
    if (prefix)
        *used = (size_t)(p - json);
    struct node_fields nf = {.name = f.name.p,
                             .name_len = f.name.len,
                             .cpu = f.cpu.p, /* NULL: absent or null */
                             .cpu_len = f.cpu.len,
                             .unschedulable = f.unschedulable,
                             .ready = f.ready};
    if (f.name.len == 0 || f.name.len > NODE_NAME_MAX)
        return 0; /* node_decode's error */
    cJSON *labels = NULL, *taints = NULL;
    if (opts && opts->selector && f.labels.len) {
        if (!(labels = cJSON_ParseWithLength(f.labels.p, f.labels.len)))
            return 0;
        nf.labels = node_label_lookup;
        nf.labels_ctx = labels;
    } else if (opts && opts->selector) {
        nf.labels = node_label_lookup;
        nf.labels_ctx = NULL;
    }
    if (opts && opts->n_ignore_taints && f.taints.len) {
        if (!(taints = cJSON_ParseWithLength(f.taints.p, f.taints.len))) {
            cJSON_Delete(labels);
            return 0;
        }
        nf.has_ignored_taint = node_taints_ignored(opts, taints);
    }
    char err[8];
    int rc = node_obs_build(&nf, opts, out, err, sizeof err);
    cJSON_Delete(labels);
    cJSON_Delete(taints);
    if (rc != 0)
        return 0; /* the general path writes the message */
    if (extra) {
        extra->has_kind = f.seen_kind;
        extra->labels = f.labels;
        extra->taints = f.taints;
        extra->resource_version = f.rv;
    }
    return 1;
}

int nodejson_decode(const char *json, size_t len, const struct node_count_opts *opts, struct node_obs *out,
                    struct nodejson_extra *extra)
{
    return decode(json, len, false, NULL, opts, out, extra);
}

int nodejson_decode_prefix(const char *json, size_t avail, const struct node_count_opts *opts, struct node_obs *out,
                           struct nodejson_extra *extra, size_t *used)
{
    return decode(json, avail, true, used, opts, out, extra);
}

/* ------------------------------------------------------------------------------------------ */
/* Watch event envelopes                                                                        */

struct envelope {
    bool seen_type, seen_object, seen_t, has_t;
    struct json_span type, object, t;
};

static const char *envelope_member(void *ctx, const char *key, size_t klen, const char *v, const char *e, int depth)
{
    struct envelope *en = ctx;
    if (KEY("type") && !en->seen_type) {
        en->seen_type = true;
        return *v == '"' ? plain(v, e, &en->type) : NULL;
    }
    if (KEY("object") && !en->seen_object) {
        en->seen_object = true;
        return *v == '{' ? span_value(v, e, depth, &en->object) : NULL;
    }
    if (KEY("t")) {
        en->has_t = true;
        if (!en->seen_t) {
            en->seen_t = true;
            const char *after = num(v, e); /* not a number: watch_event_parse's error */
            if (after)
                en->t = (struct json_span){v, (size_t)(after - v)};
            return after;
        }
    }
    return skip(v, e, depth);
}

static int envelope(const char *line, size_t len, struct envelope *en, enum watch_event_type *type)
{
    const char *e = line + len;
    const char *p = ws(line, e);
    memset(en, 0, sizeof *en);
    if (p >= e || *p != '{' || !(p = walk(p, e, 0, envelope_member, en)) || ws(p, e) != e || !en->seen_type ||
        !en->seen_object)
        return 0;
    for (int k = WEV_ADDED; k <= WEV_ERROR; k++) {
        const char *name = watch_event_type_name((enum watch_event_type)k);
        if (strlen(name) == en->type.len && memcmp(name, en->type.p, en->type.len) == 0) {
            *type = (enum watch_event_type)k;
            return 1;
        }
    }
    return 0;
}

int nodejson_event_envelope(const char *line, size_t len, enum watch_event_type *type, struct json_span *object)
{
    struct envelope en;
    if (!envelope(line, len, &en, type) || en.has_t)
        return 0;
    *object = en.object;
    return 1;
}

int nodejson_event_shape(const char *line, size_t len, enum watch_event_type *type, struct json_span *object)
{
    const char *e = line + len;
    const char *p = ws(line, e);
    while (e > p && (e[-1] == ' ' || e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\t'))
        e--;
    static const char head[] = "{\"type\":\"", mid[] = "\",\"object\":";
    if ((size_t)(e - p) < sizeof head - 1 || memcmp(p, head, sizeof head - 1) != 0)
        return 0;
    p += sizeof head - 1;
    const char *name = p;
    while (p < e && *p >= 'A' && *p <= 'Z')
        p++;
    size_t name_len = (size_t)(p - name);
    if ((size_t)(e - p) < sizeof mid - 1 + 2 || memcmp(p, mid, sizeof mid - 1) != 0)
        return 0;
    p += sizeof mid - 1;
    if (*p != '{' || e[-1] != '}')
        return 0;
    for (int k = WEV_ADDED; k <= WEV_ERROR; k++) {
        const char *n = watch_event_type_name((enum watch_event_type)k);
        if (strlen(n) == name_len && memcmp(n, name, name_len) == 0) {
            *type = (enum watch_event_type)k;
            *object = (struct json_span){p, (size_t)(e - 1 - p)};
            return 1;
        }
    }
    return 0;
}

int nodejson_trace_line(const char *line, size_t len, const struct node_count_opts *opts, struct nodeline *out)
{
    struct envelope en;
    enum watch_event_type type;
    struct nodejson_extra x;
    if (!envelope(line, len, &en, &type) || !en.seen_t || type > WEV_DELETED)
        return 0;
    /* cJSON reads a number as strtod of its characters: the same double, bit for bit */
    char text[64];
    memcpy(text, en.t.p, en.t.len); /* num() allows at most 63 */
    text[en.t.len] = '\0';
    double t = strtod(text, NULL);
    if (!(t >= 0) || !isfinite(t))
        return 0;
    if (nodejson_decode(en.object.p, en.object.len, opts, &out->node, &x) != 1 || !x.has_kind)
        return 0; /* a trace reader skips other kinds, and counts a Node only with its kind */
    out->t = t;
    out->type = type;
    return 1;
}
