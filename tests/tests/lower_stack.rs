//! Whole runs of the lower half of the modeled stack — qdiscs, TX ring, links, switch, ARP,
//! IP forwarding, ICMP — built from `.net` text. Every expected figure is derived by
//! arithmetic in the test (see the comments), never read off a run.
//!
//! Traffic comes from `ping`, the one app that runs today. A burst is one large ping: IP
//! fragments it at the sender into back-to-back fragments, all handed to `dev_queue_xmit` at
//! the same instant.
//!
//! Not here: pfifo_fast band selection by TOS over a whole run. Nothing in a run can set a
//! TOS today (ping has no `tos` option and sends TOS 0; echo replies copy it; ICMP errors use
//! 0xc0, which `rt_tos2priority` maps to best effort like TOS 0), so every packet lands in
//! band 1. The band mapping is unit-tested in `sim-stack/src/qdisc/pfifo_fast.rs`.

mod common;

use common::{load, run_scenario};
use sim_core::{RngStreams, SimDuration};
use sim_stack::capture::CaptureFormat;
use sim_stack::link::serialization_time;
use sim_stack::world::Drops;

/// IP payload carried by each fragment of a datagram over MTU 1500: 1500 − 20, a multiple of 8.
const FRAG_PAYLOAD: u64 = 1480;
/// Ethernet + IPv4 header bytes in front of an IP payload.
const HDRS: u64 = 14 + 20;

/// Fragments IP makes of a ping with `size` data bytes (ICMP header 8) over MTU 1500.
fn fragments(size: u64) -> u64 {
    (size + 8).div_ceil(FRAG_PAYLOAD)
}

/// Frame length of fragment `i` (0-based) of a ping with `size` data bytes.
fn fragment_frame_len(size: u64, i: u64) -> u64 {
    let icmp = size + 8;
    let n = fragments(size);
    if i + 1 < n {
        HDRS + FRAG_PAYLOAD
    } else {
        HDRS + icmp - FRAG_PAYLOAD * (n - 1)
    }
}

/// Count of trace lines with every needle.
fn count(trace: &str, needles: &[&str]) -> usize {
    trace
        .lines()
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .count()
}

// ---------------------------------------------------------------------------------------------
// 1. qdisc overflow at a bottleneck

const OVERFLOW: &str = r"
end 3s
host client { iface eth0 { ip 10.0.0.2/24 }  route default via 10.0.0.1 }
router r {
    iface eth0 { ip 10.0.0.1/24 }
    iface eth1 { ip 10.0.1.1/24  tx_ring 3  qdisc pfifo limit 5 }
}
host server { iface eth0 { ip 10.0.1.2/24 }  route default via 10.0.1.1 }
link client.eth0 -- r.eth0   { rate 1Gbit   delay 10us }
link r.eth1 -- server.eth0   { rate 10Mbit  delay 10us }
# resolves ARP on both hops, so the burst meets no neighbour queue
app client: ping 10.0.1.2 { count 1 } at 100ms
# the burst: 20008 bytes of ICMP in 14 fragments
app client: ping 10.0.1.2 { count 1  size 20000B } at 1s
";

