//! Root queueing disciplines, as Linux implements them: [`PfifoFast`] (the default),
//! [`Pfifo`], [`Tbf`], [`FqCodel`], [`Fq`], [`Sfq`], [`Netem`], [`Red`] and the classful [`Htb`] and [`Prio`]
//! (with [`filter`]s).
//!
//! A device's root qdisc sits between `dev_queue_xmit` and the driver. The device layer calls
//! [`Qdisc::enqueue`] from `__dev_xmit_skb`, then runs the qdisc (`__qdisc_run`): it calls
//! [`Qdisc::dequeue`] and hands each packet to the driver (`sch_direct_xmit`); when the driver's
//! TX ring is full it gives the packet back with [`Qdisc::requeue`] (`dev_requeue_skb`) and
//! stops until TX completion wakes the queue. A [`Dequeue::Throttled`] answer (tbf, netem, fq) means
//! "packets are waiting but none may leave before this instant": the caller arms the qdisc
//! watchdog timer for then and runs the qdisc again when it fires.
//!
//! The kinds are an enum, not trait objects: one `match` per call on the hot path.
//!
//! # Counters
//!
//! [`QdiscStats`] holds what `tc -s qdisc` shows, counted where Linux counts it:
//! * `bytes`/`packets` ("Sent") at dequeue (`qdisc_bstats_update`), **once per packet**, a
//!   GSO packet counting as its `gso_segs` segments and `qdisc_pkt_len` bytes: a
//!   requeued packet was already counted when it was first dequeued and is not counted again
//!   when it leaves the requeue slot (as in `dequeue_skb`). So while a packet waits in the
//!   requeue slot it is counted both in `packets` and in `qlen`; once everything has left,
//!   `packets + drops` equals the number of packets enqueued.
//! * `drops` whenever the qdisc frees a packet instead of sending it (tail drop, tbf oversize,
//!   CoDel drops at dequeue, fq_codel overlimit drops, netem's emulated loss — and netem's
//!   ECN marks in place of a loss, as Linux counts them).
//! * `overlimits` when tbf throttles (each dequeue that schedules the watchdog).
//! * `requeues` on every [`Qdisc::requeue`], and for each packet netem reorders (sends ahead
//!   of the others), as `netem_enqueue` counts it.
//! * `backlog` (bytes, `qdisc_pkt_len`: `skb.len()`, plus for a GSO packet the headers of
//!   its segments after the first) and `qlen` (packets: a GSO packet is one) currently held,
//!   including packets in the requeue slot (`dev_requeue_skb` increments both).
//!
//! Every qdisc stamps `skb.enqueue_time` with the enqueue instant (fq_codel needs it for the
//! sojourn time; for the others it lets the caller trace queueing delay).
//!
//! # What is left out
//!
//! prio, cls_fw and other classifiers, multiqueue (`mq`), size tables (`stab`),
//! `noqueue`, and the empty-qdisc bypass (`TCQ_F_CAN_BYPASS`: Linux sends straight to the
//! driver when the qdisc is empty; calling enqueue then dequeue gives the same counters).
//! Per-kind omissions are listed in each module.

use std::collections::VecDeque;

use serde::Serialize;
use sim_core::SimTime;

use crate::config::QdiscConfig;
use crate::skb::{Skb, SkbPool};

pub mod class_report;
pub mod codel;
pub mod filter;
pub mod fq;
pub mod fq_codel;
pub mod htb;
pub mod netem;
pub mod netem_dist;
pub mod pfifo;
pub mod pfifo_fast;
pub mod prio;
pub mod red;
pub mod sfq;
pub mod tbf;
pub mod tc_show;

pub use fq::{Fq, FqConfig, FqSk, FqStats};
pub use fq_codel::{FqCodel, FqCodelParams, FqCodelStats};
pub use htb::Htb;
pub use netem::Netem;
pub use pfifo::Pfifo;
pub use pfifo_fast::{PfifoFast, prio2band, rt_tos2priority};
pub use prio::Prio;
pub use red::{Red, RedStats};
pub use sfq::{Sfq, SfqConfig};
pub use tbf::{Tbf, TbfLimit};

/// A root queueing discipline of one of the modeled kinds.
#[derive(Debug)]
pub enum Qdisc {
    /// The Linux default: three priority bands, `txqueuelen` packets.
    PfifoFast(PfifoFast),
    /// One FIFO of `limit` packets.
    Pfifo(Pfifo),
    /// Token bucket shaper.
    Tbf(Tbf),
    /// Fair queueing with CoDel per flow.
    FqCodel(FqCodel),
    /// The network emulator (boxed: its random stream and queues make it the largest kind,
    /// and the rare one).
    Netem(Box<Netem>),
    /// Random Early Detection over a byte FIFO (boxed: its idle table is 256 bytes).
    Red(Box<Red>),
    /// Hierarchical token bucket, a class tree with leaf qdiscs (boxed: classful and rare).
    Htb(Box<Htb>),
    /// Strict priority among child qdiscs (boxed: classful and rare).
    Prio(Box<Prio>),
    /// Fair queueing per socket with pacing (boxed: its flow table and lists).
    Fq(Box<Fq>),
    /// Stochastic fairness queueing (boxed: its slot and bucket tables).
    Sfq(Box<Sfq>),
}

