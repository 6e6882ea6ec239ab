//! Loss recovery: the congestion state machine (`icsk_ca_state`), fast recovery with PRR,
//! RACK's most recently delivered segment and its walk hints, tail loss probes.

use sim_core::{SimDuration, SimTime};

use super::{CaState, TcpSock, before};

/// Loss-recovery state.
#[derive(Debug, Clone)]
pub struct Recovery {
    /// Recovery state.
    pub ca_state: CaState,
    /// `high_seq`: recovery ends when this is acknowledged.
    pub high_seq: u32,
    /// Duplicate ACKs in a row (when SACK is off).
    pub dupacks: u32,
    /// PRR: packets delivered since recovery began.
    pub prr_delivered: u32,
    /// PRR: packets sent since recovery began.
    pub prr_out: u32,
    /// cwnd when recovery began.
    pub prior_cwnd: u32,
    /// RACK (`tp->rack`): send time, end sequence and RTT of the most recently sent
    /// segment known delivered.
    pub rack_mstamp: Option<SimTime>,
    /// `rack.end_seq`.
    pub rack_end_seq: u32,
    /// `rack.rtt_us`.
    pub rack_rtt_us: u64,
    /// Where RACK's walk starts (the role of Linux's `tsorted_sent_queue`, which drops
    /// SACKed and lost segments): every segment of `wq` before this index is SACKed or
    /// marked lost, for good, so `tcp_rack_detect_loss` need not pass them again.
    pub rack_hint: usize,
    /// Where the search for a segment to retransmit starts (`retransmit_skb_hint`): no
    /// segment of `wq` before this index is lost, unSACKed and not being retransmitted.
    /// Marking a segment lost, or forgetting a retransmission, moves it back.
    pub rtx_hint: usize,
    /// `tlp_high_seq`: `snd_nxt` when the outstanding tail loss probe went out.
    pub tlp_high_seq: Option<u32>,
    /// `tlp_retrans`: that probe was a retransmission.
    pub tlp_retrans: bool,
    /// `retrans_stamp`: when the first retransmission of the current episode went out.
    pub retrans_stamp: Option<SimTime>,
    /// `undo_marker`: `snd_una` when the current reduction began, while it may still be
    /// undone (`None`: Linux's 0), see [`super::undo`].
    pub undo_marker: Option<u32>,
    /// `undo_retrans`: retransmissions of the episode not yet shown spurious by D-SACK
    /// (0: all were; -1: none were sent yet).
    pub undo_retrans: i32,
    /// `prior_ssthresh`: ssthresh before the reduction, restored by an undo (0: the
    /// reduction must stand, e.g. after ECE).
    pub prior_ssthresh: u32,
    /// `tp->frto`: F-RTO (RFC 5682) is running after this retransmission timeout.
    pub frto: bool,
    /// `rack.reo_wnd_steps`: RACK's reordering window in quarters of min_rtt, grown by
    /// D-SACKs (`tcp_rack_update_reo_wnd`).
    pub reo_wnd_steps: u32,
    /// `rack.reo_wnd_persist`: recoveries the grown window is kept for.
    pub reo_wnd_persist: u32,
    /// `rack.dsack_seen`: a D-SACK since the window last grew (with reordering seen).
    pub rack_dsack_seen: bool,
    /// `rack.last_delivered`: the delivered count when the window last grew.
    pub rack_last_delivered: u64,
}

impl Default for Recovery {
    fn default() -> Self {
        Self::new()
    }
}

impl Recovery {
    /// The state of a new socket.
    pub fn new() -> Self {
        Self {
            ca_state: CaState::Open,
            high_seq: 0,
            dupacks: 0,
            prr_delivered: 0,
            prr_out: 0,
            prior_cwnd: 0,
            rack_mstamp: None,
            rack_end_seq: 0,
            rack_rtt_us: 0,
            rack_hint: 0,
            rtx_hint: 0,
            tlp_high_seq: None,
            tlp_retrans: false,
            retrans_stamp: None,
            undo_marker: None,
            undo_retrans: 0,
            prior_ssthresh: 0,
            frto: false,
            reo_wnd_steps: 1,
            reo_wnd_persist: 0,
            rack_dsack_seen: false,
            rack_last_delivered: 0,
        }
    }
}

