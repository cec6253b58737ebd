/* CPA's ConfigMap rules and params parsing, rule by rule from CPA-COMPAT.md: every error
 * message word for word, Go encoding/json leniency and strictness, ladder entry shapes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "params.h"

#define WRAP_LINEAR "Error syncing configMap with controller: error parsing linear params: "
#define WRAP_LADDER "Error syncing configMap with controller: error parsing ladder params: "

static int from_one(const char *key, const char *value, struct params *p, char *err, size_t errlen)
{
    struct cm_data d;
    cm_data_init(&d);
    assert_int_equal(cm_data_set(&d, key, value, strlen(value)), 0);
    int rc = params_from_configmap(&d, p, err, errlen);
    cm_data_release(&d);
    return rc;
}

static void expect_error(const char *key, const char *value, const char *want)
{
    struct params p;
    params_init(&p);
    char err[2048] = "";
    if (from_one(key, value, &p, err, sizeof err) == 0)
        fail_msg("%s=%s: accepted, want error \"%s\"", key, value, want);
    if (strcmp(err, want) != 0)
        fail_msg("%s=%s:\n got  \"%s\"\n want \"%s\"", key, value, err, want);
    assert_int_equal(p.mode, PARAMS_NONE); /* untouched on error */
    params_release(&p);
}

static void test_configmap_shape(void **state)
{
    (void)state;
    struct cm_data d;
    struct params p;
    char err[512];
    cm_data_init(&d);
    params_init(&p);
    assert_int_equal(params_from_configmap(&d, &p, err, sizeof err), -1);
    assert_string_equal(err, "invalid configMap format, expected only one entry, got: map[]");
    cm_data_set(&d, "linear", "{\"nodesPerReplica\":1}", 21);
    cm_data_set(&d, "ladder", "{}", 2);
    assert_int_equal(params_from_configmap(&d, &p, err, sizeof err), -1);
    /* Go prints maps with sorted keys */
    assert_string_equal(err, "invalid configMap format, expected only one entry, got: "
                             "map[ladder:{} linear:{\"nodesPerReplica\":1}]");
    cm_data_release(&d);
    expect_error("Linear", "{}", "not a supported control mode: Linear");
    expect_error("LADDER", "{}", "not a supported control mode: LADDER");
    expect_error("linear ", "{}", "not a supported control mode: linear ");
    params_release(&p);
}

static void test_linear_syntax_errors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *msg;
    } cases[] = {
        {"", "unexpected end of JSON input"},
        {"   ", "unexpected end of JSON input"},
        {"{", "unexpected end of JSON input"},
        {"{\"min\":1", "unexpected end of JSON input"},
        {"{\"min\":1,}", "invalid character '}' looking for beginning of object key string"},
        {"{\"min\":1}x", "invalid character 'x' after top-level value"},
        {"{\"min\":1}{}", "invalid character '{' after top-level value"},
        {"{\"min\":01}", "invalid character '1' after object key:value pair"},
        {"{\"min\" 1}", "invalid character '1' after object key"},
        {"{\"min\":+1}", "invalid character '+' looking for beginning of value"},
        {"{\"min\":1.}", "invalid character '}' after decimal point in numeric literal"},
        {"{\"min\":.5}", "invalid character '.' looking for beginning of value"},
        {"{\"min\":-}", "invalid character '}' in numeric literal"},
        {"{\"min\":1e}", "invalid character '}' in exponent of numeric literal"},
        {"{\"min\":1e+}", "invalid character '}' in exponent of numeric literal"},
        {"{\"min\":tru}", "invalid character '}' in literal true (expecting 'e')"},
        {"{\"min\":fals}", "invalid character '}' in literal false (expecting 'e')"},
        {"{\"min\":nul}", "invalid character '}' in literal null (expecting 'l')"},
        {"{\"min\":nan}", "invalid character 'a' in literal null (expecting 'u')"},
        {"{\"min\":NaN}", "invalid character 'N' looking for beginning of value"},
        {"{\"min\":Infinity}", "invalid character 'I' looking for beginning of value"},
        {"{\"a\":\"\\x\"}", "invalid character 'x' in string escape code"},
        {"{\"a\":\"\\u12g4\"}", "invalid character 'g' in \\u hexadecimal character escape"},
        {"{\"a\":\"line\nbreak\"}", "invalid character '\\n' in string literal"},
        {"{\"a\":\"tab\there\"}", "invalid character '\\t' in string literal"},
        {"{'min':1}", "invalid character '\\'' looking for beginning of object key string"},
        {"{min:1}", "invalid character 'm' looking for beginning of object key string"},
        {"{\"a\":1 \"b\":2}", "invalid character '\"' after object key:value pair"},
        {"[1,]", "invalid character ']' looking for beginning of value"},
        {"[1 2]", "invalid character '2' after array element"},
        {"-", "invalid character ' ' in numeric literal"},
        {"1.", "invalid character ' ' after decimal point in numeric literal"},
        {"tru", "invalid character ' ' in literal true (expecting 'e')"},
        {"\"abc", "unexpected end of JSON input"},
        {"\xef\xbb\xbf{}", "invalid character '\xc3\xaf' looking for beginning of value"}, /* BOM */
        {"{\"a\":1}\x01", "invalid character '\\x01' after top-level value"},
        {"{\"a\":\\}", "invalid character '\\\\' looking for beginning of value"},
        {"\x80", "invalid character '\\u0080' looking for beginning of value"},
        {"// comment\n{}", "invalid character '/' looking for beginning of value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[512];
        snprintf(want, sizeof want, WRAP_LINEAR "could not parse parameters (%s)", cases[i].msg);
        expect_error("linear", cases[i].in, want);
    }
}

