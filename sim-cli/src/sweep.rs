//! `sim sweep FILE.net --vary NAME=VALUES... [options]`: run a scenario once per point of
//! the Cartesian product of the `--vary` values, in parallel worker threads, and write one
//! row per run — its params and the chosen metrics from its `stats.json` — as CSV or JSON.
//!
//! Each run goes through [`run::execute`], the code path of `sim run`, in this process. By
//! default a run keeps nothing on disk (no trace, no capture; its statistics stay in memory
//! until its metrics are read); `--runs DIR` gives each run its own output folder, as
//! `sim run --out` would write it. Rows come out in the order of the product whatever order
//! the runs finish in, so the output is the same bytes for any `--jobs`.
//!
//! Two more modes share the plan: `--emit-commands` prints the equivalent `sim run` commands
//! (one per point, each with its own `--out` folder) for GNU parallel or a Slurm job array,
//! and `--collect` builds the table from the folders those commands wrote.
//!
//! Exit codes: 0 every run succeeded; 1 some rows hold an error (a run stopped by
//! `--max-events` or `--max-wall` among them); 2 bad input (nothing is run, or the sweep
//! stops at the first finished run that lacks a metric); 128 + the signal after SIGINT,
//! SIGTERM or SIGHUP (130, 143, 129).

use std::fmt::Write as _;
use std::fs;
use std::io::Write;
use std::num::NonZeroUsize;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use serde_json::Value;
use sim_core::SimTime;
use sim_stack::config::Scenario;

use crate::metric;
use crate::outdir;
use crate::progress::SweepProgress;
use crate::run::{
    self, EXIT_ERRORS, EarlyStop, Executed, Keep, RunArgs, RunParams, STOP_BY_CALLER, StatsFormat,
    TraceArg, parse_wall, shell_quote, wall_word,
};
use crate::scenario_args::parse_set;

/// Exit code when the sweep finished but some rows hold an error.
pub const EXIT_FAILED_RUNS: u8 = 1;

/// Most values one `--vary` range may expand to, and most points in a sweep.
const MAX_POINTS: usize = 1_000_000;

/// The metrics of a sweep without `--metric`.
const DEFAULT_METRICS: [&str; 8] = [
    "events",
    "frames",
    "drops.qdisc",
    "drops.arp_queue",
    "drops.ip",
    "drops.switch",
    "drops.link_loss",
    "drops.link_mtu",
];

/// Stack of each worker thread (the language's parser recurses up to its depth bound).
const WORKER_STACK: usize = 16 << 20;

/// Arguments of `sim sweep`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Examples:
  sim sweep scenarios/ping.net --vary seed=1..4 --metric a.ping.rtt_avg_ns
  sim sweep scenarios/bench/dumbbell_udp.net --set pairs=2 --until 1s \\
      --vary bottleneck_rate=10Mbit,20Mbit,50Mbit --vary seed=1..3 \\
      --metric R0.udp_sink.bytes --metric drops.qdisc --out results.csv
  sim sweep scenarios/dns_then_http.net --vary delay=1us,1ms,10ms \\
      --metric client.curl.time_total --out results.json --jobs 2
  sim sweep scenarios/ping.net --vary seed=1..100 --emit-commands | parallel
  sim sweep scenarios/ping.net --vary seed=1..100 --collect --metric a.ping.received

