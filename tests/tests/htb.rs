//! HTB end to end: classes sharing a shaped link get their rates and borrow as configured
//! (tc-htb(8): a class is guaranteed its `rate`, may borrow up to its `ceil` what its
//! parent has left over, the excess going to the lowest `prio` first and, among equals, in
//! proportion to the `quantum`s), and the per-class counters in stats.json agree with what
//! the receiver got. Expected values come from the configured rates, not from a run.

mod common;

use common::{Ran, load, run_scenario};
use sim_stack::apps::AppReport;
use sim_stack::qdisc::class_report::ClassReport;

/// An Ethernet frame of a 1400-byte UDP payload: 14 + 20 + 8 + 1400.
const FRAME: u64 = 1442;
/// When the senders start, and the run's end, in ns.
const START: u64 = 100_000_000;
const END: u64 = 10_000_000_000;

/// a — r — b over 1 Gbit/s links of 1 ms, `htb` (its parameters and body) on r.eth1, and
/// greedy UDP senders from a at 120 Mbit/s to b's ports 5001 (filtered into 1:10) and 5002
/// (the default class, 1:20) unless `one` (only the first).
fn shaped(htb: &str, one: bool) -> Ran {
    let second = if one {
        ""
    } else {
        "app a: udp_cbr { to 10.0.1.2:5002  payload 1400B  rate 120Mbit } at 100ms"
    };
    let src = format!(
        "end 10s
host a {{ iface eth0 {{ ip 10.0.0.2/24 }}  route default via 10.0.0.1 }}
router r {{
    iface eth0 {{ ip 10.0.0.1/24 }}
    iface eth1 {{ ip 10.0.1.1/24  qdisc htb {htb} }}
}}
host b {{ iface eth0 {{ ip 10.0.1.2/24 }}  route default via 10.0.1.1 }}
link a.eth0 -- r.eth0 {{ rate 1Gbit  delay 1ms }}
link r.eth1 -- b.eth0 {{ rate 1Gbit  delay 1ms }}
app b: udp_sink {{ port 5001 }}
app b: udp_sink {{ port 5002 }}
app a: udp_cbr {{ to 10.0.1.2:5001  payload 1400B  rate 120Mbit }} at 100ms
{second}
"
    );
    run_scenario(&load(&src, &[]), None)
}

/// The class `classid` of r.eth1's htb.
fn class<'r>(ran: &'r Ran, classid: &str) -> &'r ClassReport {
    ran.iface("r", "eth1")
        .qdisc
        .classes
        .iter()
        .find(|c| c.classid == classid)
        .unwrap_or_else(|| panic!("no class {classid}"))
}

/// Bytes class `classid` sent.
fn sent(ran: &Ran, classid: &str) -> u64 {
    class(ran, classid)
        .htb
        .as_ref()
        .expect("htb class")
        .stats
        .bytes
}

/// Datagrams the `i`-th app (a udp_sink) received.
fn received(ran: &Ran, i: usize) -> u64 {
    match &ran.world.app_reports()[i].1 {
        AppReport::UdpSink(s) => s.received,
        other => panic!("app {i} is not a udp_sink: {other:?}"),
    }
}

/// Bytes at `mbit` Mbit/s over the senders' time on.
fn at(mbit: u64) -> u64 {
    mbit * 1_000_000 / 8 * (END - START) / 1_000_000_000
}

fn assert_near(got: u64, want: u64, pct: f64, what: &str) {
    let err = (got as f64 - want as f64).abs() / want as f64 * 100.0;
    assert!(
        err <= pct,
        "{what}: {got} bytes, expected {want} (±{pct}%), off by {err:.2}%"
    );
}

/// The two classes of `htb_share.net` with their rates and ceils.
const TREE: &str = "class 1:1 rate 100Mbit {
        class 1:10 rate 70Mbit ceil 100Mbit
        class 1:20 rate 30Mbit ceil 100Mbit
    }
    filter match ip dport 5001 flowid 1:10";

#[test]
fn both_busy_each_class_gets_its_rate() {
    // 70 + 30 = the parent's 100: nothing is left to lend, so each gets exactly its rate.
    let ran = shaped(&format!("default 20 {{ {TREE} }}"), false);
    assert_near(sent(&ran, "1:10"), at(70), 0.5, "1:10");
    assert_near(sent(&ran, "1:20"), at(30), 0.5, "1:20");
    assert_near(sent(&ran, "1:1"), at(100), 0.5, "1:1");
}

