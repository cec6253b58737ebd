/* CPA's ladder rule: step lookup, first-step below the first threshold, empty ladders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ladder.h"
#include "params.h"
#include "replicas.h"

static int32_t run(const char *json, int64_t nodes, int64_t cores, unsigned *flags)
{
    struct params p;
    params_init(&p);
    p.mode = PARAMS_LADDER;
    char err[512];
    if (params_parse_ladder(json, strlen(json), &p.ladder, err, sizeof err) != 0)
        fail_msg("%s: %s", json, err);
    struct cluster_summary s = {.total_nodes = nodes + 100, .schedulable_nodes = nodes,
                                .total_cores = cores + 1000, .schedulable_cores = cores};
    struct replica_calc c;
    assert_int_equal(replicas_compute(&p, &s, NULL, &c, err, sizeof err), 0);
    if (flags)
        *flags = c.flags;
    params_release(&p);
    return c.replicas;
}

#define README_LADDER \
    "{\"coresToReplicas\":[[1,1],[64,3],[512,5],[1024,7],[2048,10],[4096,15]],\"nodesToReplicas\":[[1,1],[2,2]]}"

static void test_table(void **state)
{
    (void)state;
    static const struct {
        const char *params;
        int64_t nodes, cores;
        int32_t want;
        const char *why;
    } cases[] = {
        {README_LADDER, 100, 400, 3, "CPA README worked example"},
        {README_LADDER, 1, 1, 1, "first step"},
        {README_LADDER, 2, 63, 2, "nodes dominate"},
        {README_LADDER, 2, 64, 3, "threshold is inclusive"},
        {README_LADDER, 2, 5000, 15, "past the last step"},
        {README_LADDER, 0, 0, 1, "below the first threshold: the first step's replicas"},
        {"{\"nodesToReplicas\":[[0,0],[6,1]]}", 5, 100, 0, "scale-to-zero pattern: 0 below 6 nodes"},
        {"{\"nodesToReplicas\":[[0,0],[6,1]]}", 6, 100, 1, "scale-to-zero pattern: 1 from 6 nodes"},
        {"{\"nodesToReplicas\":[[10,4],[20,8]]}", 3, 0, 4, "below the first threshold (not 0)"},
        {"{\"coresToReplicas\":[[4096,15],[1,1],[64,3]]}", 0, 100, 3, "unsorted input is sorted"},
        {"{\"coresToReplicas\":[[1,1]]}", 50, 0, 1, "empty nodes ladder gives 0, cores ladder's first step wins"},
        {"{\"nodesToReplicas\":[[1,1],[5,2]],\"includeUnschedulableNodes\":true}", 1, 0, 2, "totals when asked (101 nodes)"},
        {"{\"nodesToReplicas\":[[1,3000000000]]}", 1, 0, INT32_MAX, "saturates"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int32_t got = run(cases[i].params, cases[i].nodes, cases[i].cores, NULL);
        if (got != cases[i].want)
            fail_msg("%s (%s, %lld nodes, %lld cores): got %d want %d", cases[i].why, cases[i].params,
                     (long long)cases[i].nodes, (long long)cases[i].cores, got, cases[i].want);
    }
}

static void test_empty_ladder(void **state)
{
    (void)state;
    unsigned flags = 0;
    assert_int_equal(run("{}", 500, 5000, &flags), 0); /* CPA scales to zero, silently */
    assert_true(flags & RC_EMPTY_LADDER);
    assert_int_equal(run("{\"coresToReplicas\":[],\"nodesToReplicas\":null}", 3, 3, &flags), 0);

    /* opt-in: refuse it */
    struct params p;
    params_init(&p);
    p.mode = PARAMS_LADDER;
    struct cluster_summary s = {3, 3, 12, 12, 3};
    struct policy_opts o = {.refuse_empty_ladder = true};
    struct replica_calc c;
    char err[512];
    assert_int_equal(replicas_compute(&p, &s, &o, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "scale the target to 0"));
}

static void test_lookup_direct(void **state)
{
    (void)state;
    struct ladder_step steps[] = {{0, 0}, {6, 1}, {6, 4}, {10, 2}};
    assert_int_equal(ladder_lookup(steps, 4, 5), 0);
    assert_int_equal(ladder_lookup(steps, 4, 6), 4); /* equal thresholds: the last one wins */
    assert_int_equal(ladder_lookup(steps, 4, 9), 4);
    assert_int_equal(ladder_lookup(steps, 4, 10), 2);
    assert_int_equal(ladder_lookup(steps, 4, -1), 0);
    assert_int_equal(ladder_lookup(steps, 0, 100), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_empty_ladder),
        cmocka_unit_test(test_lookup_direct),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
