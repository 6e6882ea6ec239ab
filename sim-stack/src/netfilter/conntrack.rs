//! The connection tracking table of one network namespace (`nf_conntrack_core.c` of Linux
//! 6.1): `nf_conntrack_in` at `PRE_ROUTING` and `LOCAL_OUT`, `__nf_conntrack_confirm` at
//! the last priority of `POST_ROUTING` and `LOCAL_IN`, timeouts, the table limit with early
//! drop, and the statistics `conntrack -S` prints.
//!
//! Entries live in a slab (`Vec`) named by [`CtId`] (index and generation, so a stale id
//! never reaches a reused slot). Confirmed entries are found by either tuple in a
//! `BTreeMap`: nothing is iterated in hash order. Unconfirmed entries, as in the kernel, are
//! reachable only through the packet that created them (its [`CtId`]).
//!
//! Time is the kernel's: `nfct_time_stamp`, the node's jiffies (HZ = 250, with the node's
//! jiffies phase). A confirmed entry holds a deadline in jiffies; an unconfirmed one a
//! relative timeout that confirmation turns into a deadline (as `ct->timeout +=
//! nfct_time_stamp`). Expiry is lazy: an entry whose deadline has come
//! (`nf_ct_is_expired`: deadline <= jiffies) is removed when a lookup meets it, and
//! [`Conntrack::gc`] removes all of them in slab order before a count or a listing, so an
//! expired entry is never found, counted or listed.
//!
//! Differences from the kernel, all deterministic: early drop, when the table is full,
//! evicts the confirmed unassured entry closest to its deadline (lowest slab index on a tie)
//! from the whole table, where Linux scans 8 hash buckets from the new tuple's and evicts
//! every unassured entry of the first bucket that has one; a confirmation that clashes with
//! an entry inserted meanwhile is dropped (`insert_failed`), where Linux first tries
//! `nf_ct_resolve_clash` for UDP and the generic tracker; an entry killed while a packet
//! still refers to it (a TCP RST before any reply) stays readable through that packet's id
//! until the next call of [`Conntrack::nf_conntrack_in`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use sim_core::{SimDuration, SimTime};

use super::Hook;
use super::conntrack_icmp::{NR_ICMP_TYPES, icmp_is_err, nf_conntrack_icmp_packet};
use super::conntrack_tcp::{self, IpCtTcp, TcpConntrack, TcpHdr, TcpVerdict};
use super::conntrack_tuple::{IpCtDir, Ipv4Head, Tuple};
use super::conntrack_udp::{nf_conntrack_udp_packet, udp_error};
use crate::jiffies::JIFFY_NS;
use crate::wire::{IpProtocol, checksum};

/// A timeout in jiffies (`secs * HZ` as the sysctl handlers store it; a fraction of a
/// jiffy rounds up).
pub(crate) const fn to_jiffies(d: SimDuration) -> u64 {
    d.as_nanos().div_ceil(JIFFY_NS)
}

/// Status bits of an entry (`enum ip_conntrack_status`, `IPS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct IpsStatus(pub u32);

impl IpsStatus {
    /// `IPS_EXPECTED`: an expected connection (helpers; never set here).
    pub const EXPECTED: Self = Self(1 << 0);
    /// `IPS_SEEN_REPLY`: packets went both ways.
    pub const SEEN_REPLY: Self = Self(1 << 1);
    /// `IPS_ASSURED`: not early-dropped.
    pub const ASSURED: Self = Self(1 << 2);
    /// `IPS_CONFIRMED`: in the table.
    pub const CONFIRMED: Self = Self(1 << 3);
    /// `IPS_SRC_NAT`: the source is rewritten in the original direction.
    pub const SRC_NAT: Self = Self(1 << 4);
    /// `IPS_DST_NAT`: the destination is rewritten in the original direction.
    pub const DST_NAT: Self = Self(1 << 5);
    /// `IPS_NAT_MASK`.
    pub const NAT_MASK: Self = Self(Self::SRC_NAT.0 | Self::DST_NAT.0);
    /// `IPS_SRC_NAT_DONE`: the source binding is set up.
    pub const SRC_NAT_DONE: Self = Self(1 << 7);
    /// `IPS_DST_NAT_DONE`: the destination binding is set up.
    pub const DST_NAT_DONE: Self = Self(1 << 8);
    /// `IPS_NAT_DONE_MASK`.
    pub const NAT_DONE_MASK: Self = Self(Self::SRC_NAT_DONE.0 | Self::DST_NAT_DONE.0);
    /// `IPS_DYING`: removed from the table.
    pub const DYING: Self = Self(1 << 9);

    /// All bits of `other` are set.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Any bit of `other` is set.
    #[must_use]
    pub const fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// Sets the bits of `other`.
    pub fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// Clears the bits of `other`.
    pub fn remove(&mut self, other: Self) {
        self.0 &= !other.0;
    }
}

/// `enum ip_conntrack_info`: how a packet relates to its entry, with the kernel's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum IpCtInfo {
    /// `IP_CT_ESTABLISHED`: original direction, after a reply was seen.
    Established = 0,
    /// `IP_CT_RELATED`: an ICMP error about the connection, original direction.
    Related = 1,
    /// `IP_CT_NEW`: original direction, no reply seen yet.
    New = 2,
    /// `IP_CT_ESTABLISHED_REPLY`: reply direction.
    EstablishedReply = 3,
    /// `IP_CT_RELATED_REPLY`: an ICMP error about the connection, reply direction.
    RelatedReply = 4,
}

impl IpCtInfo {
    /// `CTINFO2DIR`.
    #[must_use]
    pub const fn dir(self) -> IpCtDir {
        match self {
            Self::Established | Self::Related | Self::New => IpCtDir::Original,
            Self::EstablishedReply | Self::RelatedReply => IpCtDir::Reply,
        }
    }

    /// The state `-m conntrack --ctstate` / `-m state` matches.
    #[must_use]
    pub const fn ctstate(self) -> CtState {
        match self {
            Self::Established | Self::EstablishedReply => CtState::Established,
            Self::Related | Self::RelatedReply => CtState::Related,
            Self::New => CtState::New,
        }
    }
}

/// The states iptables' `state`/`conntrack` matches name (`XT_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CtState {
    /// `INVALID`: no entry.
    Invalid,
    /// `ESTABLISHED`.
    Established,
    /// `RELATED`.
    Related,
    /// `NEW`.
    New,
    /// `UNTRACKED` (the raw table's `NOTRACK`).
    Untracked,
}

/// Names one entry of a [`Conntrack`] table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CtId {
    index: u32,
    generation: u32,
}

/// What [`Conntrack::nf_conntrack_in`] decided for a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtVerdict {
    /// `NF_ACCEPT` with an entry attached (`nf_ct_set(skb, ct, ctinfo)`).
    Tracked {
        /// The entry (unconfirmed when `info` is `New` and the entry was just created).
        id: CtId,
        /// How the packet relates to it.
        info: IpCtInfo,
    },
    /// `NF_ACCEPT` without an entry: the packet is `INVALID` to the rules.
    Invalid,
    /// `NF_DROP`: the table is full and no entry could be early-dropped.
    Drop,
}

