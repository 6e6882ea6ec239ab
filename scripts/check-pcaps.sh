#!/usr/bin/env bash
# check-pcaps.sh — validate pcap/pcapng files with tshark (Wireshark's dissectors).
#
#   scripts/check-pcaps.sh FILE_OR_DIR...              check the given files (dirs: every
#                                                      *.pcap and *.pcapng below them)
#   scripts/check-pcaps.sh --scenarios SCENARIO.net... build `sim` (release), run each scenario
#                                                      into a temporary folder, check its pcaps,
#                                                      run it again with --pcapng and check that
#   scripts/check-pcaps.sh --self-test [GOOD.pcap]     prove the checker catches broken files
#                                                      (IPv4 from GOOD.pcap or a ping run, and
#                                                      IPv6 from frames built into this script)
#
# A file passes when
#   1. `tshark -r FILE -q` succeeds (the file reads to the end),
#   2. it holds at least one frame,
#   3. with IP/UDP/TCP checksum validation on, no frame matches
#        _ws.malformed or _ws.expert.severity >= "Error"
#        or a *.checksum.status == "Bad" (ip, icmp, icmpv6, udp, tcp)
#      The explicit checksum clauses are there because Wireshark 4.0 files a bad ICMP or
#      ICMPv6 checksum under severity Warning, not Error, so the expert filter alone misses
#      it. UDP and TCP are checked over IPv4 and IPv6 alike (the udp/tcp check_checksum
#      preferences cover both families; ICMPv6 checksums are always checked).
#      A file holding several interfaces (pcapng) gets this check one interface at a time:
#      the same TCP segment seen at successive hops would otherwise look like a
#      retransmission overlapping old data, which Wireshark reports as malformed.
#
# Output: one line per file (`ok  PATH  N frames`, or `BAD  PATH` followed by the reasons and
# the offending frames), then `N passed, M failed`. Exit status: 0 all passed, 1 any failed
# (or tshark missing, or nothing to check), 2 usage error.
#
# Scenario-specific protocol assertions (see protocol_assertions below) run in --scenarios
# mode: for dns_then_http, the client's pcap must show a DNS query and answer, an HTTP GET
# and a 200.
#
# Environment: SIM=/path/to/sim uses that binary instead of building one (--scenarios and
# --self-test); TSHARK=/path/to/tshark picks the tshark to use; KEEP=1 keeps the temporary
# folder (the scenarios' outputs) instead of removing it on exit, and prints where it is.
#
# Needs: bash, tshark (Debian: apt-get install tshark), coreutils, od, dd. No python.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TSHARK="${TSHARK:-tshark}"

# The display filter of check 3.
FILTER='_ws.malformed or _ws.expert.severity >= "Error"'
FILTER+=' or ip.checksum.status == "Bad" or icmp.checksum.status == "Bad"'
FILTER+=' or icmpv6.checksum.status == "Bad"'
FILTER+=' or udp.checksum.status == "Bad" or tcp.checksum.status == "Bad"'
# Checksum validation is off by default in Wireshark (offloading makes it noisy on real
# captures); our frames carry real checksums, so turn it on.
PREFS=(-o ip.check_checksum:TRUE -o udp.check_checksum:TRUE -o tcp.check_checksum:TRUE)

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
}

die_usage() {
    echo "check-pcaps: $*" >&2
    echo "usage: scripts/check-pcaps.sh FILE_OR_DIR... | --scenarios SCENARIO.net... | --self-test [GOOD.pcap]" >&2
    exit 2
}

