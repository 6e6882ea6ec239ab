//! Raw IPv4 sockets (`net/ipv4/raw.c`): `socket(AF_INET, SOCK_RAW, protocol)`.
//!
//! **Sending** (`raw_sendmsg`): the destination is the call's address (or the connected
//! one), routed as any datagram (`ip_route_output_flow`). With `IP_HDRINCL` — always on
//! for `IPPROTO_RAW` (255), which `inet_create` sets — the caller's bytes are the whole IP
//! packet and `raw_send_hdrinc` leaves them as given but for what Linux rewrites:
//! * `tot_len` is set to the length sent, always;
//! * the header checksum is recomputed, always (a crafted bad IP checksum does not survive
//!   a raw socket; a bad TCP/UDP/ICMP checksum does: the kernel does not touch the payload);
//! * a source address of 0.0.0.0 becomes the route's source;
//! * an IP ID of 0 is chosen (`ip_select_ident` without a socket: 0 again with DF, the hashed
//!   per-destination generator without).
//!
//! It refuses a packet larger than the route's MTU (`EMSGSIZE`, no fragmenting: a crafted
//! packet leaves whole or not at all), shorter than an IP header (`EINVAL`), or whose
//! `ihl` points past its end (`EINVAL`, counted in `OutDiscards`); above 65535 bytes
//! `raw_sendmsg` says `EMSGSIZE` first. The packet then goes through the `LOCAL_OUT` hook
//! itself (`NF_HOOK(…, dst_output)`, not `ip_local_out`): a netfilter drop fails the call
//! with `EPERM` and counts `OutDiscards`. A packet sent this way does not count
//! `OutRequests` — only `__ip_local_out` does, which it skips; checked on Linux 6.18, where
//! three `IPPROTO_RAW` sends moved `OutTransmits` by 3 and `OutRequests` by 0.
//!
//! Without `IP_HDRINCL` the caller's bytes are the payload and the kernel builds the IP
//! header, protocol = the socket's, as for a UDP datagram (`ip_append_data` →
//! `ip_push_pending_frames` → `ip_send_skb`): its TTL, TOS, PMTU mode and `OutRequests`.
//!
//! **Receiving** (`raw_v4_input` from `ip_local_deliver_finish`): before the protocol's
//! handler runs, every raw socket of the packet's protocol whose bound address (if any) is
//! the packet's destination and whose connected peer (if any) is its source gets a copy of
//! the whole packet, IP header included (`raw_rcv`). An `IPPROTO_RAW` socket receives
//! nothing (no packet has protocol 255 on the wire here). A protocol that has no handler
//! but a raw socket is delivered (`InDelivers`), not answered with protocol unreachable.
//! The copy is charged to `sk_rmem_alloc`; beyond `SO_RCVBUF` it is dropped
//! (`sock_queue_rcv_skb`: the socket's drop count, as `ss` shows it; no SNMP counter).
//!
//! Not modeled: `ICMP_FILTER`, `IP_OPTIONS` on the socket, `SO_BINDTODEVICE`, the send
//! buffer (a raw send never waits for room), and `IP_RECVERR`'s error queue for raw sockets.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use crate::ctx::NetCtx;
use crate::dev::NetXmit;
use crate::ip::output::{
    Dst, IdentMode, IpSend, LocalOutDrop, ip_idents_reserve, ip_output, ip_route_output_flow,
    ip_send_skb, nf_local_out,
};
use crate::netfilter::Hook;
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::{Errno, SockCommon, SockId, Socket, kfree_skb, kfree_skb_reason, sk_wake};
use crate::wire::{IpProtocol, Ipv4Packet};

/// `IPPROTO_RAW`: a send-only raw socket whose packets carry their own IP header.
pub const IPPROTO_RAW: u8 = 255;

