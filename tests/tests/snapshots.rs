//! The snapshot printers (`sim run --snapshot ss,ip,nstat`) on whole runs: what `ss -tuni`
//! prints of lossy bulk flows still running at the end agrees with their sockets, `nstat -a`
//! with the node's counters, and an IPv6 connection shows in `ss`, `ip -6 neigh` and
//! `ip -6 route` as Linux shows it. (The layouts are held byte for byte against real
//! iproute2 output by sim-stack's unit tests.)

mod common;

use std::collections::BTreeMap;

use common::{load, run_scenario};
use sim_stack::ipv6::route_show::ip6_route;
use sim_stack::neigh::neigh_show::neigh_show;
use sim_stack::node::Node;
use sim_stack::nstat::nstat_show;
use sim_stack::sock::Socket;
use sim_stack::sock::ss_show::ss_tuni;
use sim_stack::world::World;

const DUMBBELL: &str = r#"
param pairs = 2
seed 7
end  2s
routing auto
defaults iface { txqueuelen 10  tx_ring 16 }
router A {
    iface eth0 { ip 10.0.0.1/24 }
    for i in 0..$pairs { iface eth{i + 1} { ip 10.1.{i}.2/24 } }
}
router B {
    iface eth0 { ip 10.0.0.2/24 }
    for i in 0..$pairs { iface eth{i + 1} { ip 10.2.{i}.1/24 } }
}
link A.eth0 -- B.eth0 { rate 10Mbit  delay 10ms }
for i in 0..$pairs {
    host S{i} { iface eth0 { ip 10.1.{i}.1/24 } }
    host R{i} { iface eth0 { ip 10.2.{i}.2/24 } }
    link S{i}.eth0 -- A.eth{i + 1} { rate 1Gbit  delay 1ms }
    link B.eth{i + 1} -- R{i}.eth0 { rate 1Gbit  delay 1ms }
    app R{i}: tcp_sink { port 9 }
    app S{i}: tcp_bulk { to 10.2.{i}.2:9  bytes unlimited } at {i * 7}ms
}
"#;

fn node<'a>(world: &'a World, name: &str) -> &'a Node {
    world.nodes.iter().find(|n| n.name == name).unwrap()
}

fn ss(n: &Node, world: &World) -> String {
    let pacing = (n.sysctl.tcp_pacing_ss_ratio, n.sysctl.tcp_pacing_ca_ratio);
    ss_tuni(&n.socks, world.now, n.jiffies(world.now) as u32, pacing)
}

/// The `name:value` items of an ss details line.
fn items(details: &str) -> BTreeMap<&str, &str> {
    details
        .split_whitespace()
        .filter_map(|w| w.split_once(':'))
        .collect()
}

/// `nstat -a`'s lines as name → value.
fn nstat_values(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .skip(1)
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(w.len(), 3, "{l}");
            assert_eq!(w[2], "0.0", "{l}");
            (w[0].to_string(), w[1].parse().unwrap())
        })
        .collect()
}

