//! TCP over IPv6 (`net/ipv6/tcp_ipv6.c`, `inet6_connection_sock.c`): the `AF_INET6` side of
//! the socket calls (`inet6_bind`, `tcp_v6_connect`, `inet_listen` on an `AF_INET6` socket),
//! `tcp_v6_rcv` with its lookups, the listener's SYN (`tcp_v6_conn_request`), RSTs for
//! segments no socket wants (`tcp_v6_send_reset`), output through `inet6_csk_xmit` →
//! [`ip6_xmit`], and ICMPv6 errors (`tcp_v6_err`). Everything past the lookup — the state
//! machine, windows, timers, congestion control — is the family-blind code of the other
//! modules, as in Linux.
//!
//! An `AF_INET6` TCP socket has [`Ipv6Pinfo`] in its `pinet6`. Its packets go over IPv6 when
//! its peer is an IPv6 address ([`Ipv6Pinfo::is_v6_flow`]); connected to a v4-mapped address
//! (`connect` to `::ffff:a.b.c.d`, or a child of a dual-stack listener that an IPv4 client
//! reached) it is an IPv4 connection in every respect but the addresses the calls report,
//! and it lives in the IPv4 lookup table. IPv6 connections have their own table
//! ([`SocketTable::tcp_estab6`]) and listeners theirs ([`SocketTable::tcp_listen6`]), so the
//! IPv4 path is untouched: it looks at the IPv6 listeners only when no IPv4 one has the
//! port.
//!
//! What leaves: MSS = MTU − 60 (1440 at 1500; the initial windows follow from it by the
//! IPv4 rule: 64800 in the SYN, 64260 in the SYN-ACK); hop limit from `IPV6_UNICAST_HOPS` or
//! the interface's; traffic class 0 with the socket's ECN bits; the flow label from the
//! socket's random `sk_txhash` (`ip6_make_flowlabel`: `rol32(hash, 16)` & 0xfffff), drawn
//! at `connect` (a child takes its request's, drawn at the SYN) and drawn again on each
//! retransmission timeout (`sk_rethink_txhash`), so a connection keeps one label per
//! direction until a timeout. A RST for no socket is the kernel's control socket's: flow
//! label from the flow's hash, as `ip6_make_flowlabel` gives an skb without one.
//!
//! Not modeled: Fast Open over IPv6 (an `AF_INET6` socket's connect never defers and its
//! SYN carries no cookie), IPv6 extension headers on TCP packets, flow-label reflection
//! (`net.ipv6.flowlabel_reflect`), the per-socket route cache (each packet looks its route
//! up), retransmitting at once the segments a Packet Too Big found too large
//! (`tcp_simple_retransmit`: they are resent, cut to the new MSS, by the usual recovery).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use crate::ctx::NetCtx;
use crate::dev::NetXmit;
use crate::ip::output::LOOPBACK;
use crate::ipv6::addrconf::{ipv6_chk_addr, ipv6_dev_get_saddr};
use crate::ipv6::icmp::{Rcv6, hop_limit, scoped};
use crate::ipv6::output::{Ip6Send, ip6_make_flowlabel, ip6_route_output, ip6_xmit};
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::{Errno, Ipv6Pinfo, LOOPBACK4_IPV6, SockId, Socket, SocketTable};
use crate::sock::{kfree_skb, kfree_skb_reason, trace_sock_err_at};
use crate::tcp::input::{RxMeta, tcp_conn_request, tcp_rcv_state_process};
use crate::tcp::output::{tcp_reset_rtx_timer, tcp_send_synack};
use crate::tcp::{TcpState, release_port};
use crate::wire::{IpProtocol, TcpFlags, TcpOptions, TcpPacket, TcpRepr};

/// IPv6 + TCP headers without options: the MSS is the MTU less these.
pub const TCP6_HDRS: u32 = 60;

/// What the output path needs of an IPv6 connection, copied from its [`Ipv6Pinfo`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flow6 {
    /// `np->saddr`.
    pub(crate) saddr: Ipv6Addr,
    /// `sk_v6_daddr`.
    pub(crate) daddr: Ipv6Addr,
    /// `np->hop_limit` (-1: the route's).
    pub(crate) hop_limit: i16,
    /// `sk_txhash`.
    pub(crate) txhash: u32,
}

impl Flow6 {
    /// The flow of a socket's IPv6 half.
    #[inline]
    pub(crate) fn of(np: &Ipv6Pinfo) -> Self {
        Self {
            saddr: np.saddr,
            daddr: np.daddr,
            hop_limit: np.hop_limit,
            txhash: np.txhash,
        }
    }
}

/// `net_tx_rndhash`: a random flow hash, never 0.
pub(crate) fn net_tx_rndhash(n: &mut Node) -> u32 {
    loop {
        let v = n.rng.next_u32();
        if v != 0 {
            return v;
        }
    }
}

/// `sk_rethink_txhash`: a new random `sk_txhash` for an IPv6 connection (a retransmission
/// timeout: perhaps another path, by another flow label). Nothing for other sockets.
pub(crate) fn sk_rethink_txhash(n: &mut Node, sock: SockId) {
    let v6 = n
        .socks
        .tcp(sock)
        .and_then(|t| t.sk.pinet6.as_deref())
        .is_some_and(Ipv6Pinfo::is_v6_flow);
    if !v6 {
        return;
    }
    let h = net_tx_rndhash(n);
    if let Some(np) = n.socks.tcp(sock).and_then(|t| t.sk.pinet6.as_deref_mut()) {
        np.txhash = h;
    }
}

/// The flow label of a packet with hash `hash` (`ip6_make_flowlabel` with
/// `net.ipv6.auto_flowlabels` on, `flowlabel_state_ranges` off).
fn flowlabel_of_hash(n: &Node, hash: u32) -> u32 {
    if !matches!(n.sysctl.ipv6_auto_flowlabels, 1 | 3) {
        return 0;
    }
    hash.rotate_left(16) & 0x000f_ffff
}

