//! ICMPv6 (`net/ipv6/icmp.c`): the receive side (`icmpv6_rcv`: checksum, counters, echo
//! replies, Neighbour Discovery, MLD) and the errors the kernel sends (`icmp6_send`) with
//! Linux's rules and rate limits.
//!
//! An error is never sent about an ICMPv6 error, about a packet to a multicast address
//! (except Packet Too Big), or about one from `::` or a multicast source. Its source is the
//! address the offending packet was sent to when that is ours, else the address chosen for
//! the route back; it quotes as much of the packet as fits in 1280 bytes. Errors other than
//! Packet Too Big are rate limited: the host-wide bucket shared with ICMP, then the
//! destination's bucket, whose cost (`net.ipv6.icmp.ratelimit`, 1 s) shrinks for wide
//! routes (`icmpv6_xrlim_allow`). Echo replies and errors carry a flow label from the flow's
//! hash (`auto_flowlabels`), echo replies the request's traffic class.

use std::net::Ipv6Addr;

use crate::ctx::NetCtx;
use crate::ip::icmp::IcmpErr;
use crate::ip::icmp_limit::Limits;
use crate::ip::output::LOOPBACK;
use crate::ipv6::addrconf::ipv6_dev_get_saddr;
use crate::ipv6::icmp6_stats as bump_in;
use crate::ipv6::ndisc;
use crate::ipv6::output::{Ip6Send, ip6_make_flowlabel, ip6_route_output, ip6_xmit};
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::ping::{PingMsg, ping_err, ping_rcv};
use crate::sock::udp6::udpv6_err;
use crate::sock::{Errno, kfree_skb};
use crate::wire::icmpv6::{Icmpv6Packet, Icmpv6Repr, linux_quote6};
use crate::wire::{Error as WireError, IpProtocol, Ipv6Packet};

/// Destination Unreachable code 0: no route to destination.
pub const ICMPV6_NOROUTE: u8 = 0;
/// Destination Unreachable code 2: beyond scope of source address.
pub const ICMPV6_NOT_NEIGHBOUR: u8 = 2;
/// Destination Unreachable code 3: address unreachable (neighbour resolution failed).
pub const ICMPV6_ADDR_UNREACH: u8 = 3;
/// Destination Unreachable code 4: port unreachable.
pub const ICMPV6_PORT_UNREACH: u8 = 4;
/// Time Exceeded code 0: hop limit exceeded in transit.
pub const ICMPV6_EXC_HOPLIMIT: u8 = 0;
/// Parameter Problem code 1: unrecognized Next Header.
pub const ICMPV6_UNK_NEXTHDR: u8 = 1;

/// What the IPv6 header of a received ICMPv6 message said.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rcv6 {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub hop_limit: u8,
    pub tclass: u8,
}

