/* Node records and the cluster summary, on real Node objects and crafted edge cases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "nodes.h"
#include "quantity.h"
#include "selector.h"

static const char *cluster_files[] = {
    "ci-ln-3z9y7mt-f76d1-69jcr-master-0.json",   "ci-ln-3z9y7mt-f76d1-69jcr-master-1.json",
    "ci-ln-3z9y7mt-f76d1-69jcr-master-2.json",   "ci-ln-3z9y7mt-f76d1-69jcr-worker-b-q6vs9.json",
    "ci-ln-3z9y7mt-f76d1-69jcr-worker-c-h8zcp.json", "ci-ln-3z9y7mt-f76d1-69jcr-worker-d-pbtms.json",
};

static cJSON *load(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/nodes/%s", TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    return j;
}

/* Load the real 6-node OpenShift cluster with the given options. */
static void real_cluster(const struct node_count_opts *o, struct cluster_summary *s)
{
    struct node_set *set = node_set_new();
    for (size_t i = 0; i < 6; i++) {
        cJSON *j = load(cluster_files[i]);
        struct node_obs n;
        char err[256];
        assert_int_equal(node_decode(j, o, &n, err, sizeof err), 0);
        assert_int_equal(node_set_upsert(set, &n), 0);
        cJSON_Delete(j);
    }
    node_set_summary(set, s);
    node_set_free(set);
}

static void test_real_nodes(void **state)
{
    (void)state;
    cJSON *j = load("ci-ln-3z9y7mt-f76d1-69jcr-master-0.json");
    struct node_obs n;
    char err[256];
    assert_int_equal(node_decode(j, NULL, &n, err, sizeof err), 0);
    assert_string_equal(n.name, "ci-ln-3z9y7mt-f76d1-69jcr-master-0");
    assert_true(n.has_cpu && n.cpu_nano == 3500000000);
    assert_true(n.ready && !n.unschedulable && n.schedulable && n.counted);
    cJSON_Delete(j);

    struct cluster_summary s;
    real_cluster(NULL, &s);
    assert_int_equal(s.total_nodes, 6);
    assert_int_equal(s.schedulable_nodes, 6);
    assert_int_equal(s.total_cores, 21); /* 6 x 3500m */

    /* the EKS NodeList items (no kind on items) */
    cJSON *list = load("eks-nodelist.json");
    const cJSON *it;
    int count = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(list, "items"))
    {
        assert_int_equal(node_decode(it, NULL, &n, err, sizeof err), 0);
        assert_true(n.cpu_nano == 7910000000 && n.schedulable);
        count++;
    }
    assert_int_equal(count, 2);
    cJSON_Delete(list);
}

static void test_opt_in_filters_on_real_nodes(void **state)
{
    (void)state;
    struct node_count_opts o;
    struct cluster_summary s;
    char err[256];

    /* ignore the masters' NoSchedule taint */
    node_count_opts_init(&o);
    assert_int_equal(node_count_opts_add_taint(&o, "node-role.kubernetes.io/master:NoSchedule", err, sizeof err), 0);
    real_cluster(&o, &s);
    assert_int_equal(s.total_nodes, 3);
    assert_int_equal(s.total_cores, 11); /* 10.5 rounded up once */
    node_count_opts_release(&o);

    /* a taint with a different effect does not match */
    node_count_opts_init(&o);
    assert_int_equal(node_count_opts_add_taint(&o, "node-role.kubernetes.io/master:NoExecute", err, sizeof err), 0);
    real_cluster(&o, &s);
    assert_int_equal(s.total_nodes, 6);
    node_count_opts_release(&o);

    /* label selector as the API server would apply --nodelabels */
    struct selector *sel;
    assert_int_equal(selector_parse("node-role.kubernetes.io/worker", &sel, err, sizeof err), 0);
    node_count_opts_init(&o);
    o.selector = sel;
    real_cluster(&o, &s);
    assert_int_equal(s.total_nodes, 3);
    selector_free(sel);
    node_count_opts_release(&o);

    /* per-node core cap */
    node_count_opts_init(&o);
    o.max_nano_per_node = 2 * NANO_PER_UNIT;
    real_cluster(&o, &s);
    assert_int_equal(s.total_cores, 12);
    node_count_opts_release(&o);

    node_count_opts_init(&o);
    assert_int_equal(node_count_opts_add_taint(&o, "bad key!", err, sizeof err), -1);
    assert_non_null(strstr(err, "invalid taint"));
    assert_int_equal(node_count_opts_add_taint(&o, "k=v:Sometimes", err, sizeof err), -1);
    assert_non_null(strstr(err, "effect must be"));
    assert_int_equal(node_count_opts_add_taint(&o, "dedicated=dns", err, sizeof err), 0);
    node_count_opts_release(&o);
}

