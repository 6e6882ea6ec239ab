//! TCP, as Linux behaves: the socket calls (`tcp_v4_connect`, `inet_listen`,
//! `inet_accept`, `tcp_sendmsg`, `tcp_recvmsg`, `tcp_close`, `tcp_shutdown`) here; sending in
//! [`output`], receiving in [`input`], timers in [`timer`], congestion control in [`cong`]
//! (BBR in [`bbr`], its delivery-rate samples in [`rate`]);
//! the `AF_INET6` side (`tcp_v6_connect`, `tcp_v6_rcv`, `inet6_csk_xmit`) in [`ipv6`].
//!
//! What is modeled, after the kernel: the handshake with Linux's options and initial windows;
//! the write queue of MSS-sized segments (small writes coalesce into the unsent tail),
//! `tcp_write_xmit` limited by cwnd, the peer's window and Nagle (Minshall's variant), PSH on
//! the last segment of a write; RTT estimation and the RTO (1 s initial, 200 ms minimum,
//! doubling backoff, rounded on the timer wheel); SACK-based loss recovery entered on the
//! third duplicate ACK; quick-ACK mode and delayed ACKs; receive-window growth
//! (`tcp_grow_window`) and receive-buffer auto-tuning (`tcp_rcv_space_adjust`); FIN in every
//! state, TIME_WAIT, RST; Fast Open's client side ([`fastopen`]). Not modeled: TSO/GSO (the
//! device is non-TSO, as veth with offloads off), TCP small queues, RACK/TLP, F-RTO,
//! ECN, keepalive, urgent data, SYN cookies, Fast Open's server side.

pub mod ack;
pub mod bbr;
pub mod byteq;
pub mod chrono;
pub mod cong;
pub mod dctcp;
pub mod dsack;
pub mod ecn;
pub mod fastopen;
pub mod info;
pub mod input;
pub mod ipv6;
pub mod metrics;
pub mod minmax;
pub mod output;
pub mod rate;
pub mod rcv_window;
pub mod recovery;
pub mod rtt;
#[cfg(test)]
mod tests;
pub mod timer;
pub mod tstamp;
pub mod undo;
pub mod urg;

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;

use serde::Serialize;
use sim_core::{SimTime, TimerId};

use crate::ctx::NetCtx;
use crate::ip::output::ip_route_output_flow;
use crate::node::Node;
use crate::sock::{Errno, MsgFlags, SockCommon, SockId, Socket};
use crate::sock::{inet_autobind_port, inet_hash_connect_port, sk_wake, sock_result};
use crate::tcp::output::{
    tcp_push_pending_frames, tcp_send_ack, tcp_send_active_reset, tcp_send_syn,
};
use cong::Cong;

/// TCP states (`enum tcp_state`), named as `ss` prints them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum TcpState {
    /// Not connected.
    Closed,
    /// Waiting for connections.
    Listen,
    /// SYN sent, waiting for SYN-ACK.
    SynSent,
    /// SYN received, SYN-ACK sent.
    SynRecv,
    /// Data flows.
    Established,
    /// We closed; our FIN is unacknowledged.
    FinWait1,
    /// Our FIN is acknowledged; waiting for the peer's.
    FinWait2,
    /// The peer closed; we have not.
    CloseWait,
    /// Both closed at once; waiting for the ACK of our FIN.
    Closing,
    /// The peer closed, then we did; waiting for the ACK of our FIN.
    LastAck,
    /// Both closed; lingering for 2 MSL.
    TimeWait,
}

impl TcpState {
    /// The name `ss` prints.
    pub fn name(self) -> &'static str {
        match self {
            Self::Closed => "CLOSE",
            Self::Listen => "LISTEN",
            Self::SynSent => "SYN-SENT",
            Self::SynRecv => "SYN-RECV",
            Self::Established => "ESTAB",
            Self::FinWait1 => "FIN-WAIT-1",
            Self::FinWait2 => "FIN-WAIT-2",
            Self::CloseWait => "CLOSE-WAIT",
            Self::Closing => "CLOSING",
            Self::LastAck => "LAST-ACK",
            Self::TimeWait => "TIME-WAIT",
        }
    }
}

/// Loss-recovery state (`icsk_ca_state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CaState {
    /// Nothing wrong.
    Open,
    /// Duplicate ACKs or SACKs seen.
    Disorder,
    /// Reducing cwnd after a congestion signal that was not a loss: here, the local qdisc
    /// refused a packet (`tcp_enter_cwr`).
    Cwr,
    /// Fast recovery after a loss.
    Recovery,
    /// After a retransmission timeout.
    Loss,
}

/// A segment in the write queue (an skb of the write or retransmit queue, without its bytes,
/// which stay in the socket's send buffer).
#[derive(Debug, Clone)]
pub struct TxSeg {
    /// First sequence number.
    pub seq: u32,
    /// Data bytes (SYN and FIN are flags).
    pub len: u32,
    /// SYN.
    pub syn: bool,
    /// FIN.
    pub fin: bool,
    /// PSH.
    pub psh: bool,
    /// When it was last sent (None = not yet).
    pub sent_at: Option<SimTime>,
    /// Times retransmitted.
    pub retrans: u32,
    /// SACKed by the peer.
    pub sacked: bool,
    /// Marked lost (to be retransmitted).
    pub lost: bool,
    /// A retransmission of it is in flight (`TCPCB_SACKED_RETRANS`).
    pub retrans_out: bool,
    /// `MSG_EOR` ended a write here: later writes never join this segment (`tcb->eor`).
    pub eor: bool,
    /// It heads an skb: of the write queue while unsent (the skb `tcp_sendmsg` began, or
    /// what `tso_fragment` left after a packet), of the retransmit queue once sent (it began
    /// a packet). The segments up to the next head are that skb; a retransmission sends a
    /// sent one whole.
    pub pkt_head: bool,
    /// `skb_shinfo(skb)->tx_flags`: transmit timestamps its byte `tskey` asks for
    /// ([`tstamp`]).
    pub tx_flags: u8,
    /// `txstamp_ack`: a stamp when the peer acknowledges byte `tskey`.
    pub txstamp_ack: bool,
    /// `skb_shinfo(skb)->tskey`: the byte the timestamps are for.
    pub tskey: u32,
    /// `tx.delivered`: the connection's delivered count when it was last sent (the rate
    /// sample's `prior_delivered`, which RACK's reordering window reads).
    pub tx_delivered: u64,
    /// The rest of what `tcp_rate_skb_sent` snapshots (`tx.first_tx_mstamp`,
    /// `tx.delivered_mstamp`, `tx.is_app_limited`).
    pub tx_rate: rate::TxRate,
}

impl TxSeg {
    /// A segment not yet sent: `len` data bytes from `seq`, with SYN and FIN as given.
    pub fn new(seq: u32, len: u32, syn: bool, fin: bool) -> Self {
        Self {
            seq,
            len,
            syn,
            fin,
            psh: false,
            sent_at: None,
            retrans: 0,
            sacked: false,
            lost: false,
            retrans_out: false,
            eor: false,
            pkt_head: false,
            tx_flags: 0,
            txstamp_ack: false,
            tskey: 0,
            tx_delivered: 0,
            tx_rate: rate::TxRate::default(),
        }
    }

    /// The sequence number after it.
    pub fn end_seq(&self) -> u32 {
        self.seq
            .wrapping_add(self.len)
            .wrapping_add(u32::from(self.syn) + u32::from(self.fin))
    }
}

