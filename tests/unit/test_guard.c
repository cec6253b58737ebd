/* The safety guard: outage-like drops hold scale-downs, real shrinks are followed after settling,
 * NotReady storms hold, overrides release, small clusters are not frozen, steps are limited. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "guard.h"

static struct cluster_summary sum(int64_t nodes, int64_t ready)
{
    struct cluster_summary s = {nodes, ready, nodes * 4, ready * 4, ready};
    return s;
}

static void test_outage_holds_then_recovers(void **state)
{
    (void)state;
    struct guard_opts o;
    guard_opts_default(&o);
    struct guard_state g;
    guard_init(&g);
    struct guard_result r;
    char why[GUARD_REASON_MAX];
    struct cluster_summary s = sum(100, 100);
    guard_decide(&g, &o, 0, &s, 100, 7, 7, false, &r);
    assert_int_equal(r.verdict, GUARD_PASS);
    /* 90 nodes turn NotReady: schedulable 10; the rule would go 7 -> 2 */
    s = sum(100, 10);
    guard_decide(&g, &o, 60, &s, 10, 7, 2, false, &r);
    assert_int_equal(r.verdict, GUARD_HOLD);
    assert_int_equal(r.replicas, 7);
    assert_non_null(strstr(guard_reason(&r, why, sizeof why), "holding 7 replicas (would scale down to 2)"));
    assert_non_null(strstr(guard_reason(&r, why, sizeof why), "from 100 to 10 (-90%)"));
    /* scale-ups are never blocked, even while holding */
    guard_decide(&g, &o, 70, &s, 10, 7, 9, false, &r);
    assert_int_equal(r.verdict, GUARD_PASS);
    assert_int_equal(r.replicas, 9);
    /* still held a few minutes later */
    guard_decide(&g, &o, 300, &s, 10, 7, 2, false, &r);
    assert_int_equal(r.verdict, GUARD_HOLD);
    /* nodes come back: released, and the rule's answer stands */
    s = sum(100, 100);
    guard_decide(&g, &o, 400, &s, 100, 7, 7, false, &r);
    assert_true(r.released);
    assert_int_equal(r.verdict, GUARD_PASS);
    assert_int_equal(g.holds, 2);
}

/* The reason never prints a share equal to the threshold it exceeds: 1,251 of 2,500 is 50.04%. */
static void test_reason_share_beside_threshold(void **state)
{
    (void)state;
    struct guard_opts o;
    guard_opts_default(&o);
    struct guard_state g;
    guard_init(&g);
    struct guard_result r;
    char why[GUARD_REASON_MAX];
    struct cluster_summary s = sum(2500, 2500);
    guard_decide(&g, &o, 0, &s, 2500, 157, 157, false, &r);
    s = sum(2500, 1249);
    guard_decide(&g, &o, 10, &s, 2500, 157, 79, false, &r);
    assert_int_equal(r.verdict, GUARD_HOLD);
    assert_non_null(strstr(guard_reason(&r, why, sizeof why), "1251 of 2500 nodes (50.04%) are NotReady at once, more than 50%"));
    guard_init(&g);
    s = sum(1000, 1000);
    guard_decide(&g, &o, 0, &s, 1000, 63, 63, false, &r);
    s = sum(499, 499);
    guard_decide(&g, &o, 10, &s, 499, 63, 32, false, &r);
    assert_int_equal(r.verdict, GUARD_HOLD);
    assert_non_null(strstr(guard_reason(&r, why, sizeof why), "from 1000 to 499 (-50.1%)"));
}

/* The delay's and the limit's reasons, each with the numbers of its own stage (a delay followed
 * by a limit says the limit, from the delayed answer); a passed decision has no reason. */
static void test_delay_and_limit_reasons(void **state)
{
    (void)state;
    struct guard_opts o;
    guard_opts_default(&o);
    o.stabilize_s = 60;
    o.max_step = 1;
    o.max_step_percent = 0;
    struct guard_state g;
    guard_init(&g);
    struct guard_result r;
    char why[GUARD_REASON_MAX];
    struct cluster_summary s = sum(100, 100);
    guard_decide(&g, &o, 0, &s, 100, 10, 10, false, &r);
    assert_int_equal(r.verdict, GUARD_PASS);
    assert_string_equal(guard_reason(&r, why, sizeof why), "");
    guard_decide(&g, &o, 1, &s, 100, 10, 6, false, &r);
    assert_int_equal(r.verdict, GUARD_DELAY);
    assert_int_equal(r.replicas, 10);
    assert_string_equal(guard_reason(&r, why, sizeof why),
                        "scaling down to 10, not 6: the answer was 10 within the last 60 s (--scale-down-delay)");
    guard_decide(&g, &o, 70, &s, 100, 10, 6, false, &r);
    assert_int_equal(r.verdict, GUARD_LIMIT);
    assert_int_equal(r.replicas, 9);
    assert_string_equal(guard_reason(&r, why, sizeof why),
                        "scaling down from 10 to 9 instead of 6: at most 1 replica may be removed in one step "
                        "(--max-scale-down-step); the rest follows at the next decisions");
    /* 6 is remembered at 70; 3 at 75 is delayed to 6, then limited from 9 to 8 */
    guard_decide(&g, &o, 75, &s, 100, 9, 3, false, &r);
    assert_int_equal(r.verdict, GUARD_LIMIT);
    assert_int_equal(r.replicas, 8);
    assert_string_equal(guard_reason(&r, why, sizeof why),
                        "scaling down from 9 to 8 instead of 6: at most 1 replica may be removed in one step "
                        "(--max-scale-down-step); the rest follows at the next decisions");
}

