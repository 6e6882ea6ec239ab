//! ICMPv4 (RFC 792): echo request and reply, destination unreachable (with the next-hop MTU
//! of RFC 1191 for "fragmentation needed"), and time exceeded.
//!
//! Error messages quote the datagram that caused them: its IP header and at least the first 8
//! bytes after it (RFC 792). Linux quotes more — as much of the original as fits in a 576-byte
//! ICMP datagram, see [`linux_quote`]. [`parse_quoted`] reads a quote back.

use core::net::Ipv4Addr;

use super::ipv4::{self, IpProtocol, Ipv4Packet, Ipv4Repr};
use super::{Error, Result, be16, checksum, put16};

/// The ICMP message type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Icmpv4Message {
    /// 0.
    EchoReply,
    /// 3.
    DstUnreachable,
    /// 5.
    Redirect,
    /// 8.
    EchoRequest,
    /// 11.
    TimeExceeded,
    /// 12.
    ParamProblem,
    /// Any other type.
    Unknown(u8),
}

impl From<u8> for Icmpv4Message {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::EchoReply,
            3 => Self::DstUnreachable,
            5 => Self::Redirect,
            8 => Self::EchoRequest,
            11 => Self::TimeExceeded,
            12 => Self::ParamProblem,
            other => Self::Unknown(other),
        }
    }
}

impl From<Icmpv4Message> for u8 {
    fn from(v: Icmpv4Message) -> Self {
        match v {
            Icmpv4Message::EchoReply => 0,
            Icmpv4Message::DstUnreachable => 3,
            Icmpv4Message::Redirect => 5,
            Icmpv4Message::EchoRequest => 8,
            Icmpv4Message::TimeExceeded => 11,
            Icmpv4Message::ParamProblem => 12,
            Icmpv4Message::Unknown(other) => other,
        }
    }
}

/// The code of a destination-unreachable message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DstUnreachable {
    /// 0: no route to the network.
    NetUnreachable,
    /// 1: the host did not answer ARP (Linux: `EHOSTUNREACH` at the sender).
    HostUnreachable,
    /// 2: no such transport protocol.
    ProtoUnreachable,
    /// 3: no socket on the port.
    PortUnreachable,
    /// 4: DF set and the packet exceeds the next hop's MTU; the message carries that MTU.
    FragRequired,
    /// Any other code (source route failed, administratively prohibited, …).
    Other(u8),
}

impl From<u8> for DstUnreachable {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::NetUnreachable,
            1 => Self::HostUnreachable,
            2 => Self::ProtoUnreachable,
            3 => Self::PortUnreachable,
            4 => Self::FragRequired,
            other => Self::Other(other),
        }
    }
}

impl From<DstUnreachable> for u8 {
    fn from(v: DstUnreachable) -> Self {
        match v {
            DstUnreachable::NetUnreachable => 0,
            DstUnreachable::HostUnreachable => 1,
            DstUnreachable::ProtoUnreachable => 2,
            DstUnreachable::PortUnreachable => 3,
            DstUnreachable::FragRequired => 4,
            DstUnreachable::Other(other) => other,
        }
    }
}

/// The code of a time-exceeded message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimeExceeded {
    /// 0: the TTL reached zero in transit (a router's `ip_forward`).
    TtlExpired,
    /// 1: fragment reassembly timed out.
    FragReassembly,
    /// Any other code.
    Other(u8),
}

impl From<u8> for TimeExceeded {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::TtlExpired,
            1 => Self::FragReassembly,
            other => Self::Other(other),
        }
    }
}

impl From<TimeExceeded> for u8 {
    fn from(v: TimeExceeded) -> Self {
        match v {
            TimeExceeded::TtlExpired => 0,
            TimeExceeded::FragReassembly => 1,
            TimeExceeded::Other(other) => other,
        }
    }
}

/// The ICMP header length (type, code, checksum, and the 4 type-specific bytes).
pub const HEADER_LEN: usize = 8;

/// The most of the original datagram Linux quotes in an error: `icmp_send` sizes the error
/// to at most 576 bytes, less its own IP (20) and ICMP (8) headers.
pub const LINUX_MAX_QUOTE: usize = 576 - ipv4::HEADER_LEN - HEADER_LEN;

mod field {
    use crate::wire::Field;
    pub(super) const TYPE: usize = 0;
    pub(super) const CODE: usize = 1;
    pub(super) const CHECKSUM: Field = 2..4;
    pub(super) const ECHO_IDENT: Field = 4..6;
    pub(super) const ECHO_SEQNO: Field = 6..8;
    pub(super) const UNUSED: Field = 4..6;
    pub(super) const MTU: Field = 6..8;
    pub(super) const DATA: usize = 8;
}

