#!/usr/bin/env bash
# `propsim serve` end to end: the real kubectl, and raw HTTP (curl) for protocol details —
# paging, watch resume, bookmarks, 410, 409, 401, TLS, fault injection, trace playback.
set -u
PROPSIM=$1
DATA=$2
KUBECTL=${KUBECTL:-kubectl}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND... : the command must succeed
  local what=$1; shift
  "$@" >/dev/null 2>&1 || fail "$what"
}

# start NAME ARGS...: start a server on a free port; sets PORT and URL, writes $work/NAME.kubeconfig
start() {
  local name=$1; shift
  ${PROPSIM_WRAPPER:-} "$PROPSIM" serve --listen 127.0.0.1:0 --write-kubeconfig "$work/$name.kubeconfig" "$@" \
    >"$work/$name.port" 2>"$work/$name.log" &
  pids+=($!)
  SERVER_PID=$!
  for _ in $(seq 100); do [ -s "$work/$name.port" ] && break; sleep 0.05; done
  PORT=$(head -1 "$work/$name.port")
  [ -n "$PORT" ] || { fail "server $name did not start: $(cat "$work/$name.log")"; return 1; }
}
count() { grep -o "$1" | wc -l | tr -d ' '; }

# ---------------------------------------------------------------------------------------------
# 1. kubectl against a generated cluster with CoreDNS and its params applied
cat >"$work/coredns.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: coredns
  namespace: kube-system
  labels: {k8s-app: kube-dns}
spec:
  replicas: 2
  selector:
    matchLabels: {k8s-app: kube-dns}
  template:
    metadata:
      labels: {k8s-app: kube-dns}
    spec:
      containers:
      - name: coredns
        image: registry.k8s.io/coredns/coredns:v1.11.1
        ports: [{containerPort: 53, name: dns, protocol: UDP}]
YAML
start main --nodes 20 --apply "$DATA/../../manifests/examples/coredns-autoscaler-params.yaml" || exit 1
URL=http://127.0.0.1:$PORT
export KUBECONFIG=$work/main.kubeconfig
out=$($KUBECTL get nodes 2>&1)
[ "$(grep -c '^node-pool-' <<<"$out")" = 20 ] || fail "kubectl get nodes: $out"
out=$($KUBECTL get configmap -n kube-system coredns-autoscaler -o yaml 2>&1)
grep -q 'linear: .*"coresPerReplica":256' <<<"$out" || fail "kubectl get configmap -o yaml: $out"
out=$($KUBECTL apply -f "$work/coredns.yaml" 2>&1)
grep -q 'deployment.apps/coredns created' <<<"$out" || fail "kubectl apply (create): $out"
out=$($KUBECTL -n kube-system scale deployment coredns --replicas=5 2>&1)
grep -q 'scaled' <<<"$out" || fail "kubectl scale: $out"
[ "$($KUBECTL -n kube-system get deploy coredns -o 'jsonpath={.spec.replicas}')" = 5 ] || fail "replicas after scale"
sed -i 's/v1.11.1/v1.11.3/' "$work/coredns.yaml"
out=$($KUBECTL apply -f "$work/coredns.yaml" 2>&1)
grep -q 'configured' <<<"$out" || fail "kubectl apply (update): $out"
out=$($KUBECTL -n kube-system get deploy coredns -o 'jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].name}')
[ "$out" = "registry.k8s.io/coredns/coredns:v1.11.3 dns" ] || fail "apply merged containers by name: $out"
out=$($KUBECTL -n kube-system get deploy coredns -o 'jsonpath={.metadata.generation}')
[ "$out" = 3 ] || fail "generation counts spec changes: $out"
check "kubectl delete" $KUBECTL -n kube-system delete configmap coredns-autoscaler
out=$($KUBECTL -n kube-system get configmap coredns-autoscaler 2>&1)
grep -q 'NotFound' <<<"$out" || fail "deleted configmap still there: $out"