/// Per-connection statistics, for `stats.json` (like `ss -ti`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct TcpConnStats {
    /// Data bytes sent, first transmissions and retransmissions.
    pub bytes_sent: u64,
    /// Data bytes retransmitted.
    pub bytes_retrans: u64,
    /// Data bytes acknowledged by the peer.
    pub bytes_acked: u64,
    /// Data bytes received in order.
    pub bytes_received: u64,
    /// Segments sent.
    pub segs_out: u64,
    /// Segments received.
    pub segs_in: u64,
    /// Retransmitted segments.
    pub retrans: u64,
    /// Retransmission timeouts.
    pub rto_events: u64,
    /// Fast-recovery episodes.
    pub fast_recoveries: u64,
    /// Delayed ACKs sent by the timer (`TcpExtDelayedACKs`).
    pub delayed_acks: u64,
    /// Tail loss probes sent (`TcpExtTCPLossProbes`).
    pub loss_probes: u64,
    /// Segments sent with data (`tcpi_data_segs_out`).
    #[serde(skip)]
    pub data_segs_out: u64,
    /// Segments received with data (`tcpi_data_segs_in`).
    #[serde(skip)]
    pub data_segs_in: u64,
    /// Segments the peer acknowledged or SACKed (`tp->delivered`).
    #[serde(skip)]
    pub delivered: u64,
    /// Segments queued out of order (`tcpi_rcv_ooopack`).
    #[serde(skip)]
    pub rcv_ooopack: u64,
    /// Of `delivered`, those an ACK with ECE delivered (`tp->delivered_ce`).
    #[serde(skip)]
    pub delivered_ce: u64,
}

/// A TCP socket (`struct tcp_sock` and what it inherits).
#[derive(Debug)]
pub struct TcpSock {
    /// Addresses, buffers, errors, owner.
    pub sk: SockCommon,
    /// Connection state.
    pub state: TcpState,
    /// The listener this connection came from (until accepted).
    pub parent: Option<SockId>,
    /// Accepted-but-not-yet-taken children (listeners only).
    pub accept_queue: VecDeque<SockId>,
    /// `sk_max_ack_backlog`.
    pub backlog: u32,

    // Send side.
    /// Initial send sequence number.
    pub iss: u32,
    /// Oldest unacknowledged sequence number.
    pub snd_una: u32,
    /// Next sequence number to send.
    pub snd_nxt: u32,
    /// Sequence number after the last byte written (`write_seq`).
    pub write_seq: u32,
    /// The peer's window, already scaled.
    pub snd_wnd: u32,
    /// The largest window the peer offered (`max_window`).
    pub max_window: u32,
    /// Sequence number of the segment that last updated the window (`snd_wl1`).
    pub snd_wl1: u32,
    /// End of the last small segment sent (Minshall's Nagle).
    pub snd_sml: u32,
    /// Where the last PSH was marked (`pushed_seq`).
    pub pushed_seq: u32,
    /// Where the write queue's tail skb starts (`tcp_write_queue_tail`'s `seq`): writes
    /// fill it up to the size goal before a new one is begun (`tcp_sendmsg_locked`).
    pub tail_skb_seq: u32,
    /// The write and retransmit queue.
    pub wq: VecDeque<TxSeg>,
    /// Data bytes from `sndq_seq` on (acknowledged bytes are dropped from the front).
    pub sndq: byteq::ByteQueue,
    /// Sequence number of `sndq[0]`.
    pub sndq_seq: u32,
    /// `sk_wmem_queued`: the queued bytes, and one truesize overhead per skb (per segment
    /// that heads one, see [`TcpSock::set_skb_head`]).
    pub wmem_queued: u32,
    /// `tp->nonagle`: [`TCP_NAGLE_OFF`] (`TCP_NODELAY`), [`TCP_NAGLE_CORK`] (`TCP_CORK`),
    /// [`TCP_NAGLE_PUSH`] (push what is queued at the next chance).
    pub nonagle: u8,
    /// `TCP_MAXSEG` (`rx_opt.user_mss`): a cap on the MSS, 0 when unset.
    pub user_mss: u32,
    /// `TCP_NOTSENT_LOWAT`: the socket is writable only while fewer bytes than this wait
    /// unsent (`net.ipv4.tcp_notsent_lowat` by default).
    pub notsent_lowat: u32,
    /// `TCP_USER_TIMEOUT` in ms (`icsk_user_timeout`), 0 when unset.
    pub user_timeout_ms: u32,
    /// `rcv_tstamp`: when the last ACK arrived (`tcpi_last_ack_recv`).
    pub rcv_tstamp: SimTime,
    /// Shut down for writing (FIN queued).
    pub fin_queued: bool,

    // Receive side.
    /// Initial receive sequence number.
    pub irs: u32,
    /// Next sequence number expected.
    pub rcv_nxt: u32,
    /// Bytes received in order, not yet read.
    pub rcvq: byteq::ByteQueue,
    /// The skbs behind `rcvq`: (end sequence, truesize), freed when the app has read past
    /// their end.
    pub rcvq_skbs: VecDeque<(u32, u32)>,
    /// Out-of-order data by sequence number (relative to `irs`, 64-bit), with each skb's
    /// truesize.
    pub ofo: BTreeMap<u64, (byteq::ByteQueue, u32)>,
    /// `sk_rmem_alloc`: truesize of every skb held in the receive and out-of-order queues.
    pub rmem_alloc: u32,
    /// The peer's FIN arrived (in order).
    pub fin_received: bool,
    /// `copied_seq`: next sequence number the app reads.
    pub copied_seq: u32,
    /// SACK blocks to send (most recent first), as sequence ranges.
    pub sack_blocks: Vec<(u32, u32)>,
    /// The D-SACK block the next segment reports first (`rx_opt.dsack` with
    /// `duplicate_sack[0]`), see [`dsack`].
    pub dsack: Option<(u32, u32)>,

    // Options.
    /// Our MSS for the peer's data (`advmss`).
    pub advmss: u32,
    /// MSS the peer announced, capped by ours (`rx_opt.mss_clamp`).
    pub mss_clamp: u32,
    /// Current send MSS (payload per segment, after options): `mss_cache`.
    pub mss_cache: u32,
    /// Timestamps negotiated.
    pub ts_ok: bool,
    /// SACK negotiated.
    pub sack_ok: bool,
    /// Window scaling negotiated.
    pub wscale_ok: bool,
    /// Our window scale.
    pub rcv_wscale: u8,
    /// The peer's window scale.
    pub snd_wscale: u8,
    /// `ts_recent`: the peer's last TSval to echo.
    pub ts_recent: u32,
    /// `last_oow_ack_time`: the jiffy of the last challenge ACK (0: none yet), which
    /// `tcp_invalid_ratelimit` (500 ms) spaces.
    pub last_oow_ack_time: u32,
    /// Our timestamp offset (`tsoffset`).
    pub ts_off: u32,

