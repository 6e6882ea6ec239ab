//! Connection tracking tuples (`struct nf_conntrack_tuple`, `nf_ct_get_tuple`,
//! `nf_ct_invert_tuple`), IPv4 only.
//!
//! A tuple is what conntrack keys a direction of a connection by: addresses, protocol and
//! the per-protocol part. As in the kernel's union, the per-protocol part is two 16-bit
//! words: the ports for TCP and UDP; for ICMP the echo id in `src_u` and the type and code
//! in `dst_u` (`type << 8 | code`); zero for other protocols (the generic tracker).
//!
//! Tuples order by their fields (derived `Ord`): the table's lookup maps are `BTreeMap`s
//! keyed by them, so nothing reaches an output in hash order.

use std::net::Ipv4Addr;

use crate::wire::IpProtocol;

/// `IP_CT_DIR_ORIGINAL` / `IP_CT_DIR_REPLY`: which way a packet goes in its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IpCtDir {
    /// `IP_CT_DIR_ORIGINAL`: as the first packet went.
    Original = 0,
    /// `IP_CT_DIR_REPLY`: the other way.
    Reply = 1,
}

impl IpCtDir {
    /// The other direction (`!dir` in the kernel).
    #[must_use]
    pub const fn other(self) -> Self {
        match self {
            Self::Original => Self::Reply,
            Self::Reply => Self::Original,
        }
    }

    /// The index into two-element per-direction arrays (`tuplehash[dir]`, `seen[dir]`).
    #[must_use]
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// `struct nf_conntrack_tuple` for IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tuple {
    /// `src.u3.ip`.
    pub src: Ipv4Addr,
    /// `dst.u3.ip`.
    pub dst: Ipv4Addr,
    /// `dst.protonum`.
    pub protonum: u8,
    /// `src.u.all`: the source port, or the ICMP echo id.
    pub src_u: u16,
    /// `dst.u.all`: the destination port, or ICMP `type << 8 | code`.
    pub dst_u: u16,
}

/// `invmap` of `nf_conntrack_proto_icmp.c`: the reply type of each ICMP query type, the only
/// ICMP types a tuple can be inverted for.
#[must_use]
pub const fn icmp_invmap(icmp_type: u8) -> Option<u8> {
    match icmp_type {
        8 => Some(0),   // ICMP_ECHO -> ICMP_ECHOREPLY
        0 => Some(8),   // ICMP_ECHOREPLY -> ICMP_ECHO
        13 => Some(14), // ICMP_TIMESTAMP -> ICMP_TIMESTAMPREPLY
        14 => Some(13),
        15 => Some(16), // ICMP_INFO_REQUEST -> ICMP_INFO_REPLY
        16 => Some(15),
        17 => Some(18), // ICMP_ADDRESS -> ICMP_ADDRESSREPLY
        18 => Some(17),
        _ => None,
    }
}

impl Tuple {
    /// The ICMP type (`dst.u.icmp.type`) of an ICMP tuple.
    #[must_use]
    pub const fn icmp_type(&self) -> u8 {
        (self.dst_u >> 8) as u8
    }

    /// The ICMP code (`dst.u.icmp.code`) of an ICMP tuple.
    #[must_use]
    pub const fn icmp_code(&self) -> u8 {
        (self.dst_u & 0xff) as u8
    }

    /// `nf_ct_invert_tuple`: the tuple of the other direction, `None` where the protocol
    /// has no inverse (an ICMP type that is not a query or reply).
    #[must_use]
    pub fn invert(&self) -> Option<Self> {
        let (src_u, dst_u) = match IpProtocol(self.protonum) {
            IpProtocol::Tcp | IpProtocol::Udp => (self.dst_u, self.src_u),
            IpProtocol::Icmp => {
                let t = icmp_invmap(self.icmp_type())?;
                (
                    self.src_u,
                    (u16::from(t) << 8) | u16::from(self.icmp_code()),
                )
            }
            _ => (0, 0),
        };
        Some(Self {
            src: self.dst,
            dst: self.src,
            protonum: self.protonum,
            src_u,
            dst_u,
        })
    }

