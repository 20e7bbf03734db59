#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Before/after benchmark of the lustrekit gateway alone: an OLD gateway binary (built from an
# earlier commit) and the NEW one from this tree, same machine, same filesystem, both running
# in ONE session. Each workload of load.py (small-object PUT/GET/HEAD/DELETE at concurrency 1
# and 16, large-object PUT/GET, 10k-entry listing pages) runs against old and new back to back,
# in alternating order, round after round, so load from other work on a shared machine hits
# both alike; the report gives medians and the median of the per-round new/old ratios.
# Writes bench/gateway/OLDNEW.md.
#
#   OLD_BIN=/path/to/old/lk-gateway bench/gateway/oldnew.sh
#   # building OLD_BIN, e.g. for commit C:
#   git worktree add --detach /tmp/gw-old C && (cd /tmp/gw-old && cargo build --release -p lk-gateway)
#
# Env: OLD_BIN (required), OLD_REV / NEW_REV (labels), ROUNDS (5), N1 (200), N16 (1000),
#      LARGE_MB (64), LIST_N (20000), BENCH_DIR (/var/tmp), OUT (bench/gateway/OLDNEW.md).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${OLD_BIN:?set OLD_BIN to the old lk-gateway binary}"
ROUNDS=${ROUNDS:-5}
N1=${N1:-200}
N16=${N16:-1000}
LARGE_MB=${LARGE_MB:-64}
LIST_N=${LIST_N:-20000}
OUT=${OUT:-$here/OLDNEW.md}
OLD_REV=${OLD_REV:-old}
NEW_REV=${NEW_REV:-$(git -C "$repo" rev-parse --short HEAD)}
PY=/usr/bin/python3

export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
(cd "$repo" && cargo build --release -q -p lk-gateway)
NEW_BIN=$CARGO_TARGET_DIR/release/lk-gateway

W=$(mktemp -d "${BENCH_DIR:-/var/tmp}/lk-gw-oldnew.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT

declare -A URL
start() { # name bin
    local name=$1 bin=$2
    "$bin" --root "$W/$name" --listen 127.0.0.1:0 --user test:tester:testing:admin --log warn \
        >"$W/$name.out" 2>"$W/$name.err" &
    pids+=($!)
    for _ in $(seq 1 600); do
        grep -q listening "$W/$name.out" 2>/dev/null && break
        sleep 0.1
    done
    URL[$name]=$(sed -n 's/.*listening on //p' "$W/$name.out")
    [[ -n "${URL[$name]}" ]] || { cat "$W/$name.err" >&2; exit 1; }
}

# Each binary gets its own root with the same LIST_N-entry container, indexed at start-up.
for name in old new; do
    $PY "$here/populate.py" --mode tree --n "$LIST_N" --dir "$W/$name/test/list"
done
start old "$OLD_BIN"
start new "$NEW_BIN"
echo "old: ${URL[old]}  new: ${URL[new]}  storage: $W" >&2

for r in $(seq 1 "$ROUNDS"); do
    # Alternate which one goes first, so neither always runs second.
    if ((r % 2)); then order="old new"; else order="new old"; fi
    echo "== round $r ($order)" >&2
    for what in small large listing; do
        for name in $order; do
            case $what in
            small) args=(--n1 "$N1" --n16 "$N16") ;;
            large) args=(--large-mb "$LARGE_MB") ;;
            listing) args=(--container list) ;;
            esac
            $PY "$here/load.py" --url "${URL[$name]}" --what "$what" "${args[@]}" \
                >"$W/$name-$what-$r.json"
        done
    done
done

$PY - "$W" "$ROUNDS" "$OUT" "$OLD_REV" "$NEW_REV" "$LARGE_MB" "$LIST_N" <<'PYEOF'
import json, os, statistics, subprocess, sys, time
w, rounds, out, old_rev, new_rev, large_mb, list_n = sys.argv[1:]
rounds = int(rounds)
def load(name, what):
    return [json.load(open(os.path.join(w, f"{name}-{what}-{r}.json"))) for r in range(1, rounds + 1)]
rows = []
def add(label, getter, what, higher_better=True):
    o = [getter(d) for d in load("old", what)]
    n = [getter(d) for d in load("new", what)]
    mo, mn = statistics.median(o), statistics.median(n)
    pair = [(y / x) if higher_better else (x / y) for x, y in zip(o, n)]
    rows.append((label, mo, mn, statistics.median(pair), o, n))
for c, conc in (("c1", 1), ("c16", 16)):
    for verb in ("PUT", "GET", "HEAD", "DELETE"):
        add(f"4 KiB {verb}, concurrency {conc} (ops/s)", lambda d, c=c, v=verb: d[c][v]["ops_per_s"], "small")
add(f"{large_mb} MiB object PUT (MB/s)", lambda d: d["PUT_MBps"], "large")
add(f"{large_mb} MiB object GET (MB/s)", lambda d: d["GET_MBps"], "large")
add(f"10k-entry listing page, first of {list_n} (ms)", lambda d: d["first_page_ms"], "listing", False)
add(f"10k-entry listing page, middle of {list_n} (ms)", lambda d: d["middle_page_ms"], "listing", False)
kernel = subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip()
with open(out, "w") as f:
    f.write("# lustrekit gateway: before/after (one run, alternating)\n\n")
    f.write(f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `bench/gateway/oldnew.sh` on "
            f"{os.cpu_count()} cores (shared), Linux {kernel}. Old: `{old_rev}`, new: `{new_rev}`, "
            f"both release builds running at once over their own root on the same filesystem. "
            f"{rounds} rounds; in each, every workload runs against old and new back to back "
            "(odd rounds old first, even rounds new first). old/new columns: medians over the "
            "rounds; ratio: median of the per-round new/old ratios; per-round values follow. "
            "Client: `load.py` (Python) on the same cores.\n\n")
    f.write("| benchmark | old | new | new/old, median of rounds (>1 = new better) | old per round | new per round |\n")
    f.write("|---|---:|---:|---:|---|---|\n")
    for label, mo, mn, ratio, o, n in rows:
        f.write(f"| {label} | {mo:g} | {mn:g} | {ratio:.2f} | {', '.join(map(str, o))} | {', '.join(map(str, n))} |\n")
    f.write("\nFor listing rows the ratio is old time / new time, so above 1 still means the new one is faster.\n")
# The plot: per workload the median ratio (bar) and every round's ratio (dots), so the noise
# of a shared machine is visible next to the result. Skipped without matplotlib.
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(10, 6))
    for i, (label, mo, mn, ratio, o, n) in enumerate(rows):
        hb = "(ms)" not in label
        pair = [(y / x) if hb else (x / y) for x, y in zip(o, n)]
        ax.barh(i, ratio, color="tab:green" if ratio >= 1 else "tab:red", alpha=0.6)
        ax.plot(pair, [i] * len(pair), "k.", markersize=4)
    ax.axvline(1, color="black", linewidth=0.8)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels([r[0] for r in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel(f"new ({new_rev}) / old ({old_rev}): bar = median of rounds, dots = each round; >1 = new better")
    ax.set_title("lustrekit gateway, before/after in one run")
    fig.tight_layout()
    png = os.path.splitext(out)[0] + ".png"
    fig.savefig(png, dpi=100)
    with open(out, "a") as f:
        f.write(f"\n![new/old per workload]({os.path.basename(png)})\n")
except ImportError:
    print("no matplotlib: OLDNEW.md without its plot", file=sys.stderr)
print(open(out).read())
PYEOF
