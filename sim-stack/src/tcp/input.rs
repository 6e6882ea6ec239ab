//! TCP input: `tcp_v4_rcv` (checksum, socket lookup, RST for nobody), the listener's SYN
//! handling (`tcp_conn_request`, child in SYN_RECV), `tcp_rcv_synsent_state_process`,
//! `tcp_rcv_state_process` with `tcp_ack` (window update, SACK tagging, cleaning the
//! retransmit queue, RTT samples, congestion control, loss recovery with PRR), and
//! `tcp_data_queue` (in order, out of order with SACK blocks, FIN), and the ACK policy
//! (`tcp_event_data_recv`, `__tcp_ack_snd_check`).

use super::ack::{RxSeg, tcp_enter_quickack, tcp_event_data_recv, tcp_initialize_rcv_mss};
use super::rcv_window::{full_space, tcp_rcv_rtt_measure_ts, tcp_rx_truesize};
use super::recovery::{tcp_enter_recovery, tcp_rack_detect_loss};
use super::rtt::tcp_rtt_estimator;

use sim_core::{SimDuration, SimTime};

use super::bbr::BbrClock;
use super::chrono::ChronoKind;
use super::cong::CaCtx;
use super::output;
use super::rate::{RateSample, tcp_rate_skb_delivered};
use super::tstamp;
use super::{CaState, TCP_TIMEWAIT_LEN, TcpSock, TcpState, TxSeg, after, before};
use crate::ctx::NetCtx;
use crate::ip::output::ip_route_output_flow;
use crate::node::Node;
use crate::skb::Skb;
use crate::sock::{Errno, SockCommon, SockId, Socket};
use crate::sock::{kfree_skb, kfree_skb_reason};
use crate::sock::{sk_wake, trace_sock_err};
use crate::tcp::output::{
    tcp_push_pending_frames, tcp_reset_rtx_timer, tcp_send_ack, tcp_send_delayed_ack,
    tcp_send_synack, tcp_v4_send_reset, tcp_xmit_retransmit_queue,
};
use crate::tcp::tcp_done;
use crate::tcp::timer::{tcp_arm_reo_timer, tcp_arm_timer, tcp_schedule_loss_probe};
use crate::wire::{Ipv4Repr, TcpFlags, TcpPacket, TcpRepr};

/// `TCP_FASTRETRANS_THRESH`.
pub(crate) const DUPTHRESH: u32 = 3;

/// `tcp_v4_rcv`: `skb` holds the TCP header and payload.
pub(crate) fn tcp_v4_rcv(n: &mut Node, cx: &mut NetCtx<'_>, dev: usize, skb: Skb, ip: Ipv4Repr) {
    let mut skb = skb;
    note!(cx, skb, "tcp_v4_rcv");
    let offloaded = skb.csum_unnecessary;
    let parsed = TcpPacket::new_checked(skb.data())
        .and_then(|p| TcpRepr::parse_rx(&p, ip.src_addr, ip.dst_addr, offloaded));
    let th = match parsed {
        Ok(th) => th,
        Err(e) => {
            n.snmp.tcp.InErrs += 1;
            if e == crate::wire::Error::BadChecksum {
                n.snmp.tcp.InCsumErrors += 1;
            }
            // The trace shows the packet from its IP header (still in front of the
            // data: ip_local_deliver pulled it; the model's packets carry no options).
            skb.push(20);
            kfree_skb_reason(n, cx, dev, "tcp_v4_rcv(bad_segment)", skb);
            return;
        }
    };
    let hlen = th.header_len();
    n.snmp.tcp.InSegs += 1;
    let key = (ip.src_addr, th.src_port, th.dst_port);
    if th.options.md5_sig()
        && (n.socks.tcp_estab.contains_key(&key) || n.socks.tcp_listen.contains_key(&th.dst_port))
    {
        // tcp_inbound_md5_hash: no socket has an MD5 key (TCP_MD5SIG is not modeled), so a
        // signed segment is unexpected (TCPMD5Unexpected) and dropped.
        skb.push(20);
        kfree_skb_reason(n, cx, dev, "tcp_v4_rcv(md5_unexpected)", skb);
        return;
    }
    // The payload is read in place; the skb is freed once the segment is processed.
    if let Some(&sock) = n.socks.tcp_estab.get(&key) {
        note!(cx, skb, "tcp_rcv_state_process");
        // A payload the sender built from zeros is queued as a run, without reading it.
        let zeros = skb.known_zeros(hlen, skb.len() - hlen);
        let meta = RxMeta {
            ip_dsfield: ip.dscp_ecn,
            gso_size: skb.gso_size,
        };
        tcp_rcv_state_process(n, cx, sock, &th, &skb.data()[hlen..], zeros, meta);
        kfree_skb(n, cx, skb);
        return;
    }
    if let Some(&listener) = n.socks.tcp_listen.get(&th.dst_port) {
        note!(cx, skb, "tcp_conn_request");
        tcp_listen_rcv(n, cx, listener, &ip, &th, &skb.data()[hlen..]);
        kfree_skb(n, cx, skb);
        return;
    }
    // An AF_INET6 listener on `::` that is not v6-only takes IPv4 connections (looked up
    // only when no AF_INET one has the port).
    if let Some(&listener) = n.socks.tcp_listen6.get(&th.dst_port)
        && n.socks
            .tcp(listener)
            .is_some_and(|l| l.sk.pinet6.as_deref().is_some_and(|np| !np.ipv6only))
    {
        note!(cx, skb, "tcp_conn_request");
        tcp_listen_rcv(n, cx, listener, &ip, &th, &skb.data()[hlen..]);
        kfree_skb(n, cx, skb);
        return;
    }
    // No socket: RST (unless it is one).
    let len = skb.len() - hlen;
    tcp_v4_send_reset(n, cx, ip.src_addr, ip.dst_addr, &th, len);
    skb.push(20);
    kfree_skb_reason(n, cx, dev, "tcp_v4_rcv(no_socket)", skb);
}

/// A segment for a listener: a SYN makes a child in SYN_RECV and gets a SYN-ACK
/// (`tcp_conn_request`); anything else gets a RST.
fn tcp_listen_rcv(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    listener: SockId,
    ip: &Ipv4Repr,
    th: &TcpRepr,
    payload: &[u8],
) {
    if th.flags.contains(TcpFlags::RST) {
        return;
    }
    if th.flags.contains(TcpFlags::ACK) || !th.flags.contains(TcpFlags::SYN) {
        tcp_v4_send_reset(n, cx, ip.src_addr, ip.dst_addr, th, payload.len());
        return;
    }
    let Ok(dst) = ip_route_output_flow(n, ip.src_addr) else {
        return;
    };
    let addrs = (ip.dst_addr, ip.src_addr);
    let Some(mut t) = tcp_conn_request(n, cx, listener, th, dst.mtu - 40, ip.dscp_ecn, addrs)
    else {
        return;
    };
    if t.sk.pinet6.is_some() {
        // An AF_INET6 listener's child over IPv4: its IPv6 addresses are v4-mapped.
        let np = t.sk.pinet6.as_deref_mut().expect("AF_INET6");
        np.rcv_saddr = ip.dst_addr.to_ipv6_mapped();
        np.saddr = np.rcv_saddr;
        np.daddr = ip.src_addr.to_ipv6_mapped();
    }
    let key = (ip.src_addr, th.src_port, th.dst_port);
    let sock = n.socks.insert(Socket::Tcp(t));
    n.socks.tcp_estab.insert(key, sock);
    *n.socks.tcp_ports.entry(th.dst_port).or_default() += 1;
    tcp_send_synack(n, cx, sock);
    tcp_reset_rtx_timer(n, cx, sock);
}

