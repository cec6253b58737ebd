/* The node-removal rule: exactly half of the high-water mark may go within the window, one more is
 * refused; a mark then a delete counts once; an outage refuses everything; small clusters are not
 * frozen; the window restarts after the settle time or an override; dry runs count nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nodeguard.h"

static enum nodeguard_verdict ask(struct nodeguard_state *g, const struct nodeguard_opts *o, double now, int i,
                                  bool node_override, struct nodeguard_numbers *nums, char *reason, size_t len)
{
    char name[32];
    snprintf(name, sizeof name, "node-%03d", i);
    return nodeguard_decide(g, o, now, name, node_override, true, nums, reason, len);
}

static void test_half_allowed_one_more_refused(void **state)
{
    (void)state;
    struct nodeguard_opts o;
    nodeguard_opts_default(&o);
    struct nodeguard_state g;
    nodeguard_init(&g);
    struct nodeguard_numbers nums;
    char reason[1024];
    nodeguard_observe(&g, &o, 0, 200, 200);
    int64_t nodes = 200;
    for (int i = 0; i < 100; i++) { /* marked, then deleted: each counts once */
        assert_int_equal(ask(&g, &o, 1 + i, i, false, &nums, reason, sizeof reason), NODEGUARD_ALLOW);
        assert_int_equal(ask(&g, &o, 1.5 + i, i, false, &nums, reason, sizeof reason), NODEGUARD_ALLOW);
        char name[32];
        snprintf(name, sizeof name, "node-%03d", i);
        nodeguard_node_gone(&g, &o, 1.6 + i, name);
        nodes--;
        nodeguard_observe(&g, &o, 1.6 + i, nodes, nodes);
    }
    assert_int_equal(nums.removed, 100);
    assert_int_equal(nums.budget, 100);
    assert_int_equal(nums.high_water, 200);
    assert_int_equal(ask(&g, &o, 120, 100, false, &nums, reason, sizeof reason), NODEGUARD_REFUSE);
    assert_non_null(strstr(reason, "refusing to remove node node-100: 100 nodes were removed or marked for removal "
                                   "within 10 min; one more makes 101 of a high-water mark of 200 nodes, past the "
                                   "budget of 100 (50%)"));
    assert_non_null(strstr(reason, "propscaler.io/allow-removal"));
    assert_non_null(strstr(reason, "propscaler.io/guard-override"));
    /* a refusal is not counted: asking again is refused the same way */
    assert_int_equal(ask(&g, &o, 121, 100, false, &nums, reason, sizeof reason), NODEGUARD_REFUSE);
    assert_int_equal(nums.removed, 100);
    /* one deliberate removal: the node's annotation */
    assert_int_equal(ask(&g, &o, 122, 100, true, &nums, reason, sizeof reason), NODEGUARD_ALLOW);
    assert_non_null(strstr(reason, "allowed by the node's propscaler.io/allow-removal annotation"));
    assert_int_equal(nums.removed, 101);
    /* 10 min without removals: the shrink was real, the window restarts from the current count */
    assert_int_equal(ask(&g, &o, 122 + 600, 101, false, &nums, reason, sizeof reason), NODEGUARD_ALLOW);
    assert_int_equal(nums.high_water, 100);
    assert_int_equal(nums.budget, 50);
    assert_int_equal(nums.removed, 1);
    nodeguard_release(&g);
}

static void test_outage_refuses_everything(void **state)
{
    (void)state;
    struct nodeguard_opts o;
    nodeguard_opts_default(&o);
    struct nodeguard_state g;
    nodeguard_init(&g);
    struct nodeguard_numbers nums;
    char reason[1024];
    nodeguard_observe(&g, &o, 0, 200, 80); /* 120 NotReady */
    assert_int_equal(ask(&g, &o, 1, 0, false, &nums, reason, sizeof reason), NODEGUARD_REFUSE);
    assert_non_null(strstr(reason, "120 of 200 nodes (60%) are NotReady at once, more than 50%"));
    assert_int_equal(nums.removed, 0);
    nodeguard_observe(&g, &o, 2, 200, 100); /* exactly half NotReady: not more than half */
    assert_int_equal(ask(&g, &o, 3, 0, false, &nums, reason, sizeof reason), NODEGUARD_ALLOW);
    nodeguard_release(&g);
}

