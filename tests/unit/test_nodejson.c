/* The tree-free decoders (policies/nodejson, policies/liststream) against cJSON + the general
 * decoders (nodejson_ref.h): real Nodes and a real NodeList take the fast paths and decode exactly
 * as before, under every counting option and however the page is cut into chunks; near misses
 * are declined; random mutations of real objects and pages never make the two disagree. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nodejson_ref.h"
#include "selector.h"
#define TEST_RNG_SEED 0x6a09e667f3bcc909u
#include "test_rng.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return data;
}

/* Counting options the fast path must honour exactly as node_decode does. */
#define N_OPTS 5
struct optsets {
    struct node_count_opts o[N_OPTS];
    struct selector *sel;
};

static void optsets_init(struct optsets *s)
{
    char err[256];
    memset(s, 0, sizeof *s);
    for (int i = 0; i < N_OPTS; i++)
        node_count_opts_init(&s->o[i]);
    s->o[1].legacy_schedulable = true;
    s->o[2].max_nano_per_node = 2000000000;
    assert_int_equal(node_count_opts_add_taint(&s->o[3], "node-role.kubernetes.io/master", err, sizeof err), 0);
    assert_int_equal(selector_parse("node-role.kubernetes.io/worker,kubernetes.io/os=linux", &s->sel, err, sizeof err), 0);
    s->o[4].selector = s->sel;
}

static void optsets_release(struct optsets *s)
{
    for (int i = 0; i < N_OPTS; i++)
        node_count_opts_release(&s->o[i]);
    selector_free(s->sel);
}

/* Every option set: the contract holds; returns the fast path's answer under the default one. */
static int check_all(const struct optsets *s, const char *json, size_t len)
{
    char why[600];
    int first = 0;
    for (int i = 0; i < N_OPTS; i++) {
        int rc = nodejson_check(json, len, &s->o[i], why, sizeof why);
        if (rc < 0)
            fail_msg("options %d: %s on: %.*s", i, why, (int)(len > 400 ? 400 : len), json);
        if (i == 0)
            first = rc;
    }
    return first;
}

static void mutate(char *buf, size_t *len, size_t cap)
{
    static const char bytes[] = "{}[]\":,\\ 0123456789-.eEtrufalsn\x01\x7fu\xc3";
    size_t at = (size_t)(rnd() % (*len ? *len : 1));
    switch (rnd() % 4) {
    case 0: /* replace */
        if (*len)
            buf[at] = bytes[rnd() % (sizeof bytes - 1)];
        break;
    case 1: /* delete */
        if (*len) {
            memmove(buf + at, buf + at + 1, *len - at - 1);
            (*len)--;
        }
        break;
    case 2: /* insert */
        if (*len + 1 < cap) {
            memmove(buf + at + 1, buf + at, *len - at);
            buf[at] = bytes[rnd() % (sizeof bytes - 1)];
            (*len)++;
        }
        break;
    default: { /* copy a run elsewhere (duplicate keys, nested objects) */
        size_t from = (size_t)(rnd() % (*len ? *len : 1)), n = (size_t)(rnd() % 40);
        if (from + n <= *len && *len + n < cap) {
            char tmp[40];
            memcpy(tmp, buf + from, n);
            memmove(buf + at + n, buf + at, *len - at);
            memcpy(buf + at, tmp, n);
            *len += n;
        }
        break;
    }
    }
}

static void test_real_nodes(void **state)
{
    (void)state;
    struct optsets s;
    optsets_init(&s);
    DIR *d = opendir(TEST_DATA_DIR "/nodes");
    assert_non_null(d);
    struct dirent *de;
    int nodes = 0;
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, ".json") || strstr(de->d_name, "nodelist"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/nodes/%s", TEST_DATA_DIR, de->d_name);
        size_t len;
        char *json = slurp(path, &len);
        /* a real Node (pretty-printed, escapes in its annotations) takes the fast path */
        if (check_all(&s, json, len) != 1)
            fail_msg("a real node was declined: %s", de->d_name);
        nodes++;
        /* mutations of it never make the fast path and cJSON disagree */
        size_t cap = len + 4096;
        char *m = malloc(cap);
        int accepted = 0;
        for (int round = 0; round < 600; round++) {
            size_t n = len;
            memcpy(m, json, len);
            for (int k = 1 + (int)(rnd() % 3); k > 0; k--)
                mutate(m, &n, cap);
            accepted += check_all(&s, m, n) == 1;
        }
        assert_true(accepted > 0); /* some mutations stay valid (in a skipped value) */
        free(m);
        free(json);
    }
    closedir(d);
    assert_true(nodes >= 8);
    optsets_release(&s);
}