/* A crafted node: cpu (NULL = absent), cordoned, ready condition status (NULL = no condition). */
static cJSON *make_node(const char *name, const char *cpu, int unschedulable, const char *ready)
{
    char text[1024];
    snprintf(text, sizeof text,
             "{\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\"},\"spec\":{%s},\"status\":{%s%s%s%s}}", name,
             unschedulable ? "\"unschedulable\":true" : "",
             cpu ? "\"allocatable\":{\"cpu\":\"" : "", cpu ? cpu : "", cpu ? "\"}" : "",
             ready ? (cpu ? ",\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":\"False\"},{\"type\":\"Ready\",\"status\":\"READY\"}]"
                          : "\"conditions\":[{\"type\":\"Ready\",\"status\":\"READY\"}]")
                   : "");
    char *r = strstr(text, "READY");
    if (r) {
        char tmp[1024];
        snprintf(tmp, sizeof tmp, "%.*s%s%s", (int)(r - text), text, ready, r + 5);
        snprintf(text, sizeof text, "%s", tmp);
    }
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    return j;
}

static void add(struct node_set *set, const char *name, const char *cpu, int cordoned, const char *ready,
                const struct node_count_opts *o)
{
    cJSON *j = make_node(name, cpu, cordoned, ready);
    struct node_obs n;
    char err[256];
    if (node_decode(j, o, &n, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(node_set_upsert(set, &n), 0);
    cJSON_Delete(j);
}

static void test_schedulable_rules(void **state)
{
    (void)state;
    struct node_set *set = node_set_new();
    struct cluster_summary s;
    add(set, "ready", "4", 0, "True", NULL);
    add(set, "cordoned", "4", 1, "True", NULL);
    add(set, "notready", "4", 0, "False", NULL);
    add(set, "unknown", "4", 0, "Unknown", NULL);
    add(set, "nocondition", "4", 0, NULL, NULL);
    add(set, "nocpu", NULL, 0, "True", NULL);
    node_set_summary(set, &s);
    assert_int_equal(s.total_nodes, 6);
    assert_int_equal(s.schedulable_nodes, 2);      /* ready + nocpu */
    assert_int_equal(s.total_cores, 20);
    assert_int_equal(s.schedulable_cores, 4);      /* nocpu adds 0 */
    node_set_free(set);

    /* CPA before 1.10.1: only the cordon counts */
    struct node_count_opts o;
    node_count_opts_init(&o);
    o.legacy_schedulable = true;
    set = node_set_new();
    add(set, "ready", "4", 0, "True", &o);
    add(set, "cordoned", "4", 1, "True", &o);
    add(set, "notready", "4", 0, "False", &o);
    node_set_summary(set, &s);
    assert_int_equal(s.schedulable_nodes, 2);
    assert_int_equal(s.schedulable_cores, 8);
    node_set_free(set);
}

static void test_core_sum_is_exact(void **state)
{
    (void)state;
    struct node_set *set = node_set_new();
    struct cluster_summary s;
    add(set, "a", "1500m", 0, "True", NULL);
    add(set, "b", "1500m", 0, "True", NULL);
    add(set, "c", "1500m", 0, "True", NULL);
    node_set_summary(set, &s);
    assert_int_equal(s.total_cores, 5); /* 4.5 rounded up once, not 2+2+2 */
    node_set_clear(set);
    add(set, "a", "999500u", 0, "True", NULL);
    add(set, "b", "500u", 0, "True", NULL);
    node_set_summary(set, &s);
    assert_int_equal(s.total_cores, 1); /* exactly 1000m: sub-milli parts are not rounded per node */
    node_set_clear(set);
    add(set, "a", "500u", 0, "True", NULL);
    add(set, "b", "500u", 0, "True", NULL);
    add(set, "c", "500u", 0, "True", NULL);
    node_set_summary(set, &s);
    assert_int_equal(s.total_cores, 1);
    node_set_free(set);
}

static void test_decode_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"[]", "expected a JSON object"},
        {"{\"metadata\":{}}", "metadata.name is missing"},
        {"{\"metadata\":{\"name\":7}}", "metadata.name is missing or not a string"},
        {"{\"kind\":\"Pod\",\"metadata\":{\"name\":\"x\"}}", "expected kind Node, got Pod"},
        {"{\"metadata\":{\"name\":\"x\"},\"status\":{\"allocatable\":{\"cpu\":\"abc\"}}}",
         "node x: status.allocatable.cpu: invalid quantity \"abc\""},
        {"{\"metadata\":{\"name\":\"x\"},\"status\":{\"allocatable\":{\"cpu\":true}}}", "must be a quantity string"},
        {"{\"metadata\":{\"name\":\"x\"},\"spec\":{\"unschedulable\":\"yes\"}}", "spec.unschedulable must be true or false"},
        {"{\"metadata\":{\"name\":\"x\"},\"spec\":7}", "spec is not an object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *j = cJSON_Parse(cases[i].json);
        assert_non_null(j);
        struct node_obs n;
        char err[256] = "";
        assert_int_equal(node_decode(j, NULL, &n, err, sizeof err), -1);
        if (!strstr(err, cases[i].msg))
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].json, err, cases[i].msg);
        cJSON_Delete(j);
    }
    /* a bare JSON number is a valid Quantity */
    cJSON *j = cJSON_Parse("{\"metadata\":{\"name\":\"x\"},\"status\":{\"allocatable\":{\"cpu\":2}}}");
    struct node_obs n;
    char err[256];
    assert_int_equal(node_decode(j, NULL, &n, err, sizeof err), 0);
    assert_true(n.cpu_nano == 2 * NANO_PER_UNIT);
    cJSON_Delete(j);
}

