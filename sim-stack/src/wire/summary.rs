//! One-line, tcpdump-like descriptions of Ethernet frames for the text trace.
//!
//! The format is `tcpdump -n -S` without `-e` or `-v`: numeric addresses and ports,
//! absolute sequence numbers. Checksums are not verified (tcpdump does not either without
//! `-v`), so a corrupted frame is still described. Where tcpdump would print `[|proto]` for
//! a truncated header, so do we. Differences from tcpdump: IPv4 fragments are described as
//! `ip-proto-N (frag id:len@offset+)` without decoding the transport header; tcpdump's
//! `: HTTP…` after TCP segments to or from port 80 is not printed; where tcpdump adds a hex
//! dump (unknown ICMPv6 types and unreachable codes) the line ends with the length instead;
//! ICMPv6 types beyond RFC 4443, 4861 and 3810 are `unknown icmp6 type (N)` (tcpdump names
//! some); an IPv6 header cut short is `IP6 [|ip6]` and one shorter than its payload length
//! is `IP6 truncated-ip6 - N bytes missing!` with nothing after it; other EtherTypes are
//! named but not decoded.
//!
//! IPv6 frames read as tcpdump 4.99 reads them: `IP6 src.port > dst.port: …` for TCP and
//! UDP, `IP6 src > dst: HBH ICMP6, multicast listener report v2, 1 group record(s),
//! length 28` when extension headers come first (named `HBH`, `DSTOPT`, `RT6 (…)`,
//! `frag (offset|len)`, and the ports then follow without addresses). A test compares
//! every frame of the IPv6 reference captures, and one frame of each decoded kind, with
//! tcpdump's own lines.
//!
//! The output depends only on the bytes, and writing it allocates nothing beyond the output
//! itself.

use core::fmt;
use core::net::{Ipv4Addr, Ipv6Addr};

use super::arp::{ArpOperation, ArpPacket, ArpRepr};
use super::ethernet::{EtherType, EthernetFrame, HEADER_LEN as ETH_HEADER_LEN};
use super::icmp::{self, Icmpv4Message, Icmpv4Packet};
use super::icmpv6::{self, Icmpv6Message, Icmpv6Packet};
use super::ipv4::{IpProtocol, Ipv4Packet};
use super::ipv6::{self, Ipv6FragRepr, Ipv6Packet, ipv6_addr};
use super::tcp::{TcpFlags, TcpOption, TcpPacket};
use super::udp::{self, UdpPacket};
use super::{Error, be16, dns, ipv4_addr};

/// The DNS port: UDP datagrams from or to it are described as DNS messages.
const DNS_PORT: u16 = 53;

/// Appends to `out` a one-line description of `frame` (an Ethernet frame, as captured),
/// e.g. `ARP, Request who-has 10.0.0.1 tell 10.0.0.2, length 28` or
/// `IP 10.0.0.2.41765 > 10.0.1.53.53: 50075+ A? baidu.com. (27)`. No newline is added.
///
/// This is the trace's hot path: it reuses the caller's buffer. [`summary`] returns a new
/// `String`; [`write_summary`] writes to any [`fmt::Write`].
pub fn summarize(out: &mut String, frame: &[u8]) {
    // Writing into a String cannot fail.
    let _ = write_summary(out, frame);
}

/// The description of [`summarize`] as a new `String`.
#[must_use]
pub fn summary(frame: &[u8]) -> String {
    let mut out = String::with_capacity(96);
    summarize(&mut out, frame);
    out
}

/// Writes the description of [`summarize`] into any writer.
///
/// # Errors
/// Only those of `out`.
pub fn write_summary(out: &mut impl fmt::Write, frame: &[u8]) -> fmt::Result {
    let Ok(eth) = EthernetFrame::new_checked(frame) else {
        return out.write_str("[|ether]");
    };
    let payload = eth.payload();
    match eth.ethertype() {
        EtherType::Arp => write_arp(out, payload),
        EtherType::Ipv4 => write_ipv4(out, payload),
        EtherType::Ipv6 => write_ipv6(out, payload),
        EtherType::Unknown(t) => write!(
            out,
            "ethertype Unknown ({t:#06x}), length {}",
            frame.len().max(ETH_HEADER_LEN)
        ),
    }
}

/// Writes the description of an IP packet without its Ethernet header (a packet dropped
/// above the device layer), as tcpdump on a cooked capture would: IPv6 if the version
/// field says 6, IPv4 otherwise.
///
/// # Errors
/// Only those of `out`.
pub fn write_ip_summary(out: &mut impl fmt::Write, packet: &[u8]) -> fmt::Result {
    match packet.first() {
        Some(b) if b >> 4 == 6 => write_ipv6(out, packet),
        _ => write_ipv4(out, packet),
    }
}

fn write_arp(out: &mut impl fmt::Write, payload: &[u8]) -> fmt::Result {
    let Ok(packet) = ArpPacket::new_checked(payload) else {
        return out.write_str("ARP, [|arp]");
    };
    match ArpRepr::parse(&packet) {
        Ok(repr) => {
            let op = match repr.operation {
                ArpOperation::Request => "Request ",
                ArpOperation::Reply => "Reply ",
                ArpOperation::Unknown(_) => "",
            };
            write!(out, "ARP, {op}{repr}, length {}", payload.len())
        }
        Err(_) => write!(
            out,
            "ARP, hardware {} protocol {:#06x} (not decoded), length {}",
            packet.hardware_type(),
            packet.protocol_type(),
            payload.len()
        ),
    }
}

