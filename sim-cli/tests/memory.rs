//! Memory is bounded where Linux bounds it: the peak RSS of a `sim run` (the child's
//! `VmHWM`) must not grow with simulated time when the model holds no more state at the end
//! of a longer run, whatever a scenario asks of it. The bounds are generous (tens of MiB):
//! these are not measurements, they catch memory that grows with the traffic.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{SIM, said, scratch, sim_in, stderr};
use serde_json::Value;

/// What a measured run left: its exit code, peak RSS in KiB, stats.json and stderr.
struct Measured {
    code: Option<i32>,
    peak_kib: u64,
    stats: Option<Value>,
    stderr: String,
}

/// `VmHWM` of process `pid` in KiB, while it runs.
fn vm_hwm(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `sim run FILE ARGS… --out out --quiet` in `dir` and samples its peak RSS until it
/// exits. (The last sample is at most a few milliseconds before the exit; the peak of these
/// runs is reached while they simulate.)
fn run_measured(dir: &Path, file: &str, args: &[&str]) -> Measured {
    let _ = fs::remove_dir_all(dir.join("out"));
    let err_path = dir.join("stderr.txt");
    let mut child = Command::new(SIM)
        .args(["run", file, "--out", "out", "--quiet"])
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("sim starts");
    let mut peak = 0;
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if let Some(kib) = vm_hwm(child.id()) {
            peak = peak.max(kib);
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let stats = fs::read_to_string(dir.join("out/stats.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).expect("stats.json parses"));
    Measured {
        code: status.code(),
        peak_kib: peak,
        stats,
        stderr: fs::read_to_string(err_path).unwrap_or_default(),
    }
}

impl Measured {
    /// The run's statistics; panics with what it said if it failed.
    fn stats(&self) -> &Value {
        assert_eq!(self.code, Some(0), "sim failed: {}", self.stderr);
        self.stats
            .as_ref()
            .expect("a finished run wrote stats.json")
    }
}

/// Runs the scenario `text` to `short` and to `long` (twice `short`), pcap off.
fn short_and_long(tag: &str, text: &str, short: &str, long: &str) -> (Measured, Measured) {
    let dir = scratch(tag);
    fs::write(dir.join("s.net"), text).unwrap();
    let one = |until: &str| run_measured(&dir, "s.net", &["--until", until, "--pcap", "none"]);
    (one(short), one(long))
}

/// Asserts that doubling the simulated time left the peak RSS where it was (within
/// `slack_mib`), and that it stayed under `max_mib`.
fn assert_flat(what: &str, short: &Measured, long: &Measured, slack_mib: u64, max_mib: u64) {
    let (a, b) = (short.peak_kib / 1024, long.peak_kib / 1024);
    assert!(
        a > 0 && b > 0,
        "{what}: peak RSS was sampled ({a} MiB, {b} MiB)"
    );
    assert!(
        b <= a + slack_mib,
        "{what}: peak RSS grew with simulated time: {a} MiB, then {b} MiB for twice as long"
    );
    assert!(b <= max_mib, "{what}: peak RSS {b} MiB > {max_mib} MiB");
}

// ---------------------------------------------------------------------------------------------
// UDP fragments charge the sending socket's send buffer.

/// A sender far faster than its 1 Mbit/s link, behind a qdisc that would hold a million
/// packets: only the socket's send buffer (212992 bytes of truesize) limits what waits.
const UDP_FLOOD: &str = "\
param payload = 1473B
end 10s
host a { iface eth0 { ip 10.0.0.1/24  qdisc pfifo limit 1000000 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Mbit  delay 1ms }
app b: udp_sink { port 9 }
app a: udp_cbr { to 10.0.0.2:9  payload $payload  interval 50us }
";

#[test]
fn fragmenting_udp_gets_eagain_and_its_backlog_stays_bounded_like_unfragmented() {
    let dir = scratch("udp-frag");
    fs::write(dir.join("flood.net"), UDP_FLOOD).unwrap();
    let one = |payload: &str, until: &str| {
        run_measured(
            &dir,
            "flood.net",
            &[
                "--set",
                &format!("payload={payload}"),
                "--until",
                until,
                "--pcap",
                "none",
            ],
        )
    };
    for payload in ["1472B", "1473B"] {
        let r = one(payload, "1s");
        let st = r.stats();
        let cbr = &st["nodes"]["a"]["udp_cbr"];
        let qdisc = &st["nodes"]["a"]["eth0"]["qdisc"];
        // 20 000 sends a second against a link that carries about 80 datagrams: nearly all
        // of them find the send buffer full.
        assert!(
            cbr["eagain"].as_u64().unwrap() > 15_000,
            "{payload}: {cbr} {qdisc}"
        );
        // What waits in the qdisc is what the send buffer holds: 212992 bytes of truesize,
        // at least 1088 a packet (the 1-byte second fragment), so fewer than 200 packets.
        assert!(qdisc["qlen"].as_u64().unwrap() < 200, "{payload}: {qdisc}");
        assert!(
            st["nodes"]["a"]["Udp"]["SndbufErrors"].as_u64().unwrap() > 15_000,
            "EAGAIN counts SndbufErrors, as Linux's udp_sendmsg does: {}",
            st["nodes"]["a"]["Udp"]
        );
    }
    let short = one("1473B", "1s");
    let long = one("1473B", "2s");
    assert_flat("1473-byte datagrams", &short, &long, 16, 200);
}

// ---------------------------------------------------------------------------------------------
// IP reassembly memory is bounded by net.ipv4.ipfrag_high_thresh.

/// Two-fragment datagrams over a link that loses 30% of frames: four in ten datagrams leave
/// a reassembly queue waiting for a fragment that never comes (for `ipfrag_time`, 30 s).
const FRAG_LOSS: &str = "\
end 60s
host a { iface eth0 { ip 10.0.0.1/24 } }
host b { iface eth0 { ip 10.0.0.2/24 } }
link a.eth0 -- b.eth0 { rate 1Gbit  delay 10us  loss 30% }
app b: udp_sink { port 9 }
app a: udp_cbr { to 10.0.0.2:9  payload 1473B  interval 10us }
";

#[test]
fn incomplete_reassembly_queues_stay_under_ipfrag_high_thresh() {
    let (short, long) = short_and_long("reasm", FRAG_LOSS, "1s", "2s");
    let ip = &long.stats()["nodes"]["b"]["Ip"];
    // Once the queues hold 4 MiB (some 2000 incomplete datagrams, 60 ms in), every fragment
    // is refused until the first queue times out, 30 s later.
    assert!(ip["ReasmOKs"].as_u64().unwrap() > 1_000, "{ip}");
    assert!(ip["ReasmFails"].as_u64().unwrap() > 100_000, "{ip}");
    assert_flat("incomplete reassembly", &short, &long, 16, 200);
}

// ---------------------------------------------------------------------------------------------
// An http_server body is generated as it is sent.

const HUGE_BODY: &str = "\
end 60s
host client { iface eth0 { ip 10.0.0.2/24 } }
host web { iface eth0 { ip 10.0.0.80/24 } }
link client.eth0 -- web.eth0 { rate 1Gbit  delay 100us }
app web: http_server { port 80  body 1TiB }
app client: curl \"http://10.0.0.80/\" at 10ms
";

#[test]
fn a_one_tebibyte_body_runs_in_memory_that_does_not_grow() {
    let (short, long) = short_and_long("http-body", HUGE_BODY, "200ms", "400ms");
    let st = long.stats();
    let sent = st["nodes"]["web"]["http_server"]["bytes_sent"]
        .as_u64()
        .unwrap();
    // About 1 Gbit/s from 13 ms on (118 MB in the first second).
    assert!(sent > 30_000_000, "{}", st["nodes"]["web"]["http_server"]);
    assert_flat("body 1TiB", &short, &long, 16, 200);
}

#[test]
fn a_body_beyond_what_a_byte_count_holds_is_refused_where_it_is_written() {
    let dir = scratch("http-body-check");
    let text = HUGE_BODY.replace("body 1TiB", "body 16777216TiB");
    fs::write(dir.join("body.net"), text).unwrap();
    let o = sim_in(&dir, &["check", "body.net"]);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    let err = stderr(&o);
    assert!(err.contains("body.net:5:"), "located: {err}");
    assert!(err.contains("16777216TiB"), "quotes the text: {err}");
    // The largest size is accepted.
    let max = HUGE_BODY.replace("body 1TiB", "body 18446744073709551615B");
    fs::write(dir.join("max.net"), max).unwrap();
    let o = sim_in(&dir, &["check", "max.net"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
}
