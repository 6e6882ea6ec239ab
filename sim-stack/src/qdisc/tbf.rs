//! `tbf`, the token bucket filter (`net/sched/sch_tbf.c`), configured as `tc-tbf(8)` does.
//!
//! Tokens are kept in *time*, as sch_tbf.c does: the bucket holds nanoseconds of transmission
//! time at `rate`, up to `buffer` = the time `burst` bytes take at `rate`. A packet of `len`
//! bytes costs `len × 8 × 10⁹ / rate` ns of tokens. Tokens accrue with simulated time since
//! the last send (`t_c`), capped at `buffer`. Dequeue sends the head packet if the tokens cover
//! it; otherwise it answers [`Dequeue::Throttled`] with the exact instant the deficit will have
//! refilled (`now + (-toks)`, what `qdisc_watchdog_schedule_ns` is given) and counts one
//! `overlimits`, as Linux does each time it schedules the watchdog. Packets never overtake
//! each other.
//!
//! The optional peak rate (`peakrate P mtu M`) is a second bucket of depth `M` bytes at rate
//! `P`, checked alongside the first (`ptokens`); it limits how fast a burst drains.
//!
//! Enqueue drops a packet larger than `max_size` (the burst, or the peak bucket if smaller):
//! it could never collect enough tokens. The queue is Linux's default inner `bfifo`: a packet
//! is dropped when the queued bytes plus its length would exceed `limit`. `tc` sets the limit
//! either directly (`limit BYTES`) or from a latency (`latency T`: `rate × T + burst`, and with
//! a peak rate the smaller of that and `peakrate × T + mtu`), see [`TbfLimit`].
//!
//! Differences from Linux: the token cost is computed by exact integer division (truncated
//! to the nanosecond) rather than the kernel's precomputed `mult`/`shift` reciprocal
//! (`psched_l2t_ns`), which agree to within a nanosecond for realistic rates; rates are in
//! bit/s rather than the kernel's byte/s. A GSO packet larger than the bucket is cut into its
//! segments, each queued or dropped on its own ([`Tbf::enqueue_segments`], `tbf_segment`).
//! Not modeled: link-layer ATM cell accounting, `overhead`/`mpu`, replacing the inner
//! qdisc (tbf as a classful parent).

use std::collections::VecDeque;

use sim_core::{SimDuration, SimTime};

use super::{Dequeue, Enqueue, QdiscCore, QdiscError, QdiscStats, pkt_len};
use crate::skb::Skb;

const NSEC_PER_SEC: u128 = 1_000_000_000;

/// How the tbf queue limit is given, as `tc-tbf(8)` accepts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TbfLimit {
    /// `limit BYTES`: bytes that can wait for tokens.
    Bytes(u32),
    /// `latency TIME`: the longest a packet may wait for tokens; `tc` turns it into
    /// `limit = rate × latency + burst` (bytes), or, with a peak rate, the smaller of that and
    /// `peakrate × latency + mtu`.
    Latency(SimDuration),
}

impl TbfLimit {
    /// The byte limit this stands for, with `tc`'s formula (rates in bit/s, results truncated
    /// to whole bytes and capped at `u32::MAX`).
    pub fn to_bytes(self, rate_bps: u64, burst_bytes: u32, peak: Option<(u64, u32)>) -> u32 {
        match self {
            Self::Bytes(b) => b,
            Self::Latency(lat) => {
                let over = |bps: u64, extra: u32| {
                    let bytes = u128::from(bps) * u128::from(lat.as_nanos()) / (8 * NSEC_PER_SEC);
                    bytes + u128::from(extra)
                };
                let mut lim = over(rate_bps, burst_bytes);
                if let Some((peak_bps, mtu)) = peak {
                    lim = lim.min(over(peak_bps, mtu));
                }
                u32::try_from(lim).unwrap_or(u32::MAX)
            }
        }
    }
}

impl From<SimDuration> for TbfLimit {
    /// A duration is a latency, as in `tbf ... latency 50ms`.
    fn from(latency: SimDuration) -> Self {
        Self::Latency(latency)
    }
}

impl From<u32> for TbfLimit {
    /// A plain number is a byte limit, as in `tbf ... limit 30000`.
    fn from(bytes: u32) -> Self {
        Self::Bytes(bytes)
    }
}

