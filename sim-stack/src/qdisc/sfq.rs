//! `sfq` (`net/sched/sch_sfq.c`): Stochastic Fairness Queueing. Packets are hashed into
//! `divisor` buckets; each busy bucket owns one of `flows` slots, a FIFO of at most `depth`
//! packets. Busy slots take turns in a ring (deficit round robin): a slot sends while its
//! `allot` is positive and earns `quantum` bytes each time the ring passes it with none left.
//! When the qdisc holds more than `limit` packets, `sfq_drop` drops from the longest slot
//! (its tail, or its head with `headdrop`).
//!
//! As Linux 6.12 has it:
//! * `sfq_init` defaults: `limit` 127 (`SFQ_MAX_DEPTH`), `depth` 127, `divisor` 1024,
//!   `flows` 128, `quantum` the device's `psched_mtu` (MTU plus the link header) clamped to
//!   256..=2^20, `perturb` 0. `sfq_change` clamps: `quantum` at least 256, `flows` at most
//!   `SFQ_MAX_FLOWS` and at most `divisor`, `depth` at most 127, `limit` at most
//!   `depth × flows`, then `flows` at most `limit`. It refuses a `divisor` that is not a power
//!   of two up to 65536, a `quantum` above 2^20, a `perturb` above `INT_MAX / HZ` seconds and
//!   a `limit` of 1.
//! * The slots' lengths are kept in the kernel's `dep[]` lists (a slot of length d is on list
//!   d, the newest first), so `sfq_drop` picks the slot the kernel picks among equally long
//!   ones; when every slot holds one packet it drops the one at the head of the ring.
//! * The allotment is in bytes: 6.12 no longer scales it (`SFQ_ALLOT_SHIFT` is gone since
//!   the quantum became an `int` of bytes); a new slot joins the ring's tail with one
//!   `quantum`; a slot that empties leaves the ring and frees its bucket.
//! * The hash: `skb_get_hash_perturb` — here the packet's flow hash (`skb.hash`, the
//!   5-tuple's) mixed with a 64-bit salt, masked to `divisor - 1`. The salt is drawn at init
//!   from the qdisc's seeded stream (`get_random_bytes`), and again when a `perturb` period is
//!   set (`sfq_change`); every `perturb` seconds `sfq_perturbation` draws a new one and, if
//!   packets are queued, `sfq_rehash` moves them to their new buckets (dropping what no
//!   longer fits). The model applies a due perturbation at the qdisc's next enqueue or
//!   dequeue: nothing happens to the qdisc in between, so the state is the kernel's.
//! * A packet dropped by the limit is answered [`Enqueue::Dropped`] when it is the new packet
//!   itself (Linux: `NET_XMIT_CN`, as fq_codel); other drops are collected with
//!   [`Sfq::drain_enqueue_drops`]. `headdrop` at `depth` replaces the slot's head.
//!
//! Not modeled: RED inside sfq (`redflowlimit`, `min`/`max`/`probability`, `ecn`, `harddrop`),
//! filters attached to sfq and classification by `skb->priority` (`TC_H_MAJ == handle`), the
//! per-bucket classes `tc class show` lists, and the deferrable timer's slack.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimRng, SimTime};

use super::{Dequeue, Enqueue, QdiscCore, QdiscError, QdiscStats, pkt_len};
use crate::skb::Skb;

/// `SFQ_MAX_DEPTH`: packets per slot at most, and the default `limit`.
pub const SFQ_MAX_DEPTH: u32 = 127;
/// `SFQ_DEFAULT_FLOWS`.
pub const SFQ_DEFAULT_FLOWS: u32 = 128;
/// `SFQ_MAX_FLOWS`: slot indexes below it are slots; the `dep[]` heads follow.
pub const SFQ_MAX_FLOWS: u32 = 0x10000 - SFQ_MAX_DEPTH - 1;
/// `SFQ_DEFAULT_HASH_DIVISOR`.
pub const SFQ_DEFAULT_HASH_DIVISOR: u32 = 1024;
/// `SFQ_EMPTY_SLOT`: a bucket without a slot.
const EMPTY: u16 = 0xffff;
/// `INT_MAX / HZ`: the longest perturbation period in seconds `sfq_change` accepts.
pub const SFQ_MAX_PERTURB: u32 = (i32::MAX as u64 / crate::jiffies::HZ) as u32;

