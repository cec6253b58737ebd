/* Differential fuzz of the tree-free decoders (tests/unit/nodejson_ref.h): whenever nodejson
 * accepts a Node, a watch event envelope, a trace line or (liststream) a LIST page, cJSON and the general
 * decoders accept it too and read the very same values. The first byte picks the decoder (node, envelope, page,
 * trace line) and the counting options, the second the chunk sizes a page arrives in; the rest is the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../unit/nodejson_ref.h"
#include "selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    const char *in = (const char *)data + 2;
    size_t len = size - 2;
    char why[600];
    int rc = 0;
    switch (data[0] % 5) {
    case 0:
    case 1: {
        struct node_count_opts opts;
        node_count_opts_init(&opts);
        struct selector *sel = NULL;
        char err[256];
        switch (data[0] / 5 % 4) {
        case 1: opts.legacy_schedulable = true; break;
        case 2:
            if (selector_parse("kubernetes.io/os=linux,!a", &sel, err, sizeof err) == 0)
                opts.selector = sel;
            break;
        case 3: (void)node_count_opts_add_taint(&opts, "a:NoSchedule", err, sizeof err); break;
        default: break;
        }
        rc = nodejson_check(in, len, &opts, why, sizeof why);
        node_count_opts_release(&opts);
        selector_free(sel);
        break;
    }
    case 2:
        rc = envelope_check(in, len, why, sizeof why);
        break;
    case 4: {
        struct node_count_opts opts;
        node_count_opts_init(&opts);
        opts.legacy_schedulable = data[1] & 1;
        rc = trace_line_check(in, len, &opts, why, sizeof why);
        node_count_opts_release(&opts);
        break;
    }
    default: {
        size_t chunks[3] = {1u + data[1] % 7u, 1u + data[1] / 7u % 64u, 4096};
        rc = liststream_check(in, len, chunks, 3, why, sizeof why);
        break;
    }
    }
    if (rc < 0) {
        fprintf(stderr, "the tree-free decoder and cJSON disagree (%s) on: %.*s\n", why, (int)len, in);
        abort();
    }
    return 0;
}
