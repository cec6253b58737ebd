/* sim/trace: the trace reader gives the same events, line numbers and bad-line reports however
 * its input arrives — in memory, from a plain file or a gzip one, read one byte or a few bytes
 * at a time (every line split across refills, the window moved and grown) — and keeps its rules:
 * blank lines and CR/LF endings ignored, bad lines reported with their number and skipped,
 * time never going backwards, a truncated last line ignored, an over-long line skipped whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <zlib.h>

#include "trace.h"

#define NODE_LINE(t, type, name)                                                                                      \
    "{\"t\":" t ",\"type\":\"" type "\",\"object\":{\"kind\":\"Node\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"" \
    name "\",\"labels\":{\"kubernetes.io/hostname\":\"" name "\"}},\"spec\":{},\"status\":{\"allocatable\":{\"cpu\":" \
    "\"3920m\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}}"

/* Every shape the reader meets: canonical lines (nodeline), hand-written JSON (nodejson, or the
 * general path when it declines),
 * blanks, CRLF, trailing spaces, garbage, a line without "t", time going backwards, a line of
 * 300 bytes (over the small cap of the windowed runs), and a truncated last line. */
static const char *const input =
    NODE_LINE("0.000000", "ADDED", "a") "\n"
    "\n"
    NODE_LINE("1.500000", "ADDED", "b") "\r\n"
    "{ \"t\": 2, \"type\": \"MODIFIED\", \"object\": {\"kind\": \"Node\", \"metadata\": {\"name\": \"a\"}}}   \n"
    "not json at all\n"
    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"metadata\":{\"name\":\"c\"}}}\n"
    NODE_LINE("1.000000", "DELETED", "b") "\n"
    "   \r\n"
    "{\"t\":3,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"metadata\":{\"name\":\"LONG"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    "xxxxxxxxxxxxxxxx\"}}}\n"
    NODE_LINE("4.000000", "ADDED", "d") "\n"
    "{\"t\":5,\"type\":\"ADDED\",\"object\":{\"kind\":\"No";

struct seen {
    char text[8192];
    size_t len;
    int bad_reports;
};

static void report(void *ctx, const struct trace_report *r)
{
    struct seen *s = ctx;
    s->bad_reports += r->kind == TRACE_BAD_LINE;
    s->len += (size_t)snprintf(s->text + s->len, sizeof s->text - s->len, "%s %ld: %s [%.*s]\n",
                               r->kind == TRACE_BAD_LINE ? "bad" : "order", r->line, r->message,
                               r->text ? (int)(r->len > 30 ? 30 : r->len) : 0, r->text ? r->text : "");
}

/* Read a whole trace into a transcript: one line per event (time, type, name, which path). */
static void transcript(struct trace *t, struct seen *s)
{
    assert_non_null(t);
    trace_decode_nodes(t, NULL);
    struct trace_event ev;
    char err[256];
    int got;
    while ((got = trace_next(t, &ev, err, sizeof err)) == 1) {
        const char *name = ev.node ? ev.node->name : "(json)";
        s->len += (size_t)snprintf(s->text + s->len, sizeof s->text - s->len, "line %ld t=%.6f type=%d %s %s\n",
                                   trace_line(t), ev.t, (int)ev.type, ev.node ? "fast" : "json", name);
    }
    assert_int_equal(got, 0);
    s->len += (size_t)snprintf(s->text + s->len, sizeof s->text - s->len,
                               "end at line %ld, %ld bad, %ld out of order, %ld fast\n", trace_line(t),
                               trace_bad_lines(t), trace_out_of_order(t), trace_fast_lines(t));
    trace_close(t);
}

static void write_file(const char *path, const char *data, size_t len, bool gzip)
{
    if (gzip) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, data, (unsigned)len), (int)len);
        assert_int_equal(gzclose(f), Z_OK);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        assert_int_equal(fclose(f), 0);
    }
}

