//! A neighbour that never answers ARP, seen by a local sender over whole runs: Linux reports
//! each packet dropped from the FAILED entry's queue by `arp_error_report` →
//! `ipv4_link_failure` → `icmp_send(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH)` to the packet's own
//! source, which is this host: the ICMP error goes out and comes back in over loopback (no
//! frame on any interface) and reaches the sender's socket through `icmp_rcv` → its error
//! handler. The counters expected are those nstat showed on Linux 6.18 in a namespace.

mod common;

use common::{load, run_scenario};

/// a (10.0.0.2) and b (10.0.0.1) on one link; nobody has 10.0.0.9.
fn net(app: &str) -> String {
    format!(
        "
end 20s
host a {{ iface eth0 {{ ip 10.0.0.2/24 }} }}
host b {{ iface eth0 {{ ip 10.0.0.1/24 }} }}
link a.eth0 -- b.eth0 {{ rate 100Mbit  delay 1ms }}
app a: {app} at 1s
"
    )
}

/// `ping -c 3 -i 0.2 10.0.0.9`: "From 10.0.0.2 icmp_seq=1 Destination Host Unreachable" three
/// times, "3 packets transmitted, 0 received, +3 errors". nstat in the namespace, per failed
/// request: IpOutRequests and IcmpOutMsgs 2 (the echo request and the error), IcmpOutEchos,
/// IcmpOutDestUnreachs, IpInReceives, IpInDelivers, IcmpInMsgs, IcmpInDestUnreachs 1.
#[test]
fn a_ping_to_nobody_gets_host_unreachable_from_itself_over_loopback() {
    let r = run_scenario(
        &load(&net("ping 10.0.0.9 { count 3  interval 200ms }"), &[]),
        None,
    );
    let p = r.ping(0);
    assert_eq!((p.transmitted, p.received, p.errors), (3, 0, 3), "{p:?}");
    assert_eq!(
        p.error.as_deref(),
        Some("From 10.0.0.2 icmp_seq=3 Destination Host Unreachable")
    );
    let a = &r.stats.nodes["a"];
    assert_eq!(
        (a.ip.OutRequests, a.ip.InReceives, a.ip.InDelivers),
        (6, 3, 3),
        "{:?}",
        a.ip
    );
    let i = &a.icmp;
    assert_eq!(
        (
            i.OutMsgs,
            i.OutEchos,
            i.OutDestUnreachs,
            i.InMsgs,
            i.InDestUnreachs
        ),
        (6, 3, 3, 3, 3),
        "{i:?}"
    );
    // Nothing but the three broadcast ARP requests left a's interface.
    assert_eq!(r.iface("a", "eth0").link.tx_packets, 3, "{}", r.trace);
    assert_eq!(a.arp.res_failed, 1);
}

/// A connected UDP socket without `IP_RECVERR` is not told: host unreachable is not a "hard"
/// error (`icmp_err_convert[ICMP_HOST_UNREACH].fatal` is 0), so `__udp4_lib_err` drops it.
/// Linux: three datagrams to 10.0.0.9, then a fourth send after the failure succeeds. Here
/// the datagrams of 1, 2, 3 and 4 s wait in the entry that fails at 4.072 s (three requests
/// 1.024 s apart), the one of 5 s in the next resolution, which fails too: five errors, none
/// of which the app sees.
#[test]
fn a_connected_udp_socket_does_not_hear_of_host_unreachable() {
    let r = run_scenario(
        &load(
            &net("udp_cbr { to 10.0.0.9:9  payload 10B  interval 1s } until 6s"),
            &[],
        ),
        None,
    );
    let a = &r.stats.nodes["a"];
    assert_eq!(a.icmp.InDestUnreachs, 5, "{:?}", a.icmp);
    let cbr = r.udp_cbr(0);
    assert_eq!((cbr.sent, cbr.errors), (5, 0), "{cbr:?}");
}

/// The error to itself goes through the host-wide limit (not the per-destination one: its
/// route is the loopback device): datagrams queued at once for a neighbour that fails get
/// about `icmp_msgs_burst` (50) host unreachables, one credit each on average; the rest count
/// `OutRateLimitGlobal`. Linux 6.18, 200 datagrams, a fresh namespace, five runs: 39, 49, 59,
/// 54, 48 sent. (150 here: the model's skbs are larger than Linux's, and 195 of them fill
/// `unres_qlen_bytes`.)
#[test]
fn the_errors_to_itself_pass_the_host_wide_limit() {
    let r = run_scenario(
        &load(
            &net("udp_cbr { to 10.0.0.9:9  payload 10B  interval 1us } until 1000150us"),
            &[],
        ),
        None,
    );
    let a = &r.stats.nodes["a"];
    let (sent, limited) = (a.icmp.OutDestUnreachs, a.icmp.OutRateLimitGlobal);
    assert_eq!(sent + limited, 150, "{:?}", a.icmp);
    assert!((35..=70).contains(&sent), "{:?}", a.icmp);
    assert_eq!(a.icmp.OutRateLimitHost, 0);
    assert_eq!(a.icmp.InDestUnreachs, sent);
}

/// A connected UDP socket whose peer has no socket on the port: each port unreachable leaves
/// `ECONNREFUSED` pending, and the next send fails with it inside `__ip_append_data`
/// (`sock_alloc_send_pskb` → `sock_error`), which counts `Ip OutDiscards` and nothing else
/// (not `Udp SndbufErrors`, not `OutDatagrams`, not `OutRequests`). Linux 6.18, a connected
/// socket's send, 200 ms, then three sends: ECONNREFUSED, ok, ECONNREFUSED; nstat
/// IpOutRequests 2, IpOutDiscards 2, UdpOutDatagrams 2.
#[test]
fn a_pending_econnrefused_fails_the_next_send_and_counts_out_discards() {
    let r = run_scenario(
        &load(
            &net("udp_cbr { to 10.0.0.1:9  payload 10B  interval 100ms } until 1950ms"),
            &[],
        ),
        None,
    );
    // Ten sends 100 ms apart; every other one meets the error the one before brought back
    // (2 ms later): 5 sent, 5 refused; b's bucket for a (6 errors) is not yet empty.
    let cbr = r.udp_cbr(0);
    assert_eq!((cbr.sent, cbr.errors), (5, 5), "{cbr:?}");
    let a = &r.stats.nodes["a"];
    assert_eq!(
        (
            a.ip.OutRequests,
            a.ip.OutDiscards,
            a.udp.OutDatagrams,
            a.udp.SndbufErrors
        ),
        (5, 5, 5, 0),
        "{:?} {:?}",
        a.ip,
        a.udp
    );
    assert_eq!(r.stats.nodes["b"].icmp.OutDestUnreachs, 5);
}
