//! `udp_cbr` / `udp_sink`: constant-bit-rate UDP, like `iperf -u`. The sender's datagrams
//! carry a 64-bit sequence number in their first 8 bytes (the rest is zeros), sent from a
//! connected socket at a fixed interval; a send the socket refuses (`EAGAIN`, a full send
//! buffer) is counted and skipped. The sink counts what arrives, and from the sequence
//! numbers what was lost; it reads each datagram's first 8 bytes with `recv(MSG_TRUNC)`,
//! which returns the whole length, as a counting receiver does.

use std::net::Ipv4Addr;

use serde::Serialize;
use sim_core::{Scheduler, SimDuration, SimTime, TimerId};

use crate::sock::SockId;
use crate::world::{Event, World};

/// A CBR sender.
#[derive(Debug)]
pub struct UdpCbr {
    /// Destination.
    pub dst: Ipv4Addr,
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
    /// Sends that failed otherwise (ECONNREFUSED after a port unreachable, …).
    pub errors: u64,
    /// Payload bytes sent.
    pub bytes: u64,
}

impl UdpCbr {
    /// A sender that has not started.
    pub fn new(
        dst: Ipv4Addr,
        port: u16,
        payload: usize,
        interval: SimDuration,
        stop: Option<SimTime>,
        timer: TimerId,
    ) -> Self {
        Self {
            dst,
            port,
            payload,
            interval,
            stop,
            timer,
            sock: None,
            seq: 0,
            report: UdpCbrReport {
                dst: format!("{dst}:{port}"),
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

impl World {
    /// The sender's timer: open the socket the first time, then send one datagram.
    pub(crate) fn udp_cbr_tick(&mut self, s: &mut Scheduler<Event>, node: usize, app: usize) {
        let now = s.now();
        let super::AppKind::UdpCbr(c) = &mut self.apps[app].kind else {
            return;
        };
        if c.stop.is_some_and(|t| now >= t) {
            return;
        }
        let sock = match c.sock {
            Some(x) => x,
            None => {
                let (dst, port) = (c.dst, c.port);
                let sock = self.udp_socket(node, Some(app as u32));
                if self.udp_connect(node, sock, dst, port).is_err() {
                    if let super::AppKind::UdpCbr(c) = &mut self.apps[app].kind {
                        c.report.errors += 1;
                    }
                    return;
                }
                if let super::AppKind::UdpCbr(c) = &mut self.apps[app].kind {
                    c.sock = Some(sock);
                }
                sock
            }
        };
        let super::AppKind::UdpCbr(c) = &mut self.apps[app].kind else {
            return;
        };
        // The datagram: the sequence number (as much of it as fits), then zeros.
        let seq = c.seq.to_be_bytes();
        let k = c.payload.min(seq.len());
        let zeros = c.payload - k;
        s.arm(&c.timer, now + c.interval, Event::App { app: app as u32 });
        let r = self.udp_sendmsg_zero_padded(s, node, sock, None, &seq[..k], zeros);
        let super::AppKind::UdpCbr(c) = &mut self.apps[app].kind else {
            return;
        };
        match r {
            Ok(n) => {
                c.seq += 1;
                c.report.sent += 1;
                c.report.bytes += n as u64;
            }
            Err(crate::sock::Errno::Again) => c.report.eagain += 1,
            Err(_) => c.report.errors += 1,
        }
    }

    /// Start the sink: bind.
    pub(crate) fn udp_sink_start(&mut self, node: usize, app: usize) {
        let super::AppKind::UdpSink(k) = &self.apps[app].kind else {
            return;
        };
        let port = k.port;
        let sock = self.udp_socket(node, Some(app as u32));
        if self.udp_bind(node, sock, port).is_ok()
            && let super::AppKind::UdpSink(k) = &mut self.apps[app].kind
        {
            k.sock = Some(sock);
        }
    }

    /// Datagrams arrived.
    pub(crate) fn udp_sink_wake(&mut self, node: usize, app: usize, sock: SockId) {
        // recv(fd, seq, 8, MSG_TRUNC): the sequence number is all the sink looks at, and
        // MSG_TRUNC makes recv return the datagram's whole length.
        let mut buf = [0u8; 8];
        while let Ok(d) = self.udp_recvmsg(node, sock, &mut buf) {
            let super::AppKind::UdpSink(k) = &mut self.apps[app].kind else {
                break;
            };
            k.report.received += 1;
            k.report.bytes += d.len as u64;
            if d.len >= 8 {
                let seq = u64::from_be_bytes(buf);
                match k.max_seq {
                    Some(m) if seq < m => {
                        k.report.out_of_order += 1;
                        k.report.lost = k.report.lost.saturating_sub(1);
                    }
                    Some(m) => {
                        k.report.lost += seq - m - 1;
                        k.max_seq = Some(seq);
                    }
                    None => {
                        k.report.lost += seq;
                        k.max_seq = Some(seq);
                    }
                }
            }
        }
    }
}