/// `icmpv6_rcv`: `skb` holds the ICMPv6 message (the IPv6 header pulled).
pub(crate) fn icmpv6_rcv(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, mut skb: Skb, h: Rcv6) {
    note!(cx, skb, "icmpv6_rcv");
    bump_in(n, dev, |s| s.Icmp6InMsgs += 1);
    // The checksum and the 4-byte header first (`csum_error`, `discard_it`): the only
    // failures counted in Icmp6InErrors.
    let data = skb.data();
    let header_ok =
        data.len() >= 4 && Icmpv6Packet::new_unchecked(data).verify_checksum(h.src, h.dst);
    if !header_ok {
        if data.len() >= 4 {
            bump_in(n, dev, |s| s.Icmp6InCsumErrors += 1);
        }
        bump_in(n, dev, |s| s.Icmp6InErrors += 1);
        kfree_skb(n, cx, skb);
        return;
    }
    let (ty, code) = (data[0], data[1]);
    n.snmp6.icmp6.count_in(ty);
    if let Some(idev) = n.devs.get_mut(dev).and_then(|d| d.inet6.as_deref_mut()) {
        idev.stats.icmp6.count_in(ty);
    }
    // A message too short for its type, or with malformed options, is dropped by its
    // handler without another count.
    let Ok(repr) =
        Icmpv6Packet::new_checked(skb.data()).and_then(|p| Icmpv6Repr::parse(h.src, h.dst, &p))
    else {
        kfree_skb(n, cx, skb);
        return;
    };
    match repr {
        Icmpv6Repr::EchoRequest {
            ident,
            seq_no,
            data,
        } if !n.sysctl.icmpv6_echo_ignore_all => {
            let data = data.to_vec();
            icmpv6_echo_reply(n, cx, dev, h, ident, seq_no, &data);
        }
        Icmpv6Repr::EchoReply {
            ident,
            seq_no,
            data,
        } => {
            let reply = PingMsg::Reply {
                from: h.src.into(),
                seq: seq_no,
                len: data.len(),
                ttl: h.hop_limit,
            };
            note!(cx, skb, "ping_rcv");
            kfree_skb(n, cx, skb);
            ping_rcv(n, cx, ident, true, reply);
            return;
        }
        Icmpv6Repr::DstUnreachable { code, data } | Icmpv6Repr::TimeExceeded { code, data } => {
            let quoted = data.to_vec();
            note!(cx, skb, "icmpv6_notify");
            kfree_skb(n, cx, skb);
            icmpv6_notify(n, cx, h.src, ty, code, 0, &quoted);
            return;
        }
        Icmpv6Repr::PacketTooBig { mtu, data } => {
            let quoted = data.to_vec();
            // ip6_update_pmtu: the path to the quoted packet's destination is narrower.
            if quoted.len() >= 40 {
                let to = Ipv6Packet::new_unchecked(&quoted[..40]).dst_addr();
                if let Ok(route) = ip6_route_output(n, to, None, cx.now) {
                    let dev_mtu = n.devs.get(route.dev).map_or(route.mtu, |d| d.mtu);
                    n.fib6.update_pmtu(to, mtu, dev_mtu, cx.now);
                }
            }
            note!(cx, skb, "icmpv6_notify");
            kfree_skb(n, cx, skb);
            icmpv6_notify(n, cx, h.src, ty, 0, mtu, &quoted);
            return;
        }
        Icmpv6Repr::ParamProblem {
            code,
            pointer,
            data,
        } => {
            let quoted = data.to_vec();
            note!(cx, skb, "icmpv6_notify");
            kfree_skb(n, cx, skb);
            icmpv6_notify(n, cx, h.src, ty, code, pointer, &quoted);
            return;
        }
        // ndisc_rcv: only code 0 is Neighbour Discovery.
        Icmpv6Repr::Ndisc(msg) if code == 0 => {
            ndisc::ndisc_rcv(n, cx, dev, &msg, h.src, h.dst, h.hop_limit);
        }
        _ => {}
    }
    kfree_skb(n, cx, skb);
}

/// `icmpv6_notify`: an ICMPv6 error about a packet this node sent (`quoted`: its IPv6 header
/// and start) goes to the upper protocol's error handler: for an echo request, its ping
/// socket (`icmpv6_err` → `ping_err`); for a UDP datagram, its socket (`udpv6_err`); for a
/// TCP segment, its connection (`tcp_v6_err`).
fn icmpv6_notify(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    from: Ipv6Addr,
    ty: u8,
    code: u8,
    info: u32,
    quoted: &[u8],
) {
    let Ok(ip) = Ipv6Packet::new_checked(quoted).or_else(|_| {
        // A quote may be cut short of its payload length.
        if quoted.len() >= 40 {
            Ok(Ipv6Packet::new_unchecked(quoted))
        } else {
            Err(WireError::Truncated)
        }
    }) else {
        return;
    };
    let body = &quoted[40..];
    let Ok(walk) = crate::wire::ipv6::skip_ext_headers(body, ip.next_header()) else {
        return;
    };
    let t = &body[walk.offset.min(body.len())..];
    if walk.protocol == IpProtocol::Udp && t.len() >= 4 {
        // udpv6_err: the datagram's socket.
        let sport = u16::from_be_bytes([t[0], t[1]]);
        let dport = u16::from_be_bytes([t[2], t[3]]);
        udpv6_err(n, cx, ip.src_addr(), sport, ip.dst_addr(), dport, ty, code);
        return;
    }
    if walk.protocol == IpProtocol::Tcp && t.len() >= 4 {
        // tcp_v6_err: the segment's connection.
        let sport = u16::from_be_bytes([t[0], t[1]]);
        let dport = u16::from_be_bytes([t[2], t[3]]);
        crate::tcp::ipv6::tcp_v6_err(n, cx, ip.dst_addr(), dport, sport, ty, code, info);
        return;
    }
    if walk.protocol != IpProtocol::Icmpv6 || t.len() < 8 || t[0] != 128 {
        return;
    }
    let ident = u16::from_be_bytes([t[4], t[5]]);
    let seq = u16::from_be_bytes([t[6], t[7]]);
    ping_err(
        n,
        cx,
        ident,
        icmpv6_err_convert(ty, code),
        PingMsg::Error6 {
            from,
            seq,
            ty,
            code,
            info,
        },
    );
}

