/* vertical: each format held to the formulas and thresholds its original tool documents. The
 * expected values are worked out by hand from those documents (quoted above each table), never
 * with the code under test:
 *   - CPVA, README "Calculation of resource requests and limits": "Base = 10, Max = 100, Step = 2,
 *     CoresPerStep = 4, NodesPerStep = 2 ... If we find 64 cores and 4 nodes: by-cores:
 *     10 + (2 * (round(64, 4)/4)) = 42, by-nodes: 10 + (2 * (round(4, 2)/2)) = 14 ... the final
 *     value is 42. 3 cores and 3 nodes: by-cores 12, by-nodes 14" (the result is the larger,
 *     "bounded by the max value").
 *   - addon-resizer (nanny/estimator.go): "LinearEstimator estimates the amount of resources as
 *     r = base + extra*nodes", the same value for limits and requests; ExponentialEstimator starts
 *     at 16 nodes (minClusterSize) and multiplies by ScaleFactor (1.5) plus eps = 0.01, floored,
 *     until it reaches the node count: 16, 24, 36, 54, 81, 121, 181, 271, 406.
 *   - addon-resizer (nanny_lib.go checkResource, --threshold "the dependent's resources are
 *     rewritten when they deviate from expected by more than threshold"): q = actual/expected
 *     rounded down to 2 decimals; rewrite when q < (100 - t)/100 (scale up) or q > (100 + t)/100
 *     (scale down); a value present on one side only is rewritten. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vertical.h"

static struct vertical_policy cpva(const char *json)
{
    struct vertical_policy p;
    char err[512];
    if (vertical_from_cpva_text(json, strlen(json), &p, err, sizeof err) != 0)
        fail_msg("%s", err);
    return p;
}

static struct vertical_policy nanny(const char *const *argv)
{
    struct vertical_policy p;
    char err[512];
    int argc = 0;
    while (argv[argc])
        argc++;
    if (vertical_from_addon_resizer(argc, argv, &p, NULL, 0, NULL, 0, err, sizeof err) != 0)
        fail_msg("%s", err);
    return p;
}

static void cpva_readme_example(void **state)
{
    (void)state;
    struct vertical_policy p = cpva("[{\"name\":\"a\",\"requests\":{\"cpu\":{\"base\":\"10m\",\"max\":\"100m\","
                                    "\"step\":\"2m\",\"coresPerStep\":4,\"nodesPerStep\":2}}}]");
    static const struct {
        int64_t nodes, cores, want_milli;
    } cases[] = {
        {4, 64, 42},    /* README: by-cores 42, by-nodes 14 */
        {3, 3, 14},     /* README: by-cores 12, by-nodes 14 */
        {0, 0, 10},     /* base alone */
        {2, 4, 12},     /* one step each */
        {100, 8, 100},  /* by-nodes 10 + 2*50 = 110: bounded by max 100 */
        {1, 400, 100},  /* by-cores 10 + 2*100 = 210: bounded too (CPVA's code would say 210) */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct vertical_answer a;
        vertical_compute(&p, cases[i].nodes, cases[i].cores, &a);
        assert_true(a.values[0].have[VKIND_REQUESTS][VRES_CPU]);
        assert_false(a.values[0].have[VKIND_LIMITS][VRES_CPU]);
        assert_false(a.values[0].have[VKIND_REQUESTS][VRES_MEMORY]);
        if (a.values[0].milli[VKIND_REQUESTS][VRES_CPU] != cases[i].want_milli)
            fail_msg("case %zu: %lld nodes %lld cores: got %lldm, want %lldm", i, (long long)cases[i].nodes,
                     (long long)cases[i].cores, (long long)a.values[0].milli[VKIND_REQUESTS][VRES_CPU],
                     (long long)cases[i].want_milli);
    }
}

static void cpva_readme_config(void **state)
{
    (void)state;
    /* the README's config example, keys in Go's case-insensitive spelling */
    struct vertical_policy p = cpva("[{\"name\":\"containerA\",\"requests\":{\"cpu\":{\"base\":\"10m\",\"step\":\"1m\","
                                    "\"coresPerStep\":1},\"memory\":{\"base\":\"8Mi\",\"step\":\"1Mi\",\"coresPerStep\":1}}},"
                                    "{\"NAME\":\"containerB\",\"Requests\":{\"cpu\":{\"Base\":\"250m\",\"STEP\":\"100m\","
                                    "\"CoresPerStep\":10}}}]");
    assert_int_equal(p.n_containers, 2);
    struct vertical_answer a;
    vertical_compute(&p, 5, 25, &a);
    /* A: cpu 10m + 1m * 25 = 35m; memory 8Mi + 1Mi * 25 = 33Mi. B: 250m + 100m * ceil(25/10) = 550m */
    assert_int_equal(a.values[0].milli[VKIND_REQUESTS][VRES_CPU], 35);
    assert_int_equal(a.values[0].milli[VKIND_REQUESTS][VRES_MEMORY], INT64_C(33) * 1048576 * 1000);
    assert_int_equal(a.values[1].milli[VKIND_REQUESTS][VRES_CPU], 550);
    char q[32];
    vertical_format(VRES_MEMORY, a.values[0].milli[VKIND_REQUESTS][VRES_MEMORY], q, sizeof q);
    assert_string_equal(q, "33Mi");
}

