/* Fuzz YAML/JSON document conversion (ConfigMaps, Node files, manifests, kubeconfig). */
#include <stdint.h>

#include "yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    cJSON *docs = yamljson_parse((const char *)data, size, err, sizeof err);
    cJSON_Delete(docs);
    return 0;
}
