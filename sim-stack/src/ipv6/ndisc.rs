//! Neighbour Discovery (`net/ipv6/ndisc.c`): IPv6's neighbour protocol over the same
//! neighbour core as ARP ([`crate::neigh`]), and the messages around it.
//!
//! * Resolution (`ndisc_solicit`): a Neighbour Solicitation to the target's solicited-node
//!   group with our link-layer address (SLLAO), from the queued packet's source if it is a
//!   valid address of this interface, else from the link-local; a probe of a known
//!   neighbour goes unicast to it.
//! * `ndisc_recv_ns`: a solicitation for one of our valid addresses (or a subnet-router
//!   anycast address of a forwarding interface) creates or refreshes a STALE entry for its
//!   sender (a multicast one only with an SLLAO), then the answer goes through that entry —
//!   which makes it DELAY, and a unicast probe follows 5 s later: the reference's NUD
//!   rounds. The answer (`ndisc_send_na`) comes from the target address, with R when
//!   forwarding, S, and O and the TLLAO only when the solicitation was multicast. A
//!   solicitation from `::` is another node's DAD: for a tentative address of ours, DAD
//!   fails (unless the nonce is our own); for a valid one, an NA to ff02::1.
//! * `ndisc_recv_na`: updates an existing entry (REACHABLE if solicited, else STALE; O lets
//!   a new address replace the known one); an NA for a tentative address fails DAD.
//! * Router Solicitations from hosts (`ndisc_send_rs`); a router learns a STALE entry from
//!   a solicitation with an SLLAO (`ndisc_recv_rs`). No router advertises here (no `radvd`):
//!   a received Router Advertisement is counted and not acted on.
//!
//! Every ND message leaves with hop limit 255, traffic class 0 and flow label 0, and is
//! dropped on receipt unless its hop limit is 255 (RFC 4861 §7.1).

use std::net::Ipv6Addr;

use crate::ctx::NetCtx;
use crate::dev::NetDevice;
use crate::event::Event;
use crate::ipv6::addrconf;
use crate::ipv6::icmp::icmp6_send;
use crate::ipv6::output::ip6_send_kernel;
use crate::neigh::{NeighParams, NeighProto, NeighTable, NudState, neigh_update};
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::kfree_skb_reason;
use crate::stats::NeighStats;
use crate::wire::icmpv6::{Icmpv6Packet, Icmpv6Repr, NdiscNeighborFlags, NdiscRepr};
use crate::wire::ipv6::{ALL_NODES, ALL_ROUTERS, multicast_mac, solicited_node};
use crate::wire::{EtherType, EthernetAddress, Ipv6Packet};

/// The Neighbour Discovery table (`nd_tbl`).
#[derive(Debug)]
pub enum Ndisc {}

impl NeighProto for Ndisc {
    type Addr = Ipv6Addr;
    const ETHERTYPE: EtherType = EtherType::Ipv6;

    #[inline]
    fn table(d: &mut NetDevice) -> &mut NeighTable<Ipv6Addr> {
        &mut d.ndisc
    }

    #[inline]
    fn params(n: &Node) -> NeighParams {
        n.sysctl.neigh6
    }

    fn stats(n: &mut Node) -> &mut NeighStats {
        &mut n.ndisc_stats
    }

    fn timer_event(node: u32, dev: usize, _addr: Ipv6Addr, id: u32) -> Event {
        Event::NdiscTimer {
            node,
            dev: dev as u32,
            id,
        }
    }

    /// A multicast group maps to its 33:33 address (`ndisc_mc_map`): `NUD_NOARP`.
    #[inline]
    fn fixed_ha(_d: &NetDevice, addr: Ipv6Addr) -> Option<EthernetAddress> {
        addr.is_multicast().then(|| multicast_mac(addr))
    }

    fn packet_src(skb: &Skb) -> Option<Ipv6Addr> {
        Ipv6Packet::new_checked(skb.data())
            .ok()
            .map(|p| p.src_addr())
    }

    /// `ndisc_solicit`.
    fn solicit(
        n: &mut Node,
        cx: &mut NetCtx<'_>,
        dev: usize,
        target: Ipv6Addr,
        unicast: Option<EthernetAddress>,
        queued_src: Option<Ipv6Addr>,
    ) {
        // The queued packet's source, if it is a valid address of this interface.
        let saddr = queued_src.filter(|a| {
            n.devs[dev]
                .inet6
                .as_deref()
                .and_then(|i| i.ifaddr(*a))
                .is_some_and(addrconf::Inet6Ifaddr::valid)
        });
        match unicast {
            Some(ha) => ndisc_send_ns_to(n, cx, dev, target, target, saddr, None, Some(ha)),
            None => ndisc_send_ns_to(
                n,
                cx,
                dev,
                target,
                solicited_node(target),
                saddr,
                None,
                None,
            ),
        }
    }