#[test]
fn alone_a_class_borrows_up_to_its_ceil() {
    // Only 1:10 is busy: it sends its 70 and borrows the parent's other 30, up to its ceil
    // of 100; with a ceil of 80 it stops there.
    let ran = shaped(&format!("default 20 {{ {TREE} }}"), true);
    assert_near(sent(&ran, "1:10"), at(100), 0.5, "1:10 ceil 100");
    let ran = shaped(
        "default 20 { class 1:1 rate 100Mbit {
            class 1:10 rate 70Mbit ceil 80Mbit
            class 1:20 rate 30Mbit ceil 100Mbit }
          filter match ip dport 5001 flowid 1:10 }",
        true,
    );
    assert_near(sent(&ran, "1:10"), at(80), 0.5, "1:10 ceil 80");
}

#[test]
fn the_excess_goes_by_quantum_among_equal_prios_and_to_the_lower_prio_first() {
    // 20 + 30 of 100 are assured; the other 50 is lent. At one prio with equal quanta each
    // borrows half: 1:10 20 + 25 = 45 (under its ceil of 50), 1:20 30 + 25 = 55.
    let tree = |p10: u8, p20: u8| {
        format!(
            "default 20 {{ class 1:1 rate 100Mbit {{
                class 1:10 rate 20Mbit ceil 50Mbit prio {p10} quantum 1442
                class 1:20 rate 30Mbit ceil 100Mbit prio {p20} quantum 1442 }}
              filter match ip dport 5001 flowid 1:10 }}"
        )
    };
    let ran = shaped(&tree(0, 0), false);
    assert_near(sent(&ran, "1:10"), at(45), 1.0, "1:10 equal prio");
    assert_near(sent(&ran, "1:20"), at(55), 1.0, "1:20 equal prio");
    // Prio 0 borrows first: 1:10 takes the excess up to its ceil of 50, 1:20 the rest.
    let ran = shaped(&tree(0, 1), false);
    assert_near(sent(&ran, "1:10"), at(50), 1.0, "1:10 prio 0");
    assert_near(sent(&ran, "1:20"), at(50), 1.0, "1:20 prio 1");
    // Unequal quanta at one prio: the excess splits 2:1 (1:10 would take 20 + 33, over its
    // ceil, so give it room).
    let ran = shaped(
        "default 20 { class 1:1 rate 100Mbit {
            class 1:10 rate 20Mbit ceil 100Mbit quantum 2884
            class 1:20 rate 20Mbit ceil 100Mbit quantum 1442 }
          filter match ip dport 5001 flowid 1:10 }",
        false,
    );
    assert_near(sent(&ran, "1:10"), at(60), 1.0, "1:10 quantum 2x");
    assert_near(sent(&ran, "1:20"), at(40), 1.0, "1:20 quantum 1x");
}

#[test]
fn htb_share_scenario_shares_then_borrows_and_its_counters_agree() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/tc/htb_share.net");
    let src = std::fs::read_to_string(path).expect("scenario");
    let ran = run_scenario(&load(&src, &[]), None);
    // The parent sends its 100 Mbit/s from the start to the end.
    let parent = sent(&ran, "1:1");
    assert_near(parent, at(100), 0.5, "1:1");
    // 1:20 sends its 30 until its sender stops at 5 s, then the `txqueuelen` (1000)
    // datagrams its pfifo holds, still at 30 while 1:10 is busy; 1:10 has the rest.
    let until = 5_000_000_000u64;
    let c20 = 30_000_000 / 8 * (until - START) / 1_000_000_000 + 1000 * FRAME;
    assert_near(sent(&ran, "1:20"), c20, 0.5, "1:20");
    assert_near(sent(&ran, "1:10"), parent - c20, 0.5, "1:10");

    // Counters: a parent sends what its children send; the leaves' bytes are their frames
    // (1:20 also carried r's ARP request for b, 42 bytes, as the default class).
    let h = |c: &str| class(&ran, c).htb.as_ref().expect("htb").stats;
    let (c10, c20) = (h("1:10"), h("1:20"));
    assert_eq!(h("1:1").bytes, c10.bytes + c20.bytes);
    assert_eq!(h("1:1").packets, c10.packets + c20.packets);
    assert_eq!(c10.bytes, c10.packets * FRAME);
    assert_eq!(c20.bytes, (c20.packets - 1) * FRAME + 42);
    let q = &ran.iface("r", "eth1").qdisc.stats;
    assert_eq!(
        q.bytes,
        h("1:1").bytes,
        "the qdisc sent what its root class sent"
    );
    // 6.12's qdisc overlimits are its classes' entries into CANT_SEND (`htb_dump`).
    assert_eq!(
        q.overlimits,
        h("1:1").overlimits + c10.overlimits + c20.overlimits
    );
    // What b received is what the classes sent, less what was still on the wire at the end
    // (1 ms at 100 Mbit/s is under 9 frames); 1:20 had drained long before.
    let r10 = received(&ran, 0);
    let r20 = received(&ran, 1);
    assert!(
        (0..=9).contains(&(c10.packets - r10)),
        "{} vs {r10}",
        c10.packets
    );
    assert_eq!(c20.packets - 1, r20);
    // Drops are counted per leaf, and the qdisc's are theirs.
    let leaf_drops: u64 = ["1:10", "1:20"]
        .iter()
        .map(|c| class(&ran, c).leaf.as_ref().expect("leaf").stats.drops)
        .sum();
    assert_eq!(q.drops, leaf_drops);
    assert_eq!(c10.drops + c20.drops, leaf_drops);
}

