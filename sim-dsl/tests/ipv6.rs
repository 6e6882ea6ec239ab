//! IPv6 in the language (issue 19): `ip6`, `route6`, `net.ipv6.*` sysctls, AAAA records,
//! `ping` to IPv6 addresses, `routing auto` over IPv6, when IPv6 is on, and every error with
//! its line, column and text.

use std::net::{IpAddr, Ipv6Addr};

use sim_core::SimDuration;
use sim_dsl::{Loaded, Options, load_str};
use sim_stack::config::*;

fn load(src: &str) -> Loaded {
    load_str("t.net", src, &Options::default())
}

fn ok(src: &str) -> Scenario {
    let l = load(src);
    assert!(
        !l.has_errors(),
        "unexpected errors:\n{}",
        l.render_diagnostics()
    );
    l.scenario.expect("scenario")
}

fn show(l: &Loaded) -> String {
    l.diagnostics
        .iter()
        .map(|d| {
            let (line, col) = l.line_col(d).unwrap_or((0, 0));
            format!("{line}:{col} [{}] {}", d.code, d.message)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Asserts an error at `line:col` whose message contains `msg`; returns it rendered.
fn expect(l: &Loaded, line: usize, col: usize, msg: &str) -> String {
    assert!(
        l.scenario.is_none(),
        "a scenario with errors must not lower"
    );
    let d = l
        .errors()
        .find(|d| l.line_col(d) == Some((line, col)) && d.message.contains(msg))
        .unwrap_or_else(|| panic!("no error `{msg}` at {line}:{col}; got:\n{}", show(l)));
    d.render(&l.sources)
}

/// Asserts a warning at `line:col` whose message contains `msg`.
fn expect_warning(l: &Loaded, line: usize, col: usize, msg: &str) -> String {
    let d = l
        .warnings()
        .find(|d| l.line_col(d) == Some((line, col)) && d.message.contains(msg))
        .unwrap_or_else(|| panic!("no warning `{msg}` at {line}:{col}; got:\n{}", show(l)));
    d.render(&l.sources)
}

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn cidr6(s: &str) -> Ipv6Cidr {
    s.parse().unwrap()
}

fn node<'a>(s: &'a Scenario, name: &str) -> &'a NodeConfig {
    s.node(s.node_by_name(name).expect(name))
}

fn iface<'a>(s: &'a Scenario, n: &str, i: &str) -> &'a IfaceConfig {
    node(s, n)
        .ifaces
        .iter()
        .find(|x| x.name == i)
        .expect("iface")
}

/// The dual-stack reference (reference-ipv6/REFERENCE.md section 1); web routes through the
/// router's link-local, as the `GW=ll` variant.
const DUAL: &str = "host client {
    iface eth0 { ip 10.0.0.2/24  ip6 2001:db8::2/64  mac 02:00:00:00:00:02 }
    route default via 10.0.0.1
    route6 default via 2001:db8::1
    resolver 10.0.1.53
}
router r1 {
    iface eth0 { ip 10.0.0.1/24  ip6 2001:db8::1/64  mac 02:00:00:00:00:01 }
    iface eth1 { ip 10.0.1.1/24  ip6 2001:db8:1::1/64  mac 02:00:00:00:01:01 }
}
switch sw0
host dns {
    iface eth0 { ip 10.0.1.53/24  ip6 2001:db8:1::53/64  mac 02:00:00:00:01:53 }
    route default via 10.0.1.1
    route6 default via 2001:db8:1::1
}
host web {
    iface eth0 { ip 10.0.1.80/24  ip6 2001:db8:1::80/64  mac 02:00:00:00:01:80 }
    route default via 10.0.1.1
    route6 default via fe80::ff:fe00:101 dev eth0
}
link client.eth0 -- r1.eth0 { rate 1Gbit  delay 10us }
link r1.eth1     -- sw0     { rate 1Gbit  delay 10us }
link dns.eth0    -- sw0     { rate 1Gbit  delay 10us }
link web.eth0    -- sw0     { rate 1Gbit  delay 10us }
app dns:    dns_server { record baidu.com A 10.0.1.80  record baidu.com AAAA 2001:db8:1::80 }
app web:    http_server { port 80  body 4KiB }
app client: curl \"http://baidu.com/\" at 100ms
app client: ping 2001:db8:1::80 { count 3 } at 1s
app web:    ping [2001:db8::2] { count 3 } at 1s
";

