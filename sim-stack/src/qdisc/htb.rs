//! `htb`, the hierarchical token bucket (`net/sched/sch_htb.c`), configured as `tc-htb(8)`
//! does.
//!
//! A tree of classes, each with two token buckets kept in time (ns, as 6.x keeps "psched
//! ticks"): `tokens` refill at `rate` up to `buffer` (the time `burst` bytes take at `rate`),
//! `ctokens` at `ceil` up to `cbuffer`. From them a class's mode (`htb_class_mode`, no
//! hysteresis: `htb_hysteresis` is 0): `CANT_SEND` when `ctokens < 0`, else `CAN_SEND` when
//! `tokens >= 0`, else `MAY_BORROW`. Only leaves hold packets, each in its own qdisc (pfifo
//! of `txqueuelen` by default, as `htb_change_class` creates it).
//!
//! Levels as Linux numbers them: leaves are level 0; an inner class is one below its parent,
//! a root class level 7 (`TC_HTB_MAXDEPTH - 1`). A leaf with packets is *active* at its
//! `prio`; a class's active prios are its own (leaf) or those of its children that are
//! `MAY_BORROW` (`htb_activate_prios`). Dequeue (`htb_dequeue`) serves, from level 0 up and
//! from prio 0 up, the classes of that level that are `CAN_SEND` and active at that prio (the
//! row, `hlevel[level].hprio[prio]`), descending through `MAY_BORROW` children (the feeds,
//! `inner.clprio[prio]`) to a leaf (`htb_lookup_leaf`): a leaf sends on its own tokens, or
//! borrows from the nearest ancestor that may send. Among equals, deficit round robin by
//! class id with each leaf's `quantum` (`rate / r2q`, clamped to 1000..=200000 bytes unless
//! given, as `htb_change_class` does) and a deficit per level (`leaf.deficit[level]`); only
//! the pointer of the leaf's own parent (or of the row, at level 0) moves on
//! (`htb_next_rb_node`), as in Linux.
//!
//! Sending charges (`htb_charge_class`) the leaf and every ancestor: the classes at or above
//! the level it was served at spend `tokens` (the one at that level counts a *lend*), those
//! below count a *borrow* and only move their clock; all spend `ctokens`. A class entering
//! `CANT_SEND` counts an overlimit, on itself and on the qdisc. When packets wait but no class
//! may send, dequeue answers [`Dequeue::Throttled`] at the nearest mode change (the wait
//! queue, `htb_do_events`), or a throttled leaf qdisc's own wake-up.
//!
//! Classification (`htb_classify`): `skb->priority` naming a leaf class (`1:MINOR`, major 1)
//! selects it; otherwise the filters ([`super::filter`]); otherwise the `default` class. A
//! packet with no class, or whose default is not a leaf, goes to the direct queue (`direct_qlen`
//! packets, `txqueuelen` by default), sent before anything else without shaping, and counted
//! in `direct_packets_stat`.
//!
//! Mode changes are computed at each dequeue for every class rather than kept in an event
//! tree (same result: tokens only grow between charges); the kernel's bound on events per
//! dequeue and its 5 s / 1 s fallback wake-ups are not modeled. Token cost is exact integer
//! division (`psched_l2t_ns` uses a reciprocal); no `overhead`/`mpu`/linklayer, no offload.
//! `giants` is always 0 (6.12 never counts it). The qdisc's handle is `1:`.

use serde::{Deserialize, Serialize};
use sim_core::{SimRng, SimTime};

use super::filter::{Filter, classify};
use super::{Dequeue, Enqueue, Pfifo, Qdisc, QdiscCore, QdiscError, QdiscStats, pkt_len};
use crate::config::QdiscConfig;
use crate::skb::{Skb, SkbPool};

/// `TC_HTB_MAXDEPTH`: levels 0..8.
const MAXDEPTH: u8 = 8;
/// `TC_HTB_NUMPRIO`.
const NUMPRIO: u8 = 8;
/// `cl->mbuffer`: tokens and waits are capped at one minute.
const MBUFFER: i64 = 60_000_000_000;
/// The MTU tc adds to the default burst (`mtu 1600`).
const TC_MTU: u64 = 1600;

/// `tc qdisc add … htb default D r2q R` with its classes and filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HtbConfig {
    /// Minor number of the default class (0: unclassified packets go direct).
    pub default: u32,
    /// `r2q`: quantum = rate (bytes/s) / r2q (default 10).
    pub r2q: u32,
    /// Direct queue limit, packets (default the device's `txqueuelen`).
    pub direct_qlen: Option<u32>,
    /// The classes, parents before children.
    pub classes: Vec<HtbClassConfig>,
    /// The filters attached to the qdisc, tried in order.
    pub filters: Vec<Filter>,
}

impl Default for HtbConfig {
    fn default() -> Self {
        Self {
            default: 0,
            r2q: 10,
            direct_qlen: None,
            classes: Vec::new(),
            filters: Vec::new(),
        }
    }
}

