//! ARP (RFC 826) for Ethernet and IPv4, the only pairing the simulator uses.

use core::fmt;
use core::net::Ipv4Addr;

use super::ethernet::EthernetAddress;
use super::{Error, Result, be16, ipv4_addr, put16};

/// The ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArpOperation {
    /// 1: who has this address?
    Request,
    /// 2: I have it.
    Reply,
    /// Any other opcode (RARP and friends).
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(v: u16) -> Self {
        match v {
            1 => Self::Request,
            2 => Self::Reply,
            other => Self::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(v: ArpOperation) -> Self {
        match v {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(other) => other,
        }
    }
}

/// The length of an Ethernet/IPv4 ARP packet (without Ethernet header or padding).
pub const PACKET_LEN: usize = 28;

const HTYPE_ETHERNET: u16 = 1;
const PTYPE_IPV4: u16 = 0x0800;

mod field {
    use crate::wire::Field;
    pub(super) const HTYPE: Field = 0..2;
    pub(super) const PTYPE: Field = 2..4;
    pub(super) const HLEN: usize = 4;
    pub(super) const PLEN: usize = 5;
    pub(super) const OPER: Field = 6..8;
    // The address fields at their Ethernet/IPv4 offsets.
    pub(super) const SHA: Field = 8..14;
    pub(super) const SPA: Field = 14..18;
    pub(super) const THA: Field = 18..24;
    pub(super) const TPA: Field = 24..28;
}

/// A zero-copy view of an ARP packet. The address accessors read the Ethernet/IPv4 layout;
/// [`ArpRepr::parse`] checks that the packet has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps a buffer without checks; accessors panic if it is shorter than the field read.
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`check_len`](Self::check_len).
    ///
    /// # Errors
    /// [`Error::Truncated`] as for [`check_len`](Self::check_len).
    pub fn new_checked(buffer: T) -> Result<Self> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds [`PACKET_LEN`] bytes and the addresses its length fields
    /// describe. Longer buffers (Ethernet padding) are fine.
    ///
    /// # Errors
    /// [`Error::Truncated`] otherwise.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < PACKET_LEN {
            return Err(Error::Truncated);
        }
        let addrs = 2 * (usize::from(data[field::HLEN]) + usize::from(data[field::PLEN]));
        if data.len() < 8 + addrs {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Hardware type (1 for Ethernet).
    pub fn hardware_type(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::HTYPE])
    }

    /// Protocol type (0x0800 for IPv4).
    pub fn protocol_type(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::PTYPE])
    }

    /// Hardware address length (6 for Ethernet).
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// Protocol address length (4 for IPv4).
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// The operation.
    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from(be16(&self.buffer.as_ref()[field::OPER]))
    }

    /// Sender hardware address.
    pub fn source_hardware_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::SHA])
    }

    /// Sender protocol address.
    pub fn source_protocol_addr(&self) -> Ipv4Addr {
        ipv4_addr(&self.buffer.as_ref()[field::SPA])
    }

    /// Target hardware address.
    pub fn target_hardware_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::THA])
    }

    /// Target protocol address.
    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        ipv4_addr(&self.buffer.as_ref()[field::TPA])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Writes the fixed part for Ethernet/IPv4: hardware type 1, protocol 0x0800, lengths 6
    /// and 4.
    pub fn set_ethernet_ipv4(&mut self) {
        let data = self.buffer.as_mut();
        put16(&mut data[field::HTYPE], HTYPE_ETHERNET);
        put16(&mut data[field::PTYPE], PTYPE_IPV4);
        data[field::HLEN] = 6;
        data[field::PLEN] = 4;
    }

    /// Sets the operation.
    pub fn set_operation(&mut self, op: ArpOperation) {
        put16(&mut self.buffer.as_mut()[field::OPER], op.into());
    }

    /// Sets the sender hardware address.
    pub fn set_source_hardware_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(&addr.0);
    }

    /// Sets the sender protocol address.
    pub fn set_source_protocol_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SPA].copy_from_slice(&addr.octets());
    }

    /// Sets the target hardware address.
    pub fn set_target_hardware_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::THA].copy_from_slice(&addr.0);
    }

    /// Sets the target protocol address.
    pub fn set_target_protocol_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::TPA].copy_from_slice(&addr.octets());
    }
}

/// An Ethernet/IPv4 ARP packet as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// Request or reply.
    pub operation: ArpOperation,
    /// Sender MAC.
    pub source_hardware_addr: EthernetAddress,
    /// Sender IP.
    pub source_protocol_addr: Ipv4Addr,
    /// Target MAC: [`EthernetAddress::ZERO`] in a request, as Linux sends it.
    pub target_hardware_addr: EthernetAddress,
    /// Target IP.
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Parses an Ethernet/IPv4 ARP packet.
    ///
    /// # Errors
    /// [`Error::Truncated`] if short; [`Error::Unsupported`] if the hardware or protocol type
    /// or address lengths are not Ethernet/IPv4's.
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<Self> {
        packet.check_len()?;
        if packet.hardware_type() != HTYPE_ETHERNET
            || packet.protocol_type() != PTYPE_IPV4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error::Unsupported);
        }
        Ok(Self {
            operation: packet.operation(),
            source_hardware_addr: packet.source_hardware_addr(),
            source_protocol_addr: packet.source_protocol_addr(),
            target_hardware_addr: packet.target_hardware_addr(),
            target_protocol_addr: packet.target_protocol_addr(),
        })
    }

    /// The packet length, [`PACKET_LEN`].
    #[must_use]
    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Writes the 28 bytes.
    ///
    /// # Panics
    /// If the buffer is shorter than [`PACKET_LEN`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        packet.set_ethernet_ipv4();
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(self.source_hardware_addr);
        packet.set_source_protocol_addr(self.source_protocol_addr);
        packet.set_target_hardware_addr(self.target_hardware_addr);
        packet.set_target_protocol_addr(self.target_protocol_addr);
    }
}