#[test]
fn pfifo_overflow_at_the_bottleneck_drops_burst_minus_ring_minus_limit() {
    let r = run_scenario(&load(OVERFLOW, &[]), None);
    let size = 20_000;
    let f = fragments(size);
    assert_eq!(f, 14); // 20008 = 13 × 1480 + 768
    let (ring, limit) = (3, 5);
    // The fragments reach the router 12.304 us apart ((1514 + 24) × 8 ns at 1 Gbit/s), so the
    // whole burst is in within 13 × 12.304 us = 160 us, while the first fragment takes
    // 1230.4 us to leave at 10 Mbit/s: no descriptor frees up during the burst.
    let gap_in = serialization_time(1514, 1_000_000_000);
    let first_out = serialization_time(1514, 10_000_000);
    assert!(gap_in.as_nanos() * (f - 1) < first_out.as_nanos());
    // The first `ring` fragments go straight to the TX ring (one on the wire, two waiting);
    // the next one is dequeued, refused (ring full) and requeued, and the requeue slot counts
    // towards pfifo's limit, so the qdisc holds `limit` fragments; the rest are tail-dropped.
    let drops = f - ring - limit;
    assert_eq!(drops, 6);
    assert_eq!(
        r.stats.drops,
        Drops {
            qdisc: drops,
            ..Drops::default()
        },
        "{}",
        r.trace
    );
    let eth1 = r.iface("r", "eth1");
    assert_eq!(eth1.qdisc.kind, "pfifo");
    assert_eq!(eth1.qdisc.stats.drops, drops);
    // The dropped ones are the last six fragments, each with a trace line.
    let dropped = r.lines_with(&["r eth1 drop qdisc_drop"]);
    assert_eq!(dropped.len() as u64, drops, "{}", r.trace);
    for (k, line) in dropped.iter().enumerate() {
        let i = ring + limit + k as u64;
        let frag = format!(
            ":{}@{}",
            fragment_frame_len(size, i) - HDRS,
            i * FRAG_PAYLOAD
        );
        assert!(line.contains(&frag), "{line} should be {frag}");
    }
    // Everything that passed the qdisc while the ring was full was requeued exactly once:
    // the `limit` fragments held back. Each TX completion frees one descriptor, wakes the
    // queue, moves the requeued fragment into the ring, and the next one is refused again.
    assert_eq!(eth1.qdisc.stats.requeues, limit);
    assert_eq!(eth1.ring.busy, limit);
    assert_eq!(eth1.ring.wakes, limit);
    assert_eq!(eth1.ring.max_used, ring as u32);
    assert_eq!((eth1.qdisc.stats.qlen, eth1.qdisc.stats.backlog), (0, 0));
    // Sent (counted once per packet, requeues or not): the warm-up's ARP request (42) and
    // echo request (98), then ring + limit fragments of 1514 bytes.
    let passed = ring + limit;
    assert_eq!(eth1.qdisc.stats.packets, 2 + passed);
    assert_eq!(eth1.qdisc.stats.bytes, 42 + 98 + passed * 1514);
    assert_eq!(eth1.link.tx_packets, 2 + passed);
    // The server got exactly the fragments that passed, so no reply to the burst.
    let got = r.lines_with(&["server eth0 rx", "icmp (frag"]).len() as u64;
    assert_eq!(got, passed);
    assert_eq!(r.stats.nodes["server"].ip.ReasmOKs, 0);
    let burst = r.ping(1);
    assert_eq!((burst.transmitted, burst.received), (1, 0));
    let warm = r.ping(0);
    assert_eq!((warm.transmitted, warm.received), (1, 1));
}

// ---------------------------------------------------------------------------------------------
// 3. tbf shaping, measured from the pcap timestamps

const TBF: &str = r"
param rate = 3Mbit
end 3s
host client {
    iface eth0 { ip 10.0.0.2/24  qdisc tbf rate $rate burst 4000B latency 1s }
    route default via 10.0.0.1
}
router r { iface eth0 { ip 10.0.0.1/24 } }
link client.eth0 -- r.eth0 { rate 1Gbit  delay 1ms }
app client: ping 10.0.0.1 { count 1  size 20000B } at 1s
";

