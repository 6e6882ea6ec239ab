//! Seeded random number streams, one per `(run seed, purpose, entity)`.
//!
//! Every random draw in a run comes from a [`SimRng`] obtained here. The key of the ChaCha12
//! generator is derived from the run seed and a *purpose* (a short stable name such as
//! `"host"`, `"link-loss"`, `"tcp-isn"`); the entity index (a host, link or socket number)
//! selects one of ChaCha's 2^64 independent streams under that key. So:
//!
//! * the same seed gives the same numbers on every machine and every build (ChaCha is a
//!   portable, specified cipher; the derivation below is plain integer arithmetic);
//! * the numbers entity `k` draws depend only on `(seed, purpose, k)`: adding entity `N+1`,
//!   or drawing more from entity `j`, never changes a single number that entity `k` draws.
//!
//! Draw helpers ([`SimRng::below`], [`SimRng::range`], [`SimRng::chance`]) use integer
//! arithmetic only (Lemire's multiply-shift with rejection), so their results never depend on
//! floating-point or on a third-party distribution's version.
//!
//! ```
//! use sim_core::RngStreams;
//! let streams = RngStreams::new(42);
//! let mut a = streams.stream("host", 0);
//! let mut b = streams.stream("host", 0);
//! assert_eq!(a.next_u64(), b.next_u64());
//! let port = a.range(32768, 60999);
//! assert!((32768..=60999).contains(&port));
//! ```

use rand_chacha::ChaCha12Rng;
use rand_chacha::rand_core::{Rng, SeedableRng};

/// Derives independent random streams from one run seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RngStreams {
    seed: u64,
}

impl RngStreams {
    /// Streams for a run with this seed.
    pub const fn new(seed: u64) -> Self {
        Self { seed }
    }

    /// The run seed.
    pub const fn seed(&self) -> u64 {
        self.seed
    }

    /// The stream for `(purpose, entity)` with the entity named rather than numbered: the
    /// name's FNV-1a hash is the entity, so an entity keeps its numbers wherever it is
    /// declared and whatever else is added around it.
    pub fn stream_named(&self, purpose: &str, name: &str) -> SimRng {
        self.stream(purpose, fnv1a64(name.as_bytes()))
    }

    /// The stream for `(purpose, entity)`. Calling it twice gives two generators that draw the
    /// same numbers; keep the one you get rather than asking again.
    pub fn stream(&self, purpose: &str, entity: u64) -> SimRng {
        let mut key = [0u8; 32];
        let p = fnv1a64(purpose.as_bytes());
        // Spread seed and purpose over the key with splitmix64 so that nearby seeds give
        // unrelated keys (ChaCha would cope either way; this keeps the key dense).
        let words = [
            splitmix64(self.seed),
            splitmix64(self.seed ^ 0x9E37_79B9_7F4A_7C15),
            splitmix64(p),
            splitmix64(p ^ self.seed.rotate_left(32)),
        ];
        for (chunk, w) in key.chunks_exact_mut(8).zip(words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        let mut rng = ChaCha12Rng::from_seed(key);
        rng.set_stream(entity);
        SimRng(rng)
    }
}

/// One deterministic random stream (ChaCha12).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRng(ChaCha12Rng);

/// Where a [`SimRng`] stands in its stream, in 56 bytes (the generator itself holds a 256-byte
/// block buffer): enough to resume it there later ([`RngPosition::resume`]), or to read the
/// word at any offset from there ([`RngPosition::word_at`]) without drawing the ones before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RngPosition {
    key: [u8; 32],
    stream: u64,
    word: u128,
}

impl RngPosition {
    /// A generator that draws what the snapshotted one would have drawn next.
    pub fn resume(&self) -> SimRng {
        let mut rng = ChaCha12Rng::from_seed(self.key);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word);
        SimRng(rng)
    }

    /// The `k`-th 32-bit word the snapshotted generator would have drawn next (`k = 0` is what
    /// its next `next_u32` gives), computed directly.
    pub fn word_at(&self, k: u64) -> u32 {
        let mut rng = ChaCha12Rng::from_seed(self.key);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word + u128::from(k));
        rng.next_u32()
    }
}

impl SimRng {
    /// A snapshot of where this generator stands (see [`RngPosition`]).
    pub fn position(&self) -> RngPosition {
        RngPosition {
            key: self.0.get_seed(),
            stream: self.0.get_stream(),
            word: self.0.get_word_pos(),
        }
    }

    /// Moves on as if `n` calls of [`next_u32`](Self::next_u32) had been made, without
    /// computing them.
    pub fn skip_u32(&mut self, n: u64) {
        let w = self.0.get_word_pos() + u128::from(n);
        self.0.set_word_pos(w);
    }

    /// 32 uniformly random bits.
    pub fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    /// 64 uniformly random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Fills `buf` with random bytes.
    pub fn fill_bytes(&mut self, buf: &mut [u8]) {
        self.0.fill_bytes(buf);
    }

