//! TCP output: `tcp_connect_init` and `tcp_select_initial_window`, queuing data
//! (`tcp_sendmsg`'s copy into MSS-sized segments), `tcp_write_xmit` (cwnd, receive window and
//! Nagle tests), `tcp_transmit_skb` (header, options in Linux's order, window selection,
//! checksum) → `ip_queue_xmit`, ACKs (`tcp_send_ack`, `tcp_send_delayed_ack`), RSTs, and
//! retransmissions (`tcp_retransmit_skb`, `tcp_xmit_retransmit_queue`).

use super::rcv_window::{full_space, select_initial_window, tcp_select_window};
use std::net::Ipv4Addr;

use sim_core::{SimDuration, SimTime};

use super::chrono::ChronoKind;
use super::fastopen::FastOpenRequest;
use super::{CaState, PacingStatus, TcpSock, TcpState, TxSeg, after, before};
use crate::config::Sysctls;
use crate::ctx::NetCtx;
use crate::dev::NetXmit;
use crate::ip::output::{IdentMode, IpSend};
use crate::ip::output::{ip_route_output_flow, ip_send_skb};
use crate::node::Node;
use crate::skb::SockRef;
use crate::sock::SockId;
use crate::sock::kfree_skb;
use crate::sock::sk_dst_route;
use crate::tcp::timer::{tcp_arm_timer, tcp_schedule_loss_probe};
use crate::wire::{IpProtocol, TcpFlags, TcpOption, TcpOptions, TcpPacket, TcpRepr};

/// IPv4 + TCP headers without options.
const HDRS: u32 = 40;
/// `TCPOLEN_TSTAMP_ALIGNED`.
const TS_LEN: u32 = 12;
/// Truesize overhead of a write-queue skb beyond its data (`SKB_TRUESIZE(MAX_TCP_HEADER)`).
pub(crate) const SKB_TCP_OVERHEAD: u32 = 768;

/// `tcp_connect_init`: MSS, options wanted, initial window, sequence numbers.
pub fn tcp_connect_init(t: &mut TcpSock, sys: &Sysctls, mtu: u32) {
    t.advmss = mtu - HDRS;
    if t.user_mss > 0 {
        t.advmss = t.advmss.min(t.user_mss);
    }
    t.mss_clamp = t.advmss;
    t.ts_ok = sys.tcp_timestamps;
    t.sack_ok = sys.tcp_sack;
    t.wscale_ok = sys.tcp_window_scaling;
    t.mss_cache = t.advmss - if t.ts_ok { TS_LEN } else { 0 };
    let clamp = super::rcv_window::initial_window_clamp(t);
    let (wnd, clamp, ws) = select_initial_window(full_space(t), t.advmss, t.wscale_ok, clamp, sys);
    t.rwin.rcv_wnd = wnd;
    t.rwin.window_clamp = clamp;
    t.rcv_wscale = ws;
    t.rwin.rcv_ssthresh = wnd;
    t.snd_una = t.iss;
    t.snd_nxt = t.iss;
    t.write_seq = t.iss.wrapping_add(1);
    t.pushed_seq = t.write_seq;
    t.sndq_seq = t.write_seq;
    t.snd_sml = t.iss;
    t.ack.rcv_mss = t.advmss.min(536);
}

/// `tcp_slow_start_after_idle_check`: with `tcp_slow_start_after_idle` (`enabled`), nothing
/// in flight and no data sent for more than an RTO, the window restarts
/// ([`tcp_cwnd_restart`]). Checked when a write queues new data (`tcp_skb_entail`) and when
/// the peer's window changes with data waiting (`tcp_ack_update_window`).
pub fn tcp_slow_start_after_idle_check(t: &mut TcpSock, enabled: bool, now: SimTime) {
    let idle = now.saturating_since(t.lsndtime);
    if enabled && t.packets_out == 0 && idle > t.rtt.rto {
        tcp_cwnd_restart(t, idle);
    }
}

/// `tcp_cwnd_restart`: after `idle` without sending, the congestion window shrinks by
/// half per RTO of idleness, to no less than the initial window; ssthresh keeps
/// `tcp_current_ssthresh` (3/4 of the old window when that is more).
pub fn tcp_cwnd_restart(t: &mut TcpSock, idle: SimDuration) {
    let restart = super::TCP_INIT_CWND.min(t.cwnd);
    if t.recovery.ca_state != super::CaState::Recovery {
        t.ssthresh = t.ssthresh.max((t.cwnd >> 1) + (t.cwnd >> 2));
    }
    let mut cwnd = t.cwnd;
    let mut delta = idle;
    while delta > t.rtt.rto && cwnd > restart {
        delta = delta.saturating_sub(t.rtt.rto);
        cwnd >>= 1;
    }
    t.cwnd = cwnd.max(restart);
    t.cwnd_cnt = 0;
}

/// `tcp_sndbuf_expand`: room for twice the congestion window of worst-case skbs (three
/// times with BBR: `sndbuf_expand`).
pub fn sndbuf_expand(t: &mut TcpSock, sys: &Sysctls) {
    // SO_SNDBUF set by the app (SOCK_SNDBUF_LOCK): the stack leaves it alone.
    if t.sk.sndbuf_locked {
        return;
    }
    let per_mss = (t.mss_clamp.max(t.mss_cache) + 320 + 320).next_power_of_two() + 256;
    let nr = t.cwnd.max(super::TCP_INIT_CWND).max(4);
    let sndmem = t.cong.sndbuf_expand() * nr * per_mss;
    if t.sk.sndbuf < sndmem {
        t.sk.sndbuf = sndmem.min(sys.tcp_wmem[2]);
    }
}

/// Copies `data` into the write queue: into the unsent tail segment while it is shorter
/// than the MSS, then into new segments, while the send buffer has room. Returns the bytes
/// taken.
pub fn tcp_queue_data(t: &mut TcpSock, data: &[u8], eor: bool) -> usize {
    let mss = t.mss_cache;
    let mut copied = 0usize;
    while copied < data.len() {
        let tail_room = match t.wq.back() {
            Some(seg)
                if seg.sent_at.is_none() && !seg.fin && !seg.syn && !seg.eor && seg.len < mss =>
            {
                mss - seg.len
            }
            _ => 0,
        };
        let take;
        if tail_room > 0 {
            take = tail_room.min((data.len() - copied) as u32);
            let seg = t.wq.back_mut().expect("tail");
            seg.len += take;
            t.wmem_queued += take;
        } else {
            // sk_stream_memory_free: the buffer, and TCP_NOTSENT_LOWAT's unsent bytes.
            let notsent = t.write_seq.wrapping_sub(t.snd_nxt);
            if t.wmem_queued >= t.sk.sndbuf || notsent >= t.notsent_lowat {
                break;
            }
            take = mss.min((data.len() - copied) as u32);
            // skb_entail: a new segment, and a pending push is done with. A full tail skb
            // (the size goal reached, or nothing unsent) makes this segment begin a new one,
            // as tcp_sendmsg_locked does; the first segment of an skb heads it.
            let tail_len = tcp_tail_skb_len(t);
            if tail_len == 0 || tail_len >= tcp_xmit_size_goal(t) {
                t.tail_skb_seq = t.write_seq;
            }
            let mut seg = TxSeg::new(t.write_seq, take, false, false);
            seg.pkt_head = t.write_seq == t.tail_skb_seq;
            // sk_wmem_queued: the bytes, and the overhead once per skb.
            t.wmem_queued += TcpSock::wmem_of(&seg);
            t.wq.push_back(seg);
            t.nonagle &= !super::TCP_NAGLE_PUSH;
        }
        t.sndq.extend(&data[copied..copied + take as usize]);
        t.write_seq = t.write_seq.wrapping_add(take);
        copied += take as usize;
    }
    if eor
        && copied == data.len()
        && let Some(seg) = t.wq.back_mut()
        && seg.sent_at.is_none()
    {
        seg.eor = true;
    }
    copied
}

/// How many bytes [`tcp_queue_data`] would take now from a write longer than that: the room
/// in the unsent tail segment, then whole segments while the send buffer has room (the last
/// may overshoot it, as `tcp_queue_data`'s does). An app that makes its data as it goes (an
/// HTTP body of a known pattern) makes no more than this, plus one byte so that the socket
/// still learns the write was cut short and wakes it when space frees.
pub fn tcp_send_space(t: &TcpSock) -> usize {
    let mss = t.mss_cache;
    let tail_room = match t.wq.back() {
        Some(seg) if seg.sent_at.is_none() && !seg.fin && !seg.syn && !seg.eor && seg.len < mss => {
            mss - seg.len
        }
        _ => 0,
    };
    let mut queued = u64::from(t.wmem_queued) + u64::from(tail_room);
    let mut space = u64::from(tail_room);
    if mss > 0 {
        let sndbuf = u64::from(t.sk.sndbuf);
        // The unsent bytes, for TCP_NOTSENT_LOWAT, as tcp_queue_data counts them.
        let mut notsent = u64::from(t.write_seq.wrapping_sub(t.snd_nxt)) + u64::from(tail_room);
        // The tail skb's unsent bytes: a new skb (one more overhead) begins at the size goal.
        let size_goal = tcp_xmit_size_goal(t);
        let mut tail = tcp_tail_skb_len(t) + tail_room;
        while queued < sndbuf && notsent < u64::from(t.notsent_lowat) {
            if tail == 0 || tail >= size_goal {
                queued += u64::from(SKB_TCP_OVERHEAD);
                tail = 0;
            }
            space += u64::from(mss);
            queued += u64::from(mss);
            notsent += u64::from(mss);
            tail += mss;
        }
    }
    usize::try_from(space).unwrap_or(usize::MAX)
}

