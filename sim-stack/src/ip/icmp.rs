//! ICMP: `icmp_rcv` (echo → `icmp_echo` → `icmp_reply`; errors and echo replies handed to the
//! sender), and `icmp_send` for the errors the stack generates (destination unreachable,
//! time exceeded, fragmentation needed).
//!
//! As in Linux, errors quote the offending datagram up to 576 bytes in all, carry TOS
//! `IPTOS_PREC_INTERNETCONTROL` (0xc0), and are never sent about an ICMP error, a fragment
//! other than the first, or a broadcast. Replies and errors leave without DF (the kernel's
//! ICMP socket uses `IP_PMTUDISC_DONT`). Both go through the rate limits of
//! [`icmp_limit`](crate::ip::icmp_limit) (`icmp_ratelimit`, `icmp_ratemask`,
//! `icmp_msgs_per_sec`, `icmp_msgs_burst`), which by default limit errors and never echo
//! replies. Not modeled: redirects, timestamps and parameter problems.

use crate::ctx::NetCtx;
use crate::ip::fib::AddrType;
use crate::ip::icmp_limit::Limits;
use crate::ip::output::{Dst, IdentMode, IpSend, LOOPBACK};
use crate::ip::output::{ip_route_output_flow, ip_send_skb};
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::Errno;
use crate::sock::kfree_skb_reason;
use crate::sock::ping::{PingMsg, ping_err, ping_rcv};
use crate::sock::udp::udp_err;
use crate::wire::DstUnreachable;
use crate::wire::{
    Icmpv4Message, Icmpv4Packet, Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr, icmp::linux_quote,
};
use std::net::Ipv4Addr;

/// `IPTOS_PREC_INTERNETCONTROL`: the precedence Linux gives ICMP errors.
const IPTOS_PREC_INTERNETCONTROL: u8 = 0xc0;

/// `icmp_rcv`: `skb` holds the ICMP message (IP header pulled; `ip_header` is it).
#[allow(clippy::manual_let_else)]
pub(crate) fn icmp_rcv(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    mut skb: Skb,
    ip: Ipv4Repr,
    ip_header: &[u8],
) {
    note!(cx, skb, "icmp_rcv");
    n.snmp.icmp.InMsgs += 1;
    let pkt = match Icmpv4Packet::new_checked(skb.data()) {
        Ok(p) => p,
        Err(_) => {
            n.snmp.icmp.InErrors += 1;
            skb.push(ip_header.len());
            kfree_skb_reason(n, cx, dev, "icmp_rcv(truncated)", skb);
            return;
        }
    };
    if !pkt.verify_checksum() {
        n.snmp.icmp.InErrors += 1;
        n.snmp.icmp.InCsumErrors += 1;
        skb.push(ip_header.len());
        kfree_skb_reason(n, cx, dev, "icmp_rcv(bad_checksum)", skb);
        return;
    }
    match pkt.msg_type() {
        Icmpv4Message::EchoRequest => {
            n.snmp.icmp.InEchos += 1;
            // icmp_echo_ignore_broadcasts = 1 (limited or directed broadcast), and
            // icmp_echo: net.ipv4.icmp_echo_ignore_all.
            if n.is_broadcast_addr(ip.dst_addr) || n.sysctl.icmp_echo_ignore_all {
                cx.shared.pool.free(skb);
                return;
            }
            let reply = Icmpv4Repr::EchoReply {
                ident: pkt.echo_ident(),
                seq_no: pkt.echo_seq_no(),
                data: pkt.data(),
            };
            let mut out = cx.shared.pool.alloc(reply.buffer_len());
            reply.emit(&mut Icmpv4Packet::new_unchecked(
                out.put(reply.buffer_len()),
            ));
            for f in skb
                .path()
                .iter()
                .copied()
                .chain(["icmp_echo", "icmp_reply"])
            {
                note!(cx, out, f);
            }
            cx.shared.pool.free(skb);
            // icmp_reply: the limits (an echo reply is not in the default mask), the route.
            let Some(route) = icmp_route(n, cx, ip.src_addr, Icmpv4Message::EchoReply, 0) else {
                cx.shared.pool.free(out);
                return;
            };
            icmp_push_reply(n, cx, out, ip.dst_addr, ip.src_addr, ip.dscp_ecn, route);
        }
        Icmpv4Message::EchoReply => {
            n.snmp.icmp.InEchoReps += 1;
            let (ident, seq) = (pkt.echo_ident(), pkt.echo_seq_no());
            let len = pkt.data().len();
            note!(cx, skb, "ping_rcv");
            trace_deliver(n, cx, dev, ip_header, &skb);
            cx.shared.pool.free(skb);
            let reply = PingMsg::Reply {
                from: ip.src_addr.into(),
                seq,
                len,
                ttl: ip.ttl,
            };
            ping_rcv(n, cx, ident, false, reply);
        }
        Icmpv4Message::DstUnreachable | Icmpv4Message::TimeExceeded => {
            if pkt.msg_type() == Icmpv4Message::DstUnreachable {
                n.snmp.icmp.InDestUnreachs += 1;
            } else {
                n.snmp.icmp.InTimeExcds += 1;
            }
            let (ty, code) = (pkt.msg_type(), pkt.msg_code());
            // `info`: the next-hop MTU of a "fragmentation needed".
            let info = if ty == Icmpv4Message::DstUnreachable
                && DstUnreachable::from(code) == DstUnreachable::FragRequired
            {
                u32::from(pkt.next_hop_mtu())
            } else {
                0
            };
            let quoted = pkt.data().to_vec();
            note!(cx, skb, "icmp_unreach");
            trace_deliver(n, cx, dev, ip_header, &skb);
            cx.shared.pool.free(skb);
            icmp_socket_deliver(n, cx, ip.src_addr, ty, code, info, &quoted);
        }
        _ => cx.shared.pool.free(skb),
    }
}

