//! The receive window and receive-buffer auto-tuning: what the connection advertises
//! (`rcv_wnd`, `rcv_wup`, `rcv_ssthresh`, `window_clamp`, the payload/truesize `scaling_ratio`),
//! and Dynamic Right-Sizing (`tcp_rcv_space_adjust`, the receiver's RTT estimate).

use sim_core::{SimDuration, SimTime};

use super::output::sndbuf_expand;
use super::{TcpSock, before};
use crate::config::Sysctls;
use crate::wire::TcpRepr;

/// The receive side's window and buffer state.
#[derive(Debug, Clone)]
pub struct RcvWindow {
    /// The window last advertised (bytes).
    pub rcv_wnd: u32,
    /// `rcv_nxt` when the window was last advertised.
    pub rcv_wup: u32,
    /// `rcv_ssthresh`: the window's current growth limit.
    pub rcv_ssthresh: u32,
    /// `window_clamp`.
    pub window_clamp: u32,
    /// `scaling_ratio`: the window a byte of receive buffer is worth, in 1/256ths, learned
    /// from the payload/truesize of full segments (128 until then).
    pub scaling_ratio: u32,
    /// DRS (`rcvq_space`): bytes per RTT the app read, when, from where.
    pub rcvq_space: u32,
    /// Start of the current DRS measurement.
    pub rcvq_time: SimTime,
    /// `copied_seq` at its start.
    pub rcvq_seq: u32,
    /// `rcv_rtt_est.rtt_us` (×8): the receiver's RTT estimate that paces DRS.
    pub rcv_rtt_us: u32,
    /// `rcv_rtt_est.seq` / `.time`: the per-window RTT measurement without timestamps.
    pub rcv_rtt_seq: u32,
    /// Start of that measurement (`None` before the first).
    pub rcv_rtt_time: Option<SimTime>,
    /// `rcv_rtt_last_tsecr`: the echo last used for a timestamp RTT sample.
    pub rcv_rtt_last_tsecr: u32,
}

impl Default for RcvWindow {
    fn default() -> Self {
        Self::new()
    }
}

impl RcvWindow {
    /// The state of a new socket.
    pub fn new() -> Self {
        Self {
            rcv_wnd: 0,
            rcv_wup: 0,
            rcv_ssthresh: 0,
            window_clamp: 0,
            scaling_ratio: super::TCP_DEFAULT_SCALING_RATIO,
            rcvq_space: 0,
            rcvq_time: SimTime::ZERO,
            rcvq_seq: 0,
            rcv_rtt_us: 0,
            rcv_rtt_seq: 0,
            rcv_rtt_time: None,
            rcv_rtt_last_tsecr: 0,
        }
    }
}

/// `__tcp_win_from_space`: the window `space` bytes of receive buffer are worth at
/// `ratio`/256 (payload per byte of truesize).
pub fn win_from_space(ratio: u32, space: u32) -> u32 {
    ((u64::from(space) * u64::from(ratio)) >> 8) as u32
}

/// `__tcp_space_from_win`: the receive buffer a window needs at `ratio`.
pub fn space_from_win(ratio: u32, win: u32) -> u32 {
    ((u64::from(win) << 8) / u64::from(ratio.max(1))).min(u64::from(u32::MAX)) as u32
}

/// `tcp_full_space`.
pub fn full_space(t: &TcpSock) -> u32 {
    win_from_space(t.rwin.scaling_ratio, t.sk.rcvbuf)
}

/// `tcp_space`: the window the free part of the receive buffer is worth.
pub fn space(t: &TcpSock) -> u32 {
    win_from_space(
        t.rwin.scaling_ratio,
        t.sk.rcvbuf.saturating_sub(t.rmem_alloc),
    )
}

/// `tcp_set_window_clamp` (the part a changed scaling ratio runs): a higher clamp lifts
/// `rcv_ssthresh` to what is already advertised, a lower one caps it.
pub fn tcp_set_window_clamp(t: &mut TcpSock, val: u32) {
    // SOCK_MIN_RCVBUF / 2.
    let new = val.max(2304);
    let old = t.rwin.window_clamp;
    if new == old {
        return;
    }
    t.rwin.window_clamp = new;
    if new < old {
        t.rwin.rcv_ssthresh = t.rwin.rcv_ssthresh.min(new);
    } else {
        t.rwin.rcv_ssthresh = t.rwin.rcv_wnd.min(new).max(t.rwin.rcv_ssthresh);
    }
}

