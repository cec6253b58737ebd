/* Fuzz the kubectl-watch importer (timestamp column, pretty-printed or one-per-line watch events,
 * junk lines) as `propsim import kubectl-watch` runs it: bytes -> a temporary file -> a trace,
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
    char in[] = "/tmp/fuzz-kwatch-in-XXXXXX", out[] = "/tmp/fuzz-kwatch-out-XXXXXX";
    if (fuzz_to_file(in, data, size) != 0)
        return 0;
    if (fuzz_to_file(out, data, 0) != 0) {
        unlink(in);
        return 0;
    }
    if (import_kubectl_watch(in, 1.0, out, true) == 0)
        fuzz_replay_trace(out);
    unlink(in);
    unlink(out);
    return 0;
}
