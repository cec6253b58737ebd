#!/usr/bin/env bash
# The node-removal admission webhook (propscaler --node-guard) against propsim serve, driven by a
# scripted autoscaler (tests/cli/autoscaler.py) that marks and deletes nodes as cluster-autoscaler
# and Karpenter do, asking the webhook with the AdmissionReview kube-apiserver would send and
# carrying out what it admits: the budget (exactly half of the high-water mark, not one more),
# the message, Events on the node, metrics, the settle time, both overrides, an outage, warn
# mode, certificate files reloaded on rotation, bad bodies, flag errors — and through the API
# server: propsim serve calling the webhook, kubectl and the Python client seeing kube-apiserver's
# denial, warnings and failurePolicy when the webhook is down.
set -u
PROPSCALER=$1
PROPSIM=$2
DATA=$3
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"; echo "work: $work" >&2; }
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
PY=/usr/bin/python3
PARAMS=$DATA/../../manifests/examples/coredns-autoscaler-params.yaml
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: coredns, namespace: kube-system}\nspec: {replicas: 2}\n' >"$work/coredns.yaml"

serve() { # serve NAME ARGS... -> URL, KC
  "$PROPSIM" serve --listen 127.0.0.1:0 --no-pods --apply "$PARAMS" --apply "$work/coredns.yaml" \
    --write-kubeconfig "$work/$1.kc" "${@:2}" >"$work/$1.port" 2>"$work/$1.serve.log" &
  pids+=($!)
  for _ in $(seq 100); do [ -s "$work/$1.port" ] && break; sleep 0.05; done
  URL=http://127.0.0.1:$(head -1 "$work/$1.port")
  KC=$work/$1.kc
}
# run_ng NAME ARGS... -> PS_PID, HOOK (https://127.0.0.1:PORT), METRICS, CA (the self-signed caBundle)
run_ng() {
  "$PROPSCALER" --kubeconfig "$KC" --namespace kube-system --configmap coredns-autoscaler --target deployment/coredns \
    --metrics-addr 127.0.0.1:0 --node-guard --webhook-addr 127.0.0.1:0 "${@:2}" >"$work/$1.out" 2>"$work/$1.log" &
  PS_PID=$!
  pids+=($PS_PID)
  HOOK=
  for _ in $(seq 100); do
    HOOK=$(grep -o 'webhook on https://[0-9.]*:[0-9]*' "$work/$1.log" | head -1 | cut -d' ' -f3)
    [ -n "$HOOK" ] && grep -q 'Set control mode' "$work/$1.log" && break
    sleep 0.05
  done
  METRICS=http://$(grep -o 'metrics on [0-9.:]*' "$work/$1.log" | head -1 | cut -d' ' -f3)
  CA=$work/$1.ca.pem
  sed -n '/BEGIN CERTIFICATE/,/END CERTIFICATE/p' "$work/$1.log" >"$CA"
  if grep -q 'generated a self-signed serving certificate' "$work/$1.log"; then
    # self-signed replicas share one pair through a Secret: what they serve is the Secret's
    for _ in $(seq 100); do grep -Eq 'stored the webhook certificate|serving the webhook certificate shared' "$work/$1.log" && break; sleep 0.05; done
    curl -s "$URL/api/v1/namespaces/kube-system/secrets/propscaler-node-guard-tls" | sed -n 's/.*"tls.crt":"\([^"]*\)".*/\1/p' | base64 -d >"$CA"
  fi
  sleep 0.3 # the first LIST of nodes
}
nodes() { curl -s "$URL/api/v1/nodes" | grep -o '"kind":"Node"' | wc -l; }
metric() { curl -s "$METRICS/metrics" | grep "^$1 " | cut -d' ' -f2; }
review() { # review BODY [CURL ARGS...] -> the answer and the status on the last line
  curl -s --cacert "$CA" -X POST -H 'Content-Type: application/json' --data-binary "$1" "${@:2}" -w '\n%{http_code}' \
    "$HOOK/validate-node-removal"
}

