//! What `ss -tuni` prints for a node's sockets, byte for byte as iproute2 6.1 prints it
//! (`misc/ss.c`), so that a snapshot diffs against a real machine.
//!
//! Which sockets: ss's default state filter (`SS_CONN`) leaves out listeners, unconnected
//! UDP sockets (`UNCONN`), `TIME-WAIT` and `SYN-RECV`; so a UDP socket is listed once
//! connected (`ESTAB`), a TCP one from `SYN-SENT` to `LAST-ACK`. UDP sockets come first, then
//! TCP (`udp_show` runs before `tcp_show`), each `AF_INET` before `AF_INET6` as ss asks the
//! kernel for one family after the other; within that, in the order the node made them
//! (Linux walks its hash tables, an order no model can repeat).
//!
//! The layout is ss's: every field is a token of a column (`Netid`, `State`, `Recv-Q`,
//! `Send-Q`, `Local Address:` right-aligned, `Port`, `Peer Address:` right-aligned, `Port`,
//! `Process`, and a last one); a column is as wide as its widest token plus its one-space
//! delimiter (`render_calc_width` when the output is not a terminal). A TCP socket's `-i`
//! details go into the `Process` column as `\n\t` and the list, so they widen it, and with it
//! the header's and the UDP lines' padding; all but the very last token count, as ss
//! measures a field when it moves to the next one (`field_flush`) and never moves past the
//! last.
//!
//! The details line is `tcp_stats_print` of the socket's `TCP_INFO` ([`tcp_get_info`] at
//! the snapshot instant, so `lastsnd`, `lastrcv` and `lastack` are ms before it) with its
//! congestion control's name and, for BBR and DCTCP, what `INET_DIAG_BBRINFO` /
//! `INET_DIAG_DCTCPINFO` carry; each item only when ss prints it (a figure that is 0,
//! `ssthresh` from 0xFFFF on, `reordering` when 3, `rto` when 3 s, `minrtt` when `~0`, …).
//! Items the model reports as 0 (see [`crate::tcp::info`]) are therefore not printed:
//! `fackets`.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use sim_core::SimTime;

use super::{SockCommon, Socket, SocketTable};
use crate::qdisc::tc_show::c_g;
use crate::tcp::info::{TCPI_OPT_WSCALE, TcpInfo, tcp_get_info};
use crate::tcp::{TcpSock, TcpState};

/// `INET_DIAG_BBRINFO` (`struct tcp_bbr_info`, as `bbr_get_info` fills it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BbrInfo {
    /// The bandwidth estimate, bytes/s.
    pub bw: u64,
    /// `bbr_min_rtt`, µs.
    pub min_rtt: u32,
    /// `bbr_pacing_gain`, of 256.
    pub pacing_gain: u32,
    /// `bbr_cwnd_gain`, of 256.
    pub cwnd_gain: u32,
}

/// `INET_DIAG_DCTCPINFO` (`struct tcp_dctcp_info`, as `dctcp_get_info` fills it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DctcpInfo {
    /// `dctcp_enabled`: 0 after the fallback to `dctcp-reno`.
    pub enabled: bool,
    /// `dctcp_ce_state`.
    pub ce_state: u32,
    /// `dctcp_alpha`.
    pub alpha: u32,
    /// `dctcp_ab_ecn`.
    pub ab_ecn: u32,
    /// `dctcp_ab_tot`.
    pub ab_tot: u32,
}

/// What ss receives for a TCP socket with `-i`: `INET_DIAG_INFO`, `INET_DIAG_CONG` and the
/// algorithm's own attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpDiag {
    /// `struct tcp_info`.
    pub info: TcpInfo,
    /// The congestion control's name.
    pub cong: &'static str,
    /// BBR's figures.
    pub bbr: Option<BbrInfo>,
    /// DCTCP's figures.
    pub dctcp: Option<DctcpInfo>,
}

/// `sprint_bw` with `-n`: `%.0f`.
fn bw(v: f64) -> String {
    format!("{v:.0}")
}

