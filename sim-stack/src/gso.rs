//! Generic segmentation offload: cutting a TCP super-packet (a GSO skb, built by TCP with
//! `gso_segs` segments of `gso_size` payload bytes each) into the frames that go on the wire,
//! as `skb_gso_segment` → `inet_gso_segment` → `tcp_gso_segment` do.
//!
//! Linux's TCP always builds GSO skbs (`sk_setup_caps` gives every TCP socket `NETIF_F_GSO`,
//! whatever the device offers), so the qdisc holds and counts super-packets. Where they are
//! cut depends on the device:
//! - without TSO (`ethtool -K dev tso off`, the default here), `validate_xmit_skb` segments
//!   each one after the qdisc and before `dev_hard_start_xmit`, so tcpdump sees MSS-sized
//!   frames;
//! - with TSO, the super-packet reaches `dev_hard_start_xmit` whole (tcpdump shows it so) and
//!   the NIC cuts it as it serializes ([`crate::dev`]);
//! - tbf cuts one that is larger than its bucket before queueing it (`tbf_segment`).
//!
//! Each segment gets a copy of the Ethernet, IPv4 and TCP headers: the IP ID goes up by one
//! per segment (`inet_gso_segment`), the sequence number by `gso_size`, PSH and FIN stay on
//! the last segment only and CWR on the first (`tcp_gso_segment`), and the IP and TCP
//! checksums are computed for each. The socket's send-buffer charge is split among the
//! segments (each holds what a segment of its size would cost), so TX completion of the
//! segments releases exactly what the super-packet held.

use crate::skb::{Skb, SkbPool, truesize_for};
use crate::wire::checksum;
use crate::wire::{Ipv4Packet, Ipv6Packet, TcpFlags, TcpPacket};

/// `(IP header length, TCP header length)` of a frame carrying IPv4 (or IPv6, without
/// extension headers) and TCP behind a link-layer header of `mac_len` bytes.
fn header_lens(frame: &[u8], mac_len: usize) -> (usize, usize) {
    let ihl = if frame[mac_len] >> 4 == 6 {
        40
    } else {
        usize::from(frame[mac_len] & 0x0f) * 4
    };
    let doff = usize::from(frame[mac_len + ihl + 12] >> 4) * 4;
    (ihl, doff)
}

/// `qdisc_pkt_len_init`: a GSO frame is accounted by qdiscs as its segments would be, its
/// length plus the headers of every segment after the first (`mac_len` bytes of link-layer
/// header: 14 on Ethernet, none on tun).
pub(crate) fn qdisc_pkt_len_init(skb: &mut Skb, mac_len: usize) {
    if !skb.is_gso() {
        skb.gso_hdr_extra = 0;
        return;
    }
    let (ihl, doff) = header_lens(skb.data(), mac_len);
    let hdr_len = (mac_len + ihl + doff) as u32;
    skb.gso_hdr_extra = (u32::from(skb.gso_segs) - 1) * hdr_len;
}

/// The truesize of one segment of `payload` bytes behind a `tcp_hlen`-byte TCP header: what
/// TCP charges for each segment of a GSO skb (see the module doc).
pub(crate) fn seg_truesize(tcp_hlen: usize, payload: usize) -> u32 {
    truesize_for(tcp_hlen + payload)
}