/// `tcp_mark_push`: PSH on the tail segment (the end of a write).
pub fn tcp_mark_push(t: &mut TcpSock) {
    if let Some(seg) = t.wq.back_mut()
        && seg.sent_at.is_none()
    {
        seg.psh = true;
        t.pushed_seq = t.write_seq;
    }
}

/// `tcp_send_fin`: the FIN rides on the unsent tail segment, or gets a segment of its own.
pub fn tcp_queue_fin(t: &mut TcpSock) {
    t.fin_queued = true;
    match t.wq.back_mut() {
        Some(seg) if seg.sent_at.is_none() && !seg.syn => seg.fin = true,
        _ => {
            let mut seg = TxSeg::new(t.write_seq, 0, false, true);
            seg.pkt_head = true;
            t.tail_skb_seq = t.write_seq;
            t.wq.push_back(seg);
            t.wmem_queued += SKB_TCP_OVERHEAD;
        }
    }
    t.write_seq = t.write_seq.wrapping_add(1);
}

/// How much `tcp_write_xmit` may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XmitMode {
    /// Everything cwnd, the window and Nagle allow.
    All,
    /// One segment (`push_one`).
    One,
    /// One segment as a tail loss probe, whatever cwnd says (`push_one == 2`).
    Probe,
}

/// What a segment (or GSO packet) to transmit is.
#[derive(Debug, Clone, Copy)]
struct Seg {
    seq: u32,
    len: u32,
    flags: TcpFlags,
    /// Data offset in the send buffer.
    data_seq: u32,
    /// The segment size of a GSO packet (its `len` is cut into segments of this many
    /// bytes below IP), 0 for a single segment.
    gso_size: u32,
    /// The transmit timestamps it asks for (`SKBTX_*`) and their byte ([`super::tstamp`]).
    tx_flags: u8,
    /// See `tx_flags`.
    tskey: u32,
    /// An ACK for this `rcv_nxt` rather than the socket's, with or without ECE (DCTCP's
    /// ACK of the prior CE state, `__tcp_send_ack(sk, prior_rcv_nxt)`).
    ack_override: Option<(u32, bool)>,
}

impl Seg {
    /// A segment without data (an ACK, a SYN, a RST, a window probe) at `seq`.
    fn bare(seq: u32, flags: TcpFlags) -> Self {
        Self {
            seq,
            len: 0,
            flags,
            data_seq: seq,
            gso_size: 0,
            tx_flags: 0,
            tskey: 0,
            ack_override: None,
        }
    }
}

/// The SYN (`tcp_connect`): queued as the first segment, sent, retransmit timer armed. A
/// Fast Open connect sends it with [`tcp_send_syn_data`], which may take some of `data`.
pub(crate) fn tcp_send_syn(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, data: &[u8]) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    t.wq.push_front(TxSeg::new(t.iss, 0, true, false));
    t.recovery.rack_hint = 0;
    t.recovery.rtx_hint = 0;
    if t.fo.req.is_some() {
        tcp_send_syn_data(n, cx, sock, data);
        return;
    }
    tcp_write_xmit(n, cx, sock, XmitMode::One);
}

/// `tcp_send_syn_data`: the SYN of a Fast Open connect. With a cookie cached (or none
/// needed) it carries the cookie and the first bytes of the write — up to the MSS less 40
/// bytes (`MAX_TCP_OPTION_SPACE`, room for middleboxes' options), the cached MSS bounding
/// it — as one packet; the data is then a segment of its own in the retransmit queue, after
/// the SYN. Otherwise, or when not a byte of the write can be read (a bad buffer), a plain
/// SYN goes with a cookie request. Retransmitted SYNs carry neither option nor data.
pub(crate) fn tcp_send_syn_data(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, data: &[u8]) {
    let tcp_fastopen = n.sysctl.tcp_fastopen;
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    let Some(mut req) = t.fo.req else {
        return;
    };
    // The MSS when none is cached.
    let mut mss = t.advmss.min(u32::from(u16::MAX)) as u16;
    let ok = super::fastopen::tcp_fastopen_cookie_check(
        &n.tcp_metrics,
        tcp_fastopen,
        t,
        &mut mss,
        &mut req.cookie,
    );
    let mut sent = false;
    if ok {
        // tcp_mss_clamp, then tcp_sync_mss and __tcp_mtu_to_mss (the path's MSS is advmss
        // or above it).
        t.mss_clamp = u32::from(mss);
        if t.user_mss > 0 {
            t.mss_clamp = t.mss_clamp.min(t.user_mss);
        }
        let mtu_mss = t.advmss.min(t.mss_clamp).max(48);
        t.mss_cache = mtu_mss - if t.ts_ok { TS_LEN } else { 0 };
        let space = ((mtu_mss - 40) as usize).min(req.size);
        // copy_page_from_iter: what can be read of it; nothing read of something is the
        // fallback.
        let copy = space.min(data.len());
        if space == 0 || copy > 0 {
            req.copied = copy;
            req.data_pending = copy != req.size;
            t.fo.req = Some(req);
            sent = send_syn_with_data(n, cx, sock, &data[..copy]);
        }
    }
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if !sent {
        // fallback: a plain SYN, asking for a cookie.
        if req.cookie.len > 0 {
            req.cookie.len = 0;
        }
        let copied = t.fo.req.map_or(0, |r| r.copied);
        t.fo.req = Some(FastOpenRequest { copied, ..req });
        tcp_write_xmit(n, cx, sock, XmitMode::One);
    }
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if let Some(r) = &mut t.fo.req {
        // Excluded from SYN retransmissions.
        r.cookie.len = -1;
    }
}

/// The SYN and `data` as one packet (`tcp_transmit_skb` of `syn_data`), the cookie of the
/// socket's request in its options; the data is queued as the segment after the SYN
/// (`tcp_connect_queue_skb`). Returns false when the qdisc refused it: the data stays
/// queued, unsent, and the SYN is to go alone.
fn send_syn_with_data(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, data: &[u8]) -> bool {
    let now = cx.now;
    let now_j = crate::jiffies::jiffies(now, n.jiffies_phase) as u32;
    let Some(t) = n.socks.tcp(sock) else {
        return false;
    };
    let len = data.len() as u32;
    let iss = t.iss;
    if len > 0 {
        t.chrono.start(ChronoKind::Busy, now_j);
    }
    let seq = iss.wrapping_add(1);
    if len > 0 {
        let mut seg = TxSeg::new(seq, len, false, false);
        seg.psh = true;
        // An skb of its own (tcp_connect_queue_skb), the write queue's tail.
        seg.pkt_head = true;
        t.tail_skb_seq = seq;
        t.wq.push_back(seg);
        t.sndq.extend(data);
        t.write_seq = seq.wrapping_add(len);
        t.pushed_seq = t.write_seq;
        t.wmem_queued += len + SKB_TCP_OVERHEAD;
    }
    let sent = tcp_transmit(
        n,
        cx,
        sock,
        Seg {
            seq: iss,
            len,
            flags: TcpFlags::SYN,
            data_seq: seq,
            gso_size: 0,
            tx_flags: 0,
            tskey: 0,
            ack_override: None,
        },
    );
    let Some(t) = n.socks.tcp(sock) else {
        return false;
    };
    if sent == NetXmit::Drop {
        return false;
    }
    let count = 1 + usize::from(len > 0);
    let delivered_now = t.stats.delivered;
    let tx_rate = super::rate::tcp_rate_skb_sent(t, super::rate::stamp_us(now));
    for w in t.wq.range_mut(..count) {
        w.sent_at = Some(now);
        w.tx_delivered = delivered_now;
        w.tx_rate = tx_rate;
        w.pkt_head = true;
    }
    t.packets_out += count as u32;
    t.snd_nxt = t.write_seq;
    t.fo.syn_data = len > 0;
    if len > 0 {
        t.stats.bytes_sent += u64::from(len);
    }
    tcp_arm_rtx_if_idle(n, cx, sock);
    true
}

/// `tcp_push_pending_frames`.
pub(crate) fn tcp_push_pending_frames(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else { return };
    let nonagle = t.nonagle;
    tcp_push_nonagle(n, cx, sock, nonagle);
}

