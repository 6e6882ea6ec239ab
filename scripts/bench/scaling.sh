#!/usr/bin/env bash
# Scaling: scenarios/bench/tree.net (a two-level tree, light UDP traffic) at growing host
# counts. For each count: the time to load and build the scenario and write its outputs
# (a run with --until 0s), the whole run's wall time, the event loop's, events, and peak RSS
# and RSS per host.
#
# Then scenarios/bench/star_udp_1000.net at the same counts (one router with an interface
# per host, every host sending 100 datagrams a second): events per second of the event loop,
# wall and CPU (user) time, which should not depend on the number of hosts. The CPU figure
# is the run's user time minus that of its setup (a run with --until 0s), so a busy machine
# moves it less than the wall-clock one. Each count runs long enough for some 10^7 events
# (20 s simulated for 10^3 hosts, 2 s for 10^4, 1 s from 10^5 on) unless STAR_DURATION
# fixes it.
#
#   scripts/bench/scaling.sh                       # 1000 10000 100000 hosts, 2 s simulated
#   scripts/bench/scaling.sh 1000 10000            # chosen counts
#   DURATION=5s FANOUT=100 STAR_DURATION=1s scripts/bench/scaling.sh
#   STAR=0 scripts/bench/scaling.sh                # the tree only
#   MARKDOWN=1 scripts/bench/scaling.sh            # tables for docs/performance.md
#
# Outputs go to a temporary folder and are deleted (stats.json of 10^5 hosts is ~350 MB).
set -euo pipefail
cd "$(dirname "$0")/../.."
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000 100000)
DURATION=${DURATION:-2s}
FANOUT=${FANOUT:-100}
STAR=${STAR:-1}
STAR_DURATION=${STAR_DURATION:-auto}
[ -x /usr/bin/time ] || { echo "scaling.sh: GNU time (/usr/bin/time) is needed" >&2; exit 1; }
cargo build --release -q -p sim-cli
SIM=${CARGO_TARGET_DIR:-target}/release/sim
WORK=$(mktemp -d "${TMPDIR:-/tmp}/netsim-scaling.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }

rows=()
for n in "${counts[@]}"; do
  args=(run scenarios/bench/tree.net --set "hosts=$n" --set "fanout=$FANOUT" --set "duration=$DURATION"
        --pcap none --trace none --out "$WORK/run")
  # Setup alone: load, lower, build, and write the (zero-time) outputs.
  t0=$(now_ns)
  /usr/bin/time -f '%M' -o "$WORK/t0.txt" "$SIM" "${args[@]}" --until 0s --quiet
  t1=$(now_ns)
  rm -rf "$WORK/run"
  setup=$(secs "$t0" "$t1")
  setup_rss=$(tail -n1 "$WORK/t0.txt")
  # The whole run.
  t0=$(now_ns)
  /usr/bin/time -f '%M' -o "$WORK/t1.txt" "$SIM" "${args[@]}" > "$WORK/summary.txt"
  t1=$(now_ns)
  wall=$(secs "$t0" "$t1")
  rss=$(tail -n1 "$WORK/t1.txt")
  loop=$(sed -n 's/.* in \([0-9.]*\) s wall.*/\1/p' "$WORK/summary.txt" | head -n1)
  events=$(sed -n 's/^ *events *\([0-9]*\).*/\1/p' "$WORK/summary.txt" | head -n1)
  json=$(du -b "$WORK/run/stats.json" | cut -f1)
  rm -rf "$WORK/run"
  per_host=$(awk -v r="$rss" -v n="$n" 'BEGIN { printf "%.1f", r / n }')
  rows+=("$n|$setup|$(awk -v r="$setup_rss" 'BEGIN { printf "%.0f", r / 1024 }')|$wall|$loop|$events|$(awk -v r="$rss" 'BEGIN { printf "%.0f", r / 1024 }')|$per_host|$(awk -v j="$json" 'BEGIN { printf "%.0f", j / 1e6 }')")
  echo "hosts=$n setup+outputs=${setup}s (RSS ${setup_rss} KB) run=${wall}s loop=${loop}s events=$events RSS=${rss} KB (${per_host} KB/host) stats.json=${json} B" >&2
done

# The star: events/s of the event loop (the summary's wall figure) and per CPU second.
star_rows=()
if [ "$STAR" = 1 ]; then
  for n in "${counts[@]}"; do
    args=(run scenarios/bench/star_udp_1000.net --set "hosts=$n" --pcap none --trace none --out "$WORK/run")
    /usr/bin/time -f '%U' -o "$WORK/s0.txt" "$SIM" "${args[@]}" --until 0s --quiet
    rm -rf "$WORK/run"
    dur=$STAR_DURATION
    [ "$dur" != auto ] || dur="$(( n >= 20000 ? 1000 : 20000000 / n ))ms"
    /usr/bin/time -f '%U %M' -o "$WORK/s1.txt" "$SIM" "${args[@]}" --until "$dur" > "$WORK/summary.txt"
    rm -rf "$WORK/run"
    loop=$(sed -n 's/.* in \([0-9.]*\) s wall.*/\1/p' "$WORK/summary.txt" | head -n1)
    events=$(sed -n 's/^ *events *\([0-9]*\).*/\1/p' "$WORK/summary.txt" | head -n1)
    read -r user rss < <(tail -n1 "$WORK/s1.txt")
    user0=$(tail -n1 "$WORK/s0.txt")
    cpu=$(awk -v a="$user" -v b="$user0" 'BEGIN { printf "%.2f", a - b }')
    per_wall=$(awk -v e="$events" -v t="$loop" 'BEGIN { printf "%.2f", e / t / 1e6 }')
    per_cpu=$(awk -v e="$events" -v t="$cpu" 'BEGIN { printf "%.2f", (t > 0) ? e / t / 1e6 : 0 }')
    star_rows+=("$n|$dur|$events|$loop|$per_wall|$cpu|$per_cpu|$(awk -v r="$rss" 'BEGIN { printf "%.0f", r / 1024 }')")
    echo "star hosts=$n simulated=$dur events=$events loop=${loop}s (${per_wall} M/s) cpu=${cpu}s (${per_cpu} M/s) RSS=${rss} KB" >&2
  done
fi

table() { # header, then rows; columns separated by |
  local head=$1; shift
  local cols; cols=$(awk -F'|' '{ print NF }' <<< "$head")
  if [ "${MARKDOWN:-0}" = 1 ]; then
    echo "| ${head//|/ | } |"
    echo "|$(printf -- '---|%.0s' $(seq 1 "$cols"))"
    for r in "$@"; do echo "| ${r//|/ | } |"; done
  else
    { echo "$head"; printf '%s\n' "$@"; } | column -t -s '|'
  fi
}
table "hosts|setup + outputs s (--until 0s)|its peak RSS MiB|run s ($DURATION simulated)|event loop s|events|peak RSS MiB|KiB per host|stats.json MB" "${rows[@]}"
if [ "$STAR" = 1 ]; then
  echo
  table "star hosts|simulated|events|event loop s|M events/s|loop CPU s|M events/CPU s|peak RSS MiB" "${star_rows[@]}"
fi
