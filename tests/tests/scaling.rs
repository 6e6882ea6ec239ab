//! What a packet costs must not grow with the number of hosts: no per-packet walk over a
//! node's interfaces, and interface indices as wide as the scenarios that need them (a star
//! of 10^5 hosts has a router with 10^5 interfaces).

mod common;

use common::{load, run_scenario};

/// A router whose interface 65 536 is the 65 537th: every frame through it must reach that
/// interface, not interface 0 (whose index it would be in 16 bits).
#[test]
fn a_router_with_more_than_65536_interfaces_reaches_each_of_them() {
    let sc = load(
        r#"
        end 3s
        router r {
            for i in 0..65537 { iface eth{i} { ip {10.0.0.0 + 4 * i + 2}/30 } }
        }
        host a { iface eth0 { ip 10.0.0.1/30 }  route default via 10.0.0.2 }
        host b { iface eth0 { ip {10.0.0.0 + 4 * 65536 + 1}/30 }  route default via {10.0.0.0 + 4 * 65536 + 2} }
        link a.eth0 -- r.eth0 { rate 1Gbit  delay 100us }
        link b.eth0 -- r.eth65536 { rate 1Gbit  delay 100us }
        app a: ping {10.0.0.0 + 4 * 65536 + 1} { count 2  interval 1s } at 100ms
        "#,
        &[],
    );
    let ran = run_scenario(&sc, None);
    let p = ran.ping(0);
    assert_eq!((p.transmitted, p.received), (2, 2), "{p:?}");
    let last = ran.iface("r", "eth65536");
    assert!(last.link.rx_packets >= 3, "{last:?}");
    assert_eq!(
        ran.iface("r", "eth0").link.rx_packets,
        3,
        "a's ARP and two pings only"
    );
}

/// A star whose router answers ARP, forwards, re-probes every neighbour it sends to (once
/// its entry is stale: at most 1.5 × `base_reachable_time` = 45 s after it was confirmed),
/// answers a ping and a datagram to a closed port: none of it may walk the router's
/// interface list, whose length is the number of hosts. (A walk per ARP probe made a
/// 10^5-host star 80× slower per event than a 10^3-host one.)
#[test]
fn no_packet_walks_the_interface_list_of_a_node() {
    let sc = load(
        r#"
        param hosts = 64
        end 50s
        routing auto
        router r {
            for i in 0..$hosts { iface eth{i} { ip {10.0.0.0 + 4 * i + 2}/30 } }
        }
        for i in 0..$hosts {
            host H{i} { iface eth0 { ip {10.0.0.0 + 4 * i + 1}/30 } }
            link H{i}.eth0 -- r.eth{i} { rate 1Gbit  delay 100us }
            app H{i}: udp_sink { port 9 }
            app H{i}: udp_cbr {
                to {10.0.0.0 + 4 * ((i + $hosts / 2) % $hosts) + 1}:9
                payload 100B
                interval 500ms
            } at {1_000_000 * i}ns
        }
        app H0: ping 10.0.0.2 { count 3 } at 1s
        app H1: udp_cbr { to 10.0.0.2:7  payload 10B  interval 1s } at 2s
        "#,
        &[],
    );
    let ran = run_scenario(&sc, None);
    let r = ran.world.node_index("r").expect("r");
    let n = &ran.world.nodes[r];
    // The traffic the test is about happened.
    assert!(
        n.neigh_stats.requests_sent > 64 + 32,
        "resolved every host and re-probed most: {:?}",
        n.neigh_stats
    );
    assert_eq!(n.snmp.icmp.InEchos, 3, "{:?}", n.snmp.icmp);
    assert!(n.snmp.udp.NoPorts >= 20, "{:?}", n.snmp.udp);
    // Two walks: the statistics at the end (report.rs sums the qdiscs' drops over every
    // interface, then lists every interface).
    assert_eq!(
        n.devs.walks(),
        2,
        "the router walked its {} interfaces during the run",
        n.devs.len()
    );
}
