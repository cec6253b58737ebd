#include "selector.h"

#include <cjson/cJSON.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum sel_op { OP_EQ, OP_NE, OP_IN, OP_NOTIN, OP_EXISTS, OP_NOT_EXISTS, OP_GT, OP_LT };

struct requirement {
    char *key;
    enum sel_op op;
    char **values;
    size_t n_values;
    long long number; /* OP_GT / OP_LT */
};

struct selector {
    struct requirement *reqs;
    size_t n;
};

void selector_free(struct selector *sel)
{
    if (!sel)
        return;
    for (size_t i = 0; i < sel->n; i++) {
        free(sel->reqs[i].key);
        for (size_t j = 0; j < sel->reqs[i].n_values; j++)
            free(sel->reqs[i].values[j]);
        free(sel->reqs[i].values);
    }
    free(sel->reqs);
    free(sel);
}

bool selector_is_empty(const struct selector *sel) { return !sel || sel->n == 0; }

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, 1..63 chars */
static bool valid_name(const char *s, size_t len)
{
    if (len == 0 || len > 63 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

/* DNS-1123 subdomain: lowercase labels [a-z0-9]([-a-z0-9]*[a-z0-9])? joined by dots, <= 253. */
static bool valid_subdomain(const char *s, size_t len)
{
    if (len == 0 || len > 253)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == '.') {
            size_t l = i - start;
            if (l == 0 || l > 63)
                return false;
            const char *p = s + start;
            bool lo0 = (p[0] >= 'a' && p[0] <= 'z') || (p[0] >= '0' && p[0] <= '9');
            bool lo1 = (p[l - 1] >= 'a' && p[l - 1] <= 'z') || (p[l - 1] >= '0' && p[l - 1] <= '9');
            if (!lo0 || !lo1)
                return false;
            for (size_t k = 0; k < l; k++)
                if (!((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= '0' && p[k] <= '9') || p[k] == '-'))
                    return false;
            start = i + 1;
        }
    }
    return true;
}

bool selector_valid_key(const char *key, size_t len)
{
    const char *slash = memchr(key, '/', len);
    if (!slash)
        return valid_name(key, len);
    size_t plen = (size_t)(slash - key);
    return valid_subdomain(key, plen) && valid_name(slash + 1, len - plen - 1);
}

bool selector_valid_value(const char *value, size_t len) { return len == 0 || valid_name(value, len); }

/* ------------------------------------------------------------------------------------------ */
/* Lexer: identifiers are runs of anything but whitespace and the special symbols.             */

enum tok { T_END, T_IDENT, T_EQ, T_DEQ, T_NE, T_NOT, T_IN, T_NOTIN, T_LPAREN, T_RPAREN, T_COMMA, T_GT, T_LT };

struct lexer {
    const char *s;
    size_t pos, len;
    enum tok tok;
    const char *text;
    size_t text_len;
};

