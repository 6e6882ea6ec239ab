//! Forwarding on routers: `ip_forward` (TTL check and decrement, route, DF and MTU) →
//! `nf_hook(FORWARD)` → `ip_forward_finish` → `dst_output` → `ip_output`.

use crate::ctx::NetCtx;
use crate::ip::icmp::icmp_send;
use crate::ip::output::Dst;
use crate::ip::output::{ip_output, ip_route_output_flow};
use crate::netfilter::Hook;
use crate::netfilter::hook::{NfVerdict, nf_hook};
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::kfree_skb_reason;
use crate::wire::{DstUnreachable, Icmpv4Repr, Ipv4Packet, Ipv4Repr, TimeExceeded};

/// `ip_forward`.
#[allow(clippy::manual_let_else)]
pub(crate) fn ip_forward(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    mut skb: Skb,
    repr: Ipv4Repr,
) {
    note!(cx, skb, "ip_forward");
    if repr.ttl <= 1 {
        // too_many_hops: counted as a header error, as ip_forward does.
        n.snmp.ip.InHdrErrors += 1;
        icmp_send(
            n,
            cx,
            &skb,
            Icmpv4Repr::TimeExceeded {
                reason: TimeExceeded::TtlExpired,
                data: &[],
            },
        );
        kfree_skb_reason(n, cx, dev, "ip_forward(ttl_exceeded)", skb);
        return;
    }
    let dst = match ip_route_output_flow(n, repr.dst_addr) {
        Ok(d) => d,
        Err(_) => {
            icmp_send(
                n,
                cx,
                &skb,
                Icmpv4Repr::DstUnreachable {
                    reason: DstUnreachable::NetUnreachable,
                    next_hop_mtu: 0,
                    data: &[],
                },
            );
            kfree_skb_reason(n, cx, dev, "ip_forward(no_route)", skb);
            return;
        }
    };
    if repr.dont_frag && skb.len() > dst.mtu as usize {
        n.snmp.ip.FragFails += 1;
        icmp_send(
            n,
            cx,
            &skb,
            Icmpv4Repr::DstUnreachable {
                reason: DstUnreachable::FragRequired,
                next_hop_mtu: dst.mtu.min(u32::from(u16::MAX)) as u16,
                data: &[],
            },
        );
        kfree_skb_reason(n, cx, dev, "ip_forward(frag_needed)", skb);
        return;
    }
    // ip_decrease_ttl: TTL - 1 with an incremental checksum update.
    // (The TTL and the checksum lie in the first 20 bytes, whatever the options.)
    Ipv4Packet::new_unchecked(skb.head_mut(20)).decrement_ttl();
    note!(cx, skb, Hook::Forward.trace_name());
    if nf_hook(n, cx, Hook::Forward, &mut skb, Some(dev), Some(dst.dev)) == NfVerdict::Drop {
        kfree_skb_reason(n, cx, dev, "nf_drop(FORWARD)", skb);
        return;
    }
    ip_forward_finish(n, cx, skb, dst);
}

/// `ip_forward_finish` → `dst_output`.
fn ip_forward_finish(n: &mut Node, cx: &mut NetCtx<'_>, mut skb: Skb, dst: Dst) {
    note!(cx, skb, "ip_forward_finish");
    n.snmp.ip.ForwDatagrams += 1;
    note!(cx, skb, "dst_output");
    // A forwarded packet has no local sender to tell of a drop.
    let _ = ip_output(n, cx, skb, dst);
}
