//! `craft`: sends a packet written as Scapy writes it, as Scapy's `send()` and `sendp()` do.
//!
//! ```text
//! app spoof: craft { packet "IP(src='10.0.0.66', dst='10.0.1.53')/UDP(sport=40000)/DNS(qd=DNSQR(qname='baidu.com', qtype='ALL'))"  count 100  interval 10ms } at 1s
//! ```
//!
//! The expression is read by [`scapy`] and its layers by [`layers`], which build the bytes
//! Scapy builds (every unset field takes Scapy's default or is computed; a field set
//! explicitly goes out as given). A packet that starts with `IP()` is sent as `send()`
//! sends it through a raw socket with `IP_HDRINCL` (`socket(AF_INET, SOCK_RAW,
//! IPPROTO_RAW)`, `sendto` to the IP destination): through the node's routing, its
//! `OUTPUT` and `POSTROUTING` hooks, neighbour resolution and qdisc, as
//! [`crate::sock::raw`] describes — which fills the IP header's length and checksum (a
//! crafted IP checksum does not survive; a transport one does). A packet that starts with
//! `Ether()` is sent as `sendp()` sends it, through an `AF_PACKET` socket
//! ([`crate::sock::packet`]) on the interface named by `iface` or else the one of the route
//! to its IP destination (the node's first): straight to the device's qdisc, bypassing
//! netfilter and routing. An unset `IP.src` is the route's source for `dst`, as Scapy takes
//! it from `conf.route`; an unset `Ether.src` the interface's MAC and an unset `Ether.dst`
//! the next hop's MAC from the node's neighbour table, or broadcast when it has none (Scapy
//! sends an ARP request and falls back to broadcast; here no ARP is sent).
//!
//! An expression with ranges or lists of field values (`TCP(seq=(1000, 1010))`,
//! `dport=[80, 443]`) stands for a set of packets, one per value, as in Scapy. The app sends
//! the set `count` times (1 by default, as `send()` does; with `loop`, until it stops),
//! `interval` before each packet but the first (Scapy's `inter`, 0 by default: back to back
//! at one instant), or the whole set at each of `times` after its start. The same bytes
//! every round, as Scapy sends the same packet objects. Its report counts the packets and bytes the socket took, and the sends
//! that failed (with the last errno).

pub mod layers;
pub mod scapy;

use std::net::{Ipv4Addr, SocketAddrV4};

use serde::Serialize;
use sim_core::{SimDuration, SimTime};

use crate::apps::{App, AppCtx, AppReport};
use crate::node::Node;
use crate::sock::packet::{SockaddrLl, dev_ifindex};
use crate::sock::raw::IPPROTO_RAW;
use crate::sock::syscall::{self, Domain, SockType};
use crate::sock::{Errno, MsgFlags, SockId};
use crate::wire::EthernetAddress;
pub use layers::Packet;

/// When a `craft` app sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum CraftSchedule {
    /// `count` packets (`None`: until the app stops, Scapy's `loop=1`), `interval` apart.
    Every {
        /// How many.
        count: Option<u64>,
        /// Time between two.
        interval: SimDuration,
    },
    /// One at each of these times after the start.
    At(Vec<SimDuration>),
}

/// What the app did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CraftReport {
    /// Packets the socket took.
    pub packets: u64,
    /// Their bytes (IP packets for `send`, frames for `sendp`).
    pub bytes: u64,
    /// Sends that failed.
    pub errors: u64,
    /// The errno of the last failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<Errno>,
}

/// A running `craft` app.
#[derive(Debug)]
pub struct Craft {
    packets: Vec<Packet>,
    schedule: CraftSchedule,
    iface: Option<usize>,
    sock: Option<SockId>,
    /// What to send and where (built at the start), a packet each.
    out: Vec<Outgoing>,
    started: SimTime,
    next: u64,
    report: CraftReport,
}

#[derive(Debug)]
enum Outgoing {
    /// `send()`: an IP packet to its destination.
    Ip(Vec<u8>, Ipv4Addr),
    /// `sendp()`: a frame on a device.
    Frame(Vec<u8>, usize),
}

impl Craft {
    /// The app for a checked expression (see [`Packet::parse_all`]); `iface` is the index of the
    /// interface `sendp` uses, if the scenario named one.
    ///
    /// # Errors
    /// The expression's error, if it does not parse.
    pub fn new(
        text: &str,
        schedule: CraftSchedule,
        iface: Option<usize>,
    ) -> Result<Self, scapy::CraftError> {
        Ok(Self {
            packets: Packet::parse_all(text)?,
            schedule,
            iface,
            sock: None,
            out: Vec::new(),
            started: SimTime::ZERO,
            next: 0,
            report: CraftReport::default(),
        })
    }

