//! Script packets as bytes, live packets as packetdrill sees them, and packetdrill's checks
//! between the two, with its messages.
//!
//! A [`Segment`] is one IPv4 or IPv6 TCP packet as packetdrill's `struct packet` holds it:
//! the IP header fields it checks, the TCP header, the option bytes and the payload. Script lines
//! become segments ([`Segment::from_script`]); live packets are parsed into segments
//! ([`Segment::parse`]) and mapped into script space by the runner; then
//! [`verify_headers`], [`verify_options`] and [`verify_payload`] compare them the way
//! `verify_outbound_live_packet` (run_packet.c) does, in the same order, failing with the
//! same words (`live packet field tcp_ack_seq: expected: 2 (0x2) vs actual: 1 (0x1)`).
//! [`Segment::dump`] is packetdrill's `DUMP_SHORT` (`P. 1:1001(1000) ack 1 win 1050`).
//!
//! Inbound segments are emitted with `sim_stack::wire` (real IPv4 and TCP checksums; IPv6
//! with hop limit 255, the script's traffic class and flow label, as packetdrill's
//! `set_ipv6_header` writes them).

use core::fmt::Write as _;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use sim_stack::wire::{
    IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Packet, Ipv6Repr, SackBlocks, TcpFlags, TcpOption,
    TcpOptions, TcpPacket, TcpRepr,
};

use crate::ast::{AccEcnField, IpInfo, TcpOptionSpec, TcpSpec, TosSpec};

/// The TTL packetdrill writes into a script packet without `(ttl N)`: it means "not
/// checked" on outbound packets and is the TTL of injected ones (`TTL_CHECK_NONE`).
pub const TTL_CHECK_NONE: u8 = 255;

/// Option kinds packetdrill knows.
pub mod kind {
    /// End of option list.
    pub const EOL: u8 = 0;
    /// No-operation.
    pub const NOP: u8 = 1;
    /// Maximum segment size.
    pub const MSS: u8 = 2;
    /// Window scale.
    pub const WINDOW: u8 = 3;
    /// SACK permitted.
    pub const SACK_PERMITTED: u8 = 4;
    /// SACK blocks.
    pub const SACK: u8 = 5;
    /// Timestamps.
    pub const TIMESTAMP: u8 = 8;
    /// RFC 2385 MD5 signature.
    pub const MD5SIG: u8 = 19;
    /// RFC 7413 Fast Open.
    pub const FASTOPEN: u8 = 34;
    /// AccECN, order 0.
    pub const ACCECN0: u8 = 172;
    /// AccECN, order 1.
    pub const ACCECN1: u8 = 174;
    /// Experimental (Fast Open with magic 0xF989).
    pub const EXP: u8 = 254;
}

/// The magic of an experimental Fast Open option.
pub const FASTOPEN_MAGIC: u16 = 0xF989;

const VALID_FLAGS: &str = ".FSRPEWAU01234567";

/// Checks a flags word as packetdrill's `is_tcp_flags_spec_valid` does.
///
/// # Errors
/// `Invalid TCP flag: 'X'` or `Conflicting TCP flag: 'X'`.
pub fn check_flags(flags: &str) -> Result<(), String> {
    let (mut ecn, mut ace) = (false, false);
    for c in flags.chars() {
        if !VALID_FLAGS.contains(c) {
            return Err(format!("Invalid TCP flag: '{c}'"));
        }
        if "EWA".contains(c) {
            if ace {
                return Err(format!("Conflicting TCP flag: '{c}'"));
            }
            ecn = true;
        }
        if c.is_ascii_digit() {
            if ecn || ace {
                return Err(format!("Conflicting TCP flag: '{c}'"));
            }
            ace = true;
        }
    }
    Ok(())
}

/// The TCP flags a flags word sets, and whether it gave an AccECN ACE count (a digit).
pub fn parse_flags(flags: &str) -> (TcpFlags, bool) {
    let mut f = TcpFlags::NONE;
    for (c, flag) in [
        ('F', TcpFlags::FIN),
        ('S', TcpFlags::SYN),
        ('R', TcpFlags::RST),
        ('P', TcpFlags::PSH),
        ('.', TcpFlags::ACK),
        ('U', TcpFlags::URG),
    ] {
        if flags.contains(c) {
            f |= flag;
        }
    }
    match flags.chars().find(char::is_ascii_digit) {
        Some(d) => {
            let ace = d as u16 - u16::from(b'0');
            for (bit, flag) in [(1, TcpFlags::ECE), (2, TcpFlags::CWR), (4, TcpFlags::AE)] {
                if ace & bit != 0 {
                    f |= flag;
                }
            }
            (f, true)
        }
        None => {
            for (c, flag) in [
                ('E', TcpFlags::ECE),
                ('W', TcpFlags::CWR),
                ('A', TcpFlags::AE),
            ] {
                if flags.contains(c) {
                    f |= flag;
                }
            }
            (f, false)
        }
    }
}

/// The bytes an option takes.
pub fn option_len(o: &TcpOptionSpec) -> usize {
    match o {
        TcpOptionSpec::Nop | TcpOptionSpec::Eol => 1,
        TcpOptionSpec::Mss(_) => 4,
        TcpOptionSpec::WindowScale(_) => 3,
        TcpOptionSpec::SackPermitted => 2,
        TcpOptionSpec::Sack(b) => 2 + 8 * b.len(),
        TcpOptionSpec::Md5(d) => 2 + d.len(),
        TcpOptionSpec::Timestamp { .. } => 10,
        TcpOptionSpec::FastOpen(c) => 2 + c.len(),
        TcpOptionSpec::FastOpenExp(c) => 4 + c.len(),
        TcpOptionSpec::AccEcn(f) => 2 + 3 * f.len(),
    }
}

/// The AccECN field orders packetdrill accepts: a prefix of `e0b ceb e1b` or of
/// `e1b ceb e0b`.
pub fn accecn_order_valid(fields: &[(AccEcnField, u32)]) -> bool {
    use AccEcnField::{Ceb, E0b, E1b};
    let names: Vec<AccEcnField> = fields.iter().map(|f| f.0).collect();
    [[E0b, Ceb, E1b], [E1b, Ceb, E0b]]
        .iter()
        .any(|order| !names.is_empty() && names.len() <= 3 && order[..names.len()] == names[..])
}