/// Bytes band `classid` of r.eth1's prio sent.
fn band_sent(ran: &Ran, classid: &str) -> u64 {
    class(ran, classid)
        .leaf
        .as_ref()
        .expect("band qdisc")
        .stats
        .bytes
}

#[test]
fn prio_serves_by_skb_priority_from_so_priority_and_ip_tos() {
    // Two greedy senders into a 10 Mbit/s bottleneck under `prio`. skb->priority comes from
    // the socket: `SO_PRIORITY` 6 (TC_PRIO_INTERACTIVE) is priomap band 0; `IP_TOS` 0x10
    // (IPTOS_LOWDELAY) sets it to rt_tos2priority(0x10) = 6 too; `SO_PRIORITY` 0 set after
    // it wins (priomap band 1). Band 0 is never empty, so band 1 sends (almost) nothing.
    let run = |opts_a: &str, opts_b: &str| {
        let src = format!(
            "end 3s
host a {{ iface eth0 {{ ip 10.0.0.2/24 }}  route default via 10.0.0.1 }}
router r {{
    iface eth0 {{ ip 10.0.0.1/24 }}
    iface eth1 {{ ip 10.0.1.1/24  qdisc prio }}
}}
host b {{ iface eth0 {{ ip 10.0.1.2/24 }}  route default via 10.0.1.1 }}
link a.eth0 -- r.eth0 {{ rate 1Gbit  delay 1ms }}
link r.eth1 -- b.eth0 {{ rate 10Mbit  delay 1ms }}
app b: udp_sink {{ port 5001 }}
app b: udp_sink {{ port 5002 }}
app a: udp_cbr {{ to 10.0.1.2:5001  payload 1000B  rate 20Mbit {opts_a} }} at 100ms
app a: udp_cbr {{ to 10.0.1.2:5002  payload 1000B  rate 20Mbit {opts_b} }} at 100ms
"
        );
        run_scenario(&load(&src, &[]), None)
    };
    for (a, b, first) in [
        ("priority 6", "", 0),
        ("tos 16", "", 0),
        ("tos 16  priority 0", "tos 16", 1),
    ] {
        let ran = run(a, b);
        let (b0, b1) = (band_sent(&ran, "1:1"), band_sent(&ran, "1:2"));
        // Band 0 fills the 10 Mbit/s link from the start (less the ring's head start).
        assert!(
            b0 > at_for(10, 2_900_000_000) * 9 / 10,
            "{a} / {b}: band 0 {b0}"
        );
        // Band 1 only got into the NIC's ring (256 descriptors) before band 0 had a backlog;
        // once the ring is full, band 0 is never empty and band 1 waits.
        let frame = 1000 + 8 + 20 + 14;
        assert!(b1 <= 256 * frame, "{a} / {b}: band 1 {b1} vs band 0 {b0}");
        let served = received(&ran, first);
        let starved = received(&ran, 1 - first);
        assert!(starved <= 256, "{a} / {b}: {served} vs {starved}");
        assert!(served > 10 * starved, "{a} / {b}: {served} vs {starved}");
    }
}

/// Bytes at `mbit` Mbit/s over `ns`.
fn at_for(mbit: u64, ns: u64) -> u64 {
    mbit * 1_000_000 / 8 * ns / 1_000_000_000
}
