//! Header formats: zero-copy views, plain representations, builders, parsers and checksums
//! for every protocol the simulated hosts put on the wire.
//!
//! One file per protocol, in smoltcp's `wire/` style:
//!
//! | module        | view (`T: AsRef<[u8]>`) | plain values                       |
//! |---------------|-------------------------|------------------------------------|
//! | [`ethernet`]  | [`EthernetFrame`]       | [`EthernetRepr`], [`EthernetAddress`] |
//! | [`arp`]       | [`ArpPacket`]           | [`ArpRepr`]                        |
//! | [`ipv4`]      | [`Ipv4Packet`]          | [`Ipv4Repr`], [`Ipv4Cidr`], [`IpProtocol`] |
//! | [`ipv6`]      | [`Ipv6Packet`]          | [`Ipv6Repr`], [`Ipv6FragRepr`], [`ExtWalk`], [`Ipv6Cidr`] |
//! | [`icmp`]      | [`Icmpv4Packet`]        | [`Icmpv4Repr`]                     |
//! | [`icmpv6`]    | [`Icmpv6Packet`]        | [`Icmpv6Repr`], [`NdiscRepr`], [`MldRepr`], [`MldRecord`] |
//! | [`udp`]       | [`UdpPacket`]           | [`UdpRepr`]                        |
//! | [`tcp`]       | [`TcpPacket`]           | [`TcpRepr`], [`TcpOption`], [`TcpOptions`], [`TcpFlags`] |
//! | [`dns`]       | —                       | [`DnsRepr`] (with the builders [`DnsRepr::query`], [`DnsRepr::response`]), [`DnsName`] |
//!
//! plus [`checksum`] (RFC 1071 sums, the IPv4 and IPv6 pseudo-headers, RFC 1624 updates) and [`summarize`]
//! (a tcpdump-like one-line description of a frame, for the text trace).
//!
//! # Views, and when they panic
//!
//! A view wraps a byte buffer and reads or writes fields in place.
//! * `new_unchecked(buffer)` never panics, but then any accessor may panic if the buffer is
//!   shorter than the field it reads.
//! * `new_checked(buffer)` (or `check_len()` on an unchecked view) verifies the lengths —
//!   the fixed header, and every length field against the buffer — and returns
//!   [`Error::Truncated`] (or a more precise error) otherwise. **After `new_checked`
//!   succeeds, no getter and no payload accessor panics, whatever the bytes are** — as long
//!   as no setter has since changed a length field (IHL, total length, data offset, UDP
//!   length) to something the buffer does not hold.
//! * `Repr::parse` never panics on any input: it runs the same checks itself and also
//!   validates values (version, checksum, option syntax). Property tests feed every parser
//!   random bytes.
//!
//! # Emitting, and headroom
//!
//! `Repr::emit` writes into a caller-provided view and never allocates. It panics if the
//! buffer is shorter than `Repr::buffer_len()` (or `header_len()`): sizing the buffer is the
//! caller's job, and a wrong size is a bug, not an input error.
//!
//! Emitting a header **never writes the payload area**, so headers are pushed in front of a
//! payload that is already in place, as the kernel does with `skb_push`. UDP and TCP compute
//! their checksum over the payload they find after the header, so put the payload first:
//!
//! ```
//! use core::net::Ipv4Addr;
//! use sim_stack::wire::*;
//!
//! let (src, dst) = (Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 1, 80));
//! let tcp = TcpRepr {
//!     src_port: 37200, dst_port: 80, seq: 1, ack: 1,
//!     flags: TcpFlags::PSH | TcpFlags::ACK, window: 63, urgent: 0,
//!     options: TcpOptions::new(&[TcpOption::NoOp, TcpOption::NoOp,
//!         TcpOption::Timestamp { tsval: 7, tsecr: 3 }]).unwrap(),
//! };
//! let payload = b"GET / HTTP/1.1\r\n\r\n";
//! let headroom = 14 + 20 + tcp.header_len();
//! let mut buf = vec![0u8; headroom + payload.len()];
//! buf[headroom..].copy_from_slice(payload);          // the payload is already in place
//!
//! let mut at = headroom - tcp.header_len();          // push TCP (fills its checksum)
//! tcp.emit(&mut TcpPacket::new_unchecked(&mut buf[at..]), src, dst, payload.len());
//! let ip = Ipv4Repr {
//!     src_addr: src, dst_addr: dst, protocol: IpProtocol::Tcp,
//!     payload_len: tcp.header_len() + payload.len(), ttl: 64, dscp_ecn: 0,
//!     ident: 0xfa1c, dont_frag: true, more_frags: false, frag_offset: 0,
//! };
//! at -= ip.buffer_len();                             // push IPv4
//! ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[at..]));
//! let eth = EthernetRepr {
//!     src_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
//!     dst_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
//!     ethertype: EtherType::Ipv4,
//! };
//! at -= eth.buffer_len();                            // push Ethernet
//! eth.emit(&mut EthernetFrame::new_unchecked(&mut buf[at..]));
//! assert_eq!(at, 0);
//! assert_eq!(
//!     summary(&buf),
//!     "IP 10.0.0.2.37200 > 10.0.1.80.80: Flags [P.], seq 1:19, ack 1, win 63, \
//!      options [nop,nop,TS val 7 ecr 3], length 18",
//! );
//! ```
//!
//! The UDP and TCP views handed to `emit` must span header *and* payload (the checksum needs
//! both). With an skb whose `push(n)` returns only the new header bytes, push first and then
//! wrap the whole data area: `skb.push(tcp.header_len()); tcp.emit(&mut
//! TcpPacket::new_unchecked(skb.data_mut()), src, dst, payload_len)`. Ethernet, IPv4 and ARP
//! headers need only their own bytes: `eth.emit(&mut EthernetFrame::new_unchecked(skb.push(14)))`.
//!
//! Payloads inside a [`Icmpv4Repr`] (echo data, the quoted datagram) are borrowed slices and
//! are copied by `emit`; DNS messages are built whole by their builders.
//!
//! # Errors
//!
//! One small [`Error`] enum serves every parser; each function's documentation lists the
//! variants it returns. The IPv4 ones map to the Linux counters the receive path bumps
//! (`Truncated` → `InTruncatedPkts`, `BadVersion`/`BadHeaderLength`/`BadTotalLength` →
//! `InHdrErrors`, `BadChecksum` → `InCsumErrors`).

