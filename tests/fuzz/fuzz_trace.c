/* Fuzz the trace reader (gzip-or-plain line reader, event decoder, bad-line handling) as replay
 * uses it: bytes -> trace_next until the end, from memory, or from a file read in small chunks. */
#define _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t h = fuzz_input_hash(data, size);
    char err[512];
    if (h % 8 != 0) { /* in memory: the line cutting and decoding, without a file per input */
        fuzz_replay_open_trace(trace_open_memory("fuzz", data, size, NULL, NULL, err, sizeof err));
        return 0;
    }
    /* one in 8 from a file (plain, or gzip when the input is one), read a few bytes at a time
     * with a small line cap: the window's refills, moves and growth, and over-long lines */
    char path[] = "/tmp/fuzz-trace-XXXXXX";
    if (fuzz_to_file(path, data, size) != 0)
        return 0;
    struct trace *t = trace_open(path, NULL, NULL, err, sizeof err);
    size_t chunk = 1 + (h >> 8) % 97;
    if (t && trace_set_window(t, chunk, chunk * (2 + (h >> 16) % 16)) != 0)
        abort();
    fuzz_replay_open_trace(t);
    unlink(path);
    return 0;
}