/// The window clamp a connection starts with: none (0), unless the app fixed the receive
/// buffer (`SO_RCVBUF`, `SOCK_RCVBUF_LOCK`), which limits the window to what that buffer
/// holds (`tcp_connect_init`, `tcp_openreq_init_rwin`).
pub fn initial_window_clamp(t: &TcpSock) -> u32 {
    if t.sk.rcvbuf_locked { full_space(t) } else { 0 }
}

/// `tcp_select_initial_window`: (window, window_clamp, wscale), for a clamp of
/// `window_clamp` (0: none, the largest scaled window).
pub fn select_initial_window(
    space: u32,
    mss: u32,
    wscale_ok: bool,
    window_clamp: u32,
    sys: &Sysctls,
) -> (u32, u32, u8) {
    let window_clamp = if window_clamp == 0 {
        u32::from(u16::MAX) << 14
    } else {
        window_clamp
    };
    let mut space = space.min(window_clamp);
    if space > mss {
        space = space / mss * mss;
    }
    let rcv_wnd = space.min(u32::from(u16::MAX));
    let mut wscale = 0u8;
    if wscale_ok {
        let sp = space
            .max(sys.tcp_rmem[2])
            .max(sys.rmem_max)
            .min(window_clamp);
        wscale = (31 - sp.leading_zeros()).saturating_sub(15).min(14) as u8;
    }
    let clamp = (u32::from(u16::MAX) << wscale).min(window_clamp);
    (rcv_wnd, clamp, wscale)
}

/// `tcp_init_buffer_space` at the end of the handshake: the window clamp, with one segment
/// reserved (`tcp_app_win`), and `rcv_ssthresh` within it; `tcp_sndbuf_expand`.
pub fn tcp_init_buffer_space(t: &mut TcpSock, now: SimTime, sys: &Sysctls) {
    let maxwin = full_space(t);
    if t.rwin.window_clamp >= maxwin {
        t.rwin.window_clamp = maxwin;
        if maxwin > 4 * t.advmss {
            t.rwin.window_clamp = (maxwin - (maxwin >> 31)).max(4 * t.advmss);
        }
    }
    if t.rwin.window_clamp > 2 * t.advmss && t.rwin.window_clamp + t.advmss > maxwin {
        t.rwin.window_clamp = (2 * t.advmss).max(maxwin - t.advmss);
    }
    t.rwin.rcv_ssthresh = t.rwin.rcv_ssthresh.min(t.rwin.window_clamp);
    t.rwin.rcvq_space = t
        .rwin
        .rcv_ssthresh
        .min(t.rwin.rcv_wnd)
        .min(super::TCP_INIT_CWND * t.advmss);
    t.rwin.rcvq_time = now;
    t.rwin.rcvq_seq = t.copied_seq;
    sndbuf_expand(t, sys);
}

/// `__tcp_select_window`: the window to advertise, in bytes (not yet scaled).
pub fn raw_select_window(t: &mut TcpSock) -> u32 {
    let mss = t.ack.rcv_mss;
    let mut free = space(t);
    let allowed = full_space(t);
    let full = t.rwin.window_clamp.min(allowed);
    let mss = mss.min(full);
    if free < full >> 1 {
        t.ack.quick = 0;
        free = free >> t.rcv_wscale << t.rcv_wscale;
        if free < allowed >> 4 || free < mss {
            return 0;
        }
    }
    if free > t.rwin.rcv_ssthresh {
        free = t.rwin.rcv_ssthresh;
    }
    if t.rcv_wscale > 0 {
        let unit = 1u32 << t.rcv_wscale;
        free.div_ceil(unit) * unit
    } else {
        // Round to whole segments as Linux does without scaling.
        let mut window = t.rwin.rcv_wnd;
        if window <= free.saturating_sub(mss) || window > free {
            window = free.checked_div(mss).map_or(free, |k| k * mss);
        } else if mss == full && free > window + (full >> 1) {
            window = free;
        }
        window
    }
}