/// A zero-copy view of an ICMPv4 message. The buffer is the whole message (the IP payload):
/// the checksum covers all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmpv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv4Packet<T> {
    /// Wraps a buffer without checks; accessors panic if it is shorter than [`HEADER_LEN`].
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    ///
    /// # Errors
    /// [`Error::Truncated`] if shorter than [`HEADER_LEN`].
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the 8-byte header.
    ///
    /// # Errors
    /// [`Error::Truncated`] if it does not.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// The message type.
    pub fn msg_type(&self) -> Icmpv4Message {
        Icmpv4Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// The code.
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// The identifier of an echo message.
    pub fn echo_ident(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::ECHO_IDENT])
    }

    /// The sequence number of an echo message.
    pub fn echo_seq_no(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::ECHO_SEQNO])
    }

    /// The next-hop MTU of a "fragmentation needed" message (0 from routers older than
    /// RFC 1191).
    pub fn next_hop_mtu(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::MTU])
    }

    /// Everything after the 8-byte header: echo data, or the quoted datagram of an error.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[field::DATA..]
    }

    /// Whether the checksum over the whole message verifies.
    pub fn verify_checksum(&self) -> bool {
        checksum::data(self.buffer.as_ref()) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv4Packet<T> {
    /// Sets the type.
    pub fn set_msg_type(&mut self, value: Icmpv4Message) {
        self.buffer.as_mut()[field::TYPE] = value.into();
    }

    /// Sets the code.
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        put16(&mut self.buffer.as_mut()[field::CHECKSUM], value);
    }

    /// Sets the echo identifier.
    pub fn set_echo_ident(&mut self, value: u16) {
        put16(&mut self.buffer.as_mut()[field::ECHO_IDENT], value);
    }

    /// Sets the echo sequence number.
    pub fn set_echo_seq_no(&mut self, value: u16) {
        put16(&mut self.buffer.as_mut()[field::ECHO_SEQNO], value);
    }

    /// Sets the next-hop MTU and zeroes the unused half-word before it.
    pub fn set_next_hop_mtu(&mut self, value: u16) {
        put16(&mut self.buffer.as_mut()[field::UNUSED], 0);
        put16(&mut self.buffer.as_mut()[field::MTU], value);
    }

    /// The data after the header, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::DATA..]
    }

    /// Computes the checksum over the whole buffer and writes it.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::data(self.buffer.as_ref());
        self.set_checksum(!sum);
    }
}

/// An ICMPv4 message as plain values; the data is borrowed from the packet (parse) or from
/// the caller (emit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv4Repr<'a> {
    /// Echo request (`ping`).
    EchoRequest {
        /// Identifier (Linux: the ping socket's port).
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Payload, echoed back by the reply.
        data: &'a [u8],
    },
    /// Echo reply.
    EchoReply {
        /// Identifier copied from the request.
        ident: u16,
        /// Sequence number copied from the request.
        seq_no: u16,
        /// Payload copied from the request.
        data: &'a [u8],
    },
    /// Destination unreachable.
    DstUnreachable {
        /// Why.
        reason: DstUnreachable,
        /// The next-hop MTU for [`DstUnreachable::FragRequired`], 0 otherwise.
        next_hop_mtu: u16,
        /// The quoted datagram (IP header and leading payload bytes).
        data: &'a [u8],
    },
    /// Time exceeded.
    TimeExceeded {
        /// Why.
        reason: TimeExceeded,
        /// The quoted datagram.
        data: &'a [u8],
    },
}

