/* Fuzz the pods side of placement: the bytes as lines of Pod JSON (a line starting with '-' is a
 * deletion), applied as the pod watch applies LIST items and events, then the per-node replica
 * counts the hot-spot report reads. The counts must add up to the bound pods. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "podwatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct podwatch *p = podwatch_new_offline("kube-system", "k8s-app=kube-dns");
    if (!p)
        return 0;
    const char *s = (const char *)data, *end = s + size;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        size_t len = nl ? (size_t)(nl - s) : (size_t)(end - s);
        bool deleted = len && s[0] == '-';
        cJSON *pod = cJSON_ParseWithLength(s + deleted, len - deleted);
        if (pod)
            podwatch_apply(p, pod, deleted);
        cJSON_Delete(pod);
        s += len + 1;
    }
    size_t n = podwatch_pods(p);
    struct node_load *load = malloc((n ? n : 1) * sizeof *load);
    if (load) {
        size_t nodes = podwatch_load(p, load, n ? n : 1);
        long total = 0;
        for (size_t i = 0; i < nodes && i < n; i++) {
            if (load[i].replicas < 1 || (i && load[i].replicas > load[i - 1].replicas))
                __builtin_trap();
            total += load[i].replicas;
        }
        if ((size_t)total > n)
            __builtin_trap();
    }
    free(load);
    podwatch_free(p);
    return 0;
}
