//! TCP timers: the retransmission timer (`tcp_retransmit_timer`, with SYN retries and the
//! linear SYN timeouts of recent kernels), the delayed-ACK timer (`tcp_delack_timer`), and
//! the TIME_WAIT / orphaned FIN_WAIT_2 timer.

use sim_core::{SimDuration, SimTime, TimerId};

use super::{CaState, TCP_RTO_MAX, TcpSock, TcpState, after};
use crate::ctx::NetCtx;
use crate::event::Event;
use crate::node::Node;
use crate::sock::trace_sock_err;
use crate::sock::{Errno, SockId};
use crate::tcp::output::{
    tcp_reset_rtx_timer, tcp_retransmit_seg, tcp_send_ack, tcp_write_xmit,
    tcp_xmit_retransmit_queue,
};
use crate::tcp::tcp_done;

/// Which of a connection's timers fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpTimerKind {
    /// Retransmission (or SYN / SYN-ACK retry).
    Retransmit,
    /// Delayed ACK.
    DelAck,
    /// TIME_WAIT over, or FIN_WAIT_2 timeout of an orphan.
    TimeWait,
    /// Tail loss probe (`ICSK_TIME_LOSS_PROBE`), on the retransmission timer.
    LossProbe,
    /// RACK's reordering timeout (`ICSK_TIME_REO_TIMEOUT`), on the retransmission timer.
    ReoTimeout,
    /// The compressed-SACK timer (`compressed_ack_timer`, an hrtimer of its own).
    CompressedAck,
    /// The zero-window probe timer (`ICSK_TIME_PROBE0`), on the retransmission timer.
    Probe0,
    /// The pacing hrtimer (`tp->pacing_timer`, `tcp_pace_kernel`): the departure time of
    /// the next paced packet came.
    Pacing,
}

/// `tcp_model_timeout(sk, boundary, TCP_RTO_MIN)`: how long `boundary` retransmissions take
/// with an RTO starting at 200 ms, doubling, and capped at 120 s.
pub fn tcp_model_timeout(boundary: u8) -> SimDuration {
    let rto_base = u64::from(super::TCP_RTO_MIN_US) / 1000;
    let max_ms = TCP_RTO_MAX.as_nanos() / 1_000_000;
    // ilog2(TCP_RTO_MAX / rto_base) = 9.
    let thresh = u64::from(63 - (max_ms / rto_base).leading_zeros());
    let b = u64::from(boundary);
    let ms = if b <= thresh {
        ((2u64 << b) - 1) * rto_base
    } else {
        ((2u64 << thresh) - 1) * rto_base + (b - thresh) * max_ms
    };
    SimDuration::from_millis(ms)
}

/// `tcp_syn_linear_timeouts`: the first retries of a SYN keep the initial timeout.
const SYN_LINEAR_TIMEOUTS: u32 = 4;

/// Arms timer `which` of connection `sock` on `node` to fire at `at`: the one place a
/// `TcpTimer` event is built.
pub(crate) fn tcp_arm_timer(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    which: TcpTimerKind,
    at: sim_core::SimTime,
) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if matches!(
        which,
        TcpTimerKind::Retransmit | TcpTimerKind::LossProbe | TcpTimerKind::ReoTimeout
    ) {
        t.timers.probe0_pending = false;
    }
    let timer = match which {
        TcpTimerKind::Retransmit
        | TcpTimerKind::LossProbe
        | TcpTimerKind::ReoTimeout
        | TcpTimerKind::Probe0 => &t.timers.rtx_timer,
        TcpTimerKind::DelAck => &t.timers.delack_timer,
        TcpTimerKind::TimeWait => &t.timers.tw_timer,
        TcpTimerKind::CompressedAck => &t.timers.comp_sack_timer,
        TcpTimerKind::Pacing => match &t.timers.pacing_timer {
            Some(p) => p,
            None => &*t.timers.pacing_timer.insert(cx.sched.new_timer()),
        },
    };
    cx.sched.arm(
        timer,
        at,
        Event::TcpTimer {
            node: n.id,
            sock,
            which,
        },
    );
}

