//! Fragmentation (`ip_fragment`, on output when a datagram exceeds the MTU and DF is clear)
//! and reassembly (`ip_defrag`, on local delivery), with `ip_expire` after `ipfrag_time`
//! (30 s): the queue is dropped and, if the first fragment had arrived, an ICMP time exceeded
//! (fragment reassembly) goes back to the sender.
//!
//! Fragments carry payloads in multiples of 8 bytes, the same ID, MF on all but the last, and
//! leave in order (Linux's slow path `ip_do_fragment` emits them first to last). Overlapping
//! fragments are resolved by keeping the first bytes received; `ipfrag_high_thresh` memory
//! limits are not modeled.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use sim_core::{Scheduler, SimDuration, TimerId};

use crate::ip::output::Dst;
use crate::skb::{Skb, truesize_for};
use crate::wire::{DstUnreachable, Icmpv4Repr, Ipv4Packet, Ipv4Repr, TimeExceeded};
use crate::world::{Event, World};

/// `net.ipv4.ipfrag_time`.
pub const IPFRAG_TIME: SimDuration = SimDuration::from_secs(30);

/// One datagram being reassembled.
#[derive(Debug)]
pub struct FragQueue {
    /// Received byte ranges of the payload: offset → bytes.
    pieces: BTreeMap<usize, Vec<u8>>,
    /// Payload length, once the last fragment arrived.
    total: Option<usize>,
    /// The first fragment's IP header (for the reassembled datagram and ICMP quotes).
    first_header: Option<Vec<u8>>,
    /// The reassembly timer.
    timer: TimerId,
    /// The device the fragments arrive on.
    dev: usize,
}

/// Reassembly queues of one node, by (src, dst, id, protocol).
#[derive(Debug, Default)]
pub struct Reassembly {
    queues: BTreeMap<u64, FragQueue>,
    keys: BTreeMap<u64, (Ipv4Addr, Ipv4Addr, u16, u8)>,
}

fn frag_key(r: &Ipv4Repr) -> u64 {
    crate::ip::output::mix64(
        (u64::from(u32::from(r.src_addr)) << 32 | u64::from(u32::from(r.dst_addr)))
            ^ (u64::from(r.ident) << 8 | u64::from(u8::from(r.protocol))).rotate_left(17),
    )
}

/// The IP payload sizes of the fragments of a `len`-byte payload sent with an `hlen`-byte
/// header over `mtu` (`ip_frag_next`): each as large as fits, a multiple of 8 unless it is
/// the last. `__ip_append_data` cuts a datagram the same way.
pub(crate) fn frag_sizes(len: usize, hlen: usize, mtu: usize) -> impl Iterator<Item = usize> {
    let room = mtu.saturating_sub(hlen).max(8);
    let mut left = len;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = if left <= room { left } else { room & !7 };
        left -= n;
        Some(n)
    })
}

impl World {
    /// `ip_fragment`: splits `skb` (an IP datagram larger than `dst.mtu`) into fragments.
    ///
    /// Fragments of a socket's datagram carry its send-buffer charge, each its own
    /// `truesize` (as those of `ip_make_skb`'s frag list do), released at each one's TX
    /// completion or drop. A fragment the qdisc refuses (`NET_XMIT_DROP`) ends the datagram
    /// as in `ip_do_fragment`: the rest are not sent, `FragFails` instead of `FragOKs`, and
    /// the sender learns of the drop.
    pub(crate) fn ip_fragment(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        mut skb: Skb,
        dst: Dst,
    ) {
        let now = s.now();
        note!(self, skb, "ip_fragment");
        let p = Ipv4Packet::new_unchecked(skb.data());
        let hlen = p.header_len() as usize;
        if p.dont_frag() {
            self.nodes[node].snmp.ip.FragFails += 1;
            let local = self.nodes[node].is_local_addr(p.src_addr());
            if local {
                // A local sender learns EMSGSIZE (the socket layer checks this before sending).
                self.drop_skb(now, node, dst.dev, "ip_fragment(EMSGSIZE)", skb);
            } else {
                self.icmp_send(
                    s,
                    node,
                    &skb,
                    Icmpv4Repr::DstUnreachable {
                        reason: DstUnreachable::FragRequired,
                        next_hop_mtu: dst.mtu.min(65535) as u16,
                        data: &[],
                    },
                );
                self.drop_skb(now, node, dst.dev, "ip_fragment(frag_needed)", skb);
            }
            return;
        }
        let header = skb.data()[..hlen].to_vec();
        let base_off = usize::from(p.frag_offset());
        let base_mf = p.more_frags();
        let payload = skb.data()[hlen..usize::from(p.total_len()).min(skb.len())].to_vec();
        let sizes: Vec<usize> = frag_sizes(payload.len(), hlen, dst.mtu as usize).collect();
        let priority = skb.priority;
        let path = skb.path().to_vec();
        // The fragments take over the datagram's charge: each is charged its own truesize.
        let owner = skb.sock.take();
        let mut uncharged = 0;
        if let Some(o) = owner {
            let total: u32 = sizes.iter().map(|&n| truesize_for(n)).sum();
            self.sock_wmem_transfer(o, skb.truesize, total);
            uncharged = total;
        }
        let whole = skb.id;
        self.kfree_skb(skb);
        let mut off = 0;
        for (i, &n) in sizes.iter().enumerate() {
            let end = off + n;
            let last = i + 1 == sizes.len();
            let mut f = self.pool.alloc(hlen + n);
            f.put_data(&header);
            f.put_data(&payload[off..end]);
            f.priority = priority;
            if owner.is_some() {
                f.sock = owner;
                f.truesize = truesize_for(n);
                uncharged -= f.truesize;
            }
            for p in &path {
                f.note(p);
            }
            let mut ip = Ipv4Packet::new_unchecked(f.data_mut());
            ip.set_total_len((hlen + n) as u16);
            ip.set_flags_and_offset(false, !last || base_mf, (base_off + off) as u16);
            ip.fill_checksum();
            let id = f.id;
            self.ip_finish_output2(s, node, f, dst);
            if self.xmit_dropped == Some(id) {
                // The output returned NET_XMIT_DROP: the fragments not sent are freed (their
                // charge released) and the datagram's sender sees the drop.
                self.nodes[node].snmp.ip.FragFails += 1;
                if let Some(o) = owner
                    && uncharged > 0
                {
                    self.sock_wfree(o, uncharged);
                }
                self.xmit_dropped = Some(whole);
                return;
            }
            self.nodes[node].snmp.ip.FragCreates += 1;
            off = end;
        }
        self.nodes[node].snmp.ip.FragOKs += 1;
    }

