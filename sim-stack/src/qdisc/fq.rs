//! `fq` (`net/sched/sch_fq.c`, Linux 6.12): fair queueing per socket, with pacing.
//!
//! **Flows.** `fq_classify` keys a packet's flow by its owning socket (`skb->sk`): one flow per
//! connected socket. A packet without a full socket — forwarded, a SYN-ACK of a request socket
//! or a listener, an unconnected UDP socket (`TCP_CLOSE`) — goes to an "orphan" flow keyed by
//! its flow hash masked with `orphan_mask` (1023). A socket's flow remembers the socket's hash
//! (`sk_hash`, here the connection's flow hash); a socket slot reused by another connection
//! gets a fresh flow state (`initial_quantum` credit, pacing reset) as in Linux.
//!
//! **Pacing.** Every packet has a time to send: its `skb->tstamp` when set (TCP sets it to
//! `tcp_wstamp_ns`, the earliest departure time it computed from `sk_pacing_rate`, so fq
//! honours each socket's pacing rate through it), else now. A packet more than `horizon`
//! (10 s) ahead is dropped (`horizon_drop`, the default) or its time capped
//! (`horizon_cap`). A flow whose head packet may not leave yet is *throttled*: it leaves the
//! round robin for a tree ordered by `time_next_packet`, and the qdisc answers
//! [`Dequeue::Throttled`] with the earliest of them (`qdisc_watchdog_schedule_range_ns`).
//! After each packet, with pacing on, a flow's next packet may not leave before
//! `len / rate`, where the rate is `maxrate` for a packet with a tstamp and
//! `min(sk_pacing_rate, maxrate)` for one without (for a socket other than TCP,
//! `sk_pacing_rate` is `~0`: `SO_MAX_PACING_RATE` is not modeled); below
//! `low_rate_threshold` every packet is paced, above it only once the flow's credit is spent
//! (and then a quantum's worth). The enqueue of a packet of a full socket sets its
//! `sk_pacing_status` to `SK_PACING_FQ` (with pacing on), so that TCP stops pacing itself
//! (`tcp_needs_internal_pacing`) and leaves it to fq.
//!
//! **Service.** Deficit round robin over a list of new flows (served first) and a list of old
//! ones, with a `quantum` (2 × the device's `psched_mtu`) of credit per round; a flow starts
//! with `initial_quantum` (10 × `psched_mtu`) and an idle flow that comes back after
//! `refill_delay` (40 ms) gets at least a quantum. Linux 6.12 has three bands chosen by
//! `skb->priority` through the default priomap (`1 2 2 2 1 2 0 0 1 1 1 1 1 1 1 1`), served in
//! weighted round robin with weights 589824, 196608 and 65536 bytes; `limit` (10000 packets)
//! applies per band, `flow_limit` (100) per flow. The **fast path** (`fq_fastpath_check`): a
//! packet due now, when no flow is eligible and no `maxrate` is set, goes to an internal queue
//! that is served before every flow and not paced (`fastpath` counter).
//!
//! `ce_threshold` CE-marks a packet that leaves later than its time to send by more than the
//! threshold. Idle flows older than 3 s are garbage collected when another packet of the same
//! bucket (`buckets`, 1024) is classified, at most 8 at a time (`gc`): the same bucket as
//! Linux's tree, not the same walk of it.
//!
//! Not modeled: `priomap` and `weights` other than the defaults, `timer_slack` (the watchdog
//! fires exactly at the instant, not up to 10 µs after), `SO_MAX_PACING_RATE`, offload, and the
//! socket memory release of `skb_orphan` for orphaned packets. Times (`refill_delay`, the gc
//! age) are exact nanoseconds, not jiffies.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use sim_core::{SimDuration, SimTime};

use super::codel::inet_ecn_set_ce;
use super::{Dequeue, Enqueue, QdiscCore, QdiscError, QdiscStats, pkt_len, prio2band};
use crate::skb::{Skb, SockRef};
use crate::tcp::PacingStatus;

/// `FQ_BANDS`.
pub const FQ_BANDS: usize = 3;
/// The default band weights (`fq_init`: `9 << 16`, `3 << 16`, `1 << 16`).
pub const FQ_WEIGHTS: [i64; FQ_BANDS] = [9 << 16, 3 << 16, 1 << 16];
/// `FQ_GC_MAX`: flows collected per classification at most.
const FQ_GC_MAX: usize = 8;
/// `FQ_GC_AGE`: an idle flow is collectable after 3 s.
const FQ_GC_AGE: SimDuration = SimDuration::from_secs(3);
/// The longest a packet is held back by a rate (`NSEC_PER_SEC`; above, `pkts_too_long`).
const MAX_DELAY_NS: u64 = 1_000_000_000;
/// The `psched_mtu` of an Ethernet device with a 1500-byte MTU (1500 + 14).
pub const DEFAULT_PSCHED_MTU: u32 = 1514;

