# The benchmarks' target (sourced): bench_target_manifests DIR writes DIR/d.yaml (a CoreDNS
# Deployment at 1 replica) and DIR/cm.yaml (its params: 16 nodes a replica, so N nodes want
# ceil(N/16) replicas).
#   bench_kube_up DIR NODES: a real kube-apiserver 1.20 + etcd (tests/kube/kube-lib.sh;
# PROPSCALER_KUBE_BIN or /var/cache/propscaler-kube/bin, built by `make kube-apiserver`) holding
# NODES copies of a real 5.5 KB Node from tests/data/nodes and the target. Sets server, token,
# DIR/ca.pem, DIR/kc; kube_down stops it.
# (the Deployment is whole, a selector and a pod template, as the real server wants it; the
# benches run propsim serve with --no-pods, so its template starts nothing there)
bench_target_manifests() {
  cat >"$1/d.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec: {containers: [{name: coredns, image: registry.k8s.io/coredns/coredns:v1.11.1}]}
YAML
  cat >"$1/cm.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: kube-system}
data:
  linear: '{"nodesPerReplica":16}'
YAML
}

bench_kube_up() {
  local here bin t0
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  bin=${PROPSCALER_KUBE_BIN:-/var/cache/propscaler-kube/bin}
  [ -x "$bin/kube-apiserver" ] || { echo "bench: no kube-apiserver in $bin (make kube-apiserver)" >&2; return 2; }
  . "$here/../kube/kube-lib.sh"
  kube_up "$bin" "$1/kube" || return 1
  token=$KUBE_TOKEN server=$KUBE_URL
  cp "$KUBE_CA" "$1/ca.pem"
  cp "$KUBE_KC" "$1/kc"
  t0=$(date +%s)
  python3 "$here/apidriver.py" "$1/kc" - create "$2" "$here/../data/nodes/ci-ln-3z9y7mt-f76d1-69jcr-worker-b-q6vs9.json" ||
    return 1
  echo "bench: $2 Nodes created in the real kube-apiserver in $(($(date +%s) - t0)) s" >&2
  bench_target_manifests "$1"
  bench_kube_post apis/apps/v1/namespaces/kube-system/deployments "$1/d.yaml" &&
    bench_kube_post api/v1/namespaces/kube-system/configmaps "$1/cm.yaml"
}

bench_kube_post() { # PATH FILE: create FILE's object (YAML) at PATH on the bench's real server
  curl -sf --cacert "$KUBE_CA" -H "Authorization: Bearer $token" -H 'Content-Type: application/yaml' \
    --data-binary @"$2" "$server/$1" >/dev/null || { echo "bench: could not create $2 in the real kube-apiserver" >&2; return 1; }
}
