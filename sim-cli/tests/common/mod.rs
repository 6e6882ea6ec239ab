//! Helpers for the tests that run the real `sim` binary: run it, find scenarios, make
//! scratch folders.

#![allow(dead_code)] // each test binary uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// The `sim` binary cargo built for these tests.
pub const SIM: &str = env!("CARGO_BIN_EXE_sim");

/// A scenario of the repository: `scenario("ping.net")`, `scenario("bench/dumbbell_udp.net")`.
pub fn scenario(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../scenarios")
        .join(rel)
}

/// Runs `sim` with `args` in the folder `cwd`.
pub fn sim_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(SIM)
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the sim binary runs")
}

/// What a finished command said, for assertion messages.
pub fn said(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// A fresh, empty folder, unique to this process, `tag` and call; removed when dropped
/// unless the test failed (then it is kept to look at, and its path is in the message).
pub fn scratch(tag: &str) -> Scratch {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("sim-cli-test-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    Scratch(dir)
}

/// See [`scratch`].
#[derive(Debug)]
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// The names in a folder, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A ping flood that would run for a day of simulated time (ping.net with `end 100000s`,
/// a ping every 10 µs): a run that only stops when told to. Written as `long.net` in `dir`.
pub fn long_scenario(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(scenario("ping.net"))
        .expect("ping.net")
        .replace("end 6s", "end 100000s")
        .replace(
            "count 4  interval 1s  size 56B",
            "count 1000000000  interval 10us  size 56B",
        );
    assert!(text.contains("interval 10us"), "ping.net changed: {text}");
    let path = dir.join("long.net");
    std::fs::write(&path, text).expect("long.net");
    path
}

/// Starts `sim` with `args` in `cwd`, its output captured.
pub fn spawn_in(cwd: &Path, args: &[&str]) -> std::process::Child {
    Command::new(SIM)
        .args(args)
        .current_dir(cwd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the sim binary starts")
}

/// Waits for `child` for at most `secs` seconds; past that it is killed and the test fails
/// with `what` (a guard against a run that never ends, not a measure of speed).
pub fn wait_at_most(child: std::process::Child, secs: u64, what: &str) -> Output {
    let id = child.id();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    let waiter = std::thread::spawn(move || child.wait_with_output().expect("wait"));
    while !waiter.is_finished() {
        if std::time::Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-KILL", &id.to_string()])
                .status();
            let o = waiter.join().expect("waiter");
            panic!("{what}: still running after {secs} s, killed\n{}", said(&o));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    waiter.join().expect("waiter")
}

/// Sends `signal` (`TERM`, `HUP`, `INT`, `KILL`) to process `pid` with kill(1).
pub fn send_signal(pid: u32, signal: &str) {
    let st = Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .expect("kill(1) runs");
    assert!(st.success(), "kill -{signal} {pid}");
}

/// Waits (up to a minute) until `path` exists and holds at least `bytes` bytes.
pub fn wait_for_file(path: &Path, bytes: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::metadata(path).map_or(true, |m| m.len() < bytes) {
        assert!(
            std::time::Instant::now() < deadline,
            "{} did not reach {bytes} bytes",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Checks that a classic pcap is whole: its global header, then records whose lengths lead
/// exactly to the end of the file. Returns the number of records.
pub fn pcap_records(path: &Path) -> usize {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(b.len() >= 24, "{}: no pcap header", path.display());
    assert_eq!(&b[..4], &[0x4d, 0x3c, 0xb2, 0xa1], "{}", path.display());
    let (mut at, mut n) = (24usize, 0usize);
    while at < b.len() {
        assert!(at + 16 <= b.len(), "{}: cut record header", path.display());
        let incl = u32::from_le_bytes(b[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 16 + incl;
        assert!(at <= b.len(), "{}: cut record", path.display());
        n += 1;
    }
    n
}

/// The hidden partial folders (`.<name>.partial-<pid>…`) in `dir`.
pub fn partials(dir: &Path) -> Vec<String> {
    listing(dir)
        .into_iter()
        .filter(|n| n.starts_with('.') && n.contains(".partial-"))
        .collect()
}

/// Parses a JSON file.
pub fn json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The files of a default run of ping.net.
pub const PING_FILES: [&str; 8] = [
    "a-eth0.pcap",
    "b-eth0.pcap",
    "params.json",
    "r-eth0.pcap",
    "r-eth1.pcap",
    "run.json",
    "stats.json",
    "trace.txt",
];

/// Starts `sim run LONG --out OUT ARGS…` in `cwd` (LONG: [`long_scenario`]) and returns once
/// it is simulating (its partial folder has trace lines on disk).
pub fn start_long(cwd: &Path, out: &str, args: &[&str]) -> std::process::Child {
    let long = long_scenario(cwd);
    let mut all = vec!["run", long.to_str().unwrap(), "--out", out];
    all.extend_from_slice(args);
    let child = spawn_in(cwd, &all);
    let out = Path::new(out);
    let partial = cwd
        .join(out.parent().unwrap_or(Path::new("")))
        .join(format!(
            ".{}.partial-{}",
            out.file_name().unwrap().to_string_lossy(),
            child.id()
        ));
    wait_for_file(&partial.join("trace.txt"), 1);
    child
}

/// Asserts that `files` are the same bytes in folders `a` and `b`.
pub fn assert_same_files(a: &Path, b: &Path, files: &[&str]) {
    for f in files {
        let x = std::fs::read(a.join(f)).unwrap_or_else(|e| panic!("{}: {e}", a.join(f).display()));
        let y = std::fs::read(b.join(f)).unwrap_or_else(|e| panic!("{}: {e}", b.join(f).display()));
        assert!(
            x == y,
            "{f} differs between {} and {}",
            a.display(),
            b.display()
        );
    }
}
