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
 * Two ways in: yamljson_parse returns every document at once (the node cap counts the whole
 * stream); the reader hands out one document at a time (the cap counts one document), so a long
 * multi-document stream — a KWOK recording — needs memory for one document, not all.
 *
 * Ownership: the returned cJSON array / each document belongs to the caller (cJSON_Delete). The
 * reader borrows `data` until yamljson_reader_free; a reader opened on a FILE reads it as the
 * parser asks (YAML: a few KiB at a time, so memory follows the largest document, not the file;
 * JSON: all of it, cJSON needs it whole), never more than `cap` bytes, and does not close it. Errors return NULL / -1 and write a message
 * with the line and column (1-based) to err.
 */
#ifndef PROPSCALER_YAMLJSON_H
#define PROPSCALER_YAMLJSON_H

#include <stddef.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#define YAMLJSON_MAX_NODES 2000000
#define YAMLJSON_MAX_DEPTH 200

/* Parse YAML or JSON text into an array of documents. Input that starts with '{' or '[' is
 * parsed as one strict JSON document. */
cJSON *yamljson_parse(const char *data, size_t len, char *err, size_t errlen);

struct yamljson_reader;
struct yamljson_reader *yamljson_reader_new(const char *data, size_t len, char *err, size_t errlen);
/* 1: *doc is the next document (an empty one is a cJSON null) and *line (may be NULL) the line it
 * starts on; 0: end of the stream; -1: an error (err set; the stream cannot go on). */
int yamljson_reader_next(struct yamljson_reader *r, cJSON **doc, size_t *line, char *err, size_t errlen);
struct yamljson_reader *yamljson_reader_open(FILE *f, size_t cap, char *err, size_t errlen);
void yamljson_reader_free(struct yamljson_reader *r);

#endif
