//! The output folder of a run: what may be replaced, how it is written, and what is cleaned.
//!
//! - **Only what sim wrote is replaced.** The destination may be absent, an empty folder, or
//!   the folder of an earlier run (recognized by its `params.json`: the [`FORMAT`] tag and the
//!   list of files that run wrote, or an older sim's `params.json` beside nothing but the
//!   names a run writes). Anything else — a folder with other entries, an earlier run with a
//!   file of the user's added, a file — is refused before any simulation; `--force` replaces
//!   a folder anyway, but never `/`, the home folder, the current folder, a folder holding
//!   one of those, or a folder holding an input of the run, and never a file or a mount
//!   point. A symbolic link to a folder stands for that folder (the link is kept).
//! - **Atomic.** Everything is written into a hidden folder beside the destination,
//!   `.<name>.partial-<pid>`, which replaces the destination only once complete: a failed run
//!   leaves nothing, a reader never sees half a folder under the destination's name.
//! - **Concurrent runs** into one destination all succeed: the check-and-replace at the end
//!   holds an exclusive `flock(2)` on the parent folder, so one run's folder replaces the
//!   other's whole; the last to finish wins.
//! - **Abandoned partial folders** (the process was killed) are removed by the next run into
//!   the same parent. Each run holds an exclusive `flock(2)` on its partial folder for its
//!   whole life, so a partial folder is abandoned when its lock is free and no process has
//!   its PID.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rustix::fs::{FlockOperation, flock};
use serde::Deserialize;

/// The tag a run's `params.json` carries in its `format` key: what marks a folder as sim's.
pub const FORMAT: &str = "netsim-run/1";

/// The names an older sim's run folder (its `params.json` without [`FORMAT`]) may hold.
fn legacy_run_file(name: &str) -> bool {
    matches!(
        name,
        "params.json" | "stats.json" | "stats.ron" | "trace.txt" | "capture.pcapng"
    ) || name.ends_with(".pcap")
}

/// The keys of `params.json` that tell a run's folder.
#[derive(Debug, Deserialize)]
struct Marker {
    format: Option<String>,
    tool: Option<String>,
    files: Option<Vec<String>>,
}

/// What is at a destination now.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Absent,
    Empty,
    /// An earlier run's folder, holding only what that run wrote.
    Run,
    /// An earlier run's folder that also holds these entries.
    RunAndOthers(Vec<String>),
    /// A folder sim did not write, with this many entries.
    Foreign(usize),
    NotAFolder,
}

/// Looks at `real` (a resolved destination: not a symlink).
fn survey(real: &Path) -> io::Result<Found> {
    let meta = match fs::symlink_metadata(real) {
        Ok(m) => m,
        // Absent, or under a file (creating its parent then says so).
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(Found::Absent);
        }
        Err(e) => return Err(e),
    };
    if !meta.is_dir() {
        return Ok(Found::NotAFolder);
    }
    let mut entries: Vec<(String, bool)> = Vec::new();
    for e in fs::read_dir(real)? {
        let e = e?;
        let is_file = e.file_type()?.is_file();
        entries.push((e.file_name().to_string_lossy().into_owned(), is_file));
    }
    if entries.is_empty() {
        return Ok(Found::Empty);
    }
    entries.sort();
    let marker = fs::read_to_string(real.join("params.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Marker>(&t).ok());
    let ours: Box<dyn Fn(&str) -> bool> = match marker {
        Some(Marker {
            format: Some(f),
            files: Some(files),
            ..
        }) if f == FORMAT => Box::new(move |n| n == "params.json" || files.iter().any(|f| f == n)),
        Some(Marker {
            format: None,
            tool: Some(t),
            ..
        }) if t.starts_with("netsim ") => Box::new(legacy_run_file),
        _ => return Ok(Found::Foreign(entries.len())),
    };
    // A folder is the run's when the run listed it and everything in it (`snapshots`,
    // `snapshots/r.tc.txt`, `snapshots/at-1.000000000s/r.tc.txt`), and it holds nothing else.
    // What `sim report` and `sim plot` add to a run's folder is the run's too: `report.html`,
    // and `plots/` holding only figures.
    fn ours_dir(real: &Path, n: &str, ours: &dyn Fn(&str) -> bool) -> bool {
        ours(n)
            && fs::read_dir(real.join(n)).is_ok_and(|rd| {
                rd.into_iter().all(|e| {
                    e.is_ok_and(|e| {
                        let name = format!("{n}/{}", e.file_name().to_string_lossy());
                        match e.file_type() {
                            Ok(t) if t.is_file() => ours(&name),
                            Ok(t) if t.is_dir() => ours_dir(real, &name, ours),
                            _ => false,
                        }
                    })
                })
            })
    }
    let figures_only = |n: &str| {
        fs::read_dir(real.join(n)).is_ok_and(|rd| {
            rd.into_iter().all(|e| {
                e.is_ok_and(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    e.file_type().is_ok_and(|t| t.is_file())
                        && (name.ends_with(".svg") || name.ends_with(".png"))
                })
            })
        })
    };
    let others: Vec<String> = entries
        .into_iter()
        .filter(|(n, is_file)| {
            !(if *is_file {
                ours(n) || n == "report.html"
            } else {
                ours_dir(real, n, &*ours) || (n == "plots" && figures_only(n))
            })
        })
        .map(|(n, _)| n)
        .collect();
    Ok(if others.is_empty() {
        Found::Run
    } else {
        Found::RunAndOthers(others)
    })
}

