//! Counters, named as Linux names them so that users find what they know.
//!
//! * [`IpStats`], [`IcmpStats`], [`UdpStats`], [`TcpStats`]: the `Ip:`, `Icmp:`, `Udp:` and
//!   `Tcp:` lines of `/proc/net/snmp` (serialized under exactly those field names);
//! * [`DevStats`]: `ip -s link` (RX/TX packets, bytes, errors, dropped);
//! * [`RingStats`]: the driver's TX ring, as `ethtool -S` would show it;
//! * [`NeighStats`]: `/proc/net/stat/arp_cache` (`unresolved_discards`, …);
//! * [`LinkStats`]: what crossed a link direction, and what the link lost.
//!
//! Counters are plain `u64`s bumped in place: no atomics, no maps.

use serde::Serialize;

/// `/proc/net/snmp` `Ip:` (the counters this model can produce).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[allow(non_snake_case)]
pub struct IpStats {
    pub Forwarding: u64,
    pub DefaultTTL: u64,
    pub InReceives: u64,
    pub InHdrErrors: u64,
    pub InAddrErrors: u64,
    pub ForwDatagrams: u64,
    pub InUnknownProtos: u64,
    pub InDiscards: u64,
    pub InDelivers: u64,
    pub OutRequests: u64,
    pub OutDiscards: u64,
    pub OutNoRoutes: u64,
    pub ReasmTimeout: u64,
    pub ReasmReqds: u64,
    pub ReasmOKs: u64,
    pub ReasmFails: u64,
    pub FragOKs: u64,
    pub FragFails: u64,
    pub FragCreates: u64,
    /// `IpExt: InCsumErrors`, kept here for convenience.
    pub InCsumErrors: u64,
    /// `IpExt: InTruncatedPkts`.
    pub InTruncatedPkts: u64,
}

/// `/proc/net/snmp` `Icmp:` (totals plus the message types this model sends and receives).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[allow(non_snake_case)]
pub struct IcmpStats {
    pub InMsgs: u64,
    pub InErrors: u64,
    pub InCsumErrors: u64,
    pub InDestUnreachs: u64,
    pub InTimeExcds: u64,
    pub InEchos: u64,
    pub InEchoReps: u64,
    pub OutMsgs: u64,
    pub OutErrors: u64,
    /// Messages the host-wide limit (`icmp_msgs_per_sec`) refused.
    pub OutRateLimitGlobal: u64,
    /// Messages a destination's limit (`icmp_ratelimit`) refused.
    pub OutRateLimitHost: u64,
    pub OutDestUnreachs: u64,
    pub OutTimeExcds: u64,
    pub OutEchos: u64,
    pub OutEchoReps: u64,
}

/// `/proc/net/snmp` `Udp:`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[allow(non_snake_case)]
pub struct UdpStats {
    pub InDatagrams: u64,
    pub NoPorts: u64,
    pub InErrors: u64,
    pub OutDatagrams: u64,
    pub RcvbufErrors: u64,
    pub SndbufErrors: u64,
    pub InCsumErrors: u64,
}

/// `/proc/net/snmp` `Tcp:`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[allow(non_snake_case)]
pub struct TcpStats {
    pub ActiveOpens: u64,
    pub PassiveOpens: u64,
    pub AttemptFails: u64,
    pub EstabResets: u64,
    pub CurrEstab: u64,
    pub InSegs: u64,
    pub OutSegs: u64,
    pub RetransSegs: u64,
    pub InErrs: u64,
    pub OutRsts: u64,
    pub InCsumErrors: u64,
}

