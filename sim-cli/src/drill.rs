//! `sim drill SCRIPT.pkt… [--tolerance-usecs N] [--pcap DIR [--force]] [--expect-pass FILE]
//! [-4]`
//!
//! Runs Linux's packetdrill scripts against the simulated host (`sim_drill::sim_host`), set
//! up as the kernel's selftests set up packetdrill's tun device (`ksft_runner.sh`, IPv4). For
//! each script it prints `pass`, or the first mismatch in packetdrill's own words, or what
//! the host does not model; then a table of all of them. `--pcap DIR` writes each script's
//! exchange as `DIR/NAME.pcap` (raw IPv4, as tcpdump on tun0 shows it).
//!
//! Exit status: 0 when every script passed — or, with `--expect-pass FILE`, when every
//! script that file names passed (what CI gates on while the others are being worked on);
//! 1 otherwise; 2 when the command cannot be carried out (a pcap that exists, an unreadable
//! list).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use sim_drill::report::{self, Outcome};
use sim_drill::sim_host::{ScriptRun, run_script};

/// Exit code when some script did not pass.
pub const EXIT_FAILED: u8 = 1;
/// Exit code when the command cannot be carried out.
pub const EXIT_ERRORS: u8 = 2;

/// Arguments of `sim drill`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Examples:
  sim drill ../shared/packetdrill/tcp_basic_client.pkt
  sim drill ../shared/packetdrill/*.pkt --tolerance-usecs 14000
  sim drill ../shared/packetdrill/*.pkt --pcap /tmp/drill      # DIR/NAME.pcap per script
  sim drill ../shared/packetdrill/*.pkt --expect-pass sim-drill/expected-pass.txt

Exit status: 0 every script passed (with --expect-pass: every listed one), 1 not, 2 the
command could not be carried out. See docs/drill.md.")]
pub struct DrillArgs {
    /// The packetdrill scripts to run (`defaults.sh` is read from each one's folder).
    #[arg(required = true, value_name = "SCRIPT.pkt")]
    pub scripts: Vec<PathBuf>,
    /// Timing tolerance in microseconds, as packetdrill's --tolerance_usecs (the kernel's
    /// CI uses 14000 on slow machines); it wins over the script's own option:
    /// `--tolerance-usecs 14000`.
    #[arg(long, value_name = "USECS")]
    pub tolerance_usecs: Option<u64>,
    /// Write each script's exchange (the packets injected and sent, with their simulated
    /// times) to DIR/NAME.pcap, raw IPv4 as tcpdump on tun0 shows it (none for a script
    /// that stopped before any packet); DIR is made if missing: `--pcap /tmp/drill`.
    #[arg(long, value_name = "DIR")]
    pub pcap: Option<PathBuf>,
    /// Replace pcaps of the same names in the --pcap folder.
    #[arg(long, requires = "pcap")]
    pub force: bool,
    /// Exit 0 when the scripts this file names (one file name a line, `#` comments) pass,
    /// whatever the others do: the list CI gates on (`sim-drill/expected-pass.txt`).
    #[arg(long, value_name = "FILE")]
    pub expect_pass: Option<PathBuf>,
    /// IPv4, as ksft_runner.sh's ipv4 run (the default and, until the stack has IPv6, the
    /// only choice).
    #[arg(short = '4')]
    pub ipv4: bool,
}

/// A script's name in the table and in its pcap's name.
fn name_of(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The names a `--expect-pass` file lists.
fn read_expected(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

/// Where each script's pcap goes, checked before anything runs.
fn pcap_targets(args: &DrillArgs) -> Result<Vec<PathBuf>, String> {
    let Some(dir) = &args.pcap else {
        return Ok(Vec::new());
    };
    if dir.exists() && !dir.is_dir() {
        return Err(format!("--pcap {}: not a folder", dir.display()));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for s in &args.scripts {
        let stem = Path::new(&name_of(s))
            .file_stem()
            .map_or_else(|| "script".into(), |x| x.to_string_lossy().into_owned());
        if !seen.insert(stem.clone()) {
            return Err(format!(
                "two scripts named {stem}: their pcaps would have the same name"
            ));
        }
        let target = dir.join(format!("{stem}.pcap"));
        if target.exists() && !args.force {
            return Err(format!("{} exists; --force replaces it", target.display()));
        }
        out.push(target);
    }
    Ok(out)
}

/// Runs `sim drill`; returns the exit code.
pub fn run(args: &DrillArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let expected = match args.expect_pass.as_deref().map(read_expected).transpose() {
        Ok(e) => e,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_ERRORS;
        }
    };
    let pcaps = match pcap_targets(args) {
        Ok(p) => p,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return EXIT_ERRORS;
        }
    };
    if let Some(dir) = &args.pcap {
        if let Err(e) = std::fs::create_dir_all(dir) {
            let _ = writeln!(err, "error: --pcap {}: {e}", dir.display());
            return EXIT_ERRORS;
        }
    }
    let cli: Vec<(String, Option<String>)> = args
        .tolerance_usecs
        .map(|t| ("tolerance_usecs".to_string(), Some(t.to_string())))
        .into_iter()
        .collect();
    let mut rows = Vec::new();
    for (i, path) in args.scripts.iter().enumerate() {
        let ScriptRun { outcome, report } = run_script(path, &cli);
        let name = name_of(path);
        let _ = writeln!(out, "{}", verdict(&name, &outcome));
        if let Some(r) = &report {
            for w in &r.warnings {
                let _ = writeln!(out, "{w}");
            }
            // A script stopped before any packet has nothing to show.
            if let Some(target) = pcaps.get(i).filter(|_| !r.exchange.is_empty()) {
                if let Err(e) = report::write_pcap(target, &r.exchange) {
                    let _ = writeln!(err, "error: {}: {e}", target.display());
                    return EXIT_ERRORS;
                }
            }
        }
        rows.push((name, outcome));
    }
    let _ = write!(out, "\n{}", report::summary_table(&rows));
    match expected {
        None if report::all_passed(&rows) => 0,
        None => EXIT_FAILED,
        Some(list) => gate(&rows, &list, out),
    }
}

/// One script's line: `NAME: pass`, or its outcome and message (as packetdrill prints
/// it, the packet dumps ending in a space).
fn verdict(name: &str, o: &Outcome) -> String {
    let (word, m) = match o {
        Outcome::Pass => return format!("{name}: pass"),
        Outcome::Fail(m) => ("FAIL", m),
        Outcome::Unsupported(m) => ("unsupported", m),
        Outcome::Invalid(m) => ("invalid", m),
    };
    format!("{name}: {word}\n{}", m.trim_end_matches('\n'))
}

/// `--expect-pass`: every listed script ran and passed.
fn gate(rows: &[(String, Outcome)], expected: &[String], out: &mut dyn Write) -> u8 {
    let mut code = 0;
    for name in expected {
        match rows.iter().find(|(n, _)| n == name) {
            Some((_, Outcome::Pass)) => {}
            Some(_) => {
                let _ = writeln!(out, "expected to pass, did not: {name}");
                code = EXIT_FAILED;
            }
            None => {
                let _ = writeln!(out, "expected to pass, not run: {name}");
                code = EXIT_FAILED;
            }
        }
    }
    let extra: Vec<&str> = rows
        .iter()
        .filter(|(n, o)| *o == Outcome::Pass && !expected.contains(n))
        .map(|(n, _)| n.as_str())
        .collect();
    if !extra.is_empty() {
        let _ = writeln!(
            out,
            "passing, not yet in the expected-pass list: {}",
            extra.join(", ")
        );
    }
    code
}
