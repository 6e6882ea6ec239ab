//! Fragmentation (`ip_fragment`, on output when a datagram exceeds the MTU and DF is clear)
//! and reassembly (`ip_defrag`, on local delivery), as Linux 6.x does them.
//!
//! Fragments carry payloads in multiples of 8 bytes, the same ID, MF on all but the last, and
//! leave in order (Linux's slow path `ip_do_fragment` emits them first to last).
//!
//! Reassembly keeps each fragment's skb in a queue per (source, destination, ID, protocol)
//! and charges the node's fragment memory (`frag_mem_limit`) with its `truesize`, plus
//! [`IPQ_SIZE`] per queue. While that memory is above `net.ipv4.ipfrag_high_thresh` (4 MiB)
//! every fragment is refused (`inet_frag_find` finds nothing; `ReasmFails`), new datagram or
//! not: since Linux 4.17 nothing evicts queues early, they leave when complete or when their
//! timer fires `ipfrag_time` (30 s) after the first fragment (`ip_expire`: `ReasmTimeout`,
//! `ReasmFails`, and an ICMP time exceeded if the first fragment had come).
//! `ipfrag_low_thresh` is kept only as the bound Linux checks `ipfrag_high_thresh` against.
//! A fragment arriving for a queue while more than `ipfrag_max_dist` (64) fragments from the
//! same source went elsewhere restarts the queue (`ip_frag_too_far`, `ReasmFails`): an old
//! queue is not mixed with a new datagram that reuses its IP ID. A duplicate fragment is
//! dropped; one that overlaps others, or contradicts the datagram's end, discards the queue
//! (`ReasmFails`).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use sim_core::{Scheduler, TimerId};

use crate::ctx::NetCtx;
use crate::dev::NetXmit;
use crate::event::Event;
use crate::ip::icmp::icmp_send;
use crate::ip::output::Dst;
use crate::ip::output::ip_finish_output2;
use crate::node::Node;
use crate::skb::{Skb, truesize_for};
use crate::sock::{kfree_skb, kfree_skb_reason, sock_wfree, sock_wmem_transfer};
use crate::wire::{DstUnreachable, Icmpv4Repr, Ipv4Packet, Ipv4Repr, TimeExceeded};

/// `sizeof(struct ipq)`: what a reassembly queue itself counts for in the fragment memory
/// (the `ip4-frags` slab's object size on Linux 6.18, x86_64).
pub const IPQ_SIZE: u64 = 200;

/// What identifies a datagram being reassembled: source, destination, IP ID, protocol
/// (`frag_v4_compare_key`).
type FragKey = (Ipv4Addr, Ipv4Addr, u16, u8);

/// One datagram being reassembled (`struct ipq`).
#[derive(Debug)]
pub struct FragQueue {
    /// The fragments, pulled to their payload, by offset: (end, skb).
    frags: BTreeMap<usize, (usize, Skb)>,
    /// The payload length as far as known: the end of the last fragment once it came, else
    /// the largest end seen (`q.len`).
    len: usize,
    /// Payload bytes held (`q.meat`).
    meat: usize,
    /// The last fragment came (`INET_FRAG_LAST_IN`).
    last_in: bool,
    /// The first fragment's IP header, once it came (`INET_FRAG_FIRST_IN`).
    first_header: Option<Vec<u8>>,
    /// Truesize of the fragments held.
    truesize: u64,
    /// The source's fragment count when this queue last took one (`qp->rid`).
    rid: u32,
    /// The reassembly timer (taken out when the queue is).
    timer: Option<TimerId>,
    /// The number the timer's event carries.
    serial: u64,
    /// The device the fragments arrive on.
    dev: usize,
}

/// Reassembly queues of one node (its `fqdir`).
#[derive(Debug, Default)]
pub struct Reassembly {
    queues: BTreeMap<FragKey, FragQueue>,
    /// The queue of each armed timer's event.
    by_serial: BTreeMap<u64, FragKey>,
    next_serial: u64,
    /// `frag_mem_limit`: [`IPQ_SIZE`] per queue plus the truesize of every fragment held.
    mem: u64,
    /// Fragments received from each source (`inet_peer`'s `rid`), for `ipfrag_max_dist`.
    peers: BTreeMap<Ipv4Addr, u32>,
}

