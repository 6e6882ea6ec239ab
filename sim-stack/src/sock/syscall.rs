//! The socket calls an application makes, with Linux's semantics and errno values
//! (`net/socket.c` and the `inet_*`, `tcp_*`, `udp_*` and `ping_*` operations behind it):
//! [`socket`], [`bind`], [`listen`], [`accept`], [`connect`], [`send`]/[`sendto`],
//! [`recv`]/[`recvfrom`], [`shutdown`], [`close`], [`setsockopt`], [`getsockopt`],
//! [`ioctl`], [`fcntl_set_nonblock`], [`getsockname`], [`getpeername`] (and their
//! `_addr` forms for either family) and [`poll`].
//!
//! A descriptor is the socket's id in its node's table ([`Fd`]). The calls never block: a
//! call that would block returns `EAGAIN` (`EINPROGRESS` for `connect`), as on a
//! non-blocking socket. A caller with a blocking socket parks until [`poll`] says the
//! socket is ready — it is woken ([`crate::apps::App::wake`]) at the instant the kernel
//! would wake a sleeping process (`sk_data_ready`, `sk_write_space`, `sk_state_change`,
//! `sk_error_report`) — and makes the call again, as the kernel's `sk_wait_event` loop
//! does.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use crate::sock::udp6::{udpv6_bind, udpv6_connect, udpv6_sendmsg};

use crate::ctx::NetCtx;
use crate::node::Node;
use crate::sock::packet::{PacketKind, SockaddrLl};
use crate::sock::ping::{ping_close, ping_socket_unbound};
use crate::sock::udp::{udp_bind, udp_close, udp_connect, udp_recvmsg_flags, udp_sendmsg};
use crate::sock::{Errno, MsgFlags, PmtuDisc, SockId, Socket};
use crate::tcp::info::{TcpInfo, tcp_get_info};
use crate::tcp::{
    TCP_NAGLE_CORK, TCP_NAGLE_OFF, TCP_NAGLE_PUSH, TcpState, tcp_accept, tcp_bind, tcp_close,
    tcp_connect, tcp_listen, tcp_recv_flags, tcp_sendmsg_end, tcp_sendmsg_to, tcp_sendmsg_wait,
    tcp_shutdown,
};

/// A socket descriptor: the socket's id in its node's table.
pub type Fd = SockId;

/// `IPPROTO_ICMP`.
pub const IPPROTO_ICMP: u8 = 1;
/// `IPPROTO_ICMPV6`.
pub const IPPROTO_ICMPV6: u8 = 58;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u8 = 6;

/// A socket's address family (`AF_*`, the `domain` of `socket()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// `AF_INET`.
    Inet,
    /// `AF_INET6`: TCP (`SOCK_STREAM`, [`crate::tcp::ipv6`]), UDP (`SOCK_DGRAM`,
    /// [`crate::sock::udp6`]) and ICMPv6 echo sockets (`IPPROTO_ICMPV6`).
    Inet6,
    /// `AF_PACKET`: link-layer frames ([`crate::sock::packet`]), `SOCK_RAW` or `SOCK_DGRAM`.
    Packet,
}
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u8 = 17;

/// `SOCK_*` types of `AF_INET` sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockType {
    /// `SOCK_STREAM`: TCP.
    Stream,
    /// `SOCK_DGRAM`: UDP, or ICMP echo (`IPPROTO_ICMP`, a ping socket).
    Dgram,
    /// `SOCK_RAW`: an `AF_PACKET` socket's frames with their link-layer header; an `AF_INET`
    /// raw IPv4 socket of any protocol but 0 ([`crate::sock::raw`]).
    Raw,
}

/// `shutdown()`'s `how`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// `SHUT_RD`.
    Read,
    /// `SHUT_WR`.
    Write,
    /// `SHUT_RDWR`.
    Both,
}

/// `poll()` events, with Linux's values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollEvents(pub u16);

impl PollEvents {
    /// `POLLIN`.
    pub const IN: Self = Self(0x1);
    /// `POLLPRI`.
    pub const PRI: Self = Self(0x2);
    /// `POLLOUT`.
    pub const OUT: Self = Self(0x4);
    /// `POLLERR`.
    pub const ERR: Self = Self(0x8);
    /// `POLLHUP`.
    pub const HUP: Self = Self(0x10);
    /// `POLLRDNORM`.
    pub const RDNORM: Self = Self(0x40);
    /// `POLLWRNORM`.
    pub const WRNORM: Self = Self(0x100);
    /// `POLLRDHUP`.
    pub const RDHUP: Self = Self(0x2000);

    /// Whether every event of `other` is set.
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any event of `other` is set.
    pub fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }
}

impl std::ops::BitOr for PollEvents {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for PollEvents {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

/// What `recvmsg` returns besides the bytes copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvMsg {
    /// The call's return value: bytes copied (with `MSG_TRUNC` on a datagram socket, the
    /// datagram's whole length); 0 at end of stream.
    pub len: usize,
    /// The sender (datagram sockets), in the socket's family: an `AF_INET6` socket sees an
    /// IPv4 sender v4-mapped (`[::ffff:10.0.0.2]:5000`).
    pub from: Option<SocketAddr>,
    /// `MSG_TRUNC` in `msg_flags`: the datagram was longer than the buffer.
    pub truncated: bool,
}

/// A socket option to set (`setsockopt`), with its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockOpt {
    /// `SO_SNDBUF` (bytes asked for; the kernel doubles it).
    SndBuf(u32),
    /// `SO_RCVBUF`.
    RcvBuf(u32),
    /// `SO_REUSEADDR`.
    ReuseAddr(bool),
    /// `SO_LINGER`: `Some(seconds)` on.
    Linger(Option<u32>),
    /// `TCP_NODELAY`.
    NoDelay(bool),
    /// `TCP_CORK`.
    Cork(bool),
    /// `TCP_MAXSEG`.
    MaxSeg(u32),
    /// `TCP_CONGESTION`.
    Congestion(String),
    /// `TCP_NOTSENT_LOWAT`.
    NotSentLowat(u32),
    /// `TCP_USER_TIMEOUT`, ms.
    UserTimeout(u32),
    /// `IP_TOS`.
    Tos(u8),
    /// `SO_PRIORITY`: `skb->priority` of the socket's packets (any value: the simulated
    /// processes have `CAP_NET_ADMIN`, which Linux requires above 6).
    Priority(u32),
    /// `IP_TTL` (`None`: -1, the default).
    Ttl(Option<u8>),
    /// `IP_RECVERR`.
    RecvErr(bool),
    /// `IP_MTU_DISCOVER`.
    MtuDiscover(PmtuDisc),
    /// `IP_FREEBIND`.
    FreeBind(bool),
    /// `TCP_INQ`.
    Inq(bool),
    /// `SO_OOBINLINE`: urgent data stays in the stream.
    OobInline(bool),
    /// `SO_TIMESTAMPING`: `SOF_TIMESTAMPING_*` flags ([`crate::sock::errqueue`]).
    Timestamping(u32),
    /// `TCP_FASTOPEN_CONNECT` (0 or 1; other values are `EINVAL`): `connect()` defers the
    /// SYN to the first write when a Fast Open cookie is cached, and the SYN carries the
    /// write's data.
    FastOpenConnect(i32),
    /// `TCP_FASTOPEN_NO_COOKIE` (0 or 1): Fast Open data in the SYN without a cookie.
    FastOpenNoCookie(i32),
    /// `IPV6_V6ONLY` (before `bind`; `EINVAL` after): no IPv4 traffic on an `AF_INET6`
    /// socket.
    V6Only(bool),
    /// `IPV6_UNICAST_HOPS`: -1 (the route's) to 255.
    UnicastHops(i32),
    /// `IPV6_RECVERR`.
    RecvErr6(bool),
    /// `IP_HDRINCL` (raw sockets only; `ENOPROTOOPT` on others): the caller writes the IP
    /// header.
    HdrIncl(bool),
    /// `PACKET_QDISC_BYPASS` of an `AF_PACKET` socket: its frames go to the driver
    /// directly, past the qdisc and the taps ([`crate::sock::packet`]).
    PacketQdiscBypass(bool),
}