/// `skb_gso_segment` for a frame holding a TCP/IPv4 GSO packet behind `mac_len` bytes of
/// link-layer header: the segments in order, each an ordinary frame. The super-packet is
/// consumed (its buffer goes back to the pool). A packet that is not GSO comes back as it is.
pub(crate) fn skb_gso_segment(
    pool: &mut SkbPool,
    mut skb: Skb,
    mac_len: usize,
    note: Option<&'static str>,
) -> Vec<Skb> {
    if !skb.is_gso() {
        return vec![skb];
    }
    if skb.data()[mac_len] >> 4 == 6 {
        return skb_gso_segment6(pool, skb, mac_len, note);
    }
    let frame_len = skb.len();
    let (ihl, doff) = header_lens(skb.data(), mac_len);
    let hdr_len = mac_len + ihl + doff;
    let mss = usize::from(skb.gso_size);
    let payload_len = frame_len - hdr_len;
    let nsegs = payload_len.div_ceil(mss);
    let (ident, seq, flags, src, dst) = {
        let d = skb.data();
        let ip = Ipv4Packet::new_unchecked(&d[mac_len..]);
        let tcp = TcpPacket::new_unchecked(&d[mac_len + ihl..]);
        (
            ip.ident(),
            tcp.seq_number(),
            tcp.flags(),
            ip.src_addr(),
            ip.dst_addr(),
        )
    };
    // tcp_gso_tstamp: a timestamp request goes with the first segment that ends after its
    // byte.
    let ts_seg = (skb.tx_flags != 0).then(|| {
        (0..nsegs)
            .find(|i| {
                let end = seq.wrapping_add(((i + 1) * mss) as u32);
                crate::tcp::before(skb.tskey, end)
            })
            .unwrap_or(nsegs)
    });
    let mut segs = Vec::with_capacity(nsegs);
    for i in 0..nsegs {
        let off = i * mss;
        let len = mss.min(payload_len - off);
        let last = i + 1 == nsegs;
        let mut seg = pool.alloc(hdr_len + len);
        seg.put_data(&skb.data()[..hdr_len]);
        let at = hdr_len + off;
        let payload_sum = if skb.known_zeros(at, len) {
            seg.put_zeros(len);
            0
        } else {
            seg.put_data(&skb.data()[at..at + len]);
            checksum::data(&seg.data()[hdr_len..])
        };
        let d = seg.head_mut(hdr_len);
        let mut ip = Ipv4Packet::new_unchecked(&mut d[mac_len..mac_len + ihl]);
        ip.set_total_len((ihl + doff + len) as u16);
        ip.set_ident(ident.wrapping_add(i as u16));
        ip.fill_checksum();
        let mut f = flags;
        if !last {
            f.remove(TcpFlags::PSH | TcpFlags::FIN);
        }
        if i > 0 {
            f.remove(TcpFlags::CWR);
        }
        let mut tcp = TcpPacket::new_unchecked(&mut d[mac_len + ihl..]);
        tcp.set_seq_number(seq.wrapping_add(off as u32));
        tcp.set_header_len_and_flags(doff as u8, f);
        tcp.fill_checksum_with_len(src, dst, doff + len, payload_sum);
        seg.truesize = seg_truesize(doff, len);
        seg.priority = skb.priority;
        seg.mark = skb.mark;
        seg.nfct = skb.nfct;
        seg.sock = skb.sock;
        seg.hash = skb.hash;
        seg.enqueue_time = skb.enqueue_time;
        seg.tstamp = skb.tstamp;
        seg.pkt_type = skb.pkt_type;
        seg.l4_csum_good = true;
        if ts_seg == Some(i) {
            seg.tx_flags = skb.tx_flags;
            seg.tskey = skb.tskey;
        }
        seg.path_from(&skb);
        if let Some(f) = note {
            seg.note(f);
        }
        segs.push(seg);
    }
    // The segments took over the socket's charge.
    skb.sock = None;
    pool.free(skb);
    segs
}

