/* Fuzz the trace reader (gzip-or-plain line reader, event decoder, bad-line handling) as replay
 * uses it: bytes -> trace_next until the end, from memory, or from a file read in small chunks
 * (the bytes as they are, or gzip-compressed: one or two members, maybe cut, maybe followed by
 * other bytes). */
#define _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

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
    if (fuzz_to_file(path, data, (h >> 3) % 2 ? size : 0) != 0)
        return 0;
    if (!((h >> 3) % 2)) {
        /* half of them gzip-compressed first (a member or two), then maybe cut short or followed
         * by other bytes: the inflating reader's members, trailer and errors on real streams */
        size_t half = (h >> 4) % 3 == 0 ? size / 2 : size;
        gzFile g = gzopen(path, "wb1");
        if (g && half)
            gzwrite(g, data, (unsigned)half);
        if (g)
            gzclose(g);
        if (half < size && (g = gzopen(path, "ab1")) != NULL) {
            gzwrite(g, data + half, (unsigned)(size - half));
            gzclose(g);
        }
        struct stat st;
        if ((h >> 6) % 4 == 0 && stat(path, &st) == 0 && st.st_size > 2 && truncate(path, st.st_size - 1 - (off_t)((h >> 8) % (uint32_t)(st.st_size - 1))) != 0)
            abort();
        FILE *f = (h >> 6) % 4 == 1 ? fopen(path, "ab") : NULL;
        if (f) {
            fwrite(data, 1, size < 16 ? size : 16, f);
            fclose(f);
        }
    }
    struct trace *t = trace_open(path, NULL, NULL, err, sizeof err);
    size_t chunk = 1 + (h >> 8) % 97;
    if (t && trace_set_window(t, chunk, chunk * (2 + (h >> 16) % 16)) != 0)
        abort();
    fuzz_replay_open_trace(t);
    unlink(path);
    return 0;
}