/// A socket option to read (`getsockopt`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SockOptName {
    /// `SO_TYPE`.
    Type,
    /// `SO_ERROR` (reading clears it).
    Error,
    /// `SO_SNDBUF`.
    SndBuf,
    /// `SO_RCVBUF`.
    RcvBuf,
    /// `SO_REUSEADDR`.
    ReuseAddr,
    /// `SO_LINGER`.
    Linger,
    /// `TCP_NODELAY`.
    NoDelay,
    /// `TCP_CORK`.
    Cork,
    /// `TCP_MAXSEG`.
    MaxSeg,
    /// `TCP_INFO`.
    Info,
    /// `TCP_CONGESTION`.
    Congestion,
    /// `TCP_NOTSENT_LOWAT`.
    NotSentLowat,
    /// `TCP_USER_TIMEOUT`.
    UserTimeout,
    /// `IP_TOS`.
    Tos,
    /// `SO_PRIORITY`.
    Priority,
    /// `IP_TTL`.
    Ttl,
    /// `IP_RECVERR`.
    RecvErr,
    /// `IP_MTU_DISCOVER`.
    MtuDiscover,
    /// `TCP_INQ`.
    Inq,
    /// `SO_OOBINLINE`.
    OobInline,
    /// `SO_TIMESTAMPING`: the flags.
    Timestamping,
    /// `TCP_FASTOPEN_CONNECT`.
    FastOpenConnect,
    /// `TCP_FASTOPEN_NO_COOKIE`.
    FastOpenNoCookie,
    /// `IPV6_V6ONLY`.
    V6Only,
    /// `IPV6_UNICAST_HOPS` (-1 reads as the hop limit the socket's packets get).
    UnicastHops,
    /// `IPV6_RECVERR`.
    RecvErr6,
    /// `IP_HDRINCL`.
    HdrIncl,
    /// `PACKET_STATISTICS` of an `AF_PACKET` socket (reading resets the counters).
    PacketStatistics,
    /// `PACKET_QDISC_BYPASS`.
    PacketQdiscBypass,
}

/// A value `getsockopt` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockOptValue {
    /// An `int` option.
    Int(i64),
    /// `SO_LINGER`: `Some(seconds)` when on.
    Linger(Option<u32>),
    /// `TCP_CONGESTION`.
    Name(String),
    /// `TCP_INFO`.
    Info(Box<TcpInfo>),
    /// `PACKET_STATISTICS`.
    PacketStats(crate::sock::packet::TpacketStats),
}

/// `ioctl` requests on sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ioctl {
    /// `SIOCINQ` (`FIONREAD`): bytes waiting to be read (a datagram socket: the next
    /// datagram's length).
    InQ,
    /// `SIOCOUTQ` (`TIOCOUTQ`): bytes not yet acknowledged (TCP) or not yet sent (UDP).
    OutQ,
    /// `SIOCOUTQNSD`: bytes not yet sent (TCP).
    OutQNotSent,
    /// `SIOCATMARK`: 1 when the next byte to read is at the urgent mark (TCP).
    AtMark,
}

/// `SOCK_MIN_SNDBUF`: `2 × (2048 + sizeof(struct sk_buff))` on x86-64.
pub const SOCK_MIN_SNDBUF: u32 = 4608;
/// `SOCK_MIN_RCVBUF`: `2048 + sizeof(struct sk_buff)`.
pub const SOCK_MIN_RCVBUF: u32 = 2304;

/// `socket(AF_INET, ty, protocol)` owned by `owner` (an app index): a TCP, UDP, ping or raw
/// socket. `protocol` 0 picks the type's protocol (a raw socket needs one).
pub fn socket(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    ty: SockType,
    protocol: u8,
    owner: Option<u32>,
) -> Result<Fd, Errno> {
    match (ty, protocol) {
        (SockType::Stream, 0 | IPPROTO_TCP) => Ok(crate::tcp::tcp_socket(n, cx, owner)),
        (SockType::Dgram, 0 | IPPROTO_UDP) => Ok(crate::sock::udp::udp_socket(n, owner)),
        (SockType::Dgram, IPPROTO_ICMP) => Ok(ping_socket_unbound(n, owner)),
        (SockType::Raw, p) => crate::sock::raw::raw_socket(n, p, owner),
        _ => Err(Errno::ProtoNoSupport),
    }
}

/// `socket(domain, ty, protocol)`: [`socket`] for `AF_INET`; for `AF_INET6`, a TCP
/// ([`crate::tcp::ipv6`]), UDP or ICMPv6 echo socket.
pub fn socket_domain(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    domain: Domain,
    ty: SockType,
    protocol: u8,
    owner: Option<u32>,
) -> Result<Fd, Errno> {
    match (domain, ty, protocol) {
        (Domain::Inet, ..) => socket(n, cx, ty, protocol, owner),
        (Domain::Inet6, SockType::Dgram, IPPROTO_ICMPV6) => {
            Ok(crate::sock::ping::ping_socket_family(n, owner, true))
        }
        (Domain::Inet6, SockType::Dgram, 0 | IPPROTO_UDP) => {
            Ok(crate::sock::udp6::udpv6_socket(n, owner))
        }
        (Domain::Inet6, SockType::Dgram, _) => Err(Errno::ProtoNoSupport),
        (Domain::Inet6, SockType::Stream, 0 | IPPROTO_TCP) => {
            Ok(crate::tcp::ipv6::tcp_v6_socket(n, cx, owner))
        }
        (Domain::Inet6, SockType::Stream, _) => Err(Errno::ProtoNoSupport),
        (Domain::Inet6, ..) => Err(Errno::AfNoSupport),
        (Domain::Packet, ..) => socket_packet(n, ty, u16::from(protocol), owner),
    }
}

/// `socket(AF_PACKET, ty, htons(protocol))`, `protocol` in host order (`ETH_P_ALL`, an
/// EtherType, or 0 to receive nothing until a [`bind_ll`]): `SOCK_RAW` or `SOCK_DGRAM`
/// (else `ESOCKTNOSUPPORT`, reported as `EPROTONOSUPPORT`).
pub fn socket_packet(
    n: &mut Node,
    ty: SockType,
    protocol: u16,
    owner: Option<u32>,
) -> Result<Fd, Errno> {
    let kind = match ty {
        SockType::Raw => PacketKind::Raw,
        SockType::Dgram => PacketKind::Dgram,
        SockType::Stream => return Err(Errno::ProtoNoSupport),
    };
    Ok(crate::sock::packet::packet_create(n, kind, protocol, owner))
}

/// `bind()` of an `AF_PACKET` socket to a `sockaddr_ll` (device and protocol); another
/// socket takes no such address (`EINVAL`).
pub fn bind_ll(n: &mut Node, fd: Fd, addr: &SockaddrLl) -> Result<(), Errno> {
    match sock(n, fd)? {
        Socket::Packet(_) => crate::sock::packet::packet_bind(n, fd, addr),
        _ => Err(Errno::Inval),
    }
}

/// `sendto()` of an `AF_PACKET` socket, to a `sockaddr_ll` or (`None`) on its bound device.
pub fn sendto_ll(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    data: &[u8],
    to: Option<&SockaddrLl>,
) -> Result<usize, Errno> {
    match sock(n, fd)? {
        Socket::Packet(_) => crate::sock::packet::packet_sendmsg(n, cx, fd, data, to),
        _ => Err(Errno::AfNoSupport),
    }
}

/// `recvfrom()` of an `AF_PACKET` socket: the frame and its `sockaddr_ll`.
pub fn recvfrom_ll(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    buf: Option<&mut [u8]>,
    len: usize,
    flags: MsgFlags,
) -> Result<(RecvMsg, SockaddrLl), Errno> {
    match sock(n, fd)? {
        Socket::Packet(_) => crate::sock::packet::packet_recvmsg(n, cx, fd, buf, len, flags),
        _ => Err(Errno::OpNotSupp),
    }
}

