//! ICMP echo sockets, what `ping` sends through (Linux's "ping sockets", `net/ipv4/ping.c`
//! and `net/ipv6/ping.c`: `socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)` and
//! `socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6)`): `ping_v4_sendmsg` / `ping_v6_sendmsg`
//! send an echo request whose ident is the socket's, `ping_rcv` queues the echo replies
//! carrying that ident (of the socket's family), and `ping_err` queues the ICMP or ICMPv6
//! errors about its requests (what ping reads from the error queue with `IP_RECVERR` /
//! `IPV6_RECVERR`). Each wakes the owning app. Idents are one space for both families, as
//! `ping_get_port` keeps them.
//!
//! Over IPv6 the socket's `IPV6_UNICAST_HOPS` (the hop limit; `IP_TTL` in [`SockOpt`]
//! terms) applies, the source is chosen by `ipv6_dev_get_saddr`, and the flow label comes
//! from the flow's hash (`auto_flowlabels`). A request larger than the path MTU is
//! fragmented by `ip6_fragment`, except with `IPV6_MTU_DISCOVER` "do" or "probe", where it
//! fails with `EMSGSIZE`, queued as a local error.
//!
//! [`SockOpt`]: crate::sock::syscall::SockOpt
//!
//! The socket's `IP_TTL`, `IP_TOS` and `IP_MTU_DISCOVER` apply to its requests. In the
//! default PMTU "want" mode the IP header has DF when the datagram fits the route's MTU and the
//! datagram is fragmented otherwise; since the socket then sets `ignore_df`, its IP ID comes
//! from the hashed per-destination generator, as for UDP. In "do" mode every request has DF
//! and ID 0, and one larger than the MTU fails with `EMSGSIZE` before anything is built (no
//! counter moves), reported with `IP_RECVERR` as a local error in the error queue
//! (`ip_local_error`), which is where `ping` reads "message too long, mtu=1500". In "dont"
//! mode no request has DF. A request the qdisc drops fails with `ENOBUFS` (`Ip OutDiscards`):
//! `ping_v4_sendmsg` returns what `ip_push_pending_frames` says, `IP_RECVERR` or not.

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::ctx::NetCtx;
use crate::dev::NetXmit;
use crate::ip::icmp::{icmp_err_convert, sk_icmp_error};
use crate::ip::output::{IdentMode, IpSend, ip_route_output_flow, ip_send_skb};
use crate::node::Node;
use crate::sock::{Errno, SockCommon, SockId, Socket, sk_wake};
use crate::wire::{DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4Repr, IpProtocol};

/// What a ping socket has to read: an echo reply, or an error about one of its requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PingMsg {
    /// An echo reply (`recvmsg` on the socket).
    Reply {
        /// Who answered.
        from: IpAddr,
        /// Its sequence number.
        seq: u16,
        /// ICMP data bytes.
        len: usize,
        /// The reply's TTL.
        ttl: u8,
    },
    /// An ICMP error about a request (`recvmsg(MSG_ERRQUEUE)`, `SO_EE_ORIGIN_ICMP`).
    Error {
        /// Who sent the error.
        from: Ipv4Addr,
        /// The request's sequence number.
        seq: u16,
        /// ICMP type.
        ty: Icmpv4Message,
        /// ICMP code.
        code: u8,
        /// `ee_info`: the next-hop MTU of a "fragmentation needed", else 0.
        info: u32,
    },
    /// An ICMPv6 error about a request (`SO_EE_ORIGIN_ICMP6`).
    Error6 {
        /// Who sent the error.
        from: Ipv6Addr,
        /// The request's sequence number.
        seq: u16,
        /// ICMPv6 type.
        ty: u8,
        /// ICMPv6 code.
        code: u8,
        /// `ee_info`: the MTU of a Packet Too Big, the pointer of a Parameter Problem.
        info: u32,
    },
    /// A local error of a send (`SO_EE_ORIGIN_LOCAL`, queued by `ip_local_error`).
    LocalError {
        /// `ee_errno`.
        errno: Errno,
        /// `ee_info`: the MTU for `EMSGSIZE`.
        info: u32,
    },
}

