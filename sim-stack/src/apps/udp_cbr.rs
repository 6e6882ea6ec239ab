//! `udp_cbr` / `udp_sink`: constant-bit-rate UDP, like `iperf -u`. The sender's datagrams
//! carry a 64-bit sequence number in their first 8 bytes (the rest is zeros), sent at a fixed
//! interval from a connected socket (iperf's way), or with `connect off` by a `sendto()` each
//! from an unconnected one; `recverr on` sets `IP_RECVERR`, `tos` `IP_TOS` and `priority`
//! `SO_PRIORITY`. A send the socket refuses is
//! counted and skipped: `EAGAIN` (a full send buffer), `ENOBUFS` (the qdisc dropped it: only
//! with `IP_RECVERR`), or another error (`ECONNREFUSED` after a port unreachable). The sink counts what arrives, and from the sequence
//! numbers what was lost; it reads each datagram's first 8 bytes with `recv(MSG_TRUNC)`,
//! which returns the whole length, as a counting receiver does.
//!
//! An IPv6 destination is sent to from an `AF_INET6` socket. When its node has IPv6 on, the
//! sink binds an `AF_INET6` socket to `[::]:port`, which (`IPV6_V6ONLY` off, the default)
//! takes the datagrams of both families, as `iperf -u -s -V` does; else an `AF_INET` one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use serde::Serialize;
use sim_core::{SimDuration, SimTime, TimerId};

use crate::apps::{App, AppCtx, AppReport};
use crate::config::UdpCbrOptions;
use crate::node::Node;
use crate::sock::syscall::{Domain, SockOpt, SockType};
use crate::sock::{Errno, MsgFlags, SockId};

/// A CBR sender.
#[derive(Debug)]
pub struct UdpCbr {
    /// Destination.
    pub dst: IpAddr,
    /// Port.
    pub port: u16,
    /// Payload bytes per datagram.
    pub payload: usize,
    /// Between datagrams.
    pub interval: SimDuration,
    /// When to stop.
    pub stop: Option<SimTime>,
    /// The app's timer.
    pub timer: TimerId,
    /// `connect`, `recverr`.
    pub options: UdpCbrOptions,
    sock: Option<SockId>,
    seq: u64,
    /// The report.
    pub report: UdpCbrReport,
}

/// What the sender did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UdpCbrReport {
    /// Destination.
    pub dst: String,
    /// Datagrams handed to the socket successfully.
    pub sent: u64,
    /// Sends refused with EAGAIN (send buffer full).
    pub eagain: u64,
    /// Sends refused with ENOBUFS: the qdisc dropped the datagram (reported with
    /// `IP_RECVERR` only; without it such a send counts as sent).
    pub enobufs: u64,
    /// Sends that failed otherwise (ECONNREFUSED after a port unreachable, …).
    pub errors: u64,
    /// Payload bytes sent.
    pub bytes: u64,
}

impl UdpCbr {
    /// A sender that has not started.
    pub fn new(
        dst: impl Into<IpAddr>,
        port: u16,
        payload: usize,
        interval: SimDuration,
        stop: Option<SimTime>,
        timer: TimerId,
        options: UdpCbrOptions,
    ) -> Self {
        let dst = dst.into();
        Self {
            dst,
            port,
            payload,
            interval,
            stop,
            timer,
            options,
            sock: None,
            seq: 0,
            report: UdpCbrReport {
                dst: SocketAddr::new(dst, port).to_string(),
                ..UdpCbrReport::default()
            },
        }
    }
}

/// A sink.
#[derive(Debug)]
pub struct UdpSink {
    /// Port.
    pub port: u16,
    sock: Option<SockId>,
    max_seq: Option<u64>,
    /// The report.
    pub report: UdpSinkReport,
}

/// What the sink received.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UdpSinkReport {
    /// Datagrams received.
    pub received: u64,
    /// Payload bytes received.
    pub bytes: u64,
    /// Datagrams missing below the highest sequence number seen.
    pub lost: u64,
    /// Datagrams that arrived after a later one.
    pub out_of_order: u64,
}

impl UdpSink {
    /// A sink that has not started.
    pub fn new(port: u16) -> Self {
        Self {
            port,
            sock: None,
            max_seq: None,
            report: UdpSinkReport::default(),
        }
    }
}

