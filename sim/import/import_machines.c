#define _GNU_SOURCE /* tsearch's tdestroy */
#include "import_machines.h"

#include <errno.h>
#include <math.h>
#include <search.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <zlib.h>

#include "badlines.h"
#include "progress.h"
#include "tracewrite.h"

/* ------------------------------------------------------------------------------------------ */
/* Presets, from each table's published schema (github.com/alibaba/clusterdata):               */

/* cluster-trace-v2017 server_event.csv: timestamp (s since the trace's start; 0 or below: before
 * it), machine id, event type (add, softerror, harderror, remove), event detail, number of cpus,
 * normalized memory, normalized disk. */
void machine_opts_alibaba2017(struct machine_import_opts *o)
{
    machine_opts_csv(o);
    o->format = "alibaba2017";
    o->time_col = 1;
    o->machine_col = 2;
    o->event_col = 3;
    o->cpu_col = 5;
    o->origin_min = false;
    o->header_allowed = false;
    machine_map_parse(o, "add=ADDED,remove=DELETED,softerror=NotReady,harderror=NotReady", NULL, 0);
    o->hint = "alibaba2017 reads cluster-trace-v2017's server_event.csv (timestamp, machine id, event type "
              "add|softerror|harderror|remove, event detail, cpus, memory, disk)";
}

/* cluster-trace-v2018 machine_meta.csv: machine_id, time_stamp (s; 0: before or after the 8-day
 * span), failure_domain_1, failure_domain_2, cpu_num (cores), mem_size, status. The schema does not
 * list the statuses: USING and IDLE (a machine in service) are mapped; any other is a bad row that
 * names it, for --event-map to map. */
void machine_opts_alibaba2018(struct machine_import_opts *o)
{
    machine_opts_csv(o);
    o->format = "alibaba2018";
    o->machine_col = 1;
    o->time_col = 2;
    o->cpu_col = 5;
    o->event_col = 7;
    o->origin_min = false;
    o->header_allowed = false;
    o->label_cols[0] = 3;
    o->label_keys[0] = "topology.kubernetes.io/zone";
    o->label_cols[1] = 4;
    o->label_keys[1] = "propsim.io/failure-domain-2";
    machine_map_parse(o, "USING=Ready,IDLE=Ready", NULL, 0);
    o->hint = "alibaba2018 reads cluster-trace-v2018's machine_meta.csv (machine_id, time_stamp, "
              "failure_domain_1, failure_domain_2, cpu_num, mem_size, status)";
}

void machine_opts_csv(struct machine_import_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = "csv";
    o->sep = ',';
    o->time_scale = 1;
    o->origin_min = true;
    o->cpu_scale = 1;
    o->name_prefix = "machine-";
    o->header_allowed = true;
    o->hint = "csv reads one machine event per row with the columns given by --time-col, --machine-col, "
              "--event-col (values mapped by --event-map) and --cpu-col";
}

int machine_action_parse(const char *name, enum machine_action *out)
{
    static const struct {
        const char *name;
        enum machine_action a;
    } names[] = {{"ADDED", MA_ADD},         {"DELETED", MA_DELETE},   {"MODIFIED", MA_UPDATE},
                 {"Ready", MA_READY},       {"NotReady", MA_NOTREADY}, {"cordon", MA_CORDON},
                 {"uncordon", MA_UNCORDON}, {"ignore", MA_IGNORE}};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcasecmp(name, names[i].name) == 0) {
            *out = names[i].a;
            return 0;
        }
    return -1;
}

