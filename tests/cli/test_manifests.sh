#!/usr/bin/env bash
# The kustomize base renders, is hardened as documented, starts propscaler with its own args, and
# its RBAC covers every API request propscaler makes (least privilege, checked against the
# emulator's request log).
set -u
PROPSCALER=$1
PROPSIM=$2
ROOT=$(cd "$3" && pwd)
KUBECTL=${KUBECTL:-kubectl}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# check_rbac RULES: every request the emulator logged maps to one of RULES (verb:resource[:name])
check_rbac() {
  local allowed=$1
  curl -s "$URL/propsim/requests" >"$work/requests"
  while read -r method path _; do
    case "$path" in /propsim/*|/version*|/api|/apis*/v1|/openapi*) continue ;; esac
    p=${path%%\?*}
    verb=""
    case "$method" in
      GET) case "$path" in *watch=1*) verb=watch ;; *) verb=get ;; esac ;;
      POST) verb=create ;; PUT) verb=update ;; PATCH) verb=patch ;; DELETE) verb=delete ;;
    esac
    res=$(sed -E 's#^/(api|apis/[^/]+)/v1/(namespaces/[^/]+/)?##' <<<"$p")
    name=""
    case "$res" in */scale) name=$(cut -d/ -f2 <<<"$res"); res="$(cut -d/ -f1 <<<"$res")/scale" ;; */*) name=${res#*/}; res=${res%%/*} ;; esac
    if [ "$verb" = get ] && [ -z "$name" ]; then verb=list; fi
    fs=$(grep -o 'fieldSelector=metadata.name%3D[^&]*' <<<"$path" | sed 's/.*%3D//')
    [ -n "$fs" ] && name=$fs
    ok=0
    for rule in $allowed; do
      [ "$rule" = "$verb:$res" ] && ok=1
      [ -n "$name" ] && [ "$rule" = "$verb:$res:$name" ] && ok=1
    done
    # the test's own requests: the DELETE above, its polling of the Deployment, its look at the pods
    [ "$method $path" = "GET /api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dmetrics-server" ] && continue
    [ "$method $p" = "DELETE /api/v1/namespaces/kube-system/configmaps/coredns-autoscaler" ] && ok=1
    [ "$method $path" = "GET /apis/apps/v1/namespaces/kube-system/deployments/coredns" ] && [ "$ok" = 0 ] && ok=1
    [ "$ok" = 1 ] || fail "request not covered by RBAC: $method $path ($verb $res $name)"
  done < <(sed 's/ -> .*//' "$work/requests")
}

$KUBECTL kustomize "$ROOT/manifests" >"$work/all.yaml" 2>"$work/err" || { echo "FAIL: kubectl kustomize: $(cat "$work/err")"; exit 1; }
kinds=$(grep '^kind:' "$work/all.yaml" | sort | tr '\n' ' ')
# no ConfigMap: applying the manifests again must never replace tuned params (--default-params
# creates it only when absent); no Namespace: it runs in kube-system, as CPA's addon does
[ "$kinds" = "kind: ClusterRole kind: ClusterRoleBinding kind: Deployment kind: PodDisruptionBudget kind: Role kind: RoleBinding kind: Service kind: ServiceAccount " ] ||
  fail "rendered kinds: $kinds"