fn write_ipv4(out: &mut impl fmt::Write, payload: &[u8]) -> fmt::Result {
    let packet = match Ipv4Packet::new_checked(payload) {
        Ok(p) => p,
        Err(Error::BadVersion) => return write!(out, "IP [version {}]", payload[0] >> 4),
        Err(Error::BadHeaderLength) => return out.write_str("IP [bad hdr length]"),
        Err(Error::BadTotalLength) => return out.write_str("IP [bad total length]"),
        Err(_) => return out.write_str("IP [|ip]"),
    };
    let (src, dst) = (packet.src_addr(), packet.dst_addr());
    let data = packet.payload();
    let protocol = packet.protocol();
    if packet.more_frags() || packet.frag_offset() != 0 {
        write!(out, "IP {src} > {dst}: ")?;
        write_protocol_name(out, protocol)?;
        return write!(
            out,
            " (frag {}:{}@{}{})",
            packet.ident(),
            data.len(),
            packet.frag_offset(),
            if packet.more_frags() { "+" } else { "" }
        );
    }
    match protocol {
        IpProtocol::Tcp => write_tcp(out, src, dst, data),
        IpProtocol::Udp => write_udp(out, src, dst, data),
        IpProtocol::Icmp => {
            write!(out, "IP {src} > {dst}: ")?;
            write_icmp(out, data)
        }
        other => write!(
            out,
            "IP {src} > {dst}: ip-proto-{} {}",
            u8::from(other),
            data.len()
        ),
    }
}

fn write_protocol_name(out: &mut impl fmt::Write, protocol: IpProtocol) -> fmt::Result {
    match protocol {
        IpProtocol::Tcp => out.write_str("tcp"),
        IpProtocol::Udp => out.write_str("udp"),
        IpProtocol::Icmp => out.write_str("icmp"),
        other => write!(out, "ip-proto-{}", u8::from(other)),
    }
}

fn write_udp(out: &mut impl fmt::Write, src: Ipv4Addr, dst: Ipv4Addr, data: &[u8]) -> fmt::Result {
    let Ok(udp) = UdpPacket::new_checked(data) else {
        return write!(out, "IP {src} > {dst}: udp [|udp]");
    };
    let (sp, dp) = (udp.src_port(), udp.dst_port());
    write!(out, "IP {src}.{sp} > {dst}.{dp}: ")?;
    write_udp_payload(out, sp, dp, udp.payload())
}

/// What follows the ports of a UDP datagram: a DNS message, or its length.
fn write_udp_payload(out: &mut impl fmt::Write, sp: u16, dp: u16, payload: &[u8]) -> fmt::Result {
    if sp == DNS_PORT || dp == DNS_PORT {
        dns::write_summary(out, payload)
    } else {
        write!(out, "UDP, length {}", payload.len())
    }
}

fn write_tcp(out: &mut impl fmt::Write, src: Ipv4Addr, dst: Ipv4Addr, data: &[u8]) -> fmt::Result {
    let Ok(tcp) = TcpPacket::new_checked(data) else {
        return write!(out, "IP {src} > {dst}: tcp [|tcp]");
    };
    write!(
        out,
        "IP {src}.{} > {dst}.{}: ",
        tcp.src_port(),
        tcp.dst_port()
    )?;
    write_tcp_segment(out, &tcp)
}

/// Everything after the ports of a checked TCP segment: `Flags [S.], seq …, length N`.
fn write_tcp_segment(out: &mut impl fmt::Write, tcp: &TcpPacket<&[u8]>) -> fmt::Result {
    let flags = tcp.flags();
    let len = tcp.payload().len();
    write!(out, "Flags [{flags}]")?;
    if len > 0
        || flags.contains(TcpFlags::SYN)
        || flags.contains(TcpFlags::FIN)
        || flags.contains(TcpFlags::RST)
    {
        let seq = tcp.seq_number();
        write!(out, ", seq {seq}")?;
        if len > 0 {
            write!(out, ":{}", seq.wrapping_add(len as u32))?;
        }
    }
    if flags.contains(TcpFlags::ACK) {
        write!(out, ", ack {}", tcp.ack_number())?;
    }
    write!(out, ", win {}", tcp.window_len())?;
    if flags.contains(TcpFlags::URG) {
        write!(out, ", urg {}", tcp.urgent_at())?;
    }
    let mut options = tcp.options();
    if !options.is_empty() {
        out.write_str(", options [")?;
        let mut first = true;
        while !options.is_empty() {
            if !first {
                out.write_char(',')?;
            }
            first = false;
            let Ok((option, used)) = TcpOption::parse(options) else {
                out.write_str("[bad opt]")?;
                break;
            };
            write_tcp_option(out, &option)?;
            if option == TcpOption::EndOfList {
                break;
            }
            options = &options[used..];
        }
        out.write_char(']')?;
    }
    write!(out, ", length {len}")
}

fn write_tfo(out: &mut impl fmt::Write, cookie: &[u8]) -> fmt::Result {
    if cookie.is_empty() {
        return out.write_str("tfo  cookiereq");
    }
    out.write_str("tfo  cookie ")?;
    for b in cookie {
        write!(out, "{b:02x}")?;
    }
    Ok(())
}

fn write_tcp_option(out: &mut impl fmt::Write, option: &TcpOption<'_>) -> fmt::Result {
    match *option {
        TcpOption::EndOfList => out.write_str("eol"),
        TcpOption::NoOp => out.write_str("nop"),
        TcpOption::MaxSegmentSize(v) => write!(out, "mss {v}"),
        TcpOption::WindowScale(v) => write!(out, "wscale {v}"),
        TcpOption::SackPermitted => out.write_str("sackOK"),
        TcpOption::Sack(blocks) => {
            write!(out, "sack {} ", blocks.as_slice().len())?;
            for (left, right) in blocks.as_slice() {
                write!(out, "{{{left}:{right}}}")?;
            }
            Ok(())
        }
        TcpOption::Timestamp { tsval, tsecr } => write!(out, "TS val {tsval} ecr {tsecr}"),
        // Fast Open, as tcpdump prints it: "tfo  cookiereq", "tfo  cookie HEX" (the
        // experimental option with its magic: "tfo" too).
        TcpOption::Unknown { kind: 34, data } => write_tfo(out, data),
        TcpOption::Unknown { kind: 254, data }
            if data.len() >= 2 && u16::from_be_bytes([data[0], data[1]]) == 0xf989 =>
        {
            write_tfo(out, &data[2..])
        }
        TcpOption::Unknown { kind, data } => {
            write!(out, "unknown-{kind}")?;
            if !data.is_empty() {
                out.write_str(" 0x")?;
                for b in data {
                    write!(out, "{b:02x}")?;
                }
            }
            Ok(())
        }
    }
}

