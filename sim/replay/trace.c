#define _GNU_SOURCE /* memmem */
#include "trace.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <isa-l/igzip_lib.h>
#include <unistd.h>

#include "nodejson.h"
#include "nodeline.h"

/* A trace file as bytes: plain, or gzip (one member or several, concatenated, as gzread reads
 * them; bytes after the last member that do not start another are ignored, as gzread does).
 * Inflated with ISA-L's igzip, six times zlib's speed here: zlib was the replay's bottleneck (its
 * own thread, at one core, paced the decisions). The gzip trailer's CRC and length are checked. */
struct source {
    int fd;
    bool opened;        /* fd is ours to close */
    int kind;           /* 0: not known yet; 1: plain; 2: gzip */
    bool in_eof;        /* read() said end of file */
    bool member_done;   /* a gzip member ended: another may follow */
    unsigned char *in;  /* compressed bytes read and not yet inflated: st.next_in, st.avail_in */
    size_t in_cap;
    uint64_t consumed;  /* compressed bytes inflated, for progress */
    struct inflate_state *st;
    char failed[160];   /* the error met after the bytes already handed out */
};

#define SOURCE_IN (256u << 10)

/* At least `want` bytes of input available (what is left moved to the buffer's start), or all
 * there is when the file ends first. -1 with msg set: a read error. */
static int source_want(struct source *s, uint32_t want, char *msg, size_t msglen)
{
    struct inflate_state *st = s->st;
    while (st->avail_in < want && !s->in_eof) {
        size_t kept = st->avail_in;
        if (kept && st->next_in != s->in)
            memmove(s->in, st->next_in, kept);
        ssize_t n;
        do
            n = read(s->fd, s->in + kept, s->in_cap - kept);
        while (n < 0 && errno == EINTR);
        if (n < 0) {
            snprintf(msg, msglen, "%s", strerror(errno));
            return -1;
        }
        s->in_eof = n == 0;
        st->next_in = s->in;
        st->avail_in = (uint32_t)(kept + (size_t)n);
    }
    return 0;
}

/* A gzip member starts at the input's position (inflate_init clears the input: kept). */
static void source_member_start(struct source *s)
{
    struct inflate_state *st = s->st;
    uint8_t *next = st->next_in;
    uint32_t avail = st->avail_in;
    isal_inflate_init(st);
    st->crc_flag = ISAL_GZIP;
    st->next_in = next;
    st->avail_in = avail;
    s->member_done = false;
}

static bool gzip_magic(const struct inflate_state *st)
{
    return st->avail_in >= 2 && st->next_in[0] == 0x1f && st->next_in[1] == 0x8b;
}

static long source_inflate(struct source *s, char *out, size_t cap, char *msg, size_t msglen);

/* Up to cap bytes of the trace into out: n > 0, 0 at its end, -1 with msg set. The bytes
 * inflated before an error (a stream cut short) are handed out first; the error follows. */
static long source_read(struct source *s, char *out, size_t cap, char *msg, size_t msglen)
{
    if (s->failed[0]) {
        snprintf(msg, msglen, "%s", s->failed);
        return -1;
    }
    long n = source_inflate(s, out, cap, s->failed, sizeof s->failed);
    if (n < 0)
        snprintf(msg, msglen, "%s", s->failed);
    else if (!s->failed[0])
        return n;
    return n > 0 ? n : -1;
}

/* The same, but an error ends the call with what it had inflated: n >= 0 with msg set, or -1. */
static long source_inflate(struct source *s, char *out, size_t cap, char *msg, size_t msglen)
{
    static const char cut[] = "unexpected end of file (the gzip stream is cut short)";
    struct inflate_state *st = s->st;
    if (s->kind == 0) { /* the first bytes say which */
        st->next_in = s->in;
        if (source_want(s, 2, msg, msglen) != 0)
            return -1;
        s->kind = gzip_magic(st) ? 2 : 1;
        if (s->kind == 2)
            source_member_start(s);
    }
    if (s->kind == 1) { /* plain: the bytes as they are */
        if (source_want(s, 1, msg, msglen) != 0)
            return -1;
        size_t n = st->avail_in < cap ? st->avail_in : cap;
        memcpy(out, st->next_in, n);
        st->next_in += n;
        st->avail_in -= (uint32_t)n;
        s->consumed += n;
        return (long)n;
    }
    size_t produced = 0;
    while (produced < cap) {
        if (s->member_done) { /* another member, or the end */
            if (source_want(s, 2, msg, msglen) != 0)
                return -1;
            if (!gzip_magic(st))
                break; /* the end (trailing bytes that start no member are ignored, as gzread) */
            source_member_start(s);
        }
        if (source_want(s, 1, msg, msglen) != 0)
            return -1;
        if (st->avail_in == 0) { /* the file ended inside a member */
            snprintf(msg, msglen, "%s", cut);
            return produced ? (long)produced : -1;
        }
        uint32_t before_in = st->avail_in;
        st->next_out = (uint8_t *)out + produced;
        st->avail_out = (uint32_t)(cap - produced);
        int rc = isal_inflate(st);
        produced = cap - st->avail_out;
        s->consumed += before_in - st->avail_in;
        if (rc < 0) {
            snprintf(msg, msglen, "not a valid gzip stream (%s)",
                     rc == ISAL_INCORRECT_CHECKSUM ? "its CRC or length does not match"
                     : rc == ISAL_INVALID_WRAPPER  ? "a bad gzip header"
                                                   : "invalid compressed data");
            return produced ? (long)produced : -1;
        }
        s->member_done = st->block_state == ISAL_BLOCK_FINISH;
    }
    return (long)produced;
}