impl Qdisc {
    /// The qdisc `cfg` describes, on a device with `txqueuelen` (`tc qdisc add … root`), or
    /// why the kernel would refuse it. [`QdiscConfig::validate`] is this, so the checks live
    /// in one place: the constructors. `rng` gives the random stream of a kind that draws
    /// (netem); it is called only for such a kind.
    pub fn from_config(
        cfg: &QdiscConfig,
        txqueuelen: u32,
        rng: impl FnOnce() -> sim_core::SimRng,
    ) -> Result<Self, QdiscError> {
        Ok(match cfg {
            QdiscConfig::Netem(c) => Self::Netem(Box::new(Netem::new(c, rng())?)),
            QdiscConfig::Red(c) => Self::Red(Box::new(Red::new(c, rng())?)),
            QdiscConfig::Htb(c) => Self::Htb(Box::new(Htb::new(c, txqueuelen, rng())?)),
            QdiscConfig::Prio(c) => Self::Prio(Box::new(Prio::new(c, txqueuelen, rng())?)),
            QdiscConfig::Fq(c) => Self::Fq(Box::new(Fq::new(c, fq::DEFAULT_PSCHED_MTU)?)),
            QdiscConfig::Sfq(c) => Self::Sfq(Box::new(Sfq::new(c, fq::DEFAULT_PSCHED_MTU, rng())?)),
            QdiscConfig::PfifoFast => Self::PfifoFast(PfifoFast::new(txqueuelen)),
            // noqueue: nothing is held back; the driver's ring is the only queue. Modeled as a
            // FIFO holding at most what the driver refuses (one packet), as close as we get.
            QdiscConfig::Noqueue => Self::Pfifo(Pfifo::new(1)),
            QdiscConfig::Pfifo { limit } => Self::Pfifo(Pfifo::new(*limit)),
            QdiscConfig::Tbf {
                rate,
                burst,
                latency,
            } => {
                let burst = u32::try_from(burst.get())
                    .map_err(|_| QdiscError::BurstTooLarge(burst.get()))?;
                Self::Tbf(Tbf::new(rate.bits_per_sec(), burst, *latency)?)
            }
            QdiscConfig::FqCodel(f) => {
                let memory_limit = u32::try_from(f.memory_limit.get())
                    .map_err(|_| QdiscError::MemoryLimitTooLarge(f.memory_limit.get()))?;
                Self::FqCodel(FqCodel::new(FqCodelParams {
                    limit: f.limit,
                    flows: f.flows,
                    target: f.target,
                    interval: f.interval,
                    quantum: f.quantum,
                    memory_limit,
                    ecn: f.ecn,
                    ce_threshold: f.ce_threshold,
                    ..FqCodelParams::default()
                })?)
            }
        })
    }
}

/// The answer to [`Qdisc::enqueue`].
#[derive(Debug)]
#[must_use = "a dropped skb must be freed by the caller"]
pub enum Enqueue {
    /// The qdisc holds the packet (`NET_XMIT_SUCCESS`; also fq_codel's `NET_XMIT_CN` when its
    /// overlimit drops spared this packet).
    Queued,
    /// The qdisc refused the packet (`NET_XMIT_DROP`); it counted the drop. The caller frees
    /// the skb (releasing its socket memory) and counts the failed transmit.
    Dropped(Skb),
}

/// The answer to [`Qdisc::dequeue`].
#[derive(Debug)]
#[must_use = "a dequeued skb must be transmitted or requeued"]
pub enum Dequeue {
    /// The next packet to hand to the driver.
    Packet(Skb),
    /// Nothing queued.
    Empty,
    /// Packets are queued but none may leave before this instant (tbf out of tokens): arm the
    /// watchdog (`qdisc_watchdog_schedule_ns`) and dequeue again then.
    Throttled(SimTime),
}

/// The counters `tc -s qdisc` shows, under the names it uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct QdiscStats {
    /// Bytes sent (dequeued), "Sent N bytes".
    pub bytes: u64,
    /// Packets sent (dequeued), "N pkt".
    pub packets: u64,
    /// Packets dropped by the qdisc.
    pub drops: u64,
    /// Times the qdisc was throttled (tbf without tokens).
    pub overlimits: u64,
    /// Packets given back by the driver.
    pub requeues: u64,
    /// Bytes currently queued.
    pub backlog: u64,
    /// Packets currently queued.
    pub qlen: u64,
}