/// `tc class add … parent P classid 1:ID htb rate R ceil C burst B cburst CB prio P quantum Q`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HtbClassConfig {
    /// Minor number (tc's hex `1:ID`).
    pub id: u32,
    /// Parent class minor, or `None` under the qdisc.
    pub parent: Option<u32>,
    /// Assured rate, bit/s.
    pub rate_bps: u64,
    /// Ceiling, bit/s (default the rate).
    pub ceil_bps: Option<u64>,
    /// Bucket size, bytes (default tc's `rate / hz + mtu`: 1600 below 8 Gbit/s).
    pub burst: Option<u32>,
    /// Ceil bucket size, bytes (same default from the ceil).
    pub cburst: Option<u32>,
    /// DRR quantum, bytes (default from `r2q`).
    pub quantum: Option<u32>,
    /// Priority 0 (first) ..= 7.
    pub prio: u8,
    /// The leaf qdisc (default pfifo of `txqueuelen`); only for leaves.
    pub leaf: Option<QdiscConfig>,
}

impl HtbClassConfig {
    /// A class with only a rate.
    pub fn new(id: u32, parent: Option<u32>, rate_bps: u64) -> Self {
        Self {
            id,
            parent,
            rate_bps,
            ceil_bps: None,
            burst: None,
            cburst: None,
            quantum: None,
            prio: 0,
            leaf: None,
        }
    }
}

/// A class's mode (`enum htb_cmode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Over its ceil.
    CantSend,
    /// Over its rate, under its ceil: may borrow.
    MayBorrow,
    /// Under its rate.
    CanSend,
}

/// `tc -s class show` for one htb class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HtbClassStats {
    /// Bytes sent.
    pub bytes: u64,
    /// Packets sent.
    pub packets: u64,
    /// Packets its leaf qdisc refused.
    pub drops: u64,
    /// Times it entered `CANT_SEND`.
    pub overlimits: u64,
    /// Packets sent on its own tokens while serving at its level.
    pub lends: u64,
    /// Packets that passed it while borrowing from an ancestor.
    pub borrows: u64,
    /// Always 0 (not counted by Linux 6.12).
    pub giants: u64,
}

/// Nanoseconds `len` bytes take at `bps` (`psched_l2t_ns`), truncated.
fn l2t(bps: u64, len: u64) -> i64 {
    i64::try_from(u128::from(len) * 8 * 1_000_000_000 / u128::from(bps)).unwrap_or(i64::MAX)
}

/// One class of the tree.
#[derive(Debug)]
pub struct HtbClass {
    id: u32,
    parent: Option<usize>,
    /// Children indices, by class id.
    children: Vec<usize>,
    level: u8,
    prio: u8,
    rate_bps: u64,
    ceil_bps: u64,
    burst: u32,
    cburst: u32,
    quantum: u32,
    buffer: i64,
    cbuffer: i64,
    tokens: i64,
    ctokens: i64,
    t_c: SimTime,
    cmode: Mode,
    leaf: Option<Qdisc>,
    /// `leaf.deficit[level]`.
    deficit: [i64; MAXDEPTH as usize],
    /// Inner: the DRR pointer of each prio's feed (`inner.clprio[prio].ptr`), a class id.
    ptr: [u32; NUMPRIO as usize],
    stats: HtbClassStats,
}

impl HtbClass {
    /// Minor number.
    pub fn id(&self) -> u32 {
        self.id
    }
    /// Parent class minor, if any.
    pub fn parent_id(&self, h: &Htb) -> Option<u32> {
        self.parent.map(|p| h.classes[p].id)
    }
    /// Level (0: leaf; 7: root inner class).
    pub fn level(&self) -> u8 {
        self.level
    }
    /// Priority.
    pub fn prio(&self) -> u8 {
        self.prio
    }
    /// Rate, bit/s.
    pub fn rate_bps(&self) -> u64 {
        self.rate_bps
    }
    /// Ceil, bit/s.
    pub fn ceil_bps(&self) -> u64 {
        self.ceil_bps
    }
    /// Burst, bytes.
    pub fn burst(&self) -> u32 {
        self.burst
    }
    /// Cburst, bytes.
    pub fn cburst(&self) -> u32 {
        self.cburst
    }
    /// DRR quantum, bytes.
    pub fn quantum(&self) -> u32 {
        self.quantum
    }
    /// Tokens as of the last charge, ns (tc prints them `>> 6`, in psched ticks).
    pub fn tokens(&self) -> i64 {
        self.tokens
    }
    /// Ceil tokens as of the last charge, ns.
    pub fn ctokens(&self) -> i64 {
        self.ctokens
    }
    /// Mode at the last dequeue.
    pub fn mode(&self) -> Mode {
        self.cmode
    }
    /// The leaf qdisc (none for an inner class).
    pub fn leaf(&self) -> Option<&Qdisc> {
        self.leaf.as_ref()
    }
    /// The class counters.
    pub fn stats(&self) -> &HtbClassStats {
        &self.stats
    }