/// `tcp_stats_print` after `tcp_show_info`'s conversions, without `-o` (no `ts`, `sack`,
/// `ecn` flags): the details line's items, each starting with a space.
pub fn tcp_stats_print(d: &TcpDiag) -> String {
    let i = &d.info;
    let g = |v: f64| c_g(v, 6);
    let mut o = String::new();
    let mut out = |s: std::fmt::Arguments<'_>| {
        let _ = o.write_fmt(s);
    };
    if !d.cong.is_empty() {
        out(format_args!(" {}", d.cong));
    }
    if i.tcpi_options & TCPI_OPT_WSCALE != 0 {
        out(format_args!(
            " wscale:{},{}",
            i.tcpi_snd_wscale, i.tcpi_rcv_wscale
        ));
    }
    if i.tcpi_rto != 0 && i.tcpi_rto != 3_000_000 {
        out(format_args!(" rto:{}", g(f64::from(i.tcpi_rto) / 1000.0)));
    }
    if i.tcpi_backoff != 0 {
        out(format_args!(" backoff:{}", i.tcpi_backoff));
    }
    if i.tcpi_rtt != 0 {
        out(format_args!(
            " rtt:{}/{}",
            g(f64::from(i.tcpi_rtt) / 1000.0),
            g(f64::from(i.tcpi_rttvar) / 1000.0)
        ));
    }
    if i.tcpi_ato != 0 {
        out(format_args!(" ato:{}", g(f64::from(i.tcpi_ato) / 1000.0)));
    }
    for (name, v) in [
        ("mss", i.tcpi_snd_mss),
        ("pmtu", i.tcpi_pmtu),
        ("rcvmss", i.tcpi_rcv_mss),
        ("advmss", i.tcpi_advmss),
        ("cwnd", i.tcpi_snd_cwnd),
    ] {
        if v != 0 {
            out(format_args!(" {name}:{v}"));
        }
    }
    if i.tcpi_snd_ssthresh < 0xFFFF && i.tcpi_snd_ssthresh != 0 {
        out(format_args!(" ssthresh:{}", i.tcpi_snd_ssthresh));
    }
    for (name, v) in [
        ("bytes_sent", i.tcpi_bytes_sent),
        ("bytes_retrans", i.tcpi_bytes_retrans),
        ("bytes_acked", i.tcpi_bytes_acked),
        ("bytes_received", i.tcpi_bytes_received),
        ("segs_out", u64::from(i.tcpi_segs_out)),
        ("segs_in", u64::from(i.tcpi_segs_in)),
        ("data_segs_out", u64::from(i.tcpi_data_segs_out)),
        ("data_segs_in", u64::from(i.tcpi_data_segs_in)),
    ] {
        if v != 0 {
            out(format_args!(" {name}:{v}"));
        }
    }
    match d.dctcp {
        Some(x) if x.enabled => out(format_args!(
            " dctcp:(ce_state:{},alpha:{},ab_ecn:{},ab_tot:{})",
            x.ce_state, x.alpha, x.ab_ecn, x.ab_tot
        )),
        Some(_) => out(format_args!(" dctcp:fallback_mode")),
        None => {}
    }
    if let Some(b) = d.bbr {
        out(format_args!(
            " bbr:(bw:{}bps,mrtt:{}",
            bw(b.bw as f64 * 8.0),
            g(f64::from(b.min_rtt) / 1000.0)
        ));
        if b.pacing_gain != 0 {
            out(format_args!(
                ",pacing_gain:{}",
                g(f64::from(b.pacing_gain) / 256.0)
            ));
        }
        if b.cwnd_gain != 0 {
            out(format_args!(
                ",cwnd_gain:{}",
                g(f64::from(b.cwnd_gain) / 256.0)
            ));
        }
        out(format_args!(")"));
    }
    if i.tcpi_rtt > 0 && i.tcpi_snd_mss != 0 && i.tcpi_snd_cwnd != 0 {
        let send = f64::from(i.tcpi_snd_cwnd) * f64::from(i.tcpi_snd_mss) * 8_000_000.0
            / f64::from(i.tcpi_rtt);
        out(format_args!(" send {}bps", bw(send)));
    }
    for (name, v) in [
        ("lastsnd", i.tcpi_last_data_sent),
        ("lastrcv", i.tcpi_last_data_recv),
        ("lastack", i.tcpi_last_ack_recv),
    ] {
        if v != 0 {
            out(format_args!(" {name}:{v}"));
        }
    }
    if i.tcpi_pacing_rate != 0 && i.tcpi_pacing_rate != u64::MAX {
        out(format_args!(
            " pacing_rate {}bps",
            bw(i.tcpi_pacing_rate as f64 * 8.0)
        ));
        if i.tcpi_max_pacing_rate != 0 && i.tcpi_max_pacing_rate != u64::MAX {
            out(format_args!(
                "/{}bps",
                bw(i.tcpi_max_pacing_rate as f64 * 8.0)
            ));
        }
    }
    if i.tcpi_delivery_rate != 0 {
        out(format_args!(
            " delivery_rate {}bps",
            bw(i.tcpi_delivery_rate as f64 * 8.0)
        ));
    }
    if i.tcpi_delivered != 0 {
        out(format_args!(" delivered:{}", i.tcpi_delivered));
    }
    if i.tcpi_delivered_ce != 0 {
        out(format_args!(" delivered_ce:{}", i.tcpi_delivered_ce));
    }
    if i.tcpi_delivery_rate_app_limited != 0 {
        out(format_args!(" app_limited"));
    }
    if i.tcpi_busy_time != 0 {
        let busy = i.tcpi_busy_time as f64;
        out(format_args!(" busy:{}ms", i.tcpi_busy_time / 1000));
        if i.tcpi_rwnd_limited != 0 {
            out(format_args!(
                " rwnd_limited:{}ms({:.1}%)",
                i.tcpi_rwnd_limited / 1000,
                100.0 * i.tcpi_rwnd_limited as f64 / busy
            ));
        }
        if i.tcpi_sndbuf_limited != 0 {
            out(format_args!(
                " sndbuf_limited:{}ms({:.1}%)",
                i.tcpi_sndbuf_limited / 1000,
                100.0 * i.tcpi_sndbuf_limited as f64 / busy
            ));
        }
    }
    if i.tcpi_unacked != 0 {
        out(format_args!(" unacked:{}", i.tcpi_unacked));
    }
    if i.tcpi_retrans != 0 || i.tcpi_total_retrans != 0 {
        out(format_args!(
            " retrans:{}/{}",
            i.tcpi_retrans, i.tcpi_total_retrans
        ));
    }
    if i.tcpi_lost != 0 {
        out(format_args!(" lost:{}", i.tcpi_lost));
    }
    // TCP_LISTEN is 10.
    if i.tcpi_sacked != 0 && i.tcpi_state != 10 {
        out(format_args!(" sacked:{}", i.tcpi_sacked));
    }
    if i.tcpi_dsack_dups != 0 {
        out(format_args!(" dsack_dups:{}", i.tcpi_dsack_dups));
    }
    if i.tcpi_fackets != 0 {
        out(format_args!(" fackets:{}", i.tcpi_fackets));
    }
    if i.tcpi_reordering != 3 {
        out(format_args!(" reordering:{}", i.tcpi_reordering));
    }
    if i.tcpi_reord_seen != 0 {
        out(format_args!(" reord_seen:{}", i.tcpi_reord_seen));
    }
    if i.tcpi_rcv_rtt != 0 {
        out(format_args!(
            " rcv_rtt:{}",
            g(f64::from(i.tcpi_rcv_rtt) / 1000.0)
        ));
    }
    if i.tcpi_rcv_space != 0 {
        out(format_args!(" rcv_space:{}", i.tcpi_rcv_space));
    }
    if i.tcpi_rcv_ssthresh != 0 {
        out(format_args!(" rcv_ssthresh:{}", i.tcpi_rcv_ssthresh));
    }
    if i.tcpi_notsent_bytes != 0 {
        out(format_args!(" notsent:{}", i.tcpi_notsent_bytes));
    }
    if i.tcpi_min_rtt != 0 && i.tcpi_min_rtt != u32::MAX {
        out(format_args!(
            " minrtt:{}",
            g(f64::from(i.tcpi_min_rtt) / 1000.0)
        ));
    }
    if i.tcpi_rcv_ooopack != 0 {
        out(format_args!(" rcv_ooopack:{}", i.tcpi_rcv_ooopack));
    }
    if i.tcpi_snd_wnd != 0 {
        out(format_args!(" snd_wnd:{}", i.tcpi_snd_wnd));
    }
    o
}

