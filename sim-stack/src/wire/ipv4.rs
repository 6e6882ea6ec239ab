//! IPv4 headers (RFC 791), the protocol numbers we carry, and [`Ipv4Cidr`] for interface
//! addresses and routes.
//!
//! Options are accepted on input (their bytes are skipped, and the payload starts after
//! them) and never emitted: Linux sends none on any packet we model.

use core::fmt;
use core::net::Ipv4Addr;
use core::str::FromStr;

use super::{Error, Result, be16, checksum, ipv4_addr, put16};

/// The protocol carried in an IPv4 payload, or the next header of an IPv6 header
/// (IANA "Assigned Internet Protocol Numbers": one number space for both).
///
/// The number itself, one byte: reading it from a header is a load, with no decoding, and
/// the named protocols are constants that `match` takes as patterns (`IpProtocol::Tcp`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct IpProtocol(pub u8);

#[allow(non_upper_case_globals)]
impl IpProtocol {
    /// IPv6 Hop-by-Hop Options, 0 (RFC 8200 §4.3).
    pub const HopByHop: Self = Self(0);
    /// ICMP, 1.
    pub const Icmp: Self = Self(1);
    /// TCP, 6.
    pub const Tcp: Self = Self(6);
    /// UDP, 17.
    pub const Udp: Self = Self(17);
    /// IPv6 Routing header, 43 (RFC 8200 §4.4).
    pub const Ipv6Route: Self = Self(43);
    /// IPv6 Fragment header, 44 (RFC 8200 §4.5).
    pub const Ipv6Frag: Self = Self(44);
    /// ICMPv6, 58 (RFC 4443).
    pub const Icmpv6: Self = Self(58);
    /// IPv6 No Next Header, 59 (RFC 8200 §4.7): nothing follows.
    pub const Ipv6NoNxt: Self = Self(59);
    /// IPv6 Destination Options, 60 (RFC 8200 §4.6).
    pub const Ipv6Opts: Self = Self(60);

    /// The name of a protocol the stack knows (`"Tcp"`), `None` for any other number.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0 => "HopByHop",
            1 => "Icmp",
            6 => "Tcp",
            17 => "Udp",
            43 => "Ipv6Route",
            44 => "Ipv6Frag",
            58 => "Icmpv6",
            59 => "Ipv6NoNxt",
            60 => "Ipv6Opts",
            _ => return None,
        })
    }
}

/// `Tcp`, `Udp`, … for the named protocols, `Unknown(N)` for the others.
impl core::fmt::Debug for IpProtocol {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Unknown({})", self.0),
        }
    }
}

impl From<u8> for IpProtocol {
    #[inline]
    fn from(v: u8) -> Self {
        Self(v)
    }
}

impl From<IpProtocol> for u8 {
    #[inline]
    fn from(v: IpProtocol) -> Self {
        v.0
    }
}

/// The length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;
/// The largest IPv4 datagram (total length is a 16-bit field).
pub const MAX_PACKET_LEN: usize = 65535;