fn write_icmp(out: &mut impl fmt::Write, data: &[u8]) -> fmt::Result {
    let Ok(icmp) = Icmpv4Packet::new_checked(data) else {
        return out.write_str("ICMP [|icmp]");
    };
    out.write_str("ICMP ")?;
    let code = icmp.msg_code();
    match icmp.msg_type() {
        Icmpv4Message::EchoRequest | Icmpv4Message::EchoReply => {
            let kind = if icmp.msg_type() == Icmpv4Message::EchoRequest {
                "request"
            } else {
                "reply"
            };
            write!(
                out,
                "echo {kind}, id {}, seq {}",
                icmp.echo_ident(),
                icmp.echo_seq_no()
            )?;
        }
        Icmpv4Message::DstUnreachable => {
            let quoted = icmp.data();
            // tcpdump needs the quoted destination address, and for ports the quoted port.
            let Some(inner_dst) = quoted.get(16..20).map(ipv4_addr) else {
                return out.write_str("[|icmp]");
            };
            match code {
                0 => write!(out, "net {inner_dst} unreachable")?,
                1 => write!(out, "host {inner_dst} unreachable")?,
                2 => write!(out, "{inner_dst} protocol {} unreachable", quoted[9])?,
                3 => {
                    let Ok(q) = icmp::parse_quoted(quoted) else {
                        return out.write_str("[|icmp]");
                    };
                    let port = q.dst_port();
                    match q.protocol() {
                        IpProtocol::Tcp => write!(out, "{inner_dst} tcp port {port} unreachable")?,
                        IpProtocol::Udp => write!(out, "{inner_dst} udp port {port} unreachable")?,
                        p => write!(
                            out,
                            "{inner_dst} protocol {} port {port} unreachable",
                            u8::from(p)
                        )?,
                    }
                }
                4 => match icmp.next_hop_mtu() {
                    0 => write!(out, "{inner_dst} unreachable - need to frag")?,
                    mtu => write!(out, "{inner_dst} unreachable - need to frag (mtu {mtu})")?,
                },
                5 => write!(out, "{inner_dst} unreachable - source route failed")?,
                6 => write!(out, "net {inner_dst} unreachable - unknown")?,
                7 => write!(out, "host {inner_dst} unreachable - unknown")?,
                9 => write!(out, "net {inner_dst} unreachable - admin prohibited")?,
                10 => write!(out, "host {inner_dst} unreachable - admin prohibited")?,
                13 => write!(
                    out,
                    "host {inner_dst} unreachable - admin prohibited filter"
                )?,
                other => write!(out, "#{other} {inner_dst} unreachable")?,
            }
        }
        Icmpv4Message::TimeExceeded => match code {
            0 => out.write_str("time exceeded in-transit")?,
            1 => out.write_str("ip reassembly time exceeded")?,
            other => write!(out, "time exceeded-#{other}")?,
        },
        Icmpv4Message::Redirect => {
            let gateway = ipv4_addr(&data[4..8]);
            let Some(inner_dst) = icmp.data().get(16..20).map(ipv4_addr) else {
                return out.write_str("[|icmp]");
            };
            let to = if code & 1 == 0 { "net" } else { "host" };
            write!(out, "redirect {inner_dst} to {to} {gateway}")?;
        }
        Icmpv4Message::ParamProblem => {
            if code == 0 {
                write!(out, "parameter problem - octet {}", data[4])?;
            } else {
                write!(out, "parameter problem - code {code}")?;
            }
        }
        Icmpv4Message::Unknown(t) => write!(out, "type-#{t}")?,
    }
    write!(out, ", length {}", data.len())
}

/// Writes the description of an IPv6 packet (from its fixed header on) as tcpdump does:
/// `IP6 src.port > dst.port: …` for TCP and UDP without extension headers, otherwise
/// `IP6 src > dst: ` followed by the extension headers' names (`HBH `, `DSTOPT `,
/// `RT6 (…) `, `frag (offset|len) `) and the upper layer (ports only for TCP and UDP).
fn write_ipv6(out: &mut impl fmt::Write, payload: &[u8]) -> fmt::Result {
    if payload.len() < ipv6::HEADER_LEN {
        return out.write_str("IP6 [|ip6]");
    }
    let packet = Ipv6Packet::new_unchecked(payload);
    if packet.version() != 6 {
        return write!(out, "IP6 version error: {} != 6", packet.version());
    }
    if packet.check_len().is_err() {
        let missing = ipv6::HEADER_LEN + usize::from(packet.payload_len()) - payload.len();
        return write!(out, "IP6 truncated-ip6 - {missing} bytes missing!");
    }
    let (src, dst) = (packet.src_addr(), packet.dst_addr());
    let mut data = packet.payload();
    let mut next = packet.next_header();
    // Whether `IP6 src > dst: ` has been written (it has once an extension header was).
    let mut prefixed = false;
    loop {
        let name = match next {
            IpProtocol::HopByHop => "hbhopt",
            IpProtocol::Ipv6Opts => "dstopt",
            IpProtocol::Ipv6Route => "rthdr",
            IpProtocol::Ipv6Frag => "frag",
            _ => break,
        };
        if !prefixed {
            write!(out, "IP6 {src} > {dst}: ")?;
            prefixed = true;
        }
        if next == IpProtocol::Ipv6Frag {
            let Ok(frag) = Ipv6FragRepr::parse(data) else {
                return write!(out, " [|{name}]");
            };
            let len = data.len() - ipv6::FRAG_HEADER_LEN;
            write!(out, "frag ({}|{len})", u32::from(frag.offset) * 8)?;
            if frag.offset != 0 {
                return Ok(());
            }
            out.write_char(' ')?;
            next = frag.next_header;
            data = &data[ipv6::FRAG_HEADER_LEN..];
            continue;
        }
        let Some(len) = data.get(1).map(|&l| (usize::from(l) + 1) * 8) else {
            return write!(out, " [|{name}]");
        };
        if data.len() < len {
            return write!(out, " [|{name}]");
        }
        match next {
            IpProtocol::HopByHop => out.write_str("HBH ")?,
            IpProtocol::Ipv6Opts => out.write_str("DSTOPT ")?,
            _ => write_rthdr(out, &data[..len])?,
        }
        next = IpProtocol::from(data[0]);
        data = &data[len..];
    }
    match next {
        IpProtocol::Tcp => write_tcp6(out, src, dst, prefixed, data),
        IpProtocol::Udp => write_udp6(out, src, dst, prefixed, data),
        other => {
            if !prefixed {
                write!(out, "IP6 {src} > {dst}: ")?;
            }
            match other {
                IpProtocol::Icmpv6 => write_icmp6(out, data),
                IpProtocol::Ipv6NoNxt => out.write_str("no next header"),
                p => write!(out, " ip-proto-{} {}", u8::from(p), data.len()),
            }
        }
    }
}

