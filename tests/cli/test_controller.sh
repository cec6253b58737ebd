#!/usr/bin/env bash
# propscaler end to end against propsim serve (HTTP and HTTPS + token): scaling as nodes come
# and go, ConfigMap edits, --default-params, 410 relists, outages, error storms, dry-run,
# kubeconfig variants, --max-sync-failures, graceful stop.
set -u
PROPSCALER=$1
PROPSIM=$2
DATA=$3
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"; echo "work: $work" >&2
  if [ -e "/etc/ssl/certs/propscaler-test-$$.pem" ]; then # (the system-store check's CA, if it was interrupted)
    rm -f "/etc/ssl/certs/propscaler-test-$$.pem"; openssl rehash /etc/ssl/certs >/dev/null 2>&1
  fi
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

cat >"$work/coredns.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system, labels: {k8s-app: kube-dns}}
spec:
  replicas: 1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
      containers: [{name: coredns, image: coredns}]
YAML
PARAMS=$DATA/../../manifests/examples/coredns-autoscaler-params.yaml

serve() { # serve NAME ARGS...  -> URL, KC  (pods only for the placement test)
  local pods=--no-pods
  case $1 in place|hot*) pods= ;; esac
  "$PROPSIM" serve --listen 127.0.0.1:0 $pods --write-kubeconfig "$work/$1.kc" "${@:2}" >"$work/$1.port" 2>"$work/$1.serve.log" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/$1.port" ] && break; sleep 0.05; done
  URL=http://127.0.0.1:$(head -1 "$work/$1.port")
  KC=$work/$1.kc
}
run_ps() { # run_ps NAME ARGS... (background) -> PS_PID
  ${PROPSIM_WRAPPER:-} "$PROPSCALER" --namespace kube-system --configmap coredns-autoscaler --target deployment/coredns \
    --metrics-addr 127.0.0.1:0 "${@:2}" >"$work/$1.out" 2>"$work/$1.log" &
  PS_PID=$!
  pids+=($PS_PID)
}
metrics_port() { # metrics_port NAME: the port propscaler NAME's /metrics took (it binds port 0)
  local p=
  for _ in $(seq 200); do
    p=$(grep -o 'metrics on [0-9.]*:[0-9]*' "$work/$1.log" 2>/dev/null | head -1 | cut -d: -f2)
    [ -n "$p" ] && break
    sleep 0.05
  done
  echo "$p"
}
replicas() { curl -sk ${TOKEN:+-H "Authorization: Bearer $TOKEN"} "$URL/apis/apps/v1/namespaces/kube-system/deployments/coredns" | grep -o '"replicas":[0-9]*' | head -1 | cut -d: -f2; }
wait_replicas() { # wait_replicas N WHAT [SECONDS]
  local want=$1 what=$2 limit=${3:-10} got
  for _ in $(seq $((limit * 10))); do
    got=$(replicas)
    [ "$got" = "$want" ] && return 0
    sleep 0.1
  done
  fail "$what: replicas $got, want $want"
}
add_nodes() { # add_nodes FROM TO [URL]
  for i in $(seq "$1" "$2"); do
    curl -sk ${TOKEN:+-H "Authorization: Bearer $TOKEN"} -o /dev/null -X POST -H 'Content-Type: application/json' \
      -d "{\"metadata\":{\"name\":\"n$i\"},\"status\":{\"allocatable\":{\"cpu\":\"4\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" "$URL/api/v1/nodes"
  done
}
del_nodes() { for i in $(seq "$1" "$2"); do curl -sk ${TOKEN:+-H "Authorization: Bearer $TOKEN"} -o /dev/null -X DELETE "$URL/api/v1/nodes/n$i"; done; }
set_params() { # set_params 'VALUE-JSON-STRING' (data map as JSON)
  curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' -d "{\"data\":$1}" \
    "$URL/api/v1/namespaces/kube-system/configmaps/coredns-autoscaler"
}
# scale writes the server received: updates and patches of deployments
writes() { curl -s "$URL/propsim/stats" | grep -o '"\(update\|patch\)":{[^}]*}' | grep -o '"deployments":[0-9]*' | cut -d: -f2 | paste -sd+ | bc; }
replicas_retry() { local r; for _ in $(seq 50); do r=$(replicas 2>/dev/null); [ -n "$r" ] && { echo "$r"; return; }; sleep 0.05; done; }

# 1. Scale with the cluster (CoreDNS defaults: 16 nodes per replica, never a single replica), with
#    CPA's exact timing (--guard=false): scale-downs follow at once
serve main --apply "$PARAMS" --apply "$work/coredns.yaml"
add_nodes 1 10
run_ps main --kubeconfig "$KC" --v=1 --guard=false
wait_replicas 2 "10 nodes -> 2 (preventSinglePointFailure)"
add_nodes 11 40
wait_replicas 3 "40 nodes -> 3"
add_nodes 41 100
wait_replicas 7 "100 nodes -> 7"
del_nodes 16 100
wait_replicas 2 "15 nodes -> 2"
grep -Eq 'Replicas are not as expected : updating deployment/coredns from [0-9]+ to 7$' "$work/main.log" || fail "CPA's update log line"
grep -q 'Cluster status: SchedulableNodes\[100\], TotalNodes\[100\], SchedulableCores\[400\], TotalCores\[400\]' "$work/main.log" ||
  fail "CPA's cluster status log line"
# cordoned and NotReady nodes do not count (CPA >= 1.10.1)
curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"unschedulable":true}}' "$URL/api/v1/nodes/n1"
set_params '{"linear":"{\"nodesPerReplica\":1}"}'
wait_replicas 14 "params edit: 1 node per replica, 14 schedulable of 15"
# 2. ConfigMap edits: invalid -> last good kept and reported; mode switch
set_params '{"linear":"{\"nodesPerReplica\":1,\"min\":-1}"}'
sleep 0.5
[ "$(replicas)" = 14 ] || fail "an invalid ConfigMap keeps the last good params"
PSPORT=$(grep -o 'metrics on [0-9.]*:[0-9]*' "$work/main.log" | head -1 | cut -d: -f2)
add_nodes 101 102
wait_replicas 16 "last good params still follow the cluster"
set_params '{"linear":null,"ladder":"{\"nodesToReplicas\":[[1,4],[10,5]]}"}'
wait_replicas 5 "switch to ladder mode"
set_params '{"ladder":null,"linear":"{\"coresPerReplica\":16}"}'
wait_replicas 4 "back to linear (16 schedulable nodes x 4 cores / 16)"
kill -TERM $PS_PID
wait $PS_PID
[ $? = 0 ] || fail "SIGTERM: exit 0"
grep -q 'invalid negative value for min: -1' "$work/main.log" || fail "the invalid params are reported with CPA's message"

