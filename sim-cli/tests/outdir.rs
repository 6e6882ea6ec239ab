//! The output folder never destroys what `sim` did not create: a folder that holds something
//! else is refused before any simulation (exit 2, the folder named), `--force` is the opt-in,
//! an earlier run's folder is replaced, concurrent runs into one folder all succeed, and the
//! partial folders of killed runs are cleaned by the next run into the same parent.

mod common;

use std::fs;
use std::path::Path;

use common::{
    PING_FILES, json, listing, long_scenario, partials, said, scenario, scratch, send_signal,
    sim_in, spawn_in, start_long, stderr, wait_at_most,
};

/// Runs the day-long flood into `out` and expects a refusal: exit 2, nothing on stdout, an
/// error naming `names`, and no simulation (the flood would run for hours, so a refusal that
/// came after simulating would not come at all).
fn refused_before_simulating(cwd: &Path, out: &str, extra: &[&str], names: &str) -> String {
    let long = long_scenario(cwd);
    let mut args = vec!["run", long.to_str().unwrap(), "--out", out, "-q"];
    args.extend_from_slice(extra);
    let o = wait_at_most(spawn_in(cwd, &args), 120, "a refused --out");
    assert_eq!(o.status.code(), Some(2), "--out {out}: {}", said(&o));
    assert!(o.stdout.is_empty(), "{}", said(&o));
    let err = stderr(&o);
    assert!(err.starts_with("error: "), "{}", said(&o));
    assert!(
        err.contains(names),
        "--out {out}: names {names}: {}",
        said(&o)
    );
    err
}

#[test]
fn a_folder_sim_did_not_write_is_refused_before_simulating_and_kept() {
    let dir = scratch("foreign");
    let proj = dir.join("proj");
    fs::create_dir_all(proj.join("src")).unwrap();
    fs::write(proj.join("notes.txt"), "my notes").unwrap();
    fs::write(proj.join("src/main.c"), "int main;").unwrap();
    let err = refused_before_simulating(&dir, "proj", &[], "proj");
    assert!(err.contains("--force"), "says how to opt in: {err}");
    assert_eq!(
        fs::read_to_string(proj.join("notes.txt")).unwrap(),
        "my notes"
    );
    assert_eq!(listing(&proj), ["notes.txt", "src"]);
    assert!(partials(&dir).is_empty(), "{:?}", listing(&dir));

    // The same folder given as an absolute path, or as `.`/`..` from inside it.
    refused_before_simulating(&dir, proj.to_str().unwrap(), &[], "proj");
    refused_before_simulating(&proj, ".", &[], "proj");
    refused_before_simulating(&proj.join("src"), "..", &[], "proj");
    assert_eq!(listing(&proj), ["long.net", "notes.txt", "src"]);
    assert_eq!(listing(&proj.join("src")), ["long.net", "main.c"]);
}

