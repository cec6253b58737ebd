#include "trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "nodeline.h"

struct trace {
    gzFile f;
    char *path;
    char *buf;
    size_t cap;
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

long trace_line(const struct trace *t) { return t->line; }
long trace_bad_lines(const struct trace *t) { return t->bad; }
long trace_fast_lines(const struct trace *t) { return t->fast_lines; }

void trace_decode_nodes(struct trace *t, const struct node_count_opts *opts)
{
    t->fast = true;
    t->opts = opts;
}

struct trace *trace_open(const char *path, trace_report_fn report, void *ctx, char *err, size_t errlen)
{
    struct trace *t = calloc(1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->f = strcmp(path, "-") == 0 ? gzdopen(0, "rb") : gzopen(path, "rb");
    if (!t->f) {
        snprintf(err, errlen, "cannot open trace %s: %s", path, errno ? strerror(errno) : "gzopen failed");
        free(t);
        return NULL;
    }
    gzbuffer(t->f, 256 * 1024);
    t->path = strdup(path);
    t->cap = 1 << 16;
    t->buf = malloc(t->cap);
    t->report = report;
    t->ctx = ctx;
    if (!t->path || !t->buf) {
        trace_close(t);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
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

int trace_next(struct trace *t, struct trace_event *out, char *err, size_t errlen)
{
    if (t->have_ev) {
        watch_event_release(&t->ev);
        t->have_ev = false;
    }
    for (;;) {
        size_t len = 0;
        bool complete = false, got = false, too_long = false;
        for (;;) {
            if (!gzgets(t->f, t->buf + len, (int)(t->cap - len)))
                break;
            got = true;
            len += strlen(t->buf + len);
            if (len && t->buf[len - 1] == '\n') {
                complete = true;
                break;
            }
            if (t->cap - len > 1)
                continue; /* gzgets stopped at end of input */
            if (t->cap >= TRACE_MAX_LINE) {
                too_long = true;
                /* skip the rest of this line */
                int c;
                while ((c = gzgetc(t->f)) != -1 && c != '\n')
                    ;
                complete = true;
                break;
            }
            char *nb = realloc(t->buf, t->cap * 2);
            if (!nb) {
                snprintf(err, errlen, "out of memory reading %s", t->path);
                return -1;
            }
            t->buf = nb;
            t->cap *= 2;
        }
        if (!got) {
            int zerr;
            const char *msg = gzerror(t->f, &zerr);
            if (zerr != Z_OK && zerr != Z_STREAM_END) {
                snprintf(err, errlen, "%s: %s (after line %ld)", t->path, msg, t->line);
                return -1;
            }
            return 0;
        }
        t->line++;
        if (too_long) {
            bad(t, "line longer than 16 MiB, skipped");
            continue;
        }
        size_t l = len;
        while (l && (t->buf[l - 1] == '\n' || t->buf[l - 1] == '\r' || t->buf[l - 1] == ' '))
            l--;
        if (l == 0)
            continue;
        if (t->fast && nodeline_decode(t->buf, l, t->opts, &t->nl) == 1) {
            t->fast_lines++;
            *out = (struct trace_event){.t = monotonic_t(t, t->nl.t), .type = t->nl.type, .node = &t->nl.node};
            return 1;
        }
        char perr[256];
        if (watch_event_parse(t->buf, l, &t->ev, perr, sizeof perr) != 0) {
            if (!complete) {
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