/// Encodes script options into the bytes they occupy on the wire.
pub fn encode_options(options: &[TcpOptionSpec]) -> Vec<u8> {
    let mut out = Vec::new();
    for o in options {
        let mut data = Vec::new();
        let option = match o {
            TcpOptionSpec::Nop => TcpOption::NoOp,
            TcpOptionSpec::Eol => TcpOption::EndOfList,
            TcpOptionSpec::Mss(v) => TcpOption::MaxSegmentSize(*v),
            TcpOptionSpec::WindowScale(v) => TcpOption::WindowScale(*v),
            TcpOptionSpec::SackPermitted => TcpOption::SackPermitted,
            TcpOptionSpec::Sack(b) => match SackBlocks::new(b) {
                Some(blocks) => TcpOption::Sack(blocks),
                None => continue, // more than 4 blocks: refused by the parser
            },
            TcpOptionSpec::Timestamp { val, ecr } => TcpOption::Timestamp {
                tsval: *val,
                tsecr: *ecr,
            },
            TcpOptionSpec::Md5(d) => {
                data.extend_from_slice(d);
                TcpOption::Unknown {
                    kind: kind::MD5SIG,
                    data: &data,
                }
            }
            TcpOptionSpec::FastOpen(c) => {
                data.extend_from_slice(c);
                TcpOption::Unknown {
                    kind: kind::FASTOPEN,
                    data: &data,
                }
            }
            TcpOptionSpec::FastOpenExp(c) => {
                data.extend_from_slice(&FASTOPEN_MAGIC.to_be_bytes());
                data.extend_from_slice(c);
                TcpOption::Unknown {
                    kind: kind::EXP,
                    data: &data,
                }
            }
            TcpOptionSpec::AccEcn(fields) => {
                for (_, v) in fields {
                    data.extend_from_slice(&v.to_be_bytes()[1..]);
                }
                let k = if fields.first().map(|f| f.0) == Some(AccEcnField::E1b) {
                    kind::ACCECN1
                } else {
                    kind::ACCECN0
                };
                TcpOption::Unknown {
                    kind: k,
                    data: &data,
                }
            }
        };
        let at = out.len();
        out.resize(at + option.buffer_len(), 0);
        option.emit(&mut out[at..]);
    }
    out
}

// ---------------------------------------------------------------- options as packetdrill iterates them

/// One option inside an options area: its kind and all its bytes (kind and length included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawOption<'a> {
    /// The kind byte.
    pub kind: u8,
    /// The whole option.
    pub bytes: &'a [u8],
}

/// Splits an options area into options as `tcp_options_iterator.c` does: EOL and NOP are one
/// byte each (iteration continues after an EOL); known fixed-size kinds must have their
/// length; unknown kinds are an error.
///
/// # Errors
/// packetdrill's messages: `unexpected TCP option kind: N`, `TCP option length byte extends
/// too far`, `TCP option with length byte is too short`, `TCP option data extends too far`,
/// `bad TCP option length: was N but expected M`.
pub fn split_options(area: &[u8]) -> Result<Vec<RawOption<'_>>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < area.len() {
        let k = area[i];
        let expected: u8 = match k {
            kind::EOL | kind::NOP => {
                out.push(RawOption {
                    kind: k,
                    bytes: &area[i..=i],
                });
                i += 1;
                continue;
            }
            kind::MSS => 4,
            kind::WINDOW => 3,
            kind::SACK_PERMITTED => 2,
            kind::TIMESTAMP => 10,
            kind::SACK
            | kind::MD5SIG
            | kind::FASTOPEN
            | kind::ACCECN0
            | kind::ACCECN1
            | kind::EXP => 0,
            _ => return Err(format!("unexpected TCP option kind: {k}")),
        };
        if i + 1 >= area.len() {
            return Err("TCP option length byte extends too far".into());
        }
        let len = area[i + 1];
        if len < 2 {
            return Err("TCP option with length byte is too short".into());
        }
        if i + usize::from(len) > area.len() {
            return Err("TCP option data extends too far".into());
        }
        if expected != 0 && len != expected {
            return Err(format!(
                "bad TCP option length: was {len} but expected {expected}"
            ));
        }
        out.push(RawOption {
            kind: k,
            bytes: &area[i..i + usize::from(len)],
        });
        i += usize::from(len);
    }
    Ok(out)
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn hex(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
}

/// One option as `tcp_option_info_to_string` prints it.
///
/// # Errors
/// `invalid ECN option`, `unknown experimental option`, `unexpected TCP option kind: N`.
pub fn option_to_string(o: RawOption<'_>) -> Result<String, String> {
    let mut s = String::new();
    let b = o.bytes;
    match o.kind {
        kind::EOL => s.push_str("eol"),
        kind::NOP => s.push_str("nop"),
        kind::MSS => {
            let _ = write!(s, "mss {}", u16::from_be_bytes([b[2], b[3]]));
        }
        kind::WINDOW => {
            let _ = write!(s, "wscale {}", b[2]);
        }
        kind::SACK_PERMITTED => s.push_str("sackOK"),
        kind::SACK => {
            if (b.len() - 2) % 8 != 0 {
                return Err(format!("invalid length {} for TCP SACK option", b.len()));
            }
            s.push_str("sack ");
            for (i, blk) in b[2..].chunks_exact(8).enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                let _ = write!(s, "{}:{}", be32(blk), be32(&blk[4..]));
            }
        }
        kind::TIMESTAMP => {
            let _ = write!(s, "TS val {} ecr {}", be32(&b[2..]), be32(&b[6..]));
        }
        kind::MD5SIG => {
            if b.len() <= 18 {
                s.push_str("md5");
                if b.len() > 2 {
                    s.push(' ');
                }
                hex(&mut s, &b[2..]);
            }
        }
        kind::FASTOPEN => {
            s.push_str("FO");
            if b.len() > 2 {
                s.push(' ');
            }
            hex(&mut s, &b[2..]);
        }
        kind::ACCECN0 | kind::ACCECN1 => {
            let labels = if o.kind == kind::ACCECN0 {
                ["e0b", "ceb", "e1b"]
            } else {
                ["e1b", "ceb", "e0b"]
            };
            if b.len() > 2 + 9 {
                return Err("invalid ECN option".into());
            }
            s.push_str("ECN");
            for (i, f) in b[2..].chunks_exact(3).enumerate() {
                let v = u32::from_be_bytes([0, f[0], f[1], f[2]]);
                let _ = write!(s, " {} {v}", labels[i]);
            }
        }
        kind::EXP => {
            if b.len() < 4 || u16::from_be_bytes([b[2], b[3]]) != FASTOPEN_MAGIC {
                return Err("unknown experimental option".into());
            }
            s.push_str("FOEXP");
            if b.len() > 4 {
                s.push(' ');
            }
            hex(&mut s, &b[4..]);
        }
        k => return Err(format!("unexpected TCP option kind: {k}")),
    }
    Ok(s)
}

