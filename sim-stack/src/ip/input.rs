//! The IPv4 receive path: `ip_rcv` (header checks) → `nf_hook(PRE_ROUTING)` →
//! `ip_rcv_finish` (route input) → `ip_local_deliver` (reassembly) → `nf_hook(LOCAL_IN)` →
//! `ip_local_deliver_finish` → the protocol handler; or `ip_forward` on a router.

use crate::ctx::NetCtx;
use crate::ip::forward::ip_forward;
use crate::ip::frag::ip_defrag;
use crate::ip::icmp::{icmp_rcv, icmp_send};
use crate::netfilter::Hook;
use crate::netfilter::hook::{NfVerdict, nf_hook};
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::kfree_skb_reason;
use crate::sock::udp::udp_rcv;
use crate::tcp::input::tcp_v4_rcv;
use crate::wire::{Error as WireError, IpProtocol, Ipv4Packet, Ipv4Repr};

/// `ip_rcv`: validate the header, then `PRE_ROUTING` and `ip_rcv_finish`.
pub(crate) fn ip_rcv(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, mut skb: Skb, _host: bool) {
    note!(cx, skb, "ip_rcv");
    n.snmp.ip.InReceives += 1;
    let parsed = Ipv4Packet::new_checked(skb.data())
        .and_then(|p| Ipv4Repr::parse(&p).map(|r| (r, p.total_len())));
    let (repr, total) = match parsed {
        Ok(x) => x,
        Err(e) => {
            let why = match e {
                WireError::Truncated => {
                    n.snmp.ip.InTruncatedPkts += 1;
                    "ip_rcv(truncated)"
                }
                WireError::BadChecksum => {
                    n.snmp.ip.InCsumErrors += 1;
                    n.snmp.ip.InHdrErrors += 1;
                    "ip_rcv(bad_checksum)"
                }
                _ => {
                    n.snmp.ip.InHdrErrors += 1;
                    "ip_rcv(bad_header)"
                }
            };
            kfree_skb_reason(n, cx, dev, why, skb);
            return;
        }
    };
    // Strip Ethernet padding beyond the IP total length (pskb_trim_rcsum).
    skb.trim(usize::from(total));
    note!(cx, skb, Hook::PreRouting.trace_name());
    if n.netfilter.active {
        ip_rcv_netfilter(n, cx, dev, skb, repr);
        return;
    }
    ip_rcv_finish(n, cx, dev, skb, repr);
}

/// `ip_rcv_finish`: route input, to the node itself or to be forwarded.
#[inline(always)]
fn ip_rcv_finish(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, mut skb: Skb, repr: Ipv4Repr) {
    note!(cx, skb, "ip_rcv_finish");
    // The local table holds every interface's address; a packet to the receiving
    // interface's own (the usual case) needs no lookup in it.
    let to_dev = n
        .devs
        .get(dev)
        .and_then(|d| d.addr)
        .is_some_and(|c| c.address() == repr.dst_addr);
    if to_dev || n.fib.is_local(repr.dst_addr) {
        ip_local_deliver(n, cx, dev, skb, repr);
    } else if n.forwarding {
        ip_forward(n, cx, dev, skb, repr);
    } else {
        n.snmp.ip.InAddrErrors += 1;
        kfree_skb_reason(n, cx, dev, "ip_rcv_finish(not_for_us)", skb);
    }
}

/// `PRE_ROUTING` on a node with rules: `nf_defrag_ipv4` (priority −400: with conntrack in the
/// namespace, fragments are reassembled first, so that conntrack and NAT see whole packets;
/// a forwarded one is fragmented again on output), the tables, and the header again (a DNAT
/// changes the destination the route is looked up for), then `ip_rcv_finish`. Out of line,
/// so that the path of nodes without rules stays as it was.
#[inline(never)]
fn ip_rcv_netfilter(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, skb: Skb, repr: Ipv4Repr) {
    let (mut skb, repr) =
        if n.netfilter.conntrack.is_some() && (repr.more_frags || repr.frag_offset != 0) {
            match ip_defrag(n, cx, dev, skb, repr) {
                Some(whole) => whole,
                None => return,
            }
        } else {
            (skb, repr)
        };
    if nf_hook(n, cx, Hook::PreRouting, &mut skb, Some(dev), None) == NfVerdict::Drop {
        kfree_skb_reason(n, cx, dev, "nf_drop(PRE_ROUTING)", skb);
        return;
    }
    let repr = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(skb.data())).unwrap_or(repr);
    ip_rcv_finish(n, cx, dev, skb, repr);
}

