//! DNS messages (RFC 1035) as the resolver and the server apps exchange them over UDP.
//!
//! [`DnsRepr`] is the whole message: header, questions, and the three record sections,
//! with names decompressed. Builders reproduce what glibc and dnsmasq send in the reference
//! run (REFERENCE.md §2.3):
//! * [`DnsRepr::query`]: flags `0x0100` (RD), one question, no EDNS;
//! * [`DnsRepr::response`]: the query's ID and question, flags such as
//!   [`DnsFlags::RESPONSE_AUTHORITATIVE`] (`0x8580`) or [`DnsFlags::RESPONSE`] (`0x8180`,
//!   NODATA) with an rcode ([`DnsRcode::Refused`] gives dnsmasq's `0x8185`).
//!
//! On emit, a record whose name equals the first question's is written as the compression
//! pointer `c00c`, as dnsmasq does; other names are written whole.
//!
//! Parsing never panics and always ends: a compression pointer must point strictly before
//! the previous one's target (or before the name it appears in), which every compressor's
//! output satisfies and which rules out loops; names are limited to 255 bytes. Sections are
//! read record by record, so a hostile count cannot make us allocate more than the message
//! holds.

use core::fmt::{self, Write as _};
use core::net::{Ipv4Addr, Ipv6Addr};

use super::{Error, Result, be16, be32, put16, put32};

/// The DNS header length.
pub const HEADER_LEN: usize = 12;
/// The longest name on the wire, length bytes and the root label included.
pub const MAX_NAME_LEN: usize = 255;
/// The longest label.
pub const MAX_LABEL_LEN: usize = 63;
/// The class `IN`.
pub const CLASS_IN: u16 = 1;

/// The second 16-bit word of the header: QR, opcode, AA, TC, RD, RA, Z, AD, CD, rcode.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct DnsFlags(pub u16);

impl DnsFlags {
    /// A standard query with recursion desired, as glibc sends it: `0x0100`.
    pub const QUERY: Self = Self(0x0100);
    /// An authoritative answer, as dnsmasq sends for its `--address` names: `0x8580` (QR AA
    /// RD RA).
    pub const RESPONSE_AUTHORITATIVE: Self = Self(0x8580);
    /// A non-authoritative response: `0x8180` (QR RD RA). With no answers and rcode 0 this is
    /// NODATA; with [`DnsRcode::Refused`] it is dnsmasq's `0x8185`.
    pub const RESPONSE: Self = Self(0x8180);

    const QR: u16 = 0x8000;
    const AA: u16 = 0x0400;
    /// The TC bit: the message was truncated to fit the transport.
    pub const TC: u16 = 0x0200;
    const RD: u16 = 0x0100;
    const RA: u16 = 0x0080;
    const AD: u16 = 0x0020;
    const CD: u16 = 0x0010;

    /// Whether this is a response.
    #[must_use]
    pub const fn qr(self) -> bool {
        self.0 & Self::QR != 0
    }

    /// The opcode.
    #[must_use]
    pub const fn opcode(self) -> DnsOpcode {
        DnsOpcode::from_u8(((self.0 >> 11) & 0x0f) as u8)
    }

    /// Authoritative answer.
    #[must_use]
    pub const fn aa(self) -> bool {
        self.0 & Self::AA != 0
    }

    /// Truncated.
    #[must_use]
    pub const fn tc(self) -> bool {
        self.0 & Self::TC != 0
    }

    /// Recursion desired.
    #[must_use]
    pub const fn rd(self) -> bool {
        self.0 & Self::RD != 0
    }

    /// Recursion available.
    #[must_use]
    pub const fn ra(self) -> bool {
        self.0 & Self::RA != 0
    }

    /// Authentic data.
    #[must_use]
    pub const fn ad(self) -> bool {
        self.0 & Self::AD != 0
    }

    /// Checking disabled.
    #[must_use]
    pub const fn cd(self) -> bool {
        self.0 & Self::CD != 0
    }

    /// The response code.
    #[must_use]
    pub const fn rcode(self) -> DnsRcode {
        DnsRcode::from_u8((self.0 & 0x0f) as u8)
    }

    /// These flags with the response code replaced.
    #[must_use]
    pub const fn with_rcode(self, rcode: DnsRcode) -> Self {
        Self((self.0 & !0x0f) | (rcode.to_u8() as u16 & 0x0f))
    }
}

impl fmt::Debug for DnsFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DnsFlags({:#06x})", self.0)
    }
}

/// The opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsOpcode {
    /// 0: a standard query.
    Query,
    /// 1: inverse query (obsolete).
    IQuery,
    /// 2: server status.
    Status,
    /// 4: notify.
    Notify,
    /// 5: dynamic update.
    Update,
    /// Any other value.
    Other(u8),
}

impl DnsOpcode {
    const fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Query,
            1 => Self::IQuery,
            2 => Self::Status,
            4 => Self::Notify,
            5 => Self::Update,
            other => Self::Other(other),
        }
    }
}

/// The response code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsRcode {
    /// 0.
    NoError,
    /// 1: the server could not parse the query.
    FormErr,
    /// 2.
    ServFail,
    /// 3: the name does not exist.
    NxDomain,
    /// 4.
    NotImp,
    /// 5: what dnsmasq answers for names it will not resolve (the reference AAAA query).
    Refused,
    /// Any other value (4 bits in the header).
    Other(u8),
}

