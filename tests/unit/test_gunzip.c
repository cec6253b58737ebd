/* controller/gunzip: a gzip body inflated as it arrives is the bytes zlib compressed, whatever the
 * cuts (one byte at a time, TLS-record sized, whole); members back to back are read as gunzip
 * reads them; a bad CRC, a bad header, bytes after the stream that start no member, a body cut
 * short are errors naming it (no body at all is none); the sink can stop the feed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "gunzip.h"

struct out {
    char *data;
    size_t len, cap;
    size_t calls, max_piece;
    size_t stop_after; /* 0: never stop */
};

static int sink(void *ctx, const char *data, size_t len)
{
    struct out *o = ctx;
    assert_true(len > 0 && len <= GUNZIP_OUT);
    if (o->len + len > o->cap) {
        o->cap = (o->len + len) * 2;
        o->data = realloc(o->data, o->cap);
        assert_non_null(o->data);
    }
    memcpy(o->data + o->len, data, len);
    o->len += len;
    o->calls++;
    if (len > o->max_piece)
        o->max_piece = len;
    return o->stop_after && o->len >= o->stop_after;
}

/* gzip (one member) of data, with zlib */
static unsigned char *gz(const char *data, size_t len, size_t *outlen)
{
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, (uLong)len) + 64;
    unsigned char *out = malloc(cap);
    assert_non_null(out);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *outlen = z.total_out;
    deflateEnd(&z);
    return out;
}

/* a JSON-like body: a node LIST page's shape, ~cap bytes */
static char *body_of(size_t cap, size_t *len)
{
    size_t n = 0;
    char *b = malloc(cap + 256);
    assert_non_null(b);
    n += (size_t)sprintf(b, "{\"kind\":\"NodeList\",\"items\":[");
    for (unsigned i = 0; n < cap; i++)
        n += (size_t)sprintf(b + n, "{\"metadata\":{\"name\":\"node-%u\",\"uid\":\"%08x\"},\"status\":{\"capacity\":{\"cpu\":\"%u\"}}},",
                             i, i * 2654435761u, i % 64 + 1);
    *len = n;
    return b;
}

static char *body(size_t *len) { return body_of(3u << 20, len); }

/* feed in cuts of `step` bytes (0: pseudo-random 1..40000); returns gunzip_feed's last answer */
static int feed_cut(struct gunzip *g, const unsigned char *z, size_t zlen, size_t step, struct out *o, char *err, size_t errlen)
{
    uint32_t seed = 12345;
    for (size_t at = 0; at < zlen;) {
        size_t n = step;
        if (!n) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 8) % 40000;
        }
        if (n > zlen - at)
            n = zlen - at;
        int rc = gunzip_feed(g, z + at, n, sink, o, err, errlen);
        if (rc != 0)
            return rc;
        at += n;
    }
    return 0;
}

static void test_round_trip_any_cuts(void **state)
{
    (void)state;
    size_t steps[] = {1, 7, 16384, 0, SIZE_MAX};
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
        /* (byte by byte and in 7s: 256 KB; in larger cuts: 3 MB, a real page's size) */
        size_t len, zlen;
        char *b = body_of(steps[k] < 100 ? 256u << 10 : 3u << 20, &len);
        unsigned char *z = gz(b, len, &zlen);
        size_t step = steps[k] == SIZE_MAX ? zlen : steps[k], use = zlen;
        struct gunzip *g = gunzip_new();
        assert_non_null(g);
        struct out o = {0};
        char err[200] = "";
        assert_int_equal(feed_cut(g, z, use, step, &o, err, sizeof err), 0);
        assert_int_equal(gunzip_finish(g, err, sizeof err), 0);
        assert_int_equal(o.len, len);
        assert_memory_equal(o.data, b, len);
        assert_true(o.max_piece <= GUNZIP_OUT);
        free(o.data);
        gunzip_free(g);
        free(z);
        free(b);
    }
}

static void test_members_back_to_back(void **state)
{
    (void)state;
    const char *a = "{\"first\":1}", *c = "{\"second\":2}";
    size_t la, lc;
    unsigned char *za = gz(a, strlen(a), &la), *zc = gz(c, strlen(c), &lc);
    unsigned char *both = malloc(la + lc);
    memcpy(both, za, la);
    memcpy(both + la, zc, lc);
    for (size_t step = 1; step <= la + lc; step++) {
        struct gunzip *g = gunzip_new();
        struct out o = {0};
        char err[200] = "";
        assert_int_equal(feed_cut(g, both, la + lc, step, &o, err, sizeof err), 0);
        assert_int_equal(gunzip_finish(g, err, sizeof err), 0);
        assert_int_equal(o.len, strlen(a) + strlen(c));
        assert_memory_equal(o.data, "{\"first\":1}{\"second\":2}", o.len);
        free(o.data);
        gunzip_free(g);
    }
    free(both);
    free(za);
    free(zc);
}

static void expect_error(const unsigned char *z, size_t zlen, const char *want)
{
    struct gunzip *g = gunzip_new();
    struct out o = {0};
    char err[200] = "";
    int rc = gunzip_feed(g, z, zlen, sink, &o, err, sizeof err);
    if (rc == 0)
        rc = gunzip_finish(g, err, sizeof err);
    assert_int_equal(rc, -1);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not say \"%s\"", err, want);
    free(o.data);
    gunzip_free(g);
}

static void test_errors_named(void **state)
{
    (void)state;
    const char *text = "{\"kind\":\"NodeList\",\"items\":[]}";
    size_t zlen;
    unsigned char *z = gz(text, strlen(text), &zlen);
    unsigned char *bad = malloc(zlen + 8);
    memcpy(bad, z, zlen);
    bad[zlen - 6] ^= 0x55; /* the CRC32 of the trailer */
    expect_error(bad, zlen, "CRC or length");
    memcpy(bad, z, zlen);
    bad[zlen - 2] ^= 0x01; /* ISIZE */
    expect_error(bad, zlen, "CRC or length");
    expect_error((const unsigned char *)"{\"kind\":\"NodeList\"}", 19, "not a gzip header");
    memcpy(bad, z, zlen);
    memcpy(bad + zlen, "garbage!", 8);
    expect_error(bad, zlen + 8, "start no gzip member");
    expect_error(z, zlen - 3, "cut short");
    struct gunzip *g = gunzip_new(); /* no body at all (a 204): nothing to inflate, no error */
    char err[200] = "";
    assert_int_equal(gunzip_finish(g, err, sizeof err), 0);
    gunzip_free(g);
    free(bad);
    free(z);
}

static void test_sink_stops(void **state)
{
    (void)state;
    size_t len, zlen;
    char *b = body(&len);
    unsigned char *z = gz(b, len, &zlen);
    struct gunzip *g = gunzip_new();
    struct out o = {.stop_after = 100000};
    char err[200] = "";
    assert_int_equal(gunzip_feed(g, z, zlen, sink, &o, err, sizeof err), 1);
    assert_true(o.len >= 100000 && o.len < 100000 + GUNZIP_OUT);
    assert_memory_equal(o.data, b, o.len);
    free(o.data);
    gunzip_free(g);
    free(z);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_any_cuts),
        cmocka_unit_test(test_members_back_to_back),
        cmocka_unit_test(test_errors_named),
        cmocka_unit_test(test_sink_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
