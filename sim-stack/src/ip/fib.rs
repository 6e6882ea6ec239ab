//! The forwarding information base: routes and longest-prefix-match lookup
//! (`fib_table_lookup`).
//!
//! Routes are kept in one hash table per prefix length; a lookup probes the lengths present
//! from the longest down, so its cost is the number of distinct prefix lengths (one or two
//! on most nodes) times a hash probe, never a scan over routes or interfaces. Connected routes (one per interface
//! address, as the kernel adds them with `scope link`) and static routes live in the same
//! table; among equal prefixes the first added wins, like `ip route add` refusing a duplicate.
//!
//! Beside the routes, the table knows the node's own addresses — every interface address
//! (`RTN_LOCAL`) and the broadcast address of every subnet (`RTN_BROADCAST`) — as the
//! kernel's local table does (`fib_add_ifaddr`), so that every question "is this address
//! ours?" on a packet's path is one hash probe ([`Fib::is_local`], [`Fib::addr_type`], as
//! `inet_addr_type`), never a scan over the interfaces: a router with 10^5 interfaces
//! receives every packet through this test, and asks it again for every ARP probe.

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
    pub dev: u32,
}

/// The result of a lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FibResult {
    /// Output interface.
    pub dev: u32,
    /// The next hop on that interface: the gateway, or the destination itself.
    pub nexthop: Ipv4Addr,
}

/// What an address is to a node (`inet_addr_type`'s answers that matter here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrType {
    /// One of its interface addresses (`RTN_LOCAL`).
    Local,
    /// The limited broadcast address or the broadcast address of one of its subnets
    /// (`RTN_BROADCAST`), and not also one of its own addresses.
    Broadcast,
    /// Anything else (`RTN_UNICAST`: to be routed).
    Unicast,
}

/// An interface address, in the local table.
const LOCAL: u8 = 1;
/// A subnet's broadcast address, in the local table.
const BROADCAST: u8 = 2;

/// A routing table.
#[derive(Debug, Clone)]
pub struct Fib {
    /// One table per prefix length present, longest first: network address → route. (A
    /// host has two: its subnet and the default route.)
    by_len: Vec<(u8, AddrTable<Route>)>,
    /// The node's own addresses and its subnets' broadcast addresses: [`LOCAL`] and
    /// [`BROADCAST`] bits (an address may be both, with overlapping subnets).
    local: AddrTable<u8>,
    /// Bumped by every change (Linux's `rt_genid`): a socket's cached route is valid
    /// while it is unchanged.
    genid: u32,
}

impl Default for Fib {
    fn default() -> Self {
        Self::new()
    }
}

/// An open-addressing hash table keyed by IPv4 addresses (as `u32`): a multiply, a shift and
/// usually one probe per lookup (linear probing, at most half full). Its entries are only
/// listed sorted by key ([`AddrTable::sorted`]), so its layout can never reach an output.
#[derive(Debug, Clone)]
struct AddrTable<V> {
    /// `2^bits` slots, or none while empty.
    slots: Vec<Option<(u32, V)>>,
    len: usize,
    /// `32 - bits`: the hash is the top `bits` bits of `key × φ·2^32`.
    shift: u32,
}

impl<V: Copy> AddrTable<V> {
    const MIN_BITS: u32 = 1;

    const fn new() -> Self {
        Self {
            slots: Vec::new(),
            len: 0,
            shift: 32,
        }
    }

    #[inline]
    fn slot(&self, key: u32) -> usize {
        (key.wrapping_mul(0x9E37_79B9) >> self.shift) as usize
    }

