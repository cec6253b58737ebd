#!/usr/bin/env bash
# gzip's trade-off: propscaler syncing N generated nodes from propsim serve with gzip (the
# default, as client-go) and with --disable-compression; bytes on the wire, propscaler's CPU to
# sync, RSS, time to the first correct scale.
# usage: bash tests/bench/bench_gzip.sh BUILD_DIR [NODES]
set -u
B=$(cd "$1" && pwd)
N=${2:-15000}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
want=$(( (N + 15) / 16 )) # the example params: 16 nodes per replica (cores do not bind here)
for mode in gzip plain; do
  "$B/propsim" serve --listen 127.0.0.1:0 --no-pods --nodes "$N" --apply "$here/../../manifests/examples/coredns-autoscaler-params.yaml" \
    --apply "$here/../../manifests/examples/coredns-deployment.yaml" --write-kubeconfig "$work/kc" >"$work/port" 2>/dev/null &
  sp=$!
  for _ in $(seq 400); do [ -s "$work/port" ] && break; sleep 0.05; done
  url=http://127.0.0.1:$(head -1 "$work/port")
  sleep 1
  "$B/propscaler" --namespace kube-system --configmap coredns-autoscaler --target deployment/coredns --metrics-addr 127.0.0.1:0 \
    --kubeconfig "$work/kc" $([ $mode = plain ] && echo --disable-compression) >/dev/null 2>"$work/$mode.log" &
  pp=$!
  t0=$(date +%s.%N)
  r=
  for _ in $(seq 1500); do
    r=$(curl -s "$url/apis/apps/v1/namespaces/kube-system/deployments/coredns" | grep -o '"replicas":[0-9]*' | head -1 | cut -d: -f2)
    [ "$r" = "$want" ] && break
    sleep 0.02
  done
  t1=$(date +%s.%N)
  sleep 1
  cpu=$(awk '{print ($14 + $15) / 100}' "/proc/$pp/stat")
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pp/status")
  sent=$(curl -s "$url/propsim/stats" | grep -o '"bytesSent":[0-9]*' | cut -d: -f2)
  printf '%-5s %6d nodes: replicas %s (want %s), first correct scale %.2f s, propscaler CPU %s s, RSS %s kB, bytes sent %s\n' \
    "$mode" "$N" "$r" "$want" "$(echo "$t1 - $t0" | bc)" "$cpu" "$rss" "$sent"
  kill "$pp" "$sp"
  wait "$pp" "$sp" 2>/dev/null
done