int machine_map_parse(struct machine_import_opts *o, const char *spec, char *err, size_t errlen)
{
    char copy[2048];
    if (snprintf(copy, sizeof copy, "%s", spec) >= (int)sizeof copy) {
        if (err)
            snprintf(err, errlen, "--event-map: longer than %zu bytes", sizeof copy - 1);
        return -1;
    }
    char *save = NULL;
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *eq = strrchr(item, '=');
        enum machine_action a;
        if (!eq || eq == item || strlen(item) - strlen(eq) >= sizeof o->map[0].value ||
            machine_action_parse(eq + 1, &a) != 0) {
            if (err)
                snprintf(err, errlen,
                         "--event-map: \"%s\" is not VALUE=ACTION (ACTION: ADDED, DELETED, MODIFIED, Ready, "
                         "NotReady, cordon, uncordon or ignore)", item);
            return -1;
        }
        *eq = '\0';
        int at = 0;
        while (at < o->n_map && strcmp(o->map[at].value, item) != 0)
            at++;
        if (at == MACHINE_MAP_MAX) {
            if (err)
                snprintf(err, errlen, "--event-map: more than %d values", MACHINE_MAP_MAX);
            return -1;
        }
        snprintf(o->map[at].value, sizeof o->map[at].value, "%s", item);
        o->map[at].action = a;
        if (at == o->n_map)
            o->n_map++;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Machines (interned by id) and rows                                                           */

struct machine {
    const char *id; /* id_owned, or the lookup key's */
    char *id_owned;
    char name[254];
    bool present, ready, cordoned;
    int64_t cpu_milli; /* < 0: none */
    char labels[MACHINE_LABELS_MAX][64];
};

struct row {
    double t;
    long line;
    struct machine *m;
    enum machine_action action;
    int64_t cpu_milli;           /* < 0: the row gives none */
    char *labels[MACHINE_LABELS_MAX]; /* NULL: none; else heap */
};

struct importer {
    const struct machine_import_opts *o;
    void *machines; /* tsearch tree of struct machine, by id */
    struct row *rows;
    size_t n_rows, cap_rows;
    struct badlines bad;
    unsigned long events, ignored;
    int columns; /* a row needs this many: the highest column the options read */
};

static int machine_cmp(const void *a, const void *b)
{
    return strcmp(((const struct machine *)a)->id, ((const struct machine *)b)->id);
}

static void machine_free(void *p)
{
    struct machine *m = p;
    free(m->id_owned);
    free(m);
}

/* A Node name from a machine id: lowercase, [a-z0-9.-] kept, anything else '-'. */
static void node_name(const char *prefix, const char *id, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "%s%s", prefix, id);
    if (n >= len)
        n = len - 1;
    for (size_t i = 0; i < n; i++) {
        char c = out[i];
        if (c >= 'A' && c <= 'Z')
            out[i] = (char)(c - 'A' + 'a');
        else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-'))
            out[i] = '-';
    }
}

static struct machine *machine_get(struct importer *im, const char *id)
{
    struct machine key = {.id = id};
    struct machine **found = tfind(&key, &im->machines, machine_cmp);
    if (found)
        return *found;
    struct machine *m = calloc(1, sizeof *m);
    if (!m || !(m->id_owned = strdup(id))) {
        free(m);
        return NULL;
    }
    m->id = m->id_owned;
    m->cpu_milli = -1;
    node_name(im->o->name_prefix, id, m->name, sizeof m->name);
    if (!tsearch(m, &im->machines, machine_cmp)) {
        machine_free(m);
        return NULL;
    }
    return m;
}

static int add_row(struct importer *im, const struct row *r)
{
    if (im->n_rows == im->cap_rows) {
        size_t cap = im->cap_rows ? im->cap_rows * 2 : 1024;
        struct row *nr = realloc(im->rows, cap * sizeof *nr);
        if (!nr)
            return -1;
        im->rows = nr;
        im->cap_rows = cap;
    }
    im->rows[im->n_rows++] = *r;
    return 0;
}

/* Split a line into at most `max` fields at `sep`, in place; a field in double quotes loses them
 * ("" inside is one "). Returns the number of fields. */
static int split_fields(char *line, char sep, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        if (*p == '"') {
            char *w = ++p, *r = p;
            while (*r && !(*r == '"' && r[1] != '"')) {
                if (*r == '"')
                    r++;
                *w++ = *r++;
            }
            if (*r == '"')
                r++;
            fields[n++] = p;
            char *next = strchr(r, sep);
            *w = '\0';
            if (!next)
                break;
            p = next + 1;
            continue;
        }
        fields[n++] = p;
        char *next = strchr(p, sep);
        if (!next)
            break;
        *next = '\0';
        p = next + 1;
    }
    return n;
}

