#include "replaychart.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>

#define CHART_W 1100
#define PLOT_X 70
#define PLOT_W REPLAY_CHART_COLUMNS
#define LEGEND_CHARS 160 /* of a params label under the chart */
#define BUCKETS REPLAY_CHART_COLUMNS
#define FINE (4 * BUCKETS) /* time buckets while accumulating: at least 2 per column once drawn */
#define N_COUNTS 4


/* ------------------------------------------------------------------------------------------ */
/* accumulation                                                                               */

struct replay_chart {
    int n_sets, n_series; /* the four counts, then one series per set */
    bool started;
    double t0, width, t_last; /* bucket k covers [t0 + k*width, t0 + (k+1)*width) */
    bool seen[FINE];
    bool held[REPLAY_CHART_MAX_SETS][FINE]; /* the guard held or limited that set there */
    bool refused[FINE];       /* the node guard would have refused a removal there */
    bool refusal_pending;     /* one was reported since the last point */
    size_t used;              /* buckets at and above this index hold nothing (merges stop there) */
    double *min, *max, *last; /* [series * FINE + k] */
    double *mark;             /* [set * FINE + k]: replicas after the bucket's last action, or NAN */
};

struct replay_chart *replay_chart_new(int n_sets)
{
    if (n_sets < 1 || n_sets > REPLAY_CHART_MAX_SETS)
        return NULL;
    struct replay_chart *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->n_sets = n_sets;
    c->n_series = N_COUNTS + n_sets;
    size_t n = (size_t)c->n_series * FINE;
    c->min = malloc(n * sizeof *c->min);
    c->max = malloc(n * sizeof *c->max);
    c->last = malloc(n * sizeof *c->last);
    c->mark = malloc((size_t)n_sets * FINE * sizeof *c->mark);
    if (!c->min || !c->max || !c->last || !c->mark) {
        replay_chart_free(c);
        return NULL;
    }
    for (size_t k = 0; k < (size_t)n_sets * FINE; k++)
        c->mark[k] = NAN;
    return c;
}

void replay_chart_free(struct replay_chart *c)
{
    if (!c)
        return;
    free(c->min);
    free(c->max);
    free(c->last);
    free(c->mark);
    free(c);
}

/* Multiply the bucket width by `factor` (a power of two): bucket j becomes buckets
 * j*factor .. (j+1)*factor-1 together, as that many pairwise doublings would make it, in one pass
 * (a trace whose first gap is years away needs ~40 doublings from the starting width). Reading the
 * group before writing j (j <= j*factor) makes it safe in place. */
/* x as an index in [0, n): NaN and values below 0 give 0, values past the end n - 1. Trace times
 * can be absurd (1e300 s after a time that went backwards): the arithmetic on them may give
 * infinities and NaN, and a double outside int's range must never reach a cast. */
static int bucket_index(double x, int n)
{
    if (!(x > 0))
        return 0;
    return x >= n - 1 ? n - 1 : (int)x;
}

static void merge_by(struct replay_chart *c, double factor)
{
    size_t f = factor >= FINE ? FINE : (size_t)factor;
    size_t used = c->used;
    for (size_t j = 0; j * f < used; j++) {
        bool seen = false, held[REPLAY_CHART_MAX_SETS] = {false}, refused = false;
        for (size_t a = j * f; a < (j + 1) * f && a < used; a++) {
            if (c->seen[a]) {
                for (int s = 0; s < c->n_series; s++) {
                    size_t at = (size_t)s * FINE;
                    double *mn = c->min + at, *mx = c->max + at, *ls = c->last + at;
                    mn[j] = seen ? fmin(mn[j], mn[a]) : mn[a];
                    mx[j] = seen ? fmax(mx[j], mx[a]) : mx[a];
                    ls[j] = ls[a];
                }
                seen = true;
            }
            refused = refused || c->refused[a];
            for (int i = 0; i < c->n_sets; i++) {
                held[i] = held[i] || c->held[i][a];
                double *m = c->mark + (size_t)i * FINE;
                if (a == j * f)
                    m[j] = m[a];
                else if (!isnan(m[a]))
                    m[j] = m[a];
            }
        }
        c->seen[j] = seen;
        for (int i = 0; i < c->n_sets; i++)
            c->held[i][j] = held[i];
        c->refused[j] = refused;
    }
    c->used = (used + f - 1) / f;
    for (size_t k = c->used; k < used; k++) {
        c->seen[k] = c->refused[k] = false;
        for (int i = 0; i < c->n_sets; i++) {
            c->held[i][k] = false;
            c->mark[(size_t)i * FINE + k] = NAN;
        }
    }
    c->width *= factor;
}

