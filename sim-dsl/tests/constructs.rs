//! One test per construct of the language: what it lowers into.

use std::net::Ipv4Addr;

use sim_core::{SimDuration, SimTime};
use sim_dsl::{MemLoader, Options, load_str, load_with};
use sim_stack::config::*;
use sim_stack::units::{Bytes, Rate};

/// Two hosts on one link, to which a test adds what it exercises.
const PAIR: &str = "
host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
";

fn ok_with(src: &str, overrides: &[(&str, &str)]) -> Scenario {
    let opts = Options {
        overrides: overrides
            .iter()
            .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
            .collect(),
    };
    let l = load_str("t.net", src, &opts);
    assert!(
        !l.has_errors(),
        "unexpected errors:\n{}",
        l.render_diagnostics()
    );
    l.scenario.expect("scenario")
}

fn ok(src: &str) -> Scenario {
    ok_with(src, &[])
}

fn node<'a>(s: &'a Scenario, name: &str) -> &'a NodeConfig {
    s.node(s.node_by_name(name).expect(name))
}

fn iface<'a>(s: &'a Scenario, node_name: &str, iface: &str) -> &'a IfaceConfig {
    node(s, node_name)
        .ifaces
        .iter()
        .find(|i| i.name == iface)
        .expect(iface)
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

#[test]
fn empty_file_is_a_valid_empty_scenario() {
    let s = ok("# nothing here\n");
    assert!(s.nodes.is_empty());
    assert_eq!(s.name, "t");
    assert_eq!(s.seed, 1);
    assert_eq!(s.end_time, SimTime::from_nanos(10_000_000_000));
    assert_eq!(s.routing, RoutingMode::Static);
}

#[test]
fn settings() {
    let s = ok("seed 42\nend 2.5s\nrouting auto\nname \"my run\"\n");
    assert_eq!(s.seed, 42);
    assert_eq!(s.end_time, SimTime::from_nanos(2_500_000_000));
    assert_eq!(s.routing, RoutingMode::Auto);
    assert_eq!(s.name, "my run");
}

#[test]
fn comments_anywhere() {
    let s = ok("# a\nhost a { # b\n iface eth0 { ip 10.0.0.1/24 # c\n } # d\n}\n# e");
    assert_eq!(node(&s, "a").ifaces.len(), 1);
}

#[test]
fn node_kinds() {
    let s = ok(&format!("{PAIR}\nrouter r\nswitch sw\n"));
    assert_eq!(node(&s, "a").kind, NodeKind::Host);
    assert!(!node(&s, "a").sysctls.ip_forward);
    assert_eq!(node(&s, "r").kind, NodeKind::Router);
    assert!(node(&s, "r").sysctls.ip_forward);
    assert_eq!(node(&s, "sw").kind, NodeKind::Switch);
}