    /// `ndisc_error_report`: ICMPv6 address unreachable to the packet's source.
    fn error_report(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, skb: Skb) {
        icmp6_send(
            n,
            cx,
            dev,
            &skb,
            &Icmpv6Repr::DstUnreachable {
                code: crate::ipv6::icmp::ICMPV6_ADDR_UNREACH,
                data: &[],
            },
        );
        kfree_skb_reason(n, cx, dev, "neigh_failed", skb);
    }
}

/// `ndisc_send_ns`: a Neighbour Solicitation for `target` to `dst` (a solicited-node group,
/// or the target itself when probing), from `src` (`Some(::)` for DAD: then no SLLAO), or
/// from the interface's link-local when `None`; `nonce` for enhanced DAD.
pub(crate) fn ndisc_send_ns(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    target: Ipv6Addr,
    dst: Ipv6Addr,
    src: Ipv6Addr,
    nonce: Option<[u8; 6]>,
) {
    ndisc_send_ns_to(n, cx, dev, target, dst, Some(src), nonce, None);
}

#[allow(clippy::too_many_arguments)]
fn ndisc_send_ns_to(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    target: Ipv6Addr,
    dst: Ipv6Addr,
    src: Option<Ipv6Addr>,
    nonce: Option<[u8; 6]>,
    ha: Option<EthernetAddress>,
) {
    let Some(src) = src.or_else(|| n.devs[dev].inet6.as_deref().and_then(|i| i.lladdr())) else {
        return;
    };
    let lladdr = (!src.is_unspecified()).then_some(n.devs[dev].mac);
    let repr = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
        target,
        lladdr,
        nonce,
    });
    n.ndisc_stats.requests_sent += 1;
    ndisc_send_skb(n, cx, dev, &repr, src, dst, ha, "ndisc_send_ns");
}

/// `ndisc_send_na`: a Neighbour Advertisement of `target` to `dst`.
#[allow(clippy::too_many_arguments)]
fn ndisc_send_na(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    dst: Ipv6Addr,
    target: Ipv6Addr,
    router: bool,
    solicited: bool,
    override_: bool,
    inc_opt: bool,
) {
    // For an anycast target the source is chosen as for any packet to dst.
    let own = n.devs[dev]
        .inet6
        .as_deref()
        .is_some_and(|i| i.ifaddr(target).is_some());
    let src = if own {
        target
    } else {
        match addrconf::ipv6_dev_get_saddr(n, dev, dst) {
            Some(a) => a,
            None => return,
        }
    };
    let mut flags = NdiscNeighborFlags::NONE;
    for (on, flag) in [
        (router, NdiscNeighborFlags::ROUTER),
        (solicited, NdiscNeighborFlags::SOLICITED),
        (override_, NdiscNeighborFlags::OVERRIDE),
    ] {
        if on {
            flags = flags | flag;
        }
    }
    let repr = Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
        flags,
        target,
        lladdr: inc_opt.then_some(n.devs[dev].mac),
    });
    n.ndisc_stats.replies_sent += 1;
    ndisc_send_skb(n, cx, dev, &repr, src, dst, None, "ndisc_send_na");
}

/// An unsolicited NA for `addr` to all nodes (`ndisc_send_unsol_na`, with `ndisc_notify`).
pub(crate) fn ndisc_send_unsol_na(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, addr: Ipv6Addr) {
    let router = n.devs[dev]
        .inet6
        .as_deref()
        .is_some_and(|i| i.cnf.forwarding);
    ndisc_send_na(n, cx, dev, ALL_NODES, addr, router, false, true, true);
}

/// `ndisc_send_rs`: a Router Solicitation from `src` (the link-local) to ff02::2, with the
/// SLLAO — none from `::`, nor on a device without a link-layer address (`dev->addr_len`
/// 0: tun).
pub(crate) fn ndisc_send_rs(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, src: Ipv6Addr) {
    let send_sllao = n.devs[dev].arp() && !src.is_unspecified();
    let repr = Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit {
        lladdr: send_sllao.then_some(n.devs[dev].mac),
    });
    ndisc_send_skb(n, cx, dev, &repr, src, ALL_ROUTERS, None, "ndisc_send_rs");
}

