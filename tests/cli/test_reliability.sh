#!/usr/bin/env bash
# The reliability suite: the real propscaler against propsim serve under faults and hostile
# answers. propsim's --audit-log records every API request, every replica write (with the
# writer's User-Agent, which carries its Lease identity), every node count change and every
# Lease holder; each scenario checks from it that
#   - no write was wrong: every written count is the rule's answer for the node count of that
#     moment (or of the second before it: a decision follows the cluster by milliseconds),
#   - propscaler converges once the fault clears,
#   - the request rate during the fault stays bounded,
#   - leader failovers never give two writers in one term nor a "foreign writer" verdict.
# Usage: test_reliability.sh PROPSCALER PROPSIM [SCENARIO...]. RELIABILITY_TRIALS sets the number
# of leader failover trials per replica count (default 9; tests/bench/bench_reliability.sh runs
# the long form and prints the table).
set -u
PROPSCALER=$1
PROPSIM=$2
shift 2
SCENARIOS=${*:-storm429 storm500 outage cuts stateloss stateloss_higher hostile shutdown unsynced targets leader}
TRIALS=${RELIABILITY_TRIALS:-9}
here=$(cd "$(dirname "$0")" && pwd) # vertical_model.py, replay_vertical_check.py
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
report() { echo "  $*"; }

cat >"$work/params.yaml" <<'YAML'
apiVersion: v1
kind: ConfigMap
metadata: {name: coredns-autoscaler, namespace: kube-system}
data:
  linear: '{"nodesPerReplica":2}'
YAML
cat >"$work/coredns.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers: [{name: coredns, image: coredns}]
YAML
PER_REPLICA=2 # the rule: ceil(nodes / 2)

free_port() { # a port nothing listens on now
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 20000))
    (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return; }
  done
}
serve() { # serve NAME PORT ARGS... -> URL, PORT, KC, SERVE_PID; audit in $work/NAME.audit
  # PORT 0 lets the kernel pick (a port picked by the test could be taken by a concurrent test
  # before the server binds it); a restart on the same endpoint passes the PORT it got.
  local name=$1
  "$PROPSIM" serve --listen 127.0.0.1:$2 --no-pods --apply "$work/params.yaml" --apply "$work/coredns.yaml" \
    --audit-log "$work/$name.audit" --write-kubeconfig "$work/kc" "${@:3}" >"$work/$name.port" 2>"$work/$name.serve.log" &
  SERVE_PID=$!
  pids+=($SERVE_PID)
  for _ in $(seq 200); do [ -s "$work/$name.port" ] && break; kill -0 $SERVE_PID 2>/dev/null || break; sleep 0.05; done
  PORT=$(head -1 "$work/$name.port")
  [ -n "$PORT" ] || { fail "$name: propsim serve did not start: $(head -c 300 "$work/$name.serve.log")"; return 1; }
  URL=http://127.0.0.1:$PORT
  KC=$work/kc
}
# Every write is checked against the rule's count for the cluster at that moment, so the guard
# (which may rightly write a held or limited count) is off: --guard=false, CPA's exact timing.
run_ps() { # run_ps NAME ARGS... -> PS_PID
  "$PROPSCALER" --kubeconfig "$KC" --namespace kube-system --configmap coredns-autoscaler --target deployment/coredns \
    --metrics-addr 127.0.0.1:0 --guard=false "${@:2}" >"$work/$1.out" 2>"$work/$1.log" &
  PS_PID=$!
  pids+=($PS_PID)
}
api() { # api METHOD PATH [JSON]: retried through injected faults (the test itself is not under test)
  local code
  for _ in $(seq 200); do
    code=$(curl -s -o /dev/null -w '%{http_code}' -X "$1" -H 'Content-Type: application/json' ${3:+-d "$3"} "$URL$2")
    case $code in 2??|404|409) return 0 ;; esac
    sleep 0.05
  done
  return 1
}
add_nodes() { for i in $(seq "$1" "$2"); do
  api POST /api/v1/nodes "{\"metadata\":{\"name\":\"r$i\"},\"status\":{\"allocatable\":{\"cpu\":\"4\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}"
done; }
del_nodes() { for i in $(seq "$1" "$2"); do api DELETE "/api/v1/nodes/r$i"; done; }
faults() { curl -s -o /dev/null -X POST "$URL/propsim/faults?$1"; }
replicas() { curl -s "$URL/apis/apps/v1/namespaces/kube-system/deployments/coredns" | grep -o '"replicas":[0-9]*' | head -1 | cut -d: -f2; }
want() { echo $(( ($1 + PER_REPLICA - 1) / PER_REPLICA )); }
wait_replicas() { # wait_replicas N WHAT [SECONDS]
  local got limit=${3:-10}
  for _ in $(seq $((limit * 20))); do
    got=$(replicas)
    [ "$got" = "$1" ] && return 0
    sleep 0.05
  done
  fail "$2: replicas $got, want $1"
  return 1
}
now() { date +%s.%N; }

