/* The watch line splitter and event decoder on real recorded watch streams, under every chunk
 * size, every two-chunk split, and random chunkings; caps, malformed and huge lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "watchevent.h"
#include "watchsplit.h"

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/watch/%s", TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    assert_int_equal(fread(d, 1, (size_t)n, f), (size_t)n);
    d[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return d;
}

struct collect {
    struct buf joined; /* lines re-joined with '\n' */
    int lines;
};

static int on_line(void *ctx, const char *line, size_t len)
{
    struct collect *c = ctx;
    buf_append(&c->joined, line, len);
    buf_putc(&c->joined, '\n');
    c->lines++;
    return 0;
}

/* The stream's lines, as the reference: non-empty lines each ending in '\n'. */
static int reference(const char *data, size_t len, struct buf *out)
{
    int lines = 0;
    size_t start = 0;
    for (size_t i = 0; i <= len; i++)
        if (i == len || data[i] == '\n') {
            size_t e = i;
            while (e > start && (data[e - 1] == '\r' || data[e - 1] == ' '))
                e--;
            if (e > start && (i < len)) {
                buf_append(out, data + start, e - start);
                buf_putc(out, '\n');
                lines++;
            }
            start = i + 1;
        }
    return lines;
}

static void feed_chunked(const char *data, size_t len, const size_t *cuts, size_t ncuts, struct collect *c)
{
    struct watch_splitter ws;
    watch_splitter_init(&ws, 1 << 20);
    char err[256];
    size_t pos = 0;
    for (size_t k = 0; k <= ncuts; k++) {
        size_t end = k < ncuts ? cuts[k] : len;
        assert_int_equal(watch_splitter_feed(&ws, data + pos, end - pos, on_line, c, err, sizeof err), 0);
        pos = end;
    }
    watch_splitter_release(&ws);
}

static void check_stream(const char *name)
{
    size_t len;
    char *data = slurp(name, &len);
    struct buf want;
    buf_init(&want, 1 << 24);
    int want_lines = reference(data, len, &want);
    assert_true(want_lines > 0);
    /* every fixed chunk size from 1 to 97 bytes */
    for (size_t chunk = 1; chunk <= 97; chunk++) {
        size_t ncuts = len / chunk;
        size_t *cuts = malloc((ncuts + 1) * sizeof *cuts);
        size_t n = 0;
        for (size_t p = chunk; p < len; p += chunk)
            cuts[n++] = p;
        struct collect c = {.lines = 0};
        buf_init(&c.joined, 1 << 24);
        feed_chunked(data, len, cuts, n, &c);
        if (c.lines != want_lines || c.joined.len != want.len || memcmp(buf_str(&c.joined), buf_str(&want), want.len) != 0)
            fail_msg("%s: chunk size %zu gives %d lines, want %d", name, chunk, c.lines, want_lines);
        buf_release(&c.joined);
        free(cuts);
    }
    /* every single split point (under valgrind, which checks memory on these paths rather than
     * every combination, one in 29: the whole sweep is O(len^2) and runs in the other builds) */
    size_t stride = getenv("PROPSCALER_UNDER_VALGRIND") ? 29 : 1;
    for (size_t cut = 1; cut < len; cut += stride) {
        struct collect c = {.lines = 0};
        buf_init(&c.joined, 1 << 24);
        feed_chunked(data, len, &cut, 1, &c);
        if (c.lines != want_lines || c.joined.len != want.len || memcmp(buf_str(&c.joined), buf_str(&want), want.len) != 0)
            fail_msg("%s: split at byte %zu breaks the lines", name, cut);
        buf_release(&c.joined);
    }
    /* random chunkings */
    unsigned seed = 7;
    for (int round = 0; round < 200; round++) {
        size_t cuts[64], n = 0, p = 0;
        while (n < 64) {
            seed = seed * 1103515245u + 12345u;
            p += 1 + (seed >> 8) % (len / 16 + 1);
            if (p >= len)
                break;
            cuts[n++] = p;
        }
        struct collect c = {.lines = 0};
        buf_init(&c.joined, 1 << 24);
        feed_chunked(data, len, cuts, n, &c);
        assert_int_equal(c.lines, want_lines);
        assert_memory_equal(buf_str(&c.joined), buf_str(&want), want.len);
        buf_release(&c.joined);
    }
    /* every line decodes as a watch event */
    char *line = want.data, *nl;
    int decoded = 0;
    while ((nl = strchr(line, '\n')) != NULL) {
        struct watch_event ev;
        char err[256];
        if (watch_event_parse(line, (size_t)(nl - line), &ev, err, sizeof err) != 0)
            fail_msg("%s: line %d: %s", name, decoded + 1, err);
        assert_non_null(ev.kind);
        watch_event_release(&ev);
        decoded++;
        line = nl + 1;
    }
    assert_int_equal(decoded, want_lines);
    buf_release(&want);
    free(data);
}

