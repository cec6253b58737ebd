/* Fuzz `propsim replay` end to end, as a user runs it: any bytes as a trace, through the trace
 * reader, the node set, two params sets (linear and ladder), the guard, the virtual clock and the
 * chart. It must finish (no hang on absurd times), never crash, and free what it allocates.
 * The outputs (timeline, summary, chart) are rendered in memory and dropped: a file system round
 * trip per input was the harness's cost; so were inputs whose time gaps make millions of poll
 * decisions (each the same as the one before): gaps over 5,000 polls (20,000 in a run) are
 * refused as a unit mix-up here, the same path as the command's 10^7 per gap. The trace itself is read from a file, as
 * replay reads it (plain or gzip), on a memory file system where there is one. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "replay_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *scratch = "/dev/shm";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (access(scratch, W_OK) != 0)
        scratch = "/tmp";
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
                    "--guard", "--poll-period", "60", NULL, NULL};
    int argc = (int)(sizeof argv / sizeof *argv) - 2;
    /* the chart (its buckets and the SVG) costs more than the rest of a small input's replay and
     * depends little on the trace's shape: one input in eight exercises it */
    if (size % 8 != 0)
        argv[argc++] = "--no-chart";
    static const struct replay_command_opts opts = {.keep_outputs = false, .max_polls_per_gap = 5000, .max_polls = 20000};
    replay_command(argc, argv, &opts);
    unlink(in);
    return 0;
}
