//! `REJECT`'s replies (`nf_reject_ipv4.c`): an ICMP destination unreachable through
//! `icmp_send` (`nf_send_unreach`), or a TCP RST built from the offending segment
//! (`nf_send_reset`) and sent down `ip_local_out` from the packet's destination address, as
//! the kernel spoofs it even on a router.

use crate::ctx::NetCtx;
use crate::ip::icmp::icmp_send;
use crate::ip::output::{ip_local_out, ip_route_output_flow};
use crate::netfilter::target::RejectWith;
use crate::node::Node;
use crate::skb::Skb;
use crate::wire::{
    DstUnreachable, Icmpv4Repr, IpProtocol, Ipv4Packet, Ipv4Repr, TcpFlags, TcpOptions, TcpPacket,
    TcpRepr, UdpPacket,
};

/// `reject_tg`: the reply `with` asks for, about the IPv4 packet in `skb`.
pub(crate) fn reject_tg(n: &mut Node, cx: &mut NetCtx<'_>, skb: &Skb, with: RejectWith) {
    match with.icmp_code() {
        Some(code) => nf_send_unreach(n, cx, skb, code),
        None => nf_send_reset(n, cx, skb),
    }
}

/// Whether the transport checksum of the packet holds, where REJECT checks it
/// (`nf_reject_verify_csum` + `nf_ip_checksum`): TCP and UDP (a UDP checksum of 0 means
/// none); other protocols are not checked. A checksum the receiving NIC verified is taken
/// as good.
fn l4_csum_ok(skb: &Skb, p: &Ipv4Packet<&[u8]>) -> bool {
    if skb.csum_unnecessary || skb.l4_csum_good {
        return true;
    }
    let (src, dst) = (p.src_addr(), p.dst_addr());
    match p.protocol() {
        IpProtocol::Tcp => {
            TcpPacket::new_checked(p.payload()).is_ok_and(|t| t.verify_checksum(src, dst))
        }
        IpProtocol::Udp => UdpPacket::new_checked(p.payload())
            .is_ok_and(|u| u.checksum() == 0 || u.verify_checksum(src, dst)),
        _ => true,
    }
}

/// `nf_send_unreach`: ICMP destination unreachable with `code`, for the first fragment only
/// and only if the transport checksum is good.
fn nf_send_unreach(n: &mut Node, cx: &mut NetCtx<'_>, skb: &Skb, code: u8) {
    let Ok(p) = Ipv4Packet::new_checked(skb.data()) else {
        return;
    };
    if p.frag_offset() != 0 || !l4_csum_ok(skb, &p) {
        return;
    }
    icmp_send(
        n,
        cx,
        skb,
        Icmpv4Repr::DstUnreachable {
            reason: DstUnreachable::from(code),
            next_hop_mtu: 0,
            data: &[],
        },
    );
}

/// `nf_send_reset`: a RST for a TCP segment that is not itself a RST, from its destination
/// to its source: with the segment's ACK number as sequence if it had one, else ACK of
/// everything it occupied; window 0, no options; IP ID 0, DF, TOS 0, the default TTL.
fn nf_send_reset(n: &mut Node, cx: &mut NetCtx<'_>, skb: &Skb) {
    let Ok(p) = Ipv4Packet::new_checked(skb.data()) else {
        return;
    };
    if p.frag_offset() != 0 || p.protocol() != IpProtocol::Tcp {
        return;
    }
    let Ok(t) = TcpPacket::new_checked(p.payload()) else {
        return;
    };
    let flags = t.flags();
    if flags.contains(TcpFlags::RST) || !l4_csum_ok(skb, &p) {
        return;
    }
    let (osrc, odst) = (p.src_addr(), p.dst_addr());
    let (seq, ack, rflags) = if flags.contains(TcpFlags::ACK) {
        (t.ack_number(), 0, TcpFlags::RST)
    } else {
        let data = p.payload().len() - usize::from(t.header_len());
        let occupied = u32::from(flags.contains(TcpFlags::SYN))
            + u32::from(flags.contains(TcpFlags::FIN))
            + data as u32;
        (
            0,
            t.seq_number().wrapping_add(occupied),
            TcpFlags::RST | TcpFlags::ACK,
        )
    };
    let rst = TcpRepr {
        src_port: t.dst_port(),
        dst_port: t.src_port(),
        seq,
        ack,
        flags: rflags,
        window: 0,
        urgent: 0,
        options: TcpOptions::default(),
    };
    // ip_route_me_harder: routed to the original source like any local packet.
    let Ok(route) = ip_route_output_flow(n, osrc) else {
        return;
    };
    let ip = Ipv4Repr {
        src_addr: odst,
        dst_addr: osrc,
        protocol: IpProtocol::Tcp,
        payload_len: rst.header_len(),
        ttl: n.default_ttl,
        dscp_ecn: 0,
        ident: 0,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    let len = ip.buffer_len() + rst.header_len();
    let mut out = cx.shared.pool.alloc(len);
    let buf = out.put(len);
    rst.emit(
        &mut TcpPacket::new_unchecked(&mut buf[ip.buffer_len()..]),
        odst,
        osrc,
        0,
    );
    ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    out.l4_csum_good = true;
    // IP4_REPLY_MARK: the old mark only with fwmark_reflect (off by default).
    note!(cx, out, "nf_send_reset");
    n.snmp.ip.OutRequests += 1;
    let _ = ip_local_out(n, cx, out, route);
}
