/* sim/serve/ktable: ages exactly as Go's duration.HumanDuration prints them, every resource's
 * rows as wide as its columns, and the cells kubectl shows for a Node, an Event and a Deployment. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ktable.h"

static void test_human_duration(void **state)
{
    (void)state;
    static const struct {
        long long s;
        const char *want;
    } cases[] = {
        {-2, "<invalid>"}, {-1, "0s"}, {0, "0s"}, {119, "119s"}, {120, "2m"}, {150, "2m30s"}, {599, "9m59s"},
        {600, "10m"}, {10799, "179m"}, {10800, "3h"}, {11100, "3h5m"}, {28799, "7h59m"}, {28800, "8h"},
        {172799, "47h"}, {172800, "2d"}, {176400, "2d1h"}, {691199, "7d23h"}, {691200, "8d"},
        {63071999, "729d"}, {63072000, "2y"}, {63158400, "2y1d"}, {252288000, "8y"}, {315360000, "10y"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[32];
        ktable_human_duration(cases[i].s, out, sizeof out);
        assert_string_equal(out, cases[i].want);
    }
}

static void test_wanted(void **state)
{
    (void)state;
    assert_true(ktable_wanted("application/json;as=Table;v=v1;g=meta.k8s.io,application/json"));
    assert_false(ktable_wanted("application/json"));
    assert_false(ktable_wanted(NULL));
}

static cJSON *table_of(const char *resource, const char *json)
{
    cJSON *doc = cJSON_Parse(json);
    assert_non_null(doc);
    cJSON *t = ktable_build(resource, doc, 1767225600); /* 2026-01-01T00:00:00Z */
    cJSON_Delete(doc);
    assert_non_null(t);
    return t;
}

static const char *cell(const cJSON *t, int row, int col)
{
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), row), "cells"), col);
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

static void test_rows_as_wide_as_columns(void **state)
{
    (void)state;
    static const char *const resources[] = {"nodes", "pods", "deployments", "statefulsets", "replicasets", "replicationcontrollers",
                                            "events", "configmaps", "namespaces", "leases", "other"};
    for (size_t i = 0; i < sizeof resources / sizeof resources[0]; i++) {
        cJSON *t = table_of(resources[i], "{\"items\":[{\"metadata\":{\"name\":\"a\"}},{}]}");
        int cols = cJSON_GetArraySize(cJSON_GetObjectItem(t, "columnDefinitions"));
        const cJSON *row;
        cJSON_ArrayForEach(row, cJSON_GetObjectItem(t, "rows")) assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(row, "cells")), cols);
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(t, "rows")), 2);
        cJSON_Delete(t);
    }
}

static void test_cells(void **state)
{
    (void)state;
    cJSON *t = table_of("nodes", "{\"metadata\":{\"name\":\"n1\",\"creationTimestamp\":\"2025-12-31T23:55:00Z\","
                                 "\"labels\":{\"node-role.kubernetes.io/control-plane\":\"\"}},\"spec\":{\"unschedulable\":true},"
                                 "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}],"
                                 "\"nodeInfo\":{\"kubeletVersion\":\"v1.20.2\"}}}");
    assert_string_equal(cell(t, 0, 0), "n1");
    assert_string_equal(cell(t, 0, 1), "NotReady,SchedulingDisabled");
    assert_string_equal(cell(t, 0, 2), "control-plane");
    assert_string_equal(cell(t, 0, 3), "5m");
    assert_string_equal(cell(t, 0, 4), "v1.20.2");
    cJSON_Delete(t);
    t = table_of("events", "{\"items\":[{\"metadata\":{\"name\":\"e\"},\"type\":\"Normal\",\"reason\":\"ScaledUp\","
                           "\"involvedObject\":{\"kind\":\"Deployment\",\"name\":\"coredns\"},\"message\":\"m\","
                           "\"lastTimestamp\":\"2025-12-31T23:59:30Z\",\"count\":3}]}");
    assert_string_equal(cell(t, 0, 0), "30s");
    assert_string_equal(cell(t, 0, 2), "ScaledUp");
    assert_string_equal(cell(t, 0, 3), "deployment/coredns");
    assert_string_equal(cell(t, 0, 6), "m"); /* the wide columns Subobject and Source come before Message */
    cJSON_Delete(t);
    /* kube-apiserver's printEvent for an Event of the new API (what it printed for the same Event):
     * no source -> the reporting controller and instance; no count -> 1; a series -> its count and
     * last observation; no lastTimestamp -> the first; the message trimmed */
    t = table_of("events", "{\"items\":[{\"metadata\":{\"name\":\"e20\"},\"type\":\"Warning\",\"reason\":\"r\","
                           "\"involvedObject\":{\"kind\":\"Node\",\"name\":\"n1\"},\"message\":\" spaced \\n\","
                           "\"eventTime\":\"2025-12-31T23:58:00.000000Z\",\"reportingComponent\":\"c\",\"reportingInstance\":\"i\"},"
                           "{\"metadata\":{\"name\":\"e21\"},\"involvedObject\":{\"kind\":\"Node\"},"
                           "\"eventTime\":\"2025-12-31T23:58:00.000000Z\",\"series\":{\"count\":7,"
                           "\"lastObservedTime\":\"2025-12-31T23:59:50.000000Z\"}}]}");
    static const char *const want[] = {"2m", "Warning", "r", "node/n1", "", "c, i", "spaced", "2m"};
    for (int i = 0; i < 8; i++)
        assert_string_equal(cell(t, 0, i), want[i]);
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), 0), "cells"), 8)->valueint, 1);
    assert_string_equal(cell(t, 0, 9), "e20");
    assert_string_equal(cell(t, 1, 0), "10s");
    assert_string_equal(cell(t, 1, 3), "node");
    assert_int_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(t, "rows"), 1), "cells"), 8)->valueint, 7);
    cJSON_Delete(t);
    t = table_of("deployments", "{\"metadata\":{\"name\":\"d\"},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"a\":\"b\"}},"
                                "\"template\":{\"spec\":{\"containers\":[{\"name\":\"c1\",\"image\":\"i1\"},{\"name\":\"c2\",\"image\":\"i2\"}]}}},"
                                "\"status\":{\"readyReplicas\":2}}");
    assert_string_equal(cell(t, 0, 1), "2/3");
    assert_string_equal(cell(t, 0, 4), "<unknown>");
    assert_string_equal(cell(t, 0, 5), "c1,c2");
    assert_string_equal(cell(t, 0, 7), "a=b");
    cJSON_Delete(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_human_duration),
        cmocka_unit_test(test_wanted),
        cmocka_unit_test(test_rows_as_wide_as_columns),
        cmocka_unit_test(test_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
