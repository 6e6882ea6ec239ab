//! `curl URL`: resolve the host with a glibc-like stub resolver, connect, send exactly
//! curl 7.88.1's request, read the response until Content-Length is met or the server
//! closes, close, and report curl's `-w` timings.
//!
//! The resolver (glibc 2.36's `getaddrinfo` as curl's threaded resolver calls it): one UDP
//! socket `connect()`ed to the node's `resolver`, the A and AAAA queries sent in one
//! `sendmmsg()` from the same port with independent random IDs, RD set, no EDNS; it waits
//! for both answers; with no answer it resends after `timeout` (5 s), `attempts` times (2),
//! as resolv.conf's defaults say.

use std::net::Ipv4Addr;

use serde::Serialize;
use sim_core::{Scheduler, SimDuration, SimTime, TimerId};

use crate::sock::{Errno, SockId};
use crate::wire::{DnsName, DnsRepr, DnsType, RData};
use crate::world::{Event, World};

/// resolv.conf `timeout` default.
pub const RES_TIMEOUT: SimDuration = SimDuration::from_secs(5);
/// resolv.conf `attempts` default.
pub const RES_ATTEMPTS: u32 = 2;

/// Where curl is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NotStarted,
    Resolving,
    Connecting,
    Transfer,
    Done,
}

/// A running curl.
#[derive(Debug)]
pub struct Curl {
    /// The URL.
    pub url: String,
    /// Host part.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Path.
    pub path: String,
    /// The node's resolver.
    pub resolver: Option<Ipv4Addr>,
    /// Resolver timeout timer.
    pub timer: TimerId,
    phase: Phase,
    dns_sock: Option<SockId>,
    ids: [u16; 2],
    answered: [bool; 2],
    attempt: u32,
    addr: Option<Ipv4Addr>,
    tcp: Option<SockId>,
    start: SimTime,
    /// The response as it arrives, up to the end of its header (`\r\n\r\n`); the body is
    /// counted, not kept (curl writes it out as it comes), so a body of any size costs
    /// nothing here.
    head: Vec<u8>,
    header_len: Option<usize>,
    body_received: u64,
    content_length: Option<u64>,
    /// The report.
    pub report: CurlReport,
}

/// curl's `-w` figures, in seconds from the start, plus the outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CurlReport {
    /// The URL.
    pub url: String,
    /// The address the name resolved to.
    pub remote_ip: Option<Ipv4Addr>,
    /// `time_namelookup`.
    pub time_namelookup: Option<f64>,
    /// `time_connect`.
    pub time_connect: Option<f64>,
    /// `time_starttransfer`.
    pub time_starttransfer: Option<f64>,
    /// `time_total`.
    pub time_total: Option<f64>,
    /// HTTP status.
    pub http_code: Option<u16>,
    /// Body bytes (`size_download`).
    pub size_download: u64,
    /// Header bytes (`size_header`).
    pub size_header: u64,
    /// What went wrong, in curl's words.
    pub error: Option<String>,
}

impl Curl {
    /// The transfer is over (done or failed).
    pub fn finished(&self) -> bool {
        self.phase == Phase::Done
    }

    /// A curl that has not started.
    pub fn new(
        url: String,
        host: String,
        port: u16,
        path: String,
        resolver: Option<Ipv4Addr>,
        timer: TimerId,
    ) -> Self {
        Self {
            report: CurlReport {
                url: url.clone(),
                ..CurlReport::default()
            },
            url,
            host,
            port,
            path,
            resolver,
            timer,
            phase: Phase::NotStarted,
            dns_sock: None,
            ids: [0; 2],
            answered: [false; 2],
            attempt: 0,
            addr: None,
            tcp: None,
            start: SimTime::ZERO,
            head: Vec::new(),
            header_len: None,
            body_received: 0,
            content_length: None,
        }
    }

    /// The request, byte for byte as curl 7.88.1 sends it.
    pub fn request(&self) -> String {
        let host = if self.port == 80 {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        };
        format!(
            "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
            self.path
        )
    }
}

fn secs(d: SimDuration) -> f64 {
    d.as_nanos() as f64 / 1e9
}

impl World {
    fn curl(&mut self, app: usize) -> Option<&mut Curl> {
        match &mut self.apps[app].kind {
            super::AppKind::Curl(c) => Some(c),
            _ => None,
        }
    }

