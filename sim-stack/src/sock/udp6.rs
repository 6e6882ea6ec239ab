//! UDP over IPv6 (`net/ipv6/udp.c` beside [`udp`](super::udp)'s `net/ipv4/udp.c`):
//! `socket(AF_INET6, SOCK_DGRAM)`, `inet6_bind`, `ip6_datagram_connect`, `udpv6_sendmsg`
//! → `ip6_make_skb` → `udp_v6_send_skb` → [`ip6_xmit`], and `udpv6_rcv` →
//! `__udp6_lib_lookup` → `__udpv6_queue_rcv_skb`, with `udpv6_err` for ICMPv6 errors.
//!
//! An `AF_INET6` socket is a [`UdpSock`] whose [`SockCommon::pinet6`] holds its IPv6 half
//! ([`Ipv6Pinfo`]); the port space is the one of IPv4 UDP (Linux's `udp_table` is shared).
//! With `IPV6_V6ONLY` off (`net.ipv6.bindv6only` = 0, the default) a socket bound to `::`
//! also receives IPv4 datagrams, whose senders it sees v4-mapped (`::ffff:10.0.0.2`), and
//! may send to v4-mapped (or `sockaddr_in`) destinations, which go out over IPv4 through
//! [`udp`](super::udp)'s `udp_sendmsg` exactly as from an `AF_INET` socket. Binding a
//! (non-v4-mapped) IPv6 address makes the socket v6-only, as `__inet6_bind` does.
//!
//! What leaves: the source from `np->saddr` or `ipv6_dev_get_saddr`; the hop limit from
//! `IPV6_UNICAST_HOPS` or the interface's `hop_limit`; traffic class 0; the flow label of
//! `ip6_make_flowlabel` over the flow's addresses and ports, so one connected socket's
//! datagrams share a label, and the replies of a server to one client another; the checksum
//! over the IPv6 pseudo-header (a sum of 0 is sent as `0xffff`). Counters: `Udp6OutDatagrams`,
//! and as for IPv4 `Udp6SndbufErrors` with `Ip6OutDiscards` for a full send buffer or a
//! qdisc drop (`ENOBUFS` only with `IPV6_RECVERR`). A datagram above the path MTU is
//! fragmented by `ip6_fragment` (with `IPV6_MTU_DISCOVER` "do" or "probe" it fails with
//! `EMSGSIZE` instead). Not modeled: link-local and multicast
//! destinations (they need `sin6_scope_id` / an interface: `EINVAL`), multicast receive,
//! `IPV6_TCLASS`, flow label managers and corking.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::ctx::NetCtx;
use crate::dev::NetXmit;
use crate::ip::output::LOOPBACK;
use crate::ipv6::addrconf::{ipv6_chk_addr, ipv6_dev_get_saddr};
use crate::ipv6::icmp::{ICMPV6_PORT_UNREACH, Rcv6, icmp6_send, scoped};
use crate::ipv6::output::{Ip6Send, ip6_make_flowlabel, ip6_route_output, ip6_xmit};
use crate::node::Node;
use crate::skb::{Skb, SockRef, truesize_for};
use crate::sock::udp::{Datagram, UdpSock, udp_bind_inner, udp_connect, udp_sendmsg_zero_padded};
use crate::sock::{Errno, Ipv6Pinfo, LOOPBACK4_IPV6, SockCommon, SockId, Socket};
use crate::sock::{kfree_skb_reason, sk_wake, trace_sock_err_at};
use crate::wire::icmpv6::Icmpv6Repr;
use crate::wire::{IpProtocol, UdpPacket, UdpRepr};

/// UDP header length.
const UDP_HLEN: usize = 8;
/// IPv6 header length.
const IP6_HLEN: usize = 40;
/// `IPV6_MAXPLEN`: the largest payload without a jumbogram.
const IPV6_MAXPLEN: usize = 65_535;

/// `socket(AF_INET6, SOCK_DGRAM, 0)`, owned by `app`: unbound, `IPV6_V6ONLY` off
/// (`net.ipv6.bindv6only` = 0, Linux's default; the sysctl is not modeled).
pub fn udpv6_socket(n: &mut Node, app: Option<u32>) -> SockId {
    let mut sk = SockCommon::new(n.sysctl.wmem_default, n.sysctl.rmem_default);
    sk.app = app;
    sk.pinet6 = Some(Box::new(Ipv6Pinfo::new()));
    n.socks.insert(Socket::Udp(UdpSock {
        sk,
        rx: Default::default(),
        connected: false,
    }))
}

fn np(n: &mut Node, sock: SockId) -> &mut Ipv6Pinfo {
    n.socks
        .udp(sock)
        .sk
        .pinet6
        .as_deref_mut()
        .expect("an AF_INET6 socket")
}

/// Passes a call's result through, tracing an error.
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

