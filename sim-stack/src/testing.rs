//! A harness for unit tests that drive one node's layers alone, with no World: a bare host
//! with one interface on a link whose far end is the test. The test injects frames at the
//! host's interface (`netif_receive_skb`), calls the socket API, and advances a clock; the
//! harness handles the node's own events (timers, TX completions) and collects every frame
//! the host puts on the wire. ARP requests for the peer are answered, so the host resolves
//! it as it would a real neighbour.

#![cfg(test)]

use std::net::{Ipv4Addr, Ipv6Addr};

use sim_core::{Model, RngStreams, Scheduler, SimDuration, SimTime};

use crate::ctx::{NetCtx, Shared, Solo};
use crate::dev::{NetDevice, TxRing};
use crate::event::Event;
use crate::ip::fib::{Fib, Route};
use crate::link::{Link, Port};
use crate::node::Node;
use crate::qdisc::{PfifoFast, Qdisc};
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

/// The host's global IPv6 address (with [`OneHost::dual`]).
pub const HOST6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
/// The peer's global IPv6 address.
pub const PEER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);

/// One host, its link, and what it sent.
#[derive(Debug)]
pub struct OneHost {
    /// The host.
    pub n: Node,
    /// Its clock, events, buffers and link.
    pub net: Solo,
    /// Frames the host transmitted (Ethernet, as they reached the far end), with the
    /// time they arrived there; ARP for the peer is answered and not listed.
    pub sent: Vec<(SimTime, Vec<u8>)>,
    /// Socket wake-ups the host asked for: (socket) in order.
    pub woken: Vec<u32>,
    /// ARP packets the host sent, with the time they reached the far end.
    pub arp: Vec<(SimTime, ArpRepr)>,
    /// Whether the peer answers Neighbour Solicitations (on by default).
    pub answer_nd: bool,
}

impl OneHost {
    /// A host 192.168.0.1/24 with `sysctl` on a 1 Gbit/s link (no delay) to the test.
    pub fn new(sysctl: crate::config::Sysctls) -> Self {
        Self::build(sysctl, |sched| {
            let mut dev = NetDevice::ether(
                "eth0",
                HOST_MAC,
                Some(Ipv4Cidr::new(HOST, 24)),
                1500,
                Qdisc::PfifoFast(PfifoFast::new(1000)),
                TxRing::new(256),
                sched.new_timer(),
                SimDuration::from_secs(30),
            );
            dev.link = Some((0, 0));
            dev
        })
    }

    /// A dual-stack host: 192.168.0.1/24 and 2001:db8::1/64 (its link-local made from the
    /// MAC when the link comes up, at the harness's time zero), with the IPv6 settings
    /// `ipv6` (Linux's host defaults: `Ipv6DevConf::default()`). The peer answers Neighbour
    /// Solicitations for [`PEER6`] and its link-local address, as it answers ARP.
    pub fn dual(sysctl: crate::config::Sysctls, ipv6: crate::config::Ipv6DevConf) -> Self {
        let mut h = Self::new(sysctl);
        let cfg = crate::config::IfaceConfig {
            name: "eth0".into(),
            addr: Some(Ipv4Cidr::new(HOST, 24)),
            addrs6: vec![crate::wire::Ipv6Cidr::new(HOST6, 64)],
            ipv6,
            mac: HOST_MAC,
            mtu: 1500,
            txqueuelen: 1000,
            qdisc: crate::config::QdiscConfig::PfifoFast,
            tx_ring: 256,
            tso: false,
        };
        crate::ipv6::addrconf::ipv6_add_dev(&mut h.n, &mut h.net.sched, 0, &cfg);
        h.net.sched.schedule_at(
            SimTime::ZERO,
            Event::Ipv6Timer {
                node: 0,
                dev: 0,
                which: crate::ipv6::addrconf::Ipv6TimerKind::Up,
            },
        );
        h
    }

    /// A host 192.168.0.1/24 whose interface is a tun device (`tun0`, no link, no ARP):
    /// the test writes IP packets into it ([`Self::write_tun`]) and reads what it sent
    /// ([`Self::read_tun`]).
    pub fn tun(sysctl: crate::config::Sysctls) -> Self {
        Self::build(sysctl, |sched| {
            NetDevice::tun(
                "tun0",
                Ipv4Cidr::new(HOST, 24),
                1500,
                Qdisc::Pfifo(crate::qdisc::Pfifo::new(crate::dev::TUN_READQ_SIZE)),
                sched.new_timer(),
            )
        })
    }