impl Reassembly {
    /// The fragment memory in use, in bytes (`/proc/net/sockstat`'s `FRAG: memory`).
    pub fn mem(&self) -> u64 {
        self.mem
    }

    /// Datagrams being reassembled (`FRAG: inuse`).
    pub fn queues(&self) -> usize {
        self.queues.len()
    }

    /// Takes the queue of `key` out, releasing its memory and its timer.
    fn remove(&mut self, s: &mut Scheduler<Event>, key: &FragKey) -> Option<FragQueue> {
        let mut q = self.queues.remove(key)?;
        if let Some(t) = q.timer.take() {
            s.free_timer(t);
        }
        self.by_serial.remove(&q.serial);
        self.mem -= IPQ_SIZE + q.truesize;
        Some(q)
    }
}

/// Where `ip_frag_queue` put a fragment.
enum Queued {
    /// Pulled to its payload, to be kept; the datagram is not complete yet.
    Waiting(Skb),
    /// Pulled to its payload, to be kept: it completes the datagram.
    Complete(Skb),
    /// A duplicate: dropped, the queue kept.
    Duplicate(Skb),
    /// Inconsistent with the queue (an overlap, a second end, data beyond the end, nothing):
    /// dropped with the whole queue, for this reason.
    Discard(Skb, &'static str),
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

/// `ip_fragment`: splits `skb` (an IP datagram larger than `dst.mtu`) into fragments.
///
/// Fragments of a socket's datagram carry its send-buffer charge, each its own
/// `truesize` (as those of `ip_make_skb`'s frag list do), released at each one's TX
/// completion or drop. A fragment the qdisc refuses (`NET_XMIT_DROP`) ends the datagram
/// as in `ip_do_fragment`: the rest are not sent, `FragFails` instead of `FragOKs`, and
/// the sender learns of the drop.
pub(crate) fn ip_fragment(n: &mut Node, cx: &mut NetCtx<'_>, mut skb: Skb, dst: Dst) -> NetXmit {
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
        return NetXmit::Drop;
    }
    let header = skb.data()[..hlen].to_vec();
    let base_off = usize::from(p.frag_offset());
    let base_mf = p.more_frags();
    let payload = skb.data()[hlen..usize::from(p.total_len()).min(skb.len())].to_vec();
    let sizes: Vec<usize> = frag_sizes(payload.len(), hlen, dst.mtu as usize).collect();
    let priority = skb.priority;
    let (mark, nfct) = (skb.mark, skb.nfct);
    let path = skb.path().to_vec();
    // The fragments take over the datagram's charge: each is charged its own truesize.
    let owner = skb.sock.take();
    let mut uncharged = 0;
    if let Some(o) = owner {
        let total: u32 = sizes.iter().map(|&size| truesize_for(size)).sum();
        sock_wmem_transfer(n, o.sock, skb.truesize, total);
        uncharged = total;
    }
    kfree_skb(n, cx, skb);
    let mut off = 0;
    for (i, &size) in sizes.iter().enumerate() {
        let end = off + size;
        let last = i + 1 == sizes.len();
        let mut f = cx.shared.pool.alloc(hlen + size);
        f.put_data(&header);
        f.put_data(&payload[off..end]);
        f.priority = priority;
        f.mark = mark;
        f.nfct = nfct;
        if owner.is_some() {
            f.sock = owner;
            f.truesize = truesize_for(size);
            uncharged -= f.truesize;
        }
        for p in &path {
            f.note(p);
        }
        let mut ip = Ipv4Packet::new_unchecked(f.data_mut());
        ip.set_total_len((hlen + size) as u16);
        ip.set_flags_and_offset(false, !last || base_mf, (base_off + off) as u16);
        ip.fill_checksum();
        if ip_finish_output2(n, cx, f, dst) == NetXmit::Drop {
            // The output returned NET_XMIT_DROP: the fragments not sent are freed (their
            // charge released) and the datagram's sender sees the drop.
            n.snmp.ip.FragFails += 1;
            if let Some(o) = owner
                && uncharged > 0
            {
                sock_wfree(n, cx, o.sock, uncharged);
            }
            return NetXmit::Drop;
        }
        n.snmp.ip.FragCreates += 1;
        off = end;
    }
    n.snmp.ip.FragOKs += 1;
    NetXmit::Success
}

/// `ip_defrag`: adds a fragment (`skb`, an IP packet); returns the whole datagram when
/// it completed one.
pub(crate) fn ip_defrag(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    skb: Skb,
    repr: Ipv4Repr,
) -> Option<(Skb, Ipv4Repr)> {
    let mut skb = skb;
    note!(cx, skb, "ip_defrag");
    n.snmp.ip.ReasmReqds += 1;
    let high = n.sysctl.ipfrag_high_thresh;
    if high == 0 || n.frags.mem > high {
        // inet_frag_find: over the limit, no queue is found or made, for anyone.
        n.snmp.ip.ReasmFails += 1;
        kfree_skb_reason(n, cx, dev, "ip_defrag(frag_mem_limit)", skb);
        return None;
    }
    let key = (
        repr.src_addr,
        repr.dst_addr,
        repr.ident,
        u8::from(repr.protocol),
    );
    let (time, max_dist) = (n.sysctl.ipfrag_time, n.sysctl.ipfrag_max_dist);
    let frags = &mut n.frags;
    if !frags.queues.contains_key(&key) {
        // inet_frag_create: the queue counts for its struct at once; its timer runs from
        // its first fragment.
        let timer = cx.sched.new_timer();
        let serial = frags.next_serial;
        frags.next_serial += 1;
        cx.sched.arm_in(
            &timer,
            time,
            Event::FragTimer {
                node: n.id,
                key: serial,
            },
        );
        frags.by_serial.insert(serial, key);
        frags.mem += IPQ_SIZE;
        frags.queues.insert(
            key,
            FragQueue {
                frags: BTreeMap::new(),
                len: 0,
                meat: 0,
                last_in: false,
                first_header: None,
                truesize: 0,
                rid: 0,
                timer: Some(timer),
                serial,
                dev,
            },
        );
    }
    // ip_frag_too_far: more than ipfrag_max_dist fragments from this source went to other
    // queues since this one last took one, so what it holds is presumed lost: it starts
    // again (ip_frag_reinit) with this fragment, its timer re-armed.
    if max_dist > 0 {
        let rid = frags.peers.entry(repr.src_addr).or_insert(0);
        *rid = rid.wrapping_add(1);
        let end = *rid;
        let q = frags.queues.get_mut(&key).expect("made above");
        let start = std::mem::replace(&mut q.rid, end);
        if !q.frags.is_empty() && end.wrapping_sub(start) > max_dist {
            n.snmp.ip.ReasmFails += 1;
            let old = std::mem::take(&mut q.frags);
            frags.mem -= q.truesize;
            (q.truesize, q.len, q.meat, q.last_in, q.first_header) = (0, 0, 0, false, None);
            cx.sched.arm_in(
                q.timer.as_ref().expect("a live queue's timer"),
                time,
                Event::FragTimer {
                    node: n.id,
                    key: q.serial,
                },
            );
            for (_, (_, f)) in old {
                kfree_skb_reason(n, cx, dev, "ip_defrag(frag_too_far)", f);
            }
        }
    }
    let q = n.frags.queues.get_mut(&key).expect("made above");
    let off = usize::from(repr.frag_offset);
    match ip_frag_queue(q, skb, &repr, dev) {
        Queued::Waiting(skb) => {
            let truesize = u64::from(skb.truesize);
            q.truesize += truesize;
            q.frags.insert(off, (off + skb.len(), skb));
            n.frags.mem += truesize;
            None
        }
        Queued::Complete(skb) => {
            let truesize = u64::from(skb.truesize);
            q.truesize += truesize;
            q.frags.insert(off, (off + skb.len(), skb));
            n.frags.mem += truesize;
            let q = n.frags.remove(cx.sched, &key).expect("present");
            ip_frag_reasm(n, cx, q, repr)
        }
        Queued::Duplicate(skb) => {
            kfree_skb_reason(n, cx, dev, "ip_defrag(dup_frag)", skb);
            None
        }
        Queued::Discard(skb, why) => {
            n.snmp.ip.ReasmFails += 1;
            let q = n.frags.remove(cx.sched, &key).expect("present");
            for (_, (_, f)) in q.frags {
                kfree_skb_reason(n, cx, dev, why, f);
            }
            kfree_skb_reason(n, cx, dev, why, skb);
            None
        }
    }
}

/// `ip_frag_reasm`: the datagram of the complete queue `q`, behind the first fragment's
/// header. One above 65535 bytes is refused (`ReasmFails`).
fn ip_frag_reasm(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    q: FragQueue,
    repr: Ipv4Repr,
) -> Option<(Skb, Ipv4Repr)> {
    let header = q
        .first_header
        .expect("complete, so the first fragment came");
    let total = q.len;
    if header.len() + total > 65535 {
        n.snmp.ip.ReasmFails += 1;
        for (_, (_, f)) in q.frags {
            kfree_skb_reason(n, cx, q.dev, "ip_frag_reasm(oversize)", f);
        }
        return None;
    }
    let mut whole = cx.shared.pool.alloc(header.len() + total);
    whole.put_data(&header);
    whole.put(total);
    for (o, (end, f)) in q.frags {
        whole.data_mut()[header.len() + o..header.len() + end].copy_from_slice(f.data());
        cx.shared.pool.free(f);
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

/// `ip_expire`: the reassembly queue whose timer carries `serial` timed out.
pub(crate) fn ip_expire(n: &mut Node, cx: &mut NetCtx<'_>, serial: u64) {
    let Some(key) = n.frags.by_serial.get(&serial).copied() else {
        return;
    };
    let mut q = n
        .frags
        .remove(cx.sched, &key)
        .expect("a queue for each serial");
    n.snmp.ip.ReasmTimeout += 1;
    n.snmp.ip.ReasmFails += 1;
    let first = q.frags.remove(&0).map(|(_, f)| f);
    for (_, (_, f)) in q.frags {
        cx.shared.pool.free(f);
    }
    let Some(first) = first else { return };
    // The first fragment came: ICMP time exceeded quotes it.
    let h = q.first_header.expect("the first fragment's header");
    let mut orig = cx.shared.pool.alloc(h.len() + first.len());
    orig.put_data(&h);
    orig.put_data(first.data());
    cx.shared.pool.free(first);
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

/// `ip_frag_queue`: where fragment `skb` (an IP packet, described by `repr`) goes in `q`.
/// A fragment to keep comes back pulled to its payload (trimmed to a multiple of 8 unless it
/// is the last), with `q`'s length, bytes held and flags counting it.
fn ip_frag_queue(q: &mut FragQueue, mut skb: Skb, repr: &Ipv4Repr, dev: usize) -> Queued {
    let hlen = Ipv4Packet::new_unchecked(skb.data()).header_len() as usize;
    let offset = usize::from(repr.frag_offset);
    let mut end = offset + skb.len() - hlen;
    if !repr.more_frags {
        // The last fragment: nothing may lie beyond it, nor may a different end have come.
        if end < q.len || (q.last_in && end != q.len) {
            return Queued::Discard(skb, "ip_defrag(bad_end)");
        }
        q.last_in = true;
        q.len = end;
    } else {
        end &= !7;
        if end > q.len {
            if q.last_in {
                return Queued::Discard(skb, "ip_defrag(beyond_end)");
            }
            q.len = end;
        }
    }
    if end <= offset {
        return Queued::Discard(skb, "ip_defrag(empty)");
    }
    // inet_frag_queue_insert: a fragment wholly inside what is held is a duplicate; one that
    // overlaps it only in part discards the datagram (RFC 5722's rule, which Linux applies to
    // IPv4 too). What is held never overlaps, so the fragments met are in order.
    let mut at = offset;
    let mut met = false;
    let mut gap = false;
    for (&o, &(e, _)) in q.frags.range(..end) {
        if e <= offset {
            continue;
        }
        met = true;
        gap |= o > at;
        at = at.max(e);
    }
    if met {
        return if !gap && at >= end {
            Queued::Duplicate(skb)
        } else {
            Queued::Discard(skb, "ip_defrag(overlap)")
        };
    }
    if offset == 0 {
        q.first_header = Some(skb.data()[..hlen].to_vec());
    }
    skb.pull(hlen);
    skb.trim(end - offset);
    q.meat += end - offset;
    q.dev = dev;
    if q.first_header.is_some() && q.last_in && q.meat == q.len {
        Queued::Complete(skb)
    } else {
        Queued::Waiting(skb)
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
