//! `ping`'s iputils options over whole runs: `ttl` (-t), `pmtudisc` (-M), `timeout` (-W) and
//! `deadline` (-w), and when ping stops counting. Each expected value is what iputils 20221126
//! printed on Linux 6.18 in network namespaces (a — r — b over veth, the same addresses).

mod common;

use common::{a_r_b, capture_into, load, read_pcap, run_scenario, temp_dir};
use sim_stack::capture::CaptureFormat;

/// a (10.0.0.2) — r — b (10.0.1.2): `app` on a, `b_extra` in b's block.
fn net(app: &str, b_extra: &str, link_delay: &str) -> String {
    a_r_b(app, "", b_extra, link_delay, "40s")
}

/// `ping -c 3 -t 1 10.0.1.2`: "From 10.0.0.1 icmp_seq=N Time to live exceeded" three times;
/// "3 packets transmitted, 0 received, +3 errors, 100% packet loss".
#[test]
fn ttl_1_expires_at_the_router() {
    let r = run_scenario(
        &load(&net("ping 10.0.1.2 { count 3  ttl 1 }", "", "1ms"), &[]),
        None,
    );
    let p = r.ping(0);
    assert_eq!((p.transmitted, p.received, p.errors), (3, 0, 3), "{p:?}");
    assert_eq!(
        p.error.as_deref(),
        Some("From 10.0.0.1 icmp_seq=3 Time to live exceeded")
    );
    let rs = &r.stats.nodes["r"];
    assert_eq!((rs.icmp.OutTimeExcds, rs.ip.InHdrErrors), (3, 3));
    assert_eq!(r.stats.nodes["b"].ip.InReceives, 0);
    // TTL 2 gets through (and the replies come back with b's TTL 64 less one hop).
    let r = run_scenario(
        &load(&net("ping 10.0.1.2 { count 3  ttl 2 }", "", "1ms"), &[]),
        None,
    );
    assert_eq!((r.ping(0).received, r.ping(0).errors), (3, 0));
    assert_eq!(r.lines_with(&["a ping 64 bytes", "ttl=63"]).len(), 3);
}

/// `ping -c 2 -M do -s 2000`: two "local error: message too long, mtu=1500", nothing on the
/// wire and no counter moved; "2 packets transmitted, 0 received, +2 errors".
#[test]
fn pmtudisc_do_fails_locally_above_the_mtu() {
    let r = run_scenario(
        &load(
            &net(
                "ping 10.0.1.2 { count 2  interval 200ms  size 2000B  pmtudisc do }",
                "",
                "1ms",
            ),
            &[],
        ),
        None,
    );
    let p = r.ping(0);
    assert_eq!((p.transmitted, p.received, p.errors), (2, 0, 2), "{p:?}");
    assert_eq!(
        p.error.as_deref(),
        Some("local error: message too long, mtu=1500")
    );
    let a = &r.stats.nodes["a"];
    assert_eq!(
        (a.ip.OutRequests, a.ip.OutDiscards, a.icmp.OutMsgs),
        (0, 0, 0)
    );
    assert!(r.lines_with(&["a eth0 tx"]).is_empty(), "{}", r.trace);
    // Within the MTU, "do" sends with DF and IP ID 0 (ip_select_ident_segs).
    let (r, ids) = a_ids_and_df(&net("ping 10.0.1.2 { count 1  pmtudisc do }", "", "1ms"));
    assert_eq!(r.ping(0).received, 1);
    assert_eq!(ids, vec![(0, true)]);
}