/// `getsockname()` of an `AF_PACKET` socket (`packet_getname`).
pub fn getsockname_ll(n: &mut Node, fd: Fd) -> Result<SockaddrLl, Errno> {
    match sock(n, fd)? {
        Socket::Packet(_) => crate::sock::packet::packet_getname(n, fd),
        _ => Err(Errno::OpNotSupp),
    }
}

/// `fcntl(F_SETFL, O_NONBLOCK)` (or without it).
pub fn fcntl_set_nonblock(n: &mut Node, fd: Fd, on: bool) -> Result<(), Errno> {
    sock(n, fd)?.common_mut().nonblock = on;
    Ok(())
}

fn sock(n: &mut Node, fd: Fd) -> Result<&mut Socket, Errno> {
    n.socks.get_mut(fd).ok_or(Errno::BadF)
}

/// `bind()`: an address of the socket's family (else `EAFNOSUPPORT`).
pub fn bind(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    addr: impl Into<SocketAddr>,
) -> Result<(), Errno> {
    if let Socket::Packet(_) = sock(n, fd)? {
        // packet_bind: not a sockaddr_ll.
        return Err(Errno::Inval);
    }
    let addr = match addr.into() {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(a) => {
            return match sock(n, fd)? {
                Socket::Ping(p) if p.v6 => {
                    if !a.ip().is_unspecified() && !n.fib6.is_local(*a.ip()) {
                        return Err(Errno::AddrNotAvail);
                    }
                    crate::sock::ping::ping_bind(n, fd, a.port())
                }
                Socket::Udp(u) if u.sk.pinet6.is_some() => udpv6_bind(n, cx, fd, a),
                Socket::Tcp(t) if t.sk.pinet6.is_some() => {
                    crate::tcp::ipv6::tcp_v6_bind(n, cx, fd, a).map(|_| ())
                }
                _ => Err(Errno::AfNoSupport),
            };
        }
    };
    // inet6_bind: a sockaddr_in is shorter than SIN6_LEN_RFC2133.
    if sock(n, fd)?.common().pinet6.is_some() {
        return Err(Errno::Inval);
    }
    match sock(n, fd)? {
        Socket::Ping(p) if p.v6 => return Err(Errno::AfNoSupport),
        _ => {}
    }
    match sock(n, fd)? {
        Socket::Tcp(_) => tcp_bind(n, cx, fd, *addr.ip(), addr.port()).map(|_| ()),
        Socket::Udp(u) => {
            if u.sk.sport != 0 {
                return Err(Errno::Inval);
            }
            if !addr.ip().is_unspecified() && !u.sk.freebind && !n.fib.is_local(*addr.ip()) {
                return Err(Errno::AddrNotAvail);
            }
            udp_bind(n, cx, fd, addr.port())?;
            n.socks.udp(fd).sk.saddr = *addr.ip();
            Ok(())
        }
        Socket::Ping(_) => crate::sock::ping::ping_bind(n, fd, addr.port()),
        Socket::Raw(_) => crate::sock::raw::raw_bind(n, fd, *addr.ip()),
        Socket::Packet(_) => Err(Errno::Inval),
    }
}

/// `listen()`.
pub fn listen(n: &mut Node, cx: &mut NetCtx<'_>, fd: Fd, backlog: u32) -> Result<(), Errno> {
    match sock(n, fd)? {
        Socket::Tcp(_) => tcp_listen(n, cx, fd, backlog),
        _ => Err(Errno::OpNotSupp),
    }
}

/// `accept()`: the next established connection and its peer, or `EAGAIN`. The new socket
/// belongs to the same owner and is non-blocking when `nonblock` (`accept4`'s
/// `SOCK_NONBLOCK`).
pub fn accept(n: &mut Node, fd: Fd, nonblock: bool) -> Result<(Fd, SocketAddr), Errno> {
    let owner = match sock(n, fd)? {
        Socket::Tcp(t) if t.state == TcpState::Listen => t.sk.app,
        Socket::Tcp(_) => return Err(Errno::Inval),
        _ => return Err(Errno::OpNotSupp),
    };
    let child = tcp_accept(n, fd, owner)?;
    let t = n.socks.tcp(child).ok_or(Errno::BadF)?;
    t.sk.nonblock = nonblock;
    // The peer in the listener's family: an AF_INET6 child reports an IPv4 peer v4-mapped.
    let peer = match t.sk.pinet6.as_deref() {
        Some(np) => SocketAddr::V6(std::net::SocketAddrV6::new(np.daddr, t.sk.dport, 0, 0)),
        None => SocketAddr::V4(SocketAddrV4::new(t.sk.daddr, t.sk.dport)),
    };
    Ok((child, peer))
}

/// `connect()`. TCP: the SYN goes out and the call answers `EINPROGRESS` (completion
/// shows as writability, the outcome in `SO_ERROR`); with `TCP_FASTOPEN_CONNECT` and a
/// Fast Open cookie cached it answers 0 and the SYN waits for the first write. UDP and
/// ping: the peer is fixed.
pub fn connect(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    addr: impl Into<SocketAddr>,
) -> Result<(), Errno> {
    let addr = match (addr.into(), sock(n, fd)?) {
        // sock_no_connect.
        (_, Socket::Packet(_)) => return Err(Errno::OpNotSupp),
        (a, Socket::Udp(u)) if u.sk.pinet6.is_some() => return udpv6_connect(n, cx, fd, a),
        (a, Socket::Tcp(t)) if t.sk.pinet6.is_some() => {
            if let Some(e) = t.sk.err.take() {
                return Err(e);
            }
            crate::tcp::ipv6::tcp_v6_connect(n, cx, fd, a)?;
            if n.socks.tcp(fd).is_some_and(|t| t.fo.defer_connect) {
                return Ok(());
            }
            return Err(Errno::InProgress);
        }
        (SocketAddr::V4(a), _) => a,
        // inet_dgram_connect / tcp_v4_connect: not a sockaddr_in.
        (SocketAddr::V6(_), _) => return Err(Errno::AfNoSupport),
    };
    match sock(n, fd)? {
        Socket::Tcp(t) => {
            if let Some(e) = t.sk.err.take() {
                return Err(e);
            }
            tcp_connect(n, cx, fd, *addr.ip(), addr.port())?;
            if n.socks.tcp(fd).is_some_and(|t| t.fo.defer_connect) {
                return Ok(());
            }
            Err(Errno::InProgress)
        }
        Socket::Udp(_) => udp_connect(n, cx, fd, *addr.ip(), addr.port()),
        Socket::Ping(p) => {
            p.sk.daddr = *addr.ip();
            Ok(())
        }
        Socket::Raw(_) => crate::sock::raw::raw_connect(n, fd, *addr.ip()),
        Socket::Packet(_) => Err(Errno::OpNotSupp),
    }
}

/// `send()`: on a connected socket.
pub fn send(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    data: &[u8],
    flags: MsgFlags,
) -> Result<usize, Errno> {
    sendto(n, cx, fd, data, None, flags)
}

/// `sendto()`: to `to`, or the connected peer (TCP ignores `to`, but with `MSG_FASTOPEN`,
/// which connects to it). A ping socket takes the ICMP echo header and data, as Linux's
/// does (its type must be 8, echo request; the ident is the socket's).
pub fn sendto(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    data: &[u8],
    to: Option<SocketAddrV4>,
    flags: MsgFlags,
) -> Result<usize, Errno> {
    sendto_size(n, cx, fd, (data, data.len()), to.map(SocketAddr::V4), flags)
}

/// [`sendto`] of a buffer of `size` bytes of which only the first `data.len()` can be read
/// (the copy faults after them, as with a NULL or unmapped pointer). The stack copies
/// `data`; the faulting rest matters only to a Fast Open SYN, which takes none of a write
/// it cannot read from, and sends a plain SYN instead. Whether the call then fails with
/// `EFAULT` is the caller's to say (the bytes copied, if any, are returned first).
pub fn sendto_size(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    (data, size): (&[u8], usize),
    to: Option<SocketAddr>,
    flags: MsgFlags,
) -> Result<usize, Errno> {
    sendto_step(n, cx, fd, (data, size), to, flags, false)
}