static void nanny_linear(void **state)
{
    (void)state;
    static const char *const argv[] = {"--cpu=80m", "--extra-cpu=0.5m", "--memory=140Mi", "--extra-memory=4Mi",
                                       "--threshold", "5", "--container=heapster", "--poll-period=10000", NULL};
    struct vertical_policy p = nanny(argv);
    assert_int_equal(p.threshold_percent, 5);
    static const struct {
        int64_t nodes, cpu_milli, mem_mi;
    } cases[] = {
        {1, 81, 144},    /* 80m + 0.5m -> 80.5m, rounded up to a millicore; 140Mi + 4Mi */
        {2, 81, 148},    /* 80m + 1m */
        {3, 82, 152},    /* 81.5m -> 82m */
        {100, 130, 540}, /* 80m + 50m; 140Mi + 400Mi */
        {0, 80, 140},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct vertical_answer a;
        vertical_compute(&p, cases[i].nodes, 999, &a);
        for (int k = 0; k < VKIND_COUNT; k++) { /* requests and limits alike */
            assert_int_equal(a.values[0].milli[k][VRES_CPU], cases[i].cpu_milli);
            assert_int_equal(a.values[0].milli[k][VRES_MEMORY], cases[i].mem_mi * 1048576 * 1000);
            assert_false(a.values[0].have[k][VRES_EPHEMERAL_STORAGE]);
        }
    }
}

static void nanny_exponential(void **state)
{
    (void)state;
    static const char *const argv[] = {"--memory=100Mi", "--extra-memory=1Mi", "--estimator=exponential",
                                       "--container=x", NULL};
    struct vertical_policy p = nanny(argv);
    static const struct {
        int64_t nodes, sized_for;
    } cases[] = {{0, 16}, {1, 16}, {16, 16}, {17, 24}, {24, 24}, {25, 36}, {37, 54}, {55, 81},
                 {82, 121}, {122, 181}, {182, 271}, {272, 406}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(vertical_estimate_nodes(&p, cases[i].nodes), cases[i].sized_for);
        struct vertical_answer a;
        vertical_compute(&p, cases[i].nodes, 0, &a);
        assert_int_equal(a.values[0].milli[VKIND_LIMITS][VRES_MEMORY], (100 + cases[i].sized_for) * 1048576 * 1000);
    }
    static const char *const argv2[] = {"--memory=100Mi", "--estimator=exponential", "--minClusterSize=5",
                                        "--container=x", NULL};
    p = nanny(argv2);
    /* estimator.go's comment: "the cluster has 9 nodes, MinClusterSize is 5, and ScaleFactor is 1.5.
     * Then the estimator will provide estimates for FLOOR(5 * 1.5 * 1.5) = 11 nodes". Its loop
     * floors at every step, though (n = uint64(float64(n)*e.ScaleFactor + eps)): 5 -> 7 -> 10. What
     * runs is the loop: 10. */
    assert_int_equal(vertical_estimate_nodes(&p, 9), 10);
}

static struct vertical_values one(enum vertical_kind k, enum vertical_resource r, int64_t milli)
{
    struct vertical_values v;
    memset(&v, 0, sizeof v);
    v.have[k][r] = true;
    v.milli[k][r] = milli;
    return v;
}