static bool parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (end == s || *end || errno == ERANGE || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

/* A label value: up to 63 of [A-Za-z0-9._-] (anything else '-'), starting and ending alphanumeric. */
static void label_value(const char *in, char *out, size_t len)
{
    while (*in && !alnum(*in))
        in++;
    size_t n = 0;
    for (; *in && n + 1 < len && n < 63; in++)
        out[n++] = alnum(*in) || *in == '.' || *in == '_' || *in == '-' ? *in : '-';
    while (n && !alnum(out[n - 1]))
        n--;
    out[n] = '\0';
}

/* One line of the input: a row, a header (the first line only), a blank, or a bad row. */
static int read_row(struct importer *im, char *line, long lineno, double *min_t)
{
    const struct machine_import_opts *o = im->o;
    char quoted[4096];
    snprintf(quoted, sizeof quoted, "%s", line);
    char *fields[64];
    int nf = split_fields(line, o->sep, fields, 64), need = im->columns;
    if (nf < need) {
        badlines_add(&im->bad, lineno, quoted, strlen(quoted), "%d columns, %s needs %d, skipped", nf, o->format, need);
        return 0;
    }
    double tv;
    if (!parse_number(fields[o->time_col - 1], &tv)) {
        if (lineno == 1 && o->header_allowed)
            return 0; /* a header */
        badlines_add(&im->bad, lineno, quoted, strlen(quoted), "column %d (time) is not a number, skipped", o->time_col);
        return 0;
    }
    const char *id = fields[o->machine_col - 1];
    if (!*id) {
        badlines_add(&im->bad, lineno, quoted, strlen(quoted), "column %d (machine) is empty, skipped", o->machine_col);
        return 0;
    }
    const char *ev = fields[o->event_col - 1];
    int at = 0;
    while (at < o->n_map && strcmp(o->map[at].value, ev) != 0)
        at++;
    if (at == o->n_map) {
        badlines_add(&im->bad, lineno, quoted, strlen(quoted),
                     "column %d (event) \"%.40s\" is not in the event map (--event-map VALUE=ACTION adds it), skipped",
                     o->event_col, ev);
        return 0;
    }
    struct row r = {.t = tv * o->time_scale, .line = lineno, .action = o->map[at].action, .cpu_milli = -1};
    if (o->cpu_col && *fields[o->cpu_col - 1]) {
        double cores;
        if (!parse_number(fields[o->cpu_col - 1], &cores) || cores < 0 || cores * o->cpu_scale > 1e9) {
            badlines_add(&im->bad, lineno, quoted, strlen(quoted), "column %d (cpu) is not a CPU count, skipped",
                         o->cpu_col);
            return 0;
        }
        r.cpu_milli = (int64_t)llround(cores * o->cpu_scale * 1000.0);
    }
    if (!isfinite(r.t)) {
        badlines_add(&im->bad, lineno, quoted, strlen(quoted), "column %d (time) is out of range, skipped", o->time_col);
        return 0;
    }
    if (!(r.m = machine_get(im, id)))
        return -1;
    for (int i = 0; i < MACHINE_LABELS_MAX; i++)
        if (o->label_cols[i] && *fields[o->label_cols[i] - 1]) {
            char v[64];
            label_value(fields[o->label_cols[i] - 1], v, sizeof v);
            if (*v && !(r.labels[i] = strdup(v)))
                return -1;
        }
    if (r.t < *min_t)
        *min_t = r.t;
    return add_row(im, &r);
}

/* Order: time, then the file's line (a recovery after the row it recovers). */
static int row_time_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return (int)(x->action == MA_RECOVER) - (int)(y->action == MA_RECOVER);
}

static int row_machine_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->m != y->m)
        return x->m < y->m ? -1 : 1;
    return row_time_cmp(a, b);
}

/* For histories that never record a recovery: an error row with no later row for its machine
 * within recover_after seconds gets a recovery then. */
