//! IPv6, mirroring Linux's `net/ipv6` as [`crate::ip`] mirrors `net/ipv4`: address
//! configuration and link-up ([`addrconf`]), Multicast Listener Discovery ([`mld`]),
//! Neighbour Discovery over the shared neighbour core ([`ndisc`]), the routing table
//! ([`route`]), the output and receive paths ([`output`], [`input`]) and ICMPv6 ([`icmp`]).

pub mod addrconf;
pub mod icmp;
pub mod input;
pub mod mld;
pub mod ndisc;
pub mod output;
pub mod reassembly;
pub mod route;
pub mod route_show;

use crate::node::Node;
use crate::stats::{Icmp6Stats, Ip6Stats};

/// Bumps `Ip6*` counters of the node (`/proc/net/snmp6`) and of interface `dev`
/// (`dev_snmp6`), as `__IP6_INC_STATS(net, idev, …)` does both.
pub(crate) fn ip6_stats(n: &mut Node, dev: usize, f: impl Fn(&mut Ip6Stats)) {
    f(&mut n.snmp6.ip6);
    if let Some(idev) = n.devs.get_mut(dev).and_then(|d| d.inet6.as_deref_mut()) {
        f(&mut idev.stats.ip6);
    }
}

/// Bumps `Icmp6*` counters of the node and of interface `dev`.
pub(crate) fn icmp6_stats(n: &mut Node, dev: usize, f: impl Fn(&mut Icmp6Stats)) {
    f(&mut n.snmp6.icmp6);
    if let Some(idev) = n.devs.get_mut(dev).and_then(|d| d.inet6.as_deref_mut()) {
        f(&mut idev.stats.icmp6);
    }
}