void replay_chart_refusal(struct replay_chart *c) { c->refusal_pending = true; }

void replay_chart_point(struct replay_chart *c, double t, const int64_t counts[4], const int32_t *replicas,
                        const bool *acted, const bool *guarded)
{
    if (!c->started) {
        c->started = true;
        c->t0 = t;
        /* a microsecond (trace times have six decimals), doubled as the trace grows: about 45
         * merges take it to ten years, each O(buckets) */
        c->width = 1e-6;
    }
    double off = t > c->t0 ? t - c->t0 : 0;
    if (off >= c->width * FINE) {
        double factor = 2;
        while (off >= c->width * factor * FINE && isfinite(c->width * factor * 2 * FINE))
            factor *= 2;
        merge_by(c, factor);
    }
    int k = bucket_index(off / c->width, FINE);
    for (int s = 0; s < c->n_series; s++) {
        double v = s < N_COUNTS ? (double)counts[s] : (double)replicas[s - N_COUNTS];
        size_t at = (size_t)s * FINE + (size_t)k;
        if (!c->seen[k] || v < c->min[at])
            c->min[at] = v;
        if (!c->seen[k] || v > c->max[at])
            c->max[at] = v;
        c->last[at] = v;
    }
    c->seen[k] = true;
    c->refused[k] = c->refused[k] || c->refusal_pending;
    c->refusal_pending = false;
    if ((size_t)k + 1 > c->used)
        c->used = (size_t)k + 1;
    for (int i = 0; i < c->n_sets; i++) {
        if (acted[i])
            c->mark[(size_t)i * FINE + (size_t)k] = replicas[i];
        c->held[i][k] = c->held[i][k] || guarded[i];
    }
    c->t_last = t > c->t_last ? t : c->t_last;
}

/* ------------------------------------------------------------------------------------------ */
/* drawing                                                                                    */

static void series_init(struct replay_chart_columns *s)
{
    memset(s, 0, sizeof *s);
    s->lo = INFINITY;
    s->hi = -INFINITY;
}

static void series_add(struct replay_chart_columns *s, int b, double v)
{
    if (!s->seen[b]) {
        s->min[b] = s->max[b] = v;
        s->seen[b] = true;
    }
    if (v < s->min[b])
        s->min[b] = v;
    if (v > s->max[b])
        s->max[b] = v;
    s->last[b] = v;
    if (v < s->lo)
        s->lo = v;
    if (v > s->hi)
        s->hi = v;
}

static double chart_end(const struct replay_chart *c) { return c->t_last > c->t0 ? c->t_last : c->t0 + 1; }

/* The pixel column of time bucket k (at its start time). */
static int column_of(const struct replay_chart *c, int k)
{
    return bucket_index((double)k * c->width / (chart_end(c) - c->t0) * (BUCKETS - 1), BUCKETS);
}

void replay_chart_columns(const struct replay_chart *c, int series, struct replay_chart_columns *out)
{
    series_init(out);
    if (series < 0 || series >= c->n_series)
        return;
    for (int k = 0; k < FINE; k++) {
        if (!c->seen[k])
            continue;
        int b = column_of(c, k);
        size_t at = (size_t)series * FINE + (size_t)k;
        series_add(out, b, c->min[at]);
        series_add(out, b, c->max[at]);
        series_add(out, b, c->last[at]); /* the column's last value is its last bucket's last */
    }
}

