//! The kernel's scripts against the simulated host: the ones listed in
//! `expected-pass.txt` pass, a broken copy of one fails in packetdrill's words, what the
//! host does not model is unsupported with its reason, and blocking calls return at the
//! instant Linux would return them.

mod common;

use std::path::Path;

use core::net::Ipv4Addr;

use sim_core::{SimDuration, SimTime};
use sim_drill::ast::{IpInfo, TcpOptionSpec, TcpSpec};
use sim_drill::config::{DrillConfig, IpVersion};
use sim_drill::host::{
    Buffer, DrillHost, Inbound, OptVal, SockAddr, Syscall, SyscallOutcome, SyscallReturn, TunSetup,
};
use sim_drill::model;
use sim_drill::packet::Segment;
use sim_drill::report::Outcome;
use sim_drill::runner::{self, Verdict};
use sim_drill::sim_host::{SimHost, run_script, script_versions};
use sim_dsl::diag::{FileId, Span};

use common::{scripts, shared};

/// The runs `expected-pass.txt` lists: `SCRIPT VERSION…` a line.
fn expected_pass() -> Vec<(String, IpVersion)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("expected-pass.txt");
    let mut out = Vec::new();
    for l in std::fs::read_to_string(path)
        .expect("read expected-pass.txt")
        .lines()
    {
        let mut w = l.split('#').next().unwrap_or("").split_whitespace();
        let Some(name) = w.next() else { continue };
        for v in w {
            out.push((
                name.to_string(),
                IpVersion::from_name(v).expect("an IP version"),
            ));
        }
    }
    out
}

#[test]
fn every_kernel_script_runs_and_the_expected_ones_pass() {
    let expected = expected_pass();
    assert!(expected.len() >= 72, "the list holds what passes");
    let mut rows = Vec::new();
    for path in scripts() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            script_versions(&path),
            [IpVersion::V4, IpVersion::V6],
            "{name}: no --ip_version line, so both"
        );
        for v in [IpVersion::V4, IpVersion::V6] {
            let r = run_script(&path, v, &[]);
            assert!(
                !matches!(r.outcome, Outcome::Invalid(_)),
                "{name} {}: {:?}",
                v.name(),
                r.outcome
            );
            if expected.contains(&(name.clone(), v)) {
                assert_eq!(r.outcome, Outcome::Pass, "{name} {}", v.name());
                let report = r.report.expect("it ran");
                assert!(
                    !report.exchange.is_empty(),
                    "{name}: packets were exchanged"
                );
                // Every TCP packet of the run is of the run's family.
                let family = if v == IpVersion::V6 { 6 } else { 4 };
                for c in &report.exchange {
                    assert_eq!(c.bytes[0] >> 4, family, "{name} {}", v.name());
                }
            }
            rows.push((name.clone(), v, r.outcome));
        }
    }
    for (name, v) in &expected {
        assert!(
            rows.iter().any(|(n, rv, _)| n == name && rv == v),
            "{name} is a kernel script"
        );
    }
    // The same run twice gives the same exchange, byte for byte and instant for instant.
    let p = shared().join("tcp_blocking_blocking-read.pkt");
    for v in [IpVersion::V4, IpVersion::V6] {
        let a = run_script(&p, v, &[]).report.expect("ran").exchange;
        let b = run_script(&p, v, &[]).report.expect("ran").exchange;
        assert_eq!(a, b);
    }
}

/// `tcp_basic_client.pkt` with `from` replaced by `to`, run against the simulated host.
fn broken_basic_client(from: &str, to: &str) -> Verdict {
    broken_copy("tcp_basic_client.pkt", from, to)
}

/// Kernel script `name` with `from` replaced by `to`, run against the simulated host.
fn broken_copy(name: &str, from: &str, to: &str) -> Verdict {
    let path = shared().join(name);
    let text = std::fs::read_to_string(&path).expect("read the script");
    assert!(text.contains(from), "{from:?} is in the script");
    let p = model::load_str(
        &path,
        &text.replacen(from, to, 1),
        DrillConfig::ksft_ipv4(),
        &[],
    )
    .unwrap_or_else(|e| panic!("{}", e.render()));
    runner::run(&p, &mut SimHost::new()).verdict
}