# 1. cluster-autoscaler removes 60% of 200 nodes one by one: exactly 100 go, then every one is
#    refused with the numbers; Events on the nodes, metrics; the ConfigMap override and the
#    settle time each let a real shrink go on
serve ca --nodes 200
run_ng ca --webhook-self-signed --guard-settle 3s
grep -q 'BEGIN CERTIFICATE' "$work/ca.log" || fail "self-signed: the caBundle is logged"
grep -q 'BEGIN CERTIFICATE' "$CA" || fail "self-signed: the certificate is shared in the Secret"
out=$($PY "$here/autoscaler.py" "$URL" "$HOOK" "$CA" 120 2>&1)
grep -q '^removed 100 of 120$' <<<"$out" || fail "60% of 200: exactly 100 removed: $(tail -3 <<<"$out")"
[ "$(grep -c '^refused' <<<"$out")" = 20 ] || fail "the other 20 refused"
grep -q "^refused [^:]*: refusing to remove node [^ ]*: 100 nodes were removed or marked for removal within 10 min; one more makes 101 of a high-water mark of 200 nodes, past the budget of 100 (50%)" <<<"$out" ||
  fail "the refusal says the numbers: $(grep -m1 '^refused' <<<"$out")"
grep -q 'annotate the node propscaler.io/allow-removal=REASON, or set propscaler.io/guard-override' <<<"$out" ||
  fail "the refusal says how to override"
[ "$(nodes)" = 100 ] || fail "100 nodes left on the server (got $(nodes))"
[ "$(metric propscaler_node_removals_admitted_total)" = 100 ] || fail "admitted_total 100: $(metric propscaler_node_removals_admitted_total)"
[ "$(metric propscaler_node_removals_refused_total)" = 20 ] || fail "refused_total 20"
[ "$(metric propscaler_node_removal_budget)" = 100 ] || fail "the budget gauge"
grep -q 'node-guard: marking node .* by system:serviceaccount:kube-system:cluster-autoscaler: refusing to remove node' "$work/ca.log" ||
  fail "refusals logged with the requester"
sleep 0.5
ev=$(curl -s "$URL/api/v1/namespaces/default/events")
[ "$(grep -o '"reason":"NodeRemovalRefused"' <<<"$ev" | wc -l)" -ge 10 ] || fail "Warning Events NodeRemovalRefused on the nodes"
grep -q '"involvedObject":{"apiVersion":"v1","kind":"Node","name":"[^"]*","uid":"[^"]' <<<"$ev" ||
  fail "the Events name the Node with its uid (kubectl describe node finds them)"
# a dry run is answered, not counted
out=$($PY "$here/autoscaler.py" "$URL" "$HOOK" "$CA" 1 --dry-run 2>&1)
grep -q '^refused' <<<"$out" || fail "a dry run gets the same answer: $out"
# the operator's override on the params ConfigMap restarts the window
curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' \
  -d '{"metadata":{"annotations":{"propscaler.io/guard-override":"2026-12-06 real shrink"}}}' \
  "$URL/api/v1/namespaces/kube-system/configmaps/coredns-autoscaler"
sleep 0.5
out=$($PY "$here/autoscaler.py" "$URL" "$HOOK" "$CA" 3 2>&1)
grep -q '^removed 3 of 3$' <<<"$out" || fail "after the ConfigMap override removals go on: $out"
[ "$(metric propscaler_node_removal_high_water_nodes)" = 100 ] || fail "the window restarted from 100 nodes"
# after --guard-settle (3 s) without removals, the window restarts too
out=$($PY "$here/autoscaler.py" "$URL" "$HOOK" "$CA" 60 --karpenter 2>&1)
grep -q '^removed 47 of 60$' <<<"$out" || fail "Karpenter's mark counts the same (97 nodes: 47 more): $(tail -1 <<<"$out")"
sleep 3.5
out=$($PY "$here/autoscaler.py" "$URL" "$HOOK" "$CA" 2 --karpenter 2>&1)
grep -q '^removed 2 of 2$' <<<"$out" || fail "after --guard-settle a real shrink proceeds: $out"
# one deliberate removal: the node's own annotation
out=$($PY "$here/autoscaler.py" "$URL" "$HOOK" "$CA" 30 2>&1) # spends the budget (48 nodes: 24)
name=$(curl -s "$URL/api/v1/nodes" | grep -o '"name":"node-pool-[^"]*"' | sort | sed -n 25p | cut -d'"' -f4)
out=$($PY "$here/autoscaler.py" "$URL" "$HOOK" "$CA" 1 --skip 24 --annotate-override "$name" 2>&1)
grep -q "^admitted $name$" <<<"$out" || fail "the per-node annotation admits one deliberate removal: $out"
grep -q "allowed by the node's propscaler.io/allow-removal annotation" "$work/ca.log" || fail "the override is logged"

