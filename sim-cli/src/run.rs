//! `sim run FILE.net [options]`: load a scenario, build the world, run it, and write its
//! outputs — pcaps, `trace.txt`, `stats.json`, `params.json` — into `out/<scenario>/`.
//!
//! Outputs are written into a temporary folder that replaces the destination only once they
//! are complete ([`crate::outdir`]); on any error nothing is left behind and the exit code
//! is 2. Ctrl-C stops the simulation at the next progress check; the outputs then hold
//! everything simulated so far, complete and valid, and the exit code is 130.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use sim_core::{Limits, SimTime, StopReason};
use sim_stack::capture::{CaptureConfig, CaptureFormat};
use sim_stack::config::Scenario;
use sim_stack::setup::Outputs;
use sim_stack::trace::{Trace, TraceLevel};
use sim_stack::world::World;

use crate::progress::Progress;
use crate::scenario_args::{ScenarioArgs, parse_set};
use crate::{outdir::OutDir, summary};

/// Exit code for bad input of any kind.
pub const EXIT_ERRORS: u8 = 2;
/// Exit code after Ctrl-C (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// Arguments of `sim run`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Examples:
  sim run scenarios/ping.net
  sim run scenarios/dns_then_http.net --set client_delay=50ms --seed 7
  sim run scenarios/bench/dumbbell_udp.net --pcap none --trace none --quiet
  sim run scenarios/ping.net --pcap a,r --trace path --out /tmp/ping
  sim run scenarios/ping.net --pcapng --trace path   # one file, paths as packet comments
  sim run --replay out/ping/                          # rerun exactly, from a run's folder")]
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
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Stop at this simulated time instead of the scenario's `end`: `--until 2.5s`.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<SimTime>,
    /// Which nodes' interfaces are captured: `all`, `none`, or names: `--pcap client,r1`.
    #[arg(long, value_name = "all|none|NODE,…", default_value = "all")]
    pub pcap: String,
    /// One pcapng file for all interfaces (`capture.pcapng`) instead of a pcap per interface;
    /// with `--trace path`, each packet's function path is a packet comment.
    #[arg(long)]
    pub pcapng: bool,
    /// What `trace.txt` holds: nothing, a line per frame, or frames with function paths.
    #[arg(long, value_enum, default_value = "frames")]
    pub trace: TraceArg,
    /// Format of the statistics file (`stats.json` or `stats.ron`).
    #[arg(long, value_enum, default_value = "json")]
    pub stats: StatsFormat,
    /// No progress bar and no summary (errors are still printed).
    #[arg(long, short)]
    pub quiet: bool,
    /// Rerun a finished run from its output folder (its `params.json`): same file, params,
    /// seed and output options. Other options given here override the recorded ones.
    #[arg(long, value_name = "DIR", conflicts_with = "file")]
    pub replay: Option<PathBuf>,
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

/// What `params.json` records: enough to rerun the run from its folder alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunParams {
    /// The tool and its version.
    pub tool: String,
    /// The scenario file as given on the command line.
    pub file: PathBuf,
    /// The scenario file's absolute path at the time of the run.
    pub file_abs: Option<PathBuf>,
    /// The scenario's name.
    pub scenario: String,
    /// The seed used.
    pub seed: u64,
    /// Every param's effective value (after `--set`), in declaration order.
    pub params: Vec<(String, String)>,
    /// The `--set` overrides given.
    pub set: Vec<(String, String)>,
    /// Where the run stopped, in ns (the scenario's `end` or `--until`).
    pub until_ns: u64,
    /// `--pcap`.
    pub pcap: String,
    /// `--pcapng`.
    pub pcapng: bool,
    /// `--trace`.
    pub trace: TraceArg,
    /// `--stats`.
    pub stats: StatsFormat,
    /// The command that reproduces this run.
    pub command: String,
}

/// A failure with a one-line message for the user.
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Self(e.to_string())
    }
}

/// Runs `sim run`; returns the exit code.
pub fn run(args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match run_inner(args, out, err) {
        Ok(code) => code,
        Err(Failure(msg)) => {
            let _ = writeln!(err, "error: {msg}");
            EXIT_ERRORS
        }
    }
}

/// Applies a recorded run's parameters under the options given now.
fn with_replay(args: &RunArgs) -> Result<RunArgs, Failure> {
    let Some(dir) = &args.replay else {
        return Ok(args.clone());
    };
    let path = dir.join("params.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))?;
    let p: RunParams = serde_json::from_str(&text).map_err(|e| {
        Failure(format!(
            "{} is not a run's params.json: {e}",
            path.display()
        ))
    })?;
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
        until: args.until.or(Some(SimTime::from_nanos(p.until_ns))),
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
        stats: if args.stats == StatsFormat::Json {
            p.stats
        } else {
            args.stats
        },
        quiet: args.quiet,
        replay: None,
    })
}

