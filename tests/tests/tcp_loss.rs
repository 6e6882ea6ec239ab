//! Congestive loss: bulk TCP flows overflowing a short tail-drop queue, so that every loss
//! path of the sender runs many times — SACK tagging, RACK marking segments lost in and out
//! of recovery, retransmission of the lost ones as cwnd allows, tail loss probes and
//! retransmission timeouts.
//!
//! The point is the checks built into debug builds (which tests are): on every ACK,
//! `tcp_rack_detect_loss` starts at its hint and stops at the first candidate not yet lost,
//! and is compared with the whole walk of the queue; `tcp_xmit_retransmit_queue` starts at
//! its hint and asserts that nothing before it was due. Here the test checks that those
//! paths did run, and that what the senders count agrees with what the receivers got.

mod common;

use common::{load, run_scenario};
use sim_stack::apps::AppReport;

const DUMBBELL: &str = r#"
param pairs = 4
param qdisc = pfifo_fast
seed 7
end  6s
routing auto
defaults iface { qdisc $qdisc  txqueuelen 10  tx_ring 16 }
router A {
    iface eth0 { ip 10.0.0.1/24 }
    for i in 0..$pairs { iface eth{i + 1} { ip 10.1.{i}.2/24 } }
}
router B {
    iface eth0 { ip 10.0.0.2/24 }
    for i in 0..$pairs { iface eth{i + 1} { ip 10.2.{i}.1/24 } }
}
link A.eth0 -- B.eth0 { rate 10Mbit  delay 10ms }
for i in 0..$pairs {
    host S{i} { iface eth0 { ip 10.1.{i}.1/24 } }
    host R{i} { iface eth0 { ip 10.2.{i}.2/24 } }
    link S{i}.eth0 -- A.eth{i + 1} { rate 1Gbit  delay 1ms }
    link B.eth{i + 1} -- R{i}.eth0 { rate 1Gbit  delay 1ms }
    app R{i}: tcp_sink { port 9 }
    app S{i}: tcp_bulk { to 10.2.{i}.2:9  bytes unlimited } at {i * 7}ms
}
"#;

#[test]
fn congestive_losses_exercise_rack_and_the_retransmit_queue() {
    for qdisc in ["pfifo_fast", "fq_codel"] {
        let ran = run_scenario(&load(DUMBBELL, &[("qdisc", qdisc)]), None);
        let conns: Vec<_> = ran
            .stats
            .nodes
            .iter()
            .filter(|(name, _)| name.starts_with('S'))
            .flat_map(|(_, n)| n.tcp_connections.iter())
            .collect();
        assert_eq!(conns.len(), 4, "{qdisc}: one connection per sender");
        let sum = |f: fn(&sim_stack::tcp::TcpConnStats) -> u64| -> u64 {
            conns.iter().map(|c| f(&c.stats)).sum()
        };
        let (retrans, recoveries) = (sum(|s| s.retrans), sum(|s| s.fast_recoveries));
        // (A recovery repairs its burst with one to three retransmissions here.)
        assert!(
            recoveries >= 15 && retrans >= recoveries,
            "{qdisc}: the queue overflowed many times ({recoveries} recoveries, {retrans} \
             segments retransmitted)"
        );
        // Behind 10 Mbit/s, a 10-packet tail-drop queue (or CoDel) loses whole bursts:
        // some losses are only repaired by a timeout.
        assert!(
            sum(|s| s.rto_events) > 0,
            "{qdisc}: no retransmission timeout"
        );
        // Every byte a sender counts as acknowledged reached its receiver in order.
        let mut acked = 0;
        let mut received = 0;
        for (_, report) in ran.world.app_reports() {
            match report {
                AppReport::TcpBulk(b) => {
                    assert!(b.error.is_none(), "{qdisc}: {b:?}");
                    acked += b.bytes_acked;
                }
                AppReport::TcpSink(k) => received += k.bytes,
                _ => {}
            }
        }
        assert!(
            acked > 4_000_000,
            "{qdisc}: only {acked} bytes acknowledged"
        );
        assert!(
            received >= acked,
            "{qdisc}: {received} received < {acked} acked"
        );
        // Tcp OutSegs leaves retransmissions to RetransSegs (RFC 1213, as Linux counts):
        // together with ARP they are every frame a sender put on its link.
        for i in 0..4 {
            let name = format!("S{i}");
            let node = &ran.stats.nodes[&name];
            let wire = ran.iface(&name, "eth0").link.tx_packets;
            let arp = node.arp.requests_sent + node.arp.replies_sent;
            assert!(
                node.tcp.RetransSegs > 0,
                "{qdisc} {name}: no retransmission"
            );
            assert_eq!(
                node.tcp.OutSegs + node.tcp.RetransSegs + arp,
                wire,
                "{qdisc} {name}: OutSegs {} + RetransSegs {} + ARP {arp} frames",
                node.tcp.OutSegs,
                node.tcp.RetransSegs
            );
            // The TcpExt counters tell the same story as the connection's own: recoveries
            // entered (with SACK), timeouts, loss probes; and every retransmitted segment
            // was resent by tcp_xmit_retransmit_queue (Fast/SlowStartRetrans), by the
            // retransmission timer (one head segment per timeout) or as a loss probe.
            let ext = &node.tcp_ext;
            let c = &node.tcp_connections[0].stats;
            assert_eq!(ext.TCPSackRecovery, c.fast_recoveries, "{qdisc} {name}");
            assert_eq!(ext.TCPRenoRecovery, 0, "{qdisc} {name}: SACK is on");
            assert_eq!(ext.TCPTimeouts, c.rto_events, "{qdisc} {name}");
            assert_eq!(ext.TCPLossProbes, c.loss_probes, "{qdisc} {name}");
            let resent = ext.TCPFastRetrans + ext.TCPSlowStartRetrans;
            assert!(
                resent <= node.tcp.RetransSegs
                    && node.tcp.RetransSegs <= resent + c.rto_events + c.loss_probes,
                "{qdisc} {name}: RetransSegs {} from {resent} + {} RTOs + {} probes",
                node.tcp.RetransSegs,
                c.rto_events,
                c.loss_probes
            );
            assert!(ext.TCPDelivered > 0 && ext.TCPDeliveredCE == 0);
        }
    }
}