/// fq's parameters as tc hands them to the kernel (`TCA_FQ_*`); `Default` gives `fq_init`'s
/// on an Ethernet device with a 1500-byte MTU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FqConfig {
    /// Packets per band at most (`limit`, 10000).
    pub limit: u32,
    /// Packets per flow at most (`flow_limit`, 100).
    pub flow_limit: u32,
    /// Credit per round, bytes (`quantum`; `None`: 2 × `psched_mtu`). Clamped to
    /// 256..=1048576 as `fq_change` does.
    pub quantum: Option<u32>,
    /// Credit of a new flow, bytes (`initial_quantum`; `None`: 10 × `psched_mtu`, at most
    /// 1048576).
    pub initial_quantum: Option<u32>,
    /// Per-flow rate cap, bytes/s (`maxrate`; `None`: none, `~0`).
    pub maxrate: Option<u64>,
    /// log2 of the number of flow buckets (`buckets 1024` → 10).
    pub buckets_log: u32,
    /// Mask applied to the hash of an orphan packet (`orphan_mask`, 1023).
    pub orphan_mask: u32,
    /// `pacing` (on) / `nopacing`.
    pub pacing: bool,
    /// An idle flow that comes back after this gets at least a quantum (`refill_delay`, 40ms).
    pub refill_delay: SimDuration,
    /// Flows paced below this rate are paced packet by packet (`low_rate_threshold`,
    /// 550Kbit, in bytes/s).
    pub low_rate_threshold: u64,
    /// CE-mark packets sent this late (`ce_threshold`; off by default).
    pub ce_threshold: Option<SimDuration>,
    /// How far ahead a packet's time may be (`horizon`, 10s).
    pub horizon: SimDuration,
    /// Drop packets beyond the horizon (`horizon_drop`, the default) rather than cap their
    /// time (`horizon_cap`).
    pub horizon_drop: bool,
}

impl Default for FqConfig {
    fn default() -> Self {
        Self {
            limit: 10000,
            flow_limit: 100,
            quantum: None,
            initial_quantum: None,
            maxrate: None,
            buckets_log: 10,
            orphan_mask: 1023,
            pacing: true,
            refill_delay: SimDuration::from_millis(40),
            low_rate_threshold: 550_000 / 8,
            ce_threshold: None,
            horizon: SimDuration::from_secs(10),
            horizon_drop: true,
        }
    }
}

/// fq's own counters (`struct tc_fq_qd_stats`; `tc -s qdisc` prints "flows F (inactive I
/// throttled T) gc G highprio H fastpath P throttled N flows_plimit L …").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FqStats {
    /// Flows known (`flows`).
    pub flows: u32,
    /// Of them, those with no packet (`inactive`).
    pub inactive: u32,
    /// Of them, those throttled now (`throttled` in the parenthesis).
    pub throttled_flows: u32,
    /// Idle flows garbage collected (`gc`).
    pub gc: u64,
    /// Always 0 in Linux 6.12 (`highprio`).
    pub highprio: u64,
    /// Packets sent by the fast path (`fastpath`).
    pub fastpath: u64,
    /// Times a flow was throttled (`throttled`).
    pub throttled: u64,
    /// Packets dropped at `flow_limit` (`flows_plimit`).
    pub flows_plimit: u64,
    /// Packets whose pacing delay was capped at 1 s (`pkts_too_long`).
    pub pkts_too_long: u64,
    /// Flow allocations that failed (`alloc_errors`; never here).
    pub allocation_errors: u64,
    /// Packets CE-marked over `ce_threshold` (`ce_mark`).
    pub ce_mark: u64,
    /// Packets dropped beyond the horizon (`horizon_drops`).
    pub horizon_drops: u64,
    /// Packets whose time was capped at the horizon (`horizon_caps`).
    pub horizon_caps: u64,
    /// Packets dropped at `limit`, by band (`band0_drops` …).
    pub band_drops: [u64; FQ_BANDS],
    /// Packets held, by band (`band0_pkts` …).
    pub band_pkt_count: [u32; FQ_BANDS],
}

/// The owner of a packet as `fq_classify` sees it: the socket and what fq reads and writes
/// of it.
#[derive(Debug, Default)]
pub struct FqSk<'a> {
    /// The full socket (`skb->sk`, not a listener, not `TCP_CLOSE`), or `None`.
    pub sk: Option<SockRef>,
    /// Its `sk_hash`.
    pub sk_hash: u32,
    /// Its `sk_pacing_status` (TCP sockets), which fq sets to `SK_PACING_FQ`.
    pub pacing_status: Option<&'a mut PacingStatus>,
}

