//! `TCP_INFO`: Linux's `struct tcp_info` (include/uapi/linux/tcp.h), filled as
//! `tcp_get_info` fills it, from the connection's state at the instant it is asked for.
//!
//! Fields the model does not keep are reported as Linux reports them when they never
//! moved: `tcpi_fackets` and `tcpi_last_ack_sent` (always 0 on Linux too),
//! `tcpi_rehash` and the ECN counters.

use serde::Serialize;
use sim_core::SimTime;

use super::{CaState, TcpSock, TcpState};

/// `TCPI_OPT_TIMESTAMPS`.
pub const TCPI_OPT_TIMESTAMPS: u8 = 1;
/// `TCPI_OPT_SACK`.
pub const TCPI_OPT_SACK: u8 = 2;
/// `TCPI_OPT_WSCALE`.
pub const TCPI_OPT_WSCALE: u8 = 4;
/// `TCPI_OPT_ECN`: ECN was negotiated.
pub const TCPI_OPT_ECN: u8 = 8;
/// `TCPI_OPT_ECN_SEEN`: at least one ECT segment arrived.
pub const TCPI_OPT_ECN_SEEN: u8 = 16;
/// `TCPI_OPT_SYN_DATA`: the SYN's Fast Open data was acknowledged.
pub const TCPI_OPT_SYN_DATA: u8 = 32;

/// `struct tcp_info`, field for field (units as Linux gives them: times in µs unless the
/// name says ms, windows in packets or bytes as the kernel's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[allow(missing_docs)]
pub struct TcpInfo {
    pub tcpi_state: u8,
    pub tcpi_ca_state: u8,
    pub tcpi_retransmits: u8,
    pub tcpi_probes: u8,
    pub tcpi_backoff: u8,
    pub tcpi_options: u8,
    pub tcpi_snd_wscale: u8,
    pub tcpi_rcv_wscale: u8,
    pub tcpi_delivery_rate_app_limited: u8,
    pub tcpi_fastopen_client_fail: u8,
    pub tcpi_rto: u32,
    pub tcpi_ato: u32,
    pub tcpi_snd_mss: u32,
    pub tcpi_rcv_mss: u32,
    pub tcpi_unacked: u32,
    pub tcpi_sacked: u32,
    pub tcpi_lost: u32,
    pub tcpi_retrans: u32,
    pub tcpi_fackets: u32,
    pub tcpi_last_data_sent: u32,
    pub tcpi_last_ack_sent: u32,
    pub tcpi_last_data_recv: u32,
    pub tcpi_last_ack_recv: u32,
    pub tcpi_pmtu: u32,
    pub tcpi_rcv_ssthresh: u32,
    pub tcpi_rtt: u32,
    pub tcpi_rttvar: u32,
    pub tcpi_snd_ssthresh: u32,
    pub tcpi_snd_cwnd: u32,
    pub tcpi_advmss: u32,
    pub tcpi_reordering: u32,
    pub tcpi_rcv_rtt: u32,
    pub tcpi_rcv_space: u32,
    pub tcpi_total_retrans: u32,
    pub tcpi_pacing_rate: u64,
    pub tcpi_max_pacing_rate: u64,
    pub tcpi_bytes_acked: u64,
    pub tcpi_bytes_received: u64,
    pub tcpi_segs_out: u32,
    pub tcpi_segs_in: u32,
    pub tcpi_notsent_bytes: u32,
    pub tcpi_min_rtt: u32,
    pub tcpi_data_segs_in: u32,
    pub tcpi_data_segs_out: u32,
    pub tcpi_delivery_rate: u64,
    pub tcpi_busy_time: u64,
    pub tcpi_rwnd_limited: u64,
    pub tcpi_sndbuf_limited: u64,
    pub tcpi_delivered: u32,
    pub tcpi_delivered_ce: u32,
    pub tcpi_bytes_sent: u64,
    pub tcpi_bytes_retrans: u64,
    pub tcpi_dsack_dups: u32,
    pub tcpi_reord_seen: u32,
    pub tcpi_rcv_ooopack: u32,
    pub tcpi_snd_wnd: u32,
    pub tcpi_rcv_wnd: u32,
    pub tcpi_rehash: u32,
    pub tcpi_total_rto: u16,
    pub tcpi_total_rto_recoveries: u16,
    pub tcpi_total_rto_time: u32,
}

