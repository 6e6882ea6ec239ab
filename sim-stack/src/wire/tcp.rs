//! TCP segments (RFC 9293) with their options, over IPv4 or IPv6 (the checksum's
//! pseudo-header is generic over the address family: [`PseudoHeader`]).
//!
//! Options are kept as the bytes they occupy, in order, in a fixed 40-byte [`TcpOptions`]
//! (no allocation, `Copy`). The stack builds them from a list in exactly the order Linux
//! uses —
//! * SYN and SYN-ACK: `MSS, SACK_PERM, TS, NOP, WS` — `02 04 05 b4 04 02 08 0a <tsval>
//!   <tsecr> 01 03 03 0a`, 20 bytes, a 40-byte header;
//! * established segments: `NOP, NOP, TS` — 12 bytes, a 32-byte header;
//!
//! and parsing reads options in any order. An option list whose length is not a multiple of
//! 4 is padded with zero bytes (EOL) on emit; parsing stops at an EOL and drops it and what
//! follows, so a list given without EOL comes back unchanged.
//!
//! Options are parsed like Linux's `tcp_parse_options`: a known kind with the wrong length is
//! not an error (it comes back as [`TcpOption::Unknown`]); only a length that breaks the
//! framing (below 2, or past the header) is [`Error::BadOption`].

use core::fmt;
use core::ops;

use super::checksum::PseudoHeader;
use super::{Error, Result, be16, be32, checksum, put16, put32};

/// The TCP header length without options.
pub const HEADER_LEN: usize = 20;
/// The most option bytes a header can hold (data offset 15 × 4 − 20).
pub const MAX_OPTIONS_LEN: usize = 40;
const PROTOCOL: u8 = 6;

/// The control bits, including the ECN bits (ECE, CWR) and AE (formerly NS).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct TcpFlags(u16);

impl TcpFlags {
    /// No more data from the sender.
    pub const FIN: Self = Self(0x001);
    /// Synchronise sequence numbers.
    pub const SYN: Self = Self(0x002);
    /// Reset the connection.
    pub const RST: Self = Self(0x004);
    /// Push.
    pub const PSH: Self = Self(0x008);
    /// The acknowledgment number is valid.
    pub const ACK: Self = Self(0x010);
    /// The urgent pointer is valid.
    pub const URG: Self = Self(0x020);
    /// ECN echo.
    pub const ECE: Self = Self(0x040);
    /// Congestion window reduced.
    pub const CWR: Self = Self(0x080);
    /// Accurate ECN (the former NS bit, in the data-offset byte).
    pub const AE: Self = Self(0x100);
    /// No flags.
    pub const NONE: Self = Self(0);

    /// The flags from their 9-bit value (higher bits are dropped).
    #[must_use]
    pub const fn from_bits(bits: u16) -> Self {
        Self(bits & 0x1ff)
    }

    /// The 9-bit value.
    #[must_use]
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether every flag of `other` is set.
    #[must_use]
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Sets the flags of `other`.
    pub const fn insert(&mut self, other: Self) {
        self.0 |= other.0;
    }

    /// Clears the flags of `other`.
    pub const fn remove(&mut self, other: Self) {
        self.0 &= !other.0;
    }
}

impl ops::BitOr for TcpFlags {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl ops::BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, rhs: Self) {
        self.0 |= rhs.0;
    }
}

impl ops::BitAnd for TcpFlags {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

impl fmt::Display for TcpFlags {
    /// tcpdump's letters in tcpdump's order — `S`, `S.`, `.`, `P.`, `F.`, `R` — or `none`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const LETTERS: [(TcpFlags, char); 9] = [
            (TcpFlags::FIN, 'F'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::ACK, '.'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
            (TcpFlags::AE, 'e'),
        ];
        if self.is_empty() {
            return f.write_str("none");
        }
        for (flag, letter) in LETTERS {
            if self.contains(flag) {
                fmt::Write::write_char(f, letter)?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TcpFlags[{self}]")
    }
}

/// Up to four SACK blocks (`left`, `right` edges), the most 40 option bytes can carry.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SackBlocks {
    len: u8,
    // Unused entries are always zero, so the derived equality compares only the used ones.
    blocks: [(u32, u32); 4],
}

impl SackBlocks {
    /// The blocks of `blocks`, or `None` if there are more than four.
    #[must_use]
    pub fn new(blocks: &[(u32, u32)]) -> Option<Self> {
        if blocks.len() > 4 {
            return None;
        }
        let mut out = Self::default();
        out.blocks[..blocks.len()].copy_from_slice(blocks);
        out.len = blocks.len() as u8;
        Some(out)
    }

    /// The blocks.
    #[must_use]
    pub fn as_slice(&self) -> &[(u32, u32)] {
        &self.blocks[..usize::from(self.len)]
    }
}

impl fmt::Debug for SackBlocks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

/// One TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpOption<'a> {
    /// Kind 0: end of the option list.
    EndOfList,
    /// Kind 1: padding between options.
    NoOp,
    /// Kind 2: maximum segment size (SYN only).
    MaxSegmentSize(u16),
    /// Kind 3: window scale shift (SYN only).
    WindowScale(u8),
    /// Kind 4: SACK permitted (SYN only).
    SackPermitted,
    /// Kind 5: selective acknowledgement blocks.
    Sack(SackBlocks),
    /// Kind 8: timestamps.
    Timestamp {
        /// The sender's timestamp clock.
        tsval: u32,
        /// The echoed timestamp (0 on a SYN).
        tsecr: u32,
    },
    /// Any other kind, or a known kind with a wrong length; `data` excludes kind and length.
    Unknown {
        /// The option kind.
        kind: u8,
        /// The bytes after the length byte.
        data: &'a [u8],
    },
}

mod kind {
    pub(super) const EOL: u8 = 0;
    pub(super) const NOP: u8 = 1;
    pub(super) const MSS: u8 = 2;
    pub(super) const WS: u8 = 3;
    pub(super) const SACK_PERM: u8 = 4;
    pub(super) const SACK: u8 = 5;
    pub(super) const TS: u8 = 8;
    pub(super) const FASTOPEN: u8 = 34;
    pub(super) const EXP: u8 = 254;
}

/// The magic that makes an experimental option (kind 254) a Fast Open one
/// (`TCPOPT_FASTOPEN_MAGIC`).
pub const FASTOPEN_MAGIC: u16 = 0xF989;

