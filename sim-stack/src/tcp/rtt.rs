//! RTT estimation and the retransmission timeout, as `tcp_rtt_estimator` and `__tcp_set_rto`
//! keep them (`srtt_us`, `mdev_us`, `rttvar_us`, the windowed minimum RTT).

use sim_core::SimDuration;

use super::{TCP_RTO_MAX, TCP_RTO_MIN_US, TcpSock, after};

/// A connection's RTT estimate and RTO.
#[derive(Debug, Clone)]
pub struct RttEstimator {
    /// Smoothed RTT ×8, µs (`srtt_us`).
    pub srtt_us: u32,
    /// `mdev_us`.
    pub mdev_us: u32,
    /// `mdev_max_us`.
    pub mdev_max_us: u32,
    /// `rttvar_us`.
    pub rttvar_us: u32,
    /// `rtt_seq`.
    pub rtt_seq: u32,
    /// Minimum RTT, µs.
    pub min_rtt_us: u32,
    /// Current RTO.
    pub rto: sim_core::SimDuration,
}

impl Default for RttEstimator {
    fn default() -> Self {
        Self::new()
    }
}

impl RttEstimator {
    /// The state of a new socket.
    pub fn new() -> Self {
        Self {
            srtt_us: 0,
            mdev_us: 0,
            mdev_max_us: 0,
            rttvar_us: 0,
            rtt_seq: 0,
            min_rtt_us: 0,
            rto: super::TCP_TIMEOUT_INIT,
        }
    }
}

/// `tcp_update_rtt_min`: the minimum RTT, from `ca_rtt_us` (the RTT of the most recently
/// sent segment an ACK covers). A lone segment's ACK that may have been delayed
/// (`FLAG_ACK_MAYBE_DELAYED`) does not raise it. (Linux keeps a windowed minimum over
/// `tcp_min_rtt_wlen`, 300 s; over a shorter run that is the plain minimum.) A 0 µs sample
/// counts as one jiffy, as `jiffies_to_usecs(1)`.
pub fn tcp_update_rtt_min(t: &mut TcpSock, ca_rtt_us: u64, maybe_delayed: bool) {
    let min = t.rtt.min_rtt_us;
    if maybe_delayed && min != 0 && ca_rtt_us > u64::from(min) {
        return;
    }
    let r = if ca_rtt_us == 0 {
        1_000_000 / crate::jiffies::HZ
    } else {
        ca_rtt_us.min(u64::from(u32::MAX))
    } as u32;
    if min == 0 || r < min {
        t.rtt.min_rtt_us = r;
    }
}

/// `tcp_rtt_estimator` and `tcp_set_rto`: Jacobson/Karels in Linux's fixed point, with
/// `rttvar` kept at least `TCP_RTO_MIN`.
pub fn tcp_rtt_estimator(t: &mut TcpSock, rtt_us: u64) {
    let m = rtt_us.clamp(1, u64::from(u32::MAX >> 4)) as i64;
    if t.rtt.srtt_us != 0 {
        let mut m = m - i64::from(t.rtt.srtt_us >> 3);
        t.rtt.srtt_us = (i64::from(t.rtt.srtt_us) + m) as u32;
        if m < 0 {
            m = -m;
            m -= i64::from(t.rtt.mdev_us >> 2);
            if m > 0 {
                m >>= 3;
            }
        } else {
            m -= i64::from(t.rtt.mdev_us >> 2);
        }
        t.rtt.mdev_us = (i64::from(t.rtt.mdev_us) + m) as u32;
        if t.rtt.mdev_us > t.rtt.mdev_max_us {
            t.rtt.mdev_max_us = t.rtt.mdev_us;
            if t.rtt.mdev_max_us > t.rtt.rttvar_us {
                t.rtt.rttvar_us = t.rtt.mdev_max_us;
            }
        }
        if after(t.snd_una, t.rtt.rtt_seq) {
            if t.rtt.mdev_max_us < t.rtt.rttvar_us {
                t.rtt.rttvar_us -= (t.rtt.rttvar_us - t.rtt.mdev_max_us) >> 2;
            }
            t.rtt.rtt_seq = t.snd_nxt;
            t.rtt.mdev_max_us = TCP_RTO_MIN_US;
        }
    } else {
        t.rtt.srtt_us = (m << 3) as u32;
        t.rtt.mdev_us = (m << 1) as u32;
        t.rtt.rttvar_us = t.rtt.mdev_us.max(TCP_RTO_MIN_US);
        t.rtt.mdev_max_us = t.rtt.rttvar_us;
        t.rtt.rtt_seq = t.snd_nxt;
    }
    t.rtt.srtt_us = t.rtt.srtt_us.max(1);
    let rto_us = u64::from(t.rtt.srtt_us >> 3) + u64::from(t.rtt.rttvar_us);
    t.rtt.rto = SimDuration::from_micros(rto_us).min(TCP_RTO_MAX);
}