impl PingMsg {
    /// ping's words for an ICMP error (`pr_icmph`: `Destination Host Unreachable`, …).
    pub fn error_text(ty: Icmpv4Message, code: u8, info: u32) -> String {
        let s = match (ty, code) {
            (Icmpv4Message::DstUnreachable, c) => match DstUnreachable::from(c) {
                DstUnreachable::NetUnreachable => "Destination Net Unreachable",
                DstUnreachable::HostUnreachable => "Destination Host Unreachable",
                DstUnreachable::ProtoUnreachable => "Destination Protocol Unreachable",
                DstUnreachable::PortUnreachable => "Destination Port Unreachable",
                DstUnreachable::FragRequired => {
                    return format!("Frag needed and DF set (mtu = {info})");
                }
                DstUnreachable::Other(5) => "Source Route Failed",
                DstUnreachable::Other(6) => "Destination Net Unknown",
                DstUnreachable::Other(7) => "Destination Host Unknown",
                DstUnreachable::Other(8) => "Source Host Isolated",
                DstUnreachable::Other(9) => "Destination Net Prohibited",
                DstUnreachable::Other(10) => "Destination Host Prohibited",
                DstUnreachable::Other(11) => "Destination Net Unreachable for Type of Service",
                DstUnreachable::Other(12) => "Destination Host Unreachable for Type of Service",
                // What REJECT's icmp-admin-prohibited sends.
                DstUnreachable::Other(13) => "Packet filtered",
                DstUnreachable::Other(14) => "Precedence Violation",
                DstUnreachable::Other(15) => "Precedence Cutoff",
                _ => return format!("Dest Unreachable, Bad Code: {code}"),
            },
            (Icmpv4Message::TimeExceeded, 0) => "Time to live exceeded",
            (Icmpv4Message::TimeExceeded, 1) => "Frag reassembly time exceeded",
            (Icmpv4Message::TimeExceeded, _) => {
                return format!("Time exceeded, Bad Code: {code}");
            }
            _ => "Bad ICMP type",
        };
        s.to_string()
    }
}

impl PingMsg {
    /// ping's words for an ICMPv6 error (iputils' `print_icmp` for IPv6).
    pub fn error_text6(ty: u8, code: u8, info: u32) -> String {
        match ty {
            1 => {
                let why = match code {
                    0 => "No route".to_string(),
                    1 => "Administratively prohibited".to_string(),
                    2 => "Beyond scope of source address".to_string(),
                    3 => "Address unreachable".to_string(),
                    4 => "Port unreachable".to_string(),
                    c => format!("Unknown code {c}"),
                };
                format!("Destination unreachable: {why}")
            }
            2 => format!("Packet too big: mtu={info}"),
            3 => match code {
                0 => "Time exceeded: Hop limit".to_string(),
                1 => "Time exceeded: Defragmentation failure".to_string(),
                c => format!("Time exceeded: code {c}"),
            },
            4 => {
                let what = match code {
                    0 => "Wrong header field ".to_string(),
                    1 => "Unknown header ".to_string(),
                    2 => "Unknown option ".to_string(),
                    c => format!("code {c} "),
                };
                format!("Parameter problem: {what}at {info}")
            }
            t => format!("Unknown icmp type: {t}"),
        }
    }
}

/// An ICMP echo socket.
#[derive(Debug)]
pub struct PingSock {
    /// Addresses, buffers, owner.
    pub sk: SockCommon,
    /// An `AF_INET6` socket (ICMPv6 echo).
    pub v6: bool,
    /// The ident of its requests (its "port").
    pub ident: u16,
    /// Replies and errors waiting to be read.
    pub rx: VecDeque<PingMsg>,
}

/// `socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)` bound to `ident`, owned by `app`.
pub fn ping_socket(n: &mut Node, ident: u16, app: Option<u32>) -> Result<SockId, Errno> {
    let id = ping_socket_unbound(n, app);
    if let Err(e) = ping_bind(n, id, ident) {
        n.socks.remove(id);
        return Err(e);
    }
    Ok(id)
}

