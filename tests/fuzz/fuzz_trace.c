/* Fuzz the trace reader (gzip-or-plain line reader, event decoder, bad-line handling) as replay
 * uses it: bytes -> a temporary file -> trace_next until the end. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nodes.h"
#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/fuzz-trace-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    char err[512];
    struct trace *t = trace_open(path, NULL, NULL, err, sizeof err);
    struct node_set *set = node_set_new();
    if (t && set) {
        struct watch_event *ev;
        while (trace_next(t, &ev, err, sizeof err) == 1) {
            struct node_obs n;
            if (ev->kind && node_decode(ev->object, NULL, &n, err, sizeof err) == 0) {
                if (ev->type == WEV_DELETED)
                    node_set_remove(set, n.name);
                else
                    node_set_upsert(set, &n);
            }
        }
    }
    trace_close(t);
    node_set_free(set);
    unlink(path);
    return 0;
}