    fn build(
        sysctl: crate::config::Sysctls,
        dev: impl FnOnce(&mut Scheduler<Event>) -> NetDevice,
    ) -> Self {
        let streams = RngStreams::new(1);
        let rng = streams.stream_named("node", "host");
        let mut sched = Scheduler::new();
        let dev = dev(&mut sched);
        let mut fib = Fib::new();
        fib.add_local(HOST);
        fib.add_local(Ipv4Addr::new(192, 168, 0, 255));
        fib.add(Route {
            dst: Ipv4Addr::new(192, 168, 0, 0),
            prefix_len: 24,
            gateway: None,
            dev: 0,
        });
        let n = Node::host("host", vec![dev], fib, sysctl, rng);
        let link = Link {
            ends: [Port::Nic { node: 0, dev: 0 }, Port::Nic { node: 1, dev: 0 }],
            rate_bps: 1_000_000_000,
            delay: SimDuration::ZERO,
            loss_ppm: 0,
            mtu: None,
            rng: None,
            stats: Default::default(),
            line: Default::default(),
            cut: false,
        };
        Self {
            n,
            net: Solo {
                sched,
                shared: Shared {
                    links: vec![link],
                    ..Shared::new()
                },
            },
            sent: Vec::new(),
            woken: Vec::new(),
            arp: Vec::new(),
            answer_nd: true,
        }
    }

