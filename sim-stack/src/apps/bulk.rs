//! `tcp_bulk` / `tcp_sink`: an iperf-like TCP transfer. The sender connects and writes
//! 64 KiB chunks whenever the socket is writable, until `bytes` are written (then it closes)
//! or, unlimited, until the app stops; the sink accepts every connection and reads
//! everything. Goodput is payload bytes delivered in order per second, from the first to the
//! last byte.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use serde::Serialize;
use sim_core::SimTime;

use crate::apps::{App, AppCtx, AppReport};
use crate::config::CongestionControl;
use crate::node::Node;
use crate::sock::syscall::{SockOpt, SockType};
use crate::sock::{Errno, MsgFlags, SockId};

/// Bytes per `send()`.
const CHUNK: usize = 64 * 1024;

/// What the sender writes: zeros, from the zero page rather than a fresh buffer per wake
/// (the send queue then knows them for zeros without comparing them).
static ZEROS: &[u8; CHUNK] = &crate::tcp::byteq::ZERO_PAGE;

/// A bulk sender.
#[derive(Debug)]
pub struct TcpBulk {
    /// Destination (IPv6: from an `AF_INET6` socket).
    pub dst: IpAddr,
    /// Port.
    pub port: u16,
    /// Bytes to send (`None` = unlimited).
    pub limit: Option<u64>,
    /// When to stop.
    pub stop: Option<SimTime>,
    /// `TCP_CONGESTION` to set before connecting.
    pub congestion: Option<CongestionControl>,
    sock: Option<SockId>,
    written: u64,
    closed: bool,
    started: SimTime,
    /// The report.
    pub report: TcpBulkReport,
}

/// What the sender achieved.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TcpBulkReport {
    /// Destination.
    pub dst: String,
    /// Bytes written into the socket.
    pub bytes_written: u64,
    /// Bytes the peer acknowledged.
    pub bytes_acked: u64,
    /// Segments retransmitted.
    pub retransmits: u64,
    /// Goodput (acknowledged bytes per second from connect to the last ACK or the end).
    pub goodput_bps: f64,
    /// The connection's final state.
    pub state: String,
    /// An error, if the connection failed.
    pub error: Option<String>,
}

impl TcpBulk {
    /// A sender that has not started.
    pub fn new(dst: IpAddr, port: u16, limit: Option<u64>, stop: Option<SimTime>) -> Self {
        Self {
            dst,
            port,
            limit,
            stop,
            congestion: None,
            sock: None,
            written: 0,
            closed: false,
            started: SimTime::ZERO,
            report: TcpBulkReport {
                dst: SocketAddr::new(dst, port).to_string(),
                ..TcpBulkReport::default()
            },
        }
    }

    /// The same sender, with `TCP_CONGESTION` set to `cc` before it connects.
    pub fn with_congestion(mut self, cc: Option<CongestionControl>) -> Self {
        self.congestion = cc;
        self
    }
}

/// A sink.
#[derive(Debug)]
pub struct TcpSink {
    /// Port.
    pub port: u16,
    /// `TCP_CONGESTION` of the listeners (accepted connections inherit it).
    pub congestion: Option<CongestionControl>,
    listener: Option<SockId>,
    listener6: Option<SockId>,
    conns: Vec<SockId>,
    first: Option<SimTime>,
    last: Option<SimTime>,
    /// The report.
    pub report: TcpSinkReport,
}

/// What the sink received.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TcpSinkReport {
    /// Connections accepted.
    pub connections: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Goodput from the first to the last byte read, bits per second.
    pub goodput_bps: f64,
}

impl TcpSink {
    /// A sink that has not started.
    pub fn new(port: u16) -> Self {
        Self {
            port,
            congestion: None,
            listener: None,
            listener6: None,
            conns: Vec::new(),
            first: None,
            last: None,
            report: TcpSinkReport::default(),
        }
    }

    /// The same sink, its listeners with `TCP_CONGESTION` set to `cc`.
    pub fn with_congestion(mut self, cc: Option<CongestionControl>) -> Self {
        self.congestion = cc;
        self
    }
}

/// The token of the bulk sender's stop.
const STOP: u32 = 0;

impl TcpBulk {
    /// Stop time reached (or all written): close.
    fn close(&mut self, cx: &mut AppCtx<'_>) {
        if let Some(sock) = self.sock
            && !self.closed
        {
            self.closed = true;
            let _ = cx.close(sock);
        }
    }
}

