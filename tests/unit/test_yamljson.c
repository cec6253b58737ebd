/* YAML (and JSON) documents as cJSON trees: typing, multi-document streams, errors, bombs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "buf.h"
#include "yamljson.h"

static cJSON *parse_ok(const char *text)
{
    char err[512] = "";
    cJSON *d = yamljson_parse(text, strlen(text), err, sizeof err);
    if (!d)
        fail_msg("%s", err);
    return d;
}

static void test_scalars(void **state)
{
    (void)state;
    cJSON *docs = parse_ok("a: 1\nb: \"1\"\nc: true\nd: yes\ne: ~\nf:\ng: 3920m\nh: '007'\ni: 1.5e3\n"
                           "j: |\n  {\"linear\": 1}\nl: -0.5\nm: 0x10\nn: null\n");
    const cJSON *d = cJSON_GetArrayItem(docs, 0);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(d, "a")));
    assert_string_equal(cJSON_GetObjectItem(d, "b")->valuestring, "1");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "c")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(d, "d")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(d, "e")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(d, "f")));
    assert_string_equal(cJSON_GetObjectItem(d, "g")->valuestring, "3920m");
    assert_string_equal(cJSON_GetObjectItem(d, "h")->valuestring, "007");
    assert_true(cJSON_GetObjectItem(d, "i")->valuedouble == 1500);
    assert_string_equal(cJSON_GetObjectItem(d, "j")->valuestring, "{\"linear\": 1}\n");
    assert_true(cJSON_GetObjectItem(d, "l")->valuedouble == -0.5);
    assert_string_equal(cJSON_GetObjectItem(d, "m")->valuestring, "0x10");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(d, "n")));
    cJSON_Delete(docs);
}

static void test_multi_document_and_real_manifest(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/manifests/examples__linear.yaml", TEST_DATA_DIR);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *docs = parse_ok(buf);
    assert_int_equal(cJSON_GetArraySize(docs), 3);
    const cJSON *cm = cJSON_GetArrayItem(docs, 0);
    assert_string_equal(cJSON_GetObjectItem(cm, "kind")->valuestring, "ConfigMap");
    const cJSON *lin = cJSON_GetObjectItem(cJSON_GetObjectItem(cm, "data"), "linear");
    assert_true(cJSON_IsString(lin));
    assert_non_null(strstr(lin->valuestring, "\"preventSinglePointFailure\": true"));
    cJSON_Delete(docs);

    docs = parse_ok("---\na: 1\n---\n---\nb: [x, {c: d}]\n...\n");
    assert_int_equal(cJSON_GetArraySize(docs), 3);
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(docs, 1)));
    cJSON_Delete(docs);

    docs = parse_ok("");
    assert_int_equal(cJSON_GetArraySize(docs), 0);
    cJSON_Delete(docs);
}

static void test_json_path(void **state)
{
    (void)state;
    cJSON *docs = parse_ok("  {\"kind\":\"NodeList\",\"items\":[]}\n");
    assert_int_equal(cJSON_GetArraySize(docs), 1);
    cJSON_Delete(docs);
    char err[256];
    assert_null(yamljson_parse("{\"a\":1,}", 8, err, sizeof err));
    assert_non_null(strstr(err, "JSON syntax error at line 1"));
    assert_null(yamljson_parse("{\"a\":1}\n{\"b\":2}", 15, err, sizeof err));
    assert_non_null(strstr(err, "unexpected data after the end"));
}

static void test_errors_and_bombs(void **state)
{
    (void)state;
    char err[512];
    assert_null(yamljson_parse("a: 1\nb: [unclosed\n", 18, err, sizeof err));
    assert_non_null(strstr(err, "YAML error at line"));
    assert_null(yamljson_parse("a: b: c\n", 8, err, sizeof err));
    assert_non_null(strstr(err, "line 1"));
    /* aliases expand, but an alias bomb hits the node cap instead of exhausting memory */
    cJSON *docs = parse_ok("x: &a [1, 2]\ny: *a\n");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(docs, 0), "y")), 2);
    cJSON_Delete(docs);
    const char *bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                       "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                       "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                       "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
    assert_null(yamljson_parse(bomb, strlen(bomb), err, sizeof err));
    assert_non_null(strstr(err, "alias bomb"));
    assert_null(yamljson_parse("? [a]\n: b\n", 10, err, sizeof err));
    assert_non_null(strstr(err, "mapping keys must be scalars"));
}

