//! Applications: what runs on the hosts. Every app — built in or a user's own — implements
//! [`App`]: it is started at its start time, woken when one of its sockets becomes
//! readable, writable, connected or failed, called back by the timers it arms, stopped at its
//! `until`, and asked for its report at the end. It acts on its node only through the socket
//! calls of [`crate::sock`] (and [`crate::tcp`]), with an [`AppCtx`], as a process acts on
//! its kernel through system calls.
//!
//! Built in: `ping` (ICMP echo over a ping socket, like iputils ping), `dns_server`, `curl`
//! (with its glibc-like resolver), `http_server`, `tcp_bulk` / `tcp_sink`, `udp_cbr` /
//! `udp_sink`, `replay` (tcpreplay over an `AF_PACKET` socket), `craft` (a packet
//! written as Scapy writes it, sent through a raw or `AF_PACKET` socket) and `dc_flows` (a
//! data-centre flow workload, described to the language through the [`registry`] as a
//! user's app is).

pub mod bulk;
pub mod craft;
pub mod curl;
pub mod dc_flows;
pub mod dns_server;
pub mod http_server;
pub mod ping;
pub mod registry;
pub mod replay;
pub mod udp_cbr;

use serde::Serialize;
use sim_core::{SimRng, SimTime, TimerId};

use crate::ctx::NetCtx;
use crate::event::Event;
use crate::node::Node;
use std::net::SocketAddrV4;

use crate::sock::packet::SockaddrLl;
use crate::sock::syscall::{
    self, Fd, Ioctl, PollEvents, RecvMsg, Shutdown, SockOpt, SockOptName, SockOptValue, SockType,
};
use crate::sock::{Errno, MsgFlags, SockId, Socket};

/// An application: a state machine driven by its start, its timers and its sockets.
pub trait App: std::fmt::Debug + Send {
    /// Its start time came.
    fn start(&mut self, cx: &mut AppCtx<'_>);

    /// A timer it set with [`AppCtx::arm`] or [`AppCtx::schedule`] fired; `token` is the
    /// value it gave.
    fn timer(&mut self, cx: &mut AppCtx<'_>, token: u32) {
        let _ = (cx, token);
    }

    /// Socket `sock`, which it owns, became readable, writable, connected or failed
    /// (`sk_data_ready`, `sk_write_space`, `sk_state_change`, `sk_error_report`).
    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        let _ = (cx, sock);
    }

    /// Its `until` came. The default closes every socket it owns (TCP ones with `close()`:
    /// FIN, or RST with unread data; a listener resets its unaccepted children); it acts
    /// no more afterwards either way.
    fn stop(&mut self, cx: &mut AppCtx<'_>) {
        cx.close_all();
    }

    /// Whether it stops itself at its `until` (then [`App::stop`] is not called for it).
    fn stops_itself(&self) -> bool {
        false
    }

    /// Its results for the summary and `stats.json`, at time `now` (the end of the run).
    fn report(&self, node: &Node, now: SimTime) -> AppReport;
}

/// What an app is given when it runs: its node, the shared context, and its own index.
#[derive(Debug)]
pub struct AppCtx<'a> {
    /// The node it runs on.
    pub n: &'a mut Node,
    /// The shared context.
    pub net: NetCtx<'a>,
    /// The app's index in the world (what its sockets and timers name).
    pub id: u32,
    /// The payload bytes it has handed to and taken from its sockets.
    pub io: &'a mut AppIo,
}

/// The payload bytes an app has passed through its sockets (counted by [`AppCtx`]'s
/// calls, whatever the app): what `samples/app.csv` shows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AppIo {
    /// Bytes accepted by `send`/`sendto`/`sendmsg`/`sendmmsg`.
    pub tx_bytes: u64,
    /// Bytes returned by `recv` (not peeked; a datagram's whole length under `MSG_TRUNC`).
    pub rx_bytes: u64,
}

