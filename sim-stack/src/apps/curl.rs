//! `curl URL`: resolve the host with a glibc-like stub resolver, connect, send exactly
//! curl 7.88.1's request, read the response until Content-Length is met or the server
//! closes, close, and report curl's `-w` timings.
//!
//! The resolver (glibc 2.36's `getaddrinfo` as curl's threaded resolver calls it): one UDP
//! socket `connect()`ed to the node's `resolver`, the A and AAAA queries sent in one
//! `sendmmsg()` from the same port with independent random IDs, RD set, no EDNS; it waits
//! for both answers; with no answer it resends after `timeout` (5 s), `attempts` times (2),
//! as resolv.conf's defaults say. The socket is of the nameserver's family: to an IPv6
//! resolver (`nameserver 2001:db8:1::53`) both queries go over IPv6 from one `AF_INET6`
//! socket, and so share one flow label, as in the dual-stack reference's IPv6-resolver run.
//! curl then connects over IPv4 to the A answer (TCP over IPv6 is not modeled yet).

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use serde::Serialize;
use sim_core::{SimDuration, SimTime, TimerId};

use crate::apps::{App, AppCtx, AppReport};
use crate::node::Node;
use crate::sock::syscall::{Domain, PollEvents, SockType};
use crate::sock::{Errno, MsgFlags, SockId};
use crate::wire::{DnsName, DnsRepr, DnsType, RData};

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
    pub resolver: Option<IpAddr>,
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
    /// The buffer it reads into.
    buf: Vec<u8>,
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
        resolver: Option<IpAddr>,
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
            buf: vec![0; 1 << 16],
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

impl Curl {
    fn resolve(&mut self, cx: &mut AppCtx<'_>) {
        let Some(ns) = self.resolver else {
            let host = self.host.clone();
            self.fail(cx, format!("Could not resolve host: {host}"));
            return;
        };
        let opened = match ns {
            IpAddr::V4(_) => cx.socket_nonblock(SockType::Dgram, 0),
            IpAddr::V6(_) => cx.socket_domain_nonblock(Domain::Inet6, SockType::Dgram, 0),
        };
        let sock = match opened {
            Ok(s) => s,
            Err(e) => {
                self.fail(cx, format!("resolver: {e}"));
                return;
            }
        };
        if let Err(e) = cx.connect(sock, SocketAddr::new(ns, 53)) {
            let _ = cx.close(sock);
            self.fail(cx, format!("resolver: {e}"));
            return;
        }
        self.dns_sock = Some(sock);
        self.send_queries(cx);
    }