/// `tcp_rack_detect_loss`: every unSACKed segment sent before the most recently delivered
/// one (RACK's `mstamp`) is lost once the RACK RTT plus the reordering window has passed
/// since it was sent. The window is min_rtt/4 times `reo_wnd_steps` (at most srtt), or 0 in recovery or with the
/// reordering degree's worth of segments SACKed as long as no reordering was seen. Returns how many it marked, and how long until the
/// next candidate would be lost, for the reordering timer.
pub(crate) fn tcp_rack_detect_loss(t: &mut TcpSock, now: SimTime) -> (u32, Option<SimDuration>) {
    let Some(rack_xt) = t.recovery.rack_mstamp else {
        return (0, None);
    };
    // tcp_rack_reo_wnd: until reordering is seen, none in recovery or once the reordering
    // degree's worth of segments is SACKed.
    let reo_wnd = if t.reord_seen == 0
        && (matches!(t.recovery.ca_state, CaState::Recovery | CaState::Loss)
            || t.sacked_out >= t.reordering)
    {
        0
    } else {
        (u64::from(t.rtt.min_rtt_us >> 2) * u64::from(t.recovery.reo_wnd_steps))
            .min(u64::from(t.rtt.srtt_us >> 3))
    };
    let deadline_us = t.recovery.rack_rtt_us + reo_wnd;
    #[cfg(debug_assertions)]
    let expect = {
        let mut wq = t.wq.clone();
        rack_detect_loss_walk_all(
            &mut wq,
            (rack_xt, t.recovery.rack_end_seq),
            deadline_us,
            now,
        )
    };
    debug_assert!(
        t.wq.iter()
            .take(t.recovery.rack_hint)
            .all(|w| w.sacked || w.lost)
    );
    let (mut lost, mut retrans_lost) = (0u32, 0u32);
    let mut wait_us: Option<u64> = None;
    // Linux walks `tsorted_sent_queue`, which holds neither SACKed segments nor lost ones
    // not yet retransmitted, in send order, and stops at the first segment sent after the
    // RACK one. The queue here is in sequence order, where first transmissions are also in
    // send order and a retransmission is later than its first: past a never-retransmitted
    // segment sent after, every segment was sent after too. The walk starts at
    // `rack_hint`, past the SACKed and lost segments earlier walks have seen.
    let mut i = t.recovery.rack_hint;
    let mut advance_hint = true;
    while let Some(seg) = t.wq.get_mut(i) {
        let Some(xt) = seg.sent_at else { break };
        let sent_after =
            xt > rack_xt || (xt == rack_xt && !before(seg.end_seq(), t.recovery.rack_end_seq));
        if sent_after && seg.retrans == 0 {
            break;
        }
        i += 1;
        if seg.sacked || seg.lost {
            if advance_hint {
                t.recovery.rack_hint = i;
            }
            continue;
        }
        if sent_after {
            // A retransmission sent after the RACK one: it may be judged on a later ACK.
            advance_hint = false;
            continue;
        }
        let waited = now.saturating_since(xt).as_nanos() / 1000;
        if waited >= deadline_us {
            seg.lost = true;
            lost += 1;
            if seg.retrans_out {
                seg.retrans_out = false;
                retrans_lost += 1;
            }
            t.recovery.rtx_hint = t.recovery.rtx_hint.min(i - 1);
            if advance_hint {
                t.recovery.rack_hint = i;
            }
        } else {
            let left = deadline_us - waited;
            wait_us = Some(wait_us.map_or(left, |w| w.min(left)));
            if seg.retrans == 0 {
                // Every segment after this one was sent (or retransmitted) after this
                // one's first transmission: none has waited longer, none is lost yet, and
                // none has less time left.
                break;
            }
            advance_hint = false;
        }
    }
    t.retrans_out -= retrans_lost;
    #[cfg(debug_assertions)]
    {
        debug_assert_eq!((lost, wait_us), expect.0);
        debug_assert!(t.wq.iter().map(|w| (w.lost, w.retrans_out)).eq(expect.1));
    }
    (lost, wait_us.map(SimDuration::from_micros))
}

