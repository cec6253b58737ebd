/*
 * watchsplit — cut a watch response body into lines, whatever the chunking.
 *
 * A watch is one long chunked HTTP body of JSON objects separated by '\n'; a single network read
 * may hold part of an event or many events. Bytes are appended to a buffer capped at max_line
 * (an event larger than that is an error, not an allocation bomb); only the new bytes are
 * scanned for '\n'; each complete line goes to the callback; the unfinished tail is moved to the
 * front once per feed. Empty lines are skipped.
 *
 * Ownership: struct watch_splitter is caller-owned (init/release). The line passed to the
 * callback is borrowed for the duration of the call. A callback returning non-zero stops the
 * feed and that value is returned.
 */
#ifndef PROPSCALER_WATCHSPLIT_H
#define PROPSCALER_WATCHSPLIT_H

#include <stddef.h>

#include "buf.h"

typedef int (*watch_line_fn)(void *ctx, const char *line, size_t len);

struct watch_splitter {
    struct buf buf;
    size_t scanned; /* bytes of buf already known to hold no '\n' */
    size_t max_line;
};

void watch_splitter_init(struct watch_splitter *ws, size_t max_line);
void watch_splitter_release(struct watch_splitter *ws);
/* Returns 0, the callback's non-zero value, or -1 with err set (line over the cap, no memory). */
int watch_splitter_feed(struct watch_splitter *ws, const char *data, size_t len, watch_line_fn fn, void *ctx,
                        char *err, size_t errlen);
/* Bytes of an unfinished line still buffered (a stream that ends here was cut mid-event). */
size_t watch_splitter_pending(const struct watch_splitter *ws);

#endif
