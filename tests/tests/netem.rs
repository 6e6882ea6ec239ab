//! netem end to end: the router of a — r — b emulates a WAN on its interface towards b
//! (`qdisc netem …` on r.eth1), and what a and b see is checked against what the mechanism
//! implies: the added delay, the loss rate, the copies, and where a flipped bit is caught.

mod common;

use common::{Ran, load, run_scenario};
use sim_stack::apps::AppReport;

/// a — r — b over 100 Mbit/s links of 1 ms, `qdisc` on r.eth1 (towards b), `apps` after.
fn line(qdisc: &str, seed: u64, apps: &str) -> Ran {
    let src = format!(
        "seed {seed}
end 4s
host a {{ iface eth0 {{ ip 10.0.0.2/24 }}  route default via 10.0.0.1 }}
router r {{
    iface eth0 {{ ip 10.0.0.1/24 }}
    iface eth1 {{ ip 10.0.1.1/24  {qdisc} }}
}}
host b {{ iface eth0 {{ ip 10.0.1.2/24 }}  route default via 10.0.1.1 }}
link a.eth0 -- r.eth0 {{ rate 100Mbit  delay 1ms }}
link r.eth1 -- b.eth0 {{ rate 100Mbit  delay 1ms }}
{apps}
"
    );
    run_scenario(&load(&src, &[]), None)
}

/// A ping from a to b across r with `netem` (if any) on r.eth1; the RTTs.
fn ping_rtts(netem: &str) -> Vec<u64> {
    let qdisc = if netem.is_empty() {
        String::new()
    } else {
        format!("qdisc netem {netem}")
    };
    let ran = line(
        &qdisc,
        1,
        "app a: ping 10.0.1.2 { count 20  interval 100ms } at 1s",
    );
    let p = ran.ping(0);
    assert_eq!(p.received, 20, "{netem}: every echo answered");
    p.rtts_ns
}

#[test]
fn delay_adds_exactly_to_the_forward_path() {
    // Only the request direction crosses r.eth1: each RTT grows by the delay, exactly; the
    // first twice, since r's ARP request for b waits in netem too.
    let base = ping_rtts("");
    let delayed = ping_rtts("delay 50ms");
    assert_eq!(delayed[0] - base[0], 100_000_000);
    for (b, d) in base.iter().zip(&delayed).skip(1) {
        assert_eq!(d - b, 50_000_000);
    }
    // Jitter 10ms uniform: every RTT within ±10ms of base + 50ms, not all equal.
    let jittered = ping_rtts("delay 50ms 10ms");
    for (b, d) in base.iter().zip(&jittered).skip(1) {
        let extra = (d - b) as i64 - 50_000_000;
        assert!((-10_000_000..10_000_000).contains(&extra), "{extra}");
    }
    assert!(jittered.windows(2).any(|w| w[0] != w[1]));
}

/// 2000 datagrams of 500 bytes from a to b through `netem` on r.eth1; (a's report, b's sink
/// report, the run).
fn udp_through(netem: &str, seed: u64) -> (u64, sim_stack::apps::udp_cbr::UdpSinkReport, Ran) {
    let ran = line(
        &format!("qdisc netem {netem}"),
        seed,
        "app b: udp_sink { port 7 }
app a: udp_cbr { to 10.0.1.2:7  payload 500B  interval 1ms } at 1s until 3s",
    );
    let reports = ran.world.app_reports();
    let sink = reports
        .iter()
        .find_map(|(_, r)| match r {
            AppReport::UdpSink(s) => Some(s.clone()),
            _ => None,
        })
        .expect("a udp_sink");
    let sent = ran.udp_cbr(1).sent;
    (sent, sink, ran)
}

#[test]
fn random_loss_rate_and_counters() {
    let (sent, sink, ran) = udp_through("loss random 10%", 1);
    assert!(sent >= 1990, "{sent} sent");
    let q = &ran.iface("r", "eth1").qdisc.stats;
    // Every datagram either arrived or was dropped by netem (counted as tc counts it).
    assert_eq!(sink.received + q.drops, sent);
    // Binomial(2000, 0.1): sd ≈ 13.4 packets; 4 sd.
    let lost = q.drops as f64 / sent as f64;
    assert!((lost - 0.10).abs() < 0.027, "loss {lost}");
    // The sender was told success: no error at a.
    assert_eq!(ran.stats.nodes["a"].udp.SndbufErrors, 0);
    // Same seed, same losses; another seed, others.
    let again = udp_through("loss random 10%", 1).2;
    assert_eq!(again.trace, ran.trace);
    let other = udp_through("loss random 10%", 2).2;
    assert_ne!(other.iface("r", "eth1").qdisc.stats, *q);
}

#[test]
fn duplicate_sends_each_datagram_twice() {
    let (sent, sink, ran) = udp_through("duplicate 100%", 1);
    assert_eq!(sink.received, 2 * sent);
    // Everything r sends towards b goes twice, its ARP request included.
    let q = &ran.iface("r", "eth1").qdisc.stats;
    assert_eq!(q.packets % 2, 0);
    assert!(q.packets >= 2 * sent);
    assert_eq!(ran.iface("b", "eth0").link.rx_packets, q.packets);
}

#[test]
fn corrupted_frames_are_caught_where_linux_catches_them() {
    // One bit flipped in each 542-byte frame (Ethernet 14, IPv4 20, UDP 8, payload 500), at a
    // uniform byte. A flip in the destination MAC or the EtherType (8 bytes) keeps the frame
    // from IP; of the frames that reach `ip_rcv` (534 bytes left to hit): in the IPv4 header
    // (20/534) ip_rcv drops it; in the UDP header or payload (508/534) udp_rcv does (Udp
    // InErrors: a bad checksum, or a length beyond the packet); in the source MAC (6/534)
    // nothing notices and b takes the datagram. (The ARP exchange is corrupted too, which
    // costs the first datagrams a retry of the resolution.)
    let (_, sink, ran) = udp_through("corrupt 100%", 3);
    let b = &ran.stats.nodes["b"];
    let n = b.ip.InReceives as f64;
    assert!(n > 500.0, "{n} IP packets reached b");
    let frac = |x: u64| x as f64 / n;
    let ip_errors = b.ip.InHdrErrors + b.ip.InTruncatedPkts;
    assert!(
        (frac(b.udp.InErrors) - 508.0 / 534.0).abs() < 0.03,
        "{:?}",
        b.udp
    );
    assert!(
        b.udp.InCsumErrors * 10 >= b.udp.InErrors * 9,
        "mostly checksum errors"
    );
    assert!((frac(ip_errors) - 20.0 / 534.0).abs() < 0.02, "{:?}", b.ip);
    assert!(
        (frac(sink.received) - 6.0 / 534.0).abs() < 0.012,
        "{}",
        sink.received
    );
    assert_eq!(b.udp.InErrors + ip_errors + sink.received, b.ip.InReceives);
}
