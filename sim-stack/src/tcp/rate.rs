//! Delivery-rate sampling, as net/ipv4/tcp_rate.c does it: every sent segment remembers
//! the connection's `delivered` count and `delivered_mstamp` when it left
//! ([`tcp_rate_skb_sent`]); an ACK that delivers segments takes the most recently sent of
//! them ([`tcp_rate_skb_delivered`]) and makes a [`RateSample`] of what was delivered since
//! it was sent, over the longer of the send and the ACK phases ([`tcp_rate_gen`]). A
//! sample taken while the application did not keep the pipe full (`tp->app_limited`,
//! [`tcp_rate_check_app_limited`]) is marked so, and BBR only lets it raise its estimate.
//!
//! Times are µs on the connection's clock (`tcp_mstamp`), as the kernel keeps them. The
//! sample's choice of the most recent segment compares send times in ns (the simulator's
//! clock) and then `end_seq`; Linux compares µs. (Linux also takes every segment while the
//! chosen one's `tx.delivered` is 0, a quirk of testing `!rs->prior_delivered`; here the
//! first choice is kept by the same order as later ones.)

use sim_core::SimTime;

use super::TcpSock;

/// The connection's delivery-rate state (the `tcp_sock` fields tcp_rate.c owns).
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpRate {
    /// `first_tx_mstamp`: the send time of the most recently delivered segment, µs (the
    /// start of the current send phase).
    pub first_tx_mstamp: u64,
    /// `delivered_mstamp`: when `delivered` last grew, µs.
    pub delivered_mstamp: u64,
    /// `app_limited`: 0, or the `delivered` count at which the application-limited
    /// bubble will have been delivered.
    pub app_limited: u64,
    /// `rate_delivered`, `rate_interval_us`, `rate_app_limited`: the last sample that was
    /// not application-limited, or the highest that was (`tcpi_delivery_rate`).
    pub rate_delivered: u32,
    /// See `rate_delivered`.
    pub rate_interval_us: u32,
    /// See `rate_delivered`.
    pub rate_app_limited: bool,
    /// `tp->lost`: segments ever marked lost (for BBR's long-term bandwidth).
    pub lost: u64,
}

/// What a segment remembers of the connection when it was sent (`TCP_SKB_CB(skb)->tx`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TxRate {
    /// `tx.first_tx_mstamp`.
    pub first_tx_mstamp: u64,
    /// `tx.delivered_mstamp`.
    pub delivered_mstamp: u64,
    /// `tx.is_app_limited`.
    pub is_app_limited: bool,
}

/// `struct rate_sample`: what one ACK says about the delivery rate (in the kernel's widths:
/// counts and intervals of 32 bits, kept small as it is built on every ACK).
#[derive(Debug, Clone, Copy)]
pub struct RateSample {
    /// `prior_mstamp`: `delivered_mstamp` when the chosen segment was sent (meaningful
    /// once `last` is set: a segment with timing was delivered).
    pub prior_mstamp: u64,
    /// `prior_delivered`: `delivered` when it was sent.
    pub prior_delivered: u64,
    /// The chosen segment's send time and `end_seq` (`last_end_seq`).
    pub(crate) last: Option<(SimTime, u32)>,
    /// `delivered`: segments delivered over the interval (−1: invalid).
    pub delivered: i32,
    /// `interval_us`: the interval, µs (−1: invalid).
    pub interval_us: i32,
    /// `snd_interval_us`: the send phase.
    pub snd_interval_us: u32,
    /// `rcv_interval_us`: the ACK phase.
    pub rcv_interval_us: u32,
    /// `rtt_us`: the RTT of the most recently sent segment the ACK covers (−1: none).
    pub rtt_us: i32,
    /// `losses`: segments newly marked lost by this ACK.
    pub losses: u32,
    /// `acked_sacked`: segments newly acknowledged or SACKed.
    pub acked_sacked: u32,
    /// `prior_in_flight`: `tcp_packets_in_flight` before the ACK.
    pub prior_in_flight: u32,
    /// `is_app_limited`: the chosen segment was sent application-limited.
    pub is_app_limited: bool,
    /// `is_retrans`: the chosen segment was a retransmission.
    pub is_retrans: bool,
    /// `is_ack_delayed`: the ACK may have been delayed (`FLAG_ACK_MAYBE_DELAYED`).
    pub is_ack_delayed: bool,
}