/// `__tcp_push_pending_frames` with the Nagle mode `nonagle` (the socket's, or
/// [`TCP_NAGLE_CORK`](super::TCP_NAGLE_CORK) for a write with `MSG_MORE`).
pub(crate) fn tcp_push_nonagle(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, nonagle: u8) {
    tcp_write_xmit_nagle(n, cx, sock, XmitMode::All, nonagle);
}

/// `tcp_write_xmit`: send unsent segments while cwnd, the peer's window and Nagle allow.
pub(crate) fn tcp_write_xmit(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, mode: XmitMode) {
    let nonagle = n.socks.tcp(sock).map_or(0, |t| t.nonagle);
    tcp_write_xmit_nagle(n, cx, sock, mode, nonagle);
}

/// `sk_gso_max_size` of a TCP socket: the device's `gso_max_size` (65536,
/// `GSO_LEGACY_MAX_SIZE`) less `MAX_TCP_HEADER + 1` (320 + 1), as `sk_setup_caps` sets it.
pub const TCP_GSO_MAX_SIZE: u32 = 65536 - (320 + 1);

/// `tcp_xmit_size_goal`: how big `tcp_sendmsg` makes an skb: `TCP_GSO_MAX_SIZE`, at most
/// half the peer's largest window (`tcp_bound_to_half_wnd`), in whole segments, at least one.
pub fn tcp_xmit_size_goal(t: &TcpSock) -> u32 {
    let mss = t.mss_cache.max(1);
    let cutoff = if t.max_window > 536 {
        t.max_window >> 1
    } else {
        t.max_window
    };
    let mut goal = TCP_GSO_MAX_SIZE;
    if cutoff > 0 && goal > cutoff {
        goal = cutoff.max(68 - super::input::tcp_header_len(t));
    }
    (goal / mss * mss).max(mss)
}

/// The unsent bytes of the write queue's tail skb (0 when there is none, or it ends a
/// record or carries the FIN, so that nothing more joins it).
pub fn tcp_tail_skb_len(t: &TcpSock) -> u32 {
    match t.wq.back() {
        Some(seg) if seg.sent_at.is_none() && !seg.eor && !seg.fin && !seg.syn => {
            let start = if after(t.snd_nxt, t.tail_skb_seq) {
                t.snd_nxt
            } else {
                t.tail_skb_seq
            };
            t.write_seq.wrapping_sub(start)
        }
        _ => 0,
    }
}

/// `tcp_tso_segs` → `tcp_tso_autosize`: how many segments a GSO packet may hold, about 1 ms
/// at the pacing rate (`sk_pacing_rate >> sk_pacing_shift`, shift 10), plus up to
/// `TCP_GSO_MAX_SIZE` on paths whose minimum RTT is below 2^`tcp_tso_rtt_log` µs, at most
/// `TCP_GSO_MAX_SIZE` and at least the congestion control's `min_tso_segs` (else
/// `tcp_min_tso_segs`).
pub fn tcp_tso_segs(t: &TcpSock, sys: &Sysctls) -> u32 {
    let mss = u64::from(t.mss_cache.max(1));
    let mut bytes = t.pacing_rate >> 10;
    // tcp_min_rtt: ~0U until the first sample.
    let min_rtt = if t.rtt.min_rtt_us == 0 {
        u32::MAX
    } else {
        t.rtt.min_rtt_us
    };
    let r = min_rtt.checked_shr(sys.tcp_tso_rtt_log).unwrap_or(0);
    if r < u32::BITS {
        bytes = bytes.saturating_add(u64::from(TCP_GSO_MAX_SIZE >> r));
    }
    bytes = bytes.min(u64::from(TCP_GSO_MAX_SIZE));
    let min_tso = t.cong.min_tso_segs(t.pacing_rate, sys.tcp_min_tso_segs);
    ((bytes / mss) as u32).max(min_tso)
}

/// `tcp_cwnd_test`: how many segments cwnd lets go now, at most half of it per packet
/// ("at least 2 GSO packets in flight").
fn tcp_cwnd_test(t: &TcpSock) -> u32 {
    let in_flight = t.in_flight();
    if in_flight >= t.cwnd {
        return 0;
    }
    (t.cwnd >> 1).max(1).min(t.cwnd - in_flight)
}

/// `tcp_grow_skb`, on the write queue's segments: the unsent segment at `idx` (the send
/// head) is filled up from the ones after it, and so on for the `quota` segments a packet may
/// hold, so that its segments are full-sized from its start. Only a head left short by
/// [`tso_fragment`] at the edge of the peer's window needs it; segments written after an
/// `MSG_EOR`, a FIN alone, and the SYN are never joined.
fn tcp_grow_skb(t: &mut TcpSock, idx: usize, quota: u32) {
    let mss = t.mss_cache;
    let mut i = idx;
    while i + 1 < t.wq.len() && i < idx + quota as usize {
        let (cur, next) = (&t.wq[i], &t.wq[i + 1]);
        if cur.len >= mss || cur.eor || cur.fin || cur.syn || next.len == 0 || next.syn {
            i += 1;
            continue;
        }
        let k = (mss - cur.len).min(next.len);
        t.wq[i].len += k;
        let next = &mut t.wq[i + 1];
        next.seq = next.seq.wrapping_add(k);
        next.len -= k;
        if next.len == 0 {
            let gone = t.wq.remove(i + 1).expect("next");
            let cur = &mut t.wq[i];
            cur.psh |= gone.psh;
            cur.fin = gone.fin;
            cur.eor = gone.eor;
            super::tstamp::tcp_skb_collapse_tstamp(cur, &gone);
            // Its bytes stay (in `cur`); the skb it headed, if any, is freed.
            let freed = TcpSock::wmem_of(&gone) - gone.len;
            t.wmem_queued = t.wmem_queued.saturating_sub(freed);
        }
    }
}

/// `tso_fragment`: splits the unsent segment at `idx` after `len` bytes; the second part
/// keeps PSH, FIN and the end of record.
fn tso_fragment(t: &mut TcpSock, idx: usize, len: u32) {
    let seg = &mut t.wq[idx];
    debug_assert!(seg.sent_at.is_none() && len > 0 && len < seg.len);
    let mut rest = TxSeg::new(seg.seq.wrapping_add(len), seg.len - len, false, seg.fin);
    rest.psh = seg.psh;
    rest.eor = seg.eor;
    seg.len = len;
    seg.psh = false;
    seg.fin = false;
    seg.eor = false;
    super::tstamp::tcp_fragment_tstamp(seg, &mut rest);
    // The rest's skb is charged when it is marked as one, after the packet goes.
    t.wq.insert(idx + 1, rest);
}

/// The segments from the send head `idx` that one GSO packet of at most `quota` segments
/// holds once grown (`tcp_grow_skb`): (segments, bytes). PSH set on any of them moves to the
/// last, as the skb's flag would show on its last segment.
fn tcp_skb_extent(t: &mut TcpSock, idx: usize, quota: u32) -> (usize, u32) {
    let first = &t.wq[idx];
    let (mut count, mut bytes) = (1, first.len);
    if !(first.len == 0 || first.eor || first.fin || first.syn) {
        for seg in t.wq.range(idx + 1..) {
            if count == quota as usize || seg.len == 0 || seg.syn {
                break;
            }
            count += 1;
            bytes += seg.len;
            if seg.eor || seg.fin {
                break;
            }
        }
    }
    if count > 1 && t.wq.range(idx..idx + count - 1).any(|w| w.psh) {
        for w in t.wq.range_mut(idx..idx + count) {
            w.psh = false;
        }
        t.wq[idx + count - 1].psh = true;
    }
    (count, bytes)
}

/// The send head skb at `idx` as Linux's write queue holds it: (segments, bytes). The
/// segments up to the next one that heads an skb (all the rest when it is the tail, `is_tail`)
/// are the skb `tcp_sendmsg` built, or what `tso_fragment` left of it; when that is shorter
/// than the packet `tcp_grow_skb` makes of it (`grown`), the grown one.
fn tcp_send_head_skb(t: &TcpSock, idx: usize, grown: (usize, u32), is_tail: bool) -> (usize, u32) {
    let own = if is_tail {
        (t.wq.len() - idx, t.write_seq.wrapping_sub(t.wq[idx].seq))
    } else {
        let mut own = (1, t.wq[idx].len);
        for w in t.wq.range(idx + 1..) {
            if w.pkt_head {
                break;
            }
            own.0 += 1;
            own.1 += w.len;
        }
        own
    };
    if own.1 > grown.1 { own } else { grown }
}

/// `tcp_nagle_check`: a partial segment waits while corked, or, with Nagle on, while a small
/// one is unacknowledged (Minshall's variant).
fn tcp_nagle_check(partial: bool, t: &TcpSock, nonagle: u8) -> bool {
    let minshall = after(t.snd_sml, t.snd_una) && !after(t.snd_sml, t.snd_nxt);
    partial
        && (nonagle & super::TCP_NAGLE_CORK != 0 || (nonagle == 0 && t.packets_out > 0 && minshall))
}