# 3. Health endpoints, /last-poll with CPA's text, metrics
serve health --apply "$work/coredns.yaml"
add_nodes 1 3
run_ps health --kubeconfig "$KC"
MP=$(metrics_port health)
sleep 1
code=$(curl -s -o "$work/lp" -w '%{http_code}' 127.0.0.1:$MP/last-poll)
[ "$code" = 500 ] && grep -q '^Encountered error at last poll cycle: Error syncing configMap with apiserver: configmaps "coredns-autoscaler" not found$' "$work/lp" ||
  fail "/last-poll without the ConfigMap: $code $(cat "$work/lp")"
[ "$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:$MP/healthz)" = 200 ] || fail "/healthz"
[ "$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:$MP/readyz)" = 200 ] || fail "/readyz once synced"
curl -s -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"coredns-autoscaler"},"data":{"linear":"{\"nodesPerReplica\":1}"}}' \
  "$URL/api/v1/namespaces/kube-system/configmaps" >/dev/null
wait_replicas 3 "the ConfigMap appears"
sleep 0.3
[ "$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:$MP/last-poll)" = 200 ] || fail "/last-poll recovers"
m=$(curl -s 127.0.0.1:$MP/metrics)
grep -q '^propscaler_desired_replicas{namespace="kube-system",target="deployment/coredns"} 3$' <<<"$m" &&
  grep -q '^propscaler_nodes{kind="total"} 3$' <<<"$m" && grep -q '^propscaler_scale_writes_total 1$' <<<"$m" ||
  fail "metrics: $m"
# by convention: exact codes by verb and resource, histograms, process_*, build info
grep -q '^propscaler_api_requests_total{verb="get",resource="deployments/scale",code="200"} [1-9]' <<<"$m" &&
  grep -q '^propscaler_api_requests_total{verb="update",resource="deployments/scale",code="200"} 1$' <<<"$m" &&
  grep -q '^propscaler_api_requests_total{verb="list",resource="nodes",code="200"} 1$' <<<"$m" &&
  grep -q '^propscaler_api_request_duration_seconds_bucket{verb="get",le="+Inf"} [1-9]' <<<"$m" &&
  grep -q '^propscaler_reconcile_duration_seconds_count [1-9]' <<<"$m" &&
  grep -q '^process_resident_memory_bytes [1-9][0-9]*$' <<<"$m" && grep -q '^process_open_fds [1-9]' <<<"$m" &&
  grep -q '^process_start_time_seconds 1[0-9]*\.[0-9]*$' <<<"$m" && grep -q '^propscaler_build_info{version="[0-9.]*"} 1$' <<<"$m" &&
  grep -q '^propscaler_leader{lease=""} 1$' <<<"$m" &&
  grep -q '^propscaler_target_scale_writes_total{namespace="kube-system",target="deployment/coredns"} 1$' <<<"$m" ||
  fail "conventional metrics: $m"
# finished requests' libcurl handles are reset and reused, not rebuilt: the requests after the first
# few came on kept handles
grep -q '^propscaler_api_handles_reused_total [1-9]' <<<"$m" || fail "handles reused: $(grep handles <<<"$m")"
if command -v promtool >/dev/null; then
  out=$(promtool check metrics <<<"$m" 2>&1) || fail "promtool check metrics: $out"
  [ -z "$out" ] || fail "promtool check metrics finds: $out"
elif [ -n "${CI:-}" ]; then
  fail "promtool is missing (.ci/install-deps installs Debian's prometheus package)"
fi
kill $PS_PID

# 4. --default-params creates the ConfigMap (Go-encoded, sorted keys) and scales from it
serve defaults --apply "$work/coredns.yaml"
add_nodes 1 20
run_ps defaults --kubeconfig "$KC" '--default-params={"linear":{"preventSinglePointFailure":true,"nodesPerReplica":4,"min":1e0}}'
wait_replicas 5 "--default-params: 20 nodes / 4"
cm=$(curl -s "$URL/api/v1/namespaces/kube-system/configmaps/coredns-autoscaler")
grep -qF '"data":{"linear":"{\"min\":1,\"nodesPerReplica\":4,\"preventSinglePointFailure\":true}"}' <<<"$cm" ||
  fail "ConfigMap created with Go's encoding: $cm"
kill $PS_PID

# 5. Dry run: decisions printed, nothing written
serve dry --apply "$PARAMS" --apply "$work/coredns.yaml"
add_nodes 1 40
before=$(writes)
before=${before:-0}
run_ps dry --kubeconfig "$KC" --dry-run
sleep 1.5
add_nodes 41 60
sleep 1
after=$(writes)
[ "${after:-0}" = "$before" ] || fail "dry-run wrote to the API server ($before -> $after scale writes)"
[ "$(replicas)" = 1 ] || fail "dry-run changed replicas"
grep -q '^dry-run: would scale kube-system/coredns deployment/coredns from 1 to 3 (nodes 40/40 schedulable' "$work/dry.out" ||
  fail "dry-run plan line: $(cat "$work/dry.out")"
grep -q 'from 1 to 4' "$work/dry.out" || fail "dry-run follows changes"
grep -q 'Replicas are not as expected : would update deployment/coredns from 1 to 3 (dry run: not written)$' "$work/dry.log" &&
  ! grep -q 'updating deployment' "$work/dry.log" || fail "dry-run's log does not say it writes: $(grep Replicas "$work/dry.log")"
kill $PS_PID
# klog's destinations: --logtostderr=false with --log_file (errors still on stderr, as
# --stderrthreshold=ERROR says), --log_dir (klog's file name and the propscaler.INFO link),
# --alsologtostderr
run_ps logfile --kubeconfig "$KC" --dry-run --logtostderr=false --log_file="$work/pf.log" --v=1
mkdir -p "$work/logdir"
run_ps logdir --kubeconfig "$KC" --dry-run --logtostderr=false --log_dir="$work/logdir" --alsologtostderr
sleep 1.5
kill $PS_PID
kill "${pids[-2]}"
grep -q 'would update deployment/coredns' "$work/pf.log" && grep -q 'Cluster status' "$work/pf.log" &&
  ! grep -q 'would update' "$work/logfile.log" || fail "--log_file: $(head -3 "$work/pf.log") / stderr: $(head -3 "$work/logfile.log")"
ls "$work/logdir" | grep -q '^propscaler\.[^.]*\..*\.log\.INFO\.[0-9]\{8\}-[0-9]\{6\}\.[0-9]*$' && [ -L "$work/logdir/propscaler.INFO" ] &&
  grep -q 'would update' "$work/logdir/propscaler.INFO" && grep -q 'would update' "$work/logdir.log" ||
  fail "--log_dir with --alsologtostderr: $(ls "$work/logdir")"