impl DnsRcode {
    const fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::NoError,
            1 => Self::FormErr,
            2 => Self::ServFail,
            3 => Self::NxDomain,
            4 => Self::NotImp,
            5 => Self::Refused,
            other => Self::Other(other),
        }
    }

    const fn to_u8(self) -> u8 {
        match self {
            Self::NoError => 0,
            Self::FormErr => 1,
            Self::ServFail => 2,
            Self::NxDomain => 3,
            Self::NotImp => 4,
            Self::Refused => 5,
            Self::Other(other) => other,
        }
    }
}

/// A record or query type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DnsType {
    /// 1: an IPv4 address.
    A,
    /// 2.
    Ns,
    /// 5.
    Cname,
    /// 6.
    Soa,
    /// 12.
    Ptr,
    /// 15.
    Mx,
    /// 16.
    Txt,
    /// 28: an IPv6 address.
    Aaaa,
    /// 33.
    Srv,
    /// 41: the EDNS pseudo-record.
    Opt,
    /// 255.
    Any,
    /// Any other value.
    Other(u16),
}

impl From<u16> for DnsType {
    fn from(v: u16) -> Self {
        match v {
            1 => Self::A,
            2 => Self::Ns,
            5 => Self::Cname,
            6 => Self::Soa,
            12 => Self::Ptr,
            15 => Self::Mx,
            16 => Self::Txt,
            28 => Self::Aaaa,
            33 => Self::Srv,
            41 => Self::Opt,
            255 => Self::Any,
            other => Self::Other(other),
        }
    }
}

impl From<DnsType> for u16 {
    fn from(v: DnsType) -> Self {
        match v {
            DnsType::A => 1,
            DnsType::Ns => 2,
            DnsType::Cname => 5,
            DnsType::Soa => 6,
            DnsType::Ptr => 12,
            DnsType::Mx => 15,
            DnsType::Txt => 16,
            DnsType::Aaaa => 28,
            DnsType::Srv => 33,
            DnsType::Opt => 41,
            DnsType::Any => 255,
            DnsType::Other(other) => other,
        }
    }
}

impl fmt::Display for DnsType {
    /// The mnemonic (`A`, `AAAA`, …), or `Type<n>` as tcpdump prints unknown types.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::A => "A",
            Self::Ns => "NS",
            Self::Cname => "CNAME",
            Self::Soa => "SOA",
            Self::Ptr => "PTR",
            Self::Mx => "MX",
            Self::Txt => "TXT",
            Self::Aaaa => "AAAA",
            Self::Srv => "SRV",
            Self::Opt => "OPT",
            Self::Any => "ANY",
            Self::Other(n) => return write!(f, "Type{n}"),
        };
        f.write_str(name)
    }
}

/// A domain name, kept in its uncompressed wire form (length-prefixed labels and the final
/// zero byte), at most 255 bytes.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DnsName {
    wire: Vec<u8>,
}

impl DnsName {
    /// The root name `.`.
    #[must_use]
    pub fn root() -> Self {
        Self { wire: vec![0] }
    }

    /// The name of dotted text such as `baidu.com` (a trailing dot is allowed; `""` and `"."`
    /// are the root). Label bytes are taken as they are: no escapes are interpreted.
    ///
    /// # Errors
    /// [`Error::BadName`] for an empty label (`a..b`), a label over 63 bytes, or a name
    /// over 255 bytes on the wire.
    pub fn from_dotted(text: &str) -> Result<Self> {
        let text = text.strip_suffix('.').unwrap_or(text);
        let mut wire = Vec::with_capacity(text.len() + 2);
        if !text.is_empty() {
            for label in text.split('.') {
                if label.is_empty() || label.len() > MAX_LABEL_LEN {
                    return Err(Error::BadName);
                }
                wire.push(label.len() as u8);
                wire.extend_from_slice(label.as_bytes());
            }
        }
        wire.push(0);
        if wire.len() > MAX_NAME_LEN {
            return Err(Error::BadName);
        }
        Ok(Self { wire })
    }

    /// The uncompressed wire form.
    #[must_use]
    pub fn as_wire(&self) -> &[u8] {
        &self.wire
    }

    /// The labels, in order (none for the root).
    pub fn labels(&self) -> impl Iterator<Item = &[u8]> {
        let mut rest = &self.wire[..];
        core::iter::from_fn(move || {
            let (&len, tail) = rest.split_first()?;
            if len == 0 {
                return None;
            }
            let (label, tail) = tail.split_at(usize::from(len));
            rest = tail;
            Some(label)
        })
    }

    /// Whether two names are equal ignoring ASCII case, as DNS compares names.
    #[must_use]
    pub fn eq_ignore_ascii_case(&self, other: &Self) -> bool {
        self.wire.eq_ignore_ascii_case(&other.wire)
    }
}