static void test_real_shrink_settles(void **state)
{
    (void)state;
    struct guard_opts o;
    guard_opts_default(&o);
    o.stabilize_s = 0;
    struct guard_state g;
    guard_init(&g);
    struct guard_result r;
    char why[GUARD_REASON_MAX];
    struct cluster_summary s = sum(100, 100);
    guard_decide(&g, &o, 0, &s, 100, 7, 7, false, &r);
    /* an autoscaler deletes 60 nodes: held */
    s = sum(40, 40);
    guard_decide(&g, &o, 30, &s, 40, 7, 3, false, &r);
    assert_int_equal(r.verdict, GUARD_HOLD);
    assert_non_null(strstr(guard_reason(&r, why, sizeof why), "from 100 to 40 (-60%)"));
    /* still 40 after the settle time: the shrink is real, scale down (one step at most 50%) */
    guard_decide(&g, &o, 30 + 600, &s, 40, 7, 3, false, &r);
    assert_int_equal(r.verdict, GUARD_LIMIT);
    assert_int_equal(r.replicas, 4);
    assert_non_null(strstr(guard_reason(&r, why, sizeof why), "at most 3 replicas may be removed in one step"));
    guard_decide(&g, &o, 700, &s, 40, 4, 3, false, &r);
    assert_int_equal(r.verdict, GUARD_PASS);
    assert_int_equal(r.replicas, 3);
}

static void test_gradual_shrink_follows(void **state)
{
    (void)state;
    struct guard_opts o;
    guard_opts_default(&o); /* with the 60 s delay: one node a minute is followed, a minute late */
    struct guard_state g;
    guard_init(&g);
    struct guard_result r;
    int32_t current = 7;
    /* 100 -> 40 nodes over an hour, 1 node a minute: never more than 50% within 10 minutes */
    for (int k = 0; k <= 60; k++) {
        struct cluster_summary s = sum(100 - k, 100 - k);
        int32_t desired = (int32_t)((100 - k + 15) / 16);
        guard_decide(&g, &o, k * 60.0, &s, 100 - k, current, desired, false, &r);
        assert_int_not_equal(r.verdict, GUARD_HOLD);
        current = r.replicas;
    }
    assert_int_equal(current, 3);
}

static void test_override_and_disabled(void **state)
{
    (void)state;
    struct guard_opts o;
    guard_opts_default(&o);
    o.stabilize_s = 0;
    struct guard_state g;
    guard_init(&g);
    struct guard_result r;
    struct cluster_summary s = sum(100, 100);
    guard_decide(&g, &o, 0, &s, 100, 7, 7, false, &r);
    s = sum(30, 30);
    guard_decide(&g, &o, 10, &s, 30, 7, 2, false, &r);
    assert_int_equal(r.verdict, GUARD_HOLD);
    guard_decide(&g, &o, 20, &s, 30, 7, 2, true, &r); /* operator override */
    assert_int_not_equal(r.verdict, GUARD_HOLD);
    assert_true(r.released);
    guard_decide(&g, &o, 30, &s, 30, r.replicas, 2, false, &r); /* the new level is the high-water mark */
    assert_int_not_equal(r.verdict, GUARD_HOLD);
    o.enabled = false;
    guard_init(&g);
    guard_decide(&g, &o, 0, &s, 100, 7, 7, false, &r);
    s = sum(30, 30);
    guard_decide(&g, &o, 10, &s, 30, 7, 2, false, &r);
    assert_int_equal(r.verdict, GUARD_PASS);
    assert_int_equal(r.replicas, 2);
}

static void test_small_clusters_not_frozen(void **state)
{
    (void)state;
    struct guard_opts o;
    guard_opts_default(&o);
    struct guard_state g;
    guard_init(&g);
    struct guard_result r;
    struct cluster_summary s = sum(4, 4);
    guard_decide(&g, &o, 0, &s, 4, 2, 2, false, &r);
    s = sum(1, 1); /* -75%, but only 3 nodes: under the minimum absolute count */
    guard_decide(&g, &o, 10, &s, 1, 2, 1, false, &r);
    assert_int_not_equal(r.verdict, GUARD_HOLD);
}

