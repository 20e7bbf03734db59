#!/usr/bin/env bash
# Benchmark (not a test): ior and mdtest under mpirun on small-2ost-mpi.yaml's one client, with
# one MPI rank against two, then `lustrekit bench compare` of each. The reports, plots and
# `run.json` of every run and the comparisons land in bench/cluster/{ior,mdtest}/.
#
#   IOR_BIN=/path/to/ior MDTEST_BIN=/path/to/mdtest bench/cluster/mpi.sh
#
# IOR_BIN / MDTEST_BIN: host binaries built against Debian 12's openmpi (lustrekit copies them
# into the cluster); unset, the image's PATH must have the tools. Needs root, libvirtd and the
# image with Lustre and Open MPI named in small-2ost-mpi.yaml.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
export LUSTREKIT_STATE_DIR=${LUSTREKIT_STATE_DIR:-/var/lib/lustrekit/bench-state}
cargo build --quiet --release --manifest-path "$repo/Cargo.toml" --bin lustrekit
lk="$repo/target/release/lustrekit"
topo="$here/small-2ost-mpi.yaml"
name=$("$lk" plan "$topo" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster"])')

# The folder `lustrekit bench` names on its last line ("...; /path/run.json (report ...").
run_json() { sed -n 's/^bench: .*; \(\/[^ ]*\/run\.json\) .*/\1/p' | tail -n 1; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$lk" up "$topo"
for kind in ior mdtest; do
    tool=()
    bin_var=$([ "$kind" = ior ] && echo IOR_BIN || echo MDTEST_BIN)
    [ -n "${!bin_var:-}" ] && tool=(--tool-bin "${!bin_var}")
    extra=()
    [ "$kind" = ior ] && extra=(--ior-block-size 64m)
    [ "$kind" = mdtest ] && extra=(--mdtest-items 500)
    runs=()
    for ranks in 1 2; do
        "$lk" bench "$name" "$kind" --ranks "$ranks" "${tool[@]}" "${extra[@]}" 2>&1 | tee "$log"
        r=$(run_json <"$log")
        [ -n "$r" ] || { echo "no run.json from $kind with $ranks rank(s)" >&2; exit 1; }
        runs+=("$r")
    done
    out="$here/$kind"
    rm -rf "$out"
    mkdir -p "$out"
    for r in "${runs[@]}"; do
        d=$(dirname "$r")
        cp "$d"/*.md "$d"/*.svg "$d"/*.html "$out/"
        cp "$r" "$out/$(basename "$(ls "$d"/*.md)" .md).json"
    done
    "$lk" bench compare "${runs[@]}" --out "$out"
done
"$lk" down "$name"
