/* placement: hot spots from the replicas per node: the limit (default 1 under hostname spread,
 * else 2, or the flag), the per-VM DNS rate, the offenders' text, table-driven. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "placement.h"

static void test_hotspots(void **state)
{
    (void)state;
    static const struct node_load load[] = {{"a", 5}, {"b", 3}, {"c", 2}, {"d", 1}};
    static const struct {
        size_t n;
        bool any_anti;
        struct hotspot_opts o;
        int limit, busiest, over, over_qps;
        const char *offenders;
    } cases[] = {
        {4, false, {0, 0, 0}, 2, 5, 2, 0, "a 5, b 3"},
        {4, true, {0, 0, 0}, 1, 5, 3, 0, "a 5, b 3, c 2"},
        {4, true, {4, 0, 0}, 4, 5, 1, 0, "a 5"},
        {4, false, {9, 200, 50}, 9, 5, 0, 1, "a 5"},       /* 5 x 50 QPS > 200; 3 x 50 is not */
        {0, false, {0, 0, 0}, 2, 0, 0, 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct hotspot_report h;
        placement_hotspots(load, cases[i].n, cases[i].any_anti, &cases[i].o, &h);
        if (h.limit != cases[i].limit || h.busiest != cases[i].busiest || h.over_limit != cases[i].over ||
            h.over_qps != cases[i].over_qps || strcmp(h.offenders, cases[i].offenders) != 0)
            fail_msg("case %zu: limit %d busiest %d over %d qps %d \"%s\"", i, h.limit, h.busiest, h.over_limit,
                     h.over_qps, h.offenders);
    }
}

/* Many offenders: the text is cut at its size, the counts are not. */
static void test_offenders_cut(void **state)
{
    (void)state;
    struct node_load load[200];
    for (int i = 0; i < 200; i++) {
        snprintf(load[i].node, sizeof load[i].node, "node-with-a-long-name-%03d", i);
        load[i].replicas = 3;
    }
    struct hotspot_opts o = {0, 0, 0};
    struct hotspot_report h;
    placement_hotspots(load, 200, false, &o, &h);
    assert_int_equal(h.over_limit, 200);
    assert_true(strlen(h.offenders) < sizeof h.offenders);
    assert_non_null(strstr(h.offenders, "node-with-a-long-name-000 3, "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hotspots),
        cmocka_unit_test(test_offenders_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