/// Nanoseconds `len` bytes take at `rate_bps` (`psched_l2t_ns`), truncated.
fn l2t(rate_bps: u64, len: u64) -> u64 {
    let ns = u128::from(len) * 8 * NSEC_PER_SEC / u128::from(rate_bps);
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// A token bucket shaper with an optional peak-rate bucket.
#[derive(Debug)]
pub struct Tbf {
    rate_bps: u64,
    peak_bps: Option<u64>,
    /// The peak bucket size (`mtu`), bytes; 0 without a peak rate.
    peak_mtu: u32,
    burst: u32,
    limit: u32,
    /// Largest packet that can ever pass.
    max_size: u32,
    /// Bucket depth, ns at `rate`.
    buffer: u64,
    /// Peak bucket depth, ns at `peak_bps`.
    mtu: u64,
    /// Tokens at `t_c`, ns.
    tokens: u64,
    /// Peak tokens at `t_c`, ns.
    ptokens: u64,
    /// When tokens were last spent.
    t_c: SimTime,
    queue: VecDeque<Skb>,
    /// Bytes in `queue` (the inner bfifo's backlog; excludes the requeue slot).
    queue_bytes: u64,
    core: QdiscCore,
}

impl Tbf {
    /// `tc qdisc add ... tbf rate RATE burst BURST (limit BYTES | latency TIME)`, with the rate
    /// in bit/s and the burst (bucket size) in bytes; `limit` is a [`TbfLimit`], a
    /// [`SimDuration`] (latency) or a `u32` (bytes). The bucket starts full.
    pub fn new(
        rate_bps: u64,
        burst_bytes: u32,
        limit: impl Into<TbfLimit>,
    ) -> Result<Self, QdiscError> {
        Self::build(rate_bps, burst_bytes, limit.into(), None)
    }

    /// As [`Tbf::new`], plus `peakrate PEAK mtu MTU`: a second bucket of `mtu_bytes` at
    /// `peakrate_bps`, which must exceed the rate.
    pub fn with_peakrate(
        rate_bps: u64,
        burst_bytes: u32,
        limit: impl Into<TbfLimit>,
        peakrate_bps: u64,
        mtu_bytes: u32,
    ) -> Result<Self, QdiscError> {
        Self::build(
            rate_bps,
            burst_bytes,
            limit.into(),
            Some((peakrate_bps, mtu_bytes)),
        )
    }

    fn build(
        rate_bps: u64,
        burst: u32,
        limit: TbfLimit,
        peak: Option<(u64, u32)>,
    ) -> Result<Self, QdiscError> {
        if rate_bps == 0 {
            return Err(QdiscError::ZeroRate);
        }
        if burst == 0 {
            return Err(QdiscError::ZeroBurst);
        }
        let mut max_size = burst;
        let mut mtu = 0;
        if let Some((peak_bps, mtu_bytes)) = peak {
            if peak_bps <= rate_bps {
                return Err(QdiscError::PeakNotAboveRate {
                    rate: rate_bps,
                    peak: peak_bps,
                });
            }
            if mtu_bytes == 0 {
                return Err(QdiscError::ZeroMtu);
            }
            max_size = max_size.min(mtu_bytes);
            mtu = l2t(peak_bps, u64::from(mtu_bytes));
        }
        let buffer = l2t(rate_bps, u64::from(burst));
        Ok(Self {
            rate_bps,
            peak_bps: peak.map(|(p, _)| p),
            peak_mtu: peak.map_or(0, |(_, m)| m),
            burst,
            limit: limit.to_bytes(rate_bps, burst, peak),
            max_size,
            buffer,
            mtu,
            tokens: buffer,
            ptokens: mtu,
            t_c: SimTime::ZERO,
            queue: VecDeque::new(),
            queue_bytes: 0,
            core: QdiscCore::default(),
        })
    }

    /// The rate, bit/s.
    pub fn rate_bps(&self) -> u64 {
        self.rate_bps
    }

    /// The peak rate, bit/s, if configured.
    pub fn peakrate_bps(&self) -> Option<u64> {
        self.peak_bps
    }

    /// The peak bucket size (`mtu`), bytes; 0 without a peak rate.
    pub fn peak_mtu(&self) -> u32 {
        self.peak_mtu
    }

    /// The bucket size, bytes.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The queue limit, bytes.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The largest packet that can pass, bytes; larger ones are dropped at enqueue.
    pub fn max_size(&self) -> u32 {
        self.max_size
    }

    /// The bucket depth as transmission time at the rate (`q->buffer`).
    pub fn buffer(&self) -> SimDuration {
        SimDuration::from_nanos(self.buffer)
    }

    /// `tbf_enqueue`: drop what can never pass or does not fit the byte limit.
    pub fn enqueue(&mut self, mut skb: Skb, now: SimTime) -> Enqueue {
        let len = pkt_len(&skb);
        if len > u64::from(self.max_size) || self.queue_bytes + len > u64::from(self.limit) {
            self.core.stats.drops += 1;
            return Enqueue::Dropped(skb);
        }
        skb.enqueue_time = now;
        self.queue_bytes += len;
        self.core.add(len);
        self.queue.push_back(skb);
        Enqueue::Queued
    }

    /// Whether `tbf_enqueue` would cut `skb` before queueing it (`tbf_segment`): a GSO
    /// packet larger than the bucket whose every segment fits it
    /// (`skb_gso_validate_mac_len`). The caller cuts it and hands the segments to
    /// [`Tbf::enqueue_segments`].
    pub fn must_segment(&self, skb: &Skb) -> bool {
        if !skb.is_gso() || pkt_len(skb) <= u64::from(self.max_size) {
            return false;
        }
        let hdr_len = skb.gso_hdr_extra / (u32::from(skb.gso_segs) - 1);
        hdr_len + u32::from(skb.gso_size) <= self.max_size
    }

    /// `tbf_segment`: the segments of a GSO packet too large for the bucket, each queued (or
    /// dropped, counted, and put in `dropped`) on its own. It is `NET_XMIT_SUCCESS` when at
    /// least one was queued, so the sender learns nothing of the others, which are lost as on
    /// the path; when none was, the last one comes back as the refused packet.
    pub fn enqueue_segments(
        &mut self,
        segs: Vec<Skb>,
        now: SimTime,
        dropped: &mut Vec<Skb>,
    ) -> Enqueue {
        let mut queued = 0;
        for seg in segs {
            if let Enqueue::Dropped(seg) = self.enqueue(seg, now) {
                dropped.push(seg);
            } else {
                queued += 1;
            }
        }
        match (queued, dropped.pop()) {
            (0, Some(last)) => Enqueue::Dropped(last),
            (_, Some(seg)) => {
                dropped.push(seg);
                Enqueue::Queued
            }
            (_, None) => Enqueue::Queued,
        }
    }

    /// `tbf_dequeue`: send the head packet if both buckets cover it, else say when they will.
    pub fn dequeue(&mut self, now: SimTime, _dropped: &mut Vec<Skb>) -> Dequeue {
        if let Some(skb) = self.core.take_requeued() {
            return Dequeue::Packet(skb);
        }
        let Some(head) = self.queue.front() else {
            return Dequeue::Empty;
        };
        let len = pkt_len(head);
        let buffer = i128::from(self.buffer);
        let mut toks = i128::from(now.saturating_since(self.t_c).as_nanos()).min(buffer);
        let mut ptoks = 0i128;
        if let Some(peak_bps) = self.peak_bps {
            ptoks = (toks + i128::from(self.ptokens)).min(i128::from(self.mtu))
                - i128::from(l2t(peak_bps, len));
        }
        toks = (toks + i128::from(self.tokens)).min(buffer) - i128::from(l2t(self.rate_bps, len));

        if toks >= 0 && ptoks >= 0 {
            let skb = self.queue.pop_front().expect("head exists");
            self.t_c = now;
            // Both are in 0..=bucket depth, which came from a u64.
            self.tokens = toks as u64;
            self.ptokens = ptoks as u64;
            self.queue_bytes -= len;
            self.core.remove(len);
            self.core.sent(len, skb.gso_segs);
            return Dequeue::Packet(skb);
        }
        self.core.stats.overlimits += 1;
        let wait = (-toks).max(-ptoks);
        let wait = u64::try_from(wait).unwrap_or(u64::MAX);
        Dequeue::Throttled(now.saturating_add(SimDuration::from_nanos(wait)))
    }

    /// `dev_requeue_skb`. The requeued packet already paid its tokens and leaves first.
    pub fn requeue(&mut self, skb: Skb) {
        self.core.requeue(skb);
    }

    /// The `tc -s qdisc` counters.
    pub fn stats(&self) -> &QdiscStats {
        &self.core.stats
    }

    /// Packets waiting in the requeue slot (already counted in Sent, see [`QdiscStats`]).
    pub fn requeued_len(&self) -> usize {
        self.core.requeued_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::qdisc::test_util::pkt;
    use crate::skb::SkbPool;

    const MS: u64 = 1_000_000;

    /// Drives the qdisc like a device that is always ready: dequeue until empty, waiting for
    /// the watchdog when throttled. Returns the send instants (ns).
    fn drain(q: &mut Tbf, mut now: SimTime) -> Vec<u64> {
        let mut times = Vec::new();
        loop {
            match q.dequeue(now, &mut Vec::new()) {
                Dequeue::Packet(_) => times.push(now.as_nanos()),
                Dequeue::Throttled(t) => {
                    assert!(t > now, "watchdog must be in the future");
                    now = t;
                }
                Dequeue::Empty => return times,
            }
        }
    }

    fn fill(q: &mut Tbf, pool: &mut SkbPool, n: usize, len: usize, now: SimTime) {
        for _ in 0..n {
            assert!(matches!(
                q.enqueue(pkt(pool, len, 0, 0), now),
                Enqueue::Queued
            ));
        }
    }

    #[test]
    fn burst_then_rate() {
        // 8 Mbit/s = 1 byte/us: a 1000-byte packet costs exactly 1 ms of tokens.
        let mut pool = SkbPool::new();
        let mut q = Tbf::new(8_000_000, 3000, TbfLimit::Bytes(100_000)).unwrap();
        assert_eq!(q.buffer(), SimDuration::from_millis(3));
        fill(&mut q, &mut pool, 6, 1000, SimTime::ZERO);
        // The full bucket (3 ms) lets 3 packets go at once, then one per millisecond.
        assert_eq!(drain(&mut q, SimTime::ZERO), [0, 0, 0, MS, 2 * MS, 3 * MS]);
        let s = *q.stats();
        assert_eq!(s.overlimits, 3); // one throttle before each of the last three
        assert_eq!((s.packets, s.bytes, s.qlen, s.backlog), (6, 6000, 0, 0));
    }

    #[test]
    fn rate_that_does_not_divide_evenly() {
        // 3 Mbit/s: 1000 bytes take 8000/3e6 s = 2 666 666.67 ns, truncated to 2 666 666.
        let mut pool = SkbPool::new();
        let mut q = Tbf::new(3_000_000, 1000, TbfLimit::Bytes(10_000)).unwrap();
        fill(&mut q, &mut pool, 4, 1000, SimTime::ZERO);
        let t = 2_666_666;
        assert_eq!(drain(&mut q, SimTime::ZERO), [0, t, 2 * t, 3 * t]);
        assert_eq!(q.stats().overlimits, 3);
    }

    #[test]
    fn tokens_accrue_while_idle_up_to_the_burst() {
        let mut pool = SkbPool::new();
        let mut q = Tbf::new(8_000_000, 3000, TbfLimit::Bytes(100_000)).unwrap();
        fill(&mut q, &mut pool, 3, 1000, SimTime::ZERO);
        assert_eq!(drain(&mut q, SimTime::ZERO), [0, 0, 0]);
        // 1.5 ms later: 1.5 ms of tokens, enough for one packet with 0.5 ms left over, so the
        // next needs only 0.5 ms more.
        let t1 = SimTime::from_nanos(1_500_000);
        fill(&mut q, &mut pool, 2, 1000, t1);
        assert_eq!(drain(&mut q, t1), [1_500_000, 2_000_000]);
        // A long idle period refills only up to the bucket size.
        let t2 = SimTime::from_nanos(10 * 1_000_000_000);
        fill(&mut q, &mut pool, 4, 1000, t2);
        let base = t2.as_nanos();
        assert_eq!(drain(&mut q, t2), [base, base, base, base + MS]);
    }

    #[test]
    fn oversize_packet_is_dropped_at_enqueue() {
        let mut pool = SkbPool::new();
        let mut q = Tbf::new(8_000_000, 1500, TbfLimit::Bytes(100_000)).unwrap();
        assert_eq!(q.max_size(), 1500);
        let big = pkt(&mut pool, 1501, 0, 0);
        assert!(matches!(q.enqueue(big, SimTime::ZERO), Enqueue::Dropped(_)));
        let fits = pkt(&mut pool, 1500, 0, 0);
        assert!(matches!(q.enqueue(fits, SimTime::ZERO), Enqueue::Queued));
        assert!(matches!(
            q.dequeue(SimTime::ZERO, &mut Vec::new()),
            Dequeue::Packet(_)
        ));
        let s = *q.stats();
        assert_eq!((s.drops, s.packets, s.overlimits), (1, 1, 0));
    }

    #[test]
    fn latency_sets_the_byte_limit() {
        // tc-tbf(8): limit = rate × latency + burst = 1e6 B/s × 50 ms + 3000 = 53 000 bytes.
        let lim = TbfLimit::Latency(SimDuration::from_millis(50));
        assert_eq!(lim.to_bytes(8_000_000, 3000, None), 53_000);
        // With a peak rate, the smaller of that and peakrate × latency + mtu.
        assert_eq!(
            lim.to_bytes(8_000_000, 3000, Some((8_800_000, 1500))),
            53_000
        );
        assert_eq!(
            lim.to_bytes(8_000_000, 30_000, Some((8_800_000, 1500))),
            56_500
        );

        let mut pool = SkbPool::new();
        let mut q = Tbf::new(8_000_000, 3000, lim).unwrap();
        assert_eq!(q.limit(), 53_000);
        fill(&mut q, &mut pool, 53, 1000, SimTime::ZERO);
        assert!(matches!(
            q.enqueue(pkt(&mut pool, 1000, 0, 0), SimTime::ZERO),
            Enqueue::Dropped(_)
        ));
        // Requeued bytes sit outside the inner bfifo and do not count against its limit.
        let Dequeue::Packet(skb) = q.dequeue(SimTime::ZERO, &mut Vec::new()) else {
            panic!()
        };
        q.requeue(skb);
        fill(&mut q, &mut pool, 1, 1000, SimTime::ZERO);
        let s = *q.stats();
        assert_eq!((s.drops, s.qlen, s.backlog, s.requeues), (1, 54, 54_000, 1));
    }

    #[test]
    fn peakrate_paces_the_burst() {
        // rate 1 Mbit/s (8 ms per 1000 B), burst 10 000 B (80 ms of tokens);
        // peakrate 8 Mbit/s (1 ms per 1000 B), mtu 1000 B (a 1 ms peak bucket).
        let mut pool = SkbPool::new();
        let mut q =
            Tbf::with_peakrate(1_000_000, 10_000, TbfLimit::Bytes(100_000), 8_000_000, 1000)
                .unwrap();
        assert_eq!(q.max_size(), 1000);
        fill(&mut q, &mut pool, 14, 1000, SimTime::ZERO);
        // Worked by hand: each packet spends 8 ms of rate tokens and gains 1 ms back while the
        // peak bucket paces it, so the rate bucket goes 80, 72, 65, 58, … 9, 2 ms; the 12th
        // packet then waits for 6 ms of rate tokens and the rest follow every 8 ms.
        let want: Vec<u64> = (0..11)
            .map(|i| i * MS)
            .chain([16 * MS, 24 * MS, 32 * MS])
            .collect();
        assert_eq!(drain(&mut q, SimTime::ZERO), want);
        assert!(matches!(
            Tbf::with_peakrate(1_000_000, 10_000, TbfLimit::Bytes(1), 1_000_000, 1000),
            Err(QdiscError::PeakNotAboveRate { .. })
        ));
    }

    #[test]
    fn invalid_configurations_are_refused() {
        assert_eq!(
            Tbf::new(0, 1500, TbfLimit::Bytes(1)).unwrap_err(),
            QdiscError::ZeroRate
        );
        assert_eq!(
            Tbf::new(1, 0, TbfLimit::Bytes(1)).unwrap_err(),
            QdiscError::ZeroBurst
        );
        assert_eq!(
            Tbf::with_peakrate(1, 1500, TbfLimit::Bytes(1), 2, 0).unwrap_err(),
            QdiscError::ZeroMtu
        );
    }
}