pub mod arp;
pub mod checksum;
pub mod dns;
pub mod ethernet;
pub mod icmp;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
mod summary;
pub mod tcp;
pub mod udp;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use checksum::PseudoHeader;
pub use dns::{
    DnsFlags, DnsName, DnsOpcode, DnsQuestion, DnsRcode, DnsRecord, DnsRepr, DnsType, RData,
};
pub use ethernet::{
    EtherType, EthernetAddress, EthernetFrame, EthernetRepr, ParseEthernetAddressError,
};
pub use icmp::{DstUnreachable, Icmpv4Message, Icmpv4Packet, Icmpv4Repr, TimeExceeded};
pub use icmpv6::{
    Icmpv6Message, Icmpv6Packet, Icmpv6Repr, MldRecord, MldRecords, MldRepr, NdiscNeighborFlags,
    NdiscPrefixInfo, NdiscRepr,
};
pub use ipv4::{CidrParseError, IpProtocol, Ipv4Cidr, Ipv4Packet, Ipv4Repr};
pub use ipv6::{Cidr6ParseError, ExtWalk, Ipv6Cidr, Ipv6FragRepr, Ipv6Packet, Ipv6Repr};
pub use summary::{summarize, summary, write_ip_summary, write_summary};
pub use tcp::{SackBlocks, TcpFlags, TcpOption, TcpOptions, TcpOptionsIter, TcpPacket, TcpRepr};
pub use udp::{UdpPacket, UdpRepr};