/// A qdisc configuration the kernel would refuse (`-EINVAL` from the qdisc's `change`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QdiscError {
    /// tbf without a rate.
    #[error("tbf: rate must be greater than 0 bit/s")]
    ZeroRate,
    /// tbf whose bucket cannot hold a single byte (`max_size` 0).
    #[error("tbf: burst must be at least 1 byte")]
    ZeroBurst,
    /// tbf bucket larger than its 32-bit size (`TCA_TBF_BURST` is a `u32`; tc refuses more).
    #[error("tbf: burst must be at most 4294967295 bytes, got {0}")]
    BurstTooLarge(u64),
    /// tbf peak rate not above the rate.
    #[error("tbf: peakrate {peak} bit/s must be higher than rate {rate} bit/s")]
    PeakNotAboveRate {
        /// The configured rate, bit/s.
        rate: u64,
        /// The configured peak rate, bit/s.
        peak: u64,
    },
    /// tbf peak rate without a usable `mtu` (peak bucket size).
    #[error("tbf: when peakrate is given, mtu must be at least 1 byte")]
    ZeroMtu,
    /// fq_codel flow count out of range.
    #[error("fq_codel: flows must be between 1 and 65536, got {0}")]
    FlowCount(u32),
    /// fq_codel quantum above `FQ_CODEL_QUANTUM_MAX`.
    #[error("fq_codel: quantum must be at most 1048576 bytes, got {0}")]
    QuantumTooLarge(u32),
    /// fq_codel memory limit larger than its 32-bit size (`TCA_FQ_CODEL_MEMORY_LIMIT` is a
    /// `u32`; tc refuses more).
    #[error("fq_codel: memory_limit must be at most 4294967295 bytes, got {0}")]
    MemoryLimitTooLarge(u64),
    /// netem `rate` of 0.
    #[error("netem: rate must be at least 8 bit/s")]
    NetemZeroRate,
    /// netem `slot` whose minimum exceeds its maximum (`validate_slot`).
    #[error("netem: slot min delay greater than max delay")]
    NetemSlotOrder,
    /// red thresholds the kernel refuses (`red_check_params`: `max` below `min`, or a
    /// threshold too large for its `Wlog`).
    #[error("red: min must not exceed max, and max << Wlog must fit in 31 bits")]
    RedParams,
    /// red `nodrop` without `ecn` (`red_validate_flags`).
    #[error("red: nodrop requires ecn")]
    RedNodropWithoutEcn,
    /// htb class id outside 1..=0xffff.
    #[error("htb: class id {0:x} must be between 1 and ffff")]
    HtbClassId(u32),
    /// Two htb classes with one id.
    #[error("htb: class 1:{0:x} is defined twice")]
    HtbDuplicateClass(u32),
    /// An htb class without a rate.
    #[error("htb: class 1:{0:x} needs a rate above 0 bit/s")]
    HtbZeroRate(u32),
    /// An htb class whose ceil is below its rate.
    #[error("htb: class 1:{0:x} has a ceil below its rate")]
    HtbCeilBelowRate(u32),
    /// An htb class whose parent does not exist (or a loop).
    #[error("htb: class 1:{class:x} has no parent class 1:{parent:x}")]
    HtbUnknownParent {
        /// The class.
        class: u32,
        /// Its missing parent.
        parent: u32,
    },
    /// An htb tree deeper than `TC_HTB_MAXDEPTH` (8 levels).
    #[error("htb: class 1:{0:x} is too deep (at most 8 levels)")]
    HtbTooDeep(u32),
    /// A qdisc given to an htb class that has children.
    #[error("htb: class 1:{0:x} has children, so no qdisc of its own")]
    HtbLeafOnInner(u32),
    /// A filter to a class that does not exist.
    #[error("htb: filter flowid 1:{0:x} is not a class")]
    HtbUnknownFlowid(u32),
    /// A filter to an inner class (not modeled: classification into its own filters).
    #[error("htb: filter flowid 1:{0:x} is an inner class; filters must select a leaf")]
    HtbFlowidInner(u32),
    /// prio band count outside 2..=16.
    #[error("prio: bands must be between 2 and 16, got {0}")]
    PrioBands(u32),
    /// A priomap entry naming a band that does not exist.
    #[error("prio: priomap names band {0}, past the last")]
    PrioMap(u8),
    /// A filter or band qdisc for a band that does not exist.
    #[error("prio: 1:{0:x} is not a band")]
    PrioFlowid(u32),
    /// fq `buckets` whose log2 is outside 1..=18 (`fq_change`).
    #[error("fq: buckets must be between 2 and 262144, got 2^{0}")]
    FqBuckets(u32),
    /// fq `initial_quantum` above 1048576 (`iq_range`).
    #[error("fq: initial_quantum must be at most 1048576 bytes, got {0}")]
    FqInitialQuantum(u32),
    /// sfq `divisor` that is not a power of two up to 65536 (`sfq_change`).
    #[error("sfq: divisor must be a power of two between 1 and 65536, got {0}")]
    SfqDivisor(u32),
    /// sfq `perturb` above `INT_MAX / HZ` seconds (`sfq_change`).
    #[error("sfq: perturb must be at most {max} seconds, got {0}", max = sfq::SFQ_MAX_PERTURB)]
    SfqPerturb(u32),
    /// sfq whose limit comes to 1 packet (`sfq_change`: "invalid limit").
    #[error("sfq: limit must not come to 1 packet (limit is at most depth × flows)")]
    SfqLimit,
}