need_tshark() {
    if ! command -v "$TSHARK" >/dev/null 2>&1; then
        cat >&2 <<EOF
check-pcaps: tshark not found (looked for '$TSHARK' in PATH).
  Install it: apt-get install tshark   (Debian/Ubuntu; .ci/run does this on CI)
  or point TSHARK at a tshark binary.
EOF
        exit 1
    fi
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/check-pcaps.XXXXXX")"
cleanup() {
    if [[ -n ${KEEP:-} ]]; then
        echo "check-pcaps: KEEP is set: outputs kept in $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
ERR="$WORK/tshark.stderr"

# tshark with its stderr saved in $ERR, minus the "Running as user root" warning and blank
# lines; returns tshark's exit status.
ts() {
    local rc=0
    "$TSHARK" "$@" 2>"$ERR.raw" || rc=$?
    grep -v -e '^Running as user' -e '^[[:space:]]*$' "$ERR.raw" >"$ERR" || true
    return "$rc"
}

PASSED=0
FAILED=0

# Prints `  | line` for each line of stdin (details under a BAD line).
indent() { sed 's/^/      | /'; }

# problem_frames FILE: the frames of FILE that match $FILTER, one per line:
# number, interface name, protocol, info, expert messages (tab-separated).
problem_frames() {
    ts -r "$1" "${PREFS[@]}" -Y "$FILTER" -T fields -E separator=/t -E aggregator='; ' \
        -e frame.number -e frame.interface_name -e _ws.col.Protocol -e _ws.col.Info \
        -e _ws.expert.message
}

# check_file FILE: checks 1-3; prints the result line; counts it; returns 0 if ok.
check_file() {
    local f=$1 n bad frames ids
    local -a why=()
    frames="$WORK/bad-frames"
    : >"$frames"
    if ! ts -r "$f" -q >/dev/null; then
        why+=("tshark cannot read the file: $(tr '\n' ' ' <"$ERR")")
    else
        n=$(ts -r "$f" -T fields -e frame.number | wc -l) || true
        n=${n//[[:space:]]/}
        if [[ $n -eq 0 ]]; then
            why+=("no frames (every checked file must hold at least one)")
        fi
        ids=$(ts -r "$f" -T fields -e frame.interface_id | sort -un | tr '\n' ' ') || true
        if [[ $(wc -w <<<"$ids") -le 1 ]]; then
            problem_frames "$f" >"$frames" || why+=("tshark failed on the filter pass: $(tr '\n' ' ' <"$ERR")")
        else
            # Several capture points in one file (pcapng): check each interface on its own.
            # Together, the copies of one TCP segment seen at successive hops look to
            # Wireshark's TCP analysis like retransmissions overlapping old data, which it
            # reports as a malformed reassembly.
            local id split="$WORK/one-interface.pcapng" numbers="$WORK/frame-numbers"
            for id in $ids; do
                if ! ts -r "$f" -Y "frame.interface_id == $id" -w "$split" ||
                    ! ts -r "$f" -Y "frame.interface_id == $id" -T fields -e frame.number >"$numbers"; then
                    why+=("tshark failed to extract interface $id: $(tr '\n' ' ' <"$ERR")")
                    continue
                fi
                # Report the frames under their numbers in the whole file.
                problem_frames "$split" | awk -F'\t' -v OFS='\t' 'NR == FNR { orig[NR] = $1; next }
                    { $1 = orig[$1]; print }' "$numbers" - >>"$frames" ||
                    why+=("tshark failed on the filter pass (interface $id): $(tr '\n' ' ' <"$ERR")")
            done
            sort -n -o "$frames" "$frames"
        fi
        bad=$(wc -l <"$frames")
        bad=${bad//[[:space:]]/}
        if [[ $bad -gt 0 ]]; then
            why+=("$bad frame(s) match the problem filter:")
        fi
    fi
    if [[ ${#why[@]} -eq 0 ]]; then
        printf 'ok   %s  %s frames\n' "$f" "$n"
        PASSED=$((PASSED + 1))
        return 0
    fi
    printf 'BAD  %s\n' "$f"
    printf '%s\n' "${why[@]}" | indent
    awk -F'\t' '{
        iface = ($2 == "") ? "" : " on " $2
        printf "frame %s%s: %s %s", $1, iface, $3, $4
        if ($5 != "") printf "  (expert: %s)", $5
        printf "\n"
    }' "$frames" | head -n 20 | indent
    bad=$(wc -l <"$frames")
    bad=${bad//[[:space:]]/}
    [[ $bad -le 20 ]] || echo "... and $((bad - 20)) more" | indent
    FAILED=$((FAILED + 1))
    return 1
}

# check_paths PATH...: every file given, every *.pcap / *.pcapng under every dir given.
check_paths() {
    local p f found=0
    for p in "$@"; do
        if [[ -d $p ]]; then
            while IFS= read -r -d '' f; do
                found=1
                check_file "$f" || true
            done < <(find "$p" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -print0 | sort -z)
        elif [[ -f $p ]]; then
            found=1
            check_file "$p" || true
        else
            echo "BAD  $p"
            echo "no such file or folder" | indent
            FAILED=$((FAILED + 1))
        fi
    done
    if [[ $found -eq 0 && $FAILED -eq 0 ]]; then
        echo "check-pcaps: no .pcap or .pcapng file found in: $*" >&2
        FAILED=$((FAILED + 1))
    fi
}

# assert_frames LABEL FILE FILTER: FILE must hold at least one frame matching FILTER.
assert_frames() {
    local label=$1 f=$2 filter=$3 n
    if [[ ! -f $f ]]; then
        printf 'BAD  %s  %s\n' "$f" "$label"
        echo "file missing" | indent
        FAILED=$((FAILED + 1))
        return
    fi
    n=$(ts -r "$f" -Y "$filter" -T fields -e frame.number 2>/dev/null | wc -l) || true
    n=${n//[[:space:]]/}
    if [[ $n -gt 0 ]]; then
        printf 'ok   %s  %s: %s frames match %s\n' "$f" "$label" "$n" "$filter"
        PASSED=$((PASSED + 1))
    else
        printf 'BAD  %s  %s\n' "$f" "$label"
        { echo "no frame matches: $filter"; cat "$ERR"; } | indent
        FAILED=$((FAILED + 1))
    fi
}

# protocol_assertions NAME OUTDIR: what the dissectors must show for a named scenario.
# Add a case here when a scenario's traffic has something worth asserting.
protocol_assertions() {
    local name=$1 dir=$2
    case $name in
    dns_then_http)
        local c="$dir/client-eth0.pcap"
        assert_frames "DNS query" "$c" 'dns.flags.response == 0'
        assert_frames "DNS answer" "$c" 'dns.flags.response == 1 and dns.count.answers > 0'
        assert_frames "HTTP GET" "$c" 'http.request.method == "GET"'
        assert_frames "HTTP 200" "$c" 'http.response.code == 200'
        ;;
    esac
}

# Sets SIM to a sim binary: $SIM if set, else a fresh release build.
build_sim() {
    if [[ -n ${SIM:-} ]]; then
        [[ -x $SIM ]] || { echo "check-pcaps: SIM=$SIM is not an executable" >&2; exit 1; }
        return
    fi
    echo "==> cargo build --release -p sim-cli" >&2
    (cd "$ROOT" && cargo build --release -p sim-cli) >&2
    SIM="${CARGO_TARGET_DIR:-$ROOT/target}/release/sim"
    if [[ $SIM != /* ]]; then SIM="$ROOT/$SIM"; fi
}

# run_sim SCENARIO OUTDIR [sim options...]: runs it quietly; on failure counts and reports it.
run_sim() {
    local file=$1 out=$2 rc=0
    shift 2
    "$SIM" run "$file" --out "$out" --quiet "$@" 2>"$WORK/sim.stderr" || rc=$?
    if [[ $rc -ne 0 ]]; then
        printf 'BAD  %s  (sim run%s) exited with %s\n' "$file" "${*:+ $*}" "$rc"
        indent <"$WORK/sim.stderr"
        FAILED=$((FAILED + 1))
        return 1
    fi
}

run_scenarios() {
    [[ $# -gt 0 ]] || die_usage "--scenarios needs at least one scenario file"
    local file name out i=0
    for file in "$@"; do
        [[ -f $file ]] || die_usage "no such scenario: $file"
    done
    build_sim
    for file in "$@"; do
        i=$((i + 1))
        name=$(basename "$file" .net)
        out="$WORK/$i-$name"
        echo "==> $file"
        if run_sim "$file" "$out"; then
            check_paths "$out"
            protocol_assertions "$name" "$out"
        fi
        # The same run as one pcapng, with each frame's function path as a packet comment
        # (exercises the comment options too).
        if run_sim "$file" "$out-pcapng" --pcapng --trace path; then
            check_file "$out-pcapng/capture.pcapng" || true
        fi
    done
}

# --- self-test ------------------------------------------------------------------------------

# Unsigned integers from a file, little-endian u32 / big-endian u16 at a byte offset.
u32le() { od -An -tu1 -v -j "$2" -N 4 "$1" | awk '{ print $1 + 256 * ($2 + 256 * ($3 + 256 * $4)) }'; }
u16be() { od -An -tu1 -v -j "$2" -N 2 "$1" | awk '{ print 256 * $1 + $2 }'; }
u8()    { od -An -tu1 -v -j "$2" -N 1 "$1" | awk '{ print $1 }'; }

# put_byte FILE OFFSET VALUE: overwrites one byte in place.
put_byte() {
    # shellcheck disable=SC2059  # the format is the escape itself
    printf "\\x$(printf '%02x' "$3")" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# first_ipv4 FILE: "OFFSET FRAME": the byte offset of the IPv4 header of the first IPv4
# frame of a little-endian classic pcap (Ethernet), and that frame's number (from 1);
# nothing if there is none. Global header 24 bytes; each record: a 16-byte header
# (incl_len at +8, little-endian) then incl_len bytes of frame.
first_ipv4() {
    local f=$1 size off incl data frame=0
    case $(od -An -tx1 -N 4 "$f" | tr -d ' \n') in
    d4c3b2a1 | 4d3cb2a1) ;; # microsecond / nanosecond pcap, little-endian
    *) return 0 ;;
    esac
    size=$(wc -c <"$f")
    off=24
    while ((off + 16 <= size)); do
        incl=$(u32le "$f" $((off + 8)))
        data=$((off + 16))
        frame=$((frame + 1))
        if ((incl >= 34 && data + incl <= size)) &&
            [[ $(u16be "$f" $((data + 12))) -eq 2048 ]] &&                     # EtherType IPv4
            (($(u8 "$f" $((data + 14))) >> 4 == 4)); then                     # version 4
            echo "$((data + 14)) $frame"
            return 0
        fi
        off=$((data + incl))
    done
}

# hex_bytes HEX: writes the bytes a string of hex digits spells.
hex_bytes() {
    # shellcheck disable=SC2059  # the format is the escapes themselves
    printf "$(sed 's/../\\x&/g' <<<"$1")"
}

# le32 N: writes N as a little-endian u32.
le32() {
    local h
    h=$(printf '%08x' "$1")
    hex_bytes "${h:6:2}${h:4:2}${h:2:2}${h:0:2}"
}

# write_pcap OUT FRAME_HEX...: a little-endian microsecond pcap (Ethernet) of the frames.
write_pcap() {
    local out=$1 f
    shift
    hex_bytes d4c3b2a1020004000000000000000000ffff000001000000 >"$out"
    for f in "$@"; do
        { le32 0; le32 0; le32 $((${#f} / 2)); le32 $((${#f} / 2)); hex_bytes "$f"; } >>"$out"
    done
}

# IPv6 frames with correct checksums for the self-test: the client's router solicitation
# (ICMPv6) and TCP SYN from the IPv6 Linux reference (reference-ipv6/client.pcap), and an
# AAAA query over UDP/IPv6 built for this test (flow label 0x12345).
V6_ICMP=33330000000202000000000286dd6000000000103afffe80000000000000000000fffe000002ff02000000000000000000000000000285007b2a000000000101020000000002
V6_TCP=02000000000102000000000286dd600358720028064020010db800000000000000000000000220010db8000100000000000000000080d5a60050edcf7d5d00000000a002fd20f8760000020405a00402080aa5b30fad000000000103030a
V6_UDP=02000000000102000000000286dd600123450023114020010db800000000000000000000000220010db80001000000000000000000539c40003500233f986bc00100000100000000000005626169647503636f6d00001c0001

# self_test_ipv6 DIR: the IPv6 frames pass; each with one checksum byte flipped is caught
# (ICMPv6 at +2, TCP at +16, UDP at +6 after the 54 bytes of Ethernet and IPv6 headers).
self_test_ipv6() {
    local dir=$1 frames=("$V6_ICMP" "$V6_TCP" "$V6_UDP") names=(ICMPv6 TCP UDP) at=(2 16 6)
    local i off pos=24 f
    echo "==> self-test on IPv6 frames (ICMPv6, TCP and UDP over IPv6)"
    write_pcap "$dir/good6.pcap" "${frames[@]}"
    expect "IPv6 frames pass" ok "$dir/good6.pcap"
    for i in 0 1 2; do
        off=$((pos + 16 + 54 + at[i]))
        f="$dir/bad-${names[i],,}-over-ipv6-checksum.pcap"
        cp "$dir/good6.pcap" "$f"
        put_byte "$f" "$off" $(($(u8 "$f" "$off") ^ 0xff))
        expect "flipped ${names[i]}-over-IPv6 checksum byte is caught" BAD "$f" \
            "frame $((i + 1)): .*Bad checksum \[should be"
        pos=$((pos + 16 + ${#frames[i]} / 2))
    done
}

# expect LABEL WANT FILE [REGEX]: runs check_file on FILE in a subshell; WANT is ok or BAD;
# REGEX (grep basic regex), if given, must match a line of the checker's report.
SELFTEST_FAILS=0
expect() {
    local label=$1 want=$2 f=$3 pattern=${4:-} out got
    out=$(check_file "$f" 2>&1) && got=ok || got=BAD
    printf '%s\n' "$out" | sed 's/^/    /'
    if [[ $got != "$want" ]]; then
        echo "self-test FAILED: $label: the checker said $got, expected $want"
        SELFTEST_FAILS=$((SELFTEST_FAILS + 1))
    elif [[ -n $pattern ]] && ! grep -q -- "$pattern" <<<"$out"; then
        echo "self-test FAILED: $label: no line of the report matches '$pattern'"
        SELFTEST_FAILS=$((SELFTEST_FAILS + 1))
    else
        echo "  self-test ok: $label -> $got"
    fi
}

self_test() {
    local good=${1:-} dir="$WORK/self-test" ip frame off old size f icmp=
    mkdir -p "$dir"
    if [[ -z $good ]]; then
        build_sim
        echo "==> sim run scenarios/ping.net (a known-good capture)"
        run_sim "$ROOT/scenarios/ping.net" "$dir/run" || exit 1
        for f in "$dir"/run/*.pcap; do
            if [[ -n $(first_ipv4 "$f") ]]; then good=$f; break; fi
        done
        [[ -n $good ]] || { echo "self-test: no pcap with an IPv4 frame in $dir/run" >&2; exit 1; }
    fi
    [[ -f $good ]] || die_usage "no such file: $good"
    read -r ip frame < <(first_ipv4 "$good") || true
    [[ -n ${ip:-} ]] || { echo "self-test: $good is not a little-endian pcap with an IPv4 frame" >&2; exit 1; }

    cp "$good" "$dir/good.pcap"
    # One IP header checksum byte flipped (the checksum is at +10 in the IPv4 header).
    off=$((ip + 10))
    cp "$good" "$dir/bad-ip-checksum.pcap"
    old=$(u8 "$good" "$off")
    put_byte "$dir/bad-ip-checksum.pcap" "$off" $((old ^ 0xff))
    # If that frame is ICMP, a copy with a flipped ICMP checksum byte too (+2 in the ICMP
    # header): Wireshark rates that a Warning, so it tests the filter's checksum clauses.
    if [[ $(u8 "$good" $((ip + 9))) -eq 1 ]]; then
        icmp=$((ip + ($(u8 "$good" "$ip") & 15) * 4 + 2))
        cp "$good" "$dir/bad-icmp-checksum.pcap"
        put_byte "$dir/bad-icmp-checksum.pcap" "$icmp" $(($(u8 "$good" "$icmp") ^ 0xff))
    fi
    # The last record cut short.
    size=$(wc -c <"$good")
    head -c $((size - 5)) "$good" >"$dir/truncated.pcap"
    # The global header alone: a valid file without frames.
    head -c 24 "$good" >"$dir/no-frames.pcap"

    echo "==> self-test on copies of $good (frame $frame: IP checksum byte at file offset $off, $old -> $((old ^ 0xff)))"
    expect "unmodified copy passes" ok "$dir/good.pcap"
    expect "flipped IP checksum byte is caught" BAD "$dir/bad-ip-checksum.pcap" \
        "frame $frame: .*Bad checksum \[should be"
    if [[ -n $icmp ]]; then
        expect "flipped ICMP checksum byte is caught" BAD "$dir/bad-icmp-checksum.pcap" \
            "frame $frame: .*Bad checksum \[should be"
    fi
    expect "truncated file is caught" BAD "$dir/truncated.pcap" "cut short"
    expect "file without frames is caught" BAD "$dir/no-frames.pcap" "no frames"
    self_test_ipv6 "$dir"
    if [[ $SELFTEST_FAILS -gt 0 ]]; then
        echo "self-test: $SELFTEST_FAILS expectation(s) failed: the checker cannot be trusted"
        exit 1
    fi
    echo "self-test passed: the checker accepts a good capture and rejects each broken copy"
    exit 0
}

# --- main -------------------------------------------------------------------------------------

[[ $# -gt 0 ]] || die_usage "nothing to check"
case $1 in
-h | --help)
    usage
    exit 0
    ;;
--self-test)
    [[ $# -le 2 ]] || die_usage "--self-test takes at most one pcap"
    need_tshark
    self_test "${2:-}"
    ;;
--scenarios)
    shift
    need_tshark
    run_scenarios "$@"
    ;;
-*)
    die_usage "unknown option $1"
    ;;
*)
    need_tshark
    check_paths "$@"
    ;;
esac

echo "$PASSED passed, $FAILED failed"
[[ $FAILED -eq 0 ]]
