//! The IPv6 receive path (`net/ipv6/ip6_input.c`, `ip6_output.c`'s forwarding half):
//! `ipv6_rcv` (header checks, counters) → `nf_hook(PRE_ROUTING)` → `ip6_rcv_finish` (route
//! input) → `ip6_mc_input` for a joined group / `ip6_input` for one of our addresses →
//! `nf_hook(LOCAL_IN)` → `ip6_input_finish` (extension headers, reassembly, then the
//! protocol); or, for another node's address, the route lookup (none: Destination
//! Unreachable "no route" and `Ip6InNoRoutes`, hosts included, as `ip6_pkt_drop`) and
//! `ip6_forward` with Linux's checks in its order: forwarding on, hop limit (Time Exceeded),
//! the source (unspecified, multicast or loopback dropped; link-local: Destination
//! Unreachable "beyond scope", unless the packet goes back out the interface it came in
//! on), the MTU (Packet Too Big — IPv6 routers never fragment), then `nf_hook(FORWARD)` and
//! the output path.

use crate::ctx::NetCtx;
use crate::ip::output::LOOPBACK;
use crate::ipv6::icmp::{
    ICMPV6_EXC_HOPLIMIT, ICMPV6_NOROUTE, ICMPV6_NOT_NEIGHBOUR, ICMPV6_UNK_NEXTHDR, Rcv6,
    icmp6_send, icmpv6_rcv,
};
use crate::ipv6::output::ip6_output;
use crate::ipv6::reassembly;
use crate::netfilter::Hook;
use crate::node::Node;
use crate::skb::{PacketType, Skb};
use crate::sock::kfree_skb_reason;
use crate::sock::udp6::udpv6_rcv;
use crate::wire::icmpv6::Icmpv6Repr;
use crate::wire::ipv6::{is_link_local, skip_ext_headers};
use crate::wire::{IpProtocol, Ipv6Packet, Ipv6Repr};

// Every counter here goes to the node and to the receiving interface.
use crate::ipv6::ip6_stats as bump;

/// `ipv6_rcv`: an IPv6 packet arrived on `dev` (or over `lo`).
pub(crate) fn ipv6_rcv(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, mut skb: Skb) {
    note!(cx, skb, "ipv6_rcv");
    let len = skb.len() as u64;
    if dev != LOOPBACK
        && n.devs[dev]
            .inet6
            .as_deref()
            .is_none_or(|i| i.cnf.disable_ipv6)
    {
        bump(n, dev, |s| {
            s.Ip6InReceives += 1;
            s.Ip6InOctets += len;
            s.Ip6InDiscards += 1;
        });
        kfree_skb_reason(n, cx, dev, "ipv6_rcv(ipv6_disabled)", skb);
        return;
    }
    bump(n, dev, |s| {
        s.Ip6InReceives += 1;
        s.Ip6InOctets += len;
    });
    let repr = match Ipv6Packet::new_checked(skb.data()).and_then(|p| Ipv6Repr::parse(&p)) {
        Ok(r) => r,
        // Shorter than the fixed header: a header error; a payload length past the end:
        // truncated (ip6_rcv_core).
        Err(crate::wire::Error::Truncated) if skb.len() >= 40 => {
            bump(n, dev, |s| s.Ip6InTruncatedPkts += 1);
            kfree_skb_reason(n, cx, dev, "ipv6_rcv(truncated)", skb);
            return;
        }
        Err(_) => {
            bump(n, dev, |s| s.Ip6InHdrErrors += 1);
            kfree_skb_reason(n, cx, dev, "ipv6_rcv(bad_header)", skb);
            return;
        }
    };
    // Strip Ethernet padding beyond the payload length.
    skb.trim(40 + repr.payload_len);
    // RFC 4291 2.7: a multicast source is invalid; so is loopback on the wire, and a
    // multicast destination of scope 0 or interface-local scope from the wire.
    let mc_scope = repr.dst_addr.octets()[1] & 0x0f;
    if repr.src_addr.is_multicast()
        || (dev != LOOPBACK
            && (repr.src_addr.is_loopback()
                || repr.dst_addr.is_loopback()
                || (repr.dst_addr.is_multicast() && mc_scope <= 1)))
    {
        bump(n, dev, |s| s.Ip6InHdrErrors += 1);
        kfree_skb_reason(n, cx, dev, "ipv6_rcv(bad_address)", skb);
        return;
    }
    note!(cx, skb, Hook::PreRouting.trace_name());
    note!(cx, skb, "ip6_rcv_finish");
    let dst = repr.dst_addr;
    if dst.is_multicast() {
        note!(cx, skb, "ip6_mc_input");
        bump(n, dev, |s| {
            s.Ip6InMcastPkts += 1;
            s.Ip6InMcastOctets += len;
        });
        let joined = dev == LOOPBACK
            || n.devs[dev]
                .inet6
                .as_deref()
                .is_some_and(|i| i.has_group(dst));
        if joined {
            ip6_input(n, cx, dev, skb, repr);
        } else {
            kfree_skb_reason(n, cx, dev, "ip6_mc_input(not_joined)", skb);
        }
    } else if n.fib6.is_local(dst) {
        ip6_input(n, cx, dev, skb, repr);
    } else {
        ip6_forward(n, cx, dev, skb, repr);
    }
}