impl QdiscError {
    /// The tc parameter at fault (`burst`, `flows`, …), for pointing at it.
    pub fn param(&self) -> &'static str {
        match self {
            Self::ZeroRate => "rate",
            Self::ZeroBurst | Self::BurstTooLarge(_) => "burst",
            Self::PeakNotAboveRate { .. } => "peakrate",
            Self::ZeroMtu => "mtu",
            Self::FlowCount(_) => "flows",
            Self::QuantumTooLarge(_) => "quantum",
            Self::MemoryLimitTooLarge(_) => "memory_limit",
            Self::NetemZeroRate => "rate",
            Self::NetemSlotOrder => "slot",
            Self::RedParams => "max",
            Self::RedNodropWithoutEcn => "nodrop",
            Self::HtbClassId(_) | Self::HtbDuplicateClass(_) | Self::HtbUnknownParent { .. } => {
                "class"
            }
            Self::HtbTooDeep(_) | Self::HtbLeafOnInner(_) => "class",
            Self::HtbZeroRate(_) => "rate",
            Self::HtbCeilBelowRate(_) => "ceil",
            Self::HtbUnknownFlowid(_) | Self::HtbFlowidInner(_) => "flowid",
            Self::PrioBands(_) => "bands",
            Self::PrioMap(_) => "priomap",
            Self::PrioFlowid(_) => "flowid",
            Self::FqBuckets(_) => "buckets",
            Self::FqInitialQuantum(_) => "initial_quantum",
            Self::SfqDivisor(_) => "divisor",
            Self::SfqPerturb(_) => "perturb",
            Self::SfqLimit => "limit",
        }
    }
}

/// `qdisc_pkt_len`: the length a qdisc accounts for a packet; for a GSO packet, the bytes
/// of all its segments (`qdisc_pkt_len_init`).
#[inline]
pub(crate) fn pkt_len(skb: &Skb) -> u64 {
    skb.len() as u64 + u64::from(skb.gso_hdr_extra)
}

/// What every qdisc has in Linux's `struct Qdisc`: the counters, and the requeue slot
/// (`q->gso_skb`) where `dev_requeue_skb` parks packets the driver refused. The slot is served
/// before the qdisc's own dequeue, with no further shaping or AQM (the packet already passed).
#[derive(Debug, Default)]
pub(crate) struct QdiscCore {
    pub(crate) stats: QdiscStats,
    requeued: VecDeque<Skb>,
}

impl QdiscCore {
    /// A packet entered the qdisc's queues.
    #[inline]
    fn add(&mut self, len: u64) {
        self.stats.qlen += 1;
        self.stats.backlog += len;
    }

    /// A packet left the qdisc's queues (sent or dropped).
    #[inline]
    fn remove(&mut self, len: u64) {
        self.stats.qlen -= 1;
        self.stats.backlog -= len;
    }

    /// `qdisc_bstats_update`: a GSO packet counts as its segments (`bstats_update`).
    #[inline]
    fn sent(&mut self, len: u64, segs: u16) {
        self.stats.bytes += len;
        self.stats.packets += u64::from(segs);
    }

    /// `dev_requeue_skb`: back at the head of the requeue slot, whence it (or the packet it
    /// was cut from) was taken, and counted. Linux never dequeues again from a stopped queue,
    /// so what it requeues always goes first; here the driver's refusal is the first sign
    /// of a full ring, so the head is where the packet must go for the order to hold.
    fn requeue(&mut self, skb: Skb) {
        self.stats.requeues += 1;
        self.add(pkt_len(&skb));
        self.requeued.push_front(skb);
    }

    /// The head of the requeue slot, if any (`dequeue_skb`'s `gso_skb` path).
    #[inline]
    fn take_requeued(&mut self) -> Option<Skb> {
        let skb = self.requeued.pop_front()?;
        self.remove(pkt_len(&skb));
        Some(skb)
    }

    /// Packets waiting in the requeue slot.
    #[inline]
    pub(crate) fn requeued_len(&self) -> usize {
        self.requeued.len()
    }
}

