//! The runner against a fake kernel: kernel scripts that pass, and a script that must fail
//! failing with packetdrill's message, in each of packetdrill's ways.

mod common;
mod fake;

use sim_core::SimDuration;
use sim_drill::command::HostAction;
use sim_drill::config::DrillConfig;
use sim_drill::model::{self, Program};
use sim_drill::runner::{self, Verdict};

use common::shared;
use fake::{FakeHost, Quirks};

/// A script given as text, located in the shared folder (for `./defaults.sh`).
fn program(name: &str, text: &str) -> Program {
    let path = shared().join(name);
    model::load_str(&path, text, DrillConfig::ksft_ipv4(), &[])
        .unwrap_or_else(|e| panic!("{}", e.render()))
}

fn kernel_script(name: &str) -> Program {
    model::load(&shared().join(name), DrillConfig::ksft_ipv4(), &[])
        .unwrap_or_else(|e| panic!("{}", e.render()))
}

fn run(p: &Program, quirks: Quirks) -> Verdict {
    runner::run(p, &mut FakeHost::new(quirks)).verdict
}

/// The failure message, with the script's folder stripped for readability.
fn failure(p: &Program, quirks: Quirks) -> String {
    match run(p, quirks) {
        Verdict::Fail(m) => m.replace(&format!("{}/", shared().display()), ""),
        v => panic!("expected a failure, got {v:?}"),
    }
}

const BASIC_CLIENT: &str = "tcp_basic_client.pkt";

fn basic_client() -> String {
    std::fs::read_to_string(shared().join(BASIC_CLIENT)).expect("read tcp_basic_client.pkt")
}

/// `tcp_basic_client.pkt` with one line replaced.
fn basic_client_with(from: &str, to: &str) -> Program {
    let text = basic_client();
    assert!(text.contains(from), "{from:?} not in the script");
    program(BASIC_CLIENT, &text.replacen(from, to, 1))
}

#[test]
fn kernel_scripts_pass_against_a_kernel_that_behaves() {
    for name in [
        BASIC_CLIENT,
        "tcp_blocking_blocking-accept.pkt",
        "tcp_blocking_blocking-read.pkt",
        "tcp_close_close-local-close-then-remote-fin.pkt",
    ] {
        let p = kernel_script(name);
        let mut host = FakeHost::new(Quirks::default());
        let r = runner::run(&p, &mut host);
        assert_eq!(r.verdict, Verdict::Pass, "{name}");
        assert!(!r.exchange.is_empty());
    }
}

#[test]
fn the_host_gets_the_tun_setup_and_the_defaults() {
    let p = kernel_script(BASIC_CLIENT);
    let mut host = FakeHost::new(Quirks::default());
    assert_eq!(runner::run(&p, &mut host).verdict, Verdict::Pass);
    let tun = host.tun.expect("set up");
    assert_eq!(
        (
            tun.local_ip.to_string(),
            tun.remote_ip.to_string(),
            tun.prefix_len,
            tun.mtu
        ),
        ("192.168.0.1".into(), "192.0.2.1".into(), 16, 1500)
    );
    assert!(host.actions.contains(&HostAction::Sysctl {
        name: "net.ipv4.tcp_congestion_control".into(),
        value: "cubic".into()
    }));
    assert!(
        matches!(host.actions.last(), Some(HostAction::Qdisc { kind: Some(k), .. }) if k == "pfifo")
    );
}

#[test]
fn wrong_flags() {
    let p = kernel_script(BASIC_CLIENT);
    let quirks = Quirks {
        data_fin: true,
        ..Quirks::default()
    };
    assert_eq!(
        failure(&p, quirks),
        "tcp_basic_client.pkt:18: error handling packet: live packet field tcp_fin: expected: 0 (0x0) vs actual: 1 (0x1)\n\
         script packet:  0.000000 P. 1:1001(1000) ack 1 \n\
         actual packet:  0.000000 FP. 1:1001(1000) ack 1 win 1050 "
    );
}