/// Why `tcp_tso_should_defer` held a packet back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Defer {
    /// Send now.
    No,
    /// Wait for the next ACK, cwnd-limited.
    CwndLimited,
    /// Wait for the next ACK (window- or application-limited).
    Yes,
}

/// `tcp_tso_should_defer`: whether the send head skb at `idx` (`segs` segments, `bytes`
/// long) should wait for the ACK expected soon, so that it can go out larger. Never in recovery, nor more
/// than 1 ms after the last transmission; not when a full packet, or the whole of a packet
/// that gets no more data, or a `tcp_tso_win_divisor`-th of the window may go; not when the
/// next ACK is further off than min(srtt/2, 1 ms).
fn tcp_tso_should_defer(
    t: &TcpSock,
    now: SimTime,
    (idx, grown, is_tail): (usize, (usize, u32), bool),
    max_segs: u32,
    win_divisor: u32,
) -> Defer {
    if matches!(t.recovery.ca_state, CaState::Recovery | CaState::Loss) {
        return Defer::No;
    }
    if now.saturating_since(t.tcp_wstamp) > SimDuration::from_millis(1) {
        return Defer::No;
    }
    let mss = u64::from(t.mss_cache);
    let seq = t.wq[idx].seq;
    let in_flight = t.in_flight();
    let send_win = u64::from(t.snd_una.wrapping_add(t.snd_wnd).wrapping_sub(seq));
    let cong_win = u64::from(t.cwnd.saturating_sub(in_flight)) * mss;
    let limit = send_win.min(cong_win);
    if limit >= u64::from(max_segs) * mss {
        return Defer::No;
    }
    // The skb's length (found only now: the tests above settle most calls).
    let (segs, bytes) = tcp_send_head_skb(t, idx, grown, is_tail);
    let bytes = u64::from(bytes);
    if !is_tail && limit >= bytes {
        return Defer::No;
    }
    if win_divisor > 0 {
        let chunk = u64::from(t.snd_wnd).min(u64::from(t.cwnd) * mss) / u64::from(win_divisor);
        if limit >= chunk {
            return Defer::No;
        }
    } else if limit > 3 * mss {
        // tcp_max_tso_deferred_mss
        return Defer::No;
    }
    let Some(head_sent) = t.wq.front().and_then(|w| w.sent_at) else {
        return Defer::No;
    };
    let srtt_ns = 125 * u64::from(t.rtt.srtt_us);
    let expected_ack = head_sent.as_nanos() + srtt_ns;
    let how_far = expected_ack as i128 - now.as_nanos() as i128;
    let threshold = (srtt_ns >> 1).min(1_000_000);
    if how_far - threshold as i128 > 0 {
        return Defer::No;
    }
    if cong_win < send_win {
        if cong_win <= bytes {
            return Defer::CwndLimited;
        }
    } else if send_win <= bytes {
        return Defer::Yes;
    }
    // A packet that will get no more data is not held back.
    let last = &t.wq[idx + segs - 1];
    if last.fin || last.eor {
        return Defer::No;
    }
    Defer::Yes
}

/// `tcp_mss_split_point`: how many bytes of the packet go now: `quota` full segments if the
/// window allows and the packet has more behind it, else what the window allows, without a
/// trailing partial segment that Nagle would hold back.
fn tcp_mss_split_point(
    t: &TcpSock,
    (idx, bytes, is_tail): (usize, u32, bool),
    quota: u32,
    nonagle: u8,
) -> u32 {
    let mss = t.mss_cache;
    let window = t
        .snd_una
        .wrapping_add(t.snd_wnd)
        .wrapping_sub(t.wq[idx].seq);
    let max_len = mss * quota;
    if max_len <= window && !is_tail {
        return max_len;
    }
    let needed = bytes.min(window);
    if max_len <= needed {
        return max_len;
    }
    let partial = needed % mss;
    if tcp_nagle_check(partial != 0, t, nonagle) {
        return needed - partial;
    }
    needed
}

/// `tcp_write_xmit` with the Nagle mode `nonagle`: while cwnd (`tcp_cwnd_test`), the peer's
/// window (`tcp_snd_wnd_test`), Nagle (a single segment) or TSO deferral (a GSO packet)
/// allow, the send head grows to what may go (`tcp_grow_skb`), is cut there
/// (`tcp_mss_split_point`, `tso_fragment`) and goes out as one packet of up to
/// `tcp_tso_segs` segments.
fn tcp_write_xmit_nagle(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    mode: XmitMode,
    nonagle: u8,
) {
    let now = cx.now;
    let node_id = n.id;
    let push_one = mode != XmitMode::All;
    let win_divisor = n.sysctl.tcp_tso_win_divisor;
    let mut sent_any = false;
    let mut sent_pkts = 0u32;
    let mut is_cwnd_limited = false;
    let mut is_rwnd_limited = false;
    let now_j = crate::jiffies::jiffies(now, n.jiffies_phase) as u32;
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    // TCP always builds GSO packets (sk_setup_caps gives TCP sockets NETIF_F_GSO whatever
    // the device says); a device without TSO has them cut in validate_xmit_skb.
    let max_segs = tcp_tso_segs(t, &n.sysctl);
    loop {
        let Some(t) = n.socks.tcp(sock) else {
            return;
        };
        let idx = t.sent_segs();
        if idx == t.wq.len() {
            break;
        }
        if t.pacing_status == PacingStatus::Needed && tcp_pacing_check(t, (node_id, sock), cx) {
            break;
        }
        let mss = t.mss_cache;
        let mut count = 1;
        if !t.wq[idx].syn {
            let mut quota = tcp_cwnd_test(t);
            if quota == 0 {
                is_cwnd_limited = true;
                // A loss probe goes out whatever cwnd says (push_one == 2).
                if mode != XmitMode::Probe {
                    break;
                }
                quota = 1;
            }
            let quota = quota.min(max_segs);
            tcp_grow_skb(t, idx, quota);
            let (segs, bytes) = tcp_skb_extent(t, idx, quota);
            // The send head skb is as tcp_sendmsg built it (to the next skb head), or as
            // tcp_grow_skb made it when that was shorter than the quota. It is the queue's
            // tail if it lies in the tail skb or the grown packet reaches the end; whether
            // it has more than one segment (tcp_init_tso_segs) decides between Nagle and
            // tcp_tso_should_defer.
            let is_tail = idx + segs == t.wq.len() || !before(t.wq[idx].seq, t.tail_skb_seq);
            let multi = segs > 1 || t.wq.get(idx + 1).is_some_and(|w| !w.pkt_head && w.len > 0);
            // tcp_snd_wnd_test: the packet's first segment must fit the offered window.
            let head = &t.wq[idx];
            let wnd_end = t.snd_una.wrapping_add(t.snd_wnd);
            if head.len > 0 && after(head.seq.wrapping_add(head.len.min(mss)), wnd_end) {
                is_rwnd_limited = true;
                break;
            }
            if !multi {
                // tcp_nagle_test (only the last segment can be held back).
                let nonagle = if is_tail {
                    nonagle
                } else {
                    super::TCP_NAGLE_PUSH
                };
                if !head.fin
                    && !push_one
                    && nonagle & super::TCP_NAGLE_PUSH == 0
                    && tcp_nagle_check(head.len < mss, t, nonagle)
                {
                    break;
                }
            } else {
                if !push_one {
                    match tcp_tso_should_defer(
                        t,
                        now,
                        (idx, (segs, bytes), is_tail),
                        max_segs,
                        win_divisor,
                    ) {
                        Defer::No => {}
                        Defer::CwndLimited => {
                            is_cwnd_limited = true;
                            break;
                        }
                        Defer::Yes => break,
                    }
                }
                let limit = tcp_mss_split_point(t, (idx, bytes, is_tail), quota, nonagle);
                // tso_fragment: the packet ends at `limit`, inside a segment if need be.
                let mut acc = 0;
                count = 0;
                while count < segs {
                    let len = t.wq[idx + count].len;
                    if acc + len > limit {
                        if acc < limit {
                            tso_fragment(t, idx + count, limit - acc);
                            count += 1;
                        }
                        break;
                    }
                    acc += len;
                    count += 1;
                }
            }
        }
        if !tcp_send_new_skb(n, cx, sock, idx, count) {
            break;
        }
        sent_any = true;
        sent_pkts += count as u32;
        tcp_arm_rtx_if_idle(n, cx, sock);
        if push_one {
            break;
        }
    }
    if let Some(t) = n.socks.tcp(sock) {
        if is_rwnd_limited {
            t.chrono.start(ChronoKind::RwndLimited, now_j);
        } else {
            t.chrono_stop(ChronoKind::RwndLimited, now_j);
        }
        // New data sent while cwnd is being reduced counts for PRR (tcp_in_cwnd_reduction).
        if matches!(t.recovery.ca_state, CaState::Cwr | CaState::Recovery) {
            t.recovery.prr_out += sent_pkts;
        }
        is_cwnd_limited |= t.in_flight() >= t.cwnd;
        if sent_any || is_cwnd_limited {
            tcp_cwnd_validate(t, is_cwnd_limited, now_j);
        }
    }
    // New data went out: a tail loss probe replaces the RTO when it may.
    if sent_any && mode != XmitMode::Probe {
        tcp_schedule_loss_probe(n, cx, sock, false);
    }
    // __tcp_push_pending_frames: nothing in flight and data left that could not go (the
    // peer's window is closed, or the qdisc refused it): the window probe timer.
    if mode == XmitMode::All
        && let Some(t) = n.socks.tcp(sock)
        && t.packets_out == 0
        && t.sent_segs() < t.wq.len()
    {
        super::timer::tcp_check_probe_timer(n, cx, sock);
    }
}

