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
//!
//! The answers are sorted as glibc's `getaddrinfo` sorts them (`rfc3484_sort`, RFC 6724 with
//! glibc's default `gai.conf` tables), [`rfc6724_sort`]: destinations without a usable
//! source address (no route, or no IPv6 address for an IPv6 one) last, then matching scope,
//! matching label, higher precedence (`::/0` 40 above `::ffff:0:0/96` 35: a host with a
//! global IPv6 address and a route prefers IPv6), smaller scope, and the answers' order.
//!
//! curl 7.88's connect (`cf_he_connect`, happy eyeballs): a first "baller" on the sorted
//! list's first address; a second on the other family's first address, started when the
//! first has failed or `CURLOPT_HAPPY_EYEBALLS_TIMEOUT_MS` (200 ms) after the start if the
//! first has not connected by then; the first to connect wins and the other is closed.
//! Each baller here tries its family's first address only (curl would go on to the next
//! one of the family after a failure); the model's scenarios give one address per family.
//! A destination without a usable source is not tried (curl's attempt fails at once without
//! a packet).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

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
/// `CURLOPT_HAPPY_EYEBALLS_TIMEOUT_MS`'s default (`CURL_HET_DEFAULT`).
pub const HAPPY_EYEBALLS_TIMEOUT: SimDuration = SimDuration::from_millis(200);

/// The timer's token for the resolver's timeout.
const TOKEN_RESOLVER: u32 = 0;
/// The timer's token for the second family's start.
const TOKEN_EYEBALLS: u32 = 1;

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
    /// The A and AAAA answers, in the order the server gave them.
    answers: [Vec<IpAddr>; 2],
    /// The connect attempts under way: (socket, address).
    ballers: Vec<(SockId, IpAddr)>,
    /// The other family's first address, until its attempt starts.
    second: Option<IpAddr>,
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
    /// The address curl connected to (the first of the sorted answers until one connects).
    pub remote_ip: Option<IpAddr>,
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
            answers: [Vec::new(), Vec::new()],
            ballers: Vec::new(),
            second: None,
            tcp: None,
            start: SimTime::ZERO,
            head: Vec::new(),
            header_len: None,
            body_received: 0,
            content_length: None,
            buf: vec![0; 1 << 16],
        }
    }

    /// The request, byte for byte as curl 7.88.1 sends it (an IPv6 literal host in
    /// brackets, as the URL has it).
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
        self.answers = [Vec::new(), Vec::new()];
        let at = cx.now() + RES_TIMEOUT;
        cx.arm(&self.timer, at, TOKEN_RESOLVER);
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
            self.answers[i] = r
                .answers
                .iter()
                .filter_map(|a| match a.data {
                    RData::A(ip) if i == 0 => Some(IpAddr::V4(ip)),
                    RData::Aaaa(ip) if i == 1 => Some(IpAddr::V6(ip)),
                    _ => None,
                })
                .collect();
        }
        if self.answered == [true, true] {
            cx.cancel(&self.timer);
            self.report.time_namelookup = Some(secs(now - self.start));
            let _ = cx.close(sock);
            self.dns_sock = None;
            let [a, aaaa] = std::mem::take(&mut self.answers);
            let mut addrs = a;
            addrs.extend(aaaa);
            // Only both families need sorting (and a source address looked up for each).
            let sorted = if addrs.iter().any(IpAddr::is_ipv6) {
                rfc6724_sort(cx.n, &addrs)
            } else {
                addrs
            };
            if sorted.is_empty() {
                let host = self.host.clone();
                self.fail(cx, format!("Could not resolve host: {host}"));
            } else {
                self.connect(cx, &sorted);
            }
        }
    }

    /// `cf_he_connect`: the first address now, the other family's first when the first
    /// fails or after [`HAPPY_EYEBALLS_TIMEOUT`].
    fn connect(&mut self, cx: &mut AppCtx<'_>, sorted: &[IpAddr]) {
        let Some(&first) = sorted.first() else {
            return;
        };
        self.phase = Phase::Connecting;
        self.report.remote_ip = Some(first);
        self.second = sorted
            .iter()
            .copied()
            .find(|a| a.is_ipv6() != first.is_ipv6() && usable_source(cx.n, *a).is_some());
        if self.second.is_some() {
            let at = cx.now() + HAPPY_EYEBALLS_TIMEOUT;
            cx.arm(&self.timer, at, TOKEN_EYEBALLS);
        }
        self.start_baller(cx, first);
    }

    /// One connect attempt (`baller_start`); a failure at once is as a failure later.
    fn start_baller(&mut self, cx: &mut AppCtx<'_>, addr: IpAddr) {
        let opened = match addr {
            IpAddr::V4(_) => cx.socket_nonblock(SockType::Stream, 0),
            IpAddr::V6(_) => cx.socket_domain_nonblock(Domain::Inet6, SockType::Stream, 0),
        };
        let sock = match opened {
            Ok(s) => s,
            Err(e) => {
                self.baller_failed(cx, format!("Failed to connect: {e}"));
                return;
            }
        };
        self.ballers.push((sock, addr));
        match cx.connect(sock, SocketAddr::new(addr, self.port)) {
            Ok(()) | Err(Errno::InProgress) => {}
            Err(e) => {
                self.ballers.retain(|b| b.0 != sock);
                let _ = cx.close(sock);
                self.baller_failed(cx, format!("Failed to connect: {e}"));
            }
        }
    }

    /// An attempt failed: start the other family's now if it has not started, fail when
    /// none is left.
    fn baller_failed(&mut self, cx: &mut AppCtx<'_>, msg: String) {
        if let Some(next) = self.second.take() {
            cx.cancel(&self.timer);
            self.start_baller(cx, next);
            return;
        }
        if self.ballers.is_empty() {
            self.fail(cx, msg);
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
                self.ballers.retain(|b| b.0 != sock);
                let _ = cx.close(sock);
                self.baller_failed(cx, msg);
                return;
            }
            if !cx.poll(sock).is_ok_and(|ev| ev.contains(PollEvents::OUT)) {
                return;
            }
            // The winner: the other attempts end, and the second is not started.
            for (other, addr) in std::mem::take(&mut self.ballers) {
                if other == sock {
                    self.report.remote_ip = Some(addr);
                    continue;
                }
                let _ = cx.close(other);
            }
            if self.second.take().is_some() {
                cx.cancel(&self.timer);
            }
            self.tcp = Some(sock);
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
        for (b, _) in std::mem::take(&mut self.ballers) {
            let _ = cx.close(b);
        }
    }
}

