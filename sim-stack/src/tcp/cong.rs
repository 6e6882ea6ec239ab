//! Congestion control, pluggable as in Linux (`struct tcp_congestion_ops`): `reno`
//! (`tcp_reno_cong_avoid`, `tcp_reno_ssthresh`), `cubic` (`tcp_cubic.c` of Linux 6.18
//! with its default module parameters: the cubic window growth function on jiffies with the
//! kernel's `cubic_root`, fast convergence, TCP friendliness, and HyStart's ACK-train and
//! delay-increase tests, which leave slow start before the bottleneck's queue overflows),
//! `bbr` ([`super::bbr`], BBR v1), which replaces `cong_avoid` and PRR with its own
//! `cong_control` on each ACK's rate sample ([`super::rate`]), and `dctcp`
//! ([`super::dctcp`]: Reno's growth, a reduction by the marked fraction, ECN required).
//!
//! The operations as Linux names them: `init` ([`tcp_init_congestion_control`]),
//! `ssthresh` ([`tcp_ca_ssthresh`]), `cong_avoid` ([`Cong::cong_avoid`]), `cong_control`
//! (BBR's, in `tcp_ack`), `set_state(TCP_CA_Loss)` ([`tcp_ca_enter_loss`]), `undo_cwnd`
//! ([`tcp_ca_undo_cwnd`]), `cwnd_event(CA_EVENT_TX_START)` ([`tcp_ca_tx_start`]),
//! `pkts_acked` ([`Cong::pkts_acked`]), `min_tso_segs` ([`Cong::min_tso_segs`]) and
//! `sndbuf_expand` ([`Cong::sndbuf_expand`]).
//!
//! Windows are in packets, as `snd_cwnd` is. HyStart's clock is `tcp_mstamp` in µs, the
//! cubic function's `tcp_jiffies32`.

use serde::Serialize;
use sim_core::{SimRng, SimTime};

use super::TcpSock;
use super::bbr::{Bbr, BbrClock};
use super::dctcp::Dctcp;

/// Which algorithm, with its state.
#[derive(Debug, Clone)]
pub enum Cong {
    /// NewReno: halve on loss, one packet per RTT in congestion avoidance.
    Reno,
    /// CUBIC (Linux's default).
    Cubic(Cubic),
    /// BBR v1 (boxed: its state is larger than the others').
    Bbr(Box<Bbr>),
    /// DCTCP (`dctcp`, or `dctcp-reno` once it fell back for want of ECN).
    Dctcp(Dctcp),
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
        crate::config::CongestionControl::from_name(name).map(Self::of_sysctl)
    }

    /// The algorithm a node's `net.ipv4.tcp_congestion_control` names.
    pub fn of_sysctl(cc: crate::config::CongestionControl) -> Self {
        use crate::config::CongestionControl as C;
        match cc {
            C::Cubic => Self::new(true),
            C::Reno => Self::new(false),
            C::Bbr => Self::Bbr(Box::default()),
            C::Dctcp => Self::Dctcp(Dctcp::default()),
        }
    }

    /// The names of the algorithms there are (`tcp_available_congestion_control`, in
    /// registration order as a kernel with bbr and dctcp loaded lists them).
    pub const AVAILABLE: [&'static str; 4] = ["reno", "cubic", "bbr", "dctcp"];

    /// The algorithm's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Reno => "reno",
            Self::Cubic(_) => "cubic",
            Self::Bbr(_) => "bbr",
            Self::Dctcp(d) if d.fallback => "dctcp-reno",
            Self::Dctcp(_) => "dctcp",
        }
    }

    /// `tcp_ca_needs_ecn`: the algorithm has `TCP_CONG_NEEDS_ECN` (DCTCP, not after its
    /// fallback to `dctcp-reno`).
    #[inline]
    pub fn needs_ecn(&self) -> bool {
        matches!(self, Self::Dctcp(d) if !d.fallback)
    }

    /// DCTCP's state, if this is DCTCP with ECN.
    pub fn dctcp(&self) -> Option<&Dctcp> {
        match self {
            Self::Dctcp(d) if !d.fallback => Some(d),
            _ => None,
        }
    }

    /// DCTCP's state, mutable, if this is DCTCP with ECN.
    #[inline]
    pub fn dctcp_mut(&mut self) -> Option<&mut Dctcp> {
        match self {
            Self::Dctcp(d) if !d.fallback => Some(d),
            _ => None,
        }
    }

    /// BBR's state, if this is BBR.
    pub fn bbr(&self) -> Option<&Bbr> {
        match self {
            Self::Bbr(b) => Some(b),
            _ => None,
        }
    }

    /// Whether the algorithm has its own `cong_control` (BBR).
    #[inline]
    pub fn has_cong_control(&self) -> bool {
        matches!(self, Self::Bbr(_))
    }

    /// `min_tso_segs` (BBR's `bbr_min_tso_segs`), else `net.ipv4.tcp_min_tso_segs`.
    #[inline]
    pub fn min_tso_segs(&self, pacing_rate: u64, sysctl: u32) -> u32 {
        match self {
            Self::Bbr(_) => super::bbr::bbr_min_tso_segs(pacing_rate),
            _ => sysctl,
        }
    }

    /// `sndbuf_expand`: how many cwnds of skbs the send buffer holds (2, BBR's 3).
    #[inline]
    pub fn sndbuf_expand(&self) -> u32 {
        match self {
            Self::Bbr(_) => super::bbr::BBR_SNDBUF_EXPAND,
            _ => 2,
        }
    }
}

