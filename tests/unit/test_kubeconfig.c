/* kubeconfig: base64 -data fields (Nettle's decoder: whitespace skipped; bad characters, data
 * after padding and truncated groups refused) and the loader's field errors. */
#define _DEFAULT_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "kubeconfig.h"

static void test_base64(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out; /* out NULL: refused */
    } cases[] = {
        {"aGVsbG8=", "hello"},
        {"aGVs\nbG8=\n", "hello"},        /* folded lines */
        {" aGVsbG8gd29ybGQ= ", "hello world"},
        {"", ""},
        {"aGVsbG8", NULL},                 /* a truncated group */
        {"aGVs*bG8=", NULL},               /* not base64 */
        {"aGVsbG8=aGVs", NULL},            /* data after the padding */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n = 0;
        char *got = kube_base64_decode(cases[i].in, &n);
        if (!cases[i].out) {
            if (got)
                fail_msg("case %zu (%s): accepted as \"%s\"", i, cases[i].in, got);
            continue;
        }
        if (!got || n != strlen(cases[i].out) || memcmp(got, cases[i].out, n) != 0)
            fail_msg("case %zu (%s): got %s", i, cases[i].in, got ? got : "(refused)");
        free(got);
    }
}

static int load_ep(const char *text, struct kube_endpoint *ep, char *err, size_t errlen)
{
    char path[] = "/tmp/test-kubeconfig-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    int rc = kubeconfig_load(path, NULL, ep, err, errlen);
    unlink(path);
    return rc;
}

static int load(const char *text, char *err, size_t errlen)
{
    struct kube_endpoint ep;
    int rc = load_ep(text, &ep, err, errlen);
    if (rc == 0)
        kube_endpoint_release(&ep);
    return rc;
}

static void test_field_errors(void **state)
{
    (void)state;
    static const struct {
        const char *cluster, *want;
    } cases[] = {
        {"{server: \"https://k:6443\", certificate-authority-data: \"bm90 IGE*\"}", "certificate-authority-data is not valid base64"},
        {"{server: \"https://k:6443\", certificate-authority-data: bm90IGEgY2VydA==}", "certificate-authority holds no PEM certificate"},
        {"{server: \"https://\"}", "has no host"},
        {"{server: \"ftp://k\"}", "server must be an http(s):// URL"},
        {"{server: \"https://k\", insecure-skip-tls-verify: 1}", "insecure-skip-tls-verify must be true or false"},
        {"{server: \"https://k\", disable-compression: \"yes\"}", "cluster \"c\": disable-compression must be true or false, got \"yes\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char text[1024], err[1024] = "";
        snprintf(text, sizeof text,
                 "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: %s}]\nusers: [{name: u, user: {token: t}}]\n"
                 "contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n", cases[i].cluster);
        if (load(text, err, sizeof err) == 0 || !strstr(err, cases[i].want))
            fail_msg("case %zu: err \"%s\", want \"%s\"", i, err, cases[i].want);
    }
    char err[1024];
    assert_int_equal(load("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://k:6443\", "
                          "insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\n"
                          "contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n", err, sizeof err),
                     0);
    /* client-go's cluster field: no gzip asked for */
    struct kube_endpoint ep;
    assert_int_equal(load_ep("apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://k:6443\", "
                             "disable-compression: true}}]\nusers: [{name: u, user: {token: t}}]\n"
                             "contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\n", &ep, err, sizeof err),
                     0);
    assert_true(ep.disable_compression);
    assert_false(ep.insecure);
    kube_endpoint_release(&ep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_field_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