#[test]
fn wrong_sequence_number() {
    let p = kernel_script(BASIC_CLIENT);
    let quirks = Quirks {
        seq_skew: 1,
        ..Quirks::default()
    };
    assert_eq!(
        failure(&p, quirks),
        "tcp_basic_client.pkt:18: error handling packet: live packet field tcp_seq: expected: 1 (0x1) vs actual: 2 (0x2)\n\
         script packet:  0.000000 P. 1:1001(1000) ack 1 \n\
         actual packet:  0.000000 P. 2:1002(1000) ack 1 win 1050 "
    );
}

#[test]
fn wrong_ack_in_the_script() {
    let p = basic_client_with("+0 > . 1:1(0) ack 1\n", "+0 > . 1:1(0) ack 2\n");
    assert_eq!(
        failure(&p, Quirks::default()),
        "tcp_basic_client.pkt:14: error handling packet: live packet field tcp_ack_seq: expected: 2 (0x2) vs actual: 1 (0x1)\n\
         script packet:  0.000000 . 1:1(0) ack 2 \n\
         actual packet:  0.000000 . 1:1(0) ack 1 win 1050 "
    );
}

#[test]
fn wrong_option() {
    let p = basic_client_with(
        "<mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 8>",
        "<mss 1400,sackOK,TS val 0 ecr 0,nop,wscale 8>",
    );
    assert_eq!(
        failure(&p, Quirks::default()),
        "tcp_basic_client.pkt:12: error handling packet: bad value in outbound TCP option (kind=2): expected: mss 1400 actual: mss 1460\n\
         script packet:  0.000000 S 0:0(0) <mss 1400,sackOK,TS val 0 ecr 0,nop,wscale 8>\n\
         actual packet:  0.000000 S 0:0(0) win 1050 <mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 8>"
    );
    // A different option list: packetdrill sees the length first.
    let p = basic_client_with(
        "<mss 1460,sackOK,TS val 0 ecr 0,nop,wscale 8>",
        "<mss 1460,nop,nop,sackOK,nop,wscale 8>",
    );
    assert!(
        failure(&p, Quirks::default()).starts_with(
            "tcp_basic_client.pkt:12: error handling packet: live packet field ipv4_total_length: expected: 52 (0x34) vs actual: 60 (0x3c)"
        )
    );
}

#[test]
fn timing_error() {
    let p = kernel_script(BASIC_CLIENT);
    let quirks = Quirks {
        data_delay: SimDuration::from_millis(100),
        ..Quirks::default()
    };
    assert_eq!(
        failure(&p, quirks),
        "tcp_basic_client.pkt:18: error handling packet: timing error: expected outbound packet at 0.000000 sec but happened at 0.100000 sec; tolerance 0.004000 sec\n\
         script packet:  0.000000 P. 1:1001(1000) ack 1 \n\
         actual packet:  0.100000 P. 1:1001(1000) ack 1 win 1050 "
    );
    // Within the tolerance, it passes; `--tolerance_usecs` widens it.
    let ok = Quirks {
        data_delay: SimDuration::from_millis(4),
        ..Quirks::default()
    };
    assert_eq!(run(&p, ok), Verdict::Pass);
    let p = model::load(
        &shared().join(BASIC_CLIENT),
        DrillConfig::ksft_ipv4(),
        &[("tolerance_usecs".into(), Some("100000".into()))],
    )
    .unwrap();
    let late = Quirks {
        data_delay: SimDuration::from_millis(100),
        ..Quirks::default()
    };
    assert_eq!(run(&p, late), Verdict::Pass);
}

