//! `fq_codel`, fair queueing with CoDel (`net/sched/sch_fq_codel.c`).
//!
//! Packets are hashed into `flows` queues by `skb.hash % flows` (the caller computes the
//! hash of the 5-tuple; a hash of 0 lands in flow 0). Each flow is a FIFO with its own CoDel
//! state ([`super::codel`]). Flows with packets sit on one of two lists: *new flows* (which
//! just became active) are served before *old flows*, which gives sparse flows — a DNS query,
//! a TCP SYN or ACK — low latency. Service is deficit round robin: a flow may send while its
//! deficit is positive; each packet sent subtracts its length, and a flow whose deficit is
//! spent gets `quantum` more and moves to the tail of the old list. A new flow that empties is
//! moved to the old list (if that list has flows), so a flow cannot stay "new" by sending in
//! short bursts; an old flow that empties leaves the lists.
//!
//! When the qdisc exceeds `limit` packets or `memory_limit` bytes of `truesize`, enqueue
//! finds the flow with the largest byte backlog and drops packets from its head — up to
//! `drop_batch_size` of them, stopping once half that flow's backlog is gone — and raises that
//! flow's CoDel `count` by the number dropped (`fq_codel_drop`).
//!
//! What differs from Linux, and why:
//! * The hash is reduced with `% flows` rather than `reciprocal_scale` (`hash × flows >> 32`),
//!   so that simple caller-chosen hashes spread over the flows too.
//! * Linux answers `NET_XMIT_CN` when its overlimit drops hit the new packet's own flow. The
//!   model answers [`Enqueue::Dropped`] when the new packet itself was among them (the caller
//!   must free it) and [`Enqueue::Queued`] otherwise. The other packets dropped on enqueue
//!   are collected with [`FqCodel::drain_enqueue_drops`] (or handed over by the next dequeue).
//! * Not modeled: tc filters and `skb->priority` classification, `ce_threshold_selector`,
//!   per-flow statistics dumps (`tc -s class`).
//!
//! Memory: Linux allocates all `flows` queues when the qdisc is created (64 KiB for 1024).
//! Here a flow's queue and CoDel state are allocated the first time a packet hashes to it
//! and kept from then on, so an interface that sees one flow holds one; behaviour is the same
//! because a flow never used is indistinguishable from a fresh one. (A star of 1000 hosts has
//! 2000 fq_codel interfaces: allocating every flow up front cost 200 MB.)

use std::collections::VecDeque;

use serde::Serialize;
use sim_core::{SimDuration, SimTime};

use super::codel::{CodelParams, CodelQueue, CodelStats, CodelVars, codel_dequeue};
use super::{Dequeue, Enqueue, QdiscCore, QdiscError, QdiscStats, pkt_len};
use crate::skb::Skb;

/// Largest quantum Linux accepts (`FQ_CODEL_QUANTUM_MAX`).
pub const FQ_CODEL_QUANTUM_MAX: u32 = 1 << 20;
/// Most flows Linux accepts.
pub const FQ_CODEL_FLOWS_MAX: u32 = 65536;

/// fq_codel's parameters, as `tc qdisc add ... fq_codel` takes them. `Default` gives Linux's
/// defaults for an Ethernet device with a 1500-byte MTU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FqCodelParams {
    /// Packets the qdisc may hold (default 10240).
    pub limit: u32,
    /// Number of flow queues (default 1024; 1..=65536).
    pub flows: u32,
    /// CoDel target sojourn time (default 5 ms).
    pub target: SimDuration,
    /// CoDel interval (default 100 ms).
    pub interval: SimDuration,
    /// Bytes a flow may send per round (default `psched_mtu(dev)` = MTU + Ethernet header =
    /// 1514). Values below 256 are raised to 256, as Linux does.
    pub quantum: u32,
    /// Bytes of `truesize` the qdisc may hold (default 32 MiB, at most 2 GiB).
    pub memory_limit: u32,
    /// CE-mark ECN-capable packets instead of dropping them (Linux default: on).
    pub ecn: bool,
    /// CE-mark ECN-capable packets whose sojourn time is above this (`ce_threshold`; off by
    /// default).
    pub ce_threshold: Option<SimDuration>,
    /// Most packets one overlimit event drops (default 64; at least 1).
    pub drop_batch_size: u32,
    /// Backlog in bytes at or below which CoDel never drops (`psched_mtu(dev)`, 1514 on
    /// Ethernet with a 1500-byte MTU). Not a tc option: Linux takes it from the device.
    pub mtu: u32,
}

