//! The IPv6 output path (`net/ipv6/ip6_output.c`): `ip6_xmit` / `ndisc_send_skb` /
//! `mld_sendpack` build the header → `ip6_local_out` → `nf_hook(LOCAL_OUT)` → `dst_output`
//! → `ip6_output` → `nf_hook(POST_ROUTING)` → `ip6_finish_output` → `ip6_finish_output2`,
//! which maps a multicast destination to its 33:33 address and hands anything else to
//! Neighbour Discovery.
//!
//! iptables rules see IPv4 only (as on Linux, where ip6tables is a separate table set):
//! the hooks are in the path trace, and no rule of the node applies to IPv6 packets.
//!
//! IPv6 routers never fragment (`ip6_forward` answers Packet Too Big); a source fragments
//! what it sends larger than the path MTU (`ip6_fragment`): the headers that must stay
//! unfragmented (the fixed header, Hop-by-Hop, Routing) in front of every fragment, then a
//! Fragment header with a random non-zero 32-bit identification (`ipv6_select_ident`, which
//! is `get_random_u32_above(0)` since Linux 6.x), then at most
//! `(mtu − unfragmentable − 8) & ~7` bytes: a 2000-byte ping at MTU 1500 leaves as 1448 + 560
//! bytes, as the real kernel sends it. `Ip6FragOKs` counts the packets, `Ip6FragCreates` the
//! fragments.

use std::net::Ipv6Addr;

use crate::ctx::NetCtx;
use crate::dev::{NetXmit, eth_output_type};
use crate::ip::output::{LOOPBACK, OutputError};
use crate::ipv6::ndisc::Ndisc;
use crate::neigh::neigh_output;
use crate::netfilter::Hook;
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::kfree_skb_reason;
use crate::wire::ipv6::{
    FRAG_HEADER_LEN, HBH_ROUTER_ALERT_LEN, Ipv6FragRepr, emit_hbh_router_alert, multicast_mac,
};
use crate::wire::{EtherType, EthernetAddress, IpProtocol, Ipv6Packet, Ipv6Repr};

/// A route chosen for output (`struct rt6_info`'s essentials).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dst6 {
    /// Output interface ([`LOOPBACK`] for one of the node's own addresses).
    pub dev: usize,
    /// Next hop: the gateway, or the destination on-link.
    pub nexthop: Ipv6Addr,
    /// Path MTU.
    pub mtu: u32,
}

/// What an upper layer asks of IPv6 for one packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ip6Send {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// The payload's protocol.
    pub next_header: IpProtocol,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class (DSCP and ECN).
    pub tclass: u8,
    /// Flow label (20 bits).
    pub flow_label: u32,
}

/// `ip6_route_output`: the route to `dst`, out of `oif` if given (required for link-local
/// and multicast destinations), with the path MTU learned for `dst` if one is current at
/// `now`.
pub fn ip6_route_output(
    n: &mut Node,
    dst: Ipv6Addr,
    oif: Option<usize>,
    now: sim_core::SimTime,
) -> Result<Dst6, OutputError> {
    if n.fib6.is_local(dst) {
        return Ok(Dst6 {
            dev: LOOPBACK,
            nexthop: dst,
            mtu: 65536,
        });
    }
    match n.fib6.lookup(dst, oif.map(|d| d as u32)) {
        Some(r) => {
            let dev = r.dev as usize;
            let mtu = n.devs[dev].mtu;
            Ok(Dst6 {
                dev,
                nexthop: r.nexthop,
                mtu: n.fib6.pmtu(dst, now).map_or(mtu, |p| p.min(mtu)),
            })
        }
        None => {
            n.snmp6.ip6.Ip6OutNoRoutes += 1;
            Err(OutputError::NetUnreach)
        }
    }
}

