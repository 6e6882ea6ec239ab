//! `ping`: ICMP echo requests over a ping socket, as iputils `ping` (20221126) sends them, with
//! its closing statistics (transmitted, received, errors, loss, RTT min/avg/max/mdev, time,
//! pipe).
//!
//! Each request carries `size` bytes of data (56 by default: 64 bytes of ICMP, 84 of IP), the
//! ident of the socket and a sequence number from 1. The socket has `IP_RECVERR` on, as
//! iputils sets it, and the options' `IP_TTL` (`-t`) and `IP_MTU_DISCOVER` (`-M`): in the
//! default "want" mode the IP header gets DF when the datagram fits the route's MTU and is
//! fragmented otherwise (see [`crate::sock::ping`]); with `-M do` a request above the MTU fails
//! locally and ping counts an error ("local error: message too long, mtu=1500").
//!
//! When it stops follows iputils' `main_loop`: it exits once `count` requests have been
//! answered or refused (replies + errors ≥ count); after the last request it waits two of the
//! longest RTTs (at least one interval) if a reply came, else the linger time (`-W`, 10 s);
//! with a deadline (`-w`) it exits at the deadline, keeps sending past `count` until that many
//! replies or errors came, and exits at the first error. After exiting its socket is closed
//! and late replies are not counted. The app's `until` stops the sending only (a ping without
//! count runs until then), and replies still in flight are counted.
//!
//! Not modeled: the timestamp iputils puts in the data (the data is the pattern 0x10, 0x11,
//! …), adaptive, flood and preload modes, TOS and pattern options, duplicate detection.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use serde::Serialize;
use sim_core::{SimDuration, SimTime, TimerId};

use crate::apps::{App, AppCtx, AppReport};
use crate::config::PingOptions;
use crate::node::Node;
use crate::sock::ping::{PingMsg, ping_recvmsg};
use crate::sock::syscall::{Domain, IPPROTO_ICMP, IPPROTO_ICMPV6, SockOpt, SockType};
use crate::sock::{Errno, MsgFlags, SockId};

/// iputils' `MAXWAIT`: the default linger time, seconds.
const MAXWAIT: SimDuration = SimDuration::from_secs(10);
/// iputils' `MININTERVAL`: the shortest wait it schedules (`SCHINT`).
const MININTERVAL: SimDuration = SimDuration::from_millis(10);
/// Timer tokens: the next request, and the end (linger or deadline).
const TOKEN_SEND: u32 = 0;
const TOKEN_EXIT: u32 = 1;

/// A running ping.
#[derive(Debug)]
pub struct Ping {
    /// Destination (IPv6: `ping -6`, over an `AF_INET6` ping socket).
    pub dst: IpAddr,
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
    /// `-t`, `-M`, `-W`, `-w`.
    pub options: PingOptions,
    /// Its ping socket.
    sock: Option<SockId>,
    /// Sequence numbers in flight and when they were sent.
    sent: BTreeMap<u16, SimTime>,
    /// `ntransmitted`: requests sent (or failed hard: iputils pretends they were).
    transmitted: u32,
    received: u32,
    /// `nerrors`: ICMP errors about its requests and local errors of its sends.
    errors: u32,
    rtts: Vec<SimDuration>,
    /// The last error message.
    last_error: Option<String>,
    /// When the first request went (`start_time`) and the last one (`cur_time`).
    first_send: Option<SimTime>,
    last_send: Option<SimTime>,
    /// `pipesize`: the most requests found in flight when one was answered.
    pipe: u32,
    /// `oom_count`: consecutive sends refused with `ENOBUFS`.
    oom_count: u32,
    /// `schedule_exit` has armed the linger time.
    linger_armed: bool,
    /// The end's timer (linger or deadline: iputils' `SIGALRM`), cancelled if ping exits
    /// earlier.
    exit_timer: Option<TimerId>,
    /// Exited: prints its statistics and reads no more.
    exited: bool,
}