impl RateSample {
    /// `struct rate_sample rs = { .prior_delivered = 0 }` at the start of `tcp_ack`.
    pub fn new(prior_in_flight: u32) -> Self {
        Self {
            prior_mstamp: 0,
            prior_delivered: 0,
            last: None,
            delivered: 0,
            interval_us: 0,
            snd_interval_us: 0,
            rcv_interval_us: 0,
            rtt_us: -1,
            losses: 0,
            acked_sacked: 0,
            prior_in_flight,
            is_app_limited: false,
            is_retrans: false,
            is_ack_delayed: false,
        }
    }
}

/// µs of a send time (`tcp_skb_timestamp_us`).
#[inline]
pub fn stamp_us(at: SimTime) -> u64 {
    at.as_nanos() / 1000
}

/// `tcp_rate_skb_sent`: a packet leaves at `tstamp_us`; with nothing outstanding, a new
/// send phase starts with it. Returns what its segments remember.
#[inline]
pub fn tcp_rate_skb_sent(t: &mut TcpSock, tstamp_us: u64) -> TxRate {
    let r = &mut t.rate;
    if t.packets_out == 0 {
        r.first_tx_mstamp = tstamp_us;
        r.delivered_mstamp = tstamp_us;
    }
    TxRate {
        first_tx_mstamp: r.first_tx_mstamp,
        delivered_mstamp: r.delivered_mstamp,
        is_app_limited: r.app_limited != 0,
    }
}

/// `tcp_rate_skb_delivered`: segment `seg` was acknowledged or SACKed (for the first
/// time); the most recently sent such segment (by send time, then `end_seq`) gives the
/// sample its starting point, and its send time starts the next send phase (the caller
/// sets `first_tx_mstamp` from `rs.last` once the ACK's segments are walked).
#[inline]
pub fn tcp_rate_skb_delivered(rs: &mut RateSample, seg: &super::TxSeg) {
    let Some(xt) = seg.sent_at else { return };
    let end = seg.end_seq();
    let newer = rs
        .last
        .is_none_or(|(t0, e)| xt > t0 || (xt == t0 && super::after(end, e)));
    if newer {
        rs.last = Some((xt, end));
        rs.prior_delivered = seg.tx_delivered;
        rs.prior_mstamp = seg.tx_rate.delivered_mstamp;
        rs.is_app_limited = seg.tx_rate.is_app_limited;
        rs.is_retrans = seg.retrans > 0;
        let tx_us = stamp_us(xt);
        rs.interval_us = tx_us
            .saturating_sub(seg.tx_rate.first_tx_mstamp)
            .min(i32::MAX as u64) as i32;
    }
}

