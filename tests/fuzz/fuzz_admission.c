/* Fuzz the node-removal webhook's reader: any bytes as an AdmissionReview body, through the
 * strict parser, then (for a request it accepts) the rule and the answer, as the webhook runs
 * them. An accepted request must satisfy the parser's contract: a uid, an operation, and a node
 * name for every removal; the answer must be JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "admission.h"
#include "nodeguard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct admission_request r;
    char err[512];
    if (admission_request_parse((const char *)data, size, &r, err, sizeof err) != 0)
        return 0;
    if (!r.uid[0] || !r.operation[0] || (r.removal && !r.node[0]))
        __builtin_trap();
    struct nodeguard_opts o;
    nodeguard_opts_default(&o);
    struct nodeguard_state g;
    nodeguard_init(&g);
    nodeguard_observe(&g, &o, 0, 4, (int64_t)(size % 5));
    struct nodeguard_numbers nums;
    char reason[1024];
    bool allowed = true;
    for (int i = 0; r.removal && i < 5; i++) /* the same name is counted once */
        allowed = nodeguard_decide(&g, &o, i, r.node, r.node_override, !r.dry_run, &nums, reason, sizeof reason) ==
                  NODEGUARD_ALLOW;
    char *text = admission_response(r.uid, allowed, reason, allowed ? NULL : reason);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    if (text && !doc)
        __builtin_trap();
    cJSON_Delete(doc);
    free(text);
    nodeguard_release(&g);
    return 0;
}