/// `/proc/net/netstat` `TcpExt:`, the counters the model moves (`nstat` shows the
/// non-zero ones; so does stats.json).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[allow(non_snake_case)]
pub struct TcpExtStats {
    /// ACKs sent by the delayed-ACK timer (`tcp_delack_timer_handler`).
    pub DelayedACKs: u64,
    /// Recoveries entered with SACK (`tcp_enter_recovery`).
    pub TCPSackRecovery: u64,
    /// Recoveries entered without SACK (NewReno).
    pub TCPRenoRecovery: u64,
    /// Reordering seen in SACKs (`tcp_check_sack_reordering`).
    pub TCPSACKReorder: u64,
    /// First retransmission timeouts in Recovery with SACK (`tcp_retransmit_timer`).
    pub TCPSackRecoveryFail: u64,
    /// … in Recovery without SACK.
    pub TCPRenoRecoveryFail: u64,
    /// … in Disorder (or with segments SACKed) with SACK.
    pub TCPSackFailures: u64,
    /// … in Disorder without SACK.
    pub TCPRenoFailures: u64,
    /// … in Loss.
    pub TCPLossFailures: u64,
    /// Segments retransmitted outside the Loss state (`tcp_xmit_retransmit_queue`).
    pub TCPFastRetrans: u64,
    /// Segments retransmitted in the Loss state (after a timeout).
    pub TCPSlowStartRetrans: u64,
    /// Retransmission timer expiries (SYN and SYN-ACK ones included; not while probing a
    /// zero window).
    pub TCPTimeouts: u64,
    /// Tail loss probes sent (`tcp_send_loss_probe`).
    pub TCPLossProbes: u64,
    /// Losses a retransmitted tail loss probe repaired (`tcp_process_tlp_ack`).
    pub TCPLossProbeRecovery: u64,
    /// Slow starts HyStart's ACK-train test ended (cubic).
    pub TCPHystartTrainDetect: u64,
    /// The sum of cwnd at those exits.
    pub TCPHystartTrainCwnd: u64,
    /// Slow starts HyStart's delay test ended (cubic).
    pub TCPHystartDelayDetect: u64,
    /// The sum of cwnd at those exits.
    pub TCPHystartDelayCwnd: u64,
    /// Segments delivered to the peer, acknowledged or SACKed (`tcp_count_delivered`).
    pub TCPDelivered: u64,
    /// Of them, those delivered by ACKs with ECE.
    pub TCPDeliveredCE: u64,
    /// Retransmissions the local qdisc refused (`NET_XMIT_DROP`).
    pub TCPRetransFail: u64,
    /// Zero-window probes sent (bare ACKs below `snd_una`).
    pub TCPWinProbe: u64,
    /// Challenge ACKs sent for an in-window RST that is not exactly `rcv_nxt` (RFC 5961
    /// §3.2, `tcp_send_challenge_ack`).
    pub TCPChallengeACK: u64,
    /// Challenge ACKs not sent for the per-socket limit (`tcp_invalid_ratelimit`).
    pub TCPACKSkippedChallenge: u64,
    /// Fast Open SYNs whose data the SYN-ACK acknowledged.
    pub TCPFastOpenActive: u64,
    /// Fast Open SYNs whose data the SYN-ACK did not acknowledge, or that timed out thrice.
    pub TCPFastOpenActiveFail: u64,
    /// Segments dropped by `tcp_sequence` for lying beyond the receive window: starting
    /// beyond it, or ending beyond it while the receive queue holds data
    /// (`LINUX_MIB_BEYOND_WINDOW`).
    pub BeyondWindow: u64,
    /// Duplicates of old data answered by `tcp_send_dupack`.
    pub DelayedACKLost: u64,
    /// D-SACKs sent for data below `rcv_nxt` (`tcp_dsack_set`).
    pub TCPDSACKOldSent: u64,
    /// D-SACKs sent for out-of-order data received twice.
    pub TCPDSACKOfoSent: u64,
    /// D-SACKs received below the ACK (`tcp_check_dsack`).
    pub TCPDSACKRecv: u64,
    /// D-SACKs received inside the second SACK block.
    pub TCPDSACKOfoRecv: u64,
    /// Duplicate segments the D-SACKs received reported (`tcp_dsack_seen`).
    pub TCPDSACKRecvSegs: u64,
    /// D-SACKs ignored as dubious (`tcp_dsack_seen` found no retransmission for them).
    pub TCPDSACKIgnoredDubious: u64,
    /// D-SACK blocks ignored as older than the reduction (`tcp_is_sackblock_valid`).
    pub TCPDSACKIgnoredOld: u64,
    /// D-SACK blocks ignored with no reduction to undo.
    pub TCPDSACKIgnoredNoUndo: u64,
    /// Reductions undone because D-SACKs covered every retransmission
    /// (`tcp_try_undo_dsack`).
    pub TCPDSACKUndo: u64,
    /// Recoveries undone when they ended (`tcp_try_undo_recovery`).
    pub TCPFullUndo: u64,
    /// Recoveries undone on a partial ACK (`tcp_try_undo_partial`).
    pub TCPPartialUndo: u64,
    /// Timeouts undone (`tcp_try_undo_loss`, `tcp_try_undo_recovery` in Loss).
    pub TCPLossUndo: u64,
    /// Timeouts F-RTO found spurious (`tcp_try_undo_loss`).
    pub TCPSpuriousRTOs: u64,
    /// Reordering found by a timestamp echo (`tcp_try_undo_partial`).
    pub TCPTSReorder: u64,
}