fn run_inner(args: &RunArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, Failure> {
    let args = &with_replay(args)?;
    let file = args
        .file
        .clone()
        .expect("clap requires FILE unless --replay");
    let sargs = ScenarioArgs {
        file: file.clone(),
        set: args.set.clone(),
    };
    let loaded = sargs.load(err);
    let errors = loaded.errors().count();
    let Some(mut scenario) = loaded.scenario.filter(|_| errors == 0) else {
        return Err(Failure(format!(
            "{} has {errors} error{}",
            file.display(),
            if errors == 1 { "" } else { "s" }
        )));
    };
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if let Some(until) = args.until {
        scenario.end_time = until;
    }
    let pcap_nodes = pcap_selection(&args.pcap, &scenario)?;

    let dest = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("out").join(&scenario.name));
    let dir = OutDir::create(&dest).map_err(|e| {
        Failure(format!(
            "cannot create the output folder {}: {e}",
            dest.display()
        ))
    })?;

    let level = match args.trace {
        TraceArg::None => TraceLevel::None,
        TraceArg::Frames => TraceLevel::Frames,
        TraceArg::Path => TraceLevel::Path,
    };
    let trace = if level == TraceLevel::None {
        Trace::disabled()
    } else {
        let f = File::create(dir.file("trace.txt"))?;
        Trace::new(level, Box::new(BufWriter::with_capacity(1 << 20, f)))
    };
    let capture = pcap_nodes.map(|nodes| {
        let format = if args.pcapng {
            CaptureFormat::PcapNg
        } else {
            CaptureFormat::Pcap
        };
        (CaptureConfig::new(&dir.tmp, format), nodes)
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

    let interrupted = Arc::new(AtomicBool::new(false));
    // Ctrl-C sets the flag; the run stops at the next progress check (a few ms at most).
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted));
    let mut progress = Progress::new(scenario.end_time, args.quiet);
    let wall = Instant::now();
    let report = sim_core::run(
        &mut world,
        &mut sched,
        Limits {
            until: scenario.end_time,
            progress_every: 1 << 14,
            ..Limits::default()
        },
        |p| {
            progress.update(p.now, p.events);
            if interrupted.load(Ordering::Relaxed) {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        },
    );
    let wall = wall.elapsed();
    progress.finish();
    let was_interrupted = report.reason == StopReason::Interrupted;

    let trace_lines = world.trace.lines;
    let captured = world
        .finish_outputs()
        .map_err(|e| Failure(format!("writing outputs into {}: {e}", dir.tmp.display())))?;
    let stats = world.stats(report.now.as_nanos(), report.events);
    let stats_name = match args.stats {
        StatsFormat::Json => {
            let mut s = serde_json::to_string_pretty(&stats)?;
            s.push('\n');
            std::fs::write(dir.file("stats.json"), s)?;
            "stats.json"
        }
        StatsFormat::Ron => {
            let mut s = ron::ser::to_string_pretty(&stats, ron::ser::PrettyConfig::default())?;
            s.push('\n');
            std::fs::write(dir.file("stats.ron"), s)?;
            "stats.ron"
        }
    };
    let params = RunParams {
        tool: format!("netsim {}", env!("CARGO_PKG_VERSION")),
        file_abs: std::fs::canonicalize(&file).ok(),
        file: file.clone(),
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        params: scenario.params.clone(),
        set: args.set.clone(),
        until_ns: scenario.end_time.as_nanos(),
        pcap: args.pcap.clone(),
        pcapng: args.pcapng,
        trace: args.trace,
        stats: args.stats,
        command: command_line(args, &file, &scenario, &dest),
    };
    let mut p = serde_json::to_string_pretty(&params)?;
    p.push('\n');
    std::fs::write(dir.file("params.json"), p)?;
    let dest = dir.commit().map_err(|e| {
        Failure(format!(
            "cannot move the outputs to {}: {e}",
            dest.display()
        ))
    })?;

    if !args.quiet {
        let s = summary::Summary {
            scenario: &scenario,
            stats: &stats,
            apps: &world.app_reports(),
            wall,
            interrupted: was_interrupted,
            trace_lines: (level != TraceLevel::None).then_some(trace_lines),
            capture: captured.as_ref(),
            stats_file: stats_name,
            out_dir: &dest,
        };
        let _ = write!(out, "{s}");
    }
    Ok(if was_interrupted { EXIT_INTERRUPTED } else { 0 })
}

/// `--pcap`: `None` = no capture; `Some(None)` = every node; `Some(Some(names))`.
fn pcap_selection(spec: &str, scenario: &Scenario) -> Result<Option<Option<Vec<String>>>, Failure> {
    match spec.trim() {
        "none" => Ok(None),
        "all" => Ok(Some(None)),
        list => {
            let mut names = Vec::new();
            for name in list.split(',').map(str::trim) {
                if scenario.node_by_name(name).is_none() {
                    return Err(Failure(format!(
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
fn command_line(args: &RunArgs, file: &Path, scenario: &Scenario, dest: &Path) -> String {
    let mut c = format!("sim run {}", shell_quote(&file.display().to_string()));
    for (n, v) in &args.set {
        c.push_str(&format!(" --set {}", shell_quote(&format!("{n}={v}"))));
    }
    c.push_str(&format!(" --seed {}", scenario.seed));
    if args.until.is_some() {
        c.push_str(&format!(" --until {}ns", scenario.end_time.as_nanos()));
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
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