/// All options, comma-separated, as `tcp_options_to_string` prints them.
///
/// # Errors
/// As [`split_options`] and [`option_to_string`].
pub fn options_to_string(area: &[u8]) -> Result<String, String> {
    let opts = split_options(area)?;
    let mut parts = Vec::with_capacity(opts.len());
    for o in opts {
        parts.push(option_to_string(o)?);
    }
    Ok(parts.join(","))
}

// ---------------------------------------------------------------- segments

/// One IPv4 or IPv6 TCP packet, script or live, with the fields packetdrill compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// IP version (4 or 6).
    pub version: u8,
    /// IPv4 header length in 32-bit words; 0 for IPv6, which has none (so that
    /// `ihl * 4 + doff * 4 + payload` is the length field either way).
    pub ihl: u8,
    /// IPv4 total length, or IPv6 payload length.
    pub total_len: u16,
    /// TOS byte, or IPv6 traffic class (DSCP and ECN).
    pub tos: u8,
    /// TTL, or IPv6 hop limit.
    pub ttl: u8,
    /// IPv4 protocol, or IPv6 next header.
    pub protocol: u8,
    /// The IPv6 flow label (0 on IPv4; on a script packet, 0 means not checked).
    pub flow_label: u32,
    /// Whether the IP header checksum verifies (always true for script packets and IPv6).
    pub ip_checksum_ok: bool,
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number.
    pub ack: u32,
    /// The flags, AE included.
    pub flags: TcpFlags,
    /// The three reserved bits of the data-offset byte.
    pub res1: u8,
    /// TCP header length in 32-bit words.
    pub doff: u8,
    /// The window field.
    pub window: u16,
    /// The urgent pointer.
    pub urg_ptr: u16,
    /// The option bytes.
    pub options: Vec<u8>,
    /// The payload.
    pub payload: Vec<u8>,
    /// Script side: `win` was not given (`FLAG_WIN_NOCHECK`).
    pub win_nocheck: bool,
    /// Script side: `<...>` (`FLAG_OPTIONS_NOCHECK`).
    pub options_nocheck: bool,
    /// Script side: the flags gave an ACE count (`FLAG_PARSE_ACE`).
    pub ace: bool,
    /// Script side: how the TOS byte is checked.
    pub tos_check: TosSpec,
}

/// Why a live packet is not a TCP segment packetdrill can look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Neither IPv4 nor IPv6, or truncated.
    NotIp,
    /// IP but not TCP (the protocol or next header: an ICMPv6 Router Solicitation, …).
    NotTcp(u8),
    /// A TCP header that does not fit.
    BadTcp,
}

impl Segment {
    /// The script packet of a TCP line, as `new_tcp_packet` builds it: addresses and ports
    /// zero (they are mapped later), a zero payload of the given length.
    pub fn from_script(spec: &TcpSpec, ip: &IpInfo) -> Self {
        let (flags, ace) = parse_flags(&spec.flags);
        let options = spec
            .options
            .as_deref()
            .map(encode_options)
            .unwrap_or_default();
        let tcp_len = 20 + options.len();
        let (src_port, dst_port) = spec.ports.unwrap_or((0, 0));
        Self {
            version: 4,
            ihl: 5,
            total_len: (20 + tcp_len + usize::from(spec.len)) as u16,
            tos: match ip.tos {
                TosSpec::Ecn(v) | TosSpec::Tos(v) => v,
                TosSpec::None | TosSpec::Ect01 => 0,
            },
            ttl: if ip.ttl == 0 { TTL_CHECK_NONE } else { ip.ttl },
            protocol: 6,
            flow_label: 0,
            ip_checksum_ok: true,
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            src_port,
            dst_port,
            seq: spec.seq,
            ack: spec.ack,
            flags,
            res1: 0,
            doff: (tcp_len / 4) as u8,
            window: spec.win.unwrap_or(0),
            urg_ptr: spec.urg,
            options,
            payload: vec![0; usize::from(spec.len)],
            win_nocheck: spec.win.is_none(),
            options_nocheck: spec.options.is_none(),
            ace,
            tos_check: ip.tos,
        }
    }

    /// The same script packet over IPv6, as `new_tcp_packet` builds it for `AF_INET6`:
    /// the script's traffic class, hop limit and flow label, the payload length in place
    /// of the total length.
    #[must_use]
    pub fn into_ipv6(mut self, ip: &IpInfo) -> Self {
        self.version = 6;
        self.total_len -= u16::from(self.ihl) * 4;
        self.ihl = 0;
        self.flow_label = ip.flow_label;
        self.src = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        self.dst = IpAddr::V6(Ipv6Addr::UNSPECIFIED);
        self
    }