impl App for Curl {
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        self.start = cx.now();
        let literal = match self.host.parse::<Ipv4Addr>() {
            Ok(ip) => Some(IpAddr::V4(ip)),
            Err(_) => self
                .host
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<Ipv6Addr>().ok())
                .map(IpAddr::V6),
        };
        if let Some(ip) = literal {
            self.report.time_namelookup = Some(0.0);
            self.connect(cx, &[ip]);
        } else {
            self.phase = Phase::Resolving;
            self.resolve(cx);
        }
    }

    /// A resolver timeout, or the time to start the other family.
    fn timer(&mut self, cx: &mut AppCtx<'_>, token: u32) {
        if token == TOKEN_EYEBALLS {
            if self.phase == Phase::Connecting
                && let Some(next) = self.second.take()
            {
                self.start_baller(cx, next);
            }
            return;
        }
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
        } else if self.tcp == Some(sock) || self.ballers.iter().any(|b| b.0 == sock) {
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
        AppReport::Curl(Box::new(self.report.clone()))
    }
}

/// The source address a connection to `dst` would have (`None`: no route, or no address
/// to send from): what glibc's `getaddrinfo` learns by `connect()`ing a UDP socket.
fn usable_source(n: &Node, dst: IpAddr) -> Option<IpAddr> {
    match dst {
        IpAddr::V4(d) => {
            let r = n.fib.lookup(d)?;
            let src = n.dev_addr(r.dev as usize);
            (!src.is_unspecified()).then_some(IpAddr::V4(src))
        }
        IpAddr::V6(d) => {
            if n.fib6.is_local(d) {
                return Some(IpAddr::V6(d));
            }
            let r = n.fib6.lookup(d, None)?;
            crate::ipv6::addrconf::ipv6_dev_get_saddr(n, r.dev as usize, d).map(IpAddr::V6)
        }
    }
}

/// An address as glibc's tables see it: IPv4 as v4-mapped.
fn as_v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The value of the longest prefix of `table` that holds `a`.
fn lookup_table(table: &[(u128, u8, u8)], a: Ipv6Addr) -> u8 {
    let bits = a.to_bits();
    table
        .iter()
        .filter(|(p, len, _)| {
            let mask = if *len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            bits & mask == *p
        })
        .max_by_key(|(_, len, _)| *len)
        .map_or(0, |(_, _, v)| *v)
}

/// glibc's default precedence table (`default_precedence`, RFC 6724 §2.1 with RFC 3484's
/// site-local and 6bone entries).
const PRECEDENCE: &[(u128, u8, u8)] = &[
    (1, 128, 50),
    (0, 0, 40),
    (0xffff_0000_0000, 96, 35),
    (0x2002 << 112, 16, 30),
    (0x2001 << 112, 32, 5),
    (0xfc00 << 112, 7, 3),
    (0, 96, 1),
    (0xfec0 << 112, 10, 1),
    (0x3ffe << 112, 16, 1),
];

