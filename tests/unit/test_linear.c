/* CPA's linear rule, with every trap from CPA-COMPAT.md. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "linear.h"
#include "params.h"

static struct linear_params lp(const char *json)
{
    struct linear_params p;
    char err[512];
    if (params_parse_linear(json, strlen(json), &p, err, sizeof err) != 0)
        fail_msg("%s: %s", json, err);
    return p;
}

static struct replica_calc run(const char *json, int64_t tn, int64_t sn, int64_t tc, int64_t sc,
                               const struct policy_opts *o)
{
    struct linear_params p = lp(json);
    struct cluster_summary s = {.total_nodes = tn, .schedulable_nodes = sn, .total_cores = tc, .schedulable_cores = sc};
    struct replica_calc c;
    memset(&c, 0, sizeof c);
    linear_compute(&p, &s, o, &c);
    return c;
}

static void test_table(void **state)
{
    (void)state;
    static const struct {
        const char *params;
        int64_t tn, sn, tc, sc;
        int32_t want;
        const char *why;
    } cases[] = {
        {"{\"coresPerReplica\":2,\"nodesPerReplica\":1,\"min\":1,\"max\":100,\"preventSinglePointFailure\":true,"
         "\"includeUnschedulableNodes\":true}", 4, 4, 13, 13, 7, "CPA README worked example"},
        {"{\"nodesPerReplica\":0.7}", 21, 21, 0, 0, 31, "21/0.7 is 30.000000000000004 in doubles"},
        {"{\"coresPerReplica\":1.1}", 1, 1, 33, 33, 30, "33/1.1 is 29.999999999999996: ceil gives 30"},
        {"{\"nodesPerReplica\":0.7}", 42, 42, 0, 0, 61, "42/0.7 is 60.00000000000001"},
        {"{\"coresPerReplica\":0.1}", 1, 1, 3, 3, 30, "3/0.1 is exactly 30.0 in doubles"},
        {"{\"nodesPerReplica\":0.5}", 3, 3, 0, 0, 6, "exact quotient"},
        {"{\"coresPerReplica\":256,\"nodesPerReplica\":16}", 16, 16, 64, 64, 1, "exactly one replica's worth"},
        {"{\"coresPerReplica\":256,\"nodesPerReplica\":16}", 17, 17, 64, 64, 2, "one node over"},
        {"{\"coresPerReplica\":256,\"nodesPerReplica\":16}", 1000, 1000, 16000, 16000, 63, "cores dominate"},
        {"{\"nodesPerReplica\":1,\"max\":1,\"preventSinglePointFailure\":true}", 3, 3, 12, 12, 2,
         "preventSinglePointFailure exceeds max"},
        {"{\"coresPerReplica\":256,\"preventSinglePointFailure\":true}", 3, 3, 8, 8, 2,
         "preventSinglePointFailure applies without nodesPerReplica"},
        {"{\"coresPerReplica\":256,\"preventSinglePointFailure\":true}", 1, 1, 8, 8, 1, "one node: no spof bump"},
        {"{\"coresPerReplica\":256,\"preventSinglePointFailure\":true}", 5, 1, 40, 8, 1,
         "spof looks at the counted (schedulable) nodes"},
        {"{\"nodesPerReplica\":16}", 0, 0, 0, 0, 1, "never less than 1"},
        {"{\"nodesPerReplica\":16,\"min\":3}", 0, 0, 0, 0, 3, "min applies to an empty cluster"},
        {"{\"nodesPerReplica\":1,\"max\":3}", 10, 10, 0, 0, 3, "max clamps"},
        {"{\"nodesPerReplica\":1,\"max\":0}", 500, 500, 0, 0, 500, "max 0 is unbounded"},
        {"{\"nodesPerReplica\":1}", 10, 4, 40, 16, 4, "schedulable counts by default"},
        {"{\"nodesPerReplica\":1,\"includeUnschedulableNodes\":true}", 10, 4, 40, 16, 10, "totals when asked"},
        {"{\"coresPerReplica\":4}", 10, 4, 40, 16, 4, "schedulable cores"},
        {"{\"coresPerReplica\":1e-9}", 100, 100, 100, 100, INT32_MAX, "saturates instead of CPA's int32 wrap"},
        {"{\"nodesPerReplica\":1e-320}", 5, 5, 0, 0, INT32_MAX, "subnormal divisor: infinite quotient saturates"},
        {"{\"nodesPerReplica\":1,\"min\":3000000000}", 5, 5, 0, 0, INT32_MAX, "huge min saturates"},
        {"{\"nodesPerReplica\":3,\"coresPerReplica\":1.5}", 7, 7, 7, 7, 5, "larger of the two (ceil(7/1.5)=5)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct replica_calc c = run(cases[i].params, cases[i].tn, cases[i].sn, cases[i].tc, cases[i].sc, NULL);
        if (c.replicas != cases[i].want)
            fail_msg("%s (%s): got %d want %d", cases[i].why, cases[i].params, c.replicas, cases[i].want);
    }
}

static void test_per_zero_is_one_not_min(void **state)
{
    (void)state;
    /* f(res, 0) is 1, not min: visible in the per-rule answer */
    struct replica_calc c = run("{\"nodesPerReplica\":1,\"min\":5}", 2, 2, 64, 64, NULL);
    assert_int_equal(c.from_cores, 1);
    assert_int_equal(c.from_nodes, 5);
    assert_int_equal(c.replicas, 5);
    assert_true(c.flags & RC_RAISED_MIN);
}

static void test_flags_and_usage(void **state)
{
    (void)state;
    struct replica_calc c = run("{\"coresPerReplica\":256,\"preventSinglePointFailure\":true}", 3, 3, 8, 8, NULL);
    assert_true(c.flags & RC_SPOF_APPLIED);
    assert_int_equal(c.from_nodes, 2);
    c = run("{\"nodesPerReplica\":1,\"max\":3}", 10, 10, 0, 0, NULL);
    assert_true(c.flags & RC_CLAMPED_MAX);
    c = run("{\"nodesPerReplica\":1,\"includeUnschedulableNodes\":true}", 10, 4, 40, 16, NULL);
    assert_true(c.used_total);
    assert_int_equal(c.nodes, 10);
    assert_int_equal(c.cores, 40);
    c = run("{\"coresPerReplica\":1e-9}", 100, 100, 100, 100, NULL);
    assert_true(c.flags & RC_SATURATED);
}

static void test_opt_in_spof_respects_max(void **state)
{
    (void)state;
    struct policy_opts o = {.spof_respects_max = true};
    struct replica_calc c = run("{\"nodesPerReplica\":1,\"max\":1,\"preventSinglePointFailure\":true}", 3, 3, 12, 12, &o);
    assert_int_equal(c.replicas, 1);
    assert_true(c.flags & RC_SPOF_LIMITED_BY_MAX);
    /* without max the opt-in changes nothing */
    c = run("{\"coresPerReplica\":256,\"preventSinglePointFailure\":true}", 3, 3, 8, 8, &o);
    assert_int_equal(c.replicas, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_per_zero_is_one_not_min),
        cmocka_unit_test(test_flags_and_usage),
        cmocka_unit_test(test_opt_in_spof_respects_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