/// Runs `f` on BBR's state and the socket together (the state lives in the socket, as
/// `inet_csk_ca(sk)` does): moved out for the call and back after.
#[inline]
pub(crate) fn with_bbr<R>(
    t: &mut TcpSock,
    f: impl FnOnce(&mut Bbr, &mut TcpSock) -> R,
) -> Option<R> {
    if !matches!(t.cong, Cong::Bbr(_)) {
        return None;
    }
    let mut cong = std::mem::replace(&mut t.cong, Cong::Reno);
    let Cong::Bbr(b) = &mut cong else {
        unreachable!("checked above")
    };
    let r = f(b, t);
    t.cong = cong;
    Some(r)
}

/// `tcp_init_congestion_control` (from `tcp_init_transfer`, or a new algorithm on a
/// connection): the algorithm's `init` at `now` (jiffies `jiffies`). BBR seeds its cycle
/// stream from the node's stream `rng`.
pub(crate) fn tcp_init_congestion_control(
    t: &mut TcpSock,
    now: SimTime,
    jiffies: u32,
    rng: &mut SimRng,
) {
    let snd_nxt = t.snd_nxt;
    t.cong.init(now.as_nanos() / 1000, snd_nxt);
    if let Cong::Dctcp(d) = &mut t.cong {
        let delivered = (t.stats.delivered, t.stats.delivered_ce);
        d.init(t.ecn.ok, snd_nxt, t.rcv_nxt, delivered);
    }
    if matches!(t.cong, Cong::Dctcp(_)) {
        // dctcp_init's fallback to Reno clears ECT; tcp_init_congestion_control sets it
        // for an algorithm that needs ECN (INET_ECN_xmit / INET_ECN_dontxmit).
        inet_ecn_xmit(t);
    }
    if t.cong.has_cong_control() {
        let seed = rng.next_u64();
        with_bbr(t, |b, t| b.init(t, BbrClock { now, jiffies }, seed));
    }
}

/// `INET_ECN_xmit` / `INET_ECN_dontxmit` on the socket's TOS as its algorithm needs ECN
/// or not (`tcp_assign_congestion_control`, `tcp_reinit_congestion_control`).
pub(crate) fn inet_ecn_xmit(t: &mut TcpSock) {
    use super::ecn::{INET_ECN_ECT_0, INET_ECN_MASK};
    t.sk.tos &= !INET_ECN_MASK;
    if t.cong.needs_ecn() {
        t.sk.tos |= INET_ECN_ECT_0;
    }
}

/// `icsk_ca_ops->ssthresh`: the slow-start threshold after a congestion signal.
pub(crate) fn tcp_ca_ssthresh(t: &mut TcpSock) -> u32 {
    if let Some(s) = with_bbr(t, |b, t| b.ssthresh(t)) {
        return s;
    }
    let cwnd = t.cwnd;
    t.cong.ssthresh(cwnd)
}