/// One socket line of ss, before layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsLine {
    /// `udp` or `tcp`.
    pub netid: &'static str,
    /// `ESTAB`, `SYN-SENT`, …
    pub state: &'static str,
    /// `Recv-Q`: bytes not read (TCP), or `sk_rmem_alloc` (UDP).
    pub recv_q: u32,
    /// `Send-Q`: bytes not acknowledged (TCP), or `sk_wmem_alloc` (UDP).
    pub send_q: u32,
    /// The local address as ss prints it (`10.0.0.1`, `[2001:db8::1]`).
    pub local: String,
    /// The local port.
    pub lport: u16,
    /// The peer's address.
    pub peer: String,
    /// The peer's port.
    pub rport: u16,
    /// The `-i` details (TCP).
    pub tcp: Option<TcpDiag>,
}

/// ss's columns: alignment (right or not) and left delimiter (`columns[]`).
const COLUMNS: [(bool, &str); 10] = [
    (false, ""),
    (false, " "),
    (false, " "),
    (false, " "),
    (true, " "),
    (false, ""),
    (true, " "),
    (false, ""),
    (false, ""),
    (false, ""),
];

/// ss's header tokens (the last column has none; its empty token is flushed when the first
/// socket starts).
const HEADER: [&str; 9] = [
    "Netid",
    "State",
    "Recv-Q",
    "Send-Q",
    "Local Address:",
    "Port",
    "Peer Address:",
    "Port",
    "Process",
];

