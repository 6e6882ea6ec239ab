//! Every way a run can end early leaves complete outputs: SIGTERM, SIGHUP and SIGINT end it
//! as Ctrl-C does (outputs whole, stats.json marked, exit 128 + signal), and `--max-events`
//! and `--max-wall` stop a runaway scenario the same way (exit 3).

mod common;

use std::fs;
use std::path::Path;

use common::{
    assert_same_files, json, listing, long_scenario, partials, pcap_records, said, scenario,
    scratch, send_signal, sim_in, spawn_in, start_long, stdout, wait_at_most,
};

/// Checks a folder of an early-ended flood: the capture and trace whole, stats.json marked
/// with `reason`, its `at_ns` the simulated time reached. Returns the `interrupted` object.
fn complete_and_marked(out: &Path, reason: &str) -> serde_json::Value {
    assert_eq!(
        listing(out),
        [
            "a-eth0.pcap",
            "params.json",
            "run.json",
            "stats.json",
            "trace.txt"
        ]
    );
    assert!(pcap_records(&out.join("a-eth0.pcap")) > 0);
    let trace = fs::read(out.join("trace.txt")).unwrap();
    assert_eq!(
        trace.last(),
        Some(&b'\n'),
        "the trace ends with a whole line"
    );
    let stats = json(&out.join("stats.json"));
    let why = stats["interrupted"].clone();
    assert_eq!(why["reason"], reason, "{why}");
    assert_eq!(why["at_ns"], stats["sim_time_ns"], "{why}");
    assert!(stats["events"].as_u64().unwrap() > 0);
    assert!(stats["sim_time_ns"].as_u64().unwrap() < 100_000_000_000_000);
    why
}

#[test]
fn sigterm_sighup_and_sigint_end_a_run_with_complete_outputs() {
    let dir = scratch("signals");
    for (signal, code) in [("TERM", 143), ("HUP", 129), ("INT", 130)] {
        let out = format!("out-{signal}");
        let child = start_long(&dir, &out, &["--pcap", "a"]);
        send_signal(child.id(), signal);
        let o = wait_at_most(child, 120, &format!("a run after SIG{signal}"));
        assert_eq!(o.status.code(), Some(code), "SIG{signal}: {}", said(&o));
        let text = stdout(&o);
        assert!(
            text.lines()
                .next()
                .unwrap()
                .contains(&format!("interrupted by SIG{signal}")),
            "{text}"
        );
        let why = complete_and_marked(&dir.join(&out), "signal");
        assert_eq!(why["signal"], format!("SIG{signal}"), "{why}");
    }
    assert!(partials(&dir).is_empty(), "{:?}", listing(&dir));
}

#[test]
fn signals_that_keep_coming_while_outputs_are_written_do_not_spoil_them() {
    let dir = scratch("signals-again");
    let child = start_long(&dir, "o", &["--pcap", "a", "-q"]);
    let pid = child.id();
    for _ in 0..5 {
        send_signal(pid, "TERM");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    let o = wait_at_most(child, 120, "a run after repeated signals");
    // The signal the run saw at its stop names it; the exit code agrees.
    let why = complete_and_marked(&dir.join("o"), "signal");
    let code = match why["signal"].as_str() {
        Some("SIGTERM") => 143,
        Some("SIGINT") => 130,
        other => panic!("{other:?}"),
    };
    assert_eq!(o.status.code(), Some(code), "{}", said(&o));
}

#[test]
fn max_events_stops_a_run_cleanly_with_exit_3() {
    let dir = scratch("max-events");
    let long = long_scenario(&dir);
    let o = sim_in(
        &dir,
        &[
            "run",
            long.to_str().unwrap(),
            "--pcap",
            "a",
            "--max-events",
            "5000",
            "--out",
            "o",
        ],
    );
    assert_eq!(o.status.code(), Some(3), "{}", said(&o));
    assert!(
        stdout(&o)
            .lines()
            .next()
            .unwrap()
            .contains("stopped by --max-events 5000"),
        "{}",
        said(&o)
    );
    let why = complete_and_marked(&dir.join("o"), "max_events");
    assert_eq!(why["max_events"], 5000);
    assert_eq!(json(&dir.join("o/stats.json"))["events"], 5000);
    // Deterministic: the same limit gives the same files.
    let o = sim_in(&dir, &["run", "--replay", "o", "--out", "again", "-q"]);
    assert_eq!(o.status.code(), Some(3), "{}", said(&o));
    assert_same_files(
        &dir.join("o"),
        &dir.join("again"),
        &["a-eth0.pcap", "stats.json", "trace.txt"],
    );
}

#[test]
fn max_wall_stops_a_runaway_run_cleanly_with_exit_3() {
    let dir = scratch("max-wall");
    let long = long_scenario(&dir);
    let child = spawn_in(
        &dir,
        &[
            "run",
            long.to_str().unwrap(),
            "--pcap",
            "a",
            "--max-wall",
            "1s",
            "--out",
            "o",
        ],
    );
    let o = wait_at_most(child, 120, "a run with --max-wall 1s");
    assert_eq!(o.status.code(), Some(3), "{}", said(&o));
    assert!(
        stdout(&o)
            .lines()
            .next()
            .unwrap()
            .contains("stopped by --max-wall 1s"),
        "{}",
        said(&o)
    );
    let why = complete_and_marked(&dir.join("o"), "max_wall");
    assert_eq!(why["max_wall_ns"], 1_000_000_000u64);

    for bad in ["soon", "-1s", "5"] {
        let o = sim_in(
            &dir,
            &["run", long.to_str().unwrap(), "--max-wall", bad, "-q"],
        );
        assert_eq!(o.status.code(), Some(2), "--max-wall {bad}: {}", said(&o));
    }
}

#[test]
fn a_run_that_reaches_its_end_has_no_interrupted_field() {
    let dir = scratch("whole");
    let ping = scenario("ping.net");
    let o = sim_in(
        &dir,
        &[
            "run",
            ping.to_str().unwrap(),
            "--max-events",
            "1000000",
            "--max-wall",
            "1m",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let text = fs::read_to_string(dir.join("out/ping/stats.json")).unwrap();
    assert!(!text.contains("interrupted"), "{text}");
}

#[test]
fn sweep_takes_the_limits_and_reports_the_stopped_runs_in_their_rows() {
    let dir = scratch("sweep-limits");
    let ping = scenario("ping.net");
    let o = sim_in(
        &dir,
        &[
            "sweep",
            ping.to_str().unwrap(),
            "--vary",
            "seed=1..2",
            "--max-events",
            "10",
            "--metric",
            "events",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    let csv = stdout(&o);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    for row in csv.lines().skip(1) {
        assert!(row.contains("stopped by --max-events 10"), "{csv}");
    }
}
