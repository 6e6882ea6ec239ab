//! IPv6 addresses as the stack uses them: [`Ipv6Cidr`] for interface addresses and route
//! destinations, the EUI-64 link-local address a MAC gives (`addrconf_ifid_eui48`), the
//! solicited-node group of an address and the Ethernet address of a multicast group
//! (`ipv6_eth_mc_map`); and the packet format (RFC 8200): the fixed header as a view
//! [`Ipv6Packet`] and plain [`Ipv6Repr`], the Fragment header [`Ipv6FragRepr`], the walk
//! over extension headers [`skip_ext_headers`] (`ipv6_skip_exthdr`), and the Hop-by-Hop
//! Router Alert header MLD sends ([`emit_hbh_router_alert`]).
//!
//! After [`Ipv6Packet::new_checked`] no getter and no payload accessor panics. The walk
//! and every parser are total: they return an error, never panic, on any bytes.

use core::fmt;
use core::net::Ipv6Addr;
use core::str::FromStr;

use super::ipv4::IpProtocol;
use super::{Error, Result, be16, be32, put16, put32};
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

/// The IPv6 fixed header length (RFC 8200 §3).
pub const HEADER_LEN: usize = 40;
/// The minimum link MTU of IPv6 (RFC 8200 §5): ICMPv6 errors fit in it.
pub const MIN_MTU: usize = 1280;
/// The Fragment header length (RFC 8200 §4.5).
pub const FRAG_HEADER_LEN: usize = 8;
/// The length of the Hop-by-Hop header MLD sends ([`emit_hbh_router_alert`]).
pub const HBH_ROUTER_ALERT_LEN: usize = 8;

mod field {
    use crate::wire::Field;
    pub(super) const VER_TC_FLOW: Field = 0..4;
    pub(super) const PAYLOAD_LEN: Field = 4..6;
    pub(super) const NEXT_HEADER: usize = 6;
    pub(super) const HOP_LIMIT: usize = 7;
    pub(super) const SRC_ADDR: Field = 8..24;
    pub(super) const DST_ADDR: Field = 24..40;
}

/// An IPv6 address from the first 16 bytes of `b`.
#[inline]
pub(crate) fn ipv6_addr(b: &[u8]) -> Ipv6Addr {
    let mut o = [0u8; 16];
    o.copy_from_slice(&b[..16]);
    Ipv6Addr::from(o)
}

/// A zero-copy view of an IPv6 packet (fixed header and payload; extension headers are part
/// of the payload, see [`skip_ext_headers`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    /// Wraps a buffer without checks; getters panic if it is shorter than [`HEADER_LEN`], and
    /// [`payload`](Self::payload) if the payload length exceeds the buffer.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    ///
    /// # Errors
    /// As [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks the fixed header and the payload length against the buffer. A longer buffer
    /// is fine (Ethernet padding: `ipv6_rcv` trims it with `pskb_trim_rcsum`).
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than 40 bytes or than 40 plus the
    /// payload length.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN || len < HEADER_LEN + usize::from(self.payload_len()) {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn first_word(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::VER_TC_FLOW])
    }

    /// The version field (6 for IPv6).
    pub fn version(&self) -> u8 {
        (self.first_word() >> 28) as u8
    }

    /// The traffic class (DSCP and ECN).
    pub fn traffic_class(&self) -> u8 {
        (self.first_word() >> 20) as u8
    }

    /// The 20-bit flow label.
    pub fn flow_label(&self) -> u32 {
        self.first_word() & 0x000f_ffff
    }

    /// The payload length: everything after the fixed header, extension headers included.
    pub fn payload_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::PAYLOAD_LEN])
    }

    /// The next header: the first extension header or the upper-layer protocol.
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NEXT_HEADER])
    }

    /// The hop limit.
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv6Addr {
        ipv6_addr(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv6Addr {
        ipv6_addr(&self.buffer.as_ref()[field::DST_ADDR])
    }

    /// The payload, up to the payload length (padding after it excluded).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..HEADER_LEN + usize::from(self.payload_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    /// Sets version 6, the traffic class and the flow label (its low 20 bits).
    pub fn set_version_tc_flow(&mut self, traffic_class: u8, flow_label: u32) {
        let word = (6 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0x000f_ffff);
        put32(&mut self.buffer.as_mut()[field::VER_TC_FLOW], word);
    }

    /// Sets the payload length.
    pub fn set_payload_len(&mut self, value: u16) {
        put16(&mut self.buffer.as_mut()[field::PAYLOAD_LEN], value);
    }

    /// Sets the next header.
    pub fn set_next_header(&mut self, value: IpProtocol) {
        self.buffer.as_mut()[field::NEXT_HEADER] = value.into();
    }

    /// Sets the hop limit (a router decrements it in `ip6_forward`; there is no checksum
    /// to update).
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value;
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, value: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&value.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, value: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&value.octets());
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

/// An IPv6 fixed header as plain values (extension headers, if any, are part of the payload).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// The next header: the first extension header or the upper-layer protocol.
    pub next_header: IpProtocol,
    /// The payload length (extension headers included).
    pub payload_len: usize,
    /// Hop limit: 64 from hosts, 255 on neighbour discovery, 1 on MLD.
    pub hop_limit: u8,
    /// Traffic class (0 on every packet of the reference).
    pub traffic_class: u8,
    /// The 20-bit flow label (0 on ND and MLD; random per socket with `auto_flowlabels`).
    pub flow_label: u32,
}