impl AppCtx<'_> {
    /// Whether the node has a global IPv6 address configured on an interface (tentative or
    /// not): servers then listen on IPv6 too.
    pub fn has_global_ipv6(&self) -> bool {
        self.n
            .devs
            .iter()
            .filter_map(|d| d.inet6.as_deref())
            .any(|i| {
                i.addrs.iter().any(|a| {
                    crate::ipv6::addrconf::scope(a.addr()) == 14 && !a.addr().is_loopback()
                })
            })
    }

    /// The `AF_INET6` listener a server adds beside its IPv4 one on a node with IPv6: on
    /// `[::]:port`, `IPV6_V6ONLY` (a listener per family, as two servers bound to each
    /// family's address are); `None` when the node has no IPv6 address or it fails.
    pub fn listen6(&mut self, port: u16, backlog: u32) -> Option<Fd> {
        if !self.has_global_ipv6() {
            return None;
        }
        let fd = self
            .socket_domain_nonblock(syscall::Domain::Inet6, SockType::Stream, 0)
            .ok()?;
        let any = std::net::SocketAddrV6::new(std::net::Ipv6Addr::UNSPECIFIED, port, 0, 0);
        let ok = self.setsockopt(fd, SockOpt::V6Only(true)).is_ok()
            && self.bind(fd, any).is_ok()
            && self.listen(fd, backlog).is_ok();
        if !ok {
            let _ = self.close(fd);
            return None;
        }
        Some(fd)
    }

    /// The current time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.net.now
    }

    /// The owner to give the sockets it opens.
    #[inline]
    pub fn owner(&self) -> Option<u32> {
        Some(self.id)
    }

    /// A cancellable timer of its own.
    pub fn new_timer(&mut self) -> TimerId {
        self.net.sched.new_timer()
    }

    /// Arms `timer` to fire at `at` with `token` (re-arming moves it).
    pub fn arm(&mut self, timer: &TimerId, at: SimTime, token: u32) {
        self.net.sched.arm(
            timer,
            at,
            Event::AppTimer {
                app: self.id,
                token,
            },
        );
    }

    /// Cancels `timer`.
    pub fn cancel(&mut self, timer: &TimerId) {
        self.net.sched.cancel(timer);
    }

    /// A one-shot callback at `at` with `token`.
    pub fn schedule(&mut self, at: SimTime, token: u32) {
        self.net.sched.schedule_at(
            at,
            Event::AppTimer {
                app: self.id,
                token,
            },
        );
    }

    /// The node's random stream (what the kernel's `get_random_u32` draws from there).
    pub fn rng(&mut self) -> &mut SimRng {
        &mut self.n.rng
    }

    /// The node's IPv6 addresses other than link-local ones, interface by interface in the
    /// order `ip -6 addr` lists them (tentative ones too), on interfaces with IPv6 on.
    pub fn ipv6_addrs(&self) -> Vec<std::net::Ipv6Addr> {
        self.n
            .devs
            .iter()
            .filter_map(|d| d.inet6.as_deref())
            .filter(|i| !i.cnf.disable_ipv6)
            .flat_map(|i| i.addrs.iter().map(|a| a.addr()))
            .filter(|a| !crate::wire::ipv6::is_link_local(*a) && !a.is_loopback())
            .collect()
    }

    /// Whether IPv6 is on on any interface of the node.
    pub fn has_ipv6(&self) -> bool {
        self.n
            .devs
            .iter()
            .filter_map(|d| d.inet6.as_deref())
            .any(|i| !i.cnf.disable_ipv6)
    }

    /// Writes a line `TIME NODE what` to the trace (when frames are traced).
    pub fn trace(&mut self, what: std::fmt::Arguments<'_>) {
        if self.net.shared.trace.frames() {
            self.net
                .shared
                .trace
                .event(self.net.now, &self.n.name, what);
        }
    }

    /// `socket(AF_INET, ty, protocol)`, owned by this app (see [`syscall::socket`]).
    pub fn socket(&mut self, ty: SockType, protocol: u8) -> Result<Fd, Errno> {
        syscall::socket(self.n, &mut self.net, ty, protocol, Some(self.id))
    }

    /// A non-blocking socket: `socket(AF_INET, ty | SOCK_NONBLOCK, protocol)`.
    pub fn socket_nonblock(&mut self, ty: SockType, protocol: u8) -> Result<Fd, Errno> {
        let fd = self.socket(ty, protocol)?;
        syscall::fcntl_set_nonblock(self.n, fd, true)?;
        Ok(fd)
    }

    /// `socket(domain, ty | SOCK_NONBLOCK, protocol)` (see [`syscall::socket_domain`]).
    pub fn socket_domain_nonblock(
        &mut self,
        domain: syscall::Domain,
        ty: SockType,
        protocol: u8,
    ) -> Result<Fd, Errno> {
        let fd =
            syscall::socket_domain(self.n, &mut self.net, domain, ty, protocol, Some(self.id))?;
        syscall::fcntl_set_nonblock(self.n, fd, true)?;
        Ok(fd)
    }

    /// `socket(AF_PACKET, ty | SOCK_NONBLOCK, htons(protocol))`, `protocol` in host order
    /// (see [`syscall::socket_packet`]).
    pub fn socket_packet_nonblock(&mut self, ty: SockType, protocol: u16) -> Result<Fd, Errno> {
        let fd = syscall::socket_packet(self.n, ty, protocol, Some(self.id))?;
        syscall::fcntl_set_nonblock(self.n, fd, true)?;
        Ok(fd)
    }

    /// `bind()` of an `AF_PACKET` socket to a device and protocol.
    pub fn bind_ll(&mut self, fd: Fd, addr: &SockaddrLl) -> Result<(), Errno> {
        syscall::bind_ll(self.n, fd, addr)
    }

    /// `sendto()` of an `AF_PACKET` socket (`None`: on its bound device).
    pub fn sendto_ll(
        &mut self,
        fd: Fd,
        frame: &[u8],
        to: Option<&SockaddrLl>,
    ) -> Result<usize, Errno> {
        let r = syscall::sendto_ll(self.n, &mut self.net, fd, frame, to);
        self.sent(r)
    }

    /// `recvfrom()` of an `AF_PACKET` socket into `buf`, with the frame's `sockaddr_ll`.
    pub fn recvfrom_ll(
        &mut self,
        fd: Fd,
        buf: &mut [u8],
        flags: MsgFlags,
    ) -> Result<(RecvMsg, SockaddrLl), Errno> {
        let len = buf.len();
        let r = syscall::recvfrom_ll(self.n, &mut self.net, fd, Some(buf), len, flags);
        if let Ok((m, _)) = &r
            && !flags.contains(MsgFlags::PEEK)
        {
            self.io.rx_bytes += m.len as u64;
        }
        r
    }

    /// The ifindex of the node's interface `name` (`if_nametoindex`), if it has one.
    pub fn if_nametoindex(&self, name: &str) -> Option<i32> {
        (0..self.n.devs.len())
            .find(|&d| self.n.devs[d].name == name)
            .map(crate::sock::packet::dev_ifindex)
    }

    /// `bind()`, to an address of the socket's family.
    pub fn bind(&mut self, fd: Fd, addr: impl Into<std::net::SocketAddr>) -> Result<(), Errno> {
        syscall::bind(self.n, &mut self.net, fd, addr)
    }

    /// `listen()`.
    pub fn listen(&mut self, fd: Fd, backlog: u32) -> Result<(), Errno> {
        syscall::listen(self.n, &mut self.net, fd, backlog)
    }

    /// `accept4(fd, …, SOCK_NONBLOCK)`: the next connection, non-blocking like its
    /// listener's children usually are in an event loop.
    pub fn accept(&mut self, fd: Fd) -> Result<(Fd, std::net::SocketAddr), Errno> {
        syscall::accept(self.n, fd, true)
    }

    /// `connect()` (`EINPROGRESS` for TCP: completion shows as a wake with the socket
    /// writable, or an error in `SO_ERROR`).
    pub fn connect(&mut self, fd: Fd, addr: impl Into<std::net::SocketAddr>) -> Result<(), Errno> {
        syscall::connect(self.n, &mut self.net, fd, addr)
    }

    /// `send()`.
    pub fn send(&mut self, fd: Fd, data: &[u8], flags: MsgFlags) -> Result<usize, Errno> {
        let r = syscall::send(self.n, &mut self.net, fd, data, flags);
        self.sent(r)
    }

    /// Counts what a send call accepted.
    #[inline]
    fn sent(&mut self, r: Result<usize, Errno>) -> Result<usize, Errno> {
        if let Ok(b) = r {
            self.io.tx_bytes += b as u64;
        }
        r
    }

    /// Counts what a receive call returned.
    #[inline]
    fn received(&mut self, r: Result<RecvMsg, Errno>, flags: MsgFlags) -> Result<RecvMsg, Errno> {
        if let Ok(m) = &r
            && !flags.contains(MsgFlags::PEEK)
        {
            self.io.rx_bytes += m.len as u64;
        }
        r
    }

    /// `sendto()`, to an address of the socket's family.
    pub fn sendto(
        &mut self,
        fd: Fd,
        data: &[u8],
        to: impl Into<std::net::SocketAddr>,
        flags: MsgFlags,
    ) -> Result<usize, Errno> {
        let r = syscall::sendto_addr(self.n, &mut self.net, fd, data, Some(to.into()), flags);
        self.sent(r)
    }

    /// `sendmsg()` of `head` then `zeros` zero bytes (see [`syscall::sendmsg_zeros`]).
    pub fn send_zeros(&mut self, fd: Fd, head: &[u8], zeros: usize) -> Result<usize, Errno> {
        self.sendto_zeros(fd, head, zeros, None)
    }

    /// The same to `to` (`None`: the connected peer), as `sendmsg()` with `msg_name`.
    pub fn sendto_zeros(
        &mut self,
        fd: Fd,
        head: &[u8],
        zeros: usize,
        to: Option<SocketAddrV4>,
    ) -> Result<usize, Errno> {
        let r = syscall::sendmsg_zeros(self.n, &mut self.net, fd, head, zeros, to);
        self.sent(r)
    }

    /// The same to an address of either family (see [`syscall::sendmsg_zeros_addr`]).
    pub fn sendto_zeros_addr(
        &mut self,
        fd: Fd,
        head: &[u8],
        zeros: usize,
        to: Option<std::net::SocketAddr>,
    ) -> Result<usize, Errno> {
        let r = syscall::sendmsg_zeros_addr(self.n, &mut self.net, fd, head, zeros, to);
        self.sent(r)
    }

    /// `sendmmsg()` (see [`syscall::sendmmsg`]).
    pub fn sendmmsg(&mut self, fd: Fd, msgs: &[&[u8]]) -> Result<usize, Errno> {
        let r = syscall::sendmmsg(self.n, &mut self.net, fd, msgs);
        if let Ok(k) = r {
            self.io.tx_bytes += msgs[..k.min(msgs.len())]
                .iter()
                .map(|m| m.len() as u64)
                .sum::<u64>();
        }
        r
    }

    /// `recv()` into `buf`.
    pub fn recv(&mut self, fd: Fd, buf: &mut [u8], flags: MsgFlags) -> Result<RecvMsg, Errno> {
        let len = buf.len();
        let r = syscall::recv(self.n, &mut self.net, fd, Some(buf), len, flags);
        self.received(r, flags)
    }

    /// `recv(fd, NULL, len, MSG_TRUNC)`: on TCP, discards up to `len` bytes and says how
    /// many; on UDP, drops the next datagram and says its length.
    pub fn recv_discard(&mut self, fd: Fd, len: usize) -> Result<RecvMsg, Errno> {
        let r = syscall::recv(self.n, &mut self.net, fd, None, len, MsgFlags::TRUNC);
        self.received(r, MsgFlags::TRUNC)
    }

    /// `recvmsg(fd, buf, MSG_ERRQUEUE)`: the oldest entry of the socket's error queue (a
    /// transmit timestamp, see [`syscall::recv_error`]), or `EAGAIN`.
    pub fn recv_error(
        &mut self,
        fd: Fd,
        buf: &mut [u8],
    ) -> Result<crate::sock::errqueue::ErrMsg, Errno> {
        let len = buf.len();
        syscall::recv_error(self.n, &mut self.net, fd, Some(buf), len)
    }

    /// `shutdown()`.
    pub fn shutdown(&mut self, fd: Fd, how: Shutdown) -> Result<(), Errno> {
        syscall::shutdown(self.n, &mut self.net, fd, how)
    }

    /// `close()`.
    pub fn close(&mut self, fd: Fd) -> Result<(), Errno> {
        syscall::close(self.n, &mut self.net, fd)
    }

    /// `setsockopt()`.
    pub fn setsockopt(&mut self, fd: Fd, opt: SockOpt) -> Result<(), Errno> {
        syscall::setsockopt(self.n, &mut self.net, fd, opt)
    }

    /// `getsockopt()`.
    pub fn getsockopt(&mut self, fd: Fd, name: SockOptName) -> Result<SockOptValue, Errno> {
        syscall::getsockopt(self.n, &self.net, fd, name)
    }

    /// `ioctl()`.
    pub fn ioctl(&mut self, fd: Fd, req: Ioctl) -> Result<u32, Errno> {
        syscall::ioctl(self.n, fd, req)
    }

    /// `poll()` of one socket.
    pub fn poll(&mut self, fd: Fd) -> Result<PollEvents, Errno> {
        syscall::poll(self.n, fd)
    }

    /// `SO_ERROR`: the socket's pending error, cleared by reading it.
    pub fn take_error(&mut self, fd: Fd) -> Option<Errno> {
        self.n.socks.get_mut(fd)?.common_mut().err.take()
    }

    /// Closes every socket the app owns (see [`App::stop`]).
    pub fn close_all(&mut self) {
        let owned: Vec<(SockId, &'static str)> = self
            .n
            .socks
            .iter()
            .filter(|(_, sk)| sk.common().app == Some(self.id))
            .map(|(id, sk)| {
                let kind = match sk {
                    Socket::Tcp(_) => "tcp",
                    Socket::Udp(_) => "udp",
                    Socket::Ping(_) => "ping",
                    Socket::Raw(_) => "raw",
                    Socket::Packet(_) => "packet",
                };
                (id, kind)
            })
            .collect();
        for (sock, kind) in owned {
            match kind {
                "tcp" => crate::tcp::tcp_close(self.n, &mut self.net, sock),
                "udp" => crate::sock::udp::udp_close(self.n, &mut self.net, sock),
                "raw" => crate::sock::raw::raw_close(self.n, &mut self.net, sock),
                "packet" => crate::sock::packet::packet_release(self.n, &mut self.net, sock),
                _ => crate::sock::ping::ping_close(self.n, sock),
            }
        }
    }
}