/// Writes one label with the escapes dig uses: `\.` and `\\`, and `\DDD` for bytes that are
/// not printable ASCII.
fn write_label(out: &mut impl fmt::Write, label: &[u8]) -> fmt::Result {
    for &b in label {
        match b {
            b'.' | b'\\' => {
                out.write_char('\\')?;
                out.write_char(char::from(b))?;
            }
            0x21..=0x7e => out.write_char(char::from(b))?,
            _ => write!(out, "\\{b:03}")?,
        }
    }
    Ok(())
}

impl fmt::Display for DnsName {
    /// Dotted, without the final dot (`baidu.com`); the root is `.`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for label in self.labels() {
            if !first {
                f.write_char('.')?;
            }
            first = false;
            write_label(f, label)?;
        }
        if first {
            f.write_char('.')?;
        }
        Ok(())
    }
}

impl fmt::Debug for DnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DnsName({self})")
    }
}

/// Walks the name at `start` in `msg`, calling `label` for each label in order and following
/// compression pointers; returns the offset just past the name where it starts (after the
/// first pointer, if any).
///
/// # Errors
/// [`Error::Truncated`] if the name runs off the message; [`Error::BadName`] for a pointer
/// that does not point strictly before the previous target, a reserved label type, or a
/// name over 255 bytes.
fn walk_name(msg: &[u8], start: usize, mut label: impl FnMut(&[u8])) -> Result<usize> {
    let mut pos = start;
    let mut end = None;
    // Pointers must strictly decrease: this bounds the number of jumps by the message size.
    let mut limit = start;
    let mut wire_len = 1;
    loop {
        let len = *msg.get(pos).ok_or(Error::Truncated)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Ok(end.unwrap_or(pos + 1)),
            0x00 => {
                let len = usize::from(len);
                let bytes = msg.get(pos + 1..pos + 1 + len).ok_or(Error::Truncated)?;
                wire_len += 1 + len;
                if wire_len > MAX_NAME_LEN {
                    return Err(Error::BadName);
                }
                label(bytes);
                pos += 1 + len;
            }
            0xc0 => {
                let low = *msg.get(pos + 1).ok_or(Error::Truncated)?;
                let target = (usize::from(len & 0x3f) << 8) | usize::from(low);
                if target >= limit {
                    return Err(Error::BadName);
                }
                end.get_or_insert(pos + 2);
                limit = target;
                pos = target;
            }
            _ => return Err(Error::BadName),
        }
    }
}

/// Reads the (possibly compressed) name at `start`; returns it and the offset after it.
fn read_name(msg: &[u8], start: usize) -> Result<(DnsName, usize)> {
    let mut wire = Vec::new();
    let next = walk_name(msg, start, |label| {
        wire.push(label.len() as u8);
        wire.extend_from_slice(label);
    })?;
    wire.push(0);
    Ok((DnsName { wire }, next))
}

/// One entry of the question section.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsQuestion {
    /// The name asked about.
    pub name: DnsName,
    /// The type asked for.
    pub qtype: DnsType,
    /// The class, [`CLASS_IN`] in practice.
    pub qclass: u16,
}

/// Record data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RData {
    /// An A record's address.
    A(Ipv4Addr),
    /// An AAAA record's address.
    Aaaa(Ipv6Addr),
    /// A CNAME's target (decompressed).
    Cname(DnsName),
    /// Any other type's raw data (compressed names inside it are not expanded).
    Other(Vec<u8>),
}

/// A resource record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsRecord {
    /// The owner name.
    pub name: DnsName,
    /// The type; it decides how `data` was read ([`RData::Other`] for types other than A,
    /// AAAA and CNAME).
    pub rtype: DnsType,
    /// The class ([`CLASS_IN`]; the UDP payload size for OPT).
    pub class: u16,
    /// Time to live in seconds (dnsmasq's default for local names is 0).
    pub ttl: u32,
    /// The data.
    pub data: RData,
}

impl DnsRecord {
    /// An `IN A` record.
    #[must_use]
    pub const fn a(name: DnsName, ttl: u32, addr: Ipv4Addr) -> Self {
        Self {
            name,
            rtype: DnsType::A,
            class: CLASS_IN,
            ttl,
            data: RData::A(addr),
        }
    }

    /// An `IN AAAA` record (type 28, 16 bytes of data).
    #[must_use]
    pub const fn aaaa(name: DnsName, ttl: u32, addr: Ipv6Addr) -> Self {
        Self {
            name,
            rtype: DnsType::Aaaa,
            class: CLASS_IN,
            ttl,
            data: RData::Aaaa(addr),
        }
    }

    fn rdata_len(&self) -> usize {
        match &self.data {
            RData::A(_) => 4,
            RData::Aaaa(_) => 16,
            RData::Cname(name) => name.wire.len(),
            RData::Other(bytes) => bytes.len(),
        }
    }
}

/// A whole DNS message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsRepr {
    /// Transaction ID.
    pub id: u16,
    /// Flags and rcode.
    pub flags: DnsFlags,
    /// Question section.
    pub questions: Vec<DnsQuestion>,
    /// Answer section.
    pub answers: Vec<DnsRecord>,
    /// Authority section.
    pub authorities: Vec<DnsRecord>,
    /// Additional section.
    pub additionals: Vec<DnsRecord>,
}

