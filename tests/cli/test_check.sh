#!/usr/bin/env bash
# propsim check on the real manifests (which pass, which do not, and why) and on crafted edge
# cases: selectors that miss their own labels, wrong topologyKey, namespaces, matchExpressions.
set -u
PROPSIM=$1
DATA=$2
ROOT=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
M=$DATA/manifests
expect() { # expect EXIT GREP-PATTERN -- ARGS...
  local code=$1 pat=$2; shift 3
  out=$("$PROPSIM" check "$@" 2>&1); rc=$?
  [ "$rc" = "$code" ] && { [ -z "$pat" ] || grep -qE -- "$pat" <<<"$out"; } || fail "check $*: exit $rc (want $code): $out"
}

# Real manifests.
# CoreDNS (kubernetes addon and coredns/deployment): no replicas, left to the autoscaler; with
# the target named, their required hostname anti-affinity passes.
expect 0 '1 workload\(s\) checked, 0 error' -- "$M/dns__coredns__coredns.yaml.base" --target deployment/coredns
expect 0 '1 workload\(s\) checked, 0 error' -- "$M/coredns.yaml.sed" --target deployment/coredns
# CPA's examples: the autoscaled nginx Deployment (named by the CPA container's --target in the
# same file) has no anti-affinity at all
expect 1 'document 2 \(Deployment default/nginx-autoscale-example\): error: spec.template.spec.affinity.podAntiAffinity: scaled by an autoscaler' -- "$M/examples__linear.yaml"
expect 1 'nginx-autoscale-example' -- "$M/examples__ladder.yaml"
# ... and one of them is not even valid YAML (line 47: "selector" indented by one space)
expect 2 'examples__linear-defaultparams.yaml: YAML error at line 47' -- "$M/examples__linear-defaultparams.yaml"
# a DaemonSet (one per node by design) and single-replica add-ons have nothing to check
expect 0 '0 workload\(s\) checked' -- "$M/dns__nodelocaldns__nodelocaldns.yaml" "$M/metrics-server__metrics-server-deployment.yaml"
# propscaler's own manifests pass
expect 0 '0 error' -- "$ROOT/manifests/examples/coredns-deployment.yaml"
expect 0 '1 workload\(s\) checked, 0 error' -- "$ROOT/manifests/base/deployment.yaml"

# Crafted edge cases
wl() { # wl NAME REPLICAS POD-SPEC-YAML (indented 6)
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: %s, namespace: kube-system}\nspec:\n  replicas: %s\n  selector: {matchLabels: {app: dns}}\n  template:\n    metadata: {labels: {app: dns, tier: infra}}\n    spec:\n%s\n      containers: [{name: c, image: i}]\n' "$1" "$2" "$3"
}
wl miss 3 '      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: coredns}}
            topologyKey: kubernetes.io/hostname' >"$work/miss.yaml"
expect 1 'error: spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution\[0\].labelSelector: the selector \{"matchLabels":\{"app":"coredns"\}\} does not match the pod.s own labels' -- "$work/miss.yaml"
wl zone 3 '      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector: {matchLabels: {app: dns}}
              topologyKey: topology.kubernetes.io/zone' >"$work/zone.yaml"
expect 1 'warning: .*podAffinityTerm.topologyKey: topologyKey is "topology.kubernetes.io/zone", not kubernetes.io/hostname' -- "$work/zone.yaml"
wl ns 3 '      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchLabels: {app: dns}}
            namespaces: [default]
            topologyKey: kubernetes.io/hostname' >"$work/ns.yaml"
expect 1 'namespaces \["default"\] do not include the workload.s own namespace "kube-system"' -- "$work/ns.yaml"
wl expr 3 '      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 50
            podAffinityTerm:
              labelSelector:
                matchExpressions:
                - {key: app, operator: In, values: [dns, other]}
                - {key: tier, operator: Exists}
                - {key: legacy, operator: DoesNotExist}
                - {key: tier, operator: NotIn, values: [web]}
              topologyKey: kubernetes.io/hostname' >"$work/expr.yaml"
