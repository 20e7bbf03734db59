#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Benchmark: lustrekit gateway vs OpenStack Swift (Debian's packages, single node: proxy,
# account, container and object servers, tempauth, memcached), side by side, same machine,
# same filesystem. Loopback only, bounded loops. Writes bench/gateway/RESULTS.md (+ PNG).
#
#   bench/gateway/run.sh            # full run (~5-10 min on 2 cores)
#   QUICK=1 bench/gateway/run.sh    # smaller counts, for a smoke run
#
# Env: BENCH_DIR (default /var/tmp; storage for both systems, same filesystem),
#      LARGE_MB (512), N1 (400), N16 (2000), LIST_N (100000).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
LARGE_MB=${LARGE_MB:-512}
N1=${N1:-400}
N16=${N16:-2000}
LIST_N=${LIST_N:-100000}
if [[ -n "${QUICK:-}" ]]; then LARGE_MB=64 N1=100 N16=400 LIST_N=20000; fi

need=()
for pkg in swift swift-proxy swift-account swift-container swift-object memcached \
    python3-swiftclient python3-matplotlib; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
PY=/usr/bin/python3

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
(cd "$repo" && cargo build --release -q -p lk-gateway)
GW_BIN=$CARGO_TARGET_DIR/release/lk-gateway

W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/lk-gw-bench.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT

free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # url
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    echo "timed out waiting for $1" >&2
    return 1
}
now() { date +%s.%N; }

# ---------- lustrekit gateway
start_lk() {
    "$GW_BIN" --root "$W/lk" --listen 127.0.0.1:0 --user test:tester:testing:admin --log warn \
        >"$W/lk.out" 2>"$W/lk.err" &
    lk_pid=$!
    pids+=("$lk_pid")
    for _ in $(seq 1 600); do
        grep -q listening "$W/lk.out" 2>/dev/null && break
        sleep 0.1
    done
    LK_URL=$(sed -n 's/.*listening on //p' "$W/lk.out")
    [[ -n "$LK_URL" ]] || { cat "$W/lk.err" >&2; exit 1; }
}
start_lk

# ---------- OpenStack Swift, single node
SW=$W/swift
mkdir -p "$SW/etc" "$SW/srv/sdb1" "$SW/log"
# shellcheck disable=SC2034  # APORT, CPORT, OPORT are read through ${!port_var} below
MPORT=$(free_port) APORT=$(free_port) CPORT=$(free_port) OPORT=$(free_port) PPORT=$(free_port)
memcached -l 127.0.0.1 -p "$MPORT" -U 0 -u root -m 64 &
pids+=($!)
for kind in account container object; do
    port_var=${kind:0:1}PORT; port_var=${port_var^^}
    cat >"$SW/etc/$kind-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${!port_var}
workers = 2
user = root
swift_dir = $SW/etc
devices = $SW/srv
mount_check = false
log_level = WARNING

[pipeline:main]
pipeline = $kind-server

[app:$kind-server]
use = egg:swift#$kind
EOF
    (cd "$SW/etc" && swift-ring-builder "$kind.builder" create 6 1 1 >/dev/null &&
        swift-ring-builder "$kind.builder" add "r1z1-127.0.0.1:${!port_var}/sdb1" 100 >/dev/null &&
        swift-ring-builder "$kind.builder" rebalance >/dev/null)
done
cat >"$SW/etc/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PPORT
workers = 2
user = root
swift_dir = $SW/etc
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk slo dlo tempauth copy proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MPORT

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
[filter:copy]
use = egg:swift#copy
EOF
for kind in account container object proxy; do
    "swift-$kind-server" "$SW/etc/$kind-server.conf" >"$SW/log/$kind.log" 2>&1 &
    pids+=($!)
done
SW_URL=http://127.0.0.1:$PPORT
wait_http "$SW_URL/healthcheck"
wait_http "$LK_URL/healthcheck"
echo "lustrekit gateway: $LK_URL   swift: $SW_URL   storage: $W ($(df --output=fstype "$W" | tail -1))" >&2

run_load() { # name url what [args...]
    local name=$1 url=$2 what=$3
    shift 3
    echo "== $name $what" >&2
    $PY "$here/load.py" --url "$url" --what "$what" "$@" >"$W/$name-$what.json"
}

# small objects
run_load lk "$LK_URL" small --n1 "$N1" --n16 "$N16"
run_load swift "$SW_URL" small --n1 "$N1" --n16 "$N16"

# large object vs raw write (dd with fsync, as both servers fsync)
t0=$(now)
dd if=/dev/zero of="$W/raw.bin" bs=1M count="$LARGE_MB" conv=fsync status=none
t1=$(now)
rm -f "$W/raw.bin"
RAW_MBPS=$($PY -c "print(round($LARGE_MB / ($t1 - $t0), 1))")
run_load lk "$LK_URL" large --large-mb "$LARGE_MB" --tree "$W/lk/test"
run_load swift "$SW_URL" large --large-mb "$LARGE_MB"

# listing: a 10k-entry page from a LIST_N-object container
echo "== populating $LIST_N listing entries" >&2
SW_TOKEN=$(curl -fsS -D - -o /dev/null -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' \
    "$SW_URL/auth/v1.0" | sed -n 's/^X-Auth-Token: //ip' | tr -d '\r')
curl -fsS -o /dev/null -X PUT -H "X-Auth-Token: $SW_TOKEN" "$SW_URL/v1/AUTH_test/list100k"
t0=$(now)
$PY "$here/populate.py" --mode swift --n "$LIST_N" --swift-dir "$SW/etc" --container list100k
t1=$(now)
SW_POP=$($PY -c "print(round($t1 - $t0, 1))")
kill "$lk_pid"
wait "$lk_pid" 2>/dev/null || true
$PY "$here/populate.py" --mode tree --n "$LIST_N" --dir "$W/lk/test/list100k"
t0=$(now)
start_lk
t1=$(now)
LK_RECONCILE=$($PY -c "print(round($t1 - $t0, 1))")
run_load lk "$LK_URL" listing
run_load swift "$SW_URL" listing

$PY "$here/report.py" --dir "$W" --raw-mbps "$RAW_MBPS" --large-mb "$LARGE_MB" \
    --lk-reconcile "$LK_RECONCILE" --swift-populate "$SW_POP" --list-n "$LIST_N" \
    --fstype "$(df --output=fstype "$W" | tail -1)" --out "$here/RESULTS.md" --png "$here/results.png"
echo "wrote $here/RESULTS.md" >&2