out=$("$PROPSCALER" --kubeconfig "$KC" --namespace n --configmap c --target deployment/x --logtostderr=false --log_file=/nonexistent/dir/f 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q 'cannot open the log file /nonexistent/dir/f' <<<"$out" || fail "unwritable --log_file: $rc $out"
run_ps dryjson --kubeconfig "$KC" --dry-run --output json
sleep 1
grep -q '^{"action":"scale","target":"deployment/coredns","namespace":"kube-system","current":1,"desired":4,"totalNodes":60,' "$work/dryjson.out" ||
  fail "dry-run JSON: $(cat "$work/dryjson.out")"
kill $PS_PID

# 6. 410 relist, outage, error storms
serve chaos --apply "$PARAMS" --apply "$work/coredns.yaml"
add_nodes 1 20
run_ps chaos --kubeconfig "$KC"
MP=$(metrics_port chaos)
wait_replicas 2 "chaos: start"
curl -s -X POST "$URL/propsim/compact" >/dev/null
curl -s -X POST "$URL/propsim/stop" >/dev/null
sleep 1
curl -s -X POST "$URL/propsim/start" >/dev/null
add_nodes 21 50
wait_replicas 4 "after compaction and an outage, 50 nodes -> 4" 20
grep -q 'propscaler_relists_total{resource="nodes"} [1-9]' <<<"$(curl -s 127.0.0.1:$MP/metrics)" || fail "a 410 makes it relist"
kill $PS_PID
serve storm --apply "$PARAMS" --apply "$work/coredns.yaml"
add_nodes 1 60
# every request fails for a second, then 30% of them: converge anyway, and say what happened
curl -s -X POST "$URL/propsim/faults?fail_rate=1&fail_code=500" >/dev/null
run_ps storm --kubeconfig "$KC"
sleep 1
curl -s -X POST "$URL/propsim/faults?fail_rate=0.3" >/dev/null
got=""
# up to 60 s: each failed LIST doubles the back-off (client-go's 0.8 s to 30 s), so after the 100%
# second the attempts come at about 2.4, 8.8, 21.6 and 47 s; at 30% failures the first two both fail
# 9% of the time, and 20 s was not enough (seen once under ASan); four in a row fail 0.8% of runs
for _ in $(seq 300); do got=$(replicas_retry); [ "$got" = 4 ] && break; sleep 0.2; done
[ "$got" = 4 ] || fail "converges under a 500 storm (replicas $got)"
grep -q 'HTTP 500' "$work/storm.log" || fail "the 500s are reported"
kill $PS_PID
serve throttle --apply "$PARAMS" --apply "$work/coredns.yaml"
add_nodes 1 40
curl -s -X POST "$URL/propsim/faults?fail_rate=1&fail_code=429&retry_after=1" >/dev/null
run_ps throttle --kubeconfig "$KC"
sleep 1.5
curl -s -X POST "$URL/propsim/faults?fail_rate=0" >/dev/null
wait_replicas 3 "after a 429 storm" 10
grep -q 'answered HTTP 429' "$work/throttle.log" || fail "429s are reported and retried"
kill $PS_PID

# 7. HTTPS with a bearer token; kubeconfig variants
certtool --generate-privkey --outfile "$work/key.pem" >/dev/null 2>&1
printf 'cn = propsim\nip_address = 127.0.0.1\nca\ntls_www_server\nsigning_key\nencryption_key\nexpiration_days = 2\n' >"$work/t"
certtool --generate-self-signed --load-privkey "$work/key.pem" --template "$work/t" --outfile "$work/cert.pem" >/dev/null 2>&1
serve tls --apply "$PARAMS" --apply "$work/coredns.yaml" --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" --token s3cret
URL=https://127.0.0.1:$(head -1 "$work/tls.port")
TOKEN=s3cret
add_nodes 1 33
run_ps tls --kubeconfig "$KC"
wait_replicas 3 "HTTPS + token: 33 nodes -> 3"
kill $PS_PID
# the same with a tokenFile and a CA file next to the kubeconfig
echo s3cret >"$work/token"
cp "$work/cert.pem" "$work/ca.crt"
sed -e 's/^    token: .*/    tokenFile: token/' -e 's/^    certificate-authority-data: .*/    certificate-authority: ca.crt/' "$KC" >"$work/variant.kc"
add_nodes 34 50
run_ps variant --kubeconfig "$work/variant.kc"
wait_replicas 4 "tokenFile and certificate-authority file, relative paths"
kill $PS_PID
# a rotated token: the server accepts only the new one, the file is rewritten, propscaler follows
run_ps rotate --kubeconfig "$work/variant.kc" --log-format json
wait_replicas 4 "rotation: start"
curl -sk -H "Authorization: Bearer s3cret" -X POST "$URL/propsim/faults?token=n3wtoken" >/dev/null
echo n3wtoken >"$work/token.new" && mv "$work/token.new" "$work/token"
TOKEN=n3wtoken
add_nodes 51 70
wait_replicas 5 "after the token rotated (tokenFile re-read)"
kill $PS_PID
# Kubernetes' JSON log schema: ts in Unix seconds, caller, msg, v, structured keys
grep -q '^{"ts":1[0-9]*\.[0-9]\{6\},"caller":"reconcile\.c:[0-9]*","msg":"Replicas are not as expected : updating deployment/coredns from 4 to 5","v":0,"target":"deployment/coredns","from":"4","to":"5"}$' "$work/rotate.log" ||
  fail "--log-format=json lines: $(tail -2 "$work/rotate.log")"
# wrong token: 401s, reported
echo wrong >"$work/token"
TOKEN=n3wtoken
run_ps badtoken --kubeconfig "$work/variant.kc"
sleep 1.5
kill $PS_PID
grep -q 'answered HTTP 401' "$work/badtoken.log" || fail "a wrong token is reported"
# an unknown CA is refused (TLS verification is on)
sed -e '/certificate-authority/d' "$work/variant.kc" >"$work/noca.kc"
echo n3wtoken >"$work/token"
run_ps noca --kubeconfig "$work/noca.kc"
sleep 1.5
kill $PS_PID
grep -qi 'certificate' "$work/noca.log" || fail "TLS verification refuses an unknown CA: $(tail -2 "$work/noca.log")"
# the kubeconfig's CA is the only one trusted, as client-go trusts it: a server whose certificate
# a CA of the system's store signed is refused when the kubeconfig names another CA (Debian's
# libcurl also loads /etc/ssl/certs unless told not to). Needs root to add a CA to the store for
# the check; restored at once.
if [ -w /etc/ssl/certs ] && command -v openssl >/dev/null; then
  sysca=/etc/ssl/certs/propscaler-test-$$.pem
  cp "$work/cert.pem" "$sysca" && openssl rehash /etc/ssl/certs >/dev/null 2>&1
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/other.key" -out "$work/other.pem" -days 1 \
    -subj /CN=another-cluster-ca 2>/dev/null
  sed -e "s|certificate-authority: ca.crt|certificate-authority: $work/other.pem|" "$work/variant.kc" >"$work/otherca.kc"
  run_ps otherca --kubeconfig "$work/otherca.kc"
  sleep 1.5
  kill $PS_PID
  rm -f "$sysca" && openssl rehash /etc/ssl/certs >/dev/null 2>&1
  grep -qi 'certificate' "$work/otherca.log" && ! grep -q 'Set control mode' "$work/otherca.log" ||
    fail "a server certificate from the system's CAs is refused when the kubeconfig names another CA: $(tail -2 "$work/otherca.log")"
fi
# in-cluster configuration
mkdir -p "$work/sa"
cp "$work/cert.pem" "$work/sa/ca.crt"
echo n3wtoken >"$work/sa/token"
echo kube-system >"$work/sa/namespace"
PROPSCALER_SERVICEACCOUNT_DIR=$work/sa KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$(head -1 "$work/tls.port") \
  KUBECONFIG= run_ps incluster
add_nodes 71 90
wait_replicas 6 "in-cluster config: 90 nodes -> 6"
kill $PS_PID
# an exec credential plugin (client.authentication.k8s.io/v1, as EKS/GKE/AKS kubeconfigs name):
# run once and its token cached until its expiry, run again after a 401 and before the expiry
cat >"$work/plugin.sh" <<'EOF'
#!/bin/sh
n=$(($(cat "$PLUGIN_DIR/runs" 2>/dev/null || echo 0) + 1)); echo $n >"$PLUGIN_DIR/runs"
printf '%s\n' "$KUBERNETES_EXEC_INFO" >"$PLUGIN_DIR/info"
echo "$*" >"$PLUGIN_DIR/args"
exp=$(date -u -d "@$(($(date +%s) + PLUGIN_TTL))" +%Y-%m-%dT%H:%M:%SZ)
printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}\n' \
  "$(cat "$PLUGIN_DIR/token")" "$exp"
