#!/usr/bin/env bash
# Fidelity: the same trace replayed offline (propsim replay) and served live (propsim serve) to
# the real propscaler yields the same sequence of replica writes, decision for decision: for a
# linear rule (schedulable nodes) and, from a second controller on the same cluster, a ladder
# counting unschedulable nodes too.
set -u
PROPSCALER=$1
PROPSIM=$2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# wait_ready LOG: wait until the propscaler logging to LOG is synced (its metrics port is in the log)
wait_ready() {
  local port=""
  for _ in $(seq 200); do
    port=$(grep -o 'metrics on [0-9.]*:[0-9]*' "$1" 2>/dev/null | head -1 | cut -d: -f2)
    [ -n "$port" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$port/readyz")" = 200 ] && return 0
    sleep 0.05
  done
  fail "not ready: $(tail -2 "$1")"
}
# cm_objects PARAMS [WORKLOAD-FILE]: the target (a plain coredns Deployment, or the given
# manifest) and ConfigMap cm holding PARAMS ({"linear":...} or {"ladder":...}), as YAML
cm_objects() {
  if [ -n "${2:-}" ]; then cat "$2"
  else printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: coredns, namespace: kube-system}\nspec: {replicas: 1}\n'; fi
  local mode=${1#\{\"}; mode=${mode%%\"*}
  printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: kube-system}\ndata:\n  %s: %s\n' "$mode" \
    "'$(sed 's/^{"[a-z]*":\(.*\)}$/\1/' <<<"$1")'"
}
# live NAME TRACE OBJECTS [PROPSCALER ARGS...]: serve TRACE (paused until propscaler has synced and
# read the pod template), play it to the end, stop; LIVE holds the writes "from->to ..."
live() {
  "$PROPSIM" serve --listen 127.0.0.1:0 --trace "$2" --paused --no-pods --apply "$3" --watch-window 20000 \
    --write-kubeconfig "$work/$1.kc" >"$work/$1.port" 2>"$work/$1.serve.log" &
  local sp=$!
  for _ in $(seq 100); do [ -s "$work/$1.port" ] && break; sleep 0.05; done
  local url=http://127.0.0.1:$(head -1 "$work/$1.port")
  "$PROPSCALER" --kubeconfig "$work/$1.kc" --namespace kube-system --configmap cm --target deployment/coredns \
    --metrics-addr 127.0.0.1:0 "${@:4}" >/dev/null 2>"$work/$1.log" &
  local ps=$!
  wait_ready "$work/$1.log"
  sleep 0.5
  curl -s -X POST "$url/propsim/resume" >/dev/null
  for _ in $(seq 300); do curl -s "$url/propsim/stats" | grep -q '"traceDone":true' && break; sleep 0.1; done
  sleep 1.5
  kill -TERM $ps; wait $ps
  kill $sp; wait $sp 2>/dev/null
  LIVE=$(writes "$work/$1.log" coredns)
}
PARAMS='{"linear":{"nodesPerReplica":4,"preventSinglePointFailure":true}}'
LADDER='{"ladder":{"nodesToReplicas":[[1,1],[10,2],[20,3],[30,5],[40,7]],"includeUnschedulableNodes":true}}'

# A history with growth, a cordon wave, NotReady nodes and deletions; events 0.4 s apart so each
# is its own decision live too (propscaler coalesces changes within 10 ms).
node() { # node T TYPE NAME [unschedulable] [ready]
  printf '{"t":%s,"type":"%s","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"%s"},"spec":{%s},"status":{"allocatable":{"cpu":"4"},"conditions":[{"type":"Ready","status":"%s"}]}}}\n' \
    "$1" "$2" "$3" "${4:+\"unschedulable\":true}" "${5:-True}"
}
{
  for i in 1 2 3; do node 0 ADDED "n$i"; done
  t=0.4
  for i in $(seq 4 43); do node "$t" ADDED "n$i"; t=$(echo "$t + 0.4" | bc); done
  for i in 1 2 3 4 5; do node "$t" MODIFIED "n$i" yes; t=$(echo "$t + 0.4" | bc); done
  for i in 6 7 8; do node "$t" MODIFIED "n$i" "" False; t=$(echo "$t + 0.4" | bc); done
  for i in $(seq 20 34); do
    printf '{"t":%s,"type":"DELETED","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"n%s"}}}\n' "$t" "$i"
    t=$(echo "$t + 0.4" | bc)
  done
  for i in 1 2 3 4 5; do node "$t" MODIFIED "n$i"; t=$(echo "$t + 0.4" | bc); done
} >"$work/trace.jsonl"