impl CtVerdict {
    /// The state `-m conntrack --ctstate` / `-m state` sees for the packet (`INVALID`
    /// without an entry; a dropped packet sees no rules).
    #[must_use]
    pub const fn ctstate(self) -> CtState {
        match self {
            Self::Tracked { info, .. } => info.ctstate(),
            Self::Invalid | Self::Drop => CtState::Invalid,
        }
    }
}

/// The per-namespace sysctls of `net.netfilter.*` this model reads, with Linux 6.1's
/// defaults ([`Default`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct ConntrackSysctl {
    /// `nf_conntrack_max`: entries in the table at most (0: no limit). Linux derives it at
    /// boot from the RAM (`nf_conntrack_init_start`: the hash size is RAM/16384/8 buckets,
    /// 262144 above 4 GiB, 65536 above 1 GiB, at least 1024; max = buckets). 262144 is this
    /// machine's value.
    pub nf_conntrack_max: u32,
    /// `nf_conntrack_tcp_timeout_syn_sent` (120 s).
    pub nf_conntrack_tcp_timeout_syn_sent: SimDuration,
    /// `nf_conntrack_tcp_timeout_syn_recv` (60 s).
    pub nf_conntrack_tcp_timeout_syn_recv: SimDuration,
    /// `nf_conntrack_tcp_timeout_established` (432000 s, 5 days).
    pub nf_conntrack_tcp_timeout_established: SimDuration,
    /// `nf_conntrack_tcp_timeout_fin_wait` (120 s).
    pub nf_conntrack_tcp_timeout_fin_wait: SimDuration,
    /// `nf_conntrack_tcp_timeout_close_wait` (60 s).
    pub nf_conntrack_tcp_timeout_close_wait: SimDuration,
    /// `nf_conntrack_tcp_timeout_last_ack` (30 s).
    pub nf_conntrack_tcp_timeout_last_ack: SimDuration,
    /// `nf_conntrack_tcp_timeout_time_wait` (120 s).
    pub nf_conntrack_tcp_timeout_time_wait: SimDuration,
    /// `nf_conntrack_tcp_timeout_close` (10 s).
    pub nf_conntrack_tcp_timeout_close: SimDuration,
    /// `nf_conntrack_tcp_timeout_max_retrans` (300 s).
    pub nf_conntrack_tcp_timeout_max_retrans: SimDuration,
    /// `nf_conntrack_tcp_timeout_unacknowledged` (300 s).
    pub nf_conntrack_tcp_timeout_unacknowledged: SimDuration,
    /// `nf_conntrack_tcp_max_retrans` (3).
    pub nf_conntrack_tcp_max_retrans: u8,
    /// `nf_conntrack_tcp_loose` (1): pick up connections in mid-stream.
    pub nf_conntrack_tcp_loose: bool,
    /// `nf_conntrack_tcp_be_liberal` (0): only out-of-window RSTs are invalid.
    pub nf_conntrack_tcp_be_liberal: bool,
    /// `nf_conntrack_udp_timeout` (30 s).
    pub nf_conntrack_udp_timeout: SimDuration,
    /// `nf_conntrack_udp_timeout_stream` (120 s).
    pub nf_conntrack_udp_timeout_stream: SimDuration,
    /// `nf_conntrack_icmp_timeout` (30 s).
    pub nf_conntrack_icmp_timeout: SimDuration,
    /// `nf_conntrack_generic_timeout` (600 s).
    pub nf_conntrack_generic_timeout: SimDuration,
    /// `nf_conntrack_checksum` (1): verify L4 checksums at `PRE_ROUTING`.
    pub nf_conntrack_checksum: bool,
    /// `nf_conntrack_acct` (0): count packets and bytes per direction.
    pub nf_conntrack_acct: bool,
}

impl Default for ConntrackSysctl {
    fn default() -> Self {
        use conntrack_tcp::secs;
        Self {
            nf_conntrack_max: 262_144,
            nf_conntrack_tcp_timeout_syn_sent: secs(120),
            nf_conntrack_tcp_timeout_syn_recv: secs(60),
            nf_conntrack_tcp_timeout_established: secs(432_000),
            nf_conntrack_tcp_timeout_fin_wait: secs(120),
            nf_conntrack_tcp_timeout_close_wait: secs(60),
            nf_conntrack_tcp_timeout_last_ack: secs(30),
            nf_conntrack_tcp_timeout_time_wait: secs(120),
            nf_conntrack_tcp_timeout_close: secs(10),
            nf_conntrack_tcp_timeout_max_retrans: secs(300),
            nf_conntrack_tcp_timeout_unacknowledged: secs(300),
            nf_conntrack_tcp_max_retrans: 3,
            nf_conntrack_tcp_loose: true,
            nf_conntrack_tcp_be_liberal: false,
            nf_conntrack_udp_timeout: secs(30),
            nf_conntrack_udp_timeout_stream: secs(120),
            nf_conntrack_icmp_timeout: secs(30),
            nf_conntrack_generic_timeout: secs(600),
            nf_conntrack_checksum: true,
            nf_conntrack_acct: false,
        }
    }
}

impl ConntrackSysctl {
    /// The timeout of a TCP state (`tn->timeouts[state]`).
    #[must_use]
    pub fn tcp_timeout(&self, s: TcpConntrack) -> SimDuration {
        match s {
            TcpConntrack::SynSent | TcpConntrack::SynSent2 => {
                self.nf_conntrack_tcp_timeout_syn_sent
            }
            TcpConntrack::SynRecv => self.nf_conntrack_tcp_timeout_syn_recv,
            TcpConntrack::Established => self.nf_conntrack_tcp_timeout_established,
            TcpConntrack::FinWait => self.nf_conntrack_tcp_timeout_fin_wait,
            TcpConntrack::CloseWait => self.nf_conntrack_tcp_timeout_close_wait,
            TcpConntrack::LastAck => self.nf_conntrack_tcp_timeout_last_ack,
            TcpConntrack::TimeWait => self.nf_conntrack_tcp_timeout_time_wait,
            TcpConntrack::Close => self.nf_conntrack_tcp_timeout_close,
            TcpConntrack::None | TcpConntrack::Max | TcpConntrack::Ignore => {
                SimDuration::from_secs(conntrack_tcp::default_timeout_secs(s))
            }
        }
    }
}

/// The per-protocol part of an entry (`ct->proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtProto {
    /// TCP: state and window tracking.
    Tcp(IpCtTcp),
    /// UDP: `stream_ts`, the jiffies after which a reply makes the flow a stream.
    Udp {
        /// `ct->proto.udp.stream_ts`: creation + 2 s (`2 * HZ + jiffies`).
        stream_ts: u64,
    },
    /// ICMP queries.
    Icmp,
    /// Any other protocol (`nf_conntrack_proto_generic.c`).
    Generic,
}

/// `struct nf_conn_counter`: packets and bytes of one direction (`nf_conntrack_acct`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NfConnCounter {
    /// Packets.
    pub packets: u64,
    /// Bytes (IP total length).
    pub bytes: u64,
}

