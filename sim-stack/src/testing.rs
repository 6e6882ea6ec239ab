//! A harness for unit tests that drive one node's layers alone, with no World: a bare host
//! with one interface on a link whose far end is the test. The test injects frames at the
//! host's interface (`netif_receive_skb`), calls the socket API, and advances a clock; the
//! harness handles the node's own events (timers, TX completions) and collects every frame
//! the host puts on the wire. ARP requests for the peer are answered, so the host resolves
//! it as it would a real neighbour.

#![cfg(test)]

use std::net::Ipv4Addr;

use sim_core::{Model, RngStreams, Scheduler, SimDuration, SimTime};

use crate::capture::Capture;
use crate::ctx::NetCtx;
use crate::dev::{NetDevice, TxRing};
use crate::event::Event;
use crate::ip::fib::{Fib, Route};
use crate::ip::frag::Reassembly;
use crate::ip::netfilter::Netfilter;
use crate::link::{InFlight, Link, Port};
use crate::neigh::NeighTable;
use crate::node::{Node, NodeKind};
use crate::qdisc::{PfifoFast, Qdisc};
use crate::skb::SkbPool;
use crate::stats::{NeighStats, Snmp};
use crate::trace::Trace;
use crate::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr,
    Ipv4Cidr,
};

/// The host's address.
pub const HOST: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 1);
/// The peer (the test) on the link.
pub const PEER: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 2);
/// The host's MAC.
pub const HOST_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
/// The peer's MAC.
pub const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

/// One host, its link, and what it sent.
#[derive(Debug)]
pub struct OneHost {
    /// The host.
    pub n: Node,
    /// Its clock and events.
    pub sched: Scheduler<Event>,
    pool: SkbPool,
    trace: Trace,
    capture: Option<Capture>,
    io_error: Option<std::io::Error>,
    wakes: Vec<Event>,
    links: Vec<Link>,
    inflight: InFlight,
    frames: u64,
    /// Frames the host transmitted (Ethernet, as they reached the far end), with the
    /// time they arrived there; ARP for the peer is answered and not listed.
    pub sent: Vec<(SimTime, Vec<u8>)>,
    /// Socket wake-ups the host asked for: (socket) in order.
    pub woken: Vec<u32>,
    /// ARP packets the host sent, with the time they reached the far end.
    pub arp: Vec<(SimTime, ArpRepr)>,
}

impl OneHost {
    /// A host 192.168.0.1/24 with `sysctl` on a 1 Gbit/s link (no delay) to the test.
    pub fn new(sysctl: crate::config::Sysctls) -> Self {
        let streams = RngStreams::new(1);
        let mut rng = streams.stream_named("node", "host");
        let mut sched = Scheduler::new();
        let dev = NetDevice {
            name: "eth0".into(),
            mac: HOST_MAC,
            addr: Some(Ipv4Cidr::new(HOST, 24)),
            mtu: 1500,
            qdisc: Qdisc::PfifoFast(PfifoFast::new(1000)),
            ring: TxRing::new(256),
            queue_stopped: false,
            watchdog: sched.new_timer(),
            link: Some((0, 0)),
            neigh: NeighTable {
                entries: Default::default(),
                reachable_time: SimDuration::from_secs(30),
            },
            stats: Default::default(),
            capture: None,
            to_free: Vec::new(),
        };
        let mut fib = Fib::new();
        fib.add_local(HOST);
        fib.add_local(Ipv4Addr::new(192, 168, 0, 255));
        fib.add(Route {
            dst: Ipv4Addr::new(192, 168, 0, 0),
            prefix_len: 24,
            gateway: None,
            dev: 0,
        });
        let ip_idents = crate::ip::output::IpIdents::new(&mut rng);
        let n = Node {
            id: 0,
            name: "host".into(),
            kind: NodeKind::Host,
            forwarding: false,
            devs: crate::node::Devices::new(vec![dev]),
            fib,
            default_ttl: sysctl.ip_default_ttl,
            snmp: Snmp::default(),
            neigh_stats: NeighStats::default(),
            ip_ident_key: rng.next_u64(),
            rng,
            netfilter: Netfilter::default(),
            frags: Reassembly::default(),
            ip_idents,
            socks: Default::default(),
            sysctl,
            tcp_closed: Vec::new(),
            icmp_limits: Default::default(),
            jiffies_phase: 0,
        };
        let link = Link {
            ends: [Port::Nic { node: 0, dev: 0 }, Port::Nic { node: 1, dev: 0 }],
            rate_bps: 1_000_000_000,
            delay: SimDuration::ZERO,
            loss_ppm: 0,
            mtu: None,
            rng: streams.stream_named("link", "l"),
            stats: Default::default(),
        };
        Self {
            n,
            sched,
            pool: SkbPool::new(),
            trace: Trace::disabled(),
            capture: None,
            io_error: None,
            wakes: Vec::new(),
            links: vec![link],
            inflight: InFlight::default(),
            frames: 0,
            sent: Vec::new(),
            woken: Vec::new(),
            arp: Vec::new(),
        }
    }

