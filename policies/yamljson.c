#include "yamljson.h"

#include <errno.h>
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
    /* reading from a file: the first bytes (read to tell JSON from YAML) are served again to the
     * parser, then the file follows; `owned` is freed with the reader */
    FILE *file;
    char *owned;
    size_t head_pos;
    size_t total, cap;
    int read_errno;  /* the file could not be read */
    bool too_large;  /* more than cap bytes */
};

static bool starts_as_json(const char *data, size_t len)
{
    size_t i = 0;
    while (i < len && data[i] && strchr(" \t\r\n", data[i]))
        i++;
    return i < len && (data[i] == '{' || data[i] == '[');
}

static struct yamljson_reader *reader_alloc(char *err, size_t errlen)
{
    struct yamljson_reader *r = calloc(1, sizeof *r);
    if (!r)
        snprintf(err, errlen, "out of memory");
    return r;
}

static int yaml_start(struct yamljson_reader *r, char *err, size_t errlen)
{
    if (!yaml_parser_initialize(&r->parser)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

struct yamljson_reader *yamljson_reader_new(const char *data, size_t len, char *err, size_t errlen)
{
    struct yamljson_reader *r = reader_alloc(err, errlen);
    if (!r)
        return NULL;
    r->data = data;
    r->len = len;
    if (starts_as_json(data, len)) {
        r->json = true;
        return r;
    }
    if (yaml_start(r, err, errlen) != 0) {
        free(r);
        return NULL;
    }
    yaml_parser_set_input_string(&r->parser, (const unsigned char *)data, len);
    return r;
}

/* libyaml's input handler: the bytes already read, then the rest of the file, up to the cap.
 * Returning 0 makes the parser fail with "input error"; reader_next says why. */
static int read_file_input(void *opaque, unsigned char *buffer, size_t size, size_t *size_read)
{
    struct yamljson_reader *r = opaque;
    if (r->head_pos < r->len) {
        size_t n = r->len - r->head_pos < size ? r->len - r->head_pos : size;
        memcpy(buffer, r->data + r->head_pos, n);
        r->head_pos += n;
        *size_read = n;
        return 1;
    }
    size_t got = fread(buffer, 1, size, r->file);
    if (got == 0 && ferror(r->file)) {
        r->read_errno = errno ? errno : EIO;
        return 0;
    }
    r->total += got;
    if (r->total > r->cap) {
        r->too_large = true;
        return 0;
    }
    *size_read = got;
    return 1;
}

/* Read up to `want` more bytes of the file into r->owned (grown as needed); -1 on a read error
 * or past the cap. */
static int read_more(struct yamljson_reader *r, size_t want, char *err, size_t errlen)
{
    char *d = realloc(r->owned, r->len + want + 1);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->owned = d;
    r->data = d;
    size_t got = fread(d + r->len, 1, want, r->file);
    r->len += got;
    d[r->len] = '\0';
    if (got < want && ferror(r->file)) {
        snprintf(err, errlen, "cannot read the input: %s", strerror(errno ? errno : EIO));
        return -1;
    }
    if (r->len > r->cap) {
        snprintf(err, errlen, "the input is larger than the %zu-byte limit", r->cap);
        return -1;
    }
    return (int)(got == want);
}

struct yamljson_reader *yamljson_reader_open(FILE *f, size_t cap, char *err, size_t errlen)
{
    struct yamljson_reader *r = reader_alloc(err, errlen);
    if (!r)
        return NULL;
    r->file = f;
    r->cap = cap;
    int more = read_more(r, 1u << 16, err, errlen);
    if (more < 0)
        goto fail;
    r->total = r->len;
    if (starts_as_json(r->data, r->len)) {
        /* one JSON document: cJSON needs all of it */
        r->json = true;
        for (size_t chunk = 1u << 16; more == 1; chunk = chunk < (1u << 26) ? chunk * 2 : chunk)
            if ((more = read_more(r, chunk, err, errlen)) < 0)
                goto fail;
        return r;
    }
    if (yaml_start(r, err, errlen) != 0)
        goto fail;
    yaml_parser_set_input(&r->parser, read_file_input, r);
    return r;
fail:
    free(r->owned);
    free(r);
    return NULL;
}

void yamljson_reader_free(struct yamljson_reader *r)
{
    if (!r)
        return;
    if (!r->json)
        yaml_parser_delete(&r->parser);
    free(r->owned);
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
        if (r->read_errno)
            snprintf(err, errlen, "cannot read the input after line %zu: %s", r->parser.mark.line + 1,
                     strerror(r->read_errno));
        else if (r->too_large)
            snprintf(err, errlen, "the input is larger than the %zu-byte limit (after line %zu)", r->cap,
                     r->parser.mark.line + 1);
        else
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