/// `icmpv6_err_convert`: the errno an ICMPv6 error means to a socket, and whether it is
/// "fatal" (reported to a connected socket without `IPV6_RECVERR`).
pub(crate) fn icmpv6_err_convert(ty: u8, code: u8) -> IcmpErr {
    let report = |errno, hard| IcmpErr::Report { errno, hard };
    match (ty, code) {
        (1, 0) => report(Errno::NetUnreach, false),
        (1, 1 | 5 | 6) => report(Errno::Acces, true),
        (1, 2 | 3) => report(Errno::HostUnreach, false),
        (1, 4) => report(Errno::ConnRefused, true),
        (1, _) => report(Errno::Proto, true),
        (2, _) => report(Errno::MsgSize, false),
        (3, _) => report(Errno::HostUnreach, false),
        (4, _) => report(Errno::Proto, true),
        _ => report(Errno::Proto, false),
    }
}

/// `icmpv6_echo_reply`: the request's data back, from the address it was sent to (or, for
/// a multicast request, the address chosen for the way back).
#[allow(clippy::too_many_arguments)]
fn icmpv6_echo_reply(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    h: Rcv6,
    ident: u16,
    seq_no: u16,
    data: &[u8],
) {
    let oif = scoped(h.src).then_some(dev);
    let Ok(route) = ip6_route_output(n, h.src, oif, cx.now) else {
        return;
    };
    let src = if h.dst.is_multicast() {
        match ipv6_dev_get_saddr(n, route.dev, h.src) {
            Some(a) => a,
            None => return,
        }
    } else {
        h.dst
    };
    let repr = Icmpv6Repr::EchoReply {
        ident,
        seq_no,
        data,
    };
    let len = repr.buffer_len();
    let mut skb = cx.shared.pool.alloc(len);
    repr.emit(src, h.src, &mut Icmpv6Packet::new_unchecked(skb.put(len)));
    note!(cx, skb, "icmpv6_echo_reply");
    let send = Ip6Send {
        src,
        dst: h.src,
        next_header: IpProtocol::Icmpv6,
        hop_limit: hop_limit(n, route.dev),
        tclass: h.tclass,
        flow_label: ip6_make_flowlabel(n, src, h.src, 58, icmp_flow(129, 0)),
    };
    let _ = ip6_xmit(n, cx, skb, send, route);
}

/// The unicast hop limit of interface `dev` (`ip6_dst_hoplimit`).
pub(crate) fn hop_limit(n: &Node, dev: usize) -> u8 {
    n.devs
        .get(dev)
        .and_then(|d| d.inet6.as_deref())
        .map_or(64, |i| i.cnf.hop_limit)
}

/// Whether a destination needs an interface to be routed (link-local or multicast).
pub(crate) fn scoped(a: Ipv6Addr) -> bool {
    crate::wire::ipv6::is_link_local(a) || a.is_multicast()
}

/// The rate-limiting sysctls (`net.ipv6.icmp.ratelimit`, and the host-wide ones shared
/// with IPv4), in jiffies.
fn limits(n: &Node) -> Limits {
    let s = &n.sysctl;
    Limits {
        ratemask: 0,
        ratelimit: s
            .icmpv6_ratelimit
            .as_nanos()
            .div_ceil(crate::jiffies::JIFFY_NS),
        msgs_per_sec: s.icmp_msgs_per_sec,
        msgs_burst: s.icmp_msgs_burst,
    }
}