/// `inet6_bind` of a UDP socket: `::`, a v4-mapped address (not on a v6-only socket:
/// `EINVAL`) or a valid address of the node (`EADDRNOTAVAIL` otherwise, unless
/// `IP_FREEBIND`), and a port (0: ephemeral) free for those addresses.
pub fn udpv6_bind(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    addr: SocketAddrV6,
) -> Result<(), Errno> {
    let r = udpv6_bind_inner(n, sock, addr);
    traced(n, cx, sock, "bind", None, r)
}

fn udpv6_bind_inner(n: &mut Node, sock: SockId, addr: SocketAddrV6) -> Result<(), Errno> {
    let a = *addr.ip();
    let u = n.socks.udp(sock);
    if u.sk.sport != 0 {
        return Err(Errno::Inval);
    }
    let freebind = u.sk.freebind;
    let v6only = u.sk.pinet6.as_deref().is_some_and(|np| np.ipv6only);
    let v4 = if let Some(m) = a.to_ipv4_mapped() {
        // Binding a v4-mapped address on a v6-only socket makes no sense.
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
        if crate::wire::ipv6::is_link_local(a) {
            // A link-local address needs its interface (sin6_scope_id).
            return Err(Errno::Inval);
        }
        if !a.is_multicast() && !freebind && !ipv6_chk_addr(n, a) {
            return Err(Errno::AddrNotAvail);
        }
        LOOPBACK4_IPV6
    };
    let saved = (n.socks.udp(sock).sk.saddr, np(n, sock).clone());
    {
        let u = n.socks.udp(sock);
        u.sk.saddr = v4;
        let np = u.sk.pinet6.as_deref_mut().expect("AF_INET6");
        np.rcv_saddr = a;
        if !a.is_multicast() {
            np.saddr = a;
        }
        if !a.is_unspecified() && a.to_ipv4_mapped().is_none() {
            np.ipv6only = true;
        }
    }
    if let Err(e) = udp_bind_inner(n, sock, addr.port()) {
        let u = n.socks.udp(sock);
        u.sk.saddr = saved.0;
        u.sk.pinet6 = Some(Box::new(saved.1));
        return Err(e);
    }
    Ok(())
}

/// `ip6_datagram_connect`: an IPv4 peer (`sockaddr_in`, or v4-mapped) connects the socket
/// over IPv4 (`ip4_datagram_connect`; a v6-only socket refuses with `EAFNOSUPPORT` /
/// `ENETUNREACH`), an IPv6 one fixes the peer, the source (`ipv6_dev_get_saddr` on the
/// route) and, for a socket bound to `::`, its local address, after an autobind.
pub fn udpv6_connect(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    to: SocketAddr,
) -> Result<(), Errno> {
    let r = udpv6_connect_inner(n, cx, sock, to);
    traced(n, cx, sock, "connect", Some(to), r)
}

fn udpv6_connect_inner(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    to: SocketAddr,
) -> Result<(), Errno> {
    let v6only = np(n, sock).ipv6only;
    let v4 = match to {
        SocketAddr::V4(a) if v6only => {
            let _ = a;
            return Err(Errno::AfNoSupport);
        }
        SocketAddr::V4(a) => Some(a),
        SocketAddr::V6(a) => match a.ip().to_ipv4_mapped() {
            Some(_) if v6only => return Err(Errno::NetUnreach),
            Some(m) => Some(SocketAddrV4::new(m, a.port())),
            None => None,
        },
    };
    if let Some(a) = v4 {
        udp_connect(n, cx, sock, *a.ip(), a.port())?;
        let u = n.socks.udp(sock);
        let (saddr, daddr) = (u.sk.saddr, u.sk.daddr);
        let np = u.sk.pinet6.as_deref_mut().expect("AF_INET6");
        np.daddr = daddr.to_ipv6_mapped();
        let mapped_any = |x: Ipv6Addr| x.is_unspecified() || x == Ipv6Addr::from_bits(0xffff << 32);
        if mapped_any(np.saddr) {
            np.saddr = saddr.to_ipv6_mapped();
        }
        if mapped_any(np.rcv_saddr) {
            np.rcv_saddr = saddr.to_ipv6_mapped();
        }
        return Ok(());
    }
    let SocketAddr::V6(a) = to else {
        return Err(Errno::AfNoSupport);
    };
    let daddr = if a.ip().is_unspecified() {
        // Connect to self.
        Ipv6Addr::LOCALHOST
    } else {
        *a.ip()
    };
    if scoped(daddr) {
        // A link-local or multicast peer needs an interface (sin6_scope_id).
        return Err(Errno::Inval);
    }
    // inet_dgram_connect: autobind before the route is looked up.
    if n.socks.udp(sock).sk.sport == 0 {
        udp_bind_inner(n, sock, 0)?;
    }
    let Ok(route) = ip6_route_output(n, daddr, None, cx.now) else {
        return Err(Errno::NetUnreach);
    };
    let bound = np(n, sock).saddr;
    let src = if !bound.is_unspecified() {
        bound
    } else if route.dev == LOOPBACK {
        daddr
    } else {
        ipv6_dev_get_saddr(n, route.dev, daddr).ok_or(Errno::AddrNotAvail)?
    };
    let u = n.socks.udp(sock);
    u.sk.dport = a.port();
    u.sk.daddr = Ipv4Addr::UNSPECIFIED;
    u.connected = true;
    let rcv_any =
        u.sk.pinet6
            .as_deref()
            .is_some_and(|np| np.rcv_saddr.is_unspecified());
    if rcv_any {
        u.sk.saddr = LOOPBACK4_IPV6;
    }
    let np = u.sk.pinet6.as_deref_mut().expect("AF_INET6");
    np.daddr = daddr;
    np.saddr = src;
    if rcv_any {
        np.rcv_saddr = src;
    }
    Ok(())
}

