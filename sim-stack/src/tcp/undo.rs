//! Undoing a cwnd reduction that proved spurious, as tcp_input.c does it: the undo state
//! (`undo_marker`, `undo_retrans`, `prior_ssthresh`, with `prior_cwnd` and `retrans_stamp`
//! kept in [`super::recovery::Recovery`]), the evidence (D-SACKs for every retransmission,
//! `undo_retrans` reaching 0; or a timestamp echo older than the first retransmission,
//! Eifel's `tcp_packet_delayed`), the undo itself (`tcp_undo_cwnd_reduction`) and the
//! points of `tcp_fastretrans_alert` / `tcp_process_loss` that try it:
//! `tcp_try_undo_recovery` (TCPFullUndo, TCPLossUndo), `tcp_try_undo_dsack`
//! (TCPDSACKUndo), `tcp_try_undo_partial` (TCPPartialUndo), `tcp_try_undo_loss`
//! (TCPLossUndo, TCPSpuriousRTOs with F-RTO).

use super::output::tcp_time_stamp;
use super::{CaState, TcpSock, before};
use crate::stats::TcpExtStats;

/// `tcp_current_ssthresh`: in a cwnd reduction, ssthresh; otherwise at least 3/4 of cwnd.
pub(crate) fn tcp_current_ssthresh(t: &TcpSock) -> u32 {
    if matches!(t.recovery.ca_state, CaState::Cwr | CaState::Recovery) {
        t.ssthresh
    } else {
        t.ssthresh.max((t.cwnd >> 1) + (t.cwnd >> 2))
    }
}

/// `tcp_init_undo`: the reduction starting now may be undone; retransmissions still in
/// flight (with a retransmitted tail loss probe) may yet be D-SACKed.
pub(crate) fn tcp_init_undo(t: &mut TcpSock) {
    t.recovery.undo_marker = Some(t.snd_una);
    let mut r = t.retrans_out as i32;
    if t.recovery.tlp_high_seq.is_some() && t.recovery.tlp_retrans {
        r += 1;
    }
    // 0 would mean "all D-SACKed: undo now".
    t.recovery.undo_retrans = if r == 0 { -1 } else { r };
}

/// `tcp_retransmit_skb`'s tail: one more retransmission that a D-SACK may show spurious.
pub(crate) fn tcp_undo_count_retrans(t: &mut TcpSock, pcount: u32) {
    if t.recovery.undo_retrans < 0 {
        t.recovery.undo_retrans = 0;
    }
    t.recovery.undo_retrans += pcount as i32;
}

/// `tcp_any_retrans_done`: a retransmission is in flight, or the head was retransmitted.
pub(crate) fn tcp_any_retrans_done(t: &TcpSock) -> bool {
    t.retrans_out > 0 || t.wq.front().is_some_and(|w| w.retrans > 0)
}

/// `tcp_retrans_stamp_cleanup`: no retransmission left: the episode's clock stops.
pub(crate) fn tcp_retrans_stamp_cleanup(t: &mut TcpSock) {
    if !tcp_any_retrans_done(t) {
        t.recovery.retrans_stamp = None;
    }
}

/// `tcp_tsopt_ecr_before`: the ACK's timestamp echo (`rcv_tsecr`, our clock without
/// `tsoffset`) is before `when` (ms).
fn tcp_tsopt_ecr_before(tsecr: Option<u32>, when: u32) -> bool {
    tsecr.is_some_and(|e| e != 0 && before(e, when))
}

/// `tcp_packet_delayed`: the ACK echoes a timestamp older than the first retransmission
/// (Eifel), or nothing was retransmitted yet. `tsecr`: the ACK's echo, less `ts_off`.
pub(crate) fn tcp_packet_delayed(t: &TcpSock, tsecr: Option<u32>) -> bool {
    if let Some(stamp) = t.recovery.retrans_stamp {
        return tcp_tsopt_ecr_before(tsecr, tcp_time_stamp(stamp));
    }
    // (1) without SACK, tcp_is_non_sack_preventing_reopen cleared retrans_stamp.
    if !t.sack_ok && !before(t.snd_una, t.recovery.high_seq) {
        return false;
    }
    // (2) a SYN_RECV child's SYN-ACK retransmission.
    t.state != super::TcpState::SynRecv
}

/// `tcp_may_undo`: a reduction to undo, and proof it was spurious.
pub(crate) fn tcp_may_undo(t: &TcpSock, tsecr: Option<u32>) -> bool {
    t.recovery.undo_marker.is_some()
        && (t.recovery.undo_retrans == 0 || tcp_packet_delayed(t, tsecr))
}

