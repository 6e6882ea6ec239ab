#!/usr/bin/env bash
# The benchmark command: our three benchmark scenarios (and, with --vs-ns3, ns-3 running the
# same scenarios alternately with ours, in the same run on the same machine).
#
#   scripts/bench.sh                          # ours only, 3 runs each, pcap off and on
#   scripts/bench.sh --vs-ns3                 # side by side with ns-3, with ratios
#   scripts/bench.sh --vs-ns3 --star-runs 1   # star_udp_1000 takes ns-3 ~2 min per run
#   scripts/bench.sh --only dumbbell_tcp --runs 5 --pcap off
#   scripts/bench.sh --vs-ns3 --markdown --json bench.json   # tables for docs/performance.md
#   scripts/bench.sh --vs-ns3 --pgo           # also a PGO build of ours, in the same runs
#   scripts/bench.sh --against main --pgo     # this tree against commit `main`, plain and PGO
#
# Options:
#   --vs-ns3          also build and run ns-3's `anchor` (../shared/bench/ns3); installs
#                     Debian's ns-3 (apt-get install -y libns3-dev ns3) if it is missing
#   --pgo             also build sim with profile-guided optimisation (scripts/build-pgo.sh,
#                     trained on other runs than these) and measure it as a third side,
#                     "netsim PGO", run by run alongside the plain release build
#   --against REV     also build commit REV (git archive into the work folder, its own target
#                     folder target/against-REV) and run it alternately with this tree, on REV's
#                     own scenarios/bench files: the "before" of a change, side by side; with
#                     --pgo both are also built with PGO. The summary gives this tree / REV.
#   --runs N          runs per scenario and pcap setting, each side (default 3)
#   --star-runs N     runs for star_udp_1000 (default: --runs)
#   --only NAME       only this scenario (repeatable; dumbbell_udp, dumbbell_tcp, dumbbell_bbr,
#                     dumbbell_dctcp, star_udp_1000)
#   --pcap off|on|both  which capture settings to measure (default both)
#   --until SECONDS   simulate this long instead of the scenarios' 10 s (quick checks only)
#   --json FILE       write every run and the summary as JSON to FILE
#   --markdown        print the summary as markdown tables (for docs/performance.md)
#
# What is measured, per run (ours: `sim run X.net --trace none --quiet --pcap none|all`):
#   wall s      the whole process (parse, build, run, write outputs), from the shell's clock
#   loop s      the event loop alone (ours: the summary's "s wall"; ns-3: its `run_s`)
#   events      events executed (ours: stats.json `events`; ns-3: Simulator::GetEventCount)
#   frames      frames serialized onto links (ours: stats.json `frames`, counted in
#               wire_transmit, ARP included; ns-3: PhyTxEnd of every p2p device)
#   peak RSS    GNU time's %M
#   pcap bytes  total size of the capture files written (then deleted)
#   dd          with pcap on: `dd if=/dev/zero bs=1M` of the same number of bytes into the same
#               folder, right after the run: the disk's floor for that much pcap
# Rates (events/s, frames/s, pcap bytes/s) are per wall second of the median run.
# Ratios: ns-3 / ours, of the medians. "vs loop" divides ns-3's in-process run_s (its anchor
# figure) by our whole-process wall time, which counts our setup and output writing against us.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

VS_NS3=0
PGO=0
AGAINST=
RUNS=3
STAR_RUNS=
ONLY=()
PCAP=both
UNTIL=
JSON_OUT=
MARKDOWN=0
NS3_SRC=${NS3_SRC:-$ROOT/../shared/bench/ns3}
ALL_SCENARIOS=(dumbbell_udp dumbbell_tcp dumbbell_bbr dumbbell_dctcp star_udp_1000)

die() { echo "bench.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case $1 in
    --vs-ns3) VS_NS3=1 ;;
    --pgo) PGO=1 ;;
    --against) AGAINST=${2:?--against needs a commit}; shift ;;
    --runs) RUNS=${2:?--runs needs a number}; shift ;;
    --star-runs) STAR_RUNS=${2:?--star-runs needs a number}; shift ;;
    --only) ONLY+=("${2:?--only needs a scenario}"); shift ;;
    --pcap) PCAP=${2:?--pcap needs off, on or both}; shift ;;
    --until) UNTIL=${2:?--until needs seconds}; shift ;;
    --json) JSON_OUT=${2:?--json needs a file}; shift ;;
    --markdown) MARKDOWN=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "--runs must be a positive integer"