/// `udpv6_sendmsg`: one datagram of `head` and `zeros` zero bytes to `to` (or the connected
/// peer). An IPv4 destination (`sockaddr_in` or v4-mapped) goes through `udp_sendmsg`
/// unless the socket is v6-only (`ENETUNREACH`). Returns the payload bytes sent.
pub fn udpv6_sendmsg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    to: Option<SocketAddr>,
    head: &[u8],
    zeros: usize,
) -> Result<usize, Errno> {
    let v6only = np(n, sock).ipv6only;
    let v4 = match to {
        Some(SocketAddr::V4(a)) => Some(Some(a)),
        Some(SocketAddr::V6(a)) => a
            .ip()
            .to_ipv4_mapped()
            .map(|m| Some(SocketAddrV4::new(m, a.port()))),
        None => {
            let u = n.socks.udp(sock);
            let mapped =
                u.sk.pinet6
                    .as_deref()
                    .is_some_and(|np| np.daddr.to_ipv4_mapped().is_some());
            (u.connected && mapped).then_some(None)
        }
    };
    if let Some(v4) = v4 {
        if v6only {
            return traced(n, cx, sock, "sendmsg", to, Err(Errno::NetUnreach));
        }
        let to4 = v4.map(|a| (*a.ip(), a.port()));
        return udp_sendmsg_zero_padded(n, cx, sock, to4, head, zeros);
    }
    let r = udpv6_sendmsg_inner(n, cx, sock, to, head, zeros);
    traced(n, cx, sock, "sendmsg", to, r)
}

fn udpv6_sendmsg_inner(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    to: Option<SocketAddr>,
    head: &[u8],
    zeros: usize,
) -> Result<usize, Errno> {
    let payload_len = head.len() + zeros;
    let (daddr, dport) = match to {
        Some(SocketAddr::V6(a)) => {
            if a.port() == 0 {
                return Err(Errno::Inval);
            }
            (*a.ip(), a.port())
        }
        Some(SocketAddr::V4(_)) => return Err(Errno::AfNoSupport),
        None => {
            let u = n.socks.udp(sock);
            if !u.connected {
                return Err(Errno::DestAddrReq);
            }
            let np = u.sk.pinet6.as_deref().expect("AF_INET6");
            (np.daddr, u.sk.dport)
        }
    };
    // :: means loopback (BSD'ism).
    let daddr = if daddr.is_unspecified() {
        Ipv6Addr::LOCALHOST
    } else {
        daddr
    };
    if scoped(daddr) {
        return Err(Errno::Inval);
    }
    let len = UDP_HLEN + payload_len;
    if len > IPV6_MAXPLEN {
        return Err(Errno::MsgSize);
    }
    if n.socks.udp(sock).sk.sport == 0 {
        udp_bind_inner(n, sock, 0)?;
    }
    let Ok(route) = ip6_route_output(n, daddr, None, cx.now) else {
        return Err(Errno::NetUnreach);
    };
    let bound = np(n, sock).saddr;
    let saddr = if !bound.is_unspecified() {
        bound
    } else if route.dev == LOOPBACK {
        daddr
    } else {
        ipv6_dev_get_saddr(n, route.dev, daddr).ok_or(Errno::AddrNotAvail)?
    };
    // IPV6_MTU_DISCOVER "do" or "probe" (no ip6_sk_ignore_df): what does not fit the
    // route's MTU fails before anything is built or counted; otherwise ip6_fragment cuts it.
    if !n.socks.udp(sock).sk.pmtudisc.ignore_df() && IP6_HLEN + len > route.mtu as usize {
        return Err(Errno::MsgSize);
    }
    let u = n.socks.udp(sock);
    // sock_alloc_send_skb: a pending error, or a full send buffer; __ip6_append_data's
    // error path counts Ip6OutDiscards, udpv6_sendmsg SndbufErrors when SOCK_NOSPACE.
    if let Some(e) = u.sk.err.take() {
        let nospace = u.sk.nospace;
        n.snmp6.ip6.Ip6OutDiscards += 1;
        if nospace {
            n.snmp6.udp6.Udp6SndbufErrors += 1;
        }
        return Err(e);
    }
    if u.sk.wmem_alloc >= u.sk.sndbuf {
        u.sk.nospace = true;
        n.snmp6.ip6.Ip6OutDiscards += 1;
        n.snmp6.udp6.Udp6SndbufErrors += 1;
        return Err(Errno::Again);
    }
    let sport = u.sk.sport;
    let np = u.sk.pinet6.as_deref().expect("AF_INET6");
    let (hops, recverr) = (np.hop_limit, np.recverr);
    let mut skb = cx.shared.pool.alloc(len);
    skb.truesize = truesize_for(len);
    skb.put(UDP_HLEN);
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
    for f in ["udpv6_sendmsg", "ip6_sk_dst_lookup_flow", "ip6_make_skb"] {
        note!(cx, skb, f);
    }
    skb.sock = Some(SockRef { node: n.id, sock });
    let ports = u32::from(sport) << 16 | u32::from(dport);
    let flow_label = ip6_make_flowlabel(n, saddr, daddr, 17, ports);
    skb.hash = flow_hash6(saddr, daddr, ports);
    n.socks.udp(sock).sk.wmem_alloc += skb.truesize;
    let send = Ip6Send {
        src: saddr,
        dst: daddr,
        next_header: IpProtocol::Udp,
        hop_limit: u8::try_from(hops)
            .unwrap_or_else(|_| crate::ipv6::icmp::hop_limit(n, route.dev)),
        tclass: 0,
        flow_label,
    };
    note!(cx, skb, "udp_v6_send_skb");
    if ip6_xmit(n, cx, skb, send, route) == NetXmit::Drop {
        // ip6_send_skb → net_xmit_errno: ENOBUFS, hidden without IPV6_RECVERR.
        n.snmp6.ip6.Ip6OutDiscards += 1;
        n.snmp6.udp6.Udp6SndbufErrors += 1;
        if recverr {
            return Err(Errno::NoBufs);
        }
    } else {
        n.snmp6.udp6.Udp6OutDatagrams += 1;
    }
    Ok(payload_len)
}

