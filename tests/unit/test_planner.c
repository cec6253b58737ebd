/* The planner: each stage (rule, foreign writer, guard, placement, action) and their order,
 * table-driven where the cases are alike; episodes reported once; leadership changes reset the
 * fight bookkeeping. Rule: linear, one replica per node, so the answers are easy to read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "planner.h"

static struct params linear(const char *json)
{
    struct params p;
    params_init(&p);
    char err[256];
    p.mode = PARAMS_LINEAR;
    if (params_parse_linear(json, strlen(json), &p.linear, err, sizeof err) != 0)
        fail_msg("%s", err);
    return p;
}

static struct cluster_summary nodes(int64_t n, int64_t schedulable)
{
    struct cluster_summary s = {n, schedulable, n * 4, schedulable * 4, schedulable};
    return s;
}

static struct planner_opts opts(bool guard)
{
    struct planner_opts o;
    memset(&o, 0, sizeof o);
    guard_opts_default(&o.guard);
    o.guard.enabled = guard;
    o.guard.stabilize_s = 0;
    o.foreign_writer_backoff_s = 600;
    return o;
}

static struct plan decide(struct planner_target *t, const struct planner_opts *o, const struct params *p,
                          const struct cluster_summary *s, int32_t current, int64_t eligible, bool may_write, double now)
{
    struct planner_input in = {.params = p, .summary = s, .current = current, .eligible = eligible,
                               .may_write = may_write, .now = now};
    struct plan plan;
    char err[256];
    assert_int_equal(planner_decide(t, o, &in, &plan, err, sizeof err), 0);
    return plan;
}

/* Stages 1, 4 and 5 on one decision each: what the plan says for a given input. */
static void test_stages_table(void **state)
{
    (void)state;
    static const struct {
        int64_t nodes, schedulable;
        int32_t current;
        int64_t eligible;
        bool may_write, warn_only;
        enum plan_action action;
        int32_t replicas;
        bool capped;
    } cases[] = {
        {10, 10, 3, -1, true, false, PLAN_SCALE, 10, false},       /* the rule's answer */
        {10, 10, 10, -1, true, false, PLAN_NOTHING, 10, false},    /* already right */
        {10, 8, 3, -1, true, false, PLAN_SCALE, 8, false},         /* cordoned nodes do not count */
        {10, 10, 3, -1, false, false, PLAN_NOT_LEADER, 10, false}, /* right answer, may not write */
        {10, 10, 3, 6, true, false, PLAN_SCALE, 6, true},          /* capped at the eligible nodes */
        {10, 10, 6, 6, true, false, PLAN_NOTHING, 6, true},        /* capped and already there */
        {10, 10, 3, 6, true, true, PLAN_SCALE, 10, true},          /* warn only: reported, not capped */
        {10, 10, 3, 0, true, false, PLAN_SCALE, 10, false},        /* no eligible node: no cap */
        {10, 10, 3, 12, true, false, PLAN_SCALE, 10, false},       /* enough eligible nodes */
    };
    struct params p = linear("{\"nodesPerReplica\":1}");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct planner_target t;
        planner_target_init(&t);
        struct planner_opts o = opts(false);
        o.placement_warn_only = cases[i].warn_only;
        struct cluster_summary s = nodes(cases[i].nodes, cases[i].schedulable);
        struct plan plan = decide(&t, &o, &p, &s, cases[i].current, cases[i].eligible, cases[i].may_write, 0);
        if (plan.action != cases[i].action || plan.replicas != cases[i].replicas || plan.capped != cases[i].capped)
            fail_msg("case %zu: action %s replicas %d capped %d", i, plan_action_name(plan.action), plan.replicas,
                     plan.capped);
        assert_int_equal(t.desired, cases[i].replicas);
        assert_int_equal(plan.calc.replicas, cases[i].schedulable);
        assert_int_equal(plan.cap_started, cases[i].capped);
        if (plan.cap_started)
            assert_non_null(strstr(plan.cap_note, "only 6 schedulable nodes are eligible"));
    }
    params_release(&p);
}

/* A cap episode is reported when it starts, not on every decision. */
static void test_cap_episode_once(void **state)
{
    (void)state;
    struct params p = linear("{\"nodesPerReplica\":1}");
    struct planner_target t;
    planner_target_init(&t);
    struct planner_opts o = opts(false);
    struct cluster_summary s = nodes(10, 10);
    assert_true(decide(&t, &o, &p, &s, 3, 6, true, 0).cap_started);
    struct plan again = decide(&t, &o, &p, &s, 6, 6, true, 1);
    assert_true(again.capped);
    assert_false(again.cap_started);
    assert_true(decide(&t, &o, &p, &s, 6, 20, true, 2).action == PLAN_SCALE); /* enough nodes now */
    assert_false(t.capped);
    assert_true(decide(&t, &o, &p, &s, 10, 6, true, 3).cap_started); /* a new episode */
    params_release(&p);
}

/* Stage 2: three replacements of our value in ten minutes start the back-off; a failover is not
 * a foreign writer; the back-off can be turned off. */
