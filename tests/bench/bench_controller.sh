#!/usr/bin/env bash
# Benchmark propscaler against propsim serve as a production cluster would meet it: HTTPS with a
# CA and a bearer token, realistic ~5.8 KB Nodes (GKE-shaped: labels, annotations, 5 conditions,
# addresses, images), JSON pages of 500, gzip as client-go asks. Prints a table; asserts nothing.
#
# Per size: time to the first correct scale (propscaler's start -> its scale write arriving at the
# server), CPU spent to get there, RSS after the sync (shared libraries included) and its peak, idle
# CPU over 10 s, heartbeat churn (RATE node status updates/s for CHURN_S s: API requests propscaler
# made per minute and its CPU), and burst latency p50/p99 over BURSTS bursts (the server's write
# of the burst's last node -> the arrival of the scale write, both stamped by the server's audit
# log: tests/bench/apidriver.py). The sync columns are also given with --disable-compression.
#
#   bash tests/bench/bench_controller.sh BUILD [SIZES="1000 5000 15000 65000"] [BURSTS=100] [CHURN_S=60] [RATE=10]
set -u
B=$(cd "${1:-build}" && pwd)
SIZES=${2:-"1000 5000 15000 65000"}
BURSTS=${3:-100}
CHURN_S=${4:-60}
RATE=${5:-10}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
# BENCH_KEEP=1 keeps the logs (propscaler's, the server's audit log) and says where
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; [ -n "${BENCH_KEEP:-}" ] && echo "logs kept in $work" || rm -rf "$work"' EXIT
HZ=$(getconf CLK_TCK)
cpu_s() { awk -v hz="$HZ" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
hwm_mb() { awk '/^VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
percentile() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int((NR-1)*p/100+0.5)+1; if (i>NR) i=NR; printf "%.1f", a[i]}'; }

. "$here/coredns-target.sh"
bench_target_manifests "$work"

# start propscaler ($@: extra flags); wait for its scale write to WANT; sets PP, FIRST, SYNC_CPU
sync_run() {
  : >"$work/ps.log"
  local before
  before=$(wc -l <"$work/audit")
  local t0
  t0=$(date +%s.%N)
  "$B/propscaler" --kubeconfig "$work/kc" --namespace kube-system --configmap cm --target deployment/coredns \
    --metrics-addr 127.0.0.1:0 "$@" >/dev/null 2>"$work/ps.log" &
  PP=$!
  local line=
  for _ in $(seq 12000); do
    line=$(tail -n +"$((before + 1))" "$work/audit" | grep -m1 " WRITE kube-system/coredns $WANT ") && break
    sleep 0.01
  done
  SYNC_CPU=$(cpu_s $PP)
  FIRST=$(echo "${line%% *} - $t0" | bc)
}

printf '%-6s %-22s %-14s %-9s %-9s %-8s %-16s %-9s %-9s\n' nodes "first-scale/cpu" "plain-http-body" rss rss-peak idle-10s "churn req/min cpu" lat-p50 lat-p99
for N in $SIZES; do
  rm -f "$work/audit" "$work/port" "$work/kc"
  "$B/propsim" serve --listen 127.0.0.1:0 --nodes "$N" --no-pods --token "bench-$RANDOM$RANDOM" \
    --apply "$work/d.yaml" --apply "$work/cm.yaml" --write-kubeconfig "$work/kc" --audit-log "$work/audit" \
    >"$work/port" 2>"$work/serve.log" &
  SP=$!
  for _ in $(seq 6000); do [ -s "$work/port" ] && [ -s "$work/kc" ] && break; sleep 0.05; done
  WANT=$(( (N + 15) / 16 ))
  # the sync without compression first (then the Deployment is put back to 1 replica)
  sync_run --disable-compression
  plain="$(printf '%.2fs/%.2fs' "$FIRST" "$SYNC_CPU")"
  kill $PP; wait $PP 2>/dev/null
  kubectl --kubeconfig "$work/kc" -n kube-system scale deployment coredns --replicas 1 >/dev/null
  # the default: gzip, as client-go
  sync_run
  first="$(printf '%.2fs/%.2fs' "$FIRST" "$SYNC_CPU")"
  sleep 2
  rss=$(rss_mb $PP)
  peak=$(hwm_mb $PP)
  c0=$(cpu_s $PP); sleep 10; c1=$(cpu_s $PP)
  idle=$(echo "$c1 - $c0" | bc)
  c0=$(cpu_s $PP)
  reqs=$(python3 "$here/apidriver.py" "$work/kc" "$work/audit" churn "$CHURN_S" "$RATE")
  c1=$(cpu_s $PP)
  churn="$(echo "$reqs * 60 / $CHURN_S" | bc) $(echo "$c1 - $c0" | bc)s"
  python3 "$here/apidriver.py" "$work/kc" "$work/audit" bursts "$BURSTS" "$N" "$WANT" 16 >"$work/lat" ||
    echo "(bursts failed: $(tail -2 "$work/ps.log"))"
  p50=$(percentile 50 <"$work/lat")
  p99=$(percentile 99 <"$work/lat")
  printf '%-6s %-22s %-14s %-9s %-9s %-8s %-16s %-9s %-9s\n' "$N" "$first" "$plain" "${rss}MiB" "${peak}MiB" "${idle}s" \
    "$churn" "${p50}ms" "${p99}ms"
  [ -n "${BENCH_KEEP:-}" ] && cp "$work/ps.log" "$work/propscaler-$N.log" && cp "$work/audit" "$work/audit-$N.log"
  kill $PP $SP; wait $PP $SP 2>/dev/null
done
printf '\nfirst-scale/cpu: start -> the scale write at the server / CPU to get there (gzip; plain-http-body: --disable-compression)\n'
printf 'churn: %s node heartbeats/s for %s s: propscaler'"'"'s API requests per minute and its CPU\n' "$RATE" "$CHURN_S"
printf 'latency over %s bursts: the last node of a burst written -> the scale write arriving (server clock)\n' "$BURSTS"
printf 'rerun: bash tests/bench/bench_controller.sh %s "%s" %s %s %s\n' "${1:-build}" "$SIZES" "$BURSTS" "$CHURN_S" "$RATE"
