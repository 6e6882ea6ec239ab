//! The `-m` matches (`xt_*` modules) a rule may carry, and what each tests.
//!
//! A match returns whether the packet matches, or asks for the packet to be dropped
//! (`par->hotdrop`: a TCP header too short to read, as `tcp_mt` does).

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};
use sim_core::SimRng;

use super::rule::{Inv, PacketInfo};
use super::xt_limit::Limit;

/// A port or an inclusive port range (`80`, `1024:65535`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRange {
    /// First port.
    pub min: u16,
    /// Last port.
    pub max: u16,
}

impl PortRange {
    /// One port.
    pub const fn one(p: u16) -> Self {
        Self { min: p, max: p }
    }

    /// Whether `p` is in it.
    #[inline]
    pub fn contains(self, p: u16) -> bool {
        (self.min..=self.max).contains(&p)
    }
}

/// `--tcp-flags MASK COMP`: of the flags in `mask`, exactly those in `comp` are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpFlagsMatch {
    /// The flags examined.
    pub mask: u8,
    /// Those of them that must be set.
    pub comp: u8,
}

/// `-p tcp` (`xt_tcpudp`'s `tcp` match).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TcpMatch {
    /// `--sport`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sport: Option<Inv<PortRange>>,
    /// `--dport`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dport: Option<Inv<PortRange>>,
    /// `--tcp-flags` (`--syn` is `SYN,RST,ACK,FIN SYN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flags: Option<Inv<TcpFlagsMatch>>,
    /// `--tcp-option N`: the option kind is present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub option: Option<Inv<u8>>,
}

/// `-p udp` (`xt_tcpudp`'s `udp` match).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UdpMatch {
    /// `--sport`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sport: Option<Inv<PortRange>>,
    /// `--dport`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dport: Option<Inv<PortRange>>,
}

/// `--icmp-type TYPE[/CODE]` (`icmp_match`); type 255 is `any`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct IcmpType {
    /// The type, 255 for any.
    pub ty: u8,
    /// Lowest code.
    pub code_min: u8,
    /// Highest code.
    pub code_max: u8,
}

/// Which ports `-m multiport` looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MultiportDir {
    /// `--sports`.
    Src,
    /// `--dports`.
    Dst,
    /// `--ports`: either.
    Any,
}

/// `-m statistic`'s mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatisticMode {
    /// `--mode random --probability P`: P scaled as the kernel keeps it (`P × 2^31`).
    Random(u32),
    /// `--mode nth --every N --packet P`.
    Nth(Nth),
}

/// `-m ttl`'s comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TtlOp {
    /// `--ttl-eq`.
    Eq,
    /// `! --ttl-eq`.
    Ne,
    /// `--ttl-lt`.
    Lt,
    /// `--ttl-gt`.
    Gt,
}

/// A value and mask (`-m mark --mark V/M`, `-m connmark`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkMask {
    /// The value.
    pub value: u32,
    /// The mask (0xffffffff when none is written).
    pub mask: u32,
}

/// `-m conntrack` (`xt_conntrack`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConntrackMatch {
    /// `--ctstate`: a mask of `XT_STATE_*` bits and the `SNAT`/`DNAT` pseudo-states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<Inv<u16>>,
    /// `--ctstatus`: a mask of `IPS_*` bits, any of which must be set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Inv<u32>>,
}

/// The state bits of `-m state`/`--ctstate` (`XT_STATE_BIT(ctinfo)`).
pub mod state {
    /// `INVALID`: no connection could be tracked.
    pub const INVALID: u16 = 1 << 0;
    /// `ESTABLISHED`: `IP_CT_ESTABLISHED` (either direction).
    pub const ESTABLISHED: u16 = 1 << 1;
    /// `RELATED`: `IP_CT_RELATED`.
    pub const RELATED: u16 = 1 << 2;
    /// `NEW`: `IP_CT_NEW`.
    pub const NEW: u16 = 1 << 3;
    /// `UNTRACKED`: `-j NOTRACK`/`CT --notrack`.
    pub const UNTRACKED: u16 = 1 << 4;
    /// `--ctstate SNAT`: the connection's source is translated.
    pub const SNAT: u16 = 1 << 5;
    /// `--ctstate DNAT`: its destination is.
    pub const DNAT: u16 = 1 << 6;