    // Congestion control and recovery.
    /// `snd_cwnd`, packets.
    pub cwnd: u32,
    /// `snd_ssthresh`.
    pub ssthresh: u32,
    /// When data was last acknowledged.
    pub last_acked_at: Option<SimTime>,
    /// `snd_cwnd_cnt`.
    pub cwnd_cnt: u32,
    /// The algorithm.
    pub cong: Cong,
    /// `packets_out`: segments sent and not acknowledged.
    pub packets_out: u32,
    /// `sacked_out`.
    pub sacked_out: u32,
    /// `lost_out`.
    pub lost_out: u32,
    /// `retrans_out`.
    pub retrans_out: u32,
    /// Segments in `wq` retransmitted at least once (`TCPCB_EVER_RETRANS`), kept as they
    /// are retransmitted and acknowledged, so that `tcp_any_retrans_done` need not walk the
    /// queue on every ACK.
    pub ever_retrans_in_wq: u32,
    /// The most packets in flight in the current round (`max_packets_out`).
    pub max_packets_out: u32,
    /// The reordering degree (`tp->reordering`): duplicate ACKs or SACKed segments that
    /// mean a loss; starts at `tcp_reordering` (3) and grows with reordering seen.
    pub reordering: u32,
    /// Reorderings seen (`reord_seen`, `tcpi_reord_seen`).
    pub reord_seen: u32,
    /// Segments the peer reported received twice by D-SACK (`dsack_dups`,
    /// `tcpi_dsack_dups`).
    pub dsack_dups: u32,
    /// The end of the highest SACKed segment (where `tp->highest_sack` points).
    pub highest_sack_end: Option<u32>,
    /// Whether a send in the current round was limited by cwnd (`is_cwnd_limited`).
    pub is_cwnd_limited: bool,
    /// The round of `max_packets_out` and `is_cwnd_limited` ends when `snd_una` passes this
    /// (`cwnd_usage_seq`).
    pub cwnd_usage_seq: u32,
    /// When the connection last sent data (slow start after idle).
    pub lsndtime: SimTime,
    /// `tcp_wstamp_ns`: when the connection last handed a segment to IP (data or not);
    /// `tcp_tso_should_defer` holds a GSO packet back only within 1 ms of it.
    pub tcp_wstamp: SimTime,
    /// `sk_pacing_rate`, bytes/s, as `tcp_update_pacing_rate` (or BBR) left it (`~0` until
    /// then): what `tcp_tso_autosize` sizes GSO packets from, and what TCP paces at when
    /// `pacing_status` asks it to.
    pub pacing_rate: u64,
    /// `sk_pacing_status`.
    pub pacing_status: PacingStatus,
    /// Delivery-rate sampling (tcp_rate.c's fields of `tcp_sock`).
    pub rate: rate::TcpRate,
    /// The busy / rwnd-limited / sndbuf-limited chronographs.
    pub chrono: chrono::Chrono,

    // RTT and timers.

    // ACK state (`icsk_ack`).
    /// RttEstimator.
    pub rtt: rtt::RttEstimator,
    /// RcvWindow.
    pub rwin: rcv_window::RcvWindow,
    /// AckState.
    pub ack: ack::AckState,
    /// Recovery.
    pub recovery: recovery::Recovery,
    /// TcpTimers.
    pub timers: timer::TcpTimers,
    /// Statistics.
    pub stats: TcpConnStats,
    /// The connection was reported to the app as established.
    pub connected_reported: bool,
    /// Closed by the app (`close()`): an orphan the stack finishes alone.
    pub orphan: bool,
    /// `tcp_ack`'s list of (send time, end_seq, retransmitted) of the segments an ACK
    /// delivers, kept between ACKs so that none allocates.
    pub(crate) delivered_scratch: Vec<(Option<SimTime>, u32, bool)>,
    /// `TCP_INQ` (`tp->recvmsg_inq`): `recvmsg` reports the bytes left to read
    /// ([`crate::sock::syscall::tcp_inq`]).
    pub recvmsg_inq: bool,
    /// ECN (`ecn_flags`).
    pub ecn: ecn::Ecn,
    /// Urgent data (`urg_data`): `urg::TCP_URG_*`, with the byte in the low 8 bits.
    pub urg_data: u16,
    /// Where the urgent byte is (`urg_seq`).
    pub urg_seq: u32,
    /// Fast Open (client side).
    pub fo: fastopen::TcpFastOpen,
}

/// Sequence comparisons, as `before()` / `after()`.
#[inline]
pub fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}
/// `after(a, b)`.
#[inline]
pub fn after(a: u32, b: u32) -> bool {
    before(b, a)
}

/// `TCP_NAGLE_OFF`: Nagle off (`TCP_NODELAY`).
pub const TCP_NAGLE_OFF: u8 = 1;
/// `TCP_NAGLE_CORK`: hold partial segments back (`TCP_CORK`, `MSG_MORE`).
pub const TCP_NAGLE_CORK: u8 = 2;
/// `TCP_NAGLE_PUSH`: send what is queued at the next chance, once.
pub const TCP_NAGLE_PUSH: u8 = 4;

/// `TCP_INIT_CWND`.
pub const TCP_INIT_CWND: u32 = 10;
/// `TCP_INFINITE_SSTHRESH`.
pub const TCP_INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

/// `sk_pacing_status`: who paces the socket's packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PacingStatus {
    /// `SK_PACING_NONE`: nobody (Reno, CUBIC).
    #[default]
    None,
    /// `SK_PACING_NEEDED`: the congestion control wants pacing and no fq qdisc does it:
    /// TCP paces itself (`tcp_needs_internal_pacing`), each packet's departure time
    /// `tcp_wstamp_ns` advanced by its length at `sk_pacing_rate`, the pacing hrtimer
    /// waking the sender.
    Needed,
    /// `SK_PACING_FQ`: an fq qdisc paces by each skb's `tstamp` (set here to
    /// `tcp_wstamp_ns`, the earliest departure time); TCP does not hold packets back.
    Fq,
}
/// `TCP_TIMEOUT_INIT`: 1 s.
pub const TCP_TIMEOUT_INIT: sim_core::SimDuration = sim_core::SimDuration::from_secs(1);
/// `TCP_RTO_MIN`: 200 ms.
pub const TCP_RTO_MIN_US: u32 = 200_000;
/// `TCP_RTO_MAX`: 120 s.
pub const TCP_RTO_MAX: sim_core::SimDuration = sim_core::SimDuration::from_secs(120);
/// `TCP_TIMEWAIT_LEN`: 60 s.
pub const TCP_TIMEWAIT_LEN: sim_core::SimDuration = sim_core::SimDuration::from_secs(60);
/// `TCP_ATO_MIN` = HZ/25 = 40 ms (also `TCP_DELACK_MIN`).
pub const TCP_ATO_MIN: sim_core::SimDuration = sim_core::SimDuration::from_millis(40);
/// `TCP_DELACK_MAX` = HZ/5 = 200 ms.
pub const TCP_DELACK_MAX: sim_core::SimDuration = sim_core::SimDuration::from_millis(200);
/// `TCP_MAX_QUICKACKS`.
pub const TCP_MAX_QUICKACKS: u32 = 16;
/// `TCP_DEFAULT_SCALING_RATIO`: half of the receive buffer is window until a full segment
/// teaches the real payload/truesize ratio.
pub const TCP_DEFAULT_SCALING_RATIO: u32 = 128;

impl TcpSock {
    pub(crate) fn new(sk: SockCommon, cong: Cong, timers: [TimerId; 4]) -> Self {
        Self {
            sk,
            state: TcpState::Closed,
            parent: None,
            accept_queue: VecDeque::new(),
            backlog: 0,
            iss: 0,
            snd_una: 0,
            snd_nxt: 0,
            write_seq: 0,
            snd_wnd: 0,
            max_window: 0,
            snd_wl1: 0,
            snd_sml: 0,
            pushed_seq: 0,
            tail_skb_seq: 0,
            wq: VecDeque::new(),
            sndq: byteq::ByteQueue::new(),
            sndq_seq: 0,
            wmem_queued: 0,
            nonagle: 0,
            user_mss: 0,
            notsent_lowat: u32::MAX,
            user_timeout_ms: 0,
            rcv_tstamp: SimTime::ZERO,
            fin_queued: false,
            irs: 0,
            rcv_nxt: 0,
            rcvq: byteq::ByteQueue::new(),
            rcvq_skbs: VecDeque::new(),
            ofo: BTreeMap::new(),
            rmem_alloc: 0,
            fin_received: false,
            copied_seq: 0,
            sack_blocks: Vec::new(),
            dsack: None,
            advmss: 1460,
            mss_clamp: 536,
            mss_cache: 536,
            ts_ok: false,
            sack_ok: false,
            wscale_ok: false,
            rcv_wscale: 0,
            snd_wscale: 0,
            ts_recent: 0,
            last_oow_ack_time: 0,
            ts_off: 0,
            cwnd: TCP_INIT_CWND,
            ssthresh: u32::MAX >> 1,
            last_acked_at: None,
            cwnd_cnt: 0,
            cong,
            packets_out: 0,
            sacked_out: 0,
            lost_out: 0,
            retrans_out: 0,
            ever_retrans_in_wq: 0,
            max_packets_out: 0,
            is_cwnd_limited: false,
            cwnd_usage_seq: 0,
            reordering: 3,
            reord_seen: 0,
            dsack_dups: 0,
            highest_sack_end: None,
            lsndtime: SimTime::ZERO,
            tcp_wstamp: SimTime::ZERO,
            pacing_rate: u64::MAX,
            pacing_status: PacingStatus::None,
            rate: rate::TcpRate::default(),
            chrono: chrono::Chrono::default(),
            rtt: rtt::RttEstimator::new(),
            rwin: rcv_window::RcvWindow::new(),
            ack: ack::AckState::new(),
            recovery: recovery::Recovery::new(),
            timers: timer::TcpTimers::new(timers),
            stats: TcpConnStats::default(),
            connected_reported: false,
            orphan: false,
            delivered_scratch: Vec::new(),
            recvmsg_inq: false,
            ecn: ecn::Ecn::default(),
            urg_data: 0,
            urg_seq: 0,
            fo: fastopen::TcpFastOpen::default(),
        }
    }