/// `ip6_input` → `nf_hook(LOCAL_IN)` → `ip6_input_finish`.
fn ip6_input(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, mut skb: Skb, repr: Ipv6Repr) {
    note!(cx, skb, "ip6_input");
    note!(cx, skb, Hook::LocalIn.trace_name());
    ip6_input_finish(n, cx, dev, skb, repr);
}

/// `ip6_input_finish`: skips the extension headers and hands the payload to its protocol;
/// a fragment goes to reassembly, and the datagram it completes comes back here.
fn ip6_input_finish(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, mut skb: Skb, repr: Ipv6Repr) {
    note!(cx, skb, "ip6_input_finish");
    let Ok(walk) = skip_ext_headers(&skb.data()[40..], repr.next_header) else {
        bump(n, dev, |s| s.Ip6InHdrErrors += 1);
        kfree_skb_reason(n, cx, dev, "ip6_input_finish(bad_exthdr)", skb);
        return;
    };
    if walk.frag.is_some() {
        if let Some((whole, repr)) = reassembly::ipv6_frag_rcv(n, cx, dev, skb, &repr) {
            ip6_input_finish(n, cx, dev, whole, repr);
        }
        return;
    }
    let h = Rcv6 {
        src: repr.src_addr,
        dst: repr.dst_addr,
        hop_limit: repr.hop_limit,
        tclass: repr.traffic_class,
    };
    match walk.protocol {
        IpProtocol::Icmpv6 => {
            bump(n, dev, |s| s.Ip6InDelivers += 1);
            skb.pull(40 + walk.offset);
            icmpv6_rcv(n, cx, dev, skb, h);
        }
        IpProtocol::Udp => {
            bump(n, dev, |s| s.Ip6InDelivers += 1);
            udpv6_rcv(n, cx, dev, skb, h, 40 + walk.offset);
        }
        IpProtocol::Tcp => {
            bump(n, dev, |s| s.Ip6InDelivers += 1);
            crate::tcp::ipv6::tcp_v6_rcv(n, cx, dev, skb, h, 40 + walk.offset);
        }
        IpProtocol::Ipv6NoNxt => {
            bump(n, dev, |s| s.Ip6InDelivers += 1);
            kfree_skb_reason(n, cx, dev, "ip6_input_finish(no_next_header)", skb);
        }
        _ => {
            // No handler: Parameter Problem pointing at the Next Header field that named it
            // (only to a unicast destination).
            bump(n, dev, |s| s.Ip6InUnknownProtos += 1);
            if !repr.dst_addr.is_multicast() {
                let pointer = next_header_field(&skb.data()[40..], repr.next_header);
                icmp6_send(
                    n,
                    cx,
                    dev,
                    &skb,
                    &Icmpv6Repr::ParamProblem {
                        code: ICMPV6_UNK_NEXTHDR,
                        pointer,
                        data: &[],
                    },
                );
            }
            kfree_skb_reason(n, cx, dev, "ip6_input_finish(unknown_protocol)", skb);
        }
    }
}