    #[inline]
    fn get(&self, key: u32) -> Option<&V> {
        if self.len == 0 {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        loop {
            match &self.slots[i] {
                Some((k, v)) if *k == key => return Some(v),
                Some(_) => i = (i + 1) & mask,
                None => return None,
            }
        }
    }

    /// The value of `key`, inserted as `V::default()` if absent.
    fn entry(&mut self, key: u32) -> &mut V
    where
        V: Default,
    {
        if self.get(key).is_none() {
            self.insert(key, V::default());
        }
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        while !matches!(self.slots[i], Some((k, _)) if k == key) {
            i = (i + 1) & mask;
        }
        &mut self.slots[i].as_mut().expect("found above").1
    }

    /// Inserts `key` unless present; returns whether it was inserted.
    fn insert(&mut self, key: u32, value: V) -> bool {
        if self.get(key).is_some() {
            return false;
        }
        if 2 * (self.len + 1) > self.slots.len() {
            self.grow();
        }
        let mask = self.slots.len() - 1;
        let mut i = self.slot(key);
        while self.slots[i].is_some() {
            i = (i + 1) & mask;
        }
        self.slots[i] = Some((key, value));
        self.len += 1;
        true
    }

    /// The entries in key order.
    fn sorted(&self) -> Vec<(u32, V)> {
        let mut v: Vec<(u32, V)> = self.slots.iter().flatten().copied().collect();
        v.sort_unstable_by_key(|&(k, _)| k);
        v
    }

    fn grow(&mut self) {
        let bits = if self.slots.is_empty() {
            Self::MIN_BITS
        } else {
            self.slots.len().trailing_zeros() + 1
        };
        let old = std::mem::replace(&mut self.slots, vec![None; 1 << bits]);
        self.shift = 32 - bits;
        let mask = self.slots.len() - 1;
        for (key, value) in old.into_iter().flatten() {
            let mut i = self.slot(key);
            while self.slots[i].is_some() {
                i = (i + 1) & mask;
            }
            self.slots[i] = Some((key, value));
        }
    }
}

fn mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

impl Fib {
    /// A node's table as the kernel holds it once its interfaces are up and its routes
    /// added: the local and broadcast entries and the connected route of every interface
    /// address (`fib_add_ifaddr`), then the written routes in order. A route without a
    /// device goes out of the interface whose subnet holds its gateway, as `ip route add …
    /// via GW` picks it (`fib_check_nh`); one whose gateway is on no such subnet is refused,
    /// as the kernel refuses it (scenarios are checked for those before they get here).
    pub fn from_config(node: &crate::config::NodeConfig) -> Self {
        let mut fib = Self::new();
        for (di, c) in node.ifaces.iter().enumerate() {
            if let Some(c) = c.addr {
                fib.add_local(c.address());
                if let Some(b) = c.broadcast() {
                    fib.add_broadcast(b);
                }
                fib.add(Route {
                    dst: c.network().address(),
                    prefix_len: c.prefix_len(),
                    gateway: None,
                    dev: di as u32,
                });
            }
        }
        for r in &node.routes {
            let dev = match r.dev {
                Some(d) => Some(d.index()),
                None => r.gateway.and_then(|g| {
                    node.ifaces
                        .iter()
                        .position(|i| i.addr.is_some_and(|c| c.contains(g)))
                }),
            };
            if let Some(dev) = dev {
                fib.add(Route {
                    dst: r.dest,
                    prefix_len: r.prefix_len,
                    gateway: r.gateway,
                    dev: dev as u32,
                });
            }
        }
        fib
    }

    /// An empty table.
    pub fn new() -> Self {
        Self {
            by_len: Vec::new(),
            local: AddrTable::new(),
            genid: 0,
        }
    }

    /// Records `addr` as one of the node's interface addresses (the local table's
    /// `RTN_LOCAL` entry).
    pub fn add_local(&mut self, addr: Ipv4Addr) {
        self.flush_cache();
        *self.local.entry(u32::from(addr)) |= LOCAL;
    }

    /// Records `addr` as the broadcast address of a subnet of one of the node's interfaces
    /// (the local table's `RTN_BROADCAST` entry).
    pub fn add_broadcast(&mut self, addr: Ipv4Addr) {
        self.flush_cache();
        *self.local.entry(u32::from(addr)) |= BROADCAST;
    }

