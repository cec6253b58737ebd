#define _DEFAULT_SOURCE /* getopt_long, timegm */
#define _XOPEN_SOURCE 700 /* strptime */
#include "import.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include <time.h>

#include <cjson/cJSON.h>

#include "badlines.h"
#include "buf.h"
#include "import_machines.h"
#include "progress.h"
#include "tracewrite.h"

static void usage(FILE *out)
{
    fputs("usage: propsim import google2011 FILE.csv[.gz] --cores-per-unit N -o TRACE.jsonl[.gz]\n"
          "       propsim import kubectl-watch FILE[.gz] [--interval S] -o TRACE.jsonl[.gz]\n"
          "       propsim import kwok RECORDING.yaml -o TRACE.jsonl[.gz]\n"
          "FILE - reads standard input (kubectl-watch, kwok). Recordings are streamed: any length.\n"
          "\n"
          "google2011: the Google cluster-data 2011 machine_events table (time in microseconds, machine ID,\n"
          "event type 0=ADD 1=REMOVE 2=UPDATE, platform, CPUs normalised to the largest machine, memory).\n"
          "ADD -> ADDED, REMOVE -> DELETED, UPDATE -> MODIFIED; a machine becomes Node machine-<ID>, Ready,\n"
          "with allocatable cpu = CPUs x N cores (rounded to the millicore). Rows at time 0 describe machines\n"
          "present before the trace window (which starts at 600 s); they are kept at t=0 as the initial state.\n"
          "Rows with empty CPU fields (allowed by the schema) give nodes without allocatable cpu (0 cores).\n"
          "\n"
          "kubectl-watch: the output of `kubectl get nodes --watch --output-watch-events -o json` (pretty-printed\n"
          "or one object per line). Events are --interval seconds apart (default 1), unless a line starts with a\n"
          "timestamp column (epoch seconds, or RFC 3339 such as 2026-11-24T10:00:00Z) before its event: then\n"
          "t is that time minus the first one.\n"
          "\n"
          "google2011's layout cannot say NotReady: a machine is there (Ready) or not.\n"
          "\n"
          "       propsim import alibaba2017 server_event.csv -o TRACE [--softerror notready|cordon]\n"
          "                      [--harderror notready|cordon] [--recover-after S]\n"
          "       propsim import alibaba2018 machine_meta.csv -o TRACE [--event-map STATUS=ACTION,...]\n"
          "       propsim import csv FILE -o TRACE --time-col N [--time-unit s|ms|us|ns] [--time-origin min|zero]\n"
          "                      --machine-col N --event-col N --event-map 'VALUE=ACTION,...'\n"
          "                      [--cpu-col N --cpu-unit cores|millicores|percent] [--separator C|tab]\n"
          "                      [--name-prefix P] [--recover-after S]\n"
          "ACTION: ADDED, DELETED, MODIFIED (cpu or labels), Ready, NotReady, cordon, uncordon, ignore. Rows need\n"
          "not be in time order. A machine becomes Node <prefix><id> (default machine-), Ready when added. Times\n"
          "at or below 0 (alibaba: before the trace) are the initial state; csv subtracts the earliest time\n"
          "unless --time-origin zero. --recover-after S: a NotReady or cordon with no later row for its machine\n"
          "within S seconds recovers then (histories that never record a recovery).\n"
          "alibaba2017: cluster-trace-v2017 server_event (timestamp, machine id, add|softerror|harderror|remove,\n"
          "detail, cpus, memory, disk); softerror and harderror are NotReady unless said cordon.\n"
          "alibaba2018: cluster-trace-v2018 machine_meta (machine_id, time_stamp, failure_domain_1,\n"
          "failure_domain_2, cpu_num, mem_size, status); USING and IDLE are Ready, other statuses are reported\n"
          "until mapped; failure domains become the labels topology.kubernetes.io/zone and\n"
          "propsim.io/failure-domain-2.\n"
          "\n"
          "kwok: a `kwokctl snapshot record` recording: Node objects (the state when recording started, t=0),\n"
          "then ResourcePatch documents (create/patch/delete, at durationNanosecond since the start), either\n"
          "kwok.x-k8s.io/internal or action.kwok.x-k8s.io/v1alpha1. Patches are strategic merge patches applied\n"
          "to each node's previous state. Other resources are counted and skipped.\n",
          out);
}

