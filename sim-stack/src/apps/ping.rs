//! `ping`: ICMP echo requests over a ping socket, as iputils ping sends them, with its closing
//! statistics (transmitted, received, loss, RTT min/avg/max).
//!
//! Each request carries `size` bytes of data (56 by default: 64 bytes of ICMP, 84 of IP), the
//! ident of the socket and a sequence number from 1. The IP header gets DF when the datagram
//! fits the route's MTU (PMTU discovery "want") and is fragmented otherwise (see
//! [`crate::sock::ping`]). Not modeled: the
//! timestamp iputils puts in the data (the data is the pattern 0x10, 0x11, …), adaptive or
//! flood modes, and TTL/TOS options.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddrV4};

use serde::Serialize;
use sim_core::{SimDuration, SimTime, TimerId};

use crate::apps::{App, AppCtx, AppReport};
use crate::node::Node;
use crate::sock::ping::{PingMsg, ping_recvmsg};
use crate::sock::syscall::{IPPROTO_ICMP, SockType};
use crate::sock::{MsgFlags, SockId};

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
    /// Its ping socket.
    sock: Option<SockId>,
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
            sock: None,
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

impl Ping {
    /// Sends the next request and re-arms the timer.
    fn tick(&mut self, cx: &mut AppCtx<'_>) {
        let now = cx.now();
        if self.stop.is_some_and(|t| now >= t) || self.count.is_some_and(|c| self.transmitted >= c)
        {
            return;
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.transmitted += 1;
        self.sent.insert(seq, now);
        if self.count.is_none_or(|c| self.transmitted < c) {
            cx.arm(&self.timer, now + self.interval, 0);
        }
        let Some(sock) = self.sock else {
            return;
        };
        // The echo request as ping hands it to its socket: type 8, code 0, the checksum and
        // ident filled by the kernel, the sequence number, then the data.
        let mut msg = vec![8, 0, 0, 0, 0, 0];
        msg.extend_from_slice(&seq.to_be_bytes());
        msg.extend((0..self.size).map(|i| (0x10 + i) as u8));
        let to = SocketAddrV4::new(self.dst, 0);
        if let Err(e) = cx.sendto(sock, &msg, to, MsgFlags::NONE) {
            self.errors += 1;
            self.last_error = Some(format!("sendto: {e}"));
        }
    }

    /// A reply or an error came back.
    fn receive(&mut self, cx: &mut AppCtx<'_>, msg: PingMsg) {
        let now = cx.now();
        match msg {
            PingMsg::Reply {
                from,
                seq,
                len,
                ttl,
            } => {
                let Some(sent) = self.sent.remove(&seq) else {
                    return;
                };
                if from != self.dst {
                    return;
                }
                let rtt = now - sent;
                self.received += 1;
                self.rtts.push(rtt);
                cx.trace(format_args!(
                    "ping {} bytes from {from}: icmp_seq={seq} ttl={ttl} time={}.{:03} ms",
                    len + 8,
                    rtt.as_nanos() / 1_000_000,
                    rtt.as_nanos() / 1_000 % 1_000
                ));
            }
            PingMsg::Error {
                from,
                seq,
                ty,
                code,
            } => {
                let what = PingMsg::error_text(ty, code);
                self.errors += 1;
                self.sent.remove(&seq);
                self.last_error = Some(format!("From {from} icmp_seq={seq} {what}"));
                cx.trace(format_args!("ping From {from} icmp_seq={seq} {what}"));
            }
        }
    }
}

impl App for Ping {
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        if let Ok(sock) = cx.socket_nonblock(SockType::Dgram, IPPROTO_ICMP) {
            let bound = cx.bind(sock, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, self.ident));
            self.sock = bound.is_ok().then_some(sock);
        }
        self.tick(cx);
    }

    fn timer(&mut self, cx: &mut AppCtx<'_>, _token: u32) {
        self.tick(cx);
    }

    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        while let Ok(msg) = ping_recvmsg(cx.n, sock) {
            self.receive(cx, msg);
        }
    }

    fn stops_itself(&self) -> bool {
        true
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::Ping(self.report())
    }
}
