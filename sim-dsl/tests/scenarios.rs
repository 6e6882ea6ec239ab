//! The scenarios shipped in `scenarios/`: they check clean, they say what the reference and
//! the benchmark definitions say, and their RON dump reads back into an equal `Scenario`.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use sim_core::{SimDuration, SimTime};
use sim_dsl::{Options, load_file};
use sim_stack::config::*;
use sim_stack::units::{Bytes, Rate};

fn path(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(rel)
}

fn load(rel: &str, sets: &[(&str, &str)]) -> Scenario {
    let opts = Options {
        overrides: sets
            .iter()
            .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
            .collect(),
    };
    let l = load_file(&path(rel), &opts);
    assert!(
        l.diagnostics.is_empty(),
        "{rel} must check without errors or warnings:\n{}",
        l.render_diagnostics()
    );
    l.scenario.expect("scenario")
}

const ALL: &[&str] = &[
    "dns_then_http.net",
    "ping.net",
    "replay.net",
    "tc/netem_wan.net",
    "tc/red_ecn.net",
    "tc/htb_share.net",
    "tc/prio_bands.net",
    "tc/fq_pacing.net",
    "bench/dumbbell_udp.net",
    "bench/dumbbell_tcp.net",
    "bench/dumbbell_bbr.net",
    "bench/dumbbell_dctcp.net",
    "bench/star_udp_1000.net",
    "dc/fattree_k4_websearch.net",
];

#[test]
fn every_shipped_scenario_round_trips_through_ron() {
    for rel in ALL {
        let s = load(rel, &[]);
        let text = ron::ser::to_string_pretty(&s, ron::ser::PrettyConfig::default()).unwrap();
        let back: Scenario = ron::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(back, s, "{rel}: RON round trip changed the scenario");
        // And loading twice gives the same scenario (nothing depends on hashing or time).
        assert_eq!(load(rel, &[]), s);
    }
}

#[test]
fn every_scenario_file_in_the_folder_checks() {
    let mut seen = 0;
    for dir in ["", "bench", "tc", "dc"] {
        for e in std::fs::read_dir(path(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "net") {
                let rel = p
                    .strip_prefix(path(""))
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .to_string();
                load(&rel, &[]);
                seen += 1;
            }
        }
    }
    assert!(seen >= ALL.len());
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn iface<'a>(s: &'a Scenario, n: &str, i: &str) -> &'a IfaceConfig {
    let node = s.node(s.node_by_name(n).unwrap());
    node.ifaces.iter().find(|x| x.name == i).unwrap()
}

#[test]
fn flagship_has_the_reference_topology() {
    let s = load("dns_then_http.net", &[]);
    let check = |n: &str, i: &str, addr: &str, mac: &str| {
        let f = iface(&s, n, i);
        assert_eq!(f.addr.unwrap().to_string(), addr, "{n}.{i}");
        assert_eq!(f.mac.to_string(), mac, "{n}.{i}");
    };
    check("client", "eth0", "10.0.0.2/24", "02:00:00:00:00:02");
    check("r1", "eth0", "10.0.0.1/24", "02:00:00:00:00:01");
    check("r1", "eth1", "10.0.1.1/24", "02:00:00:00:01:01");
    check("dns", "eth0", "10.0.1.53/24", "02:00:00:00:01:53");
    check("web", "eth0", "10.0.1.80/24", "02:00:00:00:01:80");
    let client = s.node(s.node_by_name("client").unwrap());
    assert_eq!(client.resolver, Some(ip("10.0.1.53").into()));
    assert_eq!(client.routes[0].gateway, Some(ip("10.0.0.1")));
    assert_eq!(s.node(s.node_by_name("r1").unwrap()).kind, NodeKind::Router);
    assert_eq!(
        s.node(s.node_by_name("sw0").unwrap()).kind,
        NodeKind::Switch
    );
    assert!(s.end_time >= SimTime::from_nanos(8_000_000_000));
    let kinds: Vec<&AppKind> = s.apps.iter().map(|a| &a.kind).collect();
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, AppKind::DnsServer { records, ttl: 0, .. }
        if records == &[DnsRecord { name: "baidu.com".into(), addr: ip("10.0.1.80").into() }]))
    );
    assert!(kinds.iter().any(|k| matches!(
        k,
        AppKind::HttpServer {
            port: 80,
            body: Bytes(4096),
            ..
        }
    )));
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, AppKind::Curl { host, port: 80, path, .. }
        if host == "baidu.com" && path == "/"))
    );
}