/// The destination with symbolic links resolved (the folder a link points to), and how to
/// name it in messages: `DEST`, or `DEST (RESOLVED)` when they differ.
fn resolve(dest: &Path) -> Result<(PathBuf, String), String> {
    let shown = dest.display().to_string();
    match fs::symlink_metadata(dest) {
        Ok(meta) => match fs::canonicalize(dest) {
            Ok(real) if names_itself(dest, &real) => Ok((real, shown)),
            Ok(real) => {
                let both = format!("{shown} ({})", real.display());
                Ok((real, both))
            }
            // Not a link, and gone since: another run was moving its outputs in (it renames
            // the folder aside for an instant). The destination is what it was named.
            Err(_) if !meta.file_type().is_symlink() => Ok((dest.to_path_buf(), shown)),
            Err(e) => {
                let target =
                    fs::read_link(dest).map_or_else(|_| "?".into(), |t| t.display().to_string());
                Err(format!(
                    "--out {shown} is a symbolic link to {target}, which cannot be followed: {e}"
                ))
            }
        },
        // Absent (or under a file: creating its parent says so).
        Err(_) => Ok((dest.to_path_buf(), shown)),
    }
}

/// Whether `dest` says plainly which folder `real` (its canonical path) is: no symbolic
/// link, no `..`, not `.` alone. Otherwise messages show both.
fn names_itself(dest: &Path, real: &Path) -> bool {
    use std::path::Component;
    if dest == real {
        return true;
    }
    if !matches!(dest.components().next_back(), Some(Component::Normal(_))) {
        return false;
    }
    let rel: PathBuf = dest
        .components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect();
    let abs = match std::env::current_dir() {
        Ok(cwd) => cwd.join(rel),
        Err(_) => return true,
    };
    abs == real
}

/// Why `real`, an existing folder, may not be replaced even with `--force`.
fn protected(real: &Path, shown: &str, inputs: &[PathBuf]) -> Option<String> {
    let real = fs::canonicalize(real).ok()?;
    let why = |what: String| {
        Some(format!(
            "{shown} {what}: sim replaces its output folder as a whole, so it will not use \
             this one, even with --force; write into a new subfolder (--out {})",
            Path::new(shown.split(" (").next().unwrap_or(shown))
                .join("run1")
                .display()
        ))
    };
    if real.parent().is_none() {
        return why("is the root folder".into());
    }
    if let Ok(cwd) = std::env::current_dir().and_then(fs::canonicalize) {
        if cwd == real {
            return why("is the current folder".into());
        }
        if cwd.starts_with(&real) {
            return why("holds the current folder".into());
        }
    }
    if let Some(home) = std::env::var_os("HOME").and_then(|h| fs::canonicalize(h).ok()) {
        if home == real {
            return why("is the home folder".into());
        }
        if home.starts_with(&real) {
            return why("holds the home folder".into());
        }
    }
    for input in inputs {
        if fs::canonicalize(input).is_ok_and(|i| i.starts_with(&real)) {
            return why(format!("holds {}, an input of this run", input.display()));
        }
    }
    // A mount point cannot be renamed over.
    use std::os::unix::fs::MetadataExt;
    let dev = |p: &Path| fs::metadata(p).map(|m| m.dev()).ok();
    if let (Some(parent), Some(d)) = (real.parent(), dev(&real)) {
        if dev(parent).is_some_and(|p| p != d) {
            return why("is a mount point".into());
        }
    }
    None
}