/// A TCP timer fired.
pub(crate) fn tcp_timer(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, which: TcpTimerKind) {
    match which {
        TcpTimerKind::Retransmit => tcp_retransmit_timer(n, cx, sock),
        TcpTimerKind::DelAck => {
            let Some(t) = n.socks.tcp(sock) else {
                return;
            };
            if t.ack.pending {
                // Inflate ato and leave ping-pong mode, as tcp_delack_timer_handler does.
                if t.ack.pingpong == 0 {
                    t.ack.ato = (t.ack.ato * 2).min(t.rtt.rto);
                } else {
                    t.ack.pingpong = 0;
                    t.ack.ato = super::TCP_ATO_MIN;
                }
                t.stats.delayed_acks += 1;
                n.snmp.tcp_ext.DelayedACKs += 1;
                tcp_send_ack(n, cx, sock);
            }
        }
        TcpTimerKind::TimeWait => tcp_done(n, cx, sock),
        TcpTimerKind::LossProbe => tcp_send_loss_probe(n, cx, sock),
        TcpTimerKind::ReoTimeout => tcp_rack_reo_timeout(n, cx, sock),
        TcpTimerKind::Probe0 => tcp_probe_timer(n, cx, sock),
        TcpTimerKind::Pacing => tcp_pace_kernel(n, cx, sock),
        TcpTimerKind::CompressedAck => {
            // tcp_compressed_ack_kick: the compressed SACKs go out as one ACK.
            if let Some(t) = n.socks.tcp(sock)
                && t.ack.compressed_ack > 0
            {
                t.ack.compressed_ack -= 1;
                tcp_send_ack(n, cx, sock);
            }
        }
    }
}

/// `tcp_pace_kernel` → `tcp_tsq_handler` → `tcp_tsq_write`: the pacing timer fired; in a
/// state that sends data, lost segments go first if cwnd has room, then new data.
fn tcp_pace_kernel(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if !matches!(
        t.state,
        TcpState::Established
            | TcpState::FinWait1
            | TcpState::Closing
            | TcpState::CloseWait
            | TcpState::LastAck
    ) {
        return;
    }
    if t.lost_out > t.retrans_out && t.cwnd > t.in_flight() {
        tcp_xmit_retransmit_queue(n, cx, sock);
    }
    tcp_write_xmit(n, cx, sock, crate::tcp::output::XmitMode::All);
}

/// `TCP_RESOURCE_PROBE_INTERVAL`: how soon a window probe the local qdisc refused is tried
/// again.
const TCP_RESOURCE_PROBE_INTERVAL: SimDuration = SimDuration::from_millis(500);

/// `tcp_probe0_base`: the RTO, at least `TCP_RTO_MIN`.
fn tcp_probe0_base(t: &TcpSock) -> SimDuration {
    t.rtt
        .rto
        .max(SimDuration::from_micros(u64::from(super::TCP_RTO_MIN_US)))
}

/// `tcp_probe0_when`: the base doubled once per backoff (at most ilog2(`TCP_RTO_MAX` /
/// `TCP_RTO_MIN`) + 1 = 10 times), at most `max`.
fn tcp_probe0_when(t: &TcpSock, max: SimDuration) -> SimDuration {
    let backoff = t.timers.backoff.min(10);
    (tcp_probe0_base(t) * (1u64 << backoff)).min(max)
}

/// `tcp_clamp_probe0_to_user_timeout`: with `TCP_USER_TIMEOUT`, a probe never waits past
/// it (counted from the first probe), and at least a jiffy.
fn tcp_clamp_probe0_to_user_timeout(t: &TcpSock, when: SimDuration, now: SimTime) -> SimDuration {
    let (Some(first), ms) = (t.timers.probes_tstamp, t.user_timeout_ms) else {
        return when;
    };
    if ms == 0 {
        return when;
    }
    let elapsed = now.saturating_since(first);
    let remaining = SimDuration::from_millis(u64::from(ms)).saturating_sub(elapsed);
    when.min(remaining.max(SimDuration::from_nanos(crate::jiffies::JIFFY_NS)))
}