static void test_linear_type_errors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *msg;
    } cases[] = {
        {"{\"min\":1.5}", "json: cannot unmarshal number 1.5 into Go struct field linearParams.min of type int"},
        {"{\"min\":1e2}", "json: cannot unmarshal number 1e2 into Go struct field linearParams.min of type int"},
        {"{\"min\":1.0}", "json: cannot unmarshal number 1.0 into Go struct field linearParams.min of type int"},
        {"{\"max\":99999999999999999999}",
         "json: cannot unmarshal number 99999999999999999999 into Go struct field linearParams.max of type int"},
        {"{\"min\":\"1\"}", "json: cannot unmarshal string into Go struct field linearParams.min of type int"},
        {"{\"MIN\":true}", "json: cannot unmarshal bool into Go struct field linearParams.min of type int"},
        {"{\"coresPerReplica\":\"2\"}",
         "json: cannot unmarshal string into Go struct field linearParams.coresPerReplica of type float64"},
        {"{\"coresPerReplica\":1e400}",
         "json: cannot unmarshal number 1e400 into Go struct field linearParams.coresPerReplica of type float64"},
        {"{\"coresPerReplica\":{\"a\":1}}",
         "json: cannot unmarshal object into Go struct field linearParams.coresPerReplica of type float64"},
        {"{\"nodesPerReplica\":[1]}",
         "json: cannot unmarshal array into Go struct field linearParams.nodesPerReplica of type float64"},
        {"{\"preventSinglePointFailure\":1}",
         "json: cannot unmarshal number into Go struct field linearParams.preventSinglePointFailure of type bool"},
        {"{\"includeUnschedulableNodes\":\"true\"}",
         "json: cannot unmarshal string into Go struct field linearParams.includeUnschedulableNodes of type bool"},
        {"[]", "json: cannot unmarshal array into Go value of type linearcontroller.linearParams"},
        {"\"x\"", "json: cannot unmarshal string into Go value of type linearcontroller.linearParams"},
        {"12", "json: cannot unmarshal number into Go value of type linearcontroller.linearParams"},
        {"true", "json: cannot unmarshal bool into Go value of type linearcontroller.linearParams"},
        /* the first type error is the one reported, even when later fields are fine */
        {"{\"min\":\"a\",\"max\":\"b\",\"nodesPerReplica\":1}",
         "json: cannot unmarshal string into Go struct field linearParams.min of type int"},
        /* a duplicate key that is later valid still fails, as in Go */
        {"{\"min\":\"a\",\"min\":2,\"nodesPerReplica\":1}",
         "json: cannot unmarshal string into Go struct field linearParams.min of type int"},
        /* the error names the field, not the spelling used */
        {"{\"NODESperREPLICA\":\"1\"}",
         "json: cannot unmarshal string into Go struct field linearParams.nodesPerReplica of type float64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[512];
        snprintf(want, sizeof want, WRAP_LINEAR "could not parse parameters (%s)", cases[i].msg);
        expect_error("linear", cases[i].in, want);
    }
    /* a syntax error anywhere wins over an earlier type error (Go validates first) */
    expect_error("linear", "{\"min\":\"a\",}",
                 WRAP_LINEAR "could not parse parameters (invalid character '}' looking for beginning of object key string)");
}