/// An app of the world: which node it runs on, and whether it was stopped.
#[derive(Debug)]
pub struct AppSlot {
    /// The node it runs on.
    pub node: usize,
    /// The app.
    pub app: Box<dyn App>,
    /// Stopped at its `until`: it acts no more.
    pub stopped: bool,
    /// The bytes it has sent and received.
    pub io: AppIo,
}

/// The results of an app, for the summary and `stats.json`.
///
/// The reports larger than a few words are boxed: every app's report is held until
/// `stats.json` is written (in each node's map of apps, whose B-tree leaves have room for 11),
/// so the enum's size is paid per app of the run. `AppReport` stays at 80 bytes (a test says
/// so); a user app's report is inline.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "app", rename_all = "snake_case")]
pub enum AppReport {
    /// `ping`'s closing statistics.
    Ping(Box<ping::PingReport>),
    /// The DNS server's counters.
    DnsServer(dns_server::DnsServerReport),
    /// curl's `-w` figures.
    Curl(Box<curl::CurlReport>),
    /// The HTTP server's counters.
    HttpServer(http_server::HttpServerReport),
    /// The bulk sender's outcome.
    TcpBulk(Box<bulk::TcpBulkReport>),
    /// The sink's outcome.
    TcpSink(bulk::TcpSinkReport),
    /// The CBR sender's counters.
    UdpCbr(udp_cbr::UdpCbrReport),
    /// The UDP sink's counters.
    UdpSink(udp_cbr::UdpSinkReport),
    /// What a `craft` app sent.
    Craft(craft::CraftReport),
    /// A capture replay's counters.
    Replay(Box<replay::ReplayReport>),
    /// A data-centre workload's flows (boxed: the report holds every flow, and every app's
    /// report is kept until stats.json is written).
    DcFlows(Box<dc_flows::DcFlowsReport>),
    /// A user app's figures.
    #[serde(untagged)]
    User(UserReport),
}

