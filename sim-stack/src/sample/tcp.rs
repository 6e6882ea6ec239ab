//! `samples/tcp.csv`: every TCP connection (not listening, closed or in TIME-WAIT: Linux
//! keeps a time-wait socket as a minisock without `tcp_info`), as `tcp_info`
//! ([`crate::tcp::info::tcp_get_info`]) reports it at the instant, one row per socket.

use std::io::{self, Write};

use sim_core::SimTime;

use crate::config::{NodeId, Scenario};
use crate::sock::Socket;
use crate::tcp::info::tcp_get_info;
use crate::tcp::{CaState, TcpSock, TcpState};
use crate::world::World;

/// The header of `tcp.csv`.
pub const HEADER: &str = "time_ns,node,sock,cc,state,ca_state,snd_cwnd,snd_ssthresh,rtt_us,\
rttvar_us,rto_us,min_rtt_us,pacing_rate,delivery_rate,bytes_sent,bytes_acked,bytes_received,\
segs_out,segs_in,unacked,sacked,lost,retrans,total_retrans,reordering,snd_mss,notsent_bytes,\
busy_time_us,rwnd_limited_us,sndbuf_limited_us,delivery_rate_app_limited\n";

/// The nodes whose sockets are sampled.
#[derive(Debug)]
pub(super) struct TcpRows {
    nodes: Vec<usize>,
}

/// `icsk_ca_state` as ss and the kernel's `tcp_ca_state` names print it.
pub fn ca_state_name(s: CaState) -> &'static str {
    match s {
        CaState::Open => "Open",
        CaState::Disorder => "Disorder",
        CaState::Cwr => "CWR",
        CaState::Recovery => "Recovery",
        CaState::Loss => "Loss",
    }
}

/// `LOCAL-PEER` of a connection (`10.0.0.1:40000-10.0.1.1:5001`, IPv6 in brackets).
pub fn sock_name(t: &TcpSock) -> String {
    let r = t.endpoints();
    format!("{}-{}", r.0, r.1)
}

impl TcpRows {
    pub(super) fn new(world: &World, scenario: &Scenario, nodes: &[NodeId]) -> Self {
        Self {
            nodes: super::chosen_nodes(world, scenario, nodes),
        }
    }

    /// Writes the rows of instant `at`; returns how many.
    pub(super) fn write(&self, world: &World, at: SimTime, out: &mut dyn Write) -> io::Result<u64> {
        let mut rows = 0;
        let time = at.as_nanos();
        for &ni in &self.nodes {
            let n = &world.nodes[ni];
            let pacing = (n.sysctl.tcp_pacing_ss_ratio, n.sysctl.tcp_pacing_ca_ratio);
            let now_j = crate::jiffies::jiffies(at, n.jiffies_phase) as u32;
            for (_, sk) in n.socks.iter() {
                let Socket::Tcp(t) = sk else { continue };
                if matches!(
                    t.state,
                    TcpState::Listen | TcpState::Closed | TcpState::TimeWait
                ) {
                    continue;
                }
                let pmtu = t.sk.dst_cache.map_or(0, |d| d.dst.mtu);
                let i = tcp_get_info(t, at, now_j, pmtu, pacing);
                let (local, peer) = t.endpoints();
                writeln!(
                    out,
                    "{time},{},{local}-{peer},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},\
                     {},{},{},{},{},{},{},{},{},{},{}",
                    n.name,
                    t.cong.name(),
                    t.state.name(),
                    ca_state_name(t.recovery.ca_state),
                    i.tcpi_snd_cwnd,
                    i.tcpi_snd_ssthresh,
                    i.tcpi_rtt,
                    i.tcpi_rttvar,
                    i.tcpi_rto,
                    i.tcpi_min_rtt,
                    i.tcpi_pacing_rate,
                    i.tcpi_delivery_rate,
                    i.tcpi_bytes_sent,
                    i.tcpi_bytes_acked,
                    i.tcpi_bytes_received,
                    i.tcpi_segs_out,
                    i.tcpi_segs_in,
                    i.tcpi_unacked,
                    i.tcpi_sacked,
                    i.tcpi_lost,
                    i.tcpi_retrans,
                    i.tcpi_total_retrans,
                    i.tcpi_reordering,
                    i.tcpi_snd_mss,
                    i.tcpi_notsent_bytes,
                    i.tcpi_busy_time,
                    i.tcpi_rwnd_limited,
                    i.tcpi_sndbuf_limited,
                    i.tcpi_delivery_rate_app_limited,
                )?;
                rows += 1;
            }
        }
        Ok(rows)
    }
}
