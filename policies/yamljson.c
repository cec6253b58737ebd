#include "yamljson.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

struct conv {
    yaml_document_t *doc;
    size_t produced;
    char *err;
    size_t errlen;
};

static bool is_decimal_number(const char *s)
{
    /* [-+]? ( digits ( . digits* )? | . digits ) ( [eE] [-+]? digits )? */
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    size_t intd = 0, fracd = 0;
    while (*p >= '0' && *p <= '9')
        p++, intd++;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++, fracd++;
    }
    if (intd + fracd == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

static cJSON *scalar(const yaml_node_t *n)
{
    const char *v = (const char *)n->data.scalar.value;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return cJSON_CreateString(v);
    static const char *nulls[] = {"", "~", "null", "Null", "NULL"};
    static const char *trues[] = {"true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"};
    static const char *falses[] = {"false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"};
    for (size_t i = 0; i < sizeof nulls / sizeof *nulls; i++)
        if (strcmp(v, nulls[i]) == 0)
            return cJSON_CreateNull();
    for (size_t i = 0; i < sizeof trues / sizeof *trues; i++)
        if (strcmp(v, trues[i]) == 0)
            return cJSON_CreateTrue();
    for (size_t i = 0; i < sizeof falses / sizeof *falses; i++)
        if (strcmp(v, falses[i]) == 0)
            return cJSON_CreateFalse();
    if (is_decimal_number(v))
        return cJSON_CreateNumber(strtod(v, NULL));
    return cJSON_CreateString(v);
}

static cJSON *convert(struct conv *c, const yaml_node_t *n, int depth)
{
    if (!n) {
        snprintf(c->err, c->errlen, "YAML: dangling node reference");
        return NULL;
    }
    if (depth > YAMLJSON_MAX_DEPTH) {
        snprintf(c->err, c->errlen, "YAML: nesting deeper than %d levels at line %zu", YAMLJSON_MAX_DEPTH,
                 n->start_mark.line + 1);
        return NULL;
    }
    if (++c->produced > YAMLJSON_MAX_NODES) {
        snprintf(c->err, c->errlen,
                 "YAML: more than %d nodes (counting expanded aliases): an alias bomb, or a file too large to "
                 "read at once; split it",
                 YAMLJSON_MAX_NODES);
        return NULL;
    }
    cJSON *out = NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE:
        out = scalar(n);
        break;
    case YAML_SEQUENCE_NODE:
        out = cJSON_CreateArray();
        for (yaml_node_item_t *it = n->data.sequence.items.start; out && it < n->data.sequence.items.top; it++) {
            cJSON *child = convert(c, yaml_document_get_node(c->doc, *it), depth + 1);
            if (!child) {
                cJSON_Delete(out);
                return NULL;
            }
            cJSON_AddItemToArray(out, child);
        }
        break;
    case YAML_MAPPING_NODE:
        out = cJSON_CreateObject();
        for (yaml_node_pair_t *p = n->data.mapping.pairs.start; out && p < n->data.mapping.pairs.top; p++) {
            const yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
            if (!k || k->type != YAML_SCALAR_NODE) {
                snprintf(c->err, c->errlen, "YAML line %zu: mapping keys must be scalars",
                         (k ? k->start_mark.line : n->start_mark.line) + 1);
                cJSON_Delete(out);
                return NULL;
            }
            const char *key = (const char *)k->data.scalar.value;
            if (strcmp(key, "<<") == 0 && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
                snprintf(c->err, c->errlen, "YAML line %zu: merge keys (<<) are not supported", k->start_mark.line + 1);
                cJSON_Delete(out);
                return NULL;
            }
            cJSON *child = convert(c, yaml_document_get_node(c->doc, p->value), depth + 1);
            if (!child) {
                cJSON_Delete(out);
                return NULL;
            }
            /* Later duplicates replace earlier ones (go-yaml rejects them; be lenient but exact). */
            if (cJSON_GetObjectItemCaseSensitive(out, key))
                cJSON_ReplaceItemInObjectCaseSensitive(out, key, child);
            else
                cJSON_AddItemToObject(out, key, child);
        }
        break;
    default:
        snprintf(c->err, c->errlen, "YAML: empty node");
        return NULL;
    }
    if (!out)
        snprintf(c->err, c->errlen, "out of memory");
    return out;
}

