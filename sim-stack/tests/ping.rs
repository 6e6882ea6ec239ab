//! Whole-stack ping runs built from configuration types: ARP then echo, with round-trip
//! times checked to the nanosecond against the link arithmetic.

use std::net::Ipv4Addr;
use std::ops::ControlFlow;

use sim_core::{Limits, SimDuration, SimTime, run};
use sim_stack::apps::AppReport;
use sim_stack::config::*;
use sim_stack::link::serialization_time;
use sim_stack::trace::{MemorySink, Trace, TraceLevel};
use sim_stack::units::{Bytes, Rate};
use sim_stack::world::Outputs;
use sim_stack::world::World;

fn iface(name: &str, ip: [u8; 4], prefix: u8, mac: u8) -> IfaceConfig {
    IfaceConfig {
        name: name.into(),
        addr: Some(Ipv4Cidr::new(ip.into(), prefix)),
        addrs6: Vec::new(),
        ipv6: Ipv6DevConf::disabled(),
        mac: EthernetAddress([2, 0, 0, 0, 0, mac]),
        mtu: 1500,
        txqueuelen: 1000,
        qdisc: QdiscConfig::PfifoFast,
        tx_ring: 256,
        tso: false,
    }
}

fn node(name: &str, kind: NodeKind, ifaces: Vec<IfaceConfig>, gw: Option<[u8; 4]>) -> NodeConfig {
    NodeConfig {
        name: name.into(),
        kind,
        ifaces,
        routes: gw
            .map(|g| RouteConfig {
                dest: Ipv4Addr::UNSPECIFIED,
                prefix_len: 0,
                gateway: Some(g.into()),
                dev: None,
            })
            .into_iter()
            .collect(),
        routes6: Vec::new(),
        sysctls: Sysctls {
            ip_forward: kind == NodeKind::Router,
            ..Sysctls::default()
        },
        resolver: None,
        netfilter: Default::default(),
        partition: None,
    }
}

fn end(node: u32, iface: u32) -> LinkEnd {
    LinkEnd {
        node: NodeId(node),
        iface: IfaceId(iface),
    }
}

/// client (10.0.0.2) — r1 — server (10.0.1.2), hop rates and delays as given.
fn two_hops(r1: u64, d1: SimDuration, r2: u64, d2: SimDuration, size: u64, count: u32) -> Scenario {
    Scenario {
        name: "ping".into(),
        seed: 1,
        end_time: SimTime::ZERO + SimDuration::from_secs(10),
        params: Vec::new(),
        routing: RoutingMode::Static,
        nodes: vec![
            node(
                "client",
                NodeKind::Host,
                vec![iface("eth0", [10, 0, 0, 2], 24, 2)],
                Some([10, 0, 0, 1]),
            ),
            node(
                "r1",
                NodeKind::Router,
                vec![
                    iface("eth0", [10, 0, 0, 1], 24, 1),
                    iface("eth1", [10, 0, 1, 1], 24, 0x11),
                ],
                None,
            ),
            node(
                "server",
                NodeKind::Host,
                vec![iface("eth0", [10, 0, 1, 2], 24, 0x12)],
                Some([10, 0, 1, 1]),
            ),
        ],
        links: vec![
            LinkConfig {
                a: end(0, 0),
                b: end(1, 0),
                rate: Rate::from_bps(r1),
                delay: d1,
                loss_ppm: 0,
                mtu: None,
            },
            LinkConfig {
                a: end(1, 1),
                b: end(2, 0),
                rate: Rate::from_bps(r2),
                delay: d2,
                loss_ppm: 0,
                mtu: None,
            },
        ],
        apps: vec![AppConfig {
            node: NodeId(0),
            start: SimTime::ZERO + SimDuration::from_millis(100),
            stop: None,
            kind: AppKind::Ping {
                dst: [10, 0, 1, 2].into(),
                count: Some(count),
                interval: SimDuration::from_secs(1),
                size: Bytes::new(size),
                options: PingOptions::default(),
            },
        }],
        sample: None,
    }
}

fn run_scenario(sc: &Scenario) -> (World, String) {
    let sink = MemorySink::default();
    let outputs = Outputs {
        trace: Trace::new(TraceLevel::Path, Box::new(sink.clone())),
        capture: None,
        record_paths: true,
    };
    let (mut world, mut sched) = World::build(sc, outputs).expect("builds");
    run(&mut world, &mut sched, Limits::until(sc.end_time), |_| {
        ControlFlow::Continue(())
    });
    world.finish_outputs().expect("outputs");
    (world, sink.text())
}

fn ping_report(world: &World) -> sim_stack::apps::ping::PingReport {
    match &world.app_reports()[0].1 {
        AppReport::Ping(p) => (**p).clone(),
        other => panic!("not a ping: {other:?}"),
    }
}