# 2. Paging: a consistent snapshot across pages, even when objects change between pages
page1=$(curl -s "$URL/api/v1/nodes?limit=7")
rv1=$(grep -o '"metadata":{"resourceVersion":"[0-9]*"' <<<"$page1" | head -1 | grep -o '[0-9]*')
cont=$(grep -o '"continue":"[^"]*"' <<<"$page1" | cut -d'"' -f4)
[ "$(count '"kind":"Node"' <<<"$page1")" = 7 ] || fail "page 1 has 7 nodes"
grep -q '"remainingItemCount":13' <<<"$page1" || fail "remainingItemCount on page 1"
curl -s -X DELETE "$URL/api/v1/nodes/$(grep -o '"name":"node-pool-[^"]*"' <<<"$page1" | tail -1 | cut -d'"' -f4)" >/dev/null
lastname=$(curl -s "$URL/api/v1/nodes" | grep -o '"name":"node-pool-[^"]*"' | tail -1 | cut -d'"' -f4)
curl -s -X DELETE "$URL/api/v1/nodes/$lastname" >/dev/null # deleted after page 1: must still be listed
all=$page1
while [ -n "$cont" ]; do
  page=$(curl -s "$URL/api/v1/nodes?limit=7&continue=$cont")
  grep -q "\"resourceVersion\":\"$rv1\"" <<<"$page" || fail "pages share the snapshot's resourceVersion"
  all+=$page
  cont=$(grep -o '"continue":"[^"]*"' <<<"$page" | cut -d'"' -f4)
done
[ "$(grep -o '"name":"node-pool-[^"]*"' <<<"$all" | sort -u | wc -l)" = 20 ] || fail "pages cover all 20 nodes of the snapshot"
grep -q "\"name\":\"$lastname\"" <<<"$all" || fail "a node deleted after page 1 still appears in the snapshot"
[ "$(curl -s "$URL/api/v1/nodes" | count '"kind":"Node"')" = 18 ] || fail "a fresh list sees the deletions"
# a LIST is in (namespace, name) order, its objects as they are now: the order is kept between
# LISTs while no object comes or goes (an update keeps it, with the new object), redone otherwise
curl -s "$URL/api/v1/nodes" >/dev/null # (the order taken)
first=$(curl -s "$URL/api/v1/nodes" | grep -o '"name":"node-pool-[^"]*"' | head -1 | cut -d'"' -f4)
curl -s -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"annotations":{"order":"kept"}}}' "$URL/api/v1/nodes/$first" >/dev/null
l=$(curl -s "$URL/api/v1/nodes")
[ "$(grep -o '"name":"node-pool-[^"]*"' <<<"$l" | cut -d'"' -f4)" = "$(grep -o '"name":"node-pool-[^"]*"' <<<"$l" | cut -d'"' -f4 | LC_ALL=C sort)" ] &&
  grep -q '"order":"kept"' <<<"$l" || fail "after an update: the LIST in name order with the updated object"
curl -s -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"node-pool-0"}}' "$URL/api/v1/nodes" >/dev/null
curl -s -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"node-pool-zz"}}' "$URL/api/v1/nodes" >/dev/null
[ "$(curl -s "$URL/api/v1/nodes" | grep -o '"name":"node-pool-[^"]*"' | sed -n '1p;$p' | cut -d'"' -f4 | tr '\n' ' ')" = "node-pool-0 node-pool-zz " ] ||
  fail "after two creates: the new nodes first and last"
curl -s -X DELETE "$URL/api/v1/nodes/node-pool-0" >/dev/null
l=$(curl -s "$URL/api/v1/nodes?limit=5")
got=$(grep -o '"name":"node-pool-[^"]*"' <<<"$l" | cut -d'"' -f4)
cont=$(grep -o '"continue":"[^"]*"' <<<"$l" | cut -d'"' -f4)
while [ -n "$cont" ]; do
  l=$(curl -s "$URL/api/v1/nodes?limit=5&continue=$cont")
  got+=$'\n'$(grep -o '"name":"node-pool-[^"]*"' <<<"$l" | cut -d'"' -f4)
  cont=$(grep -o '"continue":"[^"]*"' <<<"$l" | cut -d'"' -f4)
done
[ "$got" = "$(LC_ALL=C sort <<<"$got")" ] && [ "$(head -1 <<<"$got")" = "$first" ] && [ "$(tail -1 <<<"$got")" = node-pool-zz ] &&
  [ "$(wc -l <<<"$got")" = 19 ] ||
  fail "after a delete: the pages in name order, the deleted node out: $(tr '\n' ' ' <<<"$got")"
curl -s -X DELETE "$URL/api/v1/nodes/node-pool-zz" >/dev/null
out=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/nodes?limit=5&continue=bogus")
[ "$out" = 400 ] || fail "malformed continue token -> 400 (got $out)"

# 3. Label selectors on LIST, and watch transitions
curl -s -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"dns":"yes"}}}' \
  "$URL/api/v1/nodes/$(curl -s "$URL/api/v1/nodes?limit=1" | grep -o '"name":"node-pool-[^"]*"' | head -1 | cut -d'"' -f4)" >/dev/null
[ "$(curl -s "$URL/api/v1/nodes?labelSelector=dns%3Dyes" | count '"kind":"Node"')" = 1 ] || fail "labelSelector on list"
[ "$(curl -s "$URL/api/v1/nodes?labelSelector=dns%21%3Dyes,topology.kubernetes.io%2Fzone" | count '"kind":"Node"')" = 17 ] || fail "!= and exists"
code=$(curl -s -o "$work/bad" -w '%{http_code}' "$URL/api/v1/nodes?labelSelector=a%20in%20()")
[ "$code" = 400 ] && grep -q '"kind":"Status"' "$work/bad" || fail "bad selector -> 400 Status ($code)"

# 4. Watch resume from a resourceVersion: exactly the events after it
rv=$(curl -s "$URL/api/v1/nodes?limit=1" | grep -o '"resourceVersion":"[0-9]*"' | head -1 | grep -o '[0-9]*')
curl -s -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"w1"}}' "$URL/api/v1/nodes" >/dev/null
curl -s -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"unschedulable":true}}' "$URL/api/v1/nodes/w1" >/dev/null
curl -s -X DELETE "$URL/api/v1/nodes/w1" >/dev/null
w=$(curl -sN "$URL/api/v1/nodes?watch=1&resourceVersion=$rv&timeoutSeconds=1")
# ADDED, the node lifecycle's not-ready taint (no Ready condition yet), the cordon, its
# unschedulable taint, DELETED
[ "$(grep -o '"type":"[A-Z]*"' <<<"$w" | tr '\n' ' ')" = '"type":"ADDED" "type":"MODIFIED" "type":"MODIFIED" "type":"MODIFIED" "type":"DELETED" ' ] ||
  fail "watch resume gives the 5 events after rv $rv: $w"
grep -q '"taints":\[{"key":"node.kubernetes.io/not-ready","effect":"NoSchedule"},{"key":"node.kubernetes.io/unschedulable","effect":"NoSchedule"}\]' <<<"$w" ||
  fail "the node lifecycle's taints on a cordoned node without a Ready condition: $w"
# NotReady through /status: tainted; Ready again: the taint goes
curl -s -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"w9"},"status":{"conditions":[{"type":"Ready","status":"True"}]}}' "$URL/api/v1/nodes" >/dev/null
ready() { curl -s -X PATCH -H 'Content-Type: application/strategic-merge-patch+json' -d "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"$1\"}]}}" "$URL/api/v1/nodes/w9/status" >/dev/null; }
taints() { curl -s "$URL/api/v1/nodes/w9" | grep -o '"taints":\[[^]]*\]'; }
[ -z "$(taints)" ] || fail "a Ready node carries no lifecycle taint: $(taints)"
ready False
[ "$(taints)" = '"taints":[{"key":"node.kubernetes.io/not-ready","effect":"NoSchedule"}]' ] || fail "NotReady: the not-ready taint: $(taints)"
ready Unknown
[ "$(taints)" = '"taints":[{"key":"node.kubernetes.io/unreachable","effect":"NoSchedule"}]' ] || fail "Unknown: the unreachable taint: $(taints)"
ready True
[ -z "$(taints)" ] || fail "Ready again: the taint goes: $(taints)"
curl -s -X DELETE "$URL/api/v1/nodes/w9" >/dev/null
# the same from a played trace: a NotReady node is tainted, a Ready one is not
printf '%s\n' '{"t":0,"type":"ADDED","object":{"kind":"Node","metadata":{"name":"ta"},"status":{"conditions":[{"type":"Ready","status":"False"}]}}}' \
  '{"t":0,"type":"ADDED","object":{"kind":"Node","metadata":{"name":"tb"},"status":{"conditions":[{"type":"Ready","status":"True"}]}}}' >"$work/lc.jsonl"