/* The time axis: ticks at a round step (seconds to weeks) chosen for at most 7 intervals,
 * labelled in the step's unit so every label is a whole number. */
static double time_step(double span)
{
    static const double steps[] = {1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
                                   43200, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400};
    for (size_t i = 0; i < sizeof steps / sizeof *steps; i++)
        if (span / steps[i] <= 7)
            return steps[i];
    return 28 * 86400 * ceil(span / (7 * 28 * 86400.0));
}

static void fmt_time(double secs, double step, char *out, size_t len)
{
    if (step >= 86400)
        snprintf(out, len, "%.0fd", secs / 86400);
    else if (step >= 3600)
        snprintf(out, len, "%.0fh", secs / 3600);
    else if (step >= 60)
        snprintf(out, len, "%.0fm", secs / 60);
    else
        snprintf(out, len, "%.0fs", secs);
}

/* A panel's value axis: round tick values (1, 2, 2.5 or 5 times a power of ten, at least 1,
 * since every series counts something). It starts at 0 unless the data sit in a band narrow
 * next to their level (a 12,500-node cluster moving by 200 nodes, CoreDNS at 817..829
 * replicas): then it is zoomed onto the band, or the changes would be invisible, and says so. */
struct axis {
    double lo, hi, step;
    bool zoomed;
};

static double nice_step(double raw)
{
    if (!(raw > 1))
        return 1;
    double p = pow(10, floor(log10(raw)));
    static const double mult[] = {1, 2, 2.5, 5, 10};
    for (size_t i = 0; i < sizeof mult / sizeof *mult; i++)
        if (raw <= mult[i] * p && (mult[i] != 2.5 || p >= 10)) /* whole-number ticks */
            return mult[i] * p;
    return 10 * p;
}

static struct axis axis_for(struct replay_chart_columns **ss, int n)
{
    double dlo = INFINITY, dhi = -INFINITY;
    for (int i = 0; i < n; i++) {
        dlo = ss[i]->lo < dlo ? ss[i]->lo : dlo;
        dhi = ss[i]->hi > dhi ? ss[i]->hi : dhi;
    }
    struct axis a = {0, 1, 1, false};
    if (!(dlo <= dhi)) /* no data */
        return a;
    double lo = 0, hi = dhi * 1.05;
    if (dlo > 0 && dhi - dlo < 0.25 * dhi) {
        double pad = (dhi - dlo) * 0.15 > 1 ? (dhi - dlo) * 0.15 : 1;
        lo = dlo - pad;
        hi = dhi + pad;
        a.zoomed = true;
    }
    a.step = nice_step((hi - lo) / 4);
    a.lo = floor(lo / a.step) * a.step;
    a.lo = a.lo < 0 ? 0 : a.lo;
    a.zoomed = a.zoomed && a.lo > 0;
    a.hi = ceil(hi / a.step) * a.step;
    if (a.hi <= a.lo)
        a.hi = a.lo + a.step;
    return a;
}

/* frac of a span of n pixels, rounded, within [0, n] (NaN: 0) */
static int pixel(double frac, int n)
{
    double x = frac * n;
    if (!(x > 0))
        return 0;
    return x >= n ? n : (int)lround(x);
}

static int axis_y(const struct axis *a, int y0, int h, double v)
{
    return y0 + h - pixel((v - a->lo) / (a->hi - a->lo), h);
}

struct pt {
    int x, y;
};

/* Append q to the polyline pts[0..n), dropping a repeat of the last point and a last point that
 * lies on the straight horizontal or vertical run from the one before it to q. Returns the new n. */
static int polyline_add(struct pt *pts, int n, struct pt q)
{
    if (n > 0 && pts[n - 1].x == q.x && pts[n - 1].y == q.y)
        return n;
    if (n > 1) {
        struct pt a = pts[n - 2], m = pts[n - 1];
        bool horizontal = a.y == m.y && m.y == q.y && a.x <= m.x && m.x <= q.x;
        bool vertical = a.x == m.x && m.x == q.x && ((a.y <= m.y && m.y <= q.y) || (a.y >= m.y && m.y >= q.y));
        if (horizontal || vertical)
            n--;
    }
    pts[n] = q;
    return n + 1;
}

