/* Fuzz the kubectl-watch importer (timestamp column, pretty-printed or one-per-line watch events,
 * junk lines) as `propsim import kubectl-watch` runs it: bytes -> a temporary file -> a trace,
 * which is then read back with the trace reader, as replay would. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "import.h"
#include "nodes.h"
#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char in[] = "/tmp/fuzz-kwatch-in-XXXXXX", out[] = "/tmp/fuzz-kwatch-out-XXXXXX";
    int fd = mkstemp(in), ofd = mkstemp(out);
    if (fd < 0 || ofd < 0 || write(fd, data, size) != (ssize_t)size)
        goto done;
    close(fd);
    fd = -1;
    close(ofd);
    ofd = -1;
    if (import_kubectl_watch(in, 1.0, out, true) == 0) {
        char err[512];
        struct trace *t = trace_open(out, NULL, NULL, err, sizeof err);
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
    }
done:
    if (fd >= 0)
        close(fd);
    if (ofd >= 0)
        close(ofd);
    unlink(in);
    unlink(out);
    return 0;
}