EOF
chmod +x "$work/plugin.sh"
exec_kc() { # exec_kc FILE TTL [COMMAND] [INTERACTIVE]
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:$(head -1 "$work/tls.port")", certificate-authority: ca.crt}}]
users:
- name: u
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ${3:-./plugin.sh}
      args: [get-token, --cluster, test]
      env: [{name: PLUGIN_DIR, value: "$work"}, {name: PLUGIN_TTL, value: "$2"}]
      interactiveMode: ${4:-Never}
      provideClusterInfo: true
      installHint: "install plugin.sh from the test"
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
EOF
}
echo n3wtoken >"$work/token"
rm -f "$work/runs"
exec_kc "$work/exec.kc" 3600
run_ps exec --kubeconfig "$work/exec.kc"
add_nodes 91 110
wait_replicas 7 "exec plugin: 110 nodes -> 7"
[ "$(cat "$work/runs")" = 1 ] || fail "exec plugin: its token is cached (runs: $(cat "$work/runs"))"
grep -q '"kind":"ExecCredential"' "$work/info" && grep -q '"interactive":false' "$work/info" &&
  grep -q "\"server\":\"https://127.0.0.1:$(head -1 "$work/tls.port")\"" "$work/info" && grep -q 'certificate-authority-data' "$work/info" ||
  fail "exec plugin: KUBERNETES_EXEC_INFO: $(cat "$work/info")"
[ "$(cat "$work/args")" = "get-token --cluster test" ] || fail "exec plugin: args $(cat "$work/args")"
curl -sk -H "Authorization: Bearer n3wtoken" -X POST "$URL/propsim/faults?token=t0k2" >/dev/null
echo t0k2 >"$work/token"
TOKEN=t0k2
add_nodes 111 130
wait_replicas 9 "exec plugin: after a 401 the plugin runs again (130 nodes -> 9)"
[ "$(cat "$work/runs")" = 2 ] || fail "exec plugin: one more run after the 401 (runs: $(cat "$work/runs"))"
grep -q 't0k2\|n3wtoken' "$work/exec.log" && fail "a token in the log"
kill $PS_PID
# a token that expires 11 s after it is issued is replaced 10 s before: about every second
rm -f "$work/runs"
exec_kc "$work/exec-ttl.kc" 11
run_ps execttl --kubeconfig "$work/exec-ttl.kc" --poll-period-seconds 1
sleep 4
kill $PS_PID
[ "$(cat "$work/runs")" -ge 3 ] || fail "exec plugin: an expiring token is replaced (runs: $(cat "$work/runs"))"
# a slow plugin (a cloud CLI on a slow network) runs beside the loop: while it refreshes a token
# that is still valid, the controller goes on watching and scaling with the current one
cat >"$work/plugin-slow.sh" <<'EOF'
#!/bin/sh
# the first run answers at once; the next takes 8 s
if [ -e "$PLUGIN_DIR/runs" ]; then : >"$PLUGIN_DIR/slow.started"; sleep 8; fi
"$PLUGIN_DIR/plugin.sh" "$@"
if [ -e "$PLUGIN_DIR/slow.started" ]; then : >"$PLUGIN_DIR/slow.done"; fi
EOF
chmod +x "$work/plugin-slow.sh"
rm -f "$work/runs" "$work/slow.started" "$work/slow.done"
exec_kc "$work/exec-slow.kc" 16 ./plugin-slow.sh # refreshed from 6 s on, valid for 16
run_ps execslow --kubeconfig "$work/exec-slow.kc" --poll-period-seconds 1
wait_replicas 9 "slow exec plugin: start (130 nodes -> 9)"
for _ in $(seq 150); do [ -e "$work/slow.started" ] && break; sleep 0.1; done
[ -e "$work/slow.started" ] || fail "slow exec plugin: the refresh before the expiry did not start"
add_nodes 131 150
wait_replicas 10 "slow exec plugin: 150 nodes -> 10 while the plugin runs" 6
[ -e "$work/slow.done" ] && fail "slow exec plugin: the scale waited for the plugin to answer"
for _ in $(seq 150); do [ -e "$work/slow.done" ] && break; sleep 0.1; done
add_nodes 151 170
wait_replicas 11 "slow exec plugin: with the new token, 170 nodes -> 11"
[ "$(cat "$work/runs")" = 2 ] || fail "slow exec plugin: runs $(cat "$work/runs"), want 2"
grep -q 'getting credentials' "$work/execslow.log" && fail "slow exec plugin: $(grep 'getting credentials' "$work/execslow.log")"
kill $PS_PID
# a plugin that is not there: said, with the installHint; Always (a terminal) refused at start
exec_kc "$work/exec-missing.kc" 3600 ./nope
run_ps execmissing --kubeconfig "$work/exec-missing.kc"
sleep 1
kill $PS_PID
grep -q 'getting credentials: exec plugin .*/nope: not found (is it installed and in PATH?); install plugin.sh from the test' "$work/execmissing.log" ||
  fail "exec plugin not found: $(head -3 "$work/execmissing.log")"