static void test_step_limits(void **state)
{
    (void)state;
    struct guard_opts o;
    guard_opts_default(&o);
    o.stabilize_s = 0;
    char err[128];
    int32_t count;
    double share;
    assert_int_equal(guard_parse_step("50%", &count, &share, err, sizeof err), 0);
    assert_true(share == 0.5 && count == 0);
    assert_int_equal(guard_parse_step("2", &count, &share, err, sizeof err), 0);
    assert_true(count == 2 && share == 0);
    assert_int_equal(guard_parse_step("0", &count, &share, err, sizeof err), -1);
    assert_int_equal(guard_parse_step("150%", &count, &share, err, sizeof err), -1);
    assert_int_equal(guard_parse_share("abc", &share, err, sizeof err), -1);
    struct guard_state g;
    struct guard_result r;
    struct cluster_summary s = sum(10, 10);
    static const struct {
        int32_t step;
        double pct;
        int32_t current, desired, want;
    } cases[] = {
        {0, 0.5, 10, 2, 5}, {0, 0.5, 3, 1, 2}, {0, 0.5, 2, 1, 1}, {0, 0.5, 1, 0, 0},
        {2, 0, 10, 2, 8}, {2, 0, 10, 9, 9}, {0, 0, 10, 2, 2}, {0, 0.5, 10, 12, 12},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        guard_init(&g);
        o.max_step = cases[i].step;
        o.max_step_percent = cases[i].pct;
        guard_decide(&g, &o, 0, &s, 10, cases[i].current, cases[i].desired, false, &r);
        if (r.replicas != cases[i].want)
            fail_msg("case %zu: %d -> %d gives %d, want %d", i, cases[i].current, cases[i].desired, r.replicas, cases[i].want);
    }
}

static void test_allow_removal(void **state)
{
    (void)state;
    struct guard_opts o;
    guard_opts_default(&o);
    char reason[400];
    assert_int_equal(guard_allow_removal(&o, 100, 100, 50, reason, sizeof reason), 1);
    assert_int_equal(guard_allow_removal(&o, 100, 100, 51, reason, sizeof reason), 0);
    assert_non_null(strstr(reason, "refuse: removing 51 of 100 nodes (51%) exceeds the 50% limit"));
    assert_int_equal(guard_allow_removal(&o, 4, 4, 3, reason, sizeof reason), 1); /* small cluster */
    o.max_node_loss = 0.2;
    assert_int_equal(guard_allow_removal(&o, 100, 100, 21, reason, sizeof reason), 0);
    o.max_node_loss = 0.5; /* 60 of 100 NotReady: even one removal is refused */
    assert_int_equal(guard_allow_removal(&o, 100, 40, 1, reason, sizeof reason), 0);
    assert_non_null(strstr(reason, "refuse: 60 of 100 nodes (60%) are NotReady at once, more than 50%"));
}

/* 90% of 200 nodes turn NotReady over 10 s: the replicas never go down during the ramp (the delay
 * covers its first half, the hold the rest), and come back with the nodes. */
static void test_outage_ramp_never_scales_down(void **state)
{
    (void)state;
    struct guard_opts o;
    guard_opts_default(&o);
    struct guard_state g;
    guard_init(&g);
    struct guard_result r;
    char why[GUARD_REASON_MAX];
    int32_t current = 13;
    struct cluster_summary s = sum(200, 200);
    guard_decide(&g, &o, 0, &s, 200, current, 13, false, &r);
    for (int k = 1; k <= 180; k++) { /* one more NotReady node every 1/18 s */
        int64_t ready = 200 - k;
        s = sum(200, ready);
        int32_t desired = (int32_t)((ready + 15) / 16);
        if (desired < 2)
            desired = 2;
        guard_decide(&g, &o, 600 + k / 18.0, &s, ready, current, desired, false, &r);
        if (r.replicas < current)
            fail_msg("scaled down from %d to %d at %d NotReady nodes: %s", current, r.replicas, k, guard_reason(&r, why, sizeof why));
        current = r.replicas;
    }
    for (int k = 0; k < 600; k++) { /* 10 minutes of outage */
        guard_decide(&g, &o, 610 + k, &s, 20, current, 2, false, &r);
        assert_int_equal(r.replicas, 13);
    }
    s = sum(200, 200);
    guard_decide(&g, &o, 1300, &s, 200, current, 13, false, &r);
    assert_int_equal(r.replicas, 13);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outage_holds_then_recovers),
        cmocka_unit_test(test_reason_share_beside_threshold), cmocka_unit_test(test_real_shrink_settles),
        cmocka_unit_test(test_delay_and_limit_reasons),
        cmocka_unit_test(test_gradual_shrink_follows),     cmocka_unit_test(test_override_and_disabled),
        cmocka_unit_test(test_small_clusters_not_frozen),  cmocka_unit_test(test_step_limits),
        cmocka_unit_test(test_allow_removal), cmocka_unit_test(test_outage_ramp_never_scales_down),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
