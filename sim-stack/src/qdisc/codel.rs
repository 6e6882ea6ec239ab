//! The CoDel control law, as `include/net/codel.h` and `include/net/codel_impl.h` implement it.
//!
//! CoDel ("controlled delay") watches the *sojourn time* of each packet it dequeues: how long
//! it sat in the queue. When that stays at or above `target` for a whole `interval` (and more
//! than one MTU is queued), it enters the *dropping state* and drops (or ECN-marks) a packet,
//! then the next one `interval / sqrt(count)` later, and so on, with `count` growing by one
//! per drop, until the sojourn time falls below `target` again.
//!
//! Like Linux, the model never computes a square root or divides on the data path: it keeps
//! `1/sqrt(count)` as a Q0.16 fixed-point number (`rec_inv_sqrt`) refined by one Newton step
//! per drop ([`CodelVars::newton_step`], `codel_Newton_step`), and the control law is a
//! multiply and a shift ([`control_law`], `codel_control_law` / `reciprocal_scale`). Only
//! integers are involved, so every run is bit-for-bit reproducible. One consequence, shared
//! with Linux: the first drops of a dropping episode are not spaced at exactly
//! `interval/sqrt(count)` (one Newton step from 1/sqrt(1) gives 0.5 for count 2, not 0.707);
//! the approximation tightens as `count` grows.
//!
//! What differs from Linux, and why:
//! * Time is the simulator's nanosecond clock. Linux keeps CoDel times in a 32-bit clock of
//!   1024 ns ticks (`codel_time_t`, `CODEL_SHIFT`) with wrap-around comparisons; here times are
//!   `u64` nanoseconds compared plainly. Drop instants can therefore differ from a kernel's by
//!   less than about a microsecond per step; the algorithm and its integer arithmetic are the
//!   same.
//! * `ce_threshold` (CE-marking above a sojourn threshold, for DCTCP-style senders) is
//!   modeled without its `ce_threshold_selector`/`mask` (every ECN-capable packet is
//!   eligible, as with a zero mask).
//! * The very recent per-call cap on drops (`CODEL_MAX_DROPS_PER_DEQUEUE`) is not modeled: a
//!   dequeue drops as many packets as the control law says, which is bounded by the queue.

use sim_core::{SimDuration, SimTime};

use crate::skb::Skb;

/// Bits of the fixed-point `rec_inv_sqrt` (`REC_INV_SQRT_BITS`).
pub const REC_INV_SQRT_BITS: u32 = 16;
/// Shift from the stored Q0.16 `rec_inv_sqrt` to a Q0.32 number (`REC_INV_SQRT_SHIFT`).
pub const REC_INV_SQRT_SHIFT: u32 = 32 - REC_INV_SQRT_BITS;

/// CoDel's parameters (`struct codel_params`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodelParams {
    /// Acceptable standing queue delay (default 5 ms).
    pub target: SimDuration,
    /// Width of the moving window over which the delay must stay above `target` before
    /// dropping starts; also the base of the drop spacing (default 100 ms).
    pub interval: SimDuration,
    /// Below this many backlog bytes CoDel never drops (`psched_mtu(dev)`: the device MTU
    /// plus its link-layer header, 1514 on Ethernet).
    pub mtu: u32,
    /// Mark ECN-capable packets with CE instead of dropping them.
    pub ecn: bool,
    /// Mark every ECN-capable packet whose sojourn time exceeds this with CE, whatever the
    /// control law says (`ce_threshold`; `None`: `CODEL_DISABLED_THRESHOLD`).
    pub ce_threshold: Option<SimDuration>,
}

/// The per-queue state of CoDel (`struct codel_vars`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CodelVars {
    /// Drops (or marks) since entering the dropping state; also raised by fq_codel's
    /// overlimit drops to strengthen the signal.
    pub count: u32,
    /// `count` when the dropping state was last entered.
    pub lastcount: u32,
    /// Whether the queue is in the dropping state.
    pub dropping: bool,
    /// `1/sqrt(count)` in Q0.16 fixed point.
    pub rec_inv_sqrt: u16,
    /// When the sojourn time will have been above target for a full interval; `None` while
    /// it is below target (Linux uses 0 for "unset").
    pub first_above_time: Option<SimTime>,
    /// When the next drop is due in the dropping state (or when the last one was).
    pub drop_next: SimTime,
    /// Sojourn time of the last dequeued packet.
    pub ldelay: SimDuration,
}

