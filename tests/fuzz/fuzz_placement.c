/* Fuzz the placement rules: the bytes as JSON [workload, node, node, ...]: the pod template's
 * nodeSelector, node affinity, tolerations and anti-affinity as the controller reads them from a
 * workload, and each node's eligibility (labels, taints) under them. */
#include <stdint.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "placement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
    if (!doc)
        return 0;
    struct placement_rules rules;
    placement_rules_init(&rules);
    placement_rules_from_workload(&rules, cJSON_IsArray(doc) ? doc->child : doc);
    const cJSON *n, *list = cJSON_IsArray(doc) ? doc : NULL;
    int i = 0;
    cJSON_ArrayForEach(n, list)
    {
        if (i++ == 0)
            continue;
        (void)placement_node_eligible(&rules, n);
        (void)placement_tolerates(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n, "spec"), "taints"),
                                  cJSON_GetObjectItemCaseSensitive(n, "tolerations"));
    }
    placement_rules_release(&rules);
    cJSON_Delete(doc);
    return 0;
}
