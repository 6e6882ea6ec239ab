#!/usr/bin/env bash
# Builds `sim` with profile-guided optimisation (PGO) and prints the binary's path:
#
#   scripts/build-pgo.sh                 # -> target/pgo/release/sim
#   SIM=$(scripts/build-pgo.sh) && $SIM run scenarios/dns_then_http.net
#
# Three steps, as rustc's book describes (https://doc.rust-lang.org/rustc/profile-guided-optimization.html):
#   1. an instrumented release build (-Cprofile-generate) in target/pgo-gen;
#   2. a training run of that build, writing .profraw files;
#   3. llvm-profdata merges them, and a release build with -Cprofile-use goes to target/pgo.
# The code is the same as `cargo build --release`'s and so are the outputs, byte for byte (CI
# checks it); only the layout of the machine code differs, hot paths laid out from counts.
#
# The training workload is NOT the benchmark's runs: the same scenario files with other
# parameters (4 or 8 pairs instead of 16, other rates, 200 or 2,000 hosts instead of 1,000,
# shorter), the flagship and ping scenarios, and pcap on and off — the paths a user's runs
# take, not the measured runs themselves.
#
# llvm-profdata must come from the LLVM that rustc uses (`rustc -vV`, "LLVM version"): the
# script looks for rustup's llvm-tools component, then llvm-profdata-<major> on PATH, and
# otherwise installs Debian's llvm-<major> (apt-get) — as scripts/bench.sh installs ns-3.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
die() { echo "build-pgo.sh: $*" >&2; exit 1; }
say() { echo "== $*" >&2; }

major=$(rustc -vV | sed -n 's/^LLVM version: \([0-9]*\).*/\1/p')
[ -n "$major" ] || die "cannot read rustc's LLVM version from 'rustc -vV'"
profdata=
sysroot=$(rustc --print sysroot)
for p in "$sysroot"/lib/rustlib/*/bin/llvm-profdata "$(command -v "llvm-profdata-$major" || true)"; do
  [ -n "$p" ] && [ -x "$p" ] && { profdata=$p; break; }
done
if [ -z "$profdata" ]; then
  say "installing Debian's llvm-$major for llvm-profdata (rustc uses LLVM $major)"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "llvm-$major" >&2
  profdata=$(command -v "llvm-profdata-$major") || die "llvm-$major installed no llvm-profdata-$major"
fi
"$profdata" merge --help > /dev/null 2>&1 || die "$profdata does not run"

base=${CARGO_TARGET_DIR:-$ROOT/target}
gen_dir=$base/pgo-gen
use_dir=$base/pgo
data=$base/pgo-data
rm -rf "$data"
mkdir -p "$data"

say "PGO 1/3: instrumented release build ($gen_dir)"
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-generate=$data" CARGO_TARGET_DIR=$gen_dir \
  cargo build --release -q -p sim-cli
# Build scripts and proc macros ran instrumented too; only the training's profiles count.
rm -f "$data"/*.profraw

say "PGO 2/3: training runs"
gen=$gen_dir/release/sim
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
train() { # sim run arguments
  "$gen" run "$@" --trace none --quiet --out "$out/run" > /dev/null || die "training run failed: $*"
  rm -rf "$out/run"
}
for f in scenarios/*.net; do
  train "$f" --pcap all
  "$gen" run "$f" --trace path --quiet --out "$out/run" > /dev/null || die "training run failed: $f"
  rm -rf "$out/run"
done
b=scenarios/bench
train $b/dumbbell_udp.net --set pairs=8 --set bottleneck_rate=50Mbit --until 4s --pcap none
train $b/dumbbell_udp.net --set pairs=4 --until 1s --pcap all
train $b/dumbbell_tcp.net --set pairs=8 --set bottleneck_rate=50Mbit --until 6s --pcap none
train $b/dumbbell_tcp.net --set pairs=4 --set qdisc=pfifo_fast --until 2s --pcap all
train $b/star_udp_1000.net --set hosts=200 --until 2s --pcap none
train $b/star_udp_1000.net --set hosts=64 --until 500ms --pcap all
train $b/tree.net --set hosts=2000 --set fanout=40 --set duration=2s --pcap none
ls "$data"/*.profraw > /dev/null 2>&1 || die "the training wrote no profiles into $data"

say "PGO 3/3: merge, and release build with the profile ($use_dir)"
"$profdata" merge -o "$data/merged.profdata" "$data"/*.profraw
RUSTFLAGS="${RUSTFLAGS:-} -Cprofile-use=$data/merged.profdata" CARGO_TARGET_DIR=$use_dir \
  cargo build --release -q -p sim-cli
[ -x "$use_dir/release/sim" ] || die "no binary at $use_dir/release/sim"
echo "$use_dir/release/sim"
