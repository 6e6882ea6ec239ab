//! IPv6 reassembly (`net/ipv6/reassembly.c`, `ipv6_frag_rcv`), on local delivery.
//!
//! Fragments of one datagram — same source, destination and 32-bit identification — wait in
//! a queue until the last one has come and every byte up to it is there; the datagram is then
//! rebuilt from the first fragment's unfragmentable headers (the Fragment header removed, the
//! Next Header before it given the fragmentable part's protocol) and the data in order, and
//! goes on through `ip6_input_finish`. As in Linux:
//!
//! * an atomic fragment (offset 0, no M flag) is not queued: it is the datagram
//!   (`Ip6ReasmOKs`);
//! * a fragment other than the last whose length is not a multiple of 8 gets Parameter
//!   Problem code 0 pointing at the payload length, and one that would end past 65535 bytes
//!   Parameter Problem pointing at its offset (both `Ip6InHdrErrors`);
//! * overlapping fragments discard the whole queue (RFC 5722; `Ip6ReasmFails`); an exact
//!   duplicate is dropped alone;
//! * `net.ipv6.ip6frag_time` (60 s) after its first fragment an unfinished queue expires:
//!   `Ip6ReasmTimeout`, `Ip6ReasmFails`, and ICMPv6 Time Exceeded code 1 to the source if the
//!   first fragment had come;
//! * while the fragments held exceed `net.ipv6.ip6frag_high_thresh` (4 MiB) every fragment is
//!   refused (`Ip6ReasmFails`).
//!
//! Every fragment counts `Ip6ReasmReqds`; a rebuilt datagram `Ip6ReasmOKs`.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use sim_core::{SimDuration, TimerId};

use crate::ctx::NetCtx;
use crate::event::Event;
use crate::ipv6::icmp::icmp6_send;
use crate::ipv6::ip6_stats as bump;
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::kfree_skb_reason;
use crate::wire::icmpv6::Icmpv6Repr;
use crate::wire::ipv6::{FRAG_HEADER_LEN, Ipv6FragRepr};
use crate::wire::{IpProtocol, Ipv6Repr};

/// `net.ipv6.ip6frag_time`.
pub const IP6FRAG_TIME: SimDuration = SimDuration::from_secs(60);
/// `net.ipv6.ip6frag_high_thresh`.
pub const IP6FRAG_HIGH_THRESH: usize = 4 << 20;

/// What identifies a datagram being reassembled.
type Key = (Ipv6Addr, Ipv6Addr, u32);

/// One datagram being reassembled (`struct frag_queue`).
#[derive(Debug)]
struct Queue {
    /// Fragment data by offset: (end, bytes).
    frags: BTreeMap<usize, (usize, Vec<u8>)>,
    /// The datagram's fragmentable length, once the last fragment came.
    len: Option<usize>,
    /// Bytes held.
    meat: usize,
    /// The first fragment, whole (its headers rebuild the datagram; it is quoted by the
    /// Time Exceeded of an expiry).
    first: Option<Vec<u8>>,
    /// The upper-layer protocol (the Fragment header's Next Header).
    next_header: IpProtocol,
    /// The expiry timer.
    timer: TimerId,
    /// The queue's number, what its timer event names.
    id: u32,
    /// The interface the fragments came in on.
    dev: usize,
}

/// A node's IPv6 reassembly queues.
#[derive(Debug, Default)]
pub struct Frag6Queues {
    queues: BTreeMap<Key, Queue>,
    /// Key of each queue number (numbers are not reused while a queue lives).
    ids: BTreeMap<u32, Key>,
    next_id: u32,
    /// Fragment bytes held, all queues (`frag_mem_limit`).
    mem: usize,
}

impl Frag6Queues {
    /// Queues waiting for fragments.
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }
}