#[test]
fn iface_defaults_and_settings() {
    let s = ok("
host a {
    iface eth0 { ip 10.0.0.1/24  mac 02:00:00:00:00:aa  mtu 9000  txqueuelen 500  tx_ring 64 }
}
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
");
    let a = iface(&s, "a", "eth0");
    assert_eq!(a.addr, Some(Ipv4Cidr::new(ip("10.0.0.1"), 24)));
    assert_eq!(a.mac, EthernetAddress([2, 0, 0, 0, 0, 0xaa]));
    assert_eq!((a.mtu, a.txqueuelen, a.tx_ring), (9000, 500, 64));
    let b = iface(&s, "b", "eth0");
    assert_eq!((b.mtu, b.txqueuelen, b.tx_ring), (1500, 1000, 256));
    assert_eq!(b.qdisc, QdiscConfig::PfifoFast);
}

#[test]
fn derived_macs_are_local_unique_and_stable() {
    let src = format!("{PAIR}\nrouter r {{ iface x {{ }} iface y {{ }} }}\nlink r.x -- a.eth1 {{ rate 1Gbit delay 1ms }}\n")
        .replace("host a { iface eth0 { ip 10.0.0.1/24 } }", "host a { iface eth0 { ip 10.0.0.1/24 } iface eth1 { } }");
    let s1 = ok(&src);
    let mut macs: Vec<EthernetAddress> = s1
        .nodes
        .iter()
        .flat_map(|n| n.ifaces.iter().map(|i| i.mac))
        .collect();
    assert!(
        macs.iter()
            .all(|m| m.0[0] == 0x02 && m.is_local() && !m.is_multicast())
    );
    let n = macs.len();
    macs.sort();
    macs.dedup();
    assert_eq!(macs.len(), n, "derived MACs collide");
    // Adding a node before the others does not change their MACs (derived from names).
    let s2 = ok(&format!("host z\n{src}"));
    assert_eq!(iface(&s1, "b", "eth0").mac, iface(&s2, "b", "eth0").mac);
}

#[test]
fn qdiscs() {
    let s = ok("
host a {
    iface e1 { qdisc pfifo limit 50 }
    iface e2 { txqueuelen 300  qdisc pfifo }
    iface e3 { qdisc tbf rate 10Mbit burst 32KiB latency 50ms }
    iface e4 { qdisc fq_codel }
    iface e5 { qdisc fq_codel limit 1000 flows 16 target 1ms interval 20ms quantum 300 memory_limit 4MiB ecn }
    iface e6 { qdisc noqueue }
    iface e7 { qdisc pfifo_fast }
}
");
    let q = |i: &str| iface(&s, "a", i).qdisc.clone();
    assert_eq!(q("e1"), QdiscConfig::Pfifo { limit: 50 });
    assert_eq!(q("e2"), QdiscConfig::Pfifo { limit: 300 });
    assert_eq!(
        q("e3"),
        QdiscConfig::Tbf {
            rate: Rate(10_000_000),
            burst: Bytes(32 * 1024),
            latency: SimDuration::from_millis(50)
        }
    );
    assert_eq!(q("e4"), QdiscConfig::FqCodel(FqCodelConfig::default()));
    assert_eq!(
        q("e5"),
        QdiscConfig::FqCodel(FqCodelConfig {
            limit: 1000,
            flows: 16,
            target: SimDuration::from_millis(1),
            interval: SimDuration::from_millis(20),
            quantum: 300,
            memory_limit: Bytes(4 << 20),
            ecn: true,
            ce_threshold: None,
        })
    );
    assert_eq!(q("e6"), QdiscConfig::Noqueue);
    assert_eq!(q("e7"), QdiscConfig::PfifoFast);
}

#[test]
fn defaults_blocks() {
    let s = ok("
defaults iface { qdisc fq_codel limit 100  tx_ring 100  mtu 9000 }
defaults link  { rate 10Mbit  delay 2ms  loss 1% }
host a { iface eth0 { ip 10.0.0.1/24  mtu 1500 } }
host b { iface eth0 { ip 10.0.0.2/24  qdisc pfifo_fast } }
link a.eth0 -- b.eth0 { delay 5ms }
");
    let a = iface(&s, "a", "eth0");
    assert_eq!(a.mtu, 1500);
    assert_eq!(a.tx_ring, 100);
    assert!(matches!(&a.qdisc, QdiscConfig::FqCodel(c) if c.limit == 100));
    let b = iface(&s, "b", "eth0");
    assert_eq!(b.mtu, 9000);
    assert_eq!(b.qdisc, QdiscConfig::PfifoFast);
    let l = &s.links[0];
    assert_eq!(l.rate, Rate(10_000_000));
    assert_eq!(l.delay, SimDuration::from_millis(5));
    assert_eq!(l.loss_ppm, 10_000);
}

#[test]
fn links_and_switch_ports() {
    let s = ok("
host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
host c { iface eth0 { ip 10.0.0.3/24 } }
switch sw
link a.eth0 -- sw { rate 1Gbit  delay 50us  loss 0.001  mtu 1400 }
link sw -- b.eth0 { rate 100Mbit  delay 1ms  loss 100ppm }
link c.eth0 -- sw { rate 2.5Gbit  delay 0s }
");
    let sw = node(&s, "sw");
    let ports: Vec<&str> = sw.ifaces.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(ports, ["p1", "p2", "p3"]);
    assert!(sw.ifaces.iter().all(|p| p.addr.is_none()));
    let l0 = &s.links[0];
    assert_eq!(s.end_name(l0.a), "a.eth0");
    assert_eq!(s.end_name(l0.b), "sw.p1");
    assert_eq!(l0.loss_ppm, 1000);
    assert_eq!(l0.mtu, Some(1400));
    assert_eq!(
        iface(&s, "a", "eth0").mtu,
        1400,
        "link mtu applies to the interface"
    );
    assert_eq!(s.end_name(s.links[1].a), "sw.p2");
    assert_eq!(s.links[1].loss_ppm, 100);
    assert_eq!(s.links[2].rate, Rate(2_500_000_000));
    assert_eq!(s.links[2].delay, SimDuration::ZERO);
}

#[test]
fn static_routes() {
    let s = ok("
host a {
    iface eth0 { ip 10.0.0.1/24 }
    iface eth1 { ip 10.9.0.1/24 }
    route default via 10.0.0.254
    route 10.1.0.0/16 via 10.0.0.2 dev eth0
    route 10.2.0.0/16 dev eth1
    route 10.3.0.7 via 10.9.0.2
}
");
    let r = &node(&s, "a").routes;
    assert_eq!(
        r[0],
        RouteConfig {
            dest: ip("0.0.0.0"),
            prefix_len: 0,
            gateway: Some(ip("10.0.0.254")),
            dev: None
        }
    );
    assert_eq!(r[1].dest, ip("10.1.0.0"));
    assert_eq!(r[1].prefix_len, 16);
    assert_eq!(r[1].dev, Some(IfaceId(0)));
    assert_eq!(r[2].gateway, None);
    assert_eq!(r[2].dev, Some(IfaceId(1)));
    assert_eq!((r[3].dest, r[3].prefix_len), (ip("10.3.0.7"), 32));
}

#[test]
fn resolver_and_sysctls() {
    let s = ok("
sysctl net.ipv4.tcp_sack = 0          # every node
host a {
    iface eth0 { ip 10.0.0.1/24 }
    resolver 10.0.0.2
    sysctl net.ipv4.ip_local_port_range = 40000 40100
    sysctl net.ipv4.tcp_congestion_control = reno
    sysctl net.ipv4.tcp_timestamps = 0
    sysctl net.ipv4.tcp_window_scaling = 0
    sysctl net.ipv4.tcp_wmem = 4096 65536 1048576
    sysctl net.ipv4.tcp_rmem = 4096 87380 6291456
    sysctl net.core.wmem_default = 100000
    sysctl net.core.rmem_default = 100001
    sysctl net.ipv4.ip_default_ttl = 32
    sysctl net.ipv4.neigh.default.retrans_time_ms = 250
    sysctl net.ipv4.neigh.default.mcast_solicit = 5
    sysctl net.ipv4.neigh.default.unres_qlen_bytes = 65536
    sysctl net/ipv4/tcp_syn_retries = 2
    sysctl net.ipv4.neigh.default.delay_first_probe_time = 2
}
host b { iface eth0 { ip 10.0.0.2/24 } sysctl net.ipv4.tcp_sack = 1 }
link a.eth0 -- b.eth0 { rate 1Gbit delay 1ms }
app b: dns_server { }
");
    let a = node(&s, "a");
    assert_eq!(a.resolver, Some(ip("10.0.0.2").into()));
    let c = &a.sysctls;
    assert!(!c.tcp_sack);
    assert_eq!(c.ip_local_port_range, (40000, 40100));
    assert_eq!(c.tcp_congestion_control, CongestionControl::Reno);
    assert!(!c.tcp_timestamps && !c.tcp_window_scaling);
    assert_eq!(c.tcp_wmem, [4096, 65536, 1_048_576]);
    assert_eq!(c.tcp_rmem, [4096, 87380, 6_291_456]);
    assert_eq!((c.wmem_default, c.rmem_default), (100_000, 100_001));
    assert_eq!(c.ip_default_ttl, 32);
    assert_eq!(c.neigh.retrans_time, SimDuration::from_millis(250));
    assert_eq!(c.neigh.mcast_solicit, 5);
    assert_eq!(c.neigh.unres_qlen_bytes, 65536);
    assert_eq!(c.tcp_syn_retries, 2);
    assert_eq!(c.neigh.delay_first_probe_time, SimDuration::from_secs(2));
    assert!(
        node(&s, "b").sysctls.tcp_sack,
        "a node's own sysctl beats the global one"
    );
}

#[test]
fn apps_of_every_kind() {
    let s = ok("
host c { iface eth0 { ip 10.0.0.1/24 } resolver 10.0.0.2 }
host s { iface eth0 { ip 10.0.0.2/24 } }
link c.eth0 -- s.eth0 { rate 1Gbit delay 1ms }
app s: dns_server { record Example.COM. A 10.0.0.2  record b.example A 10.0.0.9  ttl 30 }
app s: http_server { port 8080  body 1MiB  think_time 0s }
app s: tcp_sink { port 9 }
app s: udp_sink { port 9 }
app c: curl \"http://example.com:8080/index.html\" at 1s
app c: tcp_bulk { to 10.0.0.2:9  bytes 10MB } at 2s until 3s
app c: tcp_bulk { to 10.0.0.2:9 }
app c: udp_cbr { to 10.0.0.2:9  payload 1000B  rate 20Mbit }
app c: udp_cbr { to 10.0.0.2:9  payload 100B  interval 10ms }
app c: ping 10.0.0.2 { count 3  interval 200ms  size 1000B } at 5s
app c: ping 10.0.0.2
app c: ping 10.0.0.2 { ttl 3  pmtudisc do  timeout 2500ms  deadline 10s }
app c: udp_cbr { to 10.0.0.2:9  payload 100B  interval 10ms  connect off  recverr on }
");
    let k: Vec<&AppKind> = s.apps.iter().map(|a| &a.kind).collect();
    assert_eq!(
        k[0],
        &AppKind::DnsServer {
            records: vec![
                DnsRecord {
                    name: "example.com".into(),
                    addr: ip("10.0.0.2").into()
                },
                DnsRecord {
                    name: "b.example".into(),
                    addr: ip("10.0.0.9").into()
                }
            ],
            ttl: 30,
            other_types: DnsOtherTypes::NoData,
            txt: vec![],
        }
    );
    assert_eq!(
        k[1],
        &AppKind::HttpServer {
            port: 8080,
            body: Bytes(1 << 20),
            think_time: SimDuration::ZERO
        }
    );
    assert_eq!(
        k[2],
        &AppKind::TcpSink {
            port: 9,
            congestion: None
        }
    );
    assert_eq!(k[3], &AppKind::UdpSink { port: 9 });
    assert_eq!(
        k[4],
        &AppKind::Curl {
            url: "http://example.com:8080/index.html".into(),
            host: "example.com".into(),
            port: 8080,
            path: "/index.html".into()
        }
    );
    assert_eq!(s.apps[4].start, SimTime::from_nanos(1_000_000_000));
    assert_eq!(
        k[5],
        &AppKind::TcpBulk {
            dst: std::net::IpAddr::V4(ip("10.0.0.2")),
            port: 9,
            bytes: Some(Bytes(10_000_000)),
            congestion: None,
        }
    );
    assert_eq!(s.apps[5].stop, Some(SimTime::from_nanos(3_000_000_000)));
    assert!(matches!(k[6], AppKind::TcpBulk { bytes: None, .. }));
    assert!(matches!(
        k[7],
        AppKind::UdpCbr { pace: UdpPace::Rate(r), payload, .. } if r.0 == 20_000_000 && payload.0 == 1000
    ));
    assert!(matches!(
        k[8],
        AppKind::UdpCbr { pace: UdpPace::Interval(i), options, .. }
            if *i == SimDuration::from_millis(10) && *options == UdpCbrOptions::default()
    ));
    assert_eq!(
        UdpCbrOptions::default(),
        UdpCbrOptions {
            connect: true,
            recverr: false,
            tos: None,
            priority: None,
        }
    );
    assert!(matches!(
        k[12],
        AppKind::UdpCbr {
            options: UdpCbrOptions {
                connect: false,
                recverr: true,
                tos: None,
                priority: None,
            },
            ..
        }
    ));
    assert_eq!(
        k[9],
        &AppKind::Ping {
            dst: ip("10.0.0.2").into(),
            count: Some(3),
            interval: SimDuration::from_millis(200),
            size: Bytes(1000),
            options: Default::default(),
        }
    );
    assert_eq!(
        k[10],
        &AppKind::Ping {
            dst: ip("10.0.0.2").into(),
            count: None,
            interval: SimDuration::from_secs(1),
            size: Bytes(56),
            options: Default::default(),
        }
    );
    assert_eq!(
        k[11],
        &AppKind::Ping {
            dst: ip("10.0.0.2").into(),
            count: None,
            interval: SimDuration::from_secs(1),
            size: Bytes(56),
            options: PingOptions {
                ttl: Some(3),
                pmtudisc: Some(PmtuDisc::Do),
                timeout: Some(SimDuration::from_millis(2500)),
                deadline: Some(SimDuration::from_secs(10)),
            },
        }
    );
    assert_eq!(s.apps[0].start, SimTime::ZERO);
}

#[test]
fn params_defaults_overrides_and_types() {
    let src = "
param rate = 10Mbit
param n = 3
param half = {$n / 2}
param base = 10.0.0.0
param cc: word = cubic
param start: duration = 5ms
host a { iface eth0 { ip {$base + 1}/24 } sysctl net.ipv4.tcp_congestion_control = $cc }
host b { iface eth0 { ip {$base + 2}/24 } }
link a.eth0 -- b.eth0 { rate $rate  delay 1ms }
app b: udp_sink { port 9 }
app a: udp_cbr { to 10.0.0.2:9  payload {$half}B  rate $rate } at $start
";
    let s = ok(src);
    assert_eq!(s.links[0].rate, Rate(10_000_000));
    assert_eq!(
        s.params,
        vec![
            ("rate".to_string(), "10Mbit".to_string()),
            ("n".into(), "3".into()),
            ("half".into(), "1".into()),
            ("base".into(), "10.0.0.0".into()),
            ("cc".into(), "cubic".into()),
            ("start".into(), "5ms".into()),
        ]
    );
    let s = ok_with(src, &[("rate", "2.5Gbit"), ("n", "10"), ("cc", "reno")]);
    assert_eq!(s.links[0].rate, Rate(2_500_000_000));
    assert!(matches!(&s.apps[1].kind, AppKind::UdpCbr { payload, .. } if payload.0 == 5));
    assert_eq!(
        node(&s, "a").sysctls.tcp_congestion_control,
        CongestionControl::Reno
    );
    assert_eq!(s.params[0], ("rate".into(), "2.5Gbit".into()));
}

#[test]
fn loops_and_arithmetic() {
    let s = ok("
param n = 5
router r {
    for i in 0..$n { iface eth{i} { ip 10.{i / 2}.{i % 2 * 100}.1/24 } }
}
for i in 0..$n {
    host h{i} { iface eth0 { ip 10.{i / 2}.{i % 2 * 100}.{(i + 1) * 10}/24 } route default via 10.{i / 2}.{i % 2 * 100}.1 }
    link h{i}.eth0 -- r.eth{i} { rate 1Gbit  delay {i * 10 + 1}us }
}
for i in 1..=2 { for j in 0..2 { host m{i}_{j} } }
");
    assert_eq!(s.nodes.len(), 1 + 5 + 4);
    assert_eq!(
        iface(&s, "h3", "eth0").addr.unwrap().to_string(),
        "10.1.100.40/24"
    );
    assert_eq!(
        iface(&s, "r", "eth4").addr.unwrap().to_string(),
        "10.2.0.1/24"
    );
    assert_eq!(s.links[2].delay, SimDuration::from_micros(21));
    assert!(s.node_by_name("m2_1").is_some());
    assert!(s.node_by_name("m0_0").is_none());
}

#[test]
fn address_arithmetic_crosses_octets() {
    let s = ok("
for i in 0..100 { host h{i} { iface eth0 { ip {10.0.0.0 + i * 4 + 1}/30 } } }
");
    assert_eq!(
        iface(&s, "h70", "eth0").addr.unwrap().to_string(),
        "10.0.1.25/30"
    );
}

#[test]
fn strings_escape_and_interpolate() {
    let s = ok("
host c { iface eth0 { ip 10.0.0.1/24 } }
host s { iface eth0 { ip 10.0.0.2/24 } }
link c.eth0 -- s.eth0 { rate 1Gbit delay 1ms }
app s: http_server { port 80 body 1KiB }
for i in 2..3 { app c: curl \"http://10.0.0.{i}/a\\\"b\" }
");
    assert!(
        matches!(&s.apps[1].kind, AppKind::Curl { url, host, path, .. }
        if url == "http://10.0.0.2/a\"b" && host == "10.0.0.2" && path == "/a\"b")
    );
}

#[test]
fn include_is_relative_and_once() {
    let loader = MemLoader::default()
        .with("dir/main.net", "include \"lib/params.net\"\ninclude \"lib/hosts.net\"\nlink a.eth0 -- b.eth0 { rate $rate delay 1ms }\n")
        .with("dir/lib/params.net", "param rate = 5Mbit\n")
        .with("dir/lib/hosts.net", "include \"params.net\"\nhost a { iface eth0 { ip 10.0.0.1/24 } }\nhost b { iface eth0 { ip 10.0.0.2/24 } }\n");
    let l = load_with(&loader, "dir/main.net".as_ref(), &Options::default());
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    let s = l.scenario.unwrap();
    assert_eq!(s.links[0].rate, Rate(5_000_000));
    assert_eq!(s.name, "main");
}

#[test]
fn the_source_map_lists_every_file_read_once_main_first() {
    let loader = MemLoader::default()
        .with(
            "dir/main.net",
            "include \"lib/a.net\"\ninclude \"lib/b.net\"\n",
        )
        .with(
            "dir/lib/a.net",
            "include \"b.net\"\nhost a { iface eth0 { ip 10.0.0.1/24 } }\n",
        )
        .with(
            "dir/lib/b.net",
            "host b { iface eth0 { ip 10.0.0.2/24 } }\n",
        );
    let l = load_with(&loader, "dir/main.net".as_ref(), &Options::default());
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    let files: Vec<_> = l.sources.files().iter().map(|f| f.path.clone()).collect();
    assert_eq!(
        files,
        [
            std::path::PathBuf::from("dir/main.net"),
            "dir/lib/a.net".into(),
            "dir/lib/b.net".into()
        ]
    );
    assert!(l.sources.files()[2].text.starts_with("host b"));
}

/// The rules of `chain` in `table` of node `name`.
fn chain<'a>(s: &'a Scenario, name: &str, table: &str, chain: &str) -> &'a [Rule] {
    use sim_stack::netfilter::TableId;
    let t = node(s, name)
        .netfilter
        .table(TableId::from_name(table).expect("a table"));
    &t.chains[t.chain(chain).expect("a chain")].rules
}

/// The `-m statistic --mode nth` of a rule.
fn nth(r: &Rule) -> Option<Nth> {
    use sim_stack::netfilter::xt_match::{Match, StatisticMode};
    r.matches.iter().find_map(|m| match m {
        Match::Statistic {
            mode: StatisticMode::Nth(n),
            ..
        } => Some(*n),
        _ => None,
    })
}

#[test]
fn netfilter_rules() {
    use sim_stack::netfilter::Target;
    use sim_stack::netfilter::rule::Inv;
    use sim_stack::netfilter::xt_match::{Match, PortRange, TcpFlagsMatch, TcpMatch};
    let s = ok("
host a {
    iface eth0 { ip 10.0.0.1/24 }
    netfilter output drop proto tcp flags rst dst 10.0.0.2
    netfilter INPUT accept proto udp src 10.0.0.0/24 dport 53
    netfilter prerouting drop proto icmp
}
");
    let out = chain(&s, "a", "filter", "OUTPUT");
    let mut want = Rule::new(Target::Drop);
    want.ip.proto = Some(Inv::new(6));
    want.ip.dst = Some(Inv::new(Ipv4Cidr::new(ip("10.0.0.2"), 32)));
    want.matches.push(Match::Tcp(TcpMatch {
        flags: Some(Inv::new(TcpFlagsMatch {
            mask: 0x04,
            comp: 0x04,
        })),
        ..TcpMatch::default()
    }));
    assert_eq!(out, [want]);
    let input = chain(&s, "a", "filter", "INPUT");
    assert_eq!(input[0].target, Target::Accept);
    assert!(matches!(&input[0].matches[0],
        Match::Udp(u) if u.dport == Some(Inv::new(PortRange::one(53)))));
    // filter has no PREROUTING: such a rule goes to mangle's.
    assert_eq!(chain(&s, "a", "mangle", "PREROUTING").len(), 1);
}

#[test]
fn netfilter_every_n_packet_p() {
    let s = ok("
param n = 5
host a {
    iface eth0 { ip 10.0.0.1/24 }
    netfilter output drop flags syn every 1000000 packet 0
    netfilter input drop proto tcp src 10.0.0.2 every $n packet {$n - 1}
    netfilter input drop proto udp every 3
    for i in 0..2 { netfilter prerouting accept every 1_000_000 packet {i} }
}
");
    let out = chain(&s, "a", "filter", "OUTPUT");
    assert_eq!(
        nth(&out[0]),
        Some(Nth {
            every: 1_000_000,
            packet: 0
        })
    );
    assert_eq!(out[0].ip.proto.map(|p| p.v), Some(6));
    let input = chain(&s, "a", "filter", "INPUT");
    assert_eq!(
        nth(&input[0]),
        Some(Nth {
            every: 5,
            packet: 4
        })
    );
    // `packet` defaults to 0, as iptables' `--packet`.
    assert_eq!(
        nth(&input[1]),
        Some(Nth {
            every: 3,
            packet: 0
        })
    );
    let pre = chain(&s, "a", "mangle", "PREROUTING");
    assert_eq!(nth(&pre[0]).map(|n| n.packet), Some(0));
    assert_eq!(nth(&pre[1]).map(|n| n.packet), Some(1));
    // A rule without them has none; a node without rules says nothing in the RON dump.
    let plain = ok("host a { iface eth0 { ip 10.0.0.1/24 }  netfilter input drop proto icmp }");
    assert_eq!(nth(&chain(&plain, "a", "filter", "INPUT")[0]), None);
    let bare = ok("host a { iface eth0 { ip 10.0.0.1/24 } }");
    let ron = ron::to_string(&bare).expect("serializes");
    assert!(!ron.contains("netfilter"), "{ron}");
    let ron = ron::to_string(&plain).expect("serializes");
    let back: Scenario = ron::from_str(&ron).expect("reads back");
    assert_eq!(back, plain);
    let ron = ron::to_string(&s).expect("serializes");
    let back: Scenario = ron::from_str(&ron).expect("reads back");
    assert_eq!(back, s);
}

#[test]
fn iptables_lines_are_taken_as_iptables_takes_them() {
    use sim_stack::netfilter::Target;
    let s = ok(r#"
param web = 10.0.1.80
router r1 {
    iface eth0 { ip 10.0.0.1/24 }
    iface eth1 { ip 10.0.1.1/24 }
    iptables -t nat -A POSTROUTING -o eth1 -j MASQUERADE   # a home router
    iptables -P FORWARD DROP
    iptables -A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
    iptables -N web
    iptables -A FORWARD -i eth0 -o eth1 -p tcp -j web
    iptables -A web -p tcp -d $web --dport 80 -j ACCEPT
    iptables -A web -j LOG --log-prefix "web drop: "
    for i in 1..3 { iptables -A INPUT -s 10.0.{i}.0/24 -j DROP }
}
"#);
    let post = chain(&s, "r1", "nat", "POSTROUTING");
    assert!(matches!(post[0].target, Target::Masquerade(_)));
    let fwd = chain(&s, "r1", "filter", "FORWARD");
    assert_eq!(fwd.len(), 2);
    assert_eq!(fwd[1].target, Target::Jump("web".into()));
    let web = chain(&s, "r1", "filter", "web");
    assert_eq!(web[0].ip.dst.map(|d| d.v.address()), Some(ip("10.0.1.80")));
    assert!(matches!(&web[1].target, Target::Log(l) if l.prefix == "web drop: "));
    let input = chain(&s, "r1", "filter", "INPUT");
    assert_eq!(input.len(), 2);
    assert_eq!(input[1].ip.src.map(|d| d.v.address()), Some(ip("10.0.2.0")));
}

#[test]
fn auto_routing_default_routes_for_hosts_and_subnet_routes_for_routers() {
    let s = ok("
routing auto
host a { iface eth0 { ip 10.0.1.2/24 } }
router r1 { iface e0 { ip 10.0.1.1/24 } iface e1 { ip 10.0.0.1/30 } }
router r2 { iface e0 { ip 10.0.2.1/24 } iface e1 { ip 10.0.0.2/30 } }
host b { iface eth0 { ip 10.0.2.2/24 } }
link a.eth0 -- r1.e0 { rate 1Gbit delay 1ms }
link r1.e1 -- r2.e1 { rate 1Gbit delay 1ms }
link r2.e0 -- b.eth0 { rate 1Gbit delay 1ms }
");
    assert_eq!(
        node(&s, "a").routes,
        vec![RouteConfig {
            dest: ip("0.0.0.0"),
            prefix_len: 0,
            gateway: Some(ip("10.0.1.1")),
            dev: Some(IfaceId(0))
        }]
    );
    assert_eq!(
        node(&s, "r1").routes,
        vec![RouteConfig {
            dest: ip("10.0.2.0"),
            prefix_len: 24,
            gateway: Some(ip("10.0.0.2")),
            dev: Some(IfaceId(1))
        }]
    );
}

#[test]
fn auto_routing_tie_break_is_lowest_neighbour_then_lowest_iface() {
    // A diamond: s reaches d through r1 or r2 (equally short). r1 has the lower index, so
    // it wins even though s's link to r2 is its first interface.
    let s = ok("
routing auto
router s  { iface x { ip 10.0.2.1/24 } iface y { ip 10.0.1.1/24 } }
router r1 { iface a { ip 10.0.1.2/24 } iface b { ip 10.0.3.1/24 } }
router r2 { iface a { ip 10.0.2.2/24 } iface b { ip 10.0.4.1/24 } }
router d  { iface a { ip 10.0.3.2/24 } iface b { ip 10.0.4.2/24 } iface c { ip 10.9.0.1/24 } }
host t { iface eth0 { ip 10.9.0.2/24 } }
link s.x -- r2.a { rate 1Gbit delay 1ms }
link s.y -- r1.a { rate 1Gbit delay 1ms }
link r1.b -- d.a { rate 1Gbit delay 1ms }
link r2.b -- d.b { rate 1Gbit delay 1ms }
link d.c -- t.eth0 { rate 1Gbit delay 1ms }
");
    let r = node(&s, "s")
        .routes
        .iter()
        .find(|r| r.dest == ip("10.9.0.0"))
        .unwrap()
        .clone();
    assert_eq!(r.gateway, Some(ip("10.0.1.2")));
    assert_eq!(r.dev, Some(IfaceId(1)));
    // Written routes win over computed ones.
    let s2 = ok(&format!(
        "{}\n",
        "routing auto
router s  { iface x { ip 10.0.2.1/24 } iface y { ip 10.0.1.1/24 } route 10.9.0.0/24 via 10.0.2.2 }
router r1 { iface a { ip 10.0.1.2/24 } iface b { ip 10.0.3.1/24 } }
router r2 { iface a { ip 10.0.2.2/24 } iface b { ip 10.0.4.1/24 } }
router d  { iface a { ip 10.0.3.2/24 } iface b { ip 10.0.4.2/24 } iface c { ip 10.9.0.1/24 } }
host t { iface eth0 { ip 10.9.0.2/24 } }
link s.x -- r2.a { rate 1Gbit delay 1ms }
link s.y -- r1.a { rate 1Gbit delay 1ms }
link r1.b -- d.a { rate 1Gbit delay 1ms }
link r2.b -- d.b { rate 1Gbit delay 1ms }
link d.c -- t.eth0 { rate 1Gbit delay 1ms }"
    ));
    let r: Vec<_> = node(&s2, "s")
        .routes
        .iter()
        .filter(|r| r.dest == ip("10.9.0.0"))
        .collect();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].gateway, Some(ip("10.0.2.2")));
}

#[test]
fn warnings_do_not_stop_a_scenario() {
    let l = load_str(
        "t.net",
        &format!("{PAIR}\napp a: udp_cbr {{ to 10.0.0.2:9  payload 10B  interval 1ms }}\n"),
        &Options::default(),
    );
    assert!(!l.has_errors());
    let w: Vec<_> = l.warnings().map(|d| d.code).collect();
    assert_eq!(w, ["no-listener"]);
    assert!(l.scenario.is_some());
}