impl Default for FqCodelParams {
    fn default() -> Self {
        Self {
            limit: 10 * 1024,
            flows: 1024,
            target: SimDuration::from_millis(5),
            interval: SimDuration::from_millis(100),
            quantum: 1514,
            memory_limit: 32 << 20,
            ecn: true,
            ce_threshold: None,
            drop_batch_size: 64,
            mtu: 1514,
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// fq_codel's extra counters, named as `tc -s qdisc` prints them (`tc_fq_codel_qd_stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FqCodelStats {
    /// Largest packet CoDel has seen at dequeue, bytes.
    pub maxpacket: u32,
    /// Packets dropped because the qdisc was over `limit` or `memory_limit`.
    pub drop_overlimit: u64,
    /// Times a flow became active (joined the new-flows list).
    pub new_flow_count: u64,
    /// Packets CE-marked instead of dropped.
    pub ecn_mark: u64,
    /// Packets CE-marked above `ce_threshold` (`tc` prints it only when not zero).
    #[serde(skip_serializing_if = "is_zero")]
    pub ce_mark: u64,
    /// Flows on the new-flows list now.
    pub new_flows_len: u32,
    /// Flows on the old-flows list now.
    pub old_flows_len: u32,
    /// Of `drop_overlimit`, drops while over `memory_limit`.
    pub drop_overmemory: u64,
    /// `truesize` bytes held now.
    pub memory_used: u64,
}

/// One flow queue (`struct fq_codel_flow`) and its byte backlog (`q->backlogs[i]`).
#[derive(Debug, Default)]
struct Flow {
    /// Its number, `hash % flows`.
    id: u32,
    queue: VecDeque<Skb>,
    backlog: u64,
    deficit: i64,
    /// On the new or the old list (the kernel's non-empty `flowchain`).
    listed: bool,
    cvars: CodelVars,
}

/// Which flows have been allocated, and where: flow number → index in `FqCodel::flows`.
/// A short list while few flows are in use (most interfaces), a full table once more are.
#[derive(Debug)]
enum FlowIndex {
    /// `(flow number, slot)` of each flow in use, at most `SPARSE_MAX`.
    Sparse(Vec<(u32, u32)>),
    /// By flow number: slot + 1, or 0 for a flow never used.
    Dense(Box<[u32]>),
}

impl FlowIndex {
    /// Flows in use beyond which the table replaces the list.
    const SPARSE_MAX: usize = 8;

    #[inline]
    fn get(&self, id: u32) -> Option<usize> {
        match self {
            Self::Sparse(v) => v.iter().find(|&&(f, _)| f == id).map(|&(_, s)| s as usize),
            Self::Dense(t) => t[id as usize].checked_sub(1).map(|s| s as usize),
        }
    }

    fn insert(&mut self, id: u32, slot: u32, nflows: u32) {
        match self {
            Self::Sparse(v) => {
                v.push((id, slot));
                if v.len() > Self::SPARSE_MAX {
                    let mut t = vec![0u32; nflows as usize].into_boxed_slice();
                    for &(f, s) in v.iter() {
                        t[f as usize] = s + 1;
                    }
                    *self = Self::Dense(t);
                }
            }
            Self::Dense(t) => t[id as usize] = slot + 1,
        }
    }
}

/// The state of a flow never used, what [`FqCodel::flow_vars`] shows for one: shared, not
/// one copy per qdisc (48 bytes on each of a star router's 10^5 interfaces).
static FRESH: CodelVars = CodelVars {
    count: 0,
    lastcount: 0,
    dropping: false,
    rec_inv_sqrt: 0,
    first_above_time: None,
    drop_next: SimTime::ZERO,
    ldelay: SimDuration::ZERO,
};

/// Fair queueing over hashed flows, each managed by CoDel.
#[derive(Debug)]
pub struct FqCodel {
    /// The flows used so far, in order of first use (see the module doc).
    flows: Vec<Flow>,
    index: FlowIndex,
    /// The configured number of flows.
    nflows: u32,
    /// Slots (indices into `flows`) of the flows on each list.
    new_flows: VecDeque<u32>,
    old_flows: VecDeque<u32>,
    limit: u32,
    quantum: u32,
    memory_limit: u32,
    drop_batch_size: u32,
    cparams: CodelParams,
    cstats: CodelStats,
    memory_usage: u64,
    drop_overlimit: u64,
    drop_overmemory: u64,
    new_flow_count: u64,
    /// Packets dropped by enqueue overlimit handling, not yet handed to the caller.
    enqueue_drops: Vec<Skb>,
    core: QdiscCore,
}

impl FqCodel {
    /// An fq_codel with these parameters (`fq_codel_init` + `fq_codel_change`): out-of-range
    /// `quantum`, `drop_batch_size` and `memory_limit` are clamped as Linux clamps them; a flow
    /// count outside 1..=65536 or a quantum above 1 MiB is refused.
    pub fn new(p: FqCodelParams) -> Result<Self, QdiscError> {
        if p.flows == 0 || p.flows > FQ_CODEL_FLOWS_MAX {
            return Err(QdiscError::FlowCount(p.flows));
        }
        if p.quantum > FQ_CODEL_QUANTUM_MAX {
            return Err(QdiscError::QuantumTooLarge(p.quantum));
        }
        Ok(Self {
            flows: Vec::new(),
            index: FlowIndex::Sparse(Vec::new()),
            nflows: p.flows,
            new_flows: VecDeque::new(),
            old_flows: VecDeque::new(),
            limit: p.limit,
            quantum: p.quantum.max(256),
            memory_limit: p.memory_limit.min(1 << 31),
            drop_batch_size: p.drop_batch_size.max(1),
            cparams: CodelParams {
                target: p.target,
                interval: p.interval,
                mtu: p.mtu,
                ecn: p.ecn,
                ce_threshold: p.ce_threshold,
            },
            cstats: CodelStats::default(),
            memory_usage: 0,
            drop_overlimit: 0,
            drop_overmemory: 0,
            new_flow_count: 0,
            enqueue_drops: Vec::new(),
            core: QdiscCore::default(),
        })
    }

    /// The flow a packet with this hash goes to.
    pub fn flow_of(&self, hash: u32) -> usize {
        (hash % self.nflows) as usize
    }

    /// The CoDel state of flow `idx` (for tracing and tests).
    pub fn flow_vars(&self, idx: usize) -> &CodelVars {
        match self.index.get(idx as u32) {
            Some(slot) => &self.flows[slot].cvars,
            None => &FRESH,
        }
    }

    /// Packets queued in flow `idx`.
    pub fn flow_len(&self, idx: usize) -> usize {
        self.index
            .get(idx as u32)
            .map_or(0, |slot| self.flows[slot].queue.len())
    }

    /// The slot of flow `id`, allocating it on first use.
    #[inline]
    fn slot(&mut self, id: u32) -> usize {
        match self.index.get(id) {
            Some(slot) => slot,
            None => self.alloc_flow(id),
        }
    }

    #[cold]
    #[inline(never)]
    fn alloc_flow(&mut self, id: u32) -> usize {
        let slot = self.flows.len();
        if slot < 4 {
            // Most interfaces only ever see a flow or two (ARP and one UDP or TCP flow on a
            // host's link to its router, or on each of a star router's interfaces): room for
            // those, not the four (416 bytes) a first push makes; doubling from four on.
            self.flows.reserve_exact(1);
        }
        self.flows.push(Flow {
            id,
            ..Flow::default()
        });
        self.index.insert(id, slot as u32, self.nflows);
        slot
    }

    /// `fq_codel_enqueue`.
    pub fn enqueue(&mut self, mut skb: Skb, now: SimTime) -> Enqueue {
        let idx = self.slot(self.flow_of(skb.hash) as u32);
        let len = pkt_len(&skb);
        let truesize = u64::from(skb.truesize);
        skb.enqueue_time = now;
        let flow = &mut self.flows[idx];
        flow.queue.push_back(skb);
        flow.backlog += len;
        self.core.add(len);
        if !flow.listed {
            flow.listed = true;
            flow.deficit = i64::from(self.quantum);
            self.new_flows.push_back(idx as u32);
            self.new_flow_count += 1;
        }
        self.memory_usage += truesize;
        let memory_limited = self.memory_usage > u64::from(self.memory_limit);
        if self.core.stats.qlen <= u64::from(self.limit) && !memory_limited {
            return Enqueue::Queued;
        }
        // Over a limit: drop a batch from the fattest flow.
        let prev_qlen = self.core.stats.qlen;
        let fat = self.drop_fattest();
        let dropped = prev_qlen - self.core.stats.qlen;
        self.drop_overlimit += dropped;
        if memory_limited {
            self.drop_overmemory += dropped;
        }
        // Head drops reach the new packet (the flow's tail) only if they emptied its flow.
        if fat == idx && self.flows[idx].queue.is_empty() {
            let skb = self
                .enqueue_drops
                .pop()
                .expect("the new packet was dropped last");
            return Enqueue::Dropped(skb);
        }
        Enqueue::Queued
    }

    /// Sends `skb` straight through an idle qdisc: `Ok(skb)` after making exactly the
    /// changes that [`enqueue`](Self::enqueue), the [`dequeue`](Self::dequeue) that returns
    /// the packet and the one that then finds the qdisc empty make together; `Err(skb)`,
    /// untouched, when the qdisc holds anything (a packet, a listed flow, a pending drop) or
    /// the packet would be over a limit by itself. The caller must hand the packet to the
    /// driver at once (the ring has room). Linux runs the full enqueue and dequeues here
    /// (fq_codel has no `TCQ_F_CAN_BYPASS`); this is the same result without the list and
    /// CoDel round trips, and the common case on any interface that is not a bottleneck.
    #[inline]
    pub fn pass_through_idle(&mut self, mut skb: Skb, now: SimTime) -> Result<Skb, Skb> {
        let idle = self.core.stats.qlen == 0
            && self.new_flows.is_empty()
            && self.old_flows.is_empty()
            && self.enqueue_drops.is_empty();
        if !idle || self.limit == 0 || u64::from(skb.truesize) > u64::from(self.memory_limit) {
            return Err(skb);
        }
        debug_assert_eq!(self.memory_usage, 0);
        debug_assert_eq!(self.core.requeued_len(), 0);
        let idx = self.slot(self.flow_of(skb.hash) as u32);
        let len = pkt_len(&skb);
        skb.enqueue_time = now;
        // Enqueue: the flow becomes new with a fresh quantum.
        self.new_flow_count += 1;
        // First dequeue: CoDel sees a sojourn of 0 with nothing left behind the packet
        // (below target, so no drop, and the dropping state ends), and the flow pays `len`.
        let maxpacket = u32::try_from(len).unwrap_or(u32::MAX);
        if maxpacket > self.cstats.maxpacket {
            self.cstats.maxpacket = maxpacket;
        }
        self.core.sent(len, skb.gso_segs);
        let flow = &mut self.flows[idx];
        debug_assert!(!flow.listed && flow.queue.is_empty());
        flow.cvars.ldelay = SimDuration::ZERO;
        flow.cvars.first_above_time = None;
        // Second dequeue: an exhausted deficit is topped up, a quantum per pass through the
        // old list, until positive; then CoDel finds the flow empty (leaving the dropping
        // state) and the flow leaves the lists.
        let mut deficit = i64::from(self.quantum) - len as i64;
        while deficit <= 0 {
            deficit += i64::from(self.quantum);
        }
        flow.deficit = deficit;
        flow.cvars.dropping = false;
        Ok(skb)
    }

    /// `fq_codel_drop`: drops from the head of the flow with the largest backlog (the lowest
    /// flow number on ties; flow 0 when nothing is queued) until half of its backlog is gone
    /// or `drop_batch_size` packets are. Returns the flow's slot.
    fn drop_fattest(&mut self) -> usize {
        let mut maxbacklog = 0;
        let mut fattest: Option<(u32, usize)> = None;
        for (i, f) in self.flows.iter().enumerate() {
            let better = f.backlog > maxbacklog
                || (f.backlog == maxbacklog
                    && maxbacklog > 0
                    && fattest.is_some_and(|(id, _)| f.id < id));
            if better {
                maxbacklog = f.backlog;
                fattest = Some((f.id, i));
            }
        }
        let idx = match fattest {
            Some((_, slot)) => slot,
            None => self.slot(0),
        };
        let threshold = maxbacklog >> 1;
        let flow = &mut self.flows[idx];
        let (mut len, mut mem, mut i) = (0u64, 0u64, 0u32);
        while let Some(skb) = flow.queue.pop_front() {
            len += pkt_len(&skb);
            mem += u64::from(skb.truesize);
            self.enqueue_drops.push(skb);
            i += 1;
            if i >= self.drop_batch_size || len >= threshold {
                break;
            }
        }
        // Tell CoDel to increase its signal strength too.
        flow.cvars.count = flow.cvars.count.wrapping_add(i);
        flow.backlog -= len;
        self.memory_usage -= mem;
        self.core.stats.drops += u64::from(i);
        self.core.stats.backlog -= len;
        self.core.stats.qlen -= u64::from(i);
        idx
    }

    /// Moves the packets dropped by earlier enqueues (other than the enqueued packet itself)
    /// to `out`.
    pub fn drain_enqueue_drops(&mut self, out: &mut Vec<Skb>) {
        out.append(&mut self.enqueue_drops);
    }

    /// `fq_codel_dequeue`: deficit round robin over new then old flows, CoDel per flow.
    pub fn dequeue(&mut self, now: SimTime, dropped: &mut Vec<Skb>) -> Dequeue {
        if !self.enqueue_drops.is_empty() {
            dropped.append(&mut self.enqueue_drops);
        }
        if let Some(skb) = self.core.take_requeued() {
            return Dequeue::Packet(skb);
        }
        loop {
            let (from_new, idx) = match (self.new_flows.front(), self.old_flows.front()) {
                (Some(&i), _) => (true, i as usize),
                (None, Some(&i)) => (false, i as usize),
                (None, None) => return Dequeue::Empty,
            };
            let flow = &mut self.flows[idx];
            if flow.deficit <= 0 {
                flow.deficit += i64::from(self.quantum);
                self.pop_head(from_new);
                self.old_flows.push_back(idx as u32);
                continue;
            }
            let mut fq = FlowQueue {
                queue: &mut flow.queue,
                flow_backlog: &mut flow.backlog,
                memory_usage: &mut self.memory_usage,
                core: &mut self.core,
                dropped,
            };
            let skb = codel_dequeue(
                &mut fq,
                &self.cparams,
                &mut flow.cvars,
                &mut self.cstats,
                now,
            );
            let Some(skb) = skb else {
                // Force a pass through old flows to prevent starvation.
                self.pop_head(from_new);
                if from_new && !self.old_flows.is_empty() {
                    self.old_flows.push_back(idx as u32);
                } else {
                    self.flows[idx].listed = false;
                }
                continue;
            };
            let len = pkt_len(&skb);
            self.core.sent(len, skb.gso_segs);
            self.flows[idx].deficit -= len as i64;
            return Dequeue::Packet(skb);
        }
    }

    /// Removes the flow at the head of the new (or old) list.
    fn pop_head(&mut self, from_new: bool) {
        if from_new {
            self.new_flows.pop_front();
        } else {
            self.old_flows.pop_front();
        }
    }

    /// `dev_requeue_skb`. The requeued packet is not examined by CoDel again.
    pub fn requeue(&mut self, skb: Skb) {
        self.core.requeue(skb);
    }

    /// The `tc -s qdisc` counters.
    pub fn stats(&self) -> &QdiscStats {
        &self.core.stats
    }

    /// The parameters in force, after Linux's clamping (what `fq_codel_dump` reports).
    pub fn params(&self) -> FqCodelParams {
        FqCodelParams {
            limit: self.limit,
            flows: self.nflows,
            target: self.cparams.target,
            interval: self.cparams.interval,
            quantum: self.quantum,
            memory_limit: self.memory_limit,
            ecn: self.cparams.ecn,
            ce_threshold: self.cparams.ce_threshold,
            drop_batch_size: self.drop_batch_size,
            mtu: self.cparams.mtu,
        }
    }

    /// The fq_codel-specific counters (`fq_codel_dump_stats`).
    pub fn xstats(&self) -> FqCodelStats {
        FqCodelStats {
            maxpacket: self.cstats.maxpacket,
            drop_overlimit: self.drop_overlimit,
            new_flow_count: self.new_flow_count,
            ecn_mark: self.cstats.ecn_mark,
            ce_mark: self.cstats.ce_mark,
            new_flows_len: self.new_flows.len() as u32,
            old_flows_len: self.old_flows.len() as u32,
            drop_overmemory: self.drop_overmemory,
            memory_used: self.memory_usage,
        }
    }

    /// Packets waiting in the requeue slot (already counted in Sent, see [`QdiscStats`]).
    pub fn requeued_len(&self) -> usize {
        self.core.requeued_len()
    }
}

/// One flow seen as CoDel's queue (`dequeue_func` / `drop_func`).
struct FlowQueue<'a> {
    queue: &'a mut VecDeque<Skb>,
    flow_backlog: &'a mut u64,
    memory_usage: &'a mut u64,
    core: &'a mut QdiscCore,
    dropped: &'a mut Vec<Skb>,
}

impl CodelQueue for FlowQueue<'_> {
    fn dequeue(&mut self) -> Option<Skb> {
        let skb = self.queue.pop_front()?;
        let len = pkt_len(&skb);
        *self.flow_backlog -= len;
        *self.memory_usage -= u64::from(skb.truesize);
        self.core.remove(len);
        Some(skb)
    }

