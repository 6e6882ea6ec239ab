//! The kernel's clock tick and timer wheel, for timers whose timing shows on the wire.
//!
//! Linux runs `struct timer_list` timers (neighbour timers, TCP's retransmission and
//! delayed-ACK timers) on a hierarchical wheel ticking at `HZ` (250 on the reference kernel:
//! one jiffy is 4 ms). An expiry is first rounded up to a whole jiffy; a timer further out than
//! 63 jiffies lands in an outer level of the wheel whose buckets are 8^level jiffies wide,
//! and `calc_index()` rounds it *up* to the next bucket boundary so that it never fires early.
//! That is why the reference's unicast ARP probes leave 5.0–5.25 s after first use rather
//! than exactly 5 s: a 5 s timer sits in level 2, whose buckets are 64 jiffies (256 ms) wide.
//!
//! Each node's jiffies counter has its own phase relative to the simulation's zero (drawn
//! from the node's RNG stream), as real machines booted at different instants would.

use sim_core::{SimDuration, SimTime};

/// Ticks per second of the modeled kernel (`CONFIG_HZ`).
pub const HZ: u64 = 250;
/// One jiffy in nanoseconds.
pub const JIFFY_NS: u64 = 1_000_000_000 / HZ;

const LVL_CLK_SHIFT: u32 = 3;
const LVL_SIZE: u64 = 64;

/// The first delta (in jiffies) that goes to level `n` (`LVL_START(n)`).
const fn lvl_start(n: u32) -> u64 {
    (LVL_SIZE - 1) << ((n - 1) * LVL_CLK_SHIFT)
}

/// The node's `jiffies` at `now` on a clock offset by `phase_ns`: the ticks so far.
#[inline]
pub fn jiffies(now: SimTime, phase_ns: u64) -> u64 {
    (now.as_nanos() + phase_ns % JIFFY_NS) / JIFFY_NS
}

/// When a timer armed at `now` for `delay` really fires on a node whose jiffies clock is
/// offset by `phase_ns`: `jiffies + timeout`, then rounded up to its wheel bucket as
/// `calc_index()` does (one jiffy at level 0, 8^level jiffies further out).
pub fn round_expiry(now: SimTime, delay: SimDuration, phase_ns: u64) -> SimTime {
    let phase = phase_ns % JIFFY_NS;
    // Jiffies as the node counts them: tick k happens at k * JIFFY_NS - phase.
    let local_now = now.as_nanos() + phase;
    // `expires = jiffies + msecs_to_jiffies(delay)`: the current tick, truncated, plus the
    // delay rounded up to whole jiffies.
    let clk = local_now / JIFFY_NS;
    let expires = clk + delay.as_nanos().div_ceil(JIFFY_NS);
    let delta = expires - clk;
    let mut lvl = 0;
    while lvl < 8 && delta >= lvl_start(lvl + 1) {
        lvl += 1;
    }
    // calc_index(): round up to the level's granularity, at every level (level 0
    // included), so that a timer armed between two ticks never fires early.
    let shift = lvl * LVL_CLK_SHIFT;
    let fire = ((expires >> shift) + 1) << shift;
    let t = (fire * JIFFY_NS).saturating_sub(phase);
    SimTime::from_nanos(t.max(now.as_nanos() + delay.as_nanos()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> SimDuration {
        SimDuration::from_millis(v)
    }

    #[test]
    fn short_timers_fire_one_tick_after_their_jiffy() {
        // 200 ms = 50 jiffies, armed on a tick: level 0, and calc_index() adds one jiffy
        // (the timer could have been armed at the very end of that tick).
        assert_eq!(
            round_expiry(SimTime::ZERO, ms(200), 0),
            SimTime::ZERO + ms(204)
        );
        // Armed 1 ns after tick 0, a 1 ms timer (1 jiffy) expires at jiffy 1 and fires at
        // tick 2: between 1 and 2 jiffies late, never early.
        let t = SimTime::from_nanos(1);
        assert_eq!(round_expiry(t, ms(1), 0), SimTime::ZERO + ms(8));
        // Armed just before tick 1 it also fires at tick 2, as the kernel would
        // (jiffies is still 0): 8 ms from zero, a little over 4 ms from now.
        let t = SimTime::from_nanos(JIFFY_NS - 1);
        assert_eq!(round_expiry(t, ms(1), 0), SimTime::ZERO + ms(8));
    }

    #[test]
    fn five_second_timers_land_in_256ms_buckets() {
        for phase in [0, 1_000_000, 3_999_999] {
            for start_us in [0u64, 430, 190_000, 255_999] {
                let now = SimTime::ZERO + SimDuration::from_micros(start_us);
                let fire = round_expiry(now, ms(5000), phase);
                let late = fire - (now + ms(5000));
                assert!(late <= ms(260), "{late}");
                // Fires on a 64-jiffy boundary of the node's clock.
                assert_eq!((fire.as_nanos() + phase % JIFFY_NS) % (64 * JIFFY_NS), 0);
            }
        }
    }

    #[test]
    fn never_early() {
        for d in [
            0u64,
            1,
            3_999_999,
            4_000_000,
            252_000_000,
            2_000_000_000,
            60_000_000_000,
        ] {
            for phase in [0, 123_456] {
                let now = SimTime::from_nanos(777_777);
                let fire = round_expiry(now, SimDuration::from_nanos(d), phase);
                assert!(fire >= now + SimDuration::from_nanos(d));
            }
        }
    }
}