/// The skb's flow hash (`skb->hash`, what fq and fq_codel classify by) of an IPv6 flow.
fn flow_hash6(saddr: Ipv6Addr, daddr: Ipv6Addr, ports: u32) -> u32 {
    let fold = |a: Ipv6Addr| {
        let b = a.to_bits();
        (b as u64) ^ ((b >> 64) as u64).rotate_left(32)
    };
    let x = fold(saddr) ^ fold(daddr).rotate_left(17) ^ (u64::from(ports) << 8 | 17);
    crate::ip::output::mix64(x) as u32
}

/// `__udp6_lib_lookup`: the `AF_INET6` socket for a datagram from `saddr:sport` to
/// `daddr:dport` that came over IPv6. It must be bound to `daddr` or `::` (an exact address
/// wins, as the kernel's first lookup pass) and, if connected, to that peer (which scores
/// higher). `AF_INET` sockets and sockets bound or connected over IPv4 never match.
pub(crate) fn udp6_lib_lookup(
    n: &Node,
    saddr: Ipv6Addr,
    sport: u16,
    daddr: Ipv6Addr,
    dport: u16,
) -> Option<SockId> {
    let slot = n.socks.udp_ports.get(&dport)?;
    let mut best: Option<(u32, SockId)> = None;
    for &id in slot.as_slice() {
        let Some(Socket::Udp(u)) = n.socks.get(id) else {
            continue;
        };
        let Some(np) = u.sk.pinet6.as_deref() else {
            continue;
        };
        let mut score = if np.rcv_saddr == daddr {
            4
        } else if np.rcv_saddr.is_unspecified() {
            0
        } else {
            continue;
        };
        if u.connected {
            if np.daddr != saddr || u.sk.dport != sport {
                continue;
            }
            score += 2;
        }
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, id));
        }
    }
    best.map(|(_, id)| id)
}

