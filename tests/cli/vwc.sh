# node_guard_vwc URL FAILURE_POLICY [CA_FILE]: print the ValidatingWebhookConfiguration of the node
# guard's tests (Node DELETE and UPDATE) for a webhook at URL; with CA_FILE its caBundle, without
# one propscaler --webhook-self-signed fills it in. Sourced by the tests that apply it.
node_guard_vwc() {
  cat <<EOF2
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata: {name: propscaler-node-guard}
webhooks:
- name: node-removal.propscaler.io
  admissionReviewVersions: [v1]
  sideEffects: NoneOnDryRun
  failurePolicy: $2
  timeoutSeconds: 10
  clientConfig:
    url: "$1/validate-node-removal"
EOF2
  [ -n "${3:-}" ] && printf '    caBundle: %s\n' "$(base64 -w0 "$3")"
  cat <<EOF2
  rules:
  - {operations: [DELETE, UPDATE], apiGroups: [""], apiVersions: [v1], resources: [nodes], scope: Cluster}
EOF2
}
