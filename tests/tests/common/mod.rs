//! Helpers shared by the whole-run tests: load `.net` text, build and run the world with an
//! in-memory trace (and optionally a capture), read pcap and pcapng files back.

#![allow(dead_code)] // each test binary uses its own subset

pub mod two_host;

use std::fs::File;
use std::io::BufReader;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use pcap_file::pcap::PcapReader;
use pcap_file::pcapng::{Block, PcapNgReader};
use sim_core::{Limits, run};
use sim_dsl::{Options, Scenario, load_str};
use sim_stack::capture::{CaptureConfig, CaptureFormat, CaptureSummary};
use sim_stack::trace::{MemorySink, Trace, TraceLevel};
use sim_stack::world::Outputs;
use sim_stack::world::RunStats;
use sim_stack::world::World;

/// A finished run.
pub struct Ran {
    pub world: World,
    /// The frame-level trace text.
    pub trace: String,
    /// `world.stats` at the end.
    pub stats: RunStats,
    /// What the capture wrote, when capture was on.
    pub capture: Option<CaptureSummary>,
}

impl Ran {
    /// Trace lines containing every one of `needles`.
    pub fn lines_with(&self, needles: &[&str]) -> Vec<&str> {
        self.trace
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .collect()
    }

    /// The interface stats of `node`.`iface`.
    pub fn iface(&self, node: &str, iface: &str) -> &sim_stack::world::IfaceStats {
        &self.stats.nodes[node].ifaces[iface]
    }

    /// The report of the `i`-th app of the scenario (must be a ping).
    pub fn ping(&self, i: usize) -> sim_stack::apps::ping::PingReport {
        match &self.world.app_reports()[i].1 {
            sim_stack::apps::AppReport::Ping(p) => (**p).clone(),
            other => panic!("app {i} is not a ping: {other:?}"),
        }
    }

    /// The report of the `i`-th app of the scenario (must be a `curl`).
    #[allow(dead_code)]
    pub fn curl(&self, i: usize) -> sim_stack::apps::curl::CurlReport {
        match &self.world.app_reports()[i].1 {
            sim_stack::apps::AppReport::Curl(c) => (**c).clone(),
            other => panic!("app {i} is not a curl: {other:?}"),
        }
    }

    /// The report of the `i`-th app of the scenario (must be a `udp_cbr`).
    pub fn udp_cbr(&self, i: usize) -> sim_stack::apps::udp_cbr::UdpCbrReport {
        match &self.world.app_reports()[i].1 {
            sim_stack::apps::AppReport::UdpCbr(c) => c.clone(),
            other => panic!("app {i} is not a udp_cbr: {other:?}"),
        }
    }
}

/// The routed line of the ICMP tests, as the Linux namespaces were set up: host a
/// (10.0.0.2) — router r — host b (10.0.1.2), 100 Mbit/s links of `delay`, a run of `end`.
/// `app` runs on a from 1 s; `r_extra` and `b_extra` go inside r's and b's blocks.
pub fn a_r_b(app: &str, r_extra: &str, b_extra: &str, delay: &str, end: &str) -> String {
    format!(
        "
end {end}
host a {{
    iface eth0 {{ ip 10.0.0.2/24 }}
    route default via 10.0.0.1
}}
router r {{
    iface eth0 {{ ip 10.0.0.1/24 }}
    iface eth1 {{ ip 10.0.1.1/24 }}
    {r_extra}
}}
host b {{
    iface eth0 {{ ip 10.0.1.2/24 }}
    route default via 10.0.1.1
    {b_extra}
}}
link a.eth0 -- r.eth0 {{ rate 100Mbit  delay {delay} }}
link r.eth1 -- b.eth0 {{ rate 100Mbit  delay {delay} }}
app a: {app} at 1s
"
    )
}