/* Split a CSV line (no quoting in this table) into at most max fields. */
static int split(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == max)
            return n + 1; /* too many */
        fields[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

int import_google2011(const char *in, double cores_per_unit, const char *out)
{
    gzFile f = gzopen(in, "rb");
    if (!f) {
        fprintf(stderr, "propsim import: cannot open %s: %s\n", in, strerror(errno));
        return BADLINES_EXIT_UNUSABLE;
    }
    char err[512];
    struct tracewriter *w = tracewriter_open(out, err, sizeof err);
    if (!w) {
        gzclose(f);
        fprintf(stderr, "propsim import: %s\n", err);
        return 1;
    }
    char line[4096];
    long lineno = 0, no_cpu = 0;
    struct badlines bad, out_of_order;
    badlines_init(&bad, "propsim import", in, false);
    badlines_init(&out_of_order, "propsim import", in, false);
    unsigned long by_type[3] = {0, 0, 0};
    long long last_us = 0;
    struct progress prog;
    progress_init(&prog, "propsim import", "rows");
    uint64_t size = progress_file_size(in);
    while (badlines_gets(&bad, f, line, sizeof line, &lineno)) {
        if (prog.on)
            progress_tick(&prog, (uint64_t)lineno, (uint64_t)gzoffset(f), size);
        char row[4096];
        memcpy(row, line, strlen(line) + 1); /* split() cuts the line: kept whole to be quoted */
        char *fields[7];
        int nf = split(line, fields, 6);
        char *end;
        errno = 0;
        long long us = strtoll(fields[0], &end, 10);
        bool ok = nf == 6 && *fields[0] && !*end && errno == 0 && us >= 0;
        long long id = ok ? strtoll(fields[1], &end, 10) : 0;
        ok = ok && *fields[1] && !*end && id >= 0;
        long type = ok ? strtol(fields[2], &end, 10) : -1;
        ok = ok && *fields[2] && !*end && type >= 0 && type <= 2;
        double cpus = -1;
        if (ok && fields[4][0]) {
            cpus = strtod(fields[4], &end);
            ok = !*end && isfinite(cpus) && cpus >= 0 && cpus <= 1e6;
        }
        if (!ok) {
            badlines_add(&bad, lineno, row, strlen(row),
                         "not a machine_events row (time,machine ID,event type 0-2,platform,CPUs,memory), skipped");
            continue;
        }
        if (us < last_us) {
            badlines_add(&out_of_order, lineno, NULL, 0, "time %lld before the previous row's %lld; using %lld", us,
                         last_us, last_us);
            us = last_us;
        }
        last_us = us;
        if (cpus < 0 && type != 1)
            no_cpu++;
        char name[64];
        snprintf(name, sizeof name, "machine-%lld", id);
        static const char *types[] = {"ADDED", "DELETED", "MODIFIED"};
        int64_t milli = cpus < 0 ? -1 : (int64_t)llround(cpus * cores_per_unit * 1000.0);
        if (tracewriter_node(w, (double)us / 1e6, types[type], name, milli, true, false) != 0)
            break;
        by_type[type]++;
    }
    int zerr;
    const char *zmsg = gzerror(f, &zerr);
    int rc = 0;
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        fprintf(stderr, "propsim import: %s: %s (after line %ld)\n", in, zmsg, lineno);
        rc = 1;
    }
    gzclose(f);
    if (tracewriter_close(w, err, sizeof err) != 0) {
        fprintf(stderr, "propsim import: %s\n", err);
        rc = 1;
    }
    progress_end(&prog);
    badlines_finish(&bad);
    badlines_finish(&out_of_order);
    unsigned long rows = by_type[0] + by_type[1] + by_type[2];
    if (rows == 0 && rc == 0) {
        unlink(out); /* an empty trace would replay as a cluster of no nodes */
        badlines_nothing_valid(&bad, lineno ? "no row is a Google 2011 machine_events row" : "the file is empty",
                               "google2011 reads the machine_events table of Google's cluster-data 2011 (6 "
                               "comma-separated columns: time in microseconds, machine ID, event type 0-2, platform, "
                               "CPUs, memory); for a recording of `kubectl get nodes --watch -o json` use `propsim import "
                               "kubectl-watch`, for a KWOK recording `propsim import kwok`");
        return BADLINES_EXIT_UNUSABLE;
    }
    printf("imported %ld rows from %s: %lu ADD, %lu REMOVE, %lu UPDATE; %ld bad rows skipped; %ld rows without CPUs "
           "(nodes with no allocatable cpu); %ld out-of-order times clamped; last time %.3f s -> %s\n",
           lineno, in, by_type[0], by_type[1], by_type[2], bad.count, no_cpu, out_of_order.count,
           (double)last_us / 1e6, out);
    return rc;
}

