//! UDP sockets: `udp_sendmsg` (and `udp_sendmmsg` for a batch, as glibc's resolver sends its
//! A and AAAA queries), `udp_rcv` → `__udp4_lib_lookup` → `__udp_queue_rcv_skb`, and
//! `udp_recvmsg`, with Linux's accounting:
//!
//! * every datagram's skb charges its `truesize` to `sk_wmem_alloc` until TX completion (or a
//!   drop) frees it; a send finding `sk_wmem_alloc ≥ sk_sndbuf` would block, so a
//!   non-blocking app gets `EAGAIN` (and is woken when half the buffer is free again),
//!   counted in `Ip OutDiscards` and `Udp SndbufErrors` as Linux counts it;
//! * a datagram above the MTU charges one skb per fragment, as `__ip_append_data` allocates
//!   them: the first must find `sk_wmem_alloc < sk_sndbuf`, each later one may take the
//!   charge up to twice the send buffer, beyond which the send fails with `ENOBUFS`; each
//!   fragment gives its charge back at its own TX completion;
//! * a datagram the qdisc drops (`NET_XMIT_DROP`) counts `Udp SndbufErrors` and
//!   `Ip OutDiscards`; the app sees `ENOBUFS` only with `IP_RECVERR`, else the send succeeds;
//! * DF is set when the datagram fits the MTU (the default "want" PMTU mode) and, since the
//!   socket then sets `ignore_df`, the IP ID comes from the hashed generator — consecutive for
//!   back-to-back datagrams to one destination; `IP_MTU_DISCOVER` "dont" never sets DF, "do"
//!   always does (ID 0 from an unconnected socket) and refuses a datagram above the MTU with
//!   `EMSGSIZE`;
//! * received datagrams charge `sk_rmem_alloc`; beyond `sk_rcvbuf` they are dropped and
//!   counted (`RcvbufErrors`, `InErrors`); `InDatagrams` counts datagrams read;
//! * a datagram to a port without a socket gets ICMP port unreachable (`NoPorts`), and that
//!   error, coming back to a connected socket, is reported as `ECONNREFUSED`.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV6};

use crate::ctx::NetCtx;
use crate::dev::NetXmit;
use crate::ip::frag::frag_sizes;
use crate::ip::icmp::icmp_send;
use crate::ip::output::{IdentMode, IpSend};
use crate::ip::output::{ip_route_output_flow, ip_send_skb};
use crate::node::Node;
use crate::skb::{Skb, SockRef, truesize_for};
use crate::sock::sk_dst_route;
use crate::sock::syscall::RecvMsg;
use crate::sock::{Errno, MsgFlags, SockCommon, SockId, Socket};
use crate::sock::{inet_autobind_port, sk_wake, sock_result, trace_sock_err};
use crate::sock::{kfree_skb, kfree_skb_reason};
use crate::wire::{IpProtocol, Ipv4Repr, UdpPacket, UdpRepr};

/// UDP header length.
const UDP_HLEN: usize = 8;

/// A received datagram waiting to be read: the skb itself, pulled to the payload, as
/// `sk_receive_queue` holds it (reading copies it out and frees it; nothing is allocated per
/// datagram).
#[derive(Debug)]
pub struct Datagram {
    /// Sender address (IPv4 for a datagram that came over IPv4, to a socket of either family).
    pub src: IpAddr,
    /// Sender port.
    pub sport: u16,
    /// The payload, in its skb (whose `truesize` is the receive-buffer charge).
    skb: Skb,
}

impl Datagram {
    /// A datagram from `src:sport` whose payload is `skb`'s data.
    pub(crate) fn new(src: IpAddr, sport: u16, skb: Skb) -> Self {
        Self { src, sport, skb }
    }

    /// The payload.
    pub fn data(&self) -> &[u8] {
        self.skb.data()
    }
}