/// Calls the same method on whichever kind `self` is.
macro_rules! dispatch {
    ($self:expr, $q:ident => $call:expr) => {
        match $self {
            Qdisc::PfifoFast($q) => $call,
            Qdisc::Pfifo($q) => $call,
            Qdisc::Tbf($q) => $call,
            Qdisc::FqCodel($q) => $call,
            Qdisc::Netem($q) => $call,
            Qdisc::Red($q) => $call,
            Qdisc::Htb($q) => $call,
            Qdisc::Prio($q) => $call,
            Qdisc::Fq($q) => $call,
            Qdisc::Sfq($q) => $call,
        }
    };
}

impl Qdisc {
    /// Offers a packet to the qdisc at `now` (`q->enqueue`). Sets `skb.enqueue_time`
    /// (netem: its own `time_to_send` instead). `pool` and `mac_len` (the link-layer header
    /// length) serve netem, which copies packets (duplicate) and cuts GSO packets (corrupt).
    #[inline(always)]
    pub fn enqueue(
        &mut self,
        skb: Skb,
        now: SimTime,
        pool: &mut SkbPool,
        mac_len: usize,
    ) -> Enqueue {
        match self {
            Self::PfifoFast(q) => q.enqueue(skb, now),
            Self::Pfifo(q) => q.enqueue(skb, now),
            Self::Tbf(q) => q.enqueue(skb, now),
            Self::FqCodel(q) => q.enqueue(skb, now),
            _ => self.enqueue_emulating(skb, now, pool, mac_len),
        }
    }

    /// [`Qdisc::enqueue`] for the kinds that emulate or shape (netem, red, htb, prio), kept
    /// out of line: their bodies inlined into the hot `match` would make it too big to
    /// inline into `dev_queue_xmit` for the common kinds.
    #[inline(never)]
    fn enqueue_emulating(
        &mut self,
        skb: Skb,
        now: SimTime,
        pool: &mut SkbPool,
        mac_len: usize,
    ) -> Enqueue {
        match self {
            Self::PfifoFast(q) => q.enqueue(skb, now),
            Self::Pfifo(q) => q.enqueue(skb, now),
            Self::Tbf(q) => q.enqueue(skb, now),
            Self::FqCodel(q) => q.enqueue(skb, now),
            Self::Netem(q) => q.enqueue(skb, now, pool, mac_len),
            Self::Red(q) => q.enqueue(skb, now),
            Self::Htb(q) => q.enqueue(skb, now, pool, mac_len),
            Self::Prio(q) => q.enqueue(skb, now, pool, mac_len),
            Self::Fq(q) => {
                let sk = FqSk::of(&skb);
                q.enqueue(skb, now, sk)
            }
            Self::Sfq(q) => q.enqueue(skb, now),
        }
    }

    /// Takes the next packet to transmit at `now` (`dequeue_skb`: the requeue slot first, then
    /// `q->dequeue`). Packets the qdisc drops while dequeuing (CoDel) are appended to
    /// `dropped`, already counted in `drops`, for the caller to free and trace. fq_codel also
    /// flushes into it any overlimit drops from earlier enqueues not yet collected with
    /// [`Qdisc::drain_enqueue_drops`].
    /// Sends `skb` straight through when the qdisc is idle, with the effects of enqueueing it
    /// and dequeueing until empty (see [`FqCodel::pass_through_idle`]); `Err(skb)` when it is
    /// not idle or has no such shortcut, and the caller enqueues as usual.
    #[inline]
    pub fn pass_through_idle(&mut self, skb: Skb, now: SimTime) -> Result<Skb, Skb> {
        match self {
            Self::FqCodel(q) => q.pass_through_idle(skb, now),
            _ => Err(skb),
        }
    }

    #[inline]
    pub fn dequeue(&mut self, now: SimTime, dropped: &mut Vec<Skb>) -> Dequeue {
        dispatch!(self, q => q.dequeue(now, dropped))
    }

    /// Gives back a packet the driver refused (TX ring full), to be dequeued first next time
    /// (`dev_requeue_skb`). Counts a requeue. Several packets given back leave in the reverse
    /// order: give back the last first.
    #[inline]
    pub fn requeue(&mut self, skb: Skb) {
        dispatch!(self, q => q.requeue(skb));
    }

    /// Moves to `out` the packets an enqueue dropped besides the one it was given: fq_codel's
    /// overlimit handling drops a batch from the fattest flow (`fq_codel_drop`); netem's
    /// emulated losses. They are already counted in `drops`. Call after each enqueue to free
    /// them at the right instant; otherwise fq_codel's next dequeue hands them over. Other
    /// kinds never have any.
    #[inline]
    pub fn drain_enqueue_drops(&mut self, out: &mut Vec<Skb>) {
        match self {
            Self::PfifoFast(_) | Self::Pfifo(_) | Self::Tbf(_) => {}
            Self::FqCodel(q) => q.drain_enqueue_drops(out),
            _ => self.drain_enqueue_drops_emulating(out),
        }
    }