# 1b. two replicas, two autoscalers removing different nodes at once, one through each: the
#     budget is shared through the ledger ConfigMap, so together they admit exactly 100
serve pair --nodes 200
run_ng r1 --webhook-self-signed
HOOK1=$HOOK CA1=$CA
run_ng r2 --webhook-self-signed
HOOK2=$HOOK CA2=$CA
$PY "$here/autoscaler.py" "$URL" "$HOOK1" "$CA1" 80 --delete-only >"$work/pair1.out" 2>&1 &
a1=$!
$PY "$here/autoscaler.py" "$URL" "$HOOK2" "$CA2" 80 --delete-only --skip 100 >"$work/pair2.out" 2>&1 &
a2=$!
wait $a1 $a2
n1=$(sed -n 's/^removed \([0-9]*\) of 80$/\1/p' "$work/pair1.out"); n2=$(sed -n 's/^removed \([0-9]*\) of 80$/\1/p' "$work/pair2.out")
[ -n "$n1" ] && [ -n "$n2" ] && [ $((n1 + n2)) = 100 ] && [ "$(nodes)" = 100 ] ||
  fail "two replicas at once never pass the budget: ${n1:-?} + ${n2:-?} removed, $(nodes) nodes left: $(tail -2 "$work/pair1.out" "$work/pair2.out")"
curl -s "$URL/api/v1/namespaces/kube-system/configmaps/propscaler-node-removals" | grep -q '"removals":' ||
  fail "the shared ledger ConfigMap holds the removals"

# 2. an outage: more than half the nodes NotReady refuses every removal
serve outage --nodes 50
for n in $(curl -s "$URL/api/v1/nodes" | grep -o '"name":"node-pool-[^"]*"' | cut -d'"' -f4 | head -30); do
  curl -s -o /dev/null -X PATCH -H 'Content-Type: application/merge-patch+json' \
    -d '{"status":{"conditions":[{"type":"Ready","status":"Unknown","reason":"NodeStatusUnknown"}]}}' "$URL/api/v1/nodes/$n/status"
done
run_ng outage --webhook-self-signed
out=$($PY "$here/autoscaler.py" "$URL" "$HOOK" "$CA" 1 --delete-only 2>&1)
grep -q 'refusing to remove node [^:]*: 30 of 50 nodes (60%) are NotReady at once, more than 50%' <<<"$out" ||
  fail "an outage refuses the first removal: $out"

# 3. warn mode admits everything, with the warning kubectl would print
serve warn --nodes 20
run_ng warn --webhook-self-signed --node-guard-mode=warn
out=$($PY "$here/autoscaler.py" "$URL" "$HOOK" "$CA" 15 2>&1)
grep -q '^removed 15 of 15$' <<<"$out" || fail "warn mode admits all: $(tail -1 <<<"$out")"
[ "$(grep -c '^warned .*: would refuse (warn mode, admitted): refusing to remove node' <<<"$out")" = 5 ] ||
  fail "warn mode: the 5 past the budget carry the warning: $(grep -c '^warned' <<<"$out")"
[ "$(metric propscaler_node_removals_warned_total)" = 5 ] || fail "warned_total 5"