/// Arms the zero-window probe timer `when` from now, on the timer wheel
/// (`tcp_reset_xmit_timer(sk, ICSK_TIME_PROBE0, …)`).
fn tcp_arm_probe0(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, when: SimDuration) {
    let at = crate::jiffies::round_expiry(cx.now, when, n.jiffies_phase);
    if let Some(t) = n.socks.tcp(sock) {
        t.timers.probe0_pending = true;
    }
    tcp_arm_timer(n, cx, sock, TcpTimerKind::Probe0, at);
}

/// `tcp_check_probe_timer`: nothing in flight, data waiting that the peer's window does not
/// let go, and no timer pending: probe the window after `tcp_probe0_base`.
pub(crate) fn tcp_check_probe_timer(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if t.packets_out == 0 && !cx.sched.is_armed(&t.timers.rtx_timer) {
        let when = tcp_probe0_base(t);
        tcp_arm_probe0(n, cx, sock, when);
    }
}

/// `tcp_ack_probe`: an ACK while nothing was in flight. If the window now takes the send
/// head, the probing is over; else the next probe is due after the backed-off interval.
pub(crate) fn tcp_ack_probe(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let now = cx.now;
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    let idx = t.sent_segs();
    let Some(head) = t.wq.get(idx) else {
        return;
    };
    let wnd_end = t.snd_una.wrapping_add(t.snd_wnd);
    if !after(head.end_seq(), wnd_end) {
        t.timers.backoff = 0;
        t.timers.probes_tstamp = None;
        if t.timers.probe0_pending {
            t.timers.probe0_pending = false;
            cx.sched.cancel(&t.timers.rtx_timer);
        }
    } else {
        let when = tcp_probe0_when(t, TCP_RTO_MAX);
        let when = tcp_clamp_probe0_to_user_timeout(t, when, now);
        tcp_arm_probe0(n, cx, sock, when);
    }
}

/// `tcp_probe_timer`: the zero-window probe timer fired. With data in flight or none
/// waiting there is nothing to probe; past `TCP_USER_TIMEOUT` (counted from the first
/// probe) or `tcp_retries2` unanswered probes the connection dies (`tcp_write_err`);
/// otherwise another probe goes out.
fn tcp_probe_timer(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let now = cx.now;
    let retries2 = u32::from(n.sysctl.tcp_retries2);
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    t.timers.probe0_pending = false;
    if t.packets_out > 0 || t.sent_segs() == t.wq.len() {
        t.timers.probes_out = 0;
        t.timers.probes_tstamp = None;
        return;
    }
    let expired = match t.timers.probes_tstamp {
        None => {
            t.timers.probes_tstamp = Some(now);
            false
        }
        Some(first) => {
            t.user_timeout_ms > 0
                && now.saturating_since(first)
                    >= SimDuration::from_millis(u64::from(t.user_timeout_ms))
        }
    };
    // An orphan's probes (tcp_orphan_retries) are not modeled apart: it has tcp_retries2.
    if expired || t.timers.probes_out >= retries2 {
        tcp_write_err(n, cx, sock, "window probe timeout");
    } else {
        tcp_send_probe0(n, cx, sock);
    }
}

/// `tcp_send_probe0`: a window probe (`tcp_write_wakeup`), then the next one after the
/// backed-off interval — or after `TCP_RESOURCE_PROBE_INTERVAL` when the local qdisc
/// refused it.
fn tcp_send_probe0(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let now = cx.now;
    let retries2 = u32::from(n.sysctl.tcp_retries2);
    let sent = super::output::tcp_write_wakeup(n, cx, sock);
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if t.packets_out > 0 || t.sent_segs() == t.wq.len() {
        // Cancel the probing: it is not needed.
        t.timers.probes_out = 0;
        t.timers.backoff = 0;
        t.timers.probes_tstamp = None;
        return;
    }
    t.timers.probes_out += 1;
    let when = if sent {
        if t.timers.backoff < retries2 {
            t.timers.backoff += 1;
        }
        tcp_probe0_when(t, TCP_RTO_MAX)
    } else {
        TCP_RESOURCE_PROBE_INTERVAL
    };
    let when = tcp_clamp_probe0_to_user_timeout(t, when, now);
    tcp_arm_probe0(n, cx, sock, when);
}