# hardening, the same in every overlay: kinds, names, RBAC scope, securityContext
check_rendered() { # check_rendered FILE WHAT TARGET CONFIGMAP NAMESPACE
  local f=$1 what=$2
  for want in 'runAsNonRoot: true' 'readOnlyRootFilesystem: true' 'allowPrivilegeEscalation: false' '- ALL' \
              'type: RuntimeDefault' 'replicas: 2' '- --leader-elect' 'path: /healthz' 'path: /readyz' 'minAvailable: 1' \
              'topologyKey: kubernetes.io/hostname' 'priorityClassName: system-cluster-critical' \
              "- --target=$3" "- --configmap=$4" "- --namespace=$5" "- $4" 'prometheus.io/scrape: "true"'; do
    grep -qF -- "$want" "$f" || fail "$what lacks: $want"
  done
  # every namespaced object of propscaler itself in kube-system (its Role: in the target's namespace)
  awk '/^kind:/{k=$2} /^  namespace:/{print k, $2}' "$f" | while read -r k ns; do
    case "$k:$ns" in Role:"$5"|RoleBinding:"$5"|*:kube-system) ;; *) fail "$what: $k in namespace $ns" ;; esac
  done
  # cluster-wide only nodes, read-only; pods only with components/hot-spots
  python3 - "$f" "$what" <<'PYEOF2' || fail "$what: RBAC scope"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
for d in docs:
    if d["kind"] == "ClusterRole" and not d["metadata"]["name"].startswith("propscaler-node-guard"):
        assert d["rules"] == [{"apiGroups": [""], "resources": ["nodes"], "verbs": ["list", "watch"]}], d["rules"]
    if d["kind"] == "Role":
        for r in d["rules"]:
            assert "*" not in r["verbs"] and "*" not in r["resources"], r
            if "pods" in r["resources"]:
                assert d["metadata"]["name"].startswith("propscaler-pods"), d["metadata"]["name"]
PYEOF2
}
check_rendered "$work/all.yaml" "manifests/" deployment/coredns coredns-autoscaler kube-system
grep -q -- '- --pod-watch=false' "$work/all.yaml" && ! grep -q -- '- pods' "$work/all.yaml" ||
  fail "the base has no pod watch and no RBAC on pods"
for o in "coredns deployment/coredns coredns-autoscaler kube-system" "kube-dns deployment/kube-dns kube-dns-autoscaler kube-system" \
         "metrics-server deployment/metrics-server metrics-server-autoscaler kube-system" \
         "any-deployment deployment/my-addon my-addon-autoscaler my-namespace"; do
  set -- $o
  $KUBECTL kustomize "$ROOT/manifests/overlays/$1" >"$work/o-$1.yaml" 2>"$work/err" || { fail "kubectl kustomize overlays/$1: $(cat "$work/err")"; continue; }
  check_rendered "$work/o-$1.yaml" "overlays/$1" "$2" "$3" "$4"
  # the Lease it elects with (propscaler-CONFIGMAP) is the one its Role names
  grep -qF -- "- propscaler-$3" "$work/o-$1.yaml" || fail "overlays/$1: the Role does not name its Lease propscaler-$3"
done
# two add-ons side by side: distinct names and selectors
grep -q '^  name: propscaler-kube-dns$' "$work/o-kube-dns.yaml" && grep -q '^  name: propscaler-metrics-server$' "$work/o-metrics-server.yaml" &&
  grep -q '^      app.kubernetes.io/instance: metrics-server$' "$work/o-metrics-server.yaml" || fail "overlays have their own names and selectors"
# the optional components render on the base
mkdir -p "$work/k"
rel=$(python3 -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$ROOT/manifests" "$work/k") # kustomize takes no absolute paths
printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [%s/base]\ncomponents: [%s/components/hot-spots, %s/components/podmonitor]\n' \
  "$rel" "$rel" "$rel" >"$work/k/kustomization.yaml"
$KUBECTL kustomize --load-restrictor LoadRestrictionsNone "$work/k" >"$work/hs.yaml" 2>"$work/err" || fail "components: $(cat "$work/err")"
grep -q 'kind: PodMonitor' "$work/hs.yaml" && grep -q -- '- --pod-watch=true' "$work/hs.yaml" && grep -q -- '- pods' "$work/hs.yaml" ||
  fail "components/hot-spots and podmonitor"
check_rendered "$work/hs.yaml" "components" deployment/coredns coredns-autoscaler kube-system
# the CoreDNS params (the example ConfigMap, and the Deployment's --default-params) give CPA's answer
out=$("$PROPSIM" eval --configmap "$ROOT/manifests/examples/coredns-autoscaler-params.yaml" --nodes 100 --cores 400 --output json)
grep -q '"replicas":7' <<<"$out" || fail "params ConfigMap: $out"

# start propscaler with the Deployment's own args against the emulator, with the manifests applied
mapfile -t args < <(sed -n '/^        args:/,/^        env:/p' "$ROOT/manifests/base/deployment.yaml" | sed -n 's/^        - //p')
[ "${#args[@]}" -ge 6 ] || fail "could not read the Deployment's args"
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: coredns, namespace: kube-system}\nspec: {replicas: 1}\n' >"$work/coredns.yaml"
"$PROPSIM" serve --listen 127.0.0.1:0 --nodes 40 --no-pods --apply "$work/all.yaml" --apply "$work/coredns.yaml" \
  --write-kubeconfig "$work/kc" >"$work/port" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(head -1 "$work/port")
