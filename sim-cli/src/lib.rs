//! `sim`: the command-line front end of netsim.
//!
//! ```text
//! sim run FILE [--set NAME=VALUE]... [--seed N] [--out DIR] [--force] [--until TIME]
//!              [--max-events N] [--max-wall DURATION]
//!              [--pcap all|none|NODE,…] [--pcapng] [--trace none|frames|path]
//!              [--snapshot tc,ss,ip,nstat|all [--snapshot-at TIME,…]] [--sample INTERVAL|off]
//!              [--stats json|ron] [--quiet] [--replay DIR [--allow-changed]]
//! sim sweep FILE --vary NAME=VALUES... [--set NAME=VALUE]... [--metric PATH]... [--jobs N]
//!                [--out results.csv|results.json] [--until TIME] [--runs DIR [--force]]
//!                [--max-events N] [--max-wall DURATION]
//!                [--emit-commands | --collect] [--quiet]
//! sim check FILE [--set NAME=VALUE]... [--dump ron]
//! sim drill SCRIPT.pkt... [--tolerance-usecs N] [--pcap DIR [--force]] [--expect-pass FILE]
//! sim plot OUTDIR [--format svg,png] [--tcp-seq SOCK|all|none] [--out DIR]
//! sim plot results.csv --x PARAM --y METRIC... [--by PARAM]... [--format svg,png] [--out DIR]
//! sim report OUTDIR [--out FILE]
//! ```
//!
//! The binary's `main` is [`main_with`] with no user apps; a user's own binary calls it
//! with theirs. Each subcommand is a variant of [`Command`] with its arguments in its own
//! module; [`main_with`] only parses the command line and maps the outcome to an exit code (0 success, 2 the
//! scenario has errors or cannot be read, or the output folder cannot be used; clap uses 2
//! for usage errors too; 3 when `--max-events` or `--max-wall` stopped a run; 128 + the
//! signal when SIGINT, SIGTERM or SIGHUP stopped it; `sim sweep` exits 1 when some of its
//! rows hold an error; `sim drill` exits 1 when a script did not pass).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
pub use sim_stack::apps::registry::AppSpec;

mod check;
mod drill;
mod metric;
#[cfg(feature = "mpi")]
mod mpi_comm;
mod observe;
mod outdir;
pub mod plot;
mod progress;
pub mod report;
mod run;
mod scenario_args;
mod snapshot;
mod summary;
mod sweep;

/// A deterministic discrete-event network simulator modelling the Linux packet path.
#[derive(Debug, Parser)]
#[command(name = "sim", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run a scenario and write its pcaps, trace, stats and params into out/<scenario>/.
    Run(run::RunArgs),
    /// Run a scenario over a grid of params and seeds, in parallel; one row of metrics per run.
    Sweep(sweep::SweepArgs),
    /// Check a scenario: report every error, or print a summary of the topology.
    Check(check::CheckArgs),
    /// Run Linux's packetdrill scripts against the simulated host: pass, or the first mismatch.
    Drill(drill::DrillArgs),
    /// Draw figures (SVG, PNG) of a run's samples and pcaps, or of a sweep's table.
    Plot(plot::PlotArgs),
    /// Write one self-contained HTML page of a run: summary, topology, plots, counters, drops,
    /// kernel paths, snapshots.
    Report(report::ReportArgs),
}

/// Runs the `sim` command line with the user apps `apps` registered beside the built-in
/// ones: what a user's own `sim` binary calls from its `main` (see `examples/rpc` and
/// docs/apps.md). `sim` itself is `main_with(Vec::new())`.
pub fn main_with(apps: Vec<AppSpec>) -> ExitCode {
    for spec in apps {
        sim_stack::apps::registry::register(spec);
    }
    let cli = Cli::parse();
    let code = match &cli.command {
        Command::Run(args) => run::run(
            args,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        ),
        // Unlocked handles: worker threads may write to stderr (a panic message).
        Command::Sweep(args) => sweep::run(args, &mut std::io::stdout(), &mut std::io::stderr()),
        Command::Check(args) => check::run(
            args,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        ),
        Command::Drill(args) => drill::run(
            args,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        ),
        Command::Plot(args) => plot::run(
            args,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        ),
        Command::Report(args) => report::run(
            args,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        ),
    };
    ExitCode::from(code)
}