#[test]
fn dumbbells_match_the_benchmark_definition() {
    for (rel, tcp, cc) in [
        ("bench/dumbbell_udp.net", false, CongestionControl::Cubic),
        ("bench/dumbbell_tcp.net", true, CongestionControl::Cubic),
        ("bench/dumbbell_bbr.net", true, CongestionControl::Bbr),
        ("bench/dumbbell_dctcp.net", true, CongestionControl::Dctcp),
    ] {
        let s = load(rel, &[]);
        assert!(
            s.nodes
                .iter()
                .all(|n| n.sysctls.tcp_congestion_control == cc),
            "{rel}: every node runs {cc:?}"
        );
        assert_eq!(s.nodes.len(), 34, "{rel}");
        assert_eq!(s.links.len(), 33);
        assert_eq!(s.end_time, SimTime::from_nanos(10_000_000_000));
        let bottleneck = &s.links[0];
        assert_eq!(s.end_name(bottleneck.a), "A.eth0");
        assert_eq!(
            (bottleneck.rate, bottleneck.delay),
            (Rate(100_000_000), SimDuration::from_millis(10))
        );
        assert!(
            s.links[1..]
                .iter()
                .all(|l| l.rate == Rate(1_000_000_000) && l.delay == SimDuration::from_millis(1))
        );
        assert_eq!(
            iface(&s, "S3", "eth0").addr.unwrap().to_string(),
            "10.1.3.1/24"
        );
        assert_eq!(
            iface(&s, "A", "eth4").addr.unwrap().to_string(),
            "10.1.3.2/24"
        );
        assert_eq!(
            iface(&s, "B", "eth4").addr.unwrap().to_string(),
            "10.2.3.1/24"
        );
        assert_eq!(
            iface(&s, "R3", "eth0").addr.unwrap().to_string(),
            "10.2.3.2/24"
        );
        assert!(
            matches!(&iface(&s, "A", "eth0").qdisc, QdiscConfig::FqCodel(c) if c.limit == 10240)
        );
        // DCTCP's marks: CE above K = 4 ms on every interface (scenarios/bench/dumbbell_dctcp.net).
        if cc == CongestionControl::Dctcp {
            assert!(s.nodes.iter().flat_map(|n| &n.ifaces).all(|i| matches!(
                &i.qdisc,
                QdiscConfig::FqCodel(c) if c.ce_threshold == Some(SimDuration::from_millis(4))
            )));
        }
        assert_eq!(iface(&s, "S0", "eth0").tx_ring, 100);
        let senders: Vec<&AppConfig> = s
            .apps
            .iter()
            .filter(|a| matches!(a.kind, AppKind::TcpBulk { .. } | AppKind::UdpCbr { .. }))
            .collect();
        assert_eq!(senders.len(), 16);
        for (i, a) in senders.iter().enumerate() {
            assert_eq!(s.node(a.node).name, format!("S{i}"));
            let step = if tcp { 1_000_000 } else { 25_000 };
            assert_eq!(a.start, SimTime::from_nanos(i as u64 * step));
            match &a.kind {
                AppKind::TcpBulk {
                    dst,
                    port: 9,
                    bytes: None,
                    congestion: None,
                } => assert_eq!(*dst, ip(&format!("10.2.{i}.2"))),
                AppKind::UdpCbr {
                    dst,
                    port: 9,
                    payload: Bytes(1000),
                    pace: UdpPace::Interval(iv),
                    ..
                } => {
                    assert_eq!(*dst, ip(&format!("10.2.{i}.2")));
                    assert_eq!(*iv, SimDuration::from_micros(400));
                }
                other => panic!("unexpected sender {other:?}"),
            }
        }
        // Routes were computed: S0 goes to A; A knows every receiver subnet via B.
        let a = s.node(s.node_by_name("A").unwrap());
        assert_eq!(a.routes.len(), 16);
        assert!(a.routes.iter().all(|r| r.gateway == Some(ip("10.0.0.2"))));
        // Params override from the command line (dumbbell_dctcp's qdisc is fixed: fq_codel
        // is what marks).
        let mut set = vec![("pairs", "2"), ("bottleneck_rate", "10Mbit")];
        if cc != CongestionControl::Dctcp {
            set.push(("qdisc", "pfifo_fast"));
        }
        let small = load(rel, &set);
        assert_eq!(small.nodes.len(), 6);
        assert_eq!(small.links[0].rate, Rate(10_000_000));
        if cc != CongestionControl::Dctcp {
            assert_eq!(iface(&small, "A", "eth0").qdisc, QdiscConfig::PfifoFast);
        }
    }
}

#[test]
fn star_matches_the_benchmark_definition() {
    let s = load("bench/star_udp_1000.net", &[]);
    assert_eq!(s.nodes.len(), 1001);
    assert_eq!(s.links.len(), 1000);
    assert_eq!(s.apps.len(), 2000);
    assert!(
        s.links
            .iter()
            .all(|l| l.rate == Rate(1_000_000_000) && l.delay == SimDuration::from_micros(100))
    );
    let senders: Vec<&AppConfig> = s
        .apps
        .iter()
        .filter(|a| matches!(a.kind, AppKind::UdpCbr { .. }))
        .collect();
    assert_eq!(senders.len(), 1000);
    for (i, a) in senders.iter().enumerate() {
        assert_eq!(s.node(a.node).name, format!("H{i}"));
        assert_eq!(a.start, SimTime::from_nanos(i as u64 * 10_000));
        let AppKind::UdpCbr {
            dst,
            port: 9,
            payload: Bytes(100),
            pace: UdpPace::Interval(iv),
            ..
        } = &a.kind
        else {
            panic!("{:?}", a.kind)
        };
        assert_eq!(*iv, SimDuration::from_millis(10));
        let j = (i + 500) % 1000;
        assert_eq!(
            *dst,
            iface(&s, &format!("H{j}"), "eth0").addr.unwrap().address()
        );
    }
    assert_eq!(
        iface(&s, "H999", "eth0").addr.unwrap().to_string(),
        "10.0.15.157/30"
    );
    assert_eq!(
        iface(&s, "r", "eth999").addr.unwrap().to_string(),
        "10.0.15.158/30"
    );
    let h = s.node(s.node_by_name("H7").unwrap());
    assert_eq!(h.routes.len(), 1, "hosts get one default route");
    assert_eq!(h.routes[0].prefix_len, 0);
    let small = load("bench/star_udp_1000.net", &[("hosts", "10")]);
    assert_eq!(small.nodes.len(), 11);
    assert_eq!(small.apps[3].start, SimTime::from_nanos(1_000_000));
}