#[test]
fn a_broken_copy_of_a_passing_script_fails_in_packetdrills_words() {
    let dir = format!("{}/", shared().display());
    let fail = |v: Verdict| match v {
        Verdict::Fail(m) => m.replace(&dir, ""),
        other => panic!("expected a failure, got {other:?}"),
    };
    // The host pushes its data (PSH); the script says it does not.
    let m = fail(broken_basic_client(
        "+0 > P. 1:1001(1000) ack 1",
        "+0 > . 1:1001(1000) ack 1",
    ));
    assert_eq!(
        m.lines().next(),
        Some(
            "tcp_basic_client.pkt:18: error handling packet: live packet field tcp_psh: expected: 0 (0x0) vs actual: 1 (0x1)"
        ),
        "{m}"
    );
    assert!(
        m.contains("script packet:  0.000000 . 1:1001(1000) ack 1"),
        "{m}"
    );
    // The send returns what it copied.
    let m = fail(broken_basic_client(
        "send(4, ..., 1000, 0) = 1000",
        "send(4, ..., 1000, 0) = 999",
    ));
    assert_eq!(
        m,
        "tcp_basic_client.pkt:17: runtime error in send call: Expected result 999 but got 1000 with errno 0 (Success)"
    );
    // The SYN announces the MSS the route allows.
    let m = fail(broken_basic_client("<mss 1460,sackOK", "<mss 1400,sackOK"));
    assert!(
        m.starts_with(
            "tcp_basic_client.pkt:12: error handling packet: bad value in outbound TCP option (kind=2): expected: mss 1400 actual: mss 1460"
        ),
        "{m}"
    );
    // A packet the host never sends: what comes next is the FIN again, when the
    // retransmission timer (200 ms, on the timer wheel, whose ticks fall half a jiffy off
    // packetdrill's instants) fires.
    let m = fail(broken_basic_client(
        "+0 > F. 1001:1001(0) ack 1",
        "+0 > F. 1001:1001(0) ack 1\n   +0 > . 1002:1002(0) ack 1",
    ));
    assert!(
        m.starts_with(
            "tcp_basic_client.pkt:23: error handling packet: live packet field tcp_fin: expected: 0 (0x0) vs actual: 1 (0x1)"
        ),
        "{m}"
    );
    assert!(
        m.contains("actual packet:  0.206000 F. 1001:1001(0) ack 1"),
        "{m}"
    );
}

#[test]
fn a_broken_fast_open_script_fails_in_packetdrills_words() {
    // Both messages are the real packetdrill's against Linux 6.18 on the same edits.
    let name = "tcp_syscall_bad_arg_fastopen-invalid-buf-ptr.pkt";
    let dir = format!("{}/", shared().display());
    let fail = |v: Verdict| match v {
        Verdict::Fail(m) => m.replace(&dir, ""),
        other => panic!("expected a failure, got {other:?}"),
    };
    // The first SYN asks for a cookie (an empty option); the script wants one sent.
    let m = fail(broken_copy(
        name,
        "wscale 8,FO,nop,nop>",
        "wscale 8,FO abcd1234,nop,nop>",
    ));
    assert!(
        m.starts_with(&format!(
            "{name}:12: error handling packet: live packet field ipv4_total_length: expected: 60 (0x3c) vs actual: 56 (0x38)"
        )),
        "{m}"
    );
    assert!(
        m.contains("actual packet:  0.000000 S 0:0(0) win 65535 <mss 1460,nop,nop,sackOK,nop,wscale 8,FO,nop,nop>"),
        "{m}"
    );
    // Nothing can be read from NULL: the SYN goes without data, the call is under way.
    let m = fail(broken_copy(
        name,
        "sendto(4, NULL, 1, MSG_FASTOPEN, ..., ...) = -1",
        "sendto(4, NULL, 1, MSG_FASTOPEN, ..., ...) = -1 EFAULT (Bad address)",
    ));
    assert_eq!(
        m,
        format!(
            "{name}:23: runtime error in sendto call: Expected errno 14 (Bad address) but got 115 (Operation now in progress)"
        )
    );
}

#[test]
fn fast_open_client_scripts_checked_against_linux_pass() {
    // tests/fastopen: scripts that pass against Linux 6.18.44 with the real packetdrill. Run
    // from the kernel scripts' folder, for their `./defaults.sh`.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fastopen");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/fastopen")
        .map(|e| e.expect("an entry").path())
        .collect();
    names.sort();
    assert_eq!(names.len(), 11);
    for script in names {
        let name = script.file_name().unwrap().to_owned();
        let text = std::fs::read_to_string(&script).expect("read the script");
        let p = model::load_str(&shared().join(&name), &text, DrillConfig::ksft_ipv4(), &[])
            .unwrap_or_else(|e| panic!("{}", e.render()));
        let v = runner::run(&p, &mut SimHost::new()).verdict;
        assert_eq!(v, Verdict::Pass, "{}", script.display());
    }
}

