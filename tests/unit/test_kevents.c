/* sim/serve/kevents: an Event in its two shapes and the real server's Event validation. Every
 * expected value below is what a real kube-apiserver 1.20.2 (tests/kube/build-apiserver.sh)
 * answered to the same request, copied from its answer (managedFields, uid, resourceVersion and
 * creationTimestamp left out of the metadata): the code is held to the server, not to itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kevents.h"

/* The real server's core view and events.k8s.io/v1 view of one Event created through the core
 * API (POST /api/v1/namespaces/kube-system/events, then GET in both groups). */
static const char core_e1[] =
    "{\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"e1\",\"namespace\":\"kube-system\"},"
    "\"involvedObject\":{\"kind\":\"Deployment\",\"namespace\":\"kube-system\",\"name\":\"d\",\"uid\":\"u1\",\"apiVersion\":\"apps/v1\"},"
    "\"reason\":\"ScaledUp\",\"message\":\"m\",\"source\":{\"component\":\"propscaler\",\"host\":\"h\"},"
    "\"firstTimestamp\":\"2026-01-01T00:00:00Z\",\"lastTimestamp\":\"2026-01-01T00:00:05Z\",\"count\":2,\"type\":\"Normal\","
    "\"eventTime\":null,\"reportingComponent\":\"propscaler\",\"reportingInstance\":\"i\"}";
static const char v1_e1[] =
    "{\"kind\":\"Event\",\"apiVersion\":\"events.k8s.io/v1\",\"metadata\":{\"name\":\"e1\",\"namespace\":\"kube-system\"},"
    "\"eventTime\":null,\"reportingController\":\"propscaler\",\"reportingInstance\":\"i\",\"reason\":\"ScaledUp\","
    "\"regarding\":{\"kind\":\"Deployment\",\"namespace\":\"kube-system\",\"name\":\"d\",\"uid\":\"u1\",\"apiVersion\":\"apps/v1\"},"
    "\"note\":\"m\",\"type\":\"Normal\",\"deprecatedSource\":{\"component\":\"propscaler\",\"host\":\"h\"},"
    "\"deprecatedFirstTimestamp\":\"2026-01-01T00:00:00Z\",\"deprecatedLastTimestamp\":\"2026-01-01T00:00:05Z\","
    "\"deprecatedCount\":2}";

/* One created through events.k8s.io/v1: the body sent, and the real server's core view of it. */
static const char v1_body_e2[] =
    "{\"apiVersion\":\"events.k8s.io/v1\",\"kind\":\"Event\",\"metadata\":{\"name\":\"e2\",\"namespace\":\"kube-system\"},"
    "\"eventTime\":\"2026-01-01T00:00:00.000000Z\",\"reportingController\":\"propscaler.io/x\",\"reportingInstance\":\"pod-1\","
    "\"action\":\"Scale\",\"reason\":\"ScaledUp\",\"regarding\":{\"kind\":\"Deployment\",\"name\":\"d\",\"namespace\":\"kube-system\"},"
    "\"note\":\"up\",\"type\":\"Normal\",\"series\":{\"count\":2,\"lastObservedTime\":\"2026-01-01T00:00:01.000000Z\"},"
    "\"unknownField\":1}";
static const char core_e2[] =
    "{\"kind\":\"Event\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"e2\",\"namespace\":\"kube-system\"},"
    "\"involvedObject\":{\"kind\":\"Deployment\",\"namespace\":\"kube-system\",\"name\":\"d\"},\"reason\":\"ScaledUp\",\"message\":\"up\","
    "\"source\":{},\"firstTimestamp\":null,\"lastTimestamp\":null,\"type\":\"Normal\",\"eventTime\":\"2026-01-01T00:00:00.000000Z\","
    "\"series\":{\"count\":2,\"lastObservedTime\":\"2026-01-01T00:00:01.000000Z\"},\"action\":\"Scale\","
    "\"reportingComponent\":\"propscaler.io/x\",\"reportingInstance\":\"pod-1\"}";

/* The keys of an object in order, as one string: Go prints a struct's fields in declaration
 * order, and so must the conversions. */
static void keys_of(const cJSON *o, char *out, size_t n)
{
    out[0] = '\0';
    const cJSON *k;
    cJSON_ArrayForEach(k, o)
    {
        strncat(out, k->string, n - strlen(out) - 2);
        strcat(out, ",");
    }
}

