//! TCP, as Linux behaves: the socket calls (`tcp_v4_connect`, `inet_listen`,
//! `inet_accept`, `tcp_sendmsg`, `tcp_recvmsg`, `tcp_close`, `tcp_shutdown`) here; sending in
//! [`output`], receiving in [`input`], timers in [`timer`], congestion control in [`cong`].
//!
//! What is modeled, after the kernel: the handshake with Linux's options and initial windows;
//! the write queue of MSS-sized segments (small writes coalesce into the unsent tail),
//! `tcp_write_xmit` limited by cwnd, the peer's window and Nagle (Minshall's variant), PSH on
//! the last segment of a write; RTT estimation and the RTO (1 s initial, 200 ms minimum,
//! doubling backoff, rounded on the timer wheel); SACK-based loss recovery entered on the
//! third duplicate ACK; quick-ACK mode and delayed ACKs; receive-window growth
//! (`tcp_grow_window`) and receive-buffer auto-tuning (`tcp_rcv_space_adjust`); FIN in every
//! state, TIME_WAIT, RST. Not modeled: TSO/GSO (the device is non-TSO, as veth with offloads
//! off), TCP small queues, pacing, RACK/TLP, F-RTO, ECN, keepalive, urgent data, SYN cookies,
//! Fast Open.

pub mod byteq;
pub mod cong;
pub mod input;
pub mod output;
pub mod timer;

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;

use serde::Serialize;
use sim_core::{Scheduler, SimTime, TimerId};

