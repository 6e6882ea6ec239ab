//! Golden traces: every scenario directly in `scenarios/` (the ones that run in well under
//! two seconds; `scenarios/bench/` is left out) is run with its defaults, and its frame-level
//! trace — what `sim run` writes to `trace.txt` — must equal `tests/golden/<scenario>.trace`
//! line for line. On a mismatch the test prints the first differing line with three lines
//! of context from both sides.
//!
//! After an intended change of behaviour, re-bless (rewrite) the golden files and review
//! the diff before committing it:
//!
//! ```sh
//! SIM_BLESS=1 cargo test -p netsim-tests --test golden
//! git diff tests/golden/
//! ```

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::run_scenario;

/// Lines of context shown around the first difference.
const CONTEXT: usize = 3;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The scenarios with a golden trace: `scenarios/*.net`, sorted.
fn scenarios() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(root().join("scenarios"))
        .expect("scenarios/ is readable")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "net"))
        .collect();
    v.sort();
    v
}

fn golden_dir() -> PathBuf {
    root().join("tests/golden")
}

/// The frame-level trace of `path` run with its defaults, as `sim run` writes it.
fn fresh_trace(path: &Path) -> String {
    let loaded = sim_dsl::load_file(path, &sim_dsl::Options::default());
    assert!(!loaded.has_errors(), "{}", loaded.render_diagnostics());
    let sc = loaded.scenario.expect("no errors, so a scenario");
    run_scenario(&sc, None).trace
}

/// Where `fresh` first differs from `golden`: the line number (1-based) and both sides'
/// lines around it, or `None` when they are equal.
fn first_difference(golden: &str, fresh: &str) -> Option<String> {
    if golden == fresh {
        return None;
    }
    let g: Vec<&str> = golden.lines().collect();
    let f: Vec<&str> = fresh.lines().collect();
    let at = g
        .iter()
        .zip(&f)
        .position(|(a, b)| a != b)
        .unwrap_or(g.len().min(f.len()));
    let from = at.saturating_sub(CONTEXT);
    let show = |lines: &[&str]| {
        let mut s = String::new();
        for (i, l) in lines.iter().enumerate().take(at + CONTEXT + 1).skip(from) {
            let mark = if i == at { '>' } else { ' ' };
            s.push_str(&format!("  {mark} {:>6} | {l}\n", i + 1));
        }
        if at >= lines.len() {
            s.push_str(&format!("  > {:>6} | (end of trace)\n", lines.len() + 1));
        }
        s
    };
    let what = if golden.lines().eq(fresh.lines()) {
        "the line endings differ".to_string()
    } else {
        format!(
            "first difference at line {} (golden {} lines, fresh {} lines)",
            at + 1,
            g.len(),
            f.len()
        )
    };
    Some(format!(
        "{what}\n--- golden\n{}--- fresh\n{}",
        show(&g),
        show(&f)
    ))
}

#[test]
fn every_scenario_matches_its_golden_trace() {
    let bless = std::env::var_os("SIM_BLESS").is_some_and(|v| v != "0" && !v.is_empty());
    let dir = golden_dir();
    let mut failures = Vec::new();
    let mut expected = Vec::new();
    for path in scenarios() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let golden_path = dir.join(format!("{name}.trace"));
        expected.push(format!("{name}.trace"));
        let fresh = fresh_trace(&path);
        assert!(!fresh.is_empty(), "{name}: the run wrote no trace");
        if bless {
            fs::create_dir_all(&dir).expect("tests/golden/ can be created");
            fs::write(&golden_path, &fresh).expect("golden file written");
            eprintln!(
                "blessed tests/golden/{name}.trace ({} lines)",
                fresh.lines().count()
            );
            continue;
        }
        match fs::read_to_string(&golden_path) {
            Err(e) => failures.push(format!(
                "{name}: cannot read tests/golden/{name}.trace: {e}\n  (a new scenario? create it with SIM_BLESS=1)"
            )),
            Ok(golden) => {
                if let Some(diff) = first_difference(&golden, &fresh) {
                    failures.push(format!(
                        "{name}: the trace differs from tests/golden/{name}.trace: {diff}"
                    ));
                }
            }
        }
    }
    // A golden file whose scenario is gone.
    for entry in fs::read_dir(&dir).into_iter().flatten() {
        let file = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        if file.ends_with(".trace") && !expected.contains(&file) {
            if bless {
                fs::remove_file(dir.join(&file)).expect("stale golden file removed");
                eprintln!("removed tests/golden/{file}: no such scenario");
            } else {
                failures.push(format!(
                    "tests/golden/{file} has no scenario in scenarios/ (remove it, or re-bless)"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "\n{}\n\nIf the change is intended, re-bless and review:\n  SIM_BLESS=1 cargo test -p netsim-tests --test golden && git diff tests/golden/\n",
        failures.join("\n\n")
    );
}

#[test]
fn a_difference_is_shown_with_its_line_number_and_context() {
    let golden = "a\nb\nc\nd\ne\nf\ng\nh\n";
    let fresh = "a\nb\nc\nd\nE\nf\ng\nh\n";
    let d = first_difference(golden, fresh).expect("they differ");
    assert!(d.starts_with("first difference at line 5 (golden 8 lines, fresh 8 lines)"));
    assert!(
        d.contains(">      5 | e") && d.contains(">      5 | E"),
        "{d}"
    );
    assert!(
        d.contains("       2 | b") && d.contains("       8 | h"),
        "{d}"
    );
    assert!(
        !d.contains("       1 | a"),
        "three lines of context only: {d}"
    );

    let d = first_difference("a\nb\n", "a\nb\nc\n").expect("they differ");
    assert!(d.contains("first difference at line 3"), "{d}");
    assert!(
        d.contains(">      3 | (end of trace)") && d.contains(">      3 | c"),
        "{d}"
    );
    assert!(first_difference("x\n", "x\n").is_none());
}