static void expect(const char *json, int want)
{
    struct optsets s;
    optsets_init(&s);
    int got = check_all(&s, json, strlen(json));
    if (got != want)
        fail_msg("expected %s for: %s", want ? "accepted" : "declined", json);
    optsets_release(&s);
}

static void test_near_misses(void **state)
{
    (void)state;
    expect("{\"metadata\":{\"name\":\"a\"},\"status\":{\"allocatable\":{\"cpu\":\"2\"},"
           "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}", 1);
    /* the first member of a name counts, as cJSON's getters read */
    expect("{\"metadata\":{\"name\":\"a\",\"name\":\"b\"},\"metadata\":{\"name\":\"c\"}}", 1);
    expect("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"unschedulable\":true,\"unschedulable\":false}}", 1);
    expect("{\"metadata\":{\"name\":\"a\"},\"spec\":null,\"status\":7}", 1);
    expect("{\"metadata\":{\"name\":\"a\"},\"status\":{\"allocatable\":{\"cpu\":null}}}", 1);
    /* the last Ready condition decides; non-objects in the array are ignored */
    expect("{\"metadata\":{\"name\":\"a\"},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"},3,"
           "{\"status\":\"True\",\"type\":\"Ready\"},{\"type\":\"Ready\",\"status\":\"False\"}]}}", 1);
    /* escapes: in skipped strings fine, in read ones declined */
    expect("{\"metadata\":{\"name\":\"a\",\"annotations\":{\"x\":\"{\\\"k\\\":\\\"\\u0026\\/\\n\\\"}\"}}}", 1);
    expect("{\"metadata\":{\"name\":\"\\u0061\"}}", 0);
    expect("{\"kind\":\"Nod\\u0065\",\"metadata\":{\"name\":\"a\"}}", 0);
    expect("{\"metadata\":{\"n\\u0061me\":\"a\"}}", 0);
    expect("{\"metadata\":{\"name\":\"a\",\"annotations\":{\"x\":\"\\ud83d\\ude00\"}}}", 0); /* surrogates */
    expect("{\"metadata\":{\"name\":\"a\",\"annotations\":{\"x\":\"\\uZZZZ\"}}}", 0);
    /* what node_decode refuses, and what cJSON reads another way */
    expect("{\"kind\":\"Pod\",\"metadata\":{\"name\":\"a\"}}", 0);
    expect("{\"metadata\":{\"name\":\"\"}}", 0);
    expect("{\"metadata\":{\"name\":1}}", 0);
    expect("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"unschedulable\":\"true\"}}", 0);
    expect("{\"metadata\":{\"name\":\"a\"},\"status\":{\"allocatable\":{\"cpu\":4}}}", 0);
    expect("{\"metadata\":{\"name\":\"a\"},\"status\":{\"allocatable\":{\"cpu\":\"4x\"}}}", 0);
    expect("{\"metadata\":{\"name\":\"a\"},\"status\":{\"conditions\":{\"x\":{\"type\":\"Ready\",\"status\":\"True\"}}}}", 0);
    expect("{\"metadata\":{\"name\":\"a\"}} x", 0);
    expect("\xef\xbb\xbf{\"metadata\":{\"name\":\"a\"}}", 0);
    expect("{\"metadata\":{\"name\":\"a\",\"n\":01}}", 0);
    expect("{\"metadata\":{\"name\":\"a\",\"n\":1.}}", 0);
    expect("{\"metadata\":{\"name\":\"a\",\"n\":[1,]}}", 0);
    expect("{\"metadata\":{\"name\":\"a\",\"n\":\"\x01\"}}", 0);
    expect("{\"metadata\":{\"name\":\"a\",\"n\":-0.5e+3}}", 1);
    /* nesting past the scanner's depth is declined */
    char deep[2000] = "{\"metadata\":{\"name\":\"a\"},\"x\":";
    size_t n = strlen(deep);
    for (int i = 0; i < 300; i++)
        deep[n++] = '[';
    for (int i = 0; i < 300; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    deep[n] = '\0';
    expect(deep, 0);
}