use crate::sock::{Errno, SockCommon, SockId, Socket};
use crate::world::{Event, World};
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
    /// The write and retransmit queue.
    pub wq: VecDeque<TxSeg>,
    /// Data bytes from `sndq_seq` on (acknowledged bytes are dropped from the front).
    pub sndq: byteq::ByteQueue,
    /// Sequence number of `sndq[0]`.
    pub sndq_seq: u32,
    /// `sk_wmem_queued`: truesize of the queued segments.
    pub wmem_queued: u32,
    /// `TCP_NODELAY`.
    pub nodelay: bool,
    /// Shut down for writing (FIN queued).
    pub fin_queued: bool,

    // Receive side.
    /// Initial receive sequence number.
    pub irs: u32,
    /// Next sequence number expected.
    pub rcv_nxt: u32,
    /// The window last advertised (bytes).
    pub rcv_wnd: u32,
    /// `rcv_nxt` when the window was last advertised.
    pub rcv_wup: u32,
    /// `rcv_ssthresh`: the window's current growth limit.
    pub rcv_ssthresh: u32,
    /// `window_clamp`.
    pub window_clamp: u32,
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
    /// `scaling_ratio`: the window a byte of receive buffer is worth, in 1/256ths, learned
    /// from the payload/truesize of full segments (128 until then).
    pub scaling_ratio: u32,
    /// `icsk_ack.last_seg_size`: the size of the last short segment (`tcp_measure_rcv_mss`).
    pub last_seg_size: u32,
    /// `rcv_rtt_est.rtt_us` (×8): the receiver's RTT estimate that paces DRS.
    pub rcv_rtt_us: u32,
    /// `rcv_rtt_est.seq` / `.time`: the per-window RTT measurement without timestamps.
    pub rcv_rtt_seq: u32,
    /// Start of that measurement (`None` before the first).
    pub rcv_rtt_time: Option<SimTime>,
    /// `rcv_rtt_last_tsecr`: the echo last used for a timestamp RTT sample.
    pub rcv_rtt_last_tsecr: u32,
    /// The peer's FIN arrived (in order).
    pub fin_received: bool,
    /// `copied_seq`: next sequence number the app reads.
    pub copied_seq: u32,
    /// DRS (`rcvq_space`): bytes per RTT the app read, when, from where.
    pub rcvq_space: u32,
    /// Start of the current DRS measurement.
    pub rcvq_time: SimTime,
    /// `copied_seq` at its start.
    pub rcvq_seq: u32,
    /// SACK blocks to send (most recent first), as sequence ranges.
    pub sack_blocks: Vec<(u32, u32)>,

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
    /// Our timestamp offset (`tsoffset`).
    pub ts_off: u32,
    /// `icsk_ack.rcv_mss`: estimate of the peer's segment size.
    pub rcv_mss: u32,

    // Congestion control and recovery.
    /// `snd_cwnd`, packets.
    pub cwnd: u32,
    /// `snd_ssthresh`.
    pub ssthresh: u32,
    /// RACK (`tp->rack`): send time, end sequence and RTT of the most recently sent
    /// segment known delivered.
    pub rack_mstamp: Option<SimTime>,
    /// `rack.end_seq`.
    pub rack_end_seq: u32,
    /// `rack.rtt_us`.
    pub rack_rtt_us: u64,
    /// `tlp_high_seq`: `snd_nxt` when the outstanding tail loss probe went out.
    pub tlp_high_seq: Option<u32>,
    /// `tlp_retrans`: that probe was a retransmission.
    pub tlp_retrans: bool,
    /// `retrans_stamp`: when the first retransmission of the current episode went out.
    pub retrans_stamp: Option<SimTime>,
    /// When data was last acknowledged.
    pub last_acked_at: Option<SimTime>,
    /// `snd_cwnd_cnt`.
    pub cwnd_cnt: u32,
    /// The algorithm.
    pub cong: Cong,
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
    /// Compressed-SACK state: duplicate ACKs sent at once for the current `rcv_nxt`.
    pub dup_ack_counter: u32,
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
    /// Where RACK's walk starts (the role of Linux's `tsorted_sent_queue`, which drops
    /// SACKed and lost segments): every segment of `wq` before this index is SACKed or
    /// marked lost, for good, so `tcp_rack_detect_loss` need not pass them again.
    pub rack_hint: usize,
    /// Where the search for a segment to retransmit starts (`retransmit_skb_hint`): no
    /// segment of `wq` before this index is lost, unSACKed and not being retransmitted.
    /// Marking a segment lost, or forgetting a retransmission, moves it back.
    pub rtx_hint: usize,
    /// The most packets in flight in the current round (`max_packets_out`).
    pub max_packets_out: u32,
    /// Whether the last send was limited by cwnd (`is_cwnd_limited`).
    pub is_cwnd_limited: bool,
    /// When the connection last sent data (slow start after idle).
    pub lsndtime: SimTime,

    // RTT and timers.
    /// Smoothed RTT ×8, µs (`srtt_us`).
    pub srtt_us: u32,
    /// `mdev_us`.
    pub mdev_us: u32,
    /// `mdev_max_us`.
    pub mdev_max_us: u32,
    /// `rttvar_us`.
    pub rttvar_us: u32,
    /// `rtt_seq`.
    pub rtt_seq: u32,
    /// Minimum RTT, µs.
    pub min_rtt_us: u32,
    /// Current RTO.
    pub rto: sim_core::SimDuration,
    /// Consecutive timeouts (`icsk_retransmits`).
    pub retransmits: u32,
    /// Backoff exponent (`icsk_backoff`).
    pub backoff: u32,
    /// The retransmit / SYN / zero-window probe timer.
    pub rtx_timer: TimerId,
    /// The delayed-ACK timer.
    pub delack_timer: TimerId,
    /// The TIME_WAIT / FIN_WAIT_2 timer.
    pub tw_timer: TimerId,

    // ACK state (`icsk_ack`).
    /// An ACK is owed.
    pub ack_pending: bool,
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
    pub ack_pushed: bool,
    /// `ICSK_ACK_PUSHED2`: a second one did.
    pub ack_pushed2: bool,

    /// Statistics.
    pub stats: TcpConnStats,
    /// The connection was reported to the app as established.
    pub connected_reported: bool,
    /// Closed by the app (`close()`): an orphan the stack finishes alone.
    pub orphan: bool,
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