static void test_linear_validation(void **state)
{
    (void)state;
    expect_error("linear", "{\"min\":-1,\"nodesPerReplica\":1}", WRAP_LINEAR "invalid negative value for min: -1");
    expect_error("linear", "{\"min\":-1}", WRAP_LINEAR "invalid negative value for min: -1"); /* min checked first */
    expect_error("linear", "{\"min\":3,\"max\":2,\"nodesPerReplica\":1}",
                 WRAP_LINEAR "max replicas count 2 should be greater than / equal to min replicas count 3");
    expect_error("linear", "{\"max\":-1,\"nodesPerReplica\":1}",
                 WRAP_LINEAR "max replicas count -1 should be greater than / equal to min replicas count 1");
    expect_error("linear", "{\"min\":2,\"max\":1}",
                 WRAP_LINEAR "max replicas count 1 should be greater than / equal to min replicas count 2");
    expect_error("linear", "{}", WRAP_LINEAR "should at least provide either CoresPerReplica or NodesPerReplica (Greater than 0)");
    expect_error("linear", "null", WRAP_LINEAR "should at least provide either CoresPerReplica or NodesPerReplica (Greater than 0)");
    expect_error("linear", "{\"coresPerReplica\":0,\"nodesPerReplica\":0,\"min\":2}",
                 WRAP_LINEAR "should at least provide either CoresPerReplica or NodesPerReplica (Greater than 0)");
    expect_error("linear", "{\"coresPerReplica\":-1.5}", WRAP_LINEAR "invalid negative value for coresPerReplica: -1.5");
    expect_error("linear", "{\"coresPerReplica\":-2,\"nodesPerReplica\":-3}",
                 WRAP_LINEAR "invalid negative value for coresPerReplica: -2");
    expect_error("linear", "{\"nodesPerReplica\":-2,\"coresPerReplica\":1}",
                 WRAP_LINEAR "invalid negative value for nodesPerReplica: -2");
    /* Go's %v of a float64 */
    expect_error("linear", "{\"coresPerReplica\":-1e-7}", WRAP_LINEAR "invalid negative value for coresPerReplica: -1e-07");
    expect_error("linear", "{\"coresPerReplica\":-1234567}", WRAP_LINEAR "invalid negative value for coresPerReplica: -1.234567e+06");
    expect_error("linear", "{\"coresPerReplica\":-123456}", WRAP_LINEAR "invalid negative value for coresPerReplica: -123456");
    expect_error("linear", "{\"coresPerReplica\":-0.0001}", WRAP_LINEAR "invalid negative value for coresPerReplica: -0.0001");
    expect_error("linear", "{\"coresPerReplica\":-0.00001}", WRAP_LINEAR "invalid negative value for coresPerReplica: -1e-05");
    expect_error("linear", "{\"coresPerReplica\":-0.1}", WRAP_LINEAR "invalid negative value for coresPerReplica: -0.1");
    expect_error("linear", "{\"nodesPerReplica\":-1e300}", WRAP_LINEAR "invalid negative value for nodesPerReplica: -1e+300");
}

static struct linear_params linear_ok(const char *value)
{
    struct params p;
    params_init(&p);
    char err[1024] = "";
    if (from_one("linear", value, &p, err, sizeof err) != 0)
        fail_msg("linear=%s: %s", value, err);
    assert_int_equal(p.mode, PARAMS_LINEAR);
    struct linear_params l = p.linear;
    params_release(&p);
    return l;
}

