//! `ping`: ICMP echo requests over a raw socket, as iputils ping sends them, with its closing
//! statistics (transmitted, received, loss, RTT min/avg/max).
//!
//! Each request carries `size` bytes of data (56 by default: 64 bytes of ICMP, 84 of IP), the
//! ident of the socket and a sequence number from 1. The IP header gets DF when the datagram
//! fits the route's MTU (PMTU discovery "want") and is fragmented otherwise; an unconnected
//! raw socket with DF sends IP ID 0, as `ip_select_ident_segs` does. Not modeled: the
//! timestamp iputils puts in the data (the data is the pattern 0x10, 0x11, …), adaptive or
//! flood modes, and TTL/TOS options.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Serialize;
use sim_core::{Scheduler, SimDuration, SimTime, TimerId};

use crate::apps::AppKind;
use crate::ip::output::{IdentMode, IpSend};
use crate::wire::{DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4Repr, IpProtocol};
use crate::world::{Event, World};

/// A running ping.
#[derive(Debug)]
pub struct Ping {
    /// Destination.
    pub dst: Ipv4Addr,
    /// Requests to send (`None`: until stopped).
    pub count: Option<u32>,
    /// Between requests.
    pub interval: SimDuration,
    /// ICMP data bytes.
    pub size: usize,
    /// When to stop sending.
    pub stop: Option<SimTime>,
    /// The ICMP ident.
    pub ident: u16,
    /// The app's timer.
    pub timer: TimerId,
    /// Sequence numbers sent and when.
    sent: BTreeMap<u16, SimTime>,
    next_seq: u16,
    transmitted: u32,
    received: u32,
    errors: u32,
    rtts: Vec<SimDuration>,
    /// The first error seen (`Destination Host Unreachable`, …).
    last_error: Option<String>,
}

/// Closing statistics, as ping prints them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PingReport {
    /// Destination.
    pub dst: Ipv4Addr,
    /// Requests sent.
    pub transmitted: u32,
    /// Replies received.
    pub received: u32,
    /// ICMP errors received instead of replies.
    pub errors: u32,
    /// Percentage of requests without a reply.
    pub loss_percent: f64,
    /// Smallest round-trip time, ns.
    pub rtt_min_ns: Option<u64>,
    /// Mean round-trip time, ns.
    pub rtt_avg_ns: Option<u64>,
    /// Largest round-trip time, ns.
    pub rtt_max_ns: Option<u64>,
    /// Each reply's round-trip time, ns, in order.
    pub rtts_ns: Vec<u64>,
    /// The last error message, if any.
    pub error: Option<String>,
}

impl Ping {
    /// A ping that will send from its start time on.
    pub fn new(
        dst: Ipv4Addr,
        count: Option<u32>,
        interval: SimDuration,
        size: usize,
        stop: Option<SimTime>,
        ident: u16,
        timer: TimerId,
    ) -> Self {
        Self {
            dst,
            count,
            interval,
            size,
            stop,
            ident,
            timer,
            sent: BTreeMap::new(),
            next_seq: 1,
            transmitted: 0,
            received: 0,
            errors: 0,
            rtts: Vec::new(),
            last_error: None,
        }
    }

    /// The statistics so far.
    pub fn report(&self) -> PingReport {
        let n = self.rtts.len() as u64;
        let sum: u64 = self.rtts.iter().map(|d| d.as_nanos()).sum();
        PingReport {
            dst: self.dst,
            transmitted: self.transmitted,
            received: self.received,
            errors: self.errors,
            loss_percent: if self.transmitted == 0 {
                0.0
            } else {
                100.0 * f64::from(self.transmitted - self.received) / f64::from(self.transmitted)
            },
            rtt_min_ns: self.rtts.iter().map(|d| d.as_nanos()).min(),
            rtt_avg_ns: (n > 0).then(|| sum / n),
            rtt_max_ns: self.rtts.iter().map(|d| d.as_nanos()).max(),
            rtts_ns: self.rtts.iter().map(|d| d.as_nanos()).collect(),
            error: self.last_error.clone(),
        }
    }
}

