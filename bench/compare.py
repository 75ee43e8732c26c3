#!/usr/bin/env python3
"""compare.py: run the CPU and memory workloads of bench/README.md on every
runtime, interleaved, and report medians, spreads and ratios against goro.

bench/compare.sh builds everything and calls this; run it directly only with
binaries already built:

  compare.py [--quick] [--reps N] [--runtimes goro,go,...] [--workloads w,...]
             --goro DIR --go DIR [--fiber DIR] [--asio DIR] [--tokio DIR]
  compare.py --diff FIRST.csv SECOND.csv

Runtimes and where their programs are:
  goro   DIR/bench_<workload>          (meson, bench/goro/)
  go     DIR/<workload>                (bench/go/)
  fiber  DIR/fiber_<workload>          Boost.Fiber, work_stealing (bench/fiber/)
  asio   DIR/asio_<workload>           C++20 coroutines on Asio (bench/asio/)
  tokio  DIR/<workload>                Tokio (bench/tokio/)

Every program prints "<metric> <value> <unit>" lines (all units here are
lower-is-better). Each repetition runs every workload on every runtime before
the next workload, the runtimes' order rotating from one repetition to the
next, so a slow minute of the machine hits all of them alike. The memory
workload's repetitions run after all the others'. A program that
exits 3 with "n/a" on stderr, or a row listed in NOT_EXPRESSIBLE, is n/a.

Writes, under --out (default bench/results/):
  compare-STAMP-runs.csv  every run: rep, metric, n, runtime, value, unit,
                          and the process's user + system CPU seconds
  compare-STAMP.csv       per metric, n and runtime: median, min, max,
                          spread, runs, and the ratio runtime/goro
  compare-STAMP.png       the medians as bars, and memory per task against n
and prints the table, the targets and the memory table on stdout. Progress
goes to stderr. Exits 1 if any run failed.

--diff compares the runtime/goro ratios of two summary CSVs (the
reproducibility check: a second full run should be within 15%).
"""

import argparse
import csv
import datetime
import os
import resource
import statistics
import subprocess
import sys
import time

RUNTIMES = {
    # name: (label, executable name pattern)
    "goro": ("goro", "bench_{w}"),
    "go": ("Go", "{w}"),
    "fiber": ("Boost.Fiber", "fiber_{w}"),
    "asio": ("Asio C++20 coroutines", "asio_{w}"),
    "tokio": ("Tokio", "{w}"),
    # goro built from another commit (bench/compare.sh --base REV): before
    # and after a change, in one interleaved run.
    "base": ("goro at the base commit", "bench_{w}"),
}
SHORT = {"goro": "goro", "go": "Go", "fiber": "Fiber", "asio": "Asio", "tokio": "Tokio", "base": "base"}

# Rows a runtime cannot express: bench/README.md asks for "n/a", never a stand-in.
NOT_EXPRESSIBLE = {
    ("fiber", "select"): "Boost.Fiber's channels have no select",
    ("tokio", "mpmc"): "Tokio's mpsc channel has a single consumer",
    ("asio", "select"): "the awaitable operator || drops a value a losing receive had already taken "
                        "(bench/asio/select.cpp shows it)",
    ("fiber", "handoff"): "a fiber that blocks its thread keeps it and everything queued there",
    ("asio", "handoff"): "a coroutine that blocks its thread keeps it and everything queued there",
    ("tokio", "handoff"): "a task that blocks its worker keeps it (block_in_place must be called by hand)",
}

# What each runtime reserves per task for its stack, beside the measured
# resident memory: stackful runtimes reserve address space, stackless ones
# allocate the task's frame (its live variables) on the heap.
RESERVED = {
    "goro": "128 KiB mmap'd stack, committed page by page, guard page",
    "go": "2 KiB initial stack, grown by copying",
    "fiber": "16 KiB malloc'd fixedsize_stack, no guard",
    "asio": "no stack: a heap coroutine frame",
    "tokio": "no stack: a heap task holding the future",
    "base": "as goro",
}

FULL_RUNS = [("spawn", 1_000_000), ("skynet", 1_000_000), ("pingpong", 1_000_000), ("yield", 1_000_000),
             ("buffered", 10_000_000), ("mpmc", 10_000_000), ("select", 4_000_000), ("ring", 1_000_000),
             ("timers", 100_000), ("handoff", 200), ("memory", 10_000), ("memory", 100_000), ("memory", 1_000_000)]