/// A Routing header as tcpdump's `rt6_print` shows it: `RT6 (len=2, type=0 [Deprecated],
/// segleft=0, [0]2001:db8::9) `; other types without their addresses.
fn write_rthdr(out: &mut impl fmt::Write, hdr: &[u8]) -> fmt::Result {
    let (len, kind, segleft) = (hdr[1], hdr[2], hdr[3]);
    if kind == 0 {
        write!(
            out,
            "RT6 (len={len}, type=0 [Deprecated], segleft={segleft}"
        )?;
        for (i, a) in hdr[8..].chunks_exact(16).enumerate() {
            write!(out, ", [{i}]{}", ipv6_addr(a))?;
        }
        out.write_str(") ")
    } else {
        write!(out, "RT6 (len={len}, type={kind}, segleft={segleft}) ")
    }
}

/// TCP over IPv6; `prefixed`: extension headers were written, so only the ports follow.
fn write_tcp6(
    out: &mut impl fmt::Write,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    prefixed: bool,
    data: &[u8],
) -> fmt::Result {
    let ports = (data.len() >= 4).then(|| (be16(&data[0..2]), be16(&data[2..4])));
    match (TcpPacket::new_checked(data), prefixed, ports) {
        (Ok(tcp), false, _) => {
            write!(
                out,
                "IP6 {src}.{} > {dst}.{}: ",
                tcp.src_port(),
                tcp.dst_port()
            )?;
            write_tcp_segment(out, &tcp)
        }
        (Ok(tcp), true, _) => {
            write!(out, "{} > {}: ", tcp.src_port(), tcp.dst_port())?;
            write_tcp_segment(out, &tcp)
        }
        (Err(_), false, Some((sp, dp))) => write!(out, "IP6 {src}.{sp} > {dst}.{dp}:  [|tcp]"),
        (Err(_), false, None) => write!(out, "IP6 {src} > {dst}:  [|tcp]"),
        (Err(_), true, _) => out.write_str(" [|tcp]"),
    }
}

/// UDP over IPv6, read as tcpdump reads it: the length field says how long the datagram
/// is even when a first fragment holds only part of it.
fn write_udp6(
    out: &mut impl fmt::Write,
    src: Ipv6Addr,
    dst: Ipv6Addr,
    prefixed: bool,
    data: &[u8],
) -> fmt::Result {
    if data.len() < udp::HEADER_LEN {
        return match (prefixed, data.len() >= 4) {
            (false, true) => write!(
                out,
                "IP6 {src}.{} > {dst}.{}: truncated-udp {}",
                be16(&data[0..2]),
                be16(&data[2..4]),
                data.len()
            ),
            (false, false) => write!(out, "IP6 {src} > {dst}: udp [|udp]"),
            (true, _) => out.write_str(" [|udp]"),
        };
    }
    let (sp, dp) = (be16(&data[0..2]), be16(&data[2..4]));
    if prefixed {
        write!(out, "{sp} > {dp}: ")?;
    } else {
        write!(out, "IP6 {src}.{sp} > {dst}.{dp}: ")?;
    }
    let ulen = usize::from(be16(&data[4..6])).max(udp::HEADER_LEN);
    let payload = &data[udp::HEADER_LEN..ulen.min(data.len())];
    if sp == DNS_PORT || dp == DNS_PORT {
        dns::write_summary(out, payload)
    } else {
        write!(out, "UDP, length {}", ulen - udp::HEADER_LEN)
    }
}

