//! TCP Fast Open (RFC 7413), the client side as Linux has it (`net/ipv4/tcp_fastopen.c`,
//! with `tcp_sendmsg_fastopen` and `TCP_FASTOPEN_CONNECT` from `tcp.c`, the deferred connect
//! of `af_inet.c` and `tcp_rcv_fastopen_synack` from `tcp_input.c`; the SYN with data is
//! [`super::output::tcp_send_syn_data`], the cookie cache [`super::metrics`]).
//!
//! A client asks for Fast Open with `sendto(…, MSG_FASTOPEN, addr)` (connect and write in one
//! call) or with `TCP_FASTOPEN_CONNECT` before `connect()`. Knowing no cookie for the server,
//! the SYN carries an empty Fast Open option (a cookie request) and no data; the server's
//! SYN-ACK brings a cookie, which the host caches per destination. With a cookie cached, the
//! SYN carries it and the first write's data (up to an MSS less 40 bytes); with
//! `TCP_FASTOPEN_CONNECT`, `connect()` then returns 0 at once and the SYN waits for the first
//! write. Data the SYN-ACK does not acknowledge is retransmitted at once
//! (`TcpExtTCPFastOpenActiveFail`); data it does is `TcpExtTCPFastOpenActive`.
//!
//! `net.ipv4.tcp_fastopen` (default 1) enables the client (`TFO_CLIENT_ENABLE`); 4
//! (`TFO_CLIENT_NO_COOKIE`) sends data without any cookie. Not modeled: the server side (a
//! listener's `TCP_FASTOPEN` queue, bits 0x2, 0x200, 0x400: a listener never takes data from
//! a SYN), the blackhole pause (`tcp_fastopen_blackhole_timeout_sec`, 0 by default), the
//! route's `fastopen_no_cookie` metric.

use std::net::{IpAddr, SocketAddr};

use super::{TcpSock, TcpState, after};
use crate::ctx::NetCtx;
use crate::node::Node;
use crate::sock::{Errno, SockId};
use crate::wire::{TcpOptions, TcpRepr};

/// `TFO_CLIENT_ENABLE`: `net.ipv4.tcp_fastopen` bit for clients.
pub const TFO_CLIENT_ENABLE: u32 = 1;
/// `TFO_SERVER_ENABLE` (not modeled: no listener takes Fast Open).
pub const TFO_SERVER_ENABLE: u32 = 2;
/// `TFO_CLIENT_NO_COOKIE`: data in the SYN without any cookie.
pub const TFO_CLIENT_NO_COOKIE: u32 = 4;
/// `TFO_SERVER_COOKIE_NOT_REQD` (server side, not modeled).
pub const TFO_SERVER_COOKIE_NOT_REQD: u32 = 0x200;
/// `TFO_SERVER_WO_SOCKOPT1`: every listener takes Fast Open (server side, not modeled).
pub const TFO_SERVER_WO_SOCKOPT1: u32 = 0x400;

/// `TCP_FASTOPEN_COOKIE_MIN`.
pub const TCP_FASTOPEN_COOKIE_MIN: usize = 4;
/// `TCP_FASTOPEN_COOKIE_MAX`.
pub const TCP_FASTOPEN_COOKIE_MAX: usize = 16;

/// `tcpi_fastopen_client_fail`: `TFO_COOKIE_UNAVAILABLE`, no cookie to send data with.
pub const TFO_COOKIE_UNAVAILABLE: u8 = 1;
/// `TFO_DATA_NOT_ACKED`: the SYN-ACK did not acknowledge the SYN's data.
pub const TFO_DATA_NOT_ACKED: u8 = 2;
/// `TFO_SYN_RETRANSMITTED`: the SYN with data was retransmitted (as a plain SYN).
pub const TFO_SYN_RETRANSMITTED: u8 = 3;

/// `struct tcp_fastopen_cookie`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FastOpenCookie {
    /// The cookie's bytes (the first `len`).
    pub val: [u8; TCP_FASTOPEN_COOKIE_MAX],
    /// -1: no Fast Open option; 0: an empty one (a cookie request); else the cookie's length.
    pub len: i8,
    /// The experimental option (kind 254, magic 0xF989) rather than RFC 7413's (kind 34).
    pub exp: bool,
}

impl FastOpenCookie {
    /// No option.
    pub const NONE: Self = Self {
        val: [0; TCP_FASTOPEN_COOKIE_MAX],
        len: -1,
        exp: false,
    };

    /// A cookie of these bytes (4 to 16 of them, an even number, as Linux takes them).
    pub fn new(bytes: &[u8]) -> Option<Self> {
        let len = bytes.len();
        if !(TCP_FASTOPEN_COOKIE_MIN..=TCP_FASTOPEN_COOKIE_MAX).contains(&len) || len & 1 != 0 {
            return None;
        }
        let mut c = Self {
            len: len as i8,
            ..Self::default()
        };
        c.val[..len].copy_from_slice(bytes);
        Some(c)
    }

    /// The cookie's bytes (none for a request or no option).
    pub fn bytes(&self) -> &[u8] {
        &self.val[..self.len.max(0) as usize]
    }
}