"$PROPSIM" serve --listen 127.0.0.1:0 --trace "$work/lc.jsonl" --speed 0 >"$work/lc.port" 2>/dev/null &
lp=$!
for _ in $(seq 100); do [ -s "$work/lc.port" ] && break; sleep 0.05; done
sleep 0.5
lc=$(curl -s "http://127.0.0.1:$(head -1 "$work/lc.port")/api/v1/nodes" | grep -o '"name":"t[ab]"\|"taints":[^]]*]' | tr '\n' ' ')
[ "$lc" = '"name":"ta" "taints":[{"key":"node.kubernetes.io/not-ready","effect":"NoSchedule"}] "name":"tb" ' ] ||
  fail "trace nodes: the lifecycle taints: $lc"
kill $lp; wait $lp 2>/dev/null
# a watch with a selector sees label transitions as ADDED/DELETED
rv=$(curl -s "$URL/api/v1/nodes?limit=1" | grep -o '"resourceVersion":"[0-9]*"' | head -1 | grep -o '[0-9]*')
curl -s -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"w2","labels":{"dns":"no"}}}' "$URL/api/v1/nodes" >/dev/null
curl -s -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"dns":"yes"}}}' "$URL/api/v1/nodes/w2" >/dev/null
curl -s -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"dns":null}}}' "$URL/api/v1/nodes/w2" >/dev/null
w=$(curl -sN "$URL/api/v1/nodes?watch=1&resourceVersion=$rv&timeoutSeconds=1&labelSelector=dns%3Dyes")
[ "$(grep -o '"type":"[A-Z]*"' <<<"$w" | tr '\n' ' ')" = '"type":"ADDED" "type":"DELETED" ' ] ||
  fail "selector watch: label gained -> ADDED, lost -> DELETED: $w"
# resourceVersion=0: synthetic ADDED for the current state
w=$(curl -sN "$URL/api/v1/nodes?watch=1&resourceVersion=0&timeoutSeconds=1")
[ "$(count '"type":"ADDED"' <<<"$w")" = 19 ] || fail "watch from rv 0 starts with the 19 current nodes"

# 5. 410: history compacted -> watch ERROR event with an Expired Status; continue token too old
curl -s "$URL/api/v1/nodes?limit=5" >"$work/p1"
cont=$(grep -o '"continue":"[^"]*"' "$work/p1" | cut -d'"' -f4)
curl -s -X POST "$URL/propsim/compact" >/dev/null
w=$(curl -sN "$URL/api/v1/nodes?watch=1&resourceVersion=$rv&timeoutSeconds=2")
grep -q '^{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: '"$rv"' ([0-9]*)","reason":"Expired","code":410}}$' <<<"$w" ||
  fail "410 ERROR event after compaction: $w"
code=$(curl -s -o "$work/gone" -w '%{http_code}' "$URL/api/v1/nodes?limit=5&continue=$cont")
[ "$code" = 410 ] && grep -q 'The provided continue parameter is too old' "$work/gone" || fail "expired continue -> 410 ($code)"
# ... carrying the inconsistent continuation: the rest of the list as it is now, after page 1's
# last item — every node once, in order, with page 1
inc=$(grep -o '"continue":"[^"]*"' "$work/gone" | cut -d'"' -f4)
[ -n "$inc" ] || fail "the 410 carries a continue token: $(cat "$work/gone")"
names=$(grep -o '"name":"node-pool-[^"]*"' "$work/p1")
page=$(curl -s "$URL/api/v1/nodes?limit=7&continue=$inc")
for _ in $(seq 10); do
  names="$names
$(grep -o '"name":"node-pool-[^"]*"' <<<"$page")"
  next=$(grep -o '"continue":"[^"]*"' <<<"$page" | cut -d'"' -f4)
  [ -n "$next" ] || break
  page=$(curl -s "$URL/api/v1/nodes?limit=7&continue=$next")
done
all=$(curl -s "$URL/api/v1/nodes" | grep -o '"name":"node-pool-[^"]*"')
[ "$(sed '/^$/d' <<<"$names")" = "$all" ] || fail "page 1 + the inconsistent continuation = the whole list, once, in order"

# 6. Bookmarks
start bm --nodes 2 --bookmark-interval 0.2 || exit 1
# kube-apiserver's cacher: one every interval until 2 s before the watch's deadline, then no more
w=$(curl -sN "http://127.0.0.1:$PORT/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=0&timeoutSeconds=3")
grep -q '{"type":"BOOKMARK","object":{"kind":"Node","apiVersion":"v1","metadata":{"resourceVersion":"[0-9]*"}}}' <<<"$w" ||
  fail "BOOKMARK events: $w"
n=$(count BOOKMARK <<<"$w")
[ "$n" -ge 3 ] && [ "$n" -le 7 ] || fail "bookmarks every 0.2 s for the 1 s before the deadline's last 2 s: $n"
w=$(curl -sN "http://127.0.0.1:$PORT/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=0&timeoutSeconds=2")
grep -q BOOKMARK <<<"$w" && fail "a watch of 2 s ends within the last 2 s: no bookmark, as kube-apiserver: $w"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
# the default cadence, kube-apiserver's: a minute, and one bookmark 2 s before the deadline
start bm60 --nodes 2 || exit 1
w=$(curl -sN "http://127.0.0.1:$PORT/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=0&timeoutSeconds=4")
[ "$(count BOOKMARK <<<"$w")" = 1 ] || fail "by default one bookmark in a 4 s watch (2 s before its end): $w"
w=$(curl -sN "http://127.0.0.1:$PORT/api/v1/nodes?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=1")
grep -q '"annotations":{"k8s.io/initial-events-end":"true"}' <<<"$w" || fail "initial-events-end bookmark: $w"
w=$(curl -sN "http://127.0.0.1:$PORT/api/v1/nodes?watch=1&resourceVersion=0&timeoutSeconds=1")
grep -q BOOKMARK <<<"$w" && fail "no bookmarks unless asked"

# 7. Scale subresource: GET, PUT with a stale resourceVersion -> 409, merge PATCH
S="$URL/apis/apps/v1/namespaces/kube-system/deployments/coredns/scale"
sc=$(curl -s "$S")
grep -q '"kind":"Scale","apiVersion":"autoscaling/v1"' <<<"$sc" && grep -q '"spec":{"replicas":2}' <<<"$sc" &&
  grep -q '"selector":"k8s-app=kube-dns"' <<<"$sc" || fail "GET scale: $sc"