/// `icmp6_send`: the error `msg` (its `data` is ignored: the quote of `orig` is used) about
/// `orig`, an IPv6 packet this node received on interface `dev` (or tried to send out of
/// it). A link-local or multicast source is answered out of `dev` (`icmp6_iif`); the source
/// address is the one the packet was sent to when `dev` has it, else the address chosen
/// for the route back.
pub(crate) fn icmp6_send(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    orig: &Skb,
    msg: &Icmpv6Repr<'_>,
) {
    let Ok(p) = Ipv6Packet::new_checked(orig.data()) else {
        return;
    };
    let (osrc, odst) = (p.src_addr(), p.dst_addr());
    let ty = match msg {
        Icmpv6Repr::DstUnreachable { .. } => 1u8,
        Icmpv6Repr::PacketTooBig { .. } => 2,
        Icmpv6Repr::TimeExceeded { .. } => 3,
        Icmpv6Repr::ParamProblem { .. } => 4,
        _ => return,
    };
    // Not about a packet to a multicast address or not addressed to this host at L2
    // (but Packet Too Big and Parameter Problem code 2), nor to a source that is
    // unspecified or multicast.
    let l2_other = orig.pkt_type != crate::skb::PacketType::Host && dev != LOOPBACK;
    let exempt = ty == 2 || matches!(msg, Icmpv6Repr::ParamProblem { code: 2, .. });
    if ((odst.is_multicast() || l2_other) && !exempt)
        || osrc.is_unspecified()
        || osrc.is_multicast()
    {
        return;
    }
    // is_ineligible: never about an ICMPv6 error (or a packet too short to tell).
    if let Ok(w) = crate::wire::ipv6::skip_ext_headers(p.payload(), p.next_header())
        && w.protocol == IpProtocol::Icmpv6
        && w.frag.is_none_or(|f| f.offset == 0)
        && p.payload().get(w.offset).is_none_or(|&t| t < 128)
    {
        return;
    }
    let l = limits(n);
    let jiffies = n.jiffies(cx.now);
    let apply = if dev == LOOPBACK {
        // icmpv6_global_allow is skipped for a packet that came over lo.
        ty < 128 && ty != 2
    } else {
        let Some(apply) = n.icmp_limits.global_allow6(l, jiffies, ty) else {
            n.snmp.icmp.OutRateLimitGlobal += 1;
            return;
        };
        apply
    };
    let oif = (scoped(osrc) && dev != LOOPBACK).then_some(dev);
    let Ok(route) = ip6_route_output(n, osrc, oif, cx.now) else {
        return;
    };
    let plen = route_plen(n, osrc);
    let loopback = route.dev == LOOPBACK;
    if !n
        .icmp_limits
        .xrlim_allow6(l, jiffies, osrc, plen, loopback, apply, &mut n.rng)
    {
        n.snmp6.icmp6.Icmp6OutRateLimitHost += 1;
        return;
    }
    let on_dev = n
        .devs
        .get(dev)
        .and_then(|d| d.inet6.as_deref())
        .and_then(|i| i.ifaddr(odst))
        .is_some_and(crate::ipv6::addrconf::Inet6Ifaddr::valid)
        || (dev == LOOPBACK && n.fib6.is_local(odst));
    let src = if on_dev {
        odst
    } else if loopback {
        osrc
    } else {
        match ipv6_dev_get_saddr(n, route.dev, osrc) {
            Some(a) => a,
            None => return,
        }
    };
    let total = (40 + usize::from(p.payload_len())).min(orig.len());
    let quote = linux_quote6(&orig.data()[..total]).to_vec();
    let (repr, code) = match *msg {
        Icmpv6Repr::DstUnreachable { code, .. } => {
            (Icmpv6Repr::DstUnreachable { code, data: &quote }, code)
        }
        Icmpv6Repr::PacketTooBig { mtu, .. } => (Icmpv6Repr::PacketTooBig { mtu, data: &quote }, 0),
        Icmpv6Repr::TimeExceeded { code, .. } => {
            (Icmpv6Repr::TimeExceeded { code, data: &quote }, code)
        }
        Icmpv6Repr::ParamProblem { code, pointer, .. } => (
            Icmpv6Repr::ParamProblem {
                code,
                pointer,
                data: &quote,
            },
            code,
        ),
        _ => return,
    };
    let len = repr.buffer_len();
    let mut skb = cx.shared.pool.alloc(len);
    repr.emit(src, osrc, &mut Icmpv6Packet::new_unchecked(skb.put(len)));
    note!(cx, skb, "icmp6_send");
    let send = Ip6Send {
        src,
        dst: osrc,
        next_header: IpProtocol::Icmpv6,
        hop_limit: hop_limit(n, route.dev),
        tclass: 0,
        flow_label: ip6_make_flowlabel(n, src, osrc, 58, icmp_flow(ty, code)),
    };
    let _ = ip6_xmit(n, cx, skb, send, route);
}

/// The ICMPv6 type and code as the flow keys carry them (`fl6_icmp_type`/`fl6_icmp_code`),
/// in the place of the ports of the flow hash.
pub(crate) const fn icmp_flow(ty: u8, code: u8) -> u32 {
    ((ty as u32) << 8) | code as u32
}

/// The prefix length of the route to `dst` (for the rate limit's scaling).
fn route_plen(n: &Node, dst: Ipv6Addr) -> u8 {
    n.fib6
        .routes()
        .iter()
        .filter(|r| r.dst.contains(dst))
        .map(|r| r.dst.prefix_len())
        .max()
        .unwrap_or(128)
}