    /// `htb_class_mode` at `t_c + diff`, and the wait until it changes.
    fn mode_at(&self, diff: i64) -> (Mode, i64) {
        let toks = self.ctokens + diff;
        if toks < 0 {
            return (Mode::CantSend, -toks);
        }
        let toks = self.tokens + diff;
        if toks >= 0 {
            (Mode::CanSend, 0)
        } else {
            (Mode::MayBorrow, -toks)
        }
    }

    fn diff(&self, now: SimTime) -> i64 {
        i64::try_from(now.as_nanos().saturating_sub(self.t_c.as_nanos()))
            .unwrap_or(i64::MAX)
            .min(MBUFFER)
    }

    fn backlogged(&self) -> bool {
        self.leaf.as_ref().is_some_and(|q| !q.is_empty())
    }
}

/// The hierarchical token bucket.
#[derive(Debug)]
pub struct Htb {
    /// By class id.
    classes: Vec<HtbClass>,
    filters: Vec<Filter>,
    default: u32,
    r2q: u32,
    direct: std::collections::VecDeque<Skb>,
    direct_qlen: u32,
    direct_pkts: u64,
    /// `hlevel[level].hprio[prio].ptr`, as class ids.
    row_ptr: [[u32; NUMPRIO as usize]; MAXDEPTH as usize],
    /// Per-dequeue scratch: the prio mask each class is active at (`prio_activity`).
    activity: Vec<u8>,
    /// Warnings `tc` prints (`quantum of class 10010 is big. Consider r2q change.`).
    warnings: Vec<String>,
    core: QdiscCore,
}

impl Htb {
    /// The qdisc `cfg` describes on a device with `txqueuelen`; `rng` seeds the random streams
    /// of leaf qdiscs that draw (netem), one per leaf from its class id.
    pub fn new(cfg: &HtbConfig, txqueuelen: u32, mut rng: SimRng) -> Result<Self, QdiscError> {
        let mut classes: Vec<HtbClass> = Vec::with_capacity(cfg.classes.len());
        let mut order: Vec<&HtbClassConfig> = cfg.classes.iter().collect();
        order.sort_by_key(|c| c.id);
        let mut warnings = Vec::new();
        let r2q = cfg.r2q.max(1);
        let seed = rng.next_u64();
        for c in &order {
            if c.id == 0 || c.id > 0xffff {
                return Err(QdiscError::HtbClassId(c.id));
            }
            if classes.iter().any(|k| k.id == c.id) {
                return Err(QdiscError::HtbDuplicateClass(c.id));
            }
            if c.rate_bps == 0 {
                return Err(QdiscError::HtbZeroRate(c.id));
            }
            let ceil = c.ceil_bps.unwrap_or(c.rate_bps);
            if ceil < c.rate_bps {
                return Err(QdiscError::HtbCeilBelowRate(c.id));
            }
            let dflt =
                |bps: u64| u32::try_from(bps / 8 / 1_000_000_000 + TC_MTU).unwrap_or(u32::MAX);
            let burst = c.burst.unwrap_or_else(|| dflt(c.rate_bps));
            let cburst = c.cburst.unwrap_or_else(|| dflt(ceil));
            let quantum = match c.quantum {
                Some(q) => q,
                None => {
                    let q = u32::try_from(c.rate_bps / 8 / u64::from(r2q)).unwrap_or(u32::MAX);
                    if q < 1000 {
                        warnings.push(format!(
                            "quantum of class 1{:04X} is small. Consider r2q change.",
                            c.id
                        ));
                        1000
                    } else if q > 200_000 {
                        warnings.push(format!(
                            "quantum of class 1{:04X} is big. Consider r2q change.",
                            c.id
                        ));
                        200_000
                    } else {
                        q
                    }
                }
            };
            let buffer = l2t(c.rate_bps, u64::from(burst));
            let cbuffer = l2t(ceil, u64::from(cburst));
            classes.push(HtbClass {
                id: c.id,
                parent: None,
                children: Vec::new(),
                level: 0,
                prio: c.prio.min(NUMPRIO - 1),
                rate_bps: c.rate_bps,
                ceil_bps: ceil,
                burst,
                cburst,
                quantum,
                buffer,
                cbuffer,
                tokens: buffer,
                ctokens: cbuffer,
                t_c: SimTime::ZERO,
                cmode: Mode::CanSend,
                leaf: None,
                deficit: [0; MAXDEPTH as usize],
                ptr: [0; NUMPRIO as usize],
                stats: HtbClassStats::default(),
            });
        }
        let ids: Vec<u32> = classes.iter().map(|k| k.id).collect();
        let index = |id: u32| ids.binary_search(&id).ok();
        let mut links = Vec::new();
        for (i, c) in order.iter().enumerate() {
            if let Some(p) = c.parent {
                let pi = index(p).ok_or(QdiscError::HtbUnknownParent {
                    class: c.id,
                    parent: p,
                })?;
                if pi == i {
                    return Err(QdiscError::HtbUnknownParent {
                        class: c.id,
                        parent: p,
                    });
                }
                links.push((i, pi));
            }
        }
        for &(i, pi) in &links {
            classes[i].parent = Some(pi);
            classes[pi].children.push(i);
        }
        // Levels from the roots down; a cycle never reaches a root.
        let mut stack: Vec<(usize, u8)> = (0..classes.len())
            .filter(|&i| classes[i].parent.is_none())
            .map(|i| (i, MAXDEPTH))
            .collect();
        let mut seen = 0;
        while let Some((i, above)) = stack.pop() {
            seen += 1;
            if classes[i].children.is_empty() {
                classes[i].level = 0;
            } else {
                if above <= 1 {
                    return Err(QdiscError::HtbTooDeep(classes[i].id));
                }
                classes[i].level = above - 1;
                for &k in &classes[i].children {
                    stack.push((k, above - 1));
                }
            }
        }
        if seen != classes.len() {
            return Err(QdiscError::HtbUnknownParent {
                class: classes[links[0].0].id,
                parent: classes[links[0].1].id,
            });
        }
        for (i, c) in order.iter().enumerate() {
            if classes[i].level > 0 {
                if c.leaf.is_some() {
                    return Err(QdiscError::HtbLeafOnInner(c.id));
                }
                continue;
            }
            let leaf = match &c.leaf {
                None => Qdisc::Pfifo(Pfifo::new(txqueuelen)),
                Some(lc) => Qdisc::from_config(lc, txqueuelen, || {
                    sim_core::RngStreams::new(seed).stream("htb-leaf", u64::from(c.id))
                })?,
            };
            classes[i].leaf = Some(leaf);
        }
        for f in &cfg.filters {
            match index(f.flowid) {
                None => return Err(QdiscError::HtbUnknownFlowid(f.flowid)),
                Some(i) if classes[i].level > 0 => {
                    return Err(QdiscError::HtbFlowidInner(f.flowid));
                }
                Some(_) => {}
            }
        }
        let n = classes.len();
        Ok(Self {
            classes,
            filters: cfg.filters.clone(),
            default: cfg.default,
            r2q,
            direct: std::collections::VecDeque::new(),
            direct_qlen: cfg.direct_qlen.unwrap_or(txqueuelen),
            direct_pkts: 0,
            row_ptr: [[0; NUMPRIO as usize]; MAXDEPTH as usize],
            activity: vec![0; n],
            warnings,
            core: QdiscCore::default(),
        })
    }