/// Arms RACK's reordering timer `wait` from now, plus two jiffies (`TCP_TIMEOUT_MIN`),
/// on the wheel.
pub(crate) fn tcp_arm_reo_timer(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    wait: SimDuration,
) {
    let now = cx.now;
    let phase = n.jiffies_phase;
    let jiffy = crate::jiffies::JIFFY_NS;
    // usecs_to_jiffies(timeout + TCP_TIMEOUT_MIN_US): the 2 ms are added before rounding up.
    let timeout = SimDuration::from_nanos((wait.as_nanos() + 2_000_000).div_ceil(jiffy) * jiffy);
    let at = crate::jiffies::round_expiry(now, timeout, phase);
    tcp_arm_timer(n, cx, sock, TcpTimerKind::ReoTimeout, at);
}

/// `tcp_rack_reo_timeout`: the reordering window has passed; mark what RACK now finds
/// lost, enter recovery if not in it (with PRR's first send: cwnd = in flight + 1),
/// retransmit, and rearm the RTO.
fn tcp_rack_reo_timeout(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let now = cx.now;
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    let (lost, _) = super::recovery::tcp_rack_detect_loss(t, now);
    t.lost_out += lost;
    t.rate.lost += u64::from(lost);
    if lost > 0 {
        if matches!(
            t.recovery.ca_state,
            CaState::Open | CaState::Disorder | CaState::Cwr
        ) {
            super::recovery::tcp_enter_recovery(t, false, &mut n.snmp.tcp_ext);
            t.recovery.prr_delivered = 1;
            t.cwnd = t.in_flight() + 1;
        }
        tcp_xmit_retransmit_queue(n, cx, sock);
    }
    tcp_reset_rtx_timer(n, cx, sock);
}

/// `tcp_schedule_loss_probe`: with SACK, in the Open state and data in flight, arm a
/// tail loss probe instead of the RTO: two smoothed RTTs (plus `tcp_rto_min` when a
/// single segment is out, for the peer's delayed ACK; plus two jiffies otherwise), but
/// never later than the RTO would fire. Returns whether it armed one.
pub(crate) fn tcp_schedule_loss_probe(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    advancing_rto: bool,
) -> bool {
    let now = cx.now;
    let phase = n.jiffies_phase;
    let early_retrans = n.sysctl.tcp_early_retrans;
    let Some(t) = n.socks.tcp(sock) else {
        return false;
    };
    if !matches!(early_retrans, 3 | 4)
        || t.packets_out == 0
        || !t.sack_ok
        || t.recovery.ca_state != CaState::Open
        || !matches!(t.state, TcpState::Established | TcpState::CloseWait)
    {
        return false;
    }
    let mut timeout = if t.rtt.srtt_us > 0 {
        // usecs_to_jiffies(srtt_us >> 2): two smoothed RTTs, in whole jiffies.
        let jiffy = crate::jiffies::JIFFY_NS;
        let two_srtt =
            SimDuration::from_nanos((u64::from(t.rtt.srtt_us >> 2) * 1000).div_ceil(jiffy) * jiffy);
        two_srtt
            + if t.packets_out == 1 {
                SimDuration::from_micros(u64::from(super::TCP_RTO_MIN_US))
            } else {
                SimDuration::from_nanos(2 * crate::jiffies::JIFFY_NS)
            }
    } else {
        super::TCP_TIMEOUT_INIT
    };
    // tcp_rto_delta_us: no later than the RTO of the oldest outstanding segment.
    let rto_left = if advancing_rto {
        t.rtt.rto
    } else {
        t.wq.front()
            .and_then(|w| w.sent_at)
            .map_or(t.rtt.rto, |at| (at + t.rtt.rto).saturating_since(now))
    };
    if !rto_left.is_zero() {
        timeout = timeout.min(rto_left);
    }
    let at = crate::jiffies::round_expiry(now, timeout, phase);
    tcp_arm_timer(n, cx, sock, TcpTimerKind::LossProbe, at);
    true
}