impl FqSk<'_> {
    /// The owner as far as the packet tells: its socket (if any) as a full socket with the
    /// packet's flow hash as `sk_hash`, and no pacing status to set. For an fq below another
    /// qdisc, which the device does not reach through.
    pub fn of(skb: &Skb) -> Self {
        Self {
            sk: skb.sock,
            sk_hash: skb.hash,
            pacing_status: None,
        }
    }
}

/// Whom a flow belongs to: a socket, or an orphan hash (Linux's `(hash << 1) | 1` pointer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum FlowKey {
    Sock(SockRef),
    Orphan(u32),
}

/// Where a flow is (`fq_flow_is_detached`, `fq_flow_is_throttled`, the RR lists).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// On no list, since this instant (`f->age`).
    Detached(SimTime),
    /// On its band's new or old list.
    Listed,
    /// In the throttled tree.
    Throttled,
}

/// `struct fq_flow`.
#[derive(Debug)]
struct Flow {
    /// Packets by time to send (`head`/`tail` and `t_root` merged: equal times in arrival order).
    q: VecDeque<(SimTime, u8, Skb)>,
    socket_hash: u32,
    credit: i64,
    band: usize,
    link: Link,
    /// `time_next_packet` (0: never paced).
    time_next_packet: u64,
}

/// The fq qdisc.
#[derive(Debug)]
pub struct Fq {
    cfg: FqConfig,
    quantum: i64,
    initial_quantum: i64,
    /// `flow_max_rate`, bytes/s (`u64::MAX`: none).
    flow_max_rate: u64,
    ce_threshold: u64,
    /// Flows by (bucket, key), the bucket as `hash_ptr(sk, fq_trees_log)` picks a tree.
    index: BTreeMap<(u32, FlowKey), usize>,
    flows: Vec<Flow>,
    free: Vec<usize>,
    /// `band_flows[].new_flows`, `.old_flows`, `.credit`.
    new_flows: [VecDeque<usize>; FQ_BANDS],
    old_flows: [VecDeque<usize>; FQ_BANDS],
    band_credit: [i64; FQ_BANDS],
    band_nr: usize,
    /// `q->internal`: the fast path queue.
    internal: VecDeque<Skb>,
    /// `q->delayed`: throttled flows by (time_next_packet, insertion).
    delayed: BTreeMap<(u64, u64), usize>,
    delayed_seq: u64,
    time_next_delayed_flow: u64,
    xstats: FqStats,
    core: QdiscCore,
}

impl Fq {
    /// `fq_init` + `fq_change` on a device whose `psched_mtu` (MTU + link header) is
    /// `psched_mtu`, or why the kernel refuses the parameters.
    pub fn new(cfg: &FqConfig, psched_mtu: u32) -> Result<Self, QdiscError> {
        if !(1..=18).contains(&cfg.buckets_log) {
            return Err(QdiscError::FqBuckets(cfg.buckets_log));
        }
        if cfg.initial_quantum.is_some_and(|q| q > 1 << 20) {
            return Err(QdiscError::FqInitialQuantum(
                cfg.initial_quantum.unwrap_or(0),
            ));
        }
        let mtu = psched_mtu.clamp(1, 1 << 20);
        let quantum = cfg.quantum.unwrap_or(2 * mtu).clamp(256, 1 << 20);
        let initial_quantum = cfg.initial_quantum.unwrap_or((10 * mtu).min(1 << 20));
        Ok(Self {
            cfg: cfg.clone(),
            quantum: i64::from(quantum),
            initial_quantum: i64::from(initial_quantum),
            flow_max_rate: cfg.maxrate.unwrap_or(u64::MAX),
            ce_threshold: cfg
                .ce_threshold
                .map_or(1000 * u64::from(u32::MAX), SimDuration::as_nanos),
            index: BTreeMap::new(),
            flows: Vec::new(),
            free: Vec::new(),
            new_flows: Default::default(),
            old_flows: Default::default(),
            band_credit: [0; FQ_BANDS],
            band_nr: 0,
            internal: VecDeque::new(),
            delayed: BTreeMap::new(),
            delayed_seq: 0,
            time_next_delayed_flow: u64::MAX,
            xstats: FqStats::default(),
            core: QdiscCore::default(),
        })
    }

    /// The parameters it was created with.
    pub fn config(&self) -> &FqConfig {
        &self.cfg
    }

    /// The quantum in use, bytes.
    pub fn quantum(&self) -> u32 {
        self.quantum as u32
    }

    /// The initial quantum in use, bytes.
    pub fn initial_quantum(&self) -> u32 {
        self.initial_quantum as u32
    }