static int source_open(struct source *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0)
        return -1;
    s->opened = s->fd != 0;
    s->in_cap = SOURCE_IN;
    if (!(s->in = malloc(s->in_cap)) || !(s->st = calloc(1, sizeof *s->st))) {
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

static void source_close(struct source *s)
{
    if (s->opened)
        close(s->fd);
    free(s->in);
    free(s->st);
    memset(s, 0, sizeof *s);
}

/* A file is read and inflated by a thread of its own: it fills a ring of RING_SLOTS chunks,
 * which the reader copies into its window in order. Bounded: the thread waits while every slot
 * is full. */
#define RING_SLOTS 4
/* Room in front of each slot for the start of a line the previous chunk cut (window_fill). */
#define SLOT_HEADROOM ((size_t)64 << 10)

struct inflater {
    struct source *f;
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t filled, emptied;
    char *slot[RING_SLOTS];
    size_t slot_len[RING_SLOTS];
    uint64_t slot_offset[RING_SLOTS]; /* the input's offset (compressed bytes) after the chunk */
    size_t chunk;
    int head, count; /* the oldest filled slot; filled slots */
    bool done;       /* no more chunks: the end of the input, or an error */
    bool stop;       /* trace_close: quit without reading on */
    char error[256]; /* the source's message when done by an error */
};

/* Lines are cut out of a window of bytes: the whole input for a memory trace, a buffer refilled
 * with the inflater's chunks for a file (gzgets, which copies byte by byte up to each newline, was
 * a third of a replay's time). A line is handed to the decoders in place: they take a length. */
struct trace {
    struct source *f; /* NULL: a memory trace */
    struct inflater in;
    const char *mem;  /* the memory trace, or `buf` for a file */
    size_t mem_len;   /* bytes in the window */
    size_t pos;       /* the start of the next line in the window */
    bool eof;         /* a file: its bytes ended */
    bool held;        /* the window is in the inflater's slot in->head, not yet given back */
    char *buf;
    size_t cap;
    size_t max_line; /* TRACE_MAX_LINE; smaller in tests */
    uint64_t input_done, input_size; /* for progress: bytes of the input read, of all (0: unknown) */
    char *path;
    long line;
    const char *cur; /* the line being read, for reports */
    size_t cur_len;
    long bad;
    long out_of_order;
    long ended_at; /* the END marker's line; 0 before it */
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
long trace_out_of_order(const struct trace *t) { return t->out_of_order; }

void trace_progress(const struct trace *t, uint64_t *done, uint64_t *total)
{
    if (!t->f) { /* in memory */
        *done = t->pos;
        *total = t->mem_len;
        return;
    }
    *done = t->input_done;
    *total = t->input_size;
}
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
    if (!t->f || chunk == 0 || max_line < chunk || t->in.started)
        return -1;
    t->in.chunk = chunk;
    t->max_line = max_line;
    return 0;
}

static void *inflater_main(void *arg)
{
    struct inflater *in = arg;
    for (;;) {
        pthread_mutex_lock(&in->mu);
        while (in->count == RING_SLOTS && !in->stop)
            pthread_cond_wait(&in->emptied, &in->mu);
        int at = (in->head + in->count) % RING_SLOTS; /* not the reader's: it reads only filled slots */
        bool stop = in->stop;
        pthread_mutex_unlock(&in->mu);
        if (stop)
            return NULL;
        char msg[200] = "";
        long n = source_read(in->f, in->slot[at] + SLOT_HEADROOM, in->chunk, msg, sizeof msg);
        uint64_t offset = in->f->consumed;
        pthread_mutex_lock(&in->mu);
        if (n > 0) {
            in->slot_len[at] = (size_t)n;
            in->slot_offset[at] = offset;
            in->count++;
        } else {
            if (n < 0)
                snprintf(in->error, sizeof in->error, "%s", msg[0] ? msg : "read error");
            in->done = true;
        }
        pthread_cond_signal(&in->filled);
        bool finished = in->done;
        pthread_mutex_unlock(&in->mu);
        if (finished)
            return NULL;
    }
}

static int inflater_start(struct trace *t, char *err, size_t errlen)
{
    struct inflater *in = &t->in;
    for (int i = 0; i < RING_SLOTS; i++)
        if (!(in->slot[i] = malloc(SLOT_HEADROOM + in->chunk))) {
            snprintf(err, errlen, "out of memory reading %s", t->path);
            return -1;
        }
    in->f = t->f;
    if (pthread_create(&in->thread, NULL, inflater_main, in) != 0) {
        snprintf(err, errlen, "cannot start a thread to read %s", t->path);
        return -1;
    }
    in->started = true;
    return 0;
}

static void inflater_release(struct inflater *in)
{
    if (in->started) {
        pthread_mutex_lock(&in->mu);
        in->stop = true;
        pthread_cond_signal(&in->emptied);
        pthread_mutex_unlock(&in->mu);
        pthread_join(in->thread, NULL);
    }
    pthread_mutex_destroy(&in->mu);
    pthread_cond_destroy(&in->filled);
    pthread_cond_destroy(&in->emptied);
    for (int i = 0; i < RING_SLOTS; i++)
        free(in->slot[i]);
}

struct trace *trace_open(const char *path, trace_report_fn report, void *ctx, char *err, size_t errlen)
{
    struct trace *t = trace_new(path, report, ctx, err, errlen);
    if (!t)
        return NULL;
    errno = 0;
    t->f = calloc(1, sizeof *t->f);
    if (!t->f || source_open(t->f, path) != 0) {
        snprintf(err, errlen, "cannot open trace %s: %s", path, errno ? strerror(errno) : "out of memory");
        if (t->f)
            source_close(t->f);
        free(t->f);
        t->f = NULL;
        trace_close(t);
        return NULL;
    }
    struct stat st;
    if (strcmp(path, "-") != 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode))
        t->input_size = (uint64_t)st.st_size;
    t->in.chunk = TRACE_CHUNK;
    t->mem = ""; /* the window, empty until the first chunk */
    pthread_mutex_init(&t->in.mu, NULL);
    pthread_cond_init(&t->in.filled, NULL);
    pthread_cond_init(&t->in.emptied, NULL);
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
    if (t->f) {
        inflater_release(&t->in); /* the thread is gone before its file is closed */
        source_close(t->f);
        free(t->f);
    }
    free(t->path);
    free(t->buf);
    free(t);
}