impl<'a> TcpOption<'a> {
    /// The bytes this option takes.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        match self {
            Self::EndOfList | Self::NoOp => 1,
            Self::MaxSegmentSize(_) => 4,
            Self::WindowScale(_) => 3,
            Self::SackPermitted => 2,
            Self::Sack(blocks) => 2 + 8 * blocks.as_slice().len(),
            Self::Timestamp { .. } => 10,
            Self::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes the option at the start of `buf` and returns its length.
    ///
    /// # Panics
    /// If `buf` is shorter than [`buffer_len`](Self::buffer_len), or the data of an
    /// [`TcpOption::Unknown`] is longer than 253 bytes.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        match *self {
            Self::EndOfList => buf[0] = kind::EOL,
            Self::NoOp => buf[0] = kind::NOP,
            Self::MaxSegmentSize(mss) => {
                buf[..2].copy_from_slice(&[kind::MSS, 4]);
                put16(&mut buf[2..], mss);
            }
            Self::WindowScale(shift) => buf.copy_from_slice(&[kind::WS, 3, shift]),
            Self::SackPermitted => buf.copy_from_slice(&[kind::SACK_PERM, 2]),
            Self::Sack(blocks) => {
                buf[..2].copy_from_slice(&[kind::SACK, len as u8]);
                for (i, &(left, right)) in blocks.as_slice().iter().enumerate() {
                    put32(&mut buf[2 + 8 * i..], left);
                    put32(&mut buf[6 + 8 * i..], right);
                }
            }
            Self::Timestamp { tsval, tsecr } => {
                buf[..2].copy_from_slice(&[kind::TS, 10]);
                put32(&mut buf[2..], tsval);
                put32(&mut buf[6..], tsecr);
            }
            Self::Unknown { kind, data } => {
                buf[0] = kind;
                buf[1] = u8::try_from(len).expect("TCP option data over 253 bytes");
                buf[2..].copy_from_slice(data);
            }
        }
        len
    }

    /// Reads the option at the start of `buf` (which must not be empty) and returns it with
    /// its length.
    ///
    /// # Errors
    /// [`Error::BadOption`] if the length byte is missing, below 2, or past the end of `buf`.
    pub fn parse(buf: &'a [u8]) -> Result<(Self, usize)> {
        match buf.first() {
            None => Err(Error::BadOption),
            Some(&kind::EOL) => Ok((Self::EndOfList, 1)),
            Some(&kind::NOP) => Ok((Self::NoOp, 1)),
            Some(&kind) => {
                let len = usize::from(*buf.get(1).ok_or(Error::BadOption)?);
                if len < 2 || len > buf.len() {
                    return Err(Error::BadOption);
                }
                let data = &buf[2..len];
                let option = match (kind, len) {
                    (kind::MSS, 4) => Self::MaxSegmentSize(be16(data)),
                    (kind::WS, 3) => Self::WindowScale(data[0]),
                    (kind::SACK_PERM, 2) => Self::SackPermitted,
                    (kind::SACK, 10 | 18 | 26 | 34) => {
                        let mut blocks = SackBlocks::default();
                        for (i, block) in data.chunks_exact(8).enumerate() {
                            blocks.blocks[i] = (be32(&block[..4]), be32(&block[4..]));
                        }
                        blocks.len = (data.len() / 8) as u8;
                        Self::Sack(blocks)
                    }
                    (kind::TS, 10) => Self::Timestamp {
                        tsval: be32(&data[..4]),
                        tsecr: be32(&data[4..]),
                    },
                    _ => Self::Unknown { kind, data },
                };
                Ok((option, len))
            }
        }
    }
}

/// NOP, NOP, then the kind and length of a timestamp option: the word Linux tests for the
/// usual layout of an established connection's options (`TCPOLEN_TSTAMP_ALIGNED`).
const ALIGNED_TS: [u8; 4] = [kind::NOP, kind::NOP, kind::TS, 10];

/// The options of one segment, in order, as the bytes they occupy (up to 40, unpadded).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpOptions {
    // Bytes past `len` are always zero, so the derived equality is that of the lists.
    bytes: [u8; MAX_OPTIONS_LEN],
    len: u8,
}

impl Default for TcpOptions {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl TcpOptions {
    /// No options.
    pub const EMPTY: Self = Self {
        bytes: [0; MAX_OPTIONS_LEN],
        len: 0,
    };

    /// The options of `list`, in that order.
    ///
    /// # Errors
    /// [`Error::OptionsTooLong`] if they need more than 40 bytes.
    pub fn new(list: &[TcpOption<'_>]) -> Result<Self> {
        let mut out = Self::EMPTY;
        for option in list {
            out.push(option)?;
        }
        Ok(out)
    }

    /// Appends one option.
    ///
    /// # Errors
    /// [`Error::OptionsTooLong`] if it does not fit in 40 bytes (the list is unchanged).
    pub fn push(&mut self, option: &TcpOption<'_>) -> Result<()> {
        let at = usize::from(self.len);
        if at + option.buffer_len() > MAX_OPTIONS_LEN {
            return Err(Error::OptionsTooLong);
        }
        self.len += option.emit(&mut self.bytes[at..]) as u8;
        Ok(())
    }

    /// The options of an established connection's segment as `tcp_options_write` lays them
    /// out: NOP NOP TS when `ts` is given, then NOP NOP SACK with the `sack` blocks when
    /// there are any; written in place, with no list to encode.
    ///
    /// # Panics
    /// If they do not fit in 40 bytes (more than 3 blocks with a timestamp, 4 without).
    #[must_use]
    pub fn established(ts: Option<(u32, u32)>, sack: &[(u32, u32)]) -> Self {
        let mut out = Self::EMPTY;
        let mut at = 0;
        if let Some((tsval, tsecr)) = ts {
            out.bytes[..4].copy_from_slice(&ALIGNED_TS);
            put32(&mut out.bytes[4..], tsval);
            put32(&mut out.bytes[8..], tsecr);
            at = 12;
        }
        if !sack.is_empty() {
            let len = 2 + 8 * sack.len();
            assert!(
                at + 2 + len <= MAX_OPTIONS_LEN,
                "SACK blocks beyond 40 bytes"
            );
            out.bytes[at..at + 4].copy_from_slice(&[kind::NOP, kind::NOP, kind::SACK, len as u8]);
            for (i, &(left, right)) in sack.iter().enumerate() {
                put32(&mut out.bytes[at + 4 + 8 * i..], left);
                put32(&mut out.bytes[at + 8 + 8 * i..], right);
            }
            at += 2 + len;
        }
        out.len = at as u8;
        out
    }

    /// Reads the options area of a header, validating its framing. Parsing stops at the
    /// first EOL, which is dropped along with everything after it.
    ///
    /// # Errors
    /// [`Error::BadOption`] for a malformed option, [`Error::OptionsTooLong`] for more than
    /// 40 bytes.
    #[inline(always)]
    pub fn parse(area: &[u8]) -> Result<Self> {
        if area.len() > MAX_OPTIONS_LEN {
            return Err(Error::OptionsTooLong);
        }
        // tcp_parse_aligned_timestamp: NOP NOP TS first, as every Linux segment after the
        // handshake has it, is valid as a whole word test.
        let mut at = if area.starts_with(&ALIGNED_TS) && area.len() >= 12 {
            12
        } else {
            0
        };
        while at < area.len() {
            let (option, len) = TcpOption::parse(&area[at..])?;
            if option == TcpOption::EndOfList {
                break;
            }
            at += len;
        }
        let mut out = Self::EMPTY;
        out.bytes[..at].copy_from_slice(&area[..at]);
        out.len = at as u8;
        Ok(out)
    }

    /// The option bytes, unpadded.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The number of option bytes, unpadded.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len as usize
    }

