#!/usr/bin/env bash
# Instruction counts of a shortened run of each bench scenario under callgrind: the figure
# to judge an optimisation by on a shared, noisy machine (it does not depend on the load).
#
#   scripts/bench/callgrind.sh                 # all three, --until 1s (star: 200ms), pcap off
#   scripts/bench/callgrind.sh dumbbell_tcp    # one
#   PCAP=all KEEP=/tmp/cg scripts/bench/callgrind.sh   # with capture; keep callgrind.out.*
#   ARGS="--sample 1ms" scripts/bench/callgrind.sh dumbbell_tcp   # more `sim run` options
#
# Prints "scenario Ir"; with KEEP=DIR, leaves DIR/callgrind.<scenario>.out for
# callgrind_annotate. UNTIL overrides the simulated time (default 1s; star 200ms); SIM runs
# that binary instead of building target/release/sim (to compare two builds).
set -euo pipefail
cd "$(dirname "$0")/../.."
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is needed" >&2; exit 1; }
if [ -z "${SIM:-}" ]; then
  cargo build --release -q -p sim-cli
  SIM=${CARGO_TARGET_DIR:-target}/release/sim
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
KEEP=${KEEP:-}
[ -n "$KEEP" ] && mkdir -p "$KEEP"
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(dumbbell_udp dumbbell_tcp star_udp_1000)
for s in "${scenarios[@]}"; do
  until=${UNTIL:-1s}
  [ "$s" = star_udp_1000 ] && [ -z "${UNTIL:-}" ] && until=200ms
  out=${KEEP:-$WORK}/callgrind.$s.out
  valgrind --tool=callgrind --callgrind-out-file="$out" "$SIM" run "scenarios/bench/$s.net" \
    --pcap "${PCAP:-none}" --trace none --until "$until" --out "$WORK/run" --quiet ${ARGS:-} 2> "$WORK/vg.txt" \
    || { cat "$WORK/vg.txt" >&2; exit 1; }
  rm -rf "$WORK/run"
  echo "$s $(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$WORK/vg.txt")"
done
