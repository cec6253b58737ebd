/*
 * gojson — see gojson.h. One file of ~1,000 lines on purpose: it is a transcription of Go's
 * encoding/json (scanner states, UTF-8 rules, shortest float formatting, Marshal), held byte for
 * byte to real Go by tests/golden; its sections mirror Go's files and share private helpers, so
 * splitting it would only spread one contract over several files.
 */
#include "gojson.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------ */
/* Error text helpers                                                                          */

void gj_quote_char(unsigned char c, char *out, size_t outlen)
{
    /* Mirrors Go's quoteChar: strconv.Quote(string(rune(c))) with single quotes. */
    switch (c) {
    case '\'': snprintf(out, outlen, "'\\''"); return;
    case '"': snprintf(out, outlen, "'\"'"); return;
    case '\\': snprintf(out, outlen, "'\\\\'"); return;
    case '\a': snprintf(out, outlen, "'\\a'"); return;
    case '\b': snprintf(out, outlen, "'\\b'"); return;
    case '\f': snprintf(out, outlen, "'\\f'"); return;
    case '\n': snprintf(out, outlen, "'\\n'"); return;
    case '\r': snprintf(out, outlen, "'\\r'"); return;
    case '\t': snprintf(out, outlen, "'\\t'"); return;
    case '\v': snprintf(out, outlen, "'\\v'"); return;
    default: break;
    }
    if (c < 0x20 || c == 0x7f)
        snprintf(out, outlen, "'\\x%02x'", c);
    else if (c < 0x7f)
        snprintf(out, outlen, "'%c'", c);
    else if (c < 0xa0 || c == 0xa0 || c == 0xad) /* C1 controls, NBSP, soft hyphen: not IsPrint */
        snprintf(out, outlen, "'\\u00%02x'", c);
    else /* Latin-1 letter or symbol: the rune U+00XX in UTF-8 */
        snprintf(out, outlen, "'%c%c'", (char)(0xc0 | (c >> 6)), (char)(0x80 | (c & 0x3f)));
}