# wrong_writes AUDIT INITIAL_NODES: the writes whose count no node count of the last second gives
wrong_writes() {
  awk -v n0="$2" -v per=$PER_REPLICA '
    function want(n) { r = int((n + per - 1) / per); return r < 1 ? 1 : r }
    BEGIN { k = 1; t[1] = 0; n[1] = n0 }
    $2 == "NODES" { k++; t[k] = $1; n[k] = $3 }
    $2 == "WRITE" {
      ok = (want(n[k]) == $4)
      for (i = k; i >= 1 && !ok; i--) { if (want(n[i]) == $4) ok = 1; if (t[i] < $1 - 1.0) break }
      if (!ok) { bad++; print "wrong write: " $0 " (nodes " n[k] ")" > "/dev/stderr" }
    }
    END { print bad + 0 }' "$1"
}
# requests AUDIT FROM TO: propscaler API requests in the window
requests() { awk -v a="$2" -v b="$3" '$2 == "REQ" && $1 >= a && $1 <= b && /propscaler\// { n++ } END { print n + 0 }' "$1"; }
per_minute() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.0f", n * 60 / (b - a) }'; }

# ---------------------------------------------------------------------------------------------
storm500() { # 500 storm while the cluster grows: zero wrong writes, convergence; then the first
  # node change after it is decided at once, not when the reconcile retry (backed off to seconds
  # during the storm) comes due
  serve s500 0 --nodes 40 || return
  run_ps s500 # the default 10 s poll period
  wait_replicas 20 "500 storm: before" || return
  faults "fail_rate=0.6&fail_code=500"
  add_nodes 1 20
  sleep 6
  faults "fail_rate=0"
  wait_replicas 30 "500 storm: converges after it" 12
  local t2; t2=$(now)
  add_nodes 21 40
  wait_replicas 40 "500 storm: the step after it" 5
  local took; took=$(awk -v a="$t2" '$2 == "WRITE" && $1 >= a { printf "%.2f", $1 - a; exit }' "$work/s500.audit")
  awk -v t="$took" 'BEGIN { exit !(t < 2) }' || fail "500 storm: the step after it was written ${took}s later (a retry timer?)"
  local bad; bad=$(wrong_writes "$work/s500.audit" 40)
  [ "$bad" = 0 ] || fail "500 storm: $bad wrong write(s)"
  report "500 storm (60% of requests for 6 s, 20 nodes added): wrong writes $bad; the +20 step after it written ${took}s after it began"
}