/// One connection (`struct nf_conn`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfConn {
    /// `tuplehash[IP_CT_DIR_ORIGINAL / REPLY].tuple`.
    pub tuplehash: [Tuple; 2],
    /// `status`.
    pub status: IpsStatus,
    /// Deadline in jiffies when confirmed, relative timeout in jiffies when not
    /// (`ct->timeout`).
    timeout: u64,
    /// `mark` (CONNMARK).
    pub mark: u32,
    /// `proto`.
    pub proto: CtProto,
    /// Per-direction counters, kept when `nf_conntrack_acct` is set.
    pub acct: Option<[NfConnCounter; 2]>,
    /// The packet being processed: its direction and length, for accounting.
    cur: (IpCtDir, u32),
    /// Its place in the NAT source index (`nat_bysource`), 0 when not there.
    nat_seq: u64,
}

impl NfConn {
    /// `nf_ct_is_confirmed`.
    #[must_use]
    pub const fn is_confirmed(&self) -> bool {
        self.status.contains(IpsStatus::CONFIRMED)
    }

    /// The TCP part, for TCP entries.
    pub(crate) fn tcp_mut(&mut self) -> Option<&mut IpCtTcp> {
        match &mut self.proto {
            CtProto::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// The TCP state, for TCP entries.
    #[must_use]
    pub const fn tcp_state(&self) -> Option<TcpConntrack> {
        match &self.proto {
            CtProto::Tcp(t) => Some(t.state),
            _ => None,
        }
    }

    /// `nf_ct_expires`: jiffies left before the entry expires at the node's jiffies
    /// `now_j` (its relative timeout if unconfirmed).
    #[must_use]
    pub const fn expires_jiffies(&self, now_j: u64) -> u64 {
        if self.is_confirmed() {
            self.timeout.saturating_sub(now_j)
        } else {
            self.timeout
        }
    }

    /// `nf_ct_is_expired`.
    const fn is_expired(&self, now_j: u64) -> bool {
        self.is_confirmed() && self.timeout <= now_j
    }

    /// Writes `ct->timeout` as `timeout + nfct_time_stamp`.
    pub(crate) const fn set_timeout(&mut self, now_j: u64, timeout: SimDuration) {
        self.timeout = now_j.saturating_add(to_jiffies(timeout));
    }

    /// `nf_ct_refresh_acct`: a new timeout from now (relative while unconfirmed), and the
    /// current packet counted.
    pub(crate) fn refresh(&mut self, now_j: u64, extra: SimDuration) {
        self.timeout = if self.is_confirmed() {
            now_j.saturating_add(to_jiffies(extra))
        } else {
            to_jiffies(extra)
        };
        self.refresh_acct_only();
    }

    /// `nf_ct_acct_update` for the current packet.
    pub(crate) fn refresh_acct_only(&mut self) {
        let (dir, len) = self.cur;
        if let Some(acct) = &mut self.acct {
            let c = &mut acct[dir.index()];
            c.packets += 1;
            c.bytes += u64::from(len);
        }
    }
}

/// The per-namespace counters `conntrack -S` prints (`struct ip_conntrack_stat`), summed
/// over CPUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConntrackStat {
    /// `found`: NAT found a tuple taken (`nf_conntrack_tuple_taken`).
    pub found: u64,
    /// `invalid`: packets conntrack could not track.
    pub invalid: u64,
    /// `insert`: entries inserted by `conntrack -I` (never here).
    pub insert: u64,
    /// `insert_failed`: confirmations that lost a clash.
    pub insert_failed: u64,
    /// `drop`: packets dropped because the table was full.
    pub drop: u64,
    /// `early_drop`: entries evicted to make room.
    pub early_drop: u64,
    /// `error`: ICMP packets the ICMP error tracker refused.
    pub error: u64,
    /// `search_restart`: lookups restarted by a concurrent resize (never here).
    pub search_restart: u64,
    /// `clash_resolve`: clashes resolved (never here: clashes are dropped).
    pub clash_resolve: u64,
    /// `chaintoolong`: insertions refused for a long hash chain (never here).
    pub chaintoolong: u64,
}

#[derive(Debug, Clone)]
struct Slot {
    generation: u32,
    ct: Option<NfConn>,
}

/// A packet's L4 view, as the trackers need it.
struct PktInfo<'a> {
    head: Ipv4Head,
    l4: &'a [u8],
}

/// The connection tracking table of one network namespace.
#[derive(Debug, Clone)]
pub struct Conntrack {
    /// The sysctls in force.
    pub sysctl: ConntrackSysctl,
    slab: Vec<Slot>,
    free: Vec<u32>,
    hash: BTreeMap<Tuple, (u32, IpCtDir)>,
    count: u32,
    stat: ConntrackStat,
    /// Entries killed while a packet still refers to them, freed at the next packet.
    dying: Vec<u32>,
    /// `nf_nat_bysource`: entries with a source binding by original (protocol, source
    /// address, source port), newest last.
    bysource: BTreeSet<(u8, Ipv4Addr, u16, u64, u32)>,
    nat_seq_next: u64,
    /// The node's jiffies phase (`Node::jiffies_phase`): conntrack's clock is
    /// `nfct_time_stamp`, the node's jiffies.
    jiffies_phase: u64,
}

impl Default for Conntrack {
    fn default() -> Self {
        Self::new(ConntrackSysctl::default(), 0)
    }
}

impl Conntrack {
    /// An empty table for a node whose jiffies clock has phase `jiffies_phase` (see
    /// [`crate::jiffies::jiffies`]).
    #[must_use]
    pub fn new(sysctl: ConntrackSysctl, jiffies_phase: u64) -> Self {
        Self {
            sysctl,
            slab: Vec::new(),
            free: Vec::new(),
            hash: BTreeMap::new(),
            count: 0,
            stat: ConntrackStat::default(),
            dying: Vec::new(),
            bysource: BTreeSet::new(),
            nat_seq_next: 1,
            jiffies_phase,
        }
    }

    /// `nfct_time_stamp` at `now`: the node's jiffies.
    #[must_use]
    pub fn jiffies(&self, now: SimTime) -> u64 {
        crate::jiffies::jiffies(now, self.jiffies_phase)
    }

    /// The time left before the entry `id` expires, in whole jiffies (`nf_ct_expires`; the
    /// relative timeout of an unconfirmed entry), `None` for a stale id.
    #[must_use]
    pub fn expires(&self, id: CtId, now: SimTime) -> Option<SimDuration> {
        let ct = self.get(id)?;
        Some(SimDuration::from_nanos(
            ct.expires_jiffies(self.jiffies(now)) * JIFFY_NS,
        ))
    }

