//! Arguments every subcommand that reads a scenario shares: the file and `--set` overrides.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use sim_dsl::{Loaded, Options};

/// `FILE [--set NAME=VALUE]...`
#[derive(Debug, Clone, Args)]
pub struct ScenarioArgs {
    /// The scenario file (`.net`).
    pub file: PathBuf,
    /// Override a param of the scenario (repeatable), e.g. `--set rate=10Mbit`.
    #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
    pub set: Vec<(String, String)>,
}

/// Parses `NAME=VALUE`.
pub fn parse_set(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((n, v)) if !n.trim().is_empty() => Ok((n.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("expected NAME=VALUE, found `{s}`")),
    }
}

impl ScenarioArgs {
    /// Loads and checks the scenario, writing every diagnostic (errors and warnings) to
    /// `err`. The scenario is in the result unless there were errors.
    pub fn load(&self, err: &mut dyn Write) -> Loaded {
        let opts = Options {
            overrides: self.set.clone(),
        };
        let loaded = sim_dsl::load_file(&self.file, &opts);
        for d in &loaded.diagnostics {
            let _ = writeln!(err, "{}", d.render(&loaded.sources));
        }
        loaded
    }
}
