//! Sockets: the per-host socket table, port allocation as Linux does it, send-buffer
//! accounting, errno values, and the wake-ups that drive the apps.
//!
//! A socket lives in its node's [`SocketTable`] and is named by a [`SockId`] (its slot). The
//! transport protocols look sockets up by port in ordered maps (never by scanning), and an
//! app learns that a socket became readable, writable, connected or failed through an
//! [`Event::SockWake`] scheduled at the current instant — never by a call from deep inside
//! the stack, so an app always acts on a consistent stack, as a process woken by the kernel
//! does.

pub mod errqueue;
pub mod packet;
pub mod ping;
pub mod raw;
pub mod ss_show;
pub mod syscall;
pub mod udp;
pub mod udp6;
pub mod udp_table;

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::ctx::NetCtx;
use crate::event::Event;
use crate::node::Node;
use crate::skb::Skb;
use crate::tcp::TcpSock;
pub use udp::UdpSock;

/// A socket's index in its node's table.
pub type SockId = u32;

/// Errors returned to apps, named as errno names them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, thiserror::Error,
)]
pub enum Errno {
    /// The port is in use.
    #[error("EADDRINUSE")]
    AddrInUse,
    /// No free ephemeral port.
    #[error("EADDRNOTAVAIL")]
    AddrNotAvail,
    /// No route to the network.
    #[error("ENETUNREACH")]
    NetUnreach,
    /// The neighbour could not be resolved (ICMP host unreachable).
    #[error("EHOSTUNREACH")]
    HostUnreach,
    /// ICMP host unknown.
    #[error("EHOSTDOWN")]
    HostDown,
    /// ICMP source host isolated.
    #[error("ENONET")]
    NoNet,
    /// The datagram is larger than the path allows.
    #[error("EMSGSIZE")]
    MsgSize,
    /// The qdisc dropped the datagram (reported only with `IP_RECVERR`).
    #[error("ENOBUFS")]
    NoBufs,
    /// The peer refused: ICMP port unreachable, or RST to a SYN.
    #[error("ECONNREFUSED")]
    ConnRefused,
    /// The peer reset the connection.
    #[error("ECONNRESET")]
    ConnReset,
    /// Retransmissions gave up.
    #[error("ETIMEDOUT")]
    TimedOut,
    /// Would block: the buffer is full (send) or empty (receive).
    #[error("EAGAIN")]
    Again,
    /// Writing to a socket that was shut down for writing.
    #[error("EPIPE")]
    Pipe,
    /// The socket is not connected.
    #[error("ENOTCONN")]
    NotConn,
    /// The descriptor is not a socket of the kind the call needs.
    #[error("ENOTSOCK")]
    NotSock,
    /// The address is of a family the socket does not take.
    #[error("EAFNOSUPPORT")]
    AfNoSupport,
    /// Permission denied (ICMPv6 administratively prohibited).
    #[error("EACCES")]
    Acces,
    /// Protocol error (ICMPv6 parameter problem).
    #[error("EPROTO")]
    Proto,
    /// An argument is invalid for this socket or its state.
    #[error("EINVAL")]
    Inval,
    /// A connection attempt is already under way.
    #[error("EALREADY")]
    Already,
    /// The socket is already connected.
    #[error("EISCONN")]
    IsConn,
    /// A non-blocking connect started; completion is signalled by writability.
    #[error("EINPROGRESS")]
    InProgress,
    /// The operation is not supported by this kind of socket.
    #[error("EOPNOTSUPP")]
    OpNotSupp,
    /// The protocol is not supported for this socket type.
    #[error("EPROTONOSUPPORT")]
    ProtoNoSupport,
    /// The option is not known at that level.
    #[error("ENOPROTOOPT")]
    NoProtoOpt,
    /// No such thing (an unknown congestion control).
    #[error("ENOENT")]
    NoEnt,
    /// Not permitted (a netfilter rule dropped the packet on output).
    #[error("EPERM")]
    Perm,
    /// Not a request this kind of file takes (an ioctl).
    #[error("ENOTTY")]
    NoTty,
    /// No memory for it (an error-queue entry beyond the receive buffer).
    #[error("ENOMEM")]
    NoMem,
    /// Not an open descriptor.
    #[error("EBADF")]
    BadF,
    /// A bad address for the data.
    #[error("EFAULT")]
    Fault,
    /// No destination for a send on an unconnected socket.
    #[error("EDESTADDRREQ")]
    DestAddrReq,
    /// No such device or address (an `AF_PACKET` send without a device).
    #[error("ENXIO")]
    NxIo,
    /// No such device (an `AF_PACKET` bind to an unknown ifindex).
    #[error("ENODEV")]
    NoDev,
}

