#!/usr/bin/env bash
# Speed-up of `sim run --threads N` over the sequential run of the same scenario, measured
# alternately in one go on this machine, with the window figures that show its limits.
#
#   scripts/bench/parallel.sh scenarios/dc/fattree_k8_websearch.net
#   THREADS="1 2 4" RUNS=5 scripts/bench/parallel.sh X.net --set load=50% --until 10ms
#
# Extra arguments go to every `sim run` (besides `--pcap none --trace none --quiet`). For
# each thread count: the median of RUNS runs (default 3) of the event loop's wall time
# (run.json's wall_ns: parse, build and output writing left out), events per second, the
# speed-up over 1 thread, and from run.json the windows, frames crossed, cut links and the
# share of the loop the first thread spent waiting at barriers and merging outputs. Every
# run's stats.json must be byte-identical to the first (the script fails otherwise).
#
# SIM selects the binary (default: target/release/sim, built first).
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 1 ] || { echo "usage: $0 SCENARIO.net [sim run options]" >&2; exit 2; }
if [ -z "${SIM:-}" ]; then
  cargo build --release -q -p sim-cli
  SIM=${CARGO_TARGET_DIR:-target}/release/sim
fi
THREADS=${THREADS:-"1 2"}
RUNS=${RUNS:-3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for r in $(seq 1 "$RUNS"); do
  for t in $THREADS; do
    out="$WORK/t$t-r$r"
    "$SIM" run "$@" --pcap none --trace none --quiet --threads "$t" --out "$out"
    if [ -f "$WORK/reference.json" ]; then
      cmp -s "$WORK/reference.json" "$out/stats.json" \
        || { echo "parallel.sh: stats.json on $t threads differs from the first run" >&2; exit 1; }
    else
      cp "$out/stats.json" "$WORK/reference.json"
    fi
    rm -f "$out"/*.pcap
  done
done
python3 - "$WORK" "$RUNS" $THREADS <<'EOF'
import json, statistics, sys
work, runs, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
events = json.load(open(f"{work}/reference.json"))["events"]
base = None
print("| threads | loop s (median) | events/s | speed-up | windows | frames crossed | cut links | waiting | merging |")
print("|---|---|---|---|---|---|---|---|---|")
for t in threads:
    rs = [json.load(open(f"{work}/t{t}-r{r}/run.json")) for r in range(1, runs + 1)]
    wall = statistics.median(r["wall_ns"] for r in rs) / 1e9
    base = base or wall
    p = rs[0].get("parallel")
    if p:
        share = lambda k: statistics.median(r["parallel"][k] / r["wall_ns"] for r in rs)
        extra = (f"{p['windows']} | {p['cross_frames']} | {p['cut_links']} | "
                 f"{share('wait_ns'):.0%} | {share('serial_ns'):.0%}")
    else:
        extra = "– | – | – | – | –"
    print(f"| {t} | {wall:.3f} | {events / wall / 1e6:.2f} M | {base / wall:.2f}× | {extra} |")
EOF
