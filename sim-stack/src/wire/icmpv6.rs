//! ICMPv6 (RFC 4443) with the two protocols that ride on it: neighbour discovery (RFC 4861,
//! [`NdiscRepr`]) and multicast listener discovery (RFC 3810 and RFC 2710, [`MldRepr`]).
//!
//! Every message is checksummed over the IPv6 pseudo-header (next header 58), so
//! [`Icmpv6Repr::parse`] and [`Icmpv6Repr::emit`] take the source and destination
//! addresses. The view's buffer must be exactly the ICMPv6 message: the IPv6 payload after
//! any extension headers (MLD's Hop-by-Hop header, see
//! [`emit_hbh_router_alert`](super::ipv6::emit_hbh_router_alert)).
//!
//! # When accessors panic
//!
//! [`Icmpv6Packet::new_checked`] checks the buffer against the fixed part of the message's
//! own type (8 bytes; 16 for a router advertisement; 24 for neighbour solicitations and
//! advertisements and MLD; 40 for a redirect). After it succeeds the accessors of that type
//! do not panic; an accessor of another type (the target address of an echo) may.
//!
//! # Neighbour discovery options
//!
//! Options are read as RFC 4861 §4.6 and Linux's `ndisc_parse_options` read them: a length
//! of 0, or an option running past the message, is [`Error::BadOption`]; unknown options
//! are skipped; of a repeated option the first counts. A link-layer address option must be
//! one 8-byte unit (Ethernet; otherwise [`Error::BadOption`], as `ndisc_recv_ns` and
//! `ndisc_router_discovery` drop a bad address length). A first Nonce option (RFC 3971
//! §5.3.2, type 14, as Linux's enhanced DAD sends it: 6 bytes) of another length is
//! ignored, as `ndisc_recv_ns` ignores it; an MTU option's value is read whatever its
//! length, as `ndisc_router_discovery` reads it; a prefix information option shorter than
//! four units is skipped (`addrconf_prefix_rcv`: "prefix option too short") and the first
//! long enough is kept. Options are emitted in Linux's order
//! (`ndisc_send_ns`: source link-layer address, then nonce). The code-0 and hop-limit-255
//! checks of `ndisc_rcv` need the IPv6 header and are the caller's.
//!
//! # Errors quote the offending packet
//!
//! Destination unreachable, packet too big, time exceeded and parameter problem carry as
//! much of the offending packet as fits in the minimum MTU of 1280 bytes; the caller cuts
//! it with [`linux_quote6`].

use core::fmt;
use core::net::Ipv6Addr;
use core::ops;

use super::ethernet::EthernetAddress;
use super::ipv6::{self, ipv6_addr};
use super::{Error, Result, be16, be32, checksum, put16, put32};

/// The ICMPv6 next header value, 58.
const PROTOCOL: u8 = 58;

/// The ICMPv6 header length: type, code, checksum and the 4 type-specific bytes that every
/// message has.
pub const HEADER_LEN: usize = 8;

/// The most of the offending packet Linux quotes in an ICMPv6 error: `icmp6_send` keeps the
/// error within the IPv6 minimum MTU (1280), less its own IPv6 (40) and ICMPv6 (8) headers.
pub const LINUX_MAX_QUOTE: usize = ipv6::MIN_MTU - ipv6::HEADER_LEN - HEADER_LEN;

/// The part of `original` (a whole IPv6 packet) that Linux quotes in an ICMPv6 error: all of
/// it, up to [`LINUX_MAX_QUOTE`] bytes (`icmp6_send`).
#[must_use]
pub fn linux_quote6(original: &[u8]) -> &[u8] {
    &original[..original.len().min(LINUX_MAX_QUOTE)]
}

/// The ICMPv6 message type (IANA "ICMPv6 Parameters").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Icmpv6Message {
    /// 1, RFC 4443 §3.1.
    DstUnreachable,
    /// 2, RFC 4443 §3.2.
    PacketTooBig,
    /// 3, RFC 4443 §3.3.
    TimeExceeded,
    /// 4, RFC 4443 §3.4.
    ParamProblem,
    /// 128, RFC 4443 §4.1.
    EchoRequest,
    /// 129, RFC 4443 §4.2.
    EchoReply,
    /// 130, multicast listener query (MLDv1 and MLDv2), RFC 3810 §5.1.
    MldQuery,
    /// 131, MLDv1 report, RFC 2710 §3.
    MldReport,
    /// 132, MLDv1 done, RFC 2710 §3.
    MldDone,
    /// 133, router solicitation, RFC 4861 §4.1.
    RouterSolicit,
    /// 134, router advertisement, RFC 4861 §4.2.
    RouterAdvert,
    /// 135, neighbour solicitation, RFC 4861 §4.3.
    NeighborSolicit,
    /// 136, neighbour advertisement, RFC 4861 §4.4.
    NeighborAdvert,
    /// 137, redirect, RFC 4861 §4.5.
    Redirect,
    /// 143, MLDv2 report, RFC 3810 §5.2.
    MldReportV2,
    /// Any other type.
    Unknown(u8),
}

impl From<u8> for Icmpv6Message {
    fn from(v: u8) -> Self {
        match v {
            1 => Self::DstUnreachable,
            2 => Self::PacketTooBig,
            3 => Self::TimeExceeded,
            4 => Self::ParamProblem,
            128 => Self::EchoRequest,
            129 => Self::EchoReply,
            130 => Self::MldQuery,
            131 => Self::MldReport,
            132 => Self::MldDone,
            133 => Self::RouterSolicit,
            134 => Self::RouterAdvert,
            135 => Self::NeighborSolicit,
            136 => Self::NeighborAdvert,
            137 => Self::Redirect,
            143 => Self::MldReportV2,
            other => Self::Unknown(other),
        }
    }
}

impl From<Icmpv6Message> for u8 {
    fn from(v: Icmpv6Message) -> Self {
        match v {
            Icmpv6Message::DstUnreachable => 1,
            Icmpv6Message::PacketTooBig => 2,
            Icmpv6Message::TimeExceeded => 3,
            Icmpv6Message::ParamProblem => 4,
            Icmpv6Message::EchoRequest => 128,
            Icmpv6Message::EchoReply => 129,
            Icmpv6Message::MldQuery => 130,
            Icmpv6Message::MldReport => 131,
            Icmpv6Message::MldDone => 132,
            Icmpv6Message::RouterSolicit => 133,
            Icmpv6Message::RouterAdvert => 134,
            Icmpv6Message::NeighborSolicit => 135,
            Icmpv6Message::NeighborAdvert => 136,
            Icmpv6Message::Redirect => 137,
            Icmpv6Message::MldReportV2 => 143,
            Icmpv6Message::Unknown(other) => other,
        }
    }
}

impl Icmpv6Message {
    /// The length of the fixed part of a message of this type, which
    /// [`Icmpv6Packet::check_len`] requires.
    #[must_use]
    pub const fn min_len(self) -> usize {
        match self {
            Self::RouterAdvert => 16,
            Self::NeighborSolicit
            | Self::NeighborAdvert
            | Self::MldQuery
            | Self::MldReport
            | Self::MldDone => 24,
            Self::Redirect => 40,
            _ => HEADER_LEN,
        }
    }
}

mod field {
    use crate::wire::Field;
    pub(super) const TYPE: usize = 0;
    pub(super) const CODE: usize = 1;
    pub(super) const CHECKSUM: Field = 2..4;
    /// Echo identifier, MLD maximum response code.
    pub(super) const WORD_A: Field = 4..6;
    /// Echo sequence number, MLDv2 number of records.
    pub(super) const WORD_B: Field = 6..8;
    /// Packet-too-big MTU, parameter-problem pointer.
    pub(super) const LONG: Field = 4..8;
    /// Target address (NS, NA, redirect), MLD multicast address.
    pub(super) const ADDR: Field = 8..24;
    /// Redirect destination address.
    pub(super) const DEST: Field = 24..40;
    pub(super) const RA_HOP_LIMIT: usize = 4;
    pub(super) const RA_FLAGS: usize = 5;
    pub(super) const RA_LIFETIME: Field = 6..8;
    pub(super) const RA_REACHABLE: Field = 8..12;
    pub(super) const RA_RETRANS: Field = 12..16;
    pub(super) const NA_FLAGS: usize = 4;
}