static int syntax_error(unsigned char c, const char *context, char *err, size_t errlen)
{
    char q[16];
    gj_quote_char(c, q, sizeof q);
    snprintf(err, errlen, "invalid character %s %s", q, context);
    return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* Validation: a transcription of the states of Go's encoding/json scanner, so every input     */
/* fails at the same byte with the same words.                                                 */

enum scan_state {
    S_BEGIN_VALUE_OR_EMPTY, S_BEGIN_VALUE, S_BEGIN_STRING_OR_EMPTY, S_BEGIN_STRING, S_END_VALUE,
    S_END_TOP, S_IN_STRING, S_IN_STRING_ESC, S_ESC_U, S_ESC_U1, S_ESC_U12, S_ESC_U123, S_NEG,
    S_1, S_0, S_DOT, S_DOT0, S_E, S_ESIGN, S_E0, S_T, S_TR, S_TRU, S_F, S_FA, S_FAL, S_FALS,
    S_N, S_NU, S_NUL
};

enum parse_kind { P_OBJECT_KEY, P_OBJECT_VALUE, P_ARRAY_VALUE };

static bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
static bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

struct scanner {
    enum scan_state step;
    unsigned char *stack; /* parse kinds, depth <= GJ_MAX_DEPTH */
    size_t depth;
    bool end_top;
};

/* One byte through the state machine; returns -1 with err set on a syntax error. */
static int scan_byte(struct scanner *s, unsigned char c, char *err, size_t errlen)
{
    for (;;) {
        switch (s->step) {
        case S_BEGIN_VALUE_OR_EMPTY:
            if (is_space(c))
                return 0;
            if (c == ']') {
                s->step = S_END_VALUE;
                continue;
            }
            s->step = S_BEGIN_VALUE;
            continue;
        case S_BEGIN_VALUE:
            if (is_space(c))
                return 0;
            switch (c) {
            case '{':
            case '[':
                if (s->depth >= GJ_MAX_DEPTH)
                    return syntax_error(c, "exceeded max depth", err, errlen);
                s->stack[s->depth++] = c == '{' ? P_OBJECT_KEY : P_ARRAY_VALUE;
                s->step = c == '{' ? S_BEGIN_STRING_OR_EMPTY : S_BEGIN_VALUE_OR_EMPTY;
                return 0;
            case '"': s->step = S_IN_STRING; return 0;
            case '-': s->step = S_NEG; return 0;
            case '0': s->step = S_0; return 0;
            case 't': s->step = S_T; return 0;
            case 'f': s->step = S_F; return 0;
            case 'n': s->step = S_N; return 0;
            default:
                if (c >= '1' && c <= '9') {
                    s->step = S_1;
                    return 0;
                }
                return syntax_error(c, "looking for beginning of value", err, errlen);
            }
        case S_BEGIN_STRING_OR_EMPTY:
            if (is_space(c))
                return 0;
            if (c == '}') {
                s->stack[s->depth - 1] = P_OBJECT_VALUE;
                s->step = S_END_VALUE;
                continue;
            }
            s->step = S_BEGIN_STRING;
            continue;
        case S_BEGIN_STRING:
            if (is_space(c))
                return 0;
            if (c == '"') {
                s->step = S_IN_STRING;
                return 0;
            }
            return syntax_error(c, "looking for beginning of object key string", err, errlen);
        case S_END_VALUE:
            if (s->depth == 0) {
                s->step = S_END_TOP;
                s->end_top = true;
                continue;
            }
            if (is_space(c))
                return 0;
            switch (s->stack[s->depth - 1]) {
            case P_OBJECT_KEY:
                if (c == ':') {
                    s->stack[s->depth - 1] = P_OBJECT_VALUE;
                    s->step = S_BEGIN_VALUE;
                    return 0;
                }
                return syntax_error(c, "after object key", err, errlen);
            case P_OBJECT_VALUE:
                if (c == ',') {
                    s->stack[s->depth - 1] = P_OBJECT_KEY;
                    s->step = S_BEGIN_STRING;
                    return 0;
                }
                if (c == '}') {
                    s->depth--;
                    s->step = S_END_VALUE;
                    return 0;
                }
                return syntax_error(c, "after object key:value pair", err, errlen);
            default: /* P_ARRAY_VALUE */
                if (c == ',') {
                    s->step = S_BEGIN_VALUE;
                    return 0;
                }
                if (c == ']') {
                    s->depth--;
                    s->step = S_END_VALUE;
                    return 0;
                }
                return syntax_error(c, "after array element", err, errlen);
            }
        case S_END_TOP:
            if (!is_space(c))
                return syntax_error(c, "after top-level value", err, errlen);
            return 0;
        case S_IN_STRING:
            if (c == '"')
                s->step = S_END_VALUE;
            else if (c == '\\')
                s->step = S_IN_STRING_ESC;
            else if (c < 0x20)
                return syntax_error(c, "in string literal", err, errlen);
            return 0;
        case S_IN_STRING_ESC:
            if (strchr("bfnrt\\/\"", c) && c) {
                s->step = S_IN_STRING;
                return 0;
            }
            if (c == 'u') {
                s->step = S_ESC_U;
                return 0;
            }
            return syntax_error(c, "in string escape code", err, errlen);
        case S_ESC_U:
        case S_ESC_U1:
        case S_ESC_U12:
        case S_ESC_U123:
            if (!is_hex(c))
                return syntax_error(c, "in \\u hexadecimal character escape", err, errlen);
            s->step = s->step == S_ESC_U123 ? S_IN_STRING : (enum scan_state)(s->step + 1);
            return 0;
        case S_NEG:
            if (c == '0') {
                s->step = S_0;
                return 0;
            }
            if (c >= '1' && c <= '9') {
                s->step = S_1;
                return 0;
            }
            return syntax_error(c, "in numeric literal", err, errlen);
        case S_1:
            if (c >= '0' && c <= '9')
                return 0;
            s->step = S_0;
            continue;
        case S_0:
            if (c == '.') {
                s->step = S_DOT;
                return 0;
            }
            if (c == 'e' || c == 'E') {
                s->step = S_E;
                return 0;
            }
            s->step = S_END_VALUE;
            continue;
        case S_DOT:
            if (c >= '0' && c <= '9') {
                s->step = S_DOT0;
                return 0;
            }
            return syntax_error(c, "after decimal point in numeric literal", err, errlen);
        case S_DOT0:
            if (c >= '0' && c <= '9')
                return 0;
            if (c == 'e' || c == 'E') {
                s->step = S_E;
                return 0;
            }
            s->step = S_END_VALUE;
            continue;
        case S_E:
            if (c == '+' || c == '-') {
                s->step = S_ESIGN;
                return 0;
            }
            s->step = S_ESIGN;
            continue;
        case S_ESIGN:
            if (c >= '0' && c <= '9') {
                s->step = S_E0;
                return 0;
            }
            return syntax_error(c, "in exponent of numeric literal", err, errlen);
        case S_E0:
            if (c >= '0' && c <= '9')
                return 0;
            s->step = S_END_VALUE;
            continue;
        default:
            break;
        }
        /* Literals true/false/null: one expected byte per state. */
        static const struct {
            enum scan_state st;
            char want;
            enum scan_state next;
            const char *ctx;
        } lit[] = {
            {S_T, 'r', S_TR, "in literal true (expecting 'r')"},
            {S_TR, 'u', S_TRU, "in literal true (expecting 'u')"},
            {S_TRU, 'e', S_END_VALUE, "in literal true (expecting 'e')"},
            {S_F, 'a', S_FA, "in literal false (expecting 'a')"},
            {S_FA, 'l', S_FAL, "in literal false (expecting 'l')"},
            {S_FAL, 's', S_FALS, "in literal false (expecting 's')"},
            {S_FALS, 'e', S_END_VALUE, "in literal false (expecting 'e')"},
            {S_N, 'u', S_NU, "in literal null (expecting 'u')"},
            {S_NU, 'l', S_NUL, "in literal null (expecting 'l')"},
            {S_NUL, 'l', S_END_VALUE, "in literal null (expecting 'l')"},
        };
        for (size_t i = 0; i < sizeof lit / sizeof lit[0]; i++)
            if (lit[i].st == s->step) {
                if (c != (unsigned char)lit[i].want)
                    return syntax_error(c, lit[i].ctx, err, errlen);
                s->step = lit[i].next;
                return 0;
            }
        snprintf(err, errlen, "internal scanner error");
        return -1;
    }
}

static int gj_check_valid(const char *data, size_t len, char *err, size_t errlen)
{
    struct scanner s = {.step = S_BEGIN_VALUE, .depth = 0, .end_top = false};
    s.stack = malloc(GJ_MAX_DEPTH);
    if (!s.stack) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0; i++)
        rc = scan_byte(&s, (unsigned char)data[i], err, errlen);
    if (rc == 0 && !s.end_top) {
        /* Go's scanner.eof(): feed a space; a value that is still open is "unexpected end". */
        rc = scan_byte(&s, ' ', err, errlen);
        if (rc == 0 && !s.end_top) {
            snprintf(err, errlen, "unexpected end of JSON input");
            rc = -1;
        }
    }
    free(s.stack);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* UTF-8 and string unescaping with Go's replacement rules                                     */

/* Decode one UTF-8 rune as Go's utf8.DecodeRune: invalid sequences give (0xFFFD, 1). */
static uint32_t utf8_decode(const unsigned char *p, size_t n, size_t *size)
{
    unsigned char c = p[0];
    if (c < 0x80) {
        *size = 1;
        return c;
    }
    uint32_t r;
    size_t need;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 2;
        r = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 3;
        r = c & 0x0fu;
        if (c == 0xe0)
            lo = 0xa0;
        if (c == 0xed)
            hi = 0x9f; /* no UTF-16 surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 4;
        r = c & 0x07u;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f;
    } else {
        *size = 1;
        return 0xfffd;
    }
    if (n < need || p[1] < lo || p[1] > hi) {
        *size = 1;
        return 0xfffd;
    }
    r = (r << 6) | (p[1] & 0x3fu);
    for (size_t i = 2; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *size = 1;
            return 0xfffd;
        }
        r = (r << 6) | (p[i] & 0x3fu);
    }
    *size = need;
    return r;
}

static size_t utf8_encode(uint32_t r, char *out)
{
    if (r < 0x80) {
        out[0] = (char)r;
        return 1;
    }
    if (r < 0x800) {
        out[0] = (char)(0xc0 | (r >> 6));
        out[1] = (char)(0x80 | (r & 0x3f));
        return 2;
    }
    if (r >= 0xd800 && r <= 0xdfff)
        r = 0xfffd;
    if (r < 0x10000) {
        out[0] = (char)(0xe0 | (r >> 12));
        out[1] = (char)(0x80 | ((r >> 6) & 0x3f));
        out[2] = (char)(0x80 | (r & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (r >> 18));
    out[1] = (char)(0x80 | ((r >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((r >> 6) & 0x3f));
    out[3] = (char)(0x80 | (r & 0x3f));
    return 4;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return c - 'A' + 10;
}

/* Read \uXXXX at p (p[0] == '\\'); -1 when not a well-formed escape. */
static long getu4(const unsigned char *p, size_t n)
{
    if (n < 6 || p[0] != '\\' || p[1] != 'u')
        return -1;
    long r = 0;
    for (int i = 2; i < 6; i++) {
        if (!is_hex(p[i]))
            return -1;
        r = r * 16 + hexval(p[i]);
    }
    return r;
}

/* Unescape the validated string literal body [p, p+n) (without quotes) into a new heap buffer. */
static char *unquote(const unsigned char *p, size_t n, size_t *out_len)
{
    /* Escapes never expand, but every invalid byte becomes U+FFFD: up to 3x. */
    char *out = malloc(n * 3 + 4);
    if (!out)
        return NULL;
    size_t w = 0, r = 0;
    while (r < n) {
        unsigned char c = p[r];
        if (c == '\\') {
            unsigned char e = p[r + 1];
            switch (e) {
            case 'b': out[w++] = '\b'; r += 2; continue;
            case 'f': out[w++] = '\f'; r += 2; continue;
            case 'n': out[w++] = '\n'; r += 2; continue;
            case 'r': out[w++] = '\r'; r += 2; continue;
            case 't': out[w++] = '\t'; r += 2; continue;
            case 'u': {
                long rr = getu4(p + r, n - r);
                r += 6;
                if (rr >= 0xd800 && rr < 0xe000) {
                    long rr1 = getu4(p + r, n - r);
                    if (rr < 0xdc00 && rr1 >= 0xdc00 && rr1 < 0xe000) {
                        r += 6;
                        w += utf8_encode((uint32_t)(0x10000 + ((rr - 0xd800) << 10) + (rr1 - 0xdc00)), out + w);
                        continue;
                    }
                    rr = 0xfffd;
                }
                w += utf8_encode((uint32_t)rr, out + w);
                continue;
            }
            default: /* \" \\ \/ */
                out[w++] = (char)e;
                r += 2;
                continue;
            }
        }
        size_t sz;
        uint32_t rune = utf8_decode(p + r, n - r, &sz);
        if (rune == 0xfffd && sz == 1) {
            w += utf8_encode(0xfffd, out + w);
        } else {
            memcpy(out + w, p + r, sz);
            w += sz;
        }
        r += sz;
    }
    out[w] = '\0';
    *out_len = w;
    return out;
}

/* ------------------------------------------------------------------------------------------ */
/* Tree building over validated input (iterative: nesting may reach GJ_MAX_DEPTH)              */

void gj_free(struct gj_value *v)
{
    /* Post-order walk using parent links; no recursion. */
    struct gj_value *cur = v;
    while (cur) {
        if (cur->first) {
            struct gj_value *child = cur->first;
            cur->first = NULL;
            cur = child;
            continue;
        }
        struct gj_value *next = cur->next, *parent = cur->parent;
        free(cur->text);
        free(cur->key);
        if (cur == v) {
            free(cur);
            break;
        }
        free(cur);
        cur = next ? next : parent;
    }
}

static struct gj_value *new_value(enum gj_type t, struct gj_value *parent)
{
    struct gj_value *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->type = t;
    v->parent = parent;
    if (parent) {
        if (parent->last)
            parent->last->next = v;
        else
            parent->first = v;
        parent->last = v;
        parent->count++;
    }
    return v;
}

static size_t skip_ws(const unsigned char *p, size_t n, size_t i)
{
    while (i < n && is_space(p[i]))
        i++;
    return i;
}

/* End (exclusive) of the string literal starting at p[i] == '"'. */
static size_t string_end(const unsigned char *p, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return n;
}

int gj_parse(const char *data, size_t len, struct gj_value **out, char *err, size_t errlen)
{
    *out = NULL;
    if (len > GJ_MAX_INPUT) {
        snprintf(err, errlen, "input too large (%zu bytes; the limit is %u)", len, GJ_MAX_INPUT);
        return -1;
    }
    if (gj_check_valid(data, len, err, errlen) != 0)
        return -1;

    const unsigned char *p = (const unsigned char *)data;
    struct gj_value *root = NULL, *container = NULL;
    char *pending_key = NULL;
    size_t pending_key_len = 0;
    size_t i = 0;
    for (;;) {
        i = skip_ws(p, len, i);
        /* Expecting a value (possibly after a key when inside an object). */
        if (container && container->type == GJ_OBJECT) {
            if (p[i] == '}')
                goto close;
            size_t e = string_end(p, len, i);
            pending_key = unquote(p + i + 1, e - i - 2, &pending_key_len);
            if (!pending_key)
                goto oom;
            i = skip_ws(p, len, e);
            i = skip_ws(p, len, i + 1); /* ':' */
        } else if (container && p[i] == ']') {
            goto close;
        }
        {
            unsigned char c = p[i];
            enum gj_type t = c == '{' ? GJ_OBJECT : c == '[' ? GJ_ARRAY : c == '"' ? GJ_STRING
                           : c == 't' ? GJ_TRUE : c == 'f' ? GJ_FALSE : c == 'n' ? GJ_NULL : GJ_NUMBER;
            struct gj_value *v = new_value(t, container);
            if (!v)
                goto oom;
            if (!root)
                root = v;
            v->key = pending_key;
            v->key_len = pending_key_len;
            pending_key = NULL;
            switch (t) {
            case GJ_OBJECT:
            case GJ_ARRAY:
                container = v;
                i++;
                i = skip_ws(p, len, i);
                if ((t == GJ_OBJECT && p[i] == '}') || (t == GJ_ARRAY && p[i] == ']'))
                    goto close;
                continue;
            case GJ_STRING: {
                size_t e = string_end(p, len, i);
                v->text = unquote(p + i + 1, e - i - 2, &v->text_len);
                if (!v->text)
                    goto oom;
                i = e;
                break;
            }
            case GJ_TRUE: i += 4; break;
            case GJ_FALSE: i += 5; break;
            case GJ_NULL: i += 4; break;
            default: {
                size_t s = i;
                while (i < len && (strchr("+-.eE", p[i]) || (p[i] >= '0' && p[i] <= '9')) && p[i])
                    i++;
                v->text = malloc(i - s + 1);
                if (!v->text)
                    goto oom;
                memcpy(v->text, p + s, i - s);
                v->text[i - s] = '\0';
                v->text_len = i - s;
                break;
            }
            }
        }
        /* After a value: ',' continues the container, a closer ends it. */
        for (;;) {
            if (!container) {
                *out = root;
                return 0;
            }
            i = skip_ws(p, len, i);
            if (p[i] == ',') {
                i++;
                break;
            }
        close:
            i++; /* '}' or ']' */
            container = container->parent;
            if (!container) {
                *out = root;
                return 0;
            }
        }
    }
oom:
    free(pending_key);
    gj_free(root);
    snprintf(err, errlen, "out of memory");
    return -1;
}

/* ------------------------------------------------------------------------------------------ */
/* Numbers                                                                                      */

int gj_parse_float(const char *s, size_t len, double *out)
{
    char tmp[512];
    if (len == 0 || len >= sizeof tmp) {
        if (len == 0)
            return -1;
        /* Long literals: strtod handles them; copy to the heap. */
        char *h = malloc(len + 1);
        if (!h)
            return -1;
        memcpy(h, s, len);
        h[len] = '\0';
        char *end;
        errno = 0;
        double d = strtod(h, &end);
        int bad = *end != '\0' || isinf(d);
        free(h);
        if (bad)
            return -1;
        *out = d;
        return 0;
    }
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    double d = strtod(tmp, &end);
    /* Go reports only overflow as a range error; underflow silently gives 0 or a subnormal. */
    if (*end != '\0' || isinf(d))
        return -1;
    *out = d;
    return 0;
}

int gj_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (strcmp(s, yes[i]) == 0 || strcmp(s, no[i]) == 0) {
            *out = strcmp(s, yes[i]) == 0;
            return 0;
        }
    }
    return -1;
}