/// Closing statistics, as ping prints them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PingReport {
    /// Destination.
    pub dst: IpAddr,
    /// Requests sent ("packets transmitted", local failures included as iputils counts them).
    pub transmitted: u32,
    /// Replies received.
    pub received: u32,
    /// ICMP errors received instead of replies, and local errors of sends ("+N errors").
    pub errors: u32,
    /// Percentage of requests without a reply.
    pub loss_percent: f64,
    /// "time": from the first request to the last, in ms (rounded as ping rounds it).
    pub time_ms: u64,
    /// Smallest round-trip time, ns.
    pub rtt_min_ns: Option<u64>,
    /// Mean round-trip time, ns.
    pub rtt_avg_ns: Option<u64>,
    /// Largest round-trip time, ns.
    pub rtt_max_ns: Option<u64>,
    /// Mean deviation ("mdev": the standard deviation of the RTTs), ns.
    pub rtt_mdev_ns: Option<u64>,
    /// "pipe": the most requests that were in flight when one was answered (ping prints it
    /// when above 1).
    pub pipe: u32,
    /// Each reply's round-trip time, ns, in order.
    pub rtts_ns: Vec<u64>,
    /// The last error message, if any.
    pub error: Option<String>,
}

impl Ping {
    /// A ping that will send from its start time on.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        dst: IpAddr,
        count: Option<u32>,
        interval: SimDuration,
        size: usize,
        stop: Option<SimTime>,
        ident: u16,
        timer: TimerId,
        options: PingOptions,
    ) -> Self {
        Self {
            dst,
            count,
            interval,
            size,
            stop,
            ident,
            timer,
            options,
            sock: None,
            sent: BTreeMap::new(),
            transmitted: 0,
            received: 0,
            errors: 0,
            rtts: Vec::new(),
            last_error: None,
            first_send: None,
            last_send: None,
            pipe: 0,
            oom_count: 0,
            linger_armed: false,
            exit_timer: None,
            exited: false,
        }
    }

    /// The statistics so far.
    pub fn report(&self) -> PingReport {
        let ns: Vec<u64> = self.rtts.iter().map(|d| d.as_nanos()).collect();
        let n = ns.len() as u128;
        let sum: u128 = ns.iter().map(|&x| u128::from(x)).sum();
        let sum2: u128 = ns.iter().map(|&x| u128::from(x) * u128::from(x)).sum();
        // finish(): tmvar = (tsum2 - tsum²/n)/n, mdev = its integer square root.
        let mdev = (n > 0).then(|| isqrt((sum2 - sum * sum / n) / n) as u64);
        let time = match (self.first_send, self.last_send) {
            (Some(a), Some(b)) => (b - a).as_nanos(),
            _ => 0,
        };
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
            time_ms: time_ms(time),
            rtt_min_ns: ns.iter().copied().min(),
            rtt_avg_ns: (n > 0).then(|| (sum / n) as u64),
            rtt_max_ns: ns.iter().copied().max(),
            rtt_mdev_ns: mdev,
            pipe: self.pipe,
            rtts_ns: ns,
            error: self.last_error.clone(),
        }
    }
}

/// ping's "time": `1000 * tv_sec + (tv_nsec + 500000) / 1000000` of a span of `ns`.
fn time_ms(ns: u64) -> u64 {
    1000 * (ns / 1_000_000_000) + (ns % 1_000_000_000 + 500_000) / 1_000_000
}

/// `llsqrt`: the integer square root (rounded down).
fn isqrt(a: u128) -> u128 {
    if a < 2 {
        return a;
    }
    let mut x = a;
    let mut y = x.div_ceil(2);
    while y < x {
        x = y;
        y = (x + a / x) / 2;
    }
    x
}