/// `socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`, not bound yet (its ident is 0).
pub fn ping_socket_unbound(n: &mut Node, app: Option<u32>) -> SockId {
    ping_socket_family(n, app, false)
}

/// `socket(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6)` (`v6`) or its IPv4 twin, not bound yet.
pub fn ping_socket_family(n: &mut Node, app: Option<u32>, v6: bool) -> SockId {
    let mut sk = SockCommon::new(n.sysctl.wmem_default, n.sysctl.rmem_default);
    sk.app = app;
    n.socks.insert(Socket::Ping(PingSock {
        sk,
        v6,
        ident: 0,
        rx: VecDeque::new(),
    }))
}

/// `bind()` of a ping socket: its ident (`ping_get_port`); `EADDRINUSE` when another
/// socket of the node has it, `EINVAL` when it is bound already.
pub fn ping_bind(n: &mut Node, sock: SockId, ident: u16) -> Result<(), Errno> {
    if n.socks.ping_idents.contains_key(&ident) {
        return Err(Errno::AddrInUse);
    }
    let Some(Socket::Ping(p)) = n.socks.get_mut(sock) else {
        return Err(Errno::NotSock);
    };
    if p.sk.sport != 0 {
        return Err(Errno::Inval);
    }
    p.ident = ident;
    p.sk.sport = ident;
    n.socks.ping_idents.insert(ident, sock);
    Ok(())
}

/// `ping_v4_sendmsg`: an echo request to `dst` with sequence number `seq` and `data`.
pub fn ping_sendmsg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    dst: Ipv4Addr,
    seq: u16,
    data: &[u8],
) -> Result<(), Errno> {
    let Some(Socket::Ping(p)) = n.socks.get(sock) else {
        return Err(Errno::NotSock);
    };
    let (ident, ttl, tos, pmtudisc) = (p.ident, p.sk.ttl, p.sk.tos, p.sk.pmtudisc);
    let priority = p.sk.priority;
    let req = Icmpv4Repr::EchoRequest {
        ident,
        seq_no: seq,
        data,
    };
    let Ok(route) = ip_route_output_flow(n, dst) else {
        return Err(Errno::NetUnreach);
    };
    let len = req.buffer_len() + 20;
    // __ip_append_data: a socket that does not ignore DF cannot send more than the MTU; the
    // error goes to the error queue too (ip_local_error), before anything is counted.
    if !pmtudisc.ignore_df() && len > route.mtu as usize {
        if let Some(Socket::Ping(p)) = n.socks.get_mut(sock)
            && p.sk.recverr
        {
            p.rx.push_back(PingMsg::LocalError {
                errno: Errno::MsgSize,
                info: route.mtu,
            });
        }
        return Err(Errno::MsgSize);
    }
    // sock_alloc_send_skb → sock_error: a pending error fails the send, counted by
    // __ip_append_data's error path.
    if let Some(Socket::Ping(p)) = n.socks.get_mut(sock)
        && let Some(e) = p.sk.err.take()
    {
        n.snmp.ip.OutDiscards += 1;
        return Err(e);
    }
    let mut skb = cx.shared.pool.alloc(req.buffer_len());
    req.emit(&mut Icmpv4Packet::new_unchecked(skb.put(req.buffer_len())));
    for f in [
        "sendto",
        "raw_sendmsg",
        "ip_route_output_flow",
        "ip_make_skb",
    ] {
        note!(cx, skb, f);
    }
    crate::ip::icmp::icmp_out_count(n, Icmpv4Message::EchoRequest);
    let dont_frag = pmtudisc.dont_frag(len, route.mtu);
    let send = IpSend {
        src: route.src,
        dst,
        protocol: IpProtocol::Icmp,
        ttl: ttl.unwrap_or(n.default_ttl),
        tos,
        priority,
        dont_frag,
        // ip_select_ident_segs: DF without ignore_df is ID 0, else the hashed generator.
        ident: if pmtudisc.ignore_df() {
            IdentMode::Hashed
        } else {
            IdentMode::Unconnected
        },
    };
    // ip_push_pending_frames → ip_send_skb: a drop is ENOBUFS (net_xmit_errno), counted
    // in OutDiscards, and ping_v4_sendmsg returns it as it is.
    if ip_send_skb(n, cx, skb, send, route) == NetXmit::Drop {
        n.snmp.ip.OutDiscards += 1;
        return Err(Errno::NoBufs);
    }
    Ok(())
}

