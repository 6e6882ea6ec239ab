//! `dns_server`: an authoritative DNS server on UDP port 53, like dnsmasq with
//! `--address=/name/addr` entries: A queries for a known name get its IPv4 addresses and
//! AAAA queries its IPv6 ones (flags `0x8580`, TTL 0 by default; the dual-stack reference's
//! AAAA answer is [`DnsServer::answer`]'s test). A type the name has no record of (AAAA for
//! a name with only A records, MX, …) gets NODATA (`0x8180`, no answer) or, with
//! `other_types refused`, REFUSED (`0x8185`) as dnsmasq without an upstream answered AAAA in
//! the IPv4 reference, and unknown names NXDOMAIN. It answers from its unconnected socket,
//! so the IP ID of the replies comes from the kernel's hashed generator (consecutive for
//! back-to-back replies), as in the reference.
//!
//! It listens on `0.0.0.0:53` and, when its node has IPv6 addresses, on each of them too,
//! as the dual-stack reference's dnsmasq with `--listen-address` for both families and
//! `--bind-interfaces`: one `AF_INET6` socket per address, `IPV6_V6ONLY` (as dnsmasq sets
//! it) and `IP_FREEBIND` (the addresses are still tentative when it starts at t = 0), each
//! answering the queries sent to its address from that address.

use serde::Serialize;
use sim_core::SimTime;

use crate::apps::{App, AppCtx, AppReport};
use crate::node::Node;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4, SocketAddrV6};

use crate::sock::syscall::{Domain, SockOpt, SockType};
use crate::sock::{MsgFlags, SockId};
use crate::wire::{DnsFlags, DnsName, DnsRcode, DnsRecord, DnsRepr, DnsType};

/// A running DNS server.
#[derive(Debug)]
pub struct DnsServer {
    /// Name → address: A records (IPv4) and AAAA records (IPv6).
    pub records: Vec<(String, IpAddr)>,
    /// Name → text: TXT records.
    pub txt: Vec<(String, Vec<u8>)>,
    /// TTL of answers.
    pub ttl: u32,
    /// The answer to other types for a known name.
    pub other_types: crate::config::DnsOtherTypes,
    /// The bound IPv4 socket (after start). The IPv6 ones are woken as it is and need no
    /// name here.
    pub sock: Option<SockId>,
    /// Counters.
    pub report: DnsServerReport,
}

/// What the server did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DnsServerReport {
    /// Queries received.
    pub queries: u64,
    /// Answered with an address.
    pub answered: u64,
    /// NODATA answers (known name, other type).
    pub nodata: u64,
    /// NXDOMAIN answers.
    pub nxdomain: u64,
    /// REFUSED answers (`other_types refused`).
    pub refused: u64,
    /// Malformed messages ignored.
    pub malformed: u64,
    /// Answers too large for the requester's UDP size, sent truncated (TC, no answers).
    pub truncated: u64,
}

impl App for DnsServer {
    /// Bind port 53: of every IPv4 address, and of each IPv6 address of the node.
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        if let Ok(sock) = cx.socket_nonblock(SockType::Dgram, 0) {
            let ok = cx
                .bind(sock, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 53))
                .is_ok();
            self.sock = ok.then_some(sock);
        }
        for addr in cx.ipv6_addrs() {
            let Ok(sock) = cx.socket_domain_nonblock(Domain::Inet6, SockType::Dgram, 0) else {
                continue;
            };
            let bound = cx.setsockopt(sock, SockOpt::V6Only(true)).is_ok()
                && cx.setsockopt(sock, SockOpt::FreeBind(true)).is_ok()
                && cx.bind(sock, SocketAddrV6::new(addr, 53, 0, 0)).is_ok();
            if !bound {
                let _ = cx.close(sock);
            }
        }
    }

    /// Queries arrived on `sock` (one of its own): answer each from it, so from the address
    /// the query was sent to.
    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        let mut buf = vec![0u8; 65_536];
        while let Ok(m) = cx.recv(sock, &mut buf, MsgFlags::NONE) {
            let (query, from) = (&buf[..m.len], m.from.expect("a datagram has a sender"));
            let Some(out) = self.answer(query) else {
                continue;
            };
            let _ = cx.sendto(sock, &out, from, MsgFlags::NONE);
        }
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::DnsServer(self.report.clone())
    }
}

