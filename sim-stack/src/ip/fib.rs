//! The forwarding information base: routes and longest-prefix-match lookup
//! (`fib_table_lookup`).
//!
//! Routes are kept in one ordered map per prefix length; a lookup probes the lengths present
//! from the longest down, so its cost is the number of distinct prefix lengths times a map
//! probe, never a scan over routes or interfaces. Connected routes (one per interface
//! address, as the kernel adds them with `scope link`) and static routes live in the same
//! table; among equal prefixes the first added wins, like `ip route add` refusing a duplicate.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use serde::Serialize;

/// One route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Route {
    /// Destination network.
    pub dst: Ipv4Addr,
    /// Prefix length.
    pub prefix_len: u8,
    /// Gateway, or `None` for a directly connected network.
    pub gateway: Option<Ipv4Addr>,
    /// Output interface.
    pub dev: u16,
}

/// The result of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FibResult {
    /// Output interface.
    pub dev: u16,
    /// The next hop on that interface: the gateway, or the destination itself.
    pub nexthop: Ipv4Addr,
}

/// A routing table.
#[derive(Debug, Default, Clone)]
pub struct Fib {
    /// By prefix length (index 0..=32): network address → route.
    by_len: Vec<BTreeMap<u32, Route>>,
    /// Prefix lengths present, longest first.
    lens: Vec<u8>,
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

impl Fib {
    /// An empty table.
    pub fn new() -> Self {
        Self {
            by_len: vec![BTreeMap::new(); 33],
            lens: Vec::new(),
        }
    }

    /// Adds a route; returns false (and changes nothing) if one for the same prefix exists.
    pub fn add(&mut self, route: Route) -> bool {
        let len = route.prefix_len.min(32);
        let key = u32::from(route.dst) & mask(len);
        let table = &mut self.by_len[len as usize];
        if table.contains_key(&key) {
            return false;
        }
        table.insert(key, route);
        if !self.lens.contains(&len) {
            self.lens.push(len);
            self.lens.sort_unstable_by(|a, b| b.cmp(a));
        }
        true
    }

    /// Longest prefix match for `dst`.
    #[inline]
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<FibResult> {
        let a = u32::from(dst);
        for &len in &self.lens {
            if let Some(r) = self.by_len[len as usize].get(&(a & mask(len))) {
                return Some(FibResult {
                    dev: r.dev,
                    nexthop: r.gateway.unwrap_or(dst),
                });
            }
        }
        None
    }

    /// All routes, longest prefix first then by address (as `ip route` lists them, roughly).
    pub fn routes(&self) -> Vec<Route> {
        self.lens
            .iter()
            .flat_map(|&l| self.by_len[l as usize].values().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(dst: [u8; 4], len: u8, gw: Option<[u8; 4]>, dev: u16) -> Route {
        Route {
            dst: dst.into(),
            prefix_len: len,
            gateway: gw.map(Into::into),
            dev,
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let mut f = Fib::new();
        assert!(f.add(r([0, 0, 0, 0], 0, Some([10, 0, 0, 1]), 0)));
        assert!(f.add(r([10, 0, 0, 0], 24, None, 0)));
        assert!(f.add(r([10, 1, 0, 0], 16, Some([10, 0, 0, 9]), 1)));
        assert!(f.add(r([10, 1, 2, 0], 24, None, 2)));
        assert!(!f.add(r([10, 1, 2, 7], 24, None, 3)), "duplicate prefix");
        let l = |a: [u8; 4]| f.lookup(a.into()).unwrap();
        assert_eq!(
            l([10, 0, 0, 5]),
            FibResult {
                dev: 0,
                nexthop: [10, 0, 0, 5].into()
            }
        );
        assert_eq!(
            l([10, 1, 9, 9]),
            FibResult {
                dev: 1,
                nexthop: [10, 0, 0, 9].into()
            }
        );
        assert_eq!(
            l([10, 1, 2, 3]),
            FibResult {
                dev: 2,
                nexthop: [10, 1, 2, 3].into()
            }
        );
        assert_eq!(
            l([8, 8, 8, 8]),
            FibResult {
                dev: 0,
                nexthop: [10, 0, 0, 1].into()
            }
        );
        assert_eq!(f.routes().len(), 4);
    }

    #[test]
    fn no_default_no_route() {
        let mut f = Fib::new();
        f.add(r([10, 0, 0, 0], 8, None, 0));
        assert!(f.lookup([11, 0, 0, 1].into()).is_none());
    }
}
