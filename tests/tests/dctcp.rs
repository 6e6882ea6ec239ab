//! DCTCP's classic result on scenarios/tc/dctcp_10g.net: two long flows through a
//! 10 Gbit/s bottleneck that CE-marks above K (fq_codel `ce_threshold` = 80 µs, 65 packets)
//! keep the queue near K and the link full, where CUBIC (no ECN) fills the 1000-packet
//! buffer. Bounds come from the path and the mechanism, not from a run.

mod common;

use common::{load, run_with_tcp_probe};
use sim_stack::world::RunStats;

const SCENARIO: &str = include_str!("../../scenarios/tc/dctcp_10g.net");

/// One frame's time at 10 Gbit/s: 1538 bytes on the wire (1514 + preamble, FCS, gap).
const FRAME_US: f64 = 1538.0 * 8.0 / 10_000.0;
/// The marking threshold in packets (the scenario's `k` of 80 µs).
const K: f64 = 80.0 / FRAME_US;
/// The propagation RTT: 2 × (10 + 50 + 10) µs.
const PROP_RTT_US: f64 = 140.0;
/// The bottleneck's rate in TCP payload, bytes/s (1448 of each 1538-byte frame).
const PAYLOAD_RATE: f64 = 10e9 / 8.0 * 1448.0 / 1538.0;

/// (seconds, srtt µs) of each sender's `tcp_probe` lines.
fn run_cc(cc: &str) -> (RunStats, Vec<(f64, f64)>) {
    let sc = load(SCENARIO, &[("cc", cc)]);
    let (stats, probe) = run_with_tcp_probe(&sc);
    let srtt = probe
        .lines()
        .filter(|l| l.contains(" tcp_probe:") && l.contains(":9 "))
        .map(|l| {
            let t: f64 = l
                .split(' ')
                .next()
                .and_then(|t| t.parse().ok())
                .expect("time");
            let at = l.find("srtt=").expect("srtt") + 5;
            let v: f64 = l[at..]
                .split(' ')
                .next()
                .and_then(|v| v.parse().ok())
                .expect("srtt");
            (t, v)
        })
        .collect();
    (stats, srtt)
}

fn acked(stats: &RunStats) -> u64 {
    ["S0", "S1"]
        .iter()
        .map(|h| stats.nodes[*h].tcp_connections[0].stats.bytes_acked)
        .sum()
}

#[test]
fn dctcp_keeps_the_queue_near_k_and_the_link_full() {
    let (stats, srtt) = run_cc("dctcp");
    for h in ["S0", "S1"] {
        let c = &stats.nodes[h].tcp_connections[0];
        assert_eq!(c.cong, "dctcp", "ECN negotiated: no fallback");
        let d = c.dctcp.as_ref().expect("a DCTCP report");
        // Marks happen but not on every packet: alpha strictly between 0 and 1.
        assert!(d.alpha > 0 && d.alpha < 1024, "{h}: alpha {}", d.alpha);
        // The marks are the only congestion signal: nothing lost.
        assert_eq!(c.stats.retrans, 0, "{h}");
    }
    // The queue, from the RTT: after the first 50 ms, the smoothed RTT minus the
    // propagation RTT, in packets at 10 Gbit/s, stays within [K/4, 2K] on average and
    // never beyond the 1000-packet buffer's 1/4.
    let late: Vec<f64> = srtt
        .iter()
        .filter(|(t, _)| *t > 0.05)
        .map(|(_, s)| (s - PROP_RTT_US) / FRAME_US)
        .collect();
    assert!(late.len() > 100);
    let mean = late.iter().sum::<f64>() / late.len() as f64;
    let max = late.iter().cloned().fold(0.0, f64::max);
    assert!(
        mean > K / 4.0 && mean < 2.0 * K,
        "mean queue {mean:.1} packets, K {K:.1}"
    );
    assert!(max < 250.0, "max queue {max:.1} packets");
    // Utilization: from 20 ms (both flows started and out of slow start) to 300 ms the
    // two flows' goodput is at least 95 % of the bottleneck's payload rate.
    let floor = 0.95 * PAYLOAD_RATE * 0.28;
    assert!(
        acked(&stats) as f64 > floor,
        "{} bytes acked, {floor:.0} is 95 %",
        acked(&stats)
    );
}

#[test]
fn cubic_on_the_same_path_fills_the_buffer() {
    let (stats, srtt) = run_cc("cubic");
    for h in ["S0", "S1"] {
        let c = &stats.nodes[h].tcp_connections[0];
        assert_eq!(c.cong, "cubic");
        assert!(c.dctcp.is_none());
    }
    // Loss-based: the queue grows to the buffer (1000 packets) and drops; the RTT goes
    // past half the buffer's delay.
    let max = srtt
        .iter()
        .map(|(_, s)| (s - PROP_RTT_US) / FRAME_US)
        .fold(0.0, f64::max);
    assert!(max > 500.0, "max queue {max:.1} packets");
    let retrans: u64 = ["S0", "S1"]
        .iter()
        .map(|h| stats.nodes[*h].tcp_connections[0].stats.retrans)
        .sum();
    assert!(retrans > 0);
}
