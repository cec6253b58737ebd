/* Differential fuzz of the canonical-line fast path: whenever policies/nodeline accepts a line,
 * the general decoder (watch_event_parse + node_decode, tests/unit/nodeline_ref.h) must accept it
 * too and agree on type, t (bit for bit) and the node record, under several counting options.
 * The first input byte picks the options; the rest is the line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../unit/nodeline_ref.h"
#include "selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct node_count_opts opts;
    node_count_opts_init(&opts);
    struct selector *sel = NULL;
    char err[256];
    switch (data[0] % 5) {
    case 1: opts.legacy_schedulable = true; break;
    case 2: opts.max_nano_per_node = 2000000000; break;
    case 3:
        if (selector_parse("kubernetes.io/hostname in (node-1,a)", &sel, err, sizeof err) == 0)
            opts.selector = sel;
        break;
    case 4: (void)node_count_opts_add_taint(&opts, "virtual-kubelet.io/provider", err, sizeof err); break;
    default: break;
    }
    const char *line = (const char *)data + 1;
    size_t len = size - 1;
    struct nodeline fast, ref;
    if (nodeline_decode(line, len, &opts, &fast) == 1 &&
        (nodeline_reference(line, len, &opts, &ref) != 0 || !nodeline_equal(&fast, &ref))) {
        fprintf(stderr, "fast path and JSON decoding disagree on: %.*s\n", (int)len, line);
        abort();
    }
    node_count_opts_release(&opts);
    selector_free(sel);
    return 0;
}
