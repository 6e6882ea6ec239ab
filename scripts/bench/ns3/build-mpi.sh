#!/usr/bin/env bash
# Builds ns-3 3.37 with MPI (Debian's source package; Debian's libns3-dev has no `mpi`
# module) and then fattree_mpi.cc against it. Needs a C++17 compiler, cmake, ninja and an
# MPI (apt-get install -y g++ cmake ninja-build libopenmpi-dev openmpi-bin bzip2 curl).
#
#   NS3_MPI_DIR=/somewhere/outside/the/repo ./build-mpi.sh    # default ~/ns-3.37-mpi
#   mpirun --allow-run-as-root --oversubscribe -np 2 ./fattree_mpi --k=8 \
#       --arrivals=0.010 --simTime=0.020                     # --nullmsg=1: null messages
#   ./fattree_mpi --k=8 --arrivals=0.010 --simTime=0.020     # one rank: sequential
#
# ns-3 is configured as `./ns3 configure -d optimized` does (-O3 -march=native, asserts and
# logs off) with only the modules the fat-tree needs: core, network, internet,
# point-to-point, applications, traffic-control, mpi (and bridge, stats, which they pull
# in). On the shared 2-core machine (CI running, nice -n 19) the whole script, from the
# download to the program, took 7 min 0 s with JOBS=2; `./ns3 build` on one job, 7 min 41 s.
set -euo pipefail
cd "$(dirname "$0")"
DIR=${NS3_MPI_DIR:-$HOME/ns-3.37-mpi}
JOBS=${JOBS:-2}
SRC=$DIR/ns-allinone-3.37/ns-3.37
POOL=http://deb.debian.org/debian/pool/main/n/ns3
mkdir -p "$DIR"
if [ ! -f "$SRC/ns3" ]; then
    curl -fsS -o "$DIR/ns3_3.37.orig.tar.bz2" "$POOL/ns3_3.37.orig.tar.bz2"
    echo "8c82cd7de27632944d82d43b3b834de3  $DIR/ns3_3.37.orig.tar.bz2" | md5sum -c --quiet
    tar -C "$DIR" -xjf "$DIR/ns3_3.37.orig.tar.bz2" ns-allinone-3.37/ns-3.37
fi
LIB=$SRC/build/lib
MODULES="core network internet point-to-point applications traffic-control mpi bridge stats"
if [ ! -f "$LIB/libns3.37-mpi-optimized.so" ]; then
    (cd "$SRC" &&
        ./ns3 configure -G Ninja -d optimized --enable-mpi --disable-examples --disable-tests \
            --enable-modules="core;network;internet;point-to-point;applications;mpi;traffic-control" &&
        cmake --build cmake-cache -j "$JOBS")
fi
LIBS=""
for m in $MODULES; do LIBS="$LIBS -lns3.37-$m-optimized"; done
MPICXX=${MPICXX:-mpicxx}
# The defines and flags ns-3's own build uses for this profile.
$MPICXX -O3 -march=native -mtune=native -std=gnu++17 -Wall -DNDEBUG \
    -DNS3_BUILD_PROFILE_OPTIMIZED -DNS3_MPI -I"$SRC/build/include" \
    -o fattree_mpi fattree_mpi.cc -L"$LIB" -Wl,-rpath,"$LIB" -Wl,--no-as-needed $LIBS