/// `sendto()` with an address of either family (`sockaddr_in` or `sockaddr_in6`): one of
/// the other family than the socket's fails with `EAFNOSUPPORT`.
pub fn sendto_addr(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    data: &[u8],
    to: Option<SocketAddr>,
    flags: MsgFlags,
) -> Result<usize, Errno> {
    sendto_step(n, cx, fd, (data, data.len()), to, flags, false)
}

/// [`sendto_size`], or with `wait` one step of a blocking TCP send ([`sendto_wait`]).
fn sendto_step(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    (data, size): (&[u8], usize),
    to: Option<SocketAddr>,
    flags: MsgFlags,
    wait: bool,
) -> Result<usize, Errno> {
    let to_any = to;
    let to = match (to, sock(n, fd)?) {
        // An AF_PACKET socket takes a sockaddr_ll only (sendto_ll); without an address it
        // sends on its bound device.
        (Some(_), Socket::Packet(_)) => return Err(Errno::Inval),
        (None, Socket::Packet(_)) => {
            return crate::sock::packet::packet_sendmsg(n, cx, fd, data, None);
        }
        (to, Socket::Udp(u)) if u.sk.pinet6.is_some() => {
            return udpv6_sendmsg(n, cx, fd, to, data, 0);
        }
        (Some(SocketAddr::V6(a)), Socket::Ping(p)) if p.v6 => {
            if data.len() < 8 || data[0] != 128 || data[1] != 0 {
                return Err(Errno::Inval);
            }
            let seq = u16::from_be_bytes([data[6], data[7]]);
            crate::sock::ping::ping_v6_sendmsg(n, cx, fd, *a.ip(), seq, &data[8..])?;
            return Ok(data.len());
        }
        (None, Socket::Ping(p)) if p.v6 => return Err(Errno::DestAddrReq),
        (Some(SocketAddr::V4(_)), Socket::Ping(p)) if p.v6 => return Err(Errno::AfNoSupport),
        (Some(SocketAddr::V6(_)), Socket::Udp(_) | Socket::Ping(_) | Socket::Raw(_)) => {
            return Err(Errno::AfNoSupport);
        }
        // tcp_sendmsg_fastopen → tcp_v6_connect: a sockaddr_in is EAFNOSUPPORT.
        (Some(SocketAddr::V4(_)), Socket::Tcp(t))
            if t.sk.pinet6.is_some() && flags.contains(MsgFlags::FASTOPEN) =>
        {
            return Err(Errno::AfNoSupport);
        }
        (Some(SocketAddr::V6(_)), Socket::Tcp(_)) => None,
        (Some(SocketAddr::V4(a)), _) => Some(a),
        (None, _) => None,
    };
    match sock(n, fd)? {
        // tcp_sendmsg never reads the address (outside Fast Open, which connects to it, of
        // either family): a connected socket sends to its peer, an unconnected one fails as
        // a send does (EPIPE).
        Socket::Tcp(_) => {
            let to = to_any;
            if wait {
                tcp_sendmsg_wait(n, cx, fd, (data, size), to, flags)
            } else {
                tcp_sendmsg_to(n, cx, fd, (data, size), to, flags)
            }
        }
        Socket::Udp(_) => udp_sendmsg(n, cx, fd, to.map(|a| (*a.ip(), a.port())), data),
        Socket::Ping(p) => {
            if data.len() < 8 || data[0] != 8 || data[1] != 0 {
                return Err(Errno::Inval);
            }
            let dst = match to {
                Some(a) => *a.ip(),
                None if !p.sk.daddr.is_unspecified() => p.sk.daddr,
                None => return Err(Errno::DestAddrReq),
            };
            let seq = u16::from_be_bytes([data[6], data[7]]);
            crate::sock::ping::ping_sendmsg(n, cx, fd, dst, seq, &data[8..])?;
            Ok(data.len())
        }
        Socket::Raw(_) => crate::sock::raw::raw_sendmsg(n, cx, fd, to.map(|a| *a.ip()), data),
        Socket::Packet(_) => crate::sock::packet::packet_sendmsg(n, cx, fd, data, None),
    }
}

/// One step of `sendto()` on a blocking TCP socket ([`tcp_sendmsg_wait`]): a write not all
/// taken will sleep for room and be made again for the rest, so the work of the call's end
/// waits for the step that takes the last byte (or for [`send_wait_end`]). Other sockets
/// send as [`sendto`] does.
pub fn sendto_wait(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    (data, size): (&[u8], usize),
    to: Option<SocketAddr>,
    flags: MsgFlags,
) -> Result<usize, Errno> {
    sendto_step(n, cx, fd, (data, size), to, flags, true)
}

/// A blocking send on `fd` that copied some bytes returns early, stopped by an error while
/// it waited ([`tcp_sendmsg_end`]).
pub fn send_wait_end(n: &mut Node, fd: Fd) {
    if matches!(n.socks.get(fd), Some(Socket::Tcp(_))) {
        tcp_sendmsg_end(n, fd);
    }
}

/// `sendmsg()` with two iovecs, `head` and then `zeros` zero bytes (what a traffic
/// generator sends): the same datagram or stream bytes as [`sendto`] with the zeros written
/// out, which the stack copies but does not sum (zeros add nothing to a checksum).
#[inline]
pub fn sendmsg_zeros(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    head: &[u8],
    zeros: usize,
    to: Option<SocketAddrV4>,
) -> Result<usize, Errno> {
    match sock(n, fd)? {
        Socket::Udp(u) if u.sk.pinet6.is_none() => crate::sock::udp::udp_sendmsg_zero_padded(
            n,
            cx,
            fd,
            to.map(|a| (*a.ip(), a.port())),
            head,
            zeros,
        ),
        _ => sendmsg_zeros_other(n, cx, fd, head, zeros, to),
    }
}

/// [`sendmsg_zeros`] on anything but an `AF_INET` UDP socket, kept out of line so that the
/// traffic generators' datagram send stays small enough to inline.
#[cold]
#[inline(never)]
fn sendmsg_zeros_other(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    head: &[u8],
    zeros: usize,
    to: Option<SocketAddrV4>,
) -> Result<usize, Errno> {
    if let Socket::Udp(_) = sock(n, fd)? {
        return udpv6_sendmsg(n, cx, fd, to.map(SocketAddr::V4), head, zeros);
    }
    let mut data = head.to_vec();
    data.resize(head.len() + zeros, 0);
    sendto(n, cx, fd, &data, to, MsgFlags::NONE)
}

/// [`sendmsg_zeros`] to an address of either family (`sockaddr_in` or `sockaddr_in6`).
pub fn sendmsg_zeros_addr(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    head: &[u8],
    zeros: usize,
    to: Option<SocketAddr>,
) -> Result<usize, Errno> {
    match (to, sock(n, fd)?) {
        (to, Socket::Udp(u)) if u.sk.pinet6.is_some() => udpv6_sendmsg(n, cx, fd, to, head, zeros),
        (Some(SocketAddr::V6(_)), Socket::Udp(_)) => Err(Errno::AfNoSupport),
        (Some(SocketAddr::V6(a)), _) => {
            let mut data = head.to_vec();
            data.resize(head.len() + zeros, 0);
            sendto_addr(n, cx, fd, &data, Some(SocketAddr::V6(a)), MsgFlags::NONE)
        }
        (Some(SocketAddr::V4(a)), _) => sendmsg_zeros(n, cx, fd, head, zeros, Some(a)),
        (None, _) => sendmsg_zeros(n, cx, fd, head, zeros, None),
    }
}

/// `sendmmsg()` on a connected UDP socket: the datagrams back to back at the same instant
/// (as glibc's resolver sends its A and AAAA queries). Returns how many were sent.
pub fn sendmmsg(n: &mut Node, cx: &mut NetCtx<'_>, fd: Fd, msgs: &[&[u8]]) -> Result<usize, Errno> {
    match sock(n, fd)? {
        Socket::Udp(_) => crate::sock::udp::udp_sendmmsg(n, cx, fd, msgs),
        _ => Err(Errno::OpNotSupp),
    }
}

