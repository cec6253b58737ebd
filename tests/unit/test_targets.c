/* targets: a file of several targets parses into what each says; every wrong key or type is an
 * error naming the target and the field; a failed parse leaves the last good config untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "targets.h"

static const char good[] =
    "targets:\n"
    "- kind: Deployment\n"
    "  name: coredns\n"
    "  replicas:\n"
    "    linear: {coresPerReplica: 256, nodesPerReplica: 16, min: 2}\n"
    "  nodes: {labelSelector: \"kubernetes.io/os=linux\", ignoreTaints: [\"dedicated=gpu:NoSchedule\"], maxCoresPerNode: 64}\n"
    "  guard: {maxNodeLoss: \"30%\", window: 5m, settle: 900, scaleDownDelay: 0, maxScaleDownStep: 2}\n"
    "  placement: {warnOnly: true}\n"
    "- kind: StatefulSet\n"
    "  name: ingress\n"
    "  namespace: ingress-nginx\n"
    "  replicas: {configMap: ingress-autoscaler}\n"
    "  guard: {enabled: false}\n"
    "- kind: Deployment\n"
    "  name: metrics-server\n"
    "  replicas:\n"
    "    ladder: '{\"nodesToReplicas\": [[1, 1], [100, 2]]}'\n"
    "  vertical:\n"
    "    threshold: 10\n"
    "    estimator: exponential\n"
    "    containers:\n"
    "    - name: metrics-server\n"
    "      requests: {cpu: {base: 40m, perNode: 0.5m}, memory: {base: 40Mi, perNode: 4Mi}}\n"
    "      limits: {memory: {base: 100Mi, step: 100Mi, nodesPerStep: 50, max: 2Gi}}\n"
    "- kind: Deployment\n"
    "  name: heapster\n"
    "  vertical:\n"
    "    addonResizer: [\"--cpu=80m\", \"--extra-cpu=0.5m\", \"--container=heapster\", \"--deployment=heapster\"]\n"
    "- kind: ReplicationController\n"
    "  name: ksm\n"
    "  vertical:\n"
    "    cpva: [{name: ksm, requests: {cpu: {base: 100m, step: 10m, nodesPerStep: 10}}}]\n";

static void parses_every_part(void **state)
{
    (void)state;
    struct targets_config c;
    targets_config_init(&c);
    struct targets_defaults d = {.ns = "kube-system"};
    char err[1024];
    if (targets_parse(good, sizeof good - 1, &d, &c, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(c.n, 5);
    const struct target_config *t = &c.targets[0];
    assert_string_equal(t->label, "Deployment kube-system/coredns");
    assert_int_equal(t->replicas, REPLICAS_INLINE);
    assert_int_equal(t->params.mode, PARAMS_LINEAR);
    assert_int_equal(t->params.linear.min, 2);
    assert_non_null(t->selector);
    assert_ptr_equal(t->nodes.selector, t->selector);
    assert_int_equal(t->nodes.n_ignore_taints, 1);
    assert_int_equal(t->nodes.max_nano_per_node, INT64_C(64000000000));
    assert_true(t->guard.enabled); /* the default, kept */
    assert_true(t->guard.max_node_loss > 0.29 && t->guard.max_node_loss < 0.31);
    assert_true(t->guard.window_s == 300 && t->guard.settle_s == 900 && t->guard.stabilize_s == 0);
    assert_int_equal(t->guard.max_step, 2);
    assert_true(t->placement_warn_only);
    assert_false(t->vertical);
    t = &c.targets[1];
    assert_string_equal(t->label, "StatefulSet ingress-nginx/ingress");
    assert_int_equal(t->replicas, REPLICAS_CONFIGMAP);
    assert_string_equal(t->configmap, "ingress-autoscaler");
    assert_false(t->guard.enabled);
    assert_string_not_equal(t->filter_key, c.targets[0].filter_key);
    t = &c.targets[2];
    assert_int_equal(t->params.mode, PARAMS_LADDER);
    assert_true(t->vertical);
    assert_int_equal(t->vpolicy.threshold_percent, 10);
    assert_int_equal(t->vpolicy.estimator, VEST_EXPONENTIAL);
    assert_string_equal(t->vpolicy.containers[0].name, "metrics-server");
    assert_int_equal(t->vpolicy.containers[0].rules[VKIND_REQUESTS][VRES_CPU].per_node_nano, 500000);
    assert_int_equal(t->vpolicy.containers[0].rules[VKIND_LIMITS][VRES_MEMORY].nodes_per_step, 50);
    assert_string_equal(t->filter_key, c.targets[1].filter_key); /* both count every node */
    t = &c.targets[3];
    assert_true(t->vertical);
    assert_int_equal(t->replicas, REPLICAS_NONE);
    assert_true(t->vpolicy.containers[0].rules[VKIND_LIMITS][VRES_CPU].set);
    t = &c.targets[4];
    assert_string_equal(t->vpolicy.containers[0].name, "ksm");
    assert_int_equal(t->vpolicy.containers[0].rules[VKIND_REQUESTS][VRES_CPU].step_milli, 10);
    targets_config_release(&c);
}