    /// [`Qdisc::drain_enqueue_drops`] for netem, red, htb and prio, out of line as
    /// [`Qdisc::enqueue`]'s are.
    #[inline(never)]
    fn drain_enqueue_drops_emulating(&mut self, out: &mut Vec<Skb>) {
        match self {
            Self::FqCodel(q) => q.drain_enqueue_drops(out),
            Self::Netem(q) => q.drain_enqueue_drops(out),
            Self::Red(q) => q.drain_enqueue_drops(out),
            Self::Htb(q) => q.drain_enqueue_drops(out),
            Self::Prio(q) => q.drain_enqueue_drops(out),
            Self::Sfq(q) => q.drain_enqueue_drops(out),
            Self::PfifoFast(_) | Self::Pfifo(_) | Self::Tbf(_) | Self::Fq(_) => {}
        }
    }

    /// The `tc -s qdisc` counters.
    #[inline]
    pub fn stats(&self) -> &QdiscStats {
        dispatch!(self, q => q.stats())
    }

    /// fq_codel's extra counters (`tc -s` "maxpacket … new_flows_len … old_flows_len …"), or
    /// `None` for the other kinds.
    pub fn fq_codel_stats(&self) -> Option<FqCodelStats> {
        match self {
            Self::FqCodel(q) => Some(q.xstats()),
            _ => None,
        }
    }

    /// RED's extra counters (`tc -s` "marked … early … pdrop … other …"), or `None` for the
    /// other kinds.
    pub fn red_stats(&self) -> Option<RedStats> {
        match self {
            Self::Red(q) => Some(q.xstats()),
            _ => None,
        }
    }

    /// fq's extra counters (`tc -s` "flows … (inactive … throttled …) gc … throttled …"), or
    /// `None` for the other kinds.
    pub fn fq_stats(&self) -> Option<FqStats> {
        match self {
            Self::Fq(q) => Some(q.xstats()),
            _ => None,
        }
    }

    /// The htb qdisc, for its classes, or `None` for the other kinds.
    pub fn htb(&self) -> Option<&Htb> {
        match self {
            Self::Htb(q) => Some(q),
            _ => None,
        }
    }

    /// The prio qdisc, for its bands, or `None` for the other kinds.
    pub fn prio(&self) -> Option<&Prio> {
        match self {
            Self::Prio(q) => Some(q),
            _ => None,
        }
    }

    /// The kind as `tc` names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::PfifoFast(_) => "pfifo_fast",
            Self::Pfifo(_) => "pfifo",
            Self::Tbf(_) => "tbf",
            Self::FqCodel(_) => "fq_codel",
            Self::Netem(_) => "netem",
            Self::Red(_) => "red",
            Self::Htb(_) => "htb",
            Self::Prio(_) => "prio",
            Self::Fq(_) => "fq",
            Self::Sfq(_) => "sfq",
        }
    }

    /// Packets held, the requeue slot included (`qdisc_qlen`).
    #[inline]
    pub fn len(&self) -> usize {
        self.stats().qlen as usize
    }

    /// Whether the qdisc holds no packet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.stats().qlen == 0
    }

    /// Bytes held, the requeue slot included.
    #[inline]
    pub fn backlog_bytes(&self) -> u64 {
        self.stats().backlog
    }

    /// Packets waiting in the requeue slot. They were counted in `packets`/`bytes` when first
    /// dequeued and are also in `qlen`/`backlog`, so at any time
    /// `packets + drops + qlen == enqueued + requeued_len()`.
    pub fn requeued_len(&self) -> usize {
        dispatch!(self, q => q.requeued_len())
    }
}

impl From<PfifoFast> for Qdisc {
    fn from(q: PfifoFast) -> Self {
        Self::PfifoFast(q)
    }
}

impl From<Pfifo> for Qdisc {
    fn from(q: Pfifo) -> Self {
        Self::Pfifo(q)
    }
}

impl From<Tbf> for Qdisc {
    fn from(q: Tbf) -> Self {
        Self::Tbf(q)
    }
}

impl From<FqCodel> for Qdisc {
    fn from(q: FqCodel) -> Self {
        Self::FqCodel(q)
    }
}

impl From<Red> for Qdisc {
    fn from(q: Red) -> Self {
        Self::Red(Box::new(q))
    }
}

impl From<Fq> for Qdisc {
    fn from(q: Fq) -> Self {
        Self::Fq(Box::new(q))
    }
}

impl From<Sfq> for Qdisc {
    fn from(q: Sfq) -> Self {
        Self::Sfq(Box::new(q))
    }
}