#[test]
fn what_the_host_does_not_model_is_unsupported_with_the_reason() {
    // Accurate ECN: a copy of the kernel's ECN script asking for it.
    let text = std::fs::read_to_string(shared().join("tcp_ecn_ecn-uses-ect0.pkt"))
        .expect("read")
        .replace("tcp_ecn=1", "tcp_ecn=3");
    let dir = std::env::temp_dir().join(format!("sim-drill-accecn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::copy(shared().join("defaults.sh"), dir.join("defaults.sh")).expect("copy");
    let path = dir.join("accecn.pkt");
    std::fs::write(&path, text).expect("write");
    let r = run_script(&path, IpVersion::V4, &[]);
    let _ = std::fs::remove_dir_all(&dir);
    match r.outcome {
        Outcome::Unsupported(m) => assert!(
            m.contains(
                "sysctl net.ipv4.tcp_ecn=3: Accurate ECN (AccECN, tcp_ecn 3 to 5) is not modeled"
            ),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    // Server-side Fast Open.
    let name = "tcp_syscall_bad_arg_fastopen-invalid-buf-ptr.pkt";
    let v = broken_copy(
        name,
        "+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN_CONNECT, [1], 4) = 0",
        "+0 setsockopt(3, SOL_TCP, TCP_FASTOPEN, [1], 4) = 0",
    );
    match v {
        Verdict::Unsupported(m) => assert!(
            m.contains("setsockopt TCP_FASTOPEN: server-side TCP Fast Open"),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
    let v = broken_copy(
        name,
        "/proc/sys/net/ipv4/tcp_timestamps=0",
        "/proc/sys/net/ipv4/tcp_timestamps=0 /proc/sys/net/ipv4/tcp_fastopen=0x401",
    );
    match v {
        Verdict::Unsupported(m) => assert!(m.contains("server-side TCP Fast Open"), "{m}"),
        other => panic!("{other:?}"),
    }
    // Receive timestamps are not modeled.
    let v = broken_copy(
        "tcp_timestamping_partial.pkt",
        "SOF_TIMESTAMPING_SOFTWARE |",
        "SOF_TIMESTAMPING_SOFTWARE | SOF_TIMESTAMPING_RX_SOFTWARE |",
    );
    match v {
        Verdict::Unsupported(m) => assert!(
            m.contains(
                "setsockopt SO_TIMESTAMPING: SOF_TIMESTAMPING_RX_SOFTWARE: receive timestamps \
                 are not modeled"
            ),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
}

/// What the real kernel's packetdrill said (Linux 6.18, this machine) for each broken copy
/// of the timestamping script, but for the wall-clock instants of the timestamp message.
#[test]
fn a_wrong_timestamp_expectation_fails_in_packetdrills_words() {
    let dir = format!("{}/", shared().display());
    let name = "tcp_timestamping_client-only-last-byte.pkt";
    let fail = |from: &str, to: &str| match broken_copy(name, from, to) {
        Verdict::Fail(m) => m.replace(&dir, ""),
        other => panic!("expected a failure, got {other:?}"),
    };
    let first_key = "ee_data=10999}}\n\t\t    ]}, MSG_ERRQUEUE) = 0\n// SCM_TSTAMP_SND";
    assert_eq!(
        fail(first_key, &first_key.replace("10999", "11000")),
        format!(
            "{name}:42: runtime error in recvmsg call: Bad data in extended err 1: expected=11000 actual=10999"
        )
    );
    assert_eq!(
        fail("ee_info=SCM_TSTAMP_SCHED", "ee_info=SCM_TSTAMP_SND"),
        format!(
            "{name}:42: runtime error in recvmsg call: Bad info in extended err 1: expected=0 actual=1"
        )
    );
    assert_eq!(
        fail("msg_flags=MSG_ERRQUEUE|MSG_TRUNC", "msg_flags=MSG_ERRQUEUE"),
        format!(
            "{name}:42: runtime error in recvmsg call: Expected msg_flags 0x00002000 but got 0x00002020"
        )
    );
    // The SCHED stamp is taken at 20 ms, when the last byte's segment is sent.
    assert_eq!(
        fail("scm_nsec=20000000", "scm_nsec=25000000"),
        format!(
            "{name}:42: runtime error in recvmsg call: Bad timestamp 0 in scm_timestamping 0: expected=25000 (25000) actual=20000 (20000) start=0"
        )
    );
    // Three stamps, then the queue is empty.
    let last =
        "ee_info=SCM_TSTAMP_ACK,\n\t\t\t\t    ee_data=10999}}\n\t\t    ]}, MSG_ERRQUEUE) = 0";
    let more = format!(
        "{last}\n   +0 recvmsg(3, {{msg_name(...)=..., msg_iov(1)=[{{...,0}}], msg_flags=0}}, MSG_ERRQUEUE) = 0"
    );
    assert_eq!(
        fail(last, &more),
        format!(
            "{name}:93: runtime error in recvmsg call: Expected result 0 but got -1 with errno 11 (Resource temporarily unavailable)"
        )
    );
}

/// A TCP segment from the peer (192.0.2.1:40000) to the host's port 8080.
fn from_peer(flags: &str, seq: u32, ack: u32, options: Vec<TcpOptionSpec>) -> Inbound {
    let spec = TcpSpec {
        ports: Some((40000, 8080)),
        flags: flags.into(),
        flags_span: Span::new(FileId(0), 0, 0),
        seq,
        len: 0,
        ack,
        win: Some(65535),
        urg: 0,
        options: Some(options),
        options_span: None,
    };
    let mut s = Segment::from_script(&spec, &IpInfo::default());
    s.src = Ipv4Addr::new(192, 0, 2, 1).into();
    s.dst = Ipv4Addr::new(192, 168, 0, 1).into();
    s.ttl = 64;
    Inbound {
        bytes: s.emit(),
        gso_size: None,
    }
}

fn done(o: SyscallOutcome) -> SyscallReturn {
    match o {
        SyscallOutcome::Done(r) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_blocking_write_copies_what_fits_waits_for_room_and_returns_with_the_last_byte() {
    let mut h = SimHost::new();
    let c = DrillConfig::ksft_ipv4();
    h.setup(&TunSetup::of(&c)).expect("set up");
    let l = done(h.syscall(&Syscall::Socket {
        domain: 2,
        ty: 1,
        protocol: 6,
    }))
    .ret as i32;
    assert_eq!(l, 3, "the lowest free descriptor from 3");
    let local = SockAddr {
        ip: c.local_ip,
        port: 8080,
    };
    done(h.syscall(&Syscall::Bind { fd: l, addr: local }));
    done(h.syscall(&Syscall::Listen { fd: l, backlog: 1 }));
    h.inject(&from_peer("S", 0, 0, vec![TcpOptionSpec::Mss(1000)]))
        .expect("carried");
    let synack = Segment::parse(&h.take_outbound()[0].bytes).expect("a SYN-ACK");
    let mut acked = synack.seq.wrapping_add(1);
    h.inject(&from_peer(".", 1, acked, vec![]))
        .expect("carried");
    let fd = done(h.syscall(&Syscall::Accept { fd: l })).ret as i32;
    // The smallest send buffer: 4608 bytes, doubled.
    let r = done(h.syscall(&Syscall::Setsockopt {
        fd,
        level: 1,
        name: 7,
        value: OptVal::Int(1),
        optlen: 4,
    }));
    assert_eq!(r.ret, 0);
    let id = match h.syscall(&Syscall::Write {
        fd,
        buf: Buffer {
            null: false,
            len: 30_000,
        },
    }) {
        SyscallOutcome::Blocked(id) => id,
        other => panic!("the write must block: {other:?}"),
    };
    // The peer ACKs all it got every 10 ms; the write returns when its last byte is
    // queued, at the instant of the ACK that made room for it.
    let mut sent = 0usize;
    for round in 1..=100 {
        for o in h.take_outbound() {
            sent += Segment::parse(&o.bytes).expect("TCP").payload.len();
        }
        let t = SimTime::from_nanos(0) + SimDuration::from_millis(10 * round);
        h.advance_to(t);
        acked = synack.seq.wrapping_add(1).wrapping_add(sent as u32);
        h.inject(&from_peer(".", 1, acked, vec![]))
            .expect("carried");
        let c = h.take_completions();
        if let Some(c) = c.first() {
            assert_eq!(c.id, id);
            assert_eq!(c.ret.ret, 30_000, "all of it, copied in parts");
            assert_eq!(c.time, t, "returns at the ACK that made room");
            assert!(round > 1, "it waited for room more than once");
            return;
        }
    }
    panic!("the write never returned ({sent} bytes sent)");
}

/// The IPv6 host is set up as packetdrill's tun0 is on Linux: a random link-local address
/// that needs no DAD (`IFF_NOARP`), whose completion sends one Router Solicitation (no
/// source link-layer address option: tun has none) at once; no Neighbour Solicitation and
/// no MLD report ever leave. The kernel's client script passes beside it.
#[test]
fn the_ipv6_tun_sends_one_router_solicitation_and_no_ndp() {
    let r = run_script(&shared().join("tcp_basic_client.pkt"), IpVersion::V6, &[]);
    assert_eq!(r.outcome, Outcome::Pass);
    let ex = r.report.expect("ran").exchange;
    let icmp: Vec<_> = ex.iter().filter(|c| c.bytes[6] == 58).collect();
    assert_eq!(icmp.len(), 1, "one ICMPv6 packet in a run under 4 s");
    let rs = &icmp[0].bytes;
    assert_eq!(icmp[0].time, SimTime::ZERO);
    // 40 + 8 bytes: type 133, no option; hop limit 255; from fe80::/64 to ff02::2.
    assert_eq!((rs.len(), rs[40], rs[7]), (48, 133, 255));
    assert_eq!(&rs[8..16], &[0xfe, 0x80, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        &rs[24..40],
        &"ff02::2".parse::<core::net::Ipv6Addr>().unwrap().octets()
    );
    // Every TCP packet goes between the ksft addresses.
    for c in ex.iter().filter(|c| c.bytes[6] == 6) {
        let s = Segment::parse(&c.bytes).expect("TCP");
        let ends = [s.src.to_string(), s.dst.to_string()];
        assert!(
            ends.contains(&"fd3d:a0b:17d6::1".to_string())
                && ends.contains(&"fd3d:fa7b:d17d::1".to_string()),
            "{ends:?}"
        );
    }
}

/// The runner checks IPv6 flow labels as packetdrill's `verify_outbound_live_ipv6_flowlabel`:
/// the same live label for the same script label, another for another; the stack keeps one
/// label per connection, as Linux does (both verdicts checked on Linux 6.18).
#[test]
fn flow_labels_are_mapped_per_socket() {
    let own = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/ipv6-tclass-flowlabel.pkt");
    let text = std::fs::read_to_string(&own).expect("read");
    let dir = std::env::temp_dir().join(format!("sim-drill-flowlabel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::copy(shared().join("defaults.sh"), dir.join("defaults.sh")).expect("copy");
    let path = dir.join("fl.pkt");
    std::fs::write(&path, &text).expect("write");
    assert_eq!(script_versions(&path), [IpVersion::V6]);
    assert_eq!(run_script(&path, IpVersion::V6, &[]).outcome, Outcome::Pass);
    let other = text.replace("> (flowlabel 0x1) P. 101", "> (flowlabel 0x2) P. 101");
    assert_ne!(other, text);
    std::fs::write(&path, other).expect("write");
    let r = run_script(&path, IpVersion::V6, &[]);
    let _ = std::fs::remove_dir_all(&dir);
    match r.outcome {
        Outcome::Fail(m) => assert!(
            m.contains(
                ":20: error handling packet: expected a different flowlabel but got the same"
            ),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
}

/// packetdrill's `--ip_version=ipv4-mapped-ipv6`: AF_INET6 sockets bound and connected to
/// v4-mapped addresses, IPv4 on the wire. The kernel's client script passes; a timestamping
/// script, whose control buffer is sized for `IP_RECVERR`, gets the larger `IPV6_RECVERR`
/// message truncated (`MSG_CTRUNC`), failing with the words Linux 6.18 fails it with.
#[test]
fn ipv4_mapped_ipv6_runs_af_inet6_sockets_over_ipv4() {
    let r = run_script(
        &shared().join("tcp_basic_client.pkt"),
        IpVersion::V4MappedV6,
        &[],
    );
    assert_eq!(r.outcome, Outcome::Pass);
    let ex = r.report.expect("ran").exchange;
    assert!(ex.iter().all(|c| c.bytes[0] >> 4 == 4), "IPv4 only, no RS");
    let r = run_script(
        &shared().join("tcp_timestamping_partial.pkt"),
        IpVersion::V4MappedV6,
        &[],
    );
    match r.outcome {
        Outcome::Fail(m) => assert!(
            m.ends_with(
                "tcp_timestamping_partial.pkt:40: runtime error in recvmsg call: Expected msg_flags 0x00002020 but got 0x00002028"
            ),
            "{m}"
        ),
        other => panic!("{other:?}"),
    }
}