/// A zero-copy view of an ICMPv6 message; the checksum covers the whole buffer and the
/// IPv6 pseudo-header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icmpv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Icmpv6Packet<T> {
    /// Wraps a buffer without checks; accessors panic if it is shorter than the field they
    /// read.
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

    /// Checks that the buffer holds the 8-byte header and the fixed part of its type
    /// ([`Icmpv6Message::min_len`]).
    ///
    /// # Errors
    /// [`Error::Truncated`] if it does not.
    pub fn check_len(&self) -> Result<()> {
        let b = self.buffer.as_ref();
        if b.len() < HEADER_LEN || b.len() < self.msg_type().min_len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The message type.
    pub fn msg_type(&self) -> Icmpv6Message {
        Icmpv6Message::from(self.buffer.as_ref()[field::TYPE])
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
        be16(&self.buffer.as_ref()[field::WORD_A])
    }

    /// The sequence number of an echo message.
    pub fn echo_seq_no(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::WORD_B])
    }

    /// The MTU of a packet-too-big message.
    pub fn mtu(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::LONG])
    }

    /// The pointer of a parameter-problem message: the offset of the offending byte.
    pub fn pointer(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::LONG])
    }

    /// The target address of a neighbour solicitation, advertisement or redirect.
    pub fn target_addr(&self) -> Ipv6Addr {
        ipv6_addr(&self.buffer.as_ref()[field::ADDR])
    }

    /// The destination address of a redirect.
    pub fn dest_addr(&self) -> Ipv6Addr {
        ipv6_addr(&self.buffer.as_ref()[field::DEST])
    }

    /// The flags of a neighbour advertisement.
    pub fn neighbor_flags(&self) -> NdiscNeighborFlags {
        NdiscNeighborFlags::from_bits(self.buffer.as_ref()[field::NA_FLAGS])
    }

    /// The current hop limit a router advertisement suggests.
    pub fn cur_hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::RA_HOP_LIMIT]
    }

    /// The flags byte of a router advertisement (M = 0x80, O = 0x40).
    pub fn router_flags(&self) -> u8 {
        self.buffer.as_ref()[field::RA_FLAGS]
    }

    /// The router lifetime of a router advertisement, in seconds.
    pub fn router_lifetime(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::RA_LIFETIME])
    }

    /// The reachable time of a router advertisement, in milliseconds.
    pub fn reachable_time(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::RA_REACHABLE])
    }

    /// The retransmission timer of a router advertisement, in milliseconds.
    pub fn retrans_time(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::RA_RETRANS])
    }

    /// The maximum response code of an MLD query.
    pub fn max_resp_code(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::WORD_A])
    }

    /// The multicast address of an MLD query, MLDv1 report or done.
    pub fn mld_group(&self) -> Ipv6Addr {
        ipv6_addr(&self.buffer.as_ref()[field::ADDR])
    }

    /// The number of multicast address records of an MLDv2 report.
    pub fn mld_num_records(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::WORD_B])
    }

    /// Everything after the 8-byte header: echo data, the quoted packet of an error, the
    /// body of neighbour discovery and MLD messages.
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    /// Whether the checksum over the whole message and the IPv6 pseudo-header verifies.
    pub fn verify_checksum(&self, src: Ipv6Addr, dst: Ipv6Addr) -> bool {
        let b = self.buffer.as_ref();
        checksum::combine(&[
            checksum::pseudo_header_v6(src, dst, PROTOCOL, b.len() as u32),
            checksum::data(b),
        ]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Icmpv6Packet<T> {
    /// Sets the type.
    pub fn set_msg_type(&mut self, value: Icmpv6Message) {
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

    /// The data after the header, writable.
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }

    /// Computes the checksum over the whole buffer and the IPv6 pseudo-header, and writes it.
    pub fn fill_checksum(&mut self, src: Ipv6Addr, dst: Ipv6Addr) {
        self.set_checksum(0);
        let b = self.buffer.as_ref();
        let sum = checksum::finish(&[
            checksum::pseudo_header_v6(src, dst, PROTOCOL, b.len() as u32),
            checksum::data(b),
        ]);
        self.set_checksum(sum);
    }
}

/// The flags of a neighbour advertisement (RFC 4861 §4.4), the top bits of its first
/// reserved byte.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NdiscNeighborFlags(u8);

impl NdiscNeighborFlags {
    /// R: the sender is a router.
    pub const ROUTER: Self = Self(0x80);
    /// S: sent in answer to a solicitation.
    pub const SOLICITED: Self = Self(0x40);
    /// O: override an existing cache entry.
    pub const OVERRIDE: Self = Self(0x20);
    /// No flags.
    pub const NONE: Self = Self(0);

    /// The flags from the byte (the five reserved bits are dropped).
    #[must_use]
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits & 0xe0)
    }

    /// The byte.
    #[must_use]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every flag of `other` is set.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl ops::BitOr for NdiscNeighborFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl fmt::Debug for NdiscNeighborFlags {
    /// `NdiscNeighborFlags[RSO]`, letters for the flags set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NdiscNeighborFlags[")?;
        for (flag, letter) in [
            (Self::ROUTER, "R"),
            (Self::SOLICITED, "S"),
            (Self::OVERRIDE, "O"),
        ] {
            if self.contains(flag) {
                f.write_str(letter)?;
            }
        }
        f.write_str("]")
    }
}

/// A prefix information option (RFC 4861 §4.6.2), carried by router advertisements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NdiscPrefixInfo {
    /// The prefix length, 0 to 128.
    pub prefix_len: u8,
    /// L (on-link) = 0x80, A (autonomous address configuration) = 0x40.
    pub flags: u8,
    /// Valid lifetime in seconds (`0xffffffff`: infinity).
    pub valid_lifetime: u32,
    /// Preferred lifetime in seconds.
    pub preferred_lifetime: u32,
    /// The prefix.
    pub prefix: Ipv6Addr,
}

impl NdiscPrefixInfo {
    /// The on-link flag.
    pub const ON_LINK: u8 = 0x80;
    /// The autonomous address-configuration flag.
    pub const AUTONOMOUS: u8 = 0x40;
}

/// Neighbour discovery option types (RFC 4861 §4.6, RFC 3971 §5.3.2).
mod opt {
    pub(super) const SOURCE_LLADDR: u8 = 1;
    pub(super) const TARGET_LLADDR: u8 = 2;
    pub(super) const PREFIX_INFO: u8 = 3;
    pub(super) const REDIRECTED_HDR: u8 = 4;
    pub(super) const MTU: u8 = 5;
    pub(super) const NONCE: u8 = 14;
}

/// The options of a neighbour discovery message that the reprs carry.
#[derive(Debug, Clone, Copy, Default)]
struct NdiscOptions<'a> {
    source_lladdr: Option<EthernetAddress>,
    target_lladdr: Option<EthernetAddress>,
    mtu: Option<u32>,
    prefix_info: Option<NdiscPrefixInfo>,
    /// The first Nonce option: its value if it has the right length.
    nonce: Option<Option<[u8; 6]>>,
    redirected: Option<&'a [u8]>,
}

impl<'a> NdiscOptions<'a> {
    /// Reads the options area (`ndisc_parse_options`).
    fn parse(mut area: &'a [u8]) -> Result<Self> {
        let mut o = Self::default();
        while !area.is_empty() {
            if area.len() < 2 {
                return Err(Error::BadOption);
            }
            let (kind, units) = (area[0], usize::from(area[1]));
            let len = units * 8;
            if units == 0 || area.len() < len {
                return Err(Error::BadOption);
            }
            let body = &area[2..len];
            match kind {
                opt::SOURCE_LLADDR | opt::TARGET_LLADDR => {
                    if units != 1 {
                        return Err(Error::BadOption);
                    }
                    let mut mac = [0u8; 6];
                    mac.copy_from_slice(&body[..6]);
                    let slot = if kind == opt::SOURCE_LLADDR {
                        &mut o.source_lladdr
                    } else {
                        &mut o.target_lladdr
                    };
                    slot.get_or_insert(EthernetAddress(mac));
                }
                opt::MTU => {
                    o.mtu.get_or_insert(be32(&body[2..6]));
                }
                opt::PREFIX_INFO if units >= 4 => {
                    o.prefix_info.get_or_insert(NdiscPrefixInfo {
                        prefix_len: body[0],
                        flags: body[1],
                        valid_lifetime: be32(&body[2..6]),
                        preferred_lifetime: be32(&body[6..10]),
                        prefix: ipv6_addr(&body[14..30]),
                    });
                }
                opt::NONCE => {
                    o.nonce.get_or_insert((units == 1).then(|| {
                        let mut nonce = [0u8; 6];
                        nonce.copy_from_slice(&body[..6]);
                        nonce
                    }));
                }
                opt::REDIRECTED_HDR => {
                    o.redirected.get_or_insert(&body[6..]);
                }
                _ => {}
            }
            area = &area[len..];
        }
        Ok(o)
    }
}