/// The flow label Linux gives a packet of a socket without its own label when
/// `auto_flowlabels` is on (`ip6_make_flowlabel`): the flow's hash (seeded per node, as the
/// kernel's `hashrnd` is per boot), rotated by 16 bits, its low 20 bits.
pub fn ip6_make_flowlabel(n: &Node, src: Ipv6Addr, dst: Ipv6Addr, proto: u8, ports: u32) -> u32 {
    if !matches!(n.sysctl.ipv6_auto_flowlabels, 1 | 3) {
        return 0;
    }
    let x = n.ip_ident_key.rotate_left(17)
        ^ (src.to_bits() as u64)
        ^ ((src.to_bits() >> 64) as u64).rotate_left(7)
        ^ (dst.to_bits() as u64).rotate_left(13)
        ^ ((dst.to_bits() >> 64) as u64).rotate_left(29)
        ^ (u64::from(proto) << 40)
        ^ u64::from(ports);
    let hash = crate::ip::output::mix64(x) as u32;
    hash.rotate_left(16) & 0x000f_ffff
}

/// `ip6_xmit`: pushes the IPv6 header in front of `skb` (the upper-layer header and
/// payload) and sends it along the output path.
pub fn ip6_xmit(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    mut skb: Skb,
    send: Ip6Send,
    dst: Dst6,
) -> NetXmit {
    let repr = Ipv6Repr {
        src_addr: send.src,
        dst_addr: send.dst,
        next_header: send.next_header,
        payload_len: skb.len(),
        hop_limit: send.hop_limit,
        traffic_class: send.tclass,
        flow_label: send.flow_label,
    };
    repr.emit(&mut Ipv6Packet::new_unchecked(skb.push(repr.buffer_len())));
    skb.priority = crate::qdisc::rt_tos2priority(send.tclass);
    note!(cx, skb, "ip6_xmit");
    count_out(n, dst.dev, &skb);
    ip6_local_out(n, cx, skb, dst)
}

/// `ndisc_send_skb` / `mld_sendpack`: an ICMPv6 message of the kernel's own (`skb` holds
/// it) from `src` to `dst` straight out of `dev`: flow label 0, traffic class 0, the given
/// hop limit, and for MLD a Hop-by-Hop header with a Router Alert.
#[allow(clippy::too_many_arguments)]
pub(crate) fn ip6_send_kernel(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    skb: Skb,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    router_alert: bool,
) -> NetXmit {
    let skb = push_kernel_header(n, dev, skb, src, dst, hop_limit, router_alert);
    let d = Dst6 {
        dev,
        nexthop: dst,
        mtu: n.devs[dev].mtu,
    };
    ip6_local_out(n, cx, skb, d)
}

/// [`ip6_send_kernel`] of a Neighbour Solicitation probing a known neighbour: straight to
/// its cached hardware address `ha` (hop limit 255).
pub(crate) fn ip6_send_kernel_to(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    skb: Skb,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ha: EthernetAddress,
) -> NetXmit {
    let mut skb = push_kernel_header(n, dev, skb, src, dst, 255, false);
    for f in ["ip6_local_out", Hook::LocalOut.trace_name(), "ip6_output"] {
        note!(cx, skb, f);
    }
    note!(cx, skb, Hook::PostRouting.trace_name());
    note!(cx, skb, "ip6_finish_output2");
    let len = skb.len() as u64;
    n.snmp6.ip6.Ip6OutOctets += len;
    n.snmp6.ip6.Ip6OutTransmits += 1;
    if let Some(idev) = n.devs[dev].inet6.as_deref_mut() {
        idev.stats.ip6.Ip6OutOctets += len;
        idev.stats.ip6.Ip6OutTransmits += 1;
    }
    eth_output_type(n, cx, dev, ha, EtherType::Ipv6, skb)
}

fn push_kernel_header(
    n: &mut Node,
    dev: usize,
    mut skb: Skb,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
    router_alert: bool,
) -> Skb {
    let mut next_header = IpProtocol::Icmpv6;
    if router_alert {
        emit_hbh_router_alert(skb.push(HBH_ROUTER_ALERT_LEN), IpProtocol::Icmpv6);
        next_header = IpProtocol::HopByHop;
    }
    let repr = Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header,
        payload_len: skb.len(),
        hop_limit,
        traffic_class: 0,
        flow_label: 0,
    };
    repr.emit(&mut Ipv6Packet::new_unchecked(skb.push(repr.buffer_len())));
    count_out(n, dev, &skb);
    skb
}