impl World {
    /// The ping's timer: send the next request and re-arm.
    pub(crate) fn ping_tick(&mut self, s: &mut Scheduler<Event>, app: usize) {
        let now = s.now();
        let node = self.apps[app].node;
        let AppKind::Ping(p) = &mut self.apps[app].kind else {
            return;
        };
        if p.stop.is_some_and(|t| now >= t) || p.count.is_some_and(|c| p.transmitted >= c) {
            return;
        }
        let seq = p.next_seq;
        p.next_seq = p.next_seq.wrapping_add(1);
        p.transmitted += 1;
        p.sent.insert(seq, now);
        let (dst, ident, size) = (p.dst, p.ident, p.size);
        let more = p.count.is_none_or(|c| p.transmitted < c);
        if more {
            let next = now + p.interval;
            s.arm(&p.timer, next, Event::App { app: app as u32 });
        }
        let data: Vec<u8> = (0..size).map(|i| (0x10 + i) as u8).collect();
        let req = Icmpv4Repr::EchoRequest {
            ident,
            seq_no: seq,
            data: &data,
        };
        let mut skb = self.pool.alloc(req.buffer_len());
        req.emit(&mut Icmpv4Packet::new_unchecked(skb.put(req.buffer_len())));
        for f in ["sendto", "raw_sendmsg", "ip_route_output_flow"] {
            note!(self, skb, f);
        }
        let route = match self.ip_route_output_flow(node, dst) {
            Ok(r) => r,
            Err(e) => {
                let AppKind::Ping(p) = &mut self.apps[app].kind else {
                    return;
                };
                p.errors += 1;
                p.last_error = Some(format!("sendto: {e}"));
                self.pool.free(skb);
                return;
            }
        };
        note!(self, skb, "ip_make_skb");
        let n = &mut self.nodes[node];
        n.snmp.icmp.OutMsgs += 1;
        n.snmp.icmp.OutEchos += 1;
        let fits = skb.len() + 20 <= route.mtu as usize;
        let send = IpSend {
            src: route.src,
            dst,
            protocol: IpProtocol::Icmp,
            ttl: n.default_ttl,
            tos: 0,
            dont_frag: fits,
            // A ping socket is in PMTU "want" mode and sets ignore_df, so the ID comes from
            // the hashed per-destination generator, as for UDP.
            ident: IdentMode::Hashed,
        };
        self.ip_send_skb(s, node, skb, send, route);
    }