impl DnsRepr {
    /// A query as glibc's resolver sends it: flags `0x0100` (RD), one `IN` question, no
    /// EDNS. `query(0xc39b, baidu.com, A)` emits the 27 bytes of REFERENCE.md §2.3.
    #[must_use]
    pub fn query(id: u16, name: DnsName, qtype: DnsType) -> Self {
        Self {
            id,
            flags: DnsFlags::QUERY,
            questions: vec![DnsQuestion {
                name,
                qtype,
                qclass: CLASS_IN,
            }],
            answers: Vec::new(),
            authorities: Vec::new(),
            additionals: Vec::new(),
        }
    }

    /// A response to `query`: its ID and questions, `flags` with the RD bit copied from the
    /// query (as dnsmasq does), and `answers`.
    ///
    /// * A answer: `response(&q, DnsFlags::RESPONSE_AUTHORITATIVE, vec![DnsRecord::a(..)])`
    ///   → `0x8580`;
    /// * NODATA: `response(&q, DnsFlags::RESPONSE, vec![])` → `0x8180`;
    /// * refused: `response(&q, DnsFlags::RESPONSE.with_rcode(DnsRcode::Refused), vec![])`
    ///   → `0x8185`; NXDOMAIN likewise with [`DnsRcode::NxDomain`].
    #[must_use]
    pub fn response(query: &Self, flags: DnsFlags, answers: Vec<DnsRecord>) -> Self {
        let rd = query.flags.0 & DnsFlags::RD;
        Self {
            id: query.id,
            flags: DnsFlags((flags.0 & !DnsFlags::RD) | rd),
            questions: query.questions.clone(),
            answers,
            authorities: Vec::new(),
            additionals: Vec::new(),
        }
    }

    /// Parses a message. Bytes after the last record are ignored.
    ///
    /// # Errors
    /// [`Error::Truncated`] if a section runs off the end; [`Error::BadName`] for a
    /// malformed name; [`Error::BadLength`] for an A/AAAA record whose RDLENGTH is not 4/16,
    /// or a CNAME whose name does not fill its RDLENGTH exactly.
    pub fn parse(msg: &[u8]) -> Result<Self> {
        if msg.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let count = |i: usize| usize::from(be16(&msg[i..]));
        let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
        let mut pos = HEADER_LEN;
        let mut questions = Vec::new();
        for _ in 0..qd {
            let (name, next) = read_name(msg, pos)?;
            let fixed = msg.get(next..next + 4).ok_or(Error::Truncated)?;
            questions.push(DnsQuestion {
                name,
                qtype: DnsType::from(be16(fixed)),
                qclass: be16(&fixed[2..]),
            });
            pos = next + 4;
        }
        let mut section = |n: usize| -> Result<Vec<DnsRecord>> {
            let mut records = Vec::new();
            for _ in 0..n {
                let (record, next) = read_record(msg, pos)?;
                records.push(record);
                pos = next;
            }
            Ok(records)
        };
        let answers = section(an)?;
        let authorities = section(ns)?;
        let additionals = section(ar)?;
        Ok(Self {
            id: be16(msg),
            flags: DnsFlags(be16(&msg[2..])),
            questions,
            answers,
            authorities,
            additionals,
        })
    }

    /// Whether a record name is written as a pointer to the first question's name.
    fn compresses(&self, name: &DnsName) -> bool {
        self.questions.first().is_some_and(|q| q.name == *name)
    }

    fn records(&self) -> impl Iterator<Item = &DnsRecord> {
        self.answers
            .iter()
            .chain(&self.authorities)
            .chain(&self.additionals)
    }

    /// The message length [`emit`](Self::emit) writes.
    #[must_use]
    pub fn buffer_len(&self) -> usize {
        let questions: usize = self.questions.iter().map(|q| q.name.wire.len() + 4).sum();
        let records: usize = self
            .records()
            .map(|r| {
                let name = if self.compresses(&r.name) {
                    2
                } else {
                    r.name.wire.len()
                };
                name + 10 + r.rdata_len()
            })
            .sum();
        HEADER_LEN + questions + records
    }

    /// Writes the message at the start of `buf` and returns its length.
    ///
    /// # Errors
    /// [`Error::NoSpace`] if `buf` is shorter than [`buffer_len`](Self::buffer_len);
    /// [`Error::BadLength`] if a section has more than 65535 entries or a record's data more
    /// than 65535 bytes. Nothing is written on error.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(Error::NoSpace);
        }
        let counts = [
            self.questions.len(),
            self.answers.len(),
            self.authorities.len(),
            self.additionals.len(),
        ];
        if counts.iter().any(|&c| c > 0xffff) || self.records().any(|r| r.rdata_len() > 0xffff) {
            return Err(Error::BadLength);
        }
        put16(&mut buf[0..], self.id);
        put16(&mut buf[2..], self.flags.0);
        for (i, &c) in counts.iter().enumerate() {
            put16(&mut buf[4 + 2 * i..], c as u16);
        }
        let mut pos = HEADER_LEN;
        let mut put = |bytes: &[u8]| {
            buf[pos..pos + bytes.len()].copy_from_slice(bytes);
            pos += bytes.len();
        };
        for q in &self.questions {
            put(&q.name.wire);
            put(&u16::from(q.qtype).to_be_bytes());
            put(&q.qclass.to_be_bytes());
        }
        for r in self.records() {
            if self.compresses(&r.name) {
                put(&[0xc0, HEADER_LEN as u8]);
            } else {
                put(&r.name.wire);
            }
            let mut fixed = [0u8; 10];
            put16(&mut fixed[0..], r.rtype.into());
            put16(&mut fixed[2..], r.class);
            put32(&mut fixed[4..], r.ttl);
            put16(&mut fixed[8..], r.rdata_len() as u16);
            put(&fixed);
            match &r.data {
                RData::A(addr) => put(&addr.octets()),
                RData::Aaaa(addr) => put(&addr.octets()),
                RData::Cname(name) => put(&name.wire),
                RData::Other(bytes) => put(bytes),
            }
        }
        debug_assert_eq!(pos, len);
        Ok(len)
    }
}