    fn find(&self, id: u32) -> Option<usize> {
        self.classes.binary_search_by_key(&id, |k| k.id).ok()
    }

    /// `htb_classify`: the leaf for `skb`, or `None` for the direct queue.
    fn classify(&self, skb: &Skb, mac_len: usize) -> Option<usize> {
        if skb.priority >> 16 == 1
            && let Some(i) = self.find(skb.priority & 0xffff)
            && self.classes[i].level == 0
        {
            return Some(i);
        }
        let id = classify(&self.filters, skb, mac_len).unwrap_or(self.default);
        self.find(id).filter(|&i| self.classes[i].level == 0)
    }

    /// `htb_enqueue`.
    pub fn enqueue(
        &mut self,
        skb: Skb,
        now: SimTime,
        pool: &mut SkbPool,
        mac_len: usize,
    ) -> Enqueue {
        let len = pkt_len(&skb);
        let Some(i) = self.classify(&skb, mac_len) else {
            if self.direct.len() >= self.direct_qlen as usize {
                self.core.stats.drops += 1;
                return Enqueue::Dropped(skb);
            }
            let mut skb = skb;
            skb.enqueue_time = now;
            self.direct_pkts += 1;
            self.core.add(len);
            self.direct.push_back(skb);
            return Enqueue::Queued;
        };
        let leaf = self.classes[i]
            .leaf
            .as_mut()
            .expect("a leaf class has a qdisc");
        let before = (leaf.len(), leaf.backlog_bytes());
        let r = leaf.enqueue(skb, now, pool, mac_len);
        let after = (leaf.len(), leaf.backlog_bytes());
        self.track(before, after);
        if matches!(r, Enqueue::Dropped(_)) {
            self.core.stats.drops += 1;
            self.classes[i].stats.drops += 1;
        }
        r
    }

    /// Follows a leaf's queue change in the qdisc's own qlen/backlog
    /// (`qdisc_tree_reduce_backlog`).
    fn track(&mut self, before: (usize, u64), after: (usize, u64)) {
        let s = &mut self.core.stats;
        s.qlen = s.qlen + after.0 as u64 - before.0 as u64;
        s.backlog = s.backlog + after.1 - before.1;
    }

    /// Leaf drops beyond the refused packet (fq_codel, netem); counted as the qdisc's drops.
    pub fn drain_enqueue_drops(&mut self, out: &mut Vec<Skb>) {
        let start = out.len();
        for c in &mut self.classes {
            if let Some(q) = c.leaf.as_mut() {
                let before = out.len();
                q.drain_enqueue_drops(out);
                c.stats.drops += (out.len() - before) as u64;
            }
        }
        self.core.stats.drops += (out.len() - start) as u64;
    }

