//! BBR v1 (`net/ipv4/tcp_bbr.c` of Linux 6.12, the same in 6.18): congestion control from
//! a model of the path, its bottleneck bandwidth (the windowed maximum of the delivery
//! rate, [`super::rate`], over 10 round trips) and its round-trip propagation time (the
//! minimum RTT over 10 s). BBR sets the pacing rate to a gain times the bandwidth and cwnd
//! to a gain times the bandwidth-delay product, through four modes:
//!
//! * STARTUP: gains of 2/ln 2 (2.885) until the bandwidth stops growing by 25 % for three
//!   rounds (`bbr_check_full_bw_reached`);
//! * DRAIN: pacing at 1/2.885 until what is in flight is down to one BDP;
//! * PROBE_BW: pacing gain cycling through 5/4, 3/4, 1 × 6, one phase per minimum RTT, from a
//!   random phase (`bbr_reset_probe_bw_mode`), cwnd gain 2;
//! * PROBE_RTT: when the minimum RTT is 10 s old, cwnd 4 for 200 ms and a round.
//!
//! Also as in the kernel: the long-term bandwidth of a policer (`lt_bw`), the ACK
//! aggregation allowance (`extra_acked`), packet conservation in the first round of
//! recovery, and the same integer arithmetic (`BW_SCALE` 24, `BBR_SCALE` 8). BBR asks for
//! pacing (`sk_pacing_status = SK_PACING_NEEDED`): without fq, TCP paces itself
//! ([`super::output`]'s `tcp_pacing_check`).
//!
//! `get_random_u32_below(bbr_cycle_rand)` draws from the socket's own stream, seeded from
//! its node's at `bbr_init`.

use serde::Serialize;
use sim_core::{RngStreams, SimRng, SimTime};

use super::minmax::Minmax;
use super::rate::{RateSample, stamp_us};
use super::{CaState, PacingStatus, TCP_INIT_CWND, TcpSock};

/// `BW_SCALE`: bandwidth is in segments per µs, scaled by 2^24.
pub const BW_SCALE: u32 = 24;
/// `BW_UNIT`.
pub const BW_UNIT: u64 = 1 << BW_SCALE;
/// `BBR_SCALE`: gains are in 1/256.
pub const BBR_SCALE: u32 = 8;
/// `BBR_UNIT`: a gain of 1.
pub const BBR_UNIT: u32 = 1 << BBR_SCALE;

/// `CYCLE_LEN`: phases of the ProbeBW gain cycle.
const CYCLE_LEN: u32 = 8;
/// `bbr_bw_rtts`: the bandwidth filter's window, in rounds.
const BBR_BW_RTTS: u32 = CYCLE_LEN + 2;
/// `bbr_min_rtt_win_sec`.
const BBR_MIN_RTT_WIN_SEC: u32 = 10;
/// `bbr_probe_rtt_mode_ms`.
const BBR_PROBE_RTT_MODE_MS: u32 = 200;
/// `bbr_min_tso_rate`, bits/s: below it, one-segment TSO bursts.
const BBR_MIN_TSO_RATE: u64 = 1_200_000;
/// `bbr_pacing_margin_percent`: pace 1 % below the estimate.
const BBR_PACING_MARGIN_PERCENT: u64 = 1;
/// `bbr_high_gain`: 2/ln 2, 739/256.
pub const BBR_HIGH_GAIN: u32 = BBR_UNIT * 2885 / 1000 + 1;
/// `bbr_drain_gain`: its inverse, 88/256.
pub const BBR_DRAIN_GAIN: u32 = BBR_UNIT * 1000 / 2885;
/// `bbr_cwnd_gain`.
const BBR_CWND_GAIN: u32 = BBR_UNIT * 2;
/// `bbr_pacing_gain`: the ProbeBW cycle.
pub const BBR_PACING_GAIN: [u32; CYCLE_LEN as usize] = [
    BBR_UNIT * 5 / 4,
    BBR_UNIT * 3 / 4,
    BBR_UNIT,
    BBR_UNIT,
    BBR_UNIT,
    BBR_UNIT,
    BBR_UNIT,
    BBR_UNIT,
];
/// `bbr_cycle_rand`: the random start phase is one of the last 7.
const BBR_CYCLE_RAND: u64 = 7;
/// `bbr_cwnd_min_target`: cwnd in ProbeRTT, and at least this otherwise.
pub const BBR_CWND_MIN_TARGET: u32 = 4;
/// `bbr_full_bw_thresh`: growth of 25 % per round means the pipe is not yet full.
const BBR_FULL_BW_THRESH: u32 = BBR_UNIT * 5 / 4;
/// `bbr_full_bw_cnt`: three rounds without it, and it is.
const BBR_FULL_BW_CNT: u32 = 3;
/// `bbr_lt_intvl_min_rtts`, `bbr_lt_loss_thresh`, `bbr_lt_bw_ratio`, `bbr_lt_bw_diff`,
/// `bbr_lt_bw_max_rtts`: the policer detector.
const BBR_LT_INTVL_MIN_RTTS: u32 = 4;
const BBR_LT_LOSS_THRESH: u64 = 50;
const BBR_LT_BW_RATIO: u32 = BBR_UNIT / 8;
const BBR_LT_BW_DIFF: u64 = 4000 / 8;
const BBR_LT_BW_MAX_RTTS: u32 = 48;
/// `bbr_extra_acked_gain`, `bbr_extra_acked_win_rtts`, `bbr_ack_epoch_acked_reset_thresh`,
/// `bbr_extra_acked_max_us`: the ACK aggregation allowance.
const BBR_EXTRA_ACKED_GAIN: u32 = BBR_UNIT;
const BBR_EXTRA_ACKED_WIN_RTTS: u32 = 5;
const BBR_ACK_EPOCH_ACKED_RESET_THRESH: u32 = 1 << 20;
const BBR_EXTRA_ACKED_MAX_US: u64 = 100 * 1000;
/// `HZ`.
const HZ: u32 = crate::jiffies::HZ as u32;
/// `sk_pacing_shift` of a TCP socket (`tcp_init_sock`: 10).
const SK_PACING_SHIFT: u32 = 10;