static void assert_converts(cJSON *(*convert)(const cJSON *), const char *from, const char *want_text)
{
    cJSON *in = cJSON_Parse(from), *want = cJSON_Parse(want_text);
    assert_non_null(in);
    assert_non_null(want);
    cJSON *got = convert(in);
    assert_non_null(got);
    if (!cJSON_Compare(got, want, true)) {
        char *g = cJSON_PrintUnformatted(got);
        fail_msg("converted:\n %s\nthe real server:\n %s", g, want_text);
    }
    char got_keys[1024], want_keys[1024];
    keys_of(got, got_keys, sizeof got_keys);
    keys_of(want, want_keys, sizeof want_keys);
    assert_string_equal(got_keys, want_keys);
    cJSON_Delete(in);
    cJSON_Delete(want);
    cJSON_Delete(got);
}

static void test_core_to_v1(void **state)
{
    (void)state;
    assert_converts(kevents_core_to_v1, core_e1, v1_e1);
}

static void test_v1_to_core(void **state)
{
    (void)state;
    /* the unknown field is dropped, as decoding into the typed struct drops it */
    assert_converts(kevents_v1_to_core, v1_body_e2, core_e2);
    /* and the stored core form shows as what the client sent (minus the unknown field) */
    cJSON *body = cJSON_Parse(v1_body_e2), *core = cJSON_Parse(core_e2);
    cJSON_DeleteItemFromObject(body, "unknownField");
    cJSON *view = kevents_core_to_v1(core);
    const char *fields[] = {"eventTime", "series", "reportingController", "reportingInstance", "action", "reason",
                            "regarding", "note", "type"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        assert_true(cJSON_Compare(cJSON_GetObjectItem(view, fields[i]), cJSON_GetObjectItem(body, fields[i]), true));
    cJSON_Delete(view);
    cJSON_Delete(core);
    cJSON_Delete(body);
}

static void assert_invalid(const char *core_json, const char *ns, const char *name, bool strict, int want_errors,
                           const char *want_message)
{
    cJSON *core = cJSON_Parse(core_json);
    assert_non_null(core);
    char msg[2048] = "";
    int n = kevents_validate(core, ns, name, strict, msg, sizeof msg);
    assert_int_equal(n, want_errors);
    if (want_message)
        assert_string_equal(msg, want_message);
    cJSON_Delete(core);
}

#define QUALIFIED                                                                                                      \
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " \
    "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"

static void test_validation_messages(void **state)
{
    (void)state;
    /* events.k8s.io/v1 create of {"metadata":{"name":"e5"},"eventTime":"2026-01-01T00:00:00.000000Z"} */
    assert_invalid("{\"metadata\":{\"name\":\"e5\"},\"eventTime\":\"2026-01-01T00:00:00.000000Z\",\"reportingComponent\":\"\"}",
                   "kube-system", "e5", true, 7,
                   "Event \"e5\" is invalid: [reportingController: Required value, reportingController: Invalid value: \"\": "
                   "name part must be non-empty, reportingController: Invalid value: \"\": name part " QUALIFIED
                   ", reportingInstance: Required value, action: Required value, reason: Required value, type: Invalid "
                   "value: \"\": has invalid value: ]");
    /* events.k8s.io/v1 create with the deprecated fields set and type Bogus (e4) */
    assert_invalid("{\"eventTime\":\"2026-01-01T00:00:00.000000Z\",\"reportingComponent\":\"p\",\"reportingInstance\":\"i\","
                   "\"action\":\"a\",\"reason\":\"r\",\"involvedObject\":{\"namespace\":\"kube-system\"},\"type\":\"Bogus\","
                   "\"count\":3,\"source\":{\"component\":\"x\"},\"firstTimestamp\":\"2026-01-01T00:00:00Z\","
                   "\"lastTimestamp\":\"2026-01-01T00:00:00Z\"}",
                   "kube-system", "e4", true, 5,
                   "Event \"e4\" is invalid: [type: Invalid value: \"\": has invalid value: Bogus, firstTimestamp: Invalid "
                   "value: \"\": needs to be unset, lastTimestamp: Invalid value: \"\": needs to be unset, count: Invalid "
                   "value: \"\": needs to be unset, source: Invalid value: \"\": needs to be unset]");
    /* a series of 1 without lastObservedTime (e8) */
    assert_invalid("{\"eventTime\":\"2026-01-01T00:00:00.000000Z\",\"reportingComponent\":\"c\",\"reportingInstance\":\"i\","
                   "\"action\":\"a\",\"reason\":\"r\",\"type\":\"Warning\",\"series\":{\"count\":1}}",
                   "kube-system", "e8", true, 2,
                   "Event \"e8\" is invalid: [series.count: Invalid value: \"\": should be at least 2, "
                   "series.lastObservedTime: Required value]");
    /* events.k8s.io/v1: an invalid controller name and a note over 1 KiB (e6; an Event about an object
     * in another namespace is accepted once it has an eventTime) */
    char big[1300];
    snprintf(big, sizeof big,
             "{\"eventTime\":\"2026-01-01T00:00:00.000000Z\",\"involvedObject\":{\"namespace\":\"default\"},"
             "\"reportingComponent\":\"Bad Name!\",\"reportingInstance\":\"i\",\"action\":\"a\",\"reason\":\"r\","
             "\"type\":\"Warning\",\"message\":\"%01100d\"}", 0);
    assert_invalid(big, "kube-system", "e6", true, 2,
                   "Event \"e6\" is invalid: [reportingController: Invalid value: \"Bad Name!\": name part " QUALIFIED
                   ", message: Invalid value: \"\": can have at most 1024 characters]");
    /* core API with an eventTime: reportingInstance and action over 128 characters (x2) */
    char longer[800];
    snprintf(longer, sizeof longer,
             "{\"eventTime\":\"2026-01-01T00:00:00.000000Z\",\"reportingComponent\":\"c\",\"reportingInstance\":\"%0130d\","
             "\"action\":\"%0130d\",\"reason\":\"r\",\"involvedObject\":{\"namespace\":\"kube-system\"}}", 0, 0);
    assert_invalid(longer, "kube-system", "x2", false, 2,
                   "Event \"x2\" is invalid: [reportingInstance: Invalid value: \"\": can have at most 128 characters, "
                   "action: Invalid value: \"\": can have at most 128 characters]");
    /* core API, no eventTime: an Event about a Node outside "default" (x3), one error alone */
    assert_invalid("{\"involvedObject\":{\"kind\":\"Node\",\"name\":\"n\"}}", "kube-system", "x3", false, 1,
                   "Event \"x3\" is invalid: involvedObject.namespace: Invalid value: \"\": does not match event.namespace");
    assert_invalid("{\"involvedObject\":{\"kind\":\"Node\",\"name\":\"n\"}}", "default", "x3", false, 0, NULL);
    /* what propscaler writes is valid */
    assert_invalid("{\"involvedObject\":{\"kind\":\"Deployment\",\"name\":\"coredns\",\"namespace\":\"kube-system\"},"
                   "\"reason\":\"ScaledUp\",\"type\":\"Normal\",\"count\":1,\"firstTimestamp\":\"2026-01-01T00:00:00Z\"}",
                   "kube-system", "coredns.1", false, 0, NULL);
    /* a prefixed controller name (the client-go convention) passes; two slashes do not */
    assert_invalid("{\"eventTime\":\"2026-01-01T00:00:00.000000Z\",\"involvedObject\":{\"namespace\":\"kube-system\"},"
                   "\"reportingComponent\":\"propscaler.io/propscaler\",\"reportingInstance\":\"i\",\"action\":\"a\","
                   "\"reason\":\"r\",\"type\":\"Normal\"}",
                   "kube-system", "ok", true, 0, NULL);
    assert_invalid("{\"eventTime\":\"2026-01-01T00:00:00.000000Z\",\"involvedObject\":{\"namespace\":\"kube-system\"},"
                   "\"reportingComponent\":\"a/b/c\",\"reportingInstance\":\"i\",\"action\":\"a\",\"reason\":\"r\","
                   "\"type\":\"Normal\"}",
                   "kube-system", "bad", true, 1, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_core_to_v1),
        cmocka_unit_test(test_v1_to_core),
        cmocka_unit_test(test_validation_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