    /// The app's timer: start, or a resolver timeout.
    pub(crate) fn curl_timer(&mut self, s: &mut Scheduler<Event>, node: usize, app: usize) {
        let now = s.now();
        let Some(c) = self.curl(app) else { return };
        match c.phase {
            Phase::NotStarted => {
                c.start = now;
                if let Ok(ip) = c.host.parse::<Ipv4Addr>() {
                    c.addr = Some(ip);
                    c.report.remote_ip = Some(ip);
                    c.report.time_namelookup = Some(0.0);
                    self.curl_connect(s, node, app);
                } else {
                    c.phase = Phase::Resolving;
                    self.curl_resolve(s, node, app);
                }
            }
            Phase::Resolving => {
                if c.attempt >= RES_ATTEMPTS {
                    let host = c.host.clone();
                    self.curl_fail(s, node, app, format!("Could not resolve host: {host}"));
                } else {
                    self.curl_send_queries(s, node, app);
                }
            }
            _ => {}
        }
    }

    fn curl_resolve(&mut self, s: &mut Scheduler<Event>, node: usize, app: usize) {
        let Some(c) = self.curl(app) else { return };
        let Some(ns) = c.resolver else {
            let host = c.host.clone();
            self.curl_fail(s, node, app, format!("Could not resolve host: {host}"));
            return;
        };
        let sock = self.udp_socket(node, Some(app as u32));
        if let Err(e) = self.udp_connect(node, sock, ns, 53) {
            self.udp_close(node, sock);
            self.curl_fail(s, node, app, format!("resolver: {e}"));
            return;
        }
        if let Some(c) = self.curl(app) {
            c.dns_sock = Some(sock);
        }
        self.curl_send_queries(s, node, app);
    }

    /// One attempt: A and AAAA in one `sendmmsg`, new random IDs, then wait.
    fn curl_send_queries(&mut self, s: &mut Scheduler<Event>, node: usize, app: usize) {
        let id_a = self.nodes[node].rng.next_u32() as u16;
        let id_aaaa = self.nodes[node].rng.next_u32() as u16;
        let Some(c) = self.curl(app) else { return };
        let Some(sock) = c.dns_sock else { return };
        c.attempt += 1;
        c.ids = [id_a, id_aaaa];
        c.answered = [false; 2];
        let Ok(name) = DnsName::from_dotted(&c.host) else {
            let host = c.host.clone();
            self.curl_fail(s, node, app, format!("Could not resolve host: {host}"));
            return;
        };
        let mut msgs = Vec::new();
        for (id, ty) in [(id_a, DnsType::A), (id_aaaa, DnsType::Aaaa)] {
            let q = DnsRepr::query(id, name.clone(), ty);
            let mut buf = vec![0u8; q.buffer_len()];
            if q.emit(&mut buf).is_ok() {
                msgs.push(buf);
            }
        }
        let refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
        let _ = self.udp_sendmmsg(s, node, sock, &refs);
        let now = s.now();
        if let Some(c) = self.curl(app) {
            s.arm(&c.timer, now + RES_TIMEOUT, Event::App { app: app as u32 });
        }
    }

    /// A socket of curl's woke.
    pub(crate) fn curl_wake(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        app: usize,
        sock: SockId,
    ) {
        let Some(c) = self.curl(app) else { return };
        if c.dns_sock == Some(sock) && c.phase == Phase::Resolving {
            self.curl_dns_rx(s, node, app, sock);
        } else if c.tcp == Some(sock) {
            self.curl_tcp(s, node, app, sock);
        }
    }

    fn curl_dns_rx(&mut self, s: &mut Scheduler<Event>, node: usize, app: usize, sock: SockId) {
        let now = s.now();
        loop {
            let (_, dg) = match self.udp_recv_vec(node, sock) {
                Ok(d) => d,
                Err(Errno::Again) => break,
                Err(e) => {
                    self.curl_fail(s, node, app, format!("Could not resolve host ({e})"));
                    return;
                }
            };
            let Some(c) = self.curl(app) else { return };
            let Ok(r) = DnsRepr::parse(&dg) else {
                continue;
            };
            let Some(i) = c.ids.iter().position(|&id| id == r.id) else {
                continue;
            };
            c.answered[i] = true;
            if i == 0 {
                c.addr = r.answers.iter().find_map(|a| match a.data {
                    RData::A(ip) => Some(ip),
                    _ => None,
                });
            }
        }
        let Some(c) = self.curl(app) else { return };
        if c.answered == [true, true] {
            s.cancel(&c.timer);
            c.report.time_namelookup = Some(secs(now - c.start));
            c.report.remote_ip = c.addr;
            self.udp_close(node, sock);
            let Some(c) = self.curl(app) else { return };
            c.dns_sock = None;
            if c.addr.is_some() {
                self.curl_connect(s, node, app);
            } else {
                let host = c.host.clone();
                self.curl_fail(s, node, app, format!("Could not resolve host: {host}"));
            }
        }
    }