/// `socket(AF_INET6, SOCK_STREAM)`, owned by `app`.
pub fn tcp_v6_socket(n: &mut Node, cx: &mut NetCtx<'_>, app: Option<u32>) -> SockId {
    let sock = super::tcp_socket(n, cx, app);
    if let Some(t) = n.socks.tcp(sock) {
        t.sk.pinet6 = Some(Box::new(Ipv6Pinfo::new()));
    }
    sock
}

/// Whether an `AF_INET6` listener on `port` takes IPv4 connections too (not v6-only): then
/// it holds the port against `AF_INET` listeners and binds.
pub(crate) fn dual_listener(socks: &mut SocketTable, port: u16) -> bool {
    let Some(&l) = socks.tcp_listen6.get(&port) else {
        return false;
    };
    socks
        .tcp(l)
        .and_then(|t| t.sk.pinet6.as_deref())
        .is_some_and(|np| !np.ipv6only)
}

fn np(n: &mut Node, sock: SockId) -> Result<&mut Ipv6Pinfo, Errno> {
    n.socks
        .tcp(sock)
        .and_then(|t| t.sk.pinet6.as_deref_mut())
        .ok_or(Errno::NotSock)
}

fn traced<T>(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    call: &str,
    to: Option<SocketAddr>,
    r: Result<T, Errno>,
) -> Result<T, Errno> {
    if let Err(e) = &r {
        trace_sock_err_at(n, cx, sock, call, *e, to);
    }
    r
}

/// `inet6_bind` (`__inet6_bind` → `inet_csk_get_port`) of a TCP socket: `::`, a v4-mapped
/// address (not on a v6-only socket: `EINVAL`) or an address of the node (`EADDRNOTAVAIL`
/// otherwise). Binding an IPv6 address makes the socket v6-only, as Linux does. The port
/// is refused (`EADDRINUSE`) when an `AF_INET6` listener holds it, when an `AF_INET` one
/// does and this socket would take IPv4 (not v6-only), or when connections use it without
/// `SO_REUSEADDR`.
pub fn tcp_v6_bind(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    addr: SocketAddrV6,
) -> Result<u16, Errno> {
    let r = tcp_v6_bind_inner(n, sock, addr);
    traced(n, cx, sock, "bind", None, r)
}

fn tcp_v6_bind_inner(n: &mut Node, sock: SockId, addr: SocketAddrV6) -> Result<u16, Errno> {
    let a = *addr.ip();
    let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
    if t.state != TcpState::Closed || t.sk.sport != 0 {
        return Err(Errno::Inval);
    }
    let freebind = t.sk.freebind;
    let reuse = t.sk.reuseaddr;
    let mut v6only = np(n, sock)?.ipv6only;
    let v4 = if let Some(m) = a.to_ipv4_mapped() {
        if v6only {
            return Err(Errno::Inval);
        }
        if !m.is_unspecified() && !freebind && !n.fib.is_local(m) {
            return Err(Errno::AddrNotAvail);
        }
        m
    } else if a.is_unspecified() {
        Ipv4Addr::UNSPECIFIED
    } else {
        if scoped(a) {
            // A link-local address needs its interface (sin6_scope_id); multicast is
            // not an address to bind a stream socket to.
            return Err(Errno::Inval);
        }
        if !freebind && !ipv6_chk_addr(n, a) {
            return Err(Errno::AddrNotAvail);
        }
        v6only = true;
        LOOPBACK4_IPV6
    };
    let socks = &mut n.socks;
    let taken = |s: &SocketTable, p: u16| {
        s.tcp_listen6.contains_key(&p) || (!v6only && s.tcp_listen.contains_key(&p))
    };
    let port = if addr.port() == 0 {
        crate::sock::inet_autobind_port(n, |s, p| taken(s, p) || s.tcp_ports.contains_key(&p))?
    } else if taken(socks, addr.port()) || (socks.tcp_ports.contains_key(&addr.port()) && !reuse) {
        return Err(Errno::AddrInUse);
    } else {
        addr.port()
    };
    *n.socks.tcp_ports.entry(port).or_default() += 1;
    let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
    t.sk.saddr = v4;
    t.sk.sport = port;
    let np = t.sk.pinet6.as_deref_mut().ok_or(Errno::NotSock)?;
    np.rcv_saddr = a;
    np.saddr = a;
    np.ipv6only = v6only;
    Ok(port)
}

/// `inet_listen` of an `AF_INET6` socket (bound now to `::` and an ephemeral port if it was
/// not): it goes in the IPv6 listeners' table.
pub(crate) fn inet6_listen(n: &mut Node, sock: SockId, backlog: u32) -> Result<(), Errno> {
    let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
    let mut port = t.sk.sport;
    if port == 0 {
        port = tcp_v6_bind_inner(n, sock, SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0))?;
    }
    let v6only = np(n, sock)?.ipv6only;
    let socks = &mut n.socks;
    if socks.tcp_listen6.contains_key(&port) || (!v6only && socks.tcp_listen.contains_key(&port)) {
        return Err(Errno::AddrInUse);
    }
    release_port(socks, port);
    socks.tcp_listen6.insert(port, sock);
    let t = socks.tcp(sock).ok_or(Errno::NotSock)?;
    t.state = TcpState::Listen;
    t.backlog = backlog;
    Ok(())
}

/// `tcp_v6_connect`: to an IPv6 peer, the route, the source address (`ipv6_dev_get_saddr`
/// unless bound), an even ephemeral port, the ISN, the timestamp offset, the socket's
/// `txhash`, then the SYN. A v4-mapped peer connects over IPv4 (`tcp_v4_connect`; a v6-only
/// socket refuses with `ENETUNREACH`); a `sockaddr_in` is `EAFNOSUPPORT`. On a
/// `TCP_FASTOPEN_CONNECT` socket with a cookie cached the SYN waits for the first write
/// (`tcp_fastopen_defer_connect`), as over IPv4.
pub fn tcp_v6_connect(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    to: SocketAddr,
) -> Result<(), Errno> {
    tcp_v6_connect_with(n, cx, sock, to, &[])
}