storm429() { # 429 storm with Retry-After 3: no path retries sooner
  serve s429 0 --nodes 40 || return
  run_ps s429 --poll-period-seconds 1
  wait_replicas 20 "429 storm: before" || return
  local t0 t1
  t0=$(now)
  faults "fail_rate=1&fail_code=429&retry_after=3"
  sleep 12
  t1=$(now)
  faults "fail_rate=0"
  local n; n=$(requests "$work/s429.audit" "$t0" "$t1")
  # the scale reads (the reconcile path) are at least Retry-After apart
  local gap
  gap=$(awk -v a="$t0" -v b="$t1" '$2 == "REQ" && $1 >= a && $1 <= b && $4 ~ /scale/ { if (p) { d = $1 - p; if (!m || d < m) m = d } p = $1 }
         END { printf "%.2f", m + 0 }' "$work/s429.audit")
  awk -v g="$gap" 'BEGIN { exit !(g == 0 || g >= 2.9) }' || fail "429 storm: scale reads only $gap s apart despite Retry-After 3"
  [ "$n" -le 14 ] || fail "429 storm: $n requests in 12 s with Retry-After 3"
  add_nodes 1 2
  wait_replicas 21 "429 storm: converges after it"
  report "429 storm (Retry-After 3, 12 s): $n requests ($(per_minute "$n" "$t0" "$t1")/min), scale reads >= ${gap}s apart"
}

outage() { # a total outage: bounded requests, then an immediate decision on the first event
  serve out 0 --nodes 40 || return
  run_ps out --leader-elect # the default 10 s poll period: a decision that waited for it would show
  wait_replicas 20 "outage: before" || return
  local t0 t1
  t0=$(now)
  curl -s -o /dev/null -X POST "$URL/propsim/stop"
  sleep 30
  t1=$(now)
  curl -s -o /dev/null -X POST "$URL/propsim/start"
  local n; n=$(requests "$work/out.audit" "$t0" "$t1")
  [ "$n" -le 30 ] || fail "total outage: $n requests in 30 s (more than 60/min)"
  sleep 31 # the reflectors' backoff is at its cap now; they reconnect within it
  local t2; t2=$(now)
  add_nodes 1 20
  wait_replicas 30 "outage: converges after it" 10
  local took; took=$(awk -v a="$t2" '$2 == "WRITE" && $1 >= a { printf "%.2f", $1 - a; exit }' "$work/out.audit")
  local bad; bad=$(wrong_writes "$work/out.audit" 40)
  [ "$bad" = 0 ] || fail "outage: $bad wrong write(s)"
  report "total outage (30 s, leader election on): $n requests ($(per_minute "$n" "$t0" "$t1")/min); first write ${took}s after the nodes came"
}

cuts() { # watches cut every half second and a 410 storm, with churn
  serve cuts 0 --nodes 30 --watch-window 64 || return
  run_ps cuts --poll-period-seconds 1
  wait_replicas 15 "cuts: before" || return
  faults "cut_watch_after=0.5"
  for r in 1 2 3 4 5; do
    add_nodes $((r * 10)) $((r * 10 + 5))
    curl -s -o /dev/null -X POST "$URL/propsim/compact"
    del_nodes $((r * 10)) $((r * 10 + 2))
    sleep 0.3
  done
  faults "cut_watch_after=0"
  wait_replicas 23 "cuts: converges" 10 # 30 + 5 x 3 nodes
  local bad; bad=$(wrong_writes "$work/cuts.audit" 30)
  [ "$bad" = 0 ] || fail "cuts/410: $bad wrong write(s)"
  report "cut watches + 410 storm with churn: wrong writes $bad, full LISTs $(grep -c 'REQ GET /api/v1/nodes?limit=500' "$work/cuts.audit")"
}

stateloss_run() { # stateloss_run NAME NEW_NODES: kill -9 the server, another cluster on the same port
  local name=$1 port
  serve "$name.a" 0 --nodes 100 || return
  port=$PORT
  run_ps "$name" --poll-period-seconds 2
  local ps=$PS_PID
  wait_replicas 50 "state loss: before" || return
  kill -9 "$SERVE_PID"
  wait "$SERVE_PID" 2>/dev/null
  sleep 0.5
  local t0; t0=$(now)
  serve "$name.b" "$port" --nodes "$2" || return
  wait_replicas "$(want "$2")" "state loss ($2 nodes behind the endpoint): converges" 6
  local took; took=$(awk -v a="$t0" '$2 == "WRITE" { printf "%.2f", $1 - a; exit }' "$work/$name.b.audit")
  local bad; bad=$(wrong_writes "$work/$name.b.audit" "$2")
  [ "$bad" = 0 ] || fail "state loss: $bad write(s) of the old cluster's answer onto the new one"
  grep -q 'state was lost\|items where the cache holds' "$work/$name.log" || fail "state loss: not reported"
  report "restart with state lost (100 -> $2 nodes): first write ${took}s after the restart, wrong writes $bad"
  kill "$ps" 2>/dev/null
}
stateloss() { stateloss_run sl 4; }
stateloss_higher() { stateloss_run slh 160; } # the new server's resourceVersion is above the old one

hostile() { # every malformed answer refused, none counted, and the process keeps running
  serve hos 0 --nodes 40 || return
  run_ps hos --poll-period-seconds 1 --max-list-items 20000
  wait_replicas 20 "hostile: before" || return
  local m before=20 n=40 refused=0
  for m in list-no-items list-wrong-kind list-items-not-array truncated html protobuf deep huge scale-huge scale-string scale-fraction gzip-corrupt; do
    faults "hostile=$m"
    # force a relist (410) and new decisions while the server answers reads with garbage
    curl -s -o /dev/null -X POST "$URL/propsim/compact"
    faults "cut_watch_after=0.3"
    add_nodes $((n + 1)) $((n + 2))
    n=$((n + 2))
    sleep 2.5
    local got; got=$(curl -s "$URL/apis/apps/v1/namespaces/kube-system/deployments/coredns" | grep -o '"replicas":[0-9]*' | head -1 | cut -d: -f2)
    faults "hostile=none&cut_watch_after=0"
    kill -0 "$PS_PID" 2>/dev/null || { fail "hostile $m: propscaler died"; return; }
    if [ -n "$got" ] && [ "$got" -lt "$before" ]; then fail "hostile $m: replicas went down to $got"; fi
    wait_replicas "$(want $n)" "hostile $m: converges once answers are sane" 10
    before=$(want $n)
    refused=$((refused + 1))
  done
  for what in 'list refused: the list has no "items"' 'expected kind NodeList, got "Status"' 'the answer is not JSON (HTTP 200, Content-Type text/html, body "<html>' \
              'Content-Type application/vnd.kubernetes.protobuf' 'response cap (--max-response-size)' \
              'spec.replicas (1.0000000000000001e+300) is not an integer' 'spec.replicas is not a number' '"items" is not an array' \
              "the answer's gzip body is corrupt: its CRC or length does not match"; do
    grep -qF -- "$what" "$work/hos.log" || fail "hostile: no message with '$what'"
  done
  local bad; bad=$(wrong_writes "$work/hos.audit" 40)
  # writes during a mode are allowed only if right (the watch still works for scale-only modes)
  [ "$bad" = 0 ] || fail "hostile: $bad wrong write(s)"
  local hwm; hwm=$(awk '/VmHWM/ { print int($2 / 1024) }' /proc/$PS_PID/status)
  [ -n "${RELIABILITY_NO_RSS:-}" ] || [ "$hwm" -lt 100 ] || fail "hostile: peak RSS $hwm MiB after a 100 MB answer (the cap is 16 MiB)"
  report "hostile answers: $refused modes refused, wrong writes $bad, peak RSS ${hwm} MiB with a 100 MB answer offered"
  # a LIST that never ends (a continue token on every page, new items each time) is refused at
  # --max-list-items (20,000 here) instead of filling memory; then it converges as soon as the answers are sane
  faults "hostile=endless-list"
  curl -s -o /dev/null -X POST "$URL/propsim/compact"
  faults "cut_watch_after=0.3"
  for _ in $(seq 900); do grep -q 'the list holds more than 20000 items' "$work/hos.log" && break; sleep 0.1; done
  faults "hostile=none&cut_watch_after=0"
  grep -q 'the list holds more than 20000 items' "$work/hos.log" || fail "hostile endless-list: not refused"
  echo "  (endless list refused; propscaler's peak RSS $(awk '/^VmHWM/ {print int($2/1024)}' "/proc/$PS_PID/status") MiB)"
  add_nodes $((n + 1)) $((n + 2))
  n=$((n + 2))
  wait_replicas "$(want $n)" "hostile endless-list: converges once answers are sane" 40
}

shutdown() { # SIGTERM against a slow server: out within the grace period, Lease released
  serve slow 0 --nodes 10 || return
  run_ps slow --poll-period-seconds 1 --leader-elect
  wait_replicas 5 "shutdown: before" || return
  faults "latency_ms=20000"
  add_nodes 1 4 & # node events: reconciles whose reads now hang
  sleep 2
  local t0; t0=$(now)
  kill -TERM "$PS_PID"
  wait "$PS_PID"
  local rc=$? t1; t1=$(now)
  faults "latency_ms=0"
  local took; took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  [ "$rc" = 0 ] || fail "shutdown: exit $rc"
  awk -v t="$took" 'BEGIN { exit !(t < 10) }' || fail "shutdown: SIGTERM took $took s with a 20 s API latency"
  report "SIGTERM with a 20 s API latency: exit $rc after ${took}s"
}

unsynced() { # an unreachable API server before the first sync: /last-poll fails, --max-sync-failures exits
  local port; port=$(free_port)
  cat >"$work/dead.kc" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "http://127.0.0.1:$port"}}]