/// The whole output of `ss -tuni` for `lines` (in the order given), laid out as `render`
/// lays it out on a pipe.
pub fn ss_render(lines: &[SsLine]) -> String {
    // The tokens, row by row; the very last one is never measured.
    let mut rows: Vec<Vec<String>> = vec![HEADER.iter().map(|s| s.to_string()).collect()];
    for l in lines {
        rows.last_mut().expect("the header").push(String::new());
        let ext = l
            .tcp
            .as_ref()
            .map(|d| format!("\n\t{}", tcp_stats_print(d)))
            .unwrap_or_default();
        rows.push(vec![
            l.netid.to_string(),
            l.state.to_string(),
            format!("{:<6}", l.recv_q),
            format!("{:<6}", l.send_q),
            format!("{}:", l.local),
            l.lport.to_string(),
            format!("{}:", l.peer),
            l.rport.to_string(),
            ext,
        ]);
    }
    if lines.is_empty() {
        rows[0].push(String::new());
    }
    let mut max_len = [0usize; 10];
    let total: usize = rows.iter().map(Vec::len).sum();
    let mut seen = 0;
    for row in &rows {
        for (c, tok) in row.iter().enumerate() {
            seen += 1;
            if seen < total {
                max_len[c] = max_len[c].max(tok.len());
            }
        }
    }
    let mut width = [0usize; 10];
    let mut first = true;
    for c in 0..10 {
        width[c] = if !first && max_len[c] > 0 {
            max_len[c] + COLUMNS[c].1.len()
        } else {
            max_len[c]
        };
        if width[c] > 0 {
            first = false;
        }
    }
    let mut out = String::new();
    for row in &rows {
        for (c, tok) in row.iter().enumerate() {
            let (right, delim) = COLUMNS[c];
            let mut printed = 0;
            if c > 0 {
                out.push_str(delim);
                printed = delim.len();
            }
            if right && width[c] > 0 {
                let s = width[c].saturating_sub(tok.len() + printed);
                out.extend(std::iter::repeat_n(' ', s));
                printed += s;
            }
            out.push_str(tok);
            printed += tok.len();
            if !right && width[c] > 0 {
                out.extend(std::iter::repeat_n(' ', width[c].saturating_sub(printed)));
            }
        }
        out.push('\n');
    }
    out
}

/// ss's address text for an IPv4 address.
fn v4(a: Ipv4Addr) -> String {
    a.to_string()
}

/// ss's address text for an IPv6 one: bracketed.
fn v6(a: Ipv6Addr) -> String {
    format!("[{a}]")
}

/// The local and peer addresses as the socket's family shows them: an `AF_INET6` socket's
/// in brackets (an IPv4 peer v4-mapped).
fn addrs(sk: &SockCommon) -> (String, String) {
    match sk.pinet6.as_deref() {
        None => (v4(sk.saddr), v4(sk.daddr)),
        Some(np) => {
            let local = if !np.rcv_saddr.is_unspecified() {
                np.rcv_saddr
            } else if !np.saddr.is_unspecified() || np.is_v6_flow() {
                np.saddr
            } else {
                sk.saddr.to_ipv6_mapped()
            };
            (v6(local), v6(np.daddr))
        }
    }
}

