#!/usr/bin/env bash
# Print the sha256 of every output file of a fixed set of short runs, so an optimisation can
# be checked to leave trace.txt, the pcaps and stats.json byte-identical:
#
#   scripts/bench/outputs-hash.sh > /tmp/before.txt
#   ... change the code ...
#   scripts/bench/outputs-hash.sh | diff /tmp/before.txt -
#
# SIM selects the binary (default: target/release/sim, built first). params.json is hashed
# without its `file_abs` and `command` lines, which name the checkout and the output folder;
# run.json (the wall-clock time and speed) is left out.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${SIM:-}" ]; then
  cargo build --release -q -p sim-cli
  SIM=target/release/sim
fi
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
run() { # label, then sim run arguments
  local label=$1; shift
  rm -rf "$OUT/run"
  "$SIM" run "$@" --out "$OUT/run" --quiet
  local f
  (cd "$OUT/run" && find . -type f | LC_ALL=C sort) | while read -r f; do
    if [ "$f" = ./run.json ]; then
      continue # the wall-clock time of the run, different every time
    elif [ "$f" = ./params.json ]; then
      grep -v '"file_abs"\|"command"' "$OUT/run/$f" | sha256sum | sed "s|-\$|$f|"
    else
      (cd "$OUT/run" && sha256sum "$f")
    fi
  done | sed "s|^|$label |"
}
run ping            scenarios/ping.net
run ping-path       scenarios/ping.net --pcapng --trace path
run dns_then_http   scenarios/dns_then_http.net
run dns-path        scenarios/dns_then_http.net --trace path --pcapng
for s in dumbbell_udp dumbbell_tcp star_udp_1000; do
  run "$s" "scenarios/bench/$s.net" --until 300ms
done
run dumbbell_tcp-2s scenarios/bench/dumbbell_tcp.net --until 2s --pcap A,B --trace none
run star_100-path   scenarios/bench/star_udp_1000.net --set hosts=100 --until 50ms --trace path