/* A leading timestamp token: epoch seconds or RFC 3339 (UTC, optional fraction). */
static bool parse_stamp(const char *s, size_t len, double *out)
{
    char tok[64];
    if (len == 0 || len >= sizeof tok)
        return false;
    memcpy(tok, s, len);
    tok[len] = '\0';
    char *end;
    double v = strtod(tok, &end);
    if (*end == '\0' && end != tok) {
        *out = v;
        return true;
    }
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    char *rest = strptime(tok, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!rest)
        return false;
    double frac = 0;
    if (*rest == '.') {
        frac = strtod(rest, &end);
        rest = end;
    }
    if (strcmp(rest, "Z") != 0 && *rest)
        return false;
    *out = (double)timegm(&tm) + frac;
    return true;
}

/* The recording is read in chunks (gzip or plain: zlib reads both), so memory follows the
 * largest event, not the recording: a month of a large cluster's node updates is many GB. */
#define KWATCH_CHUNK ((size_t)1 << 20)
#define KWATCH_MAX_EVENT ((size_t)64 << 20) /* one event (Node objects are a few KiB) */

struct kwatch_input {
    gzFile f;
    struct buf data; /* the unconsumed part of the recording */
    bool eof;
    int error; /* errno of a failed read */
};

/* Append up to KWATCH_CHUNK more bytes; at the end of the file sets eof. -1: read error or out
 * of memory. */
static int kwatch_more(struct kwatch_input *in)
{
    char *p = buf_space(&in->data, KWATCH_CHUNK);
    if (!p) {
        in->error = ENOMEM;
        return -1;
    }
    int got = gzread(in->f, p, (unsigned)KWATCH_CHUNK);
    if (got < 0) {
        int zerr;
        gzerror(in->f, &zerr);
        in->error = zerr == Z_ERRNO ? errno : EIO;
        return -1;
    }
    buf_advance(&in->data, (size_t)got);
    if (got == 0)
        in->eof = true;
    return 0;
}

/* Advance the line count over data[*counted..upto). */
static void count_lines(const char *data, size_t *counted, size_t upto, long *line)
{
    for (; *counted < upto; (*counted)++)
        *line += data[*counted] == '\n';
}

/* Where the JSON object starting at s[0] == '{' ends (one past its closing brace), by counting
 * braces outside strings; 0 when it does not end within n bytes. */
static size_t object_end(const char *s, size_t n)
{
    int depth = 0;
    bool in_string = false, escaped = false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_string) {
            if (escaped)
                escaped = false;
            else if (ch == '\\')
                escaped = true;
            else if (ch == '"')
                in_string = false;
        } else if (ch == '"') {
            in_string = true;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if ((ch == '}' || ch == ']') && --depth == 0) {
            return i + 1;
        }
    }
    return 0;
}

