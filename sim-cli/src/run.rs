//! `sim run FILE.net [options]`: load a scenario, build the world, run it, and write its
//! outputs — pcaps, `trace.txt`, `stats.json`, `params.json` — into `out/<scenario>/`.
//!
//! Outputs are written into a temporary folder that replaces the destination only once they
//! are complete ([`crate::outdir`], which also refuses a destination sim did not write); on
//! any error nothing is left behind and the exit code is 2. SIGINT (Ctrl-C), SIGTERM and
//! SIGHUP stop the simulation at the next progress check, and so do `--max-events` and
//! `--max-wall`; the outputs then hold everything simulated so far, complete and valid,
//! `stats.json` says why the run stopped, and the exit code is 128 + the signal (3 for a
//! limit).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use sha2::{Digest, Sha256};
use sim_core::time::scale_decimal;
use sim_core::{Limits, SimDuration, SimTime, StopReason};
use sim_dsl::FileLoader;
use sim_stack::apps::AppReport;
use sim_stack::capture::{CaptureConfig, CaptureFormat, CaptureSummary};
use sim_stack::config::Scenario;
use sim_stack::trace::{Trace, TraceLevel};
use sim_stack::world::Outputs;
use sim_stack::world::World;
use sim_stack::world::{RunStats, RunTotals, StatsView};

use crate::observe::{Observed, RunObserver, SampleArg};
use crate::progress::Progress;
use crate::scenario_args::{ScenarioArgs, parse_set};
use crate::snapshot::SnapshotKind;
use crate::{outdir::OutDir, summary};

/// Exit code for bad input of any kind.
pub const EXIT_ERRORS: u8 = 2;
/// Exit code when `--max-events` or `--max-wall` stopped the run (its outputs are complete).
pub const EXIT_LIMIT: u8 = 3;

/// The signals that end a run as Ctrl-C does: what `timeout`, Slurm, systemd and a closed
/// terminal send.
pub const STOP_SIGNALS: [i32; 3] = [
    signal_hook::consts::SIGINT,
    signal_hook::consts::SIGTERM,
    signal_hook::consts::SIGHUP,
];

/// The value of a stop flag when the caller (a sweep) stops its runs, not a signal.
pub const STOP_BY_CALLER: usize = usize::MAX;

/// Makes each of [`STOP_SIGNALS`] store its number in `flag` (instead of killing the
/// process): runs check it at their progress points. Further signals only store again, so
/// once a run has stopped they change nothing while its outputs are written.
pub fn catch_stop_signals(flag: &Arc<AtomicUsize>) {
    for sig in STOP_SIGNALS {
        let _ = signal_hook::flag::register_usize(sig, Arc::clone(flag), sig as usize);
    }
}

/// A signal's name.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        signal_hook::consts::SIGINT => "SIGINT",
        signal_hook::consts::SIGTERM => "SIGTERM",
        signal_hook::consts::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

/// Why a run ended before its end time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EarlyStop {
    /// One of [`STOP_SIGNALS`].
    Signal(i32),
    /// The caller stopped it (a sweep that ends early).
    Caller,
    /// `--max-events N` events ran.
    MaxEvents(u64),
    /// `--max-wall` of simulation went by.
    MaxWall(Duration),
}

impl EarlyStop {
    /// `interrupted by SIGTERM`, `stopped by --max-events 5000`.
    pub fn describe(&self) -> String {
        match self {
            Self::Signal(s) if *s == signal_hook::consts::SIGINT => {
                "interrupted by SIGINT (Ctrl-C)".into()
            }
            Self::Signal(s) => format!("interrupted by {}", signal_name(*s)),
            Self::Caller => "stopped with the sweep".into(),
            Self::MaxEvents(n) => format!("stopped by --max-events {n}"),
            Self::MaxWall(d) => format!("stopped by --max-wall {}", wall_word(*d)),
        }
    }

    /// The exit code of `sim run` after it.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Signal(s) => (128 + *s).clamp(0, 255) as u8,
            Self::Caller => 128 + signal_hook::consts::SIGINT as u8,
            Self::MaxEvents(_) | Self::MaxWall(_) => EXIT_LIMIT,
        }
    }

    /// What stats.json records, the run having stopped at `at_ns`.
    fn record(&self, at_ns: u64) -> Interrupted {
        let mut r = Interrupted {
            reason: "signal",
            signal: None,
            max_events: None,
            max_wall_ns: None,
            at_ns,
        };
        match *self {
            Self::Signal(s) => r.signal = Some(signal_name(s)),
            Self::Caller => r.reason = "stopped",
            Self::MaxEvents(n) => {
                r.reason = "max_events";
                r.max_events = Some(n);
            }
            Self::MaxWall(d) => {
                r.reason = "max_wall";
                r.max_wall_ns = Some(d.as_nanos().try_into().unwrap_or(u64::MAX));
            }
        }
        r
    }
}

/// `stats.json`'s `interrupted` object: why and where a run stopped before its end.
#[derive(Debug, Clone, Serialize)]
struct Interrupted {
    /// `signal`, `max_events` or `max_wall`.
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_events: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_wall_ns: Option<u64>,
    /// The simulated time reached (stats.json's `sim_time_ns`).
    at_ns: u64,
}

/// What `stats.json` holds: the run's statistics, led by `interrupted` when it stopped
/// early. Without it, exactly `RunStats`' own serialization.
struct StatsFile<'a, 'w> {
    interrupted: Option<Interrupted>,
    stats: &'a StatsView<'w>,
}

impl Serialize for StatsFile<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let Some(why) = &self.interrupted else {
            return self.stats.serialize(s);
        };
        let RunTotals {
            sim_time_ns,
            events,
            frames,
            drops,
        } = &self.stats.totals;
        let mut st = s.serialize_struct("RunStats", 9)?;
        st.serialize_field("interrupted", why)?;
        st.serialize_field("sim_time_ns", sim_time_ns)?;
        st.serialize_field("events", events)?;
        st.serialize_field("frames", frames)?;
        st.serialize_field("drops", drops)?;
        self.stats.serialize_rest(&mut st)?;
        st.end()
    }
}

/// Arguments of `sim run`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Examples:
  sim run scenarios/ping.net
  sim run scenarios/dns_then_http.net --set delay=5ms --seed 7
  sim run scenarios/bench/dumbbell_udp.net --pcap none --trace none --quiet
  sim run scenarios/ping.net --pcap a,r --trace path --out /tmp/ping
  sim run scenarios/ping.net --pcapng --trace path   # one file, paths as packet comments
  sim run --replay out/ping/                          # rerun exactly, from a run's folder
  sim run long.net --max-wall 30m                     # a runaway stops cleanly (exit 3)

