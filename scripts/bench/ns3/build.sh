#!/usr/bin/env bash
# Builds fattree.cc against Debian's ns-3 3.37 (apt-get install -y libns3-dev ns3), as
# ../shared/bench/ns3/build.sh builds the anchor programs.
set -euo pipefail
cd "$(dirname "$0")"
CXX=${CXX:-g++}
CXXFLAGS=${CXXFLAGS:-"-O2 -std=c++17 -Wall"}
LIBS="-lns3-applications -lns3-internet -lns3-traffic-control -lns3-point-to-point \
      -lns3-network -lns3-stats -lns3-core"
$CXX $CXXFLAGS -I/usr/include -o fattree fattree.cc -L/usr/lib/x86_64-linux-gnu -Wl,--no-as-needed $LIBS