/// What `recvfrom()` returns besides the bytes it copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvFrom {
    /// Sender address, in the socket's family (v4-mapped on an `AF_INET6` socket for a
    /// datagram that came over IPv4).
    pub src: IpAddr,
    /// Sender port.
    pub sport: u16,
    /// The datagram's length. Longer than the caller's buffer means it was truncated (the
    /// rest is lost, as `MSG_TRUNC` in `msg_flags` tells a real caller).
    pub len: usize,
}

/// A UDP socket.
#[derive(Debug)]
pub struct UdpSock {
    /// Addresses, buffers, errors.
    pub sk: SockCommon,
    /// Datagrams waiting to be read.
    pub rx: VecDeque<Datagram>,
    /// Whether `connect()` was called.
    pub connected: bool,
}

/// `socket(AF_INET, SOCK_DGRAM)`, owned by `app`.
pub fn udp_socket(n: &mut Node, app: Option<u32>) -> SockId {
    let mut sk = SockCommon::new(n.sysctl.wmem_default, n.sysctl.rmem_default);
    sk.app = app;
    n.socks.insert(Socket::Udp(UdpSock {
        sk,
        rx: VecDeque::new(),
        connected: false,
    }))
}

/// `bind()` to `port` (0 = an ephemeral port).
pub fn udp_bind(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, port: u16) -> Result<u16, Errno> {
    let r = udp_bind_inner(n, sock, port);
    sock_result(n, cx, sock, "bind", None, r)
}

/// The call itself; the public function traces its error.
pub(crate) fn udp_bind_inner(n: &mut Node, sock: SockId, port: u16) -> Result<u16, Errno> {
    let me = Bound::of(n.socks.udp(sock));
    let port = if port == 0 {
        inet_autobind_port(n, |t, p| udp_lib_lport_inuse(t, p, &me))?
    } else if udp_lib_lport_inuse(&n.socks, port, &me) {
        return Err(Errno::AddrInUse);
    } else {
        port
    };
    let socks = &mut n.socks;
    socks.udp_ports.entry_or_default(port).push(sock);
    socks.udp(sock).sk.sport = port;
    Ok(port)
}

/// The local address of a UDP socket as the port-conflict rule reads it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bound {
    /// `sk_v6_rcv_saddr` of an `AF_INET6` socket; `None` for an `AF_INET` one.
    v6: Option<std::net::Ipv6Addr>,
    /// `inet_rcv_saddr`.
    v4: Ipv4Addr,
    /// `ipv6_only_sock`.
    v6only: bool,
}

impl Bound {
    pub(crate) fn of(u: &UdpSock) -> Self {
        Self {
            v6: u.sk.pinet6.as_deref().map(|np| np.rcv_saddr),
            v4: u.sk.saddr,
            v6only: u.sk.pinet6.as_deref().is_some_and(|np| np.ipv6only),
        }
    }
}

/// `inet_rcv_saddr_equal(sk, sk2, true)`: whether a socket with address `a` may not share a
/// port with one bound to `b`. Two `AF_INET` sockets always conflict (this model keeps one
/// IPv4 socket per port); with an `AF_INET6` socket in the pair, Linux's rule applies
/// (`ipv6_rcv_saddr_equal`, `ipv4_rcv_saddr_equal`): a v6-only socket never conflicts
/// with IPv4, `::` conflicts with any address of its families, equal addresses conflict.
fn rcv_saddr_equal(a: &Bound, b: &Bound) -> bool {
    use std::net::Ipv6Addr;
    let (Some(a6), b6) = (a.v6, b.v6) else {
        // sk is AF_INET: ipv4_rcv_saddr_equal.
        return match b.v6 {
            None => true,
            Some(_) => {
                !b.v6only && (a.v4 == b.v4 || a.v4.is_unspecified() || b.v4.is_unspecified())
            }
        };
    };
    let mapped = |x: Ipv6Addr| x.to_ipv4_mapped().is_some();
    let a_mapped = mapped(a6);
    let b_mapped = b6.is_none_or(mapped);
    if a_mapped && b_mapped {
        return !b.v6only && (a.v4 == b.v4 || a.v4.is_unspecified() || b.v4.is_unspecified());
    }
    let (a_any, b_any) = (a6.is_unspecified(), b6.is_some_and(|x| x.is_unspecified()));
    if a_any && b_any {
        return true;
    }
    if b_any && !(b.v6only && a_mapped) {
        return true;
    }
    if a_any && !(a.v6only && b_mapped) {
        return true;
    }
    b6 == Some(a6)
}

