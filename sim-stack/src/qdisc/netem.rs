//! `netem`, the network emulator (`net/sched/sch_netem.c`), configured as `tc-netem(8)` does.
//!
//! [`Netem::enqueue`] is `netem_enqueue`, step for step and draw for draw:
//! 1. **duplicate**: with probability `duplicate` (correlated, `get_crandom`) a second copy is
//!    made (`skb_clone`: same bytes, no owning socket) and, once the original is known to fit
//!    the limit, offered to the root qdisc — netem itself here — marked so that it is not
//!    duplicated again (`tc_depth`).
//! 2. **loss** (`loss_event`): `random` compares a correlated draw with the probability;
//!    `state` runs the 4-state Markov chain of the GI model (`loss_4state`); `gemodel` the
//!    Gilbert-Elliott chain (`loss_gilb_ell`). A lost packet is freed and counted in `drops`,
//!    but the sender is told `NET_XMIT_SUCCESS` (`__NET_XMIT_BYPASS`), as on a real wire;
//!    with `ecn` an ECN-capable packet is marked CE instead (and still counted in `drops`).
//!    The copy of a lost original is still sent.
//! 3. **corrupt**: with probability `corrupt` one random bit of the frame (Ethernet header
//!    included, as `skb->data` is at the qdisc) is flipped: `data[rand % len] ^= 1 << rand % 8`.
//!    A GSO packet is first cut into its segments (`netem_segment`); the first is corrupted
//!    and the others go through `netem_enqueue` each. The stack's "checksum known good" mark
//!    ([`crate::skb::SkbData::l4_csum_good`]) is cleared on the corrupted skb, so the
//!    receiver verifies in software and counts `InCsumErrors` (or `IpInHdrErrors` when the
//!    bit is in the IPv4 header, `Udp InErrors`…), as a NIC with RX checksum offload that
//!    found a bad sum would make it.
//! 4. **limit**: a qdisc holding `limit` packets drops the packet (`NET_XMIT_DROP`).
//! 5. **reorder** / **delay**: unless reordering picks the packet (`gap` packets since the last
//!    reordered one and a correlated draw under `reorder`), it gets
//!    `time_to_send = now + tabledist(delay, jitter)` (with `rate`: after the last queued
//!    packet's time, plus its serialization time `packet_time_ns`) and goes into the *tfifo*,
//!    a queue sorted by `time_to_send` (a list while times only grow, a tree otherwise, equal
//!    times in arrival order). A reordered packet goes to the head of the plain queue and
//!    leaves at once; Linux counts it as a requeue.
//!
//! [`Netem::dequeue`] is `netem_dequeue`: the plain queue first, then the tfifo's earliest
//! packet once its time has come (and the current slot is open); otherwise
//! [`Dequeue::Throttled`] at `max(time_to_send, slot_next)`, the watchdog.
//!
//! # Randomness
//!
//! Every draw — the correlated generators, the loss chains, jitter, the corrupted bit, the
//! slot lengths, the initial `last` of each correlated generator — is a `u32` from one
//! [`SimRng`] stream per qdisc (purpose `netem`, entity `node.iface`), where Linux uses the
//! qdisc's `prandom` state for some and `get_random_u32` for others. A run seed thus gives the
//! same losses every run, and netem on one interface never changes another's draws.
//!
//! # Differences from Linux
//!
//! * `time_to_send` of a packet whose jitter would put it before time zero is zero (Linux's
//!   clock is never near zero).
//! * With `delay`, `jitter` or `rate` Linux orphans the skb (`skb_orphan_partial`): its sender
//!   no longer pays for it. The device layer does the same ([`Netem::orphans`]).
//! * Not modeled: a child qdisc (netem as a classful parent: the tfifo is always the
//!   queue; the structure keeps room for one), `slot distribution`, `seed`, rates given in
//!   percent of the link, `tc -s` netem options dump.

use std::collections::{BTreeMap, VecDeque};

use sim_core::{SimRng, SimTime};

use super::netem_dist::{self, NETEM_DIST_SCALE};
use super::{Dequeue, Enqueue, QdiscCore, QdiscError, QdiscStats, pkt_len};
use crate::config::{NetemConfig, NetemLoss, NetemRate, NetemSlot};
use crate::skb::{Skb, SkbPool};

const NSEC_PER_SEC: u128 = 1_000_000_000;

/// `struct crndstate`: a correlated random number generator.
#[derive(Debug, Clone, Copy, Default)]
struct Crnd {
    last: u32,
    rho: u32,
}

impl Crnd {
    /// `init_crandom`: correlation `rho`, a random start.
    fn new(rho: u32, rng: &mut SimRng) -> Self {
        Self {
            rho,
            last: rng.next_u32(),
        }
    }

    /// `get_crandom`: a uniform `u32` mixed with the previous answer,
    /// `(value × (2³² − ρ') + last × ρ') >> 32` with `ρ' = rho + 1`; with `rho` 0 a fresh
    /// draw.
    fn next(&mut self, rng: &mut SimRng) -> u32 {
        let value = u64::from(rng.next_u32());
        if self.rho == 0 {
            return value as u32;
        }
        let rho = u64::from(self.rho) + 1;
        let answer = ((u128::from(value) * u128::from((1u64 << 32) - rho)
            + u128::from(self.last) * u128::from(rho))
            >> 32) as u32;
        self.last = answer;
        answer
    }
}