# offline: both params sets on the same trace (timeline columns 7 and 10 are their actions). This
# stage holds propscaler to CPA's exact timing: the guard (on by default) is off, live and offline;
# the guard stage below runs with the defaults.
"$PROPSIM" replay "$work/trace.jsonl" --params "$PARAMS" --params "$LADDER" --out "$work/replay" --initial-replicas 1 \
  --guard=false --no-chart >/dev/null 2>&1 || fail "replay failed"
offline_linear=$(awk -F, 'NR > 1 && $7 != "" {print $7}' "$work/replay/timeline.csv" | tr '\n' ' ')
offline_ladder=$(awk -F, 'NR > 1 && $10 != "" {print $10}' "$work/replay/timeline.csv" | tr '\n' ' ')

# live: the same trace served (paused until both controllers have synced), the same params
{
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: coredns, namespace: kube-system}\nspec: {replicas: 1}\n'
  printf -- '---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: metrics, namespace: kube-system}\nspec: {replicas: 1}\n'
  printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: kube-system}\ndata:\n  linear: %s\n' \
    "'$(sed 's/^{"linear":\(.*\)}$/\1/' <<<"$PARAMS")'"
  printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-ladder, namespace: kube-system}\ndata:\n  ladder: %s\n' \
    "'$(sed 's/^{"ladder":\(.*\)}$/\1/' <<<"$LADDER")'"
} >"$work/objects.yaml"
"$PROPSIM" serve --listen 127.0.0.1:0 --trace "$work/trace.jsonl" --paused --no-pods --apply "$work/objects.yaml" \
  --write-kubeconfig "$work/kc" >"$work/port" 2>"$work/serve.log" &
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(head -1 "$work/port")
"$PROPSCALER" --kubeconfig "$work/kc" --namespace kube-system --configmap cm --target deployment/coredns \
  --metrics-addr 127.0.0.1:0 --guard=false >/dev/null 2>"$work/live.log" &
PS=$!
"$PROPSCALER" --kubeconfig "$work/kc" --namespace kube-system --configmap cm-ladder --target deployment/metrics \
  --metrics-addr 127.0.0.1:0 --guard=false >/dev/null 2>"$work/live-ladder.log" &
PS2=$!
wait_ready "$work/live.log"
wait_ready "$work/live-ladder.log"
curl -s -X POST "$URL/propsim/resume" >/dev/null
for _ in $(seq 300); do curl -s "$URL/propsim/stats" | grep -q '"traceDone":true' && break; sleep 0.1; done
sleep 1
kill -TERM $PS $PS2; wait $PS $PS2
writes() { # log target
  sed -n "s/.*Replicas are not as expected : updating deployment\/$2 from \([0-9]*\) to \([0-9]*\)$/\1->\2/p" "$1" | tr '\n' ' '
}
live_linear=$(writes "$work/live.log" coredns)
live_ladder=$(writes "$work/live-ladder.log" metrics)

[ -n "$offline_linear" ] && [ -n "$offline_ladder" ] || fail "the replay made no scaling decisions"
[ "$offline_linear" != "$offline_ladder" ] || fail "the two rules should decide differently on this trace"
echo "linear offline: $offline_linear"
echo "linear live:    $live_linear"
echo "ladder offline: $offline_ladder"
echo "ladder live:    $live_ladder"
[ "$offline_linear" = "$live_linear" ] || fail "linear: live and offline differ"
[ "$offline_ladder" = "$live_ladder" ] || fail "ladder: live and offline differ"
final() { curl -s "$URL/apis/apps/v1/namespaces/kube-system/deployments/$1" | grep -o '"replicas":[0-9]*' | head -1 | cut -d: -f2; }
[ "$(final coredns)" = "$(tail -1 "$work/replay/timeline.csv" | cut -d, -f6)" ] || fail "final replicas (linear): live $(final coredns)"
[ "$(final metrics)" = "$(tail -1 "$work/replay/timeline.csv" | cut -d, -f9)" ] || fail "final replicas (ladder): live $(final metrics)"