    /// `tcp_highest_sack_seq`: `snd_una` with nothing SACKed, else the end of the highest
    /// SACKed segment.
    pub fn highest_sack_seq(&self) -> u32 {
        if self.sacked_out == 0 {
            self.snd_una
        } else {
            self.highest_sack_end.unwrap_or(self.snd_nxt)
        }
    }

    /// `tcp_packets_in_flight`.
    pub fn in_flight(&self) -> u32 {
        (self.packets_out + self.retrans_out).saturating_sub(self.sacked_out + self.lost_out)
    }

    /// Marks (`head`) or unmarks the segment at `i` as the start of an skb, charging or
    /// freeing that skb's truesize overhead in `sk_wmem_queued`: an skb carries one, whatever
    /// its segment count. (The SYN is not charged.)
    pub(crate) fn set_skb_head(&mut self, i: usize, head: bool) {
        let w = &mut self.wq[i];
        if w.pkt_head == head {
            return;
        }
        w.pkt_head = head;
        if w.syn {
            return;
        }
        let o = output::SKB_TCP_OVERHEAD;
        self.wmem_queued = if head {
            self.wmem_queued + o
        } else {
            self.wmem_queued.saturating_sub(o)
        };
    }

    /// What freeing `seg` (acknowledged, or merged into the one before) gives back of
    /// `sk_wmem_queued`: its bytes, and the skb's overhead if it headed one.
    pub(crate) fn wmem_of(seg: &TxSeg) -> u32 {
        seg.len
            + if seg.pkt_head && !seg.syn {
                output::SKB_TCP_OVERHEAD
            } else {
                0
            }
    }

    /// Removes the head of the write queue (acknowledged), keeping the walk hints on the
    /// segments they pointed at.
    pub(crate) fn wq_pop_front(&mut self) -> Option<TxSeg> {
        let seg = self.wq.pop_front()?;
        self.recovery.rack_hint = self.recovery.rack_hint.saturating_sub(1);
        self.recovery.rtx_hint = self.recovery.rtx_hint.saturating_sub(1);
        Some(seg)
    }

    /// Notes that the segment at `idx` became a candidate for retransmission (marked lost,
    /// or its retransmission forgotten): the search for one must not start after it.
    pub(crate) fn note_rtx_candidate(&mut self, idx: usize) {
        self.recovery.rtx_hint = self.recovery.rtx_hint.min(idx);
    }

    /// `tcp_write_queue_empty`: nothing queued that was not sent.
    pub fn write_queue_empty(&self) -> bool {
        self.sent_segs() == self.wq.len()
    }

    /// `tcp_add_write_queue_tail`'s `tcp_chrono_start(sk, TCP_CHRONO_BUSY)`: an skb was
    /// queued on an empty write queue.
    pub(crate) fn chrono_busy_if_queued(&mut self, was_empty: bool, now_j: u32) {
        if was_empty && !self.write_queue_empty() {
            self.chrono.start(chrono::ChronoKind::Busy, now_j);
        }
    }

    /// `tcp_chrono_stop` (`tcp_rtx_and_write_queues_empty` decides between stopping and
    /// going back to busy).
    pub(crate) fn chrono_stop(&mut self, kind: chrono::ChronoKind, now_j: u32) {
        let empty = self.wq.is_empty();
        self.chrono.stop(kind, now_j, empty);
    }

    /// Segments in the retransmit queue (sent, not acknowledged).
    pub fn sent_segs(&self) -> usize {
        // Segments go out in sequence order, so the sent ones are the first `packets_out`
        // of the queue; checked, with a scan as the fallback.
        let i = self.packets_out as usize;
        let fits = i <= self.wq.len()
            && (i == 0 || self.wq[i - 1].sent_at.is_some())
            && self.wq.get(i).is_none_or(|w| w.sent_at.is_none());
        if fits {
            i
        } else {
            self.wq.iter().take_while(|s| s.sent_at.is_some()).count()
        }
    }

    /// Bytes the app may still read.
    pub fn readable(&self) -> usize {
        self.rcvq.len()
    }

    /// Whether the app may write (`sk_stream_memory_free`).
    pub fn writable(&self) -> bool {
        self.wmem_queued < self.sk.sndbuf
    }
}

/// A snapshot of a connection for `stats.json`.
#[derive(Debug, Clone, Serialize)]
pub struct TcpConnReport {
    /// `local:port`.
    pub local: String,
    /// `remote:port`.
    pub remote: String,
    /// State at the end of the run.
    pub state: &'static str,
    /// Congestion control.
    pub cong: &'static str,
    /// `snd_cwnd` in packets.
    pub cwnd: u32,
    /// `snd_ssthresh` (absent while still in initial slow start).
    pub ssthresh: Option<u32>,
    /// Smoothed RTT in µs.
    pub srtt_us: u32,
    /// RTO in ms.
    pub rto_ms: u64,
    /// Send MSS.
    pub mss: u32,
    /// Counters.
    #[serde(flatten)]
    pub stats: TcpConnStats,
    /// BBR's model, as `ss -ti` shows it (`bbr:(bw:…,mrtt:…,pacing_gain:…,cwnd_gain:…)`),
    /// for a BBR connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bbr: Option<bbr::BbrReport>,
    /// DCTCP's state, as `ss -ti` shows it (`dctcp:(ce_state:…,alpha:…,ab_ecn:…,ab_tot:…)`,
    /// `dctcp_get_info`), for a DCTCP connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dctcp: Option<dctcp::DctcpReport>,
    /// When data was last acknowledged (for the apps' goodput; not in stats.json).
    #[serde(skip)]
    pub last_acked_at: Option<SimTime>,
}

impl TcpSock {
    /// The local and the remote address of the connection's traffic: IPv6 for an IPv6 flow,
    /// else IPv4 (an `AF_INET6` socket talking to an IPv4 peer included).
    pub fn addrs(&self) -> (std::net::SocketAddr, std::net::SocketAddr) {
        match self.sk.pinet6.as_deref() {
            Some(np) if np.is_v6_flow() => (
                (np.saddr, self.sk.sport).into(),
                (np.daddr, self.sk.dport).into(),
            ),
            _ => (
                (self.sk.saddr, self.sk.sport).into(),
                (self.sk.daddr, self.sk.dport).into(),
            ),
        }
    }

    /// `local:port` and `remote:port` as ss prints them (IPv6 in brackets).
    pub fn endpoints(&self) -> (String, String) {
        let (local, remote) = self.addrs();
        (local.to_string(), remote.to_string())
    }