#[test]
fn ss_and_nstat_of_lossy_bulk_flows_agree_with_the_sockets() {
    let ran = run_scenario(&load(DUMBBELL, &[]), None);
    for i in 0..2 {
        let n = node(&ran.world, &format!("S{i}"));
        let text = ss(n, &ran.world);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "one connection, its details: {text}");
        let t = n
            .socks
            .iter()
            .find_map(|(_, s)| match s {
                Socket::Tcp(t) => Some(t),
                _ => None,
            })
            .expect("the sender's socket");
        let cols: Vec<&str> = lines[1].split_whitespace().collect();
        assert_eq!(cols[..2], ["tcp", "ESTAB"], "{text}");
        assert_eq!(
            cols[3].parse::<u32>().unwrap(),
            t.write_seq.wrapping_sub(t.snd_una),
            "Send-Q: {text}"
        );
        assert!(cols[4].starts_with(&format!("10.1.{i}.1:")), "{text}");
        assert_eq!(cols[5], format!("10.2.{i}.2:9"), "{text}");
        let details = lines[2];
        assert!(details.starts_with("\t cubic wscale:"), "{text}");
        let it = items(details);
        let num = |k: &str| -> u64 { it[k].parse().unwrap_or_else(|_| panic!("{k} in {details}")) };
        assert_eq!(num("cwnd"), u64::from(t.cwnd), "{details}");
        assert_eq!(num("bytes_acked"), t.stats.bytes_acked, "{details}");
        assert_eq!(num("bytes_sent"), t.stats.bytes_sent, "{details}");
        assert_eq!(num("bytes_retrans"), t.stats.bytes_retrans, "{details}");
        assert_eq!(num("segs_out"), t.stats.segs_out, "{details}");
        assert_eq!(num("delivered"), t.stats.delivered, "{details}");
        let (now, total) = it["retrans"].split_once('/').unwrap();
        assert_eq!(now.parse::<u32>().unwrap(), t.retrans_out, "{details}");
        assert_eq!(total.parse::<u64>().unwrap(), t.stats.retrans, "{details}");
        assert!(t.stats.retrans > 0, "the queue of 10 packets overflowed");

        // nstat -a: every line is a non-zero counter of the node, in the kernel's names.
        let v = nstat_values(&nstat_show(&n.snmp, &n.snmp6, false));
        assert!(v.values().all(|&x| x > 0));
        assert_eq!(v["TcpOutSegs"], n.snmp.tcp.OutSegs);
        assert_eq!(v["TcpRetransSegs"], n.snmp.tcp.RetransSegs);
        assert_eq!(v["TcpActiveOpens"], 1);
        assert_eq!(v["IpOutRequests"], n.snmp.ip.OutRequests);
        assert_eq!(v["TcpExtTCPDelivered"], n.snmp.tcp_ext.TCPDelivered);
        assert_eq!(
            v.get("TcpExtTCPSackRecovery").copied().unwrap_or(0),
            n.snmp.tcp_ext.TCPSackRecovery
        );
        assert!(!v.contains_key("TcpCurrEstab"), "useless to nstat");
    }
    // The receiver holds the other end, with what it received.
    let r = ss(node(&ran.world, "R0"), &ran.world);
    assert!(r.contains("10.2.0.2:9 "), "{r}");
    assert!(r.contains(" bytes_received:"), "{r}");
}

#[test]
fn an_ipv6_connection_in_ss_ip_6_neigh_and_ip_6_route() {
    let src = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/dns_then_http_v6.net"),
    )
    .unwrap();
    let mut sc = load(&src, &[]);
    // curl starts at 3.6 s: 700 µs later its connection to [2001:db8:1::80]:80 is up.
    sc.end_time = sim_core::SimTime::from_nanos(3_600_700_000);
    let ran = run_scenario(&sc, None);
    let client = node(&ran.world, "client");
    let text = ss(client, &ran.world);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[1].starts_with("tcp   ESTAB 0      0      [2001:db8::2]:"),
        "{text}"
    );
    assert!(lines[1].contains(" [2001:db8:1::80]:80"), "{text}");
    assert!(lines[2].starts_with("\t cubic wscale:"), "{text}");
    let dev = client.devs.iter().next().unwrap();
    assert_eq!(
        neigh_show(&dev.ndisc, &dev.name),
        "2001:db8::1 dev eth0 lladdr 02:00:00:00:00:01 REACHABLE \n"
    );
    assert_eq!(
        ip6_route(client.fib6.routes(), &["eth0"]),
        "2001:db8::/64 dev eth0 proto kernel metric 256 pref medium\n\
         fe80::/64 dev eth0 proto kernel metric 256 pref medium\n\
         default via 2001:db8::1 dev eth0 metric 1024 pref medium\n"
    );
    let web = ss(node(&ran.world, "web"), &ran.world);
    assert!(web.contains("[2001:db8:1::80]:80 "), "{web}");
}