mod field {
    use crate::wire::Field;
    pub(super) const VER_IHL: usize = 0;
    pub(super) const DSCP_ECN: usize = 1;
    pub(super) const LENGTH: Field = 2..4;
    pub(super) const IDENT: Field = 4..6;
    pub(super) const FLG_OFF: Field = 6..8;
    pub(super) const TTL: usize = 8;
    pub(super) const PROTOCOL: usize = 9;
    pub(super) const CHECKSUM: Field = 10..12;
    pub(super) const SRC_ADDR: Field = 12..16;
    pub(super) const DST_ADDR: Field = 16..20;
}

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A zero-copy view of an IPv4 packet (header, options, payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    /// Wraps a buffer without checks; getters panic if the buffer is shorter than the field
    /// they read, and [`payload`](Self::payload) if the length fields exceed the buffer.
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

    /// Checks, in the order Linux's `ip_rcv_core` does (except that the checksum is left to
    /// [`Ipv4Repr::parse`]), that the header and the payload its length fields describe lie
    /// within the buffer. The buffer may be longer than the total length (Ethernet padding).
    ///
    /// # Errors
    /// * [`Error::Truncated`]: shorter than 20 bytes, than the IHL, or than the total length;
    /// * [`Error::BadVersion`]: the version is not 4;
    /// * [`Error::BadHeaderLength`]: IHL below 5;
    /// * [`Error::BadTotalLength`]: total length below the header length.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 {
            return Err(Error::BadVersion);
        }
        let header_len = usize::from(self.header_len());
        if header_len < HEADER_LEN {
            return Err(Error::BadHeaderLength);
        }
        if len < header_len {
            return Err(Error::Truncated);
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(Error::BadTotalLength);
        }
        if len < total_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn data(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The version field (4 for IPv4).
    pub fn version(&self) -> u8 {
        self.data()[field::VER_IHL] >> 4
    }

    /// The header length in bytes (IHL × 4), options included.
    pub fn header_len(&self) -> u8 {
        (self.data()[field::VER_IHL] & 0x0f) * 4
    }

    /// The TOS byte: DSCP in the top six bits, ECN in the low two.
    pub fn dscp_ecn(&self) -> u8 {
        self.data()[field::DSCP_ECN]
    }

    /// The total length of the datagram, header included.
    pub fn total_len(&self) -> u16 {
        be16(&self.data()[field::LENGTH])
    }

    /// The identification field.
    pub fn ident(&self) -> u16 {
        be16(&self.data()[field::IDENT])
    }

    /// Don't Fragment.
    pub fn dont_frag(&self) -> bool {
        be16(&self.data()[field::FLG_OFF]) & FLAG_DF != 0
    }

    /// More Fragments.
    pub fn more_frags(&self) -> bool {
        be16(&self.data()[field::FLG_OFF]) & FLAG_MF != 0
    }

    /// The fragment offset in bytes (the field counts 8-byte units).
    pub fn frag_offset(&self) -> u16 {
        (be16(&self.data()[field::FLG_OFF]) & OFFSET_MASK) << 3
    }

    /// Time to live.
    pub fn ttl(&self) -> u8 {
        self.data()[field::TTL]
    }

    /// The payload protocol.
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.data()[field::PROTOCOL])
    }

    /// The header checksum field.
    pub fn checksum(&self) -> u16 {
        be16(&self.data()[field::CHECKSUM])
    }

    /// The source address.
    pub fn src_addr(&self) -> Ipv4Addr {
        ipv4_addr(&self.data()[field::SRC_ADDR])
    }

    /// The destination address.
    pub fn dst_addr(&self) -> Ipv4Addr {
        ipv4_addr(&self.data()[field::DST_ADDR])
    }

    /// The option bytes (empty for a 20-byte header).
    pub fn options(&self) -> &[u8] {
        &self.data()[HEADER_LEN..usize::from(self.header_len())]
    }

    /// Whether the header checksum verifies.
    #[inline(always)]
    pub fn verify_checksum(&self) -> bool {
        checksum::data(&self.data()[..usize::from(self.header_len())]) == 0xffff
    }

    /// The payload: from the end of the header (options skipped) to the total length, so
    /// Ethernet padding after the datagram is excluded.
    pub fn payload(&self) -> &[u8] {
        &self.data()[usize::from(self.header_len())..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn data_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets version 4 and the header length in bytes (a multiple of 4, 20 to 60).
    pub fn set_version_and_header_len(&mut self, header_len: u8) {
        debug_assert!(header_len % 4 == 0 && (20..=60).contains(&header_len));
        self.data_mut()[field::VER_IHL] = 0x40 | (header_len / 4);
    }

    /// Sets the TOS byte.
    pub fn set_dscp_ecn(&mut self, value: u8) {
        self.data_mut()[field::DSCP_ECN] = value;
    }

    /// Sets the total length.
    pub fn set_total_len(&mut self, value: u16) {
        put16(&mut self.data_mut()[field::LENGTH], value);
    }

    /// Sets the identification.
    pub fn set_ident(&mut self, value: u16) {
        put16(&mut self.data_mut()[field::IDENT], value);
    }

    /// Sets DF, MF and the fragment offset (in bytes, a multiple of 8); the reserved bit is
    /// cleared.
    pub fn set_flags_and_offset(&mut self, dont_frag: bool, more_frags: bool, offset: u16) {
        debug_assert!(
            offset % 8 == 0,
            "fragment offset {offset} is not a multiple of 8"
        );
        let mut v = (offset >> 3) & OFFSET_MASK;
        if dont_frag {
            v |= FLAG_DF;
        }
        if more_frags {
            v |= FLAG_MF;
        }
        put16(&mut self.data_mut()[field::FLG_OFF], v);
    }

    /// Sets the TTL (the checksum is not updated; see [`decrement_ttl`](Self::decrement_ttl)).
    pub fn set_ttl(&mut self, value: u8) {
        self.data_mut()[field::TTL] = value;
    }

    /// Sets the protocol.
    pub fn set_protocol(&mut self, value: IpProtocol) {
        self.data_mut()[field::PROTOCOL] = value.into();
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        put16(&mut self.data_mut()[field::CHECKSUM], value);
    }

    /// Sets the source address.
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.data_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.data_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Computes the header checksum and writes it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header_len = usize::from(self.header_len());
        let sum = checksum::data(&self.data()[..header_len]);
        self.set_checksum(!sum);
    }

    /// Decrements the TTL and updates the checksum incrementally (RFC 1624), as
    /// `ip_decrease_ttl` does on forwarding; returns the new TTL. The result is the checksum
    /// a full recomputation would give, so forwarded frames are byte-identical to Linux's.
    ///
    /// The caller checks the TTL first (`ip_forward` drops and answers with ICMP time
    /// exceeded when it is 1 or less); a TTL of 0 wraps to 255.
    pub fn decrement_ttl(&mut self) -> u8 {
        let old = be16(&self.data()[field::TTL..]);
        let ttl = self.ttl().wrapping_sub(1);
        self.set_ttl(ttl);
        let new = be16(&self.data()[field::TTL..]);
        let csum = checksum::update_word(self.checksum(), old, new);
        self.set_checksum(csum);
        ttl
    }

    /// The payload, writable (header end to total length).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = usize::from(self.header_len())..usize::from(self.total_len());
        &mut self.data_mut()[range]
    }
}