/// Reads the record at `pos`; returns it and the offset after it.
fn read_record(msg: &[u8], pos: usize) -> Result<(DnsRecord, usize)> {
    let (name, next) = read_name(msg, pos)?;
    let fixed = msg.get(next..next + 10).ok_or(Error::Truncated)?;
    let rtype = DnsType::from(be16(fixed));
    let class = be16(&fixed[2..]);
    let ttl = be32(&fixed[4..]);
    let rdlen = usize::from(be16(&fixed[8..]));
    let start = next + 10;
    let rdata = msg.get(start..start + rdlen).ok_or(Error::Truncated)?;
    let data = match rtype {
        DnsType::A => {
            let b: [u8; 4] = rdata.try_into().map_err(|_| Error::BadLength)?;
            RData::A(Ipv4Addr::from(b))
        }
        DnsType::Aaaa => {
            let b: [u8; 16] = rdata.try_into().map_err(|_| Error::BadLength)?;
            RData::Aaaa(Ipv6Addr::from(b))
        }
        DnsType::Cname => {
            let (target, end) = read_name(msg, start)?;
            if end != start + rdlen {
                return Err(Error::BadLength);
            }
            RData::Cname(target)
        }
        _ => RData::Other(rdata.to_vec()),
    };
    Ok((
        DnsRecord {
            name,
            rtype,
            class,
            ttl,
            data,
        },
        start + rdlen,
    ))
}

/// Writes tcpdump's one-line description of a DNS message (without the leading space):
/// `50075+ A? baidu.com. (27)` for a query, `50075* 1/0/0 A 10.0.1.80 (43)` for a response,
/// `31644 Refused 0/0/0 (27)`. A malformed message ends with `[|domain]`, as in tcpdump.
/// Allocates nothing.
pub(crate) fn write_summary(out: &mut impl fmt::Write, msg: &[u8]) -> fmt::Result {
    if msg.len() < HEADER_LEN {
        return out.write_str("[|domain]");
    }
    let flags = DnsFlags(be16(&msg[2..]));
    let count = |i: usize| be16(&msg[i..]);
    let (qd, an, ns, ar) = (count(4), count(6), count(8), count(10));
    write!(out, "{}", be16(msg))?;
    match flags.opcode() {
        DnsOpcode::Query => {}
        DnsOpcode::IQuery => out.write_str(" inv_q")?,
        DnsOpcode::Status => out.write_str(" stat")?,
        DnsOpcode::Notify => out.write_str(" notify")?,
        DnsOpcode::Update => out.write_str(" update")?,
        DnsOpcode::Other(n) => write!(out, " op{n}")?,
    }
    let mut pos = HEADER_LEN;
    if flags.qr() {
        match flags.rcode() {
            DnsRcode::NoError => {}
            DnsRcode::FormErr => out.write_str(" FormErr")?,
            DnsRcode::ServFail => out.write_str(" ServFail")?,
            DnsRcode::NxDomain => out.write_str(" NXDomain")?,
            DnsRcode::NotImp => out.write_str(" NotImp")?,
            DnsRcode::Refused => out.write_str(" Refused")?,
            DnsRcode::Other(n) => write!(out, " Resp{n}")?,
        }
        for (on, mark) in [
            (flags.aa(), "*"),
            (!flags.ra(), "-"),
            (flags.tc(), "|"),
            (flags.ad(), "$"),
        ] {
            if on {
                out.write_str(mark)?;
            }
        }
        if qd != 1 {
            write!(out, " [{qd}q]")?;
        }
        for _ in 0..qd {
            match walk_name(msg, pos, |_| {}) {
                Ok(next) if next + 4 <= msg.len() => pos = next + 4,
                _ => return out.write_str(" [|domain]"),
            }
        }
        write!(out, " {an}/{ns}/{ar}")?;
        for i in 0..an {
            if i > 0 {
                out.write_char(',')?;
            }
            match write_record_summary(out, msg, pos)? {
                Some(next) => pos = next,
                None => return out.write_str(" [|domain]"),
            }
        }
    } else {
        if flags.rd() {
            out.write_char('+')?;
        }
        if flags.ad() {
            out.write_char('$')?;
        }
        if flags.0 & 0x06cf != 0 {
            write!(out, " [b2&3={:#x}]", flags.0)?;
        }
        if an != 0 {
            write!(out, " [{an}a]")?;
        }
        if qd != 1 {
            write!(out, " [{qd}q]")?;
        }
        if ns != 0 {
            write!(out, " [{ns}n]")?;
        }
        if ar != 0 {
            write!(out, " [{ar}au]")?;
        }
        for _ in 0..qd {
            let Ok(next) = walk_name(msg, pos, |_| {}) else {
                return out.write_str(" [|domain]");
            };
            let Some(fixed) = msg.get(next..next + 4) else {
                return out.write_str(" [|domain]");
            };
            write!(out, " {}", DnsType::from(be16(fixed)))?;
            let class = be16(&fixed[2..]);
            if class != CLASS_IN {
                write!(out, " (Class {class})")?;
            }
            out.write_str("? ")?;
            write_name(out, msg, pos)?;
            pos = next + 4;
        }
    }
    write!(out, " ({})", msg.len())
}