    /// `fq_flow_add_tail`.
    fn add_tail(&mut self, f: usize, new: bool) {
        let band = self.flows[f].band;
        self.flows[f].link = Link::Listed;
        if new {
            self.new_flows[band].push_back(f);
        } else {
            self.old_flows[band].push_back(f);
        }
    }

    /// `fq_flow_set_throttled`.
    fn set_throttled(&mut self, f: usize) {
        let t = self.flows[f].time_next_packet;
        self.delayed.insert((t, self.delayed_seq), f);
        self.delayed_seq += 1;
        self.xstats.throttled_flows += 1;
        self.xstats.throttled += 1;
        self.flows[f].link = Link::Throttled;
        self.time_next_delayed_flow = self.time_next_delayed_flow.min(t);
    }

    /// `fq_flow_unset_throttled`.
    fn unset_throttled(&mut self, f: usize) {
        let t = self.flows[f].time_next_packet;
        let key = self
            .delayed
            .iter()
            .find(|(k, v)| k.0 == t && **v == f)
            .map(|(k, _)| *k);
        if let Some(k) = key {
            self.delayed.remove(&k);
        }
        self.xstats.throttled_flows -= 1;
        self.add_tail(f, false);
    }

    /// `fq_fastpath_check`.
    fn fastpath_check(&self, tts: SimTime, now: SimTime) -> bool {
        if tts > now {
            return false;
        }
        if self.core.stats.qlen != 0 {
            let x = &self.xstats;
            if x.flows != x.inactive + x.throttled_flows
                || self.internal.len() >= 8
                || self.time_next_delayed_flow <= now.as_nanos()
            {
                return false;
            }
        }
        self.flow_max_rate == u64::MAX
    }

    /// `fq_gc`: frees up to [`FQ_GC_MAX`] flows of `bucket` idle for [`FQ_GC_AGE`], sparing
    /// `key`'s.
    fn gc(&mut self, bucket: u32, key: FlowKey, now: SimTime) {
        let mut tofree = [(0, FlowKey::Orphan(0)); FQ_GC_MAX];
        let mut n = 0;
        let lo = FlowKey::Sock(SockRef { node: 0, sock: 0 });
        let hi = FlowKey::Orphan(u32::MAX);
        for (&(_, k), &f) in self.index.range((bucket, lo)..=(bucket, hi)) {
            if k == key {
                continue;
            }
            if let Link::Detached(age) = self.flows[f].link
                && now > age + FQ_GC_AGE
            {
                tofree[n] = (f, k);
                n += 1;
                if n == FQ_GC_MAX {
                    break;
                }
            }
        }
        for &(f, k) in &tofree[..n] {
            self.index.remove(&(bucket, k));
            self.flows[f].q.clear();
            self.free.push(f);
        }
        let n = n as u32;
        self.xstats.flows -= n;
        self.xstats.inactive -= n;
        self.xstats.gc += u64::from(n);
    }

    /// `hash_ptr(sk, fq_trees_log)`: the bucket of a flow key.
    fn bucket(&self, key: FlowKey) -> u32 {
        let raw = match key {
            FlowKey::Sock(s) => u64::from(s.node) << 32 | u64::from(s.sock) << 1,
            FlowKey::Orphan(h) => u64::from(h) << 1 | 1,
        };
        (raw.wrapping_mul(0x61c8_8646_80b5_83eb) >> (64 - self.cfg.buckets_log)) as u32
    }

    /// `fq_classify`: the flow of a packet, `None` for the fast path.
    fn classify(
        &mut self,
        skb: &Skb,
        tts: SimTime,
        sk: &mut FqSk<'_>,
        now: SimTime,
    ) -> Option<usize> {
        let key = match sk.sk {
            Some(s) => FlowKey::Sock(s),
            None => FlowKey::Orphan(skb.hash & self.cfg.orphan_mask),
        };
        let full = sk.sk.is_some();
        if self.fastpath_check(tts, now) {
            self.xstats.fastpath += 1;
            set_fq(sk, full && self.cfg.pacing);
            return None;
        }
        let bucket = self.bucket(key);
        self.gc(bucket, key, now);
        if let Some(&f) = self.index.get(&(bucket, key)) {
            if full && self.flows[f].socket_hash != sk.sk_hash {
                self.flows[f].credit = self.initial_quantum;
                self.flows[f].socket_hash = sk.sk_hash;
                set_fq(sk, self.cfg.pacing);
                if self.flows[f].link == Link::Throttled {
                    self.unset_throttled(f);
                }
                self.flows[f].time_next_packet = 0;
            }
            return Some(f);
        }
        let flow = Flow {
            q: VecDeque::new(),
            socket_hash: if full { sk.sk_hash } else { 0 },
            credit: self.initial_quantum,
            band: 0,
            link: Link::Detached(now),
            time_next_packet: 0,
        };
        set_fq(sk, full && self.cfg.pacing);
        let f = match self.free.pop() {
            Some(i) => {
                self.flows[i] = flow;
                i
            }
            None => {
                self.flows.push(flow);
                self.flows.len() - 1
            }
        };
        self.index.insert((bucket, key), f);
        self.xstats.flows += 1;
        self.xstats.inactive += 1;
        Some(f)
    }