    /// The connection's report.
    pub fn report(&self) -> TcpConnReport {
        let (local, remote) = self.endpoints();
        TcpConnReport {
            local,
            remote,
            state: self.state.name(),
            cong: self.cong.name(),
            cwnd: self.cwnd,
            ssthresh: (self.ssthresh < u32::MAX >> 1).then_some(self.ssthresh),
            srtt_us: self.rtt.srtt_us >> 3,
            rto_ms: self.rtt.rto.as_nanos() / 1_000_000,
            mss: self.mss_cache,
            stats: self.stats.clone(),
            bbr: self.cong.bbr().map(|b| b.report(self)),
            dctcp: self.cong.dctcp().map(|d| dctcp::DctcpReport {
                ce_state: u8::from(d.ce_state),
                alpha: d.alpha,
                ab_ecn: u64::from(self.mss_cache)
                    * self.stats.delivered_ce.wrapping_sub(d.old_delivered_ce),
                ab_tot: u64::from(self.mss_cache)
                    * self.stats.delivered.wrapping_sub(d.old_delivered),
            }),
            last_acked_at: self.last_acked_at,
        }
    }
}

/// A TCP socket over `sk` with congestion control `cong` and its own timers
/// (`tcp_init_sock`). For new sockets and for a listener's children alike.
pub(crate) fn tcp_init_sock(sk: SockCommon, cong: Cong, cx: &mut NetCtx<'_>) -> TcpSock {
    let timers = [
        cx.sched.new_timer(),
        cx.sched.new_timer(),
        cx.sched.new_timer(),
        cx.sched.new_timer(),
    ];
    TcpSock::new(sk, cong, timers)
}

/// `socket(AF_INET, SOCK_STREAM)`, owned by `app`.
pub fn tcp_socket(n: &mut Node, cx: &mut NetCtx<'_>, app: Option<u32>) -> SockId {
    let mut sk = SockCommon::new(n.sysctl.tcp_wmem[1], n.sysctl.tcp_rmem[1]);
    sk.app = app;
    let cong = Cong::of_sysctl(n.sysctl.tcp_congestion_control);
    let mut t = tcp_init_sock(sk, cong, cx);
    // tcp_assign_congestion_control: INET_ECN_xmit for an algorithm that needs ECN.
    cong::inet_ecn_xmit(&mut t);
    t.notsent_lowat = n.sysctl.tcp_notsent_lowat;
    n.socks.insert(Socket::Tcp(Box::new(t)))
}

/// `tcp_abort` as `close()` with `SO_LINGER` {on, 0} does it (`tcp_disconnect`): a RST to
/// the peer unless the connection is not synchronized, and the socket is gone.
pub fn tcp_abort(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    t.orphan = true;
    t.sk.app = None;
    match t.state {
        TcpState::Listen | TcpState::Closed => tcp_close(n, cx, sock),
        TcpState::SynSent => tcp_done(n, cx, sock),
        state => {
            if matches!(state, TcpState::Established | TcpState::CloseWait) {
                n.snmp.tcp.EstabResets += 1;
            }
            tcp_send_active_reset(n, cx, sock);
            tcp_done(n, cx, sock);
        }
    }
}

/// `bind()` (`inet_bind` → `inet_csk_get_port`): the local address (0.0.0.0 or one of the
/// node's) and port (0 = an ephemeral one) of a socket not yet bound. A port a listener
/// holds is refused (`EADDRINUSE`); one that connections use is refused unless the socket
/// set `SO_REUSEADDR` (the model does not keep the other sockets' own `SO_REUSEADDR`).
pub fn tcp_bind(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    addr: Ipv4Addr,
    port: u16,
) -> Result<u16, Errno> {
    let r = tcp_bind_inner(n, sock, addr, port);
    sock_result(n, cx, sock, "bind", None, r)
}

/// The call itself; the public function traces its error.
fn tcp_bind_inner(n: &mut Node, sock: SockId, addr: Ipv4Addr, port: u16) -> Result<u16, Errno> {
    let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
    if !addr.is_unspecified() && !t.sk.freebind && !n.fib.is_local(addr) {
        return Err(Errno::AddrNotAvail);
    }
    let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
    if t.state != TcpState::Closed || t.sk.sport != 0 {
        return Err(Errno::Inval);
    }
    let reuse = t.sk.reuseaddr;
    let port = if port == 0 {
        inet_autobind_port(n, |s, p| {
            s.tcp_listen.contains_key(&p)
                || s.tcp_ports.contains_key(&p)
                || s.tcp_listen6.contains_key(&p)
        })?
    } else if n.socks.tcp_listen.contains_key(&port)
        || (n.socks.tcp_ports.contains_key(&port) && !reuse)
        || ipv6::dual_listener(&mut n.socks, port)
    {
        return Err(Errno::AddrInUse);
    } else {
        port
    };
    *n.socks.tcp_ports.entry(port).or_default() += 1;
    let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
    t.sk.saddr = addr;
    t.sk.sport = port;
    Ok(port)
}

/// `listen()` (`inet_listen`): a bound socket (or one bound now to an ephemeral port)
/// starts accepting connections; `backlog` bounds its accept queue. On a listening socket
/// it only changes the backlog.
pub fn tcp_listen(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    backlog: u32,
) -> Result<(), Errno> {
    let r = tcp_listen_inner(n, sock, backlog);
    sock_result(n, cx, sock, "listen", None, r)
}

/// The call itself; the public function traces its error.
fn tcp_listen_inner(n: &mut Node, sock: SockId, backlog: u32) -> Result<(), Errno> {
    let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
    match t.state {
        TcpState::Listen => {
            t.backlog = backlog;
            return Ok(());
        }
        TcpState::Closed => {}
        _ => return Err(Errno::Inval),
    }
    let mut port = t.sk.sport;
    if t.sk.pinet6.is_some() {
        return ipv6::inet6_listen(n, sock, backlog);
    }
    if port == 0 {
        port = tcp_bind_inner(n, sock, Ipv4Addr::UNSPECIFIED, 0)?;
    }
    let socks = &mut n.socks;
    if socks.tcp_listen.contains_key(&port) || ipv6::dual_listener(socks, port) {
        return Err(Errno::AddrInUse);
    }
    // The bind's hold on the port passes to the listener.
    release_port(socks, port);
    socks.tcp_listen.insert(port, sock);
    let t = socks.tcp(sock).ok_or(Errno::NotSock)?;
    t.state = TcpState::Listen;
    t.backlog = backlog;
    Ok(())
}

/// One user fewer of local port `port` (a bound socket, or a connection).
pub(crate) fn release_port(socks: &mut crate::sock::SocketTable, port: u16) {
    if let Some(c) = socks.tcp_ports.get_mut(&port) {
        *c -= 1;
        if *c == 0 {
            socks.tcp_ports.remove(&port);
        }
    }
}

/// `accept()`: the next established connection, or `EAGAIN`.
pub fn tcp_accept(n: &mut Node, listener: SockId, app: Option<u32>) -> Result<SockId, Errno> {
    let socks = &mut n.socks;
    let l = socks.tcp(listener).ok_or(Errno::NotConn)?;
    let child = l.accept_queue.pop_front().ok_or(Errno::Again)?;
    if let Some(c) = socks.tcp(child) {
        c.parent = None;
        c.sk.app = app;
    }
    Ok(child)
}

/// `connect()`: choose the route, an even ephemeral port, the ISN, the timestamp offset
/// and the IP ID start, then send the SYN (`tcp_v4_connect` → `tcp_connect`).
pub fn tcp_connect(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    daddr: Ipv4Addr,
    dport: u16,
) -> Result<(), Errno> {
    let r = tcp_connect_with(n, cx, sock, daddr, dport, &[]);
    sock_result(n, cx, sock, "connect", Some((daddr, dport)), r)
}

