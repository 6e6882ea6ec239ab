//! Time series (`sim run --sample`, the `sample` statement) and snapshots at chosen instants
//! (`--snapshot-at`), through the real binary: sampling leaves every other output
//! byte-identical, the last sample of each series agrees with stats.json, and the statement
//! and the options choose what they say.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::{listing, said, scenario, scratch, sim_in};

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

/// Every file of a run folder but `params.json`, `run.json` (wall-clock figures) and
/// `samples/`, by relative path.
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for name in listing(dir) {
        if name == "params.json" || name == "samples" || name == "run.json" {
            continue;
        }
        let p = dir.join(&name);
        if p.is_dir() {
            for (k, v) in outputs(&p) {
                out.insert(format!("{name}/{k}"), v);
            }
        } else {
            out.insert(name, fs::read(p).unwrap());
        }
    }
    out
}

/// A CSV file as its header and rows of fields.
fn csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

/// The rows of `path` at its last instant, as maps from column to value.
fn last_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let (header, rows) = csv(path);
    let last = rows.last().unwrap()[0].clone();
    rows.into_iter()
        .filter(|r| r[0] == last)
        .map(|r| header.iter().cloned().zip(r).collect())
        .collect()
}

fn run(dir: &Path, out: &str, args: &[&str]) {
    let o = sim_in(dir, &[&["run"], args, &["--out", out, "-q"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
}

#[test]
fn sampling_changes_no_other_output() {
    let dir = scratch("sample-identical");
    for (name, extra) in [
        ("dns_then_http.net", &[][..]),
        (
            "bench/dumbbell_tcp.net",
            &["--set", "pairs=3", "--until", "300ms"][..],
        ),
        ("tc/red_ecn.net", &["--until", "200ms"][..]),
    ] {
        let file = scenario(name);
        let f = file.to_str().unwrap();
        let base = [&[f, "--trace", "path"][..], extra].concat();
        run(&dir, "plain", &base);
        run(&dir, "sampled", &[&base[..], &["--sample", "1ms"]].concat());
        let (a, b) = (outputs(&dir.join("plain")), outputs(&dir.join("sampled")));
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "{name}"
        );
        for (k, v) in &a {
            assert!(v == &b[k], "{name}: {k} differs with --sample 1ms");
        }
        assert_eq!(
            listing(&dir.join("sampled/samples")),
            ["app.csv", "link.csv", "qdisc.csv", "tcp.csv"],
            "{name}"
        );
    }
}

#[test]
fn the_last_samples_agree_with_stats_json() {
    let dir = scratch("sample-stats");
    let file = scenario("bench/dumbbell_tcp.net");
    run(
        &dir,
        "o",
        &[
            file.to_str().unwrap(),
            "--set",
            "pairs=2",
            "--until",
            "500ms",
            "--sample",
            "10ms",
            "--pcap",
            "none",
            "--trace",
            "none",
        ],
    );
    let out = dir.join("o");
    let stats = json(&out.join("stats.json"));
    let params = json(&out.join("params.json"));
    assert_eq!(params["sample"], "10000000ns");
    let files: Vec<&str> = params["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    assert!(files.contains(&"samples/tcp.csv"), "{files:?}");

    // Instants 0, 10 ms, …, 500 ms: 51 per object.
    let (_, rows) = csv(&out.join("samples/qdisc.csv"));
    let devs = 2 + 2 + 2 * 2 + 2; // A and B: eth0 + 2 each; S0, S1, R0, R1: eth0
    assert_eq!(rows.len(), 51 * devs);
    assert_eq!(rows[0][0], "0");
    assert_eq!(rows.last().unwrap()[0], "500000000");

    for r in last_rows(&out.join("samples/qdisc.csv")) {
        let q = &stats["nodes"][&r["node"]][&r["dev"]]["qdisc"];
        assert_eq!(r["kind"], q["kind"].as_str().unwrap());
        for (col, key) in [
            ("sent_bytes", "bytes"),
            ("sent_pkts", "packets"),
            ("drops", "drops"),
            ("backlog_bytes", "backlog"),
            ("backlog_pkts", "qlen"),
        ] {
            assert_eq!(
                r[col],
                q[key].to_string(),
                "{}.{} {col}",
                r["node"],
                r["dev"]
            );
        }
    }
    let links = stats["links"].as_array().unwrap();
    let last = last_rows(&out.join("samples/link.csv"));
    assert_eq!(last.len(), links.len() * 2);
    for (r, (l, d)) in last.iter().zip(links.iter().flat_map(|l| [(l, 0), (l, 1)])) {
        assert_eq!(r["from"], l["ends"][d].as_str().unwrap());
        assert_eq!(r["to"], l["ends"][1 - d].as_str().unwrap());
        assert_eq!(r["frames"], l["dirs"][d]["frames"].to_string());
        assert_eq!(r["bytes"], l["dirs"][d]["bytes"].to_string());
    }
    // The bottleneck A → B is busy once both flows run: utilization close to 1, never above.
    let (_, rows) = csv(&out.join("samples/link.csv"));
    let util: Vec<f64> = rows
        .iter()
        .filter(|r| r[1] == "A.eth0" && r[0].parse::<u64>().unwrap() >= 300_000_000)
        .map(|r| r[7].parse().unwrap())
        .collect();
    assert_eq!(util.len(), 21);
    assert!(
        util.iter().all(|&u| u > 0.9 && u <= 1.0),
        "A.eth0 utilization {util:?}"
    );
    for r in last_rows(&out.join("samples/app.csv")) {
        let a = &stats["nodes"][&r["node"]][&r["app"]];
        match a["app"].as_str().unwrap() {
            "tcp_sink" => assert_eq!(r["rx_bytes"], a["bytes"].to_string()),
            "tcp_bulk" => assert_eq!(r["tx_bytes"], a["bytes_written"].to_string()),
            other => panic!("unexpected app {other}"),
        }
    }
    let last = last_rows(&out.join("samples/tcp.csv"));
    assert_eq!(last.len(), 4, "two connections, both ends");
    for r in &last {
        let conns = stats["nodes"][&r["node"]]["tcp_connections"]
            .as_array()
            .unwrap();
        let c = conns
            .iter()
            .find(|c| {
                format!(
                    "{}-{}",
                    c["local"].as_str().unwrap(),
                    c["remote"].as_str().unwrap()
                ) == r["sock"]
            })
            .unwrap_or_else(|| panic!("{} not in stats.json", r["sock"]));
        assert_eq!(r["snd_cwnd"], c["cwnd"].to_string());
        assert_eq!(r["bytes_acked"], c["bytes_acked"].to_string());
        assert_eq!(r["state"], "ESTAB");
        assert_eq!(r["cc"], "cubic");
    }
}

#[test]
fn the_sample_statement_chooses_and_the_option_overrides_it() {
    let dir = scratch("sample-statement");
    let src = fs::read_to_string(scenario("bench/dumbbell_tcp.net")).unwrap()
        + "\nsample 5ms { qdisc A.eth0; link A.eth0 B.eth0; tcp S0 }\n";
    fs::write(dir.join("s.net"), src).unwrap();
    let base = [
        "s.net", "--set", "pairs=2", "--until", "100ms", "--pcap", "none",
    ];
    run(&dir, "o", &base);
    let out = dir.join("o");
    assert_eq!(
        listing(&out.join("samples")),
        ["link.csv", "qdisc.csv", "tcp.csv"]
    );
    let (_, q) = csv(&out.join("samples/qdisc.csv"));
    assert_eq!(q.len(), 21, "0, 5, …, 100 ms of one qdisc");
    assert!(q.iter().all(|r| r[1] == "A" && r[2] == "eth0"));
    let (_, l) = csv(&out.join("samples/link.csv"));
    let froms: Vec<&str> = l[..2].iter().map(|r| r[1].as_str()).collect();
    assert_eq!(froms, ["A.eth0", "B.eth0"]);
    assert_eq!(l.len(), 42);
    let (_, t) = csv(&out.join("samples/tcp.csv"));
    assert!(!t.is_empty() && t.iter().all(|r| r[1] == "S0"));

    // --sample keeps the choice at another interval; `off` records nothing.
    run(&dir, "o2", &[&base[..], &["--sample", "20ms"]].concat());
    let (_, q) = csv(&dir.join("o2/samples/qdisc.csv"));
    assert_eq!(q.len(), 6);
    run(&dir, "o3", &[&base[..], &["--sample", "off"]].concat());
    assert!(!dir.join("o3/samples").exists());
    // A replay samples as the run did.
    let o = sim_in(&dir, &["run", "--replay", "o2", "--out", "o4", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert_eq!(
        fs::read(dir.join("o2/samples/qdisc.csv")).unwrap(),
        fs::read(dir.join("o4/samples/qdisc.csv")).unwrap()
    );
}

#[test]
fn bad_sample_input_is_refused_with_its_place() {
    let dir = scratch("sample-bad");
    let o = sim_in(
        &dir,
        &[
            "run",
            scenario("ping.net").to_str().unwrap(),
            "--sample",
            "0ms",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(
        common::stderr(&o).contains("longer than 0s"),
        "{}",
        said(&o)
    );
    let src = fs::read_to_string(scenario("ping.net")).unwrap() + "\nsample 1ms { qdisc r.eth7 }\n";
    fs::write(dir.join("s.net"), src).unwrap();
    let o = sim_in(&dir, &["run", "s.net", "--out", "o"]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    let err = common::stderr(&o);
    assert!(err.contains("unknown interface `r.eth7`"), "{err}");
    assert!(err.contains("s.net:"), "{err}");
    assert!(!dir.join("o").exists());
}

#[test]
fn snapshots_at_chosen_instants_go_into_their_folders() {
    let dir = scratch("snapshot-at");
    let red = scenario("tc/red_ecn.net");
    run(
        &dir,
        "o",
        &[
            red.to_str().unwrap(),
            "--pcap",
            "none",
            "--until",
            "400ms",
            "--snapshot",
            "tc",
            "--snapshot-at",
            "250ms,150ms,5s",
        ],
    );
    let snaps = dir.join("o/snapshots");
    assert_eq!(
        listing(&snaps),
        [
            "a.tc.txt",
            "at-0.150000000s",
            "at-0.250000000s",
            "b.tc.txt",
            "r.tc.txt"
        ]
    );
    let sent = |p: &Path| -> u64 {
        let t = fs::read_to_string(p).unwrap();
        let eth1 = &t[t.find("dev eth1").unwrap()..];
        let s = &eth1[eth1.find(" Sent ").unwrap() + 6..];
        s.split(' ').next().unwrap().parse().unwrap()
    };
    let (a, b, end) = (
        sent(&snaps.join("at-0.150000000s/r.tc.txt")),
        sent(&snaps.join("at-0.250000000s/r.tc.txt")),
        sent(&snaps.join("r.tc.txt")),
    );
    assert!(0 < a && a < b && b < end, "{a} {b} {end}");
    let params = json(&dir.join("o/params.json"));
    assert!(
        params["command"]
            .as_str()
            .unwrap()
            .contains(" --snapshot-at 150000000ns,250000000ns,5000000000ns ")
    );
}

/// The chronographs of tcp_info (`tcp_chrono_start`/`stop`): a receiver with a tiny
/// buffer holds the sender back by its window (rwnd-limited most of its busy time); with
/// a large buffer the window never does.
#[test]
fn busy_and_rwnd_limited_times_follow_the_receivers_window() {
    let dir = scratch("chrono");
    let net = |rmem: &str| {
        format!(
            "end 1s
host a {{ iface eth0 {{ ip 10.0.0.1/24 }} }}
host b {{ iface eth0 {{ ip 10.0.0.2/24 }}  sysctl net.ipv4.tcp_rmem = {rmem} }}
link a.eth0 -- b.eth0 {{ rate 100Mbit  delay 10ms }}
app b: tcp_sink {{ port 9 }}
app a: tcp_bulk {{ to 10.0.0.2:9  bytes unlimited }} at 100ms
sample 100ms {{ tcp a }}
"
        )
    };
    let last = |name: &str, rmem: &str| {
        fs::write(dir.join(format!("{name}.net")), net(rmem)).unwrap();
        run(
            &dir,
            name,
            &[&format!("{name}.net"), "--pcap", "none", "--trace", "none"],
        );
        let rows = last_rows(&dir.join(format!("{name}/samples/tcp.csv")));
        assert_eq!(rows.len(), 1);
        let us = |c: &str| rows[0][c].parse::<u64>().unwrap();
        (
            us("busy_time_us"),
            us("rwnd_limited_us"),
            us("sndbuf_limited_us"),
        )
    };
    // Busy from the first write (100 ms + the handshake) to the end: about 0.88 s.
    let (busy, rwnd, sndbuf) = last("small", "4096 4096 4096");
    assert!((850_000..=900_000).contains(&busy), "{busy}");
    assert!(rwnd > busy * 9 / 10, "rwnd-limited {rwnd} of {busy}");
    assert_eq!(sndbuf, 0);
    let (busy, rwnd, _) = last("large", "4096 131072 6291456");
    assert!((850_000..=900_000).contains(&busy), "{busy}");
    assert_eq!(rwnd, 0);
}

/// A run's folder stays a run's folder once `sim plot` and `sim report` have added to it, and
/// with snapshots taken at instants (folders in `snapshots/`): the next run replaces it.
#[test]
fn a_folder_with_plots_report_and_instant_snapshots_is_replaced_by_the_next_run() {
    let dir = scratch("rerun");
    let red = scenario("tc/red_ecn.net");
    let args = [
        red.to_str().unwrap(),
        "--until",
        "300ms",
        "--pcap",
        "none",
        "--sample",
        "10ms",
        "--snapshot",
        "tc",
        "--snapshot-at",
        "150ms",
    ];
    run(&dir, "o", &args);
    for cmd in [&["plot", "o"][..], &["report", "o"][..]] {
        let o = sim_in(&dir, cmd);
        assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    }
    let before = listing(&dir.join("o"));
    assert!(before.contains(&"plots".to_string()) && before.contains(&"report.html".to_string()));
    run(&dir, "o", &args);
    let after = listing(&dir.join("o"));
    assert!(!after.contains(&"report.html".to_string()), "{after:?}");
    assert!(after.contains(&"samples".to_string()), "{after:?}");
    // `--report` does both after the run, and says where.
    let o = sim_in(
        &dir,
        &[&["run"], &args[..], &["--report", "--out", "o"]].concat(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let said_report = common::stdout(&o);
    assert!(
        said_report.contains("  report     o/report.html · o/plots/ ("),
        "{said_report}"
    );
    let page = fs::read_to_string(dir.join("o/report.html")).unwrap();
    assert!(page.contains("<figure class=\"plot\""));
    assert!(listing(&dir.join("o/plots")).contains(&"cwnd.svg".to_string()));
    assert_eq!(json(&dir.join("o/params.json"))["report"], true);
}