    /// [`Tuple::invert`] for tuples known to be invertible (both tuples of an entry are).
    #[must_use]
    pub(crate) fn inverted(&self) -> Self {
        self.invert().unwrap_or(Self {
            src: self.dst,
            dst: self.src,
            ..*self
        })
    }

    /// `nf_ct_get_tuple` on an IPv4 packet whose L4 header starts at `dataoff`: `None` when
    /// the L4 header is too short for the tuple's fields.
    #[must_use]
    pub fn from_l4(src: Ipv4Addr, dst: Ipv4Addr, protonum: u8, l4: &[u8]) -> Option<Self> {
        let (src_u, dst_u) = match IpProtocol(protonum) {
            // tcp/udp: the first four bytes (`skb_header_pointer` of 4 bytes).
            IpProtocol::Tcp | IpProtocol::Udp => {
                let b = l4.get(..4)?;
                (
                    u16::from_be_bytes([b[0], b[1]]),
                    u16::from_be_bytes([b[2], b[3]]),
                )
            }
            // icmp_pkt_to_tuple: the 8-byte header.
            IpProtocol::Icmp => {
                let b = l4.get(..8)?;
                (
                    u16::from_be_bytes([b[4], b[5]]),
                    u16::from_be_bytes([b[0], b[1]]),
                )
            }
            _ => (0, 0),
        };
        Some(Self {
            src,
            dst,
            protonum,
            src_u,
            dst_u,
        })
    }
}

/// The parts of an IPv4 header conntrack and NAT read (`get_l4proto` for IPv4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ipv4Head {
    pub(crate) ihl: usize,
    pub(crate) total_len: usize,
    pub(crate) protonum: u8,
    pub(crate) src: Ipv4Addr,
    pub(crate) dst: Ipv4Addr,
    /// A fragment other than the first (`frag_off & IP_OFFSET`): no L4 header.
    pub(crate) later_fragment: bool,
}

impl Ipv4Head {
    /// Reads the header of `ip`; `None` when it is not a whole IPv4 header.
    pub(crate) fn parse(ip: &[u8]) -> Option<Self> {
        let first = *ip.first()?;
        if first >> 4 != 4 {
            return None;
        }
        let ihl = usize::from(first & 0x0f) * 4;
        if ihl < 20 || ip.len() < ihl {
            return None;
        }
        let total_len = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        if total_len < ihl {
            return None;
        }
        Some(Self {
            ihl,
            // ip_rcv trims the skb to tot_len; a buffer shorter than tot_len is what we have.
            total_len: total_len.min(ip.len()),
            protonum: ip[9],
            src: Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
            dst: Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
            later_fragment: u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff != 0,
        })
    }

    /// Reads the header quoted in an ICMP error (`ipv4_get_l4proto` on it): its total
    /// length is that of the original packet, longer than the quote.
    pub(crate) fn parse_quoted(ip: &[u8]) -> Option<Self> {
        let first = *ip.first()?;
        let ihl = usize::from(first & 0x0f) * 4;
        if ihl < 20 || ip.len() < ihl {
            return None;
        }
        if u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff != 0 {
            return None;
        }
        Some(Self {
            ihl,
            total_len: ip.len(),
            protonum: ip[9],
            src: Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]),
            dst: Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]),
            later_fragment: false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invert_swaps_ports_and_icmp_types() {
        let t = Tuple {
            src: Ipv4Addr::new(10, 0, 0, 1),
            dst: Ipv4Addr::new(10, 0, 0, 2),
            protonum: 6,
            src_u: 1000,
            dst_u: 80,
        };
        let r = t.invert().unwrap();
        assert_eq!((r.src, r.dst, r.src_u, r.dst_u), (t.dst, t.src, 80, 1000));
        let echo = Tuple {
            protonum: 1,
            src_u: 7,
            dst_u: 8 << 8,
            ..t
        };
        let r = echo.invert().unwrap();
        assert_eq!((r.src_u, r.icmp_type(), r.icmp_code()), (7, 0, 0));
        let unreach = Tuple {
            dst_u: 3 << 8 | 3,
            ..echo
        };
        assert_eq!(unreach.invert(), None);
    }
}