/// `ndisc_send_skb`: builds the ND message and sends it on `dev` with hop limit 255
/// (through the neighbour entry of `dst`, or to `ha` when given: a probe's known address).
#[allow(clippy::too_many_arguments)]
fn ndisc_send_skb(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    repr: &Icmpv6Repr<'_>,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    ha: Option<EthernetAddress>,
    func: &'static str,
) {
    let len = repr.buffer_len();
    let mut skb = cx.shared.pool.alloc(len);
    repr.emit(src, dst, &mut Icmpv6Packet::new_unchecked(skb.put(len)));
    note!(cx, skb, func);
    note!(cx, skb, "ndisc_send_skb");
    match ha {
        Some(ha) => {
            let _ = crate::ipv6::output::ip6_send_kernel_to(n, cx, dev, skb, src, dst, ha);
        }
        None => {
            let _ = ip6_send_kernel(n, cx, dev, skb, src, dst, 255, false);
        }
    }
}

/// The ND message `msg` arrived on `dev` from `src` to `dst` with `hop_limit`
/// (`ndisc_rcv`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn ndisc_rcv(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    msg: &NdiscRepr<'_>,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: u8,
) {
    if hop_limit != 255 {
        return; // RFC 4861 §7.1.1: not from a neighbour
    }
    match *msg {
        NdiscRepr::NeighborSolicit {
            target,
            lladdr,
            nonce,
        } => ndisc_recv_ns(n, cx, dev, target, lladdr, nonce, src, dst),
        NdiscRepr::NeighborAdvert {
            flags,
            target,
            lladdr,
        } => ndisc_recv_na(n, cx, dev, flags, target, lladdr, dst),
        NdiscRepr::RouterSolicit { lladdr } => {
            // ndisc_recv_rs: only a router listens; an SLLAO teaches it the sender.
            let forwarding = n.devs[dev]
                .inet6
                .as_deref()
                .is_some_and(|i| i.cnf.forwarding);
            if forwarding && !src.is_unspecified() && lladdr.is_some() {
                neigh_update::<Ndisc>(n, cx, dev, src, lladdr, NudState::Stale, true, true);
            }
        }
        _ => {}
    }
}

#[allow(clippy::too_many_arguments)]
fn ndisc_recv_ns(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    target: Ipv6Addr,
    lladdr: Option<EthernetAddress>,
    nonce: Option<[u8; 6]>,
    src: Ipv6Addr,
    dst: Ipv6Addr,
) {
    if target.is_multicast() {
        return;
    }
    let dad = src.is_unspecified();
    if dad && (!is_solicited_node(dst) || lladdr.is_some()) {
        return;
    }
    let inc = dst.is_multicast();
    let Some(idev) = n.devs[dev].inet6.as_deref() else {
        return;
    };
    let forwarding = idev.cnf.forwarding;
    let own = idev.ifaddr(target).map(|a| (a.tentative, a.dad_nonce));
    let anycast = own.is_none() && idev.anycast.contains(&target);
    match own {
        Some((true, our_nonce)) => {
            if dad {
                if nonce.is_some() && nonce == our_nonce {
                    return; // our own solicitation looped back
                }
                addrconf::addrconf_dad_failure(n, cx, dev, target);
            }
            return;
        }
        Some((false, _)) => {}
        None if anycast => {}
        None => return,
    }
    if dad {
        ndisc_send_na(
            n,
            cx,
            dev,
            ALL_NODES,
            target,
            forwarding,
            false,
            own.is_some(),
            true,
        );
        return;
    }
    // rcv_probes_mcast / rcv_probes_ucast: solicitations for us, not DAD.
    n.ndisc_stats.rcv_probes += 1;
    if !inc || lladdr.is_some() {
        neigh_update::<Ndisc>(n, cx, dev, src, lladdr, NudState::Stale, true, true);
    }
    let known = n.devs[dev].ndisc.entries.contains_key(&src);
    if known {
        ndisc_send_na(
            n,
            cx,
            dev,
            src,
            target,
            forwarding,
            true,
            own.is_some() && inc,
            inc,
        );
    }
}

