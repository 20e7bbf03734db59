#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Changelog-backend lag on real Lustre (not a test): brings up a copy of
# tests/real-lustre/all-in-one.yaml (2 MDTs, 2 OSTs, a Swift service with sync: changelog)
# under its own name, runs bench/sync/lustre_lag.py on the node (10,000 files as fast as
# Python writes them, then 2,000 paced), and takes the cluster down. Writes
# bench/sync/LUSTRE.md and lustre.png.
#   bash bench/sync/lustre.sh          # needs the image with Lustre and libvirt, ~30 min
# Env: LUSTREKIT (default target/release/lustrekit), N (files per run, default 10000),
#      RATE and PACED_N (paced run: files/s, default 10, and files, default 2000), KEEP=1 (leave the cluster up).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
lk=${LUSTREKIT:-$repo/target/release/lustrekit}
n=${N:-10000}
rate=${RATE:-10}
paced_n=${PACED_N:-2000}
work=$(mktemp -d /var/tmp/lk-bench-lustre-lag.XXXXXX)
cluster=lag-aio
topo=$work/$cluster.yaml
sed -e "s/name: rl-aio/name: $cluster/" -e 's/fsname: rlaio/fsname: lagaio/' \
    -e 's#/mnt/rlaio#/mnt/lagaio#' -e 's#10.231.0.0/24#10.233.0.0/24#' \
    "$repo/tests/real-lustre/all-in-one.yaml" >"$topo"

down() { [[ "${KEEP:-}" == 1 ]] || "$lk" down "$cluster" >"$work/down.log" 2>&1 || cat "$work/down.log"; }
trap down EXIT
t0=$(date +%s)
"$lk" up "$topo" | tee "$work/up.log"
echo "up took $(($(date +%s) - t0)) s"
root=$("$lk" status "$cluster" --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["services"][0]["root"])')
script=$(base64 -w0 "$here/lustre_lag.py")
run() { # NAME RATE FILES
    "$lk" exec --timeout 3600 "$cluster" node1 -- bash -c \
        "echo $script | base64 -d >/tmp/lustre_lag.py && python3 /tmp/lustre_lag.py --root $root \
         --db /var/lib/lustrekit/services/swift/index.sqlite3 --n $3 --rate $2" >"$work/$1.json"
    /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1])); d.pop('lags_s'); print(sys.argv[1], d)" "$work/$1.json"
}
run burst 0 "$n"
run paced "$rate" "$paced_n"
# shellcheck disable=SC2016 # expanded on the node
"$lk" exec "$cluster" node1 -- bash -c \
    'for m in $(lctl list_param mdd.* | cut -d. -f2); do echo "$m $(lctl get_param -n mdd.$m.changelog_users | grep lk-swift) current $(lctl get_param -n mdd.$m.changelog_users | sed -n "s/current_index: //p")"; done' \
    | tee "$work/users.txt"
/usr/bin/python3 "$here/lustre_report.py" --dir "$work" --out "$here/LUSTRE.md" --png "$here/lustre.png"
echo "wrote $here/LUSTRE.md (work files in $work)"