/// An IPv4 header as plain values (options are not represented).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv4Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Payload protocol.
    pub protocol: IpProtocol,
    /// Payload length in bytes (total length minus the header).
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// The TOS byte (DSCP and ECN); 0 on every packet of the reference run.
    pub dscp_ecn: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment (set on every packet Linux sent in the reference run).
    pub dont_frag: bool,
    /// More Fragments.
    pub more_frags: bool,
    /// Fragment offset in bytes (a multiple of 8).
    pub frag_offset: u16,
}

impl Ipv4Repr {
    /// Parses and validates a header: lengths, version, and the header checksum. Options are
    /// skipped; `payload_len` is what the total length says, so padding is excluded.
    ///
    /// # Errors
    /// The errors of [`Ipv4Packet::check_len`], and [`Error::BadChecksum`]. Linux counts them
    /// as `InHdrErrors` (`BadVersion`, `BadHeaderLength`, `BadTotalLength`, and `Truncated`
    /// when even the header is cut short), `InCsumErrors` (`BadChecksum`) and
    /// `InTruncatedPkts` (`Truncated` when the header is whole but the payload is not).
    #[inline(always)]
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Self> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        Ok(Self::read_fields(packet))
    }

    /// The header fields without any validation (a quoted header in an ICMP error has a
    /// total length beyond the bytes quoted); the buffer must hold 20 bytes.
    pub(crate) fn read_fields<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Self {
        let total = usize::from(packet.total_len());
        Self {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: total.saturating_sub(usize::from(packet.header_len())),
            ttl: packet.ttl(),
            dscp_ecn: packet.dscp_ecn(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
        }
    }

    /// The header length: always [`HEADER_LEN`], since no options are emitted.
    #[must_use]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// The total length field this header will carry.
    #[must_use]
    pub const fn total_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Writes the 20-byte header, checksum included, at the start of the packet; the payload
    /// is not touched (the header can be pushed in front of a payload in place).
    ///
    /// # Panics
    /// If the buffer is shorter than [`HEADER_LEN`], or (in debug builds) if the total length
    /// exceeds 65535 or the fragment offset is not a multiple of 8.
    #[inline(always)]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        debug_assert!(self.total_len() <= MAX_PACKET_LEN, "IPv4 datagram too long");
        packet.set_version_and_header_len(HEADER_LEN as u8);
        packet.set_dscp_ecn(self.dscp_ecn);
        packet.set_total_len(self.total_len() as u16);
        packet.set_ident(self.ident);
        packet.set_flags_and_offset(self.dont_frag, self.more_frags, self.frag_offset);
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

/// An IPv4 address with a prefix length: an interface address (`10.0.0.2/24`) or a route's
/// destination (`10.0.1.0/24`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Cidr {
    address: Ipv4Addr,
    prefix_len: u8,
}

