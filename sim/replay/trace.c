#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "nodeline.h"

/* Lines are cut out of a window of bytes: the whole input for a memory trace, a buffer refilled by
 * large gzread()s for a file (gzgets, which copies byte by byte up to each newline, was a third
 * of a replay's time). A line is handed to the decoders in place: they take a length. */
struct trace {
    gzFile f;         /* NULL: a memory trace */
    const char *mem;  /* the memory trace, or `buf` for a file */
    size_t mem_len;   /* bytes in the window */
    size_t pos;       /* the start of the next line in the window */
    bool eof;         /* a file: gzread said end of input */
    char *buf;
    size_t cap;
    size_t max_line; /* TRACE_MAX_LINE; smaller in tests */
    char *path;
    long line;
    long bad;
    double last_t;
    struct watch_event ev;
    bool have_ev;
    bool fast;
    const struct node_count_opts *opts;
    struct nodeline nl;
    long fast_lines;
    trace_report_fn report;
    void *ctx;
};

#define TRACE_CHUNK (256u << 10)

long trace_line(const struct trace *t) { return t->line; }
long trace_bad_lines(const struct trace *t) { return t->bad; }
long trace_fast_lines(const struct trace *t) { return t->fast_lines; }

void trace_decode_nodes(struct trace *t, const struct node_count_opts *opts)
{
    t->fast = true;
    t->opts = opts;
}