#[test]
fn tbf_spaces_departures_by_packet_time_at_the_rate() {
    let rate: u64 = 3_000_000;
    let burst: u64 = 4000;
    let dir = common::temp_dir("tbf");
    let r = run_scenario(
        &load(TBF, &[]),
        Some(common::capture_into(&dir, CaptureFormat::Pcap)),
    );
    let mac = r.world.nodes[0].devs[0].mac.0;
    let sent = common::read_pcap(&dir.join("client-eth0.pcap"));
    let got = common::read_pcap(&dir.join("r-eth0.pcap"));
    std::fs::remove_dir_all(&dir).expect("cleanup");

    // tbf's token cost of a packet, as the model computes it: len × 8 × 10^9 / rate ns,
    // truncated to the nanosecond. At 3 Mbit/s a 1514-byte fragment is 4 037 333.33 ns:
    // the model charges 4 037 333 (one third of a ns less per packet than exact).
    let cost = |len: u64| len * 8 * 1_000_000_000 / rate;
    assert_eq!(cost(1514), 4_037_333);
    let buffer = cost(burst); // the bucket: 10 666 666 ns
    assert_eq!(buffer, 10_666_666);

    // The client's transmitted frames: the ARP request, then the 14 fragments.
    let tx: Vec<&common::Record> = sent.iter().filter(|p| p.data[6..12] == mac).collect();
    let size = 20_000;
    let f = fragments(size);
    assert_eq!(tx.len() as u64, 1 + f);
    assert_eq!(tx[0].data[12..14], [0x08, 0x06]); // ARP
    let frags = &tx[1..];
    // The ARP request left at 1 s with a full bucket (it costs 112 us of the 10.7 ms), the
    // reply came 2 ms later: the fragments, released together, find the bucket full again.
    let t0 = frags[0].ts_ns;
    let arp_hop = serialization_time(42, 1_000_000_000) + SimDuration::from_millis(1);
    assert_eq!(t0, 1_000_000_000 + 2 * arp_hop.as_nanos()); // 1.002001344 s
    // A full bucket lets floor(buffer / cost) = 2 fragments go at once (2 × 4 037 333 =
    // 8 074 666 ≤ 10 666 666 < 3 × 4 037 333).
    let at_once = buffer / cost(1514);
    assert_eq!(at_once, 2);
    let mut expect = Vec::new();
    let mut tokens = buffer;
    let mut t = t0;
    for i in 0..f {
        let c = cost(fragment_frame_len(size, i));
        if tokens < c {
            // Throttled: the watchdog fires when the deficit has refilled, the packet
            // leaves with the bucket at exactly 0.
            t += c - tokens;
            tokens = c;
        }
        tokens -= c;
        expect.push(t);
    }
    // So the third leaves 3 × cost − buffer = 1 445 333 ns after the first two, and every
    // later one exactly one packet time after its predecessor: 4 037 333 ns for the full
    // fragments, 802 × 8 × 10^9 / 3×10^6 = 2 138 666 ns for the last (802-byte) one.
    assert_eq!(expect[2] - t0, 3 * 4_037_333 - 10_666_666);
    assert_eq!(expect[3] - expect[2], 4_037_333);
    assert_eq!(expect[13] - expect[12], 2_138_666);
    let times: Vec<u64> = frags.iter().map(|p| p.ts_ns).collect();
    assert_eq!(times, expect);
    // Far end: each starts serializing when it is handed over or when the one before it has
    // left (the first two were handed over together), and arrives one serialization time at
    // 1 Gbit/s plus 1 ms after it started.
    let rx: Vec<u64> = got
        .iter()
        .filter(|p| p.data[6..12] == mac && p.data[12..14] == [0x08, 0x00])
        .map(|p| p.ts_ns)
        .collect();
    let mut wire_free = 0;
    let arrive: Vec<u64> = frags
        .iter()
        .map(|p| {
            let start = p.ts_ns.max(wire_free);
            wire_free = start + serialization_time(p.data.len(), 1_000_000_000).as_nanos();
            wire_free + SimDuration::from_millis(1).as_nanos()
        })
        .collect();
    assert_eq!(arrive[1] - arrive[0], (1514 + 24) * 8);
    assert_eq!(rx, arrive);
    // Counters: nothing dropped; the bucket was short once per fragment after the first two
    // at its release, plus once per later dequeue attempt: each of those 12 fragments was
    // enqueued (and the qdisc run) while throttled, and each watchdog firing but the last
    // sends one and finds the next short again: (f − 2) + (f − 3).
    let q = &r.iface("client", "eth0").qdisc;
    assert_eq!(q.kind, "tbf");
    assert_eq!(q.stats.drops, 0);
    assert_eq!(q.stats.packets, 1 + f);
    assert_eq!(q.stats.overlimits, (f - 2) + (f - 3));
    assert_eq!(r.ping(0).received, 1);
}

// ---------------------------------------------------------------------------------------------
// 4. a full TX ring stops the queue: requeues, no loss