# Quick: a tenth of the work, a fifth for the cheapest per-operation ones
# (skynet's n must stay a power of ten).
QUICK_RUNS = [("spawn", 100_000), ("skynet", 100_000), ("pingpong", 200_000), ("yield", 200_000),
              ("buffered", 1_000_000), ("mpmc", 1_000_000), ("select", 400_000), ("ring", 200_000),
              ("timers", 20_000), ("handoff", 50), ("memory", 10_000), ("memory", 100_000)]

# Targets, as goro/other ratios of medians (goro's value over the other's),
# and goro's own memory per parked task.
MEMORY_TARGET_BYTES = 4600
TARGETS = {
    "go": {"spawn": 0.5, "skynet": 0.35, "pingpong": 0.5, "yield": 0.5, "buffered": 0.7, "mpmc": 1.0,
           "select": 0.6, "ring": 0.5, "timers": 0.7},
    "fiber": {w: 1.0 for w in ("spawn", "skynet", "pingpong", "yield", "buffered", "mpmc", "ring", "timers",
                               "memory")},
    "tokio": {w: 1.5 for w in ("spawn", "skynet", "pingpong", "yield", "buffered", "select", "ring",
                               "timers")},
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def fmt(v):
    if v is None:
        return "-"
    if v >= 10_000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    return f"{v:.1f}"


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_one(exe, n, procs, timeout):
    """Returns (status, {metric: (value, unit)}, message, cpu): cpu is the
    process's user + system CPU seconds (runs are sequential, so the
    children's rusage grows by exactly this run's)."""
    env = dict(os.environ, GORO_MAXPROCS=str(procs), GOMAXPROCS=str(procs), BENCH_WORKERS=str(procs))
    cpu_before = children_cpu()
    try:
        p = subprocess.run([exe, str(n)], env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "failed", {}, f"timed out after {timeout} s", None
    cpu = children_cpu() - cpu_before
    if p.returncode == 3 and "n/a" in p.stderr:
        return "n/a", {}, p.stderr.strip(), None
    if p.returncode != 0:
        return "failed", {}, f"exit status {p.returncode}: {p.stderr.strip()[-300:]}", None
    metrics = {}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3:
            try:
                metrics[parts[0]] = (float(parts[1]), parts[2])
            except ValueError:
                pass
    if not metrics:
        return "failed", {}, f"no '<metric> <value> <unit>' line in: {p.stdout.strip()[:200]}", None
    return "ok", metrics, "", cpu


def summarise(rows, runtimes):
    """rows: dicts of every ok run. Returns the summary keyed (metric, n) ->
    {runtime: {...}}, in the order the metrics were first seen."""
    order, table = [], {}
    for r in rows:
        key = (r["metric"], r["n"])
        if key not in table:
            table[key] = {}
            order.append(key)
        table[key].setdefault(r["runtime"], {"values": [], "unit": r["unit"]})["values"].append(r["value"])
    for key in order:
        for rt, cell in table[key].items():
            vs = cell["values"]
            cell["median"] = statistics.median(vs)
            cell["min"], cell["max"] = min(vs), max(vs)
            cell["spread"] = (cell["max"] - cell["min"]) / cell["median"] * 100 if cell["median"] else 0.0
        goro = table[key].get("goro")
        for rt, cell in table[key].items():
            cell["ratio"] = cell["median"] / goro["median"] if goro and goro["median"] else None
    return order, table


def print_table(order, table, runtimes, na):
    w_name, w_col = 23, 18
    print()
    print("Medians (spread = (max-min)/median); in brackets each runtime's median over goro's:"
          " above 1 goro is faster or smaller")
    head = f"{'workload':<{w_name}}{'unit':<13}" + "".join(f"{SHORT[r]:>{w_col}}" for r in runtimes)
    print(head)
    print("-" * len(head))
    for key in order:
        metric, n = key
        unit = next(iter(table[key].values()))["unit"]
        cells = []
        for rt in runtimes:
            c = table[key].get(rt)
            if c is None:
                cells.append("n/a" if (rt, metric.split("_")[0]) in na else "FAIL")
                continue
            text = f"{fmt(c['median'])}±{c['spread']:.0f}%"
            if rt != "goro" and c["ratio"] is not None:
                r = c["ratio"]
                text += f" ({r:.0f})" if r >= 10 else f" ({r:.2g})"
            cells.append(text)
        label = f"{metric} n={n:,}"
        print(f"{label:<{w_name}}{unit:<13}" + "".join(f"{c:>{w_col}}" for c in cells))


def check_targets(order, table, runtimes):
    print()
    print("Targets (goro/other, medians):")
    misses = 0
    seen_full = {}
    for key in order:  # the largest n of each metric decides
        seen_full[key[0]] = key
    for other, goals in TARGETS.items():
        if other not in runtimes:
            continue
        for metric, limit in goals.items():
            key = seen_full.get(metric)
            if key is None:
                continue
            if metric == "memory":  # every size counts for memory
                keys = [k for k in order if k[0] == "memory"]
            else:
                keys = [key]
            for k in keys:
                g, o = table[k].get("goro"), table[k].get(other)
                if not g or not o:
                    continue
                ratio = g["median"] / o["median"]
                met = ratio < limit if other == "fiber" else ratio <= limit
                misses += not met
                rel = "<" if other == "fiber" else "<="
                print(f"  {k[0]:<9} n={k[1]:<10,} goro/{SHORT[other]:<6} {ratio:7.3f}  target {rel} {limit:<5}"
                      f" {'met' if met else 'MISSED'}")
    for k in [k for k in order if k[0] == "memory"]:
        g = table[k].get("goro")
        if g:
            met = g["median"] <= MEMORY_TARGET_BYTES
            misses += not met
            print(f"  memory    n={k[1]:<10,} goro         {g['median']:7.0f}  target <= {MEMORY_TARGET_BYTES} bytes"
                  f" {'met' if met else 'MISSED'}")
    return misses


def print_memory(order, table, runtimes):
    keys = [k for k in order if k[0] == "memory"]
    if not keys:
        return
    print()
    print("Memory per parked task (resident-set growth / n, bytes; page tables separately):")
    head = f"{'runtime':<8}" + "".join(f"{'n=' + format(k[1], ','):>13}" for k in keys) + \
        "".join(f"{'PTE n=' + format(k[1], ','):>17}" for k in keys) + "   reserved per task"
    print(head)
    for rt in runtimes:
        rss = [table[k].get(rt) for k in keys]
        pte = [table.get(("memory_pte", k[1]), {}).get(rt) for k in keys]
        if not any(rss):
            continue
        print(f"{SHORT[rt]:<8}" + "".join(f"{fmt(c['median']) if c else '-':>13}" for c in rss) +
              "".join(f"{fmt(c['median']) if c else '-':>17}" for c in pte) + f"   {RESERVED[rt]}")


def print_cpu(cpu_runs, runtimes, na):
    """The whole process's CPU time (user + system, every thread), median
    per run: wall time per operation says how fast, this says at what cost
    in cores, spinning idle workers included."""
    print()
    print("CPU time of the whole process (user + system), median per run, seconds; in brackets over goro's:")
    w_col = 16
    print(f"{'workload':<23}" + "".join(f"{SHORT[r]:>{w_col}}" for r in runtimes))
    for (w, n), per in cpu_runs.items():
        if w == "memory":
            continue
        goro = statistics.median(per["goro"]) if per.get("goro") else None
        cells = []
        for rt in runtimes:
            if not per.get(rt):
                cells.append("n/a" if (rt, w) in na else "-")
                continue
            m = statistics.median(per[rt])
            text = f"{m:.2f}"
            if rt != "goro" and goro:
                r = m / goro
                text += f" ({r:.0f})" if r >= 10 else f" ({r:.2g})"
            cells.append(text)
        print(f"{w + ' n=' + format(n, ','):<23}" + "".join(f"{c:>{w_col}}" for c in cells))


def write_csvs(stamp, out, runs, order, table, runtimes):
    runs_path = os.path.join(out, f"compare-{stamp}-runs.csv")
    with open(runs_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rep", "metric", "n", "runtime", "value", "unit", "process_cpu_s"])
        for r in runs:
            w.writerow([r["rep"], r["metric"], r["n"], r["runtime"], r["value"], r["unit"], f"{r['cpu_s']:.3f}"])
    sum_path = os.path.join(out, f"compare-{stamp}.csv")
    with open(sum_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["metric", "n", "unit", "runtime", "median", "min", "max", "spread_pct", "runs",
                    "ratio_to_goro"])
        for key in order:
            for rt in runtimes:
                c = table[key].get(rt)
                if c is None:
                    continue
                ratio = f"{c['ratio']:.4f}" if c["ratio"] is not None else ""
                w.writerow([key[0], key[1], c["unit"], rt, c["median"], c["min"], c["max"],
                            f"{c['spread']:.1f}", len(c["values"]), ratio])
    return runs_path, sum_path


def chart(stamp, out, order, table, runtimes, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("compare.py: no matplotlib (apt-get install python3-matplotlib): no chart")
        return None
    colours = {"goro": "#1b9e77", "go": "#7570b3", "fiber": "#d95f02", "asio": "#e7298a", "tokio": "#666666",
               "base": "#a6d854"}
    bars = [k for k in order if not k[0].startswith("memory")]
    mem = [k for k in order if k[0] == "memory"]
    cols = 4
    rows = (len(bars) + cols - 1) // cols + (1 if mem else 0)
    fig = plt.figure(figsize=(cols * 3.6, rows * 3.0))
    fig.suptitle(title, fontsize=10)
    for i, key in enumerate(bars):
        ax = fig.add_subplot(rows, cols, i + 1)
        names, vals, lo, hi, cs = [], [], [], [], []
        for rt in runtimes:
            c = table[key].get(rt)
            if c is None:
                continue
            names.append(SHORT[rt])
            vals.append(c["median"])
            lo.append(c["median"] - c["min"])
            hi.append(c["max"] - c["median"])
            cs.append(colours[rt])
        ax.bar(names, vals, color=cs, yerr=[lo, hi], capsize=2)
        if vals and min(vals) > 0 and max(vals) / min(vals) > 30:
            ax.set_yscale("log")
        unit = next(iter(table[key].values()))["unit"]
        ax.set_title(f"{key[0]} (n={key[1]:,})", fontsize=9)
        ax.set_ylabel(unit + ", lower is better", fontsize=8)
        ax.tick_params(labelsize=7)
    if mem:
        ax = fig.add_subplot(rows, 2, rows * 2 - 1)
        for rt in runtimes:
            pts = [(k[1], table[k][rt]["median"]) for k in mem if rt in table[k]]
            if pts:
                ax.plot([p[0] for p in pts], [max(p[1], 1.0) for p in pts], marker="o", color=colours[rt],
                        label=SHORT[rt])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("parked tasks", fontsize=8)
        ax.set_ylabel("resident bytes per task", fontsize=8)
        ax.set_title("memory per parked task", fontsize=9)
        ax.legend(fontsize=7)
        ax.tick_params(labelsize=7)
    fig.tight_layout()
    path = os.path.join(out, f"compare-{stamp}.png")
    fig.savefig(path, dpi=100)
    return path


def diff(first, second):
    def load(path):
        ratios = {}
        with open(path) as f:
            for r in csv.DictReader(f):
                if r["runtime"] != "goro" and r["ratio_to_goro"]:
                    ratios[(r["metric"], int(r["n"]), r["runtime"])] = float(r["ratio_to_goro"])
        return ratios

    a, b = load(first), load(second)
    print(f"runtime/goro ratios: {os.path.basename(first)} against {os.path.basename(second)}")
    print(f"{'metric':<12}{'n':>11}  {'runtime':<7}{'first':>9}{'second':>9}{'change':>9}")
    worst, over = 0.0, 0
    for key in a:
        if key not in b:
            continue
        change = b[key] / a[key] - 1
        worst = max(worst, abs(change))
        over += abs(change) > 0.15
        flag = "  > 15%" if abs(change) > 0.15 else ""
        print(f"{key[0]:<12}{key[1]:>11,}  {SHORT[key[2]]:<7}{a[key]:9.3f}{b[key]:9.3f}{change * 100:8.1f}%{flag}")
    print(f"largest change {worst * 100:.1f}%; {over} ratio(s) moved more than 15%")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="three repetitions at a tenth to a fifth of the sizes")
    ap.add_argument("--reps", type=int, default=None, help="repetitions (default 5; --quick: 3)")
    ap.add_argument("--runtimes", default="goro,go,fiber,asio,tokio")
    ap.add_argument("--workloads", default="", help="comma-separated; default all")
    ap.add_argument("--procs", type=int, default=2, help="worker threads of every runtime (default 2)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds allowed for one run")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    ap.add_argument("--diff", nargs=2, metavar="CSV")
    for rt in RUNTIMES:
        ap.add_argument(f"--{rt}", metavar="DIR", help=f"directory of {RUNTIMES[rt][0]}'s programs")
    args = ap.parse_args()
    if args.diff:
        return diff(*args.diff)

    runtimes = [r for r in args.runtimes.split(",") if r]
    for rt in runtimes:
        if rt not in RUNTIMES:
            ap.error(f"unknown runtime {rt}")
        if not getattr(args, rt):
            ap.error(f"--{rt} DIR is needed to run {rt}")
    reps = args.reps or (3 if args.quick else 5)
    plan = QUICK_RUNS if args.quick else FULL_RUNS
    if args.workloads:
        wanted = set(args.workloads.split(","))
        plan = [p for p in plan if p[0] in wanted]

    na = dict(NOT_EXPRESSIBLE)
    runs, failures = [], []
    cpu_runs = {}  # (workload, n) -> runtime -> CPU seconds of each run
    total = reps * len(plan) * len(runtimes)
    done, started = 0, time.monotonic()
    log(f"== {reps} repetition(s) of {len(plan)} runs on {', '.join(runtimes)}; "
        f"{args.procs} worker threads, {os.cpu_count()} CPUs")
    # The memory runs come after every repetition of the others: a million
    # parked tasks leave the kernel reclaiming gigabytes for a while, which
    # slowed whatever ran next by up to 4x on this VM.
    phases = [[p for p in plan if p[0] != "memory"], [p for p in plan if p[0] == "memory"]]
    schedule = [(rep, w, n) for phase in phases for rep in range(1, reps + 1) for w, n in phase]
    for rep, w, n in schedule:
        k = (rep - 1) % len(runtimes)
        for rt in runtimes[k:] + runtimes[:k]:
            done += 1
            if (rt, w) in na:
                continue
            exe = os.path.join(getattr(args, rt), RUNTIMES[rt][1].format(w=w))
            if rt == "base" and not os.access(exe, os.X_OK):
                na[(rt, w)] = "not in the base commit"
                continue
            if not os.access(exe, os.X_OK):
                failures.append(f"{rt} {w}: no program {exe}")
                log(f"[{done}/{total}] {rt:<6}{w} n={n:,}: MISSING {exe}")
                continue
            status, metrics, msg, cpu = run_one(exe, n, args.procs, args.timeout)
            elapsed = time.monotonic() - started
            eta = elapsed / done * (total - done)
            if status == "n/a":
                na[(rt, w)] = msg
                log(f"[{done}/{total}] {rt:<6}{w} n={n:,}: n/a ({msg})")
                continue
            if status == "failed":
                failures.append(f"{rt} {w} n={n}: {msg}")
                log(f"[{done}/{total}] {rt:<6}{w} n={n:,}: FAILED ({msg})")
                continue
            for metric, (value, unit) in metrics.items():
                runs.append({"rep": rep, "metric": metric, "n": n, "runtime": rt, "value": value,
                             "unit": unit, "cpu_s": cpu})
            cpu_runs.setdefault((w, n), {}).setdefault(rt, []).append(cpu)
            shown = ", ".join(f"{fmt(v)} {u}" for v, u in metrics.values())
            log(f"[{done}/{total}] rep {rep}/{reps} {rt:<6}{w} n={n:,}: {shown}   (about {eta:.0f} s left)")

    order, table = summarise(runs, runtimes)
    print_table(order, table, runtimes, na)
    print_memory(order, table, runtimes)
    print_cpu(cpu_runs, runtimes, na)
    misses = check_targets(order, table, runtimes)
    shown_na = sorted((rt, w, why) for (rt, w), why in na.items()
                      if rt in runtimes and any(p[0] == w for p in plan))
    if shown_na:
        print()
        print("n/a:")
        for rt, w, why in shown_na:
            print(f"  {SHORT[rt]} {w}: {why}")

    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    runs_path, sum_path = write_csvs(stamp, args.out, runs, order, table, runtimes)
    mode = "quick" if args.quick else "full"
    png = chart(stamp, args.out, order, table, runtimes,
                f"{mode} run {stamp}, {reps} rep(s), {args.procs} worker threads; medians, bars min-max")
    log(f"== runs: {runs_path}\n== summary: {sum_path}" + (f"\n== chart: {png}" if png else ""))
    print(f"\n{misses} target(s) missed.")
    if failures:
        for f in failures:
            log(f"compare.py: failed: {f}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
