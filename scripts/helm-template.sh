#!/usr/bin/env bash
# Renders a Helm chart like `helm template` (see scripts/helm-template/main.go for why and what
# is covered): builds the renderer once from Debian's Go packages (golang-1.19, sprig, yaml.v3;
# nothing is downloaded), cached under $LUSTREKIT_HELM_CACHE, then runs it.
#   scripts/helm-template.sh [-namespace NS] [-name RELEASE] [-f values.yaml] CHART_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${LUSTREKIT_HELM_CACHE:-/var/cache/lustrekit/helm-template}
src_hash=$(sha256sum "$here/helm-template/main.go" | cut -c1-16)
bin="$cache/helm-template-$src_hash"

mkdir -p "$cache"
# Tests render charts in parallel: the first run on a machine builds the renderer while the
# others wait on the lock, then find it built.
exec 9>"$cache/.build.lock"
flock 9
if [[ ! -x "$bin" ]]; then
    need=()
    for pkg in golang-1.19-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
    done
    if ((${#need[@]})); then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    fi
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    pkg="$work/src/lustrekit.dev/helm-template"
    mkdir -p "$pkg/vendor/github.com/Masterminds/sprig" "$pkg/vendor/github.com/Masterminds/semver"
    cp "$here/helm-template/main.go" "$pkg/"
    # GOPATH mode with Debian's Go sources; sprig v3 and semver v3 keep their major-version
    # import paths, which a vendor folder maps onto Debian's unversioned folders.
    ln -s /usr/share/gocode/src/github.com/Masterminds/sprig "$pkg/vendor/github.com/Masterminds/sprig/v3"
    ln -s /usr/share/gocode/src/github.com/Masterminds/semver "$pkg/vendor/github.com/Masterminds/semver/v3"
    (cd "$pkg" && GO111MODULE=off GOPATH="$work:/usr/share/gocode" GOCACHE="$work/cache" \
        /usr/lib/go-1.19/bin/go build -o "$bin.tmp" .)
    mv "$bin.tmp" "$bin"
    rm -rf "$work"
    trap - EXIT
fi
exec 9>&-
exec "$bin" "$@"
