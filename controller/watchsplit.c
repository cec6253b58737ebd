#include "watchsplit.h"

#include <stdio.h>
#include <string.h>

void watch_splitter_init(struct watch_splitter *ws, size_t max_line)
{
    buf_init(&ws->buf, max_line);
    ws->scanned = 0;
    ws->max_line = max_line;
}

void watch_splitter_release(struct watch_splitter *ws) { buf_release(&ws->buf); }

size_t watch_splitter_pending(const struct watch_splitter *ws) { return ws->buf.len; }

static int emit(const char *line, size_t len, watch_line_fn fn, void *ctx)
{
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    return len ? fn(ctx, line, len) : 0;
}

int watch_splitter_feed(struct watch_splitter *ws, const char *data, size_t len, watch_line_fn fn, void *ctx,
                        char *err, size_t errlen)
{
    int rc = 0;
    /* Fast path: nothing buffered, consume whole lines straight from the input. */
    if (ws->buf.len == 0) {
        const char *p = data, *end = data + len, *nl;
        while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            if ((rc = emit(p, (size_t)(nl - p), fn, ctx)) != 0)
                return rc;
            p = nl + 1;
        }
        data = p;
        len = (size_t)(end - p);
        if (len == 0)
            return 0;
        ws->scanned = 0;
    }
    if (buf_append(&ws->buf, data, len) != 0) {
        snprintf(err, errlen, "watch event larger than %zu bytes (or out of memory)", ws->max_line);
        buf_reset(&ws->buf);
        ws->scanned = 0;
        return -1;
    }
    char *b = ws->buf.data;
    size_t start = 0, i = ws->scanned;
    const char *nl;
    /* memchr over the new bytes only: libc's scan is word-wide */
    while (i < ws->buf.len && (nl = memchr(b + i, '\n', ws->buf.len - i)) != NULL) {
        i = (size_t)(nl - b);
        if ((rc = emit(b + start, i - start, fn, ctx)) != 0)
            break;
        start = i + 1;
        i = start;
    }
    if (rc != 0)
        start = i + 1; /* the line that stopped the stream is consumed too */
    size_t tail = ws->buf.len - start;
    if (start)
        memmove(b, b + start, tail);
    ws->buf.len = tail;
    b[tail] = '\0';
    ws->scanned = rc ? 0 : tail;
    return rc;
}
