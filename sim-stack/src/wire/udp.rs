//! UDP (RFC 768) over IPv4 and IPv6, with the pseudo-header checksum.
//!
//! Checksumming is generic over the address family ([`PseudoHeader`]): the same calls take
//! two [`Ipv4Addr`](core::net::Ipv4Addr)s or two [`Ipv6Addr`](core::net::Ipv6Addr)s. A
//! computed checksum of 0 is sent as `0xffff` in both. A received 0 means "no checksum" over
//! IPv4, which is accepted without verifying as Linux does; over IPv6 the checksum is
//! mandatory (RFC 8200 §8.1) and a 0 fails verification, as in `udp6_csum_init`.

use super::checksum::PseudoHeader;
use super::{Error, Result, be16, checksum, put16};

/// The UDP header length.
pub const HEADER_LEN: usize = 8;
const PROTOCOL: u8 = 17;

mod field {
    use crate::wire::Field;
    pub(super) const SRC_PORT: Field = 0..2;
    pub(super) const DST_PORT: Field = 2..4;
    pub(super) const LENGTH: Field = 4..6;
    pub(super) const CHECKSUM: Field = 6..8;
}

/// A zero-copy view of a UDP datagram (header and payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    /// Wraps a buffer without checks; getters panic if it is shorter than [`HEADER_LEN`], and
    /// [`payload`](Self::payload) if the length field exceeds the buffer.
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

    /// Checks the header and the length field against the buffer. A buffer longer than the
    /// length field is fine (the rest is ignored, as `udp_rcv` trims it).
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than the header or the length field;
    /// [`Error::BadLength`] if the length field is below 8.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let field_len = usize::from(self.len());
        if field_len < HEADER_LEN {
            return Err(Error::BadLength);
        }
        if len < field_len {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::SRC_PORT])
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::DST_PORT])
    }

    /// The length field: header plus payload.
    pub fn len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// Whether the length field says there is no payload.
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    /// The checksum field (0: none was computed).
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// The payload, up to the length field.
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]
    }

    /// Whether the checksum verifies. A field of 0 always verifies over IPv4 (no checksum)
    /// and never over IPv6 (RFC 8200 §8.1).
    pub fn verify_checksum<A: PseudoHeader>(&self, src: A, dst: A) -> bool {
        if self.checksum() == 0 {
            return A::UDP_ZERO_CHECKSUM_OK;
        }
        let len = self.len();
        let data = &self.buffer.as_ref()[..usize::from(len)];
        checksum::combine(&[
            src.pseudo_header(dst, PROTOCOL, u32::from(len)),
            checksum::data(data),
        ]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    /// Sets the source port.
    pub fn set_src_port(&mut self, value: u16) {
        put16(&mut self.buffer.as_mut()[field::SRC_PORT], value);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, value: u16) {
        put16(&mut self.buffer.as_mut()[field::DST_PORT], value);
    }

    /// Sets the length field.
    pub fn set_len(&mut self, value: u16) {
        put16(&mut self.buffer.as_mut()[field::LENGTH], value);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        put16(&mut self.buffer.as_mut()[field::CHECKSUM], value);
    }

    /// Computes the checksum over the header and the payload (up to the length field) and
    /// writes it; a result of 0 is written as `0xffff`.
    pub fn fill_checksum<A: PseudoHeader>(&mut self, src: A, dst: A) {
        let payload_sum =
            checksum::data(&self.buffer.as_ref()[HEADER_LEN..usize::from(self.len())]);
        self.fill_checksum_with_payload_sum(src, dst, payload_sum);
    }

    /// [`UdpPacket::fill_checksum`] given the one's-complement sum of the payload
    /// ([`checksum::data`]), summed as it was copied in (`csum_and_copy_from_user`): only the
    /// header is read here. The payload must hold those bytes, up to the length field.
    pub fn fill_checksum_with_payload_sum<A: PseudoHeader>(
        &mut self,
        src: A,
        dst: A,
        payload_sum: u16,
    ) {
        self.set_checksum(0);
        let len = self.len();
        let csum = checksum::transport(
            src,
            dst,
            PROTOCOL,
            u32::from(len),
            &self.buffer.as_ref()[..HEADER_LEN],
            payload_sum,
        );
        self.set_checksum(if csum == 0 { 0xffff } else { csum });
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = usize::from(self.len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

/// A UDP header as plain values (the payload stays in the buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UdpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

impl UdpRepr {
    /// Parses a datagram carried from `src` to `dst` (IPv4 or IPv6) and verifies its checksum
    /// (unless it is 0 over IPv4; a 0 over IPv6 is [`Error::BadChecksum`]). The payload is `packet.payload()`.
    ///
    /// # Errors
    /// The errors of [`UdpPacket::check_len`], and [`Error::BadChecksum`].
    pub fn parse<T: AsRef<[u8]>, A: PseudoHeader>(
        packet: &UdpPacket<T>,
        src: A,
        dst: A,
    ) -> Result<Self> {
        Self::parse_rx(packet, src, dst, false)
    }

    /// [`UdpRepr::parse`] of a received datagram; `csum_unnecessary` (the NIC verified the
    /// checksum: `CHECKSUM_UNNECESSARY`) skips the software check.
    ///
    /// # Errors
    /// As [`UdpRepr::parse`].
    pub fn parse_rx<T: AsRef<[u8]>, A: PseudoHeader>(
        packet: &UdpPacket<T>,
        src: A,
        dst: A,
        csum_unnecessary: bool,
    ) -> Result<Self> {
        packet.check_len()?;
        if !csum_unnecessary && !packet.verify_checksum(src, dst) {
            return Err(Error::BadChecksum);
        }
        Ok(Self {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
        })
    }

    /// The header length, [`HEADER_LEN`].
    #[must_use]
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the header in front of the `payload_len` bytes of payload that follow it in the
    /// buffer (put there before or after the call, but before the checksum is needed: this
    /// call computes it, so the payload must be in place *before* it). The length field is
    /// `8 + payload_len`.
    ///
    /// # Panics
    /// If the buffer is shorter than `8 + payload_len`, or (debug builds) if that exceeds
    /// 65535.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>, A: PseudoHeader>(
        &self,
        packet: &mut UdpPacket<T>,
        src: A,
        dst: A,
        payload_len: usize,
    ) {
        self.emit_header(packet, payload_len);
        packet.fill_checksum(src, dst);
    }

    /// [`UdpRepr::emit`] with the payload's sum already known (summed while it was copied
    /// in, as Linux's `ip_generic_getfrag` does): the same bytes, one pass less over them.
    pub fn emit_with_payload_sum<T: AsRef<[u8]> + AsMut<[u8]>, A: PseudoHeader>(
        &self,
        packet: &mut UdpPacket<T>,
        src: A,
        dst: A,
        payload_len: usize,
        payload_sum: u16,
    ) {
        self.emit_header(packet, payload_len);
        packet.fill_checksum_with_payload_sum(src, dst, payload_sum);
    }

    /// Ports and length; the checksum is the caller's.
    fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut UdpPacket<T>,
        payload_len: usize,
    ) {
        let len = HEADER_LEN + payload_len;
        debug_assert!(len <= usize::from(u16::MAX), "UDP datagram too long");
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(len as u16);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::hex;
    use core::net::{Ipv4Addr, Ipv6Addr};
    use proptest::prelude::*;

    const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const NS: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 53);

    proptest! {
        /// Summing the payload as it is copied in gives the same datagram as summing it in
        /// place afterwards.
        #[test]
        fn emit_with_payload_sum_is_emit(payload in proptest::collection::vec(any::<u8>(), 0..1500), sp: u16, dp: u16) {
            let repr = UdpRepr { src_port: sp, dst_port: dp };
            let mut a = vec![0u8; HEADER_LEN + payload.len()];
            a[HEADER_LEN..].copy_from_slice(&payload);
            let mut b = a.clone();
            repr.emit(&mut UdpPacket::new_unchecked(&mut a[..]), CLIENT, NS, payload.len());
            repr.emit_with_payload_sum(
                &mut UdpPacket::new_unchecked(&mut b[..]),
                CLIENT,
                NS,
                payload.len(),
                checksum::data(&payload),
            );
            prop_assert_eq!(a, b);
        }
    }

    #[test]
    fn reference_dns_query_datagram() {
        // client.pcap frame 3: the A query, UDP header and payload.
        let bytes = hex("a325003500234269 c39b0100000100000000000005626169647503636f6d0000010001");
        let packet = UdpPacket::new_checked(&bytes[..]).unwrap();
        let repr = UdpRepr::parse(&packet, CLIENT, NS).unwrap();
        assert_eq!(
            repr,
            UdpRepr {
                src_port: 41765,
                dst_port: 53
            }
        );
        assert_eq!(packet.payload(), &bytes[8..]);
        let mut out = bytes.clone();
        out[..8].fill(0);
        repr.emit(&mut UdpPacket::new_unchecked(&mut out[..]), CLIENT, NS, 27);
        assert_eq!(out, bytes);
        // The checksum depends on the pseudo-header.
        assert_eq!(
            UdpRepr::parse(&packet, CLIENT, Ipv4Addr::new(10, 0, 1, 54)),
            Err(Error::BadChecksum)
        );
    }

    #[test]
    fn zero_checksum_is_sent_as_ffff_and_accepted_when_absent() {
        // Find a payload whose checksum computes to 0: the sum must be 0xffff. With the
        // pseudo-header and header fixed, choose the two payload bytes to make it so.
        let repr = UdpRepr {
            src_port: 1,
            dst_port: 2,
        };
        let mut buf = [0u8; 10];
        repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), CLIENT, NS, 2);
        let sum_without_payload = !UdpPacket::new_unchecked(&buf[..]).checksum();
        // Adding a word w changes the sum to sum + w; pick w = !sum so the total is 0xffff.
        let w = !sum_without_payload;
        buf[8..].copy_from_slice(&w.to_be_bytes());
        repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), CLIENT, NS, 2);
        let p = UdpPacket::new_checked(&buf[..]).unwrap();
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum(CLIENT, NS));
        // A zero field is "no checksum".
        buf[6] = 0;
        buf[7] = 0;
        buf[8] ^= 0x55;
        assert!(UdpPacket::new_unchecked(&buf[..]).verify_checksum(CLIENT, NS));
    }

    /// A UDP datagram over IPv6 whose checksum field is 0 is refused; one whose computed
    /// sum is 0 is sent as 0xffff; the IPv4 rule for a zero field is unchanged.
    #[test]
    fn ipv6_zero_checksum_is_an_error() {
        let (a, b): (Ipv6Addr, Ipv6Addr) = (
            "2001:db8::2".parse().unwrap(),
            "2001:db8:1::53".parse().unwrap(),
        );
        let repr = UdpRepr {
            src_port: 1,
            dst_port: 2,
        };
        let mut buf = [0u8; 10];
        repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), a, b, 2);
        let w = UdpPacket::new_unchecked(&buf[..]).checksum();
        buf[8..].copy_from_slice(&w.to_be_bytes());
        repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), a, b, 2);
        assert_eq!(UdpPacket::new_unchecked(&buf[..]).checksum(), 0xffff);
        assert_eq!(
            UdpRepr::parse(&UdpPacket::new_unchecked(&buf[..]), a, b),
            Ok(repr)
        );
        buf[6] = 0;
        buf[7] = 0;
        assert_eq!(
            UdpRepr::parse(&UdpPacket::new_unchecked(&buf[..]), a, b),
            Err(Error::BadChecksum)
        );
        assert!(UdpRepr::parse(&UdpPacket::new_unchecked(&buf[..]), CLIENT, NS).is_ok());
    }

    #[test]
    fn length_errors() {
        let parse = |b: &[u8]| UdpRepr::parse(&UdpPacket::new_unchecked(b), CLIENT, NS);
        assert_eq!(parse(&[0; 7]), Err(Error::Truncated));
        assert_eq!(parse(&[0, 1, 0, 2, 0, 7, 0, 0]), Err(Error::BadLength));
        assert_eq!(parse(&[0, 1, 0, 2, 0, 9, 0, 0]), Err(Error::Truncated));
        // Extra bytes after the length are ignored.
        let p = UdpPacket::new_checked(&[0u8, 1, 0, 2, 0, 9, 0, 0, 7, 8][..]).unwrap();
        assert_eq!(p.payload(), &[7]);
    }

    proptest! {
        #[test]
        fn roundtrip_and_etherparse(
            sp in any::<u16>(), dp in any::<u16>(),
            src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let (src, dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
            let repr = UdpRepr { src_port: sp, dst_port: dp };
            let mut buf = vec![0u8; HEADER_LEN + payload.len()];
            buf[HEADER_LEN..].copy_from_slice(&payload);
            repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), src, dst, payload.len());
            let p = UdpPacket::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(UdpRepr::parse(&p, src, dst), Ok(repr));
            prop_assert_eq!(p.payload(), &payload[..]);

            let (h, rest) = etherparse::UdpHeader::from_slice(&buf).unwrap();
            prop_assert_eq!((h.source_port, h.destination_port), (sp, dp));
            prop_assert_eq!(usize::from(h.length), buf.len());
            prop_assert_eq!(rest, &payload[..]);
            let expected = h.calc_checksum_ipv4_raw(src.octets(), dst.octets(), rest).unwrap();
            prop_assert_eq!(h.checksum, expected);
        }

        #[test]
        fn ipv6_roundtrip_and_etherparse(
            src in any::<[u8; 16]>(), dst in any::<[u8; 16]>(), sp: u16, dp: u16,
            payload in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let (s6, d6) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
            let repr = UdpRepr { src_port: sp, dst_port: dp };
            let mut buf = vec![0u8; HEADER_LEN + payload.len()];
            buf[HEADER_LEN..].copy_from_slice(&payload);
            repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), s6, d6, payload.len());
            let p = UdpPacket::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(UdpRepr::parse(&p, s6, d6), Ok(repr));
            prop_assert_ne!(p.checksum(), 0);
            let (h, rest) = etherparse::UdpHeader::from_slice(&buf).unwrap();
            prop_assert_eq!(h.checksum, h.calc_checksum_ipv6_raw(src, dst, rest).unwrap());
        }

        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = UdpRepr::parse(&UdpPacket::new_unchecked(&buf[..]), CLIENT, NS);
            if let Ok(p) = UdpPacket::new_checked(&buf[..]) {
                let _ = (p.payload(), p.verify_checksum(CLIENT, NS));
            }
        }
    }
}