Rows are in the order of the product (the first --vary changes slowest), the same bytes
whatever --jobs is. Exit status: 0 all runs succeeded, 1 some rows hold an error, 2 bad
input (nothing is run), 128 + signal after SIGINT (130), SIGTERM (143) or SIGHUP (129).
See docs/sweeps.md.")]
pub struct SweepArgs {
    /// The scenario file (`.net`).
    pub file: PathBuf,
    /// A param and its values (repeatable; one column each): a list, a range, or both.
    ///
    /// `--vary rate=10Mbit,100Mbit`, `--vary pairs=1..4` (integers; both ends included, so
    /// 1, 2, 3, 4 — unlike the language's `for i in 1..4`; `1..=4` is the same), `--vary
    /// seed=1..10,42` (ten seeds and 42; `seed` sets the run's seed). Values cannot contain
    /// commas.
    #[arg(long = "vary", value_name = "NAME=VALUES", value_parser = parse_vary, required = true)]
    pub vary: Vec<Vary>,
    /// Override a param for every run (repeatable): `--set pairs=2`.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String)>,
    /// A dotted path into each run's stats.json, one column each (repeatable).
    ///
    /// `--metric client.curl.time_total` (a node's name first reads under `nodes.`),
    /// `--metric nodes.r1.eth1.qdisc.drops`, `--metric drops.qdisc`, `--metric
    /// links.0.dirs.0.bytes`. Without any: events, frames and the drops totals. A path that
    /// the first successful run lacks stops the sweep (exit 2); one missing from a later run
    /// is an error in that row.
    #[arg(long = "metric", value_name = "PATH")]
    pub metric: Vec<String>,
    /// Runs at the same time [default: the number of CPUs]: `--jobs 4`.
    #[arg(long, short, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
    /// Write the table to FILE instead of stdout: `--out results.csv`, `--out results.json`
    /// (a `.json` name gives JSON).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Table format [default: json if --out ends in .json, else csv]: `--format json`.
    #[arg(long, value_enum)]
    pub format: Option<TableFormat>,
    /// Stop every run at this simulated time instead of the scenario's `end`: `--until 2s`.
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    pub until: Option<SimTime>,
    /// Stop each run after this many events; its row then holds an error: `--max-events 1000000`.
    #[arg(long, value_name = "N")]
    pub max_events: Option<u64>,
    /// Stop each run after this much wall-clock time of simulation; its row then holds an
    /// error: `--max-wall 10m`.
    #[arg(long, value_name = "DURATION", value_parser = parse_wall)]
    pub max_wall: Option<Duration>,
    /// Give each run an output folder under DIR (stats.json, params.json, and what --pcap and
    /// --trace ask for), named after its row: `--runs out/sweep1` → out/sweep1/03_seed=3/.
    /// Default: runs keep nothing on disk; with --emit-commands or --collect:
    /// out/<scenario>-sweep.
    #[arg(long, value_name = "DIR")]
    pub runs: Option<PathBuf>,
    /// Replace run folders under --runs that sim did not write (as `sim run --force`):
    /// `--runs out/sweep1 --force`.
    #[arg(long)]
    pub force: bool,
    /// Capture in each run's folder (needs --runs): `--pcap all`, `--pcap client,r1`.
    #[arg(long, value_name = "all|none|NODE,…", default_value = "none")]
    pub pcap: String,
    /// One capture.pcapng per run instead of a pcap per interface (with --pcap): `--pcapng`.
    #[arg(long)]
    pub pcapng: bool,
    /// Write trace.txt in each run's folder (needs --runs): `--trace frames`.
    #[arg(long, value_enum, default_value = "none")]
    pub trace: TraceArg,
    /// Print one `sim run` command per point instead of running, for GNU parallel or a Slurm
    /// job array: `--emit-commands > commands.txt`.
    #[arg(long, conflicts_with_all = ["collect", "jobs", "out", "format"])]
    pub emit_commands: bool,
    /// Build the table from the run folders that the --emit-commands commands wrote,
    /// instead of running (same --vary and --set as when emitting): `--collect`.
    #[arg(long, conflicts_with = "jobs")]
    pub collect: bool,
    /// No progress bar and no closing line on stderr (errors are still printed).
    #[arg(long, short)]
    pub quiet: bool,
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    /// Comma-separated values with a header line (RFC 4180 quoting).
    Csv,
    /// A JSON array with one object per run.
    Json,
}

/// One `--vary`: a param (or `seed`) and its values in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vary {
    /// The param's name, or `seed`.
    pub name: String,
    /// The values, ranges expanded.
    pub values: Vec<String>,
}

fn parse_time(s: &str) -> Result<SimTime, String> {
    s.parse::<SimTime>().map_err(|e| e.to_string())
}