--out must be absent, empty, or an earlier run's folder (see --force). SIGINT, SIGTERM
and SIGHUP stop the run with complete outputs (exit 128 + signal). See docs/outputs.md.")]
pub struct RunArgs {
    /// The scenario file (`.net`).
    #[arg(required_unless_present = "replay")]
    pub file: Option<PathBuf>,
    /// Override a param of the scenario (repeatable): `--set rate=10Mbit`.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String)>,
    /// The run's seed, instead of the scenario's `seed` (default 1): `--seed 42`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Output folder [default: out/<scenario name>]: `--out /tmp/run1`.
    ///
    /// It must be absent, empty, or an earlier run's folder (which is replaced); any other
    /// folder is refused before the run starts.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace the --out folder even if sim did not write it, deleting what is in it (never
    /// `/`, the home or current folder or one holding them, a mount point, or a folder
    /// holding the scenario): `--out results --force`.
    #[arg(long)]
    pub force: bool,
    /// Stop at this simulated time instead of the scenario's `end`: `--until 2.5s`.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<SimTime>,
    /// Stop after this many events, with complete outputs, exit code 3:
    /// `--max-events 1000000`.
    #[arg(long, value_name = "N")]
    pub max_events: Option<u64>,
    /// Stop after this much wall-clock time of simulation, with complete outputs, exit code
    /// 3: `--max-wall 30s`, `--max-wall 1m`, `--max-wall 2h`.
    #[arg(long, value_name = "DURATION", value_parser = parse_wall)]
    pub max_wall: Option<Duration>,
    /// Which nodes' interfaces are captured: `all`, `none`, or names: `--pcap client,r1`.
    #[arg(long, value_name = "all|none|NODE,…", default_value = "all")]
    pub pcap: String,
    /// One pcapng file for all interfaces (`capture.pcapng`) instead of a pcap per interface;
    /// with `--trace path`, each packet's function path is a packet comment:
    /// `--pcapng --trace path`.
    #[arg(long)]
    pub pcapng: bool,
    /// What `trace.txt` holds: nothing, a line per frame, or frames with function paths:
    /// `--trace path`.
    #[arg(long, value_enum, default_value = "frames")]
    pub trace: TraceArg,
    /// Also write `tcp_probe.txt`: the kernel's `tcp:tcp_probe` tracepoint, a line per
    /// segment each established TCP socket receives (cwnd, ssthresh, srtt, snd_nxt, snd_una,
    /// windows), before it is processed: `--tcp-probe`.
    #[arg(long)]
    pub tcp_probe: bool,
    /// Also write, at the end of the run, text snapshots per node as Linux tools print them,
    /// into `snapshots/`: `tc` writes `NODE.tc.txt` (`tc -s qdisc show` and, for classful
    /// roots, `tc -s class show`, per interface), `ss` `NODE.ss.txt` (`ss -tuni`), `ip`
    /// `NODE.ip.txt` (`ip -s link`, `ip neigh`, `ip route`, and the `-6` ones with IPv6),
    /// `nstat` `NODE.nstat.txt` (`nstat -a`), `iptables` `NODE.iptables.txt` (`iptables -L
    /// -v -n` of each table in use), `conntrack` `NODE.conntrack.txt` (`conntrack -L`, `-S`,
    /// on nodes that track connections), `all` every one: `--snapshot tc`, `--snapshot
    /// ss,ip`, `--snapshot all`.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND,…")]
    pub snapshot: Vec<SnapshotKind>,
    /// Also take the `--snapshot` kinds at these simulated instants, into
    /// `snapshots/at-<TIME>s/`: `--snapshot ss,tc --snapshot-at 1s,2.5s`.
    #[arg(long, value_delimiter = ',', value_name = "TIME,…", value_parser = parse_time,
          requires = "snapshot")]
    pub snapshot_at: Vec<SimTime>,
    /// Record time series every INTERVAL into `samples/` (`tcp.csv`: every TCP socket's
    /// tcp_info; `qdisc.csv`: backlog and drops; `link.csv`: utilization; `app.csv`: bytes):
    /// what the scenario's `sample` statement chooses, or everything; `off` records none:
    /// `--sample 10ms`.
    #[arg(long, value_name = "INTERVAL|off")]
    pub sample: Option<SampleArg>,
    /// After the run, also draw its figures into `plots/` (as `sim plot` does) and write
    /// `report.html`, one page of the whole run (as `sim report` does): `--sample 10ms
    /// --report`.
    #[arg(long)]
    pub report: bool,
    /// Run on N threads: the topology is split into N partitions that advance in windows
    /// of the smallest delay between them; every output is byte-identical to the run on one
    /// thread. Not with --max-events: `--threads 2`.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub threads: u32,
    /// Run as one rank of a run over several processes, on one machine or several, started
    /// by `mpirun -np N sim run --mpi FILE`: the topology is split into N partitions, one per
    /// rank, and rank 0 writes every output, byte-identical to the run in one process
    /// (samples and snapshots too). Needs a build with `--features mpi`; not with --stats
    /// ron, --threads, --max-events or --max-wall.
    #[arg(long)]
    pub mpi: bool,
    /// Format of the statistics file (`stats.json` or `stats.ron`): `--stats ron`.
    #[arg(long, value_enum, default_value = "json")]
    pub stats: StatsFormat,
    /// No progress bar and no summary (errors are still printed): `-q`.
    #[arg(long, short)]
    pub quiet: bool,
    /// Rerun a finished run from its output folder (its `params.json`): same file, params,
    /// seed and output options. Other options given here override the recorded ones:
    /// `--replay out/ping/ --out /tmp/again`.
    #[arg(long, value_name = "DIR", conflicts_with = "file")]
    pub replay: Option<PathBuf>,
    /// With --replay: run even if an input file changed since the recorded run (a warning
    /// names it): `--replay out/ping/ --allow-changed`.
    #[arg(long, requires = "replay")]
    pub allow_changed: bool,
}

/// `--trace` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceArg {
    /// No trace file.
    None,
    /// One line per frame sent, received or dropped.
    Frames,
    /// Frames, each followed by the modeled kernel functions its packet went through.
    Path,
}

/// `--stats` formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatsFormat {
    /// `stats.json`.
    Json,
    /// `stats.ron`.
    Ron,
}