/// `tcp_cwnd_validate`: how fully the window is used, for `tcp_is_cwnd_limited`. A send that
/// cwnd limited marks the window limited; otherwise the most packets in flight are kept for
/// the current window, and both start afresh once `snd_una` passes the `snd_nxt` of the
/// last reset (`cwnd_usage_seq`). (`tcp_cwnd_application_limited`, RFC 2861's shrinking of
/// an unused window, is not modeled.)
fn tcp_cwnd_validate(t: &mut TcpSock, is_cwnd_limited: bool, now_j: u32) {
    if !before(t.snd_una, t.cwnd_usage_seq)
        || is_cwnd_limited
        || (!t.is_cwnd_limited && t.packets_out > t.max_packets_out)
    {
        t.is_cwnd_limited = is_cwnd_limited;
        t.max_packets_out = t.packets_out;
        t.cwnd_usage_seq = t.snd_nxt;
    }
    // tcp_is_cwnd_limited (in slow start, cwnd below twice what was in flight), else: the
    // starvation is the send buffer's when all was sent and the app is waiting for room.
    let cwnd_limited = t.is_cwnd_limited || (t.cwnd < t.ssthresh && t.cwnd < 2 * t.max_packets_out);
    if !cwnd_limited
        && t.write_queue_empty()
        && t.sk.nospace
        && matches!(t.state, TcpState::Established | TcpState::CloseWait)
    {
        t.chrono.start(ChronoKind::SndbufLimited, now_j);
    }
}

/// `tcp_write_wakeup`: a window probe. If the peer's window takes some of the send head,
/// that much of it (at most an MSS) goes out with PSH; otherwise a bare ACK one below
/// `snd_una` (`tcp_xmit_probe_skb`), which the peer must answer with an ACK carrying its
/// window (`TcpExtTCPWinProbe`). Returns false when the local qdisc refused what was sent.
pub(crate) fn tcp_write_wakeup(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) -> bool {
    let Some(t) = n.socks.tcp(sock) else {
        return false;
    };
    if matches!(t.state, TcpState::Closed) {
        return false;
    }
    let idx = t.sent_segs();
    let wnd_end = t.snd_una.wrapping_add(t.snd_wnd);
    if idx < t.wq.len() && before(t.wq[idx].seq, wnd_end) {
        let mss = t.mss_cache;
        let seg_size = wnd_end.wrapping_sub(t.wq[idx].seq).min(mss);
        if t.wq[idx].len > seg_size {
            tso_fragment(t, idx, seg_size);
        }
        let end = t.wq[idx].end_seq();
        if before(t.pushed_seq, end) {
            t.pushed_seq = end;
        }
        t.wq[idx].psh = true;
        return tcp_send_new_skb(n, cx, sock, idx, 1);
    }
    n.snmp.tcp_ext.TCPWinProbe += 1;
    let seq = t.snd_una.wrapping_sub(1);
    tcp_transmit(n, cx, sock, Seg::bare(seq, TcpFlags::ACK)) != NetXmit::Drop
}

/// Sends the `count` unsent segments from `idx` as one packet and moves the send head past
/// them (`tcp_transmit_skb`, `tcp_event_new_data_sent`, `tcp_minshall_update`). Returns
/// false when the local qdisc refused it: the segments stay unsent.
fn tcp_send_new_skb(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    idx: usize,
    count: usize,
) -> bool {
    let now = cx.now;
    let Some(t) = n.socks.tcp(sock) else {
        return false;
    };
    // tso_fragment: what follows the packet is an skb of its own (sent or not).
    if idx + count < t.wq.len() {
        t.set_skb_head(idx + count, true);
    }
    let first = &t.wq[idx];
    let last = &t.wq[idx + count - 1];
    let (seq, syn, psh, fin) = (first.seq, first.syn, last.psh, last.fin);
    let end_seq = last.end_seq();
    let len: u32 = t.wq.range(idx..idx + count).map(|w| w.len).sum();
    let (tx_flags, tskey) = super::tstamp::tcp_skb_tx_tstamp(t.wq.range(idx..idx + count));
    let mut flags = if syn { TcpFlags::SYN } else { TcpFlags::ACK };
    if psh && len > 0 {
        flags |= TcpFlags::PSH;
    }
    if fin {
        flags |= TcpFlags::FIN;
    }
    let mss = t.mss_cache;
    if len > 0 {
        // tcp_event_data_sent: sending soon after receiving means interactive.
        if now.saturating_since(t.ack.lrcvtime) < t.ack.ato {
            t.ack.pingpong += 1;
        }
    }
    let sent = tcp_transmit(
        n,
        cx,
        sock,
        Seg {
            seq,
            len,
            flags,
            data_seq: seq,
            gso_size: if count > 1 { mss } else { 0 },
            tx_flags,
            tskey,
            ack_override: None,
        },
    );
    let Some(t) = n.socks.tcp(sock) else {
        return false;
    };
    if sent == NetXmit::Drop {
        return false;
    }
    let delivered_now = t.stats.delivered;
    // tcp_rate_skb_sent, before tcp_event_new_data_sent counts the packet out.
    let tx_rate = super::rate::tcp_rate_skb_sent(t, super::rate::stamp_us(now));
    for i in 0..count {
        // The packet is one skb: those tcp_grow_skb emptied into it are freed.
        t.set_skb_head(idx + i, i == 0);
        let w = &mut t.wq[idx + i];
        w.sent_at = Some(now);
        w.tx_delivered = delivered_now;
        w.tx_rate = tx_rate;
    }
    t.snd_nxt = end_seq;
    t.packets_out += count as u32;
    if len > 0 && len < count as u32 * mss {
        t.snd_sml = end_seq;
    }
    if len > 0 {
        t.stats.bytes_sent += u64::from(len);
    }
    true
}

/// Arms the retransmit timer if it is not running and something is in flight.
pub(crate) fn tcp_arm_rtx_if_idle(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let idle = n
        .socks
        .tcp(sock)
        .is_some_and(|t| t.packets_out > 0 && !cx.sched.is_armed(&t.timers.rtx_timer));
    if idle {
        tcp_reset_rtx_timer(n, cx, sock);
    }
}

/// (Re)arms the retransmit timer for a full RTO from now.
pub(crate) fn tcp_reset_rtx_timer(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let now = cx.now;
    let phase = n.jiffies_phase;
    let Some(t) = n.socks.tcp(sock) else { return };
    if t.packets_out == 0 {
        cx.sched.cancel(&t.timers.rtx_timer);
        return;
    }
    let at = crate::jiffies::round_expiry(now, t.rtt.rto, phase);
    tcp_arm_timer(n, cx, sock, super::timer::TcpTimerKind::Retransmit, at);
}

/// `tcp_retransmit_skb` for write-queue segment `idx`. Returns false when the local qdisc
/// refused it (`TCPRetransFail`): the segment stays to be retransmitted.
pub(crate) fn tcp_retransmit_seg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    idx: usize,
) -> bool {
    tcp_retransmit_skb(n, cx, sock, idx, 1, false)
}

/// `__tcp_retransmit_skb` for the tail loss probe: segment `idx` again, without starting
/// the episode's clock (`retrans_stamp`) or counting it for undo (`undo_retrans`), which
/// only `tcp_retransmit_skb` does.
pub(crate) fn tcp_retransmit_probe(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    idx: usize,
) -> bool {
    tcp_retransmit_skb(n, cx, sock, idx, 1, true)
}