static void bad(struct trace *t, const char *msg)
{
    t->bad++;
    if (t->report)
        t->report(t->ctx, &(struct trace_report){.path = t->path, .line = t->line, .kind = TRACE_BAD_LINE,
                                                 .text = t->cur, .len = t->cur_len, .message = msg});
}

/* Timestamps never go backwards: an earlier one is reported and clamped (the event is kept). */
static double monotonic_t(struct trace *t, double ev_t)
{
    if (ev_t < t->last_t) {
        char msg[160];
        snprintf(msg, sizeof msg, "time goes backwards (%.15g after %.15g); using %.15g", ev_t, t->last_t, t->last_t);
        t->out_of_order++;
        if (t->report)
            t->report(t->ctx, &(struct trace_report){.path = t->path, .line = t->line, .kind = TRACE_OUT_OF_ORDER,
                                                     .message = msg});
        ev_t = t->last_t;
    }
    t->last_t = ev_t;
    return ev_t;
}

enum line_status { LINE_NONE, LINE_COMPLETE, LINE_LAST, LINE_TOO_LONG, LINE_ERROR };

/* The next chunk from the inflater, appended to the window; or t->eof set at the end of the
 * input. 0, or -1 with err set. `keep`: the window's bytes from t->pos are kept (a line being
 * read), else the window is emptied first (an over-long line being skipped).
 * The window is the chunk's own slot, the kept bytes (a line cut by the chunk's start: at most
 * SLOT_HEADROOM) copied in front of it, so the bytes are not copied again; the slot is then held
 * (in->head) until the next fill. Longer kept bytes go the copying way, through t->buf. */
