//! UDP over IPv6 in whole runs.
//!
//! * DNS over IPv6: `scenarios/dual_stack.net`'s topology with the client's resolver at
//!   `2001:db8:1::53`, the reference's `RESOLVER=v6` run (`shared/reference-ipv6/REFERENCE.md`
//!   §8): A and AAAA queries from one socket in 89-byte frames sharing one flow label, the
//!   answers in 105- and 117-byte frames with one label of dnsmasq's; curl then fetches over
//!   IPv6.
//! * A dual-stack socket (`AF_INET6` on `[::]`, `IPV6_V6ONLY` off) in an IPv4 exchange: it
//!   reads the client's datagrams with the sender v4-mapped and answers to that address,
//!   which goes out over IPv4.
//! * Port unreachable over IPv6, back at the sender as `ECONNREFUSED`.
//! * `udp_cbr` to an IPv6 sink, every byte delivered.

mod common;

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use common::{capture_into, load, read_pcap, run_scenario, temp_dir};
use sim_core::SimTime;
use sim_stack::apps::registry::{AppProps, AppSpec, PropKind, PropSpec};
use sim_stack::apps::{App, AppCtx, AppReport, ReportValue, UserReport};
use sim_stack::capture::CaptureFormat;
use sim_stack::node::Node;
use sim_stack::sock::syscall::{Domain, SockType};
use sim_stack::sock::{MsgFlags, SockId};

/// dual_stack.net's topology, `client_extra` in the client's block, `apps` at the end.
fn dual(client_extra: &str, apps: &str) -> String {
    format!(
        "
seed 1
end 5s
host client {{
    iface eth0 {{ ip 10.0.0.2/24  ip6 2001:db8::2/64  mac 02:00:00:00:00:02 }}
    route default via 10.0.0.1
    route6 default via 2001:db8::1
    {client_extra}
}}
router r1 {{
    iface eth0 {{ ip 10.0.0.1/24  ip6 2001:db8::1/64    mac 02:00:00:00:00:01 }}
    iface eth1 {{ ip 10.0.1.1/24  ip6 2001:db8:1::1/64  mac 02:00:00:00:01:01 }}
}}
switch sw0
host dns {{
    iface eth0 {{ ip 10.0.1.53/24  ip6 2001:db8:1::53/64  mac 02:00:00:00:01:53 }}
    route default via 10.0.1.1
    route6 default via 2001:db8:1::1
}}
host web {{
    iface eth0 {{ ip 10.0.1.80/24  ip6 2001:db8:1::80/64  mac 02:00:00:00:01:80 }}
    route default via 10.0.1.1
    route6 default via 2001:db8:1::1
}}
link client.eth0 -- r1.eth0 {{ rate 10Gbit  delay 1us }}
link r1.eth1     -- sw0     {{ rate 10Gbit  delay 1us }}
link dns.eth0    -- sw0     {{ rate 10Gbit  delay 1us }}
link web.eth0    -- sw0     {{ rate 10Gbit  delay 1us }}
{apps}
"
    )
}

/// An IPv6 UDP frame: (frame length, source, destination, flow label, hop limit, source
/// port, destination port).
type Udp6Frame = (usize, Ipv6Addr, Ipv6Addr, u32, u8, u16, u16);

fn udp6_frames(path: &std::path::Path) -> Vec<Udp6Frame> {
    read_pcap(path)
        .into_iter()
        .filter_map(|r| {
            let d = &r.data;
            if d.len() < 62 || d[12..14] != [0x86, 0xdd] || d[20] != 17 {
                return None;
            }
            let ip = &d[14..];
            let label = u32::from_be_bytes([0, ip[1] & 0x0f, ip[2], ip[3]]);
            let src = Ipv6Addr::from(<[u8; 16]>::try_from(&ip[8..24]).ok()?);
            let dst = Ipv6Addr::from(<[u8; 16]>::try_from(&ip[24..40]).ok()?);
            let sport = u16::from_be_bytes([ip[40], ip[41]]);
            let dport = u16::from_be_bytes([ip[42], ip[43]]);
            Some((d.len(), src, dst, label, ip[7], sport, dport))
        })
        .collect()
}