/// `LOCAL_IN` on a node with rules, the header again (SNAT at `LOCAL_IN` changes the source
/// the transport sees), then `ip_local_deliver_finish`.
#[inline(never)]
fn ip_local_in_netfilter(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    mut skb: Skb,
    repr: Ipv4Repr,
) {
    if nf_hook(n, cx, Hook::LocalIn, &mut skb, Some(dev), None) == NfVerdict::Drop {
        kfree_skb_reason(n, cx, dev, "nf_drop(LOCAL_IN)", skb);
        return;
    }
    let repr = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(skb.data())).unwrap_or(repr);
    ip_local_deliver_finish(n, cx, dev, skb, repr);
}

/// `ip_local_deliver`: reassemble fragments, run `LOCAL_IN`, and hand the payload to the
/// protocol (`ip_local_deliver_finish`).
pub(crate) fn ip_local_deliver(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    mut skb: Skb,
    repr: Ipv4Repr,
) {
    note!(cx, skb, "ip_local_deliver");
    let (mut skb, repr) = if repr.more_frags || repr.frag_offset != 0 {
        match ip_defrag(n, cx, dev, skb, repr) {
            Some(whole) => whole,
            None => return,
        }
    } else {
        (skb, repr)
    };
    note!(cx, skb, Hook::LocalIn.trace_name());
    if n.netfilter.active {
        ip_local_in_netfilter(n, cx, dev, skb, repr);
        return;
    }
    ip_local_deliver_finish(n, cx, dev, skb, repr);
}

/// `ip_local_deliver_finish`: the payload to its protocol.
#[inline(always)]
fn ip_local_deliver_finish(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    mut skb: Skb,
    repr: Ipv4Repr,
) {
    note!(cx, skb, "ip_local_deliver_finish");
    // raw_local_deliver: raw sockets of the protocol get their copies first.
    let raw = !n.socks.raw.is_empty()
        && crate::sock::raw::raw_local_deliver(n, cx, dev, skb.data(), repr.protocol.into());
    let hlen = Ipv4Packet::new_unchecked(skb.data()).header_len() as usize;
    // A copy of the header for the protocol's error replies (at most 60 bytes: no
    // allocation per packet).
    let mut header_buf = [0u8; 60];
    header_buf[..hlen].copy_from_slice(&skb.data()[..hlen]);
    let ip_header = &header_buf[..hlen];
    skb.pull(hlen);
    n.snmp.ip.InDelivers += 1;
    match repr.protocol {
        IpProtocol::Icmp => icmp_rcv(n, cx, dev, skb, repr, ip_header),
        IpProtocol::Udp => udp_rcv(n, cx, dev, skb, repr, ip_header),
        IpProtocol::Tcp => tcp_v4_rcv(n, cx, dev, skb, repr),
        // A protocol only raw sockets take: delivered, no protocol unreachable.
        _ if raw => crate::sock::kfree_skb(n, cx, skb),
        _ => {
            n.snmp.ip.InDelivers -= 1;
            n.snmp.ip.InUnknownProtos += 1;
            // ICMP protocol unreachable, as ip_local_deliver_finish does for a raw-less protocol.
            let mut whole = skb;
            whole.push(ip_header.len()).copy_from_slice(ip_header);
            icmp_send(
                n,
                cx,
                &whole,
                crate::wire::Icmpv4Repr::DstUnreachable {
                    reason: crate::wire::DstUnreachable::ProtoUnreachable,
                    next_hop_mtu: 0,
                    data: &[],
                },
            );
            kfree_skb_reason(
                n,
                cx,
                dev,
                "ip_local_deliver_finish(unknown_protocol)",
                whole,
            );
        }
    }
}