static void errors_name_target_and_field(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *err;
    } cases[] = {
        {"targets: []", "targets file: targets: expected a non-empty list of targets"},
        {"target: []", "targets file: target: unknown key (known: targets)"},
        {"targets: [{name: a}]", "targets[0]: kind: missing: Deployment, StatefulSet, ReplicaSet or ReplicationController"},
        {"targets: [{kind: DaemonSet, name: a}]",
         "targets[0]: kind: expected Deployment, StatefulSet, ReplicaSet or ReplicationController"},
        {"targets: [{kind: Deployment, name: A_b}]",
         "targets[0]: name: \"A_b\" is not a valid object name (lowercase letters, digits, '-' and '.')"},
        {"targets: [{kind: Deployment, name: a}]", "targets[0] (Deployment kube-system/a): sizes nothing: give replicas "
                                                   "(horizontal) and/or vertical"},
        {"targets: [{kind: Deployment, name: a, replica: {configMap: x}}]",
         "targets[0] (Deployment kube-system/a): replica: unknown key (known: kind, name, namespace, replicas, vertical, "
         "nodes, guard, placement)"},
        {"targets: [{kind: Deployment, name: a, replicas: {linear: {nodesPerReplica: 0}}}]",
         "targets[0] (Deployment kube-system/a): replicas.linear: "},
        {"targets: [{kind: Deployment, name: a, replicas: {configMap: x, linear: {}}}]",
         "targets[0] (Deployment kube-system/a): replicas: expected exactly one of configMap"},
        {"targets: [{kind: Deployment, name: a, replicas: {configMap: x}, guard: {enabled: maybe}}]",
         "targets[0] (Deployment kube-system/a): guard.enabled: expected true or false"},
        {"targets: [{kind: Deployment, name: a, replicas: {configMap: x}, guard: {window: soon}}]",
         "targets[0] (Deployment kube-system/a): guard.window: expected a duration such as 10m"},
        {"targets: [{kind: Deployment, name: a, replicas: {configMap: x}, nodes: {labelSelector: \"a in (\"}}]",
         "targets[0] (Deployment kube-system/a): nodes.labelSelector: "},
        {"targets: [{kind: Deployment, name: a, replicas: {configMap: x}, nodes: {ignoreTaints: [\"=x\"]}}]",
         "targets[0] (Deployment kube-system/a): nodes.ignoreTaints: [0]: invalid taint \"=x\""},
        {"targets: [{kind: Deployment, name: a, replicas: {configMap: x}, placement: {warnOnly: 1}}]",
         "targets[0] (Deployment kube-system/a): placement: expected {warnOnly: true|false}"},
        {"targets: [{kind: Deployment, name: a, vertical: {containers: [{name: a, requests: {cpu: {base: 1, perNode: "
         "x}}}]}}]",
         "targets[0] (Deployment kube-system/a): vertical.containers[0].requests.cpu.perNode: invalid quantity \"x\""},
        {"targets: [{kind: Deployment, name: a, vertical: {containers: [{name: a, requests: {cpu: {base: 1, step: 1m}}}]}}]",
         "targets[0] (Deployment kube-system/a): vertical.containers[0].requests.cpu: step needs nodesPerStep or coresPerStep"},
        {"targets: [{kind: Deployment, name: a, vertical: {threshold: 200, containers: []}}]",
         "targets[0] (Deployment kube-system/a): vertical.threshold: expected a percentage from 0 to 100"},
        {"targets: [{kind: Deployment, name: a, vertical: {addonResizer: [\"--cpu=1\", \"--container=a\", "
         "\"--deployment=b\"]}}]",
         "targets[0] (Deployment kube-system/a): vertical.addonResizer: --deployment=b names another workload than this target"},
        {"targets: [{kind: Deployment, name: a, vertical: {cpva: 'not json'}}]",
         "targets[0] (Deployment kube-system/a): vertical.cpva: not valid JSON"},
        {"targets: [{kind: Deployment, name: a, replicas: {configMap: x}}, {kind: Deployment, name: b, replicas: "
         "{configMap: x}}, {kind: Deployment, name: a, vertical: {cpva: [{name: a, limits: {cpu: {base: 1}}}]}}]",
         "targets[2] (Deployment kube-system/a): the same workload as targets[0]"},
    };
    struct targets_config last;
    targets_config_init(&last);
    struct targets_defaults d = {.ns = "kube-system"};
    char err[1024];
    assert_int_equal(targets_parse(good, sizeof good - 1, &d, &last, err, sizeof err), 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (targets_parse(cases[i].yaml, strlen(cases[i].yaml), &d, &last, err, sizeof err) != -1)
            fail_msg("case %zu parsed", i);
        if (strncmp(err, cases[i].err, strlen(cases[i].err)) != 0)
            fail_msg("case %zu:\n got \"%s\"\nwant \"%s...\"", i, err, cases[i].err);
        assert_int_equal(last.n, 5); /* the last good config stands */
        assert_string_equal(last.targets[0].label, "Deployment kube-system/coredns");
    }
    /* no default namespace: each target names its own */
    struct targets_defaults none = {0};
    const char *y = "targets: [{kind: Deployment, name: a, replicas: {configMap: x}}]";
    assert_int_equal(targets_parse(y, strlen(y), &none, &last, err, sizeof err), -1);
    assert_string_equal(err, "targets[0]: namespace: missing (and no default namespace: give --namespace)");
    targets_config_release(&last);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_every_part),
        cmocka_unit_test(errors_name_target_and_field),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
