#!/bin/sh
# Sweep the dumbbell's bottleneck rate with `sim sweep` alone: the plain-shell equivalent of
# bottleneck.py, without a plot. One run per (rate, seed) of scenarios/bench/dumbbell_tcp.net
# with 4 pairs for 5 s; prints the per-run table, then per rate the mean goodput of all pairs
# (bytes received by R0..R3 x 8 / run time) and the mean drops at the bottleneck's qdisc.
#
#   scenarios/sweeps/bottleneck.sh                     # writes out/sweeps/bottleneck-sh/
#   RATES=1Mbit,10Mbit SEEDS=1..5 scenarios/sweeps/bottleneck.sh
#   SIM=target/release/sim PAIRS=2 UNTIL=2s scenarios/sweeps/bottleneck.sh
#
# Needs only a POSIX shell and awk. Finds `sim` as $SIM, then on $PATH, then in this
# repository's target/release/ (building it with cargo if it is not there).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
RATES=${RATES:-2Mbit,5Mbit,10Mbit,20Mbit,50Mbit,100Mbit,200Mbit}
SEEDS=${SEEDS:-1..3}
PAIRS=${PAIRS:-4}
UNTIL=${UNTIL:-5s}
OUT=${OUT:-out/sweeps/bottleneck-sh}

if [ -z "${SIM:-}" ]; then
    if command -v sim >/dev/null 2>&1; then
        SIM=sim
    else
        SIM=$repo/target/release/sim
        if [ ! -x "$SIM" ]; then
            echo "building sim: cargo build --release -p sim-cli" >&2
            (cd "$repo" && cargo build --release -p sim-cli)
        fi
    fi
fi

# One --metric per receiver: R0.tcp_sink.bytes ... R{PAIRS-1}.tcp_sink.bytes.
metrics=""
i=0
while [ "$i" -lt "$PAIRS" ]; do
    metrics="$metrics --metric R$i.tcp_sink.bytes"
    i=$((i + 1))
done

mkdir -p "$OUT"
# shellcheck disable=SC2086 # $metrics is a list of words
set -- "$SIM" sweep "$repo/scenarios/bench/dumbbell_tcp.net" \
    --set "pairs=$PAIRS" --until "$UNTIL" \
    --vary "bottleneck_rate=$RATES" --vary "seed=$SEEDS" \
    $metrics --metric A.eth0.qdisc.drops --out "$OUT/sweep.csv"
echo "\$ $*" >&2
status=0
"$@" || status=$?
# 1: some runs failed, and their rows say why; anything else is an error.
[ "$status" -le 1 ] || exit "$status"

cat "$OUT/sweep.csv"
echo
# Columns: run, bottleneck_rate, seed, R0..R{PAIRS-1} bytes, drops, error.
awk -F, -v pairs="$PAIRS" -v until="$UNTIL" '
    function seconds(t) {
        if (t ~ /ms$/) return substr(t, 1, length(t) - 2) / 1e3
        if (t ~ /us$/) return substr(t, 1, length(t) - 2) / 1e6
        if (t ~ /ns$/) return substr(t, 1, length(t) - 2) / 1e9
        return substr(t, 1, length(t) - 1)
    }
    NR == 1 { secs = seconds(until); next }
    !/,$/ { print "failed: " $0 > "/dev/stderr"; next }   # the error column is not empty
    {
        rate = $2
        if (!(rate in n)) order[++rates] = rate
        bytes = 0
        for (i = 4; i < 4 + pairs; i++) bytes += $i
        goodput[rate] += bytes * 8 / secs / 1e6
        drops[rate] += $(4 + pairs)
        n[rate]++
    }
    END {
        print "rate,goodput_mbps,qdisc_drops,runs"
        for (k = 1; k <= rates; k++) {
            r = order[k]
            if (n[r] > 0) printf "%s,%.3f,%.1f,%d\n", r, goodput[r] / n[r], drops[r] / n[r], n[r]
        }
    }
' "$OUT/sweep.csv" | tee "$OUT/bottleneck.csv"
echo "wrote $OUT/sweep.csv and $OUT/bottleneck.csv" >&2
exit "$status"