/// `tcp_rate_gen`: after an ACK delivered `delivered` segments (now `t.stats.delivered`
/// in all) and marked `lost` lost, at `now_us`: the sample's count and interval, and the
/// connection's `tcpi_delivery_rate` if the sample is one to keep.
pub fn tcp_rate_gen(t: &mut TcpSock, delivered: u32, lost: u32, now_us: u64, rs: &mut RateSample) {
    let r = &mut t.rate;
    // Clear app limited if the bubble is acked and gone.
    if r.app_limited != 0 && t.stats.delivered > r.app_limited {
        r.app_limited = 0;
    }
    if delivered > 0 {
        r.delivered_mstamp = now_us;
    }
    rs.acked_sacked = delivered;
    rs.losses = lost;
    // No timing information: an invalid sample. (SACK reneging is not modeled.)
    if rs.last.is_none() {
        rs.delivered = -1;
        rs.interval_us = -1;
        return;
    }
    rs.delivered = (t.stats.delivered - rs.prior_delivered).min(i32::MAX as u64) as i32;
    // Sending and ACKing a window are two pipeline phases; the longer is the interval.
    let snd_us = rs.interval_us as u32;
    let ack_us = now_us.saturating_sub(rs.prior_mstamp).min(i32::MAX as u64) as u32;
    rs.interval_us = snd_us.max(ack_us) as i32;
    rs.snd_interval_us = snd_us;
    rs.rcv_interval_us = ack_us;
    // Normally interval_us >= min_rtt; a shorter one (ACK compression of a spurious
    // retransmission, say) is no sample.
    if i64::from(rs.interval_us) < i64::from(t.rtt.min_rtt_us) {
        rs.interval_us = -1;
        return;
    }
    // Keep the last non-app-limited or the highest app-limited sample.
    if !rs.is_app_limited
        || (rs.delivered as u64) * u64::from(r.rate_interval_us)
            >= u64::from(r.rate_delivered) * rs.interval_us as u64
    {
        r.rate_delivered = rs.delivered as u32;
        r.rate_interval_us = rs.interval_us as u32;
        r.rate_app_limited = rs.is_app_limited;
    }
}

/// `tcp_rate_check_app_limited`, at each `sendmsg`: less than a segment left to send,
/// nothing of ours in the qdisc or the NIC, cwnd not full and no loss left to repair —
/// the application is the limit: samples until what is in flight now is delivered are
/// application-limited.
pub fn tcp_rate_check_app_limited(t: &mut TcpSock) {
    let in_flight = t.in_flight();
    if t.write_seq.wrapping_sub(t.snd_nxt) < t.mss_cache
        && t.sk.wmem_alloc < crate::skb::SKB_OVERHEAD + 1
        && in_flight < t.cwnd
        && t.lost_out <= t.retrans_out
    {
        t.rate.app_limited = (t.stats.delivered + u64::from(in_flight)).max(1);
    }
}

