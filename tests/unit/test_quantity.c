/* Kubernetes quantities: every valid form exactly, sub-nano rounding, junk rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "quantity.h"

static void test_valid_forms(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t nano;
        int64_t milli;
    } cases[] = {
        {"4", 4000000000, 4000},
        {"3920m", 3920000000, 3920},
        {"3500m", 3500000000, 3500},
        {"7910m", 7910000000, 7910},
        {"1.5", 1500000000, 1500},
        {"0.5", 500000000, 500},
        {".5", 500000000, 500},
        {"5.", 5000000000, 5000},
        {"+2", 2000000000, 2000},
        {"2k", 2000000000000, 2000000},
        {"500u", 500000, 1},          /* half a millicore rounds up to 1m */
        {"1500u", 1500000, 2},
        {"1n", 1, 1},
        {"250n", 250, 1},
        {"1000000n", 1000000, 1},
        {"1e3", 1000000000000, 1000000},
        {"1E3", 1000000000000, 1000000},
        {"1e+3", 1000000000000, 1000000},
        {"15e-1", 1500000000, 1500},
        {"1e-3", 1000000, 1},
        {"1e-12", 1, 1},              /* below a nano: rounds up to 1n */
        {"1Ki", 1024000000000, 1024000},
        {"0.5Ki", 512000000000, 512000},
        {"1M", 1000000000000000, 1000000000},
        {"1G", INT64_C(1000000000000000000), INT64_C(1000000000000)},
        {"0", 0, 0},
        {"0m", 0, 0},
        {"0e999999", 0, 0},
        {"00004", 4000000000, 4000},
        {"0.000000001", 1, 1},
        {"0.0000000001", 1, 1},
        {"1.0000000001", 1000000001, 1001},
        {"-1", -1000000000, -1000},
        {"-500u", -500000, -1},       /* away from zero, like Kubernetes' rounding */
        {"9223372036854775807n", INT64_MAX, 9223372036855},
        {"0.0000000005Ki", 512, 1},   /* 5e-10 x 1024 = 512n exactly */
        {"0.0000000000005Ki", 1, 1},  /* 0.512n rounds up */
        {"0.005Ki", 5120000000, 5120},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t nano = -7, milli = -7;
        char err[256] = "";
        if (quantity_parse_nano(cases[i].in, strlen(cases[i].in), &nano, err, sizeof err) != 0)
            fail_msg("%s: unexpected error: %s", cases[i].in, err);
        if (nano != cases[i].nano)
            fail_msg("%s: nano %lld, want %lld", cases[i].in, (long long)nano, (long long)cases[i].nano);
        assert_int_equal(quantity_parse_milli(cases[i].in, strlen(cases[i].in), &milli, err, sizeof err), 0);
        if (milli != cases[i].milli)
            fail_msg("%s: milli %lld, want %lld", cases[i].in, (long long)milli, (long long)cases[i].milli);
    }
}

static void test_rejects_junk(void **state)
{
    (void)state;
    static const char *bad[] = {
        "", " 4", "4 ", "abc", "1.5.", ".", "+", "-", "1e", "1e+", "1ee3", "1K", "1Kb", "1mi", "1.2.3",
        "m", "Ki", "1,5", "0x10", "inf", "nan", "1e3m", "4m ", "1 m", "1E+", "--1", "1Mi1",
        "9223372036854775808n", "10G", "1E", "99999999999999999999", "1e19",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 42;
        char err[256] = "";
        if (quantity_parse_nano(bad[i], strlen(bad[i]), &v, err, sizeof err) == 0)
            fail_msg("\"%s\" was accepted as %lld", bad[i], (long long)v);
        assert_non_null(strstr(err, "invalid quantity"));
        assert_int_equal(v, 42); /* output untouched on error */
    }
}

/* Regression (found by fuzz_quantity): a NUL byte inside the text matched strchr's terminator
 * and indexed past the suffix table. */
static void test_embedded_nul(void **state)
{
    (void)state;
    int64_t v;
    char err[256];
    assert_int_equal(quantity_parse_nano("1.55\0", 5, &v, err, sizeof err), -1);
    assert_int_equal(quantity_parse_nano("1\0i", 3, &v, err, sizeof err), -1);
    assert_int_equal(quantity_parse_nano("4\0", 2, &v, err, sizeof err), -1);
}

static void test_error_names_input(void **state)
{
    (void)state;
    char err[256];
    int64_t v;
    assert_int_equal(quantity_parse_nano("12x", 3, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "\"12x\""));
    assert_non_null(strstr(err, "suffix"));
    char big[QUANTITY_MAX_LEN + 2];
    memset(big, '1', sizeof big);
    assert_int_equal(quantity_parse_nano(big, sizeof big, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "too long"));
}

static void test_ceil_helpers(void **state)
{
    (void)state;
    assert_int_equal(quantity_nano_to_units_ceil(0), 0);
    assert_int_equal(quantity_nano_to_units_ceil(1), 1);
    assert_int_equal(quantity_nano_to_units_ceil(1000000000), 1);
    assert_int_equal(quantity_nano_to_units_ceil(1000000001), 2);
    assert_int_equal(quantity_nano_to_units_ceil(4500000000), 5);
    assert_int_equal(quantity_nano_to_milli_ceil(1), 1);
    assert_int_equal(quantity_nano_to_milli_ceil(1000000), 1);
    assert_int_equal(quantity_nano_to_milli_ceil(1000001), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_forms),
        cmocka_unit_test(test_rejects_junk),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_error_names_input),
        cmocka_unit_test(test_ceil_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