impl TcpExtStats {
    /// Whether every counter is 0 (then stats.json leaves the block out).
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }
}

/// The SNMP counters of one host.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Snmp {
    /// `Ip:`
    pub ip: IpStats,
    /// `Icmp:`
    pub icmp: IcmpStats,
    /// `Udp:`
    pub udp: UdpStats,
    /// `Tcp:`
    pub tcp: TcpStats,
    /// `TcpExt:`
    pub tcp_ext: TcpExtStats,
}

/// `/proc/net/snmp6` `Ip6*` (per node) and `/proc/net/dev_snmp6/IFACE` (per interface):
/// the counters this model moves, named as the kernel prints them.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[allow(non_snake_case)]
pub struct Ip6Stats {
    pub Ip6InReceives: u64,
    pub Ip6InHdrErrors: u64,
    pub Ip6InTooBigErrors: u64,
    pub Ip6InNoRoutes: u64,
    pub Ip6InAddrErrors: u64,
    pub Ip6InUnknownProtos: u64,
    pub Ip6InTruncatedPkts: u64,
    pub Ip6InDiscards: u64,
    pub Ip6InDelivers: u64,
    pub Ip6OutForwDatagrams: u64,
    pub Ip6OutRequests: u64,
    pub Ip6OutDiscards: u64,
    pub Ip6OutNoRoutes: u64,
    pub Ip6ReasmTimeout: u64,
    pub Ip6ReasmReqds: u64,
    pub Ip6ReasmOKs: u64,
    pub Ip6ReasmFails: u64,
    pub Ip6FragOKs: u64,
    pub Ip6FragFails: u64,
    pub Ip6FragCreates: u64,
    pub Ip6InMcastPkts: u64,
    pub Ip6OutMcastPkts: u64,
    pub Ip6InOctets: u64,
    pub Ip6OutOctets: u64,
    pub Ip6InMcastOctets: u64,
    pub Ip6OutMcastOctets: u64,
    pub Ip6OutTransmits: u64,
}

/// `/proc/net/snmp6` `Icmp6*`: totals, the named message counters, and one counter per
/// message type (`Icmp6InType135`, …; only types seen are printed, as the kernel does).
/// Serialized as [`Icmp6Stats::lines`] lists them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[allow(non_snake_case)]
pub struct Icmp6Stats {
    pub Icmp6InMsgs: u64,
    pub Icmp6InErrors: u64,
    pub Icmp6OutMsgs: u64,
    pub Icmp6OutErrors: u64,
    pub Icmp6InCsumErrors: u64,
    pub Icmp6OutRateLimitHost: u64,
    /// Messages received, by type (allocated at the first one: most nodes of a large
    /// IPv4 topology never hold it).
    in_type: Vec<u64>,
    /// Messages sent, by type (likewise).
    out_type: Vec<u64>,
}

