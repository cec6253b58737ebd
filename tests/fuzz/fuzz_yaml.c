/* Fuzz YAML/JSON document conversion (ConfigMaps, Node files, manifests, kubeconfig) both ways in:
 * all documents at once, and one at a time with the reader (KWOK recordings), which must yield
 * the same documents whenever the whole stream converts. */
#include <stdint.h>
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