# Bursts of real-sized Nodes (5.5 KB OpenShift workers): a t=0 group of 1,500 ADDED, then 1,000
# more ADDED at once, then 600 DELETED at once. Live, each burst reaches propscaler as thousands
# of watch events over a few hundred milliseconds; it must decide once per burst, on the whole
# of it, exactly as the replay does (no intermediate write on a half-loaded cluster).
DATA=$(cd "$(dirname "$0")/../data" && pwd)
tr -d '\n' <"$DATA/nodes/ci-ln-3z9y7mt-f76d1-69jcr-worker-b-q6vs9.json" | sed 's/  */ /g' >"$work/node.json"
awk -v tmpl="$(cat "$work/node.json")" -v orig=ci-ln-3z9y7mt-f76d1-69jcr-worker-b-q6vs9 'BEGIN {
  burst(0, 1, 1500, "ADDED"); burst(3, 1501, 2500, "ADDED"); burst(6, 1, 600, "DELETED") }
  function burst(t, from, to, type,   i, o) {
    for (i = from; i <= to; i++) { o = tmpl; gsub(orig, sprintf("burst-%05d", i), o)
      printf "{\"t\":%d,\"type\":\"%s\",\"object\":%s}\n", t, type, o } }' >"$work/burst.jsonl"
BPARAMS='{"linear":{"nodesPerReplica":16}}'
"$PROPSIM" replay "$work/burst.jsonl" --params "$BPARAMS" --out "$work/breplay" --initial-replicas 1 --guard=false --no-chart >/dev/null 2>&1 ||
  fail "burst replay failed"
offline_burst=$(awk -F, 'NR > 1 && $7 != "" {print $7}' "$work/breplay/timeline.csv" | tr '\n' ' ')
cm_objects "$BPARAMS" >"$work/bobjects.yaml"
live blive "$work/burst.jsonl" "$work/bobjects.yaml" --guard=false
live_burst=$LIVE
if [ "$offline_burst" != "$live_burst" ]; then
  # once more: under the sanitizers, on 2 cores shared with other tests, the emulator's sending
  # of a 8 MB burst has stalled past the 8 ms quiet window once (the decision then came at 64
  # nodes); the property is the controller's, so a second run must hold it
  echo "bursts live (first run, again): $live_burst"
  live blive2 "$work/burst.jsonl" "$work/bobjects.yaml" --guard=false
  live_burst=$LIVE
fi
echo "bursts offline: $offline_burst"
echo "bursts live:    $live_burst"
[ "$offline_burst" = "1->94 94->157 157->119 " ] || fail "bursts: the replay's decisions changed"
[ "$offline_burst" = "$live_burst" ] || fail "bursts: live and offline differ"

# The placement stage: CoreDNS with required hostname anti-affinity and a nodeSelector; nodes
# with and without the label join, are cordoned and leave. Live (the controller reads the
# Deployment's pod template) and offline (--workload) cap at the eligible nodes alike.
cat >"$work/dns.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      nodeSelector: {pool: dns}
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - topologyKey: kubernetes.io/hostname
            labelSelector: {matchLabels: {k8s-app: kube-dns}}
      containers: [{name: coredns, image: coredns}]
