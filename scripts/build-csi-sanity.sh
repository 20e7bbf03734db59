#!/usr/bin/env bash
# Builds csi-sanity (the CSI community's conformance suite, kubernetes-csi/csi-test) from a
# source tree with its vendor/ folder, offline, with Debian's Go 1.19; the binary is cached and
# never part of this repository. crates/lk-csi/tests/it/sanity.rs runs it against the driver.
#   scripts/build-csi-sanity.sh     prints the binary's path, or one SKIPPED line and exits 0
#                                   when the source tree or Go is missing
# Source: $LUSTREKIT_CSI_TEST_SRC (default /var/cache/lustrekit/csi-test, csi-test v5.2.0).
# Binary: $LUSTREKIT_CSI_SANITY (default /var/cache/lustrekit/bin/csi-sanity).
set -euo pipefail
src=${LUSTREKIT_CSI_TEST_SRC:-/var/cache/lustrekit/csi-test}
bin=${LUSTREKIT_CSI_SANITY:-/var/cache/lustrekit/bin/csi-sanity}
go=/usr/lib/go-1.19/bin/go

if [[ -x "$bin" ]]; then
    echo "$bin"
    exit 0
fi
if [[ ! -d "$src/cmd/csi-sanity" || ! -d "$src/vendor" ]]; then
    echo "SKIPPED: csi-sanity: no csi-test source tree with vendor/ at $src"
    exit 0
fi
if [[ ! -x "$go" ]]; then
    echo "SKIPPED: csi-sanity: $go missing (golang-1.19-go; scripts/install-deps.sh)"
    exit 0
fi
mkdir -p "$(dirname "$bin")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# -mod=vendor and GOPROXY=off: everything comes from the tree's vendor/ folder.
(cd "$src/cmd/csi-sanity" && GOFLAGS=-mod=vendor GOPROXY=off GOCACHE="$work/cache" \
    "$go" build -o "$bin.tmp" .)
mv "$bin.tmp" "$bin"
echo "$bin"