    /// The names, in the order iptables prints them.
    pub const NAMES: &[(u16, &str)] = &[
        (INVALID, "INVALID"),
        (NEW, "NEW"),
        (RELATED, "RELATED"),
        (ESTABLISHED, "ESTABLISHED"),
        (UNTRACKED, "UNTRACKED"),
        (SNAT, "SNAT"),
        (DNAT, "DNAT"),
    ];
}

/// `IPS_SRC_NAT` and `IPS_DST_NAT` of `ct->status`.
pub const IPS_SRC_NAT: u32 = 1 << 4;
/// `IPS_DST_NAT`.
pub const IPS_DST_NAT: u32 = 1 << 5;

/// `-m statistic --mode nth --every N --packet P` (`xt_statistic`): of the packets that reach
/// this match — the rule's other matches satisfied — the P-th of every N matches, counting
/// from 0: packets P, P + N, P + 2N, …
///
/// The kernel keeps a counter starting at `every − 1 − packet`, advancing modulo N and
/// matching on 0; that is the packet whose 0-based index `i` has `i mod N = P`, which is what
/// the match's count of packets reaching it computes. The count belongs to the rule, so it is
/// per rule and per node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nth {
    /// N, at least 1.
    pub every: u32,
    /// P, below N.
    pub packet: u32,
}

/// Why `every N packet P` cannot be evaluated (iptables refuses both).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NthError {
    /// `--every 0`.
    #[error("`every 0` matches no packet; N must be at least 1")]
    ZeroEvery,
    /// `--packet P` with P ≥ N.
    #[error("`packet {packet}` is not below `every {every}`")]
    PacketNotBelow {
        /// N.
        every: u32,
        /// P.
        packet: u32,
    },
}

impl Nth {
    /// The match for `every` ≥ 1 and `packet` < `every` (what iptables accepts).
    pub fn new(every: u32, packet: u32) -> Result<Self, NthError> {
        let n = Self { every, packet };
        n.validate().map(|()| n)
    }

    /// Whether iptables would take it.
    pub fn validate(&self) -> Result<(), NthError> {
        if self.every == 0 {
            return Err(NthError::ZeroEvery);
        }
        if self.packet >= self.every {
            return Err(NthError::PacketNotBelow {
                every: self.every,
                packet: self.packet,
            });
        }
        Ok(())
    }

    /// Whether the packet with 0-based index `seen` among those reaching the match matches
    /// (`statistic_mt`).
    pub fn matches(&self, seen: u64) -> bool {
        seen % u64::from(self.every) == u64::from(self.packet)
    }
}

/// A `-m` match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Match {
    /// `-p tcp [--sport] [--dport] [--tcp-flags] [--syn] [--tcp-option]`.
    Tcp(TcpMatch),
    /// `-p udp [--sport] [--dport]`.
    Udp(UdpMatch),
    /// `-p icmp --icmp-type T[/C]`.
    Icmp(Inv<IcmpType>),
    /// `-m multiport --sports|--dports|--ports P,P:Q,…` (up to 15 ports, a range counting
    /// two).
    Multiport {
        /// Which ports.
        dir: MultiportDir,
        /// The ports and ranges.
        ports: Vec<PortRange>,
        /// `!`.
        inv: bool,
    },
    /// `-m iprange --src-range A-B --dst-range C-D`.
    IpRange {
        /// `--src-range`.
        src: Option<Inv<(Ipv4Addr, Ipv4Addr)>>,
        /// `--dst-range`.
        dst: Option<Inv<(Ipv4Addr, Ipv4Addr)>>,
    },
    /// `-m state --state S,…` (the old name of `--ctstate`; also printed as `state`).
    State(Inv<u16>),
    /// `-m conntrack`.
    Conntrack(ConntrackMatch),
    /// `-m mark --mark V[/M]`.
    Mark(Inv<MarkMask>),
    /// `-m connmark --mark V[/M]`.
    Connmark(Inv<MarkMask>),
    /// `-m limit --limit R --limit-burst B`.
    Limit(Limit),
    /// `-m statistic`.
    Statistic {
        /// Random or nth.
        mode: StatisticMode,
        /// `!`.
        inv: bool,
        /// Packets that reached the match (nth's counter).
        #[serde(skip)]
        seen: u64,
    },
    /// `-m length --length MIN[:MAX]` (the IP total length).
    Length(Inv<(u16, u16)>),
    /// `-m ttl --ttl-eq|--ttl-lt|--ttl-gt N`.
    Ttl {
        /// The comparison.
        op: TtlOp,
        /// N.
        value: u8,
    },
    /// `-m comment --comment TEXT`: always matches; the text shows in listings.
    Comment(String),
}

