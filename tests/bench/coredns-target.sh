# The benchmarks' target (sourced): bench_target_manifests DIR writes DIR/d.yaml (a CoreDNS
# Deployment at 1 replica) and DIR/cm.yaml (its params: 16 nodes a replica, so N nodes want
# ceil(N/16) replicas).
bench_target_manifests() {
  cat >"$1/d.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec: {replicas: 1}
YAML
  cat >"$1/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: kube-system}
data:
  linear: '{"nodesPerReplica":16}'
YAML
}