static void xml_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Where the chart is drawn: the SVG file, and with a PNG asked for, a cairo image drawn with the
 * same shapes at the same coordinates (cr NULL: none). Every SVG element written below has its
 * paint_* twin next to it. */
struct canvas {
    FILE *f;
    cairo_t *cr;
};

/* "#rgb" or "#rrggbb", as the SVG says it */
static void source(cairo_t *cr, const char *hex, double alpha)
{
    unsigned long v = hex && hex[0] == '#' ? strtoul(hex + 1, NULL, 16) : 0;
    if (hex && strlen(hex) == 4) /* #rgb: each digit twice */
        v = ((v >> 8) & 15) * 0x110000 + ((v >> 4) & 15) * 0x1100 + (v & 15) * 0x11;
    cairo_set_source_rgba(cr, (double)((v >> 16) & 255) / 255, (double)((v >> 8) & 255) / 255, (double)(v & 255) / 255,
                          alpha);
}

static void paint_rect(const struct canvas *cv, double x, double y, double w, double h, const char *fill, double alpha,
                       const char *stroke)
{
    if (!cv->cr)
        return;
    cairo_rectangle(cv->cr, x, y, w, h);
    source(cv->cr, fill, alpha);
    if (stroke) {
        cairo_fill_preserve(cv->cr);
        source(cv->cr, stroke, 1);
        cairo_set_line_width(cv->cr, 1);
        cairo_stroke(cv->cr);
    } else {
        cairo_fill(cv->cr);
    }
}

static void paint_line(const struct canvas *cv, double x1, double y1, double x2, double y2, const char *stroke, bool dashed)
{
    if (!cv->cr)
        return;
    static const double dash[2] = {4, 3};
    cairo_set_dash(cv->cr, dash, dashed ? 2 : 0, 0);
    cairo_move_to(cv->cr, x1 + 0.5, y1 + 0.5);
    cairo_line_to(cv->cr, x2 + 0.5, y2 + 0.5);
    source(cv->cr, stroke, 1);
    cairo_set_line_width(cv->cr, 1);
    cairo_stroke(cv->cr);
    cairo_set_dash(cv->cr, dash, 0, 0);
}

/* anchor: -1 start, 0 middle, 1 end (SVG's text-anchor) */
static void paint_text(const struct canvas *cv, double x, double y, double size, bool bold, int anchor, const char *color,
                       const char *text)
{
    if (!cv->cr)
        return;
    cairo_select_font_face(cv->cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cv->cr, size);
    cairo_text_extents_t e;
    cairo_text_extents(cv->cr, text, &e);
    double dx = anchor < 0 ? 0 : anchor == 0 ? -e.x_advance / 2 : -e.x_advance;
    cairo_move_to(cv->cr, x + dx, y);
    source(cv->cr, color ? color : "#000000", 1);
    cairo_show_text(cv->cr, text);
}

static void paint_polyline(const struct canvas *cv, const struct pt *pts, int n, const char *color)
{
    if (!cv->cr || n < 1)
        return;
    cairo_move_to(cv->cr, pts[0].x + 0.5, pts[0].y + 0.5);
    for (int k = 1; k < n; k++)
        cairo_line_to(cv->cr, pts[k].x + 0.5, pts[k].y + 0.5);
    source(cv->cr, color, 1);
    cairo_set_line_width(cv->cr, 1.6);
    cairo_stroke(cv->cr);
}

static void paint_circle(const struct canvas *cv, double x, double y, double r, const char *color)
{
    if (!cv->cr)
        return;
    cairo_new_sub_path(cv->cr);
    cairo_arc(cv->cr, x + 0.5, y + 0.5, r, 0, 2 * 3.14159265358979323846);
    source(cv->cr, color, 1);
    cairo_fill(cv->cr);
}