# 4. bad requests: a reason, never a crash
r=$(review 'not json'); [ "$(tail -1 <<<"$r")" = 400 ] && grep -q 'bad AdmissionReview: not JSON' <<<"$r" || fail "garbage -> 400: $r"
r=$(review '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"DELETE"}}')
[ "$(tail -1 <<<"$r")" = 400 ] && grep -q 'request.uid: missing' <<<"$r" || fail "no uid -> 400 naming the field: $r"
head -c 8000000 /dev/zero | tr '\0' ' ' >"$work/big"
r=$(curl -s --cacert "$CA" -X POST --data-binary "@$work/big" -w '%{http_code}' -o /dev/null "$HOOK/validate-node-removal")
[ "$r" = 413 ] || fail "an 8 MB body -> 413: $r"
[ "$(curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' "$HOOK/validate-node-removal")" = 405 ] || fail "GET -> 405"
[ "$(curl -s --cacert "$CA" -o /dev/null -w '%{http_code}' "$HOOK/other")" = 404 ] || fail "other path -> 404"
[ "$(curl -s --cacert "$CA" "$HOOK/healthz")" = ok ] || fail "/healthz on the webhook port"
r=$(review '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","operation":"DELETE","name":"p","resource":{"resource":"pods"}}}')
grep -q '"allowed":true' <<<"$r" || fail "other resources are admitted: $r"
kill -0 $PS_PID 2>/dev/null || fail "propscaler still runs after the bad requests"

# 5. certificate files, reloaded when cert-manager rotates them
mkcert() { # mkcert NAME
  certtool --generate-privkey --key-type ecdsa --outfile "$work/$1.key" >/dev/null 2>&1
  printf 'cn = webhook\nip_address = 127.0.0.1\nca\ntls_www_server\nsigning_key\nexpiration_days = 2\n' >"$work/t"
  certtool --generate-self-signed --load-privkey "$work/$1.key" --template "$work/t" --outfile "$work/$1.crt" >/dev/null 2>&1
}
mkcert a; mkcert b
cp "$work/a.crt" "$work/tls.crt"; cp "$work/a.key" "$work/tls.key"
run_ng files --webhook-cert "$work/tls.crt" --webhook-key "$work/tls.key"
[ "$(curl -s --cacert "$work/a.crt" "$HOOK/healthz")" = ok ] || fail "served with the certificate file"
cp "$work/b.key" "$work/tls.key.new"; cp "$work/b.crt" "$work/tls.crt.new"
mv "$work/tls.key.new" "$work/tls.key"; mv "$work/tls.crt.new" "$work/tls.crt"
sleep 1.2
curl -s --cacert "$work/b.crt" "$HOOK/healthz" >/dev/null # the handshake that notices
sleep 1.2
[ "$(curl -s --cacert "$work/b.crt" "$HOOK/healthz")" = ok ] || fail "the rotated certificate is served"
[ "$(curl -s --cacert "$work/a.crt" "$HOOK/healthz")" != ok ] || fail "the old certificate is no longer served"
grep -q 'reloaded the serving certificate' "$work/files.log" || fail "the reload is logged"
echo 'garbage' >"$work/tls.crt"
sleep 1.2
curl -s --cacert "$work/b.crt" "$HOOK/healthz" >/dev/null
[ "$(curl -s --cacert "$work/b.crt" "$HOOK/healthz")" = ok ] || fail "a bad rotation keeps the last good certificate"
grep -q 'the changed certificate does not load, the previous one stays in use' "$work/files.log" || fail "a bad rotation is logged"

