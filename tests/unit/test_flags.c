/* propscaler's command line: CPA's flags and spellings from real manifests, defaults, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flags.h"

static enum flags_result parse(struct propscaler_config *c, char *err, size_t errlen, ...)
{
    const char *argv[64];
    int argc = 0;
    argv[argc++] = "propscaler";
    va_list ap;
    va_start(ap, errlen);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL)
        argv[argc++] = a;
    va_end(ap);
    flags_init(c);
    return flags_parse(c, argc, argv, err, errlen);
}

static void test_cpa_manifest_args(void **state)
{
    (void)state;
    struct propscaler_config c;
    char err[512];
    /* kubernetes/kubernetes cluster/addons/dns-horizontal-autoscaler, verbatim */
    assert_int_equal(parse(&c, err, sizeof err, "--namespace=kube-system", "--configmap=kube-dns-autoscaler",
                           "--target=Deployment/coredns",
                           "--default-params={\"linear\":{\"coresPerReplica\":256,\"nodesPerReplica\":16,\"preventSinglePointFailure\":true,\"includeUnschedulableNodes\":true}}",
                           "--logtostderr=true", "--v=2", NULL),
                     FLAGS_OK);
    assert_string_equal(c.namespace_, "kube-system");
    assert_string_equal(c.configmap, "kube-dns-autoscaler");
    assert_int_equal(c.n_targets, 1);
    assert_int_equal(c.targets[0].kind, TARGET_DEPLOYMENT);
    assert_string_equal(c.targets[0].name, "coredns"); /* lowercased */
    assert_true(c.has_default_params);
    assert_non_null(cm_data_get(&c.default_data, "linear"));
    assert_string_equal(cm_data_get(&c.default_data, "linear")->value,
                        "{\"coresPerReplica\":256,\"includeUnschedulableNodes\":true,\"nodesPerReplica\":16,\"preventSinglePointFailure\":true}");
    assert_int_equal(c.verbosity, 2);
    assert_int_equal(c.poll_period_seconds, 10);
    flags_release(&c);

    /* space-separated values, single dashes, glog underscores, several targets */
    assert_int_equal(parse(&c, err, sizeof err, "-namespace", "default", "--configmap", "cm", "-v", "4",
                           "--target", " deployment/a , statefulset/b,replicaset/c,replicationcontroller/d ",
                           "--log_dir=/tmp", "--alsologtostderr", "--stderrthreshold=INFO", "--log-backtrace-at=:0",
                           "--logbuflevel=-1", "--vmodule=x=2", "--poll-period-seconds=1", "--max-sync-failures=3",
                           "--nodelabels=a=b,c in (d)", NULL),
                     FLAGS_OK);
    assert_int_equal(c.n_targets, 4);
    assert_int_equal(c.targets[1].kind, TARGET_STATEFULSET);
    assert_string_equal(c.targets[1].name, "b");
    assert_int_equal(c.targets[3].kind, TARGET_REPLICATIONCONTROLLER);
    assert_int_equal(c.poll_period_seconds, 1);
    assert_int_equal(c.max_sync_failures, 3);
    assert_string_equal(c.nodelabels, "a=b,c in (d)");
    flags_release(&c);
}

static void test_namespace_from_env(void **state)
{
    (void)state;
    struct propscaler_config c;
    char err[512];
    setenv("MY_POD_NAMESPACE", "from-env", 1);
    assert_int_equal(parse(&c, err, sizeof err, "--configmap=cm", "--target=deployment/x", NULL), FLAGS_OK);
    assert_string_equal(c.namespace_, "from-env");
    flags_release(&c);
    unsetenv("MY_POD_NAMESPACE");
    assert_int_equal(parse(&c, err, sizeof err, "--configmap=cm", "--target=deployment/x", NULL), FLAGS_ERROR);
    assert_non_null(strstr(err, "--namespace is required"));
    flags_release(&c);
}