/// What ss receives for TCP socket `t` at `now` (`now_j` in the node's jiffies; `pacing`:
/// the node's `tcp_pacing_ss_ratio` and `tcp_pacing_ca_ratio`).
pub fn tcp_diag(t: &TcpSock, now: SimTime, now_j: u32, pacing: (u32, u32)) -> TcpDiag {
    let pmtu = t.sk.dst_cache.map_or(0, |d| d.dst.mtu);
    let info = tcp_get_info(t, now, now_j, pmtu, pacing);
    let cong = t.cong.name();
    let bbr = t.cong.bbr().map(|b| {
        let r = b.report(t);
        BbrInfo {
            bw: r.bw,
            min_rtt: r.min_rtt_us,
            pacing_gain: r.pacing_gain,
            cwnd_gain: r.cwnd_gain,
        }
    });
    let dctcp = if cong == "dctcp-reno" {
        Some(DctcpInfo {
            enabled: false,
            ce_state: 0,
            alpha: 0,
            ab_ecn: 0,
            ab_tot: 0,
        })
    } else {
        t.report().dctcp.map(|d| DctcpInfo {
            enabled: true,
            ce_state: u32::from(d.ce_state),
            alpha: d.alpha,
            ab_ecn: d.ab_ecn as u32,
            ab_tot: d.ab_tot as u32,
        })
    };
    TcpDiag {
        info,
        cong,
        bbr,
        dctcp,
    }
}