/// Where the Fragment header of `packet` (a whole IPv6 packet) starts, and the offset of
/// the Next Header field that names it.
fn frag_header_at(packet: &[u8]) -> Option<(usize, usize)> {
    let (mut at, mut nh_at) = (40usize, 6usize);
    loop {
        match IpProtocol::from(*packet.get(nh_at)?) {
            IpProtocol::Ipv6Frag => return Some((at, nh_at)),
            IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts => {
                let l = *packet.get(at + 1)?;
                nh_at = at;
                at += (usize::from(l) + 1) * 8;
            }
            _ => return None,
        }
    }
}

/// `ipv6_frag_rcv`: `skb` is a whole IPv6 packet with a Fragment header. The rebuilt
/// datagram and its header, when this fragment completed one.
pub(crate) fn ipv6_frag_rcv(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    dev: usize,
    mut skb: Skb,
    repr: &Ipv6Repr,
) -> Option<(Skb, Ipv6Repr)> {
    note!(cx, skb, "ipv6_frag_rcv");
    bump(n, dev, |s| s.Ip6ReasmReqds += 1);
    let data = skb.data();
    let Some((fh, nh_at)) = frag_header_at(data) else {
        bump(n, dev, |s| s.Ip6InHdrErrors += 1);
        kfree_skb_reason(n, cx, dev, "ipv6_frag_rcv(bad_header)", skb);
        return None;
    };
    let Ok(frag) = data
        .get(fh..fh + FRAG_HEADER_LEN)
        .ok_or(crate::wire::Error::Truncated)
        .and_then(Ipv6FragRepr::parse)
    else {
        bump(n, dev, |s| s.Ip6InHdrErrors += 1);
        kfree_skb_reason(n, cx, dev, "ipv6_frag_rcv(truncated)", skb);
        return None;
    };
    let start = fh + FRAG_HEADER_LEN;
    let offset = usize::from(frag.offset) * 8;
    let len = data.len() - start;
    if offset == 0 && !frag.more_frags {
        // An atomic fragment: the datagram itself, without its Fragment header.
        bump(n, dev, |s| s.Ip6ReasmOKs += 1);
        let mut whole = data[..fh].to_vec();
        whole[nh_at] = u8::from(frag.next_header);
        whole.extend_from_slice(&data[start..]);
        return Some(rebuilt(n, cx, skb, whole, repr));
    }
    if frag.more_frags && len % 8 != 0 {
        param_problem(n, cx, dev, skb, 4);
        return None;
    }
    if offset + len > 65535 - (fh - 40) {
        param_problem(n, cx, dev, skb, fh as u32 + 2);
        return None;
    }
    if n.frags6.mem + skb.truesize as usize > IP6FRAG_HIGH_THRESH {
        bump(n, dev, |s| s.Ip6ReasmFails += 1);
        kfree_skb_reason(n, cx, dev, "ipv6_frag_rcv(mem_limit)", skb);
        return None;
    }
    let key = (repr.src_addr, repr.dst_addr, frag.ident);
    if !n.frags6.queues.contains_key(&key) {
        let id = n.frags6.next_id;
        n.frags6.next_id = n.frags6.next_id.wrapping_add(1);
        let timer = cx.sched.new_timer();
        let at = n.timer_expiry(cx.now, IP6FRAG_TIME);
        cx.sched
            .arm(&timer, at, Event::Frag6Timer { node: n.id, id });
        n.frags6.ids.insert(id, key);
        n.frags6.queues.insert(
            key,
            Queue {
                frags: BTreeMap::new(),
                len: None,
                meat: 0,
                first: None,
                next_header: frag.next_header,
                timer,
                id,
                dev,
            },
        );
    }
    let q = n.frags6.queues.get_mut(&key).expect("present");
    let end = offset + len;
    // Exact duplicate: dropped alone; any other overlap: the whole queue goes (RFC 5722).
    if q.frags.get(&offset).is_some_and(|(e, _)| *e == end) {
        kfree_skb_reason(n, cx, dev, "ipv6_frag_rcv(duplicate)", skb);
        return None;
    }
    let overlaps = q
        .frags
        .range(..end)
        .next_back()
        .is_some_and(|(_, &(e, _))| e > offset);
    let bad_end = match q.len {
        Some(l) => end > l || (!frag.more_frags && end != l),
        None => !frag.more_frags && q.frags.values().any(|(e, _)| *e > end),
    };
    if overlaps || bad_end {
        drop_queue(n, cx, key);
        bump(n, dev, |s| s.Ip6ReasmFails += 1);
        kfree_skb_reason(n, cx, dev, "ipv6_frag_rcv(overlap)", skb);
        return None;
    }
    let bytes = data[start..].to_vec();
    if offset == 0 {
        q.first = Some(data.to_vec());
    }
    if !frag.more_frags {
        q.len = Some(end);
    }
    q.meat += len;
    q.frags.insert(offset, (end, bytes));
    n.frags6.mem += len;
    let q = n.frags6.queues.get(&key).expect("present");
    let complete = q.len == Some(q.meat) && q.first.is_some();
    if !complete {
        crate::sock::kfree_skb(n, cx, skb);
        return None;
    }
    let q = n.frags6.queues.remove(&key).expect("present");
    n.frags6.ids.remove(&q.id);
    n.frags6.mem -= q.meat;
    cx.sched.cancel(&q.timer);
    let first = q.first.expect("complete");
    let (fh, nh_at) = frag_header_at(&first).expect("checked when queued");
    let mut whole = first[..fh].to_vec();
    whole[nh_at] = u8::from(q.next_header);
    for (_, (_, b)) in q.frags {
        whole.extend_from_slice(&b);
    }
    bump(n, dev, |s| s.Ip6ReasmOKs += 1);
    Some(rebuilt(n, cx, skb, whole, repr))
}

