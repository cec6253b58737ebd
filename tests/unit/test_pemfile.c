/* controller/pemfile: the path reads back exactly the bytes given (twice: each open starts at the
 * beginning, as libcurl opens it per connection), the content cannot be changed through the path
 * or the descriptor once sealed, the descriptor does not survive exec, and close releases it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <unistd.h>

#include "pemfile.h"

static size_t read_path(const char *path, char *out, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    size_t n = 0;
    ssize_t r;
    while (n < cap && (r = read(fd, out + n, cap - n)) > 0)
        n += (size_t)r;
    close(fd);
    return n;
}

static void test_reads_back_sealed(void **state)
{
    (void)state;
    /* 70 KB: more than one write of a pipe or page, as a CA bundle can be */
    size_t len = 70 * 1024;
    char *pem = malloc(len), *back = malloc(len + 16);
    assert_non_null(pem);
    assert_non_null(back);
    for (size_t i = 0; i < len; i++)
        pem[i] = (char)('A' + i % 26);
    struct pemfile f;
    char err[256] = "";
    assert_int_equal(pemfile_open(&f, "the CA", pem, len, err, sizeof err), 0);
    assert_true(f.open);
    assert_int_equal(strncmp(f.path, "/proc/self/fd/", 14), 0);
    for (int round = 0; round < 2; round++) {
        assert_int_equal(read_path(f.path, back, len + 16), len);
        assert_memory_equal(back, pem, len);
    }
    /* sealed: neither a write through the path nor through the descriptor changes it */
    int w = open(f.path, O_WRONLY | O_CLOEXEC);
    if (w >= 0) {
        assert_true(write(w, "X", 1) < 0);
        close(w);
    }
    assert_true(pwrite(f.fd, "X", 1, 0) < 0);
    assert_true(ftruncate(f.fd, 1) != 0);
    assert_int_equal(read_path(f.path, back, len + 16), len);
    assert_memory_equal(back, pem, len);
    /* closed on exec */
    assert_true(fcntl(f.fd, F_GETFD) & FD_CLOEXEC);
    int fd = f.fd;
    pemfile_close(&f);
    assert_false(f.open);
    assert_int_equal(f.path[0], '\0');
    assert_true(fcntl(fd, F_GETFD) < 0); /* released */
    pemfile_close(&f); /* twice is harmless */
    free(pem);
    free(back);
}

static void test_empty_and_zeroed(void **state)
{
    (void)state;
    /* a struct not open leaves whatever descriptor number it holds alone (a zeroed one: fd 0) */
    int other = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(other >= 0);
    struct pemfile never = {.open = 0, .fd = other};
    pemfile_close(&never);
    assert_true(fcntl(other, F_GETFD) >= 0);
    close(other);
    struct pemfile f;
    char err[256] = "", back[8];
    assert_int_equal(pemfile_open(&f, "the client key", "", 0, err, sizeof err), 0);
    assert_int_equal(read_path(f.path, back, sizeof back), 0);
    pemfile_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_back_sealed),
        cmocka_unit_test(test_empty_and_zeroed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