# the emulated cluster has no ConfigMap yet if we delete it: exercise --default-params creation too
curl -s -o /dev/null -X DELETE "$URL/api/v1/namespaces/kube-system/configmaps/coredns-autoscaler"
args=("${args[@]/--metrics-addr=:8080/--metrics-addr=127.0.0.1:0}")
KUBECONFIG=$work/kc HOSTNAME=propscaler-abc "$PROPSCALER" "${args[@]}" >"$work/out" 2>"$work/log" &
ppid=$!
for _ in $(seq 100); do
  r=$(curl -s "$URL/apis/apps/v1/namespaces/kube-system/deployments/coredns" | grep -o '"replicas":[0-9]*' | head -1 | cut -d: -f2)
  [ "$r" = 3 ] && break
  sleep 0.1
done
[ "$r" = 3 ] || fail "propscaler with the Deployment's args scales CoreDNS to 3 (got $r): $(tail -3 "$work/log")"
kill -TERM $ppid; wait $ppid

# every request maps to an RBAC rule of base/rbac.yaml (mirrored here as verb:resource[:name])
allowed=" list:nodes watch:nodes get:configmaps:coredns-autoscaler list:configmaps:coredns-autoscaler
 watch:configmaps:coredns-autoscaler create:configmaps get:deployments/scale:coredns update:deployments/scale:coredns
 get:leases:propscaler-coredns-autoscaler update:leases:propscaler-coredns-autoscaler create:leases create:events patch:events
 get:deployments:coredns "