/// `enum bbr_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BbrMode {
    /// Ramp up sending rate rapidly to fill the pipe.
    #[default]
    Startup,
    /// Drain any queue created during startup.
    Drain,
    /// Discover, share the bandwidth: pace around the estimated bandwidth.
    ProbeBw,
    /// Cut inflight to the minimum to probe the minimum RTT.
    ProbeRtt,
}

/// `struct bbr`.
#[derive(Debug, Clone)]
pub struct Bbr {
    /// `min_rtt_us`: the windowed minimum RTT.
    pub min_rtt_us: u32,
    /// `min_rtt_stamp`: when it was taken, jiffies.
    pub min_rtt_stamp: u32,
    /// `probe_rtt_done_stamp`: the end of ProbeRTT, jiffies (0: not yet known).
    pub probe_rtt_done_stamp: u32,
    /// `bw`: the windowed maximum delivery rate, `BW_UNIT` segments/µs, over rounds.
    pub bw: Minmax,
    /// `rtt_cnt`: rounds so far.
    pub rtt_cnt: u32,
    /// `next_rtt_delivered`: the round ends when this much is delivered.
    pub next_rtt_delivered: u64,
    /// `cycle_mstamp`: when the current gain-cycle phase began, µs.
    pub cycle_mstamp: u64,
    /// `mode`.
    pub mode: BbrMode,
    /// `prev_ca_state`.
    pub prev_ca_state: CaState,
    /// `packet_conservation`: the first round of recovery.
    pub packet_conservation: bool,
    /// `round_start`: this ACK began a round.
    pub round_start: bool,
    /// `idle_restart`: sending again after idle.
    pub idle_restart: bool,
    /// `probe_rtt_round_done`: a round passed in ProbeRTT at the minimum.
    pub probe_rtt_round_done: bool,
    /// `lt_is_sampling`, `lt_rtt_cnt`, `lt_use_bw`, `lt_bw`, `lt_last_delivered`,
    /// `lt_last_stamp` (ms), `lt_last_lost`: the long-term (policed) bandwidth.
    pub lt_is_sampling: bool,
    /// See `lt_is_sampling`.
    pub lt_rtt_cnt: u32,
    /// See `lt_is_sampling`.
    pub lt_use_bw: bool,
    /// See `lt_is_sampling`.
    pub lt_bw: u32,
    /// See `lt_is_sampling`.
    pub lt_last_delivered: u64,
    /// See `lt_is_sampling`.
    pub lt_last_stamp: u32,
    /// See `lt_is_sampling`.
    pub lt_last_lost: u64,
    /// `pacing_gain`, `cwnd_gain`: of `BBR_UNIT`.
    pub pacing_gain: u32,
    /// See `pacing_gain`.
    pub cwnd_gain: u32,
    /// `full_bw_reached`, `full_bw_cnt`, `full_bw`: startup's end.
    pub full_bw_reached: bool,
    /// See `full_bw_reached`.
    pub full_bw_cnt: u32,
    /// See `full_bw_reached`.
    pub full_bw: u32,
    /// `cycle_idx`: the gain-cycle phase.
    pub cycle_idx: u32,
    /// `has_seen_rtt`.
    pub has_seen_rtt: bool,
    /// `prior_cwnd`: cwnd before recovery or ProbeRTT.
    pub prior_cwnd: u32,
    /// `ack_epoch_mstamp`, `ack_epoch_acked`, `extra_acked[2]`, `extra_acked_win_rtts`,
    /// `extra_acked_win_idx`: ACK aggregation.
    pub ack_epoch_mstamp: u64,
    /// See `ack_epoch_mstamp`.
    pub ack_epoch_acked: u32,
    /// See `ack_epoch_mstamp`.
    pub extra_acked: [u16; 2],
    /// See `ack_epoch_mstamp`.
    pub extra_acked_win_rtts: u32,
    /// See `ack_epoch_mstamp`.
    pub extra_acked_win_idx: usize,
    /// The socket's stream for `get_random_u32_below` (None until `bbr_init`).
    rng: Option<SimRng>,
    /// When ProbeRTT was entered, each time (the model's record, for stats.json).
    pub probe_rtt_entries: Vec<SimTime>,
}

/// BBR's state for `stats.json`: `bbr_get_info` (what `ss -ti` prints as
/// `bbr:(bw:…,mrtt:…,pacing_gain:…,cwnd_gain:…)`), the mode and pacing rate, and when
/// ProbeRTT began each time.
#[derive(Debug, Clone, Serialize)]
pub struct BbrReport {
    /// The mode at the end of the run (`STARTUP`, `DRAIN`, `PROBE_BW`, `PROBE_RTT`).
    pub mode: &'static str,
    /// The bandwidth estimate, bytes/s (`bbr_bw` × mss).
    pub bw: u64,
    /// `min_rtt_us`.
    pub min_rtt_us: u32,
    /// `pacing_gain` and `cwnd_gain`, of 256.
    pub pacing_gain: u32,
    /// See `pacing_gain`.
    pub cwnd_gain: u32,
    /// `sk_pacing_rate`, bytes/s.
    pub pacing_rate: u64,
    /// Whether startup found the pipe full.
    pub full_bw_reached: bool,
    /// When ProbeRTT was entered, ms since the start of the run.
    pub probe_rtt_at_ms: Vec<u64>,
}

