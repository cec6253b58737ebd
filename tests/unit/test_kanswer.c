/* kanswer: the API server's answers read strictly. Every malformed answer a hostile or broken
 * server gave (no items, a wrong kind, HTML, truncated, protobuf, deep nesting, replicas as 1e300
 * or "7") is refused with a message naming what arrived; real answers are read exactly. Also
 * krand: identities from the kernel differ between draws. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kanswer.h"
#include "krand.h"

static struct kresp answer(const char *body, const char *ctype)
{
    struct kresp r = {.status = 200, .body = body, .len = strlen(body), .content_type = ctype};
    return r;
}

/* kanswer_object + the reader for `what`; returns the reader's status, err filled on failure. */
static int read_as(const char *body, const char *ctype, const char *kind, char *err, size_t errlen, int32_t *replicas,
                   struct kanswer_list *page)
{
    struct kresp r = answer(body, ctype);
    cJSON *root = NULL;
    if (kanswer_object(&r, kind, &root, err, errlen) != 0)
        return -1;
    int rc = 0;
    if (page)
        rc = kanswer_list_page(root, page, err, errlen);
    if (replicas)
        rc = kanswer_scale_replicas(root, replicas, err, errlen);
    cJSON_Delete(root);
    return rc;
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *body, *ctype, *kind, *want;
        int reader; /* 0 list page, 1 scale */
    } cases[] = {
        {"{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"}}", "application/json", "NodeList",
         "the list has no \"items\"", 0},
        {"{\"kind\":\"Status\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]}", "application/json", "NodeList",
         "expected kind NodeList, got \"Status\"", 0},
        {"{\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]}", "application/json", "NodeList",
         "expected kind NodeList, got no kind", 0},
        {"{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":{}}", "", "NodeList",
         "\"items\" is not an array", 0},
        {"{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[1]}", "", "NodeList",
         "is not an object", 0},
        {"{\"kind\":\"NodeList\",\"metadata\":{},\"items\":[]}", "", "NodeList", "no valid metadata.resourceVersion", 0},
        {"{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\",\"remainingItemCount\":-3},\"items\":[]}", "",
         "NodeList", "remainingItemCount is not a non-negative integer", 0},
        {"<html><body>502 Bad Gateway</body></html>", "text/html", "NodeList",
         "the answer is not JSON (HTTP 200, Content-Type text/html, body \"<html><body>502 Bad Gateway</body></html>\" (41 bytes))", 0},
        {"{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[{\"metadata\":{\"na", "", "NodeList",
         "the answer is not JSON", 0},
        {"{\"kind\":\"NodeList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[]} trailing", "", "NodeList",
         "the answer is not JSON", 0},
        {"[]", "", "NodeList", "the answer is not a JSON object", 0},
        {"{\"kind\":\"Scale\",\"spec\":{\"replicas\":1e300}}", "", "Scale",
         "spec.replicas (1.0000000000000001e+300) is not an integer from 0 to 2147483647", 1},
        {"{\"kind\":\"Scale\",\"spec\":{\"replicas\":\"7\"}}", "", "Scale", "spec.replicas is not a number", 1},
        {"{\"kind\":\"Scale\",\"spec\":{\"replicas\":2.5}}", "", "Scale", "is not an integer", 1},
        {"{\"kind\":\"Scale\",\"spec\":{\"replicas\":-1}}", "", "Scale", "is not an integer", 1},
        {"{\"kind\":\"Scale\",\"spec\":{\"replicas\":2147483648}}", "", "Scale", "is not an integer", 1},
        {"{\"kind\":\"Scale\",\"spec\":[]}", "", "Scale", "the Scale's spec is not an object", 1},
        {"{\"kind\":\"Deployment\",\"spec\":{\"replicas\":3}}", "", "Scale", "expected kind Scale, got \"Deployment\"", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[800] = "";
        int32_t rep = -5;
        struct kanswer_list page;
        int rc = read_as(cases[i].body, cases[i].ctype, cases[i].kind, err, sizeof err, cases[i].reader ? &rep : NULL,
                         cases[i].reader ? NULL : &page);
        if (rc == 0 || !strstr(err, cases[i].want))
            fail_msg("case %zu (%s): rc %d, err \"%s\", want \"%s\"", i, cases[i].body, rc, err, cases[i].want);
    }
}