impl TcpInfo {
    /// The value of the field named `name` (`tcpi_snd_cwnd`, …), as packetdrill's
    /// `%{ }%` blocks and the samplers read them.
    pub fn field(&self, name: &str) -> Option<u64> {
        let v = match name {
            "tcpi_state" => u64::from(self.tcpi_state),
            "tcpi_ca_state" => u64::from(self.tcpi_ca_state),
            "tcpi_retransmits" => u64::from(self.tcpi_retransmits),
            "tcpi_probes" => u64::from(self.tcpi_probes),
            "tcpi_backoff" => u64::from(self.tcpi_backoff),
            "tcpi_options" => u64::from(self.tcpi_options),
            "tcpi_snd_wscale" => u64::from(self.tcpi_snd_wscale),
            "tcpi_rcv_wscale" => u64::from(self.tcpi_rcv_wscale),
            "tcpi_delivery_rate_app_limited" => u64::from(self.tcpi_delivery_rate_app_limited),
            "tcpi_fastopen_client_fail" => u64::from(self.tcpi_fastopen_client_fail),
            "tcpi_rto" => u64::from(self.tcpi_rto),
            "tcpi_ato" => u64::from(self.tcpi_ato),
            "tcpi_snd_mss" => u64::from(self.tcpi_snd_mss),
            "tcpi_rcv_mss" => u64::from(self.tcpi_rcv_mss),
            "tcpi_unacked" => u64::from(self.tcpi_unacked),
            "tcpi_sacked" => u64::from(self.tcpi_sacked),
            "tcpi_lost" => u64::from(self.tcpi_lost),
            "tcpi_retrans" => u64::from(self.tcpi_retrans),
            "tcpi_fackets" => u64::from(self.tcpi_fackets),
            "tcpi_last_data_sent" => u64::from(self.tcpi_last_data_sent),
            "tcpi_last_ack_sent" => u64::from(self.tcpi_last_ack_sent),
            "tcpi_last_data_recv" => u64::from(self.tcpi_last_data_recv),
            "tcpi_last_ack_recv" => u64::from(self.tcpi_last_ack_recv),
            "tcpi_pmtu" => u64::from(self.tcpi_pmtu),
            "tcpi_rcv_ssthresh" => u64::from(self.tcpi_rcv_ssthresh),
            "tcpi_rtt" => u64::from(self.tcpi_rtt),
            "tcpi_rttvar" => u64::from(self.tcpi_rttvar),
            "tcpi_snd_ssthresh" => u64::from(self.tcpi_snd_ssthresh),
            "tcpi_snd_cwnd" => u64::from(self.tcpi_snd_cwnd),
            "tcpi_advmss" => u64::from(self.tcpi_advmss),
            "tcpi_reordering" => u64::from(self.tcpi_reordering),
            "tcpi_rcv_rtt" => u64::from(self.tcpi_rcv_rtt),
            "tcpi_rcv_space" => u64::from(self.tcpi_rcv_space),
            "tcpi_total_retrans" => u64::from(self.tcpi_total_retrans),
            "tcpi_pacing_rate" => self.tcpi_pacing_rate,
            "tcpi_max_pacing_rate" => self.tcpi_max_pacing_rate,
            "tcpi_bytes_acked" => self.tcpi_bytes_acked,
            "tcpi_bytes_received" => self.tcpi_bytes_received,
            "tcpi_segs_out" => u64::from(self.tcpi_segs_out),
            "tcpi_segs_in" => u64::from(self.tcpi_segs_in),
            "tcpi_notsent_bytes" => u64::from(self.tcpi_notsent_bytes),
            "tcpi_min_rtt" => u64::from(self.tcpi_min_rtt),
            "tcpi_data_segs_in" => u64::from(self.tcpi_data_segs_in),
            "tcpi_data_segs_out" => u64::from(self.tcpi_data_segs_out),
            "tcpi_delivery_rate" => self.tcpi_delivery_rate,
            "tcpi_busy_time" => self.tcpi_busy_time,
            "tcpi_rwnd_limited" => self.tcpi_rwnd_limited,
            "tcpi_sndbuf_limited" => self.tcpi_sndbuf_limited,
            "tcpi_delivered" => u64::from(self.tcpi_delivered),
            "tcpi_delivered_ce" => u64::from(self.tcpi_delivered_ce),
            "tcpi_bytes_sent" => self.tcpi_bytes_sent,
            "tcpi_bytes_retrans" => self.tcpi_bytes_retrans,
            "tcpi_dsack_dups" => u64::from(self.tcpi_dsack_dups),
            "tcpi_reord_seen" => u64::from(self.tcpi_reord_seen),
            "tcpi_rcv_ooopack" => u64::from(self.tcpi_rcv_ooopack),
            "tcpi_snd_wnd" => u64::from(self.tcpi_snd_wnd),
            "tcpi_rcv_wnd" => u64::from(self.tcpi_rcv_wnd),
            "tcpi_rehash" => u64::from(self.tcpi_rehash),
            "tcpi_total_rto" => u64::from(self.tcpi_total_rto),
            "tcpi_total_rto_recoveries" => u64::from(self.tcpi_total_rto_recoveries),
            "tcpi_total_rto_time" => u64::from(self.tcpi_total_rto_time),
            _ => return None,
        };
        Some(v)
    }
}