/// Parses `NAME=V1,V2,…` where each item is a value or an integer range `A..B` / `A..=B`
/// (both inclusive).
pub fn parse_vary(s: &str) -> Result<Vary, String> {
    let Some((name, list)) = s.split_once('=') else {
        return Err(format!("expected NAME=V1,V2,… or NAME=A..B, found `{s}`"));
    };
    let name = name.trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`{name}` is not a param name (expected NAME=V1,V2,…)"
        ));
    }
    let mut values = Vec::new();
    for item in list.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(format!(
                "`{s}` has an empty value (values are separated by single commas)"
            ));
        }
        if let Some((a, b)) = item.split_once("..") {
            let b = b.strip_prefix('=').unwrap_or(b);
            let bound = |x: &str| {
                x.trim().parse::<i64>().map_err(|_| {
                    format!("`{item}`: a range takes integers at both ends, such as 1..10")
                })
            };
            let (a, b) = (bound(a)?, bound(b)?);
            if a > b {
                return Err(format!("`{item}` is empty: its start is above its end"));
            }
            if (b as i128 - a as i128) >= MAX_POINTS as i128 {
                return Err(format!("`{item}` has more than {MAX_POINTS} values"));
            }
            values.extend((a..=b).map(|x| x.to_string()));
        } else {
            values.push(item.to_string());
        }
    }
    if name == "seed" {
        if let Some(bad) = values.iter().find(|v| v.parse::<u64>().is_err()) {
            return Err(format!(
                "seed values are whole numbers from 0 to 2^64-1, found `{bad}`"
            ));
        }
    }
    Ok(Vary {
        name: name.to_string(),
        values,
    })
}

/// What became of one point.
#[derive(Debug, Clone)]
enum Outcome {
    /// The run finished; one result per metric.
    Ran(Vec<Result<Value, String>>),
    /// The run failed (or was stopped); the message.
    Failed(String),
}

impl Outcome {
    fn ok(&self) -> bool {
        matches!(self, Self::Ran(m) if m.iter().all(Result::is_ok))
    }
}

/// Everything the workers share: the scenario file, the grid, the per-run options.
#[derive(Debug)]
struct Plan {
    file: PathBuf,
    varies: Vec<Vary>,
    set: Vec<(String, String)>,
    metrics: Vec<String>,
    until: Option<SimTime>,
    max_events: Option<u64>,
    max_wall: Option<Duration>,
    runs: Option<PathBuf>,
    force: bool,
    pcap: String,
    pcapng: bool,
    trace: TraceArg,
    points: usize,
    /// The scenario as loaded without the `--vary` values (for its seed and name).
    base: Scenario,
}

impl Plan {
    /// The values of point `i` (0-based), one per `--vary`: the first `--vary` changes
    /// slowest, like nested loops in the order given.
    fn values(&self, i: usize) -> Vec<&str> {
        let mut rest = i;
        let mut out = vec![""; self.varies.len()];
        for (k, v) in self.varies.iter().enumerate().rev() {
            out[k] = &v.values[rest % v.values.len()];
            rest /= v.values.len();
        }
        out
    }

    /// The folder of point `i` under the runs folder: `03_rate=10Mbit_seed=2`.
    fn folder(&self, i: usize) -> String {
        let width = self.points.to_string().len();
        let mut name = format!("{:0width$}", i + 1);
        for (v, val) in self.varies.iter().zip(self.values(i)) {
            let clean: String = val
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let _ = write!(name, "_{}={clean}", v.name);
        }
        name
    }

    /// The `sim run` arguments of point `i`.
    fn run_args(&self, i: usize) -> RunArgs {
        let mut set = self.set.clone();
        let mut seed = None;
        for (v, val) in self.varies.iter().zip(self.values(i)) {
            if v.name == "seed" {
                seed = Some(val.parse().expect("checked by parse_vary"));
            } else {
                set.push((v.name.clone(), val.to_string()));
            }
        }
        RunArgs {
            file: Some(self.file.clone()),
            set,
            seed,
            out: self.runs.as_ref().map(|d| d.join(self.folder(i))),
            force: self.force,
            until: self.until,
            max_events: self.max_events,
            max_wall: self.max_wall,
            pcap: self.pcap.clone(),
            pcapng: self.pcapng,
            trace: self.trace,
            tcp_probe: false,
            snapshot: Vec::new(),
            snapshot_at: Vec::new(),
            sample: None,
            report: false,
            stats: StatsFormat::Json,
            quiet: true,
            threads: 1,
            mpi: false,
            replay: None,
            allow_changed: false,
        }
    }