fn parse_time(s: &str) -> Result<SimTime, String> {
    s.parse::<SimTime>().map_err(|e| e.to_string())
}

/// A wall-clock duration: the language's durations (`30s`, `1.5min`, `2h`, `500ms`), and
/// `m` for minutes as `timeout(1)` writes them (`1m`).
pub fn parse_wall(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let ns = match t
        .strip_suffix('m')
        .filter(|n| n.ends_with(|c: char| c.is_ascii_digit()))
    {
        Some(minutes) => scale_decimal(minutes, 60_000_000_000)
            .map_err(|_| format!("`{s}`: expected a duration such as 30s, 1m or 2h"))?,
        None => t
            .parse::<SimDuration>()
            .map_err(|e| e.to_string())?
            .as_nanos(),
    };
    Ok(Duration::from_nanos(ns))
}

/// A wall-clock duration as a command-line word: `1s`, `90s`, `1500ms`.
pub fn wall_word(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else if d.as_nanos() % 1_000_000 == 0 {
        format!("{}ms", d.as_millis())
    } else {
        format!("{}ns", d.as_nanos())
    }
}

/// The SHA-256 of `bytes`, in hex.
fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// One input file of a run, as `params.json` records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputFile {
    /// The path as the run read it (as given, or as an include resolved it).
    pub file: PathBuf,
    /// Its absolute path then.
    #[serde(default)]
    pub file_abs: Option<PathBuf>,
    /// The SHA-256 of its bytes, in hex.
    pub sha256: String,
}

/// What `params.json` records: enough to rerun the run from its folder alone. The keys
/// added since the first version are optional, so that `--replay` reads an older sim's file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunParams {
    /// [`crate::outdir::FORMAT`]: marks the folder as a run's.
    #[serde(default)]
    pub format: Option<String>,
    /// The tool and its version.
    pub tool: String,
    /// The scenario file as given on the command line.
    pub file: PathBuf,
    /// The scenario file's absolute path at the time of the run.
    pub file_abs: Option<PathBuf>,
    /// Every file the run read, the scenario first, then its includes, then the data files
    /// (captures a `replay` app sends), with their SHA-256.
    #[serde(default)]
    pub inputs: Option<Vec<InputFile>>,
    /// The scenario's name.
    pub scenario: String,
    /// The seed used.
    pub seed: u64,
    /// Every param's effective value (after `--set`), in declaration order.
    pub params: Vec<(String, String)>,
    /// The `--set` overrides given.
    pub set: Vec<(String, String)>,
    /// Where the run was told to stop, in ns (the scenario's `end` or `--until`).
    pub until_ns: u64,
    /// `--max-events`, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_events: Option<u64>,
    /// `--max-wall`, if given, in ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wall_ns: Option<u64>,
    /// When a signal or `--max-wall` stopped the run (where depends on timing): the events
    /// it ran, which `--replay` uses as `--max-events` to stop at the same place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_max_events: Option<u64>,
    /// `--pcap`.
    pub pcap: String,
    /// `--pcapng`.
    pub pcapng: bool,
    /// `--trace`.
    pub trace: TraceArg,
    /// `--tcp-probe`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tcp_probe: bool,
    /// `--snapshot`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshot: Vec<SnapshotKind>,
    /// `--snapshot-at`, in ns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub snapshot_at_ns: Vec<u64>,
    /// `--sample`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<SampleArg>,
    /// `--report`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub report: bool,
    /// `--stats`.
    pub stats: StatsFormat,
    /// Every file the run wrote into its folder, this one included: what a later run may
    /// replace.
    #[serde(default)]
    pub files: Option<Vec<String>>,
    /// The command that reproduces this run.
    pub command: String,
}

/// A failure with a one-line message for the user.
#[derive(Debug)]
pub struct Failure {
    /// The message `sim run` prints after `error: ` (empty when the one diagnostic printed
    /// already says it all).
    pub msg: String,
    /// For a scenario with errors: the first error's own message (the diagnostics were
    /// written out in full already; a sweep row shows this one line).
    pub first_error: Option<String>,
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Self {
            msg: e.to_string(),
            first_error: None,
        }
    }
}

impl Failure {
    fn msg(msg: String) -> Self {
        Self {
            msg,
            first_error: None,
        }
    }

    /// The one line a sweep row shows.
    pub fn row_message(&self) -> &str {
        self.first_error.as_deref().unwrap_or(&self.msg)
    }
}

/// Runs `sim run`; returns the exit code.
pub fn run(args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    // The ranks of a run over MPI other than 0 say nothing: rank 0 says it all (the same
    // diagnostics and errors, as every rank loads the same scenario).
    let mut quiet = io::sink();
    let err: &mut dyn Write = if args.mpi && mpi_rank() != Some(0) {
        &mut quiet
    } else {
        err
    };
    match run_inner(args, out, err) {
        Ok(code) => code,
        Err(f) => {
            if !f.msg.is_empty() {
                let _ = writeln!(err, "error: {}", f.msg);
            }
            EXIT_ERRORS
        }
    }
}