    /// The entry `id` names, if it still exists.
    #[must_use]
    pub fn get(&self, id: CtId) -> Option<&NfConn> {
        let slot = self.slab.get(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.ct.as_ref()
    }

    /// The entry `id` names, mutably (for the CONNMARK target: `mark`).
    pub fn get_mut(&mut self, id: CtId) -> Option<&mut NfConn> {
        let slot = self.slab.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.ct.as_mut()
    }

    fn id_of(&self, index: u32) -> CtId {
        CtId {
            index,
            generation: self.slab[index as usize].generation,
        }
    }

    /// The statistics (`conntrack -S`).
    #[must_use]
    pub const fn stat(&self) -> &ConntrackStat {
        &self.stat
    }

    /// `nf_conntrack_count` at `now`: live entries, confirmed or not, expired ones removed
    /// first.
    pub fn count(&mut self, now: SimTime) -> u32 {
        self.gc(now);
        self.count
    }

    /// Removes every expired entry, in slab order (the gc worker's job, done on demand).
    pub fn gc(&mut self, now: SimTime) {
        let now_j = self.jiffies(now);
        for i in 0..self.slab.len() {
            if self.slab[i]
                .ct
                .as_ref()
                .is_some_and(|ct| ct.is_expired(now_j))
            {
                self.free_entry(i as u32);
            }
        }
    }

    /// The live entries at `now` in the order the model lists them: by original tuple
    /// (addresses, protocol, ports). Linux lists in hash-bucket order, which depends on a
    /// boot-time random seed.
    pub fn entries(&mut self, now: SimTime) -> Vec<(CtId, &NfConn)> {
        self.gc(now);
        let mut v: Vec<(Tuple, u32)> = self
            .hash
            .iter()
            .filter(|(_, (_, dir))| *dir == IpCtDir::Original)
            .map(|(t, (i, _))| (*t, *i))
            .collect();
        v.sort_unstable();
        v.into_iter()
            .filter_map(|(_, i)| {
                let id = self.id_of(i);
                self.slab[i as usize].ct.as_ref().map(|ct| (id, ct))
            })
            .collect()
    }

    /// Removes an entry from the lookup map and the slab.
    fn free_entry(&mut self, index: u32) {
        let slot = &mut self.slab[index as usize];
        let Some(ct) = slot.ct.take() else { return };
        slot.generation = slot.generation.wrapping_add(1);
        if ct.is_confirmed() {
            for (dir, t) in ct.tuplehash.iter().enumerate() {
                if self
                    .hash
                    .get(t)
                    .is_some_and(|(i, d)| *i == index && d.index() == dir)
                {
                    self.hash.remove(t);
                }
            }
        }
        if ct.nat_seq != 0 {
            let o = &ct.tuplehash[0];
            self.bysource
                .remove(&(o.protonum, o.src, o.src_u, ct.nat_seq, index));
        }
        self.free.push(index);
        self.count -= 1;
    }

    /// `nf_ct_kill` / `nf_ct_delete` while a packet holds the entry: out of the table now,
    /// freed at the next packet.
    fn kill(&mut self, index: u32) {
        let Some(ct) = self.slab[index as usize].ct.as_mut() else {
            return;
        };
        if ct.status.contains(IpsStatus::DYING) {
            return;
        }
        ct.status.insert(IpsStatus::DYING);
        if ct.is_confirmed() {
            let tuples = ct.tuplehash;
            for t in &tuples {
                if self.hash.get(t).is_some_and(|(i, _)| *i == index) {
                    self.hash.remove(t);
                }
            }
        }
        self.dying.push(index);
    }

    /// Deletes an entry now (`conntrack -D`, or the lead's own reasons).
    pub fn delete(&mut self, id: CtId) {
        if self.get(id).is_some() {
            self.free_entry(id.index);
        }
    }

    /// `__nf_conntrack_find_get`: the confirmed entry with `tuple` in either direction,
    /// removing it instead if it has expired.
    pub fn find(&mut self, now: SimTime, tuple: &Tuple) -> Option<(CtId, IpCtDir)> {
        let (index, dir) = *self.hash.get(tuple)?;
        let expired = self.slab[index as usize]
            .ct
            .as_ref()
            .is_none_or(|ct| ct.is_expired(self.jiffies(now)));
        if expired {
            self.free_entry(index);
            return None;
        }
        Some((self.id_of(index), dir))
    }

    /// `nf_conntrack_tuple_taken`: whether a confirmed live entry other than `ignored`
    /// has `tuple` in either direction.
    pub(crate) fn tuple_taken(&mut self, now: SimTime, tuple: &Tuple, ignored: CtId) -> bool {
        match self.find(now, tuple) {
            Some((id, _)) if id != ignored => {
                self.stat.found += 1;
                true
            }
            _ => false,
        }
    }

    /// `early_drop`: evicts one confirmed, unassured entry (the one closest to expiry;
    /// lowest slab index on a tie). `false` when there is none.
    fn early_drop(&mut self) -> bool {
        let victim = self
            .slab
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.ct.as_ref().map(|ct| (i, ct)))
            .filter(|(_, ct)| {
                ct.is_confirmed()
                    && !ct
                        .status
                        .intersects(IpsStatus(IpsStatus::ASSURED.0 | IpsStatus::DYING.0))
            })
            .min_by_key(|(i, ct)| (ct.timeout, *i))
            .map(|(i, _)| i as u32);
        match victim {
            Some(i) => {
                self.free_entry(i);
                self.stat.early_drop += 1;
                true
            }
            None => false,
        }
    }

    /// `init_conntrack` / `__nf_conntrack_alloc`: a new unconfirmed entry, or `Err(())` when
    /// the table is full and nothing could be early-dropped.
    fn init_conntrack(&mut self, now: SimTime, tuple: Tuple, repl: Tuple) -> Result<u32, ()> {
        let max = self.sysctl.nf_conntrack_max;
        if max != 0 && self.count >= max {
            self.gc(now);
            if self.count >= max && !self.early_drop() {
                return Err(());
            }
        }
        let proto = match IpProtocol(tuple.protonum) {
            IpProtocol::Tcp => CtProto::Tcp(IpCtTcp::default()),
            IpProtocol::Udp => CtProto::Udp { stream_ts: 0 },
            IpProtocol::Icmp => CtProto::Icmp,
            _ => CtProto::Generic,
        };
        let ct = NfConn {
            tuplehash: [tuple, repl],
            status: IpsStatus::default(),
            timeout: 0,
            mark: 0,
            proto,
            acct: self.sysctl.nf_conntrack_acct.then(Default::default),
            cur: (IpCtDir::Original, 0),
            nat_seq: 0,
        };
        let index = if let Some(i) = self.free.pop() {
            self.slab[i as usize].ct = Some(ct);
            i
        } else {
            self.slab.push(Slot {
                generation: 0,
                ct: Some(ct),
            });
            (self.slab.len() - 1) as u32
        };
        self.count += 1;
        Ok(index)
    }

