//! `dns_server`: an authoritative DNS server on UDP port 53, like dnsmasq with
//! `--address=/name/addr` entries: A queries for a known name get the address (flags
//! `0x8580`, TTL 0 by default), other types for a known name get NODATA (`0x8180`, no
//! answer) or, with `other_types refused`, REFUSED (`0x8185`) as dnsmasq without an upstream
//! answered AAAA in the reference, and unknown names NXDOMAIN. It answers from its unconnected socket, so the IP ID
//! of the replies comes from the kernel's hashed generator (consecutive for back-to-back
//! replies), as in the reference.

use serde::Serialize;
use sim_core::SimTime;

use crate::apps::{App, AppCtx, AppReport};
use crate::node::Node;
use std::net::{Ipv4Addr, SocketAddrV4};

use crate::sock::syscall::SockType;
use crate::sock::{MsgFlags, SockId};
use crate::wire::{DnsFlags, DnsName, DnsRcode, DnsRecord, DnsRepr, DnsType};

/// A running DNS server.
#[derive(Debug)]
pub struct DnsServer {
    /// Name → address.
    pub records: Vec<(String, std::net::IpAddr)>,
    /// TTL of answers.
    pub ttl: u32,
    /// The answer to other types for a known name.
    pub other_types: crate::config::DnsOtherTypes,
    /// The bound socket (after start).
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
}

impl App for DnsServer {
    /// Bind port 53.
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        let Ok(sock) = cx.socket_nonblock(SockType::Dgram, 0) else {
            return;
        };
        let ok = cx
            .bind(sock, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 53))
            .is_ok();
        self.sock = ok.then_some(sock);
    }

    /// Queries arrived: answer each.
    fn wake(&mut self, cx: &mut AppCtx<'_>, _sock: SockId) {
        let Some(sock) = self.sock else { return };
        let mut buf = vec![0u8; 65_536];
        while let Ok(m) = cx.recv(sock, &mut buf, MsgFlags::NONE) {
            let (query, from) = (&buf[..m.len], m.from.expect("a datagram has a sender"));
            self.report.queries += 1;
            let Ok(q) = DnsRepr::parse(query) else {
                self.report.malformed += 1;
                continue;
            };
            let Some(question) = q.questions.first().cloned() else {
                self.report.malformed += 1;
                continue;
            };
            if q.flags.qr() {
                self.report.malformed += 1;
                continue;
            }
            let name = dotted(&question.name);
            let found = self
                .records
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(&name))
                .map(|(_, a)| *a)
                .collect::<Vec<_>>();
            let found = found
                .iter()
                .filter_map(|a| match a {
                    std::net::IpAddr::V4(a) => Some(*a),
                    std::net::IpAddr::V6(_) => None,
                })
                .collect::<Vec<_>>();
            let resp = if found.is_empty() {
                self.report.nxdomain += 1;
                DnsRepr::response(
                    &q,
                    DnsFlags::RESPONSE_AUTHORITATIVE.with_rcode(DnsRcode::NxDomain),
                    vec![],
                )
            } else if question.qtype == DnsType::A {
                self.report.answered += 1;
                let answers = found
                    .iter()
                    .map(|a| DnsRecord::a(question.name.clone(), self.ttl, *a))
                    .collect();
                DnsRepr::response(&q, DnsFlags::RESPONSE_AUTHORITATIVE, answers)
            } else if self.other_types == crate::config::DnsOtherTypes::Refused {
                self.report.refused += 1;
                DnsRepr::response(&q, DnsFlags::RESPONSE.with_rcode(DnsRcode::Refused), vec![])
            } else {
                self.report.nodata += 1;
                DnsRepr::response(&q, DnsFlags::RESPONSE, vec![])
            };
            let mut out = vec![0u8; resp.buffer_len()];
            if resp.emit(&mut out).is_err() {
                continue;
            }
            let _ = cx.sendto(sock, &out, from, MsgFlags::NONE);
        }
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::DnsServer(self.report.clone())
    }
}

/// `baidu.com` from a wire name.
pub fn dotted(name: &DnsName) -> String {
    name.labels()
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect::<Vec<_>>()
        .join(".")
}
