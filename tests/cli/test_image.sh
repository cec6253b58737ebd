#!/usr/bin/env bash
# The OCI image built by `make image` (manifests/image/build.sh): unpacked with umoci, it holds
# propscaler and its libraries only (no propsim, no shell, no package manager), runs as 65532,
# and its own propscaler, run in a chroot as that user, scales CoreDNS against `propsim serve`.
# usage: tests/cli/test_image.sh IMAGE_DIR PROPSIM   (root: chroot)
set -u
img=$(cd "$1" && pwd)
PROPSIM=$2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

tag=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"])' "$img/oci/index.json")
# the archive is the layout: unpack it as a user of the image would
mkdir -p "$work/layout"
tar -C "$work/layout" -xf "$img/propscaler-image.tar"
umoci unpack --image "$work/layout:$tag" "$work/bundle" >/dev/null || { echo "FAIL: umoci unpack"; exit 1; }
rootfs=$work/bundle/rootfs
python3 - "$work/bundle/config.json" <<'PYEOF' || fail "image config: user, entrypoint, port"
import json, sys
c = json.load(open(sys.argv[1]))
p = c["process"]
assert p["user"]["uid"] == 65532 and p["user"]["gid"] == 65532, p["user"]
assert p["args"][0] == "/usr/local/bin/propscaler", p["args"]
PYEOF
[ -x "$rootfs/usr/local/bin/propscaler" ] || fail "no propscaler in the image"
for absent in usr/local/bin/propsim bin/sh usr/bin/apt usr/bin/dpkg usr/share/doc; do
  [ -e "$rootfs/$absent" ] && fail "the image holds $absent"
done
size=$(du -sm "$rootfs" | cut -f1)
[ "$size" -le 40 ] || fail "the image's root filesystem is $size MB"
# every library resolves inside the image
ld=$(ls "$rootfs"/lib64/ld-linux-* 2>/dev/null | head -1)
out=$(chroot "$rootfs" "/lib64/$(basename "$ld")" --list /usr/local/bin/propscaler 2>&1)
grep -q 'not found' <<<"$out" && fail "missing libraries in the image: $out"
out=$(chroot --userspec=65532:65532 "$rootfs" /usr/local/bin/propscaler --version 2>&1) &&
  grep -q '^propscaler [0-9.]*$' <<<"$out" || fail "propscaler --version in the image: $out"

# against the emulator, as the non-root user, with the base Deployment's args
cat >"$work/coredns.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: coredns, namespace: kube-system}
spec: {replicas: 1}
YAML
"$PROPSIM" serve --listen 127.0.0.1:0 --no-pods --nodes 40 --apply "$work/coredns.yaml" --write-kubeconfig "$rootfs/tmp/kc" \
  >"$work/port" 2>"$work/serve.log" &
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(head -1 "$work/port")
chown 65532 "$rootfs/tmp/kc"
chroot --userspec=65532:65532 "$rootfs" /usr/local/bin/propscaler --kubeconfig /tmp/kc --namespace kube-system \
  --configmap coredns-autoscaler --target deployment/coredns --metrics-addr 127.0.0.1:0 \
  '--default-params={"linear":{"coresPerReplica":256,"nodesPerReplica":16,"preventSinglePointFailure":true}}' \
  --leader-elect --pod-watch=false >"$work/ps.out" 2>"$work/ps.log" &
r=
for _ in $(seq 100); do
  r=$(curl -s "$URL/apis/apps/v1/namespaces/kube-system/deployments/coredns" | grep -o '"replicas":[0-9]*' | head -1 | cut -d: -f2)
  [ "$r" = 3 ] && break
  sleep 0.1
done
[ "$r" = 3 ] || fail "the image's propscaler scales CoreDNS to 3 (got $r): $(tail -3 "$work/ps.log")"
echo "test_image: $fails failure(s)"
[ "$fails" -eq 0 ]