impl Errno {
    /// Linux's number for it (x86-64).
    pub fn number(self) -> i32 {
        match self {
            Self::Perm => 1,
            Self::AfNoSupport => 97,
            Self::Acces => 13,
            Self::Proto => 71,
            Self::NoTty => 25,
            Self::NoEnt => 2,
            Self::BadF => 9,
            Self::NoMem => 12,
            Self::Again => 11,
            Self::Fault => 14,
            Self::Inval => 22,
            Self::Pipe => 32,
            Self::NotSock => 88,
            Self::DestAddrReq => 89,
            Self::MsgSize => 90,
            Self::NoProtoOpt => 92,
            Self::ProtoNoSupport => 93,
            Self::OpNotSupp => 95,
            Self::AddrInUse => 98,
            Self::AddrNotAvail => 99,
            Self::NetUnreach => 101,
            Self::ConnReset => 104,
            Self::NoBufs => 105,
            Self::IsConn => 106,
            Self::NotConn => 107,
            Self::TimedOut => 110,
            Self::ConnRefused => 111,
            Self::HostUnreach => 113,
            Self::HostDown => 112,
            Self::NoNet => 64,
            Self::Already => 114,
            Self::InProgress => 115,
            Self::NxIo => 6,
            Self::NoDev => 19,
        }
    }
}

/// `MSG_*` flags of `send`/`recv` calls, with Linux's values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct MsgFlags(pub u32);

impl MsgFlags {
    /// No flag.
    pub const NONE: Self = Self(0);
    /// `MSG_OOB`.
    pub const OOB: Self = Self(0x1);
    /// `MSG_PEEK`: read without consuming.
    pub const PEEK: Self = Self(0x2);
    /// `MSG_TRUNC`: return the real length of a datagram; on TCP, discard what is read.
    pub const TRUNC: Self = Self(0x20);
    /// `MSG_DONTWAIT`: this call does not block.
    pub const DONTWAIT: Self = Self(0x40);
    /// `MSG_EOR`: end of record.
    pub const EOR: Self = Self(0x80);
    /// `MSG_WAITALL`.
    pub const WAITALL: Self = Self(0x100);
    /// `MSG_ERRQUEUE`: read the error queue.
    pub const ERRQUEUE: Self = Self(0x2000);
    /// `MSG_NOSIGNAL`.
    pub const NOSIGNAL: Self = Self(0x4000);
    /// `MSG_MORE`: more data follows.
    pub const MORE: Self = Self(0x8000);
    /// `MSG_FASTOPEN`: TCP Fast Open, connecting to the call's address with the data.
    pub const FASTOPEN: Self = Self(0x2000_0000);

