//! Netfilter hook points and a small rule set (what `iptables -A CHAIN … -j ACCEPT|DROP`
//! expresses for the common cases).
//!
//! The five IPv4 hooks are traversed where the kernel traverses them: `PRE_ROUTING` and
//! `LOCAL_IN` on receive, `FORWARD` on routers, `LOCAL_OUT` and `POST_ROUTING` on output.
//! Rules match on protocol, source and destination prefix, ports, TCP flags and, last, the
//! nth-packet counter of iptables' `statistic` match ([`Nth`]); first match wins, and the
//! policy of every chain is ACCEPT. Not modeled: NAT, conntrack, REJECT targets, marks, the
//! statistic match's `random` mode, and user-defined chains.

use serde::{Deserialize, Serialize};

use crate::wire::{IpProtocol, Ipv4Cidr, Ipv4Packet, TcpPacket, UdpPacket};

/// A hook point (`NF_INET_*`). A scenario names it as iptables names the chain
/// (`Input`, `Output`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Hook {
    /// `NF_INET_PRE_ROUTING`, chain `PREROUTING`: every received packet, before routing.
    PreRouting,
    /// `NF_INET_LOCAL_IN`, chain `INPUT`: packets for this node, before the socket.
    #[serde(rename = "Input")]
    LocalIn,
    /// `NF_INET_FORWARD`, chain `FORWARD`: packets being routed through.
    Forward,
    /// `NF_INET_LOCAL_OUT`, chain `OUTPUT`: locally generated packets, after routing.
    #[serde(rename = "Output")]
    LocalOut,
    /// `NF_INET_POST_ROUTING`, chain `POSTROUTING`: every packet leaving, after routing.
    PostRouting,
}

impl Hook {
    /// The name used in path traces: `nf_hook(LOCAL_OUT)`.
    pub fn trace_name(self) -> &'static str {
        match self {
            Self::PreRouting => "nf_hook(PRE_ROUTING)",
            Self::LocalIn => "nf_hook(LOCAL_IN)",
            Self::Forward => "nf_hook(FORWARD)",
            Self::LocalOut => "nf_hook(LOCAL_OUT)",
            Self::PostRouting => "nf_hook(POST_ROUTING)",
        }
    }
}

/// What a rule does to a matching packet (its target, `-j ACCEPT|DROP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// `NF_ACCEPT`: stop evaluating, let the packet through.
    Accept,
    /// `NF_DROP`: free the packet.
    Drop,
}

/// The protocol a rule matches (`-p tcp|udp|icmp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP.
    Icmp,
}

impl Proto {
    /// The IP protocol it names.
    pub fn ip_protocol(self) -> IpProtocol {
        match self {
            Self::Tcp => IpProtocol::Tcp,
            Self::Udp => IpProtocol::Udp,
            Self::Icmp => IpProtocol::Icmp,
        }
    }
}

/// One rule, as a scenario writes it (`netfilter output drop proto tcp flags rst dst
/// 10.0.0.2`) and as the node evaluates it, with its counters. Unset matches match anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// The chain.
    pub hook: Hook,
    /// The target.
    #[serde(rename = "action")]
    pub verdict: Verdict,
    /// Protocol to match.
    pub proto: Option<Proto>,
    /// Source prefix to match.
    pub src: Option<Ipv4Cidr>,
    /// Destination prefix to match.
    pub dst: Option<Ipv4Cidr>,
    /// TCP/UDP source port to match.
    pub sport: Option<u16>,
    /// TCP/UDP destination port to match.
    pub dport: Option<u16>,
    /// TCP flags that must all be set (bits as in the header: FIN 0x01, SYN 0x02, RST 0x04,
    /// PSH 0x08, ACK 0x10, URG 0x20), as `--tcp-flags F F`; 0 matches any segment.
    pub tcp_flags: u8,
    /// `-m statistic --mode nth`: evaluated after every other match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nth: Option<Nth>,
    /// Packets that matched (`iptables -v`).
    #[serde(skip)]
    pub packets: u64,
    /// Packets that reached the `nth` match.
    #[serde(skip)]
    pub nth_seen: u64,
}