/// Applies a recorded run's parameters under the options given now, after checking that
/// its input files are unchanged (warnings go to `err`).
fn with_replay(args: &RunArgs, err: &mut dyn Write) -> Result<RunArgs, Failure> {
    let Some(dir) = &args.replay else {
        return Ok(args.clone());
    };
    let path = dir.join("params.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure::msg(format!("cannot read {}: {e}", path.display())))?;
    let p: RunParams = serde_json::from_str(&text).map_err(|e| {
        Failure::msg(format!(
            "{} is not a run's params.json: {e}",
            path.display()
        ))
    })?;
    match &p.inputs {
        Some(inputs) => check_inputs(dir, inputs, args.allow_changed, err)?,
        None => {
            let _ = writeln!(
                err,
                "warning: {} records no input hashes (an older sim wrote it): the replay \
                 cannot check that the scenario is unchanged",
                path.display()
            );
        }
    }
    let file = match &p.file_abs {
        Some(abs) if abs.exists() => abs.clone(),
        _ => p.file.clone(),
    };
    let mut set = p.params.clone();
    set.extend(args.set.iter().cloned());
    Ok(RunArgs {
        file: Some(file),
        set,
        seed: args.seed.or(Some(p.seed)),
        out: args.out.clone(),
        force: args.force,
        until: args.until.or(Some(SimTime::from_nanos(p.until_ns))),
        // A run a signal or the wall clock stopped is replayed to the same event.
        max_events: args.max_events.or(p.replay_max_events).or(p.max_events),
        max_wall: args.max_wall.or(p
            .max_wall_ns
            .filter(|_| p.replay_max_events.is_none())
            .map(Duration::from_nanos)),
        pcap: if args.pcap == "all" {
            p.pcap
        } else {
            args.pcap.clone()
        },
        pcapng: args.pcapng || p.pcapng,
        trace: if args.trace == TraceArg::Frames {
            p.trace
        } else {
            args.trace
        },
        tcp_probe: args.tcp_probe || p.tcp_probe,
        snapshot: if args.snapshot.is_empty() {
            p.snapshot
        } else {
            args.snapshot.clone()
        },
        snapshot_at: if args.snapshot_at.is_empty() {
            p.snapshot_at_ns
                .into_iter()
                .map(SimTime::from_nanos)
                .collect()
        } else {
            args.snapshot_at.clone()
        },
        sample: args.sample.or(p.sample),
        report: args.report || p.report,
        stats: if args.stats == StatsFormat::Json {
            p.stats
        } else {
            args.stats
        },
        quiet: args.quiet,
        threads: args.threads,
        mpi: args.mpi,
        replay: None,
        allow_changed: false,
    })
}

/// Checks each recorded input against the file now (found by its absolute path, else the
/// recorded one): a changed or missing file is an error, or with `allow` a warning on `err`.
fn check_inputs(
    dir: &Path,
    inputs: &[InputFile],
    allow: bool,
    err: &mut dyn Write,
) -> Result<(), Failure> {
    for input in inputs {
        let path = match &input.file_abs {
            Some(abs) if abs.exists() => abs.as_path(),
            _ => input.file.as_path(),
        };
        let name = input.file.display();
        // Read as the language reads it, so the hash is of the text a run parses.
        let problem = match sim_dsl::FsLoader.read(path) {
            Ok(text) => {
                let now = sha256_hex(&text);
                if now == input.sha256 {
                    continue;
                }
                format!(
                    "{name} has changed since the run (SHA-256 {}… then, {}… now)",
                    input.sha256.get(..12).unwrap_or(&input.sha256),
                    &now[..12]
                )
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                format!("{name}, an input of the run, is missing")
            }
            Err(e) => format!("{name}, an input of the run, cannot be read: {e}"),
        };
        if !allow {
            return Err(Failure::msg(format!(
                "--replay {}: {problem}; the replay would not rerun the same scenario: add \
                 --allow-changed to run it as it is now",
                dir.display()
            )));
        }
        let _ = writeln!(
            err,
            "warning: --replay {}: {problem}; running it as it is now (--allow-changed)",
            dir.display()
        );
    }
    Ok(())
}

fn run_inner(args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, Failure> {
    // Caught before anything else, so that a signal during loading also ends the run
    // cleanly (at its first progress check).
    let stop = Arc::new(AtomicUsize::new(0));
    catch_stop_signals(&stop);
    let args = &with_replay(args, err)?;
    let mut comm = start_mpi(args)?;
    let done = match execute(
        args,
        Keep::Folder,
        false,
        err,
        &stop,
        !args.quiet && !args.mpi,
        comm.as_deref_mut(),
    ) {
        Ok(done) => done,
        Err(f) => {
            if let Some(comm) = comm {
                // The other ranks may be waiting for this one: say why, then end them all.
                if !f.msg.is_empty() {
                    let _ = writeln!(err, "error: {}", f.msg);
                }
                let _ = err.flush();
                comm.abort(EXIT_ERRORS as i32);
            }
            return Err(f);
        }
    };
    if done.rank != 0 {
        // A rank of a run over MPI: rank 0 wrote and says everything.
        return Ok(0);
    }
    if !args.quiet {
        let stopped = done.stopped.map(|s| s.describe());
        let s = summary::Summary {
            scenario: &done.scenario,
            totals: &done.totals,
            app_lines: &done.app_lines,
            dc_flows: &done.dc_flows,
            wall: done.wall,
            stopped: stopped.as_deref(),
            trace_lines: done.trace_lines,
            probe_lines: done.probe_lines,
            capture: done.captured.as_ref(),
            stats_file: done.stats_file,
            snapshots: done.snapshots,
            samples: done.samples,
            out_dir: done.dest.as_deref().unwrap_or(Path::new("")),
            parallel: done.parallel.as_ref(),
        };
        let _ = write!(out, "{s}");
    }
    if args.report
        && let Some(dest) = &done.dest
    {
        let figures = crate::plot::write_run_figures(dest);
        let page = crate::report::write_report(dest, None, || match &figures {
            Ok(f) => f.iter().map(|f| (f.title.clone(), f.svg.clone())).collect(),
            Err(_) => Vec::new(),
        })
        .map_err(Failure::msg)?;
        if !args.quiet {
            let drawn = match &figures {
                Ok(f) => format!("{}/plots/ ({} figures)", dest.display(), f.len()),
                Err(e) => format!("no figures: {e}"),
            };
            let _ = writeln!(out, "  report     {} · {drawn}", page.display());
        }
    }
    Ok(done.stopped.map_or(0, |s| s.exit_code()))
}

/// A scenario loaded and checked, with the files it was read from.
#[derive(Debug)]
pub struct LoadedScenario {
    /// The scenario (after `--set`, `--seed`, `--until`).
    pub scenario: Scenario,
    /// The files read: the scenario first, then each include.
    pub inputs: Vec<InputFile>,
}

/// Loads and checks the scenario `file` with `--set` overrides, writing every diagnostic to
/// `diag`, and applies `--seed` and `--until`.
pub fn load_scenario(
    file: &Path,
    set: &[(String, String)],
    seed: Option<u64>,
    until: Option<SimTime>,
    diag: &mut dyn Write,
) -> Result<LoadedScenario, Failure> {
    let sargs = ScenarioArgs {
        file: file.to_path_buf(),
        set: set.to_vec(),
    };
    let loaded = sargs.load(diag);
    let errors = loaded.errors().count();
    let first_error = loaded.errors().next().map(|d| d.message.clone());
    let Some(mut scenario) = loaded.scenario.filter(|_| errors == 0) else {
        // The diagnostics are on `diag` already; a count closes a list of several.
        return Err(Failure {
            msg: if errors == 1 {
                String::new()
            } else {
                format!("{} has {errors} errors", file.display())
            },
            first_error,
        });
    };
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    if let Some(until) = until {
        scenario.end_time = until;
    }
    let inputs = loaded
        .sources
        .files()
        .iter()
        .map(|f| InputFile {
            file: f.path.clone(),
            file_abs: std::fs::canonicalize(&f.path).ok(),
            sha256: sha256_hex(f.text.as_bytes()),
        })
        // The data files it read (captures to replay), hashed as read.
        .chain(loaded.data_inputs.iter().map(|d| InputFile {
            file: d.path.clone(),
            file_abs: std::fs::canonicalize(&d.path).ok(),
            sha256: d.sha256.clone(),
        }))
        .collect();
    Ok(LoadedScenario { scenario, inputs })
}

/// What a run keeps on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// The output folder (`--out`, or `out/<scenario>`), written atomically, as `sim run` does.
    Folder,
    /// Nothing: no trace, no capture, no files; the stats stay in memory (sweeps).
    Nothing,
}

/// A finished run.
#[derive(Debug)]
pub struct Executed {
    /// The scenario as run (after `--set`, `--seed`, `--until`); its nodes, links and apps
    /// are left out (empty) unless the run took snapshots or samples.
    pub scenario: Scenario,
    /// Its totals: what the summary prints.
    pub totals: RunTotals,
    /// Its statistics, what `stats.json` holds, when asked for (`stats_tree`).
    pub stats: Option<RunStats>,
    /// This process's rank in a run over MPI (0 otherwise): only rank 0 writes and prints.
    pub rank: usize,
    /// The summary's line of each app but the `dc_flows` ones, with its node.
    pub app_lines: Vec<(String, String)>,
    /// The `dc_flows` apps' reports, in scenario order.
    pub dc_flows: Vec<sim_stack::apps::dc_flows::DcFlowsReport>,
    /// Wall-clock time of the simulation proper.
    pub wall: Duration,
    /// Why it ended before its end time, if it did.
    pub stopped: Option<EarlyStop>,
    /// Records written to `trace.txt`, if one was written.
    pub trace_lines: Option<u64>,
    /// Lines written to `tcp_probe.txt`, if one was written.
    pub probe_lines: Option<u64>,
    /// The capture files, if any.
    pub captured: Option<CaptureSummary>,
    /// Name of the statistics file.
    pub stats_file: &'static str,
    /// Snapshot files written (`--snapshot`, `--snapshot-at`).
    pub snapshots: usize,
    /// Sample files written and their rows (`--sample`, the `sample` statement).
    pub samples: Option<(usize, u64)>,
    /// The output folder, when one was written.
    pub dest: Option<PathBuf>,
    /// How a run on several threads went.
    pub parallel: Option<crate::report::timing::ParallelTiming>,
}

/// A writer whose errors name its file.
struct Named<W> {
    inner: W,
    path: PathBuf,
}

impl<W> Named<W> {
    fn err(&self, e: io::Error) -> io::Error {
        named_error(&self.path, e)
    }
}

/// `e`, saying that it happened writing `path`.
fn named_error(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("cannot write {}: {e}", path.display()))
}

