/* policies/buf: appends are all-or-nothing, the cap is exact, failures are sticky until
 * buf_reset(), the contents stay NUL-terminated, and buf_space()/buf_advance() behave like an
 * append done in two steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void test_append_and_terminator(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1024);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(buf_puts(&b, "abc"), 0);
    assert_int_equal(buf_putc(&b, '-'), 0);
    assert_int_equal(buf_printf(&b, "%d:%s", 42, "x"), 0);
    assert_int_equal(buf_append(&b, "", 0), 0);
    assert_string_equal(buf_str(&b), "abc-42:x");
    assert_int_equal(b.len, 8);
    assert_false(b.failed);
    buf_reset(&b);
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

static void test_cap_is_exact_and_failure_sticky(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 5);
    assert_int_equal(buf_puts(&b, "12345"), 0); /* exactly the cap */
    assert_false(b.failed);
    assert_int_equal(buf_putc(&b, '6'), -1);   /* one past it */
    assert_true(b.failed);
    assert_string_equal(buf_str(&b), "12345"); /* untouched by the failed append */
    assert_int_equal(buf_append(&b, "", 0), 0); /* later appends still work... */
    assert_true(b.failed);                      /* ...but the failure is remembered */
    buf_reset(&b);
    assert_false(b.failed);
    assert_int_equal(buf_puts(&b, "123456"), -1); /* larger than the cap from empty */
    assert_string_equal(buf_str(&b), "");
    buf_release(&b);
}

static void test_printf_long_output(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1u << 20);
    char want[2000];
    memset(want, 'q', sizeof want - 1);
    want[sizeof want - 1] = '\0';
    assert_int_equal(buf_printf(&b, "<%s>", want), 0); /* past the 256-byte fast path */
    assert_int_equal(b.len, sizeof want + 1);
    assert_int_equal(b.data[0], '<');
    assert_int_equal(b.data[b.len - 1], '>');
    assert_int_equal(b.data[b.len], '\0');
    buf_release(&b);

    buf_init(&b, 100);
    assert_int_equal(buf_printf(&b, "%s", want), -1); /* over the cap */
    assert_true(b.failed);
    assert_string_equal(buf_str(&b), "");
    buf_release(&b);
}

static void test_space_and_advance(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    buf_puts(&b, "ab");
    char *p = buf_space(&b, 10);
    assert_non_null(p);
    assert_ptr_equal(p, b.data + 2);
    memcpy(p, "cdef", 4); /* fewer bytes than reserved */
    buf_advance(&b, 4);
    assert_string_equal(buf_str(&b), "abcdef");
    assert_int_equal(b.len, 6);

    assert_null(buf_space(&b, 59)); /* 6 + 59 > 64 */
    assert_true(b.failed);
    assert_string_equal(buf_str(&b), "abcdef");
    buf_reset(&b);
    p = buf_space(&b, 64);
    assert_non_null(p);
    memset(p, 'z', 64);
    buf_advance(&b, 64);
    assert_int_equal(strlen(buf_str(&b)), 64);
    buf_release(&b);
}

static void test_drop_front(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 64);
    buf_drop_front(&b, 3); /* nothing yet: no effect */
    assert_int_equal(b.len, 0);
    buf_puts(&b, "abcdef");
    buf_drop_front(&b, 2);
    assert_string_equal(buf_str(&b), "cdef");
    assert_int_equal(b.len, 4);
    buf_puts(&b, "gh"); /* appends after what is left */
    assert_string_equal(buf_str(&b), "cdefgh");
    buf_drop_front(&b, 100); /* more than there is: empty */
    assert_string_equal(buf_str(&b), "");
    assert_int_equal(b.len, 0);
    buf_release(&b);
}

static void test_take(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 16);
    char *empty = buf_take(&b); /* never NULL, even when nothing was written */
    assert_non_null(empty);
    assert_string_equal(empty, "");
    free(empty);
    buf_puts(&b, "kept");
    char *s = buf_take(&b);
    assert_string_equal(s, "kept");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);
    buf_release(&b);
}

/* Many small appends grow the buffer geometrically and keep every byte. */
static void test_growth(void **state)
{
    (void)state;
    struct buf b;
    buf_init(&b, 1u << 20);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(buf_putc(&b, (char)('a' + i % 26)), 0);
    assert_int_equal(b.len, 100000);
    for (int i = 0; i < 100000; i++)
        assert_int_equal(b.data[i], (char)('a' + i % 26));
    assert_true(b.alloc < 4 * 100000);
    buf_release(&b);
}

static void test_text_for_message(void **state)
{
    (void)state;
    char out[32];
    assert_true(text_for_message("a\"b\\c\x01\xff", 7, 64, out, sizeof out));
    assert_string_equal(out, "a\\\"b\\\\c\\x01\\xff");
    /* at most `show` bytes: the rest is reported as not shown */
    assert_false(text_for_message("abcdef", 6, 3, out, sizeof out));
    assert_string_equal(out, "abc");
    /* an escape never split by a short output */
    assert_false(text_for_message("ab\x02", 3, 64, out, 5));
    assert_string_equal(out, "ab");
    assert_true(text_for_message("", 0, 64, out, sizeof out));
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_append_and_terminator),
        cmocka_unit_test(test_cap_is_exact_and_failure_sticky),
        cmocka_unit_test(test_printf_long_output),
        cmocka_unit_test(test_space_and_advance),
        cmocka_unit_test(test_drop_front),
        cmocka_unit_test(test_take),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_text_for_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