static void nanny_threshold(void **state)
{
    (void)state;
    struct vertical_policy p;
    vertical_policy_init(&p);
    p.threshold_percent = 10;
    struct vertical_values want = one(VKIND_REQUESTS, VRES_CPU, 100);
    static const struct {
        int64_t have;
        bool rewrite, down;
    } cases[] = {
        {100, false, false}, {90, false, false},  /* q = 0.90: not below 0.90 */
        {89, true, false},                        /* 0.89 < 0.90: scale up */
        {110, false, false},                      /* 1.10: not above 1.10 */
        {111, true, true},                        /* 1.11 > 1.10: scale down */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct vertical_values have = one(VKIND_REQUESTS, VRES_CPU, cases[i].have);
        bool down;
        char why[200];
        assert_int_equal(vertical_needs_rewrite(&p, &want, &have, &down, why, sizeof why), cases[i].rewrite);
        if (cases[i].rewrite)
            assert_int_equal(down, cases[i].down);
    }
    /* rounded down to 2 decimals: 1000m expected, 1109m is q = 1.10 (accepted), 1110m too, 1111m not... */
    want = one(VKIND_REQUESTS, VRES_CPU, 1000);
    struct vertical_values have = one(VKIND_REQUESTS, VRES_CPU, 1109);
    bool down;
    assert_false(vertical_needs_rewrite(&p, &want, &have, &down, NULL, 0));
    have = one(VKIND_REQUESTS, VRES_CPU, 1119); /* q = 1.11 */
    assert_true(vertical_needs_rewrite(&p, &want, &have, &down, NULL, 0));
    have = one(VKIND_REQUESTS, VRES_CPU, 891);  /* q = 0.89 */
    assert_true(vertical_needs_rewrite(&p, &want, &have, &down, NULL, 0));
    assert_false(down);
    /* missing on the workload: rewrite; a value propscaler does not manage: not compared */
    have = one(VKIND_LIMITS, VRES_CPU, 1000);
    char why[200];
    assert_true(vertical_needs_rewrite(&p, &want, &have, &down, why, sizeof why));
    assert_string_equal(why, "requests cpu is not set (want 1)");
    have = one(VKIND_REQUESTS, VRES_CPU, 1000);
    have.have[VKIND_REQUESTS][VRES_MEMORY] = true;
    have.milli[VKIND_REQUESTS][VRES_MEMORY] = 5;
    assert_false(vertical_needs_rewrite(&p, &want, &have, &down, NULL, 0));
    /* threshold 0: only exact (to 2 decimals) values stand */
    p.threshold_percent = 0;
    have = one(VKIND_REQUESTS, VRES_CPU, 1009);
    assert_false(vertical_needs_rewrite(&p, &want, &have, &down, NULL, 0));
    have = one(VKIND_REQUESTS, VRES_CPU, 999);
    assert_true(vertical_needs_rewrite(&p, &want, &have, &down, why, sizeof why));
    assert_string_equal(why, "requests cpu is 999m, want 1 (outside the 0% threshold)");
}

static void formats(void **state)
{
    (void)state;
    static const struct {
        enum vertical_resource r;
        int64_t milli;
        const char *text;
    } cases[] = {
        {VRES_CPU, 250, "250m"}, {VRES_CPU, 2000, "2"}, {VRES_CPU, 0, "0"},
        {VRES_MEMORY, INT64_C(64) * 1048576 * 1000, "64Mi"}, {VRES_MEMORY, INT64_C(1536) * 1048576 * 1000, "1536Mi"},
        {VRES_MEMORY, INT64_C(2) * 1073741824 * 1000, "2Gi"}, {VRES_MEMORY, INT64_C(1000) * 1000, "1000"},
        {VRES_MEMORY, 1, "1"}, /* a milli-byte is a whole byte, rounded up */
        {VRES_EPHEMERAL_STORAGE, INT64_C(3) * 1024 * 1000, "3Ki"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char q[32];
        vertical_format(cases[i].r, cases[i].milli, q, sizeof q);
        assert_string_equal(q, cases[i].text);
    }
}

static void errors_name_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *json, *err;
    } cpva_cases[] = {
        {"{}", "cpva: expected a list of containers"},
        {"[]", "cpva: no containers: name at least one"},
        {"[{\"requests\":{\"cpu\":{\"base\":\"1\"}}}]", "cpva[0].name: missing: which container of the pod template to size"},
        {"[{\"name\":\"a\",\"requests\":{\"cpu\":{\"base\":\"1x\"}}}]",
         "cpva[0].requests.cpu.base: invalid quantity \"1x\": unknown suffix; expected one of n u m k M G T P E Ki Mi Gi Ti Pi Ei or an exponent like e3"},
        {"[{\"name\":\"a\",\"requests\":{\"cpu\":{\"bsae\":\"1\"}}}]",
         "cpva[0].requests.cpu.bsae: unknown key (known: base, max, step, coresPerStep, nodesPerStep)"},
        {"[{\"name\":\"a\",\"requests\":{\"gpu\":{\"base\":\"1\"}}}]",
         "cpva[0].requests.gpu: unknown resource (propscaler sizes cpu, memory and ephemeral-storage)"},
        {"[{\"name\":\"a\",\"requests\":{\"cpu\":{\"nodesPerStep\":1.5}}}]",
         "cpva[0].requests.cpu.nodesPerStep: expected a whole number of 0 or more"},
        {"[{\"name\":\"a\",\"requests\":{\"cpu\":{\"base\":\"-1\"}}}]", "cpva[0].requests.cpu.base: must not be negative (\"-1\")"},
        {"[{\"name\":\"a\",\"limits\":{}}]", "cpva[0]: sizes nothing: give requests and/or limits"},
        {"[{\"name\":\"a\",\"requests\":{\"cpu\":{}}},{\"name\":\"a\",\"requests\":{\"cpu\":{}}}]",
         "cpva[1].name: container \"a\" is listed twice"},
    };
    for (size_t i = 0; i < sizeof cpva_cases / sizeof cpva_cases[0]; i++) {
        struct vertical_policy p;
        char err[512];
        assert_int_equal(vertical_from_cpva_text(cpva_cases[i].json, strlen(cpva_cases[i].json), &p, err, sizeof err), -1);
        if (strstr(err, cpva_cases[i].err) != err && strcmp(err, cpva_cases[i].err) != 0)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cpva_cases[i].err);
    }
    static const struct {
        const char *argv[4];
        const char *err;
    } nanny_cases[] = {
        {{"--cpu=1", NULL}, "addon-resizer flags: --container is required"},
        {{"--container=a", NULL}, "addon-resizer flags: none of --cpu, --memory, --storage is given: nothing to size"},
        {{"--cpu=1", "--container=a", "--threshold=101", NULL},
         "addon-resizer flag --threshold=101: must be between 0 and 100 inclusive"},
        {{"--cpu=1", "--container=a", "--estimator=log", NULL},
         "addon-resizer flag --estimator=log: not supported (linear or exponential)"},
        {{"--cpu=1", "--container=a", "--minClusterSize=1", NULL},
         "addon-resizer flag --minClusterSize=1: must be greater than 1"},
        {{"--cpu=1", "--container=a", "--extra-cpus=1", NULL}, "addon-resizer flag --extra-cpus: unknown"},
        {{"--cpu=lots", "--container=a", NULL}, "addon-resizer flag --cpu: invalid quantity \"lots\""},
        {{"--cpu", NULL}, "addon-resizer flag --cpu: needs a value"},
    };
    for (size_t i = 0; i < sizeof nanny_cases / sizeof nanny_cases[0]; i++) {
        int argc = 0;
        while (nanny_cases[i].argv[argc])
            argc++;
        struct vertical_policy p;
        char err[512];
        assert_int_equal(vertical_from_addon_resizer(argc, nanny_cases[i].argv, &p, NULL, 0, NULL, 0, err, sizeof err), -1);
        if (strncmp(err, nanny_cases[i].err, strlen(nanny_cases[i].err)) != 0)
            fail_msg("case %zu: got \"%s\", want it to start \"%s\"", i, err, nanny_cases[i].err);
    }
}

