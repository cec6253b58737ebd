/* policies/decimal held to the C library: decimal_format6 == snprintf("%.6f"), decimal_parse ==
 * strtod (bit for bit) whenever it accepts, decimal_format_i64 == snprintf("%lld"); on random
 * values of every magnitude and on the hard cases (ties, carries, tiny fractions, 2^53). */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decimal.h"
#define TEST_RNG_SEED 0x2545f4914f6cdd1du
#include "test_rng.h"


static void check_format6(double v)
{
    char want[512], got[DECIMAL_BUF];
    snprintf(want, sizeof want, "%.6f", v);
    size_t n = decimal_format6(v, got);
    if (strcmp(want, got) != 0 || n != strlen(got)) {
        fprintf(stderr, "%%.6f of %a: printf %s, decimal_format6 %s\n", v, want, got);
        fail();
    }
}

static void test_format6_hard_cases(void **state)
{
    (void)state;
    static const double cases[] = {0, 0.5, 1, 0.1, 0.000001, 0.0000005, 0.00000049999999999999999, 0.0078125, 0.0234375,
                                   1.0078125, 2.0234375, 0.9999995, 0.99999949999999, 9.9999995, 599.9999999,
                                   2506130.123456, 86399.999999, 1e9 + 0.000001, 123456789.012345, 4503599627370495.5,
                                   9007199254740991.0, 9007199254740992.0, 1e300, -0.0, -1.5, DBL_MIN, DBL_TRUE_MIN,
                                   1.0 / 3, 2.0 / 3, 1e-7, 5e-7, 4.9999999e-7};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_format6(cases[i]);
    check_format6(NAN);
    check_format6(INFINITY);
    /* every tie at the 6th decimal: f = odd / 128, with integer parts small and large */
    for (int k = 1; k < 128; k += 2)
        for (uint64_t ip = 0; ip < (UINT64_C(1) << 44); ip = ip * 7 + 1)
            check_format6((double)ip + k / 128.0);
}

static void test_format6_random(void **state)
{
    (void)state;
    for (int i = 0; i < 1000000; i++) {
        double v;
        switch (i % 4) {
        case 0: /* any bit pattern of a non-negative finite double below 2^54 */
            do {
                uint64_t bits = rnd() & ~(UINT64_C(1) << 63);
                memcpy(&v, &bits, sizeof v);
            } while (!isfinite(v) || v >= 18014398509481984.0);
            break;
        case 1: v = (double)(rnd() % 100000000000ull) / 1e6; break;           /* what %.6f traces hold */
        case 2: v = (double)(rnd() % 4000000) + (double)(rnd() % 1000000) / 1e6 + 5e-7; break; /* near ties */
        default: v = ldexp((double)(rnd() >> 11), -(int)(rnd() % 80)); break; /* all magnitudes */
        }
        check_format6(v);
    }
}

static void test_parse_is_strtod(void **state)
{
    (void)state;
    unsigned long accepted = 0;
    for (int i = 0; i < 500000; i++) {
        char text[40];
        int digits = 1 + (int)(rnd() % 21), frac = (int)(rnd() % (unsigned)digits), k = 0;
        for (int d = 0; d < digits; d++) {
            if (d == digits - frac && frac > 0)
                text[k++] = '.';
            text[k++] = (char)('0' + rnd() % 10);
        }
        text[k] = '\0';
        double got = -1;
        size_t n = decimal_parse(text, (size_t)k, &got);
        if (n == 0)
            continue;
        accepted++;
        assert_int_equal(n, (size_t)k);
        double want = strtod(text, NULL);
        if (memcmp(&want, &got, sizeof want) != 0) {
            fprintf(stderr, "%s: strtod %.17g, decimal_parse %.17g\n", text, want, got);
            fail();
        }
    }
    assert_true(accepted > 200000);
    /* formatting then parsing gives strtod's reading of the printed text */
    for (int i = 0; i < 200000; i++) {
        char buf[DECIMAL_BUF];
        size_t n = decimal_format6((double)(rnd() % 100000000000ull) / 1e6, buf);
        double got;
        assert_int_equal(decimal_parse(buf, n, &got), n);
        assert_true(got == strtod(buf, NULL));
    }
}

static void test_parse_declines(void **state)
{
    (void)state;
    static const char *declined[] = {"", ".5", "-1", "+1", "1.", "1.e5", "x", "9007199254740993", "12345678901234567890",
                                     "0.00000000000000000001"};
    double v;
    for (size_t i = 0; i < sizeof declined / sizeof *declined; i++)
        assert_int_equal(decimal_parse(declined[i], strlen(declined[i]), &v), 0);
    /* it stops at the first byte that cannot continue the number */
    assert_int_equal(decimal_parse("12.5,", 5, &v), 4);
    assert_true(v == 12.5);
    assert_int_equal(decimal_parse("1e5", 3, &v), 1);
    assert_int_equal(decimal_parse("1.5.3", 5, &v), 3);
    assert_int_equal(decimal_parse("9007199254740992", 16, &v), 16);
    assert_true(v == 9007199254740992.0);
    assert_int_equal(decimal_parse("123", 2, &v), 2); /* length-bounded */
    assert_true(v == 12);
}

static void test_format_i64(void **state)
{
    (void)state;
    static const int64_t cases[] = {0, 1, -1, 9, 10, -10, 123456789, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    char want[32], got[DECIMAL_BUF];
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(want, sizeof want, "%lld", (long long)cases[i]);
        assert_int_equal(decimal_format_i64(cases[i], got), strlen(want));
        assert_string_equal(got, want);
    }
    for (int i = 0; i < 100000; i++) {
        int64_t v = (int64_t)(rnd() >> (rnd() % 64)) * ((rnd() & 1) ? 1 : -1);
        snprintf(want, sizeof want, "%lld", (long long)v);
        decimal_format_i64(v, got);
        assert_string_equal(got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format6_hard_cases), cmocka_unit_test(test_format6_random),
        cmocka_unit_test(test_parse_is_strtod),    cmocka_unit_test(test_parse_declines),
        cmocka_unit_test(test_format_i64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