/// Loads `.net` text with `--set` overrides; panics with the rendered diagnostics on error.
pub fn load(src: &str, overrides: &[(&str, &str)]) -> Scenario {
    let opts = Options {
        overrides: overrides
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    let loaded = load_str("test.net", src, &opts);
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
    loaded.scenario.expect("no errors, so a scenario")
}

/// Runs `sc` to its end time with a frame-level trace and, if given, a capture.
pub fn run_scenario(sc: &Scenario, capture: Option<CaptureConfig>) -> Ran {
    let sink = MemorySink::default();
    let outputs = Outputs {
        trace: Trace::new(TraceLevel::Frames, Box::new(sink.clone())),
        capture: capture.map(|c| (c, None)),
        record_paths: false,
    };
    let (mut world, mut sched) = World::build(sc, outputs).expect("builds");
    let report = run(&mut world, &mut sched, Limits::until(sc.end_time), |_| {
        ControlFlow::Continue(())
    });
    let capture = world.finish_outputs().expect("outputs written");
    let stats = world.stats(report.now.as_nanos(), report.events);
    Ran {
        world,
        trace: sink.text(),
        stats,
        capture,
    }
}

/// Runs `sc` to its end time with no frame trace but the `tcp_probe` lines (every cwnd and
/// srtt update, as the kernel's tracepoint), returning the stats and those lines.
pub fn run_with_tcp_probe(sc: &Scenario) -> (RunStats, String) {
    let probe = MemorySink::default();
    let outputs = Outputs {
        trace: Trace::new(TraceLevel::None, Box::new(MemorySink::default()))
            .with_tcp_probe(Box::new(probe.clone())),
        capture: None,
        record_paths: false,
    };
    let (mut world, mut sched) = World::build(sc, outputs).expect("builds");
    let report = run(&mut world, &mut sched, Limits::until(sc.end_time), |_| {
        ControlFlow::Continue(())
    });
    world.finish_outputs().expect("outputs written");
    (
        world.stats(report.now.as_nanos(), report.events),
        probe.text(),
    )
}

/// A fresh, empty folder under the system temp dir, unique to this process, `tag` and call
/// (tests run in parallel threads of one process). Removed when dropped, unless the test is
/// failing: then it is left, and named on stderr, for a look at what the run wrote.
pub fn temp_dir(tag: &str) -> TempDir {
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let n = CALLS.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("netsim-tests-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

/// A test's output folder (see [`temp_dir`]); derefs to its path.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test outputs left in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A capture configuration writing `format` into `dir`.
pub fn capture_into(dir: &Path, format: CaptureFormat) -> CaptureConfig {
    CaptureConfig::new(dir, format)
}

/// One captured frame: timestamp (ns since the start of the run), original length, bytes,
/// and the pcapng interface id (0 for classic pcap).
#[derive(Debug, Clone)]
pub struct Record {
    pub ts_ns: u64,
    pub orig_len: u32,
    pub data: Vec<u8>,
    pub iface: u32,
}

/// Reads a classic pcap file; checks the header (nanosecond resolution, Ethernet).
pub fn read_pcap(path: &Path) -> Vec<Record> {
    let f = BufReader::new(File::open(path).expect("pcap file opens"));
    let mut r = PcapReader::new(f).expect("pcap header parses");
    let h = r.header();
    assert_eq!(
        h.ts_resolution,
        pcap_file::TsResolution::NanoSecond,
        "{path:?}"
    );
    assert_eq!(h.datalink, pcap_file::DataLink::ETHERNET, "{path:?}");
    assert_eq!((h.version_major, h.version_minor), (2, 4), "{path:?}");
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.expect("pcap record parses");
        out.push(Record {
            ts_ns: u64::try_from(p.timestamp.as_nanos()).expect("fits"),
            orig_len: p.orig_len,
            data: p.data.into_owned(),
            iface: 0,
        });
    }
    out
}

/// Reads a pcapng file: the interface names (by id) and every Enhanced Packet Block.
pub fn read_pcapng(path: &Path) -> (Vec<String>, Vec<Record>) {
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
    let f = BufReader::new(File::open(path).expect("pcapng file opens"));
    let mut r = PcapNgReader::new(f).expect("pcapng section header parses");
    let mut names = Vec::new();
    let mut out = Vec::new();
    while let Some(b) = r.next_block() {
        match b.expect("pcapng block parses") {
            Block::InterfaceDescription(idb) => {
                assert_eq!(idb.linktype, pcap_file::DataLink::ETHERNET);
                let mut name = None;
                let mut tsresol = None;
                for o in &idb.options {
                    match o {
                        InterfaceDescriptionOption::IfName(n) => name = Some(n.to_string()),
                        InterfaceDescriptionOption::IfTsResol(t) => tsresol = Some(*t),
                        _ => {}
                    }
                }
                assert_eq!(tsresol, Some(9), "if_tsresol must declare nanoseconds");
                names.push(name.expect("every interface has if_name"));
            }
            Block::EnhancedPacket(epb) => out.push(Record {
                ts_ns: u64::try_from(epb.timestamp.as_nanos()).expect("fits"),
                orig_len: epb.original_len,
                data: epb.data.into_owned(),
                iface: epb.interface_id,
            }),
            _ => {}
        }
    }
    (names, out)
}

/// The folder of a Linux reference capture: `$env` if set, else `shared/NAME` beside the
/// checkout (or beside a folder above it), else `/work/shared/NAME`; the tests that use it
/// fail when it holds no `client.pcap`.
pub fn reference_dir(name: &str, env: &str) -> PathBuf {
    if let Some(d) = std::env::var_os(env) {
        return PathBuf::from(d);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.ancestors()
        .map(|a| a.join("../shared").join(name))
        .chain([PathBuf::from("/work/shared").join(name)])
        .find(|d| d.join("client.pcap").is_file())
        .unwrap_or_else(|| root.join("../shared").join(name))
}

/// Reads a classic Ethernet pcap of any resolution into (ns, bytes); no frame may be
/// truncated.
pub fn read_any_pcap(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let f = BufReader::new(
        File::open(path).unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display())),
    );
    let mut r = PcapReader::new(f).expect("pcap header parses");
    assert_eq!(r.header().datalink, pcap_file::DataLink::ETHERNET);
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        let p = p.expect("pcap record parses");
        assert_eq!(
            p.orig_len as usize,
            p.data.len(),
            "{}: truncated",
            path.display()
        );
        out.push((p.timestamp.as_nanos() as u64, p.data.into_owned()));
    }
    out
}

/// The name of a MAC of the reference runs (which the flagship scenarios reuse).
pub fn who(mac: [u8; 6]) -> String {
    match mac {
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] => "bcast".into(),
        [2, 0, 0, 0, 0, 2] => "client".into(),
        [2, 0, 0, 0, 0, 1] => "router.eth0".into(),
        [2, 0, 0, 0, 1, 1] => "router.eth1".into(),
        [2, 0, 0, 0, 1, 0x53] => "dns".into(),
        [2, 0, 0, 0, 1, 0x80] => "web".into(),
        [0, 0, 0, 0, 0, 0] => "zero".into(),
        [0x33, 0x33, a, b, c, d] => format!("mc:{a:02x}:{b:02x}:{c:02x}:{d:02x}"),
        m => format!("{m:02x?}"),
    }
}
