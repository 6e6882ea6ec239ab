#!/bin/bash
# Linux ground truth for netfilter on the flagship topology: NAT, REJECT, LOG, conntrack, and the text of
# iptables/conntrack listings. Same namespaces, MACs, addresses, offloads and servers as the IPv4 reference
# (/work/shared/reference/REFERENCE.md, shared/reference-ipv6/capture.sh), IPv4 only, plus rules on the router.
#
# Usage: ./capture.sh MODE [OUTDIR]
#   MODE = masq    nat POSTROUTING -o eth1 MASQUERADE; flagship curl, a UDP datagram to a closed port (ICMP port
#                  unreachable back through the NAT), ping -c 2 web, then a source-port clash (two client
#                  addresses, same UDP source port, same destination) to see MASQUERADE remap a port
#          dnat    nat PREROUTING DNAT tcp 8080 -> 10.0.1.80:80 on the router (curl http://10.0.0.1:8080/),
#                  and REDIRECT tcp 8081 -> 80 on the web host (curl http://10.0.1.80:8081/)
#          reject  REJECT in the router's FORWARD (tcp-reset, default icmp-port-unreachable, icmp-host-prohibited,
#                  icmp-admin-prohibited) and INPUT (tcp-reset, default); the client tries each once, then a TCP and
#                  a UDP port that pass the router but are closed on web (its own kernel answers, for contrast)
#          log     LOG in the router's FORWARD/INPUT/OUTPUT; the kernel's lines are read from /dev/kmsg
#          state   stateful FORWARD (policy DROP, ESTABLISHED,RELATED + NEW from eth0 to eth1); flagship, a
#                  RELATED ICMP error, and attempts from the server side that must be dropped
#          rules   a ruleset using a user chain and many matches/targets (listing formats), flagship through it
#          all     each of the above 3 times into OUTDIR/MODE-N (default ./runs), plus masq-acct-1 (ACCT=1),
#                  state-legacy-1 and rules-legacy-1 (IPT=iptables-legacy); then analyze.py writes frames.md in
#                  each run and OUTDIR/vary.md, OUTDIR/nat_ports.md
# Optional environment: IPT=iptables-legacy uses the legacy (x_tables) backend instead of iptables-nft.
#                       ACCT=1 sets net.netfilter.nf_conntrack_acct=1 in the router before any traffic.
#                       POST_WAIT=seconds captured after the last action (default 6: covers the ~5 s ARP probes).
#
# Topology (addresses exist only inside these namespaces; nothing is routed elsewhere):
#   nf-client eth0 10.0.0.2/24 02:00:00:00:00:02 ==== nf-router eth0 10.0.0.1/24 02:00:00:00:00:01
#                                                     nf-router eth1 10.0.1.1/24 02:00:00:00:01:01 ==== nf-sw p1 (br0)
#   nf-dns eth0 10.0.1.53/24 02:00:00:00:01:53 ==== nf-sw p2 ; nf-web eth0 10.0.1.80/24 02:00:00:00:01:80 ==== nf-sw p3
set -u
MODE=${1:-masq}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
IPT=${IPT:-iptables}
case "$IPT" in iptables|iptables-nft|iptables-legacy) ;; *) echo "capture.sh: IPT must be iptables, iptables-nft or iptables-legacy" >&2; exit 2;; esac
if [ "$MODE" = all ]; then
    BASE=${2:-$HERE/runs}
    for m in masq dnat reject log state rules; do
        for i in 1 2 3; do "$0" "$m" "$BASE/$m-$i" || exit 1; sleep 1; done
    done
    ACCT=1 "$0" masq "$BASE/masq-acct-1" || exit 1
    IPT=iptables-legacy "$0" state "$BASE/state-legacy-1" || exit 1
    IPT=iptables-legacy "$0" rules "$BASE/rules-legacy-1" || exit 1
    "$HERE/analyze.py" "$BASE"/*/ || exit 1
    "$HERE/analyze.py" --vary "$BASE"/*/ > "$BASE/vary.md" || exit 1
    "$HERE/analyze.py" --nat "$BASE"/*/ > "$BASE/nat_ports.md" || exit 1
    exit 0
fi
case "$MODE" in masq|dnat|reject|log|state|rules) ;; *) echo "capture.sh: unknown mode '$MODE'" >&2; exit 2;; esac
OUT=${2:-$HERE/runs/$MODE}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
P=nf-
C=${P}client; R=${P}router; SW=${P}sw; D=${P}dns; W=${P}web
ALL_NS="$C $R $SW $D $W"
HOSTS_NS="$C $R $D $W"
PIDS=()
: > "$OUT/pids.txt"
: > "$OUT/events.txt"
: > "$OUT/probes.txt"
LOG_ALL_NETNS_OLD=""

log() { echo "[$(date +%H:%M:%S.%N | cut -c1-12)] $*" | tee -a "$OUT/run.log"; }
event() { echo "$(date +%s.%N) $*" >> "$OUT/events.txt"; }   # epoch timestamps, same clock as the pcaps

cleanup() {
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then kill -INT "$pid" 2>/dev/null; fi
    done
    sleep 0.5
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null; sleep 0.2; fi
        if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null; fi
    done
    for ns in $ALL_NS ${P}probe ${P}legacy; do ip netns del "$ns" 2>/dev/null; done
    for ns in $ALL_NS; do rm -rf "/etc/netns/$ns"; done
    [ -n "${CREATED_ETC_NETNS:-}" ] && rmdir /etc/netns 2>/dev/null
    [ -n "$LOG_ALL_NETNS_OLD" ] && sysctl -qw net.netfilter.nf_log_all_netns="$LOG_ALL_NETNS_OLD"
}
trap cleanup EXIT

start_bg() {  # start_bg NAME LOGFILE cmd... ; records PID
    local name=$1 logf=$2; shift 2
    "$@" > "$logf" 2>&1 &
    local pid=$!
    PIDS+=("$pid"); echo "$name $pid" >> "$OUT/pids.txt"
    eval "PID_$name=$pid"
}

wait_for() {  # wait_for TIMEOUT_S cmd... (polls every 50 ms)
    local t=$1; shift
    local n=$(( t * 20 ))
    for ((i=0; i<n; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.05; done
    log "TIMEOUT waiting for: $*"; return 1
}

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
probe() {  # probe NS ARGS... : one attempt by probe.py, its line appended to probes.txt
    local ns=$1; shift
    event "probe_start $*"
    in_ns "$ns" $PY "$HERE/probe.py" "$@" >> "$OUT/probes.txt" 2>&1
    event "probe_done $*"
}
curl_run() {  # curl_run TAG URL : the flagship client, as in the IPv4 reference
    local tag=$1 url=$2
    event "curl_start $tag"
    in_ns $C env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/nonexistent \
        curl -q -s -v -o /dev/null --max-time 5 \
        -w 'http_code=%{http_code} size=%{size_download} local=%{local_ip}:%{local_port} remote=%{remote_ip}:%{remote_port}\n' \
        "$url" > "$OUT/curl_$tag.out" 2> "$OUT/curl_$tag.log"
    echo "rc=$?" >> "$OUT/curl_$tag.out"
    event "curl_done $tag"
    log "curl $tag: $(head -1 "$OUT/curl_$tag.out")"
}
kmsg_seq() {  # sequence number of the newest record in the kernel log
    $PY - <<'PYEOF'
import os
fd = os.open('/dev/kmsg', os.O_RDONLY | os.O_NONBLOCK)
last = 0
while True:
    try:
        r = os.read(fd, 8192)
    except BlockingIOError:
        break
    except BrokenPipeError:
        continue
    last = int(r.split(b',')[1])
print(last)
PYEOF
}
kmsg_since() {  # kmsg_since SEQ REGEX : raw /dev/kmsg records newer than SEQ whose message matches REGEX
    $PY - "$1" "$2" <<'PYEOF'
import os, re, sys
start, rx = int(sys.argv[1]), re.compile(sys.argv[2])
fd = os.open('/dev/kmsg', os.O_RDONLY | os.O_NONBLOCK)
while True:
    try:
        r = os.read(fd, 8192)
    except BlockingIOError:
        break
    except BrokenPipeError:
        continue
    rec = r.decode('utf-8', 'replace')
    head, msg = rec.split(';', 1)
    if int(head.split(',')[1]) > start and rx.search(msg.split('\n')[0]):
        sys.stdout.write(rec)
PYEOF
}
listings() {  # listings NS PREFIX [iptables|iptables-legacy] : every iptables listing of NS, byte for byte
    local ns=$1 pre=$2 iptables=${3:-$IPT}
    in_ns "$ns" $iptables -L -v -n > "$OUT/${pre}iptables_L_v_n.txt" 2>> "$OUT/${pre}listings.stderr"
    in_ns "$ns" $iptables -L -v -n -x > "$OUT/${pre}iptables_L_v_n_x.txt" 2>> "$OUT/${pre}listings.stderr"
    in_ns "$ns" $iptables -L -v -n --line-numbers > "$OUT/${pre}iptables_L_v_n_line_numbers.txt" 2>> "$OUT/${pre}listings.stderr"
    in_ns "$ns" $iptables -L -n > "$OUT/${pre}iptables_L_n.txt" 2>> "$OUT/${pre}listings.stderr"
    in_ns "$ns" $iptables -S > "$OUT/${pre}iptables_S.txt" 2>> "$OUT/${pre}listings.stderr"
    in_ns "$ns" $iptables -t nat -L -v -n > "$OUT/${pre}iptables_nat_L_v_n.txt" 2>> "$OUT/${pre}listings.stderr"
    in_ns "$ns" $iptables -t nat -L -v -n -x > "$OUT/${pre}iptables_nat_L_v_n_x.txt" 2>> "$OUT/${pre}listings.stderr"
    in_ns "$ns" $iptables -t mangle -L -v -n > "$OUT/${pre}iptables_mangle_L_v_n.txt" 2>> "$OUT/${pre}listings.stderr"
    in_ns "$ns" $iptables-save > "$OUT/${pre}iptables_save.txt" 2>> "$OUT/${pre}listings.stderr"
    in_ns "$ns" $iptables-save -c > "$OUT/${pre}iptables_save_c.txt" 2>> "$OUT/${pre}listings.stderr"
    [ "$iptables" != iptables-legacy ] && in_ns "$ns" nft list ruleset > "$OUT/${pre}nft_list_ruleset.txt" 2>> "$OUT/${pre}listings.stderr"
}
ct_list() {  # ct_list NS TAG : conntrack -L (stdout and the stderr summary line kept apart)
    in_ns "$1" conntrack -L > "$OUT/conntrack_L_$2.txt" 2> "$OUT/conntrack_L_$2.stderr"
    in_ns "$1" conntrack -L -o extended > "$OUT/conntrack_L_extended_$2.txt" 2> "$OUT/conntrack_L_extended_$2.stderr"
}

for ns in $ALL_NS ${P}probe ${P}legacy; do
    if ip netns list | grep -qw "$ns"; then echo "namespace $ns already exists; refusing" >&2; trap - EXIT; exit 1; fi
done

# ---------------------------------------------------------------- 0. versions + netfilter sysctl defaults in a fresh netns
log "mode=$MODE ipt=$IPT acct=${ACCT:-0} out=$OUT kernel=$(uname -r)"
{ uname -a; iptables --version; iptables-legacy --version; conntrack --version; nft --version; dnsmasq --version | head -1;
  curl --version | head -1; $PY --version; tshark --version | head -1; ping -V | head -1; } > "$OUT/versions.txt" 2>&1
ip netns add ${P}probe
in_ns ${P}probe sysctl -a 2>/dev/null | grep -E '^net\.(netfilter|nf_conntrack)' > "$OUT/sysctl_nf_fresh_netns.txt"
ip netns del ${P}probe
sysctl -a 2>/dev/null | grep -E '^net\.(netfilter|nf_conntrack)' > "$OUT/sysctl_nf_init_ns.txt"

# ---------------------------------------------------------------- 1. namespaces + links; IPv6 off before any interface exists
for ns in $ALL_NS; do
    ip netns add "$ns"
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
done
in_ns $R sysctl -qw net.ipv4.ip_forward=1
[ "${ACCT:-0}" = 1 ] && in_ns $R sysctl -qw net.netfilter.nf_conntrack_acct=1
ip link add eth0 netns $C address 02:00:00:00:00:02 type veth peer name eth0 netns $R address 02:00:00:00:00:01
ip link add eth1 netns $R address 02:00:00:00:01:01 type veth peer name p1 netns $SW address 02:00:00:00:ff:01
ip link add eth0 netns $D address 02:00:00:00:01:53 type veth peer name p2 netns $SW address 02:00:00:00:ff:02
ip link add eth0 netns $W address 02:00:00:00:01:80 type veth peer name p3 netns $SW address 02:00:00:00:ff:03
ip -n $SW link add br0 address 02:00:00:00:ff:00 type bridge stp_state 0 mcast_snooping 0
for pair in "$C eth0" "$R eth0" "$R eth1" "$SW p1" "$SW p2" "$SW p3" "$D eth0" "$W eth0"; do
    set -- $pair
    in_ns "$1" ethtool -K "$2" tx off sg off tso off gso off gro off >/dev/null 2>&1
done
for p in p1 p2 p3; do ip -n $SW link set $p master br0; done
ip -n $C addr add 10.0.0.2/24 dev eth0
ip -n $R addr add 10.0.0.1/24 dev eth0
ip -n $R addr add 10.0.1.1/24 dev eth1
ip -n $D addr add 10.0.1.53/24 dev eth0
ip -n $W addr add 10.0.1.80/24 dev eth0
for pair in "$C eth0" "$R eth0" "$R eth1" "$SW p1" "$SW p2" "$SW p3" "$SW br0" "$D eth0" "$W eth0"; do
    set -- $pair; ip -n "$1" link set "$2" up
done
ip -n $C route add default via 10.0.0.1
ip -n $D route add default via 10.0.1.1
ip -n $W route add default via 10.0.1.1
[ -d /etc/netns ] || CREATED_ETC_NETNS=1
for ns in $ALL_NS; do
    mkdir -p "/etc/netns/$ns"
    printf '127.0.0.1 localhost\n10.0.0.2 client\n10.0.0.1 router\n10.0.1.53 dns\n10.0.1.80 web\n' > "/etc/netns/$ns/hosts"
    echo "nameserver 127.0.0.1" > "/etc/netns/$ns/resolv.conf"
done
echo "nameserver 10.0.1.53" > "/etc/netns/$C/resolv.conf"

# ---------------------------------------------------------------- 2. netfilter on the router (and the web host in dnat)
ipt() { in_ns $R $IPT "$@" || log "FAILED: $IPT $*"; }
case "$MODE" in
masq)
    ipt -t nat -A POSTROUTING -o eth1 -j MASQUERADE ;;
dnat)
    ipt -t nat -A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.80:80
    in_ns $W $IPT -t nat -A PREROUTING -i eth0 -p tcp --dport 8081 -j REDIRECT --to-ports 80 || log "FAILED: web REDIRECT" ;;
reject)
    ipt -A FORWARD -p tcp --dport 81 -j REJECT --reject-with tcp-reset
    ipt -A FORWARD -p udp --dport 9 -j REJECT
    ipt -A FORWARD -p tcp --dport 82 -j REJECT --reject-with icmp-host-prohibited
    ipt -A FORWARD -p udp --dport 10 -j REJECT --reject-with icmp-admin-prohibited
    ipt -A FORWARD -p tcp --dport 84 -j REJECT
    ipt -A INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset
    ipt -A INPUT -p udp --dport 161 -j REJECT ;;
log)
    LOG_ALL_NETNS_OLD=$(sysctl -n net.netfilter.nf_log_all_netns)
    sysctl -qw net.netfilter.nf_log_all_netns=1
    ipt -A FORWARD -j LOG --log-prefix "FWD: "
    ipt -A FORWARD -j LOG --log-prefix "FWDOPT: " --log-tcp-options --log-ip-options
    ipt -A FORWARD -p tcp --syn -j LOG --log-prefix "FWDSEQ: " --log-tcp-sequence
    ipt -A INPUT -j LOG --log-prefix "IN: "
    ipt -A OUTPUT -j LOG --log-prefix "OUT: " --log-uid ;;
state)
    ipt -P FORWARD DROP
    ipt -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    ipt -A FORWARD -i eth0 -o eth1 -m conntrack --ctstate NEW -j ACCEPT ;;
rules)
    ipt -t mangle -A PREROUTING -i eth0 -j MARK --set-mark 0x1
    ipt -t mangle -A PREROUTING -j CONNMARK --save-mark
    ipt -t mangle -A PREROUTING -i eth1 -m connmark --mark 0x1 -j CONNMARK --restore-mark
    ipt -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu
    ipt -N web
    ipt -A FORWARD -m mark --mark 0x1/0xff
    ipt -A FORWARD -m connmark --mark 0x1
    ipt -A FORWARD -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN
    ipt -A FORWARD -p tcp --syn
    ipt -A FORWARD -p tcp ! --syn
    ipt -A FORWARD -p tcp -m multiport --dports 22,80,443
    ipt -A FORWARD -p udp -m multiport --sports 53,1000:2000
    ipt -A FORWARD -m iprange --src-range 10.0.0.2-10.0.0.9
    ipt -A FORWARD -m iprange --dst-range 10.0.1.50-10.0.1.99
    ipt -A FORWARD -p icmp -m limit --limit 5/sec --limit-burst 10
    ipt -A FORWARD -m limit --limit 3/min
    ipt -A FORWARD -m length --length 0:100
    ipt -A FORWARD -m length --length 1500
    ipt -A FORWARD -m ttl --ttl-eq 64
    ipt -A FORWARD -m ttl --ttl-gt 60
    ipt -A FORWARD -m ttl --ttl-lt 10
    ipt -A FORWARD -m state --state NEW,ESTABLISHED
    ipt -A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED
    ipt -A FORWARD -m conntrack --ctstate INVALID
    ipt -A FORWARD -m statistic --mode random --probability 0.25
    ipt -A FORWARD -m statistic --mode nth --every 3 --packet 0
    ipt -A FORWARD -p icmp --icmp-type echo-request
    ipt -A FORWARD -s 10.0.0.0/24 -d 10.0.1.80/32 -i eth0 -o eth1 ! -p udp
    ipt -A FORWARD ! -s 10.0.0.2 -p udp --sport 53
    ipt -A FORWARD -m comment --comment "a comment"
    ipt -A FORWARD -p tcp -j web
    ipt -A web -p tcp --dport 80 -j ACCEPT
    ipt -A web -j RETURN
    ipt -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    ipt -A FORWARD -p udp --dport 53 -j ACCEPT
    ipt -A FORWARD -j LOG --log-prefix "DROP? " --log-level 6
    ipt -A INPUT -i lo -j ACCEPT
    ipt -A INPUT -p tcp --dport 22 -j REJECT --reject-with tcp-reset
    ipt -A OUTPUT -o eth1 -j MARK --set-mark 0x2
    ipt -t nat -A PREROUTING -i eth0 -p tcp --dport 8080 -j DNAT --to-destination 10.0.1.80:80
    ipt -t nat -A PREROUTING -i eth0 -p tcp --dport 8081 -j REDIRECT --to-ports 80
    ipt -t nat -A POSTROUTING -o eth1 -p udp -j SNAT --to-source 10.0.1.1:40000-40100
    ipt -t nat -A POSTROUTING -o eth1 -p icmp -j MASQUERADE --random-fully
    ipt -t nat -A POSTROUTING -o eth1 -p tcp -j MASQUERADE --to-ports 50000-50100 ;;
esac
listings $R "router_before_"

# ---------------------------------------------------------------- 3. captures and conntrack -E (before any server or client)
start_bg cap_client "$OUT/cap_client.log" ip netns exec $C dumpcap -q -n -i eth0 -P -w "$OUT/client.pcap" -a duration:90
start_bg cap_router "$OUT/cap_router.log" ip netns exec $R dumpcap -q -n -i eth1 -P -w "$OUT/router_server_side.pcap" -a duration:90
wait_for 20 grep -q "Capturing on" "$OUT/cap_client.log"
wait_for 20 grep -q "Capturing on" "$OUT/cap_router.log"
ip netns exec $R stdbuf -oL conntrack -E > "$OUT/conntrack_E.txt" 2> "$OUT/conntrack_E.stderr" &
PID_ct_events=$!; PIDS+=("$PID_ct_events"); echo "ct_events $PID_ct_events" >> "$OUT/pids.txt"
ip netns exec $R stdbuf -oL conntrack -E -o timestamp > "$OUT/conntrack_E_timestamp.txt" 2> "$OUT/conntrack_E_timestamp.stderr" &
PID_ct_events_ts=$!; PIDS+=("$PID_ct_events_ts"); echo "ct_events_ts $PID_ct_events_ts" >> "$OUT/pids.txt"
if [ "$MODE" = dnat ]; then
    ip netns exec $W stdbuf -oL conntrack -E > "$OUT/web_conntrack_E.txt" 2> "$OUT/web_conntrack_E.stderr" &
    PID_ct_web=$!; PIDS+=("$PID_ct_web"); echo "ct_web $PID_ct_web" >> "$OUT/pids.txt"
fi
sleep 0.5

# ---------------------------------------------------------------- 4. servers
WWW=$OUT/www; mkdir -p "$WWW"
$PY -c "
import sys
head=b'<html><body><pre>\n'; tail=b'</pre></body></html>\n'
body=(b'0123456789abcdef'*400)[:4096-len(head)-len(tail)]
open(sys.argv[1],'wb').write(head+body+tail)" "$WWW/index.html"
touch -d '2024-01-01 00:00:00 UTC' "$WWW/index.html"
start_bg dns "$OUT/dnsmasq.log" ip netns exec $D dnsmasq --no-daemon --no-resolv --no-hosts --address=/baidu.com/10.0.1.80 \
    --listen-address=10.0.1.53 --bind-interfaces --user=root --pid-file="$OUT/dnsmasq.pid" --log-queries --log-facility=-
start_bg web "$OUT/web.log" ip netns exec $W $PY -u -m http.server 80 --bind 10.0.1.80 --directory "$WWW"
wait_for 10 sh -c "ip netns exec $D ss -lun | grep -q '10.0.1.53:53 '"
wait_for 10 sh -c "ip netns exec $W ss -ltn | grep -q '10.0.1.80:80 '"
event servers_ready
KSEQ=$(kmsg_seq)
sleep 0.5

# ---------------------------------------------------------------- 5. the scenario
case "$MODE" in
masq)
    curl_run flagship http://baidu.com/
    ct_list $R after_curl
    in_ns $R conntrack -C > "$OUT/conntrack_C_after_curl.txt" 2>&1
    sleep 0.2
    probe $C udp 10.0.1.80 9
    sleep 0.2
    event ping_start
    in_ns $C ping -c 2 10.0.1.80 > "$OUT/ping.txt" 2>&1
    event ping_done
    sleep 0.2
    # port clash: 10.0.0.2:40000 and 10.0.0.3:40000 -> 10.0.1.80:9; after MASQUERADE both would be 10.0.1.1:40000
    ip -n $C addr add 10.0.0.3/24 dev eth0
    probe $C udp 10.0.1.80 9 10.0.0.2:40000
    sleep 0.2
    probe $C udp 10.0.1.80 9 10.0.0.3:40000
    ct_list $R after_all ;;
dnat)
    curl_run dnat http://10.0.0.1:8080/
    sleep 0.2
    curl_run redirect http://10.0.1.80:8081/
    ct_list $R after_all
    in_ns $W conntrack -L > "$OUT/web_conntrack_L_after_all.txt" 2> "$OUT/web_conntrack_L_after_all.stderr"
    listings $W "web_" ;;
reject)
    for t in "tcp 10.0.1.80 81" "udp 10.0.1.80 9" "tcp 10.0.1.80 82" "udp 10.0.1.80 10" "tcp 10.0.1.80 84" \
             "tcp 10.0.0.1 22" "udp 10.0.0.1 161" \
             "tcp 10.0.1.80 85" "udp 10.0.1.80 11"; do
        probe $C $t; sleep 0.3
    done ;;
log)
    curl_run flagship http://baidu.com/
    sleep 0.2
    probe $C udp 10.0.1.80 9
    sleep 0.2
    event ping_start
    in_ns $C ping -c 1 10.0.1.80 > "$OUT/ping.txt" 2>&1
    in_ns $C ping -c 1 -R 10.0.1.80 > "$OUT/ping_R.txt" 2>&1
    in_ns $R ping -c 1 10.0.0.2 > "$OUT/ping_router.txt" 2>&1
    event ping_done ;;
state)
    curl_run flagship http://baidu.com/
    sleep 0.2
    probe $C udp 10.0.1.80 9
    sleep 0.2
    probe $W tcp 10.0.0.2 22 1.5
    in_ns $W ping -c 1 -W 1 10.0.0.2 > "$OUT/ping_from_web.txt" 2>&1
    ct_list $R after_all ;;
rules)
    curl_run flagship http://baidu.com/
    sleep 0.2
    event ping_start
    in_ns $C ping -c 2 -i 0.2 10.0.1.80 > "$OUT/ping.txt" 2>&1
    event ping_done
    ct_list $R after_all ;;
esac
event scenario_done
in_ns $R conntrack -C > "$OUT/conntrack_C.txt" 2>&1
in_ns $R conntrack -S > "$OUT/conntrack_S.txt" 2>&1
in_ns $R sysctl -a 2>/dev/null | grep nf_conntrack > "$OUT/sysctl_nf_conntrack_router.txt"
listings $R "router_"
{ for ns in $HOSTS_NS; do echo "== $ns"; in_ns "$ns" nstat -az 2>/dev/null | grep -E '^(Icmp|IpOut|IpFrag|IpIn|IpForw)'; done; } > "$OUT/nstat_after.txt"
sleep "${POST_WAIT:-6}"
event end_wait
if [ "$MODE" = log ]; then
    kmsg_since "$KSEQ" '^(FWD|FWDOPT|FWDSEQ|IN|OUT): ' > "$OUT/kmsg.txt"
    sed 's/^[^;]*;//' "$OUT/kmsg.txt" > "$OUT/log_lines.txt"   # the message text alone, as dmesg prints it after "[time] "
fi
# DESTROY events: flush the table (entries would otherwise live for their timeouts: 120 s TIME_WAIT, 30 s UDP/ICMP)
in_ns $R conntrack -F > "$OUT/conntrack_F.txt" 2>&1
sleep 0.5

# ---------------------------------------------------------------- 6. stop everything we started (by recorded PID)
for name in cap_client cap_router ct_events ct_events_ts; do eval "pid=\$PID_$name"; kill -INT "$pid" 2>/dev/null; done
[ "$MODE" = dnat ] && kill -INT "$PID_ct_web" 2>/dev/null
for name in cap_client cap_router ct_events ct_events_ts; do eval "pid=\$PID_$name"; wait "$pid" 2>/dev/null; done
kill -TERM "$PID_dns" "$PID_web" 2>/dev/null
wait "$PID_dns" "$PID_web" 2>/dev/null
log "captures: client=$(tshark -r "$OUT/client.pcap" 2>/dev/null | wc -l) frames, router_server_side=$(tshark -r "$OUT/router_server_side.pcap" 2>/dev/null | wc -l) frames"

# the same ruleset through iptables-legacy (zero counters), to compare the two backends' listing formats
if [ "$MODE" = rules ] && [ "$IPT" != iptables-legacy ]; then
    in_ns $R $IPT-save 2>/dev/null | grep -v '^#' > "$OUT/rules.v4"
    ip netns add ${P}legacy
    in_ns ${P}legacy iptables-legacy-restore < "$OUT/rules.v4" 2> "$OUT/legacy_restore.stderr" || log "FAILED: iptables-legacy-restore"
    listings ${P}legacy "legacy_" iptables-legacy
    ip netns del ${P}legacy
fi
rm -rf "$WWW" "$OUT/dnsmasq.pid"
cleanup
trap - EXIT
log "namespaces left: $(ip netns list | grep -c "^$P" || true)"