/// `tcp_select_window`: never shrink what was offered; remember it; return the field value.
pub fn tcp_select_window(t: &mut TcpSock) -> u16 {
    let cur = t
        .rwin
        .rcv_wup
        .wrapping_add(t.rwin.rcv_wnd)
        .wrapping_sub(t.rcv_nxt) as i32;
    let cur = cur.max(0) as u32;
    let mut new = raw_select_window(t);
    if new < cur {
        let unit = 1u32 << t.rcv_wscale;
        new = cur.div_ceil(unit) * unit;
    }
    t.rwin.rcv_wnd = new;
    t.rwin.rcv_wup = t.rcv_nxt;
    let field = new >> t.rcv_wscale;
    field.min(u32::from(u16::MAX)) as u16
}

/// `tcp_grow_window`: raise `rcv_ssthresh` (the window's growth limit) by two segments
/// when the skb's truesize says the buffer can hold what such a window brings.
pub(crate) fn tcp_grow_window(t: &mut TcpSock, len: u32, truesize: u32, rmem_max: u32) {
    let room = i64::from(t.rwin.window_clamp.min(space(t))) - i64::from(t.rwin.rcv_ssthresh);
    if room <= 0 {
        return;
    }
    let ratio = t.rwin.scaling_ratio;
    let incr = if win_from_space(ratio, truesize) <= len {
        2 * t.advmss
    } else {
        // __tcp_grow_window.
        let mut ts = win_from_space(ratio, truesize) >> 1;
        let mut window = win_from_space(ratio, rmem_max) >> 1;
        let mut incr = 0;
        while t.rwin.rcv_ssthresh <= window {
            if ts <= len {
                incr = 2 * t.ack.rcv_mss;
                break;
            }
            ts >>= 1;
            window >>= 1;
        }
        incr
    };
    if incr > 0 {
        let incr = incr.max(2 * len);
        t.rwin.rcv_ssthresh += (room as u32).min(incr);
        // icsk_ack.quick |= 1.
        t.ack.quick |= 1;
    }
}

/// `tcp_rcv_space_adjust`: once per receiver RTT, if the app read more than last time,
/// grow the receive buffer so the window covers twice that and more in slow start
/// (dynamic right-sizing, `tcp_rcvbuf_grow`).
pub fn tcp_rcv_space_adjust(t: &mut TcpSock, now: SimTime, sys: &crate::config::Sysctls) {
    if t.rwin.rcv_rtt_us == 0 {
        return;
    }
    let rtt = SimDuration::from_micros(u64::from(t.rwin.rcv_rtt_us >> 3));
    if now.saturating_since(t.rwin.rcvq_time) < rtt {
        return;
    }
    let inq = t.rcv_nxt.wrapping_sub(t.copied_seq);
    let copied = t
        .copied_seq
        .wrapping_sub(t.rwin.rcvq_seq)
        .saturating_sub(inq);
    if copied > t.rwin.rcvq_space {
        tcp_rcvbuf_grow(t, copied, sys);
    }
    t.rwin.rcvq_seq = t.copied_seq;
    t.rwin.rcvq_time = now;
}

/// `tcp_rcvbuf_grow`: take `newval` as the bytes per RTT to provision for, and grow the
/// receive buffer so the window covers twice that, more in slow start (what it grew by
/// since the last time, twice over), and whatever the out-of-order queue already spans
/// beyond `rcv_nxt`; the window clamp follows. `tcp_rcv_space_adjust` calls it with what
/// the app read in the last RTT, `tcp_data_queue_ofo` with the current value (so only the
/// out-of-order span can grow the buffer).
pub(crate) fn tcp_rcvbuf_grow(t: &mut TcpSock, newval: u32, sys: &crate::config::Sysctls) {
    let old = t.rwin.rcvq_space.max(1);
    t.rwin.rcvq_space = newval;
    // SO_RCVBUF set by the app (SOCK_RCVBUF_LOCK) turns auto-tuning off.
    if !sys.tcp_moderate_rcvbuf || t.sk.rcvbuf_locked {
        return;
    }
    let mut rcvwin = u64::from(newval) << 1;
    let grow = rcvwin * u64::from(newval - old.min(newval)) / u64::from(old);
    rcvwin += grow << 1;
    if let Some((&k, (chunk, _))) = t.ofo.iter().next_back() {
        let end = t
            .irs
            .wrapping_add(k as u32)
            .wrapping_add(chunk.len() as u32);
        rcvwin += u64::from(end.wrapping_sub(t.rcv_nxt));
    }
    let rcvwin = rcvwin.min(u64::from(u32::MAX)) as u32;
    let rcvbuf = space_from_win(t.rwin.scaling_ratio, rcvwin).min(sys.tcp_rmem[2]);
    if rcvbuf > t.sk.rcvbuf {
        t.sk.rcvbuf = rcvbuf;
        t.rwin.window_clamp = win_from_space(t.rwin.scaling_ratio, rcvbuf);
    }
}