impl<'a> Icmpv4Repr<'a> {
    /// Parses a message of one of the four modeled kinds and verifies its checksum.
    ///
    /// # Errors
    /// [`Error::Truncated`] if shorter than the header, [`Error::BadChecksum`], and
    /// [`Error::Unsupported`] for other message types (redirect, parameter problem, …).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Icmpv4Packet<&'a T>) -> Result<Self> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(Error::BadChecksum);
        }
        let data = &packet.buffer.as_ref()[field::DATA..];
        match packet.msg_type() {
            Icmpv4Message::EchoRequest => Ok(Self::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            Icmpv4Message::EchoReply => Ok(Self::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            Icmpv4Message::DstUnreachable => Ok(Self::DstUnreachable {
                reason: DstUnreachable::from(packet.msg_code()),
                next_hop_mtu: packet.next_hop_mtu(),
                data,
            }),
            Icmpv4Message::TimeExceeded => Ok(Self::TimeExceeded {
                reason: TimeExceeded::from(packet.msg_code()),
                data,
            }),
            _ => Err(Error::Unsupported),
        }
    }

    /// The data this message carries.
    #[must_use]
    pub const fn data(&self) -> &'a [u8] {
        match *self {
            Self::EchoRequest { data, .. }
            | Self::EchoReply { data, .. }
            | Self::DstUnreachable { data, .. }
            | Self::TimeExceeded { data, .. } => data,
        }
    }

    /// The message length: header plus data.
    #[must_use]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data().len()
    }

    /// Writes the header, copies the data after it, and fills the checksum over the first
    /// [`buffer_len`](Self::buffer_len) bytes (give a buffer of exactly that length, as the
    /// IP payload).
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Icmpv4Packet<T>) {
        let len = self.buffer_len();
        let mut p = Icmpv4Packet::new_unchecked(&mut packet.buffer.as_mut()[..len]);
        match *self {
            Self::EchoRequest { ident, seq_no, .. } | Self::EchoReply { ident, seq_no, .. } => {
                let kind = if matches!(self, Self::EchoRequest { .. }) {
                    Icmpv4Message::EchoRequest
                } else {
                    Icmpv4Message::EchoReply
                };
                p.set_msg_type(kind);
                p.set_msg_code(0);
                p.set_echo_ident(ident);
                p.set_echo_seq_no(seq_no);
            }
            Self::DstUnreachable {
                reason,
                next_hop_mtu,
                ..
            } => {
                p.set_msg_type(Icmpv4Message::DstUnreachable);
                p.set_msg_code(reason.into());
                p.set_next_hop_mtu(next_hop_mtu);
            }
            Self::TimeExceeded { reason, .. } => {
                p.set_msg_type(Icmpv4Message::TimeExceeded);
                p.set_msg_code(reason.into());
                p.set_next_hop_mtu(0);
            }
        }
        p.data_mut().copy_from_slice(self.data());
        p.fill_checksum();
    }
}

/// The part of `original` (a whole IP datagram) that Linux quotes in an ICMP error: all of
/// it, up to [`LINUX_MAX_QUOTE`] bytes.
#[must_use]
pub fn linux_quote(original: &[u8]) -> &[u8] {
    &original[..original.len().min(LINUX_MAX_QUOTE)]
}

/// The datagram quoted by an ICMP error, as `icmp_unreach` reads it to find the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quoted<'a> {
    /// The quoted IP header. `payload_len` is what its total length says, which is usually
    /// more than was quoted.
    pub header: Ipv4Repr,
    /// The quoted bytes after the IP header: at least 8 (ports, and TCP's sequence number).
    pub transport: &'a [u8],
}

/// Reads the datagram quoted by an ICMP error. The inner header checksum is not verified
/// (Linux does not either).
///
/// # Errors
/// [`Error::Truncated`] if fewer than the IP header and 8 more bytes were quoted,
/// [`Error::BadVersion`] or [`Error::BadHeaderLength`] for a header that is not IPv4.
pub fn parse_quoted(data: &[u8]) -> Result<Quoted<'_>> {
    if data.len() < ipv4::HEADER_LEN {
        return Err(Error::Truncated);
    }
    let inner = Ipv4Packet::new_unchecked(data);
    if inner.version() != 4 {
        return Err(Error::BadVersion);
    }
    let header_len = usize::from(inner.header_len());
    if header_len < ipv4::HEADER_LEN {
        return Err(Error::BadHeaderLength);
    }
    if data.len() < header_len + 8 {
        return Err(Error::Truncated);
    }
    let header = Ipv4Repr::read_fields(&inner);
    Ok(Quoted {
        header,
        transport: &data[header_len..],
    })
}