    /// Runs `f` on the host with a context, as an event handler would.
    pub fn with<R>(&mut self, f: impl FnOnce(&mut Node, &mut NetCtx<'_>) -> R) -> R {
        let mut cx = NetCtx {
            now: self.sched.now(),
            sched: &mut self.sched,
            pool: &mut self.pool,
            trace: &mut self.trace,
            capture: &mut self.capture,
            io_error: &mut self.io_error,
            record_paths: false,
            wakes: &mut self.wakes,
            links: &mut self.links,
            inflight: &mut self.inflight,
            frames_on_links: &mut self.frames,
        };
        let r = f(&mut self.n, &mut cx);
        self.collect_wakes();
        r
    }

    fn collect_wakes(&mut self) {
        for w in self.wakes.drain(..) {
            if let Event::SockWake { sock, .. } = w {
                if let Some(s) = self.n.socks.get_mut(sock) {
                    s.common_mut().wake_pending = false;
                }
                self.woken.push(sock);
            }
        }
    }

    /// Delivers an Ethernet frame from the peer to the host now.
    pub fn inject(&mut self, frame: &[u8]) {
        let skb = self.pool.alloc_copy(frame);
        self.with(|n, cx| crate::dev::netif_receive_skb(n, cx, 0, skb));
    }

    /// Delivers an IPv4 packet from the peer (an Ethernet header is put in front).
    pub fn inject_ip(&mut self, packet: &[u8]) {
        let mut frame = vec![0u8; 14 + packet.len()];
        EthernetRepr {
            src_addr: PEER_MAC,
            dst_addr: HOST_MAC,
            ethertype: EtherType::Ipv4,
        }
        .emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
        frame[14..].copy_from_slice(packet);
        self.inject(&frame);
    }

    /// Advances the clock to `until`, handling the host's events on the way.
    pub fn run_until(&mut self, until: SimTime) {
        // A marker event at `until`, and a stop as soon as the clock reaches it: the run
        // never looks past `until` (the radix queue accepts no time before the last it
        // took, and the test schedules from `until` on afterwards).
        if until >= self.sched.now() {
            self.sched.schedule_at(
                until,
                Event::AppTimer {
                    app: u32::MAX,
                    token: 0,
                },
            );
        }
        let mut sched = std::mem::take(&mut self.sched);
        sim_core::run(
            self,
            &mut sched,
            sim_core::Limits {
                progress_every: 1,
                ..sim_core::Limits::default()
            },
            |p| {
                if p.now >= until {
                    std::ops::ControlFlow::Break(())
                } else {
                    std::ops::ControlFlow::Continue(())
                }
            },
        );
        self.sched = sched;
    }

    /// Advances the clock by `d`.
    pub fn advance(&mut self, d: SimDuration) {
        let until = self.sched.now() + d;
        self.run_until(until);
    }

    /// The IPv4 packets sent so far (Ethernet header removed, padding kept), and forgets
    /// them.
    pub fn take_ip(&mut self) -> Vec<(SimTime, Vec<u8>)> {
        std::mem::take(&mut self.sent)
            .into_iter()
            .filter(|(_, f)| f.len() > 14 && f[12..14] == [0x08, 0x00])
            .map(|(t, f)| (t, f[14..].to_vec()))
            .collect()
    }

    fn answer_arp(&mut self, frame: &[u8]) -> bool {
        let Ok(eth) = EthernetFrame::new_checked(frame) else {
            return false;
        };
        if eth.ethertype() != EtherType::Arp {
            return false;
        }
        let Ok(arp) = ArpPacket::new_checked(eth.payload()).and_then(|p| ArpRepr::parse(&p)) else {
            return true;
        };
        let now = self.sched.now();
        self.arp.push((now, arp));
        if arp.operation == ArpOperation::Request && arp.target_protocol_addr == PEER {
            let reply = ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: PEER_MAC,
                source_protocol_addr: PEER,
                target_hardware_addr: HOST_MAC,
                target_protocol_addr: HOST,
            };
            let mut f = vec![0u8; 14 + reply.buffer_len()];
            EthernetRepr {
                src_addr: PEER_MAC,
                dst_addr: HOST_MAC,
                ethertype: EtherType::Arp,
            }
            .emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
            reply.emit(&mut ArpPacket::new_unchecked(&mut f[14..]));
            self.inject(&f);
        }
        true
    }
}

impl Model for OneHost {
    type Event = Event;

    fn handle(&mut self, s: &mut Scheduler<Event>, event: Event) {
        // The events are the host's; `s` is the harness's own scheduler (self.sched was
        // moved into it by run_until).
        std::mem::swap(&mut self.sched, s);
        match event {
            Event::Arrive { frame, .. } => {
                let skb = self.inflight.take(frame);
                let bytes = skb.data().to_vec();
                self.pool.free(skb);
                if !self.answer_arp(&bytes) {
                    let now = self.sched.now();
                    self.sent.push((now, bytes));
                }
            }
            Event::TxDone { .. } => self.with(|n, cx| crate::dev::nic_tx_done(n, cx, 0)),
            Event::QdiscWatchdog { dev, .. } => {
                self.with(|n, cx| crate::dev::qdisc_run(n, cx, dev as usize));
            }
            Event::NeighTimer { dev, ip, .. } => {
                self.with(|n, cx| crate::neigh::neigh_timer_handler(n, cx, dev as usize, ip));
            }
            Event::FragTimer { key, .. } => {
                self.with(|n, cx| crate::ip::frag::ip_expire(n, cx, key));
            }
            Event::TcpTimer { sock, which, .. } => {
                self.with(|n, cx| crate::tcp::timer::tcp_timer(n, cx, sock, which));
            }
            Event::SockWake { sock, .. } => self.woken.push(sock),
            Event::AppStart { .. } | Event::AppTimer { .. } | Event::AppStop { .. } => {}
        }
        std::mem::swap(&mut self.sched, s);
    }
}