static const size_t chunkings[][3] = {{1, 1, 1}, {7, 13, 3}, {4096, 4096, 4096}, {1 << 30, 1 << 30, 1 << 30}, {500, 1, 33}};

static void test_real_page(void **state)
{
    (void)state;
    size_t len;
    char *page = slurp(TEST_DATA_DIR "/nodes/eks-nodelist.json", &len);
    char why[600];
    for (size_t c = 0; c < sizeof chunkings / sizeof *chunkings; c++) {
        int rc = liststream_check(page, len, chunkings[c], 3, why, sizeof why);
        if (rc != 1)
            fail_msg("the real NodeList, chunking %zu: %s", c, rc < 0 ? why : "refused");
    }
    /* its items take the node fast path */
    cJSON *root = cJSON_Parse(page);
    const cJSON *it;
    struct optsets s;
    optsets_init(&s);
    int items = 0;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root, "items"))
    {
        char *text = cJSON_PrintUnformatted(it);
        assert_int_equal(check_all(&s, text, strlen(text)), 1);
        free(text);
        items++;
    }
    assert_true(items >= 2);
    optsets_release(&s);
    cJSON_Delete(root);
    /* mutated pages: the stream never accepts what the whole page would not, nor reads it otherwise */
    size_t cap = len + 4096;
    char *m = malloc(cap);
    for (int round = 0; round < 1500; round++) {
        size_t n = len;
        memcpy(m, page, len);
        for (int k = 1 + (int)(rnd() % 3); k > 0; k--)
            mutate(m, &n, cap);
        if (liststream_check(m, n, chunkings[round % 5], 3, why, sizeof why) < 0)
            fail_msg("round %d: %s", round, why);
    }
    free(m);
    free(page);
}

static int page_verdict(const char *page)
{
    char why[600];
    static const size_t one[] = {1};
    int a = liststream_check(page, strlen(page), one, 1, why, sizeof why);
    static const size_t big[] = {1 << 20};
    int b = liststream_check(page, strlen(page), big, 1, why, sizeof why);
    if (a < 0 || b < 0)
        fail_msg("%s on: %s", why, page);
    assert_int_equal(a, b);
    return a;
}