/// What a user app reports: its figures in `stats.json` (under its name, after an `app`
/// key as the built-in apps' reports have), and one line for the run's summary.
#[derive(Debug, Clone, PartialEq)]
pub struct UserReport {
    /// The app's name in the language.
    pub app: String,
    /// The summary's line (after the node's name).
    pub summary: String,
    /// The figures, in order.
    pub fields: Vec<(String, ReportValue)>,
}

/// A figure of a [`UserReport`].
#[derive(Debug, Clone, PartialEq)]
pub enum ReportValue {
    /// A count.
    UInt(u64),
    /// A signed number.
    Int(i64),
    /// A measurement.
    Float(f64),
    /// Text.
    Text(String),
    /// A list (a histogram's buckets, samples).
    List(Vec<Self>),
    /// Named figures.
    Map(Vec<(String, Self)>),
}

impl Serialize for UserReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.fields.len() + 1))?;
        m.serialize_entry("app", &self.app)?;
        for (k, v) in &self.fields {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for ReportValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Self::UInt(v) => s.serialize_u64(*v),
            Self::Int(v) => s.serialize_i64(*v),
            Self::Float(v) => s.serialize_f64(*v),
            Self::Text(v) => s.serialize_str(v),
            Self::List(v) => v.serialize(s),
            Self::Map(v) => {
                let mut m = s.serialize_map(Some(v.len()))?;
                for (k, x) in v {
                    m.serialize_entry(k, x)?;
                }
                m.end()
            }
        }
    }
}

impl AppReport {
    /// The app's kind as the language names it (`ping`, `tcp_bulk`, …): the key of its
    /// report in `stats.json`.
    pub fn kind(&self) -> &str {
        match self {
            Self::Ping(_) => "ping",
            Self::DnsServer(_) => "dns_server",
            Self::Curl(_) => "curl",
            Self::HttpServer(_) => "http_server",
            Self::TcpBulk(_) => "tcp_bulk",
            Self::TcpSink(_) => "tcp_sink",
            Self::UdpCbr(_) => "udp_cbr",
            Self::UdpSink(_) => "udp_sink",
            Self::Craft(_) => "craft",
            Self::Replay(_) => "replay",
            Self::DcFlows(_) => "dc_flows",
            Self::User(u) => &u.app,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AppReport;

    /// Every app's report is held until the end of the run; a large variant added inline
    /// would cost its size in every app of a 10^6-host scenario (and 11 times that in the
    /// B-tree leaf of a node with one app).
    #[test]
    fn app_report_stays_small() {
        assert!(
            std::mem::size_of::<AppReport>() <= 80,
            "AppReport is {} bytes: box the new variant",
            std::mem::size_of::<AppReport>()
        );
    }
}