    /// `nf_conntrack_in` for an IPv4 packet (`ip` starts at the IP header) at `hook`
    /// (`PreRouting` or `LocalOut`). `csum_unnecessary` is the skb's
    /// `CHECKSUM_UNNECESSARY`: a NIC already verified the L4 checksum, so conntrack does
    /// not (it verifies only at `PRE_ROUTING`, and only with `nf_conntrack_checksum`).
    pub fn nf_conntrack_in(
        &mut self,
        now: SimTime,
        hook: Hook,
        ip: &[u8],
        csum_unnecessary: bool,
    ) -> CtVerdict {
        while let Some(i) = self.dying.pop() {
            if self.slab[i as usize]
                .ct
                .as_ref()
                .is_some_and(|ct| ct.status.contains(IpsStatus::DYING))
            {
                self.free_entry(i);
            }
        }
        let Some(head) = Ipv4Head::parse(ip).filter(|h| !h.later_fragment) else {
            self.stat.invalid += 1;
            return CtVerdict::Invalid;
        };
        let pkt = PktInfo {
            head,
            l4: &ip[head.ihl..head.total_len],
        };
        let now_j = self.jiffies(now);
        let check_csum =
            hook == Hook::PreRouting && self.sysctl.nf_conntrack_checksum && !csum_unnecessary;

        if head.protonum == IpProtocol::Icmp.0 {
            match self.nf_conntrack_icmpv4_error(now, &pkt, check_csum) {
                IcmpErr::NotError => {}
                IcmpErr::Refused => {
                    self.stat.error += 1;
                    return CtVerdict::Invalid;
                }
                IcmpErr::Related(v) => return v,
            }
        }

        loop {
            let Some(tuple) = Tuple::from_l4(head.src, head.dst, head.protonum, pkt.l4) else {
                self.stat.invalid += 1;
                return CtVerdict::Invalid;
            };
            let (index, dir) = match self.find(now, &tuple) {
                Some((id, dir)) => (id.index, dir),
                None => {
                    let Some(repl) = tuple.invert() else {
                        self.stat.invalid += 1;
                        return CtVerdict::Invalid;
                    };
                    match self.init_conntrack(now, tuple, repl) {
                        Ok(i) => (i, IpCtDir::Original),
                        Err(()) => {
                            self.stat.drop += 1;
                            return CtVerdict::Drop;
                        }
                    }
                }
            };
            let id = self.id_of(index);
            let Some(ct) = self.slab[index as usize].ct.as_mut() else {
                self.stat.invalid += 1;
                return CtVerdict::Invalid;
            };
            let info = if dir == IpCtDir::Reply {
                IpCtInfo::EstablishedReply
            } else if ct.status.contains(IpsStatus::SEEN_REPLY) {
                IpCtInfo::Established
            } else {
                IpCtInfo::New
            };
            ct.cur = (dir, head.total_len as u32);
            let res = handle_packet(ct, dir, &pkt, now_j, check_csum, &self.sysctl);
            match res {
                PacketVerdict::Accept | PacketVerdict::AcceptKill => {
                    if info == IpCtInfo::EstablishedReply {
                        ct.status.insert(IpsStatus::SEEN_REPLY);
                    }
                    if res == PacketVerdict::AcceptKill {
                        self.kill(index);
                    }
                    return CtVerdict::Tracked { id, info };
                }
                PacketVerdict::Invalid => {
                    // nf_ct_put: an entry only this packet held is freed.
                    if !ct.is_confirmed() {
                        self.free_entry(index);
                    }
                    self.stat.invalid += 1;
                    return CtVerdict::Invalid;
                }
                PacketVerdict::Repeat => {
                    self.free_entry(index);
                }
            }
        }
    }

    /// `nf_conntrack_icmpv4_error` and `nf_conntrack_inet_error`.
    fn nf_conntrack_icmpv4_error(
        &mut self,
        now: SimTime,
        pkt: &PktInfo<'_>,
        check_csum: bool,
    ) -> IcmpErr {
        let Some(icmph) = pkt.l4.get(..8) else {
            return IcmpErr::Refused;
        };
        if check_csum && checksum::data(pkt.l4) != 0xffff {
            return IcmpErr::Refused;
        }
        let icmp_type = icmph[0];
        if icmp_type > NR_ICMP_TYPES {
            return IcmpErr::Refused;
        }
        if !icmp_is_err(icmp_type) {
            return IcmpErr::NotError;
        }
        // The embedded header: nf_ct_get_tuplepr on it.
        let inner = &pkt.l4[8..];
        let Some(ih) = Ipv4Head::parse_quoted(inner) else {
            return IcmpErr::Refused;
        };
        let Some(orig) = Tuple::from_l4(ih.src, ih.dst, ih.protonum, &inner[ih.ihl..]) else {
            return IcmpErr::Refused;
        };
        let Some(innertuple) = orig.invert() else {
            return IcmpErr::Refused;
        };
        let Some((id, dir)) = self.find(now, &innertuple) else {
            return IcmpErr::Refused;
        };
        let Some(ct) = self.get(id) else {
            return IcmpErr::Refused;
        };
        if ct.tuplehash[dir.index()].dst != pkt.head.dst {
            return IcmpErr::Refused;
        }
        let info = if dir == IpCtDir::Reply {
            IpCtInfo::RelatedReply
        } else {
            IpCtInfo::Related
        };
        IcmpErr::Related(CtVerdict::Tracked { id, info })
    }

    /// `nf_conntrack_confirm` at the last priority of `POST_ROUTING` / `LOCAL_IN`: inserts
    /// a new entry into the table and starts its timer. `true` to accept the packet;
    /// `false` (`NF_DROP`, counted as `insert_failed`) when it is dying or an entry with
    /// one of its tuples was inserted meanwhile. A confirmed or stale id is accepted
    /// without change.
    pub fn confirm(&mut self, now: SimTime, id: CtId) -> bool {
        let Some(ct) = self.get(id) else { return true };
        if ct.is_confirmed() {
            return true;
        }
        if ct.status.contains(IpsStatus::DYING) {
            self.stat.insert_failed += 1;
            self.free_entry(id.index);
            return false;
        }
        let tuples = ct.tuplehash;
        if tuples.iter().any(|t| self.find(now, t).is_some()) {
            self.stat.insert_failed += 1;
            self.free_entry(id.index);
            return false;
        }
        let now_j = self.jiffies(now);
        if let Some(ct) = self.slab[id.index as usize].ct.as_mut() {
            ct.timeout = ct.timeout.saturating_add(now_j);
            ct.status.insert(IpsStatus::CONFIRMED);
        }
        self.hash.insert(tuples[0], (id.index, IpCtDir::Original));
        self.hash.insert(tuples[1], (id.index, IpCtDir::Reply));
        true
    }

    /// The last reference of an unconfirmed entry went away (its packet was dropped or
    /// consumed before confirmation): free it. Confirmed entries are not touched.
    pub fn put_unconfirmed(&mut self, id: CtId) {
        if self.get(id).is_some_and(|ct| !ct.is_confirmed()) {
            self.free_entry(id.index);
        }
    }

    /// `nf_conntrack_alter_reply`, for NAT: the reply tuple of an unconfirmed entry.
    pub(crate) fn alter_reply(&mut self, id: CtId, reply: Tuple) {
        if let Some(ct) = self.get_mut(id) {
            if !ct.is_confirmed() {
                ct.tuplehash[1] = reply;
            }
        }
    }

    /// Enters an entry whose source binding was just set up into the NAT source index
    /// (`hlist_add_head_rcu(&ct->nat_bysource, …)` in `nf_nat_setup_info`).
    pub(crate) fn nat_bysource_add(&mut self, id: CtId) {
        let seq = self.nat_seq_next;
        let Some(ct) = self.get_mut(id) else { return };
        if ct.nat_seq != 0 {
            return;
        }
        ct.nat_seq = seq;
        let o = ct.tuplehash[0];
        self.nat_seq_next += 1;
        self.bysource
            .insert((o.protonum, o.src, o.src_u, seq, id.index));
    }