/// The call itself (`tcp_v4_connect`); the public function traces its error. A Fast Open
/// SYN takes what it can of `data`, the write that connects ([`fastopen`]). On a
/// `TCP_FASTOPEN_CONNECT` socket with a cookie cached, the SYN waits for the first write
/// (`tcp_fastopen_defer_connect`).
pub(crate) fn tcp_connect_with(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    daddr: Ipv4Addr,
    dport: u16,
    data: &[u8],
) -> Result<(), Errno> {
    let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
    match t.state {
        TcpState::Closed => {}
        // __inet_stream_connect: a deferred connect is as good as connected.
        TcpState::SynSent if t.fo.defer_connect => return Err(Errno::IsConn),
        TcpState::SynSent | TcpState::SynRecv => return Err(Errno::Already),
        TcpState::Listen => return Err(Errno::Inval),
        _ => return Err(Errno::IsConn),
    }
    let bound = (t.sk.saddr, t.sk.sport);
    let dst = ip_route_output_flow(n, daddr).map_err(|_| Errno::NetUnreach)?;
    let sport = if bound.1 != 0 {
        if n.socks.tcp_estab.contains_key(&(daddr, dport, bound.1)) {
            return Err(Errno::AddrNotAvail);
        }
        bound.1
    } else {
        let p = inet_hash_connect_port(n, daddr, dport)?;
        *n.socks.tcp_ports.entry(p).or_default() += 1;
        p
    };
    let iss = n.rng.next_u32();
    let ts_off = n.rng.next_u32();
    let inet_id = n.rng.next_u32() as u16;
    let sys = n.sysctl.clone();
    n.socks.tcp_estab.insert((daddr, dport, sport), sock);
    let t = n.socks.tcp(sock).ok_or(Errno::NotConn)?;
    t.sk.saddr = if bound.0.is_unspecified() {
        dst.src
    } else {
        bound.0
    };
    t.sk.sport = sport;
    t.sk.daddr = daddr;
    t.sk.dport = dport;
    t.sk.inet_id = inet_id;
    t.ts_off = ts_off;
    t.iss = iss;
    t.state = TcpState::SynSent;
    if t.fo.connect && fastopen::tcp_fastopen_defer_connect(n, sock) {
        return Ok(());
    }
    tcp_connect_syn(n, cx, sock, &sys, dst.mtu, data);
    Ok(())
}

/// `tcp_connect`: MSS and windows (`tcp_connect_init`), then the SYN (with Fast Open's
/// option and data when the socket asks for them).
pub(crate) fn tcp_connect_syn(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    sys: &crate::config::Sysctls,
    mtu: u32,
    data: &[u8],
) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    output::tcp_connect_init(t, sys, mtu);
    t.ecn = ecn::Ecn::send_syn(sys.tcp_ecn, t.cong.needs_ecn());
    n.snmp.tcp.ActiveOpens += 1;
    tcp_send_syn(n, cx, sock, data);
}

/// The `tcp_connect` of a deferred connect, at the first write (`tcp_sendmsg_fastopen`);
/// a route gone meanwhile is `EHOSTUNREACH` and the socket is closed again.
pub(crate) fn tcp_connect_deferred(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    data: &[u8],
) -> Result<(), Errno> {
    let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
    let daddr = t.sk.daddr;
    let Ok(dst) = ip_route_output_flow(n, daddr) else {
        let t = n.socks.tcp(sock).ok_or(Errno::NotSock)?;
        let key = (t.sk.daddr, t.sk.dport, t.sk.sport);
        let sport = t.sk.sport;
        t.state = TcpState::Closed;
        t.sk.dport = 0;
        t.fo.defer_connect = false;
        if n.socks.tcp_estab.get(&key) == Some(&sock) {
            n.socks.tcp_estab.remove(&key);
            release_port(&mut n.socks, sport);
        }
        return Err(Errno::HostUnreach);
    };
    let sys = n.sysctl.clone();
    tcp_connect_syn(n, cx, sock, &sys, dst.mtu, data);
    Ok(())
}

/// `tcp_sendmsg`: queue up to `data.len()` bytes; returns how many fit (`EAGAIN` when
/// none did), then pushes what may be sent. `flags`: `MSG_MORE` holds a partial segment
/// back (more is coming), `MSG_EOR` ends a record (later writes never join its segment).
pub fn tcp_sendmsg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    data: &[u8],
    flags: MsgFlags,
) -> Result<usize, Errno> {
    tcp_sendmsg_to(n, cx, sock, (data, data.len()), None, flags)
}

/// [`tcp_sendmsg`] of a write of `size` bytes whose first `data.len()` can be read (the
/// rest faults, as behind a bad pointer: only Fast Open's SYN looks at them), to `to`
/// (`sendto`'s address, read only by Fast Open: `MSG_FASTOPEN` connects to it).
pub fn tcp_sendmsg_to(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    (data, size): (&[u8], usize),
    to: Option<std::net::SocketAddr>,
    flags: MsgFlags,
) -> Result<usize, Errno> {
    tcp_sendmsg_traced(n, cx, sock, (data, size), to, flags, false)
}

/// `tcp_sendmsg` on a blocking socket, one step: as [`tcp_sendmsg`], except that a write
/// not all taken sleeps for room (`sk_stream_wait_memory`) and is made again for the rest
/// rather than return, so what is done as the call returns — the transmit timestamp request
/// on its last byte (`tcp_tx_timestamp`) — is left to the step that takes the last byte, or
/// to [`tcp_sendmsg_end`] when an error ends the call early.
pub fn tcp_sendmsg_wait(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    (data, size): (&[u8], usize),
    to: Option<std::net::SocketAddr>,
    flags: MsgFlags,
) -> Result<usize, Errno> {
    tcp_sendmsg_traced(n, cx, sock, (data, size), to, flags, true)
}

/// [`tcp_sendmsg_inner`] with its error traced: a full send buffer is flow control here,
/// not an error worth a trace line; neither is a Fast Open write's handshake under way.
fn tcp_sendmsg_traced(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    (data, size): (&[u8], usize),
    to: Option<std::net::SocketAddr>,
    flags: MsgFlags,
    wait: bool,
) -> Result<usize, Errno> {
    let r = tcp_sendmsg_inner(n, cx, sock, (data, size.max(data.len())), to, flags, wait);
    if let Err(e) = r
        && !matches!(e, Errno::Again | Errno::InProgress)
    {
        crate::sock::trace_sock_err_at(n, cx, sock, "sendmsg", e, to);
    }
    r
}

/// A blocking `tcp_sendmsg` that copied some bytes returns early (an error met while it
/// waited for room): `tcp_sendmsg_locked`'s `out:`, the transmit timestamp request on the
/// last byte written.
pub fn tcp_sendmsg_end(n: &mut Node, sock: SockId) {
    if let Some(t) = n.socks.tcp(sock) {
        tstamp::tcp_tx_timestamp(t);
    }
}

/// How many bytes a `send()` on `sock` would take now from a longer buffer
/// ([`output::tcp_send_space`]); 0 for a socket that takes none.
pub fn tcp_send_space(n: &mut Node, sock: SockId) -> usize {
    n.socks.tcp(sock).map_or(0, |t| output::tcp_send_space(t))
}