/// `tcp_undo_cwnd_reduction`: cwnd back (`undo_cwnd`), ssthresh back from
/// `prior_ssthresh` (withdrawing a queued CWR); `unmark_loss` forgets every loss mark.
pub(crate) fn tcp_undo_cwnd_reduction(t: &mut TcpSock, unmark_loss: bool) {
    if unmark_loss {
        for w in t.wq.iter_mut() {
            w.lost = false;
        }
        t.lost_out = 0;
        // tcp_clear_all_retrans_hints.
        t.recovery.rtx_hint = 0;
        t.recovery.rack_hint = 0;
    }
    if t.recovery.prior_ssthresh != 0 {
        t.cwnd = super::cong::tcp_ca_undo_cwnd(t);
        if t.recovery.prior_ssthresh > t.ssthresh {
            t.ssthresh = t.recovery.prior_ssthresh;
            // tcp_ecn_withdraw_cwr.
            t.ecn.queue_cwr = false;
        }
    }
    t.recovery.undo_marker = None;
}

/// `tcp_is_non_sack_preventing_reopen`: without SACK, Recovery (or Loss) holds until
/// something above `high_seq` is acknowledged (RFC 2582).
pub(crate) fn tcp_is_non_sack_preventing_reopen(t: &mut TcpSock) -> bool {
    if t.snd_una == t.recovery.high_seq && !t.sack_ok {
        tcp_retrans_stamp_cleanup(t);
        return true;
    }
    false
}

/// `tcp_try_undo_recovery`, when `high_seq` is acknowledged in Recovery or Loss: undo if
/// it may (TCPFullUndo, or TCPLossUndo from Loss), then Open, unless a connection without
/// SACK must hold the state (returns true then).
pub(crate) fn tcp_try_undo_recovery(
    t: &mut TcpSock,
    tsecr: Option<u32>,
    ext: &mut TcpExtStats,
) -> bool {
    if tcp_may_undo(t, tsecr) {
        tcp_undo_cwnd_reduction(t, false);
        if t.recovery.ca_state == CaState::Loss {
            ext.TCPLossUndo += 1;
        } else {
            ext.TCPFullUndo += 1;
        }
    } else if t.recovery.reo_wnd_persist > 0 {
        // A recovery not undone spends one of the widened window's.
        t.recovery.reo_wnd_persist -= 1;
    }
    if tcp_is_non_sack_preventing_reopen(t) {
        return true;
    }
    t.recovery.ca_state = CaState::Open;
    false
}

/// `tcp_try_undo_dsack`: D-SACKs covered every retransmission: undo (TCPDSACKUndo).
pub(crate) fn tcp_try_undo_dsack(t: &mut TcpSock, ext: &mut TcpExtStats) -> bool {
    if t.recovery.undo_marker.is_some() && t.recovery.undo_retrans == 0 {
        t.recovery.reo_wnd_persist =
            (t.recovery.reo_wnd_persist + 1).min(super::recovery::TCP_RACK_RECOVERY_THRESH);
        tcp_undo_cwnd_reduction(t, false);
        ext.TCPDSACKUndo += 1;
        return true;
    }
    false
}

/// `tcp_try_undo_loss`: in Loss, undo when it may, or when F-RTO found the timeout
/// spurious (`frto_undo`: TCPSpuriousRTOs too); the retransmission backoff is forgotten.
/// Returns whether it undid.
pub(crate) fn tcp_try_undo_loss(
    t: &mut TcpSock,
    frto_undo: bool,
    tsecr: Option<u32>,
    ext: &mut TcpExtStats,
) -> bool {
    if frto_undo || tcp_may_undo(t, tsecr) {
        tcp_undo_cwnd_reduction(t, true);
        ext.TCPLossUndo += 1;
        if frto_undo {
            ext.TCPSpuriousRTOs += 1;
        }
        t.timers.retransmits = 0;
        if tcp_is_non_sack_preventing_reopen(t) {
            return true;
        }
        if frto_undo || t.sack_ok {
            t.recovery.ca_state = CaState::Open;
        }
        return true;
    }
    false
}

/// `tcp_try_keep_open`: Disorder while segments are SACKed, lost or retransmitted, else
/// Open (a change restarts `high_seq`).
pub(crate) fn tcp_try_keep_open(t: &mut TcpSock) {
    let state = if t.sacked_out + t.lost_out > 0 || tcp_any_retrans_done(t) {
        CaState::Disorder
    } else {
        CaState::Open
    };
    if t.recovery.ca_state != state {
        t.recovery.ca_state = state;
        t.recovery.high_seq = t.snd_nxt;
    }
}

/// `tcp_try_to_open`: after an undo or with nothing lost: stop the retransmission clock
/// if nothing is retransmitted, reduce once on ECE (CWR), else Open or Disorder.
pub(crate) fn tcp_try_to_open(t: &mut TcpSock, ece: bool) {
    tcp_retrans_stamp_cleanup(t);
    if ece {
        super::recovery::tcp_enter_cwr(t);
    }
    if t.recovery.ca_state != CaState::Cwr {
        tcp_try_keep_open(t);
    }
}

/// What `tcp_try_undo_partial` decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartialUndo {
    /// No evidence of a delayed packet.
    No,
    /// Delayed, but retransmissions are still out: send new data only
    /// (`tcp_fastretrans_alert` returns).
    Hold,
    /// Undone (TCPPartialUndo), Open or Disorder now.
    Undone,
}