/// `tcp_enter_loss`'s `tcp_ca_event(sk, CA_EVENT_LOSS)` after `ssthresh`: DCTCP halves
/// (`dctcp_react_to_loss`) whatever alpha said.
pub(crate) fn tcp_ca_event_loss(t: &mut TcpSock) {
    let cwnd = t.cwnd;
    if let Some(d) = t.cong.dctcp_mut() {
        t.ssthresh = d.react_to_loss(cwnd);
    }
}

/// `tcp_set_ca_state(sk, TCP_CA_Recovery)` from another state: DCTCP halves
/// (`dctcp_state` → `dctcp_react_to_loss`).
pub(crate) fn tcp_ca_enter_recovery(t: &mut TcpSock) {
    tcp_ca_event_loss(t);
}

/// `in_ack_event` (`tcp_in_ack_event`, after `tcp_clean_rtx_queue` counted the ACK's
/// deliveries): DCTCP's per-window alpha update.
#[inline]
pub(crate) fn tcp_in_ack_event(t: &mut TcpSock) {
    let (una, nxt) = (t.snd_una, t.snd_nxt);
    let delivered = (t.stats.delivered, t.stats.delivered_ce);
    if let Some(d) = t.cong.dctcp_mut() {
        d.update_alpha(una, nxt, delivered);
    }
}

/// `tcp_enter_loss`'s `tcp_set_ca_state(sk, TCP_CA_Loss)` (`set_state`): CUBIC forgets its
/// state (`cubictcp_state`), BBR marks a lossy round (`bbr_set_state`).
pub(crate) fn tcp_ca_enter_loss(t: &mut TcpSock, now: SimTime) {
    if with_bbr(t, |b, t| b.set_state_loss(t)).is_none() {
        let snd_nxt = t.snd_nxt;
        t.cong.enter_loss(now.as_nanos() / 1000, snd_nxt);
    }
}

/// `icsk_ca_ops->undo_cwnd`: the cwnd an undo restores (`tcp_reno_undo_cwnd`:
/// max(cwnd, prior_cwnd); BBR's keeps cwnd and restarts its full-bandwidth test).
pub(crate) fn tcp_ca_undo_cwnd(t: &mut TcpSock) -> u32 {
    if let Some(c) = with_bbr(t, |b, t| b.undo_cwnd(t)) {
        return c;
    }
    if let Some(d) = t.cong.dctcp() {
        return d.undo_cwnd(t.cwnd);
    }
    t.cwnd.max(t.recovery.prior_cwnd)
}

/// `tcp_ca_event(sk, CA_EVENT_TX_START)`: the first data sent with nothing in flight, at
/// `now` (jiffy `now_j`), after sending last at jiffy `lsndtime_j`.
pub(crate) fn tcp_ca_tx_start(t: &mut TcpSock, now: SimTime, now_j: u32, lsndtime_j: u32) {
    if with_bbr(t, |b, t| {
        b.cwnd_event_tx_start(
            t,
            BbrClock {
                now,
                jiffies: now_j,
            },
        )
    })
    .is_none()
    {
        t.cong.tx_start(now_j, lsndtime_j);
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
    /// `tcp_mstamp`: now, in µs.
    pub now_us: u64,
    /// `tcp_jiffies32`: the node's jiffies now (the cubic function's clock).
    pub jiffies: u32,
}

/// Which of HyStart's tests ended slow start on an ACK, for the `TcpExt` counters. Both
/// may fire on the same ACK: `hystart_update` runs the delay test after the train test
/// has fired, and Linux then counts both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HystartExit {
    /// The ACK-train test (`TCPHystartTrainDetect`, `TCPHystartTrainCwnd`).
    pub train: bool,
    /// The delay-increase test (`TCPHystartDelayDetect`, `TCPHystartDelayCwnd`).
    pub delay: bool,
}

impl HystartExit {
    /// Only the ACK-train test.
    pub const TRAIN: Self = Self {
        train: true,
        delay: false,
    };
    /// Only the delay test.
    pub const DELAY: Self = Self {
        train: false,
        delay: true,
    };
}

/// CUBIC's state (`struct bictcp`). Times kept as the kernel keeps them: `last_time` and
/// `epoch_start` in jiffies, `round_start` and `last_ack` in µs truncated to 32 bits
/// (`bictcp_clock_us`), all compared with wrapping arithmetic.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cubic {
    cnt: u32,
    last_max_cwnd: u32,
    last_cwnd: u32,
    last_time: u32,
    bic_origin_point: u32,
    bic_k: u32,
    delay_min: u32,
    epoch_start: u32,
    ack_cnt: u32,
    tcp_cwnd: u32,
    sample_cnt: u8,
    found: bool,
    round_start: u32,
    end_seq: u32,
    last_ack: u32,
    curr_rtt: u32,
}