static void test_linear_go_leniency(void **state)
{
    (void)state;
    struct linear_params l;
    l = linear_ok("{\"coresPerReplica\":256,\"nodesPerReplica\":16,\"preventSinglePointFailure\":true}");
    assert_true(l.cores_per_replica == 256 && l.nodes_per_replica == 16 && l.prevent_single_point_failure);
    assert_int_equal(l.min, 1); /* 0 becomes 1 */
    assert_int_equal(l.max, 0);
    assert_false(l.include_unschedulable_nodes);
    /* keys match case-insensitively, including Unicode simple folding (U+017F long s) */
    l = linear_ok("{\"CORESPERREPLICA\":2,\"NodesPerReplica\":1,\"MiN\":2,\"mAx\":9,\"INCLUDEUNSCHEDULABLENODES\":true}");
    assert_true(l.cores_per_replica == 2 && l.nodes_per_replica == 1 && l.min == 2 && l.max == 9);
    assert_true(l.include_unschedulable_nodes);
    l = linear_ok("{\"core\\u017fPerReplica\":3}");
    assert_true(l.cores_per_replica == 3);
    l = linear_ok("{\"core\xc5\xbfPerReplica\":4}");
    assert_true(l.cores_per_replica == 4);
    /* duplicates: last wins; null leaves the previous value */
    l = linear_ok("{\"min\":1,\"min\":3,\"nodesPerReplica\":1}");
    assert_int_equal(l.min, 3);
    l = linear_ok("{\"min\":5,\"min\":null,\"nodesPerReplica\":1,\"max\":null}");
    assert_int_equal(l.min, 5);
    assert_int_equal(l.max, 0);
    /* unknown keys are ignored whatever their type */
    l = linear_ok("{\"foo\":[1,{\"x\":\"y\"}],\"bar\":\"x\",\"nodesPerReplica\":1,\"coresToReplicas\":[[1,1]]}");
    assert_true(l.nodes_per_replica == 1);
    /* floats take exponents; ints take -0 */
    l = linear_ok("{\"nodesPerReplica\":1e2,\"coresPerReplica\":2.5E-1,\"min\":-0}");
    assert_true(l.nodes_per_replica == 100 && l.cores_per_replica == 0.25 && l.min == 1);
    l = linear_ok(" \t\r\n{ \"nodesPerReplica\" : 0.7 } \n");
    assert_true(l.nodes_per_replica == 0.7);
    /* a max of 0 means unbounded, even below min */
    l = linear_ok("{\"max\":0,\"min\":5,\"nodesPerReplica\":1}");
    assert_int_equal(l.max, 0);
    /* underflow is not an error in Go */
    l = linear_ok("{\"nodesPerReplica\":1,\"coresPerReplica\":1e-400}");
    assert_true(l.cores_per_replica == 0);
    /* deep but legal nesting inside an ignored key */
    char deep[4200];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof deep, "{\"nodesPerReplica\":1,\"x\":");
    for (int i = 0; i < 2000; i++)
        deep[n++] = '[';
    for (int i = 0; i < 2000; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    l = linear_ok(deep);
    assert_true(l.nodes_per_replica == 1);
}

static void test_ladder_parse(void **state)
{
    (void)state;
    struct params p;
    params_init(&p);
    char err[1024];
    static const struct {
        const char *in;
        size_t n;
        int64_t steps[4][2];
    } cases[] = {
        {"{\"coresToReplicas\":[[1]]}", 1, {{1, 0}}},                 /* short: zero-padded */
        {"{\"coresToReplicas\":[[]]}", 1, {{0, 0}}},
        {"{\"coresToReplicas\":[[2,3,4]]}", 1, {{2, 3}}},             /* long: truncated */
        {"{\"coresToReplicas\":[[2,3,\"x\",{}]]}", 1, {{2, 3}}},      /* extra elements unchecked */
        {"{\"coresToReplicas\":[null]}", 1, {{0, 0}}},
        {"{\"coresToReplicas\":[[64,3],[1,1],[512,5]]}", 3, {{1, 1}, {64, 3}, {512, 5}}}, /* sorted */
        {"{\"coresToReplicas\":[[0,0],[6,1]]}", 2, {{0, 0}, {6, 1}}},  /* zero allowed */
        {"{\"CoresToReplicas\":[[1,1]]}", 1, {{1, 1}}},
        {"{\"coresToReplicas\":null}", 0, {{0}}},
        {"{\"coresToReplicas\":[]}", 0, {{0}}},
        {"{\"coresToReplicas\":[[1,1]],\"coresToReplicas\":[]}", 0, {{0}}},
        /* a reused slice keeps an element that a null does not overwrite, as Go does */
        {"{\"coresToReplicas\":[[1,2],[3,4]],\"coresToReplicas\":[null]}", 1, {{1, 2}}},
        {"{\"coresToReplicas\":[[1,2],[3,4]],\"coresToReplicas\":[[5]]}", 1, {{5, 0}}},
        {"{\"coresToReplicas\":[[9,9]],\"coresToReplicas\":[[1,null]]}", 1, {{1, 9}}},
        {"{\"min\":\"x\",\"preventSinglePointFailure\":7,\"coresToReplicas\":[[1,1]]}", 1, {{1, 1}}}, /* ignored */
        {"{\"coresToReplicas\":[[3,1],[3,2],[1,5]]}", 3, {{1, 5}, {3, 1}, {3, 2}}}, /* stable for ties */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (from_one("ladder", cases[i].in, &p, err, sizeof err) != 0)
            fail_msg("%s: %s", cases[i].in, err);
        assert_int_equal(p.mode, PARAMS_LADDER);
        if (p.ladder.n_cores != cases[i].n)
            fail_msg("%s: %zu steps, want %zu", cases[i].in, p.ladder.n_cores, cases[i].n);
        for (size_t j = 0; j < cases[i].n; j++)
            if (p.ladder.cores_to_replicas[j].threshold != cases[i].steps[j][0] ||
                p.ladder.cores_to_replicas[j].replicas != cases[i].steps[j][1])
                fail_msg("%s: step %zu is [%lld %lld]", cases[i].in, j,
                         (long long)p.ladder.cores_to_replicas[j].threshold,
                         (long long)p.ladder.cores_to_replicas[j].replicas);
        params_release(&p);
    }
    assert_int_equal(from_one("ladder", "{\"nodesToReplicas\":[[1,1],[2,2]],\"includeUnschedulableNodes\":true}",
                              &p, err, sizeof err), 0);
    assert_int_equal(p.ladder.n_nodes, 2);
    assert_true(p.ladder.include_unschedulable_nodes);
    params_release(&p);
}