static void test_page_cases(void **state)
{
    (void)state;
    /* kind after the items, metadata anywhere, strings holding braces */
    assert_int_equal(page_verdict("{\"items\":[{\"metadata\":{\"name\":\"a}]\\\"{\"}},{}],\"metadata\":{\"resourceVersion\":\"5\","
                                  "\"continue\":\"c\",\"remainingItemCount\":3},\"kind\":\"NodeList\"}"),
                     1);
    /* the first "items" is the list, a later one is ignored; a non-array first one is no items */
    assert_int_equal(page_verdict("{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[{\"a\":1}],"
                                  "\"items\":[{\"b\":2}]}"),
                     1);
    assert_int_equal(page_verdict("{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":null,"
                                  "\"items\":[{\"b\":2}]}"),
                     1);
    assert_int_equal(page_verdict("{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]}"), 1);
    /* the head's continue token (the next page asked for early): the first metadata's first
     * continue, as the whole page is read; page_verdict holds the head to the whole skeleton */
    assert_int_equal(page_verdict("{\"kind\":\"NodeList\",\"metadata\":{\"continue\":\"a\",\"continue\":\"b\","
                                  "\"resourceVersion\":\"5\"},\"items\":[{\"a\":1}],\"metadata\":{\"continue\":\"c\"}}"),
                     1);
    char token[16];
    const char *head = "{\"kind\":\"NodeList\",\"metadata\":{\"continue\":\"a\",\"continue\":\"b\"},\"items\":[";
    assert_int_equal(kanswer_list_head_token(head, strlen(head), token, sizeof token), 1);
    assert_string_equal(token, "a");
    head = "{\"kind\":\"NodeList\",\"metadata\":{\"continue\":\"\"},\"items\":["; /* the last page */
    assert_int_equal(kanswer_list_head_token(head, strlen(head), token, sizeof token), 0);
    head = "{\"kind\":\"NodeList\",\"items\":["; /* metadata after the items: none told */
    assert_int_equal(kanswer_list_head_token(head, strlen(head), token, sizeof token), 0);
    head = "{\"metadata\":{\"continue\":\"0123456789abcdef\"},\"items\":["; /* longer than the room */
    assert_int_equal(kanswer_list_head_token(head, strlen(head), token, sizeof token), 0);
    /* refused, as whole */
    assert_int_equal(page_verdict("{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[1]}"), 0);
    assert_int_equal(page_verdict("{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[{\"a\":}]}"), 0);
    assert_int_equal(page_verdict("{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[{\"a\":1}"), 0);
    assert_int_equal(page_verdict("{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[{\"a\":1}]}"), 0);
    assert_int_equal(page_verdict("{\"kind\":\"NodeList\",\"items\":[{\"a\":1}]}"), 0);
    assert_int_equal(page_verdict("<html>{\"items\":[{}]}</html>"), 0);
    /* an escaped top-level key: cJSON would read "items"; the stream refuses rather than guess
     * (the one documented difference: no API server writes keys so) */
    assert_int_equal(page_verdict("{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"it\\u0065ms\":[{\"a\":1}]}"), 0);
    /* nesting: the page's depth counts, as a whole-page parse counts it */
    size_t cap = 4000;
    char *deep = malloc(cap);
    for (int depth = 996; depth <= 1000; depth++) {
        size_t n = (size_t)snprintf(deep, cap, "{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[{\"x\":");
        for (int i = 0; i < depth - 3; i++)
            deep[n++] = '[';
        for (int i = 0; i < depth - 3; i++)
            deep[n++] = ']';
        memcpy(deep + n, "}]}", 4);
        int v = page_verdict(deep);
        struct kresp resp = {.status = 200, .body = deep, .len = strlen(deep), .content_type = ""};
        cJSON *root = NULL;
        char err[700];
        int whole = kanswer_object(&resp, "NodeList", &root, err, sizeof err) == 0;
        cJSON_Delete(root);
        assert_int_equal(v, whole);
    }
    free(deep);
}

static void test_envelopes(void **state)
{
    (void)state;
    static const char *files[] = {"watch_event-watch_pods.response0.ndjson", "watch-error-410-expired.ndjson",
                                  "watch_event-watch_pods_without_initial_events.response0.ndjson"};
    char why[600];
    int accepted = 0;
    for (size_t f = 0; f < sizeof files / sizeof *files; f++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/watch/%s", TEST_DATA_DIR, files[f]);
        size_t len;
        char *data = slurp(path, &len);
        for (char *line = data, *nl; line < data + len; line = nl + 1) {
            nl = memchr(line, '\n', (size_t)(data + len - line));
            if (!nl)
                nl = data + len;
            size_t n = (size_t)(nl - line);
            int rc = envelope_check(line, n, why, sizeof why);
            if (rc < 0)
                fail_msg("%s: %s", files[f], why);
            accepted += rc;
            char m[65536];
            for (int round = 0; round < 200 && n + 64 < sizeof m; round++) {
                size_t k = n;
                memcpy(m, line, n);
                mutate(m, &k, sizeof m);
                if (envelope_check(m, k, why, sizeof why) < 0)
                    fail_msg("%s mutated: %s", files[f], why);
            }
        }
        free(data);
    }
    assert_true(accepted >= 3);
    /* a trace line's "t" and unknown types go the general way */
    assert_int_equal(envelope_check("{\"t\":1,\"type\":\"ADDED\",\"object\":{}}", 34, why, sizeof why), 0);
    assert_int_equal(envelope_check("{\"type\":\"ADDED \",\"object\":{}}", 29, why, sizeof why), 0);
    assert_int_equal(envelope_check("{\"type\":\"ADDED\",\"object\":{}}", 28, why, sizeof why), 1);
    /* the fixed shape finds the object without reading it; the decoder's verdict completes it */
    enum watch_event_type type;
    struct json_span obj;
    struct node_obs node;
    const char *shaped = "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"n1\"}}}\r\n";
    assert_int_equal(nodejson_event_shape(shaped, strlen(shaped), &type, &obj), 1);
    assert_int_equal(type, WEV_MODIFIED);
    assert_int_equal(nodejson_decode(obj.p, obj.len, NULL, &node, NULL), 1);
    assert_string_equal(node.name, "n1");
    const char *extra = "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"n1\"}},\"x\":{}}";
    assert_int_equal(nodejson_event_shape(extra, strlen(extra), &type, &obj), 1);
    assert_int_equal(nodejson_decode(obj.p, obj.len, NULL, &node, NULL), 0); /* another member: declined */
    assert_int_equal(envelope_check(extra, strlen(extra), why, sizeof why), 1); /* the general reader takes it */
    const char *spaced = "{\"type\": \"ADDED\",\"object\":{}}";
    assert_int_equal(nodejson_event_shape(spaced, strlen(spaced), &type, &obj), 0);
    const char *other = "{\"type\":\"ADDEDX\",\"object\":{}}";
    assert_int_equal(nodejson_event_shape(other, strlen(other), &type, &obj), 0);
}