exec_kc "$work/exec-always.kc" 3600 ./plugin.sh Always
out=$("$PROPSCALER" --kubeconfig "$work/exec-always.kc" --namespace n --configmap c --target deployment/x 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q 'interactiveMode Always needs a terminal' <<<"$out" || fail "exec Always: $rc $out"
unset TOKEN
# broken kubeconfigs: exit 2 with a message that names what is wrong
printf 'apiVersion: v1\nkind: Config\ncurrent-context: nope\ncontexts: []\n' >"$work/broken.kc"
out=$("$PROPSCALER" --kubeconfig "$work/broken.kc" --namespace n --configmap c --target deployment/x 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q 'context "nope" not found' <<<"$out" || fail "missing context: $rc $out"
printf 'apiVersion: v1\nclusters:\n- name: c\n  cluster: {server: "ftp://x"}\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user:\n    exec: {command: aws}\ncurrent-context: x\n' >"$work/broken.kc"
out=$("$PROPSCALER" --kubeconfig "$work/broken.kc" --namespace n --configmap c --target deployment/x 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q 'server must be an http(s):// URL' <<<"$out" || fail "bad server URL: $rc $out"
sed -i 's#ftp://x#https://127.0.0.1:1#' "$work/broken.kc"
out=$("$PROPSCALER" --kubeconfig "$work/broken.kc" --namespace n --configmap c --target deployment/x 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q 'exec.apiVersion is required' <<<"$out" || fail "exec plugin without apiVersion: $rc $out"
out=$("$PROPSCALER" --kubeconfig "$work/nonexistent" --namespace n --configmap c --target deployment/x 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q 'cannot read' <<<"$out" || fail "missing kubeconfig: $rc $out"

# 8. --record: the observed node history as a trace that propsim serve plays back to the same nodes
serve rec --apply "$PARAMS" --apply "$work/coredns.yaml"
add_nodes 1 12
run_ps rec --kubeconfig "$KC" --record "$work/rec.jsonl"
wait_replicas 2 "record: 12 nodes"
add_nodes 13 30
curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"unschedulable":true}}' "$URL/api/v1/nodes/n2"
del_nodes 3 5
# a 410 while nodes are deleted: the relist's difference is recorded as DELETED events
curl -s -X POST "$URL/propsim/compact" >/dev/null
del_nodes 6 8
sleep 1
kill -TERM $PS_PID
wait $PS_PID
[ "$(grep -c '"type":"ADDED"' "$work/rec.jsonl")" -ge 30 ] || fail "record: ADDED events ($(grep -c ADDED "$work/rec.jsonl"))"
# a clean stop ends the recording with its END marker: the observation went on to there
tail -1 "$work/rec.jsonl" | grep -Eq '^\{"t":[0-9]+\.[0-9]{3},"type":"END"\}$' || fail "record: END marker: $(tail -1 "$work/rec.jsonl")"
grep -q '"type":"DELETED","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"n7"}}' "$work/rec.jsonl" ||
  grep -q '"type":"DELETED".*"name":"n7"' "$work/rec.jsonl" || fail "record: deletions seen through a relist"
live=$(curl -s "$URL/api/v1/nodes" | grep -o '"name":"n[0-9]*"' | sort | tr '\n' ' ')
"$PROPSIM" serve --listen 127.0.0.1:0 --trace "$work/rec.jsonl" --speed 0 --no-pods >"$work/replay.port" 2>"$work/replay.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/replay.port" ] && break; sleep 0.05; done
sleep 0.5
replayed=$(curl -s "http://127.0.0.1:$(head -1 "$work/replay.port")/api/v1/nodes" | grep -o '"name":"n[0-9]*"' | sort | tr '\n' ' ')
[ "$live" = "$replayed" ] || fail "the recorded trace replays to the same nodes: live [$live] replayed [$replayed]"
curl -s "http://127.0.0.1:$(head -1 "$work/replay.port")/api/v1/nodes/n2" | grep -q '"unschedulable":true' || fail "record keeps cordons"

# 9. Leader election: exactly one of two instances writes; the other takes over when it dies;
#    a graceful stop releases the Lease at once
serve le --apply "$PARAMS" --apply "$work/coredns.yaml"
add_nodes 1 20
LE="--leader-elect --leader-elect-lease-duration=3s --leader-elect-renew-deadline=2s --leader-elect-retry-period=0.5s"
HOSTNAME=alpha run_ps alpha --kubeconfig "$KC" $LE --poll-period-seconds 1
A=$PS_PID
wait_replicas 2 "leader election: the first instance scales"
HOSTNAME=beta run_ps beta --kubeconfig "$KC" $LE --poll-period-seconds 1
B=$PS_PID
sleep 1.5
holder=$(curl -s "$URL/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/propscaler-coredns-autoscaler" | grep -o '"holderIdentity":"[^"]*"')
grep -q '"holderIdentity":"alpha_' <<<"$holder" || fail "alpha holds the Lease: $holder"
add_nodes 21 40
wait_replicas 3 "the leader follows the cluster"
grep -q 'Replicas are not as expected' "$work/beta.log" && fail "the standby wrote"
kill -KILL $A # dies without releasing: beta waits out the lease duration, then takes over
sleep 0.5
add_nodes 41 60
wait_replicas 4 "the standby takes over after the leader dies" 15
grep -q 'acquired leadership' "$work/beta.log" || fail "beta reports taking over"
# graceful stop releases the lease: a new instance takes over without waiting for expiry
kill -TERM $B
wait $B
[ $? = 0 ] || fail "leader SIGTERM exit 0"
grep -q 'released Lease kube-system/propscaler-coredns-autoscaler' "$work/beta.log" || fail "the Lease is released on stop"
HOSTNAME=gamma run_ps gamma --kubeconfig "$KC" $LE
sleep 1.2
grep -q 'acquired leadership' "$work/gamma.log" || fail "a released Lease is taken at once"
kill $PS_PID

# 10. Events on each scaling; another writer fighting over the replicas is detected, not fought
serve fight --apply "$PARAMS" --apply "$work/coredns.yaml"
add_nodes 1 40
NODE_NAME=event-test-node run_ps fight --kubeconfig "$KC" --poll-period-seconds 1
MP=$(metrics_port fight)
wait_replicas 3 "fight: start"
sleep 0.3
ev=$(curl -s "$URL/api/v1/namespaces/kube-system/events")
grep -q '"reason":"ScaledUp"' <<<"$ev" && grep -q '"message":"Scaled coredns from 1 to 3 replicas: linear: ' <<<"$ev" &&
  grep -q '"involvedObject":{"apiVersion":"apps/v1","kind":"Deployment","name":"coredns","namespace":"kube-system","uid":"[0-9a-f-]\{36\}","resourceVersion":"[0-9]*"}' <<<"$ev" &&
  grep -q '"source":{"component":"propscaler","host":"event-test-node"}' <<<"$ev" ||
  fail "a ScaledUp Event on the Deployment: $ev"
# kubectl describe finds them (it selects Events by the object's uid)
if command -v kubectl >/dev/null; then
  out=$(kubectl --kubeconfig "$KC" -n kube-system describe deployment coredns 2>&1)
  grep -q 'ScaledUp.*Scaled coredns from 1 to 3 replicas' <<<"$out" || fail "kubectl describe shows the Event: $out"
fi
# an HPA-like writer keeps setting 9: propscaler puts its 3 back twice, and on the third
# replacement stops writing (each round waits for propscaler's answer to the one before, so a
# slow machine cannot merge two rounds into one; the poll tick, 1 s, reads the change)
for round in 1 2 3; do
  curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":9}}' \
    "$URL/apis/apps/v1/namespaces/kube-system/deployments/coredns/scale"
  [ $round = 3 ] && break
  wait_replicas 3 "fight: propscaler puts its value back after replacement $round" 10
done
sleep 3 # three poll ticks that read 9 and leave it
[ "$(replicas)" = 9 ] || fail "propscaler stops fighting another writer (replicas $(replicas))"
grep -q 'ConflictingWriter' <<<"$(curl -s "$URL/api/v1/namespaces/kube-system/events")" || fail "a ConflictingWriter Event"
grep -q '^propscaler_conflicting_writer{namespace="kube-system",target="deployment/coredns"} 1$' <<<"$(curl -s 127.0.0.1:$MP/metrics)" ||
  fail "the conflicting-writer metric"
# params that stop parsing: a Warning Event on the ConfigMap; the same again is counted on it
for round in 1 2; do
  set_params '{"linear":"{\"nodesPerReplica\":-4}"}'
  sleep 0.4
  set_params '{"linear":"{\"nodesPerReplica\":16}"}'
  sleep 0.4
done
ev=$(curl -s "$URL/api/v1/namespaces/kube-system/events")
n=$(grep -o '"reason":"InvalidParams"' <<<"$ev" | wc -l)
[ "$n" = 1 ] && grep -q '"involvedObject":{"apiVersion":"v1","kind":"ConfigMap","name":"coredns-autoscaler","namespace":"kube-system","uid":"[0-9a-f-]\{36\}"}' <<<"$ev" &&
  grep -q '"reason":"InvalidParams","message":"The params do not parse: [^"]*; the last good params stay in force","type":"Warning"' <<<"$ev" &&
  grep -q '"count":2' <<<"$(grep -o '"reason":"InvalidParams".*' <<<"$ev")" || fail "one InvalidParams Event, counted twice: $ev"
if command -v kubectl >/dev/null; then
  out=$(kubectl --kubeconfig "$KC" -n kube-system describe configmap coredns-autoscaler 2>&1)
  grep -q 'Warning  InvalidParams .*x2 over' <<<"$out" || fail "kubectl describe shows the counted Event: $out"
fi
kill $PS_PID

# 11. The guard, live: most nodes turn NotReady -> hold (log, Event, metrics, dry-run); an operator
#     override on the ConfigMap releases it
serve guard --apply "$PARAMS" --apply "$work/coredns.yaml"
add_nodes 1 48
run_ps guard --kubeconfig "$KC" # no --guard: on by default
MP=$(metrics_port guard)
wait_replicas 3 "guard: 48 nodes -> 3"
for i in $(seq 1 40); do
  curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' \
    -d '{"status":{"conditions":[{"type":"Ready","status":"False"}]}}' "$URL/api/v1/nodes/n$i/status" # the status subresource, as kubelets write it
done
sleep 1.5
[ "$(replicas)" = 3 ] || fail "guard: held at 3 while 40 of 48 nodes are NotReady (got $(replicas))"
grep -q 'holding 3 replicas (would scale down to 2)' "$work/guard.log" || fail "guard: the hold is logged: $(grep -i guard "$work/guard.log" | tail -2)"
ev=$(curl -s "$URL/api/v1/namespaces/kube-system/events")
grep -q '"reason":"ScaleDownHeld"' <<<"$ev" && grep -q '"type":"Warning"' <<<"$ev" || fail "guard: a ScaleDownHeld Warning Event"
m=$(curl -s 127.0.0.1:$MP/metrics)
grep -q '^propscaler_guard_holding{namespace="kube-system",target="deployment/coredns"} 1$' <<<"$m" &&
  grep -q '^propscaler_guard_holds_total{namespace="kube-system",target="deployment/coredns"} [1-9]' <<<"$m" || fail "guard metrics"
run_ps guarddry --kubeconfig "$KC" --dry-run
sleep 1.2
kill $PS_PID
grep -q '^dry-run: guard holds kube-system/coredns deployment/coredns at 3: holding 3 replicas' "$work/guarddry.out" ||
  fail "guard: dry-run shows the hold: $(cat "$work/guarddry.out")"
curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' \
  -d '{"metadata":{"annotations":{"propscaler.io/guard-override":"2026-11-24 operator"}}}' \
  "$URL/api/v1/namespaces/kube-system/configmaps/coredns-autoscaler"
wait_replicas 2 "guard: an operator override releases the hold"
grep -q 'guard override requested' "$work/guard.log" || fail "guard: the override is logged"
kill $PS_PID

# 11b. The guard, live: an autoscaler deleting 60% of the nodes is held; a gradual shrink is followed
serve guard2 --apply "$PARAMS" --apply "$work/coredns.yaml"
add_nodes 1 48
run_ps guard2 --kubeconfig "$KC"
wait_replicas 3 "guard 60%: 48 nodes -> 3"
del_nodes 1 29
sleep 1.5
[ "$(replicas)" = 3 ] || fail "guard: deleting 60% of the nodes is held (got $(replicas))"
grep -Eq 'holding 3 replicas \(would scale down to [12]\): the counted nodes fell from 48 to [0-9]+ \(-[0-9]+%\)' "$work/guard2.log" || fail "guard: the drop is explained"
kill $PS_PID
serve guard3 --apply "$PARAMS" --apply "$work/coredns.yaml"
add_nodes 1 48
run_ps guard3 --kubeconfig "$KC" --guard=true --scale-down-delay 0 --guard-window 2s
wait_replicas 3 "guard gradual: 48 nodes -> 3"
for i in $(seq 1 30); do del_nodes "$i" "$i"; sleep 0.25; done
wait_replicas 2 "guard: a gradual shrink (1 node per 0.25 s, 2 s window) is followed"
grep -q 'holding' "$work/guard3.log" && fail "guard: no hold for a gradual shrink"
kill $PS_PID

# 12. Placement: under required hostname anti-affinity, replicas are capped at the eligible nodes
serve place --apply "$DATA/../../manifests/examples/coredns-deployment.yaml"
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d '{"metadata":{"name":"coredns-autoscaler"},"data":{"linear":"{\"nodesPerReplica\":1}"}}' "$URL/api/v1/namespaces/kube-system/configmaps"
add_nodes 1 8
for i in $(seq 9 20); do
  curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
    -d "{\"metadata\":{\"name\":\"n$i\"},\"spec\":{\"taints\":[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}]},\"status\":{\"allocatable\":{\"cpu\":\"4\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" "$URL/api/v1/nodes"
done
run_ps place --kubeconfig "$KC"
MP=$(metrics_port place)
wait_replicas 8 "placement: 20 wanted, 8 eligible (12 nodes tainted) -> capped at 8"
grep -q '20 replicas with required hostname anti-affinity need 20 nodes, but only 8 schedulable nodes are eligible' "$work/place.log" ||
  fail "placement: the cap is logged"
grep -q '"reason":"ReplicasCappedByPlacement"' <<<"$(curl -s "$URL/api/v1/namespaces/kube-system/events")" || fail "placement: Event"
m=$(curl -s 127.0.0.1:$MP/metrics)
grep -q '^propscaler_eligible_nodes{namespace="kube-system",target="deployment/coredns"} 8$' <<<"$m" &&
  grep -q '^propscaler_placement_capped{namespace="kube-system",target="deployment/coredns"} 1$' <<<"$m" || fail "placement metrics"
# the placement rules were read before the first node LIST: one LIST tagged the nodes, no second
grep -q '^propscaler_relists_total{resource="nodes"} 0$' <<<"$m" || fail "placement: one node LIST at start: $(grep relists_total <<<"$m")"
# the pods the emulator scheduled: one per eligible node, none Pending
phases=$(curl -s "$URL/api/v1/namespaces/kube-system/pods" | grep -o '"phase":"[A-Za-z]*"' | sort | uniq -c | tr -s ' ')
[ "$phases" = " 8 \"phase\":\"Running\"" ] || fail "placement: 8 Running pods, none Pending: $phases"
kill $PS_PID
run_ps placewarn --kubeconfig "$KC" --placement-warn-only
wait_replicas 20 "--placement-warn-only: not capped"
grep -q 'the extra replicas will stay Pending (--placement-warn-only)' "$work/placewarn.log" || fail "placement: warn-only message"
kill $PS_PID

# 13. Hot-spots: bin-packing piles the replicas onto one node; reported (log, Event, metrics),
#     also as DNS traffic over the per-node limit
serve hot --apply "$PARAMS" --apply "$work/coredns.yaml" --scheduler most-requested
set_params '{"linear":"{\"nodesPerReplica\":1}"}'
add_nodes 1 6
run_ps hot --kubeconfig "$KC" --dns-qps-per-node-limit 200 --qps-per-replica 100
MP=$(metrics_port hot)
wait_replicas 6 "hot-spot: 6 nodes -> 6 replicas"
sleep 1
grep -q '1 node(s) hold more than 2 replicas of deployment/coredns (node replicas: n[0-9]* 6)' "$work/hot.log" ||
  fail "hot-spot: logged: $(grep -i 'replicas of' "$work/hot.log" | tail -2)"
grep -q 'would serve more than the 200 QPS per-node DNS limit at 100 QPS per replica' "$work/hot.log" || fail "hot-spot: QPS"
grep -q '"reason":"ReplicasPiledUp"' <<<"$(curl -s "$URL/api/v1/namespaces/kube-system/events")" || fail "hot-spot: Event"
m=$(curl -s 127.0.0.1:$MP/metrics)
grep -q '^propscaler_replicas_on_busiest_node{namespace="kube-system",target="deployment/coredns"} 6$' <<<"$m" &&
  grep -q '^propscaler_nodes_over_replica_limit{namespace="kube-system",target="deployment/coredns"} 1$' <<<"$m" &&
  grep -q '^propscaler_nodes_over_dns_qps_limit{namespace="kube-system",target="deployment/coredns"} 1$' <<<"$m" ||
  fail "hot-spot metrics: $(grep -E 'busiest|over_' <<<"$m")"
kill $PS_PID
# with hostname anti-affinity (the shipped example), the same scheduler spreads them: nothing to report
serve hot2 --apply "$DATA/../../manifests/examples/coredns-deployment.yaml" --scheduler most-requested
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d '{"metadata":{"name":"coredns-autoscaler"},"data":{"linear":"{\"nodesPerReplica\":1}"}}' "$URL/api/v1/namespaces/kube-system/configmaps"
add_nodes 1 6
run_ps hot2 --kubeconfig "$KC"
MP=$(metrics_port hot2)
wait_replicas 6 "spread: 6 replicas"
sleep 1
grep -q '^propscaler_replicas_on_busiest_node{namespace="kube-system",target="deployment/coredns"} 1$' <<<"$(curl -s 127.0.0.1:$MP/metrics)" ||
  fail "anti-affinity: one replica per node"
grep -q 'replicas of deployment/coredns' "$work/hot2.log" && fail "anti-affinity: nothing to report"
kill $PS_PID

# 14. --max-sync-failures: a missing target fails every reconcile -> exit 1
serve maxfail --apply "$PARAMS"
add_nodes 1 3
"$PROPSCALER" --kubeconfig "$KC" --namespace kube-system --configmap coredns-autoscaler --target deployment/nope \
  --metrics-addr 127.0.0.1:0 --poll-period-seconds 1 --max-sync-failures 2 >"$work/maxfail.out" 2>"$work/maxfail.log"
rc=$?
[ "$rc" = 1 ] && grep -q 'Too many consecutive sync failures (2)' "$work/maxfail.log" || fail "--max-sync-failures: exit $rc"

# 15. Reconcile on change: node updates that change nothing the decision reads (kubelet heartbeats,
#     labels, annotations) cost no API request; a change that matters is still decided at once
serve churn --apply "$PARAMS" --apply "$work/coredns.yaml"
add_nodes 1 10
run_ps churn --kubeconfig "$KC" --poll-period-seconds 60
wait_replicas 2 "churn: 10 nodes -> 2"
sleep 0.3
gets() { curl -s "$URL/propsim/stats" | grep -o '"get":{[^}]*}' | grep -o '"deployments":[0-9]*' | cut -d: -f2; }
before=$(gets)
for i in $(seq 1 40); do # 40 bursts, 0.1 s apart (the coalescing quiet time is 25 ms)
  curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' \
    -d "{\"metadata\":{\"annotations\":{\"heartbeat\":\"$i\"}},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\",\"lastHeartbeatTime\":\"2026-12-06T05:00:$((i % 60))Z\"}]}}" \
    "$URL/api/v1/nodes/n$(( (i % 10) + 1 ))"
  sleep 0.1
done
sleep 0.3
after=$(gets)
[ -n "$before" ] && [ "$((after - before))" -eq 0 ] || fail "churn: 40 heartbeat bursts made $((after - before)) reads of the scale (want 0)"
CHPORT=$(grep -o 'metrics on [0-9.]*:[0-9]*' "$work/churn.log" | head -1 | cut -d: -f2)
skipped=$(curl -s "127.0.0.1:$CHPORT/metrics" | awk '/^propscaler_decisions_skipped_total/ {print $2}')
[ "${skipped:-0}" -ge 30 ] || fail "churn: propscaler_decisions_skipped_total $skipped, want >= 30"
# every node of the LIST and of the 40 events was read from its bytes, none through a cJSON tree
decodes=$(curl -s "127.0.0.1:$CHPORT/metrics" | grep '^propscaler_node_decodes_total')
direct=$(echo "$decodes" | awk '/decoder="direct"/ {print $2}')
tree=$(echo "$decodes" | awk '/decoder="tree"/ {print $2}')
[ "${direct:-0}" -ge 50 ] && [ "${tree:-1}" -eq 0 ] ||
  fail "churn: node decodes direct=$direct tree=$tree (want >= 50 and 0)"
add_nodes 11 40
wait_replicas 3 "churn: a change that matters is decided at once (40 nodes -> 3)" 3
curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"unschedulable":true}}' "$URL/api/v1/nodes/n40"
set_params '{"linear":"{\"nodesPerReplica\":1}"}'
wait_replicas 39 "churn: cordon and params edit decided (39 schedulable)" 3
kill -TERM $PS_PID; wait $PS_PID

