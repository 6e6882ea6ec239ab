//! What `ip route` prints for a node's main IPv4 table, byte for byte as iproute2 6.1
//! prints it (`print_route` in `ip/iproute.c`), so that a snapshot diffs against a real
//! machine.
//!
//! * An interface's connected route is what the kernel adds with the address
//!   (`fib_add_ifaddr`): `10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1 `;
//! * a route through a gateway: `10.1.0.0/16 via 10.0.0.2 dev eth0 `, `default via …`;
//! * a route on an interface without gateway that is not the connected one:
//!   `10.0.0.128/25 dev eth0 scope link `.
//!
//! Each line ends with the space `ip` leaves; a /32 is printed without its length. Order:
//! the order the kernel's FIB trie is walked, by destination, and for one destination the
//! longest prefix first (`10.0.0.0/24` before `10.0.0.0/8`). The local and broadcast routes
//! are in the local table, which `ip route` does not show.

use std::fmt::Write as _;

use super::fib::Route;
use crate::wire::Ipv4Cidr;

/// `ip route`'s output for `routes`, given each device's name and address by index.
pub fn ip_route(routes: &[Route], devs: &[(&str, Option<Ipv4Cidr>)]) -> String {
    let mut sorted: Vec<&Route> = routes.iter().collect();
    sorted.sort_by_key(|r| (u32::from(r.dst), std::cmp::Reverse(r.prefix_len)));
    let mut out = String::new();
    for r in sorted {
        let Some(&(dev, addr)) = devs.get(r.dev as usize) else {
            continue;
        };
        match r.prefix_len {
            0 => out.push_str("default"),
            32 => {
                let _ = write!(out, "{}", r.dst);
            }
            n => {
                let _ = write!(out, "{}/{n}", r.dst);
            }
        }
        let connected = addr.filter(|a| {
            r.gateway.is_none() && a.prefix_len() == r.prefix_len && a.network().address() == r.dst
        });
        if let Some(gw) = r.gateway {
            let _ = write!(out, " via {gw}");
        }
        let _ = write!(out, " dev {dev} ");
        if let Some(a) = connected {
            let _ = write!(out, "proto kernel scope link src {} ", a.address());
        } else if r.gateway.is_none() {
            out.push_str("scope link ");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    /// A route.
    fn route(dst: [u8; 4], prefix_len: u8, gateway: Option<[u8; 4]>, dev: u32) -> Route {
        Route {
            dst: Ipv4Addr::from(dst),
            prefix_len,
            gateway: gateway.map(Ipv4Addr::from),
            dev,
        }
    }

    /// `ip route` on Linux 6.18 (iproute2 6.1) after `ip addr add 10.0.0.1/24 dev veth0`
    /// and `ip route add` of the others.
    #[test]
    fn as_ip_route() {
        let routes = [
            route([10, 0, 0, 0], 24, None, 0),
            route([10, 1, 0, 0], 16, Some([10, 0, 0, 2]), 0),
            route([0, 0, 0, 0], 0, Some([10, 0, 0, 2]), 0),
            route([10, 0, 0, 0], 8, Some([10, 0, 0, 2]), 0),
            route([10, 0, 0, 128], 25, None, 0),
            route([192, 168, 9, 9], 32, Some([10, 0, 0, 2]), 0),
        ];
        let devs = [("veth0", Some(Ipv4Cidr::new(Ipv4Addr::new(10, 0, 0, 1), 24)))];
        assert_eq!(
            ip_route(&routes, &devs),
            "default via 10.0.0.2 dev veth0 \n\
             10.0.0.0/24 dev veth0 proto kernel scope link src 10.0.0.1 \n\
             10.0.0.0/8 via 10.0.0.2 dev veth0 \n\
             10.0.0.128/25 dev veth0 scope link \n\
             10.1.0.0/16 via 10.0.0.2 dev veth0 \n\
             192.168.9.9 via 10.0.0.2 dev veth0 \n"
        );
    }
}
