//! `red` (`net/sched/sch_red.c`, `include/net/red.h`): Random Early Detection over a byte
//! FIFO of `limit` bytes.
//!
//! At each enqueue `red_calc_qavg` moves the average queue `qavg` (bytes, fixed point with
//! `Wlog` fraction bits) towards the child FIFO's backlog, `qavg += backlog − qavg/2^Wlog`,
//! or, after an idle period, decays it by the `Stab` table tc computed
//! (`red_calc_qavg_from_idle_time`). `red_action` then compares it with the thresholds:
//! below `min` the packet passes; between `min` and `max` it is marked with a probability
//! rising linearly to `max_P` at `max`, spread out by the count of packets since the last
//! mark ("uniform" RED: `qR` is a random number drawn after each mark and the packet is
//! marked once `(qavg − min)·qcount ≥ qR`); at or above `max` every packet is marked. A mark
//! is a CE mark when `ecn` is on and the packet is ECN-capable (`INET_ECN_set_ce`), else a
//! drop (`early`); `harddrop` drops above `max` even with `ecn`; `nodrop` (with `ecn`)
//! queues what it cannot mark. The child FIFO drops what does not fit (`pdrop`).
//!
//! `adaptive` runs `red_adaptative_algo` every 500 ms (the kernel's `adapt_timer`, armed
//! when the qdisc is configured at time zero): `max_P` grows by `min(1%, max_P/4)` while
//! `qavg` is above `min + 0.6·(max − min)` and shrinks by 10% below `min + 0.4·(max − min)`.
//! Between packets nothing RED reads changes, so the ticks due are run at the next enqueue
//! or dequeue, each at its own instant: the same result as the timer.
//!
//! The parameters are those tc computes (`q_red.c`, `tc_red.c`): see [`RedConfig::from_tc`].
//! The idle table is built as tc builds it, in psched ticks of 1/15.625 µs, and indexed as
//! the kernel indexes it, in µs: idle decay is 15.625 times slower than tc meant — Linux's
//! behaviour, kept. `red_random` is `get_random_u32() / (max_P / (max − min))` (the kernel's
//! `reciprocal_divide` is exact), drawn from the qdisc's own seeded stream.
//!
//! Not modeled: offload, qevents (`qevent early_drop`/`mark` blocks), a child qdisc other
//! than the byte FIFO, and `red_change` at run time.

use std::collections::VecDeque;

use serde::Serialize;
use sim_core::{SimDuration, SimRng, SimTime};

use super::codel::inet_ecn_set_ce;
use super::{Dequeue, Enqueue, QdiscCore, QdiscError, QdiscStats, pkt_len};
use crate::config::RedConfig;
use crate::skb::Skb;

/// `RED_ONE_PERCENT`: 1% of 2^32, rounded.
const RED_ONE_PERCENT: u32 = 42_949_673;
/// `MAX_P_MIN`, `MAX_P_MAX`: the range adaptive RED keeps `max_P` in.
const MAX_P_MIN: u32 = RED_ONE_PERCENT;
const MAX_P_MAX: u32 = 50 * RED_ONE_PERCENT;
/// The adaptive timer's period (`HZ/2`).
const ADAPT_PERIOD: SimDuration = SimDuration::from_millis(500);

/// RED's own counters (`struct tc_red_xstats`, `tc -s` "marked M early E pdrop P other O").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RedStats {
    /// Packets CE-marked instead of dropped (`prob_mark + forced_mark`).
    pub marked: u64,
    /// Packets RED dropped early (`prob_drop + forced_drop`).
    pub early: u64,
    /// Packets the FIFO dropped because `limit` bytes were queued.
    pub pdrop: u64,
    /// Always 0 in Linux 6.12 (no longer counted).
    pub other: u64,
    /// Of `early`, the drops above `max` (`forced_drop`; not printed by tc).
    pub forced_drop: u64,
    /// Of `marked`, the marks above `max` (`forced_mark`; not printed by tc).
    pub forced_mark: u64,
}

/// RED's parameters as `red_dump` reports them to `tc qdisc show`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedDump {
    /// Byte limit of the FIFO.
    pub limit: u32,
    /// Lower threshold, bytes.
    pub qth_min: u32,
    /// Upper threshold, bytes.
    pub qth_max: u32,
    /// `ecn`.
    pub ecn: bool,
    /// `harddrop`.
    pub harddrop: bool,
    /// `adaptive`.
    pub adaptive: bool,
    /// `nodrop`.
    pub nodrop: bool,
}

