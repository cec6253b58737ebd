/* A named ConfigMap's params from manifest files. See cmfile.h. */
#include "cmfile.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fileio.h"
#include "yamljson.h"

#define CMFILE_MAX (64u << 20)

/* 1: found (and *out set, or err set with rc -1 through *rc); 0: not in this file. */
static int from_docs(const cJSON *docs, const char *path, const char *name, struct params *out, int *rc, char *err,
                     size_t errlen)
{
    const cJSON *doc;
    cJSON_ArrayForEach(doc, docs)
    {
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "metadata"), "name");
        if (!cJSON_IsString(kind) || strcmp(kind->valuestring, "ConfigMap") != 0 || !cJSON_IsString(n) ||
            strcmp(n->valuestring, name) != 0)
            continue;
        struct cm_data cm;
        cm_data_init(&cm);
        const cJSON *e;
        *rc = 0;
        cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(doc, "data"))
        {
            if (!cJSON_IsString(e)) {
                snprintf(err, errlen, "%s: ConfigMap %s: data.%s must be a string; quote the value", path, name, e->string);
                *rc = -1;
                break;
            }
            if (cm_data_set(&cm, e->string, e->valuestring, strlen(e->valuestring)) != 0) {
                snprintf(err, errlen, "out of memory");
                *rc = -1;
                break;
            }
        }
        if (*rc == 0) {
            char why[1024];
            if (params_from_configmap(&cm, out, why, sizeof why) != 0) {
                snprintf(err, errlen, "%s: ConfigMap %s: %s", path, name, why);
                *rc = -1;
            }
        }
        cm_data_release(&cm);
        return 1;
    }
    return 0;
}

int cmfile_params(const char *const *paths, size_t n_paths, const char *name, struct params *out, char *err,
                  size_t errlen)
{
    for (size_t i = 0; i < n_paths; i++) {
        char *data = NULL, why[1024];
        size_t len;
        if (fileio_read_all(paths[i], CMFILE_MAX, &data, &len, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s", why);
            return -1;
        }
        cJSON *docs = yamljson_parse(data, len, why, sizeof why);
        free(data);
        if (!docs) {
            snprintf(err, errlen, "%s: %s", paths[i], why);
            return -1;
        }
        int rc = 0, found = from_docs(docs, paths[i], name, out, &rc, err, errlen);
        cJSON_Delete(docs);
        if (found)
            return rc;
    }
    if (n_paths == 0)
        snprintf(err, errlen, "its params are in ConfigMap %s: give that ConfigMap's manifest file", name);
    else
        snprintf(err, errlen, "its params are in ConfigMap %s, which %s%s does not hold", name, paths[0],
                 n_paths > 1 ? " (nor the other files given)" : "");
    return -1;
}