/// `ip6_route_input` for a packet not addressed to this node, then `ip6_forward`, with
/// Linux's checks in its order.
fn ip6_forward(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, mut skb: Skb, repr: Ipv6Repr) {
    note!(cx, skb, "ip6_route_input");
    // No route: ip6_pkt_drop (Ip6InNoRoutes and Destination Unreachable, hosts too).
    let oif = (is_link_local(repr.dst_addr) && dev != LOOPBACK).then_some(dev as u32);
    let Some(r) = n.fib6.lookup(repr.dst_addr, oif) else {
        bump(n, dev, |s| s.Ip6InNoRoutes += 1);
        icmp6_send(
            n,
            cx,
            dev,
            &skb,
            &Icmpv6Repr::DstUnreachable {
                code: ICMPV6_NOROUTE,
                data: &[],
            },
        );
        kfree_skb_reason(n, cx, dev, "ip6_pkt_drop(no_route)", skb);
        return;
    };
    let out = r.dev as usize;
    let dev_mtu = n.devs[out].mtu;
    let route = crate::ipv6::output::Dst6 {
        dev: out,
        nexthop: r.nexthop,
        mtu: n
            .fib6
            .pmtu(repr.dst_addr, cx.now)
            .map_or(dev_mtu, |p| p.min(dev_mtu)),
    };
    note!(cx, skb, "ip6_forward");
    let forwarding = n
        .devs
        .get(dev)
        .and_then(|d| d.inet6.as_deref())
        .is_some_and(|i| i.cnf.forwarding);
    if !forwarding {
        bump(n, dev, |s| s.Ip6InAddrErrors += 1);
        kfree_skb_reason(n, cx, dev, "ip6_forward(not_forwarding)", skb);
        return;
    }
    if skb.pkt_type != PacketType::Host {
        kfree_skb_reason(n, cx, dev, "ip6_forward(not_to_us)", skb);
        return;
    }
    if repr.hop_limit <= 1 {
        icmp6_send(
            n,
            cx,
            dev,
            &skb,
            &Icmpv6Repr::TimeExceeded {
                code: ICMPV6_EXC_HOPLIMIT,
                data: &[],
            },
        );
        bump(n, dev, |s| s.Ip6InHdrErrors += 1);
        kfree_skb_reason(n, cx, dev, "ip6_forward(hop_limit)", skb);
        return;
    }
    // Out the interface it came in on, Linux would also send a Redirect (not modeled);
    // otherwise the source is checked ("security critical").
    if out != dev {
        let s = repr.src_addr;
        if s.is_unspecified() || s.is_multicast() || s.is_loopback() {
            bump(n, dev, |st| st.Ip6InAddrErrors += 1);
            kfree_skb_reason(n, cx, dev, "ip6_forward(bad_source)", skb);
            return;
        }
        if is_link_local(s) {
            // A link-local source may not leave its link.
            icmp6_send(
                n,
                cx,
                dev,
                &skb,
                &Icmpv6Repr::DstUnreachable {
                    code: ICMPV6_NOT_NEIGHBOUR,
                    data: &[],
                },
            );
            bump(n, dev, |st| st.Ip6InAddrErrors += 1);
            kfree_skb_reason(n, cx, dev, "ip6_forward(link_local_src)", skb);
            return;
        }
    }
    bump(n, out, |s| s.Ip6OutForwDatagrams += 1);
    let mtu = route.mtu.max(crate::ipv6::route::IPV6_MIN_MTU);
    if skb.len() > mtu as usize && !skb.is_gso() {
        icmp6_send(
            n,
            cx,
            dev,
            &skb,
            &Icmpv6Repr::PacketTooBig { mtu, data: &[] },
        );
        bump(n, dev, |s| s.Ip6InTooBigErrors += 1);
        bump(n, out, |s| s.Ip6FragFails += 1);
        kfree_skb_reason(n, cx, dev, "ip6_forward(too_big)", skb);
        return;
    }
    // The hop limit is byte 7 of the header (not covered by any checksum).
    skb.data_mut()[7] = repr.hop_limit - 1;
    note!(cx, skb, Hook::Forward.trace_name());
    note!(cx, skb, "ip6_forward_finish");
    let _ = ip6_output(n, cx, skb, route);
}