const RING: &str = r"
end 3s
host client {
    iface eth0 { ip 10.0.0.2/24  tx_ring 4 }
    route default via 10.0.0.1
}
router r {
    iface eth0 { ip 10.0.0.1/24 }
    iface eth1 { ip 10.0.1.1/24 }
}
host server { iface eth0 { ip 10.0.1.2/24 }  route default via 10.0.1.1 }
link client.eth0 -- r.eth0   { rate 100Mbit  delay 50us }
link r.eth1 -- server.eth0   { rate 100Mbit  delay 50us }
app client: ping 10.0.1.2 { count 2  interval 1s  size 20000B } at 1s
";

#[test]
fn full_tx_ring_requeues_every_packet_beyond_it_and_loses_none() {
    let r = run_scenario(&load(RING, &[]), None);
    let f = fragments(20_000);
    let ring = 4;
    let pings = 2;
    // Each burst of f fragments is handed over at one instant (the first one when the ARP
    // reply releases the neighbour queue). The first `ring` fill the ring; every later one is
    // dequeued, refused and requeued once, then sent when a TX completion wakes the queue.
    let per_burst = f - ring;
    let eth0 = r.iface("client", "eth0");
    assert_eq!(eth0.qdisc.stats.requeues, pings * per_burst, "{}", r.trace);
    assert_eq!(eth0.ring.busy, pings * per_burst);
    assert_eq!(eth0.ring.wakes, pings * per_burst);
    assert_eq!(eth0.ring.max_used, ring as u32);
    // Counted once each in Sent despite the requeues: the ARP request and 2 × 14 fragments.
    assert_eq!(eth0.qdisc.stats.packets, 1 + pings * f);
    assert_eq!(eth0.qdisc.stats.drops, 0);
    assert_eq!(eth0.link.tx_packets, 1 + pings * f);
    // No packet lost anywhere: both pings answered, every datagram reassembled.
    assert_eq!(r.stats.drops, Drops::default());
    let p = r.ping(0);
    assert_eq!((p.transmitted, p.received, p.errors), (2, 2, 0));
    assert_eq!(r.stats.nodes["server"].ip.ReasmOKs, pings);
    assert_eq!(r.stats.nodes["client"].ip.ReasmOKs, pings);
    assert_eq!(r.stats.links[0].dirs[0].frames, 1 + pings * f);
}

// ---------------------------------------------------------------------------------------------
// 5. a routing loop: TTL runs out, ICMP time exceeded comes back

const LOOP: &str = r"
end 5s
host client { iface eth0 { ip 10.0.0.2/24 }  route default via 10.0.0.1 }
router r1 {
    iface eth0 { ip 10.0.0.1/24 }
    iface eth1 { ip 10.0.1.1/24 }
    route default via 10.0.1.2
}
router r2 {
    iface eth0 { ip 10.0.1.2/24 }
    route default via 10.0.1.1
}
link client.eth0 -- r1.eth0 { rate 100Mbit  delay 100us }
link r1.eth1 -- r2.eth0     { rate 100Mbit  delay 100us }
app client: ping 10.9.9.9 { count 3 } at 1s
";