impl Ipv6Repr {
    /// The fixed header length, [`HEADER_LEN`].
    pub const HEADER_LEN: usize = HEADER_LEN;

    /// Parses the fixed header (`ipv6_rcv`'s checks).
    ///
    /// # Errors
    /// [`Error::Truncated`] as [`Ipv6Packet::check_len`], [`Error::BadVersion`] if the
    /// version is not 6.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv6Packet<T>) -> Result<Self> {
        if packet.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if packet.version() != 6 {
            return Err(Error::BadVersion);
        }
        packet.check_len()?;
        Ok(Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// The header length, [`HEADER_LEN`] (extension headers are emitted separately).
    #[must_use]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// The whole packet's length: header plus payload.
    #[must_use]
    pub const fn total_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the fixed header; the payload is not touched.
    ///
    /// # Panics
    /// If the buffer is shorter than [`HEADER_LEN`], or (debug builds) if the payload length
    /// exceeds 65535 or the flow label 20 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv6Packet<T>) {
        debug_assert!(
            self.payload_len <= usize::from(u16::MAX),
            "IPv6 payload too long"
        );
        debug_assert!(self.flow_label <= 0x000f_ffff, "flow label over 20 bits");
        packet.set_version_tc_flow(self.traffic_class, self.flow_label);
        packet.set_payload_len(self.payload_len as u16);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

/// An IPv6 Fragment header (RFC 8200 §4.5) as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6FragRepr {
    /// The header after this one in the first fragment (the upper-layer protocol).
    pub next_header: IpProtocol,
    /// The fragment offset in 8-byte units (13 bits).
    pub offset: u16,
    /// More fragments follow.
    pub more_frags: bool,
    /// The identification shared by every fragment of a packet.
    pub ident: u32,
}

impl Ipv6FragRepr {
    /// The header length, [`FRAG_HEADER_LEN`].
    pub const FRAG_HEADER_LEN: usize = FRAG_HEADER_LEN;

    /// Reads a Fragment header from the first 8 bytes of `buf` (the reserved fields are
    /// ignored, as Linux's `ipv6_frag_rcv` ignores them).
    ///
    /// # Errors
    /// [`Error::Truncated`] if `buf` is shorter than 8 bytes.
    pub fn parse(buf: &[u8]) -> Result<Self> {
        if buf.len() < FRAG_HEADER_LEN {
            return Err(Error::Truncated);
        }
        let off = be16(&buf[2..4]);
        Ok(Self {
            next_header: IpProtocol::from(buf[0]),
            offset: off >> 3,
            more_frags: off & 1 != 0,
            ident: be32(&buf[4..8]),
        })
    }