impl Default for Bbr {
    fn default() -> Self {
        Self {
            min_rtt_us: u32::MAX,
            min_rtt_stamp: 0,
            probe_rtt_done_stamp: 0,
            bw: Minmax::default(),
            rtt_cnt: 0,
            next_rtt_delivered: 0,
            cycle_mstamp: 0,
            mode: BbrMode::Startup,
            prev_ca_state: CaState::Open,
            packet_conservation: false,
            round_start: false,
            idle_restart: false,
            probe_rtt_round_done: false,
            lt_is_sampling: false,
            lt_rtt_cnt: 0,
            lt_use_bw: false,
            lt_bw: 0,
            lt_last_delivered: 0,
            lt_last_stamp: 0,
            lt_last_lost: 0,
            pacing_gain: BBR_HIGH_GAIN,
            cwnd_gain: BBR_HIGH_GAIN,
            full_bw_reached: false,
            full_bw_cnt: 0,
            full_bw: 0,
            cycle_idx: 0,
            has_seen_rtt: false,
            prior_cwnd: 0,
            ack_epoch_mstamp: 0,
            ack_epoch_acked: 0,
            extra_acked: [0; 2],
            extra_acked_win_rtts: 0,
            extra_acked_win_idx: 0,
            rng: None,
            probe_rtt_entries: Vec::new(),
        }
    }
}

/// The clocks BBR reads: `tcp_clock_cache` (ns), `tcp_mstamp` (µs), `tcp_jiffies32`.
#[derive(Debug, Clone, Copy)]
pub struct BbrClock {
    /// Now.
    pub now: SimTime,
    /// `tcp_jiffies32`.
    pub jiffies: u32,
}

impl BbrClock {
    fn mstamp(&self) -> u64 {
        stamp_us(self.now)
    }
}

/// `tcp_min_rtt`: `~0U` before the first sample.
fn tcp_min_rtt(t: &TcpSock) -> u32 {
    if t.rtt.min_rtt_us == 0 {
        u32::MAX
    } else {
        t.rtt.min_rtt_us
    }
}

/// `after(a, b)` on jiffies.
fn j_after(a: u32, b: u32) -> bool {
    (b.wrapping_sub(a) as i32) < 0
}

/// `bbr_min_tso_segs`: one-segment bursts below 1.2 Mbit/s, else two.
pub fn bbr_min_tso_segs(pacing_rate: u64) -> u32 {
    if pacing_rate < BBR_MIN_TSO_RATE >> 3 {
        1
    } else {
        2
    }
}

/// `bbr_sndbuf_expand`: room for three cwnds of skbs (pacing keeps more queued).
pub const BBR_SNDBUF_EXPAND: u32 = 3;

impl Bbr {
    /// `bbr_max_bw`.
    pub fn max_bw(&self) -> u32 {
        self.bw.get()
    }

    /// `bbr_bw`: the long-term bandwidth while a policer is suspected, else the max.
    pub fn bw(&self) -> u32 {
        if self.lt_use_bw {
            self.lt_bw
        } else {
            self.max_bw()
        }
    }

    /// `bbr_extra_acked`.
    fn extra_acked(&self) -> u32 {
        u32::from(self.extra_acked[0].max(self.extra_acked[1]))
    }

    /// The bandwidth in bytes/s for `ss -ti` (`bbr_get_info`'s `bbr_bw`).
    pub fn bw_bytes_per_sec(&self, mss: u32) -> u64 {
        (u64::from(self.bw()) * u64::from(mss) * 1_000_000) >> BW_SCALE
    }

    /// The report for `stats.json`.
    pub fn report(&self, t: &TcpSock) -> BbrReport {
        BbrReport {
            mode: match self.mode {
                BbrMode::Startup => "STARTUP",
                BbrMode::Drain => "DRAIN",
                BbrMode::ProbeBw => "PROBE_BW",
                BbrMode::ProbeRtt => "PROBE_RTT",
            },
            bw: self.bw_bytes_per_sec(t.mss_cache),
            min_rtt_us: self.min_rtt_us,
            pacing_gain: self.pacing_gain,
            cwnd_gain: self.cwnd_gain,
            pacing_rate: t.pacing_rate,
            full_bw_reached: self.full_bw_reached,
            probe_rtt_at_ms: self
                .probe_rtt_entries
                .iter()
                .map(|at| at.as_nanos() / 1_000_000)
                .collect(),
        }
    }

    /// `bbr_init`: startup from scratch, with the socket's stream for the cycle phase
    /// seeded by `seed`.
    pub fn init(&mut self, t: &mut TcpSock, clock: BbrClock, seed: u64) {
        *self = Self::default();
        self.rng = Some(RngStreams::new(seed).stream("tcp_bbr", 0));
        t.ssthresh = super::TCP_INFINITE_SSTHRESH;
        self.next_rtt_delivered = t.stats.delivered;
        self.min_rtt_us = tcp_min_rtt(t);
        self.min_rtt_stamp = clock.jiffies;
        self.bw.reset(self.rtt_cnt, 0);
        self.init_pacing_rate_from_rtt(t);
        self.reset_lt_bw_sampling(t);
        self.mode = BbrMode::Startup;
        self.ack_epoch_mstamp = clock.mstamp();
        // cmpxchg(&sk->sk_pacing_status, SK_PACING_NONE, SK_PACING_NEEDED).
        if t.pacing_status == PacingStatus::None {
            t.pacing_status = PacingStatus::Needed;
        }
    }

    /// `bbr_rate_bytes_per_sec`: `rate` (`BW_UNIT` segments/µs) × gain, in bytes/s, less
    /// the 1 % margin.
    fn rate_bytes_per_sec(mss: u32, rate: u64, gain: u32) -> u64 {
        let mut rate = rate * u64::from(mss);
        rate *= u64::from(gain);
        rate >>= BBR_SCALE;
        rate *= 1_000_000 / 100 * (100 - BBR_PACING_MARGIN_PERCENT);
        rate >> BW_SCALE
    }

    /// `bbr_bw_to_pacing_rate` (`sk_max_pacing_rate` is unlimited).
    fn bw_to_pacing_rate(t: &TcpSock, bw: u32, gain: u32) -> u64 {
        Self::rate_bytes_per_sec(t.mss_cache, u64::from(bw), gain)
    }

