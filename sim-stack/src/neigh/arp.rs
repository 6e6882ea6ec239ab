//! ARP (`net/ipv4/arp.c`): the IPv4 neighbour protocol over the neighbour core — its
//! solicitation (`arp_solicit`), its error report (`arp_error_report`) and the receive path
//! (`arp_rcv` → `arp_process`).

use std::net::Ipv4Addr;

use crate::ctx::NetCtx;
use crate::dev::{NetDevice, dev_queue_xmit};
use crate::event::Event;
use crate::ip::icmp::icmp_send;
use crate::neigh::{NeighParams, NeighProto, NeighTable, NudState, neigh_update};
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::{kfree_skb, kfree_skb_reason};
use crate::stats::NeighStats;
use crate::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr,
};
use crate::wire::{DstUnreachable, Icmpv4Repr};

/// The ARP table (`arp_tbl`).
#[derive(Debug)]
pub enum Arp {}

impl NeighProto for Arp {
    type Addr = Ipv4Addr;
    const ETHERTYPE: EtherType = EtherType::Ipv4;

    #[inline]
    fn table(d: &mut NetDevice) -> &mut NeighTable<Ipv4Addr> {
        &mut d.neigh
    }

    #[inline]
    fn params(n: &Node) -> NeighParams {
        n.sysctl.neigh
    }

    fn stats(n: &mut Node) -> &mut NeighStats {
        &mut n.neigh_stats
    }

    fn timer_event(node: u32, dev: usize, addr: Ipv4Addr, _id: u32) -> Event {
        Event::NeighTimer {
            node,
            dev: dev as u32,
            ip: addr,
        }
    }

    /// The limited broadcast and the interface's directed broadcast (`RTN_BROADCAST`).
    #[inline]
    fn fixed_ha(d: &NetDevice, addr: Ipv4Addr) -> Option<EthernetAddress> {
        (addr.is_broadcast() || d.addr.is_some_and(|c| c.broadcast() == Some(addr)))
            .then_some(EthernetAddress::BROADCAST)
    }

    fn packet_src(skb: &Skb) -> Option<Ipv4Addr> {
        crate::wire::Ipv4Packet::new_checked(skb.data())
            .ok()
            .map(|p| p.src_addr())
    }

    /// `arp_solicit`: the request's source is the queued packet's if it is ours, else the
    /// device's address.
    fn solicit(
        n: &mut Node,
        cx: &mut NetCtx<'_>,
        dev: usize,
        target: Ipv4Addr,
        unicast: Option<EthernetAddress>,
        queued_src: Option<Ipv4Addr>,
    ) {
        let saddr = queued_src
            .filter(|a| n.is_local_addr(*a))
            .unwrap_or_else(|| n.dev_addr(dev));
        let d = &n.devs[dev];
        let dst_mac = unicast.unwrap_or(EthernetAddress::BROADCAST);
        let arp = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: d.mac,
            source_protocol_addr: saddr,
            target_hardware_addr: EthernetAddress([0; 6]),
            target_protocol_addr: target,
        };
        n.neigh_stats.requests_sent += 1;
        let mut skb = cx.shared.pool.alloc(arp.buffer_len());
        arp.emit(&mut ArpPacket::new_unchecked(skb.put(arp.buffer_len())));
        note!(cx, skb, "arp_solicit");
        note!(cx, skb, "arp_send_dst");
        eth_send_arp(n, cx, dev, dst_mac, skb);
    }

    /// `arp_error_report` → `ipv4_link_failure`: a packet dropped by a FAILED neighbour
    /// entry makes its source an ICMP host unreachable (`icmp_send`, rate-limited as any
    /// error). A forwarded packet's source gets it over the wire; a packet of this host's
    /// own goes out and back in over loopback to its socket's error handler, as on Linux.
    fn error_report(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, skb: Skb) {
        icmp_send(
            n,
            cx,
            &skb,
            Icmpv4Repr::DstUnreachable {
                reason: DstUnreachable::HostUnreachable,
                next_hop_mtu: 0,
                data: &[],
            },
        );
        kfree_skb_reason(n, cx, dev, "neigh_failed", skb);
    }
}

/// Pushes the Ethernet header of an ARP packet and hands it to `dev_queue_xmit`.
fn eth_send_arp(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, dst: EthernetAddress, mut skb: Skb) {
    let src = n.devs[dev].mac;
    let eth = EthernetRepr {
        src_addr: src,
        dst_addr: dst,
        ethertype: EtherType::Arp,
    };
    eth.emit(&mut EthernetFrame::new_unchecked(
        skb.push(eth.buffer_len()),
    ));
    // ARP's own packets: arp_xmit ignores what the device says.
    let _ = dev_queue_xmit(n, cx, dev, skb);
}

/// `arp_rcv` → `arp_process`: an ARP packet arrived on `dev`.
pub(crate) fn arp_rcv(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, skb: Skb) {
    let parsed = ArpPacket::new_checked(skb.data()).and_then(|p| ArpRepr::parse(&p));
    let for_us_unicast = skb.pkt_type == crate::skb::PacketType::Host;
    kfree_skb(n, cx, skb);
    let Ok(arp) = parsed else {
        n.devs[dev].stats.rx_errors += 1;
        return;
    };
    n.neigh_stats.rcv_probes += 1;
    let my_ip = n.dev_addr(dev);
    let sip = arp.source_protocol_addr;
    let sha = arp.source_hardware_addr;
    if sip.is_unspecified() || sha.is_broadcast() {
        return; // DAD probes and nonsense are not learned from
    }
    // arp_process overrides a known address (the locktime rule is not modeled).
    match arp.operation {
        ArpOperation::Request if arp.target_protocol_addr == my_ip && !my_ip.is_unspecified() => {
            // neigh_event_ns: learn the sender as STALE, then answer.
            neigh_update::<Arp>(n, cx, dev, sip, Some(sha), NudState::Stale, true, true);
            let d = &n.devs[dev];
            let reply = ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: d.mac,
                source_protocol_addr: my_ip,
                target_hardware_addr: sha,
                target_protocol_addr: sip,
            };
            n.neigh_stats.replies_sent += 1;
            let mut out = cx.shared.pool.alloc(reply.buffer_len());
            reply.emit(&mut ArpPacket::new_unchecked(out.put(reply.buffer_len())));
            note!(cx, out, "arp_process");
            note!(cx, out, "arp_send_dst");
            eth_send_arp(n, cx, dev, sha, out);
        }
        ArpOperation::Reply => {
            // Only a unicast reply asserts reachability; no entry is created from it.
            let state = if for_us_unicast {
                NudState::Reachable
            } else {
                NudState::Stale
            };
            neigh_update::<Arp>(n, cx, dev, sip, Some(sha), state, false, true);
        }
        _ => {
            // A request for someone else: update an existing entry only.
            neigh_update::<Arp>(n, cx, dev, sip, Some(sha), NudState::Stale, false, true);
        }
    }
}