static void test_same_events_every_way(void **state)
{
    (void)state;
    char err[256];
    size_t n = strlen(input);
    struct seen ref = {0};
    transcript(trace_open_memory("mem", input, n, report, &ref, err, sizeof err), &ref);
    /* what the rules say, independently of how it was read */
    assert_non_null(strstr(ref.text, "line 1 t=0.000000 type=0 fast a\n"));
    assert_non_null(strstr(ref.text, "line 3 t=1.500000 type=0 fast b\n")); /* CRLF */
    assert_non_null(strstr(ref.text, "line 4 t=2.000000 type=1 fast a\n")); /* strict JSON, another layout: nodejson */
    assert_non_null(strstr(ref.text, "bad 5: not valid JSON (near byte 1), skipped [not json at all]\n"));
    assert_non_null(strstr(ref.text, "bad 6: event without \"t\""));
    assert_non_null(strstr(ref.text, "order 7: time goes backwards (1 after 2); using 2 []\n"));
    assert_non_null(strstr(ref.text, "line 7 t=2.000000 type=2 fast b\n")); /* clamped, kept */
    assert_non_null(strstr(ref.text, "line 9 t=3.000000 type=0 fast LONGxxx"));
    assert_non_null(strstr(ref.text, "line 10 t=4.000000 type=0 fast d\n"));
    assert_non_null(strstr(ref.text, "bad 11: truncated last line (the recording stopped mid-line), ignored [{\"t\":5,\"type\":\"ADDED\",\"object\"]\n"));
    assert_non_null(strstr(ref.text, "end at line 11, 3 bad, 1 out of order, 6 fast\n"));

    char path[] = "/tmp/test-trace-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    for (int gz = 0; gz <= 2; gz++) {
        write_file(path, input, gz == 2 ? n / 2 : n, gz != 0);
        if (gz == 2) { /* two gzip members, as gzip -c a b > c writes them, and bytes after them
                        * that start no member: read as one stream, the bytes ignored (as gzread) */
            gzFile f = gzopen(path, "ab");
            assert_non_null(f);
            assert_int_equal(gzwrite(f, input + n / 2, (unsigned)(n - n / 2)), (int)(n - n / 2));
            assert_int_equal(gzclose(f), Z_OK);
            FILE *g = fopen(path, "ab");
            assert_non_null(g);
            assert_int_equal(fwrite("\0\0junk", 1, 6, g), 6);
            assert_int_equal(fclose(g), 0);
        }
        struct seen whole = {0};
        transcript(trace_open(path, report, &whole, err, sizeof err), &whole);
        assert_string_equal(whole.text, ref.text);
        /* a few bytes at a time: every line crosses refills; the window moves and grows */
        static const size_t chunks[] = {1, 2, 3, 7, 64, 255};
        for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
            struct seen small = {0};
            struct trace *t = trace_open(path, report, &small, err, sizeof err);
            assert_non_null(t);
            assert_int_equal(trace_set_window(t, chunks[c], 4096), 0);
            transcript(t, &small);
            assert_string_equal(small.text, ref.text);
        }
    }
    unlink(path);
}

/* A line at or past the cap is skipped whole and reported; the lines around it are read, whether
 * it is in the middle, at the end with a newline, or last without one. */