    /// `htb_do_events` for every class: the mode at `now`; and the prio activity.
    fn refresh(&mut self, now: SimTime) {
        for c in &mut self.classes {
            c.cmode = c.mode_at(c.diff(now)).0;
        }
        // Activity bottom-up: leaves, then levels 1..7.
        for i in 0..self.classes.len() {
            let c = &self.classes[i];
            self.activity[i] = if c.backlogged() { 1 << c.prio } else { 0 };
        }
        self.refresh_activity();
    }

    /// DRR pick among `cands` (class indices by id) at pointer `ptr`: the first at or after
    /// it, else the first.
    fn pick(&self, cands: impl Iterator<Item = usize> + Clone, ptr: u32) -> Option<usize> {
        cands
            .clone()
            .find(|&i| self.classes[i].id >= ptr)
            .or_else(|| cands.clone().next())
    }

    /// `htb_lookup_leaf` from the row `(level, prio)`: the leaf to serve, and the class
    /// whose pointer it sits under (`None`: the row).
    fn lookup(&mut self, level: u8, prio: u8) -> Option<(usize, Option<usize>)> {
        let bit = 1u8 << prio;
        let row = (0..self.classes.len()).filter(|&i| {
            let c = &self.classes[i];
            c.level == level && c.cmode == Mode::CanSend && self.activity[i] & bit != 0
        });
        let mut cl = self.pick(row, self.row_ptr[level as usize][prio as usize])?;
        self.row_ptr[level as usize][prio as usize] = self.classes[cl].id;
        let mut parent = None;
        while self.classes[cl].level > 0 {
            let feed = self.classes[cl].children.iter().copied().filter(|&k| {
                self.classes[k].cmode == Mode::MayBorrow && self.activity[k] & bit != 0
            });
            let next = self.pick(feed, self.classes[cl].ptr[prio as usize])?;
            self.classes[cl].ptr[prio as usize] = self.classes[next].id;
            parent = Some(cl);
            cl = next;
        }
        Some((cl, parent))
    }

    /// `htb_next_rb_node` on the pointer the leaf sits under.
    fn advance(&mut self, level: u8, prio: u8, leaf: usize, parent: Option<usize>) {
        let next = self.classes[leaf].id + 1;
        match parent {
            Some(p) => self.classes[p].ptr[prio as usize] = next,
            None => self.row_ptr[level as usize][prio as usize] = next,
        }
    }

    /// `htb_charge_class`.
    fn charge(&mut self, leaf: usize, level: u8, bytes: u64, segs: u16, now: SimTime) {
        let mut at = Some(leaf);
        while let Some(i) = at {
            let c = &mut self.classes[i];
            let diff = c.diff(now);
            if c.level >= level {
                if c.level == level {
                    c.stats.lends += 1;
                }
                let toks = (diff + c.tokens).min(c.buffer) - l2t(c.rate_bps, bytes);
                c.tokens = if toks <= -MBUFFER { 1 - MBUFFER } else { toks };
            } else {
                c.stats.borrows += 1;
                c.tokens += diff;
            }
            let toks = (diff + c.ctokens).min(c.cbuffer) - l2t(c.ceil_bps, bytes);
            c.ctokens = if toks <= -MBUFFER { 1 - MBUFFER } else { toks };
            c.t_c = now;
            let new = c.mode_at(0).0;
            if new != c.cmode {
                if new == Mode::CantSend {
                    c.stats.overlimits += 1;
                    self.core.stats.overlimits += 1;
                }
                c.cmode = new;
            }
            if c.level > 0 {
                c.stats.bytes += bytes;
                c.stats.packets += u64::from(segs);
            }
            at = c.parent;
        }
    }

    /// `htb_dequeue`.
    pub fn dequeue(&mut self, now: SimTime, dropped: &mut Vec<Skb>) -> Dequeue {
        if let Some(skb) = self.core.take_requeued() {
            return Dequeue::Packet(skb);
        }
        if let Some(skb) = self.direct.pop_front() {
            let len = pkt_len(&skb);
            self.core.remove(len);
            self.core.sent(len, skb.gso_segs);
            return Dequeue::Packet(skb);
        }
        if self.core.stats.qlen == 0 {
            return Dequeue::Empty;
        }
        self.refresh(now);
        let mut leaf_wake: Option<SimTime> = None;
        for level in 0..MAXDEPTH {
            for prio in 0..NUMPRIO {
                if let Some(skb) = self.dequeue_tree(level, prio, now, dropped, &mut leaf_wake) {
                    return Dequeue::Packet(skb);
                }
            }
        }
        if self.core.stats.qlen == 0 {
            return Dequeue::Empty;
        }
        // Nothing may send: wake at the next mode change (the wait queue) or leaf wake-up.
        // Not an overlimit: 6.12's qdisc counts only its classes' entries into CANT_SEND
        // (`htb_dump` reports `q->overlimits`), as `tc -s qdisc` on a real run shows.
        let mut wake = leaf_wake;
        for c in &self.classes {
            let (mode, wait) = c.mode_at(c.diff(now));
            if mode != Mode::CanSend {
                let t = SimTime::from_nanos(now.as_nanos() + wait.max(1) as u64);
                wake = Some(wake.map_or(t, |w| w.min(t)));
            }
        }
        Dequeue::Throttled(wake.unwrap_or(SimTime::from_nanos(now.as_nanos() + 1_000_000_000)))
    }