/// `TCP_INIT_CWND`.
pub const TCP_INIT_CWND: u32 = 10;
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
    pub(crate) fn new(sk: SockCommon, cong: Cong, timers: [TimerId; 3]) -> Self {
        let [rtx_timer, delack_timer, tw_timer] = timers;
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
            wq: VecDeque::new(),
            sndq: byteq::ByteQueue::new(),
            sndq_seq: 0,
            wmem_queued: 0,
            nodelay: false,
            fin_queued: false,
            irs: 0,
            rcv_nxt: 0,
            rcv_wnd: 0,
            rcv_wup: 0,
            rcv_ssthresh: 0,
            window_clamp: 0,
            rcvq: byteq::ByteQueue::new(),
            rcvq_skbs: VecDeque::new(),
            ofo: BTreeMap::new(),
            rmem_alloc: 0,
            scaling_ratio: TCP_DEFAULT_SCALING_RATIO,
            last_seg_size: 0,
            rcv_rtt_us: 0,
            rcv_rtt_seq: 0,
            rcv_rtt_time: None,
            rcv_rtt_last_tsecr: 0,
            fin_received: false,
            copied_seq: 0,
            rcvq_space: 0,
            rcvq_time: SimTime::ZERO,
            rcvq_seq: 0,
            sack_blocks: Vec::new(),
            advmss: 1460,
            mss_clamp: 536,
            mss_cache: 536,
            ts_ok: false,
            sack_ok: false,
            wscale_ok: false,
            rcv_wscale: 0,
            snd_wscale: 0,
            ts_recent: 0,
            ts_off: 0,
            rcv_mss: 536,
            cwnd: TCP_INIT_CWND,
            ssthresh: u32::MAX >> 1,
            rack_mstamp: None,
            rack_end_seq: 0,
            rack_rtt_us: 0,
            tlp_high_seq: None,
            tlp_retrans: false,
            retrans_stamp: None,
            last_acked_at: None,
            cwnd_cnt: 0,
            cong,
            ca_state: CaState::Open,
            high_seq: 0,
            dupacks: 0,
            prr_delivered: 0,
            prr_out: 0,
            prior_cwnd: 0,
            dup_ack_counter: 0,
            packets_out: 0,
            sacked_out: 0,
            lost_out: 0,
            retrans_out: 0,
            ever_retrans_in_wq: 0,
            rack_hint: 0,
            rtx_hint: 0,
            max_packets_out: 0,
            is_cwnd_limited: false,
            lsndtime: SimTime::ZERO,
            srtt_us: 0,
            mdev_us: 0,
            mdev_max_us: 0,
            rttvar_us: 0,
            rtt_seq: 0,
            min_rtt_us: 0,
            rto: TCP_TIMEOUT_INIT,
            retransmits: 0,
            backoff: 0,
            rtx_timer,
            delack_timer,
            tw_timer,
            ack_pending: false,
            quick: 0,
            pingpong: 0,
            ato: sim_core::SimDuration::ZERO,
            lrcvtime: SimTime::ZERO,
            ack_now: false,
            ack_pushed: false,
            ack_pushed2: false,
            stats: TcpConnStats::default(),
            connected_reported: false,
            orphan: false,
        }
    }

    /// `tcp_packets_in_flight`.
    pub fn in_flight(&self) -> u32 {
        (self.packets_out + self.retrans_out).saturating_sub(self.sacked_out + self.lost_out)
    }

    /// Removes the head of the write queue (acknowledged), keeping the walk hints on the
    /// segments they pointed at.
    pub(crate) fn wq_pop_front(&mut self) -> Option<TxSeg> {
        let seg = self.wq.pop_front()?;
        self.rack_hint = self.rack_hint.saturating_sub(1);
        self.rtx_hint = self.rtx_hint.saturating_sub(1);
        Some(seg)
    }

    /// Notes that the segment at `idx` became a candidate for retransmission (marked lost,
    /// or its retransmission forgotten): the search for one must not start after it.
    pub(crate) fn note_rtx_candidate(&mut self, idx: usize) {
        self.rtx_hint = self.rtx_hint.min(idx);
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
    /// When data was last acknowledged (for the apps' goodput; not in stats.json).
    #[serde(skip)]
    pub last_acked_at: Option<SimTime>,
}