fn addr(s: &str) -> Ipv6Addr {
    s.parse().expect("address")
}

/// The reference's IPv6-resolver run: the queries go to [2001:db8:1::53]:53 from
/// [2001:db8::2] in 89-byte frames with one flow label for both; the A answer is a 105-byte
/// frame, the AAAA one 117 bytes, with one label of the server's; curl gets its page.
#[test]
fn dns_over_ipv6_has_the_references_frames() {
    let src = dual(
        "resolver 2001:db8:1::53",
        "app dns: dns_server { record baidu.com A 10.0.1.80  record baidu.com AAAA 2001:db8:1::80  ttl 0 }
app web: http_server { port 80  body 4KiB }
app client: curl http://baidu.com/ at 3600ms",
    );
    let dir = temp_dir("udp6-dns");
    let ran = run_scenario(
        &load(&src, &[]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    let frames = udp6_frames(&dir.join("client-eth0.pcap"));
    let (client, ns) = (addr("2001:db8::2"), addr("2001:db8:1::53"));
    let queries: Vec<_> = frames.iter().filter(|f| f.1 == client).collect();
    let answers: Vec<_> = frames.iter().filter(|f| f.1 == ns).collect();
    assert_eq!(queries.len(), 2, "{frames:?}");
    assert_eq!(answers.len(), 2, "{frames:?}");
    for q in &queries {
        assert_eq!((q.0, q.2, q.4, q.6), (89, ns, 64, 53), "{q:?}");
        assert_eq!(
            (q.3, q.5),
            (queries[0].3, queries[0].5),
            "one socket, one label"
        );
    }
    assert_ne!(queries[0].3, 0, "auto_flowlabels");
    assert_eq!(
        answers.iter().map(|a| a.0).collect::<Vec<_>>(),
        [105, 117],
        "A then AAAA"
    );
    for a in &answers {
        assert_eq!(
            (a.2, a.4, a.5, a.6),
            (client, 63, 53, queries[0].5),
            "{a:?}"
        );
        assert_eq!(a.3, answers[0].3, "one label for the server's replies");
    }
    assert_ne!(answers[0].3, 0);
    assert_ne!(answers[0].3, queries[0].3);
    // The client read both answers and fetched the page over IPv6 (RFC 6724: ::/0 above
    // ::ffff:0:0/96), as the reference's curl did.
    let curl = ran
        .world
        .app_reports()
        .into_iter()
        .find_map(|(_, r)| match r {
            AppReport::Curl(c) => Some(*c),
            _ => None,
        })
        .expect("curl");
    assert_eq!(
        (curl.http_code, curl.size_download, curl.error),
        (Some(200), 4096, None)
    );
    assert_eq!(curl.remote_ip, Some("2001:db8:1::80".parse().unwrap()));
    let c6 = ran.stats.nodes["client"].snmp6.clone().expect("IPv6 on");
    assert_eq!((c6.udp6.Udp6OutDatagrams, c6.udp6.Udp6InDatagrams), (2, 2));
    let d6 = ran.stats.nodes["dns"].snmp6.clone().expect("IPv6 on");
    assert_eq!((d6.udp6.Udp6InDatagrams, d6.udp6.Udp6OutDatagrams), (2, 2));
    // No DNS went over IPv4.
    assert_eq!(ran.stats.nodes["dns"].udp.InDatagrams, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `udp6_echo`: an `AF_INET6` socket on `[::]:PORT` (dual-stack) that sends each datagram
/// back to its sender and reports the senders it saw.
#[derive(Debug)]
struct Echo6 {
    port: u16,
    sock: Option<SockId>,
    seen: Vec<String>,
    echoed: u64,
}

impl App for Echo6 {
    fn start(&mut self, cx: &mut AppCtx<'_>) {
        let s = cx
            .socket_domain_nonblock(Domain::Inet6, SockType::Dgram, 0)
            .expect("AF_INET6 socket");
        cx.bind(
            s,
            SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), self.port),
        )
        .expect("bind [::]");
        self.sock = Some(s);
    }

    fn wake(&mut self, cx: &mut AppCtx<'_>, sock: SockId) {
        let mut buf = [0u8; 2048];
        while let Ok(m) = cx.recv(sock, &mut buf, MsgFlags::NONE) {
            let from = m.from.expect("a sender");
            let seen = from.to_string();
            if !self.seen.contains(&seen) {
                self.seen.push(seen);
            }
            if cx.sendto(sock, &buf[..m.len], from, MsgFlags::NONE).is_ok() {
                self.echoed += 1;
            }
        }
    }

    fn report(&self, _node: &Node, _now: SimTime) -> AppReport {
        AppReport::User(UserReport {
            app: "udp6_echo".into(),
            summary: format!("udp6_echo: {} echoed", self.echoed),
            fields: vec![
                ("echoed".into(), ReportValue::UInt(self.echoed)),
                (
                    "seen".into(),
                    ReportValue::List(self.seen.iter().cloned().map(ReportValue::Text).collect()),
                ),
            ],
        })
    }
}

fn make_echo(p: &AppProps) -> Result<Box<dyn App>, String> {
    let port = p.int("port").ok_or("port")?;
    Ok(Box::new(Echo6 {
        port: u16::try_from(port).map_err(|e| e.to_string())?,
        sock: None,
        seen: Vec::new(),
        echoed: 0,
    }))
}

/// An IPv4 client talks to a dual-stack socket: the socket sees `::ffff:10.0.0.2`, its
/// answers go out over IPv4 (counted in `Udp`, not `Udp6`), and the client's frames and the
/// answers are plain IPv4 on the wire.
#[test]
fn a_dual_stack_socket_serves_ipv4_clients_v4_mapped() {
    sim_stack::apps::registry::register(AppSpec {
        name: "udp6_echo",
        about: "echoes UDP datagrams from a dual-stack socket",
        props: &[PropSpec {
            name: "port",
            kind: PropKind::Int,
            required: true,
            example: "7",
        }],
        make: make_echo,
    });
    let src = dual(
        "",
        "app web: udp6_echo { port 7 }
app client: udp_cbr { to 10.0.1.80:7  payload 100B  interval 10ms } at 3s until 3.1s",
    );
    let dir = temp_dir("udp6-mapped");
    let ran = run_scenario(
        &load(&src, &[]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    let echo = ran
        .world
        .app_reports()
        .into_iter()
        .find_map(|(_, r)| match r {
            AppReport::User(u) if u.app == "udp6_echo" => Some(u),
            _ => None,
        })
        .expect("echo report");
    let sent = ran.udp_cbr(1).sent;
    assert!(sent >= 10, "{sent}");
    assert_eq!(echo.fields[0].1, ReportValue::UInt(sent));
    let seen = &echo.fields[1].1;
    let ReportValue::List(seen) = seen else {
        panic!("{seen:?}")
    };
    assert_eq!(seen.len(), 1);
    let ReportValue::Text(from) = &seen[0] else {
        panic!()
    };
    assert!(from.starts_with("[::ffff:10.0.0.2]:"), "{from}");
    let web = &ran.stats.nodes["web"];
    assert_eq!((web.udp.InDatagrams, web.udp.OutDatagrams), (sent, sent));
    let w6 = web.snmp6.clone().expect("IPv6 on");
    assert_eq!((w6.udp6.Udp6InDatagrams, w6.udp6.Udp6OutDatagrams), (0, 0));
    // On the client's link: IPv4 both ways, no IPv6 UDP.
    let frames = read_pcap(&dir.join("client-eth0.pcap"));
    let v4_udp = |from: [u8; 4]| {
        frames
            .iter()
            .filter(|r| r.data[12..14] == [8, 0] && r.data[23] == 17 && r.data[26..30] == from)
            .count() as u64
    };
    assert_eq!(v4_udp([10, 0, 0, 2]), sent);
    assert_eq!(v4_udp([10, 0, 1, 80]), sent, "echoes over IPv4");
    assert!(udp6_frames(&dir.join("client-eth0.pcap")).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A datagram to an IPv6 port nobody has: the web host counts `Udp6NoPorts` and answers
/// ICMPv6 port unreachable (type 1 code 4) from the address it was sent to; the connected
/// sender's next send fails with ECONNREFUSED (counted as an error by udp_cbr).
#[test]
fn port_unreachable_over_ipv6() {
    let src = dual(
        "",
        "app client: udp_cbr { to [2001:db8:1::80]:9  payload 100B  interval 100ms } at 3s until 3.35s",
    );
    let dir = temp_dir("udp6-unreach");
    let ran = run_scenario(
        &load(&src, &[]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    let web6 = ran.stats.nodes["web"].snmp6.clone().expect("IPv6 on");
    let c = ran.udp_cbr(0);
    // Sends at 3.0, 3.1, 3.2, 3.3 s: each refused send is the one after an error.
    assert_eq!(c.sent + c.errors, 4, "{c:?}");
    assert!(c.errors >= 1, "{c:?}");
    assert_eq!(web6.udp6.Udp6NoPorts, c.sent);
    let frames = read_pcap(&dir.join("client-eth0.pcap"));
    let unreach: Vec<_> = frames
        .iter()
        .filter(|r| {
            r.data[12..14] == [0x86, 0xdd] && r.data[20] == 58 && r.data[54] == 1 && r.data[55] == 4
        })
        .collect();
    assert_eq!(unreach.len() as u64, c.sent);
    assert_eq!(
        &unreach[0].data[22..38],
        &addr("2001:db8:1::80").octets()[..],
        "from the address the datagram was sent to"
    );
    let lines = ran.lines_with(&["sock udp", "ECONNREFUSED"]);
    assert!(!lines.is_empty(), "{}", ran.trace);
    assert!(lines[0].contains("[2001:db8::2]:"), "{}", lines[0]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// udp_cbr to an IPv6 sink delivers every byte: the sink (an `AF_INET6` socket on `[::]`)
/// counts what the sender sent, and the counters say IPv6.
#[test]
fn udp_cbr_over_ipv6_delivers_its_bytes() {
    let src = dual(
        "",
        "app web: udp_sink { port 5001 }
app client: udp_cbr { to [2001:db8:1::80]:5001  payload 1200B  rate 10Mbit } at 3s until 4s",
    );
    let dir = temp_dir("udp6-cbr");
    let ran = run_scenario(
        &load(&src, &[]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    let c = ran.udp_cbr(1);
    let sink = ran
        .world
        .app_reports()
        .into_iter()
        .find_map(|(_, r)| match r {
            AppReport::UdpSink(s) => Some(s),
            _ => None,
        })
        .expect("sink");
    assert!(c.sent > 1000, "{c:?}");
    assert_eq!((c.errors, c.eagain), (0, 0));
    assert_eq!((sink.received, sink.bytes, sink.lost), (c.sent, c.bytes, 0));
    assert_eq!(c.dst, "[2001:db8:1::80]:5001");
    let c6 = ran.stats.nodes["client"].snmp6.clone().expect("IPv6 on");
    assert_eq!(c6.udp6.Udp6OutDatagrams, c.sent);
    let w6 = ran.stats.nodes["web"].snmp6.clone().expect("IPv6 on");
    assert_eq!(w6.udp6.Udp6InDatagrams, c.sent);
    // 1200 B of payload: 14 + 40 + 8 + 1200 = 1262-byte frames, one label for the flow.
    let frames = udp6_frames(&dir.join("client-eth0.pcap"));
    assert_eq!(frames.len() as u64, c.sent);
    assert!(
        frames
            .iter()
            .all(|f| f.0 == 1262 && f.3 == frames[0].3 && f.3 != 0)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same IPv6 DNS run twice gives the same trace, byte for byte (ports, IDs and flow
/// labels come from the nodes' seeded streams and keys).
#[test]
fn runs_are_deterministic() {
    let src = dual(
        "resolver 2001:db8:1::53",
        "app dns: dns_server { record baidu.com A 10.0.1.80  record baidu.com AAAA 2001:db8:1::80 }
app web: http_server { port 80  body 4KiB }
app client: curl http://baidu.com/ at 3600ms
app client: udp_cbr { to [2001:db8:1::80]:9  payload 100B  interval 100ms } at 3s until 3.35s",
    );
    let sc = load(&src, &[]);
    let a = run_scenario(&sc, None).trace;
    let b = run_scenario(&sc, None).trace;
    assert!(a.contains("AAAA? baidu.com."), "{a}");
    assert_eq!(a, b);
}