static void test_foreign_writer(void **state)
{
    (void)state;
    struct params p = linear("{\"nodesPerReplica\":1}");
    struct cluster_summary s = nodes(10, 10);
    for (int variant = 0; variant < 3; variant++) {
        struct planner_target t;
        planner_target_init(&t);
        struct planner_opts o = opts(false);
        if (variant == 2)
            o.foreign_writer_backoff_s = 0;
        double now = 0;
        for (int round = 0; round < 3; round++) {
            struct plan plan = decide(&t, &o, &p, &s, 4, -1, true, now);
            if (round == 0 || variant == 1) {
                assert_false(plan.foreign_write); /* nothing written yet, or written in another term */
            } else {
                assert_true(plan.foreign_write);
                assert_int_equal(plan.overwritten, 10);
            }
            if (plan.action == PLAN_SCALE)
                planner_written(&t, plan.replicas);
            if (variant == 1)
                planner_leadership_changed(&t); /* another replica led in between */
            now += 60;
        }
        struct plan plan = decide(&t, &o, &p, &s, 4, -1, true, now);
        if (variant == 0) {
            assert_true(plan.foreign_write);
            assert_true(plan.fight_started);
            assert_non_null(strstr(plan.fight_note, "changed spec.replicas 3 times in 120 s"));
            assert_int_equal(plan.action, PLAN_FIGHT_BACKOFF);
            /* the back-off holds ... then ends */
            assert_int_equal(decide(&t, &o, &p, &s, 4, -1, true, now + 300).action, PLAN_FIGHT_BACKOFF);
            assert_int_equal(decide(&t, &o, &p, &s, 4, -1, true, now + 601).action, PLAN_SCALE);
        } else if (variant == 1) {
            assert_false(plan.foreign_write); /* failovers: never a foreign writer */
            assert_int_equal(plan.action, PLAN_SCALE);
        } else {
            assert_true(plan.foreign_write);
            assert_false(plan.fight_started); /* --foreign-writer-backoff 0 */
            assert_int_equal(plan.action, PLAN_SCALE);
        }
    }
    /* a leadership change also ends a running back-off */
    struct planner_target t;
    planner_target_init(&t);
    t.fighting_until = 1000;
    planner_leadership_changed(&t);
    struct planner_opts o = opts(false);
    assert_int_equal(decide(&t, &o, &p, &s, 4, -1, true, 10).action, PLAN_SCALE);
    params_release(&p);
}

/* Stage order: the guard acts on the rule's answer before placement caps it, and a hold is
 * reported once per episode; the stale-eligible wait comes after the guard and before the cap. */
static void test_order_guard_then_placement(void **state)
{
    (void)state;
    struct params p = linear("{\"nodesPerReplica\":1}");
    struct planner_target t;
    planner_target_init(&t);
    struct planner_opts o = opts(true);
    struct cluster_summary s = nodes(100, 100);
    struct plan plan = decide(&t, &o, &p, &s, 100, 50, true, 0);
    assert_int_equal(plan.guard.verdict, GUARD_PASS);
    assert_int_equal(plan.replicas, 50); /* capped after the guard passed 100 */
    assert_int_equal(plan.action, PLAN_SCALE);
    planner_written(&t, 50);
    /* an outage: 90 of 100 NotReady; the rule says 10, the guard holds at the current 50 */
    s = nodes(100, 10);
    s.ready_nodes = 10;
    plan = decide(&t, &o, &p, &s, 50, 5, true, 60);
    assert_int_equal(plan.guard.verdict, GUARD_HOLD);
    assert_true(plan.hold_started);
    /* the held 50 is then capped by the 5 eligible nodes: placement acts on what the guard let through */
    assert_int_equal(plan.replicas, 5);
    assert_true(plan.capped);
    plan = decide(&t, &o, &p, &s, 50, 5, true, 70);
    assert_int_equal(plan.guard.verdict, GUARD_HOLD);
    assert_false(plan.hold_started); /* once per episode */
    assert_int_equal(t.guard_holds, 2);
    /* while the eligible nodes are recounted, the guard still sees the decision, nothing is planned */
    struct planner_input in = {.params = &p, .summary = &s, .current = 50, .eligible = 5, .eligible_stale = true,
                               .may_write = true, .now = 80};
    char err[256];
    assert_int_equal(planner_decide(&t, &o, &in, &plan, err, sizeof err), 0);
    assert_true(plan.waiting);
    assert_int_equal(plan.action, PLAN_NOTHING);
    assert_int_equal(t.guard_holds, 3);
    params_release(&p);
}

