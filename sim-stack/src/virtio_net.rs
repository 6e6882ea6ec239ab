//! `virtio_net_hdr_to_skb`: the offload header a writer puts in front of a packet on a
//! tun device opened with `IFF_VNET_HDR` (packetdrill does, and with `--mss` marks each
//! TCP packet `VIRTIO_NET_HDR_GSO_TCPV4` with `gso_size` = the MSS).
//!
//! A packet whose payload beyond the minimal IP and TCP headers exceeds `gso_size` is taken
//! as a GRO packet: one skb standing for several segments of `gso_size` bytes
//! (`skb_shinfo(skb)->gso_size`), as a NIC's LRO or the GRO engine would hand it up. A
//! smaller one is not a GSO packet at all ("Too small packets are not really GSO ones").
//!
//! `gso_segs` stays as it is: Linux sets it to 0 with `SKB_GSO_DODGY` ("gso_segs computed"
//! only if the packet is ever segmented), and everything on the receive path reads
//! `max(1, gso_segs)`, which the skb's 1 already is. The truesize is the one a linear skb
//! of that size has (tun copies the write into one kmalloc'd head; measured on 6.18, see
//! `crate::tcp::rcv_window::tcp_rx_truesize`).

use crate::skb::Skb;

/// `sizeof(struct tcphdr)`: the `thlen` of `VIRTIO_NET_HDR_GSO_TCPV4`.
const TCP_THLEN: usize = 20;

/// `virtio_net_hdr_to_skb` for an IPv4 TCP packet in `skb` (from its IP header on) whose
/// header says `VIRTIO_NET_HDR_GSO_TCPV4` with `gso_size`: mark it a GRO packet if it is
/// larger than one segment. Returns whether it did.
pub fn virtio_net_hdr_to_skb(skb: &mut Skb, gso_size: u16) -> bool {
    let Some(&vihl) = skb.data().first() else {
        return false;
    };
    // p_off: the transport header's offset plus the minimal TCP header.
    let p_off = usize::from(vihl & 0x0f) * 4 + TCP_THLEN;
    if gso_size == 0 || skb.len().saturating_sub(p_off) <= usize::from(gso_size) {
        return false;
    }
    skb.gso_size = gso_size;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skb::SkbPool;

    fn packet(pool: &mut SkbPool, payload: usize, tcp_opts: usize) -> Skb {
        let mut b = vec![0u8; 20 + 20 + tcp_opts + payload];
        b[0] = 0x45;
        pool.alloc_copy(&b)
    }

    #[test]
    fn only_packets_larger_than_a_segment_are_gro_packets() {
        let mut pool = SkbPool::new();
        let mut one = packet(&mut pool, 1000, 0);
        assert!(!virtio_net_hdr_to_skb(&mut one, 1000));
        assert_eq!(one.gso_size, 0);
        let mut four = packet(&mut pool, 4000, 0);
        assert!(virtio_net_hdr_to_skb(&mut four, 1000));
        assert_eq!((four.gso_size, four.gso_segs), (1000, 1));
        // TCP options count against the segment: 1000 bytes with timestamps are 1012
        // beyond the minimal headers.
        let mut ts = packet(&mut pool, 1000, 12);
        assert!(virtio_net_hdr_to_skb(&mut ts, 1000));
    }
}
