#!/usr/bin/env bash
# Benchmark (not a test): `lustrekit bench` on two layouts of the quickstart's three VMs, one
# OST against two OSTs on the same OSS, then `lustrekit bench compare` of each benchmark.
# Every run writes its JSON, Markdown and HTML reports and SVG plot; the comparisons land here,
# in bench/cluster/<benchmark>/compare.{md,svg,html}, with each run's reports beside them.
#
#   bench/cluster/run.sh [KIND...]      # default: lnet-selftest obdfilter-survey fio
#
# Needs root, libvirtd and the image with Lustre (lustrekit image build --lustre ...).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
kinds=("$@")
((${#kinds[@]})) || kinds=(lnet-selftest obdfilter-survey fio)
export LUSTREKIT_STATE_DIR=${LUSTREKIT_STATE_DIR:-/var/lib/lustrekit/bench-state}
cargo build --quiet --release --manifest-path "$repo/Cargo.toml" --bin lustrekit
lk="$repo/target/release/lustrekit"

runs_of() { # KIND CLUSTER: the newest run.json of that benchmark on that cluster
    find "$LUSTREKIT_STATE_DIR/clusters/$2/shared/logs/bench" -path "*/$1-*/run.json" -printf '%T@ %p\n' |
        sort -n | tail -n 1 | cut -d' ' -f2-
}

for layout in small-1ost small-2ost; do
    topo="$here/$layout.yaml"
    name=$("$lk" plan "$topo" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster"])')
    "$lk" up "$topo"
    for kind in "${kinds[@]}"; do
        "$lk" bench "$name" "$kind"
    done
done

for kind in "${kinds[@]}"; do
    out="$here/$kind"
    rm -rf "$out"
    mkdir -p "$out"
    a=$(runs_of "$kind" bench-1ost)
    b=$(runs_of "$kind" bench-2ost)
    for r in "$a" "$b"; do
        d=$(dirname "$r")
        cp "$d"/*.md "$d"/*.svg "$d"/*.html "$out/"
        cp "$r" "$out/$(basename "$(ls "$d"/*.md)" .md).json"
    done
    "$lk" bench compare "$a" "$b" --out "$out"
done

for name in bench-1ost bench-2ost; do
    "$lk" down "$name"
done