/// Why a buffer could not be parsed (or, for the builders, filled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum Error {
    /// The buffer is shorter than a fixed header, or than a length field says.
    #[error("truncated: the buffer is shorter than the header or its length field")]
    Truncated,
    /// The IP version field is wrong: not 4 in an IPv4 header, not 6 in an IPv6 header.
    #[error("IP version field is wrong")]
    BadVersion,
    /// A header-length field (IPv4 IHL, TCP data offset) is below the minimum. (One beyond
    /// the buffer is [`Error::Truncated`].)
    #[error("header length field is below the minimum")]
    BadHeaderLength,
    /// The IPv4 total length is smaller than the header.
    #[error("IPv4 total length is smaller than the header")]
    BadTotalLength,
    /// A length field that is not a header length (UDP length, ARP address sizes, DNS
    /// RDLENGTH) disagrees with the format.
    #[error("a length field is invalid")]
    BadLength,
    /// A checksum does not verify.
    #[error("bad checksum")]
    BadChecksum,
    /// Options are malformed: a TCP option length below 2 or past the header, an IPv6
    /// Hop-by-Hop option past its header, a neighbour discovery option of length 0 or past
    /// the message (RFC 4861 §4.6).
    #[error("malformed option")]
    BadOption,
    /// TCP options to emit need more than 40 bytes.
    #[error("TCP options need more than 40 bytes")]
    OptionsTooLong,
    /// An ARP packet is not Ethernet/IPv4.
    #[error("ARP hardware or protocol type is not Ethernet/IPv4")]
    Unsupported,
    /// A DNS name is malformed: a label over 63 bytes, a name over 255 bytes, a compression
    /// pointer that does not point backwards, or a reserved label type.
    #[error("malformed DNS name")]
    BadName,
    /// The output buffer is too small for the message being built.
    #[error("output buffer too small")]
    NoSpace,
}

/// The result of parsing.
pub type Result<T> = core::result::Result<T, Error>;

/// A byte range of a header field.
pub(crate) type Field = core::ops::Range<usize>;

/// A big-endian `u16` from the first two bytes of `b`.
#[inline]
pub(crate) fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

/// A big-endian `u32` from the first four bytes of `b`.
#[inline]
pub(crate) fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Writes `v` big-endian into the first two bytes of `b`.
#[inline]
pub(crate) fn put16(b: &mut [u8], v: u16) {
    b[..2].copy_from_slice(&v.to_be_bytes());
}

/// Writes `v` big-endian into the first four bytes of `b`.
#[inline]
pub(crate) fn put32(b: &mut [u8], v: u32) {
    b[..4].copy_from_slice(&v.to_be_bytes());
}