/* The reader: one document at a time with its starting line; the node cap per document, so a
 * stream larger than the cap as a whole still reads; an error ends the stream after the good
 * documents before it. */
static void test_reader(void **state)
{
    (void)state;
    char err[512];
    const char *text = "a: 1\n---\nb: 2\n---\n\n# comment\nc: [3]\n---\n";
    struct yamljson_reader *r = yamljson_reader_new(text, strlen(text), err, sizeof err);
    assert_non_null(r);
    cJSON *doc;
    size_t line;
    static const size_t lines[] = {1, 2, 4, 8};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(yamljson_reader_next(r, &doc, &line, err, sizeof err), 1);
        assert_int_equal(line, lines[i]);
        if (i == 3)
            assert_true(cJSON_IsNull(doc)); /* the trailing empty document */
        else
            assert_non_null(cJSON_GetObjectItem(doc, i == 0 ? "a" : i == 1 ? "b" : "c"));
        cJSON_Delete(doc);
    }
    assert_int_equal(yamljson_reader_next(r, &doc, &line, err, sizeof err), 0);
    assert_int_equal(yamljson_reader_next(r, &doc, &line, err, sizeof err), 0);
    yamljson_reader_free(r);

    /* 2,000 documents of 1,001 nodes each: over the cap as one stream, fine one at a time (4M
     * nodes parsed: minutes under valgrind, whose memory checks the small cases cover; the plain
     * and sanitizer builds run it) */
    struct buf b;
    buf_init(&b, 64u << 20);
    int docs = getenv("PROPSCALER_UNDER_VALGRIND") ? 0 : 2000;
    for (int i = 0; i < docs; i++) {
        buf_puts(&b, "---\nitems: [");
        for (int k = 0; k < 999; k++)
            buf_puts(&b, "1,");
        buf_puts(&b, "1]\n");
    }
    assert_false(b.failed);
    if (docs) {
        assert_null(yamljson_parse(b.data, b.len, err, sizeof err));
        assert_non_null(strstr(err, "more than 2000000 nodes"));
    }
    r = yamljson_reader_new(b.data ? b.data : "", b.len, err, sizeof err);
    int n = 0, got;
    while ((got = yamljson_reader_next(r, &doc, NULL, err, sizeof err)) == 1) {
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "items")), 1000);
        cJSON_Delete(doc);
        n++;
    }
    assert_int_equal(got, 0);
    assert_int_equal(n, docs);
    yamljson_reader_free(r);
    buf_release(&b);

    /* a syntax error in the third document: two documents, then -1 naming the line */
    const char *bad = "a: 1\n---\nb: 2\n---\nc: [unclosed\n";
    r = yamljson_reader_new(bad, strlen(bad), err, sizeof err);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(yamljson_reader_next(r, &doc, NULL, err, sizeof err), 1);
        cJSON_Delete(doc);
    }
    assert_int_equal(yamljson_reader_next(r, &doc, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, "YAML error at line"));
    assert_int_equal(yamljson_reader_next(r, &doc, NULL, err, sizeof err), 0);
    yamljson_reader_free(r);

    /* JSON input: one document */
    r = yamljson_reader_new(" {\"x\": [1]}", 11, err, sizeof err);
    assert_int_equal(yamljson_reader_next(r, &doc, &line, err, sizeof err), 1);
    assert_int_equal(line, 1);
    assert_non_null(cJSON_GetObjectItem(doc, "x"));
    cJSON_Delete(doc);
    assert_int_equal(yamljson_reader_next(r, &doc, &line, err, sizeof err), 0);
    yamljson_reader_free(r);
}