/// An ICMPv6 message as tcpdump's `icmp6_print` shows it without `-v`: `ICMP6, ` and the
/// type, the details below, and `, length N` (the ICMPv6 message length); a message too
/// short for its details ends in `[|icmp6]` without a length.
fn write_icmp6(out: &mut impl fmt::Write, data: &[u8]) -> fmt::Result {
    const TRUNC: &str = " [|icmp6]";
    let len = data.len();
    match data.first().map(|&t| Icmpv6Message::from(t)) {
        Some(Icmpv6Message::Unknown(t)) => {
            return write!(out, "ICMP6, unknown icmp6 type ({t}), length {len}");
        }
        _ if len < 4 => return out.write_str("ICMP6, [|icmp6]"),
        _ => {}
    }
    let p = Icmpv6Packet::new_unchecked(data);
    let code = p.msg_code();
    // The quoted packet of an error: its addresses, if quoted.
    let quoted = data.get(icmpv6::HEADER_LEN..).unwrap_or(&[]);
    let inner_src = quoted.get(8..24).map(ipv6_addr);
    let inner_dst = quoted.get(24..40).map(ipv6_addr);
    out.write_str("ICMP6, ")?;
    match p.msg_type() {
        kind @ (Icmpv6Message::EchoRequest | Icmpv6Message::EchoReply) => {
            let name = if kind == Icmpv6Message::EchoRequest {
                "echo request"
            } else {
                "echo reply"
            };
            if len < icmpv6::HEADER_LEN {
                return write!(out, "{name}{TRUNC}");
            }
            write!(
                out,
                "{name}, id {}, seq {}",
                p.echo_ident(),
                p.echo_seq_no()
            )?;
        }
        Icmpv6Message::DstUnreachable => {
            out.write_str("destination unreachable, ")?;
            let (name, needs) = match code {
                0 => ("unreachable route", true),
                1 => (" unreachable prohibited", true),
                2 => ("beyond scope", true),
                3 => ("unreachable address", true),
                4 => ("unreachable port", true),
                _ => ("", false),
            };
            if !needs {
                write!(out, "unknown unreach code ({code})")?;
            } else if code == 4 {
                let port = icmp6_quoted_port(quoted);
                let (Some((proto, port)), Some(d)) = (port, inner_dst) else {
                    return write!(out, "{name}{TRUNC}");
                };
                write!(out, "{name}, {d} {proto} port {port}")?;
            } else {
                let (Some(s), Some(d)) = (inner_src, inner_dst) else {
                    return write!(out, "{name}{TRUNC}");
                };
                if code == 2 {
                    write!(out, "{name} {d}, source address {s}")?;
                } else {
                    write!(out, "{name} {d}")?;
                }
            }
        }
        Icmpv6Message::PacketTooBig => {
            if len < icmpv6::HEADER_LEN {
                return write!(out, "packet too big{TRUNC}");
            }
            write!(out, "packet too big, mtu {}", p.mtu())?;
        }
        Icmpv6Message::TimeExceeded => match code {
            0 => {
                let Some(d) = inner_dst else {
                    return write!(out, "time exceeded in-transit{TRUNC}");
                };
                write!(out, "time exceeded in-transit for {d}")?;
            }
            1 => out.write_str("time exceeded in-transit (reassembly)")?,
            _ => write!(out, "time exceeded in-transit, unknown code ({code})")?,
        },
        Icmpv6Message::ParamProblem => {
            if len < icmpv6::HEADER_LEN {
                return write!(out, "parameter problem{TRUNC}");
            }
            let ptr = p.pointer();
            match code {
                0 => write!(out, "parameter problem, erroneous - octet {ptr}")?,
                1 => write!(out, "parameter problem, next header - octet {ptr}")?,
                2 => write!(out, "parameter problem, option - octet {ptr}")?,
                3 => write!(
                    out,
                    "parameter problem, incomplete header chain - octet {ptr}"
                )?,
                _ => write!(out, "parameter problem, code-#{code}")?,
            }
        }
        Icmpv6Message::RouterSolicit => out.write_str("router solicitation")?,
        Icmpv6Message::RouterAdvert => out.write_str("router advertisement")?,
        Icmpv6Message::NeighborSolicit => {
            if len < 24 {
                return write!(out, "neighbor solicitation{TRUNC}");
            }
            write!(out, "neighbor solicitation, who has {}", p.target_addr())?;
        }
        Icmpv6Message::NeighborAdvert => {
            if len < 24 {
                return write!(out, "neighbor advertisement{TRUNC}");
            }
            write!(out, "neighbor advertisement, tgt is {}", p.target_addr())?;
        }
        Icmpv6Message::Redirect => {
            if len < 40 {
                return write!(out, "redirect{TRUNC}");
            }
            write!(out, "redirect, {} to {}", p.dest_addr(), p.target_addr())?;
        }
        kind @ (Icmpv6Message::MldQuery | Icmpv6Message::MldReport | Icmpv6Message::MldDone) => {
            let name = match kind {
                Icmpv6Message::MldQuery => "multicast listener query",
                Icmpv6Message::MldReport => "multicast listener report",
                _ => "multicast listener done",
            };
            out.write_str(name)?;
            if len == 24 || (len > 24 && kind != Icmpv6Message::MldQuery) {
                // mld6_print, with tcpdump's missing space after the name.
                write!(
                    out,
                    "max resp delay: {} addr: {}",
                    p.max_resp_code(),
                    p.mld_group()
                )?;
            } else if len >= 28 && kind == Icmpv6Message::MldQuery {
                let sources = be16(&data[26..28]);
                write!(out, " v2 [gaddr {}", p.mld_group())?;
                if sources > 0 {
                    write!(out, ", {sources} source(s)")?;
                }
                out.write_char(']')?;
            } else if kind == Icmpv6Message::MldQuery {
                write!(out, " unknown-version (len {len}) ")?;
            } else {
                return out.write_str(TRUNC);
            }
        }
        Icmpv6Message::MldReportV2 => {
            if len < icmpv6::HEADER_LEN {
                return write!(out, "multicast listener report v2{TRUNC}");
            }
            write!(
                out,
                "multicast listener report v2, {} group record(s)",
                p.mld_num_records()
            )?;
        }
        // (Written above, before the length checks.)
        Icmpv6Message::Unknown(t) => write!(out, "unknown icmp6 type ({t})")?,
    }
    write!(out, ", length {len}")
}