    /// The `sim run` command line of point `i`.
    fn command(&self, i: usize) -> String {
        let a = self.run_args(i);
        let mut c = format!("sim run {}", shell_quote(&self.file.display().to_string()));
        for (n, v) in &a.set {
            let _ = write!(c, " --set {}", shell_quote(&format!("{n}={v}")));
        }
        if let Some(seed) = a.seed {
            let _ = write!(c, " --seed {seed}");
        }
        if let Some(t) = a.until {
            let _ = write!(c, " --until {}", time_word(t));
        }
        if let Some(n) = a.max_events {
            let _ = write!(c, " --max-events {n}");
        }
        if let Some(w) = a.max_wall {
            let _ = write!(c, " --max-wall {}", wall_word(w));
        }
        let _ = write!(c, " --pcap {}", shell_quote(&a.pcap));
        if a.pcapng {
            c.push_str(" --pcapng");
        }
        let trace = match a.trace {
            TraceArg::None => "none",
            TraceArg::Frames => "frames",
            TraceArg::Path => "path",
        };
        let _ = write!(c, " --trace {trace} --quiet");
        if a.force {
            c.push_str(" --force");
        }
        if let Some(out) = &a.out {
            let _ = write!(c, " --out {}", shell_quote(&out.display().to_string()));
        }
        c
    }