impl Serialize for Icmp6Stats {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let lines = self.lines();
        let mut m = s.serialize_map(Some(lines.len()))?;
        for (k, v) in &lines {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// The names `/proc/net/snmp6` gives the ICMPv6 types it counts by name (`icmp6_list`).
const ICMP6_NAMES: [(u8, &str); 15] = [
    (1, "DestUnreachs"),
    (2, "PktTooBigs"),
    (3, "TimeExcds"),
    (4, "ParmProblems"),
    (128, "Echos"),
    (129, "EchoReplies"),
    (130, "GroupMembQueries"),
    (131, "GroupMembResponses"),
    (132, "GroupMembReductions"),
    (133, "RouterSolicits"),
    (134, "RouterAdvertisements"),
    (135, "NeighborSolicits"),
    (136, "NeighborAdvertisements"),
    (137, "Redirects"),
    (143, "MLDv2Reports"),
];

impl Icmp6Stats {
    /// Counts a message of type `t` received (`ICMP6MSGIN_INC_STATS`).
    pub fn count_in(&mut self, t: u8) {
        if self.in_type.is_empty() {
            self.in_type = vec![0; 256];
        }
        self.in_type[usize::from(t)] += 1;
    }

    /// Counts a message of type `t` sent (`ICMP6MSGOUT_INC_STATS`).
    pub fn count_out(&mut self, t: u8) {
        if self.out_type.is_empty() {
            self.out_type = vec![0; 256];
        }
        self.out_type[usize::from(t)] += 1;
    }

    /// Messages of type `t` received.
    pub fn in_of(&self, t: u8) -> u64 {
        self.in_type.get(usize::from(t)).copied().unwrap_or(0)
    }

    /// Messages of type `t` sent.
    pub fn out_of(&self, t: u8) -> u64 {
        self.out_type.get(usize::from(t)).copied().unwrap_or(0)
    }

    /// Every counter as `/proc/net/snmp6` lists it, in its order: the totals, the named
    /// counters of both directions (`Icmp6InNeighborSolicits`, …, zero or not), then the
    /// per-type counters that are not zero (`Icmp6InType135`, …).
    pub fn lines(&self) -> Vec<(String, u64)> {
        let mut v = vec![
            ("Icmp6InMsgs".to_string(), self.Icmp6InMsgs),
            ("Icmp6InErrors".to_string(), self.Icmp6InErrors),
            ("Icmp6OutMsgs".to_string(), self.Icmp6OutMsgs),
            ("Icmp6OutErrors".to_string(), self.Icmp6OutErrors),
            ("Icmp6InCsumErrors".to_string(), self.Icmp6InCsumErrors),
            (
                "Icmp6OutRateLimitHost".to_string(),
                self.Icmp6OutRateLimitHost,
            ),
        ];
        for (dir, counts) in [("In", &self.in_type), ("Out", &self.out_type)] {
            for &(t, name) in &ICMP6_NAMES {
                let c = counts.get(usize::from(t)).copied().unwrap_or(0);
                v.push((format!("Icmp6{dir}{name}"), c));
            }
        }
        for (dir, counts) in [("In", &self.in_type), ("Out", &self.out_type)] {
            for (t, &c) in counts.iter().enumerate() {
                if c != 0 {
                    v.push((format!("Icmp6{dir}Type{t}"), c));
                }
            }
        }
        v
    }
}

/// `/proc/net/snmp6` `Udp6*`.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[allow(non_snake_case)]
pub struct Udp6Stats {
    pub Udp6InDatagrams: u64,
    pub Udp6NoPorts: u64,
    pub Udp6InErrors: u64,
    pub Udp6OutDatagrams: u64,
    pub Udp6RcvbufErrors: u64,
    pub Udp6SndbufErrors: u64,
    pub Udp6InCsumErrors: u64,
}

/// The IPv6 counters of a node or an interface (`/proc/net/snmp6`, `dev_snmp6/IFACE`),
/// serialized as one map in the file's order.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Snmp6 {
    /// `Ip6*`.
    #[serde(flatten)]
    pub ip6: Ip6Stats,
    /// `Icmp6*`.
    #[serde(flatten)]
    pub icmp6: Icmp6Stats,
    /// `Udp6*`.
    #[serde(flatten)]
    pub udp6: Udp6Stats,
}

/// `ip -s link` for one interface.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct DevStats {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub rx_errors: u64,
    pub rx_dropped: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub tx_errors: u64,
    pub tx_dropped: u64,
}

/// The driver's TX ring.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct RingStats {
    /// Descriptors in the ring.
    pub size: u32,
    /// Times the driver answered `NETDEV_TX_BUSY` (ring full) and stopped the queue.
    pub busy: u64,
    /// Times TX completion woke a stopped queue.
    pub wakes: u64,
    /// Most descriptors ever in use at once.
    pub max_used: u32,
}

/// `/proc/net/stat/arp_cache` for one host.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct NeighStats {
    /// Entries created.
    pub allocs: u64,
    /// Entries that became FAILED.
    pub res_failed: u64,
    /// Packets dropped from (or refused by) an unresolved entry's queue.
    pub unresolved_discards: u64,
    /// ARP requests sent (broadcast and unicast).
    pub requests_sent: u64,
    /// ARP replies sent.
    pub replies_sent: u64,
    /// ARP packets received.
    pub rcv_probes: u64,
}

/// One direction of a link.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LinkStats {
    /// Frames serialized onto the link.
    pub frames: u64,
    /// Bytes of those frames (padded, without preamble, FCS and gap).
    pub bytes: u64,
    /// Frames lost to the link's random loss.
    pub lost: u64,
    /// Frames dropped because their IP packet was larger than the link's `mtu`.
    pub oversize: u64,
}
