//! The ACK policy (`icsk_ack`): quick-ACK mode, interactive (ping-pong) detection, the
//! delayed-ACK timeout estimate `ato`, the ACK flags (`ICSK_ACK_NOW`, `ICSK_ACK_PUSHED`), the
//! receiver's MSS estimate and compressed SACK's budget.

use sim_core::SimTime;

use super::input::tcp_header_len;
use super::{TCP_ATO_MIN, TCP_MAX_QUICKACKS, TcpSock, TcpState};
use crate::wire::TcpFlags;

use super::rcv_window::{raw_select_window, tcp_grow_window, tcp_rcv_rtt_measure, win_from_space};

/// When to acknowledge (`inet_connection_sock.icsk_ack` and compressed SACK).
#[derive(Debug, Clone)]
pub struct AckState {
    /// An ACK is owed.
    pub pending: bool,
    /// Quick ACKs left (`icsk_ack.quick`).
    pub quick: u32,
    /// Interactive (ping-pong) mode counter.
    pub pingpong: u32,
    /// Delayed-ACK timeout estimate (`ato`).
    pub ato: sim_core::SimDuration,
    /// When data was last received (`lrcvtime`).
    pub lrcvtime: SimTime,
    /// ACK immediately (`ICSK_ACK_NOW`).
    pub ack_now: bool,
    /// `ICSK_ACK_PUSHED`: a pushed or short segment arrived since the last ACK.
    pub pushed: bool,
    /// `ICSK_ACK_PUSHED2`: a second one did.
    pub pushed2: bool,
    /// Compressed-SACK state: duplicate ACKs sent at once for the current `rcv_nxt`
    /// (`dup_ack_counter`).
    pub dup_ack_counter: u32,
    /// `compressed_ack_rcv_nxt`: the `rcv_nxt` that budget is for.
    pub compressed_ack_rcv_nxt: u32,
    /// `compressed_ack`: SACKs held back behind the compressed-SACK timer.
    pub compressed_ack: u32,
    /// `icsk_ack.rcv_mss`: estimate of the peer's segment size.
    pub rcv_mss: u32,
    /// `icsk_ack.last_seg_size`: the size of the last short segment (`tcp_measure_rcv_mss`).
    pub last_seg_size: u32,
}

impl Default for AckState {
    fn default() -> Self {
        Self::new()
    }
}

impl AckState {
    /// The state of a new socket.
    pub fn new() -> Self {
        Self {
            pending: false,
            quick: 0,
            pingpong: 0,
            ato: sim_core::SimDuration::ZERO,
            lrcvtime: SimTime::ZERO,
            ack_now: false,
            pushed: false,
            pushed2: false,
            dup_ack_counter: 0,
            compressed_ack_rcv_nxt: 0,
            compressed_ack: 0,
            rcv_mss: 536,
            last_seg_size: 0,
        }
    }
}

/// `tcp_incr_quickack`: allow quick ACKs for about half a window of full segments.
pub(crate) fn tcp_incr_quickack(t: &mut TcpSock, max: u32, rcv_wnd: u32, rcv_mss: u32) {
    let mut quickacks = rcv_wnd / (2 * rcv_mss.max(1));
    if quickacks == 0 {
        quickacks = 2;
    }
    quickacks = quickacks.min(max);
    if quickacks > t.ack.quick {
        t.ack.quick = quickacks;
    }
}

/// `tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS)`.
pub(crate) fn tcp_enter_quickack(t: &mut TcpSock) {
    tcp_enter_quickack_mode(t, TCP_MAX_QUICKACKS);
}

/// `tcp_enter_quickack_mode`: up to `max_quickacks` quick ACKs, out of ping-pong mode.
pub(crate) fn tcp_enter_quickack_mode(t: &mut TcpSock, max_quickacks: u32) {
    let (w, m) = (t.rwin.rcv_wnd, t.ack.rcv_mss);
    tcp_incr_quickack(t, max_quickacks, w, m);
    t.ack.pingpong = 0;
    t.ack.ato = TCP_ATO_MIN;
}

