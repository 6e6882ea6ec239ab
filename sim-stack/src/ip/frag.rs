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

use sim_core::{SimDuration, TimerId};

use crate::ctx::NetCtx;
use crate::event::Event;
use crate::ip::icmp::icmp_send;
use crate::ip::output::Dst;
use crate::ip::output::ip_finish_output2;
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::{kfree_skb, kfree_skb_reason};
use crate::wire::{DstUnreachable, Icmpv4Repr, Ipv4Packet, Ipv4Repr, TimeExceeded};

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

/// `ip_fragment`: splits `skb` (an IP datagram larger than `dst.mtu`) into fragments.
pub(crate) fn ip_fragment(n: &mut Node, cx: &mut NetCtx<'_>, mut skb: Skb, dst: Dst) {
    note!(cx, skb, "ip_fragment");
    let p = Ipv4Packet::new_unchecked(skb.data());
    let hlen = p.header_len() as usize;
    if p.dont_frag() {
        n.snmp.ip.FragFails += 1;
        let local = n.is_local_addr(p.src_addr());
        if local {
            // A local sender learns EMSGSIZE (the socket layer checks this before sending).
            kfree_skb_reason(n, cx, dst.dev, "ip_fragment(EMSGSIZE)", skb);
        } else {
            icmp_send(
                n,
                cx,
                &skb,
                Icmpv4Repr::DstUnreachable {
                    reason: DstUnreachable::FragRequired,
                    next_hop_mtu: dst.mtu.min(65535) as u16,
                    data: &[],
                },
            );
            kfree_skb_reason(n, cx, dst.dev, "ip_fragment(frag_needed)", skb);
        }
        return;
    }
    let header = skb.data()[..hlen].to_vec();
    let base_off = usize::from(p.frag_offset());
    let base_mf = p.more_frags();
    let payload = skb.data()[hlen..usize::from(p.total_len()).min(skb.len())].to_vec();
    let per = ((dst.mtu as usize - hlen) / 8) * 8;
    let mut off = 0;
    let priority = skb.priority;
    let path = skb.path().to_vec();
    kfree_skb(n, cx, skb);
    while off < payload.len() {
        let end = (off + per).min(payload.len());
        let last = end == payload.len();
        let mut f = cx.pool.alloc(hlen + end - off);
        f.put_data(&header);
        f.put_data(&payload[off..end]);
        f.priority = priority;
        for p in &path {
            f.note(p);
        }
        let mut ip = Ipv4Packet::new_unchecked(f.data_mut());
        ip.set_total_len((hlen + end - off) as u16);
        ip.set_flags_and_offset(false, !last || base_mf, (base_off + off) as u16);
        ip.fill_checksum();
        n.snmp.ip.FragCreates += 1;
        // The model sends every fragment whatever the device said of the previous one.
        let _ = ip_finish_output2(n, cx, f, dst);
        off = end;
    }
    n.snmp.ip.FragOKs += 1;
}

/// `ip_defrag`: adds a fragment; returns the whole datagram when complete.
#[allow(clippy::map_entry)]
pub(crate) fn ip_defrag(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    mut skb: Skb,
    repr: Ipv4Repr,
) -> Option<(Skb, Ipv4Repr)> {
    note!(cx, skb, "ip_defrag");
    let key = frag_key(&repr);
    n.snmp.ip.ReasmReqds += 1;
    if !n.frags.queues.contains_key(&key) {
        let timer = cx.sched.new_timer();
        cx.sched
            .arm_in(&timer, IPFRAG_TIME, Event::FragTimer { node: n.id, key });
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
    cx.pool.free(skb);
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
    cx.sched.free_timer(q.timer);
    let header = q.first_header.expect("first");
    let mut whole = cx.pool.alloc(header.len() + total);
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
    n.snmp.ip.ReasmOKs += 1;
    let repr = Ipv4Repr {
        payload_len: total,
        more_frags: false,
        frag_offset: 0,
        ..repr
    };
    note!(cx, whole, "ip_frag_reasm");
    Some((whole, repr))
}

/// `ip_expire`: a reassembly queue timed out.
pub(crate) fn ip_expire(n: &mut Node, cx: &mut NetCtx<'_>, key: u64) {
    let Some(q) = n.frags.queues.remove(&key) else {
        return;
    };
    n.frags.keys.remove(&key);
    n.snmp.ip.ReasmTimeout += 1;
    n.snmp.ip.ReasmFails += 1;
    cx.sched.free_timer(q.timer);
    if let (Some(h), Some(first)) = (q.first_header, q.pieces.get(&0)) {
        let mut orig = cx.pool.alloc(h.len() + first.len());
        orig.put_data(&h);
        orig.put_data(first);
        icmp_send(
            n,
            cx,
            &orig,
            Icmpv4Repr::TimeExceeded {
                reason: TimeExceeded::FragReassembly,
                data: &[],
            },
        );
        kfree_skb_reason(n, cx, q.dev, "ip_expire", orig);
    }
}
