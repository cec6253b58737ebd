/* AdmissionReview v1: which requests remove a node (DELETE of Nodes, NodeClaims and Machines with a
 * node behind them; UPDATEs of Nodes that add cluster-autoscaler's or Karpenter's mark), the
 * per-node override, strict errors that name the field, and the answer's shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "admission.h"

#define REVIEW(req) "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":" req "}"

static int parse(const char *body, struct admission_request *r, char *err)
{
    return admission_request_parse(body, strlen(body), r, err, 512);
}

static void test_removals(void **state)
{
    (void)state;
    struct admission_request r;
    char err[512];
    assert_int_equal(parse(REVIEW("{\"uid\":\"u1\",\"operation\":\"DELETE\",\"name\":\"n1\",\"resource\":{\"group\":\"\","
                                  "\"version\":\"v1\",\"resource\":\"nodes\"},\"userInfo\":{\"username\":\"system:serviceaccount:kube-system:cluster-autoscaler\"},"
                                  "\"oldObject\":{\"metadata\":{\"name\":\"n1\"}}}"), &r, err), 0);
    assert_true(r.removal);
    assert_int_equal(r.subject, ADMISSION_NODE);
    assert_string_equal(r.node, "n1");
    assert_string_equal(r.uid, "u1");
    assert_false(r.node_override);
    assert_string_equal(r.username, "system:serviceaccount:kube-system:cluster-autoscaler");
    /* cluster-autoscaler's mark added */
    assert_int_equal(parse(REVIEW("{\"uid\":\"u2\",\"operation\":\"UPDATE\",\"name\":\"n2\",\"resource\":{\"resource\":\"nodes\"},"
                                  "\"object\":{\"metadata\":{\"name\":\"n2\",\"annotations\":{\"propscaler.io/allow-removal\":\"ticket 12\"}},"
                                  "\"spec\":{\"taints\":[{\"key\":\"ToBeDeletedByClusterAutoscaler\",\"value\":\"1733\",\"effect\":\"NoSchedule\"}]}},"
                                  "\"oldObject\":{\"metadata\":{\"name\":\"n2\"},\"spec\":{}}}"), &r, err), 0);
    assert_true(r.removal);
    assert_string_equal(r.mark, "ToBeDeletedByClusterAutoscaler");
    assert_true(r.node_override);
    /* the mark already in the old object too: still judged (the rule counts the node once) */
    assert_int_equal(parse(REVIEW("{\"uid\":\"u3\",\"operation\":\"UPDATE\",\"name\":\"n2\",\"resource\":{\"resource\":\"nodes\"},"
                                  "\"object\":{\"spec\":{\"taints\":[{\"key\":\"karpenter.sh/disrupted\",\"effect\":\"NoSchedule\"}]}},"
                                  "\"oldObject\":{\"spec\":{\"taints\":[{\"key\":\"karpenter.sh/disrupted\",\"effect\":\"NoSchedule\"}]}}}"), &r, err), 0);
    assert_true(r.removal);
    /* no mark: a label change is no removal */
    assert_int_equal(parse(REVIEW("{\"uid\":\"u3b\",\"operation\":\"UPDATE\",\"name\":\"n2\",\"resource\":{\"resource\":\"nodes\"},"
                                  "\"object\":{\"metadata\":{\"labels\":{\"a\":\"b\"}},\"spec\":{\"taints\":[{\"key\":\"node.kubernetes.io/not-ready\"}]}},"
                                  "\"oldObject\":{\"spec\":{\"taints\":[{\"key\":\"node.kubernetes.io/not-ready\"}]}}}"), &r, err), 0);
    assert_false(r.removal);
    /* Karpenter before v1 */
    assert_int_equal(parse(REVIEW("{\"uid\":\"u4\",\"operation\":\"UPDATE\",\"name\":\"n3\",\"resource\":{\"resource\":\"nodes\"},"
                                  "\"object\":{\"spec\":{\"taints\":[{\"key\":\"other\"},{\"key\":\"karpenter.sh/disruption\",\"value\":\"disrupting\"}]}},"
                                  "\"oldObject\":{\"spec\":{\"taints\":[{\"key\":\"other\"}]}}}"), &r, err), 0);
    assert_true(r.removal);
    assert_string_equal(r.mark, "karpenter.sh/disruption");
    /* a status update is not judged */
    assert_int_equal(parse(REVIEW("{\"uid\":\"u5\",\"operation\":\"UPDATE\",\"name\":\"n3\",\"subResource\":\"status\",\"resource\":{\"resource\":\"nodes\"},"
                                  "\"object\":{\"spec\":{\"taints\":[{\"key\":\"karpenter.sh/disrupted\"}]}},\"oldObject\":{}}"), &r, err), 0);
    assert_false(r.removal);
    /* a NodeClaim names its node in status.nodeName; one without a node removes none */
    assert_int_equal(parse(REVIEW("{\"uid\":\"u6\",\"operation\":\"DELETE\",\"name\":\"default-x7k2p\",\"resource\":{\"group\":\"karpenter.sh\",\"resource\":\"nodeclaims\"},"
                                  "\"oldObject\":{\"status\":{\"nodeName\":\"ip-10-0-1-5.ec2.internal\"}}}"), &r, err), 0);
    assert_true(r.removal);
    assert_int_equal(r.subject, ADMISSION_NODECLAIM);
    assert_string_equal(r.node, "ip-10-0-1-5.ec2.internal");
    assert_int_equal(parse(REVIEW("{\"uid\":\"u7\",\"operation\":\"DELETE\",\"name\":\"default-abcde\",\"resource\":{\"group\":\"karpenter.sh\",\"resource\":\"nodeclaims\"},"
                                  "\"oldObject\":{\"status\":{}}}"), &r, err), 0);
    assert_false(r.removal);
    /* a Cluster API Machine: status.nodeRef.name */
    assert_int_equal(parse(REVIEW("{\"uid\":\"u8\",\"operation\":\"DELETE\",\"name\":\"md-0-abc\",\"resource\":{\"group\":\"cluster.x-k8s.io\",\"resource\":\"machines\"},"
                                  "\"dryRun\":true,\"oldObject\":{\"status\":{\"nodeRef\":{\"kind\":\"Node\",\"name\":\"worker-1\"}}}}"), &r, err), 0);
    assert_true(r.removal);
    assert_true(r.dry_run);
    assert_string_equal(r.node, "worker-1");
    /* other resources are admitted without a judgement */
    assert_int_equal(parse(REVIEW("{\"uid\":\"u9\",\"operation\":\"DELETE\",\"name\":\"p\",\"resource\":{\"resource\":\"pods\"}}"), &r, err), 0);
    assert_false(r.removal);
}