contexts: [{name: c, context: {cluster: c}}]
current-context: c
EOF
  "$PROPSCALER" --kubeconfig "$work/dead.kc" --namespace kube-system --configmap coredns-autoscaler \
    --target deployment/coredns --metrics-addr 127.0.0.1:0 --poll-period-seconds 1 --max-sync-failures 3 \
    >"$work/dead.out" 2>"$work/dead.log" &
  local p=$!
  sleep 1.5
  local mport; mport=$(grep -o 'and /metrics on 127.0.0.1:[0-9]*' "$work/dead.log" | head -1 | cut -d: -f2)
  local code; code=$(curl -s -o "$work/dead.lp" -w '%{http_code}' "127.0.0.1:$mport/last-poll")
  [ "$code" = 500 ] && grep -q "Couldn't connect\|Failed to connect" "$work/dead.lp" ||
    fail "/last-poll before the first sync: $code $(cat "$work/dead.lp")"
  local rc
  for _ in $(seq 100); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
  wait $p; rc=$?
  [ "$rc" = 1 ] && grep -q 'Too many consecutive sync failures (3)' "$work/dead.log" ||
    fail "--max-sync-failures before the first sync: exit $rc, $(tail -2 "$work/dead.log")"
  report "unreachable API before the first sync: /last-poll $code, exit $rc after 3 failed syncs"
}