/// A raw socket.
#[derive(Debug)]
pub struct RawSock {
    /// Addresses, buffers, owner. `sport` holds the protocol (`inet_num`), as `ss -w`
    /// shows it in the port column.
    pub sk: SockCommon,
    /// The protocol it was opened for (`inet_num`).
    pub protocol: u8,
    /// `IP_HDRINCL`: the caller writes the IP header.
    pub hdrincl: bool,
    /// Packets received, whole (IP header included), in their skbs.
    pub rx: VecDeque<RawPacket>,
    /// `sk_drops`: copies dropped for want of receive buffer.
    pub drops: u32,
}

/// A packet queued on a raw socket.
#[derive(Debug)]
pub struct RawPacket {
    /// The sender.
    pub src: Ipv4Addr,
    /// The packet (IP header and payload); its `truesize` is the receive-buffer charge.
    pub skb: Skb,
}

/// `socket(AF_INET, SOCK_RAW, protocol)` owned by `app`: protocol 0 is
/// `EPROTONOSUPPORT` (`inet_create`), `IPPROTO_RAW` turns `IP_HDRINCL` on.
pub fn raw_socket(n: &mut Node, protocol: u8, app: Option<u32>) -> Result<SockId, Errno> {
    if protocol == 0 {
        return Err(Errno::ProtoNoSupport);
    }
    let mut sk = SockCommon::new(n.sysctl.wmem_default, n.sysctl.rmem_default);
    sk.app = app;
    sk.sport = u16::from(protocol);
    let id = n.socks.insert(Socket::Raw(RawSock {
        sk,
        protocol,
        hdrincl: protocol == IPPROTO_RAW,
        rx: VecDeque::new(),
        drops: 0,
    }));
    n.socks.raw.entry(protocol).or_default().push(id);
    Ok(id)
}

/// `raw_bind`: the local address packets must be addressed to (0.0.0.0: any), one of the
/// node's (`EADDRNOTAVAIL` otherwise, unless `IP_FREEBIND`); the port is ignored.
pub fn raw_bind(n: &mut Node, sock: SockId, addr: Ipv4Addr) -> Result<(), Errno> {
    let local = addr.is_unspecified() || n.fib.is_local(addr);
    let Some(Socket::Raw(r)) = n.socks.get_mut(sock) else {
        return Err(Errno::NotSock);
    };
    if !local && !r.sk.freebind {
        return Err(Errno::AddrNotAvail);
    }
    r.sk.saddr = addr;
    Ok(())
}

/// `ip4_datagram_connect` on a raw socket: the default destination, and the only source
/// it receives from.
pub fn raw_connect(n: &mut Node, sock: SockId, addr: Ipv4Addr) -> Result<(), Errno> {
    let Some(Socket::Raw(r)) = n.socks.get_mut(sock) else {
        return Err(Errno::NotSock);
    };
    r.sk.daddr = addr;
    Ok(())
}

/// `raw_sendmsg`: `data` to `to` (or the connected peer). Returns the bytes sent.
pub fn raw_sendmsg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    to: Option<Ipv4Addr>,
    data: &[u8],
) -> Result<usize, Errno> {
    let Some(Socket::Raw(r)) = n.socks.get(sock) else {
        return Err(Errno::NotSock);
    };
    if data.len() > 0xFFFF {
        return Err(Errno::MsgSize);
    }
    let daddr = match to {
        Some(a) => a,
        None if !r.sk.daddr.is_unspecified() => r.sk.daddr,
        None => return Err(Errno::DestAddrReq),
    };
    let (hdrincl, protocol, bound) = (r.hdrincl, r.protocol, r.sk.saddr);
    let (ttl, tos, priority, pmtudisc) = (r.sk.ttl, r.sk.tos, r.sk.priority, r.sk.pmtudisc);
    let Ok(mut dst) = ip_route_output_flow(n, daddr) else {
        return Err(Errno::NetUnreach);
    };
    if !bound.is_unspecified() {
        dst.src = bound;
    }
    if hdrincl {
        return raw_send_hdrinc(n, cx, sock, data, dst, priority).map(|()| data.len());
    }
    // ip_append_data → ip_push_pending_frames: the kernel's header, the socket's protocol.
    let len = data.len() + 20;
    if !pmtudisc.ignore_df() && len > dst.mtu as usize {
        return Err(Errno::MsgSize);
    }
    let mut skb = cx.shared.pool.alloc(data.len());
    skb.put_data(data);
    for f in [
        "sendto",
        "raw_sendmsg",
        "ip_route_output_flow",
        "ip_append_data",
    ] {
        note!(cx, skb, f);
    }
    let send = IpSend {
        src: dst.src,
        dst: daddr,
        protocol: IpProtocol::from(protocol),
        ttl: ttl.unwrap_or(n.default_ttl),
        tos,
        priority,
        dont_frag: pmtudisc.dont_frag(len, dst.mtu),
        ident: if pmtudisc.ignore_df() {
            IdentMode::Hashed
        } else {
            IdentMode::Unconnected
        },
    };
    if ip_send_skb(n, cx, skb, send, dst) == NetXmit::Drop {
        n.snmp.ip.OutDiscards += 1;
        return raw_xmit_err(n, sock);
    }
    Ok(data.len())
}