/// The datagram `whole` (headers and payload) as an skb, its payload length set.
fn rebuilt(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    skb: Skb,
    mut whole: Vec<u8>,
    repr: &Ipv6Repr,
) -> (Skb, Ipv6Repr) {
    let payload_len = whole.len() - 40;
    whole[4..6].copy_from_slice(&(payload_len.min(65535) as u16).to_be_bytes());
    let mut out = cx.shared.pool.alloc_copy(&whole);
    out.pkt_type = skb.pkt_type;
    note!(cx, out, "ip6_frag_reasm");
    crate::sock::kfree_skb(n, cx, skb);
    let repr = Ipv6Repr {
        next_header: IpProtocol::from(whole[6]),
        payload_len,
        ..*repr
    };
    (out, repr)
}

fn param_problem(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, skb: Skb, pointer: u32) {
    bump(n, dev, |s| s.Ip6InHdrErrors += 1);
    icmp6_send(
        n,
        cx,
        dev,
        &skb,
        &Icmpv6Repr::ParamProblem {
            code: 0,
            pointer,
            data: &[],
        },
    );
    kfree_skb_reason(n, cx, dev, "ipv6_frag_rcv(param_problem)", skb);
}

fn drop_queue(n: &mut Node, cx: &mut NetCtx<'_>, key: Key) {
    if let Some(q) = n.frags6.queues.remove(&key) {
        n.frags6.ids.remove(&q.id);
        n.frags6.mem -= q.meat;
        cx.sched.cancel(&q.timer);
    }
}

/// `ip6_frag_expire`: queue `id`'s time is up.
pub(crate) fn ip6_frag_expire(n: &mut Node, cx: &mut NetCtx<'_>, id: u32) {
    let Some(key) = n.frags6.ids.remove(&id) else {
        return;
    };
    let Some(q) = n.frags6.queues.remove(&key) else {
        return;
    };
    n.frags6.mem -= q.meat;
    let dev = q.dev;
    bump(n, dev, |s| {
        s.Ip6ReasmTimeout += 1;
        s.Ip6ReasmFails += 1;
    });
    if let Some(first) = q.first {
        let skb = cx.shared.pool.alloc_copy(&first);
        icmp6_send(
            n,
            cx,
            dev,
            &skb,
            &Icmpv6Repr::TimeExceeded { code: 1, data: &[] },
        );
        cx.shared.pool.free(skb);
    }
}