impl CodelVars {
    /// One Newton–Raphson iteration of `1/sqrt(count)` (`codel_Newton_step`):
    /// `new = (old / 2) * (3 - count * old^2)`, in Q0.32 with the same truncations and
    /// wrap-arounds as the kernel's `u32`/`u64` arithmetic.
    pub fn newton_step(&mut self) {
        let invsqrt = u32::from(self.rec_inv_sqrt) << REC_INV_SQRT_SHIFT;
        let invsqrt2 = ((u64::from(invsqrt) * u64::from(invsqrt)) >> 32) as u32;
        let mut val = (3u64 << 32).wrapping_sub(u64::from(self.count) * u64::from(invsqrt2));
        val >>= 2; // avoid overflow in the following multiply
        val = val.wrapping_mul(u64::from(invsqrt)) >> (32 - 2 + 1);
        self.rec_inv_sqrt = (val >> REC_INV_SQRT_SHIFT) as u16;
    }
}

/// `t + interval / sqrt(count)`, with `1/sqrt(count)` given as the Q0.16 `rec_inv_sqrt`
/// (`codel_control_law`: `t + reciprocal_scale(interval, rec_inv_sqrt << 16)`).
pub fn control_law(t: SimTime, interval: SimDuration, rec_inv_sqrt: u16) -> SimTime {
    let scale = u128::from(rec_inv_sqrt) << REC_INV_SQRT_SHIFT;
    let step = (u128::from(interval.as_nanos()) * scale) >> 32;
    t.saturating_add(SimDuration::from_nanos(
        u64::try_from(step).unwrap_or(u64::MAX),
    ))
}

/// Statistics CoDel keeps for the whole qdisc (`struct codel_stats`, the parts `tc` shows).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CodelStats {
    /// Largest packet seen at dequeue, in bytes.
    pub maxpacket: u32,
    /// Packets CE-marked instead of dropped.
    pub ecn_mark: u64,
    /// Packets CE-marked because their sojourn time was above `ce_threshold` (`ce_mark`).
    pub ce_mark: u64,
}

/// The queue CoDel runs over: how to take its head packet, how much is queued, and what to do
/// with a packet CoDel drops (the kernel's `dequeue_func` / `drop_func` callbacks).
pub trait CodelQueue {
    /// Removes and returns the head packet, updating the owner's backlog accounting.
    fn dequeue(&mut self) -> Option<Skb>;
    /// Bytes the owning qdisc holds, compared with `mtu` (fq_codel passes the whole qdisc's
    /// backlog, not the flow's).
    fn backlog(&self) -> u64;
    /// Disposes of a dropped packet (count the drop, hand the skb to the caller to free).
    fn drop(&mut self, skb: Skb);
}

/// Decides whether `skb`, just dequeued at `now`, may be dropped (`codel_should_drop`).
/// `backlog` is the owner's backlog after removing `skb`.
fn should_drop(
    skb: Option<&Skb>,
    backlog: u64,
    vars: &mut CodelVars,
    params: &CodelParams,
    stats: &mut CodelStats,
    now: SimTime,
) -> bool {
    let Some(skb) = skb else {
        vars.first_above_time = None;
        return false;
    };
    vars.ldelay = now.saturating_since(skb.enqueue_time);
    let len = u32::try_from(skb.len()).unwrap_or(u32::MAX);
    if len > stats.maxpacket {
        stats.maxpacket = len;
    }
    if vars.ldelay < params.target || backlog <= u64::from(params.mtu) {
        // went below: stay below for at least interval
        vars.first_above_time = None;
        return false;
    }
    match vars.first_above_time {
        // Just went above from below: if we stay above for at least interval, it's OK to drop.
        None => {
            vars.first_above_time = Some(now.saturating_add(params.interval));
            false
        }
        Some(t) => now > t,
    }
}

/// Dequeues the next packet CoDel lets through, dropping (or marking) as the control law
/// says (`codel_dequeue`). Dropped packets go to [`CodelQueue::drop`]. The packet let
/// through is then CE-marked if its sojourn time is above `ce_threshold` (the `end:` of
/// `codel_dequeue`, counted in `ce_mark`).
#[inline]
pub fn codel_dequeue<Q: CodelQueue>(
    queue: &mut Q,
    params: &CodelParams,
    vars: &mut CodelVars,
    stats: &mut CodelStats,
    now: SimTime,
) -> Option<Skb> {
    let mut skb = codel_dequeue_law(queue, params, vars, stats, now);
    if let (Some(th), Some(s)) = (params.ce_threshold, skb.as_mut())
        && vars.ldelay > th
        && inet_ecn_set_ce(s)
    {
        stats.ce_mark += 1;
    }
    skb
}