#[test]
fn routing_loop_expires_ttl_after_63_forwards_and_reports_time_exceeded() {
    let r = run_scenario(&load(LOOP, &[]), None);
    let pings = 3;
    // The request leaves the client with TTL 64. A router forwards a packet that arrives with
    // TTL > 1, decrementing it: r1 sees 64, 62, …, 2 (32 forwards), r2 sees 63, 61, …, 3 (31
    // forwards), and r2 gets it with TTL 1: time exceeded. 63 forwards in all.
    let ttl = 64u64;
    let r1_fw = ttl / 2; // even arrival TTLs 64..=2
    let r2_fw = (ttl - 2) / 2; // odd arrival TTLs 63..=3
    assert_eq!(r1_fw + r2_fw, ttl - 1);
    let lines_r1 = count(&r.trace, &["r1 eth1 tx", "ICMP echo request"]) as u64;
    let lines_r2 = count(&r.trace, &["r2 eth0 tx", "ICMP echo request"]) as u64;
    assert_eq!(lines_r1, pings * r1_fw, "{}", r.trace);
    assert_eq!(lines_r2, pings * r2_fw);
    // r2's time exceeded goes back through r1 (one more forward there).
    let ip1 = &r.stats.nodes["r1"].ip;
    let ip2 = &r.stats.nodes["r2"].ip;
    assert_eq!(ip1.ForwDatagrams, pings * (r1_fw + 1));
    assert_eq!(ip2.ForwDatagrams, pings * r2_fw);
    // ip_forward counts an expired TTL as a header error (IPSTATS_MIB_INHDRERRORS).
    assert_eq!((ip1.InHdrErrors, ip2.InHdrErrors), (0, pings));
    assert_eq!(
        r.stats.drops,
        Drops {
            ip: pings,
            ..Drops::default()
        }
    );
    assert_eq!(
        count(&r.trace, &["r2 eth0 drop ip_forward(ttl_exceeded)"]) as u64,
        pings
    );
    let icmp2 = &r.stats.nodes["r2"].icmp;
    assert_eq!((icmp2.OutTimeExcds, icmp2.OutMsgs), (pings, pings));
    assert_eq!(r.stats.nodes["r1"].icmp.OutTimeExcds, 0);
    let icmp_c = &r.stats.nodes["client"].icmp;
    assert_eq!((icmp_c.InTimeExcds, icmp_c.InMsgs), (pings, pings));
    assert_eq!(
        count(
            &r.trace,
            &["client eth0 rx", "10.0.1.2 > 10.0.0.2: ICMP time exceeded"]
        ) as u64,
        pings
    );
    let p = r.ping(0);
    assert_eq!((p.transmitted, p.received, p.errors), (3, 0, 3));
    assert_eq!(
        p.error.as_deref(),
        Some("From 10.0.1.2 icmp_seq=3 Time to live exceeded")
    );
}

// ---------------------------------------------------------------------------------------------
// 6. switch learning

const SWITCH: &str = r"
end 5s
host h1 { iface eth0 { ip 10.0.0.1/24 } }
host h2 { iface eth0 { ip 10.0.0.2/24 } }
host h3 { iface eth0 { ip 10.0.0.3/24 } }
switch sw
link h1.eth0 -- sw { rate 1Gbit  delay 10us }
link h2.eth0 -- sw { rate 1Gbit  delay 10us }
link h3.eth0 -- sw { rate 1Gbit  delay 10us }
app h1: ping 10.0.0.2 { count 3 } at 1s
app h3: ping 10.0.0.1 { count 2 } at 2500ms
";

#[test]
fn learning_switch_floods_only_broadcasts_and_unknown_destinations() {
    let r = run_scenario(&load(SWITCH, &[]), None);
    let sw = &r.stats.switches["sw"];
    // Frames, by port (p1 = h1, p2 = h2, p3 = h3):
    //   h1 → h2: ARP request (broadcast: flooded to p2, p3), ARP reply (h1 learned: p1 only),
    //            3 echo requests (h2 learned: p2 only), 3 echo replies (p1 only).
    //   h3 → h1: ARP request (flooded to p1, p2), ARP reply (p3 only), 2 echo requests
    //            (p1), 2 echo replies (p3).
    // rx = frames the host sent into the port, tx = frames the switch sent out of it.
    let (p1, p2, p3) = (&sw["p1"], &sw["p2"], &sw["p3"]);
    assert_eq!(
        (p1.rx_frames, p1.tx_frames, p1.flooded),
        (1 + 3 + 1 + 2, 1 + 3 + 1 + 2, 1)
    );
    assert_eq!(
        (p2.rx_frames, p2.tx_frames, p2.flooded),
        (1 + 3, 1 + 3 + 1, 2)
    );
    assert_eq!(
        (p3.rx_frames, p3.tx_frames, p3.flooded),
        (1 + 2, 1 + 1 + 2, 1)
    );
    assert_eq!(p1.drops + p2.drops + p3.drops, 0);
    // Only the two broadcasts were flooded, each to the two other ports.
    assert_eq!(p1.flooded + p2.flooded + p3.flooded, 2 * 2, "{}", r.trace);
    // h3 saw h1's broadcast and nothing of h1 ↔ h2's unicast exchange; h2 saw h3's broadcast
    // and nothing of h3 ↔ h1's.
    let h3_rx = r.lines_with(&["h3 eth0 rx"]);
    assert!(h3_rx[0].contains("ARP, Request who-has 10.0.0.2 tell 10.0.0.1"));
    assert_eq!(count(&r.trace, &["h3 eth0 rx", "10.0.0.2"]), 1);
    assert_eq!(count(&r.trace, &["h2 eth0 rx", "10.0.0.3"]), 1);
    assert_eq!(r.iface("h3", "eth0").link.rx_packets, 1 + 1 + 2);
    // Every host learned, and every ping was answered.
    assert_eq!(r.world.switches[0].fdb.len(), 3);
    let (a, b) = (r.ping(0), r.ping(1));
    assert_eq!((a.transmitted, a.received), (3, 3));
    assert_eq!((b.transmitted, b.received), (2, 2));
}