#[allow(clippy::too_many_arguments)]
fn ndisc_recv_na(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    flags: NdiscNeighborFlags,
    target: Ipv6Addr,
    lladdr: Option<EthernetAddress>,
    dst: Ipv6Addr,
) {
    let solicited = flags.contains(NdiscNeighborFlags::SOLICITED);
    if target.is_multicast() || (dst.is_multicast() && solicited) {
        return;
    }
    let Some(idev) = n.devs[dev].inet6.as_deref() else {
        return;
    };
    if let Some(a) = idev.ifaddr(target) {
        // Someone else has (or claims) this address: DAD fails if it is still tentative.
        if a.tentative {
            addrconf::addrconf_dad_failure(n, cx, dev, target);
        }
        return;
    }
    let Some(state) = n.devs[dev].ndisc.entries.get(&target).map(|e| e.state) else {
        return;
    };
    if state == NudState::Failed {
        return;
    }
    let new = if solicited {
        NudState::Reachable
    } else {
        NudState::Stale
    };
    let override_ = flags.contains(NdiscNeighborFlags::OVERRIDE);
    neigh_update::<Ndisc>(n, cx, dev, target, lladdr, new, false, override_);
}

/// Whether `a` is a solicited-node group (`ff02::1:ff00:0/104`).
fn is_solicited_node(a: Ipv6Addr) -> bool {
    let o = a.octets();
    o[..11] == [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0] && o[11] == 1 && o[12] == 0xff
}

