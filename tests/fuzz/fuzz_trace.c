/* Fuzz the trace reader (gzip-or-plain line reader, event decoder, bad-line handling) as replay
 * uses it: bytes -> a temporary file -> trace_next until the end. */
#define _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/fuzz-trace-XXXXXX";
    if (fuzz_to_file(path, data, size) != 0)
        return 0;
    fuzz_replay_trace(path);
    unlink(path);
    return 0;
}