/// `tcp_rcv_rtt_update`: the receiver's RTT (×8), the minimum of per-window samples, or
/// smoothed 1/8 per timestamp sample.
pub(crate) fn tcp_rcv_rtt_update(t: &mut TcpSock, sample_us: u32, win_dep: bool) {
    let old = t.rwin.rcv_rtt_us;
    let m = sample_us.saturating_mul(8);
    let new = if old == 0 || m < old {
        m
    } else {
        if win_dep {
            return;
        }
        old - (old >> 3) + sample_us
    };
    t.rwin.rcv_rtt_us = new;
}

/// `tcp_rcv_rtt_measure`: without timestamps, one sample per window of data received.
pub(crate) fn tcp_rcv_rtt_measure(t: &mut TcpSock, now: SimTime) {
    if let Some(start) = t.rwin.rcv_rtt_time {
        if before(t.rcv_nxt, t.rwin.rcv_rtt_seq) {
            return;
        }
        let us = (now.saturating_since(start).as_nanos() / 1000).max(1);
        tcp_rcv_rtt_update(t, us.min(u64::from(u32::MAX)) as u32, true);
    }
    t.rwin.rcv_rtt_seq = t.rcv_nxt.wrapping_add(t.rwin.rcv_wnd);
    t.rwin.rcv_rtt_time = Some(now);
}

/// `tcp_rcv_rtt_measure_ts`: a sample from the timestamp echo of a full segment (none
/// when the millisecond clock has not ticked: sub-millisecond paths get no sample).
pub(crate) fn tcp_rcv_rtt_measure_ts(t: &mut TcpSock, th: &TcpRepr, len: u32, now: SimTime) {
    let Some((_, tsecr)) = th.options.timestamp() else {
        return;
    };
    if !t.ts_ok || tsecr == 0 || tsecr == t.rwin.rcv_rtt_last_tsecr {
        return;
    }
    t.rwin.rcv_rtt_last_tsecr = tsecr;
    if len >= t.ack.rcv_mss {
        let ms = super::output::tcp_time_stamp(now)
            .wrapping_add(t.ts_off)
            .wrapping_sub(tsecr);
        if ms > 0 && ms < 1 << 30 {
            tcp_rcv_rtt_update(t, ms.saturating_mul(1000), false);
        }
    }
}

/// The truesize of a received data skb carrying `len` payload bytes. Each frame becomes
/// one linear skb whose head comes from kmalloc: room for the payload and
/// `MAX_TCP_HEADER` (192), cache-aligned, plus `skb_shared_info` (320), rounded up to the
/// slab (the 576-byte small-head cache, then powers of two), plus `struct sk_buff` (256).
/// These are the reference kernel's numbers for segments split from a GSO write (1448 →
/// 2304, so `scaling_ratio` 160); see docs/research/linux-tcp-window-ack.md §1.15.
pub fn tcp_rx_truesize(len: u32) -> u32 {
    let req = (len + 192).div_ceil(64) * 64 + 320;
    let slab = if req <= 576 {
        576
    } else if req <= 8192 {
        req.next_power_of_two()
    } else {
        req.div_ceil(4096) * 4096
    };
    slab + 256
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_from_space_follows_the_scaling_ratio() {
        assert_eq!(win_from_space(128, 131_072), 65_536);
        assert_eq!(win_from_space(160, 131_072), 81_920);
        assert_eq!(space_from_win(160, 81_920), 131_072);
    }
}