    /// Whether every flag of `other` is set.
    #[inline]
    pub fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for MsgFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// A socket of either protocol.
#[derive(Debug)]
pub enum Socket {
    /// A UDP socket.
    Udp(UdpSock),
    /// A TCP socket (boxed: it is much larger).
    Tcp(Box<TcpSock>),
    /// An ICMP echo ("ping") socket.
    Ping(ping::PingSock),
    /// A raw IPv4 socket (`SOCK_RAW`).
    Raw(raw::RawSock),
    /// An `AF_PACKET` socket.
    Packet(packet::PacketSock),
}

/// What every socket has whatever its protocol (`struct sock`'s common part).
#[derive(Debug, Clone)]
pub struct SockCommon {
    /// Local address (0.0.0.0 = any).
    pub saddr: Ipv4Addr,
    /// Local port (0 = not bound yet).
    pub sport: u16,
    /// Remote address when connected.
    pub daddr: Ipv4Addr,
    /// Remote port when connected.
    pub dport: u16,
    /// `sk_sndbuf`.
    pub sndbuf: u32,
    /// `sk_rcvbuf`.
    pub rcvbuf: u32,
    /// `sk_wmem_alloc`: truesize of this socket's skbs not yet freed by TX completion.
    pub wmem_alloc: u32,
    /// `sk_rmem_alloc`: truesize of received skbs waiting to be read.
    pub rmem_alloc: u32,
    /// `sk_err`: a pending error reported by the next call.
    pub err: Option<Errno>,
    /// The app to wake, if any.
    pub app: Option<u32>,
    /// A wake-up is already scheduled.
    pub wake_pending: bool,
    /// The app waits for send space (`SOCK_NOSPACE`): wake it when space is freed.
    pub nospace: bool,
    /// `inet_id`: the IP ID counter of a connected socket.
    pub inet_id: u16,
    /// `sk_dst_cache`: the route last looked up for this socket, to `daddr`, valid while
    /// the node's table has the generation it was taken at.
    pub dst_cache: Option<DstCache>,
    /// `O_NONBLOCK`: calls that would block return `EAGAIN` (`EINPROGRESS` for connect).
    pub nonblock: bool,
    /// `SO_REUSEADDR`.
    pub reuseaddr: bool,
    /// `IP_TOS`: the TOS byte of its packets (`inet->tos`).
    pub tos: u8,
    /// `SO_PRIORITY` (`sk->sk_priority`): the `skb->priority` of its packets, which prio,
    /// pfifo_fast and htb classify by. `IP_TOS` also sets it, to `rt_tos2priority(tos)`,
    /// when it changes the TOS (`__ip_sock_set_tos`); an accepted socket starts at 0
    /// (`sk_clone_lock`).
    pub priority: u32,
    /// `IP_TTL`: the TTL of its packets, or the node's `ip_default_ttl` (`-1`).
    pub ttl: Option<u8>,
    /// `IP_RECVERR`: report local errors (`ENOBUFS`) and ICMP errors at once.
    pub recverr: bool,
    /// `IP_MTU_DISCOVER` (`inet->pmtudisc`): whether datagrams carry DF and may be
    /// fragmented locally.
    pub pmtudisc: PmtuDisc,
    /// `SO_SNDBUF` / `SO_RCVBUF` set by the app (`SOCK_SNDBUF_LOCK`, `SOCK_RCVBUF_LOCK`):
    /// the stack no longer tunes that buffer.
    pub sndbuf_locked: bool,
    /// See [`SockCommon::sndbuf_locked`].
    pub rcvbuf_locked: bool,
    /// `SO_LINGER`: `Some(seconds)` when on.
    pub linger: Option<u32>,
    /// `shutdown(SHUT_RD)` was called: reads return end of stream.
    pub shut_rd: bool,
    /// `IP_FREEBIND`: it may bind an address the node does not have.
    pub freebind: bool,
    /// `SO_OOBINLINE` (`SOCK_URGINLINE`): TCP's urgent byte stays in the stream.
    pub oobinline: bool,
    /// `sk_tsflags`: `SO_TIMESTAMPING`'s `SOF_TIMESTAMPING_*` flags ([`errqueue`]).
    pub tsflags: u32,
    /// `sk_tskey`: where `SOF_TIMESTAMPING_OPT_ID` keys count from.
    pub tskey: u32,
    /// `sk_error_queue`: transmit timestamps waiting to be read with `MSG_ERRQUEUE`.
    pub error_queue: std::collections::VecDeque<errqueue::ErrSkb>,
    /// `inet_sk(sk)->pinet6`: the IPv6 half of an `AF_INET6` socket (UDP), `None` for an
    /// `AF_INET` one. Its IPv4 fields above then hold what Linux keeps in `inet_sock` for
    /// the socket's IPv4 traffic (v4-mapped peers): `saddr` is `inet_rcv_saddr` (0.0.0.0
    /// for `::`, the IPv4 address of a v4-mapped one, `LOOPBACK4_IPV6` for an IPv6 one).
    pub pinet6: Option<Box<Ipv6Pinfo>>,
}

/// `struct ipv6_pinfo` and the IPv6 fields of `struct sock`: what an `AF_INET6` socket
/// has beyond an `AF_INET` one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Pinfo {
    /// `sk_v6_rcv_saddr`: the bound address (`::` = any; a v4-mapped address for a socket
    /// bound or connected over IPv4).
    pub rcv_saddr: Ipv6Addr,
    /// `np->saddr`: the source of its packets (`::` = chosen per route).
    pub saddr: Ipv6Addr,
    /// `sk_v6_daddr`: the connected peer (`::` = none; v4-mapped for an IPv4 peer).
    pub daddr: Ipv6Addr,
    /// `IPV6_V6ONLY` (`sk_ipv6only`): no IPv4 traffic. Starts off (`net.ipv6.bindv6only` = 0);
    /// binding a (non-v4-mapped) IPv6 address sets it, as `__inet6_bind` does.
    pub ipv6only: bool,
    /// `IPV6_UNICAST_HOPS` (`np->hop_limit`): -1 = the route's (`hop_limit` of the interface).
    pub hop_limit: i16,
    /// `IPV6_RECVERR`: report ICMPv6 errors and local ones (`ENOBUFS`) at once.
    pub recverr: bool,
    /// `sk_txhash`: a TCP socket's random flow hash (`net_tx_rndhash`, never 0), drawn when
    /// it connects (a child takes its request's), drawn again on a retransmission timeout
    /// (`sk_rethink_txhash`). Its IPv6 packets' flow label is made from it
    /// (`ip6_make_flowlabel`: rotated by 16 bits, the low 20). 0 for UDP, whose label comes
    /// from the flow's addresses and ports. Kept here: only IPv6 output reads it.
    pub txhash: u32,
}

