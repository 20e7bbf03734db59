#!/usr/bin/env bash
# Builds a real kube-apiserver from Debian's `kubernetes` source package (DESIGN.md §9), for the
# operator's integration tests. Nothing is downloaded but Debian packages.
#
# The binary is cached under $LUSTREKIT_KUBE_CACHE/<debian version>/kube-apiserver (default
# /var/cache/lustrekit/kube-apiserver); a second run with the binary present does nothing.
# Prints the binary's path on stdout as its last line. Takes ~5-10 minutes on 2 cores.
#
# Quirks handled here (all from building v1.20.2 with Debian's golang-1.19):
# - vendor/modules.txt: Go 1.19 wants the `# path => replacement` lines after every module block;
# - the generated OpenAPI definitions (pkg/generated/openapi) must exist: `make gen_openapi`;
# - the vendored github.com/modern-go/reflect2 1.0.1 crashes on Go >= 1.18: replaced by Debian's
#   1.0.2 (golang-github-modern-go-reflect2-dev).
set -euo pipefail

cache=${LUSTREKIT_KUBE_CACHE:-/var/cache/lustrekit/kube-apiserver}
go_root=/usr/lib/go-1.19
reflect2=/usr/share/gocode/src/github.com/modern-go/reflect2
srcs=/etc/apt/sources.list.d/lustrekit-deb-src.sources

log() { echo "build-kube-apiserver: $*" >&2; }

ensure_packages() {
    local need=()
    for pkg in golang-1.19-go golang-github-modern-go-reflect2-dev dpkg-dev make rsync; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
    done
    if ((${#need[@]})); then
        log "installing ${need[*]}"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
}

ensure_deb_src() {
    if ! apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Version:'; then
        log "adding a deb-src line for bookworm ($srcs)"
        cat >"$srcs" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        apt-get update -qq
    fi
}

ensure_deb_src
version=$(apt-cache showsrc kubernetes | awk '/^Version:/ {print $2; exit}')
out="$cache/$version/kube-apiserver"
if [[ -x "$out" ]]; then
    log "cached: $out"
    echo "$out"
    exit 0
fi
ensure_packages
[[ -d "$reflect2" ]] || { log "missing $reflect2"; exit 1; }

work="$cache/$version/src"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
log "fetching the kubernetes $version source package"
apt-get source -qq --download-only "kubernetes=$version" >/dev/null
dpkg-source -x ./*.dsc k8s >/dev/null
cd k8s

log "vendor/modules.txt: moving replacement-only lines to the end"
grep -vE '^# [^ ]+ => ' vendor/modules.txt >vendor/modules.txt.new
grep -E '^# [^ ]+ => ' vendor/modules.txt >>vendor/modules.txt.new
mv vendor/modules.txt.new vendor/modules.txt

log "vendor: reflect2 1.0.1 -> Debian's 1.0.2"
rm -rf vendor/github.com/modern-go/reflect2
mkdir -p vendor/github.com/modern-go/reflect2
cp "$reflect2"/*.go "$reflect2"/*.s vendor/github.com/modern-go/reflect2/
rm -f vendor/github.com/modern-go/reflect2/*_test.go

export PATH="$go_root/bin:$PATH" GOFLAGS=-mod=vendor GOPROXY=off GO111MODULE=on \
    GOCACHE="$cache/gocache" KUBE_VERBOSE=0
log "make gen_openapi ($(go version))"
make gen_openapi >/dev/null

log "go build ./cmd/kube-apiserver"
ldflags="-s -w"
for v in gitVersion=v1.20.2 gitMajor=1 gitMinor=20 gitTreeState=clean; do
    ldflags+=" -X k8s.io/component-base/version.$v -X k8s.io/client-go/pkg/version.$v"
done
go build -trimpath -ldflags "$ldflags" -o "$out.tmp" ./cmd/kube-apiserver
mv "$out.tmp" "$out"
cd "$cache/$version"
rm -rf "$work" "$cache/gocache"
log "built $out"
echo "$out"
