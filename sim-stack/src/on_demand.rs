//! State allocated the first time it is written, for what most nodes and interfaces never
//! use: a node's IPv6 counters and tables and its ICMP rate limits, an interface's
//! Neighbour Discovery table.
//!
//! Linux allocates these with the `inet6_dev` of each interface and with the network
//! namespace; a simulation of 10^6 IPv4 hosts would pay for them a million times. An
//! [`OnDemand`] is one pointer until something writes to it: reading it before then reads
//! the type's default value (the same as a freshly allocated one, so no output can tell
//! the difference), and the first mutable access allocates that default value.

use std::fmt;
use std::ops::{Deref, DerefMut};

/// A value of `T` held in a box allocated on the first mutable access. Reads before it see
/// [`Unwritten::unwritten`], `T::default()`.
///
/// Deliberately not `Clone`: `x.clone()` on an `OnDemand<T>` clones the `T` it derefs to.
pub struct OnDemand<T: Unwritten>(Option<Box<T>>);

/// A type with a shared default instance, what an [`OnDemand`] reads before it is written.
pub trait Unwritten: Default + Sync + Send + 'static {
    /// `Self::default()`, made once and shared.
    fn unwritten() -> &'static Self;
}

/// Implements [`Unwritten`] for types with `Default`, with a static made on first use.
macro_rules! unwritten {
    ($($t:ty),* $(,)?) => {$(
        impl $crate::on_demand::Unwritten for $t {
            fn unwritten() -> &'static Self {
                static UNWRITTEN: std::sync::LazyLock<$t> =
                    std::sync::LazyLock::new(<$t as Default>::default);
                &UNWRITTEN
            }
        }
    )*};
}

unwritten!(
    crate::stats::Snmp6,
    crate::ipv6::route::Fib6,
    crate::ipv6::reassembly::Frag6Queues,
    crate::neigh::NeighTable<std::net::Ipv6Addr>,
    crate::ip::icmp_limit::IcmpLimits,
);

impl<T: Unwritten> OnDemand<T> {
    /// Nothing allocated: reads see `T::default()`.
    pub const fn new() -> Self {
        Self(None)
    }

    /// Whether it has been written (allocated).
    pub fn is_allocated(&self) -> bool {
        self.0.is_some()
    }
}

impl<T: Unwritten> Default for OnDemand<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Unwritten> Deref for OnDemand<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        match &self.0 {
            Some(v) => v,
            None => T::unwritten(),
        }
    }
}

impl<T: Unwritten> DerefMut for OnDemand<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        self.0.get_or_insert_with(Box::default)
    }
}

impl<T: Unwritten + fmt::Debug> fmt::Debug for OnDemand<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        T::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Snmp6;

    #[test]
    fn reads_default_until_written_then_owns_its_value() {
        let mut a: OnDemand<Snmp6> = OnDemand::new();
        assert!(!a.is_allocated());
        assert_eq!(*a, Snmp6::default());
        assert_eq!(a.ip6.Ip6InReceives, 0);
        assert!(!a.is_allocated(), "a read allocates nothing");
        a.ip6.Ip6InReceives += 1;
        assert!(a.is_allocated());
        assert_eq!(a.ip6.Ip6InReceives, 1);
        // The shared default is untouched, and another instance still reads it.
        let b: OnDemand<Snmp6> = OnDemand::default();
        assert_eq!(b.ip6.Ip6InReceives, 0);
        assert_eq!(Snmp6::unwritten().ip6.Ip6InReceives, 0);
        // `clone` clones the value.
        let c: Snmp6 = a.clone();
        assert_eq!(c.ip6.Ip6InReceives, 1);
    }

    #[test]
    fn is_one_pointer() {
        assert_eq!(std::mem::size_of::<OnDemand<Snmp6>>(), 8);
    }
}