/// What an ICMP error about one of its datagrams means to a socket (`icmp_err_convert` and
/// the rules `__udp4_lib_err` and `ping_err` share).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IcmpErr {
    /// This errno; `hard` (`icmp_err_convert[].fatal`, or a parameter problem): reported to
    /// a connected socket even without `IP_RECVERR`.
    Report {
        /// The errno.
        errno: Errno,
        /// Whether it is a "hard" error.
        hard: bool,
    },
    /// "Fragmentation needed": `EMSGSIZE`, hard, unless the socket's PMTU mode is "dont"
    /// (then nothing).
    FragNeeded,
}

/// `icmp_err_convert`, for the types `icmp_rcv` hands to the sockets.
pub(crate) fn icmp_err_convert(ty: Icmpv4Message, code: u8) -> IcmpErr {
    let report = |errno, hard| IcmpErr::Report { errno, hard };
    if ty != Icmpv4Message::DstUnreachable {
        // ICMP_TIME_EXCEEDED (and any other): EHOSTUNREACH, soft.
        return report(Errno::HostUnreach, false);
    }
    match code {
        0 | 11 => report(Errno::NetUnreach, false),
        1 | 12 => report(Errno::HostUnreach, false),
        2 => report(Errno::NoProtoOpt, true),
        3 => report(Errno::ConnRefused, true),
        4 => IcmpErr::FragNeeded,
        5 => report(Errno::OpNotSupp, false),
        6 | 9 => report(Errno::NetUnreach, true),
        7 => report(Errno::HostDown, true),
        8 => report(Errno::NoNet, true),
        10 | 13..=15 => report(Errno::HostUnreach, true),
        _ => report(Errno::HostUnreach, false),
    }
}

/// The error a socket is told of, if any: `err` as its `PMTU` mode, `IP_RECVERR` and
/// connectedness decide (`__udp4_lib_err`, `ping_err`): with `IP_RECVERR` every error, else
/// only a hard one, and only to a connected socket.
pub(crate) fn sk_icmp_error(
    err: IcmpErr,
    pmtudisc: crate::sock::PmtuDisc,
    recverr: bool,
    connected: bool,
) -> Option<Errno> {
    let (errno, hard) = match err {
        IcmpErr::Report { errno, hard } => (errno, hard),
        IcmpErr::FragNeeded if pmtudisc != crate::sock::PmtuDisc::Dont => (Errno::MsgSize, true),
        IcmpErr::FragNeeded => return None,
    };
    (recverr || (hard && connected)).then_some(errno)
}

