#!/usr/bin/env bash
# Build a real kube-apiserver (and find etcd) from Debian's packages, once, into a cache folder:
#   tests/kube/build-apiserver.sh [CACHE_DIR]      (default /var/cache/propscaler-kube)
# Prints the cache folder's bin/ on success; does nothing when the build is already there.
#
# What it takes (all Debian packages): the `kubernetes` source package 1.20.5+really1.20.2 (its
# orig tarball carries vendor/; only its source, from deb-src lists kept in the cache folder, so
# the machine's apt sources are left alone), golang-go 1.19, etcd-server 3.4, and
# golang-github-modern-go-reflect2-dev. Facts that make it build with Go 1.19:
#   - the vendored modern-go/reflect2 (1.0.1) crashes on Go >= 1.18: Debian's 1.0.2 replaces it;
#   - the tarball lacks pkg/generated/openapi/zz_generated.openapi.go: the vendored openapi-gen
#     makes it from the packages tagged +k8s:openapi-gen (the inputs upstream's Makefile gives it);
#   - it builds in GOPATH mode (GO111MODULE=off) with the tree at $GOPATH/src/k8s.io/kubernetes.
# About 7 minutes on 2 cores, ~2 GB of Go build cache (kept in the cache folder).
set -euo pipefail
cache=${1:-/var/cache/propscaler-kube}
version=1.20.2
stamp=$cache/bin/.built-$version
if [ -x "$cache/bin/kube-apiserver" ] && [ -f "$stamp" ] && command -v etcd >/dev/null; then
  echo "$cache/bin"
  exit 0
fi
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
log() { echo "build-apiserver: $*" >&2; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
need=()
for p in golang-go etcd-server golang-github-modern-go-reflect2-dev dpkg-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
  log "installing ${need[*]}"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# The source package, through apt lists of our own with a deb-src entry.
src=$cache/src
if [ ! -d "$src/kubernetes-$version" ]; then
  log "fetching Debian's kubernetes source package"
  apt_dir=$cache/apt
  mkdir -p "$apt_dir/lists/partial" "$src"
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  cat >"$apt_dir/src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $codename
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  aptopts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt_dir" -o "Dir::State::Lists=$apt_dir/lists")
  apt-get "${aptopts[@]}" update -qq
  (cd "$src" && apt-get "${aptopts[@]}" source --download-only "kubernetes=1.20.5+really$version-1.1+deb12u1" >/dev/null 2>&1 ||
                apt-get "${aptopts[@]}" source --download-only kubernetes >/dev/null)
  orig=$(ls "$src"/kubernetes_*"$version".orig.tar.gz | head -1)
  tar -xzf "$orig" -C "$src"
fi

gopath=$cache/gopath
tree=$gopath/src/k8s.io/kubernetes
if [ ! -e "$tree" ]; then
  mkdir -p "$gopath/src/k8s.io"
  ln -s "$src/kubernetes-$version" "$tree"
fi
cd "$tree"

# reflect2 1.0.1 -> Debian's 1.0.2 (Go >= 1.18)
if [ ! -f vendor/github.com/modern-go/reflect2/.debian ]; then
  rm -rf vendor/github.com/modern-go/reflect2
  cp -r /usr/share/gocode/src/github.com/modern-go/reflect2 vendor/github.com/modern-go/reflect2
  rm -rf vendor/github.com/modern-go/reflect2/*_test.go vendor/github.com/modern-go/reflect2/test*
  touch vendor/github.com/modern-go/reflect2/.debian
fi

export GOPATH=$gopath GO111MODULE=off GOFLAGS= GOCACHE=$cache/gocache CGO_ENABLED=0
mkdir -p "$cache/bin"

openapi=pkg/generated/openapi/zz_generated.openapi.go
if [ ! -s "$openapi" ]; then
  log "generating $openapi"
  go build -o "$cache/bin/openapi-gen" ./vendor/k8s.io/kube-openapi/cmd/openapi-gen
  # upstream's inputs: every Go folder of the tree (staging as vendor/k8s.io/...) whose files
  # carry a +k8s:openapi-gen tag, except code-generator and sample-apiserver
  dirs=$( { find -H . \( -path ./vendor -o -path './_*' -o -path './.*' \) -prune -o -type f -name '*.go' -print |
            sed 's|^\./staging/src|vendor|; s|^\./||'; } |
          xargs grep -l '^// *+k8s:' 2>/dev/null | xargs grep -l '+k8s:openapi-gen=' |
          grep -v '^vendor/k8s.io/code-generator/\|^vendor/k8s.io/sample-apiserver/' |
          xargs -n1 dirname | LC_ALL=C sort -u | sed 's|^|k8s.io/kubernetes/|' | paste -sd,)
  "$cache/bin/openapi-gen" --logtostderr -i "$dirs" -p k8s.io/kubernetes/pkg/generated/openapi \
    -O zz_generated.openapi -h vendor/k8s.io/code-generator/hack/boilerplate.go.txt \
    -r "$cache/openapi-violations.report" >/dev/null 2>"$cache/openapi-gen.log" ||
    { tail -20 "$cache/openapi-gen.log" >&2; exit 1; }
fi

log "building kube-apiserver $version (several minutes)"
v=k8s.io/kubernetes/vendor/k8s.io/component-base/version # GOPATH mode: the vendored path
ldflags="-s -w"
for v in $v k8s.io/kubernetes/pkg/version k8s.io/kubernetes/vendor/k8s.io/client-go/pkg/version; do
  ldflags+=" -X $v.gitVersion=v$version -X $v.gitMajor=1 -X $v.gitMinor=20 -X $v.gitTreeState=clean"
done
go build -ldflags "$ldflags" -o "$cache/bin/kube-apiserver" ./cmd/kube-apiserver
touch "$stamp"
log "done: $cache/bin/kube-apiserver ($("$cache/bin/kube-apiserver" --version))"
echo "$cache/bin"
