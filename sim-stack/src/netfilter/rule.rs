//! One rule of a chain (`struct ipt_entry`): the IP header matches every rule has (`struct
//! ipt_ip`: addresses, protocol, interfaces, fragments), the `-m` matches in the order they
//! were written, the target, and the rule's packet and byte counters.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::target::Target;
use super::xt_match::Match;
use crate::wire::Ipv4Cidr;

/// A match that `!` may invert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inv<T> {
    /// The value to match.
    pub v: T,
    /// `!`: match what does not.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inv: bool,
}

impl<T> Inv<T> {
    /// `v`, not inverted.
    pub fn new(v: T) -> Self {
        Self { v, inv: false }
    }

    /// Whether a packet for which the value's own test is `hit` matches.
    #[inline]
    pub fn apply(&self, hit: bool) -> bool {
        hit != self.inv
    }
}

/// An interface name as `-i`/`-o` take it: `eth0`, or a prefix ending in `+` (`eth+`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IfName(pub String);

impl IfName {
    /// Whether device `name` matches (`ifname_compare_aligned`: a trailing `+` matches any
    /// name that starts with what comes before it).
    pub fn matches(&self, name: &str) -> bool {
        match self.0.strip_suffix('+') {
            Some(prefix) => name.starts_with(prefix),
            None => self.0 == name,
        }
    }
}

/// The matches of `struct ipt_ip`: what every rule can say of the IP header and the devices.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IpMatch {
    /// `-s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub src: Option<Inv<Ipv4Cidr>>,
    /// `-d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<Inv<Ipv4Cidr>>,
    /// `-p` (the IP protocol number).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proto: Option<Inv<u8>>,
    /// `-i`: the device the packet came in on (PREROUTING, INPUT, FORWARD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iif: Option<Inv<IfName>>,
    /// `-o`: the device it goes out on (FORWARD, OUTPUT, POSTROUTING).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oif: Option<Inv<IfName>>,
    /// `-f` (second and later fragments only; `! -f`: unfragmented packets and first
    /// fragments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frag: Option<Inv<()>>,
}

/// A rule (`struct ipt_entry`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// The IP header and device matches.
    #[serde(default)]
    pub ip: IpMatch,
    /// The `-m` matches (and the protocol's own, `-p tcp --dport 80`), in the order written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<Match>,
    /// `-j` / `-g`; a rule without one only counts.
    pub target: Target,
    /// Packets that matched (`iptables -v`'s `pkts`).
    #[serde(skip)]
    pub packets: u64,
    /// Their bytes, IP header included (`bytes`).
    #[serde(skip)]
    pub bytes: u64,
}

impl Rule {
    /// A rule matching every packet, with `target`.
    pub fn new(target: Target) -> Self {
        Self {
            ip: IpMatch::default(),
            matches: Vec::new(),
            target,
            packets: 0,
            bytes: 0,
        }
    }
}

/// What the matches of a rule look at (`struct xt_action_param` and the parsed headers):
/// built once per hook traversal, never per rule.
#[derive(Debug, Clone, Copy)]
pub struct PacketInfo<'a> {
    /// The IP packet, header first.
    pub ip: &'a [u8],
    /// Source address.
    pub src: Ipv4Addr,
    /// Destination address.
    pub dst: Ipv4Addr,
    /// IP protocol number.
    pub proto: u8,
    /// Total length (`LEN=`, `-m length`).
    pub len: u16,
    /// TTL.
    pub ttl: u8,
    /// The TOS byte.
    pub tos: u8,
    /// Fragment offset in 8-byte units (0 for unfragmented packets and first fragments).
    pub frag_off: u16,
    /// The transport header's offset in `ip` (the IP header length).
    pub thoff: usize,
    /// The input device's name (`-i`), if the hook has one.
    pub in_dev: Option<&'a str>,
    /// The output device's name (`-o`), if the hook has one.
    pub out_dev: Option<&'a str>,
    /// `skb->mark`.
    pub mark: u32,
    /// The connection's state bit for `-m state`/`-m conntrack` (`XT_STATE_*`).
    pub ct_state: u16,
    /// The connection's mark (`ct->mark`), 0 without one.
    pub ct_mark: u32,
    /// The connection's status bits (`IPS_*`), 0 without one.
    pub ct_status: u32,
    /// The node's jiffies now (for `-m limit`).
    pub jiffies: u64,
    /// What a `TCPMSS` target asked for, applied to the packet after its table.
    pub tcpmss: Option<super::target::Tcpmss>,
}

impl PacketInfo<'_> {
    /// The transport header (what follows the IP header), for non-first fragments empty.
    #[inline]
    pub fn transport(&self) -> &[u8] {
        if self.frag_off != 0 {
            return &[];
        }
        self.ip.get(self.thoff..).unwrap_or(&[])
    }

    /// TCP/UDP ports (first fragment with a whole port pair only).
    #[inline]
    pub fn ports(&self) -> Option<(u16, u16)> {
        let t = self.transport();
        (t.len() >= 4).then(|| {
            (
                u16::from_be_bytes([t[0], t[1]]),
                u16::from_be_bytes([t[2], t[3]]),
            )
        })
    }
}

impl IpMatch {
    /// `ip_packet_match`.
    #[inline]
    pub fn matches(&self, p: &PacketInfo<'_>) -> bool {
        if let Some(s) = &self.src
            && !s.apply(s.v.contains(p.src))
        {
            return false;
        }
        if let Some(d) = &self.dst
            && !d.apply(d.v.contains(p.dst))
        {
            return false;
        }
        if let Some(i) = &self.iif
            && !i.apply(p.in_dev.is_some_and(|n| i.v.matches(n)))
        {
            return false;
        }
        if let Some(o) = &self.oif
            && !o.apply(p.out_dev.is_some_and(|n| o.v.matches(n)))
        {
            return false;
        }
        if let Some(pr) = &self.proto
            && !pr.apply(p.proto == pr.v)
        {
            return false;
        }
        if let Some(f) = &self.frag
            && !f.apply(p.frag_off != 0)
        {
            return false;
        }
        true
    }
}
