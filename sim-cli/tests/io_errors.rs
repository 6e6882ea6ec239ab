//! A full disk, or any I/O error, names the file or folder it failed on, and leaves nothing
//! behind. The disk is a small tmpfs mounted for the test (this needs root: without it each
//! test says why it is skipped and passes).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{listing, long_scenario, said, scenario, scratch, sim_in, stderr};

/// A tmpfs of `size` bytes mounted on `dir/mnt`, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: u64) -> Option<Self> {
        let at = dir.join("mnt");
        fs::create_dir(&at).unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}")])
            .arg("tmpfs")
            .arg(&at)
            .output();
        match o {
            Ok(o) if o.status.success() => Some(Self(at)),
            Ok(o) => {
                eprintln!(
                    "skipped: cannot mount a tmpfs (needs root): {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                );
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run mount: {e}");
                None
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Runs `sim run ARGS --out mnt/o -q` on a tmpfs of `size` bytes and expects exit 2 with an
/// error naming `file` and the full disk, and nothing left on the tmpfs.
fn disk_full(tag: &str, size: u64, args: &[&str], file: &str) {
    let dir = scratch(tag);
    let Some(mnt) = Tmpfs::mount(&dir, size) else {
        return;
    };
    let long = long_scenario(&dir);
    let args: Vec<&str> = args
        .iter()
        .map(|a| {
            if *a == "LONG" {
                long.to_str().unwrap()
            } else {
                a
            }
        })
        .collect();
    let mut all = vec!["run"];
    all.extend_from_slice(&args);
    all.extend_from_slice(&["--out", "mnt/o", "-q"]);
    let o = sim_in(&dir, &all);
    assert_eq!(o.status.code(), Some(2), "{tag}: {}", said(&o));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{tag}: one message: {}", said(&o));
    assert!(
        err.contains(&format!("/{file}")) && err.contains("No space left on device"),
        "{tag}: names {file}: {}",
        said(&o)
    );
    assert!(
        listing(&mnt.0).is_empty(),
        "{tag}: left {:?}",
        listing(&mnt.0)
    );
}

#[test]
fn a_full_disk_names_the_trace() {
    disk_full(
        "full-trace",
        64 << 10,
        &["LONG", "--until", "1200ms", "--pcap", "none"],
        "trace.txt",
    );
}

#[test]
fn a_full_disk_names_the_pcap() {
    disk_full(
        "full-pcap",
        64 << 10,
        &[
            "LONG", "--until", "1200ms", "--pcap", "a", "--trace", "none",
        ],
        "a-eth0.pcap",
    );
}

#[test]
fn a_full_disk_names_stats_json() {
    let ping = scenario("ping.net");
    disk_full(
        "full-stats",
        4 << 10,
        &[ping.to_str().unwrap(), "--pcap", "none", "--trace", "none"],
        "stats.json",
    );
}

#[test]
fn a_full_disk_names_params_json() {
    // Room for stats.json to the last page, none for params.json.
    let dir = scratch("measure");
    let ping = scenario("ping.net");
    let args = [ping.to_str().unwrap(), "--pcap", "none", "--trace", "none"];
    let o = sim_in(&dir, &[&["run"], &args[..], &["--out", "m", "-q"]].concat());
    assert_eq!(o.status.code(), Some(0), "{}", said(&o));
    let stats = fs::metadata(dir.join("m/stats.json")).unwrap().len();
    disk_full(
        "full-params",
        stats.div_ceil(4096) * 4096,
        &args,
        "params.json",
    );
}

#[test]
fn a_mount_point_as_out_is_refused_before_simulating() {
    let dir = scratch("mountpoint");
    let Some(mnt) = Tmpfs::mount(&dir, 1 << 20) else {
        return;
    };
    let long = long_scenario(&dir);
    let child = common::spawn_in(&dir, &["run", long.to_str().unwrap(), "--out", "mnt", "-q"]);
    let o = common::wait_at_most(child, 120, "a run into a mount point");
    assert_eq!(o.status.code(), Some(2), "{}", said(&o));
    assert!(stderr(&o).contains("mount point"), "{}", said(&o));
    assert!(listing(&mnt.0).is_empty());
}
