#!/usr/bin/env bash
# `propsim eval` end to end: the real binary on real Node objects and CPA's example manifests,
# exit codes, CPA's messages on stderr, and the JSON interface scripts rely on.
set -u
PROPSIM=$1
DATA=$2
fails=0
out=$(mktemp) errf=$(mktemp)
trap 'rm -f "$out" "$errf"' EXIT

# expect EXIT_CODE STDOUT_SUBSTRING STDERR_SUBSTRING -- ARGS...
expect() {
  local code=$1 want_out=$2 want_err=$3
  shift 4
  # PROPSIM_WRAPPER (e.g. valgrind) runs the binary under a checker; its exit code must stay 0/2.
  ${PROPSIM_WRAPPER:-} "$PROPSIM" eval "$@" >"$out" 2>"$errf"
  local rc=$?
  if [ "$rc" != "$code" ] || { [ -n "$want_out" ] && ! grep -qF -- "$want_out" "$out"; } ||
     { [ -n "$want_err" ] && ! grep -qF -- "$want_err" "$errf"; }; then
    echo "FAIL: propsim eval $*"
    echo "  exit $rc (want $code)"; echo "  stdout: $(head -c 600 "$out")"; echo "  stderr: $(head -c 600 "$errf")"
    echo "  wanted stdout ~ '$want_out', stderr ~ '$want_err'"
    fails=$((fails + 1))
  fi
}

COREDNS='{"linear":{"coresPerReplica":256,"nodesPerReplica":16,"preventSinglePointFailure":true}}'
N=$DATA/nodes

# README worked examples (CPA README), as numbers and as JSON
expect 0 '"replicas":7' '' -- --params '{"linear":{"coresPerReplica":2,"nodesPerReplica":1,"min":1,"max":100,"preventSinglePointFailure":true,"includeUnschedulableNodes":true}}' --nodes 4 --cores 13 --output json
expect 0 'Replicas: 3' '' -- --params '{"ladder":{"coresToReplicas":[[1,1],[64,3],[512,5],[1024,7],[2048,10],[4096,15]],"nodesToReplicas":[[1,1],[2,2]]}}' --nodes 100 --cores 400
# schedulable counts default to the totals, and can be given
expect 0 '"schedulableNodes":10' '' -- --params '{"linear":{"nodesPerReplica":1}}' --nodes 10 --cores 40 --output json
expect 0 '"replicas":4' '' -- --params '{"linear":{"nodesPerReplica":1}}' --nodes 10 --cores 40 --schedulable-nodes 4 --schedulable-cores 16 --output json
expect 0 'Cluster status: SchedulableNodes[4], TotalNodes[10], SchedulableCores[16], TotalCores[40]' '' -- --params '{"linear":{"nodesPerReplica":1}}' --nodes 10 --cores 40 --schedulable-nodes 4 --schedulable-cores 16
# float trap, exactly as CPA
expect 0 '"replicas":31' '' -- --params '{"linear":{"nodesPerReplica":0.7}}' --nodes 21 --cores 0 --output json

# real Node objects
expect 0 '"totalNodes":2,"schedulableNodes":2,"totalCores":16,"schedulableCores":16' '' -- --params "$COREDNS" --nodes-file "$N/eks-nodelist.json" --output json
expect 0 '"replicas":2' '' -- --params "$COREDNS" --nodes-file "$N/eks-nodelist.json" --output json
all6=()
for f in "$N"/ci-ln-3z9y7mt-*.json; do all6+=(--nodes-file "$f"); done
expect 0 '"totalNodes":6,"schedulableNodes":6,"totalCores":21' '' -- --params '{"linear":{"nodesPerReplica":1}}' "${all6[@]}" --output json
expect 0 '"totalNodes":3' '' -- --params '{"linear":{"nodesPerReplica":1}}' "${all6[@]}" --nodelabels 'node-role.kubernetes.io/worker' --output json
expect 0 '"totalNodes":3' '' -- --params '{"linear":{"nodesPerReplica":1}}' "${all6[@]}" --nodelabels 'node-role.kubernetes.io/master' --output json
expect 0 '"totalNodes":0' '' -- --params '{"linear":{"nodesPerReplica":1}}' "${all6[@]}" --nodelabels 'kubernetes.io/os!=linux' --output json
expect 0 '"totalNodes":3,"schedulableNodes":3,"totalCores":11' '' -- --params '{"linear":{"nodesPerReplica":1}}' "${all6[@]}" --ignore-taint node-role.kubernetes.io/master:NoSchedule --output json
expect 0 '"totalCores":12' '' -- --params '{"linear":{"nodesPerReplica":1}}' "${all6[@]}" --max-cores-per-node 2 --output json
# a node from stdin, as YAML
printf 'kind: Node\nmetadata:\n  name: n1\nspec:\n  unschedulable: true\nstatus:\n  allocatable:\n    cpu: "3920m"\n  conditions:\n  - type: Ready\n    status: "True"\n' > "$out.node"
expect 0 '"totalNodes":1,"schedulableNodes":0,"totalCores":4,"schedulableCores":0' '' -- --params '{"linear":{"nodesPerReplica":1}}' --nodes-file "$out.node" --output json
rm -f "$out.node"