impl App for UdpCbr {
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        self.timer(cx, 0);
    }

    /// Open the socket the first time, then send one datagram.
    fn timer(&mut self, cx: &mut AppCtx<'_>, _token: u32) {
        let now = cx.now();
        if self.stop.is_some_and(|t| now >= t) {
            return;
        }
        let to = SocketAddr::new(self.dst, self.port);
        let sock = match self.sock {
            Some(x) => x,
            None => {
                let opened = match self.dst {
                    IpAddr::V4(_) => cx.socket_nonblock(SockType::Dgram, 0),
                    IpAddr::V6(_) => cx.socket_domain_nonblock(Domain::Inet6, SockType::Dgram, 0),
                };
                let Ok(sock) = opened else {
                    self.report.errors += 1;
                    return;
                };
                let mut set = if self.options.recverr {
                    let opt = match self.dst {
                        IpAddr::V4(_) => SockOpt::RecvErr(true),
                        IpAddr::V6(_) => SockOpt::RecvErr6(true),
                    };
                    cx.setsockopt(sock, opt)
                } else {
                    Ok(())
                };
                if let (Some(tos), IpAddr::V4(_)) = (self.options.tos, self.dst) {
                    set = set.and(cx.setsockopt(sock, SockOpt::Tos(tos)));
                }
                if let Some(p) = self.options.priority {
                    set = set.and(cx.setsockopt(sock, SockOpt::Priority(p)));
                }
                if set.is_err() || (self.options.connect && cx.connect(sock, to).is_err()) {
                    self.report.errors += 1;
                    return;
                }
                self.sock = Some(sock);
                sock
            }
        };
        // The datagram: the sequence number (as much of it as fits), then zeros.
        let seq = self.seq.to_be_bytes();
        let k = self.payload.min(seq.len());
        let zeros = self.payload - k;
        cx.arm(&self.timer, now + self.interval, 0);
        let dest = (!self.options.connect).then_some(to);
        let sent = match dest {
            Some(SocketAddr::V4(a)) => cx.sendto_zeros(sock, &seq[..k], zeros, Some(a)),
            Some(a) => cx.sendto_zeros_addr(sock, &seq[..k], zeros, Some(a)),
            None => cx.sendto_zeros(sock, &seq[..k], zeros, None),
        };
        match sent {
            Ok(n) => {
                self.seq += 1;
                self.report.sent += 1;
                self.report.bytes += n as u64;
            }
            Err(Errno::Again) => self.report.eagain += 1,
            Err(Errno::NoBufs) => self.report.enobufs += 1,
            Err(_) => self.report.errors += 1,
        }
    }

    fn stops_itself(&self) -> bool {
        true
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::UdpCbr(self.report.clone())
    }
}

impl App for UdpSink {
    /// Bind.
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        let v6 = cx.has_ipv6();
        let opened = if v6 {
            cx.socket_domain_nonblock(Domain::Inet6, SockType::Dgram, 0)
        } else {
            cx.socket_nonblock(SockType::Dgram, 0)
        };
        let Ok(sock) = opened else {
            return;
        };
        let at: SocketAddr = if v6 {
            SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, self.port, 0, 0).into()
        } else {
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, self.port).into()
        };
        if cx.bind(sock, at).is_ok() {
            self.sock = Some(sock);
        }
    }

    /// Datagrams arrived.
    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        // recv(fd, seq, 8, MSG_TRUNC): the sequence number is all the sink looks at, and
        // MSG_TRUNC makes recv return the datagram's whole length.
        let mut buf = [0u8; 8];
        while let Ok(d) = cx.recv(sock, &mut buf, MsgFlags::TRUNC) {
            self.report.received += 1;
            self.report.bytes += d.len as u64;
            if d.len >= 8 {
                let seq = u64::from_be_bytes(buf);
                match self.max_seq {
                    Some(m) if seq < m => {
                        self.report.out_of_order += 1;
                        self.report.lost = self.report.lost.saturating_sub(1);
                    }
                    // A copy of the newest datagram (netem `duplicate`): neither lost nor
                    // out of order.
                    Some(m) if seq == m => {}
                    Some(m) => {
                        self.report.lost += seq - m - 1;
                        self.max_seq = Some(seq);
                    }
                    None => {
                        self.report.lost += seq;
                        self.max_seq = Some(seq);
                    }
                }
            }
        }
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::UdpSink(self.report.clone())
    }
}