# ---------------------------------------------------------------------------------------------
# Leader election: replicas with the same HOSTNAME; the leader is killed (-9), stopped (TERM) or
# frozen past its lease (STOP/CONT) while the cluster keeps changing.
leader_replica() { # leader_replica NAME -> pid
  HOSTNAME=same-host "$PROPSCALER" --kubeconfig "$KC" --namespace kube-system --configmap coredns-autoscaler \
    --target deployment/coredns --metrics-addr 127.0.0.1:0 --guard=false --leader-elect --poll-period-seconds 1 \
    --leader-elect-lease-duration 1s --leader-elect-renew-deadline 700ms --leader-elect-retry-period 200ms \
    >>"$work/$1.out" 2>>"$work/$1.log" &
  echo $!
}
holder() { awk '$2 == "LEASE" { h = $4 } END { print h }' "$work/le.audit"; }
leader() { # leader N_REPLICAS
  local n=$1 i
  PER_REPLICA=1
  api PUT /api/v1/namespaces/kube-system/configmaps/coredns-autoscaler \
    '{"metadata":{"name":"coredns-autoscaler","namespace":"kube-system"},"data":{"linear":"{\"nodesPerReplica\":1}"}}'
  declare -A pid
  for i in $(seq "$n"); do pid[$i]=$(leader_replica "le$n.$i"); pids+=(${pid[$i]}); done
  local nodes=$LE_NODES trial methods=(kill term stop) ok=0
  for trial in $(seq "$TRIALS"); do
    nodes=$((nodes + 1))
    add_nodes $((1000 + nodes)) $((1000 + nodes))
    wait_replicas $((nodes)) "leader x$n trial $trial: the leader writes" 5 || break
    local h; h=$(holder)
    local who=""
    for i in $(seq "$n"); do grep -qF "as $h" "$work/le$n.$i.log" 2>/dev/null && who=$i; done
    [ -n "$who" ] || { fail "leader x$n trial $trial: no replica holds the Lease ($h)"; break; }
    local m=${methods[$((trial % 3))]}
    case $m in
      kill) kill -9 "${pid[$who]}"; wait "${pid[$who]}" 2>/dev/null ;;
      term) kill -TERM "${pid[$who]}"; wait "${pid[$who]}" 2>/dev/null ;;
      stop) kill -STOP "${pid[$who]}" ;;
    esac
    nodes=$((nodes + 1))
    add_nodes $((1000 + nodes)) $((1000 + nodes))
    wait_replicas $((nodes)) "leader x$n trial $trial ($m): a standby takes over and writes" 6 || break
    if [ "$m" = stop ]; then
      kill -CONT "${pid[$who]}" # it must notice it lost the Lease, not write from its stale term
      sleep 1
    else
      pid[$who]=$(leader_replica "le$n.$who"); pids+=(${pid[$who]})
    fi
    ok=$((ok + 1))
  done
  for i in $(seq "$n"); do kill -CONT "${pid[$i]}" 2>/dev/null; kill -TERM "${pid[$i]}" 2>/dev/null; done
  wait "${pid[@]}" 2>/dev/null
  LEADER_OK=$ok
  LE_NODES=$nodes
}
leader_check() { # every write by the Lease holder of that moment; no foreign-writer verdict
  awk '$2 == "LEASE" { h = $4 }
       $2 == "WRITE" { id = $0; sub(/.*\(/, "", id); sub(/\).*/, "", id); if (id != h) { bad++; print "write outside its term: " $0 " (holder " h ")" > "/dev/stderr" } }
       END { print bad + 0 }' "$work/le.audit"
}
leader_all() {
  serve le 0 --nodes 10 || return
  LE_NODES=10
  local ok2 ok3
  leader 2
  ok2=$LEADER_OK
  leader 3
  ok3=$LEADER_OK
  local bad; bad=$(leader_check)
  [ "$bad" = 0 ] || fail "leader election: $bad write(s) by a replica outside its term"
  local ids; ids=$(cat "$work"/le*.log | grep -o 'leadership of Lease [^ ]* as [^ ]*' | awk '{ print $NF }' | sort -u | wc -l)
  [ "$ids" -ge 2 ] || fail "leader election: replicas with one HOSTNAME share an identity"
  if grep -h 'another writer\|ConflictingWriter' "$work"/le*.log; then fail "leader election: a failover taken for a foreign writer"; fi
  report "leader failover: $ok2 trials with 2 replicas, $ok3 with 3 (same HOSTNAME, kill -9 / SIGTERM / SIGSTOP past the lease): writes outside a term $bad, distinct identities $ids"
  PER_REPLICA=2
}

