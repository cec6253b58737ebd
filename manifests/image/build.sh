#!/usr/bin/env bash
# Build propscaler's OCI image without a Docker engine, from Debian packages:
#   mmdebstrap extracts only the packages propscaler's shared libraries come from (found with ldd
#   and dpkg, their dependencies resolved by apt), umoci packs the root filesystem as one layer
#   with a non-root user (65532), and the OCI layout is archived (podman load, skopeo copy
#   oci-archive:...). propsim, the emulator, is not in it. Prints the manifest digest.
# usage: manifests/image/build.sh OUT_DIR [SUITE]   (root; needs mmdebstrap and umoci)
set -euo pipefail
out=$(mkdir -p "$1" && cd "$1" && pwd)
suite=${2:-bookworm}
root=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/^project(propscaler VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# 1. propscaler alone, optimised and stripped
cmake -S "$root" -B "$out/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out/build" -j"$(nproc)" --target propscaler >/dev/null
install -D -m 0755 "$out/build/propscaler" "$work/propscaler"
strip "$work/propscaler"

# 2. the Debian packages its libraries come from (their dependencies follow through apt)
pkgs=$(ldd "$work/propscaler" | awk '$3 ~ /^\// {print $3}' | while read -r lib; do
  real=$(readlink -f "$lib")
  for p in "$lib" "$real" "${lib#/usr}" "/usr$lib" "${real#/usr}" "/usr$real"; do
    dpkg -S "$p" 2>/dev/null && break
  done
done | cut -d: -f1 | sort -u | paste -sd, -)
[ -n "$pkgs" ] || { echo "build.sh: could not map propscaler's libraries to packages" >&2; exit 1; }
echo "image: packages $pkgs" >&2
mmdebstrap --quiet --variant=extract --include="$pkgs" "$suite" "$work/rootfs" >&2

# 3. what it needs besides: the binary, a non-root user, the CA bundle, a writable /tmp; none of
#    the packages' documentation, locales or gconv modules
rm -rf "$work/rootfs"/usr/share/{doc,man,info,locale,lintian,bug,common-licenses} "$work/rootfs"/var/cache/* \
       "$work/rootfs"/var/lib/apt "$work/rootfs"/usr/lib/*/gconv "$work/rootfs"/dev/* 2>/dev/null || true
install -D -m 0755 "$work/propscaler" "$work/rootfs/usr/local/bin/propscaler"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$work/rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$work/rootfs/etc/group"
install -d -m 0755 -o 65532 -g 65532 "$work/rootfs/home/nonroot"
install -d -m 1777 "$work/rootfs/tmp"
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$work/rootfs/etc/ssl/certs/ca-certificates.crt"
find "$work/rootfs" -newermt "@$SOURCE_DATE_EPOCH" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} + 2>/dev/null || true

# 4. one layer, the runtime config, the archive
rm -rf "$out/oci"
umoci init --layout "$out/oci"
umoci new --image "$out/oci:$version"
umoci unpack --image "$out/oci:$version" "$work/bundle" >/dev/null
rm -rf "$work/bundle/rootfs"
mv "$work/rootfs" "$work/bundle/rootfs"
umoci repack --image "$out/oci:$version" "$work/bundle"
umoci config --image "$out/oci:$version" --config.user=65532:65532 --config.workingdir=/ \
  --config.entrypoint=/usr/local/bin/propscaler --config.exposedports=8080/tcp \
  --config.env=PATH=/usr/local/bin:/usr/bin:/bin --config.env=SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --config.label=org.opencontainers.image.title=propscaler \
  --config.label=org.opencontainers.image.version="$version" \
  --config.label=org.opencontainers.image.description="sizes cluster add-ons in proportion to the cluster"
umoci gc --layout "$out/oci"
tar -C "$out/oci" --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner -cf "$out/propscaler-image.tar" .
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$out/oci/index.json")
echo "$digest" >"$out/digest"
echo "image: $out/propscaler-image.tar (OCI layout, tag $version), manifest $digest, $(du -h "$out/propscaler-image.tar" | cut -f1)" >&2
echo "$digest"