/* Random upserts/removes against a plain reference model: exercises growth and
 * backward-shift deletion, and checks the incremental sums after every step. */
static void test_set_against_model(void **state)
{
    (void)state;
    enum { NAMES = 3000, OPS = 60000 };
    static int64_t model_cpu[NAMES];
    static int model_present[NAMES], model_sched[NAMES];
    memset(model_present, 0, sizeof model_present);
    struct node_set *set = node_set_new();
    unsigned seed = 12345;
    for (int op = 0; op < OPS; op++) {
        seed = seed * 1103515245u + 12345u;
        int k = (int)((seed >> 8) % NAMES);
        struct node_obs n;
        memset(&n, 0, sizeof n);
        snprintf(n.name, sizeof n.name, "node-%d", k);
        if ((seed >> 4) % 3 == 0) {
            assert_int_equal(node_set_remove(set, n.name), model_present[k]);
            model_present[k] = 0;
        } else {
            n.counted = true;
            n.has_cpu = true;
            n.cpu_nano = (int64_t)((seed >> 12) % 64000) * 1000000 + 1;
            n.schedulable = (seed >> 20) % 4 != 0;
            assert_int_equal(node_set_upsert(set, &n), 0);
            model_present[k] = 1;
            model_cpu[k] = n.cpu_nano;
            model_sched[k] = n.schedulable;
        }
        if (op % 997 == 0 || op == OPS - 1) {
            int64_t tn = 0, sn = 0, tc = 0, sc = 0;
            for (int i = 0; i < NAMES; i++)
                if (model_present[i]) {
                    tn++;
                    tc += model_cpu[i];
                    if (model_sched[i]) {
                        sn++;
                        sc += model_cpu[i];
                    }
                }
            struct cluster_summary s;
            node_set_summary(set, &s);
            assert_int_equal(s.total_nodes, tn);
            assert_int_equal(s.schedulable_nodes, sn);
            assert_int_equal(s.total_cores, quantity_nano_to_units_ceil(tc));
            assert_int_equal(s.schedulable_cores, quantity_nano_to_units_ceil(sc));
            assert_int_equal(node_set_size(set), (size_t)tn);
        }
    }
    /* uncounted (filtered) nodes leave the set */
    struct node_obs n;
    memset(&n, 0, sizeof n);
    snprintf(n.name, sizeof n.name, "filtered");
    n.counted = true;
    node_set_upsert(set, &n);
    size_t before = node_set_size(set);
    n.counted = false;
    node_set_upsert(set, &n);
    assert_int_equal(node_set_size(set), before - 1);
    node_set_free(set);
}

static void test_memory_per_node(void **state)
{
    (void)state;
    /* A node costs bytes, not kilobytes: 15,000 realistic names. */
    struct node_set *set = node_set_new();
    for (int i = 0; i < 15000; i++) {
        struct node_obs n;
        memset(&n, 0, sizeof n);
        snprintf(n.name, sizeof n.name, "gke-prod-pool-%08x-%04d", (unsigned)i * 2654435761u, i % 10000);
        n.counted = n.has_cpu = n.schedulable = true;
        n.cpu_nano = 3920000000;
        assert_int_equal(node_set_upsert(set, &n), 0);
    }
    size_t per = node_set_memory(set) / node_set_size(set);
    print_message("node set: %zu bytes per node\n", per);
    assert_true(per < 200);
    node_set_free(set);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_nodes),       cmocka_unit_test(test_opt_in_filters_on_real_nodes),
        cmocka_unit_test(test_schedulable_rules), cmocka_unit_test(test_core_sum_is_exact),
        cmocka_unit_test(test_decode_errors),     cmocka_unit_test(test_set_against_model),
        cmocka_unit_test(test_memory_per_node),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
