"""Turns bench/up results (TSV) into RESULTS.md (medians, ratios to the floor) and a plot."""
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

tsv, out = Path(sys.argv[1]), Path(sys.argv[2])
rows = [l.split("\t") for l in tsv.read_text().splitlines()[1:] if l.strip()]
runs = defaultdict(list)
for case, nodes, parallel, secs in rows:
    runs[(case, int(nodes), parallel)].append(float(secs))
med = {k: statistics.median(v) for k, v in runs.items()}
floor = med[("floor", 1, "-")]
cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()

lines = [
    "# `lustrekit up` wall time (bench/up/run.sh)",
    "",
    f"Host: {cpu} cores, VMs under TCG (this host's KVM does not run guests), 1 vCPU and 1 GiB",
    f"per VM, {len(next(iter(runs.values())))} round(s), medians. `up --until infra` = networks,",
    "pool, volumes, domains, and every node ready (guest agent, DHCP lease, 9p shared folder);",
    "each is followed by `down`. The floor is one VM with the same image and kernel booted",
    "straight through virsh until its guest agent answers, measured in the same run.",
    "",
    "| case | nodes | parallel | seconds | × floor |",
    "| --- | ---: | ---: | ---: | ---: |",
]
for (case, nodes, parallel), s in sorted(med.items(), key=lambda kv: (kv[0][0] != "floor", kv[0][1], kv[0][2])):
    lines.append(f"| {case} | {nodes} | {parallel} | {s:.1f} | {s / floor:.2f} |")
seq, par = med.get(("up", 3, "1")), med.get(("up", 3, "4"))
if seq and par:
    lines += ["", f"Parallel vs sequential for 3 nodes: {seq:.1f}s / {par:.1f}s = {seq / par:.2f}× faster in parallel."]
(out / "RESULTS.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [f"{c} {n}n p{p}" for (c, n, p) in sorted(med, key=lambda k: (k[0] != "floor", k[1], k[2]))]
    values = [med[k] for k in sorted(med, key=lambda k: (k[0] != "floor", k[1], k[2]))]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(labels, values, color=["grey"] + ["tab:blue"] * (len(values) - 1))
    ax.axhline(floor, color="grey", linestyle="--", linewidth=1)
    ax.set_ylabel("seconds (median)")
    ax.set_title("lustrekit up --until infra vs one bare VM boot (TCG)")
    fig.tight_layout()
    fig.savefig(out / "results.png", dpi=110)
except ImportError:
    print("matplotlib not installed: no plot", file=sys.stderr)