int gj_parse_int(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (len && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i++;
    }
    if (i == len)
        return -1;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (limit - d) / 10u)
            return -1;
        v = v * 10u + d;
    }
    *out = neg ? (int64_t)(0u - v) : (int64_t)v;
    return 0;
}

/* Parse "d.ddde[+-]XX" (snprintf %e output) into plain digits and the decimal point position. */
static void split_e(const char *tmp, char *digits, int *nd, int *dp)
{
    int n = 0;
    const char *e = strchr(tmp, 'e');
    for (const char *q = tmp; q < e; q++)
        if (*q >= '0' && *q <= '9')
            digits[n++] = *q;
    digits[n] = '\0';
    *nd = n;
    *dp = atoi(e + 1) + 1; /* trusted snprintf output */
}

static double digits_value(const char *digits, int nd, int dp)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "0.%.*se%d", nd, digits, dp);
    return strtod(tmp, NULL);
}

/* Add delta (+1/-1) to the last digit of a p-digit decimal, carrying; returns false when the
 * result would change the digit count (then it is not a p-digit neighbour). */
static bool step_digits(char *d, int nd, int delta)
{
    for (int i = nd - 1; i >= 0; i--) {
        int v = d[i] - '0' + delta;
        if (v >= 0 && v <= 9) {
            d[i] = (char)('0' + v);
            return !(i == 0 && d[0] == '0');
        }
        d[i] = delta > 0 ? '0' : '9';
    }
    return false;
}