/// `tcp_conn_request` with `tcp_create_openreq_child`, for either family: the child of
/// `listener` for the SYN `th`, in SYN_RECV, not yet in any lookup table (the caller hashes
/// it and sends the SYN-ACK). `mss_base` is the route's MTU less the IP and TCP headers,
/// `addrs` the child's (local, remote) IPv4 addresses (`LOOPBACK4_IPV6` for an IPv6 one).
/// `None`: the accept queue is full and the SYN is dropped.
pub(crate) fn tcp_conn_request(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    listener: SockId,
    th: &TcpRepr,
    mss_base: u32,
    ip_dsfield: u8,
    addrs: (std::net::Ipv4Addr, std::net::Ipv4Addr),
) -> Option<Box<TcpSock>> {
    let sys = n.sysctl.clone();
    let l = n.socks.tcp(listener).expect("listener");
    if l.accept_queue.len() as u32 >= l.backlog.max(1) {
        return None; // accept queue full: the SYN is dropped (ListenOverflows)
    }
    // sk_clone_lock: the child starts as a copy of the listener — its buffers and their
    // locks, IP and socket options, Nagle and cork, TCP_MAXSEG, TCP_NOTSENT_LOWAT,
    // TCP_USER_TIMEOUT, TCP_INQ, its congestion control — with the connection's own state.
    let sk = SockCommon {
        saddr: addrs.0,
        sport: th.dst_port,
        daddr: addrs.1,
        dport: th.src_port,
        ..SockCommon::new(l.sk.sndbuf, l.sk.rcvbuf)
    };
    let sk = SockCommon {
        sndbuf_locked: l.sk.sndbuf_locked,
        rcvbuf_locked: l.sk.rcvbuf_locked,
        reuseaddr: l.sk.reuseaddr,
        tos: l.sk.tos,
        // Not `priority`: sk_clone_lock zeroes sk_priority.
        ttl: l.sk.ttl,
        recverr: l.sk.recverr,
        linger: l.sk.linger,
        pmtudisc: l.sk.pmtudisc,
        freebind: l.sk.freebind,
        oobinline: l.sk.oobinline,
        app: l.sk.app,
        // inet6_sk_generic / tcp_v6_syn_recv_sock: an AF_INET6 listener's child is
        // AF_INET6, with the listener's IPv6 options.
        pinet6: l.sk.pinet6.as_deref().map(|lp| {
            Box::new(crate::sock::Ipv6Pinfo {
                ipv6only: lp.ipv6only,
                hop_limit: lp.hop_limit,
                recverr: lp.recverr,
                ..crate::sock::Ipv6Pinfo::new()
            })
        }),
        ..sk
    };
    let (nonagle, user_mss, notsent_lowat, user_timeout_ms, recvmsg_inq) = (
        l.nonagle,
        l.user_mss,
        l.notsent_lowat,
        l.user_timeout_ms,
        l.recvmsg_inq,
    );
    let cong = super::cong::Cong::by_name(l.cong.name()).expect("a known algorithm");
    let iss = n.rng.next_u32();
    let ts_off = n.rng.next_u32();
    let inet_id = n.rng.next_u32() as u16;
    let sk = SockCommon { inet_id, ..sk };
    let mut t = super::tcp_init_sock(sk, cong, cx);
    t.nonagle = nonagle;
    t.user_mss = user_mss;
    t.notsent_lowat = notsent_lowat;
    t.user_timeout_ms = user_timeout_ms;
    t.recvmsg_inq = recvmsg_inq;
    t.parent = Some(listener);
    t.iss = iss;
    t.ts_off = ts_off;
    t.irs = th.seq;
    t.rcv_nxt = th.seq.wrapping_add(1);
    t.rwin.rcv_wup = t.rcv_nxt;
    t.copied_seq = t.rcv_nxt;
    // tcp_mss_clamp: the listener's TCP_MAXSEG caps what we announce.
    t.advmss = mss_base;
    if t.user_mss > 0 {
        t.advmss = t.advmss.min(t.user_mss);
    }
    let peer_mss = th.options.mss().map_or(536, u32::from);
    t.mss_clamp = peer_mss.min(t.advmss);
    t.ts_ok = sys.tcp_timestamps && th.options.timestamp().is_some();
    t.ecn = super::ecn::Ecn::create_request(sys.tcp_ecn, t.cong.needs_ecn(), th.flags, ip_dsfield);
    t.sack_ok = sys.tcp_sack && th.options.sack_permitted();
    t.wscale_ok = sys.tcp_window_scaling && th.options.window_scale().is_some();
    t.snd_wscale = if t.wscale_ok {
        th.options.window_scale().unwrap_or(0).min(14)
    } else {
        0
    };
    if let Some((tsval, _)) = th.options.timestamp() {
        t.ts_recent = tsval;
    }
    t.mss_cache = t.mss_clamp - if t.ts_ok { 12 } else { 0 };
    // tcp_openreq_init_rwin: the window in segments of the MSS less the TS option.
    let mss = t.advmss - if t.ts_ok { 12 } else { 0 };
    let clamp = super::rcv_window::initial_window_clamp(&t);
    let (wnd, clamp, ws) =
        super::rcv_window::select_initial_window(full_space(&t), mss, t.wscale_ok, clamp, &sys);
    t.rwin.rcv_wnd = wnd;
    t.rwin.window_clamp = clamp;
    t.rcv_wscale = if t.wscale_ok { ws } else { 0 };
    t.rwin.rcv_ssthresh = wnd;
    t.snd_wnd = u32::from(th.window);
    t.snd_wl1 = th.seq;
    t.snd_una = iss;
    t.snd_nxt = iss.wrapping_add(1);
    t.write_seq = iss.wrapping_add(1);
    t.pushed_seq = t.write_seq;
    t.sndq_seq = t.write_seq;
    t.snd_sml = iss;
    t.ack.rcv_mss = t.advmss.min(536);
    t.state = TcpState::SynRecv;
    t.wq.push_back(TxSeg {
        sent_at: Some(cx.now),
        ..TxSeg::new(iss, 0, true, false)
    });
    t.packets_out = 1;
    Some(Box::new(t))
}

/// What the receive path reads of a segment's skb besides its bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RxMeta {
    /// The IP header's TOS byte (`TCP_SKB_CB(skb)->ip_dsfield`), for ECN.
    pub(crate) ip_dsfield: u8,
    /// `skb_shinfo(skb)->gso_size`: the segment size of a GRO packet (0: one segment).
    pub(crate) gso_size: u16,
}

/// `tcp_rcv_state_process` (with `tcp_rcv_synsent_state_process` and the established
/// fast path folded in). `payload_zeros`: the payload is known to be zeros (see
/// `SkbData::known_zeros`).
#[inline(always)]
pub(crate) fn tcp_rcv_state_process(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    th: &TcpRepr,
    payload: &[u8],
    payload_zeros: bool,
    meta: RxMeta,
) {
    let now = cx.now;
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    t.stats.segs_in += 1;
    if !payload.is_empty() {
        t.stats.data_segs_in += 1;
    }
    if t.state == TcpState::Established && cx.shared.trace.tcp_probe_on() {
        // tcp_rcv_established's trace_tcp_probe, before the segment is processed.
        super::info::trace_tcp_probe(t, &n.name, sock, payload.len(), now, &mut cx.shared.trace);
    }
    if t.state == TcpState::SynSent {
        tcp_rcv_synsent(n, cx, sock, th, (payload, payload_zeros));
        return;
    }
    // tcp_validate_incoming: sequence check (tcp_sequence), RST, SYN.
    let seg_len = th.segment_len(payload.len()) as u32;
    let rcv_wnd_end = t.rcv_nxt.wrapping_add(t.rwin.rcv_wnd.max(1));
    let acceptable = if seg_len == 0 {
        !before(th.seq, t.rcv_nxt.wrapping_sub(0)) && before(th.seq, rcv_wnd_end)
            || th.seq == t.rcv_nxt
    } else {
        before(th.seq, rcv_wnd_end) && after(th.seq.wrapping_add(seg_len), t.rcv_nxt)
    };
    if th.flags.contains(TcpFlags::RST) {
        // tcp_reset_check: RCV.NXT - 1 once the peer's FIN is in.
        let after_fin = th.seq == t.rcv_nxt.wrapping_sub(1)
            && matches!(
                t.state,
                TcpState::CloseWait | TcpState::LastAck | TcpState::Closing
            );
        if th.seq == t.rcv_nxt || after_fin || (t.state == TcpState::SynRecv && acceptable) {
            tcp_reset(n, cx, sock);
        } else if acceptable {
            // RFC 5961 §3.2: in the window but not exactly RCV.NXT — a challenge ACK,
            // which a blind attacker does not see and the real peer answers with the
            // exact RST if it did reset.
            tcp_send_challenge_ack(n, cx, sock);
        }
        return;
    }
    if !acceptable && t.state != TcpState::SynRecv {
        // Out of window (a retransmission we already have): ACK it at once (DSACK-less).
        // One that starts beyond the window is SKB_DROP_REASON_TCP_INVALID_SEQUENCE.
        if !th.flags.contains(TcpFlags::RST) {
            if !th.flags.contains(TcpFlags::SYN) && after(th.seq, tcp_window_end(t)) {
                n.snmp.tcp_ext.BeyondWindow += 1;
            }
            if seg_len > 0 && before(th.seq, t.rcv_nxt) {
                // A duplicate of data we have: tcp_send_dupack (end_seq before rcv_wup,
                // DelayedACKLost) or tcp_data_queue's out_of_window; both D-SACK it.
                if before(th.seq.wrapping_add(seg_len), t.rwin.rcv_wup) {
                    n.snmp.tcp_ext.DelayedACKLost += 1;
                }
                tcp_send_dupack_dsack(t, th.seq, seg_len, n.sysctl.tcp_dsack, &mut n.snmp.tcp_ext);
            } else {
                t.ack.quick = t.ack.quick.max(2);
            }
            tcp_send_ack(n, cx, sock);
        }
        return;
    }
    if t.state != TcpState::SynRecv && tcp_beyond_window_end(t, th, payload.len()) {
        // SKB_DROP_REASON_TCP_INVALID_END_SEQUENCE: tcp_send_dupack.
        n.snmp.tcp_ext.BeyondWindow += 1;
        if before(th.seq, t.rcv_nxt) {
            n.snmp.tcp_ext.DelayedACKLost += 1;
            let seg_len = th.segment_len(payload.len()) as u32;
            tcp_send_dupack_dsack(t, th.seq, seg_len, n.sysctl.tcp_dsack, &mut n.snmp.tcp_ext);
        }
        tcp_send_ack(n, cx, sock);
        return;
    }
    if th.flags.contains(TcpFlags::SYN) && t.state != TcpState::SynRecv {
        // A SYN in window on a synchronized connection: challenge ACK.
        tcp_send_ack(n, cx, sock);
        return;
    }
    if !th.flags.contains(TcpFlags::ACK) {
        return;
    }
    // Timestamps: remember the peer's TSval to echo (tcp_store_ts_recent).
    if let Some((tsval, _)) = th.options.timestamp()
        && t.ts_ok
        && !after(th.seq, t.rwin.rcv_wup)
    {
        t.ts_recent = tsval;
    }
    if t.state == TcpState::SynRecv {
        if !after(th.ack, t.snd_una) || after(th.ack, t.snd_nxt) {
            tcp_v4_send_reset_for(n, cx, sock, th, payload.len());
            return;
        }
        tcp_synrecv_to_established(n, cx, sock, th);
    }
    let ok = tcp_ack(n, cx, sock, th, payload.len());
    if !ok {
        return;
    }
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    let fin_acked = t.fin_queued && t.snd_una == t.write_seq;
    match t.state {
        TcpState::FinWait1 if fin_acked => {
            t.state = TcpState::FinWait2;
            if t.orphan {
                // tcp_fin_timeout for an orphan in FIN_WAIT_2.
                let to = n.sysctl.tcp_fin_timeout;
                tcp_arm_tw(n, cx, sock, to);
            }
            sk_wake(n, cx, sock);
        }
        TcpState::Closing if fin_acked => {
            tcp_time_wait(n, cx, sock);
            return;
        }
        TcpState::LastAck if fin_acked => {
            tcp_done(n, cx, sock);
            return;
        }
        TcpState::TimeWait => {
            if th.flags.contains(TcpFlags::FIN) {
                tcp_send_ack(n, cx, sock);
                tcp_arm_tw(n, cx, sock, TCP_TIMEWAIT_LEN);
            }
            return;
        }
        _ => {}
    }
    // Step 6: the URG bit (tcp_urg).
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if th.flags.contains(TcpFlags::URG) {
        let stdurg = n.sysctl.tcp_stdurg;
        super::urg::tcp_check_urg(t, th.seq, th.urgent, stdurg);
    }
    if super::urg::tcp_urg(t, th.seq, th.flags.contains(TcpFlags::SYN), payload) {
        sk_wake(n, cx, sock);
    }
    // Data and FIN.
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    let accepts_data = matches!(
        t.state,
        TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
    );
    if accepts_data && (!payload.is_empty() || th.flags.contains(TcpFlags::FIN)) {
        tcp_data_queue(n, cx, sock, th, (payload, payload_zeros), meta, now);
        // DCTCP's CE state changed with an ACK delayed: that ACK goes first
        // (dctcp_ece_ack_update's __tcp_send_ack(sk, prior_rcv_nxt)).
        if let Some(t) = n.socks.tcp(sock)
            && let Some(d) = t.cong.dctcp_mut()
            && let Some((ack, ece)) = d.prior_ack.take()
        {
            super::output::tcp_send_ack_rcv_nxt(n, cx, sock, ack, ece);
        }
    }
    // tcp_data_snd_check and tcp_ack_snd_check.
    tcp_push_pending_frames(n, cx, sock);
    tcp_ack_snd_check(n, cx, sock);
}