    /// `fq_enqueue`, the packet owned as `sk` says.
    pub fn enqueue(&mut self, mut skb: Skb, now: SimTime, mut sk: FqSk<'_>) -> Enqueue {
        let band = prio2band(skb.priority);
        if self.xstats.band_pkt_count[band] >= self.cfg.limit {
            self.xstats.band_drops[band] += 1;
            self.core.stats.drops += 1;
            return Enqueue::Dropped(skb);
        }
        let tts = if skb.tstamp == SimTime::ZERO {
            now
        } else {
            let horizon = now + self.cfg.horizon;
            if skb.tstamp > horizon {
                if self.cfg.horizon_drop {
                    self.xstats.horizon_drops += 1;
                    self.core.stats.drops += 1;
                    return Enqueue::Dropped(skb);
                }
                self.xstats.horizon_caps += 1;
                skb.tstamp = horizon;
            }
            skb.tstamp
        };
        skb.enqueue_time = now;
        let len = pkt_len(&skb);
        let Some(f) = self.classify(&skb, tts, &mut sk, now) else {
            self.core.add(len);
            self.internal.push_back(skb);
            return Enqueue::Queued;
        };
        if self.flows[f].q.len() >= self.cfg.flow_limit as usize {
            self.xstats.flows_plimit += 1;
            self.core.stats.drops += 1;
            return Enqueue::Dropped(skb);
        }
        if let Link::Detached(age) = self.flows[f].link {
            // Onto the new list of the band the flow had (0 for a new one): f->band is set
            // after fq_flow_add_tail, as in Linux.
            self.add_tail(f, true);
            if now > age + self.cfg.refill_delay {
                self.flows[f].credit = self.flows[f].credit.max(self.quantum);
            }
        }
        let flow = &mut self.flows[f];
        flow.band = band;
        self.xstats.band_pkt_count[band] += 1;
        if flow.q.is_empty() {
            self.xstats.inactive -= 1;
        }
        // flow_queue_add: after every packet due no later.
        let at = flow.q.partition_point(|(t, _, _)| *t <= tts);
        flow.q.insert(at, (tts, band as u8, skb));
        self.core.add(len);
        Enqueue::Queued
    }

    /// `fq_check_throttled`.
    fn check_throttled(&mut self, now: u64) {
        if self.time_next_delayed_flow > now {
            return;
        }
        self.time_next_delayed_flow = u64::MAX;
        while let Some((&(t, seq), &f)) = self.delayed.first_key_value() {
            if t > now {
                self.time_next_delayed_flow = t;
                break;
            }
            self.delayed.remove(&(t, seq));
            self.xstats.throttled_flows -= 1;
            self.add_tail(f, false);
        }
    }

