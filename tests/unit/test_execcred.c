/* execcred: the exec credential plugin's configuration, its output, and running it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "execcred.h"

#define V1 "client.authentication.k8s.io/v1"

static int output(const char *text, struct exec_credential *c, char *err, size_t errlen)
{
    return execcred_parse_output(text, strlen(text), V1, c, err, errlen);
}

static void test_output(void **state)
{
    (void)state;
    struct exec_credential c;
    char err[512];
    assert_int_equal(output("{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"abc\","
                            "\"expirationTimestamp\":\"2026-12-06T05:00:00Z\"}}", &c, err, sizeof err), 0);
    assert_string_equal(c.token, "abc");
    assert_true(c.expires == 1796533200.0);
    execcred_credential_release(&c);
    /* an offset and a fraction, as RFC 3339 allows */
    assert_int_equal(output("{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"abc\","
                            "\"expirationTimestamp\":\"2026-12-06T06:00:00.5+01:00\"}}", &c, err, sizeof err), 0);
    assert_true(c.expires == 1796533200.5);
    execcred_credential_release(&c);
    /* no expiry: valid until a 401 */
    assert_int_equal(output("{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}", &c, err,
                            sizeof err), 0);
    assert_true(c.expires == 0);
    execcred_credential_release(&c);
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"not json", "not a JSON ExecCredential"},
        {"{\"apiVersion\":\"" V1 "\",\"kind\":\"Secret\",\"status\":{\"token\":\"t\"}}", "kind Secret, not ExecCredential"},
        {"{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\"}}",
         "configured for client.authentication.k8s.io/v1 but returned apiVersion client.authentication.k8s.io/v1beta1"},
        {"{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\"}", "has no status"},
        {"{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"\"}}", "status has no token"},
        {"{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"clientCertificateData\":\"x\",\"clientKeyData\":\"y\"}}",
         "returned a client certificate"},
        {"{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"a\\r\\nX-Evil: 1\"}}", "control character"},
        {"{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\",\"expirationTimestamp\":\"tomorrow\"}}",
         "expirationTimestamp tomorrow is not an RFC 3339 time"},
        {"{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\",\"expirationTimestamp\":\"2026-13-06T05:00:00Z\"}}",
         "not an RFC 3339 time"},
        {"{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\",\"expirationTimestamp\":\"2026-12-06T05:00:00\"}}",
         "not an RFC 3339 time"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        if (output(bad[i].text, &c, err, sizeof err) == 0 || !strstr(err, bad[i].want))
            fail_msg("case %zu: err \"%s\", want \"%s\"", i, err, bad[i].want);
        assert_null(c.token);
    }
}

static int config(const char *json, struct exec_plugin *p, char *err, size_t errlen)
{
    cJSON *j = cJSON_Parse(json);
    assert_non_null(j);
    int rc = execcred_config_parse(j, "kubeconfig k: user \"u\"", "/etc/kube", p, err, errlen);
    cJSON_Delete(j);
    return rc;
}