/// `struct tcp_fastopen_request`: a Fast Open connect under way (`tp->fastopen_req`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastOpenRequest {
    /// The cookie the SYN carries (-1 once the SYN is sent: retransmitted SYNs carry none).
    pub cookie: FastOpenCookie,
    /// The length of the write that asked for it (`fo->size`; 0 for `connect()`).
    pub size: usize,
    /// Bytes of it the SYN carries (`fo->copied`).
    pub copied: usize,
    /// Some of the write is left for after the handshake (`fo->data` still set).
    pub data_pending: bool,
}

/// A blocking Fast Open write waiting for the handshake (in `inet_wait_for_connect`): the
/// call is made again once the socket is connected and returns these bytes with the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FastOpenWait {
    /// Bytes of the write the SYN took.
    pub copied: usize,
    /// Some of the write is left (the wait's `writebias`, `sk_write_pending`): the
    /// SYN-ACK's ACK is delayed, for the data to carry it.
    pub write_pending: bool,
}

/// A socket's Fast Open state (the `tcp_sock` and `inet_sock` fields of it). All off for a
/// socket that never asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpFastOpen {
    /// `TCP_FASTOPEN_CONNECT` (`tp->fastopen_connect`).
    pub connect: bool,
    /// `TCP_FASTOPEN_NO_COOKIE` (`tp->fastopen_no_cookie`).
    pub no_cookie: bool,
    /// `connect()` returned without a SYN; the first write sends it (`DEFER_CONNECT`).
    pub defer_connect: bool,
    /// `tp->fastopen_req`.
    pub req: Option<FastOpenRequest>,
    /// The SYN carried a Fast Open option (`syn_fastopen`).
    pub syn_fastopen: bool,
    /// …the experimental one (`syn_fastopen_exp`).
    pub syn_fastopen_exp: bool,
    /// The SYN carried data (`syn_data`).
    pub syn_data: bool,
    /// The SYN-ACK acknowledged it (`syn_data_acked`, `TCPI_OPT_SYN_DATA`).
    pub syn_data_acked: bool,
    /// `tcpi_fastopen_client_fail`: why data did not go with the SYN, or was not taken.
    pub client_fail: u8,
    /// A blocking Fast Open write waits for the handshake.
    pub waiting: Option<FastOpenWait>,
}

/// `tcp_fastopen_cookie_check`: whether the SYN may carry data. `cookie` and `mss` come
/// from the cache; with `TFO_CLIENT_NO_COOKIE` (or `TCP_FASTOPEN_NO_COOKIE`) data goes
/// without a cookie (`cookie.len` -1); without a cached cookie it does not
/// (`TFO_COOKIE_UNAVAILABLE`), and the SYN asks for one.
pub(crate) fn tcp_fastopen_cookie_check(
    metrics: &super::metrics::TcpMetrics,
    tcp_fastopen: u32,
    t: &mut TcpSock,
    mss: &mut u16,
    cookie: &mut FastOpenCookie,
) -> bool {
    let (saddr, daddr) = metrics_key(t);
    metrics.tcp_fastopen_cache_get(saddr, daddr, mss, cookie);
    // tcp_fastopen_active_should_disable: the blackhole pause is off by default
    // (tcp_fastopen_blackhole_timeout_sec = 0) and not modeled.
    if tcp_fastopen & TFO_CLIENT_NO_COOKIE != 0 || t.fo.no_cookie {
        cookie.len = -1;
        return true;
    }
    if cookie.len > 0 {
        return true;
    }
    t.fo.client_fail = TFO_COOKIE_UNAVAILABLE;
    false
}

/// The addresses a connection's metrics are kept under (`tcp_get_metrics`): the IPv6
/// ones of an IPv6 connection, the IPv4 ones of an IPv4 or v4-mapped one.
fn metrics_key(t: &TcpSock) -> (IpAddr, IpAddr) {
    match t.sk.pinet6.as_deref() {
        Some(np) if np.daddr.to_ipv4_mapped().is_none() => {
            (IpAddr::V6(np.saddr), IpAddr::V6(np.daddr))
        }
        _ => (IpAddr::V4(t.sk.saddr), IpAddr::V4(t.sk.daddr)),
    }
}

/// `tcp_fastopen_defer_connect`, from `connect()` on a `TCP_FASTOPEN_CONNECT` socket: with
/// a cookie cached (or none needed) the connect is deferred to the first write (true);
/// otherwise the SYN goes now with a cookie request.
pub(crate) fn tcp_fastopen_defer_connect(n: &mut Node, sock: SockId) -> bool {
    let tcp_fastopen = n.sysctl.tcp_fastopen;
    let Some(t) = n.socks.tcp(sock) else {
        return false;
    };
    if !t.fo.connect || t.fo.req.is_some() {
        return false;
    }
    let mut cookie = FastOpenCookie::default();
    let mut mss = 0;
    if tcp_fastopen_cookie_check(&n.tcp_metrics, tcp_fastopen, t, &mut mss, &mut cookie) {
        t.fo.defer_connect = true;
        return true;
    }
    // The request stays for the socket's life: its SYN carries the cookie request.
    t.fo.req = Some(FastOpenRequest {
        cookie,
        size: 0,
        copied: 0,
        data_pending: false,
    });
    false
}