/// `red_action`'s verdict (`RED_DONT_MARK`, `RED_PROB_MARK`, `RED_HARD_MARK`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)]
enum Action {
    DontMark,
    ProbMark,
    HardMark,
}

/// A RED qdisc with its byte FIFO.
#[derive(Debug)]
pub struct Red {
    // struct red_parms
    qth_min: u64,
    qth_max: u64,
    qth_delta: u32,
    target_min: u32,
    target_max: u32,
    max_p: u32,
    max_p_delta: u32,
    wlog: u8,
    scell_log: u8,
    scell_max: u64,
    stab: [u8; 256],
    // struct red_vars
    qcount: i64,
    q_r: u32,
    qavg: u64,
    qidlestart: Option<SimTime>,
    // the qdisc
    ecn: bool,
    harddrop: bool,
    nodrop: bool,
    adaptive: bool,
    next_adapt: SimTime,
    limit: u64,
    child_backlog: u64,
    queue: VecDeque<Skb>,
    rng: SimRng,
    xstats: RedStats,
    /// The packet the last enqueue dropped early, for [`Red::drain_enqueue_drops`].
    early_dropped: Vec<Skb>,
    core: QdiscCore,
}

impl Red {
    /// The qdisc `red_change` builds from `cfg`, or why the kernel refuses it.
    pub fn new(cfg: &RedConfig, rng: SimRng) -> Result<Self, QdiscError> {
        // red_check_params
        let fls = |x: u32| 32 - x.leading_zeros();
        if fls(cfg.qth_min) + u32::from(cfg.wlog) >= 32
            || fls(cfg.qth_max) + u32::from(cfg.wlog) >= 32
            || cfg.scell_log >= 32
            || cfg.qth_max < cfg.qth_min
            || cfg.stab.len() != 256
            || cfg.stab.iter().any(|&s| s >= 32)
        {
            return Err(QdiscError::RedParams);
        }
        if cfg.nodrop && !cfg.ecn {
            return Err(QdiscError::RedNodropWithoutEcn);
        }
        let mut stab = [0u8; 256];
        stab.copy_from_slice(&cfg.stab);
        // red_set_parms
        let delta = cfg.qth_max.saturating_sub(cfg.qth_min).max(1);
        let max_p = if cfg.max_p == 0 {
            // red_maxp(Plog) (its `* delta` is commented out in the kernel).
            if cfg.plog < 32 { !0u32 >> cfg.plog } else { !0 }
        } else {
            cfg.max_p
        };
        Ok(Self {
            qth_min: u64::from(cfg.qth_min) << cfg.wlog,
            qth_max: u64::from(cfg.qth_max) << cfg.wlog,
            qth_delta: delta,
            target_min: cfg.qth_min + 2 * (delta / 5),
            target_max: cfg.qth_min + 3 * (delta / 5),
            max_p,
            max_p_delta: (max_p / delta).max(1),
            wlog: cfg.wlog,
            scell_log: cfg.scell_log,
            scell_max: 255u64 << cfg.scell_log,
            stab,
            qcount: -1,
            q_r: 0,
            qavg: 0,
            // Configured with an empty queue: red_start_of_idle_period.
            qidlestart: Some(SimTime::ZERO),
            ecn: cfg.ecn,
            harddrop: cfg.harddrop,
            nodrop: cfg.nodrop,
            adaptive: cfg.adaptive,
            next_adapt: SimTime::ZERO + ADAPT_PERIOD,
            limit: u64::from(cfg.limit),
            child_backlog: 0,
            queue: VecDeque::new(),
            rng,
            xstats: RedStats::default(),
            early_dropped: Vec::new(),
            core: QdiscCore::default(),
        })
    }

    /// `red_calc_qavg_from_idle_time` at `now`.
    fn qavg_from_idle_time(&self, idlestart: SimTime, now: SimTime) -> u64 {
        let us_idle = (now.saturating_since(idlestart).as_nanos() / 1000).min(self.scell_max);
        let shift = self.stab[((us_idle >> self.scell_log) & 255) as usize];
        if shift != 0 {
            self.qavg >> shift
        } else {
            // (1 − W)^m ≈ 1 − mW.
            let dec = ((u128::from(self.qavg) * u128::from(us_idle)) >> self.scell_log) as u64;
            if dec < self.qavg >> 1 {
                self.qavg - dec
            } else {
                self.qavg >> 1
            }
        }
    }