/// `udp_lib_lport_inuse`: whether `port` is taken for a socket bound to `me`.
pub(crate) fn udp_lib_lport_inuse(t: &crate::sock::SocketTable, port: u16, me: &Bound) -> bool {
    let Some(slot) = t.udp_ports.get(&port) else {
        return false;
    };
    slot.as_slice().iter().any(|&id| match t.get(id) {
        Some(Socket::Udp(u)) => rcv_saddr_equal(me, &Bound::of(u)),
        _ => false,
    })
}

/// `__udp4_lib_lookup`: the socket for a datagram from `saddr:sport` to `daddr:dport` that
/// came over IPv4 (`daddr` `None`: any local address, for an ICMP error's lookup). An
/// `AF_INET` socket bound to the port takes it unless it is connected to someone else; an
/// `AF_INET6` one that is not v6-only takes it when it is bound to `::` or to the
/// v4-mapped `daddr`, scoring below an `AF_INET` one (`compute_score`: 2 against 1), and a
/// connected or exactly bound socket above an unconnected wildcard one.
pub(crate) fn udp4_lib_lookup(
    n: &Node,
    saddr: Ipv4Addr,
    sport: u16,
    daddr: Option<Ipv4Addr>,
    dport: u16,
) -> Option<SockId> {
    let slot = n.socks.udp_ports.get(&dport)?.as_slice();
    if let [only] = slot {
        // The common case, one socket on the port: its score only says whether it matches.
        return udp4_score(n, *only, saddr, sport, daddr).map(|_| *only);
    }
    let mut best: Option<(u32, SockId)> = None;
    for &id in slot {
        if let Some(s) = udp4_score(n, id, saddr, sport, daddr)
            && best.is_none_or(|(b, _)| s > b)
        {
            best = Some((s, id));
        }
    }
    best.map(|(_, id)| id)
}

#[inline]
fn udp4_score(
    n: &Node,
    id: SockId,
    saddr: Ipv4Addr,
    sport: u16,
    daddr: Option<Ipv4Addr>,
) -> Option<u32> {
    let Some(Socket::Udp(u)) = n.socks.get(id) else {
        return None;
    };
    let peer_ok = !u.connected || (u.sk.daddr == saddr && u.sk.dport == sport);
    if !peer_ok {
        return None;
    }
    let connected = if u.connected { 4 } else { 0 };
    match u.sk.pinet6.as_deref() {
        None => {
            let exact = if daddr.is_some_and(|d| d == u.sk.saddr) {
                4
            } else {
                0
            };
            Some(2 + connected + exact)
        }
        Some(np) if np.ipv6only => None,
        Some(np) => {
            let exact = match (np.rcv_saddr.to_ipv4_mapped(), daddr) {
                _ if np.rcv_saddr.is_unspecified() => 0,
                (Some(a), Some(d)) if a == d => 4,
                (Some(_), None) => 4,
                _ => return None,
            };
            Some(1 + connected + exact)
        }
    }
}

/// `connect()`: fix the peer, choose the source address from the route, autobind, and
/// draw the socket's IP ID start (`ip4_datagram_connect`).
pub fn udp_connect(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    daddr: Ipv4Addr,
    dport: u16,
) -> Result<(), Errno> {
    let r = udp_connect_inner(n, cx, sock, daddr, dport);
    sock_result(n, cx, sock, "connect", Some((daddr, dport)), r)
}

