//! What `sim run` looks at between events: the time series (`--sample`, the `sample`
//! statement) and the snapshots at chosen instants (`--snapshot-at`). Both are one
//! [`sim_core::Observer`] of the world, so the run handles the same events in the same order
//! with them or without them. In a run over MPI ranks they are a [`RankObserver`]: each rank
//! renders the rows and files of what it owns, rank 0 writes them all.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use sim_core::{Observer, SimDuration, SimTime};
use sim_stack::config::{SampleConfig, Scenario};
use sim_stack::sample::{SampleKind, Sampler};
use sim_stack::world::World;
use sim_stack::world::distributed::{Comm, Owner, RankObserver};

use crate::snapshot::SnapshotKind;

/// The folder of the output folder the time series go into.
pub const SAMPLES_DIR: &str = "samples";

/// `--sample`: an interval, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleArg {
    /// Record nothing, even if the scenario has a `sample` statement.
    Off,
    /// Record every this often: what the scenario's `sample` statement chooses, or
    /// everything.
    Every(SimDuration),
}

impl SampleArg {
    /// The word on the command line (`10ms`, `off`).
    pub fn word(self) -> String {
        match self {
            Self::Off => "off".into(),
            Self::Every(d) => format!("{}ns", d.as_nanos()),
        }
    }
}

impl std::str::FromStr for SampleArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "off" {
            return Ok(Self::Off);
        }
        let d: SimDuration = s
            .parse()
            .map_err(|e| format!("`{s}` is not an interval such as `10ms` or `off`: {e}"))?;
        if d == SimDuration::ZERO {
            return Err("the sampling interval must be longer than 0s".into());
        }
        Ok(Self::Every(d))
    }
}

impl serde::Serialize for SampleArg {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.word())
    }
}

impl<'de> serde::Deserialize<'de> for SampleArg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What is sampled: the scenario's `sample` statement, with `--sample` overriding its
/// interval (or turning it off); `--sample` alone samples everything.
pub fn sample_config(arg: Option<SampleArg>, scenario: &Scenario) -> Option<SampleConfig> {
    match arg {
        Some(SampleArg::Off) => None,
        Some(SampleArg::Every(interval)) => Some(match &scenario.sample {
            Some(c) => SampleConfig {
                interval,
                ..c.clone()
            },
            None => SampleConfig::everything(interval),
        }),
        None => scenario.sample.clone(),
    }
}

/// The folder of the snapshots taken at `at`, under `snapshots/`: `at-1.500000000s`.
pub fn snapshot_folder(at: SimTime) -> String {
    format!("at-{at}s")
}

/// Snapshots at chosen instants.
#[derive(Debug)]
struct SnapshotsAt {
    instants: Vec<SimTime>,
    next: usize,
    kinds: Vec<SnapshotKind>,
    /// The run's partial folder.
    dir: PathBuf,
    /// Files written, relative to the run's folder.
    files: Vec<String>,
}

impl SnapshotsAt {
    /// Makes the folder of the snapshot at `at`, has `write` fill it with the kinds chosen
    /// (returning the names of the files it wrote), and records the folder and its files.
    fn write_folder(
        &mut self,
        at: SimTime,
        write: impl FnOnce(&Path, &[SnapshotKind]) -> io::Result<Vec<String>>,
    ) -> io::Result<()> {
        let folder = snapshot_folder(at);
        let sub = self.dir.join(crate::snapshot::DIR).join(&folder);
        std::fs::create_dir_all(&sub).map_err(|e| named(&sub, e))?;
        let names = write(&sub, &self.kinds)?;
        self.files
            .push(format!("{}/{folder}", crate::snapshot::DIR));
        self.files.extend(
            names
                .into_iter()
                .map(|n| format!("{}/{folder}/{n}", crate::snapshot::DIR)),
        );
        Ok(())
    }
}

/// The sampler and the snapshots of one run.
#[derive(Debug)]
pub struct RunObserver<'a> {
    sampler: Option<Sampler>,
    snaps: Option<SnapshotsAt>,
    scenario: &'a Scenario,
    error: Option<io::Error>,
}

/// What the observer wrote.
#[derive(Debug, Default)]
pub struct Observed {
    /// Files written into `samples/` (relative to the run's folder), and rows written.
    pub samples: Option<(Vec<String>, u64)>,
    /// Snapshot files written at chosen instants (relative to the run's folder).
    pub snapshot_files: Vec<String>,
}