/// A qdisc drop: `ENOBUFS` with `IP_RECVERR`, else success (`raw_sendmsg` hides it).
fn raw_xmit_err(n: &mut Node, sock: SockId) -> Result<usize, Errno> {
    match n.socks.get(sock) {
        Some(s) if s.common().recverr => Err(Errno::NoBufs),
        _ => Ok(0),
    }
}

/// `raw_send_hdrinc`: `data` is the whole IP packet.
fn raw_send_hdrinc(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    data: &[u8],
    dst: Dst,
    priority: u32,
) -> Result<(), Errno> {
    let length = data.len();
    if length > dst.mtu as usize {
        return Err(Errno::MsgSize);
    }
    if length < 20 {
        return Err(Errno::Inval);
    }
    let iphlen = usize::from(data[0] & 0x0f) * 4;
    if iphlen > length {
        n.snmp.ip.OutDiscards += 1;
        return Err(Errno::Inval);
    }
    let mut skb = cx.shared.pool.alloc(length);
    skb.put_data(data);
    skb.priority = priority;
    for f in [
        "sendto",
        "raw_sendmsg",
        "ip_route_output_flow",
        "raw_send_hdrinc",
    ] {
        note!(cx, skb, f);
    }
    if iphlen >= 20 {
        let now = cx.now;
        let mut p = Ipv4Packet::new_unchecked(skb.data_mut());
        if p.src_addr().is_unspecified() {
            p.set_src_addr(dst.src);
        }
        p.set_total_len(length as u16);
        if p.ident() == 0 && !p.dont_frag() {
            let (src, daddr, proto) = (p.src_addr(), p.dst_addr(), p.protocol());
            let id = ip_idents_reserve(n, now, src, daddr, proto, 1);
            Ipv4Packet::new_unchecked(skb.data_mut()).set_ident(id);
        }
        // ip_fast_csum over ihl words: a header with options is summed whole.
        Ipv4Packet::new_unchecked(skb.data_mut()).set_checksum(0);
        let sum = crate::wire::checksum::data(&skb.data()[..iphlen]);
        Ipv4Packet::new_unchecked(skb.data_mut()).set_checksum(!sum);
        if data[9] == u8::from(IpProtocol::Icmp) && length >= iphlen + 8 {
            let ty = crate::wire::Icmpv4Message::from(data[iphlen]);
            crate::ip::icmp::icmp_out_count(n, ty);
        }
    }
    note!(cx, skb, Hook::LocalOut.trace_name());
    let dst = match nf_local_out(n, cx, &mut skb, dst) {
        Ok(d) => d,
        Err((why, dev)) => {
            kfree_skb_reason(n, cx, dev, why.reason(), skb);
            n.snmp.ip.OutDiscards += 1;
            return Err(match why {
                LocalOutDrop::Netfilter => Errno::Perm,
                LocalOutDrop::NoRoute => Errno::NetUnreach,
            });
        }
    };
    note!(cx, skb, "dst_output");
    if ip_output(n, cx, skb, dst) == NetXmit::Drop {
        n.snmp.ip.OutDiscards += 1;
        return raw_xmit_err(n, sock).map(|_| ());
    }
    Ok(())
}