static void test_real_streams(void **state)
{
    (void)state;
    check_stream("watch_event-watch_pods.response0.ndjson");
    check_stream("watch_event-watch_pods_without_initial_events.response0.ndjson");
    check_stream("bookmark_initial-events-end.line.json");
    check_stream("watch-error-410-expired.ndjson");
}

static void test_real_events(void **state)
{
    (void)state;
    size_t len;
    char *d = slurp("watch-error-410-expired.ndjson", &len);
    struct watch_event ev;
    char err[256];
    assert_int_equal(watch_event_parse(d, len, &ev, err, sizeof err), 0);
    assert_int_equal(ev.type, WEV_ERROR);
    assert_int_equal(ev.error_code, 410);
    assert_string_equal(ev.error_reason, "Expired");
    assert_string_equal(ev.error_message, "too old resource version: 657887 (680402)");
    watch_event_release(&ev);
    free(d);
    d = slurp("bookmark_initial-events-end.line.json", &len);
    assert_int_equal(watch_event_parse(d, len, &ev, err, sizeof err), 0);
    assert_int_equal(ev.type, WEV_BOOKMARK);
    assert_string_equal(ev.resource_version, "550");
    watch_event_release(&ev);
    free(d);
}

static void test_bad_events(void **state)
{
    (void)state;
    static const struct {
        const char *line, *msg;
    } cases[] = {
        {"{\"type\":\"ADDED\",\"object\":{}} trailing", "unexpected data after the event"},
        {"{\"type\":\"ADDED\"", "not valid JSON"},
        {"{\"type\":\"ADDED\"}", "needs a string \"type\" and an object \"object\""},
        {"{\"type\":\"added\",\"object\":{}}", "unknown event type \"added\""},
        /* a control character is shown, not printed raw: "MODIFIED\x01" must not read as MODIFIED */
        {"{\"type\":\"MODIFIED\\u0001\",\"object\":{}}", "unknown event type \"MODIFIED\\x01\" (expected"},
        {"{\"type\":\"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJ\",\"object\":{}}", "\"ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEF\"... (expected"},
        {"{\"Type\":\"ADDED\",\"object\":{}}", "needs a string"},
        {"{\"t\":-1,\"type\":\"ADDED\",\"object\":{}}", "non-negative"},
        {"[]", "needs a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct watch_event ev;
        char err[256] = "";
        assert_int_equal(watch_event_parse(cases[i].line, strlen(cases[i].line), &ev, err, sizeof err), -1);
        if (!strstr(err, cases[i].msg))
            fail_msg("%s: \"%s\" lacks \"%s\"", cases[i].line, err, cases[i].msg);
    }
    struct watch_event ev;
    char err[256];
    const char *trace = "{\"t\":12.5,\"type\":\"DELETED\",\"object\":{\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\"}}}";
    assert_int_equal(watch_event_parse(trace, strlen(trace), &ev, err, sizeof err), 0);
    assert_true(ev.has_t && ev.t == 12.5 && ev.type == WEV_DELETED);
    assert_string_equal(ev.kind, "Node");
    watch_event_release(&ev);
}

static int stop_at_second(void *ctx, const char *line, size_t len)
{
    (void)line;
    (void)len;
    return ++*(int *)ctx == 2 ? 7 : 0;
}

static void test_caps_and_edges(void **state)
{
    (void)state;
    struct watch_splitter ws;
    char err[256];
    struct collect c = {.lines = 0};
    buf_init(&c.joined, 1 << 20);
    /* a line over the cap fails instead of growing without bound */
    watch_splitter_init(&ws, 64);
    char big[100];
    memset(big, 'x', sizeof big);
    assert_int_equal(watch_splitter_feed(&ws, big, 40, on_line, &c, err, sizeof err), 0);
    assert_int_equal(watch_splitter_pending(&ws), 40);
    assert_int_equal(watch_splitter_feed(&ws, big, 40, on_line, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "larger than 64 bytes"));
    watch_splitter_release(&ws);
    /* CRLF and blank lines; a tail without newline stays pending */
    watch_splitter_init(&ws, 1024);
    assert_int_equal(watch_splitter_feed(&ws, "a\r\n\n\nb\nc", 8, on_line, &c, err, sizeof err), 0);
    assert_int_equal(c.lines, 2);
    assert_string_equal(buf_str(&c.joined), "a\nb\n");
    assert_int_equal(watch_splitter_pending(&ws), 1);
    assert_int_equal(watch_splitter_feed(&ws, "d\n", 2, on_line, &c, err, sizeof err), 0);
    assert_string_equal(buf_str(&c.joined), "a\nb\ncd\n");
    watch_splitter_release(&ws);
    /* a callback's non-zero result stops the feed and is returned */
    watch_splitter_init(&ws, 1024);
    int seen = 0;
    assert_int_equal(watch_splitter_feed(&ws, "1\n2\n3\n", 6, stop_at_second, &seen, err, sizeof err), 7);
    watch_splitter_release(&ws);
    buf_release(&c.joined);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_streams),
        cmocka_unit_test(test_real_events),
        cmocka_unit_test(test_bad_events),
        cmocka_unit_test(test_caps_and_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