/// `tcpi_delivery_rate`: the kept sample in bytes/s (`rate_delivered × mss / interval`).
pub fn delivery_rate(t: &TcpSock) -> u64 {
    let r = &t.rate;
    if r.rate_interval_us == 0 {
        return 0;
    }
    u64::from(r.rate_delivered) * u64::from(t.mss_cache) * 1_000_000 / u64::from(r.rate_interval_us)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sock::SockCommon;
    use crate::tcp::{TxSeg, cong::Cong};
    use sim_core::Scheduler;

    fn sock() -> TcpSock {
        let mut s: Scheduler<crate::event::Event> = Scheduler::new();
        let timers = [s.new_timer(), s.new_timer(), s.new_timer(), s.new_timer()];
        let mut t = TcpSock::new(SockCommon::new(16384, 131_072), Cong::new(true), timers);
        t.mss_cache = 1000;
        t.cwnd = 10;
        t
    }

    fn sent(seq: u32, at_us: u64, t: &mut TcpSock) -> TxSeg {
        let mut s = TxSeg::new(seq, 1000, false, false);
        s.sent_at = Some(SimTime::from_nanos(at_us * 1000));
        s.tx_delivered = t.stats.delivered;
        s.tx_rate = tcp_rate_skb_sent(t, at_us);
        t.packets_out += 1;
        s
    }

    fn delivered(t: &mut TcpSock, rs: &mut RateSample, s: &TxSeg) {
        tcp_rate_skb_delivered(rs, s);
        if let Some((xt, _)) = rs.last {
            t.rate.first_tx_mstamp = stamp_us(xt);
        }
    }

    #[test]
    fn a_window_delivered_over_one_rtt_samples_the_sending_rate() {
        // Ten segments sent 1 ms apart from t = 0 (rate 1 segment/ms), each ACKed one RTT
        // (50 ms) later. The ACK of segment k delivers 1 segment; its sample reaches back
        // to segment k's send: delivered = k + 1 - 0 (tx.delivered of the first was 0), over
        // max(send phase, ACK phase).
        let mut t = sock();
        t.rtt.min_rtt_us = 50_000;
        let segs: Vec<TxSeg> = (0..10)
            .map(|k| sent(k * 1000, u64::from(k) * 1000, &mut t))
            .collect();
        for (k, s) in segs.iter().enumerate() {
            let now = 50_000 + k as u64 * 1000;
            let mut rs = RateSample::new(t.in_flight());
            delivered(&mut t, &mut rs, s);
            t.stats.delivered += 1;
            t.packets_out -= 1;
            tcp_rate_gen(&mut t, 1, 0, now, &mut rs);
            // Send phase: segment k's send − the first's (k ms); ACK phase: now − the
            // delivered_mstamp when it was sent (0: nothing delivered yet) = 50 + k ms.
            assert_eq!(rs.delivered, k as i32 + 1);
            assert_eq!(rs.snd_interval_us, k as u32 * 1000);
            assert_eq!(u64::from(rs.rcv_interval_us), now);
            assert_eq!(rs.interval_us, now as i32);
        }
        // Everything delivered: a segment sent at 60 ms starts a new send phase, its
        // delivered_mstamp its own send time...
        let s = sent(10_000, 60_000, &mut t);
        assert_eq!(s.tx_delivered, 10);
        assert_eq!(s.tx_rate.delivered_mstamp, 60_000);
        let mut rs = RateSample::new(t.in_flight());
        delivered(&mut t, &mut rs, &s);
        t.stats.delivered += 1;
        tcp_rate_gen(&mut t, 1, 0, 110_000, &mut rs);
        // ... 1 segment over its RTT: 110 − 60 = 50 ms, 1000 B / 50 ms.
        assert_eq!((rs.delivered, rs.interval_us), (1, 50_000));
        assert_eq!(delivery_rate(&t), 20_000);
    }

    #[test]
    fn shorter_than_min_rtt_is_no_sample_and_app_limited_samples_only_raise() {
        let mut t = sock();
        t.rtt.min_rtt_us = 10_000;
        let s = sent(0, 0, &mut t);
        let mut rs = RateSample::new(1);
        delivered(&mut t, &mut rs, &s);
        t.stats.delivered += 1;
        tcp_rate_gen(&mut t, 1, 0, 5_000, &mut rs);
        assert_eq!(rs.interval_us, -1);
        // Nothing delivered with timing: invalid.
        let mut rs = RateSample::new(0);
        tcp_rate_gen(&mut t, 0, 0, 20_000, &mut rs);
        assert_eq!((rs.delivered, rs.interval_us), (-1, -1));
        // App-limited: the socket is idle with cwnd free.
        t.packets_out = 0;
        tcp_rate_check_app_limited(&mut t);
        assert_eq!(t.rate.app_limited, 1);
        t.rate.rate_delivered = 10;
        t.rate.rate_interval_us = 10_000;
        let s = sent(1000, 30_000, &mut t);
        assert!(s.tx_rate.is_app_limited);
        let mut rs = RateSample::new(1);
        delivered(&mut t, &mut rs, &s);
        t.stats.delivered += 1;
        tcp_rate_gen(&mut t, 1, 0, 45_000, &mut rs);
        // 1 segment in 15 ms is less than 10 in 10 ms: kept out. The bubble (delivered
        // count 1 when marked, nothing in flight) is delivered: app_limited clears.
        assert!(rs.is_app_limited);
        assert_eq!(
            (t.rate.rate_delivered, t.rate.rate_interval_us),
            (10, 10_000)
        );
        assert_eq!(t.rate.app_limited, 0);
    }
}