/// `tcp_try_undo_partial`: a partial ACK in Recovery echoing a timestamp from before the
/// first retransmission: the hole was filled by a delayed original. (Its reordering
/// update, `tcp_check_sack_reordering` with TCPTSReorder, is the caller's, on Hold and
/// Undone.)
pub(crate) fn tcp_try_undo_partial(
    t: &mut TcpSock,
    tsecr: Option<u32>,
    ext: &mut TcpExtStats,
) -> PartialUndo {
    if t.recovery.undo_marker.is_some() && tcp_packet_delayed(t, tsecr) {
        if t.retrans_out > 0 {
            return PartialUndo::Hold;
        }
        tcp_retrans_stamp_cleanup(t);
        tcp_undo_cwnd_reduction(t, true);
        ext.TCPPartialUndo += 1;
        tcp_try_keep_open(t);
        return PartialUndo::Undone;
    }
    PartialUndo::No
}

/// What `tcp_process_loss` asks `tcp_xmit_recovery` to send (`REXMIT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rexmit {
    /// Nothing (`REXMIT_NONE`): the state machine returned early.
    None,
    /// Retransmit what is marked lost (`REXMIT_LOST`).
    Lost,
    /// F-RTO step 2b: new data instead (`REXMIT_NEW`).
    New,
}

/// The parts of an ACK `tcp_process_loss` reads (its `flag` bits and `num_dupack`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct LossAck {
    /// `FLAG_SND_UNA_ADVANCED`.
    pub(crate) advanced: bool,
    /// `FLAG_ORIG_SACK_ACKED`: a never-retransmitted segment up to `high_seq` was
    /// (S)ACKed.
    pub(crate) orig_sack_acked: bool,
    /// `FLAG_DATA_SACKED`: something newly SACKed.
    pub(crate) data_sacked: bool,
    /// `num_dupack > 0`.
    pub(crate) dupack: bool,
    /// Unsent data fits in the peer's window (`!tcp_write_queue_empty` and
    /// `after(tcp_wnd_end, snd_nxt)`).
    pub(crate) can_send_new: bool,
    /// The ACK's timestamp echo, less `ts_off`.
    pub(crate) tsecr: Option<u32>,
}

/// `tcp_process_loss`: an ACK in the Loss state. Undo on proof (`tcp_try_undo_loss`);
/// F-RTO (RFC 5682, SACK-enhanced): after the first ACK that advances, send new data
/// (step 2b), and if the next one (S)ACKs never-retransmitted data the timeout was
/// spurious (step 3b), if it is a duplicate the loss was real (3a); Open once `high_seq`
/// is acknowledged (`tcp_try_undo_recovery`).
pub(crate) fn tcp_process_loss(t: &mut TcpSock, a: LossAck, ext: &mut TcpExtStats) -> Rexmit {
    let recovered = !before(t.snd_una, t.recovery.high_seq);
    if a.advanced && tcp_try_undo_loss(t, false, a.tsecr, ext) {
        return Rexmit::None;
    }
    if t.recovery.frto {
        if a.orig_sack_acked && tcp_try_undo_loss(t, true, a.tsecr, ext) {
            return Rexmit::None;
        }
        if super::after(t.snd_nxt, t.recovery.high_seq) {
            if a.data_sacked || a.dupack {
                t.recovery.frto = false;
            }
        } else if a.advanced && !recovered {
            t.recovery.high_seq = t.snd_nxt;
            if a.can_send_new {
                return Rexmit::New;
            }
            t.recovery.frto = false;
        }
    }
    if recovered {
        tcp_try_undo_recovery(t, a.tsecr, ext);
        return Rexmit::None;
    }
    Rexmit::Lost
}

/// `tcp_enter_loss`'s undo part, before cwnd and ssthresh change: when ssthresh is to be
/// reduced (not already inside this window), remember `prior_ssthresh` and `prior_cwnd`
/// (the caller starts the undo state, `tcp_init_undo`, once the losses are marked).
/// Returns whether ssthresh is to be reduced.
pub(crate) fn tcp_enter_loss_undo(t: &mut TcpSock, icsk_retransmits: u32) -> bool {
    let state = t.recovery.ca_state;
    let reduce = matches!(state, CaState::Open | CaState::Disorder)
        || !super::after(t.recovery.high_seq, t.snd_una)
        || (state == CaState::Loss && icsk_retransmits == 0);
    if reduce {
        t.recovery.prior_ssthresh = tcp_current_ssthresh(t);
        t.recovery.prior_cwnd = t.cwnd;
    }
    reduce
}

/// `tcp_enter_loss`'s F-RTO decision: on (`net.ipv4.tcp_frto`) for a new recovery or a
/// repeated timeout of the same `snd_una` (RFC 5682 3.2); MTU probing is not modeled.
pub(crate) fn tcp_enter_loss_frto(t: &mut TcpSock, tcp_frto: u32, new_recovery: bool) {
    t.recovery.frto = tcp_frto != 0 && (new_recovery || t.timers.retransmits > 0);
}
