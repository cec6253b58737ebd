#!/usr/bin/env bash
# The initial sync alone, many times: propscaler --dry-run against propsim serve (HTTPS, realistic
# ~6 KB Nodes, pages of 500), from its start to its printed plan; the median CPU and wall time of
# RUNS runs, plain and gzip, for each BUILD given (A/B comparisons on a noisy machine: runs
# alternate between the builds). The server's CPU for the same syncs is shown too (it shares the
# machine's cores). SERVER=kube: a real kube-apiserver 1.20 + etcd instead, holding NODES copies of
# a real 5.5 KB Node (bench_kube_up in coredns-target.sh; server CPU: kube-apiserver's alone).
# Prints a table; asserts nothing.
#
#   [SERVER=kube] bash tests/bench/bench_sync.sh NODES RUNS BUILD [BUILD...]
set -u
N=${1:-15000}
RUNS=${2:-9}
shift 2
[ $# -ge 1 ] || set -- build
builds=()
for b in "$@"; do builds+=("$(cd "$b" && pwd)"); done
work=$(mktemp -d)
SERVER=${SERVER:-propsim}
trap 'kill $(jobs -p) 2>/dev/null; [ "$SERVER" = kube ] && kube_down; wait 2>/dev/null; rm -rf "$work"' EXIT
HZ=$(getconf CLK_TCK)
. "$(dirname "$0")/coredns-target.sh"
bench_target_manifests "$work"
if [ "$SERVER" = kube ]; then
  bench_kube_up "$work" "$N" || exit 1
  SP=$KUBE_APISERVER_PID
else
  "${builds[0]}/propsim" serve --listen 127.0.0.1:0 --nodes "$N" --no-pods --token "bench-$RANDOM$RANDOM" \
    --apply "$work/d.yaml" --apply "$work/cm.yaml" --write-kubeconfig "$work/kc" >"$work/port" 2>"$work/serve.log" &
  SP=$!
  for _ in $(seq 6000); do [ -s "$work/kc" ] && break; sleep 0.05; done
fi
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
declare -A cpu wall srv
for _ in $(seq "$RUNS"); do
  for i in "${!builds[@]}"; do
    for mode in plain gzip; do
      extra=()
      [ "$mode" = plain ] && extra=(--disable-compression)
      s0=$(ticks $SP)
      t0=$(date +%s%N)
      "${builds[$i]}/propscaler" --kubeconfig "$work/kc" --namespace kube-system --configmap cm --target deployment/coredns \
        --metrics-addr 127.0.0.1:0 --dry-run "${extra[@]}" >"$work/out" 2>"$work/log" &
      PP=$!
      for _ in $(seq 10000); do grep -q 'would scale' "$work/out" 2>/dev/null && break; sleep 0.002; done
      t1=$(date +%s%N)
      c=$(ticks $PP)
      s1=$(ticks $SP)
      kill $PP; wait $PP 2>/dev/null
      cpu[$i/$mode]+="$c "
      srv[$i/$mode]+="$((s1 - s0)) "
      wall[$i/$mode]+="$(((t1 - t0) / 1000000)) "
    done
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-40s %-6s %-12s %-12s %-12s\n' build mode cpu-median wall-median server-cpu
for i in "${!builds[@]}"; do
  for mode in plain gzip; do
    printf '%-40s %-6s %-12s %-12s %-12s\n' "${builds[$i]}" $mode \
      "$(echo "$(echo ${cpu[$i/$mode]} | median) / $HZ" | bc -l | xargs printf '%.2fs')" \
      "$(echo ${wall[$i/$mode]} | median)ms" \
      "$(echo "$(echo ${srv[$i/$mode]} | median) / $HZ" | bc -l | xargs printf '%.2fs')"
  done
done
printf '\n%s nodes on %s, %s runs each; wall: start -> the plan printed (dry run), polled every 2 ms\n' "$N" "$SERVER" "$RUNS"
printf 'rerun: SERVER=%s bash tests/bench/bench_sync.sh %s %s %s\n' "$SERVER" "$N" "$RUNS" "$*"