impl App for TcpBulk {
    /// Connect, and schedule the stop.
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        self.started = cx.now();
        let opened = match self.dst {
            IpAddr::V4(_) => cx.socket_nonblock(SockType::Stream, 0),
            IpAddr::V6(_) => {
                cx.socket_domain_nonblock(crate::sock::syscall::Domain::Inet6, SockType::Stream, 0)
            }
        };
        let sock = match opened {
            Ok(s) => s,
            Err(e) => {
                self.report.error = Some(format!("socket: {e}"));
                return;
            }
        };
        self.sock = Some(sock);
        if let Some(cc) = self.congestion
            && let Err(e) = cx.setsockopt(sock, SockOpt::Congestion(cc.name().to_string()))
        {
            self.report.error = Some(format!("setsockopt(TCP_CONGESTION): {e}"));
            return;
        }
        match cx.connect(sock, SocketAddr::new(self.dst, self.port)) {
            Ok(()) | Err(Errno::InProgress) => {}
            Err(e) => self.report.error = Some(format!("connect: {e}")),
        }
        if let Some(stop) = self.stop {
            cx.schedule(stop, STOP);
        }
    }

    fn timer(&mut self, cx: &mut AppCtx<'_>, _token: u32) {
        self.close(cx);
    }

    /// The socket woke: write while writable.
    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        loop {
            if self.closed {
                return;
            }
            let want = match self.limit {
                Some(l) => (l - self.written).min(CHUNK as u64) as usize,
                None => CHUNK,
            };
            if want == 0 {
                self.closed = true;
                let _ = cx.close(sock);
                return;
            }
            match cx.send(sock, &ZEROS[..want], MsgFlags::NONE) {
                Ok(n) => {
                    self.written += n as u64;
                    self.report.bytes_written = self.written;
                }
                Err(Errno::Again) => return,
                Err(e) => {
                    if self.report.error.is_none() {
                        self.report.error = Some(e.to_string());
                    }
                    return;
                }
            }
        }
    }

    fn stops_itself(&self) -> bool {
        true
    }

    fn report(&self, n: &Node, now: SimTime) -> AppReport {
        let mut r = self.report.clone();
        let mut end = now;
        if let Some(sock) = self.sock {
            let conn = n
                .socks
                .get(sock)
                .and_then(|s| match s {
                    crate::sock::Socket::Tcp(t) => Some(t.report()),
                    _ => None,
                })
                .or_else(|| n.tcp_closed.iter().find(|c| c.remote == r.dst).cloned());
            if let Some(c) = conn {
                r.bytes_acked = c.stats.bytes_acked;
                r.retransmits = c.stats.retrans;
                r.state = c.state.to_string();
                // A finished transfer's goodput runs to its last acknowledged byte, not to
                // the end of the run.
                if self.limit.is_some_and(|want| r.bytes_acked >= want)
                    && let Some(at) = c.last_acked_at
                {
                    end = at;
                }
            }
        }
        let secs = (end - self.started).as_nanos() as f64 / 1e9;
        if secs > 0.0 {
            r.goodput_bps = r.bytes_acked as f64 * 8.0 / secs;
        }
        AppReport::TcpBulk(Box::new(r))
    }
}

impl App for TcpSink {
    /// Listen.
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        let Ok(sock) = cx.socket_nonblock(SockType::Stream, 0) else {
            return;
        };
        let addr = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, self.port);
        if cx.bind(sock, addr).is_ok() && cx.listen(sock, 4096).is_ok() {
            self.listener = Some(sock);
        }
        self.listener6 = cx.listen6(self.port, 4096);
        if let Some(cc) = self.congestion {
            for l in [self.listener, self.listener6].into_iter().flatten() {
                // Every name here is in tcp_available_congestion_control: it cannot fail.
                let _ = cx.setsockopt(l, SockOpt::Congestion(cc.name().to_string()));
            }
        }
    }

    /// Accept and read.
    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        let now = cx.now();
        if self.listener == Some(sock) || self.listener6 == Some(sock) {
            while let Ok((c, _)) = cx.accept(sock) {
                self.conns.push(c);
                self.report.connections += 1;
                self.wake(cx, c);
            }
            return;
        }
        loop {
            // recv(MSG_TRUNC), as `iperf -s` would if it could: the sink only counts.
            match cx.recv_discard(sock, 1 << 20).map(|m| m.len) {
                Ok(0) => {
                    let _ = cx.close(sock);
                    return;
                }
                Ok(len) => {
                    self.first.get_or_insert(now);
                    self.last = Some(now);
                    self.report.bytes += len as u64;
                }
                Err(_) => return,
            }
        }
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        let mut r = self.report.clone();
        if let (Some(a), Some(b)) = (self.first, self.last)
            && b > a
        {
            r.goodput_bps = r.bytes as f64 * 8.0 / ((b - a).as_nanos() as f64 / 1e9);
        }
        AppReport::TcpSink(r)
    }
}
