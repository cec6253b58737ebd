/* Fuzz the KWOK importer (multi-document YAML, both ResourcePatch shapes, strategic merge patches
 * on node state) as `propsim import kwok` runs it: bytes -> a temporary file -> a trace,
 * which is then read back with the trace reader, as replay would. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[] = "/tmp/fuzz-kwok-in-XXXXXX", out[] = "/tmp/fuzz-kwok-out-XXXXXX";
    if (fuzz_to_file(in, data, size) != 0)
        return 0;
    if (fuzz_to_file(out, data, 0) != 0) {
        unlink(in);
        return 0;
    }
    if (import_kwok(in, out, true) == 0)
        fuzz_replay_trace(out);
    unlink(in);
    unlink(out);
    return 0;
}
