#!/usr/bin/env bash
# propsim serve held to a real kube-apiserver, request by request (ctest label "servers", "kube"):
#   test_differential.sh PROPSIM [BIN_DIR]
# Both servers get the same scripted requests (tests/kube/differential.py); every difference must
# be listed, with its reason, in tests/kube/known-differences.tsv, which docs/EMULATOR.md explains.
set -u
PROPSIM=$1
KUBE_BIN_DIR=${2:-${PROPSCALER_KUBE_BIN:-/var/cache/propscaler-kube/bin}}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
serve_pid=
cleanup() { [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; kube_down; wait 2>/dev/null; [ -n "${KEEP_WORK:-}" ] && echo "work: $work" >&2 || rm -rf "$work"; }
trap cleanup EXIT
# shellcheck source=../kube/kube-lib.sh
. "$ROOT/tests/kube/kube-lib.sh"
[ -x "$KUBE_BIN_DIR/kube-apiserver" ] || { echo "test_differential: no kube-apiserver in '$KUBE_BIN_DIR': build it with 'make kube-apiserver'"; exit 1; }
kube_up "$KUBE_BIN_DIR" "$work/kube" || { echo "test_differential: the real API server did not start"; exit 1; }

openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/tls.key" -out "$work/tls.crt" -days 2 \
  -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$PROPSIM" serve --listen 127.0.0.1:0 --no-pods --tls-cert "$work/tls.crt" --tls-key "$work/tls.key" --token "$token" \
  >"$work/serve.port" 2>"$work/serve.log" &
serve_pid=$!
for _ in $(seq 100); do [ -s "$work/serve.port" ] && break; sleep 0.05; done
python3 "$ROOT/tests/kube/differential.py" --real "$KUBE_URL" "$KUBE_TOKEN" "$KUBE_CA" \
  --emulator "https://127.0.0.1:$(head -1 "$work/serve.port")" "$token" "$work/tls.crt" \
  --known "$ROOT/tests/kube/known-differences.tsv"