/// `recv()`.
pub fn recv(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    buf: Option<&mut [u8]>,
    len: usize,
    flags: MsgFlags,
) -> Result<RecvMsg, Errno> {
    recvfrom(n, cx, fd, buf, len, flags)
}

/// `recvfrom()` into `buf` (or nowhere: `None` with `MSG_TRUNC` on TCP discards), up to
/// `len` bytes. `MSG_PEEK` leaves the data in place. End of stream is `Ok` with length 0.
pub fn recvfrom(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    buf: Option<&mut [u8]>,
    len: usize,
    flags: MsgFlags,
) -> Result<RecvMsg, Errno> {
    if flags.contains(MsgFlags::ERRQUEUE) {
        // The error queue, without the control messages a plain receive has no room for
        // (see recv_error).
        let len = len.min(buf.as_ref().map_or(len, |b| b.len()));
        let m = recv_error(n, cx, fd, buf, len)?;
        return Ok(RecvMsg {
            len: m.len,
            from: None,
            truncated: m.truncated,
        });
    }
    match sock(n, fd)? {
        Socket::Tcp(t) => {
            if t.state == TcpState::Listen {
                return Err(Errno::NotConn);
            }
            if flags.contains(MsgFlags::OOB) {
                // tcp_recv_urg: the urgent byte (msg_flags gets MSG_OOB when it is
                // returned; with no room for it, MSG_TRUNC).
                let byte = crate::tcp::tcp_recv_oob(n, fd, flags.contains(MsgFlags::PEEK))?;
                let room = buf.as_ref().map_or(len, |b| b.len().min(len));
                return Ok(match byte {
                    Some(c) if room > 0 => {
                        if let Some(b) = buf
                            && !flags.contains(MsgFlags::TRUNC)
                        {
                            b[0] = c;
                        }
                        RecvMsg {
                            len: 1,
                            from: None,
                            truncated: false,
                        }
                    }
                    Some(_) => RecvMsg {
                        len: 0,
                        from: None,
                        truncated: true,
                    },
                    None => RecvMsg {
                        len: 0,
                        from: None,
                        truncated: false,
                    },
                });
            }
            if t.sk.shut_rd && t.rcvq.is_empty() {
                return Ok(RecvMsg {
                    len: 0,
                    from: None,
                    truncated: false,
                });
            }
            let k = tcp_recv_flags(n, cx, fd, buf, len, flags)?;
            Ok(RecvMsg {
                len: k,
                from: None,
                truncated: false,
            })
        }
        Socket::Udp(u) => {
            if u.sk.shut_rd && u.rx.is_empty() {
                return Ok(RecvMsg {
                    len: 0,
                    from: None,
                    truncated: false,
                });
            }
            udp_recvmsg_flags(n, cx, fd, buf, len, flags)
        }
        Socket::Ping(_) => Err(Errno::OpNotSupp),
        Socket::Raw(_) => {
            let (k, whole, src) =
                crate::sock::raw::raw_recvmsg(n, cx, fd, buf, len, flags.contains(MsgFlags::PEEK))?;
            Ok(RecvMsg {
                len: if flags.contains(MsgFlags::TRUNC) {
                    whole
                } else {
                    k
                },
                from: Some(SocketAddr::V4(SocketAddrV4::new(src, 0))),
                truncated: whole > k,
            })
        }
        Socket::Packet(_) => {
            crate::sock::packet::packet_recvmsg(n, cx, fd, buf, len, flags).map(|(m, _)| m)
        }
    }
}

/// `recvmsg(MSG_ERRQUEUE)` into `buf` (`None`: a bad address) of `len` bytes
/// (`inet_recv_error` → [`ip_recv_error`](crate::sock::errqueue::ip_recv_error)): the
/// oldest entry of the socket's error queue — its packet's bytes, whether they were cut
/// (`MSG_TRUNC`), the software timestamp to report in `SCM_TIMESTAMPING` and the
/// `IP_RECVERR` error — or `EAGAIN`. Never blocks.
pub fn recv_error(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    fd: Fd,
    buf: Option<&mut [u8]>,
    len: usize,
) -> Result<crate::sock::errqueue::ErrMsg, Errno> {
    sock(n, fd)?;
    crate::sock::errqueue::ip_recv_error(n, cx, fd, buf, len)
}

/// `shutdown()`.
pub fn shutdown(n: &mut Node, cx: &mut NetCtx<'_>, fd: Fd, how: Shutdown) -> Result<(), Errno> {
    match sock(n, fd)? {
        Socket::Tcp(t) => {
            if matches!(
                t.state,
                TcpState::Closed | TcpState::SynSent | TcpState::Listen
            ) {
                // inet_shutdown on an unconnected socket: ENOTCONN (a listener is closed,
                // as Linux does for SHUT_RD, which the model does not distinguish).
                return Err(Errno::NotConn);
            }
            if matches!(how, Shutdown::Read | Shutdown::Both) {
                t.sk.shut_rd = true;
            }
            if matches!(how, Shutdown::Write | Shutdown::Both) {
                tcp_shutdown(n, cx, fd);
            }
            crate::sock::sk_wake(n, cx, fd);
            Ok(())
        }
        Socket::Udp(u) => {
            if !u.connected {
                return Err(Errno::NotConn);
            }
            if matches!(how, Shutdown::Read | Shutdown::Both) {
                u.sk.shut_rd = true;
            }
            Ok(())
        }
        Socket::Ping(_) | Socket::Raw(_) => Err(Errno::NotConn),
        // sock_no_shutdown.
        Socket::Packet(_) => Err(Errno::OpNotSupp),
    }
}

/// `close()`. TCP with `SO_LINGER` on and a zero timeout aborts the connection (RST),
/// as `tcp_close` does; otherwise it closes gracefully (a lingering close's wait for the
/// peer's ACK, which would block the caller, is not modeled: the call returns at once).
pub fn close(n: &mut Node, cx: &mut NetCtx<'_>, fd: Fd) -> Result<(), Errno> {
    match sock(n, fd)? {
        Socket::Tcp(t) => {
            if t.sk.linger == Some(0) {
                crate::tcp::tcp_abort(n, cx, fd);
            } else {
                tcp_close(n, cx, fd);
            }
        }
        Socket::Udp(_) => udp_close(n, cx, fd),
        Socket::Ping(_) => ping_close(n, fd),
        Socket::Raw(_) => crate::sock::raw::raw_close(n, cx, fd),
        Socket::Packet(_) => crate::sock::packet::packet_release(n, cx, fd),
    }
    Ok(())
}

/// `getsockname()`.
pub fn getsockname(n: &mut Node, fd: Fd) -> Result<SocketAddrV4, Errno> {
    let c = sock(n, fd)?.common();
    Ok(SocketAddrV4::new(c.saddr, c.sport))
}

/// `getsockname()` of a socket of either family: an `AF_INET6` socket's `sockaddr_in6`
/// (`inet6_getname`: its bound address, `::` before a bind or connect chose one).
pub fn getsockname_addr(n: &mut Node, fd: Fd) -> Result<SocketAddr, Errno> {
    let c = sock(n, fd)?.common();
    Ok(match c.pinet6.as_deref() {
        Some(np) => SocketAddr::V6(std::net::SocketAddrV6::new(np.rcv_saddr, c.sport, 0, 0)),
        None => SocketAddr::V4(SocketAddrV4::new(c.saddr, c.sport)),
    })
}

/// `getpeername()` of a socket of either family (`ENOTCONN` without a peer).
pub fn getpeername_addr(n: &mut Node, fd: Fd) -> Result<SocketAddr, Errno> {
    let v4 = getpeername(n, fd)?;
    let c = sock(n, fd)?.common();
    Ok(match c.pinet6.as_deref() {
        Some(np) => SocketAddr::V6(std::net::SocketAddrV6::new(np.daddr, c.dport, 0, 0)),
        None => SocketAddr::V4(v4),
    })
}