    /// Parses an IPv4 or IPv6 datagram carrying TCP.
    ///
    /// # Errors
    /// [`ParseError`] when it is not TCP over IP or does not fit its lengths.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        if bytes.first().map(|b| b >> 4) == Some(6) {
            return Self::parse6(bytes);
        }
        let ip = Ipv4Packet::new_checked(bytes).map_err(|_| ParseError::NotIp)?;
        if ip.version() != 4 {
            return Err(ParseError::NotIp);
        }
        let protocol = u8::from(ip.protocol());
        if protocol != 6 {
            return Err(ParseError::NotTcp(protocol));
        }
        let tcp = TcpPacket::new_checked(ip.payload()).map_err(|_| ParseError::BadTcp)?;
        let raw = ip.payload();
        Ok(Self {
            version: ip.version(),
            ihl: ip.header_len() / 4,
            total_len: ip.total_len(),
            tos: ip.dscp_ecn(),
            ttl: ip.ttl(),
            protocol,
            flow_label: 0,
            ip_checksum_ok: ip.verify_checksum(),
            src: IpAddr::V4(ip.src_addr()),
            dst: IpAddr::V4(ip.dst_addr()),
            src_port: tcp.src_port(),
            dst_port: tcp.dst_port(),
            seq: tcp.seq_number(),
            ack: tcp.ack_number(),
            flags: tcp.flags(),
            res1: (raw[12] >> 1) & 0x7,
            doff: tcp.header_len() / 4,
            window: tcp.window_len(),
            urg_ptr: tcp.urgent_at(),
            options: tcp.options().to_vec(),
            payload: tcp.payload().to_vec(),
            win_nocheck: false,
            options_nocheck: false,
            ace: false,
            tos_check: TosSpec::None,
        })
    }

    /// An IPv6 packet whose next header is TCP (Linux's TCP adds no extension header).
    fn parse6(bytes: &[u8]) -> Result<Self, ParseError> {
        let ip = Ipv6Packet::new_checked(bytes).map_err(|_| ParseError::NotIp)?;
        let repr = Ipv6Repr::parse(&ip).map_err(|_| ParseError::NotIp)?;
        let protocol = u8::from(repr.next_header);
        if protocol != 6 {
            return Err(ParseError::NotTcp(protocol));
        }
        let raw = &ip.payload()[..repr.payload_len];
        let tcp = TcpPacket::new_checked(raw).map_err(|_| ParseError::BadTcp)?;
        Ok(Self {
            version: 6,
            ihl: 0,
            total_len: repr.payload_len as u16,
            tos: repr.traffic_class,
            ttl: repr.hop_limit,
            protocol,
            flow_label: repr.flow_label,
            ip_checksum_ok: true,
            src: IpAddr::V6(repr.src_addr),
            dst: IpAddr::V6(repr.dst_addr),
            src_port: tcp.src_port(),
            dst_port: tcp.dst_port(),
            seq: tcp.seq_number(),
            ack: tcp.ack_number(),
            flags: tcp.flags(),
            res1: (raw[12] >> 1) & 0x7,
            doff: tcp.header_len() / 4,
            window: tcp.window_len(),
            urg_ptr: tcp.urgent_at(),
            options: tcp.options().to_vec(),
            payload: tcp.payload().to_vec(),
            win_nocheck: false,
            options_nocheck: false,
            ace: false,
            tos_check: TosSpec::None,
        })
    }

    /// The bytes of this segment as an IP datagram, checksums filled: IPv4 with ident 0
    /// and DF clear, IPv6 with the segment's traffic class, flow label and hop limit, as
    /// packetdrill injects them. The reserved bits are not written.
    pub fn emit(&self) -> Vec<u8> {
        let mut list = Vec::new();
        for o in split_options(&self.options).unwrap_or_default() {
            list.push(match o.kind {
                kind::EOL => TcpOption::EndOfList,
                kind::NOP => TcpOption::NoOp,
                k => TcpOption::Unknown {
                    kind: k,
                    data: &o.bytes[2..],
                },
            });
        }
        let options = TcpOptions::new(&list).unwrap_or_default();
        let tcp = TcpRepr {
            src_port: self.src_port,
            dst_port: self.dst_port,
            seq: self.seq,
            ack: self.ack,
            flags: self.flags,
            window: self.window,
            urgent: self.urg_ptr,
            options,
        };
        let (src, dst) = match (self.src, self.dst) {
            (IpAddr::V6(src), IpAddr::V6(dst)) => {
                let ip = Ipv6Repr {
                    src_addr: src,
                    dst_addr: dst,
                    next_header: IpProtocol::Tcp,
                    payload_len: tcp.header_len() + self.payload.len(),
                    hop_limit: self.ttl,
                    traffic_class: self.tos,
                    flow_label: self.flow_label,
                };
                let mut buf = vec![0u8; ip.total_len()];
                let at = ip.buffer_len();
                buf[at + tcp.header_len()..].copy_from_slice(&self.payload);
                tcp.emit(
                    &mut TcpPacket::new_unchecked(&mut buf[at..]),
                    src,
                    dst,
                    self.payload.len(),
                );
                ip.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
                return buf;
            }
            (IpAddr::V4(src), IpAddr::V4(dst)) => (src, dst),
            // A script packet whose addresses were never mapped (the runner always maps
            // both to the run's family).
            _ => (Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED),
        };
        let ip = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol: IpProtocol::Tcp,
            payload_len: tcp.header_len() + self.payload.len(),
            ttl: self.ttl,
            dscp_ecn: self.tos,
            ident: 0,
            dont_frag: false,
            more_frags: false,
            frag_offset: 0,
        };
        let mut buf = vec![0u8; ip.total_len()];
        let at = ip.buffer_len();
        buf[at + tcp.header_len()..].copy_from_slice(&self.payload);
        tcp.emit(
            &mut TcpPacket::new_unchecked(&mut buf[at..]),
            src,
            dst,
            self.payload.len(),
        );
        ip.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
        buf
    }

    /// The TCP timestamp option's (val, ecr), if present and well formed.
    pub fn timestamp(&self) -> Option<(u32, u32)> {
        let opts = split_options(&self.options).ok()?;
        let ts = opts.iter().rev().find(|o| o.kind == kind::TIMESTAMP)?;
        Some((be32(&ts.bytes[2..]), be32(&ts.bytes[6..])))
    }

    /// Rewrites the timestamp option in place (the last one, as packetdrill finds it).
    pub fn set_timestamp(&mut self, val: Option<u32>, ecr: Option<u32>) {
        let Ok(opts) = split_options(&self.options) else {
            return;
        };
        let Some(at) = opts
            .iter()
            .rev()
            .find(|o| o.kind == kind::TIMESTAMP)
            .map(|o| o.bytes.as_ptr() as usize - self.options.as_ptr() as usize)
        else {
            return;
        };
        if let Some(v) = val {
            self.options[at + 2..at + 6].copy_from_slice(&v.to_be_bytes());
        }
        if let Some(e) = ecr {
            self.options[at + 6..at + 10].copy_from_slice(&e.to_be_bytes());
        }
    }

    /// Adds `offset` to both edges of every SACK block (packetdrill's `offset_sack_blocks`).
    ///
    /// # Errors
    /// An options area packetdrill cannot iterate.
    pub fn offset_sack_blocks(&mut self, offset: u32) -> Result<(), String> {
        let starts: Vec<(usize, usize)> = split_options(&self.options)?
            .iter()
            .filter(|o| o.kind == kind::SACK)
            .map(|o| {
                (
                    o.bytes.as_ptr() as usize - self.options.as_ptr() as usize,
                    o.bytes.len(),
                )
            })
            .collect();
        for (at, len) in starts {
            if (len - 2) % 8 != 0 {
                return Err(format!("invalid length {len} for TCP SACK option"));
            }
            let mut i = at + 2;
            while i + 4 <= at + len {
                let v = be32(&self.options[i..]).wrapping_add(offset);
                self.options[i..i + 4].copy_from_slice(&v.to_be_bytes());
                i += 4;
            }
        }
        Ok(())
    }

    /// packetdrill's `DUMP_SHORT` of the segment: flags in tcpdump's order, `seq:end(len)`,
    /// `ack N` when ACK is set, `win N` unless unchecked, the options in `<>`. Each part is
    /// followed by a space, as packetdrill prints it.
    pub fn dump(&self) -> Result<String, (String, String)> {
        let mut s = String::new();
        // The six classic flags as tcpdump prints them (`TcpFlags`'s Display); the ECN
        // ones in packetdrill's letters below.
        let classic = self.flags
            & (TcpFlags::FIN
                | TcpFlags::SYN
                | TcpFlags::RST
                | TcpFlags::PSH
                | TcpFlags::ACK
                | TcpFlags::URG);
        if !classic.is_empty() {
            let _ = write!(s, "{classic}");
        }
        if self.ace {
            s.push(char::from(b'0' + self.ace_count()));
        } else {
            for (flag, c) in [
                (TcpFlags::ECE, 'E'),
                (TcpFlags::CWR, 'W'),
                (TcpFlags::AE, 'A'),
            ] {
                if self.flags.contains(flag) {
                    s.push(c);
                }
            }
        }
        let len = self.payload.len() as u32;
        let _ = write!(s, " {}:{}({}) ", self.seq, self.seq.wrapping_add(len), len);
        if self.flags.contains(TcpFlags::ACK) {
            let _ = write!(s, "ack {} ", self.ack);
        }
        if !self.win_nocheck {
            let _ = write!(s, "win {} ", self.window);
        }
        if !self.options.is_empty() {
            match options_to_string(&self.options) {
                Ok(o) => {
                    let _ = write!(s, "<{o}>");
                }
                Err(e) => return Err((s, e)),
            }
        }
        Ok(s)
    }

    /// The AccECN ACE count: AE, CWR and ECE as a 3-bit number.
    pub fn ace_count(&self) -> u8 {
        u8::from(self.flags.contains(TcpFlags::AE)) << 2
            | u8::from(self.flags.contains(TcpFlags::CWR)) << 1
            | u8::from(self.flags.contains(TcpFlags::ECE))
    }
}

