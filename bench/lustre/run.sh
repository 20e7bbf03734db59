#!/usr/bin/env bash
# Benchmark (not a test): `lustrekit up` of a real-Lustre topology, from nothing to a mounted
# client, against a floor measured in the same run: the same VMs booted (`up --until infra`),
# then the same Lustre commands (taken from the plan: LNet, mkfs.lustre, target and client
# mounts, plus the OSP wait a person also has to do) run one by one through the guest agent
# with `lustrekit exec`, without lustrekit's scripts, checks, stage bookkeeping or logs.
# Boot is in both. Writes bench/lustre/RESULTS.md.
#
#   bench/lustre/run.sh [TOPOLOGY]     # default tests/real-lustre/all-in-one.yaml (one node)
#
# Needs root, libvirtd, and the image with Lustre (lustrekit image build --lustre ...): the
# floor has no install step, so the topology must boot an image with Lustre preinstalled.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
topo=${1:-$repo/tests/real-lustre/all-in-one.yaml}
export LUSTREKIT_STATE_DIR=${LUSTREKIT_STATE_DIR:-/var/lib/lustrekit/bench-state}
cargo build --quiet --release --manifest-path "$repo/Cargo.toml" --bin lustrekit
lk="$repo/target/release/lustrekit"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

name=$("$lk" plan "$topo" --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["cluster"])')
"$lk" gc "$name" >/dev/null 2>&1 || true
now() { date +%s.%N; }

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
python3 - "$work/plan.json" >"$work/hand.txt" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
wanted = ["lnet", "format", "mount-mgs", "mount-mdt", "mount-ost", "wait-ost", "mount-client"]
for phase in wanted:
    for n in p["nodes"]:
        for s in n["steps"]:
            if s["phase"] != phase:
                continue
            for c in s["commands"]:
                if c.startswith("lnetctl export"):
                    continue
                if c.startswith("wait for osp."):
                    dev = c.split()[2][len("osp."):].rsplit(".state", 1)[0]
                    c = ("until lctl get_param -n osp.%s.state | grep -q 'current_state: FULL'; "
                         "do sleep 1; done" % dev)
                elif c.startswith("mount "):
                    c = "mkdir -p %s && %s" % (c.split()[-1], c)
                elif c.startswith("mkfs.lustre"):
                    c = "[ -e /etc/hostid ] || zgenhostid; " + c
                print("%s\t%s" % (n["node"], c))
PY
t4=$(now)
while IFS=$'\t' read -r node cmd; do
    "$lk" exec "$name" "$node" -- /bin/bash -c "$cmd" >/dev/null
done <"$work/hand.txt"
t5=$(now)
"$lk" exec "$name" "$(tail -n 1 "$work/hand.txt" | cut -f1)" -- /bin/sh -c 'grep -q " lustre " /proc/mounts'
"$lk" down "$name" >/dev/null

python3 - "$work" "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$topo" >"$here/RESULTS.md" <<'PY'
import json, sys
work, t0, t1, t2, t3, t4, t5, topo = sys.argv[1], *map(float, sys.argv[2:8]), sys.argv[8]
up = json.load(open(work + "/up.json"))
st = up["stages"]["stages"]
verify = st["verify"]["seconds"]
lk_total = (t1 - t0) - verify
boot_lk = up["seconds"]
boot_floor = t3 - t2
hand = t5 - t4
floor = boot_floor + hand
lk_lustre = lk_total - boot_lk
rows = [("VMs booted and ready", boot_lk, boot_floor)]
for s in ["install", "lnet", "format", "mount"]:
    rows.append(("stage " + s, st[s]["seconds"], None))
rows.append(("Lustre commands by hand (exec)", None, hand))
print("# `lustrekit up` against a hand-run floor\n")
print("Topology `%s`; run by bench/lustre/run.sh on this 2-core TCG host; one run each.\n" % topo.split("/")[-1])
print("| step | lustrekit up (s) | floor (s) |\n| --- | ---: | ---: |")
f = lambda x: "" if x is None else "%.1f" % x
for r in rows:
    print("| %s | %s | %s |" % (r[0], f(r[1]), f(r[2])))
print("| **to a mounted client** | **%.1f** | **%.1f** |\n" % (lk_total, floor))
print("Ratio, whole run: **%.2fx** the floor; the Lustre part alone (after boot): %.1f s against %.1f s, %.2fx.\n"
      % (lk_total / floor, lk_lustre, hand, lk_lustre / hand))
print("The floor runs exactly the plan's LNet, mkfs.lustre and mount commands plus the OSP wait, "
      "one `lustrekit exec` each; lustrekit adds its install check, LNet pings, idempotence "
      "guards, per-phase logs and stage bookkeeping.")
PY
cat "$here/RESULTS.md"
