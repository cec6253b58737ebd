/* Fuzz YAML/JSON document conversion (ConfigMaps, Node files, manifests, kubeconfig) three ways
 * in: all documents at once; one at a time with the reader (KWOK recordings), which must yield
 * the same documents whenever the whole stream converts; and the reader on a FILE (streamed),
 * which must match the in-memory reader document for document, line for line, error for error. */
#define _GNU_SOURCE /* fmemopen */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Same tree? Compared as printed text: cJSON_Compare says an infinity differs from itself. */
static int same(const cJSON *a, const cJSON *b)
{
    char *x = cJSON_PrintUnformatted(a), *y = cJSON_PrintUnformatted(b);
    int eq = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return eq;
}

/* The in-memory reader and the file reader on the same bytes agree on everything. */
static void memory_vs_file(const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
    if (!f)
        return;
    char err1[512], err2[512];
    struct yamljson_reader *m = yamljson_reader_new((const char *)data, size, err1, sizeof err1);
    struct yamljson_reader *r = yamljson_reader_open(f, 1u << 20, err2, sizeof err2);
    if (!m || !r)
        abort();
    for (;;) {
        cJSON *a, *b;
        size_t la, lb;
        int ga = yamljson_reader_next(m, &a, &la, err1, sizeof err1);
        int gb = yamljson_reader_next(r, &b, &lb, err2, sizeof err2);
        if (ga != gb || (ga == 1 && (la != lb || !same(a, b))) || (ga < 0 && strcmp(err1, err2) != 0))
            abort();
        cJSON_Delete(a);
        cJSON_Delete(b);
        if (ga != 1)
            break;
    }
    yamljson_reader_free(m);
    yamljson_reader_free(r);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    memory_vs_file(data, size);
    char err[512];
    cJSON *docs = yamljson_parse((const char *)data, size, err, sizeof err);
    struct yamljson_reader *r = yamljson_reader_new((const char *)data, size, err, sizeof err);
    if (r) {
        cJSON *doc;
        const cJSON *want = docs ? docs->child : NULL;
        int got;
        while ((got = yamljson_reader_next(r, &doc, NULL, err, sizeof err)) == 1) {
            if (docs && (!want || !same(doc, want)))
                abort(); /* the reader disagrees with the whole-stream parse */
            want = want ? want->next : NULL;
            cJSON_Delete(doc);
        }
        if (docs && (got != 0 || want))
            abort();
        yamljson_reader_free(r);
    }
    cJSON_Delete(docs);
    return 0;
}