/// `udpv6_rcv`: `skb` holds the IPv6 packet, whose UDP header starts at `off`; `h` says
/// what its IPv6 header said. Checksum (a 0 is an error over IPv6: `Udp6InCsumErrors`),
/// lookup, receive buffer (`Udp6RcvbufErrors`), queue and wake; no socket: `Udp6NoPorts`
/// and ICMPv6 port unreachable.
pub(crate) fn udpv6_rcv(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    mut skb: Skb,
    h: Rcv6,
    off: usize,
) {
    note!(cx, skb, "udpv6_rcv");
    if off > skb.len() {
        n.snmp6.udp6.Udp6InErrors += 1;
        kfree_skb_reason(n, cx, dev, "udpv6_rcv(bad_header)", skb);
        return;
    }
    skb.pull(off);
    let offloaded = skb.csum_unnecessary;
    let parsed = UdpPacket::new_checked(skb.data()).and_then(|p| {
        let r = UdpRepr::parse_rx(&p, h.src, h.dst, offloaded)?;
        Ok((r, usize::from(p.len())))
    });
    let (repr, len) = match parsed {
        Ok(x) => x,
        Err(e) => {
            n.snmp6.udp6.Udp6InErrors += 1;
            let why = if e == crate::wire::Error::BadChecksum {
                n.snmp6.udp6.Udp6InCsumErrors += 1;
                "udpv6_rcv(bad_checksum)"
            } else {
                "udpv6_rcv(bad_header)"
            };
            skb.push(off);
            kfree_skb_reason(n, cx, dev, why, skb);
            return;
        }
    };
    if h.dst.is_multicast() {
        // __udp6_lib_mcast_deliver: no socket of this model joins a group.
        skb.push(off);
        kfree_skb_reason(n, cx, dev, "udpv6_rcv(multicast)", skb);
        return;
    }
    let Some(sock) = udp6_lib_lookup(n, h.src, repr.src_port, h.dst, repr.dst_port) else {
        n.snmp6.udp6.Udp6NoPorts += 1;
        skb.push(off);
        icmp6_send(
            n,
            cx,
            dev,
            &skb,
            &Icmpv6Repr::DstUnreachable {
                code: ICMPV6_PORT_UNREACH,
                data: &[],
            },
        );
        kfree_skb_reason(n, cx, dev, "udpv6_rcv(no_port)", skb);
        return;
    };
    note!(cx, skb, "__udpv6_queue_rcv_skb");
    let truesize = skb.truesize;
    let u = n.socks.udp(sock);
    if u.sk.rmem_alloc + truesize > u.sk.rcvbuf {
        n.snmp6.udp6.Udp6RcvbufErrors += 1;
        n.snmp6.udp6.Udp6InErrors += 1;
        skb.push(off);
        kfree_skb_reason(n, cx, dev, "udpv6_rcv(rcvbuf_full)", skb);
        return;
    }
    u.sk.rmem_alloc += truesize;
    skb.trim(len);
    skb.pull(UDP_HLEN);
    u.rx.push_back(Datagram::new(IpAddr::V6(h.src), repr.src_port, skb));
    sk_wake(n, cx, sock);
}