/// Writes an 8-byte link-layer address option at the start of `buf`; returns 8.
fn emit_lladdr(buf: &mut [u8], kind: u8, mac: EthernetAddress) -> usize {
    buf[0] = kind;
    buf[1] = 1;
    buf[2..8].copy_from_slice(&mac.0);
    8
}

/// A neighbour discovery message (RFC 4861) as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdiscRepr<'a> {
    /// Router solicitation (§4.1), sent by hosts at link-up.
    RouterSolicit {
        /// The source link-layer address option (absent when sent from `::`).
        lladdr: Option<EthernetAddress>,
    },
    /// Router advertisement (§4.2).
    RouterAdvert {
        /// Cur Hop Limit (0: unspecified).
        hop_limit: u8,
        /// M = 0x80 (managed), O = 0x40 (other configuration); other bits as received.
        flags: u8,
        /// Router lifetime in seconds (0: not a default router).
        router_lifetime: u16,
        /// Reachable time in milliseconds (0: unspecified).
        reachable_time: u32,
        /// Retransmission timer in milliseconds (0: unspecified).
        retrans_time: u32,
        /// The source link-layer address option.
        lladdr: Option<EthernetAddress>,
        /// The MTU option.
        mtu: Option<u32>,
        /// The first prefix information option.
        prefix_info: Option<NdiscPrefixInfo>,
    },
    /// Neighbour solicitation (§4.3): address resolution, unreachability probe or DAD.
    NeighborSolicit {
        /// The address being resolved.
        target: Ipv6Addr,
        /// The source link-layer address option (SLLAO); none in DAD.
        lladdr: Option<EthernetAddress>,
        /// The Nonce option of enhanced DAD (RFC 7527), 6 bytes.
        nonce: Option<[u8; 6]>,
    },
    /// Neighbour advertisement (§4.4).
    NeighborAdvert {
        /// Router, solicited, override.
        flags: NdiscNeighborFlags,
        /// The address advertised.
        target: Ipv6Addr,
        /// The target link-layer address option (TLLAO).
        lladdr: Option<EthernetAddress>,
    },
    /// Redirect (§4.5).
    Redirect {
        /// The better first hop.
        target: Ipv6Addr,
        /// The destination being redirected.
        dest: Ipv6Addr,
        /// The target link-layer address option.
        lladdr: Option<EthernetAddress>,
        /// The redirected header option's data (the quoted packet; empty if absent). As
        /// received it includes the option's zero padding; emitting pads it to 8 bytes.
        redirected: &'a [u8],
    },
}

impl<'a> NdiscRepr<'a> {
    /// Parses the message type, fixed fields and options of a checked packet.
    fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Icmpv6Packet<&'a T>) -> Result<Self> {
        let b: &'a [u8] = packet.buffer.as_ref();
        let kind = packet.msg_type();
        let options = NdiscOptions::parse(&b[kind.min_len()..])?;
        Ok(match kind {
            Icmpv6Message::RouterSolicit => Self::RouterSolicit {
                lladdr: options.source_lladdr,
            },
            Icmpv6Message::RouterAdvert => Self::RouterAdvert {
                hop_limit: packet.cur_hop_limit(),
                flags: packet.router_flags(),
                router_lifetime: packet.router_lifetime(),
                reachable_time: packet.reachable_time(),
                retrans_time: packet.retrans_time(),
                lladdr: options.source_lladdr,
                mtu: options.mtu,
                prefix_info: options.prefix_info,
            },
            Icmpv6Message::NeighborSolicit => Self::NeighborSolicit {
                target: packet.target_addr(),
                lladdr: options.source_lladdr,
                nonce: options.nonce.flatten(),
            },
            Icmpv6Message::NeighborAdvert => Self::NeighborAdvert {
                flags: packet.neighbor_flags(),
                target: packet.target_addr(),
                lladdr: options.target_lladdr,
            },
            _ => Self::Redirect {
                target: packet.target_addr(),
                dest: packet.dest_addr(),
                lladdr: options.target_lladdr,
                redirected: options.redirected.unwrap_or(&[]),
            },
        })
    }

    /// The message type.
    #[must_use]
    pub const fn msg_type(&self) -> Icmpv6Message {
        match self {
            Self::RouterSolicit { .. } => Icmpv6Message::RouterSolicit,
            Self::RouterAdvert { .. } => Icmpv6Message::RouterAdvert,
            Self::NeighborSolicit { .. } => Icmpv6Message::NeighborSolicit,
            Self::NeighborAdvert { .. } => Icmpv6Message::NeighborAdvert,
            Self::Redirect { .. } => Icmpv6Message::Redirect,
        }
    }

    /// The message length: the fixed part and the options.
    #[must_use]
    pub const fn buffer_len(&self) -> usize {
        const fn opt(present: bool, len: usize) -> usize {
            if present { len } else { 0 }
        }
        match self {
            Self::RouterSolicit { lladdr } => HEADER_LEN + opt(lladdr.is_some(), 8),
            Self::RouterAdvert {
                lladdr,
                mtu,
                prefix_info,
                ..
            } => {
                16 + opt(lladdr.is_some(), 8)
                    + opt(mtu.is_some(), 8)
                    + opt(prefix_info.is_some(), 32)
            }
            Self::NeighborSolicit { lladdr, nonce, .. } => {
                24 + opt(lladdr.is_some(), 8) + opt(nonce.is_some(), 8)
            }
            Self::NeighborAdvert { lladdr, .. } => 24 + opt(lladdr.is_some(), 8),
            Self::Redirect {
                lladdr, redirected, ..
            } => {
                40 + opt(lladdr.is_some(), 8)
                    + opt(!redirected.is_empty(), 8 + redirected.len().div_ceil(8) * 8)
            }
        }
    }

    /// Writes the message after the type, code (0) and checksum into `b`, exactly
    /// [`buffer_len`](Self::buffer_len) bytes long.
    fn emit_body(&self, b: &mut [u8]) {
        b[field::CODE] = 0;
        b[4..].fill(0);
        let at = match *self {
            Self::RouterSolicit { lladdr } => {
                let mut at = HEADER_LEN;
                if let Some(mac) = lladdr {
                    at += emit_lladdr(&mut b[at..], opt::SOURCE_LLADDR, mac);
                }
                at
            }
            Self::RouterAdvert {
                hop_limit,
                flags,
                router_lifetime,
                reachable_time,
                retrans_time,
                lladdr,
                mtu,
                prefix_info,
            } => {
                b[field::RA_HOP_LIMIT] = hop_limit;
                b[field::RA_FLAGS] = flags;
                put16(&mut b[field::RA_LIFETIME], router_lifetime);
                put32(&mut b[field::RA_REACHABLE], reachable_time);
                put32(&mut b[field::RA_RETRANS], retrans_time);
                let mut at = 16;
                if let Some(mac) = lladdr {
                    at += emit_lladdr(&mut b[at..], opt::SOURCE_LLADDR, mac);
                }
                if let Some(mtu) = mtu {
                    b[at] = opt::MTU;
                    b[at + 1] = 1;
                    put32(&mut b[at + 4..at + 8], mtu);
                    at += 8;
                }
                if let Some(p) = prefix_info {
                    b[at] = opt::PREFIX_INFO;
                    b[at + 1] = 4;
                    b[at + 2] = p.prefix_len;
                    b[at + 3] = p.flags;
                    put32(&mut b[at + 4..at + 8], p.valid_lifetime);
                    put32(&mut b[at + 8..at + 12], p.preferred_lifetime);
                    b[at + 16..at + 32].copy_from_slice(&p.prefix.octets());
                    at += 32;
                }
                at
            }
            Self::NeighborSolicit {
                target,
                lladdr,
                nonce,
            } => {
                b[field::ADDR].copy_from_slice(&target.octets());
                let mut at = 24;
                if let Some(mac) = lladdr {
                    at += emit_lladdr(&mut b[at..], opt::SOURCE_LLADDR, mac);
                }
                if let Some(nonce) = nonce {
                    b[at] = opt::NONCE;
                    b[at + 1] = 1;
                    b[at + 2..at + 8].copy_from_slice(&nonce);
                    at += 8;
                }
                at
            }
            Self::NeighborAdvert {
                flags,
                target,
                lladdr,
            } => {
                b[field::NA_FLAGS] = flags.bits();
                b[field::ADDR].copy_from_slice(&target.octets());
                let mut at = 24;
                if let Some(mac) = lladdr {
                    at += emit_lladdr(&mut b[at..], opt::TARGET_LLADDR, mac);
                }
                at
            }
            Self::Redirect {
                target,
                dest,
                lladdr,
                redirected,
            } => {
                b[field::ADDR].copy_from_slice(&target.octets());
                b[field::DEST].copy_from_slice(&dest.octets());
                let mut at = 40;
                if let Some(mac) = lladdr {
                    at += emit_lladdr(&mut b[at..], opt::TARGET_LLADDR, mac);
                }
                if !redirected.is_empty() {
                    let len = 8 + redirected.len().div_ceil(8) * 8;
                    b[at] = opt::REDIRECTED_HDR;
                    b[at + 1] = (len / 8) as u8;
                    b[at + 8..at + 8 + redirected.len()].copy_from_slice(redirected);
                    at += len;
                }
                at
            }
        };
        debug_assert_eq!(at, b.len(), "neighbour discovery length mismatch");
    }
}