/// `tcp_send_dupack`'s (and `tcp_data_queue` out_of_window's) answer to a segment starting
/// below `rcv_nxt`: quick ACKs, and a D-SACK for the part below `rcv_nxt`.
fn tcp_send_dupack_dsack(
    t: &mut TcpSock,
    seq: u32,
    seg_len: u32,
    tcp_dsack: bool,
    ext: &mut crate::stats::TcpExtStats,
) {
    tcp_enter_quickack(t);
    let end = seq.wrapping_add(seg_len);
    let end = if after(end, t.rcv_nxt) {
        t.rcv_nxt
    } else {
        end
    };
    super::dsack::tcp_dsack_set(t, seq, end, tcp_dsack, ext);
}

/// `tcp_receive_window` added to `rcv_nxt`: where the window last advertised ends
/// (`rcv_wup + rcv_wnd`, never before `rcv_nxt`).
fn tcp_window_end(t: &TcpSock) -> u32 {
    let wnd = t
        .rwin
        .rcv_wup
        .wrapping_add(t.rwin.rcv_wnd)
        .wrapping_sub(t.rcv_nxt) as i32;
    t.rcv_nxt.wrapping_add(wnd.max(0) as u32)
}

/// The test Linux 6.17 added to `tcp_sequence` ("tcp: do not accept packets beyond
/// window"): a segment that starts in the window but whose data ends beyond it is taken
/// only when the receive queue is empty (a GRO packet can carry far more than the
/// window). A FIN does not count (a peer that sends FINs into a closed window must not
/// be answered with a FIN/ACK loop): on 6.18, `F. 7001:9001(2000)` into a 2000-byte
/// window at 7001 is taken, `F. 7001:9002(2001)` is not.
fn tcp_beyond_window_end(t: &TcpSock, th: &TcpRepr, payload_len: usize) -> bool {
    if th.flags.contains(TcpFlags::RST) || th.flags.contains(TcpFlags::SYN) {
        return false;
    }
    let end = th.seq.wrapping_add(payload_len as u32);
    after(end, tcp_window_end(t)) && !t.rcvq_skbs.is_empty()
}

/// A RST for a bad ACK in SYN_RECV.
fn tcp_v4_send_reset_for(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    th: &TcpRepr,
    len: usize,
) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if let Some(np) = t.sk.pinet6.as_deref().filter(|np| np.is_v6_flow()) {
        let (src, dst) = (np.daddr, np.saddr);
        super::ipv6::tcp_v6_send_reset(n, cx, src, dst, th, len);
        return;
    }
    let (src, dst) = (t.sk.daddr, t.sk.saddr);
    tcp_v4_send_reset(n, cx, src, dst, th, len);
}

/// SYN-SENT: the SYN-ACK completes the handshake (`tcp_rcv_synsent_state_process`). Its
/// payload is taken only by a Fast Open client.
fn tcp_rcv_synsent(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    th: &TcpRepr,
    payload: (&[u8], bool),
) {
    let now = cx.now;
    let sys = n.sysctl.clone();
    let Some(t) = n.socks.tcp(sock) else { return };
    if th.flags.contains(TcpFlags::ACK) && (!after(th.ack, t.iss) || after(th.ack, t.snd_nxt)) {
        if !th.flags.contains(TcpFlags::RST) {
            tcp_v4_send_reset_for(n, cx, sock, th, 0);
        }
        return;
    }
    if th.flags.contains(TcpFlags::RST) {
        if th.flags.contains(TcpFlags::ACK) {
            // Connection refused.
            n.snmp.tcp.AttemptFails += 1;
            t.sk.err = Some(Errno::ConnRefused);
            trace_sock_err(n, cx, sock, "rst", Errno::ConnRefused);
            tcp_done(n, cx, sock);
        }
        return;
    }
    if !th.flags.contains(TcpFlags::SYN) || !th.flags.contains(TcpFlags::ACK) {
        return; // simultaneous open is not modeled
    }
    t.irs = th.seq;
    t.rcv_nxt = th.seq.wrapping_add(1);
    t.rwin.rcv_wup = t.rcv_nxt;
    t.copied_seq = t.rcv_nxt;
    t.ecn.rcv_synack(th.flags);
    t.ts_ok = t.ts_ok && th.options.timestamp().is_some();
    t.sack_ok = t.sack_ok && th.options.sack_permitted();
    t.wscale_ok = t.wscale_ok && th.options.window_scale().is_some();
    if t.wscale_ok {
        t.snd_wscale = th.options.window_scale().unwrap_or(0).min(14);
    } else {
        t.snd_wscale = 0;
        t.rcv_wscale = 0;
        t.rwin.window_clamp = t.rwin.window_clamp.min(65535);
    }
    if let Some((tsval, _)) = th.options.timestamp() {
        t.ts_recent = tsval;
    }
    let peer_mss = th.options.mss().map_or(536, u32::from);
    t.mss_clamp = peer_mss.min(t.advmss);
    t.mss_cache = t.mss_clamp - if t.ts_ok { 12 } else { 0 };
    // The SYN-ACK's window is not scaled.
    t.snd_wnd = u32::from(th.window);
    t.max_window = t.snd_wnd;
    t.snd_wl1 = th.seq;
    // The SYN is acknowledged: RTT sample from it (if never retransmitted).
    let syn = t.wq_pop_front().expect("SYN queued");
    if syn.retrans > 0 {
        t.ever_retrans_in_wq -= 1;
    }
    t.packets_out -= 1;
    if syn.retrans_out {
        t.retrans_out -= 1;
    }
    t.snd_una = th.ack;
    // A Fast Open SYN's data: what the SYN-ACK acknowledges of it.
    if t.packets_out > 0 {
        super::fastopen::tcp_ack_syn_data(t, th.ack, now);
    }
    if syn.retrans == 0
        && let Some(at) = syn.sent_at
    {
        tcp_rtt_estimator(t, (now - at).as_nanos() / 1000);
    } else if t.rtt.rto > super::TCP_TIMEOUT_INIT {
        t.rtt.rto = super::TCP_TIMEOUT_INIT;
    }
    t.timers.retransmits = 0;
    t.timers.backoff = 0;
    cx.sched.cancel(&t.timers.rtx_timer);
    t.state = TcpState::Established;
    n.snmp.tcp.CurrEstab += 1;
    super::rcv_window::tcp_init_buffer_space(t, now, &sys);
    // tcp_finish_connect → tcp_init_transfer. No quick-ACK credit yet: the first data
    // segment gives it (icsk_ack starts zeroed).
    tcp_initialize_rcv_mss(t);
    t.cwnd = super::TCP_INIT_CWND;
    let j = crate::jiffies::jiffies(now, n.jiffies_phase) as u32;
    super::cong::tcp_init_congestion_control(t, now, j, &mut n.rng);
    // tcp_finish_connect: the clocks of the last receive and send start here.
    t.ack.lrcvtime = now;
    t.lsndtime = now;
    t.connected_reported = true;
    // tcp_rcv_fastopen_synack: data of the SYN not acknowledged goes again now, and that
    // retransmission acknowledges the SYN-ACK.
    let fo = t.fo.syn_fastopen || t.fo.syn_data;
    if fo && super::fastopen::tcp_rcv_fastopen_synack(n, cx, sock, th, payload) {
        sk_wake(n, cx, sock);
        tcp_push_pending_frames(n, cx, sock);
        return;
    }
    let Some(t) = n.socks.tcp(sock) else { return };
    if t.fo.waiting.is_some_and(|w| w.write_pending) || (fo && t.ack.pingpong > 0) {
        // sk_write_pending: a blocked Fast Open write has data to send now; it carries
        // the ACK, which waits (quick-ACK mode, the delayed-ACK timer at TCP_DELACK_MAX).
        // So does the ACK of a FIN on a Fast Open SYN-ACK (tcp_fin: ping-pong mode).
        t.ack.pending = true;
        super::ack::tcp_enter_quickack(t);
        let at = crate::jiffies::round_expiry(now, super::TCP_DELACK_MAX, n.jiffies_phase);
        super::timer::tcp_arm_timer(n, cx, sock, super::timer::TcpTimerKind::DelAck, at);
        sk_wake(n, cx, sock);
        tcp_push_pending_frames(n, cx, sock);
        return;
    }
    // Send the ACK now (no data queued yet that could carry it).
    tcp_send_ack(n, cx, sock);
    sk_wake(n, cx, sock);
    tcp_push_pending_frames(n, cx, sock);
}

/// SYN_RECV → ESTABLISHED on the handshake's ACK; the child joins the accept queue.
fn tcp_synrecv_to_established(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, th: &TcpRepr) {
    let now = cx.now;
    let sys = n.sysctl.clone();
    let Some(t) = n.socks.tcp(sock) else { return };
    t.state = TcpState::Established;
    n.snmp.tcp.PassiveOpens += 1;
    n.snmp.tcp.CurrEstab += 1;
    t.snd_wnd = u32::from(th.window) << t.snd_wscale;
    t.max_window = t.snd_wnd;
    t.snd_wl1 = th.seq;
    super::rcv_window::tcp_init_buffer_space(t, now, &sys);
    // tcp_init_transfer → tcp_init_congestion_control, then tcp_update_pacing_rate (which
    // overwrites the rate bbr_init set, as in Linux).
    let j = crate::jiffies::jiffies(now, n.jiffies_phase) as u32;
    super::cong::tcp_init_congestion_control(t, now, j, &mut n.rng);
    super::info::tcp_update_pacing_rate(t, &sys);
    tcp_initialize_rcv_mss(t);
    // tcp_create_openreq_child, when the handshake's ACK makes the child.
    t.ack.lrcvtime = now;
    t.lsndtime = now;
    let parent = t.parent;
    if let Some(l) = parent
        && let Some(lt) = n.socks.tcp(l)
    {
        lt.accept_queue.push_back(sock);
        sk_wake(n, cx, l);
    }
}