static void test_small_clusters_and_dry_runs(void **state)
{
    (void)state;
    struct nodeguard_opts o;
    nodeguard_opts_default(&o);
    struct nodeguard_state g;
    nodeguard_init(&g);
    struct nodeguard_numbers nums;
    char reason[1024];
    nodeguard_observe(&g, &o, 0, 4, 4);
    /* a dry run is answered and not counted */
    assert_int_equal(nodeguard_decide(&g, &o, 1, "a", false, false, &nums, reason, sizeof reason), NODEGUARD_ALLOW);
    assert_int_equal(nums.removed, 0);
    for (int i = 0; i < 3; i++) /* min_absolute 3: 3 of 4 may go */
        assert_int_equal(ask(&g, &o, 2 + i, i, false, &nums, reason, sizeof reason), NODEGUARD_ALLOW);
    assert_int_equal(ask(&g, &o, 6, 3, false, &nums, reason, sizeof reason), NODEGUARD_REFUSE);
    /* a removed node that comes back no longer counts */
    nodeguard_node_back(&g, "node-001");
    assert_int_equal(ask(&g, &o, 7, 3, false, &nums, reason, sizeof reason), NODEGUARD_ALLOW);
    /* the operator's override restarts the window */
    assert_int_equal(ask(&g, &o, 8, 4, false, &nums, reason, sizeof reason), NODEGUARD_REFUSE);
    nodeguard_override(&g, 9);
    assert_int_equal(ask(&g, &o, 10, 4, false, &nums, reason, sizeof reason), NODEGUARD_ALLOW);
    assert_int_equal(nums.removed, 1);
    nodeguard_release(&g);
}

static void test_window_slides(void **state)
{
    (void)state;
    struct nodeguard_opts o;
    nodeguard_opts_default(&o);
    o.settle_s = 3600; /* only the window forgets here */
    struct nodeguard_state g;
    nodeguard_init(&g);
    struct nodeguard_numbers nums;
    char reason[1024];
    nodeguard_observe(&g, &o, 0, 300, 300);
    /* one removal every 20 s: 31 within any 10 min, of a high-water mark of at least 240 */
    for (int i = 0; i < 90; i++) {
        assert_int_equal(ask(&g, &o, 20.0 * i, i, false, &nums, reason, sizeof reason), NODEGUARD_ALLOW);
        char name[32];
        snprintf(name, sizeof name, "node-%03d", i);
        nodeguard_node_gone(&g, &o, 20.0 * i + 1, name);
        nodeguard_observe(&g, &o, 20.0 * i + 1, 299 - i, 299 - i);
    }
    assert_true(nums.removed <= 31);
    /* but 130 more at once is past half of the high-water mark: the budget runs out */
    int refused = 0, first_refused = -1;
    for (int i = 90; i < 220; i++) {
        if (ask(&g, &o, 1800 + i * 0.1, i, false, &nums, reason, sizeof reason) == NODEGUARD_REFUSE) {
            refused++;
            if (first_refused < 0)
                first_refused = i;
        }
    }
    assert_int_equal(nums.high_water, 238); /* the count in force 10 min ago */
    /* out of budget after ~90 of them; later only as earlier removals leave the window */
    assert_true(first_refused > 150 && first_refused < 190);
    assert_true(refused >= 30);
    assert_true(nums.removed <= nums.budget);
    nodeguard_release(&g);
}

/* removals another replica recorded arrive out of order: counted once, in time order, and the
 * window forgets them by their own time */
static void test_shared_removals(void **state)
{
    (void)state;
    struct nodeguard_opts o;
    nodeguard_opts_default(&o);
    struct nodeguard_state g;
    nodeguard_init(&g);
    struct nodeguard_numbers nums;
    char reason[1024];
    nodeguard_observe(&g, &o, 0, 10, 10);
    nodeguard_note_removal(&g, &o, 100, "c", 90);
    nodeguard_note_removal(&g, &o, 100, "a", 10);
    nodeguard_note_removal(&g, &o, 100, "b", 50);
    nodeguard_note_removal(&g, &o, 100, "a", 95); /* already counted */
    nodeguard_note_removal(&g, &o, 100, "old", -550); /* older than the window */
    const struct nodeguard_removal *list;
    size_t n = nodeguard_removals(&g, &o, 100, &list);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].name, "a");
    assert_string_equal(list[1].name, "b");
    assert_string_equal(list[2].name, "c");
    assert_int_equal(nodeguard_decide(&g, &o, 100, "d", false, true, &nums, reason, sizeof reason), NODEGUARD_ALLOW);
    assert_int_equal(nodeguard_decide(&g, &o, 100, "e", false, true, &nums, reason, sizeof reason), NODEGUARD_ALLOW);
    assert_int_equal(nodeguard_decide(&g, &o, 100, "f", false, true, &nums, reason, sizeof reason), NODEGUARD_REFUSE);
    /* at 615, "a" (10) has left the window: one more may go */
    n = nodeguard_removals(&g, &o, 615, &list);
    assert_int_equal(n, 4);
    assert_int_equal(nodeguard_decide(&g, &o, 615, "f", false, true, &nums, reason, sizeof reason), NODEGUARD_ALLOW);
    nodeguard_release(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_half_allowed_one_more_refused),
        cmocka_unit_test(test_outage_refuses_everything),
        cmocka_unit_test(test_small_clusters_and_dry_runs),
        cmocka_unit_test(test_window_slides),
        cmocka_unit_test(test_shared_removals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