    /// `bbr_init_pacing_rate_from_rtt`: high gain × cwnd / srtt (1 ms before a sample).
    fn init_pacing_rate_from_rtt(&mut self, t: &mut TcpSock) {
        let rtt_us = if t.rtt.srtt_us != 0 {
            self.has_seen_rtt = true;
            (t.rtt.srtt_us >> 3).max(1)
        } else {
            1000
        };
        let bw = u64::from(t.cwnd) * BW_UNIT / u64::from(rtt_us);
        t.pacing_rate = Self::bw_to_pacing_rate(t, bw as u32, BBR_HIGH_GAIN);
    }

    /// `bbr_set_pacing_rate`: never lower in startup, until the pipe is full.
    fn set_pacing_rate(&mut self, t: &mut TcpSock, bw: u32, gain: u32) {
        let rate = Self::bw_to_pacing_rate(t, bw, gain);
        if !self.has_seen_rtt && t.rtt.srtt_us != 0 {
            self.init_pacing_rate_from_rtt(t);
        }
        if self.full_bw_reached || rate > t.pacing_rate {
            t.pacing_rate = rate;
        }
    }

    /// `bbr_tso_segs_goal`: about 1 ms at the pacing rate, at most 127 segments.
    fn tso_segs_goal(t: &TcpSock) -> u32 {
        let bytes = (t.pacing_rate >> SK_PACING_SHIFT)
            .min(u64::from(super::output::TCP_GSO_MAX_SIZE)) as u32;
        let segs = (bytes / t.mss_cache.max(1)).max(bbr_min_tso_segs(t.pacing_rate));
        segs.min(0x7F)
    }

    /// `bbr_save_cwnd`: cwnd before recovery or ProbeRTT.
    fn save_cwnd(&mut self, t: &TcpSock) {
        if ca_rank(self.prev_ca_state) < ca_rank(CaState::Recovery)
            && self.mode != BbrMode::ProbeRtt
        {
            self.prior_cwnd = t.cwnd;
        } else {
            self.prior_cwnd = self.prior_cwnd.max(t.cwnd);
        }
    }

    /// `bbr_cwnd_event(CA_EVENT_TX_START)`: sending again after the app let the pipe go
    /// idle.
    pub fn cwnd_event_tx_start(&mut self, t: &mut TcpSock, clock: BbrClock) {
        if t.rate.app_limited == 0 {
            return;
        }
        self.idle_restart = true;
        self.ack_epoch_mstamp = clock.mstamp();
        self.ack_epoch_acked = 0;
        // Avoid pointless buffer overflows: pace at the estimated bandwidth when restarting.
        if self.mode == BbrMode::ProbeBw {
            self.set_pacing_rate(t, self.bw(), BBR_UNIT);
        } else if self.mode == BbrMode::ProbeRtt {
            self.check_probe_rtt_done(t, clock);
        }
    }

    /// `bbr_bdp`: bandwidth × min RTT × gain, in segments, rounded up.
    fn bdp(&self, bw: u32, gain: u32) -> u32 {
        if self.min_rtt_us == u32::MAX {
            return TCP_INIT_CWND;
        }
        let w = u64::from(bw) * u64::from(self.min_rtt_us);
        (((w * u64::from(gain)) >> BBR_SCALE).div_ceil(BW_UNIT)) as u32
    }

    /// `bbr_quantization_budget`: room for TSO bursts, an even cwnd, and 2 more when
    /// probing.
    fn quantization_budget(&self, t: &TcpSock, cwnd: u32) -> u32 {
        let mut cwnd = cwnd + 3 * Self::tso_segs_goal(t);
        cwnd = (cwnd + 1) & !1;
        if self.mode == BbrMode::ProbeBw && self.cycle_idx == 0 {
            cwnd += 2;
        }
        cwnd
    }

    /// `bbr_inflight`.
    fn inflight(&self, t: &TcpSock, bw: u32, gain: u32) -> u32 {
        self.quantization_budget(t, self.bdp(bw, gain))
    }

    /// `bbr_packets_in_net_at_edt`: what will be in flight when the next paced packet
    /// leaves (`tcp_wstamp_ns`).
    fn packets_in_net_at_edt(&self, t: &TcpSock, inflight_now: u32, clock: BbrClock) -> u32 {
        let now_ns = clock.now.as_nanos();
        let edt_ns = t.tcp_wstamp.as_nanos().max(now_ns);
        let interval_us = (edt_ns - now_ns) / 1000;
        let interval_delivered = ((u64::from(self.bw()) * interval_us) >> BW_SCALE) as u32;
        let mut inflight_at_edt = inflight_now;
        if self.pacing_gain > BBR_UNIT {
            inflight_at_edt += Self::tso_segs_goal(t);
        }
        inflight_at_edt.saturating_sub(interval_delivered)
    }

    /// `bbr_ack_aggregation_cwnd`.
    fn ack_aggregation_cwnd(&self) -> u32 {
        if BBR_EXTRA_ACKED_GAIN > 0 && self.full_bw_reached {
            let max_aggr_cwnd = (u64::from(self.bw()) * BBR_EXTRA_ACKED_MAX_US / BW_UNIT) as u32;
            let aggr_cwnd = (BBR_EXTRA_ACKED_GAIN * self.extra_acked()) >> BBR_SCALE;
            return aggr_cwnd.min(max_aggr_cwnd);
        }
        0
    }

    /// `bbr_set_cwnd_to_recover_or_restore`: less what was lost; packet conservation in
    /// the first round of recovery; the cwnd of before on leaving it.
    fn set_cwnd_to_recover_or_restore(
        &mut self,
        t: &mut TcpSock,
        rs: &RateSample,
        acked: u32,
    ) -> (bool, u32) {
        let prev_state = self.prev_ca_state;
        let state = t.recovery.ca_state;
        let mut cwnd = t.cwnd;
        if rs.losses > 0 {
            cwnd = (cwnd as i32 - rs.losses as i32).max(1) as u32;
        }
        let (rec, prev, st) = (
            ca_rank(CaState::Recovery),
            ca_rank(prev_state),
            ca_rank(state),
        );
        if state == CaState::Recovery && prev_state != CaState::Recovery {
            // Starting the first round of recovery: packet conservation.
            self.packet_conservation = true;
            self.next_rtt_delivered = t.stats.delivered;
            cwnd = t.in_flight() + acked;
        } else if prev >= rec && st < rec {
            // Exiting loss recovery: restore cwnd.
            cwnd = cwnd.max(self.prior_cwnd);
            self.packet_conservation = false;
        }
        self.prev_ca_state = state;
        if self.packet_conservation {
            return (true, cwnd.max(t.in_flight() + acked));
        }
        (false, cwnd)
    }

