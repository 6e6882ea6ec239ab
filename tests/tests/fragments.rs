//! IP fragmentation and reassembly over whole runs: what a fragment the qdisc refuses does
//! to its datagram, and reassembly's memory limit and timers with their counters.

mod common;

use common::two_host::run_watching;
use common::{load, run_scenario};

/// One 4000-byte datagram (three fragments) into a TX ring of one descriptor and a pfifo of
/// one packet: the first fragment goes to the ring, the second waits in the qdisc, the third
/// is refused.
const REFUSED_FRAGMENT: &str = "
end 1s
host a { iface eth0 { ip 10.0.0.1/24  tx_ring 1  qdisc pfifo limit 1 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Mbit  delay 1ms }
app b: udp_sink { port 9 }
# warms ARP up, so that the datagram meets no neighbour queue
app a: ping 10.0.0.2 { count 1 } at 10ms
app a: udp_cbr { to 10.0.0.2:9  payload 4000B  interval 10s } at 100ms
";

#[test]
fn a_refused_fragment_ends_its_datagram_and_the_sender_counts_it() {
    let r = run_scenario(&load(REFUSED_FRAGMENT, &[]), None);
    let a = &r.stats.nodes["a"];
    // ip_do_fragment: the output of the third fragment returned NET_XMIT_DROP, so it stops
    // there: two fragments created, FragFails instead of FragOKs.
    assert_eq!(
        (a.ip.FragCreates, a.ip.FragOKs, a.ip.FragFails),
        (2, 0, 1),
        "{:?}",
        a.ip
    );
    // ip_send_skb turns the drop into ENOBUFS: OutDiscards, and udp_send_skb counts
    // SndbufErrors instead of OutDatagrams (no IP_RECVERR, so the app saw success).
    assert_eq!(a.ip.OutDiscards, 1, "{:?}", a.ip);
    assert_eq!(
        (a.udp.SndbufErrors, a.udp.OutDatagrams),
        (1, 0),
        "{:?}",
        a.udp
    );
    assert_eq!(
        r.lines_with(&["a eth0 drop qdisc_drop"]).len(),
        1,
        "{}",
        r.trace
    );
    // The two that left never make a datagram.
    let b = &r.stats.nodes["b"];
    assert_eq!((b.ip.ReasmReqds, b.ip.ReasmOKs), (2, 0), "{:?}", b.ip);
}

// ---------------------------------------------------------------------------------------------
// Reassembly: memory limit, timer, counters.

/// Two-fragment datagrams (1473 bytes of UDP payload) over a link that loses 30% of frames,
/// so that four datagrams in ten leave a queue waiting for a fragment that never comes.
/// `sysctls` go on `b`, the receiver.
fn lossy(sysctls: &str, until: &str) -> String {
    format!(
        "
end 30s
host a {{ iface eth0 {{ ip 10.0.0.1/24 }} }}
host b {{ iface eth0 {{ ip 10.0.0.2/24 }}  {sysctls} }}
link a.eth0 -- b.eth0 {{ rate 100Mbit  delay 10us  loss 30% }}
app b: udp_sink {{ port 9 }}
app a: udp_cbr {{ to 10.0.0.2:9  payload 1473B  interval 200us }} until {until}
"
    )
}

/// Runs `src`, calling `watch` on the receiver's reassembly state after each event; returns
/// the run's statistics.
fn run_watching_reassembly(
    src: &str,
    mut watch: impl FnMut(&sim_stack::ip::frag::Reassembly),
) -> sim_stack::world::RunStats {
    run_watching(src, |w| {
        watch(&w.nodes[w.node_index("b").expect("b")].frags)
    })
    .1
}

#[test]
fn reassembly_memory_stays_within_ipfrag_high_thresh() {
    // 256 KiB: reached after some 200 incomplete datagrams (a fragment held is 2624 or
    // 1088 bytes of truesize, a queue 200 more). The low threshold must come down first.
    let high = 262_144;
    let src = lossy(
        "sysctl net.ipv4.ipfrag_low_thresh = 65536
         sysctl net.ipv4.ipfrag_high_thresh = 262144",
        "2s",
    );
    let mut peak = 0;
    let stats = run_watching_reassembly(&src, |r| peak = peak.max(r.mem()));
    // inet_frag_find refuses fragments while the memory is above the limit, so it never
    // exceeds it by more than one queue and one fragment.
    let largest = 2624 + sim_stack::ip::frag::IPQ_SIZE;
    assert!(
        (high - largest..=high + largest).contains(&peak),
        "peak fragment memory {peak}, limit {high}"
    );
    let ip = &stats.nodes["b"].ip;
    // 10 000 datagrams. Of each, both fragments arrive with probability 0.49, one only with
    // 0.42, leaving a queue of 200 + 2624 or 200 + 1088 bytes (2056 on average): the limit is
    // reached after some 128 such queues, about 300 datagrams, of which some 150 were whole.
    // From then on every fragment is refused until the first queues expire, 30 s later.
    assert!((100..400).contains(&ip.ReasmOKs), "{ip:?}");
    assert!(ip.ReasmFails > 10_000, "{ip:?}");
    assert_eq!(ip.ReasmTimeout, 0, "{ip:?}");
    assert_eq!(
        ip.ReasmReqds,
        stats.nodes["a"].ip.FragCreates - stats.links[0].dirs[0].lost,
        "every fragment that arrived was handed to ip_defrag"
    );
}

#[test]
fn queues_expire_after_ipfrag_time_and_give_their_memory_back() {
    // Sending stops at 1 s; with ipfrag_time 2 s every queue has expired by 3 s.
    let src = lossy("sysctl net.ipv4.ipfrag_time = 2", "1s");
    let mut last = (usize::MAX, u64::MAX);
    let mut peak = 0;
    let stats = run_watching_reassembly(&src, |r| {
        peak = peak.max(r.queues());
        last = (r.queues(), r.mem());
    });
    assert!(peak > 100, "incomplete datagrams were waiting: {peak}");
    assert_eq!(last, (0, 0), "every queue expired and gave its memory back");
    let b = &stats.nodes["b"];
    // Each queue left by its timer: ReasmTimeout, ReasmFails, and, when its first fragment
    // had come, ICMP time exceeded (fragment reassembly) to the sender.
    assert!(b.ip.ReasmTimeout >= peak as u64, "{:?}", b.ip);
    assert!(b.ip.ReasmFails >= b.ip.ReasmTimeout, "{:?}", b.ip);
    assert!(b.icmp.OutTimeExcds > 0, "{:?}", b.icmp);
    assert!(b.icmp.OutTimeExcds <= b.ip.ReasmTimeout, "{:?}", b.icmp);
}
