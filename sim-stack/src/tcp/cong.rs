//! Congestion control, pluggable as in Linux (`struct tcp_congestion_ops`): `reno`
//! (`tcp_reno_cong_avoid`, `tcp_reno_ssthresh`) and `cubic` (`tcp_cubic.c`: the cubic
//! window growth function, fast convergence, TCP friendliness, and HyStart's delay
//! detection to leave slow start before the queue overflows).
//!
//! Windows are in packets, as `snd_cwnd` is. Times are in microseconds (`tcp_mstamp`).

use serde::Serialize;

/// Which algorithm, with its state.
#[derive(Debug, Clone)]
pub enum Cong {
    /// NewReno: halve on loss, one packet per RTT in congestion avoidance.
    Reno,
    /// CUBIC (Linux's default).
    Cubic(Cubic),
}

/// The names users write (`net.ipv4.tcp_congestion_control`).
impl Cong {
    /// A fresh instance of the named algorithm.
    pub fn new(cubic: bool) -> Self {
        if cubic {
            Self::Cubic(Cubic::default())
        } else {
            Self::Reno
        }
    }

    /// A fresh instance of the algorithm named `name` (`TCP_CONGESTION`), if it exists.
    pub fn by_name(name: &str) -> Option<Self> {
        match name {
            "cubic" => Some(Self::new(true)),
            "reno" => Some(Self::new(false)),
            _ => None,
        }
    }

    /// The names of the algorithms there are (`tcp_available_congestion_control`).
    pub const AVAILABLE: [&'static str; 2] = ["reno", "cubic"];

    /// The algorithm's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Reno => "reno",
            Self::Cubic(_) => "cubic",
        }
    }
}

/// What an algorithm sees of the connection on each call.
#[derive(Debug, Clone, Copy)]
pub struct CaCtx {
    /// `snd_cwnd`.
    pub cwnd: u32,
    /// `snd_ssthresh`.
    pub ssthresh: u32,
    /// `snd_cwnd_cnt`.
    pub cwnd_cnt: u32,
    /// Now, in µs.
    pub now_us: u64,
    /// Minimum RTT seen, in µs (0 = none yet).
    pub min_rtt_us: u32,
    /// The smoothed RTT in µs.
    pub srtt_us: u32,
}

/// CUBIC's state (`struct bictcp`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cubic {
    cnt: u32,
    last_max_cwnd: u32,
    last_cwnd: u32,
    last_time: u64,
    bic_origin_point: u32,
    bic_k: u32,
    delay_min: u32,
    epoch_start: u64,
    ack_cnt: u32,
    tcp_cwnd: u32,
    found: bool,
    round_start: u64,
    end_seq: u32,
    last_ack: u64,
    curr_rtt: u32,
    sample_cnt: u8,
}

const BICTCP_BETA_SCALE: u32 = 1024;
const BETA: u32 = 717; // 0.7 × 1024
const BIC_SCALE: u64 = 41;
const HYSTART_LOW_WINDOW: u32 = 16;
const HYSTART_MIN_SAMPLES: u8 = 8;
const HYSTART_DELAY_MIN_US: u32 = 4000;
const HYSTART_DELAY_MAX_US: u32 = 16000;
const BICTCP_HZ: u32 = 10;

/// `cube_rtt_scale = bic_scale × 10`; `cube_factor = 2^(10+3×BICTCP_HZ) / cube_rtt_scale`.
const CUBE_RTT_SCALE: u64 = BIC_SCALE * 10;
const CUBE_FACTOR: u64 = (1u64 << (10 + 3 * BICTCP_HZ)) / CUBE_RTT_SCALE;

impl Cong {
    /// `ssthresh`: the window after a loss.
    pub fn ssthresh(&mut self, cwnd: u32) -> u32 {
        match self {
            Self::Reno => (cwnd >> 1).max(2),
            Self::Cubic(c) => {
                c.epoch_start = 0;
                // Fast convergence: release more bandwidth if the flow is shrinking.
                if cwnd < c.last_max_cwnd {
                    c.last_max_cwnd = (cwnd * (BICTCP_BETA_SCALE + BETA)) / (2 * BICTCP_BETA_SCALE);
                } else {
                    c.last_max_cwnd = cwnd;
                }
                ((cwnd * BETA) / BICTCP_BETA_SCALE).max(2)
            }
        }
    }

