/* Fuzz what propscaler reads of the API server's answers: the bytes as the body of a 200 answer
 * (first byte: which reader, and the content type), through kanswer's strict readers for LIST
 * pages (items, continue, resourceVersion, remainingItemCount), Scales and Leases, and the
 * description used in error messages. A value accepted must satisfy its contract. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kanswer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *body = malloc(size);
    if (!body)
        return 0;
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    struct kresp r = {.status = 200, .body = body, .len = size - 1, .content_type = data[0] & 8 ? "text/html" : ""};
    char err[700], what[400];
    kresp_describe(&r, what, sizeof what);
    cJSON *root = NULL;
    static const char *kinds[] = {"NodeList", "Scale", "Lease", NULL};
    int which = data[0] & 3;
    if (kanswer_object(&r, which == 3 ? NULL : kinds[which], &root, err, sizeof err) == 0) {
        struct kanswer_list page;
        if (kanswer_list_page(root, &page, err, sizeof err) == 0) {
            if (!page.resource_version || !page.resource_version[0] || !page.continue_token || page.remaining < -1)
                __builtin_trap();
            const cJSON *it;
            cJSON_ArrayForEach(it, page.items) if (!cJSON_IsObject(it)) __builtin_trap();
        }
        int32_t replicas;
        if (kanswer_scale_replicas(root, &replicas, err, sizeof err) == 0 && replicas < 0)
            __builtin_trap();
        struct kanswer_lease lease;
        if (kanswer_lease(root, &lease, err, sizeof err) == 0 && (strlen(lease.holder) > 255 || !lease.renew_time))
            __builtin_trap();
        cJSON_Delete(root);
    }
    free(body);
    return 0;
}
