/* Fuzz the Node decoder as the watch decoder and trace reader use it (JSON bytes -> cJSON ->
 * node record -> node set), with the opt-in filters on. */
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "nodes.h"
#include "selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *end = NULL;
    cJSON *obj = cJSON_ParseWithLengthOpts((const char *)data, size, &end, 0);
    if (!obj)
        return 0;
    struct node_count_opts o;
    node_count_opts_init(&o);
    char err[512];
    struct selector *sel = NULL;
    selector_parse("kubernetes.io/os=linux,!node-role.kubernetes.io/master", &sel, err, sizeof err);
    o.selector = sel;
    node_count_opts_add_taint(&o, "node-role.kubernetes.io/master:NoSchedule", err, sizeof err);
    o.max_nano_per_node = 64000000000;
    struct node_set *set = node_set_new();
    struct node_obs n;
    if (node_decode(obj, &o, &n, err, sizeof err) == 0 && set) {
        node_set_upsert(set, &n);
        struct cluster_summary s;
        node_set_summary(set, &s);
        if (s.schedulable_nodes > s.total_nodes)
            __builtin_trap();
        node_set_remove(set, n.name);
    }
    /* a list of nodes, as a LIST page */
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(obj, "items"))
    {
        if (node_decode(it, &o, &n, err, sizeof err) == 0 && set)
            node_set_upsert(set, &n);
    }
    node_set_free(set);
    selector_free(sel);
    node_count_opts_release(&o);
    cJSON_Delete(obj);
    return 0;
}