    /// The header length, [`FRAG_HEADER_LEN`].
    #[must_use]
    pub const fn buffer_len(&self) -> usize {
        FRAG_HEADER_LEN
    }

    /// Writes the 8-byte header (reserved fields zero).
    ///
    /// # Panics
    /// If `buf` is shorter than 8 bytes, or (debug builds) if the offset exceeds 13 bits.
    pub fn emit(&self, buf: &mut [u8]) {
        debug_assert!(self.offset < 0x2000, "fragment offset over 13 bits");
        buf[0] = self.next_header.into();
        buf[1] = 0;
        put16(
            &mut buf[2..4],
            (self.offset << 3) | u16::from(self.more_frags),
        );
        put32(&mut buf[4..8], self.ident);
    }
}

/// Where the upper-layer header of an IPv6 packet is, found by [`skip_ext_headers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtWalk {
    /// The upper-layer protocol (the first next header that is not 0, 43, 44 or 60;
    /// [`IpProtocol::Ipv6NoNxt`] means nothing follows). For a fragment that is not the
    /// first, the Fragment header's next header.
    pub protocol: IpProtocol,
    /// Bytes from the start of the walked buffer (the IPv6 payload) to the upper-layer
    /// header, or for a fragment that is not the first, to the fragment's data.
    pub offset: usize,
    /// The Fragment header, if one was crossed.
    pub frag: Option<Ipv6FragRepr>,
    /// The value of a Router Alert option in a Hop-by-Hop header (RFC 2711: 0 = MLD).
    pub router_alert: Option<u16>,
}

/// Walks the extension headers at the start of `buf` (an IPv6 payload whose first header is
/// `first`, the fixed header's next header), as Linux's `ipv6_skip_exthdr` does: Hop-by-Hop
/// (0), Routing (43), Fragment (44) and Destination Options (60) are skipped by their
/// lengths, and the walk stops at anything else. It also stops after a Fragment header
/// whose offset is not 0: the rest is fragment data. Hop-by-Hop options are read for a
/// Router Alert (`ip6_parse_tlv`); other options are skipped. Like `ipv6_skip_exthdr`, the
/// walk does not insist that Hop-by-Hop comes first: rejecting a later one (with a
/// parameter problem) is the receive path's job, as in `ip6_protocol_deliver_rcu`.
///
/// # Errors
/// [`Error::Truncated`] if a header runs past `buf`; [`Error::BadOption`] if a Hop-by-Hop
/// option runs past its header.
pub fn skip_ext_headers(buf: &[u8], first: IpProtocol) -> Result<ExtWalk> {
    let mut walk = ExtWalk {
        protocol: first,
        offset: 0,
        frag: None,
        router_alert: None,
    };
    loop {
        let rest = &buf[walk.offset..];
        match walk.protocol {
            IpProtocol::Ipv6Frag => {
                let frag = Ipv6FragRepr::parse(rest)?;
                walk.frag = Some(frag);
                walk.protocol = frag.next_header;
                walk.offset += FRAG_HEADER_LEN;
                if frag.offset != 0 {
                    return Ok(walk);
                }
            }
            IpProtocol::HopByHop | IpProtocol::Ipv6Route | IpProtocol::Ipv6Opts => {
                if rest.len() < 2 {
                    return Err(Error::Truncated);
                }
                let len = (usize::from(rest[1]) + 1) * 8;
                if rest.len() < len {
                    return Err(Error::Truncated);
                }
                if walk.protocol == IpProtocol::HopByHop {
                    if let Some(value) = router_alert(&rest[2..len])? {
                        walk.router_alert = Some(value);
                    }
                }
                walk.protocol = IpProtocol::from(rest[0]);
                walk.offset += len;
            }
            _ => return Ok(walk),
        }
    }
}