    /// `bbr_set_cwnd`: toward gain × BDP, growing by what was acknowledged.
    fn set_cwnd(&mut self, t: &mut TcpSock, rs: &RateSample, acked: u32, bw: u32, gain: u32) {
        let mut cwnd = t.cwnd;
        if acked > 0 {
            let (done, c) = self.set_cwnd_to_recover_or_restore(t, rs, acked);
            cwnd = c;
            if !done {
                let mut target = self.bdp(bw, gain);
                target += self.ack_aggregation_cwnd();
                target = self.quantization_budget(t, target);
                if self.full_bw_reached {
                    cwnd = (cwnd + acked).min(target);
                } else if cwnd < target || t.stats.delivered < u64::from(TCP_INIT_CWND) {
                    cwnd += acked;
                }
                cwnd = cwnd.max(BBR_CWND_MIN_TARGET);
            }
        }
        t.cwnd = cwnd;
        if self.mode == BbrMode::ProbeRtt {
            t.cwnd = t.cwnd.min(BBR_CWND_MIN_TARGET);
        }
    }

    /// `bbr_is_next_cycle_phase`: a phase lasts a min RTT; probing (5/4) lasts until
    /// inflight reaches its target or there are losses; draining (3/4) ends early once
    /// inflight is down to the BDP.
    fn is_next_cycle_phase(&self, t: &TcpSock, rs: &RateSample, clock: BbrClock) -> bool {
        let is_full_length =
            t.rate.delivered_mstamp.saturating_sub(self.cycle_mstamp) > u64::from(self.min_rtt_us);
        if self.pacing_gain == BBR_UNIT {
            return is_full_length;
        }
        let inflight = self.packets_in_net_at_edt(t, rs.prior_in_flight, clock);
        let bw = self.max_bw();
        if self.pacing_gain > BBR_UNIT {
            return is_full_length
                && (rs.losses > 0 || inflight >= self.inflight(t, bw, self.pacing_gain));
        }
        is_full_length || inflight <= self.inflight(t, bw, BBR_UNIT)
    }

    /// `bbr_advance_cycle_phase`.
    fn advance_cycle_phase(&mut self, t: &TcpSock) {
        self.cycle_idx = (self.cycle_idx + 1) & (CYCLE_LEN - 1);
        self.cycle_mstamp = t.rate.delivered_mstamp;
    }

    /// `bbr_update_cycle_phase`.
    fn update_cycle_phase(&mut self, t: &TcpSock, rs: &RateSample, clock: BbrClock) {
        if self.mode == BbrMode::ProbeBw && self.is_next_cycle_phase(t, rs, clock) {
            self.advance_cycle_phase(t);
        }
    }

    /// `bbr_reset_probe_bw_mode`: ProbeBW from a random phase other than 3/4.
    fn reset_probe_bw_mode(&mut self, t: &TcpSock) {
        self.mode = BbrMode::ProbeBw;
        let r = match self.rng.as_mut() {
            Some(rng) => rng.below(BBR_CYCLE_RAND) as u32,
            None => 0,
        };
        self.cycle_idx = CYCLE_LEN - 1 - r;
        // Flip to the next phase of the gain cycle.
        self.advance_cycle_phase(t);
    }

    /// `bbr_reset_mode`.
    fn reset_mode(&mut self, t: &TcpSock) {
        if !self.full_bw_reached {
            self.mode = BbrMode::Startup;
        } else {
            self.reset_probe_bw_mode(t);
        }
    }

    /// `bbr_reset_lt_bw_sampling_interval`.
    fn reset_lt_bw_sampling_interval(&mut self, t: &TcpSock) {
        self.lt_last_stamp = (t.rate.delivered_mstamp / 1000) as u32;
        self.lt_last_delivered = t.stats.delivered;
        self.lt_last_lost = t.rate.lost;
        self.lt_rtt_cnt = 0;
    }

    /// `bbr_reset_lt_bw_sampling`.
    fn reset_lt_bw_sampling(&mut self, t: &TcpSock) {
        self.lt_bw = 0;
        self.lt_use_bw = false;
        self.lt_is_sampling = false;
        self.reset_lt_bw_sampling_interval(t);
    }

    /// `bbr_lt_bw_interval_done`: two consistent lossy intervals mean a policer.
    fn lt_bw_interval_done(&mut self, t: &TcpSock, bw: u32) {
        if self.lt_bw != 0 {
            let diff = bw.abs_diff(self.lt_bw);
            if diff * BBR_UNIT <= BBR_LT_BW_RATIO * self.lt_bw
                || Self::rate_bytes_per_sec(t.mss_cache, u64::from(diff), BBR_UNIT)
                    <= BBR_LT_BW_DIFF
            {
                self.lt_bw = (bw + self.lt_bw) >> 1;
                self.lt_use_bw = true;
                self.pacing_gain = BBR_UNIT;
                self.lt_rtt_cnt = 0;
                return;
            }
        }
        self.lt_bw = bw;
        self.reset_lt_bw_sampling_interval(t);
    }