expect 0 '1 workload\(s\) checked, 0 error' -- "$work/expr.yaml"
sed 's/operator: DoesNotExist/operator: Exists/' "$work/expr.yaml" >"$work/expr2.yaml"
expect 1 'does not match the pod.s own labels' -- "$work/expr2.yaml"
wl tsc 4 '      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: dns}}}' >"$work/tsc.yaml"
expect 0 '0 error' -- "$work/tsc.yaml"
wl none 2 '      nodeSelector: {kubernetes.io/os: linux}' >"$work/none.yaml"
expect 1 'several replicas with no podAntiAffinity' -- "$work/none.yaml"
wl one 1 '      nodeSelector: {kubernetes.io/os: linux}' >"$work/one.yaml"
expect 0 '0 workload\(s\) checked' -- "$work/one.yaml"
expect 1 'scaled by an autoscaler' -- "$work/one.yaml" --target deployment/one
sed 's/kind: Deployment/kind: StatefulSet/' "$work/none.yaml" >"$work/sts.yaml"
expect 1 'StatefulSet kube-system/none' -- "$work/sts.yaml"
# JSON output; several files; unreadable input
out=$("$PROPSIM" check "$work/miss.yaml" "$work/tsc.yaml" --output json); rc=$?
[ "$rc" = 1 ] && grep -q '^{"checked":2,"errors":1,"warnings":0,"findings":\[{"rule":"hostname-spread","file":"[^"]*miss.yaml","document":1,"kind":"Deployment","namespace":"kube-system","name":"miss","severity":"error","path":"spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution\[0\].labelSelector","message":' <<<"$out" ||
  fail "JSON output: $rc $out"
expect 2 'cannot open' -- "$work/nonexistent.yaml"
# a linter people use: one unreadable file is said and the others are still checked (exit 2)
out=$("$PROPSIM" check "$work/nonexistent.yaml" "$work/miss.yaml" 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q 'cannot open' <<<"$out" && grep -q 'miss.yaml: document 1 (Deployment kube-system/miss): error' <<<"$out" ||
  fail "an unreadable file among others: $rc $out"
# directories (recursively, *.yaml/*.yml/*.json only) and standard input
mkdir -p "$work/dir/sub" && cp "$work/miss.yaml" "$work/dir/sub/a.yml" && cp "$work/tsc.yaml" "$work/dir/b.yaml" && echo 'not: [yaml' >"$work/dir/notes.txt"
expect 1 '2 workload\(s\) checked, 1 error' -- "$work/dir"
out=$("$PROPSIM" check - <"$work/miss.yaml" 2>&1); rc=$?
[ "$rc" = 1 ] && grep -q '^-: document 1 (Deployment kube-system/miss): error' <<<"$out" || fail "check -: $rc $out"
# --target: malformed, or naming no checked workload: exit 2
expect 2 '--target "coredns": expected KIND/NAME' -- "$work/tsc.yaml" --target coredns
expect 2 '--target "pod/x": expected KIND/NAME' -- "$work/tsc.yaml" --target pod/x
expect 2 '--target deployment/nope names no Deployment or StatefulSet' -- "$work/tsc.yaml" --target deployment/nope
# a fixed spec.replicas on an autoscaled workload fights every apply: a warning (--fail-on warning fails)
expect 0 'warning: spec.replicas: a fixed replica count \(4\) on a workload an autoscaler sizes' -- "$work/tsc.yaml" --target deployment/tsc
expect 1 'spec.replicas: a fixed replica count' -- "$work/tsc.yaml" --target deployment/tsc --fail-on warning
expect 0 '1 workload\(s\) checked, 0 error\(s\), 0 finding' -- "$ROOT/manifests/examples/coredns-deployment.yaml" --target deployment/coredns
# SARIF 2.1.0 for CI code scanning
out=$("$PROPSIM" check "$work/miss.yaml" "$work/tsc.yaml" --target deployment/tsc --output sarif); rc=$?
[ "$rc" = 1 ] && python3 - "$out" <<'PYEOF2' || fail "SARIF: $rc $out"
import json, sys
s = json.loads(sys.argv[1])
assert s["version"] == "2.1.0"
run = s["runs"][0]
assert run["tool"]["driver"]["name"] == "propsim check"
assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {"hostname-spread", "fixed-replicas"}
res = {(r["ruleId"], r["level"]) for r in run["results"]}
assert res == {("hostname-spread", "error"), ("fixed-replicas", "warning")}, res
assert all(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith((".yaml")) for r in run["results"])
PYEOF2
expect 2 '--output: text, json or sarif' -- "$work/tsc.yaml" --output xml

echo "test_check: $fails failure(s)"
[ "$fails" -eq 0 ]
