//! ICMP rate limiting over whole runs: the per-destination token bucket (`icmp_ratelimit`,
//! `inet_peer_xrlim_allow`), the types it applies to (`icmp_ratemask`), and the host-wide
//! limiter (`icmp_msgs_per_sec`, `icmp_msgs_burst`), with the `Icmp` counters Linux moves.

mod common;

use common::{a_r_b, load, run_scenario};

/// a (10.0.0.2) — r — b (10.0.1.2): `app` on a, `sysctl` on r.
fn net(app: &str, sysctl: &str) -> String {
    a_r_b(app, sysctl, "", "1ms", "20s")
}

/// Linux 6.18, `ping -c 10 -i 0.2 -t 1` through a router (veth, namespaces): seven "Time to
/// live exceeded", "10 packets transmitted, 0 received, +7 errors"; the router's nstat:
/// IcmpOutTimeExcds 7, IcmpOutRateLimitHost 3. The peer's bucket starts full at 6 × 250
/// jiffies (`XRLIM_BURST_FACTOR` × `icmp_ratelimit`), each error takes 250 and each 200 ms
/// gives 50 back: 1500, 1300, 1100, 900, 700, 500, 300 pass, then 100, 150, 200 do not.
#[test]
fn ten_ttl_expiring_pings_200ms_apart_get_seven_time_exceeded() {
    let r = run_scenario(
        &load(
            &net("ping 10.0.1.2 { count 10  interval 200ms  ttl 1 }", ""),
            &[],
        ),
        None,
    );
    let p = r.ping(0);
    assert_eq!((p.transmitted, p.received, p.errors), (10, 0, 7), "{p:?}");
    let icmp = &r.stats.nodes["r"].icmp;
    assert_eq!(
        (icmp.OutTimeExcds, icmp.OutMsgs, icmp.OutRateLimitHost),
        (7, 7, 3),
        "{icmp:?}"
    );
    assert_eq!(icmp.OutRateLimitGlobal, 0, "{icmp:?}");
    assert_eq!(r.stats.nodes["r"].ip.InHdrErrors, 10);
}

/// The same ten pings with the router's limits changed: `icmp_ratelimit` 0 turns the
/// destination's bucket off; a `icmp_ratemask` without bit 11 (time exceeded) exempts
/// these errors; 100 ms (25 jiffies) refills faster than 200 ms spends it.
#[test]
fn the_sysctls_change_what_is_limited() {
    for sysctl in [
        "sysctl net.ipv4.icmp_ratelimit = 0",
        "sysctl net.ipv4.icmp_ratemask = 0x8",
        "sysctl net.ipv4.icmp_ratelimit = 100",
    ] {
        let r = run_scenario(
            &load(
                &net("ping 10.0.1.2 { count 10  interval 200ms  ttl 1 }", sysctl),
                &[],
            ),
            None,
        );
        let icmp = &r.stats.nodes["r"].icmp;
        assert_eq!(r.ping(0).errors, 10, "{sysctl}");
        assert_eq!(
            (icmp.OutTimeExcds, icmp.OutRateLimitHost),
            (10, 0),
            "{sysctl}"
        );
    }
    // 2000 ms costs 500 jiffies of a 3000-jiffy bucket that gets 50 back per ping: six pass
    // (3000, 2550, 2100, 1650, 1200, 750 before each), then 300, 350, 400 and 450 are short.
    // Linux 6.18 with `sysctl -w net.ipv4.icmp_ratelimit=2000`: "+6 errors".
    let r = run_scenario(
        &load(
            &net(
                "ping 10.0.1.2 { count 10  interval 200ms  ttl 1 }",
                "sysctl net.ipv4.icmp_ratelimit = 2000",
            ),
            &[],
        ),
        None,
    );
    let icmp = &r.stats.nodes["r"].icmp;
    assert_eq!(
        (icmp.OutTimeExcds, icmp.OutRateLimitHost),
        (6, 4),
        "{icmp:?}"
    );
}

/// Echo replies are not in the default mask: a router answers a ping flood in full.
#[test]
fn echo_replies_are_not_limited() {
    let r = run_scenario(
        &load(&net("ping 10.0.0.1 { count 300  interval 10ms }", ""), &[]),
        None,
    );
    assert_eq!(r.ping(0).received, 300);
    let icmp = &r.stats.nodes["r"].icmp;
    assert_eq!(
        (
            icmp.OutEchoReps,
            icmp.OutRateLimitGlobal,
            icmp.OutRateLimitHost
        ),
        (300, 0, 0)
    );
}

/// The host-wide limit: 10 000 datagrams a second to a closed port of `b`, whose own
/// destination bucket is off (`icmp_ratelimit` 0), get about `icmp_msgs_burst` +
/// `icmp_msgs_per_sec` port unreachables in that second, one credit each on average: Linux
/// 6.18 (10 011 datagrams from a namespace, one second) sent 1071 and counted 8940 in
/// `IcmpOutRateLimitGlobal`. The ECONNREFUSED each one brings back to the connected sender
/// costs it a datagram, so fewer than 10 000 arrive here.
#[test]
fn the_host_wide_limit_holds_a_flood_to_about_msgs_per_sec() {
    let src = a_r_b(
        "udp_cbr { to 10.0.1.2:9  payload 1B  interval 100us } until 2s",
        "",
        "sysctl net.ipv4.icmp_ratelimit = 0",
        "1ms",
        "20s",
    );
    let r = run_scenario(&load(&src, &[]), None);
    let b = &r.stats.nodes["b"];
    let (sent, limited) = (b.icmp.OutDestUnreachs, b.icmp.OutRateLimitGlobal);
    assert_eq!(sent + limited, b.udp.NoPorts, "{:?}", b.icmp);
    assert_eq!(b.icmp.OutRateLimitHost, 0);
    assert!((950..=1150).contains(&sent), "{:?}", b.icmp);
    assert!(b.udp.NoPorts > 8000, "{:?}", b.udp);
}