    /// A packet's bytes as the node sends them, and where.
    fn outgoing(&self, n: &mut Node, packet: &Packet) -> Outgoing {
        let dst = packet.ip().map_or(Ipv4Addr::LOCALHOST, |ip| ip.dst);
        let route = crate::ip::output::ip_route_output_flow(n, dst).ok();
        let src = route.map_or(Ipv4Addr::UNSPECIFIED, |r| r.src);
        let dev = self
            .iface
            .or(route.map(|r| r.dev))
            .filter(|&d| d < n.devs.len())
            .unwrap_or(0);
        let (smac, dmac) = match n.devs.get(dev) {
            Some(d) => {
                let next = route.filter(|r| r.dev == dev).map_or(dst, |r| r.nexthop);
                let dmac = d.neigh.entries.get(&next).and_then(|e| e.ha);
                (d.mac, dmac.unwrap_or(EthernetAddress([0xff; 6])))
            }
            None => (EthernetAddress([0; 6]), EthernetAddress([0xff; 6])),
        };
        let bytes = packet.build(src, (dmac, smac));
        if packet.is_frame() {
            Outgoing::Frame(bytes, dev)
        } else {
            Outgoing::Ip(bytes, dst)
        }
    }

    /// Sends packet `i` of the set.
    fn send_one(&mut self, cx: &mut AppCtx<'_>, i: usize) {
        let (Some(sock), Some(out)) = (self.sock, self.out.get(i)) else {
            return;
        };
        let r = match out {
            Outgoing::Ip(b, dst) => cx
                .sendto(sock, b, SocketAddrV4::new(*dst, 0), MsgFlags::NONE)
                .map(|_| b.len()),
            Outgoing::Frame(b, dev) => {
                let to = SockaddrLl::new(0, dev_ifindex(*dev), [0; 6]);
                syscall::sendto_ll(cx.n, &mut cx.net, sock, b, Some(&to)).map(|_| b.len())
            }
        };
        match r {
            Ok(len) => {
                self.report.packets += 1;
                self.report.bytes += len as u64;
            }
            Err(e) => {
                self.report.errors += 1;
                self.report.last_error = Some(e);
                cx.trace(format_args!("craft sendto: {e}"));
            }
        }
    }

    /// Sends the packets due now and arms the timer for the next. The set of packets is
    /// sent whole each round (`send(pkts, count=N)` sends the set N times), `interval`
    /// before each packet but the first, as Scapy's `inter`.
    fn tick(&mut self, cx: &mut AppCtx<'_>) {
        let per_round = self.out.len().max(1) as u64;
        loop {
            let due = match &self.schedule {
                CraftSchedule::Every { count, interval } => {
                    if count.is_some_and(|c| self.next >= c * per_round) {
                        return;
                    }
                    self.started + SimDuration::from_nanos(interval.as_nanos() * self.next)
                }
                CraftSchedule::At(times) => match times.get((self.next / per_round) as usize) {
                    Some(t) => self.started + *t,
                    None => return,
                },
            };
            if due > cx.now() {
                cx.schedule(due, 0);
                return;
            }
            self.send_one(cx, (self.next % per_round) as usize);
            self.next += 1;
        }
    }
}

impl App for Craft {
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        self.started = cx.now();
        let out: Vec<Outgoing> = self
            .packets
            .iter()
            .map(|p| self.outgoing(cx.n, p))
            .collect();
        let sock = match out.first() {
            Some(Outgoing::Ip(..)) | None => cx.socket(SockType::Raw, IPPROTO_RAW),
            Some(Outgoing::Frame(..)) => {
                let owner = cx.owner();
                syscall::socket_domain(cx.n, &mut cx.net, Domain::Packet, SockType::Raw, 0, owner)
            }
        };
        match sock {
            Ok(s) => self.sock = Some(s),
            Err(e) => {
                self.report.last_error = Some(e);
                return;
            }
        }
        self.out = out;
        self.tick(cx);
    }

    fn timer(&mut self, cx: &mut AppCtx<'_>, _token: u32) {
        self.tick(cx);
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::Craft(self.report.clone())
    }
}