# CPA's example ConfigMaps, as users have them
expect 0 'Replicas: 2' '' -- --configmap "$DATA/manifests/examples__linear.yaml" --nodes 2 --cores 2
expect 0 '"replicas":5' '' -- --configmap "$DATA/manifests/examples__ladder.yaml" --nodes 3 --cores 600 --output json

# opt-in divergences
expect 0 '"replicas":2' '' -- --params '{"linear":{"nodesPerReplica":1,"max":1,"preventSinglePointFailure":true}}' --nodes 3 --cores 3 --output json
expect 0 '"replicas":1' '' -- --params '{"linear":{"nodesPerReplica":1,"max":1,"preventSinglePointFailure":true}}' --nodes 3 --cores 3 --spof-respects-max --output json
expect 0 'both ladders are empty' '' -- --params '{"ladder":{}}' --nodes 3 --cores 3
expect 2 '' 'scale the target to 0' -- --params '{"ladder":{}}' --nodes 3 --cores 3 --refuse-empty-ladder
expect 0 '"totalNodes":0' '' -- --params '{"linear":{"nodesPerReplica":1}}' --nodes-file "$N/eks-nodelist.json" --ignore-taint type=hound:NoSchedule --output json
expect 0 '"totalNodes":2' '' -- --params '{"linear":{"nodesPerReplica":1}}' --nodes-file "$N/eks-nodelist.json" --ignore-taint type=other --output json
printf '{"kind":"Node","metadata":{"name":"nr"},"status":{"allocatable":{"cpu":"2"},"conditions":[{"type":"Ready","status":"False"}]}}' > "$out.nr"
expect 0 '"totalNodes":1,"schedulableNodes":0' '' -- --params '{"linear":{"nodesPerReplica":1}}' --nodes-file "$out.nr" --output json
expect 0 '"totalNodes":1,"schedulableNodes":1' '' -- --params '{"linear":{"nodesPerReplica":1}}' --nodes-file "$out.nr" --legacy-schedulable --output json
rm -f "$out.nr"

# CPA's error messages, exit 2
expect 2 '' 'Error syncing configMap with controller: error parsing linear params: invalid negative value for min: -1' -- --params '{"linear":{"min":-1,"nodesPerReplica":1}}' --nodes 1 --cores 1
expect 2 '' 'could not parse parameters (json: cannot unmarshal number 1.5 into Go struct field linearParams.min of type int)' -- --params '{"linear":{"min":1.5,"nodesPerReplica":1}}' --nodes 1 --cores 1
expect 2 '' 'invalid configMap format, expected only one entry, got: map[ladder:{} linear:{"nodesPerReplica":1}]' -- --params '{"linear":{"nodesPerReplica":1},"ladder":{}}' --nodes 1 --cores 1
expect 2 '' 'not a supported control mode: Linear' -- --params '{"Linear":{"nodesPerReplica":1}}' --nodes 1 --cores 1
expect 2 '' 'invalid negative values in entry [1 -1] in cores_to_replicas_map' -- --params '{"ladder":{"coresToReplicas":[[1,-1]]}}' --nodes 1 --cores 1
expect 2 '' "invalid character ',' looking for beginning of object key string" -- --params '{"linear":{,}}' --nodes 1 --cores 1
expect 2 '' 'unexpected end of JSON input' -- --params '{"linear":{}' --nodes 1 --cores 1

# usage errors name what to fix
expect 2 '' 'exactly one of --params JSON or --configmap FILE' -- --nodes 1 --cores 1
expect 2 '' '--nodes and --cores are both required' -- --params "$COREDNS" --nodes 1
expect 2 '' '--nodes: expected a non-negative integer, got "-3"' -- --params "$COREDNS" --nodes -3 --cores 1
expect 2 '' '--nodes: expected a non-negative integer, got "12x"' -- --params "$COREDNS" --nodes 12x --cores 1
expect 2 '' 'cannot exceed the totals' -- --params "$COREDNS" --nodes 1 --cores 1 --schedulable-nodes 2
expect 2 '' 'either as --nodes N --cores C or as --nodes-file' -- --params "$COREDNS" --nodes 1 --cores 1 --nodes-file "$N/eks-nodelist.json"
expect 2 '' 'cannot open /nonexistent' -- --params "$COREDNS" --nodes-file /nonexistent
expect 2 '' 'invalid label selector' -- --params "$COREDNS" --nodes-file "$N/eks-nodelist.json" --nodelabels 'a in ()'
expect 2 '' 'no document with kind: ConfigMap' -- --configmap "$N/eks-nodelist.json" --nodes 1 --cores 1
expect 2 '' '--output: expected text or json' -- --params "$COREDNS" --nodes 1 --cores 1 --output yaml
printf '{"kind":"Node","metadata":{"name":"x"},"status":{"allocatable":{"cpu":"lots"}}}' > "$out.bad"
expect 2 '' 'status.allocatable.cpu: invalid quantity "lots"' -- --params "$COREDNS" --nodes-file "$out.bad"
printf 'kind: ConfigMap\ndata:\n  linear: [1]\n' > "$out.bad"
expect 2 '' 'data.linear must be a string' -- --configmap "$out.bad" --nodes 1 --cores 1
rm -f "$out.bad"
expect 0 'usage: propsim eval' '' -- --help