/// sfq's parameters as tc hands them to the kernel (`struct tc_sfq_qopt_v1`): 0 leaves a
/// parameter at its `sfq_init` default, as in the kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SfqConfig {
    /// Packets held at most (`limit`; 0: 127).
    pub limit: u32,
    /// Bytes a slot sends per round (`quantum`; 0: the device's `psched_mtu`).
    pub quantum: u32,
    /// Hash buckets (`divisor`, a power of two; 0: 1024).
    pub divisor: u32,
    /// Slots (`flows`; 0: 128).
    pub flows: u32,
    /// Packets per slot at most (`depth`; 0: 127).
    pub depth: u32,
    /// Seconds between hash perturbations (`perturb`; 0: never).
    pub perturb: u32,
    /// Drop from a slot's head rather than its tail (`headdrop`).
    pub headdrop: bool,
}

/// `struct sfq_slot`: one flow's FIFO and its place in the ring and the `dep[]` lists.
#[derive(Debug, Default)]
struct Slot {
    queue: VecDeque<Skb>,
    /// Next slot in the round-robin ring.
    next: u16,
    /// Neighbours on its `dep[qlen]` list (`struct sfq_head`).
    dep_next: u16,
    dep_prev: u16,
    /// Its bucket (index in `ht`).
    hash: u16,
    /// Credit in bytes.
    allot: i32,
    /// Bytes queued.
    backlog: u64,
}

/// Stochastic Fairness Queueing.
#[derive(Debug)]
pub struct Sfq {
    limit: u32,
    quantum: u32,
    divisor: u32,
    maxflows: u32,
    maxdepth: u32,
    perturb: u32,
    headdrop: bool,
    /// Bucket → slot, or [`EMPTY`].
    ht: Vec<u16>,
    slots: Vec<Slot>,
    /// `dep[d]`: the heads (next, prev) of the lists of slots holding d packets.
    dep: [(u16, u16); SFQ_MAX_DEPTH as usize + 1],
    /// The longest slot's length.
    cur_depth: u32,
    /// The ring's tail slot (`q->tail`): its `next` is served first.
    tail: Option<u16>,
    /// `q->perturbation`.
    salt: u64,
    /// When the perturbation timer fires next (`None`: `perturb` 0).
    next_perturb: Option<SimTime>,
    rng: SimRng,
    core: QdiscCore,
    enqueue_drops: Vec<Skb>,
}