impl From<Netem> for Qdisc {
    fn from(q: Netem) -> Self {
        Self::Netem(Box::new(q))
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use crate::skb::{Skb, SkbPool};

    /// A packet of `len` bytes (zeros) with the given flow hash and priority.
    pub(crate) fn pkt(pool: &mut SkbPool, len: usize, hash: u32, priority: u32) -> Skb {
        let mut skb = pool.alloc(len);
        skb.put(len);
        skb.hash = hash;
        skb.priority = priority;
        skb
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use sim_core::SimDuration;

    use super::test_util::pkt;
    use super::*;
    use crate::skb::SkbPool;

    #[derive(Debug, Clone)]
    enum Op {
        Enqueue {
            len: usize,
            hash: u32,
            prio: u32,
        },
        Dequeue {
            advance_us: u64,
        },
        /// Dequeue, then the driver refuses the packet.
        Refuse,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            5 => (1usize..1600, 0u32..6, prop_oneof![0u32..16, Just(0x1_0011), Just(0x1_0099)])
                .prop_map(|(len, hash, prio)| Op::Enqueue { len, hash, prio }),
            4 => (0u64..3000).prop_map(|advance_us| Op::Dequeue { advance_us }),
            1 => Just(Op::Refuse),
        ]
    }

    fn kinds() -> Vec<Qdisc> {
        let fq = FqCodelParams {
            limit: 12,
            flows: 4,
            target: SimDuration::from_micros(500),
            interval: SimDuration::from_millis(5),
            memory_limit: 8 * 2624,
            drop_batch_size: 3,
            ..FqCodelParams::default()
        };
        vec![
            PfifoFast::new(10).into(),
            Pfifo::new(7).into(),
            Tbf::new(10_000_000, 3000, TbfLimit::Bytes(9000))
                .unwrap()
                .into(),
            FqCodel::new(fq).unwrap().into(),
            Netem::new(
                &netem_cfg(),
                sim_core::RngStreams::new(1).stream("netem", 0),
            )
            .unwrap()
            .into(),
            Red::new(&red_cfg(), sim_core::RngStreams::new(1).stream("red", 0))
                .unwrap()
                .into(),
            Qdisc::Htb(Box::new(
                Htb::new(&htb_cfg(), 6, sim_core::RngStreams::new(1).stream("htb", 0)).unwrap(),
            )),
            Fq::new(
                &FqConfig {
                    limit: 6,
                    flow_limit: 4,
                    maxrate: Some(400_000),
                    ..FqConfig::default()
                },
                fq::DEFAULT_PSCHED_MTU,
            )
            .unwrap()
            .into(),
            Sfq::new(
                &SfqConfig {
                    limit: 8,
                    depth: 3,
                    headdrop: true,
                    ..SfqConfig::default()
                },
                fq::DEFAULT_PSCHED_MTU,
                sim_core::RngStreams::new(1).stream("sfq", 0),
            )
            .unwrap()
            .into(),
            Qdisc::Prio(Box::new(
                Prio::new(
                    &prio::PrioConfig {
                        bands: 3,
                        children: vec![(1, QdiscConfig::Netem(Box::new(netem_cfg())))],
                        ..prio::PrioConfig::default()
                    },
                    5,
                    sim_core::RngStreams::new(1).stream("prio", 0),
                )
                .unwrap(),
            )),
        ]
    }

    /// An htb whose two leaves (a pfifo, a netem) share a 10 Mbit/s parent; packets of
    /// priority 1:11 go to the netem leaf, unknown ones (priority 1:99) direct.
    fn htb_cfg() -> htb::HtbConfig {
        use htb::{HtbClassConfig, HtbConfig};
        let class = |id, parent, rate: u64, ceil| HtbClassConfig {
            ceil_bps: Some(ceil),
            burst: Some(3000),
            ..HtbClassConfig::new(id, parent, rate)
        };
        HtbConfig {
            default: 0x10,
            classes: vec![
                class(1, None, 10_000_000, 10_000_000),
                class(0x10, Some(1), 4_000_000, 10_000_000),
                HtbClassConfig {
                    leaf: Some(QdiscConfig::Netem(Box::new(netem_cfg()))),
                    ..class(0x11, Some(1), 2_000_000, 5_000_000)
                },
            ],
            filters: vec![filter::Filter {
                matches: vec![filter::Match::Priority(9)],
                flowid: 0x11,
            }],
            ..HtbConfig::default()
        }
    }

    /// A RED that marks by chance from 2000 bytes, always from 5000, and holds 8000.
    fn red_cfg() -> crate::config::RedConfig {
        let mut c = crate::config::RedConfig::from_tc(red::RedTcArgs {
            limit: 8000,
            min: 2000,
            max: 5000,
            avpkt: 500,
            burst: 0,
            bandwidth: 0,
            probability: 0.5,
        })
        .unwrap();
        c.adaptive = true;
        c
    }

    /// A netem that loses, jitters (so the tfifo's tree is used), reorders and rate-limits;
    /// no duplication (it would add packets to the books).
    fn netem_cfg() -> crate::config::NetemConfig {
        use crate::config::{NetemConfig, NetemLoss, NetemRate};
        let pct = |p: u64| (u64::from(u32::MAX) * p / 100) as u32;
        NetemConfig {
            limit: 9,
            latency: SimDuration::from_millis(1),
            jitter: SimDuration::from_micros(900),
            loss: NetemLoss::Random {
                p: pct(10),
                corr: 0,
            },
            reorder: (pct(20), 0),
            gap: 3,
            rate: Some(NetemRate {
                bytes_per_sec: 10_000_000 / 8,
                packet_overhead: 0,
                cell_size: 0,
                cell_overhead: 0,
            }),
            ..NetemConfig::default()
        }
    }

    /// Checks the counters against an independent model of what the qdisc holds.
    fn check(q: &Qdisc, held: &BTreeMap<u64, u64>, enqueued: u64) {
        let s = q.stats();
        assert_eq!(s.qlen as usize, q.len());
        assert_eq!(s.qlen as usize, held.len(), "{}: qlen", q.kind());
        assert_eq!(
            s.backlog,
            held.values().sum::<u64>(),
            "{}: backlog",
            q.kind()
        );
        assert_eq!(q.backlog_bytes(), s.backlog);
        assert_eq!(q.is_empty(), held.is_empty());
        // A packet in the requeue slot was counted as sent when first dequeued.
        assert_eq!(
            s.packets + s.drops + s.qlen,
            enqueued + q.requeued_len() as u64,
            "{}: conservation",
            q.kind()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn stats_stay_consistent(ops in prop::collection::vec(op(), 1..200)) {
            for mut q in kinds() {
                let mut pool = SkbPool::new();
                let mut now = SimTime::ZERO;
                let mut held = BTreeMap::new();
                let mut enqueued = 0u64;
                let mut dropped = Vec::new();
                let mut sent_bytes = 0u64;
                for op in &ops {
                    match *op {
                        Op::Enqueue { len, hash, prio } => {
                            let skb = pkt(&mut pool, len, hash, prio);
                            let id = skb.id;
                            enqueued += 1;
                            match q.enqueue(skb, now, &mut pool, 14) {
                                Enqueue::Queued => {
                                    held.insert(id, len as u64);
                                }
                                Enqueue::Dropped(skb) => prop_assert_eq!(skb.id, id),
                            }
                            q.drain_enqueue_drops(&mut dropped);
                        }
                        Op::Dequeue { .. } | Op::Refuse => {
                            let refuse = matches!(op, Op::Refuse);
                            if let Op::Dequeue { advance_us } = *op {
                                now += SimDuration::from_micros(advance_us);
                            }
                            match q.dequeue(now, &mut dropped) {
                                Dequeue::Packet(skb) => {
                                    prop_assert!(held.remove(&skb.id).is_some());
                                    if refuse {
                                        held.insert(skb.id, skb.len() as u64);
                                        q.requeue(skb);
                                    } else {
                                        sent_bytes += skb.len() as u64;
                                    }
                                }
                                Dequeue::Empty => prop_assert!(held.is_empty()),
                                Dequeue::Throttled(t) => {
                                    prop_assert!(matches!(q.kind(), "tbf" | "netem" | "htb" | "prio" | "fq"));
                                    prop_assert!(t > now);
                                    prop_assert!(!held.is_empty());
                                }
                            }
                        }
                    }
                    for skb in dropped.drain(..) {
                        prop_assert!(held.remove(&skb.id).is_some(), "dropped an skb it did not hold");
                    }
                    check(&q, &held, enqueued);
                }
                // Drain everything: then every packet was either sent once or dropped.
                loop {
                    match q.dequeue(now, &mut dropped) {
                        Dequeue::Packet(skb) => {
                            held.remove(&skb.id);
                            sent_bytes += skb.len() as u64;
                        }
                        Dequeue::Throttled(t) => now = t,
                        Dequeue::Empty => break,
                    }
                    for skb in dropped.drain(..) {
                        held.remove(&skb.id);
                    }
                }
                prop_assert!(held.is_empty());
                let s = *q.stats();
                prop_assert_eq!(s.packets + s.drops, enqueued);
                prop_assert_eq!(s.bytes, sent_bytes);
                prop_assert_eq!((s.qlen, s.backlog), (0, 0));
            }
        }
    }

    #[test]
    fn kinds_are_named_as_tc_names_them() {
        let names: Vec<_> = kinds().iter().map(Qdisc::kind).collect();
        assert_eq!(
            names,
            [
                "pfifo_fast",
                "pfifo",
                "tbf",
                "fq_codel",
                "netem",
                "red",
                "htb",
                "fq",
                "sfq",
                "prio"
            ]
        );
        fn serializable<T: Serialize>() {}
        serializable::<QdiscStats>();
        serializable::<FqCodelStats>();
        serializable::<FqStats>();
    }
}