static bool is_special(char c) { return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<'; }
static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

static void lex_next(struct lexer *lx)
{
    while (lx->pos < lx->len && is_ws(lx->s[lx->pos]))
        lx->pos++;
    lx->text = lx->s + lx->pos;
    lx->text_len = 0;
    if (lx->pos >= lx->len) {
        lx->tok = T_END;
        return;
    }
    char c = lx->s[lx->pos];
    char n = lx->pos + 1 < lx->len ? lx->s[lx->pos + 1] : '\0';
    if (is_special(c)) {
        size_t l = 1;
        switch (c) {
        case '=': lx->tok = n == '=' ? (l = 2, T_DEQ) : T_EQ; break;
        case '!': lx->tok = n == '=' ? (l = 2, T_NE) : T_NOT; break;
        case '(': lx->tok = T_LPAREN; break;
        case ')': lx->tok = T_RPAREN; break;
        case ',': lx->tok = T_COMMA; break;
        case '>': lx->tok = T_GT; break;
        default: lx->tok = T_LT; break;
        }
        lx->text_len = l;
        lx->pos += l;
        return;
    }
    size_t start = lx->pos;
    while (lx->pos < lx->len && !is_ws(lx->s[lx->pos]) && !is_special(lx->s[lx->pos]))
        lx->pos++;
    lx->text_len = lx->pos - start;
    if (lx->text_len == 2 && memcmp(lx->text, "in", 2) == 0)
        lx->tok = T_IN;
    else if (lx->text_len == 5 && memcmp(lx->text, "notin", 5) == 0)
        lx->tok = T_NOTIN;
    else
        lx->tok = T_IDENT;
}

static int add_value(struct requirement *r, const char *v, size_t n)
{
    char **vals = realloc(r->values, (r->n_values + 1) * sizeof *vals);
    if (!vals)
        return -1;
    r->values = vals;
    if (!(vals[r->n_values] = strndup(v, n)))
        return -1;
    r->n_values++;
    return 0;
}

/* Report a parse error (the expression writes err) and unwind. */
#define FAIL(report) \
    do {             \
        (void)(report); \
        goto fail;   \
    } while (0)

static int perr(char *err, size_t errlen, const char *text, size_t pos, const char *what)
{
    snprintf(err, errlen, "invalid label selector \"%s\" at position %zu: %s", text, pos, what);
    return -1;
}

int selector_parse(const char *text, struct selector **out, char *err, size_t errlen)
{
    *out = NULL;
    size_t len = strlen(text);
    if (len > SELECTOR_MAX_LEN) {
        snprintf(err, errlen, "label selector too long (%zu bytes; the limit is %d)", len, SELECTOR_MAX_LEN);
        return -1;
    }
    struct selector *sel = calloc(1, sizeof *sel);
    if (!sel)
        goto oom;
    struct lexer lx = {.s = text, .pos = 0, .len = len};
    lex_next(&lx);
    if (lx.tok == T_END) {
        *out = sel;
        return 0;
    }
    for (;;) {
        struct requirement *reqs = realloc(sel->reqs, (sel->n + 1) * sizeof *reqs);
        if (!reqs)
            goto oom;
        sel->reqs = reqs;
        struct requirement *r = &reqs[sel->n];
        memset(r, 0, sizeof *r);
        sel->n++;

        size_t at = (size_t)(lx.text - text);
        bool negated = false;
        if (lx.tok == T_NOT) {
            negated = true;
            lex_next(&lx);
            at = (size_t)(lx.text - text);
        }
        if (lx.tok != T_IDENT)
            FAIL(perr(err, errlen, text, at, "expected a label key"));
        if (!selector_valid_key(lx.text, lx.text_len)) {
            char what[400];
            snprintf(what, sizeof what, "invalid label key \"%.*s\": a key is [prefix/]name, name up to 63 "
                     "characters of [A-Za-z0-9._-] starting and ending alphanumeric", (int)lx.text_len, lx.text);
            FAIL(perr(err, errlen, text, at, what));
        }
        if (!(r->key = strndup(lx.text, lx.text_len)))
            goto oom;
        lex_next(&lx);
        if (negated) {
            r->op = OP_NOT_EXISTS;
        } else if (lx.tok == T_END || lx.tok == T_COMMA) {
            r->op = OP_EXISTS;
        } else {
            enum tok op = lx.tok;
            size_t opat = (size_t)(lx.text - text);
            lex_next(&lx);
            if (op == T_EQ || op == T_DEQ || op == T_NE) {
                r->op = op == T_NE ? OP_NE : OP_EQ;
                const char *v = "";
                size_t vl = 0;
                if (lx.tok == T_IDENT || lx.tok == T_IN || lx.tok == T_NOTIN) {
                    v = lx.text;
                    vl = lx.text_len;
                    lex_next(&lx);
                } else if (lx.tok != T_END && lx.tok != T_COMMA) {
                    FAIL(perr(err, errlen, text, (size_t)(lx.text - text), "expected a label value"));
                }
                if (!selector_valid_value(v, vl)) {
                    char what[300];
                    snprintf(what, sizeof what, "invalid label value \"%.*s\": up to 63 characters of "
                             "[A-Za-z0-9._-] starting and ending alphanumeric", (int)vl, v);
                    FAIL(perr(err, errlen, text, opat, what));
                }
                if (add_value(r, v, vl) != 0)
                    goto oom;
            } else if (op == T_IN || op == T_NOTIN) {
                r->op = op == T_IN ? OP_IN : OP_NOTIN;
                if (lx.tok != T_LPAREN)
                    FAIL(perr(err, errlen, text, (size_t)(lx.text - text), "expected '(' after in/notin"));
                lex_next(&lx);
                for (;;) {
                    const char *v = "";
                    size_t vl = 0;
                    if (lx.tok == T_IDENT || lx.tok == T_IN || lx.tok == T_NOTIN) {
                        v = lx.text;
                        vl = lx.text_len;
                        lex_next(&lx);
                    }
                    if (!selector_valid_value(v, vl))
                        FAIL(perr(err, errlen, text, (size_t)(v - text), "invalid label value in set"));
                    if (lx.tok != T_COMMA && lx.tok != T_RPAREN)
                        FAIL(perr(err, errlen, text, (size_t)(lx.text - text), "expected ',' or ')' in value set"));
                    if (vl > 0 || lx.tok == T_COMMA || r->n_values > 0)
                        if (add_value(r, v, vl) != 0)
                            goto oom;
                    if (lx.tok == T_RPAREN)
                        break;
                    lex_next(&lx);
                }
                lex_next(&lx);
                if (r->n_values == 0)
                    FAIL(perr(err, errlen, text, opat, "for 'in', 'notin' operators, values set can't be empty"));
            } else if (op == T_GT || op == T_LT) {
                r->op = op == T_GT ? OP_GT : OP_LT;
                if (lx.tok != T_IDENT)
                    FAIL(perr(err, errlen, text, (size_t)(lx.text - text), "expected an integer after '>' or '<'"));
                char num[32];
                if (lx.text_len >= sizeof num)
                    FAIL(perr(err, errlen, text, (size_t)(lx.text - text), "integer too long"));
                memcpy(num, lx.text, lx.text_len);
                num[lx.text_len] = '\0';
                char *end;
                r->number = strtoll(num, &end, 10);
                if (*end != '\0' || end == num)
                    FAIL(perr(err, errlen, text, (size_t)(lx.text - text), "for 'gt', 'lt' operators, the value must be an integer"));
                lex_next(&lx);
            } else {
                FAIL(perr(err, errlen, text, opat, "expected an operator (=, ==, !=, in, notin, >, <) or ','"));
            }
        }
        if (lx.tok == T_END)
            break;
        if (lx.tok != T_COMMA)
            FAIL(perr(err, errlen, text, (size_t)(lx.text - text), "expected ',' between requirements"));
        lex_next(&lx);
    }
    *out = sel;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    selector_free(sel);
    return -1;
}

static bool parse_ll(const char *s, long long *out)
{
    if (!*s)
        return false;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0')
        return false;
    *out = v;
    return true;
}

bool selector_matches(const struct selector *sel, selector_lookup_fn lookup, const void *ctx)
{
    if (!sel)
        return true;
    for (size_t i = 0; i < sel->n; i++) {
        const struct requirement *r = &sel->reqs[i];
        const char *v = lookup(ctx, r->key);
        bool in_set = false;
        if (v)
            for (size_t j = 0; j < r->n_values && !in_set; j++)
                in_set = strcmp(v, r->values[j]) == 0;
        bool ok;
        long long n;
        switch (r->op) {
        case OP_EQ: ok = v && in_set; break;
        case OP_IN: ok = v && in_set; break;
        case OP_NE: ok = !v || !in_set; break;
        case OP_NOTIN: ok = !v || !in_set; break;
        case OP_EXISTS: ok = v != NULL; break;
        case OP_NOT_EXISTS: ok = v == NULL; break;
        case OP_GT: ok = v && parse_ll(v, &n) && n > r->number; break;
        default: ok = v && parse_ll(v, &n) && n < r->number; break;
        }
        if (!ok)
            return false;
    }
    return true;
}

static const char *label_value(const cJSON *labels, const char *key)
{
    const cJSON *v = cJSON_IsObject(labels) ? cJSON_GetObjectItemCaseSensitive(labels, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

bool selector_object_matches(const cJSON *sel, const cJSON *labels)
{
    if (!cJSON_IsObject(sel))
        return false;
    const cJSON *kv;
    cJSON_ArrayForEach(kv, cJSON_GetObjectItemCaseSensitive(sel, "matchLabels"))
    {
        const char *v = label_value(labels, kv->string);
        if (!cJSON_IsString(kv) || !v || strcmp(v, kv->valuestring) != 0)
            return false;
    }
    const cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(sel, "matchExpressions"))
    {
        const cJSON *key = cJSON_GetObjectItemCaseSensitive(e, "key"), *op = cJSON_GetObjectItemCaseSensitive(e, "operator");
        if (!cJSON_IsString(key) || !cJSON_IsString(op))
            return false;
        const char *v = label_value(labels, key->valuestring);
        bool in = false;
        const cJSON *x;
        cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(e, "values")) in =
            in || (v && cJSON_IsString(x) && strcmp(x->valuestring, v) == 0);
        const char *o = op->valuestring;
        bool ok = strcmp(o, "In") == 0 ? in
                : strcmp(o, "NotIn") == 0 ? !in
                : strcmp(o, "Exists") == 0 ? v != NULL
                : strcmp(o, "DoesNotExist") == 0 ? v == NULL
                : false;
        if (!ok)
            return false;
    }
    return true;
}