srv=$(grep -o '"resourceVersion":"[0-9]*"' <<<"$sc" | grep -o '[0-9]*')
code=$(curl -s -o "$work/put" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
  -d "{\"kind\":\"Scale\",\"apiVersion\":\"autoscaling/v1\",\"metadata\":{\"name\":\"coredns\",\"namespace\":\"kube-system\",\"resourceVersion\":\"$srv\"},\"spec\":{\"replicas\":4}}" "$S")
[ "$code" = 200 ] && grep -q '"replicas":4' "$work/put" || fail "PUT scale ($code): $(cat "$work/put")"
code=$(curl -s -o "$work/put" -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
  -d "{\"kind\":\"Scale\",\"apiVersion\":\"autoscaling/v1\",\"metadata\":{\"name\":\"coredns\",\"namespace\":\"kube-system\",\"resourceVersion\":\"$srv\"},\"spec\":{\"replicas\":6}}" "$S")
[ "$code" = 409 ] && grep -q '"reason":"Conflict"' "$work/put" &&
  grep -q 'Operation cannot be fulfilled on deployments.apps \\"coredns\\": the object has been modified' "$work/put" || fail "stale PUT scale -> 409 ($code): $(cat "$work/put")"
code=$(curl -s -o "$work/patch" -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":3}}' "$S")
[ "$code" = 200 ] && [ "$($KUBECTL -n kube-system get deploy coredns -o 'jsonpath={.spec.replicas}')" = 3 ] || fail "PATCH scale ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"replicas":-1}}' "$S")
[ "$code" = 422 ] || fail "negative replicas -> 422 ($code)"

# 8. Errors are Status objects: 404, 409 AlreadyExists, 422, 405
code=$(curl -s -o "$work/e" -w '%{http_code}' "$URL/apis/apps/v1/namespaces/kube-system/deployments/nope")
[ "$code" = 404 ] && grep -q '"reason":"NotFound"' "$work/e" && grep -q 'deployments.apps \\"nope\\" not found' "$work/e" || fail "404 Status"
code=$(curl -s -o "$work/e" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"coredns"}}' "$URL/apis/apps/v1/namespaces/kube-system/deployments")
[ "$code" = 409 ] && grep -q '"reason":"AlreadyExists"' "$work/e" || fail "409 AlreadyExists ($code)"
code=$(curl -s -o "$work/e" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"Bad_Name"}}' "$URL/api/v1/namespaces/default/configmaps")
[ "$code" = 422 ] && grep -q '"reason":"Invalid"' "$work/e" || fail "422 Invalid ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/v1/widgets")
[ "$code" = 404 ] || fail "unknown resource -> 404"

# 9. Leases with optimistic concurrency; Events kept and listable
L="$URL/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
curl -s -X POST -H 'Content-Type: application/json' -d '{"metadata":{"name":"propscaler"},"spec":{"holderIdentity":"a","leaseDurationSeconds":15}}' "$L" >"$work/lease"
lrv=$(grep -o '"resourceVersion":"[0-9]*"' "$work/lease" | grep -o '[0-9]*')
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' -d "{\"metadata\":{\"name\":\"propscaler\",\"resourceVersion\":\"$lrv\"},\"spec\":{\"holderIdentity\":\"b\"}}" "$L/propscaler")
[ "$code" = 200 ] || fail "lease update with current rv ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' -d "{\"metadata\":{\"name\":\"propscaler\",\"resourceVersion\":\"$lrv\"},\"spec\":{\"holderIdentity\":\"c\"}}" "$L/propscaler")
[ "$code" = 409 ] || fail "lease update with stale rv -> 409 ($code)"
curl -s -X POST -H 'Content-Type: application/json' -d '{"metadata":{"generateName":"coredns."},"reason":"ScaledUp","message":"2 -> 3","involvedObject":{"kind":"Deployment","name":"coredns","namespace":"kube-system"}}' "$URL/api/v1/namespaces/kube-system/events" >/dev/null
out=$($KUBECTL -n kube-system get events -o 'jsonpath={.items[*].reason}' 2>&1)
[ "$out" = ScaledUp ] || fail "events are kept and listable: $out"
# events.k8s.io/v1: the same Events in the newer shape (what client-go's events recorder writes),
# written by kubectl, read back in both shapes
$KUBECTL -n kube-system create -f - >/dev/null 2>"$work/ev.err" <<'EV' || fail "kubectl create an events.k8s.io/v1 Event: $(cat "$work/ev.err")"
apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: coredns.v1ev}
eventTime: "2026-01-02T03:04:05.000001Z"
reportingController: propscaler.io/propscaler
reportingInstance: propscaler-0
action: Scale
reason: ScaledDown
regarding: {kind: Deployment, name: coredns, namespace: kube-system}
note: "3 -> 2"
type: Normal
EV
out=$($KUBECTL -n kube-system get events.v1.events.k8s.io --field-selector regarding.name=coredns -o 'jsonpath={range .items[*]}{.reason}:{.note};{end}' 2>&1)
[ "$out" = "ScaledUp:2 -> 3;ScaledDown:3 -> 2;" ] || fail "events.k8s.io/v1 lists both Events in its shape: $out"
out=$($KUBECTL -n kube-system get events coredns.v1ev -o 'jsonpath={.involvedObject.name}|{.message}|{.reportingComponent}|{.eventTime}' 2>&1)
[ "$out" = "coredns|3 -> 2|propscaler.io/propscaler|2026-01-02T03:04:05.000001Z" ] || fail "the events.k8s.io Event read as a core Event: $out"
out=$($KUBECTL -n kube-system get events -o wide --no-headers 2>&1 | grep coredns.v1ev | awk '{print $2, $3, $4, $5, $6}')
[ "$out" = "Normal ScaledDown deployment/coredns propscaler.io/propscaler, propscaler-0" ] || fail "kubectl get events -o wide: $out"

# 10. Request log and counters
stats=$(curl -s "$URL/propsim/stats")
grep -q '"writes":' <<<"$stats" && grep -q '"list":{' <<<"$stats" && grep -q '"watchStreams":' <<<"$stats" || fail "stats: $stats"
curl -s "$URL/propsim/requests" | grep -q 'PATCH /apis/apps/v1/namespaces/kube-system/deployments/coredns/scale -> 200' || fail "request log"