impl Sfq {
    /// `sfq_init` then `sfq_change` with `cfg` on a device whose `psched_mtu` is
    /// `psched_mtu`; `rng` is the qdisc's stream for its hash salts.
    pub fn new(cfg: &SfqConfig, psched_mtu: u32, mut rng: SimRng) -> Result<Self, QdiscError> {
        if cfg.divisor != 0 && (!cfg.divisor.is_power_of_two() || cfg.divisor > 65536) {
            return Err(QdiscError::SfqDivisor(cfg.divisor));
        }
        if cfg.quantum > 1 << 20 {
            return Err(QdiscError::QuantumTooLarge(cfg.quantum));
        }
        if cfg.perturb > SFQ_MAX_PERTURB {
            return Err(QdiscError::SfqPerturb(cfg.perturb));
        }
        // sfq_init's defaults.
        let mut limit = SFQ_MAX_DEPTH;
        let mut maxdepth = SFQ_MAX_DEPTH;
        let mut divisor = SFQ_DEFAULT_HASH_DIVISOR;
        let mut maxflows = SFQ_DEFAULT_FLOWS;
        let mut quantum = psched_mtu.clamp(256, 1 << 20);
        let mut salt = rng.next_u64();
        // sfq_change.
        if cfg.quantum != 0 {
            quantum = cfg.quantum.max(256);
        }
        if cfg.flows != 0 {
            maxflows = cfg.flows.min(SFQ_MAX_FLOWS);
        }
        if cfg.divisor != 0 {
            divisor = cfg.divisor;
            maxflows = maxflows.min(divisor);
        }
        if cfg.depth != 0 {
            maxdepth = cfg.depth.min(SFQ_MAX_DEPTH);
        }
        if cfg.limit != 0 {
            limit = cfg.limit.min(maxdepth * maxflows);
            maxflows = maxflows.min(limit);
        }
        if limit == 1 {
            return Err(QdiscError::SfqLimit);
        }
        let next_perturb = (cfg.perturb != 0).then(|| {
            salt = rng.next_u64();
            SimTime::ZERO + perturb_period(cfg.perturb)
        });
        let mut q = Self {
            limit,
            quantum,
            divisor,
            maxflows,
            maxdepth,
            perturb: cfg.perturb,
            headdrop: cfg.headdrop,
            ht: vec![EMPTY; divisor as usize],
            slots: (0..maxflows).map(|_| Slot::default()).collect(),
            dep: std::array::from_fn(|i| {
                let head = (i as u32 + SFQ_MAX_FLOWS) as u16;
                (head, head)
            }),
            cur_depth: 0,
            tail: None,
            salt,
            next_perturb,
            rng,
            core: QdiscCore::default(),
            enqueue_drops: Vec::new(),
        };
        for x in 0..maxflows as u16 {
            q.link(x);
        }
        Ok(q)
    }

    /// The packet limit, after `sfq_change`'s clamps.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The quantum in bytes.
    pub fn quantum(&self) -> u32 {
        self.quantum
    }

    /// The hash buckets.
    pub fn divisor(&self) -> u32 {
        self.divisor
    }

    /// The slots (`maxflows`).
    pub fn flows(&self) -> u32 {
        self.maxflows
    }

    /// Packets per slot at most (`maxdepth`).
    pub fn depth(&self) -> u32 {
        self.maxdepth
    }

    /// The perturbation period in seconds (0: none).
    pub fn perturb(&self) -> u32 {
        self.perturb
    }

    /// Whether drops take a slot's head.
    pub fn headdrop(&self) -> bool {
        self.headdrop
    }

    /// `sfq_dep_head`: a slot's list anchor, or a `dep[]` head.
    fn dep_next_mut(&mut self, v: u16) -> &mut u16 {
        match u32::from(v).checked_sub(SFQ_MAX_FLOWS) {
            None => &mut self.slots[v as usize].dep_next,
            Some(d) => &mut self.dep[d as usize].0,
        }
    }

    fn dep_prev_mut(&mut self, v: u16) -> &mut u16 {
        match u32::from(v).checked_sub(SFQ_MAX_FLOWS) {
            None => &mut self.slots[v as usize].dep_prev,
            Some(d) => &mut self.dep[d as usize].1,
        }
    }

    /// `sfq_link`: slot `x` onto the head of `dep[qlen]`.
    fn link(&mut self, x: u16) {
        let qlen = self.slots[x as usize].queue.len();
        let p = (qlen as u32 + SFQ_MAX_FLOWS) as u16;
        let n = self.dep[qlen].0;
        let s = &mut self.slots[x as usize];
        s.dep_next = n;
        s.dep_prev = p;
        self.dep[qlen].0 = x;
        *self.dep_prev_mut(n) = x;
    }

    /// `sfq_unlink`: slot `x` off its list; its old neighbours.
    fn unlink(&mut self, x: u16) -> (u16, u16) {
        let (n, p) = {
            let s = &self.slots[x as usize];
            (s.dep_next, s.dep_prev)
        };
        *self.dep_next_mut(p) = n;
        *self.dep_prev_mut(n) = p;
        (n, p)
    }