STAR_RUNS=${STAR_RUNS:-$RUNS}
[[ $STAR_RUNS =~ ^[1-9][0-9]*$ ]] || die "--star-runs must be a positive integer"
case $PCAP in off) PCAPS=(0) ;; on) PCAPS=(1) ;; both) PCAPS=(0 1) ;; *) die "--pcap off|on|both" ;; esac
if [ -n "$UNTIL" ]; then
  [[ $UNTIL =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--until takes seconds (a number)"
fi
SCENARIOS=()
if [ ${#ONLY[@]} -eq 0 ]; then
  SCENARIOS=("${ALL_SCENARIOS[@]}")
else
  for s in "${ONLY[@]}"; do
    [[ " ${ALL_SCENARIOS[*]} " == *" $s "* ]] || die "unknown scenario $s (${ALL_SCENARIOS[*]})"
    SCENARIOS+=("$s")
  done
fi
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed for peak RSS: apt-get install time"
command -v python3 >/dev/null || die "python3 is needed to read stats.json and summarize"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/netsim-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
RUNS_FILE=$WORK/runs.jsonl
: > "$RUNS_FILE"

echo "== building sim (release)" >&2
cargo build --release -q -p sim-cli
SIM=${CARGO_TARGET_DIR:-$ROOT/target}/release/sim
[ -x "$SIM" ] || die "no binary at $SIM"
if [ "$PGO" = 1 ]; then
  echo "== building sim with PGO (scripts/build-pgo.sh)" >&2
  SIM_PGO=$("$ROOT/scripts/build-pgo.sh") || die "the PGO build failed"
  [ -x "$SIM_PGO" ] || die "no PGO binary at $SIM_PGO"
fi

if [ -n "$AGAINST" ]; then
  AGAINST_REV=$(git rev-parse --short "$AGAINST^{commit}" 2>/dev/null) || die "--against: no commit $AGAINST"
  echo "== building $AGAINST ($AGAINST_REV) in $WORK/base, target folder target/against-$AGAINST_REV" >&2
  mkdir -p "$WORK/base"
  git archive "$AGAINST_REV" | tar -x -C "$WORK/base"
  # One folder per commit: git archive dates every file at its commit's time, so cargo
  # would take another commit's newer artifacts in a shared folder as up to date.
  BASE_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}/against-$AGAINST_REV
  (cd "$WORK/base" && CARGO_TARGET_DIR=$BASE_TARGET cargo build --release -q -p sim-cli) \
    || die "building $AGAINST failed"
  SIM_BASE=$BASE_TARGET/release/sim
  if [ "$PGO" = 1 ]; then
    [ -x "$WORK/base/scripts/build-pgo.sh" ] || die "$AGAINST has no scripts/build-pgo.sh for --pgo"
    echo "== building $AGAINST with PGO" >&2
    SIM_BASE_PGO=$(CARGO_TARGET_DIR=$BASE_TARGET "$WORK/base/scripts/build-pgo.sh") \
      || die "the PGO build of $AGAINST failed"
  fi
fi

if [ "$VS_NS3" = 1 ]; then
  if ! [ -e /usr/include/ns3.37/ns3/core-module.h ] && ! [ -e /usr/include/ns3/core-module.h ] &&
     ! dpkg-query -W -f='${Status}' libns3-dev 2>/dev/null | grep -q 'install ok installed'; then
    echo "== installing Debian's ns-3 (libns3-dev ns3)" >&2
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -q >&2
    $SUDO apt-get install -y -q libns3-dev ns3 >&2
  fi
  [ -d "$NS3_SRC" ] || die "ns-3 program not found at $NS3_SRC (set NS3_SRC)"
  echo "== building ns-3 anchor from $NS3_SRC" >&2
  mkdir -p "$WORK/ns3"
  cp -r "$NS3_SRC"/. "$WORK/ns3/"
  chmod -R u+w "$WORK/ns3"
  (cd "$WORK/ns3" && PROGS=anchor ./build.sh >&2)
  ANCHOR=$WORK/ns3/anchor
  NS3_VERSION=$(dpkg-query -W -f='${Version}' libns3-dev 2>/dev/null || echo unknown)
fi

# One JSON object per run, appended to $RUNS_FILE.
record() { python3 - "$@" >> "$RUNS_FILE" <<'PY'
import json, sys
kv = dict(a.split("=", 1) for a in sys.argv[1:])
out = {}
for k, v in kv.items():
    try:
        out[k] = int(v)
    except ValueError:
        try:
            out[k] = float(v)
        except ValueError:
            out[k] = v
print(json.dumps(out))
PY
}

now_ns() { date +%s%N; }

pcap_bytes_in() { # total size of the capture files under $1
  find "$1" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -printf '%s\n' | awk '{s+=$1} END {print s+0}'
}

# dd of $1 bytes (rounded up to MiB) into the work folder; prints seconds.
dd_floor() {
  local mib=$(( ($1 + 1048575) / 1048576 ))
  local t0 t1
  t0=$(now_ns)
  dd if=/dev/zero of="$WORK/dd.bin" bs=1M count="$mib" status=none
  t1=$(now_ns)
  rm -f "$WORK/dd.bin"
  python3 -c "print(($t1 - $t0) / 1e9)"
}

# Before each timed run: write back what earlier runs left in the page cache (a pcap-on run
# and its dd leave gigabytes dirty), so that the kernel's writeback does not share the cores
# with the run being timed. Untimed; the same before ours and ns-3's.
settle() { sync; }

run_ours() { # scenario pcap rep [side binary scenario-folder]
  local s=$1 pcap=$2 rep=$3 side=${4:-ours} sim=${5:-$SIM} dir=${6:-scenarios/bench} out=$WORK/ours
  rm -rf "$out"
  local args=(run "$dir/$s.net" --trace none --out "$out")
  [ "$pcap" = 1 ] && args+=(--pcap all) || args+=(--pcap none)
  [ -n "$UNTIL" ] && args+=(--until "${UNTIL}s")
  local t0 t1
  settle
  t0=$(now_ns)
  /usr/bin/time -f '%M' -o "$WORK/time.txt" "$sim" "${args[@]}" > "$WORK/summary.txt" \
    || die "sim run failed: $sim ${args[*]} (summary: $(cat "$WORK/summary.txt"))"
  t1=$(now_ns)
  local rss loop pbytes=0 dd_s=
  rss=$(tail -n1 "$WORK/time.txt")
  loop=$(sed -n 's/.* in \([0-9.]*\) s wall.*/\1/p' "$WORK/summary.txt" | head -n1)
  [ -n "$loop" ] || die "no wall time in the summary of $s"
  [ -f "$out/stats.json" ] || die "no stats.json from $s"
  [ "$pcap" = 1 ] && pbytes=$(pcap_bytes_in "$out")
  local counts
  counts=$(python3 - "$out/stats.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
pk = by = 0
for node in d["nodes"].values():
    for app in ("udp_sink", "tcp_sink"):
        if app in node:
            pk += node[app].get("received", 0)
            by += node[app].get("bytes", 0)
print(d["events"], d["frames"], pk, by)
PY
)
  read -r events frames dpk dby <<<"$counts"
  rm -rf "$out"
  [ "$pcap" = 1 ] && dd_s=$(dd_floor "$pbytes")
  record side="$side" scenario="$s" pcap="$pcap" rep="$rep" \
    wall_s="$(python3 -c "print(($t1 - $t0) / 1e9)")" loop_s="$loop" rss_kb="$rss" \
    events="$events" frames="$frames" pcap_bytes="$pbytes" \
    delivered_pkts="$dpk" delivered_bytes="$dby" ${dd_s:+dd_s=$dd_s}
  echo "   $side  $s pcap=$pcap run $rep: $(tail -n1 "$RUNS_FILE")" >&2
}

run_ns3() { # scenario pcap rep
  local s=$1 pcap=$2 rep=$3 pdir=$WORK/ns3pcap
  rm -rf "$pdir"; mkdir -p "$pdir"
  # The congestion-control dumbbells are ns-3's dumbbell_tcp with its attribute defaults
  # changed from the command line, as scenarios/bench/dumbbell_{bbr,dctcp}.net say.
  local args=(--pcap="$pcap" --pcapDir="$pdir")
  case $s in
    dumbbell_tcp) args+=(--scenario="$s" --segSize=1448) ;;
    dumbbell_bbr) args+=(--scenario=dumbbell_tcp --segSize=1448
                         --ns3::TcpL4Protocol::SocketType=ns3::TcpBbr) ;;
    dumbbell_dctcp) args+=(--scenario=dumbbell_tcp --segSize=1448
                           --ns3::TcpL4Protocol::SocketType=ns3::TcpDctcp
                           --ns3::FqCoDelQueueDisc::CeThreshold=4ms) ;;
    *) args+=(--scenario="$s") ;;
  esac
  [ -n "$UNTIL" ] && args+=(--simTime="$UNTIL")
  local t0 t1
  settle
  t0=$(now_ns)
  /usr/bin/time -f '%M' -o "$WORK/time.txt" "$ANCHOR" "${args[@]}" > "$WORK/ns3.json" \
    || die "ns-3 anchor failed: ${args[*]}"
  t1=$(now_ns)
  local rss pbytes dd_s=
  rss=$(tail -n1 "$WORK/time.txt")
  pbytes=$(pcap_bytes_in "$pdir")
  rm -rf "$pdir"
  local fields
  fields=$(python3 - "$WORK/ns3.json" <<'PY'
import json, sys
d = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
print(d["run_s"], d["setup_s"], d["events"], d["link_tx_pkts"], d["sink_rx_pkts"], d["sink_rx_bytes"])
PY
)
  read -r run_s setup_s events frames dpk dby <<<"$fields"
  [ "$pcap" = 1 ] && dd_s=$(dd_floor "$pbytes")
  record side=ns3 scenario="$s" pcap="$pcap" rep="$rep" \
    wall_s="$(python3 -c "print(($t1 - $t0) / 1e9)")" loop_s="$run_s" setup_s="$setup_s" \
    rss_kb="$rss" events="$events" frames="$frames" pcap_bytes="$pbytes" \
    delivered_pkts="$dpk" delivered_bytes="$dby" ${dd_s:+dd_s=$dd_s}
  echo "   ns-3  $s pcap=$pcap run $rep: $(tail -n1 "$RUNS_FILE")" >&2
}