/// The whole RACK walk, as it was before the hints, to check them against in debug builds:
/// the losses, the shortest wait left, and the segments' (lost, retransmitting) after it.
#[cfg(debug_assertions)]
#[allow(clippy::type_complexity)]
pub(crate) fn rack_detect_loss_walk_all(
    wq: &mut std::collections::VecDeque<super::TxSeg>,
    (rack_xt, rack_end_seq): (SimTime, u32),
    deadline_us: u64,
    now: SimTime,
) -> ((u32, Option<u64>), Vec<(bool, bool)>) {
    let mut lost = 0u32;
    let mut wait_us: Option<u64> = None;
    for seg in wq.iter_mut() {
        let Some(xt) = seg.sent_at else { break };
        let sent_after = xt > rack_xt || (xt == rack_xt && !before(seg.end_seq(), rack_end_seq));
        if sent_after && seg.retrans == 0 {
            break;
        }
        if seg.sacked || seg.lost || sent_after {
            continue;
        }
        let waited = now.saturating_since(xt).as_nanos() / 1000;
        if waited >= deadline_us {
            seg.lost = true;
            lost += 1;
            seg.retrans_out = false;
        } else {
            let left = deadline_us - waited;
            wait_us = Some(wait_us.map_or(left, |w| w.min(left)));
        }
    }
    (
        (lost, wait_us),
        wq.iter().map(|w| (w.lost, w.retrans_out)).collect(),
    )
}

/// `TCP_RACK_RECOVERY_THRESH`: recoveries a grown reordering window persists.
pub(crate) const TCP_RACK_RECOVERY_THRESH: u32 = 16;

/// `tcp_rack_update_reo_wnd`: after an ACK that delivered something sent when the
/// connection had delivered `prior_delivered`, a D-SACK seen since the window last grew
/// (and not older than that) widens it by a quarter min_rtt (up to 255 steps) for
/// [`TCP_RACK_RECOVERY_THRESH`] recoveries; once they are spent it is one step again.
/// `delivered`: the delivered count with this ACK's.
pub(crate) fn tcp_rack_update_reo_wnd(t: &mut TcpSock, prior_delivered: u64, delivered: u64) {
    if prior_delivered == 0 {
        return;
    }
    let r = &mut t.recovery;
    if prior_delivered < r.rack_last_delivered {
        r.rack_dsack_seen = false;
    }
    if r.rack_dsack_seen {
        r.reo_wnd_steps = (r.reo_wnd_steps + 1).min(0xFF);
        r.rack_dsack_seen = false;
        r.rack_last_delivered = delivered;
        r.reo_wnd_persist = TCP_RACK_RECOVERY_THRESH;
    } else if r.reo_wnd_persist == 0 {
        r.reo_wnd_steps = 1;
    }
}

/// `tcp_enter_recovery`: ssthresh from the congestion control, PRR from here; a reduction
/// already under way (CWR) keeps its ssthresh and PRR counts. The undo state starts
/// (`tcp_init_undo`), with `prior_ssthresh` unless the ACK carried ECE or CWR was on.
pub(crate) fn tcp_enter_recovery(
    t: &mut TcpSock,
    ece_ack: bool,
    ext: &mut crate::stats::TcpExtStats,
) {
    if t.sack_ok {
        ext.TCPSackRecovery += 1;
    } else {
        ext.TCPRenoRecovery += 1;
    }
    t.recovery.prior_ssthresh = 0;
    super::undo::tcp_init_undo(t);
    if t.recovery.ca_state != CaState::Cwr {
        if !ece_ack {
            t.recovery.prior_ssthresh = super::undo::tcp_current_ssthresh(t);
        }
        tcp_init_cwnd_reduction(t);
    }
    if t.recovery.ca_state != CaState::Recovery {
        super::cong::tcp_ca_enter_recovery(t);
    }
    t.recovery.ca_state = CaState::Recovery;
    t.recovery.high_seq = t.snd_nxt;
    t.stats.fast_recoveries += 1;
}

/// `tcp_init_cwnd_reduction`: ssthresh from the congestion control, PRR from here.
fn tcp_init_cwnd_reduction(t: &mut TcpSock) {
    t.recovery.high_seq = t.snd_nxt;
    t.recovery.tlp_high_seq = None;
    t.cwnd_cnt = 0;
    t.recovery.prior_cwnd = t.cwnd;
    t.recovery.prr_delivered = 0;
    t.recovery.prr_out = 0;
    t.ssthresh = super::cong::tcp_ca_ssthresh(t);
    t.ecn.queue_cwr();
}

/// `tcp_enter_cwr`: the local qdisc refused or congestion-marked a packet
/// (`NET_XMIT_DROP`/`NET_XMIT_CN` from `tcp_transmit_skb`): reduce cwnd by PRR towards the
/// congestion control's ssthresh, once per window (until `high_seq` is passed).
pub(crate) fn tcp_enter_cwr(t: &mut TcpSock) {
    t.recovery.prior_ssthresh = 0;
    if matches!(t.recovery.ca_state, CaState::Open | CaState::Disorder) {
        t.recovery.undo_marker = None;
        tcp_init_cwnd_reduction(t);
        t.recovery.ca_state = CaState::Cwr;
    }
}