/// `tcp_send_challenge_ack`: an ACK of `rcv_nxt`, at most one per `tcp_invalid_ratelimit`
/// (500 ms) per socket (`__tcp_oow_rate_limited`); the host-wide limit
/// (`tcp_challenge_ack_limit`) is off by default since Linux 6.0 and not modeled.
fn tcp_send_challenge_ack(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let now_j = n.jiffies(cx.now) as u32;
    let limit = (crate::jiffies::HZ / 2) as u32;
    let Some(t) = n.socks.tcp(sock) else { return };
    let last = t.last_oow_ack_time;
    if last != 0 {
        let elapsed = now_j.wrapping_sub(last) as i32;
        if (0..limit as i32).contains(&elapsed) {
            n.snmp.tcp_ext.TCPACKSkippedChallenge += 1;
            return;
        }
    }
    t.last_oow_ack_time = now_j;
    n.snmp.tcp_ext.TCPChallengeACK += 1;
    tcp_send_ack(n, cx, sock);
}

/// `tcp_reset`: the peer reset the connection.
fn tcp_reset(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else { return };
    let err = match t.state {
        TcpState::SynSent => Errno::ConnRefused,
        TcpState::CloseWait => Errno::Pipe,
        _ => Errno::ConnReset,
    };
    t.sk.err = Some(err);
    if matches!(t.state, TcpState::Established | TcpState::CloseWait) {
        n.snmp.tcp.EstabResets += 1;
    }
    trace_sock_err(n, cx, sock, "rst", err);
    tcp_done(n, cx, sock);
}