static int add_recoveries(struct importer *im)
{
    if (!(im->o->recover_after > 0) || !im->n_rows)
        return 0;
    qsort(im->rows, im->n_rows, sizeof *im->rows, row_machine_cmp);
    size_t n = im->n_rows;
    for (size_t i = 0; i < n; i++) {
        const struct row *r = &im->rows[i];
        if (r->action != MA_NOTREADY && r->action != MA_CORDON)
            continue;
        double at = r->t + im->o->recover_after;
        bool next_first = i + 1 < n && im->rows[i + 1].m == r->m && im->rows[i + 1].t <= at;
        if (next_first)
            continue;
        struct row rec = {.t = at, .line = r->line, .m = r->m, .action = MA_RECOVER, .cpu_milli = -1};
        if (add_row(im, &rec) != 0)
            return -1;
        r = &im->rows[i]; /* the array may have moved */
    }
    return 0;
}

static int write_node(struct importer *im, struct tracewriter *w, double t, const char *type, const struct machine *m)
{
    char obj[2048], labels[512], cpu[64] = "";
    size_t ln = (size_t)snprintf(labels, sizeof labels, "\"kubernetes.io/hostname\":\"%s\"", m->name);
    for (int i = 0; i < MACHINE_LABELS_MAX; i++)
        if (im->o->label_keys[i] && m->labels[i][0])
            ln += (size_t)snprintf(labels + ln, sizeof labels - ln, ",\"%s\":\"%s\"", im->o->label_keys[i], m->labels[i]);
    if (strcmp(type, "DELETED") == 0) {
        snprintf(obj, sizeof obj, "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\"}}", m->name);
    } else {
        if (m->cpu_milli >= 0)
            snprintf(cpu, sizeof cpu, "\"allocatable\":{\"cpu\":\"%lldm\"},", (long long)m->cpu_milli);
        snprintf(obj, sizeof obj,
                 "{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},\"spec\":{%s},"
                 "\"status\":{%s\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\"}]}}",
                 m->name, labels, m->cordoned ? "\"unschedulable\":true" : "", cpu, m->ready ? "True" : "False");
    }
    im->events++;
    return tracewriter_raw(w, t, type, obj);
}

/* Apply one row to its machine; write the Node event the change makes (none if nothing changed). */
static int apply_row(struct importer *im, struct tracewriter *w, double t, const struct row *r)
{
    struct machine *m = r->m;
    struct machine before = *m;
    bool labels_changed = false;
    for (int i = 0; i < MACHINE_LABELS_MAX; i++)
        if (r->labels[i] && strcmp(m->labels[i], r->labels[i]) != 0) {
            snprintf(m->labels[i], sizeof m->labels[i], "%s", r->labels[i]);
            labels_changed = true;
        }
    if (r->cpu_milli >= 0)
        m->cpu_milli = r->cpu_milli;
    switch (r->action) {
    case MA_IGNORE:
        im->ignored++;
        break;
    case MA_DELETE:
        if (!m->present) {
            badlines_add(&im->bad, r->line, NULL, 0, "%s removed but not present (no earlier row added it), skipped",
                         m->id);
            return 0;
        }
        m->present = false;
        return write_node(im, w, t, "DELETED", m);
    case MA_ADD: /* added, or back in service */
        m->ready = true;
        m->cordoned = false;
        break;
    case MA_READY: m->ready = true; break;
    case MA_NOTREADY: m->ready = false; break;
    case MA_CORDON: m->cordoned = true; break;
    case MA_UNCORDON: m->cordoned = false; break;
    case MA_RECOVER:
        if (!m->present)
            return 0;
        m->ready = true;
        m->cordoned = false;
        break;
    case MA_UPDATE: break;
    }
    if (r->action == MA_IGNORE)
        return 0;
    if (!before.present) { /* it exists from now on, in the state the row says */
        m->ready = r->action != MA_NOTREADY;
        m->cordoned = r->action == MA_CORDON;
        m->present = true;
        return write_node(im, w, t, "ADDED", m);
    }
    if (m->ready != before.ready || m->cordoned != before.cordoned || m->cpu_milli != before.cpu_milli || labels_changed)
        return write_node(im, w, t, "MODIFIED", m);
    return 0;
}