/// The Router Alert option type (RFC 2711).
const OPT_ROUTER_ALERT: u8 = 5;
/// The Pad1 option type (RFC 8200 §4.2): one byte, no length.
const OPT_PAD1: u8 = 0;
/// The PadN option type.
const OPT_PADN: u8 = 1;

/// The value of the Router Alert option among the TLV-encoded `options` (RFC 8200 §4.2).
fn router_alert(mut options: &[u8]) -> Result<Option<u16>> {
    let mut found = None;
    while let Some(&kind) = options.first() {
        if kind == OPT_PAD1 {
            options = &options[1..];
            continue;
        }
        let Some(&len) = options.get(1) else {
            return Err(Error::BadOption);
        };
        let end = 2 + usize::from(len);
        if options.len() < end {
            return Err(Error::BadOption);
        }
        if kind == OPT_ROUTER_ALERT && len == 2 {
            found = Some(be16(&options[2..4]));
        }
        options = &options[end..];
    }
    Ok(found)
}

/// Writes the Hop-by-Hop header MLD puts in front of its messages (`igmp6_send`, RFC 3810
/// §5): next header, header length 0 (8 bytes), a Router Alert option with value 0 (MLD)
/// and a PadN option with no data — [`HBH_ROUTER_ALERT_LEN`] bytes.
///
/// # Panics
/// If `buf` is shorter than [`HBH_ROUTER_ALERT_LEN`].
pub fn emit_hbh_router_alert(buf: &mut [u8], next_header: IpProtocol) {
    buf[..HBH_ROUTER_ALERT_LEN].copy_from_slice(&[
        next_header.into(),
        0,
        OPT_ROUTER_ALERT,
        2,
        0,
        0,
        OPT_PADN,
        0,
    ]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::hex;
    use proptest::prelude::*;

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

    /// client.pcap frame 1 without its Ethernet header: an MLDv2 report from `::`, with the
    /// Hop-by-Hop Router Alert header.
    const MLD_REPORT: &str = "600000000024000100000000000000000000000000000000ff020000000000000000000000000016\
        3a00050200000100 8f006f880000000104000000ff0200000000000000000001ff000002";
    /// client.pcap frame 24 without Ethernet: the SYN over IPv6, flow label 0x035872.
    const SYN: &str = "600358720028064020010db800000000000000000000000220010db8000100000000000000000080\
        d5a60050edcf7d5d00000000a002fd20f8760000020405a00402080aa5b30fad000000000103030a";

    #[test]
    fn reference_headers_parse_and_reemit_identically() {
        let bytes = hex(SYN);
        let packet = Ipv6Packet::new_checked(&bytes[..]).unwrap();
        let repr = Ipv6Repr::parse(&packet).unwrap();
        assert_eq!(
            repr,
            Ipv6Repr {
                src_addr: "2001:db8::2".parse().unwrap(),
                dst_addr: "2001:db8:1::80".parse().unwrap(),
                next_header: IpProtocol::Tcp,
                payload_len: 40,
                hop_limit: 64,
                traffic_class: 0,
                flow_label: 0x035872,
            }
        );
        assert_eq!(packet.payload(), &bytes[40..]);
        let mut out = [0u8; 40];
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], &bytes[..40]);
        assert_eq!(repr.buffer_len(), Ipv6Repr::HEADER_LEN);

        let bytes = hex(MLD_REPORT);
        let packet = Ipv6Packet::new_checked(&bytes[..]).unwrap();
        let repr = Ipv6Repr::parse(&packet).unwrap();
        assert_eq!(repr.next_header, IpProtocol::HopByHop);
        assert_eq!((repr.hop_limit, repr.payload_len), (1, 36));
        assert_eq!(repr.src_addr, Ipv6Addr::UNSPECIFIED);
        assert_eq!(repr.dst_addr, ALL_MLDV2_ROUTERS);
        let walk = skip_ext_headers(packet.payload(), repr.next_header).unwrap();
        assert_eq!(
            walk,
            ExtWalk {
                protocol: IpProtocol::Icmpv6,
                offset: 8,
                frag: None,
                router_alert: Some(0),
            }
        );
        let mut hbh = [0u8; HBH_ROUTER_ALERT_LEN];
        emit_hbh_router_alert(&mut hbh, IpProtocol::Icmpv6);
        assert_eq!(&hbh[..], &packet.payload()[..8]);
    }

    #[test]
    fn header_errors() {
        let good = hex(SYN);
        let parse = |b: &[u8]| Ipv6Repr::parse(&Ipv6Packet::new_unchecked(b));
        assert_eq!(parse(&good[..39]), Err(Error::Truncated));
        assert_eq!(parse(&good[..79]), Err(Error::Truncated));
        let mut b = good.clone();
        b[0] = 0x45;
        assert_eq!(parse(&b), Err(Error::BadVersion));
        // Ethernet padding after the payload is not part of it.
        let mut b = good;
        b.extend_from_slice(&[0; 6]);
        let p = Ipv6Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload().len(), 40);
    }

    #[test]
    fn extension_header_walk() {
        // Hop-by-Hop (PadN 4), Destination Options (Pad1 ×6), Routing (8 bytes), Fragment
        // (first fragment, M set), then UDP.
        let mut buf = hex("3c00 0104 00000000  2b00 000000000000  2c00 0000 00000000");
        let frag = Ipv6FragRepr {
            next_header: IpProtocol::Udp,
            offset: 0,
            more_frags: true,
            ident: 0xdead_beef,
        };
        let mut f = [0u8; FRAG_HEADER_LEN];
        frag.emit(&mut f);
        assert_eq!(f, [17, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(Ipv6FragRepr::parse(&f), Ok(frag));
        buf.extend_from_slice(&f);
        buf.extend_from_slice(&[0; 8]);
        let walk = skip_ext_headers(&buf, IpProtocol::HopByHop).unwrap();
        assert_eq!(
            walk,
            ExtWalk {
                protocol: IpProtocol::Udp,
                offset: 32,
                frag: Some(frag),
                router_alert: None,
            }
        );
        // A later fragment: the walk stops at its data.
        let later = Ipv6FragRepr {
            offset: 185,
            more_frags: false,
            ..frag
        };
        later.emit(&mut buf[24..32]);
        let walk = skip_ext_headers(&buf[24..], IpProtocol::Ipv6Frag).unwrap();
        assert_eq!(
            (walk.protocol, walk.offset, walk.frag),
            (IpProtocol::Udp, 8, Some(later))
        );
        // No Next Header ends the walk with nothing after it.
        let walk = skip_ext_headers(&hex("3b00 0000 00000000"), IpProtocol::Ipv6Opts).unwrap();
        assert_eq!((walk.protocol, walk.offset), (IpProtocol::Ipv6NoNxt, 8));
        // Nothing to walk.
        let walk = skip_ext_headers(&[], IpProtocol::Tcp).unwrap();
        assert_eq!((walk.protocol, walk.offset), (IpProtocol::Tcp, 0));
        // Errors: a header past the buffer, an option past its header.
        assert_eq!(
            skip_ext_headers(&buf[..12], IpProtocol::HopByHop),
            Err(Error::Truncated)
        );
        assert_eq!(
            skip_ext_headers(&buf[..1], IpProtocol::HopByHop),
            Err(Error::Truncated)
        );
        assert_eq!(
            skip_ext_headers(&buf[..4], IpProtocol::Ipv6Frag),
            Err(Error::Truncated)
        );
        assert_eq!(
            skip_ext_headers(&hex("3a00 0105 00000000"), IpProtocol::HopByHop),
            Err(Error::BadOption)
        );
    }

    fn arb_repr() -> impl Strategy<Value = Ipv6Repr> {
        (
            any::<u128>(),
            any::<u128>(),
            any::<u8>(),
            0usize..2000,
            any::<u8>(),
            any::<u8>(),
            0u32..0x10_0000,
        )
            .prop_map(|(s, d, nh, len, hl, tc, fl)| Ipv6Repr {
                src_addr: Ipv6Addr::from_bits(s),
                dst_addr: Ipv6Addr::from_bits(d),
                next_header: IpProtocol::from(nh),
                payload_len: len,
                hop_limit: hl,
                traffic_class: tc,
                flow_label: fl,
            })
    }

    /// A whole frame built as the stack builds it: payload first, then each header pushed in
    /// front — UDP (0), TCP (1), an ICMPv6 echo (2), or an MLDv2 report behind the
    /// Hop-by-Hop Router Alert header (3).
    fn build_frame(kind: u8, payload: &[u8], ports: (u16, u16), flow: u32) -> Vec<u8> {
        use crate::wire::{
            EtherType, EthernetFrame, EthernetRepr, Icmpv6Packet, Icmpv6Repr, MldRecord, MldRepr,
            TcpFlags, TcpOptions, TcpPacket, TcpRepr, UdpPacket, UdpRepr, udp,
        };
        let (src, dst) = (
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2),
            Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x80),
        );
        let tcp = TcpRepr {
            src_port: ports.0,
            dst_port: ports.1,
            seq: flow,
            ack: !flow,
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window: 64,
            urgent: 0,
            options: TcpOptions::established(Some((flow, 1)), &[]),
        };
        let echo = Icmpv6Repr::EchoRequest {
            ident: ports.0,
            seq_no: ports.1,
            data: payload,
        };
        let records = [MldRecord {
            record_type: MldRecord::CHANGE_TO_EXCLUDE,
            group: solicited_node(src),
        }];
        let mld = Icmpv6Repr::Mld(MldRepr::ReportV2 { records: &records });
        let (next_header, l4_len) = match kind {
            0 => (IpProtocol::Udp, udp::HEADER_LEN + payload.len()),
            1 => (IpProtocol::Tcp, tcp.header_len() + payload.len()),
            2 => (IpProtocol::Icmpv6, echo.buffer_len()),
            _ => (
                IpProtocol::HopByHop,
                HBH_ROUTER_ALERT_LEN + mld.buffer_len(),
            ),
        };
        let headroom = 14 + HEADER_LEN;
        let mut buf = vec![0u8; headroom + l4_len];
        let l4 = &mut buf[headroom..];
        match kind {
            0 => {
                l4[udp::HEADER_LEN..].copy_from_slice(payload);
                let r = UdpRepr {
                    src_port: ports.0,
                    dst_port: ports.1,
                };
                r.emit(&mut UdpPacket::new_unchecked(l4), src, dst, payload.len());
            }
            1 => {
                l4[tcp.header_len()..].copy_from_slice(payload);
                tcp.emit(&mut TcpPacket::new_unchecked(l4), src, dst, payload.len());
            }
            2 => echo.emit(src, dst, &mut Icmpv6Packet::new_unchecked(l4)),
            _ => {
                let (hbh, msg) = l4.split_at_mut(HBH_ROUTER_ALERT_LEN);
                mld.emit(
                    src,
                    ALL_MLDV2_ROUTERS,
                    &mut Icmpv6Packet::new_unchecked(msg),
                );
                emit_hbh_router_alert(hbh, IpProtocol::Icmpv6);
            }
        }
        let ip = Ipv6Repr {
            src_addr: src,
            dst_addr: if kind == 3 { ALL_MLDV2_ROUTERS } else { dst },
            next_header,
            payload_len: l4_len,
            hop_limit: if kind == 3 { 1 } else { 64 },
            traffic_class: 0,
            flow_label: flow & 0xf_ffff,
        };
        ip.emit(&mut Ipv6Packet::new_unchecked(&mut buf[14..]));
        EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            ethertype: EtherType::Ipv6,
        }
        .emit(&mut crate::wire::EthernetFrame::new_unchecked(&mut buf[..]));
        let _ = EthernetFrame::new_checked(&buf[..]).unwrap();
        buf
    }

    proptest! {
        /// Whole IPv6 frames decode in etherparse with the same fields and every checksum
        /// verifying, and their summaries are complete.
        #[test]
        fn frames_decode_in_etherparse(
            kind in 0u8..4, payload in proptest::collection::vec(any::<u8>(), 0..100),
            ports in any::<(u16, u16)>(), flow in any::<u32>(),
        ) {
            use etherparse::{NetHeaders, TransportHeader};
            let ports = (ports.0 | 0x8000, ports.1 | 0x8000);
            let frame = build_frame(kind, &payload, ports, flow);
            let h = etherparse::PacketHeaders::from_ethernet_slice(&frame).unwrap();
            let Some(NetHeaders::Ipv6(ip, exts)) = h.net else { panic!("no IPv6 header") };
            prop_assert_eq!(ip.flow_label.value(), flow & 0xf_ffff);
            prop_assert_eq!(exts.hop_by_hop_options.is_some(), kind == 3);
            let body = h.payload.slice();
            match h.transport {
                Some(TransportHeader::Udp(u)) => {
                    prop_assert_eq!(kind, 0);
                    prop_assert_eq!((u.source_port, u.destination_port), ports);
                    prop_assert_eq!(u.checksum, u.calc_checksum_ipv6(&ip, body).unwrap());
                    prop_assert_eq!(body, &payload[..]);
                }
                Some(TransportHeader::Tcp(t)) => {
                    prop_assert_eq!(kind, 1);
                    prop_assert_eq!(t.checksum, t.calc_checksum_ipv6(&ip, body).unwrap());
                    prop_assert_eq!(body, &payload[..]);
                }
                Some(TransportHeader::Icmpv6(i)) => {
                    prop_assert!(kind >= 2);
                    let sum = i.icmp_type.calc_checksum(ip.source, ip.destination, body).unwrap();
                    prop_assert_eq!(i.checksum, sum);
                }
                other => panic!("unexpected transport {other:?}"),
            }
            let line = crate::wire::summary(&frame);
            prop_assert!(line.starts_with("IP6 ") && !line.contains("[|"), "{}", line);
        }

        #[test]
        fn roundtrip_and_etherparse(repr in arb_repr()) {
            let mut buf = vec![0xa5u8; repr.total_len()];
            repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
            let p = Ipv6Packet::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Ipv6Repr::parse(&p), Ok(repr));
            prop_assert!(p.payload().iter().all(|&b| b == 0xa5));
            let (h, _) = etherparse::Ipv6Header::from_slice(&buf).unwrap();
            prop_assert_eq!(h.source, repr.src_addr.octets());
            prop_assert_eq!(h.destination, repr.dst_addr.octets());
            prop_assert_eq!(h.next_header.0, u8::from(repr.next_header));
            prop_assert_eq!(usize::from(h.payload_length), repr.payload_len);
            prop_assert_eq!(h.hop_limit, repr.hop_limit);
            prop_assert_eq!(h.flow_label.value(), repr.flow_label);
            prop_assert_eq!(h.traffic_class, repr.traffic_class);
        }

        #[test]
        fn frag_roundtrip(nh in any::<u8>(), offset in 0u16..0x2000, more in any::<bool>(), ident in any::<u32>()) {
            let frag = Ipv6FragRepr { next_header: IpProtocol::from(nh), offset, more_frags: more, ident };
            let mut buf = [0u8; FRAG_HEADER_LEN];
            frag.emit(&mut buf);
            prop_assert_eq!(Ipv6FragRepr::parse(&buf), Ok(frag));
        }

        #[test]
        fn parse_and_walk_never_panic(buf in proptest::collection::vec(any::<u8>(), 0..120), first in any::<u8>()) {
            let _ = Ipv6Repr::parse(&Ipv6Packet::new_unchecked(&buf[..]));
            if let Ok(p) = Ipv6Packet::new_checked(&buf[..]) {
                let _ = (p.payload(), p.flow_label(), p.src_addr(), p.dst_addr());
            }
            if let Ok(walk) = skip_ext_headers(&buf, IpProtocol::from(first)) {
                prop_assert!(walk.offset <= buf.len());
            }
        }
    }
}
