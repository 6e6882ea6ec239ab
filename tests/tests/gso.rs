//! TCP builds GSO packets as Linux's does (`sk_setup_caps` gives every TCP socket
//! `NETIF_F_GSO`, whatever the device offers): the qdisc holds and counts super-packets,
//! IP counts one request per packet, and the segments appear where tcpdump would see them.
//!
//! - Without TSO (the default, a veth with offloads off) `validate_xmit_skb` cuts each packet
//!   after the qdisc: the capture shows frames of at most the MTU, while `Ip.OutRequests`
//!   (one per skb, `ip_local_out`) stays well under `Tcp.OutSegs` (one per segment) and
//!   `tc -s qdisc`'s "Sent … pkt" counts the segments (`bstats_update` adds `gso_segs`).
//! - With `tso on` the capture at `dev_hard_start_xmit` shows the super-packets, as tcpdump
//!   on a TSO NIC does, and the peer receives MTU-sized frames.
//! - tbf cuts a packet larger than its bucket into its segments (`tbf_segment`) instead of
//!   dropping it.

mod common;

use common::{load, run_scenario};
use sim_stack::apps::AppReport;

const BULK: &str = r#"
param tso = off
end 3s
host a { iface eth0 { ip 10.0.0.1/24  tso $tso } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 100us }
app b: tcp_sink { port 9 }
app a: tcp_bulk { to 10.0.0.2:9  bytes 4000000B } at 10ms
"#;

/// The lengths of the frames `node` sent (`tx` lines of the trace).
fn tx_lens(trace: &str, node: &str) -> Vec<usize> {
    trace
        .lines()
        .filter(|l| l.split(' ').nth(1) == Some(node) && l.split(' ').nth(3) == Some("tx"))
        .map(|l| l.split(' ').nth(4).unwrap().parse().unwrap())
        .collect()
}

fn sink_bytes(ran: &common::Ran) -> u64 {
    ran.world
        .app_reports()
        .iter()
        .find_map(|(_, r)| match r {
            AppReport::TcpSink(k) => Some(k.bytes),
            _ => None,
        })
        .expect("a sink")
}

#[test]
fn tcp_sends_gso_packets_that_the_device_cuts_below_the_qdisc() {
    let ran = run_scenario(&load(BULK, &[]), None);
    assert_eq!(sink_bytes(&ran), 4_000_000);
    let a = &ran.stats.nodes["a"];
    let (requests, segs) = (a.ip.OutRequests, a.tcp.OutSegs);
    // HyStart's ACK train ends slow start at cwnd 70 on this 200 µs path; from then on
    // tcp_tso_should_defer holds the 64 KiB send head until a third of cwnd may go (the next
    // ACK is always due within min(srtt/2, 1 ms)): packets of 20 segments and more, where a
    // stack without GSO sends one per segment.
    assert!(
        requests * 10 < segs,
        "IP saw {requests} packets for {segs} TCP segments: not GSO packets"
    );
    // Nothing is lost on this path, and segments the full TX ring gave back to the qdisc
    // leave in order (requeued at the head): no segment was ever sent twice.
    assert_eq!(a.tcp.RetransSegs, 0, "spurious retransmissions");
    // Every frame on the wire fits the MTU.
    let lens = tx_lens(&ran.trace, "a");
    assert!(lens.iter().all(|&l| l <= 1514), "a frame above the MTU");
    // The qdisc counts segments as sent (bstats_update), the device the frames.
    let eth0 = ran.iface("a", "eth0");
    assert_eq!(eth0.qdisc.stats.packets, eth0.link.tx_packets);
    assert_eq!(eth0.link.tx_packets as usize, lens.len());
    assert_eq!(
        eth0.link.tx_packets,
        segs + a.arp.requests_sent + a.arp.replies_sent
    );
}

#[test]
fn with_tso_the_capture_shows_super_packets_and_the_wire_carries_segments() {
    let ran = run_scenario(&load(BULK, &[("tso", "on")]), None);
    assert_eq!(sink_bytes(&ran), 4_000_000);
    let sent = tx_lens(&ran.trace, "a");
    let big = sent.iter().filter(|&&l| l > 1514).count();
    assert!(big > 10, "{big} super-packets in a's capture");
    assert!(*sent.iter().max().unwrap() <= 14 + 65535);
    // What b received: frames of at most the MTU, one per segment a's TCP counted.
    let rx: Vec<&str> = ran
        .trace
        .lines()
        .filter(|l| l.split(' ').nth(1) == Some("b") && l.split(' ').nth(3) == Some("rx"))
        .collect();
    assert!(
        rx.iter()
            .all(|l| l.split(' ').nth(4).unwrap().parse::<usize>().unwrap() <= 1514)
    );
    let a = &ran.stats.nodes["a"];
    let b = &ran.stats.nodes["b"];
    assert_eq!(b.tcp.InSegs, a.tcp.OutSegs);
}

#[test]
fn tbf_cuts_a_packet_larger_than_its_bucket() {
    // A 10 Mbit/s tbf with a 4500-byte bucket: a GSO packet of more than three segments could
    // never pass whole; tbf_segment queues its segments one by one.
    let src = BULK
        .replace(
            "iface eth0 { ip 10.0.0.1/24  tso $tso }",
            "iface eth0 { ip 10.0.0.1/24  qdisc tbf rate 10Mbit burst 4500B latency 50ms }",
        )
        .replace("bytes 4000000B", "bytes 2000000B");
    let ran = run_scenario(&load(&src, &[]), None);
    assert_eq!(sink_bytes(&ran), 2_000_000);
    // The initial window alone is a GSO packet of five segments (half of cwnd 10), more
    // than the bucket: without tbf_segment it would be dropped whole, again and again.
    let a = &ran.stats.nodes["a"];
    assert!(a.ip.OutRequests < a.tcp.OutSegs);
}