#[test]
fn early_packet_is_a_timing_error() {
    let p = basic_client_with("+0 > P. 1:1001(1000) ack 1", "+.1 > P. 1:1001(1000) ack 1");
    assert!(
        failure(&p, Quirks::default()).starts_with(
            "tcp_basic_client.pkt:18: error handling packet: timing error: expected outbound packet at 0.100000 sec but happened at 0.000000 sec; tolerance 0.012500 sec"
        )
    );
}

#[test]
fn missing_packet_times_out() {
    let p = basic_client_with(
        "+0 < . 1:1(0) ack 1001 win 257",
        "+0 > . 1001:1001(0) ack 1\n   +0 < . 1:1(0) ack 1001 win 257",
    );
    assert_eq!(
        failure(&p, Quirks::default()),
        "tcp_basic_client.pkt:19: error handling packet: Timed out waiting for packet"
    );
}

#[test]
fn errno_and_result_mismatch() {
    let p = basic_client_with(
        "+0 send(4, ..., 1000, 0) = 1000",
        "+0 send(4, ..., 1000, 0) = -1 EAGAIN (Resource temporarily unavailable)",
    );
    assert_eq!(
        failure(&p, Quirks::default()),
        "tcp_basic_client.pkt:17: runtime error in send call: Expected result -1 but got 1000 with errno 0 (Success)"
    );
    let p = program(
        "t.pkt",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
         +0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n\
         +0 connect(3, ..., ...) = -1 EALREADY (Operation already in progress)\n",
    );
    assert_eq!(
        failure(&p, Quirks::default()),
        "t.pkt:3: runtime error in connect call: Expected errno 114 (Operation already in progress) but got 115 (Operation now in progress)"
    );
}

#[test]
fn assert_failure_is_reported_after_the_script() {
    let text = basic_client().replace(
        "   // Send data\n",
        "   +0 %{ assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd }%\n   +0 %{\nassert tcpi_ca_state == TCP_CA_Open\nassert tcpi_snd_cwnd == 7, tcpi_snd_cwnd\n}%\n",
    );
    let p = program(BASIC_CLIENT, &text);
    assert_eq!(
        failure(&p, Quirks::default()),
        "tcp_basic_client.pkt:17: error in Python code\n    assert tcpi_snd_cwnd == 7, tcpi_snd_cwnd\nAssertionError: 10"
    );
    let right = Quirks {
        cwnd: Some(7),
        ..Quirks::default()
    };
    assert_eq!(
        failure(&p, right),
        "tcp_basic_client.pkt:16: error in Python code\n    assert tcpi_snd_cwnd == 10, tcpi_snd_cwnd\nAssertionError: 7"
    );
    // A packet mismatch later in the script is reported first, as packetdrill runs Python
    // at the end.
    let text = text.replace("+0 > F. 1001:1001(0) ack 1", "+0 > F. 1001:1001(0) ack 7");
    let p = program(BASIC_CLIENT, &text);
    assert!(
        failure(&p, Quirks::default())
            .contains("live packet field tcp_ack_seq: expected: 7 (0x7) vs actual: 1 (0x1)")
    );
}

#[test]
fn blocking_call_returning_late() {
    let p = program(
        "t.pkt",
        "`./defaults.sh`\n\
             0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
            +0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n\
            +0 bind(3, ..., ...) = 0\n\
            +0 listen(3, 1) = 0\n\
            +0...0.100 accept(3, ..., ...) = 4\n\
           +.2 < S 0:0(0) win 32792 <mss 1000,nop,wscale 7>\n\
            +0 > S. 0:0(0) ack 1 <mss 1460,nop,wscale 8>\n\
            +0 < . 1:1(0) ack 1 win 257\n\
           +.1 write(4, ..., 2000) = 2000\n",
    );
    // The message the real packetdrill prints for this script on Linux, times aside.
    assert_eq!(
        failure(&p, Quirks::default()),
        "t.pkt:6: timing error: expected system call return at 0.100000 sec but happened at 0.200000 sec; tolerance 0.012500 sec"
    );
}