/* Trace lines: canonical ones (nodeline's too) and the same events written another way (spaces,
 * newlines, keys reordered by a pretty printer) take the tree-free path and read as the general
 * path reads them. */
static void test_trace_lines(void **state)
{
    (void)state;
    struct optsets s;
    optsets_init(&s);
    size_t len;
    char *data = slurp(TEST_DATA_DIR "/traces/demo-growth.jsonl", &len);
    char why[600];
    int lines = 0, pretty_accepted = 0;
    for (char *line = data, *nl; line < data + len; line = nl + 1) {
        nl = memchr(line, '\n', (size_t)(data + len - line));
        if (!nl)
            nl = data + len;
        size_t n = (size_t)(nl - line);
        if (!n)
            continue;
        lines++;
        for (int o = 0; o < N_OPTS; o++) {
            if (trace_line_check(line, n, &s.o[o], why, sizeof why) < 0)
                fail_msg("%s: %.*s", why, (int)n, line);
        }
        cJSON *ev = cJSON_ParseWithLength(line, n);
        assert_non_null(ev);
        char *pretty = cJSON_Print(ev);
        int rc = trace_line_check(pretty, strlen(pretty), &s.o[0], why, sizeof why);
        if (rc < 0)
            fail_msg("%s: %s", why, pretty);
        pretty_accepted += rc;
        char m[8192];
        size_t plen = strlen(pretty);
        for (int round = 0; round < 40 && plen + 64 < sizeof m; round++) {
            size_t k = plen;
            memcpy(m, pretty, plen);
            mutate(m, &k, sizeof m);
            for (int o = 0; o < N_OPTS; o++)
                if (trace_line_check(m, k, &s.o[o], why, sizeof why) < 0)
                    fail_msg("mutated: %s: %.*s", why, (int)k, m);
        }
        free(pretty);
        cJSON_Delete(ev);
    }
    assert_true(lines > 10);
    assert_true(pretty_accepted > lines / 2); /* every Node event; the trace also holds other kinds */
    /* "t" as cJSON reads it: the same double; a negative or non-number "t" goes the general way */
    const char *ok = "{\"type\":\"ADDED\",\"t\":1.25e1,\"object\":{\"kind\":\"Node\",\"metadata\":{\"name\":\"a\"}}}";
    assert_int_equal(trace_line_check(ok, strlen(ok), &s.o[0], why, sizeof why), 1);
    const char *neg = "{\"t\":-1,\"type\":\"ADDED\",\"object\":{\"kind\":\"Node\",\"metadata\":{\"name\":\"a\"}}}";
    assert_int_equal(trace_line_check(neg, strlen(neg), &s.o[0], why, sizeof why), 0);
    const char *nokind = "{\"t\":1,\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}";
    assert_int_equal(trace_line_check(nokind, strlen(nokind), &s.o[0], why, sizeof why), 0);
    free(data);
    optsets_release(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_nodes), cmocka_unit_test(test_near_misses), cmocka_unit_test(test_real_page),
        cmocka_unit_test(test_page_cases), cmocka_unit_test(test_envelopes), cmocka_unit_test(test_trace_lines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