/// One multicast address record of an MLDv2 report (RFC 3810 §5.2.4), without sources:
/// Linux's unsolicited reports carry none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MldRecord {
    /// 1 MODE_IS_INCLUDE, 2 MODE_IS_EXCLUDE, 3 CHANGE_TO_INCLUDE, 4 CHANGE_TO_EXCLUDE,
    /// 5 ALLOW_NEW_SOURCES, 6 BLOCK_OLD_SOURCES.
    pub record_type: u8,
    /// The multicast address.
    pub group: Ipv6Addr,
}

impl MldRecord {
    /// MODE_IS_INCLUDE.
    pub const MODE_IS_INCLUDE: u8 = 1;
    /// MODE_IS_EXCLUDE.
    pub const MODE_IS_EXCLUDE: u8 = 2;
    /// CHANGE_TO_INCLUDE: Linux's report when it leaves a group.
    pub const CHANGE_TO_INCLUDE: u8 = 3;
    /// CHANGE_TO_EXCLUDE: Linux's unsolicited report when it joins a group.
    pub const CHANGE_TO_EXCLUDE: u8 = 4;
    /// ALLOW_NEW_SOURCES.
    pub const ALLOW_NEW_SOURCES: u8 = 5;
    /// BLOCK_OLD_SOURCES.
    pub const BLOCK_OLD_SOURCES: u8 = 6;
    /// The length of a record without sources or auxiliary data.
    pub const LEN: usize = 20;
}

/// The records of a received MLDv2 report, validated: every record lies within the message,
/// so iterating cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MldRecords<'a> {
    count: u16,
    bytes: &'a [u8],
}

impl<'a> MldRecords<'a> {
    /// Checks `count` records laid out in `bytes` (the report after its 8-byte header).
    fn parse(count: u16, bytes: &'a [u8]) -> Result<Self> {
        let mut at = 0usize;
        for _ in 0..count {
            let rec = bytes.get(at..at + MldRecord::LEN).ok_or(Error::Truncated)?;
            at += MldRecord::LEN + usize::from(rec[1]) * 4 + usize::from(be16(&rec[2..4])) * 16;
            if at > bytes.len() {
                return Err(Error::Truncated);
            }
        }
        Ok(Self {
            count,
            bytes: &bytes[..at],
        })
    }

    /// The number of records.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are none.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The bytes of the records (after the report's 8-byte header).
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The records in order, each with its sources (16 bytes each) skipped.
    pub fn iter(&self) -> impl Iterator<Item = MldRecord> + 'a {
        let mut rest = self.bytes;
        (0..self.count).map(move |_| {
            let rec = MldRecord {
                record_type: rest[0],
                group: ipv6_addr(&rest[4..20]),
            };
            let len =
                MldRecord::LEN + usize::from(rest[1]) * 4 + usize::from(be16(&rest[2..4])) * 16;
            rest = &rest[len..];
            rec
        })
    }
}

/// A multicast listener discovery message (RFC 3810 MLDv2; RFC 2710 MLDv1) as plain values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MldRepr<'a> {
    /// A query (type 130). A 24-byte MLDv1 query parses with the MLDv2 fields zero and no
    /// sources; emitting writes the MLDv2 format (28 bytes and the sources).
    Query {
        /// Maximum response code (RFC 3810 §5.1.3; MLDv1: the delay in milliseconds).
        max_resp_code: u16,
        /// The group queried (`::` for a general query).
        group: Ipv6Addr,
        /// S: suppress router-side processing.
        s_flag: bool,
        /// Querier's robustness variable, 3 bits.
        qrv: u8,
        /// Querier's query interval code.
        qqic: u8,
        /// The source addresses, 16 bytes each.
        sources: &'a [u8],
    },
    /// An MLDv1 report (type 131).
    ReportV1 {
        /// The group reported.
        group: Ipv6Addr,
    },
    /// An MLDv1 done (type 132).
    Done {
        /// The group left.
        group: Ipv6Addr,
    },
    /// An MLDv2 report (type 143) to emit, from a list of records without sources.
    ReportV2 {
        /// The records.
        records: &'a [MldRecord],
    },
    /// An MLDv2 report (type 143) as parsed: its records, validated.
    ReportV2Records(MldRecords<'a>),
}

impl<'a> MldRepr<'a> {
    /// Parses the fixed fields of a checked MLD packet.
    fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Icmpv6Packet<&'a T>) -> Result<Self> {
        let b: &'a [u8] = packet.buffer.as_ref();
        match packet.msg_type() {
            Icmpv6Message::MldQuery => {
                // MLDv1 is exactly 24 bytes, MLDv2 at least 28 (`igmp6_event_query`).
                if (25..28).contains(&b.len()) {
                    return Err(Error::Truncated);
                }
                let (s_flag, qrv, qqic, sources) = if b.len() >= 28 {
                    let n = usize::from(be16(&b[26..28]));
                    let sources = b.get(28..28 + 16 * n).ok_or(Error::Truncated)?;
                    (b[24] & 0x08 != 0, b[24] & 0x07, b[25], sources)
                } else {
                    (false, 0, 0, &b[..0])
                };
                Ok(Self::Query {
                    max_resp_code: packet.max_resp_code(),
                    group: packet.mld_group(),
                    s_flag,
                    qrv,
                    qqic,
                    sources,
                })
            }
            Icmpv6Message::MldReport => Ok(Self::ReportV1 {
                group: packet.mld_group(),
            }),
            Icmpv6Message::MldDone => Ok(Self::Done {
                group: packet.mld_group(),
            }),
            _ => Ok(Self::ReportV2Records(MldRecords::parse(
                packet.mld_num_records(),
                &b[HEADER_LEN..],
            )?)),
        }
    }

    /// The message type.
    #[must_use]
    pub const fn msg_type(&self) -> Icmpv6Message {
        match self {
            Self::Query { .. } => Icmpv6Message::MldQuery,
            Self::ReportV1 { .. } => Icmpv6Message::MldReport,
            Self::Done { .. } => Icmpv6Message::MldDone,
            Self::ReportV2 { .. } | Self::ReportV2Records(_) => Icmpv6Message::MldReportV2,
        }
    }

    /// The message length.
    #[must_use]
    pub const fn buffer_len(&self) -> usize {
        match self {
            Self::Query { sources, .. } => 28 + sources.len(),
            Self::ReportV1 { .. } | Self::Done { .. } => 24,
            Self::ReportV2 { records } => HEADER_LEN + records.len() * MldRecord::LEN,
            Self::ReportV2Records(r) => HEADER_LEN + r.bytes.len(),
        }
    }

    /// The number of records of a report (0 for other messages).
    #[must_use]
    pub const fn num_records(&self) -> usize {
        match self {
            Self::ReportV2 { records } => records.len(),
            Self::ReportV2Records(r) => r.len(),
            _ => 0,
        }
    }

    /// The source addresses of a query (none for other messages).
    pub fn query_sources(&self) -> impl Iterator<Item = Ipv6Addr> + 'a {
        let sources: &'a [u8] = match *self {
            Self::Query { sources, .. } => sources,
            _ => &[],
        };
        sources.chunks_exact(16).map(ipv6_addr)
    }

    /// Writes the message after the type and checksum into `b`, exactly
    /// [`buffer_len`](Self::buffer_len) bytes long.
    fn emit_body(&self, b: &mut [u8]) {
        b[field::CODE] = 0;
        b[4..].fill(0);
        match *self {
            Self::Query {
                max_resp_code,
                group,
                s_flag,
                qrv,
                qqic,
                sources,
            } => {
                debug_assert!(sources.len() % 16 == 0, "MLD sources are 16 bytes each");
                put16(&mut b[field::WORD_A], max_resp_code);
                b[field::ADDR].copy_from_slice(&group.octets());
                b[24] = (u8::from(s_flag) << 3) | (qrv & 0x07);
                b[25] = qqic;
                put16(&mut b[26..28], (sources.len() / 16) as u16);
                b[28..].copy_from_slice(sources);
            }
            Self::ReportV1 { group } | Self::Done { group } => {
                b[field::ADDR].copy_from_slice(&group.octets());
            }
            Self::ReportV2 { records } => {
                put16(&mut b[field::WORD_B], records.len() as u16);
                for (rec, out) in records
                    .iter()
                    .zip(b[HEADER_LEN..].chunks_exact_mut(MldRecord::LEN))
                {
                    out[0] = rec.record_type;
                    out[4..20].copy_from_slice(&rec.group.octets());
                }
            }
            Self::ReportV2Records(r) => {
                put16(&mut b[field::WORD_B], r.count);
                b[HEADER_LEN..].copy_from_slice(r.bytes);
            }
        }
    }
}