# 16. gzip, as client-go asks for it: the emulator compresses answers over 128 KiB as
#     kube-apiserver does; the same decision from a fraction of the bytes, and --disable-compression
#     (or the kubeconfig's disable-compression) turns it off
for mode in gzip plain; do
  serve "gz$mode" --nodes 2000 --apply "$PARAMS" --apply "$work/coredns.yaml"
  run_ps "gz$mode" --kubeconfig "$KC" $([ $mode = plain ] && echo --disable-compression)
  wait_replicas 125 "gzip ($mode): 2000 nodes -> 125" 20
  sent=$(curl -s "$URL/propsim/stats" | grep -o '"bytesSent":[0-9]*' | cut -d: -f2)
  eval "sent_$mode=$sent"
  kill -TERM $PS_PID; wait $PS_PID
done
[ -n "$sent_gzip" ] && [ -n "$sent_plain" ] && [ $((sent_gzip * 4)) -lt "$sent_plain" ] ||
  fail "gzip: $sent_gzip bytes sent with gzip, $sent_plain without (want under a quarter)"
curl -s -H 'Accept-Encoding: gzip' -D "$work/gz.h" -o "$work/gz.body" "$URL/api/v1/nodes"
grep -qi '^Content-Encoding: gzip' "$work/gz.h" && gunzip -c "$work/gz.body" | grep -q '"kind":"NodeList"' ||
  fail "the emulator's gzip answer: $(cat "$work/gz.h")"