YAML
pnode() { # pnode T TYPE NAME POOL [unschedulable]
  printf '{"t":%s,"type":"%s","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"%s","labels":{"pool":"%s"}},"spec":{%s},"status":{"allocatable":{"cpu":"4"},"conditions":[{"type":"Ready","status":"True"}]}}}\n' \
    "$1" "$2" "$3" "$4" "${5:+\"unschedulable\":true}"
}
{
  for i in $(seq 1 6); do pnode 0 ADDED "d$i" dns; done
  for i in $(seq 1 10); do pnode 0 ADDED "o$i" other; done
  t=0.5
  for i in 7 8 9; do pnode "$t" ADDED "d$i" dns; t=$(echo "$t + 0.5" | bc); done
  for i in 1 2; do pnode "$t" MODIFIED "d$i" dns yes; t=$(echo "$t + 0.5" | bc); done
  for i in $(seq 11 14); do pnode "$t" ADDED "o$i" other; t=$(echo "$t + 0.5" | bc); done
  for i in 3 4 5; do
    printf '{"t":%s,"type":"DELETED","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"d%s"}}}\n' "$t" "$i"
    t=$(echo "$t + 0.5" | bc)
  done
} >"$work/place.jsonl"
PPARAMS='{"linear":{"nodesPerReplica":2}}'
"$PROPSIM" replay "$work/place.jsonl" --params "$PPARAMS" --workload "$work/dns.yaml" --out "$work/preplay" \
  --initial-replicas 1 --no-chart >"$work/preplay.out" 2>&1 || fail "placement replay failed: $(cat "$work/preplay.out")"
offline_place=$(awk -F, 'NR > 1 && $7 != "" {print $7}' "$work/preplay/timeline.csv" | tr '\n' ' ')
grep -q '"placementCapped"' "$work/preplay/summary.json" || fail "placement replay: no placementCapped in the summary"
grep -q 'placement capped [1-9][0-9]* decisions at the eligible nodes; last: .*only 6 schedulable nodes are eligible' "$work/preplay.out" ||
  fail "placement replay: the cap is not reported: $(cat "$work/preplay.out")"
cm_objects "$PPARAMS" "$work/dns.yaml" >"$work/pobjects.yaml"
live plive "$work/place.jsonl" "$work/pobjects.yaml"
live_place=$LIVE
echo "placement offline: $offline_place"
echo "placement live:    $live_place"
[ -n "$offline_place" ] || fail "placement: the replay made no decisions"
[ "$offline_place" = "$live_place" ] || fail "placement: live and offline differ"

# The guard stage: a NotReady wave over most of the nodes (what a control-plane outage looks
# like), then recovery and a real shrink. Live and offline, with the guard on by default (no
# --guard), hold, limit and release alike (the scale-down delay off, so the 0.5 s spacing alone
# decides).
{
  for i in $(seq 1 20); do node 0 ADDED "g$i"; done
  t=0.5
  for i in $(seq 1 14); do node "$t" MODIFIED "g$i" "" False; t=$(echo "$t + 0.5" | bc); done
  for i in $(seq 1 14); do node "$t" MODIFIED "g$i"; t=$(echo "$t + 0.5" | bc); done
  for i in $(seq 15 20); do
    printf '{"t":%s,"type":"DELETED","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"g%s"}}}\n' "$t" "$i"
    t=$(echo "$t + 0.5" | bc)
  done
} >"$work/guard.jsonl"
GPARAMS='{"linear":{"nodesPerReplica":1}}'
GUARD=(--scale-down-delay 0) # and no --guard: it is on by default
"$PROPSIM" replay "$work/guard.jsonl" --params "$GPARAMS" "${GUARD[@]}" --out "$work/greplay" --initial-replicas 1 \
  --no-chart >"$work/greplay.out" 2>&1 || fail "guard replay failed: $(cat "$work/greplay.out")"
offline_guard=$(awk -F, 'NR > 1 && $7 != "" {print $7}' "$work/greplay/timeline.csv" | tr '\n' ' ')
grep -q 'the guard held [1-9]' "$work/greplay.out" || fail "guard replay: nothing held: $(cat "$work/greplay.out")"
cm_objects "$GPARAMS" >"$work/gobjects.yaml"
live glive "$work/guard.jsonl" "$work/gobjects.yaml" "${GUARD[@]}"
live_guard=$LIVE
echo "guard offline: $offline_guard"
echo "guard live:    $live_guard"
grep -q 'holding' "$work/glive.log" || fail "guard live: no hold logged"
[ "$offline_guard" = "$live_guard" ] || fail "guard: live and offline differ"