    /// Invalidates every route cached from this table (`rt_cache_flush`). Changing the
    /// table does it; so must changing an interface's address or MTU during a run, as
    /// Linux's `NETDEV_CHANGEADDR`/`NETDEV_CHANGEMTU` handlers do.
    pub fn flush_cache(&mut self) {
        self.genid = self.genid.wrapping_add(1);
    }

    /// The generation of the table's contents ([`flush_cache`](Self::flush_cache)).
    #[inline]
    pub fn genid(&self) -> u32 {
        self.genid
    }

    /// Whether a packet to `addr` is for this node: the limited broadcast address, or one
    /// recorded with [`add_local`](Self::add_local) or [`add_broadcast`](Self::add_broadcast).
    #[inline]
    pub fn is_local(&self, addr: Ipv4Addr) -> bool {
        addr.is_broadcast() || self.local.get(u32::from(addr)).is_some()
    }

    /// `inet_addr_type`: whether `addr` is one of this node's addresses, a broadcast address
    /// here, or neither.
    #[inline]
    pub fn addr_type(&self, addr: Ipv4Addr) -> AddrType {
        match self.local.get(u32::from(addr)) {
            Some(&k) if k & LOCAL != 0 => AddrType::Local,
            Some(_) => AddrType::Broadcast,
            None if addr.is_broadcast() => AddrType::Broadcast,
            None => AddrType::Unicast,
        }
    }

    /// Whether `addr` is a broadcast address here: the limited broadcast, or the broadcast
    /// address of one of this node's subnets (`RTCF_BROADCAST`), even if it is also one of
    /// its addresses.
    #[inline]
    pub fn is_broadcast(&self, addr: Ipv4Addr) -> bool {
        addr.is_broadcast()
            || self
                .local
                .get(u32::from(addr))
                .is_some_and(|k| k & BROADCAST != 0)
    }

    /// Adds a route; returns false (and changes nothing) if one for the same prefix exists.
    pub fn add(&mut self, route: Route) -> bool {
        self.flush_cache();
        let len = route.prefix_len.min(32);
        let key = u32::from(route.dst) & mask(len);
        let at = match self.by_len.binary_search_by(|(l, _)| len.cmp(l)) {
            Ok(at) => at,
            Err(at) => {
                if self.by_len.len() < 4 {
                    // A host has two or three prefix lengths (its subnets and a default):
                    // room for those, not the four a first insert makes.
                    self.by_len.reserve_exact(1);
                }
                self.by_len.insert(at, (len, AddrTable::new()));
                at
            }
        };
        self.by_len[at].1.insert(key, route)
    }

    /// Removes the route for the prefix `dst/prefix_len` (`ip route del`); returns it, or
    /// `None` when there is none. Rare (commands, never a packet's path): the prefix
    /// length's table is rebuilt.
    pub fn remove(&mut self, dst: Ipv4Addr, prefix_len: u8) -> Option<Route> {
        let len = prefix_len.min(32);
        let key = u32::from(dst) & mask(len);
        let at = self.by_len.binary_search_by(|(l, _)| len.cmp(l)).ok()?;
        let old = *self.by_len[at].1.get(key)?;
        let mut table = AddrTable::new();
        for (k, r) in self.by_len[at].1.sorted() {
            if k != key {
                table.insert(k, r);
            }
        }
        if table.len == 0 {
            self.by_len.remove(at);
        } else {
            self.by_len[at].1 = table;
        }
        self.flush_cache();
        Some(old)
    }