    /// A uniform integer in `0..n`. Panics if `n == 0`.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SimRng::below(0)");
        // Lemire, "Fast Random Integer Generation in an Interval" (2019): unbiased.
        let mut m = u128::from(self.next_u64()) * u128::from(n);
        let mut low = m as u64;
        if low < n {
            let threshold = n.wrapping_neg() % n;
            while low < threshold {
                m = u128::from(self.next_u64()) * u128::from(n);
                low = m as u64;
            }
        }
        (m >> 64) as u64
    }

    /// A uniform integer in `lo..=hi` (inclusive, like `ip_local_port_range`). Panics if `lo > hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        assert!(lo <= hi, "SimRng::range({lo}, {hi})");
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// True with probability `ppm` parts per million (integer, so exact and portable).
    pub fn chance_ppm(&mut self, ppm: u32) -> bool {
        self.below(1_000_000) < u64::from(ppm)
    }

    /// True with probability `p` (clamped to 0..=1), resolved to 2^-53 steps.
    ///
    /// The comparison is done on integers: `p` is turned into a threshold once, so the
    /// outcome depends only on the stream and on `p`'s bits.
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 || p.is_nan() {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        let threshold = (p * (1u64 << 53) as f64) as u64;
        (self.next_u64() >> 11) < threshold
    }
}

/// FNV-1a, 64 bit: a stable hash of the purpose name (std's hashers are not stable).
const fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

/// splitmix64's finalizer: a bijective mix of 64 bits.
const fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PINNED: [u64; 3] = [
        15_551_004_327_343_896_649,
        15_153_927_813_914_620_486,
        6_166_256_587_728_815_023,
    ];

    fn draws(streams: &RngStreams, purpose: &str, entity: u64, n: usize) -> Vec<u64> {
        let mut r = streams.stream(purpose, entity);
        (0..n).map(|_| r.next_u64()).collect()
    }

    #[test]
    fn same_seed_same_numbers_other_seed_other_numbers() {
        let a = draws(&RngStreams::new(1), "host", 3, 100);
        let b = draws(&RngStreams::new(1), "host", 3, 100);
        let c = draws(&RngStreams::new(2), "host", 3, 100);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn adding_an_entity_changes_nothing_others_draw() {
        // A "world" of N entities that each draw in turn, interleaved; then N+1 entities.
        let streams = RngStreams::new(7);
        let run = |n: u64| -> Vec<Vec<u64>> {
            let mut rngs: Vec<SimRng> = (0..n).map(|e| streams.stream("host", e)).collect();
            let mut out = vec![Vec::new(); n as usize];
            for _round in 0..50 {
                for (e, r) in rngs.iter_mut().enumerate() {
                    out[e].push(r.next_u64());
                }
            }
            out
        };
        let small = run(10);
        let big = run(11);
        assert_eq!(&big[..10], &small[..]);
        assert_ne!(big[10], big[9]);
    }

    #[test]
    fn purposes_and_entities_are_independent() {
        let s = RngStreams::new(5);
        assert_ne!(draws(&s, "host", 0, 8), draws(&s, "link", 0, 8));
        assert_ne!(draws(&s, "host", 0, 8), draws(&s, "host", 1, 8));
    }

    #[test]
    fn numbers_are_pinned_across_builds() {
        // The derivation is part of the output format: if these change, every golden trace
        // and pcap changes. Values recorded when the derivation was written.
        let mut r = RngStreams::new(1).stream("host", 0);
        let got: Vec<u64> = (0..3).map(|_| r.next_u64()).collect();
        assert_eq!(got, PINNED);
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn below_and_range_stay_in_bounds_and_cover() {
        let mut r = RngStreams::new(9).stream("t", 0);
        let mut seen = [false; 7];
        for _ in 0..1000 {
            let v = r.below(7);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        for _ in 0..1000 {
            let v = r.range(32768, 60999);
            assert!((32768..=60999).contains(&v));
        }
        assert!(r.range(5, 5) == 5);
        let _ = r.range(0, u64::MAX);
    }

    #[test]
    fn chance_matches_probability_roughly() {
        let mut r = RngStreams::new(3).stream("loss", 0);
        let hits = (0..100_000).filter(|_| r.chance(0.1)).count();
        assert!((9_000..11_000).contains(&hits), "{hits}");
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
        let hits = (0..100_000).filter(|_| r.chance_ppm(250_000)).count();
        assert!((24_000..26_000).contains(&hits), "{hits}");
    }
}

#[cfg(test)]
mod position_tests {
    use super::*;

    #[test]
    fn skipping_and_seeking_match_drawing() {
        let streams = RngStreams::new(7);
        for prefix in [0usize, 1, 3, 63, 64, 65, 200] {
            let mut a = streams.stream_named("node", "H1");
            // Mixed draws before the snapshot, as setup makes them.
            for i in 0..prefix {
                if i % 3 == 0 {
                    a.next_u64();
                } else {
                    a.next_u32();
                }
            }
            let mut b = a.clone();
            let pos = a.position();
            let drawn: Vec<u32> = (0..300).map(|_| a.next_u32()).collect();
            for (k, &w) in drawn.iter().enumerate() {
                assert_eq!(pos.word_at(k as u64), w, "prefix {prefix}, word {k}");
            }
            let mut r = pos.resume();
            assert_eq!(r.next_u32(), drawn[0]);
            b.skip_u32(300);
            assert_eq!(b.next_u64(), a.next_u64(), "prefix {prefix}");
        }
    }
}