#[test]
fn unknown_ts_ecr() {
    let p = program(
        "t.pkt",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n\
         +0...0 connect(4, ..., ...) = 0\n\
         +0 > S 0:0(0) <...>\n\
         +0 < S. 0:0(0) ack 1 win 65535 <mss 1460,sackOK,TS val 5 ecr 77,nop,wscale 7>\n",
    );
    assert_eq!(
        failure(&p, Quirks::default()),
        "t.pkt:4: error handling packet: unable to infer live TS ecr for script TS ecr 77;  no matching or preceding outbound TS val"
    );
}

#[test]
fn unsupported_command_and_failing_command() {
    let p = basic_client_with(
        "   // Send data\n",
        "   +0 `ip route change 192.0.2.0/24 via 192.168.0.1 dev tun0 mtu 1200`\n",
    );
    assert_eq!(
        run(&p, Quirks::default()),
        Verdict::Unsupported(format!(
            "{}/tcp_basic_client.pkt:16: unsupported: command `ip route change 192.0.2.0/24 via 192.168.0.1 dev tun0 mtu 1200`: the fake kernel has no routes",
            shared().display()
        ))
    );
    let p = basic_client_with(
        "   // Send data\n",
        "   +0 `nstat | grep TcpExtBeyondWindow | grep -q \" 3 \"`\n",
    );
    assert_eq!(
        failure(&p, Quirks::default()),
        "tcp_basic_client.pkt:16: error executing `nstat | grep TcpExtBeyondWindow | grep -q \" 3 \"` command: non-zero status 1 (TcpExtBeyondWindow did not change)"
    );
}

#[test]
fn fragments_are_joined_unless_strict() {
    let p = basic_client_with(
        "+0 send(4, ..., 1000, 0) = 1000",
        "+0 send(4, ..., 1000, 0) = 1000",
    );
    let split = Quirks {
        segment: Some(400),
        ..Quirks::default()
    };
    assert_eq!(run(&p, split.clone()), Verdict::Pass);
    let strict = model::load(
        &shared().join(BASIC_CLIENT),
        DrillConfig::ksft_ipv4(),
        &[("strict_segments".into(), None)],
    )
    .unwrap();
    assert!(
        failure(&strict, split).starts_with("tcp_basic_client.pkt:18: error handling packet: live packet payload: expected 1000 bytes vs actual 400 bytes")
    );
}

#[test]
fn sequence_numbers_are_relative_to_both_isns() {
    let p = program(
        "t.pkt",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 4\n\
         +0...0 connect(4, ..., ...) = 0\n\
         +0 > S 100:100(0) <...>\n\
         +0 < S. 123:123(0) ack 101 win 65535 <mss 1460,nop,nop,sackOK>\n\
         +0 > . 1:1(0) ack 1\n\
         +0 send(4, ..., 10, 0) = 10\n\
         +0 > P. 1:11(10) ack 1\n\
         +0 < . 1:1(0) ack 11 win 257 <nop,nop,sack 1:11>\n",
    );
    let mut host = FakeHost::new(Quirks::default());
    let r = runner::run(&p, &mut host);
    assert_eq!(r.verdict, Verdict::Pass);
    // On the wire: the host's ISN, and the peer's 123 as the script says.
    let syn_ack = sim_drill::packet::Segment::parse(&r.exchange[1].bytes).unwrap();
    assert_eq!((syn_ack.seq, syn_ack.ack), (123, 1_000_001));
    let last = sim_drill::packet::Segment::parse(&r.exchange.last().unwrap().bytes).unwrap();
    assert_eq!((last.seq, last.ack), (124, 1_000_011));
    assert_eq!(
        sim_drill::packet::options_to_string(&last.options).unwrap(),
        "nop,nop,sack 1000001:1000011"
    );
}