    /// One attempt: A and AAAA in one `sendmmsg`, new random IDs, then wait.
    fn send_queries(&mut self, cx: &mut AppCtx<'_>) {
        let id_a = cx.rng().next_u32() as u16;
        let id_aaaa = cx.rng().next_u32() as u16;
        let Some(sock) = self.dns_sock else { return };
        self.attempt += 1;
        self.ids = [id_a, id_aaaa];
        self.answered = [false; 2];
        let Ok(name) = DnsName::from_dotted(&self.host) else {
            let host = self.host.clone();
            self.fail(cx, format!("Could not resolve host: {host}"));
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
        let _ = cx.sendmmsg(sock, &refs);
        let at = cx.now() + RES_TIMEOUT;
        cx.arm(&self.timer, at, 0);
    }

    fn dns_rx(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        let now = cx.now();
        loop {
            let dg = match cx.recv(sock, &mut self.buf, MsgFlags::NONE) {
                Ok(m) => self.buf[..m.len].to_vec(),
                Err(Errno::Again) => break,
                Err(e) => {
                    self.fail(cx, format!("Could not resolve host ({e})"));
                    return;
                }
            };
            let Ok(r) = DnsRepr::parse(&dg) else {
                continue;
            };
            let Some(i) = self.ids.iter().position(|&id| id == r.id) else {
                continue;
            };
            self.answered[i] = true;
            if i == 0 {
                self.addr = r.answers.iter().find_map(|a| match a.data {
                    RData::A(ip) => Some(ip),
                    _ => None,
                });
            }
        }
        if self.answered == [true, true] {
            cx.cancel(&self.timer);
            self.report.time_namelookup = Some(secs(now - self.start));
            self.report.remote_ip = self.addr;
            let _ = cx.close(sock);
            self.dns_sock = None;
            if self.addr.is_some() {
                self.connect(cx);
            } else {
                let host = self.host.clone();
                self.fail(cx, format!("Could not resolve host: {host}"));
            }
        }
    }

    fn connect(&mut self, cx: &mut AppCtx<'_>) {
        let (Some(addr), port) = (self.addr, self.port) else {
            return;
        };
        self.phase = Phase::Connecting;
        let sock = match cx.socket_nonblock(SockType::Stream, 0) {
            Ok(s) => s,
            Err(e) => {
                self.fail(cx, format!("Failed to connect: {e}"));
                return;
            }
        };
        self.tcp = Some(sock);
        match cx.connect(sock, SocketAddrV4::new(addr, port)) {
            Ok(()) | Err(Errno::InProgress) => {}
            Err(e) => self.fail(cx, format!("Failed to connect: {e}")),
        }
    }

    fn on_tcp(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        let now = cx.now();
        if self.phase == Phase::Connecting {
            // The non-blocking connect finished: SO_ERROR says how; writable means done.
            if let Some(e) = cx.take_error(sock) {
                let port = self.port;
                let msg = match e {
                    Errno::ConnRefused => {
                        format!("Failed to connect to port {port}: Connection refused")
                    }
                    Errno::TimedOut => {
                        format!("Failed to connect to port {port}: Connection timed out")
                    }
                    other => format!("Failed to connect: {other}"),
                };
                self.fail(cx, msg);
                return;
            }
            if !cx.poll(sock).is_ok_and(|ev| ev.contains(PollEvents::OUT)) {
                return;
            }
            self.phase = Phase::Transfer;
            self.report.time_connect = Some(secs(now - self.start));
            let req = self.request();
            let _ = cx.send(sock, req.as_bytes(), MsgFlags::NONE);
        }
        // Read what arrived.
        loop {
            match cx.recv(sock, &mut self.buf, MsgFlags::NONE) {
                Ok(m) if m.len == 0 => {
                    self.finish(cx, sock);
                    return;
                }
                Ok(m) => {
                    let data = &self.buf[..m.len];
                    if self.report.time_starttransfer.is_none() {
                        self.report.time_starttransfer = Some(secs(now - self.start));
                    }
                    if self.header_len.is_some() {
                        self.body_received += data.len() as u64;
                    } else {
                        // The end of the header may straddle two reads.
                        let from = self.head.len().saturating_sub(3);
                        self.head.extend_from_slice(data);
                        if let Some(p) = find(&self.head[from..], b"\r\n\r\n").map(|p| from + p) {
                            self.header_len = Some(p + 4);
                            self.body_received = (self.head.len() - (p + 4)) as u64;
                            self.head.truncate(p + 4);
                            let head = String::from_utf8_lossy(&self.head[..p]).into_owned();
                            self.report.http_code = head
                                .lines()
                                .next()
                                .and_then(|l| l.split_whitespace().nth(1))
                                .and_then(|x| x.parse().ok());
                            self.content_length = head.lines().find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.trim()
                                    .eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse().ok())?
                            });
                        }
                    }
                    if let (Some(_), Some(cl)) = (self.header_len, self.content_length)
                        && self.body_received >= cl
                    {
                        self.finish(cx, sock);
                        return;
                    }
                }
                Err(Errno::Again) => return,
                Err(e) => {
                    self.fail(cx, format!("Recv failure: {e}"));
                    return;
                }
            }
        }
    }

    fn finish(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        let now = cx.now();
        if self.phase == Phase::Done {
            return;
        }
        self.phase = Phase::Done;
        self.report.size_header = self.header_len.unwrap_or(self.head.len()) as u64;
        self.report.size_download = self.body_received;
        self.report.time_total = Some(secs(now - self.start));
        self.tcp = None;
        let _ = cx.close(sock);
    }

    fn fail(&mut self, cx: &mut AppCtx<'_>, msg: String) {
        let now = cx.now();
        self.phase = Phase::Done;
        self.report.error = Some(msg);
        self.report.time_total = Some(secs(now - self.start));
        cx.cancel(&self.timer);
        if let Some(d) = self.dns_sock.take() {
            let _ = cx.close(d);
        }
        if let Some(t) = self.tcp.take() {
            let _ = cx.close(t);
        }
    }
}

impl App for Curl {
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        self.start = cx.now();
        if let Ok(ip) = self.host.parse::<Ipv4Addr>() {
            self.addr = Some(ip);
            self.report.remote_ip = Some(ip);
            self.report.time_namelookup = Some(0.0);
            self.connect(cx);
        } else {
            self.phase = Phase::Resolving;
            self.resolve(cx);
        }
    }

    /// A resolver timeout.
    fn timer(&mut self, cx: &mut AppCtx<'_>, _token: u32) {
        if self.phase == Phase::Resolving {
            if self.attempt >= RES_ATTEMPTS {
                let host = self.host.clone();
                self.fail(cx, format!("Could not resolve host: {host}"));
            } else {
                self.send_queries(cx);
            }
        }
    }

    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        if self.dns_sock == Some(sock) && self.phase == Phase::Resolving {
            self.dns_rx(cx, sock);
        } else if self.tcp == Some(sock) {
            self.on_tcp(cx, sock);
        }
    }

    /// `until` came: close, and say so if the transfer had not finished.
    fn stop(&mut self, cx: &mut AppCtx<'_>) {
        cx.close_all();
        if self.report.error.is_none() && !self.finished() {
            self.report.error = Some("stopped (until) before the transfer finished".into());
        }
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::Curl(self.report.clone())
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