// ---------------------------------------------------------------------------------------------
// 7. link mtu

const MTU: &str = r"
end 4s
host client { iface eth0 { ip 10.0.0.2/24 }  route default via 10.0.0.1 }
router r {
    iface eth0 { ip 10.0.0.1/24 }
    iface eth1 { ip 10.0.1.1/24  mtu 1500 }
}
host server { iface eth0 { ip 10.0.1.2/24  mtu 1500 }  route default via 10.0.1.1 }
link client.eth0 -- r.eth0  { rate 100Mbit  delay 100us }
link r.eth1 -- server.eth0  { rate 100Mbit  delay 100us  mtu 1000 }
app client: ping 10.0.1.2 { count 2  size 972B } at 1s
app client: ping 10.0.1.2 { count 2  size 973B } at 1100ms
app client: ping 10.0.1.2 { count 1  size 2000B } at 1200ms
";

#[test]
fn link_mtu_drops_frames_carrying_more_than_mtu_bytes_of_ip() {
    let r = run_scenario(&load(MTU, &[]), None);
    // Both interfaces on the link say MTU 1500, so nobody fragments for the link's 1000:
    // the wire carries IP packets up to 1000 bytes and discards larger ones.
    // size 972: 20 + 8 + 972 = 1000 bytes of IP, fits exactly (requests and replies);
    // size 973: 1001 bytes, the two requests are dropped (no reply comes back);
    // size 2000: fragmented by the client for MTU 1500 into 1500 + 548 bytes of IP: the
    //            first fragment is dropped, the second passes.
    let oversize = 2 + 1;
    let link = &r.stats.links[1];
    assert_eq!(link.ends, ["r.eth1".to_string(), "server.eth0".to_string()]);
    assert_eq!(
        (link.dirs[0].oversize, link.dirs[1].oversize),
        (oversize, 0)
    );
    assert_eq!(link.dirs[0].lost + link.dirs[1].lost, 0);
    assert_eq!(
        r.stats.drops,
        Drops {
            link_mtu: oversize,
            ..Drops::default()
        }
    );
    let lines = r.lines_with(&["r eth1 drop link_mtu"]);
    assert_eq!(lines.len() as u64, oversize, "{}", r.trace);
    // In time order: the first 973-byte request (1.1 s), the 2000-byte ping's first
    // fragment (1.2 s), the second 973-byte request (2.1 s).
    assert!(lines[0].contains(" 1015 IP 10.0.0.2 > 10.0.1.2: ICMP echo request"));
    assert!(lines[1].contains(" 1514 IP 10.0.0.2 > 10.0.1.2: icmp (frag "));
    assert!(lines[1].contains(":1480@0+)"));
    assert!(lines[2].contains(" 1015 IP 10.0.0.2 > 10.0.1.2: ICMP echo request"));
    // The oversize frames still occupied the wire: r.eth1 sent ARP + 2 + 2 + 2 frames.
    assert_eq!(link.dirs[0].frames, 1 + 2 + 2 + 2);
    assert_eq!(r.iface("server", "eth0").link.rx_packets, 1 + 2 + 1);
    let (fit, big, frag) = (r.ping(0), r.ping(1), r.ping(2));
    assert_eq!((fit.transmitted, fit.received), (2, 2));
    assert_eq!((big.transmitted, big.received, big.errors), (2, 0, 0));
    assert_eq!((frag.transmitted, frag.received), (1, 0));
    assert_eq!(r.stats.nodes["server"].ip.ReasmOKs, 0);
}

