//! `sim sweep` through the real binary: the table of a small sweep against `sim run` of each
//! point, the same bytes for any `--jobs`, failed points in their rows, bad input (exit 2,
//! nothing run), `--emit-commands` and `--collect`.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use common::{SIM, assert_same_files, listing, said, scenario, scratch, sim_in, stderr, stdout};
use serde_json::Value;

/// A dumbbell small enough for a debug build: two UDP pairs for 300 ms.
fn dumbbell_args(udp: &Path) -> Vec<String> {
    [
        "sweep",
        udp.to_str().unwrap(),
        "--set",
        "pairs=2",
        "--until",
        "300ms",
        "--vary",
        "bottleneck_rate=10Mbit,20Mbit",
        "--vary",
        "seed=1..2",
        "--metric",
        "R0.udp_sink.bytes",
        "--metric",
        "nodes.A.eth0.qdisc.drops",
        "--metric",
        "links.0.dirs.0.frames",
        "--quiet",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

fn sweep_in(dir: &Path, args: &[String], extra: &[&str]) -> std::process::Output {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(extra);
    sim_in(dir, &all)
}

#[test]
fn a_small_sweep_has_one_row_per_point_with_the_values_sim_run_writes() {
    let dir = scratch("sweep-values");
    let udp = scenario("bench/dumbbell_udp.net");
    let o = sweep_in(&dir, &dumbbell_args(&udp), &["--jobs", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert!(o.stderr.is_empty(), "--quiet: {}", said(&o));
    let csv = stdout(&o);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "run,bottleneck_rate,seed,R0.udp_sink.bytes,nodes.A.eth0.qdisc.drops,links.0.dirs.0.frames,error"
    );
    assert_eq!(lines.len(), 5, "{csv}");
    let points = [
        ("10Mbit", "1"),
        ("10Mbit", "2"),
        ("20Mbit", "1"),
        ("20Mbit", "2"),
    ];
    for (i, (rate, seed)) in points.iter().enumerate() {
        let cells: Vec<&str> = lines[i + 1].split(',').collect();
        assert_eq!(&cells[..3], &[&(i + 1).to_string(), *rate, *seed], "{csv}");
        assert_eq!(cells[6], "", "no error: {csv}");
        // The same point through `sim run`.
        let out = format!("run{i}");
        let r = sim_in(
            &dir,
            &[
                "run",
                udp.to_str().unwrap(),
                "--set",
                "pairs=2",
                "--set",
                &format!("bottleneck_rate={rate}"),
                "--seed",
                seed,
                "--until",
                "300ms",
                "--pcap",
                "none",
                "--trace",
                "none",
                "-q",
                "--out",
                &out,
            ],
        );
        assert_eq!(r.status.code(), Some(0), "{}", said(&r));
        let stats: Value =
            serde_json::from_str(&fs::read_to_string(dir.join(&out).join("stats.json")).unwrap())
                .unwrap();
        assert_eq!(
            cells[3],
            stats["nodes"]["R0"]["udp_sink"]["bytes"].to_string()
        );
        assert_eq!(
            cells[4],
            stats["nodes"]["A"]["eth0"]["qdisc"]["drops"].to_string()
        );
        assert_eq!(cells[5], stats["links"][0]["dirs"][0]["frames"].to_string());
    }
    // The rate matters: twice the bottleneck, about twice the bytes.
    let bytes = |l: &str| l.split(',').nth(3).unwrap().parse::<u64>().unwrap();
    assert!(bytes(lines[3]) > bytes(lines[1]) * 3 / 2, "{csv}");
}

#[test]
fn the_table_is_the_same_bytes_for_any_number_of_jobs() {
    let dir = scratch("sweep-jobs");
    let udp = scenario("bench/dumbbell_udp.net");
    let args = dumbbell_args(&udp);
    for format in ["csv", "json"] {
        let runs: Vec<Vec<u8>> = ["1", "2", "3"]
            .iter()
            .map(|j| {
                let o = sweep_in(&dir, &args, &["--jobs", j, "--format", format]);
                assert_eq!(o.status.code(), Some(0), "{}", said(&o));
                o.stdout
            })
            .collect();
        assert!(runs[0] == runs[1], "{format}: --jobs 1 and --jobs 2 differ");
        assert!(runs[0] == runs[2], "{format}: --jobs 1 and --jobs 3 differ");
    }
}

#[test]
fn json_goes_to_a_json_file_with_typed_values() {
    let dir = scratch("sweep-json");
    let ping = scenario("ping.net");
    let o = sim_in(
        &dir,
        &[
            "sweep",
            ping.to_str().unwrap(),
            "--vary",
            "seed=3,4",
            "--metric",
            "a.ping.rtt_avg_ns",
            "--metric",
            "a.ping.dst",
            "--metric",
            "a.ping.error",
            "--out",
            "res/table.json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert!(
        o.stdout.is_empty(),
        "the table went to the file: {}",
        said(&o)
    );
    assert!(
        stderr(&o).starts_with("sweep: 2 runs (2 seed), 2 ok, 0 failed,"),
        "{}",
        said(&o)
    );
    assert_eq!(
        listing(&dir.join("res")),
        ["table.json"],
        "no temporary file left"
    );
    let v: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("res/table.json")).unwrap()).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["run"], 1);
    assert_eq!(rows[0]["seed"], 3);
    assert_eq!(rows[1]["seed"], 4);
    assert!(rows[0]["a.ping.rtt_avg_ns"].is_u64(), "{v}");
    assert_eq!(rows[0]["a.ping.dst"], "10.0.1.2");
    assert!(rows[0]["a.ping.error"].is_null());
    assert!(rows[0]["error"].is_null());
}

#[test]
fn a_failed_point_is_reported_in_its_row_and_the_sweep_goes_on() {
    let dir = scratch("sweep-fail");
    let udp = scenario("bench/dumbbell_udp.net");
    let o = sim_in(
        &dir,
        &[
            "sweep",
            udp.to_str().unwrap(),
            "--set",
            "pairs=2",
            "--until",
            "100ms",
            "--vary",
            "bottleneck_rate=10Mbit,fast,20Mbit",
            "--metric",
            "R1.udp_sink.received",
            "--jobs",
            "2",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    let csv = stdout(&o);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(
        lines[1].starts_with("1,10Mbit,") && lines[1].ends_with(','),
        "{csv}"
    );
    assert_eq!(
        lines[2],
        "2,fast,,\"--set bottleneck_rate=fast: param type mismatch: `bottleneck_rate` is a rate param, which takes a rate such as `100Mbit`\""
    );
    assert!(
        lines[3].starts_with("3,20Mbit,") && lines[3].ends_with(','),
        "{csv}"
    );
    assert!(stderr(&o).contains("2 ok, 1 failed"), "{}", said(&o));

    // A metric the first run has but a later one lacks: an error in that row only.
    let o = sim_in(
        &dir,
        &[
            "sweep",
            udp.to_str().unwrap(),
            "--until",
            "100ms",
            "--vary",
            "pairs=2,1",
            "--metric",
            "R1.udp_sink.received",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", said(&o));
    let csv = stdout(&o);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[1].starts_with("1,2,") && lines[1].ends_with(','),
        "{csv}"
    );
    assert!(
        lines[2].starts_with("2,1,,\"metric R1.udp_sink.received: `R1` is neither"),
        "{csv}"
    );
}

/// `sim sweep` with `args` must exit 2 before running anything: no table, one message.
fn refused(tag: &str, args: &[&str], expect: &str) {
    let dir = scratch(tag);
    let o = sim_in(&dir, args);
    assert_eq!(o.status.code(), Some(2), "{tag}: {}", said(&o));
    assert!(o.stdout.is_empty(), "{tag}: {}", said(&o));
    let err = stderr(&o);
    assert!(err.contains(expect), "{tag}: {}", said(&o));
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error")).count(),
        1,
        "{tag}: one message: {}",
        said(&o)
    );
    assert!(
        listing(&dir).is_empty(),
        "{tag}: nothing written: {:?}",
        listing(&dir)
    );
}

#[test]
fn bad_sweeps_exit_2_and_run_nothing() {
    let udp = scenario("bench/dumbbell_udp.net");
    let udp = udp.to_str().unwrap();
    refused(
        "unknown-param",
        &["sweep", udp, "--vary", "bottleneck_rat=1Mbit"],
        "has no param `bottleneck_rat` (params: pairs, bottleneck_rate,",
    );
    refused(
        "vary-syntax",
        &["sweep", udp, "--vary", "seed"],
        "expected NAME=V1,V2,… or NAME=A..B, found `seed`",
    );
    refused(
        "vary-range",
        &["sweep", udp, "--vary", "pairs=4..1"],
        "`4..1` is empty",
    );
    refused(
        "vary-twice",
        &["sweep", udp, "--vary", "seed=1", "--vary", "seed=2"],
        "--vary seed: given twice",
    );
    refused(
        "unknown-metric",
        &[
            "sweep",
            udp,
            "--set",
            "pairs=1",
            "--until",
            "10ms",
            "--vary",
            "seed=1..3",
            "--metric",
            "A.eth0.qdisc.dropped",
            "--out",
            "t.csv",
        ],
        "--metric A.eth0.qdisc.dropped: `nodes.A.eth0.qdisc` has no key `dropped`",
    );
    refused(
        "missing-file",
        &["sweep", "nope.net", "--vary", "seed=1"],
        "nope.net",
    );
    refused(
        "pcap-without-runs",
        &["sweep", udp, "--vary", "seed=1", "--pcap", "all"],
        "add --runs DIR",
    );
    refused(
        "out-is-a-folder",
        &["sweep", udp, "--vary", "seed=1", "--out", "/"],
        "it is a folder",
    );
}

#[test]
fn emitted_commands_run_by_a_shell_give_the_same_table_through_collect() {
    let dir = scratch("sweep-emit");
    fs::copy(scenario("ping.net"), dir.join("my ping.net")).unwrap();
    let base = [
        "sweep",
        "my ping.net",
        "--until",
        "2500ms",
        "--vary",
        "seed=1..2",
        "--metric",
        "a.ping.received",
        "--metric",
        "frames",
    ];
    let o = sim_in(
        &dir,
        &[&base[..], &["--emit-commands", "--runs", "runs"]].concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert_eq!(
        stdout(&o),
        "sim run 'my ping.net' --seed 1 --until 2500ms --pcap none --trace none --quiet --out runs/1_seed=1\n\
         sim run 'my ping.net' --seed 2 --until 2500ms --pcap none --trace none --quiet --out runs/2_seed=2\n"
    );
    assert!(listing(&dir) == ["my ping.net"], "emitting runs nothing");
    // Run them as GNU parallel or a Slurm array task would: each line through a shell.
    let bin = Path::new(SIM).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    for line in stdout(&o).lines() {
        let s = Command::new("sh")
            .arg("-c")
            .arg(line)
            .current_dir(&dir)
            .env("PATH", &path)
            .status()
            .unwrap();
        assert!(s.success(), "{line}");
    }
    assert_eq!(listing(&dir.join("runs")), ["1_seed=1", "2_seed=2"]);
    let collected = sim_in(
        &dir,
        &[&base[..], &["--collect", "--runs", "runs", "-q"]].concat(),
    );
    assert_eq!(collected.status.code(), Some(0), "{}", said(&collected));
    let direct = sim_in(&dir, &[&base[..], &["-q"]].concat());
    assert_eq!(direct.status.code(), Some(0), "{}", said(&direct));
    assert_eq!(stdout(&collected), stdout(&direct));
    assert!(stdout(&direct).starts_with("run,seed,a.ping.received,frames,error\n1,1,2,"));

    // A point that has not run: an error in its row.
    fs::remove_dir_all(dir.join("runs/2_seed=2")).unwrap();
    let partial = sim_in(
        &dir,
        &[&base[..], &["--collect", "--runs", "runs", "-q"]].concat(),
    );
    assert_eq!(partial.status.code(), Some(1), "{}", said(&partial));
    assert!(
        stdout(&partial)
            .contains("2,2,,,no runs/2_seed=2/params.json: the run failed or has not run"),
        "{}",
        said(&partial)
    );
}

#[test]
fn runs_keeps_each_runs_folder_like_sim_run() {
    let dir = scratch("sweep-runs");
    let ping = scenario("ping.net");
    let o = sim_in(
        &dir,
        &[
            "sweep",
            ping.to_str().unwrap(),
            "--vary",
            "seed=1..2",
            "--runs",
            "runs",
            "--pcap",
            "a",
            "--trace",
            "frames",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert_eq!(listing(&dir.join("runs")), ["1_seed=1", "2_seed=2"]);
    assert_eq!(
        listing(&dir.join("runs/2_seed=2")),
        [
            "a-eth0.pcap",
            "params.json",
            "run.json",
            "stats.json",
            "trace.txt"
        ]
    );
    let r = sim_in(
        &dir,
        &[
            "run",
            ping.to_str().unwrap(),
            "--seed",
            "2",
            "--pcap",
            "a",
            "--out",
            "single",
            "-q",
        ],
    );
    assert_eq!(r.status.code(), Some(0), "{}", said(&r));
    assert_same_files(
        &dir.join("runs/2_seed=2"),
        &dir.join("single"),
        &["a-eth0.pcap", "stats.json", "trace.txt"],
    );
}

#[test]
fn help_shows_an_example_per_option() {
    let dir = scratch("sweep-help");
    let o = sim_in(&dir, &["sweep", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = stdout(&o);
    for example in [
        "`--vary rate=10Mbit,100Mbit`",
        "`--vary seed=1..10,42`",
        "both ends included",
        "`--set pairs=2`",
        "`--metric client.curl.time_total`",
        "`--jobs 4`",
        "`--out results.json`",
        "`--format json`",
        "`--until 2s`",
        "`--runs out/sweep1`",
        "`--pcap all`",
        "`--pcapng`",
        "`--trace frames`",
        "`--emit-commands > commands.txt`",
        "`--collect`",
        "`--max-events 1000000`",
        "`--max-wall 10m`",
        "`--runs out/sweep1 --force`",
    ] {
        assert!(help.contains(example), "{example} missing from:\n{help}");
    }
}