impl Ipv6Pinfo {
    /// A fresh `AF_INET6` socket's IPv6 half: unbound, unconnected, not v6-only.
    pub fn new() -> Self {
        Self {
            rcv_saddr: Ipv6Addr::UNSPECIFIED,
            saddr: Ipv6Addr::UNSPECIFIED,
            daddr: Ipv6Addr::UNSPECIFIED,
            ipv6only: false,
            hop_limit: -1,
            recverr: false,
            txhash: 0,
        }
    }

    /// Whether the socket's traffic is IPv6 (its peer is not v4-mapped): what decides the
    /// family of a connected `AF_INET6` TCP socket's packets.
    #[inline]
    pub fn is_v6_flow(&self) -> bool {
        self.daddr.to_ipv4_mapped().is_none()
    }
}

impl Default for Ipv6Pinfo {
    fn default() -> Self {
        Self::new()
    }
}

/// `LOOPBACK4_IPV6` (127.0.0.6): the IPv4 address an `AF_INET6` socket bound or connected
/// to an IPv6 address takes, which no IPv4 packet is ever addressed to.
pub const LOOPBACK4_IPV6: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 6);

/// `IP_MTU_DISCOVER`'s modes (`IP_PMTUDISC_*`, with Linux's values), as `ping -M` sets them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PmtuDisc {
    /// `IP_PMTUDISC_DONT` (0): never DF; a datagram above the MTU is fragmented.
    Dont,
    /// `IP_PMTUDISC_WANT` (1), the default (`ip_no_pmtu_disc` = 0): DF when the datagram fits
    /// the route's MTU, fragmented otherwise (`ignore_df`).
    #[default]
    Want,
    /// `IP_PMTUDISC_DO` (2): always DF; a datagram above the MTU fails with `EMSGSIZE`
    /// before anything is built (`__ip_append_data`).
    Do,
    /// `IP_PMTUDISC_PROBE` (3): as `Do` here (it differs from it only in ignoring the
    /// route's learned PMTU, which this model does not learn).
    Probe,
    /// `IP_PMTUDISC_INTERFACE` (4): the interface's MTU, never DF.
    Interface,
    /// `IP_PMTUDISC_OMIT` (5): as `Interface`, and datagrams may be fragmented.
    Omit,
}

impl PmtuDisc {
    /// `ip_sk_ignore_df`: whether the socket's datagrams may be fragmented locally (and then
    /// draw their IP ID from the hashed generator even with DF).
    #[inline]
    pub fn ignore_df(self) -> bool {
        matches!(self, Self::Dont | Self::Want | Self::Omit)
    }

    /// `ip_dont_fragment`: whether a TCP socket's packets carry DF (`Do`, or `Want` on a
    /// route whose MTU is not locked, which no route here is).
    #[inline]
    pub fn dont_fragment(self) -> bool {
        matches!(self, Self::Do | Self::Want)
    }

    /// Whether a datagram of `len` bytes of IP on a route of `mtu` carries DF
    /// (`__ip_make_skb`: always for `Do`/`Probe`, when it fits for `Want`).
    #[inline]
    pub fn dont_frag(self, len: usize, mtu: u32) -> bool {
        match self {
            Self::Dont | Self::Interface | Self::Omit => false,
            Self::Want => len <= mtu as usize,
            Self::Do | Self::Probe => true,
        }
    }

    /// The word `ping -M` takes for it (`probe` for `IP_PMTUDISC_PROBE`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Dont => "dont",
            Self::Want => "want",
            Self::Do => "do",
            Self::Probe => "probe",
            Self::Interface => "interface",
            Self::Omit => "omit",
        }
    }

    /// The option's value as `setsockopt` takes it.
    pub fn value(self) -> i64 {
        match self {
            Self::Dont => 0,
            Self::Want => 1,
            Self::Do => 2,
            Self::Probe => 3,
            Self::Interface => 4,
            Self::Omit => 5,
        }
    }

    /// The mode `setsockopt` takes as `v`, if it is one.
    pub fn from_value(v: i64) -> Option<Self> {
        Some(match v {
            0 => Self::Dont,
            1 => Self::Want,
            2 => Self::Do,
            3 => Self::Probe,
            4 => Self::Interface,
            5 => Self::Omit,
            _ => return None,
        })
    }
}