impl TcpSock {
    /// The connection's report.
    pub fn report(&self) -> TcpConnReport {
        TcpConnReport {
            local: format!("{}:{}", self.sk.saddr, self.sk.sport),
            remote: format!("{}:{}", self.sk.daddr, self.sk.dport),
            state: self.state.name(),
            cong: self.cong.name(),
            cwnd: self.cwnd,
            ssthresh: (self.ssthresh < u32::MAX >> 1).then_some(self.ssthresh),
            srtt_us: self.srtt_us >> 3,
            rto_ms: self.rto.as_nanos() / 1_000_000,
            mss: self.mss_cache,
            stats: self.stats.clone(),
            last_acked_at: self.last_acked_at,
        }
    }
}

impl World {
    /// `socket(AF_INET, SOCK_STREAM)`, owned by `app`.
    pub fn tcp_socket(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        app: Option<u32>,
    ) -> SockId {
        let n = &mut self.nodes[node];
        let mut sk = SockCommon::new(n.sysctl.tcp_wmem[1], n.sysctl.tcp_rmem[1]);
        sk.app = app;
        let cong = Cong::new(matches!(
            n.sysctl.tcp_congestion_control,
            crate::config::CongestionControl::Cubic
        ));
        let timers = [s.new_timer(), s.new_timer(), s.new_timer()];
        n.socks
            .insert(Socket::Tcp(Box::new(TcpSock::new(sk, cong, timers))))
    }

    /// `listen()` on `port`.
    pub fn tcp_listen(
        &mut self,
        node: usize,
        sock: SockId,
        port: u16,
        backlog: u32,
    ) -> Result<(), Errno> {
        let r = self.tcp_listen_inner(node, sock, port, backlog);
        self.sock_result(node, sock, "listen", None, r)
    }

    /// The call itself; the public function traces its error.
    fn tcp_listen_inner(
        &mut self,
        node: usize,
        sock: SockId,
        port: u16,
        backlog: u32,
    ) -> Result<(), Errno> {
        let socks = &mut self.nodes[node].socks;
        if socks.tcp_listen.contains_key(&port) {
            return Err(Errno::AddrInUse);
        }
        socks.tcp_listen.insert(port, sock);
        let t = socks.tcp(sock).ok_or(Errno::NotConn)?;
        t.sk.sport = port;
        t.state = TcpState::Listen;
        t.backlog = backlog;
        Ok(())
    }

    /// `accept()`: the next established connection, or `EAGAIN`.
    pub fn tcp_accept(
        &mut self,
        node: usize,
        listener: SockId,
        app: Option<u32>,
    ) -> Result<SockId, Errno> {
        let socks = &mut self.nodes[node].socks;
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
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        sock: SockId,
        daddr: Ipv4Addr,
        dport: u16,
    ) -> Result<(), Errno> {
        let r = self.tcp_connect_inner(s, node, sock, daddr, dport);
        self.sock_result(node, sock, "connect", Some((daddr, dport)), r)
    }

    /// The call itself; the public function traces its error.
    fn tcp_connect_inner(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        sock: SockId,
        daddr: Ipv4Addr,
        dport: u16,
    ) -> Result<(), Errno> {
        let dst = self
            .ip_route_output_flow(node, daddr)
            .map_err(|_| Errno::NetUnreach)?;
        let sport = self.inet_hash_connect_port(node, daddr, dport)?;
        let n = &mut self.nodes[node];
        let iss = n.rng.next_u32();
        let ts_off = n.rng.next_u32();
        let inet_id = n.rng.next_u32() as u16;
        let sys = n.sysctl.clone();
        n.socks.tcp_estab.insert((daddr, dport, sport), sock);
        *n.socks.tcp_ports.entry(sport).or_default() += 1;
        let t = n.socks.tcp(sock).ok_or(Errno::NotConn)?;
        t.sk.saddr = dst.src;
        t.sk.sport = sport;
        t.sk.daddr = daddr;
        t.sk.dport = dport;
        t.sk.inet_id = inet_id;
        t.ts_off = ts_off;
        t.iss = iss;
        output::tcp_connect_init(t, &sys, dst.mtu);
        t.state = TcpState::SynSent;
        n.snmp.tcp.ActiveOpens += 1;
        self.tcp_send_syn(s, node, sock);
        Ok(())
    }