static void test_protobuf_and_deep(void **state)
{
    (void)state;
    static const char pb[] = "k8s\0\n\x0b\n\x02v1\x12\x05Scale";
    struct kresp r = {.status = 200, .body = pb, .len = sizeof pb - 1, .content_type = "application/vnd.kubernetes.protobuf"};
    cJSON *root = NULL;
    char err[800];
    assert_int_equal(kanswer_object(&r, "Scale", &root, err, sizeof err), -1);
    assert_non_null(strstr(err, "Content-Type application/vnd.kubernetes.protobuf, body \"k8s\\x00\\x0a"));
    size_t n = 100000;
    char *deep = malloc(n + 1);
    memset(deep, '[', n);
    deep[n] = '\0';
    struct kresp d = answer(deep, "application/json");
    assert_int_equal(kanswer_object(&d, NULL, &root, err, sizeof err), -1);
    assert_non_null(strstr(err, "the answer is not JSON"));
    assert_non_null(strstr(err, "(100000 bytes)"));
    free(deep);
}

static void test_accepted(void **state)
{
    (void)state;
    char err[800];
    struct kanswer_list page;
    struct kresp r = answer("{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"123\","
                            "\"continue\":\"tok\",\"remainingItemCount\":41},\"items\":[{\"metadata\":{\"name\":\"a\"}}]}\n",
                            "application/json");
    cJSON *root = NULL;
    assert_int_equal(kanswer_object(&r, "NodeList", &root, err, sizeof err), 0);
    assert_int_equal(kanswer_list_page(root, &page, err, sizeof err), 0);
    assert_string_equal(page.resource_version, "123");
    assert_string_equal(page.continue_token, "tok");
    assert_int_equal(page.remaining, 41);
    assert_int_equal(cJSON_GetArraySize(page.items), 1);
    cJSON_Delete(root);
    /* Go's nil slice: an explicit null is an empty page; no continue, no remaining */
    r = answer("{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"9\"},\"items\":null}", "");
    assert_int_equal(kanswer_object(&r, "ConfigMapList", &root, err, sizeof err), 0);
    assert_int_equal(kanswer_list_page(root, &page, err, sizeof err), 0);
    assert_null(page.items);
    assert_string_equal(page.continue_token, "");
    assert_int_equal(page.remaining, -1);
    cJSON_Delete(root);
    /* a Scale: 0 replicas are omitted (omitempty); the largest int32 is fine */
    int32_t rep = -1;
    assert_int_equal(read_as("{\"kind\":\"Scale\",\"spec\":{}}", "", "Scale", err, sizeof err, &rep, NULL), 0);
    assert_int_equal(rep, 0);
    assert_int_equal(read_as("{\"kind\":\"Scale\",\"spec\":{\"replicas\":2147483647}}", "", "Scale", err, sizeof err, &rep, NULL), 0);
    assert_int_equal(rep, 2147483647);
    /* a Lease */
    r = answer("{\"kind\":\"Lease\",\"spec\":{\"holderIdentity\":\"h_1\",\"renewTime\":\"2026-12-01T00:00:00.000000Z\"}}", "");
    assert_int_equal(kanswer_object(&r, "Lease", &root, err, sizeof err), 0);
    struct kanswer_lease l;
    assert_int_equal(kanswer_lease(root, &l, err, sizeof err), 0);
    assert_string_equal(l.holder, "h_1");
    assert_string_equal(l.renew_time, "2026-12-01T00:00:00.000000Z");
    cJSON_Delete(root);
    r = answer("{\"kind\":\"Lease\",\"spec\":{\"holderIdentity\":7}}", "");
    assert_int_equal(kanswer_object(&r, "Lease", &root, err, sizeof err), 0);
    assert_int_equal(kanswer_lease(root, &l, err, sizeof err), -1);
    cJSON_Delete(root);
}

static void test_krand(void **state)
{
    (void)state;
    char a[17], b[17];
    assert_int_equal(krand_hex(a, 8), 0);
    assert_int_equal(krand_hex(b, 8), 0);
    assert_int_equal(strlen(a), 16);
    assert_string_not_equal(a, b);
    double lo = 1e9, hi = -1e9;
    for (int i = 0; i < 10000; i++) {
        double v = krand_jitter(10, 0.2);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    assert_true(lo >= 8 && lo < 8.1 && hi <= 12 && hi > 11.9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_protobuf_and_deep),
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_krand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