impl Ping {
    /// `pinger`: sends the next request, handles a failed send as iputils does, and arms the
    /// timer for the next one.
    fn pinger(&mut self, cx: &mut AppCtx<'_>) {
        let now = cx.now();
        let count_done = self.count.is_some_and(|c| self.transmitted >= c);
        if self.exited
            || (count_done && self.options.deadline.is_none())
            || self.stop.is_some_and(|t| now >= t)
        {
            return;
        }
        let Some(sock) = self.sock else {
            return;
        };
        let seq = (self.transmitted + 1) as u16;
        self.first_send.get_or_insert(now);
        self.last_send = Some(now);
        // The echo request as ping hands it to its socket: type 8 (ICMPv6: 128), code 0,
        // the checksum and ident filled by the kernel, the sequence number, then the data.
        let ty = if self.dst.is_ipv6() { 128 } else { 8 };
        let mut msg = vec![ty, 0, 0, 0, 0, 0];
        msg.extend_from_slice(&seq.to_be_bytes());
        msg.extend((0..self.size).map(|i| (0x10 + i) as u8));
        let to = SocketAddr::new(self.dst, 0);
        let next = match cx.sendto(sock, &msg, to, MsgFlags::NONE) {
            Ok(_) => {
                self.oom_count = 0;
                self.transmitted += 1;
                self.sent.insert(seq, now);
                self.interval
            }
            Err(Errno::NoBufs) if self.oom_retry() => {
                // Device queue overflow: not sent; try again in half an interval.
                self.nores_interval()
            }
            Err(e) => {
                // A hard local error: read the error queue (a local EMSGSIZE is there),
                // then pretend the packet was sent.
                let local = self.read_errors(cx, sock);
                self.transmitted += 1;
                if !local {
                    let text = format!("sendmsg: {}", errno_text(e));
                    cx.trace(format_args!("ping {text}"));
                    self.last_error = Some(text);
                }
                self.interval.max(MININTERVAL)
            }
        };
        self.schedule_exit(cx);
        self.check_exit(cx);
        let more =
            self.count.is_none_or(|c| self.transmitted < c) || self.options.deadline.is_some();
        if !self.exited && more {
            cx.arm(&self.timer, now + next, TOKEN_SEND);
        }
    }

    /// Whether an `ENOBUFS` is retried: iputils gives up once the retries have waited the
    /// linger time.
    fn oom_retry(&mut self) -> bool {
        self.oom_count += 1;
        self.nores_interval() * u64::from(self.oom_count) < self.linger()
    }

    /// `nores_interval`: half an interval (at least `MININTERVAL`), at most 500 ms.
    fn nores_interval(&self) -> SimDuration {
        (self.interval / 2)
            .max(MININTERVAL)
            .min(SimDuration::from_millis(500))
    }

    /// The linger time (`-W`).
    fn linger(&self) -> SimDuration {
        self.options.timeout.unwrap_or(MAXWAIT)
    }

    /// `schedule_exit`: once the last request of a count went (without a deadline), exit
    /// after two of the longest RTTs (at least one interval), or the linger time if nothing
    /// came back.
    fn schedule_exit(&mut self, cx: &mut AppCtx<'_>) {
        if self.linger_armed
            || self.options.deadline.is_some()
            || self.count.is_none_or(|c| self.transmitted < c)
        {
            return;
        }
        self.linger_armed = true;
        let wait = match self.rtts.iter().max() {
            Some(&tmax) if self.received > 0 => (tmax * 2).max(self.interval),
            _ => self.linger(),
        };
        let at = cx.now() + wait;
        self.arm_exit(cx, at);
    }

    /// Arms the end's timer (`setitimer(ITIMER_REAL)`) for `at`.
    fn arm_exit(&mut self, cx: &mut AppCtx<'_>, at: SimTime) {
        let timer = self.exit_timer.get_or_insert_with(|| cx.new_timer());
        cx.arm(timer, at, TOKEN_EXIT);
    }

    /// The exit tests at the top of `main_loop`.
    fn check_exit(&mut self, cx: &mut AppCtx<'_>) {
        let answered = self.count.is_some_and(|c| self.received + self.errors >= c);
        if answered || (self.options.deadline.is_some() && self.errors > 0) {
            self.exit(cx);
        }
    }

    /// Exits: the statistics are final and the socket is closed.
    fn exit(&mut self, cx: &mut AppCtx<'_>) {
        if self.exited {
            return;
        }
        self.exited = true;
        cx.cancel(&self.timer);
        if let Some(t) = &self.exit_timer {
            cx.cancel(t);
        }
        if let Some(sock) = self.sock.take() {
            let _ = cx.close(sock);
        }
    }

    /// Reads the error queue and the replies; whether a local error was among them.
    fn read_errors(&mut self, cx: &mut AppCtx<'_>, sock: SockId) -> bool {
        let mut local = false;
        while let Ok(msg) = ping_recvmsg(cx.n, sock) {
            local |= matches!(msg, PingMsg::LocalError { .. });
            self.receive(cx, msg);
        }
        local
    }

