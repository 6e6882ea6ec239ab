//! `tcp_bulk` / `tcp_sink`: an iperf-like TCP transfer. The sender connects and writes
//! 64 KiB chunks whenever the socket is writable, until `bytes` are written (then it closes)
//! or, unlimited, until the app stops; the sink accepts every connection and reads
//! everything. Goodput is payload bytes delivered in order per second, from the first to the
//! last byte.

use std::net::Ipv4Addr;

use serde::Serialize;
use sim_core::{Scheduler, SimTime};

use crate::sock::{Errno, SockId};
use crate::world::{Event, World};

/// Bytes per `send()`.
const CHUNK: usize = 64 * 1024;

/// What the sender writes: zeros, from the zero page rather than a fresh buffer per wake
/// (the send queue then knows them for zeros without comparing them).
static ZEROS: &[u8; CHUNK] = &crate::tcp::byteq::ZERO_PAGE;

/// A bulk sender.
#[derive(Debug)]
pub struct TcpBulk {
    /// Destination.
    pub dst: Ipv4Addr,
    /// Port.
    pub port: u16,
    /// Bytes to send (`None` = unlimited).
    pub limit: Option<u64>,
    /// When to stop.
    pub stop: Option<SimTime>,
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
    pub fn new(dst: Ipv4Addr, port: u16, limit: Option<u64>, stop: Option<SimTime>) -> Self {
        Self {
            dst,
            port,
            limit,
            stop,
            sock: None,
            written: 0,
            closed: false,
            started: SimTime::ZERO,
            report: TcpBulkReport {
                dst: format!("{dst}:{port}"),
                ..TcpBulkReport::default()
            },
        }
    }
}

/// A sink.
#[derive(Debug)]
pub struct TcpSink {
    /// Port.
    pub port: u16,
    listener: Option<SockId>,
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
            listener: None,
            conns: Vec::new(),
            first: None,
            last: None,
            report: TcpSinkReport::default(),
        }
    }
}

impl World {
    /// The sender's timer: start (connect), or stop.
    pub(crate) fn tcp_bulk_timer(&mut self, s: &mut Scheduler<Event>, node: usize, app: usize) {
        let now = s.now();
        let super::AppKind::TcpBulk(b) = &mut self.apps[app].kind else {
            return;
        };
        if b.sock.is_none() {
            b.started = now;
            let (dst, port, stop) = (b.dst, b.port, b.stop);
            let sock = self.tcp_socket(s, node, Some(app as u32));
            if let super::AppKind::TcpBulk(b) = &mut self.apps[app].kind {
                b.sock = Some(sock);
            }
            if let Err(e) = self.tcp_connect(s, node, sock, dst, port)
                && let super::AppKind::TcpBulk(b) = &mut self.apps[app].kind
            {
                b.report.error = Some(format!("connect: {e}"));
            }
            if let Some(stop) = stop {
                s.schedule_at(
                    stop,
                    Event::AppStep {
                        app: app as u32,
                        sock,
                    },
                );
            }
        }
    }

    /// Stop time reached: close.
    pub(crate) fn tcp_bulk_stop(&mut self, s: &mut Scheduler<Event>, node: usize, app: usize) {
        let super::AppKind::TcpBulk(b) = &mut self.apps[app].kind else {
            return;
        };
        if let Some(sock) = b.sock
            && !b.closed
        {
            b.closed = true;
            self.tcp_close(s, node, sock);
        }
    }

    /// The sender's socket woke: write while writable.
    pub(crate) fn tcp_bulk_wake(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        app: usize,
        sock: SockId,
    ) {
        loop {
            let super::AppKind::TcpBulk(b) = &mut self.apps[app].kind else {
                return;
            };
            if b.closed {
                return;
            }
            let want = match b.limit {
                Some(l) => (l - b.written).min(CHUNK as u64) as usize,
                None => CHUNK,
            };
            if want == 0 {
                b.closed = true;
                self.tcp_close(s, node, sock);
                return;
            }
            match self.tcp_sendmsg(s, node, sock, &ZEROS[..want]) {
                Ok(n) => {
                    if let super::AppKind::TcpBulk(b) = &mut self.apps[app].kind {
                        b.written += n as u64;
                        b.report.bytes_written = b.written;
                    }
                }
                Err(Errno::Again) => return,
                Err(e) => {
                    if let super::AppKind::TcpBulk(b) = &mut self.apps[app].kind
                        && b.report.error.is_none()
                    {
                        b.report.error = Some(e.to_string());
                    }
                    return;
                }
            }
        }
    }

    /// Start the sink: listen.
    pub(crate) fn tcp_sink_start(&mut self, s: &mut Scheduler<Event>, node: usize, app: usize) {
        let super::AppKind::TcpSink(k) = &self.apps[app].kind else {
            return;
        };
        let port = k.port;
        let sock = self.tcp_socket(s, node, Some(app as u32));
        if self.tcp_listen(node, sock, port, 4096).is_ok()
            && let super::AppKind::TcpSink(k) = &mut self.apps[app].kind
        {
            k.listener = Some(sock);
        }
    }

    /// The sink's sockets woke: accept and read.
    pub(crate) fn tcp_sink_wake(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        app: usize,
        sock: SockId,
    ) {
        let now = s.now();
        let super::AppKind::TcpSink(k) = &self.apps[app].kind else {
            return;
        };
        if k.listener == Some(sock) {
            while let Ok(c) = self.tcp_accept(node, sock, Some(app as u32)) {
                if let super::AppKind::TcpSink(k) = &mut self.apps[app].kind {
                    k.conns.push(c);
                    k.report.connections += 1;
                }
                self.tcp_sink_wake(s, node, app, c);
            }
            return;
        }
        loop {
            // recv(MSG_TRUNC), as `iperf -s` would if it could: the sink only counts.
            match self.tcp_recvmsg_trunc(s, node, sock, 1 << 20) {
                Ok(0) => {
                    self.tcp_close(s, node, sock);
                    return;
                }
                Ok(len) => {
                    if let super::AppKind::TcpSink(k) = &mut self.apps[app].kind {
                        k.first.get_or_insert(now);
                        k.last = Some(now);
                        k.report.bytes += len as u64;
                    }
                }
                Err(_) => return,
            }
        }
    }

    /// Final figures of the bulk apps.
    pub(crate) fn bulk_reports(&self, app: &super::App, now: SimTime) -> Option<super::AppReport> {
        match &app.kind {
            super::AppKind::TcpBulk(b) => {
                let mut r = b.report.clone();
                let mut end = now;
                if let Some(sock) = b.sock {
                    let n = &self.nodes[app.node];
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
                        // A finished transfer's goodput runs to its last acknowledged byte,
                        // not to the end of the run.
                        if b.limit.is_some_and(|want| r.bytes_acked >= want)
                            && let Some(at) = c.last_acked_at
                        {
                            end = at;
                        }
                    }
                }
                let secs = (end - b.started).as_nanos() as f64 / 1e9;
                if secs > 0.0 {
                    r.goodput_bps = r.bytes_acked as f64 * 8.0 / secs;
                }
                Some(super::AppReport::TcpBulk(r))
            }
            super::AppKind::TcpSink(k) => {
                let mut r = k.report.clone();
                if let (Some(a), Some(b)) = (k.first, k.last)
                    && b > a
                {
                    r.goodput_bps = r.bytes as f64 * 8.0 / ((b - a).as_nanos() as f64 / 1e9);
                }
                Some(super::AppReport::TcpSink(r))
            }
            _ => None,
        }
    }
}
