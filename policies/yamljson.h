/*
 * yamljson — YAML documents (and JSON, which is read with cJSON) as cJSON trees.
 *
 * Every document of a multi-document YAML stream becomes one element of the returned array.
 * Plain scalars are typed as Kubernetes' YAML reader (go-yaml, YAML 1.1) types them: null (~,
 * null, empty), booleans (true/false/yes/no/on/off, any case variant it accepts), decimal
 * numbers; quoted and block scalars are always strings. Aliases are expanded, with a cap on the
 * total number of nodes produced (a "billion laughs" file fails instead of exhausting memory)
 * and on nesting depth. Explicit tags are not interpreted (libyaml reports untagged plain
 * scalars as !!str too): quote a value to keep it a string.
 *
 * Ownership: the returned cJSON array belongs to the caller (cJSON_Delete). Errors return NULL
 * and write a message with the line and column (1-based) to err.
 */
#ifndef PROPSCALER_YAMLJSON_H
#define PROPSCALER_YAMLJSON_H

#include <stddef.h>

#include <cjson/cJSON.h>

#define YAMLJSON_MAX_NODES 2000000
#define YAMLJSON_MAX_DEPTH 200

/* Parse YAML or JSON text into an array of documents. Input that starts with '{' or '[' is
 * parsed as one strict JSON document. */
cJSON *yamljson_parse(const char *data, size_t len, char *err, size_t errlen);

#endif