    /// `slot_queue_add` + `sfq_inc`.
    fn push(&mut self, x: u16, skb: Skb) {
        self.unlink(x);
        let s = &mut self.slots[x as usize];
        s.backlog += pkt_len(&skb);
        s.queue.push_back(skb);
        self.cur_depth = self.cur_depth.max(s.queue.len() as u32);
        self.link(x);
    }

    /// `slot_dequeue_head`/`_tail` + `sfq_dec`.
    fn pop(&mut self, x: u16, head: bool) -> Skb {
        let (n, p) = self.unlink(x);
        let s = &mut self.slots[x as usize];
        let d = s.queue.len() as u32;
        let skb = if head {
            s.queue.pop_front()
        } else {
            s.queue.pop_back()
        }
        .expect("sfq: popping a busy slot");
        s.backlog -= pkt_len(&skb);
        if n == p && self.cur_depth == d {
            self.cur_depth -= 1;
        }
        self.link(x);
        skb
    }

    /// Appends slot `x`, just become busy, to the ring's tail with one quantum.
    fn activate(&mut self, x: u16) {
        match self.tail {
            None => self.slots[x as usize].next = x,
            Some(t) => {
                self.slots[x as usize].next = self.slots[t as usize].next;
                self.slots[t as usize].next = x;
            }
        }
        self.tail = Some(x);
        self.slots[x as usize].allot = self.quantum as i32;
    }

    /// `sfq_hash`.
    fn hash(&self, skb: &Skb) -> u16 {
        let h = crate::ip::output::mix64(u64::from(skb.hash) ^ self.salt) as u32;
        (h & (self.divisor - 1)) as u16
    }

    /// The bucket's slot, taking a free one if it has none; `None` when all are busy.
    fn slot_for(&mut self, hash: u16) -> Option<u16> {
        let x = self.ht[hash as usize];
        if x != EMPTY {
            return Some(x);
        }
        let x = self.dep[0].0;
        if u32::from(x) >= SFQ_MAX_FLOWS {
            return None;
        }
        self.ht[hash as usize] = x;
        self.slots[x as usize].hash = hash;
        Some(x)
    }

    /// `sfq_perturbation` for each period that ended by `now`.
    fn perturb_due(&mut self, now: SimTime) {
        while let Some(t) = self.next_perturb
            && now >= t
        {
            self.salt = self.rng.next_u64();
            if self.tail.is_some() {
                self.rehash();
            }
            self.next_perturb = Some(t + perturb_period(self.perturb));
        }
    }

    /// `sfq_rehash`: every queued packet, slot by slot, into its bucket under the new salt.
    fn rehash(&mut self) {
        let mut list = Vec::with_capacity(self.core.stats.qlen as usize);
        for i in 0..self.maxflows as u16 {
            while !self.slots[i as usize].queue.is_empty() {
                list.push(self.pop(i, true));
            }
            let h = self.slots[i as usize].hash;
            if self.ht[h as usize] == i {
                self.ht[h as usize] = EMPTY;
            }
        }
        self.tail = None;
        for skb in list {
            let hash = self.hash(&skb);
            let fits = self
                .slot_for(hash)
                .filter(|&x| (self.slots[x as usize].queue.len() as u32) < self.maxdepth);
            let Some(x) = fits else {
                // Freed without counting a drop, as sfq_rehash does (kfree_skb and
                // qdisc_tree_reduce_backlog, no qdisc_qstats_drop).
                self.core.remove(pkt_len(&skb));
                self.enqueue_drops.push(skb);
                continue;
            };
            self.push(x, skb);
            if self.slots[x as usize].queue.len() == 1 {
                self.activate(x);
            }
        }
    }