/// Linux's numeric state (`TCP_ESTABLISHED` = 1 …), as `tcpi_state` reports it.
pub fn state_number(s: TcpState) -> u8 {
    match s {
        TcpState::Established => 1,
        TcpState::SynSent => 2,
        TcpState::SynRecv => 3,
        TcpState::FinWait1 => 4,
        TcpState::FinWait2 => 5,
        TcpState::TimeWait => 6,
        TcpState::Closed => 7,
        TcpState::CloseWait => 8,
        TcpState::LastAck => 9,
        TcpState::Listen => 10,
        TcpState::Closing => 11,
    }
}

/// Linux's `enum tcp_ca_state` number.
pub fn ca_state_number(s: CaState) -> u8 {
    match s {
        CaState::Open => 0,
        CaState::Disorder => 1,
        CaState::Cwr => 2,
        CaState::Recovery => 3,
        CaState::Loss => 4,
    }
}

/// `tcp_rate`'s pacing rate as `tcp_update_pacing_rate` sets it after the last ACK:
/// `mss × cwnd / srtt`, times `tcp_pacing_ss_ratio` (200 %) in slow start, else
/// `tcp_pacing_ca_ratio` (120 %), in bytes per second; `~0` before an RTT sample.
pub fn pacing_rate(t: &TcpSock, ss_ratio: u32, ca_ratio: u32) -> u64 {
    if t.rtt.srtt_us == 0 {
        return u64::MAX;
    }
    let mut rate = u64::from(t.mss_cache) * 1_000_000 * 8;
    let ratio = if t.cwnd < t.ssthresh / 2 {
        ss_ratio
    } else {
        ca_ratio
    };
    rate *= u64::from(ratio);
    rate *= u64::from(t.cwnd.max(t.packets_out));
    rate /= 100;
    rate / u64::from(t.rtt.srtt_us)
}