/// `getpeername()`: `ENOTCONN` without a peer.
pub fn getpeername(n: &mut Node, fd: Fd) -> Result<SocketAddrV4, Errno> {
    let s = sock(n, fd)?;
    let connected = match s {
        Socket::Tcp(t) => !matches!(t.state, TcpState::Closed | TcpState::Listen),
        Socket::Udp(u) => u.connected,
        Socket::Ping(p) => !p.sk.daddr.is_unspecified(),
        Socket::Raw(r) => !r.sk.daddr.is_unspecified(),
        // packet_getname with peer set.
        Socket::Packet(_) => return Err(Errno::OpNotSupp),
    };
    if !connected {
        return Err(Errno::NotConn);
    }
    let c = s.common();
    Ok(SocketAddrV4::new(c.daddr, c.dport))
}

/// `setsockopt()`.
pub fn setsockopt(n: &mut Node, cx: &mut NetCtx<'_>, fd: Fd, opt: SockOpt) -> Result<(), Errno> {
    let wmem_max = n.sysctl.wmem_max;
    let rmem_max = n.sysctl.rmem_max;
    let is_tcp = matches!(sock(n, fd)?, Socket::Tcp(_));
    let tcp_only = |ok: bool| if ok { Ok(()) } else { Err(Errno::NoProtoOpt) };
    if matches!(sock(n, fd)?, Socket::Packet(_))
        && !matches!(
            opt,
            SockOpt::SndBuf(_)
                | SockOpt::RcvBuf(_)
                | SockOpt::ReuseAddr(_)
                | SockOpt::Linger(_)
                | SockOpt::Priority(_)
                | SockOpt::PacketQdiscBypass(_)
        )
    {
        // An AF_PACKET socket has the SOL_SOCKET options and its own, no IP or TCP ones.
        return Err(Errno::NoProtoOpt);
    }
    match opt {
        SockOpt::PacketQdiscBypass(on) => match sock(n, fd)? {
            Socket::Packet(p) => p.qdisc_bypass = on,
            _ => return Err(Errno::NoProtoOpt),
        },
        SockOpt::SndBuf(v) => {
            // sk_setsockopt: min(val, wmem_max) doubled, at least SOCK_MIN_SNDBUF; the
            // stack stops tuning it.
            let c = sock(n, fd)?.common_mut();
            c.sndbuf = v.min(wmem_max).saturating_mul(2).max(SOCK_MIN_SNDBUF);
            c.sndbuf_locked = true;
        }
        SockOpt::RcvBuf(v) => {
            let c = sock(n, fd)?.common_mut();
            c.rcvbuf = v.min(rmem_max).saturating_mul(2).max(SOCK_MIN_RCVBUF);
            c.rcvbuf_locked = true;
        }
        SockOpt::ReuseAddr(on) => sock(n, fd)?.common_mut().reuseaddr = on,
        SockOpt::Linger(l) => sock(n, fd)?.common_mut().linger = l,
        SockOpt::Tos(v) => {
            let s = sock(n, fd)?;
            let c = s.common_mut();
            // __ip_sock_set_tos: a stream socket keeps its ECN bits (TCP owns them).
            let tos = if is_tcp { (v & !3) | (c.tos & 3) } else { v };
            if tos != c.tos {
                c.tos = tos;
                c.priority = crate::qdisc::rt_tos2priority(tos);
                c.dst_cache = None;
            }
        }
        SockOpt::Priority(v) => sock(n, fd)?.common_mut().priority = v,
        SockOpt::Ttl(v) => {
            if v == Some(0) {
                return Err(Errno::Inval);
            }
            sock(n, fd)?.common_mut().ttl = v;
        }
        SockOpt::RecvErr(on) => sock(n, fd)?.common_mut().recverr = on,
        SockOpt::MtuDiscover(m) => {
            let c = sock(n, fd)?.common_mut();
            c.pmtudisc = m;
            c.dst_cache = None;
        }
        SockOpt::FreeBind(on) => sock(n, fd)?.common_mut().freebind = on,
        SockOpt::OobInline(on) => sock(n, fd)?.common_mut().oobinline = on,
        SockOpt::Timestamping(v) => crate::sock::errqueue::sock_set_timestamping(n, fd, v)?,
        SockOpt::Inq(on) => {
            tcp_only(is_tcp)?;
            n.socks.tcp(fd).ok_or(Errno::NoProtoOpt)?.recvmsg_inq = on;
        }
        SockOpt::NoDelay(on) => {
            tcp_only(is_tcp)?;
            let t = n.socks.tcp(fd).ok_or(Errno::NoProtoOpt)?;
            if on {
                // __tcp_sock_set_nodelay: Nagle off, and push what waits.
                t.nonagle |= TCP_NAGLE_OFF | TCP_NAGLE_PUSH;
                crate::tcp::output::tcp_push_pending_frames(n, cx, fd);
            } else {
                t.nonagle &= !TCP_NAGLE_OFF;
            }
        }
        SockOpt::Cork(on) => {
            tcp_only(is_tcp)?;
            let t = n.socks.tcp(fd).ok_or(Errno::NoProtoOpt)?;
            if on {
                t.nonagle |= TCP_NAGLE_CORK;
            } else {
                // __tcp_sock_set_cork(false): uncork and push what is queued.
                t.nonagle &= !TCP_NAGLE_CORK;
                if t.nonagle & TCP_NAGLE_OFF != 0 {
                    t.nonagle |= TCP_NAGLE_PUSH;
                }
                crate::tcp::output::tcp_push_pending_frames(n, cx, fd);
            }
        }
        SockOpt::MaxSeg(v) => {
            tcp_only(is_tcp)?;
            // do_tcp_setsockopt: TCP_MIN_MSS (88) .. MAX_TCP_WINDOW, or 0.
            if v != 0 && !(88..=32_767).contains(&v) {
                return Err(Errno::Inval);
            }
            n.socks.tcp(fd).ok_or(Errno::NoProtoOpt)?.user_mss = v;
        }
        SockOpt::Congestion(name) => {
            tcp_only(is_tcp)?;
            let cong = crate::tcp::cong::Cong::by_name(&name).ok_or(Errno::NoEnt)?;
            let t = n.socks.tcp(fd).ok_or(Errno::NoProtoOpt)?;
            // tcp_set_congestion_control: the same algorithm keeps its state; another starts
            // afresh, initialized at once on a connection (tcp_reinit_congestion_control).
            if t.cong.name() != cong.name() {
                let had_ecn = t.cong.needs_ecn();
                t.cong = cong;
                // tcp_reinit_congestion_control: INET_ECN_xmit or INET_ECN_dontxmit (the
                // latter only when leaving an algorithm that set ECT: the classic ECN
                // path sets and clears the bits per segment anyway).
                if t.cong.needs_ecn() || had_ecn {
                    crate::tcp::cong::inet_ecn_xmit(t);
                }
                if !matches!(t.state, TcpState::Closed | TcpState::Listen) {
                    let j = crate::jiffies::jiffies(cx.now, n.jiffies_phase) as u32;
                    crate::tcp::cong::tcp_init_congestion_control(t, cx.now, j, &mut n.rng);
                }
            }
        }
        SockOpt::NotSentLowat(v) => {
            tcp_only(is_tcp)?;
            n.socks.tcp(fd).ok_or(Errno::NoProtoOpt)?.notsent_lowat = v;
            crate::sock::sk_wake(n, cx, fd);
        }
        SockOpt::UserTimeout(v) => {
            tcp_only(is_tcp)?;
            n.socks.tcp(fd).ok_or(Errno::NoProtoOpt)?.user_timeout_ms = v;
        }
        SockOpt::FastOpenConnect(v) => {
            tcp_only(is_tcp)?;
            let client = n.sysctl.tcp_fastopen & crate::tcp::fastopen::TFO_CLIENT_ENABLE != 0;
            let t = n.socks.tcp(fd).ok_or(Errno::NoProtoOpt)?;
            if !(0..=1).contains(&v) {
                return Err(Errno::Inval);
            }
            if !client {
                return Err(Errno::OpNotSupp);
            }
            if t.state != TcpState::Closed {
                return Err(Errno::Inval);
            }
            t.fo.connect = v == 1;
        }
        SockOpt::V6Only(on) => {
            let s = sock(n, fd)?;
            let bound = s.common().sport != 0;
            let Some(np) = s.common_mut().pinet6.as_deref_mut() else {
                return Err(Errno::NoProtoOpt);
            };
            if bound {
                return Err(Errno::Inval);
            }
            np.ipv6only = on;
        }
        SockOpt::UnicastHops(v) => {
            if !(-1..=255).contains(&v) {
                return Err(Errno::Inval);
            }
            match sock(n, fd)? {
                // The ping socket's hop limit is its TTL field.
                Socket::Ping(p) if p.v6 => p.sk.ttl = u8::try_from(v).ok(),
                s => {
                    let Some(np) = s.common_mut().pinet6.as_deref_mut() else {
                        return Err(Errno::NoProtoOpt);
                    };
                    np.hop_limit = v as i16;
                }
            }
        }
        // ip_setsockopt: IP_HDRINCL is for SOCK_RAW only.
        SockOpt::HdrIncl(on) => match sock(n, fd)? {
            Socket::Raw(r) => r.hdrincl = on,
            _ => return Err(Errno::NoProtoOpt),
        },
        SockOpt::RecvErr6(on) => match sock(n, fd)? {
            Socket::Ping(p) if p.v6 => p.sk.recverr = on,
            s => {
                let Some(np) = s.common_mut().pinet6.as_deref_mut() else {
                    return Err(Errno::NoProtoOpt);
                };
                np.recverr = on;
            }
        },
        SockOpt::FastOpenNoCookie(v) => {
            tcp_only(is_tcp)?;
            let t = n.socks.tcp(fd).ok_or(Errno::NoProtoOpt)?;
            if !(0..=1).contains(&v) || !matches!(t.state, TcpState::Closed | TcpState::Listen) {
                return Err(Errno::Inval);
            }
            t.fo.no_cookie = v == 1;
        }
    }
    Ok(())
}

