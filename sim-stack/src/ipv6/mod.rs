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