static void test_own_flags(void **state)
{
    (void)state;
    struct propscaler_config c;
    char err[512];
    assert_int_equal(parse(&c, err, sizeof err, "--namespace=ns", "--configmap=cm", "--target=deployment/x",
                           "--dry-run", "--output=json", "--leader-elect", "--leader-elect-lease-duration=30s",
                           "--leader-elect-renew-deadline=20s", "--leader-elect-retry-period=500ms",
                           "--metrics-addr=127.0.0.1:9090", "--log-format=json", "--ignore-taint=a:NoSchedule",
                           "--max-cores-per-node=64", "--spof-respects-max", "--refuse-empty-ladder=true",
                           "--legacy-schedulable=false", "--kubeconfig=/k", "--context=c", "--record=/r", NULL),
                     FLAGS_OK);
    assert_true(c.dry_run && c.output_json && c.leader_elect && c.log_json);
    assert_true(c.lease_duration_s == 30 && c.renew_deadline_s == 20 && c.retry_period_s == 0.5);
    assert_true(c.policy_opts.spof_respects_max && c.policy_opts.refuse_empty_ladder);
    assert_false(c.count_opts.legacy_schedulable);
    assert_int_equal(c.count_opts.n_ignore_taints, 1);
    assert_true(c.count_opts.max_nano_per_node == 64000000000);
    assert_true(c.cache_check_period_s == 60); /* the default */
    assert_false(c.disable_compression_set);
    flags_release(&c);
    assert_int_equal(parse(&c, err, sizeof err, "--namespace=ns", "--configmap=cm", "--target=deployment/x",
                           "--cache-check-period=0", "--disable-compression=false", NULL),
                     FLAGS_OK);
    assert_true(c.cache_check_period_s == 0);
    assert_true(c.disable_compression_set && !c.disable_compression);
    flags_release(&c);
    assert_int_equal(parse(&c, err, sizeof err, "--namespace=ns", "--configmap=cm", "--target=deployment/x",
                           "--cache-check-period=25h", NULL),
                     FLAGS_ERROR);
    assert_non_null(strstr(err, "--cache-check-period: expected a duration from 0 to 24h"));
    flags_release(&c);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *args[4];
        const char *msg;
    } cases[] = {
        {{"--configmap=cm", "--namespace=n", NULL}, "--target is required"},
        {{"--target=deployment/x", "--namespace=n", NULL}, "--configmap is required"},
        {{"--target=pod/x", "--configmap=cm", "--namespace=n", NULL}, "unsupported kind \"pod\""},
        {{"--target=coredns", "--configmap=cm", "--namespace=n", NULL}, "is not KIND/NAME"},
        {{"--target=deployment/", "--configmap=cm", "--namespace=n", NULL}, "is not KIND/NAME"},
        {{"--poll-period-seconds=0", "--target=deployment/x", "--configmap=cm", NULL}, "from 1 to 86400"},
        {{"--default-params={\"linear\":", "--target=deployment/x", NULL}, "--default-params: unexpected end of JSON input"},
        {{"--default-params=[1]", NULL}, "cannot unmarshal array into Go value of type map[string]interface {}"},
        {{"--bogus=1", NULL}, "unknown flag: --bogus"},
        {{"--dry-run=maybe", NULL}, "--dry-run: expected true or false"},
        {{"--configmap", NULL}, "flag needs an argument: --configmap"},
        {{"stray", NULL}, "unexpected argument \"stray\""},
        {{"--target=deployment/x", "--configmap=cm", "--namespace=n", "--leader-elect"}, NULL},
        {{"--ignore-taint=bad key", NULL}, "invalid taint"},
        {{"--guard-window=inf", NULL}, "--guard-window: expected a duration"},
        {{"--guard-settle=nan", NULL}, "--guard-settle: expected a duration"},
        {{"--qps-per-replica=inf", NULL}, "--qps-per-replica: expected a positive number"},
        {{"--targets-file=t.yaml", "--target=deployment/x", "--namespace=n", NULL},
         "--targets-file names the targets and their params: --target, --configmap and --default-params do not go with it"},
        {{"--targets-file=t.yaml", "--configmap=cm", "--namespace=n", NULL}, "--target, --configmap and --default-params"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (!cases[i].msg)
            continue;
        struct propscaler_config c;
        char err[512] = "";
        const char *argv[6] = {"propscaler"};
        int argc = 1;
        for (int k = 0; k < 4 && cases[i].args[k]; k++)
            argv[argc++] = cases[i].args[k];
        flags_init(&c);
        assert_int_equal(flags_parse(&c, argc, argv, err, sizeof err), FLAGS_ERROR);
        if (!strstr(err, cases[i].msg))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].msg);
        flags_release(&c);
    }
    struct propscaler_config c;
    char err[512];
    /* --targets-file alone is complete (targets, params: the file's) */
    assert_int_equal(parse(&c, err, sizeof err, "--namespace=ns", "--targets-file=t.yaml", NULL), FLAGS_OK);
    assert_string_equal(c.targets_file, "t.yaml");
    assert_null(c.configmap);
    flags_release(&c);
    assert_int_equal(parse(&c, err, sizeof err, "--namespace=ns", "--configmap=cm", "--target=deployment/x",
                           "--leader-elect", "--leader-elect-retry-period=20s", NULL),
                     FLAGS_ERROR);
    assert_non_null(strstr(err, "retry period < renew deadline < lease duration"));
    flags_release(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpa_manifest_args),
        cmocka_unit_test(test_namespace_from_env),
        cmocka_unit_test(test_own_flags),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