/// The call itself; the public function traces its error.
fn udp_connect_inner(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    daddr: Ipv4Addr,
    dport: u16,
) -> Result<(), Errno> {
    let dst = ip_route_output_flow(n, daddr).map_err(|_| Errno::NetUnreach)?;
    if n.socks.udp(sock).sk.sport == 0 {
        udp_bind(n, cx, sock, 0)?;
    }
    let id = n.rng.next_u32() as u16;
    let u = n.socks.udp(sock);
    u.sk.saddr = dst.src;
    u.sk.daddr = daddr;
    u.sk.dport = dport;
    u.sk.inet_id = id;
    u.connected = true;
    Ok(())
}

/// `sendto()` / `send()`: one datagram to `to` (or the connected peer). Returns the bytes
/// sent.
pub fn udp_sendmsg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    to: Option<(Ipv4Addr, u16)>,
    payload: &[u8],
) -> Result<usize, Errno> {
    udp_sendmsg_zero_padded(n, cx, sock, to, payload, 0)
}

/// `sendto()` / `send()` of a datagram whose payload is `head` followed by `zeros` zero
/// bytes, as from two iovecs, the second over a buffer of zeros (what a traffic
/// generator sends). The same datagram as [`udp_sendmsg`](Self::udp_sendmsg) with the
/// zeros written out, byte for byte; the zeros are copied into the skb but, like TCP's
/// runs of zeros, add nothing to the checksum, so they are not summed.
///
/// The IPv4 path: an `AF_INET` socket, or an `AF_INET6` one sending to an IPv4 (v4-mapped)
/// peer. Callers route the other `AF_INET6` sends to [`udpv6_sendmsg`] first, so the common
/// `AF_INET` send decides its family once.
///
/// [`udpv6_sendmsg`]: crate::sock::udp6::udpv6_sendmsg
pub fn udp_sendmsg_zero_padded(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    to: Option<(Ipv4Addr, u16)>,
    head: &[u8],
    zeros: usize,
) -> Result<usize, Errno> {
    let r = udp_sendmsg_inner(n, cx, sock, to, head, zeros);
    sock_result(n, cx, sock, "sendmsg", to, r)
}

