//! IPv6 addresses as the stack uses them: [`Ipv6Cidr`] for interface addresses and route
//! destinations, the EUI-64 link-local address a MAC gives (`addrconf_ifid_eui48`), the
//! solicited-node group of an address and the Ethernet address of a multicast group
//! (`ipv6_eth_mc_map`).

use core::fmt;
use core::net::Ipv6Addr;
use core::str::FromStr;

use crate::wire::EthernetAddress;

/// An IPv6 address with a prefix length: an interface address (`2001:db8::2/64`) or a route's
/// destination (`2001:db8:1::/64`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv6Cidr {
    address: Ipv6Addr,
    prefix_len: u8,
}

impl Ipv6Cidr {
    /// `address/prefix_len`; the address keeps its host bits.
    ///
    /// # Panics
    /// If `prefix_len` is over 128.
    #[must_use]
    pub const fn new(address: Ipv6Addr, prefix_len: u8) -> Self {
        assert!(prefix_len <= 128, "IPv6 prefix length over 128");
        Self {
            address,
            prefix_len,
        }
    }

    /// `address/prefix_len`, or `None` if the prefix length is over 128.
    #[must_use]
    pub const fn try_new(address: Ipv6Addr, prefix_len: u8) -> Option<Self> {
        if prefix_len > 128 {
            None
        } else {
            Some(Self::new(address, prefix_len))
        }
    }

    /// The address.
    #[must_use]
    pub const fn address(&self) -> Ipv6Addr {
        self.address
    }

    /// The prefix length, 0 to 128.
    #[must_use]
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    const fn mask(&self) -> u128 {
        if self.prefix_len == 0 {
            0
        } else {
            u128::MAX << (128 - self.prefix_len)
        }
    }

    /// The network: the address with its host bits cleared, same prefix length.
    #[must_use]
    pub const fn network(&self) -> Self {
        Self {
            address: Ipv6Addr::from_bits(self.address.to_bits() & self.mask()),
            prefix_len: self.prefix_len,
        }
    }

    /// Whether `addr` is inside this prefix.
    #[must_use]
    pub const fn contains(&self, addr: Ipv6Addr) -> bool {
        (addr.to_bits() ^ self.address.to_bits()) & self.mask() == 0
    }

    /// Whether all of `other` is inside this prefix.
    #[must_use]
    pub const fn contains_subnet(&self, other: &Self) -> bool {
        other.prefix_len >= self.prefix_len && self.contains(other.address)
    }
}

impl fmt::Display for Ipv6Cidr {
    /// `2001:db8::2/64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl fmt::Debug for Ipv6Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why an `addr/n` text is not an IPv6 CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Cidr6ParseError {
    /// No `/`.
    #[error(
        "`{0}` has no prefix length; expected an address and a prefix such as `2001:db8::1/64`"
    )]
    MissingPrefix(String),
    /// The address part is not an IPv6 address.
    #[error("`{0}` is not an IPv6 address")]
    BadAddr(String),
    /// The prefix is not a number in 0..=128.
    #[error("prefix length `{0}` is not a number from 0 to 128")]
    BadPrefix(String),
}

impl FromStr for Ipv6Cidr {
    type Err = Cidr6ParseError;

    /// Accepts `2001:db8::2/64` (the prefix length is required).
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| Cidr6ParseError::MissingPrefix(s.to_string()))?;
        let address = a
            .parse::<Ipv6Addr>()
            .map_err(|_| Cidr6ParseError::BadAddr(a.to_string()))?;
        let digits = !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit());
        let prefix_len = p
            .parse::<u8>()
            .ok()
            .filter(|len| digits && *len <= 128)
            .ok_or_else(|| Cidr6ParseError::BadPrefix(p.to_string()))?;
        Ok(Self::new(address, prefix_len))
    }
}

impl serde::Serialize for Ipv6Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Ipv6Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The link-local address Linux gives an Ethernet interface with `addr_gen_mode` 0:
/// `fe80::` and the modified EUI-64 interface identifier of its MAC (`addrconf_ifid_eui48`:
/// `ff:fe` in the middle, the universal/local bit flipped). `02:00:00:00:00:02` →
/// `fe80::ff:fe00:2`.
#[must_use]
pub fn link_local_eui64(mac: EthernetAddress) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        m[0] ^ 0x02,
        m[1],
        m[2],
        0xff,
        0xfe,
        m[3],
        m[4],
        m[5],
    ])
}

/// The solicited-node multicast group of `addr` (`addrconf_addr_solict_mult`):
/// `ff02::1:ff` and the address's last 24 bits.
#[must_use]
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, o[13], o[14], o[15],
    ])
}

/// The Ethernet address a multicast IPv6 group maps to (`ipv6_eth_mc_map`): `33:33` and the
/// group's last 32 bits.
#[must_use]
pub fn multicast_mac(group: Ipv6Addr) -> EthernetAddress {
    let o = group.octets();
    EthernetAddress([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// Whether `addr` is a unicast link-local address (`fe80::/10`).
#[must_use]
pub const fn is_link_local(addr: Ipv6Addr) -> bool {
    addr.segments()[0] & 0xffc0 == 0xfe80
}

/// The all-nodes group `ff02::1`.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// The all-routers group `ff02::2`.
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
/// The all-MLDv2-capable-routers group `ff02::16`, where MLDv2 reports go.
pub const ALL_MLDV2_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_parse_and_contains() {
        let c: Ipv6Cidr = "2001:db8::2/64".parse().unwrap();
        assert_eq!(c.prefix_len(), 64);
        assert!(c.contains("2001:db8::80".parse().unwrap()));
        assert!(!c.contains("2001:db8:1::80".parse().unwrap()));
        assert_eq!(c.network().to_string(), "2001:db8::/64");
        assert!("2001:db8::1/129".parse::<Ipv6Cidr>().is_err());
        assert!("2001:db8::1".parse::<Ipv6Cidr>().is_err());
        assert!("10.0.0.1/24".parse::<Ipv6Cidr>().is_err());
        let all: Ipv6Cidr = "::/0".parse().unwrap();
        assert!(all.contains("fe80::1".parse().unwrap()));
    }

    /// The reference's addresses (REFERENCE.md section 1).
    #[test]
    fn eui64_and_groups_as_the_reference() {
        let mac = EthernetAddress([2, 0, 0, 0, 0, 2]);
        assert_eq!(link_local_eui64(mac).to_string(), "fe80::ff:fe00:2");
        let mac = EthernetAddress([2, 0, 0, 0, 1, 0x53]);
        assert_eq!(link_local_eui64(mac).to_string(), "fe80::ff:fe00:153");
        let g = solicited_node("2001:db8:1::80".parse().unwrap());
        assert_eq!(g.to_string(), "ff02::1:ff00:80");
        assert_eq!(multicast_mac(g).0, [0x33, 0x33, 0xff, 0, 0, 0x80]);
        assert!(is_link_local("fe80::ff:fe00:1".parse().unwrap()));
        assert!(!is_link_local("2001:db8::1".parse().unwrap()));
    }
}