/// An ICMPv6 message as plain values; data is borrowed from the packet (parse) or from the
/// caller (emit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Icmpv6Repr<'a> {
    /// Echo request (RFC 4443 §4.1).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Payload, echoed back by the reply.
        data: &'a [u8],
    },
    /// Echo reply (§4.2).
    EchoReply {
        /// Identifier copied from the request.
        ident: u16,
        /// Sequence number copied from the request.
        seq_no: u16,
        /// Payload copied from the request.
        data: &'a [u8],
    },
    /// Destination unreachable (§3.1).
    DstUnreachable {
        /// 0 no route, 1 administratively prohibited, 3 address unreachable (neighbour
        /// discovery failed), 4 port unreachable; others as received.
        code: u8,
        /// The quoted packet ([`linux_quote6`]).
        data: &'a [u8],
    },
    /// Packet too big (§3.2).
    PacketTooBig {
        /// The MTU of the next-hop link.
        mtu: u32,
        /// The quoted packet.
        data: &'a [u8],
    },
    /// Time exceeded (§3.3).
    TimeExceeded {
        /// 0 hop limit exceeded in transit, 1 fragment reassembly time exceeded.
        code: u8,
        /// The quoted packet.
        data: &'a [u8],
    },
    /// Parameter problem (§3.4).
    ParamProblem {
        /// 0 erroneous header field, 1 unrecognized next header, 2 unrecognized option.
        code: u8,
        /// The offset in the quoted packet of the offending byte.
        pointer: u32,
        /// The quoted packet.
        data: &'a [u8],
    },
    /// Neighbour discovery (types 133 to 137).
    Ndisc(NdiscRepr<'a>),
    /// Multicast listener discovery (types 130 to 132 and 143).
    Mld(MldRepr<'a>),
}

impl<'a> Icmpv6Repr<'a> {
    /// Parses a message carried from `src` to `dst` and verifies its checksum over the IPv6
    /// pseudo-header (`icmpv6_rcv`).
    ///
    /// # Errors
    /// [`Error::Truncated`] if shorter than its type's fixed part (or an MLD record or
    /// source list runs past the end), [`Error::BadChecksum`], [`Error::BadOption`] for
    /// malformed neighbour discovery options, and [`Error::Unsupported`] for a type not
    /// modeled here (node information, inverse neighbour discovery, multicast router
    /// discovery, …).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        src: Ipv6Addr,
        dst: Ipv6Addr,
        packet: &Icmpv6Packet<&'a T>,
    ) -> Result<Self> {
        packet.check_len()?;
        if !packet.verify_checksum(src, dst) {
            return Err(Error::BadChecksum);
        }
        let data: &'a [u8] = &packet.buffer.as_ref()[HEADER_LEN..];
        let code = packet.msg_code();
        match packet.msg_type() {
            Icmpv6Message::EchoRequest => Ok(Self::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            Icmpv6Message::EchoReply => Ok(Self::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            }),
            Icmpv6Message::DstUnreachable => Ok(Self::DstUnreachable { code, data }),
            Icmpv6Message::PacketTooBig => Ok(Self::PacketTooBig {
                mtu: packet.mtu(),
                data,
            }),
            Icmpv6Message::TimeExceeded => Ok(Self::TimeExceeded { code, data }),
            Icmpv6Message::ParamProblem => Ok(Self::ParamProblem {
                code,
                pointer: packet.pointer(),
                data,
            }),
            Icmpv6Message::RouterSolicit
            | Icmpv6Message::RouterAdvert
            | Icmpv6Message::NeighborSolicit
            | Icmpv6Message::NeighborAdvert
            | Icmpv6Message::Redirect => NdiscRepr::parse(packet).map(Self::Ndisc),
            Icmpv6Message::MldQuery
            | Icmpv6Message::MldReport
            | Icmpv6Message::MldDone
            | Icmpv6Message::MldReportV2 => MldRepr::parse(packet).map(Self::Mld),
            Icmpv6Message::Unknown(_) => Err(Error::Unsupported),
        }
    }

    /// The message type.
    #[must_use]
    pub const fn msg_type(&self) -> Icmpv6Message {
        match self {
            Self::EchoRequest { .. } => Icmpv6Message::EchoRequest,
            Self::EchoReply { .. } => Icmpv6Message::EchoReply,
            Self::DstUnreachable { .. } => Icmpv6Message::DstUnreachable,
            Self::PacketTooBig { .. } => Icmpv6Message::PacketTooBig,
            Self::TimeExceeded { .. } => Icmpv6Message::TimeExceeded,
            Self::ParamProblem { .. } => Icmpv6Message::ParamProblem,
            Self::Ndisc(n) => n.msg_type(),
            Self::Mld(m) => m.msg_type(),
        }
    }

    /// Whether this is an error message (types below 128, RFC 4443 §2.1): never sent in
    /// answer to another error (RFC 4443 §2.4 (e), `is_ineligible` in `icmp6_send`).
    #[must_use]
    pub const fn is_error(&self) -> bool {
        matches!(
            self,
            Self::DstUnreachable { .. }
                | Self::PacketTooBig { .. }
                | Self::TimeExceeded { .. }
                | Self::ParamProblem { .. }
        )
    }

    /// The message length.
    #[must_use]
    pub const fn buffer_len(&self) -> usize {
        match self {
            Self::EchoRequest { data, .. }
            | Self::EchoReply { data, .. }
            | Self::DstUnreachable { data, .. }
            | Self::PacketTooBig { data, .. }
            | Self::TimeExceeded { data, .. }
            | Self::ParamProblem { data, .. } => HEADER_LEN + data.len(),
            Self::Ndisc(n) => n.buffer_len(),
            Self::Mld(m) => m.buffer_len(),
        }
    }

    /// Writes the message into the first [`buffer_len`](Self::buffer_len) bytes of the
    /// packet (give a buffer of exactly that length, as the IPv6 payload) and fills the
    /// checksum for `src` → `dst`.
    ///
    /// # Panics
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        packet: &mut Icmpv6Packet<T>,
    ) {
        let len = self.buffer_len();
        let b = &mut packet.buffer.as_mut()[..len];
        b[field::TYPE] = self.msg_type().into();
        match *self {
            Self::EchoRequest {
                ident,
                seq_no,
                data,
            }
            | Self::EchoReply {
                ident,
                seq_no,
                data,
            } => {
                b[field::CODE] = 0;
                put16(&mut b[field::WORD_A], ident);
                put16(&mut b[field::WORD_B], seq_no);
                b[HEADER_LEN..].copy_from_slice(data);
            }
            Self::DstUnreachable { code, data } | Self::TimeExceeded { code, data } => {
                b[field::CODE] = code;
                put32(&mut b[field::LONG], 0);
                b[HEADER_LEN..].copy_from_slice(data);
            }
            Self::PacketTooBig { mtu, data } => {
                b[field::CODE] = 0;
                put32(&mut b[field::LONG], mtu);
                b[HEADER_LEN..].copy_from_slice(data);
            }
            Self::ParamProblem {
                code,
                pointer,
                data,
            } => {
                b[field::CODE] = code;
                put32(&mut b[field::LONG], pointer);
                b[HEADER_LEN..].copy_from_slice(data);
            }
            Self::Ndisc(n) => n.emit_body(b),
            Self::Mld(m) => m.emit_body(b),
        }
        Icmpv6Packet::new_unchecked(b).fill_checksum(src, dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::ipv6::{Ipv6Packet, skip_ext_headers};
    use crate::wire::tests::hex;
    use crate::wire::{EthernetFrame, IpProtocol};
    use proptest::prelude::*;

    /// Reference frames from reference-ipv6 (whole Ethernet frames, as captured).
    mod frames {
        /// client.pcap: MLDv2 report from `::`, 1 record (90 bytes).
        pub(super) const MLD_1: &str = "33330000001602000000000286dd600000000024000100000000000000000000000000000000ff0200000000000000000000000000163a000502000001008f006f880000000104000000ff0200000000000000000001ff000002";
        /// client.pcap: the router's MLDv2 report from `::`, 2 records (110 bytes).
        pub(super) const MLD_2: &str = "33330000001602000000000186dd600000000038000100000000000000000000000000000000ff0200000000000000000000000000163a000502000001008f006c6f0000000204000000ff0200000000000000000001ff00000104000000ff020000000000000000000000000002";
        /// client.pcap: the router's report from its link-local, 3 records (130 bytes).
        pub(super) const MLD_3: &str = "33330000001602000000000186dd60000000004c0001fe80000000000000000000fffe000001ff0200000000000000000000000000163a000502000001008f006cd30000000304000000ff0200000000000000000001ff00000004000000ff0200000000000000000001ff00000104000000ff020000000000000000000000000002";
        /// router_server_side.pcap: the router's eth1 report, 4 records (150 bytes).
        pub(super) const MLD_4: &str = "33330000001602000000010186dd6000000000600001fe80000000000000000000fffe000101ff0200000000000000000000000000163a000502000001008f0068b80000000404000000ff0200000000000000000001ff00000004000000ff0200000000000000000001ff00010104000000ff0200000000000000000001ff00000104000000ff020000000000000000000000000002";
        /// client.pcap: the router's DAD NS for fe80::ff:fe00:1, with a Nonce.
        pub(super) const DAD_NS: &str = "3333ff00000102000000000186dd6000000000203aff00000000000000000000000000000000ff0200000000000000000001ff00000187002b4100000000fe80000000000000000000fffe0000010e012a86c46354f1";
        /// client.pcap: the client's NS for its gateway 2001:db8::1, with SLLAO.
        pub(super) const NS: &str = "3333ff00000102000000000286dd6000000000203aff20010db8000000000000000000000002ff0200000000000000000001ff00000187001c270000000020010db80000000000000000000000010101020000000002";
        /// client.pcap: the router's NA (R S O) with TLLAO.
        pub(super) const NA_RSO: &str = "02000000000202000000000186dd6000000000203aff20010db800000000000000000000000120010db800000000000000000000000288000a73e000000020010db80000000000000000000000010201020000000001";
        /// client.pcap: the client's NA answering a unicast probe: S only, no TLLAO (78 bytes).
        pub(super) const NA_S: &str = "02000000000102000000000286dd6000000000183aff20010db8000000000000000000000002fe80000000000000000000fffe0000018800deb44000000020010db8000000000000000000000002";
        /// client.pcap: the client's RS with SLLAO (70 bytes).
        pub(super) const RS: &str = "33330000000202000000000286dd6000000000103afffe80000000000000000000fffe000002ff02000000000000000000000000000285007b2a000000000101020000000002";
    }

    /// The IPv6 addresses and the ICMPv6 message of a whole frame.
    fn icmp_of(frame: &[u8]) -> (Ipv6Addr, Ipv6Addr, Vec<u8>) {
        let eth = EthernetFrame::new_checked(frame).unwrap();
        let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
        let walk = skip_ext_headers(ip.payload(), ip.next_header()).unwrap();
        assert_eq!(walk.protocol, IpProtocol::Icmpv6);
        (
            ip.src_addr(),
            ip.dst_addr(),
            ip.payload()[walk.offset..].to_vec(),
        )
    }

    /// Parses the message of `frame`, checks that re-emitting it gives the same bytes, and
    /// returns the repr (owning nothing: the bytes are leaked for the test's lifetime).
    fn parse_and_reemit(frame: &str) -> (Ipv6Addr, Ipv6Addr, Icmpv6Repr<'static>) {
        let (src, dst, bytes) = icmp_of(&hex(frame));
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        let repr = Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_checked(bytes).unwrap())
            .unwrap_or_else(|e| panic!("{e}: {frame}"));
        assert_eq!(repr.buffer_len(), bytes.len());
        let mut out = vec![0xa5u8; bytes.len()];
        repr.emit(src, dst, &mut Icmpv6Packet::new_unchecked(&mut out[..]));
        assert_eq!(out, bytes, "{repr:?}");
        (src, dst, repr)
    }

    fn addr(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn mac(last: u8) -> EthernetAddress {
        EthernetAddress([2, 0, 0, 0, 0, last])
    }

    #[test]
    fn reference_neighbor_discovery() {
        let (src, dst, repr) = parse_and_reemit(frames::DAD_NS);
        assert_eq!((src, dst), (Ipv6Addr::UNSPECIFIED, addr("ff02::1:ff00:1")));
        assert_eq!(
            repr,
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                target: addr("fe80::ff:fe00:1"),
                lladdr: None,
                nonce: Some([0x2a, 0x86, 0xc4, 0x63, 0x54, 0xf1]),
            })
        );
        let (_, _, repr) = parse_and_reemit(frames::NS);
        assert_eq!(
            repr,
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                target: addr("2001:db8::1"),
                lladdr: Some(mac(2)),
                nonce: None,
            })
        );
        let (_, _, repr) = parse_and_reemit(frames::NA_RSO);
        assert_eq!(
            repr,
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                flags: NdiscNeighborFlags::ROUTER
                    | NdiscNeighborFlags::SOLICITED
                    | NdiscNeighborFlags::OVERRIDE,
                target: addr("2001:db8::1"),
                lladdr: Some(mac(1)),
            })
        );
        let (_, _, repr) = parse_and_reemit(frames::NA_S);
        assert_eq!(
            repr,
            Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                flags: NdiscNeighborFlags::SOLICITED,
                target: addr("2001:db8::2"),
                lladdr: None,
            })
        );
        let (src, dst, repr) = parse_and_reemit(frames::RS);
        assert_eq!((src, dst), (addr("fe80::ff:fe00:2"), addr("ff02::2")));
        assert_eq!(
            repr,
            Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit {
                lladdr: Some(mac(2))
            })
        );
    }

    #[test]
    fn reference_mldv2_reports() {
        let cases: [(&str, &[(u8, &str)]); 4] = [
            (frames::MLD_1, &[(4, "ff02::1:ff00:2")]),
            (frames::MLD_2, &[(4, "ff02::1:ff00:1"), (4, "ff02::2")]),
            (
                frames::MLD_3,
                &[(4, "ff02::1:ff00:0"), (4, "ff02::1:ff00:1"), (4, "ff02::2")],
            ),
            (
                frames::MLD_4,
                &[
                    (4, "ff02::1:ff00:0"),
                    (4, "ff02::1:ff00:101"),
                    (4, "ff02::1:ff00:1"),
                    (4, "ff02::2"),
                ],
            ),
        ];
        for (frame, want) in cases {
            let (_, dst, repr) = parse_and_reemit(frame);
            assert_eq!(dst, crate::wire::ipv6::ALL_MLDV2_ROUTERS);
            let Icmpv6Repr::Mld(mld @ MldRepr::ReportV2Records(records)) = repr else {
                panic!("not an MLDv2 report: {repr:?}");
            };
            assert_eq!(mld.num_records(), want.len());
            let want: Vec<MldRecord> = want
                .iter()
                .map(|&(record_type, g)| MldRecord {
                    record_type,
                    group: addr(g),
                })
                .collect();
            assert_eq!(records.iter().collect::<Vec<_>>(), want);
            // Emitting the list gives the same bytes as the capture.
            let (src, dst, bytes) = icmp_of(&hex(frame));
            let list = Icmpv6Repr::Mld(MldRepr::ReportV2 { records: &want });
            let mut out = vec![0u8; list.buffer_len()];
            list.emit(src, dst, &mut Icmpv6Packet::new_unchecked(&mut out[..]));
            assert_eq!(out, bytes);
            // And the whole frame's IPv6 payload starts with the Hop-by-Hop Router Alert.
            let mut hbh = [0u8; 8];
            crate::wire::ipv6::emit_hbh_router_alert(&mut hbh, IpProtocol::Icmpv6);
            assert_eq!(&hex(frame)[54..62], &hbh[..]);
        }
    }

    /// Whether the checksum verifies when the pseudo-header is spelled out as bytes
    /// (RFC 8200 §8.1) and summed with the message, independently of `pseudo_header_v6`.
    fn checksum_ok_by_bytes(src: Ipv6Addr, dst: Ipv6Addr, bytes: &[u8]) -> bool {
        let mut all = Vec::new();
        all.extend_from_slice(&src.octets());
        all.extend_from_slice(&dst.octets());
        all.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
        all.extend_from_slice(&[0, 0, 0, 58]);
        all.extend_from_slice(bytes);
        checksum::data(&all) == 0xffff
    }

    /// Every emitted message's checksum agrees with etherparse's ICMPv6 checksum (for the
    /// types etherparse decodes with an 8-byte header: echo and errors).
    fn etherparse_checksum_ok(src: Ipv6Addr, dst: Ipv6Addr, bytes: &[u8]) -> bool {
        let (h, rest) = etherparse::Icmpv6Header::from_slice(bytes).unwrap();
        h.icmp_type
            .calc_checksum(src.octets(), dst.octets(), rest)
            .unwrap()
            == h.checksum
    }

    #[test]
    fn echo_and_errors() {
        let (a, b) = (addr("2001:db8::2"), addr("2001:db8:1::80"));
        let data: Vec<u8> = (0..56).collect();
        let echo = Icmpv6Repr::EchoRequest {
            ident: 0x1234,
            seq_no: 1,
            data: &data,
        };
        let mut buf = vec![0u8; echo.buffer_len()];
        echo.emit(a, b, &mut Icmpv6Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..2], &[128, 0]);
        assert!(etherparse_checksum_ok(a, b, &buf));
        let p = Icmpv6Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Icmpv6Repr::parse(a, b, &p), Ok(echo));
        assert_eq!(Icmpv6Repr::parse(a, a, &p), Err(Error::BadChecksum));
        assert_eq!(
            etherparse::Icmpv6Slice::from_slice(&buf)
                .unwrap()
                .icmp_type(),
            etherparse::Icmpv6Type::EchoRequest(etherparse::IcmpEchoHeader { id: 0x1234, seq: 1 })
        );

        let big = vec![0x60u8; 1500];
        let quote = linux_quote6(&big);
        assert_eq!(quote.len(), 1232);
        assert_eq!(linux_quote6(&big[..100]).len(), 100);
        let ptb = Icmpv6Repr::PacketTooBig {
            mtu: 1400,
            data: quote,
        };
        assert_eq!(ptb.buffer_len() + 40, 1280);
        let mut buf = vec![0u8; ptb.buffer_len()];
        ptb.emit(b, a, &mut Icmpv6Packet::new_unchecked(&mut buf[..]));
        assert_eq!(&buf[..2], &[2, 0]);
        assert_eq!(&buf[4..8], &1400u32.to_be_bytes());
        assert!(etherparse_checksum_ok(b, a, &buf));
        assert!(ptb.is_error() && !echo.is_error());
    }

    #[test]
    fn option_errors_and_unknown_options() {
        let (src, dst) = (addr("fe80::ff:fe00:2"), addr("ff02::2"));
        let check = |body: &[u8]| {
            let buf: &'static mut [u8] = Box::leak(body.to_vec().into_boxed_slice());
            Icmpv6Packet::new_unchecked(&mut buf[..]).fill_checksum(src, dst);
            let buf: &'static [u8] = buf;
            Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_unchecked(buf))
        };
        // An RS with an unknown option (type 99) before the SLLAO: skipped.
        let rs = hex("8500 0000 00000000 6301 000000000000 0101 020000000002");
        assert_eq!(
            check(&rs),
            Ok(Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit {
                lladdr: Some(mac(2))
            }))
        );
        // Length 0, an option past the end, a lone byte, a 16-byte SLLAO.
        assert_eq!(
            check(&hex("8500 0000 00000000 0100 020000000002")),
            Err(Error::BadOption)
        );
        assert_eq!(
            check(&hex("8500 0000 00000000 0102 020000000002")),
            Err(Error::BadOption)
        );
        assert_eq!(check(&hex("8500 0000 00000000 01")), Err(Error::BadOption));
        assert_eq!(
            check(&hex(
                "8500 0000 00000000 0102 020000000002 0000000000000000"
            )),
            Err(Error::BadOption)
        );
        // A first Nonce of the wrong length is ignored, and so is a second one after it.
        let ns = hex(
            "8700 0000 00000000 fe800000000000000000000000000001 0e02 000000000000 0000000000000000
             0e01 010203040506",
        );
        assert!(matches!(
            check(&ns),
            Ok(Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                nonce: None,
                ..
            }))
        ));
        // An RA whose MTU option is two units long still gives its MTU; a prefix option of
        // three units is skipped and the next one is kept.
        let ra = hex("8600 0000 40000708 00000000 00000000
             0502 0000 000005dc 0000000000000000
             0303 40c0 00000001 00000002 00000000 2001 0db8 0000 0000
             0304 40c0 00000001 00000002 00000000 20010db8000100000000000000000000");
        let Ok(Icmpv6Repr::Ndisc(NdiscRepr::RouterAdvert {
            mtu,
            prefix_info,
            router_lifetime,
            ..
        })) = check(&ra)
        else {
            panic!("{:?}", check(&ra));
        };
        assert_eq!((mtu, router_lifetime), (Some(1500), 1800));
        assert_eq!(prefix_info.map(|p| p.prefix), Some(addr("2001:db8:1::")));
        // Truncated fixed parts, unknown types.
        assert_eq!(
            check(&hex("8700 0000 00000000 fe80")),
            Err(Error::Truncated)
        );
        assert_eq!(check(&hex("8200 0000 0000 0000")), Err(Error::Truncated));
        assert_eq!(check(&hex("8b00 0000 0000 0000")), Err(Error::Unsupported));
    }

    #[test]
    fn router_advert_and_redirect() {
        let (src, dst) = (addr("fe80::ff:fe00:1"), addr("ff02::1"));
        let ra = Icmpv6Repr::Ndisc(NdiscRepr::RouterAdvert {
            hop_limit: 64,
            flags: 0x40,
            router_lifetime: 1800,
            reachable_time: 30_000,
            retrans_time: 1000,
            lladdr: Some(mac(1)),
            mtu: Some(1500),
            prefix_info: Some(NdiscPrefixInfo {
                prefix_len: 64,
                flags: NdiscPrefixInfo::ON_LINK | NdiscPrefixInfo::AUTONOMOUS,
                valid_lifetime: 86_400,
                preferred_lifetime: 14_400,
                prefix: addr("2001:db8::"),
            }),
        });
        assert_eq!(ra.buffer_len(), 64);
        let mut buf = vec![0u8; ra.buffer_len()];
        ra.emit(src, dst, &mut Icmpv6Packet::new_unchecked(&mut buf[..]));
        assert!(checksum_ok_by_bytes(src, dst, &buf));
        assert_eq!(
            Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_checked(&buf[..]).unwrap()),
            Ok(ra)
        );
        let quote = [0x60u8; 48];
        let redirect = Icmpv6Repr::Ndisc(NdiscRepr::Redirect {
            target: addr("fe80::ff:fe00:101"),
            dest: addr("2001:db8:1::80"),
            lladdr: Some(mac(1)),
            redirected: &quote,
        });
        let mut buf = vec![0u8; redirect.buffer_len()];
        redirect.emit(src, dst, &mut Icmpv6Packet::new_unchecked(&mut buf[..]));
        assert_eq!(buf.len(), 40 + 8 + 8 + 48);
        assert_eq!(
            Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_checked(&buf[..]).unwrap()),
            Ok(redirect)
        );
    }

    #[test]
    fn mld_queries_v1_and_v2() {
        let (src, dst) = (addr("fe80::1"), addr("ff02::1"));
        let v1 = hex("8200 0000 2710 0000 00000000000000000000000000000000");
        let mut buf = v1.clone();
        Icmpv6Packet::new_unchecked(&mut buf[..]).fill_checksum(src, dst);
        let q = Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_checked(&buf[..]).unwrap());
        assert_eq!(
            q,
            Ok(Icmpv6Repr::Mld(MldRepr::Query {
                max_resp_code: 10_000,
                group: Ipv6Addr::UNSPECIFIED,
                s_flag: false,
                qrv: 0,
                qqic: 0,
                sources: &[],
            }))
        );
        let sources = hex("20010db8000000000000000000000001 20010db8000000000000000000000002");
        let v2 = Icmpv6Repr::Mld(MldRepr::Query {
            max_resp_code: 1000,
            group: addr("ff05::1:3"),
            s_flag: true,
            qrv: 2,
            qqic: 125,
            sources: &sources,
        });
        let mut buf = vec![0u8; v2.buffer_len()];
        v2.emit(src, dst, &mut Icmpv6Packet::new_unchecked(&mut buf[..]));
        assert!(checksum_ok_by_bytes(src, dst, &buf));
        let parsed = Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_checked(&buf[..]).unwrap());
        assert_eq!(parsed, Ok(v2));
        let Ok(Icmpv6Repr::Mld(m)) = parsed else {
            unreachable!()
        };
        assert_eq!(
            m.query_sources().collect::<Vec<_>>(),
            [addr("2001:db8::1"), addr("2001:db8::2")]
        );
        // 26 bytes is neither MLDv1 nor MLDv2; a source list past the end is truncated.
        let mut short = buf[..26].to_vec();
        Icmpv6Packet::new_unchecked(&mut short[..]).fill_checksum(src, dst);
        assert_eq!(
            Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_unchecked(&short[..])),
            Err(Error::Truncated)
        );
        let mut cut = buf[..44].to_vec();
        Icmpv6Packet::new_unchecked(&mut cut[..]).fill_checksum(src, dst);
        assert_eq!(
            Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_unchecked(&cut[..])),
            Err(Error::Truncated)
        );
    }

    /// The numbers a generated repr is made of.
    type Nums = (u16, u16, u32, u32, u8, u8, bool, u128, u128, [u8; 6]);

    /// A repr of kind `kind` (0 to 16) from `n`; `data` (a multiple of 16 bytes: MLD
    /// sources, the redirected header) and `records` are borrowed.
    fn make<'a>(kind: u8, n: Nums, data: &'a [u8], records: &'a [MldRecord]) -> Icmpv6Repr<'a> {
        let (a, b, c, d, e, f, flag, x, y, m) = n;
        let mac = flag.then_some(EthernetAddress(m));
        let (x, y) = (Ipv6Addr::from_bits(x), Ipv6Addr::from_bits(y));
        match kind {
            0 => Icmpv6Repr::EchoRequest {
                ident: a,
                seq_no: b,
                data,
            },
            1 => Icmpv6Repr::EchoReply {
                ident: a,
                seq_no: b,
                data,
            },
            2 => Icmpv6Repr::DstUnreachable { code: e, data },
            3 => Icmpv6Repr::PacketTooBig { mtu: c, data },
            4 => Icmpv6Repr::TimeExceeded { code: e, data },
            5 => Icmpv6Repr::ParamProblem {
                code: e,
                pointer: c,
                data,
            },
            6 => Icmpv6Repr::Ndisc(NdiscRepr::RouterSolicit { lladdr: mac }),
            7 => Icmpv6Repr::Ndisc(NdiscRepr::RouterAdvert {
                hop_limit: e,
                flags: f,
                router_lifetime: a,
                reachable_time: c,
                retrans_time: d,
                lladdr: mac,
                mtu: (b & 1 == 1).then_some(d),
                prefix_info: (b & 2 == 2).then_some(NdiscPrefixInfo {
                    prefix_len: f,
                    flags: e,
                    valid_lifetime: c,
                    preferred_lifetime: d,
                    prefix: x,
                }),
            }),
            8 => Icmpv6Repr::Ndisc(NdiscRepr::NeighborSolicit {
                target: x,
                lladdr: mac,
                nonce: (b & 1 == 1).then_some(m),
            }),
            9 => Icmpv6Repr::Ndisc(NdiscRepr::NeighborAdvert {
                flags: NdiscNeighborFlags::from_bits(f),
                target: x,
                lladdr: mac,
            }),
            10 => Icmpv6Repr::Ndisc(NdiscRepr::Redirect {
                target: x,
                dest: y,
                lladdr: mac,
                redirected: data,
            }),
            11 => Icmpv6Repr::Mld(MldRepr::Query {
                max_resp_code: a,
                group: x,
                s_flag: flag,
                qrv: e & 7,
                qqic: f,
                sources: data,
            }),
            12 => Icmpv6Repr::Mld(MldRepr::ReportV1 { group: x }),
            13 => Icmpv6Repr::Mld(MldRepr::Done { group: x }),
            _ => Icmpv6Repr::Mld(MldRepr::ReportV2 { records }),
        }
    }

    proptest! {
        #[test]
        fn roundtrip(
            words in 0usize..5,
            seed in any::<u8>(),
            records in proptest::collection::vec((1u8..7, any::<u128>()), 0..6),
            src in any::<u128>(), dst in any::<u128>(),
            kind in 0u8..15, nums in any::<Nums>(),
        ) {
            let data: Vec<u8> = (0..words * 16).map(|i| seed.wrapping_add(i as u8)).collect();
            let records: Vec<MldRecord> = records
                .into_iter()
                .map(|(t, g)| MldRecord { record_type: t, group: Ipv6Addr::from_bits(g) })
                .collect();
            let (src, dst) = (Ipv6Addr::from_bits(src), Ipv6Addr::from_bits(dst));
            let repr = make(kind, nums, &data, &records);
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(src, dst, &mut Icmpv6Packet::new_unchecked(&mut buf[..]));
            prop_assert!(checksum_ok_by_bytes(src, dst, &buf));
            if kind < 6 {
                prop_assert!(etherparse_checksum_ok(src, dst, &buf));
            }
            let parsed = Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_checked(&buf[..]).unwrap()).unwrap();
            match (repr, parsed) {
                (Icmpv6Repr::Mld(MldRepr::ReportV2 { records }), Icmpv6Repr::Mld(MldRepr::ReportV2Records(got))) => {
                    prop_assert_eq!(got.iter().collect::<Vec<_>>(), records.to_vec());
                }
                (repr, parsed) => prop_assert_eq!(parsed, repr),
            }
        }

        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..120), t in 128u8..144) {
            let (src, dst) = (Ipv6Addr::UNSPECIFIED, Ipv6Addr::LOCALHOST);
            let _ = Icmpv6Repr::parse(src, dst, &Icmpv6Packet::new_unchecked(&buf[..]));
            // The same bytes as an ND/MLD type with a correct checksum, to get past it.
            let mut buf = buf;
            if buf.len() >= 4 {
                buf[0] = t;
                Icmpv6Packet::new_unchecked(&mut buf[..]).fill_checksum(src, dst);
            }
            if let Ok(p) = Icmpv6Packet::new_checked(&buf[..]) {
                if let Ok(Icmpv6Repr::Mld(m @ MldRepr::ReportV2Records(r))) = Icmpv6Repr::parse(src, dst, &p) {
                    prop_assert_eq!(r.iter().count(), m.num_records());
                }
            }
        }
    }
}