/// `get_random_u32_below`: a uniform integer in `0..ceil` from `u32` draws (Lemire's
/// multiply-shift with rejection, as the kernel does).
fn random_u32_below(rng: &mut SimRng, ceil: u32) -> u32 {
    let mut mult = u64::from(ceil) * u64::from(rng.next_u32());
    if (mult as u32) < ceil {
        let bound = ceil.wrapping_neg() % ceil;
        while (mult as u32) < bound {
            mult = u64::from(ceil) * u64::from(rng.next_u32());
        }
    }
    (mult >> 32) as u32
}

/// `tabledist`: a value with mean `mu` and spread `sigma` (ns). Without a table, uniform in
/// `[mu − sigma, mu + sigma)`; with one, `mu + sigma × t / NETEM_DIST_SCALE` for a random
/// table entry `t`, computed in two parts with rounding as the kernel does.
fn tabledist(mu: i64, sigma: i32, state: &mut Crnd, rng: &mut SimRng, dist: Option<&[i16]>) -> i64 {
    if sigma == 0 {
        return mu;
    }
    let rnd = state.next(rng);
    let Some(table) = dist else {
        let span = 2 * sigma as u32;
        return i64::from(rnd % span) + mu - i64::from(sigma);
    };
    let t = i64::from(table[rnd as usize % table.len()]);
    let sigma = i64::from(sigma);
    let mut x = (sigma % NETEM_DIST_SCALE) * t;
    if x >= 0 {
        x += NETEM_DIST_SCALE / 2;
    } else {
        x -= NETEM_DIST_SCALE / 2;
    }
    x / NETEM_DIST_SCALE + (sigma / NETEM_DIST_SCALE) * t + mu
}

/// `packet_time_ns`: how long `len` bytes take at the emulated rate, with the per-packet
/// overhead and, with cells, the length rounded up to whole cells of `cell_size +
/// cell_overhead` bytes.
pub fn packet_time_ns(len: u64, rate: &NetemRate) -> u64 {
    let mut len = (len as i64 + i64::from(rate.packet_overhead)).max(0) as u64;
    if rate.cell_size != 0 {
        let cell = u64::from(rate.cell_size);
        let cells = len.div_ceil(cell);
        len = (cells as i64 * (i64::from(rate.cell_size) + i64::from(rate.cell_overhead))).max(0)
            as u64;
    }
    u64::try_from(u128::from(len) * NSEC_PER_SEC / u128::from(rate.bytes_per_sec))
        .unwrap_or(u64::MAX)
}

/// States of `loss_4state` (`TX_IN_GAP_PERIOD` …) and of `loss_gilb_ell` (`GOOD_STATE`,
/// `BAD_STATE`).
const TX_IN_GAP_PERIOD: u8 = 1;
const TX_IN_BURST_PERIOD: u8 = 2;
const LOST_IN_GAP_PERIOD: u8 = 3;
const LOST_IN_BURST_PERIOD: u8 = 4;
const GOOD_STATE: u8 = 1;
const BAD_STATE: u8 = 2;

/// What one `netem_enqueue` did with the packet it was given.
enum Verdict {
    /// Queued (`NET_XMIT_SUCCESS`).
    Queued,
    /// Lost by the loss model, already in `lost` (`NET_XMIT_SUCCESS | __NET_XMIT_BYPASS`).
    Lost,
    /// Refused at the limit (`NET_XMIT_DROP`): the caller frees it.
    Dropped(Skb),
}

/// The network emulator.
#[derive(Debug)]
pub struct Netem {
    cfg: NetemConfig,
    /// The delay distribution table, `None` for uniform.
    dist: Option<&'static [i16]>,
    /// Jitter capped as `netem_change` caps it (`INT_MAX` ns).
    jitter: i32,
    rng: SimRng,
    delay_cor: Crnd,
    loss_cor: Crnd,
    dup_cor: Crnd,
    reorder_cor: Crnd,
    corrupt_cor: Crnd,
    /// Reorder probability as the kernel holds it (`~0` when only `gap` was given).
    reorder: u32,
    /// Packets since the last reordered one.
    counter: u32,
    /// The loss chain's state.
    clg_state: u8,
    /// The start of the next slot (`slot.slot_next`; `None` is the kernel's 0, no slotting).
    slot_next: Option<u64>,
    slot_packets_left: i64,
    slot_bytes_left: i64,
    /// `sch->q`: reordered packets, sent before everything else, with the time they were
    /// queued (their `time_to_send`).
    head: VecDeque<(u64, Skb)>,
    /// The tfifo's linear part (`t_head … t_tail`): packets whose times never decreased.
    t_list: VecDeque<(u64, Skb)>,
    /// The tfifo's tree (`t_root`): packets that arrived with an earlier time than the tail,
    /// keyed by time then arrival.
    t_tree: BTreeMap<(u64, u64), Skb>,
    t_seq: u64,
    /// Packets the last enqueue lost or dropped besides the one it answers for.
    lost: Vec<Skb>,
    core: QdiscCore,
}

