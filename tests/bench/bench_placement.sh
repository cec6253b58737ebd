#!/usr/bin/env bash
# The hot-spot the field saw, reproduced: a cluster grows to NODES (default 2,500) nodes, propscaler
# sizes CoreDNS (16 nodes per replica), and the emulator's scheduler places the replicas —
# bin-packing (most-requested) or spread — with and without hostname anti-affinity. Prints the
# replicas on the busiest node for each combination, as propscaler reports them.
#
#   bash tests/bench/bench_placement.sh [build] [NODES=2500]
set -u
BUILD=${1:-build}
NODES=${2:-2500}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
"$BUILD/propsim" generate growth --nodes "$NODES" --start-nodes 3 --duration 60 -o "$work/growth.jsonl" >/dev/null
sed -e '/affinity:/,/topologyKey/d' "$ROOT/manifests/examples/coredns-deployment.yaml" >"$work/coredns-plain.yaml"
printf '%-16s %-22s %-10s %-22s %-26s\n' scheduler coredns replicas "busiest node" "nodes over the limit"
for sched in most-requested spread; do
  for variant in plain anti; do
    manifest=$work/coredns-plain.yaml
    [ "$variant" = anti ] && manifest=$ROOT/manifests/examples/coredns-deployment.yaml
    rm -f "$work/port"
    "$BUILD/propsim" serve --listen 127.0.0.1:0 --trace "$work/growth.jsonl" --speed 0 --scheduler "$sched" \
      --apply "$ROOT/manifests/examples/coredns-autoscaler-params.yaml" --apply "$manifest" \
      --write-kubeconfig "$work/kc" >"$work/port" 2>/dev/null &
    sp=$!
    until [ -s "$work/port" ]; do sleep 0.05; done
    url=http://127.0.0.1:$(head -1 "$work/port")
    until curl -s "$url/propsim/stats" | grep -q '"traceDone":true'; do sleep 0.2; done
    "$BUILD/propscaler" --kubeconfig "$work/kc" --namespace kube-system --configmap coredns-autoscaler \
      --target deployment/coredns --metrics-addr 127.0.0.1:18599 >/dev/null 2>"$work/log" &
    pp=$!
    want=$(( (NODES + 15) / 16 ))
    for _ in $(seq 300); do
      m=$(curl -s 127.0.0.1:18599/metrics)
      grep -q "^propscaler_current_replicas{.*} $want\$" <<<"$m" && grep -q '^propscaler_replicas_on_busiest_node' <<<"$m" && break
      sleep 0.2
    done
    sleep 1.5
    m=$(curl -s 127.0.0.1:18599/metrics)
    busiest=$(awk '/^propscaler_replicas_on_busiest_node/ {print $2}' <<<"$m")
    over=$(awk '/^propscaler_nodes_over_replica_limit/ {print $2}' <<<"$m")
    label="no anti-affinity"; [ "$variant" = anti ] && label="hostname anti-affinity"
    printf '%-16s %-22s %-10s %-22s %-26s\n' "$sched" "$label" "$want" "${busiest:-?} replicas" "${over:-?}"
    kill $pp $sp; wait $pp $sp 2>/dev/null
  done
done
printf '\nCoreDNS pods request 100m CPU; nodes have 3920m allocatable. Limit: 1 replica per node with\n'
printf 'anti-affinity, else 2 (--max-replicas-per-node). rerun: bash tests/bench/bench_placement.sh %s %s\n' "$BUILD" "$NODES"