    /// `fq_dequeue` (after the requeue slot).
    pub fn dequeue(&mut self, now: SimTime, _dropped: &mut Vec<Skb>) -> Dequeue {
        if let Some(skb) = self.core.take_requeued() {
            return Dequeue::Packet(skb);
        }
        if self.core.stats.qlen == 0 {
            return Dequeue::Empty;
        }
        if let Some(skb) = self.internal.pop_front() {
            return Dequeue::Packet(self.sent(skb));
        }
        let now_ns = now.as_nanos();
        self.check_throttled(now_ns);
        let mut retry = 0;
        loop {
            let b = self.band_nr;
            let head_new = if self.band_credit[b] <= 0 {
                None
            } else if !self.new_flows[b].is_empty() {
                Some(true)
            } else if !self.old_flows[b].is_empty() {
                Some(false)
            } else {
                None
            };
            let Some(is_new) = head_new else {
                retry += 1;
                let mut found = false;
                while retry <= FQ_BANDS {
                    self.band_nr = (self.band_nr + 1) % FQ_BANDS;
                    let nb = self.band_nr;
                    self.band_credit[nb] =
                        (self.band_credit[nb] + FQ_WEIGHTS[nb]).min(FQ_WEIGHTS[nb]);
                    if self.band_credit[nb] > 0 {
                        found = true;
                        break;
                    }
                    retry = 0;
                    retry += 1;
                }
                if found {
                    continue;
                }
                return if self.time_next_delayed_flow != u64::MAX {
                    Dequeue::Throttled(SimTime::from_nanos(self.time_next_delayed_flow))
                } else {
                    Dequeue::Empty
                };
            };
            let list = if is_new {
                &mut self.new_flows[b]
            } else {
                &mut self.old_flows[b]
            };
            let f = list[0];
            retry = 0;
            if self.flows[f].credit <= 0 {
                self.flows[f].credit += self.quantum;
                list.pop_front();
                self.add_tail(f, false);
                continue;
            }
            let Some(&(tts, _, _)) = self.flows[f].q.front() else {
                list.pop_front();
                // Force a pass through old_flows to prevent starvation.
                if is_new {
                    self.add_tail(f, false);
                } else {
                    self.flows[f].link = Link::Detached(now);
                }
                continue;
            };
            let time_next_packet = tts.as_nanos().max(self.flows[f].time_next_packet);
            if now_ns < time_next_packet {
                list.pop_front();
                self.flows[f].time_next_packet = time_next_packet;
                self.set_throttled(f);
                continue;
            }
            let flow = &mut self.flows[f];
            let (_, skb_band, mut skb) = flow.q.pop_front().expect("peeked");
            if (now_ns
                .wrapping_sub(time_next_packet)
                .wrapping_sub(self.ce_threshold) as i64)
                > 0
            {
                inet_ecn_set_ce(&mut skb);
                self.xstats.ce_mark += 1;
            }
            if flow.q.is_empty() {
                self.xstats.inactive += 1;
            }
            self.xstats.band_pkt_count[usize::from(skb_band)] -= 1;
            let mut plen = pkt_len(&skb);
            flow.credit -= plen as i64;
            self.band_credit[b] -= plen as i64;
            if !self.cfg.pacing {
                return Dequeue::Packet(self.sent(skb));
            }
            let rate = self.flow_max_rate;
            if skb.tstamp == SimTime::ZERO {
                // A socket other than TCP has sk_pacing_rate ~0: the rate stays maxrate.
                if rate <= self.cfg.low_rate_threshold {
                    flow.credit = 0;
                } else {
                    plen = plen.max(self.quantum as u64);
                    if flow.credit > 0 {
                        return Dequeue::Packet(self.sent(skb));
                    }
                }
            }
            if rate != u64::MAX {
                // A rate of 0 leaves the length in ns per byte (div64_ul skipped), then capped.
                let ns = plen * 1_000_000_000;
                let mut len = ns.checked_div(rate).unwrap_or(ns);
                if len > MAX_DELAY_NS {
                    len = MAX_DELAY_NS;
                    self.xstats.pkts_too_long += 1;
                }
                if flow.time_next_packet != 0 {
                    len -= (len / 2).min(now_ns - flow.time_next_packet);
                }
                flow.time_next_packet = now_ns + len;
            }
            return Dequeue::Packet(self.sent(skb));
        }
    }

    /// `qdisc_dequeue` bookkeeping of a packet leaving.
    fn sent(&mut self, skb: Skb) -> Skb {
        let len = pkt_len(&skb);
        self.core.remove(len);
        self.core.sent(len, skb.gso_segs);
        skb
    }

    /// `dev_requeue_skb`.
    pub fn requeue(&mut self, skb: Skb) {
        self.core.requeue(skb);
    }

    /// The `tc -s qdisc` counters.
    pub fn stats(&self) -> &QdiscStats {
        &self.core.stats
    }

    /// fq's own counters.
    pub fn xstats(&self) -> FqStats {
        self.xstats
    }

    /// Packets waiting in the requeue slot.
    pub fn requeued_len(&self) -> usize {
        self.core.requeued_len()
    }

    /// fq drops only at enqueue, returning the packet: nothing to drain.
    pub fn drain_enqueue_drops(&mut self, _out: &mut Vec<Skb>) {}
}

