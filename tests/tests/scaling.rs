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