/// A list of names for a message: `a`, `a and b`, `a, b, c and 4 more`.
fn some_names(names: &[String]) -> String {
    let quoted: Vec<&str> = names.iter().map(String::as_str).take(3).collect();
    match (names.len(), quoted.as_slice()) {
        (1, [a]) => (*a).to_string(),
        (2, [a, b]) => format!("{a} and {b}"),
        (3, [a, b, c]) => format!("{a}, {b} and {c}"),
        (n, [a, b, c]) => format!("{a}, {b}, {c} and {} more", n - 3),
        _ => String::new(),
    }
}

/// Checks that the destination `dest` may receive a run's outputs (with `--force` or not);
/// `inputs` are the run's input files. Returns the resolved destination and its message name.
/// Done before any simulation, and again (without the protections) when the outputs move in.
pub fn check(dest: &Path, force: bool, inputs: &[PathBuf]) -> Result<(PathBuf, String), String> {
    let (real, shown) = resolve(dest)?;
    // With the parent's lock, so that no other run is halfway through moving its outputs in
    // (the folder gone for an instant, or renamed while it is read). Never called with it
    // held: flock(2) locks of two opens conflict even within one process.
    let _lock = Lock::wait(&parent_of(&real));
    let found = survey(&real).map_err(|e| format!("cannot read the output folder {shown}: {e}"))?;
    if found != Found::Absent && found != Found::NotAFolder {
        if let Some(why) = protected(&real, &shown, inputs) {
            return Err(why);
        }
    }
    refusal(&found, &shown, force).map_or(Ok((real, shown)), Err)
}

/// Why `found` may not be replaced, or `None`.
fn refusal(found: &Found, shown: &str, force: bool) -> Option<String> {
    match found {
        Found::Absent | Found::Empty | Found::Run => None,
        Found::NotAFolder => Some(format!("{shown} exists and is not a folder")),
        _ if force => None,
        Found::Foreign(n) => Some(format!(
            "{shown} exists and was not written by sim (no run's params.json in it): refusing \
             to replace it and the {n} entr{} in it; choose another folder, or add --force to \
             delete it and write the run there",
            if *n == 1 { "y" } else { "ies" }
        )),
        Found::RunAndOthers(others) => Some(format!(
            "{shown} holds an earlier run and also {}, which sim did not write: refusing to \
             delete {}; move {} away, or add --force to replace the folder and everything in it",
            some_names(others),
            if others.len() == 1 { "it" } else { "them" },
            if others.len() == 1 { "it" } else { "them" },
        )),
    }
}

