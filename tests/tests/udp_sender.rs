//! `udp_cbr`'s socket options over whole runs: `connect off` (a `sendto()` per datagram from
//! an unconnected socket) and `recverr on` (`IP_RECVERR`), and what each makes the sender see
//! of a qdisc drop and of a port unreachable. Expected values: Linux 6.18 in network
//! namespaces (20 non-blocking 1000-byte sends into a tbf of 3000 bytes; nstat).

mod common;

use common::{load, run_scenario};

/// a sends to b over 1 Mbit/s through a one-packet pfifo and a one-descriptor ring: of 100
/// datagrams sent 10 µs apart, two are on their way and the rest find the qdisc full.
fn flood(options: &str) -> String {
    format!(
        "
end 3s
host a {{ iface eth0 {{ ip 10.0.0.1/24  tx_ring 1  qdisc pfifo limit 1 }} }}
host b {{ iface eth0 {{ ip 10.0.0.2/24 }} }}
link a.eth0 -- b.eth0 {{ rate 1Mbit  delay 1ms }}
app b: udp_sink {{ port 9 }}
# warms ARP up, so that the datagrams meet no neighbour queue
app a: ping 10.0.0.2 {{ count 1 }} at 10ms
app a: udp_cbr {{ to 10.0.0.2:9  payload 1000B  interval 10us  {options} }} at 100ms until 100999us
"
    )
}

/// A qdisc drop is `NET_XMIT_DROP` → `ENOBUFS` in `ip_send_skb`, counted in `Ip OutDiscards`
/// and `Udp SndbufErrors` (not `OutDatagrams`); `udp_send_skb` hides it from the app unless
/// the socket has `IP_RECVERR` (`if (err == -ENOBUFS && !inet->recverr) err = 0`). Linux:
/// without IP_RECVERR, 20 sends all "succeed" (17 dropped: OutDiscards 17, SndbufErrors 17,
/// OutDatagrams 3); with it, 16 ENOBUFS and SndbufErrors 16 — connected or not.
#[test]
fn qdisc_drops_are_enobufs_only_with_ip_recverr() {
    for connect in ["on", "off"] {
        let quiet = run_scenario(&load(&flood(&format!("connect {connect}")), &[]), None);
        let told = run_scenario(
            &load(&flood(&format!("connect {connect}  recverr on")), &[]),
            None,
        );
        for (r, recverr) in [(&quiet, false), (&told, true)] {
            let c = r.udp_cbr(2);
            let a = &r.stats.nodes["a"];
            let dropped = r.iface("a", "eth0").qdisc.stats.drops;
            assert_eq!(c.sent + c.enobufs + c.eagain + c.errors, 100, "{c:?}");
            assert!(dropped > 90, "{dropped}");
            assert_eq!(a.udp.OutDatagrams, 100 - dropped, "{:?}", a.udp);
            assert_eq!(a.udp.SndbufErrors, dropped, "{:?}", a.udp);
            assert_eq!(a.ip.OutDiscards, dropped, "{:?}", a.ip);
            if recverr {
                assert_eq!((c.enobufs, c.sent), (dropped, 100 - dropped), "{c:?}");
            } else {
                assert_eq!((c.enobufs, c.sent), (0, 100), "{c:?}");
            }
        }
    }
}

/// Port unreachable reaches an unconnected socket only with `IP_RECVERR` (then as
/// `ECONNREFUSED` on its next send); a connected one always. Linux: unconnected without
/// IP_RECVERR, every send succeeds; with it, ECONNREFUSED.
#[test]
fn port_unreachable_and_the_unconnected_sender() {
    let net = |options: &str| {
        format!(
            "
end 3s
host a {{ iface eth0 {{ ip 10.0.0.1/24 }} }}
host b {{ iface eth0 {{ ip 10.0.0.2/24 }} }}
link a.eth0 -- b.eth0 {{ rate 100Mbit  delay 1ms }}
app a: udp_cbr {{ to 10.0.0.2:9  payload 10B  interval 100ms  {options} }} at 100ms until 1050ms
"
        )
    };
    // Ten sends; b has no socket on port 9 and its bucket for a allows 6 errors at once,
    // then one a second.
    let r = run_scenario(&load(&net("connect off"), &[]), None);
    let c = r.udp_cbr(0);
    assert_eq!((c.sent, c.errors), (10, 0), "{c:?}");
    assert_eq!(r.stats.nodes["a"].icmp.InDestUnreachs, 6);
    let r = run_scenario(&load(&net("connect off  recverr on"), &[]), None);
    let c = r.udp_cbr(0);
    assert_eq!((c.sent, c.errors), (5, 5), "{c:?}");
    let r = run_scenario(&load(&net(""), &[]), None);
    let c = r.udp_cbr(0);
    assert_eq!((c.sent, c.errors), (5, 5), "{c:?}");
}
