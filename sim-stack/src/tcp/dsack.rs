//! D-SACK (RFC 2883), as tcp_input.c does it. The receiver reports a segment it got twice
//! in a first SACK block (`tcp_dsack_set`, `tcp_dsack_extend`; TCPDSACKOldSent below
//! `rcv_nxt`, TCPDSACKOfoSent for out-of-order data), sent once with the next segment
//! (`tcp_options_write` clears `rx_opt.dsack`). The sender recognises one
//! (`tcp_check_dsack`: the first block below the ACK, or inside the second), counts it
//! (`tcp_dsack_seen`: `dsack_dups`, TCPDSACKRecv, TCPDSACKOfoRecv, TCPDSACKRecvSegs) and
//! takes the retransmission it reports off `undo_retrans`, see [`super::undo`].

use super::{TcpSock, after, before};
use crate::stats::TcpExtStats;

/// `tcp_dsack_set`: report `[seq, end_seq)` as received twice (with SACK and
/// `net.ipv4.tcp_dsack`), replacing any block not yet sent.
pub(crate) fn tcp_dsack_set(
    t: &mut TcpSock,
    seq: u32,
    end_seq: u32,
    tcp_dsack: bool,
    ext: &mut TcpExtStats,
) {
    if t.sack_ok && tcp_dsack {
        if before(seq, t.rcv_nxt) {
            ext.TCPDSACKOldSent += 1;
        } else {
            ext.TCPDSACKOfoSent += 1;
        }
        t.dsack = Some((seq, end_seq));
    }
}

/// `tcp_dsack_extend`: widen the pending block to `[seq, end_seq)` if they touch
/// (`tcp_sack_extend`), or set one if none is pending.
pub(crate) fn tcp_dsack_extend(
    t: &mut TcpSock,
    seq: u32,
    end_seq: u32,
    tcp_dsack: bool,
    ext: &mut TcpExtStats,
) {
    match t.dsack {
        None => tcp_dsack_set(t, seq, end_seq, tcp_dsack, ext),
        Some((s, e)) => {
            if !after(seq, e) && !after(s, end_seq) {
                let s = if before(seq, s) { seq } else { s };
                let e = if after(end_seq, e) { end_seq } else { e };
                t.dsack = Some((s, e));
            }
        }
    }
}

/// `tcp_dsack_seen`: count the duplicates a D-SACK block reports (`dsack_dups`). Returns
/// them, or 0 for a dubious block (empty, wider than the largest window the peer
/// offered, or more duplicates than we ever retransmitted). `dsack_tlp` is set when it
/// reports the tail loss probe (`FLAG_DSACK_TLP`).
fn tcp_dsack_seen(t: &mut TcpSock, start: u32, end: u32, dsack_tlp: &mut bool) -> u32 {
    if !before(start, end) {
        return 0;
    }
    let len = end.wrapping_sub(start);
    if len > t.max_window {
        return 0;
    }
    let mss = t.mss_cache.max(1);
    let mut dup_segs = 1;
    if len > mss {
        dup_segs = len.div_ceil(mss);
    } else if t.recovery.tlp_high_seq == Some(end) {
        *dsack_tlp = true;
    }
    t.dsack_dups += dup_segs;
    if u64::from(t.dsack_dups) > t.stats.retrans {
        return 0;
    }
    // RACK widens its reordering window for D-SACKs that may come from reordering: not
    // without reordering seen, nor for the tail loss probe's (timer-driven).
    if t.reord_seen > 0 && !*dsack_tlp {
        t.recovery.rack_dsack_seen = true;
    }
    dup_segs
}

/// What `tcp_check_dsack` found in an ACK's SACK blocks.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DsackFound {
    /// The first block is a D-SACK (`found_dup_sack`).
    pub(crate) dup: bool,
    /// Duplicates it reported (`sack_delivered` grows by them).
    pub(crate) dup_segs: u32,
    /// It reported the tail loss probe (`FLAG_DSACK_TLP`).
    pub(crate) tlp: bool,
}

/// `tcp_check_dsack`: whether the first SACK block is a D-SACK (below the ACK:
/// TCPDSACKRecv; inside the second block: TCPDSACKOfoRecv), counted
/// (TCPDSACKRecvSegs; TCPDSACKIgnoredDubious when dubious); one below `prior_snd_una` is
/// taken off `undo_retrans` here, as its segment is gone from the queue.
pub(crate) fn tcp_check_dsack(
    t: &mut TcpSock,
    blocks: &[(u32, u32)],
    ack: u32,
    prior_snd_una: u32,
    ext: &mut TcpExtStats,
) -> DsackFound {
    let mut found = DsackFound::default();
    let Some(&(start0, end0)) = blocks.first() else {
        return found;
    };
    if before(start0, ack) {
        ext.TCPDSACKRecv += 1;
    } else if let Some(&(start1, end1)) = blocks.get(1) {
        if after(end0, end1) || before(start0, start1) {
            return found;
        }
        ext.TCPDSACKOfoRecv += 1;
    } else {
        return found;
    }
    let dup_segs = tcp_dsack_seen(t, start0, end0, &mut found.tlp);
    if dup_segs == 0 {
        ext.TCPDSACKIgnoredDubious += 1;
        return found;
    }
    found.dup = true;
    found.dup_segs = dup_segs;
    ext.TCPDSACKRecvSegs += u64::from(dup_segs);
    if let Some(marker) = t.recovery.undo_marker
        && t.recovery.undo_retrans > 0
        && !after(end0, prior_snd_una)
        && after(end0, marker)
    {
        t.recovery.undo_retrans = (t.recovery.undo_retrans - dup_segs as i32).max(0);
    }
    found
}

/// `tcp_is_sackblock_valid` for the D-SACK block: within what was sent, and below
/// `snd_una` only when an undo is possible and the block is not older than it (crossing
/// `undo_marker` by less than a window is taken). Returns the TcpExt counter to move when
/// it is not valid.
pub(crate) fn tcp_dsack_block_invalid(t: &TcpSock, start: u32, end: u32) -> Option<DsackIgnored> {
    if after(end, t.snd_nxt) || !before(start, end) {
        return Some(ignored(t));
    }
    if !before(start, t.snd_una) {
        return None;
    }
    let Some(marker) = t.recovery.undo_marker else {
        return Some(DsackIgnored::NoUndo);
    };
    if after(end, t.snd_una) {
        return Some(DsackIgnored::Old);
    }
    if !before(start, marker) {
        return None;
    }
    if !after(end, marker) {
        return Some(DsackIgnored::Old);
    }
    if !before(start, end.wrapping_sub(t.max_window)) {
        None
    } else {
        Some(DsackIgnored::Old)
    }
}

fn ignored(t: &TcpSock) -> DsackIgnored {
    if t.recovery.undo_marker.is_none() {
        DsackIgnored::NoUndo
    } else {
        DsackIgnored::Old
    }
}

/// Why `tcp_sacktag_write_queue` ignored a D-SACK block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DsackIgnored {
    /// TCPDSACKIgnoredNoUndo: no reduction to undo.
    NoUndo,
    /// TCPDSACKIgnoredOld: older than the reduction, or not valid.
    Old,
}