#[test]
fn the_dual_stack_reference_lowers() {
    let l = load(DUAL);
    assert!(l.diagnostics.is_empty(), "{}", l.render_diagnostics());
    let s = l.scenario.unwrap();
    let c = iface(&s, "client", "eth0");
    assert_eq!(c.addrs6, vec![cidr6("2001:db8::2/64")]);
    assert!(!c.ipv6.disable_ipv6 && !c.ipv6.forwarding);
    assert_eq!(
        c.ipv6,
        Ipv6DevConf::default(),
        "a host has Linux's defaults"
    );
    for i in ["eth0", "eth1"] {
        let r = iface(&s, "r1", i);
        assert!(r.ipv6.forwarding && !r.ipv6.disable_ipv6, "r1.{i}");
    }
    for p in &node(&s, "sw0").ifaces {
        assert!(p.ipv6.disable_ipv6, "switch port {}", p.name);
    }
    assert_eq!(
        node(&s, "client").routes6,
        vec![Route6Config {
            dest: Ipv6Addr::UNSPECIFIED,
            prefix_len: 0,
            gateway: Some(v6("2001:db8::1")),
            dev: None
        }]
    );
    assert_eq!(
        node(&s, "web").routes6,
        vec![Route6Config {
            dest: Ipv6Addr::UNSPECIFIED,
            prefix_len: 0,
            gateway: Some(v6("fe80::ff:fe00:101")),
            dev: Some(IfaceId(0))
        }]
    );
    assert!(node(&s, "r1").routes6.is_empty());
    let kinds: Vec<&AppKind> = s.apps.iter().map(|a| &a.kind).collect();
    assert!(kinds.iter().any(
        |k| matches!(k, AppKind::DnsServer { records, .. } if records == &[
            DnsRecord { name: "baidu.com".into(), addr: IpAddr::V4("10.0.1.80".parse().unwrap()) },
            DnsRecord { name: "baidu.com".into(), addr: IpAddr::V6(v6("2001:db8:1::80")) },
        ])
    ));
    let pings: Vec<IpAddr> = kinds
        .iter()
        .filter_map(|k| match k {
            AppKind::Ping { dst, .. } => Some(*dst),
            _ => None,
        })
        .collect();
    assert_eq!(
        pings,
        vec![
            IpAddr::V6(v6("2001:db8:1::80")),
            IpAddr::V6(v6("2001:db8::2"))
        ]
    );
}

/// `sim check --dump ron` round-trips the IPv6 fields (the pattern of `scenarios.rs`).
#[test]
fn ipv6_fields_round_trip_through_ron() {
    let src = format!(
        "{DUAL}sysctl net.ipv6.conf.default.dad_transmits = 2\n\
         sysctl net.ipv6.neigh.default.retrans_time_ms = 500\n\
         sysctl net.ipv6.icmp.ratelimit = 100\n"
    );
    let s = ok(&src);
    assert_eq!(iface(&s, "client", "eth0").ipv6.dad_transmits, 2);
    let text = ron::ser::to_string_pretty(&s, ron::ser::PrettyConfig::default()).unwrap();
    assert!(text.contains("\"2001:db8::2/64\""), "{text}");
    let back: Scenario = ron::from_str(&text).unwrap();
    assert_eq!(back, s);
    assert_eq!(ok(&src), s, "loading twice gives the same scenario");
}

const PAIR4: &str = "host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
";