// ---------------------------------------------------------------------------------------------
// 8. random link loss

const LOSS: &str = r"
param seed = 1
seed $seed
end 6s
sysctl net.ipv4.neigh.default.retrans_time_ms = 10
host a { iface eth0 { ip 10.0.0.2/24 }  route default via 10.0.0.1 }
router r {
    iface eth0 { ip 10.0.0.1/24 }
    iface eth1 { ip 10.0.1.1/24 }
}
host b { iface eth0 { ip 10.0.1.2/24 }  route default via 10.0.1.1 }
link a.eth0 -- r.eth0  { rate 100Mbit  delay 100us }
link r.eth1 -- b.eth0  { rate 100Mbit  delay 100us  loss 10% }
app a: ping 10.0.1.2 { count 80  interval 50ms } at 1s
";

/// Which frames of the lossy link (`r.eth1--b.eth0`) were lost, in the order they were sent, and the
/// whole trace.
fn lossy_run(seed: u64) -> (Vec<bool>, common::Ran) {
    let seed_s = seed.to_string();
    let r = run_scenario(&load(LOSS, &[("seed", &seed_s)]), None);
    // Every frame found its TX ring empty, so each went on the wire at its `tx` trace line:
    // the trace lists the link's frames in the order the link drew their fates.
    assert_eq!(r.iface("r", "eth1").ring.max_used, 1);
    assert_eq!(r.iface("b", "eth0").ring.max_used, 1);
    let mut fates = Vec::new();
    let mut lines = r.trace.lines().peekable();
    while let Some(l) = lines.next() {
        if l.contains(" r eth1 tx ") || l.contains(" b eth0 tx ") {
            // A lost frame's `drop link_loss` line follows its `tx` line at once.
            let lost = lines.peek().is_some_and(|n| n.contains(" drop link_loss "));
            fates.push(lost);
        }
    }
    (fates, r)
}

#[test]
fn link_loss_follows_the_links_own_random_stream() {
    let seed = 1;
    let (fates, r) = lossy_run(seed);
    // 10% is stored as 100 000 ppm; the link draws once per frame it carries, from the
    // stream ("link", its name) of the run's seed, in the order the frames are sent.
    let mut rng = RngStreams::new(seed).stream_named("link", "r.eth1--b.eth0");
    let expect: Vec<bool> = fates.iter().map(|_| rng.chance_ppm(100_000)).collect();
    assert_eq!(fates, expect, "{}", r.trace);
    let lost = fates.iter().filter(|&&l| l).count() as u64;
    assert!(lost > 0);
    let link = &r.stats.links[1];
    assert_eq!(link.dirs[0].lost + link.dirs[1].lost, lost);
    assert_eq!(
        link.dirs[0].frames + link.dirs[1].frames,
        fates.len() as u64
    );
    assert_eq!(
        r.stats.drops,
        Drops {
            link_loss: lost,
            ..Drops::default()
        }
    );
    assert_eq!(count(&r.trace, &["drop link_loss"]) as u64, lost);
    // Each direction: every frame sent either arrived or was lost.
    let rx_b = r.iface("b", "eth0").link.rx_packets;
    let rx_r = r.iface("r", "eth1").link.rx_packets;
    assert_eq!(link.dirs[0].frames, rx_b + link.dirs[0].lost);
    assert_eq!(link.dirs[1].frames, rx_r + link.dirs[1].lost);
    // A ping without its reply lost exactly one of its two frames on the lossy link.
    let lost_echo = count(&r.trace, &["drop link_loss", "ICMP echo"]) as u64;
    let p = r.ping(0);
    assert_eq!(p.transmitted, 80);
    assert_eq!(u64::from(p.transmitted - p.received), lost_echo);
    assert_eq!(p.errors, 0);
}

