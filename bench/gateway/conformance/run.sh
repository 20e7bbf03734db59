#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Conformance: OpenStack Swift 2.30.1's own functional suite (test/functional, without s3api)
# run against the lustrekit gateway on a fresh tmpfs-backed root, as SwiftOnFile did.
# Nothing of the suite enters the repo: it is read from an unpacked Swift source tree.
#
#   bench/gateway/conformance/run.sh                 # whole suite (a few minutes)
#   bench/gateway/conformance/run.sh -k test_object  # extra args go to pytest
#
# Env: SWIFT_SRC (default /var/cache/lustrekit/swift-2.30.1; the tree at tag 2.30.1),
#      GW_BIN (default: build the debug binary), WORK_DIR (default /dev/shm, tmpfs),
#      JUNIT (default bench/gateway/conformance/junit.xml; not committed).
# Needs Debian's python3-swift (the suite's deps), python3-pytest and python3-mock.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
SWIFT_SRC=${SWIFT_SRC:-/var/cache/lustrekit/swift-2.30.1}
JUNIT=${JUNIT:-$here/junit.xml}
PY=/usr/bin/python3 # Debian's, where python3-swift lives
[[ -d "$SWIFT_SRC/test/functional" ]] || { echo "no Swift tree at $SWIFT_SRC" >&2; exit 2; }

if [[ -z "${GW_BIN:-}" ]]; then
    (cd "$repo" && nice -n 19 cargo build -q -p lk-gateway)
    GW_BIN=${CARGO_TARGET_DIR:-$repo/target}/debug/lk-gateway
fi

W=$(mktemp -d "${WORK_DIR:-/dev/shm}/lk-gw-conf.XXXXXX")
gw_pid=
cleanup() {
    if [[ -n "$gw_pid" ]]; then kill "$gw_pid" 2>/dev/null || true; fi
    wait 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT

# The suite's accounts (test/sample.conf): admins test:tester and test2:tester2, and
# test:tester3 without admin rights (it relies on ACLs). test:tester2 is s3api's second owner.
"$GW_BIN" --root "$W/root" --listen 127.0.0.1:0 --log warn \
    --user test:tester:testing:admin --user test:tester2:testing2:admin \
    --user test:tester3:testing3 --user test2:tester2:testing2:admin \
    --policy Policy-0 --policy silver \
    >"$W/gw.out" 2>"$W/gw.err" &
gw_pid=$!
for _ in $(seq 1 300); do
    grep -q listening "$W/gw.out" 2>/dev/null && break
    sleep 0.1
done
url=$(sed -n 's/.*listening on //p' "$W/gw.out")
[[ -n "$url" ]] || { cat "$W/gw.err" >&2; exit 1; }

cat >"$W/test.conf" <<CONF
[func_test]
auth_uri = $url/auth/v1.0
account = test
username = tester
password = testing
account2 = test2
username2 = tester2
password2 = testing2
username3 = tester3
password3 = testing3
collate = C
insecure = no
storage_domain =

[unit_test]
fake_syslog = False
CONF

start=$(date +%s)
set +e
(cd "$SWIFT_SRC" && SWIFT_TEST_CONFIG_FILE="$W/test.conf" "$PY" -m pytest -q -p no:cacheprovider -o python_files="test*.py" \
    --junitxml="$JUNIT" --ignore=test/functional/s3api test/functional "$@" >"$W/pytest.out" 2>&1)
rc=$?
set -e
end=$(date +%s)
tail -n 3 "$W/pytest.out"
cp "$W/gw.err" "$here/gateway.log"
"$PY" "$here/summary.py" "$JUNIT"
echo "runtime: $((end - start)) s (pytest exit $rc)"