/// `icmp_socket_deliver`: an ICMP error about a datagram this node sent (`quoted`: its IP
/// header and start) goes to the protocol's error handler (`__udp4_lib_err`, `ping_err`);
/// TCP treats ICMP errors as soft errors that its timers recover from.
pub(crate) fn icmp_socket_deliver(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    from: Ipv4Addr,
    ty: Icmpv4Message,
    code: u8,
    info: u32,
    quoted: &[u8],
) {
    let Ok(q) = crate::wire::icmp::parse_quoted(quoted) else {
        return;
    };
    if q.header.protocol == IpProtocol::Udp && q.transport.len() >= 4 {
        let sport = u16::from_be_bytes([q.transport[0], q.transport[1]]);
        let dport = u16::from_be_bytes([q.transport[2], q.transport[3]]);
        udp_err(
            n,
            cx,
            sport,
            q.header.dst_addr,
            dport,
            icmp_err_convert(ty, code),
        );
        return;
    }
    if q.header.protocol != IpProtocol::Icmp || q.transport.len() < 8 || q.transport[0] != 8 {
        return;
    }
    let ident = u16::from_be_bytes([q.transport[4], q.transport[5]]);
    let seq = u16::from_be_bytes([q.transport[6], q.transport[7]]);
    ping_err(
        n,
        cx,
        ident,
        icmp_err_convert(ty, code),
        PingMsg::Error {
            from,
            seq,
            ty,
            code,
            info,
        },
    );
}

/// A trace line for a packet consumed by this host, with its receive path.
pub(crate) fn trace_deliver(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    ip_header: &[u8],
    skb: &Skb,
) {
    let now = cx.now;

    if !cx.shared.trace.paths() {
        return;
    }
    let mut frame = vec![0u8; 14];
    frame[12] = 0x08;
    frame.extend_from_slice(ip_header);
    frame.extend_from_slice(skb.data());
    cx.shared
        .trace
        .frame(now, &n.name, n.dev_name(dev), "deliver", &frame, skb.path());
}

/// The rate-limiting sysctls of `n`, in the units Linux keeps them in.
fn limits(n: &Node) -> Limits {
    let s = &n.sysctl;
    Limits {
        ratemask: s.icmp_ratemask,
        // proc_dointvec_ms_jiffies: milliseconds to jiffies, rounded up.
        ratelimit: s
            .icmp_ratelimit
            .as_nanos()
            .div_ceil(crate::jiffies::JIFFY_NS),
        msgs_per_sec: s.icmp_msgs_per_sec,
        msgs_burst: s.icmp_msgs_burst,
    }
}

/// The route of an ICMP message the kernel sends to `dst` (`icmp_reply`, `__icmp_send`)
/// through its rate limits: the host-wide one before the route lookup, the destination's
/// after it (`icmpv4_global_allow`, `ip_route_output_key`, `icmpv4_xrlim_allow`). `None`: not
/// sent (refused, counted as `OutRateLimitGlobal` or `OutRateLimitHost`, or no route).
fn icmp_route(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dst: Ipv4Addr,
    ty: Icmpv4Message,
    code: u8,
) -> Option<Dst> {
    let l = limits(n);
    let jiffies = n.jiffies(cx.now);
    let Some(apply) = n.icmp_limits.global_allow(l, jiffies, ty, code) else {
        n.snmp.icmp.OutRateLimitGlobal += 1;
        return None;
    };
    // To one of its own addresses (an error about a packet this host sent): over loopback.
    let route = if n.fib.addr_type(dst) == AddrType::Local {
        Dst::local(dst)
    } else {
        ip_route_output_flow(n, dst).ok()?
    };
    let lo = route.dev == LOOPBACK;
    if !n
        .icmp_limits
        .xrlim_allow(l, jiffies, dst, lo, apply, &mut n.rng)
    {
        n.snmp.icmp.OutRateLimitHost += 1;
        return None;
    }
    Some(route)
}