/// `Ip6OutRequests` and the ICMPv6 message counters of a packet leaving (node and
/// interface).
fn count_out(n: &mut Node, dev: usize, skb: &Skb) {
    n.snmp6.ip6.Ip6OutRequests += 1;
    if let Some(idev) = n.devs.get_mut(dev).and_then(|d| d.inet6.as_deref_mut()) {
        idev.stats.ip6.Ip6OutRequests += 1;
    }
    // ICMPv6 messages: count by type (icmp6_send, ndisc_send_skb, mld_sendpack).
    let data = skb.data();
    let (proto, off) = match data.get(6) {
        Some(0) => (data.get(40).copied(), 48),
        Some(&p) => (Some(p), 40),
        None => (None, 40),
    };
    if proto == Some(58)
        && let Some(&t) = data.get(off)
    {
        n.snmp6.icmp6.Icmp6OutMsgs += 1;
        n.snmp6.icmp6.count_out(t);
        if let Some(idev) = n.devs.get_mut(dev).and_then(|d| d.inet6.as_deref_mut()) {
            idev.stats.icmp6.Icmp6OutMsgs += 1;
            idev.stats.icmp6.count_out(t);
        }
    }
}

/// `ip6_local_out` → `nf_hook(LOCAL_OUT)` → `dst_output`.
pub(crate) fn ip6_local_out(n: &mut Node, cx: &mut NetCtx<'_>, mut skb: Skb, dst: Dst6) -> NetXmit {
    note!(cx, skb, "ip6_local_out");
    note!(cx, skb, Hook::LocalOut.trace_name());
    ip6_output(n, cx, skb, dst)
}

/// `ip6_output` → `nf_hook(POST_ROUTING)` → `ip6_finish_output`.
pub(crate) fn ip6_output(n: &mut Node, cx: &mut NetCtx<'_>, mut skb: Skb, dst: Dst6) -> NetXmit {
    note!(cx, skb, "ip6_output");
    note!(cx, skb, Hook::PostRouting.trace_name());
    note!(cx, skb, "ip6_finish_output");
    if skb.len() > dst.mtu as usize && !skb.is_gso() {
        return ip6_fragment(n, cx, skb, dst);
    }
    ip6_finish_output2(n, cx, skb, dst)
}