/// Where the Next Header field naming the upper-layer protocol lies, from the start of the
/// IPv6 header (`IP6CB(skb)->nhoff`): byte 6 of the fixed header, or the first byte of the
/// last extension header.
fn next_header_field(payload: &[u8], first: IpProtocol) -> u32 {
    let (mut at, mut field, mut nh) = (0usize, 6u32, first);
    while matches!(
        nh,
        IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts | IpProtocol::Ipv6Frag
    ) {
        let Some(h) = payload.get(at..at + 2) else {
            break;
        };
        field = 40 + at as u32;
        let len = if nh == IpProtocol::Ipv6Frag {
            8
        } else {
            (usize::from(h[1]) + 1) * 8
        };
        nh = IpProtocol::from(h[0]);
        at += len;
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Ipv6DevConf;
    use crate::testing::{HOST_MAC, HOST6, OneHost, PEER_MAC, PEER6};
    use crate::wire::icmpv6::Icmpv6Packet;
    use sim_core::SimDuration;
    use std::net::Ipv6Addr;

    fn router() -> OneHost {
        let cnf = Ipv6DevConf {
            forwarding: true,
            ..Default::default()
        };
        let mut h = OneHost::dual(Default::default(), cnf);
        h.n.fib6
            .add_static("2001:db8:5::/48".parse().expect("prefix"), Some(PEER6), 0);
        h.advance(SimDuration::from_secs(3));
        let _ = h.take_ip6();
        h
    }

    fn echo(hop_limit: u8) -> Vec<u8> {
        OneHost::icmp6_packet(
            PEER6,
            "2001:db8:5::9".parse().expect("address"),
            hop_limit,
            &Icmpv6Repr::EchoRequest {
                ident: 1,
                seq_no: 1,
                data: b"x",
            },
        )
    }

    /// A router forwards with the hop limit one less, and answers a packet whose hop limit
    /// runs out with Time Exceeded from its own address, quoting the packet.
    #[test]
    fn forwarding_decrements_the_hop_limit_and_answers_its_end() {
        let mut h = router();
        h.inject_ip6(HOST_MAC, &echo(5));
        h.advance(SimDuration::from_millis(1));
        let sent = h.take_ip6();
        let fwd = sent.last().expect("forwarded");
        assert_eq!(fwd.1, PEER_MAC);
        assert_eq!(fwd.2[7], 4, "hop limit 5 - 1");
        assert_eq!(h.n.snmp6.ip6.Ip6OutForwDatagrams, 1);

        let orig = echo(1);
        h.inject_ip6(HOST_MAC, &orig);
        h.advance(SimDuration::from_millis(1));
        let sent = h.take_ip6();
        assert_eq!(sent.len(), 1);
        let ip = Ipv6Packet::new_checked(&sent[0].2[..]).expect("IPv6");
        assert_eq!(
            (ip.src_addr(), ip.dst_addr(), ip.hop_limit()),
            (HOST6, PEER6, 64)
        );
        let icmp = Icmpv6Packet::new_checked(ip.payload()).expect("ICMPv6");
        let m = Icmpv6Repr::parse(HOST6, PEER6, &icmp).expect("valid");
        assert_eq!(
            m,
            Icmpv6Repr::TimeExceeded {
                code: ICMPV6_EXC_HOPLIMIT,
                data: &orig[..]
            }
        );
        assert_eq!(h.n.snmp6.ip6.Ip6InHdrErrors, 1);
    }

    /// A host with no route to a packet's destination answers Destination Unreachable "no
    /// route" (`ip6_pkt_drop`, Ip6InNoRoutes); a packet for an unknown upper protocol gets
    /// Parameter Problem pointing at its Next Header.
    #[test]
    fn a_host_neither_forwards_nor_accepts_unknown_protocols() {
        let mut h = OneHost::dual(Default::default(), Default::default());
        h.advance(SimDuration::from_secs(3));
        let _ = h.take_ip6();
        h.inject_ip6(HOST_MAC, &echo(5));
        h.advance(SimDuration::from_millis(1));
        let sent = h.take_ip6();
        let ip = Ipv6Packet::new_checked(&sent.last().expect("an error").2[..]).expect("IPv6");
        let icmp = Icmpv6Packet::new_checked(ip.payload()).expect("ICMPv6");
        assert!(matches!(
            Icmpv6Repr::parse(HOST6, PEER6, &icmp),
            Ok(Icmpv6Repr::DstUnreachable {
                code: ICMPV6_NOROUTE,
                ..
            })
        ));
        assert_eq!(h.n.snmp6.ip6.Ip6InNoRoutes, 1);
        let mut p = vec![0u8; 48];
        crate::wire::Ipv6Repr {
            src_addr: PEER6,
            dst_addr: HOST6,
            next_header: IpProtocol::from(253),
            payload_len: 8,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0,
        }
        .emit(&mut Ipv6Packet::new_unchecked(&mut p[..]));
        h.inject_ip6(HOST_MAC, &p);
        h.advance(SimDuration::from_millis(1));
        let sent = h.take_ip6();
        let last = &sent.last().expect("an error").2;
        let ip = Ipv6Packet::new_checked(&last[..]).expect("IPv6");
        let icmp = Icmpv6Packet::new_checked(ip.payload()).expect("ICMPv6");
        let m = Icmpv6Repr::parse(HOST6, PEER6, &icmp).expect("valid");
        assert_eq!(
            m,
            Icmpv6Repr::ParamProblem {
                code: ICMPV6_UNK_NEXTHDR,
                pointer: 6,
                data: &p[..]
            }
        );
        assert_eq!(h.n.snmp6.ip6.Ip6InUnknownProtos, 1);
        let _ = Ipv6Addr::UNSPECIFIED;
    }
}
