/* Label selectors: full syntax, API-server semantics, validation errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "selector.h"

/* Labels as "k=v" strings, NULL-terminated. */
static const char *lookup(const void *ctx, const char *key)
{
    const char *const *labels = ctx;
    size_t kl = strlen(key);
    for (; *labels; labels++)
        if (strncmp(*labels, key, kl) == 0 && (*labels)[kl] == '=')
            return *labels + kl + 1;
    return NULL;
}

static const char *node_a[] = {"kubernetes.io/os=linux", "node-role.kubernetes.io/worker=", "zone=us-east-1a",
                               "tier=dns", "cores=8", NULL};
static const char *node_b[] = {"kubernetes.io/os=windows", "zone=us-east-1b", "cores=64", NULL};
static const char *node_c[] = {NULL};

static void test_matching(void **state)
{
    (void)state;
    static const struct {
        const char *sel;
        int a, b, c;
    } cases[] = {
        {"", 1, 1, 1},
        {"   ", 1, 1, 1},
        {"kubernetes.io/os=linux", 1, 0, 0},
        {"kubernetes.io/os==linux", 1, 0, 0},
        {"kubernetes.io/os!=linux", 0, 1, 1}, /* != matches objects without the key */
        {"zone in (us-east-1a, us-east-1c)", 1, 0, 0},
        {"zone notin (us-east-1a)", 0, 1, 1},
        {"tier", 1, 0, 0},
        {"!tier", 0, 1, 1},
        {"node-role.kubernetes.io/worker", 1, 0, 0},
        {"node-role.kubernetes.io/worker=", 1, 0, 0},
        {"tier=dns,zone=us-east-1a", 1, 0, 0},
        {"tier=dns, zone=us-east-1b", 0, 0, 0},
        {"cores>10", 0, 1, 0},
        {"cores<10", 1, 0, 0},
        {"zone in (us-east-1a,us-east-1b),!tier", 0, 1, 0},
        {" zone  in  ( us-east-1b )  ", 0, 1, 0},
        {"tier notin (dns),zone", 0, 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct selector *s = NULL;
        char err[256] = "";
        if (selector_parse(cases[i].sel, &s, err, sizeof err) != 0)
            fail_msg("\"%s\": %s", cases[i].sel, err);
        int a = selector_matches(s, lookup, node_a), b = selector_matches(s, lookup, node_b),
            c = selector_matches(s, lookup, node_c);
        if (a != cases[i].a || b != cases[i].b || c != cases[i].c)
            fail_msg("\"%s\": got %d%d%d want %d%d%d", cases[i].sel, a, b, c, cases[i].a, cases[i].b, cases[i].c);
        selector_free(s);
    }
}

static void test_rejects(void **state)
{
    (void)state;
    static const struct {
        const char *sel;
        const char *msg;
    } cases[] = {
        {"=x", "expected a label key"},
        {"a in ()", "values set can't be empty"},
        {"a in (x", "expected ',' or ')'"},
        {"a in x", "expected '('"},
        {"a b", "expected an operator"},
        {"a=b c", "expected ',' between requirements"},
        {"-bad=x", "invalid label key"},
        {"a=-bad", "invalid label value"},
        {"a>x", "must be an integer"},
        {"a,", "expected a label key"},
        {"UPPER.example.com/x=y", "invalid label key"},
        {"a=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "invalid label value"},
        {"!a=b", "expected ',' between requirements"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct selector *s = NULL;
        char err[512] = "";
        if (selector_parse(cases[i].sel, &s, err, sizeof err) == 0)
            fail_msg("\"%s\" was accepted", cases[i].sel);
        if (!strstr(err, cases[i].msg))
            fail_msg("\"%s\": message \"%s\" lacks \"%s\"", cases[i].sel, err, cases[i].msg);
        assert_null(s);
    }
}

static void test_key_value_rules(void **state)
{
    (void)state;
    assert_true(selector_valid_key("app", 3));
    assert_true(selector_valid_key("example.com/app", 15));
    assert_false(selector_valid_key("/app", 4));
    assert_false(selector_valid_key("example.com/", 12));
    assert_false(selector_valid_key("a_", 2));
    assert_true(selector_valid_value("", 0));
    assert_true(selector_valid_value("v1.2_x-y", 8));
    assert_false(selector_valid_value("v/1", 3));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matching),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_key_value_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
