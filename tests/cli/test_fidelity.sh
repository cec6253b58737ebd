#!/usr/bin/env bash
# Fidelity: the same trace replayed offline (propsim replay) and served live (propsim serve) to
# the real propscaler yields the same sequence of replica writes, decision for decision.
set -u
PROPSCALER=$1
PROPSIM=$2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
PARAMS='{"linear":{"nodesPerReplica":4,"preventSinglePointFailure":true}}'

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

# offline
"$PROPSIM" replay "$work/trace.jsonl" --params "$PARAMS" --out "$work/replay" --initial-replicas 1 --no-chart >/dev/null 2>&1 ||
  fail "replay failed"
offline=$(awk -F, 'NR > 1 && $7 != "" {print $7}' "$work/replay/timeline.csv" | tr '\n' ' ')

# live: the same trace served (paused until the controller has synced), the same params
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: coredns, namespace: kube-system}\nspec: {replicas: 1}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: kube-system}\ndata:\n  linear: %s\n' "'$PARAMS'" >"$work/objects.yaml"
sed -i "s/linear: '{\"linear\":\(.*\)}'/linear: '\1'/" "$work/objects.yaml"
"$PROPSIM" serve --listen 127.0.0.1:0 --trace "$work/trace.jsonl" --paused --no-pods --apply "$work/objects.yaml" \
  --write-kubeconfig "$work/kc" >"$work/port" 2>"$work/serve.log" &
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(head -1 "$work/port")
"$PROPSCALER" --kubeconfig "$work/kc" --namespace kube-system --configmap cm --target deployment/coredns \
  --metrics-addr 127.0.0.1:18594 >/dev/null 2>"$work/live.log" &
PS=$!
for _ in $(seq 100); do [ "$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:18594/readyz)" = 200 ] && break; sleep 0.05; done
curl -s -X POST "$URL/propsim/resume" >/dev/null
for _ in $(seq 300); do curl -s "$URL/propsim/stats" | grep -q '"traceDone":true' && break; sleep 0.1; done
sleep 1
kill -TERM $PS; wait $PS
live=$(sed -n 's/.*Replicas are not as expected : updating deployment\/coredns from \([0-9]*\) to \([0-9]*\)$/\1->\2/p' "$work/live.log" | tr '\n' ' ')

[ -n "$offline" ] || fail "the replay made no scaling decisions"
echo "offline: $offline"
echo "live:    $live"
[ "$offline" = "$live" ] || fail "live and offline differ"
final=$(curl -s "$URL/apis/apps/v1/namespaces/kube-system/deployments/coredns" | grep -o '"replicas":[0-9]*' | head -1 | cut -d: -f2)
[ "$final" = "$(tail -1 "$work/replay/timeline.csv" | cut -d, -f6)" ] || fail "final replicas: live $final"

echo "test_fidelity: $fails failure(s)"
[ "$fails" -eq 0 ]
