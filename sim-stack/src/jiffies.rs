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

/// When a timer armed at `now` for `delay` really fires on a node whose jiffies clock is
/// offset by `phase_ns`: the expiry rounded up to a tick, then to its wheel bucket.
pub fn round_expiry(now: SimTime, delay: SimDuration, phase_ns: u64) -> SimTime {
    let phase = phase_ns % JIFFY_NS;
    // Jiffies as the node counts them: tick k happens at k * JIFFY_NS - phase.
    let local_now = now.as_nanos() + phase;
    let clk = local_now / JIFFY_NS;
    let expires = (local_now + delay.as_nanos()).div_ceil(JIFFY_NS);
    let delta = expires.saturating_sub(clk);
    let mut lvl = 0;
    while lvl < 8 && delta >= lvl_start(lvl + 1) {
        lvl += 1;
    }
    let fire = if lvl == 0 {
        expires
    } else {
        let shift = lvl * LVL_CLK_SHIFT;
        ((expires >> shift) + 1) << shift
    };
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
    fn short_timers_round_to_the_next_tick() {
        // 200 ms = 50 jiffies: level 0, exact multiple of 4 ms from a tick boundary.
        assert_eq!(
            round_expiry(SimTime::ZERO, ms(200), 0),
            SimTime::ZERO + ms(200)
        );
        // 1 ns after a tick, a 1 ms timer waits for the next tick.
        let t = SimTime::from_nanos(1);
        assert_eq!(round_expiry(t, ms(1), 0), SimTime::ZERO + ms(4));
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