/// `tcp_send_loss_probe`: send one new segment if the peer's window allows (whatever
/// cwnd says), else retransmit the last segment sent, so that a tail loss is found by
/// the probe's SACK (RACK) rather than by the RTO; then arm the RTO.
fn tcp_send_loss_probe(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if t.recovery.tlp_high_seq.is_none() && t.packets_out > 0 {
        let before_out = t.packets_out;
        let unsent = t.wq.iter().position(|w| w.sent_at.is_none());
        let fits = unsent.is_some_and(|i| {
            let w = &t.wq[i];
            !super::after(w.seq.wrapping_add(w.len), t.snd_una.wrapping_add(t.snd_wnd))
        });
        let mut probed = false;
        if fits {
            // tcp_write_xmit(sk, mss, TCP_NAGLE_OFF, 2, ...): one segment, cwnd or not.
            tcp_write_xmit(n, cx, sock, super::output::XmitMode::Probe);
            probed = n
                .socks
                .tcp(sock)
                .is_some_and(|t| t.packets_out > before_out);
        }
        if !probed {
            let Some(t) = n.socks.tcp(sock) else {
                return;
            };
            let tail = t.wq.iter().rposition(|w| w.sent_at.is_some());
            if let Some(i) = tail
                && !t.wq[i].sacked
            {
                t.recovery.tlp_retrans = true;
                probed = super::output::tcp_retransmit_probe(n, cx, sock, i);
            }
        } else if let Some(t) = n.socks.tcp(sock) {
            t.recovery.tlp_retrans = false;
        }
        if probed && let Some(t) = n.socks.tcp(sock) {
            t.recovery.tlp_high_seq = Some(t.snd_nxt);
            t.stats.loss_probes += 1;
            n.snmp.tcp_ext.TCPLossProbes += 1;
        }
    }
    tcp_reset_rtx_timer(n, cx, sock);
}

/// `tcp_write_err`: the connection timed out (`why`): `ETIMEDOUT`, and it is done.
fn tcp_write_err(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, why: &'static str) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if t.state == TcpState::SynSent {
        n.snmp.tcp.AttemptFails += 1;
    } else if matches!(t.state, TcpState::Established | TcpState::CloseWait) {
        n.snmp.tcp.EstabResets += 1;
    }
    t.sk.err = Some(Errno::TimedOut);
    trace_sock_err(n, cx, sock, why, Errno::TimedOut);
    tcp_done(n, cx, sock);
}