/// `getsockopt()`.
pub fn getsockopt(
    n: &mut Node,
    cx: &NetCtx<'_>,
    fd: Fd,
    name: SockOptName,
) -> Result<SockOptValue, Errno> {
    let pacing = (n.sysctl.tcp_pacing_ss_ratio, n.sysctl.tcp_pacing_ca_ratio);
    let now_j = crate::jiffies::jiffies(cx.now, n.jiffies_phase) as u32;
    if let Socket::Packet(_) = sock(n, fd)? {
        match name {
            SockOptName::PacketStatistics => {
                let st = crate::sock::packet::packet_statistics(n, fd)?;
                return Ok(SockOptValue::PacketStats(st));
            }
            SockOptName::PacketQdiscBypass => {
                let Socket::Packet(p) = sock(n, fd)? else {
                    unreachable!("a packet socket")
                };
                return Ok(SockOptValue::Int(i64::from(p.qdisc_bypass)));
            }
            SockOptName::Type
            | SockOptName::Error
            | SockOptName::SndBuf
            | SockOptName::RcvBuf
            | SockOptName::ReuseAddr
            | SockOptName::Linger
            | SockOptName::Priority => {}
            // No IP or TCP option on an AF_PACKET socket.
            _ => return Err(Errno::NoProtoOpt),
        }
    }
    let s = sock(n, fd)?;
    let int = |v: u64| Ok(SockOptValue::Int(v as i64));
    match name {
        SockOptName::Type => int(match s {
            Socket::Tcp(_) => 1,
            Socket::Raw(_) => 3,
            Socket::Packet(p) if p.kind == PacketKind::Raw => 3,
            _ => 2,
        }),
        SockOptName::PacketStatistics | SockOptName::PacketQdiscBypass => Err(Errno::NoProtoOpt),
        SockOptName::Error => {
            let e = s.common_mut().err.take();
            Ok(SockOptValue::Int(e.map_or(0, |e| i64::from(e.number()))))
        }
        SockOptName::SndBuf => int(u64::from(s.common().sndbuf)),
        SockOptName::RcvBuf => int(u64::from(s.common().rcvbuf)),
        SockOptName::ReuseAddr => int(u64::from(s.common().reuseaddr)),
        SockOptName::OobInline => int(u64::from(s.common().oobinline)),
        SockOptName::Linger => Ok(SockOptValue::Linger(s.common().linger)),
        SockOptName::Tos => int(u64::from(s.common().tos)),
        SockOptName::Priority => int(u64::from(s.common().priority)),
        SockOptName::Ttl => int(u64::from(s.common().ttl.unwrap_or(64))),
        SockOptName::RecvErr => int(u64::from(s.common().recverr)),
        SockOptName::MtuDiscover => Ok(SockOptValue::Int(s.common().pmtudisc.value())),
        SockOptName::Timestamping => int(u64::from(s.common().tsflags)),
        SockOptName::HdrIncl => match s {
            Socket::Raw(r) => int(u64::from(r.hdrincl)),
            _ => Err(Errno::NoProtoOpt),
        },
        SockOptName::V6Only | SockOptName::UnicastHops | SockOptName::RecvErr6 => {
            let ping6 = match s {
                Socket::Ping(p) if p.v6 => Some((p.sk.ttl, p.sk.recverr)),
                _ => None,
            };
            let np = s.common().pinet6.as_deref();
            match (name, ping6, np) {
                (SockOptName::V6Only, Some(_), _) => int(0),
                (SockOptName::UnicastHops, Some((ttl, _)), _) => int(u64::from(ttl.unwrap_or(64))),
                (SockOptName::RecvErr6, Some((_, r)), _) => int(u64::from(r)),
                (_, _, None) => Err(Errno::NoProtoOpt),
                (SockOptName::V6Only, _, Some(np)) => int(u64::from(np.ipv6only)),
                // -1 reads as what the packets get: the interface's hop_limit (64).
                (SockOptName::UnicastHops, _, Some(np)) => {
                    int(u64::try_from(np.hop_limit).unwrap_or(64))
                }
                (_, _, Some(np)) => int(u64::from(np.recverr)),
            }
        }
        SockOptName::NoDelay
        | SockOptName::Cork
        | SockOptName::MaxSeg
        | SockOptName::Info
        | SockOptName::Congestion
        | SockOptName::NotSentLowat
        | SockOptName::UserTimeout
        | SockOptName::Inq
        | SockOptName::FastOpenConnect
        | SockOptName::FastOpenNoCookie => {
            let Socket::Tcp(t) = s else {
                return Err(Errno::NoProtoOpt);
            };
            match name {
                SockOptName::NoDelay => int(u64::from(t.nonagle & TCP_NAGLE_OFF != 0)),
                SockOptName::Cork => int(u64::from(t.nonagle & TCP_NAGLE_CORK != 0)),
                SockOptName::MaxSeg => int(u64::from(if t.state == TcpState::Closed {
                    if t.user_mss != 0 { t.user_mss } else { 536 }
                } else {
                    t.mss_cache
                })),
                SockOptName::Congestion => Ok(SockOptValue::Name(t.cong.name().to_string())),
                SockOptName::NotSentLowat => int(u64::from(t.notsent_lowat)),
                SockOptName::UserTimeout => int(u64::from(t.user_timeout_ms)),
                SockOptName::Inq => int(u64::from(t.recvmsg_inq)),
                SockOptName::FastOpenConnect => int(u64::from(t.fo.connect)),
                SockOptName::FastOpenNoCookie => int(u64::from(t.fo.no_cookie)),
                _ => {
                    let pmtu = t.sk.dst_cache.map_or(0, |d| d.dst.mtu);
                    Ok(SockOptValue::Info(Box::new(tcp_get_info(
                        t, cx.now, now_j, pmtu, pacing,
                    ))))
                }
            }
        }
    }
}