/// The call itself; the public function traces its error.
fn tcp_sendmsg_inner(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    (mut data, size): (&[u8], usize),
    to: Option<std::net::SocketAddr>,
    flags: MsgFlags,
    wait: bool,
) -> Result<usize, Errno> {
    let Some(t) = n.socks.tcp(sock) else {
        return Err(Errno::NotConn);
    };
    let mut copied_syn = 0;
    if let Some(w) = t.fo.waiting {
        // A blocking Fast Open write made again after waiting for the handshake: what its
        // SYN took counts, and the rest goes as any write (or the connection's error).
        match t.state {
            TcpState::SynSent | TcpState::SynRecv => return Err(Errno::Again),
            TcpState::Closed => {
                t.fo.waiting = None;
                return Err(t.sk.err.take().unwrap_or(Errno::Pipe));
            }
            _ => {
                t.fo.waiting = None;
                copied_syn = w.copied;
            }
        }
        data = &data[copied_syn.min(data.len())..];
    } else if flags.contains(MsgFlags::FASTOPEN) || t.fo.defer_connect {
        let nonblock = t.sk.nonblock || flags.contains(MsgFlags::DONTWAIT);
        let (r, copied) = fastopen::tcp_sendmsg_fastopen(n, cx, sock, (data, size), to, nonblock);
        match r {
            Ok(()) => copied_syn = copied,
            // A non-blocking write whose SYN took some returns that.
            Err(Errno::InProgress) if copied > 0 => return Ok(copied),
            Err(e) => return Err(e),
        }
        data = &data[copied_syn.min(data.len())..];
    }
    let Some(t) = n.socks.tcp(sock) else {
        return Err(Errno::NotConn);
    };
    // Is sending application-limited?
    rate::tcp_rate_check_app_limited(t);
    if let Some(e) = t.sk.err.take() {
        return Err(e);
    }
    match t.state {
        TcpState::Established | TcpState::CloseWait => {}
        TcpState::SynSent | TcpState::SynRecv => return Err(Errno::Again),
        _ => return Err(Errno::Pipe),
    }
    if t.fin_queued {
        return Err(Errno::Pipe);
    }
    // tcp_skb_entail.
    output::tcp_slow_start_after_idle_check(t, n.sysctl.tcp_slow_start_after_idle, cx.now);
    if data.is_empty() {
        return Ok(copied_syn);
    }
    // tcp_sendmsg_locked: the write fills the tail skb up to the size goal, then new ones;
    // each skb filled mid-write is pushed at once — all that waits when half the peer's
    // largest window is unpushed (forced_push, with PSH), else that skb alone if it is
    // the send head (tcp_push_one).
    let eor = flags.contains(MsgFlags::EOR);
    let size_goal = output::tcp_xmit_size_goal(t);
    let mut copied = 0;
    let now_j = crate::jiffies::jiffies(cx.now, n.jiffies_phase) as u32;
    loop {
        let Some(t) = n.socks.tcp(sock) else {
            return Err(Errno::NotConn);
        };
        let mut tail_len = output::tcp_tail_skb_len(t);
        if tail_len == 0 || tail_len >= size_goal {
            // A new skb begins.
            t.tail_skb_seq = t.write_seq;
            tail_len = 0;
        }
        let room = size_goal - tail_len;
        let chunk = room.min((data.len() - copied) as u32) as usize;
        let last = copied + chunk == data.len();
        let was_empty = t.write_queue_empty();
        let k = output::tcp_queue_data(t, &data[copied..copied + chunk], eor && last);
        t.chrono_busy_if_queued(was_empty, now_j);
        copied += k;
        if k < chunk || copied == data.len() {
            break;
        }
        if output::tcp_tail_skb_len(t) < size_goal {
            continue;
        }
        if after(t.write_seq, t.pushed_seq.wrapping_add(t.max_window >> 1)) {
            output::tcp_mark_push(t);
            let nonagle = t.nonagle | TCP_NAGLE_PUSH;
            output::tcp_push_nonagle(n, cx, sock, nonagle);
        } else if t.tail_skb_seq == t.snd_nxt {
            output::tcp_write_xmit(n, cx, sock, output::XmitMode::One);
        }
    }
    let Some(t) = n.socks.tcp(sock) else {
        return Err(Errno::NotConn);
    };
    if copied == 0 {
        t.sk.nospace = true;
        if copied_syn > 0 {
            return Ok(copied_syn);
        }
        return Err(Errno::Again);
    }
    if copied < data.len() {
        t.sk.nospace = true;
    }
    // tcp_push: PSH on the last segment of the write (unless more is coming and no push
    // is forced: forced_push, half the peer's largest window unpushed), then send what
    // may go, corked for MSG_MORE.
    let more = flags.contains(MsgFlags::MORE);
    let forced_push = after(t.write_seq, t.pushed_seq.wrapping_add(t.max_window >> 1));
    if !more || forced_push {
        output::tcp_mark_push(t);
    }
    let nonagle = if more { TCP_NAGLE_CORK } else { t.nonagle };
    // tcp_tx_timestamp at `out:`: before the last push when the write was all taken; a
    // write cut short pushed first (`wait_for_space`), and one that sleeps for room does
    // not get there yet.
    let stamp = t.sk.tsflags != 0;
    if stamp && copied == data.len() {
        tstamp::tcp_tx_timestamp(t);
    }
    output::tcp_push_nonagle(n, cx, sock, nonagle);
    if stamp
        && copied < data.len()
        && !wait
        && let Some(t) = n.socks.tcp(sock)
    {
        tstamp::tcp_tx_timestamp(t);
    }
    Ok(copied + copied_syn)
}

/// `tcp_recvmsg`: up to `max` bytes in order; `Ok(empty)` at end of stream, `EAGAIN`
/// when nothing is waiting. Reading may open the window (an ACK goes out when it grew
/// a lot) and feeds receive-buffer auto-tuning.
pub fn tcp_recvmsg(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    max: usize,
) -> Result<Vec<u8>, Errno> {
    let readable = n.socks.tcp(sock).map_or(0, |t| t.rcvq.len());
    let mut out = vec![0; max.min(readable)];
    let k = tcp_recv_flags(n, cx, sock, Some(&mut out), max, MsgFlags::NONE)?;
    out.truncate(k);
    Ok(out)
}

/// `recv(fd, NULL, max, MSG_TRUNC)`: on TCP, Linux discards up to `max` received bytes
/// without copying them and returns how many (0 at end of stream). What a sink that
/// only counts bytes (iperf's server, `tcp_sink`) needs; the socket's state (window,
/// ACKs, memory accounting) moves exactly as with a copying read.
pub fn tcp_recvmsg_trunc(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    max: usize,
) -> Result<usize, Errno> {
    tcp_recv_flags(n, cx, sock, None, max, MsgFlags::TRUNC)
}

/// `tcp_recvmsg_locked`: takes up to `max` bytes into `out` (`None`: nowhere, as
/// `MSG_TRUNC` on TCP does), or with `MSG_PEEK` copies them and leaves them queued.
pub(crate) fn tcp_recv_flags(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    out: Option<&mut [u8]>,
    max: usize,
    flags: MsgFlags,
) -> Result<usize, Errno> {
    let now = cx.now;
    let Some(t) = n.socks.tcp(sock) else {
        return Err(Errno::NotConn);
    };
    if t.rcvq.is_empty() {
        if let Some(e) = t.sk.err.take() {
            return Err(e);
        }
        if t.fin_received || t.state == TcpState::Closed {
            return Ok(0);
        }
        return Err(Errno::Again);
    }
    let mut k = max.min(t.rcvq.len());
    if let Some(out) = &out {
        k = k.min(out.len());
    }
    // Urgent data: stop at the mark; at it, step over the out-of-band byte.
    let (skip, k) = urg::urg_limit(t, k, true);
    if skip > 0 && k == 0 && !flags.contains(MsgFlags::PEEK) {
        // Only the urgent byte was there: it is stepped over, and nothing is read yet.
        t.rcvq.consume(skip);
        t.copied_seq = t.copied_seq.wrapping_add(skip as u32);
        urg::urg_passed(t);
        tcp_free_read_skbs(t);
        return Err(Errno::Again);
    }
    if flags.contains(MsgFlags::PEEK) {
        if let Some(out) = out {
            t.rcvq.copy_to(skip, &mut out[..k]);
        }
        return Ok(k);
    }
    t.rcvq.consume(skip);
    match out {
        Some(out) => {
            t.rcvq.copy_to(0, &mut out[..k]);
            t.rcvq.consume(k);
        }
        None => t.rcvq.consume(k),
    }
    t.copied_seq = t.copied_seq.wrapping_add((skip + k) as u32);
    urg::urg_passed(t);
    tcp_free_read_skbs(t);
    rcv_window::tcp_rcv_space_adjust(t, now, &n.sysctl);
    // tcp_cleanup_rbuf: ACK now if the window we could advertise doubled.
    if ack::should_ack_after_read(t) {
        tcp_send_ack(n, cx, sock);
    }
    Ok(k)
}

