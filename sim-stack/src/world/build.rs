//! Building a [`World`] from a validated [`Scenario`]: nodes, switches, links, routing
//! tables, neighbour parameters, qdiscs, RNG streams, capture interfaces and apps. Everything
//! is decided here, before time zero; nothing is looked up by name at run time.

use std::net::Ipv4Addr;

use sim_core::{RngStreams, Scheduler, SimDuration};

use super::World;
use crate::apps::{App, AppSlot, ping::Ping};
use crate::capture::{Capture, CaptureConfig};
use crate::config::{self, AppKind as AppConfigKind, NodeKind, Scenario};
use crate::ctx::Shared;
use crate::dev::{NetDevice, TxRing};
use crate::event::Event;
use crate::ip::fib::Fib;
use crate::ip::frag::Reassembly;
use crate::link::{Link, Port};
use crate::netfilter::Netfilter;
use crate::node::Node;
use crate::qdisc::Qdisc;
use crate::stats::{NeighStats, Snmp};
use crate::switch::{Switch, SwitchPort};
use crate::trace::Trace;
use crate::validate::Invalid;

/// How a run records what happens.
#[derive(Debug)]
pub struct Outputs {
    /// The text trace.
    pub trace: Trace,
    /// Packet capture: where and how, and which nodes (`None` = all).
    pub capture: Option<(CaptureConfig, Option<Vec<String>>)>,
    /// Record each packet's function path (for `--trace path` and pcapng comments).
    pub record_paths: bool,
}

/// Why a scenario cannot be built into a runnable world.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The scenario breaks a rule of [`crate::validate`] (`sim check` reports these with
    /// their place in the file, so a checked `.net` scenario never gets here).
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A user app could not be made from its properties.
    #[error("app {app} on {node}: {message}")]
    App {
        /// Node.
        node: String,
        /// The app's name.
        app: String,
        /// What its maker said.
        message: String,
    },
    /// The capture folder could not be prepared.
    #[error("capture: {0}")]
    Capture(#[from] std::io::Error),
}

/// A link's name for its random stream: `node.iface--node.iface`, as the scenario wrote it.
fn link_name(sc: &Scenario, lc: &config::LinkConfig) -> String {
    let end = |e: &config::LinkEnd| {
        let n = &sc.nodes[e.node.0 as usize];
        match n.ifaces.get(e.iface.0 as usize) {
            Some(i) => format!("{}.{}", n.name, i.name),
            None => format!("{}.port{}", n.name, e.iface.0),
        }
    };
    format!("{}--{}", end(&lc.a), end(&lc.b))
}

