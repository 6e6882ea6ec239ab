//! TCP over IPv6 in whole runs, on `scenarios/dual_stack.net`'s topology:
//!
//! * curl to an IPv6 literal (`http://[2001:db8:1::80]/`) and to an IPv4 one, both served by
//!   the one `http_server` (a listener per family);
//! * happy eyeballs: when the IPv6 connection cannot complete (web has no IPv6 route back),
//!   curl starts IPv4 200 ms after the start and fetches over it;
//! * `tcp_bulk` to an IPv6 `tcp_sink`, every byte acknowledged, in MSS-sized frames.

mod common;

use std::net::IpAddr;

use common::{capture_into, load, read_pcap, run_scenario, temp_dir};
use sim_stack::apps::AppReport;
use sim_stack::capture::CaptureFormat;

/// dual_stack.net's topology; `web_route6` is web's IPv6 route line, `apps` at the end.
fn dual(web_route6: &str, apps: &str) -> String {
    format!(
        "
seed 1
end 5s
host client {{
    iface eth0 {{ ip 10.0.0.2/24  ip6 2001:db8::2/64  mac 02:00:00:00:00:02 }}
    route default via 10.0.0.1
    route6 default via 2001:db8::1
    resolver 10.0.1.53
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
    {web_route6}
}}
link client.eth0 -- r1.eth0 {{ rate 10Gbit  delay 1us }}
link r1.eth1     -- sw0     {{ rate 10Gbit  delay 1us }}
link dns.eth0    -- sw0     {{ rate 10Gbit  delay 1us }}
link web.eth0    -- sw0     {{ rate 10Gbit  delay 1us }}
{apps}
"
    )
}

fn curls(ran: &common::Ran) -> Vec<sim_stack::apps::curl::CurlReport> {
    ran.world
        .app_reports()
        .into_iter()
        .filter_map(|(_, r)| match r {
            AppReport::Curl(c) => Some(*c),
            _ => None,
        })
        .collect()
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("an address")
}

#[test]
fn curl_fetches_over_either_family_from_one_server() {
    let src = dual(
        "route6 default via 2001:db8:1::1",
        "app web: http_server { port 80  body 4KiB }
app client: curl \"http://[2001:db8:1::80]/\" at 3s
app client: curl \"http://10.0.1.80/\" at 4s",
    );
    let ran = run_scenario(&load(&src, &[]), None);
    let c = curls(&ran);
    assert_eq!(c.len(), 2);
    for (r, addr) in c.iter().zip(["2001:db8:1::80", "10.0.1.80"]) {
        assert_eq!(
            (r.http_code, r.size_download, r.error.clone()),
            (Some(200), 4096, None),
            "{r:?}"
        );
        assert_eq!(r.remote_ip, Some(ip(addr)));
    }
    let web = &ran.stats.nodes["web"];
    assert_eq!(web.tcp.PassiveOpens, 2);
}

#[test]
fn happy_eyeballs_falls_back_to_ipv4_after_200ms() {
    // web cannot answer over IPv6 (no route back): the SYN-ACK never leaves.
    let src = dual(
        "",
        "app dns: dns_server { record baidu.com A 10.0.1.80  record baidu.com AAAA 2001:db8:1::80  ttl 0 }
app web: http_server { port 80  body 4KiB }
app client: curl \"http://baidu.com/\" at 3600ms",
    );
    let dir = temp_dir("tcp6-he");
    let ran = run_scenario(
        &load(&src, &[]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    let c = curls(&ran).remove(0);
    assert_eq!((c.http_code, c.error.clone()), (Some(200), None), "{c:?}");
    assert_eq!(c.remote_ip, Some(ip("10.0.1.80")));
    let connect = c.time_connect.expect("connected");
    assert!((0.2..0.201).contains(&connect), "{connect}");
    // On the client's wire: one IPv6 SYN first, the IPv4 SYN 200 ms after the start.
    let syns: Vec<(f64, bool)> = read_pcap(&dir.join("client-eth0.pcap"))
        .into_iter()
        .filter_map(|r| {
            let d = &r.data;
            let (v6, l4) = match d.get(12..14)? {
                [0x86, 0xdd] if d.get(20) == Some(&6) => (true, 54),
                [0x08, 0x00] if d.get(23) == Some(&6) => (false, 34),
                _ => return None,
            };
            let flags = *d.get(l4 + 13)?;
            (flags == 0x02).then_some((r.ts_ns as f64 / 1e9, v6))
        })
        .collect();
    assert!(syns.len() >= 2, "{syns:?}");
    assert!(syns[0].1, "the first SYN is IPv6: {syns:?}");
    let v4 = syns.iter().find(|s| !s.1).expect("an IPv4 SYN");
    assert!((v4.0 - syns[0].0 - 0.2).abs() < 0.001, "{syns:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn tcp_bulk_over_ipv6() {
    let src = dual(
        "route6 default via 2001:db8:1::1",
        "app web: tcp_sink { port 5001 }
app client: tcp_bulk { to [2001:db8:1::80]:5001  bytes 1MB } at 3s",
    );
    let dir = temp_dir("tcp6-bulk");
    let ran = run_scenario(
        &load(&src, &[]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    let bulk = ran
        .world
        .app_reports()
        .into_iter()
        .find_map(|(_, r)| match r {
            AppReport::TcpBulk(b) => Some(*b),
            _ => None,
        })
        .expect("tcp_bulk");
    assert_eq!(bulk.dst, "[2001:db8:1::80]:5001");
    assert_eq!(bulk.bytes_acked, 1_000_000, "{bulk:?}");
    // Full frames on the client's wire: 14 + 40 + 32 + 1428 bytes.
    let sizes: Vec<usize> = read_pcap(&dir.join("client-eth0.pcap"))
        .into_iter()
        .filter(|r| r.data.get(12..14) == Some(&[0x86, 0xdd][..]) && r.data.get(20) == Some(&6))
        .map(|r| r.data.len())
        .collect();
    assert_eq!(sizes.iter().max(), Some(&1514));
    assert!(
        sizes.iter().filter(|&&s| s == 1514).count() >= 690,
        "{}",
        sizes.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