#[test]
fn first_event_and_backwards_time() {
    let p = program("t.pkt", "1 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n");
    assert_eq!(
        failure(&p, Quirks::default()),
        "t.pkt:1: first event should be at time 0"
    );
    let p = program(
        "t.pkt",
        "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n0.5 close(3) = 0\n0.2 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n",
    );
    assert_eq!(
        failure(&p, Quirks::default()),
        "t.pkt:3: time goes backward in script from 500000 usec to 200000 usec"
    );
}

#[test]
fn runs_are_deterministic() {
    let p = kernel_script("tcp_blocking_blocking-read.pkt");
    let a = runner::run(&p, &mut FakeHost::new(Quirks::default()));
    let b = runner::run(&p, &mut FakeHost::new(Quirks::default()));
    assert_eq!(a, b);
}

/// All 36 scripts run to a verdict against the fake kernel: nothing panics, nothing hangs.
#[test]
fn every_kernel_script_runs_to_a_verdict() {
    let names = common::scripts();
    let mut table = Vec::new();
    for path in names {
        let p = model::load(&path, DrillConfig::ksft_ipv4(), &[]).unwrap();
        let r = runner::run(&p, &mut FakeHost::new(Quirks::default()));
        table.push(sim_drill::report::Row::new(
            path.file_name().unwrap().to_string_lossy(),
            sim_drill::config::IpVersion::V4,
            sim_drill::report::Outcome::of_run(&r),
        ));
    }
    eprintln!("{}", sim_drill::report::summary_table(&table));
    // Whatever the fake kernel gets wrong, every message cites its script and line.
    for sim_drill::report::Row {
        script: name,
        outcome: o,
        ..
    } in &table
    {
        if let sim_drill::report::Outcome::Fail(m) | sim_drill::report::Outcome::Unsupported(m) = o
        {
            assert!(m.contains(&format!("{name}:")), "{m}");
        }
    }
}

#[test]
fn calls_that_block_when_the_script_says_they_do_not() {
    let listen = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                  +0 bind(3, ..., ...) = 0\n\
                  +0 listen(3, 1) = 0\n";
    let p = program("t.pkt", &format!("{listen}+0 accept(3, ..., ...) = 4\n"));
    assert_eq!(
        failure(&p, Quirks::default()),
        "t.pkt:4: runtime error in accept call: the call blocks and never returns; a call the script expects to block needs `...` and its return time"
    );
    let p = program(
        "t.pkt",
        &format!("{listen}+0...0.1 accept(3, ..., ...) = 4\n+0...0.1 accept(3, ..., ...) = 5\n"),
    );
    assert_eq!(
        failure(&p, Quirks::default()),
        "t.pkt:5: runtime error in accept call: blocking system call while another blocking system call is already in progress"
    );
    let p = program(
        "t.pkt",
        &format!("{listen}+0...0.1 accept(3, ..., ...) = 4\n"),
    );
    assert_eq!(
        failure(&p, Quirks::default()),
        "t.pkt:4: runtime error: exiting while a blocking system call is in progress"
    );
}

#[test]
fn non_fatal_packet_mismatches_are_warnings() {
    let cli = [("non_fatal".to_string(), Some("packet".to_string()))];
    let p = model::load(&shared().join(BASIC_CLIENT), DrillConfig::ksft_ipv4(), &cli).unwrap();
    let quirks = Quirks {
        data_fin: true,
        ..Quirks::default()
    };
    let r = runner::run(&p, &mut FakeHost::new(quirks));
    assert_eq!(r.verdict, Verdict::Pass);
    assert_eq!(r.warnings.len(), 1);
    assert!(
        r.warnings[0].ends_with(
            "tcp_basic_client.pkt:18: warning handling packet: live packet field tcp_fin: expected: 0 (0x0) vs actual: 1 (0x1)\n\
             script packet:  0.000000 P. 1:1001(1000) ack 1 \n\
             actual packet:  0.000000 FP. 1:1001(1000) ack 1 win 1050 "
        ),
        "{}",
        r.warnings[0]
    );
}