impl Ipv4Cidr {
    /// `address/prefix_len`; the address keeps its host bits (use [`network`](Self::network)
    /// to clear them).
    ///
    /// # Panics
    /// If `prefix_len` is over 32.
    #[must_use]
    pub const fn new(address: Ipv4Addr, prefix_len: u8) -> Self {
        assert!(prefix_len <= 32, "IPv4 prefix length over 32");
        Self {
            address,
            prefix_len,
        }
    }

    /// `address/prefix_len`, or `None` if the prefix length is over 32.
    #[must_use]
    pub const fn try_new(address: Ipv4Addr, prefix_len: u8) -> Option<Self> {
        if prefix_len > 32 {
            None
        } else {
            Some(Self::new(address, prefix_len))
        }
    }

    /// The address.
    #[must_use]
    pub const fn address(&self) -> Ipv4Addr {
        self.address
    }

    /// The prefix length, 0 to 32.
    #[must_use]
    pub const fn prefix_len(&self) -> u8 {
        self.prefix_len
    }

    /// The netmask as a number (`/24` → `0xffffff00`).
    const fn mask(&self) -> u32 {
        if self.prefix_len == 0 {
            0
        } else {
            u32::MAX << (32 - self.prefix_len)
        }
    }

    /// The netmask (`/24` → `255.255.255.0`).
    #[must_use]
    pub const fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from_bits(self.mask())
    }

    /// The network: the address with its host bits cleared, same prefix length.
    #[must_use]
    pub const fn network(&self) -> Self {
        Self {
            address: Ipv4Addr::from_bits(self.address.to_bits() & self.mask()),
            prefix_len: self.prefix_len,
        }
    }

    /// The directed broadcast address, or `None` for `/31` and `/32`, which have none (as
    /// `ip addr` shows them).
    #[must_use]
    pub const fn broadcast(&self) -> Option<Ipv4Addr> {
        if self.prefix_len >= 31 {
            None
        } else {
            Some(Ipv4Addr::from_bits(self.address.to_bits() | !self.mask()))
        }
    }

    /// Whether `addr` is inside this prefix.
    #[must_use]
    pub const fn contains(&self, addr: Ipv4Addr) -> bool {
        (addr.to_bits() ^ self.address.to_bits()) & self.mask() == 0
    }

    /// Whether all of `other` is inside this prefix.
    #[must_use]
    pub const fn contains_subnet(&self, other: &Self) -> bool {
        other.prefix_len >= self.prefix_len && self.contains(other.address)
    }
}