    /// A retransmission timeout or a new connection: reset the algorithm (`cwnd_event`
    /// `CA_EVENT_LOSS`, `init`).
    pub fn reset(&mut self) {
        if let Self::Cubic(c) = self {
            *c = Cubic {
                last_max_cwnd: c.last_max_cwnd,
                ..Cubic::default()
            };
        }
    }

    /// Start of a new round of HyStart (`bictcp_hystart_reset`).
    pub fn new_round(&mut self, now_us: u64, snd_nxt: u32) {
        if let Self::Cubic(c) = self {
            c.round_start = now_us;
            c.last_ack = now_us;
            c.end_seq = snd_nxt;
            c.curr_rtt = u32::MAX;
            c.sample_cnt = 0;
        }
    }

    /// An RTT sample (`pkts_acked`): HyStart's delay test in slow start. Returns a new
    /// ssthresh when HyStart decides slow start should end.
    pub fn pkts_acked(
        &mut self,
        ctx: &CaCtx,
        rtt_us: u32,
        snd_una: u32,
        snd_nxt: u32,
    ) -> Option<u32> {
        let Self::Cubic(c) = self else { return None };
        if c.delay_min == 0 || c.delay_min > rtt_us {
            c.delay_min = rtt_us;
        }
        if c.found || ctx.cwnd >= ctx.ssthresh || ctx.cwnd < HYSTART_LOW_WINDOW {
            return None;
        }
        if !seq_before(c.end_seq, snd_una) && c.round_start != 0 {
            // Same round.
        } else {
            c.round_start = ctx.now_us;
            c.end_seq = snd_nxt;
            c.curr_rtt = u32::MAX;
            c.sample_cnt = 0;
        }
        if c.sample_cnt < HYSTART_MIN_SAMPLES {
            c.curr_rtt = c.curr_rtt.min(rtt_us);
            c.sample_cnt += 1;
            if c.sample_cnt == HYSTART_MIN_SAMPLES {
                let thresh = (c.delay_min >> 3).clamp(HYSTART_DELAY_MIN_US, HYSTART_DELAY_MAX_US);
                if c.curr_rtt > c.delay_min + thresh {
                    c.found = true;
                    return Some(ctx.cwnd);
                }
            }
        }
        None
    }

    /// `cong_avoid`: grow the window for `acked` newly acknowledged packets. Returns the new
    /// (cwnd, cwnd_cnt).
    pub fn cong_avoid(&mut self, ctx: &CaCtx, mut acked: u32) -> (u32, u32) {
        let (mut cwnd, mut cnt_acc) = (ctx.cwnd, ctx.cwnd_cnt);
        if cwnd < ctx.ssthresh {
            // tcp_slow_start
            let new = (cwnd + acked).min(ctx.ssthresh);
            acked -= new - cwnd;
            cwnd = new;
            if acked == 0 {
                return (cwnd, cnt_acc);
            }
        }
        let w = match self {
            Self::Reno => cwnd,
            Self::Cubic(c) => c.update(cwnd, acked, ctx),
        };
        // tcp_cong_avoid_ai
        if cnt_acc >= w {
            cnt_acc = 0;
            cwnd += 1;
        }
        cnt_acc += acked;
        if cnt_acc >= w {
            let delta = cnt_acc / w;
            cnt_acc -= delta * w;
            cwnd += delta;
        }
        (cwnd, cnt_acc)
    }
}