    /// `bbr_lt_bw_sampling`: token-bucket policers show as long lossy intervals at a
    /// steady rate; use that rate while they last (48 rounds).
    fn lt_bw_sampling(&mut self, t: &TcpSock, rs: &RateSample) {
        if self.lt_use_bw {
            if self.mode == BbrMode::ProbeBw && self.round_start {
                self.lt_rtt_cnt += 1;
                if self.lt_rtt_cnt >= BBR_LT_BW_MAX_RTTS {
                    self.reset_lt_bw_sampling(t);
                    self.reset_probe_bw_mode(t);
                }
            }
            return;
        }
        if !self.lt_is_sampling {
            if rs.losses == 0 {
                return;
            }
            self.reset_lt_bw_sampling_interval(t);
            self.lt_is_sampling = true;
        }
        if rs.is_app_limited {
            self.reset_lt_bw_sampling(t);
            return;
        }
        if self.round_start {
            self.lt_rtt_cnt = (self.lt_rtt_cnt + 1) & 0x7F;
        }
        if self.lt_rtt_cnt < BBR_LT_INTVL_MIN_RTTS {
            return;
        }
        if self.lt_rtt_cnt > 4 * BBR_LT_INTVL_MIN_RTTS {
            self.reset_lt_bw_sampling(t);
            return;
        }
        if rs.losses == 0 {
            return;
        }
        let lost = t.rate.lost - self.lt_last_lost;
        let delivered = t.stats.delivered - self.lt_last_delivered;
        if delivered == 0 || (lost << BBR_SCALE) < BBR_LT_LOSS_THRESH * delivered {
            return;
        }
        let tms = ((t.rate.delivered_mstamp / 1000) as u32).wrapping_sub(self.lt_last_stamp);
        if (tms as i32) < 1 {
            return;
        }
        if tms >= u32::MAX / 1000 {
            self.reset_lt_bw_sampling(t);
            return;
        }
        let bw = delivered * BW_UNIT / u64::from(tms * 1000);
        self.lt_bw_interval_done(t, bw as u32);
    }

    /// `bbr_update_bw`: rounds, and the bandwidth filter.
    fn update_bw(&mut self, t: &TcpSock, rs: &RateSample) {
        self.round_start = false;
        if rs.delivered < 0 || rs.interval_us <= 0 {
            return;
        }
        // A round ends when the data sent at its start is delivered.
        if rs.prior_delivered >= self.next_rtt_delivered {
            self.next_rtt_delivered = t.stats.delivered;
            self.rtt_cnt += 1;
            self.round_start = true;
            self.packet_conservation = false;
        }
        self.lt_bw_sampling(t, rs);
        let bw = (rs.delivered as u64 * BW_UNIT / rs.interval_us as u64) as u32;
        // An app-limited sample only counts if it is no lower than the estimate.
        if !rs.is_app_limited || bw >= self.max_bw() {
            self.bw.running_max(BBR_BW_RTTS, self.rtt_cnt, bw);
        }
    }

    /// `bbr_update_ack_aggregation`: how many more were ACKed than the bandwidth explains
    /// since the epoch began; the windowed max of it, over 5–10 rounds.
    fn update_ack_aggregation(&mut self, t: &TcpSock, rs: &RateSample) {
        if BBR_EXTRA_ACKED_GAIN == 0
            || rs.acked_sacked == 0
            || rs.delivered < 0
            || rs.interval_us <= 0
        {
            return;
        }
        if self.round_start {
            self.extra_acked_win_rtts = (self.extra_acked_win_rtts + 1).min(0x1F);
            if self.extra_acked_win_rtts >= BBR_EXTRA_ACKED_WIN_RTTS {
                self.extra_acked_win_rtts = 0;
                self.extra_acked_win_idx ^= 1;
                self.extra_acked[self.extra_acked_win_idx] = 0;
            }
        }
        let epoch_us = t
            .rate
            .delivered_mstamp
            .saturating_sub(self.ack_epoch_mstamp) as u32;
        let mut expected_acked = (u64::from(self.bw()) * u64::from(epoch_us) / BW_UNIT) as u32;
        // Reset the epoch when the ACK rate falls to the bandwidth, or the count would
        // overflow.
        if self.ack_epoch_acked <= expected_acked
            || self.ack_epoch_acked + rs.acked_sacked >= BBR_ACK_EPOCH_ACKED_RESET_THRESH
        {
            self.ack_epoch_acked = 0;
            self.ack_epoch_mstamp = t.rate.delivered_mstamp;
            expected_acked = 0;
        }
        self.ack_epoch_acked = (self.ack_epoch_acked + rs.acked_sacked).min(0xFFFFF);
        let extra = (self.ack_epoch_acked - expected_acked).min(t.cwnd);
        let slot = &mut self.extra_acked[self.extra_acked_win_idx];
        if extra > u32::from(*slot) {
            *slot = extra as u16;
        }
    }

    /// `bbr_check_full_bw_reached`: the pipe is full when three rounds in a row fail to
    /// grow the bandwidth by 25 %.
    fn check_full_bw_reached(&mut self, rs: &RateSample) {
        if self.full_bw_reached || !self.round_start || rs.is_app_limited {
            return;
        }
        let bw_thresh =
            ((u64::from(self.full_bw) * u64::from(BBR_FULL_BW_THRESH)) >> BBR_SCALE) as u32;
        if self.max_bw() >= bw_thresh {
            self.full_bw = self.max_bw();
            self.full_bw_cnt = 0;
            return;
        }
        self.full_bw_cnt += 1;
        self.full_bw_reached = self.full_bw_cnt >= BBR_FULL_BW_CNT;
    }

    /// `bbr_check_drain`: startup → drain when the pipe is full; drain → ProbeBW once
    /// what is in flight is down to a BDP.
    fn check_drain(&mut self, t: &mut TcpSock, clock: BbrClock) {
        if self.mode == BbrMode::Startup && self.full_bw_reached {
            self.mode = BbrMode::Drain;
            t.ssthresh = self.inflight(t, self.max_bw(), BBR_UNIT);
        }
        if self.mode == BbrMode::Drain
            && self.packets_in_net_at_edt(t, t.in_flight(), clock)
                <= self.inflight(t, self.max_bw(), BBR_UNIT)
        {
            self.reset_probe_bw_mode(t);
        }
    }

    /// `bbr_check_probe_rtt_done`: 200 ms and a round at cwnd 4 are over.
    fn check_probe_rtt_done(&mut self, t: &mut TcpSock, clock: BbrClock) {
        if !(self.probe_rtt_done_stamp != 0 && j_after(clock.jiffies, self.probe_rtt_done_stamp)) {
            return;
        }
        self.min_rtt_stamp = clock.jiffies;
        t.cwnd = t.cwnd.max(self.prior_cwnd);
        self.reset_mode(t);
    }

