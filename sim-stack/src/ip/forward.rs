//! Forwarding on routers: `ip_forward` (TTL check and decrement, route, DF and MTU) →
//! `nf_hook(FORWARD)` → `ip_forward_finish` → `dst_output` → `ip_output`.

use sim_core::Scheduler;

use crate::ip::netfilter::Hook;
use crate::ip::output::Dst;
use crate::skb::Skb;
use crate::wire::{DstUnreachable, Icmpv4Repr, Ipv4Packet, Ipv4Repr, TimeExceeded};
use crate::world::{Event, World};

impl World {
    /// `ip_forward`.
    #[allow(clippy::manual_let_else)]
    pub(crate) fn ip_forward(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        dev: usize,
        mut skb: Skb,
        repr: Ipv4Repr,
    ) {
        let now = s.now();
        note!(self, skb, "ip_forward");
        if repr.ttl <= 1 {
            // too_many_hops: counted as a header error, as ip_forward does.
            self.nodes[node].snmp.ip.InHdrErrors += 1;
            self.icmp_send(
                s,
                node,
                &skb,
                Icmpv4Repr::TimeExceeded {
                    reason: TimeExceeded::TtlExpired,
                    data: &[],
                },
            );
            self.drop_skb(now, node, dev, "ip_forward(ttl_exceeded)", skb);
            return;
        }
        let dst = match self.ip_route_output_flow(node, repr.dst_addr) {
            Ok(d) => d,
            Err(_) => {
                self.icmp_send(
                    s,
                    node,
                    &skb,
                    Icmpv4Repr::DstUnreachable {
                        reason: DstUnreachable::NetUnreachable,
                        next_hop_mtu: 0,
                        data: &[],
                    },
                );
                self.drop_skb(now, node, dev, "ip_forward(no_route)", skb);
                return;
            }
        };
        if repr.dont_frag && skb.len() > dst.mtu as usize {
            self.nodes[node].snmp.ip.FragFails += 1;
            self.icmp_send(
                s,
                node,
                &skb,
                Icmpv4Repr::DstUnreachable {
                    reason: DstUnreachable::FragRequired,
                    next_hop_mtu: dst.mtu.min(u32::from(u16::MAX)) as u16,
                    data: &[],
                },
            );
            self.drop_skb(now, node, dev, "ip_forward(frag_needed)", skb);
            return;
        }
        // ip_decrease_ttl: TTL - 1 with an incremental checksum update.
        // (The TTL and the checksum lie in the first 20 bytes, whatever the options.)
        Ipv4Packet::new_unchecked(skb.head_mut(20)).decrement_ttl();
        note!(self, skb, Hook::Forward.trace_name());
        if self.nf_hook_drops(node, Hook::Forward, &skb) {
            self.drop_skb(now, node, dev, "nf_drop(FORWARD)", skb);
            return;
        }
        self.ip_forward_finish(s, node, skb, dst);
    }

    /// `ip_forward_finish` → `dst_output`.
    fn ip_forward_finish(&mut self, s: &mut Scheduler<Event>, node: usize, mut skb: Skb, dst: Dst) {
        note!(self, skb, "ip_forward_finish");
        self.nodes[node].snmp.ip.ForwDatagrams += 1;
        note!(self, skb, "dst_output");
        self.ip_output(s, node, skb, dst);
    }
}
