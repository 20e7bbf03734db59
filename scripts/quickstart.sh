#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine: install dependencies, build lustrekit, validate
# every example, start libvirt, build the guest image, and bring a real 3-VM cluster up
# (examples/small.yaml): infrastructure and readiness, status, a command on every node, then
# the Lustre stages, and finally `down`.
#
# With a Lustre source tree (a lustre-release checkout) at /var/cache/lustrekit/lustre-release,
# or named as the first argument, Lustre is built from it on the host (once; cached), installed
# on the nodes, and the quickstart goes all the way to a mounted filesystem and a write/read.
# Without one, the stages stop at the install check, which names what to provide.
set -euo pipefail
cd "$(dirname "$0")/.."
src=${1:-/var/cache/lustrekit/lustre-release}
bash scripts/install-deps.sh
cargo build --release --locked --bin lustrekit
lk=target/release/lustrekit
for f in examples/*.yaml; do
    "$lk" validate "$f"
done
bash scripts/start-libvirt.sh
"$lk" image build

cluster=examples/small.yaml
if [[ -f "$src/LUSTRE-VERSION-GEN" ]]; then
    # The same cluster, with Lustre built from the source tree.
    cluster=$(mktemp --suffix=.yaml)
    sed "s|^    source: preinstalled|    source: build\n    path: $src|" examples/small.yaml >"$cluster"
    echo "== Lustre from $src (built on the host for the image's kernel; cached)"
    "$lk" build "$cluster"
fi
trap '"$lk" down small || true' EXIT
"$lk" up "$cluster" --until infra
"$lk" status small
# shellcheck disable=SC2016 # expanded in the guest
for node in mds1 oss1 client1; do
    "$lk" exec small "$node" -- /bin/sh -c 'echo "$(hostname): $(uname -r), shared folder: $(ls /mnt/lustrekit)"'
done
echo
echo "== the Lustre stages: install, lnet, format, mount, verify"
if "$lk" up "$cluster"; then
    "$lk" exec small client1 -- /bin/bash -c \
        'set -e; lfs df -h /mnt/small; dd if=/dev/urandom of=/tmp/q bs=1M count=8 status=none; cp /tmp/q /mnt/small/q; echo 3 >/proc/sys/vm/drop_caches; cmp /tmp/q /mnt/small/q && echo "wrote and read back 8 MiB on /mnt/small"'
else
    echo "The stages stopped (see the message above; logs under /var/lib/lustrekit/clusters/small/shared/logs)."
    echo "To go all the way, put a lustre-release checkout at $src or run: bash scripts/quickstart.sh /path/to/lustre-release"
fi
"$lk" status small