    fn backlog(&self) -> u64 {
        self.core.stats.backlog
    }

    fn drop(&mut self, skb: Skb) {
        self.core.stats.drops += 1;
        self.dropped.push(skb);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::qdisc::test_util::pkt;
    use crate::skb::SkbPool;

    const MS: u64 = 1_000_000;

    #[test]
    fn a_flow_never_used_shows_a_fresh_codel_state() {
        assert_eq!(FRESH, CodelVars::default());
        let q = FqCodel::new(params()).unwrap();
        assert_eq!(*q.flow_vars(17), CodelVars::default());
    }

    fn params() -> FqCodelParams {
        FqCodelParams::default()
    }

    #[test]
    fn defaults_are_linux_defaults() {
        let p = FqCodelParams::default();
        assert_eq!(
            (
                p.limit,
                p.flows,
                p.quantum,
                p.memory_limit,
                p.drop_batch_size
            ),
            (10240, 1024, 1514, 32 * 1024 * 1024, 64)
        );
        assert_eq!(p.target, SimDuration::from_millis(5));
        assert_eq!(p.interval, SimDuration::from_millis(100));
        assert!(p.ecn);
        assert_eq!(
            FqCodel::new(FqCodelParams { flows: 0, ..p }).unwrap_err(),
            QdiscError::FlowCount(0)
        );
        assert_eq!(
            FqCodel::new(FqCodelParams {
                quantum: (1 << 20) + 1,
                ..p
            })
            .unwrap_err(),
            QdiscError::QuantumTooLarge((1 << 20) + 1)
        );
    }

    #[test]
    fn two_flows_share_by_deficit_round_robin() {
        // Flow A sends 1500-byte packets, flow B 500-byte ones; quantum 1514. Worked by hand
        // from fq_codel_dequeue: A spends its first quantum on 2 packets (1514 → 14 → -1486),
        // B on 4 (1514 → … → -486); from then on each old-list round gives A one packet and B
        // three: 1500 bytes each.
        let mut pool = SkbPool::new();
        let mut q = FqCodel::new(params()).unwrap();
        let mut name = std::collections::BTreeMap::new();
        for i in 0..10 {
            let a = pkt(&mut pool, 1500, 1, 0);
            name.insert(a.id, format!("A{i}"));
            let _ = q.enqueue(a, SimTime::ZERO);
        }
        for i in 0..10 {
            let b = pkt(&mut pool, 500, 2, 0);
            name.insert(b.id, format!("B{i}"));
            let _ = q.enqueue(b, SimTime::ZERO);
        }
        assert_eq!(q.xstats().new_flows_len, 2);
        let mut order = Vec::new();
        while let Dequeue::Packet(skb) = q.dequeue(SimTime::ZERO, &mut Vec::new()) {
            order.push(name[&skb.id].clone());
        }
        let want = "A0 A1 B0 B1 B2 B3 A2 B4 B5 B6 A3 B7 B8 B9 A4 A5 A6 A7 A8 A9";
        assert_eq!(order.join(" "), want);
        let x = q.xstats();
        assert_eq!(
            (x.new_flow_count, x.new_flows_len, x.old_flows_len),
            (2, 0, 0)
        );
        assert_eq!(x.maxpacket, 1500);
    }

    #[test]
    fn a_sparse_flow_is_served_before_a_backlogged_one() {
        let mut pool = SkbPool::new();
        let mut q = FqCodel::new(params()).unwrap();
        for _ in 0..20 {
            let _ = q.enqueue(pkt(&mut pool, 1500, 1, 0), SimTime::ZERO);
        }
        // Let the bulk flow become old.
        for _ in 0..3 {
            let _ = q.dequeue(SimTime::ZERO, &mut Vec::new());
        }
        let ack = pkt(&mut pool, 66, 7, 0);
        let ack_id = ack.id;
        let _ = q.enqueue(ack, SimTime::ZERO);
        let Dequeue::Packet(next) = q.dequeue(SimTime::ZERO, &mut Vec::new()) else {
            panic!()
        };
        assert_eq!(next.id, ack_id);
        assert_eq!(q.xstats().new_flow_count, 2);
    }

    /// Drop instants of CoDel on one flow holding a standing queue: 600 packets of 1000 bytes
    /// queued at t = 0, one dequeue per millisecond.
    #[test]
    fn codel_drop_schedule_follows_the_control_law() {
        let mut pool = SkbPool::new();
        let mut q = FqCodel::new(FqCodelParams {
            ecn: false,
            ..params()
        })
        .unwrap();
        for _ in 0..600 {
            let _ = q.enqueue(pkt(&mut pool, 1000, 3, 0), SimTime::ZERO);
        }
        let flow = q.flow_of(3);
        let mut drops = Vec::new(); // (time, count after the drop)
        let mut drop_nexts = Vec::new();
        let mut dropped = Vec::new();
        for ms in 0..500 {
            let now = SimTime::from_nanos(ms * MS);
            let before = dropped.len();
            let res = q.dequeue(now, &mut dropped);
            assert!(matches!(res, Dequeue::Packet(_)));
            if dropped.len() > before {
                assert_eq!(dropped.len(), before + 1);
                let v = q.flow_vars(flow);
                drops.push((now.as_nanos(), v.count));
                drop_nexts.push(v.drop_next.as_nanos());
            }
        }
        // The sojourn time reaches target (5 ms) at t = 5 ms; dropping is allowed once it has
        // stayed above for a whole interval, i.e. strictly after 105 ms: the 106 ms dequeue
        // drops. count = 1 with rec_inv_sqrt = 0xffff, so the next drop is due
        // 100 ms × 0xffff0000 / 2³² = 99 998 474 ns later. Each further drop is
        // drop_next + interval × rec_inv_sqrt(count) (Newton step per drop); a drop happens at
        // the first 1 ms dequeue at or after drop_next.
        let want_next = [
            205_998_474,
            255_999_999, // +50.0 ms: one Newton step from 1/sqrt(1) gives 0.5 for count 2
            312_249_999, // +56.25 ms (100/sqrt(3) = 57.7)
            361_029_295, // +48.78 ms (100/sqrt(4) = 50)
            405_180_601, // +44.15 ms (100/sqrt(5) = 44.7)
            445_587_400, // +40.41 ms (100/sqrt(6) = 40.8)
        ];
        assert_eq!(drop_nexts[..6], want_next);
        let want_drops = [
            (106 * MS, 1),
            (206 * MS, 2),
            (256 * MS, 3),
            (313 * MS, 4),
            (362 * MS, 5),
            (406 * MS, 6),
        ];
        assert_eq!(drops[..6], want_drops);
        // From count 4 on, the spacing is within 3 % of interval / sqrt(count).
        assert!(drop_nexts.len() >= 8);
        for (i, w) in drop_nexts.windows(2).enumerate().skip(2) {
            let count = (i + 2) as f64;
            let ideal = 100e6 / count.sqrt();
            let gap = (w[1] - w[0]) as f64;
            assert!(
                (gap - ideal).abs() / ideal < 0.03,
                "count {count}: {gap} vs {ideal}"
            );
        }
        let s = *q.stats();
        assert_eq!(s.drops as usize, dropped.len());
        assert_eq!(s.packets + s.drops + s.qlen, 600);
    }

    #[test]
    fn sojourn_below_target_leaves_the_dropping_state() {
        let mut pool = SkbPool::new();
        let mut q = FqCodel::new(FqCodelParams {
            ecn: false,
            ..params()
        })
        .unwrap();
        for _ in 0..120 {
            let _ = q.enqueue(pkt(&mut pool, 1000, 0, 0), SimTime::ZERO);
        }
        let mut dropped = Vec::new();
        // Dropping starts at 106 ms (one drop); by 118 ms the last of the old packets leaves.
        // Fresh packets queued at 115 ms sit behind them.
        for ms in 0..=118 {
            if ms == 115 {
                for _ in 0..20 {
                    let _ = q.enqueue(pkt(&mut pool, 1000, 0, 0), SimTime::from_nanos(ms * MS));
                }
            }
            let _ = q.dequeue(SimTime::from_nanos(ms * MS), &mut dropped);
        }
        assert_eq!(dropped.len(), 1);
        assert!(q.flow_vars(0).dropping);
        assert_eq!(q.flow_len(0), 20);
        // At 119 ms a fresh packet's sojourn is 4 ms < target, with 19 000 bytes still queued:
        // CoDel leaves the dropping state and forgets when the delay went above target.
        let _ = q.dequeue(SimTime::from_nanos(119 * MS), &mut dropped);
        let v = q.flow_vars(0);
        assert!(!v.dropping);
        assert_eq!(v.first_above_time, None);
        assert_eq!(v.ldelay, SimDuration::from_millis(4));
        assert_eq!(dropped.len(), 1);
    }

    #[test]
    fn ecn_capable_packets_are_marked_not_dropped() {
        let mut pool = SkbPool::new();
        let mut q = FqCodel::new(params()).unwrap(); // ecn on, as in Linux
        for _ in 0..300 {
            let mut skb = pkt(&mut pool, 1000, 0, 0);
            let d = skb.data_mut();
            d[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
            d[14] = 0x45;
            d[15] = 0x02; // ECT(0)
            let _ = q.enqueue(skb, SimTime::ZERO);
        }
        let mut dropped = Vec::new();
        let mut marked = 0;
        for ms in 0..300 {
            if let Dequeue::Packet(skb) = q.dequeue(SimTime::from_nanos(ms * MS), &mut dropped) {
                marked += usize::from(skb.data()[15] & 3 == 3);
            }
        }
        assert!(dropped.is_empty());
        assert_eq!(q.stats().drops, 0);
        assert!(marked >= 3);
        assert_eq!(q.xstats().ecn_mark, marked as u64);
    }

    #[test]
    fn ce_threshold_marks_ect_packets_that_waited_longer() {
        // CoDel's own law kept out of the way (target 1 s): only ce_threshold marks, and it
        // does so with `noecn` too, as `codel_dequeue`'s `end:` does.
        let mut pool = SkbPool::new();
        let th = SimDuration::from_micros(2500);
        let mut q = FqCodel::new(FqCodelParams {
            target: SimDuration::from_secs(1),
            ecn: false,
            ce_threshold: Some(th),
            ..params()
        })
        .unwrap();
        for i in 0..10 {
            let mut skb = pkt(&mut pool, 1000, 0, 0);
            let d = skb.data_mut();
            d[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
            d[14] = 0x45;
            d[15] = if i % 2 == 0 { 0x02 } else { 0x00 }; // ECT(0), Not-ECT
            let _ = q.enqueue(skb, SimTime::ZERO);
        }
        let mut dropped = Vec::new();
        let mut expected = 0;
        for k in 0..10u64 {
            let Dequeue::Packet(skb) = q.dequeue(SimTime::from_nanos(k * MS), &mut dropped) else {
                panic!("packet {k} not dequeued");
            };
            let should = k % 2 == 0 && SimDuration::from_nanos(k * MS) > th;
            expected += u64::from(should);
            assert_eq!(skb.data()[15] & 3 == 3, should, "packet {k}");
        }
        assert_eq!(expected, 3, "sojourns 4, 6 and 8 ms");
        assert_eq!(q.xstats().ce_mark, expected);
        assert_eq!(q.xstats().ecn_mark, 0);
    }

    #[test]
    fn overlimit_drops_hit_the_fattest_flow() {
        let mut pool = SkbPool::new();
        let mut q = FqCodel::new(FqCodelParams {
            limit: 20,
            ..params()
        })
        .unwrap();
        let mut fat_ids = Vec::new();
        for _ in 0..15 {
            let skb = pkt(&mut pool, 1000, 1, 0);
            fat_ids.push(skb.id);
            let _ = q.enqueue(skb, SimTime::ZERO);
        }
        for _ in 0..5 {
            let _ = q.enqueue(pkt(&mut pool, 1000, 2, 0), SimTime::ZERO);
        }
        // The 21st packet (flow 2) goes over the limit: flow 1 (15 000 bytes) is the fattest;
        // dropping from its head stops once 7 500 bytes are gone, after 8 packets.
        let newcomer = pkt(&mut pool, 1000, 2, 0);
        assert!(matches!(
            q.enqueue(newcomer, SimTime::ZERO),
            Enqueue::Queued
        ));
        let mut dropped = Vec::new();
        q.drain_enqueue_drops(&mut dropped);
        let ids: Vec<_> = dropped.iter().map(|s| s.id).collect();
        assert_eq!(ids, fat_ids[..8]);
        let s = *q.stats();
        assert_eq!((s.drops, s.qlen, s.backlog), (8, 13, 13_000));
        assert_eq!(q.xstats().drop_overlimit, 8);
        assert_eq!(q.flow_len(1), 7);
        assert_eq!(q.flow_vars(1).count, 8); // CoDel's signal strengthened
    }

    #[test]
    fn fattest_ties_go_to_the_lowest_flow_number_whatever_the_order_of_first_use() {
        let mut pool = SkbPool::new();
        let mut q = FqCodel::new(FqCodelParams {
            limit: 100,
            drop_batch_size: 1,
            ..params()
        })
        .unwrap();
        // 40 flows (past the short list), first used from the highest number down, each
        // with two 500-byte packets; flows 7 and 3 get a third.
        for f in (0..40u32).rev() {
            for _ in 0..2 {
                let _ = q.enqueue(pkt(&mut pool, 500, f, 0), SimTime::ZERO);
            }
        }
        let _ = q.enqueue(pkt(&mut pool, 500, 7, 0), SimTime::ZERO);
        let _ = q.enqueue(pkt(&mut pool, 500, 3, 0), SimTime::ZERO);
        for f in 0..40 {
            let want = if f == 7 || f == 3 { 3 } else { 2 };
            assert_eq!(q.flow_len(f), want, "flow {f}");
        }
        assert_eq!(q.flow_len(40), 0);
        assert_eq!(q.flow_vars(40).count, 0);
        // Over the limit: flows 3 and 7 tie for the fattest; 3 loses a packet, then 7.
        for _ in 0..18 {
            let _ = q.enqueue(pkt(&mut pool, 1, 39, 0), SimTime::ZERO);
        }
        assert_eq!(q.stats().qlen, 100);
        let _ = q.enqueue(pkt(&mut pool, 1, 39, 0), SimTime::ZERO);
        assert_eq!((q.flow_len(3), q.flow_len(7)), (2, 3));
        let _ = q.enqueue(pkt(&mut pool, 1, 39, 0), SimTime::ZERO);
        assert_eq!((q.flow_len(3), q.flow_len(7)), (2, 2));
        assert_eq!((q.flow_vars(3).count, q.flow_vars(7).count), (1, 1));
    }

    #[test]
    fn overlimit_batch_size_and_own_flow() {
        let mut pool = SkbPool::new();
        let mut q = FqCodel::new(FqCodelParams {
            limit: 4,
            drop_batch_size: 2,
            ..params()
        })
        .unwrap();
        for _ in 0..4 {
            let _ = q.enqueue(pkt(&mut pool, 100, 5, 0), SimTime::ZERO);
        }
        // Same flow over the limit: at most 2 head packets go; the newcomer survives.
        assert!(matches!(
            q.enqueue(pkt(&mut pool, 100, 5, 0), SimTime::ZERO),
            Enqueue::Queued
        ));
        assert_eq!(q.stats().qlen, 3);
        // With limit 0 every packet is its flow's only packet, and is dropped itself.
        let mut q = FqCodel::new(FqCodelParams {
            limit: 0,
            ..params()
        })
        .unwrap();
        let skb = pkt(&mut pool, 100, 5, 0);
        let id = skb.id;
        match q.enqueue(skb, SimTime::ZERO) {
            Enqueue::Dropped(s) => assert_eq!(s.id, id),
            Enqueue::Queued => panic!("limit 0 must drop"),
        }
        let mut rest = Vec::new();
        q.drain_enqueue_drops(&mut rest);
        assert!(rest.is_empty());
        assert_eq!((q.stats().drops, q.stats().qlen), (1, 0));
    }

    #[test]
    fn memory_limit_counts_truesize() {
        let mut pool = SkbPool::new();
        let one = pkt(&mut pool, 1000, 0, 0).truesize;
        let mut q = FqCodel::new(FqCodelParams {
            memory_limit: 3 * one,
            ..params()
        })
        .unwrap();
        for _ in 0..3 {
            assert!(matches!(
                q.enqueue(pkt(&mut pool, 1000, 0, 0), SimTime::ZERO),
                Enqueue::Queued
            ));
        }
        assert_eq!(q.xstats().memory_used, u64::from(3 * one));
        let _ = q.enqueue(pkt(&mut pool, 1000, 1, 0), SimTime::ZERO);
        let x = q.xstats();
        assert_eq!((x.drop_overlimit, x.drop_overmemory), (2, 2));
        assert_eq!(x.memory_used, u64::from(2 * one));
    }

    #[test]
    fn pending_enqueue_drops_are_handed_over_by_dequeue() {
        let mut pool = SkbPool::new();
        let mut q = FqCodel::new(FqCodelParams {
            limit: 1,
            ..params()
        })
        .unwrap();
        let _ = q.enqueue(pkt(&mut pool, 100, 1, 0), SimTime::ZERO);
        let _ = q.enqueue(pkt(&mut pool, 50, 2, 0), SimTime::ZERO);
        let mut dropped = Vec::new();
        let res = q.dequeue(SimTime::ZERO, &mut dropped);
        assert_eq!(dropped.len(), 1);
        assert!(matches!(res, Dequeue::Packet(ref s) if s.len() == 50));
    }

    #[test]
    fn pass_through_needs_the_lists_empty_not_just_the_queue() {
        // After the dequeue that takes a flow's last packet, the flow is still listed until
        // the next dequeue finds it empty: not idle yet. Three 1000-byte packets: the third
        // comes after a top-up, from the old list.
        let mut pool = SkbPool::new();
        let mut q = FqCodel::new(params()).unwrap();
        let mut dropped = Vec::new();
        for _ in 0..3 {
            let _ = q.enqueue(pkt(&mut pool, 1000, 1, 0), SimTime::ZERO);
        }
        assert!(matches!(
            q.dequeue(SimTime::ZERO, &mut dropped),
            Dequeue::Packet(_)
        ));
        assert!(
            q.pass_through_idle(pkt(&mut pool, 100, 2, 0), SimTime::ZERO)
                .is_err()
        );
        for _ in 0..2 {
            assert!(matches!(
                q.dequeue(SimTime::ZERO, &mut dropped),
                Dequeue::Packet(_)
            ));
        }
        let x = q.xstats();
        assert_eq!(
            (q.stats().qlen, x.new_flows_len, x.old_flows_len),
            (0, 0, 1)
        );
        assert!(
            q.pass_through_idle(pkt(&mut pool, 100, 2, 0), SimTime::ZERO)
                .is_err()
        );
        assert!(matches!(
            q.dequeue(SimTime::ZERO, &mut dropped),
            Dequeue::Empty
        ));
        assert!(
            q.pass_through_idle(pkt(&mut pool, 100, 2, 0), SimTime::ZERO)
                .is_ok()
        );
    }

    /// A driver ring of `room` free descriptors in front of the qdisc, run as `dev.rs` runs
    /// it; `fast` takes [`FqCodel::pass_through_idle`] whenever `dev_queue_xmit` would.
    struct Dev {
        q: FqCodel,
        pool: SkbPool,
        room: u32,
        stopped: bool,
        fast: bool,
        sent: Vec<(u64, SimTime)>,
        dropped: Vec<u64>,
    }

    impl Dev {
        fn run(&mut self, now: SimTime) {
            let mut dropped = Vec::new();
            while !self.stopped {
                let out = self.q.dequeue(now, &mut dropped);
                self.dropped.extend(dropped.drain(..).map(|p| p.id));
                match out {
                    Dequeue::Packet(p) if self.room == 0 => {
                        self.q.requeue(p);
                        self.stopped = true;
                    }
                    Dequeue::Packet(p) => {
                        self.room -= 1;
                        self.sent.push((p.id, p.enqueue_time));
                    }
                    Dequeue::Empty => return,
                    Dequeue::Throttled(_) => unreachable!("fq_codel does not throttle"),
                }
            }
        }

        fn send(&mut self, len: usize, hash: u32, truesize: u32, now: SimTime) {
            let mut skb = pkt(&mut self.pool, len, hash, 0);
            skb.truesize = truesize;
            if self.fast && !self.stopped && self.room > 0 {
                match self.q.pass_through_idle(skb, now) {
                    Ok(p) => {
                        self.room -= 1;
                        self.sent.push((p.id, p.enqueue_time));
                        return;
                    }
                    Err(back) => skb = back,
                }
            }
            let verdict = self.q.enqueue(skb, now);
            let mut dropped = Vec::new();
            self.q.drain_enqueue_drops(&mut dropped);
            self.dropped.extend(dropped.iter().map(|p| p.id));
            if let Enqueue::Dropped(p) = verdict {
                self.dropped.push(p.id);
                return;
            }
            self.run(now);
        }

        fn tx_done(&mut self, n: u32, now: SimTime) {
            self.room += n;
            if self.stopped && self.room > 0 {
                self.stopped = false;
                self.run(now);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// The shortcut through an idle qdisc leaves every bit of state (flows, deficits,
        /// CoDel variables, counters, the packets' enqueue times) as the full enqueue and
        /// dequeues do, whatever came before: backlogs, drops, a stopped queue.
        #[test]
        fn pass_through_idle_is_enqueue_then_dequeue_until_empty(
            quantum in prop_oneof![Just(300u32), Just(1514u32)],
            limit in 1u32..8,
            memory_limit in prop_oneof![Just(1u32 << 31), 1000u32..12_000],
            room in 0u32..4,
            ops in prop::collection::vec(
                (0u64..3000, 0u32..3, 40usize..1600, 0u32..6, 0u32..4, 200u32..4000),
                1..150,
            ),
        ) {
            let p = FqCodelParams {
                limit,
                flows: 4,
                quantum,
                memory_limit,
                drop_batch_size: 2,
                target: SimDuration::from_micros(500),
                interval: SimDuration::from_millis(3),
                ..params()
            };
            let dev = |fast| Dev {
                q: FqCodel::new(p).unwrap(),
                pool: SkbPool::new(),
                room,
                stopped: false,
                fast,
                sent: Vec::new(),
                dropped: Vec::new(),
            };
            let (mut slow, mut fast) = (dev(false), dev(true));
            let mut now = SimTime::ZERO;
            for &(advance_us, kind, len, hash, done, truesize) in &ops {
                now += SimDuration::from_micros(advance_us);
                for d in [&mut slow, &mut fast] {
                    if kind == 0 {
                        d.tx_done(done, now);
                    } else {
                        d.send(len, hash, truesize, now);
                    }
                }
                prop_assert_eq!(format!("{:?}", slow.q), format!("{:?}", fast.q));
                prop_assert_eq!((&slow.sent, &slow.dropped), (&fast.sent, &fast.dropped));
                prop_assert_eq!((slow.room, slow.stopped), (fast.room, fast.stopped));
            }
        }
    }
}