/// `udpv6_err` (`__udp6_lib_err`): an ICMPv6 error of type `ty` and `code` about a datagram
/// we sent from `saddr:sport` to `daddr:dport`. No such socket: `Icmp6InErrors`. With
/// `IPV6_RECVERR` the socket is told of every error; without, only a connected one and
/// only of a hard error (port unreachable is `ECONNREFUSED`; Packet Too Big is `EMSGSIZE`
/// and hard unless the PMTU mode is "dont").
#[allow(clippy::too_many_arguments)]
pub(crate) fn udpv6_err(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    saddr: Ipv6Addr,
    sport: u16,
    daddr: Ipv6Addr,
    dport: u16,
    ty: u8,
    code: u8,
) {
    let Some(sock) = udp6_lib_lookup(n, daddr, dport, saddr, sport) else {
        n.snmp6.icmp6.Icmp6InErrors += 1;
        return;
    };
    let err = if ty == 2 {
        crate::ip::icmp::IcmpErr::FragNeeded
    } else {
        crate::ipv6::icmp::icmpv6_err_convert(ty, code)
    };
    let u = n.socks.udp(sock);
    let recverr = u.sk.pinet6.as_deref().is_some_and(|np| np.recverr);
    let told = crate::ip::icmp::sk_icmp_error(err, u.sk.pmtudisc, recverr, u.connected);
    if let Some(e) = told {
        u.sk.err = Some(e);
        trace_sock_err_at(n, cx, sock, "icmp6 error", e, None);
        sk_wake(n, cx, sock);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

    use sim_core::SimDuration;

    use crate::sock::syscall::{self, Domain, SockOpt, SockOptName, SockOptValue, SockType};
    use crate::sock::{Errno, MsgFlags};
    use crate::testing::{HOST, HOST_MAC, HOST6, OneHost, PEER, PEER6};
    use crate::wire::icmpv6::{Icmpv6Packet, Icmpv6Repr};
    use crate::wire::{IpProtocol, Ipv6Packet, Ipv6Repr, UdpPacket, UdpRepr};

    /// A dual-stack host whose addresses are valid (DAD done), nothing sent left over.
    fn host() -> OneHost {
        let mut h = OneHost::dual(Default::default(), Default::default());
        h.advance(SimDuration::from_secs(3));
        let _ = h.take_ip6();
        let _ = h.take_ip();
        h
    }

    fn v6(a: Ipv6Addr, port: u16) -> SocketAddr {
        SocketAddrV6::new(a, port, 0, 0).into()
    }

    fn socket6(h: &mut OneHost) -> u32 {
        h.with(|n, cx| syscall::socket_domain(n, cx, Domain::Inet6, SockType::Dgram, 0, None))
            .expect("socket")
    }

    /// An IPv6 UDP packet from the peer, with a correct checksum (or `csum` if given).
    fn udp6(src: Ipv6Addr, sport: u16, dport: u16, payload: &[u8], csum: Option<u16>) -> Vec<u8> {
        let len = 8 + payload.len();
        let mut p = vec![0u8; 40 + len];
        Ipv6Repr {
            src_addr: src,
            dst_addr: HOST6,
            next_header: IpProtocol::Udp,
            payload_len: len,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        }
        .emit(&mut Ipv6Packet::new_unchecked(&mut p[..]));
        p[48..].copy_from_slice(payload);
        let mut u = UdpPacket::new_unchecked(&mut p[40..]);
        UdpRepr {
            src_port: sport,
            dst_port: dport,
        }
        .emit_with_payload_sum(
            &mut u,
            src,
            HOST6,
            payload.len(),
            crate::wire::checksum::data(payload),
        );
        if let Some(c) = csum {
            u.set_checksum(c);
        }
        p
    }

    /// An IPv4 UDP packet from the peer.
    fn udp4(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
        let len = 8 + payload.len();
        let mut p = vec![0u8; 20 + len];
        crate::wire::Ipv4Repr {
            src_addr: PEER,
            dst_addr: HOST,
            protocol: IpProtocol::Udp,
            payload_len: len,
            ttl: 64,
            dscp_ecn: 0,
            ident: 1,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        }
        .emit(&mut crate::wire::Ipv4Packet::new_unchecked(&mut p[..]));
        p[28..].copy_from_slice(payload);
        UdpRepr {
            src_port: sport,
            dst_port: dport,
        }
        .emit_with_payload_sum(
            &mut UdpPacket::new_unchecked(&mut p[20..]),
            PEER,
            HOST,
            payload.len(),
            crate::wire::checksum::data(payload),
        );
        p
    }

    /// `udpv6_sendmsg` from an unbound socket: an ephemeral port, the source chosen for the
    /// route, hop limit 64, the checksum over the IPv6 pseudo-header, one flow label for the
    /// flow; `IPV6_UNICAST_HOPS` sets the hop limit; the counters move.
    #[test]
    fn sendto_builds_the_datagram_linux_sends() {
        let mut h = host();
        let fd = socket6(&mut h);
        for _ in 0..2 {
            let r = h.with(|n, cx| {
                syscall::sendto_addr(n, cx, fd, b"hello", Some(v6(PEER6, 53)), MsgFlags::NONE)
            });
            assert_eq!(r, Ok(5));
        }
        h.with(|n, cx| syscall::setsockopt(n, cx, fd, SockOpt::UnicastHops(5)))
            .expect("IPV6_UNICAST_HOPS");
        let r = h.with(|n, cx| {
            syscall::sendto_addr(n, cx, fd, b"x", Some(v6(PEER6, 53)), MsgFlags::NONE)
        });
        assert_eq!(r, Ok(1));
        h.advance(SimDuration::from_millis(1));
        let sent = h.take_ip6();
        let udp: Vec<_> = sent.iter().filter(|(_, _, p)| p[6] == 17).collect();
        assert_eq!(udp.len(), 3, "{sent:?}");
        let mut labels = Vec::new();
        for (i, (_, _, p)) in udp.iter().enumerate() {
            let ip = Ipv6Packet::new_checked(&p[..]).expect("IPv6");
            assert_eq!((ip.src_addr(), ip.dst_addr()), (HOST6, PEER6));
            assert_eq!(ip.hop_limit(), if i < 2 { 64 } else { 5 });
            assert_eq!(ip.traffic_class(), 0);
            let u = UdpPacket::new_checked(ip.payload()).expect("UDP");
            assert!(u.verify_checksum(HOST6, PEER6), "checksum");
            assert_eq!(u.dst_port(), 53);
            assert!((32768..=60999).contains(&u.src_port()));
            labels.push(ip.flow_label());
        }
        assert!(
            labels[0] != 0 && labels.iter().all(|&l| l == labels[0]),
            "{labels:?}"
        );
        assert_eq!(h.n.snmp6.udp6.Udp6OutDatagrams, 3);
        let hops = h.with(|n, cx| syscall::getsockopt(n, cx, fd, SockOptName::UnicastHops));
        assert_eq!(hops, Ok(SockOptValue::Int(5)));
        let bad = h.with(|n, cx| syscall::setsockopt(n, cx, fd, SockOpt::UnicastHops(256)));
        assert_eq!(bad, Err(Errno::Inval));
    }

    /// A connected socket's sends without an address, by every call that makes them (`send`,
    /// `sendmsg` of head and zeros, `sendmmsg`), go over IPv6 to the peer, from the source
    /// `connect` chose.
    #[test]
    fn a_connected_socket_sends_to_its_peer() {
        let mut h = host();
        let fd = socket6(&mut h);
        h.with(|n, cx| syscall::connect(n, cx, fd, v6(PEER6, 9)))
            .expect("connect");
        assert_eq!(
            h.with(|n, cx| syscall::send(n, cx, fd, b"a", MsgFlags::NONE)),
            Ok(1)
        );
        assert_eq!(
            h.with(|n, cx| syscall::sendmsg_zeros(n, cx, fd, b"b", 9, None)),
            Ok(10)
        );
        assert_eq!(
            h.with(|n, cx| syscall::sendmmsg(n, cx, fd, &[b"c", b"d"])),
            Ok(2)
        );
        h.advance(SimDuration::from_millis(1));
        let udp: Vec<_> = h
            .take_ip6()
            .into_iter()
            .filter(|(_, _, p)| p[6] == 17)
            .collect();
        assert_eq!(udp.len(), 4);
        for (_, _, p) in &udp {
            let ip = Ipv6Packet::new_checked(&p[..]).expect("IPv6");
            assert_eq!((ip.src_addr(), ip.dst_addr()), (HOST6, PEER6));
        }
        assert!(h.take_ip().is_empty(), "nothing over IPv4");
        let local = h
            .with(|n, _| syscall::getsockname_addr(n, fd))
            .expect("name");
        assert_eq!(local.ip(), IpAddr::V6(HOST6), "connect chose the source");
        let peer = h.with(|n, _| syscall::getpeername_addr(n, fd));
        assert_eq!(peer, Ok(v6(PEER6, 9)));
    }

    /// A socket bound to `[::]:5000` gets IPv6 datagrams (sender as sent) and, not being
    /// v6-only, IPv4 ones (sender v4-mapped); each counts in its family's MIB when read.
    /// A v6-only socket leaves the IPv4 one to port unreachable.
    #[test]
    fn a_dual_stack_socket_receives_both_families() {
        let mut h = host();
        let fd = socket6(&mut h);
        h.with(|n, cx| syscall::bind(n, cx, fd, v6(Ipv6Addr::UNSPECIFIED, 5000)))
            .expect("bind");
        h.inject_ip6(HOST_MAC, &udp6(PEER6, 7000, 5000, b"six", None));
        h.inject_ip(&udp4(7001, 5000, b"four"));
        let mut buf = [0u8; 16];
        let a = h.with(|n, cx| syscall::recvfrom(n, cx, fd, Some(&mut buf), 16, MsgFlags::NONE));
        assert_eq!(a.expect("v6").from, Some(v6(PEER6, 7000)));
        assert_eq!(&buf[..3], b"six");
        let b = h.with(|n, cx| syscall::recvfrom(n, cx, fd, Some(&mut buf), 16, MsgFlags::NONE));
        assert_eq!(
            b.expect("v4").from,
            Some(v6(PEER.to_ipv6_mapped(), 7001)),
            "::ffff:192.168.0.2"
        );
        assert_eq!(h.n.snmp6.udp6.Udp6InDatagrams, 1);
        assert_eq!(h.n.snmp.udp.InDatagrams, 1);

        let only = socket6(&mut h);
        h.with(|n, cx| syscall::setsockopt(n, cx, only, SockOpt::V6Only(true)))
            .expect("IPV6_V6ONLY");
        h.with(|n, cx| syscall::bind(n, cx, only, v6(Ipv6Addr::UNSPECIFIED, 5001)))
            .expect("bind");
        let _ = h.take_ip();
        h.inject_ip(&udp4(7001, 5001, b"four"));
        h.advance(SimDuration::from_millis(1));
        assert_eq!(h.n.snmp.udp.NoPorts, 1);
        let icmp = h.take_ip();
        assert_eq!(icmp.len(), 1, "port unreachable");
        assert_eq!((icmp[0].1[9], icmp[0].1[20], icmp[0].1[21]), (1, 3, 3));
        // Set once bound: EINVAL.
        let late = h.with(|n, cx| syscall::setsockopt(n, cx, only, SockOpt::V6Only(false)));
        assert_eq!(late, Err(Errno::Inval));
    }

    /// One port space for both families, with Linux's conflicts: `[::]` (not v6-only)
    /// takes 0.0.0.0's port, a v6-only one does not; a v4-mapped bind on a v6-only socket
    /// is EINVAL, an address the node lacks EADDRNOTAVAIL.
    #[test]
    fn ports_are_shared_across_families() {
        let mut h = host();
        let four = h
            .with(|n, cx| syscall::socket(n, cx, SockType::Dgram, 0, None))
            .expect("socket");
        h.with(|n, cx| syscall::bind(n, cx, four, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 53)))
            .expect("bind");
        let dual = socket6(&mut h);
        let r = h.with(|n, cx| syscall::bind(n, cx, dual, v6(Ipv6Addr::UNSPECIFIED, 53)));
        assert_eq!(r, Err(Errno::AddrInUse));
        let only = socket6(&mut h);
        h.with(|n, cx| syscall::setsockopt(n, cx, only, SockOpt::V6Only(true)))
            .expect("IPV6_V6ONLY");
        let r = h.with(|n, cx| syscall::bind(n, cx, only, v6(Ipv6Addr::UNSPECIFIED, 53)));
        assert_eq!(r, Ok(()));
        let mapped = socket6(&mut h);
        h.with(|n, cx| syscall::setsockopt(n, cx, mapped, SockOpt::V6Only(true)))
            .expect("IPV6_V6ONLY");
        let r = h.with(|n, cx| syscall::bind(n, cx, mapped, v6(HOST.to_ipv6_mapped(), 54)));
        assert_eq!(r, Err(Errno::Inval));
        let other = socket6(&mut h);
        let r = h.with(|n, cx| syscall::bind(n, cx, other, v6(PEER6, 55)));
        assert_eq!(r, Err(Errno::AddrNotAvail));
        // An address of the node makes the socket v6-only.
        let r = h.with(|n, cx| syscall::bind(n, cx, other, v6(HOST6, 55)));
        assert_eq!(r, Ok(()));
        let v = h.with(|n, cx| syscall::getsockopt(n, cx, other, SockOptName::V6Only));
        assert_eq!(v, Ok(SockOptValue::Int(1)));
    }

    /// A dual-stack socket sends to a v4-mapped destination over IPv4; a v6-only one
    /// cannot (ENETUNREACH).
    #[test]
    fn v4_mapped_destinations_go_over_ipv4() {
        let mut h = host();
        let fd = socket6(&mut h);
        let to = v6(PEER.to_ipv6_mapped(), 9);
        let r = h.with(|n, cx| syscall::sendto_addr(n, cx, fd, b"x", Some(to), MsgFlags::NONE));
        assert_eq!(r, Ok(1));
        h.advance(SimDuration::from_millis(1));
        let ip = h.take_ip();
        assert_eq!(ip.len(), 1);
        assert_eq!((ip[0].1[9], &ip[0].1[16..20]), (17, &PEER.octets()[..]));
        assert_eq!(h.n.snmp.udp.OutDatagrams, 1);
        let only = socket6(&mut h);
        h.with(|n, cx| syscall::setsockopt(n, cx, only, SockOpt::V6Only(true)))
            .expect("IPV6_V6ONLY");
        let r = h.with(|n, cx| syscall::sendto_addr(n, cx, only, b"x", Some(to), MsgFlags::NONE));
        assert_eq!(r, Err(Errno::NetUnreach));
        let r = h.with(|n, cx| syscall::connect(n, cx, only, SocketAddrV4::new(PEER, 9)));
        assert_eq!(r, Err(Errno::AfNoSupport));
    }

    /// A datagram to a port nobody has: Udp6NoPorts and ICMPv6 port unreachable quoting it;
    /// that error, back at a connected socket, is ECONNREFUSED on its next call. A zero
    /// checksum is an error over IPv6.
    #[test]
    fn port_unreachable_and_its_error() {
        let mut h = host();
        let orig = udp6(PEER6, 7000, 4444, b"nobody", None);
        h.inject_ip6(HOST_MAC, &orig);
        h.advance(SimDuration::from_millis(1));
        assert_eq!(h.n.snmp6.udp6.Udp6NoPorts, 1);
        let sent = h.take_ip6();
        let (_, _, p) = sent.last().expect("an error");
        let ip = Ipv6Packet::new_checked(&p[..]).expect("IPv6");
        let m = Icmpv6Repr::parse(
            HOST6,
            PEER6,
            &Icmpv6Packet::new_checked(ip.payload()).expect("ICMPv6"),
        )
        .expect("valid");
        assert_eq!(
            m,
            Icmpv6Repr::DstUnreachable {
                code: 4,
                data: &orig[..]
            }
        );

        let fd = socket6(&mut h);
        h.with(|n, cx| syscall::connect(n, cx, fd, v6(PEER6, 53)))
            .expect("connect");
        h.with(|n, cx| syscall::send(n, cx, fd, b"q", MsgFlags::NONE))
            .expect("send");
        h.advance(SimDuration::from_millis(1));
        let (_, _, q) = h.take_ip6().pop().expect("the datagram");
        let err = OneHost::icmp6_packet(
            PEER6,
            HOST6,
            64,
            &Icmpv6Repr::DstUnreachable { code: 4, data: &q },
        );
        h.inject_ip6(HOST_MAC, &err);
        let mut buf = [0u8; 4];
        let r = h.with(|n, cx| syscall::recvfrom(n, cx, fd, Some(&mut buf), 4, MsgFlags::NONE));
        assert_eq!(r, Err(Errno::ConnRefused));

        h.inject_ip6(HOST_MAC, &udp6(PEER6, 7000, 4444, b"x", Some(0)));
        assert_eq!(
            (
                h.n.snmp6.udp6.Udp6InCsumErrors,
                h.n.snmp6.udp6.Udp6InErrors,
                h.n.snmp6.udp6.Udp6NoPorts
            ),
            (1, 1, 1)
        );
    }
}