    /// Runs point `i` in this thread.
    fn run_point(&self, i: usize, stop: &AtomicUsize) -> Outcome {
        let args = self.run_args(i);
        let keep = if self.runs.is_some() {
            Keep::Folder
        } else {
            Keep::Nothing
        };
        let mut diag = Vec::new();
        let done = catch_unwind(AssertUnwindSafe(|| {
            run::execute(&args, keep, true, &mut diag, stop, false, None)
        }));
        match done {
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Outcome::Failed(format!("the simulator panicked: {what}"))
            }
            Ok(Err(f)) => Outcome::Failed(f.row_message().to_string()),
            Ok(Ok(Executed {
                stopped: Some(why),
                totals,
                ..
            })) => Outcome::Failed(format!(
                "{} at {} s",
                why.describe(),
                SimTime::from_nanos(totals.sim_time_ns)
            )),
            Ok(Ok(done)) => match serde_json::to_value(&done.stats) {
                Ok(stats) => self.read_metrics(&stats),
                Err(e) => Outcome::Failed(format!("cannot read the stats: {e}")),
            },
        }
    }

    fn read_metrics(&self, stats: &Value) -> Outcome {
        Outcome::Ran(
            self.metrics
                .iter()
                .map(|m| metric::resolve(stats, m).cloned())
                .collect(),
        )
    }

    /// Reads point `i` from the folder its emitted command wrote.
    fn collect_point(&self, i: usize) -> Outcome {
        let dir = self
            .runs
            .as_ref()
            .expect("collect has a runs folder")
            .join(self.folder(i));
        let read = |name: &str| fs::read_to_string(dir.join(name));
        let Ok(params) = read("params.json") else {
            return Outcome::Failed(format!(
                "no {}/params.json: the run failed or has not run",
                dir.display()
            ));
        };
        let p: RunParams = match serde_json::from_str(&params) {
            Ok(p) => p,
            Err(e) => {
                return Outcome::Failed(format!("{}/params.json: {e}", dir.display()));
            }
        };
        let want = self.run_args(i);
        let seed = want.seed.unwrap_or(self.base.seed);
        let until_differs = self.until.is_some_and(|u| u.as_nanos() != p.until_ns);
        if p.set != want.set || p.seed != seed || until_differs {
            return Outcome::Failed(format!(
                "{} holds a run with other params (seed {}, until {} s, --set {})",
                dir.display(),
                p.seed,
                SimTime::from_nanos(p.until_ns),
                p.set
                    .iter()
                    .map(|(n, v)| format!("{n}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        let stats: Value = match read("stats.json").map(|t| serde_json::from_str(&t)) {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => return Outcome::Failed(format!("{}/stats.json: {e}", dir.display())),
            Err(e) => return Outcome::Failed(format!("{}/stats.json: {e}", dir.display())),
        };
        let reached = stats.get("sim_time_ns").and_then(Value::as_u64);
        if let Some(why) = stats.get("interrupted") {
            return Outcome::Failed(format!(
                "stopped early ({}) at {} s",
                why.get("signal")
                    .or_else(|| why.get("reason"))
                    .and_then(Value::as_str)
                    .unwrap_or("?"),
                SimTime::from_nanos(reached.unwrap_or(0))
            ));
        }
        // An older sim's folder has no `interrupted`: compare the times.
        if reached.is_some_and(|t| t < p.until_ns) {
            return Outcome::Failed(format!(
                "interrupted at {} s",
                SimTime::from_nanos(reached.unwrap_or(0))
            ));
        }
        self.read_metrics(&stats)
    }
}

/// A failure that ends the sweep with exit code 2 (empty: the diagnostic is printed).
struct Fatal(String);

/// Runs `sim sweep`; returns the exit code.
pub fn run(args: &SweepArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match sweep(args, out, err) {
        Ok(code) => code,
        Err(Fatal(msg)) => {
            if !msg.is_empty() {
                let _ = writeln!(err, "error: {msg}");
            }
            EXIT_ERRORS
        }
    }
}

/// Checks the command line against the scenario; returns the plan.
fn plan(args: &SweepArgs, err: &mut dyn Write) -> Result<Plan, Fatal> {
    let loaded = run::load_scenario(&args.file, &args.set, None, args.until, err)
        .map_err(|f| Fatal(f.msg))?;
    let base = loaded.scenario;
    let mut seen: Vec<&str> = Vec::new();
    for v in &args.vary {
        if seen.contains(&v.name.as_str()) {
            return Err(Fatal(format!(
                "--vary {}: given twice (list every value in one --vary)",
                v.name
            )));
        }
        seen.push(&v.name);
        if v.name != "seed" && !base.params.iter().any(|(n, _)| *n == v.name) {
            let names: Vec<&str> = base.params.iter().map(|(n, _)| n.as_str()).collect();
            return Err(Fatal(format!(
                "--vary {}: {} has no param `{}` ({})",
                v.name,
                args.file.display(),
                v.name,
                if names.is_empty() {
                    "it declares no params; `seed` can be varied".to_string()
                } else {
                    format!("params: {}; and `seed`", names.join(", "))
                }
            )));
        }
    }
    let metrics: Vec<String> = if args.metric.is_empty() {
        DEFAULT_METRICS.iter().map(|m| (*m).to_string()).collect()
    } else {
        args.metric.clone()
    };
    let mut columns: Vec<&str> = vec!["run", "error"];
    for c in seen
        .iter()
        .copied()
        .chain(metrics.iter().map(String::as_str))
    {
        if columns.contains(&c) {
            return Err(Fatal(format!(
                "`{c}` would name two columns of the table (each --vary and --metric names one, besides `run` and `error`)"
            )));
        }
        columns.push(c);
    }
    let points = args
        .vary
        .iter()
        .try_fold(1usize, |n, v| n.checked_mul(v.values.len()))
        .filter(|&n| n <= MAX_POINTS)
        .ok_or_else(|| Fatal(format!("the sweep has more than {MAX_POINTS} points")))?;
    run::pcap_selection(&args.pcap, &base).map_err(|f| Fatal(f.msg))?;
    let runs = if args.emit_commands || args.collect {
        Some(
            args.runs
                .clone()
                .unwrap_or_else(|| Path::new("out").join(format!("{}-sweep", base.name))),
        )
    } else {
        args.runs.clone()
    };
    if runs.is_none() && (args.pcap != "none" || args.trace != TraceArg::None || args.pcapng) {
        return Err(Fatal(
            "--pcap, --pcapng and --trace write into each run's folder: add --runs DIR".into(),
        ));
    }
    let plan = Plan {
        file: args.file.clone(),
        varies: args.vary.clone(),
        set: args.set.clone(),
        metrics,
        until: args.until,
        max_events: args.max_events,
        max_wall: args.max_wall,
        runs,
        force: args.force,
        pcap: args.pcap.clone(),
        pcapng: args.pcapng,
        trace: args.trace,
        points,
        base,
    };
    // The runs' folders obey `sim run --out`'s rules: checked for every point before any
    // run starts, after cleaning what killed runs left.
    if let (Some(runs), false, false) = (&plan.runs, args.emit_commands, args.collect) {
        outdir::clean_parent(runs, err);
        let inputs: Vec<PathBuf> = loaded.inputs.iter().map(|i| i.file.clone()).collect();
        for i in 0..plan.points {
            outdir::check(&runs.join(plan.folder(i)), plan.force, &inputs).map_err(Fatal)?;
        }
    }
    Ok(plan)
}

fn sweep(args: &SweepArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, Fatal> {
    let plan = plan(args, err)?;
    if args.emit_commands {
        for i in 0..plan.points {
            writeln!(out, "{}", plan.command(i)).map_err(|e| Fatal(e.to_string()))?;
        }
        return Ok(0);
    }
    let format = args.format.unwrap_or(
        if args
            .out
            .as_ref()
            .is_some_and(|o| o.extension().is_some_and(|e| e == "json"))
        {
            TableFormat::Json
        } else {
            TableFormat::Csv
        },
    );
    if let Some(table) = &args.out {
        outdir::clean_parent(&outdir::parent_of(table), err);
    }
    let mut table_file = args.out.as_deref().map(TableFile::create).transpose()?;

    let wall = Instant::now();
    let stop = Arc::new(AtomicUsize::new(0));
    let mut check = MetricCheck::default();
    let mut progress = SweepProgress::new(plan.points as u64, args.quiet);
    let mut outcomes: Vec<Option<Outcome>> = vec![None; plan.points];
    let mut fatal = None;
    let jobs = args
        .jobs
        .map_or_else(
            || std::thread::available_parallelism().map_or(1, NonZeroUsize::get),
            NonZeroUsize::get,
        )
        .min(plan.points);
    if args.collect {
        for (i, o) in outcomes.iter_mut().enumerate() {
            let outcome = plan.collect_point(i);
            progress.finished(outcome.ok());
            *o = Some(outcome);
        }
        fatal = check.advance(&outcomes, &plan).err();
    } else {
        // A signal sets the flag: running runs stop at their next progress check, no new one
        // starts, and the rows say so.
        run::catch_stop_signals(&stop);
        let next = AtomicUsize::new(0);
        std::thread::scope(|s| -> Result<(), Fatal> {
            let (tx, rx) = mpsc::channel::<(usize, Outcome)>();
            for w in 0..jobs {
                let tx = tx.clone();
                let (plan, next, stop) = (&plan, &next, &*stop);
                std::thread::Builder::new()
                    .name(format!("sweep-{w}"))
                    .stack_size(WORKER_STACK)
                    .spawn_scoped(s, move || {
                        while stop.load(Ordering::Relaxed) == 0 {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= plan.points {
                                break;
                            }
                            if tx.send((i, plan.run_point(i, stop))).is_err() {
                                break;
                            }
                        }
                    })
                    .map_err(|e| Fatal(format!("cannot start a worker thread: {e}")))?;
            }
            drop(tx);
            for (i, outcome) in rx {
                progress.finished(outcome.ok());
                outcomes[i] = Some(outcome);
                if fatal.is_none() {
                    if let Err(e) = check.advance(&outcomes, &plan) {
                        fatal = Some(e);
                        stop.store(STOP_BY_CALLER, Ordering::Relaxed);
                    }
                }
            }
            Ok(())
        })?;
    }
    progress.finish();
    if let Some(Fatal(msg)) = fatal {
        return Err(Fatal(msg));
    }
    let interrupted = match stop.load(Ordering::Relaxed) {
        0 | STOP_BY_CALLER => None,
        sig => Some(EarlyStop::Signal(sig as i32)),
    };
    let outcomes: Vec<Outcome> = outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Outcome::Failed("not run: the sweep was interrupted".into())))
        .collect();
    let text = match format {
        TableFormat::Csv => csv_table(&plan, &outcomes),
        TableFormat::Json => json_table(&plan, &outcomes),
    };
    match table_file.take() {
        Some(f) => f.commit(&text)?,
        None => out
            .write_all(text.as_bytes())
            .map_err(|e| Fatal(format!("cannot write the table: {e}")))?,
    }
    let failed = outcomes.iter().filter(|o| !o.ok()).count();
    if !args.quiet {
        let _ = writeln!(
            err,
            "sweep: {} runs ({}), {} ok, {failed} failed, {} in {:.1} s{}{}",
            plan.points,
            plan.varies
                .iter()
                .map(|v| format!("{} {}", v.values.len(), v.name))
                .collect::<Vec<_>>()
                .join(" × "),
            plan.points - failed,
            if args.collect {
                "collected".to_string()
            } else {
                format!("{jobs} job{}", if jobs == 1 { "" } else { "s" })
            },
            wall.elapsed().as_secs_f64(),
            args.out
                .as_ref()
                .map_or_else(String::new, |o| format!(" → {}", o.display())),
            interrupted.map_or_else(String::new, |why| format!(" ({})", why.describe())),
        );
    }
    Ok(if let Some(why) = interrupted {
        why.exit_code()
    } else if failed > 0 {
        EXIT_FAILED_RUNS
    } else {
        0
    })
}

/// Checks the metric paths against the first point, in sweep order, whose run succeeded:
/// a path it lacks is a mistake in the command line (exit 2), not a row's error. Waiting
/// for that point (rather than for whichever run finishes first) keeps the verdict the same
/// for any `--jobs`.
#[derive(Debug, Default)]
struct MetricCheck {
    next: usize,
    done: bool,
}

impl MetricCheck {
    fn advance(&mut self, outcomes: &[Option<Outcome>], plan: &Plan) -> Result<(), Fatal> {
        while !self.done {
            match outcomes.get(self.next) {
                None | Some(None) => break,
                Some(Some(Outcome::Failed(_))) => self.next += 1,
                Some(Some(Outcome::Ran(values))) => {
                    for (m, v) in plan.metrics.iter().zip(values) {
                        if let Err(e) = v {
                            return Err(Fatal(format!(
                                "--metric {m}: {e} (checked in run {}, the first to succeed: {})",
                                self.next + 1,
                                plan.varies
                                    .iter()
                                    .zip(plan.values(self.next))
                                    .map(|(v, x)| format!("{}={x}", v.name))
                                    .collect::<Vec<_>>()
                                    .join(" ")
                            )));
                        }
                    }
                    self.done = true;
                }
            }
        }
        Ok(())
    }
}

/// The error cell of a row.
fn row_error(plan: &Plan, o: &Outcome) -> Option<String> {
    match o {
        Outcome::Failed(msg) => Some(msg.clone()),
        Outcome::Ran(values) => {
            let errs: Vec<String> = plan
                .metrics
                .iter()
                .zip(values)
                .filter_map(|(m, v)| v.as_ref().err().map(|e| format!("metric {m}: {e}")))
                .collect();
            (!errs.is_empty()).then(|| errs.join("; "))
        }
    }
}

/// The metric values of a row (`None` where there is none).
fn row_metrics<'a>(plan: &Plan, o: &'a Outcome) -> Vec<Option<&'a Value>> {
    match o {
        Outcome::Ran(values) => values.iter().map(|v| v.as_ref().ok()).collect(),
        Outcome::Failed(_) => vec![None; plan.metrics.len()],
    }
}

