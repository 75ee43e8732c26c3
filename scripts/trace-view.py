#!/usr/bin/python3
"""Draw a goro execution trace (GORO_TRACE=FILE, goro::trace_start) as a PNG.

    /usr/bin/python3 scripts/trace-view.py trace.json -o trace.png
    /usr/bin/python3 scripts/trace-view.py trace.json -o part.png --from 1.5 --to 2.0

Each worker thread (M) and each other thread that appears in the trace is a
lane; every stretch a fiber ran is a slice coloured by fiber; the runtime's
own slices (timers, the netpoller, goro::blocking calls) are grey; an arrow
goes from whoever readied a fiber to the slice where it next ran; spawns and
steals are markers. The legend names the fibers that ran longest.
Needs matplotlib (Debian: python3-matplotlib; scripts/install-deps.sh).
docs/tracing.md describes the trace.
"""
import argparse
import json
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402


def load(path):
    with open(path) as f:
        doc = json.load(f)
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    names, slices, flows, instants = {}, [], defaultdict(dict), []
    for e in events:
        ph = e.get("ph")
        tid = e.get("tid", 0)
        if ph == "M" and e.get("name") == "thread_name":
            names[tid] = e.get("args", {}).get("name", str(tid))
        elif ph == "X":
            slices.append(e)
        elif ph in ("s", "f"):
            flows[e["id"]][ph] = e
        elif ph == "i":
            instants.append(e)
    return names, slices, flows, instants


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trace", help="the trace's JSON file")
    ap.add_argument("-o", "--output", help="the PNG to write (default: TRACE.png)")
    ap.add_argument("--from", dest="t0", type=float, help="start of the window, ms from the trace's start")
    ap.add_argument("--to", dest="t1", type=float, help="end of the window, ms")
    ap.add_argument("--width", type=float, default=12.0, help="figure width in inches (default 12)")
    ap.add_argument("--legend", type=int, default=10, help="fibers named in the legend (default 10)")
    ap.add_argument("--max-arrows", type=int, default=400, help="wake-up arrows drawn at most (default 400)")
    args = ap.parse_args()
    out = args.output or args.trace + ".png"

    names, slices, flows, instants = load(args.trace)
    ms = lambda us: us / 1000.0  # noqa: E731
    first = min([ms(s["ts"]) for s in slices] or [0.0])
    t0 = args.t0 if args.t0 is not None else first
    t1 = args.t1
    if t1 is None:
        t1 = max([ms(s["ts"] + s.get("dur", 0)) for s in slices] + [t0 + 0.001])

    def visible(start, end):
        return end >= t0 and start <= t1

    tids = sorted(set(names) | {s["tid"] for s in slices})
    lane = {tid: i for i, tid in enumerate(tids)}
    legend_rows = min(args.legend, 20) + 4
    fig_height = max(1.2 + 0.45 * max(len(tids), 1), 0.6 + 0.17 * legend_rows)
    fig, ax = plt.subplots(figsize=(args.width, fig_height))

    # One colour per fiber, stable across lanes.
    palette = plt.get_cmap("tab20").colors
    fiber_colour, fiber_label, run_time = {}, {}, defaultdict(float)
    for s in slices:
        if s.get("cat") != "fiber":
            continue
        fid = s.get("args", {}).get("fiber", 0)
        if fid not in fiber_colour:
            fiber_colour[fid] = palette[len(fiber_colour) % len(palette)]
            name = s.get("args", {}).get("name")
            fiber_label[fid] = f"{name} (fiber {fid})" if name else f"fiber {fid}"
        run_time[fid] += s.get("dur", 0)

    by_track = defaultdict(lambda: ([], [], []))  # tid -> (ranges, colours, hatches)
    for s in slices:
        start, end = ms(s["ts"]), ms(s["ts"] + s.get("dur", 0))
        if not visible(start, end):
            continue
        ranges, colours, hatches = by_track[s["tid"]]
        ranges.append((start, max(end - start, (t1 - t0) / 4000.0)))
        if s.get("cat") == "fiber":
            colours.append(fiber_colour[s.get("args", {}).get("fiber", 0)])
        else:
            colours.append("0.55")
    for tid, (ranges, colours, _) in by_track.items():
        ax.broken_barh(ranges, (lane[tid] - 0.35, 0.7), facecolors=colours, edgecolor="none")

    # Wake-ups: from the readier's point to the start of the readied slice.
    drawn = 0
    for pair in flows.values():
        if "s" not in pair or "f" not in pair or drawn >= args.max_arrows:
            continue
        s, f = pair["s"], pair["f"]
        xs, xf = ms(s["ts"]), ms(f["ts"])
        if not (visible(xs, xs) and visible(xf, xf)) or s["tid"] not in lane or f["tid"] not in lane:
            continue
        # Within one lane a low arc above the slices, about 15 pixels high
        # whatever its length (arc3's height is rad times its length).
        same = s["tid"] == f["tid"]
        rad = 0.0
        if same:
            length_px = max(abs(xf - xs) / (t1 - t0) * args.width * 90 * 0.75, 1.0)
            rad = -min(0.5, 30.0 / length_px)
        y_s, y_f = lane[s["tid"]] - (0.35 if same else 0), lane[f["tid"]] - (0.35 if same else 0)
        ax.annotate("", xy=(xf, y_f), xytext=(xs, y_s),
                    arrowprops=dict(arrowstyle="->", color="black", lw=0.6, alpha=0.6, shrinkA=0, shrinkB=0,
                                    connectionstyle=f"arc3,rad={rad}"))
        drawn += 1

    markers = {"go": ("v", "tab:green"), "steal": ("x", "tab:red"), "events lost": ("*", "tab:red"),
               "blocking_scope enter": ("|", "tab:purple"), "blocking_scope exit": ("|", "tab:purple")}
    for name, (marker, colour) in markers.items():
        xs = [ms(e["ts"]) for e in instants if e.get("name") == name and e["tid"] in lane]
        ys = [lane[e["tid"]] + 0.42 for e in instants if e.get("name") == name and e["tid"] in lane]
        pts = [(x, y) for x, y in zip(xs, ys) if visible(x, x)]
        if pts:
            ax.scatter([p[0] for p in pts], [p[1] for p in pts], marker=marker, s=18, color=colour, zorder=3)

    ax.set_yticks(range(len(tids)))
    ax.set_yticklabels([names.get(tid, str(tid)) for tid in tids])
    ax.set_xlim(t0, t1)
    ax.set_xlabel("ms since the trace started")
    ax.set_ylim(len(tids) - 0.4, -1.0)
    ax.grid(axis="x", color="0.9")
    ax.set_axisbelow(True)

    longest = sorted(run_time, key=lambda fid: -run_time[fid])[: args.legend]
    handles = [Patch(color=fiber_colour[fid], label=fiber_label[fid]) for fid in longest]
    handles.append(Patch(color="0.55", label="runtime (timer, netpoll, blocking call)"))
    handles.append(Line2D([], [], color="black", lw=0.8, label="wake-up (readier → readied)"))
    handles.append(Line2D([], [], marker="v", color="tab:green", lw=0, label="spawn (go)"))
    handles.append(Line2D([], [], marker="x", color="tab:red", lw=0, label="steal"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_title(f"goro execution trace: {args.trace.rsplit('/', 1)[-1]}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    print(f"trace-view: wrote {out} ({len(slices)} slices, {drawn} wake-ups drawn)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