#[test]
fn link_loss_is_a_function_of_the_seed() {
    let (a, ra) = lossy_run(1);
    let (b, rb) = lossy_run(1);
    assert_eq!(a, b);
    assert_eq!(ra.trace, rb.trace);
    assert_eq!(ra.stats.drops, rb.stats.drops);
    let (c, rc) = lossy_run(2);
    // Another seed, another pattern (and the same frames otherwise: the trace differs).
    let lost = |f: &[bool]| {
        f.iter()
            .enumerate()
            .filter(|(_, l)| **l)
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    };
    assert_ne!(lost(&a), lost(&c));
    assert_ne!(ra.trace, rc.trace);
    // Declaring another link first changes nothing on this one: its stream is its name's.
    let moved = LOSS.replace(
        "link a.eth0 -- r.eth0",
        "host z { iface eth0 { ip 10.9.0.1/24 } }\nhost y { iface eth0 { ip 10.9.0.2/24 } }\nlink z.eth0 -- y.eth0 { rate 1Mbit  delay 1ms  loss 50% }\nlink a.eth0 -- r.eth0",
    );
    let r2 = run_scenario(&load(&moved, &[("seed", "1")]), None);
    assert_eq!(
        r2.stats.links[2].dirs[0].lost + r2.stats.links[2].dirs[1].lost,
        ra.stats.links[1].dirs[0].lost + ra.stats.links[1].dirs[1].lost
    );
    assert_eq!(r2.ping(0).received, ra.ping(0).received);
    let mut rng = RngStreams::new(2).stream_named("link", "r.eth1--b.eth0");
    let expect: Vec<bool> = c.iter().map(|_| rng.chance_ppm(100_000)).collect();
    assert_eq!(c, expect);
}

/// Echo requests Linux does not answer: with `icmp_echo_ignore_all`, and to a directed
/// broadcast (`icmp_echo_ignore_broadcasts`, 1 by default). And a ping socket's IP IDs come
/// from the hashed generator (ignore_df in PMTU "want" mode): consecutive, not 0.
#[test]
fn echo_requests_linux_ignores_and_ping_ip_ids() {
    let src = |ignore_all: u8, to: &str| {
        format!(
            "
seed 3
end 5s
host a {{ iface eth0 {{ ip 10.0.0.1/24 }} }}
host b {{
    iface eth0 {{ ip 10.0.0.2/24 }}
    sysctl net.ipv4.icmp_echo_ignore_all = {ignore_all}
}}
link a.eth0 -- b.eth0 {{ rate 1Gbit  delay 1ms }}
app a: ping {to} {{ count 3  interval 100ms }}
"
        )
    };
    let replies = |ran: &common::Ran| ran.ping(0).received;
    let ran = run_scenario(&load(&src(0, "10.0.0.2"), &[]), None);
    assert_eq!(replies(&ran), 3);
    let ran = run_scenario(&load(&src(1, "10.0.0.2"), &[]), None);
    assert_eq!(replies(&ran), 0, "icmp_echo_ignore_all");
    assert_eq!(ran.stats.nodes["b"].icmp.InEchos, 3);
    assert_eq!(ran.stats.nodes["b"].icmp.OutEchoReps, 0);
    let ran = run_scenario(&load(&src(0, "10.0.0.255"), &[]), None);
    assert_eq!(
        ran.stats.nodes["b"].icmp.OutEchoReps, 0,
        "directed broadcast"
    );

    let dir = common::temp_dir("ping-ids");
    let _ran = run_scenario(
        &load(&src(0, "10.0.0.2"), &[]),
        Some(common::capture_into(&dir, CaptureFormat::Pcap)),
    );
    let ids: Vec<u16> = common::read_pcap(&dir.join("a-eth0.pcap"))
        .iter()
        .filter(|r| {
            r.data.len() > 34 && r.data[12..14] == [8, 0] && r.data[26..30] == [10, 0, 0, 1]
        })
        .map(|r| u16::from_be_bytes([r.data[18], r.data[19]]))
        .collect();
    assert_eq!(ids.len(), 3);
    // ip_idents_reserve: +1 per datagram, plus a random skip of up to the jiffies elapsed
    // since the bucket was last used (25 for 100 ms at HZ 250).
    assert!(ids[0] != 0, "{ids:?}");
    for w in ids.windows(2) {
        assert!((1..=26).contains(&w[1].wrapping_sub(w[0])), "{ids:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
