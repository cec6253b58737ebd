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
# one TLS library in the process: libcurl's GnuTLS flavour, as the webhook server (libmicrohttpd)
# and the certificate checks use (OpenSSL's libssl beside it cost ~1.3 MB resident; pemfile.h)
libs=$(ldd "$PROPSCALER")
grep -q 'libcurl-gnutls\.so' <<<"$libs" && ! grep -q 'libssl\.so' <<<"$libs" ||
  fail "propscaler should link libcurl's GnuTLS flavour and no libssl (install libcurl4-gnutls-dev): $(grep -E 'curl|ssl' <<<"$libs" | tr -s ' \t\n' ' ')"
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

check_err '--nodelabels: "role in (a" is not a valid label selector' --target=deployment/x --configmap=cm --namespace=ns '--nodelabels=role in (a'
check_err '--foreign-writer-backoff: expected a duration' --target=deployment/x --configmap=cm --namespace=ns --foreign-writer-backoff=soon
check_err '--cache-check-period: expected a duration from 0 to 24h' --target=deployment/x --configmap=cm --namespace=ns --cache-check-period=often
check_err '--max-response-size: expected a size from 64Ki to 1Gi' --target=deployment/x --configmap=cm --namespace=ns --max-response-size=10
check_err '--default-params: not valid params: ' --target=deployment/x --configmap=cm --namespace=ns '--default-params={"linear":{"nodesPerReplica":1,"min":-1}}'

# Credentials that cannot work are startup errors naming the field (exit 2), not per-request failures.
certtool --generate-privkey --outfile "$work/key.pem" >/dev/null 2>&1
certtool --generate-privkey --outfile "$work/key2.pem" >/dev/null 2>&1
printf 'cn = "t"\nexpiration_days = 2\n' >"$work/t"
certtool --generate-self-signed --load-privkey "$work/key.pem" --template "$work/t" --outfile "$work/cert.pem" >/dev/null 2>&1
b64() { base64 -w0 "$1"; }
kc() { # kc FILE CLUSTER-EXTRA USER-EXTRA [SERVER]
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${4:-https://127.0.0.1:6443}" $2}}]
users: [{name: u, user: {$3}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
EOF
}
echo 'not a certificate' >"$work/junk.pem"
mkdir -p "$work/cadir"
check_kc() { # check_kc WANT CLUSTER-EXTRA USER-EXTRA [SERVER]
  kc "$work/bad.kc" "$2" "$3" "${4:-}"
  check_err "$1" --kubeconfig "$work/bad.kc" --target=deployment/x --configmap=cm --namespace=ns --metrics-addr 127.0.0.1:0
}
check_kc 'certificate-authority holds no PEM certificate' ", certificate-authority: $work/junk.pem" 'token: t'
check_kc 'is not a regular file (it is a directory)' ", certificate-authority: $work/cadir" 'token: t'
check_kc 'certificate-authority holds no PEM certificate' ", certificate-authority-data: $(printf 'hello' | base64)" 'token: t'
check_kc 'client-certificate and client-key do not match' ", certificate-authority: $work/cert.pem" "client-certificate-data: $(b64 "$work/cert.pem"), client-key-data: $(b64 "$work/key2.pem")"
check_kc 'do not parse as a PEM certificate and key' ", certificate-authority: $work/cert.pem" "client-certificate: $work/junk.pem, client-key: $work/key.pem"
check_kc "tokenFile $work/missing: No such file or directory" '' "tokenFile: $work/missing"
check_kc 'has no host' '' 'token: t' 'https://'
check_kc 'insecure-skip-tls-verify must be true or false, got "yes please"' ', insecure-skip-tls-verify: "yes please"' 'token: t'
# a matching pair and a real CA pass the checks (the process then starts; stop it at once)
kc "$work/good.kc" ", certificate-authority: $work/cert.pem" "client-certificate: $work/cert.pem, client-key: $work/key.pem"
timeout -s TERM 1 "$PROPSCALER" --kubeconfig "$work/good.kc" --target=deployment/x --configmap=cm --namespace=ns \
  --metrics-addr 127.0.0.1:0 >/dev/null 2>"$work/good.log"
grep -q 'scaling 1 target' "$work/good.log" || fail "valid credentials refused: $(head -2 "$work/good.log")"
# a busy or malformed --metrics-addr: exit 2 with the kernel's reason (propsim serve holds the port)
"$PROPSIM" serve --listen 127.0.0.1:0 >"$work/busy.port" 2>/dev/null &
busy=$!
for _ in $(seq 100); do [ -s "$work/busy.port" ] && break; sleep 0.05; done
kc "$work/tok.kc" '' 'token: t' 'http://127.0.0.1:1'
check_err "--metrics-addr: cannot listen on 127.0.0.1:$(head -1 "$work/busy.port"): Address already in use" \
  --kubeconfig "$work/tok.kc" --target=deployment/x --configmap=cm --namespace=ns --metrics-addr "127.0.0.1:$(head -1 "$work/busy.port")"
kill $busy
check_err '--metrics-addr: "300.1.1.1" is not an IPv4 address' --kubeconfig "$work/tok.kc" --target=deployment/x \
  --configmap=cm --namespace=ns --metrics-addr 300.1.1.1:80
# a bearer token to a plain http:// server is warned about
timeout -s TERM 1 "$PROPSCALER" --kubeconfig "$work/tok.kc" --target=deployment/x --configmap=cm --namespace=ns \
  --metrics-addr 127.0.0.1:0 >/dev/null 2>"$work/tok.log"
grep -q 'plain http://: the bearer token is sent unencrypted' "$work/tok.log" || fail "no warning for a token over http://"

out=$("$PROPSCALER" --version); [ $? = 0 ] && grep -q '^propscaler ' <<<"$out" || fail "--version: $out"
out=$("$PROPSCALER" --help); [ $? = 0 ] && grep -q -- '--default-params' <<<"$out" || fail "--help"

echo "test_propscaler: $fails failure(s)"
[ "$fails" -eq 0 ]