/// How a match answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchResult {
    /// It matched.
    Yes,
    /// It did not.
    No,
    /// Drop the packet (`par->hotdrop`).
    HotDrop,
}

impl From<bool> for MatchResult {
    #[inline]
    fn from(b: bool) -> Self {
        if b { Self::Yes } else { Self::No }
    }
}

fn port_ok(m: &Option<Inv<PortRange>>, p: u16) -> bool {
    m.as_ref().is_none_or(|r| r.apply(r.v.contains(p)))
}

/// `tcp_find_option`: whether option `kind` appears in `opts`.
fn tcp_has_option(opts: &[u8], kind: u8) -> bool {
    let mut i = 0;
    while i < opts.len() {
        match opts[i] {
            0 => return kind == 0,
            1 => {
                if kind == 1 {
                    return true;
                }
                i += 1;
            }
            k => {
                if k == kind {
                    return true;
                }
                let l = usize::from(*opts.get(i + 1).unwrap_or(&0));
                if l < 2 {
                    return false;
                }
                i += l;
            }
        }
    }
    false
}

impl Match {
    /// Tests the packet (`match` of the `xt_match`). `rng` feeds `statistic --mode random`.
    pub fn matches(&mut self, p: &PacketInfo<'_>, rng: &mut SimRng) -> MatchResult {
        match self {
            Self::Tcp(m) => {
                if p.frag_off != 0 {
                    // A later fragment has no TCP header; a first fragment cut inside it is
                    // dropped (tcp_mt's "Don't allow a fragment of TCP 8 bytes in").
                    return MatchResult::No;
                }
                let t = p.transport();
                if t.len() < 20 {
                    return MatchResult::HotDrop;
                }
                let (sp, dp) = (
                    u16::from_be_bytes([t[0], t[1]]),
                    u16::from_be_bytes([t[2], t[3]]),
                );
                if !port_ok(&m.sport, sp) || !port_ok(&m.dport, dp) {
                    return MatchResult::No;
                }
                if let Some(f) = &m.flags
                    && !f.apply(t[13] & f.v.mask == f.v.comp)
                {
                    return MatchResult::No;
                }
                if let Some(o) = &m.option {
                    let doff = usize::from(t[12] >> 4) * 4;
                    if doff < 20 {
                        return MatchResult::HotDrop;
                    }
                    if t.len() < doff {
                        return MatchResult::HotDrop;
                    }
                    return o.apply(tcp_has_option(&t[20..doff], o.v)).into();
                }
                MatchResult::Yes
            }
            Self::Udp(m) => {
                if p.frag_off != 0 {
                    return MatchResult::No;
                }
                let Some((sp, dp)) = p.ports() else {
                    return MatchResult::HotDrop;
                };
                (port_ok(&m.sport, sp) && port_ok(&m.dport, dp)).into()
            }
            Self::Icmp(m) => {
                if p.frag_off != 0 {
                    return MatchResult::No;
                }
                let t = p.transport();
                if t.len() < 2 {
                    return MatchResult::HotDrop;
                }
                let hit = m.v.ty == 255
                    || (t[0] == m.v.ty && (m.v.code_min..=m.v.code_max).contains(&t[1]));
                m.apply(hit).into()
            }
            Self::Multiport { dir, ports, inv } => {
                if p.frag_off != 0 {
                    return MatchResult::No;
                }
                let Some((sp, dp)) = p.ports() else {
                    return MatchResult::HotDrop;
                };
                let hit = ports.iter().any(|r| match dir {
                    MultiportDir::Src => r.contains(sp),
                    MultiportDir::Dst => r.contains(dp),
                    MultiportDir::Any => r.contains(sp) || r.contains(dp),
                });
                (hit != *inv).into()
            }
            Self::IpRange { src, dst } => {
                let inr = |r: &Inv<(Ipv4Addr, Ipv4Addr)>, a: Ipv4Addr| {
                    r.apply((r.v.0..=r.v.1).contains(&a))
                };
                (src.as_ref().is_none_or(|r| inr(r, p.src))
                    && dst.as_ref().is_none_or(|r| inr(r, p.dst)))
                .into()
            }
            Self::State(s) => s.apply(p.ct_state & s.v != 0).into(),
            Self::Conntrack(c) => {
                if let Some(s) = &c.state {
                    let mut bits = p.ct_state;
                    if p.ct_status & IPS_SRC_NAT != 0 {
                        bits |= state::SNAT;
                    }
                    if p.ct_status & IPS_DST_NAT != 0 {
                        bits |= state::DNAT;
                    }
                    if !s.apply(bits & s.v != 0) {
                        return MatchResult::No;
                    }
                }
                if let Some(s) = &c.status
                    && !s.apply(p.ct_status & s.v != 0)
                {
                    return MatchResult::No;
                }
                MatchResult::Yes
            }
            Self::Mark(m) => m.apply(p.mark & m.v.mask == m.v.value).into(),
            Self::Connmark(m) => m.apply(p.ct_mark & m.v.mask == m.v.value).into(),
            Self::Limit(l) => l.take(p.jiffies).into(),
            Self::Statistic { mode, inv, seen } => {
                let hit = match mode {
                    StatisticMode::Random(prob) => (rng.next_u32() & 0x7FFF_FFFF) < *prob,
                    StatisticMode::Nth(n) => {
                        let s = *seen;
                        *seen += 1;
                        n.matches(s)
                    }
                };
                (hit != *inv).into()
            }
            Self::Length(l) => l.apply((l.v.0..=l.v.1).contains(&p.len)).into(),
            Self::Ttl { op, value } => match op {
                TtlOp::Eq => p.ttl == *value,
                TtlOp::Ne => p.ttl != *value,
                TtlOp::Lt => p.ttl < *value,
                TtlOp::Gt => p.ttl > *value,
            }
            .into(),
            Self::Comment(_) => MatchResult::Yes,
        }
    }