#[test]
fn ipv6_is_off_until_the_scenario_configures_some() {
    let s = ok(PAIR4);
    for n in &s.nodes {
        for i in &n.ifaces {
            assert!(i.ipv6.disable_ipv6, "{}.{}", n.name, i.name);
            assert!(i.addrs6.is_empty());
        }
        assert!(n.routes6.is_empty());
    }
    // Any of these turns it on everywhere, also where nothing IPv6 is written.
    for extra in [
        "host c { iface eth0 { ip6 2001:db8::3/64 } }\n",
        "sysctl net.ipv6.conf.default.hop_limit = 64\n",
        "sysctl net.ipv6.icmp.echo_ignore_all = 0\n",
        "app a: dns_server { record x.org AAAA 2001:db8::9 }\n",
        "app a: ping 2001:db8::2\n",
        "host c { route6 default dev eth0  iface eth0 }\n",
    ] {
        let s = ok(&format!("{PAIR4}{extra}"));
        assert!(
            !iface(&s, "a", "eth0").ipv6.disable_ipv6 && !iface(&s, "b", "eth0").ipv6.disable_ipv6,
            "{extra}"
        );
    }
    let s = ok("host a { iface eth0 { ip6 2001:db8::1/64 } }
host b { iface eth0 { ip6 2001:db8::2/64 }  sysctl net.ipv6.conf.all.disable_ipv6 = 1 }
host c {
    iface eth0 { ip 10.0.0.3/24 }
    iface eth1 { ip 10.0.1.3/24 }
    sysctl net.ipv6.conf.default.disable_ipv6 = 1
    sysctl net.ipv6.conf.eth1.disable_ipv6 = 0
}
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
");
    assert!(!iface(&s, "a", "eth0").ipv6.disable_ipv6);
    assert!(iface(&s, "b", "eth0").ipv6.disable_ipv6);
    assert!(iface(&s, "c", "eth0").ipv6.disable_ipv6);
    assert!(!iface(&s, "c", "eth1").ipv6.disable_ipv6);
}

#[test]
fn all_default_and_iface_combine_as_linux_does() {
    let s = ok("sysctl net.ipv6.conf.default.hop_limit = 32
host h {
    sysctl net.ipv6.conf.eth1.hop_limit = 10         # written before eth1: still wins
    iface eth0 { ip6 2001:db8::1/64 }
    iface eth1 { ip6 2001:db8:1::1/64 }
    sysctl net.ipv6.conf.default.accept_dad = 0
    sysctl net.ipv6.conf.all.hop_limit = 200          # read by no interface
    sysctl net.ipv6.conf.all.enhanced_dad = 0
    sysctl net.ipv6.conf.eth1.enhanced_dad = 0
    sysctl net.ipv6.conf.default.router_solicitation_interval = 8
    sysctl net.ipv6.conf.eth0.mldv2_unsolicited_report_interval = 250
    sysctl net.ipv6.conf.all.forwarding = 1           # propagated to every interface
}
host g {
    iface eth0 { ip6 2001:db8::2/64 }
    sysctl net.ipv6.conf.eth0.accept_dad = 0
    sysctl net.ipv6.conf.all.accept_dad = 2           # max(all, dev)
}
router r {
    iface eth0 { ip6 2001:db8::3/64 }
    iface eth1 { ip6 2001:db8:2::3/64 }
    sysctl net.ipv6.conf.eth1.forwarding = 0
    sysctl net.ipv6.neigh.default.ucast_solicit = 5
}
host k { iface eth0 { ip6 2001:db8::4/64 }  sysctl net.ipv6.neigh.eth0.retrans_time_ms = 300 }
");
    let (h0, h1) = (iface(&s, "h", "eth0"), iface(&s, "h", "eth1"));
    assert_eq!((h0.ipv6.hop_limit, h1.ipv6.hop_limit), (32, 10));
    assert_eq!((h0.ipv6.accept_dad, h1.ipv6.accept_dad), (0, 0));
    assert!(h0.ipv6.enhanced_dad && !h1.ipv6.enhanced_dad);
    assert_eq!(
        h1.ipv6.router_solicitation_interval,
        SimDuration::from_secs(8)
    );
    assert_eq!(
        h0.ipv6.mldv2_unsolicited_report_interval,
        SimDuration::from_millis(250)
    );
    assert_eq!(
        h1.ipv6.mldv2_unsolicited_report_interval,
        SimDuration::from_secs(1)
    );
    assert!(h0.ipv6.forwarding && h1.ipv6.forwarding);
    assert_eq!(iface(&s, "g", "eth0").ipv6.accept_dad, 2);
    assert!(iface(&s, "r", "eth0").ipv6.forwarding);
    assert!(!iface(&s, "r", "eth1").ipv6.forwarding);
    assert_eq!(node(&s, "r").sysctls.neigh6.ucast_solicit, 5);
    assert_eq!(node(&s, "r").sysctls.neigh.ucast_solicit, 3);
    assert_eq!(
        node(&s, "k").sysctls.neigh6.retrans_time,
        SimDuration::from_millis(300)
    );
    assert_eq!(iface(&s, "k", "eth0").ipv6.hop_limit, 32);
}

#[test]
fn route6_forms() {
    let s = ok("host a {
    iface eth0 { ip6 2001:db8::2/64  ip6 2001:db8:5::2/64 }
    route6 default via 2001:db8::1
    route6 2001:db8:1::/48 via 2001:db8::9 dev eth0
    route6 2001:db8:2::/64 dev eth0
    route6 2001:db8:3::7 via fe80::1 dev eth0
}
host b { iface eth0 { ip6 2001:db8::1/64 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
");
    let a = node(&s, "a");
    assert_eq!(
        iface(&s, "a", "eth0").addrs6,
        vec![cidr6("2001:db8::2/64"), cidr6("2001:db8:5::2/64")],
        "in the order written"
    );
    let r = |dest: &str, len: u8, gw: Option<&str>, dev: Option<u32>| Route6Config {
        dest: v6(dest),
        prefix_len: len,
        gateway: gw.map(v6),
        dev: dev.map(IfaceId),
    };
    assert_eq!(
        a.routes6,
        vec![
            r("::", 0, Some("2001:db8::1"), None),
            r("2001:db8:1::", 48, Some("2001:db8::9"), Some(0)),
            r("2001:db8:2::", 64, None, Some(0)),
            r("2001:db8:3::7", 128, Some("fe80::1"), Some(0)),
        ]
    );
}

/// A router pair joined by a link with only link-local addresses: `routing auto` routes
/// over it through the neighbour's link-local (EUI-64 of its MAC), with `dev`.
#[test]
fn routing_auto_computes_ipv6_routes() {
    let s = ok("routing auto
host a { iface eth0 { ip 10.0.0.2/24  ip6 2001:db8::2/64 } }
router r1 {
    iface eth0 { ip 10.0.0.1/24  ip6 2001:db8::1/64 }
    iface eth1 { ip 10.9.0.1/30  mac 02:00:00:00:09:01 }
}
router r2 {
    iface eth0 { ip 10.9.0.2/30  mac 02:00:00:00:09:02 }
    iface eth1 { ip 10.0.1.1/24  ip6 2001:db8:1::1/64 }
}
host b { iface eth0 { ip 10.0.1.2/24  ip6 2001:db8:1::2/64 } }
link a.eth0 -- r1.eth0 { rate 1Gbit  delay 1ms }
link r1.eth1 -- r2.eth0 { rate 1Gbit  delay 1ms }
link r2.eth1 -- b.eth0 { rate 1Gbit  delay 1ms }
app a: ping 2001:db8:1::2 { count 2 }
");
    let r = |dest: &str, len: u8, gw: &str, dev: u32| Route6Config {
        dest: v6(dest),
        prefix_len: len,
        gateway: Some(v6(gw)),
        dev: Some(IfaceId(dev)),
    };
    assert_eq!(node(&s, "a").routes6, vec![r("::", 0, "2001:db8::1", 0)]);
    assert_eq!(
        node(&s, "r1").routes6,
        vec![r("2001:db8:1::", 64, "fe80::ff:fe00:902", 1)]
    );
    assert_eq!(
        node(&s, "r2").routes6,
        vec![r("2001:db8::", 64, "fe80::ff:fe00:901", 0)]
    );
    assert_eq!(node(&s, "b").routes6, vec![r("::", 0, "2001:db8:1::1", 0)]);
    // The IPv4 routes are as before.
    assert_eq!(node(&s, "a").routes.len(), 1);
}

#[test]
fn ping_to_an_unreachable_ipv6_address_is_a_warning() {
    let l = load(
        "host a { iface eth0 { ip6 2001:db8::1/64 } }
host b { iface eth0 { ip6 2001:db8::2/64 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
app a: ping 2001:db8::2 { count 1 }
app a: ping 2001:db8:9::2 { count 1 }
app a: ping 2001:db8::99 { count 1 }
",
    );
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    let r = expect_warning(&l, 5, 13, "2001:db8:9::2 is unreachable from `a`");
    assert!(r.contains("no interface has address 2001:db8:9::2"), "{r}");
    expect_warning(&l, 6, 13, "no interface has address 2001:db8::99");
    assert_eq!(l.warnings().count(), 2, "{}", show(&l));
}

#[test]
fn overlapping_prefixes_on_one_node_are_a_warning() {
    let l = load(
        "host a {
    iface eth0 { ip6 2001:db8::1/64 }
    iface eth1 { ip6 2001:db8::2/48 }
}
host b { iface eth0 { ip6 2001:db8::3/64 } }
host c { iface eth0 { ip6 2001:db8::4/64 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
link a.eth1 -- c.eth0 { rate 1Gbit  delay 1ms }
",
    );
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    let r = expect_warning(
        &l,
        3,
        22,
        "prefix 2001:db8::/48 of `a.eth1` overlaps 2001:db8::/64 of `a.eth0`",
    );
    assert!(r.contains("the other prefix"), "{r}");
    assert_eq!(l.warnings().count(), 1, "{}", show(&l));
    // The same prefix on two interfaces: reported once, at the later one.
    let l = load(
        "host a {
    iface eth0 { ip6 2001:db8:7::1/64 }
    iface eth1 { ip6 2001:db8:7::2/64  ip6 2001:db8:8::2/64 }
}
",
    );
    expect_warning(
        &l,
        3,
        22,
        "prefix 2001:db8:7::/64 of `a.eth1` overlaps 2001:db8:7::/64 of `a.eth0`",
    );
    assert_eq!(
        l.warnings()
            .filter(|d| d.code == "overlapping-prefixes")
            .count(),
        1,
        "{}",
        show(&l)
    );
}

#[test]
fn address_errors() {
    let l = load(
        "host a {
    iface eth0 { ip 10.0.0.1/24  ip6 2001:db8::1/129  ip6 2001:db8::5 }
    iface eth1 { ip6 10.0.1.1/24  ip 2001:db8:9::1/64 }
    iface eth2 { ip6 fe80::1/64  ip6 ff02::1/64  ip6 ::/64  ip6 ::1/128 }
    iface eth3 { ip6 2001:db8:3::1/64  ip6 2001:db8:3::1/64 }
}
",
    );
    let r = expect(
        &l,
        2,
        38,
        "prefix length `129` is not a number from 0 to 128",
    );
    assert!(r.contains("an IPv6 prefix is 0 to 128 bits"), "{r}");
    let r = expect(&l, 2, 59, "`2001:db8::5` has no prefix length");
    assert!(
        r.contains("help: write the prefix length too, e.g. `2001:db8::5/64`"),
        "{r}"
    );
    let r = expect(&l, 3, 22, "`10.0.1.1/24` is an IPv4 address");
    assert!(
        r.contains("IPv4 addresses are given with `ip`: `ip 10.0.1.1/24`"),
        "{r}"
    );
    let r = expect(&l, 3, 38, "`2001:db8:9::1/64` is an IPv6 address");
    assert!(r.contains("IPv6 addresses are given with `ip6`"), "{r}");
    let r = expect(&l, 4, 22, "fe80::1 is a link-local address");
    assert!(r.contains("made automatically from the MAC"), "{r}");
    assert!(r.contains("02:00:00:00:00:02 → fe80::ff:fe00:2"), "{r}");
    let r = expect(&l, 4, 38, "ff02::1 is a multicast address");
    assert!(r.contains("Linux refuses a multicast address"), "{r}");
    expect(&l, 4, 54, "`::` is the unspecified address");
    expect(&l, 4, 65, "`::1` is the loopback address");
    let r = expect(&l, 5, 44, "address 2001:db8:3::1 is already on `eth3`");
    assert!(r.contains("first given here"), "{r}");
    assert_eq!(l.errors().count(), 9, "{}", show(&l));
    // With a written MAC, the help names the interface's own link-local.
    let l = load("host a { iface eth0 { ip6 fe80::1/64  mac 02:00:00:00:01:53 } }\n");
    let r = expect(&l, 1, 27, "fe80::1 is a link-local address");
    assert!(
        r.contains("this interface's is fe80::ff:fe00:153 (02:00:00:00:01:53)"),
        "{r}"
    );
}

#[test]
fn route6_errors() {
    let l = load(
        "host a {
    iface eth0 { ip6 2001:db8:3::1/64 }
    route6 default via fe80::1
    route6 2001:db8:7::1/64 via 2001:db8:3::9
    route6 2001:db8:8::/64 via 10.0.0.9
    route6 10.9.0.0/16 via 2001:db8:3::9
    route6 2001:db8:9::/129 dev eth0
    route6 2001:db8:a::/64 via 2001:db8:77::1
    route 2001:db8:b::/64 via 2001:db8:3::9
    route6 2001:db8:c::/64 via 2001:db8:3::1
    route6 2001:db8:d::/64 dev eht0
    route6 2001:db8:e::/64
}
host b { iface eth0 { ip6 2001:db8:3::9/64 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
",
    );
    let r = expect(&l, 3, 24, "link-local gateway fe80::1 needs `dev`");
    assert!(r.contains("RTNETLINK answers: No route to host"), "{r}");
    let r = expect(&l, 4, 12, "the address has host bits set");
    assert!(r.contains("did you mean `2001:db8:7::/64`?"), "{r}");
    let r = expect(&l, 5, 32, "`10.0.0.9` is an IPv4 address");
    assert!(r.contains("IPv4 routes are written `route`"), "{r}");
    let r = expect(&l, 6, 12, "`10.9.0.0/16` is an IPv4 address");
    assert!(r.contains("`route 10.9.0.0/16 …`"), "{r}");
    expect(
        &l,
        7,
        12,
        "prefix length `129` is not a number from 0 to 128",
    );
    let r = expect(&l, 9, 11, "`2001:db8:b::/64` is an IPv6 address");
    assert!(r.contains("IPv6 routes are written `route6`"), "{r}");
    let r = expect(&l, 11, 32, "unknown interface `a.eht0`");
    assert!(r.contains("did you mean `eth0`?"), "{r}");
    expect(&l, 12, 5, "a route needs `via ADDRESS` or `dev IFACE`");
    // Checked once the names resolve: the off-link gateway and the node's own address.
    let l = load(
        "host a {
    iface eth0 { ip6 2001:db8:3::1/64 }
    route6 2001:db8:a::/64 via 2001:db8:77::1
    route6 2001:db8:c::/64 via 2001:db8:3::1
    route6 2001:db8:d::/64 via 2001:db8:3::9 dev eth1
    iface eth1 { ip6 2001:db8:4::1/64 }
}
",
    );
    let r = expect(
        &l,
        3,
        32,
        "gateway 2001:db8:77::1 is not on any IPv6 prefix of `a`",
    );
    assert!(
        r.contains("connected: eth0 (2001:db8:3::/64), eth1 (2001:db8:4::/64)"),
        "{r}"
    );
    expect(
        &l,
        4,
        32,
        "gateway 2001:db8:3::1 is an address of `a` itself",
    );
    expect(
        &l,
        5,
        32,
        "gateway 2001:db8:3::9 is not on a prefix of `a.eth1`",
    );
}

#[test]
fn sysctl_errors() {
    let l = load(
        "host a {
    iface eth0 { ip6 2001:db8::1/64 }
    iface eth1 { ip6 2001:db8:1::1/64 }
    sysctl net.ipv6.conf.eht0.accept_dad = 0
    sysctl net.ipv6.conf.eth0.acept_dad = 0
    sysctl net.ipv6.conf.all.addr_gen_mode = 2
    sysctl net.ipv6.conf.default.hop_limit = 0
    sysctl net.ipv6.conf.eth0.router_solicitations = -2
    sysctl net.ipv6.neigh.eth0.retrans_time_ms = 100
    sysctl net.ipv6.conf.all.forwardin = 1
}
sysctl net.ipv6.conf.eth0.forwarding = 1
",
    );
    let r = expect(&l, 4, 26, "unknown interface `a.eht0`");
    assert!(r.contains("did you mean `eth0`?"), "{r}");
    assert!(r.contains("^^^^ `a` has `eth0` or `eth1`"), "{r}");
    let r = expect(&l, 5, 12, "unknown sysctl `net.ipv6.conf.eth0.acept_dad`");
    assert!(
        r.contains("did you mean `net.ipv6.conf.eth0.accept_dad`?"),
        "{r}"
    );
    expect(&l, 6, 46, "addr_gen_mode 2 (stable privacy) is not modeled");
    expect(&l, 7, 46, "0 is out of range; expected 1 to 255");
    expect(&l, 8, 54, "-2 is out of range; expected -1 to 2147483647");
    let r = expect(&l, 9, 12, "the model keeps one NDP table per node");
    assert!(r.contains("net.ipv6.neigh.default.retrans_time_ms"), "{r}");
    let r = expect(&l, 10, 12, "unknown sysctl `net.ipv6.conf.all.forwardin`");
    assert!(
        r.contains("did you mean `net.ipv6.conf.all.forwarding`?"),
        "{r}"
    );
    let r = expect(
        &l,
        12,
        8,
        "names interface `eth0`, but a top-level sysctl applies to every node",
    );
    assert!(r.contains("net.ipv6.conf.default.forwarding"), "{r}");
    assert_eq!(l.errors().count(), 8, "{}", show(&l));
}

#[test]
fn record_and_app_errors() {
    let l = load(
        "host a { iface eth0 { ip 10.0.0.1/24  ip6 2001:db8::1/64 } }
host b { iface eth0 { ip 10.0.0.2/24  ip6 2001:db8::2/64 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
app a: dns_server { record x.com AAAA 10.0.0.1  record y.com A 2001:db8::1  record z.com AAA 2001:db8::1 }
app b: tcp_bulk { to [2001:db8::1]:9 }
app b: udp_cbr { to 2001:db8::1:9  payload 100B  interval 1ms }
app b: curl \"http://[2001:db8::1]/\"
app b: tcp_bulk { to 2001:db8::1:9 }
app b: ping fe80::1
app b: ping [10.0.0.1]
host c { resolver fe80::2 }
app b: udp_cbr { to [ff02::1]:9  payload 100B  interval 1ms }
",
    );
    let r = expect(&l, 4, 39, "`10.0.0.1` is an IPv4 address");
    assert!(
        r.contains("an IPv4 address is an A record: `record x.com A 10.0.0.1`"),
        "{r}"
    );
    let r = expect(&l, 4, 64, "`2001:db8::1` is an IPv6 address");
    assert!(r.contains("`record y.com AAAA 2001:db8::1`"), "{r}");
    let r = expect(&l, 4, 90, "unsupported record type `AAA`");
    assert!(
        r.contains("only A, AAAA and TXT records are modeled"),
        "{r}"
    );
    assert!(r.contains("did you mean `AAAA`?"), "{r}");
    // tcp_bulk and curl take IPv6 destinations (in brackets); without them,
    // `2001:db8::1:9` is one IPv6 address and no port.
    assert!(
        !l.errors().any(|d| d.message.contains("[2001:db8::1]")),
        "{}",
        show(&l)
    );
    let r = expect(&l, 8, 22, "`2001:db8::1:9` is not an IPv6 address and port");
    assert!(
        r.contains("write the address in brackets: `[2001:db8::1]:9`"),
        "{r}"
    );
    // udp_cbr takes IPv6 destinations, in brackets.
    let r = expect(&l, 6, 21, "`2001:db8::1:9` is not an IPv6 address and port");
    assert!(
        r.contains("write the address in brackets: `[2001:db8::1]:9`"),
        "{r}"
    );
    let r = expect(&l, 12, 21, "`ff02::1` is not a unicast global address");
    assert!(
        r.contains("`udp_cbr` here takes a global IPv6 address"),
        "{r}"
    );
    let r = expect(&l, 9, 13, "`fe80::1` is not a unicast global address");
    assert!(r.contains("need an interface"), "{r}");
    expect(&l, 10, 13, "`10.0.0.1` is not an IPv6 address");
    let r = expect(&l, 11, 19, "`fe80::2` is not a unicast global address");
    assert!(
        r.contains("`resolver` here takes a global IPv6 address"),
        "{r}"
    );
}

/// `resolver 2001:db8:1::53` asks over IPv6 (and turns IPv6 on); an IPv6 resolver the node
/// cannot reach is an error as an IPv4 one is; udp_cbr takes `[ADDRESS]:PORT`.
#[test]
fn ipv6_resolver_and_udp_cbr_destination() {
    let l = load(
        "host a { iface eth0 { ip 10.0.0.1/24  ip6 2001:db8::1/64 }  resolver 2001:db8::2 }
host b { iface eth0 { ip 10.0.0.2/24  ip6 2001:db8::2/64 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
app b: dns_server { record x.org A 10.0.0.2  record x.org AAAA 2001:db8::2 }
app a: curl \"http://x.org/\"
app a: udp_cbr { to [2001:db8::2]:9  payload 100B  interval 1ms }
app b: udp_sink { port 9 }
app b: tcp_sink { port 80 }
",
    );
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    let s = l.scenario.as_ref().expect("scenario");
    let a = s.nodes.iter().find(|n| n.name == "a").expect("a");
    assert_eq!(a.resolver, Some("2001:db8::2".parse().unwrap()));
    assert!(s.apps.iter().any(|x| matches!(
        x.kind,
        sim_stack::config::AppKind::UdpCbr { dst, port: 9, .. } if dst == "2001:db8::2".parse::<std::net::IpAddr>().unwrap()
    )));
    // Only the resolver says IPv6: it turns IPv6 on.
    let l = load(
        "host a { iface eth0 { ip 10.0.0.1/24 }  resolver 2001:db8::2 }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
",
    );
    let r = expect(&l, 1, 50, "resolver 2001:db8::2 is unreachable from `a`");
    assert!(r.contains("no interface has address 2001:db8::2"), "{r}");
}

#[test]
fn syntax_error_knows_route6() {
    let l = load("host a {\n    rute6 default via 2001:db8::1\n}\n");
    let r = expect(&l, 2, 5, "syntax error: unexpected `rute6`");
    assert!(r.contains("`route6`"), "{r}");
    assert!(r.contains("did you mean `route6`?"), "{r}");
}

#[test]
fn curl_to_a_name_with_only_aaaa_records_checks_the_ipv6_destination() {
    let l = load(
        "host a { iface eth0 { ip 10.0.0.1/24  ip6 2001:db8::1/64 }  resolver 10.0.0.2 }
host b { iface eth0 { ip 10.0.0.2/24  ip6 2001:db8::2/64 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 1ms }
app b: dns_server { record six.org AAAA 2001:db8::2 }
app a: curl \"http://six.org/\"
",
    );
    assert!(!l.has_errors(), "{}", l.render_diagnostics());
    // curl connects over IPv6 to the AAAA answer: nothing listens there.
    expect_warning(
        &l,
        5,
        13,
        "nothing listens on TCP port 80 of `b` (2001:db8::2)",
    );
}
