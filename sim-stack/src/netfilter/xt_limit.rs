//! `-m limit --limit RATE --limit-burst N` (`xt_limit`): a token bucket in the kernel's own
//! fixed-point units, refilled per jiffy, so a rule lets exactly the packets through that
//! Linux's would at the same instants.
//!
//! iptables turns `3/hour` into `avg = XT_LIMIT_SCALE × 3600 / 3` (seconds per packet in units
//! of 1/10000 s); the kernel converts that to credits (`user2credits`) at `HZ` with
//! `CREDITS_PER_JIFFY` credits gained per jiffy, starts full at `avg × burst`, and charges
//! `cost = user2credits(avg)` per matched packet.

use serde::{Deserialize, Serialize};

use crate::jiffies::HZ;

/// `XT_LIMIT_SCALE`: rates are kept in units of 1/10000 s per packet.
pub const XT_LIMIT_SCALE: u32 = 10_000;

/// `MAX_CPJ`: the most credits per jiffy with a day's worth still fitting 32 bits.
const MAX_CPJ: u64 = 0xFFFF_FFFF / (HZ * 60 * 60 * 24);

/// `CREDITS_PER_JIFFY`: `POW2_BELOW32(MAX_CPJ)`.
const CREDITS_PER_JIFFY: u64 = {
    let mut p = 1u64;
    while p * 2 <= MAX_CPJ {
        p *= 2;
    }
    p
};

/// `user2credits`: a time in 1/10000 s to credits, avoiding overflow as the kernel does.
fn user2credits(user: u64) -> u64 {
    if user > 0xFFFF_FFFF / (HZ * CREDITS_PER_JIFFY) {
        (user / u64::from(XT_LIMIT_SCALE)) * HZ * CREDITS_PER_JIFFY
    } else {
        (user * HZ * CREDITS_PER_JIFFY) / u64::from(XT_LIMIT_SCALE)
    }
}

/// The match and its bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limit {
    /// `avg`: 1/10000 s per packet (`--limit`, default `3/hour`).
    pub avg: u32,
    /// `--limit-burst` (default 5).
    pub burst: u32,
    /// Credits now (`priv->credit`); `None` until the first packet (the rule's load time is
    /// the run's start: full).
    #[serde(skip)]
    credit: Option<u64>,
    /// The jiffies of the last refill (`priv->prev`).
    #[serde(skip)]
    prev: u64,
}

impl Limit {
    /// `--limit` as `avg` and `--limit-burst`.
    pub fn new(avg: u32, burst: u32) -> Self {
        Self {
            avg,
            burst,
            credit: None,
            prev: 0,
        }
    }

    /// The rate as iptables prints it (`print_rate` of libxt_limit): walking from `day` down,
    /// the last unit before one the period exceeds or divides badly.
    pub fn rate_text(&self) -> String {
        const RATES: [(&str, u32); 4] = [
            ("day", XT_LIMIT_SCALE * 24 * 60 * 60),
            ("hour", XT_LIMIT_SCALE * 60 * 60),
            ("min", XT_LIMIT_SCALE * 60),
            ("sec", XT_LIMIT_SCALE),
        ];
        let period = self.avg;
        if period == 0 {
            return "inf".into();
        }
        let mut i = 1;
        while i < RATES.len() {
            let m = RATES[i].1;
            if period > m || m / period < m % period {
                break;
            }
            i += 1;
        }
        let (name, mult) = RATES[i - 1];
        format!("{}/{name}", mult / period)
    }

    /// `limit_mt`: whether a packet at `jiffies` may pass; charges the bucket if so.
    pub fn take(&mut self, jiffies: u64) -> bool {
        let cap = user2credits(u64::from(self.avg) * u64::from(self.burst));
        let cost = user2credits(u64::from(self.avg));
        let credit = match self.credit {
            Some(c) => {
                let gained = jiffies.saturating_sub(self.prev) * CREDITS_PER_JIFFY;
                (c + gained).min(cap)
            }
            None => cap,
        };
        self.prev = jiffies;
        if credit >= cost {
            self.credit = Some(credit - cost);
            true
        } else {
            self.credit = Some(credit);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credits_per_jiffy_is_the_kernels_at_hz_250() {
        // 0xFFFFFFFF / (250 × 86400) = 198 → 128.
        assert_eq!(CREDITS_PER_JIFFY, 128);
    }

    #[test]
    fn a_burst_passes_then_one_packet_per_period() {
        // 1/sec burst 3: three packets at once, then one per 250 jiffies.
        let mut l = Limit::new(XT_LIMIT_SCALE, 3);
        let at = |l: &mut Limit, j| l.take(j);
        assert!(at(&mut l, 1000));
        assert!(at(&mut l, 1000));
        assert!(at(&mut l, 1000));
        assert!(!at(&mut l, 1000));
        assert!(!at(&mut l, 1249));
        assert!(at(&mut l, 1250));
        assert!(!at(&mut l, 1251));
        // A long pause refills to the burst, not beyond.
        for _ in 0..3 {
            assert!(at(&mut l, 100_000));
        }
        assert!(!at(&mut l, 100_000));
    }

    #[test]
    fn rates_print_as_iptables_prints_them() {
        let r = |avg| Limit::new(avg, 5).rate_text();
        assert_eq!(r(XT_LIMIT_SCALE * 3600 / 3), "3/hour");
        assert_eq!(r(XT_LIMIT_SCALE / 10), "10/sec");
        assert_eq!(r(XT_LIMIT_SCALE * 60 / 5), "5/min");
        assert_eq!(r(XT_LIMIT_SCALE * 86400 / 2), "2/day");
    }
}