/// [`tcp_v6_connect`] from a Fast Open write (`tcp_sendmsg_fastopen`): the SYN takes what
/// it can of `data`.
pub(crate) fn tcp_v6_connect_with(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    to: SocketAddr,
    data: &[u8],
) -> Result<(), Errno> {
    let r = tcp_v6_connect_inner(n, cx, sock, to, data);
    traced(n, cx, sock, "connect", Some(to), r)
}

fn tcp_v6_connect_inner(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    to: SocketAddr,
    data: &[u8],
) -> Result<(), Errno> {
    let SocketAddr::V6(to) = to else {
        return Err(Errno::AfNoSupport);
    };
    let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
    match t.state {
        TcpState::Closed => {}
        // __inet_stream_connect: a deferred connect is as good as connected.
        TcpState::SynSent if t.fo.defer_connect => return Err(Errno::IsConn),
        TcpState::SynSent | TcpState::SynRecv => return Err(Errno::Already),
        TcpState::Listen => return Err(Errno::Inval),
        _ => return Err(Errno::IsConn),
    }
    let v6only = np(n, sock)?.ipv6only;
    if let Some(m) = to.ip().to_ipv4_mapped() {
        if v6only {
            return Err(Errno::NetUnreach);
        }
        // The peer is v4-mapped before the SYN leaves: its packets go over IPv4.
        np(n, sock)?.daddr = m.to_ipv6_mapped();
        if let Err(e) = super::tcp_connect_with(n, cx, sock, m, to.port(), data) {
            np(n, sock)?.daddr = Ipv6Addr::UNSPECIFIED;
            return Err(e);
        }
        let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
        let (saddr, daddr) = (t.sk.saddr, t.sk.daddr);
        let np = t.sk.pinet6.as_deref_mut().ok_or(Errno::NotSock)?;
        np.daddr = daddr.to_ipv6_mapped();
        np.saddr = saddr.to_ipv6_mapped();
        np.rcv_saddr = np.saddr;
        return Ok(());
    }
    let daddr = if to.ip().is_unspecified() {
        Ipv6Addr::LOCALHOST
    } else {
        *to.ip()
    };
    if scoped(daddr) {
        // A link-local peer needs sin6_scope_id; multicast is no TCP peer.
        return Err(if daddr.is_multicast() {
            Errno::NetUnreach
        } else {
            Errno::Inval
        });
    }
    let dport = to.port();
    let Ok(route) = ip6_route_output(n, daddr, None, cx.now) else {
        return Err(Errno::NetUnreach);
    };
    let (bound_src, bound_port) = {
        let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
        let np = t.sk.pinet6.as_deref().ok_or(Errno::NotSock)?;
        (np.saddr, t.sk.sport)
    };
    let src = if !bound_src.is_unspecified() {
        bound_src
    } else if route.dev == LOOPBACK {
        daddr
    } else {
        ipv6_dev_get_saddr(n, route.dev, daddr).ok_or(Errno::AddrNotAvail)?
    };
    let sport = if bound_port != 0 {
        if n.socks.tcp_estab6.contains_key(&(daddr, dport, bound_port)) {
            return Err(Errno::AddrNotAvail);
        }
        bound_port
    } else {
        let p = inet6_hash_connect_port(n, daddr, dport)?;
        *n.socks.tcp_ports.entry(p).or_default() += 1;
        p
    };
    let iss = n.rng.next_u32();
    let ts_off = n.rng.next_u32();
    let inet_id = n.rng.next_u32() as u16;
    let txhash = net_tx_rndhash(n);
    let sys = n.sysctl.clone();
    n.socks.tcp_estab6.insert((daddr, dport, sport), sock);
    let t = n.socks.tcp(sock).ok_or(Errno::NotConn)?;
    if t.sk.saddr.is_unspecified() {
        t.sk.saddr = LOOPBACK4_IPV6;
    }
    t.sk.daddr = LOOPBACK4_IPV6;
    t.sk.sport = sport;
    t.sk.dport = dport;
    t.sk.inet_id = inet_id;
    t.ts_off = ts_off;
    t.iss = iss;
    t.state = TcpState::SynSent;
    let np = t.sk.pinet6.as_deref_mut().ok_or(Errno::NotSock)?;
    np.daddr = daddr;
    np.saddr = src;
    if np.rcv_saddr.is_unspecified() {
        np.rcv_saddr = src;
    }
    np.txhash = txhash;
    if t.fo.connect && super::fastopen::tcp_fastopen_defer_connect(n, sock) {
        return Ok(());
    }
    // tcp_connect_init with the IPv6 headers: MSS = MTU − 60.
    super::tcp_connect_syn(n, cx, sock, &sys, route.mtu - (TCP6_HDRS - 40), data);
    Ok(())
}

/// The `tcp_connect` of a deferred IPv6 connect, at the first write
/// (`tcp_sendmsg_fastopen`); a route gone meanwhile is `EHOSTUNREACH` and the socket is
/// closed again.
pub(crate) fn tcp_v6_connect_deferred(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    data: &[u8],
) -> Result<(), Errno> {
    let daddr = np(n, sock)?.daddr;
    let Ok(route) = ip6_route_output(n, daddr, None, cx.now) else {
        let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
        let key = (daddr, t.sk.dport, t.sk.sport);
        let sport = t.sk.sport;
        t.state = TcpState::Closed;
        t.sk.dport = 0;
        t.fo.defer_connect = false;
        if n.socks.tcp_estab6.get(&key) == Some(&sock) {
            n.socks.tcp_estab6.remove(&key);
            super::release_port(&mut n.socks, sport);
        }
        return Err(Errno::HostUnreach);
    };
    let sys = n.sysctl.clone();
    super::tcp_connect_syn(n, cx, sock, &sys, route.mtu - (TCP6_HDRS - 40), data);
    Ok(())
}

