//! sfq (`sch_sfq.c`) end to end on scenarios/tc/sfq_fair.net: five greedy UDP flows, one
//! from host `a` and four from host `b`, through a 10 Mbit/s link under `sfq perturb 10`.
//! sfq serves its busy slots round robin, a quantum of bytes each per round, so with equal
//! datagrams each flow gets a fifth of the link whichever host it comes from. Expected values
//! come from the link rate and the frame size, not from a run.

mod common;

use common::{load, run_scenario};
use sim_stack::apps::AppReport;

/// An Ethernet frame of a 1400-byte UDP payload (14 + 20 + 8 + 1400) and what it occupies
/// on the wire: preamble and start delimiter (8), FCS (4) and inter-frame gap (12).
const FRAME: u64 = 1442;
const WIRE: u64 = FRAME + 24;
/// When the senders start, and the run's end, in ns.
const START: u64 = 100_000_000;
const END: u64 = 20_000_000_000;
const FLOWS: u64 = 5;

#[test]
fn sfq_shares_the_link_per_flow_not_per_host() {
    let src = include_str!("../../scenarios/tc/sfq_fair.net");
    let ran = run_scenario(&load(src, &[]), None);
    let received: Vec<u64> = ran
        .world
        .app_reports()
        .iter()
        .filter_map(|(_, r)| match r {
            AppReport::UdpSink(s) => Some(s.received),
            _ => None,
        })
        .collect();
    assert_eq!(received.len(), FLOWS as usize);
    // The link carries 10 Mbit/s of wire frames from the first datagram to the end, less
    // the one frame on the 1 ms wire; a fifth each.
    let link = 10_000_000 / 8 * (END - START) / 1_000_000_000 / WIRE;
    let each = link / FLOWS;
    for (i, &r) in received.iter().enumerate() {
        let err = (r as f64 - each as f64).abs() / each as f64;
        assert!(err < 0.01, "flow {i}: {r} datagrams, a fifth is {each}");
    }
    // DRR with equal packets and one quantum (1514 ≥ 1442 bytes) per round: one datagram
    // per flow per round, so the flows differ by at most one datagram (plus the round in
    // the NIC's ring at the end).
    let (lo, hi) = (
        received.iter().min().unwrap(),
        received.iter().max().unwrap(),
    );
    assert!(hi - lo <= 2, "{received:?}");
    // Host a's one flow against host b's four.
    let a = received[0] as f64;
    let b: u64 = received[1..].iter().sum();
    assert!((b as f64 / a - 4.0).abs() < 0.01, "a {a}, b {b}");

    // The qdisc was over its limit throughout: it dropped the excess of 40 Mbit/s offered
    // over 10 sent, from the longest slots, and ends holding its limit of 127 packets
    // (the requeue slot's included), or one less when a packet has just left.
    let q = &ran.iface("r", "eth2").qdisc;
    assert_eq!(q.kind, "sfq");
    let s = q.stats;
    assert!((126..=127).contains(&s.qlen), "qlen {}", s.qlen);
    // Each sender offers 8 Mbit/s of payload: 1400-byte datagrams.
    let offered = FLOWS * 8_000_000 / 8 * (END - START) / 1_000_000_000 / 1400;
    let dropped = offered - link;
    let err = (s.drops as f64 - dropped as f64).abs() / dropped as f64;
    assert!(err < 0.02, "drops {} vs {dropped}", s.drops);
}
