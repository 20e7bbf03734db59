"""bench/lustre/data/*.json (one per topology, written by run.sh) -> RESULTS.md and floor.svg."""
import json
import sys
from pathlib import Path

data, out = Path(sys.argv[1]), Path(sys.argv[2])
ORDER = ["all-in-one", "small-2ost", "ha", "routing"]
rows = [json.loads(p.read_text()) for p in data.glob("*.json")]
rows.sort(key=lambda r: (ORDER.index(r["topology"]) if r["topology"] in ORDER else 99, r["topology"]))
if not rows:
    sys.exit("no results in %s: run bench/lustre/run.sh first" % data)

ratio = lambda r: r["lustrekit"]["to_mounted"] / r["floor"]["to_mounted"]
lines = [
    "# `lustrekit up` against a hand-run floor, per topology",
    "",
    "Run by `bench/lustre/run.sh` on this 2-core host, VMs under TCG (its KVM does not run",
    "guests), real Lustre 2.17.0 on ZFS from the image with Lustre; one run per topology.",
    "**lustrekit** is `lustrekit up FILE` from nothing to a mounted client (its verify stage left",
    "out). The **floor** is the same VMs booted (`up --until infra`) plus exactly the plan's",
    "commands, typed by hand through the guest agent (`lustrekit exec`, one command each): LNet's",
    "module options and setup, `mkfs.lustre`, the target and client mounts and the OSP wait, each",
    "phase on all its nodes at once (as an admin with pdsh would), a client mount retried until",
    "the routers forward. lustrekit adds its install check, LNet pings, idempotence guards,",
    "per-phase logs and stage bookkeeping. Goal: within 1.2x of the floor.",
    "",
    "| topology | nodes | lustrekit up (s) | floor (s) | ratio | measured |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
]
for r in rows:
    lines.append("| %s | %d | %.1f | %.1f | **%.2fx** | %s |" % (
        r["topology"], r["nodes"], r["lustrekit"]["to_mounted"], r["floor"]["to_mounted"], ratio(r), r["date"]))
lines += ["", "![lustrekit up against the floor](floor.svg)", "", "## Per stage (seconds)", "",
          "| topology | boot: lustrekit / floor | install | lnet | format | mount | Lustre part: lustrekit / floor (commands) |",
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
for r in rows:
    lk, fl = r["lustrekit"], r["floor"]
    s = lk["stages"]
    lines.append("| %s | %.1f / %.1f | %.1f | %.1f | %.1f | %.1f | %.1f / %.1f (%d) |" % (
        r["topology"], lk["boot"], fl["boot"], s["install"], s["lnet"], s["format"], s["mount"],
        lk["to_mounted"] - lk["boot"], fl["hand"], r["hand_commands"]))
notes = data / "NOTES.md"
if notes.is_file():
    # What the run's data cannot say: the conditions it was measured in.
    lines += ["", notes.read_text().rstrip()]
(out / "RESULTS.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))

# The plot: per topology, lustrekit's bar (boot + Lustre part) beside the floor's.
W, H, left, top, bottom = 640, 320, 60, 30, 50
vmax = max(max(r["lustrekit"]["to_mounted"], r["floor"]["to_mounted"]) for r in rows) * 1.1
y = lambda v: top + (H - top - bottom) * (1 - v / vmax)
group = (W - left - 20) / len(rows)
svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">' % (W, H),
       '<rect width="100%" height="100%" fill="white"/>',
       '<text x="%d" y="18" font-size="13">up to a mounted client (s): lustrekit vs hand-run floor</text>' % left]
for i in range(5):
    v = vmax * i / 4
    svg.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>' % (left, W - 20, y(v), y(v)))
    svg.append('<text x="%d" y="%.1f" text-anchor="end">%.0f</text>' % (left - 4, y(v) + 4, v))
colors = {"boot": "#9ecae1", "lk": "#3182bd", "floor": "#fdae6b"}
for i, r in enumerate(rows):
    x0 = left + i * group + group * 0.15
    bw = group * 0.33
    lk, fl = r["lustrekit"], r["floor"]
    for j, (boot, total, color) in enumerate([(lk["boot"], lk["to_mounted"], colors["lk"]),
                                              (fl["boot"], fl["to_mounted"], colors["floor"])]):
        x = x0 + j * (bw + 4)
        svg.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>' % (x, y(total), bw, y(boot) - y(total), color))
        svg.append('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>' % (x, y(boot), bw, y(0) - y(boot), colors["boot"]))
        svg.append('<text x="%.1f" y="%.1f" text-anchor="middle">%.0f</text>' % (x + bw / 2, y(total) - 3, total))
    svg.append('<text x="%.1f" y="%d" text-anchor="middle">%s (%.2fx)</text>' % (x0 + bw + 2, H - bottom + 16, r["topology"], ratio(r)))
legend = [("boot (both)", colors["boot"]), ("lustrekit: Lustre stages", colors["lk"]), ("floor: commands by hand", colors["floor"])]
for k, (label, color) in enumerate(legend):
    lx = left + k * 190
    svg.append('<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>' % (lx, H - 20, color, lx + 14, H - 11, label))
svg.append("</svg>")
(out / "floor.svg").write_text("\n".join(svg) + "\n")