const BICTCP_BETA_SCALE: u32 = 1024;
/// `beta`: the window after a loss is 717/1024 of the one before.
const BETA: u32 = 717;
/// `bic_scale`: the cubic function's C is 41/1024 (0.04).
const BIC_SCALE: u64 = 41;
/// `hystart_low_window`: HyStart looks at no window below 16 segments.
const HYSTART_LOW_WINDOW: u32 = 16;
/// `HYSTART_MIN_SAMPLES`: the delay test takes a round's minimum over at least 8 ACKs.
const HYSTART_MIN_SAMPLES: u8 = 8;
/// `HYSTART_DELAY_MIN`/`MAX`: the delay increase that ends slow start, clamped, µs.
const HYSTART_DELAY_MIN_US: u32 = 4000;
const HYSTART_DELAY_MAX_US: u32 = 16000;
/// `hystart_ack_delta_us`: ACKs closer than this are one train.
const HYSTART_ACK_DELTA_US: u32 = 2000;
const BICTCP_HZ: u32 = 10;
/// `HZ`: the cubic function counts time in jiffies.
const HZ: u32 = crate::jiffies::HZ as u32;
/// `sk_gso_max_size` of a TCP socket, for `hystart_ack_delay`.
const GSO_MAX_SIZE: u64 = super::output::TCP_GSO_MAX_SIZE as u64;

/// `cube_rtt_scale = bic_scale × 10`; `cube_factor = 2^(10+3×BICTCP_HZ) / cube_rtt_scale`.
const CUBE_RTT_SCALE: u64 = BIC_SCALE * 10;
const CUBE_FACTOR: u64 = (1u64 << (10 + 3 * BICTCP_HZ)) / CUBE_RTT_SCALE;
/// `beta_scale = 8 × (1024 + 717) / 3 / (1024 − 717)` = 15: the Reno-friendly region.
const BETA_SCALE: u32 = 8 * (BICTCP_BETA_SCALE + BETA) / 3 / (BICTCP_BETA_SCALE - BETA);

impl Cong {
    /// `init` (`cubictcp_init`), when the connection is established (`tcp_init_transfer`)
    /// or gets a new algorithm: all state forgotten, a HyStart round from `snd_nxt`.
    pub fn init(&mut self, now_us: u64, snd_nxt: u32) {
        if let Self::Cubic(c) = self {
            *c = Cubic::default();
            c.hystart_reset(now_us, snd_nxt);
        }
    }