/// The call itself; the public function traces its error.
fn udp_sendmsg_inner(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    to: Option<(Ipv4Addr, u16)>,
    head: &[u8],
    zeros: usize,
) -> Result<usize, Errno> {
    let payload_len = head.len() + zeros;
    let u = n.socks.udp(sock);
    let (daddr, dport) = match to {
        Some(t) => t,
        None if u.connected => (u.sk.daddr, u.sk.dport),
        None => return Err(Errno::NotConn),
    };
    if UDP_HLEN + payload_len > usize::from(u16::MAX) - 20 {
        return Err(Errno::MsgSize);
    }
    if u.sk.sport == 0 {
        udp_bind(n, cx, sock, 0)?;
    }
    // A connected socket keeps its route (sk_dst_check); sendto() looks it up.
    let route = if to.is_none() {
        sk_dst_route(n, sock, daddr)
    } else {
        ip_route_output_flow(n, daddr)
    };
    let Ok(dst) = route else {
        return Err(Errno::NetUnreach);
    };
    let u = n.socks.udp(sock);
    let saddr = if u.sk.saddr.is_unspecified() {
        dst.src
    } else {
        u.sk.saddr
    };
    let sport = u.sk.sport;
    let len = UDP_HLEN + payload_len;
    let pmtudisc = u.sk.pmtudisc;
    let fits = len + 20 <= dst.mtu as usize;
    // __ip_append_data: a socket in PMTU "do" mode cannot send more than the MTU (no
    // counter moves: the error return comes before the ones that count).
    if !fits && !pmtudisc.ignore_df() {
        return Err(Errno::MsgSize);
    }
    // sock_alloc_send_pskb: a pending error (sock_error: ECONNREFUSED after a port
    // unreachable) fails the send; else it would block (EAGAIN here) while the socket's
    // skbs in flight fill the send buffer. __ip_append_data's error path counts either
    // (OutDiscards); udp_sendmsg counts SndbufErrors when the socket is marked SOCK_NOSPACE,
    // as a full buffer marks it.
    if let Some(e) = u.sk.err.take() {
        n.snmp.ip.OutDiscards += 1;
        if u.sk.nospace {
            n.snmp.udp.SndbufErrors += 1;
        }
        return Err(e);
    }
    if u.sk.wmem_alloc >= u.sk.sndbuf {
        u.sk.nospace = true;
        n.snmp.ip.OutDiscards += 1;
        n.snmp.udp.SndbufErrors += 1;
        return Err(Errno::Again);
    }
    // __ip_append_data: a datagram above the MTU is built as one skb per fragment, the
    // first charged by sock_alloc_send_skb (checked above), each later one allowed while
    // the charge stays within twice the send buffer, else ENOBUFS. ip_make_skb joins
    // them into one skb whose truesize is their sum (ip_fragment splits it again).
    let truesize = if fits {
        truesize_for(len)
    } else {
        let (wmem, limit) = (u64::from(u.sk.wmem_alloc), 2 * u64::from(u.sk.sndbuf));
        let mut charged = 0u64;
        for (i, size) in frag_sizes(len, 20, dst.mtu as usize).enumerate() {
            if i > 0 && wmem + charged > limit {
                n.snmp.ip.OutDiscards += 1;
                n.snmp.udp.SndbufErrors += 1;
                return Err(Errno::NoBufs);
            }
            charged += u64::from(truesize_for(size));
        }
        u32::try_from(charged).unwrap_or(u32::MAX)
    };
    let mut skb = cx.shared.pool.alloc(len);
    skb.truesize = truesize;
    skb.put(UDP_HLEN);
    // ip_generic_getfrag → csum_and_copy_from_iter: the payload is summed from the
    // sender's buffer as it is copied, not read back from the skb afterwards. Zeros
    // after the head sum to 0 whatever their offset.
    let payload_sum = crate::wire::checksum::data(head);
    skb.put_data(head);
    skb.put_zeros(zeros);
    UdpRepr {
        src_port: sport,
        dst_port: dport,
    }
    .emit_with_payload_sum(
        &mut UdpPacket::new_unchecked(skb.head_mut(UDP_HLEN)),
        saddr,
        daddr,
        payload_len,
        payload_sum,
    );
    skb.l4_csum_good = true;
    for f in ["udp_sendmsg", "ip_route_output_flow", "ip_make_skb"] {
        note!(cx, skb, f);
    }
    skb.sock = Some(SockRef { node: n.id, sock });
    skb.hash = crate::skb::flow_hash(saddr, daddr, sport, dport, 17);
    let u = n.socks.udp(sock);
    u.sk.wmem_alloc += skb.truesize;
    let recverr = u.sk.recverr;
    let send = IpSend {
        src: saddr,
        dst: daddr,
        protocol: IpProtocol::Udp,
        ttl: u.sk.ttl.unwrap_or(n.default_ttl),
        tos: u.sk.tos,
        // __ip_make_skb: no IP_TOS cmsg (cork->tos == -1), so sk_priority.
        priority: u.sk.priority,
        dont_frag: pmtudisc.dont_frag(len + 20, dst.mtu),
        // A socket that ignores DF (the "want" and "dont" modes) draws hashed IDs even
        // with DF; one in "do" mode sends ID 0 with DF from an unconnected socket.
        // (Linux numbers a connected socket's datagrams from its own `inet_id`; the model
        // draws hashed IDs for them too.)
        ident: if pmtudisc.ignore_df() || u.connected {
            IdentMode::Hashed
        } else {
            IdentMode::Unconnected
        },
    };
    note!(cx, skb, "udp_send_skb");
    if ip_send_skb(n, cx, skb, send, dst) == NetXmit::Drop {
        // NET_XMIT_DROP → -ENOBUFS: counted (and not as sent: udp_send_skb counts
        // OutDatagrams only on success), and hidden from the app without IP_RECVERR.
        n.snmp.ip.OutDiscards += 1;
        n.snmp.udp.SndbufErrors += 1;
        if recverr {
            return Err(Errno::NoBufs);
        }
    } else {
        n.snmp.udp.OutDatagrams += 1;
    }
    Ok(payload_len)
}