/// `smp_store_release(&sk->sk_pacing_status, SK_PACING_FQ)` when `on`.
fn set_fq(sk: &mut FqSk<'_>, on: bool) {
    if on && let Some(p) = sk.pacing_status.as_deref_mut() {
        *p = PacingStatus::Fq;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qdisc::test_util::pkt;
    use crate::skb::SkbPool;

    const MS: SimDuration = SimDuration::from_millis(1);

    fn enq(
        q: &mut Fq,
        pool: &mut SkbPool,
        len: usize,
        hash: u32,
        tstamp: SimTime,
        now: SimTime,
    ) -> bool {
        let mut skb = pkt(pool, len, hash, 0);
        skb.tstamp = tstamp;
        matches!(q.enqueue(skb, now, FqSk::default()), Enqueue::Queued)
    }

    fn deq(q: &mut Fq, now: SimTime) -> Dequeue {
        q.dequeue(now, &mut Vec::new())
    }

    /// Deficit round robin: with a 3000-byte quantum (and as much initial credit), two
    /// backlogged flows of 1000-byte packets take turns of three packets.
    #[test]
    fn flows_take_turns_of_a_quantum() {
        let mut pool = SkbPool::new();
        // nopacing with a maxrate: no fast path and no pacing, only the round robin.
        let cfg = FqConfig {
            pacing: false,
            maxrate: Some(1),
            quantum: Some(3000),
            initial_quantum: Some(3000),
            ..FqConfig::default()
        };
        let mut q = Fq::new(&cfg, DEFAULT_PSCHED_MTU).unwrap();
        let t = SimTime::from_nanos(1);
        for _ in 0..9 {
            assert!(enq(&mut q, &mut pool, 1000, 1, SimTime::ZERO, t));
        }
        for _ in 0..9 {
            assert!(enq(&mut q, &mut pool, 1000, 2, SimTime::ZERO, t));
        }
        let mut order = Vec::new();
        while let Dequeue::Packet(skb) = deq(&mut q, t) {
            order.push(skb.hash);
        }
        assert_eq!(
            order,
            [1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2]
        );
        let x = q.xstats();
        assert_eq!((x.flows, x.inactive, x.fastpath), (2, 2, 0));
    }

    /// A packet's departure time (skb->tstamp) holds it back: the flow is throttled until
    /// then and the qdisc asks to be run at that instant.
    #[test]
    fn edt_timestamps_are_honoured() {
        let mut pool = SkbPool::new();
        let mut q = Fq::new(&FqConfig::default(), DEFAULT_PSCHED_MTU).unwrap();
        let t0 = SimTime::ZERO + MS;
        let at = |us: u64| t0 + SimDuration::from_micros(us);
        for us in [0, 100, 200] {
            assert!(enq(&mut q, &mut pool, 1000, 7, at(us), t0));
        }
        // The first was due: the fast path takes it.
        assert!(matches!(deq(&mut q, t0), Dequeue::Packet(_)));
        assert_eq!(q.xstats().fastpath, 1);
        for us in [100, 200] {
            match deq(&mut q, t0) {
                Dequeue::Throttled(t) => assert_eq!(t, at(us)),
                d => panic!("{d:?}"),
            }
            assert_eq!(q.xstats().throttled_flows, 1);
            assert!(matches!(deq(&mut q, at(us)), Dequeue::Packet(_)));
        }
        assert!(matches!(deq(&mut q, at(200)), Dequeue::Empty));
        assert_eq!(q.xstats().throttled, 2);
    }

    /// `maxrate`: a flow's packets leave `len / maxrate` apart (1000 bytes at 1 MB/s: 1 ms).
    #[test]
    fn maxrate_spaces_packets_by_len_over_rate() {
        let mut pool = SkbPool::new();
        let cfg = FqConfig {
            maxrate: Some(1_000_000),
            ..FqConfig::default()
        };
        let mut q = Fq::new(&cfg, DEFAULT_PSCHED_MTU).unwrap();
        let t0 = SimTime::ZERO + MS;
        for _ in 0..10 {
            assert!(enq(&mut q, &mut pool, 1000, 3, t0, t0));
        }
        let mut now = t0;
        let mut sent = Vec::new();
        loop {
            match deq(&mut q, now) {
                Dequeue::Packet(_) => sent.push(now),
                Dequeue::Throttled(t) => now = t,
                Dequeue::Empty => break,
            }
        }
        let want: Vec<SimTime> = (0..10).map(|k| t0 + MS * k).collect();
        assert_eq!(sent, want);
    }

    #[test]
    fn flow_limit_band_limit_and_horizon() {
        let mut pool = SkbPool::new();
        let cfg = FqConfig {
            flow_limit: 3,
            limit: 5,
            maxrate: Some(1_000_000),
            ..FqConfig::default()
        };
        let mut q = Fq::new(&cfg, DEFAULT_PSCHED_MTU).unwrap();
        let t = SimTime::ZERO + MS;
        let ok: Vec<bool> = (0..4)
            .map(|_| enq(&mut q, &mut pool, 100, 1, t, t))
            .collect();
        assert_eq!(ok, [true, true, true, false]);
        assert_eq!(q.xstats().flows_plimit, 1);
        // Band 1 (priority 0) holds 5 at most, whatever the flows.
        let ok: Vec<bool> = (0..3)
            .map(|_| enq(&mut q, &mut pool, 100, 2, t, t))
            .collect();
        assert_eq!(ok, [true, true, false]);
        assert_eq!(q.xstats().band_drops, [0, 1, 0]);
        assert_eq!(q.stats().drops, 2);
        // 10 s ahead is the horizon; beyond it, dropped (horizon_drop) or capped.
        let mut q = Fq::new(&FqConfig::default(), DEFAULT_PSCHED_MTU).unwrap();
        let far = t + SimDuration::from_secs(10) + SimDuration::from_nanos(1);
        assert!(!enq(&mut q, &mut pool, 100, 1, far, t));
        assert!(enq(
            &mut q,
            &mut pool,
            100,
            1,
            t + SimDuration::from_secs(10),
            t
        ));
        assert_eq!(q.xstats().horizon_drops, 1);
        let cap = FqConfig {
            horizon_drop: false,
            ..FqConfig::default()
        };
        let mut q = Fq::new(&cap, DEFAULT_PSCHED_MTU).unwrap();
        assert!(enq(&mut q, &mut pool, 100, 1, far, t));
        assert_eq!(q.xstats().horizon_caps, 1);
        match deq(&mut q, t) {
            Dequeue::Throttled(at) => assert_eq!(at, t + SimDuration::from_secs(10)),
            d => panic!("{d:?}"),
        }
    }

    /// A full socket's packet sets its `sk_pacing_status` to `SK_PACING_FQ` (pacing on);
    /// `nopacing` leaves it.
    #[test]
    fn a_socket_through_fq_is_paced_by_fq() {
        let mut pool = SkbPool::new();
        let sock = SockRef { node: 0, sock: 4 };
        for (pacing, want) in [(true, PacingStatus::Fq), (false, PacingStatus::Needed)] {
            let cfg = FqConfig {
                pacing,
                ..FqConfig::default()
            };
            let mut q = Fq::new(&cfg, DEFAULT_PSCHED_MTU).unwrap();
            let mut status = PacingStatus::Needed;
            let sk = FqSk {
                sk: Some(sock),
                sk_hash: 9,
                pacing_status: Some(&mut status),
            };
            let skb = pkt(&mut pool, 100, 9, 0);
            assert!(matches!(q.enqueue(skb, SimTime::ZERO, sk), Enqueue::Queued));
            assert_eq!(status, want);
        }
    }

    /// Quanta from the device: 2 and 10 × psched_mtu, clamped as fq_change clamps them.
    #[test]
    fn quanta_follow_the_device_mtu() {
        let q = Fq::new(&FqConfig::default(), 9014).unwrap();
        assert_eq!((q.quantum(), q.initial_quantum()), (18028, 90140));
        let small = FqConfig {
            quantum: Some(10),
            ..FqConfig::default()
        };
        assert_eq!(Fq::new(&small, 1514).unwrap().quantum(), 256);
        let big = FqConfig {
            initial_quantum: Some((1 << 20) + 1),
            ..FqConfig::default()
        };
        assert!(Fq::new(&big, 1514).is_err());
        let buckets = FqConfig {
            buckets_log: 0,
            ..FqConfig::default()
        };
        assert_eq!(Fq::new(&buckets, 1514).unwrap_err().param(), "buckets");
    }

    /// An idle flow is collected when another of its bucket is classified more than 3 s
    /// later.
    #[test]
    fn idle_flows_are_garbage_collected() {
        let mut pool = SkbPool::new();
        let cfg = FqConfig {
            buckets_log: 1,
            ..FqConfig::default()
        };
        let mut q = Fq::new(&cfg, DEFAULT_PSCHED_MTU).unwrap();
        let b = q.bucket(FlowKey::Orphan(1));
        let other = (51..200)
            .find(|&h| q.bucket(FlowKey::Orphan(h)) == b)
            .unwrap();
        let t = SimTime::ZERO + MS;
        // Flow 1 has a packet, flow 50 one due with it and one a millisecond later; all due
        // after the enqueue, so not for the fast path.
        let t1 = t + SimDuration::from_nanos(1);
        assert!(enq(&mut q, &mut pool, 100, 1, t1, t));
        assert!(enq(&mut q, &mut pool, 100, 50, t1, t));
        assert!(enq(&mut q, &mut pool, 100, 50, t1 + MS, t));
        // 1's packet, then 50's first; 50 is throttled, and the walk to it finds 1 empty on
        // the old list: detached.
        assert!(matches!(deq(&mut q, t1), Dequeue::Packet(_)));
        assert!(matches!(deq(&mut q, t1), Dequeue::Packet(_)));
        assert!(matches!(deq(&mut q, t1), Dequeue::Throttled(_)));
        assert!(matches!(
            q.flows[q.index[&(b, FlowKey::Orphan(1))]].link,
            Link::Detached(_)
        ));
        let later = t + SimDuration::from_secs(3) + MS;
        assert!(enq(&mut q, &mut pool, 100, other, later + MS, later));
        let x = q.xstats();
        assert_eq!((x.gc, x.flows), (1, 2));
    }
}