# 6. through the API server: propsim serve calls the webhook as kube-apiserver does, so kubectl
#    and the Python client see what they would see on a real cluster
# shellcheck source=vwc.sh
. "$here/vwc.sh"
vwc() { # vwc FAILURE_POLICY -> applies the ValidatingWebhookConfiguration for $HOOK and $CA
  node_guard_vwc "$HOOK" "$1" "$CA" >"$work/vwc.yaml"
  KUBECONFIG=$KC kubectl apply -f "$work/vwc.yaml" >/dev/null 2>"$work/vwc.err" || fail "kubectl apply of the webhook configuration: $(cat "$work/vwc.err")"
}
serve api --nodes 10
run_ng api --webhook-self-signed
vwc Fail
export KUBECONFIG=$KC
names=($(kubectl get nodes -o name | cut -d/ -f2))
for i in 0 1 2 3 4; do kubectl delete node "${names[$i]}" >/dev/null 2>&1 || fail "kubectl delete node within the budget"; done
out=$(kubectl delete node "${names[5]}" 2>&1); rc=$?
[ "$rc" != 0 ] && grep -q '^Error from server (Forbidden): admission webhook "node-removal.propscaler.io" denied the request: refusing to remove node '"${names[5]}"': 5 nodes were removed' <<<"$out" ||
  fail "kubectl delete node past the budget: kube-apiserver's denial: $out"
out=$(kubectl taint node "${names[6]}" ToBeDeletedByClusterAutoscaler=1733400000:NoSchedule 2>&1); rc=$?
[ "$rc" != 0 ] && grep -q 'denied the request: refusing to remove node' <<<"$out" || fail "kubectl taint with cluster-autoscaler's mark is refused: $out"
kubectl label node "${names[6]}" team=dns >/dev/null 2>&1 || fail "other node updates pass the webhook"
[ "$(kubectl get nodes -o name | wc -l)" = 5 ] || fail "5 nodes left"
sleep 0.5
kubectl describe node "${names[5]}" | grep -q 'Warning  NodeRemovalRefused' || fail "kubectl describe node shows the refusal"
out=$(/usr/bin/python3 - "$KC" "${names[5]}" <<'PYEOF2' 2>&1
import sys
from kubernetes import client, config
from kubernetes.client.rest import ApiException
config.load_kube_config(sys.argv[1])
try:
    client.CoreV1Api().delete_node(sys.argv[2])
    print("deleted")
except ApiException as e:
    print("status", e.status, e.reason)
    print(e.body)
PYEOF2
)
grep -q '^status 403 Forbidden' <<<"$out" && grep -q 'denied the request: refusing to remove node' <<<"$out" ||
  fail "the Python client gets 403 with the message: $out"
# warn mode: kubectl prints the warning and the removal happens
kill "$PS_PID"; wait "$PS_PID" 2>/dev/null
run_ng apiwarn --webhook-self-signed --node-guard-mode=warn
vwc Fail
# (a new window: 5 nodes, a budget of 3 — the minimum count — so the 4th is past it)
for i in 5 6 7 8; do out=$(kubectl delete node "${names[$i]}" 2>&1) || fail "warn mode: deleted"; done
grep -q '^Warning: would refuse (warn mode, admitted): refusing to remove node '"${names[8]}" <<<"$out" ||
  fail "warn mode: kubectl prints the webhook's warning: $out"
# the webhook down: failurePolicy Fail refuses every node removal (and every node update) with
# kube-apiserver's error; Ignore (the shipped default) lets them through unguarded
kill "$PS_PID"; wait "$PS_PID" 2>/dev/null
out=$(kubectl delete node "${names[9]}" 2>&1); rc=$?
[ "$rc" != 0 ] && grep -q '^Error from server (InternalError): Internal error occurred: failed calling webhook "node-removal.propscaler.io": failed to call webhook: Post' <<<"$out" ||
  fail "webhook down, failurePolicy Fail: $out"
out=$(kubectl label node "${names[9]}" team=x 2>&1) && fail "webhook down, Fail: even a label change is refused: $out"
sed -i 's/failurePolicy: Fail/failurePolicy: Ignore/' "$work/vwc.yaml"
kubectl apply -f "$work/vwc.yaml" >/dev/null 2>&1
kubectl delete node "${names[9]}" >/dev/null 2>&1 || fail "webhook down, failurePolicy Ignore: the removal goes through"
unset KUBECONFIG

