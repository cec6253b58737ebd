/* Fuzz the targets file and the vertical formats: the first byte picks the entry point (a targets
 * file; CPVA's JSON config; addon-resizer's flags, one per line). Whatever parses is computed for a
 * few cluster sizes, compared with itself (the threshold must accept what was computed, and a
 * value far off must be rewritten) and printed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "targets.h"
#include "vertical.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(const struct vertical_policy *p)
{
    static const int64_t sizes[][2] = {{0, 0}, {1, 4}, {17, 64}, {5000, 20000}, {INT32_MAX, INT64_C(1) << 40}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        struct vertical_answer a;
        vertical_compute(p, sizes[i][0], sizes[i][1], &a);
        for (size_t c = 0; c < p->n_containers; c++) {
            bool down;
            if (vertical_needs_rewrite(p, &a.values[c], &a.values[c], &down, NULL, 0))
                __builtin_trap(); /* what was computed is within any threshold of itself */
            struct vertical_values empty;
            memset(&empty, 0, sizeof empty);
            if (!vertical_needs_rewrite(p, &a.values[c], &empty, &down, NULL, 0))
                __builtin_trap(); /* every container has a managed value, missing here */
        }
        char *patch = vertical_patch_json(p, &a, "7");
        cJSON *j = vertical_answer_json(p, &a);
        free(patch);
        cJSON_Delete(j);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536)
        return 0;
    const char *text = (const char *)data + 1;
    size_t len = size - 1;
    char err[1024];
    switch (data[0] % 3) {
    case 0: {
        struct targets_config c;
        targets_config_init(&c);
        struct targets_defaults d = {.ns = "default"};
        if (targets_parse(text, len, &d, &c, err, sizeof err) == 0)
            for (size_t i = 0; i < c.n; i++)
                if (c.targets[i].vertical)
                    exercise(&c.targets[i].vpolicy);
        targets_config_release(&c);
        break;
    }
    case 1: {
        struct vertical_policy p;
        if (vertical_from_cpva_text(text, len, &p, err, sizeof err) == 0)
            exercise(&p);
        break;
    }
    default: {
        char *copy = malloc(len + 1);
        if (!copy)
            return 0;
        memcpy(copy, text, len);
        copy[len] = '\0';
        const char *argv[64];
        int argc = 0;
        char *save = NULL;
        for (char *tok = strtok_r(copy, "\n", &save); tok && argc < 64; tok = strtok_r(NULL, "\n", &save))
            argv[argc++] = tok;
        struct vertical_policy p;
        char dep[300], ns[300];
        if (vertical_from_addon_resizer(argc, argv, &p, dep, sizeof dep, ns, sizeof ns, err, sizeof err) == 0)
            exercise(&p);
        free(copy);
        break;
    }
    }
    return 0;
}
