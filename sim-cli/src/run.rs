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
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use sim_core::{Limits, SimTime, StopReason};
use sim_stack::apps::AppReport;
use sim_stack::capture::{CaptureConfig, CaptureFormat, CaptureSummary};
use sim_stack::config::Scenario;
use sim_stack::trace::{Trace, TraceLevel};
use sim_stack::world::Outputs;
use sim_stack::world::RunStats;
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
  sim run scenarios/dns_then_http.net --set delay=5ms --seed 7
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
    /// with `--trace path`, each packet's function path is a packet comment:
    /// `--pcapng --trace path`.
    #[arg(long)]
    pub pcapng: bool,
    /// What `trace.txt` holds: nothing, a line per frame, or frames with function paths:
    /// `--trace path`.
    #[arg(long, value_enum, default_value = "frames")]
    pub trace: TraceArg,
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

/// Applies a recorded run's parameters under the options given now.
fn with_replay(args: &RunArgs) -> Result<RunArgs, Failure> {
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
    let interrupted = Arc::new(AtomicBool::new(false));
    // Ctrl-C sets the flag; the run stops at the next progress check (a few ms at most).
    let _ = signal_hook::flag::register(signal_hook::consts::SIGINT, Arc::clone(&interrupted));
    let done = execute(args, Keep::Folder, err, &interrupted, !args.quiet)?;
    if !args.quiet {
        let s = summary::Summary {
            scenario: &done.scenario,
            stats: &done.stats,
            apps: &done.apps,
            wall: done.wall,
            interrupted: done.interrupted,
            trace_lines: done.trace_lines,
            capture: done.captured.as_ref(),
            stats_file: done.stats_file,
            out_dir: done.dest.as_deref().unwrap_or(Path::new("")),
        };
        let _ = write!(out, "{s}");
    }
    Ok(if done.interrupted {
        EXIT_INTERRUPTED
    } else {
        0
    })
}

/// Loads and checks the scenario `file` with `--set` overrides, writing every diagnostic to
/// `diag`, and applies `--seed` and `--until`.
pub fn load_scenario(
    file: &Path,
    set: &[(String, String)],
    seed: Option<u64>,
    until: Option<SimTime>,
    diag: &mut dyn Write,
) -> Result<Scenario, Failure> {
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
    Ok(scenario)
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
    /// The scenario as run (after `--set`, `--seed`, `--until`).
    pub scenario: Scenario,
    /// Its statistics: what `stats.json` holds.
    pub stats: RunStats,
    /// Each app's report, with its node.
    pub apps: Vec<(String, AppReport)>,
    /// Wall-clock time of the simulation proper.
    pub wall: Duration,
    /// Whether Ctrl-C (or a sweep's stop) ended it before its end time.
    pub interrupted: bool,
    /// Records written to `trace.txt`, if one was written.
    pub trace_lines: Option<u64>,
    /// The capture files, if any.
    pub captured: Option<CaptureSummary>,
    /// Name of the statistics file.
    pub stats_file: &'static str,
    /// The output folder, when one was written.
    pub dest: Option<PathBuf>,
}

/// One run, as `sim run` does it and as `sim sweep` does each point: load the scenario,
/// build the world, run it (until its end, or until `stop` is set), and, with
/// [`Keep::Folder`], write its outputs atomically into its folder. Diagnostics of the
/// scenario go to `diag`; `progress` draws the bar (when stderr is a terminal).
pub fn execute(
    args: &RunArgs,
    keep: Keep,
    diag: &mut dyn Write,
    stop: &AtomicBool,
    progress: bool,
) -> Result<Executed, Failure> {
    let file = args
        .file
        .clone()
        .expect("clap requires FILE unless --replay");
    let scenario = load_scenario(&file, &args.set, args.seed, args.until, diag)?;
    let pcap_nodes = pcap_selection(&args.pcap, &scenario)?;

    let (dest, dir) = match keep {
        Keep::Folder => {
            let dest = args
                .out
                .clone()
                .unwrap_or_else(|| Path::new("out").join(&scenario.name));
            let dir = OutDir::create(&dest).map_err(|e| {
                Failure::msg(format!(
                    "cannot create the output folder {}: {e}",
                    dest.display()
                ))
            })?;
            (Some(dest), Some(dir))
        }
        Keep::Nothing => (None, None),
    };

    let level = match (&dir, args.trace) {
        (None, _) | (_, TraceArg::None) => TraceLevel::None,
        (_, TraceArg::Frames) => TraceLevel::Frames,
        (_, TraceArg::Path) => TraceLevel::Path,
    };
    let trace = match &dir {
        Some(dir) if level != TraceLevel::None => {
            let f = File::create(dir.file("trace.txt"))?;
            Trace::new(level, Box::new(BufWriter::with_capacity(1 << 20, f)))
        }
        _ => Trace::disabled(),
    };
    let capture = dir.as_ref().and_then(|dir| {
        pcap_nodes.map(|nodes| {
            let format = if args.pcapng {
                CaptureFormat::PcapNg
            } else {
                CaptureFormat::Pcap
            };
            (CaptureConfig::new(&dir.tmp, format), nodes)
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

    let mut bar = Progress::new(scenario.end_time, !progress);
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
            bar.update(p.now, p.events);
            if stop.load(Ordering::Relaxed) {
                std::ops::ControlFlow::Break(())
            } else {
                std::ops::ControlFlow::Continue(())
            }
        },
    );
    let wall = wall.elapsed();
    bar.finish();
    let interrupted = report.reason == StopReason::Interrupted;

    let trace_lines = world.trace.lines;
    let captured = world.finish_outputs().map_err(|e| {
        Failure::msg(format!(
            "writing outputs into {}: {e}",
            dir.as_ref().map_or(Path::new(""), |d| &d.tmp).display()
        ))
    })?;
    let stats = world.stats(report.now.as_nanos(), report.events);
    let stats_file = match args.stats {
        StatsFormat::Json => "stats.json",
        StatsFormat::Ron => "stats.ron",
    };
    let mut committed = None;
    if let (Some(dir), Some(dest)) = (dir, &dest) {
        // JSON is streamed into the file (a 10^5-host stats.json is 354 MB: never held
        // whole in memory); the same bytes as to_string_pretty plus a newline.
        let mut f = std::io::BufWriter::new(std::fs::File::create(dir.file(stats_file))?);
        match args.stats {
            StatsFormat::Json => serde_json::to_writer_pretty(&mut f, &stats)?,
            StatsFormat::Ron => {
                let text = ron::ser::to_string_pretty(&stats, ron::ser::PrettyConfig::default())?;
                std::io::Write::write_all(&mut f, text.as_bytes())?;
            }
        }
        std::io::Write::write_all(&mut f, b"\n")?;
        std::io::Write::flush(&mut f)?;
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
            command: command_line(args, &file, &scenario, dest),
        };
        let mut p = serde_json::to_string_pretty(&params)?;
        p.push('\n');
        std::fs::write(dir.file("params.json"), p)?;
        committed = Some(dir.commit().map_err(|e| {
            Failure::msg(format!(
                "cannot move the outputs to {}: {e}",
                dest.display()
            ))
        })?);
    }
    Ok(Executed {
        apps: world.app_reports(),
        scenario,
        stats,
        wall,
        interrupted,
        trace_lines: (level != TraceLevel::None).then_some(trace_lines),
        captured,
        stats_file,
        dest: committed,
    })
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