/// glibc's default label table (`default_labels`).
const LABELS: &[(u128, u8, u8)] = &[
    (1, 128, 0),
    (0, 0, 1),
    (0x2002 << 112, 16, 2),
    (0, 96, 3),
    (0xffff_0000_0000, 96, 4),
    (0xfec0 << 112, 10, 5),
    (0xfc00 << 112, 7, 6),
    (0x2001 << 112, 32, 7),
];

/// glibc's scope of an address (`get_scope`): IPv4 loopback and link-local 2, other IPv4
/// 14; IPv6 by RFC 4291.
fn gai_scope(a: IpAddr) -> u8 {
    match a {
        IpAddr::V4(v4) if v4.is_loopback() || v4.is_link_local() => 2,
        IpAddr::V4(_) => 14,
        IpAddr::V6(v6) => crate::ipv6::addrconf::scope(v6),
    }
}

/// What [`rfc6724_sort`] orders by, smallest first: unusable, scope mismatch, label
/// mismatch, inverted precedence, scope.
type SortKey = (u8, u8, u8, u8, u8);

/// `rfc3484_sort` as glibc's `getaddrinfo` applies it to `addrs` (the A answers, then the
/// AAAA ones): rules 1 (a usable source), 2 (matching scope), 5 (matching label), 6 (higher
/// precedence), 8 (smaller scope), then the order given (a stable sort).
pub fn rfc6724_sort(n: &Node, addrs: &[IpAddr]) -> Vec<IpAddr> {
    let mut keyed: Vec<(IpAddr, SortKey)> = addrs
        .iter()
        .map(|&d| {
            let src = usable_source(n, d);
            let dscope = gai_scope(d);
            let dlabel = lookup_table(LABELS, as_v6(d));
            let key = (
                u8::from(src.is_none()),
                u8::from(src.is_none_or(|s| gai_scope(s) != dscope)),
                u8::from(src.is_none_or(|s| lookup_table(LABELS, as_v6(s)) != dlabel)),
                u8::MAX - lookup_table(PRECEDENCE, as_v6(d)),
                dscope,
            );
            (d, key)
        })
        .collect();
    keyed.sort_by_key(|&(_, k)| k);
    keyed.into_iter().map(|(a, _)| a).collect()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::OneHost;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    /// glibc's order: with a global IPv6 address and a route, IPv6 before IPv4 (precedence
    /// 40 against 35); a destination without a route or a source goes last, whatever its
    /// family; the answers' order breaks ties.
    #[test]
    fn answers_sort_as_glibc_sorts_them() {
        let mut h = OneHost::dual(Default::default(), Default::default());
        h.advance(SimDuration::from_secs(3));
        let n = &h.n;
        // Both on-link: IPv6 first.
        let a = [ip("192.168.0.9"), ip("2001:db8::9")];
        assert_eq!(rfc6724_sort(n, &a), [a[1], a[0]]);
        // No route to this IPv6 destination (the host has no default route6): IPv4 first.
        let b = [ip("192.168.0.9"), ip("2001:db8:99::9")];
        assert_eq!(rfc6724_sort(n, &b), [b[0], b[1]]);
        // Two of each family keep their order within it.
        let c = [
            ip("192.168.0.9"),
            ip("192.168.0.8"),
            ip("2001:db8::9"),
            ip("2001:db8::8"),
        ];
        assert_eq!(rfc6724_sort(n, &c), [c[2], c[3], c[0], c[1]]);
        // An IPv4-only host (no IPv6 source): IPv4 first.
        let h4 = OneHost::new(Default::default());
        assert_eq!(rfc6724_sort(&h4.n, &a), [a[0], a[1]]);
    }

    #[test]
    fn precedence_and_labels_are_glibcs() {
        assert_eq!(lookup_table(PRECEDENCE, "::1".parse().unwrap()), 50);
        assert_eq!(lookup_table(PRECEDENCE, "2001:db8::1".parse().unwrap()), 40);
        assert_eq!(lookup_table(PRECEDENCE, as_v6(ip("10.0.1.80"))), 35);
        assert_eq!(lookup_table(PRECEDENCE, "2002::1".parse().unwrap()), 30);
        assert_eq!(lookup_table(PRECEDENCE, "2001::1".parse().unwrap()), 5);
        assert_eq!(lookup_table(PRECEDENCE, "fd00::1".parse().unwrap()), 3);
        assert_eq!(lookup_table(LABELS, as_v6(ip("10.0.1.80"))), 4);
        assert_eq!(lookup_table(LABELS, "2001:db8::1".parse().unwrap()), 1);
    }
}
