#!/usr/bin/env bash
# Bursts of real-sized Nodes (5.5 KB OpenShift workers) against the live controller: a trace
# instant of N ADDED, then N more ADDED 5 s later, played by propsim serve; prints the scale
# writes propscaler made and the replay's decisions for the same trace. Burst-proof reaction
# means one write per burst, the replay's. Asserts nothing (a benchmark: the sanitizer builds
# are slower than the 1 s cap on a burst's wait).
#
#   bash tests/bench/bench_burst.sh [build] [N=6500]
set -u
BUILD=${1:-build}
N=${2:-6500}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
node=$ROOT/tests/data/nodes/ci-ln-3z9y7mt-f76d1-69jcr-worker-b-q6vs9.json
tr -d '\n' <"$node" | sed 's/  */ /g' >"$work/node.json"
awk -v tmpl="$(cat "$work/node.json")" -v orig=ci-ln-3z9y7mt-f76d1-69jcr-worker-b-q6vs9 -v n="$N" '
  BEGIN { burst(0, 1, n); burst(5, n + 1, 2 * n) }
  function burst(t, from, to,   i, o) {
    for (i = from; i <= to; i++) { o = tmpl; gsub(orig, sprintf("burst-%06d", i), o)
      printf "{\"t\":%d,\"type\":\"ADDED\",\"object\":%s}\n", t, o } }' >"$work/burst.jsonl"
cat >"$work/objects.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: kube-system}
data: {linear: '{"nodesPerReplica":16}'}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  replicas: 1
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec: {containers: [{name: c, image: c}]}
YAML
"$BUILD/propsim" replay "$work/burst.jsonl" --params '{"linear":{"nodesPerReplica":16}}' --out "$work/replay" --no-chart >/dev/null
offline=$(awk -F, 'NR > 1 && $7 != "" {print $7}' "$work/replay/timeline.csv" | tr '\n' ' ')
"$BUILD/propsim" serve --listen 127.0.0.1:0 --trace "$work/burst.jsonl" --paused --no-pods --apply "$work/objects.yaml" \
  --watch-window $((4 * N)) --write-kubeconfig "$work/kc" >"$work/port" 2>"$work/serve.log" &
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
url=http://127.0.0.1:$(head -1 "$work/port")
"$BUILD/propscaler" --kubeconfig "$work/kc" --namespace kube-system --configmap cm --target deployment/coredns \
  --metrics-addr 127.0.0.1:0 >/dev/null 2>"$work/ps.log" &
ps=$!
sleep 1.5
curl -s -X POST "$url/propsim/resume" >/dev/null
for _ in $(seq 600); do curl -s "$url/propsim/stats" | grep -q '"traceDone":true' && break; sleep 0.1; done
sleep 2
kill -TERM $ps
wait $ps
live=$(sed -n 's/.*updating deployment\/coredns from \([0-9]*\) to \([0-9]*\)$/\1->\2/p' "$work/ps.log" | tr '\n' ' ')
echo "two bursts of $N real-sized Nodes ($(du -h "$work/burst.jsonl" | cut -f1) of trace):"
echo "  replay: $offline"
echo "  live:   $live"