/* Shortest decimal digits that round-trip (value = 0.d1d2...dn * 10^dp), choosing the closest
 * to the exact value among equally short candidates, as Go's strconv does. */
static void shortest_digits(double v, char *digits, int *nd, int *dp)
{
    if (v == 0) {
        digits[0] = '0';
        digits[1] = '\0';
        *nd = 1;
        *dp = 1;
        return;
    }
    char tmp[40], cand[32];
    int cn, cdp;
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, v);
        split_e(tmp, cand, &cn, &cdp);
        if (digits_value(cand, cn, cdp) == v || prec == 17)
            break;
        /* Near a power of two the round-trip interval is lopsided: a neighbour of the nearest
         * p-digit decimal may round-trip although the nearest one does not. */
        bool found = false;
        for (int delta = -1; delta <= 1 && !found; delta += 2) {
            char nb[32];
            memcpy(nb, cand, (size_t)cn + 1);
            if (step_digits(nb, cn, delta) && digits_value(nb, cn, cdp) == v) {
                memcpy(cand, nb, (size_t)cn + 1);
                found = true;
            }
        }
        if (found)
            break;
    }
    while (cn > 1 && cand[cn - 1] == '0')
        cn--;
    cand[cn] = '\0';
    memcpy(digits, cand, (size_t)cn + 1);
    *nd = cn;
    *dp = cdp;
}

