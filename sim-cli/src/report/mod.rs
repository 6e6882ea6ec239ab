//! `sim report OUTDIR [--out FILE]`: one self-contained HTML page of a run, from its folder
//! alone — the summary (with the wall time and speed `run.json` recorded), a drawing of the
//! topology coloured by link utilization with the drops marked, the plots, the snapshots,
//! the counters of every node, the drops by place and reason, and the kernel path of a few
//! packets.
//!
//! The page has no script and fetches nothing: the styles are inline and the drawings are
//! inline SVG, so it opens offline, from a mail attachment or a CI artifact. It is written
//! under a temporary name beside its destination and renamed into place. The same folder
//! always gives the same page.
//!
//! Files: [`html`] the page and its style sheet; [`summary`]; [`topology`] (the network from
//! stats.json and the scenario), [`layout`] (where each box goes) and [`drawing`] (the
//! SVG); [`plots`]; [`snapshots`]; [`counters`] (nodes, interfaces, links, drops);
//! [`trace`] (reading trace.txt) and [`paths`] (the kernel paths); [`json`] (stats.json
//! with its keys in order); [`timing`] (`run.json`, written by `sim run`).

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use sim_stack::config::Scenario;

pub mod counters;
pub mod drawing;
pub mod html;
pub mod json;
pub mod layout;
pub mod paths;
pub mod plots;
pub mod snapshots;
pub mod summary;
pub mod timing;
pub mod topology;
pub mod trace;

use crate::run::{EXIT_ERRORS, RunParams, load_scenario};
use html::{Section, note};
use json::Json;
use timing::RunTiming;
use topology::Topology;
use trace::TraceDigest;

/// Arguments of `sim report`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Examples:
  sim run scenarios/dns_then_http.net --trace path && sim report out/dns_then_http
  sim report out/ping --out /tmp/ping.html

The page is self-contained (inline styles and SVG, no script, nothing fetched). See
docs/report.md.")]
pub struct ReportArgs {
    /// A run's output folder (what `sim run` wrote).
    pub outdir: PathBuf,
    /// Where to write the page [default: OUTDIR/report.html]: `--out /tmp/run.html`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Everything the report reads from a run's folder.
#[derive(Debug)]
pub struct RunFolder {
    /// The folder.
    pub dir: PathBuf,
    /// `params.json`.
    pub params: RunParams,
    /// `stats.json` (or `stats.ron`), keys in order.
    pub stats: Json,
    /// `run.json`, when the run wrote one.
    pub timing: Option<RunTiming>,
    /// The scenario reloaded from `params.json`'s file and params, when that worked.
    pub scenario: Option<Scenario>,
    /// Why the scenario is missing or may differ from the run's, when it is or may.
    pub scenario_note: Option<String>,
    /// `trace.txt`'s digest, when there is a trace.
    pub trace: Option<TraceDigest>,
    /// `snapshots/*.txt`: name and text.
    pub snapshots: Vec<(String, String)>,
    /// Whether the folder has `samples/`.
    pub has_samples: bool,
}

impl RunFolder {
    /// Reads the folder `dir`.
    pub fn read(dir: &Path) -> Result<Self, String> {
        let pj = dir.join("params.json");
        let text = match std::fs::read_to_string(&pj) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dir.is_dir() => {
                return Err(format!("{} is not a folder", dir.display()));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(format!(
                    "{} has no params.json: it is not the folder of a run (sim run writes one)",
                    dir.display()
                ));
            }
            Err(e) => return Err(format!("cannot read {}: {e}", pj.display())),
        };
        let params: RunParams = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a run's params.json: {e}", pj.display()))?;
        let stats = read_stats(dir)?;
        let timing = RunTiming::read(dir)?;
        let (scenario, scenario_note) = reload_scenario(&params);
        let trace_path = dir.join("trace.txt");
        let trace = match std::fs::File::open(&trace_path) {
            Ok(f) => Some(
                TraceDigest::read(BufReader::with_capacity(1 << 16, f))
                    .map_err(|e| format!("cannot read {}: {e}", trace_path.display()))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(format!("cannot read {}: {e}", trace_path.display())),
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            params,
            stats,
            timing,
            scenario,
            scenario_note,
            trace,
            snapshots: snapshots::read(dir)?,
            has_samples: dir.join("samples").is_dir(),
        })
    }
}

/// `stats.json`, or `stats.ron` (`--stats ron`).
fn read_stats(dir: &Path) -> Result<Json, String> {
    let json = dir.join("stats.json");
    match std::fs::read_to_string(&json) {
        Ok(t) => {
            return serde_json::from_str(&t)
                .map_err(|e| format!("{} is not a run's stats.json: {e}", json.display()));
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("cannot read {}: {e}", json.display()));
        }
        Err(_) => {}
    }
    let ron_path = dir.join("stats.ron");
    match std::fs::read_to_string(&ron_path) {
        Ok(t) => ron::from_str(&t)
            .map_err(|e| format!("{} is not a run's stats.ron: {e}", ron_path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "{} has neither stats.json nor stats.ron: the run did not finish writing it",
            dir.display()
        )),
        Err(e) => Err(format!("cannot read {}: {e}", ron_path.display())),
    }
}

