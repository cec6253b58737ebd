/*
 * fuzz_common — helpers shared by the file-based fuzz targets (trace reader and importers):
 * they take a path because the code under test reads files (plain or gzip), as replay does.
 */
#ifndef PROPSCALER_FUZZ_COMMON_H
#define PROPSCALER_FUZZ_COMMON_H

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "nodes.h"
#include "trace.h"

/* Send stdout to /dev/null: the code under test reports there once per input, which is noise
 * (and time) in a fuzz run; libFuzzer reports on stderr. For LLVMFuzzerInitialize. */
static inline void fuzz_quiet_stdout(void)
{
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, STDOUT_FILENO);
        close(null);
    }
}

/* Write the fuzz input to a new temporary file named from `tmpl` (a mkstemp template, changed in
 * place). Returns 0, or -1 (nothing left behind). */
static inline int fuzz_to_file(char *tmpl, const uint8_t *data, size_t size)
{
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return -1;
    int ok = write(fd, data, size) == (ssize_t)size;
    close(fd);
    if (!ok) {
        unlink(tmpl);
        return -1;
    }
    return 0;
}

/* FNV-1a of the input: a deterministic choice of path (a crashing input takes the same one when
 * run alone), unlike the size, which libFuzzer often sets to exactly -max_len. */
static inline uint32_t fuzz_input_hash(const uint8_t *data, size_t size)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 16777619u;
    return h ^ (h >> 16);
}

/* Read an open trace (t may be NULL) to its end as replay does: every Node event, from the fast
 * path or decoded from JSON, applied to a node set; then close it. */
static inline void fuzz_replay_open_trace(struct trace *t)
{
    char err[512];
    struct node_set *set = node_set_new();
    if (t && set) {
        trace_decode_nodes(t, NULL);
        struct trace_event ev;
        while (trace_next(t, &ev, err, sizeof err) == 1) {
            struct node_obs n;
            if (ev.end)
                continue; /* the END marker: no event, no node */
            const struct node_obs *np = ev.node;
            if (!np && ev.ev->kind && node_decode(ev.ev->object, NULL, &n, err, sizeof err) == 0)
                np = &n;
            if (!np)
                continue;
            if (ev.type == WEV_DELETED)
                node_set_remove(set, np->name);
            else
                node_set_upsert(set, np);
        }
    }
    trace_close(t);
    node_set_free(set);
}

static inline void fuzz_replay_trace(const char *path)
{
    char err[512];
    fuzz_replay_open_trace(trace_open(path, NULL, NULL, err, sizeof err));
}

/* An importer run as `propsim import` runs it: the bytes as its input file, the trace it writes
 * read back as replay would. Its per-row complaints on stderr are silenced for the call (noise and
 * time in a fuzz run); libFuzzer's own reports are not. */
typedef int (*fuzz_import_fn)(const char *in, const char *out, const void *ctx);
static inline void fuzz_import_then_replay(const uint8_t *data, size_t size, fuzz_import_fn import, const void *ctx)
{
    char in[] = "/tmp/fuzz-import-in-XXXXXX", out[] = "/tmp/fuzz-import-out-XXXXXX";
    if (fuzz_to_file(in, data, size) != 0)
        return;
    if (fuzz_to_file(out, data, 0) != 0) {
        unlink(in);
        return;
    }
    int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
    if (null >= 0)
        dup2(null, STDERR_FILENO);
    int rc = import(in, out, ctx);
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
    if (null >= 0)
        close(null);
    if (rc == 0)
        fuzz_replay_trace(out);
    unlink(in);
    unlink(out);
}

#endif