/// `tcp_ack`: process the acknowledgment of an incoming segment. Returns false when the
/// segment must be dropped (an ACK of data never sent).
fn tcp_ack(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    th: &TcpRepr,
    payload_len: usize,
) -> bool {
    let now = cx.now;
    let sys_wmem2 = n.sysctl.tcp_wmem[2];
    let idle_restart = n.sysctl.tcp_slow_start_after_idle;
    let now_j = crate::jiffies::jiffies(now, n.jiffies_phase) as u32;
    let Some(t) = n.socks.tcp(sock) else {
        return false;
    };
    let ack = th.ack;
    if after(ack, t.snd_nxt) {
        // tcp_ack: an ACK for something not yet sent — send an ACK and drop.
        tcp_send_ack(n, cx, sock);
        return false;
    }
    if before(ack, t.snd_una) {
        // Old ACK: ignore it (but the segment's data is still processed).
        return true;
    }
    t.rcv_tstamp = now;
    // The ACK's rate sample (tcp_ack's `rs`), with what was in flight before it and the
    // loss count to take its fresh losses from.
    let mut rs = RateSample::new(t.in_flight());
    let prior_lost = t.rate.lost;
    // FLAG_ECE, and tcp_ecn_accept_cwr (also on pure ACKs, unlike RFC 3168's letter).
    let ece = t.ecn.rcv_ecn_echo(th.flags);
    if t.ecn.accept_cwr(th.flags, payload_len > 0) {
        t.ack.ack_now = true;
    }
    // Something worked: the window probes so far are forgotten.
    t.timers.probes_out = 0;
    let prior_packets = t.packets_out;
    let prior_una = t.snd_una;
    let prior_sacked = t.sacked_out;
    // Window update (tcp_ack_update_window).
    let nwin = u32::from(th.window) << t.snd_wscale;
    let may_update = after(ack, t.snd_una)
        || after(th.seq, t.snd_wl1)
        || (th.seq == t.snd_wl1 && (nwin > t.snd_wnd || nwin == 0));
    let mut window_changed = false;
    if may_update {
        window_changed = t.snd_wnd != nwin;
        t.snd_wl1 = th.seq;
        t.snd_wnd = nwin;
        t.max_window = t.max_window.max(nwin);
        if window_changed && t.sent_segs() < t.wq.len() {
            output::tcp_slow_start_after_idle_check(t, idle_restart, now);
        }
    }
    // The ACK's timestamp echo on our clock (rx_opt.rcv_tsecr less tsoffset), for Eifel.
    let tsecr = th
        .options
        .timestamp()
        .filter(|_| t.ts_ok)
        .map(|(_, ecr)| ecr.wrapping_sub(t.ts_off));
    // SACK tagging (tcp_sacktag_write_queue).
    let mut newly_sacked = 0u32;
    // The send times of the oldest and newest newly SACKed never-retransmitted segments.
    let mut first_sackt: Option<SimTime> = None;
    let mut last_sackt: Option<SimTime> = None;
    // (send time, end_seq, retransmitted) of every segment this ACK delivers, for RACK.
    // (A buffer kept in the socket: nothing is allocated per ACK.)
    let mut delivered_sends = std::mem::take(&mut t.delivered_scratch);
    delivered_sends.clear();
    // tcp_highest_sack_seq before this ACK (prior_fack), and the lowest newly SACKed or
    // ACKed never-retransmitted segment below it: reordering (state->reord).
    let prior_fack = if t.sack_ok {
        t.highest_sack_seq()
    } else {
        t.snd_una
    };
    let mut reord = t.snd_nxt;
    // D-SACK (tcp_check_dsack) and FLAG_ORIG_SACK_ACKED: a never-retransmitted segment up
    // to high_seq (S)ACKed, F-RTO's proof of a spurious timeout.
    let mut dsack = super::dsack::DsackFound::default();
    let mut orig_sack_acked = false;
    if t.sack_ok
        && let Some(blocks) = th.options.sack()
    {
        let sent = t.sent_segs();
        let blocks = blocks.as_slice();
        dsack = super::dsack::tcp_check_dsack(t, blocks, ack, prior_una, &mut n.snmp.tcp_ext);
        // tcp_sacktag_write_queue walks the blocks in sequence order, the D-SACK one
        // (if valid and not below snd_una) among them.
        // (At most four blocks: sorted in place on the stack, nothing allocated per ACK.)
        let mut sorted = [(0u32, 0u32, false); 4];
        let mut nblocks = 0;
        for (i, &(start, end)) in blocks.iter().enumerate() {
            let dup = i == 0 && dsack.dup;
            if dup && let Some(why) = super::dsack::tcp_dsack_block_invalid(t, start, end) {
                match why {
                    super::dsack::DsackIgnored::NoUndo => {
                        n.snmp.tcp_ext.TCPDSACKIgnoredNoUndo += 1;
                    }
                    super::dsack::DsackIgnored::Old => n.snmp.tcp_ext.TCPDSACKIgnoredOld += 1,
                }
                continue;
            }
            if dup && !after(end, prior_una) {
                continue;
            }
            sorted[nblocks] = (start, end, dup);
            nblocks += 1;
        }
        let sorted = &mut sorted[..nblocks];
        sorted.sort_by(|a, b| (a.0.wrapping_sub(b.0) as i32).cmp(&0));
        for &(start, end, dup) in sorted.iter() {
            // The queue is in sequence order: find the block's first segment by binary
            // search, then walk while segments end inside it.
            let lo =
                t.wq.partition_point(|x| x.sent_at.is_some() && before(x.seq, start));
            for seg in t.wq.range_mut(lo..sent.max(lo)) {
                if after(seg.end_seq(), end) {
                    break;
                }
                // tcp_sacktag_one: a D-SACKed retransmission was spurious.
                if dup
                    && seg.retrans > 0
                    && t.recovery.undo_retrans > 0
                    && t.recovery
                        .undo_marker
                        .is_some_and(|m| after(seg.end_seq(), m))
                {
                    t.recovery.undo_retrans -= 1;
                }
                if !seg.sacked && after(seg.end_seq(), prior_una) {
                    if seg.retrans == 0 && !after(seg.end_seq(), t.recovery.high_seq) {
                        orig_sack_acked = true;
                    }
                    // tcp_sacktag_one: a never-retransmitted segment SACKed below the
                    // highest SACKed one was reordered, not lost.
                    let highest = if t.sacked_out + newly_sacked == 0 {
                        prior_una
                    } else {
                        t.highest_sack_end.unwrap_or(t.snd_nxt)
                    };
                    if seg.retrans == 0 && before(seg.seq, highest) && before(seg.seq, reord) {
                        reord = seg.seq;
                    }
                    if t.highest_sack_end.is_none_or(|h| after(seg.end_seq(), h)) {
                        t.highest_sack_end = Some(seg.end_seq());
                    }
                    seg.sacked = true;
                    newly_sacked += 1;
                    // tcp_sacktag_one: the oldest newly SACKed never-retransmitted
                    // segment gives an RTT sample (first_sackt), the newest one the
                    // congestion control's (last_sackt).
                    if seg.retrans == 0 {
                        if first_sackt.is_none() {
                            first_sackt = seg.sent_at;
                        }
                        last_sackt = seg.sent_at;
                    }
                    delivered_sends.push((seg.sent_at, seg.end_seq(), seg.retrans > 0));
                    tcp_rate_skb_delivered(&mut rs, seg);
                    if seg.lost {
                        seg.lost = false;
                        t.lost_out -= 1;
                    }
                    if seg.retrans_out {
                        seg.retrans_out = false;
                        t.retrans_out -= 1;
                    }
                }
            }
        }
        t.sacked_out += newly_sacked;
        if t.recovery.ca_state != CaState::Loss {
            tcp_check_sack_reordering(t, reord, &mut n.snmp.tcp_ext, false);
        }
    }
    // Clean the retransmit queue (tcp_clean_rtx_queue).
    let mut acked_pkts = 0u32;
    // The lowest acknowledged never-retransmitted segment not SACKed before.
    let mut acked_reord: Option<u32> = None;
    // Of them, those not SACKed before: SACKed ones were counted delivered then.
    let mut acked_unsacked = 0u32;
    let mut first_ackt: Option<SimTime> = None;
    let mut last_ackt: Option<SimTime> = None;
    let mut retrans_acked = false;
    let mut syn_acked = false;
    // Segments asking for SCM_TSTAMP_ACK (tcp_ack_tstamp), and the bytes of the
    // retransmit-queue skb being acknowledged so far (an skb begins at a packet head).
    let mut ack_stamps: Vec<tstamp::AckStamp> = Vec::new();
    let mut skb_bytes = 0u32;
    let mut acked_bytes = 0usize;
    while let Some(seg) = t.wq.front() {
        if seg.sent_at.is_none() || after(seg.end_seq(), ack) {
            break;
        }
        let seg = t.wq_pop_front().expect("front");
        if seg.pkt_head {
            skb_bytes = 0;
        }
        skb_bytes += seg.len;
        if seg.txstamp_ack {
            ack_stamps.push(tstamp::AckStamp {
                tskey: seg.tskey,
                seq: seg.seq.wrapping_add(seg.len).wrapping_sub(skb_bytes),
                len: skb_bytes,
                data: Vec::new(),
            });
        }
        if seg.retrans > 0 {
            t.ever_retrans_in_wq -= 1;
        }
        acked_pkts += 1;
        syn_acked |= seg.syn;
        acked_unsacked += u32::from(!seg.sacked);
        // tcp_skb_spurious_retrans: a retransmitted segment whose ACK echoes a timestamp
        // older than the retransmission was delivered by its original: not a RACK sample.
        let spurious = seg.retrans > 0
            && seg.sent_at.is_some_and(|at| {
                tsecr.is_some_and(|e| e != 0 && before(e, output::tcp_time_stamp(at)))
            });
        if !seg.sacked && !spurious {
            delivered_sends.push((seg.sent_at, seg.end_seq(), seg.retrans > 0));
        }
        if !seg.sacked {
            tcp_rate_skb_delivered(&mut rs, &seg);
        }
        t.packets_out -= 1;
        if seg.sacked {
            t.sacked_out -= 1;
        }
        if seg.lost {
            t.lost_out -= 1;
        }
        if seg.retrans_out {
            t.retrans_out -= 1;
        }
        // tcp_clean_rtx_queue: a retransmitted segment voids the sample (Karn); one
        // SACKed earlier gave its sample then.
        if seg.retrans > 0 {
            retrans_acked = true;
        } else if !seg.sacked {
            if !after(seg.end_seq(), t.recovery.high_seq) {
                orig_sack_acked = true;
            }
            if first_ackt.is_none() {
                first_ackt = seg.sent_at;
            }
            last_ackt = seg.sent_at;
            acked_reord = Some(acked_reord.map_or(seg.seq, |r: u32| r));
        }
        t.stats.bytes_acked += u64::from(seg.len);
        if seg.len > 0 {
            t.last_acked_at = Some(now);
        }
        t.wmem_queued = t.wmem_queued.saturating_sub(TcpSock::wmem_of(&seg));
        acked_bytes += seg.len as usize;
    }
    // The acknowledged bytes leave the send buffer, once the stamps have their copies.
    for st in &mut ack_stamps {
        let off = st.seq.wrapping_sub(t.sndq_seq) as usize;
        st.data = vec![0; st.len as usize];
        t.sndq.copy_to(off, &mut st.data);
    }
    let drop = acked_bytes.min(t.sndq.len());
    if drop > 0 {
        t.sndq.consume(drop);
        t.sndq_seq = t.sndq_seq.wrapping_add(drop as u32);
    }
    let advanced = after(ack, prior_una);
    t.snd_una = ack;
    // tcp_clean_rtx_queue: with the retransmit queue empty the busy chronograph stops, or
    // runs on if data waits unsent.
    if t.sent_segs() == 0 {
        t.chrono_stop(ChronoKind::Busy, now_j);
    }
    // tcp_ack_tstamp, on each acknowledged skb and on the first one left.
    if let Some(seg) = t.wq.front()
        && seg.txstamp_ack
        && seg.sent_at.is_some()
    {
        let mut data = vec![0; seg.len as usize];
        t.sndq
            .copy_to(seg.seq.wrapping_sub(t.sndq_seq) as usize, &mut data);
        ack_stamps.push(tstamp::AckStamp {
            tskey: seg.tskey,
            seq: seg.seq,
            len: seg.len,
            data,
        });
    }
    let t = if ack_stamps.is_empty() {
        t
    } else {
        for s in &ack_stamps {
            tstamp::tcp_ack_tstamp(n, cx, sock, s, prior_una, ack);
        }
        n.socks.tcp(sock).expect("the socket being acknowledged")
    };
    debug_assert_eq!(
        t.ever_retrans_in_wq as usize,
        t.wq.iter().filter(|w| w.retrans > 0).count()
    );
    // tcp_clean_rtx_queue: a hole below the highest SACK filled by a never-retransmitted
    // segment is reordering too.
    if t.sack_ok
        && let Some(r) = acked_reord
        && before(r, prior_fack)
    {
        tcp_check_sack_reordering(t, r, &mut n.snmp.tcp_ext, false);
    }
    // RTT samples (tcp_clean_rtx_queue, tcp_ack_update_rtt): seq_rtt from the oldest newly
    // acknowledged segment never retransmitted (Karn), else the oldest newly SACKed one,
    // else the timestamp echo of an ACK that advances; ca_rtt (for the minimum RTT and the
    // congestion control) from the newest such segment, SACKed ones first.
    let rtt_of = |at: Option<SimTime>| at.map(|at| (now - at).as_nanos() / 1000);
    let (mut seq_rtt, mut ca_rtt) = if retrans_acked {
        (None, None)
    } else {
        (rtt_of(first_ackt), rtt_of(last_ackt))
    };
    // FLAG_ACK_MAYBE_DELAYED: one lone short segment acknowledged, nothing else learned.
    let maybe_delayed = seq_rtt.is_some()
        && acked_pkts == 1
        && prior_sacked == 0
        && ack.wrapping_sub(prior_una) < t.mss_cache
        && acked_unsacked + newly_sacked == 1
        && newly_sacked == 0
        && !ece
        && !syn_acked;
    if first_sackt.is_some() {
        seq_rtt = seq_rtt.or(rtt_of(first_sackt));
        ca_rtt = rtt_of(last_sackt);
    }
    if seq_rtt.is_none()
        && advanced
        && t.ts_ok
        && let Some((_, tsecr)) = th.options.timestamp()
        && tsecr != 0
    {
        // tcp_rtt_tsopt_us: whole milliseconds, at least one.
        let ms = output::tcp_time_stamp(now)
            .wrapping_add(t.ts_off)
            .wrapping_sub(tsecr);
        if ms < i32::MAX as u32 / 1000 {
            seq_rtt = Some(u64::from(ms.max(1)) * 1000);
            ca_rtt = seq_rtt;
        }
    }
    if let (Some(r), Some(ca)) = (seq_rtt, ca_rtt) {
        super::rtt::tcp_update_rtt_min(t, ca, maybe_delayed);
        tcp_rtt_estimator(t, r);
        if advanced {
            t.timers.retransmits = 0;
            t.timers.backoff = 0;
        }
    }
    // pkts_acked (cubictcp_acked), with the rate sample's rtt_us = ca_rtt.
    if let Some(ca) = ca_rtt {
        let ctx = ca_ctx(t, now, n.jiffies_phase);
        let rtt = ca.min(u64::from(u32::MAX)) as u32;
        let ext = &mut n.snmp.tcp_ext;
        let exit = t
            .cong
            .pkts_acked(&ctx, rtt, (t.snd_una, t.snd_nxt), t.pacing_rate);
        if let Some(exit) = exit {
            // HyStart ended slow start here: ssthresh = cwnd (by either test, or both).
            t.ssthresh = t.cwnd;
            if exit.train {
                ext.TCPHystartTrainDetect += 1;
                ext.TCPHystartTrainCwnd += u64::from(t.cwnd);
            }
            if exit.delay {
                ext.TCPHystartDelayDetect += 1;
                ext.TCPHystartDelayCwnd += u64::from(t.cwnd);
            }
        }
    }
    // Duplicate ACK detection (for non-SACK peers and the Disorder state).
    let is_dupack = !advanced && payload_len == 0 && !window_changed && t.packets_out > 0;
    if is_dupack {
        t.recovery.dupacks += 1;
    } else if advanced {
        t.recovery.dupacks = 0;
    }
    // Segments delivered by this ACK (tcp_count_delivered), for PRR and tcpi_delivered.
    let mut delivered = acked_unsacked + newly_sacked + dsack.dup_segs;
    if !t.sack_ok {
        // A peer without SACK: each duplicate ACK stands for a segment that left the network
        // (tcp_add_reno_sack), so new data may go in its place (limited transmit, RFC
        // 3042); an ACK that advances forgets them in Open and Disorder
        // (tcp_reset_reno_sack) and takes back all but one per segment acknowledged in
        // recovery (tcp_remove_reno_sacks).
        if advanced {
            // Segments already counted when their duplicate ACKs came are not again.
            delivered = acked_pkts.saturating_sub(t.sacked_out).max(1);
            if matches!(t.recovery.ca_state, CaState::Recovery | CaState::Loss) {
                t.sacked_out = t.sacked_out.saturating_sub(acked_pkts.saturating_sub(1));
            } else {
                t.sacked_out = 0;
            }
        }
        if is_dupack && t.recovery.ca_state != CaState::Loss {
            t.sacked_out += 1;
            delivered += 1;
        }
        // tcp_limit_reno_sacked: at least one hole (the lost segments) stays.
        let holes = t.lost_out.max(1).min(t.packets_out);
        t.sacked_out = t.sacked_out.min(t.packets_out - holes);
    }
    // tcp_rate_skb_delivered's tp->first_tx_mstamp: the chosen segment's send time.
    if let Some((xt, _)) = rs.last {
        t.rate.first_tx_mstamp = super::rate::stamp_us(xt);
    }
    super::recovery::tcp_rack_update_reo_wnd(
        t,
        rs.prior_delivered,
        t.stats.delivered + u64::from(delivered),
    );
    // tcp_rack_advance: the most recently sent segment this ACK delivered (a
    // retransmission acked faster than min_rtt may be the original's ACK: skipped).
    for &(sent, end, retrans) in &delivered_sends {
        let Some(xt) = sent else { continue };
        let rtt = now.saturating_since(xt).as_nanos() / 1000;
        if retrans && rtt < u64::from(t.rtt.min_rtt_us) {
            continue;
        }
        let newer = match t.recovery.rack_mstamp {
            None => true,
            Some(m) => xt > m || (xt == m && after(end, t.recovery.rack_end_seq)),
        };
        if newer {
            t.recovery.rack_mstamp = Some(xt);
            t.recovery.rack_end_seq = end;
            t.recovery.rack_rtt_us = rtt;
        }
    }
    t.delivered_scratch = delivered_sends;
    // Loss detection. With SACK, RACK (tcp_rack_detect_loss, net.ipv4.tcp_recovery=1):
    // a segment sent before one already delivered is lost once a RACK RTT and the
    // reordering window have passed since it was sent (the window is 0 in recovery or
    // with DUPTHRESH segments SACKed, min_rtt/4 otherwise). This also finds lost
    // retransmissions. Without SACK, the third duplicate ACK marks the head lost.
    let mut newly_lost = 0u32;
    let mut reo_wait: Option<SimDuration> = None;
    if t.packets_out > 0 {
        if t.sack_ok {
            let (lost, wait) = tcp_rack_detect_loss(t, now);
            newly_lost = lost;
            reo_wait = wait;
        } else if !t.sack_ok
            // tcp_newreno_mark_lost: the head, once the duplicate ACKs pass the reordering
            // degree, or at each partial ACK in recovery.
            && ((t.sacked_out >= t.reordering
                && matches!(
                    t.recovery.ca_state,
                    CaState::Open | CaState::Disorder | CaState::Cwr
                ))
                || (t.recovery.ca_state == CaState::Recovery && advanced))
            && let Some(seg) = t.wq.front_mut()
            && seg.sent_at.is_some()
            && !seg.lost
        {
            seg.lost = true;
            newly_lost += 1;
            t.note_rtx_candidate(0);
        }
        t.lost_out += newly_lost;
        t.rate.lost += u64::from(newly_lost);
    }
    // Recovery state machine (tcp_fastretrans_alert).
    t.stats.delivered += u64::from(delivered);
    n.snmp.tcp_ext.TCPDelivered += u64::from(delivered);
    if ece {
        t.stats.delivered_ce += u64::from(delivered);
        n.snmp.tcp_ext.TCPDeliveredCE += u64::from(delivered);
    }
    super::cong::tcp_in_ack_event(t);
    let dubious = !(advanced || may_update || payload_len > 0)
        || newly_sacked > 0
        || ece
        || dsack.dup
        || t.recovery.ca_state != CaState::Open;
    let rexmit = tcp_fastretrans_alert(
        t,
        &mut n.snmp.tcp_ext,
        AlertAck {
            advanced,
            prior_una,
            dubious,
            ece,
            loss: super::undo::LossAck {
                advanced,
                orig_sack_acked,
                data_sacked: newly_sacked > 0,
                dupack: is_dupack,
                can_send_new: t.sent_segs() < t.wq.len()
                    && after(t.snd_una.wrapping_add(t.snd_wnd), t.snd_nxt),
                tsecr,
            },
        },
    );
    // tcp_rate_gen, then tcp_cong_control (both skipped when nothing was in flight: the
    // no_queue path).
    rs.is_ack_delayed = maybe_delayed;
    rs.rtt_us = ca_rtt.map_or(-1, |r| r.min(i32::MAX as u64) as i32);
    if prior_packets > 0 {
        let lost = (t.rate.lost - prior_lost) as u32;
        super::rate::tcp_rate_gen(t, delivered, lost, now.as_nanos() / 1000, &mut rs);
    }
    if t.cong.has_cong_control() {
        // The algorithm's own cong_control (bbr_main) replaces PRR, cong_avoid and
        // tcp_update_pacing_rate.
        if prior_packets > 0 {
            let clock = BbrClock {
                now,
                jiffies: crate::jiffies::jiffies(now, n.jiffies_phase) as u32,
            };
            super::cong::with_bbr(t, |b, t| b.main(t, &rs, clock));
            // tcp_check_space → tcp_new_space: the ACK freed room; with cwnd not full
            // (tcp_should_expand_sndbuf) the send buffer grows to sndbuf_expand cwnds.
            if t.in_flight() < t.cwnd {
                let sys = crate::config::Sysctls {
                    tcp_wmem: [0, 0, sys_wmem2],
                    ..Default::default()
                };
                output::sndbuf_expand(t, &sys);
            }
        }
    } else if matches!(t.recovery.ca_state, CaState::Recovery | CaState::Cwr) {
        // tcp_cwnd_reduction (PRR).
        t.recovery.prr_delivered += delivered;
        let in_flight = t.in_flight();
        let sndcnt = if in_flight > t.ssthresh {
            let dividend = u64::from(t.ssthresh) * u64::from(t.recovery.prr_delivered)
                + u64::from(t.recovery.prior_cwnd)
                - 1;
            ((dividend / u64::from(t.recovery.prior_cwnd.max(1))) as u32)
                .saturating_sub(t.recovery.prr_out)
        } else if advanced && newly_lost == 0 {
            (t.ssthresh - in_flight).min(
                t.recovery
                    .prr_delivered
                    .saturating_sub(t.recovery.prr_out)
                    .max(delivered)
                    + 1,
            )
        } else {
            (t.ssthresh - in_flight).min(delivered)
        };
        let sndcnt = sndcnt.max(u32::from(t.recovery.prr_out == 0));
        t.cwnd = in_flight + sndcnt;
    } else if advanced && acked_pkts > 0 {
        // tcp_cong_avoid when cwnd-limited (tcp_is_cwnd_limited): the window was full in
        // its current round, or, in slow start, cwnd is below twice the most packets that
        // were in flight in it.
        let limited = t.is_cwnd_limited || (t.cwnd < t.ssthresh && t.cwnd < 2 * t.max_packets_out);
        if limited {
            let ctx = ca_ctx(t, now, n.jiffies_phase);
            // tcp_cong_avoid(sk, ack, acked_sacked): by what this ACK delivered.
            let (c, cnt) = t.cong.cong_avoid(&ctx, delivered);
            t.cwnd = c.min(u32::from(u16::MAX) * 4);
            t.cwnd_cnt = cnt;
            let sys = crate::config::Sysctls {
                tcp_wmem: [0, 0, sys_wmem2],
                ..Default::default()
            };
            output::sndbuf_expand(t, &sys);
        }
    }
    if !t.cong.has_cong_control() {
        super::info::tcp_update_pacing_rate(t, &n.sysctl);
    }
    // sk_stream_write_space: room for a third more than is queued, and (tcp_stream_memory_free)
    // fewer unsent bytes than TCP_NOTSENT_LOWAT.
    let writable_again = t.sk.nospace
        && t.sk.sndbuf.saturating_sub(t.wmem_queued) >= t.wmem_queued / 2
        && t.write_seq.wrapping_sub(t.snd_nxt) < t.notsent_lowat;
    if writable_again {
        t.sk.nospace = false;
        // tcp_check_space: room again, the send buffer no longer holds the sender back.
        t.chrono_stop(ChronoKind::SndbufLimited, now_j);
    }
    // tcp_process_tlp_ack: the ACK covers the probe. A D-SACK of the probe
    // (FLAG_DSACK_TLP) says both it and the original arrived: no loss.
    if dsack.tlp
        && t.recovery.tlp_retrans
        && t.recovery.tlp_high_seq.is_some_and(|h| !before(ack, h))
    {
        t.recovery.tlp_high_seq = None;
    }
    // If the probe was a retransmission and the ACK moved, it repaired a loss: reduce
    // cwnd once (CWR).
    if let Some(high) = t.recovery.tlp_high_seq
        && after(ack, high)
    {
        t.recovery.tlp_high_seq = None;
        if t.recovery.tlp_retrans && t.recovery.ca_state == CaState::Open {
            t.ssthresh = super::cong::tcp_ca_ssthresh(t);
            // tcp_end_cwnd_reduction: nothing for an algorithm with its own cong_control.
            if !t.cong.has_cong_control() {
                t.cwnd = t.ssthresh.max(2);
            }
            n.snmp.tcp_ext.TCPLossProbeRecovery += 1;
        }
    }
    if let Some(wait) = reo_wait {
        // RACK's reordering timer takes the retransmission timer (and then no
        // TLP/RTO reset: FLAG_SET_XMIT_TIMER is cleared).
        tcp_arm_reo_timer(n, cx, sock, wait);
    } else if advanced {
        // tcp_set_xmit_timer: a loss probe if it may, else the RTO.
        if !tcp_schedule_loss_probe(n, cx, sock, true) {
            tcp_reset_rtx_timer(n, cx, sock);
        }
    }
    tcp_xmit_recovery(n, cx, sock, rexmit);
    if prior_packets == 0 {
        // no_queue: nothing was in flight, so this may open a window being probed.
        super::timer::tcp_ack_probe(n, cx, sock);
    }
    if writable_again {
        sk_wake(n, cx, sock);
    }
    true
}

