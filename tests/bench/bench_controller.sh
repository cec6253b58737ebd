#!/usr/bin/env bash
# Benchmark propscaler against propsim serve at 1,000 / 5,000 / 15,000 nodes. Prints a table;
# asserts nothing. Latency is measured from the moment the last node change of a burst has been
# accepted by the API server to the timestamp of propscaler's "Replicas are not as expected"
# log line (taken just before its scale write), on the same clock.
#
#   bash tests/bench/bench_controller.sh [build] [SIZES="1000 5000 15000"] [BURSTS=20]
set -u
BUILD=${1:-build}
SIZES=${2:-"1000 5000 15000"}
BURSTS=${3:-20}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
HZ=$(getconf CLK_TCK)
cpu_s() { awk -v hz="$HZ" '{print ($14 + $15) / hz}' "/proc/$1/stat"; }
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
hwm_mb() { awk '/^VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
# klog time "I1124 09:18:50.123456" -> epoch seconds (today, local time)
log_epoch() { local hms=${2%.*} frac=${2#*.}; echo "$(date -d "$(date +%F) $hms" +%s).$frac"; }
percentile() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int((NR-1)*p/100)+1; printf "%.1f", a[i]*1000}'; }

printf '%-8s %-12s %-10s %-10s %-12s %-14s %-10s %-10s %-12s\n' nodes first-scale rss-peak rss-steady cpu-idle-10s cpu-10upd/s-10s lat-p50 lat-p99 rx-bytes
for N in $SIZES; do
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: coredns, namespace: kube-system}\nspec: {replicas: 1}\n' >"$work/d.yaml"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: kube-system}\ndata:\n  linear: '"'"'{"nodesPerReplica":16}'"'"'\n' >"$work/cm.yaml"
  "$BUILD/propsim" serve --listen 127.0.0.1:0 --nodes "$N" --no-pods --apply "$work/d.yaml" --apply "$work/cm.yaml" \
    --write-kubeconfig "$work/kc" >"$work/port" 2>/dev/null &
  SP=$!
  for _ in $(seq 400); do [ -s "$work/port" ] && break; sleep 0.05; done
  URL=http://127.0.0.1:$(head -1 "$work/port")
  want=$(( (N + 15) / 16 ))
  t0=$(date +%s.%N)
  "$BUILD/propscaler" --kubeconfig "$work/kc" --namespace kube-system --configmap cm --target deployment/coredns \
    --metrics-addr 127.0.0.1:18499 >/dev/null 2>"$work/log" &
  PP=$!
  until grep -q "to $want\$" "$work/log" 2>/dev/null; do sleep 0.01; done
  first=$(echo "$(log_epoch $(grep "to $want\$" "$work/log" | head -1 | awk '{print $1, $2}')) - $t0" | bc)
  # pad to a node count = 1 (mod 16): each later burst of 16 nodes changes the answer with its
  # last node exactly (ceil(count/16) steps up at 16k+1)
  pad=$(( (17 - N % 16) % 16 ))
  for i in $(seq 1 "$pad"); do
    curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
      -d "{\"metadata\":{\"name\":\"pad-$i\"},\"status\":{\"allocatable\":{\"cpu\":\"4\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" "$URL/api/v1/nodes"
  done
  want=$(( (N + pad + 15) / 16 ))
  until grep -q "to $want\$" "$work/log" 2>/dev/null || [ "$pad" = 0 ]; do sleep 0.01; done
  sleep 2
  peak=$(hwm_mb $PP)
  c0=$(cpu_s $PP); sleep 10; c1=$(cpu_s $PP)
  idle=$(echo "$c1 - $c0" | bc)
  steady=$(rss_mb $PP)
  # 10 node updates per second for 10 s (no replica change: label churn)
  names=$(curl -s "$URL/api/v1/nodes?limit=100" | grep -o '"name":"node-pool-[^"]*"' | cut -d'"' -f4)
  c0=$(cpu_s $PP)
  k=0
  for n in $names; do
    curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' -d "{\"metadata\":{\"labels\":{\"bench\":\"$k\"}}}" "$URL/api/v1/nodes/$n"
    k=$((k + 1)); sleep 0.09
  done
  c1=$(cpu_s $PP)
  busy=$(echo "$c1 - $c0" | bc)
  # bursts: add 16 nodes (one more replica), take the time the last one was accepted
  : >"$work/lat"
  for b in $(seq "$BURSTS"); do
    want=$((want + 1))
    for i in $(seq 16); do
      curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
        -d "{\"metadata\":{\"name\":\"burst-$b-$i\"},\"status\":{\"allocatable\":{\"cpu\":\"4\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" "$URL/api/v1/nodes"
    done
    tl=$(date +%s.%N)
    until grep -q "to $want\$" "$work/log"; do sleep 0.005; done
    echo "$(log_epoch $(grep "to $want\$" "$work/log" | tail -1 | awk '{print $1, $2}')) - $tl" | bc >>"$work/lat"
  done
  p50=$(percentile 50 <"$work/lat")
  p99=$(percentile 99 <"$work/lat")
  rx=$(curl -s 127.0.0.1:18499/metrics | awk '/^propscaler_api_received_bytes_total/ {print $2}')
  printf '%-8s %-12s %-10s %-10s %-12s %-14s %-10s %-10s %-12s\n' "$N" "$(printf '%.2fs' "$first")" "${peak}MiB" "${steady}MiB" \
    "${idle}s" "${busy}s" "${p50}ms" "${p99}ms" "$rx"
  kill $PP $SP; wait $PP $SP 2>/dev/null
done
printf '\nlatency: the burst'"'"'s last node change accepted by the API server -> propscaler decides to write\n'
printf '(its log line, just before the PUT). rerun: bash tests/bench/bench_controller.sh %s "%s" %s\n' "$BUILD" "$SIZES" "$BURSTS"