/// An exclusive `flock(2)` on a file or folder, released when dropped (or when the process
/// dies, however it dies).
#[derive(Debug)]
struct Lock(#[allow(dead_code)] File);

impl Lock {
    /// Waits for the lock. `None` where it cannot be had (a file system without `flock`, a
    /// folder that cannot be opened): runs then go on without it, as they did before locks.
    fn wait(path: &Path) -> Option<Self> {
        let f = File::open(path).ok()?;
        flock(&f, FlockOperation::LockExclusive).ok()?;
        Some(Self(f))
    }

    /// The lock if nobody holds it.
    fn try_take(path: &Path) -> io::Result<Option<Self>> {
        let f = File::open(path)?;
        match flock(&f, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(Self(f))),
            Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The PID in a partial folder's (or file's) name: `.<name>.partial-<pid>`, maybe `.old`.
fn partial_pid(name: &str) -> Option<i32> {
    if !name.starts_with('.') {
        return None;
    }
    let rest = &name[name.rfind(".partial-")? + ".partial-".len()..];
    let digits = rest.strip_suffix(".old").unwrap_or(rest);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether a process with this PID exists (a PID that cannot be probed counts as alive).
fn alive(pid: i32) -> bool {
    match rustix::process::Pid::from_raw(pid) {
        Some(p) => rustix::process::test_kill_process(p) != Err(rustix::io::Errno::SRCH),
        None => true,
    }
}

/// Bytes under `path` (a file, or a folder and everything in it).
fn size_of(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    fs::read_dir(path).map_or(0, |rd| {
        rd.filter_map(Result::ok).map(|e| size_of(&e.path())).sum()
    })
}

/// `312.5 MB`, `4 KB`.
fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut x = bytes as f64;
    let mut u = 0;
    while x >= 1000.0 && u + 1 < UNITS.len() {
        x /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{x:.1} {}", UNITS[u])
    }
}

/// Removes the partial folders (and a sweep's partial table files) in `parent` that runs
/// left when they were killed: those whose lock is free and whose PID no process has (or is
/// this process's own, whose live partial folders are all locked). Call with the parent's
/// lock held, so that no run is between creating its partial folder and locking it. Returns
/// the line to print, if anything was removed, naming them under `shown` (`parent` as the
/// user wrote it).
fn clean_stale(parent: &Path, shown: &Path) -> Option<String> {
    let own = std::process::id() as i32;
    let mut removed = Vec::new();
    for e in fs::read_dir(parent).ok()?.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = partial_pid(&name) else {
            continue;
        };
        if pid != own && alive(pid) {
            continue;
        }
        let path = e.path();
        let Ok(Some(_lock)) = Lock::try_take(&path) else {
            continue; // a live run's, or unreadable: leave it
        };
        let bytes = size_of(&path);
        let gone = if e.file_type().is_ok_and(|t| t.is_dir()) {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        if gone.is_ok() {
            removed.push(format!(
                "{} ({})",
                shown.join(&name).display(),
                human(bytes)
            ));
        }
    }
    removed.sort();
    match removed.len() {
        0 => None,
        1 => Some(format!(
            "sim: removed {}, left by a run that was killed",
            removed[0]
        )),
        n => Some(format!(
            "sim: removed {n} partial folders left by runs that were killed: {}",
            removed.join(", ")
        )),
    }
}

/// The parents whose abandoned partial folders this process has cleaned already.
static CLEANED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

/// Cleans `parent`'s abandoned partial folders, once per process and parent (a sweep writes
/// thousands of folders into one parent), and prints what was removed on `notes`, under
/// `shown`. Call with the parent's lock held.
fn clean_once(parent: &Path, shown: &Path, notes: &mut dyn Write) {
    let key = fs::canonicalize(parent).unwrap_or_else(|_| parent.to_path_buf());
    if !CLEANED.lock().map_or(true, |mut c| c.insert(key)) {
        return;
    }
    if let Some(line) = clean_stale(parent, shown) {
        let _ = writeln!(notes, "{line}");
    }
}

/// Cleans the abandoned partial folders in `parent` (if it exists), with its lock held; for
/// a sweep, before its runs start.
pub fn clean_parent(parent: &Path, notes: &mut dyn Write) {
    if parent.is_dir() {
        let _lock = Lock::wait(parent);
        clean_once(parent, parent, notes);
    }
}

/// The folder that holds `path` (`.` for a bare name).
pub fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A run's output folder in the making.
#[derive(Debug)]
pub struct OutDir {
    /// Where the outputs end up, as given.
    pub dest: PathBuf,
    /// Where they are written meanwhile.
    pub tmp: PathBuf,
    /// The destination resolved (through a symbolic link), and its name in messages.
    real: PathBuf,
    shown: String,
    force: bool,
    /// Held for the life of the run: tells other runs this partial folder is alive.
    _alive: Option<Lock>,
    committed: bool,
}

impl OutDir {
    /// Checks the destination `dest` ([`check`]), cleans abandoned partial folders beside
    /// it (saying so on `notes`), and creates and locks this run's partial folder (and the
    /// destination's parent folders).
    pub fn create(
        dest: &Path,
        force: bool,
        inputs: &[PathBuf],
        notes: &mut dyn Write,
    ) -> Result<Self, String> {
        let (real, shown) = check(dest, force, inputs)?;
        let parent = parent_of(&real);
        let cannot = |e: &dyn std::fmt::Display| {
            format!("cannot create the output folder {}: {e}", dest.display())
        };
        fs::create_dir_all(&parent).map_err(|e| cannot(&e))?;
        let name = real
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| cannot(&"it names no folder"))?;
        let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        let parent_lock = Lock::wait(&parent);
        // Named as the user named the destination, unless a link or `..` led elsewhere.
        let shown_parent = if shown == dest.display().to_string() {
            parent_of(dest)
        } else {
            parent.clone()
        };
        clean_once(&parent, &shown_parent, notes);
        fs::create_dir(&tmp).map_err(|e| cannot(&e))?;
        // Without it (no flock here) the folder is still known alive by its PID.
        let alive = Lock::try_take(&tmp).ok().flatten();
        drop(parent_lock);
        Ok(Self {
            dest: dest.to_path_buf(),
            tmp,
            real,
            shown,
            force,
            _alive: alive,
            committed: false,
        })
    }

    /// A path inside the temporary folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.tmp.join(name)
    }

    /// Moves the finished outputs to the destination, replacing what was there (an empty
    /// folder, an earlier run's folder, or with `--force` any folder), all with the parent's
    /// lock held. Returns the destination as given.
    pub fn commit(mut self) -> Result<PathBuf, String> {
        let parent = parent_of(&self.real);
        let cannot = |e: &dyn std::fmt::Display| {
            format!("cannot move the outputs to {}: {e}", self.dest.display())
        };
        let lock = Lock::wait(&parent);
        let found = survey(&self.real).map_err(|e| cannot(&e))?;
        if let Some(why) = refusal(&found, &self.shown, self.force) {
            return Err(cannot(&format!("{why} (it changed while the run went)")));
        }
        let mut old = None;
        if matches!(found, Found::Absent | Found::Empty) {
            // rename(2) replaces an empty folder atomically.
            fs::rename(&self.tmp, &self.real).map_err(|e| cannot(&e))?;
        } else {
            let aside = self.tmp.with_file_name(format!(
                "{}.old",
                self.tmp.file_name().unwrap_or_default().to_string_lossy()
            ));
            fs::rename(&self.real, &aside).map_err(|e| cannot(&e))?;
            if let Err(e) = fs::rename(&self.tmp, &self.real) {
                let _ = fs::rename(&aside, &self.real);
                return Err(cannot(&e));
            }
            old = Some(aside);
        }
        self.committed = true;
        drop(lock);
        // Out of the lock: a large earlier run takes a while to delete. If this process dies
        // meanwhile, the next run cleans the `.old` folder as an abandoned partial one.
        if let Some(old) = old {
            let _ = fs::remove_dir_all(old);
        }
        Ok(self.dest.clone())
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("netsim-outdir-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn params(files: &[&str]) -> String {
        serde_json::json!({ "format": FORMAT, "tool": "netsim 0.1.0", "files": files }).to_string()
    }

    #[test]
    fn commit_replaces_an_earlier_run_and_abandon_leaves_nothing() {
        let root = scratch("commit");
        let dest = root.join("out").join("ping");
        let sink = &mut Vec::new();
        let o = OutDir::create(&dest, false, &[], sink).unwrap();
        fs::write(o.file("a.txt"), "first").unwrap();
        fs::write(o.file("params.json"), params(&["a.txt", "params.json"])).unwrap();
        o.commit().unwrap();
        assert_eq!(fs::read_to_string(dest.join("a.txt")).unwrap(), "first");

        let o = OutDir::create(&dest, false, &[], sink).unwrap();
        fs::write(o.file("b.txt"), "second").unwrap();
        o.commit().unwrap();
        assert!(!dest.join("a.txt").exists());
        assert_eq!(fs::read_to_string(dest.join("b.txt")).unwrap(), "second");

        // b.txt is not a run's folder (no params.json): refused; with force, replaced.
        assert!(OutDir::create(&dest, false, &[], sink).is_err());
        let o = OutDir::create(&dest, true, &[], sink).unwrap();
        fs::write(o.file("c.txt"), "abandoned").unwrap();
        drop(o);
        assert!(dest.join("b.txt").exists());
        let left: Vec<_> = fs::read_dir(root.join("out")).unwrap().collect();
        assert_eq!(left.len(), 1, "only the committed folder remains");
        assert!(sink.is_empty());
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn survey_tells_runs_from_other_folders() {
        let root = scratch("survey");
        let d = root.join("d");
        assert_eq!(survey(&d).unwrap(), Found::Absent);
        fs::create_dir(&d).unwrap();
        assert_eq!(survey(&d).unwrap(), Found::Empty);
        fs::write(d.join("x.pcap"), "").unwrap();
        assert_eq!(survey(&d).unwrap(), Found::Foreign(1));
        fs::write(d.join("params.json"), params(&["x.pcap", "params.json"])).unwrap();
        assert_eq!(survey(&d).unwrap(), Found::Run);
        fs::create_dir(d.join("sub")).unwrap();
        fs::write(d.join("notes"), "").unwrap();
        assert_eq!(
            survey(&d).unwrap(),
            Found::RunAndOthers(vec!["notes".into(), "sub".into()])
        );
        // A listed folder is the run's while it holds only listed files.
        fs::remove_file(d.join("notes")).unwrap();
        fs::write(d.join("sub").join("a.txt"), "").unwrap();
        let files = ["x.pcap", "params.json", "sub", "sub/a.txt"];
        fs::write(d.join("params.json"), params(&files)).unwrap();
        assert_eq!(survey(&d).unwrap(), Found::Run);
        fs::write(d.join("sub").join("mine.txt"), "").unwrap();
        assert_eq!(survey(&d).unwrap(), Found::RunAndOthers(vec!["sub".into()]));
        fs::remove_dir_all(d.join("sub")).unwrap();
        fs::write(d.join("notes"), "").unwrap();
        // An older sim's params.json: the names a run writes, nothing else.
        fs::remove_file(d.join("notes")).unwrap();
        fs::write(d.join("params.json"), r#"{"tool": "netsim 0.1.0"}"#).unwrap();
        assert_eq!(survey(&d).unwrap(), Found::Run);
        fs::write(d.join("trace.txt.bak"), "").unwrap();
        assert_eq!(
            survey(&d).unwrap(),
            Found::RunAndOthers(vec!["trace.txt.bak".into()])
        );
        // Somebody else's params.json.
        fs::write(d.join("params.json"), r#"{"lr": 0.1}"#).unwrap();
        assert_eq!(survey(&d).unwrap(), Found::Foreign(3));
        fs::write(root.join("f"), "").unwrap();
        assert_eq!(survey(&root.join("f")).unwrap(), Found::NotAFolder);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn partial_names_and_their_pids() {
        assert_eq!(partial_pid(".ping.partial-123"), Some(123));
        assert_eq!(partial_pid(".ping.partial-123.old"), Some(123));
        assert_eq!(partial_pid(".a.partial-b.partial-7"), Some(7));
        assert_eq!(partial_pid(".results.csv.partial-42"), Some(42));
        for no in [
            "ping.partial-1",
            ".ping.partial-",
            ".ping.partial-1x",
            ".ping",
        ] {
            assert_eq!(partial_pid(no), None, "{no}");
        }
    }

    #[test]
    fn stale_partials_go_and_locked_or_live_ones_stay() {
        let root = scratch("stale");
        // This process's own PID with the lock free: abandoned by an earlier process that
        // had the same PID.
        let own = root.join(format!(".a.partial-{}", std::process::id()));
        fs::create_dir(&own).unwrap();
        fs::write(own.join("big"), vec![0u8; 2000]).unwrap();
        let locked = root.join(format!(".b.partial-{}", std::process::id()));
        fs::create_dir(&locked).unwrap();
        let _held = Lock::try_take(&locked).unwrap().unwrap();
        let live = root.join(".c.partial-1"); // init: alive
        fs::create_dir(&live).unwrap();
        let line = clean_stale(&root, &root).unwrap();
        assert!(
            line.contains(".a.partial-") && line.contains("2.0 KB"),
            "{line}"
        );
        assert!(!own.exists() && locked.exists() && live.exists());
        assert_eq!(clean_stale(&root, &root), None);
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn names_in_messages() {
        let n = |k: usize| (0..k).map(|i| format!("f{i}")).collect::<Vec<_>>();
        assert_eq!(some_names(&n(1)), "f0");
        assert_eq!(some_names(&n(2)), "f0 and f1");
        assert_eq!(some_names(&n(3)), "f0, f1 and f2");
        assert_eq!(some_names(&n(5)), "f0, f1, f2 and 2 more");
        assert_eq!(human(999), "999 bytes");
        assert_eq!(human(312_500_000), "312.5 MB");
    }
}
