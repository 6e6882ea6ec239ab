//! The IPv6 routing table (`net/ipv6/route.c`, `ip6_fib.c`): what `ip -6 route` lists —
//! connected prefixes (`proto kernel`), `fe80::/64` and `ff00::/8` on every IPv6 interface,
//! static routes — and the local table of the node's valid addresses.
//!
//! A lookup takes the longest matching prefix; among routes of the same prefix the one
//! added first wins (static routes come after the connected ones, as `ip -6 route add`
//! after address configuration). A destination of link-local scope (or a multicast one)
//! only matches routes on the interface the caller names (the scope id), as Linux requires
//! an interface for them.

use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use sim_core::{SimDuration, SimTime};

use crate::wire::Ipv6Cidr;
use crate::wire::ipv6::is_link_local;

/// Where a route came from (`proto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Rt6Proto {
    /// Made by the kernel for an address's prefix, `fe80::/64` or `ff00::/8`.
    Kernel,
    /// Written in the scenario (`route6`), or computed by `routing auto`.
    Static,
}

/// One route (`struct fib6_info`'s essentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rt6 {
    /// Destination prefix.
    pub dst: Ipv6Cidr,
    /// Next hop, or `None` on-link.
    pub gateway: Option<Ipv6Addr>,
    /// Output interface.
    pub dev: u32,
    /// Origin.
    pub proto: Rt6Proto,
}

/// A node's IPv6 routes and local addresses.
#[derive(Debug, Default)]
pub struct Fib6 {
    routes: Vec<Rt6>,
    local: BTreeMap<Ipv6Addr, u32>,
    /// Path MTUs learned from Packet Too Big, per destination (`rt6_exception`s), with when
    /// each expires.
    pmtu: BTreeMap<Ipv6Addr, (u32, SimTime)>,
}

/// `net.ipv6.route.mtu_expires` (600 s): how long a learned path MTU lasts.
pub const MTU_EXPIRES: SimDuration = SimDuration::from_secs(600);
/// `IPV6_MIN_MTU`: no path MTU is below it.
pub const IPV6_MIN_MTU: u32 = 1280;

/// The result of a lookup: the interface and the next hop on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rt6Lookup {
    /// Output interface.
    pub dev: u32,
    /// The gateway, or the destination itself on-link.
    pub nexthop: Ipv6Addr,
}

impl Fib6 {
    /// Adds `prefix` on-link on `dev` (`addrconf_prefix_route`), unless present.
    pub fn add_connected(&mut self, prefix: Ipv6Cidr, dev: u32) {
        let r = Rt6 {
            dst: prefix.network(),
            gateway: None,
            dev,
            proto: Rt6Proto::Kernel,
        };
        if !self.routes.contains(&r) {
            self.routes.push(r);
        }
    }

    /// Adds `ff00::/8` on `dev` (`addrconf_add_mroute`).
    pub fn add_multicast(&mut self, dev: u32) {
        self.add_connected(
            Ipv6Cidr::new(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),
            dev,
        );
    }

    /// Adds a static route.
    pub fn add_static(&mut self, dst: Ipv6Cidr, gateway: Option<Ipv6Addr>, dev: u32) {
        self.routes.push(Rt6 {
            dst: dst.network(),
            gateway,
            dev,
            proto: Rt6Proto::Static,
        });
    }

    /// Makes `addr` a local address of the node, owned by `dev` (the local route inserted
    /// when DAD completes).
    pub fn add_local(&mut self, addr: Ipv6Addr, dev: u32) {
        self.local.insert(addr, dev);
    }

    /// Whether `addr` is one of the node's valid addresses.
    #[inline]
    pub fn is_local(&self, addr: Ipv6Addr) -> bool {
        self.local.contains_key(&addr)
    }

    /// The path MTU learned for `dst`, if one is current at `now`.
    pub fn pmtu(&self, dst: Ipv6Addr, now: SimTime) -> Option<u32> {
        self.pmtu
            .get(&dst)
            .filter(|(_, expires)| now < *expires)
            .map(|(mtu, _)| *mtu)
    }

    /// `rt6_update_pmtu` for a Packet Too Big about a packet to `dst` on a route of MTU
    /// `route_mtu`: a smaller MTU (at least 1280) is kept for `MTU_EXPIRES`; whether it was.
    pub fn update_pmtu(&mut self, dst: Ipv6Addr, mtu: u32, route_mtu: u32, now: SimTime) -> bool {
        let mtu = mtu.max(IPV6_MIN_MTU);
        let current = self.pmtu(dst, now).unwrap_or(route_mtu);
        if mtu >= current {
            return false;
        }
        self.pmtu.insert(dst, (mtu, now + MTU_EXPIRES));
        true
    }

    /// The interface that owns local address `addr`.
    pub fn local_dev(&self, addr: Ipv6Addr) -> Option<u32> {
        self.local.get(&addr).copied()
    }

    /// The routes, in table order.
    pub fn routes(&self) -> &[Rt6] {
        &self.routes
    }

    /// The route to `dst`; `oif` restricts it to one interface (required for link-local
    /// and multicast destinations, which match nothing without it).
    pub fn lookup(&self, dst: Ipv6Addr, oif: Option<u32>) -> Option<Rt6Lookup> {
        let scoped = is_link_local(dst) || dst.is_multicast();
        if scoped && oif.is_none() {
            return None;
        }
        self.routes
            .iter()
            .filter(|r| r.dst.contains(dst) && oif.is_none_or(|o| o == r.dev))
            .fold(None::<&Rt6>, |best, r| match best {
                Some(b) if b.dst.prefix_len() >= r.dst.prefix_len() => Some(b),
                _ => Some(r),
            })
            .map(|r| Rt6Lookup {
                dev: r.dev,
                nexthop: r.gateway.unwrap_or(dst),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn longest_prefix_wins_and_link_local_needs_an_interface() {
        let mut f = Fib6::default();
        f.add_connected("2001:db8::2/64".parse().unwrap(), 0);
        f.add_connected("fe80::/64".parse().unwrap(), 0);
        f.add_static("::/0".parse().unwrap(), Some(a("2001:db8::1")), 0);
        f.add_static(
            "2001:db8:5::/48".parse().unwrap(),
            Some(a("2001:db8::7")),
            0,
        );
        let r = f.lookup(a("2001:db8:1::80"), None).unwrap();
        assert_eq!(r.nexthop, a("2001:db8::1"));
        assert_eq!(
            f.lookup(a("2001:db8::80"), None).unwrap().nexthop,
            a("2001:db8::80")
        );
        assert_eq!(
            f.lookup(a("2001:db8:5::1"), None).unwrap().nexthop,
            a("2001:db8::7")
        );
        assert!(f.lookup(a("fe80::1"), None).is_none());
        assert_eq!(
            f.lookup(a("fe80::1"), Some(0)).unwrap().nexthop,
            a("fe80::1")
        );
        assert!(!f.is_local(a("2001:db8::2")));
        f.add_local(a("2001:db8::2"), 0);
        assert!(f.is_local(a("2001:db8::2")));
    }
}