#[test]
fn rtt_equals_link_arithmetic_to_the_nanosecond() {
    let (r1, d1) = (100_000_000, SimDuration::from_micros(5000));
    let (r2, d2) = (1_000_000_000, SimDuration::from_micros(50));
    let sc = two_hops(r1, d1, r2, d2, 56, 3);
    let (world, trace) = run_scenario(&sc);
    let p = ping_report(&world);
    assert_eq!((p.transmitted, p.received), (3, 3), "{trace}");
    // An echo frame is 14 + 20 + 8 + 56 = 98 bytes; ARP frames are padded to 60.
    let hop = |len: usize, rate: u64, d: SimDuration| serialization_time(len, rate) + d;
    let echo = hop(98, r1, d1) + hop(98, r2, d2);
    let steady = echo + echo;
    let arp = hop(60, r1, d1) + hop(60, r1, d1) + hop(60, r2, d2) + hop(60, r2, d2);
    assert_eq!(
        p.rtts_ns,
        vec![
            (steady + arp).as_nanos(),
            steady.as_nanos(),
            steady.as_nanos()
        ],
        "{trace}"
    );
    // ARP first, then the held echo request.
    let client_lines: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains(" client eth0 tx ") || l.contains(" client eth0 rx "))
        .collect();
    assert!(
        client_lines[0].contains("tx 42 ARP, Request who-has 10.0.0.1 tell 10.0.0.2"),
        "{trace}"
    );
    assert!(
        client_lines[1].contains("rx 60 ARP, Reply 10.0.0.1 is-at 02:00:00:00:00:01"),
        "{trace}"
    );
    assert!(
        client_lines[2].contains("tx 98 IP 10.0.0.2 > 10.0.1.2: ICMP echo request"),
        "{trace}"
    );
    // The path reads like the kernel's call stack.
    assert!(trace.contains("path: sendto > raw_sendmsg > ip_route_output_flow > ip_make_skb > ip_send_skb > ip_local_out > nf_hook(LOCAL_OUT) > ip_output > nf_hook(POST_ROUTING) > ip_finish_output > ip_finish_output2 > neigh_resolve_output"), "{trace}");
    let r1n = &world.nodes[1];
    assert_eq!(r1n.snmp.ip.ForwDatagrams, 6);
    assert_eq!(world.nodes[0].snmp.icmp.OutEchos, 3);
    assert_eq!(world.nodes[2].snmp.icmp.OutEchoReps, 3);
}

#[test]
fn same_seed_same_trace() {
    let sc = two_hops(
        10_000_000,
        SimDuration::from_millis(1),
        10_000_000,
        SimDuration::from_millis(1),
        56,
        4,
    );
    let (_, a) = run_scenario(&sc);
    let (_, b) = run_scenario(&sc);
    assert_eq!(a, b);
}

#[test]
fn a_4000_byte_ping_is_fragmented_and_reassembled() {
    let sc = two_hops(
        100_000_000,
        SimDuration::from_micros(100),
        100_000_000,
        SimDuration::from_micros(100),
        4000,
        2,
    );
    let (world, trace) = run_scenario(&sc);
    let p = ping_report(&world);
    assert_eq!((p.transmitted, p.received), (2, 2), "{trace}");
    // 4008 bytes of ICMP in 1480-byte pieces: 1480 + 1480 + 1048, three fragments each way.
    assert_eq!(world.nodes[0].snmp.ip.FragCreates, 6);
    assert_eq!(world.nodes[2].snmp.ip.ReasmOKs, 2);
    assert_eq!(world.nodes[2].snmp.ip.FragCreates, 6);
    assert_eq!(world.nodes[0].snmp.ip.ReasmOKs, 2);
    assert!(
        trace.contains("client eth0 tx 1514 IP 10.0.0.2 > 10.0.1.2: icmp (frag "),
        "{trace}"
    );
}

#[test]
fn arp_gives_up_after_mcast_solicit_and_reports_host_unreachable() {
    let mut sc = two_hops(
        100_000_000,
        SimDuration::from_micros(100),
        100_000_000,
        SimDuration::from_micros(100),
        56,
        1,
    );
    // Ping an address on the server's subnet that nobody has.
    if let AppKind::Ping { dst, .. } = &mut sc.apps[0].kind {
        *dst = [10, 0, 1, 99].into();
    }
    let (world, trace) = run_scenario(&sc);
    let requests = trace
        .lines()
        .filter(|l| l.contains("r1 eth1 tx 42 ARP, Request who-has 10.0.1.99"))
        .count();
    assert_eq!(requests, 3, "{trace}");
    assert!(
        trace.contains("neigh 10.0.1.99 INCOMPLETE -> FAILED"),
        "{trace}"
    );
    let p = ping_report(&world);
    assert_eq!(p.received, 0);
    assert_eq!(p.errors, 1, "{trace}");
    assert!(
        p.error
            .as_deref()
            .unwrap_or("")
            .contains("Destination Host Unreachable"),
        "{p:?}"
    );
    assert_eq!(world.nodes[1].neigh_stats.res_failed, 1);
}
