//! `sim drill SCRIPT.pkt… [--ip-version ipv4|ipv6|both] [--tolerance-usecs N]
//! [--pcap DIR [--force]] [--expect-pass FILE]`
//!
//! Runs Linux's packetdrill scripts against the simulated host (`sim_drill::sim_host`), set
//! up as the kernel's selftests set up packetdrill's tun device (`ksft_runner.sh`): each
//! script in the versions ksft runs it in — those of its own `--ip_version=` lines, else
//! IPv4 and IPv6 — that `--ip-version` selects. For each run it prints `pass`, or the
//! first mismatch in packetdrill's own words, or what the host does not model; then a table
//! of all of them. `--pcap DIR` writes each run's exchange as `DIR/NAME-ipv4.pcap` or
//! `DIR/NAME-ipv6.pcap` (raw IP, as tcpdump on tun0 shows it).
//!
//! Exit status: 0 when every run passed — or, with `--expect-pass FILE`, when every run
//! that file names (`SCRIPT VERSION…` a line) among the selected versions passed (what CI
//! gates on while the others are being worked on); 1 otherwise; 2 when the command cannot
//! be carried out (a pcap that exists, an unreadable list).

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use sim_drill::config::IpVersion;
use sim_drill::report::{self, Outcome, Row};
use sim_drill::sim_host::{ScriptRun, run_script, script_own_versions, script_versions};

/// Exit code when some script did not pass.
pub const EXIT_FAILED: u8 = 1;
/// Exit code when the command cannot be carried out.
pub const EXIT_ERRORS: u8 = 2;