    /// `sfq_drop`: one packet from the longest slot; `None` if no slot holds any.
    fn drop_one(&mut self) -> Option<Skb> {
        let x = match self.cur_depth {
            0 => return None,
            1 => {
                // Every slot holds one packet: the one the ring serves next goes.
                let t = self.tail.expect("sfq: busy slots are in the ring");
                let x = self.slots[t as usize].next;
                let next = self.slots[x as usize].next;
                if next == x {
                    self.tail = None;
                } else {
                    self.slots[t as usize].next = next;
                }
                let h = self.slots[x as usize].hash;
                self.ht[h as usize] = EMPTY;
                x
            }
            d => self.dep[d as usize].0,
        };
        let skb = self.pop(x, self.headdrop);
        self.core.remove(pkt_len(&skb));
        self.core.stats.drops += 1;
        Some(skb)
    }

    /// `sfq_enqueue`.
    pub fn enqueue(&mut self, mut skb: Skb, now: SimTime) -> Enqueue {
        self.perturb_due(now);
        let hash = self.hash(&skb);
        let Some(x) = self.slot_for(hash) else {
            self.core.stats.drops += 1;
            return Enqueue::Dropped(skb);
        };
        skb.enqueue_time = now;
        let len = pkt_len(&skb);
        if self.slots[x as usize].queue.len() as u32 >= self.maxdepth {
            if !self.headdrop {
                self.core.stats.drops += 1;
                return Enqueue::Dropped(skb);
            }
            // The head makes room for the new packet (NET_XMIT_CN). The slot's length does
            // not change, so it keeps its place on its `dep[]` list.
            let s = &mut self.slots[x as usize];
            let head = s.queue.pop_front().expect("sfq: a full slot has a head");
            let head_len = pkt_len(&head);
            s.backlog = s.backlog - head_len + len;
            s.queue.push_back(skb);
            self.core.remove(head_len);
            self.core.stats.drops += 1;
            self.enqueue_drops.push(head);
            self.core.add(len);
            return Enqueue::Queued;
        }
        let id = skb.id;
        self.core.add(len);
        self.push(x, skb);
        if self.slots[x as usize].queue.len() == 1 {
            self.activate(x);
        }
        if self.core.stats.qlen <= u64::from(self.limit) {
            return Enqueue::Queued;
        }
        match self.drop_one() {
            Some(d) if d.id == id => Enqueue::Dropped(d),
            Some(d) => {
                self.enqueue_drops.push(d);
                Enqueue::Queued
            }
            None => Enqueue::Queued,
        }
    }

    /// `sfq_dequeue`, after the requeue slot.
    pub fn dequeue(&mut self, now: SimTime, dropped: &mut Vec<Skb>) -> Dequeue {
        self.perturb_due(now);
        dropped.append(&mut self.enqueue_drops);
        if let Some(skb) = self.core.take_requeued() {
            return Dequeue::Packet(skb);
        }
        let Some(mut t) = self.tail else {
            return Dequeue::Empty;
        };
        let a = loop {
            let a = self.slots[t as usize].next;
            let s = &mut self.slots[a as usize];
            if s.allot > 0 {
                break a;
            }
            s.allot += self.quantum as i32;
            t = a;
            self.tail = Some(a);
        };
        let skb = self.pop(a, true);
        let len = pkt_len(&skb);
        self.core.remove(len);
        self.core.sent(len, skb.gso_segs);
        let s = &self.slots[a as usize];
        if s.queue.is_empty() {
            self.ht[s.hash as usize] = EMPTY;
            let next = s.next;
            if next == a {
                self.tail = None;
            } else {
                self.slots[t as usize].next = next;
            }
        } else {
            self.slots[a as usize].allot -= len as i32;
        }
        Dequeue::Packet(skb)
    }

    /// `dev_requeue_skb`.
    pub fn requeue(&mut self, skb: Skb) {
        self.core.requeue(skb);
    }

    /// The `tc -s qdisc` counters.
    pub fn stats(&self) -> &QdiscStats {
        &self.core.stats
    }

    /// Packets waiting in the requeue slot.
    pub fn requeued_len(&self) -> usize {
        self.core.requeued_len()
    }

    /// Moves to `out` the packets dropped on enqueue other than the one offered (the
    /// longest slot's, a head drop's, a rehash's).
    pub fn drain_enqueue_drops(&mut self, out: &mut Vec<Skb>) {
        out.append(&mut self.enqueue_drops);
    }
}