    /// `red_calc_qavg`.
    fn calc_qavg(&self, now: SimTime) -> u64 {
        match self.qidlestart {
            Some(t) => self.qavg_from_idle_time(t, now),
            // qavg·(1 − W) + backlog·W, in fixed point with Wlog fraction bits.
            None => self
                .qavg
                .wrapping_add(self.child_backlog.wrapping_sub(self.qavg >> self.wlog)),
        }
    }

    /// `red_random`: uniform over `[0, 2^32 / (max_P / delta))`.
    fn random(&mut self) -> u32 {
        self.rng.next_u32() / self.max_p_delta
    }

    /// `red_action`.
    fn action(&mut self, qavg: u64) -> Action {
        if qavg < self.qth_min {
            self.qcount = -1;
            Action::DontMark
        } else if qavg >= self.qth_max {
            self.qcount = -1;
            Action::HardMark
        } else {
            self.qcount += 1;
            if self.qcount != 0 {
                // red_mark_probability
                let lhs = ((qavg - self.qth_min) >> self.wlog).wrapping_mul(self.qcount as u64);
                if lhs >= u64::from(self.q_r) {
                    self.qcount = 0;
                    self.q_r = self.random();
                    return Action::ProbMark;
                }
            } else {
                self.q_r = self.random();
            }
            Action::DontMark
        }
    }

    /// Runs the adaptive timer's ticks due by `now` (`red_adaptative_timer`).
    #[inline]
    fn adapt_until(&mut self, now: SimTime) {
        while self.adaptive && self.next_adapt <= now {
            let at = self.next_adapt;
            self.adaptative_algo(at);
            self.next_adapt = at + ADAPT_PERIOD;
        }
    }

    /// `red_adaptative_algo` at `now`.
    fn adaptative_algo(&mut self, now: SimTime) {
        let qavg = match self.qidlestart {
            Some(t) => self.qavg_from_idle_time(t, now),
            None => self.qavg,
        } >> self.wlog;
        if qavg > u64::from(self.target_max) && self.max_p <= MAX_P_MAX {
            self.max_p += MAX_P_MIN.min(self.max_p / 4);
        } else if qavg < u64::from(self.target_min) && self.max_p >= MAX_P_MIN {
            self.max_p = (self.max_p / 10) * 9;
        }
        // DIV_ROUND_CLOSEST
        let d = self.qth_delta;
        self.max_p_delta =
            ((u64::from(self.max_p) + u64::from(d / 2)) / u64::from(d)).max(1) as u32;
    }

    /// `red_enqueue`.
    pub fn enqueue(&mut self, mut skb: Skb, now: SimTime) -> Enqueue {
        self.adapt_until(now);
        self.qavg = self.calc_qavg(now);
        // red_end_of_idle_period
        self.qidlestart = None;
        let early = match self.action(self.qavg) {
            Action::DontMark => false,
            Action::ProbMark => {
                self.core.stats.overlimits += 1;
                if !self.ecn {
                    true
                } else if inet_ecn_set_ce(&mut skb) {
                    self.xstats.marked += 1;
                    false
                } else {
                    !self.nodrop
                }
            }
            Action::HardMark => {
                self.core.stats.overlimits += 1;
                if self.harddrop || !self.ecn {
                    self.xstats.forced_drop += 1;
                    true
                } else if inet_ecn_set_ce(&mut skb) {
                    self.xstats.marked += 1;
                    self.xstats.forced_mark += 1;
                    false
                } else if !self.nodrop {
                    self.xstats.forced_drop += 1;
                    true
                } else {
                    false
                }
            }
        };
        if early {
            // congestion_drop: freed, but NET_XMIT_CN, which the sender takes for success
            // (`net_xmit_eval`): handed over with the enqueue drops.
            self.xstats.early += 1;
            self.core.stats.drops += 1;
            self.early_dropped.push(skb);
            return Enqueue::Queued;
        }
        // The child bfifo: `backlog + len <= limit`.
        let len = pkt_len(&skb);
        if self.child_backlog + len > self.limit {
            self.xstats.pdrop += 1;
            self.core.stats.drops += 1;
            return Enqueue::Dropped(skb);
        }
        skb.enqueue_time = now;
        self.child_backlog += len;
        self.core.add(len);
        self.queue.push_back(skb);
        Enqueue::Queued
    }