    /// `ssthresh`: the window after a loss.
    pub fn ssthresh(&mut self, cwnd: u32) -> u32 {
        match self {
            // BBR's ssthresh goes through tcp_ca_ssthresh; a bare call halves as Reno.
            Self::Reno | Self::Bbr(_) => (cwnd >> 1).max(2),
            Self::Dctcp(d) if d.fallback => (cwnd >> 1).max(2),
            Self::Dctcp(d) => d.ssthresh(cwnd),
            Self::Cubic(c) => {
                // cubictcp_recalc_ssthresh: the end of an epoch.
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

    /// `set_state(TCP_CA_Loss)` (`cubictcp_state`): a retransmission timeout forgets
    /// everything (`bictcp_reset` zeroes the struct up to `unused`: the last maximum and
    /// the minimum delay too) and starts a HyStart round from `snd_nxt`.
    pub fn enter_loss(&mut self, now_us: u64, snd_nxt: u32) {
        self.init(now_us, snd_nxt);
    }

    /// `cwnd_event(CA_EVENT_TX_START)` (`cubictcp_cwnd_event`): the first data sent with
    /// nothing in flight, at jiffy `now` after sending last at jiffy `lsndtime`. An
    /// application-limited pause moves the epoch so the window keeps to the cubic curve.
    pub fn tx_start(&mut self, now: u32, lsndtime: u32) {
        if let Self::Cubic(c) = self {
            let delta = now.wrapping_sub(lsndtime) as i32;
            if c.epoch_start != 0 && delta > 0 {
                c.epoch_start = c.epoch_start.wrapping_add(delta as u32);
                if (c.epoch_start.wrapping_sub(now) as i32) > 0 {
                    c.epoch_start = now;
                }
            }
        }
    }

    /// `pkts_acked` (`cubictcp_acked`): an ACK's `rtt_us` (`ca_rtt_us`, the RTT of the
    /// most recently sent segment it acknowledged or SACKed) with `snd_una` after it and
    /// `snd_nxt`, and the socket's `sk_pacing_rate` (bytes/s). Keeps the minimum delay and
    /// runs HyStart in slow start (`hystart_update`); returns how HyStart ended slow start
    /// if it did (the caller then sets ssthresh to cwnd and counts it).
    pub fn pkts_acked(
        &mut self,
        ctx: &CaCtx,
        rtt_us: u32,
        (snd_una, snd_nxt): (u32, u32),
        pacing_rate: u64,
    ) -> Option<HystartExit> {
        let Self::Cubic(c) = self else { return None };
        // Discard delay samples right after fast recovery.
        if c.epoch_start != 0 && (ctx.jiffies.wrapping_sub(c.epoch_start) as i32) < HZ as i32 {
            return None;
        }
        let delay = rtt_us.max(1);
        // First call, or the path's delay went down.
        if c.delay_min == 0 || c.delay_min > delay {
            c.delay_min = delay;
        }
        if !c.found && ctx.cwnd < ctx.ssthresh {
            return c.hystart_update(ctx, delay, (snd_una, snd_nxt), pacing_rate);
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
            // BBR never gets here (its cong_control replaces cong_avoid).
            Self::Reno | Self::Bbr(_) | Self::Dctcp(_) => cwnd,
            Self::Cubic(c) => c.update(cwnd, acked, ctx.jiffies),
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
    /// `bictcp_hystart_reset`: a round starts now and ends when `snd_nxt` is acknowledged.
    fn hystart_reset(&mut self, now_us: u64, snd_nxt: u32) {
        self.round_start = now_us as u32;
        self.last_ack = now_us as u32;
        self.end_seq = snd_nxt;
        self.curr_rtt = u32::MAX;
        self.sample_cnt = 0;
    }

    /// `hystart_update`: HyStart's two tests, on each ACK in slow start.
    fn hystart_update(
        &mut self,
        ctx: &CaCtx,
        delay: u32,
        (snd_una, snd_nxt): (u32, u32),
        pacing_rate: u64,
    ) -> Option<HystartExit> {
        if seq_before(self.end_seq, snd_una) {
            self.hystart_reset(ctx.now_us, snd_nxt);
        }
        if ctx.cwnd < HYSTART_LOW_WINDOW {
            return None;
        }
        // The ACK train: ACKs no more than hystart_ack_delta_us apart for longer than half
        // the minimum delay (plus the TSO/GRO cushion) since the round began. (Without
        // pacing, sk_pacing_status is SK_PACING_NONE: the threshold is halved.)
        let now = ctx.now_us as u32;
        let mut exit = HystartExit::default();
        if (now.wrapping_sub(self.last_ack) as i32) <= HYSTART_ACK_DELTA_US as i32 {
            self.last_ack = now;
            let threshold = (self.delay_min + hystart_ack_delay(pacing_rate)) >> 1;
            if (now.wrapping_sub(self.round_start) as i32) > threshold as i32 {
                self.found = true;
                exit.train = true;
            }
        }
        // The delay increase: the round's minimum over at least HYSTART_MIN_SAMPLES ACKs,
        // checked on every ACK once there are that many.
        self.curr_rtt = self.curr_rtt.min(delay);
        if self.sample_cnt < HYSTART_MIN_SAMPLES {
            self.sample_cnt += 1;
        } else {
            let thresh = (self.delay_min >> 3).clamp(HYSTART_DELAY_MIN_US, HYSTART_DELAY_MAX_US);
            if self.curr_rtt > self.delay_min + thresh {
                self.found = true;
                exit.delay = true;
            }
        }
        (exit != HystartExit::default()).then_some(exit)
    }

    /// `bictcp_update`: how many ACKed packets make the window grow by one. The cubic
    /// function runs on jiffies (`tcp_jiffies32`), at most once per jiffy, as Linux's does.
    fn update(&mut self, cwnd: u32, acked: u32, now: u32) -> u32 {
        self.ack_cnt += acked;
        if self.last_cwnd == cwnd && (now.wrapping_sub(self.last_time) as i32) <= (HZ / 32) as i32 {
            return self.cnt.max(2);
        }
        // The cubic function updates cnt at most once per jiffy; every window reduction
        // zeroes epoch_start, which forces a recalculation.
        if !(self.epoch_start != 0 && now == self.last_time) {
            self.last_cwnd = cwnd;
            self.last_time = now;
            if self.epoch_start == 0 {
                self.epoch_start = now;
                self.ack_cnt = acked;
                self.tcp_cwnd = cwnd;
                if self.last_max_cwnd <= cwnd {
                    self.bic_k = 0;
                    self.bic_origin_point = cwnd;
                } else {
                    self.bic_k = cubic_root(CUBE_FACTOR * u64::from(self.last_max_cwnd - cwnd));
                    self.bic_origin_point = self.last_max_cwnd;
                }
            }
            // t = jiffies since the epoch + the minimum delay, in 2^-BICTCP_HZ seconds.
            let mut t = u64::from(now.wrapping_sub(self.epoch_start) as i32 as u32);
            t += u64::from(usecs_to_jiffies(self.delay_min));
            t = (t << BICTCP_HZ) / u64::from(HZ);
            let k = u64::from(self.bic_k);
            let offs = t.abs_diff(k);
            // c/rtt × (t − K)^3, truncated to u32 as the kernel's `delta` is.
            let delta = ((CUBE_RTT_SCALE * offs * offs * offs) >> (10 + 3 * BICTCP_HZ)) as u32;
            let target = if t < k {
                self.bic_origin_point.wrapping_sub(delta)
            } else {
                self.bic_origin_point.wrapping_add(delta)
            };
            self.cnt = if target > cwnd {
                cwnd / (target - cwnd)
            } else {
                // A very small increment.
                100 * cwnd
            };
            // The first growth may be too cautious while the bandwidth is unknown.
            if self.last_max_cwnd == 0 && self.cnt > 20 {
                self.cnt = 20;
            }
        }
        // TCP friendliness: grow at least as fast as Reno would.
        let delta = (cwnd * BETA_SCALE) >> 3;
        while self.ack_cnt > delta {
            self.ack_cnt -= delta;
            self.tcp_cwnd += 1;
        }
        if self.tcp_cwnd > cwnd {
            let max_cnt = cwnd / (self.tcp_cwnd - cwnd);
            if self.cnt > max_cnt {
                self.cnt = max_cnt;
            }
        }
        // At most one packet per two ACKed: 1.5× per RTT.
        self.cnt = self.cnt.max(2);
        self.cnt
    }
}

/// `hystart_ack_delay`: the cushion for TSO/GRO aggregation, the time to send four
/// maximum-size GSO packets at the pacing rate, at most 1 ms (0 without a rate).
fn hystart_ack_delay(pacing_rate: u64) -> u32 {
    if pacing_rate == 0 {
        return 0;
    }
    (GSO_MAX_SIZE * 4 * 1_000_000 / pacing_rate).min(1000) as u32
}

/// `usecs_to_jiffies`: rounded up.
fn usecs_to_jiffies(us: u32) -> u32 {
    us.div_ceil(1_000_000 / HZ)
}

/// `cubic_root`: the kernel's cube root, a table lookup then one Newton-Raphson step
/// (average error 0.195%; it sets cubic's K, so it is the kernel's, not an exact root).
fn cubic_root(a: u64) -> u32 {
    // cbrt(x) MSB values for x MSB values in [0..63]: v = cbrt(x << 18) - 1.
    const V: [u8; 64] = [
        0, 54, 54, 54, 118, 118, 118, 118, 123, 129, 134, 138, 143, 147, 151, 156, 157, 161, 164,
        168, 170, 173, 176, 179, 181, 185, 187, 190, 192, 194, 197, 199, 200, 202, 204, 206, 209,
        211, 213, 215, 217, 219, 221, 222, 224, 225, 227, 229, 231, 232, 234, 236, 237, 239, 240,
        242, 244, 245, 246, 248, 250, 251, 252, 254,
    ];
    // fls64
    let b = 64 - a.leading_zeros();
    if b < 7 {
        return (u32::from(V[a as usize]) + 35) >> 6;
    }
    let b = ((b * 84) >> 8) - 1;
    let shift = (a >> (b * 3)) as usize;
    let mut x = ((u32::from(V[shift]) + 10) << b) >> 6;
    // x = (2x + a / x²) / 3, with x(x − 1) for x², as the kernel writes it.
    x = 2 * x + (a / (u64::from(x) * u64::from(x - 1))) as u32;
    (x * 341) >> 10
}

/// `before(a, b)` in sequence space.
#[inline]
pub fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_available_list_is_what_the_sysctl_and_tcp_congestion_take() {
        use crate::config::CongestionControl;
        assert_eq!(
            Cong::AVAILABLE,
            CongestionControl::ALL.map(CongestionControl::name)
        );
        for cc in CongestionControl::ALL {
            assert_eq!(Cong::by_name(cc.name()).map(|c| c.name()), Some(cc.name()));
            assert_eq!(Cong::of_sysctl(cc).name(), cc.name());
            assert_eq!(CongestionControl::from_name(cc.name()), Some(cc));
        }
        assert!(Cong::by_name("vegas").is_none());
        assert_eq!(CongestionControl::from_name("vegas"), None);
    }

    fn ctx(cwnd: u32, ssthresh: u32, now_us: u64) -> CaCtx {
        CaCtx {
            cwnd,
            ssthresh,
            cwnd_cnt: 0,
            now_us,
            jiffies: (now_us / 4000) as u32,
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

    /// Slow start at `cwnd` (ssthresh unbounded), ACKs at `now_us`.
    fn ss(cwnd: u32, now_us: u64) -> CaCtx {
        ctx(cwnd, u32::MAX, now_us)
    }

    #[test]
    fn hystart_ack_train_ends_slow_start_after_half_the_minimum_delay() {
        let mut c = Cong::new(true);
        c.init(0, 1000);
        // A first round: the minimum delay is 10 ms.
        let pace = 0;
        assert_eq!(
            c.pkts_acked(&ss(10, 10_000), 10_000, (2000, 5000), pace),
            None
        );
        // A new round (snd_una passed 1000) starts at 10 ms; below hystart_low_window
        // nothing is tested.
        assert_eq!(
            c.pkts_acked(&ss(15, 10_500), 10_000, (2500, 5000), pace),
            None
        );
        // From cwnd 16, ACKs 1 ms apart: the train must outlast delay_min / 2 = 5 ms from
        // the round's start (10 ms), so it fires on the ACK after 15 ms.
        let mut fired = None;
        for i in 1..=10u64 {
            let now = 10_000 + i * 1000;
            if let Some(x) = c.pkts_acked(&ss(16, now), 10_000, (3000, 5000), pace) {
                fired = Some((x, now));
                break;
            }
        }
        assert_eq!(fired, Some((HystartExit::TRAIN, 16_000)));
        // Found: no more tests until a loss resets it.
        assert_eq!(
            c.pkts_acked(&ss(40, 30_000), 50_000, (3000, 5000), pace),
            None
        );
    }

    #[test]
    fn hystart_ack_train_breaks_on_a_gap_longer_than_ack_delta() {
        let mut c = Cong::new(true);
        c.init(0, 1000);
        assert_eq!(c.pkts_acked(&ss(16, 100), 10_000, (2000, 9000), 0), None);
        // ACKs 3 ms apart never form a train; with the delay flat, nothing fires.
        for i in 1..=20u64 {
            assert_eq!(
                c.pkts_acked(&ss(16, 100 + i * 3000), 10_000, (2000 + i as u32, 9000), 0),
                None
            );
        }
    }

    #[test]
    fn hystart_delay_test_checks_every_ack_after_eight_samples() {
        let mut c = Cong::new(true);
        c.init(0, 1000);
        // delay_min 20 ms (from an ACK below hystart_low_window, which takes no sample):
        // the threshold is clamp(20/8 ms, 4, 16) = 4 ms.
        assert_eq!(c.pkts_acked(&ss(10, 0), 20_000, (2000, 9000), 0), None);
        // Eight samples at 30 ms (3 ms apart: no train) make curr_rtt 30 ms > 24 ms, but
        // the decision comes on the ninth sample, the first checked.
        let mut now = 0;
        for i in 0..8u32 {
            now += 3000;
            let r = c.pkts_acked(&ss(16, now), 30_000, (2001 + i, 9000), 0);
            assert_eq!(r, None, "sample {i}");
        }
        now += 3000;
        assert_eq!(
            c.pkts_acked(&ss(17, now), 30_000, (2010, 9000), 0),
            Some(HystartExit::DELAY)
        );
    }

    #[test]
    fn hystart_delay_test_keeps_checking_as_the_round_goes_on() {
        let mut c = Cong::new(true);
        c.init(0, 1000);
        assert_eq!(c.pkts_acked(&ss(16, 0), 20_000, (2000, 90_000), 0), None);
        let mut now = 0;
        // Eight samples at the minimum, then the queue builds within the same round: the
        // round's minimum stays 20 ms, so nothing fires (the minimum of the round is what
        // counts).
        for i in 0..20u32 {
            now += 3000;
            let rtt = if i < 8 { 20_000 } else { 40_000 };
            let r = c.pkts_acked(&ss(16, now), rtt, (2001 + i, 90_000), 0);
            assert_eq!(r, None, "sample {i}");
        }
        // The next round (snd_una past 90 000) has only high samples: it fires on its
        // ninth.
        let mut fired = 0;
        for i in 0..9u32 {
            now += 3000;
            if c.pkts_acked(&ss(16, now), 40_000, (90_001 + i, 190_000), 0)
                .is_some()
            {
                fired = i + 1;
                break;
            }
        }
        assert_eq!(fired, 9);
    }

    #[test]
    fn both_tests_may_fire_on_the_same_ack() {
        // As a real 6.18 kernel does under packetdrill: delay_min 20 ms, ACKs 1.25 ms apart
        // with RTTs of 26 ms. On the ninth ACK of the round the train has lasted 11.25 ms
        // (> (20 + 1) / 2 ms) and the delay test has its ninth sample (26 > 20 + 4 ms):
        // both count.
        let mut c = Cong::new(true);
        c.init(0, 1000);
        assert_eq!(c.pkts_acked(&ss(10, 0), 20_000, (2000, 9000), 1), None);
        let mut now = 0;
        for i in 0..8u32 {
            now += 1250;
            let r = c.pkts_acked(&ss(16 + i, now), 26_000, (2001 + i, 9000), 1);
            assert_eq!(r, None, "ACK {i}");
        }
        now += 1250;
        let both = HystartExit {
            train: true,
            delay: true,
        };
        assert_eq!(
            c.pkts_acked(&ss(24, now), 26_000, (2010, 9000), 1),
            Some(both)
        );
    }

    #[test]
    fn hystart_ack_delay_is_four_gso_packets_at_the_pacing_rate_capped_at_1ms() {
        assert_eq!(hystart_ack_delay(0), 0);
        // 1 GB/s: 4 × 65 215 B takes 260 µs.
        assert_eq!(hystart_ack_delay(1_000_000_000), 260);
        assert_eq!(hystart_ack_delay(1_000_000), 1000);
    }

    #[test]
    fn entering_loss_forgets_the_last_maximum() {
        let mut c = Cong::new(true);
        c.init(0, 1);
        assert_eq!(c.ssthresh(100), 70);
        c.enter_loss(1_000, 5000);
        let Cong::Cubic(cu) = &c else { unreachable!() };
        assert_eq!((cu.last_max_cwnd, cu.delay_min, cu.end_seq), (0, 0, 5000));
    }

    #[test]
    fn tx_start_moves_the_epoch_by_the_idle_time() {
        let mut c = Cong::new(true);
        c.init(0, 1);
        c.ssthresh(100);
        // An epoch starts at jiffy 1000 in congestion avoidance.
        c.cong_avoid(&ctx(70, 70, 4_000_000), 1);
        // Idle from jiffy 1100 to 1150: the epoch moves 50 jiffies.
        c.tx_start(1150, 1100);
        let Cong::Cubic(cu) = &c else { unreachable!() };
        assert_eq!(cu.epoch_start, 1050);
    }

    #[test]
    fn cube_root() {
        assert_eq!(cubic_root(27), 3);
        assert_eq!(cubic_root(28), 3);
        assert_eq!(cubic_root(1 << 30), 1024);
    }
}