curl -s -D "$work/plain.h" -o /dev/null "$URL/api/v1/nodes"
! grep -qi '^Content-Encoding' "$work/plain.h" || fail "no gzip unless asked for"
# in-cluster (no kubeconfig) propscaler asks for no gzip unless --disable-compression=false says so:
# on the cluster's own network compression costs CPU on both ends and saves no time
# (kube-controller-manager and kube-scheduler turn it off too)
serve gzic --nodes 2000 --apply "$PARAMS" --apply "$work/coredns.yaml" --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" --token icT0ken
mkdir -p "$work/sa2"
cp "$work/cert.pem" "$work/sa2/ca.crt"
echo icT0ken >"$work/sa2/token"
echo kube-system >"$work/sa2/namespace"
URL=https://127.0.0.1:$(head -1 "$work/gzic.port")
for mode in plain gzip; do
  before=$(curl -sk -H "Authorization: Bearer icT0ken" "$URL/propsim/stats" | grep -o '"bytesSent":[0-9]*' | cut -d: -f2)
  PROPSCALER_SERVICEACCOUNT_DIR=$work/sa2 KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$(head -1 "$work/gzic.port") \
    KUBECONFIG= run_ps "gzic$mode" --v=2 $([ $mode = gzip ] && echo --disable-compression=false)
  for _ in $(seq 200); do grep -q 'listed 2000 nodes' "$work/gzic$mode.log" && break; sleep 0.1; done
  TOKEN=icT0ken wait_replicas 125 "in-cluster ($mode): 2000 nodes -> 125" 20
  kill -TERM $PS_PID; wait $PS_PID
  after=$(curl -sk -H "Authorization: Bearer icT0ken" "$URL/propsim/stats" | grep -o '"bytesSent":[0-9]*' | cut -d: -f2)
  eval "ic_$mode=$((after - before))"
