//! IP fragmentation and reassembly over whole runs: what a fragment the qdisc refuses does
//! to its datagram, and reassembly's memory limit and timers with their counters.

mod common;

use common::{load, run_scenario};

/// One 4000-byte datagram (three fragments) into a TX ring of one descriptor and a pfifo of
/// one packet: the first fragment goes to the ring, the second waits in the qdisc, the third
/// is refused.
const REFUSED_FRAGMENT: &str = "
end 1s
host a { iface eth0 { ip 10.0.0.1/24  tx_ring 1  qdisc pfifo limit 1 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Mbit  delay 1ms }
app b: udp_sink { port 9 }
# warms ARP up, so that the datagram meets no neighbour queue
app a: ping 10.0.0.2 { count 1 } at 10ms
app a: udp_cbr { to 10.0.0.2:9  payload 4000B  interval 10s } at 100ms
";

#[test]
fn a_refused_fragment_ends_its_datagram_and_the_sender_counts_it() {
    let r = run_scenario(&load(REFUSED_FRAGMENT, &[]), None);
    let a = &r.stats.nodes["a"];
    // ip_do_fragment: the output of the third fragment returned NET_XMIT_DROP, so it stops
    // there: two fragments created, FragFails instead of FragOKs.
    assert_eq!(
        (a.ip.FragCreates, a.ip.FragOKs, a.ip.FragFails),
        (2, 0, 1),
        "{:?}",
        a.ip
    );
    // ip_send_skb turns the drop into ENOBUFS: OutDiscards, and udp_send_skb counts
    // SndbufErrors instead of OutDatagrams (no IP_RECVERR, so the app saw success).
    assert_eq!(a.ip.OutDiscards, 1, "{:?}", a.ip);
    assert_eq!(
        (a.udp.SndbufErrors, a.udp.OutDatagrams),
        (1, 0),
        "{:?}",
        a.udp
    );
    assert_eq!(
        r.lines_with(&["a eth0 drop qdisc_drop"]).len(),
        1,
        "{}",
        r.trace
    );
    // The two that left never make a datagram.
    let b = &r.stats.nodes["b"];
    assert_eq!((b.ip.ReasmReqds, b.ip.ReasmOKs), (2, 0), "{:?}", b.ip);
}
