//! `samples/tcp.csv`: every TCP connection (not listening, closed or in TIME-WAIT: Linux
//! keeps a time-wait socket as a minisock without `tcp_info`), as `tcp_info`
//! ([`crate::tcp::info::tcp_get_info`]) reports it at the instant, one row per socket.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use sim_core::SimTime;

use crate::config::{NodeId, Scenario};
use crate::sock::Socket;
use crate::tcp::info::tcp_get_info;
use crate::tcp::{CaState, TcpSock, TcpState};
use crate::world::World;
use crate::world::distributed::Owner;

use super::csv::Rows;

/// The header of `tcp.csv`.
pub const HEADER: &str = "time_ns,node,sock,cc,state,ca_state,snd_cwnd,snd_ssthresh,rtt_us,\
rttvar_us,rto_us,min_rtt_us,pacing_rate,delivery_rate,bytes_sent,bytes_acked,bytes_received,\
segs_out,segs_in,unacked,sacked,lost,retrans,total_retrans,reordering,snd_mss,notsent_bytes,\
busy_time_us,rwnd_limited_us,sndbuf_limited_us,delivery_rate_app_limited\n";

/// A connection's addresses and ports ([`TcpSock::addrs`]): what its row's `node,sock,`
/// prefix is made of.
type ConnKey = (SocketAddr, SocketAddr);

/// The nodes whose sockets are sampled, and each connection's `,node,sock,cc,` text.
#[derive(Debug)]
pub(super) struct TcpRows {
    nodes: Vec<usize>,
    prefixes: BTreeMap<(usize, ConnKey), String>,
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
    let (local, peer) = t.endpoints();
    format!("{local}-{peer}")
}

impl TcpRows {
    pub(super) fn new(world: &World, scenario: &Scenario, nodes: &[NodeId]) -> Self {
        Self {
            nodes: super::chosen_nodes(world, scenario, nodes),
            prefixes: BTreeMap::new(),
        }
    }

    /// Writes the rows of instant `at` (of the nodes `own` owns, if given); returns how many.
    pub(super) fn write(
        &mut self,
        world: &World,
        at: SimTime,
        own: Option<&Owner<'_>>,
        out: &mut Rows,
    ) -> u64 {
        let mut rows = 0;
        let time = at.as_nanos();
        for (k, &ni) in self.nodes.iter().enumerate() {
            if let Some(o) = own {
                if !o.node(ni) {
                    continue;
                }
                out.item(k);
            }
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
                let prefix = self
                    .prefixes
                    .entry((ni, t.addrs()))
                    .or_insert_with(|| format!(",{},{},{},", n.name, sock_name(t), t.cong.name()));
                out.uint(time);
                out.text(prefix);
                out.text(t.state.name());
                out.text(",");
                out.text(ca_state_name(t.recovery.ca_state));
                for v in [
                    u64::from(i.tcpi_snd_cwnd),
                    u64::from(i.tcpi_snd_ssthresh),
                    u64::from(i.tcpi_rtt),
                    u64::from(i.tcpi_rttvar),
                    u64::from(i.tcpi_rto),
                    u64::from(i.tcpi_min_rtt),
                    i.tcpi_pacing_rate,
                    i.tcpi_delivery_rate,
                    i.tcpi_bytes_sent,
                    i.tcpi_bytes_acked,
                    i.tcpi_bytes_received,
                    u64::from(i.tcpi_segs_out),
                    u64::from(i.tcpi_segs_in),
                    u64::from(i.tcpi_unacked),
                    u64::from(i.tcpi_sacked),
                    u64::from(i.tcpi_lost),
                    u64::from(i.tcpi_retrans),
                    u64::from(i.tcpi_total_retrans),
                    u64::from(i.tcpi_reordering),
                    u64::from(i.tcpi_snd_mss),
                    u64::from(i.tcpi_notsent_bytes),
                    i.tcpi_busy_time,
                    i.tcpi_rwnd_limited,
                    i.tcpi_sndbuf_limited,
                    u64::from(i.tcpi_delivery_rate_app_limited),
                ] {
                    out.int(v);
                }
                out.end();
                rows += 1;
            }
        }
        rows
    }
}