done
[ $((ic_gzip * 4)) -lt "$ic_plain" ] && [ "$ic_plain" -gt $((sent_plain / 2)) ] ||
  fail "in-cluster: $ic_plain bytes sent by default (want no gzip: about $sent_plain), $ic_gzip with --disable-compression=false"

# 17. The state-loss check is not fooled by a live cluster: its LIST answered late (the watch's
#     events overtook it, as they can from a real server) is compared with the cache as it was at the
#     answer's resourceVersion; nodes --ignore-taint leaves out, and nodes it cannot read, are
#     still the server's. Neither may cause a relist.
serve late --apply "$PARAMS" --apply "$work/coredns.yaml"
add_nodes 1 5
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d '{"metadata":{"name":"tainted"},"spec":{"taints":[{"key":"virtual-kubelet.io/provider","effect":"NoSchedule"}]},"status":{"allocatable":{"cpu":"4"},"conditions":[{"type":"Ready","status":"True"}]}}' "$URL/api/v1/nodes"
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
  -d '{"metadata":{"name":"unreadable"},"status":{"allocatable":{"cpu":"four"}}}' "$URL/api/v1/nodes"
run_ps late --kubeconfig "$KC" --poll-period-seconds 1 --ignore-taint virtual-kubelet.io/provider
wait_replicas 2 "late checks: 5 counted nodes -> 2"
curl -s -o /dev/null -X POST "$URL/propsim/faults?answer_delay_ms=400"
for i in $(seq 6 45); do add_nodes "$i" "$i"; sleep 0.1; done
curl -s -o /dev/null -X POST "$URL/propsim/faults?answer_delay_ms=0"
sleep 2.5 # two more quiet checks
wait_replicas 3 "late checks: 45 counted nodes -> 3"
LPORT=$(grep -o 'metrics on [0-9.]*:[0-9]*' "$work/late.log" | head -1 | cut -d: -f2)
relists=$(curl -s "127.0.0.1:$LPORT/metrics" | awk -F' ' '/^propscaler_relists_total\{resource="nodes"\}/ {print $2}')
[ "${relists:-x}" = 0 ] || fail "late checks: $relists node relists (want 0): $(grep -m2 'relisting' "$work/late.log")"
kill -TERM $PS_PID; wait $PS_PID

echo "test_controller: $fails failure(s)"
[ "$fails" -eq 0 ]