static void format_e(const char *sign, const char *d, int nd, int dp, char *out, size_t outlen)
{
    int exp = dp - 1;
    snprintf(out, outlen, "%s%c%s%.*se%c%02d", sign, d[0], nd > 1 ? "." : "", nd - 1, d + 1,
             exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

static void format_f(const char *sign, const char *d, int nd, int dp, char *out, size_t outlen)
{
    /* Plain decimal: the digits with the point placed at dp, zero-padded on either side. */
    char tmp[400];
    size_t w = 0;
    if (dp <= 0) {
        tmp[w++] = '0';
        tmp[w++] = '.';
        for (int i = 0; i < -dp; i++)
            tmp[w++] = '0';
        for (int i = 0; i < nd; i++)
            tmp[w++] = d[i];
    } else {
        for (int i = 0; i < dp; i++)
            tmp[w++] = i < nd ? d[i] : '0';
        if (dp < nd) {
            tmp[w++] = '.';
            for (int i = dp; i < nd; i++)
                tmp[w++] = d[i];
        }
    }
    tmp[w] = '\0';
    snprintf(out, outlen, "%s%s", sign, tmp);
}

void gj_format_float_v(double v, char *out, size_t outlen)
{
    /* strconv.FormatFloat(v, 'g', -1, 64): exponent form when exp < -4 || exp >= 6
     * (6 being the precision Go uses for this decision with shortest digits). */
    char d[32];
    int nd, dp;
    const char *sign = signbit(v) ? "-" : "";
    shortest_digits(fabs(v), d, &nd, &dp);
    int exp = dp - 1;
    if (exp < -4 || exp >= 6)
        format_e(sign, d, nd, dp, out, outlen);
    else
        format_f(sign, d, nd, dp, out, outlen);
}

void gj_format_float_json(double v, char *out, size_t outlen)
{
    char d[32];
    int nd, dp;
    const char *sign = signbit(v) ? "-" : "";
    double a = fabs(v);
    shortest_digits(a, d, &nd, &dp);
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        format_e(sign, d, nd, dp, out, outlen);
        /* Go cleans "e-09" to "e-9". */
        size_t n = strlen(out);
        if (n >= 4 && out[n - 4] == 'e' && out[n - 3] == '-' && out[n - 2] == '0') {
            out[n - 2] = out[n - 1];
            out[n - 1] = '\0';
        }
        return;
    }
    format_f(sign, d, nd, dp, out, outlen);
}

/* ------------------------------------------------------------------------------------------ */
/* Marshal as Go's json.Marshal(interface{})                                                   */

static int marshal_string(struct buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_putc(out, '"');
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
                buf_putc(out, (char)c);
            } else {
                switch (c) {
                case '"': buf_puts(out, "\\\""); break;
                case '\\': buf_puts(out, "\\\\"); break;
                case '\b': buf_puts(out, "\\b"); break;
                case '\f': buf_puts(out, "\\f"); break;
                case '\n': buf_puts(out, "\\n"); break;
                case '\r': buf_puts(out, "\\r"); break;
                case '\t': buf_puts(out, "\\t"); break;
                default:
                    buf_puts(out, "\\u00");
                    buf_putc(out, hex[c >> 4]);
                    buf_putc(out, hex[c & 0xf]);
                }
            }
            i++;
            continue;
        }
        size_t sz;
        uint32_t r = utf8_decode((const unsigned char *)s + i, n - i, &sz);
        if (r == 0xfffd && sz == 1)
            buf_puts(out, "\\ufffd");
        else if (r == 0x2028 || r == 0x2029)
            buf_printf(out, "\\u%04x", r);
        else
            buf_append(out, s + i, sz);
        i += sz;
    }
    buf_putc(out, '"');
    return out->failed ? -1 : 0;
}

