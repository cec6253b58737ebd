/*
 * selector — Kubernetes label selectors, parsed and matched as the API server does.
 *
 * Syntax (comma-separated requirements, all must hold; whitespace around tokens is allowed):
 *   key=value  key==value  key!=value  key in (v1,v2)  key notin (v1,v2)  key  !key
 *   key>N  key<N   (integer comparison; the label must exist and parse as an integer)
 * Keys are qualified names ([prefix/]name, name <= 63 chars, prefix a DNS subdomain <= 253);
 * values are empty or <= 63 chars of [A-Za-z0-9._-] starting and ending alphanumeric. `!=` and
 * `notin` match objects that lack the key. The empty selector matches everything.
 *
 * Ownership: selector_parse() returns a selector the caller frees with selector_free().
 * Labels are looked up through a caller-supplied function; nothing is retained.
 */
#ifndef PROPSCALER_SELECTOR_H
#define PROPSCALER_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#define SELECTOR_MAX_LEN 4096

struct selector;

/* Returns the value of label `key`, or NULL when the object has no such label. */
typedef const char *(*selector_lookup_fn)(const void *ctx, const char *key);

int selector_parse(const char *text, struct selector **out, char *err, size_t errlen);
void selector_free(struct selector *sel);
bool selector_matches(const struct selector *sel, selector_lookup_fn lookup, const void *ctx);
bool selector_is_empty(const struct selector *sel);

/* A LabelSelector object ({matchLabels, matchExpressions}) against a labels object, as the API
 * server evaluates it. An empty selector matches everything; a NULL one matches nothing.
 * Unknown operators never match. */
struct cJSON;
bool selector_object_matches(const struct cJSON *selector, const struct cJSON *labels);

/* Validation helpers shared with manifest checks. */
bool selector_valid_key(const char *key, size_t len);
bool selector_valid_value(const char *value, size_t len);

#endif