/// `raw_local_deliver` → `raw_v4_input` → `raw_rcv`: copies `packet` (IP header and
/// payload, `protocol` its protocol) to every matching raw socket of `n`. Returns whether
/// one existed (so an unknown protocol is not answered with protocol unreachable).
pub(crate) fn raw_local_deliver(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    packet: &[u8],
    protocol: u8,
) -> bool {
    let Some(ids) = n.socks.raw.get(&protocol) else {
        return false;
    };
    let p = Ipv4Packet::new_unchecked(packet);
    let (src, dst) = (p.src_addr(), p.dst_addr());
    // raw_v4_match: the bound address and connected peer, when set, must match.
    let matched: Vec<SockId> = ids
        .iter()
        .copied()
        .filter(|&id| match n.socks.get(id) {
            Some(Socket::Raw(r)) => {
                (r.sk.saddr.is_unspecified() || r.sk.saddr == dst)
                    && (r.sk.daddr.is_unspecified() || r.sk.daddr == src)
            }
            _ => false,
        })
        .collect();
    let delivered = !matched.is_empty();
    for id in matched {
        let mut skb = cx.shared.pool.alloc_copy(packet);
        note!(cx, skb, "raw_v4_input");
        note!(cx, skb, "raw_rcv");
        let Some(Socket::Raw(r)) = n.socks.get_mut(id) else {
            continue;
        };
        // __sock_queue_rcv_skb: no room once sk_rmem_alloc reached sk_rcvbuf.
        if r.sk.rmem_alloc >= r.sk.rcvbuf {
            r.drops += 1;
            kfree_skb_reason(n, cx, dev, "raw_rcv(rcvbuf_full)", skb);
            continue;
        }
        r.sk.rmem_alloc += skb.truesize;
        r.rx.push_back(RawPacket { src, skb });
        sk_wake(n, cx, id);
    }
    delivered
}

/// `raw_recvmsg` into `buf` (`None`: discard) of up to `len` bytes: the next packet (IP
/// header included) and its sender; `EAGAIN` when none waits. With `peek` it stays queued.
/// Returns (bytes copied, whole length, sender).
pub fn raw_recvmsg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    buf: Option<&mut [u8]>,
    len: usize,
    peek: bool,
) -> Result<(usize, usize, Ipv4Addr), Errno> {
    let Some(Socket::Raw(r)) = n.socks.get_mut(sock) else {
        return Err(Errno::NotSock);
    };
    let Some(p) = r.rx.front() else {
        if let Some(e) = r.sk.err.take() {
            return Err(e);
        }
        return Err(Errno::Again);
    };
    let data = p.skb.data();
    let mut k = data.len().min(len);
    if let Some(buf) = buf {
        k = k.min(buf.len());
        buf[..k].copy_from_slice(&data[..k]);
    }
    let (whole, src) = (data.len(), p.src);
    if !peek {
        let p = r.rx.pop_front().expect("front");
        r.sk.rmem_alloc -= p.skb.truesize;
        kfree_skb(n, cx, p.skb);
    }
    Ok((k, whole, src))
}