targets() { # --targets-file under a 500 storm, cut watches and a 410: a replicas target and a
  # vertical one (addon-resizer's flags) from one propscaler; no wrong replica write, and once the
  # faults clear both are sized for the final count (the vertical one as addon-resizer would
  # leave it: inside its 5% threshold of the model's value, tests/cli/vertical_model.py)
  cat >"$work/ms.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: metrics-server, namespace: kube-system}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: metrics-server}}
  template:
    metadata: {labels: {k8s-app: metrics-server}}
    spec:
      containers:
      - {name: metrics-server, image: ms, resources: {requests: {cpu: 40m, memory: 40Mi}, limits: {cpu: 40m, memory: 40Mi}}}
YAML
  local nanny='["--cpu=40m", "--extra-cpu=0.5m", "--memory=40Mi", "--extra-memory=4Mi", "--threshold=5", "--container=metrics-server", "--deployment=metrics-server"]'
  cat >"$work/targets.yaml" <<YAML
targets:
- kind: Deployment
  name: coredns
  replicas: {configMap: coredns-autoscaler}
  guard: {enabled: false}
- kind: Deployment
  name: metrics-server
  vertical: {addonResizer: $nanny}
  guard: {enabled: false}
YAML
  serve tgt 0 --nodes 40 --apply "$work/ms.yaml" || return
  "$PROPSCALER" --kubeconfig "$KC" --namespace kube-system --targets-file "$work/targets.yaml" --metrics-addr 127.0.0.1:0 \
    --poll-period-seconds 1 >"$work/tgt.out" 2>"$work/tgt.log" &
  PS_PID=$!
  pids+=($PS_PID)
  wait_replicas 20 "targets: before" || return
  res_ok() { # res_ok NODES: metrics-server's resources as addon-resizer would leave them for NODES
    curl -s "$URL/apis/apps/v1/namespaces/kube-system/deployments/metrics-server" | python3 -c "
import json, sys
sys.path.insert(0, sys.argv[1])
import vertical_model as vm
import replay_vertical_check as rc
have = json.load(sys.stdin)['spec']['template']['spec']['containers'][0].get('resources', {})
want, _ = vm.nanny_expect(json.loads(sys.argv[2]), int(sys.argv[3]))
sys.exit(1 if rc.needs_rewrite(have, want, 5) else 0)" "$here" "$nanny" "$1"
  }
  for _ in $(seq 100); do res_ok 40 && break; sleep 0.1; done
  res_ok 40 || fail "targets: metrics-server sized for 40 nodes before the faults"
  faults "fail_rate=0.6&fail_code=500&cut_watch_after=0.5"
  add_nodes 1 30
  curl -s -o /dev/null -X POST "$URL/propsim/compact"
  del_nodes 1 6
  sleep 6
  faults "fail_rate=0&cut_watch_after=0"
  wait_replicas "$(want 64)" "targets: converges after the faults (64 nodes)" 15
  for _ in $(seq 150); do res_ok 64 && break; sleep 0.1; done
  res_ok 64 || fail "targets: metrics-server not sized for 64 nodes after the faults"
  kill -0 "$PS_PID" 2>/dev/null || fail "targets: propscaler died"
  grep -v ' kube-system/metrics-server ' "$work/tgt.audit" >"$work/tgt.coredns.audit"
  local bad; bad=$(wrong_writes "$work/tgt.coredns.audit" 40)
  [ "$bad" = 0 ] || fail "targets: $bad wrong replica write(s)"
  local patches; patches=$(grep -c 'REQ PATCH /apis/apps/v1/namespaces/kube-system/deployments/metrics-server ' "$work/tgt.audit")
  report "--targets-file (replicas + vertical) under a 500 storm, cut watches and a 410: wrong replica writes $bad, resources patches sent $patches, both sized for 64 nodes after"
  kill "$PS_PID" 2>/dev/null
}

for s in $SCENARIOS; do
  echo "== $s"
  case $s in leader) leader_all ;; *) "$s" ;; esac
done
[ "$fails" = 0 ] && echo "test_reliability: ok" || echo "test_reliability: $fails failure(s)"
[ "$fails" = 0 ]