/* A rule error leaves the state as it was and says why. */
static void test_rule_error(void **state)
{
    (void)state;
    struct params p;
    params_init(&p);
    p.mode = PARAMS_LADDER; /* an empty ladder */
    struct planner_target t;
    planner_target_init(&t);
    struct planner_opts o = opts(false);
    o.policy.refuse_empty_ladder = true;
    struct cluster_summary s = nodes(3, 3);
    struct planner_input in = {.params = &p, .summary = &s, .current = 2, .eligible = -1, .may_write = true};
    struct plan plan;
    char err[256] = "";
    assert_int_equal(planner_decide(&t, &o, &in, &plan, err, sizeof err), -1);
    assert_true(err[0] != '\0');
    assert_false(t.decided);
    params_release(&p);
}

/* Vertical: memory = 100Mi + 10Mi per node, threshold 10%. */
static void test_vertical(void **state)
{
    (void)state;
    struct vertical_policy vp;
    vertical_policy_init(&vp);
    vp.threshold_percent = 10;
    vp.n_containers = 1;
    snprintf(vp.containers[0].name, sizeof vp.containers[0].name, "app");
    struct vertical_rule r = {.set = true, .base_milli = INT64_C(100) * 1048576 * 1000,
                              .per_node_nano = INT64_C(10) * 1048576 * 1000000000};
    vp.containers[0].rules[VKIND_REQUESTS][VRES_MEMORY] = r;
    struct planner_vtarget t;
    planner_vtarget_init(&t);
    struct planner_opts o = opts(true);
    struct vertical_values have;
    memset(&have, 0, sizeof have);
    const int64_t mi = INT64_C(1048576) * 1000;
    struct cluster_summary s = nodes(100, 100);
    struct planner_vinput in = {.policy = &vp, .summary = &s, .observed = &have, .may_write = true, .now = 0};
    struct vplan p;
    /* nothing set yet: write 100Mi + 1000Mi */
    planner_decide_vertical(&t, &o, &in, &p);
    assert_int_equal(p.action, PLAN_SCALE);
    assert_true(p.outside);
    assert_int_equal(p.answer.values[0].milli[VKIND_REQUESTS][VRES_MEMORY], 1100 * mi);
    have.have[VKIND_REQUESTS][VRES_MEMORY] = true;
    have.milli[VKIND_REQUESTS][VRES_MEMORY] = 1100 * mi;
    /* 105 nodes: 1150Mi wanted, 1100Mi is within 10%: nothing */
    s = nodes(105, 105);
    in.now = 10;
    planner_decide_vertical(&t, &o, &in, &p);
    assert_int_equal(p.action, PLAN_NOTHING);
    /* 130 nodes: 1400Mi, 1100Mi is 0.78 of it: up */
    s = nodes(130, 130);
    in.now = 20;
    planner_decide_vertical(&t, &o, &in, &p);
    assert_int_equal(p.action, PLAN_SCALE);
    assert_false(p.down);
    have.milli[VKIND_REQUESTS][VRES_MEMORY] = 1400 * mi;
    /* 60% of the nodes gone at once: the guard holds the counts, nothing shrinks */
    s = nodes(52, 52);
    in.now = 30;
    planner_decide_vertical(&t, &o, &in, &p);
    assert_int_equal(p.guard.verdict, GUARD_HOLD);
    assert_true(p.hold_started);
    assert_int_equal(p.nodes, 130);
    assert_int_equal(p.action, PLAN_NOTHING);
    /* not leading: would write, does not */
    struct planner_vtarget t2;
    planner_vtarget_init(&t2);
    s = nodes(10, 10);
    in.may_write = false;
    planner_decide_vertical(&t2, &o, &in, &p);
    assert_int_equal(p.action, PLAN_NOT_LEADER);
    assert_true(p.down); /* 1400Mi where 200Mi will do */
    /* a request above a limit the workload sets and the rule does not size: the API would refuse
     * the patch; nothing is written, and why is said */
    struct planner_vtarget t3;
    planner_vtarget_init(&t3);
    struct vertical_values capped = have;
    capped.have[VKIND_LIMITS][VRES_MEMORY] = true;
    capped.milli[VKIND_LIMITS][VRES_MEMORY] = 1400 * mi;
    s = nodes(200, 200); /* 2100Mi wanted */
    in.may_write = true;
    in.observed = &capped;
    planner_decide_vertical(&t3, &o, &in, &p);
    assert_true(p.outside);
    assert_true(p.invalid);
    assert_int_equal(p.action, PLAN_NOTHING);
    assert_string_equal(p.why, "container app: requests memory=2100Mi would exceed its limit 1400Mi (the "
                               "workload's own): size the limit too, or lower the rule");
    in.observed = &have;
    /* the guard off: the drop is followed at once */
    o.guard.enabled = false;
    in.may_write = true;
    s = nodes(52, 52);
    planner_decide_vertical(&t, &o, &in, &p);
    assert_int_equal(p.action, PLAN_SCALE);
    assert_int_equal(p.answer.values[0].milli[VKIND_REQUESTS][VRES_MEMORY], 620 * mi);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stages_table),
        cmocka_unit_test(test_cap_episode_once),
        cmocka_unit_test(test_foreign_writer),
        cmocka_unit_test(test_order_guard_then_placement),
        cmocka_unit_test(test_rule_error),
        cmocka_unit_test(test_vertical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