/// `codel_dequeue` up to its `end:` label: the control law.
fn codel_dequeue_law<Q: CodelQueue>(
    queue: &mut Q,
    params: &CodelParams,
    vars: &mut CodelVars,
    stats: &mut CodelStats,
    now: SimTime,
) -> Option<Skb> {
    let Some(mut skb) = queue.dequeue() else {
        vars.dropping = false;
        return None;
    };
    let drop = should_drop(Some(&skb), queue.backlog(), vars, params, stats, now);
    if vars.dropping {
        if !drop {
            // sojourn time below target: leave the dropping state
            vars.dropping = false;
        } else if now >= vars.drop_next {
            // Time for the next drop. Drop the current packet and dequeue the next; a large
            // backlog can make drops due back to back, hence the loop.
            while vars.dropping && now >= vars.drop_next {
                vars.count = vars.count.wrapping_add(1);
                vars.newton_step();
                if params.ecn && inet_ecn_set_ce(&mut skb) {
                    stats.ecn_mark += 1;
                    vars.drop_next =
                        control_law(vars.drop_next, params.interval, vars.rec_inv_sqrt);
                    return Some(skb);
                }
                queue.drop(skb);
                let next = queue.dequeue();
                if should_drop(next.as_ref(), queue.backlog(), vars, params, stats, now) {
                    // schedule the next drop
                    vars.drop_next =
                        control_law(vars.drop_next, params.interval, vars.rec_inv_sqrt);
                } else {
                    // leave the dropping state
                    vars.dropping = false;
                }
                match next {
                    Some(n) => skb = n,
                    None => return None,
                }
            }
        }
        return Some(skb);
    }
    if !drop {
        return Some(skb);
    }
    let out = if params.ecn && inet_ecn_set_ce(&mut skb) {
        stats.ecn_mark += 1;
        Some(skb)
    } else {
        queue.drop(skb);
        let next = queue.dequeue();
        should_drop(next.as_ref(), queue.backlog(), vars, params, stats, now);
        next
    };
    vars.dropping = true;
    // If the delay went above target soon after we last left the dropping state, the drop rate
    // that controlled the queue then is a good starting point now.
    let delta = vars.count.wrapping_sub(vars.lastcount);
    let since_drop_next = i128::from(now.as_nanos()) - i128::from(vars.drop_next.as_nanos());
    if delta > 1 && since_drop_next < 16 * i128::from(params.interval.as_nanos()) {
        vars.count = delta;
        // The approximation of rec_inv_sqrt is rough now; next Newton steps correct it.
        vars.newton_step();
    } else {
        vars.count = 1;
        vars.rec_inv_sqrt = u16::MAX; // ~0U >> REC_INV_SQRT_SHIFT
    }
    vars.lastcount = vars.count;
    vars.drop_next = control_law(now, params.interval, vars.rec_inv_sqrt);
    out
}

/// Sets the ECN field of the packet's IP header to CE if the packet is ECN-capable
/// (`INET_ECN_set_ce`). Returns `true` if the packet now carries CE (it was ECT(0), ECT(1)
/// or already CE), `false` if it is not ECN-capable or not IP, in which case CoDel drops it.
///
/// The skb is expected as the qdisc sees it: starting with the Ethernet header (an 802.1Q
/// tag is skipped). The IPv4 header checksum is updated incrementally (RFC 1624), as
/// `IP_ECN_set_ce` does.
pub fn inet_ecn_set_ce(skb: &mut Skb) -> bool {
    const ETH_P_IP: u16 = 0x0800;
    const ETH_P_IPV6: u16 = 0x86DD;
    const ETH_P_8021Q: u16 = 0x8100;
    let data = skb.data_mut();
    let ethertype_at =
        |d: &[u8], at: usize| d.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let Some(mut ethertype) = ethertype_at(data, 12) else {
        return false;
    };
    let mut l3 = 14;
    if ethertype == ETH_P_8021Q {
        let Some(inner) = ethertype_at(data, 16) else {
            return false;
        };
        ethertype = inner;
        l3 = 18;
    }
    match ethertype {
        ETH_P_IP => data.get_mut(l3..l3 + 20).is_some_and(ip_ecn_set_ce),
        ETH_P_IPV6 => data.get_mut(l3..l3 + 40).is_some_and(ip6_ecn_set_ce),
        _ => false,
    }
}