static size_t count_nodes(const cJSON *j)
{
    size_t n = 1;
    for (const cJSON *c = j->child; c; c = c->next)
        n += count_nodes(c);
    return n;
}

static cJSON *parse_json(const char *data, size_t len, char *err, size_t errlen)
{
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(data, len, &end, 0);
    if (!doc) {
        size_t off = end ? (size_t)(end - data) : 0;
        size_t line = 1, col = 1;
        for (size_t i = 0; i < off && i < len; i++) {
            if (data[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        snprintf(err, errlen, "JSON syntax error at line %zu, column %zu", line, col);
        return NULL;
    }
    for (size_t i = (size_t)(end - data); i < len; i++)
        if (!strchr(" \t\r\n", data[i]) || !data[i]) {
            snprintf(err, errlen, "JSON: unexpected data after the end of the document (byte %zu)", i + 1);
            cJSON_Delete(doc);
            return NULL;
        }
    cJSON *arr = cJSON_CreateArray();
    if (!arr) {
        cJSON_Delete(doc);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    cJSON_AddItemToArray(arr, doc);
    return arr;
}

struct yamljson_reader {
    yaml_parser_t parser;
    bool json;      /* one strict JSON document */
    bool done;
    const char *data;
    size_t len;
};

struct yamljson_reader *yamljson_reader_new(const char *data, size_t len, char *err, size_t errlen)
{
    struct yamljson_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->data = data;
    r->len = len;
    size_t i = 0;
    while (i < len && strchr(" \t\r\n", data[i]) && data[i])
        i++;
    if (i < len && (data[i] == '{' || data[i] == '[')) {
        r->json = true;
        return r;
    }
    if (!yaml_parser_initialize(&r->parser)) {
        free(r);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&r->parser, (const unsigned char *)data, len);
    return r;
}

void yamljson_reader_free(struct yamljson_reader *r)
{
    if (!r)
        return;
    if (!r->json)
        yaml_parser_delete(&r->parser);
    free(r);
}

int yamljson_reader_next(struct yamljson_reader *r, cJSON **out, size_t *line, char *err, size_t errlen)
{
    *out = NULL;
    if (line)
        *line = 1;
    if (r->done)
        return 0;
    if (r->json) {
        r->done = true;
        cJSON *arr = parse_json(r->data, r->len, err, errlen);
        if (!arr)
            return -1;
        *out = cJSON_DetachItemFromArray(arr, 0);
        cJSON_Delete(arr);
        return 1;
    }
    yaml_document_t doc;
    if (!yaml_parser_load(&r->parser, &doc)) {
        snprintf(err, errlen, "YAML error at line %zu, column %zu: %s%s%s", r->parser.problem_mark.line + 1,
                 r->parser.problem_mark.column + 1, r->parser.problem ? r->parser.problem : "syntax error",
                 r->parser.context ? " " : "", r->parser.context ? r->parser.context : "");
        r->done = true;
        return -1;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) { /* end of stream */
        yaml_document_delete(&doc);
        r->done = true;
        return 0;
    }
    if (line)
        *line = doc.start_mark.line + 1;
    struct conv c = {.doc = &doc, .err = err, .errlen = errlen};
    *out = convert(&c, root, 0);
    yaml_document_delete(&doc);
    if (!*out) {
        r->done = true;
        return -1;
    }
    return 1;
}

cJSON *yamljson_parse(const char *data, size_t len, char *err, size_t errlen)
{
    struct yamljson_reader *r = yamljson_reader_new(data, len, err, errlen);
    if (!r)
        return NULL;
    cJSON *docs = cJSON_CreateArray(), *doc;
    size_t produced = 0;
    int got;
    while (docs && (got = yamljson_reader_next(r, &doc, NULL, err, errlen)) == 1) {
        /* the node cap holds for the whole YAML stream here, as for one document in the reader */
        produced += r->json ? 0 : count_nodes(doc);
        if (produced > YAMLJSON_MAX_NODES) {
            snprintf(err, errlen, "YAML: more than %d nodes (counting expanded aliases): an alias bomb, or a file too "
                     "large to read at once; split it", YAMLJSON_MAX_NODES);
            cJSON_Delete(doc);
            got = -1;
            break;
        }
        cJSON_AddItemToArray(docs, doc);
    }
    if (!docs)
        snprintf(err, errlen, "out of memory");
    else if (got < 0) {
        cJSON_Delete(docs);
        docs = NULL;
    }
    yamljson_reader_free(r);
    return docs;
}
