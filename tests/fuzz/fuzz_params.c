/* Fuzz the CPA params path: ConfigMap values for both modes, --default-params and the
 * replica computation on whatever parses. The first byte picks the entry point. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "params.h"
#include "replicas.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    char err[1024];
    struct params p;
    params_init(&p);
    struct cm_data d;
    cm_data_init(&d);
    switch (data[0] % 3) {
    case 0:
        cm_data_set(&d, "linear", text, len);
        break;
    case 1:
        cm_data_set(&d, "ladder", text, len);
        break;
    default:
        if (params_parse_default(text, len, &d, err, sizeof err) != 0)
            goto done;
        break;
    }
    if (params_from_configmap(&d, &p, err, sizeof err) == 0) {
        static const struct cluster_summary sums[] = {
            {0, 0, 0, 0, 0}, {3, 2, 12, 8, 3}, {15000, 14000, 60000, 56000, 14500}, {INT32_MAX, INT32_MAX, INT64_MAX, INT64_MAX, 0}};
        struct policy_opts o = {.spof_respects_max = (data[0] & 4) != 0, .refuse_empty_ladder = (data[0] & 8) != 0};
        for (size_t i = 0; i < sizeof sums / sizeof sums[0]; i++) {
            struct replica_calc c;
            if (replicas_compute(&p, &sums[i], &o, &c, err, sizeof err) == 0) {
                if (c.replicas < 0)
                    __builtin_trap();
                if (p.mode == PARAMS_LINEAR && c.replicas < 1)
                    __builtin_trap(); /* linear never returns less than 1 */
                replicas_explain(&p, &c, err, sizeof err);
            }
        }
    }
done:
    params_release(&p);
    cm_data_release(&d);
    return 0;
}