    /// Runs `f` on the host with a context, as an event handler would.
    pub fn with<R>(&mut self, f: impl FnOnce(&mut Node, &mut NetCtx<'_>) -> R) -> R {
        let r = self.net.with(&mut self.n, f);
        let woken = self.net.take_woken(&mut self.n);
        self.woken.extend(woken);
        r
    }

    /// Delivers an Ethernet frame from the peer to the host now.
    pub fn inject(&mut self, frame: &[u8]) {
        let skb = self.net.shared.pool.alloc_copy(frame);
        self.with(|n, cx| crate::dev::netif_receive_skb(n, cx, 0, skb));
    }

    /// Delivers an IPv4 packet from the peer (an Ethernet header is put in front).
    pub fn inject_ip(&mut self, packet: &[u8]) {
        self.inject(&peer_frame(packet));
    }

    /// Delivers an IPv4 packet from the peer as a GRO packet of `gso_size`-byte segments
    /// (`skb_shinfo(skb)->gso_size`), as a NIC's LRO or the GRO engine hands one up.
    pub fn inject_ip_gro(&mut self, packet: &[u8], gso_size: u16) {
        let mut skb = self.net.shared.pool.alloc_copy(&peer_frame(packet));
        skb.gso_size = gso_size;
        self.with(|n, cx| crate::dev::netif_receive_skb(n, cx, 0, skb));
    }

    /// Advances the clock to `until`, handling the host's events on the way.
    pub fn run_until(&mut self, until: SimTime) {
        // A marker event at `until`, and a stop as soon as the clock reaches it: the run
        // never looks past `until` (the radix queue accepts no time before the last it
        // took, and the test schedules from `until` on afterwards).
        if until >= self.net.sched.now() {
            self.net.sched.schedule_at(
                until,
                Event::AppTimer {
                    app: u32::MAX,
                    token: 0,
                },
            );
        }
        let mut sched = std::mem::take(&mut self.net.sched);
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
        self.net.sched = sched;
    }

    /// Advances the clock by `d`.
    pub fn advance(&mut self, d: SimDuration) {
        let until = self.net.sched.now() + d;
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

    /// The IPv6 packets sent so far (Ethernet header removed), with their destination MAC,
    /// and forgets them (the IPv4 ones stay).
    pub fn take_ip6(&mut self) -> Vec<(SimTime, EthernetAddress, Vec<u8>)> {
        let (v6, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.sent)
            .into_iter()
            .partition(|(_, f)| f.len() > 14 && f[12..14] == [0x86, 0xdd]);
        self.sent = rest;
        v6.into_iter()
            .map(|(t, f)| (t, EthernetAddress::from_bytes(&f[..6]), f[14..].to_vec()))
            .collect()
    }

    /// Delivers an IPv6 packet from the peer to `dst_mac` (an Ethernet header is put in
    /// front).
    pub fn inject_ip6(&mut self, dst_mac: EthernetAddress, packet: &[u8]) {
        let mut frame = vec![0u8; 14 + packet.len()];
        EthernetRepr {
            src_addr: PEER_MAC,
            dst_addr: dst_mac,
            ethertype: EtherType::Ipv6,
        }
        .emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
        frame[14..].copy_from_slice(packet);
        self.inject(&frame);
    }

    /// An IPv6 packet from `src` to `dst` carrying the ICMPv6 message `msg`, hop limit
    /// `hop_limit`.
    pub fn icmp6_packet(
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        msg: &crate::wire::icmpv6::Icmpv6Repr<'_>,
    ) -> Vec<u8> {
        let len = msg.buffer_len();
        let mut p = vec![0u8; 40 + len];
        crate::wire::Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header: crate::wire::IpProtocol::Icmpv6,
            payload_len: len,
            hop_limit,
            traffic_class: 0,
            flow_label: 0,
        }
        .emit(&mut crate::wire::Ipv6Packet::new_unchecked(&mut p[..]));
        msg.emit(
            src,
            dst,
            &mut crate::wire::icmpv6::Icmpv6Packet::new_unchecked(&mut p[40..]),
        );
        p
    }

    /// Answers a Neighbour Solicitation for the peer's addresses with a solicited NA (S, O,
    /// TLLAO), as a Linux peer does; whether the frame was one.
    fn answer_ns(&mut self, frame: &[u8]) -> bool {
        use crate::wire::icmpv6::{Icmpv6Packet, Icmpv6Repr, NdiscNeighborFlags, NdiscRepr};
        if frame.len() < 54 || frame[12..14] != [0x86, 0xdd] {
            return false;
        }
        let Ok(ip) = crate::wire::Ipv6Packet::new_checked(&frame[14..]) else {
            return false;
        };
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let Ok(msg) = Icmpv6Packet::new_checked(ip.payload()) else {
            return false;
        };
        let Ok(Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit { target, .. })) =
            Icmpv6Repr::parse(src, dst, &msg)
        else {
            return false;
        };
        let peer_ll = crate::wire::ipv6::link_local_eui64(PEER_MAC);
        if (target != PEER6 && target != peer_ll) || src.is_unspecified() || !self.answer_nd {
            return false;
        }
        let na = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
            flags: NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE,
            target,
            lladdr: Some(PEER_MAC),
        });
        let p = Self::icmp6_packet(target, src, 255, &na);
        let mac = EthernetAddress::from_bytes(&frame[6..12]);
        self.sent.push((self.net.sched.now(), frame.to_vec()));
        self.inject_ip6(mac, &p);
        true
    }

    /// Writes an IPv4 packet into the tun device now (`tun_get_user`).
    pub fn write_tun(&mut self, packet: &[u8]) {
        let skb = self.net.shared.pool.alloc_copy(packet);
        self.with(|n, cx| crate::dev::tun_get_user(n, cx, 0, skb));
    }

    /// The IPv4 packets the tun device sent since the last call, with the instant each left.
    pub fn read_tun(&mut self) -> Vec<(SimTime, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some((t, skb)) = crate::dev::tun_read(&mut self.n, 0) {
            out.push((t, skb.data().to_vec()));
            self.net.shared.pool.free(skb);
        }
        out
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
        let now = self.net.sched.now();
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
        // The events are the host's; `s` is the harness's own scheduler (self.net.sched was
        // moved into it by run_until).
        std::mem::swap(&mut self.net.sched, s);
        match event {
            Event::Arrive { frame, .. } => {
                let skb = self.net.shared.inflight.take(frame);
                let bytes = skb.data().to_vec();
                self.net.shared.pool.free(skb);
                if !self.answer_arp(&bytes) && !self.answer_ns(&bytes) {
                    let now = self.net.sched.now();
                    self.sent.push((now, bytes));
                }
            }
            Event::SockWake { sock, .. } => self.woken.push(sock),
            other => {
                // The node's own events; app events have no app to go to here.
                let _ = self.with(|n, cx| crate::node::node_event(n, cx, other));
            }
        }
        std::mem::swap(&mut self.net.sched, s);
    }
}

/// An IPv4 `packet` from the peer to the host, with its Ethernet header in front.
fn peer_frame(packet: &[u8]) -> Vec<u8> {
    let mut frame = vec![0u8; 14 + packet.len()];
    EthernetRepr {
        src_addr: PEER_MAC,
        dst_addr: HOST_MAC,
        ethertype: EtherType::Ipv4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    frame[14..].copy_from_slice(packet);
    frame
}