/// `ss -tuni`'s output for a node's sockets at `now` (`now_j` and `pacing` as for
/// [`tcp_diag`]).
pub fn ss_tuni(socks: &SocketTable, now: SimTime, now_j: u32, pacing: (u32, u32)) -> String {
    let mut udp = [Vec::new(), Vec::new()];
    let mut tcp = [Vec::new(), Vec::new()];
    for (_, s) in socks.iter() {
        match s {
            Socket::Udp(u) if u.connected => {
                let (local, peer) = addrs(&u.sk);
                udp[usize::from(u.sk.pinet6.is_some())].push(SsLine {
                    netid: "udp",
                    state: "ESTAB",
                    recv_q: u.sk.rmem_alloc,
                    send_q: u.sk.wmem_alloc,
                    local,
                    lport: u.sk.sport,
                    peer,
                    rport: u.sk.dport,
                    tcp: None,
                });
            }
            Socket::Tcp(t)
                if !matches!(
                    t.state,
                    TcpState::Listen | TcpState::Closed | TcpState::TimeWait | TcpState::SynRecv
                ) =>
            {
                let (local, peer) = addrs(&t.sk);
                tcp[usize::from(t.sk.pinet6.is_some())].push(SsLine {
                    netid: "tcp",
                    state: t.state.name(),
                    // `max_t(int, rcv_nxt - copied_seq, 0)`.
                    recv_q: (t.rcv_nxt.wrapping_sub(t.copied_seq) as i32).max(0) as u32,
                    send_q: t.write_seq.wrapping_sub(t.snd_una),
                    local,
                    lport: t.sk.sport,
                    peer,
                    rport: t.sk.dport,
                    tcp: Some(tcp_diag(t, now, now_j, pacing)),
                });
            }
            _ => {}
        }
    }
    let lines: Vec<SsLine> = udp.into_iter().chain(tcp).flatten().collect();
    ss_render(&lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ss -tuni` on Linux 6.18 (iproute2 6.1) in a network namespace: a connected UDP
    /// socket and a BBR connection that sent 2 MB.
    const REAL_ONE: &str = "Netid State Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess
udp   ESTAB 0      0           10.0.0.1:5353      10.0.0.2:53         
tcp   ESTAB 0      0           10.0.0.1:60552     10.0.0.2:5001
\t bbr wscale:10,10 rto:204 rtt:0.257/0.39 ato:40 mss:1448 pmtu:1500 rcvmss:536 advmss:1448 cwnd:544 ssthresh:180 bytes_sent:2000000 bytes_acked:2000001 bytes_received:2 segs_out:1385 segs_in:27 data_segs_out:1382 data_segs_in:1 bbr:(bw:52128000000bps,mrtt:0.01,pacing_gain:1,cwnd_gain:2) send 24520217899bps lastsnd:1844 lastrcv:1844 lastack:1844 pacing_rate 51606720000bps delivery_rate 15796363632bps delivered:1383 busy:4ms rcv_space:14480 rcv_ssthresh:64088 minrtt:0.01 snd_wnd:2265088
";

    fn bbr_sender() -> TcpDiag {
        TcpDiag {
            info: TcpInfo {
                tcpi_state: 1,
                tcpi_options: TCPI_OPT_WSCALE | 3,
                tcpi_snd_wscale: 10,
                tcpi_rcv_wscale: 10,
                tcpi_rto: 204_000,
                tcpi_rtt: 257,
                tcpi_rttvar: 390,
                tcpi_ato: 40_000,
                tcpi_snd_mss: 1448,
                tcpi_pmtu: 1500,
                tcpi_rcv_mss: 536,
                tcpi_advmss: 1448,
                tcpi_snd_cwnd: 544,
                tcpi_snd_ssthresh: 180,
                tcpi_bytes_sent: 2_000_000,
                tcpi_bytes_acked: 2_000_001,
                tcpi_bytes_received: 2,
                tcpi_segs_out: 1385,
                tcpi_segs_in: 27,
                tcpi_data_segs_out: 1382,
                tcpi_data_segs_in: 1,
                tcpi_last_data_sent: 1844,
                tcpi_last_data_recv: 1844,
                tcpi_last_ack_recv: 1844,
                tcpi_pacing_rate: 6_450_840_000,
                tcpi_max_pacing_rate: u64::MAX,
                tcpi_delivery_rate: 1_974_545_454,
                tcpi_delivered: 1383,
                tcpi_busy_time: 4_321,
                tcpi_reordering: 3,
                tcpi_rcv_space: 14480,
                tcpi_rcv_ssthresh: 64088,
                tcpi_min_rtt: 10,
                tcpi_snd_wnd: 2_265_088,
                ..TcpInfo::default()
            },
            cong: "bbr",
            bbr: Some(BbrInfo {
                bw: 6_516_000_000,
                min_rtt: 10,
                pacing_gain: 256,
                cwnd_gain: 512,
            }),
            dctcp: None,
        }
    }

    #[test]
    fn matches_real_ss() {
        let lines = [
            SsLine {
                netid: "udp",
                state: "ESTAB",
                recv_q: 0,
                send_q: 0,
                local: "10.0.0.1".into(),
                lport: 5353,
                peer: "10.0.0.2".into(),
                rport: 53,
                tcp: None,
            },
            SsLine {
                netid: "tcp",
                state: "ESTAB",
                recv_q: 0,
                send_q: 0,
                local: "10.0.0.1".into(),
                lport: 60552,
                peer: "10.0.0.2".into(),
                rport: 5001,
                tcp: Some(bbr_sender()),
            },
        ];
        assert_eq!(ss_render(&lines), REAL_ONE);
    }

    /// Two connections: the first one's details widen the `Process` column, so the header
    /// is padded to them (ss 6.1 on the same machine; its second line was longer than the
    /// first, here it is shorter).
    #[test]
    fn details_widen_the_header() {
        let a = "\t bbr wscale:10,10 rto:204 rtt:0.033/0.018 mss:1448 pmtu:1500 rcvmss:536 advmss:1448 cwnd:11 bytes_sent:1000 bytes_acked:1001 segs_out:3 segs_in:2 data_segs_out:1 bbr:(bw:1053090592bps,mrtt:0.011,pacing_gain:2.88672,cwnd_gain:2.88672) send 3861333333bps lastsnd:1256 lastrcv:1256 lastack:1256 pacing_rate 8947391176bps delivery_rate 1053090904bps delivered:2 app_limited rcv_space:14480 rcv_ssthresh:64088 minrtt:0.011 snd_wnd:68608";
        let real = format!(
            "Netid State Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess{}\n\
             tcp   ESTAB 0      0           10.0.0.1:58242     10.0.0.2:5002\n{a}\n\
             tcp   ESTAB 0      0           10.0.0.1:58252     10.0.0.2:5002\n\t x{}\n",
            " ".repeat(a.len() + 1 - "Process".len()),
            // The last token is not measured, but it is padded to the column like the
            // others (`print_right_spacing`).
            " ".repeat(a.len() + 1 - "\n\t x".len())
        );
        let info = TcpInfo {
            tcpi_options: TCPI_OPT_WSCALE,
            tcpi_snd_wscale: 10,
            tcpi_rcv_wscale: 10,
            tcpi_rto: 204_000,
            tcpi_rtt: 33,
            tcpi_rttvar: 18,
            tcpi_snd_mss: 1448,
            tcpi_pmtu: 1500,
            tcpi_rcv_mss: 536,
            tcpi_advmss: 1448,
            tcpi_snd_cwnd: 11,
            tcpi_snd_ssthresh: u32::MAX >> 1,
            tcpi_bytes_sent: 1000,
            tcpi_bytes_acked: 1001,
            tcpi_segs_out: 3,
            tcpi_segs_in: 2,
            tcpi_data_segs_out: 1,
            tcpi_last_data_sent: 1256,
            tcpi_last_data_recv: 1256,
            tcpi_last_ack_recv: 1256,
            tcpi_pacing_rate: 1_118_423_897,
            tcpi_max_pacing_rate: u64::MAX,
            tcpi_delivery_rate: 131_636_363,
            tcpi_delivery_rate_app_limited: 1,
            tcpi_delivered: 2,
            tcpi_reordering: 3,
            tcpi_rcv_space: 14480,
            tcpi_rcv_ssthresh: 64088,
            tcpi_min_rtt: 11,
            tcpi_snd_wnd: 68608,
            ..TcpInfo::default()
        };
        let first = TcpDiag {
            info,
            cong: "bbr",
            bbr: Some(BbrInfo {
                bw: 131_636_324,
                min_rtt: 11,
                pacing_gain: 739,
                cwnd_gain: 739,
            }),
            dctcp: None,
        };
        assert_eq!(format!("\t{}", tcp_stats_print(&first)), a);
        let line = |lport, tcp| SsLine {
            netid: "tcp",
            state: "ESTAB",
            recv_q: 0,
            send_q: 0,
            local: "10.0.0.1".into(),
            lport,
            peer: "10.0.0.2".into(),
            rport: 5002,
            tcp,
        };
        let second = TcpDiag {
            info: TcpInfo {
                tcpi_reordering: 3,
                ..TcpInfo::default()
            },
            cong: "x",
            bbr: None,
            dctcp: None,
        };
        assert_eq!(
            ss_render(&[line(58242, Some(first)), line(58252, Some(second))]),
            real
        );
    }

    /// A Reno sender behind a tbf that drops, and its BBR receiver, each `ss -tuni` of its
    /// own namespace (Linux 6.18, iproute2 6.1): retransmissions, `unacked`, `notsent`,
    /// `busy`, a receive queue, BBR before its first bandwidth sample.
    #[test]
    fn reno_sender_and_bbr_receiver() {
        let sender = "Netid State Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess
tcp   ESTAB 0      73848       10.0.0.1:55906     10.0.0.2:5003
\t reno wscale:10,10 rto:208 rtt:5.749/0.519 mss:1448 pmtu:1500 rcvmss:536 advmss:1448 cwnd:11 ssthresh:7 bytes_sent:5965760 bytes_retrans:10136 bytes_acked:5836889 segs_out:4122 segs_in:865 data_segs_out:4120 send 22164550bps lastrcv:2488 pacing_rate 26596880bps delivery_rate 19049496bps delivered:4032 busy:2472ms unacked:10 retrans:0/7 rcv_space:14480 rcv_ssthresh:64088 notsent:59368 minrtt:0.035 snd_wnd:193536
";
        let receiver = "Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process
tcp   ESTAB 1448   0           10.0.0.2:5003     10.0.0.1:55906
\t bbr wscale:10,10 rto:200 rtt:0.032/0.016 ato:40 mss:1448 pmtu:1500 rcvmss:1448 advmss:1448 cwnd:10 bytes_received:5962864 segs_out:882 segs_in:4120 data_segs_in:4118 bbr:(bw:0bps,mrtt:0.032) send 3620000000bps lastsnd:2540 pacing_rate 10345422656bps delivered:1 app_limited rcv_rtt:4.125 rcv_space:49232 rcv_ssthresh:192645 minrtt:0.032 rcv_ooopack:47 snd_wnd:64512
";
        let common = TcpInfo {
            tcpi_state: 1,
            tcpi_options: TCPI_OPT_WSCALE,
            tcpi_snd_wscale: 10,
            tcpi_rcv_wscale: 10,
            tcpi_snd_mss: 1448,
            tcpi_pmtu: 1500,
            tcpi_advmss: 1448,
            tcpi_reordering: 3,
            tcpi_max_pacing_rate: u64::MAX,
            ..TcpInfo::default()
        };
        let reno = TcpDiag {
            info: TcpInfo {
                tcpi_rto: 208_000,
                tcpi_rtt: 5749,
                tcpi_rttvar: 519,
                tcpi_rcv_mss: 536,
                tcpi_snd_cwnd: 11,
                tcpi_snd_ssthresh: 7,
                tcpi_bytes_sent: 5_965_760,
                tcpi_bytes_retrans: 10_136,
                tcpi_bytes_acked: 5_836_889,
                tcpi_segs_out: 4122,
                tcpi_segs_in: 865,
                tcpi_data_segs_out: 4120,
                tcpi_last_data_recv: 2488,
                tcpi_pacing_rate: 3_324_610,
                tcpi_delivery_rate: 2_381_187,
                tcpi_delivered: 4032,
                tcpi_busy_time: 2_472_913,
                tcpi_unacked: 10,
                tcpi_total_retrans: 7,
                tcpi_rcv_space: 14480,
                tcpi_rcv_ssthresh: 64088,
                tcpi_notsent_bytes: 59368,
                tcpi_min_rtt: 35,
                tcpi_snd_wnd: 193_536,
                ..common.clone()
            },
            cong: "reno",
            bbr: None,
            dctcp: None,
        };
        let bbr = TcpDiag {
            info: TcpInfo {
                tcpi_rto: 200_000,
                tcpi_rtt: 32,
                tcpi_rttvar: 16,
                tcpi_ato: 40_000,
                tcpi_rcv_mss: 1448,
                tcpi_snd_cwnd: 10,
                tcpi_snd_ssthresh: i32::MAX as u32,
                tcpi_bytes_received: 5_962_864,
                tcpi_segs_out: 882,
                tcpi_segs_in: 4120,
                tcpi_data_segs_in: 4118,
                tcpi_last_data_sent: 2540,
                tcpi_pacing_rate: 1_293_177_832,
                tcpi_delivered: 1,
                tcpi_delivery_rate_app_limited: 1,
                tcpi_rcv_rtt: 4125,
                tcpi_rcv_space: 49232,
                tcpi_rcv_ssthresh: 192_645,
                tcpi_min_rtt: 32,
                tcpi_rcv_ooopack: 47,
                tcpi_snd_wnd: 64512,
                ..common
            },
            cong: "bbr",
            bbr: Some(BbrInfo {
                bw: 0,
                min_rtt: 32,
                pacing_gain: 0,
                cwnd_gain: 0,
            }),
            dctcp: None,
        };
        let line = |recv_q, send_q, local: &str, lport, peer: &str, rport, d| SsLine {
            netid: "tcp",
            state: "ESTAB",
            recv_q,
            send_q,
            local: local.into(),
            lport,
            peer: peer.into(),
            rport,
            tcp: Some(d),
        };
        assert_eq!(
            ss_render(&[line(0, 73848, "10.0.0.1", 55906, "10.0.0.2", 5003, reno)]),
            sender
        );
        assert_eq!(
            ss_render(&[line(1448, 0, "10.0.0.2", 5003, "10.0.0.1", 55906, bbr)]),
            receiver
        );
    }

    #[test]
    fn no_sockets_and_dctcp() {
        assert_eq!(
            ss_render(&[]),
            "Netid State Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
        );
        let d = TcpDiag {
            info: TcpInfo {
                tcpi_reordering: 3,
                tcpi_retrans: 1,
                tcpi_total_retrans: 4,
                tcpi_min_rtt: u32::MAX,
                ..TcpInfo::default()
            },
            cong: "dctcp",
            bbr: None,
            dctcp: Some(DctcpInfo {
                enabled: true,
                ce_state: 0,
                alpha: 1024,
                ab_ecn: 0,
                ab_tot: 2896,
            }),
        };
        assert_eq!(
            tcp_stats_print(&d),
            " dctcp dctcp:(ce_state:0,alpha:1024,ab_ecn:0,ab_tot:2896) retrans:1/4"
        );
    }
}