/// `"%s\n%s packet: %9.6f %s"`: appends a packet dump to an error, as `add_packet_dump`.
pub fn add_dump(error: &mut String, label: &str, seg: &Segment, time_usecs: i64) {
    let secs = time_usecs as f64 / 1e6;
    match seg.dump() {
        Ok(d) => {
            let _ = write!(error, "\n{label} packet: {secs:9.6} {d}");
        }
        Err((d, e)) => {
            let _ = write!(error, "\n{label} packet: {secs:9.6} {d}\n{e}");
        }
    }
}

// ---------------------------------------------------------------- checks

/// `live packet field NAME: expected: E (0xE) vs actual: A (0xA)`.
fn check_field(name: &str, expected: u32, actual: u32) -> Result<(), String> {
    if expected == actual {
        Ok(())
    } else {
        Err(format!(
            "live packet field {name}: expected: {expected} ({expected:#x}) vs actual: {actual} ({actual:#x})"
        ))
    }
}

/// Extra option bytes to allow on the actual packet when the script says `<...>`.
fn options_allowance(actual: &Segment, script: &Segment) -> u32 {
    if script.options_nocheck {
        actual.options.len() as u32
    } else {
        0
    }
}

fn flag(s: &Segment, f: TcpFlags) -> u32 {
    u32::from(s.flags.contains(f))
}