/// `icmp_out_count`: `OutMsgs` and the type's own counter, for a message about to leave
/// (`__ip_make_skb` counts it there).
pub(crate) fn icmp_out_count(n: &mut Node, ty: Icmpv4Message) {
    let c = &mut n.snmp.icmp;
    c.OutMsgs += 1;
    match ty {
        Icmpv4Message::EchoReply => c.OutEchoReps += 1,
        Icmpv4Message::EchoRequest => c.OutEchos += 1,
        Icmpv4Message::DstUnreachable => c.OutDestUnreachs += 1,
        Icmpv4Message::TimeExceeded => c.OutTimeExcds += 1,
        _ => {}
    }
}

/// Sends an ICMP message built by the kernel (`icmp_push_reply`) on `route`: no DF, hashed
/// IP ID, counted by type.
fn icmp_push_reply(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    skb: Skb,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    tos: u8,
    route: Dst,
) {
    let src = if src.is_unspecified() || src.is_broadcast() {
        route.src
    } else {
        src
    };
    let ty = Icmpv4Packet::new_unchecked(skb.data()).msg_type();
    icmp_out_count(n, ty);
    let ttl = n.default_ttl;
    // icmp_push_reply does not look at what the device said.
    let _ = ip_send_skb(
        n,
        cx,
        skb,
        IpSend {
            src,
            dst,
            protocol: IpProtocol::Icmp,
            ttl,
            tos,
            priority: crate::qdisc::rt_tos2priority(tos),
            dont_frag: false,
            ident: IdentMode::Unconnected,
        },
        route,
    );
}