    /// The live entries with a source binding whose original tuple has `tuple`'s protocol,
    /// source address and port (`same_src`), newest first as the kernel's list head
    /// insertion orders them, for NAT's `find_appropriate_src`.
    pub(crate) fn by_source(
        &self,
        now: SimTime,
        tuple: &Tuple,
    ) -> impl Iterator<Item = &NfConn> + '_ {
        let (p, a, port) = (tuple.protonum, tuple.src, tuple.src_u);
        let now_j = self.jiffies(now);
        self.bysource
            .range((p, a, port, 0, 0)..=(p, a, port, u64::MAX, u32::MAX))
            .rev()
            .filter_map(move |&(.., i)| {
                self.slab[i as usize]
                    .ct
                    .as_ref()
                    .filter(|ct| !ct.is_expired(now_j))
            })
    }
}

enum IcmpErr {
    NotError,
    Refused,
    Related(CtVerdict),
}

/// What a protocol tracker returned (`nf_conntrack_handle_packet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PacketVerdict {
    Accept,
    AcceptKill,
    Invalid,
    Repeat,
}

/// `nf_conntrack_handle_packet`: the protocol tracker of the entry.
fn handle_packet(
    ct: &mut NfConn,
    dir: IpCtDir,
    pkt: &PktInfo<'_>,
    now_j: u64,
    check_csum: bool,
    sysctl: &ConntrackSysctl,
) -> PacketVerdict {
    match ct.proto {
        CtProto::Tcp(_) => {
            let Some(th) = TcpHdr::parse(pkt.l4) else {
                return PacketVerdict::Invalid;
            };
            if conntrack_tcp::tcp_error(&th) || (check_csum && !l4_checksum_ok(pkt)) {
                return PacketVerdict::Invalid;
            }
            if !ct.is_confirmed() {
                let Some(tcp) = ct.tcp_mut() else {
                    return PacketVerdict::Invalid;
                };
                if !conntrack_tcp::tcp_new(tcp, &th, sysctl) {
                    return PacketVerdict::Invalid;
                }
            }
            match conntrack_tcp::nf_conntrack_tcp_packet(ct, dir, &th, now_j, sysctl) {
                TcpVerdict::Accept => PacketVerdict::Accept,
                TcpVerdict::AcceptKill => PacketVerdict::AcceptKill,
                TcpVerdict::Invalid => PacketVerdict::Invalid,
                TcpVerdict::Repeat => PacketVerdict::Repeat,
            }
        }
        CtProto::Udp { .. } => {
            if udp_error(pkt.l4, || check_csum && !l4_checksum_ok(pkt)) {
                return PacketVerdict::Invalid;
            }
            nf_conntrack_udp_packet(ct, now_j, sysctl);
            PacketVerdict::Accept
        }
        CtProto::Icmp => {
            if nf_conntrack_icmp_packet(ct, now_j, sysctl) {
                PacketVerdict::Accept
            } else {
                PacketVerdict::Invalid
            }
        }
        CtProto::Generic => {
            ct.refresh(now_j, sysctl.nf_conntrack_generic_timeout);
            PacketVerdict::Accept
        }
    }
}

/// `nf_checksum` for TCP/UDP over IPv4: the pseudo-header and the whole segment sum to
/// 0xffff.
fn l4_checksum_ok(pkt: &PktInfo<'_>) -> bool {
    let ph = checksum::pseudo_header_v4(
        pkt.head.src,
        pkt.head.dst,
        pkt.head.protonum,
        pkt.l4.len() as u32,
    );
    checksum::combine(&[ph, checksum::data(pkt.l4)]) == 0xffff
}

/// Hand-built IPv4 packets for the unit tests of conntrack and NAT.
#[cfg(test)]
pub(crate) mod testpkt {
    use std::net::Ipv4Addr;

    use crate::wire::checksum;

    /// An IPv4 header (no options) around `l4` with protocol `proto`, checksums filled in
    /// (the L4 checksum at `csum_at` within `l4` when given).
    pub(crate) fn ipv4(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        proto: u8,
        mut l4: Vec<u8>,
        csum_at: Option<usize>,
    ) -> Vec<u8> {
        if let Some(at) = csum_at {
            l4[at] = 0;
            l4[at + 1] = 0;
            let ph = checksum::pseudo_header_v4(src, dst, proto, l4.len() as u32);
            let mut c = checksum::finish(&[ph, checksum::data(&l4)]);
            if proto == 17 && c == 0 {
                c = 0xffff;
            }
            l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
        }
        let total = 20 + l4.len();
        let mut p = vec![
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0x12,
            0x34,
            0x40,
            0,
            64,
            proto,
            0,
            0,
        ];
        p.extend_from_slice(&src.octets());
        p.extend_from_slice(&dst.octets());
        let c = !checksum::data(&p);
        p[10..12].copy_from_slice(&c.to_be_bytes());
        p.extend_from_slice(&l4);
        p
    }