/// A socket's cached route (`sk_dst_cache`), checked as `__sk_dst_check` does: against the
/// destination it was looked up for and the routing table's generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DstCache {
    /// [`Fib::genid`](crate::ip::fib::Fib::genid) at the lookup.
    pub genid: u32,
    /// The destination looked up.
    pub daddr: Ipv4Addr,
    /// The route.
    pub dst: crate::ip::output::Dst,
}

impl SockCommon {
    /// A fresh socket with the given buffer sizes.
    pub fn new(sndbuf: u32, rcvbuf: u32) -> Self {
        Self {
            saddr: Ipv4Addr::UNSPECIFIED,
            sport: 0,
            daddr: Ipv4Addr::UNSPECIFIED,
            dport: 0,
            sndbuf,
            rcvbuf,
            wmem_alloc: 0,
            rmem_alloc: 0,
            err: None,
            app: None,
            wake_pending: false,
            nospace: false,
            inet_id: 0,
            dst_cache: None,
            nonblock: false,
            reuseaddr: false,
            tos: 0,
            priority: 0,
            ttl: None,
            recverr: false,
            pmtudisc: PmtuDisc::Want,
            sndbuf_locked: false,
            rcvbuf_locked: false,
            linger: None,
            shut_rd: false,
            freebind: false,
            oobinline: false,
            tsflags: 0,
            tskey: 0,
            error_queue: std::collections::VecDeque::new(),
            pinet6: None,
        }
    }
}

impl Socket {
    /// The common part.
    pub fn common(&self) -> &SockCommon {
        match self {
            Self::Udp(u) => &u.sk,
            Self::Tcp(t) => &t.sk,
            Self::Ping(p) => &p.sk,
            Self::Raw(r) => &r.sk,
            Self::Packet(p) => &p.sk,
        }
    }
    /// The common part, writable.
    pub fn common_mut(&mut self) -> &mut SockCommon {
        match self {
            Self::Udp(u) => &mut u.sk,
            Self::Tcp(t) => &mut t.sk,
            Self::Ping(p) => &mut p.sk,
            Self::Raw(r) => &mut r.sk,
            Self::Packet(p) => &mut p.sk,
        }
    }
}

/// Key of an established TCP connection in the demux map: (remote address, remote port,
/// local port). Local addresses are unique per host in this model's lookups.
pub type TcpKey = (Ipv4Addr, u16, u16);

/// The UDP sockets bound to one port, in the order they were bound: almost always one,
/// kept inline so a datagram's lookup reads no memory of its own (a star's 10^3 sinks hold
/// no allocation each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortSlot {
    /// One socket.
    One(SockId),
    /// Several (sockets of both families sharing a port).
    Many(Vec<SockId>),
}

impl Default for PortSlot {
    fn default() -> Self {
        Self::Many(Vec::new())
    }
}

impl PortSlot {
    /// The sockets, in bind order.
    #[inline]
    pub fn as_slice(&self) -> &[SockId] {
        match self {
            Self::One(id) => std::slice::from_ref(id),
            Self::Many(v) => v,
        }
    }

    /// Adds a socket.
    pub fn push(&mut self, id: SockId) {
        match self {
            Self::Many(v) if v.is_empty() => *self = Self::One(id),
            Self::Many(v) => v.push(id),
            Self::One(first) => *self = Self::Many(vec![*first, id]),
        }
    }

    /// Keeps the sockets `keep` says to keep.
    pub fn retain(&mut self, keep: impl Fn(&SockId) -> bool) {
        match self {
            Self::One(id) if !keep(id) => *self = Self::Many(Vec::new()),
            Self::One(_) => {}
            Self::Many(v) => v.retain(|id| keep(id)),
        }
    }