/* One panel: a few series drawn as step lines from per-bucket min/max/last, over amber columns
 * where shade[] is set (NULL: none). */
static void panel(const struct canvas *cv, int y0, int h, const char *title, struct replay_chart_columns **ss,
                  const char **colors, const char **names, int n, double t0, double t1, const struct axis *a,
                  const bool *shade, const char *shade_color)
{
    FILE *f = cv->f;
    fprintf(f, "<g><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n", PLOT_X, y0, PLOT_W, h);
    paint_rect(cv, PLOT_X + 0.5, y0 + 0.5, PLOT_W, h, "#fafafa", 1, "#cccccc");
    for (int b = 0; shade && b < BUCKETS; b++)
        if (shade[b]) {
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"1\" height=\"%d\" fill=\"%s\" opacity=\"0.45\"/>", PLOT_X + b, y0, h,
                    shade_color);
            paint_rect(cv, PLOT_X + b, y0, 1, h, shade_color, 0.45, NULL);
        }
    fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"13\" font-weight=\"bold\">", PLOT_X, y0 - 6);
    xml_escape(f, title);
    const char *zoomed = a->zoomed ? " (axis zoomed: it does not start at 0)" : "";
    fprintf(f, "%s</text>\n", zoomed);
    char line[600];
    snprintf(line, sizeof line, "%s%s", title, zoomed);
    paint_text(cv, PLOT_X, y0 - 6, 13, true, -1, NULL, line);
    int ticks = (int)lround((a->hi - a->lo) / a->step);
    for (int k = 0; k <= ticks; k++) {
        double v = a->lo + k * a->step;
        int y = axis_y(a, y0, h, v);
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#e5e5e5\"/>", PLOT_X, y, PLOT_X + PLOT_W, y);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">%.0f</text>\n", PLOT_X - 6, y + 4, v);
        paint_line(cv, PLOT_X, y, PLOT_X + PLOT_W, y, "#e5e5e5", false);
        snprintf(line, sizeof line, "%.0f", v);
        paint_text(cv, PLOT_X - 6, y + 4, 11, false, 1, "#555555", line);
    }
    for (int i = 0; i < n; i++) {
        struct replay_chart_columns *s = ss[i];
        /* per column: from the previous column's last value, down to the min, up to the max,
         * to the last; points on a straight run between their neighbours are left out */
        struct pt pts[4 * BUCKETS];
        int np = 0;
        double prev = NAN;
        for (int b = 0; b < BUCKETS; b++) {
            if (!s->seen[b])
                continue;
            double ys[4] = {isnan(prev) ? s->min[b] : prev, s->min[b], s->max[b], s->last[b]};
            for (int k = 0; k < 4; k++)
                np = polyline_add(pts, np, (struct pt){PLOT_X + b, axis_y(a, y0, h, ys[k])});
            prev = s->last[b];
        }
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\" points=\"", colors[i]);
        for (int k = 0; k < np; k++)
            fprintf(f, "%s%d,%d", k ? " " : "", pts[k].x, pts[k].y);
        fprintf(f, "\"/>\n");
        paint_polyline(cv, pts, np, colors[i]);
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"3\" fill=\"%s\"/><text x=\"%d\" y=\"%d\" font-size=\"11\">",
                PLOT_X + PLOT_W + 12, y0 + 10 + i * 16, colors[i], PLOT_X + PLOT_W + 28, y0 + 14 + i * 16);
        xml_escape(f, names[i]);
        fprintf(f, "</text>\n");
        paint_rect(cv, PLOT_X + PLOT_W + 12, y0 + 10 + i * 16, 12, 3, colors[i], 1, NULL);
        paint_text(cv, PLOT_X + PLOT_W + 28, y0 + 14 + i * 16, 11, false, -1, NULL, names[i]);
    }
    double step = time_step(t1 - t0);
    /* counted, not v += step: at absurd times (1e300 s) adding a step does not move v */
    double first = ceil(t0 / step) * step;
    for (int tick = 0; tick < 100; tick++) {
        double v = first + tick * step;
        if (!(v <= t1 + step * 1e-9) || (tick > 0 && v == first + (tick - 1) * step))
            break;
        char lab[48];
        fmt_time(v, step, lab, sizeof lab);
        int x = PLOT_X + pixel((v - t0) / (t1 - t0), PLOT_W);
        fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#bbb\"/>", x, y0 + h, x, y0 + h + 4);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">%s</text>", x, y0 + h + 16, lab);
        paint_line(cv, x, y0 + h, x, y0 + h + 4, "#bbbbbb", false);
        paint_text(cv, x, y0 + h + 16, 11, false, 0, "#555555", lab);
    }
    fprintf(f, "</g>\n");
}