    /// `red_dequeue`.
    pub fn dequeue(&mut self, now: SimTime, _dropped: &mut Vec<Skb>) -> Dequeue {
        self.adapt_until(now);
        if let Some(skb) = self.core.take_requeued() {
            return Dequeue::Packet(skb);
        }
        match self.queue.pop_front() {
            Some(skb) => {
                let len = pkt_len(&skb);
                self.child_backlog -= len;
                self.core.remove(len);
                self.core.sent(len, skb.gso_segs);
                Dequeue::Packet(skb)
            }
            None => {
                // red_start_of_idle_period
                if self.qidlestart.is_none() {
                    self.qidlestart = Some(now);
                }
                Dequeue::Empty
            }
        }
    }

    /// Moves to `out` the packet the last enqueue dropped early; already counted in `drops`.
    pub fn drain_enqueue_drops(&mut self, out: &mut Vec<Skb>) {
        out.append(&mut self.early_dropped);
    }

    /// `dev_requeue_skb`.
    pub fn requeue(&mut self, skb: Skb) {
        self.core.requeue(skb);
    }

    /// The `tc -s qdisc` counters.
    pub fn stats(&self) -> &QdiscStats {
        &self.core.stats
    }

    /// RED's own counters.
    pub fn xstats(&self) -> RedStats {
        self.xstats
    }

    /// The parameters as `red_dump` reports them (`struct tc_red_qopt`'s `limit`, `qth_min`,
    /// `qth_max` in bytes, and `TCA_RED_FLAGS`).
    pub fn tc_params(&self) -> RedDump {
        RedDump {
            limit: self.limit as u32,
            qth_min: (self.qth_min >> self.wlog) as u32,
            qth_max: (self.qth_max >> self.wlog) as u32,
            ecn: self.ecn,
            harddrop: self.harddrop,
            adaptive: self.adaptive,
            nodrop: self.nodrop,
        }
    }

    /// The average queue in bytes (`qavg >> Wlog`), as of the last enqueue.
    pub fn qavg_bytes(&self) -> u64 {
        self.qavg >> self.wlog
    }

    /// The current `max_P` as a fraction of 2^32 (moves with `adaptive`).
    pub fn max_p(&self) -> u32 {
        self.max_p
    }

    /// Packets waiting in the requeue slot.
    pub fn requeued_len(&self) -> usize {
        self.core.requeued_len()
    }
}

/// tc's parameters of `tc qdisc add … red` (tc-red(8)), before tc turns them into the
/// kernel's (`red_parse_opt` in iproute2's `q_red.c`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RedTcArgs {
    /// `limit` bytes (required).
    pub limit: u32,
    /// `min` bytes (0: `max / 3`).
    pub min: u32,
    /// `max` bytes (0: `3 · min`, or `limit / 4` without `min`).
    pub max: u32,
    /// `avpkt` bytes (required).
    pub avpkt: u32,
    /// `burst` packets (0: `(2·min + max) / (3·avpkt)`).
    pub burst: u32,
    /// `bandwidth` in bytes per second (0: 10 Mbit/s).
    pub bandwidth: u64,
    /// `probability` (0.02 when unset).
    pub probability: f64,
}