    /// Whether no socket is left.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

/// Key of an established TCP connection over IPv6: (remote address, remote port, local
/// port), beside [`TcpKey`] (`inet6_ehashfn`'s tuple less the local address, as there).
pub type TcpKey6 = (Ipv6Addr, u16, u16);

/// The sockets of one host, with the lookup maps of the transport protocols.
#[derive(Debug, Default)]
pub struct SocketTable {
    slots: Vec<Option<Socket>>,
    free: Vec<SockId>,
    /// UDP sockets by local port (`udp_table`'s slots, one port space for both families),
    /// in the order they were bound. Sockets of both families may share a port when their
    /// addresses do not conflict (an `IPV6_V6ONLY` socket on `::` beside one on 0.0.0.0).
    pub udp_ports: udp_table::UdpTable,
    /// Listening TCP sockets by local port.
    pub tcp_listen: BTreeMap<u16, SockId>,
    /// Connected TCP sockets (SYN_SENT on) by (remote address, remote port, local port).
    pub tcp_estab: BTreeMap<TcpKey, SockId>,
    /// Listening `AF_INET6` TCP sockets by local port: beside an `AF_INET` listener on the
    /// same port when v6-only (a listener per address, as two servers bound to
    /// 10.0.1.80:80 and [2001:db8:1::80]:80); one on `::` that is not v6-only takes IPv4
    /// connections too (v4-mapped) when no `AF_INET` listener has the port.
    pub tcp_listen6: BTreeMap<u16, SockId>,
    /// Connected TCP sockets whose traffic is IPv6, by [`TcpKey6`]. An `AF_INET6` socket
    /// connected to an IPv4 peer (v4-mapped) is in [`SocketTable::tcp_estab`].
    pub tcp_estab6: BTreeMap<TcpKey6, SockId>,
    /// Local TCP ports in use by connections, with how many use each (bind conflicts).
    pub tcp_ports: BTreeMap<u16, u32>,
    /// Ping sockets by ident.
    pub ping_idents: BTreeMap<u16, SockId>,
    /// Raw sockets by protocol (`raw_v4_hashinfo`), in the order they were made.
    pub raw: BTreeMap<u8, Vec<SockId>>,
    /// `AF_PACKET` sockets that receive (`ptype_all` and `ptype_base` in one list), newest
    /// first, as `dev_add_pack` orders them. Empty on nearly every node: the frame paths
    /// test it and do nothing else.
    pub packet: Vec<SockId>,
}

impl SocketTable {
    /// Stores a socket; returns its id.
    pub fn insert(&mut self, sock: Socket) -> SockId {
        match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(sock);
                i
            }
            None => {
                if self.slots.len() < 4 {
                    // Most nodes hold one to three sockets: room for what they open, not
                    // the four slots (900 bytes) a first push makes; doubling from four on.
                    self.slots.reserve_exact(1);
                }
                self.slots.push(Some(sock));
                (self.slots.len() - 1) as SockId
            }
        }
    }
    /// Frees a socket's slot.
    pub fn remove(&mut self, id: SockId) -> Option<Socket> {
        let s = self.slots.get_mut(id as usize)?.take();
        if s.is_some() {
            self.free.push(id);
        }
        s
    }
    /// The socket `id`, if it exists.
    pub fn get(&self, id: SockId) -> Option<&Socket> {
        self.slots.get(id as usize).and_then(Option::as_ref)
    }
    /// The socket `id`, writable.
    pub fn get_mut(&mut self, id: SockId) -> Option<&mut Socket> {
        self.slots.get_mut(id as usize).and_then(Option::as_mut)
    }
    /// The UDP socket `id`. Panics when it is not one (ids come from the caller's own calls).
    pub fn udp(&mut self, id: SockId) -> &mut UdpSock {
        match self.get_mut(id) {
            Some(Socket::Udp(u)) => u,
            _ => panic!("socket {id} is not a UDP socket"),
        }
    }
    /// The TCP socket `id`, if it is one.
    pub fn tcp(&mut self, id: SockId) -> Option<&mut TcpSock> {
        match self.get_mut(id) {
            Some(Socket::Tcp(t)) => Some(t),
            _ => None,
        }
    }
    /// Every live socket, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (SockId, &Socket)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.as_ref().map(|s| (i as SockId, s)))
    }
}

/// Asks for `app` to be woken about socket `sock` of `node` (`sk_data_ready`,
/// `sk_write_space`, `sk_state_change`, `sk_error_report`): one `SockWake` event at the
/// current instant, scheduled when the event being handled ends, however many times this
/// is called before the app runs.
pub(crate) fn sk_wake(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(sk) = n.socks.get_mut(sock) else {
        return;
    };
    let c = sk.common_mut();
    if let Some(app) = c.app
        && !c.wake_pending
    {
        c.wake_pending = true;
        cx.shared.wakes.push(Event::SockWake {
            app,
            node: n.id,
            sock,
        });
    }
}