    /// `tcp_sendmsg`: queue up to `data.len()` bytes; returns how many fit (`EAGAIN` when
    /// none did), then pushes what may be sent.
    pub fn tcp_sendmsg(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        sock: SockId,
        data: &[u8],
    ) -> Result<usize, Errno> {
        let r = self.tcp_sendmsg_inner(s, node, sock, data);
        // A full send buffer is flow control here, not an error worth a trace line.
        if r == Err(Errno::Again) {
            return r;
        }
        self.sock_result(node, sock, "sendmsg", None, r)
    }

    /// How many bytes a `send()` on `sock` would take now from a longer buffer
    /// ([`output::tcp_send_space`]); 0 for a socket that takes none.
    pub fn tcp_send_space(&mut self, node: usize, sock: SockId) -> usize {
        self.nodes[node]
            .socks
            .tcp(sock)
            .map_or(0, |t| output::tcp_send_space(t))
    }

    /// The call itself; the public function traces its error.
    fn tcp_sendmsg_inner(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        sock: SockId,
        data: &[u8],
    ) -> Result<usize, Errno> {
        let n = &mut self.nodes[node];
        let Some(t) = n.socks.tcp(sock) else {
            return Err(Errno::NotConn);
        };
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
        // tcp_slow_start_after_idle_check (tcp_skb_entail): nothing in flight and idle for
        // more than an RTO → tcp_cwnd_restart halves cwnd per RTO idle, down to the initial
        // window.
        let now = s.now();
        let idle = now.saturating_since(t.lsndtime);
        if n.sysctl.tcp_slow_start_after_idle && t.packets_out == 0 && idle > t.rto {
            output::tcp_cwnd_restart(t, idle);
        }
        let copied = output::tcp_queue_data(t, data);
        if copied == 0 {
            t.sk.nospace = true;
            return Err(Errno::Again);
        }
        if copied < data.len() {
            t.sk.nospace = true;
        }
        // tcp_push: PSH on the last segment of the write, then send what may go.
        output::tcp_mark_push(t);
        self.tcp_push_pending_frames(s, node, sock);
        Ok(copied)
    }