echo "== host: $(nproc) cores, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for s in "${SCENARIOS[@]}"; do
  n=$RUNS
  [ "$s" = star_udp_1000 ] && n=$STAR_RUNS
  for rep in $(seq 1 "$n"); do
    for pcap in "${PCAPS[@]}"; do
      run_ours "$s" "$pcap" "$rep"
      # A scenario the --against commit does not have is measured on this tree's file.
      bdir=$WORK/base/scenarios/bench
      [ -n "$AGAINST" ] && ! [ -f "$bdir/$s.net" ] && bdir=scenarios/bench
      [ -n "$AGAINST" ] && run_ours "$s" "$pcap" "$rep" base "$SIM_BASE" "$bdir"
      [ "$PGO" = 1 ] && run_ours "$s" "$pcap" "$rep" ours_pgo "$SIM_PGO"
      [ -n "$AGAINST" ] && [ "$PGO" = 1 ] &&
        run_ours "$s" "$pcap" "$rep" base_pgo "$SIM_BASE_PGO" "$bdir"
      [ "$VS_NS3" = 1 ] && run_ns3 "$s" "$pcap" "$rep"
    done
  done
done

META="{\"date\":\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\",\"commit\":\"$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- sim-core sim-stack sim-dsl sim-cli 2>/dev/null || echo +dirty)\",\"cores\":$(nproc),\"kernel\":\"$(uname -r)\",\"ns3\":\"${NS3_VERSION:-}\",\"until\":\"${UNTIL:-10}\",\"runs\":$RUNS,\"star_runs\":$STAR_RUNS,\"pgo\":$PGO,\"against\":\"${AGAINST_REV:-}\"}"
python3 "$ROOT/scripts/bench/summarize.py" "$RUNS_FILE" --meta "$META" \
  ${JSON_OUT:+--json "$JSON_OUT"} $([ "$MARKDOWN" = 1 ] && echo --markdown)