int import_kubectl_watch(const char *in, double interval, const char *out, bool quiet)
{
    char err[512];
    struct kwatch_input src = {.f = strcmp(in, "-") == 0 ? gzdopen(0, "rb") : gzopen(in, "rb")};
    /* the longest event, the chunk being read, and what the last chunk left over */
    buf_init(&src.data, KWATCH_MAX_EVENT + 3 * KWATCH_CHUNK);
    if (!src.f) {
        if (!quiet)
            fprintf(stderr, "propsim import: cannot open %s: %s\n", in, strerror(errno ? errno : ENOMEM));
        return BADLINES_EXIT_UNUSABLE;
    }
    gzbuffer(src.f, 1u << 17);
    struct tracewriter *w = tracewriter_open(out, err, sizeof err);
    if (!w) {
        gzclose(src.f);
        if (!quiet)
            fprintf(stderr, "propsim import: %s\n", err);
        return 1;
    }
    struct progress prog;
    progress_init(&prog, "propsim import", "events");
    uint64_t size = progress_file_size(in);
    size_t pos = 0, line_counted_to = 0;
    long events = 0, line = 1;
    struct badlines bad, out_of_order;
    badlines_init(&bad, "propsim import", in, quiet);
    badlines_init(&out_of_order, "propsim import", in, quiet);
    double first_stamp = -1, stamp = -1, t = 0, last_written = 0;
    int rc = 0;
    for (;;) {
        if (pos >= KWATCH_CHUNK) { /* drop what was consumed, its lines counted first */
            count_lines(src.data.data, &line_counted_to, pos, &line);
            buf_drop_front(&src.data, pos);
            line_counted_to -= pos;
            pos = 0;
        }
        const char *data = buf_str(&src.data);
        size_t len = src.data.len;
        while (pos < len && strchr(" \t\r\n", data[pos]) && data[pos])
            pos++;
        if (pos >= len) {
            if (src.eof)
                break;
            if (kwatch_more(&src) != 0)
                goto read_error;
            continue;
        }
        /* line numbers for messages, counted incrementally (a recording can be large) */
        count_lines(data, &line_counted_to, pos, &line);
        if (data[pos] != '{') {
            /* a timestamp column before the event, or junk */
            size_t e = pos;
            while (e < len && !strchr(" \t\r\n{", data[e]))
                e++;
            const char *nl = memchr(data + pos, '\n', len - pos);
            if ((e == len || !nl) && !src.eof && len - pos < KWATCH_MAX_EVENT) {
                if (kwatch_more(&src) != 0)
                    goto read_error;
                continue;
            }
            double v;
            if (parse_stamp(data + pos, e - pos, &v)) {
                stamp = v;
                pos = e;
                continue;
            }
            badlines_add(&bad, line, data + pos, (nl ? (size_t)(nl - data) : len) - pos,
                         "not an event or a timestamp, line skipped");
            pos = nl ? (size_t)(nl - data) : len;
            continue;
        }
        size_t n = object_end(data + pos, len - pos);
        if (n == 0 && !src.eof && len - pos < KWATCH_MAX_EVENT) {
            if (kwatch_more(&src) != 0)
                goto read_error;
            continue;
        }
        const char *end = NULL;
        cJSON *ev = cJSON_ParseWithLengthOpts(data + pos, n ? n : len - pos, &end, 0);
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
        const cJSON *obj = cJSON_GetObjectItemCaseSensitive(ev, "object");
        if (!ev || !cJSON_IsString(type) || !cJSON_IsObject(obj)) {
            const char *nl = memchr(data + pos, '\n', len - pos);
            badlines_add(&bad, line, data + pos, (nl ? (size_t)(nl - data) : len) - pos,
                         "not a watch event {\"type\":..,\"object\":{..}}, skipped");
            if (ev && end) {
                pos = (size_t)(end - data);
            } else {
                pos = nl ? (size_t)(nl - data) : len;
            }
            cJSON_Delete(ev);
            stamp = -1;
            continue;
        }
        if (stamp >= 0) {
            if (first_stamp < 0)
                first_stamp = stamp;
            double ts = stamp - first_stamp;
            if (ts < t) /* never backwards: kept at the previous time, and counted */
                badlines_add(&out_of_order, line, NULL, 0, "timestamp %.3f s before the previous event's %.3f s; using %.3f",
                             ts, t, t);
            t = ts > t ? ts : t;
        } else if (events > 0) {
            t += interval;
        }
        stamp = -1;
        int is_change = strcmp(type->valuestring, "ADDED") == 0 || strcmp(type->valuestring, "MODIFIED") == 0 ||
                        strcmp(type->valuestring, "DELETED") == 0;
        if (!is_change && strcmp(type->valuestring, "BOOKMARK") != 0 && strcmp(type->valuestring, "ERROR") != 0) {
            char shown[4 * 40 + 8];
            text_for_message(type->valuestring, strlen(type->valuestring), 40, shown, sizeof shown);
            badlines_add(&bad, line, NULL, 0, "unknown event type \"%s\" (expected ADDED, MODIFIED or DELETED), skipped",
                         shown);
        }
        if (is_change) {
            char *o = cJSON_PrintUnformatted(obj);
            if (!o || tracewriter_raw(w, t, type->valuestring, o) != 0) {
                free(o);
                cJSON_Delete(ev);
                rc = 1;
                break;
            }
            free(o);
            events++;
            last_written = t;
            if (prog.on)
                progress_tick(&prog, (uint64_t)events, (uint64_t)gzoffset(src.f), size);
        }
        pos = (size_t)(end - data);
        cJSON_Delete(ev);
    }
    if (0) {
    read_error:
        if (!quiet)
            fprintf(stderr, "propsim import: cannot read %s after line %ld: %s; the events before are kept\n", in, line,
                    strerror(src.error));
        rc = 1;
    }
    progress_end(&prog);
    buf_release(&src.data);
    gzclose(src.f);
    if (tracewriter_close(w, err, sizeof err) != 0) {
        if (!quiet)
            fprintf(stderr, "propsim import: %s\n", err);
        rc = 1;
    }
    badlines_finish(&bad);
    badlines_finish(&out_of_order);
    if (events == 0 && rc == 0) {
        unlink(out); /* an empty trace would replay as a cluster of no nodes */
        badlines_nothing_valid(&bad, bad.count ? "no ADDED, MODIFIED or DELETED watch event" : "no watch event",
                               "kubectl-watch reads what `kubectl get nodes --watch --output-watch-events -o json` "
                               "prints (events {\"type\":..,\"object\":{..}}, optionally after a timestamp); for "
                               "Google's machine_events table use `propsim import google2011`, for a KWOK recording "
                               "`propsim import kwok`");
        return BADLINES_EXIT_UNUSABLE;
    }
    if (!quiet)
        printf("imported %ld events from %s; %ld bad entries skipped; %ld out-of-order timestamps clamped; last t %.3f s "
               "-> %s\n", events, in, bad.count, out_of_order.count, last_written, out);
    return rc;
}