impl Quoted<'_> {
    /// The quoted source port (UDP and TCP put it first).
    #[must_use]
    pub fn src_port(&self) -> u16 {
        be16(&self.transport[0..2])
    }

    /// The quoted destination port.
    #[must_use]
    pub fn dst_port(&self) -> u16 {
        be16(&self.transport[2..4])
    }

    /// The quoted protocol.
    #[must_use]
    pub const fn protocol(&self) -> IpProtocol {
        self.header.protocol
    }

    /// The quoted destination address: who could not be reached.
    #[must_use]
    pub const fn dst_addr(&self) -> Ipv4Addr {
        self.header.dst_addr
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::hex;
    use proptest::prelude::*;

    #[test]
    fn echo_request_known_bytes() {
        // `ping -c1 -s 8` style: id 1, seq 1, 8 bytes of data 00..07.
        let data: Vec<u8> = (0..8).collect();
        let repr = Icmpv4Repr::EchoRequest {
            ident: 1,
            seq_no: 1,
            data: &data,
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
        // Checksum worked by hand: 0800 + 0001 + 0001 + 0001 + 0203 + 0405 + 0607 = 0x1412,
        // inverted 0xebed.
        assert_eq!(buf, hex("0800 ebed 0001 0001 0001020304050607"));
        assert_eq!(
            Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&buf[..]).unwrap()),
            Ok(repr)
        );
    }

    #[test]
    fn frag_needed_known_bytes() {
        // The first 28 bytes of client.pcap's SYN, quoted by a router with MTU 1400.
        let quote = hex("4500003cfa1a400040062b500a0000020a000150 91500050500dce22");
        let repr = Icmpv4Repr::DstUnreachable {
            reason: DstUnreachable::FragRequired,
            next_hop_mtu: 1400,
            data: &quote,
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..2], &[3, 4]);
        assert_eq!(&buf[4..8], &[0, 0, 0x05, 0x78]);
        assert_eq!(&buf[8..], &quote[..]);
        assert_eq!(checksum::data(&buf), 0xffff);
        let q = parse_quoted(&quote).unwrap();
        assert_eq!(q.dst_addr(), Ipv4Addr::new(10, 0, 1, 80));
        assert_eq!(q.protocol(), IpProtocol::Tcp);
        assert_eq!((q.src_port(), q.dst_port()), (37200, 80));
        assert_eq!(q.header.payload_len, 40);
        assert_eq!(parse_quoted(&quote[..27]), Err(Error::Truncated));
    }

    #[test]
    fn etherparse_agrees() {
        let quote = hex("4500003cfa1a400040062b500a0000020a000150 91500050500dce22");
        let cases: [(Icmpv4Repr<'_>, etherparse::Icmpv4Type); 4] = [
            (
                Icmpv4Repr::EchoRequest {
                    ident: 7,
                    seq_no: 9,
                    data: b"abc",
                },
                etherparse::Icmpv4Type::EchoRequest(etherparse::IcmpEchoHeader { id: 7, seq: 9 }),
            ),
            (
                Icmpv4Repr::EchoReply {
                    ident: 7,
                    seq_no: 9,
                    data: b"abc",
                },
                etherparse::Icmpv4Type::EchoReply(etherparse::IcmpEchoHeader { id: 7, seq: 9 }),
            ),
            (
                Icmpv4Repr::DstUnreachable {
                    reason: DstUnreachable::FragRequired,
                    next_hop_mtu: 1400,
                    data: &quote,
                },
                etherparse::Icmpv4Type::DestinationUnreachable(
                    etherparse::icmpv4::DestUnreachableHeader::FragmentationNeeded {
                        next_hop_mtu: 1400,
                    },
                ),
            ),
            (
                Icmpv4Repr::TimeExceeded {
                    reason: TimeExceeded::TtlExpired,
                    data: &quote,
                },
                etherparse::Icmpv4Type::TimeExceeded(
                    etherparse::icmpv4::TimeExceededCode::TtlExceededInTransit,
                ),
            ),
        ];
        for (repr, expected) in cases {
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
            let slice = etherparse::Icmpv4Slice::from_slice(&buf).unwrap();
            assert_eq!(slice.icmp_type(), expected);
            assert_eq!(slice.payload(), repr.data());
            let header = slice.header();
            assert_eq!(
                header.checksum,
                header.icmp_type.calc_checksum(slice.payload()),
                "{repr:?}"
            );
        }
    }

    #[test]
    fn unsupported_and_bad_checksum() {
        let mut buf = hex("0800 ebed 0001 0001 0001020304050607");
        buf[7] = 2;
        assert_eq!(
            Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&buf[..])),
            Err(Error::BadChecksum)
        );
        let mut redirect = [5u8, 0, 0, 0, 10, 0, 0, 1];
        let mut p = Icmpv4Packet::new_unchecked(&mut redirect[..]);
        p.fill_checksum();
        assert_eq!(
            Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&redirect[..])),
            Err(Error::Unsupported)
        );
    }

    #[test]
    fn linux_quote_is_bounded() {
        let big = vec![0u8; 1500];
        assert_eq!(linux_quote(&big).len(), 548);
        assert_eq!(linux_quote(&big[..60]).len(), 60);
    }

    fn make(kind: u8, a: u16, b: u16, code: u8, data: &[u8]) -> Icmpv4Repr<'_> {
        match kind {
            0 => Icmpv4Repr::EchoRequest {
                ident: a,
                seq_no: b,
                data,
            },
            1 => Icmpv4Repr::EchoReply {
                ident: a,
                seq_no: b,
                data,
            },
            2 => Icmpv4Repr::DstUnreachable {
                reason: DstUnreachable::from(code),
                next_hop_mtu: a,
                data,
            },
            _ => Icmpv4Repr::TimeExceeded {
                reason: TimeExceeded::from(code),
                data,
            },
        }
    }

    proptest! {
        #[test]
        fn roundtrip(
            kind in 0u8..4, a in any::<u16>(), b in any::<u16>(), code in any::<u8>(),
            data in proptest::collection::vec(any::<u8>(), 0..100),
        ) {
            let repr = make(kind, a, b, code, &data);
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
            prop_assert_eq!(Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&buf[..]).unwrap()), Ok(repr));
        }

        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Icmpv4Repr::parse(&Icmpv4Packet::new_unchecked(&buf[..]));
            let _ = parse_quoted(&buf);
        }
    }
}