/// `tcp_retransmit_skb` for the `count` write-queue segments from `idx`, one skb of the
/// retransmit queue (or its first `count` segments, `tcp_fragment` cutting the rest into an
/// skb of its own): one packet, a GSO packet when it holds several. Returns false when the
/// local qdisc refused it (`TCPRetransFail`): the segments stay to be retransmitted.
fn tcp_retransmit_skb(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    idx: usize,
    count: usize,
    probe: bool,
) -> bool {
    let now = cx.now;
    let Some(t) = n.socks.tcp(sock) else {
        return false;
    };
    let first = t.wq[idx].clone();
    let last = &t.wq[idx + count - 1];
    let (psh, fin) = (last.psh, last.fin);
    let len: u32 = t.wq.range(idx..idx + count).map(|w| w.len).sum();
    let (tx_flags, tskey) = super::tstamp::tcp_skb_tx_tstamp(t.wq.range(idx..idx + count));
    let mss = t.mss_cache;
    let mut flags = if first.syn {
        TcpFlags::SYN
    } else {
        TcpFlags::ACK
    };
    if first.syn && t.state == TcpState::SynRecv {
        flags |= TcpFlags::ACK;
    }
    if first.syn && t.state == TcpState::SynSent {
        // RFC 3168 6.1.1.1: ECN fallback (tcp_ecn_clear_syn).
        let fallback = n.sysctl.tcp_ecn_fallback;
        t.ecn.clear_syn(fallback);
    }
    if psh && len > 0 {
        flags |= TcpFlags::PSH;
    }
    if fin {
        flags |= TcpFlags::FIN;
    }
    t.stats.retrans += count as u64;
    t.stats.bytes_retrans += u64::from(len);
    t.stats.bytes_sent += u64::from(len);
    n.snmp.tcp.RetransSegs += count as u64;
    if !(first.syn && t.state == TcpState::SynRecv) {
        let sent = tcp_transmit(
            n,
            cx,
            sock,
            Seg {
                seq: first.seq,
                len,
                flags,
                data_seq: first.seq,
                gso_size: if count > 1 { mss } else { 0 },
                tx_flags,
                tskey,
                ack_override: None,
            },
        );
        if sent == NetXmit::Drop {
            n.snmp.tcp_ext.TCPRetransFail += count as u64;
            return false;
        }
    }
    let Some(t) = n.socks.tcp(sock) else {
        return false;
    };
    if !probe {
        if t.recovery.retrans_stamp.is_none() {
            t.recovery.retrans_stamp = Some(now);
        }
        super::undo::tcp_undo_count_retrans(t, count as u32);
    }
    let delivered_now = t.stats.delivered;
    let tx_rate = super::rate::tcp_rate_skb_sent(t, super::rate::stamp_us(now));
    for i in idx..idx + count {
        let w = &mut t.wq[i];
        w.sent_at = Some(now);
        w.tx_delivered = delivered_now;
        w.tx_rate = tx_rate;
        if w.retrans == 0 {
            t.ever_retrans_in_wq += 1;
        }
        w.retrans += 1;
        if !w.retrans_out {
            w.retrans_out = true;
            t.retrans_out += 1;
        }
    }
    // tcp_fragment: what of the skb was not sent now is an skb of its own.
    if t.wq.get(idx + count).is_some_and(|w| w.sent_at.is_some()) {
        t.set_skb_head(idx + count, true);
    }
    if first.syn && t.state == TcpState::SynRecv {
        tcp_send_synack(n, cx, sock);
    }
    true
}

/// `tcp_xmit_retransmit_queue`: resend segments marked lost while cwnd allows.
pub(crate) fn tcp_xmit_retransmit_queue(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let node_id = n.id;
    loop {
        let Some(t) = n.socks.tcp(sock) else {
            return;
        };
        if t.in_flight() >= t.cwnd {
            return;
        }
        if t.pacing_status == PacingStatus::Needed && tcp_pacing_check(t, (node_id, sock), cx) {
            return;
        }
        // From `rtx_hint` (Linux's `retransmit_skb_hint`): nothing before it qualifies.
        debug_assert!(
            t.wq.iter()
                .take(t.recovery.rtx_hint)
                .all(|x| !(x.lost && !x.retrans_out && !x.sacked))
        );
        let from = t.recovery.rtx_hint.min(t.wq.len());
        let found =
            t.wq.range(from..)
                .take_while(|x| x.sent_at.is_some())
                .position(|x| x.lost && !x.retrans_out && !x.sacked);
        let Some(idx) = found.map(|i| from + i) else {
            t.recovery.rtx_hint = t.sent_segs();
            return;
        };
        // The skb it begins goes whole, as far as cwnd (and the GSO size) lets it: the lost
        // segments after it up to the next packet's head (tcp_retransmit_skb's `segs`).
        let quota = (t.cwnd - t.in_flight())
            .min(tcp_tso_segs(t, &n.sysctl))
            .max(1) as usize;
        let mut count = 1;
        while count < quota
            && let Some(w) = t.wq.get(idx + count)
            && w.sent_at.is_some()
            && !w.pkt_head
            && w.lost
            && !w.retrans_out
            && !w.sacked
            && !w.syn
            && !t.wq[idx].syn
        {
            count += 1;
        }
        // The segments are retransmitted below, so the next search starts after them.
        t.recovery.rtx_hint = idx + count;
        if !tcp_retransmit_skb(n, cx, sock, idx, count, false) {
            if let Some(t) = n.socks.tcp(sock) {
                t.recovery.rtx_hint = idx;
            }
            return;
        }
        if let Some(t) = n.socks.tcp(sock) {
            if matches!(t.recovery.ca_state, CaState::Cwr | CaState::Recovery) {
                t.recovery.prr_out += count as u32;
            }
            if t.recovery.ca_state == CaState::Loss {
                n.snmp.tcp_ext.TCPSlowStartRetrans += count as u64;
            } else {
                n.snmp.tcp_ext.TCPFastRetrans += count as u64;
            }
        }
    }
}

/// `tcp_send_ack`: a pure ACK now.
pub(crate) fn tcp_send_ack(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if t.state == TcpState::Closed {
        return;
    }
    let seq = t.snd_nxt;
    let _ = tcp_transmit(n, cx, sock, Seg::bare(seq, TcpFlags::ACK));
}

/// `__tcp_send_ack(sk, rcv_nxt)` for DCTCP: a pure ACK of `rcv_nxt` (not the socket's),
/// echoing ECE or not as the CE state it reports was. It leaves the delayed-ACK state
/// alone (`tcp_event_ack_sent` ignores an ACK of another `rcv_nxt`).
pub(crate) fn tcp_send_ack_rcv_nxt(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    rcv_nxt: u32,
    ece: bool,
) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if t.state == TcpState::Closed {
        return;
    }
    let seg = Seg {
        ack_override: Some((rcv_nxt, ece)),
        ..Seg::bare(t.snd_nxt, TcpFlags::ACK)
    };
    let _ = tcp_transmit(n, cx, sock, seg);
}

/// `tcp_send_delayed_ack`: arm the delayed-ACK timer (`ato`, bounded by the RTT), or
/// ACK now if the timer was about to fire anyway.
pub(crate) fn tcp_send_delayed_ack(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let now = cx.now;
    let phase = n.jiffies_phase;
    let Some(t) = n.socks.tcp(sock) else { return };
    let mut ato = t.ack.ato;
    if ato > super::TCP_ATO_MIN {
        let mut max_ato = SimDuration::from_millis(500);
        if t.ack.pingpong > 0 || t.ack.pushed {
            max_ato = super::TCP_DELACK_MAX;
        }
        if t.rtt.srtt_us > 0 {
            let rtt =
                SimDuration::from_micros(u64::from(t.rtt.srtt_us >> 3)).max(super::TCP_ATO_MIN);
            max_ato = max_ato.min(rtt);
        }
        ato = ato.min(max_ato);
    }
    // Jiffies granularity: the timer fires on a tick.
    let mut at = crate::jiffies::round_expiry(now, ato, phase);
    if let Some(old) = cx.sched.deadline(&t.timers.delack_timer) {
        if old <= now + ato / 4 {
            tcp_send_ack(n, cx, sock);
            return;
        }
        at = at.min(old);
    }
    t.ack.pending = true;
    tcp_arm_timer(n, cx, sock, super::timer::TcpTimerKind::DelAck, at);
}

/// `tcp_send_synack`: SYN-ACK from a connection in SYN_RECV (`ip_build_and_send_pkt`:
/// IP ID 0 with DF).
pub(crate) fn tcp_send_synack(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    let seq = t.iss;
    let _ = tcp_transmit(n, cx, sock, Seg::bare(seq, TcpFlags::SYN | TcpFlags::ACK));
}

/// `tcp_send_active_reset`: RST from a connection the app aborted.
pub(crate) fn tcp_send_active_reset(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    let seq = t.snd_nxt;
    n.snmp.tcp.OutRsts += 1;
    let _ = tcp_transmit(n, cx, sock, Seg::bare(seq, TcpFlags::RST | TcpFlags::ACK));
}