static void test_bad_bodies(void **state)
{
    (void)state;
    static const struct {
        const char *body, *want;
    } cases[] = {
        {"<html>", "not JSON"},
        {"{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"Pod\"}", "kind: expected AdmissionReview, got \"Pod\""},
        {"{\"apiVersion\":\"admission.k8s.io/v1beta1\",\"kind\":\"AdmissionReview\",\"request\":{}}",
         "apiVersion: expected admission.k8s.io/v1 (set admissionReviewVersions: [v1]), got \"admission.k8s.io/v1beta1\""},
        {REVIEW("[]"), "request: missing or not an object"},
        {REVIEW("{\"operation\":\"DELETE\"}"), "request.uid: missing"},
        {REVIEW("{\"uid\":7,\"operation\":\"DELETE\"}"), "request.uid: expected a string"},
        {REVIEW("{\"uid\":\"a\"}"), "request.operation: missing"},
        {REVIEW("{\"uid\":\"a\",\"operation\":\"DELETE\"}"), "request.resource.resource: missing"},
        {REVIEW("{\"uid\":\"a\",\"operation\":\"DELETE\",\"dryRun\":\"yes\",\"resource\":{\"resource\":\"nodes\"}}"), "request.dryRun: expected true or false"},
        {REVIEW("{\"uid\":\"a\",\"operation\":\"DELETE\",\"resource\":{\"resource\":\"nodes\"}}"), "request.name: missing for a DELETE of a Node"},
        {REVIEW("{\"uid\":\"a\",\"operation\":\"UPDATE\",\"name\":\"n\",\"resource\":{\"resource\":\"nodes\"}}"), "request.object: missing for an UPDATE of a Node"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct admission_request r;
        char err[512];
        assert_int_equal(parse(cases[i].body, &r, err), -1);
        if (!strstr(err, cases[i].want))
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].want);
    }
    /* a uid too long to echo */
    char body[600];
    snprintf(body, sizeof body, REVIEW("{\"uid\":\"%0200d\",\"operation\":\"DELETE\"}"), 0);
    struct admission_request r;
    char err[512];
    assert_int_equal(parse(body, &r, err), -1);
    assert_non_null(strstr(err, "request.uid: 200 bytes, longer than 127"));
}

static void test_response(void **state)
{
    (void)state;
    char *text = admission_response("u1", false, "refusing to remove node n1: ...", NULL);
    cJSON *doc = cJSON_Parse(text);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "apiVersion")->valuestring, "admission.k8s.io/v1");
    assert_string_equal(cJSON_GetObjectItem(doc, "kind")->valuestring, "AdmissionReview");
    cJSON *resp = cJSON_GetObjectItem(doc, "response");
    assert_string_equal(cJSON_GetObjectItem(resp, "uid")->valuestring, "u1");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(resp, "allowed")));
    cJSON *st = cJSON_GetObjectItem(resp, "status");
    assert_int_equal(cJSON_GetObjectItem(st, "code")->valueint, 403);
    assert_string_equal(cJSON_GetObjectItem(st, "message")->valuestring, "refusing to remove node n1: ...");
    cJSON_Delete(doc);
    free(text);
    text = admission_response("u2", true, NULL, "would refuse: ...");
    doc = cJSON_Parse(text);
    resp = cJSON_GetObjectItem(doc, "response");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(resp, "allowed")));
    assert_null(cJSON_GetObjectItem(resp, "status"));
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(resp, "warnings"), 0)->valuestring, "would refuse: ...");
    cJSON_Delete(doc);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_removals),
        cmocka_unit_test(test_bad_bodies),
        cmocka_unit_test(test_response),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