/// What `tcp_fastretrans_alert` reads of an ACK (its `flag` bits).
struct AlertAck {
    /// `FLAG_SND_UNA_ADVANCED`.
    advanced: bool,
    /// `prior_snd_una`.
    prior_una: u32,
    /// `tcp_ack_is_dubious`: a duplicate, SACK, D-SACK or ECE, or not Open.
    dubious: bool,
    /// `FLAG_ECE`.
    ece: bool,
    /// What `tcp_process_loss` reads.
    loss: super::undo::LossAck,
}

/// `tcp_fastretrans_alert`, after loss detection (RACK, or NewReno's head marking) and
/// the ACK's scoreboard: ends CWR and Recovery once `high_seq` is acknowledged (undoing
/// when it may, `tcp_try_undo_recovery`), tries the undos where Linux does (partial and
/// D-SACK in Recovery, D-SACK in Open/Disorder, `tcp_process_loss` in Loss), enters
/// Recovery when something is lost, else `tcp_try_to_open`. Returns what to send.
fn tcp_fastretrans_alert(
    t: &mut TcpSock,
    ext: &mut crate::stats::TcpExtStats,
    a: AlertAck,
) -> super::undo::Rexmit {
    use super::undo::{self, PartialUndo, Rexmit};
    let tsecr = a.loss.tsecr;
    // A. ECE: the reduction must stand.
    if a.ece {
        t.recovery.prior_ssthresh = 0;
    }
    // D. State exits once high_seq is acknowledged.
    match t.recovery.ca_state {
        CaState::Open if a.dubious => t.recovery.retrans_stamp = None,
        // CWR holds until something above high_seq is ACKed (tcp_end_cwnd_reduction).
        CaState::Cwr if after(t.snd_una, t.recovery.high_seq) => {
            // tcp_end_cwnd_reduction: nothing for an algorithm with its own cong_control.
            if !t.cong.has_cong_control() {
                t.cwnd = t.ssthresh;
            }
            t.recovery.ca_state = CaState::Open;
        }
        CaState::Recovery if !before(t.snd_una, t.recovery.high_seq) => {
            if !t.sack_ok {
                // tcp_reset_reno_sack.
                t.sacked_out = 0;
            }
            if undo::tcp_try_undo_recovery(t, tsecr, ext) {
                return Rexmit::None;
            }
            // tcp_end_cwnd_reduction (unless undone; nothing for cong_control).
            if t.recovery.undo_marker.is_some() && !t.cong.has_cong_control() {
                t.cwnd = t.ssthresh;
            }
        }
        _ => {}
    }
    // E. Process the state.
    match t.recovery.ca_state {
        CaState::Recovery => {
            if a.advanced {
                let partial = undo::tcp_try_undo_partial(t, tsecr, ext);
                if partial != PartialUndo::No {
                    // Plain luck: the hole was filled by a delayed packet.
                    tcp_check_sack_reordering(t, a.prior_una, ext, true);
                }
                if partial == PartialUndo::Hold {
                    return Rexmit::None;
                }
            }
            if undo::tcp_try_undo_dsack(t, ext) {
                undo::tcp_try_to_open(t, a.ece);
            }
            if t.recovery.ca_state != CaState::Recovery {
                // tcp_time_to_recover: the undo reverted the state; a loss still marked
                // starts a new recovery.
                if t.lost_out == 0 {
                    return Rexmit::None;
                }
                tcp_enter_recovery(t, a.ece, ext);
            }
            Rexmit::Lost
        }
        CaState::Loss => {
            let rexmit = undo::tcp_process_loss(t, a.loss, ext);
            if t.recovery.ca_state != CaState::Open {
                return rexmit;
            }
            tcp_fastretrans_alert_default(t, ext, a.ece)
        }
        _ => tcp_fastretrans_alert_default(t, ext, a.ece),
    }
}