/// `tcp_transmit_skb` → `ip_queue_xmit`: build the segment (options, window, checksum)
/// and send it.
/// What the device said comes back: on `NET_XMIT_DROP` or `NET_XMIT_CN` the socket enters
/// CWR (`tcp_enter_cwr`); a dropped packet was not sent.
fn tcp_transmit(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, seg: Seg) -> NetXmit {
    let now = cx.now;
    let default_ttl = n.default_ttl;
    let Some(t) = n.socks.tcp(sock) else {
        return NetXmit::Drop;
    };
    let syn = seg.flags.contains(TcpFlags::SYN);
    let ack_flag = seg.flags.contains(TcpFlags::ACK);
    // ECN (tcp_ecn_send_syn / tcp_ecn_make_synack / tcp_ecn_send): the flags it adds, and
    // the socket's ECN bits for this segment. New data is what starts at or past snd_nxt.
    let ecn_flags = if !syn {
        let new_data = seg.len > 0 && !before(seg.seq, t.snd_nxt);
        let needs = t.cong.needs_ecn();
        match seg.ack_override {
            None => t.ecn.send(new_data, needs, &mut t.sk.tos),
            Some((_, ece)) => {
                // dctcp_ece_ack_cwr(sk, prior ce_state) for this one ACK.
                let demand = std::mem::replace(&mut t.ecn.demand_cwr, ece);
                let f = t.ecn.send(new_data, needs, &mut t.sk.tos);
                t.ecn.demand_cwr = demand;
                f
            }
        }
    } else if ack_flag {
        t.ecn.synack_flags()
    } else {
        t.ecn.syn_flags
    };
    let (ttl, tos, priority) = (t.sk.ttl.unwrap_or(default_ttl), t.sk.tos, t.sk.priority);
    let tsval = tcp_time_stamp(now).wrapping_add(t.ts_off);
    let options = if syn {
        // tcp_syn_options / tcp_synack_options, laid out as tcp_options_write lays them
        // out in 32-bit words: MSS; SACK_PERM with TS, or NOP NOP TS, or NOP NOP SACK_PERM;
        // NOP WS.
        let mut list: Vec<TcpOption<'_>> = vec![TcpOption::MaxSegmentSize(t.advmss as u16)];
        let synack = seg.flags.contains(TcpFlags::ACK);
        if t.sack_ok || t.ts_ok {
            if !(t.sack_ok && t.ts_ok) {
                list.extend([TcpOption::NoOp, TcpOption::NoOp]);
            }
            if t.sack_ok {
                list.push(TcpOption::SackPermitted);
            }
        }
        if t.ts_ok {
            list.push(TcpOption::Timestamp {
                tsval,
                tsecr: if synack { t.ts_recent } else { 0 },
            });
        }
        if t.wscale_ok {
            list.push(TcpOption::NoOp);
            list.push(TcpOption::WindowScale(t.rcv_wscale));
        }
        let mut opts = TcpOptions::new(&list).expect("SYN options fit");
        if !synack && t.fo.req.is_some() {
            super::fastopen::tcp_syn_options_fastopen(t, &mut opts);
        }
        opts
    } else {
        // tcp_established_options: NOP NOP TS, then NOP NOP SACK with the blocks that
        // fit. Written straight into the options area (no list, no copy of the blocks).
        // A pending D-SACK block goes first (tp->duplicate_sack before selective_acks)
        // and is sent once (tcp_options_write clears rx_opt.dsack).
        let ts = t.ts_ok.then_some((tsval, t.ts_recent));
        let mut buf = [(0u32, 0u32); 4];
        let mut nblocks = 0;
        if t.sack_ok && !seg.flags.contains(TcpFlags::RST) {
            let room = (40 - if t.ts_ok { 12 } else { 0 } - 4) / 8;
            for &b in t.dsack.iter().chain(t.sack_blocks.iter()).take(room) {
                buf[nblocks] = b;
                nblocks += 1;
            }
            if nblocks > 0 {
                t.dsack = None;
            }
        }
        TcpOptions::established(ts, &buf[..nblocks])
    };
    let window = if syn {
        // Windows in SYN and SYN-ACK are never scaled.
        t.rwin.rcv_wnd.min(u32::from(u16::MAX)) as u16
    } else {
        tcp_select_window(t)
    };
    // tcp_set_skb_tso_segs: a packet longer than one segment is a GSO packet.
    let gso_segs = if seg.gso_size > 0 && seg.len > seg.gso_size {
        seg.len.div_ceil(seg.gso_size)
    } else {
        1
    };
    // __tcp_transmit_skb forces PSH on every GSO packet (tcp_skb_pcount > 1), to expedite
    // the receiver's GRO flush; the queued segments keep their own flags.
    let mut flags = seg.flags | ecn_flags;
    if gso_segs > 1 {
        flags |= TcpFlags::PSH;
    }
    let repr = TcpRepr {
        src_port: t.sk.sport,
        dst_port: t.sk.dport,
        seq: seg.seq,
        ack: match seg.ack_override {
            Some((a, _)) => a,
            None if ack_flag => t.rcv_nxt,
            None => 0,
        },
        flags,
        window,
        urgent: 0,
        options,
    };
    let hlen = repr.header_len();
    let (saddr, daddr) = (t.sk.saddr, t.sk.daddr);
    // An AF_INET6 socket with an IPv6 peer sends over IPv6 (inet6_csk_xmit); one with a
    // v4-mapped peer, and every AF_INET one, over IPv4.
    let v6 = match t.sk.pinet6.as_deref() {
        None => None,
        Some(np) => np.is_v6_flow().then(|| super::ipv6::Flow6::of(np)),
    };
    let synack = syn && ack_flag;
    // ip_dont_fragment, then ip_select_ident_segs: without DF the ID is the hashed
    // generator's and the socket's counter stays.
    let df = t.sk.pmtudisc.dont_fragment();
    let ident = if !df {
        IdentMode::Hashed
    } else if synack {
        IdentMode::Unconnected
    } else {
        // ip_select_ident_segs: one ID per segment.
        let id = t.sk.inet_id;
        t.sk.inet_id = id.wrapping_add(gso_segs as u16);
        IdentMode::Socket(id)
    };
    // The earliest departure time: now, or later if pacing put it ahead (skb->tstamp).
    let prior_wstamp = t.tcp_wstamp;
    t.tcp_wstamp = t.tcp_wstamp.max(now);
    let paced = t.pacing_status != PacingStatus::None;
    let tstamp = t.tcp_wstamp;
    if ack_flag && seg.ack_override.is_none_or(|(a, _)| a == t.rcv_nxt) {
        // tcp_event_ack_sent: tcp_dec_quickack_mode counts the ACK only if one was
        // owed; inet_csk_clear_xmit_timer clears every pending-ACK bit.
        if t.ack.quick > 0 && t.ack.pending {
            if t.ack.quick == 1 {
                t.ack.quick = 0;
                t.ack.ato = super::TCP_ATO_MIN;
            } else {
                t.ack.quick -= 1;
            }
        }
        t.ack.pending = false;
        t.ack.ack_now = false;
        t.ack.pushed = false;
        t.ack.pushed2 = false;
        cx.sched.cancel(&t.timers.delack_timer);
        // tcp_event_ack_sent: this ACK carries the compressed SACKs.
        if t.ack.compressed_ack > 0 {
            t.ack.compressed_ack = 0;
            cx.sched.cancel(&t.timers.comp_sack_timer);
        }
    }
    t.stats.segs_out += u64::from(gso_segs);
    if seg.len > 0 {
        t.stats.data_segs_out += u64::from(gso_segs);
        // tcp_event_data_sent, for new data and retransmissions alike: the first data
        // with nothing in flight is CA_EVENT_TX_START; lsndtime is this send.
        if t.in_flight() == 0 {
            let phase = n.jiffies_phase;
            let j = |at: SimTime| crate::jiffies::jiffies(at, phase) as u32;
            let lsnd = j(t.lsndtime);
            super::cong::tcp_ca_tx_start(t, now, j(now), lsnd);
        }
        t.lsndtime = now;
    }
    let off = seg.data_seq.wrapping_sub(t.sndq_seq) as usize;
    let mut skb = cx.shared.pool.alloc(hlen + seg.len as usize);
    skb.put(hlen);
    // The payload is summed as it is copied from the send queue. A run of zeros is not
    // summed, and not even written where the recycled buffer still holds its zeros.
    let len = seg.len as usize;
    let payload_sum = if len == 0 {
        0
    } else if t.sndq.is_zeros(off, len) {
        skb.put_zeros(len);
        0
    } else {
        t.sndq.copy_and_sum(off, skb.put(len))
    };
    if let Some(f) = &v6 {
        repr.emit_with_payload_sum(
            &mut TcpPacket::new_unchecked(skb.head_mut(hlen)),
            f.saddr,
            f.daddr,
            seg.len as usize,
            payload_sum,
        );
    } else {
        repr.emit_with_payload_sum(
            &mut TcpPacket::new_unchecked(skb.head_mut(hlen)),
            saddr,
            daddr,
            seg.len as usize,
            payload_sum,
        );
    }
    skb.l4_csum_good = true;
    if gso_segs > 1 {
        skb.gso_size = seg.gso_size as u16;
        skb.gso_segs = gso_segs as u16;
        // Each segment's share, as the segments will hold it (see crate::gso).
        let full = crate::gso::seg_truesize(hlen, seg.gso_size as usize);
        let last = seg.len - (gso_segs - 1) * seg.gso_size;
        skb.truesize = full * (gso_segs - 1) + crate::gso::seg_truesize(hlen, last as usize);
    }
    skb.sock = Some(SockRef { node: n.id, sock });
    // skb_set_delivery_time: every TCP packet carries its earliest departure time, which an
    // fq qdisc honours.
    skb.tstamp = tstamp;
    skb.tx_flags = seg.tx_flags;
    skb.tskey = seg.tskey;
    skb.hash = crate::skb::flow_hash(saddr, daddr, repr.src_port, repr.dst_port, 6);
    t.sk.wmem_alloc += skb.truesize;
    // OutSegs counts new data and bare control segments, not retransmissions (RFC 1213:
    // __tcp_transmit_skb), and every SYN-ACK (tcp_make_synack).
    let end_seq = seg
        .seq
        .wrapping_add(seg.len)
        .wrapping_add(u32::from(syn) + u32::from(seg.flags.contains(TcpFlags::FIN)));
    if synack || after(end_seq, t.snd_nxt) || end_seq == seg.seq {
        n.snmp.tcp.OutSegs += u64::from(gso_segs);
    }
    let verdict = if let Some(f) = v6 {
        // skb_set_hash_from_sk: the packet's hash is the socket's txhash.
        skb.hash = f.txhash;
        note!(cx, skb, "tcp_transmit_skb");
        super::ipv6::inet6_csk_xmit(n, cx, skb, &f, tos)
    } else {
        for f in ["tcp_transmit_skb", "ip_queue_xmit"] {
            note!(cx, skb, f);
        }
        let Ok(dst) = sk_dst_route(n, sock, daddr) else {
            kfree_skb(n, cx, skb);
            return NetXmit::Drop;
        };
        let send = IpSend {
            src: saddr,
            dst: daddr,
            protocol: IpProtocol::Tcp,
            ttl,
            tos,
            priority,
            dont_frag: df,
            ident,
        };
        ip_send_skb(n, cx, skb, send, dst)
    };
    if verdict != NetXmit::Success
        && let Some(t) = n.socks.tcp(sock)
    {
        super::recovery::tcp_enter_cwr(t);
    }
    if paced
        && seg.len > 0
        && verdict != NetXmit::Drop
        && let Some(t) = n.socks.tcp(sock)
    {
        tcp_update_skb_after_send(t, seg.len, prior_wstamp);
    }
    verdict
}

