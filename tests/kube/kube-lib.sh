# A real API server on loopback for the tests (sourced by bash scripts): etcd 3.4 and a
# kube-apiserver built by build-apiserver.sh; HTTPS with a self-signed serving certificate, a
# static token file (admin in system:masters), RBAC, service-account signing keys (TokenRequest
# works), no endpoint reconciler.
#   kube_up BIN_DIR WORK_DIR     -> KUBE_URL, KUBE_KC (admin kubeconfig), KUBE_TOKEN, KUBE_CA
#   kube_client_kubeconfig FILE USER GROUP [CA]
#                                a kubeconfig authenticating with a client certificate (inline
#                                -data fields) signed by the server's client CA, or by CA (a
#                                prefix: CA.crt, CA.key) to make one the server does not trust
#   kube_restart_apiserver       kube-apiserver alone, same port and etcd: its watch cache starts
#                                anew (older resourceVersions answer 410), the data stays
#   kube_down                    stops both
# Logs: WORK_DIR/etcd.log, WORK_DIR/apiserver.log.

kube_write_kubeconfig() { # FILE URL CA TOKEN: a kubeconfig (mode 0600) for a bearer token
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters: [{name: real, cluster: {server: "$2", certificate-authority: "$3"}}]
users: [{name: user, user: {token: "$4"}}]
contexts: [{name: real, context: {cluster: real, user: user}}]
current-context: real
KC
  chmod 600 "$1"
}

kube_make_ca() { # PREFIX: PREFIX.crt and PREFIX.key, a CA for client certificates
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.crt" -days 3 \
    -subj "/CN=propscaler-test-client-ca-$RANDOM" 2>/dev/null
}

kube_client_kubeconfig() { # FILE USER GROUP [CA_PREFIX]
  local ca=${4:-$KUBE_WORK/client-ca}
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/O=$3/CN=$2" \
    2>/dev/null &&
    openssl x509 -req -in "$1.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial -days 2 -out "$1.crt" 2>/dev/null ||
    return 1
  cat >"$1" <<KC
apiVersion: v1
kind: Config
clusters: [{name: real, cluster: {server: "$KUBE_URL", certificate-authority-data: "$(base64 -w0 "$KUBE_CA")"}}]
users: [{name: user, user: {client-certificate-data: "$(base64 -w0 "$1.crt")", client-key-data: "$(base64 -w0 "$1.key")"}}]
contexts: [{name: real, context: {cluster: real, user: user}}]
current-context: real
KC
  chmod 600 "$1"
}

kube_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

kube_start_apiserver() {
  "$KUBE_BIN/kube-apiserver" --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$KUBE_PORT" \
    --insecure-port 0 --etcd-servers "$KUBE_ETCD" --tls-cert-file "$KUBE_WORK/serving.crt" \
    --tls-private-key-file "$KUBE_WORK/serving.key" --token-auth-file "$KUBE_WORK/tokens.csv" \
    --client-ca-file "$KUBE_WORK/client-ca.crt" \
    --authorization-mode RBAC --service-account-key-file "$KUBE_WORK/sa.pub" \
    --service-account-signing-key-file "$KUBE_WORK/sa.key" --service-account-issuer https://kubernetes.default.svc \
    --api-audiences https://kubernetes.default.svc --endpoint-reconciler-type none \
    --service-cluster-ip-range 10.96.0.0/24 --cert-dir "$KUBE_WORK/certs" --enable-priority-and-fairness=false \
    --disable-admission-plugins ServiceAccount --profiling=false >>"$KUBE_WORK/apiserver.log" 2>&1 &
  KUBE_APISERVER_PID=$!
  local _
  for _ in $(seq 600); do
    if [ "$(curl -s --cacert "$KUBE_CA" -H "Authorization: Bearer $KUBE_TOKEN" "$KUBE_URL/readyz" 2>/dev/null)" = ok ]; then
      return 0
    fi
    kill -0 "$KUBE_APISERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "kube-apiserver did not become ready; its log ends:" >&2
  tail -20 "$KUBE_WORK/apiserver.log" >&2
  return 1
}

kube_up() {
  KUBE_BIN=$1
  mkdir -p "$2"
  KUBE_WORK=$(cd "$2" && pwd)
  if [ ! -f "$KUBE_WORK/serving.crt" ]; then
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$KUBE_WORK/serving.key" -out "$KUBE_WORK/serving.crt" -days 3 \
      -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null || return 1
    openssl genrsa -out "$KUBE_WORK/sa.key" 2048 2>/dev/null
    openssl rsa -in "$KUBE_WORK/sa.key" -pubout -out "$KUBE_WORK/sa.pub" 2>/dev/null
    head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$KUBE_WORK/token"
    echo "$(cat "$KUBE_WORK/token"),admin,admin-uid,\"system:masters\"" >"$KUBE_WORK/tokens.csv"
    kube_make_ca "$KUBE_WORK/client-ca" || return 1
  fi
  KUBE_CA=$KUBE_WORK/serving.crt
  KUBE_TOKEN=$(cat "$KUBE_WORK/token")
  local etcd_port etcd_peer
  etcd_port=$(kube_free_port)
  etcd_peer=$(kube_free_port)
  KUBE_ETCD=http://127.0.0.1:$etcd_port
  etcd --data-dir "$KUBE_WORK/etcd" --listen-client-urls "$KUBE_ETCD" --advertise-client-urls "$KUBE_ETCD" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "default=http://127.0.0.1:$etcd_peer" --quota-backend-bytes 4294967296 >"$KUBE_WORK/etcd.log" 2>&1 &
  KUBE_ETCD_PID=$!
  KUBE_PORT=$(kube_free_port)
  KUBE_URL=https://127.0.0.1:$KUBE_PORT
  KUBE_KC=$KUBE_WORK/admin.kc
  kube_write_kubeconfig "$KUBE_KC" "$KUBE_URL" "$KUBE_CA" "$KUBE_TOKEN"
  kube_start_apiserver
}

kube_restart_apiserver() {
  kill "$KUBE_APISERVER_PID" 2>/dev/null
  wait "$KUBE_APISERVER_PID" 2>/dev/null
  kube_start_apiserver
}

kube_down() {
  kill "$KUBE_APISERVER_PID" "$KUBE_ETCD_PID" 2>/dev/null
  wait "$KUBE_APISERVER_PID" "$KUBE_ETCD_PID" 2>/dev/null
}