    fn curl_connect(&mut self, s: &mut Scheduler<Event>, node: usize, app: usize) {
        let Some(c) = self.curl(app) else { return };
        let (Some(addr), port) = (c.addr, c.port) else {
            return;
        };
        c.phase = Phase::Connecting;
        let sock = self.tcp_socket(s, node, Some(app as u32));
        if let Some(c) = self.curl(app) {
            c.tcp = Some(sock);
        }
        if let Err(e) = self.tcp_connect(s, node, sock, addr, port) {
            self.curl_fail(s, node, app, format!("Failed to connect: {e}"));
        }
    }

    fn curl_tcp(&mut self, s: &mut Scheduler<Event>, node: usize, app: usize, sock: SockId) {
        let now = s.now();
        let Some(c) = self.curl(app) else { return };
        if c.phase == Phase::Connecting {
            let (state, err) = match self.nodes[node].socks.tcp(sock) {
                Some(t) => (t.state, t.sk.err),
                None => return,
            };
            if let Some(e) = err {
                let port = self.curl(app).map_or(0, |c| c.port);
                let msg = match e {
                    Errno::ConnRefused => {
                        format!("Failed to connect to port {port}: Connection refused")
                    }
                    Errno::TimedOut => {
                        format!("Failed to connect to port {port}: Connection timed out")
                    }
                    other => format!("Failed to connect: {other}"),
                };
                self.curl_fail(s, node, app, msg);
                return;
            }
            if state != crate::tcp::TcpState::Established
                && state != crate::tcp::TcpState::CloseWait
            {
                return;
            }
            let Some(c) = self.curl(app) else { return };
            c.phase = Phase::Transfer;
            c.report.time_connect = Some(secs(now - c.start));
            let req = c.request();
            let _ = self.tcp_sendmsg(s, node, sock, req.as_bytes());
        }
        // Read what arrived.
        loop {
            match self.tcp_recvmsg(s, node, sock, 1 << 16) {
                Ok(data) if data.is_empty() => {
                    self.curl_finish(s, node, app, sock);
                    return;
                }
                Ok(data) => {
                    let Some(c) = self.curl(app) else { return };
                    if c.report.time_starttransfer.is_none() {
                        c.report.time_starttransfer = Some(secs(now - c.start));
                    }
                    if c.header_len.is_some() {
                        c.body_received += data.len() as u64;
                    } else {
                        // The end of the header may straddle two reads.
                        let from = c.head.len().saturating_sub(3);
                        c.head.extend_from_slice(&data);
                        if let Some(p) = find(&c.head[from..], b"\r\n\r\n").map(|p| from + p) {
                            c.header_len = Some(p + 4);
                            c.body_received = (c.head.len() - (p + 4)) as u64;
                            c.head.truncate(p + 4);
                            let head = String::from_utf8_lossy(&c.head[..p]).into_owned();
                            c.report.http_code = head
                                .lines()
                                .next()
                                .and_then(|l| l.split_whitespace().nth(1))
                                .and_then(|x| x.parse().ok());
                            c.content_length = head.lines().find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.trim()
                                    .eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse().ok())?
                            });
                        }
                    }
                    if let (Some(_), Some(cl)) = (c.header_len, c.content_length)
                        && c.body_received >= cl
                    {
                        self.curl_finish(s, node, app, sock);
                        return;
                    }
                }
                Err(Errno::Again) => return,
                Err(e) => {
                    self.curl_fail(s, node, app, format!("Recv failure: {e}"));
                    return;
                }
            }
        }
    }

    fn curl_finish(&mut self, s: &mut Scheduler<Event>, node: usize, app: usize, sock: SockId) {
        let now = s.now();
        let Some(c) = self.curl(app) else { return };
        if c.phase == Phase::Done {
            return;
        }
        c.phase = Phase::Done;
        c.report.size_header = c.header_len.unwrap_or(c.head.len()) as u64;
        c.report.size_download = c.body_received;
        c.report.time_total = Some(secs(now - c.start));
        c.tcp = None;
        self.tcp_close(s, node, sock);
    }

    fn curl_fail(&mut self, s: &mut Scheduler<Event>, node: usize, app: usize, msg: String) {
        let now = s.now();
        let Some(c) = self.curl(app) else { return };
        c.phase = Phase::Done;
        c.report.error = Some(msg);
        c.report.time_total = Some(secs(now - c.start));
        s.cancel(&c.timer);
        let (dns, tcp) = (c.dns_sock.take(), c.tcp.take());
        if let Some(d) = dns {
            self.udp_close(node, d);
        }
        if let Some(t) = tcp {
            self.tcp_close(s, node, t);
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