/// Writes a name as tcpdump does (`baidu.com.`, the root as `.`).
fn write_name(out: &mut impl fmt::Write, msg: &[u8], pos: usize) -> fmt::Result {
    let mut result = Ok(());
    let mut any = false;
    let walked = walk_name(msg, pos, |label| {
        any = true;
        if result.is_ok() {
            result = write_label(out, label).and_then(|()| out.write_char('.'));
        }
    });
    result?;
    if walked.is_err() {
        return out.write_str("[|domain]");
    }
    if !any {
        out.write_char('.')?;
    }
    Ok(())
}

/// Writes one answer as tcpdump does without `-v` (` A 10.0.1.80`); returns the offset
/// after it, or `None` if it is malformed.
fn write_record_summary(
    out: &mut impl fmt::Write,
    msg: &[u8],
    pos: usize,
) -> core::result::Result<Option<usize>, fmt::Error> {
    let Ok(next) = walk_name(msg, pos, |_| {}) else {
        return Ok(None);
    };
    let Some(fixed) = msg.get(next..next + 10) else {
        return Ok(None);
    };
    let rtype = DnsType::from(be16(fixed));
    let class = be16(&fixed[2..]);
    let rdlen = usize::from(be16(&fixed[8..]));
    let start = next + 10;
    let Some(rdata) = msg.get(start..start + rdlen) else {
        return Ok(None);
    };
    if class != CLASS_IN && rtype != DnsType::Opt {
        write!(out, " (Class {class})")?;
    }
    write!(out, " {rtype}")?;
    match rtype {
        DnsType::A if rdlen == 4 => write!(out, " {}", super::ipv4_addr(rdata))?,
        DnsType::Aaaa if rdlen == 16 => {
            let b: [u8; 16] = rdata.try_into().map_err(|_| fmt::Error)?;
            write!(out, " {}", Ipv6Addr::from(b))?;
        }
        DnsType::Cname | DnsType::Ns | DnsType::Ptr => {
            out.write_char(' ')?;
            write_name(out, msg, start)?;
        }
        _ => {}
    }
    Ok(Some(start + rdlen))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::hex;
    use proptest::prelude::*;

    fn baidu() -> DnsName {
        DnsName::from_dotted("baidu.com").unwrap()
    }

    /// REFERENCE.md §2.3, "Message contents".
    const QUERY_A: &str = "c39b 0100 0001 0000 0000 0000 05 626169647503636f6d 00 0001 0001";
    const RESPONSE_A: &str = "c39b 8580 0001 0001 0000 0000 05 626169647503636f6d 00 0001 0001 \
                              c00c 0001 0001 00000000 0004 0a000150";
    const RESPONSE_AAAA_REFUSED: &str =
        "7b9c 8185 0001 0000 0000 0000 05 626169647503636f6d 00 001c 0001";

    #[test]
    fn reference_query_bytes() {
        let q = DnsRepr::query(0xc39b, baidu(), DnsType::A);
        let mut buf = [0u8; 64];
        let n = q.emit(&mut buf).unwrap();
        assert_eq!(n, 27);
        assert_eq!(&buf[..n], &hex(QUERY_A)[..]);
        assert_eq!(DnsRepr::parse(&buf[..n]), Ok(q.clone()));
        let aaaa = DnsRepr::query(0x7b9c, baidu(), DnsType::Aaaa);
        let n = aaaa.emit(&mut buf).unwrap();
        assert_eq!(
            &buf[..n],
            &hex("7b9c 0100 0001 0000 0000 0000 05 626169647503636f6d 00 001c 0001")[..]
        );
    }

    #[test]
    fn reference_responses_bytes() {
        let q = DnsRepr::query(0xc39b, baidu(), DnsType::A);
        let r = DnsRepr::response(
            &q,
            DnsFlags::RESPONSE_AUTHORITATIVE,
            vec![DnsRecord::a(baidu(), 0, Ipv4Addr::new(10, 0, 1, 80))],
        );
        let mut buf = [0u8; 64];
        let n = r.emit(&mut buf).unwrap();
        assert_eq!(n, 43);
        assert_eq!(&buf[..n], &hex(RESPONSE_A)[..]);
        assert_eq!(DnsRepr::parse(&buf[..n]), Ok(r));

        let q = DnsRepr::query(0x7b9c, baidu(), DnsType::Aaaa);
        let r = DnsRepr::response(&q, DnsFlags::RESPONSE.with_rcode(DnsRcode::Refused), vec![]);
        let n = r.emit(&mut buf).unwrap();
        assert_eq!(&buf[..n], &hex(RESPONSE_AAAA_REFUSED)[..]);
        let parsed = DnsRepr::parse(&buf[..n]).unwrap();
        assert_eq!(parsed.flags.rcode(), DnsRcode::Refused);
        assert!(parsed.flags.qr() && parsed.flags.rd() && parsed.flags.ra() && !parsed.flags.aa());

        let nodata = DnsRepr::response(&q, DnsFlags::RESPONSE, vec![]);
        assert_eq!(nodata.flags.0, 0x8180);
        let nx = DnsRepr::response(
            &q,
            DnsFlags::RESPONSE.with_rcode(DnsRcode::NxDomain),
            vec![],
        );
        assert_eq!(nx.flags.0, 0x8183);
        // RD is copied from the query.
        let mut no_rd = q;
        no_rd.flags = DnsFlags(0);
        assert_eq!(
            DnsRepr::response(&no_rd, DnsFlags::RESPONSE, vec![])
                .flags
                .0,
            0x8080
        );
    }

    #[test]
    fn summaries_like_tcpdump() {
        let s = |h: &str| {
            let mut out = String::new();
            write_summary(&mut out, &hex(h)).unwrap();
            out
        };
        assert_eq!(s(QUERY_A), "50075+ A? baidu.com. (27)");
        assert_eq!(s(RESPONSE_A), "50075* 1/0/0 A 10.0.1.80 (43)");
        assert_eq!(s(RESPONSE_AAAA_REFUSED), "31644 Refused 0/0/0 (27)");
        assert_eq!(s("0001 0100 0001"), "[|domain]");
        assert_eq!(s("0001 0100 0001 0000 0000 0000 05 6261"), "1+ [|domain]");
    }

    #[test]
    fn names() {
        assert_eq!(baidu().to_string(), "baidu.com");
        assert_eq!(DnsName::from_dotted("baidu.com.").unwrap(), baidu());
        assert_eq!(DnsName::from_dotted("").unwrap(), DnsName::root());
        assert_eq!(DnsName::from_dotted(".").unwrap().to_string(), ".");
        assert_eq!(DnsName::from_dotted("a..b"), Err(Error::BadName));
        assert_eq!(DnsName::from_dotted(&"a".repeat(64)), Err(Error::BadName));
        let long = vec!["a".repeat(63); 4].join(".");
        assert_eq!(DnsName::from_dotted(&long), Err(Error::BadName)); // 257 bytes
        let ok = vec!["a".repeat(63); 3].join(".") + "." + &"a".repeat(61);
        assert_eq!(DnsName::from_dotted(&ok).unwrap().as_wire().len(), 255);
        assert!(baidu().eq_ignore_ascii_case(&DnsName::from_dotted("BaiDu.COM").unwrap()));
        let odd = DnsName {
            wire: vec![3, b'a', b'.', 0x07, 0],
        };
        assert_eq!(odd.to_string(), "a\\.\\007");
    }

    #[test]
    fn compression_pointers_are_bounded() {
        // A pointer to itself, a forward pointer, and a two-pointer loop.
        let header = hex("0001 8180 0001 0000 0000 0000");
        let mut self_ptr = header.clone();
        self_ptr.extend_from_slice(&hex("c00c 0001 0001"));
        assert_eq!(DnsRepr::parse(&self_ptr), Err(Error::BadName));
        let mut forward = header.clone();
        forward.extend_from_slice(&hex("c00e 0001 0001"));
        assert_eq!(DnsRepr::parse(&forward), Err(Error::BadName));
        // A question whose label is followed by a pointer forward into the answer, whose
        // name points back at the question: a loop, refused at the forward pointer.
        let mut looped = hex("0001 8180 0001 0001 0000 0000");
        looped.extend_from_slice(&hex("01 61 c016 0001 0001")); // question "a" + ptr to 22
        looped.extend_from_slice(&hex("c00c 0001 0001 00000000 0004 01020304"));
        assert_eq!(DnsRepr::parse(&looped), Err(Error::BadName));
        // Reserved label types.
        let mut reserved = header;
        reserved.extend_from_slice(&hex("40 0001 0001"));
        assert_eq!(DnsRepr::parse(&reserved), Err(Error::BadName));
    }

    #[test]
    fn nested_compression_and_cname() {
        // Question www.example.com; answer 1: CNAME www -> "web" + ptr to "example.com"
        // (offset 16); answer 2: web.example.com A, its name a pointer into answer 1's data.
        let mut m = hex("1234 8180 0001 0002 0000 0000");
        m.extend_from_slice(&hex("03777777 076578616d706c65 03636f6d 00 0001 0001"));
        // Answer 1 at 33: name c00c, CNAME, data at 45: 03 'web' c010.
        m.extend_from_slice(&hex("c00c 0005 0001 0000003c 0006 03776562 c010"));
        // Answer 2 at 51: name ptr to 45.
        m.extend_from_slice(&hex("c02d 0001 0001 0000003c 0004 0a000001"));
        let r = DnsRepr::parse(&m).unwrap();
        let www = DnsName::from_dotted("www.example.com").unwrap();
        let web = DnsName::from_dotted("web.example.com").unwrap();
        assert_eq!(r.questions[0].name, www);
        assert_eq!(r.answers[0].data, RData::Cname(web.clone()));
        assert_eq!(r.answers[1].name, web);
        assert_eq!(r.answers[1].data, RData::A(Ipv4Addr::new(10, 0, 0, 1)));
        let mut out = String::new();
        write_summary(&mut out, &m).unwrap();
        assert_eq!(out, "4660 2/0/0 CNAME web.example.com., A 10.0.0.1 (67)");
        // Re-emitted without nested compression, it parses back the same.
        let mut buf = vec![0u8; r.buffer_len()];
        r.emit(&mut buf).unwrap();
        assert_eq!(DnsRepr::parse(&buf), Ok(r));
    }

    #[test]
    fn emit_needs_space() {
        let q = DnsRepr::query(1, baidu(), DnsType::A);
        assert_eq!(q.emit(&mut [0u8; 26]), Err(Error::NoSpace));
    }

    fn arb_name() -> impl Strategy<Value = DnsName> {
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..12), 0..5).prop_map(
            |labels| {
                let mut wire = Vec::new();
                for l in labels {
                    wire.push(l.len() as u8);
                    wire.extend_from_slice(&l);
                }
                wire.push(0);
                DnsName { wire }
            },
        )
    }

    fn arb_record(names: Vec<DnsName>) -> impl Strategy<Value = DnsRecord> {
        (
            proptest::sample::select(names),
            0u8..4,
            any::<u16>(),
            any::<u32>(),
            any::<[u8; 16]>(),
            arb_name(),
            proptest::collection::vec(any::<u8>(), 0..20),
            1u16..400,
        )
            .prop_map(|(name, kind, class, ttl, addr, target, raw, other)| {
                let (rtype, data) = match kind {
                    0 => (
                        DnsType::A,
                        RData::A(Ipv4Addr::from([addr[0], addr[1], addr[2], addr[3]])),
                    ),
                    1 => (DnsType::Aaaa, RData::Aaaa(Ipv6Addr::from(addr))),
                    2 => (DnsType::Cname, RData::Cname(target)),
                    // Types kept raw; not A, NS, CNAME, PTR or AAAA, which are read or summarised as such.
                    _ => (
                        DnsType::from(if matches!(other, 1 | 2 | 5 | 12 | 28) {
                            99
                        } else {
                            other
                        }),
                        RData::Other(raw),
                    ),
                };
                DnsRecord {
                    name,
                    rtype,
                    class,
                    ttl,
                    data,
                }
            })
    }

    fn arb_repr() -> impl Strategy<Value = DnsRepr> {
        (
            arb_name(),
            arb_name(),
            any::<u16>(),
            any::<u16>(),
            0usize..3,
            any::<u16>(),
        )
            .prop_flat_map(|(n1, n2, id, flags, nq, qt)| {
                let names = vec![n1.clone(), n2.clone()];
                let questions: Vec<DnsQuestion> = [n1, n2]
                    .into_iter()
                    .take(nq)
                    .map(|name| DnsQuestion {
                        name,
                        qtype: DnsType::from(qt),
                        qclass: CLASS_IN,
                    })
                    .collect();
                (
                    Just(id),
                    Just(flags),
                    Just(questions),
                    proptest::collection::vec(arb_record(names.clone()), 0..3),
                    proptest::collection::vec(arb_record(names.clone()), 0..2),
                    proptest::collection::vec(arb_record(names), 0..2),
                )
            })
            .prop_map(
                |(id, flags, questions, answers, authorities, additionals)| DnsRepr {
                    id,
                    flags: DnsFlags(flags),
                    questions,
                    answers,
                    authorities,
                    additionals,
                },
            )
    }

    proptest! {
        #[test]
        fn roundtrip(repr in arb_repr()) {
            let mut buf = vec![0u8; repr.buffer_len()];
            let n = repr.emit(&mut buf).unwrap();
            prop_assert_eq!(n, buf.len());
            prop_assert_eq!(DnsRepr::parse(&buf), Ok(repr));
            let mut out = String::new();
            write_summary(&mut out, &buf).unwrap();
            prop_assert!(!out.contains("[|domain]"), "{}", out);
        }

        #[test]
        fn parse_never_panics(buf in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = DnsRepr::parse(&buf);
            let mut out = String::new();
            write_summary(&mut out, &buf).unwrap();
        }

        #[test]
        fn parse_never_panics_near_valid(
            repr in arb_repr(), idx in any::<proptest::sample::Index>(), val in any::<u8>(),
            cut in 0usize..20,
        ) {
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut buf).unwrap();
            let i = idx.index(buf.len());
            buf[i] = val;
            buf.truncate(buf.len().saturating_sub(cut));
            let _ = DnsRepr::parse(&buf);
            let mut out = String::new();
            write_summary(&mut out, &buf).unwrap();
        }

        #[test]
        fn dotted_roundtrip(labels in proptest::collection::vec("[a-z0-9-]{1,20}", 0..6)) {
            let text = labels.join(".");
            let name = DnsName::from_dotted(&text).unwrap();
            let shown = name.to_string();
            prop_assert_eq!(shown, if text.is_empty() { ".".to_string() } else { text });
        }
    }
}