/// The IP and TCP header checks of `verify_outbound_live_headers`: `strict` for a packet
/// against the script, not strict for a fragment against the one before it (`script` is
/// then the previous fragment).
///
/// # Errors
/// The first field that differs, in packetdrill's words.
pub fn verify_headers(actual: &Segment, script: &Segment, strict: bool) -> Result<(), String> {
    let allowance = options_allowance(actual, script);
    if script.version != actual.version {
        // verify_header: the layers differ in type.
        let name = |v: u8| if v == 6 { "ipv6" } else { "ipv4" };
        return Err(format!(
            "live packet header layer 0: expected: {} header vs actual: {} header",
            name(script.version),
            name(actual.version)
        ));
    }
    if script.version == 6 {
        // verify_ipv6: version, payload length, next header (the flow label is checked
        // apart, per socket: verify_outbound_live_ipv6_flowlabel).
        check_field("ipv6_version", script.version.into(), actual.version.into())?;
        if strict {
            check_field(
                "ipv6_payload_len",
                u32::from(script.total_len) + allowance,
                actual.total_len.into(),
            )?;
        }
        check_field(
            "ipv6_next_header",
            script.protocol.into(),
            actual.protocol.into(),
        )?;
    } else {
        check_field("ipv4_version", script.version.into(), actual.version.into())?;
        check_field(
            "ipv4_protocol",
            script.protocol.into(),
            actual.protocol.into(),
        )?;
        check_field("ipv4_header_length", script.ihl.into(), actual.ihl.into())?;
        if strict {
            check_field(
                "ipv4_total_length",
                u32::from(script.total_len) + allowance,
                actual.total_len.into(),
            )?;
        }
    }
    let ecn = actual.tos & 0x3;
    match script.tos_check {
        TosSpec::Ect01 if ecn != 1 && ecn != 2 => {
            return Err(format!(
                "live packet field ip_ecn: expected: 0x1 or 0x2 vs actual: {ecn:#x}"
            ));
        }
        TosSpec::Ecn(v) => check_field("ip_ecn", v.into(), ecn.into())?,
        TosSpec::Tos(v) => check_field("tos", v.into(), actual.tos.into())?,
        _ => {}
    }
    if script.ttl != TTL_CHECK_NONE {
        check_field("ttl", script.ttl.into(), actual.ttl.into())?;
    }
    check_field(
        "tcp_data_offset",
        u32::from(script.doff) + allowance / 4,
        actual.doff.into(),
    )?;
    if strict {
        check_field(
            "tcp_fin",
            flag(script, TcpFlags::FIN),
            flag(actual, TcpFlags::FIN),
        )?;
    }
    check_field(
        "tcp_syn",
        flag(script, TcpFlags::SYN),
        flag(actual, TcpFlags::SYN),
    )?;
    check_field(
        "tcp_rst",
        flag(script, TcpFlags::RST),
        flag(actual, TcpFlags::RST),
    )?;
    if strict {
        check_field(
            "tcp_psh",
            flag(script, TcpFlags::PSH),
            flag(actual, TcpFlags::PSH),
        )?;
    }
    check_field(
        "tcp_ack",
        flag(script, TcpFlags::ACK),
        flag(actual, TcpFlags::ACK),
    )?;
    check_field(
        "tcp_urg",
        flag(script, TcpFlags::URG),
        flag(actual, TcpFlags::URG),
    )?;
    if script.ace {
        check_field(
            "tcp_ace",
            script.ace_count().into(),
            actual.ace_count().into(),
        )?;
    } else {
        check_field(
            "tcp_ece",
            flag(script, TcpFlags::ECE),
            flag(actual, TcpFlags::ECE),
        )?;
        if strict {
            check_field(
                "tcp_cwr",
                flag(script, TcpFlags::CWR),
                flag(actual, TcpFlags::CWR),
            )?;
        }
        check_field(
            "tcp_ae",
            flag(script, TcpFlags::AE),
            flag(actual, TcpFlags::AE),
        )?;
    }
    check_field("tcp_reserved_bits", script.res1.into(), actual.res1.into())?;
    let expected_seq = if strict {
        script.seq
    } else {
        script.seq.wrapping_add(script.payload.len() as u32)
    };
    check_field("tcp_seq", expected_seq, actual.seq)?;
    check_field("tcp_ack_seq", script.ack, actual.ack)?;
    if !script.win_nocheck {
        check_field("tcp_window", script.window.into(), actual.window.into())?;
    }
    check_field("tcp_urg_ptr", script.urg_ptr.into(), actual.urg_ptr.into())
}

/// How outbound TS val values are checked (`--tcp_ts_tick_usecs`; 0 disables the check,
/// packetdrill's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TsCheck {
    /// Microseconds per TS val tick.
    pub tick_usecs: i64,
    /// The tolerance in microseconds.
    pub tolerance_usecs: i64,
}

/// `verify_outbound_live_tcp_options`: the options must come in the same order with the
/// same kinds; NOP and EOL match each other; TS val is checked against the tick (ecr is not
/// checked); every other option must have the same length and bytes.
///
/// # Errors
/// `bad outbound TCP options`, `bad outbound TCP timestamp value, tolerance N`, `bad length
/// in outbound TCP option (kind=K): expected: … actual: …`, `bad value in …`.
pub fn verify_options(actual: &Segment, script: &Segment, ts: TsCheck) -> Result<(), String> {
    if script.options_nocheck {
        return Ok(());
    }
    let a = split_options(&actual.options)?;
    let s = split_options(&script.options)?;
    for i in 0..a.len().max(s.len()) {
        let (Some(ao), Some(so)) = (a.get(i), s.get(i)) else {
            return Err("bad outbound TCP options".into());
        };
        if ao.kind != so.kind {
            return Err("bad outbound TCP options".into());
        }
        match ao.kind {
            kind::EOL | kind::NOP => {}
            kind::TIMESTAMP => {
                let (sv, av) = (be32(&so.bytes[2..]), be32(&ao.bytes[2..]));
                let ticks = i64::from((av.wrapping_sub(sv) as i32).unsigned_abs());
                if ts.tick_usecs != 0 && ticks * ts.tick_usecs > ts.tolerance_usecs {
                    return Err(format!(
                        "bad outbound TCP timestamp value, tolerance {}",
                        ts.tolerance_usecs
                    ));
                }
            }
            k => {
                let mut err_type = None;
                if so.bytes.len() != ao.bytes.len() {
                    err_type = Some("bad length");
                }
                if so.bytes.len() > 2 {
                    // packetdrill compares the actual option's length worth of bytes, which
                    // for a shorter script option runs on into the options after it.
                    let at = so.bytes.as_ptr() as usize - script.options.as_ptr() as usize;
                    let want = ao.bytes.len() - 2;
                    let mut s_data: Vec<u8> = script.options[at + 2..]
                        .iter()
                        .copied()
                        .take(want)
                        .collect();
                    s_data.resize(want, 0);
                    if ao.bytes[2..] != s_data[..] {
                        err_type = Some("bad value");
                    }
                }
                if let Some(t) = err_type {
                    return Err(format!(
                        "{t} in outbound TCP option (kind={k}): expected: {} actual: {}",
                        option_to_string(*so)?,
                        option_to_string(*ao)?
                    ));
                }
            }
        }
    }
    Ok(())
}

/// `verify_outbound_live_payload`: the payload must be what the script wrote (zeros).
///
/// # Errors
/// `incorrect outbound data payload`.
pub fn verify_payload(actual: &Segment, script: &Segment) -> Result<(), String> {
    if actual.payload == script.payload {
        Ok(())
    } else {
        Err("incorrect outbound data payload".into())
    }
}