/// `tcp_fastretrans_alert`'s default case (Open, Disorder, CWR, or just out of Loss): a
/// D-SACK undo, then Recovery if something is lost (`tcp_time_to_recover`), else
/// `tcp_try_to_open`.
fn tcp_fastretrans_alert_default(
    t: &mut TcpSock,
    ext: &mut crate::stats::TcpExtStats,
    ece: bool,
) -> super::undo::Rexmit {
    if matches!(t.recovery.ca_state, CaState::Open | CaState::Disorder) {
        super::undo::tcp_try_undo_dsack(t, ext);
    }
    if t.lost_out == 0 {
        super::undo::tcp_try_to_open(t, ece);
        return super::undo::Rexmit::None;
    }
    tcp_enter_recovery(t, ece, ext);
    super::undo::Rexmit::Lost
}

/// `tcp_xmit_recovery`: retransmit what is lost, or (F-RTO step 2b) new data first, and
/// the retransmissions only if none could go.
fn tcp_xmit_recovery(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, rexmit: super::undo::Rexmit) {
    use super::undo::Rexmit;
    match rexmit {
        Rexmit::None => return,
        Rexmit::New => {
            tcp_push_pending_frames(n, cx, sock);
            let Some(t) = n.socks.tcp(sock) else { return };
            if after(t.snd_nxt, t.recovery.high_seq) {
                return;
            }
            t.recovery.frto = false;
        }
        Rexmit::Lost => {}
    }
    tcp_xmit_retransmit_queue(n, cx, sock);
}

/// `tcp_data_queue`: in-order data to the receive queue (and what the out-of-order queue
/// can now follow), out-of-order data kept with SACK blocks, FIN. The payload comes with
/// whether it is known to be zeros.
fn tcp_data_queue(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    th: &TcpRepr,
    (payload, zeros): (&[u8], bool),
    meta: RxMeta,
    now: SimTime,
) {
    let ip_dsfield = meta.ip_dsfield;
    debug_assert!(!zeros || payload.iter().all(|&b| b == 0));
    let rmem_max = n.sysctl.tcp_rmem[2];
    let tcp_dsack = n.sysctl.tcp_dsack;
    let ext = &mut n.snmp.tcp_ext;
    let Some(t) = n.socks.tcp(sock) else { return };
    // The skb the NIC built for this segment, and its timestamp RTT sample.
    let truesize = tcp_rx_truesize(payload.len() as u32);
    if !payload.is_empty() {
        tcp_rcv_rtt_measure_ts(t, th, payload.len() as u32, now);
    }
    let mut seq = th.seq;
    let mut data = payload;
    // Trim what we already have.
    if before(seq, t.rcv_nxt) {
        let dup = t.rcv_nxt.wrapping_sub(seq) as usize;
        if dup >= data.len() && !th.flags.contains(TcpFlags::FIN) {
            // A pure duplicate (out_of_window): D-SACK it, ACK at once
            // (tcp_enter_quickack_mode + schedule).
            let end = seq.wrapping_add(data.len() as u32);
            super::dsack::tcp_dsack_set(t, seq, end, tcp_dsack, ext);
            tcp_enter_quickack(t);
            t.ack.pending = true;
            t.ack.ack_now = true;
            return;
        }
        // A partial duplicate: D-SACK its head.
        super::dsack::tcp_dsack_set(t, seq, t.rcv_nxt, tcp_dsack, ext);
        data = &data[dup.min(data.len())..];
        seq = t.rcv_nxt;
    }
    let fin = th.flags.contains(TcpFlags::FIN);
    if seq == t.rcv_nxt {
        if !data.is_empty() {
            // tcp_try_rmem_schedule: no room left in the receive buffer → drop.
            if t.rmem_alloc > t.sk.rcvbuf {
                t.ack.pending = true;
                t.ack.ack_now = true;
                return;
            }
            tcp_queue_rcv(t, (data, zeros), truesize);
            let rx = RxSeg {
                len: payload.len() as u32,
                gso_size: u32::from(meta.gso_size),
                truesize,
                hdr_len: th.header_len() as u32,
                flags: th.flags,
            };
            tcp_event_data_recv(t, &rx, now, rmem_max);
            let armed = cx.sched.deadline(&t.timers.delack_timer).is_some();
            tcp_ecn_check_ce(t, ip_dsfield, armed);
            // tcp_ofo_queue: what the hole was holding back.
            let had_ofo = !t.ofo.is_empty();
            let mut dsack_high = t.rcv_nxt;
            while let Some((&k, _)) = t.ofo.iter().next() {
                let kseq = t.irs.wrapping_add(k as u32);
                if after(kseq, t.rcv_nxt) {
                    break;
                }
                let (chunk, ts) = t.ofo.remove(&k).expect("present");
                if before(kseq, dsack_high) {
                    // What the queue held twice: tcp_ofo_queue's D-SACK.
                    let dsack = dsack_high;
                    let kend = kseq.wrapping_add(chunk.len() as u32);
                    if before(kend, dsack_high) {
                        dsack_high = kend;
                    }
                    super::dsack::tcp_dsack_extend(t, kseq, dsack, tcp_dsack, ext);
                }
                let skip = t.rcv_nxt.wrapping_sub(kseq) as usize;
                if skip < chunk.len() {
                    let n = chunk.len() - skip;
                    t.rcvq.append(chunk, skip);
                    t.rcv_nxt = t.rcv_nxt.wrapping_add(n as u32);
                    t.rcvq_skbs.push_back((t.rcv_nxt, ts));
                    t.stats.bytes_received += n as u64;
                } else {
                    t.rmem_alloc -= ts;
                }
            }
            t.sack_blocks.retain(|&(_, e)| after(e, t.rcv_nxt));
            if had_ofo && t.ofo.is_empty() {
                t.ack.ack_now = true;
            }
            sk_wake(n, cx, sock);
        } else if fin && payload.is_empty() && t.rmem_alloc > t.sk.rcvbuf {
            // tcp_try_rmem_schedule failed (ICSK_ACK_NOMEM | ICSK_ACK_NOW), but a bare FIN
            // is queued anyway: the FIN is acknowledged at once.
            t.ack.pending = true;
            t.ack.ack_now = true;
        }
        let Some(t) = n.socks.tcp(sock) else {
            return;
        };
        if fin && t.ofo.is_empty() {
            tcp_fin(n, cx, sock);
        } else if fin {
            // FIN beyond a hole is not kept (the peer retransmits it).
        }
    } else {
        // Out of order: keep it (if the buffer has room), SACK it, ACK at once.
        t.ack.pending = true;
        if !data.is_empty() {
            let armed = cx.sched.deadline(&t.timers.delack_timer).is_some();
            tcp_ecn_check_ce(t, ip_dsfield, armed);
        }
        if !data.is_empty() && t.rmem_alloc <= t.sk.rcvbuf {
            let off = u64::from(seq.wrapping_sub(t.irs));
            let end = seq.wrapping_add(data.len() as u32);
            if tcp_ofo_overlap(t, off, data.len() as u64, tcp_dsack, ext) {
                let mut q = super::byteq::ByteQueue::new();
                if zeros {
                    q.extend_zeros(data.len());
                } else {
                    q.extend(data);
                }
                t.ofo.insert(off, (q, truesize));
                t.rmem_alloc += truesize;
                t.stats.rcv_ooopack += 1;
            }
            // Most recent block first, merged with neighbours.
            let mut blk = (seq, end);
            t.sack_blocks.retain(|&(a, b)| {
                if !after(a, blk.1) && !before(b, blk.0) {
                    blk = (
                        if before(a, blk.0) { a } else { blk.0 },
                        if after(b, blk.1) { b } else { blk.1 },
                    );
                    false
                } else {
                    true
                }
            });
            t.sack_blocks.insert(0, blk);
            t.sack_blocks.truncate(4);
            // tcp_data_queue_ofo's end: provision the buffer for what the out-of-order
            // queue spans, but not for a socket not yet accepted (a listener's queue must
            // not hold more than tcp_rmem[1] each) nor for an orphan (`sk->sk_socket`).
            if t.parent.is_none() && !t.orphan {
                let space = t.rwin.rcvq_space;
                super::rcv_window::tcp_rcvbuf_grow(t, space, &n.sysctl);
            }
        }
    }
}