/// `IP_ECN_set_ce` on a 20-byte (or longer) IPv4 header.
fn ip_ecn_set_ce(iph: &mut [u8]) -> bool {
    if iph[0] >> 4 != 4 {
        return false;
    }
    match iph[1] & 0b11 {
        0b00 => false, // Not-ECT
        0b11 => true,  // already CE
        _ => {
            let old = u16::from_be_bytes([iph[0], iph[1]]);
            iph[1] |= 0b11;
            let new = u16::from_be_bytes([iph[0], iph[1]]);
            let check = u16::from_be_bytes([iph[10], iph[11]]);
            iph[10..12].copy_from_slice(&csum_replace(check, old, new).to_be_bytes());
            true
        }
    }
}

/// `IP6_ECN_set_ce` on a 40-byte IPv6 header (no checksum to fix).
fn ip6_ecn_set_ce(ip6h: &mut [u8]) -> bool {
    if ip6h[0] >> 4 != 6 {
        return false;
    }
    // Traffic class spans the low nibble of byte 0 and the high nibble of byte 1; ECN is its
    // two low bits, i.e. bits 5..4 of byte 1.
    if (ip6h[1] >> 4) & 0b11 == 0 {
        return false;
    }
    ip6h[1] |= 0b11 << 4;
    true
}