/// `raw_close`: frees the socket and what it had queued.
pub fn raw_close(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    if let Some(Socket::Raw(r)) = n.socks.remove(sock) {
        if let Some(ids) = n.socks.raw.get_mut(&r.protocol) {
            ids.retain(|&id| id != sock);
            if ids.is_empty() {
                n.socks.raw.remove(&r.protocol);
            }
        }
        for p in r.rx {
            kfree_skb(n, cx, p.skb);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, SocketAddrV4};

    use super::IPPROTO_RAW;
    use crate::netfilter::Netfilter;
    use crate::netfilter::iptables::apply;
    use crate::netfilter::table::Ruleset;
    use crate::sock::syscall::{self, SockOpt, SockOptName, SockOptValue, SockType};
    use crate::sock::{Errno, MsgFlags};
    use crate::testing::{HOST, OneHost, PEER};
    use crate::wire::Ipv4Packet;

    /// A UDP packet from `src` to `dst` as a user crafts it: total length and header
    /// checksum left 0, the UDP checksum `0xdead` (wrong on purpose).
    fn crafted(src: Ipv4Addr, dst: Ipv4Addr, id: u16, df: bool) -> Vec<u8> {
        let mut p = vec![0x45, 0, 0, 0];
        p.extend_from_slice(&id.to_be_bytes());
        p.extend_from_slice(&[if df { 0x40 } else { 0 }, 0, 64, 17, 0, 0]);
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&dst.octets());
        p.extend_from_slice(&[0x9c, 0x40, 0, 53, 0, 12, 0xde, 0xad, b'a', b'b', b'c', b'd']);
        p
    }

    fn send(h: &mut OneHost, fd: u32, data: &[u8]) -> Result<usize, Errno> {
        h.with(|n, cx| {
            syscall::sendto(
                n,
                cx,
                fd,
                data,
                Some(SocketAddrV4::new(PEER, 0)),
                MsgFlags::NONE,
            )
        })
    }

    /// `raw_send_hdrinc`: tot_len, the header checksum and a 0.0.0.0 source are filled
    /// in, an ID of 0 is chosen (not with DF), the rest — a bad UDP checksum included —
    /// leaves as given, and `OutRequests` does not move (Linux 6.18 counts none).
    #[test]
    fn hdrincl_fills_length_checksum_source_and_id_and_keeps_the_rest() {
        let mut h = OneHost::new(crate::config::Sysctls::default());
        let fd = h
            .with(|n, cx| syscall::socket(n, cx, SockType::Raw, IPPROTO_RAW, None))
            .expect("socket");
        let v = h.with(|n, cx| syscall::getsockopt(n, cx, fd, SockOptName::HdrIncl));
        assert_eq!(
            v,
            Ok(SockOptValue::Int(1)),
            "IPPROTO_RAW implies IP_HDRINCL"
        );
        let spoofed = Ipv4Addr::new(10, 0, 0, 66);
        let pkt = crafted(Ipv4Addr::UNSPECIFIED, PEER, 0, false);
        assert_eq!(send(&mut h, fd, &pkt), Ok(32));
        assert_eq!(send(&mut h, fd, &crafted(spoofed, PEER, 0, true)), Ok(32));
        assert_eq!(send(&mut h, fd, &crafted(spoofed, PEER, 7, false)), Ok(32));
        h.advance(sim_core::SimDuration::from_millis(1));
        let out = h.take_ip();
        assert_eq!(out.len(), 3);
        let p = Ipv4Packet::new_checked(&out[0].1[..]).unwrap();
        assert_eq!(p.src_addr(), HOST, "0.0.0.0 becomes the route's source");
        assert_eq!(p.total_len(), 32);
        assert!(p.verify_checksum());
        assert_ne!(p.ident(), 0, "an ID is chosen without DF");
        assert_eq!(&out[0].1[20..32], &pkt[20..], "the payload as given");
        let p = Ipv4Packet::new_checked(&out[1].1[..]).unwrap();
        assert_eq!((p.src_addr(), p.ident()), (spoofed, 0), "DF keeps ID 0");
        let p = Ipv4Packet::new_checked(&out[2].1[..]).unwrap();
        assert_eq!(p.ident(), 7);
        assert_eq!(h.n.snmp.ip.OutRequests, 0);
    }

    /// The checks of `raw_sendmsg` / `raw_send_hdrinc` and a netfilter drop at `LOCAL_OUT`,
    /// with the errno Linux 6.18 returned for each.
    #[test]
    fn hdrincl_errors_are_linuxs() {
        let mut h = OneHost::new(crate::config::Sysctls::default());
        let fd = h
            .with(|n, cx| syscall::socket(n, cx, SockType::Raw, IPPROTO_RAW, None))
            .unwrap();
        assert_eq!(send(&mut h, fd, &[0x45; 10]), Err(Errno::Inval));
        let mut big = crafted(HOST, PEER, 0, false);
        big.resize(2000, 0);
        assert_eq!(send(&mut h, fd, &big), Err(Errno::MsgSize));
        let mut bad_ihl = crafted(HOST, PEER, 0, false);
        bad_ihl[0] = 0x4f;
        assert_eq!(send(&mut h, fd, &bad_ihl), Err(Errno::Inval));
        assert_eq!(h.n.snmp.ip.OutDiscards, 1, "only the ihl check counts");
        let none = h.with(|n, cx| syscall::sendto(n, cx, fd, &big[..32], None, MsgFlags::NONE));
        assert_eq!(none, Err(Errno::DestAddrReq));
        // iptables -A OUTPUT -j DROP
        let mut rs = Ruleset::default();
        apply(&mut rs, &["-A", "OUTPUT", "-j", "DROP"]).expect("a rule");
        h.n.netfilter = Netfilter::new(rs, Default::default(), 0, || {
            sim_core::RngStreams::new(1).stream("nat", 0)
        })
        .expect("loads");
        assert_eq!(
            send(&mut h, fd, &crafted(HOST, PEER, 0, false)),
            Err(Errno::Perm)
        );
        assert_eq!(h.n.snmp.ip.OutDiscards, 2);
        h.advance(sim_core::SimDuration::from_millis(1));
        assert!(h.take_ip().is_empty());
        let zero = h.with(|n, cx| syscall::socket(n, cx, SockType::Raw, 0, None));
        assert_eq!(zero, Err(Errno::ProtoNoSupport));
        let udp = h
            .with(|n, cx| syscall::socket(n, cx, SockType::Dgram, 0, None))
            .unwrap();
        let r = h.with(|n, cx| syscall::setsockopt(n, cx, udp, SockOpt::HdrIncl(true)));
        assert_eq!(r, Err(Errno::NoProtoOpt));
    }

    /// Without `IP_HDRINCL` the kernel writes the header with the socket's protocol and
    /// counts `OutRequests`.
    #[test]
    fn without_hdrincl_the_kernel_builds_the_header() {
        let mut h = OneHost::new(crate::config::Sysctls::default());
        let fd = h
            .with(|n, cx| syscall::socket(n, cx, SockType::Raw, 253, None))
            .unwrap();
        assert_eq!(send(&mut h, fd, b"experiment"), Ok(10));
        h.advance(sim_core::SimDuration::from_millis(1));
        let out = h.take_ip();
        let p = Ipv4Packet::new_checked(&out[0].1[..]).unwrap();
        assert_eq!((p.src_addr(), p.dst_addr()), (HOST, PEER));
        assert_eq!(u8::from(p.protocol()), 253);
        assert_eq!(p.payload(), b"experiment");
        assert_eq!(h.n.snmp.ip.OutRequests, 1);
    }

    /// `raw_v4_input`: a raw UDP socket gets a copy of the whole packet and UDP still runs
    /// (no port: ICMP port unreachable); a protocol with only a raw socket is delivered,
    /// not refused; an `IPPROTO_RAW` socket and a socket bound elsewhere get nothing.
    #[test]
    fn raw_sockets_get_copies_before_the_protocol() {
        let mut h = OneHost::new(crate::config::Sysctls::default());
        let (udp_raw, other, raw255, bound) = h.with(|n, cx| {
            (
                syscall::socket(n, cx, SockType::Raw, 17, None).unwrap(),
                syscall::socket(n, cx, SockType::Raw, 253, None).unwrap(),
                syscall::socket(n, cx, SockType::Raw, IPPROTO_RAW, None).unwrap(),
                syscall::socket(n, cx, SockType::Raw, 17, None).unwrap(),
            )
        });
        let elsewhere = SocketAddrV4::new(Ipv4Addr::new(192, 168, 0, 99), 0);
        let r = h.with(|n, cx| syscall::bind(n, cx, bound, elsewhere));
        assert_eq!(r, Err(Errno::AddrNotAvail));
        h.with(|n, cx| syscall::setsockopt(n, cx, bound, SockOpt::FreeBind(true)))
            .unwrap();
        h.with(|n, cx| syscall::bind(n, cx, bound, elsewhere))
            .unwrap();
        let mut pkt = crafted(PEER, HOST, 1, false);
        pkt[2..4].copy_from_slice(&32u16.to_be_bytes());
        let mut ip = Ipv4Packet::new_unchecked(&mut pkt[..]);
        ip.fill_checksum();
        // A correct UDP checksum, so that udp_rcv takes it.
        pkt[26..28].copy_from_slice(&[0, 0]);
        h.inject_ip(&pkt);
        let mut buf = [0u8; 64];
        let m = h
            .with(|n, cx| syscall::recvfrom(n, cx, udp_raw, Some(&mut buf), 64, MsgFlags::NONE))
            .unwrap();
        assert_eq!(m.len, 32);
        assert_eq!(&buf[..32], &pkt[..]);
        assert_eq!(m.from, Some(SocketAddrV4::new(PEER, 0).into()));
        assert_eq!(h.n.snmp.udp.NoPorts, 1, "UDP ran after the raw copy");
        for fd in [raw255, bound, other] {
            let r = h.with(|n, cx| syscall::recvfrom(n, cx, fd, None, 64, MsgFlags::NONE));
            assert_eq!(r, Err(Errno::Again));
        }
        let mut p253 = pkt.clone();
        p253[9] = 253;
        Ipv4Packet::new_unchecked(&mut p253[..]).fill_checksum();
        let before = h.n.snmp.ip.InDelivers;
        h.inject_ip(&p253);
        assert_eq!(h.n.snmp.ip.InDelivers, before + 1);
        assert_eq!(h.n.snmp.ip.InUnknownProtos, 0);
        let r = h.with(|n, cx| syscall::recvfrom(n, cx, other, None, 64, MsgFlags::TRUNC));
        assert_eq!(r.map(|m| m.len), Ok(32));
        h.advance(sim_core::SimDuration::from_millis(1));
        let icmp: Vec<_> = h.take_ip().into_iter().filter(|(_, p)| p[9] == 1).collect();
        assert_eq!(icmp.len(), 1, "port unreachable for UDP, nothing for 253");
    }

    /// Copies beyond `SO_RCVBUF` are dropped and counted in the socket's drops.
    #[test]
    fn a_full_receive_buffer_drops() {
        let mut h = OneHost::new(crate::config::Sysctls::default());
        let fd = h
            .with(|n, cx| syscall::socket(n, cx, SockType::Raw, 253, None))
            .unwrap();
        h.with(|n, cx| syscall::setsockopt(n, cx, fd, SockOpt::RcvBuf(0)))
            .unwrap();
        let mut p = crafted(PEER, HOST, 1, false);
        p[9] = 253;
        p[2..4].copy_from_slice(&32u16.to_be_bytes());
        Ipv4Packet::new_unchecked(&mut p[..]).fill_checksum();
        for _ in 0..5 {
            h.inject_ip(&p);
        }
        let Some(crate::sock::Socket::Raw(r)) = h.n.socks.get(fd) else {
            panic!("raw socket");
        };
        // SOCK_MIN_RCVBUF: copies go in while the charge is below it (checked before
        // charging, as __sock_queue_rcv_skb does), the rest are dropped.
        let queued = r.rx.len() as u32;
        assert!((1..5).contains(&queued), "{queued} queued");
        assert_eq!(r.drops, 5 - queued);
    }
}
