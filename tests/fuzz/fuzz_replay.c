/* Fuzz `propsim replay` end to end, as a user runs it: any bytes as a trace, through the trace
 * reader, the node set, two params sets (linear and ladder), the guard, the virtual clock and the
 * chart. It must finish (no hang on absurd times), never crash, and free what it allocates. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "replay.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* inputs and outputs on a memory file system where there is one: a disk write per input was the
 * harness's cost */
static const char *scratch = "/dev/shm";
static char out_dir[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(out_dir, sizeof out_dir, "%s/fuzz-replay-out-XXXXXX", scratch);
    if (!mkdtemp(out_dir)) {
        scratch = "/tmp";
        snprintf(out_dir, sizeof out_dir, "%s/fuzz-replay-out-XXXXXX", scratch);
        if (!mkdtemp(out_dir))
            abort();
    }
    fuzz_quiet_stdout();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[64];
    snprintf(in, sizeof in, "%s/fuzz-replay-in-XXXXXX", scratch);
    if (fuzz_to_file(in, data, size) != 0)
        return 0;
    char *argv[] = {"replay", in, "--params", "{\"linear\":{\"nodesPerReplica\":2,\"coresPerReplica\":8,"
                    "\"preventSinglePointFailure\":true,\"min\":1,\"max\":500}}",
                    "--params", "{\"ladder\":{\"nodesToReplicas\":[[1,1],[3,2],[10,5]],\"includeUnschedulableNodes\":true}}",
                    "--guard", "--poll-period", "60", "--no-timeline", "--out", out_dir, NULL, NULL};
    int argc = (int)(sizeof argv / sizeof *argv) - 2;
    /* the chart (its buckets and the SVG) costs more than the rest of a small input's replay and
     * depends little on the trace's shape: one input in eight exercises it */
    if (size % 8 != 0)
        argv[argc++] = "--no-chart";
    replay_main(argc, argv);
    unlink(in);
    return 0;
}