/// `tcp_syn_options`' Fast Open part: a SYN of a Fast Open connect carries the cookie (or a
/// request) after the other options, if it fits.
pub(crate) fn tcp_syn_options_fastopen(t: &mut TcpSock, opts: &mut TcpOptions) {
    let Some(req) = &t.fo.req else {
        return;
    };
    let cookie = req.cookie;
    if cookie.len < 0 {
        return;
    }
    if opts.push_fast_open(cookie.bytes(), cookie.exp).is_ok() {
        t.fo.syn_fastopen = true;
        t.fo.syn_fastopen_exp = cookie.exp;
    }
}

/// `tcp_parse_fastopen_option`: the cookie of a SYN-ACK's Fast Open option (len -1 without
/// one, or one of an odd or out-of-range length; 0 for an empty one).
pub fn tcp_parse_fastopen_option(opts: &TcpOptions, syn: bool) -> FastOpenCookie {
    let mut foc = FastOpenCookie::NONE;
    if !syn {
        return foc;
    }
    let Some((data, exp)) = opts.fast_open() else {
        return foc;
    };
    let len = data.len();
    if len & 1 != 0 {
        return foc;
    }
    if (TCP_FASTOPEN_COOKIE_MIN..=TCP_FASTOPEN_COOKIE_MAX).contains(&len) {
        foc.val[..len].copy_from_slice(data);
        foc.len = len as i8;
    } else if len == 0 {
        foc.len = 0;
    }
    foc.exp = exp;
    foc
}

/// `tcp_sendmsg_fastopen`: a write with `MSG_FASTOPEN`, or the first write after a deferred
/// connect. The connect happens here (`__inet_stream_connect` with the write's address `to`),
/// its SYN taking what it can of `data`, from a write of `size` bytes (`size` may exceed
/// `data.len()`: the bytes past it cannot be read, as behind a bad pointer). Returns the
/// connect's outcome and how many bytes the SYN took: `EINPROGRESS` while the handshake
/// runs (`nonblock`), `EAGAIN` where a blocking call would wait for it (the wait is
/// recorded, see [`FastOpenWait`]), `Ok` on a socket already connected, whose write goes on
/// as any other.
pub(crate) fn tcp_sendmsg_fastopen(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    (data, size): (&[u8], usize),
    to: Option<SocketAddr>,
    nonblock: bool,
) -> (Result<(), Errno>, usize) {
    if n.sysctl.tcp_fastopen & TFO_CLIENT_ENABLE == 0 {
        return (Err(Errno::OpNotSupp), 0);
    }
    let Some(t) = n.socks.tcp(sock) else {
        return (Err(Errno::NotConn), 0);
    };
    if t.fo.req.is_some() {
        // Another Fast Open is in progress.
        return (Err(Errno::Already), 0);
    }
    t.fo.req = Some(FastOpenRequest {
        cookie: FastOpenCookie::default(),
        size,
        copied: 0,
        data_pending: true,
    });
    let mut r = Ok(());
    if t.fo.defer_connect {
        r = if t
            .sk
            .pinet6
            .as_deref()
            .is_some_and(|np| np.daddr.to_ipv4_mapped().is_none())
        {
            super::ipv6::tcp_v6_connect_deferred(n, cx, sock, data)
        } else {
            super::tcp_connect_deferred(n, cx, sock, data)
        };
    }
    if r.is_ok() {
        r = inet_stream_connect(n, cx, sock, data, to, nonblock);
    }
    let Some(t) = n.socks.tcp(sock) else {
        return (r, 0);
    };
    let req = t.fo.req.take();
    let copied = req.map_or(0, |req| req.copied);
    t.fo.defer_connect = false;
    if r == Err(Errno::Again) {
        t.fo.waiting = Some(FastOpenWait {
            copied,
            write_pending: req.is_some_and(|req| req.data_pending),
        });
    }
    (r, copied)
}

/// `__inet_stream_connect` as a write calls it (`is_sendmsg`): connects an unconnected
/// socket, and says how the handshake stands.
fn inet_stream_connect(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    data: &[u8],
    to: Option<SocketAddr>,
    nonblock: bool,
) -> Result<(), Errno> {
    let Some(t) = n.socks.tcp(sock) else {
        return Err(Errno::NotConn);
    };
    let err = match t.state {
        TcpState::Closed => {
            // tcp_v4_connect / tcp_v6_connect without an address: EINVAL; an address of
            // the other family: EAFNOSUPPORT (a v4-mapped one connects over IPv4).
            let v6 = t.sk.pinet6.is_some();
            match to.ok_or(Errno::Inval)? {
                a @ SocketAddr::V6(_) if v6 => {
                    super::ipv6::tcp_v6_connect_with(n, cx, sock, a, data)?;
                }
                SocketAddr::V4(a) if !v6 => {
                    super::tcp_connect_with(n, cx, sock, *a.ip(), a.port(), data)?;
                }
                _ => return Err(Errno::AfNoSupport),
            }
            Errno::InProgress
        }
        TcpState::Listen => return Err(Errno::IsConn),
        TcpState::SynSent | TcpState::SynRecv if t.fo.defer_connect => Errno::InProgress,
        TcpState::SynSent | TcpState::SynRecv => Errno::Already,
        _ => return Ok(()),
    };
    match n.socks.tcp(sock).map(|t| t.state) {
        // inet_wait_for_connect: a blocking caller would sleep here.
        Some(TcpState::SynSent | TcpState::SynRecv) => {
            Err(if nonblock { err } else { Errno::Again })
        }
        _ => Ok(()),
    }
}

