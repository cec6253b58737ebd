/* Fuzz the watch path: bytes in arbitrary chunks (the first byte picks the chunk size) through the
 * capped line splitter, each line through the event decoder and, for Nodes, the Node decoder.
 * Chunk sizes: 1..32 bytes (a line cut anywhere, libcurl's worst case) for one first byte in
 * eight, else up to 14 KiB (libcurl's usual 16 KiB reads): feeding every input a byte at a time
 * made the splitter's calls most of the harness's time. */
#include <stddef.h>
#include <stdint.h>

#include "nodes.h"
#include "watchevent.h"
#include "watchsplit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_line(void *ctx, const char *line, size_t len)
{
    struct node_set *set = ctx;
    struct watch_event ev;
    char err[256];
    if (watch_event_parse(line, len, &ev, err, sizeof err) != 0)
        return 0;
    struct node_obs n;
    if (ev.type != WEV_BOOKMARK && ev.type != WEV_ERROR && node_decode(ev.object, NULL, &n, err, sizeof err) == 0) {
        if (ev.type == WEV_DELETED)
            node_set_remove(set, n.name);
        else
            node_set_upsert(set, &n);
    }
    watch_event_release(&ev);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t chunk = data[0] < 32 ? (size_t)data[0] + 1 : ((size_t)data[0] - 31) * 64 + 1;
    struct watch_splitter ws;
    watch_splitter_init(&ws, 16384); /* a real Node fits; the refusal path is reached by inputs of 16 KiB */
    struct node_set *set = node_set_new();
    char err[256];
    for (size_t pos = 1; pos < size && set; pos += chunk) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        if (watch_splitter_feed(&ws, (const char *)data + pos, n, on_line, set, err, sizeof err) < 0)
            break;
    }
    if (set) {
        struct cluster_summary s;
        node_set_summary(set, &s);
        if (s.schedulable_nodes > s.total_nodes)
            __builtin_trap();
    }
    node_set_free(set);
    watch_splitter_release(&ws);
    return 0;
}