    /// Whether the match needs connection tracking in the node.
    pub fn needs_conntrack(&self) -> bool {
        matches!(
            self,
            Self::State(_) | Self::Conntrack(_) | Self::Connmark(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_matches_packet_p_of_every_n_counting_from_zero() {
        // --every 3 --packet 1: packets 1, 4, 7, …
        let n = Nth::new(3, 1).expect("valid");
        let got: Vec<bool> = (0..9).map(|i| n.matches(i)).collect();
        assert_eq!(
            got,
            [false, true, false, false, true, false, false, true, false]
        );
        let all = Nth::new(1, 0).expect("valid");
        assert!((0..5).all(|i| all.matches(i)));
        let first = Nth::new(1_000_000, 0).expect("valid");
        let hits: Vec<u64> = (0..2_000_001).filter(|&i| first.matches(i)).collect();
        assert_eq!(hits, [0, 1_000_000, 2_000_000]);
        let last = Nth::new(4, 3).expect("valid");
        let got: Vec<bool> = (0..8).map(|i| last.matches(i)).collect();
        assert_eq!(got, [false, false, false, true, false, false, false, true]);
    }

    #[test]
    fn nth_refuses_what_iptables_refuses() {
        assert_eq!(Nth::new(0, 0), Err(NthError::ZeroEvery), "--every 0");
        assert_eq!(
            Nth::new(5, 5),
            Err(NthError::PacketNotBelow {
                every: 5,
                packet: 5
            }),
        );
        assert!(Nth::new(u32::MAX, u32::MAX - 1).is_ok());
    }

    #[test]
    fn tcp_options_are_found_past_nops_and_not_past_the_end() {
        // NOP NOP TS(10) then MSS.
        let mut o = vec![1, 1, 8, 10];
        o.extend([0; 8]);
        o.extend([2, 4, 5, 0xb4]);
        assert!(tcp_has_option(&o, 8));
        assert!(tcp_has_option(&o, 2));
        assert!(!tcp_has_option(&o, 3));
        // A zero length stops the walk rather than looping.
        assert!(!tcp_has_option(&[5, 0, 2, 4], 2));
    }
}
