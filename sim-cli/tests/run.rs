//! `sim run` through the real binary: the files a run writes, bad input of each kind (exit 2,
//! one message, no folder left behind), and `--replay` reproducing a run byte for byte.

mod common;

use std::fs;
use std::path::Path;

use common::{PING_FILES, json, listing, said, scenario, scratch, sim_in, stderr, stdout};

/// The error lines of stderr: `error: …`, or a diagnostic's `file:line:col: error: …`.
fn error_lines(s: &str) -> Vec<&str> {
    s.lines()
        .filter(|l| {
            l.starts_with("error")
                || l.split_once(": error: ")
                    .is_some_and(|(place, _)| !place.contains(' '))
        })
        .collect()
}

#[test]
fn run_writes_pcaps_trace_stats_and_params_and_a_summary() {
    let dir = scratch("run-files");
    let ping = scenario("ping.net");
    let o = sim_in(&dir, &["run", ping.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let out = dir.join("out/ping");
    assert_eq!(listing(&out), PING_FILES);
    assert_eq!(
        listing(&dir.join("out")),
        ["ping"],
        "no temporary folder left"
    );
    let text = stdout(&o);
    assert!(text.starts_with("ping (seed 1)\n"), "{text}");
    assert!(
        text.contains("4 transmitted, 4 received, 0% packet loss"),
        "{text}"
    );
    assert!(
        text.contains("outputs    out/ping/: trace.txt (48 lines), 4 pcaps"),
        "{text}"
    );
    assert!(stderr(&o).is_empty(), "{}", said(&o));

    let stats: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("stats.json")).unwrap()).unwrap();
    assert_eq!(stats["nodes"]["a"]["ping"]["received"], 4);
    assert_eq!(stats["sim_time_ns"], 6_000_000_000u64);
    let params: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(out.join("params.json")).unwrap()).unwrap();
    assert_eq!(params["seed"], 1);
    assert_eq!(params["scenario"], "ping");
    // A pcap starts with the nanosecond magic, little-endian.
    let pcap = fs::read(out.join("a-eth0.pcap")).unwrap();
    assert_eq!(&pcap[..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
    assert_eq!(
        fs::read_to_string(out.join("trace.txt"))
            .unwrap()
            .lines()
            .count(),
        48
    );
}

#[test]
fn quiet_pcap_none_trace_none_and_pcapng_write_what_they_say() {
    let dir = scratch("run-options");
    let ping = scenario("ping.net");
    let o = sim_in(
        &dir,
        &[
            "run",
            ping.to_str().unwrap(),
            "--pcap",
            "none",
            "--trace",
            "none",
            "--quiet",
            "--out",
            "bare",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{}", said(&o));
    assert_eq!(
        listing(&dir.join("bare")),
        ["params.json", "run.json", "stats.json"]
    );

    let o = sim_in(
        &dir,
        &[
            "run",
            ping.to_str().unwrap(),
            "--pcapng",
            "--pcap",
            "a,r",
            "--stats",
            "ron",
            "-q",
            "--out",
            "ng",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert_eq!(
        listing(&dir.join("ng")),
        [
            "capture.pcapng",
            "params.json",
            "run.json",
            "stats.ron",
            "trace.txt"
        ]
    );
}

/// Runs `sim run` with `args` in a fresh folder and checks the failure: exit 2, nothing on
/// stdout, exactly one `error:` line containing `expect`, and the folder as it was.
fn fails_cleanly(tag: &str, setup: impl FnOnce(&Path), args: &[&str], expect: &str) {
    let dir = scratch(tag);
    setup(&dir);
    let before = listing(&dir);
    let o = sim_in(&dir, args);
    assert_eq!(o.status.code(), Some(2), "{tag}: {}", said(&o));
    assert!(o.stdout.is_empty(), "{tag}: {}", said(&o));
    let err = stderr(&o);
    let errors = error_lines(&err);
    assert_eq!(errors.len(), 1, "{tag}: one message: {}", said(&o));
    assert!(errors[0].contains(expect), "{tag}: {}", said(&o));
    assert!(!err.contains("panicked"), "{tag}: {}", said(&o));
    assert_eq!(listing(&dir), before, "{tag}: nothing written");
    if dir.join("out").exists() {
        assert!(
            listing(&dir.join("out")).is_empty(),
            "{tag}: no output folder"
        );
    }
}

#[test]
fn bad_input_of_each_kind_exits_2_with_one_message_and_leaves_nothing() {
    let ping = scenario("ping.net");
    let ping = ping.to_str().unwrap();
    fails_cleanly(
        "missing-file",
        |_| {},
        &["run", "nope.net"],
        "cannot read `nope.net`",
    );
    fails_cleanly(
        "unwritable-out",
        |d| fs::write(d.join("taken"), "a file").unwrap(),
        &["run", ping, "--out", "taken/run", "-q"],
        "cannot create the output folder taken/run",
    );
    fails_cleanly(
        "out-is-a-file",
        |d| fs::write(d.join("taken"), "a file").unwrap(),
        &["run", ping, "--out", "taken", "-q"],
        "taken exists and is not a folder",
    );
    fails_cleanly(
        "set-syntax",
        |_| {},
        &["run", ping, "--set", "rate"],
        "expected NAME=VALUE, found `rate`",
    );
    fails_cleanly(
        "unknown-param",
        |_| {},
        &["run", ping, "--set", "rate=1Mbit"],
        "the scenario has no param `rate`",
    );
    fails_cleanly(
        "bad-param-value",
        |_| {},
        &[
            "run",
            scenario("dns_then_http.net").to_str().unwrap(),
            "--set",
            "rate=fast",
        ],
        "`rate` is a rate param",
    );
    fails_cleanly(
        "syntax-error",
        |d| {
            fs::write(
                d.join("bad.net"),
                "host a {\n    iface eth0 { ip 10.0.0.1/24 \n",
            )
            .unwrap()
        },
        &["run", "bad.net"],
        "bad.net:",
    );
    fails_cleanly(
        "unknown-pcap-node",
        |_| {},
        &["run", ping, "--pcap", "x"],
        "--pcap: no node named `x`",
    );
    fails_cleanly(
        "bad-until",
        |_| {},
        &["run", ping, "--until", "soon"],
        "--until",
    );
}

#[test]
fn a_scenario_with_several_errors_lists_them_and_counts_them() {
    let dir = scratch("several");
    fs::write(
        dir.join("two.net"),
        "host a { iface eth0 { ip 10.0.0.1/24 } }\nlink a.eth0 -- b.eth0 { rate 1Mbit }\nlink a.eth1 -- c.eth0 { rate 1Mbit }\n",
    )
    .unwrap();
    let o = sim_in(&dir, &["run", "two.net"]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    let err = stderr(&o);
    assert!(
        err.lines().last().unwrap().contains("two.net has"),
        "{}",
        said(&o)
    );
    assert!(!dir.join("out").exists(), "{}", said(&o));
}

#[test]
fn replay_reproduces_a_run_byte_for_byte() {
    let dir = scratch("replay");
    let flagship = scenario("dns_then_http.net");
    let o = sim_in(
        &dir,
        &[
            "run",
            flagship.to_str().unwrap(),
            "--seed",
            "7",
            "--set",
            "delay=2ms",
            "--until",
            "3s",
            "--trace",
            "path",
            "--tcp-probe",
            "--out",
            "r1",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let o = sim_in(&dir, &["run", "--replay", "r1", "--out", "r2", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let files = listing(&dir.join("r1"));
    assert_eq!(files, listing(&dir.join("r2")));
    assert!(files.len() >= 7, "{files:?}");
    // run.json holds the wall-clock time, which varies.
    for f in files
        .iter()
        .filter(|f| *f != "params.json" && *f != "run.json")
    {
        let a = fs::read(dir.join("r1").join(f)).unwrap();
        let b = fs::read(dir.join("r2").join(f)).unwrap();
        assert!(a == b, "{f} differs between the run and its replay");
    }
    let p: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("r2/params.json")).unwrap()).unwrap();
    assert_eq!(p["seed"], 7);
    assert_eq!(p["until_ns"], 3_000_000_000u64);
    assert_eq!(p["trace"], "path");
    assert_eq!(p["tcp_probe"], true);
    // The recorded command reproduces it too.
    let cmd = p["command"].as_str().unwrap();
    assert!(
        cmd.contains("--set delay=2ms") && cmd.contains("--seed 7") && cmd.contains("--tcp-probe"),
        "{cmd}"
    );
    // tcp_probe.txt: the tracepoint's line for every segment an established socket got,
    // the curl client's and the web server's.
    let probe = fs::read_to_string(dir.join("r1/tcp_probe.txt")).unwrap();
    let lines: Vec<&str> = probe.lines().collect();
    assert!(lines.len() >= 6, "{probe}");
    for l in &lines {
        let (_, fields) = l.split_once(" tcp_probe: ").expect("a tcp_probe line");
        let names: Vec<&str> = fields
            .split(' ')
            .map(|f| f.split_once('=').expect("name=value").0)
            .collect();
        assert_eq!(
            names,
            [
                "family",
                "src",
                "dest",
                "mark",
                "data_len",
                "snd_nxt",
                "snd_una",
                "snd_cwnd",
                "ssthresh",
                "snd_wnd",
                "srtt",
                "rcv_wnd",
                "sock_cookie"
            ],
            "{l}"
        );
    }
    assert!(lines.iter().any(|l| l.contains(" client tcp_probe: ")));
    assert!(lines.iter().any(|l| l.contains(" web tcp_probe: ")));
}

#[test]
fn help_shows_an_example_per_option() {
    let dir = scratch("help");
    let o = sim_in(&dir, &["run", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = stdout(&o);
    for example in [
        "`--set rate=10Mbit`",
        "`--seed 42`",
        "`--out /tmp/run1`",
        "`--until 2.5s`",
        "`--pcap client,r1`",
        "`--pcapng --trace path`",
        "`--trace path`",
        "`--stats ron`",
        "`-q`",
        "`--replay out/ping/",
        "`--out results --force`",
        "`--max-events 1000000`",
        "`--max-wall 30s`",
        "`--replay out/ping/ --allow-changed`",
        "`--snapshot tc`",
    ] {
        assert!(help.contains(example), "{example} missing from:\n{help}");
    }
}

/// `sha256sum FILE`'s hash.
fn sha256sum(path: &Path) -> String {
    let o = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum runs");
    stdout(&o).split_whitespace().next().unwrap().to_string()
}

#[test]
fn params_json_records_the_sha256_of_every_input_and_replay_refuses_a_changed_one() {
    let dir = scratch("replay-inputs");
    // ping.net with its app moved into an included file.
    let ping = fs::read_to_string(scenario("ping.net")).unwrap();
    let app = ping
        .lines()
        .find(|l| l.starts_with("app "))
        .unwrap()
        .to_string();
    fs::create_dir(dir.join("inc")).unwrap();
    fs::write(
        dir.join("main.net"),
        ping.replace(&app, "include \"inc/apps.net\""),
    )
    .unwrap();
    fs::write(dir.join("inc/apps.net"), format!("{app}\n")).unwrap();
    let o = sim_in(&dir, &["run", "main.net", "--out", "r1", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let p: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("r1/params.json")).unwrap()).unwrap();
    assert_eq!(p["format"], "netsim-run/1");
    let inputs = p["inputs"].as_array().expect("inputs");
    assert_eq!(inputs.len(), 2, "{p}");
    assert_eq!(inputs[0]["file"], "main.net");
    assert_eq!(inputs[0]["sha256"], sha256sum(&dir.join("main.net")));
    assert_eq!(inputs[1]["file"], "inc/apps.net");
    assert_eq!(inputs[1]["sha256"], sha256sum(&dir.join("inc/apps.net")));

    // Unchanged: the replay runs, silently.
    let o = sim_in(&dir, &["run", "--replay", "r1", "--out", "r2", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert!(o.stderr.is_empty(), "{}", said(&o));

    // An included file changed: exit 2 naming it, nothing written.
    fs::write(
        dir.join("inc/apps.net"),
        app.replace("count 4", "count 3") + "\n",
    )
    .unwrap();
    let o = sim_in(&dir, &["run", "--replay", "r1", "--out", "r3", "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    let err = stderr(&o);
    assert!(
        err.contains("inc/apps.net") && err.contains("changed") && err.contains("--allow-changed"),
        "{}",
        said(&o)
    );
    assert!(!dir.join("r3").exists());
    // --allow-changed runs it as it is now, with a warning.
    let o = sim_in(
        &dir,
        &[
            "run",
            "--replay",
            "r1",
            "--allow-changed",
            "--out",
            "r3",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let err = stderr(&o);
    assert!(
        err.starts_with("warning: ") && err.contains("inc/apps.net"),
        "{}",
        said(&o)
    );
    let stats: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("r3/stats.json")).unwrap()).unwrap();
    assert_eq!(stats["nodes"]["a"]["ping"]["transmitted"], 3);

    // A missing input is named too.
    fs::remove_file(dir.join("inc/apps.net")).unwrap();
    let o = sim_in(&dir, &["run", "--replay", "r1", "--out", "r4", "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    let err = stderr(&o);
    assert!(
        err.contains("inc/apps.net") && err.contains("missing"),
        "{}",
        said(&o)
    );
    assert!(!dir.join("r4").exists());
}

#[test]
fn replay_reads_a_params_json_of_an_older_sim() {
    let dir = scratch("replay-old");
    let ping = scenario("ping.net");
    // params.json as sim wrote it before it recorded its format, inputs and files.
    fs::create_dir(dir.join("old")).unwrap();
    let old = format!(
        r#"{{
  "tool": "netsim 0.1.0",
  "file": "{p}",
  "file_abs": "{p}",
  "scenario": "ping",
  "seed": 3,
  "params": [],
  "set": [],
  "until_ns": 2000000000,
  "pcap": "all",
  "pcapng": false,
  "trace": "frames",
  "stats": "json",
  "command": "sim run {p} --seed 3 --out old"
}}
"#,
        p = ping.display()
    );
    fs::write(dir.join("old/params.json"), old).unwrap();
    fs::write(dir.join("old/stats.json"), "{}\n").unwrap();
    let o = sim_in(&dir, &["run", "--replay", "old", "--out", "new", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert!(
        stderr(&o).contains("no input hashes"),
        "says it cannot check: {}",
        said(&o)
    );
    let p: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("new/params.json")).unwrap()).unwrap();
    assert_eq!(p["seed"], 3);
    assert_eq!(p["until_ns"], 2_000_000_000u64);
    // And an older sim's folder counts as a run's folder: it is replaced, not refused.
    let o = sim_in(&dir, &["run", ping.to_str().unwrap(), "--out", "old", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
}

/// The `--help` text that a page of docs/ embeds verbatim, in its `<details>` block.
fn embedded_help(page: &str, command: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(page);
    let text = fs::read_to_string(&path).unwrap();
    let key = format!("<summary><code>sim {command} --help</code>, verbatim</summary>\n\n```\n");
    let start = text.find(&key).expect("the help block") + key.len();
    let end = start + text[start..].find("```\n").expect("its end");
    text[start..end].to_string()
}

#[test]
fn the_docs_embed_the_help_as_it_is() {
    let dir = scratch("help-docs");
    for (page, command) in [("outputs.md", "run"), ("sweeps.md", "sweep")] {
        let o = sim_in(&dir, &[command, "--help"]);
        assert_eq!(
            embedded_help(page, command),
            stdout(&o),
            "docs/{page} embeds another `sim {command} --help`"
        );
    }
}

#[test]
fn snapshot_tc_writes_a_file_per_node_with_the_counters_of_stats_json() {
    let dir = scratch("snapshot");
    let red = scenario("tc/red_ecn.net");
    let args = [
        "run",
        red.to_str().unwrap(),
        "--snapshot",
        "tc",
        "--pcap",
        "none",
    ];
    let o = sim_in(&dir, &[&args[..], &["--out", "o", "-q"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let out = dir.join("o");
    assert_eq!(
        listing(&out.join("snapshots")),
        ["a.tc.txt", "b.tc.txt", "r.tc.txt"]
    );
    let params = json(&out.join("params.json"));
    let files: Vec<&str> = params["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(files.contains(&"snapshots") && files.contains(&"snapshots/r.tc.txt"));
    assert_eq!(params["snapshot"], serde_json::json!(["tc"]));
    assert!(
        params["command"]
            .as_str()
            .unwrap()
            .contains(" --snapshot tc ")
    );
    let stats = json(&out.join("stats.json"));
    let q = &stats["nodes"]["r"]["eth1"]["qdisc"];
    let text = fs::read_to_string(out.join("snapshots/r.tc.txt")).unwrap();
    let sent = format!(
        " Sent {} bytes {} pkt (dropped {}, overlimits {} requeues {}) \n",
        q["bytes"], q["packets"], q["drops"], q["overlimits"], q["requeues"]
    );
    let r = &q["red"];
    let xstats = format!(
        "  marked {} early {} pdrop {} other {} \n",
        r["marked"], r["early"], r["pdrop"], r["other"]
    );
    assert!(
        text.starts_with("$ tc -s qdisc show dev eth0\nqdisc pfifo_fast 0: root refcnt 2 "),
        "{text}"
    );
    let eth1 = text.find("$ tc -s qdisc show dev eth1\nqdisc red 8001: root refcnt 2 limit 400000b min 30000b max 90000b ecn adaptive \n").expect(&text);
    assert!(text[eth1..].contains(&sent), "{sent} not in {text}");
    assert!(text.ends_with(&xstats), "{xstats} not at the end of {text}");
    assert!(!text.contains("tc -s class"), "no classful root: {text}");
    // Another run into the folder replaces it, snapshots/ included.
    let o = sim_in(
        &dir,
        &[
            "run",
            red.to_str().unwrap(),
            "--until",
            "50ms",
            "--out",
            "o",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert!(!out.join("snapshots").exists());
}