    /// `bbr_update_min_rtt`: the min RTT filter, and ProbeRTT when it is 10 s old.
    fn update_min_rtt(&mut self, t: &mut TcpSock, rs: &RateSample, clock: BbrClock) {
        let filter_expired = j_after(
            clock.jiffies,
            self.min_rtt_stamp.wrapping_add(BBR_MIN_RTT_WIN_SEC * HZ),
        );
        if rs.rtt_us >= 0
            && (i64::from(rs.rtt_us) < i64::from(self.min_rtt_us)
                || (filter_expired && !rs.is_ack_delayed))
        {
            self.min_rtt_us = rs.rtt_us as u32;
            self.min_rtt_stamp = clock.jiffies;
        }
        if BBR_PROBE_RTT_MODE_MS > 0
            && filter_expired
            && !self.idle_restart
            && self.mode != BbrMode::ProbeRtt
        {
            self.mode = BbrMode::ProbeRtt;
            self.probe_rtt_entries.push(clock.now);
            self.save_cwnd(t);
            self.probe_rtt_done_stamp = 0;
        }
        if self.mode == BbrMode::ProbeRtt {
            // Ignore low-rate samples during this mode.
            t.rate.app_limited = (t.stats.delivered + u64::from(t.in_flight())).max(1);
            // Maintain min packets in flight for max(200 ms, 1 round).
            if self.probe_rtt_done_stamp == 0 && t.in_flight() <= BBR_CWND_MIN_TARGET {
                self.probe_rtt_done_stamp = clock
                    .jiffies
                    .wrapping_add(msecs_to_jiffies(BBR_PROBE_RTT_MODE_MS));
                self.probe_rtt_round_done = false;
                self.next_rtt_delivered = t.stats.delivered;
            } else if self.probe_rtt_done_stamp != 0 {
                if self.round_start {
                    self.probe_rtt_round_done = true;
                }
                if self.probe_rtt_round_done {
                    self.check_probe_rtt_done(t, clock);
                }
            }
        }
        // Restart after idle ends only once we process a new sample.
        if rs.delivered > 0 {
            self.idle_restart = false;
        }
    }

    /// `bbr_update_gains`.
    fn update_gains(&mut self) {
        (self.pacing_gain, self.cwnd_gain) = match self.mode {
            BbrMode::Startup => (BBR_HIGH_GAIN, BBR_HIGH_GAIN),
            BbrMode::Drain => (BBR_DRAIN_GAIN, BBR_HIGH_GAIN),
            BbrMode::ProbeBw => (
                if self.lt_use_bw {
                    BBR_UNIT
                } else {
                    BBR_PACING_GAIN[self.cycle_idx as usize]
                },
                BBR_CWND_GAIN,
            ),
            BbrMode::ProbeRtt => (BBR_UNIT, BBR_UNIT),
        };
    }

    /// `bbr_main` (`cong_control`): update the model from the ACK's rate sample, then
    /// set the pacing rate and cwnd.
    pub fn main(&mut self, t: &mut TcpSock, rs: &RateSample, clock: BbrClock) {
        self.update_bw(t, rs);
        self.update_ack_aggregation(t, rs);
        self.update_cycle_phase(t, rs, clock);
        self.check_full_bw_reached(rs);
        self.check_drain(t, clock);
        self.update_min_rtt(t, rs, clock);
        self.update_gains();
        let bw = self.bw();
        self.set_pacing_rate(t, bw, self.pacing_gain);
        self.set_cwnd(t, rs, rs.acked_sacked, bw, self.cwnd_gain);
    }

    /// `bbr_undo_cwnd`: a spurious loss: startup's full-bandwidth test and the policer
    /// detector start over; cwnd stays.
    pub fn undo_cwnd(&mut self, t: &TcpSock) -> u32 {
        self.full_bw = 0;
        self.full_bw_cnt = 0;
        self.reset_lt_bw_sampling(t);
        t.cwnd
    }

    /// `bbr_ssthresh`: remember cwnd; ssthresh stays as it is.
    pub fn ssthresh(&mut self, t: &TcpSock) -> u32 {
        self.save_cwnd(t);
        t.ssthresh
    }

    /// `bbr_set_state(TCP_CA_Loss)`: a timeout is a round with losses for the policer
    /// detector, and startup's bandwidth growth test starts over.
    pub fn set_state_loss(&mut self, t: &TcpSock) {
        let mut rs = RateSample::new(0);
        rs.losses = 1;
        self.prev_ca_state = CaState::Loss;
        self.full_bw = 0;
        self.round_start = true;
        self.lt_bw_sampling(t, &rs);
    }
}

/// `icsk_ca_state`'s number, for BBR's `<` comparisons (`TCP_CA_Open` 0 … `TCP_CA_Loss` 4).
fn ca_rank(s: CaState) -> u8 {
    super::info::ca_state_number(s)
}

