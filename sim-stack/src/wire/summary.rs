//! One-line, tcpdump-like descriptions of Ethernet frames for the text trace.
//!
//! The format is `tcpdump -n -S` without `-e` or `-v`: numeric addresses and ports,
//! absolute sequence numbers. Checksums are not verified (tcpdump does not either without
//! `-v`), so a corrupted frame is still described. Where tcpdump would print `[|proto]` for
//! a truncated header, so do we. Differences from tcpdump: IP fragments are described as
//! `ip-proto-N (frag id:len@offset+)` without decoding the transport header; IPv6 and other
//! EtherTypes are named but not decoded.
//!
//! The output depends only on the bytes, and writing it allocates nothing beyond the output
//! itself.

use core::fmt;
use core::net::Ipv4Addr;

use super::arp::{ArpOperation, ArpPacket, ArpRepr};
use super::ethernet::{EtherType, EthernetFrame, HEADER_LEN as ETH_HEADER_LEN};
use super::icmp::{self, Icmpv4Message, Icmpv4Packet};
use super::ipv4::{IpProtocol, Ipv4Packet};
use super::tcp::{TcpFlags, TcpOption, TcpPacket};
use super::udp::UdpPacket;
use super::{Error, dns, ipv4_addr};

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
        EtherType::Ipv6 => write!(out, "IP6, length {}", payload.len()),
        EtherType::Unknown(t) => write!(
            out,
            "ethertype Unknown ({t:#06x}), length {}",
            frame.len().max(ETH_HEADER_LEN)
        ),
    }
}

/// Writes the description of an IPv4 packet without its Ethernet header (a packet dropped
/// above the device layer), as tcpdump on a cooked capture would.
///
/// # Errors
/// Only those of `out`.
pub fn write_ip_summary(out: &mut impl fmt::Write, packet: &[u8]) -> fmt::Result {
    write_ipv4(out, packet)
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
    let payload = udp.payload();
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
    let flags = tcp.flags();
    let len = tcp.payload().len();
    write!(
        out,
        "IP {src}.{} > {dst}.{}: Flags [{flags}]",
        tcp.src_port(),
        tcp.dst_port()
    )?;
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

    proptest! {
        #[test]
        fn never_panics(buf in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = summary(&buf);
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