    /// `htb_dequeue_tree`: a packet from the leaves the row `(level, prio)` leads to.
    fn dequeue_tree(
        &mut self,
        level: u8,
        prio: u8,
        now: SimTime,
        dropped: &mut Vec<Skb>,
        leaf_wake: &mut Option<SimTime>,
    ) -> Option<Skb> {
        let (mut cl, mut parent) = self.lookup(level, prio)?;
        let start = cl;
        let (skb, cl) = loop {
            let leaf = self.classes[cl].leaf.as_mut().expect("leaf");
            let before = (leaf.len(), leaf.backlog_bytes());
            let drops_before = leaf.stats().drops;
            let got = leaf.dequeue(now, dropped);
            let after = (leaf.len(), leaf.backlog_bytes());
            let leaf_drops = leaf.stats().drops - drops_before;
            let empty = leaf.is_empty();
            self.core.stats.drops += leaf_drops;
            match got {
                Dequeue::Packet(skb) => {
                    // The qdisc's qlen/backlog follow the leaf, the sent packet included.
                    self.track(before, after);
                    break (skb, cl);
                }
                Dequeue::Throttled(t) => {
                    *leaf_wake = Some(leaf_wake.map_or(t, |w| w.min(t)));
                }
                Dequeue::Empty => {}
            }
            self.track(before, after);
            // qdisc_warn_nonwc: move on.
            self.advance(level, prio, cl, parent);
            if empty {
                self.activity[cl] = 0;
                self.refresh_activity();
            }
            let (next, p) = self.lookup(level, prio)?;
            if next == start {
                return None;
            }
            (cl, parent) = (next, p);
        };
        let len = pkt_len(&skb);
        let c = &mut self.classes[cl];
        c.stats.bytes += len;
        c.stats.packets += u64::from(skb.gso_segs);
        c.deficit[level as usize] -= len as i64;
        if c.deficit[level as usize] < 0 {
            c.deficit[level as usize] += i64::from(c.quantum);
            self.advance(level, prio, cl, parent);
        }
        self.core.sent(len, skb.gso_segs);
        self.charge(cl, level, len, skb.gso_segs, now);
        Some(skb)
    }