impl fmt::Display for Ipv4Cidr {
    /// `10.0.0.2/24`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl fmt::Debug for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why an `a.b.c.d/n` text is not a CIDR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrParseError {
    /// No `/`.
    #[error("`{0}` has no prefix length; expected an address and a prefix such as `10.0.0.1/24`")]
    MissingPrefix(String),
    /// The address part is not an IPv4 address.
    #[error("`{0}` is not an IPv4 address")]
    BadAddr(String),
    /// The prefix is not a number in 0..=32.
    #[error("prefix length `{0}` is not a number from 0 to 32")]
    BadPrefix(String),
}

impl FromStr for Ipv4Cidr {
    type Err = CidrParseError;

    /// Accepts `10.0.0.2/24` (the prefix length is required).
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        let (a, p) = s
            .split_once('/')
            .ok_or_else(|| CidrParseError::MissingPrefix(s.to_string()))?;
        let address = a
            .parse::<Ipv4Addr>()
            .map_err(|_| CidrParseError::BadAddr(a.to_string()))?;
        let digits = !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit());
        let prefix_len = p
            .parse::<u8>()
            .ok()
            .filter(|len| digits && *len <= 32)
            .ok_or_else(|| CidrParseError::BadPrefix(p.to_string()))?;
        Ok(Self::new(address, prefix_len))
    }
}