# 11. Trace playback, stepped on demand, seen by kubectl get -w
cat >"$work/trace.jsonl" <<'JSONL'
{"t":0,"type":"ADDED","object":{"kind":"Node","metadata":{"name":"t1"},"status":{"allocatable":{"cpu":"4"},"conditions":[{"type":"Ready","status":"True"}]}}}
{"t":0.1,"type":"ADDED","object":{"kind":"Node","metadata":{"name":"t2"},"status":{"allocatable":{"cpu":"4"}}}}
{"t":0.2,"type":"DELETED","object":{"kind":"Node","metadata":{"name":"t1"}}}
{"t":0.3,"type":"ADDED","object":{"kind":"ConfigMap","metadata":{"name":"cm","namespace":"kube-system"},"data":{"linear":"{}"}}}
{"t":0.4,"type":"ADDED","object":{"kind":"No
JSONL
start trace --trace "$work/trace.jsonl" --paused || exit 1
TURL=http://127.0.0.1:$PORT
KUBECONFIG=$work/trace.kubeconfig timeout 3 $KUBECTL get nodes -w --no-headers >"$work/watch.out" 2>&1 &
sleep 0.7
[ "$(curl -s "$TURL/api/v1/nodes" | count '"kind":"Node"')" = 0 ] || fail "paused trace applies nothing"
curl -s -X POST "$TURL/propsim/step?n=2" >/dev/null
sleep 0.3
[ "$(curl -s "$TURL/api/v1/nodes" | count '"kind":"Node"')" = 2 ] || fail "step 2 applies two events"
curl -s -X POST "$TURL/propsim/resume" >/dev/null
sleep 1
wait %% 2>/dev/null
grep -q '^t1 ' "$work/watch.out" && grep -q '^t2 ' "$work/watch.out" || fail "kubectl get nodes -w saw the trace: $(cat "$work/watch.out")"
[ "$(curl -s "$TURL/api/v1/nodes" | count '"kind":"Node"')" = 1 ] || fail "trace deleted t1"
curl -s "$TURL/api/v1/namespaces/kube-system/configmaps/cm" | grep -q '"linear":"{}"' || fail "trace ConfigMap applied"
grep -q 'trace.jsonl:5' "$work/trace.log" || fail "bad trace line reported with its line number: $(cat "$work/trace.log")"
curl -s "$TURL/propsim/stats" | grep -q '"traceDone":true' || fail "trace done"

# 12. Bearer token (401 without), HTTPS with a CA in the kubeconfig
certtool --generate-privkey --outfile "$work/key.pem" >/dev/null 2>&1
printf 'cn = propsim\nip_address = 127.0.0.1\ndns_name = localhost\nca\ntls_www_server\nsigning_key\nencryption_key\nexpiration_days = 2\n' >"$work/cert.tmpl"
certtool --generate-self-signed --load-privkey "$work/key.pem" --template "$work/cert.tmpl" --outfile "$work/cert.pem" >/dev/null 2>&1
start tls --nodes 3 --token s3cret --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" || exit 1
code=$(curl -s -o "$work/e" -w '%{http_code}' --cacert "$work/cert.pem" "https://127.0.0.1:$PORT/api/v1/nodes")
[ "$code" = 401 ] && grep -q '"reason":"Unauthorized"' "$work/e" || fail "no token -> 401 ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$work/cert.pem" -H 'Authorization: Bearer wrong' "https://127.0.0.1:$PORT/api/v1/nodes")
[ "$code" = 401 ] || fail "wrong token -> 401 ($code)"
[ "$(KUBECONFIG=$work/tls.kubeconfig $KUBECTL get nodes --no-headers 2>&1 | wc -l)" = 3 ] || fail "kubectl over HTTPS with token: $(KUBECONFIG=$work/tls.kubeconfig $KUBECTL get nodes 2>&1)"
code=$(curl -s -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT/api/v1/nodes" 2>/dev/null)
[ "$code" = 000 ] || fail "an unknown CA is refused by a verifying client"

# 13. Fault injection: 429 with Retry-After; watch streams cut after N events
start faults --nodes 4 --fail-rate 1 --fail-code 429 --retry-after 7 || exit 1
hdr=$(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/api/v1/nodes")
grep -q '^HTTP/1.1 429' <<<"$hdr" && grep -qi '^Retry-After: 7' <<<"$hdr" || fail "429 + Retry-After: $hdr"
curl -s "http://127.0.0.1:$PORT/propsim/stats" | grep -q '"errors":' || fail "control endpoints are not faulted"
# stop and resume: 503 while stopped, open watches end, serving again after start
start outage --nodes 3 || exit 1
OURL=http://127.0.0.1:$PORT
timeout 10 curl -sN "$OURL/api/v1/nodes?watch=1&resourceVersion=0" >"$work/outage.watch" &
wpid=$!
sleep 0.5
curl -s -X POST "$OURL/propsim/stop" >/dev/null
code=$(curl -s -o "$work/e" -w '%{http_code}' "$OURL/api/v1/nodes")
[ "$code" = 503 ] && grep -q '"reason":"ServiceUnavailable"' "$work/e" || fail "stopped API -> 503 ($code)"
wait $wpid
[ $? = 0 ] || fail "an open watch ends (cleanly) when the API stops"
curl -s -X POST "$OURL/propsim/start" >/dev/null
[ "$(curl -s "$OURL/api/v1/nodes" | count '"kind":"Node"')" = 3 ] || fail "serving again after start"
start cut --nodes 10 --cut-watch-events 3 || exit 1
w=$(timeout 5 curl -sN "http://127.0.0.1:$PORT/api/v1/nodes?watch=1&resourceVersion=0")
[ "$(count '"type":"ADDED"' <<<"$w")" = 3 ] || fail "watch cut after 3 events: $(count '"type"' <<<"$w")"

# 14. Pods and the scheduler: required hostname anti-affinity, spread vs most-requested,
#     cordons and taints, scale-down, garbage collection, eviction from a deleted node
dns_manifest() { # dns_manifest REPLICAS ANTI(required|preferred|none)
  local anti=""
  case $2 in
    required) anti='      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - labelSelector: {matchExpressions: [{key: k8s-app, operator: In, values: [kube-dns]}]}
            topologyKey: kubernetes.io/hostname' ;;
    preferred) anti='      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              labelSelector: {matchLabels: {k8s-app: kube-dns}}
              topologyKey: kubernetes.io/hostname' ;;
  esac
  cat <<YAML
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec:
  replicas: $1
  selector: {matchLabels: {k8s-app: kube-dns}}
  template:
    metadata: {labels: {k8s-app: kube-dns}}
    spec:
$anti
      containers: [{name: coredns, image: coredns, resources: {requests: {cpu: 100m}}}]
YAML
}
placement() { KUBECONFIG=$1 $KUBECTL -n kube-system get pods -o 'jsonpath={range .items[*]}{.status.phase}/{.spec.nodeName}{"\n"}{end}'; }
start sched --nodes 6 || exit 1
K=$work/sched.kubeconfig
dns_manifest 8 required >"$work/req.yaml"
KUBECONFIG=$K $KUBECTL apply -f "$work/req.yaml" >/dev/null 2>&1
p=$(placement "$K")
[ "$(grep -c '^Running/' <<<"$p")" = 6 ] && [ "$(grep '^Running/' <<<"$p" | sort -u | wc -l)" = 6 ] &&
  [ "$(grep -c '^Pending/$' <<<"$p")" = 2 ] || fail "required anti-affinity: 6 running on 6 distinct nodes, 2 pending: $p"
KUBECONFIG=$K $KUBECTL -n kube-system scale deploy coredns --replicas=3 >/dev/null 2>&1
[ "$(placement "$K" | wc -l)" = 3 ] || fail "scale down deletes pods"
KUBECONFIG=$K $KUBECTL -n kube-system delete deploy coredns >/dev/null 2>&1
[ "$(placement "$K" | grep -c .)" = 0 ] || fail "deleting the workload deletes its pods"
dns_manifest 12 none >"$work/none.yaml"
KUBECONFIG=$K $KUBECTL apply -f "$work/none.yaml" >/dev/null 2>&1
p=$(placement "$K" | sort | uniq -c | awk '{print $1}' | sort -u | tr '\n' ' ')
[ "$p" = "2 " ] || fail "spread: 12 pods on 6 nodes, 2 each (got counts: $p)"
# cordon and taint nodes: no new pod lands there
n1=$(curl -s "http://127.0.0.1:$PORT/api/v1/nodes?limit=2" | grep -o '"name":"node-pool-[^"]*"' | cut -d'"' -f4 | head -1)
n2=$(curl -s "http://127.0.0.1:$PORT/api/v1/nodes?limit=2" | grep -o '"name":"node-pool-[^"]*"' | cut -d'"' -f4 | sed -n 2p)
curl -s -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"unschedulable":true}}' "http://127.0.0.1:$PORT/api/v1/nodes/$n1" >/dev/null
curl -s -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"spec":{"taints":[{"key":"dedicated","value":"gpu","effect":"NoSchedule"}]}}' "http://127.0.0.1:$PORT/api/v1/nodes/$n2" >/dev/null
KUBECONFIG=$K $KUBECTL -n kube-system scale deploy coredns --replicas=24 >/dev/null 2>&1
p=$(placement "$K")
[ "$(grep -c "/$n1\$" <<<"$p")" = 2 ] && [ "$(grep -c "/$n2\$" <<<"$p")" = 2 ] ||
  fail "cordoned and tainted nodes get no new pods: $(sort <<<"$p" | uniq -c)"