/// The part of `tcp_ack` (`tcp_clean_rtx_queue`) a SYN-ACK does to the data of a Fast Open
/// SYN: the bytes it acknowledges leave the retransmit queue, a partly acknowledged segment
/// losing its head (`tcp_trim_head`). The SYN itself is already gone.
pub(crate) fn tcp_ack_syn_data(t: &mut TcpSock, ack: u32, now: sim_core::SimTime) {
    while let Some(seg) = t.wq.front_mut() {
        if seg.sent_at.is_none() || !after(ack, seg.seq) {
            break;
        }
        let acked;
        if !after(seg.end_seq(), ack) {
            let seg = t.wq_pop_front().expect("front");
            acked = seg.len;
            t.packets_out -= 1;
            t.lost_out -= u32::from(seg.lost);
            t.retrans_out -= u32::from(seg.retrans_out);
            t.sacked_out -= u32::from(seg.sacked);
            t.ever_retrans_in_wq -= u32::from(seg.retrans > 0);
            t.wmem_queued = t.wmem_queued.saturating_sub(TcpSock::wmem_of(&seg));
        } else {
            acked = ack.wrapping_sub(seg.seq);
            seg.seq = ack;
            seg.len -= acked;
            t.wmem_queued = t.wmem_queued.saturating_sub(acked);
        }
        t.stats.bytes_acked += u64::from(acked);
        t.last_acked_at = Some(now);
        let drop = (acked as usize).min(t.sndq.len());
        t.sndq.consume(drop);
        t.sndq_seq = t.sndq_seq.wrapping_add(drop as u32);
    }
}

/// `tcp_rcv_fastopen_synack`, once the SYN-ACK of a Fast Open SYN made the connection
/// established: the cookie and MSS go to the cache (with the SYN-loss bookkeeping, and the
/// experimental option to try next when a request got no cookie); data the SYN-ACK did not
/// acknowledge is marked lost and retransmitted now (true: that retransmission is the
/// handshake's ACK).
pub(crate) fn tcp_rcv_fastopen_synack(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    th: &TcpRepr,
    payload: (&[u8], bool),
) -> bool {
    let now = cx.now;
    let Some(t) = n.socks.tcp(sock) else {
        return false;
    };
    let mut cookie = tcp_parse_fastopen_option(&th.options, true);
    let data = t.fo.syn_data && t.wq.front().is_some_and(|w| w.sent_at.is_some());
    // The MSS the server announced, whatever TCP_MAXSEG says (Linux parses the SYN-ACK
    // again without it when it bounded rx_opt.mss_clamp).
    let mss = th.options.mss().unwrap_or(0);
    let total_retrans = t.stats.retrans;
    let mut syn_drop = false;
    let mut try_exp = 0;
    if !t.fo.syn_fastopen {
        // An unsolicited cookie is ignored.
        cookie.len = -1;
    } else if total_retrans > 0 {
        // The SYN timed out and the SYN-ACK has no cookie and acknowledges no data: the
        // server saw only the retransmitted (plain) SYNs.
        syn_drop = cookie.len < 0 && data;
    } else if cookie.len < 0 && !t.fo.syn_data {
        // A request got no cookie: next time, the other option format.
        try_exp = if t.fo.syn_fastopen_exp { 2 } else { 1 };
    }
    let key = metrics_key(t);
    n.tcp_metrics
        .tcp_fastopen_cache_set(key, mss, &cookie, syn_drop, try_exp, now);
    if data {
        t.fo.client_fail = if total_retrans > 0 {
            TFO_SYN_RETRANSMITTED
        } else {
            TFO_DATA_NOT_ACKED
        };
        // tcp_mark_skb_lost on every segment from the data on.
        let mut lost = 0;
        for w in t.wq.iter_mut().take_while(|w| w.sent_at.is_some()) {
            if !w.sacked && !w.lost {
                w.lost = true;
                lost += 1;
            }
        }
        t.lost_out += lost;
        t.note_rtx_candidate(0);
        // tcp_non_congestion_loss_retransmit.
        if t.recovery.ca_state != super::CaState::Loss {
            t.recovery.high_seq = t.snd_nxt;
            t.ssthresh = super::undo::tcp_current_ssthresh(t);
            // Not a congestion loss: nothing to undo.
            t.recovery.prior_ssthresh = 0;
            t.recovery.undo_marker = None;
            t.recovery.ca_state = super::CaState::Loss;
        }
        n.snmp.tcp_ext.TCPFastOpenActiveFail += 1;
        super::output::tcp_xmit_retransmit_queue(n, cx, sock);
        super::output::tcp_reset_rtx_timer(n, cx, sock);
        return true;
    }
    t.fo.syn_data_acked = t.fo.syn_data;
    if t.fo.syn_data_acked {
        n.snmp.tcp_ext.TCPFastOpenActive += 1;
    }
    tcp_fastopen_add_skb(n, cx, sock, th, payload);
    false
}