/* The machine-event formats' flags as given, applied over the format's preset once it is known. */
struct machine_flags {
    const char *soft, *hard, *time_unit, *origin, *cpu_unit, *sep, *prefix, *maps[16];
    int n_maps, time_col, machine_col, event_col, cpu_col; /* 0: not given */
    double recover;
    bool any;
};

/* The machine-event flags over a format's preset; 0, or -1 (said). */
static int machine_options(struct machine_import_opts *o, const struct machine_flags *fl)
{
    const char *errors[2] = {fl->soft, fl->hard}, *names[2] = {"softerror", "harderror"};
    for (int i = 0; i < 2; i++) {
        if (!errors[i])
            continue;
        if (strcmp(o->format, "alibaba2017") != 0) {
            fprintf(stderr, "propsim import: --%s is for alibaba2017 (with csv, map the value: --event-map %s=cordon)\n",
                    names[i], names[i]);
            return -1;
        }
        char spec[64];
        if (strcmp(errors[i], "notready") == 0 || strcmp(errors[i], "cordon") == 0) {
            snprintf(spec, sizeof spec, "%s=%s", names[i], strcmp(errors[i], "notready") == 0 ? "NotReady" : "cordon");
            machine_map_parse(o, spec, NULL, 0);
        } else {
            fprintf(stderr, "propsim import: --%s: expected notready or cordon, got \"%s\"\n", names[i], errors[i]);
            return -1;
        }
    }
    o->recover_after = fl->recover;
    if (fl->time_col)
        o->time_col = fl->time_col;
    if (fl->machine_col)
        o->machine_col = fl->machine_col;
    if (fl->event_col)
        o->event_col = fl->event_col;
    if (fl->cpu_col)
        o->cpu_col = fl->cpu_col;
    const char *time_unit = fl->time_unit, *origin = fl->origin, *cpu_unit = fl->cpu_unit, *sep = fl->sep;
    if (time_unit) {
        static const struct { const char *name; double scale; } units[] = {{"s", 1}, {"ms", 1e-3}, {"us", 1e-6}, {"ns", 1e-9}};
        size_t i = 0;
        while (i < sizeof units / sizeof *units && strcmp(units[i].name, time_unit) != 0)
            i++;
        if (i == sizeof units / sizeof *units) {
            fprintf(stderr, "propsim import: --time-unit: expected s, ms, us or ns, got \"%s\"\n", time_unit);
            return -1;
        }
        o->time_scale = units[i].scale;
    }
    if (origin) {
        if (strcmp(origin, "min") != 0 && strcmp(origin, "zero") != 0) {
            fprintf(stderr, "propsim import: --time-origin: expected min (t = time - the earliest) or zero (t = time), "
                            "got \"%s\"\n", origin);
            return -1;
        }
        o->origin_min = strcmp(origin, "min") == 0;
    }
    if (cpu_unit) {
        if (!o->cpu_col) {
            fprintf(stderr, "propsim import: --cpu-unit needs --cpu-col\n");
            return -1;
        }
        if (strcmp(cpu_unit, "cores") == 0)
            o->cpu_scale = 1;
        else if (strcmp(cpu_unit, "millicores") == 0)
            o->cpu_scale = 1e-3;
        else if (strcmp(cpu_unit, "percent") == 0)
            o->cpu_scale = 1e-2;
        else {
            fprintf(stderr, "propsim import: --cpu-unit: expected cores, millicores or percent (100 = one core), got "
                            "\"%s\"\n", cpu_unit);
            return -1;
        }
    }
    if (sep) {
        if (strcmp(sep, "tab") == 0 || strcmp(sep, "\t") == 0)
            o->sep = '\t';
        else if (strlen(sep) == 1 && sep[0] != '"')
            o->sep = sep[0];
        else {
            fprintf(stderr, "propsim import: --separator: expected one character or tab, got \"%s\"\n", sep);
            return -1;
        }
    }
    if (fl->prefix)
        o->name_prefix = fl->prefix;
    char err[512];
    for (int i = 0; i < fl->n_maps; i++)
        if (machine_map_parse(o, fl->maps[i], err, sizeof err) != 0) {
            fprintf(stderr, "propsim import: %s\n", err);
            return -1;
        }
    if (!o->time_col || !o->machine_col || !o->event_col) {
        fprintf(stderr, "propsim import: %s needs --time-col, --machine-col and --event-col (column numbers from 1)\n",
                o->format);
        return -1;
    }
    if (!o->n_map) {
        fprintf(stderr, "propsim import: %s needs --event-map VALUE=ACTION,... (ACTION: ADDED, DELETED, MODIFIED, Ready, "
                        "NotReady, cordon, uncordon, ignore)\n", o->format);
        return -1;
    }
    return 0;
}