/// The protocol name and destination port of the TCP or UDP header quoted by an ICMPv6
/// error (after the quoted IPv6 header and its extension headers), as tcpdump's
/// `get_upperlayer` finds it.
fn icmp6_quoted_port(quoted: &[u8]) -> Option<(&'static str, u16)> {
    let inner = Ipv6Packet::new_unchecked(quoted.get(..ipv6::HEADER_LEN)?);
    let rest = &quoted[ipv6::HEADER_LEN..];
    let walk = ipv6::skip_ext_headers(rest, inner.next_header()).ok()?;
    let name = match walk.protocol {
        IpProtocol::Tcp => "tcp",
        IpProtocol::Udp => "udp",
        _ => return None,
    };
    let upper = rest.get(walk.offset..walk.offset + 4)?;
    Some((name, be16(&upper[2..4])))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::tests::hex;
    use proptest::prelude::*;

    #[test]
    fn fast_open_options_print_as_tcpdump_prints_them() {
        let show = |o: TcpOption<'_>| {
            let mut s = String::new();
            write_tcp_option(&mut s, &o).expect("writes");
            s
        };
        let req = TcpOption::Unknown {
            kind: 34,
            data: &[],
        };
        assert_eq!(show(req), "tfo  cookiereq");
        let data = [0xab, 0xcd, 0x12, 0x34];
        let cookie = TcpOption::Unknown {
            kind: 34,
            data: &data,
        };
        assert_eq!(show(cookie), "tfo  cookie abcd1234");
        let exp = TcpOption::Unknown {
            kind: 254,
            data: &[0xf9, 0x89, 1, 2, 3, 4],
        };
        assert_eq!(show(exp), "tfo  cookie 01020304");
    }

    /// client.pcap, as `(frame number, bytes)`: ARP both ways, DNS both ways, the handshake,
    /// the GET, a FIN.
    const CLIENT_PCAP: &[(u32, &str)] = &[
        (
            1,
            "ffffffffffff020000000002080600010800060400010200000000020a0000020000000000000a000001",
        ),
        (
            2,
            "020000000002020000000001080600010800060400020200000000010a0000010200000000020a000002",
        ),
        (
            3,
            "020000000001020000000002080045000037344f40004011f1300a0000020a000135a325003500234269c39b0100000100000000000005626169647503636f6d0000010001",
        ),
        (
            5,
            "020000000002020000000001080045000047d5ae40003f1150c10a0001350a0000020035a32500335afcc39b8580000100010000000005626169647503636f6d0000010001c00c000100010000000000040a000150",
        ),
        (
            6,
            "020000000002020000000001080045000037d5af40003f1150d00a0001350a0000020035a3250023eee27b9c8185000100000000000005626169647503636f6d00001c0001",
        ),
        (
            7,
            "02000000000102000000000208004500003cfa1a400040062b500a0000020a00015091500050500dce2200000000a002faf038800000020405b40402080abf539016000000000103030a",
        ),
        (
            8,
            "02000000000202000000000108004500003c000040003f06266b0a0001500a00000200509150226b73ca500dce23a012fe8812080000020405b40402080a27cb64cebf5390160103030a",
        ),
        (
            9,
            "020000000001020000000002080045000034fa1b400040062b570a0000020a00015091500050500dce23226b73cb8010003f3f2100000101080abf53901627cb64ce",
        ),
        (
            10,
            "02000000000102000000000208004500007dfa1c400040062b0d0a0000020a00015091500050500dce23226b73cb8018003ff67e00000101080abf53901627cb64ce474554202f20485454502f312e310d0a486f73743a2062616964752e636f6d0d0a557365722d4167656e743a206375726c2f372e38382e310d0a4163636570743a202a2f2a0d0a0d0a",
        ),
        (
            20,
            "0200000000020200000000010800450000343ae140003f06eb910a0001500a00000200509150226b8486500dce6c801100402e1500000101080a27cb64d1bf539019",
        ),
        (
            23,
            "020000000002020000000001080600010800060400010200000000010a0000010000000000000a000002",
        ),
    ];

    #[test]
    fn reference_frames() {
        let expected = [
            "ARP, Request who-has 10.0.0.1 tell 10.0.0.2, length 28",
            "ARP, Reply 10.0.0.1 is-at 02:00:00:00:00:01, length 28",
            "IP 10.0.0.2.41765 > 10.0.1.53.53: 50075+ A? baidu.com. (27)",
            "IP 10.0.1.53.53 > 10.0.0.2.41765: 50075* 1/0/0 A 10.0.1.80 (43)",
            "IP 10.0.1.53.53 > 10.0.0.2.41765: 31644 Refused 0/0/0 (27)",
            "IP 10.0.0.2.37200 > 10.0.1.80.80: Flags [S], seq 1343082018, win 64240, \
             options [mss 1460,sackOK,TS val 3209924630 ecr 0,nop,wscale 10], length 0",
            "IP 10.0.1.80.80 > 10.0.0.2.37200: Flags [S.], seq 577467338, ack 1343082019, \
             win 65160, options [mss 1460,sackOK,TS val 667641038 ecr 3209924630,nop,wscale 10], \
             length 0",
            "IP 10.0.0.2.37200 > 10.0.1.80.80: Flags [.], ack 577467339, win 63, \
             options [nop,nop,TS val 3209924630 ecr 667641038], length 0",
            "IP 10.0.0.2.37200 > 10.0.1.80.80: Flags [P.], seq 1343082019:1343082092, \
             ack 577467339, win 63, options [nop,nop,TS val 3209924630 ecr 667641038], length 73",
            "IP 10.0.1.80.80 > 10.0.0.2.37200: Flags [F.], seq 577471622, ack 1343082092, \
             win 64, options [nop,nop,TS val 667641041 ecr 3209924633], length 0",
            "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28",
        ];
        for ((n, bytes), want) in CLIENT_PCAP.iter().zip(expected) {
            assert_eq!(summary(&hex(bytes)), want, "frame {n}");
        }
    }

    fn ip_frame(protocol: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = hex("020000000001 020000000002 0800");
        let ip = crate::wire::Ipv4Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 2),
            dst_addr: Ipv4Addr::new(10, 0, 0, 1),
            protocol: IpProtocol::from(protocol),
            payload_len: payload.len(),
            ttl: 64,
            dscp_ecn: 0,
            ident: 1,
            dont_frag: true,
            more_frags: false,
            frag_offset: 0,
        };
        let mut hdr = [0u8; 20];
        ip.emit(&mut Ipv4Packet::new_unchecked(&mut hdr[..]));
        f.extend_from_slice(&hdr);
        f.extend_from_slice(payload);
        f
    }

    fn icmp_bytes(repr: &crate::wire::Icmpv4Repr<'_>) -> Vec<u8> {
        let mut b = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut b[..]));
        b
    }

    #[test]
    fn icmp() {
        use crate::wire::{DstUnreachable, Icmpv4Repr, TimeExceeded};
        let data = [0u8; 56];
        let ping = icmp_bytes(&Icmpv4Repr::EchoRequest {
            ident: 1,
            seq_no: 1,
            data: &data,
        });
        assert_eq!(
            summary(&ip_frame(1, &ping)),
            "IP 10.0.0.2 > 10.0.0.1: ICMP echo request, id 1, seq 1, length 64"
        );
        let pong = icmp_bytes(&Icmpv4Repr::EchoReply {
            ident: 1,
            seq_no: 2,
            data: &data,
        });
        assert!(summary(&ip_frame(1, &pong)).ends_with("ICMP echo reply, id 1, seq 2, length 64"));
        // The quoted DNS query (client.pcap frame 3): IP header + UDP header.
        let quote = hex("45000037344f40004011f1300a0000020a000135 a325003500234269");
        let unreach = |reason, mtu| {
            let icmp = icmp_bytes(&Icmpv4Repr::DstUnreachable {
                reason,
                next_hop_mtu: mtu,
                data: &quote,
            });
            summary(&ip_frame(1, &icmp))
        };
        let head = "IP 10.0.0.2 > 10.0.0.1: ICMP ";
        assert_eq!(
            unreach(DstUnreachable::PortUnreachable, 0),
            format!("{head}10.0.1.53 udp port 53 unreachable, length 36")
        );
        assert_eq!(
            unreach(DstUnreachable::HostUnreachable, 0),
            format!("{head}host 10.0.1.53 unreachable, length 36")
        );
        assert_eq!(
            unreach(DstUnreachable::NetUnreachable, 0),
            format!("{head}net 10.0.1.53 unreachable, length 36")
        );
        assert_eq!(
            unreach(DstUnreachable::ProtoUnreachable, 0),
            format!("{head}10.0.1.53 protocol 17 unreachable, length 36")
        );
        assert_eq!(
            unreach(DstUnreachable::FragRequired, 1400),
            format!("{head}10.0.1.53 unreachable - need to frag (mtu 1400), length 36")
        );
        let te = icmp_bytes(&Icmpv4Repr::TimeExceeded {
            reason: TimeExceeded::TtlExpired,
            data: &quote,
        });
        assert_eq!(
            summary(&ip_frame(1, &te)),
            format!("{head}time exceeded in-transit, length 36")
        );
    }

    #[test]
    fn other_udp_and_protocols_and_damage() {
        let mut udp = hex("a3250009000c0000 01020304");
        let repr = crate::wire::UdpRepr {
            src_port: 41765,
            dst_port: 9,
        };
        repr.emit(
            &mut UdpPacket::new_unchecked(&mut udp[..]),
            Ipv4Addr::new(10, 0, 0, 2),
            Ipv4Addr::new(10, 0, 0, 1),
            4,
        );
        assert_eq!(
            summary(&ip_frame(17, &udp)),
            "IP 10.0.0.2.41765 > 10.0.0.1.9: UDP, length 4"
        );
        assert_eq!(
            summary(&ip_frame(99, &[0; 7])),
            "IP 10.0.0.2 > 10.0.0.1: ip-proto-99 7"
        );
        assert_eq!(
            summary(&ip_frame(6, &[0; 7])),
            "IP 10.0.0.2 > 10.0.0.1: tcp [|tcp]"
        );
        assert_eq!(summary(&[0; 10]), "[|ether]");
        let mut f = ip_frame(17, &udp);
        f.truncate(30);
        assert_eq!(summary(&f), "IP [|ip]");
        let mut f = ip_frame(17, &udp);
        f[14] = 0x65;
        assert_eq!(summary(&f), "IP [version 6]");
        f[14] = 0x44;
        assert_eq!(summary(&f), "IP [bad hdr length]");
        let mut frag = ip_frame(17, &udp);
        frag[14 + 6] = 0x20; // MF
        assert_eq!(summary(&frag), "IP 10.0.0.2 > 10.0.0.1: udp (frag 1:12@0+)");
        assert_eq!(
            summary(&hex("ffffffffffff 020000000002 88b5 0000")),
            "ethertype Unknown (0x88b5), length 16"
        );
        // Padding after a short frame is not counted by the IP length.
        let mut padded = hex(CLIENT_PCAP[0].1);
        padded.resize(60, 0);
        assert_eq!(
            summary(&padded),
            "ARP, Request who-has 10.0.0.1 tell 10.0.0.2, length 46"
        );
    }

    #[test]
    fn appends_to_existing_buffer() {
        let mut line = String::from("t=0.000019 client.eth0 tx ");
        summarize(&mut line, &hex(CLIENT_PCAP[2].1));
        assert_eq!(
            line,
            "t=0.000019 client.eth0 tx IP 10.0.0.2.41765 > 10.0.1.53.53: 50075+ A? baidu.com. (27)"
        );
    }

    /// The frames of a little-endian classic pcap file.
    fn pcap_frames(bytes: &[u8]) -> Vec<&[u8]> {
        assert_eq!(
            &bytes[..4],
            &[0xd4, 0xc3, 0xb2, 0xa1],
            "not a little-endian pcap"
        );
        let mut frames = Vec::new();
        let mut at = 24;
        while at + 16 <= bytes.len() {
            let incl = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
            frames.push(&bytes[at + 16..at + 16 + incl]);
            at += 16 + incl;
        }
        assert_eq!(at, bytes.len(), "trailing bytes in the pcap");
        frames
    }

    /// tcpdump's line without its timestamp and without the `: HTTP…` it adds after TCP
    /// segments to or from port 80 (not printed by [`summary`], for IPv4 as for IPv6).
    fn tcpdump_line(line: &str) -> &str {
        let line = line.split_once(' ').expect("a timestamp").1;
        match line.find(": HTTP") {
            Some(at) if line.starts_with("IP") => &line[..at],
            _ => line,
        }
    }

    /// Every frame of both reference-ipv6 captures is summarized exactly as this machine's
    /// tcpdump 4.99.3 (`tcpdump -nS -r FILE`, kept in `testdata/`) summarized it. The
    /// captures are read from `../shared/reference-ipv6/` next to the checkout: without them
    /// the test fails rather than passing on nothing.
    #[test]
    fn reference_ipv6_captures_match_tcpdump() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/reference-ipv6");
        for (pcap, expected) in [
            (
                "client.pcap",
                include_str!("testdata/reference-ipv6-client.txt"),
            ),
            (
                "router_server_side.pcap",
                include_str!("testdata/reference-ipv6-router_server_side.txt"),
            ),
        ] {
            let path = format!("{dir}/{pcap}");
            let bytes = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("{path}: {e} (the reference captures are needed)"));
            let frames = pcap_frames(&bytes);
            let lines: Vec<&str> = expected.lines().collect();
            assert_eq!(
                frames.len(),
                lines.len(),
                "{pcap}: one tcpdump line per frame"
            );
            let mut ipv6 = 0;
            for (n, (frame, line)) in frames.iter().zip(&lines).enumerate() {
                assert_eq!(summary(frame), tcpdump_line(line), "{pcap} frame {}", n + 1);
                ipv6 += usize::from(line.contains(" IP6 "));
            }
            assert!(ipv6 > 30, "{pcap}: only {ipv6} IPv6 frames");
        }
    }

    /// One frame of each IPv6 kind the summary decodes (`testdata/ipv6-kinds.pcap`, built
    /// by a script for this test: echo, every destination-unreachable code, packet too big,
    /// time exceeded, parameter problem, RA, redirect, MLDv1/v2 queries, MLDv1 report and
    /// done, UDP, DNS, fragments, Hop-by-Hop/Destination Options/Routing headers, No Next
    /// Header, and truncated headers) matches tcpdump's line for it
    /// (`testdata/ipv6-kinds.txt`, `tcpdump -nS -r`), except where listed below.
    #[test]
    fn ipv6_kinds_match_tcpdump() {
        // Frames where we print something else on purpose: tcpdump adds a hex dump after
        // unknown unreachable codes and unknown types (ours stays one line), names
        // types beyond RFC 4443/4861/3810 (node information: ours says unknown), and
        // prints a short IPv6 header without the `IP6` tag or carries on after a
        // truncated one.
        let differ: [(usize, &str); 8] = [
            (
                8,
                "ICMP6, destination unreachable, unknown unreach code (5), length 60",
            ),
            (
                9,
                "ICMP6, destination unreachable, unknown unreach code (6), length 60",
            ),
            (
                10,
                "ICMP6, destination unreachable, unknown unreach code (7), length 60",
            ),
            (
                11,
                "ICMP6, destination unreachable, unknown unreach code (8), length 60",
            ),
            (30, "ICMP6, unknown icmp6 type (139), length 8"),
            (45, "ICMP6, unknown icmp6 type (0), length 3"),
            (46, "IP6 [|ip6]"),
            (54, "IP6 truncated-ip6 - 90 bytes missing!"),
        ];
        let frames = pcap_frames(include_bytes!("testdata/ipv6-kinds.pcap"));
        // tcpdump's output, one entry per frame (hex dump lines start with a tab).
        let mut theirs: Vec<Vec<&str>> = Vec::new();
        for line in include_str!("testdata/ipv6-kinds.txt").lines() {
            if line.starts_with(|c: char| c.is_ascii_digit()) {
                theirs.push(vec![tcpdump_line(line)]);
            } else {
                theirs.last_mut().expect("a frame line first").push(line);
            }
        }
        assert_eq!(frames.len(), theirs.len());
        for (i, (frame, t)) in frames.iter().zip(&theirs).enumerate() {
            let n = i + 1;
            let ours = summary(frame);
            if let Some((_, want)) = differ.iter().find(|(m, _)| *m == n) {
                assert!(ours.ends_with(want), "frame {n}: {ours}");
                assert!(t.len() > 1 || t[0] != ours, "frame {n} now matches tcpdump");
            } else {
                assert_eq!(t.len(), 1, "frame {n}: tcpdump printed more than a line");
                assert_eq!(ours, t[0], "frame {n}");
            }
        }
    }

    proptest! {
        #[test]
        fn never_panics(buf in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = summary(&buf);
        }

        #[test]
        fn never_panics_on_damaged_ipv6_frames(
            which in any::<proptest::sample::Index>(), idx in any::<proptest::sample::Index>(),
            val in any::<u8>(), cut in 0usize..80,
        ) {
            let frames = pcap_frames(include_bytes!("testdata/ipv6-kinds.pcap"));
            let mut f = which.get(&frames).to_vec();
            let i = idx.index(f.len());
            f[i] = val;
            f.truncate(f.len().saturating_sub(cut));
            let _ = summary(&f);
            let mut line = String::new();
            let _ = write_ip_summary(&mut line, f.get(14..).unwrap_or(&[]));
        }

        #[test]
        fn never_panics_on_damaged_reference_frames(
            which in 0usize..11, idx in any::<proptest::sample::Index>(), val in any::<u8>(),
            cut in 0usize..40,
        ) {
            let mut f = hex(CLIENT_PCAP[which].1);
            let i = idx.index(f.len());
            f[i] = val;
            f.truncate(f.len().saturating_sub(cut));
            let _ = summary(&f);
        }
    }
}