/* Every document a reader gives, printed one per line after its starting line; *rc is the
 * reader's last answer (0 at the end, -1 on an error, with err set). Frees the reader. */
static char *print_docs(struct yamljson_reader *r, int *rc, char *err, size_t errlen)
{
    struct buf out;
    buf_init(&out, 256u << 20);
    *rc = -1;
    if (r) {
        cJSON *doc;
        size_t line;
        while ((*rc = yamljson_reader_next(r, &doc, &line, err, errlen)) == 1) {
            char *p = cJSON_PrintUnformatted(doc);
            buf_printf(&out, "%zu %s\n", line, p);
            free(p);
            cJSON_Delete(doc);
        }
        yamljson_reader_free(r);
    }
    return buf_take(&out);
}

/* The documents of `text` through a file reader (a temporary file). */
static char *read_file_docs(const char *text, size_t len, size_t cap, int *rc, char *err, size_t errlen)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    rewind(f);
    char *docs = print_docs(yamljson_reader_open(f, cap, err, errlen), rc, err, errlen);
    fclose(f);
    return docs;
}

/* The same through the in-memory reader. */
static char *read_mem_docs(const char *text, size_t len, int *rc, char *err, size_t errlen)
{
    return print_docs(yamljson_reader_new(text, len, err, errlen), rc, err, errlen);
}

/* The file reader streams the YAML (across libyaml's read chunks and the 64 KiB head it reads
 * to tell JSON from YAML) and gives exactly what the in-memory reader gives; JSON is read whole;
 * the byte cap is an error that says so. */
static void test_file_reader(void **state)
{
    (void)state;
    char err1[512], err2[512];
    struct buf big;
    buf_init(&big, 64u << 20);
    for (int i = 0; i < 3000; i++) /* ~200 KiB: several chunks, documents straddling them */
        buf_printf(&big, "---\nkind: Node\nmetadata: {name: n%d, labels: {zone: \"z%d\"}}\nitems: [%d, x%d, 'q']\n", i,
                   i % 7, i, i);
    const char *texts[] = {"a: 1\n---\nb: 2\n---\n\n# c\nc: [3]\n---\n", "", "  \n {\"x\": [1, {\"y\": null}]}\n",
                           "a: 1\n---\nb: [unclosed\n", "[1, 2", big.data};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        int rc1, rc2;
        char *want = read_mem_docs(texts[i], strlen(texts[i]), &rc1, err1, sizeof err1);
        char *got = read_file_docs(texts[i], strlen(texts[i]), 1u << 30, &rc2, err2, sizeof err2);
        assert_int_equal(rc1, rc2);
        assert_string_equal(want, got);
        if (rc1 < 0)
            assert_string_equal(err1, err2);
        free(want);
        free(got);
    }
    /* over the cap: the documents before it, then an error naming the limit (YAML and JSON) */
    int rc;
    char *got = read_file_docs(big.data, big.len, 100000, &rc, err1, sizeof err1);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err1, "larger than the 100000-byte limit"));
    assert_true(strlen(got) > 0);
    free(got);
    buf_reset(&big);
    buf_puts(&big, "[");
    for (int i = 0; i < 50000; i++)
        buf_puts(&big, "12345,");
    buf_puts(&big, "0]");
    got = read_file_docs(big.data, big.len, 200000, &rc, err1, sizeof err1);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err1, "larger than the 200000-byte limit"));
    free(got);
    got = read_file_docs(big.data, big.len, 1u << 30, &rc, err1, sizeof err1);
    assert_int_equal(rc, 0);
    assert_int_equal(strncmp(got, "1 [12345,", 9), 0);
    free(got);
    buf_release(&big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_multi_document_and_real_manifest),
        cmocka_unit_test(test_json_path),
        cmocka_unit_test(test_errors_and_bombs),
        cmocka_unit_test(test_reader),
        cmocka_unit_test(test_file_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
