#!/usr/bin/env bash
# Benchmark (not a test): wall time of `lustrekit up --until infra` (VMs booted and ready:
# guest agent, DHCP lease, shared folder) for 1, 3 and 5 nodes under this host's accelerator,
# against the floor measured in the same run: one VM alone, booted with the same image and
# kernel straight through virsh (no network, no lustrekit), until its guest agent answers.
# Also parallel (--parallel 4) against sequential (--parallel 1) provisioning of 3 nodes.
# Each `up` is followed by `down`. Writes bench/up/RESULTS.md and results.png.
#
#   bench/up/run.sh              # REPEAT=1 by default; REPEAT=3 for medians of three
#
# Needs root, libvirtd (scripts/start-libvirt.sh) and the base image (lustrekit image build).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
REPEAT=${REPEAT:-1}
export LUSTREKIT_STATE_DIR=${LUSTREKIT_STATE_DIR:-/var/lib/lustrekit/bench-state}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --quiet --release --manifest-path "$repo/Cargo.toml" --bin lustrekit
lk="$repo/target/release/lustrekit"
image=/var/lib/lustrekit/images/debian-12
[[ -f $image.qcow2 ]] || { echo "no base image: run lustrekit image build" >&2; exit 1; }

# topology N: node1 is MGS+MDS (and everything when alone), the others OSS or client.
topology() {
    local n=$1 f=$work/bench$1.yaml
    {
        printf 'apiVersion: lustrekit.dev/v1alpha1\nkind: LustreCluster\nmetadata:\n  name: lkbench%s\n' "$n"
        printf 'spec:\n  fsname: bench\n  lustre:\n    source: preinstalled\n  backend: zfs\n'
        printf '  networks:\n    - name: tcp0\n      cidr: 10.239.%s.0/24\n  nodes:\n' "$n"
        if ((n == 1)); then
            printf '    - { name: node1, roles: [mgs, mds, oss, client], vcpus: 1, memory: 1GiB }\n'
        else
            printf '    - { name: node1, roles: [mgs, mds], vcpus: 1, memory: 1GiB }\n'
            for ((i = 2; i <= n; i++)); do
                if ((i == n)); then role=client; else role=oss; fi
                printf '    - { name: node%s, roles: [%s], vcpus: 1, memory: 1GiB }\n' "$i" "$role"
            done
        fi
        printf '  targets:\n    mgt: { node: node1, size: 64MiB }\n    mdts:\n      - { index: 0, node: node1, size: 256MiB }\n    osts:\n'
        if ((n == 1)); then
            printf '      - { index: 0, node: node1, size: 256MiB }\n'
        else
            for ((i = 2; i < n || (n == 2 && i == 2); i++)); do
                printf '      - { index: %s, node: node%s, size: 256MiB }\n' "$((i - 2))" "$i"
            done
        fi
        printf '  clients:\n    - node: node%s\n      mountPoint: /mnt/bench\n' "$n"
    } >"$f"
    echo "$f"
}

now() { date +%s.%N; }

# The floor: one VM, same kernel and image, no lustrekit, until guest-ping answers.
floor() {
    local name=lkbench-floor overlay=$work/floor.qcow2 xml=$work/floor.xml
    virsh -q destroy "$name" >/dev/null 2>&1 || true
    qemu-img create -q -f qcow2 -b "$image.qcow2" -F qcow2 "$overlay"
    chown libvirt-qemu: "$overlay" 2>/dev/null || true
    chmod 755 "$work"
    # TCG, as lustrekit's own probe chooses on these hosts (see the up log's first line).
    cat >"$xml" <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>1024</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$image.vmlinuz</kernel><initrd>$image.initrd</initrd>
    <cmdline>root=/dev/vda rw console=ttyS0 net.ifnames=0</cmdline></os>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file='$overlay'/><target dev='vda' bus='virtio'/></disk>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <serial type='pty'/>
  </devices>
</domain>
XML
    local t0 t1
    t0=$(now)
    virsh -q create "$xml" >/dev/null
    until virsh -q qemu-agent-command "$name" '{"execute":"guest-ping"}' >/dev/null 2>&1; do
        sleep 0.5
    done
    t1=$(now)
    virsh -q destroy "$name" >/dev/null
    echo "$t1 - $t0" | bc
}

up_time() {
    local file=$1 parallel=$2 t0 t1
    t0=$(now)
    "$lk" up "$file" --until infra --parallel "$parallel" --accel auto >/dev/null 2>"$work/up.log" ||
        { cat "$work/up.log" >&2; "$lk" down "$file" >/dev/null 2>&1 || true; exit 1; }
    t1=$(now)
    "$lk" down "$file" >/dev/null 2>&1
    echo "$t1 - $t0" | bc
}

results=$work/results.tsv
printf 'case\tnodes\tparallel\tseconds\n' >"$results"
for ((r = 1; r <= REPEAT; r++)); do
    echo "round $r/$REPEAT: floor" >&2
    printf 'floor\t1\t-\t%s\n' "$(floor)" >>"$results"
    for n in 1 3 5; do
        echo "round $r/$REPEAT: up $n node(s), parallel 4" >&2
        printf 'up\t%s\t4\t%s\n' "$n" "$(up_time "$(topology "$n")" 4)" >>"$results"
    done
    echo "round $r/$REPEAT: up 3 nodes, sequential" >&2
    printf 'up\t3\t1\t%s\n' "$(up_time "$(topology 3)" 1)" >>"$results"
done
/usr/bin/python3 "$here/report.py" "$results" "$here"