# 7. self-managed certificates: two replicas share one pair through a Secret (an expiring one found
#    there is replaced) and keep the ValidatingWebhookConfiguration's caBundle current
serve selfmanaged --nodes 10
export KUBECONFIG=$KC
certtool --generate-privkey --key-type ecdsa --outfile "$work/old.key" >/dev/null 2>&1
printf 'cn = old\nip_address = 127.0.0.1\ntls_www_server\nexpiration_days = 10\n' >"$work/t"
certtool --generate-self-signed --load-privkey "$work/old.key" --template "$work/t" --outfile "$work/old.crt" >/dev/null 2>&1
# (kubectl create secret sends protobuf, which propsim serve does not read: the same Secret as JSON)
printf '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"propscaler-node-guard-tls"},"type":"kubernetes.io/tls","data":{"tls.crt":"%s","tls.key":"%s"}}' \
  "$(base64 -w0 "$work/old.crt")" "$(base64 -w0 "$work/old.key")" >"$work/old-secret.json"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' --data-binary "@$work/old-secret.json" \
  "$URL/api/v1/namespaces/kube-system/secrets")" = 201 ] || fail "the old Secret is created"
run_ng sm1 --webhook-self-signed --webhook-sync-period 1s
HOOK1=$HOOK
run_ng sm2 --webhook-self-signed --webhook-sync-period 1s
HOOK2=$HOOK
node_guard_vwc "$HOOK1" Fail >"$work/vwc-nobundle.yaml"
kubectl apply -f "$work/vwc-nobundle.yaml" >/dev/null
sleep 3
grep -hq 'expires within 30 days: replacing it' "$work/sm1.log" "$work/sm2.log" || fail "self-managed: an expiring certificate in the Secret is replaced"
kubectl -n kube-system get secret propscaler-node-guard-tls -o jsonpath='{.data.tls\.crt}' | base64 -d >"$work/shared.crt"
cmp -s "$work/shared.crt" "$work/old.crt" && fail "self-managed: the Secret holds a new certificate"
[ "$(curl -s --cacert "$work/shared.crt" "$HOOK1/healthz")" = ok ] && [ "$(curl -s --cacert "$work/shared.crt" "$HOOK2/healthz")" = ok ] ||
  fail "self-managed: both replicas serve the Secret's certificate"
[ "$(kubectl get validatingwebhookconfiguration propscaler-node-guard -o jsonpath='{.webhooks[0].clientConfig.caBundle}' | base64 -d)" = "$(cat "$work/shared.crt")" ] ||
  fail "self-managed: the caBundle is the shared certificate"
kubectl delete node "$(kubectl get nodes -o name | head -1 | cut -d/ -f2)" >/dev/null 2>&1 || fail "self-managed: a removal within the budget"
grep -q 'node-guard: deleting node' "$work/sm1.log" || fail "self-managed: kube-apiserver's call reached the webhook over verified TLS"
unset KUBECONFIG

# 8. flags
out=$("$PROPSCALER" --target deployment/x --configmap c --namespace n --node-guard 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q -- '--node-guard needs its serving certificate' <<<"$out" || fail "--node-guard without a certificate: $rc $out"
out=$("$PROPSCALER" --target deployment/x --configmap c --namespace n --node-guard --webhook-self-signed --node-guard-mode=strict 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q -- '--node-guard-mode: expected enforce or warn, got "strict"' <<<"$out" || fail "bad mode: $rc $out"
out=$("$PROPSCALER" --kubeconfig "$KC" --target deployment/x --configmap c --namespace n --node-guard \
  --webhook-cert "$work/nope.crt" --webhook-key "$work/a.key" --metrics-addr 127.0.0.1:0 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q 'nope.crt' <<<"$out" || fail "a missing certificate file: $rc $out"
out=$("$PROPSCALER" --kubeconfig "$KC" --target deployment/x --configmap c --namespace n --node-guard \
  --webhook-cert "$work/a.crt" --webhook-key "$work/b.key" --metrics-addr 127.0.0.1:0 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q 'the key does not belong to the certificate' <<<"$out" || fail "a key of another certificate: $rc $out"

echo "test_nodeguard: $fails failure(s)"
[ "$fails" -eq 0 ]