    /// `tcp_recvmsg`: up to `max` bytes in order; `Ok(empty)` at end of stream, `EAGAIN`
    /// when nothing is waiting. Reading may open the window (an ACK goes out when it grew
    /// a lot) and feeds receive-buffer auto-tuning.
    pub fn tcp_recvmsg(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        sock: SockId,
        max: usize,
    ) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        self.tcp_recv(s, node, sock, max, Some(&mut out))
            .map(|_| out)
    }

    /// `recv(fd, NULL, max, MSG_TRUNC)`: on TCP, Linux discards up to `max` received bytes
    /// without copying them and returns how many (0 at end of stream). What a sink that
    /// only counts bytes (iperf's server, `tcp_sink`) needs; the socket's state (window,
    /// ACKs, memory accounting) moves exactly as with a copying read.
    pub fn tcp_recvmsg_trunc(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        sock: SockId,
        max: usize,
    ) -> Result<usize, Errno> {
        self.tcp_recv(s, node, sock, max, None)
    }

    /// `tcp_recvmsg_locked`: takes up to `max` bytes, into `out` or (MSG_TRUNC) nowhere.
    fn tcp_recv(
        &mut self,
        s: &mut Scheduler<Event>,
        node: usize,
        sock: SockId,
        max: usize,
        out: Option<&mut Vec<u8>>,
    ) -> Result<usize, Errno> {
        let now = s.now();
        let n = &mut self.nodes[node];
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
        let k = max.min(t.rcvq.len());
        match out {
            Some(out) => *out = t.rcvq.read(k),
            None => t.rcvq.consume(k),
        }
        t.copied_seq = t.copied_seq.wrapping_add(k as u32);
        // skb_consume: every skb read to its end gives its truesize back.
        while let Some(&(end, truesize)) = t.rcvq_skbs.front() {
            if after(end, t.copied_seq) {
                break;
            }
            t.rcvq_skbs.pop_front();
            t.rmem_alloc -= truesize;
        }
        input::tcp_rcv_space_adjust(t, now, &n.sysctl);
        // tcp_cleanup_rbuf: ACK now if the window we could advertise doubled.
        if output::should_ack_after_read(t) {
            self.tcp_send_ack(s, node, sock);
        }
        Ok(k)
    }

    /// `shutdown(SHUT_WR)`: queue a FIN after the data.
    pub fn tcp_shutdown(&mut self, s: &mut Scheduler<Event>, node: usize, sock: SockId) {
        let Some(t) = self.nodes[node].socks.tcp(sock) else {
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
        output::tcp_queue_fin(t);
        if was_estab {
            let c = &mut self.nodes[node].snmp.tcp.CurrEstab;
            *c = c.saturating_sub(1);
        }
        self.tcp_push_pending_frames(s, node, sock);
    }

    /// `close()`: FIN after the data (or RST if unread data remains, as Linux does); the
    /// socket becomes an orphan the stack finishes alone.
    pub fn tcp_close(&mut self, s: &mut Scheduler<Event>, node: usize, sock: SockId) {
        let Some(t) = self.nodes[node].socks.tcp(sock) else {
            return;
        };
        t.orphan = true;
        t.sk.app = None;
        match t.state {
            TcpState::Listen => {
                let port = t.sk.sport;
                let children: Vec<SockId> = t.accept_queue.drain(..).collect();
                let socks = &mut self.nodes[node].socks;
                socks.tcp_listen.remove(&port);
                socks.remove(sock);
                for c in children {
                    self.tcp_send_active_reset(s, node, c);
                    self.tcp_done(s, node, c);
                }
            }
            TcpState::SynSent | TcpState::Closed => self.tcp_done(s, node, sock),
            _ if !t.rcvq.is_empty() => {
                // Unread data: tcp_close sends RST (RFC 2525) and the connection is gone.
                self.nodes[node].snmp.tcp.EstabResets += u64::from(matches!(
                    t.state,
                    TcpState::Established | TcpState::CloseWait
                ));
                self.tcp_send_active_reset(s, node, sock);
                self.tcp_done(s, node, sock);
            }
            _ => self.tcp_shutdown(s, node, sock),
        }
    }

    /// `tcp_done`: the connection is over; free the socket and its lookups.
    pub(crate) fn tcp_done(&mut self, s: &mut Scheduler<Event>, node: usize, sock: SockId) {
        let n = &mut self.nodes[node];
        let Some(t) = n.socks.tcp(sock) else {
            return;
        };
        if matches!(t.state, TcpState::Established | TcpState::CloseWait) {
            n.snmp.tcp.CurrEstab = n.snmp.tcp.CurrEstab.saturating_sub(1);
        }
        t.state = TcpState::Closed;
        for timer in [&t.rtx_timer, &t.delack_timer, &t.tw_timer] {
            s.cancel(timer);
        }
        let key = (t.sk.daddr, t.sk.dport, t.sk.sport);
        let orphan = t.orphan;
        let sport = t.sk.sport;
        let final_report = t.report();
        if n.socks.tcp_estab.get(&key) == Some(&sock) {
            n.socks.tcp_estab.remove(&key);
            if let Some(c) = n.socks.tcp_ports.get_mut(&sport) {
                *c -= 1;
                if *c == 0 {
                    n.socks.tcp_ports.remove(&sport);
                }
            }
        }
        if orphan {
            n.tcp_closed.push(final_report);
            if let Some(Socket::Tcp(t)) = n.socks.remove(sock) {
                let t = *t;
                s.free_timer(t.rtx_timer);
                s.free_timer(t.delack_timer);
                s.free_timer(t.tw_timer);
            }
        } else {
            self.sk_wake(node, sock);
        }
    }
}
