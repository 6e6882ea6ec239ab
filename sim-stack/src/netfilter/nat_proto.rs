//! NAT packet rewriting (`nf_nat_proto.c` of Linux 6.1), IPv4: addresses, ports and ICMP
//! query ids rewritten in place, checksums updated incrementally as the kernel updates
//! them (`csum_replace4` on the IP header, `inet_proto_csum_replace{2,4}` on the L4
//! checksum, which covers the pseudo-header), and the translation of ICMP errors that
//! quote a NAT'd packet (`nf_nat_icmp_reply_translation`).
//!
//! The bytes are those of a packet whose checksums are complete (`CHECKSUM_NONE` or
//! `CHECKSUM_COMPLETE`), the case in which the kernel's incremental updates give the
//! checksum a full recomputation gives. A UDP checksum of 0 (none) stays 0; an update that
//! yields 0 is written 0xffff (`CSUM_MANGLED_0`). A TCP header quoted in an ICMP error and
//! cut short of its checksum has only its port rewritten. A fragment other than the first
//! has only its addresses rewritten (Linux reassembles before conntrack and never meets
//! one).

use std::net::Ipv4Addr;

use super::conntrack_tuple::Tuple;
use super::nat::ManipType;
use crate::wire::{IpProtocol, checksum};

/// Updates the 16-bit checksum field at `pos` after the 16-bit word `from` became `to`.
fn csum_replace2(buf: &mut [u8], pos: usize, from: u16, to: u16) {
    let old = u16::from_be_bytes([buf[pos], buf[pos + 1]]);
    let new = checksum::update_word(old, from, to);
    buf[pos..pos + 2].copy_from_slice(&new.to_be_bytes());
}

/// `csum_replace4` / `inet_proto_csum_replace4`: the 32-bit `from` became `to`.
fn csum_replace4(buf: &mut [u8], pos: usize, from: Ipv4Addr, to: Ipv4Addr) {
    let (f, t) = (from.octets(), to.octets());
    csum_replace2(
        buf,
        pos,
        u16::from_be_bytes([f[0], f[1]]),
        u16::from_be_bytes([t[0], t[1]]),
    );
    csum_replace2(
        buf,
        pos,
        u16::from_be_bytes([f[2], f[3]]),
        u16::from_be_bytes([t[2], t[3]]),
    );
}

fn read_addr(buf: &[u8], pos: usize) -> Ipv4Addr {
    Ipv4Addr::new(buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3])
}

fn read_u16(buf: &[u8], pos: usize) -> u16 {
    u16::from_be_bytes([buf[pos], buf[pos + 1]])
}

/// `nf_csum_update`: the pseudo-header part of an L4 checksum at `check` for the address
/// the manip changes in the IP header at `iphdroff`.
fn nf_csum_update(buf: &mut [u8], iphdroff: usize, check: usize, t: &Tuple, maniptype: ManipType) {
    let (old, new) = match maniptype {
        ManipType::Src => (read_addr(buf, iphdroff + 12), t.src),
        ManipType::Dst => (read_addr(buf, iphdroff + 16), t.dst),
    };
    csum_replace4(buf, check, old, new);
}