impl<W: Write> Write for Named<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.err(e))
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf).map_err(|e| self.err(e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.err(e))
    }
}

/// Creates `path` for writing, buffered; errors name it.
fn create_named(path: PathBuf, capacity: usize) -> io::Result<BufWriter<Named<File>>> {
    let f = File::create(&path).map_err(|e| named_error(&path, e))?;
    Ok(BufWriter::with_capacity(capacity, Named { inner: f, path }))
}

/// One run, as `sim run` does it and as `sim sweep` does each point: load the scenario,
/// build the world, run it (until its end, a limit, or until `stop` holds a signal or
/// [`STOP_BY_CALLER`]), and, with [`Keep::Folder`], write its outputs atomically into its
/// folder. Diagnostics of the scenario, and the note of abandoned partial folders removed,
/// go to `diag`; `progress` draws the bar (when stderr is a terminal). With `stats_tree`,
/// the statistics are also returned whole, as a tree ([`Executed::stats`]).
pub fn execute(
    args: &RunArgs,
    keep: Keep,
    stats_tree: bool,
    diag: &mut dyn Write,
    stop: &AtomicUsize,
    progress: bool,
    mut comm: Option<&mut (dyn sim_stack::world::distributed::Comm + 'static)>,
) -> Result<Executed, Failure> {
    let file = args
        .file
        .clone()
        .expect("clap requires FILE unless --replay");
    let LoadedScenario {
        mut scenario,
        inputs,
    } = load_scenario(&file, &args.set, args.seed, args.until, diag)?;
    let pcap_nodes = pcap_selection(&args.pcap, &scenario)?;
    if comm.is_some() {
        refuse_under_mpi(args)?;
    }
    let rank = comm.as_ref().map_or(0, |c| c.rank());

    let (dest, dir) = match keep {
        Keep::Folder if rank == 0 => {
            let dest = args
                .out
                .clone()
                .unwrap_or_else(|| Path::new("out").join(&scenario.name));
            let input_paths: Vec<PathBuf> = inputs.iter().map(|i| i.file.clone()).collect();
            let dir =
                OutDir::create(&dest, args.force, &input_paths, diag).map_err(Failure::msg)?;
            (Some(dest), Some(dir))
        }
        Keep::Folder | Keep::Nothing => (None, None),
    };
    // The other ranks record what rank 0 does (their outputs go to it), into nothing.
    let scratch = (rank != 0)
        .then(|| std::env::temp_dir().join(format!("sim-mpi-rank{rank}-{}", std::process::id())));

    let level = match (dir.is_some() || scratch.is_some(), args.trace) {
        (false, _) | (_, TraceArg::None) => TraceLevel::None,
        (_, TraceArg::Frames) => TraceLevel::Frames,
        (_, TraceArg::Path) => TraceLevel::Path,
    };
    let mut trace = match &dir {
        Some(dir) if level != TraceLevel::None => Trace::new(
            level,
            Box::new(create_named(dir.file("trace.txt"), 1 << 20)?),
        ),
        None if scratch.is_some() && level != TraceLevel::None => {
            Trace::new(level, Box::new(io::sink()))
        }
        _ => Trace::disabled(),
    };
    if let Some(dir) = &dir
        && args.tcp_probe
    {
        trace = trace.with_tcp_probe(Box::new(create_named(dir.file("tcp_probe.txt"), 1 << 20)?));
    }
    if scratch.is_some() && args.tcp_probe {
        trace = trace.with_tcp_probe(Box::new(io::sink()));
    }
    let capture_dir = dir
        .as_ref()
        .map(|d| d.tmp.clone())
        .or_else(|| scratch.clone());
    let capture = capture_dir.as_ref().and_then(|dir| {
        pcap_nodes.map(|nodes| {
            let format = if args.pcapng {
                CaptureFormat::PcapNg
            } else {
                CaptureFormat::Pcap
            };
            (CaptureConfig::new(dir, format), nodes)
        })
    });
    let record_paths = level == TraceLevel::Path;
    let (mut world, mut sched) = World::build(
        &scenario,
        Outputs {
            trace,
            capture,
            record_paths,
        },
    )?;
    if let Some(scratch) = &scratch {
        // Only rank 0 writes frames: the others' capture registered the same interfaces
        // (the frames they log carry their numbers) and is dropped with its empty files.
        if world.shared.capture.is_some() {
            world.shared.capture = Some(sim_stack::capture::Capture::log());
        }
        let _ = std::fs::remove_dir_all(scratch);
    }

    let mut snapshot_kinds = args.snapshot.clone();
    snapshot_kinds.sort();
    snapshot_kinds.dedup();
    let sample = crate::observe::sample_config(args.sample, &scenario);
    if snapshot_kinds.is_empty() && args.snapshot_at.is_empty() && sample.is_none() {
        // The world holds the nodes, links and apps now; only snapshots and samples read
        // their configurations again. Without them they go (1.6 KiB a host).
        scenario.nodes = Vec::new();
        scenario.links = Vec::new();
        scenario.apps = Vec::new();
    }
    let mut observer = match &dir {
        Some(dir) => Some(RunObserver::new(
            &dir.tmp,
            &world,
            &scenario,
            sample.as_ref(),
            &snapshot_kinds,
            &args.snapshot_at,
        )?),
        // The other ranks of a run over MPI render their share of what rank 0 writes.
        None if scratch.is_some() => Some(RunObserver::for_rank(
            &world,
            &scenario,
            sample.as_ref(),
            &snapshot_kinds,
            &args.snapshot_at,
        )?),
        None => None,
    };

    let mut bar = Progress::new(scenario.end_time, !progress);
    let mut stopped = None;
    let wall = Instant::now();
    let limits = Limits {
        until: scenario.end_time,
        max_events: args.max_events.unwrap_or(u64::MAX),
        progress_every: 1 << 14,
    };
    if args.threads > 1 && limits.max_events != u64::MAX {
        return Err(Failure::msg(
            "--threads cannot stop at an event count (--max-events, or the replay of a run \
             stopped by a signal or --max-wall): an event count is not an instant every \
             thread reaches at once; run with --threads 1"
                .to_string(),
        ));
    }
    let plan = (args.threads > 1)
        .then(|| sim_stack::world::Partitioning::new(&world, args.threads as usize))
        .filter(|p| p.parts > 1);
    let on_progress = |p: sim_core::Progress| {
        bar.update(p.now, p.events);
        if stopped.is_some() {
            // The closing call after a stop.
            return std::ops::ControlFlow::Break(());
        }
        stopped = match stop.load(Ordering::Relaxed) {
            0 => args
                .max_wall
                .filter(|&w| wall.elapsed() >= w)
                .map(EarlyStop::MaxWall),
            STOP_BY_CALLER => Some(EarlyStop::Caller),
            sig => Some(EarlyStop::Signal(sig as i32)),
        };
        if stopped.is_some() {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    };
    let (report, parallel, ranks) = match (&plan, comm.as_deref_mut()) {
        (_, Some(comm)) => {
            let plan = sim_stack::world::Partitioning::new(&world, comm.size());
            if plan.parts != comm.size() {
                return Err(Failure::msg(format!(
                    "--mpi: {} splits into at most {} partitions (links without delay or with \
                     loss are never cut): start it with mpirun -np {}",
                    file.display(),
                    plan.parts,
                    plan.parts
                )));
            }
            // A signal stops every rank before the same window (mpirun sends SIGTERM to
            // each on Ctrl-C); the smallest signal number any rank caught is the reason.
            let (r, st) = sim_stack::world::distributed::run_rank(
                &mut world,
                sched,
                &plan,
                limits,
                &mut observer,
                |_| match stop.load(Ordering::Relaxed) {
                    0 => std::ops::ControlFlow::Continue(()),
                    STOP_BY_CALLER => std::ops::ControlFlow::Break(u8::MAX),
                    sig => std::ops::ControlFlow::Break(u8::try_from(sig).unwrap_or(u8::MAX)),
                },
                comm,
            );
            stopped = st.stop_code.map(|code| match code {
                u8::MAX => EarlyStop::Caller,
                sig => EarlyStop::Signal(i32::from(sig)),
            });
            let ended = sim_stack::world::distributed::end_ranks(&mut world, &plan, &r, comm);
            let own = sim_stack::world::distributed::Owner::new(&plan, comm.rank());
            let snapshots = (!snapshot_kinds.is_empty())
                .then(|| {
                    crate::observe::end_snapshots(
                        &snapshot_kinds,
                        &world,
                        &scenario,
                        r.now,
                        &own,
                        comm,
                    )
                })
                .flatten();
            (r, None, Some((ended, plan, snapshots)))
        }
        (Some(plan), None) => {
            let (r, st) = sim_stack::world::run_parallel(
                &mut world,
                sched,
                plan,
                limits,
                &mut observer,
                on_progress,
            );
            (
                r,
                Some(crate::report::timing::ParallelTiming::of(&st)),
                None,
            )
        }
        (None, None) => (
            sim_core::run_observed(&mut world, &mut sched, limits, &mut observer, on_progress),
            None,
            None,
        ),
    };
    // The summary's app lines: in a distributed run each rank writes its own apps' lines
    // and rank 0 puts them in scenario order.
    let mut app_lines = Vec::new();
    let mut dc_flows = Vec::new();
    for (i, a) in world.apps.iter().enumerate() {
        if let (Some((_, plan, _)), Some(comm)) = (&ranks, comm.as_deref())
            && plan.node_part[a.node] as usize != comm.rank()
        {
            continue;
        }
        let n = &world.nodes[a.node];
        let node = n.name.clone();
        match a.app.report(n, world.now) {
            AppReport::DcFlows(d) => dc_flows.push(*d),
            app => app_lines.push((i as u32, node, crate::summary::app_line(&app))),
        }
    }
    let mut end_snapshots = None;
    let (report, ended) = match (ranks, comm) {
        (Some((ended, _, snapshots)), Some(comm)) => {
            end_snapshots = snapshots;
            let bytes = ron::to_string(&app_lines)
                .expect("lines serialize")
                .into_bytes();
            let Some(all) = comm.gather(bytes) else {
                // The other ranks are done: rank 0 writes everything.
                return Ok(Executed::of_rank(rank, scenario));
            };
            app_lines = all
                .iter()
                .flat_map(|b| {
                    ron::from_str::<Vec<(u32, String, String)>>(
                        std::str::from_utf8(b).expect("RON is text"),
                    )
                    .expect("lines read back")
                })
                .collect();
            app_lines.sort_by_key(|l| l.0);
            let ended = ended.expect("rank 0 gets the end");
            dc_flows = ended.dc_flows.clone();
            let report = sim_core::RunReport {
                events: ended.events,
                ..report
            };
            (report, Some(ended))
        }
        _ => (report, None),
    };
    let wall = wall.elapsed();
    bar.finish();
    let stopped = match report.reason {
        StopReason::Interrupted => stopped,
        StopReason::EventLimit => args.max_events.map(EarlyStop::MaxEvents),
        _ => None,
    };

    let observed = match observer {
        Some(o) => o.finish()?,
        None => Observed::default(),
    };
    let trace_lines = world.shared.trace.lines;
    let probe_lines = world
        .shared
        .trace
        .tcp_probe_on()
        .then_some(world.shared.trace.probe_lines);
    // Errors name their file (the capture's, and the trace's through `Named`).
    let captured = world.finish_outputs()?;
    let totals = match &ended {
        Some(e) => e.totals.clone(),
        None => world.totals(report.now.as_nanos(), report.events),
    };
    let mut ended = ended;
    let stats_file = match args.stats {
        StatsFormat::Json => "stats.json",
        StatsFormat::Ron => "stats.ron",
    };
    let mut committed = None;
    let mut snapshot_count = 0;
    let mut samples = None;
    let mut files_sampled = Vec::new();
    if let (Some(dir), Some(dest)) = (dir, &dest) {
        // Made one node at a time as it is written: the whole tree is never held.
        let view = match ended.as_mut() {
            Some(e) => e.stats_view(&world),
            None => world.stats_view(report.now.as_nanos(), report.events),
        };
        let contents = StatsFile {
            interrupted: stopped.map(|s| s.record(report.now.as_nanos())),
            stats: &view,
        };
        write_stats(&dir.file(stats_file), args.stats, &contents)?;
        let kinds = snapshot_kinds;
        let mut snapshots = observed.snapshot_files;
        snapshots.extend(match &end_snapshots {
            // Rendered by every rank of a run over MPI.
            Some(files) => crate::snapshot::write_rendered_at(&dir.tmp, files)?,
            None => crate::snapshot::write_at(&dir.tmp, &kinds, &world, &scenario, report.now)?,
        });
        if let Some((files, rows)) = observed.samples {
            samples = Some((files.len(), rows));
            files_sampled = files;
        }
        let params_path = dir.file("params.json");
        let mut files = std::fs::read_dir(&dir.tmp)
            .and_then(|rd| {
                rd.map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect::<io::Result<Vec<String>>>()
            })
            .map_err(|e| Failure::msg(format!("cannot list {}: {e}", dir.tmp.display())))?;
        files.push("params.json".into());
        // Written after params.json, with the wall-clock figures that vary between reruns.
        files.push(crate::report::timing::FILE.into());
        snapshot_count = snapshots.len();
        files.extend(snapshots);
        files.extend(std::mem::take(&mut files_sampled));
        files.sort();
        // Where a signal or the wall clock stopped the run depends on timing: the replay
        // stops after as many events instead.
        let replay_max_events = matches!(
            stopped,
            Some(EarlyStop::Signal(_) | EarlyStop::MaxWall(_) | EarlyStop::Caller)
        )
        .then_some(report.events);
        let params = RunParams {
            format: Some(crate::outdir::FORMAT.into()),
            tool: format!("netsim {}", env!("CARGO_PKG_VERSION")),
            file_abs: std::fs::canonicalize(&file).ok(),
            file: file.clone(),
            inputs: Some(inputs),
            scenario: scenario.name.clone(),
            seed: scenario.seed,
            params: scenario.params.clone(),
            set: args.set.clone(),
            until_ns: scenario.end_time.as_nanos(),
            max_events: args.max_events,
            max_wall_ns: args
                .max_wall
                .map(|d| d.as_nanos().try_into().unwrap_or(u64::MAX)),
            replay_max_events,
            pcap: args.pcap.clone(),
            pcapng: args.pcapng,
            trace: args.trace,
            tcp_probe: args.tcp_probe,
            snapshot: kinds,
            snapshot_at_ns: {
                let mut at: Vec<u64> = args.snapshot_at.iter().map(|t| t.as_nanos()).collect();
                at.sort_unstable();
                at.dedup();
                at
            },
            sample: args.sample,
            report: args.report,
            stats: args.stats,
            files: Some(files),
            command: command_line(args, &file, &scenario, dest, replay_max_events),
        };
        let mut p = serde_json::to_string_pretty(&params)?;
        p.push('\n');
        std::fs::write(&params_path, p).map_err(|e| named_error(&params_path, e))?;
        let mut timing =
            crate::report::timing::RunTiming::new(wall, report.events, report.now.as_nanos());
        timing.parallel = parallel;
        crate::report::timing::write(&dir.tmp, &timing)?;
        committed = Some(dir.commit().map_err(Failure::msg)?);
    }
    Ok(Executed {
        rank,
        app_lines: app_lines.into_iter().map(|(_, n, l)| (n, l)).collect(),
        dc_flows,
        stats: stats_tree.then(|| world.stats(report.now.as_nanos(), report.events)),
        scenario,
        totals,
        wall,
        stopped,
        trace_lines: (level != TraceLevel::None).then_some(trace_lines),
        probe_lines,
        captured,
        stats_file,
        snapshots: snapshot_count,
        samples,
        dest: committed,
        parallel,
    })
}

impl Executed {
    /// What a rank other than 0 of a run over MPI reports: nothing to show.
    fn of_rank(rank: usize, scenario: Scenario) -> Self {
        Self {
            scenario,
            totals: RunTotals {
                sim_time_ns: 0,
                events: 0,
                frames: 0,
                drops: Default::default(),
            },
            stats: None,
            rank,
            app_lines: Vec::new(),
            dc_flows: Vec::new(),
            wall: Duration::ZERO,
            stopped: None,
            trace_lines: None,
            probe_lines: None,
            captured: None,
            stats_file: "",
            snapshots: 0,
            samples: None,
            dest: None,
            parallel: None,
        }
    }
}

/// This process's rank, as the MPI launcher tells it (OpenMPI, MPICH, Slurm), before MPI
/// starts; `None` outside a launcher.
fn mpi_rank() -> Option<usize> {
    [
        "OMPI_COMM_WORLD_RANK",
        "PMI_RANK",
        "PMIX_RANK",
        "SLURM_PROCID",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok()?.parse().ok())
}

/// Starts MPI for `--mpi` (refusing what a distributed run cannot do), or nothing.
fn start_mpi(
    args: &RunArgs,
) -> Result<Option<Box<dyn sim_stack::world::distributed::Comm>>, Failure> {
    if !args.mpi {
        return Ok(None);
    }
    #[cfg(feature = "mpi")]
    {
        let comm = crate::mpi_comm::MpiComm::init()
            .ok_or_else(|| Failure::msg("--mpi: MPI did not start".to_string()))?;
        Ok(Some(Box::new(comm)))
    }
    #[cfg(not(feature = "mpi"))]
    Err(Failure::msg(
        "--mpi: this sim was built without MPI: build it with `cargo build --release -p \
         sim-cli --features mpi` (Debian: apt-get install libopenmpi-dev openmpi-bin \
         libclang-dev) and start it with `mpirun -np N target/release/sim run --mpi FILE`"
            .to_string(),
    ))
}

/// Refuses what a run over MPI cannot do.
fn refuse_under_mpi(args: &RunArgs) -> Result<(), Failure> {
    let refuse = |what: &str| {
        Err(Failure::msg(format!(
            "--mpi cannot {what} (run without --mpi, or with --threads)"
        )))
    };
    if args.stats == StatsFormat::Ron {
        return refuse(
            "write stats.ron: its nodes are spliced into stats.json as their ranks wrote them",
        );
    }
    if args.threads > 1 {
        return refuse("also run on threads (--threads)");
    }
    if args.max_events.is_some() || args.max_wall.is_some() {
        return refuse(
            "stop at an event count or a wall-clock time (--max-events, --max-wall): a rank \
             holds only its own nodes' events",
        );
    }
    Ok(())
}

/// Writes the statistics file, streamed into it (a 10^5-host stats.json is 354 MB: never
/// held whole in memory); the same bytes as to_string_pretty plus a newline.
fn write_stats(path: &Path, format: StatsFormat, contents: &StatsFile<'_, '_>) -> io::Result<()> {
    let mut f = create_named(path.to_path_buf(), 1 << 16)?;
    match format {
        StatsFormat::Json => serde_json::to_writer_pretty(&mut f, contents).map_err(|e| {
            // serde_json wraps the writer's error (which names the file) in its own.
            match e.io_error_kind() {
                Some(kind) => io::Error::new(kind, e.to_string()),
                None => named_error(path, io::Error::other(e)),
            }
        })?,
        StatsFormat::Ron => ron::Options::default()
            .to_io_writer_pretty(&mut f, contents, ron::ser::PrettyConfig::default())
            .map_err(|e| match e {
                // The writer's error, which names the file (its kind is not kept by ron).
                ron::Error::Io(msg) => io::Error::other(msg),
                e => named_error(path, io::Error::other(e)),
            })?,
    }
    f.write_all(b"\n")?;
    f.flush()
}

/// `--pcap`: `None` = no capture; `Some(None)` = every node; `Some(Some(names))`.
pub fn pcap_selection(
    spec: &str,
    scenario: &Scenario,
) -> Result<Option<Option<Vec<String>>>, Failure> {
    match spec.trim() {
        "none" => Ok(None),
        "all" => Ok(Some(None)),
        list => {
            let mut names = Vec::new();
            for name in list.split(',').map(str::trim) {
                if scenario.node_by_name(name).is_none() {
                    return Err(Failure::msg(format!(
                        "--pcap: no node named `{name}` in {} (nodes: {})",
                        scenario.name,
                        scenario
                            .nodes
                            .iter()
                            .map(|n| n.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                names.push(name.to_string());
            }
            Ok(Some(Some(names)))
        }
    }
}

/// The `sim run` command line that reproduces a run.
/// `replay_max_events` stands for the limits when a signal or the wall clock stopped the run.
fn command_line(
    args: &RunArgs,
    file: &Path,
    scenario: &Scenario,
    dest: &Path,
    replay_max_events: Option<u64>,
) -> String {
    let mut c = format!("sim run {}", shell_quote(&file.display().to_string()));
    for (n, v) in &args.set {
        c.push_str(&format!(" --set {}", shell_quote(&format!("{n}={v}"))));
    }
    c.push_str(&format!(" --seed {}", scenario.seed));
    if args.until.is_some() {
        c.push_str(&format!(" --until {}ns", scenario.end_time.as_nanos()));
    }
    if let Some(n) = replay_max_events.or(args.max_events) {
        c.push_str(&format!(" --max-events {n}"));
    }
    if let (None, Some(w)) = (replay_max_events, args.max_wall) {
        c.push_str(&format!(" --max-wall {}", wall_word(w)));
    }
    if args.pcap != "all" {
        c.push_str(&format!(" --pcap {}", shell_quote(&args.pcap)));
    }
    if args.pcapng {
        c.push_str(" --pcapng");
    }
    match args.trace {
        TraceArg::Frames => {}
        TraceArg::None => c.push_str(" --trace none"),
        TraceArg::Path => c.push_str(" --trace path"),
    }
    if args.tcp_probe {
        c.push_str(" --tcp-probe");
    }
    if !args.snapshot.is_empty() {
        let mut kinds = args.snapshot.clone();
        kinds.sort();
        kinds.dedup();
        let words: Vec<&str> = kinds.iter().map(|k| k.word()).collect();
        c.push_str(&format!(" --snapshot {}", words.join(",")));
    }
    if !args.snapshot_at.is_empty() {
        let mut at = args.snapshot_at.clone();
        at.sort();
        at.dedup();
        let words: Vec<String> = at.iter().map(|t| format!("{}ns", t.as_nanos())).collect();
        c.push_str(&format!(" --snapshot-at {}", words.join(",")));
    }
    if let Some(s) = args.sample {
        c.push_str(&format!(" --sample {}", s.word()));
    }
    if args.report {
        c.push_str(" --report");
    }
    if args.stats == StatsFormat::Ron {
        c.push_str(" --stats ron");
    }
    c.push_str(&format!(
        " --out {}",
        shell_quote(&dest.display().to_string())
    ));
    c
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