/// `tcp_measure_rcv_mss`: learn the peer's segment size (a GRO packet's `gso_size`, else
/// the payload), and from a full segment the payload/truesize `scaling_ratio` (of the
/// whole skb), which re-derives the window clamp.
pub(crate) fn tcp_measure_rcv_mss(t: &mut TcpSock, seg: &RxSeg) {
    let RxSeg {
        truesize,
        hdr_len,
        flags,
        ..
    } = *seg;
    let lss = t.ack.last_seg_size;
    t.ack.last_seg_size = 0;
    let len = if seg.gso_size > 0 {
        seg.gso_size
    } else {
        seg.len
    };
    if len >= t.ack.rcv_mss {
        if len != t.ack.rcv_mss {
            let ratio =
                ((u64::from(seg.len) << 8) / u64::from(truesize.max(1))).clamp(1, 255) as u32;
            let old = t.rwin.scaling_ratio;
            t.rwin.scaling_ratio = ratio;
            if old != ratio {
                let val = win_from_space(ratio, t.sk.rcvbuf);
                super::rcv_window::tcp_set_window_clamp(t, val);
                if t.rwin.window_clamp < t.rwin.rcvq_space {
                    t.rwin.rcvq_space = t.rwin.window_clamp;
                }
            }
        }
        t.ack.rcv_mss = len.min(t.advmss);
        if flags.contains(TcpFlags::PSH) {
            t.ack.pushed = true;
        }
    } else {
        // Short segment: a stable size below the MSS (without the fixed header) becomes
        // the estimate; a pushed or odd one marks the ACK as pushed.
        let full = len + hdr_len;
        // TCP_REMNANT.
        let remnant = flags.bits() & 0x2b != 0;
        if full >= 536 + 20 || (full >= 88 + 20 && !remnant) {
            let l = full - tcp_header_len(t);
            t.ack.last_seg_size = l;
            if l == lss {
                t.ack.rcv_mss = l;
                return;
            }
        }
        if t.ack.pushed {
            t.ack.pushed2 = true;
        }
        t.ack.pushed = true;
    }
}

/// `tcp_event_data_recv`, after the skb was queued: the segment-size estimate and scaling
/// ratio, the receiver RTT, the delayed-ACK estimator (`ato`) with the first data's
/// quick-ACK credit, and receive-window growth (`tcp_grow_window`).
pub(crate) fn tcp_event_data_recv(t: &mut TcpSock, seg: &RxSeg, now: SimTime, rmem_max: u32) {
    t.ack.pending = true;
    tcp_measure_rcv_mss(t, seg);
    tcp_rcv_rtt_measure(t, now);
    if t.ack.ato.is_zero() {
        let (w, m) = (t.rwin.rcv_wnd, t.ack.rcv_mss);
        tcp_incr_quickack(t, TCP_MAX_QUICKACKS, w, m);
        t.ack.ato = TCP_ATO_MIN;
    } else {
        let m = now.saturating_since(t.ack.lrcvtime);
        if m <= TCP_ATO_MIN / 2 {
            t.ack.ato = t.ack.ato / 2 + TCP_ATO_MIN / 2;
        } else if m < t.ack.ato {
            t.ack.ato = (t.ack.ato / 2 + m).min(t.rtt.rto);
        } else if m > t.rtt.rto {
            let (w, mss) = (t.rwin.rcv_wnd, t.ack.rcv_mss);
            tcp_incr_quickack(t, TCP_MAX_QUICKACKS, w, mss);
        }
    }
    t.ack.lrcvtime = now;
    if seg.len >= 128 {
        tcp_grow_window(t, seg.len, seg.truesize, rmem_max);
    }
}

/// `tcp_initialize_rcv_mss`: the first guess of the peer's segment size (536, in practice).
pub(crate) fn tcp_initialize_rcv_mss(t: &mut TcpSock) {
    let hint = t
        .advmss
        .min(t.mss_cache)
        .min(t.rwin.rcv_wnd / 2)
        .clamp(88, 536);
    t.ack.rcv_mss = hint;
}

/// `tcp_cleanup_rbuf`'s test after a read: ACK at once when an ACK is owed for more than a
/// segment, or when the window we could offer is at least twice what the peer knows.
pub fn should_ack_after_read(t: &mut TcpSock) -> bool {
    if !matches!(
        t.state,
        TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
    ) {
        return false;
    }
    if t.ack.pending
        && (t.rcv_nxt.wrapping_sub(t.rwin.rcv_wup) > t.ack.rcv_mss
            || ((t.ack.pushed2 || (t.ack.pushed && t.ack.pingpong == 0)) && t.rmem_alloc == 0))
    {
        return true;
    }
    if t.fin_received {
        return false;
    }
    let now_wnd = t
        .rwin
        .rcv_wup
        .wrapping_add(t.rwin.rcv_wnd)
        .wrapping_sub(t.rcv_nxt);
    if 2 * now_wnd > t.rwin.window_clamp {
        return false;
    }
    let new = raw_select_window(t);
    new != 0 && new >= 2 * now_wnd
}

/// What `tcp_event_data_recv` needs of a received data segment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RxSeg {
    pub(crate) len: u32,
    /// `skb_shinfo(skb)->gso_size` (0: not a GRO packet).
    pub(crate) gso_size: u32,
    pub(crate) truesize: u32,
    pub(crate) hdr_len: u32,
    pub(crate) flags: TcpFlags,
}