/// Arguments of `sim drill`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Examples:
  sim drill ../shared/packetdrill/tcp_basic_client.pkt          # over IPv4 and IPv6
  sim drill ../shared/packetdrill/*.pkt --ip-version ipv6 --tolerance-usecs 14000
  sim drill ../shared/packetdrill/*.pkt --pcap /tmp/drill      # DIR/NAME-ipv4.pcap, -ipv6
  sim drill ../shared/packetdrill/*.pkt --expect-pass sim-drill/expected-pass.txt

Exit status: 0 every run passed (with --expect-pass: every listed one), 1 not, 2 the
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
    /// Write each run's exchange (the packets injected and sent, with their simulated
    /// times) to DIR/NAME-ipv4.pcap or DIR/NAME-ipv6.pcap, raw IP as tcpdump on tun0 shows
    /// it (none for a run that stopped before any packet); DIR is made if missing:
    /// `--pcap /tmp/drill`.
    #[arg(long, value_name = "DIR")]
    pub pcap: Option<PathBuf>,
    /// Replace pcaps of the same names in the --pcap folder.
    #[arg(long, requires = "pcap")]
    pub force: bool,
    /// Exit 0 when the runs this file names pass, whatever the others do: one script a
    /// line with the versions expected to pass (`tcp_basic_client.pkt ipv4 ipv6`; `#`
    /// comments); versions `--ip-version` leaves out are not asked for. The list CI gates
    /// on (`sim-drill/expected-pass.txt`).
    #[arg(long, value_name = "FILE")]
    pub expect_pass: Option<PathBuf>,
    /// Which of ksft_runner.sh's runs to make: `ipv4`, `ipv6`, or `both` (the default, as
    /// ksft does); or packetdrill's third mode, `ipv4-mapped-ipv6` (AF_INET6 sockets,
    /// v4-mapped addresses, IPv4 packets), which ksft does not run. A script with its own
    /// `--ip_version=` lines runs only in those (all of them with `both`).
    #[arg(long, value_enum, default_value_t = IpChoice::Both, value_name = "VERSION")]
    pub ip_version: IpChoice,
    /// Short for `--ip-version ipv4`.
    #[arg(short = '4', conflicts_with_all = ["ip_version", "ipv6"])]
    pub ipv4: bool,
    /// Short for `--ip-version ipv6`.
    #[arg(short = '6', conflicts_with = "ip_version")]
    pub ipv6: bool,
}

/// `--ip-version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IpChoice {
    /// ksft_runner.sh's `ipv4` run.
    Ipv4,
    /// ksft_runner.sh's `ipv6` run.
    Ipv6,
    /// Both, as ksft_runner.sh runs a script with no `--ip_version` line of its own.
    Both,
    /// packetdrill's `--ip_version=ipv4-mapped-ipv6`.
    #[value(name = "ipv4-mapped-ipv6")]
    Ipv4MappedIpv6,
}

impl DrillArgs {
    fn choice(&self) -> IpChoice {
        if self.ipv4 {
            IpChoice::Ipv4
        } else if self.ipv6 {
            IpChoice::Ipv6
        } else {
            self.ip_version
        }
    }

    /// Whether the choice takes runs of `v`.
    fn selects(&self, v: IpVersion) -> bool {
        match self.choice() {
            IpChoice::Ipv4 => v == IpVersion::V4,
            IpChoice::Ipv6 => v == IpVersion::V6,
            IpChoice::Ipv4MappedIpv6 => v == IpVersion::V4MappedV6,
            IpChoice::Both => true,
        }
    }

    /// The runs to make, in order: each script in each selected version ksft runs it in;
    /// `ipv4-mapped-ipv6` runs every script without a `--ip_version` line of its own.
    fn runs(&self) -> Vec<(PathBuf, IpVersion)> {
        self.scripts
            .iter()
            .flat_map(|p| {
                let versions = if self.choice() == IpChoice::Ipv4MappedIpv6
                    && script_own_versions(p).is_empty()
                {
                    vec![IpVersion::V4MappedV6]
                } else {
                    script_versions(p)
                };
                versions
                    .into_iter()
                    .filter(|v| self.selects(*v))
                    .map(move |v| (p.clone(), v))
            })
            .collect()
    }
}

/// A script's name in the table and in its pcap's name.
fn name_of(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The runs a `--expect-pass` file lists: `SCRIPT VERSION…` a line.
fn read_expected(path: &Path) -> Result<Vec<(String, IpVersion)>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let mut words = l.split('#').next().unwrap_or("").split_whitespace();
        let Some(script) = words.next() else {
            continue;
        };
        let at = || format!("{}:{}", path.display(), i + 1);
        let mut any = false;
        for w in words {
            let v = IpVersion::from_name(w).ok_or_else(|| {
                format!(
                    "{}: `{w}` is not an IP version (ipv4, ipv6, ipv4-mapped-ipv6)",
                    at()
                )
            })?;
            out.push((script.to_string(), v));
            any = true;
        }
        if !any {
            return Err(format!(
                "{}: {script}: name the versions expected to pass (`{script} ipv4 ipv6`)",
                at()
            ));
        }
    }
    Ok(out)
}

/// Where each run's pcap goes, checked before anything runs.
fn pcap_targets(args: &DrillArgs, runs: &[(PathBuf, IpVersion)]) -> Result<Vec<PathBuf>, String> {
    let Some(dir) = &args.pcap else {
        return Ok(Vec::new());
    };
    if dir.exists() && !dir.is_dir() {
        return Err(format!("--pcap {}: not a folder", dir.display()));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (s, v) in runs {
        let stem = Path::new(&name_of(s))
            .file_stem()
            .map_or_else(|| "script".into(), |x| x.to_string_lossy().into_owned());
        if !seen.insert((stem.clone(), *v)) {
            return Err(format!(
                "two scripts named {stem}: their pcaps would have the same name"
            ));
        }
        let target = dir.join(format!("{stem}-{}.pcap", v.name()));
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
    let runs = args.runs();
    let pcaps = match pcap_targets(args, &runs) {
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
    for (i, (path, version)) in runs.iter().enumerate() {
        let ScriptRun { outcome, report } = run_script(path, *version, &cli);
        let name = name_of(path);
        let _ = writeln!(
            out,
            "{}",
            verdict(&format!("{name} {}", version.name()), &outcome)
        );
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
        rows.push(Row::new(name, *version, outcome));
    }
    let _ = write!(out, "\n{}", report::summary_table(&rows));
    match expected {
        None if report::all_passed(&rows) => 0,
        None => EXIT_FAILED,
        Some(list) => {
            let list: Vec<_> = list.into_iter().filter(|(_, v)| args.selects(*v)).collect();
            gate(&rows, &list, out)
        }
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

/// `--expect-pass`: every listed run (of the selected versions) was made and passed.
fn gate(rows: &[Row], expected: &[(String, IpVersion)], out: &mut dyn Write) -> u8 {
    let mut code = 0;
    for (name, v) in expected {
        let run = format!("{name} {}", v.name());
        match rows.iter().find(|r| r.script == *name && r.ip == *v) {
            Some(r) if r.outcome == Outcome::Pass => {}
            Some(_) => {
                let _ = writeln!(out, "expected to pass, did not: {run}");
                code = EXIT_FAILED;
            }
            None => {
                let _ = writeln!(out, "expected to pass, not run: {run}");
                code = EXIT_FAILED;
            }
        }
    }
    let extra: Vec<String> = rows
        .iter()
        .filter(|r| {
            r.outcome == Outcome::Pass
                && !expected.iter().any(|(n, v)| *n == r.script && *v == r.ip)
        })
        .map(|r| format!("{} {}", r.script, r.ip.name()))
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