/// `-M dont` sends without DF; "want" (the default) with DF when the datagram fits and
/// fragments without DF when it does not.
#[test]
fn pmtudisc_dont_and_want() {
    let (r, ids) = a_ids_and_df(&net("ping 10.0.1.2 { count 1  pmtudisc dont }", "", "1ms"));
    assert_eq!(r.ping(0).received, 1);
    assert_eq!(ids.len(), 1);
    assert!(!ids[0].1, "no DF with -M dont");
    let (r, ids) = a_ids_and_df(&net("ping 10.0.1.2 { count 1 }", "", "1ms"));
    assert_eq!(r.ping(0).received, 1);
    assert!(ids[0].1 && ids[0].0 != 0, "DF, hashed ID: {ids:?}");
    let (r, ids) = a_ids_and_df(&net("ping 10.0.1.2 { count 1  size 2000B }", "", "1ms"));
    assert_eq!(r.ping(0).received, 1);
    assert_eq!(r.stats.nodes["a"].ip.FragCreates, 2);
    assert!(
        ids.iter().all(|&(_, df)| !df),
        "fragments have no DF: {ids:?}"
    );
}

/// Runs `src` with a capture; the IP ID and DF of every IPv4 frame `a` sent on eth0.
fn a_ids_and_df(src: &str) -> (common::Ran, Vec<(u16, bool)>) {
    let dir = temp_dir("ping-ids");
    let r = run_scenario(
        &load(src, &[]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    let ids = read_pcap(&dir.join("a-eth0.pcap"))
        .iter()
        .filter(|f| f.data[12..14] == [0x08, 0x00] && f.data[26..30] == [10, 0, 0, 2])
        .map(|f| {
            (
                u16::from_be_bytes([f.data[18], f.data[19]]),
                f.data[20] & 0x40 != 0,
            )
        })
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    (r, ids)
}

/// `ping -c 3 -w 10` with the first request lost: it keeps sending past the count until 3
/// replies came, "4 packets transmitted, 3 received, 25% packet loss"; without `-w`, "3
/// packets transmitted, 2 received".
#[test]
fn deadline_keeps_sending_until_count_replies() {
    let drop_first = "netfilter input drop proto icmp every 1000000 packet 0";
    let r = run_scenario(
        &load(
            &net("ping 10.0.1.2 { count 3  deadline 10s }", drop_first, "1ms"),
            &[],
        ),
        None,
    );
    let p = r.ping(0);
    assert_eq!((p.transmitted, p.received), (4, 3), "{p:?}");
    assert_eq!(p.loss_percent, 25.0);
    assert_eq!(p.time_ms, 3000);
    let r = run_scenario(
        &load(&net("ping 10.0.1.2 { count 3 }", drop_first, "1ms"), &[]),
        None,
    );
    let p = r.ping(0);
    assert_eq!((p.transmitted, p.received), (3, 2), "{p:?}");
}

/// `ping -c 5 -w 10 -t 1`: the first error ends it: "1 packets transmitted, 0 received, +1
/// errors". Without a count, `-w 3.5` ends it after 4 requests a second apart.
#[test]
fn deadline_ends_at_the_first_error_and_at_its_time() {
    let r = run_scenario(
        &load(
            &net("ping 10.0.1.2 { count 5  ttl 1  deadline 10s }", "", "1ms"),
            &[],
        ),
        None,
    );
    let p = r.ping(0);
    assert_eq!((p.transmitted, p.received, p.errors), (1, 0, 1), "{p:?}");
    let r = run_scenario(
        &load(&net("ping 10.0.1.2 { deadline 3500ms }", "", "1ms"), &[]),
        None,
    );
    let p = r.ping(0);
    assert_eq!((p.transmitted, p.received), (4, 4), "{p:?}");
    assert_eq!(
        r.lines_with(&["a eth0 tx 98 IP 10.0.0.2 > 10.0.1.2"]).len(),
        4
    );
}

/// `-W`: after the last request, with no reply yet, ping waits the timeout and no longer.
/// Over links of 1 s each way the reply comes 4 s after the request: `timeout 3s` exits
/// first (0 received), the default 10 s waits for it.
#[test]
fn timeout_bounds_the_wait_for_a_late_reply() {
    let r = run_scenario(
        &load(&net("ping 10.0.1.2 { count 1  timeout 3s }", "", "1s"), &[]),
        None,
    );
    let p = r.ping(0);
    assert_eq!((p.transmitted, p.received), (1, 0), "{p:?}");
    // The reply did arrive; the socket was closed, so ping_rcv found nobody.
    assert_eq!(r.stats.nodes["a"].icmp.InEchoReps, 1);
    let r = run_scenario(
        &load(&net("ping 10.0.1.2 { count 1 }", "", "1s"), &[]),
        None,
    );
    assert_eq!(r.ping(0).received, 1);
    // Once a reply came before the last request, ping waits two of the longest RTTs (at
    // least one interval) after it, whatever the timeout. The first RTT is 8 s (ARP on both
    // hops, 2 s each), so with requests 10 s apart the second one's reply, 4 s later, is
    // counted even with `timeout 1s`; with 5 s apart no reply has come when the second
    // request leaves, so the timeout applies and both replies are missed.
    let ping = |interval: &str| {
        let app = format!("ping 10.0.1.2 {{ count 2  interval {interval}  timeout 1s }}");
        run_scenario(&load(&net(&app, "", "1s"), &[]), None).ping(0)
    };
    let p = ping("10s");
    // Four hops of 1 s plus 9.76 µs (98 + 24 bytes at 100 Mbit/s); the first also waits for
    // two ARP exchanges (four hops of 1 s plus 6.72 µs).
    assert_eq!(p.rtts_ns, vec![8_000_065_920, 4_000_039_040], "{p:?}");
    assert_eq!(ping("5s").received, 0);
}

/// The summary figures iputils prints: mdev and pipe.
#[test]
fn summary_figures() {
    let r = run_scenario(
        &load(&net("ping 10.0.1.2 { count 4 }", "", "1ms"), &[]),
        None,
    );
    let p = r.ping(0);
    assert_eq!((p.transmitted, p.received, p.pipe), (4, 4, 1));
    let (min, max) = (p.rtt_min_ns.unwrap(), p.rtt_max_ns.unwrap());
    // The first RTT includes ARP at both hops; the mdev of one slow and three equal samples
    // of difference d is d·√3/4.
    let d = (max - min) as f64;
    let mdev = p.rtt_mdev_ns.unwrap() as f64;
    assert!((mdev - d * 3f64.sqrt() / 4.0).abs() < 2.0, "{p:?}");
    assert_eq!(p.time_ms, 3000);
}

/// A request the qdisc drops is `ENOBUFS` from the ping socket (`ping_v4_sendmsg` returns what
/// `ip_push_pending_frames` says, `Ip OutDiscards`); iputils does not count it as sent and
/// sends the same sequence number again half an interval later (at least 10 ms). Five
/// 1400-byte requests 1 ms apart into a one-descriptor ring and a one-packet pfifo at 1 Mbit/s
/// (11.5 ms a frame): every request leaves once, in order, after some refusals.
#[test]
fn a_request_the_qdisc_drops_is_sent_again() {
    let src = "
end 5s
host a { iface eth0 { ip 10.0.0.1/24  tx_ring 1  qdisc pfifo limit 1 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Mbit  delay 1ms }
app a: ping 10.0.0.2 { count 1 } at 10ms
app a: ping 10.0.0.2 { count 5  interval 1ms  size 1400B } at 1s
";
    let dir = temp_dir("ping-enobufs");
    let r = run_scenario(
        &load(src, &[]),
        Some(capture_into(&dir, CaptureFormat::Pcap)),
    );
    let p = r.ping(1);
    assert_eq!((p.transmitted, p.received, p.errors), (5, 5, 0), "{p:?}");
    let drops = r.iface("a", "eth0").qdisc.stats.drops;
    assert!(drops > 0, "the qdisc refused some");
    assert_eq!(r.stats.nodes["a"].ip.OutDiscards, drops);
    // The echo requests of the second ping on the wire: sequence numbers 1 to 5, once each.
    let seqs: Vec<u16> = read_pcap(&dir.join("a-eth0.pcap"))
        .iter()
        .filter(|f| f.data.len() > 1400 && f.data[12..14] == [0x08, 0x00] && f.data[34] == 8)
        .map(|f| u16::from_be_bytes([f.data[40], f.data[41]]))
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(seqs, vec![1, 2, 3, 4, 5]);
}