/// The route for a socket's packet to `daddr`: the socket's cached one while it is for
/// `daddr` and the node's routing table has not changed since (`__sk_dst_check`), else
/// [`ip_route_output_flow`](crate::ip::output::ip_route_output_flow), cached (`sk_setup_caps`). A
/// connected socket thus looks its route up once, not per packet, as on Linux.
#[inline]
pub(crate) fn sk_dst_route(
    n: &mut Node,
    sock: SockId,
    daddr: Ipv4Addr,
) -> Result<crate::ip::output::Dst, crate::ip::output::OutputError> {
    let genid = n.fib.genid();
    let sk = n.socks.get_mut(sock).expect("a live socket").common_mut();
    if let Some(c) = sk.dst_cache
        && c.genid == genid
        && c.daddr == daddr
    {
        return Ok(c.dst);
    }
    let dst = crate::ip::output::ip_route_output_flow(n, daddr)?;
    let sk = n.socks.get_mut(sock).expect("a live socket");
    sk.common_mut().dst_cache = Some(DstCache { genid, daddr, dst });
    Ok(dst)
}

/// `kfree_skb` / `consume_skb`: frees a packet, running its destructor (`sock_wfree`)
/// when a socket of `n`'s is charged for it.
pub(crate) fn kfree_skb(n: &mut Node, cx: &mut NetCtx<'_>, skb: Skb) {
    if let Some(ct) = skb.nfct {
        n.netfilter.skb_freed(ct);
    }
    if let Some(owner) = skb.sock {
        debug_assert_eq!(
            owner.node, n.id,
            "an skb is charged to a socket of its own node"
        );
        sock_wfree(n, cx, owner.sock, skb.truesize);
    }
    cx.shared.pool.free(skb);
}

/// `kfree_skb_reason`: frees a packet that dies at `what` on interface `dev`, with a trace
/// line (`drop what`).
pub(crate) fn kfree_skb_reason(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    what: &str,
    skb: Skb,
) {
    if cx.shared.trace.frames() {
        let dir = format!("drop {what}");
        // Drops at the device hold a whole frame; everything above it (IP, netfilter,
        // the neighbour queue, the transports) holds an IP packet.
        let frame = matches!(
            what,
            "no_carrier"
                | "dev_direct_xmit_busy"
                | "qdisc_drop"
                | "qdisc_codel_drop"
                | "rx_runt"
                | "unknown_ethertype"
        );
        cx.shared.trace.record(
            cx.now,
            &n.name,
            n.dev_name(dev),
            &dir,
            skb.data(),
            skb.path(),
            !frame,
        );
    }
    kfree_skb(n, cx, skb);
}

/// `sock_wfree`: an skb charged to socket `sock` was freed (TX completion or a drop):
/// release its memory and wake a datagram writer waiting for space.
#[inline]
pub(crate) fn sock_wfree(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, truesize: u32) {
    let Some(sk) = n.socks.get_mut(sock) else {
        return;
    };
    let is_dgram = matches!(sk, Socket::Udp(_) | Socket::Packet(_));
    let c = sk.common_mut();
    c.wmem_alloc = c.wmem_alloc.saturating_sub(truesize);
    // sock_def_write_space: wake when at least half the buffer is free.
    if is_dgram && c.nospace && c.wmem_alloc << 1 <= c.sndbuf {
        c.nospace = false;
        sk_wake(n, cx, sock);
    }
}

/// Moves socket `sock`'s send-buffer charge of `from` bytes of truesize to `to` (an skb
/// replaced by others that take over its charge: fragments), without the wake-up a free would
/// give.
pub(crate) fn sock_wmem_transfer(n: &mut Node, sock: SockId, from: u32, to: u32) {
    if let Some(sk) = n.socks.get_mut(sock) {
        let c = sk.common_mut();
        c.wmem_alloc = (c.wmem_alloc + to).saturating_sub(from);
    }
}

/// Writes an error a socket call returned, or a socket took asynchronously (a RST, a
/// timeout, an ICMP error), to the trace: `time node sock PROTO LOCAL > REMOTE CALL: ERRNO`.
pub(crate) fn trace_sock_err(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    call: &str,
    e: Errno,
) {
    trace_sock_err_to(n, cx, sock, call, e, None);
}

/// Passes a socket call's result through, tracing it if it is an error (`to`: the
/// destination the call named, for a socket without one yet).
pub(crate) fn sock_result<T>(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    call: &str,
    to: Option<(Ipv4Addr, u16)>,
    r: Result<T, Errno>,
) -> Result<T, Errno> {
    if let Err(e) = &r {
        trace_sock_err_to(n, cx, sock, call, *e, to);
    }
    r
}

/// [`Self::trace_sock_err`] for a call naming its destination (`connect`, `sendto`),
/// shown when the socket has none of its own yet.
pub(crate) fn trace_sock_err_to(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    call: &str,
    e: Errno,
    to: Option<(Ipv4Addr, u16)>,
) {
    let to = to.map(|(a, p)| std::net::SocketAddr::from((a, p)));
    trace_sock_err_at(n, cx, sock, call, e, to);
}