static int key_cmp(const struct gj_value *a, const struct gj_value *b)
{
    size_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = memcmp(a->key, b->key, n);
    if (c)
        return c;
    return a->key_len < b->key_len ? -1 : a->key_len > b->key_len;
}

static int cmp_members(const void *x, const void *y)
{
    const struct gj_value *a = *(const struct gj_value *const *)x;
    const struct gj_value *b = *(const struct gj_value *const *)y;
    return key_cmp(a, b);
}

static int marshal_value(const struct gj_value *v, struct buf *out, char *err, size_t errlen, int depth)
{
    if (depth > GJ_MAX_DEPTH) {
        snprintf(err, errlen, "exceeded max depth");
        return -1;
    }
    switch (v->type) {
    case GJ_NULL: buf_puts(out, "null"); break;
    case GJ_TRUE: buf_puts(out, "true"); break;
    case GJ_FALSE: buf_puts(out, "false"); break;
    case GJ_STRING: marshal_string(out, v->text, v->text_len); break;
    case GJ_NUMBER: {
        double d;
        if (gj_parse_float(v->text, v->text_len, &d) != 0) {
            snprintf(err, errlen, "json: cannot unmarshal number %.*s into Go value of type float64",
                     (int)(v->text_len > 400 ? 400 : v->text_len), v->text);
            return -1;
        }
        char tmp[64];
        gj_format_float_json(d, tmp, sizeof tmp);
        buf_puts(out, tmp);
        break;
    }
    case GJ_ARRAY:
        buf_putc(out, '[');
        for (const struct gj_value *c = v->first; c; c = c->next) {
            if (c != v->first)
                buf_putc(out, ',');
            if (marshal_value(c, out, err, errlen, depth + 1) != 0)
                return -1;
        }
        buf_putc(out, ']');
        break;
    case GJ_OBJECT: {
        /* A Go map: the last duplicate wins; keys are written sorted by bytes. */
        const struct gj_value **m = calloc(v->count ? v->count : 1, sizeof *m);
        if (!m) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        size_t n = 0;
        for (const struct gj_value *c = v->first; c; c = c->next)
            m[n++] = c;
        /* Stable selection of the last occurrence: sort keeps order ties unspecified, so mark
         * earlier duplicates first by scanning backwards. */
        size_t kept = 0;
        for (size_t i = n; i-- > 0;) {
            bool dup = false;
            for (size_t j = i + 1; j < n && !dup; j++)
                if (m[j] && key_cmp(m[i], m[j]) == 0)
                    dup = true;
            if (dup)
                m[i] = NULL;
            else
                kept++;
        }
        size_t w = 0;
        for (size_t i = 0; i < n; i++)
            if (m[i])
                m[w++] = m[i];
        qsort(m, kept, sizeof *m, cmp_members);
        buf_putc(out, '{');
        int rc = 0;
        for (size_t i = 0; i < kept && rc == 0; i++) {
            if (i)
                buf_putc(out, ',');
            marshal_string(out, m[i]->key, m[i]->key_len);
            buf_putc(out, ':');
            rc = marshal_value(m[i], out, err, errlen, depth + 1);
        }
        free(m);
        if (rc)
            return -1;
        buf_putc(out, '}');
        break;
    }
    }
    if (out->failed) {
        snprintf(err, errlen, "value too large to encode");
        return -1;
    }
    return 0;
}

int gj_marshal_go(const struct gj_value *v, struct buf *out, char *err, size_t errlen)
{
    return marshal_value(v, out, err, errlen, 0);
}

/* ------------------------------------------------------------------------------------------ */

bool gj_key_matches(const char *key, size_t key_len, const char *field)
{
    const unsigned char *k = (const unsigned char *)key;
    size_t i = 0, f = 0, flen = strlen(field);
    while (i < key_len && f < flen) {
        unsigned char want = (unsigned char)field[f];
        if (want >= 'a' && want <= 'z')
            want = (unsigned char)(want - 32);
        size_t sz;
        uint32_t r = utf8_decode(k + i, key_len - i, &sz);
        if (r >= 'a' && r <= 'z')
            r -= 32;
        else if (r == 0x17f) /* LATIN SMALL LETTER LONG S folds with s */
            r = 'S';
        else if (r == 0x212a) /* KELVIN SIGN folds with k */
            r = 'K';
        if (r != want)
            return false;
        i += sz;
        f++;
    }
    return i == key_len && f == flen;
}