/// RFC 1624 incremental update of a ones'-complement checksum when one 16-bit word changes
/// from `old` to `new`: `HC' = ~(~HC + ~m + m')`.
fn csum_replace(check: u16, old: u16, new: u16) -> u16 {
    let mut sum = u32::from(!check) + u32::from(!old) + u32::from(new);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::skb::SkbPool;

    fn ipv4_checksum(h: &[u8]) -> u16 {
        let mut sum = 0u32;
        for (i, w) in h.chunks(2).enumerate() {
            if i == 5 {
                continue;
            }
            sum += u32::from(u16::from_be_bytes([w[0], w[1]]));
        }
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    fn ipv4_frame(pool: &mut SkbPool, tos: u8) -> Skb {
        let mut skb = pool.alloc(34);
        let f = skb.put(34);
        f[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        let h = &mut f[14..34];
        h.copy_from_slice(&[
            0x45, tos, 0, 20, 0x12, 0x34, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 2, 10, 0, 1, 80,
        ]);
        let c = ipv4_checksum(h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        skb
    }

    #[test]
    fn newton_steps_approach_inverse_square_root() {
        let mut v = CodelVars {
            count: 1,
            rec_inv_sqrt: u16::MAX,
            ..CodelVars::default()
        };
        // Exact integer results of the kernel's codel_Newton_step, from a separate (Python)
        // transcription of the C: the first step from 1/sqrt(1) lands on 0.5 (not 0.707), then
        // the estimates settle towards 1/sqrt(count) (0.577, 0.5, 0.447, 0.408 → ×65536).
        let mut got = Vec::new();
        for count in 2..=6 {
            v.count = count;
            v.newton_step();
            got.push(v.rec_inv_sqrt);
        }
        assert_eq!(got, [32769, 36864, 31968, 28935, 26481]);
        // After many steps the estimate is within 0.1 % of the true value.
        for count in 7..=100 {
            v.count = count;
            v.newton_step();
        }
        let exact = 65536.0 / 100f64.sqrt();
        assert!((f64::from(v.rec_inv_sqrt) - exact).abs() / exact < 1e-3);
    }

    #[test]
    fn control_law_scales_interval() {
        let t = SimTime::from_nanos(1_000);
        let i = SimDuration::from_millis(100);
        assert_eq!(control_law(t, i, u16::MAX).as_nanos(), 1_000 + 99_998_474);
        assert_eq!(control_law(t, i, 32768).as_nanos(), 1_000 + 50_000_000);
    }

    /// A bare FIFO for driving `codel_dequeue` directly.
    struct Fifo {
        q: std::collections::VecDeque<Skb>,
        backlog: u64,
        dropped: Vec<Skb>,
    }

    impl CodelQueue for Fifo {
        fn dequeue(&mut self) -> Option<Skb> {
            let skb = self.q.pop_front()?;
            self.backlog -= skb.len() as u64;
            Some(skb)
        }
        fn backlog(&self) -> u64 {
            self.backlog
        }
        fn drop(&mut self, skb: Skb) {
            self.dropped.push(skb);
        }
    }

    #[test]
    fn reentering_soon_resumes_the_previous_drop_rate() {
        const MS: u64 = 1_000_000;
        let params = CodelParams {
            target: SimDuration::from_millis(5),
            interval: SimDuration::from_millis(100),
            mtu: 1514,
            ecn: false,
            ce_threshold: None,
        };
        let now = SimTime::from_nanos(10_000 * MS);
        let run = |drop_next_ago: u64| {
            let mut pool = SkbPool::new();
            let mut fifo = Fifo {
                q: Default::default(),
                backlog: 0,
                dropped: Vec::new(),
            };
            for _ in 0..10 {
                let mut skb = pool.alloc(1000);
                skb.put(1000);
                fifo.backlog += 1000;
                fifo.q.push_back(skb); // enqueued at 0: sojourn 10 s
            }
            // Left the dropping state after 5 drops of an episode that began at count 1; the
            // delay has been above target for more than an interval again.
            let mut vars = CodelVars {
                count: 5,
                lastcount: 1,
                dropping: false,
                rec_inv_sqrt: 28935,
                first_above_time: Some(SimTime::from_nanos(now.as_nanos() - MS)),
                drop_next: SimTime::from_nanos(now.as_nanos() - drop_next_ago),
                ldelay: SimDuration::ZERO,
            };
            let mut stats = CodelStats::default();
            let out = codel_dequeue(&mut fifo, &params, &mut vars, &mut stats, now);
            assert!(out.is_some());
            assert_eq!(fifo.dropped.len(), 1);
            vars
        };
        // Last drop 50 ms ago (< 16 intervals): count resumes at 5 - 1 = 4, with one Newton
        // step from the old estimate.
        let v = run(50 * MS);
        let mut want = CodelVars {
            count: 4,
            rec_inv_sqrt: 28935,
            ..CodelVars::default()
        };
        want.newton_step();
        assert!(v.dropping);
        assert_eq!(
            (v.count, v.lastcount, v.rec_inv_sqrt),
            (4, 4, want.rec_inv_sqrt)
        );
        assert_eq!(
            v.drop_next,
            control_law(now, params.interval, want.rec_inv_sqrt)
        );
        // Last drop 2 s ago (> 16 intervals): start over at count 1.
        let v = run(2_000 * MS);
        assert_eq!((v.count, v.lastcount, v.rec_inv_sqrt), (1, 1, u16::MAX));
        assert_eq!(v.drop_next.as_nanos(), now.as_nanos() + 99_998_474);
    }

    #[test]
    fn ecn_marking_sets_ce_and_keeps_the_checksum_valid() {
        let mut pool = SkbPool::new();
        for (tos, capable) in [(0x00, false), (0x01, true), (0x02, true), (0x03, true)] {
            let mut skb = ipv4_frame(&mut pool, 0xb8 | tos);
            assert_eq!(inet_ecn_set_ce(&mut skb), capable, "tos {tos:#x}");
            let h = &skb.data()[14..34];
            let want_tos = if capable { 0xbb } else { 0xb8 };
            assert_eq!(h[1], want_tos);
            assert_eq!(u16::from_be_bytes([h[10], h[11]]), ipv4_checksum(h));
        }
        // Not IP: never marked.
        let mut arp = pool.alloc(42);
        arp.put(42)[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert!(!inet_ecn_set_ce(&mut arp));
        // Truncated: never marked, never panics.
        let mut short = pool.alloc(20);
        short.put(20)[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
        assert!(!inet_ecn_set_ce(&mut short));
    }

    #[test]
    fn ecn_marking_ipv6() {
        let mut pool = SkbPool::new();
        let mut skb = pool.alloc(54);
        let f = skb.put(54);
        f[12..14].copy_from_slice(&0x86DDu16.to_be_bytes());
        f[14] = 0x60;
        f[15] = 0x20; // ECT(0)
        assert!(inet_ecn_set_ce(&mut skb));
        assert_eq!(skb.data()[15], 0x30);
    }
}