impl Rule {
    /// A rule at `hook` that matches every packet, for the matches to narrow.
    pub fn new(hook: Hook, verdict: Verdict) -> Self {
        Self {
            hook,
            verdict,
            proto: None,
            src: None,
            dst: None,
            sport: None,
            dport: None,
            tcp_flags: 0,
            nth: None,
            packets: 0,
            nth_seen: 0,
        }
    }
}

/// `-m statistic --mode nth --every N --packet P` (`xt_statistic`): of the packets that reach
/// this match — the rule's other matches satisfied — the P-th of every N matches, counting
/// from 0: packets P, P + N, P + 2N, …
///
/// The kernel keeps a counter starting at `every − 1 − packet`, advancing modulo N and
/// matching on 0; that is the packet whose 0-based index `i` has `i mod N = P`, which is what
/// the rule's count of packets reaching the match computes. The count belongs to the rule,
/// so it is per rule and per node.
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

/// The rules of one node.
#[derive(Debug, Clone, Default)]
pub struct Netfilter {
    /// In order of evaluation.
    pub rules: Vec<Rule>,
}

impl Netfilter {
    /// Runs the `hook` chain over the IP packet `ip` (header first). Returns the verdict.
    pub fn hook(&mut self, hook: Hook, ip: &[u8]) -> Verdict {
        if self.rules.is_empty() {
            return Verdict::Accept;
        }
        let Ok(p) = Ipv4Packet::new_checked(ip) else {
            return Verdict::Accept;
        };
        let proto = p.protocol();
        let (src, dst) = (p.src_addr(), p.dst_addr());
        let payload = p.payload();
        let first_frag = p.frag_offset() == 0;
        let (ports, flags) = match p.protocol() {
            IpProtocol::Tcp if first_frag => match TcpPacket::new_checked(payload) {
                Ok(t) => (
                    Some((t.src_port(), t.dst_port())),
                    Some(t.flags().bits() as u8),
                ),
                Err(_) => (None, None),
            },
            IpProtocol::Udp if first_frag => match UdpPacket::new_checked(payload) {
                Ok(u) => (Some((u.src_port(), u.dst_port())), None),
                Err(_) => (None, None),
            },
            _ => (None, None),
        };
        for rule in self.rules.iter_mut().filter(|r| r.hook == hook) {
            let ok = rule.proto.is_none_or(|x| x.ip_protocol() == proto)
                && rule.src.is_none_or(|c| c.contains(src))
                && rule.dst.is_none_or(|c| c.contains(dst))
                && rule
                    .sport
                    .is_none_or(|x| ports.is_some_and(|(s, _)| s == x))
                && rule
                    .dport
                    .is_none_or(|x| ports.is_some_and(|(_, d)| d == x))
                && (rule.tcp_flags == 0
                    || flags.is_some_and(|f| f & rule.tcp_flags == rule.tcp_flags))
                // Last, as iptables evaluates matches in order: only packets that satisfy
                // everything else move the counter.
                && rule.nth.is_none_or(|n| {
                    let seen = rule.nth_seen;
                    rule.nth_seen += 1;
                    n.matches(seen)
                });
            if ok {
                rule.packets += 1;
                return rule.verdict;
            }
        }
        Verdict::Accept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{Ipv4Repr, TcpFlags, TcpOptions, TcpRepr};
    use std::net::Ipv4Addr;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    /// An IPv4 packet carrying a TCP segment from A:1000 to B:80 with `flags` and no payload.
    fn tcp(flags: TcpFlags) -> Vec<u8> {
        let t = TcpRepr {
            src_port: 1000,
            dst_port: 80,
            seq: 1,
            ack: 0,
            flags,
            window: 1000,
            urgent: 0,
            options: TcpOptions::default(),
        };
        let mut buf = vec![0u8; 20 + t.header_len()];
        t.emit(&mut TcpPacket::new_unchecked(&mut buf[20..]), A, B, 0);
        Ipv4Repr {
            src_addr: A,
            dst_addr: B,
            protocol: IpProtocol::Tcp,
            payload_len: t.header_len(),
            ttl: 64,
            dscp_ecn: 0,
            ident: 0,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        }
        .emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
        buf
    }

    fn rule(hook: Hook, tcp_flags: u8, nth: Option<Nth>) -> Rule {
        Rule {
            proto: Some(Proto::Tcp),
            tcp_flags,
            nth,
            ..Rule::new(hook, Verdict::Drop)
        }
    }

    /// The verdicts of `n` runs of `hook` over `pkt`, as a string of `A`/`D`.
    fn verdicts(nf: &mut Netfilter, hook: Hook, pkts: &[&[u8]]) -> String {
        pkts.iter()
            .map(|p| match nf.hook(hook, p) {
                Verdict::Accept => 'A',
                Verdict::Drop => 'D',
            })
            .collect()
    }

    #[test]
    fn nth_matches_packet_p_of_every_n_counting_from_zero() {
        // --every 3 --packet 1: packets 1, 4, 7, …
        let n = Nth::new(3, 1).expect("valid");
        let got: Vec<bool> = (0..9).map(|i| n.matches(i)).collect();
        assert_eq!(
            got,
            [false, true, false, false, true, false, false, true, false]
        );
        // --every 1: every packet; --packet 0 of a huge N: only the first.
        let all = Nth::new(1, 0).expect("valid");
        assert!((0..5).all(|i| all.matches(i)));
        let first = Nth::new(1_000_000, 0).expect("valid");
        let hits: Vec<u64> = (0..2_000_001).filter(|&i| first.matches(i)).collect();
        assert_eq!(hits, [0, 1_000_000, 2_000_000]);
        // The last packet of a cycle.
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
            "--packet must be 0..=every-1"
        );
        assert!(Nth::new(u32::MAX, u32::MAX - 1).is_ok());
    }