/// `inet6_hash_connect`'s port choice: as [`crate::sock::inet_hash_connect_port`], against
/// the IPv6 connections.
fn inet6_hash_connect_port(n: &mut Node, daddr: Ipv6Addr, dport: u16) -> Result<u16, Errno> {
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
                || n.socks.tcp_estab6.contains_key(&(daddr, dport, port))
            {
                continue;
            }
            return Ok(port);
        }
    }
    Err(Errno::AddrNotAvail)
}

/// `inet6_csk_xmit`: a TCP segment (`skb`: header and payload) of an IPv6 connection to
/// IPv6, with the connection's hop limit, traffic class (its ECN bits: `tos`), and flow
/// label.
pub(crate) fn inet6_csk_xmit(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    mut skb: Skb,
    f: &Flow6,
    tos: u8,
) -> NetXmit {
    note!(cx, skb, "inet6_csk_xmit");
    let Ok(dst) = ip6_route_output(n, f.daddr, None, cx.now) else {
        kfree_skb(n, cx, skb);
        return NetXmit::Drop;
    };
    let send = Ip6Send {
        src: f.saddr,
        dst: f.daddr,
        next_header: IpProtocol::Tcp,
        hop_limit: u8::try_from(f.hop_limit).unwrap_or_else(|_| hop_limit(n, dst.dev)),
        tclass: tos & 0x3,
        flow_label: flowlabel_of_hash(n, f.txhash),
    };
    ip6_xmit(n, cx, skb, send, dst)
}

/// `tcp_v6_rcv`: `skb` holds the IPv6 packet, the TCP header `off` bytes in. Checksum
/// over the IPv6 pseudo-header, then the connection, the listener, or a RST.
pub(crate) fn tcp_v6_rcv(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    mut skb: Skb,
    h: Rcv6,
    off: usize,
) {
    note!(cx, skb, "tcp_v6_rcv");
    if off > skb.len() || h.dst.is_multicast() {
        n.snmp.tcp.InErrs += 1;
        kfree_skb_reason(n, cx, dev, "tcp_v6_rcv(bad_segment)", skb);
        return;
    }
    skb.pull(off);
    let offloaded = skb.csum_unnecessary;
    let parsed = TcpPacket::new_checked(skb.data())
        .and_then(|p| TcpRepr::parse_rx(&p, h.src, h.dst, offloaded));
    let th = match parsed {
        Ok(th) => th,
        Err(e) => {
            n.snmp.tcp.InErrs += 1;
            if e == crate::wire::Error::BadChecksum {
                n.snmp.tcp.InCsumErrors += 1;
            }
            skb.push(off);
            kfree_skb_reason(n, cx, dev, "tcp_v6_rcv(bad_segment)", skb);
            return;
        }
    };
    let hlen = th.header_len();
    n.snmp.tcp.InSegs += 1;
    let key = (h.src, th.src_port, th.dst_port);
    if th.options.md5_sig()
        && (n.socks.tcp_estab6.contains_key(&key) || n.socks.tcp_listen6.contains_key(&th.dst_port))
    {
        skb.push(off);
        kfree_skb_reason(n, cx, dev, "tcp_v6_rcv(md5_unexpected)", skb);
        return;
    }
    if let Some(&sock) = n.socks.tcp_estab6.get(&key) {
        note!(cx, skb, "tcp_rcv_state_process");
        let zeros = skb.known_zeros(hlen, skb.len() - hlen);
        let meta = RxMeta {
            ip_dsfield: h.tclass,
            gso_size: skb.gso_size,
        };
        tcp_rcv_state_process(n, cx, sock, &th, &skb.data()[hlen..], zeros, meta);
        kfree_skb(n, cx, skb);
        return;
    }
    if let Some(&listener) = n.socks.tcp_listen6.get(&th.dst_port) {
        note!(cx, skb, "tcp_conn_request");
        tcp_v6_listen_rcv(n, cx, listener, &h, &th, skb.len() - hlen);
        kfree_skb(n, cx, skb);
        return;
    }
    let len = skb.len() - hlen;
    tcp_v6_send_reset(n, cx, h.src, h.dst, &th, len);
    skb.push(off);
    kfree_skb_reason(n, cx, dev, "tcp_v6_rcv(no_socket)", skb);
}

/// A segment for an IPv6 listener: a SYN makes a child in SYN_RECV and gets a SYN-ACK
/// (`tcp_v6_conn_request`, `tcp_v6_syn_recv_sock`); anything else gets a RST.
fn tcp_v6_listen_rcv(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    listener: SockId,
    h: &Rcv6,
    th: &TcpRepr,
    payload_len: usize,
) {
    if th.flags.contains(TcpFlags::RST) {
        return;
    }
    if th.flags.contains(TcpFlags::ACK) || !th.flags.contains(TcpFlags::SYN) {
        tcp_v6_send_reset(n, cx, h.src, h.dst, th, payload_len);
        return;
    }
    let Ok(dst) = ip6_route_output(n, h.src, None, cx.now) else {
        return;
    };
    let addrs = (LOOPBACK4_IPV6, LOOPBACK4_IPV6);
    let mss_base = dst.mtu - TCP6_HDRS;
    let Some(mut t) = tcp_conn_request(n, cx, listener, th, mss_base, h.tclass, addrs) else {
        return;
    };
    // tcp_conn_request: the request's txhash, which the child keeps.
    let txhash = net_tx_rndhash(n);
    let np =
        t.sk.pinet6
            .get_or_insert_with(|| Box::new(Ipv6Pinfo::new()));
    np.rcv_saddr = h.dst;
    np.saddr = h.dst;
    np.daddr = h.src;
    np.txhash = txhash;
    let key = (h.src, th.src_port, th.dst_port);
    let sock = n.socks.insert(Socket::Tcp(t));
    n.socks.tcp_estab6.insert(key, sock);
    *n.socks.tcp_ports.entry(th.dst_port).or_default() += 1;
    tcp_send_synack(n, cx, sock);
    tcp_reset_rtx_timer(n, cx, sock);
}