impl<'a> RunObserver<'a> {
    /// The observer of a run writing into the partial folder `dir`: samples as `sample`
    /// says, snapshots of `kinds` at `instants` (those after the run's end are ignored).
    pub fn new(
        dir: &Path,
        world: &World,
        scenario: &'a Scenario,
        sample: Option<&SampleConfig>,
        kinds: &[SnapshotKind],
        instants: &[SimTime],
    ) -> io::Result<Self> {
        let sampler = match sample {
            None => None,
            Some(cfg) => {
                let sub = dir.join(SAMPLES_DIR);
                std::fs::create_dir(&sub).map_err(|e| named(&sub, e))?;
                Some(Sampler::new(world, scenario, cfg, |kind| {
                    let path = sub.join(kind.file_name());
                    let f = File::create(&path).map_err(|e| named(&path, e))?;
                    Ok(Box::new(NamedWriter {
                        inner: BufWriter::with_capacity(1 << 16, f),
                        path,
                    }) as Box<dyn Write>)
                })?)
            }
        };
        let mut instants: Vec<SimTime> = instants
            .iter()
            .copied()
            .filter(|&t| t <= scenario.end_time)
            .collect();
        instants.sort();
        instants.dedup();
        let snaps = (!instants.is_empty() && !kinds.is_empty()).then(|| SnapshotsAt {
            instants,
            next: 0,
            kinds: kinds.to_vec(),
            dir: dir.to_path_buf(),
            files: Vec::new(),
        });
        Ok(Self {
            sampler,
            snaps,
            scenario,
            error: None,
        })
    }

    /// The observer of a rank other than 0 in a run over MPI: it renders its share of the
    /// same samples and snapshots at the same instants, and writes nothing.
    pub fn for_rank(
        world: &World,
        scenario: &'a Scenario,
        sample: Option<&SampleConfig>,
        kinds: &[SnapshotKind],
        instants: &[SimTime],
    ) -> io::Result<Self> {
        let mut o = Self::new(Path::new(""), world, scenario, None, kinds, instants)?;
        if let Some(cfg) = sample {
            o.sampler = Some(Sampler::new(world, scenario, cfg, |_| {
                Ok(Box::new(io::sink()) as Box<dyn Write>)
            })?);
        }
        Ok(o)
    }

    /// Flushes the files; returns what was written, or the first error met.
    pub fn finish(self) -> io::Result<Observed> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut done = Observed::default();
        if let Some(s) = self.sampler {
            let rows = s.rows;
            let files = SampleKind::ALL
                .into_iter()
                .filter(|&k| s.has(k))
                .map(|k| format!("{SAMPLES_DIR}/{}", k.file_name()))
                .collect();
            s.finish()?;
            done.samples = Some((files, rows));
        }
        if let Some(s) = self.snaps {
            done.snapshot_files = s.files;
        }
        Ok(done)
    }
}