impl RedConfig {
    /// What tc sends the kernel for `args` (`red_parse_opt`), or tc's complaint.
    pub fn from_tc(args: RedTcArgs) -> Result<Self, String> {
        let mut min = args.min;
        let mut max = args.max;
        if args.limit == 0 || args.avpkt == 0 {
            return Err("RED: Required parameter (limit, avpkt) is missing".into());
        }
        // Sally Floyd's recommendations.
        if max == 0 {
            max = if min != 0 { min * 3 } else { args.limit / 4 };
        }
        if min == 0 {
            min = max / 3;
        }
        let burst = if args.burst == 0 {
            (2 * min + max) / (3 * args.avpkt)
        } else {
            args.burst
        };
        let bandwidth = if args.bandwidth == 0 {
            10_000_000 / 8
        } else {
            args.bandwidth
        };
        let wlog = tc_red_eval_ewma(min, burst, args.avpkt)
            .ok_or("RED: failed to calculate EWMA constant")?;
        let plog = tc_red_eval_p(min, max, args.probability)
            .ok_or("RED: failed to calculate probability")?;
        let (scell_log, stab) = tc_red_eval_idle_damping(wlog, args.avpkt, bandwidth)
            .ok_or("RED: failed to calculate idle damping table")?;
        Ok(Self {
            limit: args.limit,
            qth_min: min,
            qth_max: max,
            wlog,
            plog,
            scell_log,
            stab: stab.to_vec(),
            // `probability * pow(2, 32)` converted to __u32.
            max_p: (args.probability * 4_294_967_296.0) as u32,
            ecn: false,
            harddrop: false,
            adaptive: false,
            nodrop: false,
        })
    }
}

/// `tc_red_eval_ewma`: the smallest `Wlog` with which a burst of `burst` packets from an
/// empty queue keeps `qavg` under `qmin` (`burst + 1 − qmin/avpkt ≤ (1 − (1−W)^burst)/W`).
pub fn tc_red_eval_ewma(qmin: u32, burst: u32, avpkt: u32) -> Option<u8> {
    let a = f64::from(burst) + 1.0 - f64::from(qmin) / f64::from(avpkt);
    if a < 1.0 {
        return None;
    }
    let mut w = 0.5f64;
    for wlog in 1..32u8 {
        if a <= (1.0 - (1.0 - w).powi(burst as i32)) / w {
            return Some(wlog);
        }
        w /= 2.0;
    }
    None
}

/// `tc_red_eval_P`: `Plog = log2((qmax − qmin) / prob)`, rounded as tc rounds it.
pub fn tc_red_eval_p(qmin: u32, qmax: u32, prob: f64) -> Option<u8> {
    let i = qmax.checked_sub(qmin)?;
    if i == 0 {
        return Some(0);
    }
    let mut p = prob / f64::from(i);
    for i in 0..32u8 {
        if p > 1.0 {
            return Some(i);
        }
        p *= 2.0;
    }
    None
}