/// `ping_v6_sendmsg`: an ICMPv6 echo request to `dst` with sequence number `seq` and `data`.
pub fn ping_v6_sendmsg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    dst: Ipv6Addr,
    seq: u16,
    data: &[u8],
) -> Result<(), Errno> {
    use crate::ipv6::output::{Ip6Send, ip6_make_flowlabel, ip6_route_output, ip6_xmit};
    use crate::wire::icmpv6::{Icmpv6Packet, Icmpv6Repr};
    let Some(Socket::Ping(p)) = n.socks.get(sock) else {
        return Err(Errno::NotSock);
    };
    let (ident, hops, tclass, pmtudisc) = (p.ident, p.sk.ttl, p.sk.tos, p.sk.pmtudisc);
    if crate::ipv6::icmp::scoped(dst) || dst.to_ipv4_mapped().is_some() {
        // A link-local or multicast destination needs an interface (sin6_scope_id, not
        // modeled); a v4-mapped one is refused (ping_v6_sendmsg).
        return Err(Errno::Inval);
    }
    let Ok(route) = ip6_route_output(n, dst, None, cx.now) else {
        return Err(Errno::NetUnreach);
    };
    let src = if route.dev == crate::ip::output::LOOPBACK {
        dst
    } else {
        crate::ipv6::addrconf::ipv6_dev_get_saddr(n, route.dev, dst).ok_or(Errno::AddrNotAvail)?
    };
    let req = Icmpv6Repr::EchoRequest {
        ident,
        seq_no: seq,
        data,
    };
    let len = req.buffer_len() + 40;
    // IPV6_MTU_DISCOVER "do" or "probe": no fragmenting at the source (ip6_sk_ignore_df is
    // false), the send fails; otherwise ip6_fragment cuts the request.
    let out_error = |n: &mut Node| {
        n.snmp6.icmp6.Icmp6OutErrors += 1;
        if let Some(idev) = n
            .devs
            .get_mut(route.dev)
            .and_then(|d| d.inet6.as_deref_mut())
        {
            idev.stats.icmp6.Icmp6OutErrors += 1;
        }
    };
    if !pmtudisc.ignore_df() && len > route.mtu as usize {
        if let Some(Socket::Ping(p)) = n.socks.get_mut(sock)
            && p.sk.recverr
        {
            p.rx.push_back(PingMsg::LocalError {
                errno: Errno::MsgSize,
                info: route.mtu,
            });
        }
        out_error(n);
        return Err(Errno::MsgSize);
    }
    if let Some(Socket::Ping(p)) = n.socks.get_mut(sock)
        && let Some(e) = p.sk.err.take()
    {
        out_error(n);
        return Err(e);
    }
    let mut skb = cx.shared.pool.alloc(req.buffer_len());
    req.emit(
        src,
        dst,
        &mut Icmpv6Packet::new_unchecked(skb.put(req.buffer_len())),
    );
    for f in [
        "sendto",
        "ping_v6_sendmsg",
        "ip6_dst_lookup_flow",
        "ip6_append_data",
    ] {
        note!(cx, skb, f);
    }
    let send = Ip6Send {
        src,
        dst,
        next_header: IpProtocol::Icmpv6,
        hop_limit: hops.unwrap_or_else(|| crate::ipv6::icmp::hop_limit(n, route.dev)),
        tclass,
        flow_label: ip6_make_flowlabel(n, src, dst, 58, crate::ipv6::icmp::icmp_flow(128, 0)),
    };
    // ping_v6_sendmsg returns the length whatever icmpv6_push_pending_frames says; a drop
    // is only counted.
    if ip6_xmit(n, cx, skb, send, route) == NetXmit::Drop {
        n.snmp6.ip6.Ip6OutDiscards += 1;
        if let Some(idev) = n
            .devs
            .get_mut(route.dev)
            .and_then(|d| d.inet6.as_deref_mut())
        {
            idev.stats.ip6.Ip6OutDiscards += 1;
        }
    }
    Ok(())
}