/// `tcp_manip_pkt`, `udp_manip_pkt`, `icmp_manip_pkt` (`l4proto_manip_pkt`). `false` when
/// the header is not there (`skb_ensure_writable` failed).
fn l4proto_manip_pkt(
    buf: &mut [u8],
    iphdroff: usize,
    hdroff: usize,
    t: &Tuple,
    maniptype: ManipType,
) -> bool {
    let (newport, portpos) = match maniptype {
        ManipType::Src => (t.src_u, hdroff),
        ManipType::Dst => (t.dst_u, hdroff + 2),
    };
    match IpProtocol(t.protonum) {
        IpProtocol::Tcp => {
            if buf.len() < hdroff + 8 {
                return false;
            }
            let oldport = read_u16(buf, portpos);
            buf[portpos..portpos + 2].copy_from_slice(&newport.to_be_bytes());
            // The checksum only when the whole header is there (not a short ICMP quote).
            if buf.len() < hdroff + 20 {
                return true;
            }
            nf_csum_update(buf, iphdroff, hdroff + 16, t, maniptype);
            csum_replace2(buf, hdroff + 16, oldport, newport);
            true
        }
        IpProtocol::Udp => {
            if buf.len() < hdroff + 8 {
                return false;
            }
            let check = hdroff + 6;
            if read_u16(buf, check) != 0 {
                nf_csum_update(buf, iphdroff, check, t, maniptype);
                csum_replace2(buf, check, read_u16(buf, portpos), newport);
                if read_u16(buf, check) == 0 {
                    buf[check..check + 2].copy_from_slice(&0xffff_u16.to_be_bytes());
                }
            }
            buf[portpos..portpos + 2].copy_from_slice(&newport.to_be_bytes());
            true
        }
        IpProtocol::Icmp => {
            if buf.len() < hdroff + 8 {
                return false;
            }
            if !matches!(buf[hdroff], 0 | 8 | 13 | 14 | 15 | 16 | 17 | 18) {
                return true;
            }
            let id = hdroff + 4;
            csum_replace2(buf, hdroff + 2, read_u16(buf, id), t.src_u);
            buf[id..id + 2].copy_from_slice(&t.src_u.to_be_bytes());
            true
        }
        _ => true,
    }
}

/// `nf_nat_ipv4_manip_pkt`: rewrites the packet (or quoted packet) whose IP header starts
/// at `iphdroff` to carry `target`'s source (`Src`) or destination (`Dst`). `false` when
/// the packet is too short.
pub(crate) fn nf_nat_ipv4_manip_pkt(
    buf: &mut [u8],
    iphdroff: usize,
    target: &Tuple,
    maniptype: ManipType,
) -> bool {
    if buf.len() < iphdroff + 20 {
        return false;
    }
    let hdroff = iphdroff + usize::from(buf[iphdroff] & 0x0f) * 4;
    let later_fragment = read_u16(buf, iphdroff + 6) & 0x1fff != 0;
    if !later_fragment && !l4proto_manip_pkt(buf, iphdroff, hdroff, target, maniptype) {
        return false;
    }
    let (pos, new) = match maniptype {
        ManipType::Src => (iphdroff + 12, target.src),
        ManipType::Dst => (iphdroff + 16, target.dst),
    };
    let old = read_addr(buf, pos);
    csum_replace4(buf, iphdroff + 10, old, new);
    buf[pos..pos + 4].copy_from_slice(&new.octets());
    true
}

/// `nf_nat_icmp_reply_translation`'s packet work, once the caller decided the error must
/// be translated: the quoted packet is made to carry `quoted` (the other direction's
/// tuple, with the inverse manip), the ICMP checksum recomputed over the whole message,
/// then the outer header rewritten to `outer`. `false` (drop) when the message is short or
/// its ICMP checksum is bad (`nf_ip_checksum`).
pub(crate) fn icmp_reply_translate(
    buf: &mut [u8],
    quoted: &Tuple,
    outer: &Tuple,
    manip: ManipType,
) -> bool {
    if buf.len() < 20 {
        return false;
    }
    let hdrlen = usize::from(buf[0] & 0x0f) * 4;
    // skb_ensure_writable(hdrlen + sizeof(icmphdr) + sizeof(iphdr))
    if buf.len() < hdrlen + 8 + 20 || checksum::data(&buf[hdrlen..]) != 0xffff {
        return false;
    }
    let inverse = match manip {
        ManipType::Src => ManipType::Dst,
        ManipType::Dst => ManipType::Src,
    };
    if !nf_nat_ipv4_manip_pkt(buf, hdrlen + 8, quoted, inverse) {
        return false;
    }
    buf[hdrlen + 2..hdrlen + 4].copy_from_slice(&[0, 0]);
    let sum = !checksum::data(&buf[hdrlen..]);
    buf[hdrlen + 2..hdrlen + 4].copy_from_slice(&sum.to_be_bytes());
    let target = Tuple {
        protonum: IpProtocol::Icmp.0,
        ..*outer
    };
    nf_nat_ipv4_manip_pkt(buf, 0, &target, manip)
}