impl World {
    /// Builds the world for `scenario` and schedules its apps. Returns the world and the
    /// scheduler to run it with.
    pub fn build(
        scenario: &Scenario,
        mut outputs: Outputs,
    ) -> Result<(Self, Scheduler<Event>), BuildError> {
        scenario.validate()?;
        let streams = RngStreams::new(scenario.seed);
        let mut sched = Scheduler::new();
        let mut capture = match outputs.capture.take() {
            Some((cfg, nodes)) => Some((Capture::new(cfg)?, nodes)),
            None => None,
        };
        // Config node index → world index (nodes or switches).
        enum Place {
            Node(usize),
            Switch(usize),
        }
        let mut places = Vec::with_capacity(scenario.nodes.len());
        // Sized once: a vector grown by doubling keeps up to as much again spare.
        let hosts = scenario
            .nodes
            .iter()
            .filter(|nc| nc.kind != NodeKind::Switch)
            .count();
        let mut nodes = Vec::with_capacity(hosts);
        let mut switches = Vec::new();
        for nc in &scenario.nodes {
            match nc.kind {
                NodeKind::Switch => {
                    places.push(Place::Switch(switches.len()));
                    switches.push(Switch {
                        id: switches.len() as u32,
                        name: nc.name.clone(),
                        ports: Vec::new(),
                        fdb: Default::default(),
                    });
                }
                NodeKind::Host | NodeKind::Router => {
                    let idx = nodes.len();
                    places.push(Place::Node(idx));
                    // Streams keyed by the node's name: adding or moving a node changes no
                    // other node's numbers.
                    let mut rng = streams.stream_named("node", &nc.name);
                    let mut jrng = streams.stream_named("jiffies", &nc.name);
                    let params = nc.sysctls.neigh;
                    let mut devs = Vec::with_capacity(nc.ifaces.len());
                    for ic in &nc.ifaces {
                        let base = params.base_reachable_time.as_nanos();
                        let reach = SimDuration::from_nanos(base / 2 + rng.below(base.max(1)));
                        let qdisc = match &ic.qdisc {
                            // fq_init sizes its quanta from the device (psched_mtu: MTU plus
                            // the Ethernet header).
                            config::QdiscConfig::Fq(c) => crate::qdisc::Fq::new(c, ic.mtu + 14)
                                .map(|q| Qdisc::Fq(Box::new(q))),
                            // So does sfq_init its quantum.
                            config::QdiscConfig::Sfq(c) => crate::qdisc::Sfq::new(
                                c,
                                ic.mtu + 14,
                                streams.stream_named("netem", &format!("{}.{}", nc.name, ic.name)),
                            )
                            .map(|q| Qdisc::Sfq(Box::new(q))),
                            _ => Qdisc::from_config(&ic.qdisc, ic.txqueuelen, || {
                                // One stream per qdisc, keyed by node and interface names.
                                streams.stream_named("netem", &format!("{}.{}", nc.name, ic.name))
                            }),
                        }
                        .map_err(|error| Invalid::Qdisc {
                            node: nc.name.clone(),
                            iface: ic.name.clone(),
                            error,
                        })?;
                        let cap = match capture.as_mut() {
                            Some((c, which))
                                if which.as_ref().is_none_or(|w| w.contains(&nc.name)) =>
                            {
                                Some(c.add_interface(&format!("{}-{}", nc.name, ic.name)))
                            }
                            _ => None,
                        };
                        let mut dev = NetDevice::ether(
                            &ic.name,
                            ic.mac,
                            ic.addr,
                            ic.mtu,
                            qdisc,
                            TxRing::new(ic.tx_ring.max(1)),
                            sched.new_timer(),
                            reach,
                        );
                        dev.capture = cap;
                        dev.features.tso = ic.tso;
                        devs.push(dev);
                    }
                    let fib = Fib::from_config(nc);
                    let ip_idents = crate::ip::output::IpIdents::new(&mut rng);
                    let jiffies_phase = jrng.below(crate::jiffies::JIFFY_NS);
                    nodes.push(Node {
                        id: nodes.len() as u32,
                        name: nc.name.clone(),
                        kind: nc.kind,
                        forwarding: nc.sysctls.ip_forward || nc.kind == NodeKind::Router,
                        devs: crate::node::Devices::new(devs),
                        fib,
                        default_ttl: nc.sysctls.ip_default_ttl,
                        snmp: Snmp::default(),
                        neigh_stats: NeighStats::default(),
                        ip_ident_key: rng.next_u64(),
                        ip_idents,
                        icmp_limits: Default::default(),
                        jiffies_phase,
                        rng,
                        // Checked by `Scenario::validate`: loads as the kernel would.
                        netfilter: Netfilter::new(
                            nc.netfilter.clone(),
                            nc.sysctls.netfilter.as_deref().copied().unwrap_or_default(),
                            jiffies_phase,
                            || streams.stream_named("nat", &nc.name),
                        )
                        .unwrap_or_default(),
                        frags: Reassembly::default(),
                        socks: Default::default(),
                        sysctl: nc.sysctls.clone(),
                        tcp_closed: Vec::new(),
                        tcp_metrics: Default::default(),
                        ndisc_stats: NeighStats::default(),
                        snmp6: Default::default(),
                        fib6: Default::default(),
                        frags6: Default::default(),
                    });
                    let n = nodes.last_mut().expect("just pushed");
                    // What the build schedules for an entity counts as scheduled by it, at
                    // time zero: the order of simultaneous events is then the same whatever
                    // partitions the entities end up in.
                    sched.set_source(super::dispatch::node_entity(n.id as usize));
                    for (dev, ic) in nc.ifaces.iter().enumerate() {
                        if !ic.ipv6.disable_ipv6 {
                            crate::ipv6::addrconf::ipv6_add_dev(n, &mut sched, dev, ic);
                            // Every link is up with carrier from the start.
                            sched.schedule_at(
                                sim_core::SimTime::ZERO,
                                Event::Ipv6Timer {
                                    node: n.id,
                                    dev: dev as u32,
                                    which: crate::ipv6::addrconf::Ipv6TimerKind::Up,
                                },
                            );
                        }
                    }
                    for r in &nc.routes6 {
                        let dev = r.dev.map(|d| d.0).or_else(|| {
                            r.gateway.and_then(|g| {
                                nc.ifaces
                                    .iter()
                                    .position(|i| i.addrs6.iter().any(|c| c.contains(g)))
                                    .map(|i| i as u32)
                            })
                        });
                        if let Some(dev) = dev {
                            n.fib6.add_static(
                                crate::wire::Ipv6Cidr::new(r.dest, r.prefix_len),
                                r.gateway,
                                dev,
                            );
                        }
                    }
                }
            }
        }
        let mut links = Vec::with_capacity(scenario.links.len());
        for (li, lc) in scenario.links.iter().enumerate() {
            let mut ends = [Port::Nic { node: 0, dev: 0 }; 2];
            for (dir, end) in [lc.a, lc.b].into_iter().enumerate() {
                let cfg_node = &scenario.nodes[end.node.index()];
                ends[dir] = match places[end.node.index()] {
                    Place::Node(n) => {
                        nodes[n].devs[end.iface.index()].link = Some((li as u32, dir as u8));
                        Port::Nic {
                            node: n as u32,
                            dev: end.iface.index() as u32,
                        }
                    }
                    Place::Switch(sw) => {
                        let port = switches[sw].ports.len();
                        switches[sw].ports.push(SwitchPort {
                            name: cfg_node.ifaces[end.iface.index()].name.clone(),
                            link: (li as u32, dir as u8),
                            queue: Default::default(),
                            limit: 1000,
                            busy: false,
                            stats: Default::default(),
                        });
                        Port::Switch {
                            sw: sw as u32,
                            port: port as u32,
                        }
                    }
                };
            }
            links.push(Link {
                ends,
                rate_bps: lc.rate.bits_per_sec(),
                delay: lc.delay,
                loss_ppm: lc.loss_ppm,
                mtu: lc.mtu,
                rng: (lc.loss_ppm > 0)
                    .then(|| Box::new(streams.stream_named("link", &link_name(scenario, lc)))),
                stats: Default::default(),
                line: Default::default(),
                cut: false,
            });
        }
        let mut apps = Vec::with_capacity(scenario.apps.len());
        for ac in &scenario.apps {
            let cfg_node = &scenario.nodes[ac.node.index()];
            let Place::Node(node) = places[ac.node.index()] else {
                continue;
            };
            let app: Box<dyn App> = match &ac.kind {
                AppConfigKind::Ping {
                    dst,
                    count,
                    interval,
                    size,
                    options,
                } => {
                    let ident = nodes[node].rng.below(1 << 16) as u16;
                    Box::new(Ping::new(
                        *dst,
                        *count,
                        *interval,
                        size.get() as usize,
                        ac.stop,
                        ident,
                        sched.new_timer(),
                        *options,
                    ))
                }
                AppConfigKind::DnsServer {
                    records,
                    ttl,
                    other_types,
                    txt,
                } => Box::new(crate::apps::dns_server::DnsServer {
                    records: records.iter().map(|r| (r.name.clone(), r.addr)).collect(),
                    txt: txt
                        .iter()
                        .map(|r| (r.name.clone(), r.text.as_bytes().to_vec()))
                        .collect(),
                    ttl: *ttl,
                    other_types: *other_types,
                    sock: None,
                    report: Default::default(),
                }),
                AppConfigKind::HttpServer {
                    port,
                    body,
                    think_time,
                } => Box::new(crate::apps::http_server::HttpServer::new(
                    *port,
                    body.get(),
                    *think_time,
                )),
                AppConfigKind::Curl {
                    url,
                    host,
                    port,
                    path,
                } => Box::new(crate::apps::curl::Curl::new(
                    url.clone(),
                    host.clone(),
                    *port,
                    path.clone(),
                    cfg_node.resolver,
                    sched.new_timer(),
                )),
                AppConfigKind::TcpBulk {
                    dst,
                    port,
                    bytes,
                    congestion,
                } => Box::new(
                    crate::apps::bulk::TcpBulk::new(*dst, *port, bytes.map(|b| b.get()), ac.stop)
                        .with_congestion(*congestion),
                ),
                AppConfigKind::TcpSink { port, congestion } => {
                    Box::new(crate::apps::bulk::TcpSink::new(*port).with_congestion(*congestion))
                }
                AppConfigKind::UdpCbr {
                    dst,
                    port,
                    payload,
                    pace,
                    options,
                } => {
                    let interval = match pace {
                        config::UdpPace::Interval(d) => *d,
                        config::UdpPace::Rate(r) => SimDuration::from_nanos(
                            ((payload.get() as u128 * 8 * 1_000_000_000)
                                / u128::from(r.bits_per_sec().max(1)))
                            .max(1) as u64,
                        ),
                    };
                    Box::new(crate::apps::udp_cbr::UdpCbr::new(
                        *dst,
                        *port,
                        payload.get() as usize,
                        interval,
                        ac.stop,
                        sched.new_timer(),
                        *options,
                    ))
                }
                AppConfigKind::UdpSink { port } => {
                    Box::new(crate::apps::udp_cbr::UdpSink::new(*port))
                }
                AppConfigKind::Craft {
                    packet,
                    schedule,
                    iface,
                } => {
                    let dev = iface
                        .as_ref()
                        .and_then(|i| cfg_node.ifaces.iter().position(|x| &x.name == i));
                    match crate::apps::craft::Craft::new(packet, schedule.clone(), dev) {
                        Ok(app) => Box::new(app),
                        Err(e) => {
                            return Err(BuildError::App {
                                node: cfg_node.name.clone(),
                                app: "craft".into(),
                                message: e.to_string(),
                            });
                        }
                    }
                }
                AppConfigKind::Replay(cfg) => Box::new(crate::apps::replay::Replay::new(
                    (**cfg).clone(),
                    sched.new_timer(),
                )),
                AppConfigKind::User { name, props } => {
                    let made = crate::apps::registry::find(name)
                        .ok_or_else(|| format!("no app named `{name}` is registered"))
                        .and_then(|spec| (spec.make)(props));
                    match made {
                        Ok(app) => app,
                        Err(message) => {
                            return Err(BuildError::App {
                                node: cfg_node.name.clone(),
                                app: name.clone(),
                                message,
                            });
                        }
                    }
                }
            };
            let idx = apps.len() as u32;
            sched.set_source(super::dispatch::node_entity(node));
            // Apps that keep no stop time of their own are stopped by the world at `until`:
            // every socket they own is closed, as killing the process would.
            if let Some(stop) = ac.stop
                && !app.stops_itself()
            {
                sched.schedule_at(stop, Event::AppStop { app: idx });
            }
            apps.push(AppSlot {
                node,
                app,
                stopped: false,
                io: crate::apps::AppIo::default(),
            });
            sched.schedule_at(ac.start, Event::AppStart { app: idx });
        }
        sched.set_source(0);
        let world = Self {
            nodes,
            switches,
            apps,
            shared: Shared {
                links,
                trace: outputs.trace,
                capture: capture.map(|(c, _)| c),
                record_paths: outputs.record_paths,
                ..Shared::new()
            },
            now: sim_core::SimTime::ZERO,
            partition_hints: Vec::new(),
        };
        let mut world = world;
        if scenario.nodes.iter().any(|n| n.partition.is_some()) {
            let mut hints = vec![None; world.nodes.len() + world.switches.len()];
            for (nc, place) in scenario.nodes.iter().zip(&places) {
                let v = match place {
                    Place::Node(i) => *i,
                    Place::Switch(s) => world.nodes.len() + s,
                };
                hints[v] = nc.partition;
            }
            world.partition_hints = hints;
        }
        Ok((world, sched))
    }
}

/// The address of `node`'s interface `dev`, for tests and tools.
pub fn iface_addr(world: &World, node: usize, dev: usize) -> Ipv4Addr {
    world.nodes[node].dev_addr(dev)
}