static int window_fill(struct trace *t, bool keep, char *err, size_t errlen)
{
    struct inflater *in = &t->in;
    if (!in->started && inflater_start(t, err, errlen) != 0)
        return -1;
    size_t kept = keep ? t->mem_len - t->pos : 0;
    const char *kept_at = t->mem + t->pos;
    int held = t->held ? 1 : 0;
    pthread_mutex_lock(&in->mu);
    while (in->count - held == 0 && !in->done)
        pthread_cond_wait(&in->filled, &in->mu);
    if (in->count - held == 0) {
        bool failed = in->error[0] != '\0';
        if (failed)
            snprintf(err, errlen, "%s: %s (after line %ld)", t->path, in->error, t->line);
        pthread_mutex_unlock(&in->mu);
        t->mem = kept_at; /* (still in the held slot, or in t->buf) */
        t->mem_len = kept;
        t->pos = 0;
        t->eof = true;
        return failed ? -1 : 0;
    }
    int at = (in->head + held) % RING_SLOTS;
    size_t n = in->slot_len[at];
    t->input_done = in->slot_offset[at];
    pthread_mutex_unlock(&in->mu);
    char *data = in->slot[at] + SLOT_HEADROOM;
    int release; /* slots given back: the one held before, and this one if it was copied */
    if (kept <= SLOT_HEADROOM) {
        memmove(data - kept, kept_at, kept); /* (from another buffer: the held slot or t->buf) */
        t->mem = data - kept;
        t->mem_len = kept + n;
        release = held;
        t->held = true;
    } else {
        if (t->cap < kept + n) {
            size_t cap = t->cap ? t->cap : n;
            while (cap < kept + n)
                cap *= 2;
            char *nb = malloc(cap);
            if (!nb) {
                snprintf(err, errlen, "out of memory reading %s", t->path);
                return -1;
            }
            memcpy(nb, kept_at, kept);
            free(t->buf);
            t->buf = nb;
            t->cap = cap;
        } else {
            memmove(t->buf, kept_at, kept);
        }
        memcpy(t->buf + kept, data, n);
        t->mem = t->buf;
        t->mem_len = kept + n;
        release = held + 1;
        t->held = false;
    }
    t->pos = 0;
    pthread_mutex_lock(&in->mu);
    in->head = (in->head + release) % RING_SLOTS;
    in->count -= release;
    if (release)
        pthread_cond_signal(&in->emptied);
    pthread_mutex_unlock(&in->mu);
    return 0;
}

/* The next line, without its newline. LINE_LAST: the input ended without one. A line of
 * max_line bytes or more is skipped to its end (the window never holds more of it than
 * max_line plus a chunk). */
static enum line_status next_line(struct trace *t, const char **line, size_t *len, char *err, size_t errlen)
{
    size_t scanned = 0; /* bytes of this line already searched for a newline */
    for (;;) {
        const char *start = t->mem + t->pos;
        size_t avail = t->mem_len - t->pos;
        const char *nl = avail > scanned ? memchr(start + scanned, '\n', avail - scanned) : NULL;
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
        if (avail >= t->max_line) { /* skip to the end of this line */
            for (;;) {
                if (window_fill(t, false, err, errlen) != 0)
                    return LINE_ERROR;
                if (t->eof)
                    return LINE_TOO_LONG;
                const char *e = memchr(t->mem, '\n', t->mem_len);
                if (e) {
                    t->pos = (size_t)(e - t->mem) + 1;
                    return LINE_TOO_LONG;
                }
            }
        }
        if (window_fill(t, true, err, errlen) != 0)
            return LINE_ERROR;
    }
}

/* {"t":T,"type":"END"} (other members ignored): 1 with *at set, else 0. Only lines that
 * contain "END" in quotes are parsed for it. */
static int end_marker(const char *line, size_t len, double *at)
{
    if (!memmem(line, len, "\"END\"", 5))
        return 0;
    cJSON *root = cJSON_ParseWithLength(line, len);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "t");
    int ok = cJSON_IsString(type) && strcmp(type->valuestring, "END") == 0 && cJSON_IsNumber(t) &&
             isfinite(t->valuedouble);
    if (ok)
        *at = t->valuedouble;
    cJSON_Delete(root);
    return ok;
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
        t->cur = st == LINE_TOO_LONG ? NULL : line;
        t->cur_len = len;
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
        if (t->ended_at) {
            char msg[96];
            snprintf(msg, sizeof msg, "after the END marker of line %ld, ignored", t->ended_at);
            bad(t, msg);
            continue;
        }
        if (t->fast && (nodeline_decode(line, l, t->opts, &t->nl) == 1 || nodejson_trace_line(line, l, t->opts, &t->nl) == 1)) {
            t->fast_lines++;
            *out = (struct trace_event){.t = monotonic_t(t, t->nl.t), .type = t->nl.type, .node = &t->nl.node};
            return 1;
        }
        double end_t;
        if (end_marker(line, l, &end_t)) {
            t->ended_at = t->line;
            *out = (struct trace_event){.t = monotonic_t(t, end_t), .end = true};
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