/// `aggregate_packets`: one segment from consecutive fragments — the headers of the last,
/// the sequence number and CWR of the first, the payloads concatenated.
pub fn aggregate(fragments: &[Segment]) -> Segment {
    let first = &fragments[0];
    let mut out = fragments[fragments.len() - 1].clone();
    out.payload = fragments
        .iter()
        .flat_map(|f| f.payload.iter().copied())
        .collect();
    out.total_len =
        (usize::from(out.ihl) * 4 + usize::from(out.doff) * 4 + out.payload.len()) as u16;
    out.seq = first.seq;
    out.flags.remove(TcpFlags::CWR);
    if first.flags.contains(TcpFlags::CWR) {
        out.flags.insert(TcpFlags::CWR);
    }
    out.ip_checksum_ok = true;
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::TcpSpec;
    use sim_dsl::diag::{FileId, Span};

    fn spec(flags: &str, seq: u32, len: u16, options: Option<Vec<TcpOptionSpec>>) -> TcpSpec {
        TcpSpec {
            ports: None,
            flags: flags.into(),
            flags_span: Span::new(FileId(0), 0, 0),
            seq,
            len,
            ack: 1,
            win: None,
            urg: 0,
            options,
            options_span: None,
        }
    }

    #[test]
    fn flags_are_checked_like_packetdrill() {
        assert_eq!(check_flags("S."), Ok(()));
        assert_eq!(check_flags("SEW"), Ok(()));
        assert_eq!(check_flags("X"), Err("Invalid TCP flag: 'X'".into()));
        assert_eq!(check_flags("E5"), Err("Conflicting TCP flag: '5'".into()));
        let (f, ace) = parse_flags("S.5");
        assert!(ace && f.contains(TcpFlags::ECE | TcpFlags::AE) && !f.contains(TcpFlags::CWR));
    }

    #[test]
    fn options_encode_and_print_back() {
        let opts = vec![
            TcpOptionSpec::Mss(1460),
            TcpOptionSpec::SackPermitted,
            TcpOptionSpec::Timestamp { val: 0, ecr: 0 },
            TcpOptionSpec::Nop,
            TcpOptionSpec::WindowScale(8),
        ];
        let b = encode_options(&opts);
        assert_eq!(b.len(), 20);
        assert_eq!(
            options_to_string(&b).unwrap(),
            "mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 8"
        );
        let b = encode_options(&[
            TcpOptionSpec::FastOpenExp(vec![0xab, 0xcd]),
            TcpOptionSpec::Md5(vec![1, 2]),
            TcpOptionSpec::AccEcn(vec![(AccEcnField::E1b, 5), (AccEcnField::Ceb, 1)]),
            TcpOptionSpec::Sack(vec![(1, 2), (3, 4)]),
            TcpOptionSpec::Eol,
        ]);
        assert_eq!(
            options_to_string(&b).unwrap(),
            "FOEXP abcd,md5 0102,ECN e1b 5 ceb 1,sack 1:2 3:4,eol"
        );
        assert_eq!(
            split_options(&[8, 9, 0, 0, 0, 0, 0, 0, 0]).unwrap_err(),
            "bad TCP option length: was 9 but expected 10"
        );
        assert_eq!(
            split_options(&[99, 2]).unwrap_err(),
            "unexpected TCP option kind: 99"
        );
    }

    #[test]
    fn script_segment_dumps_like_packetdrill() {
        let s = Segment::from_script(
            &spec(
                "S",
                0,
                0,
                Some(vec![
                    TcpOptionSpec::Mss(1460),
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::WindowScale(8),
                ]),
            ),
            &IpInfo::default(),
        );
        assert_eq!(s.dump().unwrap(), "S 0:0(0) <mss 1460,nop,wscale 8>");
        let s = Segment::from_script(&spec("P.", 1, 1000, Some(vec![])), &IpInfo::default());
        assert_eq!(s.dump().unwrap(), "P. 1:1001(1000) ack 1 ");
        assert_eq!(s.total_len, 1040);
    }

    #[test]
    fn emitted_segments_parse_back_with_valid_checksums() {
        let mut s = Segment::from_script(
            &spec(
                "S.",
                0,
                10,
                Some(vec![
                    TcpOptionSpec::Mss(1000),
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::Eol,
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::Nop,
                ]),
            ),
            &IpInfo {
                tos: TosSpec::Ecn(2),
                ..IpInfo::default()
            },
        );
        let (src, dst) = (Ipv4Addr::new(192, 0, 2, 1), Ipv4Addr::new(192, 168, 0, 1));
        s.src = src.into();
        s.dst = dst.into();
        s.window = 32792;
        s.win_nocheck = false;
        let bytes = s.emit();
        let p = Segment::parse(&bytes).unwrap();
        assert!(p.ip_checksum_ok);
        let tcp = TcpPacket::new_checked(&bytes[20..]).unwrap();
        assert!(tcp.verify_checksum(src, dst));
        assert_eq!(p.options, s.options, "EOL and what follows it are kept");
        assert_eq!(
            (p.seq, p.ack, p.window, p.tos, p.ttl),
            (0, 1, 32792, 2, 255)
        );
        assert_eq!(verify_headers(&p, &s, true), Ok(()));
    }

    #[test]
    fn ipv6_segments_emit_and_parse_back_as_packetdrill_builds_them() {
        let ip = IpInfo {
            tos: TosSpec::Ecn(2),
            flow_label: 0xabcde,
            ..IpInfo::default()
        };
        let mut s = Segment::from_script(
            &spec("S.", 0, 10, Some(vec![TcpOptionSpec::Mss(1440)])),
            &ip,
        )
        .into_ipv6(&ip);
        // No IHL; the payload length is TCP's header (24) and the 10 bytes.
        assert_eq!((s.version, s.ihl, s.total_len), (6, 0, 34));
        let src: Ipv6Addr = "fd3d:fa7b:d17d::1".parse().unwrap();
        let dst: Ipv6Addr = "fd3d:a0b:17d6::1".parse().unwrap();
        (s.src, s.dst) = (src.into(), dst.into());
        s.window = 1000;
        s.win_nocheck = false;
        let bytes = s.emit();
        assert_eq!(bytes.len(), 40 + 34);
        // Version 6, traffic class 0x02 (ECT(0)), the flow label; next header TCP, hop
        // limit 255 (TTL_CHECK_NONE), as set_ipv6_header writes them.
        assert_eq!(&bytes[..4], &[0x60, 0x2a, 0xbc, 0xde]);
        assert_eq!((bytes[6], bytes[7]), (6, 255));
        let tcp = TcpPacket::new_checked(&bytes[40..]).unwrap();
        assert!(tcp.verify_checksum(src, dst), "the IPv6 pseudo-header sum");
        let p = Segment::parse(&bytes).unwrap();
        assert_eq!(
            (p.version, p.tos, p.ttl, p.flow_label, p.total_len),
            (6, 2, 255, 0xabcde, 34)
        );
        assert_eq!((p.src, p.dst), (IpAddr::V6(src), IpAddr::V6(dst)));
        assert_eq!(verify_headers(&p, &s, true), Ok(()));
        // A packet checked as IPv6 fails on its payload length, and an IPv4 one on the
        // header's type, in packetdrill's words.
        let mut longer = p.clone();
        longer.total_len += 4;
        assert_eq!(
            verify_headers(&longer, &s, true).unwrap_err(),
            "live packet field ipv6_payload_len: expected: 34 (0x22) vs actual: 38 (0x26)"
        );
        let v4 = Segment::from_script(&spec("S.", 0, 10, Some(vec![])), &ip);
        assert_eq!(
            verify_headers(&v4, &s, true).unwrap_err(),
            "live packet header layer 0: expected: ipv6 header vs actual: ipv4 header"
        );
        // An ICMPv6 Router Solicitation is no TCP segment: the runner passes over it.
        let mut rs = vec![0u8; 48];
        rs[0] = 0x60;
        rs[5] = 8;
        rs[6] = 58;
        rs[7] = 255;
        rs[40] = 133;
        assert_eq!(Segment::parse(&rs), Err(ParseError::NotTcp(58)));
        // Aggregated IPv6 fragments keep the payload length right.
        let a = Segment::from_script(&spec(".", 1, 1000, Some(vec![])), &ip).into_ipv6(&ip);
        let b = Segment::from_script(&spec("P.", 1001, 500, Some(vec![])), &ip).into_ipv6(&ip);
        assert_eq!(aggregate(&[a, b]).total_len, 20 + 1500);
    }

    #[test]
    fn header_checks_report_the_first_difference() {
        let script = Segment::from_script(&spec(".", 1, 0, Some(vec![])), &IpInfo::default());
        let mut actual = script.clone();
        actual.ack = 2;
        assert_eq!(
            verify_headers(&actual, &script, true).unwrap_err(),
            "live packet field tcp_ack_seq: expected: 1 (0x1) vs actual: 2 (0x2)"
        );
        actual.flags = TcpFlags::ACK | TcpFlags::FIN;
        assert_eq!(
            verify_headers(&actual, &script, true).unwrap_err(),
            "live packet field tcp_fin: expected: 0 (0x0) vs actual: 1 (0x1)"
        );
        // A fragment check skips FIN and PSH, and wants the sequence to follow on.
        assert_eq!(
            verify_headers(&actual, &script, false).unwrap_err(),
            "live packet field tcp_ack_seq: expected: 1 (0x1) vs actual: 2 (0x2)"
        );
        actual.options = vec![1, 1, 1, 1];
        actual.doff += 1;
        actual.total_len += 4;
        assert_eq!(
            verify_headers(&actual, &script, true).unwrap_err(),
            "live packet field ipv4_total_length: expected: 40 (0x28) vs actual: 44 (0x2c)"
        );
    }

    #[test]
    fn option_checks() {
        let mk = |o: Vec<TcpOptionSpec>| {
            Segment::from_script(&spec("S", 0, 0, Some(o)), &IpInfo::default())
        };
        let script = mk(vec![
            TcpOptionSpec::Mss(1400),
            TcpOptionSpec::Nop,
            TcpOptionSpec::Nop,
            TcpOptionSpec::Timestamp { val: 100, ecr: 0 },
        ]);
        let actual = mk(vec![
            TcpOptionSpec::Mss(1460),
            TcpOptionSpec::Nop,
            TcpOptionSpec::Nop,
            TcpOptionSpec::Timestamp { val: 107, ecr: 5 },
        ]);
        let off = TsCheck {
            tick_usecs: 0,
            tolerance_usecs: 4000,
        };
        assert_eq!(
            verify_options(&actual, &script, off).unwrap_err(),
            "bad value in outbound TCP option (kind=2): expected: mss 1400 actual: mss 1460"
        );
        let script = mk(vec![
            TcpOptionSpec::Mss(1460),
            TcpOptionSpec::Nop,
            TcpOptionSpec::Nop,
            TcpOptionSpec::Timestamp { val: 100, ecr: 0 },
        ]);
        assert_eq!(verify_options(&actual, &script, off), Ok(()));
        let on = TsCheck {
            tick_usecs: 1000,
            tolerance_usecs: 4000,
        };
        assert_eq!(
            verify_options(&actual, &script, on).unwrap_err(),
            "bad outbound TCP timestamp value, tolerance 4000"
        );
        let other = mk(vec![
            TcpOptionSpec::Mss(1460),
            TcpOptionSpec::SackPermitted,
            TcpOptionSpec::Timestamp { val: 100, ecr: 0 },
        ]);
        assert_eq!(
            verify_options(&actual, &other, off).unwrap_err(),
            "bad outbound TCP options"
        );
    }

    #[test]
    fn sack_blocks_and_timestamps_are_rewritten_in_place() {
        let mut s = Segment::from_script(
            &spec(
                ".",
                1,
                0,
                Some(vec![
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::Timestamp { val: 1, ecr: 2 },
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::Nop,
                    TcpOptionSpec::Sack(vec![(10, 20)]),
                ]),
            ),
            &IpInfo::default(),
        );
        s.offset_sack_blocks(1000).unwrap();
        s.set_timestamp(Some(7), None);
        assert_eq!(
            options_to_string(&s.options).unwrap(),
            "nop,nop,TS val 7 ecr 2,nop,nop,sack 1010:1020"
        );
        assert_eq!(s.timestamp(), Some((7, 2)));
    }

    #[test]
    fn fragments_aggregate_into_one_segment() {
        let a = Segment::from_script(&spec("W.", 1, 1000, Some(vec![])), &IpInfo::default());
        let b = Segment::from_script(&spec("P.", 1001, 500, Some(vec![])), &IpInfo::default());
        let g = aggregate(&[a, b]);
        assert_eq!((g.seq, g.payload.len(), g.total_len), (1, 1500, 1540));
        assert!(g.flags.contains(TcpFlags::PSH | TcpFlags::CWR));
    }
}