/// `msecs_to_jiffies`, rounded up.
fn msecs_to_jiffies(ms: u32) -> u32 {
    (ms * HZ).div_ceil(1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sock::SockCommon;
    use crate::tcp::cong::Cong;
    use sim_core::Scheduler;

    fn sock() -> TcpSock {
        let mut s: Scheduler<crate::event::Event> = Scheduler::new();
        let timers = [s.new_timer(), s.new_timer(), s.new_timer(), s.new_timer()];
        let mut t = TcpSock::new(SockCommon::new(16384, 131_072), Cong::new(true), timers);
        t.mss_cache = 1448;
        t
    }

    fn clock(ms: u64) -> BbrClock {
        BbrClock {
            now: SimTime::from_nanos(ms * 1_000_000),
            jiffies: (ms * u64::from(HZ) / 1000) as u32,
        }
    }

    #[test]
    fn gains_are_the_kernels_fixed_point_constants() {
        assert_eq!(BBR_HIGH_GAIN, 739);
        assert_eq!(BBR_DRAIN_GAIN, 88);
        assert_eq!(BBR_PACING_GAIN, [320, 192, 256, 256, 256, 256, 256, 256]);
    }

    #[test]
    fn probe_bw_starts_in_a_random_phase_other_than_draining_and_cycles_every_min_rtt() {
        let mut t = sock();
        let mut seen = [false; 8];
        for seed in 0..64 {
            let mut b = Bbr::default();
            b.init(&mut t, clock(0), seed);
            b.reset_probe_bw_mode(&t);
            // CYCLE_LEN − 1 − rand(7) is 1..=7, then advanced: 2..=7 or 0; never 1 (3/4).
            seen[b.cycle_idx as usize] = true;
        }
        assert_eq!(seen, [true, false, true, true, true, true, true, true]);
        // Gain 1 phases last one min RTT of delivery time.
        let mut b = Bbr::default();
        b.init(&mut t, clock(0), 1);
        b.min_rtt_us = 10_000;
        b.mode = BbrMode::ProbeBw;
        b.cycle_idx = 2;
        b.pacing_gain = BBR_UNIT;
        b.cycle_mstamp = 0;
        let rs = RateSample::new(0);
        t.rate.delivered_mstamp = 10_000;
        assert!(!b.is_next_cycle_phase(&t, &rs, clock(10)));
        t.rate.delivered_mstamp = 10_001;
        assert!(b.is_next_cycle_phase(&t, &rs, clock(10)));
        b.advance_cycle_phase(&t);
        assert_eq!((b.cycle_idx, b.cycle_mstamp), (3, 10_001));
        b.cycle_idx = 7;
        b.advance_cycle_phase(&t);
        assert_eq!(b.cycle_idx, 0);
    }

    #[test]
    fn full_bandwidth_is_three_rounds_without_25_percent_growth() {
        let mut b = Bbr::default();
        let mut rs = RateSample::new(0);
        rs.delivered = 1;
        b.round_start = true;
        // Growth of 25 % or more per round resets the count.
        for bw in [100, 125, 157] {
            b.bw.reset(0, bw);
            b.check_full_bw_reached(&rs);
            assert_eq!(
                (b.full_bw, b.full_bw_cnt, b.full_bw_reached),
                (bw, 0, false)
            );
        }
        // 195 < 157 × 1.25 = 196: not enough, three times.
        for cnt in 1..=3 {
            b.bw.reset(0, 195);
            b.check_full_bw_reached(&rs);
            assert_eq!(b.full_bw_cnt, cnt);
            assert_eq!(b.full_bw_reached, cnt == 3);
        }
        // Only at a round's start, and not on app-limited samples.
        let mut b = Bbr::default();
        b.check_full_bw_reached(&rs);
        assert_eq!(b.full_bw_cnt, 0);
    }

    #[test]
    fn bdp_and_pacing_rate_follow_bw_times_min_rtt() {
        let mut t = sock();
        let mut b = Bbr::default();
        b.init(&mut t, clock(0), 0);
        // Before any RTT: TCP_INIT_CWND; pacing 2.885 × 10 segments per ms, less 1 %.
        assert_eq!(b.bdp(1, BBR_UNIT), TCP_INIT_CWND);
        let bw = 10 * BW_UNIT / 1000;
        let expect = (((bw * 1448 * 739) >> 8) * 990_000) >> BW_SCALE;
        assert_eq!(t.pacing_rate, expect);
        // 10 Mbit/s of 1448-byte segments = 863.3 segments/s; × 40 ms = 34.5 → 35.
        b.min_rtt_us = 40_000;
        let bw = (10_000_000 / 8 * BW_UNIT / 1448 / 1_000_000) as u32;
        assert_eq!(b.bdp(bw, BBR_UNIT), 35);
        // Pacing at gain 1: 99 % of 10 Mbit/s (less the truncation of bw).
        let rate = Bbr::bw_to_pacing_rate(&t, bw, BBR_UNIT);
        assert!(rate <= 1_237_500 && rate > 1_237_000, "{rate}");
    }

    #[test]
    fn probe_rtt_after_10s_holds_cwnd_4_for_200ms_and_a_round() {
        let mut t = sock();
        let mut b = Bbr::default();
        b.init(&mut t, clock(0), 3);
        b.full_bw_reached = true;
        b.mode = BbrMode::ProbeBw;
        b.min_rtt_us = 20_000;
        t.cwnd = 50;
        t.packets_out = 50;
        // 10 s and a jiffy later, with samples no lower: ProbeRTT, cwnd saved.
        let c = clock(10_008);
        let mut rs = RateSample::new(50);
        rs.rtt_us = 25_000;
        rs.is_ack_delayed = true;
        b.update_min_rtt(&mut t, &rs, c);
        assert_eq!(b.mode, BbrMode::ProbeRtt);
        assert_eq!(b.prior_cwnd, 50);
        assert_ne!(t.rate.app_limited, 0);
        b.update_gains();
        b.set_cwnd(&mut t, &rs, 1, b.bw(), b.cwnd_gain);
        assert_eq!(t.cwnd, BBR_CWND_MIN_TARGET);
        // In flight down to 4: the 200 ms start.
        t.packets_out = 4;
        b.update_min_rtt(&mut t, &rs, c);
        assert_eq!(b.probe_rtt_done_stamp, c.jiffies + 50);
        // A round ends, but 200 ms have not passed.
        b.round_start = true;
        b.update_min_rtt(&mut t, &rs, clock(10_100));
        assert_eq!(b.mode, BbrMode::ProbeRtt);
        // After 200 ms (and a jiffy): back to ProbeBW with the saved cwnd.
        b.round_start = false;
        let done = clock(10_008 + 204);
        b.update_min_rtt(&mut t, &rs, done);
        assert_eq!(b.mode, BbrMode::ProbeBw);
        assert_eq!(t.cwnd, 50);
        assert_eq!(b.min_rtt_stamp, done.jiffies);
    }
}
