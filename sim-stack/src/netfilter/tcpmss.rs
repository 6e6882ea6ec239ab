//! The `TCPMSS` target (`xt_TCPMSS.c`): lowers the MSS option of a TCP SYN to a set value or
//! to the path MTU less 40, never raising it; adds the option (at most 536) to a SYN that has
//! none and no payload. Checksums are updated incrementally, as `inet_proto_csum_replace2/4`
//! do, so a segment whose checksum was wrong stays wrong.

use crate::skb::Skb;

/// RFC 1624 incremental update of a ones'-complement checksum `check` (as stored) when the
/// 16-bit word `old` becomes `new`.
fn csum_replace2(check: u16, old: u16, new: u16) -> u16 {
    let mut sum = u32::from(!check) + u32::from(!old) + u32::from(new);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// `tcpmss_mangle_packet` + `tcpmss_tg4` on the IPv4 packet in `skb` (header first) with
/// the MSS `newmss` (already the clamp's `min_mtu - 40`). Returns false when the kernel
/// returns `NF_DROP` (a TCP header it cannot read).
pub(crate) fn tcpmss_tg4(skb: &mut Skb, newmss: u16) -> bool {
    let d = skb.data();
    if d.len() < 20 {
        return false;
    }
    let ihl = usize::from(d[0] & 0x0f) * 4;
    let frag = u16::from_be_bytes([d[6], d[7]]) & 0x1fff;
    if frag != 0 {
        return true;
    }
    let tot = usize::from(u16::from_be_bytes([d[2], d[3]])).min(d.len());
    let len = tot.saturating_sub(ihl);
    if len < 20 {
        return false;
    }
    let hdr = usize::from(d[ihl + 12] >> 4) * 4;
    if len < hdr || hdr < 20 {
        return false;
    }
    // Look for the MSS option.
    let mut i = 20;
    while i + 4 <= hdr {
        let t = &d[ihl..];
        match t[i] {
            0 => break,
            1 => i += 1,
            2 if t[i + 1] == 4 => {
                let old = u16::from_be_bytes([t[i + 2], t[i + 3]]);
                if old <= newmss {
                    return true;
                }
                let data = skb.data_mut();
                let t = &mut data[ihl..];
                t[i..i + 4].copy_from_slice(&[2, 4, (newmss >> 8) as u8, newmss as u8]);
                let c = u16::from_be_bytes([t[16], t[17]]);
                let c = csum_replace2(c, old, newmss);
                t[16..18].copy_from_slice(&c.to_be_bytes());
                return true;
            }
            _ => {
                let l = usize::from(t[i + 1]);
                if l < 2 {
                    break;
                }
                i += l;
            }
        }
    }
    // No option: add one, unless there is payload to move or no room in doff.
    if len > hdr || hdr >= 60 {
        return true;
    }
    let newmss = newmss.min(536);
    skb.trim(ihl + len);
    skb.put(4);
    let data = skb.data_mut();
    let t = &mut data[ihl..];
    t.copy_within(20..len, 24);
    let mut c = u16::from_be_bytes([t[16], t[17]]);
    // The pseudo-header's length, then the option's two words, then doff.
    c = csum_replace2(c, len as u16, (len + 4) as u16);
    t[20..24].copy_from_slice(&[2, 4, (newmss >> 8) as u8, newmss as u8]);
    c = csum_replace2(c, 0, 0x0204);
    c = csum_replace2(c, 0, newmss);
    let old12 = u16::from_be_bytes([t[12], t[13]]);
    t[12] += 1 << 4;
    let new12 = u16::from_be_bytes([t[12], t[13]]);
    c = csum_replace2(c, old12, new12);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    // The IP total length, with the header checksum.
    let ip = &mut data[..ihl];
    let old = u16::from_be_bytes([ip[2], ip[3]]);
    let new = old + 4;
    ip[2..4].copy_from_slice(&new.to_be_bytes());
    let hc = csum_replace2(u16::from_be_bytes([ip[10], ip[11]]), old, new);
    ip[10..12].copy_from_slice(&hc.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skb::SkbPool;
    use crate::wire::{
        IpProtocol, Ipv4Packet, Ipv4Repr, TcpFlags, TcpOption, TcpOptions, TcpPacket, TcpRepr,
    };
    use std::net::Ipv4Addr;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 80);

    fn syn(mss: Option<u16>) -> Vec<u8> {
        let t = TcpRepr {
            src_port: 40000,
            dst_port: 80,
            seq: 7,
            ack: 0,
            flags: TcpFlags::SYN,
            window: 64240,
            urgent: 0,
            options: match mss {
                Some(m) => TcpOptions::new(&[TcpOption::MaxSegmentSize(m)]).unwrap(),
                None => TcpOptions::default(),
            },
        };
        let ip = Ipv4Repr {
            src_addr: A,
            dst_addr: B,
            protocol: IpProtocol::Tcp,
            payload_len: t.header_len(),
            ttl: 64,
            dscp_ecn: 0,
            ident: 9,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        };
        let mut buf = vec![0u8; 20 + t.header_len()];
        t.emit(&mut TcpPacket::new_unchecked(&mut buf[20..]), A, B, 0);
        ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
        buf
    }

    fn mangle(pkt: &[u8], mss: u16) -> Vec<u8> {
        let mut pool = SkbPool::new();
        let mut skb = pool.alloc_copy(pkt);
        assert!(tcpmss_tg4(&mut skb, mss));
        skb.data().to_vec()
    }

    #[test]
    fn a_larger_mss_is_lowered_with_the_checksum_still_right() {
        let out = mangle(&syn(Some(1460)), 1412);
        assert_eq!(out, syn(Some(1412)));
        // Never raised.
        assert_eq!(mangle(&syn(Some(1200)), 1412), syn(Some(1200)));
    }

    #[test]
    fn a_syn_without_the_option_gets_one_of_at_most_536() {
        let out = mangle(&syn(None), 1412);
        assert_eq!(out, syn(Some(536)));
        let ip = Ipv4Packet::new_checked(&out[..]).unwrap();
        assert!(ip.verify_checksum());
        assert!(
            TcpPacket::new_checked(ip.payload())
                .unwrap()
                .verify_checksum(A, B)
        );
    }
}