for rule in $allowed; do
  verb=${rule%%:*}; rest=${rule#*:}; res=${rest%%:*}
  awk -v r="${res%%/*}" -v v="$verb" 'BEGIN{f=0} /resources:/{inres=1} /- / && inres && index($0,r){f=1} END{exit !f}' "$work/all.yaml" ||
    fail "RBAC rule for $verb $res missing from the rendered manifests"
done
check_rbac "$allowed"

# Several add-ons from one propscaler (overlays/addons: --targets-file from a generated ConfigMap):
# it renders with the targets file mounted, runs with its own args against the emulator (CoreDNS
# scaled from its params ConfigMap, metrics-server's resources sized and its pods restarted once),
# and its RBAC — patch on metrics-server alone — covers every request.
$KUBECTL kustomize "$ROOT/manifests/overlays/addons" >"$work/addons.yaml" 2>"$work/err" || fail "kubectl kustomize overlays/addons: $(cat "$work/err")"
for want in '- --targets-file=/etc/propscaler/targets.yaml' 'mountPath: /etc/propscaler' 'readOnly: true' \
            '- --leader-elect-resource-name=propscaler-addons' 'runAsNonRoot: true' 'readOnlyRootFilesystem: true'; do
  grep -qF -- "$want" "$work/addons.yaml" || fail "overlays/addons lacks: $want"
done
python3 - "$work/addons.yaml" "$work/targets.yaml" <<'PYEOF2' || fail "overlays/addons: RBAC or targets ConfigMap"
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
role = [d for d in docs if d["kind"] == "Role"][0]
patch = [r for r in role["rules"] if "patch" in r["verbs"] and "deployments" in r["resources"]]
assert patch == [{"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["metrics-server"], "verbs": ["patch"]}], patch
for r in role["rules"]:
    assert "*" not in r["verbs"] and "*" not in r["resources"], r
    if r["verbs"] != ["create"] and r["resources"] != ["events"]:
        assert r.get("resourceNames"), r  # every rule but create and Events is narrowed to names
cm = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("propscaler-targets")][0]
dep = [d for d in docs if d["kind"] == "Deployment"][0]
assert dep["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"] == cm["metadata"]["name"]
open(sys.argv[2], "w").write(cm["data"]["targets.yaml"])
PYEOF2
mapfile -t args < <(sed -n '/^        args:/,/^        env:/p' <(python3 -c "
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d['kind'] == 'Deployment':
        print('        args:'); [print('        - ' + a) for a in d['spec']['template']['spec']['containers'][0]['args']]; print('        env:')" "$work/addons.yaml") | sed -n 's/^        - //p')
args=("${args[@]/--metrics-addr=:8080/--metrics-addr=127.0.0.1:0}")
args=("${args[@]/--targets-file=\/etc\/propscaler\/targets.yaml/--targets-file=$work/targets.yaml}")
grep -q -- "--targets-file=$work/targets.yaml" <<<"${args[*]}" || fail "could not read the addons Deployment's args: ${args[*]}"
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
      containers: [{name: metrics-server, image: ms, resources: {requests: {cpu: 40m, memory: 40Mi}}}]
YAML
kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null
"$PROPSIM" serve --listen 127.0.0.1:0 --nodes 40 --apply "$work/addons.yaml" --apply "$work/coredns.yaml" --apply "$work/ms.yaml" \
  --apply "$ROOT/manifests/examples/coredns-autoscaler-params.yaml" --write-kubeconfig "$work/kc" >"$work/port" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(head -1 "$work/port")
pods_before=$(curl -s "$URL/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dmetrics-server" | grep -o '"name":"metrics-server-[^"]*"' | sort -u)
KUBECONFIG=$work/kc HOSTNAME=propscaler-addons-abc "$PROPSCALER" "${args[@]}" >"$work/aout" 2>"$work/alog" &
ppid=$!
for _ in $(seq 100); do
  mem=$(curl -s "$URL/apis/apps/v1/namespaces/kube-system/deployments/metrics-server" | grep -o '"memory":"[^"]*"' | head -1)
  r=$(curl -s "$URL/apis/apps/v1/namespaces/kube-system/deployments/coredns" | grep -o '"replicas":[0-9]*' | head -1 | cut -d: -f2)
  [ "$mem" = '"memory":"256Mi"' ] && [ "$r" = 3 ] && break
  sleep 0.1
done
# 40 nodes of 4 cores: CoreDNS max(ceil(160/256), ceil(40/16)) = 3; metrics-server sized for 54 nodes
# (addon-resizer's exponential estimator: 16, 24, 36, 54): 40Mi + 4Mi x 54 = 256Mi
[ "$r" = 3 ] || fail "overlays/addons: CoreDNS at $r replicas, want 3: $(tail -3 "$work/alog")"
[ "$mem" = '"memory":"256Mi"' ] || fail "overlays/addons: metrics-server memory $mem, want 256Mi: $(tail -3 "$work/alog")"
pods_after=$(curl -s "$URL/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dmetrics-server" | grep -o '"name":"metrics-server-[^"]*"' | sort -u)
[ -n "$pods_after" ] && [ "$pods_after" != "$pods_before" ] || fail "overlays/addons: metrics-server's pods not restarted by the resize"
kill -TERM $ppid; wait $ppid
check_rbac "list:nodes watch:nodes get:configmaps:coredns-autoscaler list:configmaps:coredns-autoscaler
 watch:configmaps:coredns-autoscaler get:deployments/scale:coredns update:deployments/scale:coredns
 get:deployments:coredns get:deployments:metrics-server patch:deployments:metrics-server
 get:leases:propscaler-addons update:leases:propscaler-addons create:leases create:events patch:events"

# The node guard overlay (overlays/node-guard = base + components/node-guard): it renders, its
# Deployment runs the webhook with a self-managed certificate, and its RBAC covers the ledger,
# the shared Secret, the ValidatingWebhookConfiguration's caBundle and the Events on Nodes.
$KUBECTL kustomize "$ROOT/manifests/overlays/node-guard" >"$work/ng.yaml" 2>"$work/err" || fail "kubectl kustomize overlays/node-guard: $(cat "$work/err")"
for want in 'kind: ValidatingWebhookConfiguration' 'kind: Service' 'failurePolicy: Ignore' 'sideEffects: NoneOnDryRun' \
            '- --node-guard' '- --webhook-self-signed' 'containerPort: 8443' 'path: /validate-node-removal' \
            '- nodeclaims' '- machines' '- propscaler-node-removals' '- propscaler-node-guard-tls' \
            '- validatingwebhookconfigurations' '- secrets'; do
  grep -qF -- "$want" "$work/ng.yaml" || fail "overlays/node-guard lacks: $want"
done
mapfile -t args < <(sed -n '/^      - args:/,/^        env:/p' "$work/ng.yaml" | sed -n 's/^        - //p')
grep -q -- '--node-guard' <<<"${args[*]}" || fail "could not read the node guard Deployment's args"
args=("${args[@]/--metrics-addr=:8080/--metrics-addr=127.0.0.1:0}")
args=("${args[@]/--webhook-addr=:8443/--webhook-addr=127.0.0.1:0}")
kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null
"$PROPSIM" serve --listen 127.0.0.1:0 --nodes 40 --no-pods --apply "$work/ng.yaml" --apply "$work/coredns.yaml" \
  --write-kubeconfig "$work/kc" >"$work/port" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(head -1 "$work/port")
KUBECONFIG=$work/kc HOSTNAME=propscaler-ng "$PROPSCALER" "${args[@]}" >"$work/ngout" 2>"$work/nglog" &
ppid=$!
bundle=
for _ in $(seq 100); do
  bundle=$(curl -s "$URL/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/propscaler-node-guard" | grep -o '"caBundle":"[^"]*"')
  [ -n "$bundle" ] && break
  sleep 0.1
done
[ -n "$bundle" ] || fail "the node guard sets its caBundle: $(grep node-guard "$work/nglog" | tail -3)"
HOOK=$(grep -o 'webhook on https://[0-9.]*:[0-9]*' "$work/nglog" | head -1 | cut -d' ' -f3)
node=$(curl -s "$URL/api/v1/nodes" | grep -o '"name":"node-pool-[^"]*"' | head -1 | cut -d'"' -f4)
r=$(curl -sk -X POST -H 'Content-Type: application/json' "$HOOK/validate-node-removal" \
  -d "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":{\"uid\":\"1\",\"operation\":\"DELETE\",\"name\":\"$node\",\"resource\":{\"resource\":\"nodes\"},\"oldObject\":{\"metadata\":{\"name\":\"$node\",\"uid\":\"u1\"}}}}")
grep -q '"allowed":true' <<<"$r" || fail "the node guard admits a removal within the budget: $r"
sleep 0.5
kill -TERM $ppid; wait $ppid
check_rbac "$allowed get:configmaps:propscaler-node-removals update:configmaps:propscaler-node-removals
 get:secrets:propscaler-node-guard-tls update:secrets:propscaler-node-guard-tls create:secrets
 get:validatingwebhookconfigurations:propscaler-node-guard update:validatingwebhookconfigurations:propscaler-node-guard"
grep -q 'POST /api/v1/namespaces/default/events' "$work/requests" || fail "an Event on the Node (in default)"

echo "test_manifests: $fails failure(s)"
[ "$fails" -eq 0 ]