impl Observer<World> for RunObserver<'_> {
    fn next_at(&self) -> Option<SimTime> {
        let a = self.sampler.as_ref().and_then(Observer::next_at);
        let b = self
            .snaps
            .as_ref()
            .and_then(|s| s.instants.get(s.next).copied());
        match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn observe(&mut self, world: &World, at: SimTime) -> ControlFlow<()> {
        if let Some(s) = &mut self.sampler
            && Observer::next_at(&*s) == Some(at)
        {
            s.observe(world, at)?;
        }
        if let Some(s) = &mut self.snaps
            && s.instants.get(s.next) == Some(&at)
        {
            s.next += 1;
            if let Err(e) = s.write_folder(at, |sub, kinds| {
                crate::snapshot::write_into(sub, kinds, world, self.scenario, at)
            }) {
                self.error = Some(e);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

impl RankObserver for RunObserver<'_> {
    fn next_at(&self) -> Option<SimTime> {
        Observer::next_at(self)
    }

    /// The sample's share ([`Sampler`]), then the snapshot files of the rank's nodes.
    fn share(&mut self, world: &World, at: SimTime, own: &Owner<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        match &mut self.sampler {
            Some(s) if Observer::next_at(&*s) == Some(at) => {
                out.push(1);
                put_bytes(&mut out, &s.share(world, at, own));
            }
            _ => out.push(0),
        }
        match &mut self.snaps {
            Some(s) if s.instants.get(s.next) == Some(&at) => {
                s.next += 1;
                out.push(1);
                let files = crate::snapshot::render(&s.kinds, world, self.scenario, at, own);
                put_files(&mut out, &files);
            }
            _ => out.push(0),
        }
        out
    }

    fn write(&mut self, world: &World, at: SimTime, shares: Vec<Vec<u8>>) -> ControlFlow<()> {
        let mut samples = Vec::new();
        let mut files = Vec::new();
        let mut snapshot = false;
        for share in &shares {
            let mut inp = &share[..];
            if take_u8(&mut inp) == 1 {
                samples.push(take_bytes(&mut inp).to_vec());
            }
            if take_u8(&mut inp) == 1 {
                snapshot = true;
                files.extend(take_files(&mut inp));
            }
        }
        if self.error.is_some() {
            return ControlFlow::Break(());
        }
        if let Some(s) = &mut self.sampler
            && !samples.is_empty()
        {
            s.write(world, at, samples)?;
        }
        if let Some(s) = &mut self.snaps
            && snapshot
        {
            if let Err(e) =
                s.write_folder(at, |sub, _| crate::snapshot::write_rendered(sub, &files))
            {
                self.error = Some(e);
                return ControlFlow::Break(());
            }
        }
        ControlFlow::Continue(())
    }
}

/// The snapshots of `kinds` at the end of a run over MPI ranks (at `now`): each rank renders
/// its nodes' files, rank 0 gets them all (`None` on the others).
pub fn end_snapshots(
    kinds: &[SnapshotKind],
    world: &World,
    scenario: &Scenario,
    now: SimTime,
    own: &Owner<'_>,
    comm: &mut dyn Comm,
) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    put_files(
        &mut out,
        &crate::snapshot::render(kinds, world, scenario, now, own),
    );
    let all = comm.gather(out)?;
    Some(all.iter().flat_map(|b| take_files(&mut &b[..])).collect())
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u64).to_le_bytes());
    out.extend_from_slice(b);
}

fn take_bytes<'b>(inp: &mut &'b [u8]) -> &'b [u8] {
    let len = u64::from_le_bytes(take_n::<8>(inp)) as usize;
    let (b, rest) = inp.split_at(len);
    *inp = rest;
    b
}

fn take_u8(inp: &mut &[u8]) -> u8 {
    take_n::<1>(inp)[0]
}

/// Snapshot files (name, text) as a rank sends them.
fn put_files(out: &mut Vec<u8>, files: &[(String, String)]) {
    out.extend_from_slice(&(files.len() as u64).to_le_bytes());
    for (name, text) in files {
        put_bytes(out, name.as_bytes());
        put_bytes(out, text.as_bytes());
    }
}

fn take_files(inp: &mut &[u8]) -> Vec<(String, String)> {
    let n = u64::from_le_bytes(take_n::<8>(inp)) as usize;
    (0..n)
        .map(|_| {
            let name = String::from_utf8_lossy(take_bytes(inp)).into_owned();
            let text = String::from_utf8_lossy(take_bytes(inp)).into_owned();
            (name, text)
        })
        .collect()
}

/// The next `N` bytes of what a rank sent.
fn take_n<const N: usize>(inp: &mut &[u8]) -> [u8; N] {
    let (b, rest) = inp.split_at(N);
    *inp = rest;
    b.try_into().expect("N bytes")
}