    /// A TCP segment with `flags`, `payload` bytes of data and `opts` (padded options).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn tcp(
        src: (Ipv4Addr, u16),
        dst: (Ipv4Addr, u16),
        seq: u32,
        ack: u32,
        flags: u8,
        win: u16,
        opts: &[u8],
        payload: usize,
    ) -> Vec<u8> {
        let doff = 20 + opts.len();
        let mut l4 = Vec::with_capacity(doff + payload);
        l4.extend_from_slice(&src.1.to_be_bytes());
        l4.extend_from_slice(&dst.1.to_be_bytes());
        l4.extend_from_slice(&seq.to_be_bytes());
        l4.extend_from_slice(&ack.to_be_bytes());
        l4.push(((doff / 4) as u8) << 4);
        l4.push(flags);
        l4.extend_from_slice(&win.to_be_bytes());
        l4.extend_from_slice(&[0, 0, 0, 0]);
        l4.extend_from_slice(opts);
        l4.resize(doff + payload, 0xab);
        ipv4(src.0, dst.0, 6, l4, Some(16))
    }

    /// A UDP datagram with `payload` bytes.
    pub(crate) fn udp(src: (Ipv4Addr, u16), dst: (Ipv4Addr, u16), payload: usize) -> Vec<u8> {
        let len = 8 + payload;
        let mut l4 = Vec::with_capacity(len);
        l4.extend_from_slice(&src.1.to_be_bytes());
        l4.extend_from_slice(&dst.1.to_be_bytes());
        l4.extend_from_slice(&(len as u16).to_be_bytes());
        l4.extend_from_slice(&[0, 0]);
        l4.resize(len, 0x5a);
        ipv4(src.0, dst.0, 17, l4, Some(6))
    }

    /// An ICMP message: type, code, the 4 bytes after the checksum, then `data`.
    pub(crate) fn icmp(
        src: Ipv4Addr,
        dst: Ipv4Addr,
        ty: u8,
        code: u8,
        rest: [u8; 4],
        data: &[u8],
    ) -> Vec<u8> {
        let mut l4 = vec![ty, code, 0, 0];
        l4.extend_from_slice(&rest);
        l4.extend_from_slice(data);
        let c = !checksum::data(&l4);
        l4[2..4].copy_from_slice(&c.to_be_bytes());
        ipv4(src, dst, 1, l4, None)
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::testpkt::{icmp, tcp, udp};
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 80);

    fn t_ms(ms: u64) -> SimTime {
        SimTime::from_nanos(ms * 1_000_000)
    }

    fn feed(ct: &mut Conntrack, now: SimTime, pkt: &[u8]) -> CtVerdict {
        let v = ct.nf_conntrack_in(now, Hook::PreRouting, pkt, false);
        if let CtVerdict::Tracked { id, .. } = v {
            assert!(ct.confirm(now, id));
        }
        v
    }

    #[test]
    fn udp_is_assured_by_a_reply_after_two_seconds() {
        let mut ct = Conntrack::default();
        let CtVerdict::Tracked { id, info } = feed(&mut ct, t_ms(0), &udp((A, 5000), (B, 53), 20))
        else {
            panic!()
        };
        assert_eq!(info, IpCtInfo::New);
        assert_eq!(ct.expires(id, t_ms(0)), Some(SimDuration::from_secs(30)));
        // A reply within 2 s: SEEN_REPLY, still 30 s, not assured.
        let v = feed(&mut ct, t_ms(500), &udp((B, 53), (A, 5000), 80));
        assert_eq!(
            v,
            CtVerdict::Tracked {
                id,
                info: IpCtInfo::EstablishedReply
            }
        );
        let e = ct.get(id).unwrap();
        assert!(e.status.contains(IpsStatus::SEEN_REPLY) && !e.status.contains(IpsStatus::ASSURED));
        assert_eq!(ct.expires(id, t_ms(500)), Some(SimDuration::from_secs(30)));
        // Still going after 2 s: a stream, 120 s and ASSURED.
        let v = feed(&mut ct, t_ms(2500), &udp((A, 5000), (B, 53), 20));
        assert_eq!(
            v,
            CtVerdict::Tracked {
                id,
                info: IpCtInfo::Established
            }
        );
        let e = ct.get(id).unwrap();
        assert!(e.status.contains(IpsStatus::ASSURED));
        assert_eq!(
            ct.expires(id, t_ms(2500)),
            Some(SimDuration::from_secs(120))
        );
        // Expiry: gone for lookups and listings at the deadline.
        assert_eq!(ct.count(t_ms(122_499)), 1);
        assert_eq!(ct.show_list(t_ms(122_500)), "");
        assert_eq!(ct.count(t_ms(122_500)), 0);
    }

    #[test]
    fn a_udp_stream_needs_a_packet_strictly_after_two_seconds() {
        for (at_ms, assured) in [(2000, false), (2004, true)] {
            let mut ct = Conntrack::default();
            let CtVerdict::Tracked { id, .. } = feed(&mut ct, t_ms(0), &udp((A, 5000), (B, 53), 1))
            else {
                panic!()
            };
            feed(&mut ct, t_ms(100), &udp((B, 53), (A, 5000), 1));
            feed(&mut ct, t_ms(at_ms), &udp((A, 5000), (B, 53), 1));
            // time_after(jiffies, stream_ts): jiffy 500 is not after 500, jiffy 501 is.
            let e = ct.get(id).unwrap();
            assert_eq!(e.status.contains(IpsStatus::ASSURED), assured, "{at_ms} ms");
        }
    }

    #[test]
    fn a_udp_exchange_lists_as_on_linux() {
        // As seen on Linux 6.18 through a MASQUERADE router: a reply within 2 s, listed
        // 0.5 s later (29, neither UNREPLIED nor ASSURED); another exchange 2.1 s after the
        // first datagram (119, ASSURED).
        let c = Ipv4Addr::new(10, 0, 0, 2);
        let s = Ipv4Addr::new(10, 0, 1, 80);
        let mut ct = Conntrack::default();
        feed(&mut ct, t_ms(0), &udp((c, 41000), (s, 7777), 1));
        feed(&mut ct, t_ms(1), &udp((s, 7777), (c, 41000), 1));
        assert_eq!(
            ct.show_list(t_ms(500)),
            "udp      17 29 src=10.0.0.2 dst=10.0.1.80 sport=41000 dport=7777 \
             src=10.0.1.80 dst=10.0.0.2 sport=7777 dport=41000 mark=0 use=1\n"
        );
        feed(&mut ct, t_ms(2100), &udp((c, 41000), (s, 7777), 1));
        feed(&mut ct, t_ms(2101), &udp((s, 7777), (c, 41000), 1));
        assert_eq!(
            ct.show_list(t_ms(2110)),
            "udp      17 119 src=10.0.0.2 dst=10.0.1.80 sport=41000 dport=7777 \
             src=10.0.1.80 dst=10.0.0.2 sport=7777 dport=41000 [ASSURED] mark=0 use=1\n"
        );
    }

    #[test]
    fn bad_checksum_at_prerouting_is_invalid_but_not_at_local_out() {
        let mut ct = Conntrack::default();
        let mut p = udp((A, 5000), (B, 53), 20);
        p[27] ^= 0x40;
        assert_eq!(feed(&mut ct, t_ms(0), &p), CtVerdict::Invalid);
        assert!(ct.nf_conntrack_in(t_ms(0), Hook::PreRouting, &p, true) != CtVerdict::Invalid);
        let v = ct.nf_conntrack_in(t_ms(0), Hook::LocalOut, &p, false);
        assert!(matches!(
            v,
            CtVerdict::Tracked {
                info: IpCtInfo::New,
                ..
            }
        ));
        assert_eq!(ct.stat().invalid, 1);
    }

    #[test]
    fn icmp_echo_pairs_and_errors_are_related() {
        let mut ct = Conntrack::default();
        let echo = icmp(A, B, 8, 0, [0x12, 0x34, 0, 1], b"abcd");
        let CtVerdict::Tracked { id, info } = feed(&mut ct, t_ms(0), &echo) else {
            panic!()
        };
        assert_eq!(info, IpCtInfo::New);
        let reply = icmp(B, A, 0, 0, [0x12, 0x34, 0, 1], b"abcd");
        assert_eq!(
            feed(&mut ct, t_ms(1), &reply),
            CtVerdict::Tracked {
                id,
                info: IpCtInfo::EstablishedReply
            }
        );
        // A reply without a request is invalid; so is an unknown type.
        assert_eq!(
            feed(&mut ct, t_ms(1), &icmp(B, A, 0, 0, [0, 9, 0, 1], b"")),
            CtVerdict::Invalid
        );
        assert_eq!(ct.stat().invalid, 1);
        assert_eq!(
            feed(&mut ct, t_ms(1), &icmp(B, A, 40, 0, [0; 4], b"")),
            CtVerdict::Invalid
        );
        assert_eq!(ct.stat().error, 1);

        // A port unreachable quoting a UDP datagram of a tracked flow: RELATED (reply).
        let dgram = udp((A, 5000), (B, 53), 20);
        let CtVerdict::Tracked { id: uid, .. } = feed(&mut ct, t_ms(2), &dgram) else {
            panic!()
        };
        let unreach = icmp(B, A, 3, 3, [0; 4], &dgram[..28]);
        assert_eq!(
            feed(&mut ct, t_ms(3), &unreach),
            CtVerdict::Tracked {
                id: uid,
                info: IpCtInfo::RelatedReply
            }
        );
        assert_eq!(feed(&mut ct, t_ms(3), &unreach).ctstate(), CtState::Related);
        assert_eq!(feed(&mut ct, t_ms(3), &dgram).ctstate(), CtState::New);
        // Quoting a flow nobody tracks: refused (error).
        let other = udp((A, 5001), (B, 53), 20);
        assert_eq!(
            feed(&mut ct, t_ms(3), &icmp(B, A, 3, 3, [0; 4], &other[..28])),
            CtVerdict::Invalid
        );
        assert_eq!(ct.stat().error, 2);
        // The error does not make the flow seen-reply.
        assert!(!ct.get(uid).unwrap().status.contains(IpsStatus::SEEN_REPLY));
    }

    #[test]
    fn a_full_table_early_drops_the_unassured_entry_closest_to_expiry() {
        let mut ct = Conntrack::new(
            ConntrackSysctl {
                nf_conntrack_max: 2,
                ..Default::default()
            },
            0,
        );
        feed(&mut ct, t_ms(0), &udp((A, 1), (B, 53), 0));
        feed(&mut ct, t_ms(1000), &udp((A, 2), (B, 53), 0));
        // Third: the first (deadline 30 s, before the second's 31 s) goes.
        assert!(matches!(
            feed(&mut ct, t_ms(2000), &udp((A, 3), (B, 53), 0)),
            CtVerdict::Tracked { .. }
        ));
        assert_eq!(ct.stat().early_drop, 1);
        let ports: Vec<u16> = ct
            .entries(t_ms(2000))
            .iter()
            .map(|(_, e)| e.tuplehash[0].src_u)
            .collect();
        assert_eq!(ports, [2, 3]);
        // Assured entries are never dropped: a table of assured entries drops the packet.
        let mut ct = Conntrack::new(
            ConntrackSysctl {
                nf_conntrack_max: 1,
                ..Default::default()
            },
            0,
        );
        feed(&mut ct, t_ms(0), &udp((A, 1), (B, 53), 0));
        feed(&mut ct, t_ms(100), &udp((B, 53), (A, 1), 0));
        feed(&mut ct, t_ms(3000), &udp((A, 1), (B, 53), 0));
        assert_eq!(
            feed(&mut ct, t_ms(3000), &udp((A, 3), (B, 53), 0)),
            CtVerdict::Drop
        );
        assert_eq!((ct.stat().drop, ct.stat().early_drop), (1, 0));
        // Expired entries make room without an early drop.
        assert!(matches!(
            feed(&mut ct, t_ms(200_000), &udp((A, 3), (B, 53), 0)),
            CtVerdict::Tracked { .. }
        ));
        assert_eq!(ct.stat().early_drop, 0);
    }

    #[test]
    fn unconfirmed_entries_are_not_found_and_can_be_put() {
        let mut ct = Conntrack::default();
        let p = udp((A, 1), (B, 53), 0);
        let CtVerdict::Tracked { id, .. } = ct.nf_conntrack_in(t_ms(0), Hook::LocalOut, &p, false)
        else {
            panic!()
        };
        assert_eq!(ct.count(t_ms(0)), 1);
        assert_eq!(ct.show_list(t_ms(0)), "");
        ct.put_unconfirmed(id);
        assert_eq!(ct.count(t_ms(0)), 0);
        assert!(ct.get(id).is_none());
    }

    #[test]
    fn conntrack_list_is_formatted_as_conntrack_tools_prints_it() {
        let mut ct = Conntrack::new(
            ConntrackSysctl {
                nf_conntrack_acct: true,
                ..Default::default()
            },
            0,
        );
        let c = (Ipv4Addr::new(10, 9, 0, 1), 51700);
        let s = (Ipv4Addr::new(10, 9, 0, 2), 80);
        let opts = [2, 4, 5, 0xb4, 4, 2, 1, 1, 1, 3, 3, 7];
        feed(&mut ct, t_ms(0), &tcp(c, s, 1, 0, 0x02, 64240, &opts, 0));
        feed(&mut ct, t_ms(1), &tcp(s, c, 7, 2, 0x12, 65160, &opts, 0));
        feed(&mut ct, t_ms(2), &tcp(c, s, 2, 8, 0x10, 502, &[], 0));
        feed(
            &mut ct,
            t_ms(3),
            &udp(
                (Ipv4Addr::new(10, 9, 0, 1), 56845),
                (Ipv4Addr::new(10, 9, 0, 2), 53),
                1,
            ),
        );
        feed(
            &mut ct,
            t_ms(4),
            &icmp(
                Ipv4Addr::new(10, 9, 0, 1),
                Ipv4Addr::new(10, 9, 0, 2),
                8,
                0,
                [0x12, 0x34, 0, 1],
                b"abcd",
            ),
        );
        feed(
            &mut ct,
            t_ms(4),
            &icmp(
                Ipv4Addr::new(10, 9, 0, 2),
                Ipv4Addr::new(10, 9, 0, 1),
                0,
                0,
                [0x12, 0x34, 0, 1],
                b"abcd",
            ),
        );
        let gre = testpkt::ipv4(
            Ipv4Addr::new(10, 9, 0, 1),
            Ipv4Addr::new(10, 9, 0, 2),
            99,
            b"hello".to_vec(),
            None,
        );
        feed(&mut ct, t_ms(5), &gre);
        // At 1005 ms (jiffy 251 at HZ=250): the UDP entry, refreshed at 3 ms (jiffy 0), has
        // 7500 - 251 jiffies left, 28 s rounded down; the ICMP one, refreshed at 4 ms
        // (jiffy 1), 29 s. SYN (52 bytes) and ACK (40) one way, SYN/ACK (52) back.
        let list = ct.show_list(t_ms(1005));
        let expected = "\
icmp     1 29 src=10.9.0.1 dst=10.9.0.2 type=8 code=0 id=4660 packets=1 bytes=32 src=10.9.0.2 dst=10.9.0.1 type=0 code=0 id=4660 packets=1 bytes=32 mark=0 use=1
tcp      6 431998 ESTABLISHED src=10.9.0.1 dst=10.9.0.2 sport=51700 dport=80 packets=2 bytes=92 src=10.9.0.2 dst=10.9.0.1 sport=80 dport=51700 packets=1 bytes=52 [ASSURED] mark=0 use=1
udp      17 28 src=10.9.0.1 dst=10.9.0.2 sport=56845 dport=53 packets=1 bytes=29 [UNREPLIED] src=10.9.0.2 dst=10.9.0.1 sport=53 dport=56845 packets=0 bytes=0 mark=0 use=1
unknown  99 599 src=10.9.0.1 dst=10.9.0.2 packets=1 bytes=25 [UNREPLIED] src=10.9.0.2 dst=10.9.0.1 packets=0 bytes=0 mark=0 use=1
";
        assert_eq!(list, expected);
        assert_eq!(ct.show_count(t_ms(1005)), "4\n");
        let ext = ct.show_list_extended(t_ms(1005));
        assert!(
            ext.starts_with("ipv4     2 icmp     1 29 src=10.9.0.1 "),
            "{ext}"
        );
        assert_eq!(ext.lines().count(), 4);
        assert_eq!(
            ct.show_stats(),
            "cpu=0   \tfound=0 invalid=0 insert=0 insert_failed=0 drop=0 early_drop=0 error=0 search_restart=0 clash_resolve=0 chaintoolong=0 \n"
        );
    }
}