impl fmt::Display for ArpRepr {
    /// As tcpdump words it: `who-has 10.0.0.1 tell 10.0.0.2` (with the target MAC in
    /// parentheses after the target IP when it is not zero), `10.0.0.1 is-at 02:00:00:00:00:01`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operation {
            ArpOperation::Request => {
                write!(f, "who-has {}", self.target_protocol_addr)?;
                if self.target_hardware_addr != EthernetAddress::ZERO {
                    write!(f, " ({})", self.target_hardware_addr)?;
                }
                write!(f, " tell {}", self.source_protocol_addr)
            }
            ArpOperation::Reply => write!(
                f,
                "{} is-at {}",
                self.source_protocol_addr, self.source_hardware_addr
            ),
            ArpOperation::Unknown(op) => write!(
                f,
                "unknown operation {op} {} > {}",
                self.source_protocol_addr, self.target_protocol_addr
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::hex;
    use proptest::prelude::*;

    const CLIENT: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
    const ROUTER: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);

    #[test]
    fn reference_request_and_reply() {
        // client.pcap frames 1 and 2, without the Ethernet header.
        let request = hex("0001080006040001020000000002 0a000002 000000000000 0a000001");
        let reply = hex("0001080006040002020000000001 0a000001 020000000002 0a000002");
        let req = ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: CLIENT,
            source_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
            target_hardware_addr: EthernetAddress::ZERO,
            target_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
        };
        let rep = ArpRepr {
            operation: ArpOperation::Reply,
            source_hardware_addr: ROUTER,
            source_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
            target_hardware_addr: CLIENT,
            target_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
        };
        for (repr, bytes) in [(req, &request), (rep, &reply)] {
            let mut out = [0u8; PACKET_LEN];
            repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
            assert_eq!(&out[..], &bytes[..]);
            assert_eq!(
                ArpRepr::parse(&ArpPacket::new_checked(&bytes[..]).unwrap()),
                Ok(repr)
            );
        }
        assert_eq!(req.to_string(), "who-has 10.0.0.1 tell 10.0.0.2");
        assert_eq!(rep.to_string(), "10.0.0.1 is-at 02:00:00:00:00:01");
        let probe = ArpRepr {
            target_hardware_addr: ROUTER,
            ..req
        };
        assert_eq!(
            probe.to_string(),
            "who-has 10.0.0.1 (02:00:00:00:00:01) tell 10.0.0.2"
        );
    }

    #[test]
    fn unsupported_and_short() {
        let mut b = hex("0001080006040001020000000002 0a000002 000000000000 0a000001");
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_unchecked(&b[..27])),
            Err(Error::Truncated)
        );
        b[1] = 6; // IEEE 802 hardware
        assert_eq!(
            ArpRepr::parse(&ArpPacket::new_unchecked(&b[..])),
            Err(Error::Unsupported)
        );
    }

    #[test]
    fn etherparse_agrees() {
        let repr = ArpRepr {
            operation: ArpOperation::Reply,
            source_hardware_addr: ROUTER,
            source_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
            target_hardware_addr: CLIENT,
            target_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
        };
        let mut out = [0u8; PACKET_LEN];
        repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
        let a = etherparse::ArpPacketSlice::from_slice(&out).unwrap();
        assert_eq!(a.operation(), etherparse::ArpOperation::REPLY);
        assert_eq!(a.sender_hw_addr(), &ROUTER.0);
        assert_eq!(a.sender_protocol_addr(), &[10, 0, 0, 1]);
        assert_eq!(a.target_hw_addr(), &CLIENT.0);
        assert_eq!(a.target_protocol_addr(), &[10, 0, 0, 2]);
    }

    fn arb_repr() -> impl Strategy<Value = ArpRepr> {
        (
            any::<u16>(),
            any::<[u8; 6]>(),
            any::<[u8; 4]>(),
            any::<[u8; 6]>(),
            any::<[u8; 4]>(),
        )
            .prop_map(|(op, sha, spa, tha, tpa)| ArpRepr {
                operation: ArpOperation::from(op),
                source_hardware_addr: EthernetAddress(sha),
                source_protocol_addr: Ipv4Addr::from(spa),
                target_hardware_addr: EthernetAddress(tha),
                target_protocol_addr: Ipv4Addr::from(tpa),
            })
    }

    proptest! {
        #[test]
        fn roundtrip(repr in arb_repr()) {
            let mut out = [0u8; PACKET_LEN];
            repr.emit(&mut ArpPacket::new_unchecked(&mut out[..]));
            prop_assert_eq!(ArpRepr::parse(&ArpPacket::new_checked(&out[..]).unwrap()), Ok(repr));
        }

        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = ArpRepr::parse(&ArpPacket::new_unchecked(&buf[..]));
            if let Ok(p) = ArpPacket::new_checked(&buf[..]) {
                let _ = (p.operation(), p.target_protocol_addr(), p.source_hardware_addr());
            }
        }
    }
}