/// A CSV field, quoted when it holds a comma, a quote, a line break or edge spaces.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv_table(plan: &Plan, outcomes: &[Outcome]) -> String {
    let mut t = String::new();
    let header: Vec<String> = std::iter::once("run")
        .chain(plan.varies.iter().map(|v| v.name.as_str()))
        .chain(plan.metrics.iter().map(String::as_str))
        .chain(std::iter::once("error"))
        .map(csv_field)
        .collect();
    t.push_str(&header.join(","));
    t.push('\n');
    for (i, o) in outcomes.iter().enumerate() {
        let mut row = vec![(i + 1).to_string()];
        row.extend(plan.values(i).into_iter().map(csv_field));
        row.extend(
            row_metrics(plan, o)
                .into_iter()
                .map(|v| v.map_or_else(String::new, |v| csv_field(&metric::cell(v)))),
        );
        row.push(row_error(plan, o).map_or_else(String::new, |e| csv_field(&e)));
        t.push_str(&row.join(","));
        t.push('\n');
    }
    t
}

/// Whether `s` is written as a JSON number is written (so it can go in bare).
fn is_json_number(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && (int == "0" || !int.starts_with('0'))
}

fn json_table(plan: &Plan, outcomes: &[Outcome]) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("a string serializes");
    let mut t = String::from("[\n");
    for (i, o) in outcomes.iter().enumerate() {
        let mut fields = vec![format!("\"run\": {}", i + 1)];
        for (v, x) in plan.varies.iter().zip(plan.values(i)) {
            let value = if is_json_number(x) {
                x.to_string()
            } else {
                q(x)
            };
            fields.push(format!("{}: {value}", q(&v.name)));
        }
        for (m, v) in plan.metrics.iter().zip(row_metrics(plan, o)) {
            let value = v.map_or_else(|| "null".to_string(), Value::to_string);
            fields.push(format!("{}: {value}", q(m)));
        }
        let error = row_error(plan, o).map_or_else(|| "null".to_string(), |e| q(&e));
        fields.push(format!("\"error\": {error}"));
        let _ = write!(t, "  {{{}}}", fields.join(", "));
        t.push_str(if i + 1 < outcomes.len() { ",\n" } else { "\n" });
    }
    t.push_str("]\n");
    t
}