impl Cubic {
    /// `bictcp_update`: how many ACKed packets make the window grow by one.
    fn update(&mut self, cwnd: u32, acked: u32, ctx: &CaCtx) -> u32 {
        self.ack_cnt += acked;
        let now = ctx.now_us;
        if self.last_cwnd == cwnd && now.saturating_sub(self.last_time) <= 1_000_000 / 32 {
            return self.cnt.max(2);
        }
        self.last_cwnd = cwnd;
        self.last_time = now;
        if self.epoch_start == 0 {
            self.epoch_start = now.max(1);
            self.ack_cnt = acked;
            self.tcp_cwnd = cwnd;
            if self.last_max_cwnd <= cwnd {
                self.bic_k = 0;
                self.bic_origin_point = cwnd;
            } else {
                self.bic_k = cubic_root(CUBE_FACTOR * u64::from(self.last_max_cwnd - cwnd)) as u32;
                self.bic_origin_point = self.last_max_cwnd;
            }
        }
        // t = time since the epoch + min RTT, in 2^-BICTCP_HZ seconds.
        let t_us = now - self.epoch_start + u64::from(self.delay_min);
        let t = (t_us << BICTCP_HZ) / 1_000_000;
        let k = u64::from(self.bic_k);
        let offs = t.abs_diff(k);
        let delta = (CUBE_RTT_SCALE * offs * offs * offs) >> (10 + 3 * BICTCP_HZ);
        let origin = u64::from(self.bic_origin_point);
        let target = if t < k {
            origin.saturating_sub(delta)
        } else {
            origin + delta
        };
        let cwnd64 = u64::from(cwnd);
        let mut cnt = if target > cwnd64 {
            (cwnd64 / (target - cwnd64)) as u32
        } else {
            100 * cwnd
        };
        if self.last_max_cwnd == 0 && cnt > 20 {
            cnt = 20;
        }
        // TCP friendliness: grow at least as fast as Reno would.
        // beta_scale = 8 × (1024 + 717) / 3 / (1024 − 717) = 15.
        const BETA_SCALE: u32 = 8 * (BICTCP_BETA_SCALE + BETA) / 3 / (BICTCP_BETA_SCALE - BETA);
        let delta = ((cwnd * BETA_SCALE) >> 3).max(1);
        while self.ack_cnt > delta {
            self.ack_cnt -= delta;
            self.tcp_cwnd += 1;
        }
        if self.tcp_cwnd > cwnd {
            let d = self.tcp_cwnd - cwnd;
            let max_cnt = cwnd / d;
            if cnt > max_cnt {
                cnt = max_cnt;
            }
        }
        self.cnt = cnt.max(2);
        self.cnt
    }
}

/// Integer cube root (`cubic_root`), exact enough for the window arithmetic.
fn cubic_root(a: u64) -> u64 {
    if a == 0 {
        return 0;
    }
    let mut x = (a as f64).cbrt() as u64;
    while x * x * x > a {
        x -= 1;
    }
    while (x + 1) * (x + 1) * (x + 1) <= a {
        x += 1;
    }
    x
}

/// `before(a, b)` in sequence space.
#[inline]
pub fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(cwnd: u32, ssthresh: u32, now_us: u64) -> CaCtx {
        CaCtx {
            cwnd,
            ssthresh,
            cwnd_cnt: 0,
            now_us,
            min_rtt_us: 10_000,
            srtt_us: 10_000,
        }
    }

    #[test]
    fn reno_halves_and_grows_one_per_window() {
        let mut r = Cong::new(false);
        assert_eq!(r.ssthresh(20), 10);
        assert_eq!(r.ssthresh(3), 2);
        // Slow start: +1 per acked packet up to ssthresh.
        assert_eq!(r.cong_avoid(&ctx(10, 100, 0), 5), (15, 0));
        // Congestion avoidance: 10 acks at cwnd 10 → +1.
        let (mut cwnd, mut cnt) = (10, 0);
        for _ in 0..10 {
            let mut c = ctx(cwnd, 5, 0);
            c.cwnd_cnt = cnt;
            (cwnd, cnt) = r.cong_avoid(&c, 1);
        }
        assert_eq!(cwnd, 11);
    }

    #[test]
    fn cubic_backs_off_to_0_7_and_regrows_toward_the_old_max() {
        let mut c = Cong::new(true);
        assert_eq!(c.ssthresh(100), 70);
        // After the loss, the window grows back toward 100 over time, concave then convex.
        let (mut cwnd, mut cnt) = (70, 0);
        let mut now = 1_000_000;
        for _ in 0..2000 {
            let mut x = ctx(cwnd, 70, now);
            x.cwnd_cnt = cnt;
            (cwnd, cnt) = c.cong_avoid(&x, 1);
            now += 1000;
        }
        assert!(cwnd > 90, "cubic regrew to {cwnd}");
    }

    #[test]
    fn cube_root() {
        assert_eq!(cubic_root(27), 3);
        assert_eq!(cubic_root(28), 3);
        assert_eq!(cubic_root(1 << 30), 1024);
    }
}
