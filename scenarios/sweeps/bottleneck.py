#!/usr/bin/env python3
"""Sweep the dumbbell's bottleneck rate and plot goodput and drops against it.

Runs `sim sweep` over scenarios/bench/dumbbell_tcp.net (or dumbbell_udp.net with --udp)
with a few pairs and a short run, one run per (rate, seed), then averages over the seeds:

    goodput  = bytes received by all the sinks R0..R{n-1} x 8 / run time
    drops    = packets dropped by the bottleneck's qdisc (router A, eth0, toward B)

and writes, into --out (default out/sweeps/bottleneck/):

    sweep.csv       the table `sim sweep` wrote, one row per run
    bottleneck.csv  one row per rate: rate_mbps, goodput_mbps, utilisation, qdisc_drops, runs
    bottleneck.png  goodput and drops against the rate, if matplotlib can be imported

Python 3 standard library only; matplotlib is used when it is installed, and without it the
script says so and writes the CSV files alone. Finds `sim` as $SIM, then on $PATH, then in
target/release/ of this repository (building it with cargo if it is not there).

    python3 scenarios/sweeps/bottleneck.py
    python3 scenarios/sweeps/bottleneck.py --rates 1Mbit,10Mbit,100Mbit --seeds 1..5 --pairs 2
    python3 scenarios/sweeps/bottleneck.py --udp --until 1s
"""

import argparse
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
UNITS = {"bit": 1e-6, "kbit": 1e-3, "mbit": 1.0, "gbit": 1e3, "tbit": 1e6}


def find_sim():
    """The sim binary: $SIM, `sim` on PATH, or target/release/sim (built if missing)."""
    if os.environ.get("SIM"):
        return os.environ["SIM"]
    on_path = shutil.which("sim")
    if on_path:
        return on_path
    built = REPO / "target" / "release" / "sim"
    if not built.exists():
        print("building sim: cargo build --release -p sim-cli", file=sys.stderr)
        subprocess.run(
            ["cargo", "build", "--release", "-p", "sim-cli"], cwd=REPO, check=True
        )
    return str(built)


def mbps(rate):
    """'100Mbit' -> 100.0 (megabits per second)."""
    r = rate.strip().lower()
    for unit in sorted(UNITS, key=len, reverse=True):
        if r.endswith(unit):
            return float(r[: -len(unit)]) * UNITS[unit]
    raise ValueError(f"not a rate: {rate!r} (expected e.g. 10Mbit)")


def seconds(time):
    """'2s' -> 2.0, '500ms' -> 0.5."""
    t = time.strip()
    for unit, scale in (("ms", 1e-3), ("us", 1e-6), ("ns", 1e-9), ("s", 1.0)):
        if t.endswith(unit):
            return float(t[: -len(unit)]) * scale
    raise ValueError(f"not a time: {time!r} (expected e.g. 2s)")


def main():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument(
        "--rates",
        default="2Mbit,5Mbit,10Mbit,20Mbit,50Mbit,100Mbit,200Mbit",
        help="bottleneck rates, comma-separated (default: %(default)s)",
    )
    ap.add_argument("--seeds", default="1..3", help="seeds, as --vary takes them (default: %(default)s)")
    ap.add_argument("--pairs", type=int, default=4, help="sender/receiver pairs (default: %(default)s)")
    ap.add_argument("--until", default="5s", help="simulated time of each run (default: %(default)s)")
    ap.add_argument("--udp", action="store_true", help="dumbbell_udp.net (constant-rate UDP) instead of TCP")
    ap.add_argument("--jobs", type=int, help="runs at the same time (default: all CPUs)")
    ap.add_argument(
        "--out", default="out/sweeps/bottleneck", help="output folder (default: %(default)s)"
    )
    args = ap.parse_args()

    proto = "udp" if args.udp else "tcp"
    scenario = REPO / "scenarios" / "bench" / f"dumbbell_{proto}.net"
    sink = f"{proto}_sink"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sweep_csv = out / "sweep.csv"

    cmd = [find_sim(), "sweep", str(scenario), "--set", f"pairs={args.pairs}", "--until", args.until,
           "--vary", f"bottleneck_rate={args.rates}", "--vary", f"seed={args.seeds}"]
    for i in range(args.pairs):
        cmd += ["--metric", f"R{i}.{sink}.bytes"]
    cmd += ["--metric", "A.eth0.qdisc.drops", "--out", str(sweep_csv)]
    if args.jobs:
        cmd += ["--jobs", str(args.jobs)]
    print("$ " + " ".join(cmd), file=sys.stderr)
    status = subprocess.run(cmd).returncode
    if status not in (0, 1):  # 1: some runs failed, and their rows say why
        sys.exit(f"sim sweep failed (exit status {status})")

    duration = seconds(args.until)
    by_rate = {}  # rate -> [goodput_mbps, ...], [drops, ...]
    order = []
    with open(sweep_csv, newline="") as f:
        for row in csv.DictReader(f):
            rate = row["bottleneck_rate"]
            if rate not in by_rate:
                by_rate[rate] = ([], [])
                order.append(rate)
            if row["error"]:
                print(f"run {row['run']} ({rate}, seed {row['seed']}): {row['error']}", file=sys.stderr)
                continue
            received = sum(int(row[f"R{i}.{sink}.bytes"]) for i in range(args.pairs))
            by_rate[rate][0].append(received * 8 / duration / 1e6)
            by_rate[rate][1].append(int(row["A.eth0.qdisc.drops"]))

    table = []
    for rate in order:
        goodputs, drops = by_rate[rate]
        if not goodputs:
            continue
        g = sum(goodputs) / len(goodputs)
        table.append((mbps(rate), g, g / mbps(rate), sum(drops) / len(drops), len(goodputs)))
    table.sort()
    summary_csv = out / "bottleneck.csv"
    with open(summary_csv, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["rate_mbps", "goodput_mbps", "utilisation", "qdisc_drops", "runs"])
        for r, g, u, d, n in table:
            w.writerow([f"{r:g}", f"{g:.3f}", f"{u:.3f}", f"{d:.1f}", n])

    print(f"{'rate':>10} {'goodput':>14} {'use':>6} {'drops':>8}")
    for r, g, u, d, _ in table:
        print(f"{r:>6g} Mbit {g:>9.3f} Mbit {u:>6.1%} {d:>8.1f}")
    print(f"wrote {sweep_csv} and {summary_csv}")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (the CSV files have the figures)")
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    rates = [t[0] for t in table]
    ax.plot(rates, [t[1] for t in table], "o-", color="tab:blue", label="goodput")
    ax.plot(rates, rates, ":", color="gray", label="bottleneck rate")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("bottleneck rate (Mbit/s)")
    ax.set_ylabel("goodput, all pairs (Mbit/s)", color="tab:blue")
    ax2 = ax.twinx()
    ax2.plot(rates, [t[3] for t in table], "s--", color="tab:red", label="qdisc drops")
    ax2.set_ylabel("packets dropped at the bottleneck qdisc", color="tab:red")
    ax.set_title(f"dumbbell_{proto}: {args.pairs} pairs, {args.until}, mean of {table[0][4] if table else 0} seeds")
    lines = ax.get_legend_handles_labels()
    lines2 = ax2.get_legend_handles_labels()
    ax.legend(lines[0] + lines2[0], lines[1] + lines2[1], loc="upper left")
    fig.tight_layout()
    png = out / "bottleneck.png"
    fig.savefig(png, dpi=120)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