/// [`skb_gso_segment`] for TCP over IPv6 (`ipv6_gso_segment` → `tcp6_gso_segment`): each
/// segment's payload length is set and its TCP checksum computed over the IPv6
/// pseudo-header; IPv6 has no ID and no header checksum, so nothing else of the IP header
/// changes.
fn skb_gso_segment6(
    pool: &mut SkbPool,
    mut skb: Skb,
    mac_len: usize,
    note: Option<&'static str>,
) -> Vec<Skb> {
    let frame_len = skb.len();
    let (ihl, doff) = header_lens(skb.data(), mac_len);
    let hdr_len = mac_len + ihl + doff;
    let mss = usize::from(skb.gso_size);
    let payload_len = frame_len - hdr_len;
    let nsegs = payload_len.div_ceil(mss);
    let (seq, flags, src, dst) = {
        let d = skb.data();
        let ip = Ipv6Packet::new_unchecked(&d[mac_len..]);
        let tcp = TcpPacket::new_unchecked(&d[mac_len + ihl..]);
        (tcp.seq_number(), tcp.flags(), ip.src_addr(), ip.dst_addr())
    };
    let ts_seg = (skb.tx_flags != 0).then(|| {
        (0..nsegs)
            .find(|i| {
                let end = seq.wrapping_add(((i + 1) * mss) as u32);
                crate::tcp::before(skb.tskey, end)
            })
            .unwrap_or(nsegs)
    });
    let mut segs = Vec::with_capacity(nsegs);
    for i in 0..nsegs {
        let off = i * mss;
        let len = mss.min(payload_len - off);
        let last = i + 1 == nsegs;
        let mut seg = pool.alloc(hdr_len + len);
        seg.put_data(&skb.data()[..hdr_len]);
        let at = hdr_len + off;
        let payload_sum = if skb.known_zeros(at, len) {
            seg.put_zeros(len);
            0
        } else {
            seg.put_data(&skb.data()[at..at + len]);
            checksum::data(&seg.data()[hdr_len..])
        };
        let d = seg.head_mut(hdr_len);
        let mut ip = Ipv6Packet::new_unchecked(&mut d[mac_len..mac_len + ihl]);
        ip.set_payload_len((doff + len) as u16);
        let mut f = flags;
        if !last {
            f.remove(TcpFlags::PSH | TcpFlags::FIN);
        }
        if i > 0 {
            f.remove(TcpFlags::CWR);
        }
        let mut tcp = TcpPacket::new_unchecked(&mut d[mac_len + ihl..]);
        tcp.set_seq_number(seq.wrapping_add(off as u32));
        tcp.set_header_len_and_flags(doff as u8, f);
        tcp.fill_checksum_with_len(src, dst, doff + len, payload_sum);
        seg.truesize = seg_truesize(doff, len);
        seg.priority = skb.priority;
        seg.mark = skb.mark;
        seg.nfct = skb.nfct;
        seg.sock = skb.sock;
        seg.hash = skb.hash;
        seg.enqueue_time = skb.enqueue_time;
        seg.tstamp = skb.tstamp;
        seg.pkt_type = skb.pkt_type;
        seg.l4_csum_good = true;
        if ts_seg == Some(i) {
            seg.tx_flags = skb.tx_flags;
            seg.tskey = skb.tskey;
        }
        seg.path_from(&skb);
        if let Some(f) = note {
            seg.note(f);
        }
        segs.push(seg);
    }
    skb.sock = None;
    pool.free(skb);
    segs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
    use crate::wire::{IpProtocol, Ipv4Repr, TcpOptions, TcpRepr};
    use std::net::Ipv4Addr;

    const SRC: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    /// A GSO frame of `payload` behind a 32-byte TCP header (timestamps), segments of `mss`.
    fn gso_frame(pool: &mut SkbPool, payload: &[u8], mss: u16, flags: TcpFlags) -> Skb {
        let tcp = TcpRepr {
            src_port: 80,
            dst_port: 5000,
            seq: 0xffff_f000,
            ack: 7,
            flags,
            window: 100,
            urgent: 0,
            options: TcpOptions::established(Some((1, 2)), &[]),
        };
        let hl = tcp.header_len();
        let mut skb = pool.alloc(hl + payload.len());
        skb.put(hl);
        skb.put_data(payload);
        tcp.emit(
            &mut TcpPacket::new_unchecked(skb.data_mut()),
            SRC,
            DST,
            payload.len(),
        );
        let ip = Ipv4Repr {
            src_addr: SRC,
            dst_addr: DST,
            protocol: IpProtocol::Tcp,
            payload_len: skb.len(),
            ttl: 64,
            dscp_ecn: 0,
            ident: 0xfffe,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        };
        ip.emit(&mut Ipv4Packet::new_unchecked(skb.push(20)));
        EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            ethertype: EtherType::Ipv4,
        }
        .emit(&mut EthernetFrame::new_unchecked(skb.push(14)));
        skb.gso_size = mss;
        skb.gso_segs = payload.len().div_ceil(usize::from(mss)) as u16;
        skb
    }

    #[test]
    fn segments_carry_their_share_with_headers_fixed_up() {
        let mut pool = SkbPool::new();
        let payload: Vec<u8> = (0..3500u32).map(|i| (i * 7) as u8).collect();
        let mut skb = gso_frame(&mut pool, &payload, 1448, TcpFlags::ACK | TcpFlags::PSH);
        qdisc_pkt_len_init(&mut skb, 14);
        assert_eq!(skb.gso_hdr_extra, 2 * (14 + 20 + 32));
        let segs = skb_gso_segment(&mut pool, skb, 14, None);
        assert_eq!(segs.len(), 3);
        let mut got = Vec::new();
        for (i, s) in segs.iter().enumerate() {
            let ip = Ipv4Packet::new_checked(&s.data()[14..]).unwrap();
            assert!(ip.verify_checksum());
            assert_eq!(ip.ident(), 0xfffeu16.wrapping_add(i as u16));
            let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
            assert!(tcp.verify_checksum(SRC, DST));
            assert_eq!(
                tcp.seq_number(),
                0xffff_f000u32.wrapping_add(1448 * i as u32)
            );
            assert_eq!(
                tcp.flags().contains(TcpFlags::PSH),
                i == 2,
                "PSH on the last only"
            );
            assert_eq!(tcp.payload().len(), [1448, 1448, 604][i]);
            got.extend_from_slice(tcp.payload());
            assert_eq!(s.truesize, seg_truesize(32, tcp.payload().len()));
        }
        assert_eq!(got, payload);
    }

    #[test]
    fn packets_without_a_link_header_are_cut_as_tun_sends_them() {
        let mut pool = SkbPool::new();
        let payload: Vec<u8> = (0..2500u32).map(|i| (i * 3) as u8).collect();
        let mut skb = gso_frame(&mut pool, &payload, 1000, TcpFlags::ACK | TcpFlags::PSH);
        skb.pull(14);
        qdisc_pkt_len_init(&mut skb, 0);
        assert_eq!(skb.gso_hdr_extra, 2 * (20 + 32));
        let segs = skb_gso_segment(&mut pool, skb, 0, None);
        let mut got = Vec::new();
        for (i, s) in segs.iter().enumerate() {
            let ip = Ipv4Packet::new_checked(s.data()).unwrap();
            assert!(ip.verify_checksum());
            assert_eq!(usize::from(ip.total_len()), s.len());
            let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
            assert!(tcp.verify_checksum(SRC, DST));
            assert_eq!(tcp.flags().contains(TcpFlags::PSH), i == 2);
            got.extend_from_slice(tcp.payload());
        }
        assert_eq!(got, payload);
    }

    #[test]
    fn zero_payloads_are_cut_without_being_read() {
        let mut pool = SkbPool::new();
        let mut skb = gso_frame(&mut pool, &[], 1000, TcpFlags::ACK | TcpFlags::FIN);
        skb.put_zeros(2500);
        // Fix the lengths and checksums for the zeros appended after the header.
        let len = skb.len() - 14;
        let mut ip = Ipv4Packet::new_unchecked(&mut skb.head_mut(34)[14..]);
        ip.set_total_len(len as u16);
        ip.fill_checksum();
        skb.gso_size = 1000;
        skb.gso_segs = 3;
        let segs = skb_gso_segment(&mut pool, skb, 14, None);
        assert_eq!(segs.len(), 3);
        for (i, s) in segs.iter().enumerate() {
            let ip = Ipv4Packet::new_checked(&s.data()[14..]).unwrap();
            let tcp = TcpPacket::new_checked(ip.payload()).unwrap();
            assert!(tcp.verify_checksum(SRC, DST));
            assert_eq!(tcp.flags().contains(TcpFlags::FIN), i == 2);
            assert!(s.known_zeros(14 + 20 + 32, tcp.payload().len()));
        }
    }
}