/// `tcp_update_pacing_rate`: `sk_pacing_rate` after an ACK (and at a passive open), which
/// sizes GSO packets (`tcp_tso_autosize`).
pub(crate) fn tcp_update_pacing_rate(t: &mut TcpSock, sys: &crate::config::Sysctls) {
    t.pacing_rate = pacing_rate(t, sys.tcp_pacing_ss_ratio, sys.tcp_pacing_ca_ratio);
}

/// `tcp_get_info`: the connection's `struct tcp_info` at `now` (`now_j` in the node's
/// jiffies, for the chronographs).
pub fn tcp_get_info(
    t: &TcpSock,
    now: SimTime,
    now_j: u32,
    pmtu: u32,
    pacing: (u32, u32),
) -> TcpInfo {
    let (busy, rwnd_limited, sndbuf_limited) = t.chrono.info(now_j);
    let ms_since = |at: SimTime| (now.saturating_since(at).as_nanos() / 1_000_000) as u32;
    let mut options = 0;
    if t.ts_ok {
        options |= TCPI_OPT_TIMESTAMPS;
    }
    if t.sack_ok {
        options |= TCPI_OPT_SACK;
    }
    if t.wscale_ok {
        options |= TCPI_OPT_WSCALE;
    }
    if t.ecn.ok {
        options |= TCPI_OPT_ECN;
    }
    if t.ecn.seen {
        options |= TCPI_OPT_ECN_SEEN;
    }
    if t.fo.syn_data_acked {
        options |= TCPI_OPT_SYN_DATA;
    }
    let listen = t.state == TcpState::Listen;
    TcpInfo {
        tcpi_state: state_number(t.state),
        tcpi_ca_state: ca_state_number(t.recovery.ca_state),
        tcpi_retransmits: t.timers.retransmits.min(255) as u8,
        tcpi_probes: t.timers.probes_out.min(255) as u8,
        tcpi_backoff: t.timers.backoff.min(255) as u8,
        tcpi_options: options,
        tcpi_snd_wscale: if t.wscale_ok { t.snd_wscale } else { 0 },
        tcpi_rcv_wscale: if t.wscale_ok { t.rcv_wscale } else { 0 },
        tcpi_rto: (t.rtt.rto.as_nanos() / 1_000) as u32,
        tcpi_ato: (t.ack.ato.as_nanos() / 1_000) as u32,
        tcpi_snd_mss: t.mss_cache,
        tcpi_rcv_mss: t.ack.rcv_mss,
        // A listener reports its accept queue and backlog in these two.
        tcpi_unacked: if listen {
            t.accept_queue.len() as u32
        } else {
            t.packets_out
        },
        tcpi_sacked: if listen { t.backlog } else { t.sacked_out },
        tcpi_lost: t.lost_out,
        tcpi_retrans: t.retrans_out,
        tcpi_last_data_sent: ms_since(t.lsndtime),
        tcpi_last_data_recv: ms_since(t.ack.lrcvtime),
        tcpi_last_ack_recv: ms_since(t.rcv_tstamp),
        tcpi_pmtu: pmtu,
        tcpi_rcv_ssthresh: t.rwin.rcv_ssthresh,
        tcpi_rtt: t.rtt.srtt_us >> 3,
        tcpi_rttvar: t.rtt.mdev_us >> 2,
        tcpi_snd_ssthresh: t.ssthresh,
        tcpi_snd_cwnd: t.cwnd,
        tcpi_advmss: t.advmss,
        tcpi_reordering: t.reordering,
        tcpi_reord_seen: t.reord_seen,
        tcpi_dsack_dups: t.dsack_dups,
        tcpi_rcv_rtt: t.rwin.rcv_rtt_us >> 3,
        tcpi_rcv_space: t.rwin.rcvq_space,
        tcpi_total_retrans: t.stats.retrans as u32,
        // BBR sets sk_pacing_rate itself; otherwise the rate tcp_update_pacing_rate gives.
        tcpi_pacing_rate: if t.cong.has_cong_control() {
            t.pacing_rate
        } else {
            pacing_rate(t, pacing.0, pacing.1)
        },
        tcpi_delivery_rate: super::rate::delivery_rate(t),
        tcpi_delivery_rate_app_limited: u8::from(t.rate.rate_app_limited),
        tcpi_max_pacing_rate: u64::MAX,
        tcpi_bytes_acked: t.stats.bytes_acked,
        tcpi_bytes_received: t.stats.bytes_received,
        tcpi_segs_out: t.stats.segs_out as u32,
        tcpi_segs_in: t.stats.segs_in as u32,
        tcpi_notsent_bytes: t.write_seq.wrapping_sub(t.snd_nxt),
        tcpi_min_rtt: t.rtt.min_rtt_us,
        tcpi_data_segs_in: t.stats.data_segs_in as u32,
        tcpi_data_segs_out: t.stats.data_segs_out as u32,
        tcpi_delivered: t.stats.delivered as u32,
        tcpi_delivered_ce: t.stats.delivered_ce as u32,
        tcpi_bytes_sent: t.stats.bytes_sent,
        tcpi_bytes_retrans: t.stats.bytes_retrans,
        tcpi_rcv_ooopack: t.stats.rcv_ooopack as u32,
        tcpi_snd_wnd: t.snd_wnd,
        tcpi_rcv_wnd: t.rwin.rcv_wnd,
        tcpi_total_rto: t.stats.rto_events.min(u64::from(u16::MAX)) as u16,
        tcpi_fastopen_client_fail: t.fo.client_fail,
        tcpi_busy_time: busy,
        tcpi_rwnd_limited: rwnd_limited,
        tcpi_sndbuf_limited: sndbuf_limited,
        ..TcpInfo::default()
    }
}

