/* gojson: Go's quoteChar, float formatting, key folding, depth limit, tree shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gojson.h"

static void test_quote_char(void **state)
{
    (void)state;
    static const struct {
        unsigned char c;
        const char *want;
    } cases[] = {
        {'a', "'a'"}, {'\'', "'\\''"}, {'"', "'\"'"}, {'\\', "'\\\\'"}, {'\n', "'\\n'"}, {'\t', "'\\t'"},
        {'\a', "'\\a'"}, {'\v', "'\\v'"}, {0x01, "'\\x01'"}, {0x7f, "'\\x7f'"}, {0x80, "'\\u0080'"},
        {0x9f, "'\\u009f'"}, {0xa0, "'\\u00a0'"}, {0xad, "'\\u00ad'"}, {0xe9, "'\xc3\xa9'"}, {0xff, "'\xc3\xbf'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[16];
        gj_quote_char(cases[i].c, out, sizeof out);
        if (strcmp(out, cases[i].want) != 0)
            fail_msg("0x%02x: got %s want %s", cases[i].c, out, cases[i].want);
    }
}

static void test_float_formats(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *fmt_v, *json;
    } cases[] = {
        {0, "0", "0"},
        {1, "1", "1"},
        {-1.5, "-1.5", "-1.5"},
        {100000, "100000", "100000"},
        {1e6, "1e+06", "1000000"},
        {123456, "123456", "123456"},
        {1234567, "1.234567e+06", "1234567"},
        {0.0001, "0.0001", "0.0001"},
        {0.00001, "1e-05", "0.00001"},
        {1e-7, "1e-07", "1e-7"},
        {1e20, "1e+20", "100000000000000000000"},
        {1e21, "1e+21", "1e+21"},
        {0.1, "0.1", "0.1"},
        {5e-324, "5e-324", "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308", "1.7976931348623157e+308"},
        {9007199254740993.0, "9.007199254740992e+15", "9007199254740992"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char a[64], b[64];
        gj_format_float_v(cases[i].v, a, sizeof a);
        gj_format_float_json(cases[i].v, b, sizeof b);
        if (strcmp(a, cases[i].fmt_v) != 0 || strcmp(b, cases[i].json) != 0)
            fail_msg("%.17g: got %s / %s want %s / %s", cases[i].v, a, b, cases[i].fmt_v, cases[i].json);
    }
    char n[64];
    gj_format_float_v(-0.0, n, sizeof n);
    assert_string_equal(n, "-0");
}

static void test_numbers(void **state)
{
    (void)state;
    int64_t i;
    double d;
    assert_int_equal(gj_parse_int("-9223372036854775808", 20, &i), 0);
    assert_true(i == INT64_MIN);
    assert_int_equal(gj_parse_int("9223372036854775808", 19, &i), -1);
    assert_int_equal(gj_parse_int("1.0", 3, &i), -1);
    assert_int_equal(gj_parse_int("1e2", 3, &i), -1);
    assert_int_equal(gj_parse_float("1e308", 5, &d), 0);
    assert_int_equal(gj_parse_float("1e309", 5, &d), -1);
    assert_int_equal(gj_parse_float("1e-400", 6, &d), 0);
    assert_true(d == 0);
}

static void test_key_folding(void **state)
{
    (void)state;
    assert_true(gj_key_matches("MIN", 3, "min"));
    assert_true(gj_key_matches("Min", 3, "min"));
    assert_false(gj_key_matches("mi", 2, "min"));
    assert_false(gj_key_matches("mins", 4, "min"));
    assert_true(gj_key_matches("\xe2\x84\xaa" "ey", 5, "key"));    /* KELVIN SIGN folds to k */
    assert_true(gj_key_matches("co\xc5\xbf", 4, "cos"));         /* LONG S folds to s */
    assert_false(gj_key_matches("m\xc4\xb1n", 4, "min"));        /* dotless i does not fold to i */
    assert_false(gj_key_matches("min\0", 4, "min"));
}

static void test_depth_limit(void **state)
{
    (void)state;
    size_t n = GJ_MAX_DEPTH + 1;
    char *deep = malloc(2 * n + 1);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    struct gj_value *v = NULL;
    char err[256];
    assert_int_equal(gj_parse(deep, 2 * n, &v, err, sizeof err), -1);
    assert_string_equal(err, "invalid character '[' exceeded max depth");
    /* exactly at the limit is fine, and freeing a deep tree does not recurse */
    assert_int_equal(gj_parse(deep + 1, 2 * n - 2, &v, err, sizeof err), 0);
    gj_free(v);
    free(deep);
}

static void test_tree(void **state)
{
    (void)state;
    const char *in = "{\"a\":[1,\"x\\u00e9\\ud83d\\ude00\",null,true,false,{}],\"a\":\"\\ud800z\",\"b\\u0000\":{}}";
    struct gj_value *v = NULL;
    char err[256];
    assert_int_equal(gj_parse(in, strlen(in), &v, err, sizeof err), 0);
    assert_int_equal(v->type, GJ_OBJECT);
    assert_int_equal(v->count, 3); /* duplicates kept in order */
    const struct gj_value *a = v->first;
    assert_int_equal(a->type, GJ_ARRAY);
    assert_int_equal(a->count, 6);
    assert_string_equal(a->first->text, "1");
    assert_string_equal(a->first->next->text, "x\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(a->first->next->next->type, GJ_NULL);
    assert_string_equal(a->next->text, "\xef\xbf\xbdz"); /* lone surrogate -> U+FFFD */
    assert_int_equal(a->next->next->key_len, 2);           /* key with an escaped NUL */
    gj_free(v);
    /* invalid UTF-8 in a string becomes U+FFFD per bad byte */
    assert_int_equal(gj_parse("\"\xff\xc3\"", 4, &v, err, sizeof err), 0);
    assert_string_equal(v->text, "\xef\xbf\xbd\xef\xbf\xbd");
    gj_free(v);
}

/* Regression (found by fuzz_params): a run of invalid UTF-8 bytes triples in size when each
 * byte becomes U+FFFD; the output buffer must allow for it. */
static void test_invalid_utf8_run(void **state)
{
    (void)state;
    char in[202];
    in[0] = '"';
    memset(in + 1, 0xff, 200);
    in[201] = '"';
    struct gj_value *v = NULL;
    char err[256];
    assert_int_equal(gj_parse(in, sizeof in, &v, err, sizeof err), 0);
    assert_int_equal(v->text_len, 600);
    gj_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_char), cmocka_unit_test(test_float_formats), cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_key_folding), cmocka_unit_test(test_depth_limit), cmocka_unit_test(test_tree),
        cmocka_unit_test(test_invalid_utf8_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