#[test]
fn force_replaces_a_foreign_folder_but_never_the_current_one_home_or_an_input() {
    let dir = scratch("force");
    let ping = scenario("ping.net");
    let ping = ping.to_str().unwrap();
    fs::create_dir(dir.join("old")).unwrap();
    fs::write(dir.join("old/junk.txt"), "x").unwrap();
    let o = sim_in(&dir, &["run", ping, "--out", "old", "--force", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert_eq!(listing(&dir.join("old")), PING_FILES);

    // Not the current folder or a folder holding it, not $HOME, not a folder holding the
    // scenario: --force or not.
    let home = dir.join("home");
    fs::create_dir_all(home.join("work")).unwrap();
    fs::write(home.join(".bashrc"), "# mine").unwrap();
    let o = std::process::Command::new(common::SIM)
        .args([
            "run",
            ping,
            "--out",
            home.to_str().unwrap(),
            "--force",
            "-q",
        ])
        .current_dir(&dir)
        .env("HOME", &home)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(stderr(&o).contains("home folder"), "{}", said(&o));
    assert!(home.join(".bashrc").exists());
    let work = home.join("work");
    fs::write(work.join("data.csv"), "1,2").unwrap();
    for out in [".", "..", work.to_str().unwrap()] {
        let o = sim_in(&work, &["run", ping, "--out", out, "--force", "-q"]);
        assert_eq!(o.status.code(), Some(2), "--out {out}: {}", said(&o));
        assert!(stderr(&o).contains("current folder"), "{}", said(&o));
    }
    assert!(work.join("data.csv").exists() && home.join(".bashrc").exists());
    let local = dir.join("mine");
    fs::create_dir(&local).unwrap();
    fs::copy(scenario("ping.net"), local.join("p.net")).unwrap();
    let o = sim_in(
        &dir,
        &["run", "mine/p.net", "--out", "mine", "--force", "-q"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(stderr(&o).contains("p.net"), "{}", said(&o));
    assert!(local.join("p.net").exists());
}

#[test]
fn an_earlier_run_is_replaced_but_not_with_a_file_of_the_users_in_it() {
    let dir = scratch("earlier");
    let ping = scenario("ping.net");
    let ping = ping.to_str().unwrap();
    let o = sim_in(&dir, &["run", ping, "--out", "r", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let params = json(&dir.join("r/params.json"));
    assert_eq!(params["format"], "netsim-run/1", "the run's marker");
    // Replaced as a whole: the pcaps of the first run do not survive a run without them.
    let o = sim_in(&dir, &["run", ping, "--out", "r", "--pcap", "none", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert_eq!(
        listing(&dir.join("r")),
        ["params.json", "run.json", "stats.json", "trace.txt"]
    );

    fs::write(dir.join("r/analysis.py"), "print(1)").unwrap();
    let err = refused_before_simulating(&dir, "r", &[], "analysis.py");
    assert!(err.contains("--force"), "{err}");
    assert!(dir.join("r/analysis.py").exists());
    let o = sim_in(&dir, &["run", ping, "--out", "r", "--force", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert_eq!(listing(&dir.join("r")), PING_FILES);
    assert!(partials(&dir).is_empty(), "{:?}", listing(&dir));
}

#[test]
fn an_empty_folder_a_symlink_and_a_file_as_out() {
    let dir = scratch("kinds");
    let ping = scenario("ping.net");
    let ping = ping.to_str().unwrap();
    fs::create_dir(dir.join("empty")).unwrap();
    let o = sim_in(&dir, &["run", ping, "--out", "empty", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert_eq!(listing(&dir.join("empty")), PING_FILES);

    // A symlink to a folder: the outputs go into the folder it points to; the link stays.
    fs::create_dir(dir.join("big-disk")).unwrap();
    std::os::unix::fs::symlink("big-disk", dir.join("link")).unwrap();
    for _ in 0..2 {
        let o = sim_in(&dir, &["run", ping, "--out", "link", "-q"]);
        assert_eq!(o.status.code(), Some(0), "{}", said(&o));
        let meta = fs::symlink_metadata(dir.join("link")).unwrap();
        assert!(meta.file_type().is_symlink(), "the link is kept");
        assert_eq!(listing(&dir.join("big-disk")), PING_FILES);
    }
    // A symlink to a foreign folder is refused like the folder.
    fs::create_dir(dir.join("theirs")).unwrap();
    fs::write(dir.join("theirs/x"), "x").unwrap();
    std::os::unix::fs::symlink("theirs", dir.join("link2")).unwrap();
    refused_before_simulating(&dir, "link2", &[], "theirs");

    // A file: refused before simulating, even with --force.
    fs::write(dir.join("taken"), "a file").unwrap();
    refused_before_simulating(
        &dir,
        "taken",
        &["--force"],
        "taken exists and is not a folder",
    );
    assert_eq!(fs::read_to_string(dir.join("taken")).unwrap(), "a file");
    assert!(partials(&dir).is_empty(), "{:?}", listing(&dir));
}

#[test]
fn concurrent_runs_into_one_folder_all_succeed() {
    let dir = scratch("concurrent");
    let ping = scenario("ping.net");
    let ping = ping.to_str().unwrap();
    // Today's binary failed about one such run in a hundred (`cannot move the outputs`).
    for round in 0..25 {
        let children: Vec<_> = (0..8)
            .map(|_| spawn_in(&dir, &["run", ping, "--out", "shared", "-q"]))
            .collect();
        for c in children {
            let o = wait_at_most(c, 300, "a concurrent run");
            assert_eq!(o.status.code(), Some(0), "round {round}: {}", said(&o));
            assert!(o.stderr.is_empty(), "round {round}: {}", said(&o));
        }
        assert_eq!(listing(&dir.join("shared")), PING_FILES, "round {round}");
    }
    // The folder holds one whole run of ping.net: its stats are a ping run's.
    let stats = json(&dir.join("shared/stats.json"));
    assert_eq!(stats["nodes"]["a"]["ping"]["received"], 4, "{stats}");
    assert!(partials(&dir).is_empty(), "{:?}", listing(&dir));
}

#[test]
fn a_killed_runs_partial_folder_is_cleaned_by_the_next_run_and_a_live_ones_is_not() {
    let dir = scratch("stale");
    let ping = scenario("ping.net");
    let ping = ping.to_str().unwrap();
    fs::create_dir(dir.join("out")).unwrap();

    // A live run's partial folder, and one of a live process that is not sim's.
    let live = start_long(&dir, "out/live", &["-q"]);
    let live_partial = dir.join(format!("out/.live.partial-{}", live.id()));
    let mine = dir.join(format!("out/.x.partial-{}", std::process::id()));
    fs::create_dir(&mine).unwrap();

    // A run killed with SIGKILL leaves its partial folder.
    let child = start_long(&dir, "out/long", &["-q"]);
    let pid = child.id();
    let partial = dir.join(format!("out/.long.partial-{pid}"));
    send_signal(pid, "KILL");
    let o = wait_at_most(child, 60, "a killed run");
    assert_eq!(o.status.code(), None, "killed: {}", said(&o));
    assert!(
        partial.exists(),
        "left behind: {:?}",
        listing(&dir.join("out"))
    );

    let o = sim_in(&dir, &["run", ping, "--out", "out/ping", "-q"]);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "one line: {}", said(&o));
    assert!(
        err.contains(&format!(".long.partial-{pid}")) && err.contains("removed"),
        "{}",
        said(&o)
    );
    assert!(
        !partial.exists(),
        "cleaned: {:?}",
        listing(&dir.join("out"))
    );
    assert!(live_partial.exists(), "a live run's partial folder is kept");
    assert!(mine.exists(), "a live process's partial folder is kept");
    assert_eq!(listing(&dir.join("out/ping")), PING_FILES);

    send_signal(live.id(), "TERM");
    let o = wait_at_most(live, 120, "the live run after SIGTERM");
    assert_eq!(o.status.code(), Some(143), "{}", said(&o));
    assert!(!live_partial.exists());
    assert!(dir.join("out/live/stats.json").exists());
}

#[test]
fn sweep_runs_folders_follow_the_same_rules() {
    let dir = scratch("sweep-runs");
    let ping = scenario("ping.net");
    let ping = ping.to_str().unwrap();
    fs::create_dir_all(dir.join("runs/2_seed=2")).unwrap();
    fs::write(dir.join("runs/2_seed=2/mine.txt"), "keep").unwrap();
    let args = ["sweep", ping, "--vary", "seed=1..3", "--runs", "runs", "-q"];
    let o = sim_in(&dir, &args);
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(stderr(&o).contains("2_seed=2"), "{}", said(&o));
    assert!(o.stdout.is_empty(), "no table: {}", said(&o));
    assert_eq!(listing(&dir.join("runs")), ["2_seed=2"], "no run was made");
    assert!(dir.join("runs/2_seed=2/mine.txt").exists());

    let o = sim_in(&dir, &[&args[..], &["--force"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    assert_eq!(
        listing(&dir.join("runs")),
        ["1_seed=1", "2_seed=2", "3_seed=3"]
    );
    assert!(!dir.join("runs/2_seed=2/mine.txt").exists());
    // A second sweep replaces the folders of the first.
    let o = sim_in(&dir, &args);
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
}
