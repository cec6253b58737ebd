#include "nodeline.h"

#include <string.h>

#include "decimal.h"

/* A cursor over the line; every matcher returns false (decline) rather than failing. */
struct cur {
    const char *p, *end;
};

/* always inlined: with n a constant, the compiler compares in words instead of calling memcmp
 * (the call was 5% of a replay) */
static inline __attribute__((always_inline)) bool lit(struct cur *c, const char *s, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return false;
    c->p += n;
    return true;
}
#define LIT(c, s) lit((c), (s), sizeof(s) - 1)

/* A JSON string's contents up to the closing quote (consumed), when it has no escapes and no
 * control bytes: then cJSON's value is exactly these bytes. */
static bool plain_string(struct cur *c, const char **s, size_t *n)
{
    const char *start = c->p;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20 || ch == '\\')
            return false;
        c->p++;
    }
    if (c->p == c->end)
        return false;
    *s = start;
    *n = (size_t)(c->p - start);
    c->p++;
    return true;
}

/* T in the canonical form: decimal_parse gives strtod's double (what cJSON calls), or declines. */
static bool plain_number(struct cur *c, double *out)
{
    size_t n = decimal_parse(c->p, (size_t)(c->end - c->p), out);
    c->p += n;
    return n > 0;
}

struct hostname_label {
    char value[NODE_NAME_MAX + 1];
};

static const char *hostname_lookup(const void *ctx, const char *key)
{
    return strcmp(key, "kubernetes.io/hostname") == 0 ? ((const struct hostname_label *)ctx)->value : NULL;
}

int nodeline_decode(const char *line, size_t len, const struct node_count_opts *opts, struct nodeline *out)
{
    struct cur c = {line, line + len};
    const char *s;
    size_t n;
    if (!LIT(&c, "{\"t\":") || !plain_number(&c, &out->t) || !LIT(&c, ",\"type\":\""))
        return 0;
    if (LIT(&c, "DELETED\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"")) {
        if (!plain_string(&c, &s, &n) || !LIT(&c, "}}}") || c.p != c.end || n == 0 || n > NODE_NAME_MAX)
            return 0;
        memset(&out->node, 0, sizeof out->node);
        memcpy(out->node.name, s, n);
        out->type = WEV_DELETED;
        return 1;
    }
    if (LIT(&c, "ADDED"))
        out->type = WEV_ADDED;
    else if (LIT(&c, "MODIFIED"))
        out->type = WEV_MODIFIED;
    else
        return 0;

    struct node_fields f = {0};
    struct hostname_label host;
    const char *hv, *ready;
    size_t hn, ready_len;
    if (!LIT(&c, "\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"") ||
        !plain_string(&c, &f.name, &f.name_len) || !LIT(&c, ",\"labels\":{\"kubernetes.io/hostname\":\"") ||
        !plain_string(&c, &hv, &hn) || hn > NODE_NAME_MAX || !LIT(&c, "}},\"spec\":{"))
        return 0;
    if (LIT(&c, "\"unschedulable\":true"))
        f.unschedulable = true;
    else
        (void)LIT(&c, "\"unschedulable\":false");
    if (!LIT(&c, "},\"status\":{"))
        return 0;
    if (LIT(&c, "\"allocatable\":{\"cpu\":\"")) {
        if (!plain_string(&c, &f.cpu, &f.cpu_len) || !LIT(&c, "},"))
            return 0;
    }
    if (!LIT(&c, "\"conditions\":[{\"type\":\"Ready\",\"status\":\"") || !plain_string(&c, &ready, &ready_len) ||
        !LIT(&c, "}]}}}") || c.p != c.end)
        return 0;
    f.ready = ready_len == 4 && memcmp(ready, "True", 4) == 0;
    if (opts && opts->selector) { /* the only reader of labels */
        memcpy(host.value, hv, hn);
        host.value[hn] = '\0';
    }
    f.labels = hostname_lookup;
    f.labels_ctx = &host;
    /* no taints in this form, so an ignored taint never matches */
    char err[8];
    return node_obs_build(&f, opts, &out->node, err, sizeof err) == 0 ? 1 : 0;
}
