//! fq (`sch_fq.c`) end to end. Expected values come from the mechanism: a flow under
//! `maxrate` leaves at that rate (in qdisc bytes: frames without FCS), flows sharing an fq
//! bottleneck get max-min fair shares, and BBR over fq is paced by fq — its socket's
//! `sk_pacing_status` is `SK_PACING_FQ`, so TCP's own pacing timer is never armed — while its
//! bandwidth estimate still tracks the bottleneck.

mod common;

use std::ops::ControlFlow;

use common::load;
use sim_core::{Limits, run};
use sim_stack::sock::Socket;
use sim_stack::tcp::PacingStatus;
use sim_stack::trace::{MemorySink, Trace, TraceLevel};
use sim_stack::world::{Outputs, RunStats, World};

/// Runs `src` to its end with no trace; the world (for its sockets) and the stats.
fn run_quiet(src: &str, overrides: &[(&str, &str)]) -> (World, RunStats) {
    let sc = load(src, overrides);
    let outputs = Outputs {
        trace: Trace::new(TraceLevel::None, Box::new(MemorySink::default())),
        capture: None,
        record_paths: false,
    };
    let (mut world, mut sched) = World::build(&sc, outputs).expect("builds");
    let report = run(&mut world, &mut sched, Limits::until(sc.end_time), |_| {
        ControlFlow::Continue(())
    });
    let stats = world.stats(report.now.as_nanos(), report.events);
    (world, stats)
}

/// a (BBR, fq on its NIC) —1 Gbit/s, 1 ms— r —10 Mbit/s, 19 ms— b, a 1000-packet FIFO at r.
const BBR_PATH: &str = r#"
end 12s
host a {
    sysctl net.ipv4.tcp_congestion_control = bbr
    iface eth0 { ip 10.0.0.1/24  qdisc fq }
}
router r {
    iface eth0 { ip 10.0.0.2/24 }
    iface eth1 { ip 10.0.1.1/24  qdisc pfifo limit 1000 }
}
host b { iface eth0 { ip 10.0.1.2/24 } }
routing auto
link a.eth0 -- r.eth0 { rate 1Gbit  delay 1ms }
link r.eth1 -- b.eth0 { rate 10Mbit  delay 19ms }
app b: tcp_sink { port 9 }
app a: tcp_bulk { to 10.0.1.2:9  bytes unlimited } at 10ms
"#;

/// The bottleneck's rate in TCP payload: 10 Mbit/s of 1538-byte wire frames carrying 1448.
const PAYLOAD_RATE: f64 = 10e6 / 8.0 * 1448.0 / 1538.0;

#[test]
fn bbr_over_fq_is_paced_by_fq_and_tracks_the_bottleneck() {
    let (world, stats) = run_quiet(BBR_PATH, &[]);
    let a = world.nodes.iter().find(|n| n.name == "a").expect("a");
    let socks: Vec<_> = a
        .socks
        .iter()
        .filter_map(|(_, s)| match s {
            Socket::Tcp(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(socks.len(), 1);
    let t = socks[0];
    // fq_enqueue set SK_PACING_FQ before BBR's init could ask for internal pacing.
    assert_eq!(t.pacing_status, PacingStatus::Fq);
    // tcp_pacing_check never held a packet back: the pacing hrtimer was never created.
    assert!(t.timers.pacing_timer.is_none());
    // fq did the pacing: it throttled the flow, many times.
    let q = stats.nodes["a"].ifaces["eth0"]
        .qdisc
        .fq
        .as_deref()
        .expect("fq counters");
    assert!(q.throttled > 1000, "{q:?}");
    assert_eq!(q.flows_plimit + q.horizon_drops, 0);
    let c = &stats.nodes["a"].tcp_connections[0];
    let bbr = c.bbr.as_ref().expect("a BBR report");
    let bw = bbr.bw as f64;
    assert!(
        (bw / PAYLOAD_RATE - 1.0).abs() < 0.01,
        "bw {bw} vs {PAYLOAD_RATE}"
    );
    // The link ran full from a second on, nothing lost (the FIFO never filled).
    assert!(c.stats.bytes_acked as f64 > 10.5 * PAYLOAD_RATE);
    assert_eq!(c.stats.retrans, 0);
}

/// Two CUBIC flows from a, whose fq caps each at `maxrate`, over 1 Gbit/s links.
const MAXRATE: &str = r#"
param maxrate = 20Mbit
end 10s
host a { iface eth0 { ip 10.0.0.1/24  qdisc fq maxrate $maxrate } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 5ms }
app b: tcp_sink { port 9 }
app a: tcp_bulk { to 10.0.0.2:9  bytes unlimited }
app a: tcp_bulk { to 10.0.0.2:9  bytes unlimited }
"#;

#[test]
fn maxrate_caps_each_flow() {
    for (maxrate, bps) in [("20Mbit", 20e6), ("5Mbit", 5e6)] {
        let (_, stats) = run_quiet(MAXRATE, &[("maxrate", maxrate)]);
        let q = &stats.nodes["a"].ifaces["eth0"].qdisc;
        // fq charges each packet qdisc_pkt_len (a full segment: 1448 + 52 + 14 = 1514
        // bytes) and spaces the next by len / maxrate: two flows, twice the rate, over the
        // 10 s less the handshake's round trip.
        let want = 2.0 * bps / 8.0 * (10.0 - 0.01);
        let got = q.stats.bytes as f64;
        assert!(
            (got / want - 1.0).abs() < 0.02,
            "{maxrate}: {got} vs {want}"
        );
        // Each connection's share: the same within 2 %, its payload 1448/1514 of it.
        for c in &stats.nodes["a"].tcp_connections {
            let payload = c.stats.bytes_acked as f64;
            let each = bps / 8.0 * 10.0 * 1448.0 / 1514.0;
            assert!(
                (payload / each - 1.0).abs() < 0.03,
                "{maxrate}: {payload} vs {each}"
            );
        }
    }
}

#[test]
fn the_scenario_shares_its_fq_bottleneck_max_min_fairly() {
    let src = include_str!("../../scenarios/tc/fq_pacing.net");
    let (_, stats) = run_quiet(src, &[]);
    let acked = |n: &str| -> Vec<f64> {
        stats.nodes[n]
            .tcp_connections
            .iter()
            .map(|c| c.stats.bytes_acked as f64 * 8.0 / 10.0)
            .collect()
    };
    let (bbr, cubic, capped) = (acked("bbr")[0], acked("cubic")[0], acked("capped"));
    // The capped flows leave at maxrate (10 Mbit/s of 1514-byte qdisc packets, so 1448/1514
    // of it in payload), within 2 %.
    let cap = 10e6 * 1448.0 / 1514.0;
    for c in &capped {
        assert!((c / cap - 1.0).abs() < 0.02, "{c} vs {cap}");
    }
    // The rest of the 100 Mbit/s bottleneck (in payload: 1448 of each 1538-byte wire frame)
    // is shared evenly by BBR and CUBIC, whose flows fq at r serves in turn.
    let rest = 100e6 * 1448.0 / 1538.0 - capped.iter().sum::<f64>();
    for f in [bbr, cubic] {
        assert!(
            (f / (rest / 2.0) - 1.0).abs() < 0.05,
            "{f} vs {}",
            rest / 2.0
        );
    }
}