int import_main(int argc, char **argv)
{
    enum { O_CORES = 256, O_OUT, O_INTERVAL, O_HELP, O_SOFT, O_HARD, O_RECOVER, O_TIME_COL, O_TIME_UNIT, O_ORIGIN,
           O_MACHINE_COL, O_EVENT_COL, O_EVENT_MAP, O_CPU_COL, O_CPU_UNIT, O_SEP, O_PREFIX };
    static const struct option longopts[] = {
        {"cores-per-unit", required_argument, NULL, O_CORES}, {"output", required_argument, NULL, O_OUT},
        {"interval", required_argument, NULL, O_INTERVAL},
        {"softerror", required_argument, NULL, O_SOFT}, {"harderror", required_argument, NULL, O_HARD},
        {"recover-after", required_argument, NULL, O_RECOVER}, {"time-col", required_argument, NULL, O_TIME_COL},
        {"time-unit", required_argument, NULL, O_TIME_UNIT}, {"time-origin", required_argument, NULL, O_ORIGIN},
        {"machine-col", required_argument, NULL, O_MACHINE_COL}, {"event-col", required_argument, NULL, O_EVENT_COL},
        {"event-map", required_argument, NULL, O_EVENT_MAP}, {"cpu-col", required_argument, NULL, O_CPU_COL},
        {"cpu-unit", required_argument, NULL, O_CPU_UNIT}, {"separator", required_argument, NULL, O_SEP},
        {"name-prefix", required_argument, NULL, O_PREFIX},
        {"help", no_argument, NULL, O_HELP}, {NULL, 0, NULL, 0},
    };
    double cores = 0, interval = 1;
    const char *out = NULL;
    struct machine_flags fl = {0};
    optind = 1;
    int opt;
    char *end;
    while ((opt = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        if (opt >= O_SOFT)
            fl.any = true;
        switch (opt) {
        case O_SOFT: fl.soft = optarg; break;
        case O_HARD: fl.hard = optarg; break;
        case O_RECOVER:
            fl.recover = strtod(optarg, &end);
            if (end == optarg || *end || !(fl.recover >= 0) || !isfinite(fl.recover)) {
                fprintf(stderr, "propsim import: --recover-after: expected seconds (0: never), got \"%s\"\n", optarg);
                return 2;
            }
            break;
        case O_TIME_COL:
        case O_MACHINE_COL:
        case O_EVENT_COL:
        case O_CPU_COL: {
            long v = strtol(optarg, &end, 10);
            const struct option *flag = longopts;
            while (flag->val != opt)
                flag++;
            if (end == optarg || *end || v < 1 || v > 64) {
                fprintf(stderr, "propsim import: --%s: expected a column number from 1 to 64, got \"%s\"\n", flag->name,
                        optarg);
                return 2;
            }
            *(opt == O_TIME_COL ? &fl.time_col : opt == O_MACHINE_COL ? &fl.machine_col
                                               : opt == O_EVENT_COL   ? &fl.event_col : &fl.cpu_col) = (int)v;
            break;
        }
        case O_TIME_UNIT: fl.time_unit = optarg; break;
        case O_ORIGIN: fl.origin = optarg; break;
        case O_EVENT_MAP:
            if (fl.n_maps == (int)(sizeof fl.maps / sizeof *fl.maps)) {
                fprintf(stderr, "propsim import: --event-map: at most 16 times (each may map several values)\n");
                return 2;
            }
            fl.maps[fl.n_maps++] = optarg;
            break;
        case O_CPU_UNIT: fl.cpu_unit = optarg; break;
        case O_SEP: fl.sep = optarg; break;
        case O_PREFIX: fl.prefix = optarg; break;
        case O_CORES:
            cores = strtod(optarg, &end);
            if (end == optarg || *end || !(cores > 0) || !isfinite(cores)) {
                fprintf(stderr, "propsim import: --cores-per-unit: expected a positive number (cores of the largest machine)\n");
                return 2;
            }
            break;
        case 'o':
        case O_OUT: out = optarg; break;
        case O_INTERVAL:
            interval = strtod(optarg, &end);
            if (end == optarg || *end || !(interval >= 0) || !isfinite(interval)) {
                fprintf(stderr, "propsim import: --interval: expected seconds between events\n");
                return 2;
            }
            break;
        case 'h':
        case O_HELP: usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (argc - optind != 2) {
        usage(stderr);
        return 2;
    }
    const char *format = argv[optind], *in = argv[optind + 1];
    if (!out) {
        fprintf(stderr, "propsim import: -o TRACE is required\n");
        return 2;
    }
    if (strcmp(format, "google2011") == 0) {
        if (cores <= 0) {
            fprintf(stderr, "propsim import: google2011 needs --cores-per-unit N (the cores of a machine whose "
                            "normalised CPUs are 1)\n");
            return 2;
        }
        return import_google2011(in, cores, out);
    }
    bool machines = strcmp(format, "alibaba2017") == 0 || strcmp(format, "alibaba2018") == 0 || strcmp(format, "csv") == 0;
    if (fl.any && !machines) {
        fprintf(stderr, "propsim import: the column and event flags are for alibaba2017, alibaba2018 and csv, not %s\n",
                format);
        return 2;
    }
    if (machines) {
        struct machine_import_opts mo;
        if (strcmp(format, "alibaba2017") == 0)
            machine_opts_alibaba2017(&mo);
        else if (strcmp(format, "alibaba2018") == 0)
            machine_opts_alibaba2018(&mo);
        else
            machine_opts_csv(&mo);
        if (machine_options(&mo, &fl) != 0)
            return 2;
        return import_machines(in, &mo, out);
    }
    if (strcmp(format, "kubectl-watch") == 0)
        return import_kubectl_watch(in, interval, out, false);
    if (strcmp(format, "kwok") == 0)
        return import_kwok(in, out, false);
    fprintf(stderr, "propsim import: unknown format \"%s\"; supported: google2011, kubectl-watch, kwok, alibaba2017, "
                    "alibaba2018, csv\n", format);
    return 2;
}