    #[test]
    fn nth_counts_only_packets_that_pass_the_other_matches() {
        // Drop the 2nd SYN (packet 1 of every 1000): ACKs in between do not move the counter.
        let mut nf = Netfilter {
            rules: vec![rule(Hook::LocalOut, 0x02, Nth::new(1000, 1).ok())],
        };
        let (syn, ack) = (tcp(TcpFlags::SYN), tcp(TcpFlags::ACK));
        let got = verdicts(
            &mut nf,
            Hook::LocalOut,
            &[&syn, &ack, &ack, &syn, &ack, &syn, &syn],
        );
        assert_eq!(got, "AAADAAA");
        assert_eq!(nf.rules[0].packets, 1);
        // Another hook does not see the rule at all (nor move its counter).
        let got = verdicts(&mut nf, Hook::LocalIn, &[&syn, &syn]);
        assert_eq!(got, "AA");
    }

    #[test]
    fn nth_counters_are_per_rule_so_accept_rules_can_let_the_first_k_through() {
        // Two `accept every 1000000 packet 0` in front of a drop: each accepts the first
        // packet that reaches it, so packets 0 and 1 pass, then everything is dropped.
        let accept_first = || Rule {
            verdict: Verdict::Accept,
            ..rule(Hook::LocalIn, 0, Nth::new(1_000_000, 0).ok())
        };
        let mut nf = Netfilter {
            rules: vec![accept_first(), accept_first(), rule(Hook::LocalIn, 0, None)],
        };
        let p = tcp(TcpFlags::ACK);
        let got = verdicts(&mut nf, Hook::LocalIn, &[&p, &p, &p, &p, &p]);
        assert_eq!(got, "AADDD");
        let counts: Vec<u64> = nf.rules.iter().map(|r| r.packets).collect();
        assert_eq!(counts, [1, 1, 3]);
    }

    #[test]
    fn without_nth_every_matching_packet_matches() {
        let mut nf = Netfilter {
            rules: vec![rule(Hook::PreRouting, 0x04, None)],
        };
        let (rst, ack) = (tcp(TcpFlags::RST), tcp(TcpFlags::ACK));
        assert_eq!(
            verdicts(&mut nf, Hook::PreRouting, &[&rst, &ack, &rst]),
            "DAD"
        );
    }
}
