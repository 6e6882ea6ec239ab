//! Spurious retransmissions and their undo over a whole run. A TCP flow (its window kept
//! small by the receiver's `tcp_rmem`, so it builds no queue of its own) shares a
//! 10 Mbit/s bottleneck with a deep queue; a 400 ms UDP burst at 60 Mbit/s then adds about
//! two seconds of queueing in 400 ms. Nothing is dropped anywhere, so every retransmission
//! is spurious: the probe timer and the RTO fire while the data and its ACKs wait in the
//! queue, and each retransmission reaches the receiver after its original.
//!
//! What Linux's code says must follow:
//! * each retransmission arrives as a duplicate below `rcv_nxt`, which the receiver D-SACKs
//!   at once (`tcp_dsack_set`, TCPDSACKOldSent); every D-SACK comes back (no ACK is lost)
//!   and reports one duplicate (TCPDSACKRecv, TCPDSACKRecvSegs = RetransSegs);
//! * with timestamps, the first ACK after the timeout echoes the original's TSval, older
//!   than the retransmission: `tcp_process_loss` undoes it at once by Eifel
//!   (`tcp_try_undo_loss`, TCPLossUndo for each timeout), before F-RTO could
//!   (TCPSpuriousRTOs 0); the D-SACKs come after the undo (TCPDSACKIgnoredNoUndo) and the
//!   retransmission the ACK is ambiguous about is not taken as a RACK sample
//!   (`tcp_skb_spurious_retrans`), so no recovery follows;
//! * without timestamps, F-RTO finds the timeout spurious (new data sent on the first ACK,
//!   never-retransmitted data acknowledged on the next: TCPSpuriousRTOs and TCPLossUndo);
//!   RACK, unable to tell the late original's ACK from the retransmission's, starts fast
//!   recoveries, and as nothing was lost each is undone, here by the D-SACKs of its
//!   retransmissions (`tcp_try_undo_dsack`, TCPDSACKUndo).

mod common;

use common::{load, run_scenario};

const SPIKE: &str = r#"
param ts = 1
seed 5
end 8s
routing auto
sysctl net.ipv4.tcp_timestamps = $ts
router A {
    iface eth0 { ip 10.0.0.1/24  txqueuelen 3000 }
    iface eth1 { ip 10.1.0.2/24 }
    iface eth2 { ip 10.1.1.2/24 }
}
host S { iface eth0 { ip 10.1.0.1/24 } }
host U { iface eth0 { ip 10.1.1.1/24 } }
host R {
    iface eth0 { ip 10.0.0.2/24 }
    sysctl net.ipv4.tcp_rmem = 4096 32768 32768
}
link S.eth0 -- A.eth1 { rate 1Gbit  delay 1ms }
link U.eth0 -- A.eth2 { rate 1Gbit  delay 1ms }
link A.eth0 -- R.eth0 { rate 10Mbit  delay 20ms }
app R: tcp_sink { port 9 }
app R: udp_sink { port 7 }
app S: tcp_bulk { to 10.0.0.2:9  bytes unlimited }
app U: udp_cbr { to 10.0.0.2:7  payload 1400B  rate 60Mbit } at 3s until 3400ms
"#;

#[test]
fn spurious_retransmissions_are_dsacked_and_undone() {
    for ts in ["1", "0"] {
        let ran = run_scenario(&load(SPIKE, &[("ts", ts)]), None);
        let d = &ran.stats.drops;
        assert_eq!(
            d.qdisc + d.link_loss + d.ip + d.arp_queue,
            0,
            "ts={ts}: nothing dropped"
        );
        let (s, r) = (&ran.stats.nodes["S"], &ran.stats.nodes["R"]);
        let (se, re) = (&s.tcp_ext, &r.tcp_ext);
        let retrans = s.tcp.RetransSegs;
        assert!(se.TCPTimeouts >= 1, "ts={ts}: the burst makes the RTO fire");
        assert!(retrans >= se.TCPTimeouts, "ts={ts}");
        // Receiver: every retransmission D-SACKed; sender: every D-SACK heard.
        assert_eq!(re.TCPDSACKOldSent + re.TCPDSACKOfoSent, retrans, "ts={ts}");
        assert_eq!(
            se.TCPDSACKRecv + se.TCPDSACKOfoRecv,
            re.TCPDSACKOldSent + re.TCPDSACKOfoSent,
            "ts={ts}"
        );
        assert_eq!(se.TCPDSACKRecvSegs, retrans, "ts={ts}");
        assert_eq!(se.TCPDSACKIgnoredDubious, 0, "ts={ts}");
        // Every timeout was undone, every recovery too.
        assert_eq!(se.TCPLossUndo, se.TCPTimeouts, "ts={ts}");
        assert_eq!(
            se.TCPSackRecovery,
            se.TCPDSACKUndo + se.TCPFullUndo + se.TCPPartialUndo,
            "ts={ts}: each recovery undone"
        );
        if ts == "1" {
            assert_eq!(se.TCPSpuriousRTOs, 0, "Eifel undoes before F-RTO");
            assert_eq!(
                se.TCPSackRecovery, 0,
                "no RACK sample from a spurious retransmission"
            );
            assert_eq!(
                se.TCPDSACKIgnoredNoUndo, se.TCPDSACKRecv,
                "the D-SACKs come after the undo"
            );
        } else {
            assert_eq!(se.TCPSpuriousRTOs, se.TCPTimeouts, "F-RTO");
            assert!(se.TCPDSACKUndo >= 1, "a recovery undone by D-SACKs");
        }
    }
}