/// `tcp_v6_send_reset`: a RST from `ours` to `peer` in answer to `th`, which no socket
/// wants (or which a connection refuses), sent by the kernel's control socket: hop limit
/// of the route, traffic class 0, the flow label of the flow's hash.
pub(crate) fn tcp_v6_send_reset(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    peer: Ipv6Addr,
    ours: Ipv6Addr,
    th: &TcpRepr,
    payload_len: usize,
) {
    if th.flags.contains(TcpFlags::RST) || peer.is_multicast() {
        return;
    }
    let (seq, ack, flags) = if th.flags.contains(TcpFlags::ACK) {
        (th.ack, 0, TcpFlags::RST)
    } else {
        (
            0,
            th.seq.wrapping_add(th.segment_len(payload_len) as u32),
            TcpFlags::RST | TcpFlags::ACK,
        )
    };
    let repr = TcpRepr {
        src_port: th.dst_port,
        dst_port: th.src_port,
        seq,
        ack,
        flags,
        window: 0,
        urgent: 0,
        options: TcpOptions::default(),
    };
    let hlen = repr.header_len();
    let mut skb = cx.shared.pool.alloc(hlen);
    skb.put(hlen);
    repr.emit(&mut TcpPacket::new_unchecked(skb.data_mut()), ours, peer, 0);
    note!(cx, skb, "tcp_v6_send_reset");
    n.snmp.tcp.OutRsts += 1;
    n.snmp.tcp.OutSegs += 1;
    let Ok(dst) = ip6_route_output(n, peer, None, cx.now) else {
        kfree_skb(n, cx, skb);
        return;
    };
    let ports = (u32::from(repr.src_port) << 16) | u32::from(repr.dst_port);
    let send = Ip6Send {
        src: ours,
        dst: peer,
        next_header: IpProtocol::Tcp,
        hop_limit: hop_limit(n, dst.dev),
        tclass: 0,
        flow_label: ip6_make_flowlabel(n, ours, peer, 6, ports),
    };
    let _ = ip6_xmit(n, cx, skb, send, dst);
}