# a deleted node's pods are replaced elsewhere
n3=$(grep '^Running/' <<<"$p" | grep -v "$n1\|$n2" | head -1 | cut -d/ -f2)
curl -s -X DELETE "http://127.0.0.1:$PORT/api/v1/nodes/$n3" >/dev/null
p=$(placement "$K")
[ "$(grep -c "/$n3\$" <<<"$p")" = 0 ] && [ "$(grep -c '^Running/' <<<"$p")" = 24 ] || fail "eviction from a deleted node: $(sort <<<"$p" | uniq -c)"
# most-requested bin-packing piles the pods onto one node (the field's hot-spot)
start pack --nodes 6 --scheduler most-requested || exit 1
KUBECONFIG=$work/pack.kubeconfig $KUBECTL apply -f "$work/none.yaml" >/dev/null 2>&1
p=$(placement "$work/pack.kubeconfig" | sort -u | wc -l)
[ "$p" = 1 ] || fail "most-requested piles 12 pods onto 1 node (got $p nodes)"
dns_manifest 12 preferred >"$work/pref.yaml"
KUBECONFIG=$work/pack.kubeconfig $KUBECTL -n kube-system delete deploy coredns >/dev/null 2>&1
KUBECONFIG=$work/pack.kubeconfig $KUBECTL apply -f "$work/pref.yaml" >/dev/null 2>&1
p=$(placement "$work/pack.kubeconfig" | sort | uniq -c | awk '{print $1}' | sort -u | tr '\n' ' ')
[ "$p" = "2 " ] || fail "preferred anti-affinity spreads even under most-requested (got counts: $p)"
out=$(KUBECONFIG=$work/pack.kubeconfig $KUBECTL get pods -A -l k8s-app=kube-dns --no-headers 2>&1 | wc -l)
[ "$out" = 12 ] || fail "pods list with a label selector via kubectl: $out"

# 15. SIGTERM: exit 0
start term --nodes 1 || exit 1
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
rc=$?
[ "$rc" = 0 ] || fail "SIGTERM -> exit 0 (got $rc)"

# numeric flags are checked, named and refused (exit 2) before anything starts
for bad in "--latency-ms abc" "--retry-after -1" "--cut-watch-events 1x" "--cut-watch-after nan" "--bookmark-interval ''"; do
  # shellcheck disable=SC2086
  out=$(eval "timeout 5 \"$PROPSIM\" serve $bad --listen 127.0.0.1:0" 2>&1)
  rc=$?
  flag=${bad%% *}
  [ "$rc" = 2 ] && grep -q "^propsim serve: $flag: expected a number" <<<"$out" || fail "serve $bad -> exit 2 naming the flag (rc=$rc: $out)"
done