static void test_ladder_errors(void **state)
{
    (void)state;
    static const struct {
        const char *in, *msg;
    } cases[] = {
        {"{\"coresToReplicas\":[[1,-1]]}", "invalid negative values in entry [1 -1] in cores_to_replicas_map"},
        {"{\"nodesToReplicas\":[[-1,1]]}", "invalid negative values in entry [-1 1] in nodes_to_replicas_map"},
        /* cores are checked first whatever the key order */
        {"{\"nodesToReplicas\":[[-1,1]],\"coresToReplicas\":[[-2,1]]}",
         "invalid negative values in entry [-2 1] in cores_to_replicas_map"},
        {"{\"coresToReplicas\":[[1,1],[-5]]}", "invalid negative values in entry [-5 0] in cores_to_replicas_map"},
        {"{\"coresToReplicas\":[[1,\"x\"]]}",
         "could not parse parameters (json: cannot unmarshal string into Go struct field ladderParams.coresToReplicas of type int)"},
        {"{\"coresToReplicas\":[[1.5,1]]}",
         "could not parse parameters (json: cannot unmarshal number 1.5 into Go struct field ladderParams.coresToReplicas of type int)"},
        {"{\"nodesToReplicas\":[5]}",
         "could not parse parameters (json: cannot unmarshal number into Go struct field ladderParams.nodesToReplicas of type laddercontroller.paramEntry)"},
        {"{\"coresToReplicas\":{}}",
         "could not parse parameters (json: cannot unmarshal object into Go struct field ladderParams.coresToReplicas of type laddercontroller.paramEntries)"},
        {"{\"coresToReplicas\":\"[[1,1]]\"}",
         "could not parse parameters (json: cannot unmarshal string into Go struct field ladderParams.coresToReplicas of type laddercontroller.paramEntries)"},
        {"[]", "could not parse parameters (json: cannot unmarshal array into Go value of type laddercontroller.ladderParams)"},
        {"{\"coresToReplicas\":[[1,1],]}", "could not parse parameters (invalid character ']' looking for beginning of value)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[512];
        snprintf(want, sizeof want, WRAP_LADDER "%s", cases[i].msg);
        expect_error("ladder", cases[i].in, want);
    }
}

static void expect_default(const char *json, const char *key, const char *want_value)
{
    struct cm_data d;
    cm_data_init(&d);
    char err[512] = "";
    if (params_parse_default(json, strlen(json), &d, err, sizeof err) != 0)
        fail_msg("%s: %s", json, err);
    const struct cm_entry *e = cm_data_get(&d, key);
    if (!e)
        fail_msg("%s: no key %s", json, key);
    if (strcmp(e->value, want_value) != 0)
        fail_msg("%s:\n got  %s\n want %s", json, e->value, want_value);
    cm_data_release(&d);
}

static void test_default_params(void **state)
{
    (void)state;
    /* values are re-encoded as Go's json.Marshal of interface{}: sorted keys, compact */
    expect_default("{\"linear\":{\"nodesPerReplica\":16,\"coresPerReplica\":256,\"preventSinglePointFailure\":true}}",
                   "linear", "{\"coresPerReplica\":256,\"nodesPerReplica\":16,\"preventSinglePointFailure\":true}");
    /* numbers go through float64: 1e2 becomes 100 (and is then a valid int) */
    expect_default("{\"linear\":{\"min\":1e2,\"nodesPerReplica\":1.50}}", "linear", "{\"min\":100,\"nodesPerReplica\":1.5}");
    expect_default("{\"x\":[1e21,1e20,1e-7,0.000001,123456789012345678901234,-0,0.1]}", "x",
                   "[1e+21,100000000000000000000,1e-7,0.000001,1.2345678901234569e+23,-0,0.1]");
    expect_default("{\"x\":\"<&>\\u2028\\ud800\"}", "x", "\"\\u003c\\u0026\\u003e\\u2028\xef\xbf\xbd\"");
    expect_default("{\"x\":{\"b\":1,\"a\":{\"d\":null,\"c\":[true,false]},\"b\":2}}", "x",
                   "{\"a\":{\"c\":[true,false],\"d\":null},\"b\":2}");
    expect_default("{\"linear\":{\"min\":1},\"linear\":{\"min\":2}}", "linear", "{\"min\":2}");
    expect_default("{\"ladder\":{\"coresToReplicas\":[[1,1],[64,3]]}}", "ladder", "{\"coresToReplicas\":[[1,1],[64,3]]}");

    struct cm_data d;
    cm_data_init(&d);
    char err[512];
    assert_int_equal(params_parse_default("null", 4, &d, err, sizeof err), 0);
    assert_int_equal(d.n, 0);
    assert_int_equal(params_parse_default("[]", 2, &d, err, sizeof err), -1);
    assert_string_equal(err, "json: cannot unmarshal array into Go value of type map[string]interface {}");
    assert_int_equal(params_parse_default("\"s\"", 3, &d, err, sizeof err), -1);
    assert_string_equal(err, "json: cannot unmarshal string into Go value of type map[string]interface {}");
    assert_int_equal(params_parse_default("{\"linear\":1e400}", 16, &d, err, sizeof err), -1);
    assert_string_equal(err, "json: cannot unmarshal number 1e400 into Go value of type float64");
    assert_int_equal(params_parse_default("{\"linear\":{}", 12, &d, err, sizeof err), -1);
    assert_string_equal(err, "unexpected end of JSON input");
    assert_int_equal(d.n, 0);
    cm_data_release(&d);

    /* end to end: --default-params as CPA stores and then reads it */
    struct params p;
    params_init(&p);
    assert_int_equal(params_parse_default("{\"linear\":{\"min\":1e2,\"nodesPerReplica\":1}}", 42, &d, err, sizeof err), 0);
    assert_int_equal(params_from_configmap(&d, &p, err, sizeof err), 0);
    assert_int_equal(p.linear.min, 100);
    params_release(&p);
    cm_data_release(&d);
}

static void test_copy_and_mode_switch(void **state)
{
    (void)state;
    struct params a, b;
    params_init(&a);
    params_init(&b);
    char err[256];
    assert_int_equal(from_one("ladder", "{\"coresToReplicas\":[[1,1],[5,2]],\"nodesToReplicas\":[[1,3]]}", &a, err, sizeof err), 0);
    assert_int_equal(params_copy(&b, &a), 0);
    params_release(&a);
    assert_int_equal(b.ladder.n_cores, 2);
    assert_int_equal(b.ladder.cores_to_replicas[1].replicas, 2);
    assert_int_equal(b.ladder.nodes_to_replicas[0].replicas, 3);
    /* switching mode replaces the params; a failing parse leaves them as they were */
    assert_int_equal(from_one("linear", "{\"min\":-4}", &b, err, sizeof err), -1);
    assert_int_equal(b.mode, PARAMS_LADDER);
    assert_int_equal(from_one("linear", "{\"nodesPerReplica\":2}", &b, err, sizeof err), 0);
    assert_int_equal(b.mode, PARAMS_LINEAR);
    assert_null(b.ladder.cores_to_replicas);
    params_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_configmap_shape),
        cmocka_unit_test(test_linear_syntax_errors),
        cmocka_unit_test(test_linear_type_errors),
        cmocka_unit_test(test_linear_validation),
        cmocka_unit_test(test_linear_go_leniency),
        cmocka_unit_test(test_ladder_parse),
        cmocka_unit_test(test_ladder_errors),
        cmocka_unit_test(test_default_params),
        cmocka_unit_test(test_copy_and_mode_switch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
