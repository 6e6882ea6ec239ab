//! ECN end to end (RFC 3168, as Linux's `tcp_ecn`): two bulk flows through a 10 Mbit/s
//! bottleneck whose fq_codel marks instead of dropping (`ecn`). With `net.ipv4.tcp_ecn = 1`
//! the senders ask for ECN in their SYNs, the receivers (default 2) agree, data leaves
//! ECT(0), CoDel marks CE where it would have dropped, the receivers echo ECE until the
//! senders' CWR, and the senders reduce cwnd without a single retransmission. With Linux's
//! default 2 nobody asks: no ECT, and CoDel drops the same flows' packets.

mod common;

use std::net::Ipv4Addr;

use common::{capture_into, load, read_pcap, run_scenario, temp_dir};
use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use sim_stack::capture::CaptureFormat;

const DUMBBELL: &str = r#"
param ecn = 1
seed 7
end  4s
routing auto
sysctl net.ipv4.tcp_ecn = $ecn
defaults iface { txqueuelen 50  tx_ring 16 }
router A {
    iface eth0 { ip 10.0.0.1/24  qdisc fq_codel ecn }
    for i in 0..2 { iface eth{i + 1} { ip 10.1.{i}.2/24 } }
}
router B {
    iface eth0 { ip 10.0.0.2/24 }
    for i in 0..2 { iface eth{i + 1} { ip 10.2.{i}.1/24 } }
}
link A.eth0 -- B.eth0 { rate 10Mbit  delay 10ms }
for i in 0..2 {
    host S{i} { iface eth0 { ip 10.1.{i}.1/24 } }
    host R{i} { iface eth0 { ip 10.2.{i}.2/24 } }
    link S{i}.eth0 -- A.eth{i + 1} { rate 1Gbit  delay 1ms }
    link B.eth{i + 1} -- R{i}.eth0 { rate 1Gbit  delay 1ms }
    app R{i}: tcp_sink { port 9 }
    app S{i}: tcp_bulk { to 10.2.{i}.2:9  bytes unlimited } at {i * 7}ms
}
"#;

/// (ECN codepoint, ECE, CWR, payload length) of every TCP packet `from` sent in a pcap,
/// decoded with etherparse.
fn tcp_marks(path: &std::path::Path, from: Ipv4Addr) -> Vec<(u8, bool, bool, usize)> {
    read_pcap(path)
        .iter()
        .filter_map(|r| {
            let p = SlicedPacket::from_ethernet(&r.data).expect("frame decodes");
            let Some(NetSlice::Ipv4(ip)) = &p.net else {
                return None;
            };
            let h = ip.header();
            let Some(TransportSlice::Tcp(t)) = &p.transport else {
                return None;
            };
            (h.source_addr() == from)
                .then(|| (h.ecn().value(), t.ece(), t.cwr(), t.payload().len()))
        })
        .collect()
}

#[test]
fn marks_replace_losses_when_both_ends_use_ecn() {
    let dir = temp_dir("ecn");
    let ran = run_scenario(
        &load(DUMBBELL, &[("ecn", "1")]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    let q = &ran.iface("A", "eth0").qdisc;
    let marks = q.fq_codel.as_ref().expect("fq_codel").ecn_mark;
    assert!(marks >= 5, "CoDel marked {marks} packets");
    assert_eq!(q.stats.drops, 0, "nothing dropped: ECT packets are marked");
    for i in 0..2 {
        let s = &ran.stats.nodes[&format!("S{i}")];
        assert_eq!(s.tcp.RetransSegs, 0, "S{i}: marks, not losses");
        let c = &s.tcp_connections[0].stats;
        assert!(c.bytes_acked > 1_500_000, "S{i}: {} bytes", c.bytes_acked);
    }
    let (s0, r0) = (Ipv4Addr::new(10, 1, 0, 1), Ipv4Addr::new(10, 2, 0, 2));
    let sent = tcp_marks(&dir.join("S0-eth0.pcap"), s0);
    // The SYN asks (ECE and CWR, Not-ECT); data is ECT(0); CWR on a few data packets, one per
    // reduction.
    let (ect, syn) = (sent[0].0, (sent[0].1, sent[0].2));
    assert_eq!((ect, syn), (0, (true, true)), "the SYN: {:?}", sent[0]);
    assert!(
        sent.iter().filter(|p| p.3 > 0).all(|p| p.0 == 2),
        "every data packet of S0 is ECT(0) (nothing is retransmitted)"
    );
    assert!(
        sent.iter().filter(|p| p.3 == 0).skip(1).all(|p| p.0 == 0),
        "pure ACKs and the FIN are Not-ECT"
    );
    let cwr = sent.iter().filter(|p| p.2 && p.3 > 0).count();
    assert!((1..=marks as usize).contains(&cwr), "{cwr} CWR packets");
    // At the receiver: CE marks arrive, and ECE is echoed on the ACKs until CWR.
    let got = tcp_marks(&dir.join("R0-eth0.pcap"), s0);
    let ce = got.iter().filter(|p| p.0 == 3).count();
    assert!(ce >= 1, "R0 received {ce} CE packets");
    let acks = tcp_marks(&dir.join("R0-eth0.pcap"), r0);
    assert_eq!((acks[0].1, acks[0].2), (true, false), "SYN-ACK: ECE only");
    let ece = acks.iter().skip(1).filter(|p| p.1).count();
    assert!(ece >= ce, "{ece} ACKs echo {ce} CE marks");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn linux_default_never_asks_so_codel_drops() {
    let dir = temp_dir("noecn");
    let ran = run_scenario(
        &load(DUMBBELL, &[("ecn", "2")]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    let q = &ran.iface("A", "eth0").qdisc;
    assert_eq!(q.fq_codel.as_ref().expect("fq_codel").ecn_mark, 0);
    assert!(q.stats.drops > 0, "CoDel drops Not-ECT packets");
    let sent = tcp_marks(&dir.join("S0-eth0.pcap"), Ipv4Addr::new(10, 1, 0, 1));
    assert!(
        sent.iter().all(|p| p.0 == 0 && !p.1 && !p.2),
        "no ECN at all"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