/// An entry's timer fired (`neigh_timer_handler` of `nd_tbl`).
pub(crate) fn ndisc_timer(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, id: u32) {
    if let Some(addr) = n.devs[dev].ndisc.addr_of(id) {
        crate::neigh::neigh_timer_handler::<Ndisc>(n, cx, dev, addr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{HOST_MAC, HOST6, OneHost, PEER_MAC, PEER6};
    use crate::wire::icmpv6::Icmpv6Packet;
    use crate::wire::ipv6::link_local_eui64;
    use sim_core::SimDuration;

    fn echo(src: Ipv6Addr, dst: Ipv6Addr, hop_limit: u8) -> Vec<u8> {
        OneHost::icmp6_packet(
            src,
            dst,
            hop_limit,
            &Icmpv6Repr::EchoRequest {
                ident: 0x1234,
                seq_no: 7,
                data: b"abcdefgh",
            },
        )
    }

    /// Parses a sent IPv6 packet's ICMPv6 message (no extension headers).
    fn msg(p: &[u8]) -> (Ipv6Packet<&[u8]>, Icmpv6Repr<'_>) {
        let ip = Ipv6Packet::new_checked(p).expect("IPv6");
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let icmp = Icmpv6Packet::new_checked(&p[40..]).expect("ICMPv6");
        let m = Icmpv6Repr::parse(src, dst, &icmp).expect("valid ICMPv6");
        (ip, m)
    }

    fn settled() -> OneHost {
        let mut h = OneHost::dual(Default::default(), Default::default());
        h.advance(SimDuration::from_secs(3));
        let _ = h.take_ip6();
        h
    }

    /// An echo request from a neighbour the host does not know: the reply waits for
    /// resolution — an NS to the neighbour's solicited-node group, from the queued reply's
    /// source (the global address) with the SLLAO — and follows the NA at once, from the
    /// address the request was sent to, hop limit 64, with a flow label.
    #[test]
    fn an_echo_reply_resolves_its_neighbour_first() {
        let mut h = settled();
        h.inject_ip6(HOST_MAC, &echo(PEER6, HOST6, 64));
        h.advance(SimDuration::from_millis(1));
        let sent = h.take_ip6();
        assert_eq!(sent.len(), 2, "NS, then the reply");
        let (ip, m) = msg(&sent[0].2);
        assert_eq!(
            (
                ip.src_addr(),
                ip.dst_addr(),
                ip.hop_limit(),
                ip.flow_label()
            ),
            (HOST6, solicited_node(PEER6), 255, 0)
        );
        assert_eq!(sent[0].1, multicast_mac(solicited_node(PEER6)));
        assert_eq!(
            m,
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                target: PEER6,
                lladdr: Some(HOST_MAC),
                nonce: None
            })
        );
        let (ip, m) = msg(&sent[1].2);
        assert_eq!(sent[1].1, PEER_MAC);
        assert_eq!(
            (ip.src_addr(), ip.dst_addr(), ip.hop_limit()),
            (HOST6, PEER6, 64)
        );
        assert_ne!(ip.flow_label(), 0, "auto_flowlabels");
        assert_eq!(
            m,
            Icmpv6Repr::EchoReply {
                ident: 0x1234,
                seq_no: 7,
                data: b"abcdefgh"
            }
        );
        assert_eq!(
            h.n.devs[0].ndisc.entries.get(&PEER6).map(|e| e.state),
            Some(NudState::Reachable)
        );
        let s = &h.n.snmp6.icmp6;
        assert_eq!((s.in_of(128), s.out_of(129), s.in_of(136)), (1, 1, 1));
    }

    /// A multicast NS from a neighbour: answered with S and O and the TLLAO, from the target
    /// address; the sender's entry, learned STALE, goes DELAY as the answer uses it, and 5 s
    /// later (on the timer wheel) a unicast probe from the link-local confirms it — the
    /// reference's NUD round.
    #[test]
    fn a_solicitation_is_answered_and_its_sender_probed_five_seconds_later() {
        let mut h = settled();
        let ns = Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
            target: HOST6,
            lladdr: Some(PEER_MAC),
            nonce: None,
        });
        let group = solicited_node(HOST6);
        h.inject_ip6(
            multicast_mac(group),
            &OneHost::icmp6_packet(PEER6, group, 255, &ns),
        );
        let sent = h.take_ip6();
        assert_eq!(sent.len(), 0, "the NA is still on the wire");
        h.advance(SimDuration::from_millis(1));
        let sent = h.take_ip6();
        let (ip, m) = msg(&sent[0].2);
        assert_eq!(sent[0].1, PEER_MAC);
        assert_eq!(
            (ip.src_addr(), ip.dst_addr(), ip.hop_limit()),
            (HOST6, PEER6, 255)
        );
        assert_eq!(
            m,
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                flags: NdiscNeighborFlags::SOLICITED | NdiscNeighborFlags::OVERRIDE,
                target: HOST6,
                lladdr: Some(HOST_MAC)
            })
        );
        assert_eq!(
            h.n.devs[0].ndisc.entries.get(&PEER6).map(|e| e.state),
            Some(NudState::Delay)
        );
        h.advance(SimDuration::from_secs(6));
        let sent: Vec<_> = h
            .take_ip6()
            .into_iter()
            .filter(|(_, _, p)| {
                matches!(
                    msg(p).1,
                    Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit { .. })
                )
            })
            .collect();
        assert_eq!(sent.len(), 1, "one probe, answered");
        let (ip, m) = msg(&sent[0].2);
        assert_eq!(sent[0].1, PEER_MAC, "unicast to the cached address");
        assert_eq!(
            (ip.src_addr(), ip.dst_addr()),
            (link_local_eui64(HOST_MAC), PEER6)
        );
        assert!(
            matches!(m, Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit { target, lladdr: Some(_), .. }) if target == PEER6)
        );
        assert!(
            (5_000_000_000..5_300_000_000)
                .contains(&sent[0].0.as_nanos().saturating_sub(3_000_000_000))
        );
        assert_eq!(
            h.n.devs[0].ndisc.entries.get(&PEER6).map(|e| e.state),
            Some(NudState::Reachable)
        );
    }

    /// Nobody answers: three solicitations a second apart, then FAILED, and the queued
    /// reply's source — this host — gets an ICMPv6 address unreachable over loopback.
    #[test]
    fn an_unanswered_neighbour_fails_after_three_solicitations() {
        let mut h = settled();
        h.answer_nd = false;
        h.inject_ip6(HOST_MAC, &echo(PEER6, HOST6, 64));
        h.advance(SimDuration::from_secs(5));
        let sent = h.take_ip6();
        let ns: Vec<_> = sent
            .iter()
            .filter(|(_, _, p)| {
                matches!(
                    msg(p).1,
                    Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit { .. })
                )
            })
            .collect();
        assert_eq!(ns.len(), 3, "mcast_solicit");
        for w in ns.windows(2) {
            // retrans_time (1 s) on the timer wheel: 8-jiffy slots at this range.
            let gap = (w[1].0 - w[0].0).as_nanos();
            assert!((1_000_000_000..=1_036_000_000).contains(&gap), "{gap}");
        }
        assert_eq!(
            h.n.devs[0].ndisc.entries.get(&PEER6).map(|e| e.state),
            Some(NudState::Failed)
        );
        let s = &h.n.snmp6.icmp6;
        assert_eq!(
            (s.out_of(1), s.in_of(1)),
            (1, 1),
            "address unreachable, to itself"
        );
        assert_eq!(h.n.ndisc_stats.res_failed, 1);
    }
}