impl Netem {
    /// `tc qdisc add … netem …` (`netem_init` → `netem_change`), drawing from `rng`, at time
    /// zero.
    pub fn new(cfg: &NetemConfig, mut rng: SimRng) -> Result<Self, QdiscError> {
        if let Some(r) = &cfg.rate
            && r.bytes_per_sec == 0
        {
            return Err(QdiscError::NetemZeroRate);
        }
        if let Some(s) = &cfg.slot
            && s.min_delay > s.max_delay
        {
            return Err(QdiscError::NetemSlotOrder);
        }
        let jitter = i32::try_from(cfg.jitter.as_nanos()).unwrap_or(i32::MAX);
        // init_crandom for each generator, in the order netem_change sets them.
        let delay_cor = Crnd::new(cfg.delay_corr, &mut rng);
        let loss_corr = match cfg.loss {
            NetemLoss::Random { corr, .. } => corr,
            _ => 0,
        };
        let loss_cor = Crnd::new(loss_corr, &mut rng);
        let dup_cor = Crnd::new(cfg.duplicate.1, &mut rng);
        let reorder_cor = Crnd::new(cfg.reorder.1, &mut rng);
        let corrupt_cor = Crnd::new(cfg.corrupt.1, &mut rng);
        // "if gap is set, need to assume 100% probability", then TCA_NETEM_REORDER.
        let reorder = if cfg.reorder.0 != 0 || cfg.gap == 0 {
            cfg.reorder.0
        } else {
            u32::MAX
        };
        let clg_state = match cfg.loss {
            NetemLoss::Random { .. } => 0,
            NetemLoss::State { .. } => TX_IN_GAP_PERIOD,
            NetemLoss::GilbertElliott { .. } => GOOD_STATE,
        };
        let (slot_next, packets, bytes) = match &cfg.slot {
            Some(s) => {
                let on = s.min_delay.as_nanos() | s.max_delay.as_nanos() != 0;
                (
                    on.then_some(0),
                    slot_limit(s.max_packets),
                    slot_limit(s.max_bytes),
                )
            }
            None => (None, i64::from(i32::MAX), i64::from(i32::MAX)),
        };
        Ok(Self {
            cfg: cfg.clone(),
            dist: netem_dist::table(cfg.distribution),
            jitter,
            rng,
            delay_cor,
            loss_cor,
            dup_cor,
            reorder_cor,
            corrupt_cor,
            reorder,
            counter: 0,
            clg_state,
            slot_next,
            slot_packets_left: packets,
            slot_bytes_left: bytes,
            head: VecDeque::new(),
            t_list: VecDeque::new(),
            t_tree: BTreeMap::new(),
            t_seq: 0,
            lost: Vec::new(),
            core: QdiscCore::default(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &NetemConfig {
        &self.cfg
    }

    /// Whether enqueue orphans packets from their socket (`skb_orphan_partial`: with a delay,
    /// jitter or rate, so that the sender's memory is not held for the emulated path).
    pub fn orphans(&self) -> bool {
        self.cfg.latency.as_nanos() != 0
            || self.cfg.jitter.as_nanos() != 0
            || self.cfg.rate.is_some()
    }

    /// `loss_4state`.
    fn loss_4state(&mut self, p13: u32, p31: u32, p32: u32, p23: u32, p14: u32) -> bool {
        let rnd = self.rng.next_u32();
        // Sums as the kernel's u32 arithmetic makes them.
        match self.clg_state {
            TX_IN_GAP_PERIOD => {
                if rnd < p14 {
                    self.clg_state = LOST_IN_GAP_PERIOD;
                    return true;
                } else if rnd < p13.wrapping_add(p14) {
                    self.clg_state = LOST_IN_BURST_PERIOD;
                    return true;
                }
            }
            TX_IN_BURST_PERIOD => {
                if rnd < p23 {
                    self.clg_state = LOST_IN_BURST_PERIOD;
                    return true;
                }
            }
            LOST_IN_BURST_PERIOD => {
                if rnd < p32 {
                    self.clg_state = TX_IN_BURST_PERIOD;
                } else if rnd < p31.wrapping_add(p32) {
                    self.clg_state = TX_IN_GAP_PERIOD;
                } else {
                    return true;
                }
            }
            _ => self.clg_state = TX_IN_GAP_PERIOD,
        }
        false
    }

    /// `loss_gilb_ell`: move, then lose with the probability of the state moved *from*.
    fn loss_gilb_ell(&mut self, p: u32, r: u32, h: u32, k1: u32) -> bool {
        if self.clg_state == GOOD_STATE {
            if self.rng.next_u32() < p {
                self.clg_state = BAD_STATE;
            }
            self.rng.next_u32() < k1
        } else {
            if self.rng.next_u32() < r {
                self.clg_state = GOOD_STATE;
            }
            self.rng.next_u32() > h
        }
    }

    /// `loss_event`.
    fn loss_event(&mut self) -> bool {
        match self.cfg.loss {
            NetemLoss::Random { p, .. } => p != 0 && p >= self.loss_cor.next(&mut self.rng),
            NetemLoss::State {
                p13,
                p31,
                p32,
                p23,
                p14,
            } => self.loss_4state(p13, p31, p32, p23, p14),
            NetemLoss::GilbertElliott { p, r, h, k1 } => self.loss_gilb_ell(p, r, h, k1),
        }
    }

    /// `netem_enqueue` of a packet the device hands over at `now`. `pool` makes the
    /// duplicates and segments; `mac_len` is the link-layer header length (to cut a GSO
    /// packet). Packets lost besides the refused one are collected with
    /// [`Netem::drain_enqueue_drops`].
    pub fn enqueue(
        &mut self,
        skb: Skb,
        now: SimTime,
        pool: &mut SkbPool,
        mac_len: usize,
    ) -> Enqueue {
        match self.enqueue_one(skb, now, pool, mac_len, true) {
            Verdict::Queued | Verdict::Lost => Enqueue::Queued,
            Verdict::Dropped(skb) => Enqueue::Dropped(skb),
        }
    }

    fn enqueue_one(
        &mut self,
        mut skb: Skb,
        now: SimTime,
        pool: &mut SkbPool,
        mac_len: usize,
        may_duplicate: bool,
    ) -> Verdict {
        let mut count = 1;
        if self.cfg.duplicate.0 != 0
            && may_duplicate
            && self.cfg.duplicate.0 >= self.dup_cor.next(&mut self.rng)
        {
            count += 1;
        }
        if self.loss_event() {
            if self.cfg.ecn && super::codel::inet_ecn_set_ce(&mut skb) {
                self.core.stats.drops += 1;
            } else {
                count -= 1;
            }
        }
        if count == 0 {
            self.core.stats.drops += 1;
            self.lost.push(skb);
            return Verdict::Lost;
        }
        let dup = (count > 1).then(|| skb_clone(pool, &skb));
        let mut segs = Vec::new();
        if self.cfg.corrupt.0 != 0 && self.cfg.corrupt.0 >= self.corrupt_cor.next(&mut self.rng) {
            if skb.is_gso() {
                // netem_segment: the first segment is corrupted, the rest enqueued after.
                segs = crate::gso::skb_gso_segment(pool, skb, mac_len, None);
                segs.reverse();
                skb = segs.pop().expect("a GSO packet has segments");
            }
            let len = skb.len() as u32;
            if len != 0 {
                let at = random_u32_below(&mut self.rng, len) as usize;
                let bit = random_u32_below(&mut self.rng, 8);
                skb.data_mut()[at] ^= 1 << bit;
                skb.l4_csum_good = false;
            }
        }
        segs.reverse();
        if self.core.stats.qlen >= u64::from(self.cfg.limit) {
            // qdisc_drop_all: one drop counted for the packet and its segments.
            self.core.stats.drops += 1;
            self.lost.append(&mut segs);
            if let Some(d) = dup {
                self.lost.push(d);
            }
            return Verdict::Dropped(skb);
        }
        if let Some(d) = dup {
            // rootq->enqueue: netem is the root; the copy is not copied again.
            if let Verdict::Dropped(d) = self.enqueue_one(d, now, pool, mac_len, false) {
                self.lost.push(d);
            }
        }
        let len = pkt_len(&skb);
        self.core.add(len);
        let now_ns = now.as_nanos();
        if self.cfg.gap == 0
            || self.counter < self.cfg.gap - 1
            || self.reorder < self.reorder_cor.next(&mut self.rng)
        {
            let mut delay = tabledist(
                self.cfg.latency.as_nanos() as i64,
                self.jitter,
                &mut self.delay_cor,
                &mut self.rng,
                self.dist,
            );
            let mut base = now_ns as i64;
            if let Some(rate) = &self.cfg.rate {
                if let Some(last) = self.last_time_to_send() {
                    // The last packet queued is the reference: its time, less the delay
                    // already waited.
                    delay -= last as i64 - base;
                    delay = delay.max(0);
                    base = last as i64;
                }
                delay += packet_time_ns(len, rate) as i64;
            }
            let time_to_send = (base + delay).max(0) as u64;
            self.counter += 1;
            self.tfifo_enqueue(time_to_send, skb);
        } else {
            // One out of N to the front: sent at once.
            self.counter = 0;
            self.head.push_front((now_ns, skb));
            self.core.stats.requeues += 1;
        }
        for seg in segs {
            match self.enqueue_one(seg, now, pool, mac_len, may_duplicate) {
                Verdict::Queued => {}
                // A segment refused or lost counts a drop here too (net_xmit_drop_count).
                Verdict::Lost => self.core.stats.drops += 1,
                Verdict::Dropped(s) => {
                    self.core.stats.drops += 1;
                    self.lost.push(s);
                }
            }
        }
        Verdict::Queued
    }

    /// The latest `time_to_send` among the plain queue's tail, the tree and the list.
    fn last_time_to_send(&self) -> Option<u64> {
        let a = self.head.back().map(|(t, _)| *t);
        let b = self.t_tree.last_key_value().map(|((t, _), _)| *t);
        let c = self.t_list.back().map(|(t, _)| *t);
        [a, b, c].into_iter().flatten().max()
    }

    /// `tfifo_enqueue`: append while times do not decrease, else into the tree.
    fn tfifo_enqueue(&mut self, time_to_send: u64, skb: Skb) {
        match self.t_list.back() {
            Some((tail, _)) if time_to_send < *tail => {
                self.t_seq += 1;
                self.t_tree.insert((time_to_send, self.t_seq), skb);
            }
            _ => self.t_list.push_back((time_to_send, skb)),
        }
    }

    /// `netem_peek`: the time of the earliest tfifo packet, and whether it is in the tree.
    fn peek(&self) -> Option<(u64, bool)> {
        let tree = self.t_tree.first_key_value().map(|((t, _), _)| *t);
        let list = self.t_list.front().map(|(t, _)| *t);
        match (tree, list) {
            (Some(t1), Some(t2)) if t1 < t2 => Some((t1, true)),
            (Some(t1), None) => Some((t1, true)),
            (_, Some(t2)) => Some((t2, false)),
            (None, None) => None,
        }
    }

    /// `get_slot_next`: the next slot opens a uniform time in `[min, max)` from now.
    fn get_slot_next(&mut self, slot: NetemSlot, now: u64) {
        let span = u128::from(slot.max_delay.as_nanos() - slot.min_delay.as_nanos());
        let next_delay =
            slot.min_delay.as_nanos() + ((span * u128::from(self.rng.next_u32())) >> 32) as u64;
        self.slot_next = Some(now + next_delay);
        self.slot_packets_left = slot_limit(slot.max_packets);
        self.slot_bytes_left = slot_limit(slot.max_bytes);
    }

    /// `netem_dequeue`.
    pub fn dequeue(&mut self, now: SimTime, _dropped: &mut Vec<Skb>) -> Dequeue {
        if let Some(skb) = self.core.take_requeued() {
            return Dequeue::Packet(skb);
        }
        if let Some((_, skb)) = self.head.pop_front() {
            return Dequeue::Packet(self.deliver(skb));
        }
        let Some((time_to_send, in_tree)) = self.peek() else {
            return Dequeue::Empty;
        };
        let now = now.as_nanos();
        if let (Some(slot), Some(next)) = (self.cfg.slot, self.slot_next)
            && next < time_to_send
        {
            self.get_slot_next(slot, now);
        }
        let slot_next = self.slot_next.unwrap_or(0);
        if time_to_send <= now && slot_next <= now {
            let skb = if in_tree {
                self.t_tree.pop_first().expect("peeked").1
            } else {
                self.t_list.pop_front().expect("peeked").1
            };
            if let (Some(slot), Some(_)) = (self.cfg.slot, self.slot_next) {
                self.slot_packets_left -= 1;
                self.slot_bytes_left -= pkt_len(&skb) as i64;
                if self.slot_packets_left <= 0 || self.slot_bytes_left <= 0 {
                    self.get_slot_next(slot, now);
                }
            }
            return Dequeue::Packet(self.deliver(skb));
        }
        Dequeue::Throttled(SimTime::from_nanos(time_to_send.max(slot_next)))
    }

    fn deliver(&mut self, skb: Skb) -> Skb {
        let len = pkt_len(&skb);
        self.core.remove(len);
        self.core.sent(len, skb.gso_segs);
        skb
    }

    /// `dev_requeue_skb`.
    pub fn requeue(&mut self, skb: Skb) {
        self.core.requeue(skb);
    }

    /// Moves to `out` what the last enqueue lost (loss model, limit) besides the packet it
    /// refused; already counted in `drops`.
    pub fn drain_enqueue_drops(&mut self, out: &mut Vec<Skb>) {
        out.append(&mut self.lost);
    }

    /// The `tc -s qdisc` counters.
    pub fn stats(&self) -> &QdiscStats {
        &self.core.stats
    }

    /// Packets waiting in the requeue slot.
    pub fn requeued_len(&self) -> usize {
        self.core.requeued_len()
    }
}

/// A slot's packet or byte allowance: 0 is no limit (`INT_MAX`).
fn slot_limit(v: u32) -> i64 {
    if v == 0 {
        i64::from(i32::MAX)
    } else {
        i64::from(v)
    }
}

/// `skb_clone` for netem's duplicate: the same bytes and metadata in a new skb of its own
/// (its own trace id), owned by no socket (`skb_clone` leaves `sk` unset) and asking for no
/// transmit timestamps.
fn skb_clone(pool: &mut SkbPool, skb: &Skb) -> Skb {
    let mut c = pool.alloc_copy(skb.data());
    c.priority = skb.priority;
    c.hash = skb.hash;
    c.pkt_type = skb.pkt_type;
    c.l4_csum_good = skb.l4_csum_good;
    c.gso_size = skb.gso_size;
    c.gso_segs = skb.gso_segs;
    c.gso_hdr_extra = skb.gso_hdr_extra;
    c.path_from(skb);
    c
}

#[cfg(test)]
mod tests {
    use sim_core::{RngStreams, SimDuration};

    use super::*;
    use crate::config::NetemDist;
    use crate::qdisc::test_util::pkt;

    const N: usize = 100_000;

    /// `get_percent`: `rint(p / 100 × UINT32_MAX)`.
    fn pct(p: f64) -> u32 {
        (p / 100.0 * f64::from(u32::MAX)).round() as u32
    }

    fn rng(k: u64) -> SimRng {
        RngStreams::new(7).stream("netem", k)
    }

    fn netem(cfg: NetemConfig) -> Netem {
        Netem::new(&cfg, rng(1)).unwrap()
    }

    fn mean_sd(x: &[f64]) -> (f64, f64) {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        let v = x.iter().map(|a| (a - m).powi(2)).sum::<f64>() / n;
        (m, v.sqrt())
    }

    /// Lag-1 autocorrelation.
    fn lag1(x: &[f64]) -> f64 {
        let (m, sd) = mean_sd(x);
        let c = x.windows(2).map(|w| (w[0] - m) * (w[1] - m)).sum::<f64>() / (x.len() - 1) as f64;
        c / (sd * sd)
    }

    fn close(got: f64, want: f64, tol: f64, what: &str) {
        assert!(
            (got - want).abs() <= tol,
            "{what}: got {got}, want {want} ± {tol}"
        );
    }

    #[test]
    fn crandom_is_an_ar1_process() {
        // X_n = (1 − ρ) U_n + ρ X_{n−1} with ρ = (rho + 1) / 2^32: stationary mean that of U,
        // sd σ_U √((1 − ρ)/(1 + ρ)), lag-1 correlation ρ.
        for corr in [0.0, 25.0, 75.0] {
            let mut r = rng(2);
            let mut c = Crnd::new(pct(corr), &mut r);
            let x: Vec<f64> = (0..N)
                .map(|_| f64::from(c.next(&mut r)) / 2f64.powi(32))
                .collect();
            let rho = corr / 100.0;
            let (m, sd) = mean_sd(&x);
            close(m, 0.5, 0.01, "mean");
            close(
                sd,
                (1.0 / 12f64).sqrt() * ((1.0 - rho) / (1.0 + rho)).sqrt(),
                0.005,
                "sd",
            );
            close(lag1(&x), rho, 0.01, "lag-1 correlation");
        }
    }

    /// Delays tabledist gives for `delay 100ms 10ms [corr]` with `dist`, in ms.
    fn delays(dist: NetemDist, corr: f64) -> Vec<f64> {
        let mut r = rng(3);
        let mut c = Crnd::new(pct(corr), &mut r);
        let table = netem_dist::table(dist);
        (0..N)
            .map(|_| tabledist(100_000_000, 10_000_000, &mut c, &mut r, table) as f64 / 1e6)
            .collect()
    }

    #[test]
    fn uniform_jitter_mean_sd_and_correlation() {
        // Uniform on [90, 110) ms: mean 100, sd 20/√12.
        let (m, sd) = mean_sd(&delays(NetemDist::Uniform, 0.0));
        close(m, 100.0, 0.05, "mean");
        close(sd, 20.0 / 12f64.sqrt(), 0.05, "sd");
        // `delay 100ms 10ms 25%`: the correlated draw is reduced `% (2 × jitter)`, which
        // keeps only its low-order part, where successive draws are unrelated: as in Linux,
        // the delays come out uncorrelated (what tc-netem's correlation promises is lost).
        let x = delays(NetemDist::Uniform, 25.0);
        close(lag1(&x), 0.0, 0.01, "correlation");
        // The draws themselves are correlated (the high-order bits carry it).
        let mut r = rng(3);
        let mut c = Crnd::new(pct(25.0), &mut r);
        let hi: Vec<f64> = (0..N).map(|_| f64::from(c.next(&mut r) >> 20)).collect();
        close(lag1(&hi), 0.25, 0.01, "draw correlation");
    }

    #[test]
    fn table_distributions_mean_and_sd() {
        // mu + sigma × t / 8192 for a uniform entry t: the normal table's quantiles of N(0,1)
        // give mean mu and sd sigma; Pareto and paretonormal have the table's own moments
        // (NIST Net's shift of the mean and scale), taken from the table.
        for dist in [
            NetemDist::Normal,
            NetemDist::Pareto,
            NetemDist::ParetoNormal,
        ] {
            let t: Vec<f64> = netem_dist::table(dist)
                .unwrap()
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            let (tm, tsd) = mean_sd(&t);
            let (m, sd) = mean_sd(&delays(dist, 0.0));
            close(m, 100.0 + 10.0 * tm / 8192.0, 0.06, "mean");
            close(sd, 10.0 * tsd / 8192.0, 0.1, "sd");
            if dist == NetemDist::Normal {
                close(m, 100.0, 0.06, "normal mean");
                close(sd, 10.0, 0.1, "normal sd");
            }
        }
    }

    /// Runs `n` losses of a model; the loss flags in order.
    fn losses(loss: NetemLoss) -> Vec<bool> {
        let mut q = netem(NetemConfig {
            loss,
            ..NetemConfig::default()
        });
        (0..10 * N).map(|_| q.loss_event()).collect()
    }

    fn rate(l: &[bool]) -> f64 {
        l.iter().filter(|&&x| x).count() as f64 / l.len() as f64
    }

    /// Mean length of runs of consecutive losses.
    fn mean_burst(l: &[bool]) -> f64 {
        let mut runs = Vec::new();
        let mut cur = 0;
        for &x in l {
            if x {
                cur += 1;
            } else if cur > 0 {
                runs.push(cur as f64);
                cur = 0;
            }
        }
        mean_sd(&runs).0
    }

    #[test]
    fn random_loss_rate() {
        let l = losses(NetemLoss::Random {
            p: pct(1.0),
            corr: 0,
        });
        // Binomial: sd √(p(1 − p)/10⁶) ≈ 0.0001.
        close(rate(&l), 0.01, 0.0004, "loss rate");
    }

    #[test]
    fn gilbert_elliott_stationary_loss_and_bursts() {
        // `loss gemodel 1% 10% 70% 0.1%`: π_bad = p/(p + r); loss = π_good (1−k) + π_bad (1−h).
        let (p, r, one_h, one_k) = (0.01, 0.10, 0.70, 0.001);
        let l = losses(NetemLoss::GilbertElliott {
            p: pct(p * 100.0),
            r: pct(r * 100.0),
            h: u32::MAX - pct(one_h * 100.0),
            k1: pct(one_k * 100.0),
        });
        let bad = p / (p + r);
        close(
            rate(&l),
            (1.0 - bad) * one_k + bad * one_h,
            0.005,
            "GE loss rate",
        );
        // Simple Gilbert (1−h = 100%, 1−k = 0): every packet in the bad state is lost, and
        // the bad state lasts a geometric number of packets of mean 1/r.
        let l = losses(NetemLoss::GilbertElliott {
            p: pct(p * 100.0),
            r: pct(r * 100.0),
            h: 0,
            k1: 0,
        });
        close(rate(&l), bad, 0.006, "Gilbert loss rate");
        // ~9000 bursts, sd of their mean √(1 − r)/r/√9000 ≈ 0.1.
        close(mean_burst(&l), 1.0 / r, 0.4, "Gilbert burst length");
    }

    #[test]
    fn four_state_stationary_loss_and_bursts() {
        // GI model: π1 = 1/(1 + p14 + p13/p31 + p13 p32/(p31 p23)), π3 = π1 p13/p31,
        // π4 = π1 p14; loss = π3 + π4.
        let (p13, p31, p32, p23, p14) = (0.05, 0.30, 0.10, 0.20, 0.01);
        let l = losses(NetemLoss::State {
            p13: pct(p13 * 100.0),
            p31: pct(p31 * 100.0),
            p32: pct(p32 * 100.0),
            p23: pct(p23 * 100.0),
            p14: pct(p14 * 100.0),
        });
        let pi1 = 1.0 / (1.0 + p14 + p13 / p31 + p13 * p32 / (p31 * p23));
        close(
            rate(&l),
            pi1 * (p13 / p31 + p14),
            0.004,
            "4-state loss rate",
        );
        // `loss state 5% 30%` (tc's defaults p32 = 0, p23 = 100%, p14 = 0): bursts in state 3
        // end with probability p31 each packet: mean length 1/p31.
        let l = losses(NetemLoss::State {
            p13: pct(5.0),
            p31: pct(30.0),
            p32: 0,
            p23: u32::MAX,
            p14: 0,
        });
        close(
            rate(&l),
            (0.05 / 0.30) / (1.0 + 0.05 / 0.30),
            0.004,
            "Gilbert-like rate",
        );
        close(mean_burst(&l), 1.0 / 0.30, 0.05, "4-state burst length");
    }

    /// Enqueues `n` packets of `len` bytes at `at`, returns the netem.
    fn fill(q: &mut Netem, pool: &mut SkbPool, n: usize, len: usize, at: SimTime) -> Vec<u64> {
        (0..n)
            .map(|_| {
                let skb = pkt(pool, len, 0, 0);
                let id = skb.id;
                assert!(matches!(q.enqueue(skb, at, pool, 14), Enqueue::Queued));
                id
            })
            .collect()
    }

    /// Dequeues everything, jumping to each watchdog time: (time, id) in order.
    fn drain(q: &mut Netem, mut now: SimTime) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        loop {
            match q.dequeue(now, &mut Vec::new()) {
                Dequeue::Packet(skb) => out.push((now.as_nanos(), skb.id)),
                Dequeue::Throttled(t) => {
                    assert!(t > now);
                    now = t;
                }
                Dequeue::Empty => return out,
            }
        }
    }

    #[test]
    fn reorder_fraction_with_gap() {
        // `delay 10ms reorder 25% gap 5`: after each reordered packet 4 are delayed, then each
        // is reordered with probability 1/4: one in 4 + 1/0.25 = 8.
        let mut q = netem(NetemConfig {
            latency: SimDuration::from_millis(10),
            reorder: (pct(25.0), 0),
            gap: 5,
            ..NetemConfig::default()
        });
        let mut pool = SkbPool::new();
        let mut sent_first = 0;
        for _ in 0..N / 10 {
            fill(&mut q, &mut pool, 10, 100, SimTime::ZERO);
            // Reordered packets leave at once, ahead of the delayed ones.
            let out = drain(&mut q, SimTime::ZERO);
            sent_first += out.iter().filter(|(t, _)| *t == 0).count();
            assert_eq!(out.len(), 10);
        }
        let s = q.stats();
        assert_eq!(s.requeues as usize, sent_first);
        close(
            sent_first as f64 / N as f64,
            1.0 / 8.0,
            0.005,
            "reorder fraction",
        );
    }

    #[test]
    fn rate_serializes_with_overhead_and_cells() {
        // `rate 1Mbit 20 48 5`: (1000 + 20) bytes in ⌈1020/48⌉ = 22 cells of 53 bytes = 1166
        // bytes at 125000 B/s = 9.328 ms each, back to back.
        let mut q = netem(NetemConfig {
            rate: Some(NetemRate {
                bytes_per_sec: 1_000_000 / 8,
                packet_overhead: 20,
                cell_size: 48,
                cell_overhead: 5,
            }),
            ..NetemConfig::default()
        });
        let mut pool = SkbPool::new();
        fill(&mut q, &mut pool, 5, 1000, SimTime::ZERO);
        let times: Vec<u64> = drain(&mut q, SimTime::ZERO).iter().map(|x| x.0).collect();
        let each = 1166 * 8 * 1_000_000_000 / 1_000_000;
        assert_eq!(times, (1..=5).map(|k| k * each).collect::<Vec<_>>());
        // Plain rate: 1000 bytes × 8 / 1 Mbit/s = 8 ms.
        let plain = NetemRate {
            bytes_per_sec: 125_000,
            packet_overhead: 0,
            cell_size: 0,
            cell_overhead: 0,
        };
        assert_eq!(packet_time_ns(1000, &plain), 8_000_000);
    }

    #[test]
    fn tfifo_sends_in_time_order_ties_in_arrival_order() {
        // Jitter 50ms around 100ms: packets leave sorted by their time to send.
        let mut q = netem(NetemConfig {
            latency: SimDuration::from_millis(100),
            jitter: SimDuration::from_millis(50),
            ..NetemConfig::default()
        });
        let mut pool = SkbPool::new();
        fill(&mut q, &mut pool, 200, 100, SimTime::ZERO);
        let out = drain(&mut q, SimTime::ZERO);
        assert_eq!(out.len(), 200);
        assert!(out.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(
            out.iter()
                .all(|(t, _)| (50_000_000..150_000_000).contains(t))
        );
        // No jitter: equal times, first in first out.
        let mut q = netem(NetemConfig {
            latency: SimDuration::from_millis(5),
            ..NetemConfig::default()
        });
        let ids = fill(&mut q, &mut pool, 20, 100, SimTime::ZERO);
        let out = drain(&mut q, SimTime::ZERO);
        assert_eq!(out.iter().map(|x| x.1).collect::<Vec<_>>(), ids);
        assert!(out.iter().all(|(t, _)| *t == 5_000_000));
    }

    #[test]
    fn duplicate_makes_one_copy_corrupt_flips_one_bit() {
        let mut q = netem(NetemConfig {
            duplicate: (u32::MAX, 0),
            corrupt: (u32::MAX, 0),
            ..NetemConfig::default()
        });
        let mut pool = SkbPool::new();
        let mut skb = pkt(&mut pool, 200, 0, 0);
        skb.l4_csum_good = true;
        assert!(matches!(
            q.enqueue(skb, SimTime::ZERO, &mut pool, 14),
            Enqueue::Queued
        ));
        let mut out = Vec::new();
        while let Dequeue::Packet(skb) = q.dequeue(SimTime::ZERO, &mut Vec::new()) {
            out.push(skb);
        }
        // The copy is not copied again; both are corrupted (the copy on its own enqueue).
        assert_eq!(out.len(), 2);
        assert_ne!(out[0].id, out[1].id);
        for skb in &out {
            let ones: u32 = skb.data().iter().map(|b| b.count_ones()).sum();
            assert_eq!(ones, 1, "one bit flipped in a frame of zeros");
            assert!(!skb.l4_csum_good);
        }
        assert_eq!(q.stats().packets, 2);
    }

    #[test]
    fn limit_drops_and_loss_is_success_to_the_sender() {
        let mut q = netem(NetemConfig {
            limit: 3,
            latency: SimDuration::from_millis(1),
            ..NetemConfig::default()
        });
        let mut pool = SkbPool::new();
        fill(&mut q, &mut pool, 3, 100, SimTime::ZERO);
        assert!(matches!(
            q.enqueue(pkt(&mut pool, 100, 0, 0), SimTime::ZERO, &mut pool, 14),
            Enqueue::Dropped(_)
        ));
        assert_eq!(q.stats().drops, 1);
        let mut q = netem(NetemConfig {
            loss: NetemLoss::Random {
                p: u32::MAX,
                corr: 0,
            },
            ..NetemConfig::default()
        });
        assert!(matches!(
            q.enqueue(pkt(&mut pool, 100, 0, 0), SimTime::ZERO, &mut pool, 14),
            Enqueue::Queued
        ));
        let mut lost = Vec::new();
        q.drain_enqueue_drops(&mut lost);
        assert_eq!((lost.len(), q.stats().drops, q.stats().qlen), (1, 1, 0));
    }

    #[test]
    fn slots_release_packets_in_groups() {
        // `slot 10ms 10ms packets 2`: two packets per slot, a slot every 10 ms.
        let mut q = netem(NetemConfig {
            slot: Some(NetemSlot {
                min_delay: SimDuration::from_millis(10),
                max_delay: SimDuration::from_millis(10),
                max_packets: 2,
                max_bytes: 0,
            }),
            ..NetemConfig::default()
        });
        let mut pool = SkbPool::new();
        fill(&mut q, &mut pool, 6, 100, SimTime::ZERO);
        let times: Vec<u64> = drain(&mut q, SimTime::ZERO).iter().map(|x| x.0).collect();
        assert_eq!(times, [0, 0, 10, 10, 20, 20].map(|ms| ms * 1_000_000));
    }

    #[test]
    fn same_seed_same_losses() {
        let cfg = NetemConfig {
            loss: NetemLoss::Random {
                p: pct(10.0),
                corr: pct(25.0),
            },
            ..NetemConfig::default()
        };
        let run = |k| {
            let mut q = Netem::new(&cfg, rng(k)).unwrap();
            (0..1000).map(|_| q.loss_event()).collect::<Vec<_>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
    }
}