/// `icmp_send`: an ICMP error about the datagram in `orig` (IP header first). `msg`'s
/// quoted data is ignored and replaced by the quote of `orig`.
pub(crate) fn icmp_send(n: &mut Node, cx: &mut NetCtx<'_>, orig: &Skb, msg: Icmpv4Repr<'_>) {
    let Ok(p) = Ipv4Packet::new_checked(orig.data()) else {
        return;
    };
    // Never about a non-first fragment, a broadcast, or an ICMP error.
    if p.frag_offset() != 0 || p.dst_addr().is_broadcast() || p.src_addr().is_unspecified() {
        return;
    }
    if p.protocol() == IpProtocol::Icmp {
        let inner = p.payload();
        if let Ok(ic) = Icmpv4Packet::new_checked(inner)
            && !matches!(
                ic.msg_type(),
                Icmpv4Message::EchoRequest | Icmpv4Message::EchoReply
            )
        {
            return;
        }
    }
    let (orig_src, orig_dst, orig_tos) = (p.src_addr(), p.dst_addr(), p.dscp_ecn());
    let (ty, code) = match msg {
        Icmpv4Repr::DstUnreachable { reason, .. } => {
            (Icmpv4Message::DstUnreachable, u8::from(reason))
        }
        Icmpv4Repr::TimeExceeded { reason, .. } => (Icmpv4Message::TimeExceeded, u8::from(reason)),
        _ => return,
    };
    let Some(route) = icmp_route(n, cx, orig_src, ty, code) else {
        return;
    };
    let quote = linux_quote(&orig.data()[..usize::from(p.total_len()).min(orig.len())]).to_vec();
    let msg = match msg {
        Icmpv4Repr::DstUnreachable {
            reason,
            next_hop_mtu,
            ..
        } => Icmpv4Repr::DstUnreachable {
            reason,
            next_hop_mtu,
            data: &quote,
        },
        Icmpv4Repr::TimeExceeded { reason, .. } => Icmpv4Repr::TimeExceeded {
            reason,
            data: &quote,
        },
        other => other,
    };
    // Source: the original destination if it is ours, else the output interface's address.
    let src = if n.is_local_addr(orig_dst) && !orig_dst.is_broadcast() {
        orig_dst
    } else {
        Ipv4Addr::UNSPECIFIED
    };
    let mut out = cx.shared.pool.alloc(msg.buffer_len());
    msg.emit(&mut Icmpv4Packet::new_unchecked(out.put(msg.buffer_len())));
    note!(cx, out, "icmp_send");
    let tos = (orig_tos & 0x1e) | IPTOS_PREC_INTERNETCONTROL;
    icmp_push_reply(n, cx, out, src, orig_src, tos, route);
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddrV4};

    use super::*;
    use crate::sock::MsgFlags;
    use crate::sock::syscall::{self, SockOpt, SockType};
    use crate::testing::{HOST, OneHost, PEER};
    use crate::wire::{IpProtocol, Ipv4Packet, Ipv4Repr};

    /// An IPv4 packet from `src` to `dst` carrying `payload` of `protocol`.
    fn ip(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, payload: &[u8]) -> Vec<u8> {
        let repr = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol,
            payload_len: payload.len(),
            ttl: 64,
            dscp_ecn: 0,
            ident: 1,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        };
        let mut p = vec![0; repr.buffer_len() + payload.len()];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut p[..]));
        p[repr.buffer_len()..].copy_from_slice(payload);
        p
    }

    /// The peer's ICMP `code` destination unreachable about a UDP datagram the host sent from
    /// `sport` to the peer's port 9.
    fn unreachable_from_peer(code: DstUnreachable, sport: u16) -> Vec<u8> {
        let mut udp = [0u8; 8];
        udp[..2].copy_from_slice(&sport.to_be_bytes());
        udp[2..4].copy_from_slice(&9u16.to_be_bytes());
        let quoted = ip(HOST, PEER, IpProtocol::Udp, &udp);
        let msg = Icmpv4Repr::DstUnreachable {
            reason: code,
            next_hop_mtu: 0,
            data: &quoted,
        };
        let mut icmp = vec![0; msg.buffer_len()];
        msg.emit(&mut Icmpv4Packet::new_unchecked(&mut icmp[..]));
        ip(PEER, HOST, IpProtocol::Icmp, &icmp)
    }

    /// `__udp4_lib_err`: no socket for the quoted datagram is `Icmp InErrors`; a connected
    /// socket hears of a port unreachable (hard) but not of a host unreachable (soft) unless
    /// it set `IP_RECVERR`; an unconnected one only with `IP_RECVERR`.
    #[test]
    fn udp_errors_reach_the_sockets_linux_reports_them_to() {
        let mut h = OneHost::new(crate::config::Sysctls::default());
        h.inject_ip(&unreachable_from_peer(
            DstUnreachable::PortUnreachable,
            5555,
        ));
        assert_eq!(
            (h.n.snmp.icmp.InDestUnreachs, h.n.snmp.icmp.InErrors),
            (1, 1)
        );
        let socket = |h: &mut OneHost, connect: bool, recverr: bool| {
            h.with(|n, cx| {
                let fd = syscall::socket(n, cx, SockType::Dgram, 0, None).unwrap();
                syscall::bind(n, cx, fd, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)).unwrap();
                if connect {
                    syscall::connect(n, cx, fd, SocketAddrV4::new(PEER, 9)).unwrap();
                }
                syscall::setsockopt(n, cx, fd, SockOpt::RecvErr(recverr)).unwrap();
                (fd, n.socks.udp(fd).sk.sport)
            })
        };
        let cases = [
            (
                true,
                false,
                DstUnreachable::PortUnreachable,
                Some(Errno::ConnRefused),
            ),
            (true, false, DstUnreachable::HostUnreachable, None),
            (
                true,
                true,
                DstUnreachable::HostUnreachable,
                Some(Errno::HostUnreach),
            ),
            (false, false, DstUnreachable::PortUnreachable, None),
            (
                false,
                true,
                DstUnreachable::NetUnreachable,
                Some(Errno::NetUnreach),
            ),
        ];
        for (connect, recverr, code, want) in cases {
            let (fd, sport) = socket(&mut h, connect, recverr);
            h.inject_ip(&unreachable_from_peer(code, sport));
            let got = h.with(|n, cx| {
                let to = (!connect).then_some(SocketAddrV4::new(PEER, 9));
                syscall::sendto(n, cx, fd, b"x", to, MsgFlags::NONE).err()
            });
            assert_eq!(
                got, want,
                "connected {connect}, IP_RECVERR {recverr}, {code:?}"
            );
        }
        assert_eq!(
            h.n.snmp.icmp.InErrors, 1,
            "every other error found its socket"
        );
    }
}