impl DnsServer {
    /// The reply to one query datagram, counted in the report; `None` for a message that is
    /// not a query (counted as malformed, and not answered, as dnsmasq drops it).
    pub fn answer(&mut self, query: &[u8]) -> Option<Vec<u8>> {
        self.report.queries += 1;
        let Ok(q) = DnsRepr::parse(query) else {
            self.report.malformed += 1;
            return None;
        };
        let Some(question) = q.questions.first().cloned() else {
            self.report.malformed += 1;
            return None;
        };
        if q.flags.qr() {
            self.report.malformed += 1;
            return None;
        }
        let name = dotted(&question.name);
        let found = self
            .records
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(&name))
            .map(|(_, a)| *a)
            .collect::<Vec<_>>();
        let texts: Vec<&[u8]> = self
            .txt
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(&name))
            .map(|(_, t)| t.as_slice())
            .collect();
        let any = question.qtype == DnsType::Any;
        let mut answers: Vec<DnsRecord> = found
            .iter()
            .filter_map(|a| match (question.qtype, a) {
                (DnsType::A | DnsType::Any, IpAddr::V4(a)) => {
                    Some(DnsRecord::a(question.name.clone(), self.ttl, *a))
                }
                (DnsType::Aaaa | DnsType::Any, IpAddr::V6(a)) => {
                    Some(DnsRecord::aaaa(question.name.clone(), self.ttl, *a))
                }
                _ => None,
            })
            .collect();
        if question.qtype == DnsType::Txt || any {
            answers.extend(texts.iter().map(|t| DnsRecord {
                name: question.name.clone(),
                rtype: DnsType::Txt,
                class: crate::wire::dns::CLASS_IN,
                ttl: self.ttl,
                data: crate::wire::RData::Other(txt_rdata(t)),
            }));
        }
        // EDNS (RFC 6891): the requester's UDP size from its OPT record, at least 512 and
        // at most this server's 4096; without one, 512 bytes (RFC 1035).
        let opt = q.additionals.iter().find(|r| r.rtype == DnsType::Opt);
        let limit = opt.map_or(512, |o| usize::from(o.class.clamp(512, EDNS_MAX)));
        let found_any = !found.is_empty() || !texts.is_empty();
        let mut resp = if !found_any {
            self.report.nxdomain += 1;
            DnsRepr::response(
                &q,
                DnsFlags::RESPONSE_AUTHORITATIVE.with_rcode(DnsRcode::NxDomain),
                vec![],
            )
        } else if !answers.is_empty() {
            self.report.answered += 1;
            DnsRepr::response(&q, DnsFlags::RESPONSE_AUTHORITATIVE, answers)
        } else if self.other_types == crate::config::DnsOtherTypes::Refused {
            self.report.refused += 1;
            DnsRepr::response(&q, DnsFlags::RESPONSE.with_rcode(DnsRcode::Refused), vec![])
        } else {
            self.report.nodata += 1;
            DnsRepr::response(&q, DnsFlags::RESPONSE, vec![])
        };
        if opt.is_some() {
            resp.additionals.push(DnsRecord {
                name: DnsName::root(),
                rtype: DnsType::Opt,
                class: EDNS_MAX,
                ttl: 0,
                data: crate::wire::RData::Other(Vec::new()),
            });
        }
        if resp.buffer_len() > limit {
            // Too large for the requester: the header and question with TC set, so that it
            // asks again over TCP (or with a larger EDNS size).
            self.report.truncated += 1;
            resp.answers.clear();
            resp.flags = DnsFlags(resp.flags.0 | DnsFlags::TC);
        }
        let mut out = vec![0u8; resp.buffer_len()];
        resp.emit(&mut out).ok()?;
        Some(out)
    }
}

/// The UDP size this server advertises and honours with EDNS.
pub const EDNS_MAX: u16 = 4096;

/// A TXT record's data: the text as character-strings of at most 255 bytes.
fn txt_rdata(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 255 + 1);
    for chunk in text.chunks(255) {
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
    if text.is_empty() {
        out.push(0);
    }
    out
}

