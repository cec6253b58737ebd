#!/usr/bin/env bash
# What a node heartbeat costs propscaler, beside the least any watch client on the same libraries
# can cost. One propsim serve (HTTPS, NODES realistic ~5.8 KB Nodes); apidriver.py patches RATE
# heartbeats/s (a Node's 5 conditions: a ~5.9 KB MODIFIED event each) for SECONDS, RUNS times, while
# one of these clients watches the nodes:
#   propscaler         the controller (its whole work per event: decode, table, reconcile check;
#                      also its poll tick's scale GET, measured alone as "propscaler idle")
#   libcurl floor      tests/bench/watchfloor.c curl: libcurl's multi socket interface on libev,
#                      kclient's options, the events counted and dropped
#   GnuTLS floor       watchfloor gnutls: TLS records read straight off the socket on libev
# SERVER is propsim (propsim serve, NODES generated realistic Nodes) or kube: a real kube-apiserver
# 1.20 + etcd (tests/kube/kube-lib.sh; PROPSCALER_KUBE_BIN or /var/cache/propscaler-kube/bin, built
# by `make kube-apiserver`) holding NODES copies of a real 5.5 KB Node from tests/data/nodes —
# what the events, their TLS records and the bookmarks cost from the real server.
# CPU is the kernel's exact runtime (/proc/PID/schedstat, ns), per event and per minute; the
# median of RUNS. Asserts nothing.
#
#   bash tests/bench/bench_churn_floor.sh BUILD [NODES=15000] [SECONDS=30] [RATE=10] [RUNS=3] [SERVER=propsim]
set -u
B=$(cd "${1:-build}" && pwd)
NODES=${2:-15000}
SECONDS_=${3:-30}
RATE=${4:-10}
RUNS=${5:-3}
SERVER=${6:-propsim}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; [ "$SERVER" = kube ] && kube_down; wait 2>/dev/null; rm -rf "$work"' EXIT
[ -x "$B/watchfloor" ] || { echo "bench_churn_floor: $B/watchfloor is missing (cmake --build $B)" >&2; exit 2; }
runtime_ns() { cut -d' ' -f1 "/proc/$1/schedstat"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

. "$here/coredns-target.sh"
bench_target_manifests "$work"
case $SERVER in
propsim)
  token="bench-$RANDOM$RANDOM"
  "$B/propsim" serve --listen 127.0.0.1:0 --nodes "$NODES" --no-pods --token "$token" \
    --apply "$work/d.yaml" --apply "$work/cm.yaml" --write-kubeconfig "$work/kc" --audit-log "$work/audit" \
    >"$work/port" 2>"$work/serve.log" &
  for _ in $(seq 6000); do [ -s "$work/port" ] && [ -s "$work/kc" ] && break; sleep 0.05; done
  [ -s "$work/kc" ] || { echo "bench_churn_floor: propsim serve did not start" >&2; cat "$work/serve.log" >&2; exit 1; }
  server=$(awk '/server:/ {print $2}' "$work/kc")
  awk '/certificate-authority-data:/ {print $2}' "$work/kc" | base64 -d >"$work/ca.pem"
  audit=$work/audit
  ;;
kube)
  bench_kube_up "$work" "$NODES" || exit 1
  audit=-
  ;;
*) echo "bench_churn_floor: SERVER is propsim or kube, not $SERVER" >&2; exit 2 ;;
esac
scale_url=$server/apis/apps/v1/namespaces/kube-system/deployments/coredns/scale
want=$(((NODES + 15) / 16))
replicas() {
  curl -sf --cacert "$work/ca.pem" -H "Authorization: Bearer $token" "$scale_url" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["spec"].get("replicas", 0))' 2>/dev/null
}

# start CLIENT (propscaler | curl | gnutls) and wait until it watches; sets CP
start_client() {
  case $1 in
  propscaler)
    # from 1 replica, so that its first correct scale says it has listed and decided
    curl -sf --cacert "$work/ca.pem" -H "Authorization: Bearer $token" -H 'Content-Type: application/merge-patch+json' \
      -X PATCH -d '{"spec":{"replicas":1}}' "$scale_url" >/dev/null
    "$B/propscaler" --kubeconfig "$work/kc" --namespace kube-system --configmap cm --target deployment/coredns \
      --metrics-addr 127.0.0.1:0 >/dev/null 2>"$work/client.log" &
    CP=$!
    for _ in $(seq 600); do
      [ "$(replicas)" = "$want" ] && break
      sleep 0.1
    done
    ;;
  *)
    # the watch starts at the collection's current resourceVersion (a LIST of one)
    local rv
    rv=$(curl -sf --cacert "$work/ca.pem" -H "Authorization: Bearer $token" "$server/api/v1/nodes?limit=1" |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
    "$B/watchfloor" "$1" "$server/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=$rv" "$token" \
      "$work/ca.pem" 2>"$work/client.log" &
    CP=$!
    ;;
  esac
  sleep 2
}

# CPU (ns) of CP over SECONDS_ of churn (or of nothing: idle)
measure() {
  local s0 s1
  s0=$(runtime_ns "$CP")
  if [ "$1" = churn ]; then
    python3 "$here/apidriver.py" "$work/kc" "$audit" churn "$SECONDS_" "$RATE" >/dev/null
  else
    sleep "$SECONDS_"
  fi
  s1=$(runtime_ns "$CP")
  echo $((s1 - s0))
}

events=$(echo "$SECONDS_ * $RATE" | bc | cut -d. -f1)
declare -A ns
for run in $(seq "$RUNS"); do
  for client in propscaler curl gnutls; do
    start_client $client
    [ $client = propscaler ] && ns[idle]+="$(measure idle) "
    ns[$client]+="$(measure churn) "
    kill "$CP"
    wait "$CP" 2>/dev/null
  done
done

printf 'churn: %s heartbeats/s for %s s (%s events of ~%s KB), %s nodes on %s, median of %s runs\n' "$RATE" "$SECONDS_" \
  "$events" "$([ "$SERVER" = kube ] && echo 5.6 || echo 5.9)" "$NODES" "$SERVER" "$RUNS"
printf '%-18s %12s %14s\n' client "us/event" "CPU-s/min"
row() {
  local m
  m=$(tr ' ' '\n' <<<"$2" | grep . | median)
  printf '%-18s %12s %14s\n' "$1" "${3:-$((m / 1000 / events))}" "$(echo "scale=4; $m * 60 / $SECONDS_ / 1000000000" | bc)"
}
row "propscaler" "${ns[propscaler]}"
row "propscaler idle" "${ns[idle]}" "-"
row "libcurl floor" "${ns[curl]}"
row "GnuTLS floor" "${ns[gnutls]}"
echo "rerun: bash tests/bench/bench_churn_floor.sh BUILD $NODES $SECONDS_ $RATE $RUNS $SERVER"