/* The end of the data: a dashed line at the last event when the observation went on after it, and
 * one at the window's end (an END marker or --until), each named. */
static void window_lines(const struct canvas *cv, int y0, int h, double t0, double t1, const struct replay_chart_info *info)
{
    FILE *f = cv->f;
    if (!info->has_window_end || !(t1 > t0))
        return;
    const double at[2] = {info->last_event_t, info->window_end};
    const char *what[2] = {"last event", "end of the data window"};
    for (int k = 0; k < 2; k++) {
        if (k == 0 && !(info->last_event_t < info->window_end))
            continue;
        int x = PLOT_X + pixel((at[k] - t0) / (t1 - t0), PLOT_W);
        fprintf(f, "<line class=\"window-%s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#444\" stroke-dasharray=\"4 3\"/>"
                   "<text x=\"%d\" y=\"%d\" font-size=\"10\" fill=\"#444\" text-anchor=\"%s\">%s</text>\n",
                k ? "end" : "last-event", x, y0, x, y0 + h, k ? x - 3 : x + 3, y0 + 12, k ? "end" : "start", what[k]);
        paint_line(cv, x, y0, x, y0 + h, "#444444", true);
        paint_text(cv, k ? x - 3 : x + 3, y0 + 12, 10, false, k ? 1 : -1, "#444444", what[k]);
    }
}