/// `skb_consume` after a read: every skb read to its end gives its truesize back.
pub(crate) fn tcp_free_read_skbs(t: &mut TcpSock) {
    while let Some(&(end, truesize)) = t.rcvq_skbs.front() {
        if after(end, t.copied_seq) {
            break;
        }
        t.rcvq_skbs.pop_front();
        t.rmem_alloc -= truesize;
    }
}

/// `tcp_splice_read` → `tcp_read_sock`: takes up to `max` received bytes, in order, as
/// splice moves them into a pipe. Unlike `recv`, it stops at an urgent mark without
/// stepping over the byte: there it returns nothing while data is queued (Linux's
/// `tcp_splice_read` gives 0 rather than loop). With nothing queued: the pending error,
/// 0 at end of stream, else `EAGAIN` (the caller blocks or not).
pub fn tcp_read_sock(
    n: &mut Node,
    cx: &mut NetCtx<'_>,
    sock: SockId,
    max: usize,
) -> Result<Vec<u8>, Errno> {
    let now = cx.now;
    let Some(t) = n.socks.tcp(sock) else {
        return Err(Errno::NotConn);
    };
    if t.state == TcpState::Listen {
        return Err(Errno::NotConn);
    }
    if t.rcvq.is_empty() {
        if let Some(e) = t.sk.err.take() {
            return Err(e);
        }
        if t.fin_received || t.sk.shut_rd || t.state == TcpState::Closed {
            return Ok(Vec::new());
        }
        return Err(Errno::Again);
    }
    let (_, k) = urg::urg_limit(t, max.min(t.rcvq.len()), false);
    let mut out = vec![0; k];
    t.rcvq.copy_to(0, &mut out);
    t.rcvq.consume(k);
    t.copied_seq = t.copied_seq.wrapping_add(k as u32);
    urg::urg_passed(t);
    tcp_free_read_skbs(t);
    if k > 0 {
        rcv_window::tcp_rcv_space_adjust(t, now, &n.sysctl);
        if ack::should_ack_after_read(t) {
            tcp_send_ack(n, cx, sock);
        }
    }
    Ok(out)
}

/// `recv(MSG_OOB)` on a TCP socket (`tcp_recv_urg`): the urgent byte (`None` after the
/// peer's FIN). `peek`: `MSG_PEEK` leaves it to read again.
pub fn tcp_recv_oob(n: &mut Node, sock: SockId, peek: bool) -> Result<Option<u8>, Errno> {
    let t = n.socks.tcp(sock).ok_or(Errno::NotConn)?;
    if t.state == TcpState::Listen {
        return Err(Errno::NotConn);
    }
    urg::tcp_recv_urg(t, peek)
}

/// `shutdown(SHUT_WR)`: queue a FIN after the data.
pub fn tcp_shutdown(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let now_j = crate::jiffies::jiffies(cx.now, n.jiffies_phase) as u32;
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    let next = match t.state {
        TcpState::Established => TcpState::FinWait1,
        TcpState::CloseWait => TcpState::LastAck,
        TcpState::SynRecv => TcpState::FinWait1,
        _ => return,
    };
    if t.fin_queued {
        return;
    }
    // tcp_set_state: leaving ESTABLISHED or CLOSE_WAIT ends the CurrEstab count.
    let was_estab = matches!(t.state, TcpState::Established | TcpState::CloseWait);
    t.state = next;
    let was_empty = t.write_queue_empty();
    output::tcp_queue_fin(t);
    t.chrono_busy_if_queued(was_empty, now_j);
    if was_estab {
        let c = &mut n.snmp.tcp.CurrEstab;
        *c = c.saturating_sub(1);
    }
    tcp_push_pending_frames(n, cx, sock);
}

/// `close()`: FIN after the data (or RST if unread data remains, as Linux does); the
/// socket becomes an orphan the stack finishes alone.
pub fn tcp_close(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    t.orphan = true;
    t.sk.app = None;
    match t.state {
        TcpState::Listen => {
            let port = t.sk.sport;
            let children: Vec<SockId> = t.accept_queue.drain(..).collect();
            let v6 = t.sk.pinet6.is_some();
            let socks = &mut n.socks;
            let map = if v6 {
                &mut socks.tcp_listen6
            } else {
                &mut socks.tcp_listen
            };
            if map.get(&port) == Some(&sock) {
                map.remove(&port);
            }
            socks.remove(sock);
            for c in children {
                tcp_send_active_reset(n, cx, c);
                tcp_done(n, cx, c);
            }
        }
        TcpState::Closed => {
            // Bound but never connected: its hold on the port goes with it.
            let port = t.sk.sport;
            if port != 0 {
                release_port(&mut n.socks, port);
            }
            tcp_done(n, cx, sock);
        }
        TcpState::SynSent => tcp_done(n, cx, sock),
        _ if !t.rcvq.is_empty() => {
            // Unread data: tcp_close sends RST (RFC 2525) and the connection is gone.
            n.snmp.tcp.EstabResets += u64::from(matches!(
                t.state,
                TcpState::Established | TcpState::CloseWait
            ));
            tcp_send_active_reset(n, cx, sock);
            tcp_done(n, cx, sock);
        }
        _ => tcp_shutdown(n, cx, sock),
    }
}

/// `tcp_done`: the connection is over; free the socket and its lookups.
pub(crate) fn tcp_done(n: &mut Node, cx: &mut NetCtx<'_>, sock: SockId) {
    let Some(t) = n.socks.tcp(sock) else {
        return;
    };
    if matches!(t.state, TcpState::Established | TcpState::CloseWait) {
        n.snmp.tcp.CurrEstab = n.snmp.tcp.CurrEstab.saturating_sub(1);
    }
    t.state = TcpState::Closed;
    for timer in [
        &t.timers.rtx_timer,
        &t.timers.delack_timer,
        &t.timers.tw_timer,
        &t.timers.comp_sack_timer,
    ] {
        cx.sched.cancel(timer);
    }
    let key = (t.sk.daddr, t.sk.dport, t.sk.sport);
    let orphan = t.orphan;
    let sport = t.sk.sport;
    let final_report = t.report();
    let key6 = match t.sk.pinet6.as_deref() {
        None => None,
        Some(np) => np.is_v6_flow().then_some((np.daddr, key.1, key.2)),
    };
    if let Some(key6) = key6 {
        if n.socks.tcp_estab6.get(&key6) == Some(&sock) {
            n.socks.tcp_estab6.remove(&key6);
            release_port(&mut n.socks, sport);
        }
    } else if n.socks.tcp_estab.get(&key) == Some(&sock) {
        n.socks.tcp_estab.remove(&key);
        release_port(&mut n.socks, sport);
    }
    if orphan {
        n.tcp_closed.push(final_report);
        if let Some(Socket::Tcp(t)) = n.socks.remove(sock) {
            let t = *t;
            cx.sched.free_timer(t.timers.rtx_timer);
            cx.sched.free_timer(t.timers.delack_timer);
            cx.sched.free_timer(t.timers.tw_timer);
            cx.sched.free_timer(t.timers.comp_sack_timer);
            if let Some(p) = t.timers.pacing_timer {
                cx.sched.free_timer(p);
            }
        }
    } else {
        sk_wake(n, cx, sock);
    }
}