/// `tcp_retransmit_timer`: back off, enter Loss, retransmit the head; give up after
/// `tcp_syn_retries` / `tcp_synack_retries` / `tcp_retries2`.
fn tcp_retransmit_timer(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let sys = n.sysctl.clone();
    let Some(t) = n.socks.tcp(sock) else { return };
    if t.packets_out == 0 {
        return;
    }
    // tcp_write_timeout: a SYN or SYN-ACK gives up after a number of retries; an
    // established connection after TCP_USER_TIMEOUT from the first retransmission, or
    // without one after the time tcp_retries2 retries would take with a 200 ms RTO
    // (retransmits_timed_out).
    let user_timeout = SimDuration::from_millis(u64::from(t.user_timeout_ms));
    // A timeout while the peer's window is closed is a probe of it, not counted.
    let zero_window = t.snd_wnd == 0 && !matches!(t.state, TcpState::SynSent | TcpState::SynRecv);
    if !zero_window {
        n.snmp.tcp_ext.TCPTimeouts += 1;
    }
    let expired = match t.state {
        TcpState::SynSent => t.timers.retransmits >= u32::from(sys.tcp_syn_retries),
        TcpState::SynRecv => t.timers.retransmits >= u32::from(sys.tcp_synack_retries),
        _ => t.recovery.retrans_stamp.is_some_and(|first| {
            let limit = if t.user_timeout_ms > 0 {
                user_timeout
            } else {
                tcp_model_timeout(sys.tcp_retries2)
            };
            t.timers.retransmits > 0 && cx.now.saturating_since(first) >= limit
        }),
    };
    if t.fo.syn_fastopen || t.fo.syn_data {
        super::fastopen::tcp_fastopen_active_detect_blackhole(n, sock, expired);
    }
    if expired {
        tcp_write_err(n, cx, sock, "retransmit timeout");
        return;
    }
    // tcp_write_timeout: sk_rethink_txhash, a new flow label for an IPv6 connection.
    if n.socks.tcp(sock).is_some_and(|t| t.sk.pinet6.is_some()) {
        super::ipv6::sk_rethink_txhash(n, sock);
    }
    let Some(t) = n.socks.tcp(sock) else { return };
    if !zero_window && t.timers.retransmits == 0 {
        // The state the first timeout found the connection in.
        let ext = &mut n.snmp.tcp_ext;
        match t.recovery.ca_state {
            CaState::Recovery if t.sack_ok => ext.TCPSackRecoveryFail += 1,
            CaState::Recovery => ext.TCPRenoRecoveryFail += 1,
            CaState::Loss => ext.TCPLossFailures += 1,
            _ if t.recovery.ca_state == CaState::Disorder || t.sacked_out > 0 => {
                if t.sack_ok {
                    ext.TCPSackFailures += 1;
                } else {
                    ext.TCPRenoFailures += 1;
                }
            }
            _ => {}
        }
    }
    t.stats.rto_events += 1;
    let syn = matches!(t.state, TcpState::SynSent | TcpState::SynRecv);
    if !syn {
        // tcp_enter_loss: ssthresh once per window, remembered for an undo.
        let new_recovery = matches!(
            t.recovery.ca_state,
            CaState::Open | CaState::Disorder | CaState::Cwr
        );
        let retransmits = t.timers.retransmits;
        let reduce = super::undo::tcp_enter_loss_undo(t, retransmits);
        // A timeout in Disorder after the reordering degree's worth of SACKs: the degree
        // was overestimated (back to tcp_reordering, 3).
        if matches!(t.recovery.ca_state, CaState::Open | CaState::Disorder) && t.sacked_out >= 3 {
            t.reordering = t.reordering.min(3);
        }
        if reduce {
            t.ssthresh = super::cong::tcp_ca_ssthresh(t);
            super::cong::tcp_ca_event_loss(t);
        }
        t.cwnd = 1;
        t.cwnd_cnt = 0;
        super::cong::tcp_ca_enter_loss(t, cx.now);
        t.recovery.ca_state = CaState::Loss;
        t.recovery.high_seq = t.snd_nxt;
        t.ecn.queue_cwr();
        if !t.sack_ok {
            // tcp_reset_reno_sack.
            t.sacked_out = 0;
        }
        let mut lost = 0;
        // tcp_mark_skb_lost counts in tp->lost what was not marked before.
        let mut newly = 0u64;
        for seg in t.wq.iter_mut().take_while(|x| x.sent_at.is_some()) {
            seg.retrans_out = false;
            if !seg.sacked {
                if !seg.lost {
                    seg.lost = true;
                    newly += 1;
                }
                lost += 1;
            }
        }
        t.lost_out = lost;
        t.rate.lost += newly;
        t.retrans_out = 0;
        t.recovery.rtx_hint = 0;
        if reduce {
            super::undo::tcp_init_undo(t);
        }
        t.recovery.tlp_high_seq = None;
        super::undo::tcp_enter_loss_frto(t, sys.tcp_frto, new_recovery);
    }
    t.timers.retransmits += 1;
    // Backoff: SYNs keep 1 s for the first linear retries; the rest double.
    let linear = syn && t.timers.retransmits <= SYN_LINEAR_TIMEOUTS;
    if !linear {
        t.timers.backoff += 1;
        t.rtt.rto = (t.rtt.rto * 2).min(TCP_RTO_MAX);
    }
    if syn {
        let w = &mut t.wq[0];
        w.lost = true;
        t.recovery.rtx_hint = 0;
        let _ = tcp_retransmit_seg(n, cx, sock, 0);
    } else {
        // Retransmit the head now; the rest follow as the window reopens.
        let idx =
            t.wq.iter()
                .take_while(|x| x.sent_at.is_some())
                .position(|x| !x.sacked)
                .unwrap_or(0);
        let _ = tcp_retransmit_seg(n, cx, sock, idx);
    }
    // tcp_clamp_rto_to_user_timeout: never wait past the user timeout.
    let Some(t) = n.socks.tcp(sock) else { return };
    match t.recovery.retrans_stamp {
        Some(first) if t.user_timeout_ms > 0 && t.packets_out > 0 => {
            let remaining = user_timeout.saturating_sub(cx.now.saturating_since(first));
            let wait = if remaining.is_zero() {
                SimDuration::from_nanos(crate::jiffies::JIFFY_NS)
            } else {
                t.rtt.rto.min(remaining)
            };
            let at = crate::jiffies::round_expiry(cx.now, wait, n.jiffies_phase);
            tcp_arm_timer(n, cx, sock, TcpTimerKind::Retransmit, at);
        }
        _ => tcp_reset_rtx_timer(n, cx, sock),
    }
}

