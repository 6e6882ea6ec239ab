//! A connected socket caches its route (`sk_dst_cache`); a change to the node's routing
//! table during the run must be seen by the next packet, as Linux's `rt_genid` makes it.

use std::net::Ipv4Addr;
use std::ops::ControlFlow;

use sim_core::{Limits, SimDuration, SimTime, run};
use sim_stack::config::*;
use sim_stack::ip::fib::Route;
use sim_stack::trace::{MemorySink, Trace, TraceLevel};
use sim_stack::units::{Bytes, Rate};
use sim_stack::world::Outputs;
use sim_stack::world::World;

fn iface(name: &str, ip: [u8; 4], mac: u8) -> IfaceConfig {
    IfaceConfig {
        name: name.into(),
        addr: Some(Ipv4Cidr::new(ip.into(), 24)),
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

fn host(name: &str, ifaces: Vec<IfaceConfig>) -> NodeConfig {
    NodeConfig {
        name: name.into(),
        kind: NodeKind::Host,
        ifaces,
        routes: Vec::new(),
        routes6: Vec::new(),
        sysctls: Sysctls::default(),
        resolver: None,
        netfilter: Default::default(),
        partition: None,
    }
}

fn link(a: (u32, u32), b: (u32, u32)) -> LinkConfig {
    let end = |(node, iface): (u32, u32)| LinkEnd {
        node: NodeId(node),
        iface: IfaceId(iface),
    };
    LinkConfig {
        a: end(a),
        b: end(b),
        rate: Rate::from_bps(1_000_000_000),
        delay: SimDuration::from_micros(10),
        loss_ppm: 0,
        mtu: None,
    }
}

/// `client` (eth0 10.0.0.2, eth1 10.0.2.2) sends a datagram every millisecond from a
/// connected socket to `a` (10.0.0.1, on eth0's subnet); `b` (10.0.2.1) is on eth1's.
fn scenario() -> Scenario {
    Scenario {
        name: "dst_cache".into(),
        seed: 1,
        end_time: SimTime::ZERO + SimDuration::from_millis(20),
        params: Vec::new(),
        routing: RoutingMode::Static,
        nodes: vec![
            host(
                "client",
                vec![
                    iface("eth0", [10, 0, 0, 2], 2),
                    iface("eth1", [10, 0, 2, 2], 3),
                ],
            ),
            host("a", vec![iface("eth0", [10, 0, 0, 1], 1)]),
            host("b", vec![iface("eth0", [10, 0, 2, 1], 4)]),
        ],
        links: vec![link((0, 0), (1, 0)), link((0, 1), (2, 0))],
        apps: vec![
            AppConfig {
                node: NodeId(1),
                start: SimTime::ZERO,
                stop: None,
                kind: AppKind::UdpSink { port: 9 },
            },
            AppConfig {
                node: NodeId(0),
                start: SimTime::ZERO,
                stop: None,
                kind: AppKind::UdpCbr {
                    dst: [10, 0, 0, 1].into(),
                    port: 9,
                    payload: Bytes::new(100),
                    pace: UdpPace::Interval(SimDuration::from_millis(1)),
                    options: UdpCbrOptions::default(),
                },
            },
        ],
        sample: None,
    }
}

#[test]
fn a_route_added_mid_run_takes_over_from_the_cached_one() {
    let sc = scenario();
    let sink = MemorySink::default();
    let outputs = Outputs {
        trace: Trace::new(TraceLevel::Frames, Box::new(sink.clone())),
        capture: None,
        record_paths: false,
    };
    let (mut world, mut sched) = World::build(&sc, outputs).expect("builds");
    let half = SimTime::ZERO + SimDuration::from_micros(9_500);
    run(&mut world, &mut sched, Limits::until(half), |_| {
        ControlFlow::Continue(())
    });
    let client = &world.nodes[0];
    // The datagrams of 0 … 9 ms and an ARP request out of eth0, nothing out of eth1.
    assert_eq!(client.devs[0].stats.tx_packets, 11);
    assert_eq!(client.devs[1].stats.tx_packets, 0);

    // A host route to a through b, more specific than eth0's subnet.
    assert!(world.nodes[0].fib.add(Route {
        dst: Ipv4Addr::new(10, 0, 0, 1),
        prefix_len: 32,
        gateway: Some(Ipv4Addr::new(10, 0, 2, 1)),
        dev: 1,
    }));
    run(&mut world, &mut sched, Limits::until(sc.end_time), |_| {
        ControlFlow::Continue(())
    });
    let client = &world.nodes[0];
    assert_eq!(
        client.devs[0].stats.tx_packets,
        11,
        "eth0 is no longer used: {}",
        sink.text()
    );
    // The datagrams of 10 … 20 ms (the end is inclusive) and an ARP request for the
    // gateway, out of eth1.
    assert_eq!(client.devs[1].stats.tx_packets, 12, "{}", sink.text());
    // b got all but the last, still on the wire at the end.
    assert_eq!(world.nodes[2].devs[0].stats.rx_packets, 11);
}
