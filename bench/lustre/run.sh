#!/usr/bin/env bash
# Benchmark (not a test): `lustrekit up` of real-Lustre topologies, from nothing to a mounted
# client, each against a floor measured in the same run: the same VMs booted (`up --until
# infra`), then the same Lustre commands (taken from the plan: LNet module options and setup,
# mkfs.lustre, target and client mounts, plus the OSP wait a person also has to do) run through
# the guest agent with `lustrekit exec`, a phase on all its nodes at once (as with pdsh), without
# lustrekit's scripts, checks, stage bookkeeping or logs. Boot is in both.
# Writes bench/lustre/data/TOPOLOGY.json, then RESULTS.md and floor.svg from every data file.
#
#   bench/lustre/run.sh [TOPOLOGY...]   # default: all-in-one, small (3 nodes), ha, routing
#
# Needs root, libvirtd, and the image with Lustre (lustrekit image build --lustre ...): the
# floor has no install step, so each topology must boot an image with Lustre preinstalled.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
if (($# == 0)); then
    set -- "$repo/tests/real-lustre/all-in-one.yaml" "$repo/bench/cluster/small-2ost.yaml" \
        "$repo/tests/real-lustre/ha.yaml" "$repo/tests/real-lustre/routing.yaml"
fi
export LUSTREKIT_STATE_DIR=${LUSTREKIT_STATE_DIR:-/var/lib/lustrekit/bench-state}
cargo build --quiet --release --manifest-path "$repo/Cargo.toml" --bin lustrekit
lk="$repo/target/release/lustrekit"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$here/data"
now() { date +%s.%N; }

# Runs one phase of the hand-typed commands ($work/hand.txt): every node at once, each node's
# commands in order. Fails when any command fails.
hand_phase() {
    local name=$1 phase=$2 node nodes pids=()
    mapfile -t nodes < <(awk -F'\t' -v p="$phase" '$1 == p { print $2 }' "$work/hand.txt" | sort -u)
    for node in "${nodes[@]}"; do
        (
            awk -F'\t' -v p="$phase" -v n="$node" '$1 == p && $2 == n { print $3 }' "$work/hand.txt" |
                while IFS= read -r cmd; do
                    "$lk" exec "$name" "$node" -- /bin/bash -c "$cmd" >/dev/null </dev/null
                done
        ) &
        pids+=($!)
    done
    local pid
    for pid in "${pids[@]}"; do wait "$pid"; done
}

for topo in "$@"; do
    base=$(basename "$topo" .yaml)
    name=$("$lk" plan "$topo" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster"])')
    echo "== $base ($name)"
    "$lk" gc "$name" >/dev/null 2>&1 || true

    # 1. lustrekit up, to verified; "to mounted" leaves the verify stage out.
    t0=$(now)
    "$lk" up "$topo" --json >"$work/up.json"
    t1=$(now)
    "$lk" down "$name" >/dev/null

    # 2. The floor: the same VMs, then the plan's commands by hand through the guest agent.
    t2=$(now)
    "$lk" up "$topo" --until infra --json >"$work/infra.json"
    t3=$(now)
    "$lk" plan "$topo" --format json >"$work/plan.json"
    python3 "$here/hand.py" "$work/plan.json" >"$work/hand.txt"
    t4=$(now)
    mapfile -t phases < <(cut -f1 "$work/hand.txt" | uniq)
    for phase in "${phases[@]}"; do
        hand_phase "$name" "$phase"
    done
    t5=$(now)
    client=$(tail -n 1 "$work/hand.txt" | cut -f2)
    "$lk" exec "$name" "$client" -- /bin/sh -c 'grep -q " lustre " /proc/mounts'
    "$lk" down "$name" >/dev/null

    python3 - "$work/up.json" "$here/data/$base.json" "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" \
        "$(wc -l <"$work/hand.txt")" "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["nodes"]))' "$work/plan.json")" <<'PY'
import json, sys, time
up = json.load(open(sys.argv[1]))
t0, t1, t2, t3, t4, t5 = map(float, sys.argv[3:9])
st = up["stages"]["stages"]
row = {
    "topology": sys.argv[2].rsplit("/", 1)[-1][:-5],
    "nodes": int(sys.argv[10]),
    "hand_commands": int(sys.argv[9]),
    "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    "lustrekit": {
        "boot": up["seconds"],
        "stages": {s: st[s]["seconds"] for s in ["install", "lnet", "format", "mount"]},
        "verify": st["verify"]["seconds"],
        "to_mounted": (t1 - t0) - st["verify"]["seconds"],
    },
    "floor": {"boot": t3 - t2, "hand": t5 - t4, "to_mounted": (t3 - t2) + (t5 - t4)},
}
json.dump(row, open(sys.argv[2], "w"), indent=2)
print("%s: lustrekit %.1f s, floor %.1f s, %.2fx" % (row["topology"], row["lustrekit"]["to_mounted"],
      row["floor"]["to_mounted"], row["lustrekit"]["to_mounted"] / row["floor"]["to_mounted"]))
PY
done
python3 "$here/report.py" "$here/data" "$here"