/// The RTO after `n` backoffs of `base` (for tests and docs).
pub fn backed_off(base: SimDuration, n: u32) -> SimDuration {
    (base * 2u64.saturating_pow(n)).min(TCP_RTO_MAX)
}

/// A connection's timers (`icsk_retransmit_timer`, `icsk_delack_timer`, the TIME_WAIT
/// timer) and the retransmission backoff (`icsk_retransmits`, `icsk_backoff`).
#[derive(Debug)]
pub struct TcpTimers {
    /// The retransmit / SYN / zero-window probe timer.
    pub rtx_timer: TimerId,
    /// The delayed-ACK timer.
    pub delack_timer: TimerId,
    /// The TIME_WAIT / FIN_WAIT_2 timer.
    pub tw_timer: TimerId,
    /// The compressed-SACK timer.
    pub comp_sack_timer: TimerId,
    /// Consecutive timeouts (`icsk_retransmits`).
    pub retransmits: u32,
    /// Backoff exponent (`icsk_backoff`).
    pub backoff: u32,
    /// Window probes sent without an answer (`icsk_probes_out`, `tcpi_probes`).
    pub probes_out: u32,
    /// When the first of them went out (`icsk_probes_tstamp`).
    pub probes_tstamp: Option<SimTime>,
    /// The retransmission timer is armed as the window probe timer (`icsk_pending` is
    /// `ICSK_TIME_PROBE0`).
    pub probe0_pending: bool,
    /// The pacing hrtimer, made the first time a paced socket must wait.
    pub pacing_timer: Option<TimerId>,
}

impl TcpTimers {
    /// The state of a new socket.
    pub fn new(timers: [TimerId; 4]) -> Self {
        let [rtx_timer, delack_timer, tw_timer, comp_sack_timer] = timers;
        Self {
            rtx_timer,
            delack_timer,
            tw_timer,
            comp_sack_timer,
            retransmits: 0,
            backoff: 0,
            probes_out: 0,
            probes_tstamp: None,
            probe0_pending: false,
            pacing_timer: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_timeout_is_linux_tcp_model_timeout() {
        // ((2 << b) - 1) × 200 ms up to b = 9, then 120 s per retry.
        assert_eq!(tcp_model_timeout(1), SimDuration::from_millis(600));
        assert_eq!(tcp_model_timeout(3), SimDuration::from_millis(3000));
        assert_eq!(tcp_model_timeout(9), SimDuration::from_millis(204_600));
        assert_eq!(tcp_model_timeout(15), SimDuration::from_millis(924_600));
    }
}