    /// Whether there are no options.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes they take in a header: the length rounded up to a multiple of 4.
    #[must_use]
    pub const fn padded_len(&self) -> usize {
        (self.len as usize + 3) & !3
    }

    /// The options, in order.
    #[must_use]
    pub fn iter(&self) -> TcpOptionsIter<'_> {
        TcpOptionsIter {
            rest: self.as_bytes(),
        }
    }

    /// The MSS option's value, if present.
    #[must_use]
    pub fn mss(&self) -> Option<u16> {
        self.iter().find_map(|o| match o {
            TcpOption::MaxSegmentSize(v) => Some(v),
            _ => None,
        })
    }

    /// The window scale shift, if present.
    #[must_use]
    pub fn window_scale(&self) -> Option<u8> {
        self.iter().find_map(|o| match o {
            TcpOption::WindowScale(v) => Some(v),
            _ => None,
        })
    }

    /// Whether SACK_PERM is present.
    #[must_use]
    pub fn sack_permitted(&self) -> bool {
        self.iter().any(|o| o == TcpOption::SackPermitted)
    }

    /// The timestamps `(tsval, tsecr)`, if present.
    #[must_use]
    pub fn timestamp(&self) -> Option<(u32, u32)> {
        if self.bytes.starts_with(&ALIGNED_TS) && self.len >= 12 {
            return Some((be32(&self.bytes[4..8]), be32(&self.bytes[8..12])));
        }
        self.iter().find_map(|o| match o {
            TcpOption::Timestamp { tsval, tsecr } => Some((tsval, tsecr)),
            _ => None,
        })
    }

    /// Whether a TCP MD5 signature (kind 19, RFC 2385) is present.
    #[must_use]
    #[inline(always)]
    pub fn md5_sig(&self) -> bool {
        // The usual layouts first: no options, or timestamps alone.
        if self.len == 0 || (self.len == 12 && self.bytes.starts_with(&ALIGNED_TS)) {
            return false;
        }
        self.iter()
            .any(|o| matches!(o, TcpOption::Unknown { kind: 19, .. }))
    }

    /// The Fast Open option (kind 34, RFC 7413, or the experimental kind 254 with magic
    /// 0xF989), if present: the bytes after its kind and length (after the magic for the
    /// experimental one; none for a cookie request), and whether it is the experimental one.
    #[must_use]
    pub fn fast_open(&self) -> Option<(&[u8], bool)> {
        // The usual layouts first: no options, or timestamps alone.
        if self.len == 0 || (self.len == 12 && self.bytes.starts_with(&ALIGNED_TS)) {
            return None;
        }
        self.iter().find_map(|o| match o {
            TcpOption::Unknown {
                kind: kind::FASTOPEN,
                data,
            } => Some((data, false)),
            TcpOption::Unknown {
                kind: kind::EXP,
                data,
            } if data.len() >= 2 && be16(data) == FASTOPEN_MAGIC => Some((&data[2..], true)),
            _ => None,
        })
    }

    /// Appends a Fast Open option carrying `cookie` (empty: a cookie request) as
    /// `tcp_options_write` writes it (`OPTION_FAST_OPEN_COOKIE`): kind 34 and its length, or
    /// with `exp` the experimental kind 254, its length and the magic 0xF989; the cookie;
    /// then NOP NOP when that leaves the option two bytes short of a 32-bit word.
    ///
    /// # Errors
    /// [`Error::OptionsTooLong`] if it does not fit in 40 bytes (the list is unchanged).
    pub fn push_fast_open(&mut self, cookie: &[u8], exp: bool) -> Result<()> {
        let base = if exp { 4 } else { 2 };
        let len = base + cookie.len();
        let padded = if len & 3 == 2 { len + 2 } else { len };
        let at = usize::from(self.len);
        if at + padded > MAX_OPTIONS_LEN || len > 255 {
            return Err(Error::OptionsTooLong);
        }
        let buf = &mut self.bytes[at..at + padded];
        if exp {
            buf[..2].copy_from_slice(&[kind::EXP, len as u8]);
            put16(&mut buf[2..], FASTOPEN_MAGIC);
        } else {
            buf[..2].copy_from_slice(&[kind::FASTOPEN, len as u8]);
        }
        buf[base..len].copy_from_slice(cookie);
        buf[len..].fill(kind::NOP);
        self.len += padded as u8;
        Ok(())
    }

    /// The SACK blocks, if present.
    #[must_use]
    #[inline(always)]
    pub fn sack(&self) -> Option<SackBlocks> {
        // After an aligned timestamp (see `parse`), the rest holds whatever else there is.
        let from = if self.bytes.starts_with(&ALIGNED_TS) && self.len >= 12 {
            12
        } else {
            0
        };
        TcpOptionsIter {
            rest: &self.as_bytes()[from..],
        }
        .find_map(|o| match o {
            TcpOption::Sack(b) => Some(b),
            _ => None,
        })
    }
}

impl fmt::Debug for TcpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a TcpOptions {
    type Item = TcpOption<'a>;
    type IntoIter = TcpOptionsIter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterates over options in order; stops at an EOL or at the first malformed option.
#[derive(Debug, Clone)]
pub struct TcpOptionsIter<'a> {
    rest: &'a [u8],
}

impl<'a> TcpOptionsIter<'a> {
    /// Iterates over a raw options area, such as [`TcpPacket::options`]; unlike
    /// [`TcpOptions::parse`] it does not validate first, it just stops early.
    #[must_use]
    pub const fn over(area: &'a [u8]) -> Self {
        Self { rest: area }
    }
}

