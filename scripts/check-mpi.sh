#!/usr/bin/env bash
# One run over several MPI processes (`mpirun -np N sim run --mpi`) must write what the run in
# one process writes, byte for byte: the trace with kernel paths, every pcap, stats.json, the
# samples and the snapshots (params.json names the command, run.json the wall clock: both
# left out).
#
#   scripts/check-mpi.sh SIM_WITH_MPI            # the scenarios below on 2 (and 3) ranks
#
# SIM_WITH_MPI is a sim built with `--features mpi` (Debian: libopenmpi-dev, openmpi-bin and
# libclang-dev installed). mpirun runs as root here with --allow-run-as-root, and with
# --oversubscribe on a machine with fewer cores than ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
sim=${1:?usage: scripts/check-mpi.sh SIM_WITH_MPI}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# MPI_TRANSPORT: extra mpirun arguments for one check (word-split on purpose).
mpirun_() { mpirun --allow-run-as-root --oversubscribe --bind-to none ${MPI_TRANSPORT:-} "$@"; }
runs=0
check() {
    local scenario=$1 ranks=$2; shift 2
    runs=$((runs + 1))
    local name; name=$(basename "$scenario" .net)-$ranks-$runs
    "$sim" run "$scenario" --trace path --quiet --out "$work/$name-one" "$@"
    mpirun_ -np "$ranks" "$sim" run "$scenario" --mpi --trace path --quiet \
        --out "$work/$name-mpi" "$@"
    # Every file, samples/ and snapshots/ included, and no other.
    diff -r -x params.json -x run.json "$work/$name-one" "$work/$name-mpi" >&2
    local files
    files=$(cd "$work/$name-one" && find . -type f ! -name params.json ! -name run.json | wc -l)
    [ ! -e "$work/$name-mpi/stats.json" ] && { echo "no stats.json on $ranks ranks" >&2; exit 1; }
    echo "ok   $scenario${*:+ $*} on $ranks ranks${MPI_TRANSPORT:+ ($MPI_TRANSPORT)}: $files files identical"
}
check scenarios/dns_then_http.net 2
check scenarios/two_sites.net 2
check scenarios/dual_stack.net 2
check scenarios/netfilter/masquerade.net 2
check scenarios/dc/fattree_k4_websearch.net 2 --until 5ms
check scenarios/dc/fattree_k4_websearch.net 3 --until 5ms
# Samples (every kind) and snapshots (every kind, at an instant and at the end).
check scenarios/dc/fattree_k4_websearch.net 3 --until 3ms --sample 100us --snapshot all \
    --snapshot-at 1ms
# Between machines OpenMPI sends over TCP, not through shared memory: the same run with TCP
# as the only transport between the ranks (over the loopback here) gives the same bytes.
MPI_TRANSPORT="--mca btl tcp,self --mca btl_tcp_if_include lo" \
    check scenarios/dc/fattree_k4_websearch.net 2 --until 5ms