/// `tcp_v6_err`: an ICMPv6 error about a segment of ours (`saddr`:`sport` → `daddr`:`dport`).
/// Packet Too Big lowers the connection's MSS to the new path MTU
/// (`tcp_v6_mtu_reduced` → `tcp_sync_mss`); the others are soft errors for a connection
/// past SYN_SENT (`sk_err_soft`, not reported to the app, as IPv4's are here), and hard
/// ones (`ECONNREFUSED`, `EHOSTUNREACH`, …, by `icmpv6_err_convert`) for one in SYN_SENT,
/// which is then closed.
#[allow(clippy::too_many_arguments)]
pub(crate) fn tcp_v6_err(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    daddr: Ipv6Addr,
    dport: u16,
    sport: u16,
    ty: u8,
    code: u8,
    info: u32,
) {
    let Some(&sock) = n.socks.tcp_estab6.get(&(daddr, dport, sport)) else {
        return;
    };
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if ty == 2 {
        // Packet Too Big.
        // tcp_v6_mtu_reduced: never below the IPv6 minimum MTU.
        let mtu = info.max(crate::ipv6::route::IPV6_MIN_MTU);
        let opts = if t.ts_ok { 12 } else { 0 };
        let mss = mtu
            .saturating_sub(TCP6_HDRS)
            .min(t.mss_clamp)
            .saturating_sub(opts);
        if mss < t.mss_cache {
            t.mss_cache = mss.max(48);
        }
        return;
    }
    let crate::ip::icmp::IcmpErr::Report { errno, .. } =
        crate::ipv6::icmp::icmpv6_err_convert(ty, code)
    else {
        return;
    };
    if t.state == TcpState::SynSent {
        t.sk.err = Some(errno);
        n.snmp.tcp.AttemptFails += 1;
        super::tcp_done(n, cx, sock);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};

    use sim_core::SimDuration;

    use crate::sock::Errno;
    use crate::sock::syscall::{self, Domain, SockOpt, SockType};
    use crate::testing::{HOST, HOST_MAC, HOST6, OneHost, PEER, PEER6};
    use crate::wire::{
        IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, TcpFlags, TcpOption, TcpOptions,
        TcpPacket, TcpRepr,
    };

    const PEER_PORT: u16 = 40_000;
    const PORT: u16 = 80;

    /// A dual-stack host whose addresses are valid (DAD done), nothing sent left over.
    fn host() -> OneHost {
        let mut h = OneHost::dual(Default::default(), Default::default());
        h.advance(SimDuration::from_secs(3));
        let _ = h.take_ip6();
        let _ = h.take_ip();
        h
    }

    fn socket6(h: &mut OneHost) -> u32 {
        h.with(|n, cx| syscall::socket_domain(n, cx, Domain::Inet6, SockType::Stream, 0, None))
            .expect("socket")
    }

    fn v6(a: std::net::Ipv6Addr, port: u16) -> SocketAddr {
        SocketAddrV6::new(a, port, 0, 0).into()
    }

    /// A segment from the peer over IPv6 to `HOST6`:`PORT`.
    fn seg6(
        seq: u32,
        ack: u32,
        flags: TcpFlags,
        options: &[TcpOption<'_>],
        data: &[u8],
    ) -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: PEER_PORT,
            dst_port: PORT,
            seq,
            ack,
            flags,
            window: 502,
            urgent: 0,
            options: TcpOptions::new(options).expect("options fit"),
        };
        let tlen = tcp.header_len() + data.len();
        let mut p = vec![0u8; 40 + tlen];
        Ipv6Repr {
            src_addr: PEER6,
            dst_addr: HOST6,
            next_header: IpProtocol::Tcp,
            payload_len: tlen,
            hop_limit: 63,
            traffic_class: 0,
            flow_label: 0x12345,
        }
        .emit(&mut Ipv6Packet::new_unchecked(&mut p[..]));
        p[40 + tcp.header_len()..].copy_from_slice(data);
        tcp.emit(
            &mut TcpPacket::new_unchecked(&mut p[40..]),
            PEER6,
            HOST6,
            data.len(),
        );
        p
    }

    /// A SYN from the peer over IPv4 to `HOST`:`PORT`.
    fn syn4() -> Vec<u8> {
        let tcp = TcpRepr {
            src_port: PEER_PORT,
            dst_port: PORT,
            seq: 1000,
            ack: 0,
            flags: TcpFlags::SYN,
            window: 64240,
            urgent: 0,
            options: TcpOptions::new(&syn_opts()).expect("fit"),
        };
        let tlen = tcp.header_len();
        let mut p = vec![0u8; 20 + tlen];
        Ipv4Repr {
            src_addr: PEER,
            dst_addr: HOST,
            protocol: IpProtocol::Tcp,
            payload_len: tlen,
            ttl: 64,
            dscp_ecn: 0,
            ident: 0,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        }
        .emit(&mut Ipv4Packet::new_unchecked(&mut p[..]));
        tcp.emit(&mut TcpPacket::new_unchecked(&mut p[20..]), PEER, HOST, 0);
        p
    }

    fn syn_opts() -> Vec<TcpOption<'static>> {
        vec![
            TcpOption::MaxSegmentSize(1440),
            TcpOption::SackPermitted,
            TcpOption::Timestamp { tsval: 1, tsecr: 0 },
            TcpOption::NoOp,
            TcpOption::WindowScale(7),
        ]
    }

    /// The TCP/IPv6 packets the host sent: (IPv6 header, TCP header, payload length), the
    /// TCP checksum verified over the IPv6 pseudo-header.
    fn sent6(h: &mut OneHost) -> Vec<(Ipv6Repr, TcpRepr, usize)> {
        h.take_ip6()
            .into_iter()
            .filter_map(|(_, _, p)| {
                let ip = Ipv6Packet::new_checked(&p[..]).ok()?;
                let repr = Ipv6Repr::parse(&ip).ok()?;
                if repr.next_header != IpProtocol::Tcp {
                    return None;
                }
                let tp = TcpPacket::new_checked(&p[40..]).expect("TCP");
                let th = TcpRepr::parse_rx(&tp, repr.src_addr, repr.dst_addr, false)
                    .expect("a good checksum");
                let len = p.len() - 40 - th.header_len();
                Some((repr, th, len))
            })
            .collect()
    }

    /// `connect` to an IPv6 peer: a SYN with MSS 1440 and window 64800 (45 × 1440), hop
    /// limit 64, traffic class 0 and a non-zero flow label the ACK of the handshake repeats;
    /// the socket is then established and its data goes with the same label.
    #[test]
    fn connect_sends_the_syn_linux_sends() {
        let mut h = host();
        let s = socket6(&mut h);
        let r = h.with(|n, cx| syscall::connect(n, cx, s, v6(PEER6, PORT)));
        assert_eq!(r, Err(Errno::InProgress));
        h.advance(SimDuration::from_millis(1));
        let out = sent6(&mut h);
        assert_eq!(out.len(), 1, "{out:?}");
        let (ip, syn, _) = &out[0];
        assert_eq!((ip.src_addr, ip.dst_addr), (HOST6, PEER6));
        assert_eq!((ip.hop_limit, ip.traffic_class), (64, 0));
        assert_ne!(ip.flow_label, 0);
        assert_eq!(syn.flags, TcpFlags::SYN);
        assert_eq!(syn.options.mss(), Some(1440));
        assert_eq!(syn.window, 64800);
        assert_eq!(syn.dst_port, PORT);
        let label = ip.flow_label;
        // The peer's SYN-ACK (swap the ports: the socket's port is ephemeral).
        let mut synack = seg6(
            5000,
            syn.seq.wrapping_add(1),
            TcpFlags::SYN | TcpFlags::ACK,
            &syn_opts(),
            &[],
        );
        {
            let mut tp = TcpPacket::new_unchecked(&mut synack[40..]);
            tp.set_src_port(PORT);
            tp.set_dst_port(syn.src_port);
            tp.fill_checksum(PEER6, HOST6);
        }
        h.inject_ip6(HOST_MAC, &synack);
        h.advance(SimDuration::from_millis(1));
        let out = sent6(&mut h);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].1.flags, TcpFlags::ACK);
        assert_eq!(out[0].0.flow_label, label);
        h.with(|n, cx| {
            syscall::send(
                n,
                cx,
                s,
                b"GET / HTTP/1.1\r\n\r\n",
                crate::sock::MsgFlags::NONE,
            )
        })
        .expect("send");
        h.advance(SimDuration::from_millis(1));
        let out = sent6(&mut h);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].2, 18);
        assert_eq!(out[0].0.flow_label, label);
        let peer = h
            .with(|n, _| syscall::getpeername_addr(n, s))
            .expect("peer");
        assert_eq!(peer, v6(PEER6, PORT));
        assert_eq!(h.n.socks.tcp_estab6.len(), 1);
        assert!(h.n.socks.tcp_estab.is_empty());
    }

    /// An IPv6 listener answers a SYN with a SYN-ACK of MSS 1440 and window 64260
    /// (45 × 1428), the child's own flow label, and accept reports the IPv6 peer.
    #[test]
    fn a_listener_takes_an_ipv6_connection() {
        let mut h = host();
        let l = socket6(&mut h);
        h.with(|n, cx| syscall::bind(n, cx, l, v6(HOST6, PORT)))
            .expect("bind");
        h.with(|n, cx| syscall::listen(n, cx, l, 8))
            .expect("listen");
        h.inject_ip6(HOST_MAC, &seg6(1000, 0, TcpFlags::SYN, &syn_opts(), &[]));
        h.advance(SimDuration::from_millis(1));
        let out = sent6(&mut h);
        assert_eq!(out.len(), 1, "{out:?}");
        let (ip, sa, _) = &out[0];
        assert_eq!(sa.flags, TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!(sa.options.mss(), Some(1440));
        assert_eq!(sa.window, 64260);
        assert_eq!(sa.ack, 1001);
        assert_eq!(ip.hop_limit, 64);
        assert_ne!(ip.flow_label, 0);
        let iss = sa.seq;
        h.inject_ip6(
            HOST_MAC,
            &seg6(
                1001,
                iss.wrapping_add(1),
                TcpFlags::ACK,
                &[
                    TcpOption::NoOp,
                    TcpOption::NoOp,
                    TcpOption::Timestamp { tsval: 2, tsecr: 0 },
                ],
                &[],
            ),
        );
        h.advance(SimDuration::from_millis(1));
        let (c, peer) = h.with(|n, _| syscall::accept(n, l, true)).expect("accept");
        assert_eq!(peer, v6(PEER6, PEER_PORT));
        let me = h
            .with(|n, _| syscall::getsockname_addr(n, c))
            .expect("name");
        assert_eq!(me, v6(HOST6, PORT));
    }

    /// A listener on `::` takes IPv4 connections as v4-mapped (IPV6_V6ONLY is 0 by
    /// default); a v6-only one does not (the SYN gets a RST), and then an IPv4 listener
    /// may have the same port beside it.
    #[test]
    fn dual_stack_and_v6only_listeners() {
        let mut h = host();
        let l = socket6(&mut h);
        h.with(|n, cx| syscall::bind(n, cx, l, v6(std::net::Ipv6Addr::UNSPECIFIED, PORT)))
            .expect("bind");
        h.with(|n, cx| syscall::listen(n, cx, l, 8))
            .expect("listen");
        // The dual-stack listener holds the port against IPv4.
        let l4 = h
            .with(|n, cx| syscall::socket(n, cx, SockType::Stream, 0, None))
            .expect("socket");
        assert_eq!(
            h.with(|n, cx| syscall::bind(n, cx, l4, SocketAddrV4::new(HOST, PORT))),
            Err(Errno::AddrInUse)
        );
        h.inject_ip(&syn4());
        h.advance(SimDuration::from_millis(1));
        let out = h.take_ip();
        let synack = out
            .iter()
            .find(|(_, p)| p[9] == 6)
            .map(|(_, p)| {
                let ip = Ipv4Packet::new_checked(&p[..]).expect("IPv4");
                TcpRepr::parse_rx(
                    &TcpPacket::new_checked(ip.payload()).expect("TCP"),
                    PEER,
                    HOST,
                    false,
                )
                .map(|t| (t.flags, t.options.mss(), t.window))
                .expect("TCP")
            })
            .expect("a SYN-ACK over IPv4");
        assert_eq!(synack, (TcpFlags::SYN | TcpFlags::ACK, Some(1460), 65160));
        let c =
            h.n.socks
                .tcp_estab
                .values()
                .next()
                .copied()
                .expect("a child");
        let peer = h
            .with(|n, _| syscall::getpeername_addr(n, c))
            .expect("peer");
        assert_eq!(peer, v6(PEER.to_ipv6_mapped(), PEER_PORT));

        // A v6-only listener: IPv4 SYNs are refused, and IPv4 may listen beside it.
        let mut h = host();
        let l = socket6(&mut h);
        h.with(|n, cx| syscall::setsockopt(n, cx, l, SockOpt::V6Only(true)))
            .expect("v6only");
        h.with(|n, cx| syscall::bind(n, cx, l, v6(std::net::Ipv6Addr::UNSPECIFIED, PORT)))
            .expect("bind");
        h.with(|n, cx| syscall::listen(n, cx, l, 8))
            .expect("listen");
        h.inject_ip(&syn4());
        h.advance(SimDuration::from_millis(1));
        let rst = h.take_ip().into_iter().any(|(_, p)| {
            p[9] == 6
                && TcpPacket::new_unchecked(&p[20..])
                    .flags()
                    .contains(TcpFlags::RST)
        });
        assert!(rst);
        let l4 = h
            .with(|n, cx| syscall::socket(n, cx, SockType::Stream, 0, None))
            .expect("socket");
        h.with(|n, cx| syscall::bind(n, cx, l4, SocketAddrV4::new(HOST, PORT)))
            .expect("bind");
        h.with(|n, cx| syscall::listen(n, cx, l4, 8))
            .expect("listen");
    }

    /// A segment for no socket gets a RST over IPv6; a bad checksum is counted and dropped.
    #[test]
    fn no_socket_resets_and_bad_checksums_drop() {
        let mut h = host();
        h.inject_ip6(HOST_MAC, &seg6(1000, 0, TcpFlags::SYN, &syn_opts(), &[]));
        h.advance(SimDuration::from_millis(1));
        let out = sent6(&mut h);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1.flags, TcpFlags::RST | TcpFlags::ACK);
        assert_eq!(out[0].1.ack, 1001);
        assert_eq!(h.n.snmp.tcp.OutRsts, 1);
        let mut bad = seg6(1000, 0, TcpFlags::SYN, &syn_opts(), &[]);
        bad[40 + 16] ^= 0xff;
        h.inject_ip6(HOST_MAC, &bad);
        h.advance(SimDuration::from_millis(1));
        assert!(sent6(&mut h).is_empty());
        assert_eq!(h.n.snmp.tcp.InCsumErrors, 1);
    }

    /// A bulk write over IPv6 leaves as MSS-sized segments (GSO cut after the qdisc):
    /// 1428 bytes each with timestamps (10 000 = 7 × 1428 + 4), each with its payload length
    /// and checksum.
    #[test]
    fn bulk_data_is_segmented_over_ipv6() {
        let mut h = host();
        let s = socket6(&mut h);
        let _ = h.with(|n, cx| syscall::connect(n, cx, s, v6(PEER6, PORT)));
        h.advance(SimDuration::from_millis(1));
        let syn = sent6(&mut h).remove(0).1;
        let mut synack = seg6(
            5000,
            syn.seq.wrapping_add(1),
            TcpFlags::SYN | TcpFlags::ACK,
            &syn_opts(),
            &[],
        );
        {
            let mut tp = TcpPacket::new_unchecked(&mut synack[40..]);
            tp.set_src_port(PORT);
            tp.set_dst_port(syn.src_port);
            tp.set_window_len(65535);
            tp.fill_checksum(PEER6, HOST6);
        }
        h.inject_ip6(HOST_MAC, &synack);
        h.advance(SimDuration::from_millis(1));
        let _ = sent6(&mut h);
        let data = vec![7u8; 10_000];
        h.with(|n, cx| syscall::send(n, cx, s, &data, crate::sock::MsgFlags::NONE))
            .expect("send");
        h.advance(SimDuration::from_millis(5));
        let out = sent6(&mut h);
        let sizes: Vec<usize> = out.iter().map(|o| o.2).collect();
        assert_eq!(sizes, [vec![1428; 7], vec![4]].concat(), "{sizes:?}");
        let labels: std::collections::BTreeSet<u32> = out.iter().map(|o| o.0.flow_label).collect();
        assert_eq!(labels.len(), 1);
        for w in out.windows(2) {
            assert_eq!(w[1].1.seq, w[0].1.seq.wrapping_add(1428));
        }
    }

    /// An `AF_INET6` socket connected to a v4-mapped address is an IPv4 connection: its SYN
    /// leaves over IPv4 with IPv4's MSS (1460), and it reports its peer v4-mapped; a
    /// v6-only socket refuses (`ENETUNREACH`), a `sockaddr_in` is `EAFNOSUPPORT`.
    #[test]
    fn a_v4_mapped_peer_connects_over_ipv4() {
        let mut h = host();
        let s = socket6(&mut h);
        let to = v6(PEER.to_ipv6_mapped(), PORT);
        assert_eq!(
            h.with(|n, cx| syscall::connect(n, cx, s, to)),
            Err(Errno::InProgress)
        );
        h.advance(SimDuration::from_millis(1));
        assert!(sent6(&mut h).is_empty());
        let syn = h
            .take_ip()
            .into_iter()
            .find(|(_, p)| p[9] == 6)
            .map(|(_, p)| {
                let ip = Ipv4Packet::new_checked(&p[..]).expect("IPv4");
                let tp = TcpPacket::new_checked(ip.payload()).expect("TCP");
                let th = TcpRepr::parse_rx(&tp, HOST, PEER, false).expect("TCP");
                (th.flags, th.options.mss(), th.window)
            })
            .expect("a SYN over IPv4");
        assert_eq!(syn, (TcpFlags::SYN, Some(1460), 64240));
        assert_eq!(h.with(|n, _| syscall::getpeername_addr(n, s)), Ok(to));
        assert_eq!(h.n.socks.tcp_estab.len(), 1);
        // A v6-only socket, and a sockaddr_in.
        let s = socket6(&mut h);
        h.with(|n, cx| syscall::setsockopt(n, cx, s, SockOpt::V6Only(true)))
            .expect("v6only");
        assert_eq!(
            h.with(|n, cx| syscall::connect(n, cx, s, to)),
            Err(Errno::NetUnreach)
        );
        let s = socket6(&mut h);
        assert_eq!(
            h.with(|n, cx| syscall::connect(n, cx, s, SocketAddrV4::new(PEER, PORT))),
            Err(Errno::AfNoSupport)
        );
    }

    /// A retransmission timeout draws a new `sk_txhash` (`sk_rethink_txhash`): the
    /// retransmitted SYN carries another flow label, as Linux's does.
    #[test]
    fn a_timeout_changes_the_flow_label() {
        let mut h = host();
        let s = socket6(&mut h);
        let _ = h.with(|n, cx| syscall::connect(n, cx, s, v6(PEER6, PORT)));
        h.advance(SimDuration::from_millis(1500));
        let syns: Vec<u32> = sent6(&mut h)
            .into_iter()
            .filter(|o| o.1.flags == TcpFlags::SYN)
            .map(|o| o.0.flow_label)
            .collect();
        assert_eq!(syns.len(), 2, "{syns:?}");
        assert_ne!(syns[0], syns[1]);
        assert!(syns.iter().all(|&l| l != 0 && l <= 0xf_ffff));
    }

    /// Packet Too Big quoting one of the connection's segments lowers its MSS to the new
    /// path MTU less 60 and the timestamp option (1280 → 1208); an MTU below 1280 counts as
    /// 1280.
    #[test]
    fn packet_too_big_lowers_the_mss() {
        use crate::wire::icmpv6::Icmpv6Repr;
        let mut h = host();
        let s = socket6(&mut h);
        let _ = h.with(|n, cx| syscall::connect(n, cx, s, v6(PEER6, PORT)));
        h.advance(SimDuration::from_millis(1));
        let (_, _, syn) = h
            .take_ip6()
            .into_iter()
            .find(|(_, _, p)| p[6] == 6)
            .expect("the SYN");
        let th = TcpPacket::new_unchecked(&syn[40..]);
        let (sport, iss) = (th.src_port(), th.seq_number());
        let mut synack = seg6(
            5000,
            iss.wrapping_add(1),
            TcpFlags::SYN | TcpFlags::ACK,
            &syn_opts(),
            &[],
        );
        {
            let mut tp = TcpPacket::new_unchecked(&mut synack[40..]);
            tp.set_src_port(PORT);
            tp.set_dst_port(sport);
            tp.fill_checksum(PEER6, HOST6);
        }
        h.inject_ip6(HOST_MAC, &synack);
        h.advance(SimDuration::from_millis(1));
        assert_eq!(h.n.socks.tcp(s).map(|t| t.mss_cache), Some(1428));
        let ptb = OneHost::icmp6_packet(
            PEER6,
            HOST6,
            64,
            &Icmpv6Repr::PacketTooBig {
                mtu: 1000,
                data: &syn,
            },
        );
        h.inject_ip6(HOST_MAC, &ptb);
        h.advance(SimDuration::from_millis(1));
        assert_eq!(h.n.socks.tcp(s).map(|t| t.mss_cache), Some(1208));
    }
}