impl<'a> Iterator for TcpOptionsIter<'a> {
    type Item = TcpOption<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match TcpOption::parse(self.rest) {
            Ok((TcpOption::EndOfList, _)) | Err(_) => {
                self.rest = &[];
                None
            }
            Ok((option, len)) => {
                self.rest = &self.rest[len..];
                Some(option)
            }
        }
    }
}

mod field {
    use crate::wire::Field;
    pub(super) const SRC_PORT: Field = 0..2;
    pub(super) const DST_PORT: Field = 2..4;
    pub(super) const SEQ_NUM: Field = 4..8;
    pub(super) const ACK_NUM: Field = 8..12;
    pub(super) const OFFSET_AE: usize = 12;
    pub(super) const FLAGS: usize = 13;
    pub(super) const WIN_SIZE: Field = 14..16;
    pub(super) const CHECKSUM: Field = 16..18;
    pub(super) const URGENT: Field = 18..20;
}

/// A zero-copy view of a TCP segment. The buffer is the whole segment (the IP payload): the
/// payload runs from the end of the header to the end of the buffer, and the checksum covers
/// all of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    /// Wraps a buffer without checks; getters panic if it is shorter than [`HEADER_LEN`], and
    /// [`options`](Self::options) and [`payload`](Self::payload) if the data offset exceeds it.
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

    /// Checks that the header, options included, lies within the buffer.
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter than 20 bytes or than the data offset;
    /// [`Error::BadHeaderLength`] if the data offset is below 5 words.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = usize::from(self.header_len());
        if header_len < HEADER_LEN {
            return Err(Error::BadHeaderLength);
        }
        if len < header_len {
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

    /// Source port.
    pub fn src_port(&self) -> u16 {
        be16(&self.data()[field::SRC_PORT])
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be16(&self.data()[field::DST_PORT])
    }

    /// Sequence number.
    pub fn seq_number(&self) -> u32 {
        be32(&self.data()[field::SEQ_NUM])
    }

    /// Acknowledgment number.
    pub fn ack_number(&self) -> u32 {
        be32(&self.data()[field::ACK_NUM])
    }

    /// Header length in bytes (data offset × 4).
    pub fn header_len(&self) -> u8 {
        (self.data()[field::OFFSET_AE] >> 4) * 4
    }

    /// The control bits.
    pub fn flags(&self) -> TcpFlags {
        let d = self.data();
        TcpFlags::from_bits(
            (u16::from(d[field::OFFSET_AE] & 0x01) << 8) | u16::from(d[field::FLAGS]),
        )
    }

    /// The window field, unscaled.
    pub fn window_len(&self) -> u16 {
        be16(&self.data()[field::WIN_SIZE])
    }

    /// The checksum field.
    pub fn checksum(&self) -> u16 {
        be16(&self.data()[field::CHECKSUM])
    }

    /// The urgent pointer.
    pub fn urgent_at(&self) -> u16 {
        be16(&self.data()[field::URGENT])
    }

    /// The raw options area (after the fixed header, up to the data offset).
    pub fn options(&self) -> &[u8] {
        &self.data()[HEADER_LEN..usize::from(self.header_len())]
    }

    /// The payload: after the header, to the end of the buffer.
    pub fn payload(&self) -> &[u8] {
        &self.data()[usize::from(self.header_len())..]
    }

    /// Whether the checksum over the whole buffer and the pseudo-header verifies.
    pub fn verify_checksum<A: PseudoHeader>(&self, src: A, dst: A) -> bool {
        let data = self.data();
        checksum::combine(&[
            src.pseudo_header(dst, PROTOCOL, data.len() as u32),
            checksum::data(data),
        ]) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    fn data_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the source port.
    pub fn set_src_port(&mut self, value: u16) {
        put16(&mut self.data_mut()[field::SRC_PORT], value);
    }

    /// Sets the destination port.
    pub fn set_dst_port(&mut self, value: u16) {
        put16(&mut self.data_mut()[field::DST_PORT], value);
    }

    /// Sets the sequence number.
    pub fn set_seq_number(&mut self, value: u32) {
        put32(&mut self.data_mut()[field::SEQ_NUM], value);
    }

    /// Sets the acknowledgment number.
    pub fn set_ack_number(&mut self, value: u32) {
        put32(&mut self.data_mut()[field::ACK_NUM], value);
    }

    /// Sets the data offset (from a header length in bytes, a multiple of 4 from 20 to 60)
    /// and the flags; the reserved bits are cleared.
    pub fn set_header_len_and_flags(&mut self, header_len: u8, flags: TcpFlags) {
        debug_assert!(header_len % 4 == 0 && (20..=60).contains(&header_len));
        let d = self.data_mut();
        d[field::OFFSET_AE] = ((header_len / 4) << 4) | (flags.bits() >> 8) as u8;
        d[field::FLAGS] = flags.bits() as u8;
    }

    /// Sets the window field.
    pub fn set_window_len(&mut self, value: u16) {
        put16(&mut self.data_mut()[field::WIN_SIZE], value);
    }

    /// Sets the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        put16(&mut self.data_mut()[field::CHECKSUM], value);
    }

    /// Sets the urgent pointer.
    pub fn set_urgent_at(&mut self, value: u16) {
        put16(&mut self.data_mut()[field::URGENT], value);
    }

    /// The payload, writable.
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let at = usize::from(self.header_len());
        &mut self.data_mut()[at..]
    }

    /// Computes the checksum over the whole buffer and the pseudo-header, and writes it.
    pub fn fill_checksum<A: PseudoHeader>(&mut self, src: A, dst: A) {
        let data = self.data();
        let header_len = usize::from(self.header_len()).min(data.len());
        let payload_sum = checksum::data(&data[header_len..]);
        self.fill_checksum_with_payload_sum(src, dst, payload_sum);
    }

    /// [`fill_checksum`](Self::fill_checksum) with the payload's sum already known
    /// ([`checksum::data`] of the bytes after the header, which has an even length): only
    /// the header is read.
    pub fn fill_checksum_with_payload_sum<A: PseudoHeader>(
        &mut self,
        src: A,
        dst: A,
        payload_sum: u16,
    ) {
        let len = self.data().len();
        self.fill_checksum_with_len(src, dst, len, payload_sum);
    }

    /// [`fill_checksum_with_payload_sum`](Self::fill_checksum_with_payload_sum) for a
    /// segment of `len` bytes of which the buffer need only hold the header: the payload
    /// is not touched.
    pub fn fill_checksum_with_len<A: PseudoHeader>(
        &mut self,
        src: A,
        dst: A,
        len: usize,
        payload_sum: u16,
    ) {
        self.set_checksum(0);
        let data = self.data();
        // (A multiple of 4, so the payload's sum starts at an even offset; clamped for a
        // header that claims more than the buffer holds.)
        let header_len = usize::from(self.header_len()).min(data.len()).min(len);
        let csum = checksum::transport(
            src,
            dst,
            PROTOCOL,
            len as u32,
            &data[..header_len],
            payload_sum,
        );
        self.set_checksum(csum);
    }
}