static struct trace *trace_new(const char *name, trace_report_fn report, void *ctx, char *err, size_t errlen)
{
    struct trace *t = calloc(1, sizeof *t);
    if (!t || !(t->path = strdup(name))) {
        free(t);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->report = report;
    t->ctx = ctx;
    t->max_line = TRACE_MAX_LINE;
    return t;
}

int trace_set_window(struct trace *t, size_t chunk, size_t max_line)
{
    if (!t->f || chunk == 0 || max_line < chunk || t->line > 0)
        return -1;
    char *nb = realloc(t->buf, chunk);
    if (!nb)
        return -1;
    t->buf = nb;
    t->mem = nb;
    t->cap = chunk;
    t->max_line = max_line;
    return 0;
}

struct trace *trace_open(const char *path, trace_report_fn report, void *ctx, char *err, size_t errlen)
{
    struct trace *t = trace_new(path, report, ctx, err, errlen);
    if (!t)
        return NULL;
    errno = 0;
    t->f = strcmp(path, "-") == 0 ? gzdopen(0, "rb") : gzopen(path, "rb");
    if (!t->f) {
        snprintf(err, errlen, "cannot open trace %s: %s", path, errno ? strerror(errno) : "gzopen failed");
        trace_close(t);
        return NULL;
    }
    gzbuffer(t->f, TRACE_CHUNK);
    t->cap = TRACE_CHUNK;
    t->buf = malloc(t->cap);
    if (!t->buf) {
        trace_close(t);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->mem = t->buf;
    return t;
}

struct trace *trace_open_memory(const char *name, const void *data, size_t len, trace_report_fn report, void *ctx,
                                char *err, size_t errlen)
{
    struct trace *t = trace_new(name, report, ctx, err, errlen);
    if (!t)
        return NULL;
    t->mem = data;
    t->mem_len = len;
    t->eof = true;
    return t;
}

void trace_close(struct trace *t)
{
    if (!t)
        return;
    if (t->have_ev)
        watch_event_release(&t->ev);
    if (t->f)
        gzclose(t->f);
    free(t->path);
    free(t->buf);
    free(t);
}

static void bad(struct trace *t, const char *msg)
{
    t->bad++;
    if (t->report)
        t->report(t->ctx, t->path, t->line, msg);
}

/* Timestamps never go backwards: an earlier one is reported and clamped (the event is kept). */
static double monotonic_t(struct trace *t, double ev_t)
{
    if (ev_t < t->last_t) {
        char msg[160];
        snprintf(msg, sizeof msg, "time goes backwards (%.15g after %.15g); using %.15g", ev_t, t->last_t, t->last_t);
        bad(t, msg);
        t->bad--; /* kept, not skipped */
        ev_t = t->last_t;
    }
    t->last_t = ev_t;
    return ev_t;
}

enum line_status { LINE_NONE, LINE_COMPLETE, LINE_LAST, LINE_TOO_LONG, LINE_ERROR };

/* Make room for more bytes in a file's window: drop the lines already read, or grow the buffer
 * (up to TRACE_MAX_LINE). 0, or -1 when the line in the window has reached the cap. */
static int window_room(struct trace *t, char *err, size_t errlen)
{
    if (t->pos > 0) {
        memmove(t->buf, t->buf + t->pos, t->mem_len - t->pos);
        t->mem_len -= t->pos;
        t->pos = 0;
    }
    if (t->mem_len < t->cap)
        return 0;
    if (t->cap >= t->max_line)
        return -1;
    size_t cap = t->cap * 2 < t->max_line ? t->cap * 2 : t->max_line;
    char *nb = realloc(t->buf, cap);
    if (!nb) {
        snprintf(err, errlen, "out of memory reading %s", t->path);
        return -2;
    }
    t->buf = nb;
    t->mem = nb;
    t->cap = cap;
    return 0;
}

static int window_fill(struct trace *t, char *err, size_t errlen)
{
    int n = gzread(t->f, t->buf + t->mem_len, (unsigned)(t->cap - t->mem_len));
    if (n < 0) {
        int zerr;
        const char *msg = gzerror(t->f, &zerr);
        snprintf(err, errlen, "%s: %s (after line %ld)", t->path, msg, t->line);
        return -1;
    }
    if (n == 0) {
        int zerr;
        const char *msg = gzerror(t->f, &zerr);
        if (zerr != Z_OK && zerr != Z_STREAM_END) {
            snprintf(err, errlen, "%s: %s (after line %ld)", t->path, msg, t->line);
            return -1;
        }
        t->eof = true;
    }
    t->mem_len += (size_t)n;
    return 0;
}

/* The next line, without its newline. LINE_LAST: the input ended without one. */
static enum line_status next_line(struct trace *t, const char **line, size_t *len, char *err, size_t errlen)
{
    size_t scanned = 0; /* bytes of this line already searched for a newline */
    for (;;) {
        const char *start = t->mem + t->pos;
        size_t avail = t->mem_len - t->pos;
        const char *nl = memchr(start + scanned, '\n', avail - scanned);
        if (nl) {
            *line = start;
            *len = (size_t)(nl - start);
            t->pos += *len + 1;
            return *len >= t->max_line ? LINE_TOO_LONG : LINE_COMPLETE;
        }
        scanned = avail;
        if (t->eof) {
            if (avail == 0)
                return LINE_NONE;
            *line = start;
            *len = avail;
            t->pos = t->mem_len;
            return avail >= t->max_line ? LINE_TOO_LONG : LINE_LAST;
        }
        int room = window_room(t, err, errlen);
        if (room == -2)
            return LINE_ERROR;
        if (room == -1) { /* a line past the cap: skip to its end */
            t->pos = t->mem_len;
            for (;;) {
                t->pos = t->mem_len = 0;
                if (window_fill(t, err, errlen) != 0)
                    return LINE_ERROR;
                if (t->eof)
                    return LINE_TOO_LONG;
                const char *e = memchr(t->buf, '\n', t->mem_len);
                if (e) {
                    t->pos = (size_t)(e - t->buf) + 1;
                    return LINE_TOO_LONG;
                }
            }
        }
        if (window_fill(t, err, errlen) != 0)
            return LINE_ERROR;
    }
}

int trace_next(struct trace *t, struct trace_event *out, char *err, size_t errlen)
{
    if (t->have_ev) {
        watch_event_release(&t->ev);
        t->have_ev = false;
    }
    for (;;) {
        const char *line = NULL;
        size_t len = 0;
        enum line_status st = next_line(t, &line, &len, err, errlen);
        if (st == LINE_ERROR)
            return -1;
        if (st == LINE_NONE)
            return 0;
        t->line++;
        if (st == LINE_TOO_LONG) {
            char msg[80];
            snprintf(msg, sizeof msg, "line longer than %zu MiB, skipped", t->max_line >> 20);
            if (t->max_line < (1u << 20))
                snprintf(msg, sizeof msg, "line longer than %zu bytes, skipped", t->max_line);
            bad(t, msg);
            continue;
        }
        size_t l = len;
        while (l && (line[l - 1] == '\n' || line[l - 1] == '\r' || line[l - 1] == ' '))
            l--;
        if (l == 0)
            continue;
        if (t->fast && nodeline_decode(line, l, t->opts, &t->nl) == 1) {
            t->fast_lines++;
            *out = (struct trace_event){.t = monotonic_t(t, t->nl.t), .type = t->nl.type, .node = &t->nl.node};
            return 1;
        }
        char perr[256];
        if (watch_event_parse(line, l, &t->ev, perr, sizeof perr) != 0) {
            if (st == LINE_LAST) {
                bad(t, "truncated last line (the recording stopped mid-line), ignored");
                return 0;
            }
            char msg[320];
            snprintf(msg, sizeof msg, "%s, skipped", perr);
            bad(t, msg);
            continue;
        }
        if (!t->ev.has_t) {
            watch_event_release(&t->ev);
            bad(t, "event without \"t\" (seconds since the start of the trace), skipped");
            continue;
        }
        t->ev.t = monotonic_t(t, t->ev.t);
        t->have_ev = true;
        *out = (struct trace_event){.t = t->ev.t, .type = t->ev.type, .ev = &t->ev};
        return 1;
    }
}