/// `baidu.com` from a wire name.
pub fn dotted(name: &DnsName) -> String {
    name.labels()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DnsOtherTypes;

    /// The client's AAAA query of the dual-stack reference (`client.pcap` frame 20, the UDP
    /// payload).
    const AAAA_QUERY: &[u8] = &[
        0x22, 0xc5, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, b'b', b'a',
        b'i', b'd', b'u', 0x03, b'c', b'o', b'm', 0x00, 0x00, 0x1c, 0x00, 0x01,
    ];

    /// dnsmasq's answer (frame 21: a 97-byte frame, flags 0x8580, one answer, TTL 0).
    const AAAA_RESPONSE: &[u8] = &[
        0x22, 0xc5, 0x85, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x05, b'b', b'a',
        b'i', b'd', b'u', 0x03, b'c', b'o', b'm', 0x00, 0x00, 0x1c, 0x00, 0x01, 0xc0, 0x0c, 0x00,
        0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80,
    ];

    fn server(records: &[(&str, &str)], other_types: DnsOtherTypes) -> DnsServer {
        DnsServer {
            records: records
                .iter()
                .map(|(n, a)| ((*n).to_string(), a.parse().unwrap()))
                .collect(),
            ttl: 0,
            other_types,
            txt: Vec::new(),
            sock: None,
            report: DnsServerReport::default(),
        }
    }

    fn with_qtype(qtype: u8) -> Vec<u8> {
        let mut q = AAAA_QUERY.to_vec();
        q[24] = qtype;
        q
    }

    #[test]
    fn answers_aaaa_as_dnsmasq_in_the_reference() {
        let mut s = server(
            &[("baidu.com", "10.0.1.80"), ("baidu.com", "2001:db8:1::80")],
            DnsOtherTypes::NoData,
        );
        let out = s.answer(AAAA_QUERY).unwrap();
        assert_eq!(out, AAAA_RESPONSE);
        // Ethernet 14 + IPv4 20 + UDP 8 + DNS: the reference's 97-byte frame.
        assert_eq!(14 + 20 + 8 + out.len(), 97);
        // The A question of the same name gets only the A record.
        let a = s.answer(&with_qtype(1)).unwrap();
        let r = DnsRepr::parse(&a).unwrap();
        assert_eq!(r.answers.len(), 1);
        assert_eq!(
            r.answers[0].data,
            crate::wire::RData::A("10.0.1.80".parse().unwrap())
        );
        assert_eq!(s.report.answered, 2);
    }

    #[test]
    fn a_name_without_aaaa_answers_nodata_or_refused() {
        let mut s = server(&[("baidu.com", "10.0.1.80")], DnsOtherTypes::NoData);
        let r = DnsRepr::parse(&s.answer(AAAA_QUERY).unwrap()).unwrap();
        assert_eq!(r.flags, DnsFlags::RESPONSE);
        assert!(r.answers.is_empty());
        assert_eq!(s.report.nodata, 1);
        let mut s = server(&[("baidu.com", "10.0.1.80")], DnsOtherTypes::Refused);
        let r = DnsRepr::parse(&s.answer(AAAA_QUERY).unwrap()).unwrap();
        assert_eq!(r.flags, DnsFlags::RESPONSE.with_rcode(DnsRcode::Refused));
        // A name with only AAAA records answers an A question with NODATA too.
        let mut s = server(&[("baidu.com", "2001:db8:1::80")], DnsOtherTypes::NoData);
        let r = DnsRepr::parse(&s.answer(&with_qtype(1)).unwrap()).unwrap();
        assert_eq!((r.flags, r.answers.len()), (DnsFlags::RESPONSE, 0));
        // MX (15) of a known name: NODATA.
        let r = DnsRepr::parse(&s.answer(&with_qtype(15)).unwrap()).unwrap();
        assert_eq!((r.flags, r.answers.len()), (DnsFlags::RESPONSE, 0));
        // An unknown name: NXDOMAIN.
        let mut s = server(&[("example.com", "2001:db8:1::80")], DnsOtherTypes::NoData);
        let r = DnsRepr::parse(&s.answer(AAAA_QUERY).unwrap()).unwrap();
        assert_eq!(
            r.flags,
            DnsFlags::RESPONSE_AUTHORITATIVE.with_rcode(DnsRcode::NxDomain)
        );
    }
}