int import_machines(const char *in, const struct machine_import_opts *o, const char *out)
{
    gzFile f = strcmp(in, "-") == 0 ? gzdopen(0, "rb") : gzopen(in, "rb");
    if (!f) {
        fprintf(stderr, "propsim import: cannot open %s: %s\n", in, strerror(errno ? errno : ENOMEM));
        return BADLINES_EXIT_UNUSABLE;
    }
    gzbuffer(f, 1u << 17);
    struct importer im = {.o = o};
    _Static_assert(MACHINE_LABELS_MAX == 2, "list every label column below");
    const int cols[] = {o->time_col, o->machine_col, o->event_col, o->cpu_col, o->label_cols[0], o->label_cols[1]};
    for (size_t i = 0; i < sizeof cols / sizeof *cols; i++)
        im.columns = cols[i] > im.columns ? cols[i] : im.columns;
    badlines_init(&im.bad, "propsim import", in, false);
    char line[4096];
    long lineno = 0;
    double min_t = INFINITY;
    int rc = 0;
    struct progress prog;
    progress_init(&prog, "propsim import", "rows");
    uint64_t size = progress_file_size(in);
    while (badlines_gets(&im.bad, f, line, sizeof line, &lineno)) {
        if (prog.on)
            progress_tick(&prog, (uint64_t)lineno, (uint64_t)gzoffset(f), size);
        if (read_row(&im, line, lineno, &min_t) != 0) {
            fprintf(stderr, "propsim import: out of memory reading %s at line %ld\n", in, lineno);
            rc = 1;
            break;
        }
    }
    progress_end(&prog);
    int zerr;
    const char *zmsg = gzerror(f, &zerr);
    if (rc == 0 && zerr != Z_OK && zerr != Z_STREAM_END) {
        fprintf(stderr, "propsim import: %s: %s (after line %ld)\n", in, zmsg, lineno);
        rc = BADLINES_EXIT_UNUSABLE;
    }
    gzclose(f);
    unsigned long rows_read = im.n_rows;
    if (rc == 0 && add_recoveries(&im) != 0) {
        fprintf(stderr, "propsim import: out of memory\n");
        rc = 1;
    }
    double origin = o->origin_min && isfinite(min_t) ? min_t : 0;
    if (rc == 0 && im.n_rows) {
        qsort(im.rows, im.n_rows, sizeof *im.rows, row_time_cmp);
        char err[512];
        struct tracewriter *w = tracewriter_open(out, err, sizeof err);
        if (!w) {
            fprintf(stderr, "propsim import: %s\n", err);
            rc = 1;
        } else {
            for (size_t i = 0; i < im.n_rows && rc == 0; i++) {
                double t = im.rows[i].t - origin;
                if (t < 0)
                    t = 0; /* before the window: the initial state */
                if (apply_row(&im, w, t, &im.rows[i]) != 0)
                    rc = 1;
            }
            if (tracewriter_close(w, err, sizeof err) != 0) {
                fprintf(stderr, "propsim import: %s\n", err);
                rc = 1;
            }
        }
    }
    badlines_finish(&im.bad);
    for (size_t i = 0; i < im.n_rows; i++)
        for (int k = 0; k < MACHINE_LABELS_MAX; k++)
            free(im.rows[i].labels[k]);
    free(im.rows);
    tdestroy(im.machines, machine_free);
    if (rc == 0 && im.events == 0) {
        unlink(out);
        badlines_nothing_valid(&im.bad, rows_read ? "no row changes a machine" : "no valid row", o->hint);
        return BADLINES_EXIT_UNUSABLE;
    }
    if (rc == 0)
        printf("imported %ld lines from %s (%s): %lu rows, %lu Node events, %lu ignored, %ld bad rows skipped -> %s\n",
               lineno, in, o->format, rows_read, im.events, im.ignored, im.bad.count, out);
    return rc;
}
