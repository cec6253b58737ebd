#!/usr/bin/env bash
# propscaler's command line against the arguments of real CPA manifests, unchanged.
set -u
PROPSCALER=$1
PROPSIM=$2
DATA=$3
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# The args of the first container whose command/args list CPA flags: "- --flag=value" lines.
manifest_args() {
  sed -n 's/^[[:space:]]*- \(--[a-z_-]*=.*\)$/\1/p' "$1" | sed 's/^\(--[a-z_-]*=\)"\(.*\)"$/\1\2/'
}

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for m in dns-horizontal-autoscaler__dns-horizontal-autoscaler.yaml admin__dns__dns-horizontal-autoscaler.yaml \
         examples__linear.yaml examples__ladder.yaml examples__linear-defaultparams.yaml; do
  mapfile -t args < <(manifest_args "$DATA/manifests/$m")
  [ "${#args[@]}" -ge 3 ] || { fail "$m: found only ${#args[@]} args"; continue; }
  # templated targets (<SCALE_TARGET>, {{.Target}}) get a concrete value, as a user would
  for i in "${!args[@]}"; do
    case "${args[$i]}" in --target=\<*|--target=\{*) args[$i]=--target=deployment/coredns ;; esac
  done
  # an emulated cluster holding what the manifest holds (plus the CoreDNS target of the addon manifests)
  printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: coredns, namespace: kube-system}\nspec: {replicas: 1}\n' >"$work/coredns.yaml"
  "$PROPSIM" serve --listen 127.0.0.1:0 --nodes 20 --apply "$DATA/manifests/$m" --apply "$work/coredns.yaml" \
    --write-kubeconfig "$work/kc" >"$work/port" 2>"$work/serve.log" &
  spid=$!
  for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
  # the manifest's arguments, unchanged; where the manifest relies on $MY_POD_NAMESPACE, set it
  KUBECONFIG=$work/kc MY_POD_NAMESPACE=kube-system ${PROPSIM_WRAPPER:-} "$PROPSCALER" "${args[@]}" --metrics-addr 127.0.0.1:0 \
    >"$work/out" 2>"$work/log" &
  ppid=$!
  sleep 1.5
  if ! kill -0 "$ppid" 2>/dev/null; then
    wait "$ppid"; fail "$m: propscaler exited ($?): $(tail -3 "$work/log")"
  else
    kill -TERM "$ppid"; wait "$ppid"; rc=$?
    [ "$rc" = 0 ] || fail "$m: SIGTERM exit $rc"
    grep -q 'propscaler .*: scaling 1 target(s)' "$work/log" || fail "$m: did not start: $(head -3 "$work/log")"
  fi
  kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null
done

# CPA's own ladder example passes "includeUnschedulableNodes":"true" (a string): CPA's flag
# parsing accepts it, creates the ConfigMap, and then fails to parse it on every poll. propscaler
# refuses it at startup instead (DIVERGENCES.md), with CPA's parse message, and creates nothing.
dp=$(manifest_args "$DATA/manifests/examples__ladder-defaultparams.yaml" | sed -n 's/^--default-params=//p')
out=$("$PROPSIM" eval --params "$dp" --nodes 3 --cores 3 2>&1)
rc=$?
[ "$rc" = 2 ] && grep -qF 'json: cannot unmarshal string into Go struct field ladderParams.includeUnschedulableNodes of type bool' <<<"$out" ||
  fail "ladder-defaultparams example: exit $rc: $out"
out=$("$PROPSCALER" --target=deployment/x --configmap=cm --namespace=ns "--default-params=$dp" 2>&1); rc=$?
[ "$rc" = 2 ] && grep -qF -- '--default-params: not valid params: ' <<<"$out" &&
  grep -qF 'ladderParams.includeUnschedulableNodes of type bool' <<<"$out" ||
  fail "ladder-defaultparams example at startup: exit $rc: $out"

# flag errors exit 2 and say what to fix
check_err() {
  local want=$1; shift
  out=$(${PROPSIM_WRAPPER:-} "$PROPSCALER" "$@" 2>&1); rc=$?
  [ "$rc" = 2 ] && grep -qF -- "$want" <<<"$out" || fail "propscaler $*: exit $rc: $out (wanted '$want')"
}
check_err '--target is required' --configmap=cm --namespace=ns
check_err 'unsupported kind "pod"' --target=pod/x --configmap=cm --namespace=ns
check_err '--default-params: unexpected end of JSON input' --target=deployment/x --configmap=cm --namespace=ns '--default-params={"linear":'
check_err 'unknown flag: --nosuch' --nosuch
check_err '--poll-period-seconds: expected an integer from 1' --poll-period-seconds=0
out=$(env -u KUBECONFIG -u KUBERNETES_SERVICE_HOST "$PROPSCALER" --target=deployment/x --configmap=cm --namespace=ns 2>&1); rc=$?
[ "$rc" = 2 ] && grep -q 'not running in a cluster' <<<"$out" || fail "no kubeconfig, not in a cluster: exit $rc: $out"

out=$("$PROPSCALER" --version); [ $? = 0 ] && grep -q '^propscaler ' <<<"$out" || fail "--version: $out"
out=$("$PROPSCALER" --help); [ $? = 0 ] && grep -q -- '--default-params' <<<"$out" || fail "--help"

echo "test_propscaler: $fails failure(s)"
[ "$fails" -eq 0 ]