/// An IPv4 address from the first four bytes of `b`.
#[inline]
pub(crate) fn ipv4_addr(b: &[u8]) -> core::net::Ipv4Addr {
    core::net::Ipv4Addr::new(b[0], b[1], b[2], b[3])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use core::net::Ipv4Addr;
    use proptest::prelude::*;

    /// Builds a whole frame the way the stack does: payload first, then each header pushed
    /// in front of it; optionally padded to 60 bytes like a physical NIC.
    fn build_frame(kind: u8, payload: &[u8], ports: (u16, u16), seq: u32, pad: bool) -> Vec<u8> {
        let (src, dst) = (Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 1, 80));
        let tcp = TcpRepr {
            src_port: ports.0,
            dst_port: ports.1,
            seq,
            ack: seq ^ 0x5555_5555,
            flags: TcpFlags::ACK | TcpFlags::PSH,
            window: 501,
            urgent: 0,
            options: TcpOptions::new(&[
                TcpOption::NoOp,
                TcpOption::NoOp,
                TcpOption::Timestamp {
                    tsval: seq,
                    tsecr: 1,
                },
            ])
            .unwrap(),
        };
        let icmp = Icmpv4Repr::EchoRequest {
            ident: ports.0,
            seq_no: ports.1,
            data: payload,
        };
        let (protocol, l4_len) = match kind {
            0 => (IpProtocol::Udp, udp::HEADER_LEN + payload.len()),
            1 => (IpProtocol::Tcp, tcp.header_len() + payload.len()),
            _ => (IpProtocol::Icmp, icmp.buffer_len()),
        };
        let headroom = ethernet::HEADER_LEN + ipv4::HEADER_LEN;
        let mut buf = vec![0u8; (headroom + l4_len).max(ethernet::MIN_FRAME_LEN)];
        let l4 = &mut buf[headroom..headroom + l4_len];
        match kind {
            0 => {
                l4[udp::HEADER_LEN..].copy_from_slice(payload);
                UdpRepr {
                    src_port: ports.0,
                    dst_port: ports.1,
                }
                .emit(&mut UdpPacket::new_unchecked(l4), src, dst, payload.len());
            }
            1 => {
                l4[tcp.header_len()..].copy_from_slice(payload);
                tcp.emit(&mut TcpPacket::new_unchecked(l4), src, dst, payload.len());
            }
            _ => icmp.emit(&mut Icmpv4Packet::new_unchecked(l4)),
        }
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol,
            payload_len: l4_len,
            ttl: 64,
            dscp_ecn: 0,
            ident: seq as u16,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        };
        ip.emit(&mut Ipv4Packet::new_unchecked(
            &mut buf[ethernet::HEADER_LEN..],
        ));
        EthernetRepr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            ethertype: EtherType::Ipv4,
        }
        .emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
        let len = headroom + l4_len;
        let len = if pad {
            ethernet::pad_to_min(&mut buf, len)
        } else {
            len
        };
        buf.truncate(len);
        buf
    }

    proptest! {
        /// Whole frames, padded or not, decode in etherparse with the same fields and with
        /// every checksum verifying.
        #[test]
        fn frames_decode_in_etherparse(
            kind in 0u8..3, payload in proptest::collection::vec(any::<u8>(), 0..100),
            ports in any::<(u16, u16)>(), seq in any::<u32>(), pad in any::<bool>(),
        ) {
            use etherparse::{LinkHeader, NetHeaders, TransportHeader};
            // Avoid port 53 so UDP payloads are not read as DNS by the summary check below.
            let ports = (ports.0 | 0x8000, ports.1 | 0x8000);
            let frame = build_frame(kind, &payload, ports, seq, pad);
            let h = etherparse::PacketHeaders::from_ethernet_slice(&frame).unwrap();
            let Some(LinkHeader::Ethernet2(eth)) = h.link else { panic!("no Ethernet header") };
            prop_assert_eq!(eth.source, [2, 0, 0, 0, 0, 2]);
            prop_assert_eq!(eth.ether_type.0, 0x0800);
            let Some(NetHeaders::Ipv4(ip, _)) = h.net else { panic!("no IPv4 header") };
            prop_assert_eq!(ip.header_checksum, ip.calc_header_checksum());
            prop_assert_eq!(ip.destination, [10, 0, 1, 80]);
            let body = h.payload.slice();
            prop_assert_eq!(body, &payload[..]);
            match h.transport {
                Some(TransportHeader::Udp(u)) => {
                    prop_assert_eq!(kind, 0);
                    prop_assert_eq!((u.source_port, u.destination_port), ports);
                    prop_assert_eq!(u.checksum, u.calc_checksum_ipv4(&ip, body).unwrap());
                }
                Some(TransportHeader::Tcp(t)) => {
                    prop_assert_eq!(kind, 1);
                    prop_assert_eq!((t.source_port, t.destination_port), ports);
                    prop_assert_eq!(t.sequence_number, seq);
                    prop_assert_eq!(t.checksum, t.calc_checksum_ipv4(&ip, body).unwrap());
                }
                Some(TransportHeader::Icmpv4(i)) => {
                    prop_assert_eq!(kind, 2);
                    prop_assert_eq!(i.checksum, i.icmp_type.calc_checksum(body));
                }
                other => panic!("unexpected transport {other:?}"),
            }
            let line = summary(&frame);
            prop_assert!(!line.contains("[|"), "{}", line);
        }
    }

    /// Bytes from a hex string (whitespace allowed), for test vectors.
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        assert!(digits.len() % 2 == 0, "odd number of hex digits");
        digits
            .chunks(2)
            .map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }
}