/// `--out FILE`, written atomically: a hidden file beside it, renamed at the end. Created
/// before any run so that an unwritable place fails at once.
struct TableFile {
    dest: PathBuf,
    tmp: PathBuf,
    done: bool,
}

impl TableFile {
    fn create(dest: &Path) -> Result<Self, Fatal> {
        let fail = |e: &dyn std::fmt::Display| {
            Fatal(format!("cannot write the table to {}: {e}", dest.display()))
        };
        if dest.is_dir() {
            return Err(fail(&"it is a folder"));
        }
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(|e| fail(&e))?;
        let name = dest
            .file_name()
            .map_or_else(|| "results".into(), |n| n.to_string_lossy().into_owned());
        let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        fs::write(&tmp, "").map_err(|e| fail(&e))?;
        Ok(Self {
            dest: dest.to_path_buf(),
            tmp,
            done: false,
        })
    }

    fn commit(mut self, text: &str) -> Result<(), Fatal> {
        let fail = |e: std::io::Error| {
            Fatal(format!(
                "cannot write the table to {}: {e}",
                self.dest.display()
            ))
        };
        fs::write(&self.tmp, text).map_err(fail)?;
        fs::rename(&self.tmp, &self.dest).map_err(fail)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for TableFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A time as a command-line word: `2s`, `250ms`, `1500us`, `7ns`.
fn time_word(t: SimTime) -> String {
    let ns = t.as_nanos();
    if ns % 1_000_000_000 == 0 {
        format!("{}s", ns / 1_000_000_000)
    } else if ns % 1_000_000 == 0 {
        format!("{}ms", ns / 1_000_000)
    } else if ns % 1_000 == 0 {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vary_lists_and_inclusive_ranges() {
        let v = parse_vary("seed=1..3,7").unwrap();
        assert_eq!(v.name, "seed");
        assert_eq!(v.values, ["1", "2", "3", "7"]);
        assert_eq!(parse_vary("n=1..=3").unwrap().values, ["1", "2", "3"]);
        assert_eq!(parse_vary("n=-1..1").unwrap().values, ["-1", "0", "1"]);
        assert_eq!(
            parse_vary("rate = 10Mbit, 1Gbit").unwrap().values,
            ["10Mbit", "1Gbit"]
        );
        for bad in [
            "rate", "=1", "a b=1", "n=1,,2", "n=", "n=3..1", "n=a..b", "seed=x", "seed=-1",
        ] {
            assert!(parse_vary(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_numbers_are_recognised_strictly() {
        for yes in ["0", "12", "-3", "0.5", "10.25"] {
            assert!(is_json_number(yes), "{yes}");
        }
        for no in ["", "-", "007", "1.", ".5", "1e3", "10Mbit", "1.2.3"] {
            assert!(!is_json_number(no), "{no}");
        }
    }

    #[test]
    fn csv_quotes_what_needs_it() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }

    #[test]
    fn times_print_in_their_largest_whole_unit() {
        assert_eq!(time_word(SimTime::from_nanos(2_000_000_000)), "2s");
        assert_eq!(time_word(SimTime::from_nanos(250_000_000)), "250ms");
        assert_eq!(time_word(SimTime::from_nanos(1_500_000)), "1500us");
        assert_eq!(time_word(SimTime::from_nanos(7)), "7ns");
    }
}