    /// Longest prefix match for `dst`.
    #[inline]
    pub fn lookup(&self, dst: Ipv4Addr) -> Option<FibResult> {
        let a = u32::from(dst);
        for (len, table) in &self.by_len {
            if let Some(r) = table.get(a & mask(*len)) {
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
        self.by_len
            .iter()
            .flat_map(|(_, t)| t.sorted().into_iter().map(|(_, r)| r))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(dst: [u8; 4], len: u8, gw: Option<[u8; 4]>, dev: u32) -> Route {
        Route {
            dst: dst.into(),
            prefix_len: len,
            gateway: gw.map(Into::into),
            dev,
        }
    }

    #[test]
    fn a_removed_route_leaves_the_others_and_changes_the_generation() {
        let mut f = Fib::new();
        assert!(f.add(r([0, 0, 0, 0], 0, Some([10, 0, 0, 1]), 0)));
        assert!(f.add(r([192, 0, 2, 1], 32, Some([10, 0, 0, 2]), 0)));
        assert!(f.add(r([192, 0, 2, 7], 32, None, 1)));
        let before = f.genid();
        assert_eq!(f.remove([192, 0, 2, 9].into(), 32), None);
        assert_eq!(
            f.remove([192, 0, 2, 1].into(), 32),
            Some(r([192, 0, 2, 1], 32, Some([10, 0, 0, 2]), 0))
        );
        assert_ne!(f.genid(), before, "cached routes are stale");
        assert_eq!(
            f.lookup([192, 0, 2, 1].into()).unwrap().nexthop,
            Ipv4Addr::new(10, 0, 0, 1)
        );
        assert_eq!(f.lookup([192, 0, 2, 7].into()).unwrap().dev, 1);
        assert!(f.remove([192, 0, 2, 7].into(), 32).is_some());
        assert_eq!(f.routes(), vec![r([0, 0, 0, 0], 0, Some([10, 0, 0, 1]), 0)]);
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
        let listed: Vec<(u8, Ipv4Addr)> =
            f.routes().iter().map(|r| (r.prefix_len, r.dst)).collect();
        assert_eq!(
            listed,
            [
                (24, [10, 0, 0, 0].into()),
                (24, [10, 1, 2, 0].into()),
                (16, [10, 1, 0, 0].into()),
                (0, [0, 0, 0, 0].into()),
            ]
        );
    }

    #[test]
    fn local_addresses() {
        let mut f = Fib::new();
        assert!(!f.is_local([10, 0, 0, 1].into()));
        assert!(f.is_local(Ipv4Addr::BROADCAST));
        // Enough addresses to grow the table a few times, spread like /30 subnets.
        for i in 0..1000u32 {
            f.add_local(Ipv4Addr::from(0x0a00_0000 + 4 * i + 2));
            f.add_broadcast(Ipv4Addr::from(0x0a00_0000 + 4 * i + 3));
        }
        f.add_local([10, 0, 0, 2].into()); // again: no change
        for i in 0..1000u32 {
            let (own, bcast, other) = (
                Ipv4Addr::from(0x0a00_0000 + 4 * i + 2),
                Ipv4Addr::from(0x0a00_0000 + 4 * i + 3),
                Ipv4Addr::from(0x0a00_0000 + 4 * i + 1),
            );
            assert!(f.is_local(own) && f.is_local(bcast) && !f.is_local(other));
            assert_eq!(f.addr_type(own), AddrType::Local);
            assert_eq!(f.addr_type(bcast), AddrType::Broadcast);
            assert_eq!(f.addr_type(other), AddrType::Unicast);
            assert!(f.is_broadcast(bcast) && !f.is_broadcast(own) && !f.is_broadcast(other));
        }
        assert_eq!(f.local.len, 2000);
        assert_eq!(f.addr_type(Ipv4Addr::BROADCAST), AddrType::Broadcast);
        assert!(f.is_broadcast(Ipv4Addr::BROADCAST));
        // An address that is both (overlapping subnets) is ours, and a broadcast address.
        f.add_broadcast([10, 0, 0, 2].into());
        assert_eq!(f.addr_type([10, 0, 0, 2].into()), AddrType::Local);
        assert!(f.is_broadcast([10, 0, 0, 2].into()));
        assert_eq!(f.local.len, 2000);
    }

    #[test]
    fn no_default_no_route() {
        let mut f = Fib::new();
        f.add(r([10, 0, 0, 0], 8, None, 0));
        assert!(f.lookup([11, 0, 0, 1].into()).is_none());
    }
}