/// `tc_red_eval_idle_damping`: `Scell_log` and the table `Stab[t >> Scell_log] =
/// −log(1 − W) · t / xmit_time` (as a right shift of `qavg`), `t` in psched ticks
/// (`tick_in_usec` = 1000/64 on every kernel since 2.6.31).
pub fn tc_red_eval_idle_damping(
    wlog: u8,
    avpkt: u32,
    bytes_per_sec: u64,
) -> Option<(u8, [u8; 256])> {
    const TICK_IN_USEC: f64 = 1000.0 / 64.0;
    let xmit_time = 1_000_000.0 * (f64::from(avpkt) / bytes_per_sec as f64) * TICK_IN_USEC;
    let lw = -(1.0 - 1.0 / f64::from(1u32 << wlog)).ln() / xmit_time;
    let maxtime = 31.0 / lw;
    let clog = (0..32u8).find(|&c| maxtime / f64::from(1u32 << c) < 512.0)?;
    let mut sbuf = [0u8; 256];
    for (i, s) in sbuf.iter_mut().enumerate().take(255).skip(1) {
        // `sbuf[i] = (i << clog) * lW`, stored into a __u8, then capped at 31.
        let v = ((i as u64) << clog) as f64 * lw;
        *s = (v as u32 as u8).min(31);
    }
    sbuf[255] = 31;
    Some((clog, sbuf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qdisc::test_util::pkt;
    use crate::skb::SkbPool;
    use sim_core::RngStreams;

    fn args(limit: u32, min: u32, max: u32, avpkt: u32) -> RedTcArgs {
        RedTcArgs {
            limit,
            min,
            max,
            avpkt,
            burst: 0,
            bandwidth: 0,
            probability: 0.02,
        }
    }

    /// The values tc 6.1 sent the kernel (netlink captured with strace) for three
    /// command lines.
    #[test]
    fn tc_computes_what_iproute2_sends() {
        // tc qdisc add … red limit 100000 avpkt 1000
        let c = RedConfig::from_tc(args(100_000, 0, 0, 1000)).unwrap();
        assert_eq!(
            (
                c.limit,
                c.qth_min,
                c.qth_max,
                c.wlog,
                c.plog,
                c.scell_log,
                c.max_p
            ),
            (100_000, 8333, 25000, 3, 20, 13, 85_899_345)
        );
        // limit 1000000 min 100000 max 300000 avpkt 1500 bandwidth 1Gbit
        let c = RedConfig::from_tc(RedTcArgs {
            bandwidth: 1_000_000_000 / 8,
            ..args(1_000_000, 100_000, 300_000, 1500)
        })
        .unwrap();
        assert_eq!((c.wlog, c.plog, c.scell_log), (6, 24, 10));
        // limit 400000 min 30000 max 90000 avpkt 1000 burst 55 bandwidth 10Mbit
        // probability 0.1
        let c = RedConfig::from_tc(RedTcArgs {
            burst: 55,
            probability: 0.1,
            ..args(400_000, 30_000, 90_000, 1000)
        })
        .unwrap();
        assert_eq!(
            (c.wlog, c.plog, c.scell_log, c.max_p),
            (5, 20, 15, 429_496_729)
        );
        // Its table: 13 zeros, then one step every ~12 entries (i·2^15·lW, lW = −ln(31/32)
        // / 12500 ticks), 31 last.
        let first = |v: u8| c.stab.iter().position(|&s| s == v).unwrap();
        assert_eq!((first(1), first(2), first(3)), (13, 25, 37));
        assert_eq!(c.stab[255], 31);
        // limit 60000 min 5000 max 15000 avpkt 1000 probability 0.5: Plog 15, and the
        // table up to 22 then 31 (captured in full).
        let c = RedConfig::from_tc(RedTcArgs {
            probability: 0.5,
            ..args(60_000, 5000, 15_000, 1000)
        })
        .unwrap();
        assert_eq!((c.wlog, c.plog, c.scell_log, c.max_p), (3, 15, 13, 1 << 31));
        assert_eq!(&c.stab[250..], &[21, 21, 22, 22, 22, 31]);
    }

    fn red(cfg: RedConfig) -> Red {
        Red::new(&cfg, RngStreams::new(3).stream("red", 0)).unwrap()
    }

    #[test]
    fn qavg_is_the_ewma_of_the_backlog() {
        let mut cfg = RedConfig::from_tc(args(1_000_000, 100_000, 300_000, 1000)).unwrap();
        cfg.wlog = 2;
        let mut q = red(cfg);
        let mut pool = SkbPool::new();
        let t = SimTime::ZERO + SimDuration::from_micros(1);
        // First enqueue ends the idle period with qavg 0 (decayed from 0).
        let _ = q.enqueue(pkt(&mut pool, 1000, 0, 0), t);
        assert_eq!(q.qavg, 0);
        // Then qavg (scaled by 4) += backlog − qavg/4: with W = 1/4, backlog 1000, 2000, …
        let mut avg = 0.0f64;
        for n in 1..=20u64 {
            let _ = q.enqueue(pkt(&mut pool, 1000, 0, 0), t);
            avg = avg * 0.75 + (n * 1000) as f64 * 0.25;
            assert!((q.qavg as f64 / 4.0 - avg).abs() < 1.0, "n {n}");
        }
    }

    #[test]
    fn marks_between_thresholds_at_the_configured_probability() {
        // qavg pinned half way between min and max: with uniform RED the gap between marks
        // is uniform on 1..=1/p_b, p_b = max_P·(qavg − min)/(max − min), so the fraction
        // marked is 2·p_b/(1 + p_b).
        let mut cfg = RedConfig::from_tc(RedTcArgs {
            probability: 0.1,
            ..args(10_000_000, 10_000, 30_000, 1000)
        })
        .unwrap();
        cfg.wlog = 0; // qavg = backlog exactly
        let mut q = red(cfg);
        let mut pool = SkbPool::new();
        let t = SimTime::ZERO + SimDuration::from_micros(1);
        for _ in 0..20 {
            let _ = q.enqueue(pkt(&mut pool, 1000, 0, 0), t);
        }
        let mut dropped = Vec::new();
        let n = 200_000u64;
        let before = q.xstats().early;
        for _ in 0..n {
            // Keep the backlog at 20000 bytes: one in, one out.
            let _ = q.enqueue(pkt(&mut pool, 1000, 0, 0), t);
            q.drain_enqueue_drops(&mut dropped);
            if q.stats().qlen > 20 {
                let _ = q.dequeue(t, &mut dropped);
            }
        }
        let early = (q.xstats().early - before) as f64 / n as f64;
        let pb = 0.1 * (20_000.0 - 10_000.0) / 20_000.0;
        let expect = 2.0 * pb / (1.0 + pb);
        assert!(
            (early - expect).abs() < 0.05 * expect,
            "{early} vs {expect}"
        );
        assert_eq!(q.xstats().forced_drop, 0);
    }

    #[test]
    fn above_max_every_packet_is_marked_or_dropped() {
        // min = max: nothing is marked by chance, all from a backlog of 4000 bytes on.
        let mut cfg = RedConfig::from_tc(args(100_000, 4000, 4000, 1000)).unwrap();
        cfg.wlog = 0;
        cfg.ecn = true;
        let mut q = red(cfg.clone());
        let mut pool = SkbPool::new();
        let t = SimTime::ZERO + SimDuration::from_micros(1);
        for _ in 0..4 {
            let _ = q.enqueue(pkt(&mut pool, 1000, 0, 0), t);
        }
        // Not ECN-capable (no IP header): dropped (NET_XMIT_CN), counted as forced drops.
        let mut out = Vec::new();
        for _ in 0..10 {
            assert!(matches!(
                q.enqueue(pkt(&mut pool, 1000, 0, 0), t),
                Enqueue::Queued
            ));
            q.drain_enqueue_drops(&mut out);
        }
        assert_eq!(out.len(), 10);
        assert_eq!(q.stats().qlen, 4);
        assert_eq!(q.xstats().forced_drop, 10);
        assert_eq!(q.stats().overlimits, q.xstats().early);
        // nodrop queues them instead, up to the byte limit (then pdrop).
        cfg.nodrop = true;
        let mut q = red(cfg);
        for _ in 0..150 {
            let _ = q.enqueue(pkt(&mut pool, 1000, 0, 0), t);
        }
        assert_eq!(q.stats().qlen, 100);
        assert_eq!(q.xstats().pdrop, 50);
        assert_eq!(q.xstats().early, 0);
    }

    #[test]
    fn idle_time_decays_qavg() {
        let cfg = RedConfig::from_tc(args(1_000_000, 100_000, 300_000, 1000)).unwrap();
        let mut q = red(cfg);
        let mut pool = SkbPool::new();
        q.qidlestart = None;
        q.qavg = 80_000 << q.wlog;
        let mut dropped = Vec::new();
        let t0 = SimTime::ZERO + SimDuration::from_secs(1);
        assert!(matches!(q.dequeue(t0, &mut dropped), Dequeue::Empty));
        // Idle for t µs: shift Stab[t >> Scell_log], or linear when that is 0.
        // Longer than Scell_max µs: capped there, the last entry (31) of the table.
        let idle = 40_000u64 << q.scell_log;
        let t1 = t0 + SimDuration::from_micros(idle);
        let _ = q.enqueue(pkt(&mut pool, 1000, 0, 0), t1);
        let shift = q.stab[255];
        assert_eq!(q.qavg, (80_000u64 << q.wlog) >> shift);
    }

    #[test]
    fn adaptive_moves_max_p_towards_the_target_band() {
        let mut cfg = RedConfig::from_tc(args(1_000_000, 10_000, 30_000, 1000)).unwrap();
        cfg.adaptive = true;
        let mut q = red(cfg);
        let p0 = q.max_p();
        let mut pool = SkbPool::new();
        // Empty for 1 s: two ticks below target_min, each max_P = max_P/10·9.
        let _ = q.dequeue(SimTime::ZERO + SimDuration::from_secs(1), &mut Vec::new());
        assert_eq!(q.max_p(), (p0 / 10 * 9) / 10 * 9);
        // qavg above target_max (min + 0.6·(max − min) = 22000): grows by min(1%, max_P/4).
        q.qidlestart = None;
        q.qavg = 25_000 << q.wlog;
        let p1 = q.max_p();
        let _ = q.enqueue(
            pkt(&mut pool, 100, 0, 0),
            SimTime::ZERO + SimDuration::from_millis(1500),
        );
        assert_eq!(q.max_p(), p1 + RED_ONE_PERCENT.min(p1 / 4));
    }
}