/// `perturb_period * HZ` jiffies.
fn perturb_period(secs: u32) -> SimDuration {
    SimDuration::from_secs(u64::from(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qdisc::test_util::pkt;
    use crate::skb::SkbPool;
    use sim_core::RngStreams;

    fn sfq(cfg: &SfqConfig, seed: u64) -> Sfq {
        Sfq::new(cfg, 1514, RngStreams::new(seed).stream("sfq", 0)).unwrap()
    }

    /// `n` flow hashes that land in distinct buckets of `q`.
    fn distinct_flows(q: &Sfq, pool: &mut SkbPool, n: usize) -> Vec<u32> {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for h in 1.. {
            let b = q.hash(&pkt(pool, 1, h, 0));
            if !seen.contains(&b) {
                seen.push(b);
                out.push(h);
                if out.len() == n {
                    break;
                }
            }
        }
        out
    }

    fn deq(q: &mut Sfq, now: SimTime) -> Option<Skb> {
        let mut dropped = Vec::new();
        match q.dequeue(now, &mut dropped) {
            Dequeue::Packet(skb) => Some(skb),
            _ => None,
        }
    }

    #[test]
    fn defaults_and_clamps_are_sfq_change_s() {
        let q = sfq(&SfqConfig::default(), 1);
        assert_eq!(
            (q.limit(), q.quantum(), q.divisor(), q.flows(), q.depth()),
            (127, 1514, 1024, 128, 127)
        );
        // flows ≤ divisor; limit ≤ depth × flows, then flows ≤ limit; quantum ≥ 256.
        let q = sfq(
            &SfqConfig {
                divisor: 16,
                depth: 10,
                limit: 1000,
                quantum: 100,
                ..SfqConfig::default()
            },
            1,
        );
        assert_eq!((q.flows(), q.limit(), q.quantum()), (16, 160, 256));
        let q = sfq(
            &SfqConfig {
                limit: 3,
                depth: 200,
                ..SfqConfig::default()
            },
            1,
        );
        assert_eq!((q.flows(), q.limit(), q.depth()), (3, 3, 127));
        let err = |c: SfqConfig| Sfq::new(&c, 1514, RngStreams::new(1).stream("sfq", 0)).err();
        assert_eq!(
            err(SfqConfig {
                limit: 1,
                ..SfqConfig::default()
            }),
            Some(QdiscError::SfqLimit)
        );
        // depth 1 × flows 1 clamps the limit to 1.
        assert_eq!(
            err(SfqConfig {
                limit: 5,
                depth: 1,
                flows: 1,
                ..SfqConfig::default()
            }),
            Some(QdiscError::SfqLimit)
        );
        assert_eq!(
            err(SfqConfig {
                divisor: 1000,
                ..SfqConfig::default()
            }),
            Some(QdiscError::SfqDivisor(1000))
        );
        assert_eq!(
            err(SfqConfig {
                quantum: (1 << 20) + 1,
                ..SfqConfig::default()
            }),
            Some(QdiscError::QuantumTooLarge((1 << 20) + 1))
        );
        // INT_MAX / HZ with HZ 250.
        assert_eq!(SFQ_MAX_PERTURB, 8_589_934);
    }

    #[test]
    fn drr_gives_each_flow_a_quantum_of_bytes_per_round() {
        let mut pool = SkbPool::new();
        let mut q = sfq(&SfqConfig::default(), 7);
        let f = distinct_flows(&q, &mut pool, 2);
        // Flow a: 1514-byte packets; flow b: 500-byte ones, enqueued after.
        for _ in 0..6 {
            assert!(matches!(
                q.enqueue(pkt(&mut pool, 1514, f[0], 0), SimTime::ZERO),
                Enqueue::Queued
            ));
        }
        for _ in 0..20 {
            assert!(matches!(
                q.enqueue(pkt(&mut pool, 500, f[1], 0), SimTime::ZERO),
                Enqueue::Queued
            ));
        }
        let mut order = Vec::new();
        while let Some(skb) = deq(&mut q, SimTime::ZERO) {
            order.push(if skb.hash == f[0] { 'a' } else { 'b' });
        }
        // a's 1514 bytes spend its quantum in one packet; b's allot of 1514 covers
        // ceil(1514 / 500) = 4 packets (it sends while its allot is positive: 1514, 1014,
        // 514, 14), leaving -486; the next round tops it up to 1028: 3 packets, then -472 →
        // 1042: 3, → -458 → 1056: 3, → -444 → 1070: 3, and so on.
        let s: String = order.into_iter().collect();
        assert_eq!(s, "abbbbabbbabbbabbbabbbabbbb");
        assert_eq!(q.stats().qlen, 0);
    }

    #[test]
    fn over_the_limit_the_longest_slot_loses_its_tail_or_head() {
        for headdrop in [false, true] {
            let mut pool = SkbPool::new();
            let mut q = sfq(
                &SfqConfig {
                    limit: 10,
                    headdrop,
                    ..SfqConfig::default()
                },
                3,
            );
            let f = distinct_flows(&q, &mut pool, 2);
            let mut fat = Vec::new();
            for i in 0..8 {
                let skb = pkt(&mut pool, 100 + i, f[0], 0);
                fat.push(skb.id);
                assert!(matches!(q.enqueue(skb, SimTime::ZERO), Enqueue::Queued));
            }
            for _ in 0..2 {
                assert!(matches!(
                    q.enqueue(pkt(&mut pool, 60, f[1], 0), SimTime::ZERO),
                    Enqueue::Queued
                ));
            }
            // The 11th packet (thin flow) is kept; the fat flow pays.
            let thin = pkt(&mut pool, 60, f[1], 0);
            assert!(matches!(q.enqueue(thin, SimTime::ZERO), Enqueue::Queued));
            let mut dropped = Vec::new();
            q.drain_enqueue_drops(&mut dropped);
            assert_eq!(dropped.len(), 1);
            let want = if headdrop { fat[0] } else { fat[7] };
            assert_eq!(dropped[0].id, want, "headdrop {headdrop}");
            let s = q.stats();
            assert_eq!((s.qlen, s.drops), (10, 1));
            assert_eq!(
                s.backlog,
                (0..8).map(|i| 100 + i).sum::<u64>() - dropped[0].len() as u64 + 3 * 60
            );
            // The fat flow's new packet, at the limit again, is itself the tail dropped
            // (NET_XMIT_CN), or with headdrop takes its flow's head's place.
            let skb = pkt(&mut pool, 100, f[0], 0);
            let id = skb.id;
            match q.enqueue(skb, SimTime::ZERO) {
                Enqueue::Dropped(d) => {
                    assert!(!headdrop);
                    assert_eq!(d.id, id);
                }
                Enqueue::Queued => {
                    assert!(headdrop);
                    q.drain_enqueue_drops(&mut dropped);
                    assert_eq!(dropped[1].id, fat[1]);
                }
            }
            assert_eq!((q.stats().qlen, q.stats().drops), (10, 2));
        }
    }

    #[test]
    fn a_full_slot_drops_at_depth_and_all_slots_busy_drops_the_packet() {
        let mut pool = SkbPool::new();
        let mut q = sfq(
            &SfqConfig {
                depth: 2,
                flows: 2,
                ..SfqConfig::default()
            },
            5,
        );
        let f = distinct_flows(&q, &mut pool, 3);
        for _ in 0..2 {
            assert!(matches!(
                q.enqueue(pkt(&mut pool, 100, f[0], 0), SimTime::ZERO),
                Enqueue::Queued
            ));
        }
        assert!(matches!(
            q.enqueue(pkt(&mut pool, 100, f[0], 0), SimTime::ZERO),
            Enqueue::Dropped(_)
        ));
        assert!(matches!(
            q.enqueue(pkt(&mut pool, 100, f[1], 0), SimTime::ZERO),
            Enqueue::Queued
        ));
        // Both slots are taken: a third flow has none.
        assert!(matches!(
            q.enqueue(pkt(&mut pool, 100, f[2], 0), SimTime::ZERO),
            Enqueue::Dropped(_)
        ));
        assert_eq!((q.stats().qlen, q.stats().drops), (3, 2));
    }

    #[test]
    fn when_every_slot_holds_one_packet_the_next_served_is_dropped() {
        let mut pool = SkbPool::new();
        let mut q = sfq(
            &SfqConfig {
                limit: 3,
                ..SfqConfig::default()
            },
            9,
        );
        // limit 3 clamps flows to 3.
        assert_eq!(q.flows(), 3);
        let f = distinct_flows(&q, &mut pool, 4);
        let mut ids = Vec::new();
        for &h in &f[..3] {
            let skb = pkt(&mut pool, 100, h, 0);
            ids.push(skb.id);
            assert!(matches!(q.enqueue(skb, SimTime::ZERO), Enqueue::Queued));
        }
        // The 4th flow finds no free slot.
        assert!(matches!(
            q.enqueue(pkt(&mut pool, 100, f[3], 0), SimTime::ZERO),
            Enqueue::Dropped(_)
        ));
        // Flow 0's packet leaves its slot and comes back to the requeue slot, which counts
        // in qlen: flow 3 now gets the freed slot, and the qdisc holds 4 > limit with every
        // slot one packet long. sfq_drop takes the ring's head: flow 1's packet.
        let first = deq(&mut q, SimTime::ZERO).unwrap();
        assert_eq!(first.id, ids[0]);
        q.requeue(first);
        let late = pkt(&mut pool, 100, f[3], 0);
        let late_id = late.id;
        assert!(matches!(q.enqueue(late, SimTime::ZERO), Enqueue::Queued));
        let mut dropped = Vec::new();
        q.drain_enqueue_drops(&mut dropped);
        assert_eq!(dropped.iter().map(|s| s.id).collect::<Vec<_>>(), [ids[1]]);
        let got: Vec<u64> =
            std::iter::from_fn(|| deq(&mut q, SimTime::ZERO).map(|s| s.id)).collect();
        assert_eq!(got, [ids[0], ids[2], late_id]);
        assert_eq!((q.stats().packets, q.stats().drops), (3, 2));
    }

    #[test]
    fn perturbation_is_deterministic_per_seed_and_keeps_every_packet() {
        let cfg = SfqConfig {
            divisor: 16,
            perturb: 10,
            ..SfqConfig::default()
        };
        let buckets = |seed: u64| {
            let mut pool = SkbPool::new();
            let mut q = sfq(&cfg, seed);
            let mut seen = Vec::new();
            let mut ids = Vec::new();
            for round in 0..3u64 {
                let now = SimTime::ZERO + SimDuration::from_secs(10 * round);
                // Packets queued across the perturbation are rehashed, none lost.
                for h in 0..40 {
                    let skb = pkt(&mut pool, 100, h, 0);
                    ids.push(skb.id);
                    assert!(matches!(q.enqueue(skb, now), Enqueue::Queued));
                }
                seen.push(
                    (0..40)
                        .map(|h| q.hash(&pkt(&mut pool, 1, h, 0)))
                        .collect::<Vec<_>>(),
                );
            }
            let mut out: Vec<u64> = std::iter::from_fn(|| {
                deq(&mut q, SimTime::ZERO + SimDuration::from_secs(25)).map(|s| s.id)
            })
            .collect();
            assert_eq!(q.stats().drops, 0);
            out.sort_unstable();
            assert_eq!(out, ids);
            seen
        };
        let a = buckets(11);
        assert_eq!(a, buckets(11));
        // Each period draws a new salt: the buckets move.
        assert_ne!(a[0], a[1]);
        assert_ne!(a[1], a[2]);
        assert_ne!(a, buckets(12));
    }
}