    /// `ip_defrag`: adds a fragment; returns the whole datagram when complete.
    #[allow(clippy::map_entry)]
    pub(crate) fn ip_defrag(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        dev: usize,
        mut skb: Skb,
        repr: Ipv4Repr,
    ) -> Option<(Skb, Ipv4Repr)> {
        note!(self, skb, "ip_defrag");
        let key = frag_key(&repr);
        let n = &mut self.nodes[node];
        n.snmp.ip.ReasmReqds += 1;
        if !n.frags.queues.contains_key(&key) {
            let timer = s.new_timer();
            s.arm_in(
                &timer,
                IPFRAG_TIME,
                Event::FragTimer {
                    node: node as u32,
                    key,
                },
            );
            n.frags.queues.insert(
                key,
                FragQueue {
                    pieces: BTreeMap::new(),
                    total: None,
                    first_header: None,
                    timer,
                    dev,
                },
            );
            n.frags.keys.insert(
                key,
                (
                    repr.src_addr,
                    repr.dst_addr,
                    repr.ident,
                    u8::from(repr.protocol),
                ),
            );
        }
        let q = n.frags.queues.get_mut(&key).expect("queue");
        let p = Ipv4Packet::new_unchecked(skb.data());
        let hlen = p.header_len() as usize;
        let off = usize::from(repr.frag_offset);
        let data = skb.data()[hlen..].to_vec();
        if off == 0 {
            q.first_header = Some(skb.data()[..hlen].to_vec());
        }
        if !repr.more_frags {
            q.total = Some(off + data.len());
        }
        q.pieces.entry(off).or_insert(data);
        self.pool.free(skb);
        // Complete when the pieces cover 0..total without a hole.
        let total = q.total?;
        q.first_header.as_ref()?;
        let mut covered = 0;
        for (&o, d) in &q.pieces {
            if o > covered {
                return None;
            }
            covered = covered.max(o + d.len());
        }
        if covered < total {
            return None;
        }
        let q = n.frags.queues.remove(&key).expect("queue");
        n.frags.keys.remove(&key);
        s.free_timer(q.timer);
        let header = q.first_header.expect("first");
        let mut whole = self.pool.alloc(header.len() + total);
        whole.put_data(&header);
        whole.put(total);
        for (o, d) in &q.pieces {
            let end = (o + d.len()).min(total);
            whole.data_mut()[header.len() + o..header.len() + end].copy_from_slice(&d[..end - o]);
        }
        let mut ip = Ipv4Packet::new_unchecked(whole.data_mut());
        ip.set_total_len((header.len() + total) as u16);
        ip.set_flags_and_offset(repr.dont_frag, false, 0);
        ip.fill_checksum();
        self.nodes[node].snmp.ip.ReasmOKs += 1;
        let repr = Ipv4Repr {
            payload_len: total,
            more_frags: false,
            frag_offset: 0,
            ..repr
        };
        note!(self, whole, "ip_frag_reasm");
        Some((whole, repr))
    }

    /// `ip_expire`: a reassembly queue timed out.
    pub(crate) fn ip_expire(&mut self, s: &mut Scheduler<Event>, node: usize, key: u64) {
        let now = s.now();
        let n = &mut self.nodes[node];
        let Some(q) = n.frags.queues.remove(&key) else {
            return;
        };
        n.frags.keys.remove(&key);
        n.snmp.ip.ReasmTimeout += 1;
        n.snmp.ip.ReasmFails += 1;
        s.free_timer(q.timer);
        if let (Some(h), Some(first)) = (q.first_header, q.pieces.get(&0)) {
            let mut orig = self.pool.alloc(h.len() + first.len());
            orig.put_data(&h);
            orig.put_data(first);
            self.icmp_send(
                s,
                node,
                &orig,
                Icmpv4Repr::TimeExceeded {
                    reason: TimeExceeded::FragReassembly,
                    data: &[],
                },
            );
            self.drop_skb(now, node, q.dev, "ip_expire", orig);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fragments_are_cut_as_ip_frag_next_cuts() {
        let cut = |len, mtu| frag_sizes(len, 20, mtu).collect::<Vec<_>>();
        // 1473 bytes of UDP (1465 of payload + the header) over 1500: 1480 + 1 is too much
        // for one, so 1480 and what is left.
        assert_eq!(cut(1481, 1500), [1480, 1]);
        assert_eq!(cut(1480, 1500), [1480]);
        assert_eq!(cut(20_008, 1500), [&[1480; 13][..], &[768]].concat());
        // MTU 1400: 1380 bytes of room, 1376 in a fragment that is not the last; the last
        // takes up to the whole room.
        assert_eq!(cut(2754, 1400), [1376, 1378]);
        assert_eq!(cut(2757, 1400), [1376, 1376, 5]);
        assert_eq!(cut(0, 1500), Vec::<usize>::new());
    }
}