/// The `tcp:tcp_probe` tracepoint (include/trace/events/tcp.h) as `TP_printk` prints it,
/// for a segment of `data_len` payload bytes arriving on `sock` (its cookie: the socket's
/// number on the node; no `skbaddr` or `skaddr`, kernel pointers). `ssthresh` is
/// `tcp_current_ssthresh`, `srtt` in µs.
pub(crate) fn trace_tcp_probe(
    t: &TcpSock,
    node: &str,
    sock: crate::sock::SockId,
    data_len: usize,
    now: SimTime,
    trace: &mut crate::trace::Trace,
) {
    let reducing = matches!(t.recovery.ca_state, CaState::Cwr | CaState::Recovery);
    let ssthresh = if reducing {
        t.ssthresh
    } else {
        t.ssthresh.max((t.cwnd >> 1) + (t.cwnd >> 2))
    };
    // %pISpc of the socket's family: an AF_INET6 socket's addresses in brackets (an IPv4
    // peer v4-mapped), as the tracepoint stores them.
    let (family, src, dest): (_, std::net::SocketAddr, std::net::SocketAddr) =
        match t.sk.pinet6.as_deref() {
            None => (
                "AF_INET",
                (t.sk.saddr, t.sk.sport).into(),
                (t.sk.daddr, t.sk.dport).into(),
            ),
            Some(np) => (
                "AF_INET6",
                (np.rcv_saddr, t.sk.sport).into(),
                (np.daddr, t.sk.dport).into(),
            ),
        };
    trace.tcp_probe(
        now,
        node,
        format_args!(
            "family={family} src={src} dest={dest} mark=0x0 data_len={data_len} snd_nxt={:#x} \
             snd_una={:#x} snd_cwnd={} ssthresh={ssthresh} snd_wnd={} srtt={} rcv_wnd={} \
             sock_cookie={:x}",
            t.snd_nxt,
            t.snd_una,
            t.cwnd,
            t.snd_wnd,
            t.rtt.srtt_us >> 3,
            t.rwin.rcv_wnd,
            sock,
        ),
    );
}