    /// An echo reply reached `node`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn ping_reply(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        from: Ipv4Addr,
        ident: u16,
        seq: u16,
        len: usize,
        ttl: u8,
    ) {
        let now = s.now();
        let Some(app) = self.ping_app(node, ident) else {
            return;
        };
        let AppKind::Ping(p) = &mut self.apps[app].kind else {
            return;
        };
        let Some(sent) = p.sent.remove(&seq) else {
            return;
        };
        if from != p.dst {
            return;
        }
        let rtt = now - sent;
        p.received += 1;
        p.rtts.push(rtt);
        if self.trace.frames() {
            let name = self.nodes[node].name.clone();
            self.trace.event(
                now,
                &name,
                format_args!(
                    "ping {} bytes from {from}: icmp_seq={seq} ttl={ttl} time={}.{:03} ms",
                    len + 8,
                    rtt.as_nanos() / 1_000_000,
                    rtt.as_nanos() / 1_000 % 1_000
                ),
            );
        }
    }

    fn ping_app(&self, node: usize, ident: u16) -> Option<usize> {
        self.apps
            .iter()
            .position(|a| a.node == node && matches!(&a.kind, AppKind::Ping(p) if p.ident == ident))
    }

    /// An ICMP error about a datagram this node sent (`quoted`: its IP header and start).
    pub(crate) fn icmp_err(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        from: Ipv4Addr,
        ty: Icmpv4Message,
        code: u8,
        quoted: &[u8],
    ) {
        let now = s.now();
        let Ok(q) = crate::wire::icmp::parse_quoted(quoted) else {
            return;
        };
        if q.header.protocol == IpProtocol::Udp && q.transport.len() >= 4 {
            // __udp4_lib_err: hand the error to the socket that sent the datagram.
            let sport = u16::from_be_bytes([q.transport[0], q.transport[1]]);
            let dport = u16::from_be_bytes([q.transport[2], q.transport[3]]);
            let err = match (ty, DstUnreachable::from(code)) {
                (Icmpv4Message::DstUnreachable, DstUnreachable::PortUnreachable) => {
                    crate::sock::Errno::ConnRefused
                }
                (Icmpv4Message::DstUnreachable, DstUnreachable::NetUnreachable) => {
                    crate::sock::Errno::NetUnreach
                }
                (Icmpv4Message::DstUnreachable, DstUnreachable::FragRequired) => {
                    crate::sock::Errno::MsgSize
                }
                (Icmpv4Message::DstUnreachable, _) => crate::sock::Errno::HostUnreach,
                _ => return, // time exceeded is only reported with IP_RECVERR
            };
            self.udp_err(node, sport, q.header.dst_addr, dport, err);
            return;
        }
        if q.header.protocol != IpProtocol::Icmp || q.transport.len() < 8 || q.transport[0] != 8 {
            return; // TCP treats ICMP errors as soft errors: its timers recover
        }
        let ident = u16::from_be_bytes([q.transport[4], q.transport[5]]);
        let seq = u16::from_be_bytes([q.transport[6], q.transport[7]]);
        let Some(app) = self.ping_app(node, ident) else {
            return;
        };
        let what = match (ty, code) {
            (Icmpv4Message::DstUnreachable, c) => match DstUnreachable::from(c) {
                DstUnreachable::NetUnreachable => "Destination Net Unreachable",
                DstUnreachable::HostUnreachable => "Destination Host Unreachable",
                DstUnreachable::PortUnreachable => "Destination Port Unreachable",
                DstUnreachable::FragRequired => "Frag needed",
                _ => "Destination Unreachable",
            },
            (Icmpv4Message::TimeExceeded, 0) => "Time to live exceeded",
            (Icmpv4Message::TimeExceeded, _) => "Fragment reassembly time exceeded",
            _ => "ICMP error",
        };
        let AppKind::Ping(p) = &mut self.apps[app].kind else {
            return;
        };
        p.errors += 1;
        p.sent.remove(&seq);
        p.last_error = Some(format!("From {from} icmp_seq={seq} {what}"));
        if self.trace.frames() {
            let name = self.nodes[node].name.clone();
            self.trace.event(
                now,
                &name,
                format_args!("ping From {from} icmp_seq={seq} {what}"),
            );
        }
    }

    /// A packet dropped by a FAILED neighbour entry (`arp_error_report` → `icmp_send` host
    /// unreachable): a local sender is told directly, a forwarded packet's sender by ICMP.
    pub(crate) fn neigh_failed_packet(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        dev: usize,
        skb: crate::skb::Skb,
    ) {
        let now = s.now();
        self.nodes[node].neigh_stats.unresolved_discards += 1;
        let src = crate::wire::Ipv4Packet::new_checked(skb.data()).map(|p| p.src_addr());
        if let Ok(src) = src {
            if self.nodes[node].is_local_addr(src) {
                let me = self.nodes[node].dev_addr(dev);
                let quoted = crate::wire::icmp::linux_quote(skb.data()).to_vec();
                self.icmp_err(
                    s,
                    node,
                    me,
                    Icmpv4Message::DstUnreachable,
                    DstUnreachable::HostUnreachable.into(),
                    &quoted,
                );
            } else {
                self.icmp_send(
                    s,
                    node,
                    &skb,
                    Icmpv4Repr::DstUnreachable {
                        reason: DstUnreachable::HostUnreachable,
                        next_hop_mtu: 0,
                        data: &[],
                    },
                );
            }
        }
        self.drop_skb(now, node, dev, "neigh_failed", skb);
    }
}