/// The scenario as the run loaded it (its file, params, seed and end), for the links' rates
/// and delays; `None` with the reason when it cannot be loaded, and a note when it has
/// changed since.
fn reload_scenario(p: &RunParams) -> (Option<Scenario>, Option<String>) {
    let file = match &p.file_abs {
        Some(abs) if abs.exists() => abs.clone(),
        _ => p.file.clone(),
    };
    let mut diag = Vec::new();
    let loaded = load_scenario(
        &file,
        &p.params,
        Some(p.seed),
        Some(sim_core::SimTime::from_nanos(p.until_ns)),
        &mut diag,
    );
    match loaded {
        Ok(l) => {
            let changed = p.inputs.as_ref().is_some_and(|then| {
                then.len() != l.inputs.len()
                    || then
                        .iter()
                        .zip(&l.inputs)
                        .any(|(a, b)| a.sha256 != b.sha256)
            });
            let note = changed.then(|| {
                format!(
                    "{} has changed since the run: the links' rates and delays are the file's \
                     now.",
                    p.file.display()
                )
            });
            (Some(l.scenario), note)
        }
        Err(f) => {
            let first = String::from_utf8_lossy(&diag)
                .lines()
                .next()
                .map(str::to_string)
                .unwrap_or(f.msg);
            (
                None,
                Some(format!(
                    "The scenario {} could not be loaded again ({first}): the links are drawn \
                     without their rates, delays and utilization.",
                    file.display()
                )),
            )
        }
    }
}

/// The page of the run in `run`, with `figures` (title, SVG) in its "Plots" section.
pub fn render(run: &RunFolder, figures: &[(String, String)]) -> Result<String, String> {
    let topo = Topology::from_stats(&run.stats, run.scenario.as_ref())?;
    let mut topo_body = drawing::svg(&topo);
    if run.scenario.is_none() {
        if let Some(why) = &run.scenario_note {
            topo_body.push_str(&note(&html::esc(why)));
        }
    }
    topo_body.push_str(&note(
        "Hover a box or a line for its details. Links are labelled with rate, delay and the \
         busier direction's utilization; a red badge counts a node's drops.",
    ));
    let summary_body = summary::section(run);
    let sections = [
        Section {
            id: "summary",
            title: "Summary",
            body: summary_body,
        },
        Section {
            id: "topology",
            title: "Topology",
            body: topo_body,
        },
        Section {
            id: "plots",
            title: "Plots",
            body: plots::section(figures, run.has_samples),
        },
        Section {
            id: "apps",
            title: "Apps",
            body: counters::apps_table(&run.stats, &topo),
        },
        Section {
            id: "drops",
            title: "Drops",
            body: counters::drops_section(&run.stats, &topo, run.trace.as_ref()),
        },
        Section {
            id: "counters",
            title: "Counters",
            body: counters::nodes_section(&run.stats, &topo),
        },
        Section {
            id: "network",
            title: "Links and switches",
            body: counters::network_section(&run.stats, &topo),
        },
        Section {
            id: "paths",
            title: "Kernel paths",
            body: paths::section(run.trace.as_ref()),
        },
        Section {
            id: "snapshots",
            title: "Snapshots",
            body: snapshots::section(&run.snapshots),
        },
    ];
    Ok(html::page(
        &format!(
            "{} (seed {}) — netsim run report",
            run.params.scenario, run.params.seed
        ),
        &sections,
    ))
}

/// Writes `text` to `path` through a temporary file beside it, renamed into place.
fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("--out {}: not a file name", path.display()))?;
    let tmp = path.with_file_name(format!(
        ".{}.partial-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads the run in `outdir` and writes its page to `out` (default `OUTDIR/report.html`),
/// with the figures `figures` draws (called once the folder is known to be a run's) in the
/// "Plots" section. Returns where it went.
pub fn write_report(
    outdir: &Path,
    out: Option<&Path>,
    figures: impl FnOnce() -> Vec<(String, String)>,
) -> Result<PathBuf, String> {
    let run = RunFolder::read(outdir)?;
    let page = render(&run, &figures())?;
    let dest = out.map_or_else(|| outdir.join("report.html"), Path::to_path_buf);
    write_atomically(&dest, &page)?;
    Ok(dest)
}

/// Runs `sim report`; returns the exit code (0, or 2 with one `error:` line).
pub fn run(args: &ReportArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    // The run's figures, as `sim plot` draws them; a folder they cannot be drawn from still
    // gets its page (which says how to record samples), with the reason on stderr.
    let figures = || match crate::plot::run_figures(&args.outdir) {
        Ok(f) => f.into_iter().map(|f| (f.title, f.svg)).collect(),
        Err(e) => {
            let _ = writeln!(err, "warning: no figures: {e}");
            Vec::new()
        }
    };
    match write_report(&args.outdir, args.out.as_deref(), figures) {
        Ok(dest) => {
            let _ = writeln!(out, "wrote {}", dest.display());
            0
        }
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            EXIT_ERRORS
        }
    }
}
