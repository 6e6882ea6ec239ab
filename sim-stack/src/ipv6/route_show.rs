//! What `ip -6 route` prints for a node's main IPv6 table, byte for byte as iproute2 6.1
//! prints it (`print_route` in `ip/iproute.c`), so that a snapshot diffs against a real
//! machine.
//!
//! * A prefix the kernel added for an address (or `fe80::/64`):
//!   `2001:db8::/64 dev eth0 proto kernel metric 256 pref medium`;
//! * a route of the scenario: `2001:db8:5::/48 via 2001:db8::2 dev eth0 metric 1024 pref
//!   medium` (`metric 1024`, `ip -6 route add`'s default), `default via …`.
//!
//! `ff00::/8` is left out: Linux keeps it in the local table. Order: the kernel's `fib6`
//! tree walk, which lists a node's subtree before the node, so a more specific prefix comes
//! before the one that holds it (and `default` last), and otherwise by address.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::net::Ipv6Addr;

use super::route::{Rt6, Rt6Proto};
use crate::wire::Ipv6Cidr;

/// The `fib6` walk's order of two prefixes: by their first differing bit within the
/// shorter one's length; when one holds the other, the longer first.
fn fib6_order(a: &Ipv6Cidr, b: &Ipv6Cidr) -> Ordering {
    let common = a.prefix_len().min(b.prefix_len());
    let mask = if common == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(common))
    };
    let (x, y) = (
        u128::from(a.address()) & mask,
        u128::from(b.address()) & mask,
    );
    x.cmp(&y).then(b.prefix_len().cmp(&a.prefix_len()))
}

/// `ip -6 route`'s output for `routes`, given each device's name by index.
pub fn ip6_route(routes: &[Rt6], devs: &[&str]) -> String {
    let ff00 = Ipv6Cidr::new(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8);
    let mut sorted: Vec<&Rt6> = routes.iter().filter(|r| r.dst != ff00).collect();
    sorted.sort_by(|a, b| fib6_order(&a.dst, &b.dst));
    let mut out = String::new();
    for r in sorted {
        let Some(dev) = devs.get(r.dev as usize) else {
            continue;
        };
        match r.dst.prefix_len() {
            0 => out.push_str("default"),
            128 => {
                let _ = write!(out, "{}", r.dst.address());
            }
            n => {
                let _ = write!(out, "{}/{n}", r.dst.address());
            }
        }
        if let Some(gw) = r.gateway {
            let _ = write!(out, " via {gw}");
        }
        let _ = write!(out, " dev {dev}");
        match r.proto {
            Rt6Proto::Kernel => out.push_str(" proto kernel metric 256"),
            Rt6Proto::Static => out.push_str(" metric 1024"),
        }
        out.push_str(" pref medium\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(dst: &str, len: u8, gw: Option<&str>, proto: Rt6Proto) -> Rt6 {
        Rt6 {
            dst: Ipv6Cidr::new(dst.parse().unwrap(), len),
            gateway: gw.map(|g| g.parse().unwrap()),
            dev: 0,
            proto,
        }
    }

    /// `ip -6 route` on Linux 6.18 (iproute2 6.1) after `ip addr add 2001:db8::1/64` and
    /// `ip -6 route add 2001:db8:5::/48 via 2001:db8::2`; with a default route, which Linux
    /// lists last.
    #[test]
    fn as_ip_6_route() {
        let routes = [
            rt("fe80::", 64, None, Rt6Proto::Kernel),
            rt("ff00::", 8, None, Rt6Proto::Kernel),
            rt("::", 0, Some("2001:db8::2"), Rt6Proto::Static),
            rt("2001:db8:5::", 48, Some("2001:db8::2"), Rt6Proto::Static),
            rt("2001:db8::", 64, None, Rt6Proto::Kernel),
        ];
        assert_eq!(
            ip6_route(&routes, &["veth0"]),
            "2001:db8::/64 dev veth0 proto kernel metric 256 pref medium\n\
             2001:db8:5::/48 via 2001:db8::2 dev veth0 metric 1024 pref medium\n\
             fe80::/64 dev veth0 proto kernel metric 256 pref medium\n\
             default via 2001:db8::2 dev veth0 metric 1024 pref medium\n"
        );
    }

    #[test]
    fn subtree_before_its_root() {
        let a = Ipv6Cidr::new("2001:db8::".parse().unwrap(), 32);
        let b = Ipv6Cidr::new("2001:db8:1::".parse().unwrap(), 48);
        let c = Ipv6Cidr::new("2001:db9::".parse().unwrap(), 32);
        assert_eq!(fib6_order(&b, &a), Ordering::Less);
        assert_eq!(fib6_order(&a, &c), Ordering::Less);
        assert_eq!(fib6_order(&b, &c), Ordering::Less);
    }
}
