//! Netfilter hook points and a small rule set (what `iptables -A CHAIN … -j ACCEPT|DROP`
//! expresses for the common cases).
//!
//! The five IPv4 hooks are traversed where the kernel traverses them: `PRE_ROUTING` and
//! `LOCAL_IN` on receive, `FORWARD` on routers, `LOCAL_OUT` and `POST_ROUTING` on output.
//! Rules match on protocol, source and destination prefix, ports and TCP flags, first match
//! wins, and the policy of every chain is ACCEPT. Not modeled: NAT, conntrack, REJECT targets,
//! marks, and user-defined chains.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::wire::{IpProtocol, Ipv4Cidr, Ipv4Packet, TcpPacket, UdpPacket};

/// A hook point (`NF_INET_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Hook {
    /// `NF_INET_PRE_ROUTING`
    PreRouting,
    /// `NF_INET_LOCAL_IN`
    LocalIn,
    /// `NF_INET_FORWARD`
    Forward,
    /// `NF_INET_LOCAL_OUT`
    LocalOut,
    /// `NF_INET_POST_ROUTING`
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

/// What a rule does to a matching packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// `NF_ACCEPT`: stop evaluating, let the packet through.
    Accept,
    /// `NF_DROP`: free the packet.
    Drop,
}

/// One rule. Unset fields match anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// The chain.
    pub hook: Hook,
    /// IP protocol number (1 ICMP, 6 TCP, 17 UDP).
    pub protocol: Option<u8>,
    /// Source prefix.
    pub src: Option<(Ipv4Addr, u8)>,
    /// Destination prefix.
    pub dst: Option<(Ipv4Addr, u8)>,
    /// Source port (TCP/UDP).
    pub sport: Option<u16>,
    /// Destination port (TCP/UDP).
    pub dport: Option<u16>,
    /// TCP flags: `(mask, value)`, as `--tcp-flags MASK COMP`.
    pub tcp_flags: Option<(u8, u8)>,
    /// The target.
    pub verdict: Verdict,
    /// Packets that matched (`iptables -v`).
    #[serde(skip)]
    pub packets: u64,
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
        let proto = u8::from(p.protocol());
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
            let in_prefix = |want: Option<(Ipv4Addr, u8)>, a: Ipv4Addr| {
                want.is_none_or(|(net, len)| Ipv4Cidr::new(net, len).contains(a))
            };
            let ok = rule.protocol.is_none_or(|x| x == proto)
                && in_prefix(rule.src, src)
                && in_prefix(rule.dst, dst)
                && rule
                    .sport
                    .is_none_or(|x| ports.is_some_and(|(s, _)| s == x))
                && rule
                    .dport
                    .is_none_or(|x| ports.is_some_and(|(_, d)| d == x))
                && rule
                    .tcp_flags
                    .is_none_or(|(m, v)| flags.is_some_and(|f| f & m == v));
            if ok {
                rule.packets += 1;
                return rule.verdict;
            }
        }
        Verdict::Accept
    }
}