# --targets-file: every target's answer. Vertical values held to an independent model of
# addon-resizer and CPVA (the real metrics-server addon's nanny flags among them)
HERE=$(cd "$(dirname "$0")" && pwd)
if ! python3 "$HERE/vertical_model.py" "$PROPSIM" "$DATA/manifests/metrics-server__metrics-server-deployment.yaml"; then
  echo "FAIL: vertical_model.py"; fails=$((fails + 1))
fi
tf=$(mktemp --suffix=.yaml)
cat > "$tf" <<'EOF2'
targets:
- kind: Deployment
  name: coredns
  namespace: kube-system
  replicas: {linear: {nodesPerReplica: 1}}
- kind: Deployment
  name: workers-only
  namespace: kube-system
  replicas: {linear: {nodesPerReplica: 1}}
  nodes: {labelSelector: "!node-role.kubernetes.io/master"}
  vertical:
    containers: [{name: app, requests: {cpu: {base: 100m, perCore: 10m}}}]
- kind: StatefulSet
  name: from-cm
  namespace: kube-system
  replicas: {configMap: nginx-autoscaler}
EOF2
# real OpenShift nodes (3 masters, 3 workers): each target counts with its own node filter
ocp=(--nodes-file "$N/ci-ln-3z9y7mt-f76d1-69jcr-master-0.json" --nodes-file "$N/ci-ln-3z9y7mt-f76d1-69jcr-master-1.json"
     --nodes-file "$N/ci-ln-3z9y7mt-f76d1-69jcr-master-2.json" --nodes-file "$N/ci-ln-3z9y7mt-f76d1-69jcr-worker-b-q6vs9.json"
     --nodes-file "$N/ci-ln-3z9y7mt-f76d1-69jcr-worker-c-h8zcp.json" --nodes-file "$N/ci-ln-3z9y7mt-f76d1-69jcr-worker-d-pbtms.json")
expect 2 '"target":"StatefulSet kube-system/from-cm","kind":"StatefulSet","namespace":"kube-system","name":"from-cm","filteredOut":0,"totalNodes":6' \
  'its params are in ConfigMap nginx-autoscaler: give that ConfigMap with --configmap FILE' -- --targets-file "$tf" "${ocp[@]}" --output json
if ${PROPSIM_WRAPPER:-} "$PROPSIM" eval --targets-file "$tf" "${ocp[@]}" --output json \
     --configmap "$DATA/manifests/examples__linear.yaml" >"$out" 2>"$errf"; then
  python3 - "$out" <<'EOF2' || { echo "FAIL: eval --targets-file on real nodes"; cat "$out" "$errf"; fails=$((fails + 1)); }
import json, sys
t = json.load(open(sys.argv[1]))['targets']
assert [x['replicas']['replicas'] for x in t] == [6, 3, 11], [x['replicas'] for x in t]
assert t[0]['totalNodes'] == 6 and t[1]['totalNodes'] == 3 and t[1]['filteredOut'] == 3, t
# the workers' allocatable CPU: 3 x 3500m = 10.5 -> 11 cores; 100m + 10m x 11
assert t[1]['totalCores'] == 11 and t[1]['vertical']['containers'][0]['resources'] == {'requests': {'cpu': '210m'}}, t[1]
assert t[2]['replicas']['source'] == 'ConfigMap nginx-autoscaler' and t[2]['totalCores'] == 21, t[2]
EOF2
else
  echo "FAIL: eval --targets-file with --configmap: exit $?"; cat "$errf"; fails=$((fails + 1))
fi
expect 0 'Deployment kube-system/workers-only: 3 nodes (3 schedulable), 11 cores (11 schedulable)' '' -- --targets-file "$tf" \
  "${ocp[@]}" --configmap "$DATA/manifests/examples__linear.yaml"
expect 0 '    app requests: cpu=210m' '' -- --targets-file "$tf" "${ocp[@]}" --configmap \
  "$DATA/manifests/examples__linear.yaml"
printf 'targets:\n- kind: Deployment\n  name: a\n  vertical: {containers: [{name: a, requests: {cpu: {base: 1, bsae: 2}}}]}\n' > "$tf"
expect 2 '' 'targets[0] (Deployment default/a): vertical.containers[0].requests.cpu.bsae: unknown key' -- --targets-file "$tf" --nodes 1 --cores 1
expect 2 '' '--params, --nodelabels, --ignore-taint and --max-cores-per-node do not apply' -- --targets-file "$tf" --params "$COREDNS" --nodes 1 --cores 1
rm -f "$tf"

if "$PROPSIM" nosuch >/dev/null 2>&1; then echo "FAIL: unknown command accepted"; fails=$((fails + 1)); fi
[ "$("$PROPSIM" --version)" != "" ] || { echo "FAIL: --version"; fails=$((fails + 1)); }

echo "test_eval: $fails failure(s)"
[ "$fails" -eq 0 ]
