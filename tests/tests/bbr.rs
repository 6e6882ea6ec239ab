//! BBR v1 (`tcp_bbr.c`) end to end, paced by TCP itself (no fq): through a 10 Mbit/s
//! bottleneck with a deep FIFO, its bandwidth estimate is the bottleneck's rate, it enters
//! ProbeRTT every 10 s with cwnd 4 for 200 ms, and the queue it keeps is a fraction of a
//! BDP, where CUBIC fills the FIFO. Expected values come from the path and tcp_bbr.c's
//! constants, not from a run.

mod common;

use common::{load, run_with_tcp_probe};
use sim_stack::world::RunStats;

/// a —1 Gbit/s, 1 ms— r —10 Mbit/s, 19 ms— b: a 40 ms propagation RTT, a 1000-packet FIFO
/// (plus the 256-descriptor ring) at r in front of the 10 Mbit/s link.
const PATH: &str = r#"
param cc = bbr
end 25s
sysctl net.ipv4.tcp_congestion_control = $cc
host a { iface eth0 { ip 10.0.0.1/24 } }
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

/// One `tcp_probe` line of the sender: (seconds, snd_cwnd, srtt µs).
struct Probe {
    t: f64,
    cwnd: u32,
    srtt_us: u32,
}

fn field(line: &str, key: &str) -> u32 {
    let at = line.find(key).expect(key) + key.len();
    line[at..]
        .split(' ')
        .next()
        .and_then(|v| v.parse().ok())
        .expect("a number")
}

/// Runs the path with `cc`, returning the stats and the sender's tcp_probe lines.
fn run_path(cc: &str) -> (RunStats, Vec<Probe>) {
    let sc = load(PATH, &[("cc", cc)]);
    let (stats, probe) = run_with_tcp_probe(&sc);
    let probes = probe
        .lines()
        .filter(|l| l.contains(" a tcp_probe:") && l.contains("dest=10.0.1.2:9 "))
        .map(|l| Probe {
            t: l.split(' ')
                .next()
                .and_then(|t| t.parse().ok())
                .expect("time"),
            cwnd: field(l, "snd_cwnd="),
            srtt_us: field(l, "srtt="),
        })
        .collect();
    (stats, probes)
}

/// The bottleneck's rate in TCP payload: 10 Mbit/s of 1538-byte wire frames (1514 + 24 of
/// preamble, FCS and gap) each carrying 1448 bytes.
const PAYLOAD_RATE: f64 = 10e6 / 8.0 * 1448.0 / 1538.0;
/// The path's minimum RTT: 40 ms of propagation plus one full frame's serialization at
/// 10 Mbit/s (1.2304 ms) and the rest (µs).
const MIN_RTT_US: f64 = 40_000.0 + 1538.0 * 8.0 / 10.0;

#[test]
fn bbr_estimates_the_bottleneck_rate_probes_rtt_every_10s_and_keeps_the_queue_small() {
    let (stats, probes) = run_path("bbr");
    let c = &stats.nodes["a"].tcp_connections[0];
    assert_eq!(c.cong, "bbr");
    let bbr = c.bbr.as_ref().expect("a BBR report");
    assert!(bbr.full_bw_reached);
    // The bandwidth filter's max: the bottleneck's payload rate, within 1 % (BW_UNIT
    // truncation and the ACK clock's jitter only lower it).
    let bw = bbr.bw as f64;
    assert!(
        (bw / PAYLOAD_RATE - 1.0).abs() < 0.01,
        "bw {bw} vs {PAYLOAD_RATE}"
    );
    // min_rtt: the propagation RTT and one frame's serialization, within 5 %.
    let mrtt = f64::from(bbr.min_rtt_us);
    assert!(
        (mrtt / MIN_RTT_US - 1.0).abs() < 0.05,
        "{mrtt} vs {MIN_RTT_US}"
    );
    // ProbeRTT when the min RTT is 10 s old: twice in 25 s. The filter's clock restarts
    // when ProbeRTT ends (200 ms at cwnd 4 and a round trip after in-flight fell to 4),
    // so the next comes 10 s + 200 ms + about two round trips later.
    let at = &bbr.probe_rtt_at_ms;
    assert_eq!(at.len(), 2, "{at:?}");
    assert!((10_000..10_500).contains(&at[0]), "{at:?}");
    let gap = at[1] - at[0];
    assert!((10_200..10_400).contains(&gap), "{at:?}");
    // In ProbeRTT the sender's cwnd is 4 for at least 200 ms, and not much more than
    // 200 ms and two round trips.
    for &entry in at {
        let start = entry as f64 / 1000.0;
        let held: Vec<f64> = probes
            .iter()
            .filter(|p| p.t >= start && p.t < start + 0.5)
            .skip_while(|p| p.cwnd != 4)
            .take_while(|p| p.cwnd == 4)
            .map(|p| p.t)
            .collect();
        let span = held.last().expect("cwnd 4") - held[0];
        assert!(
            (0.19..0.35).contains(&span),
            "ProbeRTT at {entry} ms: {span} s"
        );
    }
    // The queue: after startup and drain (t > 2 s), the smoothed RTT stays under twice the
    // min RTT: less than one BDP queued (ProbeBW's cwnd gain is 2: at most one BDP beyond
    // the pipe, and the 3/4 phase drains what the 5/4 one queued).
    let worst = probes
        .iter()
        .filter(|p| p.t > 2.0)
        .map(|p| p.srtt_us)
        .max()
        .expect("samples");
    assert!(f64::from(worst) < 2.0 * MIN_RTT_US, "srtt up to {worst} µs");
    // Nothing lost: the FIFO never filled.
    assert_eq!(c.stats.retrans, 0);
    // The link ran full: 23 s of the payload rate at least.
    assert!(c.stats.bytes_acked as f64 > 23.0 * PAYLOAD_RATE);
}

#[test]
fn cubic_on_the_same_path_fills_the_fifo() {
    let (stats, probes) = run_path("cubic");
    let c = &stats.nodes["a"].tcp_connections[0];
    assert_eq!(c.cong, "cubic");
    assert!(c.bbr.is_none());
    // Loss-based: the window grows until the 1000-packet FIFO (1.23 s at 10 Mbit/s) and the
    // ring overflow; the RTT goes far past a BDP of queue.
    let worst = probes.iter().map(|p| p.srtt_us).max().expect("samples");
    assert!(
        f64::from(worst) > 10.0 * MIN_RTT_US,
        "srtt up to {worst} µs"
    );
}

#[test]
fn tcp_congestion_per_socket_and_the_available_list() {
    use sim_stack::tcp::cong::Cong;
    assert_eq!(Cong::AVAILABLE[..3], ["reno", "cubic", "bbr"]);
    assert_eq!(Cong::by_name("bbr").map(|c| c.name()), Some("bbr"));
}