/// `tcp_fastopen_add_skb`: data on the SYN-ACK (RFC 7413 4.2.2 lets a server send some) goes
/// to the receive queue, and a FIN on it is taken.
fn tcp_fastopen_add_skb(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    th: &TcpRepr,
    (data, zeros): (&[u8], bool),
) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    let fin = th.flags.contains(crate::wire::TcpFlags::FIN);
    if data.is_empty() && !fin {
        return;
    }
    if !data.is_empty() {
        let truesize = super::rcv_window::tcp_rx_truesize(data.len() as u32);
        super::input::tcp_queue_rcv(t, (data, zeros), truesize);
    }
    t.fo.syn_data_acked = true;
    if fin {
        super::input::tcp_fin(n, cx, sock);
    }
}

/// `tcp_fastopen_active_detect_blackhole`, at a retransmission timeout (`expired`: the
/// connection gives up): the third consecutive timeout of a Fast Open connection, or its
/// giving up before that, counts as a failure (`TcpExtTCPFastOpenActiveFail`). (Pausing
/// Fast Open host-wide, `tcp_fastopen_active_disable`, needs a blackhole timeout, 0 by
/// default, and is not modeled.)
pub(crate) fn tcp_fastopen_active_detect_blackhole(n: &mut Node, sock: SockId, expired: bool) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    let timeouts = t.timers.retransmits;
    if (t.fo.syn_fastopen || t.fo.syn_data || t.fo.syn_data_acked)
        && (timeouts == 2 || (timeouts < 2 && expired))
    {
        n.snmp.tcp_ext.TCPFastOpenActiveFail += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddrV4;

    use sim_core::SimDuration;

    use super::*;
    use crate::config::Sysctls;
    use crate::sock::MsgFlags;
    use crate::sock::syscall::{self, Ioctl, PollEvents, SockOpt, SockType};
    use crate::tcp::info::TCPI_OPT_SYN_DATA;
    use crate::tcp::tests::{PEER_PORT, parse, seg_to, tcp_info};
    use crate::testing::{HOST, OneHost, PEER};
    use crate::wire::{TcpFlags, TcpOption};

    const COOKIE: [u8; 8] = [1, 2, 3, 4, 5, 6, 7, 8];

    fn peer() -> SocketAddrV4 {
        SocketAddrV4::new(PEER, PEER_PORT)
    }

    /// A TCP socket of app 0, non-blocking unless `blocking`.
    fn socket(h: &mut OneHost, blocking: bool) -> u32 {
        h.with(|n, cx| {
            let s = syscall::socket(n, cx, SockType::Stream, 0, Some(0))?;
            syscall::fcntl_set_nonblock(n, s, !blocking)?;
            Ok::<_, Errno>(s)
        })
        .expect("a socket")
    }

    /// The host's cache holds the peer's cookie, as after an earlier connection.
    fn cached(h: &mut OneHost) {
        let cookie = FastOpenCookie::new(&COOKIE).expect("a cookie");
        h.with(|n, cx| {
            n.tcp_metrics
                .tcp_fastopen_cache_set((HOST, PEER), 1460, &cookie, false, 0, cx.now);
        });
    }

    fn sendto(h: &mut OneHost, s: u32, len: usize) -> Result<usize, Errno> {
        let data = vec![7u8; len];
        h.with(|n, cx| syscall::sendto(n, cx, s, &data, Some(peer()), MsgFlags::FASTOPEN))
    }

    /// What the host sent within a millisecond: each packet's TCP header and payload length.
    fn sent(h: &mut OneHost) -> Vec<(TcpRepr, usize)> {
        h.advance(SimDuration::from_millis(1));
        h.take_ip()
            .iter()
            .map(|(_, p)| {
                let (_, t, l) = parse(p);
                (t, l)
            })
            .collect()
    }

    fn sent_one(h: &mut OneHost) -> (TcpRepr, usize) {
        let mut out = sent(h);
        assert_eq!(out.len(), 1, "one packet: {out:?}");
        out.remove(0)
    }

    /// The peer's SYN-ACK to `syn` (ISN 5000, MSS 1460), acknowledging `ack`, with a Fast
    /// Open option carrying `cookie` if given.
    fn synack(h: &mut OneHost, syn: &TcpRepr, ack: u32, cookie: Option<&[u8]>) {
        let mut list = vec![TcpOption::MaxSegmentSize(1460)];
        list.extend(cookie.map(|data| TcpOption::Unknown { kind: 34, data }));
        let flags = TcpFlags::SYN | TcpFlags::ACK;
        h.inject_ip(&seg_to(syn.src_port, 5000, ack, flags, 14_600, &list, &[]));
    }

    fn ext(h: &mut OneHost) -> (u64, u64) {
        h.with(|n, _| {
            let e = &n.snmp.tcp_ext;
            (e.TCPFastOpenActive, e.TCPFastOpenActiveFail)
        })
    }

    #[test]
    fn a_cookie_request_then_a_syn_with_data_all_acknowledged() {
        let mut h = OneHost::new(Sysctls::default());
        let s = socket(&mut h, false);
        assert_eq!(
            sendto(&mut h, s, 100),
            Err(Errno::InProgress),
            "no cookie yet"
        );
        let (syn, len) = sent_one(&mut h);
        assert_eq!((syn.flags, len), (TcpFlags::SYN, 0));
        // MSS, SACK_PERM, TS, NOP WS, then FO NOP NOP: an empty cookie request.
        let o = syn.options.as_bytes();
        assert_eq!(&o[o.len() - 4..], [34, 2, 1, 1]);
        assert_eq!(tcp_info(&mut h, s).tcpi_fastopen_client_fail, 1);
        synack(&mut h, &syn, syn.seq.wrapping_add(1), Some(&COOKIE));
        let (ack, _) = sent_one(&mut h);
        assert_eq!(ack.flags, TcpFlags::ACK);
        let m = h.with(|n, _| *n.tcp_metrics.get(HOST, PEER).expect("cached"));
        assert_eq!((m.cookie.bytes(), m.mss), (&COOKIE[..], 1460));
        assert_eq!(ext(&mut h), (0, 0));

        // Now the SYN carries the cookie and the write.
        let s = socket(&mut h, false);
        assert_eq!(sendto(&mut h, s, 1000), Ok(1000));
        let (syn, len) = sent_one(&mut h);
        assert_eq!((syn.flags, len), (TcpFlags::SYN, 1000));
        assert_eq!(syn.options.fast_open(), Some((&COOKIE[..], false)));
        let o = syn.options.as_bytes();
        assert_eq!(&o[o.len() - 16..o.len() - 13], [1, 3, 3], "after NOP WS");
        assert_eq!(&o[o.len() - 2..], [1, 1]);
        assert_eq!(
            h.with(|n, _| syscall::ioctl(n, s, Ioctl::OutQ)),
            Ok(0),
            "tcp_ioctl counts nothing in SYN_SENT"
        );
        synack(&mut h, &syn, syn.seq.wrapping_add(1001), None);
        let (ack, len) = sent_one(&mut h);
        assert_eq!(
            (ack.flags, ack.seq, len),
            (TcpFlags::ACK, syn.seq.wrapping_add(1001), 0)
        );
        assert_eq!(h.with(|n, _| syscall::ioctl(n, s, Ioctl::OutQ)), Ok(0));
        assert_eq!(ext(&mut h), (1, 0));
        let info = tcp_info(&mut h, s);
        assert_eq!(info.tcpi_options & TCPI_OPT_SYN_DATA, TCPI_OPT_SYN_DATA);
        assert_eq!(info.tcpi_fastopen_client_fail, 0);
    }

    #[test]
    fn data_the_syn_ack_leaves_unacknowledged_is_retransmitted_at_once() {
        let mut h = OneHost::new(Sysctls::default());
        cached(&mut h);
        let s = socket(&mut h, false);
        // The SYN takes the MSS less 40 bytes of a longer write.
        assert_eq!(sendto(&mut h, s, 3000), Ok(1420));
        let (syn, len) = sent_one(&mut h);
        assert_eq!((syn.flags, len), (TcpFlags::SYN, 1420));
        synack(&mut h, &syn, syn.seq.wrapping_add(1 + 400), None);
        let (rtx, len) = sent_one(&mut h);
        assert_eq!(rtx.flags, TcpFlags::ACK | TcpFlags::PSH);
        assert_eq!((rtx.seq, len), (syn.seq.wrapping_add(401), 1020));
        assert_eq!(rtx.ack, 5001);
        assert_eq!(ext(&mut h), (0, 1));
        let info = tcp_info(&mut h, s);
        assert_eq!(info.tcpi_fastopen_client_fail, TFO_DATA_NOT_ACKED);
        assert_eq!(info.tcpi_ca_state, 4, "Loss");
        assert_eq!(info.tcpi_options & TCPI_OPT_SYN_DATA, 0);
        assert_eq!(h.with(|n, _| n.snmp.tcp.RetransSegs), 1);
        assert_eq!(h.with(|n, _| syscall::ioctl(n, s, Ioctl::OutQ)), Ok(1020));
        h.inject_ip(&seg_to(
            syn.src_port,
            5001,
            syn.seq.wrapping_add(1421),
            TcpFlags::ACK,
            1000,
            &[],
            &[],
        ));
        assert_eq!(h.with(|n, _| syscall::ioctl(n, s, Ioctl::OutQ)), Ok(0));
        // Without SACK, Loss holds until something above high_seq is acknowledged
        // (tcp_is_non_sack_preventing_reopen): the ACK of snd_nxt is not enough.
        assert_eq!(tcp_info(&mut h, s).tcpi_ca_state, 4, "Loss held (no SACK)");
    }

    #[test]
    fn a_write_the_syn_cannot_read_sends_a_plain_syn_asking_for_a_cookie() {
        // sendto(fd, NULL, 1, MSG_FASTOPEN, …): with a cookie cached, nothing can be copied
        // for the SYN (copy_page_from_iter copies 0): a plain SYN with a cookie request goes,
        // and the non-blocking call reports the connect under way.
        let mut h = OneHost::new(Sysctls::default());
        cached(&mut h);
        let s = socket(&mut h, false);
        let r = h.with(|n, cx| {
            syscall::sendto_size(n, cx, s, (&[], 1), Some(peer().into()), MsgFlags::FASTOPEN)
        });
        assert_eq!(r, Err(Errno::InProgress));
        let (syn, len) = sent_one(&mut h);
        assert_eq!((syn.flags, len), (TcpFlags::SYN, 0));
        assert_eq!(syn.options.fast_open(), Some((&[][..], false)));
        // A write of nothing at all sends the cookie, without data.
        let s = socket(&mut h, false);
        let r = h.with(|n, cx| {
            syscall::sendto_size(n, cx, s, (&[], 0), Some(peer().into()), MsgFlags::FASTOPEN)
        });
        assert_eq!(r, Err(Errno::InProgress));
        let (syn, len) = sent_one(&mut h);
        assert_eq!(len, 0);
        assert_eq!(syn.options.fast_open(), Some((&COOKIE[..], false)));
    }

    #[test]
    fn tcp_fastopen_connect_defers_the_syn_to_the_first_write() {
        let mut h = OneHost::new(Sysctls::default());
        cached(&mut h);
        let s = socket(&mut h, false);
        let set = |h: &mut OneHost, o| h.with(|n, cx| syscall::setsockopt(n, cx, s, o));
        assert_eq!(set(&mut h, SockOpt::FastOpenConnect(2)), Err(Errno::Inval));
        assert_eq!(set(&mut h, SockOpt::FastOpenConnect(1)), Ok(()));
        assert_eq!(h.with(|n, cx| syscall::connect(n, cx, s, peer())), Ok(()));
        assert!(sent(&mut h).is_empty(), "no SYN yet");
        let ev = h.with(|n, _| syscall::poll(n, s)).expect("polls");
        assert!(
            ev.contains(PollEvents::OUT),
            "writable, for the write that connects"
        );
        assert_eq!(
            h.with(|n, cx| syscall::connect(n, cx, s, peer())),
            Err(Errno::IsConn)
        );
        let w = h.with(|n, cx| syscall::send(n, cx, s, &[1; 300], MsgFlags::NONE));
        assert_eq!(w, Ok(300));
        let (syn, len) = sent_one(&mut h);
        assert_eq!((syn.flags, len), (TcpFlags::SYN, 300));
        assert_eq!(syn.options.fast_open(), Some((&COOKIE[..], false)));
        let w = h.with(|n, cx| syscall::send(n, cx, s, &[1; 300], MsgFlags::NONE));
        assert_eq!(w, Err(Errno::Again), "the handshake is under way");
        assert_eq!(set(&mut h, SockOpt::FastOpenConnect(0)), Err(Errno::Inval));
    }

    #[test]
    fn tcp_fastopen_connect_without_a_cookie_asks_for_one_and_stays_busy() {
        let mut h = OneHost::new(Sysctls::default());
        let s = socket(&mut h, false);
        let o = SockOpt::FastOpenConnect(1);
        assert_eq!(h.with(|n, cx| syscall::setsockopt(n, cx, s, o)), Ok(()));
        let r = h.with(|n, cx| syscall::connect(n, cx, s, peer()));
        assert_eq!(r, Err(Errno::InProgress));
        let (syn, _) = sent_one(&mut h);
        assert_eq!(syn.options.fast_open(), Some((&[][..], false)));
        assert_eq!(sendto(&mut h, s, 10), Err(Errno::Already));
    }

    #[test]
    fn the_cache_keeps_the_servers_mss_whatever_tcp_maxseg_says() {
        let mut h = OneHost::new(Sysctls::default());
        let s = socket(&mut h, false);
        let o = SockOpt::MaxSeg(1000);
        assert_eq!(h.with(|n, cx| syscall::setsockopt(n, cx, s, o)), Ok(()));
        assert_eq!(sendto(&mut h, s, 10), Err(Errno::InProgress));
        let (syn, _) = sent_one(&mut h);
        synack(&mut h, &syn, syn.seq.wrapping_add(1), Some(&COOKIE));
        let m = h.with(|n, _| *n.tcp_metrics.get(HOST, PEER).expect("cached"));
        assert_eq!(m.mss, 1460);
    }

    #[test]
    fn data_on_the_syn_ack_is_taken() {
        let mut h = OneHost::new(Sysctls::default());
        cached(&mut h);
        let s = socket(&mut h, false);
        assert_eq!(sendto(&mut h, s, 10), Ok(10));
        let (syn, _) = sent_one(&mut h);
        let list = [TcpOption::MaxSegmentSize(1460)];
        let flags = TcpFlags::SYN | TcpFlags::ACK;
        let ack = syn.seq.wrapping_add(11);
        h.inject_ip(&seg_to(
            syn.src_port,
            5000,
            ack,
            flags,
            14_600,
            &list,
            &[9; 50],
        ));
        let (a, _) = sent_one(&mut h);
        assert_eq!(
            (a.flags, a.ack),
            (TcpFlags::ACK, 5051),
            "the ACK covers the data"
        );
        let got = h.with(|n, cx| crate::tcp::tcp_recvmsg(n, cx, s, 100));
        assert_eq!(got, Ok(vec![9; 50]));
    }

    #[test]
    fn fast_open_off_is_eopnotsupp() {
        let mut h = OneHost::new(Sysctls {
            tcp_fastopen: 0,
            ..Sysctls::default()
        });
        let s = socket(&mut h, false);
        let o = SockOpt::FastOpenConnect(1);
        assert_eq!(
            h.with(|n, cx| syscall::setsockopt(n, cx, s, o)),
            Err(Errno::OpNotSupp)
        );
        assert_eq!(sendto(&mut h, s, 10), Err(Errno::OpNotSupp));
        assert!(sent(&mut h).is_empty());
    }

    #[test]
    fn a_lost_syn_with_data_is_retried_bare_and_its_data_follows_the_syn_ack() {
        let mut h = OneHost::new(Sysctls::default());
        cached(&mut h);
        let s = socket(&mut h, false);
        assert_eq!(sendto(&mut h, s, 1000), Ok(1000));
        let (syn, _) = sent_one(&mut h);
        h.advance(SimDuration::from_millis(1100));
        let (again, len) = sent_one(&mut h);
        assert_eq!((again.flags, again.seq, len), (TcpFlags::SYN, syn.seq, 0));
        assert_eq!(again.options.fast_open(), None, "no option on a retry");
        synack(&mut h, &syn, syn.seq.wrapping_add(1), None);
        let (rtx, len) = sent_one(&mut h);
        assert_eq!((rtx.seq, len), (syn.seq.wrapping_add(1), 1000));
        let info = tcp_info(&mut h, s);
        assert_eq!(info.tcpi_fastopen_client_fail, TFO_SYN_RETRANSMITTED);
        let m = h.with(|n, _| *n.tcp_metrics.get(HOST, PEER).expect("cached"));
        assert_eq!(
            m.syn_loss, 1,
            "the SYN-ACK neither acknowledged the data nor had a cookie"
        );
        assert_eq!(m.cookie.bytes(), COOKIE, "the cookie stays");
    }

    #[test]
    fn a_blocking_write_waits_for_the_handshake_and_its_data_carries_the_ack() {
        let mut h = OneHost::new(Sysctls::default());
        cached(&mut h);
        let s = socket(&mut h, true);
        // Would block (its caller parks and calls again): the SYN took 1420 bytes.
        assert_eq!(sendto(&mut h, s, 3000), Err(Errno::Again));
        let (syn, len) = sent_one(&mut h);
        assert_eq!(len, 1420);
        assert_eq!(
            sendto(&mut h, s, 3000),
            Err(Errno::Again),
            "still connecting"
        );
        synack(&mut h, &syn, syn.seq.wrapping_add(1421), None);
        assert!(sent(&mut h).is_empty(), "the ACK waits for the data");
        assert_eq!(sendto(&mut h, s, 3000), Ok(3000));
        let out = sent(&mut h);
        assert_eq!(out[0].0.seq, syn.seq.wrapping_add(1421));
        assert_eq!(out.iter().map(|o| o.1).sum::<usize>(), 1580);
        assert!(
            out.iter().all(|o| o.1 > 0 && o.0.ack == 5001),
            "no bare ACK"
        );
        assert_eq!(ext(&mut h), (1, 0));
    }

    #[test]
    fn no_cookie_mode_sends_data_without_the_option() {
        let mut h = OneHost::new(Sysctls {
            tcp_fastopen: TFO_CLIENT_ENABLE | TFO_CLIENT_NO_COOKIE,
            ..Sysctls::default()
        });
        let s = socket(&mut h, false);
        assert_eq!(sendto(&mut h, s, 100), Ok(100));
        let (syn, len) = sent_one(&mut h);
        assert_eq!(len, 100);
        assert_eq!(syn.options.fast_open(), None);
    }

    #[test]
    fn a_syn_ack_cookie_is_read_as_tcp_parse_fastopen_option_reads_it() {
        let mut o = TcpOptions::EMPTY;
        o.push_fast_open(&COOKIE[..6], true).expect("fits");
        let c = tcp_parse_fastopen_option(&o, true);
        assert_eq!((c.bytes(), c.exp), (&COOKIE[..6], true));
        assert_eq!(tcp_parse_fastopen_option(&o, false).len, -1, "SYN only");
        let mut odd = TcpOptions::EMPTY;
        odd.push_fast_open(&COOKIE[..5], false).expect("fits");
        assert_eq!(tcp_parse_fastopen_option(&odd, true).len, -1);
        let mut long = TcpOptions::EMPTY;
        long.push_fast_open(&[9; 18], false).expect("fits");
        assert_eq!(tcp_parse_fastopen_option(&long, true).len, -1);
    }
}