# Safe by default: not on the network without a token; the kubeconfig (it may hold the token) 0600
out=$("$PROPSIM" serve --listen 0.0.0.0:0 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q 'is not a loopback address: give --token' <<<"$out" || fail "serve on 0.0.0.0 without --token: rc=$rc: $out"
"$PROPSIM" serve --listen 127.0.0.1:0 --token sekret --write-kubeconfig "$work/perm.kc" >"$work/perm.port" 2>/dev/null &
pp=$!
for _ in $(seq 100); do [ -s "$work/perm.port" ] && break; sleep 0.05; done
[ "$(stat -c %a "$work/perm.kc")" = 600 ] || fail "--write-kubeconfig mode $(stat -c %a "$work/perm.kc"), want 600"
# --token alone serves HTTPS (kubectl never sends a token over http) with a generated certificate
# whose CA the kubeconfig carries: kubectl verifies it and is served, a wrong token is not
grep -q '^    server: https://127.0.0.1:' "$work/perm.kc" && grep -q 'certificate-authority-data: ' "$work/perm.kc" ||
  fail "--token: an https kubeconfig with the CA: $(cat "$work/perm.kc")"
kubectl --kubeconfig "$work/perm.kc" get --raw /api/v1/namespaces/kube-system >/dev/null 2>"$work/perm.err" ||
  fail "--token: kubectl over the generated certificate: $(cat "$work/perm.err")"
kubectl --kubeconfig "$work/perm.kc" --token wrong get --raw /api/v1/nodes >/dev/null 2>&1 && fail "--token: a wrong token is served"
# ServiceAccounts and TokenRequest: the Python client asks for a token (JSON; kubectl create token
# sends protobuf, which propsim serve answers 415), and kubectl is served with it
printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: propscaler}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: propscaler, namespace: propscaler}\n' |
  kubectl --kubeconfig "$work/perm.kc" apply -f - >/dev/null 2>"$work/sa.err" || fail "a ServiceAccount applied: $(cat "$work/sa.err")"
satok=$(/usr/bin/python3 - "$work/perm.kc" 2>&1 <<'PYEOF2'
import sys
from kubernetes import client, config
config.load_kube_config(sys.argv[1])
tr = client.AuthenticationV1TokenRequest(spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600))
print(client.CoreV1Api().create_namespaced_service_account_token("propscaler", "propscaler", tr).status.token)
PYEOF2
)
case $satok in propsim-sa-*) ;; *) fail "TokenRequest through the Python client: $satok" ;; esac
kubectl --kubeconfig "$work/perm.kc" --token "$satok" get --raw /api/v1/nodes >/dev/null 2>&1 || fail "kubectl with the ServiceAccount's token"
code=$(curl -sk -o "$work/tr" -w '%{http_code}' -X POST -H "Authorization: Bearer sekret" -H 'Content-Type: application/json' \
  -d '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":60}}' \
  "https://127.0.0.1:$(head -1 "$work/perm.port")/api/v1/namespaces/propscaler/serviceaccounts/propscaler/token")