impl serde::Serialize for Ipv4Cidr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Ipv4Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::hex;
    use proptest::prelude::*;

    /// client.pcap frame 3 (the A query), IP header and payload.
    const DNS_QUERY_IP: &str = "45000037344f40004011f1300a0000020a000135\
        a325003500234269c39b0100000100000000000005626169647503636f6d0000010001";

    #[test]
    fn reference_header_parses_and_reemits_identically() {
        let bytes = hex(DNS_QUERY_IP);
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        let repr = Ipv4Repr::parse(&packet).unwrap();
        assert_eq!(
            repr,
            Ipv4Repr {
                src_addr: Ipv4Addr::new(10, 0, 0, 2),
                dst_addr: Ipv4Addr::new(10, 0, 1, 53),
                protocol: IpProtocol::Udp,
                payload_len: 35,
                ttl: 64,
                dscp_ecn: 0,
                ident: 0x344f,
                dont_frag: true,
                more_frags: false,
                frag_offset: 0,
            }
        );
        assert_eq!(packet.payload().len(), 35);
        let mut out = [0u8; 20];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], &bytes[..20]);
    }

    #[test]
    fn forwarding_reference_frame() {
        // The router forwarded the A response: TTL 64 → 63, checksum 0x4fc1 → 0x50c1
        // (client.pcap frame 5 carries the TTL-63 version).
        let mut before = hex("45000047d5ae40004011 4fc1 0a0001350a000002");
        let after = hex("45000047d5ae40003f1150c10a0001350a000002");
        let mut p = Ipv4Packet::new_unchecked(&mut before[..]);
        assert!(p.verify_checksum());
        assert_eq!(p.decrement_ttl(), 63);
        assert_eq!(&before[..], &after[..]);
    }

    #[test]
    fn errors() {
        let good = hex(DNS_QUERY_IP);
        let parse = |b: &[u8]| Ipv4Repr::parse(&Ipv4Packet::new_unchecked(b));
        assert_eq!(parse(&good[..19]), Err(Error::Truncated));
        assert_eq!(parse(&good[..54]), Err(Error::Truncated));
        let mut b = good.clone();
        b[0] = 0x65;
        assert_eq!(parse(&b), Err(Error::BadVersion));
        b[0] = 0x44;
        assert_eq!(parse(&b), Err(Error::BadHeaderLength));
        b[0] = 0x4f; // 60-byte header in a 55-byte buffer
        assert_eq!(parse(&b[..40]), Err(Error::Truncated));
        let mut b = good.clone();
        b[2] = 0;
        b[3] = 19;
        assert_eq!(parse(&b), Err(Error::BadTotalLength));
        let mut b = good.clone();
        b[8] = 1; // TTL changed, checksum not updated
        assert_eq!(parse(&b), Err(Error::BadChecksum));
        // Padding after the datagram is fine and not part of the payload.
        let mut b = good;
        b.extend_from_slice(&[0; 6]);
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Ipv4Repr::parse(&p).unwrap().payload_len, 35);
        assert_eq!(p.payload().len(), 35);
    }

    #[test]
    fn options_are_skipped() {
        // A 24-byte header with one NOP option padded by EOLs.
        let mut b = [0u8; 24 + 4];
        b[0] = 0x46;
        b[3] = 28;
        b[8] = 64;
        b[9] = 17;
        b[20] = 1; // NOP
        b[24..].copy_from_slice(&[1, 2, 3, 4]);
        let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
        p.fill_checksum();
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.options(), &[1, 0, 0, 0]);
        assert_eq!(p.payload(), &[1, 2, 3, 4]);
        assert_eq!(Ipv4Repr::parse(&p).unwrap().payload_len, 4);
    }

    #[test]
    fn cidr() {
        let c: Ipv4Cidr = "10.0.0.2/24".parse().unwrap();
        assert_eq!(c.to_string(), "10.0.0.2/24");
        assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(c.network().to_string(), "10.0.0.0/24");
        assert_eq!(c.broadcast(), Some(Ipv4Addr::new(10, 0, 0, 255)));
        assert!(c.contains(Ipv4Addr::new(10, 0, 0, 1)));
        assert!(!c.contains(Ipv4Addr::new(10, 0, 1, 1)));
        let all: Ipv4Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(Ipv4Addr::new(8, 8, 8, 8)));
        assert_eq!(all.netmask(), Ipv4Addr::UNSPECIFIED);
        assert!(all.contains_subnet(&c) && !c.contains_subnet(&all));
        let host: Ipv4Cidr = "10.0.1.53/32".parse().unwrap();
        assert!(
            "10.0.1.53".parse::<Ipv4Cidr>().is_err(),
            "the prefix length is required"
        );
        assert!("10.0.0.1/33".parse::<Ipv4Cidr>().is_err());
        assert_eq!(host.prefix_len(), 32);
        assert_eq!(host.broadcast(), None);
        assert!(host.contains(Ipv4Addr::new(10, 0, 1, 53)));
        assert!(!host.contains(Ipv4Addr::new(10, 0, 1, 54)));
        for bad in [
            "10.0.0.2/33",
            "10.0.0.2/",
            "10.0.0/24",
            "10.0.0.2/+4",
            "x/1",
        ] {
            assert!(bad.parse::<Ipv4Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn cidr_serde_from_string() {
        use serde::Deserialize;
        use serde::de::IntoDeserializer;
        use serde::de::value::{Error as DeError, StrDeserializer};
        let d: StrDeserializer<'_, DeError> = "10.0.1.0/24".into_deserializer();
        let c = Ipv4Cidr::deserialize(d).unwrap();
        assert_eq!(c, Ipv4Cidr::new(Ipv4Addr::new(10, 0, 1, 0), 24));
    }

    pub(crate) fn arb_repr() -> impl Strategy<Value = Ipv4Repr> {
        (
            any::<[u8; 4]>(),
            any::<[u8; 4]>(),
            any::<u8>(),
            0usize..2000,
            any::<u8>(),
            any::<u8>(),
            any::<u16>(),
            any::<(bool, bool)>(),
            0u16..8192,
        )
            .prop_map(|(s, d, p, len, ttl, tos, id, (df, mf), off)| Ipv4Repr {
                src_addr: Ipv4Addr::from(s),
                dst_addr: Ipv4Addr::from(d),
                protocol: IpProtocol::from(p),
                payload_len: len,
                ttl,
                dscp_ecn: tos,
                ident: id,
                dont_frag: df,
                more_frags: mf,
                frag_offset: off * 8,
            })
    }

    proptest! {
        #[test]
        fn roundtrip(repr in arb_repr()) {
            let mut buf = vec![0xa5u8; repr.total_len()];
            repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
            let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Ipv4Repr::parse(&p).unwrap(), repr);
            // The payload area was left alone.
            prop_assert!(p.payload().iter().all(|&b| b == 0xa5));
        }

        #[test]
        fn etherparse_agrees(repr in arb_repr()) {
            let mut buf = vec![0u8; repr.total_len()];
            repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
            let (h, _) = etherparse::Ipv4Header::from_slice(&buf).unwrap();
            prop_assert_eq!(h.source, repr.src_addr.octets());
            prop_assert_eq!(h.destination, repr.dst_addr.octets());
            prop_assert_eq!(h.protocol.0, u8::from(repr.protocol));
            prop_assert_eq!(usize::from(h.total_len), repr.total_len());
            prop_assert_eq!(h.time_to_live, repr.ttl);
            prop_assert_eq!(h.identification, repr.ident);
            prop_assert_eq!(h.dont_fragment, repr.dont_frag);
            prop_assert_eq!(h.more_fragments, repr.more_frags);
            prop_assert_eq!(h.fragment_offset.value() * 8, repr.frag_offset);
            prop_assert_eq!((h.dscp.value() << 2) | h.ecn.value(), repr.dscp_ecn);
            prop_assert_eq!(h.header_checksum, h.calc_header_checksum());
        }

        #[test]
        fn decrement_ttl_matches_recompute(repr in arb_repr()) {
            prop_assume!(repr.ttl > 0);
            let mut buf = vec![0u8; repr.total_len()];
            repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
            let mut p = Ipv4Packet::new_unchecked(&mut buf[..]);
            p.decrement_ttl();
            let incremental = p.checksum();
            p.fill_checksum();
            prop_assert_eq!(incremental, p.checksum());
        }

        #[test]
        fn protocol_numbers_round_trip(n in any::<u8>()) {
            let p = IpProtocol::from(n);
            prop_assert_eq!(u8::from(p), n);
            prop_assert_eq!(p.name().is_none(), !matches!(n, 0 | 1 | 6 | 17 | 43 | 44 | 58..=60));
            prop_assert_eq!(format!("{p:?}").starts_with("Unknown("), p.name().is_none());
        }

        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..80)) {
            let p = Ipv4Packet::new_unchecked(&buf[..]);
            let _ = Ipv4Repr::parse(&p);
            if let Ok(p) = Ipv4Packet::new_checked(&buf[..]) {
                let _ = (p.payload(), p.options(), p.verify_checksum(), p.frag_offset());
            }
        }

        #[test]
        fn parse_never_panics_near_valid(
            repr in arb_repr(), idx in 0usize..20, val in any::<u8>(), cut in 0usize..40,
        ) {
            let mut buf = vec![0u8; repr.total_len()];
            repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
            buf[idx] = val;
            buf.truncate(buf.len().saturating_sub(cut));
            let _ = Ipv4Repr::parse(&Ipv4Packet::new_unchecked(&buf[..]));
        }

        #[test]
        fn cidr_contains_matches_network(a in any::<u32>(), b in any::<u32>(), len in 0u8..=32) {
            let c = Ipv4Cidr::new(Ipv4Addr::from_bits(a), len);
            let other = Ipv4Addr::from_bits(b);
            let same = Ipv4Cidr::new(other, len).network() == c.network();
            prop_assert_eq!(c.contains(other), same);
            prop_assert_eq!(c.to_string().parse::<Ipv4Cidr>().unwrap(), c);
        }
    }
}
