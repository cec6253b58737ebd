/* policies/jsonscan: json_string_stop finds exactly the byte a plain loop finds — every stop byte
 * ('"', '\\', each control byte with `control`, none without), at every offset and length
 * around the 8- and 16-byte steps, bytes >= 0x80 (signed chars) never taken for control bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonscan.h"
#define TEST_RNG_SEED 0x5eedu
#include "test_rng.h"

static const char *plain_stop(const char *p, const char *e, bool control)
{
    while (p < e && *p != '"' && *p != '\\' && (!control || (unsigned char)*p >= 0x20))
        p++;
    return p;
}

static void test_every_stop_byte_at_every_place(void **state)
{
    (void)state;
    char buf[80];
    for (int stop = 0; stop < 256; stop++) {
        for (size_t at = 0; at < 40; at++) {
            for (size_t len = 0; len < 48; len++) {
                /* filler: a byte that never stops (0x80-0xff included: signed chars) */
                for (size_t i = 0; i < sizeof buf; i++)
                    buf[i] = (char)(i % 2 ? 'a' + (int)(i % 26) : 0x80 + (int)(i % 0x7f));
                if (at < len)
                    buf[at] = (char)stop;
                for (int control = 0; control < 2; control++) {
                    const char *want = plain_stop(buf, buf + len, control);
                    const char *got = json_string_stop(buf, buf + len, control);
                    if (got != want)
                        fail_msg("stop byte 0x%02x at %zu, length %zu, control %d: got offset %td, want %td", stop, at,
                                 len, control, got - buf, want - buf);
                }
            }
        }
    }
}

static void test_random_bytes(void **state)
{
    (void)state;
    char buf[200];
    for (int round = 0; round < 200000; round++) {
        size_t len = (size_t)(rnd() % sizeof buf);
        size_t off = (size_t)(rnd() % 8);
        /* mostly plain bytes, a stop byte now and then */
        for (size_t i = 0; i < sizeof buf; i++) {
            unsigned r = (unsigned)(rnd() % 64);
            buf[i] = (char)(r == 0 ? '"' : r == 1 ? '\\' : r == 2 ? (char)(rnd() % 0x20)
                                                               : (char)(0x20 + rnd() % 0xe0));
            if (buf[i] == '"' || buf[i] == '\\')
                buf[i] = r > 2 ? 'x' : buf[i];
        }
        if (off > len)
            off = len;
        for (int control = 0; control < 2; control++)
            assert_ptr_equal(json_string_stop(buf + off, buf + len, control), plain_stop(buf + off, buf + len, control));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_stop_byte_at_every_place),
        cmocka_unit_test(test_random_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