[ "$code" = 422 ] && grep -q 'may not specify a duration less than 10 minutes' "$work/tr" || fail "TokenRequest under 10 minutes -> 422: $code $(cat "$work/tr")"
code=$(curl -sk -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer sekret" -H 'Content-Type: application/json' -d '{}' \
  "https://127.0.0.1:$(head -1 "$work/perm.port")/api/v1/namespaces/propscaler/serviceaccounts/nope/token")
[ "$code" = 404 ] || fail "TokenRequest for a missing ServiceAccount -> 404 ($code)"
kill $pp; wait $pp 2>/dev/null
# a watch from a resourceVersion the server has not reached is held open without events or bookmarks
"$PROPSIM" serve --listen 127.0.0.1:0 --nodes 3 --bookmark-interval 0.2 >"$work/fut.port" 2>/dev/null &
fp=$!
for _ in $(seq 100); do [ -s "$work/fut.port" ] && break; sleep 0.05; done
out=$(curl -s -m 2 "http://127.0.0.1:$(head -1 "$work/fut.port")/api/v1/nodes?watch=1&allowWatchBookmarks=true&resourceVersion=999999&timeoutSeconds=1")
[ -z "$out" ] || fail "a watch from a future resourceVersion answered: $out"
kill $fp; wait $fp 2>/dev/null
# boolean query parameters as kube-apiserver reads them: only false/0 are false (watch=True watches)
"$PROPSIM" serve --listen 127.0.0.1:0 --nodes 2 >"$work/bool.port" 2>/dev/null &
bp=$!
for _ in $(seq 100); do [ -s "$work/bool.port" ] && break; sleep 0.05; done
BURL="http://127.0.0.1:$(head -1 "$work/bool.port")/api/v1/nodes"
for v in True true 1 TRUE; do
  out=$(curl -s -m 2 "$BURL?watch=$v&timeoutSeconds=1" | head -c 200)
  grep -q '"type":"ADDED"' <<<"$out" || fail "watch=$v is a watch (got: $out)"
done
for v in false False 0; do
  out=$(curl -s -m 2 "$BURL?watch=$v" | head -c 200)
  grep -q '"kind":"NodeList"' <<<"$out" || fail "watch=$v is a list (got: $out)"
done
kill $bp; wait $bp 2>/dev/null

# a Deployment's pods belong to its ReplicaSet (DEPLOYMENT-HASH, owned by the Deployment), as the
# deployment controller makes them; scaled with it; deleted with it
start rs --nodes 3 --apply "$DATA/../../manifests/examples/coredns-deployment.yaml"
export KUBECONFIG=$work/rs.kubeconfig
rsname=$($KUBECTL -n kube-system get rs -o jsonpath='{.items[0].metadata.name}' 2>/dev/null)
[[ "$rsname" =~ ^coredns-[bcdfghjklmnpqrstvwxz2456789]+$ ]] || fail "a ReplicaSet coredns-HASH: '$rsname'"
[ "$($KUBECTL -n kube-system get rs "$rsname" -o jsonpath='{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}')" = Deployment/coredns ] ||
  fail "the ReplicaSet is owned by the Deployment"
owners=$($KUBECTL -n kube-system get pods -o jsonpath='{range .items[*]}{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {end}')
[ "$owners" = "ReplicaSet/$rsname " ] || fail "the pod is the ReplicaSet's (the example leaves replicas to the autoscaler: 1): $owners"
$KUBECTL -n kube-system scale deployment coredns --replicas 3 >/dev/null
[ "$($KUBECTL -n kube-system get rs "$rsname" -o jsonpath='{.spec.replicas}/{.status.readyReplicas}')" = 3/3 ] || fail "the ReplicaSet follows the scale"
$KUBECTL -n kube-system delete deployment coredns >/dev/null
[ -z "$($KUBECTL -n kube-system get rs,pods -o name 2>/dev/null)" ] || fail "deleting the Deployment deletes its ReplicaSet and pods"
unset KUBECONFIG
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null

# a graceful stop (/propsim/drain), as kube-apiserver's termination: new requests 503, the open
# watch keeps streaming the trace's events for the drain's seconds, then ends; /propsim/start ends it
for i in $(seq 0 30); do
  printf '{"t":%s,"type":"ADDED","object":{"kind":"Node","apiVersion":"v1","metadata":{"name":"d%02d"},"status":{"allocatable":{"cpu":"2"}}}}\n' \
    "$(echo "$i * 0.2" | bc)" "$i"
done >"$work/drain.jsonl"
start drain --trace "$work/drain.jsonl"
DURL=http://127.0.0.1:$PORT
t0=$(date +%s.%N)
curl -sN -m 8 "$DURL/api/v1/nodes?watch=1&resourceVersion=0" >"$work/drain.watch" &
wpid=$!
sleep 0.6
curl -s -X POST "$DURL/propsim/drain?seconds=1.5" >/dev/null
before=$(grep -c '"type":"ADDED"' "$work/drain.watch")
code=$(curl -s -o "$work/drain.get" -w '%{http_code}' "$DURL/api/v1/nodes")
[ "$code" = 503 ] && grep -q 'shutting down' "$work/drain.get" || fail "a new request while draining -> 503 ($code)"
wait $wpid
took=$(echo "$(date +%s.%N) - $t0" | bc)
after=$(grep -c '"type":"ADDED"' "$work/drain.watch")
[ "$after" -ge $((before + 4)) ] || fail "the open watch kept streaming while draining: $before events before, $after after"
awk -v t="$took" 'BEGIN { exit !(t < 4) }' || fail "the watch ended when the drain did (took ${took}s)"
curl -s -X POST "$DURL/propsim/start" >/dev/null
[ "$(curl -s -o /dev/null -w '%{http_code}' "$DURL/api/v1/nodes")" = 200 ] || fail "serving again after /propsim/start"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null

# bodies over 4 KiB are chunked (no Content-Length), as kube-apiserver's; small ones are not
start chunk --nodes 30
hdr=$(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/api/v1/nodes")
grep -qi '^transfer-encoding: chunked' <<<"$hdr" && ! grep -qi '^content-length' <<<"$hdr" || fail "a large LIST is chunked: $hdr"
hdr=$(curl -s -D - -o /dev/null "http://127.0.0.1:$PORT/api/v1/namespaces/kube-system")
grep -qi '^content-length' <<<"$hdr" || fail "a small answer has a Content-Length: $hdr"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null

# a client closing its watch is normal: nothing in the server's log (libmicrohttpd's "Failed to
# send the chunked response body ... no longer available" was printed for each)
start quiet --nodes 5 --bookmark-interval 0.2
KUBECONFIG=$work/quiet.kubeconfig timeout 1 $KUBECTL get nodes -w >/dev/null 2>&1
curl -s -m 0.5 "http://127.0.0.1:$PORT/api/v1/nodes?watch=1&allowWatchBookmarks=true" >/dev/null 2>&1
sleep 1 # the next bookmarks find the connections closed
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null
! grep -q 'Failed to send\|no longer available' "$work/quiet.log" || fail "closed watches leave noise in the log: $(head -2 "$work/quiet.log")"

# 1,000 watchers without a thread each: every one gets the updates, the server's threads stay few
# (a pool of 8, the parking thread, the main one: idle watches are parked, not given a thread)
watchers=1000
[ "$(ulimit -n)" -ge 1200 ] || ulimit -n "$(($(ulimit -Hn) < 4096 ? $(ulimit -Hn) : 4096))" 2>/dev/null || true
[ "$(ulimit -n)" -ge 1200 ] || watchers=$(($(ulimit -n) - 100))
start crowd --nodes 20
read -r threads parked took <<<"$(python3 "$(dirname "$0")/../bench/serveclient.py" watch "http://127.0.0.1:$PORT" "$watchers" 3 "$SERVER_PID")"
[ "$parked" = "$watchers" ] || fail "$watchers open watches are parked: $parked"
[ "${threads:-999}" -le 16 ] || fail "$watchers watchers, the server's threads stay few: $threads"
[[ "$took" != incomplete* ]] || fail "every one of $watchers watchers gets all 3 updates: $took"
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null

# 15. A resources patch of a Deployment's pod template is a rollout: every pod restarts (new
#     names, as the new ReplicaSet's); a replicas change keeps the running pods (what a vertical
#     policy costs, visible live: propscaler --targets-file's resize, in test_servers)
start rollout --nodes 4
export KUBECONFIG=$work/rollout.kubeconfig
cat >"$work/ms.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: metrics-server, namespace: kube-system}
spec:
  replicas: 2
  selector: {matchLabels: {k8s-app: metrics-server}}
  template:
    metadata: {labels: {k8s-app: metrics-server}}
    spec:
      containers:
      - {name: metrics-server, image: ms, resources: {requests: {cpu: 40m, memory: 40Mi}}}
YAML
kubectl apply -f "$work/ms.yaml" >/dev/null || fail "apply metrics-server"
ms_pods() { kubectl -n kube-system get pods -l k8s-app=metrics-server -o name | sort | tr '\n' ' '; }
before=$(ms_pods)
kubectl -n kube-system scale deployment metrics-server --replicas 3 >/dev/null
scaled=$(ms_pods)
for p in $before; do grep -q "$p" <<<"$scaled" || fail "a replicas change restarted $p: $before -> $scaled"; done
[ "$(wc -w <<<"$scaled")" = 3 ] || fail "scaled to 3: $scaled"
kubectl -n kube-system patch deployment metrics-server --type=strategic \
  -p '{"spec":{"template":{"spec":{"containers":[{"name":"metrics-server","resources":{"requests":{"memory":"64Mi"}}}]}}}}' >/dev/null
after=$(ms_pods)
[ "$(wc -w <<<"$after")" = 3 ] || fail "after the resize: $after"
for p in $scaled; do grep -q "$p" <<<"$after" && fail "the resize left $p running: $scaled -> $after"; done
[ "$(kubectl -n kube-system get pod "$(cut -d' ' -f1 <<<"$after" | cut -d/ -f2)" -o jsonpath='{.spec.containers[0].resources.requests.memory}')" = 64Mi ] ||
  fail "the new pods do not carry the new resources"
kubectl -n kube-system get rs -o name | grep -c metrics-server | grep -qx 1 || fail "the old ReplicaSet remains: $(kubectl -n kube-system get rs -o name)"
unset KUBECONFIG
kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null

echo "test_serve: $fails failure(s)"
[ "$fails" -eq 0 ]