/// `ip6_fragment`: `skb` (a whole IPv6 packet) as fragments that fit `dst.mtu`, each sent
/// by `ip6_finish_output2`.
fn ip6_fragment(n: &mut Node, cx: &mut NetCtx<'_>, mut skb: Skb, dst: Dst6) -> NetXmit {
    note!(cx, skb, "ip6_fragment");
    let data = skb.data();
    // ip6_find_1stfragopt: the fixed header, then Hop-by-Hop and Routing (with the
    // Destination Options before a Routing header) stay in front of every fragment.
    let (mut unfrag, mut nh_at) = (40usize, 6usize);
    loop {
        let nh = IpProtocol::from(data[nh_at]);
        let routing_follows = nh == IpProtocol::Ipv6Opts
            && data.get(unfrag).map(|&b| IpProtocol::from(b)) == Some(IpProtocol::Ipv6Route);
        if !(nh == IpProtocol::HopByHop || nh == IpProtocol::Ipv6Route || routing_follows) {
            break;
        }
        let Some(&l) = data.get(unfrag + 1) else {
            break;
        };
        nh_at = unfrag;
        unfrag += (usize::from(l) + 1) * 8;
    }
    let mtu = dst.mtu as usize;
    if mtu < unfrag + 8 + 8 || unfrag > data.len() {
        n.snmp6.ip6.Ip6FragFails += 1;
        kfree_skb_reason(n, cx, dst.dev, "ip6_fragment(too_small)", skb);
        return NetXmit::Drop;
    }
    let frag_size = (mtu - unfrag - FRAG_HEADER_LEN) & !7;
    let next_header = IpProtocol::from(data[nh_at]);
    let ident = loop {
        let v = n.rng.next_u32();
        if v != 0 {
            break v;
        }
    };
    let (head, body) = (data[..unfrag].to_vec(), data[unfrag..].to_vec());
    let mut verdict = NetXmit::Success;
    let mut offset = 0usize;
    while offset < body.len() {
        let len = frag_size.min(body.len() - offset);
        let more = offset + len < body.len();
        let mut frag = cx.shared.pool.alloc(unfrag + FRAG_HEADER_LEN + len);
        let buf = frag.put(unfrag + FRAG_HEADER_LEN + len);
        buf[..unfrag].copy_from_slice(&head);
        buf[nh_at] = u8::from(IpProtocol::Ipv6Frag);
        let payload_len = (unfrag - 40 + FRAG_HEADER_LEN + len) as u16;
        buf[4..6].copy_from_slice(&payload_len.to_be_bytes());
        Ipv6FragRepr {
            next_header,
            offset: (offset / 8) as u16,
            more_frags: more,
            ident,
        }
        .emit(&mut buf[unfrag..unfrag + FRAG_HEADER_LEN]);
        buf[unfrag + FRAG_HEADER_LEN..].copy_from_slice(&body[offset..offset + len]);
        frag.priority = skb.priority;
        frag.mark = skb.mark;
        frag.hash = skb.hash;
        note!(cx, frag, "ip6_fragment");
        n.snmp6.ip6.Ip6FragCreates += 1;
        if let Some(idev) = n.devs.get_mut(dst.dev).and_then(|d| d.inet6.as_deref_mut()) {
            idev.stats.ip6.Ip6FragCreates += 1;
        }
        if ip6_finish_output2(n, cx, frag, dst) == NetXmit::Drop {
            verdict = NetXmit::Drop;
        }
        offset += len;
    }
    n.snmp6.ip6.Ip6FragOKs += 1;
    if let Some(idev) = n.devs.get_mut(dst.dev).and_then(|d| d.inet6.as_deref_mut()) {
        idev.stats.ip6.Ip6FragOKs += 1;
    }
    crate::sock::kfree_skb(n, cx, skb);
    verdict
}

/// `ip6_finish_output2`: multicast to its group address; our own address back in through
/// `lo`; anything else through the neighbour entry of the next hop.
pub(crate) fn ip6_finish_output2(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    mut skb: Skb,
    dst: Dst6,
) -> NetXmit {
    note!(cx, skb, "ip6_finish_output2");
    let len = skb.len() as u64;
    n.snmp6.ip6.Ip6OutOctets += len;
    n.snmp6.ip6.Ip6OutTransmits += 1;
    if dst.dev == LOOPBACK {
        for f in ["dev_queue_xmit", "loopback_xmit", "netif_rx"] {
            note!(cx, skb, f);
        }
        crate::ipv6::input::ipv6_rcv(n, cx, LOOPBACK, skb);
        return NetXmit::Success;
    }
    if let Some(idev) = n.devs[dst.dev].inet6.as_deref_mut() {
        idev.stats.ip6.Ip6OutOctets += len;
        idev.stats.ip6.Ip6OutTransmits += 1;
    }
    if dst.nexthop.is_multicast() {
        n.snmp6.ip6.Ip6OutMcastPkts += 1;
        n.snmp6.ip6.Ip6OutMcastOctets += len;
        if let Some(idev) = n.devs[dst.dev].inet6.as_deref_mut() {
            idev.stats.ip6.Ip6OutMcastPkts += 1;
            idev.stats.ip6.Ip6OutMcastOctets += len;
        }
        if !n.devs[dst.dev].arp() {
            // A device without a header (tun): the neighbour is NUD_NOARP, its output
            // neigh_direct_output.
            note!(cx, skb, "neigh_direct_output");
            return crate::dev::dev_queue_xmit(n, cx, dst.dev, skb);
        }
        note!(cx, skb, "neigh_hh_output");
        return eth_output_type(
            n,
            cx,
            dst.dev,
            multicast_mac(dst.nexthop),
            EtherType::Ipv6,
            skb,
        );
    }
    neigh_output::<Ndisc>(n, cx, dst.dev, dst.nexthop, skb)
}
