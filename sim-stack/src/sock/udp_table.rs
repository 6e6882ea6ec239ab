//! `udp_table`: a host's UDP sockets by local port.
//!
//! Linux hashes ports into `udp_table`'s slots, allocated once per network namespace. Here
//! a host holds one or two bound ports (a sink, a client's ephemeral port), and a simulation
//! of 10^6 hosts pays for whatever it holds 10^6 times: a B-tree's first leaf alone is 300
//! bytes. So the table is a vector sorted by port while it is short, and a B-tree once it
//! is long (a server with thousands of clients' ports), where inserting into the middle of
//! a vector would move half of it each time. Either way a port's lookup is a search in
//! order: nothing depends on which form it has.

use std::collections::BTreeMap;

use super::PortSlot;

/// Ports up to which the table stays a sorted vector.
const SMALL_MAX: usize = 32;

/// UDP sockets by local port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UdpTable {
    /// Few ports: sorted by port, searched by bisection.
    Small(Vec<(u16, PortSlot)>),
    /// Many ports.
    Large(BTreeMap<u16, PortSlot>),
}

impl Default for UdpTable {
    fn default() -> Self {
        Self::Small(Vec::new())
    }
}

impl UdpTable {
    /// The sockets bound to `port`.
    #[inline]
    pub fn get(&self, port: &u16) -> Option<&PortSlot> {
        match self {
            Self::Small(v) => v
                .binary_search_by_key(port, |(p, _)| *p)
                .ok()
                .map(|i| &v[i].1),
            Self::Large(m) => m.get(port),
        }
    }

    /// The sockets bound to `port`, writable.
    pub fn get_mut(&mut self, port: &u16) -> Option<&mut PortSlot> {
        match self {
            Self::Small(v) => v
                .binary_search_by_key(port, |(p, _)| *p)
                .ok()
                .map(|i| &mut v[i].1),
            Self::Large(m) => m.get_mut(port),
        }
    }

    /// The sockets bound to `port`, an empty slot inserted if there was none.
    pub fn entry_or_default(&mut self, port: u16) -> &mut PortSlot {
        if let Self::Small(v) = self {
            if v.len() >= SMALL_MAX && v.binary_search_by_key(&port, |(p, _)| *p).is_err() {
                *self = Self::Large(std::mem::take(v).into_iter().collect());
            }
        }
        match self {
            Self::Small(v) => {
                let i = match v.binary_search_by_key(&port, |(p, _)| *p) {
                    Ok(i) => i,
                    Err(i) => {
                        if v.len() < 4 {
                            // A host binds one or two ports: room for those, not four.
                            v.reserve_exact(1);
                        }
                        v.insert(i, (port, PortSlot::default()));
                        i
                    }
                };
                &mut v[i].1
            }
            Self::Large(m) => m.entry(port).or_default(),
        }
    }

    /// Removes `port`'s slot.
    pub fn remove(&mut self, port: &u16) -> Option<PortSlot> {
        match self {
            Self::Small(v) => v
                .binary_search_by_key(port, |(p, _)| *p)
                .ok()
                .map(|i| v.remove(i).1),
            Self::Large(m) => m.remove(port),
        }
    }

    /// How many ports have sockets.
    pub fn len(&self) -> usize {
        match self {
            Self::Small(v) => v.len(),
            Self::Large(m) => m.len(),
        }
    }

    /// Whether no port has a socket.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Bind(u16, u32),
        Unbind(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few distinct ports so that binds, rebinds and unbinds meet; enough of them to
        // cross SMALL_MAX.
        prop_oneof![
            3 => (0u16..80, any::<u32>()).prop_map(|(p, s)| Op::Bind(p, s)),
            1 => (0u16..80).prop_map(Op::Unbind),
        ]
    }

    proptest! {
        /// The table answers as a B-tree map does, whichever form it has.
        #[test]
        fn behaves_as_a_btree_map(ops in proptest::collection::vec(op(), 0..300)) {
            let mut t = UdpTable::default();
            let mut m: BTreeMap<u16, PortSlot> = BTreeMap::new();
            for o in ops {
                match o {
                    Op::Bind(p, s) => {
                        t.entry_or_default(p).push(s);
                        m.entry(p).or_default().push(s);
                    }
                    Op::Unbind(p) => {
                        prop_assert_eq!(t.remove(&p), m.remove(&p));
                    }
                }
                prop_assert_eq!(t.len(), m.len());
                for p in 0u16..80 {
                    prop_assert_eq!(t.get(&p), m.get(&p));
                }
                if let Some(s) = t.get_mut(&7) {
                    s.retain(|&id| id % 2 == 0);
                }
                if let Some(s) = m.get_mut(&7) {
                    s.retain(|&id| id % 2 == 0);
                }
            }
        }
    }

    #[test]
    fn grows_into_a_btree_past_small_max() {
        let mut t = UdpTable::default();
        for p in 0..SMALL_MAX as u16 {
            t.entry_or_default(p).push(u32::from(p));
        }
        assert!(matches!(t, UdpTable::Small(_)));
        // A port already there does not convert it.
        t.entry_or_default(3).push(99);
        assert!(matches!(t, UdpTable::Small(_)));
        t.entry_or_default(1000).push(1000);
        assert!(matches!(t, UdpTable::Large(_)));
        assert_eq!(t.get(&3).map(PortSlot::as_slice), Some(&[3, 99][..]));
        assert_eq!(t.len(), SMALL_MAX + 1);
    }
}