/// `tcp_data_queue_ofo`'s overlap handling for out-of-order data at `off` (relative to
/// `irs`) of `len` bytes: data the queue holds already is D-SACKed (`tcp_dsack_set` for
/// the first overlap, `tcp_dsack_extend` for chunks the new one covers, which leave the
/// queue). Returns whether the new data is to be queued (not when one chunk holds it all).
fn tcp_ofo_overlap(
    t: &mut TcpSock,
    off: u64,
    len: u64,
    tcp_dsack: bool,
    ext: &mut crate::stats::TcpExtStats,
) -> bool {
    let seq_of = |t: &TcpSock, o: u64| t.irs.wrapping_add(o as u32);
    let end = off + len;
    if let Some((&p, (q, _))) = t.ofo.range(..=off).next_back() {
        let pend = p + q.len() as u64;
        if pend > off {
            if end <= pend {
                // All the bits are present (TCPOFOMerge).
                let (s, e) = (seq_of(t, off), seq_of(t, end));
                super::dsack::tcp_dsack_set(t, s, e, tcp_dsack, ext);
                return false;
            }
            if off > p {
                // Partial overlap.
                let (s, e) = (seq_of(t, off), seq_of(t, pend));
                super::dsack::tcp_dsack_set(t, s, e, tcp_dsack, ext);
            } else {
                // Same start, and the new data covers it: it replaces the chunk.
                let (_, ts) = t.ofo.remove(&p).expect("present");
                t.rmem_alloc -= ts;
                let (s, e) = (seq_of(t, p), seq_of(t, pend));
                super::dsack::tcp_dsack_extend(t, s, e, tcp_dsack, ext);
            }
        }
    }
    // merge_right: chunks the new data covers leave the queue.
    while let Some((&k, (q, _))) = t.ofo.range(off + 1..).next() {
        if end <= k {
            break;
        }
        let kend = k + q.len() as u64;
        if end < kend {
            let (s, e) = (seq_of(t, k), seq_of(t, end));
            super::dsack::tcp_dsack_extend(t, s, e, tcp_dsack, ext);
            break;
        }
        let (_, ts) = t.ofo.remove(&k).expect("present");
        t.rmem_alloc -= ts;
        let (s, e) = (seq_of(t, k), seq_of(t, kend));
        super::dsack::tcp_dsack_extend(t, s, e, tcp_dsack, ext);
    }
    true
}

/// `tcp_queue_rcv`: in-order data onto the receive queue, as an skb of `truesize`.
pub(crate) fn tcp_queue_rcv(t: &mut TcpSock, (data, zeros): (&[u8], bool), truesize: u32) {
    if zeros {
        t.rcvq.extend_zeros(data.len());
    } else {
        t.rcvq.extend(data);
    }
    t.rcv_nxt = t.rcv_nxt.wrapping_add(data.len() as u32);
    t.rmem_alloc += truesize;
    t.rcvq_skbs.push_back((t.rcv_nxt, truesize));
    t.stats.bytes_received += data.len() as u64;
}

/// `tcp_ecn_check_ce`: ECN marks of a received data segment (quick ACKs on the first CE).
/// For DCTCP (`tcp_ca_needs_ecn`) an ECT or CE segment is `CA_EVENT_ECN_NO_CE` or
/// `CA_EVENT_ECN_IS_CE` (`dctcp_ece_ack_update`): ECE follows the last segment's CE, and
/// a change is ACKed at once, after the delayed ACK (armed: `delack_armed`) it owed.
fn tcp_ecn_check_ce(t: &mut TcpSock, ip_dsfield: u8, delack_armed: bool) {
    use super::ecn::{INET_ECN_CE, INET_ECN_MASK, INET_ECN_NOT_ECT};
    let ecn = ip_dsfield & INET_ECN_MASK;
    if t.ecn.ok && ecn != INET_ECN_NOT_ECT {
        let rcv_nxt = t.rcv_nxt;
        if let Some(d) = t.cong.dctcp_mut() {
            let a = d.ece_ack_update(ecn == INET_ECN_CE, delack_armed, rcv_nxt);
            if a.prior.is_some() {
                d.prior_ack = a.prior;
            }
            if a.now {
                t.ack.ack_now = true;
            }
            // dctcp_ece_ack_cwr, then __tcp_ecn_check_ce: DEMAND_CWR already set on CE, so
            // no quick-ACK mode.
            t.ecn.demand_cwr = a.demand_cwr;
            t.ecn.seen = true;
            return;
        }
    }
    if t.ecn.check_ce(ip_dsfield) {
        super::ack::tcp_enter_quickack_mode(t, 2);
    }
}

/// `tcp_fin`: the peer's FIN arrived in order.
pub(crate) fn tcp_fin(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    t.rcv_nxt = t.rcv_nxt.wrapping_add(1);
    t.fin_received = true;
    t.ack.pending = true;
    match t.state {
        TcpState::SynRecv | TcpState::Established => {
            t.state = TcpState::CloseWait;
            // inet_csk_enter_pingpong_mode: the ACK of the FIN is delayed.
            t.ack.pingpong = t.ack.pingpong.max(1);
        }
        TcpState::FinWait1 => {
            // Simultaneous close.
            tcp_send_ack(n, cx, sock);
            if let Some(t) = n.socks.tcp(sock) {
                t.state = TcpState::Closing;
            }
        }
        TcpState::FinWait2 => {
            tcp_send_ack(n, cx, sock);
            tcp_time_wait(n, cx, sock);
            return;
        }
        _ => {}
    }
    sk_wake(n, cx, sock);
}

/// `tcp_time_wait`: linger in TIME_WAIT for 60 s, then go.
fn tcp_time_wait(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    t.state = TcpState::TimeWait;
    cx.sched.cancel(&t.timers.rtx_timer);
    cx.sched.cancel(&t.timers.delack_timer);
    tcp_arm_tw(n, cx, sock, TCP_TIMEWAIT_LEN);
    sk_wake(n, cx, sock);
}

/// Arms the TIME_WAIT / FIN_WAIT_2 timer.
pub(crate) fn tcp_arm_tw(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId, after_: SimDuration) {
    let now = cx.now;
    let at = crate::jiffies::round_expiry(now, after_, n.jiffies_phase);
    tcp_arm_timer(n, cx, sock, super::timer::TcpTimerKind::TimeWait, at);
}

/// `__tcp_ack_snd_check`: ACK now, or arm the delayed-ACK timer.
fn tcp_ack_snd_check(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if !t.ack.pending && !t.ack.ack_now {
        return;
    }
    let rcv_mss = t.ack.rcv_mss;
    let more_than_one = t.rcv_nxt.wrapping_sub(t.rwin.rcv_wup) > rcv_mss
        && (t.rcv_nxt == t.copied_seq || {
            let wnd = t.rwin.rcv_wnd;
            super::rcv_window::raw_select_window(t) >= wnd
        });
    let quick = t.ack.quick > 0 && t.ack.pingpong == 0;
    if more_than_one || quick || t.ack.ack_now {
        tcp_send_ack(n, cx, sock);
        return;
    }
    if t.ofo.is_empty() {
        tcp_send_delayed_ack(n, cx, sock);
        return;
    }
    // Out-of-order data is queued: SACK at once, or compress (tcp_comp_sack_*).
    if !t.sack_ok || t.ack.compressed_ack >= n.sysctl.tcp_comp_sack_nr {
        tcp_send_ack(n, cx, sock);
        return;
    }
    // The budget of immediate duplicate ACKs starts again whenever rcv_nxt moves.
    if t.ack.compressed_ack_rcv_nxt != t.rcv_nxt {
        t.ack.compressed_ack_rcv_nxt = t.rcv_nxt;
        t.ack.dup_ack_counter = 0;
    }
    if t.ack.dup_ack_counter < DUPTHRESH {
        t.ack.dup_ack_counter += 1;
        tcp_send_ack(n, cx, sock);
        return;
    }
    t.ack.compressed_ack += 1;
    if cx.sched.is_armed(&t.timers.comp_sack_timer) {
        return;
    }
    // 5 % of the RTT (the receiver's estimate, or srtt when smaller), at most
    // tcp_comp_sack_delay_ns; both are kept ×8.
    let mut rtt = u64::from(t.rwin.rcv_rtt_us);
    let srtt = u64::from(t.rtt.srtt_us);
    if srtt > 0 && srtt < rtt {
        rtt = srtt;
    }
    let delay = n.sysctl.tcp_comp_sack_delay_ns.min(rtt * 125 / 20);
    let at = cx.now + SimDuration::from_nanos(delay);
    tcp_arm_timer(n, cx, sock, super::timer::TcpTimerKind::CompressedAck, at);
}

/// `tcp_check_sack_reordering`: a segment delivered out of order from `low_seq`, below the
/// highest SACK: the reordering degree rises to the distance in segments (at most
/// `tcp_max_reordering`, 300) and the connection has seen reordering (`reord_seen`, which
/// keeps RACK's reordering window open in recovery). `ts`: found by a timestamp echo
/// (`tcp_try_undo_partial`: TCPTSReorder) rather than by SACK (TCPSACKReorder).
fn tcp_check_sack_reordering(
    t: &mut TcpSock,
    low_seq: u32,
    ext: &mut crate::stats::TcpExtStats,
    ts: bool,
) {
    let fack = t.highest_sack_seq();
    if !before(low_seq, fack) {
        return;
    }
    let mss = t.mss_cache.max(1);
    let metric = fack.wrapping_sub(low_seq);
    if metric > t.reordering * mss {
        t.reordering = metric.div_ceil(mss).min(300);
    }
    t.reord_seen += 1;
    if ts {
        ext.TCPTSReorder += 1;
    } else {
        ext.TCPSACKReorder += 1;
    }
}

/// The congestion-control view of a connection.
pub(crate) fn ca_ctx(t: &TcpSock, now: SimTime, jiffies_phase: u64) -> CaCtx {
    CaCtx {
        cwnd: t.cwnd,
        ssthresh: t.ssthresh,
        cwnd_cnt: t.cwnd_cnt,
        now_us: now.as_nanos() / 1000,
        jiffies: crate::jiffies::jiffies(now, jiffies_phase) as u32,
    }
}

/// `tp->tcp_header_len`: the fixed header our peer's segments carry (with timestamps).
pub(crate) fn tcp_header_len(t: &TcpSock) -> u32 {
    20 + if t.ts_ok { 12 } else { 0 }
}
