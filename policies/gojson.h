/*
 * gojson — JSON exactly as Go's encoding/json reads and writes it, for CPA-compatible params.
 *
 * Why not cJSON: CPA parses its ConfigMap with encoding/json, and a drop-in replacement must
 * accept, reject and report exactly the same inputs: Go's strict number grammar, its error texts
 * ("invalid character 'x' after object key:value pair", "unexpected end of JSON input"), U+FFFD
 * replacement of bad UTF-8 and lone surrogates, and the re-encoding used by --default-params
 * (sorted keys, shortest float64 text, HTML-safe escapes). cJSON is used for everything else.
 *
 * Ownership: gj_parse() returns a tree the caller frees with gj_free(). Every child is owned by
 * its parent; pointers into the tree are borrowed.
 *
 * Failure: functions return 0 on success, -1 on error with Go's message in err (NUL-terminated,
 * truncated to errlen).
 */
#ifndef PROPSCALER_GOJSON_H
#define PROPSCALER_GOJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* Inputs above this size are refused (a ConfigMap cannot exceed 1 MiB). */
#define GJ_MAX_INPUT (1u << 20)
/* Go's encoding/json nesting limit. */
#define GJ_MAX_DEPTH 10000

enum gj_type { GJ_NULL, GJ_FALSE, GJ_TRUE, GJ_NUMBER, GJ_STRING, GJ_ARRAY, GJ_OBJECT };

struct gj_value {
    enum gj_type type;
    char *text;       /* STRING: unescaped UTF-8 (may hold NULs); NUMBER: the literal as written */
    size_t text_len;
    char *key;        /* member name when the parent is an OBJECT (unescaped), else NULL */
    size_t key_len;
    struct gj_value *first, *last; /* children in document order (duplicates kept) */
    struct gj_value *next;
    struct gj_value *parent;
    size_t count;     /* number of children */
};

/* Validate like Go's checkValid and build the tree. */
int gj_parse(const char *data, size_t len, struct gj_value **out, char *err, size_t errlen);
void gj_free(struct gj_value *v);

/* Go's "%v" of a float64 (shortest round-trip digits, exponent form outside [1e-4, 1e21)). */
void gj_format_float_v(double v, char *out, size_t outlen);
/* Go's json.Marshal text of a float64. */
void gj_format_float_json(double v, char *out, size_t outlen);
/* Go's strconv.ParseFloat(s, 64): -1 on syntax error or overflow to infinity. */
int gj_parse_float(const char *s, size_t len, double *out);
/* Go's strconv.ParseInt(s, 10, 64): -1 on any error (fraction, exponent, range). */
int gj_parse_int(const char *s, size_t len, int64_t *out);
/* Go's strconv.ParseBool, as Go's flag package reads --flag=VALUE: 1 t T true TRUE True and the
 * false forms; -1 on anything else. */
int gj_parse_bool(const char *s, bool *out);

/* Go's json.Marshal of the value as a generic interface{} (maps sorted, last duplicate wins,
 * numbers through float64, HTML-safe string escapes). Fails like json.Unmarshal into
 * interface{} would, e.g. for a number that overflows float64. */
int gj_marshal_go(const struct gj_value *v, struct buf *out, char *err, size_t errlen);

/* Whether a (possibly non-ASCII) JSON key matches an ASCII field name under Go's
 * case-insensitive rule (Unicode simple folding: "ſ" matches 's', the Kelvin sign matches 'k'). */
bool gj_key_matches(const char *key, size_t key_len, const char *field);

/* Append Go's quoteChar(c) form of a byte, as used in syntax error messages. */
void gj_quote_char(unsigned char c, char *out, size_t outlen);

#endif