    /// Inner classes' activity from their children's, levels 1..7 (after a leaf emptied:
    /// `htb_deactivate`; or after [`Self::refresh`] set the leaves').
    fn refresh_activity(&mut self) {
        for level in 1..MAXDEPTH {
            for i in 0..self.classes.len() {
                if self.classes[i].level != level {
                    continue;
                }
                let mut m = 0;
                for &k in &self.classes[i].children {
                    if self.classes[k].cmode == Mode::MayBorrow {
                        m |= self.activity[k];
                    }
                }
                self.activity[i] = m;
            }
        }
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

    /// The classes, by id.
    pub fn classes(&self) -> &[HtbClass] {
        &self.classes
    }

    /// `r2q`.
    pub fn r2q(&self) -> u32 {
        self.r2q
    }

    /// The default class minor.
    pub fn default_class(&self) -> u32 {
        self.default
    }

    /// Packets sent through the direct queue (`direct_packets_stat`).
    pub fn direct_packets(&self) -> u64 {
        self.direct_pkts
    }

    /// The direct queue limit (`direct_qlen`).
    pub fn direct_qlen(&self) -> u32 {
        self.direct_qlen
    }

    /// The warnings tc prints when the classes are added.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qdisc::filter::Match;
    use crate::qdisc::test_util::pkt;

    fn rng() -> SimRng {
        sim_core::RngStreams::new(1).stream("t", 0)
    }

    fn class(id: u32, parent: Option<u32>, rate: u64, ceil: u64, prio: u8) -> HtbClassConfig {
        HtbClassConfig {
            ceil_bps: Some(ceil),
            prio,
            ..HtbClassConfig::new(id, parent, rate)
        }
    }

    /// Two leaves under a 100 Mbit/s parent, 1:10 at 50/100 and 1:20 at 30/100; packets
    /// go to a leaf by `skb->priority` = `1:MINOR`.
    fn two_leaves(prio10: u8) -> Htb {
        let cfg = HtbConfig {
            default: 0x20,
            classes: vec![
                class(1, None, 100_000_000, 100_000_000, 0),
                class(0x10, Some(1), 50_000_000, 100_000_000, prio10),
                class(0x20, Some(1), 30_000_000, 100_000_000, 0),
            ],
            ..HtbConfig::default()
        };
        Htb::new(&cfg, 1000, rng()).unwrap()
    }

    /// Keeps both leaves backlogged with 1500-byte packets and sends whenever allowed for
    /// `secs` seconds; the bytes each leaf sent.
    fn saturate(h: &mut Htb, secs: u64, link_bps: u64) -> (u64, u64) {
        let mut pool = SkbPool::new();
        let mut now = SimTime::ZERO;
        let end = SimTime::from_nanos(secs * 1_000_000_000);
        let mut sent = (0, 0);
        let mut dropped = Vec::new();
        let tx = l2t(link_bps, 1500) as u64;
        while now < end {
            for id in [0x10u32, 0x20] {
                let i = h.find(id).unwrap();
                while h.classes[i].leaf.as_ref().unwrap().len() < 10 {
                    let skb = pkt(&mut pool, 1500, 0, (1 << 16) | id);
                    assert!(matches!(
                        h.enqueue(skb, now, &mut pool, 14),
                        Enqueue::Queued
                    ));
                }
            }
            match h.dequeue(now, &mut dropped) {
                Dequeue::Packet(skb) => {
                    if skb.priority & 0xffff == 0x10 {
                        sent.0 += 1500;
                    } else {
                        sent.1 += 1500;
                    }
                    now = SimTime::from_nanos(now.as_nanos() + tx);
                }
                Dequeue::Throttled(t) => {
                    assert!(t > now);
                    now = t;
                }
                Dequeue::Empty => unreachable!("always backlogged"),
            }
        }
        sent
    }

    #[test]
    fn both_get_their_rate_and_share_the_excess_by_quantum() {
        // A 1 Gbit/s link: the parent's 100 Mbit/s is the limit. Each leaf gets its rate
        // (50 and 30), and the 20 left over is borrowed in DRR rounds of equal quanta
        // (both clamp to 200000 bytes): 10 each, so 60 and 40 Mbit/s.
        let mut h = two_leaves(0);
        let (a, b) = saturate(&mut h, 10, 1_000_000_000);
        let mbit = |bytes: u64| bytes as f64 * 8.0 / 10.0 / 1e6;
        let (a, b) = (mbit(a), mbit(b));
        assert!((a + b - 100.0).abs() < 1.0, "total {a} + {b}");
        assert!((a - 60.0).abs() < 2.0, "1:10 got {a}");
        assert!((b - 40.0).abs() < 2.0, "1:20 got {b}");
        let c10 = &h.classes[h.find(0x10).unwrap()];
        assert!(c10.stats.borrows > 0 && c10.stats.lends > 0);
        let root = &h.classes[h.find(1).unwrap()];
        assert_eq!(root.level, 7);
        assert_eq!(root.stats.packets, h.stats().packets);
        assert!(
            root.stats.lends > 0,
            "the root lends what the leaves borrow"
        );
        assert_eq!(h.warnings.len(), 3, "{:?}", h.warnings);
    }

    #[test]
    fn prio_takes_all_the_excess() {
        // 1:10 at prio 0 against 1:20 at prio 1... the lower prio number borrows first:
        // 1:20 gets only its rate, 30; 1:10 gets 70.
        let mut h = two_leaves(0);
        let i = h.find(0x20).unwrap();
        h.classes[i].prio = 1;
        let (a, b) = saturate(&mut h, 10, 1_000_000_000);
        let mbit = |bytes: u64| bytes as f64 * 8.0 / 10.0 / 1e6;
        assert!((mbit(a) - 70.0).abs() < 2.0, "1:10 got {}", mbit(a));
        assert!((mbit(b) - 30.0).abs() < 2.0, "1:20 got {}", mbit(b));
    }

    #[test]
    fn quantum_from_r2q_with_the_kernel_clamps() {
        let cfg = HtbConfig {
            r2q: 10,
            classes: vec![
                HtbClassConfig::new(1, None, 40_000),
                HtbClassConfig::new(2, None, 800_000),
                HtbClassConfig::new(3, None, 100_000_000),
                HtbClassConfig {
                    quantum: Some(3000),
                    ..HtbClassConfig::new(4, None, 100_000_000)
                },
            ],
            ..HtbConfig::default()
        };
        let h = Htb::new(&cfg, 1000, rng()).unwrap();
        let q: Vec<u32> = h.classes.iter().map(|c| c.quantum).collect();
        // 40000/8/10 = 500 → 1000; 800000/8/10 = 10000; 12.5 MB/s / 10 → 200000; given.
        assert_eq!(q, [1000, 10_000, 200_000, 3000]);
        assert_eq!(
            h.warnings,
            [
                "quantum of class 10001 is small. Consider r2q change.",
                "quantum of class 10003 is big. Consider r2q change.",
            ]
        );
        // tc's default burst: 1600 bytes, 256 µs at 50 Mbit/s = 4000 ticks of 64 ns.
        assert_eq!(h.classes[0].burst, 1600);
    }

    #[test]
    fn unclassified_without_default_goes_direct_and_unshaped() {
        let cfg = HtbConfig {
            default: 0x99,
            classes: vec![HtbClassConfig::new(0x10, None, 8_000)],
            ..HtbConfig::default()
        };
        let mut h = Htb::new(&cfg, 2, rng()).unwrap();
        let mut pool = SkbPool::new();
        let mut dropped = Vec::new();
        for _ in 0..3 {
            let r = h.enqueue(pkt(&mut pool, 1000, 0, 0), SimTime::ZERO, &mut pool, 14);
            drop(r);
        }
        assert_eq!(h.direct_packets(), 2);
        assert_eq!(h.stats().drops, 1);
        assert!(matches!(
            h.dequeue(SimTime::ZERO, &mut dropped),
            Dequeue::Packet(_)
        ));
        assert!(matches!(
            h.dequeue(SimTime::ZERO, &mut dropped),
            Dequeue::Packet(_)
        ));
        assert!(matches!(
            h.dequeue(SimTime::ZERO, &mut dropped),
            Dequeue::Empty
        ));
    }

    #[test]
    fn a_leaf_over_its_ceil_throttles_until_its_ctokens_return() {
        // 8 kbit/s = 1000 B/s, burst 1600: the first 1000-byte packet passes, the second
        // leaves ctokens at 1.6 s − 2 s = −0.4 s: CANT_SEND, wake 0.4 s later.
        let cfg = HtbConfig {
            default: 0x10,
            classes: vec![HtbClassConfig::new(0x10, None, 8_000)],
            ..HtbConfig::default()
        };
        let mut h = Htb::new(&cfg, 10, rng()).unwrap();
        let mut pool = SkbPool::new();
        let mut dropped = Vec::new();
        for _ in 0..3 {
            let r = h.enqueue(pkt(&mut pool, 1000, 0, 0), SimTime::ZERO, &mut pool, 14);
            assert!(matches!(r, Enqueue::Queued));
        }
        assert!(matches!(
            h.dequeue(SimTime::ZERO, &mut dropped),
            Dequeue::Packet(_)
        ));
        assert!(matches!(
            h.dequeue(SimTime::ZERO, &mut dropped),
            Dequeue::Packet(_)
        ));
        let c = &h.classes[0];
        assert_eq!(c.ctokens, 1_600_000_000 - 2_000_000_000);
        assert_eq!(c.stats.overlimits, 1);
        match h.dequeue(SimTime::ZERO, &mut dropped) {
            Dequeue::Throttled(t) => assert_eq!(t, SimTime::from_nanos(400_000_000)),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            h.dequeue(SimTime::from_nanos(1_400_000_000), &mut dropped),
            Dequeue::Packet(_)
        ));
        assert_eq!(
            h.stats().overlimits,
            1,
            "the class's overlimit; a failed dequeue is none (htb_dump: q->overlimits)"
        );
    }