/// `ioctl()`.
pub fn ioctl(n: &mut Node, fd: Fd, req: Ioctl) -> Result<u32, Errno> {
    match sock(n, fd)? {
        Socket::Tcp(t) => {
            if t.state == TcpState::Listen {
                return Err(Errno::Inval);
            }
            // tcp_ioctl: nothing is counted before the handshake is done (a Fast Open SYN's
            // data included).
            if matches!(t.state, TcpState::SynSent | TcpState::SynRecv) {
                return Ok(0);
            }
            Ok(match req {
                Ioctl::InQ => t.rcvq.len() as u32,
                Ioctl::OutQ => t.write_seq.wrapping_sub(t.snd_una),
                Ioctl::OutQNotSent => t.write_seq.wrapping_sub(t.snd_nxt),
                Ioctl::AtMark => u32::from(t.urg_data != 0 && t.urg_seq == t.copied_seq),
            })
        }
        Socket::Udp(u) => Ok(match req {
            Ioctl::InQ => u.rx.front().map_or(0, |d| d.data().len() as u32),
            Ioctl::OutQ => u.sk.wmem_alloc,
            Ioctl::OutQNotSent => return Err(Errno::NoProtoOpt),
            // sock_ioctl → udp_ioctl: not a UDP request.
            Ioctl::AtMark => return Err(Errno::NoTty),
        }),
        Socket::Ping(p) => Ok(match req {
            Ioctl::InQ => u32::from(!p.rx.is_empty()),
            _ => p.sk.wmem_alloc,
        }),
        Socket::Raw(r) => Ok(match req {
            Ioctl::InQ => r.rx.front().map_or(0, |p| p.skb.data().len() as u32),
            _ => r.sk.wmem_alloc,
        }),
        // packet_ioctl: SIOCINQ and SIOCOUTQ; the rest is no request of a socket's.
        Socket::Packet(p) => match req {
            Ioctl::InQ => Ok(crate::sock::packet::packet_inq(p)),
            Ioctl::OutQ => Ok(p.sk.wmem_alloc),
            Ioctl::OutQNotSent | Ioctl::AtMark => Err(Errno::NoTty),
        },
    }
}

/// `tcp_inq_hint`: with `TCP_INQ` on, what `recvmsg` reports in its `TCP_CM_INQ` control
/// message — the bytes received and not read (the peer's FIN counting as one), or 1 at
/// end of stream so that the reader reads on; `None` without `TCP_INQ`.
pub fn tcp_inq(n: &mut Node, fd: Fd) -> Option<u32> {
    let t = n.socks.tcp(fd)?;
    if !t.recvmsg_inq {
        return None;
    }
    let inq = t.rcv_nxt.wrapping_sub(t.copied_seq);
    // SOCK_DONE: the peer's FIN came, or the connection is over.
    let done = t.fin_received || t.state == TcpState::Closed;
    Some(if inq == 0 && done { 1 } else { inq })
}

/// `sk_get_meminfo` (`SO_MEMINFO`), the entries the stack keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemInfo {
    /// `SK_MEMINFO_RMEM_ALLOC`.
    pub rmem_alloc: u32,
    /// `SK_MEMINFO_RCVBUF`.
    pub rcvbuf: u32,
    /// `SK_MEMINFO_WMEM_ALLOC`.
    pub wmem_alloc: u32,
    /// `SK_MEMINFO_SNDBUF`.
    pub sndbuf: u32,
    /// `SK_MEMINFO_WMEM_QUEUED`.
    pub wmem_queued: u32,
    /// `SK_MEMINFO_BACKLOG`: always 0, as no process holds the socket locked while packets
    /// arrive.
    pub backlog: u32,
}

/// `SO_MEMINFO` of socket `fd`.
pub fn meminfo(n: &mut Node, fd: Fd) -> Option<MemInfo> {
    let s = n.socks.get(fd)?;
    let c = s.common();
    let (rmem_alloc, wmem_queued) = match s {
        Socket::Tcp(t) => (t.rmem_alloc, t.wmem_queued),
        _ => (c.rmem_alloc, 0),
    };
    Some(MemInfo {
        rmem_alloc,
        rcvbuf: c.rcvbuf,
        wmem_alloc: c.wmem_alloc,
        sndbuf: c.sndbuf,
        wmem_queued,
        backlog: 0,
    })
}

/// `poll()`: the socket's readiness, as `tcp_poll` and `datagram_poll` compute it.
pub fn poll(n: &mut Node, fd: Fd) -> Result<PollEvents, Errno> {
    let mut ev = PollEvents::default();
    match sock(n, fd)? {
        Socket::Tcp(t) => {
            if t.state == TcpState::Listen {
                if !t.accept_queue.is_empty() {
                    ev |= PollEvents::IN | PollEvents::RDNORM;
                }
                return Ok(ev);
            }
            let send_shut = t.fin_queued;
            let rcv_shut = t.fin_received || t.sk.shut_rd;
            if (send_shut && rcv_shut) || t.state == TcpState::Closed {
                ev |= PollEvents::HUP;
            }
            if rcv_shut {
                ev |= PollEvents::IN | PollEvents::RDNORM | PollEvents::RDHUP;
            }
            if !matches!(t.state, TcpState::SynSent | TcpState::SynRecv) {
                // tcp_stream_is_readable: one byte, or two when the next is an urgent byte
                // out of the stream.
                let at_mark = t.urg_data != 0 && t.urg_seq == t.copied_seq && !t.sk.oobinline;
                if t.rcvq.len() > usize::from(at_mark) {
                    ev |= PollEvents::IN | PollEvents::RDNORM;
                }
                // tcp_poll: an urgent byte waiting to be read with MSG_OOB.
                if t.urg_data & crate::tcp::urg::TCP_URG_VALID != 0 {
                    ev |= PollEvents::PRI;
                }
                if send_shut || tcp_stream_writeable(t) {
                    ev |= PollEvents::OUT | PollEvents::WRNORM;
                }
            } else if t.fo.defer_connect {
                // A deferred Fast Open connect: writable, for the write that sends the SYN.
                ev |= PollEvents::OUT | PollEvents::WRNORM;
            }
            if t.sk.err.is_some() || !t.sk.error_queue.is_empty() {
                ev |= PollEvents::ERR;
            }
        }
        Socket::Udp(u) => {
            if !u.rx.is_empty() {
                ev |= PollEvents::IN | PollEvents::RDNORM;
            }
            if u.sk.shut_rd {
                ev |= PollEvents::IN | PollEvents::RDNORM | PollEvents::RDHUP;
            }
            // sock_writeable: at most half the send buffer in use.
            if u.sk.wmem_alloc << 1 < u.sk.sndbuf {
                ev |= PollEvents::OUT | PollEvents::WRNORM;
            }
            if u.sk.err.is_some() || !u.sk.error_queue.is_empty() {
                ev |= PollEvents::ERR;
            }
        }
        Socket::Ping(p) => {
            if !p.rx.is_empty() {
                ev |= PollEvents::IN | PollEvents::RDNORM;
            }
            ev |= PollEvents::OUT | PollEvents::WRNORM;
            if !p.sk.error_queue.is_empty() {
                ev |= PollEvents::ERR;
            }
        }
        Socket::Raw(r) => {
            if !r.rx.is_empty() {
                ev |= PollEvents::IN | PollEvents::RDNORM;
            }
            ev |= PollEvents::OUT | PollEvents::WRNORM;
            if r.sk.err.is_some() {
                ev |= PollEvents::ERR;
            }
        }
        Socket::Packet(p) => {
            if p.queued() > 0 {
                ev |= PollEvents::IN | PollEvents::RDNORM;
            }
            // sock_writeable.
            if p.sk.wmem_alloc << 1 < p.sk.sndbuf {
                ev |= PollEvents::OUT | PollEvents::WRNORM;
            }
        }
    }
    Ok(ev)
}

/// `sk_stream_is_writeable`: free space at least a third of the buffer's use
/// (`sk_stream_wspace ≥ sk_stream_min_wspace`), and fewer unsent bytes than
/// `TCP_NOTSENT_LOWAT`.
fn tcp_stream_writeable(t: &crate::tcp::TcpSock) -> bool {
    let wspace = t.sk.sndbuf.saturating_sub(t.wmem_queued);
    let notsent = t.write_seq.wrapping_sub(t.snd_nxt);
    wspace >= t.wmem_queued / 2 && t.wmem_queued < t.sk.sndbuf && notsent < t.notsent_lowat
}

/// The address a call names, for traces and messages.
pub fn addr(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}