# Several targets from one propscaler (--targets-file): the first trace again, three targets — the
# linear rule inline, the ladder from its ConfigMap, a vertical-only Deployment (addon-resizer's
# flags, the exponential estimator, 5% threshold) — replayed offline with the same file and served
# live: the same replica writes for each horizontal target, the same resource rewrites (counts and
# values) for the vertical one. The workload starts as the policy sizes it for the first decision
# (the replay's assumption): live, that decision sees the cluster before the trace (0 nodes) and
# offline the trace's first 3; the estimator sizes both for 16 nodes (100Mi + 10Mi x 16).
cat >"$work/targets.yaml" <<EOF2
targets:
- {kind: Deployment, name: coredns, namespace: kube-system, replicas: $PARAMS, guard: {enabled: false}}
- {kind: Deployment, name: metrics, namespace: kube-system, replicas: {configMap: cm-ladder}, guard: {enabled: false}}
- kind: Deployment
  name: ms
  namespace: kube-system
  guard: {enabled: false}
  vertical: {addonResizer: ["--memory=100Mi", "--extra-memory=10Mi", "--threshold=5", "--estimator=exponential", "--container=app"]}
EOF2
{
  cat "$work/objects.yaml"
  printf -- '---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ms, namespace: kube-system}\nspec:\n  replicas: 1\n'
  printf '  template:\n    spec:\n      containers: [{name: app, image: app, resources: {requests: {memory: 260Mi}, limits: {memory: 260Mi}}}]\n'
} >"$work/tobjects.yaml"
"$PROPSIM" replay "$work/trace.jsonl" --targets-file "$work/targets.yaml" --config "$work/objects.yaml" --out "$work/treplay" \
  --initial-replicas 1 --no-chart >"$work/treplay.out" 2>&1 || fail "targets replay failed: $(cat "$work/treplay.out")"
python3 - "$work/treplay/timeline.jsonl" >"$work/treplay.seq" <<'EOF2'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(' '.join(r['action_1'] for r in rows if r['action_1']))
print(' '.join(r['action_2'] for r in rows if r['action_2']))
print(' | '.join(r['resources_1'] for r in rows if r['rollout_1']))
EOF2
"$PROPSIM" serve --listen 127.0.0.1:0 --trace "$work/trace.jsonl" --paused --no-pods --apply "$work/tobjects.yaml" \
  --write-kubeconfig "$work/tkc" >"$work/tport" 2>"$work/tserve.log" &
SP=$!
for _ in $(seq 100); do [ -s "$work/tport" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(head -1 "$work/tport")
"$PROPSCALER" --kubeconfig "$work/tkc" --namespace kube-system --targets-file "$work/targets.yaml" \
  --metrics-addr 127.0.0.1:0 >/dev/null 2>"$work/tlive.log" &
PS=$!
wait_ready "$work/tlive.log"
curl -s -X POST "$URL/propsim/resume" >/dev/null
for _ in $(seq 300); do curl -s "$URL/propsim/stats" | grep -q '"traceDone":true' && break; sleep 0.1; done
sleep 1
kill -TERM $PS; wait $PS
kill $SP; wait $SP 2>/dev/null
{
  writes "$work/tlive.log" coredns | sed 's/ $//'; echo
  writes "$work/tlive.log" metrics | sed 's/ $//'; echo
  sed -n 's/.*Resized Deployment kube-system\/ms for [0-9]* nodes, [0-9]* cores (every pod restarts): \(.*\); because .*/\1/p' \
    "$work/tlive.log" | paste -sd'|' | sed 's/|/ | /g'
} >"$work/tlive.seq"
echo "targets offline: $(tr '\n' '/' <"$work/treplay.seq")"
echo "targets live:    $(tr '\n' '/' <"$work/tlive.seq")"
[ "$(sed -n 3p "$work/treplay.seq")" != "" ] || fail "targets: the replay made no resource rewrite"
[ "$(sed -n 1p "$work/treplay.seq")" = "$offline_linear" ] || [ "$(sed -n 1p "$work/treplay.seq") " = "$offline_linear" ] ||
  fail "targets: the linear target differs from --params: $(sed -n 1p "$work/treplay.seq")"
cmp -s "$work/treplay.seq" "$work/tlive.seq" || fail "targets: live and offline differ"

echo "test_fidelity: $fails failure(s)"
[ "$fails" -eq 0 ]