    #[test]
    fn filters_then_default() {
        let cfg = HtbConfig {
            default: 0x20,
            classes: vec![
                HtbClassConfig::new(0x10, None, 1_000_000),
                HtbClassConfig::new(0x20, None, 1_000_000),
            ],
            filters: vec![Filter {
                matches: vec![Match::Priority(6)],
                flowid: 0x10,
            }],
            ..HtbConfig::default()
        };
        let mut h = Htb::new(&cfg, 10, rng()).unwrap();
        let mut pool = SkbPool::new();
        let _ = h.enqueue(pkt(&mut pool, 100, 0, 6), SimTime::ZERO, &mut pool, 14);
        let _ = h.enqueue(pkt(&mut pool, 100, 0, 0), SimTime::ZERO, &mut pool, 14);
        let _ = h.enqueue(pkt(&mut pool, 100, 0, 0), SimTime::ZERO, &mut pool, 14);
        assert_eq!(h.classes[0].leaf.as_ref().unwrap().len(), 1);
        assert_eq!(h.classes[1].leaf.as_ref().unwrap().len(), 2);
        assert_eq!(h.stats().qlen, 3);
        assert_eq!(h.stats().backlog, 300);
    }

    #[test]
    fn bad_trees_are_refused() {
        let ok = |classes: Vec<HtbClassConfig>, filters: Vec<Filter>| {
            Htb::new(
                &HtbConfig {
                    classes,
                    filters,
                    ..HtbConfig::default()
                },
                10,
                rng(),
            )
            .map(drop)
        };
        let c = |id, parent| HtbClassConfig::new(id, parent, 1000);
        assert_eq!(
            ok(vec![c(1, None), c(1, None)], vec![]),
            Err(QdiscError::HtbDuplicateClass(1))
        );
        assert_eq!(
            ok(vec![c(2, Some(3))], vec![]),
            Err(QdiscError::HtbUnknownParent {
                class: 2,
                parent: 3
            })
        );
        assert_eq!(
            ok(
                vec![HtbClassConfig {
                    ceil_bps: Some(10),
                    ..c(1, None)
                }],
                vec![]
            ),
            Err(QdiscError::HtbCeilBelowRate(1))
        );
        let to = |flowid| {
            vec![Filter {
                matches: vec![],
                flowid,
            }]
        };
        assert_eq!(
            ok(vec![c(1, None)], to(5)),
            Err(QdiscError::HtbUnknownFlowid(5))
        );
        assert_eq!(
            ok(vec![c(1, None), c(2, Some(1))], to(1)),
            Err(QdiscError::HtbFlowidInner(1))
        );
        let chain: Vec<_> = (1..=9).map(|i| c(i, (i > 1).then(|| i - 1))).collect();
        assert!(matches!(ok(chain, vec![]), Err(QdiscError::HtbTooDeep(_))));
    }
}