static void test_config(void **state)
{
    (void)state;
    struct exec_plugin p;
    char err[512];
    assert_int_equal(config("{\"apiVersion\":\"" V1 "\",\"command\":\"./bin/plugin\",\"args\":[\"a\",\"b\"],"
                            "\"env\":[{\"name\":\"K\",\"value\":\"v=1\"}],\"interactiveMode\":\"IfAvailable\","
                            "\"provideClusterInfo\":true,\"installHint\":\"brew install plugin\"}", &p, err, sizeof err), 0);
    assert_string_equal(p.command, "/etc/kube/./bin/plugin"); /* relative to the kubeconfig */
    assert_int_equal(p.n_args, 2);
    assert_string_equal(p.args[1], "b");
    assert_int_equal(p.n_env, 1);
    assert_string_equal(p.env[0], "K=v=1");
    assert_true(p.provide_cluster_info);
    assert_string_equal(p.install_hint, "brew install plugin");
    execcred_config_release(&p);
    /* a bare name is looked up in PATH; v1beta1 needs no interactiveMode */
    assert_int_equal(config("{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"command\":\"aws\"}", &p, err, sizeof err), 0);
    assert_string_equal(p.command, "aws");
    assert_int_equal(p.interactive, EXEC_INTERACTIVE_IF_AVAILABLE);
    execcred_config_release(&p);
    static const struct {
        const char *json, *want;
    } bad[] = {
        {"{\"command\":\"aws\"}", "exec.apiVersion is required"},
        {"{\"apiVersion\":\"client.authentication.k8s.io/v1alpha1\",\"command\":\"aws\"}", "v1alpha1 was removed"},
        {"{\"apiVersion\":\"" V1 "\",\"command\":\"aws\"}", "exec.interactiveMode is required"},
        {"{\"apiVersion\":\"" V1 "\",\"command\":\"aws\",\"interactiveMode\":\"Always\"}", "Always needs a terminal"},
        {"{\"apiVersion\":\"" V1 "\",\"command\":\"aws\",\"interactiveMode\":\"Sometimes\"}", "must be Never, IfAvailable or Always"},
        {"{\"apiVersion\":\"" V1 "\",\"interactiveMode\":\"Never\"}", "exec.command is required"},
        {"{\"apiVersion\":\"" V1 "\",\"command\":\"aws\",\"interactiveMode\":\"Never\",\"args\":[1]}", "exec.args[0] must be a string"},
        {"{\"apiVersion\":\"" V1 "\",\"command\":\"aws\",\"interactiveMode\":\"Never\",\"env\":[{\"name\":\"A=B\",\"value\":\"x\"}]}",
         "exec.env[0] needs a string name"},
        {"{\"apiVersion\":\"" V1 "\",\"command\":\"aws\",\"interactiveMode\":\"Never\",\"provideClusterInfo\":\"yes\"}",
         "provideClusterInfo must be true or false"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        if (config(bad[i].json, &p, err, sizeof err) == 0 || !strstr(err, bad[i].want))
            fail_msg("case %zu: err \"%s\", want \"%s\"", i, err, bad[i].want);
        assert_null(p.command);
    }
}

/* /bin/sh -c SCRIPT as the plugin */
static int run(const char *script, double timeout_s, struct exec_credential *c, char *err, size_t errlen)
{
    char *args[] = {"-c", (char *)(uintptr_t)script};
    char *env[] = {"PLUGIN_GREETING=hello"};
    struct exec_plugin p = {.api_version = V1, .command = "/bin/sh", .args = args, .n_args = 2, .env = env, .n_env = 1,
                            .install_hint = "install it", .provide_cluster_info = true};
    struct exec_cluster cl = {.server = "https://k:6443", .ca_pem = "PEM", .ca_len = 3};
    return execcred_run(&p, &cl, timeout_s, c, err, errlen);
}

static void test_run(void **state)
{
    (void)state;
    struct exec_credential c;
    char err[1024];
    /* the env and KUBERNETES_EXEC_INFO reach it; its stdout is the credential */
    assert_int_equal(run("case \"$KUBERNETES_EXEC_INFO\" in *'\"server\":\"https://k:6443\"'*'\"interactive\":false'*) ;; *) exit 3;; esac;"
                         "printf '{\"apiVersion\":\"" V1 "\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"%s\"}}' \"$PLUGIN_GREETING\"",
                         10, &c, err, sizeof err), 0);
    assert_string_equal(c.token, "hello");
    execcred_credential_release(&c);
    assert_int_equal(run("echo oops >&2; exit 4", 10, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "exec plugin /bin/sh: exit status 4"));
    assert_int_equal(run("exec sleep 5", 0.3, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "no answer within 0.3 s; killed"));
    /* its stdout closed, the plugin still running: the deadline holds for its exit too */
    assert_int_equal(run("exec >&-; exec sleep 5", 0.3, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "no answer within 0.3 s; killed"));
    assert_int_equal(run("head -c 2000000 /dev/zero", 10, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "its output passed 1024 KiB"));
    assert_int_equal(run("echo '{}'", 10, &c, err, sizeof err), -1);
    assert_non_null(strstr(err, "exec plugin /bin/sh: its output has kind (none)"));
    struct exec_plugin missing = {.api_version = V1, .command = "/nonexistent/plugin", .install_hint = "see the docs"};
    assert_int_equal(execcred_run(&missing, NULL, 10, &c, err, sizeof err), -1);
    /* ENOENT from posix_spawnp, or (under valgrind, whose spawn cannot report it) exit status 127 */
    assert_non_null(strstr(err, "exec plugin /nonexistent/plugin: not found"));
    assert_non_null(strstr(err, "; see the docs"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_output),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
