/* sim/replaychart: the chart accumulated point by point, with its time buckets merging as the
 * trace grows, keeps what a person must see: every series' true min and max (a one-point spike
 * survives any number of merges), every point inside its column's range (give or take one
 * column), the last value at the end; over spans from a second to years, from any start time. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "replaychart.h"
#include "test_rng.h"


#define NPTS 20000

struct pointset {
    double t[NPTS];
    int64_t v[NPTS][4];
    int32_t r[NPTS];
};

/* Feed n points spread over span seconds from t0 (a random walk, with rare spikes), then check
 * every series against the points. */
static void check_span(struct pointset *ps, int n, double t0, double span)
{
    struct replay_chart *c = replay_chart_new(1);
    assert_non_null(c);
    int64_t level = 5000;
    for (int i = 0; i < n; i++) {
        ps->t[i] = t0 + span * i / (n - 1);
        level += (int64_t)(rnd() % 7) - 3;
        bool spike = rnd() % 997 == 0;
        ps->v[i][0] = level;
        ps->v[i][1] = spike ? level / 3 : level - 10; /* a one-point dip */
        ps->v[i][2] = level * 4;
        ps->v[i][3] = ps->v[i][1] * 4;
        ps->r[i] = (int32_t)(ps->v[i][1] / 16);
        bool acted = i > 0 && ps->r[i] != ps->r[i - 1], guarded = false;
        replay_chart_point(c, ps->t[i], ps->v[i], &ps->r[i], &acted, &guarded);
    }
    static struct replay_chart_columns col;
    double end = span > 0 ? span : 1;
    for (int s = 0; s < 5; s++) {
        replay_chart_columns(c, s, &col);
        double lo = INFINITY, hi = -INFINITY;
        for (int i = 0; i < n; i++) {
            double v = s < 4 ? (double)ps->v[i][s] : ps->r[i];
            lo = fmin(lo, v);
            hi = fmax(hi, v);
            int want = (int)((ps->t[i] - t0) / end * (REPLAY_CHART_COLUMNS - 1));
            bool inside = false;
            for (int b = want - 1; b <= want + 1; b++)
                if (b >= 0 && b < REPLAY_CHART_COLUMNS && col.seen[b] && col.min[b] <= v && v <= col.max[b])
                    inside = true;
            if (!inside)
                fail_msg("span %g: series %d, point %d (t=%g, v=%g) is in no column near %d", span, s, i, ps->t[i], v, want);
        }
        assert_true(col.lo == lo);
        assert_true(col.hi == hi);
        int last = REPLAY_CHART_COLUMNS - 1;
        while (last > 0 && !col.seen[last])
            last--;
        assert_true(col.last[last] == (s < 4 ? (double)ps->v[n - 1][s] : ps->r[n - 1]));
        assert_true(last >= REPLAY_CHART_COLUMNS - 2); /* the end of the trace is at the right edge */
    }
    replay_chart_free(c);
}

static void test_spans_and_merges(void **state)
{
    (void)state;
    struct pointset *ps = malloc(sizeof *ps);
    assert_non_null(ps);
    const double spans[] = {0.5, 1, 37, 3600, 2506135.494, 86400.0 * 365 * 10};
    const double starts[] = {0, 1234.5, 1.7e9};
    for (size_t i = 0; i < sizeof spans / sizeof *spans; i++)
        for (size_t j = 0; j < sizeof starts / sizeof *starts; j++)
            check_span(ps, NPTS, starts[j], spans[i]);
    check_span(ps, 2, 10, 5); /* two points */
    free(ps);
}

static void test_single_point_and_limits(void **state)
{
    (void)state;
    assert_null(replay_chart_new(0));
    assert_null(replay_chart_new(REPLAY_CHART_MAX_SETS + 1));
    struct replay_chart *c = replay_chart_new(2);
    const int64_t counts[4] = {3, 2, 12, 8};
    const int32_t reps[2] = {2, 3};
    const bool acted[2] = {true, false}, guarded[2] = {false, true};
    replay_chart_point(c, 42, counts, reps, acted, guarded);
    static struct replay_chart_columns col;
    replay_chart_columns(c, 5, &col);
    int seen = 0;
    for (int b = 0; b < REPLAY_CHART_COLUMNS; b++)
        seen += col.seen[b];
    assert_int_equal(seen, 1);
    assert_true(col.lo == 3 && col.hi == 3);
    replay_chart_columns(c, 6, &col); /* no such series: empty */
    assert_true(col.lo > col.hi);

    /* the file: an SVG with the action marked, the hold shaded, the params in the legend */
    char path[] = "/tmp/test-replaychart-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const struct replay_chart_set sets[2] = {{"{\"linear\":{\"nodesPerReplica\":1}}", "one per node", -1, 1, 1, 0, 0, 1, 2, 2, NULL},
                                             {"ladder <&> \"params\"", "a <ladder>", -1, 0, 0, 0, 1, 0, 3, 3, NULL}};
    const struct replay_chart_info info = {"t.jsonl", 1, 3, 3, 3, 10, true, sets, false, true, 120, 100, NULL};
    assert_int_equal(replay_chart_write(c, path, &info), 0);
    FILE *f = fopen(path, "r");
    static char svg[1 << 16];
    size_t len = fread(svg, 1, sizeof svg - 1, f);
    svg[len] = '\0';
    fclose(f);
    unlink(path);
    assert_non_null(strstr(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert_non_null(strstr(svg, "</svg>\n"));
    assert_non_null(strstr(svg, "<circle"));
    assert_non_null(strstr(svg, "fill=\"#ffbf00\""));
    assert_non_null(strstr(svg, "ladder &lt;&amp;&gt; &quot;params&quot;"));
    assert_non_null(strstr(svg, "guard held 1 and limited 0 decisions"));
    /* one replicas panel per set, named, each on its own axis; the window's end and last event */
    assert_non_null(strstr(svg, ">Replicas: one per node (dots"));
    assert_non_null(strstr(svg, ">Replicas: a &lt;ladder&gt; (dots"));
    assert_non_null(strstr(svg, ">a &lt;ladder&gt;: 0 actions"));
    assert_non_null(strstr(svg, "class=\"window-end\""));
    assert_non_null(strstr(svg, "end of the data window"));
    assert_int_equal(replay_chart_write(c, "/nonexistent/dir/chart.svg", &info), -1);
    replay_chart_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spans_and_merges),
        cmocka_unit_test(test_single_point_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