/// `sendmmsg()`: several datagrams in one call, sent back to back at the same instant.
/// Returns how many were sent; stops at the first error (returned when nothing was sent).
pub fn udp_sendmmsg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    msgs: &[&[u8]],
) -> Result<usize, Errno> {
    let mut sent = 0;
    let v6 = n.socks.udp(sock).sk.pinet6.is_some();
    for m in msgs {
        let r = if v6 {
            crate::sock::udp6::udpv6_sendmsg(n, cx, sock, None, m, 0)
        } else {
            udp_sendmsg(n, cx, sock, None, m)
        };
        match r {
            Ok(_) => sent += 1,
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(sent)
}

/// `recvfrom()`: copies the next datagram into `buf` (as much as fits; the rest of a
/// longer one is discarded, as Linux does) and frees it. `Err(EAGAIN)` when none is
/// waiting, or a pending error (`ECONNREFUSED` after a port unreachable).
pub fn udp_recvmsg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    buf: &mut [u8],
) -> Result<RecvFrom, Errno> {
    let len = buf.len();
    let m = udp_recvmsg_flags(n, cx, sock, Some(buf), len, MsgFlags::TRUNC)?;
    let from = m.from.expect("a datagram has a sender");
    Ok(RecvFrom {
        src: from.ip(),
        sport: from.port(),
        len: m.len,
    })
}

/// `udp_recvmsg`: the next datagram into `buf` (at most `len` bytes; `None`: nowhere).
/// The call returns the bytes copied, or with `MSG_TRUNC` the datagram's whole length;
/// `MSG_PEEK` leaves the datagram queued.
pub(crate) fn udp_recvmsg_flags(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    buf: Option<&mut [u8]>,
    len: usize,
    flags: MsgFlags,
) -> Result<RecvMsg, Errno> {
    let u = n.socks.udp(sock);
    let Some(d) = u.rx.front() else {
        if let Some(e) = u.sk.err.take() {
            return Err(e);
        }
        return Err(Errno::Again);
    };
    let data = d.skb.data();
    let mut k = data.len().min(len);
    if let Some(buf) = buf {
        k = k.min(buf.len());
        buf[..k].copy_from_slice(&data[..k]);
    }
    // udpv6_recvmsg: an AF_INET6 socket sees an IPv4 sender v4-mapped.
    let from = match (d.src, u.sk.pinet6.is_some()) {
        (IpAddr::V4(a), true) => {
            SocketAddr::V6(SocketAddrV6::new(a.to_ipv6_mapped(), d.sport, 0, 0))
        }
        (a, _) => SocketAddr::new(a, d.sport),
    };
    let m = RecvMsg {
        len: if flags.contains(MsgFlags::TRUNC) {
            data.len()
        } else {
            k
        },
        from: Some(from),
        truncated: data.len() > k,
    };
    if flags.contains(MsgFlags::PEEK) {
        return Ok(m);
    }
    let d = u.rx.pop_front().expect("front");
    u.sk.rmem_alloc -= d.skb.truesize;
    // The MIB of the datagram's family (udpv6_recvmsg's `is_udp4`).
    if d.src.is_ipv4() {
        n.snmp.udp.InDatagrams += 1;
    } else {
        n.snmp6.udp6.Udp6InDatagrams += 1;
    }
    kfree_skb(n, cx, d.skb);
    Ok(m)
}

/// [`udp_recvmsg`] into the apps' buffer, returning the datagram as a `Vec` (for
/// apps that parse what they read: DNS).
pub fn udp_recv_vec(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
) -> Result<(RecvFrom, Vec<u8>), Errno> {
    let len = match n.socks.udp(sock).rx.front() {
        Some(d) => d.data().len(),
        None => 0,
    };
    let mut buf = vec![0; len];
    let d = udp_recvmsg(n, cx, sock, &mut buf)?;
    Ok((d, buf))
}

/// `close()`.
pub fn udp_close(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let socks = &mut n.socks;
    let port = socks.udp(sock).sk.sport;
    if let Some(slot) = socks.udp_ports.get_mut(&port) {
        slot.retain(|&s| s != sock);
        if slot.is_empty() {
            socks.udp_ports.remove(&port);
        }
    }
    // skb_queue_purge of the receive queue.
    let unread = std::mem::take(&mut socks.udp(sock).rx);
    socks.remove(sock);
    for d in unread {
        kfree_skb(n, cx, d.skb);
    }
}

/// `udp_rcv`: checksum, socket lookup, receive-buffer check, queue and wake the reader.
/// `skb` holds the UDP header and payload.
pub(crate) fn udp_rcv(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    mut skb: Skb,
    ip: Ipv4Repr,
    ip_header: &[u8],
) {
    note!(cx, skb, "udp_rcv");
    let offloaded = skb.csum_unnecessary;
    let parsed = UdpPacket::new_checked(skb.data()).and_then(|p| {
        let r = UdpRepr::parse_rx(&p, ip.src_addr, ip.dst_addr, offloaded)?;
        Ok((r, usize::from(p.len())))
    });
    let (repr, len) = match parsed {
        Ok(x) => x,
        Err(e) => {
            n.snmp.udp.InErrors += 1;
            let why = if e == crate::wire::Error::BadChecksum {
                n.snmp.udp.InCsumErrors += 1;
                "udp_rcv(bad_checksum)"
            } else {
                "udp_rcv(bad_header)"
            };
            let mut skb = skb;
            skb.push(ip_header.len());
            kfree_skb_reason(n, cx, dev, why, skb);
            return;
        }
    };
    // __udp4_lib_lookup: the socket bound to the port; a connected one only takes
    // datagrams from its peer.
    let found = udp4_lib_lookup(
        n,
        ip.src_addr,
        repr.src_port,
        Some(ip.dst_addr),
        repr.dst_port,
    );
    let Some(sock) = found else {
        udp_rcv_noport(n, cx, dev, skb, ip_header);
        return;
    };
    note!(cx, skb, "__udp_queue_rcv_skb");
    let truesize = skb.truesize;
    let u = n.socks.udp(sock);
    if u.sk.rmem_alloc + truesize > u.sk.rcvbuf {
        n.snmp.udp.RcvbufErrors += 1;
        n.snmp.udp.InErrors += 1;
        let mut skb = skb;
        skb.push(ip_header.len());
        kfree_skb_reason(n, cx, dev, "udp_rcv(rcvbuf_full)", skb);
        return;
    }
    u.sk.rmem_alloc += truesize;
    let mut skb = skb;
    skb.trim(len);
    skb.pull(UDP_HLEN);
    u.rx.push_back(Datagram {
        src: IpAddr::V4(ip.src_addr),
        sport: repr.src_port,
        skb,
    });
    sk_wake(n, cx, sock);
}

/// `udp_rcv` with no socket bound to the port: `NoPorts`, ICMP port unreachable.
pub(crate) fn udp_rcv_noport(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    mut skb: Skb,
    ip_header: &[u8],
) {
    n.snmp.udp.NoPorts += 1;
    skb.push(ip_header.len()).copy_from_slice(ip_header);
    icmp_send(
        n,
        cx,
        &skb,
        crate::wire::Icmpv4Repr::DstUnreachable {
            reason: crate::wire::DstUnreachable::PortUnreachable,
            next_hop_mtu: 0,
            data: &[],
        },
    );
    kfree_skb_reason(n, cx, dev, "udp_rcv(no_port)", skb);
}

/// `__udp4_lib_err`: an ICMP error about a datagram we sent from `sport` to
/// `daddr:dport`. No such socket: `Icmp InErrors`. A socket with `IP_RECVERR` is told of
/// every error; without it only a connected one, and only of a hard error (port unreachable
/// is `ECONNREFUSED`; host and net unreachable and time exceeded are not reported).
pub(crate) fn udp_err(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sport: u16,
    daddr: Ipv4Addr,
    dport: u16,
    err: crate::ip::icmp::IcmpErr,
) {
    let found = udp4_lib_lookup(n, daddr, dport, None, sport);
    let Some(sock) = found else {
        n.snmp.icmp.InErrors += 1;
        return;
    };
    let u = n.socks.udp(sock);
    let told = crate::ip::icmp::sk_icmp_error(err, u.sk.pmtudisc, u.sk.recverr, u.connected);
    if let Some(e) = told {
        u.sk.err = Some(e);
        trace_sock_err(n, cx, sock, "icmp error", e);
        sk_wake(n, cx, sock);
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddrV4;

    use sim_core::SimDuration;

    use crate::sock::syscall::{self, SockOpt, SockType};
    use crate::sock::{Errno, MsgFlags, PmtuDisc};
    use crate::testing::{OneHost, PEER};

    /// `IP_MTU_DISCOVER` on an unconnected UDP socket: what `udp_sendmsg` says and the DF
    /// and IP ID of what leaves (`__ip_append_data`, `__ip_make_skb`, `ip_select_ident_segs`).
    fn send(mode: Option<PmtuDisc>, payload: usize) -> (Result<usize, Errno>, Vec<(bool, u16)>) {
        let mut h = OneHost::new(crate::config::Sysctls::default());
        let r = h.with(|n, cx| {
            let fd = syscall::socket(n, cx, SockType::Dgram, 0, None)?;
            if let Some(m) = mode {
                syscall::setsockopt(n, cx, fd, SockOpt::MtuDiscover(m))?;
            }
            let to = Some(SocketAddrV4::new(PEER, 9));
            syscall::sendto(n, cx, fd, &vec![7; payload], to, MsgFlags::NONE)
        });
        h.advance(SimDuration::from_millis(1));
        let ip = h
            .take_ip()
            .iter()
            .map(|(_, p)| (p[6] & 0x40 != 0, u16::from_be_bytes([p[4], p[5]])))
            .collect();
        (r, ip)
    }

    #[test]
    fn mtu_discover_modes() {
        // "want" (the default): DF when it fits, hashed ID; fragments without DF above.
        let (r, ip) = send(None, 100);
        assert_eq!(r, Ok(100));
        assert!(ip[0].0 && ip[0].1 != 0, "{ip:?}");
        let (r, ip) = send(None, 2000);
        assert_eq!(r, Ok(2000));
        assert_eq!(ip.len(), 2);
        assert!(ip.iter().all(|&(df, _)| !df), "{ip:?}");
        // "dont": never DF.
        let (_, ip) = send(Some(PmtuDisc::Dont), 100);
        assert!(!ip[0].0, "{ip:?}");
        // "do": DF and ID 0; above the MTU, EMSGSIZE and nothing leaves.
        let (r, ip) = send(Some(PmtuDisc::Do), 100);
        assert_eq!((r, ip), (Ok(100), vec![(true, 0)]));
        let (r, ip) = send(Some(PmtuDisc::Do), 1473);
        assert_eq!((r, ip.len()), (Err(Errno::MsgSize), 0));
    }
}