int replay_chart_write(const struct replay_chart *c, const char *path, const struct replay_chart_info *info)
{
    struct replay_chart_columns *all = malloc((size_t)c->n_series * sizeof *all); /* ~30 KiB each */
    struct marks {
        double at[REPLAY_CHART_MAX_SETS][BUCKETS];
        bool marked[REPLAY_CHART_MAX_SETS][BUCKETS], held[REPLAY_CHART_MAX_SETS][BUCKETS], refused[BUCKETS];
    } *mk = calloc(1, sizeof *mk);
    FILE *f = all && mk ? fopen(path, "w") : NULL;
    if (!f) {
        free(all);
        free(mk);
        return -1;
    }
    for (int s = 0; s < c->n_series; s++)
        replay_chart_columns(c, s, &all[s]);
    double t0 = c->t0, t1 = chart_end(c);
    for (int k = 0; k < FINE; k++) {
        if (!c->seen[k])
            continue;
        int b = column_of(c, k);
        for (int i = 0; i < c->n_sets; i++) {
            double m = c->mark[(size_t)i * FINE + (size_t)k];
            if (!isnan(m)) {
                mk->marked[i][b] = true;
                mk->at[i][b] = m;
            }
            mk->held[i][b] = mk->held[i][b] || c->held[i][k];
        }
        mk->refused[b] = mk->refused[b] || c->refused[k];
    }
    struct replay_chart_columns *tn = &all[0], *sn = &all[1], *tc = &all[2], *sc = &all[3], *rep[REPLAY_CHART_MAX_SETS];
    for (int i = 0; i < c->n_sets; i++)
        rep[i] = &all[N_COUNTS + i];
    static const char *set_colors[REPLAY_CHART_MAX_SETS] = {"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
                                                            "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939",
                                                            "#8c6d31", "#843c39", "#7b4173", "#3182bd"};
    /* the replicas: one panel per set, on its own axis (328 <-> 329 and 13 -> 1 both readable); a
     * set drawn with another (info->sets[i].with: --compare-guard's run without the guard) shares
     * that one's panel and axis, in grey */
    int panel_of[REPLAY_CHART_MAX_SETS], n_panels = 0, first_set[REPLAY_CHART_MAX_SETS];
    for (int i = 0; i < c->n_sets; i++) {
        int w = info->sets[i].with;
        if (w >= 0 && w < i) {
            panel_of[i] = panel_of[w];
        } else {
            first_set[n_panels] = i;
            panel_of[i] = n_panels++;
        }
    }
    int ph = 150, gap = 60, top = 70, rph = n_panels > 1 ? 110 : ph;
    int height = top + 2 * (ph + gap) + n_panels * (rph + gap) + 30 + 34 * c->n_sets;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\">\n", CHART_W, height);
    struct canvas cvs = {f, NULL}, *cv = &cvs;
    cairo_surface_t *surface = NULL;
    if (info->png_path) {
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, CHART_W, height);
        cvs.cr = cairo_create(surface);
        paint_rect(cv, 0, 0, CHART_W, height, "#ffffff", 1, NULL);
    }
    char text[700];
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n<text x=\"%d\" y=\"28\" font-size=\"17\" font-weight=\"bold\">propsim replay: ", PLOT_X);
    xml_escape(f, info->trace_name);
    snprintf(text, sizeof text, "propsim replay: %s", info->trace_name);
    paint_text(cv, PLOT_X, 28, 17, true, -1, NULL, text);
    snprintf(text, sizeof text, "%lu decision points, %lu node events; nodes %lld..%lld; poll period %gs",
             info->decision_points, info->node_events, info->min_nodes, info->max_nodes, info->poll);
    fprintf(f, "</text>\n<text x=\"%d\" y=\"48\" font-size=\"12\" fill=\"#555\">%s</text>\n", PLOT_X, text);
    paint_text(cv, PLOT_X, 48, 12, false, -1, "#555555", text);
    struct replay_chart_columns *nodes_s[2] = {tn, sn};
    const char *nodes_c[2] = {"#888", "#1f77b4"}, *nodes_n[2] = {"total nodes", "schedulable"};
    struct axis nodes_a = axis_for(nodes_s, 2);
    panel(cv, top, ph, info->node_guard ? "Nodes (red: the node guard would have refused a removal)" : "Nodes", nodes_s,
          nodes_c, nodes_n, 2, t0, t1, &nodes_a, info->node_guard ? mk->refused : NULL, "#d62728");
    window_lines(cv, top, ph, t0, t1, info);
    struct replay_chart_columns *cores_s[2] = {tc, sc};
    const char *cores_n[2] = {"total cores", "schedulable"};
    struct axis cores_a = axis_for(cores_s, 2);
    panel(cv, top + ph + gap, ph, "Cores", cores_s, nodes_c, cores_n, 2, t0, t1, &cores_a, NULL, NULL);
    window_lines(cv, top + ph + gap, ph, t0, t1, info);
    int ry0 = top + 2 * (ph + gap);
    for (int pn = 0; pn < n_panels; pn++) {
        struct replay_chart_columns *ps[REPLAY_CHART_MAX_SETS];
        const char *pc[REPLAY_CHART_MAX_SETS], *pnames[REPLAY_CHART_MAX_SETS];
        int members[REPLAY_CHART_MAX_SETS], nm = 0;
        for (int i = 0; i < c->n_sets; i++)
            if (panel_of[i] == pn) {
                members[nm] = i;
                ps[nm] = rep[i];
                pc[nm] = i == first_set[pn] ? set_colors[pn] : "#999";
                pnames[nm] = info->sets[i].name;
                nm++;
            }
        int lead = first_set[pn];
        char title[400];
        if (info->sets[lead].unit)
            snprintf(title, sizeof title, "Resources: %.60s, %.100s (dots: rollouts; amber: the guard held them)",
                     info->sets[lead].name, info->sets[lead].unit);
        else
            snprintf(title, sizeof title, "%s%.120s (dots: scaling actions; amber: the guard held or limited %s)",
                     n_panels > 1 ? "Replicas: " : "Replicas, ", info->sets[lead].name,
                     nm > 1 ? "the guarded run" : "a scale-down");
        int ry = ry0 + pn * (rph + gap);
        struct axis a = axis_for(ps, nm);
        panel(cv, ry, rph, title, ps, pc, pnames, nm, t0, t1, &a, mk->held[lead], "#ffbf00");
        window_lines(cv, ry, rph, t0, t1, info);
        for (int m = 0; m < nm; m++)
            for (int b = 0; b < BUCKETS; b++)
                if (mk->marked[members[m]][b])
                {
                    int cy = axis_y(&a, ry, rph, mk->at[members[m]][b]);
                    fprintf(f, "<circle cx=\"%d\" cy=\"%d\" r=\"2.5\" fill=\"%s\"/>", PLOT_X + b, cy, pc[m]);
                    paint_circle(cv, PLOT_X + b, cy, 2.5, pc[m]);
                }
        fprintf(f, "\n");
    }
    int ry = ry0 + (n_panels - 1) * (rph + gap); /* the last panel: the legend goes under it */
    /* the legend: each set's numbers, then its params (cut to the chart's width) */
    int ly = ry + rph + 40;
    for (int i = 0; i < c->n_sets; i++) {
        const struct replay_chart_set *p = &info->sets[i];
        const char *color = i == first_set[panel_of[i]] ? set_colors[panel_of[i]] : "#777";
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"12\" font-weight=\"bold\" fill=\"%s\">", PLOT_X, ly + 34 * i, color);
        xml_escape(f, p->name);
        int used = p->unit ? snprintf(text, sizeof text, ": %lu rollouts (%lu up, %lu down), %d..%d %s", p->actions,
                                      p->ups, p->downs, p->min, p->max, p->unit)
                           : snprintf(text, sizeof text, ": %lu actions (%lu up, %lu down), replicas %d..%d", p->actions,
                                      p->ups, p->downs, p->min, p->max);
        if (info->guard && used > 0 && (size_t)used < sizeof text)
            snprintf(text + used, sizeof text - (size_t)used, "; guard held %lu and limited %lu decisions", p->holds,
                     p->limits);
        fputs(text, f);
        char whole[800];
        snprintf(whole, sizeof whole, "%s%s", p->name, text);
        paint_text(cv, PLOT_X, ly + 34 * i, 12, true, -1, color, whole);
        fprintf(f, "</text>\n<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"%s\">", PLOT_X + 12, ly + 34 * i + 15,
                color);
        char label[LEGEND_CHARS + 4];
        size_t n = strlen(p->label);
        if (n > LEGEND_CHARS) {
            n = LEGEND_CHARS;
            while (n > 0 && ((unsigned char)p->label[n] & 0xC0) == 0x80) /* not inside a UTF-8 sequence */
                n--;
        }
        memcpy(label, p->label, n);
        strcpy(label + n, n < strlen(p->label) ? "…" : "");
        xml_escape(f, label);
        fprintf(f, "</text>\n");
        paint_text(cv, PLOT_X + 12, ly + 34 * i + 15, 11, false, -1, color, label);
    }
    fprintf(f, "</svg>\n");
    free(all);
    free(mk);
    bool write_error = ferror(f) != 0;
    if (surface) {
        cairo_destroy(cvs.cr);
        write_error = write_error || cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS ||
                      cairo_surface_write_to_png(surface, info->png_path) != CAIRO_STATUS_SUCCESS;
        cairo_surface_destroy(surface);
        /* cairo's and fontconfig's process-wide caches, given back: a replay draws one chart, and
         * leak checkers (ASan, valgrind) would count them */
        cairo_debug_reset_static_data();
        FcFini();
    }
    return fclose(f) != 0 || write_error ? -1 : 0;
}