/// A TCP header as plain values (the payload stays in the buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TcpRepr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (Linux sends 0 when ACK is not set, as on a SYN).
    pub ack: u32,
    /// Control bits.
    pub flags: TcpFlags,
    /// The window field as sent: already shifted right by the window scale.
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Options, in wire order.
    pub options: TcpOptions,
}

impl TcpRepr {
    /// Parses a segment carried from `src` to `dst` and verifies its checksum; the packet's
    /// buffer must be exactly the IP payload. The payload is `packet.payload()`.
    ///
    /// # Errors
    /// The errors of [`TcpPacket::check_len`], [`Error::BadChecksum`], and
    /// [`Error::BadOption`].
    pub fn parse<T: AsRef<[u8]>, A: PseudoHeader>(
        packet: &TcpPacket<T>,
        src: A,
        dst: A,
    ) -> Result<Self> {
        Self::parse_rx(packet, src, dst, false)
    }

    /// [`TcpRepr::parse`] of a received segment; `csum_unnecessary` (the NIC verified the
    /// checksum: `CHECKSUM_UNNECESSARY`) skips the software check.
    ///
    /// # Errors
    /// As [`TcpRepr::parse`].
    pub fn parse_rx<T: AsRef<[u8]>, A: PseudoHeader>(
        packet: &TcpPacket<T>,
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
            seq: packet.seq_number(),
            ack: packet.ack_number(),
            flags: packet.flags(),
            window: packet.window_len(),
            urgent: packet.urgent_at(),
            options: TcpOptions::parse(packet.options())?,
        })
    }

    /// The header length: 20 plus the options padded to a multiple of 4.
    #[must_use]
    pub const fn header_len(&self) -> usize {
        HEADER_LEN + self.options.padded_len()
    }

    /// Writes the header in front of the `payload_len` payload bytes that follow it in the
    /// buffer, and fills the checksum over header and payload — so the payload must be in
    /// place before the call. Padding after the options is zero.
    ///
    /// # Panics
    /// If the buffer is shorter than `header_len() + payload_len`.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>, A: PseudoHeader>(
        &self,
        packet: &mut TcpPacket<T>,
        src: A,
        dst: A,
        payload_len: usize,
    ) {
        let header_len = self.header_len();
        let payload = &packet.buffer.as_ref()[header_len..header_len + payload_len];
        let payload_sum = checksum::data(payload);
        self.emit_with_payload_sum(packet, src, dst, payload_len, payload_sum);
    }

    /// [`emit`](Self::emit) with the payload's sum already known ([`checksum::data`] of the
    /// `payload_len` bytes after the header): the payload is not read again
    /// (`csum_and_copy_from_iter`, or nothing to read for a run of zeros). Only the header
    /// is written, so the buffer may also end with it.
    pub fn emit_with_payload_sum<T: AsRef<[u8]> + AsMut<[u8]>, A: PseudoHeader>(
        &self,
        packet: &mut TcpPacket<T>,
        src: A,
        dst: A,
        payload_len: usize,
        payload_sum: u16,
    ) {
        let header_len = self.header_len();
        // Only the header is written: the buffer may hold the payload or end with the header.
        let mut p = TcpPacket::new_unchecked(&mut packet.buffer.as_mut()[..header_len]);
        p.set_src_port(self.src_port);
        p.set_dst_port(self.dst_port);
        p.set_seq_number(self.seq);
        p.set_ack_number(self.ack);
        p.set_header_len_and_flags(header_len as u8, self.flags);
        p.set_window_len(self.window);
        p.set_urgent_at(self.urgent);
        let options = self.options.as_bytes();
        let area = &mut p.data_mut()[HEADER_LEN..header_len];
        area[..options.len()].copy_from_slice(options);
        area[options.len()..].fill(0);
        p.fill_checksum_with_len(src, dst, header_len + payload_len, payload_sum);
    }

    /// The sequence space this segment occupies: payload length, plus one each for SYN and
    /// FIN.
    #[must_use]
    pub fn segment_len(&self, payload_len: usize) -> usize {
        payload_len
            + usize::from(self.flags.contains(TcpFlags::SYN))
            + usize::from(self.flags.contains(TcpFlags::FIN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::hex;
    use core::net::Ipv4Addr;
    use proptest::prelude::*;

    const CLIENT: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
    const WEB: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 80);

    #[test]
    fn fast_open_options_are_written_as_tcp_options_write_writes_them() {
        let mut o = TcpOptions::EMPTY;
        o.push_fast_open(&[], false).expect("fits");
        assert_eq!(o.as_bytes(), [34, 2, 1, 1], "a request, then NOP NOP");
        assert_eq!(o.fast_open(), Some((&[][..], false)));
        let mut o = TcpOptions::EMPTY;
        o.push_fast_open(&[0xab, 0xcd, 0x12, 0x34], false)
            .expect("fits");
        assert_eq!(o.as_bytes(), [34, 6, 0xab, 0xcd, 0x12, 0x34, 1, 1]);
        let mut o = TcpOptions::EMPTY;
        o.push_fast_open(&[], true).expect("fits");
        assert_eq!(o.as_bytes(), [254, 4, 0xf9, 0x89], "no padding needed");
        assert_eq!(o.fast_open(), Some((&[][..], true)));
        let mut o = TcpOptions::EMPTY;
        o.push_fast_open(&[1; 8], true).expect("fits");
        assert_eq!(o.len(), 12);
        assert_eq!(o.fast_open(), Some((&[1; 8][..], true)));
        // A 20-byte SYN (MSS, SACK_PERM, TS, NOP WS) leaves room for the longest cookie.
        let mut o = TcpOptions::new(&[TcpOption::Unknown {
            kind: 99,
            data: &[0; 18],
        }])
        .expect("fits");
        assert!(o.push_fast_open(&[1; 16], false).is_ok());
        assert_eq!(o.len(), 40);
        assert_eq!(o.push_fast_open(&[], false), Err(Error::OptionsTooLong));
    }

    proptest! {
        /// `established` writes what pushing NOP NOP TS and NOP NOP SACK one by one writes.
        #[test]
        fn established_options_match_the_list(
            ts in proptest::option::of((any::<u32>(), any::<u32>())),
            blocks in proptest::collection::vec((any::<u32>(), any::<u32>()), 0..5),
        ) {
            let blocks = &blocks[..blocks.len().min(if ts.is_some() { 3 } else { 4 })];
            let mut list = Vec::new();
            if let Some((tsval, tsecr)) = ts {
                list.extend([TcpOption::NoOp, TcpOption::NoOp, TcpOption::Timestamp { tsval, tsecr }]);
            }
            if let Some(b) = SackBlocks::new(blocks).filter(|_| !blocks.is_empty()) {
                list.extend([TcpOption::NoOp, TcpOption::NoOp, TcpOption::Sack(b)]);
            }
            prop_assert_eq!(TcpOptions::established(ts, blocks), TcpOptions::new(&list).unwrap());
        }
    }

    /// The Linux SYN option order.
    fn syn_options(tsval: u32, tsecr: u32) -> TcpOptions {
        TcpOptions::new(&[
            TcpOption::MaxSegmentSize(1460),
            TcpOption::SackPermitted,
            TcpOption::Timestamp { tsval, tsecr },
            TcpOption::NoOp,
            TcpOption::WindowScale(10),
        ])
        .unwrap()
    }

    /// The IPv6 reference (client.pcap of reference-ipv6): the SYN (frame 24) and the HTTP
    /// response header segment (frame 29, 187 bytes of payload) re-emit byte for byte with
    /// the IPv6 pseudo-header, and fail to verify against the wrong addresses.
    #[test]
    fn reference_ipv6_segments_are_byte_identical() {
        use core::net::Ipv6Addr;
        let client: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let web: Ipv6Addr = "2001:db8:1::80".parse().unwrap();
        let syn = hex(
            "d5a60050edcf7d5d00000000a002fd20f8760000 020405a00402080aa5b30fad000000000103030a",
        );
        let repr = TcpRepr {
            src_port: 54694,
            dst_port: 80,
            seq: 3_989_798_237,
            ack: 0,
            flags: TcpFlags::SYN,
            window: 64800,
            urgent: 0,
            options: TcpOptions::new(&[
                TcpOption::MaxSegmentSize(1440),
                TcpOption::SackPermitted,
                TcpOption::Timestamp {
                    tsval: 2_779_975_597,
                    tsecr: 0,
                },
                TcpOption::NoOp,
                TcpOption::WindowScale(10),
            ])
            .unwrap(),
        };
        let mut out = [0u8; 40];
        repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), client, web, 0);
        assert_eq!(&out[..], &syn[..]);
        let p = TcpPacket::new_checked(&syn[..]).unwrap();
        assert_eq!(TcpRepr::parse(&p, client, web), Ok(repr));
        assert_eq!(
            TcpRepr::parse(&p, web, client),
            Ok(repr),
            "the sum is symmetric"
        );
        assert_eq!(TcpRepr::parse(&p, client, client), Err(Error::BadChecksum));

        let seg = hex(
            "0050d5a60a5d860eedcf7da78018003fb57900000101080afe340847a5b30fad            485454502f312e3020323030204f4b0d0a5365727665723a2053696d706c65485454502f302e36            20507974686f6e2f332e31312e320d0a446174653a2053756e2c2030362044656320323032362030            333a31373a353720474d540d0a436f6e74656e742d747970653a20746578742f68746d6c0d0a436f            6e74656e742d4c656e6774683a20343039360d0a4c6173742d4d6f6469666965643a204d6f6e2c20            3031204a616e20323032342030303a30303a303020474d540d0a0d0a",
        );
        let p = TcpPacket::new_checked(&seg[..]).unwrap();
        let repr = TcpRepr::parse(&p, web, client).unwrap();
        assert_eq!(p.payload().len(), 187);
        let mut out = seg.clone();
        out[..32].fill(0);
        repr.emit(
            &mut TcpPacket::new_unchecked(&mut out[..]),
            web,
            client,
            187,
        );
        assert_eq!(out, seg);
    }

    #[test]
    fn reference_syn_is_byte_identical() {
        // client.pcap frame 7, TCP part.
        let bytes = hex("91500050500dce2200000000a002faf038800000 \
             020405b40402080abf539016000000000103030a");
        let repr = TcpRepr {
            src_port: 37200,
            dst_port: 80,
            seq: 1_343_082_018,
            ack: 0,
            flags: TcpFlags::SYN,
            window: 64240,
            urgent: 0,
            options: syn_options(3_209_924_630, 0),
        };
        assert_eq!(repr.header_len(), 40);
        let mut out = [0u8; 40];
        repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), CLIENT, WEB, 0);
        assert_eq!(&out[..], &bytes[..]);
        let parsed = TcpRepr::parse(&TcpPacket::new_checked(&bytes[..]).unwrap(), CLIENT, WEB);
        assert_eq!(parsed, Ok(repr));
        let o = parsed.unwrap().options;
        assert_eq!(o.mss(), Some(1460));
        assert_eq!(o.window_scale(), Some(10));
        assert!(o.sack_permitted());
        assert_eq!(o.timestamp(), Some((3_209_924_630, 0)));
        assert_eq!(o.sack(), None);
    }

    #[test]
    fn reference_syn_ack_and_get_are_byte_identical() {
        // client.pcap frame 8 (SYN-ACK, web → client) and frame 10 (the GET), TCP parts.
        let syn_ack =
            hex("00509150226b73ca500dce23a012fe8812080000020405b40402080a27cb64cebf5390160103030a");
        let repr = TcpRepr {
            src_port: 80,
            dst_port: 37200,
            seq: 577_467_338,
            ack: 1_343_082_019,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            window: 65160,
            urgent: 0,
            options: syn_options(667_641_038, 3_209_924_630),
        };
        let mut out = [0u8; 40];
        repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), WEB, CLIENT, 0);
        assert_eq!(&out[..], &syn_ack[..]);

        let get = hex(
            "91500050500dce23226b73cb8018003ff67e00000101080abf53901627cb64ce \
             474554202f20485454502f312e310d0a486f73743a2062616964752e636f6d0d0a\
             557365722d4167656e743a206375726c2f372e38382e310d0a4163636570743a202a2f2a0d0a0d0a",
        );
        let repr = TcpRepr {
            src_port: 37200,
            dst_port: 80,
            seq: 1_343_082_019,
            ack: 577_467_339,
            flags: TcpFlags::PSH | TcpFlags::ACK,
            window: 63,
            urgent: 0,
            options: TcpOptions::new(&[
                TcpOption::NoOp,
                TcpOption::NoOp,
                TcpOption::Timestamp {
                    tsval: 3_209_924_630,
                    tsecr: 667_641_038,
                },
            ])
            .unwrap(),
        };
        assert_eq!(repr.header_len(), 32);
        let mut out = get.clone();
        out[..32].fill(0);
        repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), CLIENT, WEB, 73);
        assert_eq!(out, get);
        let p = TcpPacket::new_checked(&get[..]).unwrap();
        assert_eq!(TcpRepr::parse(&p, CLIENT, WEB), Ok(repr));
        assert_eq!(
            p.payload(),
            b"GET / HTTP/1.1\r\nHost: baidu.com\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn flags_display_like_tcpdump() {
        assert_eq!(TcpFlags::SYN.to_string(), "S");
        assert_eq!((TcpFlags::SYN | TcpFlags::ACK).to_string(), "S.");
        assert_eq!(TcpFlags::ACK.to_string(), ".");
        assert_eq!((TcpFlags::PSH | TcpFlags::ACK).to_string(), "P.");
        assert_eq!((TcpFlags::FIN | TcpFlags::ACK).to_string(), "F.");
        assert_eq!((TcpFlags::RST | TcpFlags::ACK).to_string(), "R.");
        assert_eq!(
            (TcpFlags::SYN | TcpFlags::ECE | TcpFlags::CWR).to_string(),
            "SEW"
        );
        assert_eq!(TcpFlags::NONE.to_string(), "none");
    }

    #[test]
    fn ae_bit_lives_in_the_offset_byte() {
        let repr = TcpRepr {
            src_port: 1,
            dst_port: 2,
            seq: 3,
            ack: 4,
            flags: TcpFlags::AE | TcpFlags::ACK,
            window: 5,
            urgent: 0,
            options: TcpOptions::EMPTY,
        };
        let mut out = [0u8; 20];
        repr.emit(&mut TcpPacket::new_unchecked(&mut out[..]), CLIENT, WEB, 0);
        assert_eq!(out[12], 0x51);
        assert_eq!(out[13], 0x10);
        assert_eq!(
            TcpRepr::parse(&TcpPacket::new_unchecked(&out[..]), CLIENT, WEB),
            Ok(repr)
        );
    }

    #[test]
    fn options_in_any_order_and_odd_ones() {
        // WS, NOP, MSS, SACK with 2 blocks, then EOL and padding.
        let area = hex("030307 01 02040200 0512 00000001 00000002 00000003 00000004 00 000000");
        let o = TcpOptions::parse(&area).unwrap();
        let list: Vec<_> = o.iter().collect();
        let sack = SackBlocks::new(&[(1, 2), (3, 4)]).unwrap();
        assert_eq!(
            list,
            vec![
                TcpOption::WindowScale(7),
                TcpOption::NoOp,
                TcpOption::MaxSegmentSize(512),
                TcpOption::Sack(sack),
            ]
        );
        assert_eq!(o.len(), 26);
        assert_eq!(o.padded_len(), 28);
        assert_eq!(o.sack(), Some(sack));
        // MSS with the wrong length is kept as unknown, not an error (Linux ignores it).
        let o = TcpOptions::parse(&hex("0203ff 01")).unwrap();
        assert_eq!(
            o.iter().next(),
            Some(TcpOption::Unknown {
                kind: 2,
                data: &[0xff]
            })
        );
        // Framing errors.
        assert_eq!(TcpOptions::parse(&hex("0201")), Err(Error::BadOption));
        assert_eq!(TcpOptions::parse(&hex("080a0000")), Err(Error::BadOption));
        assert_eq!(TcpOptions::parse(&hex("01 02")), Err(Error::BadOption));
        // Too many.
        let ts = TcpOption::Timestamp { tsval: 1, tsecr: 2 };
        assert_eq!(TcpOptions::new(&[ts, ts, ts, ts]).unwrap().padded_len(), 40);
        assert_eq!(
            TcpOptions::new(&[ts, ts, ts, ts, TcpOption::NoOp]),
            Err(Error::OptionsTooLong)
        );
        let four = SackBlocks::new(&[(1, 2), (3, 4), (5, 6), (7, 8)]).unwrap();
        assert_eq!(
            TcpOptions::new(&[TcpOption::NoOp, TcpOption::NoOp, TcpOption::Sack(four)])
                .unwrap()
                .len(),
            36
        );
        assert!(SackBlocks::new(&[(0, 0); 5]).is_none());
    }

    #[test]
    fn header_errors() {
        let parse = |b: &[u8]| TcpRepr::parse(&TcpPacket::new_unchecked(b), CLIENT, WEB);
        assert_eq!(parse(&[0; 19]), Err(Error::Truncated));
        let mut b = [0u8; 24];
        b[12] = 0x40;
        assert_eq!(parse(&b), Err(Error::BadHeaderLength));
        b[12] = 0x70;
        assert_eq!(parse(&b), Err(Error::Truncated));
        b[12] = 0x50;
        assert_eq!(parse(&b), Err(Error::BadChecksum));
    }

    /// The generated parts of one option: a selector and the values it may use.
    type OptionParts = (u8, u32, u32, Vec<(u32, u32)>, Vec<u8>);

    fn arb_option() -> impl Strategy<Value = OptionParts> {
        (
            0u8..8,
            any::<u32>(),
            any::<u32>(),
            proptest::collection::vec(any::<(u32, u32)>(), 1..=4),
            proptest::collection::vec(any::<u8>(), 0..8),
        )
    }

    /// Builds an option from generated parts; Unknown kinds avoid the known ones.
    fn make_option<'a>((k, a, b, blocks, data): &'a OptionParts) -> TcpOption<'a> {
        match k {
            0 => TcpOption::NoOp,
            1 => TcpOption::MaxSegmentSize(*a as u16),
            2 => TcpOption::WindowScale(*a as u8),
            3 => TcpOption::SackPermitted,
            4 => TcpOption::Sack(SackBlocks::new(blocks).unwrap()),
            5 => TcpOption::Timestamp {
                tsval: *a,
                tsecr: *b,
            },
            _ => TcpOption::Unknown {
                kind: 9 + (*a % 200) as u8,
                data,
            },
        }
    }

    fn to_etherparse(o: &TcpOption<'_>) -> Option<etherparse::TcpOptionElement> {
        use etherparse::TcpOptionElement as E;
        Some(match *o {
            TcpOption::NoOp => E::Noop,
            TcpOption::MaxSegmentSize(v) => E::MaximumSegmentSize(v),
            TcpOption::WindowScale(v) => E::WindowScale(v),
            TcpOption::SackPermitted => E::SelectiveAcknowledgementPermitted,
            TcpOption::Timestamp { tsval, tsecr } => E::Timestamp(tsval, tsecr),
            TcpOption::Sack(b) => {
                let s = b.as_slice();
                let mut rest = [None; 3];
                for (slot, block) in rest.iter_mut().zip(&s[1..]) {
                    *slot = Some(*block);
                }
                E::SelectiveAcknowledgement(s[0], rest)
            }
            TcpOption::EndOfList | TcpOption::Unknown { .. } => return None,
        })
    }

    proptest! {
        /// The aligned-timestamp fast paths of `parse`, `timestamp` and `sack` answer as a
        /// walk over every option does, with and without NOP NOP TS in front.
        #[test]
        fn aligned_timestamp_fast_path(
            aligned in any::<bool>(), ts in any::<(u32, u32)>(),
            parts in proptest::collection::vec(arb_option(), 0..5),
        ) {
            let mut list: Vec<TcpOption<'_>> = Vec::new();
            if aligned {
                list.extend([
                    TcpOption::NoOp,
                    TcpOption::NoOp,
                    TcpOption::Timestamp { tsval: ts.0, tsecr: ts.1 },
                ]);
            }
            list.extend(parts.iter().map(make_option));
            let mut options = TcpOptions::EMPTY;
            for o in &list {
                let _ = options.push(o);
            }
            let parsed = TcpOptions::parse(options.as_bytes()).unwrap();
            prop_assert_eq!(parsed, options);
            let walk_ts = options.iter().find_map(|o| match o {
                TcpOption::Timestamp { tsval, tsecr } => Some((tsval, tsecr)),
                _ => None,
            });
            let walk_sack = options.iter().find_map(|o| match o {
                TcpOption::Sack(b) => Some(b),
                _ => None,
            });
            prop_assert_eq!(options.timestamp(), walk_ts);
            prop_assert_eq!(options.sack(), walk_sack);
        }

        #[test]
        fn roundtrip_and_etherparse(
            sp in any::<u16>(), dp in any::<u16>(), seq in any::<u32>(), ack in any::<u32>(),
            flags in 0u16..0x200, window in any::<u16>(), urgent in any::<u16>(),
            parts in proptest::collection::vec(arb_option(), 0..6),
            src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(),
            payload in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let list: Vec<TcpOption<'_>> = parts.iter().map(make_option).collect();
            // Keep only as many options as fit.
            let mut options = TcpOptions::EMPTY;
            let mut kept = Vec::new();
            for o in &list {
                if options.push(o).is_ok() {
                    kept.push(*o);
                }
            }
            let (src, dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
            let repr = TcpRepr {
                src_port: sp, dst_port: dp, seq, ack,
                flags: TcpFlags::from_bits(flags), window, urgent, options,
            };
            let hl = repr.header_len();
            let mut buf = vec![0xeeu8; hl + payload.len()];
            buf[hl..].copy_from_slice(&payload);
            repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), src, dst, payload.len());
            let p = TcpPacket::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(TcpRepr::parse(&p, src, dst), Ok(repr));
            prop_assert_eq!(p.payload(), &payload[..]);
            prop_assert_eq!(repr.options.iter().collect::<Vec<_>>(), kept.clone());

            let (h, rest) = etherparse::TcpHeader::from_slice(&buf).unwrap();
            prop_assert_eq!((h.source_port, h.destination_port), (sp, dp));
            prop_assert_eq!((h.sequence_number, h.acknowledgment_number), (seq, ack));
            prop_assert_eq!(h.window_size, window);
            prop_assert_eq!(h.urgent_pointer, urgent);
            let f = repr.flags;
            prop_assert_eq!(
                [h.fin, h.syn, h.rst, h.psh, h.ack, h.urg, h.ece, h.cwr, h.ns],
                [TcpFlags::FIN, TcpFlags::SYN, TcpFlags::RST, TcpFlags::PSH, TcpFlags::ACK,
                 TcpFlags::URG, TcpFlags::ECE, TcpFlags::CWR, TcpFlags::AE].map(|x| f.contains(x))
            );
            prop_assert_eq!(h.header_len(), hl);
            prop_assert_eq!(rest, &payload[..]);
            let expected = h.calc_checksum_ipv4_raw(src.octets(), dst.octets(), rest).unwrap();
            prop_assert_eq!(h.checksum, expected);
            // etherparse decodes the same options (it knows no unknown kinds).
            if kept.iter().all(|o| to_etherparse(o).is_some()) {
                let theirs: Vec<_> = h.options_iterator().map(|r| r.unwrap()).collect();
                let ours: Vec<_> = kept.iter().filter_map(to_etherparse).collect();
                // Their iterator also yields the zero padding as nothing: EOL ends it.
                prop_assert_eq!(theirs, ours);
            }
        }

        #[test]
        fn ipv6_checksum_agrees_with_etherparse(
            src in any::<[u8; 16]>(), dst in any::<[u8; 16]>(), sp in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let (s6, d6) = (core::net::Ipv6Addr::from(src), core::net::Ipv6Addr::from(dst));
            let repr = TcpRepr {
                src_port: sp, dst_port: 80, seq: 1, ack: 2, flags: TcpFlags::ACK,
                window: 9, urgent: 0, options: TcpOptions::EMPTY,
            };
            let mut buf = vec![0u8; HEADER_LEN + payload.len()];
            buf[HEADER_LEN..].copy_from_slice(&payload);
            repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), s6, d6, payload.len());
            prop_assert_eq!(TcpRepr::parse(&TcpPacket::new_checked(&buf[..]).unwrap(), s6, d6), Ok(repr));
            let (h, rest) = etherparse::TcpHeader::from_slice(&buf).unwrap();
            prop_assert_eq!(h.checksum, h.calc_checksum_ipv6_raw(src, dst, rest).unwrap());
        }

        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = TcpRepr::parse(&TcpPacket::new_unchecked(&buf[..]), CLIENT, WEB);
            if let Ok(p) = TcpPacket::new_checked(&buf[..]) {
                let _ = (p.options(), p.payload(), p.flags());
                let _ = TcpOptionsIter::over(p.options()).count();
                let _ = TcpOptions::parse(p.options());
            }
        }

        #[test]
        fn option_area_parse_never_panics(area in proptest::collection::vec(any::<u8>(), 0..41)) {
            if let Ok(o) = TcpOptions::parse(&area) {
                // Whatever parsed re-emits to the same prefix.
                prop_assert_eq!(o.as_bytes(), &area[..o.len()]);
                let _ = (o.mss(), o.window_scale(), o.sack(), o.timestamp());
            }
        }
    }
}