    /// `acknowledge`: a reply or an error for `seq` came; how many were in flight.
    fn acknowledge(&mut self, seq: u16) {
        let diff = (self.transmitted as u16).wrapping_sub(seq);
        if diff <= 0x7fff {
            self.pipe = self.pipe.max(u32::from(diff) + 1);
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
                self.acknowledge(seq);
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
            PingMsg::Error6 {
                from,
                seq,
                ty,
                code,
                info,
            } => {
                let what = PingMsg::error_text6(ty, code, info);
                self.acknowledge(seq);
                self.errors += 1;
                self.sent.remove(&seq);
                let text = format!("From {from} icmp_seq={seq} {what}");
                cx.trace(format_args!("ping {text}"));
                self.last_error = Some(text);
            }
            PingMsg::Error {
                from,
                seq,
                ty,
                code,
                info,
            } => {
                let what = PingMsg::error_text(ty, code, info);
                self.acknowledge(seq);
                self.errors += 1;
                self.sent.remove(&seq);
                let text = format!("From {from} icmp_seq={seq} {what}");
                cx.trace(format_args!("ping {text}"));
                self.last_error = Some(text);
            }
            PingMsg::LocalError { errno, info } => {
                self.errors += 1;
                let text = if errno == Errno::MsgSize {
                    format!("local error: message too long, mtu={info}")
                } else {
                    format!("local error: {}", errno_text(errno))
                };
                cx.trace(format_args!("ping {text}"));
                self.last_error = Some(text);
            }
        }
    }
}

/// `strerror` of the errors a ping send can meet.
fn errno_text(e: Errno) -> String {
    match e {
        Errno::NetUnreach => "Network is unreachable".into(),
        Errno::HostUnreach => "No route to host".into(),
        Errno::MsgSize => "Message too long".into(),
        Errno::NoBufs => "No buffer space available".into(),
        Errno::Perm => "Operation not permitted".into(),
        other => other.to_string(),
    }
}

impl App for Ping {
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        // ping6_run / ping4_run: the socket of the destination's family.
        let (domain, proto, any) = match self.dst {
            IpAddr::V4(_) => (
                Domain::Inet,
                IPPROTO_ICMP,
                SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, self.ident)),
            ),
            IpAddr::V6(_) => (
                Domain::Inet6,
                IPPROTO_ICMPV6,
                SocketAddr::V6(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, self.ident, 0, 0)),
            ),
        };
        if let Ok(sock) = cx.socket_domain_nonblock(domain, SockType::Dgram, proto) {
            let bound = cx.bind(sock, any);
            // ping4_run: IP_MTU_DISCOVER when -M is given, IP_RECVERR, IP_TTL for -t.
            let mut ok = bound.is_ok();
            if let Some(m) = self.options.pmtudisc {
                ok &= cx.setsockopt(sock, SockOpt::MtuDiscover(m)).is_ok();
            }
            ok &= cx.setsockopt(sock, SockOpt::RecvErr(true)).is_ok();
            if let Some(ttl) = self.options.ttl {
                ok &= cx.setsockopt(sock, SockOpt::Ttl(Some(ttl))).is_ok();
            }
            self.sock = ok.then_some(sock);
        }
        if let Some(d) = self.options.deadline {
            let at = cx.now() + d;
            self.arm_exit(cx, at);
        }
        self.pinger(cx);
    }

    fn timer(&mut self, cx: &mut AppCtx<'_>, token: u32) {
        match token {
            TOKEN_EXIT => self.exit(cx),
            _ => self.pinger(cx),
        }
    }

    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        if self.exited {
            return;
        }
        self.read_errors(cx, sock);
        self.check_exit(cx);
    }

    fn stops_itself(&self) -> bool {
        true
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::Ping(Box::new(self.report()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_figures_are_computed_as_iputils_does() {
        assert_eq!(isqrt(0), 0);
        assert_eq!(isqrt(15), 3);
        assert_eq!(isqrt(16), 4);
        assert_eq!(isqrt(u128::from(u64::MAX)), u128::from(u32::MAX));
        // 1833.4 ms prints as 1833, 1833.5 as 1834.
        assert_eq!(time_ms(1_833_499_999), 1833);
        assert_eq!(time_ms(1_833_500_000), 1834);
        assert_eq!(time_ms(0), 0);
    }
}