static void observed_and_patch(void **state)
{
    (void)state;
    struct vertical_policy p = cpva("[{\"name\":\"ms\",\"requests\":{\"cpu\":{\"base\":\"40m\"},\"memory\":{\"base\":\"40Mi\"}},"
                                    "\"limits\":{\"memory\":{\"base\":\"100Mi\"}}}]");
    struct vertical_answer a;
    vertical_compute(&p, 3, 12, &a);
    char *patch = vertical_patch_json(&p, &a, NULL);
    assert_non_null(patch);
    assert_string_equal(patch, "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"ms\",\"resources\":"
                               "{\"requests\":{\"cpu\":\"40m\",\"memory\":\"40Mi\"},\"limits\":{\"memory\":\"100Mi\"}}}]}}}}");
    free(patch);
    patch = vertical_patch_json(&p, &a, "42"); /* the resourceVersion precondition comes first */
    assert_non_null(patch);
    assert_non_null(strstr(patch, "{\"metadata\":{\"resourceVersion\":\"42\"},\"spec\":{\"template\""));
    free(patch);
    /* what a workload has, as the API prints it (41943040 = 40Mi; 0.04 = 40m) */
    cJSON *res = cJSON_Parse("{\"requests\":{\"cpu\":\"0.04\",\"memory\":\"41943040\",\"nvidia.com/gpu\":\"1\"},"
                             "\"limits\":{\"memory\":\"100Mi\"}}");
    struct vertical_values have;
    char err[256];
    assert_int_equal(vertical_values_from_json(res, &have, err, sizeof err), 0);
    bool down;
    assert_false(vertical_needs_rewrite(&p, &a.values[0], &have, &down, NULL, 0));
    cJSON_Delete(res);
    res = cJSON_Parse("{\"requests\":{\"cpu\":\"forty\"}}");
    assert_int_equal(vertical_values_from_json(res, &have, err, sizeof err), -1);
    assert_non_null(strstr(err, "resources.requests.cpu"));
    cJSON_Delete(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpva_readme_example), cmocka_unit_test(cpva_readme_config),
        cmocka_unit_test(nanny_linear),        cmocka_unit_test(nanny_exponential),
        cmocka_unit_test(nanny_threshold),     cmocka_unit_test(formats),
        cmocka_unit_test(errors_name_the_field), cmocka_unit_test(observed_and_patch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