fn named(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// A buffered file whose errors name it.
struct NamedWriter {
    inner: BufWriter<File>,
    path: PathBuf,
}

impl Write for NamedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| named(&self.path, e))
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf).map_err(|e| named(&self.path, e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| named(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;
    use std::sync::atomic::AtomicUsize;

    use clap::Parser;
    use sim_stack::world::distributed::local;

    use super::{SimTime, snapshot_folder};
    use crate::run::{Keep, RunArgs, execute};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn args(words: &[&str]) -> RunArgs {
        Cli::try_parse_from(std::iter::once("sim").chain(words.iter().copied()))
            .expect("arguments parse")
            .run
    }

    /// Every file under `dir` but params.json and run.json, by path, with its bytes.
    fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            for e in std::fs::read_dir(dir).expect("a folder") {
                let p = e.expect("an entry").path();
                if p.is_dir() {
                    walk(root, &p, out);
                    continue;
                }
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                if rel != "params.json" && rel != "run.json" {
                    out.insert(rel, std::fs::read(&p).expect("readable"));
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(dir, dir, &mut out);
        out
    }

    /// `sim run` on ranks joined by channels (as `mpirun -np N sim run --mpi` runs them)
    /// writes the folder of the run in one process, samples and snapshots (at an instant and
    /// at the end) included, byte for byte.
    #[test]
    fn ranks_write_the_samples_and_snapshots_of_one_process() {
        let root = std::env::temp_dir().join(format!("netsim-rank-obs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let scenarios = |p: &str| format!("{}/../scenarios/{p}", env!("CARGO_MANIFEST_DIR"));
        let mut ranks_run = 0;
        for (scenario, words) in [
            (
                "dns_then_http.net",
                ["--until", "2s", "--sample", "10ms", "--snapshot-at", "1s"],
            ),
            (
                "two_sites.net",
                [
                    "--until",
                    "300ms",
                    "--sample",
                    "1ms",
                    "--snapshot-at",
                    "100ms",
                ],
            ),
            (
                "dc/fattree_k4_websearch.net",
                ["--until", "2ms", "--sample", "50us", "--snapshot-at", "1ms"],
            ),
        ] {
            let file = scenarios(scenario);
            let run_args = |out: &Path| {
                let out = out.display().to_string();
                let mut w = vec![file.as_str(), "--trace", "path", "--snapshot", "all"];
                w.extend(words);
                w.extend(["--quiet", "--out", &out]);
                args(&w)
            };
            let one = root.join("one");
            let stop = AtomicUsize::new(0);
            let done = execute(
                &run_args(&one),
                Keep::Folder,
                false,
                &mut Vec::new(),
                &stop,
                false,
                None,
            )
            .expect("runs in one process");
            assert!(done.snapshots > 0 && done.samples.is_some_and(|s| s.0 == 4));
            let want = files(&one);
            let at = words[5];
            let at = snapshot_folder(
                at.parse::<sim_core::SimDuration>()
                    .map(|d| SimTime::ZERO + d)
                    .unwrap(),
            );
            for f in [
                "samples/link.csv",
                "samples/tcp.csv",
                "stats.json",
                "trace.txt",
            ] {
                assert!(want.contains_key(f), "{scenario}: {f} written");
            }
            assert!(
                want.keys()
                    .any(|k| k.starts_with(&format!("snapshots/{at}/")))
                    && want
                        .keys()
                        .any(|k| k.ends_with(".ss.txt") && !k.contains("/at-")),
                "{scenario}: snapshots at an instant and at the end"
            );
            for n in [2, 3] {
                let out = root.join(format!("ranks{n}"));
                let a = run_args(&out);
                let parts = std::thread::scope(|s| {
                    let handles: Vec<_> = local::ranks(n)
                        .into_iter()
                        .map(|mut comm| {
                            let (a, stop) = (&a, &stop);
                            s.spawn(move || {
                                let mut diag = Vec::new();
                                execute(
                                    a,
                                    Keep::Folder,
                                    false,
                                    &mut diag,
                                    stop,
                                    false,
                                    Some(&mut comm),
                                )
                                .map(|_| ())
                                .map_err(|e| format!("{e:?}"))
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().expect("a rank"))
                        .collect::<Vec<_>>()
                });
                if parts
                    .iter()
                    .any(|p| p.as_ref().is_err_and(|e| e.contains("partitions")))
                {
                    continue; // the topology does not split into n
                }
                for p in parts {
                    p.expect("a rank runs");
                }
                ranks_run += 1;
                let got = files(&out);
                assert_eq!(
                    got.keys().collect::<Vec<_>>(),
                    want.keys().collect::<Vec<_>>(),
                    "{scenario} on {n} ranks: the files"
                );
                for (name, bytes) in &want {
                    assert!(
                        &got[name] == bytes,
                        "{scenario} on {n} ranks: {name} differs"
                    );
                }
                std::fs::remove_dir_all(&out).unwrap();
            }
            std::fs::remove_dir_all(&one).unwrap();
        }
        // two_sites.net splits into 2 partitions at most.
        assert_eq!(ranks_run, 5, "each scenario on 2 and 3 ranks");
        let _ = std::fs::remove_dir_all(&root);
    }
}