/// `recvmsg` on a ping socket: the next reply or error, or `EAGAIN`.
/// Reading an error (`sock_dequeue_err_skb`) leaves pending (`sk_err`) the errno of the next
/// ICMP error queued, or clears it when the one read was an ICMP error and none follows.
pub fn ping_recvmsg(n: &mut Node, sock: SockId) -> Result<PingMsg, Errno> {
    let Some(Socket::Ping(p)) = n.socks.get_mut(sock) else {
        return Err(Errno::NotSock);
    };
    let msg = p.rx.pop_front().ok_or(Errno::Again)?;
    if !matches!(msg, PingMsg::Reply { .. }) {
        let pmtudisc = p.sk.pmtudisc;
        let next = p.rx.iter().find_map(|m| match m {
            PingMsg::Reply { .. } => None,
            PingMsg::LocalError { .. } => Some(None),
            &PingMsg::Error { ty, code, .. } => Some(sk_icmp_error(
                icmp_err_convert(ty, code),
                pmtudisc,
                true,
                true,
            )),
            &PingMsg::Error6 { ty, code, .. } => Some(sk_icmp_error(
                crate::ipv6::icmp::icmpv6_err_convert(ty, code),
                pmtudisc,
                true,
                true,
            )),
        });
        match next {
            Some(Some(e)) => p.sk.err = Some(e),
            _ if matches!(msg, PingMsg::Error { .. } | PingMsg::Error6 { .. }) => {
                p.sk.err = None;
            }
            _ => {}
        }
    }
    Ok(msg)
}

/// `ping_rcv`: an echo reply for `ident` arrived (over IPv6 when `v6`); queue it for its
/// socket of that family, if any.
pub(crate) fn ping_rcv(n: &mut Node, cx: &mut NetCtx<'_>, ident: u16, v6: bool, msg: PingMsg) {
    let Some(&sock) = n.socks.ping_idents.get(&ident) else {
        return;
    };
    if let Some(Socket::Ping(p)) = n.socks.get_mut(sock)
        && p.v6 == v6
    {
        p.rx.push_back(msg);
        sk_wake(n, cx, sock);
    }
}

/// `ping_err`: an ICMP error about an echo request of `ident`. With `IP_RECVERR` it is
/// queued for `recvmsg(MSG_ERRQUEUE)` (`ip_icmp_error`) and pending (`sk_err`); without, a
/// connected socket is told of a hard error only (`sk_err`), others of nothing.
pub(crate) fn ping_err(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    ident: u16,
    err: crate::ip::icmp::IcmpErr,
    msg: PingMsg,
) {
    let v6 = matches!(msg, PingMsg::Error6 { .. });
    let Some(&sock) = n.socks.ping_idents.get(&ident) else {
        return;
    };
    let Some(Socket::Ping(p)) = n.socks.get_mut(sock) else {
        return;
    };
    if p.v6 != v6 {
        return;
    }
    let connected = !p.sk.daddr.is_unspecified();
    let Some(e) = crate::ip::icmp::sk_icmp_error(err, p.sk.pmtudisc, p.sk.recverr, connected)
    else {
        return;
    };
    p.sk.err = Some(e);
    if p.sk.recverr {
        p.rx.push_back(msg);
    }
    sk_wake(n, cx, sock);
}

/// `close()` of a ping socket.
pub fn ping_close(n: &mut Node, sock: SockId) {
    if let Some(Socket::Ping(p)) = n.socks.remove(sock)
        && n.socks.ping_idents.get(&p.ident) == Some(&sock)
    {
        n.socks.ping_idents.remove(&p.ident);
    }
}