/// [`trace_sock_err_to`] with a destination of either family. An `AF_INET6` socket shows
/// its IPv6 addresses (`[2001:db8::2]:40000`), an IPv4 destination v4-mapped.
pub(crate) fn trace_sock_err_at(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    call: &str,
    e: Errno,
    to: Option<std::net::SocketAddr>,
) {
    if !cx.shared.trace.frames() {
        return;
    }
    let (proto, sk) = match n.socks.get(sock) {
        Some(Socket::Udp(u)) => ("udp", &u.sk),
        Some(Socket::Tcp(t)) => ("tcp", &t.sk),
        Some(Socket::Ping(p)) => ("icmp", &p.sk),
        Some(Socket::Raw(r)) => ("raw", &r.sk),
        Some(Socket::Packet(p)) => {
            let (num, ifindex) = (p.num, p.ifindex);
            let dev = packet::dev_get_by_index(n, ifindex).map_or("any", |d| n.dev_name(d));
            let now = cx.now;
            cx.shared.trace.event(
                now,
                &n.name,
                format_args!("sock packet {dev} proto 0x{num:04x} {call}: {e}"),
            );
            return;
        }
        None => return,
    };
    if let Some(np) = sk.pinet6.as_deref() {
        let local = std::net::SocketAddrV6::new(np.rcv_saddr, sk.sport, 0, 0);
        let v6 = |a: std::net::SocketAddr| match a {
            std::net::SocketAddr::V4(a) => {
                std::net::SocketAddrV6::new(a.ip().to_ipv6_mapped(), a.port(), 0, 0)
            }
            std::net::SocketAddr::V6(a) => a,
        };
        let peer = match to {
            Some(t) if np.daddr.is_unspecified() => v6(t),
            _ => std::net::SocketAddrV6::new(np.daddr, sk.dport, 0, 0),
        };
        let now = cx.now;
        cx.shared.trace.event(
            now,
            &n.name,
            format_args!("sock {proto} {local} > {peer} {call}: {e}"),
        );
        return;
    }
    let to = match to {
        Some(std::net::SocketAddr::V4(a)) => Some((*a.ip(), a.port())),
        _ => None,
    };
    let (saddr, sport) = (sk.saddr, sk.sport);
    let (daddr, dport) = match to {
        Some(t) if sk.daddr.is_unspecified() => t,
        _ => (sk.daddr, sk.dport),
    };
    let now = cx.now;
    cx.shared.trace.event(
        now,
        &n.name,
        format_args!("sock {proto} {saddr}:{sport} > {daddr}:{dport} {call}: {e}"),
    );
}

/// `inet_csk_get_port` / `udp_lib_get_port` with port 0: an ephemeral port for a socket
/// that binds implicitly. The first candidate is uniform in `ip_local_port_range` (either
/// parity), then the next free one.
pub(crate) fn inet_autobind_port(
    n: &mut Node,
    used: impl Fn(&SocketTable, u16) -> bool,
) -> Result<u16, Errno> {
    let (low, high) = n.sysctl.ip_local_port_range;
    let remaining = u32::from(high - low) + 1;
    let first = n.rng.below(u64::from(remaining)) as u32;
    for i in 0..remaining {
        let port = low + ((first + i) % remaining) as u16;
        if !used(&n.socks, port) {
            return Ok(port);
        }
    }
    Err(Errno::AddrNotAvail)
}

/// `__inet_hash_connect`: the local port of a connecting TCP socket. Linux starts at an
/// even offset and steps by two, so connections get even ports while odd ones are left
/// for `bind()`; only when every even port is taken does it try the odd ones.
pub(crate) fn inet_hash_connect_port(
    n: &mut Node,
    daddr: Ipv4Addr,
    dport: u16,
) -> Result<u16, Errno> {
    let (low, high) = n.sysctl.ip_local_port_range;
    let remaining = u32::from(high - low) + 1;
    let offset = (n.rng.below(u64::from(remaining)) as u32) & !1;
    for parity in 0..2 {
        let mut i = 0;
        while i < remaining {
            let port = low + ((offset + parity + i) % remaining) as u16;
            i += 2;
            if n.socks.tcp_listen.contains_key(&port)
                || n.socks.tcp_listen6.contains_key(&port)
                || n.socks.tcp_estab.contains_key(&(daddr, dport, port))
            {
                continue;
            }
            return Ok(port);
        }
    }
    Err(Errno::AddrNotAvail)
}