static void test_over_long_line_skipped(void **state)
{
    (void)state;
    char err[256];
    char path[] = "/tmp/test-trace-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    static const char *const tails[] = {"\n" NODE_LINE("9.000000", "ADDED", "z") "\n", "\n", ""};
    for (size_t k = 0; k < sizeof tails / sizeof *tails; k++) {
        char data[8192];
        size_t n = (size_t)snprintf(data, sizeof data, "%s\n", NODE_LINE("1.000000", "ADDED", "a"));
        memset(data + n, 'x', 1000); /* 1,000 bytes: past a 256-byte cap */
        n += 1000;
        n += (size_t)snprintf(data + n, sizeof data - n, "%s", tails[k]);
        for (int gz = 0; gz <= 1; gz++) {
            write_file(path, data, n, gz);
            for (size_t chunk = 1; chunk <= 256; chunk *= 4) {
                struct seen s = {0};
                struct trace *t = trace_open(path, report, &s, err, sizeof err);
                assert_non_null(t);
                assert_int_equal(trace_set_window(t, chunk, 256), 0);
                transcript(t, &s);
                assert_non_null(strstr(s.text, "line 1 t=1.000000 type=0 fast a\n"));
                assert_non_null(strstr(s.text, "bad 2: line longer than 256 bytes, skipped []\n"));
                assert_int_equal(s.bad_reports, 1);
                if (k == 0)
                    assert_non_null(strstr(s.text, "line 3 t=9.000000 type=0 fast z\nend at line 3, 1 bad, 0 out of order, 2 fast\n"));
                else
                    assert_non_null(strstr(s.text, "end at line 2, 1 bad, 0 out of order, 1 fast\n"));
            }
        }
    }
    unlink(path);
}

/* A file that is not what it says (a gzip stream cut short) is a read error, not an end. */
static void test_truncated_gzip_is_an_error(void **state)
{
    (void)state;
    char path[] = "/tmp/test-trace-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    char big[65536];
    size_t n = 0;
    for (int i = 0; n + 400 < sizeof big; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "{\"t\":%d,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\","
                                                       "\"metadata\":{\"name\":\"n%d\"}}}\n", i, i * 7919);
    write_file(path, big, n, true);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char z[65536];
    size_t zn = fread(z, 1, sizeof z, f);
    fclose(f);
    assert_true(zn > 100);
    write_file(path, z, zn / 2, false); /* the first half of the gzip stream */
    char err[256] = "";
    struct trace *t = trace_open(path, NULL, NULL, err, sizeof err);
    assert_non_null(t);
    struct trace_event ev;
    int got, events = 0;
    while ((got = trace_next(t, &ev, err, sizeof err)) == 1)
        events++;
    assert_int_equal(got, -1);
    assert_true(events > 0);
    assert_non_null(strstr(err, path));
    trace_close(t);
    unlink(path);
}

/* {"t":T,"type":"END"} ends the observation: returned as an event with `end`, the lines after it
 * reported and skipped; a line that only mentions "END" elsewhere is an ordinary line. */
static void test_end_marker(void **state)
{
    (void)state;
    static const char data[] =
        NODE_LINE("1.000000", "ADDED", "a") "\n"
        "{\"t\":2,\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Node\",\"metadata\":{\"name\":\"END\"}}}\n"
        "{\"type\":\"END\",\"t\":3600}\n"
        NODE_LINE("4000.000000", "ADDED", "b") "\n"
        "\n";
    char err[256];
    struct seen s = {0};
    struct trace *t = trace_open_memory("mem", data, sizeof data - 1, report, &s, err, sizeof err);
    assert_non_null(t);
    struct trace_event ev;
    assert_int_equal(trace_next(t, &ev, err, sizeof err), 1);
    assert_false(ev.end);
    assert_int_equal(trace_next(t, &ev, err, sizeof err), 1);
    assert_false(ev.end);
    assert_non_null(ev.ev);
    assert_int_equal(trace_next(t, &ev, err, sizeof err), 1);
    assert_true(ev.end);
    assert_true(ev.t == 3600);
    assert_null(ev.ev);
    assert_null(ev.node);
    assert_int_equal(trace_next(t, &ev, err, sizeof err), 0);
    assert_int_equal(trace_bad_lines(t), 1);
    assert_non_null(strstr(s.text, "bad 4: after the END marker of line 3, ignored"));
    trace_close(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_events_every_way),
        cmocka_unit_test(test_over_long_line_skipped),
        cmocka_unit_test(test_truncated_gzip_is_an_error),
        cmocka_unit_test(test_end_marker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