/// `tcp_update_skb_after_send`: a paced socket's next departure time moves on by the
/// packet's `len` bytes at `sk_pacing_rate` (not for the first 10 segments, as sch_fq
/// does not pace them), less up to half of it for time the sender lost since
/// `prior_wstamp` (OS jitter).
fn tcp_update_skb_after_send(t: &mut TcpSock, len: u32, prior_wstamp: SimTime) {
    let rate = t.pacing_rate;
    if rate != u64::MAX && rate != 0 && t.stats.data_segs_out >= 10 {
        let mut len_ns = u64::from(len) * 1_000_000_000 / rate;
        let credit = t.tcp_wstamp.saturating_since(prior_wstamp).as_nanos();
        len_ns -= (len_ns / 2).min(credit);
        t.tcp_wstamp += SimDuration::from_nanos(len_ns);
    }
}

/// `tcp_pacing_check`: a socket TCP paces itself (`tcp_needs_internal_pacing`) may not send
/// before `tcp_wstamp_ns`; if that is still ahead, the pacing hrtimer (socket `sock` of node
/// `node`) is set for it (unless already) and the sender stops. (Callers test
/// `pacing_status` first: unpaced sockets never call it.)
#[inline(never)]
pub(crate) fn tcp_pacing_check(
    t: &mut TcpSock,
    (node, sock): (u32, SockId),
    cx: &mut NetCtx<'_>,
) -> bool {
    if t.pacing_status != PacingStatus::Needed || t.tcp_wstamp <= cx.now {
        return false;
    }
    let at = t.tcp_wstamp;
    let timer = t
        .timers
        .pacing_timer
        .get_or_insert_with(|| cx.sched.new_timer());
    if !cx.sched.is_armed(timer) {
        let which = super::timer::TcpTimerKind::Pacing;
        cx.sched.arm(
            timer,
            at,
            crate::event::Event::TcpTimer { node, sock, which },
        );
    }
    true
}

/// `tcp_v4_send_reset`: RST in answer to a segment no socket wants.
pub(crate) fn tcp_v4_send_reset(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    ip_src: Ipv4Addr,
    ip_dst: Ipv4Addr,
    th: &TcpRepr,
    payload_len: usize,
) {
    if th.flags.contains(TcpFlags::RST) {
        return;
    }
    let (seq, ack, flags) = if th.flags.contains(TcpFlags::ACK) {
        (th.ack, 0, TcpFlags::RST)
    } else {
        (
            0,
            th.seq.wrapping_add(th.segment_len(payload_len) as u32),
            TcpFlags::RST | TcpFlags::ACK,
        )
    };
    let repr = TcpRepr {
        src_port: th.dst_port,
        dst_port: th.src_port,
        seq,
        ack,
        flags,
        window: 0,
        urgent: 0,
        options: TcpOptions::default(),
    };
    let hlen = repr.header_len();
    let mut skb = cx.shared.pool.alloc(hlen);
    skb.put(hlen);
    repr.emit(
        &mut TcpPacket::new_unchecked(skb.data_mut()),
        ip_dst,
        ip_src,
        0,
    );
    note!(cx, skb, "tcp_v4_send_reset");
    n.snmp.tcp.OutRsts += 1;
    n.snmp.tcp.OutSegs += 1;
    let ttl = n.default_ttl;
    let Ok(dst) = ip_route_output_flow(n, ip_src) else {
        kfree_skb(n, cx, skb);
        return;
    };
    let send = IpSend {
        src: ip_dst,
        dst: ip_src,
        protocol: IpProtocol::Tcp,
        ttl,
        tos: 0,
        // tcp_v4_send_reset without a socket: ctl_sk->sk_priority = 0.
        priority: 0,
        dont_frag: true,
        ident: IdentMode::Unconnected,
    };
    let _ = ip_send_skb(n, cx, skb, send, dst);
}

/// The TCP timestamp clock: milliseconds (`tcp_clock_ms`).
pub fn tcp_time_stamp(now: SimTime) -> u32 {
    (now.as_nanos() / 1_000_000) as u32
}

/// Whether `seq` lies in `[lo, hi)`.
pub fn seq_in(seq: u32, lo: u32, hi: u32) -> bool {
    !before(seq, lo) && before(seq, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Event;
    use crate::sock::SockCommon;
    use crate::tcp::cong::Cong;
    use sim_core::Scheduler;

    fn sock() -> TcpSock {
        let mut s: Scheduler<Event> = Scheduler::new();
        let timers = [s.new_timer(), s.new_timer(), s.new_timer(), s.new_timer()];
        TcpSock::new(SockCommon::new(16384, 131_072), Cong::new(true), timers)
    }

    #[test]
    fn send_space_is_what_a_long_write_queues() {
        let big = vec![7u8; 8 << 20];
        for (mss, sndbuf, first) in [
            (1448, 16384, 0),
            (1448, 16384, 100),
            (1448, 16384, 1448),
            (536, 87_040, 5000),
            (1448, 4_194_304, 3),
            (1448, 700, 0),
        ] {
            let mut t = sock();
            t.mss_cache = mss;
            t.sk.sndbuf = sndbuf;
            tcp_queue_data(&mut t, &big[..first], false);
            let space = tcp_send_space(&t);
            let mut copy = sock();
            copy.mss_cache = mss;
            copy.sk.sndbuf = sndbuf;
            tcp_queue_data(&mut copy, &big[..first], false);
            let taken = tcp_queue_data(&mut t, &big, false);
            assert_eq!(space, taken, "mss {mss} sndbuf {sndbuf} after {first}");
            // A write of exactly that much is taken whole, one byte more is cut short.
            assert_eq!(tcp_queue_data(&mut copy, &big[..=space], false), space);
        }
    }

    #[test]
    fn cwnd_restart_halves_per_idle_rto_down_to_the_initial_window() {
        let mut t = sock();
        t.rtt.rto = SimDuration::from_millis(200);
        t.cwnd = 80;
        t.ssthresh = 40;
        // 450 ms idle: two whole RTOs beyond the first → 80 → 40 → 20.
        tcp_cwnd_restart(&mut t, SimDuration::from_millis(450));
        assert_eq!(t.cwnd, 20);
        assert_eq!(t.ssthresh, 60, "3/4 of the old window is kept as ssthresh");
        // A long idle never goes below the initial window.
        t.cwnd = 80;
        tcp_cwnd_restart(&mut t, SimDuration::from_secs(10));
        assert_eq!(t.cwnd, 10);
        // A window already below the initial one stays.
        t.cwnd = 4;
        tcp_cwnd_restart(&mut t, SimDuration::from_secs(10));
        assert_eq!(t.cwnd, 4);
    }
}
